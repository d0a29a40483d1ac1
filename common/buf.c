/* buf.c - size-capped dynamic buffer. */
#include "buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

void buf_init(struct buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max ? max : BUF_DEFAULT_MAX;
    b->failed = 0;
}

void buf_cleanup(struct buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

void buf_reset(struct buf *b)
{
    b->len = 0;
    b->failed = 0;
    if (b->data)
        b->data[0] = '\0';
}

static int buf_fail(struct buf *b)
{
    buf_cleanup(b);
    b->failed = 1;
    return -1;
}

int buf_reserve(struct buf *b, size_t extra)
{
    size_t need, ncap;
    char *p;

    if (b->failed)
        return -1;
    if (extra > b->max || b->len > b->max - extra)
        return buf_fail(b);
    need = b->len + extra + 1;
    if (need <= b->cap)
        return 0;
    ncap = b->cap ? b->cap : 64;
    while (ncap < need)
        ncap *= 2;
    p = realloc(b->data, ncap);
    if (p == NULL)
        return buf_fail(b);
    b->data = p;
    b->cap = ncap;
    return 0;
}

int buf_add(struct buf *b, const void *p, size_t n)
{
    /* Room already there (len < cap and len <= max hold after any
     * successful reserve): no call. */
    if (b->failed || n >= b->cap - b->len || n > b->max - b->len) {
        if (buf_reserve(b, n) < 0)
            return -1;
    }
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int buf_adds(struct buf *b, const char *s)
{
    return buf_add(b, s, strlen(s));
}

int buf_addc(struct buf *b, char c)
{
    return buf_add(b, &c, 1);
}

int buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    int n;

    va_copy(ap2, ap);
    n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0 || buf_reserve(b, (size_t)n) < 0)
        return -1;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return 0;
}

int buf_printf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    int r;

    va_start(ap, fmt);
    r = buf_vprintf(b, fmt, ap);
    va_end(ap);
    return r;
}

/* What the JSON escapers write for each byte after a backslash: 0 for a
 * byte copied as it is, 'u' for \u00XX; in Go's table 'h' for the first
 * byte of a UTF-8 character, looked at whole. */
/* clang-format off */
#define JSON_ESC_CONTROLS \
    'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', /* 0x00 */ \
    'u', 't', 'n', 'u', 'u', 'r', 'u', 'u', /* 0x08 */ \
    'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', /* 0x10 */ \
    'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', /* 0x18 */ \
    ['"'] = '"', ['\\'] = '\\'
static const char json_esc[256] = {JSON_ESC_CONTROLS};
static const char json_esc_go[256] = {
    JSON_ESC_CONTROLS, ['<'] = 'u', ['>'] = 'u', ['&'] = 'u',
    [0x80 ... 0xff] = 'h',
};
/* clang-format on */

static int json_str(struct buf *b, const char *s, size_t n, const char *esc)
{
    static const char hex[] = "0123456789abcdef";
    size_t i = 0, run;

    while (i < n) {
        char u[6];
        unsigned char c;

        /* The run of bytes copied as they are, in one piece. */
        for (run = i; i < n && esc[(unsigned char)s[i]] == 0; i++)
            ;
        if (i > run && buf_add(b, s + run, i - run) < 0)
            return -1;
        if (i == n)
            break;
        c = (unsigned char)s[i];
        if (esc[c] == 'h') {
            size_t k = util_utf8_seq(s + i, n - i);
            const char *put =
                k == 0 ? "\\ufffd" : util_utf8_separator_escape(s + i, k);

            if ((put ? buf_add(b, put, 6) : buf_add(b, s + i, k)) < 0)
                return -1;
            i += k ? k : 1;
            continue;
        }
        i++;
        u[0] = '\\';
        u[1] = esc[c];
        if (u[1] != 'u') {
            if (buf_add(b, u, 2) < 0)
                return -1;
            continue;
        }
        u[2] = '0';
        u[3] = '0';
        u[4] = hex[c >> 4];
        u[5] = hex[c & 15];
        if (buf_add(b, u, 6) < 0)
            return -1;
    }
    return b->data == NULL || b->failed ? buf_reserve(b, 0) : 0;
}

int buf_add_json_str(struct buf *b, const char *s, size_t n)
{
    return json_str(b, s, n, json_esc);
}

int buf_add_json_str_go(struct buf *b, const char *s, size_t n)
{
    return json_str(b, s, n, json_esc_go);
}

char *buf_steal(struct buf *b)
{
    char *p;

    if (b->failed)
        return NULL;
    p = b->data ? b->data : strdup("");
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}

const char *buf_str(const struct buf *b)
{
    return b->data ? b->data : "";
}
