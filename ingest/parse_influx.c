/* parse_influx.c - InfluxDB line protocol:
 *   measurement[,tag=v...] field=value[,field=value...] [timestamp_ns]
 * One sample per numeric field, named measurement_field (or measurement for
 * a field called "value"); i/u integers, booleans as 1/0, string fields
 * skipped. Decodes into the parser's scratch: no malloc per line. */
#include <math.h>
#include <string.h>

#include "parse_int.h"

#define STOP_COMMA 1
#define STOP_SPACE 2
#define STOP_EQ 4

/* Fields of one line, kept until the whole line has been checked so that a
 * rejected line emits nothing. */
#define INFLUX_MAX_FIELDS 1024

struct influx_field {
    const char *key;
    size_t klen;
    double v;
};

static int stops_at(char c, int stops)
{
    return ((stops & STOP_COMMA) && c == ',') ||
           ((stops & STOP_SPACE) && (c == ' ' || c == '\t')) ||
           ((stops & STOP_EQ) && c == '=');
}

/* Copy s[*i..] into dst up to an unescaped stop character, resolving the
 * escapes \, \space and \\, and \= unless in a measurement (any other
 * backslash stays literal, as influx does). Returns the decoded length; *i
 * is left at the stop or at n. */
static size_t decode_until(const char *s, size_t n, size_t *i, int stops,
                           bool eq_escape, char *dst)
{
    size_t k = 0, j = *i;

    while (j < n) {
        char c = s[j];
        if (c == '\\' && j + 1 < n &&
            (s[j + 1] == ',' || (eq_escape && s[j + 1] == '=') ||
             s[j + 1] == ' ' || s[j + 1] == '\\')) {
            dst[k++] = s[j + 1];
            j += 2;
            continue;
        }
        if (stops_at(c, stops))
            break;
        dst[k++] = c;
        j++;
    }
    *i = j;
    return k;
}

static int influx_bool(const char *s, size_t n, double *out)
{
    static const char *const yes[] = {"t", "T", "true", "True", "TRUE"};
    static const char *const no[] = {"f", "F", "false", "False", "FALSE"};

    for (size_t k = 0; k < 5; k++) {
        if (strlen(yes[k]) == n && memcmp(s, yes[k], n) == 0) {
            *out = 1;
            return 0;
        }
        if (strlen(no[k]) == n && memcmp(s, no[k], n) == 0) {
            *out = 0;
            return 0;
        }
    }
    return -1;
}

/* Classify and convert one field value token (not a string). */
static int influx_value(struct ingest_parser *p, const char *s, size_t n,
                        double *out)
{
    char q[48];
    int64_t iv;
    int rc;

    if (n == 0)
        return ingest_reject(p, "missing field value");
    if (s[n - 1] == 'i' && n > 1) {
        if (ingest_scan_int64(s, n - 1, &iv) < 0)
            return ingest_reject(p, "invalid integer \"%s\"",
                                 ingest_quote(s, n, q, sizeof(q)));
        *out = (double)iv;
        return 0;
    }
    if (s[n - 1] == 'u' && n > 1) {
        uint64_t uv = 0;
        for (size_t k = 0; k + 1 < n; k++) {
            unsigned d = (unsigned)(s[k] - '0');
            if (d > 9 || uv > (UINT64_MAX - d) / 10)
                return ingest_reject(p, "invalid unsigned integer \"%s\"",
                                     ingest_quote(s, n, q, sizeof(q)));
            uv = uv * 10 + d;
        }
        *out = (double)uv;
        return 0;
    }
    if ((s[0] == 't' || s[0] == 'T' || s[0] == 'f' || s[0] == 'F') &&
        influx_bool(s, n, out) == 0)
        return 0;
    rc = ingest_scan_double(s, n, out);
    if (rc <= -2)
        return ingest_reject(p, "NaN/Inf value \"%s\" rejected",
                             ingest_quote(s, n, q, sizeof(q)));
    if (rc < 0)
        return ingest_reject(p, "invalid field value \"%s\"",
                             ingest_quote(s, n, q, sizeof(q)));
    return 0;
}

int ingest_parse_influx(struct ingest_parser *p, const char *line, size_t len,
                        sample_fn emit, void *ctx)
{
    struct influx_field fields[INFLUX_MAX_FIELDS];
    size_t nf = 0, i = 0, mlen;
    double ts = NAN;
    int n = 0;
    char q[48];

    if (line[0] == '#')
        return 0; /* comment */
    /* Measurement, decoded into the metric buffer: fields append to it. */
    mlen =
        decode_until(line, len, &i, STOP_COMMA | STOP_SPACE, false, p->metric);
    if (mlen == 0)
        return ingest_reject(p, "empty measurement name");
    while (i < len && line[i] == ',') {
        char *k, *v;
        size_t kn, vn;

        i++;
        k = sc_reserve(p);
        kn = decode_until(line, len, &i, STOP_COMMA | STOP_SPACE | STOP_EQ,
                          true, k);
        if (i >= len || line[i] != '=')
            return ingest_reject(p, "tag \"%s\" without value",
                                 ingest_quote(k, kn, q, sizeof(q)));
        if (kn == 0)
            return ingest_reject(p, "empty tag key");
        sc_commit(p, kn);
        i++;
        v = sc_reserve(p);
        vn = decode_until(line, len, &i, STOP_COMMA | STOP_SPACE, true, v);
        if (vn == 0)
            return ingest_reject(p, "empty value for tag \"%s\"",
                                 ingest_quote(k, kn, q, sizeof(q)));
        sc_commit(p, vn);
        if (ingest_add_label(p, k, v) < 0)
            return -1;
    }
    if (i >= len)
        return ingest_reject(p, "missing fields");
    if (line[i] != ' ' && line[i] != '\t')
        return ingest_reject(p, "unexpected \"%c\" after the tags", line[i]);
    while (i < len && (line[i] == ' ' || line[i] == '\t'))
        i++;
    for (;;) {
        char *k;
        size_t kn, vs;

        k = sc_reserve(p);
        kn = decode_until(line, len, &i, STOP_COMMA | STOP_SPACE | STOP_EQ,
                          true, k);
        if (i >= len || line[i] != '=')
            return ingest_reject(p, "field \"%s\" without value",
                                 ingest_quote(k, kn, q, sizeof(q)));
        if (kn == 0)
            return ingest_reject(p, "empty field key");
        sc_commit(p, kn);
        i++;
        if (i < len && line[i] == '"') {
            /* String field: skipped, but it must be well formed. */
            i++;
            while (i < len && line[i] != '"') {
                if (line[i] == '\\' && i + 1 < len)
                    i++;
                i++;
            }
            if (i >= len)
                return ingest_reject(p, "unterminated string field \"%s\"",
                                     ingest_quote(k, kn, q, sizeof(q)));
            i++;
        } else {
            double v;
            vs = i;
            while (i < len && line[i] != ',' && line[i] != ' ' &&
                   line[i] != '\t')
                i++;
            if (influx_value(p, line + vs, i - vs, &v) < 0)
                return -1;
            if (nf >= INFLUX_MAX_FIELDS)
                return ingest_reject(p, "too many fields (max %d)",
                                     INFLUX_MAX_FIELDS);
            fields[nf].key = k;
            fields[nf].klen = kn;
            fields[nf].v = v;
            nf++;
        }
        if (i < len && line[i] == ',') {
            i++;
            continue;
        }
        break;
    }
    if (i < len && line[i] != ' ' && line[i] != '\t')
        return ingest_reject(p, "unexpected \"%c\" after a field value",
                             line[i]);
    while (i < len && (line[i] == ' ' || line[i] == '\t'))
        i++;
    if (i < len) {
        size_t ts0 = i;
        int64_t ns;

        while (i < len && line[i] != ' ' && line[i] != '\t')
            i++;
        if (ingest_scan_int64(line + ts0, i - ts0, &ns) < 0)
            return ingest_reject(
                p, "invalid timestamp \"%s\"",
                ingest_quote(line + ts0, i - ts0, q, sizeof(q)));
        while (i < len && (line[i] == ' ' || line[i] == '\t'))
            i++;
        if (i < len)
            return ingest_reject(p, "unexpected text after the timestamp");
        /* Split to keep the nanoseconds exact before the division. */
        ts = (double)(ns / 1000000000) + (double)(ns % 1000000000) / 1e9;
    }
    for (size_t f = 0; f < nf; f++) {
        const char *metric = p->metric;
        if (!(fields[f].klen == 5 && memcmp(fields[f].key, "value", 5) == 0)) {
            p->metric[mlen] = '_';
            memcpy(p->metric + mlen + 1, fields[f].key, fields[f].klen);
            p->metric[mlen + 1 + fields[f].klen] = '\0';
        } else {
            p->metric[mlen] = '\0';
        }
        n++;
        if (ingest_emit(p, metric, fields[f].v, ts, emit, ctx))
            break;
    }
    return n;
}
