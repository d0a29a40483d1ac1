/* pipeline.h - samples in, committed events out: the engine, the router and
 * the store in batches (group commit). One writer: the caller serialises all
 * calls (eval's main loop, the daemon's writer thread). On creation it
 * restores the engine's state from the store; at a clean stop it saves every
 * series' window. SPEC sections 4-6. */
#ifndef TOCSIN_PIPELINE_H
#define TOCSIN_PIPELINE_H

#include <stdbool.h>
#include <stdint.h>

#include "../common/err.h"
#include "../ingest/sample.h"
#include "../store/store.h"
#include "config.h"
#include "engine.h"
#include "event.h"

struct pipeline;
struct router;

/* Called with each event and its JSON line after it was added to the batch
 * (e.g. eval prints it). */
typedef void (*pipeline_event_fn)(void *ctx, const struct alert_event *ev,
                                  const char *json);

/* s is borrowed (the caller closes it after pipeline_free). Restores series
 * state and windows saved in s: at once, or with replay before the first
 * sample, advance or tick (an eval of an empty stream, such as draining the
 * outbox with --notify, never reads them). replay: event times drive "now"
 * for routing (eval); otherwise wall-clock. NULL with e on a store error. */
struct pipeline *pipeline_new(const struct config *cfg, struct store *s,
                              bool replay, struct err *e);
/* With e: commits, saves every series with its window (clean stop), frees;
 * returns the save status (0 or -1 with e). With e NULL: rolls back any open
 * batch and frees without saving (error paths). p is freed either way. */
int pipeline_close(struct pipeline *p, struct err *e);

void pipeline_on_event(struct pipeline *p, pipeline_event_fn fn, void *ctx);

/* An event of a batch that committed: what the daemon logs and counts. */
struct pipeline_committed {
    const char *rule;
    const char *labels; /* "service=api,team=web": alertname left out */
    const char *fingerprint;
    enum event_kind kind;
    enum severity severity, previous;
};
typedef void (*pipeline_committed_fn)(void *ctx,
                                      const struct pipeline_committed *ev);

/* Called, in order, with each event of a batch once the batch committed;
 * the events of a batch that was rolled back are never told (a retry of
 * it tells them once). */
void pipeline_on_committed(struct pipeline *p, pipeline_committed_fn fn,
                           void *ctx);

/* Feed one sample into the open batch (a transaction is begun on the first
 * write). NAN ts is replaced by arrival. Returns 1 if late (dropped), 0, or
 * -1 on a store error. */
int pipeline_feed(struct pipeline *p, const struct sample *s, double arrival,
                  struct err *e);
/* eval's end of input: the nodata deadlines before the stream clock pass,
 * and with at_clock those at it too (no sample of that time is left to keep
 * its series out of nodata; eval --store leaves them to the next run). */
int pipeline_end_of_stream(struct pipeline *p, bool at_clock, struct err *e);
/* Daemon timer: evaluate every series at now, insert repeat reminders. */
int pipeline_tick(struct pipeline *p, double now, struct err *e);
/* Put a store meta entry into the open batch: committed with it, or rolled
 * back with it. */
int pipeline_meta_put(struct pipeline *p, const char *key, const char *value,
                      struct err *e);
/* Commit the open batch (if any). When it returns 0 every event fed so far
 * and its outbox rows are durable. On failure the batch is rolled back and
 * the engine state is not saved (-1, e). *events_committed receives the
 * number of events in the batch (may be NULL). */
int pipeline_commit(struct pipeline *p, int *events_committed, struct err *e);
/* pipeline_commit with every source's newest time in the same
 * transaction, so that the same input fed again after a crash or a
 * refused batch is late up to there and repeats no event (eval --store);
 * windows: also a checkpoint of the windows fed since their last save. */
int pipeline_commit_durable(struct pipeline *p, bool windows,
                            int *events_committed, struct err *e);
/* Whether the last commit wrote to the store (a timer pass with nothing
 * to save opens no transaction): /healthz judges the store by those. */
bool pipeline_wrote(const struct pipeline *p);
/* Save changed series state (with windows: a checkpoint). Own transaction. */
int pipeline_checkpoint(struct pipeline *p, bool with_windows, struct err *e);
/* Swap the config (SIGHUP). Alerts of rules it removed or redefined are
 * resolved (reason "reload"), in their own transaction. 0, or -1 with e
 * when that could not be recorded (the new config runs either way). */
int pipeline_reload(struct pipeline *p, const struct config *cfg,
                    struct err *e);

struct engine *pipeline_engine(struct pipeline *p);
/* The pipeline's router (borrowed), e.g. for router_silences_changed after
 * the daemon added or expired a silence. */
struct router *pipeline_router(struct pipeline *p);

struct pipeline_stats {
    uint64_t samples, late, events, notifications, silenced, skipped, commits;
};
void pipeline_stats(const struct pipeline *p, struct pipeline_stats *out);

#endif
