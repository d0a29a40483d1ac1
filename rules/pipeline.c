/* pipeline.c - one writer from samples to committed events: the engine emits
 * events, the router records each with its outbox rows, and a batch of
 * samples becomes one transaction (group commit) together with the series
 * state it changed. Used by `tocsin eval` and the daemon's writer thread. */
#include "pipeline.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../common/buf.h"
#include "../common/log.h"
#include "../common/util.h"
#include "../notifiers/router.h"

struct pipeline {
    const struct config *cfg;
    struct store *store;
    struct engine *engine;
    struct router *router;
    bool replay;
    bool restored; /* the store's series state is in the engine */
    bool in_txn;
    int batch_events;
    struct err *err; /* the caller's, during a feed */
    int failed;
    struct buf json;
    pipeline_event_fn on_event;
    void *on_event_ctx;
    struct pipeline_stats st;
};

static int ensure_txn(struct pipeline *p, struct err *e)
{
    if (p->in_txn)
        return 0;
    if (store_begin(p->store, e) < 0)
        return -1;
    p->in_txn = true;
    return 0;
}

static int on_engine_event(void *ctx, const struct alert_event *ev)
{
    struct pipeline *p = ctx;
    int notified = 0;
    double now = p->replay ? ev->ts : util_now();

    buf_reset(&p->json);
    if (event_to_json(ev, &p->json) < 0) {
        err_set(p->err, "event too large to record (rule %s)", ev->rule);
        p->failed = 1;
        return -1;
    }
    if (ensure_txn(p, p->err) < 0 ||
        router_record(p->router, p->store, ev, buf_str(&p->json), now,
                      &notified, p->err) < 0) {
        p->failed = 1;
        return -1;
    }
    p->batch_events++;
    p->st.events++;
    p->st.notifications += (uint64_t)notified;
    if (p->on_event)
        p->on_event(p->on_event_ctx, ev, buf_str(&p->json));
    return 0;
}

static int restore_cb(void *ctx, const char *key, const void *blob, size_t len)
{
    struct pipeline *p = ctx;
    struct err e = {0};

    if (engine_restore(p->engine, key, blob, len, &e) < 0)
        log_warn("pipeline", "skipping saved series: %s", e.msg);
    return 0;
}

/* Load the saved series state once, before the engine first needs it. */
static int ensure_restored(struct pipeline *p, struct err *e)
{
    if (p->restored)
        return 0;
    p->restored = true;
    return store_series_foreach(p->store, restore_cb, p, e);
}

struct pipeline *pipeline_new(const struct config *cfg, struct store *s,
                              bool replay, struct err *e)
{
    struct pipeline *p = xcalloc(1, sizeof(*p));

    p->cfg = cfg;
    p->store = s;
    p->replay = replay;
    p->engine = engine_new(cfg);
    p->router = router_new(cfg);
    router_set_replay(p->router, replay);
    buf_init(&p->json, 4 << 20);
    if (!replay && ensure_restored(p, e) < 0) {
        pipeline_close(p, NULL);
        return NULL;
    }
    return p;
}

void pipeline_on_event(struct pipeline *p, pipeline_event_fn fn, void *ctx)
{
    p->on_event = fn;
    p->on_event_ctx = ctx;
}

int pipeline_feed(struct pipeline *p, const struct sample *s, double arrival,
                  struct err *e)
{
    struct sample copy;
    int rc;

    if (ensure_restored(p, e) < 0)
        return -1;
    if (isnan(s->ts)) {
        copy = *s;
        copy.ts = arrival;
        s = &copy;
    }
    p->err = e;
    rc = engine_feed(p->engine, s, on_engine_event, p);
    p->err = NULL;
    if (p->failed)
        return -1;
    if (rc == 1) {
        p->st.late++;
        return 1;
    }
    p->st.samples++;
    return 0;
}

int pipeline_advance(struct pipeline *p, double t, struct err *e)
{
    if (ensure_restored(p, e) < 0)
        return -1;
    p->err = e;
    engine_advance(p->engine, t, on_engine_event, p);
    p->err = NULL;
    return p->failed ? -1 : 0;
}

int pipeline_tick(struct pipeline *p, double now, struct err *e)
{
    int notified = 0;

    if (ensure_restored(p, e) < 0)
        return -1;
    p->err = e;
    engine_tick(p->engine, now, on_engine_event, p);
    p->err = NULL;
    if (p->failed)
        return -1;
    if (ensure_txn(p, e) < 0 ||
        router_repeats(p->router, p->store, now, &notified, e) < 0) {
        p->failed = 1;
        return -1;
    }
    p->st.notifications += (uint64_t)notified;
    return 0;
}

static int put_cb(void *ctx, const char *key, const char *rule,
                  const char *fingerprint, const void *blob, size_t len)
{
    struct pipeline *p = ctx;

    if (ensure_txn(p, p->err) < 0)
        return -1;
    return store_series_put(p->store, key, rule, fingerprint, blob, len,
                            p->err);
}

/* The store rolled a batch back: the engine must forget it too, or the
 * batch's alerts would be firing in memory with no event in the store (a
 * client's retry of the batch would then change nothing and be answered
 * 204). The series come back from the store as after a crash: their state
 * as of the last commit, their windows as of the last checkpoint. */
static void forget_batch(struct pipeline *p)
{
    engine_free(p->engine);
    p->engine = engine_new(p->cfg);
    p->restored = false;
    p->batch_events = 0;
    log_warn("pipeline", "batch rolled back: series state reloaded from the "
                         "store");
}

int pipeline_commit(struct pipeline *p, int *events_committed, struct err *e)
{
    int n = p->batch_events;

    if (events_committed)
        *events_committed = 0;
    if (p->failed) {
        if (p->in_txn)
            store_rollback(p->store);
        p->in_txn = false;
        p->failed = 0;
        forget_batch(p);
        err_set(e, "batch rolled back after an earlier store error");
        return -1;
    }
    p->err = e;
    if (engine_save(p->engine, false, false, put_cb, p) < 0) {
        p->err = NULL;
        if (p->in_txn)
            store_rollback(p->store);
        p->in_txn = false;
        forget_batch(p);
        return -1;
    }
    p->err = NULL;
    p->batch_events = 0;
    if (!p->in_txn)
        return 0;
    p->in_txn = false;
    if (store_commit(p->store, e) < 0) {
        forget_batch(p);
        return -1;
    }
    p->st.commits++;
    if (events_committed)
        *events_committed = n;
    return 0;
}

int pipeline_checkpoint(struct pipeline *p, bool with_windows, struct err *e)
{
    int rc;

    if (pipeline_commit(p, NULL, e) < 0)
        return -1;
    /* Never restored (no sample came): the store's state is the whole
     * truth, and saving the empty engine would overwrite part of it. */
    if (!p->restored)
        return 0;
    p->err = e;
    rc = engine_save(p->engine, with_windows, false, put_cb, p);
    p->err = NULL;
    if (rc < 0) {
        if (p->in_txn)
            store_rollback(p->store);
        p->in_txn = false;
        return -1;
    }
    return pipeline_commit(p, NULL, e);
}

int pipeline_close(struct pipeline *p, struct err *e)
{
    int rc = 0;

    if (p == NULL)
        return 0;
    if (e != NULL)
        rc = pipeline_checkpoint(p, true, e);
    else if (p->in_txn)
        store_rollback(p->store);
    engine_free(p->engine);
    router_free(p->router);
    buf_cleanup(&p->json);
    free(p);
    return rc;
}

void pipeline_reload(struct pipeline *p, const struct config *cfg)
{
    struct router *r = router_new(cfg);

    router_set_replay(r, p->replay);
    engine_reload(p->engine, cfg);
    router_free(p->router);
    p->router = r;
    p->cfg = cfg;
}

struct engine *pipeline_engine(struct pipeline *p)
{
    return p->engine;
}

struct router *pipeline_router(struct pipeline *p)
{
    return p->router;
}

void pipeline_stats(const struct pipeline *p, struct pipeline_stats *out)
{
    struct router_stats rs;

    *out = p->st;
    router_stats(p->router, &rs);
    out->silenced = rs.silenced;
}
