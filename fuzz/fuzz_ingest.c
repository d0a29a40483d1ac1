/* fuzz_ingest.c - libFuzzer target for ingest/: feeds the input through
 * every format's parser and FMT_AUTO, line by line and as one line, and
 * through the bounded line reader (fmemopen). Checks the sample invariants
 * (non-empty NUL-terminated valid UTF-8 names, unique labels, finite value)
 * and aborts when one breaks. Built by `make fuzz`. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/util.h"
#include "../ingest/parse.h"
#include "../ingest/reader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int check_sample(void *ctx, const struct sample *s)
{
    (void)ctx;
    if (s->metric == NULL || s->metric[0] == '\0' ||
        !util_utf8_valid(s->metric, strlen(s->metric)))
        abort();
    if (!isfinite(s->value) || isinf(s->ts))
        abort();
    for (size_t i = 0; i < s->nlabels; i++) {
        const struct label *l = &s->labels[i];
        if (l->name == NULL || l->value == NULL || l->name[0] == '\0' ||
            !util_utf8_valid(l->name, strlen(l->name)) ||
            !util_utf8_valid(l->value, strlen(l->value)))
            abort();
        for (size_t j = 0; j < i; j++)
            if (strcmp(s->labels[j].name, l->name) == 0)
                abort();
    }
    return 0;
}

static void parse_all(struct ingest_parser *p, const char *d, size_t n)
{
    char why[256];
    size_t i = 0;

    while (i <= n) {
        const char *nl = memchr(d + i, '\n', n - i);
        size_t len = nl ? (size_t)(nl - (d + i)) : n - i;
        int rc = ingest_parse_line(p, d + i, len, check_sample, NULL, why,
                                   sizeof(why));
        if (rc < 0 && why[0] == '\0')
            abort(); /* a rejection always says why */
        i += len + 1;
    }
}

/* Read d[0..n) through the reader and the auto parser, checking that line
 * numbers advance by one and that only TOOLONG lines pass the limit. */
static void read_all(const char *d, size_t n)
{
    FILE *f = fmemopen((void *)d, n, "r");
    struct ingest_reader *r;
    struct ingest_parser *p;
    struct ingest_line ln;
    unsigned long last = 0;
    char why[256];
    int rc;

    if (f == NULL)
        return;
    r = ingest_reader_new_file(f);
    p = ingest_parser_new(FMT_AUTO);
    while (r && p && (rc = ingest_reader_next(r, &ln)) > 0) {
        if (ln.lineno != last + 1 || strlen(ln.text) > ln.len)
            abort();
        if ((rc == INGEST_READ_LINE) != (ln.len <= INGEST_MAX_LINE))
            abort();
        last = ln.lineno;
        (void)ingest_parse_line(p, ln.text, ln.len, check_sample, NULL, why,
                                sizeof(why));
    }
    ingest_parser_free(p);
    ingest_reader_free(r);
    fclose(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A private copy: parsers must not read past len (ASan sees it). */
    char *d = malloc(size ? size : 1);
    char why[256];

    if (d == NULL)
        return 0;
    memcpy(d, data, size);
    for (int f = FMT_AUTO; f <= FMT_STATSD; f++) {
        struct ingest_parser *p = ingest_parser_new((enum ingest_format)f);
        if (p == NULL)
            break;
        parse_all(p, d, size);
        (void)ingest_parse_line(p, d, size, check_sample, NULL, why,
                                sizeof(why));
        ingest_parser_free(p);
    }
    (void)ingest_guess(d, size);
    if (size > 0)
        read_all(d, size);
    /* Inputs starting with 'L' are repeated past INGEST_MAX_LINE so that the
     * reader's over-long paths run (libFuzzer rarely grows inputs so far). */
    if (size > 1 && d[0] == 'L') {
        size_t n = 2 * (size_t)INGEST_MAX_LINE + 4096, k = 0;
        char *big = malloc(n);
        if (big != NULL) {
            while (k < n) {
                size_t c = size - 1 < n - k ? size - 1 : n - k;
                memcpy(big + k, d + 1, c);
                k += c;
            }
            read_all(big, n);
            free(big);
        }
    }
    free(d);
    return 0;
}
