/* scrape_seen.h - what one scrape target's last page said: the explicit
 * timestamp of each series. A target that stamps its samples (Prometheus'
 * /federate, exporters relaying other systems' readings) shows the same
 * sample on every scrape until the reading changes; Prometheus ingests it
 * once. Without this, tocsin would count it again on each scrape (SPEC
 * drops only samples *older* than their source's newest), so a `count` or
 * `sum` window would grow with the scrape rate rather than the readings. */
#ifndef TOCSIN_DAEMON_SCRAPE_SEEN_H
#define TOCSIN_DAEMON_SCRAPE_SEEN_H

#include <stddef.h>

#include "batch.h"

struct scrape_seen;

struct scrape_seen *scrape_seen_new(void);
void scrape_seen_free(struct scrape_seen *ss);

/* Drop from b (one scrape's page, target labels merged in) every sample
 * whose explicit timestamp equals the one its series had on the previous
 * page, then remember this page's timestamps (series the page no longer
 * shows are forgotten). Samples without a timestamp are not touched; an
 * older timestamp passes, to be counted late by the engine. Returns the
 * number dropped. */
size_t scrape_seen_filter(struct scrape_seen *ss, struct batch *b);

#endif
