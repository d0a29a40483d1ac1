/* parse_graphite.c - Graphite plaintext protocol:
 *   path value [timestamp_s]        e.g. servers.a.cpu 0.93 1767225600
 *   path;tag=v;tag2=w value [ts]    tagged series: the tags become labels
 * The metric is the dotted path. A timestamp of -1 means "now" (carbon's
 * convention) and yields no timestamp. A NaN or infinite value gives no
 * sample and is counted in p->skipped. */
#include <math.h>
#include <string.h>

#include "parse_int.h"

static int is_ws(char c)
{
    return c == ' ' || c == '\t';
}

/* Split "k=v;k2=v2" into labels. */
static int graphite_tags(struct ingest_parser *p, const char *s, size_t n)
{
    size_t i = 0;

    while (i <= n) {
        size_t t0 = i, eq;
        const char *k, *v;
        char q[48];

        while (i < n && s[i] != ';')
            i++;
        eq = t0;
        while (eq < i && s[eq] != '=')
            eq++;
        if (eq == i || eq == t0 || eq + 1 == i)
            return ingest_reject(p, "invalid tag \"%s\" (want name=value)",
                                 ingest_quote(s + t0, i - t0, q, sizeof(q)));
        k = sc_copy(p, s + t0, eq - t0);
        v = sc_copy(p, s + eq + 1, i - eq - 1);
        if (ingest_add_label(p, k, v) < 0)
            return -1;
        i++;
    }
    return 0;
}

int ingest_parse_graphite(struct ingest_parser *p, const char *line, size_t len,
                          sample_fn emit, void *ctx)
{
    size_t i = 0, path_end, semi, v0;
    double v, ts = NAN;
    int rc;
    char q[48];

    while (i < len && !is_ws(line[i]))
        i++;
    path_end = i;
    semi = 0;
    while (semi < path_end && line[semi] != ';')
        semi++;
    if (semi == 0)
        return ingest_reject(p, "empty metric name");
    memcpy(p->metric, line, semi);
    p->metric[semi] = '\0';
    if (semi < path_end &&
        graphite_tags(p, line + semi + 1, path_end - semi - 1) < 0)
        return -1;
    while (i < len && is_ws(line[i]))
        i++;
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
    while (i < len && is_ws(line[i]))
        i++;
    if (i < len) {
        size_t t0 = i;
        while (i < len && !is_ws(line[i]))
            i++;
        if (ingest_scan_double(line + t0, i - t0, &ts) != 0)
            return ingest_reject(p, "invalid timestamp \"%s\"",
                                 ingest_quote(line + t0, i - t0, q, sizeof(q)));
        while (i < len && is_ws(line[i]))
            i++;
        if (i < len)
            return ingest_reject(p, "unexpected text after the timestamp");
        if (ts == -1)
            ts = NAN;
        else if (ingest_check_ts(p, ts, "seconds") < 0)
            return -1;
    }
    if (rc == -2) {
        /* carbon drops a NaN value (collectd sends "nan" for a reading it
         * does not have): a valid line that gives no sample, counted as
         * skipped, as Prometheus text's NaN/Inf. */
        p->skipped++;
        return 0;
    }
    ingest_emit(p, p->metric, v, ts, emit, ctx);
    return 1;
}
