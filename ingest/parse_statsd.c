/* parse_statsd.c - StatsD and DogStatsD lines:
 *   name:value[:value...]|type[|@rate][|#tag:v,tag2][|T<unix s>]
 * Types: c (counter, divided by the sample rate), g (gauge; "+N"/"-N" move
 * the last value the parser kept for that name+tags), ms/h/d (as-is), s
 * (sets: one sample of value 1 per line). DogStatsD tags become labels, a
 * tag without ":" gets the value "". No timestamp unless |T is given. */
#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "../common/log.h"
#include "parse_int.h"

#define STATSD_MAX_VALUES 64

enum statsd_type { ST_COUNTER, ST_GAUGE, ST_TIMER, ST_SET };

static int statsd_tags(struct ingest_parser *p, const char *s, size_t n)
{
    size_t i = 0;

    if (n == 0)
        return 0;
    while (i <= n) {
        size_t t0 = i, colon;
        const char *k, *v;

        while (i < n && s[i] != ',')
            i++;
        colon = t0;
        while (colon < i && s[colon] != ':')
            colon++;
        if (colon == t0)
            return ingest_reject(p, "empty tag name");
        /* A tag without a value is no label (ingest_emit would drop it;
         * dropped here, the gauges' memory is keyed as the series is). */
        if (colon + 1 < i) {
            k = sc_copy(p, s + t0, colon - t0);
            v = sc_copy(p, s + colon + 1, i - colon - 1);
            if (ingest_add_label(p, k, v) < 0)
                return -1;
        }
        i++;
    }
    return 0;
}

static int statsd_type(const char *s, size_t n, enum statsd_type *t)
{
    if (n == 1 && s[0] == 'c')
        *t = ST_COUNTER;
    else if (n == 1 && s[0] == 'g')
        *t = ST_GAUGE;
    else if ((n == 2 && memcmp(s, "ms", 2) == 0) ||
             (n == 1 && (s[0] == 'h' || s[0] == 'd')))
        *t = ST_TIMER;
    else if (n == 1 && s[0] == 's')
        *t = ST_SET;
    else
        return -1;
    return 0;
}

/* The gauge's identity: name and labels ordered by name, NUL-separated.
 * Tags are a set: "#a:1,b:2" and "#b:2,a:1" are one gauge. Tag names are
 * unique (ingest_add_label refuses a repeat), so each round appends the
 * smallest name greater than the previous round's. */
static size_t gauge_key(struct ingest_parser *p, const char *name, char **out)
{
    char *k = sc_reserve(p);
    size_t n = strlen(name) + 1, room = p->scap - p->slen;
    const char *prev = NULL;

    if (n > room)
        return 0;
    memcpy(k, name, n);
    for (size_t r = 0; r < p->nlabels; r++) {
        const struct label *next = NULL;
        for (size_t i = 0; i < p->nlabels; i++) {
            const struct label *l = &p->labels[i];
            if ((prev == NULL || strcmp(l->name, prev) > 0) &&
                (next == NULL || strcmp(l->name, next->name) < 0))
                next = l;
        }
        size_t a = strlen(next->name) + 1, b = strlen(next->value) + 1;
        if (n + a + b > room)
            return 0;
        memcpy(k + n, next->name, a);
        memcpy(k + n + a, next->value, b);
        n += a + b;
        prev = next->name;
    }
    *out = k;
    return n;
}

/* The values of a gauge line's nv values, in place: each itself, or for a
 * delta the gauge's value so far plus it. The last is remembered. All under
 * one lock, so a line is taken whole: -1 (nothing remembered) when one
 * leaves the double range. */
static int gauge_apply(struct ingest_parser *p, const char *delta, double *vals,
                       size_t nv)
{
    struct smap *m = p->shared ? &p->shared->map : &p->gauges;
    char *key = NULL;
    size_t kn = gauge_key(p, p->metric, &key);
    struct smap_ent *e;
    double g;
    int rc = 0;

    if (p->shared)
        pthread_mutex_lock(&p->shared->mu);
    e = kn ? smap_get(m, key, kn) : NULL;
    g = e ? e->val : 0;
    for (size_t k = 0; k < nv && rc == 0; k++) {
        g = delta[k] ? g + vals[k] : vals[k];
        if (isfinite(g))
            vals[k] = g;
        else
            rc = -1;
    }
    if (rc == 0 && e)
        smap_set(m, e, g);
    else if (rc == 0 && kn && smap_put(m, key, kn, g) == 1)
        log_warn("statsd",
                 "%d gauges remembered: forgot the least recently set half "
                 "(a +/- delta on one of them starts again from 0)",
                 INGEST_STATE_MAX);
    if (p->shared)
        pthread_mutex_unlock(&p->shared->mu);
    return rc;
}

bool statsd_is_event_or_check(const char *line, size_t len)
{
    return (len >= 3 && memcmp(line, "_e{", 3) == 0) ||
           (len >= 4 && memcmp(line, "_sc|", 4) == 0);
}

int ingest_parse_statsd(struct ingest_parser *p, const char *line, size_t len,
                        sample_fn emit, void *ctx)
{
    double vals[STATSD_MAX_VALUES], rate = 1, ts = NAN;
    char delta[STATSD_MAX_VALUES];
    size_t nv = 0, i = 0, colon, bar, t0;
    enum statsd_type type;
    int n = 0;
    char q[48];

    /* DogStatsD events and service checks share the socket with metrics
     * (Datadog clients send them); they carry no sample. */
    if (statsd_is_event_or_check(line, len))
        return 0;
    while (i < len && line[i] != ':')
        i++;
    if (i == 0)
        return ingest_reject(p, "empty metric name");
    if (i >= len)
        return ingest_reject(p, "missing \":\" after the metric name");
    colon = i;
    memcpy(p->metric, line, colon);
    p->metric[colon] = '\0';
    bar = colon + 1;
    while (bar < len && line[bar] != '|')
        bar++;
    if (bar >= len)
        return ingest_reject(p, "missing \"|type\"");
    t0 = bar + 1;
    i = t0;
    while (i < len && line[i] != '|')
        i++;
    if (statsd_type(line + t0, i - t0, &type) < 0)
        return ingest_reject(p, "unknown type \"%s\"",
                             ingest_quote(line + t0, i - t0, q, sizeof(q)));
    while (i < len) {
        size_t s0 = ++i;
        while (i < len && line[i] != '|')
            i++;
        if (i == s0)
            return ingest_reject(p, "empty section after \"|\"");
        if (line[s0] == '@') {
            int rc = ingest_scan_double(line + s0 + 1, i - s0 - 1, &rate);
            if (rc != 0 || !(rate > 0 && rate <= 1))
                return ingest_reject(
                    p, "invalid sample rate \"%s\"",
                    ingest_quote(line + s0, i - s0, q, sizeof(q)));
        } else if (line[s0] == '#') {
            if (statsd_tags(p, line + s0 + 1, i - s0 - 1) < 0)
                return -1;
        } else if (line[s0] == 'T') {
            if (ingest_scan_double(line + s0 + 1, i - s0 - 1, &ts) != 0)
                return ingest_reject(
                    p, "invalid timestamp \"%s\"",
                    ingest_quote(line + s0, i - s0, q, sizeof(q)));
            if (ingest_check_ts(p, ts, "seconds") < 0)
                return -1;
        } else if ((i - s0 >= 2 && line[s0 + 1] == ':' &&
                    (line[s0] == 'c' || line[s0] == 'e')) ||
                   (i - s0 >= 5 && memcmp(line + s0, "card:", 5) == 0)) {
            /* DogStatsD container id, external data, tag cardinality:
             * not ours. */
        } else {
            return ingest_reject(p, "unknown section \"%s\"",
                                 ingest_quote(line + s0, i - s0, q, sizeof(q)));
        }
    }
    /* Values, all checked before anything is emitted. */
    for (i = colon + 1; i <= bar; i++) {
        size_t v0 = i;
        int rc;

        while (i < bar && line[i] != ':')
            i++;
        if (i == v0)
            return ingest_reject(p, "empty value");
        if (nv >= STATSD_MAX_VALUES)
            return ingest_reject(p, "too many values (max %d)",
                                 STATSD_MAX_VALUES);
        if (type == ST_SET) {
            nv = 1;
            continue;
        }
        rc = ingest_scan_double(line + v0, i - v0, &vals[nv]);
        if (rc <= -2)
            return ingest_reject(p, "NaN/Inf value \"%s\" rejected",
                                 ingest_quote(line + v0, i - v0, q, sizeof(q)));
        if (rc < 0)
            return ingest_reject(p, "invalid value \"%s\"",
                                 ingest_quote(line + v0, i - v0, q, sizeof(q)));
        delta[nv] = line[v0] == '+' || line[v0] == '-';
        if (type == ST_COUNTER) {
            vals[nv] /= rate;
            if (!isfinite(vals[nv]))
                return ingest_reject(p, "counter out of range");
        }
        nv++;
    }
    if (type == ST_SET) {
        ingest_emit(p, p->metric, 1, ts, emit, ctx);
        return 1;
    }
    /* A gauge's deltas too: a line is taken whole or rejected whole. */
    if (type == ST_GAUGE && gauge_apply(p, delta, vals, nv) < 0)
        return ingest_reject(p, "gauge out of range");
    for (size_t k = 0; k < nv; k++) {
        n++;
        if (ingest_emit(p, p->metric, vals[k], ts, emit, ctx))
            break;
    }
    return n;
}
