/* err.h - error detail carried in a caller-supplied buffer (first error wins).
 * Library code (rules/, ingest/, store/, notifiers/) never exits; it returns a
 * negative status and fills a struct err. */
#ifndef TOCSIN_ERR_H
#define TOCSIN_ERR_H

#include <stddef.h>

struct err {
    int set; /* nonzero once a message was recorded */
    char msg[512];
};

/* Record a formatted message unless one is already set. NULL e is allowed. */
void err_set(struct err *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Forget any recorded message. */
void err_clear(struct err *e);

#endif
