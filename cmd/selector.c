/* selector.c - the series names of `tocsin test` files, written as promtool
 * writes them: `name{label="value", ...}`, or the name as a `__name__`
 * matcher (`{__name__="name", ...}`). Values are quoted with ", ' or `
 * and take Go's escapes, as PromQL strings do. A name is any text before
 * the braces (tocsin's inputs have names with dots and dashes, graphite
 * paths and StatsD buckets, that PromQL would not take). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/buf.h"
#include "../common/labels.h"
#include "../common/util.h"
#include "selector.h"

static const char *skip_space(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

/* Append code point cp as UTF-8. */
static void put_utf8(struct buf *b, unsigned long cp)
{
    if (cp < 0x80) {
        buf_addc(b, (char)cp);
    } else if (cp < 0x800) {
        buf_addc(b, (char)(0xc0 | (cp >> 6)));
        buf_addc(b, (char)(0x80 | (cp & 0x3f)));
    } else if (cp < 0x10000) {
        buf_addc(b, (char)(0xe0 | (cp >> 12)));
        buf_addc(b, (char)(0x80 | ((cp >> 6) & 0x3f)));
        buf_addc(b, (char)(0x80 | (cp & 0x3f)));
    } else {
        buf_addc(b, (char)(0xf0 | (cp >> 18)));
        buf_addc(b, (char)(0x80 | ((cp >> 12) & 0x3f)));
        buf_addc(b, (char)(0x80 | ((cp >> 6) & 0x3f)));
        buf_addc(b, (char)(0x80 | (cp & 0x3f)));
    }
}

/* One escape after the backslash at *pp (Go's: \a \b \f \n \r \t \v \\
 * \' \" \` \xNN \NNN \uNNNN \UNNNNNNNN) into b. 0, or -1. */
static int unescape(const char **pp, struct buf *b)
{
    static const char from[] = "abfnrtv\\'\"`", to[] = "\a\b\f\n\r\t\v\\'\"`";
    const char *p = *pp, *hit;
    unsigned long cp = 0;
    int digits = 0, base = 16;

    if (*p == '\0')
        return -1;
    if ((hit = strchr(from, *p)) != NULL) {
        buf_addc(b, to[hit - from]);
        *pp = p + 1;
        return 0;
    }
    if (*p == 'x')
        digits = 2;
    else if (*p == 'u')
        digits = 4;
    else if (*p == 'U')
        digits = 8;
    else if (*p >= '0' && *p <= '7')
        digits = 3, base = 8, p--;
    else
        return -1;
    for (int i = 0; i < digits; i++) {
        int d = util_hex_digit((unsigned char)*++p);

        if (d < 0 || d >= base)
            return -1;
        cp = cp * (unsigned long)base + (unsigned long)d;
    }
    if (digits == 3 || *(*pp) == 'x') {
        if (cp > 0xff)
            return -1;
        buf_addc(b, (char)cp); /* a byte */
    } else {
        if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return -1;
        put_utf8(b, cp);
    }
    *pp = p + 1;
    return 0;
}

/* A quoted value at *pp into b; *pp moves past its closing quote. */
static int quoted(const char **pp, struct buf *b, char *why, size_t whylen)
{
    const char *p = *pp;
    char q = *p++;

    if (q != '"' && q != '\'' && q != '`') {
        snprintf(why, whylen, "a label value must be quoted");
        return -1;
    }
    for (; *p != q; p++) {
        if (*p == '\0' || (q != '`' && *p == '\n')) {
            snprintf(why, whylen, "a quoted label value is not closed");
            return -1;
        }
        if (q != '`' && *p == '\\') {
            p++;
            if (unescape(&p, b) < 0) {
                snprintf(why, whylen, "a bad escape in a label value");
                return -1;
            }
            p--;
            continue;
        }
        buf_addc(b, *p);
    }
    *pp = p + 1;
    return 0;
}

static void add_label(struct label **v, size_t *n, const char *name,
                      const char *value)
{
    *v = xrealloc(*v, (*n + 1) * sizeof(**v));
    (*v)[*n].name = xstrdup(name);
    (*v)[*n].value = xstrdup(value);
    (*n)++;
}

void selector_free(char *metric, struct label *labels, size_t n)
{
    free(metric);
    for (size_t i = 0; i < n; i++) {
        free((char *)labels[i].name);
        free((char *)labels[i].value);
    }
    free(labels);
}

int selector_parse(const char *spec, char **metric, struct label **labels,
                   size_t *nlabels, char *why, size_t whylen)
{
    const char *p = skip_space(spec), *brace = strchr(p, '{');
    const char *end = brace ? brace : p + strlen(p);
    char *name = NULL;
    struct label *v = NULL;
    size_t n = 0;
    struct buf val, lname;

    *metric = NULL;
    *labels = NULL;
    *nlabels = 0;
    while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    if (end > p) {
        name = xmalloc((size_t)(end - p) + 1);
        memcpy(name, p, (size_t)(end - p));
        name[end - p] = '\0';
    }
    buf_init(&val, 0);
    buf_init(&lname, 0);
    if (name && strpbrk(name, " \t\"'`}=,") != NULL) {
        snprintf(why, whylen, "invalid metric name");
        goto fail;
    }
    if (brace) {
        p = skip_space(brace + 1);
        while (*p != '}') {
            const char *n0 = p;

            while (isalnum((unsigned char)*p) || *p == '_')
                p++;
            buf_reset(&lname);
            buf_add(&lname, n0, (size_t)(p - n0));
            if (p == n0 || !labels_name_valid(buf_str(&lname))) {
                snprintf(why, whylen, "expected a label name at \"%.20s\"", n0);
                goto fail;
            }
            p = skip_space(p);
            if (*p != '=' || p[1] == '~') {
                snprintf(why, whylen,
                         "label %s: a series takes only = matchers",
                         buf_str(&lname));
                goto fail;
            }
            p = skip_space(p + 1);
            buf_reset(&val);
            if (quoted(&p, &val, why, whylen) < 0)
                goto fail;
            if (strcmp(buf_str(&lname), "__name__") == 0) {
                if (name != NULL || val.len == 0) {
                    snprintf(why, whylen, "the metric name is given twice");
                    goto fail;
                }
                name = xstrdup(buf_str(&val));
            } else if (labels_get(v, n, buf_str(&lname)) != NULL) {
                snprintf(why, whylen, "duplicate label \"%s\"",
                         buf_str(&lname));
                goto fail;
            } else if (val.len > 0) {
                /* An empty value is no label, as in Prometheus. */
                add_label(&v, &n, buf_str(&lname), buf_str(&val));
            }
            p = skip_space(p);
            if (*p == ',')
                p = skip_space(p + 1);
            else if (*p != '}') {
                snprintf(why, whylen, "expected , or } at \"%.20s\"", p);
                goto fail;
            }
        }
        if (*skip_space(p + 1) != '\0') {
            snprintf(why, whylen, "text after the closing brace");
            goto fail;
        }
    }
    if (name == NULL || *name == '\0') {
        snprintf(why, whylen, "no metric name");
        goto fail;
    }
    if (val.failed || lname.failed) {
        snprintf(why, whylen, "out of memory");
        goto fail;
    }
    buf_cleanup(&val);
    buf_cleanup(&lname);
    *metric = name;
    *labels = v;
    *nlabels = n;
    return 0;
fail:
    buf_cleanup(&val);
    buf_cleanup(&lname);
    selector_free(name, v, n);
    return -1;
}
