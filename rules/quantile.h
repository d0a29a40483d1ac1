/* quantile.h - an order-statistics multiset of doubles: the values of a
 * sliding window kept sorted in blocks of at most 512, so insert and delete
 * cost O(log n + 512) and selecting by rank O(n / 512). window.c uses it for
 * pNN (exact Prometheus quantile_over_time, no sketch). */
#ifndef TOCSIN_QUANTILE_H
#define TOCSIN_QUANTILE_H

#include <stddef.h>
#include <stdint.h>

struct qblock;

struct qset {
    struct qblock *b; /* sorted blocks; every value of b[i] <= b[i+1]'s */
    uint32_t nb, capb;
    size_t n; /* values held */
};

/* An empty set; allocates nothing until the first insert. */
void qset_init(struct qset *q);
/* Free everything; the set is empty (and reusable) afterwards. */
void qset_cleanup(struct qset *q);

/* Add one copy of x. NaN is ignored (it has no rank). Returns 0, or -1 when
 * memory ran out (the set is then unchanged). */
int qset_insert(struct qset *q, double x);
/* Remove one copy of x. Returns 0, or -1 when x is not held (NaN never is). */
int qset_delete(struct qset *q, double x);

/* The value of rank k (0 = smallest). k must be < q->n. */
double qset_select(const struct qset *q, size_t k);

/* Prometheus quantile_over_time: rank = phi * (n - 1), linear interpolation
 * between the two closest ranks; phi < 0 gives -Inf, phi > 1 +Inf. Returns 0
 * with *out set, or 1 when the set is empty. */
int qset_quantile(const struct qset *q, double phi, double *out);

/* Approximate heap bytes held. */
size_t qset_memory(const struct qset *q);

#endif
