/* writer.h - the daemon's single writer thread. Inputs queue batches of
 * samples (bounded); the thread takes everything queued, feeds it, commits
 * once (group commit) and then wakes every waiter with its outcome. It also
 * runs the evaluation timer (tick every evaluation_interval), checkpoints
 * (every checkpoint_interval) and any function that must run between
 * batches on the writer's store connection (reload, silences). The pipeline
 * is reached through ops so that tests can drive the thread with a fake. */
#ifndef TOCSIN_DAEMON_WRITER_H
#define TOCSIN_DAEMON_WRITER_H

#include <stddef.h>

#include "../common/err.h"
#include "../ingest/sample.h"
#include "batch.h"

/* What the writer drives. All are called on the writer thread only. */
struct writer_ops {
    /* Feed one sample (ts NAN: use arrival). 1 late, 0, -1 store error.
     * MUST be set. */
    int (*feed)(void *ctx, const struct sample *s, double arrival,
                struct err *e);
    /* Write a batch's meta entry (batch.meta_key) into the open batch, to
     * be committed with its samples. MAY be NULL. */
    int (*meta)(void *ctx, const char *key, const char *value, struct err *e);
    /* Commit the open batch; *events gets the number of events. MUST. */
    int (*commit)(void *ctx, int *events, struct err *e);
    /* Evaluate every series at wall-clock now (joins the next commit).
     * MAY be NULL. */
    int (*tick)(void *ctx, double now, struct err *e);
    /* Save series state with windows, in its own transaction. MAY be NULL. */
    int (*checkpoint)(void *ctx, struct err *e);
    /* After every successful commit: events committed, seconds spent feeding
     * and committing, samples fed and late. MAY be NULL. */
    void (*committed)(void *ctx, int events, double seconds, size_t fed,
                      size_t late);
};

struct writer_cfg {
    double tick_interval;       /* seconds; <= 0: no timer */
    double checkpoint_interval; /* seconds; <= 0: none */
    size_t max_queued_samples;  /* bound of the queue (0: 1,000,000) */
};

struct writer;

/* Start the thread. ops and ctx are borrowed for the writer's lifetime.
 * NULL with e when the thread cannot start. */
struct writer *writer_start(const struct writer_ops *ops, void *ctx,
                            const struct writer_cfg *cfg, struct err *e);

struct writer_result {
    int status;      /* 0 committed; -1 store error; -2 writer stopping or
                        queue full past the deadline */
    size_t late;     /* samples of this batch dropped as late */
    char error[512]; /* when status < 0 */
};

/* Queue b (the writer takes its samples; b is left empty) and wait until it
 * was evaluated and committed. wait_s bounds the wait for room in the queue
 * (< 0: forever). Thread-safe. */
int writer_submit(struct writer *w, struct batch *b, double wait_s,
                  struct writer_result *res);

/* Run fn(arg) on the writer thread between batches (after committing what
 * was fed before) and return its result. -2 if the writer is stopped. */
typedef int (*writer_call_fn)(void *ctx, void *arg);
int writer_call(struct writer *w, writer_call_fn fn, void *arg);

/* Samples queued and not yet taken by the writer thread. Thread-safe. */
size_t writer_queued(struct writer *w);

/* Change the timer intervals (after a reload). */
void writer_set_intervals(struct writer *w, double tick_interval,
                          double checkpoint_interval);

/* Refuse new work, process everything queued, commit, join the thread and
 * free w. The caller then owns the pipeline again (pipeline_close). */
void writer_stop(struct writer *w);

#endif
