/* scrape.h - the Prometheus scraper: one thread driving a libcurl multi
 * handle over every scrape target, each on its own interval and timeout.
 * A fetched page is handed to a callback (the daemon parses it as prom text,
 * adds the target's labels and an `up` sample and queues the samples,
 * daemon/inputs.c). A failed scrape is logged, counted and handed over as
 * no page (`up` 0), never fatal. */
#ifndef TOCSIN_DAEMON_SCRAPE_H
#define TOCSIN_DAEMON_SCRAPE_H

#include <stddef.h>

#include "../common/err.h"
#include "../rules/config.h"
#include "metrics.h"
#include "scrape_seen.h"

struct scrape_target_cfg {
    const char *url;
    double interval;         /* seconds (default 15) */
    double timeout;          /* seconds (default 10, capped at interval) */
    const struct kv *labels; /* added to every sample */
    size_t nlabels;
};

/* One scrape's outcome, as the callback sees it. Everything is the
 * scraper's and valid during the call. */
struct scrape_page {
    const char *target;   /* the URL as scrape_target_name shows it */
    const char *instance; /* its host:port: Prometheus' `instance` label */
    const char *body;     /* the page; NULL when the scrape failed (logged
                             and counted already) */
    size_t len;
    const struct kv *labels; /* the target's */
    size_t nlabels;
    struct scrape_seen *seen; /* its last page, for scrape_seen_filter */
    double started;           /* wall time the scrape began: the time of
                                 samples without their own */
    char *note; /* SCRAPE_NOTE_SIZE bytes the target keeps: what was last
                   logged of its pages ("" for nothing), so that the same
                   complaint is logged once, not every interval */
};

#define SCRAPE_NOTE_SIZE 256

/* Called on the scraper thread after each scrape. */
typedef void (*scrape_fn)(void *ctx, const struct scrape_page *pg);

struct scraper;

/* Copy the n targets and start the thread (the first scrape of each target
 * happens at once). prev, the scraper this one replaces (a reload), or
 * NULL: its thread is stopped first, and a target with one of its URLs
 * keeps that target's memory of the last page and its counters; prev is
 * still the caller's to scraper_stop. NULL with e on failure. */
struct scraper *scraper_start(const struct scrape_target_cfg *t, size_t n,
                              scrape_fn fn, void *ctx, struct scraper *prev,
                              struct err *e);
/* Fill up to max per-target counters (target names borrowed from s).
 * Returns the number of targets. Thread-safe. */
size_t scraper_counters(struct scraper *s, struct metrics_scrape *out,
                        size_t max);
void scraper_stop(struct scraper *s);

/* The URL as a metrics/log label: userinfo removed, and the values of
 * query parameters whose names suggest a credential (token, key, ...). */
void scrape_target_name(const char *url, char *out, size_t outlen);

#endif
