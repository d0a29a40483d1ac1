/* htab.h - an intrusive chained hash table: the caller embeds struct hnode
 * in its records and compares keys itself while walking a bucket. Used for
 * the engine's series and source tables, where per-record overhead matters. */
#ifndef TOCSIN_HTAB_H
#define TOCSIN_HTAB_H

#include <stddef.h>
#include <stdint.h>

struct hnode {
    struct hnode *next;
    uint64_t hash;
};

struct htab {
    struct hnode **b;
    size_t nb; /* buckets, a power of two (0 before the first insert) */
    size_t n;  /* records */
};

void htab_init(struct htab *t);
/* Frees the bucket array only; the records belong to the caller. */
void htab_cleanup(struct htab *t);
/* First record of the bucket for hash (walk with ->next, compare ->hash
 * and the key). NULL when empty. */
struct hnode *htab_bucket(const struct htab *t, uint64_t hash);
/* Insert n (n->hash set by the caller); grows the table as needed. */
void htab_insert(struct htab *t, struct hnode *n);
/* Unlink n. Returns 0, or -1 when n is not in the table. */
int htab_remove(struct htab *t, struct hnode *n);
/* Call fn for every record (fn must not insert or remove). */
void htab_foreach(const struct htab *t, void (*fn)(struct hnode *, void *),
                  void *ctx);

#endif
