/* pipeline.c - one writer from samples to committed events: the engine emits
 * events, the router records each with its outbox rows, and a batch of
 * samples becomes one transaction (group commit) together with the series
 * state it changed. Used by `tocsin eval` and the daemon's writer thread. */
#include "pipeline.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/buf.h"
#include "../common/labels.h"
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
    bool wrote; /* the last commit_batch committed a transaction */
    int batch_events;
    struct err *err; /* the caller's, during a feed */
    int failed;
    struct buf json;
    pipeline_event_fn on_event;
    void *on_event_ctx;
    pipeline_committed_fn on_committed;
    void *on_committed_ctx;
    /* The open batch's events for on_committed: rule and fingerprint
     * copied into pend_str (the config may be swapped before the commit). */
    struct pend {
        size_t rule, labels, fp; /* offsets in pend_str */
        unsigned char kind, sev, prev;
    } * pend;
    size_t npend, cappend;
    struct buf pend_str;
    struct pipeline_stats st;
    struct names *changed; /* at start: rules redefined since the last run */
    struct keys *stale;    /* at start: saved series the engine skipped */
    double next_forget;    /* wall clock of the next engine_forget */
};

/* A small set of rule names. */
struct names {
    char **v;
    size_t n;
};

static void names_add(struct names *ns, const char *name)
{
    for (size_t i = 0; i < ns->n; i++)
        if (strcmp(ns->v[i], name) == 0)
            return;
    ns->v = xrealloc(ns->v, (ns->n + 1) * sizeof(*ns->v));
    ns->v[ns->n++] = xstrdup(name);
}

static bool names_has(const struct names *ns, const char *name)
{
    for (size_t i = 0; ns != NULL && i < ns->n; i++)
        if (strcmp(ns->v[i], name) == 0)
            return true;
    return false;
}

static void names_free(struct names *ns)
{
    for (size_t i = 0; i < ns->n; i++)
        free(ns->v[i]);
    free(ns->v);
}

/* A list of strings (no lookups). */
struct keys {
    char **v;
    size_t n, cap;
};

static void keys_add(struct keys *k, const char *s)
{
    if (k->n == k->cap) {
        k->cap = k->cap ? k->cap * 2 : 16;
        k->v = xrealloc(k->v, k->cap * sizeof(*k->v));
    }
    k->v[k->n++] = xstrdup(s);
}

static void keys_free(struct keys *k)
{
    for (size_t i = 0; i < k->n; i++)
        free(k->v[i]);
    free(k->v);
    memset(k, 0, sizeof(*k));
}

static int keys_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool keys_has_sorted(const struct keys *k, const char *s)
{
    return k->n > 0 && bsearch(&s, k->v, k->n, sizeof(*k->v), keys_cmp) != NULL;
}

static int ensure_txn(struct pipeline *p, struct err *e)
{
    if (p->in_txn)
        return 0;
    if (store_begin(p->store, e) < 0)
        return -1;
    p->in_txn = true;
    return 0;
}

/* Roll back the open transaction, if any. */
static void rollback_txn(struct pipeline *p)
{
    if (p->in_txn)
        store_rollback(p->store);
    p->in_txn = false;
}

/* Delete the saved series key, inside the pipeline's transaction. */
static int series_del(struct pipeline *p, const char *key, struct err *e)
{
    if (ensure_txn(p, e) < 0)
        return -1;
    return store_series_del(p->store, key, e);
}

/* The labels told with an event (for its log line) are cut past this. */
#define PEND_LABELS_MAX 1024

static void pend_add(struct pipeline *p, const struct alert_event *ev)
{
    struct pend *q;

    if (p->npend == p->cappend) {
        p->cappend = p->cappend ? p->cappend * 2 : 64;
        p->pend = xrealloc(p->pend, p->cappend * sizeof(*p->pend));
    }
    q = &p->pend[p->npend++];
    q->rule = p->pend_str.len;
    buf_add(&p->pend_str, ev->rule, strlen(ev->rule) + 1);
    q->labels = p->pend_str.len;
    for (size_t i = 0, n = 0; i < ev->nlabels; i++) {
        if (strcmp(ev->labels[i].name, "alertname") == 0)
            continue;
        if (n++ > 0)
            buf_addc(&p->pend_str, ',');
        buf_adds(&p->pend_str, ev->labels[i].name);
        buf_addc(&p->pend_str, '=');
        buf_adds(&p->pend_str, ev->labels[i].value);
    }
    if (!p->pend_str.failed && p->pend_str.len - q->labels > PEND_LABELS_MAX) {
        /* A log line, not a record: cut on a UTF-8 boundary. */
        p->pend_str.len =
            q->labels +
            util_utf8_cut(p->pend_str.data + q->labels, PEND_LABELS_MAX);
        buf_adds(&p->pend_str, "...");
    }
    buf_addc(&p->pend_str, '\0');
    q->fp = p->pend_str.len;
    buf_add(&p->pend_str, ev->fingerprint, strlen(ev->fingerprint) + 1);
    q->kind = (unsigned char)ev->kind;
    q->sev = (unsigned char)ev->severity;
    q->prev = (unsigned char)ev->previous;
}

/* The batch committed (tell) or was rolled back (forget its events). */
static void pend_done(struct pipeline *p, bool tell)
{
    /* A commit's events are told in a burst: lines in blocks. */
    log_hold();
    for (size_t i = 0; tell && !p->pend_str.failed && i < p->npend; i++) {
        const struct pend *q = &p->pend[i];
        struct pipeline_committed c = {
            p->pend_str.data + q->rule, p->pend_str.data + q->labels,
            p->pend_str.data + q->fp,   (enum event_kind)q->kind,
            (enum severity)q->sev,      (enum severity)q->prev};

        p->on_committed(p->on_committed_ctx, &c);
    }
    log_release();
    p->npend = 0;
    buf_reset(&p->pend_str);
}

static int on_engine_event(void *ctx, const struct alert_event *ev)
{
    struct pipeline *p = ctx;
    int notified = 0;
    double now = p->replay ? ev->ts : util_now();

    if (p->failed)
        return -1; /* the batch is lost already: no store work for it */
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
    if (p->on_committed)
        pend_add(p, ev);
    return 0;
}

static int restore_cb(void *ctx, const char *key, const void *blob, size_t len)
{
    struct pipeline *p = ctx;
    struct err e = {0};
    int rc = engine_restore(p->engine, key, blob, len, &e);

    if (rc < 0)
        log_warn("pipeline", "skipping saved series: %s", e.msg);
    if (rc == 1 && p->stale != NULL)
        keys_add(p->stale, key);
    if (rc == 1 && p->changed != NULL) {
        /* A series of a rule the config has, saved under another
         * definition of it: the rule changed (while tocsin was down, or
         * by a reload since its last start). */
        const char *sep = strchr(key, '\x1f');
        size_t nl = sep ? (size_t)(sep - key) : strlen(key);
        char name[256];

        if (nl > 0 && nl < sizeof(name)) {
            memcpy(name, key, nl);
            name[nl] = '\0';
            if (config_rule(p->cfg, name) != NULL)
                names_add(p->changed, name);
        }
    }
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

/* Firing alerts of the rules a reload removed or redefined, copied out of
 * the store (no writes inside its read cursor). */
struct gone {
    char *fp, *rule, *labels, *severity;
    double since;
};

struct gone_ctx {
    const struct config *old, *cfg;
    const struct names *changed; /* at start (old NULL): redefined rules */
    const struct keys *alive;    /* at start: fingerprints (sorted) of their
                                    alerts restored firing, saved under the
                                    current definition */
    struct gone *v;
    size_t n;
};

/* Is rule name (of the old config) gone from cfg or redefined there? */
static bool rule_gone(const struct config *old, const struct config *cfg,
                      const char *name)
{
    const struct rule *o = config_rule(old, name);
    const struct rule *n = config_rule(cfg, name);

    if (o == NULL)
        return false; /* not ours to judge: a rule of an older config */
    return n == NULL || engine_rule_hash(n) != engine_rule_hash(o);
}

static int gone_cb(void *ctx, const struct store_alert *a)
{
    struct gone_ctx *g = ctx;
    struct gone *x;

    if (g->old != NULL ? !rule_gone(g->old, g->cfg, a->rule)
                       : config_rule(g->cfg, a->rule) != NULL &&
                             (!names_has(g->changed, a->rule) ||
                              keys_has_sorted(g->alive, a->fingerprint)))
        return 0;
    g->v = xrealloc(g->v, (g->n + 1) * sizeof(*g->v));
    x = &g->v[g->n++];
    x->fp = xstrdup(a->fingerprint);
    x->rule = xstrdup(a->rule);
    x->labels = xstrdup(a->labels_json ? a->labels_json : "{}");
    x->severity = xstrdup(a->severity ? a->severity : "warning");
    x->since = a->since;
    return 0;
}

/* One "resolved" event (reason reload) for a gone alert, recorded and
 * routed like any other: its receivers hear that it ended. */
static int resolve_gone(struct pipeline *p, const struct gone *g, double now,
                        struct err *e)
{
    cJSON *root = cJSON_Parse(g->labels);
    size_t n;
    struct label *lv = labels_from_json(root, &n);
    struct alert_event ev;
    int rc;

    memset(&ev, 0, sizeof(ev));
    ev.ts = now;
    ev.rule = g->rule;
    ev.labels = lv;
    ev.nlabels = n;
    ev.kind = EV_RESOLVED;
    ev.severity = SEV_OK;
    if (severity_parse(g->severity, &ev.previous) < 0)
        ev.previous = SEV_WARNING;
    ev.reason = REASON_RELOAD;
    snprintf(ev.fingerprint, sizeof(ev.fingerprint), "%s", g->fp);
    ev.starts_at = g->since;
    p->err = e;
    rc = on_engine_event(p, &ev);
    p->err = NULL;
    free(lv);
    cJSON_Delete(root);
    return rc;
}

/* Resolve every alert g's predicate picks, in one transaction. */
static int resolve_all_gone(struct pipeline *p, struct gone_ctx *g,
                            struct err *e)
{
    int rc = 0;

    if (store_alerts_foreach(p->store, gone_cb, g, e) < 0)
        rc = -1;
    for (size_t i = 0; i < g->n && rc == 0; i++)
        rc = resolve_gone(p, &g->v[i], p->replay ? g->v[i].since : util_now(),
                          e);
    if (rc == 0 && g->n > 0) {
        log_info("pipeline",
                 "%zu alert(s) of removed or changed rules resolved", g->n);
        rc = pipeline_commit(p, NULL, e);
    } else if (rc < 0 && p->in_txn) {
        rollback_txn(p);
        p->failed = 0;
    }
    for (size_t i = 0; i < g->n; i++) {
        free(g->v[i].fp);
        free(g->v[i].rule);
        free(g->v[i].labels);
        free(g->v[i].severity);
    }
    free(g->v);
    return rc;
}

struct alive_ctx {
    const struct names *changed;
    struct keys *alive;
};

/* engine_alert_fn: the fingerprints of the changed rules' firing series. */
static int alive_cb(void *ctx, const char *rule, const struct label *labels,
                    size_t nlabels, enum severity sev, double value,
                    bool has_value, double since, const char *fingerprint)
{
    struct alive_ctx *ac = ctx;

    (void)labels, (void)nlabels, (void)sev, (void)value, (void)has_value,
        (void)since;
    if (names_has(ac->changed, rule))
        keys_add(ac->alive, fingerprint);
    return 0;
}

/* Delete the saved series in stale, in one transaction. */
static int forget_stale(struct pipeline *p, const struct keys *stale,
                        struct err *e)
{
    for (size_t i = 0; i < stale->n; i++) {
        if (series_del(p, stale->v[i], e) < 0) {
            rollback_txn(p);
            return -1;
        }
    }
    return pipeline_commit(p, NULL, e);
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
    buf_init(&p->pend_str, (size_t)256 << 20);
    if (!replay) {
        struct names changed = {0};
        struct keys stale = {0}, alive = {0};
        struct gone_ctx g = {NULL, cfg, &changed, &alive, NULL, 0};
        struct alive_ctx ac = {&changed, &alive};
        struct err ge = {0};
        int rc;

        p->changed = &changed;
        p->stale = &stale;
        rc = ensure_restored(p, e);
        p->changed = NULL;
        p->stale = NULL;
        /* Alerts of rules removed or redefined while tocsin was down
         * resolve, as on a reload; not those the current definition fired
         * since a reload (their series are saved under it, and restored
         * firing). */
        if (rc == 0 && changed.n > 0) {
            engine_foreach_alert(p->engine, alive_cb, &ac);
            if (alive.n > 1)
                qsort(alive.v, alive.n, sizeof(*alive.v), keys_cmp);
        }
        if (rc == 0 && resolve_all_gone(p, &g, &ge) < 0)
            log_warn("pipeline", "alerts of removed or changed rules: %s",
                     ge.msg);
        /* The rows the engine skipped say nothing any more once their
         * alerts are judged (left, they would mark their rule changed at
         * every start); kept while that failed, for the next start. */
        else if (rc == 0 && stale.n > 0 && forget_stale(p, &stale, &ge) < 0)
            log_warn("pipeline", "saved series of old rules: %s", ge.msg);
        names_free(&changed);
        keys_free(&stale);
        keys_free(&alive);
        if (rc < 0) {
            pipeline_close(p, NULL);
            return NULL;
        }
    }
    return p;
}

void pipeline_on_event(struct pipeline *p, pipeline_event_fn fn, void *ctx)
{
    p->on_event = fn;
    p->on_event_ctx = ctx;
}

void pipeline_on_committed(struct pipeline *p, pipeline_committed_fn fn,
                           void *ctx)
{
    p->on_committed = fn;
    p->on_committed_ctx = ctx;
}

int pipeline_feed(struct pipeline *p, const struct sample *s, double arrival,
                  struct err *e)
{
    struct sample copy;
    bool unstamped;
    int rc;

    /* After a store error the batch is lost anyway (rolled back and
     * forgotten at its commit): do not wait on the store for each sample. */
    if (p->failed) {
        err_set(e, "a store error earlier in this batch");
        return -1;
    }
    if (ensure_restored(p, e) < 0)
        return -1;
    unstamped = isnan(s->ts);
    if (unstamped) {
        copy = *s;
        copy.ts = arrival;
        s = &copy;
    }
    if (!p->replay)
        engine_set_arrival(p->engine, arrival);
    p->err = e;
    rc = unstamped ? engine_feed_unstamped(p->engine, s, on_engine_event, p)
                   : engine_feed(p->engine, s, on_engine_event, p);
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

int pipeline_end_of_stream(struct pipeline *p, bool at_clock, struct err *e)
{
    /* Nothing fed (an empty input): the clock is the one saved, whose
     * deadlines the run that saved it passed. */
    if (!p->restored)
        return 0;
    if (p->failed) {
        err_set(e, "a store error earlier in this batch");
        return -1;
    }
    p->err = e;
    if (at_clock)
        engine_advance(p->engine, engine_clock(p->engine), on_engine_event, p);
    else
        engine_advance_before(p->engine, engine_clock(p->engine),
                              on_engine_event, p);
    p->err = NULL;
    return p->failed ? -1 : 0;
}

static int del_cb(void *ctx, const char *key)
{
    struct pipeline *p = ctx;

    return series_del(p, key, p->err);
}

/* Idle series go (engine_forget), checked a few times per series_idle
 * and at least every minute; their rows go in the tick's transaction. */
static int forget_idle(struct pipeline *p, double now, struct err *e)
{
    double idle = p->cfg->series_idle, every = idle / 4 < 60 ? idle / 4 : 60;
    size_t n = 0;
    int rc;

    if (idle <= 0 || now < p->next_forget)
        return 0;
    p->next_forget = now + every;
    p->err = e;
    rc = engine_forget(p->engine, now, idle, del_cb, p, &n);
    p->err = NULL;
    if (rc < 0)
        return -1;
    if (n > 0)
        log_debug("pipeline", "forgot %zu series without samples for %gs", n,
                  idle);
    return 0;
}

int pipeline_tick(struct pipeline *p, double now, struct err *e)
{
    int notified = 0;

    if (p->failed) {
        err_set(e, "a store error earlier in this batch (the batch is rolled "
                   "back at its commit)");
        return -1;
    }
    if (ensure_restored(p, e) < 0)
        return -1;
    p->err = e;
    engine_tick(p->engine, now, on_engine_event, p);
    p->err = NULL;
    if (p->failed)
        return -1;
    if (forget_idle(p, now, e) < 0 || ensure_txn(p, e) < 0 ||
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
    pend_done(p, false);
    router_rolled_back(p->router);
    engine_free(p->engine);
    p->engine = engine_new(p->cfg);
    p->restored = false;
    p->batch_events = 0;
    log_warn("pipeline", "batch rolled back: series state reloaded from the "
                         "store");
}

/* What a commit saves besides the batch and the changed tier states. */
enum commit_save {
    SAVE_STATE,   /* nothing more */
    SAVE_SOURCES, /* the sources' newest times */
    SAVE_WINDOWS, /* those and the windows fed since their last save */
};

/* Commit the batch with what save says, in the same transaction. */
static int commit_batch(struct pipeline *p, enum commit_save save,
                        int *events_committed, struct err *e)
{
    int n = p->batch_events;

    p->wrote = false;
    if (events_committed)
        *events_committed = 0;
    if (p->failed) {
        rollback_txn(p);
        p->failed = 0;
        forget_batch(p);
        err_set(e, "batch rolled back after an earlier store error");
        return -1;
    }
    p->err = e;
    /* Never restored (no sample came): the store's state is the whole
     * truth, and saving the empty engine would overwrite part of it. */
    if (!p->restored)
        save = SAVE_STATE;
    if (engine_save(p->engine, save == SAVE_WINDOWS, false, put_cb, p) < 0 ||
        (save == SAVE_SOURCES &&
         engine_save_sources(p->engine, put_cb, p) < 0)) {
        p->err = NULL;
        rollback_txn(p);
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
    p->wrote = true;
    p->st.commits++;
    pend_done(p, true);
    if (events_committed)
        *events_committed = n;
    return 0;
}

int pipeline_meta_put(struct pipeline *p, const char *key, const char *value,
                      struct err *e)
{
    if (ensure_txn(p, e) < 0)
        return -1;
    return store_meta_put(p->store, key, value, e);
}

int pipeline_commit(struct pipeline *p, int *events_committed, struct err *e)
{
    return commit_batch(p, SAVE_STATE, events_committed, e);
}

bool pipeline_wrote(const struct pipeline *p)
{
    return p->wrote;
}

int pipeline_commit_durable(struct pipeline *p, bool windows,
                            int *events_committed, struct err *e)
{
    return commit_batch(p, windows ? SAVE_WINDOWS : SAVE_SOURCES,
                        events_committed, e);
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
        rollback_txn(p);
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
    else
        rollback_txn(p);
    engine_free(p->engine);
    router_free(p->router);
    buf_cleanup(&p->json);
    free(p->pend);
    buf_cleanup(&p->pend_str);
    free(p);
    return rc;
}

int pipeline_reload(struct pipeline *p, const struct config *cfg, struct err *e)
{
    struct router *r = router_new(cfg);
    struct gone_ctx g = {p->cfg, cfg, NULL, NULL, NULL, 0};
    const struct config *old = p->cfg;
    int rc = 0;

    router_set_replay(r, p->replay);
    engine_reload(p->engine, cfg);
    router_free(p->router);
    p->router = r;
    /* The engine dropped the series of rules removed or redefined: their
     * saved rows go too, or a later start would restore them (a rule
     * defined back as it was) or take them for a change made while
     * tocsin was down, and resolve what the new definition fired. */
    for (size_t i = 0; i < old->nrules && rc == 0; i++)
        if (rule_gone(old, cfg, old->rules[i].name) &&
            (ensure_txn(p, e) < 0 ||
             store_series_del_rule(p->store, old->rules[i].name, e) < 0))
            rc = -1;
    /* Alerts of rules the new config removed or redefined: the rule that
     * fired them says nothing of them any more, so they resolve (else
     * they would stay firing, and reminded, for ever). gone_cb judges
     * with the old config, which the caller keeps alive. */
    p->cfg = cfg;
    if (rc < 0) {
        rollback_txn(p);
        return -1;
    }
    rc = resolve_all_gone(p, &g, e);
    if (rc == 0 && p->in_txn)
        rc = pipeline_commit(p, NULL, e);
    return rc;
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
    out->skipped = rs.skipped;
}
