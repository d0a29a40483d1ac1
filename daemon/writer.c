/* writer.c - the single writer thread (see writer.h). Group commit: every
 * batch queued while the previous commit ran is fed and committed together,
 * so one fsync covers many HTTP requests; each waiter learns the outcome of
 * the commit that covered its samples. Timed work (evaluation tick,
 * checkpoint) runs on the same thread so the pipeline never sees two
 * callers. */
#include "writer.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/log.h"
#include "../common/util.h"

enum job_kind { JOB_BATCH, JOB_CALL };

struct job {
    struct job *next;
    enum job_kind kind;
    struct batch batch;
    writer_call_fn fn;
    void *arg;
    int done;
    struct writer_result res;
};

struct writer {
    const struct writer_ops *ops;
    void *ctx;
    pthread_mutex_t mu;
    pthread_cond_t work_cv, done_cv, room_cv;
    struct job *head, **tail;
    size_t queued, max_queued;
    int stopping;
    pthread_t th;
    double tick_iv, ckpt_iv;
    double next_tick, next_ckpt; /* monotonic; 0 = off */
};

static void abs_deadline(struct timespec *ts, double secs_from_now)
{
    double whole;

    clock_gettime(CLOCK_MONOTONIC, ts);
    if (secs_from_now < 0)
        secs_from_now = 0;
    if (secs_from_now > 86400.0)
        secs_from_now = 86400.0;
    whole = (double)(long)secs_from_now;
    ts->tv_sec += (time_t)whole;
    ts->tv_nsec += (long)((secs_from_now - whole) * 1e9);
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

/* The state of one group of batches fed since the last commit. */
struct group {
    struct job *jobs[1024];
    size_t njobs;
    int open; /* something was fed or ticked */
    int feed_failed;
    char feed_error[512];
    size_t fed, late;
    double t0;
};

static void group_flush(struct writer *w, struct group *g)
{
    struct err e = {0};
    int events = 0, rc;
    size_t i;

    if (!g->open && g->njobs == 0)
        return;
    rc = w->ops->commit(w->ctx, &events, &e);
    if (rc < 0)
        log_error("writer", "commit failed: %s", e.msg);
    else if (w->ops->committed != NULL)
        w->ops->committed(w->ctx, events, util_mono() - g->t0, g->fed, g->late);
    for (i = 0; i < g->njobs; i++) {
        struct writer_result *r = &g->jobs[i]->res;
        if (rc < 0 || g->feed_failed) {
            r->status = -1;
            snprintf(r->error, sizeof(r->error), "%s",
                     g->feed_failed ? g->feed_error : e.msg);
        } else {
            r->status = 0;
        }
    }
    g->njobs = 0;
    g->open = 0;
    g->feed_failed = 0;
    g->fed = g->late = 0;
    g->t0 = util_mono();
}

/* The first failure of the group's feed fails its commit: say why. */
static void feed_fail(struct group *g, const char *why)
{
    if (g->feed_failed)
        return;
    g->feed_failed = 1;
    snprintf(g->feed_error, sizeof(g->feed_error), "%s", why);
    log_error("writer", "feed failed: %s", why);
}

static void feed_job(struct writer *w, struct group *g, struct job *j)
{
    size_t i;

    if (g->njobs == sizeof(g->jobs) / sizeof(g->jobs[0]))
        group_flush(w, g);
    if (!g->open && g->njobs == 0)
        g->t0 = util_mono();
    g->jobs[g->njobs++] = j;
    g->open = 1;
    for (i = 0; i < j->batch.n; i++) {
        struct err e = {0};
        int rc = w->ops->feed(w->ctx, &j->batch.v[i], j->batch.arrival, &e);
        if (rc == 1) {
            j->res.late++;
            g->late++;
        } else if (rc < 0) {
            feed_fail(g, e.msg);
        }
        g->fed++;
    }
    if (j->batch.meta_key != NULL && w->ops->meta != NULL) {
        struct err e = {0};

        if (w->ops->meta(w->ctx, j->batch.meta_key, j->batch.meta_value, &e) <
            0)
            feed_fail(g, e.msg);
    }
}

static void process(struct writer *w, struct job *list)
{
    struct group *g = calloc(1, sizeof(*g));
    double now = util_mono();
    struct job *j;
    bool tick, ckpt;

    if (g == NULL)
        abort(); /* a few KiB; nothing sensible to do without it */
    g->t0 = now;
    for (j = list; j != NULL; j = j->next) {
        if (j->kind == JOB_BATCH) {
            feed_job(w, g, j);
        } else {
            group_flush(w, g);
            j->res.status = j->fn(w->ctx, j->arg);
        }
    }
    now = util_mono();
    /* The timers are w->mu's: a reload sets them from another thread. */
    pthread_mutex_lock(&w->mu);
    tick = w->ops->tick != NULL && w->next_tick > 0 && now >= w->next_tick;
    if (tick)
        w->next_tick = now + w->tick_iv;
    ckpt =
        w->ops->checkpoint != NULL && w->next_ckpt > 0 && now >= w->next_ckpt;
    pthread_mutex_unlock(&w->mu);
    if (tick) {
        struct err e = {0};
        if (!g->open && g->njobs == 0)
            g->t0 = now;
        if (w->ops->tick(w->ctx, util_now(), &e) < 0)
            log_error("writer", "evaluation tick failed: %s", e.msg);
        g->open = 1;
    }
    group_flush(w, g);
    if (ckpt) {
        struct err e = {0};
        if (w->ops->checkpoint(w->ctx, &e) < 0)
            log_error("writer", "checkpoint failed: %s", e.msg);
        pthread_mutex_lock(&w->mu);
        if (w->next_ckpt > 0)
            w->next_ckpt = util_mono() + w->ckpt_iv;
        pthread_mutex_unlock(&w->mu);
    }
    free(g);
}

static double next_deadline(const struct writer *w)
{
    double d = 0;

    if (w->next_tick > 0)
        d = w->next_tick;
    if (w->next_ckpt > 0 && (d == 0 || w->next_ckpt < d))
        d = w->next_ckpt;
    return d;
}

static void *writer_main(void *arg)
{
    struct writer *w = arg;
    struct job *list, *j;

    util_thread_name("tocsin-writer");
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (w->head == NULL && !w->stopping) {
            double d = next_deadline(w), now = util_mono();
            struct timespec ts;
            if (d == 0) {
                pthread_cond_wait(&w->work_cv, &w->mu);
                continue;
            }
            if (now >= d)
                break;
            abs_deadline(&ts, d - now);
            pthread_cond_timedwait(&w->work_cv, &w->mu, &ts);
        }
        if (w->head == NULL && w->stopping)
            break;
        list = w->head;
        w->head = NULL;
        w->tail = &w->head;
        w->queued = 0;
        pthread_cond_broadcast(&w->room_cv);
        pthread_mutex_unlock(&w->mu);

        process(w, list);

        pthread_mutex_lock(&w->mu);
        for (j = list; j != NULL; j = j->next)
            j->done = 1;
        pthread_cond_broadcast(&w->done_cv);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

size_t writer_queued(struct writer *w)
{
    size_t n;

    pthread_mutex_lock(&w->mu);
    n = w->queued;
    pthread_mutex_unlock(&w->mu);
    return n;
}

struct writer *writer_start(const struct writer_ops *ops, void *ctx,
                            const struct writer_cfg *cfg, struct err *e)
{
    struct writer *w = xcalloc(1, sizeof(*w));
    pthread_condattr_t ca;

    w->ops = ops;
    w->ctx = ctx;
    w->tail = &w->head;
    w->max_queued = cfg->max_queued_samples ? cfg->max_queued_samples : 1000000;
    pthread_mutex_init(&w->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->work_cv, &ca);
    pthread_cond_init(&w->done_cv, &ca);
    pthread_cond_init(&w->room_cv, &ca);
    pthread_condattr_destroy(&ca);
    writer_set_intervals(w, cfg->tick_interval, cfg->checkpoint_interval);
    if (pthread_create(&w->th, NULL, writer_main, w) != 0) {
        err_set(e, "cannot start the writer thread: %s", strerror(errno));
        pthread_cond_destroy(&w->work_cv);
        pthread_cond_destroy(&w->done_cv);
        pthread_cond_destroy(&w->room_cv);
        pthread_mutex_destroy(&w->mu);
        free(w);
        return NULL;
    }
    return w;
}

/* When a timer of interval iv (0: off) is next due, given when it was
 * (0: off or never set): a reload keeps the time already set, or brings
 * it forward when the new interval ends sooner; it never puts it off (a
 * SIGHUP every few seconds must not starve for, nodata and checkpoints). */
static double next_due(double due, double now, double iv)
{
    if (iv <= 0)
        return 0;
    if (due > 0 && due <= now + iv)
        return due;
    return now + iv;
}

void writer_set_intervals(struct writer *w, double tick_interval,
                          double checkpoint_interval)
{
    double now = util_mono();

    pthread_mutex_lock(&w->mu);
    w->next_tick = next_due(w->next_tick, now, tick_interval);
    w->next_ckpt = next_due(w->next_ckpt, now, checkpoint_interval);
    w->tick_iv = tick_interval;
    w->ckpt_iv = checkpoint_interval;
    pthread_cond_signal(&w->work_cv);
    pthread_mutex_unlock(&w->mu);
}

/* Queue j and wait for it; called with w->mu unlocked. */
static int enqueue_wait(struct writer *w, struct job *j, double wait_s)
{
    size_t n = j->kind == JOB_BATCH ? j->batch.n : 0;
    struct timespec ts;

    pthread_mutex_lock(&w->mu);
    if (wait_s >= 0)
        abs_deadline(&ts, wait_s);
    while (!w->stopping && w->queued > 0 && w->queued + n > w->max_queued) {
        if (wait_s < 0) {
            pthread_cond_wait(&w->room_cv, &w->mu);
        } else if (pthread_cond_timedwait(&w->room_cv, &w->mu, &ts) ==
                   ETIMEDOUT) {
            pthread_mutex_unlock(&w->mu);
            snprintf(j->res.error, sizeof(j->res.error), "ingest queue full");
            return j->res.status = -2;
        }
    }
    if (w->stopping) {
        pthread_mutex_unlock(&w->mu);
        snprintf(j->res.error, sizeof(j->res.error), "shutting down");
        return j->res.status = -2;
    }
    j->next = NULL;
    *w->tail = j;
    w->tail = &j->next;
    w->queued += n;
    pthread_cond_signal(&w->work_cv);
    while (!j->done)
        pthread_cond_wait(&w->done_cv, &w->mu);
    pthread_mutex_unlock(&w->mu);
    return j->res.status;
}

int writer_submit(struct writer *w, struct batch *b, double wait_s,
                  struct writer_result *res)
{
    struct job j;
    int rc;

    memset(&j, 0, sizeof(j));
    j.kind = JOB_BATCH;
    j.batch = *b;
    batch_init(b, b->arrival);
    rc = enqueue_wait(w, &j, wait_s);
    batch_cleanup(&j.batch);
    if (res != NULL)
        *res = j.res;
    return rc;
}

int writer_call(struct writer *w, writer_call_fn fn, void *arg)
{
    struct job j;

    memset(&j, 0, sizeof(j));
    j.kind = JOB_CALL;
    j.fn = fn;
    j.arg = arg;
    return enqueue_wait(w, &j, -1);
}

void writer_stop(struct writer *w)
{
    if (w == NULL)
        return;
    pthread_mutex_lock(&w->mu);
    w->stopping = 1;
    pthread_cond_broadcast(&w->work_cv);
    pthread_cond_broadcast(&w->room_cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->th, NULL);
    pthread_cond_destroy(&w->work_cv);
    pthread_cond_destroy(&w->done_cv);
    pthread_cond_destroy(&w->room_cv);
    pthread_mutex_destroy(&w->mu);
    free(w);
}
