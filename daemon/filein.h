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

/* Called on the follower's thread with one or more complete lines (text ends
 * with '\n' except for a final unterminated line at EOF or rotation);
 * first_line is the 1-based number of the first line in the current file. */
typedef void (*filein_fn)(void *ctx, const char *text, size_t len,
                          size_t first_line);

struct filein_cfg {
    const char *path;     /* copied */
    bool follow;          /* false: read once from the start, then stop */
    double poll_interval; /* seconds (default 0.25) */
};

struct filein;

/* Start the reader thread. With follow, a file that exists now is read from
 * its end (like tail -F, so a restart does not replay old lines); a file
 * that appears later, or replaces a rotated one, is read from its start.
 * Without follow the whole file is read once. NULL with e on failure. */
struct filein *filein_start(const struct filein_cfg *cfg, filein_fn fn,
                            void *ctx, struct err *e);
/* True once a non-follow reader has read the whole file. */
bool filein_finished(struct filein *f);
/* Stop the thread and free f (NULL is a no-op). */
void filein_stop(struct filein *f);

#endif
