/* scrape_seen.c - one scrape target's series timestamps (see
 * scrape_seen.h): a hash table from series key to the explicit timestamp
 * of its last page, rebuilt from each page. */
#include "scrape_seen.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../common/buf.h"
#include "../common/htab.h"
#include "../common/labels.h"
#include "../common/util.h"

struct seen {
    struct hnode node;
    double ts;
    size_t len;
    char key[]; /* metric\0name\0value\0... labels sorted by name */
};

struct scrape_seen {
    struct htab last; /* the previous page's stamped series */
    struct buf key;
};

struct scrape_seen *scrape_seen_new(void)
{
    struct scrape_seen *ss = xcalloc(1, sizeof(*ss));

    htab_init(&ss->last);
    buf_init(&ss->key, 0);
    return ss;
}

static void seen_free(struct hnode *n, void *ctx)
{
    (void)ctx;
    free(n);
}

static void table_free(struct htab *t)
{
    htab_foreach(t, seen_free, NULL);
    htab_cleanup(t);
}

void scrape_seen_free(struct scrape_seen *ss)
{
    if (ss == NULL)
        return;
    table_free(&ss->last);
    buf_cleanup(&ss->key);
    free(ss);
}

static struct seen *lookup(const struct htab *t, uint64_t h, const char *key,
                           size_t len)
{
    for (struct hnode *n = htab_bucket(t, h); n != NULL; n = n->next) {
        struct seen *e = (struct seen *)n;

        if (n->hash == h && e->len == len && memcmp(e->key, key, len) == 0)
            return e;
    }
    return NULL;
}

size_t scrape_seen_filter(struct scrape_seen *ss, struct batch *b)
{
    struct htab page;
    size_t kept = 0, dropped = 0;

    htab_init(&page);
    for (size_t i = 0; i < b->n; i++) {
        struct sample *s = &b->v[i];
        const struct seen *old;
        struct seen *e;
        uint64_t h;

        /* Labels in another order name the same series. */
        if (isnan(s->ts) ||
            labels_series_key(&ss->key, s->metric, s->labels, s->nlabels) < 0) {
            b->v[kept++] = *s;
            continue;
        }
        h = util_hash64(ss->key.data, ss->key.len, 0);
        old = lookup(&ss->last, h, ss->key.data, ss->key.len);
        e = lookup(&page, h, ss->key.data, ss->key.len);
        if (e == NULL) {
            e = xmalloc(sizeof(*e) + ss->key.len);
            e->node.hash = h;
            e->ts = s->ts;
            e->len = ss->key.len;
            memcpy(e->key, ss->key.data, ss->key.len);
            htab_insert(&page, &e->node);
        } else if (s->ts > e->ts) {
            e->ts = s->ts;
        }
        if (old != NULL && old->ts == s->ts) {
            free((void *)s->labels); /* the one allocation of the sample */
            dropped++;
            continue;
        }
        b->v[kept++] = *s;
    }
    b->n = kept;
    table_free(&ss->last);
    ss->last = page;
    return dropped;
}
