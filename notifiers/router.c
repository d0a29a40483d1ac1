/* router.c - what happens to an alert event after the engine emits it (SPEC
 * sections 5 and 6): silences, history, current alerts, route selection plus
 * the alert's heard set, per-receiver filters (send_resolved, events,
 * cooldown) and one outbox row per notification, all inside the caller's
 * transaction. Also the repeat_interval reminders. Called by the pipeline
 * (eval, daemon) through router.h. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/buf.h"
#include "../common/labels.h"
#include "../common/log.h"
#include "../common/sha256.h"
#include "../common/util.h"
#include "notifier.h"
#include "router.h"
#include "silences.h"

/* The largest lead of an event's ts over the wall clock that note_ahead
 * keeps for the report. */
#define ROUTER_MAX_AHEAD (7 * 86400.0)
/* Keys tried for one transition of one alert in one millisecond. */
#define ROUTER_MAX_OCCURRENCE 1000u

struct router {
    const struct config *cfg;
    struct silences sil;
    /* router_repeats has given the receivers that this config's routes
     * add to firing alerts their place among the alert's receivers */
    bool routes_seen;
    /* STORE_META_AHEAD as last read or written (valid when ahead_read) */
    double ahead;
    bool ahead_read;
    struct router_stats stats;
};

/* One receiver picked for an event. */
struct pick {
    size_t idx;        /* into cfg->notifiers */
    bool routed;       /* a route (or defaults.notify) matched now */
    double repeat;     /* smallest repeat_interval of matching routes */
    bool heard;        /* already in the alert's heard set */
    bool never;        /* in it as never sent anything (every one silenced) */
    bool untold;       /* heard it, and its "resolved" was held by cooldown */
    int64_t untold_id; /* that "resolved"'s outbox row */
    double last_notified; /* from the heard row; -inf: never sent to */
};

struct picks {
    struct pick *v;
    size_t n, cap;
};

struct router *router_new(const struct config *cfg)
{
    struct router *r = xcalloc(1, sizeof(*r));

    r->cfg = cfg;
    return r;
}

void router_free(struct router *r)
{
    if (r == NULL)
        return;
    silences_cleanup(&r->sil);
    free(r);
}

void router_set_replay(struct router *r, bool replay)
{
    silences_set_replay(&r->sil, replay);
}

void router_rolled_back(struct router *r)
{
    r->routes_seen = false;
    r->ahead_read = false; /* a write of it may be undone */
}

void router_silences_changed(struct router *r)
{
    silences_invalidate(&r->sil);
}

void router_stats(const struct router *r, struct router_stats *out)
{
    *out = r->stats;
}

static struct pick *picks_find(struct picks *p, size_t idx)
{
    for (size_t i = 0; i < p->n; i++)
        if (p->v[i].idx == idx)
            return &p->v[i];
    return NULL;
}

static struct pick *picks_add(struct picks *p, size_t idx)
{
    struct pick *k = picks_find(p, idx);

    if (k)
        return k;
    if (p->n == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 8;
        p->v = xrealloc(p->v, p->cap * sizeof(*p->v));
    }
    k = &p->v[p->n++];
    memset(k, 0, sizeof(*k));
    k->last_notified = -INFINITY; /* never sent anything (0 is a time) */
    k->idx = idx;
    return k;
}

static void pick_route(struct picks *p, size_t idx, double repeat)
{
    struct pick *k = picks_add(p, idx);

    if (!k->routed || (repeat > 0 && (k->repeat <= 0 || repeat < k->repeat)))
        k->repeat = repeat;
    k->routed = true;
}

/* Walk the routes in order (SPEC section 6): first match wins unless
 * continue: true; nothing matched goes to defaults.notify. */
static void route_event(const struct config *cfg, struct label_view *v,
                        struct picks *p)
{
    bool matched = false;

    for (size_t i = 0; i < cfg->nroutes; i++) {
        const struct route *rt = &cfg->routes[i];
        double rep =
            rt->has_repeat ? rt->repeat_interval : cfg->repeat_interval;

        if (!matcher_set_match(&rt->match, label_view_get, v))
            continue;
        matched = true;
        for (size_t j = 0; j < rt->nnotify; j++)
            pick_route(p, rt->notify[j], rep);
        if (!rt->cont)
            break;
    }
    if (!matched)
        for (size_t j = 0; j < cfg->ndefault_notify; j++)
            pick_route(p, cfg->default_notify[j], cfg->repeat_interval);
}

struct heard_ctx {
    const struct config *cfg;
    struct picks *p;
};

static int heard_collect(void *ctx, const struct store_heard *h)
{
    struct heard_ctx *hc = ctx;
    int idx = config_notifier_index(hc->cfg, h->receiver);
    struct pick *k;

    if (idx < 0)
        return 0; /* a receiver removed by a reload */
    /* Only a receiver that was sent something hears the later events: one
     * whose every notification of this alert was silenced (or held back by
     * cooldown) has nothing to follow up, and must not get a "resolved"
     * for a firing it never saw. */
    if (!isfinite(h->last_notified)) {
        /* Nor does the route give it the "resolved" (below): as in
         * Alertmanager, no resolved for a firing never sent. */
        k = picks_find(hc->p, (size_t)idx);
        if (k != NULL)
            k->never = true;
        return 0;
    }
    k = picks_add(hc->p, (size_t)idx);
    k->heard = true;
    k->last_notified = h->last_notified;
    return 0;
}

/* "msg_" + 24 hex: 11 of the event time in milliseconds, then 13 of
 * SHA-256 over the parts joined by '|'. Deterministic (stable across
 * restarts and replays) and free of '.', as Standard Webhooks wants of
 * webhook-id. The time prefix makes keys arrive in nearly ascending order,
 * so the outbox's unique key index grows at its right edge instead of
 * dirtying a random index page per notification (one WAL page each). */
struct keytext {
    char s[1024];
    size_t n; /* at most sizeof(s) - 1: longer text is cut there */
};

static void keytext_add(struct keytext *k, const char *p, size_t len)
{
    size_t room = sizeof(k->s) - 1 - k->n;

    if (len > room)
        len = room;
    memcpy(k->s + k->n, p, len);
    k->n += len;
}

static void make_key(const char *fingerprint, double ts, const char *event,
                     const char *receiver, const char *kind, const char *extra,
                     unsigned occurrence, char out[29])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[SHA256_LEN];
    struct keytext k;
    long long ms = llround(ts * 1000.0);
    char dec[24];
    uint64_t t;

    /* fingerprint|ms|event|receiver|kind[|extra], ms in decimal */
    k.n = 0;
    keytext_add(&k, fingerprint, strlen(fingerprint));
    keytext_add(&k, "|", 1);
    keytext_add(&k, dec, util_format_ll(ms, dec));
    keytext_add(&k, "|", 1);
    keytext_add(&k, event, strlen(event));
    keytext_add(&k, "|", 1);
    keytext_add(&k, receiver, strlen(receiver));
    keytext_add(&k, "|", 1);
    keytext_add(&k, kind, strlen(kind));
    /* extra, the event's "previous>severity", tells apart two events of
     * one alert in one millisecond (two tiers crossed at once), while the
     * same event recorded again keeps its key: "|extra" */
    if (extra != NULL) {
        keytext_add(&k, "|", 1);
        keytext_add(&k, extra, strlen(extra));
    }
    /* The same transition again in the same millisecond (firing, resolved,
     * firing): "#2", "#3", ... */
    if (occurrence > 1) {
        keytext_add(&k, "#", 1);
        keytext_add(&k, dec, util_format_ll(occurrence, dec));
    }
    sha256(k.s, k.n, md);
    memcpy(out, "msg_", 4);
    /* 11 hex digits of ms cover the years 1970-2527; earlier or later
     * times wrap, which only loses the ordering. */
    t = (uint64_t)ms;
    for (int i = 10; i >= 0; i--) {
        out[4 + i] = hex[t & 15];
        t >>= 4;
    }
    for (int i = 0; i < 13; i++) {
        unsigned nib = i % 2 == 0 ? md[i / 2] >> 4 : md[i / 2] & 15;
        out[15 + i] = hex[nib];
    }
    out[28] = '\0';
}

/* {"event": <event_json>, "starts_at": ts, "receiver": "name"} */
/* The payload: the event, when its episode started, the receiver, and the
 * rule's `by` label names (the labels that tell one alert of the rule from
 * another: titles and subjects show those, not the rule's fixed labels). */
static int make_payload(struct buf *b, const char *event_json, double starts_at,
                        const char *receiver, bool first,
                        const struct rule *rule)
{
    char num[64];

    util_format_double(starts_at, num, sizeof(num));
    buf_reset(b);
    buf_adds(b, "{\"event\":");
    buf_adds(b, event_json);
    buf_printf(b, ",\"starts_at\":%s,\"receiver\":\"", num);
    buf_add_json_str(b, receiver, strlen(receiver));
    buf_addc(b, '"');
    /* The receiver's first notification of this episode (whatever the
     * event): the mail that later ones thread to. */
    if (first)
        buf_adds(b, ",\"first\":true");
    if (rule != NULL) {
        buf_adds(b, ",\"by\":[");
        for (size_t i = 0; i < rule->nby; i++) {
            buf_adds(b, i ? ",\"" : "\"");
            buf_add_json_str(b, rule->by[i], strlen(rule->by[i]));
            buf_addc(b, '"');
        }
        buf_addc(b, ']');
    }
    return buf_addc(b, '}');
}

/* Complete row, whose fingerprint, rule and kind the caller has set, as the
 * notification to receiver at now: its idempotency key (from the
 * fingerprint, ts, event and kind) into key, its payload (event_json and
 * starts_at) into b, and its times. Returns 0, or -1 with e filled when the
 * payload is too large. */
static int build_row(const struct config *cfg, struct outbox_row *row,
                     const char *receiver, double ts, const char *event,
                     const char *transition, const char *event_json,
                     double starts_at, bool first, double now, char key[29],
                     struct buf *b, struct err *e)
{
    make_key(row->fingerprint, ts, event, receiver, row->kind, transition, 1,
             key);
    if (make_payload(b, event_json, starts_at, receiver, first,
                     config_rule(cfg, row->rule)) < 0) {
        err_set(e, "router: payload for %s too large", receiver);
        return -1;
    }
    row->key = key;
    row->receiver = receiver;
    row->payload = buf_str(b);
    row->created = now;
    /* Due now at the latest: a sample stamped ahead of the wall clock (a
     * skewed agent) must not hold its notification back until then. */
    row->next_at = fmin(now, util_now());
    row->updated = now;
    return 0;
}

static int labels_json(const struct alert_event *ev, struct buf *b)
{
    buf_addc(b, '{');
    for (size_t i = 0; i < ev->nlabels; i++) {
        if (i)
            buf_addc(b, ',');
        buf_addc(b, '"');
        buf_add_json_str(b, ev->labels[i].name, strlen(ev->labels[i].name));
        buf_adds(b, "\":\"");
        buf_add_json_str(b, ev->labels[i].value, strlen(ev->labels[i].value));
        buf_addc(b, '"');
    }
    return buf_addc(b, '}');
}

/* The store's meta key "what<US>fp<US>receiver" of something tocsin keeps
 * per alert and receiver ("cooldown", "untold"). */
static void alert_meta_key(const char *what, const char *fp,
                           const char *receiver, struct buf *b)
{
    buf_reset(b);
    buf_printf(b, "%s\x1f%s\x1f%s", what, fp, receiver);
}

/* `cooldown` is per alert, across its episodes: the heard set forgets a
 * receiver when the alert resolves, so the time of the last delivery
 * also goes to the store's meta table (only for notifiers with a
 * cooldown). Returns the newest of the two, or -inf. */

static double cooldown_last(struct store *s, const char *fp,
                            const char *receiver, const struct pick *k)
{
    double last =
        k->heard && isfinite(k->last_notified) ? k->last_notified : -INFINITY;
    struct buf key;
    double t;

    buf_init(&key, 4096);
    alert_meta_key("cooldown", fp, receiver, &key);
    if (store_meta_number(s, buf_str(&key), &t, NULL) == 0 && t > last)
        last = t;
    buf_cleanup(&key);
    return last;
}

/* A receiver that heard an alert and whose "resolved" the cooldown held
 * back is told it once the cooldown allows, unless the alert fires again
 * first (router_repeats): the meta entry "untold<US>fp<US>receiver" holds
 * that resolved's outbox row, the heard row stays until then. Set (id >
 * 0) or drop the held-back resolved of fp to receiver. */
static int untold_set(struct store *s, const char *fp, const char *receiver,
                      int64_t id, struct err *e)
{
    struct buf key;
    char v[32];
    int rc;

    buf_init(&key, 256);
    alert_meta_key("untold", fp, receiver, &key);
    snprintf(v, sizeof(v), "%lld", (long long)id);
    rc = id > 0 ? store_meta_put(s, buf_str(&key), v, e)
                : store_meta_del(s, buf_str(&key), e);
    buf_cleanup(&key);
    return rc;
}

static int cooldown_mark(struct store *s, const char *fp, const char *receiver,
                         double now, struct err *e)
{
    struct buf key;
    char v[64];
    int rc;

    buf_init(&key, 4096);
    alert_meta_key("cooldown", fp, receiver, &key);
    snprintf(v, sizeof(v), "%.3f", now);
    rc = store_meta_put(s, buf_str(&key), v, e);
    buf_cleanup(&key);
    return rc;
}

/* An event stamped ahead of the wall clock that queues its notifications:
 * keep the largest lead in the store, so that the report, which counts an
 * event's notifications in the event's own period, reads them from that
 * much before it (their `created` is the earlier wall-clock time). */
static int note_ahead(struct router *r, struct store *s, double ts, double now,
                      struct err *e)
{
    char v[64];
    int rc;

    /* A lead beyond a week is a broken stamp (milliseconds taken for
     * seconds): noting it would make every report read the whole outbox. */
    if (!(ts - now > 1.0) || ts - now > ROUTER_MAX_AHEAD)
        return 0;
    if (!r->ahead_read) {
        rc = store_meta_number(s, STORE_META_AHEAD, &r->ahead, e);
        if (rc < 0)
            return -1;
        if (rc == 1 || !(r->ahead >= 0))
            r->ahead = 0;
        r->ahead_read = true;
    }
    if (ts - now <= r->ahead)
        return 0;
    /* Rounded up to the second: a write per new whole-second record. */
    snprintf(v, sizeof(v), "%.0f", ceil(ts - now));
    if (store_meta_put(s, STORE_META_AHEAD, v, e) < 0)
        return -1;
    r->ahead = ceil(ts - now);
    return 0;
}

static const char *reason_name(enum event_reason r)
{
    return event_reason_name(r);
}

int router_record(struct router *r, struct store *s,
                  const struct alert_event *ev, const char *event_json,
                  double now, int *notified, struct err *e)
{
    const struct config *cfg = r->cfg;
    const char *sevname = severity_name(ev->severity);
    const char *kindname = event_kind_name(ev->kind);
    char transition[32];
    struct label_view view = {ev->labels, ev->nlabels, sevname};
    struct picks picks = {0};
    struct heard_ctx hc = {cfg, &picks};
    struct store_event hist;
    struct buf b;
    int64_t event_id = 0;
    bool silenced;
    int pending = 0, rc = -1;

    if (notified)
        *notified = 0;
    snprintf(transition, sizeof(transition), "%s>%s",
             severity_name(ev->previous), sevname);
    buf_init(&b, 0);
    if (silences_load(&r->sil, s, now, e) < 0)
        goto out;
    silenced = silences_match(&r->sil, &view);

    memset(&hist, 0, sizeof(hist));
    hist.ts = ev->ts;
    hist.rule = ev->rule;
    hist.fingerprint = ev->fingerprint;
    hist.event = kindname;
    hist.severity = sevname;
    hist.previous = severity_name(ev->previous);
    hist.json = event_json;
    hist.silenced = silenced;
    if (store_event_add(s, &hist, &event_id, e) < 0 ||
        note_ahead(r, s, ev->ts, now, e) < 0)
        goto out;
    r->stats.events++;

    if (ev->severity != SEV_OK) {
        struct store_alert a;

        if (labels_json(ev, &b) < 0) {
            err_set(e, "router: labels of %s too large", ev->fingerprint);
            goto out;
        }
        memset(&a, 0, sizeof(a));
        a.fingerprint = ev->fingerprint;
        a.rule = ev->rule;
        a.labels_json = buf_str(&b);
        a.severity = sevname;
        a.since = ev->starts_at;
        a.value = ev->value;
        a.has_value = ev->has_value;
        a.updated = ev->ts;
        a.reason = reason_name(ev->reason);
        if (store_alert_put(s, &a, e) < 0)
            goto out;
    } else if (store_alert_del(s, ev->fingerprint, e) < 0) {
        goto out;
    }

    route_event(cfg, &view, &picks);
    if (store_heard_foreach(s, ev->fingerprint, heard_collect, &hc, e) < 0)
        goto out;

    for (size_t i = 0; i < picks.n; i++) {
        struct pick *k = &picks.v[i];
        const struct notifier *n = &cfg->notifiers[k->idx];
        struct outbox_row row;
        struct store_heard h;
        char key[29];
        int added;

        if (ev->kind == EV_RESOLVED && !n->send_resolved)
            continue;
        /* A resolved under a silence is recorded as silenced, as ever. */
        if (ev->kind == EV_RESOLVED && k->never && !silenced)
            continue;
        if (!(n->events_mask & (1u << ev->kind)))
            continue;
        memset(&row, 0, sizeof(row));
        if (silenced)
            row.status = OUTBOX_SILENCED;
        else if (n->cooldown > 0 &&
                 now - cooldown_last(s, ev->fingerprint, n->name, k) <
                     n->cooldown)
            row.status = OUTBOX_SKIPPED;
        else
            row.status = OUTBOX_PENDING;
        if (row.status == OUTBOX_PENDING && n->cooldown > 0 &&
            cooldown_mark(s, ev->fingerprint, n->name, now, e) < 0)
            goto out;
        row.event_id = event_id;
        row.fingerprint = ev->fingerprint;
        row.rule = ev->rule;
        row.kind = "event";
        if (build_row(cfg, &row, n->name, ev->ts, kindname, transition,
                      event_json, ev->starts_at, !k->heard, now, key, &b,
                      e) < 0)
            goto out;
        /* A resolved held back from a receiver that heard the alert: its
         * row is remembered, to be queued again when the cooldown allows. */
        k->untold =
            ev->kind == EV_RESOLVED && k->heard && row.status == OUTBOX_SKIPPED;
        added = store_outbox_add(s, &row, k->untold ? &k->untold_id : NULL, e);
        /* A key taken is an earlier event of the same transition in the
         * same millisecond (firing, resolved, firing): this one is another
         * notification, with the next occurrence's key. */
        for (unsigned occ = 2; added == 1 && occ <= ROUTER_MAX_OCCURRENCE;
             occ++) {
            make_key(ev->fingerprint, ev->ts, kindname, n->name, row.kind,
                     transition, occ, key);
            added =
                store_outbox_add(s, &row, k->untold ? &k->untold_id : NULL, e);
        }
        if (added < 0)
            goto out;
        if (added == 0) {
            if (row.status == OUTBOX_PENDING) {
                pending++;
                r->stats.notifications++;
            } else if (row.status == OUTBOX_SILENCED) {
                r->stats.silenced++;
            } else if (row.status == OUTBOX_SKIPPED) {
                r->stats.skipped++;
            }
        }
        /* Any later event supersedes a resolved held back earlier: the
         * receiver is told the new state, or (held back too) still
         * believes the alert fires, which it does again. */
        if (n->cooldown > 0 && k->heard && !k->untold &&
            untold_set(s, ev->fingerprint, n->name, 0, e) < 0)
            goto out;
        if (ev->kind == EV_RESOLVED)
            continue; /* the heard set is cleared below */
        memset(&h, 0, sizeof(h));
        h.fingerprint = ev->fingerprint;
        h.receiver = n->name;
        h.last_notified = row.status == OUTBOX_PENDING ? now : k->last_notified;
        /* Only receivers of a route that matches now get reminders. */
        h.repeat_interval = k->routed ? k->repeat : 0;
        if (store_heard_put(s, &h, e) < 0)
            goto out;
    }
    if (ev->kind == EV_RESOLVED && store_heard_clear(s, ev->fingerprint, e) < 0)
        goto out;
    /* But a receiver that heard the alert and was not told it resolved
     * (cooldown) stays in it: it is told once the cooldown allows
     * (router_repeats), or hears the alert's next episode. */
    for (size_t i = 0; ev->kind == EV_RESOLVED && i < picks.n; i++) {
        struct store_heard h;

        if (!picks.v[i].untold || picks.v[i].untold_id <= 0)
            continue;
        memset(&h, 0, sizeof(h));
        h.fingerprint = ev->fingerprint;
        h.receiver = cfg->notifiers[picks.v[i].idx].name;
        h.last_notified = picks.v[i].last_notified;
        if (store_heard_put(s, &h, e) < 0 ||
            untold_set(s, ev->fingerprint, h.receiver, picks.v[i].untold_id,
                       e) < 0)
            goto out;
    }
    if (notified)
        *notified = pending;
    rc = 0;
out:
    free(picks.v);
    buf_cleanup(&b);
    return rc;
}

/* --- repeat reminders --- */

struct rep_alert {
    char *fingerprint, *rule, *severity, *labels_json;
    double since;
    /* Parsed from labels_json when first needed, for routing and silences */
    cJSON *labels;
    struct label_view view;
    bool routed;        /* picks computed */
    struct picks picks; /* the current config's routes for the alert */
    /* Its newest history event (what a reminder shows), once the events
     * of its rule were read in this call */
    char *newest_json, *newest_event;
};

struct rep_heard {
    char *fingerprint, *receiver;
    double last_notified;
    bool added; /* no heard row: a receiver the routes give the alert now */
};

struct rep_ctx {
    struct rep_alert *a;
    size_t na;
    struct rep_heard *h;
    size_t nh;
    /* Rules whose events were read for the alerts' newest events: one
     * read per rule and call, however many of its alerts are due. */
    char **rules_read;
    size_t nrules_read;
    /* "fingerprint\x1freceiver" of every notification still pending,
     * sorted; read once per call, when a reminder is first due. */
    char **pend;
    size_t npend;
    bool pend_loaded;
};

static int pend_cb(void *ctx, const char *fp, const char *receiver)
{
    struct rep_ctx *c = ctx;
    struct buf b;

    buf_init(&b, 0);
    buf_printf(&b, "%s\x1f%s", fp, receiver);
    c->pend = xrealloc(c->pend, (c->npend + 1) * sizeof(*c->pend));
    c->pend[c->npend++] = buf_steal(&b);
    return 0;
}

static int pend_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* 1 when a notification of alert fp to receiver is still pending, 0 when
 * none is, -1 on a store error. */
static int rep_pending(struct rep_ctx *c, struct store *s, const char *fp,
                       const char *receiver, struct err *e)
{
    struct buf b;
    char *k;
    bool found;

    if (!c->pend_loaded) {
        if (store_outbox_pending_pairs(s, pend_cb, c, e) < 0)
            return -1;
        if (c->npend > 1)
            qsort(c->pend, c->npend, sizeof(*c->pend), pend_cmp);
        c->pend_loaded = true;
    }
    buf_init(&b, 0);
    buf_printf(&b, "%s\x1f%s", fp, receiver);
    k = buf_steal(&b);
    found = k != NULL && c->npend > 0 &&
            bsearch(&k, c->pend, c->npend, sizeof(*c->pend), pend_cmp);
    free(k);
    return found;
}

static int rep_alert_cb(void *ctx, const struct store_alert *a)
{
    struct rep_ctx *c = ctx;
    struct rep_alert *x;

    c->a = xrealloc(c->a, (c->na + 1) * sizeof(*c->a));
    x = &c->a[c->na++];
    x->fingerprint = xstrdup(a->fingerprint);
    x->rule = xstrdup(a->rule);
    x->severity = xstrdup(a->severity);
    x->labels_json = xstrdup(a->labels_json ? a->labels_json : "{}");
    x->since = a->since;
    x->labels = NULL;
    memset(&x->view, 0, sizeof(x->view));
    x->routed = false;
    memset(&x->picks, 0, sizeof(x->picks));
    x->newest_json = x->newest_event = NULL;
    return 0;
}

static int rep_heard_cb(void *ctx, const struct store_heard *h)
{
    struct rep_ctx *c = ctx;
    struct rep_heard *x;

    c->h = xrealloc(c->h, (c->nh + 1) * sizeof(*c->h));
    x = &c->h[c->nh++];
    x->fingerprint = xstrdup(h->fingerprint);
    x->receiver = xstrdup(h->receiver);
    x->last_notified = h->last_notified;
    x->added = false;
    return 0;
}

static int rep_heard_cmp(const void *a, const void *b)
{
    const struct rep_heard *x = a, *y = b;
    int c = strcmp(x->fingerprint, y->fingerprint);

    return c ? c : strcmp(x->receiver, y->receiver);
}

static int rep_alert_cmp(const void *a, const void *b)
{
    return strcmp(((const struct rep_alert *)a)->fingerprint,
                  ((const struct rep_alert *)b)->fingerprint);
}

/* The alert of fp (c->a sorted by fingerprint), or NULL. */
static struct rep_alert *rep_find_alert(const struct rep_ctx *c, const char *fp)
{
    struct rep_alert key = {.fingerprint = (char *)fp};

    return c->na ? bsearch(&key, c->a, c->na, sizeof(*c->a), rep_alert_cmp)
                 : NULL;
}

static int rep_newest_cb(void *ctx, const struct store_event *ev)
{
    struct rep_alert *a = rep_find_alert(ctx, ev->fingerprint);

    if (a == NULL)
        return 0;
    /* Rows come in time order: the last one kept is the newest. */
    free(a->newest_json);
    free(a->newest_event);
    a->newest_json = xstrdup(ev->json);
    a->newest_event = xstrdup(ev->event);
    return 0;
}

/* Read the events of rule since its oldest firing alert began, once per
 * call, keeping each alert's newest. */
static int rep_read_newest(struct rep_ctx *c, struct store *s, const char *rule,
                           struct err *e)
{
    double since = INFINITY;

    for (size_t i = 0; i < c->nrules_read; i++)
        if (strcmp(c->rules_read[i], rule) == 0)
            return 0;
    for (size_t i = 0; i < c->na; i++)
        if (strcmp(c->a[i].rule, rule) == 0 && c->a[i].since < since)
            since = c->a[i].since;
    c->rules_read =
        xrealloc(c->rules_read, (c->nrules_read + 1) * sizeof(*c->rules_read));
    c->rules_read[c->nrules_read++] = xstrdup(rule);
    return store_events_foreach(s, since, rule, rep_newest_cb, c, e);
}

/* The alert's labels, with `severity` its current one, for matchers. */
static struct label_view *rep_view(struct rep_alert *a)
{
    if (a->labels == NULL) {
        a->labels = cJSON_Parse(a->labels_json);
        a->view.labels = labels_from_json(a->labels, &a->view.n);
        a->view.severity = a->severity;
    }
    return &a->view;
}

/* a->picks: the receivers the current config's routes give alert a. */
static void rep_route(const struct config *cfg, struct rep_alert *a)
{
    if (!a->routed) {
        route_event(cfg, rep_view(a), &a->picks);
        a->routed = true;
    }
}

/* The repeat_interval for receiver idx of alert a under the current config
 * (a reload or restart may have changed the routes): the smallest of the
 * routes that send a's labels and severity to idx, 0 when none does. */
static double rep_interval(const struct config *cfg, struct rep_alert *a,
                           size_t idx)
{
    const struct pick *k;

    rep_route(cfg, a);
    k = picks_find(&a->picks, idx);
    return k && k->routed ? k->repeat : 0;
}

/* The smallest repeat_interval any route or the defaults can give: a
 * receiver notified more recently than that is not due, whatever routes
 * its alert takes. */
static double rep_min_interval(const struct config *cfg)
{
    double m = cfg->repeat_interval > 0 ? cfg->repeat_interval : INFINITY;

    for (size_t i = 0; i < cfg->nroutes; i++)
        if (cfg->routes[i].has_repeat && cfg->routes[i].repeat_interval > 0 &&
            cfg->routes[i].repeat_interval < m)
            m = cfg->routes[i].repeat_interval;
    return m;
}

static void rep_ctx_free(struct rep_ctx *c)
{
    for (size_t i = 0; i < c->na; i++) {
        free(c->a[i].fingerprint);
        free(c->a[i].rule);
        free(c->a[i].severity);
        free(c->a[i].labels_json);
        cJSON_Delete(c->a[i].labels);
        free((void *)c->a[i].view.labels);
        free(c->a[i].picks.v);
    }
    for (size_t i = 0; i < c->nh; i++) {
        free(c->h[i].fingerprint);
        free(c->h[i].receiver);
    }
    for (size_t i = 0; i < c->npend; i++)
        free(c->pend[i]);
    for (size_t i = 0; i < c->na; i++) {
        free(c->a[i].newest_json);
        free(c->a[i].newest_event);
    }
    for (size_t i = 0; i < c->nrules_read; i++)
        free(c->rules_read[i]);
    free(c->rules_read);
    free(c->pend);
    free(c->a);
    free(c->h);
}

/* The reminder interval of h starts again at when (now: a reminder queued,
 * or held back behind a pending notification; -inf: nothing sent yet). */
static int heard_restart(struct store *s, const struct rep_heard *h,
                         double when, double rep, struct err *e)
{
    struct store_heard hp;

    memset(&hp, 0, sizeof(hp));
    hp.fingerprint = h->fingerprint;
    hp.receiver = h->receiver;
    hp.last_notified = when;
    hp.repeat_interval = rep;
    return store_heard_put(s, &hp, e);
}

/* The receivers that the config's routes give a firing alert but that have
 * no heard row (a reload or restart added them to its routes) join c->h as
 * never notified: SPEC section 6 re-notifies "the receivers of its
 * matching routes", and a new one is due at once. Done once per config, as
 * only a config change adds receivers to a firing alert's routes. */
static void rep_add_routed(const struct config *cfg, struct rep_ctx *c)
{
    size_t nh = c->nh;

    if (nh > 1)
        qsort(c->h, nh, sizeof(*c->h), rep_heard_cmp);
    for (size_t i = 0; i < c->na; i++) {
        struct rep_alert *a = &c->a[i];

        rep_route(cfg, a);
        for (size_t j = 0; j < a->picks.n; j++) {
            const struct pick *k = &a->picks.v[j];
            struct rep_heard key, *x;

            if (!k->routed || k->repeat <= 0)
                continue;
            key.fingerprint = a->fingerprint;
            key.receiver = cfg->notifiers[k->idx].name;
            if (nh > 0 &&
                bsearch(&key, c->h, nh, sizeof(*c->h), rep_heard_cmp) != NULL)
                continue;
            c->h = xrealloc(c->h, (c->nh + 1) * sizeof(*c->h));
            x = &c->h[c->nh++];
            x->fingerprint = xstrdup(key.fingerprint);
            x->receiver = xstrdup(key.receiver);
            x->last_notified = -INFINITY;
            x->added = true;
        }
    }
}

/* Does a silence active now match the event of outbox row id? 1 yes, 0
 * no, -1 on a store error. */
static int row_silenced(struct router *r, struct store *s, int64_t id,
                        struct err *e)
{
    char *text = NULL;
    cJSON *payload;
    int rc = store_outbox_payload(s, id, &text, e), hit;

    if (rc != 0 || r->sil.n == 0) {
        free(text);
        return rc < 0 ? -1 : 0;
    }
    payload = cJSON_Parse(text);
    free(text);
    hit = silences_match_payload(&r->sil, payload);
    cJSON_Delete(payload);
    return hit;
}

/* h's alert resolved and n was not told (its cooldown held the resolved
 * back): once the cooldown allows (a reload may have removed it) and no
 * silence matches it, queue that resolved again (a new row: the skipped
 * one stays as the record of the skip) and forget h; a notifier that no
 * longer takes resolved events (a reload) forgets it too. Returns 1 when
 * queued, 0 when not (yet), -1 on a store error. */
static int tell_untold(struct router *r, struct store *s,
                       const struct rep_heard *h, const struct notifier *n,
                       double now, struct err *e)
{
    struct pick k = {.heard = true, .last_notified = h->last_notified};
    bool wanted = n->send_resolved && (n->events_mask & (1u << EV_RESOLVED));
    struct buf key;
    double id = 0;
    char msg[29];
    int rc;

    buf_init(&key, 256);
    alert_meta_key("untold", h->fingerprint, h->receiver, &key);
    rc = store_meta_number(s, buf_str(&key), &id, e);
    buf_cleanup(&key);
    if (rc != 0)
        return rc < 0 ? -1 : 0; /* none held back (an old heard row) */
    if (wanted) {
        if (n->cooldown > 0 &&
            now - cooldown_last(s, h->fingerprint, n->name, &k) < n->cooldown)
            return 0;
        rc = row_silenced(r, s, (int64_t)id, e);
        if (rc != 0)
            return rc < 0 ? -1 : 0; /* told when the silence ends */
        make_key(h->fingerprint, now, "resolved", n->name, "untold", NULL, 1,
                 msg);
        rc = store_outbox_requeue(s, (int64_t)id, msg, now, e);
        if (rc < 0 || (n->cooldown > 0 &&
                       cooldown_mark(s, h->fingerprint, n->name, now, e) < 0))
            return -1;
    } else {
        rc = 1;
    }
    if (untold_set(s, h->fingerprint, n->name, 0, e) < 0 ||
        store_heard_del(s, h->fingerprint, n->name, e) < 0)
        return -1;
    return rc == 0;
}

int router_repeats(struct router *r, struct store *s, double now, int *notified,
                   struct err *e)
{
    const struct config *cfg = r->cfg;
    struct rep_ctx c = {0};
    struct buf b;
    double min_rep;
    int pending = 0, rc = -1;

    if (notified)
        *notified = 0;
    buf_init(&b, 0);
    if (silences_load(&r->sil, s, now, e) < 0)
        goto out;
    /* Collect first, write after: no store writes inside a read cursor. */
    if (store_alerts_foreach(s, rep_alert_cb, &c, e) < 0 ||
        store_heard_foreach(s, NULL, rep_heard_cb, &c, e) < 0)
        goto out;
    if (c.na > 1)
        qsort(c.a, c.na, sizeof(*c.a), rep_alert_cmp);
    if (!r->routes_seen)
        rep_add_routed(cfg, &c);
    min_rep = rep_min_interval(cfg);
    for (size_t i = 0; i < c.nh; i++) {
        const struct rep_heard *h = &c.h[i];
        struct rep_alert *a;
        const struct notifier *n;
        struct outbox_row row;
        enum event_kind ek;
        bool silenced;
        char key[29];
        double rep;
        int idx, added, pend;

        a = rep_find_alert(&c, h->fingerprint);
        idx = config_notifier_index(cfg, h->receiver);
        if (a == NULL && idx >= 0) {
            /* Resolved, and this receiver may not have been told (its
             * cooldown held the resolved back). */
            int rc2 = tell_untold(r, s, h, &cfg->notifiers[idx], now, e);

            if (rc2 < 0)
                goto out;
            pending += rc2;
            r->stats.notifications += (uint64_t)rc2;
            continue;
        }
        if (now - h->last_notified < min_rep)
            continue;
        if (a == NULL || idx < 0)
            continue;
        rep = rep_interval(cfg, a, (size_t)idx);
        if (rep <= 0 || now - h->last_notified < rep)
            continue;
        n = &cfg->notifiers[idx];
        if (n->cooldown > 0) {
            /* A reminder is a delivery too: at most one per cooldown,
             * counting those of the alert's earlier episodes. */
            struct pick k = {.heard = true, .last_notified = h->last_notified};
            if (now - cooldown_last(s, h->fingerprint, n->name, &k) <
                n->cooldown) {
                if (h->added && heard_restart(s, h, -INFINITY, rep, e) < 0)
                    goto out;
                continue;
            }
        }
        /* While an earlier notification of the alert still waits for
         * the receiver (it is down), a reminder would only queue behind
         * it: an outage of a day would end in a burst of reminders. The
         * interval starts again instead, so the next reminder comes one
         * interval after this point, not at once when it is back. */
        pend = rep_pending(&c, s, h->fingerprint, n->name, e);
        if (pend < 0)
            goto out;
        if (pend > 0) {
            /* A receiver never sent anything of this episode stays so:
             * waiting does not make it a hearer of the alert. */
            if (heard_restart(s, h,
                              isfinite(h->last_notified) ? now : -INFINITY, rep,
                              e) < 0)
                goto out;
            continue;
        }
        /* A silenced alert is passed over before its history is read: a
         * silence over thousands of alerts costs a matcher each per tick. */
        silenced = silences_match(&r->sil, rep_view(a));
        if (silenced && !h->added)
            continue;
        /* The newest history event of this alert is what the reminder
         * shows; the row's kind says it is a reminder. */
        if (rep_read_newest(&c, s, a->rule, e) < 0)
            goto out;
        if (a->newest_json == NULL)
            continue;
        if (event_kind_parse(a->newest_event, &ek) == 0 &&
            !(n->events_mask & (1u << ek)))
            continue;
        if (silenced) {
            /* An added receiver keeps its place for when the silence
             * ends. */
            if (heard_restart(s, h, -INFINITY, rep, e) < 0)
                goto out;
            continue;
        }
        memset(&row, 0, sizeof(row));
        row.fingerprint = h->fingerprint;
        row.rule = a->rule;
        row.kind = "repeat";
        row.status = OUTBOX_PENDING;
        /* A receiver never sent anything of this episode (silenced until
         * now, or added by a reload) gets its first mail: later ones thread
         * to it. */
        if (build_row(r->cfg, &row, n->name, now, "repeat", NULL,
                      a->newest_json, a->since, !isfinite(h->last_notified),
                      now, key, &b, e) < 0)
            goto out;
        added = store_outbox_add(s, &row, NULL, e);
        if (added < 0)
            goto out;
        if (added == 0) {
            pending++;
            r->stats.notifications++;
        }
        if (n->cooldown > 0 &&
            cooldown_mark(s, h->fingerprint, n->name, now, e) < 0)
            goto out;
        if (heard_restart(s, h, now, rep, e) < 0)
            goto out;
    }
    if (notified)
        *notified = pending;
    r->routes_seen = true;
    rc = 0;
out:
    rep_ctx_free(&c);
    buf_cleanup(&b);
    return rc;
}
