/* inputs.h - the daemon's configured inputs (scrape targets, StatsD
 * listeners, files) as one set: started from a config, restarted selectively
 * on reload (an input whose settings did not change keeps running), each
 * turning what it reads into batches for the writer. Called by daemon.c;
 * api.c reads the scrape counters for /metrics. */
#ifndef TOCSIN_DAEMON_INPUTS_H
#define TOCSIN_DAEMON_INPUTS_H

#include <stddef.h>

#include "../rules/config.h"
#include "daemon.h"
#include "metrics.h"

struct inputs;

/* Start every input of cfg, all or nothing. An input that cannot start
 * (port in use) is logged; then *failed counts them, what this call started
 * is stopped, prev is left running untouched and NULL comes back. On
 * success prev, if not NULL, is consumed: its inputs that cfg still has keep
 * running. */
struct inputs *inputs_start(struct daemon_ctx *d, const struct config *cfg,
                            struct inputs *prev, size_t *failed);
/* Stop every input and free the set (NULL is a no-op). */
void inputs_stop(struct inputs *in);
/* Per-target scrape counters (see scraper_counters). */
size_t inputs_scrape_counters(struct inputs *in, struct metrics_scrape *out,
                              size_t max);
/* True when every non-follow file input has been read to its end. */
int inputs_files_done(struct inputs *in);

#endif
