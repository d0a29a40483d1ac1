/* engine.c - the rule engine: samples to rule series, windows, tier state
 * machines, series severity and events, nodata deadlines (persistence and
 * reload are in engine_persist.c).
 *
 * Data layout, chosen for the per-sample hot path:
 *   metric index  name -> the rules that read it (no rule: the sample is
 *                 counted and dropped before any other work);
 *   sources       metric + sorted labels -> newest timestamp (late samples)
 *                 and a stable 32-bit id (a hash) for rate/increase;
 *   series        (rule, `by` values) -> window, tiers, severity.
 * Nodata deadlines live in an indexed min-heap so the stream clock finds the
 * due ones without scanning every series. */
#include "engine.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/htab.h"
#include "../common/util.h"
#include "engine_int.h"
#include "tier.h"
#include "window.h"

static void tiers_get(const struct series *s, struct tier_run t[SEV_NTIERS])
{
    for (int i = 0; i < SEV_NTIERS; i++) {
        t[i].st = s->tier_st[i];
        t[i].since = s->tier_since[i];
    }
}

static void tiers_put(struct series *s, const struct tier_run t[SEV_NTIERS])
{
    for (int i = 0; i < SEV_NTIERS; i++) {
        s->tier_st[i] = t[i].st;
        s->tier_since[i] = t[i].since;
    }
}

void engine_fp_hex(const struct series *s, char out[17])
{
    static const char hex[] = "0123456789abcdef";
    uint64_t v = s->fp;

    for (int i = 15; i >= 0; i--, v >>= 4)
        out[i] = hex[v & 15];
    out[16] = '\0';
}

/* ---- rule definition hash ---- */

static uint64_t hash_str(uint64_t h, const char *s)
{
    return util_hash64(s, strlen(s) + 1, h);
}

static uint64_t hash_dbl(uint64_t h, double d)
{
    return util_hash64(&d, sizeof(d), h);
}

uint64_t engine_rule_hash(const struct rule *r)
{
    uint64_t h = hash_str(0, r->name);

    for (size_t i = 0; i < r->nmetrics; i++)
        h = hash_str(h, r->metrics[i]);
    for (size_t i = 0; i < r->where.n; i++) {
        h = hash_str(h, r->where.v[i].name);
        h = hash_str(h, r->where.v[i].value);
        h = hash_dbl(h, r->where.v[i].op);
    }
    for (size_t i = 0; i < r->nby; i++)
        h = hash_str(h, r->by[i]);
    h = hash_dbl(h, r->window);
    h = hash_dbl(h, r->agg.kind);
    h = hash_dbl(h, r->agg.param);
    h = hash_dbl(h, r->has_ratio);
    for (size_t i = 0; r->has_ratio && i < r->ratio.n; i++) {
        h = hash_str(h, r->ratio.v[i].name);
        h = hash_str(h, r->ratio.v[i].value);
    }
    for (size_t i = 0; i < r->nlabels; i++) {
        h = hash_str(h, r->labels[i].key);
        h = hash_str(h, r->labels[i].value);
    }
    return h;
}

/* ---- dirty list ---- */

void engine_mark_dirty(struct engine *e, struct series *s, bool state)
{
    if (state)
        s->state_dirty = true;
    else
        s->win_dirty = true;
    if (s->listed)
        return;
    if (e->ndirty == e->capdirty) {
        e->capdirty = e->capdirty ? e->capdirty * 2 : 256;
        e->dirty = xrealloc(e->dirty, e->capdirty * sizeof(*e->dirty));
    }
    e->dirty[e->ndirty++] = s;
    s->listed = true;
}

/* ---- nodata heap ---- */

static double deadline(const struct series *s)
{
    return s->newest + s->rule->nodata_after;
}

/* Heap order: deadline, then series key, so that nodata events due at the
 * same instant come out in the same order after a restore. */
static bool heap_less(const struct series *a, const struct series *b)
{
    double da = deadline(a), db = deadline(b);
    if (da != db)
        return da < db;
    return strcmp(SKEY(a), SKEY(b)) < 0;
}

static void heap_swap(struct engine *e, size_t a, size_t b)
{
    struct series *t = e->heap[a];
    e->heap[a] = e->heap[b];
    e->heap[b] = t;
    e->heap[a]->heap_idx = (uint32_t)a;
    e->heap[b]->heap_idx = (uint32_t)b;
}

static void heap_up(struct engine *e, size_t i)
{
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!heap_less(e->heap[i], e->heap[p]))
            break;
        heap_swap(e, p, i);
        i = p;
    }
}

static void heap_down(struct engine *e, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < e->nheap && heap_less(e->heap[l], e->heap[m]))
            m = l;
        if (r < e->nheap && heap_less(e->heap[r], e->heap[m]))
            m = r;
        if (m == i)
            return;
        heap_swap(e, i, m);
        i = m;
    }
}

static void heap_push(struct engine *e, struct series *s)
{
    if (e->nheap == e->capheap) {
        e->capheap = e->capheap ? e->capheap * 2 : 64;
        e->heap = xrealloc(e->heap, e->capheap * sizeof(*e->heap));
    }
    e->heap[e->nheap] = s;
    s->heap_idx = (uint32_t)e->nheap++;
    heap_up(e, s->heap_idx);
}

static void heap_remove(struct engine *e, struct series *s)
{
    size_t i = s->heap_idx;

    if (s->heap_idx == NO_HEAP)
        return;
    e->nheap--;
    if (i != e->nheap) {
        e->heap[i] = e->heap[e->nheap];
        e->heap[i]->heap_idx = (uint32_t)i;
        heap_down(e, i);
        heap_up(e, i);
    }
    s->heap_idx = NO_HEAP;
}

/* After s->newest moved forward (deadline grew) or s entered the heap. */
void engine_heap_update(struct engine *e, struct series *s)
{
    if (!s->rule->has_nodata)
        return;
    if (s->heap_idx == NO_HEAP)
        heap_push(e, s);
    else
        heap_down(e, s->heap_idx);
}

/* ---- construction ---- */

static struct metric_ent *metric_find(const struct engine *e, const char *name,
                                      uint64_t h)
{
    for (struct hnode *n = htab_bucket(&e->metrics, h); n; n = n->next) {
        struct metric_ent *m = (struct metric_ent *)n;
        if (n->hash == h && strcmp(m->name, name) == 0)
            return m;
    }
    return NULL;
}

static void metric_free_cb(struct hnode *n, void *ctx)
{
    struct metric_ent *m = (struct metric_ent *)n;
    (void)ctx;
    free(m->rules);
    free(m);
}

void engine_build_index(struct engine *e)
{
    htab_foreach(&e->metrics, metric_free_cb, NULL);
    htab_cleanup(&e->metrics);
    free(e->rule_hashes);
    e->rule_hashes = xcalloc(e->cfg->nrules, sizeof(uint64_t));
    for (size_t i = 0; i < e->cfg->nrules; i++) {
        const struct rule *r = &e->cfg->rules[i];
        e->rule_hashes[i] = engine_rule_hash(r);
        for (size_t j = 0; j < r->nmetrics; j++) {
            const char *name = r->metrics[j];
            uint64_t h = util_hash64(name, strlen(name), 0);
            struct metric_ent *m = metric_find(e, name, h);
            if (m == NULL) {
                size_t len = strlen(name);
                m = xcalloc(1, sizeof(*m) + len + 1);
                memcpy(m->name, name, len + 1);
                m->node.hash = h;
                htab_insert(&e->metrics, &m->node);
            }
            if (m->nrules && m->rules[m->nrules - 1] == i)
                continue; /* the same metric listed twice */
            m->rules = xrealloc(m->rules, (m->nrules + 1) * sizeof(size_t));
            m->rules[m->nrules++] = i;
        }
    }
}

struct engine *engine_new(const struct config *cfg)
{
    struct engine *e = xcalloc(1, sizeof(*e));

    e->cfg = cfg;
    htab_init(&e->metrics);
    htab_init(&e->sources);
    htab_init(&e->series);
    buf_init(&e->keybuf, 1 << 20);
    buf_init(&e->annbuf, 1 << 20);
    buf_init(&e->annone, 1 << 20);
    e->clock = -INFINITY;
    e->arrival = NAN;
    engine_build_index(e);
    return e;
}

void engine_series_free(struct series *s)
{
    if (s == NULL)
        return;
    window_free(s->win);
    free(s);
}

static void series_free_cb(struct hnode *n, void *ctx)
{
    (void)ctx;
    engine_series_free((struct series *)n);
}

static void source_forget(struct source *src)
{
    if (src->ncache > 1)
        free(src->cache);
    src->cache = NULL;
    src->ncache = 0;
}

static void source_free_cb(struct hnode *n, void *ctx)
{
    (void)ctx;
    source_forget((struct source *)n);
    free(n);
}

void engine_source_forget_cb(struct hnode *n, void *ctx)
{
    (void)ctx;
    source_forget((struct source *)n);
}

/* The cache slot of rule number i (of nrules) of the metric for src. */
static struct series **source_slot(struct source *src, size_t nrules, size_t i)
{
    if (nrules == 1) {
        if (src->ncache > 1)
            source_forget(src);
        return (struct series **)&src->cache;
    }
    if (src->ncache != nrules) {
        source_forget(src);
        src->cache = xcalloc(nrules, sizeof(struct series *));
        src->ncache = (uint32_t)nrules;
    }
    return &((struct series **)src->cache)[i];
}

void engine_free(struct engine *e)
{
    if (e == NULL)
        return;
    htab_foreach(&e->series, series_free_cb, NULL);
    htab_foreach(&e->sources, source_free_cb, NULL);
    htab_foreach(&e->metrics, metric_free_cb, NULL);
    htab_cleanup(&e->series);
    htab_cleanup(&e->sources);
    htab_cleanup(&e->metrics);
    free(e->rule_hashes);
    free(e->heap);
    free(e->dirty);
    free(e->ann);
    buf_cleanup(&e->keybuf);
    buf_cleanup(&e->annbuf);
    buf_cleanup(&e->annone);
    free(e);
}

/* ---- series lookup and creation ---- */

static bool series_windowless(const struct rule *r)
{
    return r->agg.kind == AGG_LAST && r->window <= 0 && !r->has_ratio;
}

/* Create a series: its event labels are the by labels (by order), the
 * rule's labels (winning on a clash, keeping the first position), then
 * alertname. */
struct series *engine_series_new(struct engine *e, size_t rule_idx,
                                 const char *key, size_t keylen, uint64_t h,
                                 const char *const *byvals)
{
    const struct rule *r = &e->cfg->rules[rule_idx];
    size_t max = r->nby + r->nlabels + 1, n = 0, bytes = keylen + 1;
    const char *lnames[80], *lvals[80], **names = lnames, **vals = lvals;
    struct label lshadow[80], *shadow = lshadow;
    size_t nshadow = 0;
    struct series *s;
    char *p;

    /* Every label, however many: a cut would drop the rule's own labels
     * (routing) and give series that differ past it one fingerprint. */
    if (max > 80) {
        names = xcalloc(max, sizeof(*names));
        vals = xcalloc(max, sizeof(*vals));
        shadow = xcalloc(max, sizeof(*shadow));
    }
    for (size_t i = 0; i < r->nby; i++) {
        if (strcmp(r->by[i], "alertname") == 0)
            continue;
        names[n] = r->by[i];
        vals[n++] = byvals[i];
    }
    for (size_t i = 0; i < r->nlabels; i++) {
        size_t j;
        if (strcmp(r->labels[i].key, "alertname") == 0)
            continue;
        for (j = 0; j < n; j++)
            if (strcmp(names[j], r->labels[i].key) == 0)
                break;
        if (j < n) { /* a by label the rule's label replaces */
            shadow[nshadow].name = names[j];
            shadow[nshadow++].value = vals[j];
        }
        names[j] = r->labels[i].key;
        vals[j] = r->labels[i].value;
        if (j == n)
            n++;
    }
    names[n] = "alertname";
    vals[n++] = r->name;
    for (size_t i = 0; i < n; i++)
        bytes += strlen(names[i]) + strlen(vals[i]) + 2;
    s = xcalloc(1, sizeof(*s) + n * sizeof(struct label) + bytes);
    s->nlabels = (uint32_t)n;
    p = (char *)(SLABELS(s) + n);
    memcpy(p, key, keylen);
    p[keylen] = '\0';
    p += keylen + 1;
    for (size_t i = 0; i < n; i++) {
        size_t a = strlen(names[i]) + 1, b = strlen(vals[i]) + 1;
        memcpy(p, names[i], a);
        SLABELS(s)[i].name = p;
        p += a;
        memcpy(p, vals[i], b);
        SLABELS(s)[i].value = p;
        p += b;
    }
    {
        char hex[17];
        labels_fingerprint_shadowed(r->name, SLABELS(s), s->nlabels, shadow,
                                    nshadow, hex);
        s->fp = strtoull(hex, NULL, 16);
    }
    if (names != lnames) {
        free(names);
        free(vals);
        free(shadow);
    }
    s->rule = r;
    s->node.hash = h;
    s->heap_idx = NO_HEAP;
    s->seen = NAN;
    /* `last` without a window is the newest sample's value: the series
     * keeps it in `value` and needs no window at all. */
    if (!series_windowless(r))
        s->win = window_new(&r->agg, r->window, r->has_ratio);
    htab_insert(&e->series, &s->node);
    e->st.series++;
    e->st.firing[SEV_OK]++;
    return s;
}

struct series *engine_series_find(const struct engine *e, const char *key,
                                  size_t keylen, uint64_t h)
{
    for (struct hnode *n = htab_bucket(&e->series, h); n; n = n->next) {
        struct series *s = (struct series *)n;
        if (n->hash == h && strncmp(SKEY(s), key, keylen) == 0 &&
            SKEY(s)[keylen] == '\0')
            return s;
    }
    return NULL;
}

/* ---- events ---- */

static int emit(struct engine *e, struct series *s, enum severity prev,
                double t, enum event_reason reason, engine_event_fn cb,
                void *ctx)
{
    const struct rule *r = s->rule;
    struct alert_event ev;
    enum severity now = (enum severity)s->sev;
    struct tmpl_ctx tc;
    size_t *offs;

    if (now == prev)
        return 0;
    /* An event's time is what it shows, to the millisecond (SPEC 4): the
     * store, `history --since`, the report's days and the alert's since
     * all use that time, not a finer one. */
    t = util_round_ms(t);
    if (prev == SEV_OK)
        s->starts_at = t;
    e->st.firing[prev]--;
    e->st.firing[now]++;
    e->st.events++;
    engine_mark_dirty(e, s, true);

    memset(&ev, 0, sizeof(ev));
    ev.ts = t;
    ev.rule = r->name;
    ev.labels = SLABELS(s);
    ev.nlabels = s->nlabels;
    ev.severity = now;
    ev.previous = prev;
    if (prev == SEV_OK)
        ev.kind = EV_FIRING;
    else if (now == SEV_OK)
        ev.kind = EV_RESOLVED;
    else if (now > prev)
        ev.kind = EV_ESCALATED;
    else
        ev.kind = EV_DEESCALATED;
    ev.reason = reason;
    ev.has_value = reason != REASON_NODATA && s->has_value;
    ev.value = s->value;
    engine_fp_hex(s, ev.fingerprint);
    ev.starts_at = s->starts_at;

    /* Annotations see everything but themselves: rendered in order, each
     * may refer to the ones before it. */
    if (r->nannotations > e->cap_ann) {
        e->cap_ann = r->nannotations;
        e->ann = xrealloc(e->ann, e->cap_ann * sizeof(*e->ann));
    }
    memset(&tc, 0, sizeof(tc));
    tc.rule = r->name;
    tc.event = event_kind_name(ev.kind);
    tc.severity = severity_name(now);
    tc.previous = severity_name(prev);
    tc.reason = reason == REASON_NODATA ? "nodata" : "threshold";
    tc.fingerprint = ev.fingerprint;
    tc.value = ev.value;
    tc.has_value = ev.has_value;
    tc.ts = t;
    tc.labels = SLABELS(s);
    tc.nlabels = s->nlabels;
    tc.annotations = e->ann;
    buf_reset(&e->annbuf);
    offs = r->nannotations ? xcalloc(r->nannotations, sizeof(size_t)) : NULL;
    for (size_t i = 0; i < r->nannotations; i++) {
        /* Annotation i renders into annone while annbuf, which holds the
         * ones before it (tc.annotations points there), stays put. */
        for (size_t j = 0; j < i; j++) {
            e->ann[j].name = r->annotations[j].name;
            e->ann[j].value =
                e->annbuf.failed ? "" : buf_str(&e->annbuf) + offs[j];
        }
        tc.nannotations = i;
        buf_reset(&e->annone);
        tmpl_render(r->annotations[i].tmpl, &tc, &e->annone);
        offs[i] = e->annbuf.len;
        buf_add(&e->annbuf, buf_str(&e->annone), e->annone.len);
        buf_addc(&e->annbuf, '\0');
    }
    for (size_t i = 0; i < r->nannotations; i++) {
        e->ann[i].name = r->annotations[i].name;
        e->ann[i].value = e->annbuf.failed ? "" : buf_str(&e->annbuf) + offs[i];
    }
    free(offs);
    ev.annotations = e->ann;
    ev.nannotations = r->nannotations;
    if (now == SEV_OK)
        s->starts_at = 0;
    return cb ? cb(ctx, &ev) : 0;
}

/* A series' clock: its newest sample's time, or the timer's later
 * judgement (engine_tick); its events and samples are judged no earlier. */
static double series_clock(const struct series *s)
{
    return s->newest > s->evald ? s->newest : s->evald;
}

/* Where its window stands: at its newest sample, or where an overdue tick
 * moved it. */
static double window_clock(const struct series *s)
{
    return s->newest > s->wt ? s->newest : s->wt;
}

/* Evaluate s: its window's aggregate at tw, its tiers and events at t
 * (t >= tw; the timer may judge a series' timers later than its window,
 * engine_tick). */
static int series_eval(struct engine *e, struct series *s, double t, double tw,
                       engine_event_fn cb, void *ctx)
{
    const struct rule *r = s->rule;
    enum severity prev = (enum severity)s->sev;
    double v;
    struct tier_run run[SEV_NTIERS];
    unsigned char before[SEV_NTIERS];

    if (s->win == NULL) {
        if (!s->has_value)
            return 0;
        v = s->value;
    } else if (window_eval_at(s->win, tw, s->newest, &v) != 0 || isnan(v)) {
        /* No value (NaN, which no threshold can judge, is none either):
         * the tiers hold their state. After nodata (which reset
         * them) that state is ok: the severity they say may differ from
         * the nodata one, an event without a value. */
        if (s->nodata)
            return 0;
        tiers_get(s, run);
        s->sev = (unsigned char)tier_severity(r->tiers, run);
        return emit(e, s, prev, t, REASON_THRESHOLD, cb, ctx);
    }
    s->value = v;
    s->has_value = true;
    tiers_get(s, run);
    memcpy(before, s->tier_st, sizeof(before));
    for (int i = 0; i < SEV_NTIERS; i++)
        if (r->tiers[i].present)
            tier_step(&r->tiers[i], &run[i], t, v);
    tiers_put(s, run);
    if (memcmp(before, s->tier_st, sizeof(before)) != 0)
        engine_mark_dirty(e, s, true);
    if (s->nodata)
        return 0; /* only a sample ends nodata */
    s->sev = (unsigned char)tier_severity(r->tiers, run);
    return emit(e, s, prev, t, REASON_THRESHOLD, cb, ctx);
}

static int series_nodata(struct engine *e, struct series *s, double t,
                         engine_event_fn cb, void *ctx)
{
    enum severity prev = (enum severity)s->sev;

    memset(s->tier_st, 0, sizeof(s->tier_st));
    memset(s->tier_since, 0, sizeof(s->tier_since));
    s->nodata = true;
    /* The value from before the silence is stale: events after it carry
     * a value only once the series has one again. */
    if (s->win != NULL)
        s->has_value = false;
    engine_mark_dirty(e, s, true);
    s->sev = (unsigned char)s->rule->nodata_sev;
    heap_remove(e, s);
    /* Stamped with its deadline, but never before the series' last
     * judgement; and the series' clock is there now: the sample that ends
     * nodata (a backlog stamped before the deadline) is judged no earlier,
     * so its events come after this one (a resolved never ends before the
     * alert it ends began). */
    if (t < s->evald)
        t = s->evald;
    s->evald = t;
    return emit(e, s, prev, t, REASON_NODATA, cb, ctx);
}

/* End s's nodata state: the tiers (reset when nodata began) decide its
 * severity again at its next evaluation, and its deadline is watched. */
static void nodata_end(struct engine *e, struct series *s)
{
    s->nodata = false;
    engine_mark_dirty(e, s, true);
    engine_heap_update(e, s);
}

/* ---- feeding ---- */

struct sample_ctx {
    const struct sample *s;
};

static const char *sample_get(void *ctx, const char *name)
{
    const struct sample *s = ((struct sample_ctx *)ctx)->s;
    return labels_get(s->labels, s->nlabels, name);
}

struct source *engine_source_get(struct engine *e, uint64_t h)
{
    const char *key = buf_str(&e->keybuf);
    size_t len = e->keybuf.len;
    struct source *src;

    for (struct hnode *n = htab_bucket(&e->sources, h); n; n = n->next) {
        src = (struct source *)n;
        if (n->hash == h && src->keylen == len &&
            memcmp(src->key, key, len) == 0)
            return src;
    }
    src = xmalloc(sizeof(*src) + len);
    src->node.hash = h;
    src->newest = -INFINITY;
    src->seen = NAN;
    src->cache = NULL;
    src->ncache = 0;
    src->keylen = (uint32_t)len;
    memcpy(src->key, key, len);
    htab_insert(&e->sources, &src->node);
    e->st.sources++;
    return src;
}

/* The series of rule ri that sample s (of a new source) belongs to, found
 * or created; NOMATCH when the rule's `where` rejects it. */
static struct series *series_for(struct engine *e, size_t ri,
                                 const struct sample *s)
{
    const struct rule *r = &e->cfg->rules[ri];
    struct sample_ctx sc = {s};
    const char *local[32], **byvals;
    struct series *se;
    uint64_t h;

    if (!matcher_set_match(&r->where, sample_get, &sc))
        return NOMATCH;
    byvals = r->nby <= 32 ? local : xcalloc(r->nby, sizeof(*byvals));
    /* Series key: rule name, then the by values. */
    buf_reset(&e->keybuf);
    buf_adds(&e->keybuf, r->name);
    for (size_t i = 0; i < r->nby; i++) {
        const char *v = labels_get(s->labels, s->nlabels, r->by[i]);
        byvals[i] = v ? v : "";
        buf_addc(&e->keybuf, '\x1f');
        buf_adds(&e->keybuf, byvals[i]);
    }
    h = util_hash64(buf_str(&e->keybuf), e->keybuf.len, 7);
    se = engine_series_find(e, buf_str(&e->keybuf), e->keybuf.len, h);
    if (se == NULL)
        se = engine_series_new(e, ri, buf_str(&e->keybuf), e->keybuf.len, h,
                               byvals);
    if (byvals != local)
        free(byvals);
    return se;
}

static int feed_rule(struct engine *e, size_t ri, const struct sample *s,
                     uint64_t src_id, struct series **slot, engine_event_fn cb,
                     void *ctx)
{
    const struct rule *r = &e->cfg->rules[ri];
    struct sample_ctx sc = {s};
    struct series *se = *slot;
    bool num = false;

    if (se == NULL)
        *slot = se = series_for(e, ri, s);
    if (se == NOMATCH)
        return 0;
    e->st.matched++;
    if (r->has_ratio)
        num = matcher_set_match(&r->ratio, sample_get, &sc);
    if (se->win != NULL) {
        window_add(se->win, s->ts, s->value, src_id, num);
    } else if (!se->has_samples || s->ts >= se->newest) {
        se->value = s->value;
        se->has_value = true;
    }
    /* Its cadence: how often its data arrives (a batch, a scrape, a
     * push), from the arrivals this process saw (not across a restart: the
     * first spacing then is the downtime). The longest of the last few
     * spacings: several sources a few ms apart do not pass for a fast
     * cadence, an agent that sends a minute of samples at once arrives
     * once a minute, and an outage leaves the ring after a few arrivals. */
    if (se->fed && !isnan(e->arrival) && !isnan(se->seen) &&
        e->arrival - se->seen > 1e-3)
        se->spacing[se->spacing_at++ % 4] = (float)(e->arrival - se->seen);
    if (!se->has_samples || s->ts > se->newest) {
        se->newest = s->ts;
        se->lag = 0;
        if (!isnan(e->arrival) && e->arrival > s->ts)
            se->lag = e->arrival - s->ts;
    }
    se->has_samples = true;
    se->fed = true;
    se->seen = e->arrival;
    engine_mark_dirty(e, se, false);
    engine_heap_update(e, se);
    /* The next sample ends the nodata state, unless the stream clock is
     * past its deadline even with it (a lagging source's sample older than
     * the silence): the series would be nodata again at once, two events
     * (resolved, firing) that say nothing. */
    if (se->nodata && deadline(se) + UTIL_TIME_EPS >= e->clock)
        nodata_end(e, se);
    /* At its newest sample's time, or at the timer's last judgement when
     * that is later (a sample that came after the timer had judged past
     * its time): a series' events never go back in time. */
    return series_eval(e, se, series_clock(se), window_clock(se), cb, ctx);
}

/* Emit the nodata events of series whose deadline is before t (or at t,
 * when inclusive), in deadline order, each stamped with its deadline. */
static int advance(struct engine *e, double t, bool inclusive,
                   engine_event_fn cb, void *ctx)
{
    while (e->nheap > 0 &&
           (deadline(e->heap[0]) < t - UTIL_TIME_EPS ||
            (inclusive && deadline(e->heap[0]) <= t + UTIL_TIME_EPS))) {
        struct series *s = e->heap[0];
        int rc = series_nodata(e, s, deadline(s), cb, ctx);
        if (rc)
            return rc;
    }
    return 0;
}

static int feed(struct engine *e, const struct sample *s, bool unstamped,
                engine_event_fn cb, void *ctx)
{
    struct sample copy;
    struct metric_ent *m;
    struct source *src;
    uint64_t h;
    double to;
    int rc;

    h = util_hash64(s->metric, strlen(s->metric), 0);
    m = metric_find(e, s->metric, h);
    /* The stream clock reaches s->ts: deadlines before it pass first. Those
     * exactly at it wait until the clock moves on (or engine_advance): any
     * sample at that time, this one or a later line's, may be the one that
     * keeps its series out of nodata. The daemon's clock goes no further
     * than the batch's arrival: a sample stamped ahead of it (an agent's
     * clock) must not pass the deadlines of series still reporting. */
    to = !isnan(e->arrival) && s->ts > e->arrival ? e->arrival : s->ts;
    if (to > e->clock) {
        e->clock = to;
        if ((rc = advance(e, e->clock, false, cb, ctx)) != 0)
            return rc;
    }
    if (m == NULL) {
        e->st.samples++;
        return 0;
    }
    labels_series_key(&e->keybuf, s->metric, s->labels, s->nlabels);
    h = util_hash64(buf_str(&e->keybuf), e->keybuf.len, 1);
    src = engine_source_get(e, h);
    if (s->ts < src->newest && unstamped) {
        copy = *s;
        copy.ts = src->newest;
        s = &copy;
    } else if (s->ts < src->newest) {
        e->st.late++;
        return 1;
    }
    src->newest = s->ts;
    src->seen = e->arrival;
    e->st.samples++;
    for (size_t i = 0; i < m->nrules; i++)
        if ((rc = feed_rule(e, m->rules[i], s, h & WINDOW_SRC_MASK,
                            source_slot(src, m->nrules, i), cb, ctx)) != 0)
            return rc;
    return 0;
}

int engine_feed(struct engine *e, const struct sample *s, engine_event_fn cb,
                void *ctx)
{
    return feed(e, s, false, cb, ctx);
}

int engine_feed_unstamped(struct engine *e, const struct sample *s,
                          engine_event_fn cb, void *ctx)
{
    return feed(e, s, true, cb, ctx);
}

double engine_clock(const struct engine *e)
{
    return e->clock;
}

int engine_advance(struct engine *e, double t, engine_event_fn cb, void *ctx)
{
    if (t > e->clock)
        e->clock = t;
    return advance(e, t, true, cb, ctx);
}

int engine_advance_before(struct engine *e, double t, engine_event_fn cb,
                          void *ctx)
{
    if (t > e->clock)
        e->clock = t;
    return advance(e, t, false, cb, ctx);
}

void engine_collect_cb(struct hnode *n, void *ctx)
{
    struct tick_ctx *tc = ctx;
    tc->list[tc->n++] = (struct series *)n;
}

struct series **engine_series_list(struct engine *e, size_t *n)
{
    struct tick_ctx tc = {0};
    tc.list = xcalloc(e->series.n ? e->series.n : 1, sizeof(struct series *));
    htab_foreach(&e->series, engine_collect_cb, &tc);
    *n = tc.n;
    return tc.list;
}

struct source **engine_sources_list(struct engine *e, size_t *n)
{
    struct tick_ctx tc = {0};
    tc.list = xcalloc(e->sources.n ? e->sources.n : 1, sizeof(void *));
    htab_foreach(&e->sources, engine_collect_cb, &tc);
    *n = tc.n;
    return (struct source **)tc.list;
}

void engine_set_arrival(struct engine *e, double arrival)
{
    e->arrival = arrival;
}

/* How many of its cadences may pass after a series' last arrival before
 * its next one is overdue: it is due one cadence after, give or take the
 * jitter of its producer and of its path here. */
#define ENGINE_DUE_GAPS 1.5

double engine_cadence(const struct series *s)
{
    double c = 0;

    for (size_t k = 0; k < sizeof(s->spacing) / sizeof(s->spacing[0]); k++)
        if (s->spacing[k] > c)
            c = s->spacing[k];
    return c;
}

double engine_tick_time(const struct series *s, double now)
{
    /* The series' own time: its data that comes late (an agent that
     * batches, a file read behind its writer) is judged at now minus that
     * lag, the time its next sample will have, so the timer and the
     * samples agree on what the window holds. */
    double t = now - s->lag, clock = series_clock(s);

    return t > clock ? t : clock;
}

/* Until its next arrival is overdue, the timer takes a series' window
 * where its samples (or an earlier overdue tick) left it, as eval would:
 * a window slid past its oldest sample before the next arrival is read (a
 * scrape is stamped when it begins and read later) would resolve what
 * that arrival fires again. Its timers (for, clear_for) still run at t. */
double engine_window_time(const struct series *s, double t, double now)
{
    if (isnan(s->seen) || now >= s->seen + ENGINE_DUE_GAPS * engine_cadence(s))
        return t;
    return window_clock(s);
}

int engine_tick(struct engine *e, double now, engine_event_fn cb, void *ctx)
{
    size_t n;
    struct series **list;
    int rc = advance(e, now, true, cb, ctx);

    if (rc)
        return rc;
    list = engine_series_list(e, &n);
    for (size_t i = 0; i < n && rc == 0; i++) {
        struct series *s = list[i];
        double t, tw;
        unsigned char sev, st[SEV_NTIERS];

        if (!s->has_samples)
            continue;
        t = engine_tick_time(s, now);
        tw = engine_window_time(s, t, now);
        sev = s->sev;
        memcpy(st, s->tier_st, sizeof(st));
        if (s->nodata) {
            /* A reload (or a restart on a new config) took the rule's
             * nodata away or moved its deadline past now: the tiers, reset
             * when nodata began, say the severity again. */
            if (s->rule->has_nodata && deadline(s) <= now + UTIL_TIME_EPS)
                continue;
            nodata_end(e, s);
        }
        rc = series_eval(e, s, t, tw, cb, ctx);
        /* The series' clock is at t once its window is there or its state
         * changed there (an event, a timer): its later samples are judged
         * no earlier, and its events never go back in time. Only a window
         * the timer moved moves where later ticks take it. (Saved with the
         * series' next save; a state change is one at once.) */
        if (tw >= t)
            s->wt = t;
        if (tw >= t || sev != s->sev || memcmp(st, s->tier_st, sizeof(st)) != 0)
            s->evald = t;
    }
    free(list);
    return rc;
}

void engine_stats(const struct engine *e, struct engine_stats *out)
{
    *out = e->st;
}

int engine_foreach_alert(const struct engine *e, engine_alert_fn cb, void *ctx)
{
    size_t n;
    struct series **list = engine_series_list((struct engine *)e, &n);
    int rc = 0;

    for (size_t i = 0; i < n && rc == 0; i++) {
        struct series *s = list[i];
        if (s->sev == SEV_OK)
            continue;
        char hex[17];
        engine_fp_hex(s, hex);
        rc = cb(ctx, s->rule->name, SLABELS(s), s->nlabels,
                (enum severity)s->sev, s->value, s->has_value && !s->nodata,
                s->starts_at, hex);
    }
    free(list);
    return rc;
}
