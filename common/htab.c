/* htab.c - intrusive chained hash table with power-of-two buckets. */
#include "htab.h"

#include <stdlib.h>

#include "util.h"

void htab_init(struct htab *t)
{
    t->b = NULL;
    t->nb = 0;
    t->n = 0;
}

void htab_cleanup(struct htab *t)
{
    free(t->b);
    htab_init(t);
}

struct hnode *htab_bucket(const struct htab *t, uint64_t hash)
{
    if (t->nb == 0)
        return NULL;
    return t->b[hash & (t->nb - 1)];
}

static void htab_grow(struct htab *t)
{
    size_t nb = t->nb ? t->nb * 2 : 16;
    struct hnode **b = xcalloc(nb, sizeof(*b));

    for (size_t i = 0; i < t->nb; i++) {
        struct hnode *n = t->b[i], *next;
        for (; n; n = next) {
            next = n->next;
            n->next = b[n->hash & (nb - 1)];
            b[n->hash & (nb - 1)] = n;
        }
    }
    free(t->b);
    t->b = b;
    t->nb = nb;
}

void htab_insert(struct htab *t, struct hnode *n)
{
    size_t i;

    if (t->n >= t->nb)
        htab_grow(t);
    i = n->hash & (t->nb - 1);
    n->next = t->b[i];
    t->b[i] = n;
    t->n++;
}

int htab_remove(struct htab *t, struct hnode *n)
{
    struct hnode **pp;

    if (t->nb == 0)
        return -1;
    for (pp = &t->b[n->hash & (t->nb - 1)]; *pp; pp = &(*pp)->next) {
        if (*pp == n) {
            *pp = n->next;
            t->n--;
            return 0;
        }
    }
    return -1;
}

void htab_foreach(const struct htab *t, void (*fn)(struct hnode *, void *),
                  void *ctx)
{
    for (size_t i = 0; i < t->nb; i++) {
        struct hnode *n = t->b[i], *next;
        for (; n; n = next) {
            next = n->next;
            fn(n, ctx);
        }
    }
}
