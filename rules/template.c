/* template.c - "{{ path }}" templates: compiled once at config load (so an
 * unknown path is a `tocsin check` error), rendered per event into a capped
 * buffer. `value` may be piped through humanize, humanizePercentage or
 * humanizeDuration, as in Prometheus' alert templates. Used by rule annotations
 * (engine) and webhook bodies (notifiers). */
#include "template.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/util.h"

enum tmpl_var {
    TV_LITERAL,
    TV_RULE,
    TV_EVENT,
    TV_SEVERITY,
    TV_PREVIOUS,
    TV_VALUE,
    TV_REASON,
    TV_FINGERPRINT,
    TV_TS,
    TV_LABEL,
    TV_ANNOTATION,
};

/* How `value` is written: as is, or through one of Prometheus' template
 * functions of the same name ("{{ value | humanize }}"). */
enum tmpl_fn {
    TF_NONE,
    TF_HUMANIZE,
    TF_PERCENTAGE,
    TF_DURATION,
};

struct tmpl_part {
    enum tmpl_var var;
    enum tmpl_fn fn;
    char *text; /* TV_LITERAL: the text; TV_LABEL/TV_ANNOTATION: the name */
    size_t len;
    size_t off; /* TV_LABEL/TV_ANNOTATION: the path's offset in the source */
};

struct tmpl {
    struct tmpl_part *parts;
    size_t n;
    bool has_vars;
};

static const struct {
    const char *name;
    enum tmpl_var var;
} simple_paths[] = {
    {"rule", TV_RULE},
    {"event", TV_EVENT},
    {"severity", TV_SEVERITY},
    {"previous", TV_PREVIOUS},
    {"value", TV_VALUE},
    {"reason", TV_REASON},
    {"fingerprint", TV_FINGERPRINT},
    {"ts", TV_TS},
};

static const struct {
    const char *name;
    enum tmpl_fn fn;
} functions[] = {
    {"humanize", TF_HUMANIZE},
    {"humanizePercentage", TF_PERCENTAGE},
    {"humanizeDuration", TF_DURATION},
};

static void add_part(struct tmpl *t, enum tmpl_var var, const char *s,
                     size_t len)
{
    t->parts = xrealloc(t->parts, (t->n + 1) * sizeof(*t->parts));
    t->parts[t->n].var = var;
    t->parts[t->n].fn = TF_NONE;
    t->parts[t->n].len = len;
    t->parts[t->n].text = NULL;
    if (s) {
        t->parts[t->n].text = xmalloc(len + 1);
        memcpy(t->parts[t->n].text, s, len);
        t->parts[t->n].text[len] = '\0';
    }
    t->n++;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t';
}

static bool name_ok(const char *s, size_t len)
{
    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++)
        if (is_space(s[i]) || s[i] == '{' || s[i] == '}')
            return false;
    return true;
}

/* Resolve the path s[0..len) into a part; -1 when unknown. */
static int add_path(struct tmpl *t, const char *s, size_t len)
{
    for (size_t i = 0; i < sizeof(simple_paths) / sizeof(simple_paths[0]);
         i++) {
        if (strlen(simple_paths[i].name) == len &&
            memcmp(simple_paths[i].name, s, len) == 0) {
            add_part(t, simple_paths[i].var, NULL, 0);
            return 0;
        }
    }
    if (len > 7 && memcmp(s, "labels.", 7) == 0 && name_ok(s + 7, len - 7)) {
        add_part(t, TV_LABEL, s + 7, len - 7);
        return 0;
    }
    if (len > 12 && memcmp(s, "annotations.", 12) == 0 &&
        name_ok(s + 12, len - 12)) {
        add_part(t, TV_ANNOTATION, s + 12, len - 12);
        return 0;
    }
    return -1;
}

/* The function after the '|' of "{{ a .. | fn }}" (b: the end of the
 * trimmed path and function). Only `value` is a number to write. */
static int fn_parse(const char *a, const char *pipe, const char *b,
                    enum tmpl_fn *fn, const char **at, char *why, size_t whylen)
{
    const char *f = pipe + 1, *pe = pipe;
    size_t flen;

    while (f < b && is_space(*f))
        f++;
    flen = (size_t)(b - f);
    *at = f;
    for (size_t i = 0; i < sizeof(functions) / sizeof(functions[0]); i++) {
        if (strlen(functions[i].name) == flen &&
            memcmp(functions[i].name, f, flen) == 0) {
            *fn = functions[i].fn;
            break;
        }
    }
    if (*fn == TF_NONE) {
        snprintf(why, whylen,
                 "unknown template function \"%.*s\" (expected humanize, "
                 "humanizePercentage or humanizeDuration)",
                 (int)(flen > 100 ? 100 : flen), f);
        return -1;
    }
    while (pe > a && is_space(pe[-1]))
        pe--;
    if ((size_t)(pe - a) != 5 || memcmp(a, "value", 5) != 0) {
        snprintf(why, whylen, "template function %.*s applies to value only",
                 (int)flen, f);
        *at = a;
        return -1;
    }
    return 0;
}

int tmpl_foreach_error(const char *src, tmpl_error_fn fn, void *ctx)
{
    size_t base = 0;
    int n = 0;

    /* Compile, report, and go on after the "}}" of the failed one. */
    while (n < 100) {
        char why[512];
        size_t off = 0;
        struct tmpl *t = tmpl_compile(src + base, why, sizeof(why), &off);
        const char *close;

        if (t != NULL) {
            tmpl_free(t);
            break;
        }
        fn(ctx, base + off, why);
        n++;
        close = strstr(src + base + off, "}}");
        if (close == NULL)
            break;
        base = (size_t)(close + 2 - src);
    }
    return n;
}

struct tmpl *tmpl_compile(const char *src, char *why, size_t whylen,
                          size_t *col_off)
{
    struct tmpl *t = xcalloc(1, sizeof(*t));
    const char *p = src;

    for (;;) {
        const char *open = strstr(p, "{{");
        const char *a, *b, *close, *pipe, *fn_at = NULL;
        enum tmpl_fn fn = TF_NONE;

        if (open == NULL) {
            if (*p)
                add_part(t, TV_LITERAL, p, strlen(p));
            break;
        }
        if (open > p)
            add_part(t, TV_LITERAL, p, (size_t)(open - p));
        close = strstr(open + 2, "}}");
        if (close == NULL) {
            snprintf(why, whylen, "unclosed \"{{\" in template");
            if (col_off)
                *col_off = (size_t)(open - src);
            tmpl_free(t);
            return NULL;
        }
        a = open + 2;
        while (a < close && is_space(*a))
            a++;
        b = close;
        while (b > a && is_space(b[-1]))
            b--;
        if (a == b) {
            snprintf(why, whylen, "empty template path in \"{{}}\"");
            if (col_off)
                *col_off = (size_t)(open - src);
            tmpl_free(t);
            return NULL;
        }
        pipe = memchr(a, '|', (size_t)(b - a));
        if (pipe != NULL &&
            fn_parse(a, pipe, b, &fn, &fn_at, why, whylen) < 0) {
            if (col_off)
                *col_off = (size_t)(fn_at - src);
            tmpl_free(t);
            return NULL;
        }
        if (pipe != NULL) {
            b = pipe;
            while (b > a && is_space(b[-1]))
                b--;
        }
        if (add_path(t, a, (size_t)(b - a)) < 0) {
            snprintf(why, whylen,
                     "unknown template path \"%.*s\" (expected rule, event, "
                     "severity, previous, value, reason, fingerprint, ts, "
                     "labels.NAME or annotations.NAME)",
                     (int)(b - a > 100 ? 100 : b - a), a);
            if (col_off)
                *col_off = (size_t)(a - src);
            tmpl_free(t);
            return NULL;
        }
        if (pipe != NULL)
            t->parts[t->n - 1].fn = fn;
        t->parts[t->n - 1].off = (size_t)(a - src);
        t->has_vars = true;
        p = close + 2;
    }
    return t;
}

void tmpl_foreach_ref(const struct tmpl *t, tmpl_ref_fn fn, void *ctx)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->parts[i].var == TV_LABEL || t->parts[i].var == TV_ANNOTATION)
            fn(ctx, t->parts[i].var == TV_ANNOTATION, t->parts[i].text,
               t->parts[i].off);
}

void tmpl_free(struct tmpl *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->n; i++)
        free(t->parts[i].text);
    free(t->parts);
    free(t);
}

bool tmpl_is_literal(const struct tmpl *t)
{
    return !t->has_vars;
}

static const char *lookup(const struct label *v, size_t n, const char *name)
{
    const char *s = v ? labels_get(v, n, name) : NULL;
    return s ? s : "";
}

/* Prometheus' humanize: %.4g with an SI prefix (1.174k, 126.7m). */
static void fmt_humanize(double v, char *out, size_t len)
{
    static const char big[] = "kMGTPEZY", small[] = "munpfazy";
    char prefix = '\0';

    if (v != 0 && isfinite(v) && fabs(v) >= 1) {
        for (const char *p = big; *p && fabs(v) >= 1000; p++) {
            prefix = *p;
            v /= 1000;
        }
    } else if (v != 0 && isfinite(v)) {
        for (const char *p = small; *p && fabs(v) < 1; p++) {
            prefix = *p;
            v *= 1000;
        }
    }
    if (!isfinite(v))
        util_format_double(v, out, len);
    else
        snprintf(out, len, "%.4g%.1s", v, prefix ? &prefix : "");
}

/* Prometheus' humanizeDuration: seconds as "1d 2h 3m 4s", "3m 4s",
 * "12.5s", under a second with an SI prefix ("250ms"). */
static void fmt_duration(double v, char *out, size_t len)
{
    const char *sign = v < 0 ? "-" : "";
    double a = fabs(v);
    long long d, h, m, sec;

    if (!isfinite(v) || a >= 9e18) {
        util_format_double(v, out, len);
        return;
    }
    if (a == 0) {
        snprintf(out, len, "0s");
        return;
    }
    if (a < 1) {
        static const char small[] = "munpfazy";
        char prefix = 'm';

        for (const char *p = small; *p && a < 1; p++) {
            prefix = *p;
            a *= 1000;
        }
        snprintf(out, len, "%s%.4g%cs", sign, a, prefix);
        return;
    }
    sec = (long long)a;
    d = sec / 86400;
    h = sec / 3600 % 24;
    m = sec / 60 % 60;
    sec %= 60;
    if (d != 0)
        snprintf(out, len, "%s%lldd %lldh %lldm %llds", sign, d, h, m, sec);
    else if (h != 0)
        snprintf(out, len, "%s%lldh %lldm %llds", sign, h, m, sec);
    else if (m != 0)
        snprintf(out, len, "%s%lldm %llds", sign, m, sec);
    else
        snprintf(out, len, "%s%.4gs", sign, a);
}

static void fmt_value(enum tmpl_fn fn, double v, char *out, size_t len)
{
    switch (fn) {
    case TF_NONE:
        util_format_double(v, out, len);
        break;
    case TF_HUMANIZE:
        fmt_humanize(v, out, len);
        break;
    case TF_PERCENTAGE:
        if (isfinite(v))
            snprintf(out, len, "%.4g%%", v * 100);
        else
            util_format_double(v, out, len);
        break;
    case TF_DURATION:
        fmt_duration(v, out, len);
        break;
    }
}

int tmpl_render(const struct tmpl *t, const struct tmpl_ctx *c, struct buf *out)
{
    char num[64];

    for (size_t i = 0; i < t->n; i++) {
        const struct tmpl_part *p = &t->parts[i];
        const char *s = NULL;

        switch (p->var) {
        case TV_LITERAL:
            buf_add(out, p->text, p->len);
            continue;
        case TV_RULE:
            s = c->rule;
            break;
        case TV_EVENT:
            s = c->event;
            break;
        case TV_SEVERITY:
            s = c->severity;
            break;
        case TV_PREVIOUS:
            s = c->previous;
            break;
        case TV_REASON:
            s = c->reason;
            break;
        case TV_FINGERPRINT:
            s = c->fingerprint;
            break;
        case TV_VALUE:
            num[0] = '\0';
            if (c->has_value)
                fmt_value(p->fn, c->value, num, sizeof(num));
            s = num;
            break;
        case TV_TS:
            /* Millisecond precision, like the event JSON. */
            util_format_double(round(c->ts * 1000) / 1000, num, sizeof(num));
            s = num;
            break;
        case TV_LABEL:
            s = c->labels ? labels_get(c->labels, c->nlabels, p->text) : NULL;
            /* The severity label of the Alertmanager payload: the
             * severity, or the one it had for a resolved alert. */
            if (s == NULL && strcmp(p->text, "severity") == 0)
                s = c->severity && strcmp(c->severity, "ok") == 0 && c->previous
                        ? c->previous
                        : c->severity;
            break;
        case TV_ANNOTATION:
            s = lookup(c->annotations, c->nannotations, p->text);
            break;
        }
        buf_adds(out, s ? s : "");
    }
    return out->failed ? -1 : 0;
}
