/* template.c - "{{ path }}" templates: compiled once at config load (so an
 * unknown path is a `tocsin check` error), rendered per event into a capped
 * buffer. Used by rule annotations (engine) and webhook bodies (notifiers). */
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

struct tmpl_part {
    enum tmpl_var var;
    char *text; /* TV_LITERAL: the text; TV_LABEL/TV_ANNOTATION: the name */
    size_t len;
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

static void add_part(struct tmpl *t, enum tmpl_var var, const char *s,
                     size_t len)
{
    t->parts = xrealloc(t->parts, (t->n + 1) * sizeof(*t->parts));
    t->parts[t->n].var = var;
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

struct tmpl *tmpl_compile(const char *src, char *why, size_t whylen,
                          size_t *col_off)
{
    struct tmpl *t = xcalloc(1, sizeof(*t));
    const char *p = src;

    for (;;) {
        const char *open = strstr(p, "{{");
        const char *a, *b, *close;

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
        t->has_vars = true;
        p = close + 2;
    }
    return t;
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
                util_format_double(c->value, num, sizeof(num));
            s = num;
            break;
        case TV_TS:
            /* Millisecond precision, like the event JSON. */
            util_format_double(round(c->ts * 1000) / 1000, num, sizeof(num));
            s = num;
            break;
        case TV_LABEL:
            s = lookup(c->labels, c->nlabels, p->text);
            break;
        case TV_ANNOTATION:
            s = lookup(c->annotations, c->nannotations, p->text);
            break;
        }
        buf_adds(out, s ? s : "");
    }
    return out->failed ? -1 : 0;
}
