/* batch.c - owned copies of parsed samples, and line-by-line parsing of a
 * text body into a batch with rejected-line bookkeeping. Used by every
 * daemon input before it hands samples to the writer thread. */
#include "batch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/util.h"

void batch_init(struct batch *b, double arrival)
{
    memset(b, 0, sizeof(*b));
    b->arrival = arrival;
}

void batch_cleanup(struct batch *b)
{
    size_t i;

    for (i = 0; i < b->n; i++)
        free((void *)b->v[i].labels); /* the one allocation of sample i */
    free(b->v);
    b->v = NULL;
    b->n = b->cap = 0;
    free(b->meta_key);
    free(b->meta_value);
    b->meta_key = b->meta_value = NULL;
}

static int extra_has(const struct batch *b, const char *name)
{
    size_t i;

    for (i = 0; i < b->nextra; i++)
        if (strcmp(b->extra[i].key, name) == 0)
            return 1;
    return 0;
}

/* Default label i of b is added to s: neither s nor the extras name it. */
static int dflt_wanted(const struct batch *b, const struct sample *s, size_t i)
{
    const char *name = b->dflt[i].key;

    return !extra_has(b, name) &&
           labels_get(s->labels, s->nlabels, name) == NULL;
}

/* One allocation: [labels array][metric\0][name\0value\0]... */
int batch_add(struct batch *b, const struct sample *s)
{
    size_t nl = 0, size, i;
    struct label *lv;
    char *p;
    struct sample *out;

    size = strlen(s->metric) + 1;
    for (i = 0; i < b->ndflt; i++) {
        if (!dflt_wanted(b, s, i))
            continue;
        size += strlen(b->dflt[i].key) + strlen(b->dflt[i].value) + 2;
        nl++;
    }
    for (i = 0; i < s->nlabels; i++) {
        if (extra_has(b, s->labels[i].name))
            continue;
        size += strlen(s->labels[i].name) + strlen(s->labels[i].value) + 2;
        nl++;
    }
    for (i = 0; i < b->nextra; i++)
        size += strlen(b->extra[i].key) + strlen(b->extra[i].value) + 2;
    nl += b->nextra;
    if (b->n == b->cap) {
        size_t ncap = b->cap ? b->cap * 2 : 64;
        struct sample *nv = realloc(b->v, ncap * sizeof(*nv));
        if (nv == NULL)
            return -1;
        b->v = nv;
        b->cap = ncap;
    }
    lv = malloc(nl * sizeof(*lv) + size);
    if (lv == NULL)
        return -1;
    p = (char *)(lv + nl);
    out = &b->v[b->n];
    size = strlen(s->metric) + 1;
    memcpy(p, s->metric, size);
    out->metric = p;
    p += size;
    nl = 0;
#define COPY_LABEL(nm, vl)                                                     \
    do {                                                                       \
        size_t ln = strlen(nm) + 1, lvn = strlen(vl) + 1;                      \
        memcpy(p, nm, ln);                                                     \
        lv[nl].name = p;                                                       \
        p += ln;                                                               \
        memcpy(p, vl, lvn);                                                    \
        lv[nl].value = p;                                                      \
        p += lvn;                                                              \
        nl++;                                                                  \
    } while (0)
    for (i = 0; i < s->nlabels; i++)
        if (!extra_has(b, s->labels[i].name))
            COPY_LABEL(s->labels[i].name, s->labels[i].value);
    for (i = 0; i < b->nextra; i++)
        COPY_LABEL(b->extra[i].key, b->extra[i].value);
    for (i = 0; i < b->ndflt; i++)
        if (dflt_wanted(b, s, i))
            COPY_LABEL(b->dflt[i].key, b->dflt[i].value);
#undef COPY_LABEL
    out->labels = lv;
    out->nlabels = nl;
    out->value = s->value;
    out->ts = s->ts;
    b->n++;
    return 0;
}

static int add_cb(void *ctx, const struct sample *s)
{
    return batch_add(ctx, s) == 0 ? 0 : 1;
}

size_t batch_parse_text(struct batch *b, struct ingest_parser *p,
                        const char *text, size_t len, size_t first_line,
                        struct batch_rejects *rj)
{
    size_t pos = 0, line = first_line, rejected = 0;
    size_t skipped0 = ingest_parser_skipped(p);
    char why[160];

    /* A UTF-8 byte order mark (Windows tools write one) is not part of
     * the first line. */
    if (first_line == 1 && len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
        pos = 3;
    while (pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - text) : len;
        /* CRLF: the CR ends the line, it does not count against it */
        size_t n =
            end > pos && text[end - 1] == '\r' ? end - pos - 1 : end - pos;

        why[0] = '\0';
        if (ingest_parse_line(p, text + pos, n, add_cb, b, why, sizeof(why)) <
            0) {
            rejected++;
            if (rj != NULL) {
                if (rj->nkept < BATCH_MAX_REJECTS) {
                    rj->v[rj->nkept].line = line;
                    snprintf(rj->v[rj->nkept].reason,
                             sizeof(rj->v[rj->nkept].reason), "%s",
                             why[0] ? why : "rejected");
                    rj->nkept++;
                }
                rj->count++;
            }
        }
        pos = end + 1;
        line++;
    }
    if (rj != NULL)
        rj->skipped += ingest_parser_skipped(p) - skipped0;
    return rejected;
}
