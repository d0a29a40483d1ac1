/* buf.h - growable byte buffer with a hard maximum size (like curl's dynbuf).
 * Once an append would pass the maximum the buffer frees itself, stays in an
 * error state, and every later append fails: a runaway template cannot grow
 * without bound. The content is always NUL-terminated. */
#ifndef TOCSIN_BUF_H
#define TOCSIN_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
    char *data; /* NUL-terminated; NULL until the first append */
    size_t len;
    size_t cap;
    size_t max; /* maximum len; 0 means the default of 16 MiB */
    int failed; /* set after an append failed (too big or out of memory) */
};

#define BUF_DEFAULT_MAX ((size_t)16 << 20)

void buf_init(struct buf *b, size_t max);
/* Free the content; the buffer can be reused after buf_init. */
void buf_cleanup(struct buf *b);
/* Empty the content, keep the memory and any failure cleared. */
void buf_reset(struct buf *b);
/* Each returns 0, or -1 when the maximum was passed or memory ran out.
 * buf_reserve makes room for extra more bytes now (one allocation instead
 * of several as the content grows). */
int buf_reserve(struct buf *b, size_t extra);
int buf_add(struct buf *b, const void *p, size_t n);
int buf_adds(struct buf *b, const char *s);
int buf_addc(struct buf *b, char c);
int buf_printf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap);
/* Append s as the inside of a JSON string (no quotes): escapes ", \ and
 * control characters. */
int buf_add_json_str(struct buf *b, const char *s, size_t n);
/* The same as Go's encoding/json writes it (what Alertmanager sends):
 * also <, > and & as \u003c, \u003e and \u0026, U+2028 and U+2029 as
 * \u2028 and \u2029, and each byte that is not part of valid UTF-8 as
 * \ufffd. */
int buf_add_json_str_go(struct buf *b, const char *s, size_t n);
/* Hand the content to the caller (free with free()); the buffer is emptied.
 * Returns "" (allocated) for an empty buffer, NULL if failed. */
char *buf_steal(struct buf *b);
/* Borrowed pointer to the content, "" when empty. */
const char *buf_str(const struct buf *b);

#endif
