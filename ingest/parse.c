/* parse.c - the entry points of ingest/parse.h: format names, HTTP content
 * types, per-line format guessing and dispatch to the per-format parsers,
 * plus the helpers they share (scratch strings, labels, numbers, state map).
 * Called by `tocsin eval`/`parse`, HTTP ingest, file/StatsD inputs, scraper. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../common/util.h"
#include "parse_int.h"

static const char *const format_names[] = {
    [FMT_AUTO] = "auto", [FMT_JSON] = "json",         [FMT_INFLUX] = "influx",
    [FMT_PROM] = "prom", [FMT_GRAPHITE] = "graphite", [FMT_STATSD] = "statsd",
};

int ingest_format_parse(const char *name, enum ingest_format *out)
{
    if (name == NULL)
        return -1;
    for (size_t i = 0; i < sizeof(format_names) / sizeof(format_names[0]);
         i++) {
        if (strcmp(name, format_names[i]) == 0) {
            *out = (enum ingest_format)i;
            return 0;
        }
    }
    return -1;
}

const char *ingest_format_name(enum ingest_format f)
{
    if ((unsigned)f >= sizeof(format_names) / sizeof(format_names[0]))
        return "auto";
    return format_names[f];
}

static int is_ws(char c)
{
    return c == ' ' || c == '\t';
}

/* Compare s[0..n) case-insensitively with the NUL-terminated lit. */
static int span_ieq(const char *s, size_t n, const char *lit)
{
    return strlen(lit) == n && strncasecmp(s, lit, n) == 0;
}

/* The media type of Content-Type ct (without parameters): its start, its
 * length in *n; *params: the first ';' or NULL. */
static const char *media_type(const char *ct, size_t *n, const char **params)
{
    while (is_ws(*ct))
        ct++;
    *params = strchr(ct, ';');
    *n = *params ? (size_t)(*params - ct) : strlen(ct);
    while (*n > 0 && is_ws(ct[*n - 1]))
        (*n)--;
    return ct;
}

bool ingest_content_type_openmetrics(const char *ct)
{
    const char *params;
    size_t n;

    if (ct == NULL)
        return false;
    ct = media_type(ct, &n, &params);
    return span_ieq(ct, n, "application/openmetrics-text");
}

enum ingest_format ingest_format_from_content_type(const char *ct)
{
    const char *p, *semi;
    size_t n;
    int plain;

    if (ct == NULL)
        return FMT_AUTO;
    ct = media_type(ct, &n, &semi);
    if (span_ieq(ct, n, "application/json") ||
        span_ieq(ct, n, "application/x-ndjson"))
        return FMT_JSON;
    plain = span_ieq(ct, n, "text/plain");
    if (!plain)
        return FMT_AUTO;
    /* text/plain; version=0.0.4 is the Prometheus exposition format. */
    for (p = semi; p != NULL; p = strchr(p + 1, ';')) {
        const char *k = p + 1, *e;
        size_t vn;

        while (is_ws(*k))
            k++;
        if (strncasecmp(k, "version", 7) != 0)
            continue;
        k += 7;
        while (is_ws(*k))
            k++;
        if (*k != '=')
            continue;
        k++;
        while (is_ws(*k))
            k++;
        if (*k == '"')
            k++;
        e = k;
        while (*e && *e != ';' && *e != '"' && !is_ws(*e))
            e++;
        vn = (size_t)(e - k);
        if (span_ieq(k, vn, "0.0.4"))
            return FMT_PROM;
    }
    return FMT_AUTO;
}

/* ---- guessing ---------------------------------------------------------- */

static int statsd_type_at(const char *s, size_t n)
{
    static const char *const types[] = {"c", "g", "ms", "h", "d", "s"};
    size_t t = 0;

    while (t < n && s[t] != '|')
        t++;
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
        if (strlen(types[i]) == t && memcmp(s, types[i], t) == 0)
            return 1;
    return 0;
}

/* name:value[:value]|type...: a name without blanks or prom/influx syntax,
 * then values without blanks, then a StatsD type. */
static int looks_statsd(const char *s, size_t n)
{
    size_t i = 0, bar;

    while (i < n && s[i] != ':') {
        if (is_ws(s[i]) || s[i] == '{' || s[i] == '=' || s[i] == ',' ||
            s[i] == '|')
            return 0;
        i++;
    }
    if (i == 0 || i == n)
        return 0;
    for (bar = i + 1; bar < n && s[bar] != '|'; bar++)
        if (is_ws(s[bar]))
            return 0;
    if (bar >= n || bar == i + 1)
        return 0;
    return statsd_type_at(s + bar + 1, n - bar - 1);
}

struct token {
    const char *s;
    size_t n;
};

/* Split on unescaped blanks outside double quotes (influx escapes with '\'). */
static size_t split_tokens(const char *s, size_t n, struct token *t, size_t max)
{
    size_t nt = 0, i = 0;

    while (i < n) {
        size_t st;
        int q = 0;

        while (i < n && is_ws(s[i]))
            i++;
        if (i >= n)
            break;
        st = i;
        while (i < n && (q || !is_ws(s[i]))) {
            if (s[i] == '\\' && i + 1 < n)
                i++;
            else if (s[i] == '"' && (q || (i > st && s[i - 1] == '=')))
                q = !q; /* a quoted value: `f="a b"`, `{l="a b"}` */
            i++;
        }
        if (nt < max) {
            t[nt].s = s + st;
            t[nt].n = i - st;
        }
        nt++;
    }
    return nt;
}

static int span_has(const char *s, size_t n, char c)
{
    return memchr(s, c, n) != NULL;
}

/* A graphite timestamp: ten integer digits, maybe a fraction. */
static int ten_digit_seconds(const char *s, size_t n)
{
    size_t i = 0;

    while (i < n && isdigit((unsigned char)s[i]))
        i++;
    if (i != 10)
        return 0;
    if (i == n)
        return 1;
    if (s[i] != '.')
        return 0;
    for (i++; i < n; i++)
        if (!isdigit((unsigned char)s[i]))
            return 0;
    return 1;
}

enum ingest_format ingest_guess(const char *line, size_t len)
{
    struct token t[4];
    size_t i = 0, nt;

    if (line == NULL)
        return FMT_AUTO;
    while (len > 0 && (is_ws(line[len - 1]) || line[len - 1] == '\r' ||
                       line[len - 1] == '\n'))
        len--;
    while (i < len && is_ws(line[i]))
        i++;
    line += i;
    len -= i;
    if (len == 0)
        return FMT_AUTO;
    if (statsd_is_event_or_check(line, len))
        return FMT_STATSD;
    if (line[0] == '{')
        return FMT_JSON;
    if (line[0] == '#')
        return FMT_PROM;
    if (looks_statsd(line, len))
        return FMT_STATSD;
    /* name{...}: Prometheus. */
    for (i = 0; i < len; i++) {
        char c = line[i];
        if (!(isalnum((unsigned char)c) || c == '_' || c == ':'))
            break;
    }
    if (i > 0 && i < len && line[i] == '{')
        return FMT_PROM;
    nt = split_tokens(line, len, t, 4);
    if (nt >= 2 && t[1].s[0] == '{' && i == t[0].n)
        return FMT_PROM; /* "name {labels} value" */
    if (nt >= 2 &&
        (span_has(t[0].s, t[0].n, ',') || span_has(t[1].s, t[1].n, '=')))
        return FMT_INFLUX;
    if ((nt == 2 || nt == 3) &&
        (!span_has(t[0].s, t[0].n, '=') || span_has(t[0].s, t[0].n, ';'))) {
        /* Prometheus names cannot hold dots; graphite paths usually do. */
        if (span_has(t[0].s, t[0].n, '.') || span_has(t[0].s, t[0].n, ';'))
            return FMT_GRAPHITE;
        if (nt == 3 && ten_digit_seconds(t[2].s, t[2].n))
            return FMT_GRAPHITE;
        return FMT_PROM;
    }
    return FMT_AUTO;
}

/* ---- parser lifetime and dispatch -------------------------------------- */

/* Decoded strings never outgrow the line, plus per-label NULs and converted
 * JSON numbers: twice the line and some slack is always enough. The buffers
 * grow to fit the longest line seen, so steady state allocates nothing. */
#define SCRATCH_SLACK (64 * (size_t)INGEST_MAX_LABELS + 64)

static int parser_reserve(struct ingest_parser *p, size_t len)
{
    size_t need = 2 * len + SCRATCH_SLACK;
    char *s, *m;

    if (need <= p->scap)
        return 0;
    if (need < 2 * p->scap)
        need = 2 * p->scap;
    s = realloc(p->scratch, need);
    if (s == NULL)
        return -1;
    p->scratch = s;
    m = realloc(p->metric, need);
    if (m == NULL)
        return -1;
    p->metric = m;
    p->scap = p->mcap = need;
    return 0;
}

struct ingest_parser *ingest_parser_new(enum ingest_format fmt)
{
    struct ingest_parser *p = calloc(1, sizeof(*p));

    if (p == NULL)
        return NULL;
    p->fmt = fmt;
    if (parser_reserve(p, 256) < 0)
        goto err;
    return p;
err:
    ingest_parser_free(p);
    return NULL;
}

struct ingest_gauges *ingest_gauges_new(void)
{
    struct ingest_gauges *g = calloc(1, sizeof(*g));

    if (g != NULL)
        pthread_mutex_init(&g->mu, NULL);
    return g;
}

void ingest_gauges_free(struct ingest_gauges *g)
{
    if (g == NULL)
        return;
    smap_free(&g->map);
    pthread_mutex_destroy(&g->mu);
    free(g);
}

void ingest_parser_share_gauges(struct ingest_parser *p,
                                struct ingest_gauges *g)
{
    p->shared = g;
}

void ingest_parser_free(struct ingest_parser *p)
{
    if (p == NULL)
        return;
    smap_free(&p->prom_types);
    smap_free(&p->gauges);
    free(p->scratch);
    free(p->metric);
    free(p);
}

size_t ingest_parser_skipped(const struct ingest_parser *p)
{
    return p->skipped;
}

/* Valid UTF-8 check with an ASCII fast path (most lines are ASCII). */
static int line_utf8_ok(const char *s, size_t n)
{
    size_t i = 0;

    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        if (w & 0x8080808080808080ULL)
            return util_utf8_valid(s + i, n - i);
    }
    for (; i < n; i++)
        if ((unsigned char)s[i] & 0x80)
            return util_utf8_valid(s + i, n - i);
    return 1;
}

int ingest_parse_line(struct ingest_parser *p, const char *line, size_t len,
                      sample_fn emit, void *ctx, char *why, size_t whylen)
{
    enum ingest_format fmt;

    p->why = why;
    p->whylen = whylen;
    if (why && whylen)
        why[0] = '\0';
    p->slen = 0;
    p->nlabels = 0;
    /* Checked before the line is touched: a reader may hand over only the
     * start of an over-long line. */
    if (len > INGEST_MAX_LINE)
        return ingest_reject(p, "line too long (%zu bytes, max %d)", len,
                             INGEST_MAX_LINE);
    if (parser_reserve(p, len) < 0)
        return ingest_reject(p, "out of memory");
    if (len > 0 && line[len - 1] == '\r')
        len--;
    if (len > 0 && memchr(line, '\0', len) != NULL)
        return ingest_reject(p, "NUL byte in line");
    if (!line_utf8_ok(line, len))
        return ingest_reject(p, "invalid UTF-8");
    while (len > 0 && is_ws(line[len - 1]))
        len--;
    while (len > 0 && is_ws(line[0])) {
        line++;
        len--;
    }
    if (len == 0)
        return 0;
    fmt = p->fmt;
    if (fmt == FMT_AUTO) {
        fmt = ingest_guess(line, len);
        if (fmt == FMT_AUTO)
            return ingest_reject(p, "cannot tell the format of the line");
    }
    switch (fmt) {
    case FMT_JSON:
        return ingest_parse_json(p, line, len, emit, ctx);
    case FMT_INFLUX:
        return ingest_parse_influx(p, line, len, emit, ctx);
    case FMT_PROM:
        return ingest_parse_prom(p, line, len, emit, ctx);
    case FMT_GRAPHITE:
        return ingest_parse_graphite(p, line, len, emit, ctx);
    case FMT_STATSD:
        return ingest_parse_statsd(p, line, len, emit, ctx);
    case FMT_AUTO:
        break;
    }
    return ingest_reject(p, "unknown format");
}

/* ---- helpers shared by the formats ------------------------------------- */

int ingest_reject(struct ingest_parser *p, const char *fmt, ...)
{
    va_list ap;

    if (p->why && p->whylen) {
        va_start(ap, fmt);
        vsnprintf(p->why, p->whylen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

const char *sc_copy(struct ingest_parser *p, const char *s, size_t n)
{
    char *d;

    if (p->slen + n + 1 > p->scap)
        return NULL;
    d = p->scratch + p->slen;
    memcpy(d, s, n);
    sc_commit(p, n);
    return d;
}

int ingest_add_label(struct ingest_parser *p, const char *name,
                     const char *value)
{
    if (name == NULL || value == NULL)
        return ingest_reject(p, "line too complex");
    if (name[0] == '\0')
        return ingest_reject(p, "empty label name");
    for (size_t i = 0; i < p->nlabels; i++)
        if (strcmp(p->labels[i].name, name) == 0)
            return ingest_reject(p, "duplicate label \"%.64s\"", name);
    if (p->nlabels >= INGEST_MAX_LABELS)
        return ingest_reject(p, "too many labels (max %d)", INGEST_MAX_LABELS);
    p->labels[p->nlabels].name = name;
    p->labels[p->nlabels].value = value;
    p->nlabels++;
    return 0;
}

int ingest_check_ts(struct ingest_parser *p, double ts, const char *unit)
{
    if (ts >= INGEST_TS_FIRST && ts < INGEST_TS_END)
        return 0;
    return ingest_reject(p, "timestamp %s the year %s (Unix %s expected)",
                         ts > 0 ? "after" : "before", ts > 0 ? "9999" : "1",
                         unit);
}

int ingest_emit(struct ingest_parser *p, const char *metric, double value,
                double ts, sample_fn emit, void *ctx)
{
    struct sample s;
    size_t k = 0;

    /* As in Prometheus, an empty value is no label at all, in every format
     * (a label the sample lacks matches as ""): {"a":""} and no a are one
     * source series. Dropped only now: a name given twice is a duplicate,
     * empty or not. */
    for (size_t r = 0; r < p->nlabels; r++)
        if (p->labels[r].value[0] != '\0')
            p->labels[k++] = p->labels[r];
    p->nlabels = k;
    s.metric = metric;
    s.labels = p->labels;
    s.nlabels = p->nlabels;
    s.value = value;
    s.ts = ts;
    if (emit == NULL)
        return 0;
    return emit(ctx, &s) != 0;
}

static const double pow10_tab[] = {
    1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

int ingest_scan_double(const char *s, size_t n, double *out)
{
    size_t i = 0, nd = 0, nfrac = 0, st;
    uint64_t mant = 0;
    int neg = 0, exp = 0;
    char local[128], *tmp;
    double v;

    if (n == 0)
        return -1;
    if (s[0] == '+' || s[0] == '-') {
        neg = s[0] == '-';
        i++;
    }
    if (i < n && (s[i] | 0x20) >= 'i' && (s[i] | 0x20) <= 'n' &&
        (span_ieq(s + i, n - i, "nan") || span_ieq(s + i, n - i, "inf") ||
         span_ieq(s + i, n - i, "infinity")))
        return -2;
    st = i;
    while (i < n && s[i] >= '0' && s[i] <= '9') {
        if (nd < 19)
            mant = mant * 10 + (uint64_t)(s[i] - '0');
        if (mant != 0 || s[i] != '0')
            nd++;
        i++;
    }
    if (i < n && s[i] == '.') {
        i++;
        while (i < n && s[i] >= '0' && s[i] <= '9') {
            if (nd < 19)
                mant = mant * 10 + (uint64_t)(s[i] - '0');
            if (mant != 0 || s[i] != '0')
                nd++;
            nfrac++;
            i++;
        }
        if (i - st == 1)
            return -1; /* a lone "." */
    } else if (i == st) {
        return -1;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        size_t es;
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        es = i;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
        if (i == es)
            return -1;
        exp = 1;
    }
    if (i != n)
        return -1;
    /* Clinger's fast path: an exact mantissa divided by an exact power of
     * ten rounds correctly, so it agrees with strtod. */
    if (!exp && nd <= 15 && nfrac <= 22) {
        v = (double)mant / pow10_tab[nfrac];
        *out = neg ? -v : v;
        return 0;
    }
    tmp = n < sizeof(local) ? local : malloc(n + 1);
    if (tmp == NULL)
        return -1;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    errno = 0;
    v = strtod(tmp, NULL);
    if (tmp != local)
        free(tmp);
    if (!isfinite(v))
        return -3;
    *out = v;
    return 0;
}

int ingest_scan_int64(const char *s, size_t n, int64_t *out)
{
    size_t i = 0;
    int neg = 0;
    uint64_t v = 0, lim;

    if (n > 0 && (s[0] == '+' || s[0] == '-')) {
        neg = s[0] == '-';
        i++;
    }
    if (i == n)
        return -1;
    lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; i < n; i++) {
        unsigned d;
        if (s[i] < '0' || s[i] > '9')
            return -1;
        d = (unsigned)(s[i] - '0');
        if (v > (lim - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return 0;
}

const char *ingest_quote(const char *s, size_t n, char *out, size_t outlen)
{
    size_t k = 0, max = n > 32 ? 32 : n;

    if (outlen == 0)
        return out;
    for (size_t i = 0; i < max && k + 4 < outlen; i++) {
        unsigned char c = (unsigned char)s[i];
        out[k++] = (c < 0x20 || c == 0x7f || c == '"') ? '?' : (char)c;
    }
    /* Do not cut a UTF-8 sequence in half. */
    while (k > 0 && ((unsigned char)out[k - 1] & 0xC0) == 0x80)
        k--;
    if (k > 0 && ((unsigned char)out[k - 1] & 0xC0) == 0xC0)
        k--;
    if (n > max && k + 3 < outlen) {
        memcpy(out + k, "...", 3);
        k += 3;
    }
    out[k] = '\0';
    return out;
}

/* ---- string map -------------------------------------------------------- */

static struct smap_ent *smap_slot(struct smap_ent *v, size_t cap, const char *k,
                                  size_t n, uint64_t h)
{
    size_t i = (size_t)h & (cap - 1);

    for (;;) {
        struct smap_ent *e = &v[i];
        if (e->key == NULL ||
            (e->hash == h && e->klen == n && memcmp(e->key, k, n) == 0))
            return e;
        i = (i + 1) & (cap - 1);
    }
}

struct smap_ent *smap_get(struct smap *m, const char *k, size_t n)
{
    struct smap_ent *e;

    if (m->cap == 0)
        return NULL;
    e = smap_slot(m->v, m->cap, k, n, util_hash64(k, n, 0));
    return e->key ? e : NULL;
}

static int seq_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

/* Rebuild m with room for its entries: into ncap slots, keeping only those
 * set at or after keep_from. -1 when out of memory (m unchanged). */
static int smap_rebuild(struct smap *m, size_t ncap, uint64_t keep_from)
{
    struct smap_ent *nv = calloc(ncap, sizeof(*nv));
    size_t n = 0;

    if (nv == NULL)
        return -1;
    for (size_t i = 0; i < m->cap; i++) {
        struct smap_ent *o = &m->v[i];
        if (o->key == NULL)
            continue;
        if (o->seq < keep_from) {
            free(o->key);
            continue;
        }
        *smap_slot(nv, ncap, o->key, o->klen, o->hash) = *o;
        n++;
    }
    free(m->v);
    m->v = nv;
    m->cap = ncap;
    m->n = n;
    return 0;
}

/* Forget the least recently set half of a full map. */
static int smap_forget_half(struct smap *m)
{
    uint64_t *seqs = malloc(m->n * sizeof(*seqs)), median;
    size_t k = 0;

    if (seqs == NULL)
        return -1;
    for (size_t i = 0; i < m->cap; i++)
        if (m->v[i].key)
            seqs[k++] = m->v[i].seq;
    qsort(seqs, k, sizeof(*seqs), seq_cmp);
    median = seqs[k / 2];
    free(seqs);
    return smap_rebuild(m, m->cap, median);
}

void smap_set(struct smap *m, struct smap_ent *e, double val)
{
    e->val = val;
    e->seq = ++m->clock;
}

int smap_put(struct smap *m, const char *k, size_t n, double val)
{
    uint64_t h = util_hash64(k, n, 0);
    struct smap_ent *e;
    int forgot = 0;

    if (m->cap != 0) {
        e = smap_slot(m->v, m->cap, k, n, h);
        if (e->key) {
            smap_set(m, e, val);
            return 0;
        }
    }
    if (m->n >= INGEST_STATE_MAX) {
        if (smap_forget_half(m) < 0)
            return -1;
        forgot = 1;
    }
    if ((m->n + 1) * 2 > m->cap &&
        smap_rebuild(m, m->cap ? m->cap * 2 : 64, 0) < 0)
        return -1;
    e = smap_slot(m->v, m->cap, k, n, h);
    e->key = malloc(n + 1);
    if (e->key == NULL)
        return -1;
    memcpy(e->key, k, n);
    e->key[n] = '\0';
    e->klen = n;
    e->hash = h;
    smap_set(m, e, val);
    m->n++;
    return forgot;
}

void smap_free(struct smap *m)
{
    for (size_t i = 0; i < m->cap; i++)
        free(m->v[i].key);
    free(m->v);
    m->v = NULL;
    m->cap = m->n = 0;
}
