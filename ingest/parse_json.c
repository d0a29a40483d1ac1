/* parse_json.c - JSON lines:
 *   {"metric":"cpu","labels":{"host":"a"},"value":0.93,"ts":1767225600.5}
 * "labels" is optional (null = none); label values are strings, numbers and
 * booleans are taken as their text ("1.5", "true"), anything else is
 * rejected. "value" is a finite number. "ts" is Unix seconds (number), an
 * RFC 3339 string, null or absent. Other keys are ignored.
 * A hand-written scanner handles the common shape (strings without escapes,
 * scalar values) without allocating; anything else - escapes, nested
 * unknown values, every syntax error - goes to cJSON, the reference. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../common/util.h"
#include "parse_int.h"

#define J_UNSUP (-3)

/* What one line said, whichever path read it. */
struct jline {
    const char *metric; /* NUL-terminated, in scratch */
    int has_metric, has_value, has_ts, has_labels;
    double value, ts;
};

static size_t jws(const char *s, size_t n, size_t i)
{
    while (i < n &&
           (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
        i++;
    return i;
}

/* ---- semantic checks shared by both paths ------------------------------ */

static int key_seen(struct ingest_parser *p, int *flag, const char *key)
{
    if (*flag)
        return ingest_reject(p, "duplicate key \"%s\"", key);
    *flag = 1;
    return 0;
}

static int set_value(struct ingest_parser *p, struct jline *jl, double v)
{
    if (!isfinite(v))
        return ingest_reject(p, "NaN/Inf value rejected");
    jl->value = v;
    return 0;
}

static int set_ts_number(struct ingest_parser *p, struct jline *jl, double v)
{
    if (!isfinite(v))
        return ingest_reject(p, "invalid timestamp");
    if (ingest_check_ts(p, v, "seconds") < 0)
        return -1;
    jl->ts = v;
    return 0;
}

static int set_ts_string(struct ingest_parser *p, struct jline *jl,
                         const char *s, size_t n)
{
    char q[48];

    if (util_parse_rfc3339(s, n, &jl->ts) < 0)
        return ingest_reject(p,
                             "invalid timestamp \"%s\" (want RFC 3339 or "
                             "Unix seconds)",
                             ingest_quote(s, n, q, sizeof(q)));
    /* The years a number may give (ingest_check_ts), not one more: year
     * 0000 and a leap second at the end of 9999 parse. */
    if (jl->ts < INGEST_TS_FIRST || jl->ts >= INGEST_TS_END)
        return ingest_reject(p, "timestamp \"%s\" outside the years 1 to 9999",
                             ingest_quote(s, n, q, sizeof(q)));
    return 0;
}

static int set_metric(struct ingest_parser *p, struct jline *jl, const char *s,
                      size_t n)
{
    if (n == 0)
        return ingest_reject(p, "empty metric name");
    jl->metric = sc_copy(p, s, n);
    if (jl->metric == NULL)
        return ingest_reject(p, "line too complex");
    return 0;
}

static int add_number_label(struct ingest_parser *p, const char *name, double v)
{
    char num[40];

    util_format_double(v, num, sizeof(num));
    return ingest_add_label(p, name, sc_copy(p, num, strlen(num)));
}

static int finish(struct ingest_parser *p, struct jline *jl, sample_fn emit,
                  void *ctx)
{
    if (!jl->has_metric)
        return ingest_reject(p, "missing \"metric\"");
    if (!jl->has_value)
        return ingest_reject(p, "missing \"value\"");
    ingest_emit(p, jl->metric, jl->value, jl->ts, emit, ctx);
    return 1;
}

/* ---- fast path --------------------------------------------------------- */

/* A string without escapes or control characters at s[*i] == '"'. */
static int jstr(const char *s, size_t n, size_t *i, const char **str,
                size_t *slen)
{
    size_t j = *i + 1, st = j;

    if (*i >= n || s[*i] != '"')
        return J_UNSUP;
    for (; j < n; j++) {
        unsigned char c = (unsigned char)s[j];
        if (c == '"') {
            *str = s + st;
            *slen = j - st;
            *i = j + 1;
            return 0;
        }
        if (c == '\\' || c < 0x20)
            return J_UNSUP;
    }
    return J_UNSUP;
}

/* A JSON number (strict grammar) at s[*i]. */
static int jnum(const char *s, size_t n, size_t *i, double *out)
{
    size_t j = *i, st = j;
    int rc;

    if (j < n && s[j] == '-')
        j++;
    if (j < n && s[j] == '0') {
        j++;
    } else if (j < n && s[j] >= '1' && s[j] <= '9') {
        while (j < n && s[j] >= '0' && s[j] <= '9')
            j++;
    } else {
        return J_UNSUP;
    }
    if (j < n && s[j] == '.') {
        size_t f = ++j;
        while (j < n && s[j] >= '0' && s[j] <= '9')
            j++;
        if (j == f)
            return J_UNSUP;
    }
    if (j < n && (s[j] == 'e' || s[j] == 'E')) {
        size_t e;
        j++;
        if (j < n && (s[j] == '+' || s[j] == '-'))
            j++;
        e = j;
        while (j < n && s[j] >= '0' && s[j] <= '9')
            j++;
        if (j == e)
            return J_UNSUP;
    }
    rc = ingest_scan_double(s + st, j - st, out);
    if (rc <= -2)
        *out = INFINITY; /* out of range: the caller rejects it */
    else if (rc < 0)
        return J_UNSUP;
    *i = j;
    return 0;
}

static int jlit(const char *s, size_t n, size_t i, const char *lit)
{
    size_t k = strlen(lit);
    return n - i >= k && memcmp(s + i, lit, k) == 0;
}

static int fast_labels(struct ingest_parser *p, const char *s, size_t n,
                       size_t *pi)
{
    size_t i = jws(s, n, *pi + 1);
    int rc;

    if (i < n && s[i] == '}') {
        *pi = i + 1;
        return 0;
    }
    for (;;) {
        const char *k, *v, *name;
        size_t kn, vn;

        if ((rc = jstr(s, n, &i, &k, &kn)) < 0)
            return rc;
        i = jws(s, n, i);
        if (i >= n || s[i] != ':')
            return J_UNSUP;
        i = jws(s, n, i + 1);
        if (kn == 0)
            return ingest_reject(p, "empty label name");
        name = sc_copy(p, k, kn);
        if (i < n && s[i] == '"') {
            if ((rc = jstr(s, n, &i, &v, &vn)) < 0)
                return rc;
            if (ingest_add_label(p, name, sc_copy(p, v, vn)) < 0)
                return -1;
        } else if (jlit(s, n, i, "true") || jlit(s, n, i, "false")) {
            int t = s[i] == 't';
            i += t ? 4 : 5;
            if (ingest_add_label(p, name, t ? "true" : "false") < 0)
                return -1;
        } else if (i < n && (s[i] == '-' || (s[i] >= '0' && s[i] <= '9'))) {
            double d;
            if ((rc = jnum(s, n, &i, &d)) < 0)
                return rc;
            if (!isfinite(d))
                return ingest_reject(p, "label \"%.64s\" out of range", name);
            if (add_number_label(p, name, d) < 0)
                return -1;
        } else if (jlit(s, n, i, "null") ||
                   (i < n && (s[i] == '{' || s[i] == '['))) {
            return J_UNSUP; /* let the reference say what is wrong */
        } else {
            return J_UNSUP;
        }
        i = jws(s, n, i);
        if (i < n && s[i] == ',') {
            i = jws(s, n, i + 1);
            continue;
        }
        if (i < n && s[i] == '}')
            break;
        return J_UNSUP;
    }
    *pi = i + 1;
    return 0;
}

static int fast_json(struct ingest_parser *p, const char *s, size_t n,
                     struct jline *jl)
{
    size_t i = jws(s, n, 0);
    int rc;

    if (i >= n || s[i] != '{')
        return J_UNSUP;
    i = jws(s, n, i + 1);
    if (i < n && s[i] == '}') {
        i++;
        goto end;
    }
    for (;;) {
        const char *k, *v;
        size_t kn, vn;

        if ((rc = jstr(s, n, &i, &k, &kn)) < 0)
            return rc;
        i = jws(s, n, i);
        if (i >= n || s[i] != ':')
            return J_UNSUP;
        i = jws(s, n, i + 1);
        if (i >= n)
            return J_UNSUP;
        if (kn == 6 && memcmp(k, "metric", 6) == 0) {
            if (key_seen(p, &jl->has_metric, "metric") < 0)
                return -1;
            if (s[i] != '"')
                return J_UNSUP;
            if ((rc = jstr(s, n, &i, &v, &vn)) < 0)
                return rc;
            if (set_metric(p, jl, v, vn) < 0)
                return -1;
        } else if (kn == 5 && memcmp(k, "value", 5) == 0) {
            double d;
            if (key_seen(p, &jl->has_value, "value") < 0)
                return -1;
            if ((rc = jnum(s, n, &i, &d)) < 0)
                return rc;
            if (set_value(p, jl, d) < 0)
                return -1;
        } else if (kn == 2 && memcmp(k, "ts", 2) == 0) {
            double d;
            if (key_seen(p, &jl->has_ts, "ts") < 0)
                return -1;
            if (s[i] == '"') {
                if ((rc = jstr(s, n, &i, &v, &vn)) < 0)
                    return rc;
                if (set_ts_string(p, jl, v, vn) < 0)
                    return -1;
            } else if (jlit(s, n, i, "null")) {
                i += 4;
            } else {
                if ((rc = jnum(s, n, &i, &d)) < 0)
                    return rc;
                if (set_ts_number(p, jl, d) < 0)
                    return -1;
            }
        } else if (kn == 6 && memcmp(k, "labels", 6) == 0) {
            if (key_seen(p, &jl->has_labels, "labels") < 0)
                return -1;
            if (jlit(s, n, i, "null")) {
                i += 4;
            } else if (s[i] == '{') {
                if ((rc = fast_labels(p, s, n, &i)) < 0)
                    return rc;
            } else {
                return J_UNSUP;
            }
        } else {
            /* An unknown key: skip a scalar value, leave the rest to cJSON. */
            double d;
            if (s[i] == '"') {
                if ((rc = jstr(s, n, &i, &v, &vn)) < 0)
                    return rc;
            } else if (jlit(s, n, i, "true") || jlit(s, n, i, "null")) {
                i += 4;
            } else if (jlit(s, n, i, "false")) {
                i += 5;
            } else if ((rc = jnum(s, n, &i, &d)) < 0) {
                return rc;
            }
        }
        i = jws(s, n, i);
        if (i < n && s[i] == ',') {
            i = jws(s, n, i + 1);
            continue;
        }
        if (i < n && s[i] == '}') {
            i++;
            break;
        }
        return J_UNSUP;
    }
end:
    if (jws(s, n, i) != n)
        return J_UNSUP;
    return 0;
}

/* ---- cJSON path -------------------------------------------------------- */

static int cjson_labels(struct ingest_parser *p, const cJSON *o)
{
    const cJSON *c;

    if (cJSON_IsNull(o))
        return 0;
    if (!cJSON_IsObject(o))
        return ingest_reject(p, "\"labels\" must be an object");
    cJSON_ArrayForEach(c, o)
    {
        const char *name = c->string ? c->string : "";
        const char *nm;

        if (name[0] == '\0')
            return ingest_reject(p, "empty label name");
        nm = sc_copy(p, name, strlen(name));
        if (cJSON_IsString(c)) {
            if (ingest_add_label(
                    p, nm, sc_copy(p, c->valuestring, strlen(c->valuestring))) <
                0)
                return -1;
        } else if (cJSON_IsBool(c)) {
            if (ingest_add_label(p, nm, cJSON_IsTrue(c) ? "true" : "false") < 0)
                return -1;
        } else if (cJSON_IsNumber(c)) {
            if (!isfinite(c->valuedouble))
                return ingest_reject(p, "label \"%.64s\" out of range", name);
            if (add_number_label(p, nm, c->valuedouble) < 0)
                return -1;
        } else {
            return ingest_reject(p, "label \"%.64s\" must be a string", name);
        }
    }
    return 0;
}

static int cjson_line(struct ingest_parser *p, const char *s, size_t n,
                      struct jline *jl)
{
    const char *end = NULL;
    cJSON *root, *c;
    int rc = 0;

    /* cJSON 1.7.15 stops at a NUL; lines hold none (checked by the caller),
     * so \u0000 is the only way to cut a string short: refuse it. */
    if (memmem(s, n, "\\u0000", 6) != NULL)
        return ingest_reject(p, "\\u0000 in a string");
    root = cJSON_ParseWithLengthOpts(s, n, &end, 0);
    if (root == NULL) {
        size_t col = end && end >= s && end <= s + n ? (size_t)(end - s) : 0;
        return ingest_reject(p, "invalid JSON near column %zu", col + 1);
    }
    if (jws(s, n, (size_t)(end - s)) != n) {
        rc = ingest_reject(p, "unexpected text after the JSON object");
        goto out;
    }
    if (!cJSON_IsObject(root)) {
        rc = ingest_reject(p, "not a JSON object");
        goto out;
    }
    cJSON_ArrayForEach(c, root)
    {
        const char *k = c->string ? c->string : "";

        if (strcmp(k, "metric") == 0) {
            if ((rc = key_seen(p, &jl->has_metric, k)) < 0)
                goto out;
            if (!cJSON_IsString(c)) {
                rc = ingest_reject(p, "\"metric\" must be a string");
                goto out;
            }
            if ((rc = set_metric(p, jl, c->valuestring,
                                 strlen(c->valuestring))) < 0)
                goto out;
        } else if (strcmp(k, "value") == 0) {
            if ((rc = key_seen(p, &jl->has_value, k)) < 0)
                goto out;
            if (!cJSON_IsNumber(c)) {
                rc = ingest_reject(p, "\"value\" must be a number");
                goto out;
            }
            if ((rc = set_value(p, jl, c->valuedouble)) < 0)
                goto out;
        } else if (strcmp(k, "ts") == 0) {
            if ((rc = key_seen(p, &jl->has_ts, k)) < 0)
                goto out;
            if (cJSON_IsNumber(c))
                rc = set_ts_number(p, jl, c->valuedouble);
            else if (cJSON_IsString(c))
                rc = set_ts_string(p, jl, c->valuestring,
                                   strlen(c->valuestring));
            else if (!cJSON_IsNull(c))
                rc = ingest_reject(p, "\"ts\" must be a number or an RFC "
                                      "3339 string");
            if (rc < 0)
                goto out;
        } else if (strcmp(k, "labels") == 0) {
            if ((rc = key_seen(p, &jl->has_labels, k)) < 0)
                goto out;
            if ((rc = cjson_labels(p, c)) < 0)
                goto out;
        }
    }
out:
    cJSON_Delete(root);
    return rc;
}

int ingest_parse_json(struct ingest_parser *p, const char *line, size_t len,
                      sample_fn emit, void *ctx)
{
    struct jline jl = {.ts = NAN};
    int rc = fast_json(p, line, len, &jl);

    if (rc == J_UNSUP) {
        /* Start over: the fast path may have collected part of the line. */
        memset(&jl, 0, sizeof(jl));
        jl.ts = NAN;
        p->slen = 0;
        p->nlabels = 0;
        rc = cjson_line(p, line, len, &jl);
    }
    if (rc < 0)
        return -1;
    return finish(p, &jl, emit, ctx);
}
