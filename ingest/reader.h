/* reader.h - a line reader over a FILE* or a file descriptor with bounded
 * lines (INGEST_MAX_LINE): each line comes with its 1-based number; an
 * over-long line is reported once and skipped to its newline, never split.
 * Used by `tocsin parse`/`eval` and the daemon's file input. */
#ifndef TOCSIN_READER_H
#define TOCSIN_READER_H

#include <stdbool.h>
#include <stdio.h>

#include "parse.h"

enum ingest_read {
    INGEST_READ_ERROR = -1,  /* read(2)/fread failed; errno is set */
    INGEST_READ_EOF = 0,     /* no more lines */
    INGEST_READ_LINE = 1,    /* a line */
    INGEST_READ_TOOLONG = 2, /* a line longer than INGEST_MAX_LINE */
};

struct ingest_line {
    const char *text;     /* NUL-terminated, without its '\n' or CRLF's
                           * '\r' (which does not count against the
                           * limit); borrowed until the next call. For
                           * TOOLONG only its first INGEST_MAX_LINE bytes. */
    size_t len;           /* the line's full length (> INGEST_MAX_LINE for
                           * TOOLONG: passing text and len to
                           * ingest_parse_line gives the rejection) */
    unsigned long lineno; /* 1-based */
};

struct ingest_reader;

/* A reader over f (not closed by the reader). For a pipe or terminal the
 * reader uses read(2) on fileno(f) so that each line is handed over as soon
 * as it arrives; f must then not have been read through stdio before.
 * NULL only on out-of-memory. */
struct ingest_reader *ingest_reader_new_file(FILE *f);
/* tick(ctx, quiet) lets the caller act between reads: with quiet true
 * when a pipe or terminal (ingest_reader_new_file) has had nothing for
 * INGEST_IDLE_MS, then every second of silence and after a signal
 * interrupted the wait, so the caller can commit and flush what it holds
 * while the writer is quiet, or notice a stop request; with quiet false
 * before a read once INGEST_TICK_MS have passed since the last call, on
 * any input, so that a stream that never pauses (even one of rejected
 * lines) still gets its turns. A nonzero return ends the input there for
 * good, as at EOF: later calls return EOF, and a line begun but not ended
 * by a newline is dropped rather than taken as the last line. */
#define INGEST_IDLE_MS 50
#define INGEST_TICK_MS 10
void ingest_reader_on_tick(struct ingest_reader *r,
                           int (*tick)(void *ctx, bool quiet), void *ctx);
/* A reader over fd (not closed by the reader). NULL only on out-of-memory. */
struct ingest_reader *ingest_reader_new_fd(int fd);
void ingest_reader_free(struct ingest_reader *r);

/* The next line into *out. Returns an enum ingest_read value. A last line
 * without a newline is still a line. After EOF, later calls return EOF again
 * (with a file being followed, they return new lines once written). */
int ingest_reader_next(struct ingest_reader *r, struct ingest_line *out);

#endif
