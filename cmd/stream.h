/* stream.h - read metric streams (files, or stdin) line by line through the
 * parsers, for eval and the like: counts samples and rejected lines and
 * remembers the first rejections for the exit summary. */
#ifndef TOCSIN_STREAM_H
#define TOCSIN_STREAM_H

#include <stdbool.h>
#include <stdint.h>

#include "../ingest/parse.h"

#define STREAM_KEEP_REJECTS 5

struct stream_stats {
    int ninputs; /* files given (0: stdin) */
    uint64_t lines, samples, rejected, late, events;
    uint64_t skipped; /* valid lines with a NaN/Inf value: no sample */
    struct {
        char file[128];
        uint64_t line;
        char why[160];
    } first[STREAM_KEEP_REJECTS];
    int nfirst;
};

/* Read every file (none or "-" = stdin) with fmt and call fn for each
 * sample. A rejected line is counted and reported on stderr as
 * "FILE:LINE: reason" (the first 100; stdout is flushed first, so a reader
 * of both sees them in line order); with strict the run stops there and
 * returns 1. fn returning nonzero stops the run (returns 1). A missing,
 * unreadable or directory file gets a one-line error and returns -1.
 * tick (may be NULL) is called with ctx between reads: quiet when a pipe
 * or terminal has nothing to read, busy every INGEST_TICK_MS of input
 * (ingest_reader_on_tick); its nonzero return ends the run there, the
 * files after it unread, and stream_run returns 1. StatsD gauges live in
 * gauges (the caller's, so that they can outlive the run), or in a map of
 * the run's own when it is NULL. */
int stream_run(int nfiles, char **files, enum ingest_format fmt, bool strict,
               sample_fn fn, int (*tick)(void *ctx, bool quiet), void *ctx,
               struct ingest_gauges *gauges, struct stream_stats *st);

/* "eval: 1200 samples read, 2 lines rejected (lines 3, 9: reason), 0 late,
 * 5 events" on stderr, then ", 4 NaN/Inf values skipped" when there were
 * any (stream_print_skipped). */
void stream_print_summary(const char *cmd, const struct stream_stats *st);
/* The ", 4 NaN/Inf values skipped" part alone (nothing when none were). */
void stream_print_skipped(const struct stream_stats *st);
/* The " (lines 3, 9: reason)" part alone (nothing without rejections):
 * up to STREAM_KEEP_REJECTS line numbers, FILE:LINE when several inputs
 * were read, each run of lines with its reason ("line 3: r1; lines 5, 9:
 * r2"), "..." when there were more. */
void stream_print_rejects(const struct stream_stats *st);

#endif
