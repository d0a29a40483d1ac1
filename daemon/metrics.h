/* metrics.h - the daemon's own counters (atomics, bumped from any thread) and
 * their rendering as Prometheus text exposition 0.0.4 for GET /metrics.
 * Bumped by the HTTP handlers, the inputs and the writer thread; rendered by
 * daemon/http.c through daemon/api.c. */
#ifndef TOCSIN_DAEMON_METRICS_H
#define TOCSIN_DAEMON_METRICS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/buf.h"

enum metrics_input { MIN_HTTP = 0, MIN_SCRAPE, MIN_STATSD, MIN_FILE, MIN_N };
const char *metrics_input_name(enum metrics_input in);

#define METRICS_NBUCKETS 14

struct metrics {
    atomic_uint_fast64_t ingested[MIN_N];
    atomic_uint_fast64_t rejected[MIN_N];
    atomic_uint_fast64_t skipped[MIN_N]; /* NaN/Inf values, no sample */
    atomic_uint_fast64_t late;
    atomic_uint_fast64_t events[4];  /* index enum event_kind */
    atomic_uint_fast64_t series;     /* gauge, set by the writer */
    atomic_uint_fast64_t firing[4];  /* gauge by enum severity (1..3 used) */
    atomic_uint_fast64_t reload_ok;  /* the last SIGHUP's config was taken */
    atomic_uint_fast64_t loaded_at;  /* Unix seconds of the last config taken */
    pthread_mutex_t hist_mu;         /* evaluation duration histogram */
    uint64_t hist[METRICS_NBUCKETS]; /* non-cumulative counts */
    uint64_t hist_count;
    double hist_sum;
};

void metrics_init(struct metrics *m);
void metrics_cleanup(struct metrics *m);
/* Record one batch's evaluation time (feed + commit), in seconds. */
void metrics_observe_eval(struct metrics *m, double seconds);

/* Per-receiver notification outcomes, gathered by the caller at render time. */
struct metrics_notifier {
    const char *name;
    uint64_t sent, failed, retried, silenced;
    uint64_t skipped; /* held back by cooldown */
};

/* Per-scrape-target outcome counters (daemon/scrape.c). */
struct metrics_scrape {
    const char *target;
    uint64_t ok, failed;
};

struct metrics_extra {
    const struct metrics_notifier *notifiers;
    size_t nnotifiers;
    const struct metrics_scrape *scrapes;
    size_t nscrapes;
    int64_t outbox_pending; /* < 0: unknown (store unreadable) */
    const char *version;
};

/* Append the whole exposition (every family with HELP and TYPE) to out.
 * Returns 0 or -1 (buffer limit). */
int metrics_render(struct metrics *m, const struct metrics_extra *x,
                   struct buf *out);

/* Append s as a Prometheus label value (escapes \, " and newline). */
int metrics_label_value(struct buf *out, const char *s);

#endif
