/* engine_persist.c - the engine's memory: series state and windows as
 * versioned blobs for the store (engine_save, engine_restore), the source
 * table's late-sample clock, and engine_reload, which keeps the series of
 * unchanged rules across a config swap. Called through engine.h by the
 * pipeline. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/util.h"
#include "engine_int.h"
#include "window.h"

/* ---- persistence ----
 * Series blob (little-endian, host doubles):
 *   u8 version, u64 engine_rule_hash, u8 sev, u8 nodata, u8 has_samples,
 *   u8 has_value, f64 newest, f64 starts_at, f64 value,
 *   3 x (u8 state, f64 since), u32 nby, nby x (u32 len, bytes),
 *   u32 window_len, window bytes,
 *   then the daemon's timing of the series, f64 lag, f64 gap, f64 evald,
 *   f64 wt (absent in blobs of older versions: 0).
 * The sources blob: u8 version, u32 n, n x (u32 len, key bytes, f64 newest),
 * then f64 clock (the stream clock, which samples no rule reads move too;
 * absent in blobs of older versions). */

static void put_u8(struct buf *b, unsigned v)
{
    unsigned char c = (unsigned char)v;
    buf_add(b, &c, 1);
}

static void put_u32(struct buf *b, uint32_t v)
{
    buf_add(b, &v, sizeof(v));
}

static void put_f64(struct buf *b, double v)
{
    buf_add(b, &v, sizeof(v));
}

struct rd {
    const unsigned char *p;
    size_t n;
    int bad;
};

static const void *rd_take(struct rd *r, size_t n)
{
    const void *p = r->p;
    if (r->bad || r->n < n) {
        r->bad = 1;
        return NULL;
    }
    r->p += n;
    r->n -= n;
    return p;
}

static unsigned rd_u8(struct rd *r)
{
    const unsigned char *p = rd_take(r, 1);
    return p ? *p : 0;
}

static uint32_t rd_u32(struct rd *r)
{
    uint32_t v = 0;
    const void *p = rd_take(r, sizeof(v));
    if (p)
        memcpy(&v, p, sizeof(v));
    return v;
}

static uint64_t rd_u64(struct rd *r)
{
    uint64_t v = 0;
    const void *p = rd_take(r, sizeof(v));
    if (p)
        memcpy(&v, p, sizeof(v));
    return v;
}

static double rd_f64(struct rd *r)
{
    double v = 0;
    const void *p = rd_take(r, sizeof(v));
    if (p)
        memcpy(&v, p, sizeof(v));
    return v;
}

/* The i-th by value of a series key ("rule\x1fv0\x1fv1..."). */
static const char *key_field(const char *key, size_t i, size_t *len)
{
    const char *k = strchr(key, '\x1f');
    for (size_t j = 0; k && j < i; j++)
        k = strchr(k + 1, '\x1f');
    if (k == NULL) {
        *len = 0;
        return "";
    }
    k++;
    *len = strcspn(k, "\x1f");
    return k;
}

static int series_blob_v(const struct engine *e, const struct series *s,
                         struct buf *b)
{
    const struct rule *r = s->rule;
    struct buf w;
    uint64_t rh = e->rule_hashes[r - e->cfg->rules];

    buf_reset(b);
    put_u8(b, BLOB_VERSION);
    buf_add(b, &rh, sizeof(rh));
    put_u8(b, s->sev);
    put_u8(b, s->nodata);
    put_u8(b, s->has_samples);
    put_u8(b, s->has_value);
    put_f64(b, s->newest);
    put_f64(b, s->starts_at);
    put_f64(b, s->value);
    for (int i = 0; i < SEV_NTIERS; i++) {
        put_u8(b, s->tier_st[i]);
        put_f64(b, s->tier_since[i]);
    }
    put_u32(b, (uint32_t)r->nby);
    for (size_t i = 0; i < r->nby; i++) {
        size_t len;
        const char *v = key_field(SKEY(s), i, &len);
        put_u32(b, (uint32_t)len);
        buf_add(b, v, len);
    }
    buf_init(&w, 256 << 20);
    if (s->win != NULL && window_save(s->win, &w) < 0) {
        buf_cleanup(&w);
        return -1;
    }
    put_u32(b, (uint32_t)w.len);
    buf_add(b, buf_str(&w), w.len);
    buf_cleanup(&w);
    /* How late its data comes, its cadence and the timer's last judgement
     * survive a restart: the first tick after it judges the series where
     * the one before would have, not at the wall clock. */
    put_f64(b, s->lag);
    put_f64(b, engine_cadence(s));
    put_f64(b, s->evald);
    put_f64(b, s->wt);
    return b->failed ? -1 : 0;
}

static int save_sources(struct engine *e, engine_put_fn put, void *ctx)
{
    struct buf b;
    size_t n;
    struct source **list = engine_sources_list(e, &n);
    int rc;

    buf_init(&b, (size_t)1 << 30);
    put_u8(&b, BLOB_VERSION);
    put_u32(&b, (uint32_t)n);
    for (size_t i = 0; i < n; i++) {
        put_u32(&b, (uint32_t)list[i]->keylen);
        buf_add(&b, list[i]->key, list[i]->keylen);
        put_f64(&b, list[i]->newest);
    }
    put_f64(&b, e->clock);
    free(list);
    rc = b.failed ? -1 : put(ctx, SOURCES_KEY, "", "", buf_str(&b), b.len);
    buf_cleanup(&b);
    return rc;
}

/* A commit (with_windows false) saves the series whose tier state changed
 * and that are active or were saved before; a checkpoint (with_windows)
 * also saves every series that received samples since its last save. Both
 * walk only the dirty list; `all` walks every series (tests, tools). */
int engine_save(struct engine *e, bool with_windows, bool all,
                engine_put_fn put, void *ctx)
{
    struct series **list;
    size_t n, keep = 0;
    struct buf b;
    int rc = 0;

    if (all) {
        list = engine_series_list(e, &n);
    } else {
        list = e->dirty;
        n = e->ndirty;
    }
    buf_init(&b, 256 << 20);
    for (size_t i = 0; i < n; i++) {
        struct series *s = list[i];
        bool active = s->sev != SEV_OK || s->nodata || s->tier_st[0] ||
                      s->tier_st[1] || s->tier_st[2];
        bool want;

        if (all)
            want = s->has_samples || active;
        else if (with_windows)
            want = s->state_dirty || s->win_dirty;
        else
            want = s->state_dirty && (active || s->saved);
        if (want && rc == 0) {
            char hex[17];
            engine_fp_hex(s, hex);
            if (series_blob_v(e, s, &b) < 0 ||
                put(ctx, SKEY(s), s->rule->name, hex, buf_str(&b), b.len) !=
                    0) {
                rc = -1;
            } else {
                s->state_dirty = false;
                s->win_dirty = false;
                s->saved = true;
            }
        } else if (!want && !with_windows && s->state_dirty) {
            /* Not worth a row (ok and never saved): nothing to remember. */
            s->state_dirty = false;
        }
        if (!all) {
            /* Still dirty (a window not yet checkpointed, or a failed put):
             * keep it listed for the next save. */
            if (s->state_dirty || s->win_dirty)
                list[keep++] = s;
            else
                s->listed = false;
        }
    }
    if (all)
        free(list);
    else
        e->ndirty = keep;
    buf_cleanup(&b);
    if (rc == 0 && with_windows)
        rc = save_sources(e, put, ctx);
    return rc;
}

int engine_save_sources(struct engine *e, engine_put_fn put, void *ctx)
{
    return save_sources(e, put, ctx);
}

static int restore_sources(struct engine *e, struct rd *r, struct err *err)
{
    uint32_t n;

    if (rd_u8(r) != BLOB_VERSION) {
        err_set(err, "engine: unknown sources blob version");
        return -1;
    }
    n = rd_u32(r);
    for (uint32_t i = 0; i < n && !r->bad; i++) {
        uint32_t len = rd_u32(r);
        const char *k = rd_take(r, len);
        double newest = rd_f64(r);
        struct source *src;
        if (r->bad)
            break;
        buf_reset(&e->keybuf);
        buf_add(&e->keybuf, k, len);
        src = engine_source_get(e, util_hash64(k, len, 1));
        if (newest > src->newest)
            src->newest = newest;
        if (newest > e->clock)
            e->clock = newest;
    }
    if (r->bad) {
        err_set(err, "engine: truncated sources blob");
        return -1;
    }
    if (r->n >= 8) {
        double clock = rd_f64(r);
        if (clock > e->clock)
            e->clock = clock;
    }
    return 0;
}

int engine_restore(struct engine *e, const char *key, const void *blob,
                   size_t len, struct err *err)
{
    struct rd r = {blob, len, 0};
    const char *sep;
    const struct rule *rule = NULL;
    size_t ri = 0, nby;
    uint64_t rh;
    const char **byvals;
    char **bystore;
    struct series *s;
    uint32_t wlen;
    const void *wp;
    double cadence = 0;
    struct series tmp;

    if (strcmp(key, SOURCES_KEY) == 0)
        return restore_sources(e, &r, err);
    sep = strchr(key, '\x1f');
    for (size_t i = 0; i < e->cfg->nrules; i++) {
        size_t nl = sep ? (size_t)(sep - key) : strlen(key);
        if (strlen(e->cfg->rules[i].name) == nl &&
            strncmp(e->cfg->rules[i].name, key, nl) == 0) {
            rule = &e->cfg->rules[i];
            ri = i;
            break;
        }
    }
    if (rule == NULL)
        return 1;
    if (rd_u8(&r) != BLOB_VERSION) {
        err_set(err, "engine: series %s: unknown blob version", rule->name);
        return -1;
    }
    rh = rd_u64(&r);
    if (rh != e->rule_hashes[ri])
        return 1; /* the rule changed: start fresh */
    memset(&tmp, 0, sizeof(tmp));
    tmp.sev = (unsigned char)rd_u8(&r);
    tmp.nodata = rd_u8(&r) != 0;
    tmp.has_samples = rd_u8(&r) != 0;
    tmp.has_value = rd_u8(&r) != 0;
    tmp.newest = rd_f64(&r);
    tmp.starts_at = rd_f64(&r);
    tmp.value = rd_f64(&r);
    for (int i = 0; i < SEV_NTIERS; i++) {
        tmp.tier_st[i] = (unsigned char)rd_u8(&r);
        tmp.tier_since[i] = rd_f64(&r);
    }
    nby = rd_u32(&r);
    if (r.bad || nby != rule->nby || tmp.sev > SEV_CRITICAL) {
        err_set(err, "engine: series %s: corrupt state", rule->name);
        return -1;
    }
    bystore = xcalloc(nby + 1, sizeof(*bystore));
    byvals = xcalloc(nby + 1, sizeof(*byvals));
    for (size_t i = 0; i < nby; i++) {
        uint32_t l = rd_u32(&r);
        const char *p = rd_take(&r, l);

        /* A length past the blob's end (a damaged store) allocates
         * nothing: only bytes that are there are copied. */
        if (p == NULL)
            l = 0;
        bystore[i] = xmalloc((size_t)l + 1);
        if (l > 0)
            memcpy(bystore[i], p, l);
        bystore[i][l] = '\0';
        byvals[i] = bystore[i];
    }
    wlen = rd_u32(&r);
    wp = rd_take(&r, wlen);
    if (!r.bad && r.n >= 4 * sizeof(double)) {
        tmp.lag = rd_f64(&r);
        cadence = rd_f64(&r);
        tmp.evald = rd_f64(&r);
        tmp.wt = rd_f64(&r);
        /* Damaged numbers are unknown ones. */
        if (!(tmp.lag >= 0 && tmp.lag < 1e12))
            tmp.lag = 0;
        if (!(cadence >= 0 && cadence < 1e12))
            cadence = 0;
        /* Not more than a year past the series' newest sample: a damaged
         * number would stamp every later event. */
        if (!isfinite(tmp.evald) || tmp.evald > tmp.newest + 366 * 86400.0)
            tmp.evald = 0;
        if (!isfinite(tmp.wt) || tmp.wt > tmp.newest + 366 * 86400.0)
            tmp.wt = 0;
    }
    if (r.bad) {
        for (size_t i = 0; i < nby; i++)
            free(bystore[i]);
        free(bystore);
        free(byvals);
        err_set(err, "engine: series %s: truncated state", rule->name);
        return -1;
    }
    buf_reset(&e->keybuf);
    buf_adds(&e->keybuf, rule->name);
    for (size_t i = 0; i < nby; i++) {
        buf_addc(&e->keybuf, '\x1f');
        buf_adds(&e->keybuf, byvals[i]);
    }
    {
        uint64_t h = util_hash64(buf_str(&e->keybuf), e->keybuf.len, 7);
        s = engine_series_find(e, buf_str(&e->keybuf), e->keybuf.len, h);
        if (s == NULL)
            s = engine_series_new(e, ri, buf_str(&e->keybuf), e->keybuf.len, h,
                                  byvals);
    }
    for (size_t i = 0; i < nby; i++)
        free(bystore[i]);
    free(bystore);
    free(byvals);
    if (wlen > 0) {
        struct window *w =
            window_load(&rule->agg, rule->window, rule->has_ratio, wp, wlen);
        if (w == NULL) {
            err_set(err, "engine: series %s: corrupt window", rule->name);
            return -1;
        }
        window_free(s->win);
        s->win = w;
    }
    e->st.firing[s->sev]--;
    s->sev = tmp.sev;
    e->st.firing[s->sev]++;
    s->nodata = tmp.nodata;
    s->has_samples = tmp.has_samples;
    s->has_value = tmp.has_value;
    s->newest = tmp.newest;
    s->starts_at = tmp.starts_at;
    s->value = tmp.value;
    s->lag = tmp.lag;
    /* The cadence saved stands for the spacings until new ones come. */
    memset(s->spacing, 0, sizeof(s->spacing));
    s->spacing[0] = (float)cadence;
    s->spacing_at = 1;
    s->evald = tmp.evald;
    s->wt = tmp.wt;
    memcpy(s->tier_st, tmp.tier_st, sizeof(s->tier_st));
    memcpy(s->tier_since, tmp.tier_since, sizeof(s->tier_since));
    s->saved = true;
    s->state_dirty = false;
    if (s->newest > e->clock)
        e->clock = s->newest;
    if (s->has_samples && !s->nodata)
        engine_heap_update(e, s);
    return 0;
}

/* ---- reload ---- */

struct reload_ctx {
    struct engine *e;
    struct htab keep;
};

static void reload_cb(struct hnode *n, void *ctx)
{
    struct reload_ctx *rc = ctx;
    struct series *s = (struct series *)n;
    struct engine *e = rc->e;
    size_t i;

    for (i = 0; i < e->cfg->nrules; i++)
        if (strcmp(e->cfg->rules[i].name, s->rule->name) == 0)
            break;
    /* s->rule still points into the old config, alive until we return. */
    if (i == e->cfg->nrules || e->rule_hashes[i] != engine_rule_hash(s->rule)) {
        e->st.firing[s->sev]--;
        e->st.series--;
        engine_series_free(s);
        return;
    }
    s->rule = &e->cfg->rules[i];
    s->heap_idx = NO_HEAP;
    s->listed = false;
    if (s->state_dirty || s->win_dirty)
        engine_mark_dirty(e, s, s->state_dirty);
    htab_insert(&rc->keep, n);
}

void engine_reload(struct engine *e, const struct config *cfg)
{
    struct reload_ctx rc;
    struct htab old = e->series;
    size_t n;
    struct series **list;

    /* Rule names are compared before the old config goes away: the caller
     * frees the old config only after this returns. */
    e->cfg = cfg;
    engine_build_index(e);
    rc.e = e;
    htab_init(&rc.keep);
    e->nheap = 0;
    e->ndirty = 0; /* rebuilt from the series that survive */
    /* Cached series pointers may dangle now, and rule numbers moved. */
    htab_foreach(&e->sources, engine_source_forget_cb, NULL);
    htab_foreach(&old, reload_cb, &rc);
    htab_cleanup(&old);
    e->series = rc.keep;
    list = engine_series_list(e, &n);
    for (size_t i = 0; i < n; i++)
        if (list[i]->has_samples && !list[i]->nodata)
            engine_heap_update(e, list[i]);
    free(list);
}
