/* batch.h - a batch of samples owned by the daemon: what an input (HTTP
 * ingest, scraper, StatsD, file) hands to the writer thread. Samples are
 * copied out of the parser's scratch space; optional extra labels (a scrape
 * target's `labels`) are merged in. Also splits a text body into lines,
 * parses each and records the rejected line numbers with their reasons. */
#ifndef TOCSIN_DAEMON_BATCH_H
#define TOCSIN_DAEMON_BATCH_H

#include <stddef.h>

#include "../ingest/parse.h"
#include "../ingest/sample.h"
#include "../rules/config.h"

struct batch {
    struct sample *v; /* each sample's strings live in one allocation */
    size_t n, cap;
    double arrival;         /* Unix seconds; the ts of samples without one */
    const struct kv *extra; /* borrowed: labels added to each sample */
    size_t nextra;
    const struct kv *dflt; /* borrowed: added to a sample that lacks them */
    size_t ndflt;
    /* Owned, optional: a store meta entry committed with the samples (a
     * followed file's position), so both are kept or both lost. */
    char *meta_key, *meta_value;
};

#define BATCH_MAX_REJECTS 100 /* kept with reasons; the count goes on */

struct batch_reject {
    size_t line; /* 1-based */
    char reason[160];
};

struct batch_rejects {
    struct batch_reject v[BATCH_MAX_REJECTS];
    size_t nkept;
    size_t count;   /* every rejected line */
    size_t skipped; /* valid lines with a NaN/Inf value (no sample) */
};

void batch_init(struct batch *b, double arrival);
/* Free every sample; the batch can be reused after batch_init. */
void batch_cleanup(struct batch *b);
/* Copy s into b with b->extra (which replace labels of the same name) and
 * b->dflt (added when neither s nor extra has the name). Returns 0, or -1
 * on out-of-memory. */
int batch_add(struct batch *b, const struct sample *s);

/* Parse text[0..len) line by line with p into b. Lines are separated by
 * '\n' (a trailing '\r' is the parser's business); rejected lines go to rj
 * (may be NULL) with their 1-based numbers, first_line being the number of
 * the first line. Returns the number of rejected lines. */
size_t batch_parse_text(struct batch *b, struct ingest_parser *p,
                        const char *text, size_t len, size_t first_line,
                        struct batch_rejects *rj);

#endif
