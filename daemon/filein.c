/* filein.c - file input (see filein.h). Polls rather than using inotify:
 * one stat(2) per interval is cheap and behaves the same on every
 * filesystem (NFS, overlay). Rotation is detected by the path's inode
 * changing or the path vanishing; truncation by the size falling below our
 * offset, or (truncated and written past our offset again between two
 * looks, as copytruncate with a busy writer can) by the bytes just before
 * our offset no longer being the ones read there. A pipe, named FIFO or
 * terminal (`path: /dev/stdin`) is a stream: read without blocking as data
 * comes, with no end to start from and nothing to rotate or truncate. */
#include "filein.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../common/buf.h"
#include "../common/log.h"
#include "../common/util.h"
#include "../ingest/parse.h"

/* One open file and what was read of it. */
struct fview {
    int fd;
    bool stream; /* not a regular file: a pipe, FIFO or terminal */
    bool eof;    /* the last read found the end (a stream's writers gone) */
    dev_t dev;
    ino_t ino;
    off_t off;
    char tail[64]; /* the file's bytes just before off */
    size_t ntail;
    bool mid_line;   /* opened at its end inside a line: skip to the next */
    bool held;       /* partial has lines the callback did not take */
    bool orphan;     /* and they were read before a truncation (restart) */
    off_t seen_size; /* the file's size at the last look (check_path) */
    struct buf partial;
    size_t line; /* number of the next line to deliver */
};

/* The longest wait before lines the store refused are handed again. */
#define FILEIN_RETRY_MAX 5.0

struct filein {
    char *path;
    bool follow;
    bool announce; /* opened at its end: tell the position before reading */
    double retry_at, retry_wait; /* held lines: when to hand them again */
    double poll;
    filein_fn fn;
    void *ctx;
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop;
    atomic_bool finished;
    /* reader state (thread only) */
    struct fview cur; /* the file at the path */
    struct fview old; /* the one rotated away, read until old_until */
    double old_until; /* util_mono() */
};

/* Drop the first n bytes of v->partial, keeping the rest. */
static void partial_drop(struct fview *v, size_t n)
{
    size_t keep = v->partial.len - n;
    char *rest;

    if (keep == 0) {
        buf_reset(&v->partial);
        return;
    }
    rest = xmalloc(keep);
    memcpy(rest, buf_str(&v->partial) + n, keep);
    buf_reset(&v->partial);
    buf_add(&v->partial, rest, keep);
    free(rest);
}

/* v's file at offset off, line number line; before: the bytes just before
 * off, n of them (the last sizeof(p->tail) are kept). */
static void pos_of(const struct fview *v, off_t off, size_t line,
                   const char *before, size_t n, struct filein_pos *p)
{
    memset(p, 0, sizeof(*p));
    p->dev = (unsigned long long)v->dev;
    p->ino = (unsigned long long)v->ino;
    p->off = (long long)off;
    p->line = line;
    p->ntail = n < sizeof(p->tail) ? n : sizeof(p->tail);
    memcpy(p->tail, before + n - p->ntail, p->ntail);
}

void filein_pos_format(const struct filein_pos *p, char *out, size_t size)
{
    static const char hex[] = "0123456789abcdef";
    int n = snprintf(out, size, "1 %llu %llu %lld %zu ", p->dev, p->ino, p->off,
                     p->line);

    for (size_t i = 0; i < p->ntail && n >= 0 && (size_t)n + 3 <= size; i++) {
        out[n++] = hex[p->tail[i] >> 4];
        out[n++] = hex[p->tail[i] & 15];
        out[n] = '\0';
    }
}

/* The value of hex digit c, or -1. */
static int hexval(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

int filein_pos_parse(const char *text, struct filein_pos *p)
{
    const char *hex;
    int used = 0;
    size_t n;

    memset(p, 0, sizeof(*p));
    if (text == NULL ||
        sscanf(text, "1 %llu %llu %lld %zu %n", &p->dev, &p->ino, &p->off,
               &p->line, &used) != 4 ||
        p->off < 0 || p->line < 1)
        return -1;
    hex = text + used;
    n = strlen(hex);
    if (n % 2 != 0 || n > 2 * sizeof(p->tail) || (size_t)p->off < n / 2)
        return -1;
    for (size_t i = 0; i < n; i += 2) {
        int hi = hexval(hex[i]), lo = hexval(hex[i + 1]);

        if (hi < 0 || lo < 0)
            return -1;
        p->tail[p->ntail++] = (unsigned char)(hi << 4 | lo);
    }
    return 0;
}

/* Hand every complete line in partial to the callback; keep the rest. With
 * all, the unterminated tail goes too (EOF of a finished file, rotation).
 * False when the callback did not take them (the store failed): they stay
 * in partial, v->held, to be handed again before anything more is read. */
static bool deliver(struct filein *f, struct fview *v, bool all)
{
    const char *d = buf_str(&v->partial);
    size_t len = v->partial.len, end = len, i, nlines = 0;
    bool taken;

    v->held = false;
    if (len == 0)
        return true;
    if (!all) {
        while (end > 0 && d[end - 1] != '\n')
            end--;
        /* A line longer than any parser accepts is passed on (and
         * rejected there) rather than buffered without bound. */
        if (end == 0 && len > 2 * (size_t)INGEST_MAX_LINE)
            end = len;
    }
    if (end == 0)
        return true;
    for (i = 0; i < end; i++)
        if (d[i] == '\n')
            nlines++;
    if (end > 0 && d[end - 1] != '\n')
        nlines++;
    if (f->follow && v == &f->cur && !v->stream && !v->orphan) {
        struct filein_pos pos;

        /* partial holds the bytes [off - partial.len, off). */
        pos_of(v, v->off - (off_t)(len - end), v->line + nlines, d, end, &pos);
        taken = f->fn(f->ctx, d, end, v->line, &pos);
    } else {
        taken = f->fn(f->ctx, d, end, v->line, NULL);
    }
    if (!taken) {
        /* Again at the next poll, then less and less often (the store's
         * disk may stay full for long): at most every 5 s. */
        v->held = true;
        f->retry_wait = f->retry_wait > 0 ? f->retry_wait * 2 : f->poll;
        if (f->retry_wait > FILEIN_RETRY_MAX)
            f->retry_wait = FILEIN_RETRY_MAX;
        f->retry_at = util_mono() + f->retry_wait;
        return false;
    }
    f->retry_wait = 0;
    v->line = v->orphan ? 1 : v->line + nlines;
    v->orphan = false;
    partial_drop(v, end);
    return true;
}

/* Close the file. tail_is_line: an unterminated last line is whole (a file
 * read once, to its end); otherwise (rotated away) its writer may still be
 * completing it in the old file, so it is dropped, not half read. */
static void close_file(struct filein *f, struct fview *v, bool tail_is_line)
{
    if (v->fd >= 0)
        close(v->fd);
    v->fd = -1;
    if (!deliver(f, v, tail_is_line)) {
        log_error("file",
                  "%s: %zu bytes read before it was closed are lost: "
                  "the store did not take them",
                  f->path, v->partial.len);
        buf_reset(&v->partial);
        v->held = false;
    }
    if (v->partial.len > 0) {
        log_warn("file",
                 "%s: dropped %zu bytes of an unterminated line at rotation",
                 f->path, v->partial.len);
        buf_reset(&v->partial);
    }
}

/* Remember the bytes just before the offset. */
static void tail_load(struct fview *v)
{
    size_t k =
        v->off < (off_t)sizeof(v->tail) ? (size_t)v->off : sizeof(v->tail);
    ssize_t n = k > 0 ? pread(v->fd, v->tail, k, v->off - (off_t)k) : 0;

    v->ntail = n == (ssize_t)k ? k : 0;
}

/* Are the bytes before the offset still the ones read there? */
static bool tail_same(struct fview *v)
{
    char now[sizeof(v->tail)];

    if (v->ntail == 0)
        return true;
    return pread(v->fd, now, v->ntail, v->off - (off_t)v->ntail) ==
               (ssize_t)v->ntail &&
           memcmp(now, v->tail, v->ntail) == 0;
}

/* The file was truncated (and maybe written again): read it from its
 * start. */
static void restart(struct filein *f)
{
    struct fview *v = &f->cur;

    log_info("file", "%s was truncated; reading from its start", f->path);
    /* Held lines stop reading: what the file had after them is only in
     * its copy now (copytruncate). */
    if (v->held && v->seen_size > v->off)
        log_error("file",
                  "%s: %lld bytes after the lines the store refused were not "
                  "read before the file was truncated: they are lost (only "
                  "in its copy)",
                  f->path, (long long)(v->seen_size - v->off));
    v->seen_size = 0;
    lseek(v->fd, 0, SEEK_SET);
    v->off = 0;
    v->ntail = 0;
    v->line = 1;
    if (v->held) {
        /* Whole lines read before, that the store refused: still handed
         * (without a position, they are no longer in the file) before
         * the file's new lines; the half line after them is none. */
        size_t end = v->partial.len;

        while (end > 0 && v->partial.data[end - 1] != '\n')
            end--;
        v->partial.len = end;
        if (v->partial.data != NULL)
            v->partial.data[end] = '\0';
        v->orphan = end > 0;
        v->held = end > 0;
    } else {
        buf_reset(&v->partial);
    }
}

/* Is v, just opened, the file of resume, with the same bytes before its
 * offset? Then v is placed there. */
static bool resume_at(struct fview *v, const struct filein_pos *r, off_t size)
{
    unsigned char now[sizeof(r->tail)];

    if ((unsigned long long)v->dev != r->dev ||
        (unsigned long long)v->ino != r->ino || size < (off_t)r->off)
        return false;
    if (r->ntail > 0 &&
        (pread(v->fd, now, r->ntail, (off_t)r->off - (off_t)r->ntail) !=
             (ssize_t)r->ntail ||
         memcmp(now, r->tail, r->ntail) != 0))
        return false;
    if (lseek(v->fd, (off_t)r->off, SEEK_SET) < 0)
        return false;
    v->off = (off_t)r->off;
    v->line = r->line;
    return true;
}

/* Open the file at the path: from its start, or at_end from its end, or
 * with resume (a position an earlier run saved) from there when it is
 * still that file, else from its start. */
static int open_file(struct filein *f, bool at_end,
                     const struct filein_pos *resume)
{
    struct fview *v = &f->cur;
    struct stat st;
    const char *how = "";

    /* O_NONBLOCK: opening a FIFO does not wait for a writer, and reading
     * a stream never blocks the thread (it must see the stop flag). */
    v->fd = open(f->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (v->fd < 0)
        return -1;
    if (fstat(v->fd, &st) < 0 || S_ISDIR(st.st_mode)) {
        int why = S_ISDIR(st.st_mode) ? EISDIR : errno;

        close(v->fd);
        v->fd = -1;
        errno = why;
        return -1;
    }
    v->stream = !S_ISREG(st.st_mode);
    v->eof = false;
    v->dev = st.st_dev;
    v->ino = st.st_ino;
    v->line = 1;
    v->off = 0;
    if (v->stream) {
        how = " (a stream: lines as they come)";
    } else if (resume != NULL) {
        how = resume_at(v, resume, st.st_size)
                  ? " from where it was left"
                  : " from its start (replaced or truncated since it was "
                    "last read)";
        at_end = false;
    } else if (at_end) {
        v->off = lseek(v->fd, 0, SEEK_END);
        how = " from its end";
    }
    if (v->off < 0)
        v->off = 0;
    if (!v->stream)
        tail_load(v);
    /* Opened at its end while a writer was half-way through a line: the
     * rest of that line is no line of its own. */
    v->mid_line = at_end && !v->stream && v->off > 0 && v->ntail > 0 &&
                  v->tail[v->ntail - 1] != '\n';
    /* A position to resume from, before any line comes. */
    f->announce = at_end && f->follow && !v->stream && !v->mid_line;
    buf_reset(&v->partial);
    log_info("file", "reading %s%s", f->path, how);
    return 0;
}

/* Tell the position of a file opened at its end, so that a restart before
 * its next line resumes there rather than at the end it then has. */
static void announce(struct filein *f)
{
    struct filein_pos pos;
    struct fview *v = &f->cur;

    pos_of(v, v->off, v->line, v->tail, v->ntail, &pos);
    f->announce = !f->fn(f->ctx, "", 0, v->line, &pos); /* else again */
}

/* Drop the end of the line the file was opened in, up to its newline. */
static void skip_mid_line(struct fview *v)
{
    const char *d = buf_str(&v->partial);
    const char *nl = memchr(d, '\n', v->partial.len);

    if (nl == NULL) {
        buf_reset(&v->partial);
        return;
    }
    v->mid_line = false;
    partial_drop(v, (size_t)(nl + 1 - d));
}

/* Read everything available now of v. Returns bytes read. */
static size_t read_some(struct filein *f, struct fview *v)
{
    char chunk[65536];
    size_t total = 0;
    ssize_t n;

    /* Lines the store did not take go first; nothing more is read (or
     * buffered) until they are. */
    if (v->held && (util_mono() < f->retry_at || !deliver(f, v, false)))
        return 0;
    while ((n = read(v->fd, chunk, sizeof(chunk))) > 0) {
        if (buf_add(&v->partial, chunk, (size_t)n) < 0) {
            buf_init(&v->partial, 0);
            log_warn("file", "%s: dropped an over-long line", f->path);
        }
        v->off += n;
        total += (size_t)n;
        if (v->mid_line)
            skip_mid_line(v);
        if (!deliver(f, v, false) || total > (64u << 20))
            break; /* held; or let the stop flag and rotation checks run */
    }
    v->eof = n == 0;
    if (v->stream && v->eof && !v->held)
        deliver(f, v, true); /* its writers are gone: the last line is whole */
    if (total > 0 && !v->stream)
        tail_load(v);
    return total;
}

/* Rotation or truncation since the last look? Acts on it. */
static void check_path(struct filein *f)
{
    struct fview *v = &f->cur;
    struct stat st;

    if (stat(f->path, &st) < 0 || st.st_dev != v->dev || st.st_ino != v->ino) {
        /* Renamed away (or deleted): the new file is opened at once, and
         * the old one still read for a while, as its writer may append
         * to it until it reopens the path. */
        read_some(f, v);
        if (f->old.fd >= 0)
            close_file(f, &f->old, false);
        buf_cleanup(&f->old.partial);
        f->old = *v;
        f->old_until = util_mono() + FILEIN_ROTATE_WAIT;
        memset(v, 0, sizeof(*v));
        v->fd = -1;
        buf_init(&v->partial, 0);
        log_info("file", "%s was rotated; reopening", f->path);
        return;
    }
    if (st.st_size < v->off)
        restart(f);
    else
        v->seen_size = st.st_size;
}

/* Read what the writer still appends to the rotated-away file; close it
 * once FILEIN_ROTATE_WAIT has passed without a new byte. */
static void read_old(struct filein *f)
{
    if (f->old.fd < 0)
        return;
    if (read_some(f, &f->old) > 0)
        f->old_until = util_mono() + FILEIN_ROTATE_WAIT;
    else if (util_mono() >= f->old_until && !f->old.held)
        close_file(f, &f->old, false); /* held lines: not before taken */
}

static bool wait_stop(struct filein *f, double secs)
{
    struct timespec ts;
    int stop;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += (time_t)secs;
    ts.tv_nsec += (long)((secs - (double)(long)secs) * 1e9);
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&f->mu);
    if (!f->stop)
        pthread_cond_timedwait(&f->cv, &f->mu, &ts);
    stop = f->stop;
    pthread_mutex_unlock(&f->mu);
    return stop != 0;
}

static void *filein_main(void *arg)
{
    struct filein *f = arg;
    bool warned = false;

    util_thread_name("tocsin-file");
    for (;;) {
        read_old(f);
        if (f->cur.fd < 0) {
            /* Only the file present at start (opened by filein_start) is
             * read from its end; any later one from its start. */
            if (open_file(f, false, NULL) < 0) {
                if (!f->follow) {
                    log_error("file", "cannot read %s: %s", f->path,
                              strerror(errno));
                    break;
                }
                if (!warned)
                    log_warn("file", "%s: %s; waiting for it", f->path,
                             strerror(errno));
                warned = true;
            } else {
                warned = false;
            }
        }
        if (f->cur.fd >= 0 && f->cur.stream) {
            /* Followed, a FIFO's next writer is waited for; read once, a
             * stream ends when its writers are gone. */
            read_some(f, &f->cur);
            if (!f->follow && f->cur.eof) {
                close_file(f, &f->cur, true);
                break;
            }
        } else if (f->cur.fd >= 0) {
            if (f->announce)
                announce(f);
            if (f->follow && !tail_same(&f->cur))
                restart(f);
            read_some(f, &f->cur);
            if (!f->follow) {
                close_file(f, &f->cur, true);
                break;
            }
            check_path(f);
            if (f->cur.fd < 0)
                continue; /* rotated: open the new file at once */
        }
        if (wait_stop(f, f->poll)) {
            /* A file rotated away has no position to read on from: what
             * its writer appended so far is read now. */
            if (f->old.fd >= 0 && !f->old.held)
                read_some(f, &f->old);
            break;
        }
    }
    atomic_store(&f->finished, true);
    return NULL;
}

struct filein *filein_start(const struct filein_cfg *cfg, filein_fn fn,
                            void *ctx, struct err *e)
{
    struct filein *f = xcalloc(1, sizeof(*f));
    struct filein_pos rp;
    pthread_condattr_t ca;

    f->path = xstrdup(cfg->path);
    f->follow = cfg->follow;
    f->poll = cfg->poll_interval > 0 ? cfg->poll_interval : 0.25;
    f->fn = fn;
    f->ctx = ctx;
    f->cur.fd = -1;
    f->cur.line = 1;
    f->old.fd = -1;
    atomic_init(&f->finished, false);
    buf_init(&f->cur.partial, 0);
    buf_init(&f->old.partial, 0);
    pthread_mutex_init(&f->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&f->cv, &ca);
    pthread_condattr_destroy(&ca);
    /* Open now, so "from its end" means the end at start-up. */
    if (open_file(f, f->follow,
                  f->follow && cfg->resume != NULL &&
                          filein_pos_parse(cfg->resume, &rp) == 0
                      ? &rp
                      : NULL) < 0)
        f->cur.fd = -1;
    if (pthread_create(&f->th, NULL, filein_main, f) != 0) {
        err_set(e, "file %s: cannot start a thread", cfg->path);
        if (f->cur.fd >= 0)
            close(f->cur.fd);
        buf_cleanup(&f->cur.partial);
        buf_cleanup(&f->old.partial);
        pthread_cond_destroy(&f->cv);
        pthread_mutex_destroy(&f->mu);
        free(f->path);
        free(f);
        return NULL;
    }
    return f;
}

bool filein_finished(struct filein *f)
{
    return atomic_load(&f->finished);
}

void filein_stop(struct filein *f)
{
    if (f == NULL)
        return;
    pthread_mutex_lock(&f->mu);
    f->stop = 1;
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
    pthread_join(f->th, NULL);
    if (f->old.held && f->old.partial.len > 0)
        log_error("file",
                  "%s: %zu bytes of the file rotated away that the store did "
                  "not take are lost (it has no position to read on from)",
                  f->path, f->old.partial.len);
    if (f->cur.fd >= 0)
        close(f->cur.fd);
    if (f->old.fd >= 0)
        close(f->old.fd);
    buf_cleanup(&f->cur.partial);
    buf_cleanup(&f->old.partial);
    pthread_cond_destroy(&f->cv);
    pthread_mutex_destroy(&f->mu);
    free(f->path);
    free(f);
}
