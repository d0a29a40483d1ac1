/* parse_prom.c - Prometheus text exposition format 0.0.4, one line at a time:
 *   name{label="value",...} value [timestamp_ms]
 * plus "# HELP" / "# TYPE" lines (TYPEs are remembered per family in the
 * parser; histogram buckets must then carry "le") and ignored comments.
 * Histogram/summary series are plain samples under their own names. A NaN
 * or infinite value (a summary with no observations) is valid: the line
 * gives no sample and is counted in p->skipped. */
#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "parse_int.h"

static int is_ws(char c)
{
    return c == ' ' || c == '\t';
}

static int name_start(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
           c == ':';
}

static int name_char(char c)
{
    return name_start(c) || (c >= '0' && c <= '9');
}

static size_t skip_ws(const char *s, size_t n, size_t i)
{
    while (i < n && is_ws(s[i]))
        i++;
    return i;
}

static const char *const type_names[] = {
    [PROM_UNTYPED] = "untyped", [PROM_COUNTER] = "counter",
    [PROM_GAUGE] = "gauge",     [PROM_HISTOGRAM] = "histogram",
    [PROM_SUMMARY] = "summary",
};

enum prom_type ingest_prom_type(struct ingest_parser *p, const char *family)
{
    struct smap_ent *e = smap_get(&p->prom_types, family, strlen(family));
    return e ? (enum prom_type)(int)e->val : PROM_UNTYPED;
}

/* "# HELP name text", "# TYPE name type" or any other comment. */
static int prom_comment(struct ingest_parser *p, const char *s, size_t n)
{
    size_t i = skip_ws(s, n, 1), w0, nm0, nm1, t0;
    int is_type;
    char q[48];

    w0 = i;
    while (i < n && !is_ws(s[i]))
        i++;
    if (i - w0 == 4 && memcmp(s + w0, "HELP", 4) == 0)
        is_type = 0;
    else if (i - w0 == 4 && memcmp(s + w0, "TYPE", 4) == 0)
        is_type = 1;
    else
        return 0; /* a plain comment */
    /* "# HELP" alone is a comment to Prometheus' lexer, which reads HELP
     * and TYPE only when whitespace follows them. */
    if (i >= n)
        return 0;
    nm0 = i = skip_ws(s, n, i);
    if (i >= n || !name_start(s[i]))
        return ingest_reject(p, "%s line without a metric name",
                             is_type ? "TYPE" : "HELP");
    while (i < n && name_char(s[i]))
        i++;
    nm1 = i;
    if (i < n && !is_ws(s[i]))
        return ingest_reject(p, "invalid metric name in %s line",
                             is_type ? "TYPE" : "HELP");
    if (!is_type)
        return 0; /* the help text is free-form */
    t0 = i = skip_ws(s, n, i);
    while (i < n && !is_ws(s[i]))
        i++;
    if (skip_ws(s, n, i) != n)
        return ingest_reject(p, "unexpected text after the TYPE");
    for (size_t t = 0; t < sizeof(type_names) / sizeof(type_names[0]); t++) {
        if (strlen(type_names[t]) == i - t0 &&
            memcmp(s + t0, type_names[t], i - t0) == 0) {
            /* A full map only forgets new families' TYPEs: their buckets
             * are then not checked for "le", nothing is lost. */
            (void)smap_put(&p->prom_types, s + nm0, nm1 - nm0, (double)t);
            return 0;
        }
    }
    return ingest_reject(p, "unknown metric type \"%s\"",
                         ingest_quote(s + t0, i - t0, q, sizeof(q)));
}

/* Decode a quoted label value at s[*i] (just after the opening quote) into
 * scratch: \\ \" \n, and any other escape kept as written. */
static const char *prom_label_value(struct ingest_parser *p, const char *s,
                                    size_t n, size_t *i)
{
    char *d = sc_reserve(p);
    size_t k = 0, j = *i;

    while (j < n && s[j] != '"') {
        if (s[j] == '\\') {
            if (j + 1 >= n)
                break;
            switch (s[j + 1]) {
            case '\\':
                d[k++] = '\\';
                break;
            case '"':
                d[k++] = '"';
                break;
            case 'n':
                d[k++] = '\n';
                break;
            default:
                /* As Prometheus' scraper reads it: an unknown escape is
                 * kept as written ("C:\temp" stays C:\temp). */
                d[k++] = '\\';
                d[k++] = s[j + 1];
                break;
            }
            j += 2;
            continue;
        }
        d[k++] = s[j++];
    }
    if (j >= n) {
        ingest_reject(p, "unterminated label value");
        return NULL;
    }
    *i = j + 1;
    sc_commit(p, k);
    return d;
}

static int prom_labels(struct ingest_parser *p, const char *s, size_t n,
                       size_t *pi)
{
    size_t i = *pi + 1;

    for (;;) {
        size_t k0;
        const char *name, *value;

        i = skip_ws(s, n, i);
        if (i < n && s[i] == '}')
            break;
        k0 = i;
        if (i < n && name_start(s[i]) && s[i] != ':')
            while (i < n && name_char(s[i]) && s[i] != ':')
                i++;
        if (i == k0)
            return ingest_reject(p, "invalid label name");
        name = sc_copy(p, s + k0, i - k0);
        i = skip_ws(s, n, i);
        if (i >= n || s[i] != '=')
            return ingest_reject(p, "expected \"=\" after label \"%.64s\"",
                                 name ? name : "");
        i = skip_ws(s, n, i + 1);
        if (i >= n || s[i] != '"')
            return ingest_reject(p, "label \"%.64s\" value is not quoted",
                                 name ? name : "");
        i++;
        value = prom_label_value(p, s, n, &i);
        if (value == NULL)
            return -1;
        if (name != NULL && strcmp(name, "__name__") == 0)
            return ingest_reject(p, "label name \"__name__\" is reserved");
        if (ingest_add_label(p, name, value) < 0)
            return -1;
        i = skip_ws(s, n, i);
        if (i < n && s[i] == ',') {
            i++;
            continue;
        }
        if (i < n && s[i] == '}')
            break;
        return ingest_reject(p, "expected \",\" or \"}\" after a label");
    }
    /* An empty value is no label at all: ingest_emit drops it. */
    *pi = i + 1;
    return 0;
}

/* A bound as the exposition format's own parser reads one: a number, or
 * NaN/Inf in any of its spellings ("+Inf", "Inf", "inf"). */
static bool bound_ok(const char *s)
{
    double d;
    int rc = ingest_scan_double(s, strlen(s), &d);

    return rc == 0 || rc == -2;
}

/* A histogram's _bucket series must say which bucket it is, and a summary's
 * quantile label must be a number. */
static int check_bounds(struct ingest_parser *p, const char *name, size_t nn)
{
    const struct smap_ent *e;
    const char *v;

    if (p->prom_types.n == 0)
        return 0;
    e = smap_get(&p->prom_types, name, nn);
    if (e != NULL && (int)e->val == PROM_SUMMARY &&
        (v = labels_get(p->labels, p->nlabels, "quantile")) != NULL &&
        !bound_ok(v))
        return ingest_reject(p, "invalid quantile=\"%.32s\"", v);
    if (nn <= 7 || memcmp(name + nn - 7, "_bucket", 7) != 0)
        return 0;
    e = smap_get(&p->prom_types, name, nn - 7);
    if (e == NULL || (int)e->val != PROM_HISTOGRAM)
        return 0;
    v = labels_get(p->labels, p->nlabels, "le");
    if (v == NULL)
        return ingest_reject(p, "histogram bucket without \"le\" label");
    if (!bound_ok(v))
        return ingest_reject(p, "invalid bucket bound le=\"%.32s\"", v);
    return 0;
}

int ingest_parse_prom(struct ingest_parser *p, const char *line, size_t len,
                      sample_fn emit, void *ctx)
{
    size_t i = 0, nn, v0;
    double v, ts = NAN;
    int rc;
    char q[48];

    if (line[0] == '#')
        return prom_comment(p, line, len);
    if (!name_start(line[0]))
        return ingest_reject(p, "invalid metric name");
    while (i < len && name_char(line[i]))
        i++;
    nn = i;
    memcpy(p->metric, line, nn);
    p->metric[nn] = '\0';
    i = skip_ws(line, len, i);
    if (i < len && line[i] == '{') {
        if (prom_labels(p, line, len, &i) < 0)
            return -1;
        i = skip_ws(line, len, i);
    } else if (i == nn && i < len) {
        return ingest_reject(p, "invalid character \"%c\" in metric name",
                             line[i]);
    }
    if (i >= len)
        return ingest_reject(p, "missing value");
    v0 = i;
    while (i < len && !is_ws(line[i]))
        i++;
    rc = ingest_scan_double(line + v0, i - v0, &v);
    if (rc == -3)
        return ingest_reject(p, "value \"%s\" out of range",
                             ingest_quote(line + v0, i - v0, q, sizeof(q)));
    if (rc == -1)
        return ingest_reject(p, "invalid value \"%s\"",
                             ingest_quote(line + v0, i - v0, q, sizeof(q)));
    i = skip_ws(line, len, i);
    if (i < len) {
        size_t t0 = i;
        int64_t ms;

        if (line[t0] == '#')
            return ingest_reject(p, "an exemplar (\"# {...}\") is OpenMetrics, "
                                    "not text format 0.0.4");
        while (i < len && !is_ws(line[i]))
            i++;
        if (ingest_scan_int64(line + t0, i - t0, &ms) < 0)
            return ingest_reject(p, "invalid timestamp \"%s\"",
                                 ingest_quote(line + t0, i - t0, q, sizeof(q)));
        if (skip_ws(line, len, i) != len)
            return ingest_reject(p, "unexpected text after the timestamp");
        ts = (double)(ms / 1000) + (double)(ms % 1000) / 1000.0;
        if (ingest_check_ts(p, ts, "milliseconds") < 0)
            return -1;
    }
    if (check_bounds(p, p->metric, nn) < 0)
        return -1;
    if (rc == -2) {
        /* A valid line whose value the engine cannot evaluate. */
        p->skipped++;
        return 0;
    }
    ingest_emit(p, p->metric, v, ts, emit, ctx);
    return 1;
}
