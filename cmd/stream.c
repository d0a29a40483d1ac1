/* stream.c - line-by-line stream reading shared by eval and test tooling. */
#include "stream.h"

#include "../ingest/reader.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct counting {
    sample_fn fn;
    int (*tick)(void *ctx, bool quiet);
    void *ctx;
    struct stream_stats *st;
    int stop;
    struct ingest_gauges *gauges; /* StatsD gauges, across the files */
};

static int count_sample(void *ctx, const struct sample *s)
{
    struct counting *c = ctx;

    c->st->samples++;
    if (c->fn(c->ctx, s) != 0) {
        c->stop = 1;
        return 1;
    }
    return 0;
}

/* The caller's tick; its nonzero return ends this input and the run. */
static int count_tick(void *ctx, bool quiet)
{
    struct counting *c = ctx;

    if (c->tick(c->ctx, quiet) == 0)
        return 0;
    c->stop = 1;
    return 1;
}

static int run_one(FILE *f, const char *name, enum ingest_format fmt,
                   bool strict, struct counting *c)
{
    struct ingest_parser *p = ingest_parser_new(fmt);
    struct ingest_reader *rd = ingest_reader_new_file(f);
    struct stream_stats *st = c->st;
    struct ingest_line ln;
    char why[160];
    int rc = 0, r;

    if (p == NULL || rd == NULL) {
        ingest_parser_free(p);
        ingest_reader_free(rd);
        return -1;
    }
    ingest_parser_share_gauges(p, c->gauges);
    if (c->tick != NULL)
        ingest_reader_on_tick(rd, count_tick, c);
    while ((r = ingest_reader_next(rd, &ln)) > 0) {
        st->lines++;
        why[0] = '\0';
        /* A TOOLONG line carries its full length: the parser rejects it. */
        if (ingest_parse_line(p, ln.text, ln.len, count_sample, c, why,
                              sizeof(why)) < 0) {
            st->rejected++;
            if (st->nfirst < STREAM_KEEP_REJECTS) {
                snprintf(st->first[st->nfirst].file, sizeof(st->first[0].file),
                         "%s", name);
                st->first[st->nfirst].line = ln.lineno;
                snprintf(st->first[st->nfirst].why, sizeof(st->first[0].why),
                         "%s", why);
                st->nfirst++;
            }
            if (st->rejected <= 100) {
                fflush(stdout);
                fprintf(stderr, "%s:%lu: %s\n", name, ln.lineno, why);
            }
            if (strict) {
                rc = 1;
                break;
            }
        }
        if (c->stop) {
            rc = 1;
            break;
        }
    }
    if (rc == 0 && c->stop)
        rc = 1; /* the tick ended the input: the files after it are not read */
    if (rc == 0 && r == INGEST_READ_ERROR) {
        fprintf(stderr, "tocsin: %s: read error: %s\n", name, strerror(errno));
        rc = -1;
    }
    st->skipped += ingest_parser_skipped(p);
    ingest_reader_free(rd);
    ingest_parser_free(p);
    return rc;
}

static int run_all(int nfiles, char **files, enum ingest_format fmt,
                   bool strict, struct counting *c)
{
    if (nfiles <= 0)
        return run_one(stdin, "<stdin>", fmt, strict, c);
    for (int i = 0; i < nfiles; i++) {
        struct stat sb;
        FILE *f;
        int rc;

        if (strcmp(files[i], "-") == 0) {
            rc = run_one(stdin, "<stdin>", fmt, strict, c);
        } else {
            if (stat(files[i], &sb) == 0 && S_ISDIR(sb.st_mode)) {
                fprintf(stderr, "tocsin: %s: is a directory\n", files[i]);
                return -1;
            }
            f = fopen(files[i], "r");
            if (f == NULL) {
                fprintf(stderr, "tocsin: %s: %s\n", files[i], strerror(errno));
                return -1;
            }
            rc = run_one(f, files[i], fmt, strict, c);
            fclose(f);
        }
        if (rc)
            return rc;
    }
    return 0;
}

int stream_run(int nfiles, char **files, enum ingest_format fmt, bool strict,
               sample_fn fn, int (*tick)(void *ctx, bool quiet), void *ctx,
               struct ingest_gauges *gauges, struct stream_stats *st)
{
    struct counting c = {fn, tick, ctx,
                         st, 0,    gauges ? gauges : ingest_gauges_new()};
    int rc;

    st->ninputs = nfiles > 0 ? nfiles : 0;
    if (c.gauges == NULL)
        return -1;
    rc = run_all(nfiles, files, fmt, strict, &c);
    if (gauges == NULL)
        ingest_gauges_free(c.gauges);
    return rc;
}

void stream_print_rejects(const struct stream_stats *st)
{
    int i = 0;
    bool single = false; /* one reason for every line listed */

    if (st->nfirst == 0)
        return;
    fputs(" (", stderr);
    /* Consecutive lines rejected for the same reason share it. */
    while (i < st->nfirst) {
        int j = i + 1;

        while (j < st->nfirst &&
               strcmp(st->first[j].why, st->first[i].why) == 0)
            j++;
        fprintf(stderr, "%sline%s ", i ? "; " : "", j - i > 1 ? "s" : "");
        for (int k = i; k < j; k++) {
            fprintf(stderr, "%s", k > i ? ", " : "");
            if (st->ninputs > 1)
                fprintf(stderr, "%s:", st->first[k].file);
            fprintf(stderr, "%" PRIu64, st->first[k].line);
        }
        /* One reason for all: "lines 1, 2, ...: why", as before. */
        single = i == 0 && j == st->nfirst;
        if (single && st->rejected > (uint64_t)st->nfirst)
            fprintf(stderr, ", ...");
        fprintf(stderr, ": %s", st->first[i].why);
        i = j;
    }
    if (st->rejected > (uint64_t)st->nfirst && !single)
        fprintf(stderr, "; ...");
    fputc(')', stderr);
}

void stream_print_summary(const char *cmd, const struct stream_stats *st)
{
    fprintf(stderr, "%s: %" PRIu64 " samples read, %" PRIu64 " lines rejected",
            cmd, st->samples, st->rejected);
    stream_print_rejects(st);
    fprintf(stderr, ", %" PRIu64 " late, %" PRIu64 " events", st->late,
            st->events);
    stream_print_skipped(st);
    fputc('\n', stderr);
}

void stream_print_skipped(const struct stream_stats *st)
{
    if (st->skipped > 0)
        fprintf(stderr, ", %" PRIu64 " NaN/Inf value%s skipped", st->skipped,
                st->skipped == 1 ? "" : "s");
}
