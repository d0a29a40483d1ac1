/* reader.c - bounded line reader (see reader.h): one buffer of
 * INGEST_MAX_LINE plus a read chunk; an over-long line keeps its first
 * INGEST_MAX_LINE bytes for the report and the rest is read and dropped up
 * to its newline, so the lines after it keep their numbers. */
#include "reader.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/util.h"

#define READ_CHUNK 65536

struct ingest_reader {
    FILE *f;
    int fd;
    int use_fd;
    char *buf;
    size_t cap;        /* usable bytes; buf has cap + 1 for a final NUL */
    size_t start, end; /* unconsumed data */
    unsigned long lineno;
    int (*tick)(void *, bool);
    void *tick_ctx;
    double ticked; /* monotonic time of the last tick */
    bool ended;    /* the tick ended the input: EOF from here on */
};

static struct ingest_reader *reader_alloc(void)
{
    struct ingest_reader *r = calloc(1, sizeof(*r));

    if (r == NULL)
        return NULL;
    r->cap = (size_t)INGEST_MAX_LINE + 1 + READ_CHUNK;
    r->buf = malloc(r->cap + 1);
    if (r->buf == NULL) {
        free(r);
        return NULL;
    }
    r->fd = -1;
    return r;
}

struct ingest_reader *ingest_reader_new_file(FILE *f)
{
    struct ingest_reader *r = reader_alloc();
    struct stat st;
    int fd;

    if (r == NULL)
        return NULL;
    r->f = f;
    fd = fileno(f);
    /* stdio would wait for a full buffer on a pipe; read(2) hands each line
     * over as it arrives. Regular files and memory streams use stdio. */
    if (fd >= 0 && fstat(fd, &st) == 0 && !S_ISREG(st.st_mode)) {
        r->fd = fd;
        r->use_fd = 1;
    }
    return r;
}

struct ingest_reader *ingest_reader_new_fd(int fd)
{
    struct ingest_reader *r = reader_alloc();

    if (r == NULL)
        return NULL;
    r->fd = fd;
    r->use_fd = 1;
    return r;
}

void ingest_reader_on_tick(struct ingest_reader *r,
                           int (*tick)(void *ctx, bool quiet), void *ctx)
{
    r->tick = tick;
    r->tick_ctx = ctx;
    r->ticked = util_mono();
}

/* The busy tick, before a read: 1 when it ended the input. */
static int reader_tick(struct ingest_reader *r)
{
    double now;

    if (r->tick == NULL)
        return 0;
    now = util_mono();
    if (now - r->ticked < INGEST_TICK_MS / 1000.0)
        return 0;
    r->ticked = now;
    if (r->tick(r->tick_ctx, false) != 0)
        r->ended = true;
    return r->ended;
}

/* Wait until fd has input, calling r->tick while it has none: 1 ready,
 * 0 the callback ended the input. */
static int reader_wait(struct ingest_reader *r)
{
    int ms = INGEST_IDLE_MS;

    for (;;) {
        struct pollfd pfd = {r->fd, POLLIN, 0};
        int n = poll(&pfd, 1, ms);

        if (n > 0)
            return 1;
        if (n < 0 && errno != EINTR)
            return 1; /* let read(2) say what is wrong */
        r->ticked = util_mono();
        if (r->tick(r->tick_ctx, true) != 0) {
            r->ended = true;
            return 0;
        }
        ms = 1000;
    }
}

void ingest_reader_free(struct ingest_reader *r)
{
    if (r == NULL)
        return;
    free(r->buf);
    free(r);
}

/* Read up to n bytes into p: >0 bytes, 0 at end of input, -1 on error. */
static long reader_fill(struct ingest_reader *r, char *p, size_t n)
{
    if (r->ended || reader_tick(r))
        return 0;
    if (r->use_fd) {
        for (;;) {
            ssize_t k;

            if (r->tick != NULL && reader_wait(r) == 0)
                return 0;
            k = read(r->fd, p, n);
            if (k < 0 && errno == EINTR)
                continue;
            return (long)k;
        }
    }
    if (feof(r->f))
        clearerr(r->f); /* a followed file may have grown */
    {
        size_t k = fread(p, 1, n, r->f);
        if (k == 0 && ferror(r->f))
            return -1;
        return (long)k;
    }
}

/* Drop the rest of an over-long line whose first INGEST_MAX_LINE bytes are
 * at buf[0..); dropped counts the bytes already seen past them. */
static int reader_skip_long(struct ingest_reader *r, size_t dropped,
                            struct ingest_line *out)
{
    const size_t keep = INGEST_MAX_LINE;
    size_t total = keep + dropped;

    r->buf[keep] = '\0';
    for (;;) {
        long k = reader_fill(r, r->buf + keep + 1, r->cap - keep - 1);
        char *nl;

        if (k < 0)
            return INGEST_READ_ERROR;
        if (k == 0) {
            r->start = r->end = 0;
            break;
        }
        nl = memchr(r->buf + keep + 1, '\n', (size_t)k);
        if (nl != NULL) {
            total += (size_t)(nl - (r->buf + keep + 1));
            r->start = (size_t)(nl - r->buf) + 1;
            r->end = keep + 1 + (size_t)k;
            break;
        }
        total += (size_t)k;
    }
    out->text = r->buf;
    out->len = total;
    out->lineno = ++r->lineno;
    return INGEST_READ_TOOLONG;
}

int ingest_reader_next(struct ingest_reader *r, struct ingest_line *out)
{
    size_t scanned = 0; /* bytes of the pending line known to hold no '\n' */

    for (;;) {
        char *base = r->buf + r->start;
        size_t avail = r->end - r->start;
        char *nl = memchr(base + scanned, '\n', avail - scanned);
        long k;

        if (nl != NULL) {
            size_t n = (size_t)(nl - base);
            out->text = base;
            out->lineno = ++r->lineno;
            r->start += n + 1;
            /* A UTF-8 byte order mark (Windows tools write one) is not
             * part of the first line. */
            if (out->lineno == 1 && n >= 3 &&
                memcmp(base, "\xEF\xBB\xBF", 3) == 0) {
                base += 3;
                out->text = base;
                n -= 3;
            }
            /* CRLF: the CR ends the line, it does not count against it */
            if (n > 0 && base[n - 1] == '\r')
                n--;
            out->len = n;
            if (n > INGEST_MAX_LINE) {
                base[INGEST_MAX_LINE] = '\0';
                return INGEST_READ_TOOLONG;
            }
            base[n] = '\0';
            return INGEST_READ_LINE;
        }
        scanned = avail;
        /* One byte more than a line may hold: it may be a CRLF's CR. */
        if (avail > INGEST_MAX_LINE + 1) {
            memmove(r->buf, base, INGEST_MAX_LINE);
            return reader_skip_long(r, avail - INGEST_MAX_LINE, out);
        }
        if (r->start > 0) {
            memmove(r->buf, base, avail);
            r->start = 0;
            r->end = avail;
        }
        k = reader_fill(r, r->buf + r->end, r->cap - r->end);
        if (k < 0)
            return INGEST_READ_ERROR;
        if (k == 0) {
            /* Input ended by the tick: a line begun is not a line. */
            if (avail == 0 || r->ended)
                return INGEST_READ_EOF;
            /* The last line has no newline. */
            char *t = r->buf;
            if (avail > 0 && t[avail - 1] == '\r')
                avail--;
            if (r->lineno == 0 && avail >= 3 &&
                memcmp(t, "\xEF\xBB\xBF", 3) == 0) {
                t += 3;
                avail -= 3;
            }
            out->text = t;
            out->len = avail;
            out->lineno = ++r->lineno;
            r->start = r->end = 0;
            if (avail > INGEST_MAX_LINE) {
                t[INGEST_MAX_LINE] = '\0';
                return INGEST_READ_TOOLONG;
            }
            t[avail] = '\0';
            return INGEST_READ_LINE;
        }
        r->end += (size_t)k;
    }
}
