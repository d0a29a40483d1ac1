/* filein.h - the file input: read a metrics file once, or follow it like
 * `tail -F` (survives rotation by rename + new file, reading the old file
 * for a few seconds more while its writer may still append to it, and
 * truncation) by polling. Complete lines are handed to a callback in chunks;
 * the daemon parses them and queues the samples (daemon/inputs.c). */
#ifndef TOCSIN_DAEMON_FILEIN_H
#define TOCSIN_DAEMON_FILEIN_H

#include <stdbool.h>
#include <stddef.h>

#include "../common/err.h"

/* How far a followed file has been read: a line boundary to resume from
 * after a restart. */
struct filein_pos {
    unsigned long long dev, ino; /* the file */
    long long off;               /* bytes read */
    size_t line;                 /* number of the line at off */
    unsigned char tail[64];      /* the bytes just before off */
    size_t ntail;
};

/* Room for filein_pos_format's text. */
#define FILEIN_POS_TEXT 200
void filein_pos_format(const struct filein_pos *p, char *out, size_t size);
/* 0, or -1 when text is not filein_pos_format's. */
int filein_pos_parse(const char *text, struct filein_pos *p);

/* Called on the follower's thread with one or more complete lines (text ends
 * with '\n' except for a final unterminated line at EOF or rotation);
 * first_line is the 1-based number of the first line in the current file.
 * pos: for a followed regular file at the path, where reading stands once
 * these lines are taken (to save with their samples, and resume from);
 * NULL otherwise. Also called with len 0 and a pos alone, when a file is
 * opened at its end. Returns false when the lines were not taken (not
 * committed): they are handed again at the next poll, before anything
 * after them is read. */
typedef bool (*filein_fn)(void *ctx, const char *text, size_t len,
                          size_t first_line, const struct filein_pos *pos);

struct filein_cfg {
    const char *path;     /* copied */
    bool follow;          /* false: read once from the start, then stop */
    double poll_interval; /* seconds (default 0.25) */
    /* A position saved by an earlier run (filein_pos_format), or NULL. */
    const char *resume;
};

struct filein;

/* Seconds a rotated-away file is still read after its last new byte: its
 * writer keeps appending to it until it reopens the path (logrotate's
 * postrotate signal), as Fluent Bit's Rotate_Wait (5 s) allows for. Lines
 * of it the store refused keep it open longer, until they are taken. */
#define FILEIN_ROTATE_WAIT 5.0

/* Start the reader thread. With follow, a file that exists now is read from
 * the resume position when it is still the same file with the same bytes
 * before it, from its start when it was replaced or truncated since (lines
 * written while tocsin was stopped are read), and without a resume
 * position from its end (like tail -F); a file that appears later, or
 * replaces a rotated one, is read from its start. Without follow the whole
 * file is read once. NULL with e on failure. */
struct filein *filein_start(const struct filein_cfg *cfg, filein_fn fn,
                            void *ctx, struct err *e);
/* True once a non-follow reader has read the whole file. */
bool filein_finished(struct filein *f);
/* Stop the thread and free f (NULL is a no-op). */
void filein_stop(struct filein *f);

#endif
