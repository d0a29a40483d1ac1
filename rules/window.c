/* window.c - a rule series' sliding window and its aggregate (window.h,
 * SPEC section 4). The engine adds every sample of a series here and then
 * evaluates it. Samples sit in time order in one array with a moving head;
 * each aggregate keeps only the side structure it needs, so an idle window
 * without width is one small struct (the per-series memory budget). */
#include "window.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../common/log.h"
#include "../common/util.h"
#include "quantile.h"

struct wsample {
    double ts;
    double v;
    uint64_t src : 63; /* WINDOW_SRC_MASK: room for num in 8 bytes */
    uint64_t num : 1;
};

/* A time-ordered counter sample of one source (rate, increase). */
struct tv {
    double ts, v;
};

/* A growable array whose live part is [head, head + len): pushing at the
 * back and popping at the front are amortised O(1), inserting in the middle
 * (the rare out-of-order path) moves the tail. */
struct dq {
    void *p;
    uint32_t head, len, cap;
};

#define DQ_AT(d, type, i) (((type *)(d)->p)[(d)->head + (i)])

/* Neumaier-compensated running sum: adding and later subtracting the same
 * values leaves (almost) no residue, and window_eval recomputes from the
 * samples after as many evictions as the window holds, so drift is bounded
 * and cannot accumulate. */
struct ksum {
    double s, c;
};

/* One source series of a rate/increase window. */
struct wsrc {
    uint64_t id;
    uint8_t num;      /* its newest sample's num flag */
    uint32_t evicted; /* pops since incr was recomputed */
    struct dq pts;    /* struct tv, time order */
    struct ksum incr; /* sum of rises between consecutive pts */
};

/* Everything a window with a width needs; allocated at the first sample. */
struct wstate {
    struct dq ring; /* struct wsample, time order, ties in add order */
    uint64_t base;  /* absolute position of the ring's first sample */
    /* min/max: absolute positions whose value beats every later one. */
    struct dq maxq, minq;
    struct ksum sum, sum_num; /* sum, avg, ratio of sum */
    double shift;             /* stddev: sums of (v - shift), (v - shift)^2 */
    struct ksum s1, s2;
    size_t n_num;
    uint32_t removed; /* evictions since the running sums were recomputed */
    int dirty;        /* a non-finite value left: recompute before use */
    size_t apdex_sat, apdex_tol;
    struct qset q;
    struct wsrc *srcs; /* sorted by id */
    uint32_t nsrc, capsrc;
};

struct window {
    struct aggregate agg;
    double width;
    bool ratio;
    bool has_one;       /* width 0: the newest sample is `one` */
    struct wsample one; /* (no heap at all for such windows) */
    struct wstate *st;
};

/* ---- small helpers ---- */

static void ksum_add(struct ksum *k, double x)
{
    double t = k->s + x;
    if (fabs(k->s) >= fabs(x))
        k->c += (k->s - t) + x;
    else
        k->c += (x - t) + k->s;
    k->s = t;
}

/* Magnitude above which a double holds no more integer precision: a value
 * that large leaving a running sum can leave it wrong (see evict_front). */
#define WINDOW_SUM_GIANT 0x1p53

static double ksum_val(const struct ksum *k)
{
    /* Past the double range the correction is -inf: the sum is s. */
    return isfinite(k->s) ? k->s + k->c : k->s;
}

static int dq_reserve(struct dq *d, size_t esz, uint32_t extra)
{
    if ((size_t)d->head + d->len + extra <= d->cap)
        return 0;
    if (d->head > 0 && (size_t)d->len + extra + d->len / 4 <= d->cap) {
        /* Slide down when that frees at least a quarter of the live part:
         * the pushes before the next slide pay for it (<= 4 moves each). */
        memmove(d->p, (char *)d->p + (size_t)d->head * esz,
                (size_t)d->len * esz);
        d->head = 0;
        return 0;
    }
    /* Grow by 1.5: a 5m window at 10s (31 samples) ends at 42 slots. */
    size_t nc = d->cap ? (size_t)d->cap + d->cap / 2 : 4;
    while (nc < (size_t)d->len + extra)
        nc += nc / 2;
    if (nc > UINT32_MAX / 2)
        return -1;
    if (d->head > 0) {
        memmove(d->p, (char *)d->p + (size_t)d->head * esz,
                (size_t)d->len * esz);
        d->head = 0;
    }
    void *np = realloc(d->p, nc * esz);
    if (!np)
        return -1;
    d->p = np;
    d->cap = (uint32_t)nc;
    return 0;
}

/* After pops: give memory back once the live part is an eighth of it. */
static void dq_maybe_shrink(struct dq *d, size_t esz)
{
    if (d->len == 0 && d->cap > 0) {
        free(d->p);
        d->p = NULL;
        d->cap = d->head = 0;
        return;
    }
    if (d->cap <= 16 || d->len >= d->cap / 8)
        return;
    memmove(d->p, (char *)d->p + (size_t)d->head * esz, (size_t)d->len * esz);
    d->head = 0;
    void *np = realloc(d->p, (size_t)(d->cap / 2) * esz);
    if (np) {
        d->p = np;
        d->cap /= 2;
    }
}

/* Insert one element at live index i (room reserved by the caller). */
static void dq_insert_at(struct dq *d, size_t esz, uint32_t i, const void *e)
{
    char *base = (char *)d->p + (size_t)d->head * esz;
    memmove(base + (size_t)(i + 1) * esz, base + (size_t)i * esz,
            (size_t)(d->len - i) * esz);
    memcpy(base + (size_t)i * esz, e, esz);
    d->len++;
}

static void dq_free(struct dq *d)
{
    free(d->p);
    d->p = NULL;
    d->head = d->len = d->cap = 0;
}

static size_t dq_memory(const struct dq *d, size_t esz)
{
    return d->cap ? (size_t)d->cap * esz + 16 : 0;
}

static double rise(double prev, double cur)
{
    return cur >= prev ? cur - prev : cur; /* a drop is a counter reset */
}

static bool agg_uses_sum(enum agg_kind k)
{
    return k == AGG_SUM || k == AGG_AVG;
}

static bool agg_uses_src(enum agg_kind k)
{
    return k == AGG_RATE || k == AGG_INCREASE;
}

/* ---- lifecycle ---- */

struct window *window_new(const struct aggregate *agg, double width, bool ratio)
{
    struct window *w = calloc(1, sizeof(*w));
    if (!w)
        return NULL;
    w->agg = *agg;
    w->width = (width > 0) ? width : 0; /* NaN and negatives: no width */
    /* ratio is defined for sum, count, rate and increase only (config.c
     * rejects it elsewhere); other aggregates ignore the flag. */
    w->ratio = ratio && (agg->kind == AGG_SUM || agg->kind == AGG_COUNT ||
                         agg->kind == AGG_RATE || agg->kind == AGG_INCREASE);
    return w;
}

static void wsrc_free_all(struct wstate *st)
{
    for (uint32_t i = 0; i < st->nsrc; i++)
        dq_free(&st->srcs[i].pts);
    free(st->srcs);
    st->srcs = NULL;
    st->nsrc = st->capsrc = 0;
}

void window_free(struct window *w)
{
    if (!w)
        return;
    if (w->st) {
        dq_free(&w->st->ring);
        dq_free(&w->st->maxq);
        dq_free(&w->st->minq);
        qset_cleanup(&w->st->q);
        wsrc_free_all(w->st);
        free(w->st);
    }
    free(w);
}

/* ---- per-source counters (rate, increase) ---- */

static uint32_t src_find(const struct wstate *st, uint64_t id, bool *found)
{
    uint32_t lo = 0, hi = st->nsrc;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (st->srcs[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = lo < st->nsrc && st->srcs[lo].id == id;
    return lo;
}

static void src_recompute(struct wsrc *s)
{
    s->incr = (struct ksum){0, 0};
    for (uint32_t i = 1; i < s->pts.len; i++)
        ksum_add(&s->incr, rise(DQ_AT(&s->pts, struct tv, i - 1).v,
                                DQ_AT(&s->pts, struct tv, i).v));
    s->evicted = 0;
}

/* Room for one more sample of source id, without changing any state.
 * Returns 0 or -1 (out of memory). */
static int src_reserve(struct wstate *st, uint64_t id, bool *found)
{
    uint32_t i = src_find(st, id, found);
    if (*found)
        return dq_reserve(&st->srcs[i].pts, sizeof(struct tv), 1);
    if (st->nsrc == st->capsrc) {
        uint32_t nc = st->capsrc ? st->capsrc * 2 : 1;
        struct wsrc *ns = realloc(st->srcs, (size_t)nc * sizeof(*ns));
        if (!ns)
            return -1;
        st->srcs = ns;
        st->capsrc = nc;
    }
    return 0;
}

/* Cannot fail after src_reserve(st, id); a new source takes `fresh` (room
 * for 4 points, allocated by the caller) as its first array. */
static void src_add(struct wstate *st, const struct wsample *s, void *fresh)
{
    bool found;
    uint32_t i = src_find(st, s->src, &found);
    if (!found) {
        memmove(&st->srcs[i + 1], &st->srcs[i],
                (size_t)(st->nsrc - i) * sizeof(*st->srcs));
        st->nsrc++;
        struct wsrc *n = &st->srcs[i];
        memset(n, 0, sizeof(*n));
        n->id = s->src;
        n->pts.p = fresh;
        n->pts.cap = 4;
    }
    struct wsrc *ws = &st->srcs[i];
    struct tv e = {s->ts, s->v};
    ws->num = s->num;
    uint32_t len = ws->pts.len;
    if (len == 0 || s->ts >= DQ_AT(&ws->pts, struct tv, len - 1).ts) {
        if (len > 0)
            ksum_add(&ws->incr,
                     rise(DQ_AT(&ws->pts, struct tv, len - 1).v, s->v));
        DQ_AT(&ws->pts, struct tv, len) = e;
        ws->pts.len++;
        return;
    }
    /* A source out of its own order (the engine drops those as late; be
     * correct anyway): insert in time order and recount. */
    uint32_t j = len;
    while (j > 0 && DQ_AT(&ws->pts, struct tv, j - 1).ts > s->ts)
        j--;
    dq_insert_at(&ws->pts, sizeof(struct tv), j, &e);
    src_recompute(ws);
}

/* The oldest sample of source id leaves the window. */
static void src_pop(struct wstate *st, uint64_t id)
{
    bool found;
    uint32_t i = src_find(st, id, &found);
    if (!found)
        return;
    struct wsrc *ws = &st->srcs[i];
    if (ws->pts.len >= 2) {
        double r = rise(DQ_AT(&ws->pts, struct tv, 0).v,
                        DQ_AT(&ws->pts, struct tv, 1).v);
        ksum_add(&ws->incr, -r);
        if (!isfinite(r))
            ws->evicted = UINT32_MAX - 1;
    }
    ws->pts.head++;
    ws->pts.len--;
    if (ws->pts.len == 0) {
        dq_free(&ws->pts);
        memmove(&st->srcs[i], &st->srcs[i + 1],
                (size_t)(st->nsrc - i - 1) * sizeof(*st->srcs));
        st->nsrc--;
        if (st->nsrc == 0) {
            free(st->srcs);
            st->srcs = NULL;
            st->capsrc = 0;
        }
        return;
    }
    if (ws->pts.len == 1)
        ws->incr = (struct ksum){0, 0};
    else if (++ws->evicted > ws->pts.len + 8)
        src_recompute(ws);
    dq_maybe_shrink(&ws->pts, sizeof(struct tv));
}

/* ---- min/max deques ---- */

static double ring_val_at(const struct wstate *st, uint64_t pos)
{
    return DQ_AT(&st->ring, struct wsample, (uint32_t)(pos - st->base)).v;
}

/* Does a beat b for this deque (max: a >= b pops b; min: a <= b)? */
static bool mq_dominates(bool is_max, double a, double b)
{
    return is_max ? a >= b : a <= b;
}

/* The sample at absolute position pos (value v) was appended at the back. */
static void mq_push_back(struct wstate *st, struct dq *q, bool is_max,
                         uint64_t pos, double v)
{
    while (q->len > 0 &&
           mq_dominates(is_max, v,
                        ring_val_at(st, DQ_AT(q, uint64_t, q->len - 1))))
        q->len--;
    DQ_AT(q, uint64_t, q->len) = pos;
    q->len++;
}

/* The sample (value v) was inserted in the middle at absolute position pos;
 * every later sample moved up by one. Keeps the invariant "an entry's value
 * beats every later sample" without a rebuild. */
static void mq_insert_mid(struct wstate *st, struct dq *q, bool is_max,
                          uint64_t pos, double v)
{
    uint32_t lo = 0, hi = q->len;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (DQ_AT(q, uint64_t, mid) < pos)
            lo = mid + 1;
        else
            hi = mid;
    }
    uint32_t j = lo;
    for (uint32_t k = j; k < q->len; k++)
        DQ_AT(q, uint64_t, k)++;
    /* The first entry after pos holds the best of the later samples. */
    if (j < q->len &&
        mq_dominates(is_max, ring_val_at(st, DQ_AT(q, uint64_t, j)), v))
        return;
    uint32_t s = j;
    while (s > 0 &&
           mq_dominates(is_max, v, ring_val_at(st, DQ_AT(q, uint64_t, s - 1))))
        s--;
    uint64_t *arr = &DQ_AT(q, uint64_t, 0);
    if (s < j) {
        /* Entries [s, j) are beaten by v: v takes the first one's place. */
        arr[s] = pos;
        memmove(&arr[s + 1], &arr[j], (size_t)(q->len - j) * sizeof(*arr));
        q->len -= j - s - 1;
    } else {
        dq_insert_at(q, sizeof(uint64_t), j, &pos);
    }
}

/* ---- running sums ---- */

static void sums_recompute(struct wstate *st)
{
    uint32_t n = st->ring.len;
    st->sum = st->sum_num = st->s1 = st->s2 = (struct ksum){0, 0};
    st->n_num = 0;
    double mean = 0;
    for (uint32_t i = 0; i < n; i++)
        mean += DQ_AT(&st->ring, struct wsample, i).v;
    mean = n ? mean / n : 0;
    st->shift = isfinite(mean) ? mean : 0;
    for (uint32_t i = 0; i < n; i++) {
        const struct wsample *s = &DQ_AT(&st->ring, struct wsample, i);
        double d = s->v - st->shift;
        ksum_add(&st->sum, s->v);
        ksum_add(&st->s1, d);
        ksum_add(&st->s2, d * d);
        if (s->num) {
            ksum_add(&st->sum_num, s->v);
            st->n_num++;
        }
    }
    st->removed = 0;
    st->dirty = 0;
}

/* ---- add ---- */

static void single_add(struct window *w, double ts, double v, uint64_t src,
                       bool num)
{
    /* Width 0 keeps the newest sample; a tie goes to the later one. */
    if (w->has_one && ts < w->one.ts)
        return;
    w->one = (struct wsample){ts, v, src & WINDOW_SRC_MASK, num ? 1 : 0};
    w->has_one = true;
}

void window_add(struct window *w, double ts, double v, uint64_t src, bool num)
{
    if (!w || isnan(ts))
        return;
    src &= WINDOW_SRC_MASK;
    if (w->width == 0) {
        single_add(w, ts, v, src, num);
        return;
    }
    if (!w->st) {
        w->st = calloc(1, sizeof(*w->st));
        if (!w->st)
            goto oom;
        qset_init(&w->st->q);
    }
    struct wstate *st = w->st;
    enum agg_kind k = w->agg.kind;
    bool use_mm = k == AGG_MIN || k == AGG_MAX;
    struct dq *mq = k == AGG_MAX ? &st->maxq : &st->minq;
    void *fresh = NULL;

    /* Reserve everything first so a failed allocation changes nothing. */
    if (dq_reserve(&st->ring, sizeof(struct wsample), 1) < 0)
        goto oom;
    if (use_mm && dq_reserve(mq, sizeof(uint64_t), 1) < 0)
        goto oom;
    if (agg_uses_src(k)) {
        bool found;
        if (src_reserve(st, src, &found) < 0)
            goto oom;
        if (!found && !(fresh = malloc(4 * sizeof(struct tv))))
            goto oom;
    }
    if (k == AGG_QUANTILE && qset_insert(&st->q, v) < 0) {
        free(fresh);
        goto oom;
    }

    struct wsample s = {ts, v, src, num ? 1 : 0};
    uint32_t len = st->ring.len;
    if (len == 0)
        st->shift = isfinite(v) ? v : 0;
    if (len == 0 || ts >= DQ_AT(&st->ring, struct wsample, len - 1).ts) {
        DQ_AT(&st->ring, struct wsample, len) = s;
        st->ring.len++;
        if (use_mm)
            mq_push_back(st, mq, k == AGG_MAX, st->base + len, v);
    } else {
        /* Another source is ahead: insert after every sample with ts <= ts
         * (binary search; usually near the back). */
        uint32_t lo = 0, hi = len;
        while (lo < hi) {
            uint32_t mid = lo + (hi - lo) / 2;
            if (DQ_AT(&st->ring, struct wsample, mid).ts <= ts)
                lo = mid + 1;
            else
                hi = mid;
        }
        dq_insert_at(&st->ring, sizeof(struct wsample), lo, &s);
        if (use_mm)
            mq_insert_mid(st, mq, k == AGG_MAX, st->base + lo, v);
    }

    if (agg_uses_sum(k) || w->ratio) {
        ksum_add(&st->sum, v);
        if (num) {
            ksum_add(&st->sum_num, v);
            st->n_num++;
        }
    }
    if (k == AGG_STDDEV) {
        double d = v - st->shift;
        ksum_add(&st->s1, d);
        ksum_add(&st->s2, d * d);
    }
    if (k == AGG_APDEX) {
        if (v <= w->agg.param)
            st->apdex_sat++;
        else if (v <= 4 * w->agg.param)
            st->apdex_tol++;
    }
    if (agg_uses_src(k))
        src_add(st, &s, fresh);
    return;
oom:
    log_warn("window", "out of memory: sample dropped");
}

/* ---- evict and evaluate ---- */

static void evict_front(struct window *w)
{
    struct wstate *st = w->st;
    enum agg_kind k = w->agg.kind;
    const struct wsample s = DQ_AT(&st->ring, struct wsample, 0);

    if (k == AGG_MAX && st->maxq.len &&
        DQ_AT(&st->maxq, uint64_t, 0) == st->base) {
        st->maxq.head++;
        st->maxq.len--;
    }
    if (k == AGG_MIN && st->minq.len &&
        DQ_AT(&st->minq, uint64_t, 0) == st->base) {
        st->minq.head++;
        st->minq.len--;
    }
    if (agg_uses_sum(k) || w->ratio) {
        double before = fabs(st->sum.s);

        ksum_add(&st->sum, -s.v);
        if (s.num) {
            ksum_add(&st->sum_num, -s.v);
            st->n_num--;
        }
        /* A value past the double's integer precision left, and what
         * remains is tiny beside it: the rounding it left behind (in the
         * sum and its compensation) may outweigh the samples still in, so
         * recompute them from the samples. */
        if (fabs(s.v) > WINDOW_SUM_GIANT &&
            fabs(st->sum.s) < fmax(before, fabs(s.v)) * 0x1p-40)
            st->dirty = 1;
    }
    if (k == AGG_STDDEV) {
        double d = s.v - st->shift;
        ksum_add(&st->s1, -d);
        ksum_add(&st->s2, -d * d);
        if (!isfinite(d * d))
            st->dirty = 1; /* inf - inf left NaN in the sums */
    }
    /* A non-finite value left, or the running sums overflowed while it
     * was in (inf stays inf as samples leave): recompute them. */
    if (!isfinite(s.v) || !isfinite(st->sum.s) || !isfinite(st->sum_num.s))
        st->dirty = 1;
    st->removed++;
    if (k == AGG_APDEX) {
        if (s.v <= w->agg.param)
            st->apdex_sat--;
        else if (s.v <= 4 * w->agg.param)
            st->apdex_tol--;
    }
    if (k == AGG_QUANTILE)
        qset_delete(&st->q, s.v);
    if (agg_uses_src(k))
        src_pop(st, s.src);
    st->ring.head++;
    st->ring.len--;
    st->base++;
}

static void evict(struct window *w, double cutoff)
{
    struct wstate *st = w->st;
    uint32_t before = st->ring.len;
    cutoff += UTIL_TIME_EPS; /* (t - width, t]: the edge itself is out */
    while (st->ring.len > 0 && DQ_AT(&st->ring, struct wsample, 0).ts <= cutoff)
        evict_front(w);
    if (st->ring.len == before)
        return;
    if (st->ring.len == 0) {
        /* Empty: reset to exact zeros and give the memory back. */
        st->sum = st->sum_num = st->s1 = st->s2 = (struct ksum){0, 0};
        st->n_num = st->apdex_sat = st->apdex_tol = 0;
        st->removed = 0;
        st->dirty = 0;
        st->maxq.len = st->minq.len = 0;
        dq_maybe_shrink(&st->maxq, sizeof(uint64_t));
        dq_maybe_shrink(&st->minq, sizeof(uint64_t));
    } else if (st->dirty || st->removed > st->ring.len + 16) {
        enum agg_kind k = w->agg.kind;
        if (agg_uses_sum(k) || k == AGG_STDDEV || w->ratio)
            sums_recompute(w->st);
        else
            st->removed = 0;
    }
    dq_maybe_shrink(&st->ring, sizeof(struct wsample));
    dq_maybe_shrink(&st->maxq, sizeof(uint64_t));
    dq_maybe_shrink(&st->minq, sizeof(uint64_t));
}

static int ratio_of(double num, double den, double *out)
{
    if (den == 0 || isnan(den))
        return 1;
    *out = num / den;
    return 0;
}

/* Width 0: the aggregate of one sample. */
static int single_eval(const struct window *w, double *out)
{
    const struct wsample *s = &w->one;
    if (!w->has_one)
        return 1;
    switch (w->agg.kind) {
    case AGG_COUNT:
        if (w->ratio)
            return ratio_of(s->num ? 1 : 0, 1, out);
        *out = 1;
        return 0;
    case AGG_SUM:
        if (w->ratio)
            return ratio_of(s->num ? s->v : 0, s->v, out);
        *out = s->v;
        return 0;
    case AGG_STDDEV:
        *out = isfinite(s->v) ? 0 : NAN;
        return 0;
    case AGG_APDEX:
        *out = s->v <= w->agg.param ? 1 : s->v <= 4 * w->agg.param ? 0.5 : 0;
        return 0;
    case AGG_RATE:
        return 1; /* one sample has no duration */
    case AGG_INCREASE:
        if (w->ratio)
            return 1; /* zero denominator */
        *out = 0;
        return 0;
    case AGG_QUANTILE:
        *out = w->agg.param < 0   ? -INFINITY
               : w->agg.param > 1 ? INFINITY
                                  : s->v;
        return 0;
    default: /* last, min, max, avg */
        *out = s->v;
        return 0;
    }
}

static int src_eval(const struct window *w, double *out)
{
    const struct wstate *st = w->st;
    double inc_all = 0, inc_num = 0, rate_all = 0, rate_num = 0;
    uint32_t nrated = 0;
    for (uint32_t i = 0; i < st->nsrc; i++) {
        const struct wsrc *s = &st->srcs[i];
        double inc = ksum_val(&s->incr);
        if (inc < 0)
            inc = 0; /* rounding residue of a window of equal values */
        inc_all += inc;
        if (s->num)
            inc_num += inc;
        if (s->pts.len < 2)
            continue;
        double dt = DQ_AT(&s->pts, struct tv, s->pts.len - 1).ts -
                    DQ_AT(&s->pts, struct tv, 0).ts;
        /* Unix times as doubles are 0.24 us apart: 100 ms between two
         * samples comes out as 0.10000014 s. On the microsecond grid it is
         * the 0.1 the samples were stamped with. */
        dt = nearbyint(dt * 1e6) / 1e6;
        if (!(dt > 0))
            continue; /* equal timestamps: no duration to divide by */
        nrated++;
        rate_all += inc / dt;
        if (s->num)
            rate_num += inc / dt;
    }
    if (w->agg.kind == AGG_INCREASE) {
        if (w->ratio)
            return ratio_of(inc_num, inc_all, out);
        *out = inc_all;
        return 0;
    }
    if (nrated == 0)
        return 1;
    if (w->ratio)
        return ratio_of(rate_num, rate_all, out);
    *out = rate_all;
    return 0;
}

/* Population standard deviation of the ring: two passes in long double,
 * whose range takes sums and squares of any doubles (the exact answer
 * also where the running sums overflowed). */
static double stddev_exact(const struct wstate *st)
{
    uint32_t n = st->ring.len;
    long double mean = 0, var = 0;

    for (uint32_t i = 0; i < n; i++)
        mean += DQ_AT(&st->ring, struct wsample, i).v;
    mean /= n;
    for (uint32_t i = 0; i < n; i++) {
        long double d = DQ_AT(&st->ring, struct wsample, i).v - mean;
        var += d * d;
    }
    return (double)sqrtl(var / n);
}

/* The sum of the window's samples (only those of the ratio's numerator
 * when num_only) in long double: where the running sum overflowed, an
 * average is still exact and a sum past the double range is inf. */
static long double sum_exact(const struct wstate *st, bool num_only)
{
    long double sum = 0;

    for (uint32_t i = 0; i < st->ring.len; i++) {
        const struct wsample *s = &DQ_AT(&st->ring, struct wsample, i);

        if (!num_only || s->num)
            sum += s->v;
    }
    return sum;
}

/* A window with no sample in it: count, sum and increase are 0 (of no
 * samples, no rises); the others, rate and any ratio (an empty
 * denominator) have no value. */
static int empty_eval(const struct window *w, double *out)
{
    switch (w->agg.kind) {
    case AGG_COUNT:
    case AGG_SUM:
    case AGG_INCREASE:
        if (w->ratio)
            return 1;
        *out = 0;
        return 0;
    default:
        return 1;
    }
}

int window_eval(struct window *w, double t, double *out)
{
    if (!w)
        return 1;
    if (w->width == 0)
        return single_eval(w, out);
    struct wstate *st = w->st;
    if (!st)
        return empty_eval(w, out);
    evict(w, t - w->width);
    uint32_t n = st->ring.len;
    if (n == 0)
        return empty_eval(w, out);
    switch (w->agg.kind) {
    case AGG_LAST:
        *out = DQ_AT(&st->ring, struct wsample, n - 1).v;
        return 0;
    case AGG_MIN:
        *out = ring_val_at(st, DQ_AT(&st->minq, uint64_t, 0));
        return 0;
    case AGG_MAX:
        *out = ring_val_at(st, DQ_AT(&st->maxq, uint64_t, 0));
        return 0;
    case AGG_SUM:
        if (w->ratio) {
            double num = ksum_val(&st->sum_num), den = ksum_val(&st->sum);

            if (!isfinite(num) || !isfinite(den)) {
                long double ln = sum_exact(st, true), ld = sum_exact(st, false);

                if (ld == 0)
                    return 1;
                *out = (double)(ln / ld);
                return 0;
            }
            return ratio_of(num, den, out);
        }
        *out = ksum_val(&st->sum);
        if (!isfinite(*out))
            *out = (double)sum_exact(st, false);
        return 0;
    case AGG_AVG:
        *out = ksum_val(&st->sum) / n;
        if (!isfinite(*out))
            *out = (double)(sum_exact(st, false) / n);
        return 0;
    case AGG_COUNT:
        if (w->ratio)
            return ratio_of((double)st->n_num, n, out);
        *out = n;
        return 0;
    case AGG_STDDEV: {
        /* Small windows (5m at 10s): an exact two-pass costs no more than
         * the running sums and has no cancellation near 0. */
        if (n <= 32) {
            *out = stddev_exact(st);
            return 0;
        }
        double s1 = ksum_val(&st->s1), s2 = ksum_val(&st->s2);
        double m = s1 / n, var = (s2 - s1 * s1 / n) / n;
        /* The sums are of v - shift. When shift is far from the window's
         * mean (an outlier that set it has left, or the level moved), m * m
         * dwarfs the variance and the subtraction cancels the digits that
         * matter: re-base the sums on the samples now in the window. Once
         * re-based, m is rounding noise and this does not fire again. */
        if (m * m > 1e6 * var && fabs(m) > 1e-9 * fabs(st->shift + m)) {
            sums_recompute(st);
            s1 = ksum_val(&st->s1);
            s2 = ksum_val(&st->s2);
            var = (s2 - s1 * s1 / n) / n;
        }
        /* Squares past the double range (values near 1e300): the sums
         * hold inf or NaN; the two-pass says what it can. */
        if (!isfinite(var)) {
            *out = stddev_exact(st);
            return 0;
        }
        *out = var > 0 ? sqrt(var) : 0;
        return 0;
    }
    case AGG_QUANTILE:
        if (qset_quantile(&st->q, w->agg.param, out) != 0)
            *out = NAN; /* every value is NaN */
        return 0;
    case AGG_APDEX:
        *out = ((double)st->apdex_sat + (double)st->apdex_tol / 2) / n;
        return 0;
    case AGG_RATE:
    case AGG_INCREASE:
        return src_eval(w, out);
    }
    return 1;
}

/* Samples window_eval_at copies at most to keep the ones before them. */
#define WINDOW_EVAL_AT_COPY_MAX 4096u

int window_eval_at(struct window *w, double t, double newest, double *out)
{
    struct wstate *st;
    struct window *tw;
    double cutoff;
    uint32_t j = 0;
    int rc;

    if (!w || w->width == 0 || !w->st || !(t > newest))
        return window_eval(w, t, out);
    st = w->st;
    /* What the next sample's evaluation drops anyway. (A series gone
     * quiet keeps its last window: data however late, a backfill, is
     * evaluated over the window it has in sample time.) */
    evict(w, newest - w->width);
    cutoff = t - w->width + UTIL_TIME_EPS;
    while (j < st->ring.len && DQ_AT(&st->ring, struct wsample, j).ts <= cutoff)
        j++;
    /* Nothing to keep; or a window too busy to copy at every tick, where
     * what is kept would be the few samples a sample stamped between its
     * newest and t still sees (the engine's t for a series is the time its
     * next sample should have): let them go. */
    if (j == 0 || st->ring.len - j > WINDOW_EVAL_AT_COPY_MAX)
        return window_eval(w, t, out);
    /* The rest, through a window of its own: every aggregate computed by
     * the same code. */
    tw = window_new(&w->agg, w->width, w->ratio);
    if (!tw)
        return window_eval(w, t, out);
    for (uint32_t i = j; i < st->ring.len; i++) {
        const struct wsample *s = &DQ_AT(&st->ring, struct wsample, i);
        window_add(tw, s->ts, s->v, s->src, s->num);
    }
    rc = window_eval(tw, t, out);
    window_free(tw);
    return rc;
}

size_t window_count(const struct window *w)
{
    if (!w)
        return 0;
    if (w->width == 0)
        return w->has_one ? 1 : 0;
    return w->st ? w->st->ring.len : 0;
}

size_t window_memory(const struct window *w)
{
    if (!w)
        return 0;
    size_t m = sizeof(*w) + 16; /* 16: malloc's header, roughly */
    const struct wstate *st = w->st;
    if (!st)
        return m;
    m += sizeof(*st) + 16;
    m += dq_memory(&st->ring, sizeof(struct wsample));
    m += dq_memory(&st->maxq, sizeof(uint64_t));
    m += dq_memory(&st->minq, sizeof(uint64_t));
    m += qset_memory(&st->q);
    if (st->capsrc)
        m += (size_t)st->capsrc * sizeof(struct wsrc) + 16;
    for (uint32_t i = 0; i < st->nsrc; i++)
        m += dq_memory(&st->srcs[i].pts, sizeof(struct tv));
    return m;
}

/* ---- save / load ----
 * Format v3, little-endian:
 *   "TW" u8 version=3 u8 flags (1: running sums follow the samples),
 *   u32 count, count x { f64 ts, f64 v, u64 src, u8 num (0/1) },
 *   [f64 shift, then sum, sum_num, s1, s2 as f64 pairs (s, c), u32 removed,
 *   u32 dirty], u32 FNV-1a of every byte before it.
 * The running sums carry the rounding of the samples that came and went
 * before; sums rebuilt from the samples alone would differ in the last
 * digit, and a stream replayed in pieces must give exactly the values of
 * one run. v2 (read) is v3 without flags or sums.
 * v1 (read, never written) had u32 src ids, folded from the source's hash;
 * they name no source of today, so such samples count as sources of their
 * own until they leave the window.
 * Samples are all the window needs: a source's increase is rebuilt from its
 * consecutive samples, and the engine keeps src ids stable across restarts. */

#define WSAVE_HDR 8u
#define WSAVE_SUM 4u
#define WSAVE_VERSION 3u
#define WSAVE_SUMS (9u * 8u + 2u * 4u)

/* Record size of format version v (1, 2 or 3). */
static size_t wsave_rec(unsigned v)
{
    return v == 1 ? 21u : 25u;
}

static void put_u32(unsigned char *p, uint32_t x)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(x >> (8 * i));
}

static void put_u64(unsigned char *p, uint64_t x)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(x >> (8 * i));
}

static void put_f64(unsigned char *p, double d)
{
    uint64_t x;
    memcpy(&x, &d, sizeof(x));
    put_u64(p, x);
}

static uint64_t get_u64(const unsigned char *p)
{
    uint64_t x = 0;
    for (int i = 0; i < 8; i++)
        x |= (uint64_t)p[i] << (8 * i);
    return x;
}

static uint32_t get_u32(const unsigned char *p)
{
    uint32_t x = 0;
    for (int i = 0; i < 4; i++)
        x |= (uint32_t)p[i] << (8 * i);
    return x;
}

static double get_f64(const unsigned char *p)
{
    uint64_t x = get_u64(p);
    double d;
    memcpy(&d, &x, sizeof(d));
    return d;
}

static uint32_t fnv1a(const unsigned char *p, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 16777619u;
    }
    return h;
}

int window_save(const struct window *w, struct buf *out)
{
    if (!w || !out)
        return -1;
    size_t n = window_count(w), rec = wsave_rec(WSAVE_VERSION);
    if (n > (UINT32_MAX - WSAVE_HDR - WSAVE_SUM) / rec)
        return -1;
    const struct wstate *st = w->width == 0 ? NULL : w->st;
    size_t total = WSAVE_HDR + n * rec + (st ? WSAVE_SUMS : 0) + WSAVE_SUM;
    unsigned char *p = malloc(total);
    if (!p)
        return -1;
    p[0] = 'T';
    p[1] = 'W';
    p[2] = WSAVE_VERSION;
    p[3] = st ? 1 : 0;
    put_u32(p + 4, (uint32_t)n);
    for (size_t i = 0; i < n; i++) {
        const struct wsample *s =
            w->width == 0 ? &w->one
                          : &DQ_AT(&w->st->ring, struct wsample, (uint32_t)i);
        unsigned char *r = p + WSAVE_HDR + i * rec;
        put_f64(r, s->ts);
        put_f64(r + 8, s->v);
        put_u64(r + 16, s->src);
        r[24] = s->num;
    }
    if (st) {
        unsigned char *q = p + WSAVE_HDR + n * rec;
        const struct ksum *k[4] = {&st->sum, &st->sum_num, &st->s1, &st->s2};

        put_f64(q, st->shift);
        for (int i = 0; i < 4; i++) {
            put_f64(q + 8 + 16 * i, k[i]->s);
            put_f64(q + 16 + 16 * i, k[i]->c);
        }
        put_u32(q + 72, st->removed);
        put_u32(q + 76, (uint32_t)st->dirty);
    }
    put_u32(p + total - WSAVE_SUM, fnv1a(p, total - WSAVE_SUM));
    int rc = buf_add(out, p, total);
    free(p);
    return rc < 0 ? -1 : 0;
}

struct window *window_load(const struct aggregate *agg, double width,
                           bool ratio, const void *data, size_t len)
{
    const unsigned char *p = data;
    if (!agg || !p || len < WSAVE_HDR + WSAVE_SUM)
        return NULL;
    if (p[0] != 'T' || p[1] != 'W' || p[2] < 1 || p[2] > 3 ||
        p[3] > (p[2] == 3 ? 1 : 0))
        return NULL;
    size_t rec = wsave_rec(p[2]), nf = rec - 1; /* the num flag's offset */
    size_t sums = p[3] ? WSAVE_SUMS : 0;
    uint32_t n = get_u32(p + 4);
    if (len < WSAVE_HDR + sums + WSAVE_SUM ||
        (len - WSAVE_HDR - sums - WSAVE_SUM) / rec != n ||
        (len - WSAVE_HDR - sums - WSAVE_SUM) % rec != 0)
        return NULL;
    if (get_u32(p + len - WSAVE_SUM) != fnv1a(p, len - WSAVE_SUM))
        return NULL;
    double prev = -INFINITY;
    for (uint32_t i = 0; i < n; i++) {
        const unsigned char *r = p + WSAVE_HDR + (size_t)i * rec;
        double ts = get_f64(r);
        /* Saved in time order; anything else is not ours. */
        if (isnan(ts) || ts < prev || r[nf] > 1)
            return NULL;
        prev = ts;
    }
    struct window *w = window_new(agg, width, ratio);
    if (!w)
        return NULL;
    for (uint32_t i = 0; i < n; i++) {
        const unsigned char *r = p + WSAVE_HDR + (size_t)i * rec;
        uint64_t src = rec == 21u ? get_u32(r + 16) : get_u64(r + 16);
        window_add(w, get_f64(r), get_f64(r + 8), src, r[nf]);
    }
    if (window_count(w) != (w->width == 0 ? (n > 0) : n)) {
        window_free(w); /* out of memory part way */
        return NULL;
    }
    if (sums && w->st) {
        const unsigned char *q = p + WSAVE_HDR + (size_t)n * rec;
        struct ksum got[4];
        double shift = get_f64(q);
        bool fits = isfinite(shift);

        for (int i = 0; i < 4; i++) {
            got[i].s = get_f64(q + 8 + 16 * i);
            got[i].c = get_f64(q + 16 + 16 * i);
            fits = fits && isfinite(got[i].s) && isfinite(got[i].c);
        }
        /* The sums the aggregate reads differ from the ones just rebuilt
         * in their last digits only; others (a damaged blob) are not
         * taken. */
        if (fits && (agg_uses_sum(w->agg.kind) || w->ratio)) {
            for (int i = 0; i < 2; i++) {
                double want = ksum_val(i == 0 ? &w->st->sum : &w->st->sum_num);
                if (isfinite(want) && fabs(ksum_val(&got[i]) - want) >
                                          1e-9 * fmax(1.0, fabs(want)))
                    fits = false;
            }
        }
        if (fits && w->agg.kind == AGG_STDDEV && n > 0) {
            double s1 = ksum_val(&got[2]), s2 = ksum_val(&got[3]);
            double var = (s2 - s1 * s1 / n) / n, sd = stddev_exact(w->st);

            if (isfinite(sd) && fabs(var - sd * sd) >
                                    1e-6 * fmax(1.0, sd * sd) + 1e-9 * fabs(s2))
                fits = false;
        }
        if (fits) {
            w->st->shift = shift;
            w->st->sum = got[0];
            w->st->sum_num = got[1];
            w->st->s1 = got[2];
            w->st->s2 = got[3];
            w->st->removed = get_u32(q + 72);
            w->st->dirty = get_u32(q + 76) != 0;
        }
    }
    return w;
}
