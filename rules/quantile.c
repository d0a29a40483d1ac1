/* quantile.c - order-statistics multiset of doubles (see quantile.h), used
 * by window.c for exact pNN over large windows. A list of sorted blocks
 * (like Python's sortedcontainers): small windows live in one block that is
 * a plain sorted array; a 1-sample/ms 5m window is ~600 blocks. */
#include "quantile.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Split a block at this many values; merge neighbours below half of it. */
#define QBLOCK_MAX 512u
#define QBLOCK_MIN_CAP 4u

struct qblock {
    double *v;
    uint32_t n, cap;
};

void qset_init(struct qset *q)
{
    q->b = NULL;
    q->nb = q->capb = 0;
    q->n = 0;
}

void qset_cleanup(struct qset *q)
{
    for (uint32_t i = 0; i < q->nb; i++)
        free(q->b[i].v);
    free(q->b);
    qset_init(q);
}

/* First index in v[0..n) whose value is > x (upper) or >= x (lower). */
static uint32_t q_bound(const double *v, uint32_t n, double x, int upper)
{
    uint32_t lo = 0, hi = n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (upper ? v[mid] <= x : v[mid] < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* First block whose largest value is >= x, or nb when none is. */
static uint32_t q_find_block(const struct qset *q, double x)
{
    uint32_t lo = 0, hi = q->nb;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        const struct qblock *bk = &q->b[mid];
        if (bk->v[bk->n - 1] < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int q_reserve_blocks(struct qset *q, uint32_t need)
{
    if (need <= q->capb)
        return 0;
    uint32_t nc = q->capb ? q->capb * 2 : 1;
    while (nc < need)
        nc *= 2;
    struct qblock *nb = realloc(q->b, (size_t)nc * sizeof(*nb));
    if (!nb)
        return -1;
    q->b = nb;
    q->capb = nc;
    return 0;
}

static int q_block_grow(struct qblock *bk, uint32_t need)
{
    if (need <= bk->cap)
        return 0;
    uint32_t nc = bk->cap ? bk->cap * 2 : QBLOCK_MIN_CAP;
    while (nc < need)
        nc *= 2;
    double *nv = realloc(bk->v, (size_t)nc * sizeof(*nv));
    if (!nv)
        return -1;
    bk->v = nv;
    bk->cap = nc;
    return 0;
}

/* Split full block i into two halves. Returns 0 or -1 (unchanged). */
static int q_split(struct qset *q, uint32_t i)
{
    if (q_reserve_blocks(q, q->nb + 1) < 0)
        return -1;
    struct qblock nbk = {NULL, 0, 0};
    uint32_t half = q->b[i].n / 2;
    uint32_t moved = q->b[i].n - half;
    if (q_block_grow(&nbk, QBLOCK_MAX) < 0)
        return -1;
    memcpy(nbk.v, q->b[i].v + half, (size_t)moved * sizeof(double));
    nbk.n = moved;
    q->b[i].n = half;
    memmove(&q->b[i + 2], &q->b[i + 1],
            (size_t)(q->nb - i - 1) * sizeof(*q->b));
    q->b[i + 1] = nbk;
    q->nb++;
    return 0;
}

int qset_insert(struct qset *q, double x)
{
    if (isnan(x))
        return 0;
    if (q->nb == 0) {
        if (q_reserve_blocks(q, 1) < 0)
            return -1;
        struct qblock bk = {NULL, 0, 0};
        if (q_block_grow(&bk, QBLOCK_MIN_CAP) < 0)
            return -1;
        q->b[0] = bk;
        q->nb = 1;
    }
    /* Blocks are never empty except a fresh first one (n == 0). */
    uint32_t i = q->b[0].n ? q_find_block(q, x) : 0;
    if (i == q->nb)
        i = q->nb - 1;
    if (q->b[i].n >= QBLOCK_MAX) {
        if (q_split(q, i) < 0)
            return -1;
        if (x >= q->b[i + 1].v[0])
            i++;
    }
    struct qblock *bk = &q->b[i];
    if (q_block_grow(bk, bk->n + 1) < 0)
        return -1;
    uint32_t pos = q_bound(bk->v, bk->n, x, 1);
    memmove(bk->v + pos + 1, bk->v + pos,
            (size_t)(bk->n - pos) * sizeof(double));
    bk->v[pos] = x;
    bk->n++;
    q->n++;
    return 0;
}

/* Merge block i+1 into block i when both fit in half a block; keeps the
 * block count near n / 256 however values come and go. */
static void q_try_merge(struct qset *q, uint32_t i)
{
    if (i + 1 >= q->nb)
        return;
    struct qblock *a = &q->b[i], *b = &q->b[i + 1];
    if (a->n + b->n > QBLOCK_MAX / 2)
        return;
    if (q_block_grow(a, a->n + b->n) < 0)
        return; /* merging is only an optimisation */
    memcpy(a->v + a->n, b->v, (size_t)b->n * sizeof(double));
    a->n += b->n;
    free(b->v);
    memmove(&q->b[i + 1], &q->b[i + 2],
            (size_t)(q->nb - i - 2) * sizeof(*q->b));
    q->nb--;
}

int qset_delete(struct qset *q, double x)
{
    if (isnan(x) || q->nb == 0)
        return -1;
    uint32_t i = q_find_block(q, x);
    if (i == q->nb)
        return -1;
    struct qblock *bk = &q->b[i];
    uint32_t pos = q_bound(bk->v, bk->n, x, 0);
    if (pos == bk->n || !(bk->v[pos] == x))
        return -1;
    memmove(bk->v + pos, bk->v + pos + 1,
            (size_t)(bk->n - pos - 1) * sizeof(double));
    bk->n--;
    q->n--;
    if (bk->n == 0) {
        free(bk->v);
        memmove(&q->b[i], &q->b[i + 1],
                (size_t)(q->nb - i - 1) * sizeof(*q->b));
        q->nb--;
        if (q->nb == 0)
            qset_cleanup(q);
        return 0;
    }
    /* Give memory back when a window shrinks (a burst passed). */
    if (bk->cap > 4 * QBLOCK_MIN_CAP && bk->n < bk->cap / 4) {
        double *nv = realloc(bk->v, (size_t)(bk->cap / 2) * sizeof(double));
        if (nv) {
            bk->v = nv;
            bk->cap /= 2;
        }
    }
    q_try_merge(q, i);
    if (i > 0)
        q_try_merge(q, i - 1);
    return 0;
}

double qset_select(const struct qset *q, size_t k)
{
    for (uint32_t i = 0; i < q->nb; i++) {
        if (k < q->b[i].n)
            return q->b[i].v[k];
        k -= q->b[i].n;
    }
    return NAN; /* k out of range: a caller bug */
}

int qset_quantile(const struct qset *q, double phi, double *out)
{
    if (q->n == 0)
        return 1;
    if (phi < 0) {
        *out = -INFINITY;
        return 0;
    }
    if (phi > 1) {
        *out = INFINITY;
        return 0;
    }
    double rank = phi * (double)(q->n - 1);
    size_t lo = (size_t)floor(rank);
    if (lo >= q->n - 1) {
        *out = qset_select(q, q->n - 1);
        return 0;
    }
    double w = rank - (double)lo;
    /* Find ranks lo and lo + 1 in one walk over the blocks. */
    size_t k = lo;
    uint32_t i = 0;
    while (i < q->nb && k >= q->b[i].n) {
        k -= q->b[i].n;
        i++;
    }
    double a = q->b[i].v[k];
    if (w == 0) {
        *out = a;
        return 0;
    }
    double b = k + 1 < q->b[i].n ? q->b[i].v[k + 1] : q->b[i + 1].v[0];
    /* Prometheus' own arithmetic (promql quantile()), so that a value at a
     * threshold compares as quantile_over_time's does, to the last bit. */
    *out = a * (1 - w) + b * w;
    return 0;
}

size_t qset_memory(const struct qset *q)
{
    size_t m = (size_t)q->capb * sizeof(struct qblock);
    for (uint32_t i = 0; i < q->nb; i++)
        m += (size_t)q->b[i].cap * sizeof(double) + 16;
    return m;
}
