/* cfgnode.c - the YAML document as a tree of positioned nodes (built from
 * libyaml events), ${VAR} expansion, the diagnostics list, and the typed
 * readers config.c and every notifier's configure op use. Called by
 * config.c (cfg_parse) and by notifiers/ (cfg_get, cfg_str, ...). */
#include "cfgnode.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "../common/buf.h"
#include "../common/util.h"

/* ---- diagnostics ---- */

void cfg_diag_init(struct cfg_diag *d, const char *file)
{
    memset(d, 0, sizeof(*d));
    d->file = file ? file : "<config>";
}

void cfg_diag_cleanup(struct cfg_diag *d)
{
    for (size_t i = 0; i < d->nmsgs; i++)
        free(d->msgs[i]);
    d->nmsgs = 0;
    d->count = 0;
}

static void diag_vadd(struct cfg_diag *d, int line, int col, const char *fmt,
                      va_list ap)
{
    char msg[1024];
    char full[1400];

    size_t at = d->nmsgs;

    d->count++;
    if (line <= 0)
        line = col = 0;
    if (col <= 0)
        col = 1;
    if (at >= CFG_MAX_ERRORS) {
        /* Full: keep the first CFG_MAX_ERRORS in file order (checks run
         * section by section): this one replaces the last kept of this
         * file, if it comes before it. */
        size_t last = CFG_MAX_ERRORS;

        for (size_t i = 0; i < CFG_MAX_ERRORS; i++)
            if (d->msg_file[i] == d->file &&
                (last == CFG_MAX_ERRORS || d->msg_line[i] > d->msg_line[last] ||
                 (d->msg_line[i] == d->msg_line[last] &&
                  d->msg_col[i] > d->msg_col[last])))
                last = i;
        if (last == CFG_MAX_ERRORS || line > d->msg_line[last] ||
            (line == d->msg_line[last] && col >= d->msg_col[last]))
            return;
        free(d->msgs[last]);
        at = last;
    }
    vsnprintf(msg, sizeof(msg), fmt, ap);
    /* Line 0 is "the file as a whole" (cannot read, too large). */
    if (line == 0)
        snprintf(full, sizeof(full), "%s: %s", d->file, msg);
    else
        snprintf(full, sizeof(full), "%s:%d:%d: %s", d->file, line, col, msg);
    d->msgs[at] = xstrdup(full);
    d->msg_file[at] = d->file;
    d->msg_line[at] = line;
    d->msg_col[at] = col;
    if (at == d->nmsgs)
        d->nmsgs++;
}

void cfg_error(struct cfg_diag *d, int line, int col, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    diag_vadd(d, line, col, fmt, ap);
    va_end(ap);
}

void cfg_error_at(struct cfg_diag *d, const struct cfg_node *n, const char *fmt,
                  ...)
{
    va_list ap;

    /* A value whose expansion failed is "" only as a stand-in: what is
     * wrong with it was said once, at its own position. */
    if (n && n->unset)
        return;
    va_start(ap, fmt);
    diag_vadd(d, n ? n->line : 0, n ? n->col : 0, fmt, ap);
    va_end(ap);
}

/* Byte offset in src of 1-based (line, col), col in characters as libyaml
 * counts them; len when past the end. */
static size_t src_offset(const char *src, size_t len, int line, int col)
{
    size_t i = 0;

    for (int l = 1; l < line && i < len; i++)
        if (src[i] == '\n')
            l++;
    for (int c = 1; c < col && i < len && src[i] != '\n'; c++) {
        i++;
        while (i < len && ((unsigned char)src[i] & 0xc0) == 0x80)
            i++; /* a UTF-8 continuation byte: same character */
    }
    return i;
}

/* The k-th (1-based) "{{" at or after from in s[0..len), or len. */
static size_t nth_open(const char *s, size_t len, size_t from, size_t k)
{
    for (size_t i = from; i + 1 < len; i++) {
        if (s[i] == '{' && s[i + 1] == '{' && --k == 0)
            return i;
        if (s[i] == '{' && s[i + 1] == '{')
            i++;
    }
    return len;
}

/* Does s[0..len) hold a YAML escape of '{' (\x7b, \u007b, \U0000007b)? */
static bool brace_escape(const char *s, size_t len)
{
    static const char *const esc[] = {"\\x7b", "\\u007b", "\\U0000007b"};

    for (size_t i = 0; i < len; i++) {
        if (s[i] != '\\')
            continue;
        for (size_t k = 0; k < sizeof(esc) / sizeof(esc[0]); k++) {
            size_t n = strlen(esc[k]);
            if (i + n <= len && strncasecmp(s + i, esc[k], n) == 0)
                return true;
        }
        i++; /* the escaped character: "\\x7b" is no escape of '{' */
    }
    return false;
}

void cfg_error_in_scalar(struct cfg_diag *d, const struct cfg_node *n,
                         size_t off, const char *fmt, ...)
{
    int line = n ? n->line : 0, col = n ? n->col : 0;
    va_list ap;

    if (n && n->unset)
        return;
    if (n && !n->from_env && n->scalar && d->src && off <= strlen(n->scalar)) {
        const char *v = n->scalar;
        size_t vlen = strlen(v), k = 0, open = vlen, start, raw;

        /* Which "{{" of the value holds off, and how far into it. */
        for (size_t i = nth_open(v, vlen, 0, 1); i < vlen && i <= off;
             i = nth_open(v, vlen, i + 2, 1)) {
            open = i;
            k++;
        }
        start = src_offset(d->src, d->srclen, n->line, n->col);
        if (start < d->srclen && d->src[start] == '*')
            k = 0; /* an alias: its text is elsewhere; its own position */
        if (start < d->srclen &&
            (d->src[start] == '|' || d->src[start] == '>')) {
            /* A block scalar starts on the line after its indicator (and
             * the comment that may follow it). */
            const char *nl = memchr(d->src + start, '\n', d->srclen - start);
            start = nl ? (size_t)(nl - d->src) + 1 : d->srclen;
        }
        raw = k ? nth_open(d->src, d->srclen, start, k) : d->srclen;
        /* An escape in a double-quoted scalar may write or hide a "{{"
         * ("\x7b{"): counting them in the file's text is off; the
         * scalar's own position then. */
        if (raw < d->srclen && start < d->srclen && d->src[start] == '"' &&
            brace_escape(d->src + start, raw - start))
            raw = d->srclen;
        if (raw < d->srclen) {
            /* The text from "{{" to off as written, unless an escape or
             * a line break in the file makes it differ. */
            size_t delta = off - open;
            if (raw + delta < d->srclen &&
                memchr(d->src + raw, '\n', delta) == NULL &&
                memchr(d->src + raw, '\\', delta) == NULL)
                raw += delta;
            line = 1;
            col = 1;
            for (size_t i = 0; i < raw; i++) {
                if (d->src[i] == '\n') {
                    line++;
                    col = 1;
                } else if (((unsigned char)d->src[i] & 0xc0) != 0x80) {
                    col++;
                }
            }
        }
    }
    va_start(ap, fmt);
    diag_vadd(d, line, col, fmt, ap);
    va_end(ap);
}

void cfg_diag_print(const struct cfg_diag *d, void *FILE_stream)
{
    FILE *f = FILE_stream;

    /* One line per error, whatever a quoted key or value holds: control
     * characters are shown escaped, not obeyed. */
    for (size_t i = 0; i < d->nmsgs; i++) {
        for (const char *p = d->msgs[i]; *p; p++) {
            unsigned char c = (unsigned char)*p;

            if (c == '\n')
                fputs("\\n", f);
            else if (c == '\r')
                fputs("\\r", f);
            else if (c == '\t')
                fputs("\\t", f);
            else if (c < 0x20 || c == 0x7f)
                fprintf(f, "\\x%02x", c);
            else
                fputc(c, f);
        }
        fputc('\n', f);
    }
    if (d->count > d->nmsgs)
        fprintf(f, "%s: %zu errors (%zu not shown)\n", d->file, d->count,
                d->count - d->nmsgs);
}

/* ---- node access and typed readers ---- */

/* Digits of base (8, 10 or 16) only, at least one. */
static bool all_digits(const char *s, int base)
{
    if (*s == '\0')
        return false;
    for (; *s; s++) {
        int c = (unsigned char)*s;
        if (!(base == 16 ? isxdigit(c) : c >= '0' && c < '0' + base))
            return false;
    }
    return true;
}

bool cfg_core_is(const char *s, const char *type)
{
    static const char *const bools[] = {"true",  "True",  "TRUE", "false",
                                        "False", "FALSE", NULL};
    static const char *const nulls[] = {"", "~", "null", "Null", "NULL", NULL};
    static const char *const specials[] = {
        ".inf",  ".Inf",  ".INF", "+.inf", "+.Inf", "+.INF", "-.inf",
        "-.Inf", "-.INF", ".nan", ".NaN",  ".NAN",  NULL};
    const char *const *set = strcmp(type, "bool") == 0   ? bools
                             : strcmp(type, "null") == 0 ? nulls
                                                         : NULL;
    const char *d = s + (*s == '-' || *s == '+');
    double v;

    if (set != NULL) {
        for (size_t i = 0; set[i]; i++)
            if (strcmp(s, set[i]) == 0)
                return true;
        return false;
    }
    if (strncmp(s, "0x", 2) == 0 && all_digits(s + 2, 16))
        return true;
    if (strncmp(s, "0o", 2) == 0 && all_digits(s + 2, 8))
        return true;
    if (all_digits(d, 10))
        return true; /* an int, and a float too */
    if (strcmp(type, "float") != 0)
        return false;
    for (size_t i = 0; specials[i]; i++)
        if (strcmp(s, specials[i]) == 0)
            return true;
    for (const char *q = d; *q; q++)
        if (!isdigit((unsigned char)*q) && !strchr(".eE+-", *q))
            return false;
    return util_parse_double(s, &v) == 0;
}

bool cfg_is_null(const struct cfg_node *n)
{
    return n && n->type == CFG_SCALAR && !n->quoted &&
           (n->scalar[0] == '\0' || strcmp(n->scalar, "~") == 0 ||
            strcmp(n->scalar, "null") == 0 || strcmp(n->scalar, "Null") == 0 ||
            strcmp(n->scalar, "NULL") == 0);
}

const struct cfg_node *cfg_get(const struct cfg_node *map, const char *key)
{
    if (map == NULL || map->type != CFG_MAP)
        return NULL;
    for (size_t i = 0; i < map->n; i++)
        if (strcmp(map->keys[i], key) == 0)
            return map->items[i];
    return NULL;
}

bool cfg_in_list(const char *const *list, const char *k)
{
    for (size_t i = 0; list && list[i]; i++)
        if (strcmp(list[i], k) == 0)
            return true;
    return false;
}

int cfg_check_keys(const struct cfg_node *map, const char *const *allowed,
                   const char *const *also, struct cfg_diag *d)
{
    int bad = 0;

    if (map == NULL || map->type != CFG_MAP)
        return 0;
    for (size_t i = 0; i < map->n; i++) {
        if (cfg_in_list(allowed, map->keys[i]) ||
            cfg_in_list(also, map->keys[i]))
            continue;
        cfg_error(d, map->key_line[i], map->key_col[i], "unknown key \"%s\"",
                  map->keys[i]);
        bad++;
    }
    return bad;
}

const char *cfg_shown(const struct cfg_node *n, const char *v)
{
    return n && n->from_env ? "(value from the environment)" : v;
}

void cfg_quoted(const struct cfg_node *n, char *out, size_t outlen)
{
    if (n->type != CFG_SCALAR)
        snprintf(out, outlen, "(a %s)", n->type == CFG_MAP ? "map" : "list");
    else if (n->from_env)
        snprintf(out, outlen, "(value from the environment)");
    else
        snprintf(out, outlen, "\"%.200s\"", n->scalar);
}

static int need_scalar(const struct cfg_node *n, const char *what,
                       const char *expected, struct cfg_diag *d)
{
    if (n->type != CFG_SCALAR) {
        cfg_error_at(d, n, "%s must be %s, not a %s", what, expected,
                     n->type == CFG_MAP ? "map" : "list");
        return -1;
    }
    if (cfg_is_null(n)) {
        cfg_error_at(d, n, "%s needs a value (%s)", what, expected);
        return -1;
    }
    return 0;
}

int cfg_str(const struct cfg_node *n, const char *what, const char **out,
            struct cfg_diag *d)
{
    if (n == NULL)
        return 1;
    if (n->type != CFG_SCALAR) {
        cfg_error_at(d, n, "%s must be a string, not a %s", what,
                     n->type == CFG_MAP ? "map" : "list");
        return -1;
    }
    if (cfg_is_null(n) && !n->from_env) {
        cfg_error_at(d, n, "%s needs a value", what);
        return -1;
    }
    *out = n->scalar;
    return 0;
}

int cfg_bool(const struct cfg_node *n, const char *what, bool *out,
             struct cfg_diag *d)
{
    static const char *const yaml11[] = {"yes", "no", "on", "off",
                                         "y",   "n",  NULL};
    char q[256];

    if (n == NULL)
        return 1;
    if (need_scalar(n, what, "true or false", d) < 0)
        return -1;
    /* "${FLAG}" is quoted only to hold the reference: its value counts. */
    if ((!n->quoted || n->from_env) && cfg_core_is(n->scalar, "bool")) {
        *out = n->scalar[0] == 't' || n->scalar[0] == 'T';
        return 0;
    }
    cfg_quoted(n, q, sizeof(q));
    for (size_t i = 0; yaml11[i]; i++) {
        if (strcasecmp(n->scalar, yaml11[i]) == 0) {
            cfg_error_at(d, n,
                         "%s must be true or false, not %s (YAML 1.1 "
                         "booleans such as yes/no/on/off are not accepted)",
                         what, q);
            return -1;
        }
    }
    cfg_error_at(d, n, "%s must be true or false, not %s%s", what, q,
                 n->quoted ? " (a quoted string)" : "");
    return -1;
}

int cfg_number(const struct cfg_node *n, const char *what, double *out,
               struct cfg_diag *d)
{
    char q[256];

    if (n == NULL)
        return 1;
    if (need_scalar(n, what, "a number", d) < 0)
        return -1;
    /* YAML 1.2 core's octal (0o17); hex (0x1F) strtod reads itself. */
    if (strncmp(n->scalar, "0o", 2) == 0 && n->scalar[2] != '\0' &&
        all_digits(n->scalar + 2, 8) && strlen(n->scalar) <= 2 + 21) {
        *out = (double)strtoull(n->scalar + 2, NULL, 8);
        return 0;
    }
    if (util_parse_double(n->scalar, out) < 0) {
        cfg_quoted(n, q, sizeof(q));
        cfg_error_at(d, n, "%s must be a number, not %s", what, q);
        return -1;
    }
    return 0;
}

int cfg_duration(const struct cfg_node *n, const char *what, double *out,
                 struct cfg_diag *d)
{
    char q[256];

    if (n == NULL)
        return 1;
    if (need_scalar(n, what, "a duration", d) < 0)
        return -1;
    if (util_parse_duration(n->scalar, out) < 0) {
        cfg_quoted(n, q, sizeof(q));
        cfg_error_at(d, n,
                     "invalid duration %s for %s (expected e.g. 250ms, 30s, "
                     "5m, 2h, 1d, 1w or sums like 1h30m)",
                     q, what);
        return -1;
    }
    return 0;
}

int cfg_strlist(const struct cfg_node *n, const char *what, const char ***out,
                size_t *nout, struct cfg_diag *d)
{
    const char **v;
    int bad = 0;

    if (n == NULL)
        return 1;
    if (n->type == CFG_SCALAR) {
        if (cfg_is_null(n)) {
            cfg_error_at(d, n, "%s needs a value (a string or a list)", what);
            return -1;
        }
        v = xmalloc(sizeof(*v));
        v[0] = n->scalar;
        *out = v;
        *nout = 1;
        return 0;
    }
    if (n->type != CFG_SEQ) {
        cfg_error_at(d, n, "%s must be a string or a list of strings", what);
        return -1;
    }
    for (size_t i = 0; i < n->n; i++) {
        if (n->items[i]->type != CFG_SCALAR) {
            cfg_error_at(d, n->items[i], "%s must be a list of strings", what);
            bad = 1;
        } else if (cfg_is_null(n->items[i]) && !n->items[i]->from_env) {
            cfg_error_at(d, n->items[i], "%s: a list item needs a value", what);
            bad = 1;
        }
    }
    if (bad)
        return -1;
    v = xmalloc((n->n ? n->n : 1) * sizeof(*v));
    for (size_t i = 0; i < n->n; i++)
        v[i] = n->items[i]->scalar;
    *out = v;
    *nout = n->n;
    return 0;
}

void cfg_node_free(struct cfg_node *n)
{
    if (n == NULL)
        return;
    free(n->scalar);
    for (size_t i = 0; i < n->n; i++) {
        cfg_node_free(n->items[i]);
        if (n->keys)
            free(n->keys[i]);
    }
    free(n->items);
    free(n->keys);
    free(n->key_line);
    free(n->key_col);
    free(n);
}

/* ---- tree building ---- */

static struct cfg_node *node_new(enum cfg_type t, int line, int col)
{
    struct cfg_node *n = xcalloc(1, sizeof(*n));
    n->type = t;
    n->line = line;
    n->col = col;
    return n;
}

/* Room for one more entry (capacity doubles at powers of two from 4). */
static void node_reserve(struct cfg_node *n)
{
    size_t cap;

    if (n->n != 0 && (n->n < 4 || (n->n & (n->n - 1)) != 0))
        return;
    cap = n->n == 0 ? 4 : n->n * 2;
    n->items = xrealloc(n->items, cap * sizeof(*n->items));
    if (n->type == CFG_MAP) {
        n->keys = xrealloc(n->keys, cap * sizeof(*n->keys));
        n->key_line = xrealloc(n->key_line, cap * sizeof(*n->key_line));
        n->key_col = xrealloc(n->key_col, cap * sizeof(*n->key_col));
    }
}

static void seq_push(struct cfg_node *s, struct cfg_node *item)
{
    node_reserve(s);
    s->items[s->n++] = item;
}

static void map_push(struct cfg_node *m, char *key, int line, int col,
                     struct cfg_node *v)
{
    node_reserve(m);
    m->keys[m->n] = key;
    m->key_line[m->n] = line;
    m->key_col[m->n] = col;
    m->items[m->n++] = v;
}

/* What alias expansion may still copy: nodes, and bytes of text, so that
 * neither many small nodes nor one long scalar aliased many times can blow
 * a small file up in memory. */
struct alias_budget {
    size_t nodes, bytes;
};

/* Take n bytes from the budget; false when it has fewer. */
static bool take_bytes(struct alias_budget *b, size_t n)
{
    if (n > b->bytes)
        return false;
    b->bytes -= n;
    return true;
}

/* Deep copy for alias expansion, within *budget; depth_left bounds the
 * nesting of the copy. NULL when either runs out. */
static struct cfg_node *node_copy(const struct cfg_node *s,
                                  struct alias_budget *budget, int depth_left)
{
    struct cfg_node *n;

    if (budget->nodes == 0 || depth_left < 0 ||
        (s->scalar && !take_bytes(budget, strlen(s->scalar) + 1)))
        return NULL;
    budget->nodes--;
    n = node_new(s->type, s->line, s->col);
    n->quoted = s->quoted;
    n->from_env = s->from_env;
    n->unset = s->unset;
    if (s->scalar)
        n->scalar = xstrdup(s->scalar);
    for (size_t i = 0; i < s->n; i++) {
        if (s->type == CFG_MAP && !take_bytes(budget, strlen(s->keys[i]) + 1)) {
            cfg_node_free(n);
            return NULL;
        }
        struct cfg_node *c = node_copy(s->items[i], budget,
                                       depth_left - (s->type != CFG_SCALAR));
        if (c == NULL) {
            cfg_node_free(n);
            return NULL;
        }
        if (s->type == CFG_MAP)
            map_push(n, xstrdup(s->keys[i]), s->key_line[i], s->key_col[i], c);
        else
            seq_push(n, c);
    }
    return n;
}

static int node_depth(const struct cfg_node *n)
{
    int m = 0;

    if (n->type == CFG_SCALAR)
        return 0;
    for (size_t i = 0; i < n->n; i++) {
        int d = node_depth(n->items[i]);
        if (d > m)
            m = d;
    }
    return m + 1;
}

/* Expand ${VAR}, ${VAR:-default} and $$ in s. Errors name the variable,
 * never a value. Returns the new string (malloc'd) or NULL after an error. */
/* The '}' closing a reference whose name starts at name, past any nested
 * "${...}" in its default. NULL when there is none. */
static const char *ref_close(const char *name)
{
    int depth = 0;

    for (const char *q = name; *q; q++) {
        if (q[0] == '$' && (q[1] == '$' || q[1] == '{')) {
            depth += q[1] == '{';
            q++;
        } else if (*q == '}') {
            if (depth == 0)
                return q;
            depth--;
        }
    }
    return NULL;
}

static char *env_expand_depth(const char *s, int line, int col, bool *expanded,
                              struct cfg_diag *d, int depth);

static char *env_expand(const char *s, int line, int col, bool *expanded,
                        struct cfg_diag *d)
{
    return env_expand_depth(s, line, col, expanded, d, 0);
}

/* A default may hold references itself ("${A:-${B:-x}}"), to this depth. */
#define ENV_MAX_NESTING 8

static char *env_expand_depth(const char *s, int line, int col, bool *expanded,
                              struct cfg_diag *d, int depth)
{
    struct buf b;
    const char *p = s;
    bool bad = false;

    *expanded = false;
    if (strchr(s, '$') == NULL)
        return xstrdup(s);
    buf_init(&b, CFG_MAX_INPUT * 2);
    while (*p) {
        const char *name, *end, *close, *def = NULL;
        size_t nlen;
        char var[256];
        const char *val;

        if (p[0] != '$' || (p[1] != '$' && p[1] != '{')) {
            buf_addc(&b, *p++);
            continue;
        }
        if (p[1] == '$') {
            buf_addc(&b, '$');
            p += 2;
            continue;
        }
        name = p + 2;
        close = ref_close(name);
        if (close == NULL) {
            cfg_error(d, line, col,
                      "unterminated \"${\" in value (write $$ "
                      "for a literal $)");
            bad = true;
            break;
        }
        end = name;
        while (end < close && (isalnum((unsigned char)*end) || *end == '_'))
            end++;
        nlen = (size_t)(end - name);
        if (end < close) {
            if (end[0] == ':' && end[1] == '-')
                def = end + 2;
            else
                nlen = 0; /* invalid character in the name */
        }
        if (nlen == 0 || nlen >= sizeof(var) ||
            isdigit((unsigned char)name[0])) {
            cfg_error(d, line, col,
                      "invalid variable reference in value (expected "
                      "${NAME} or ${NAME:-default}; write $$ for a literal $)");
            bad = true;
            p = close + 1;
            continue;
        }
        memcpy(var, name, nlen);
        var[nlen] = '\0';
        val = getenv(var);
        *expanded = true;
        if (val != NULL && (def == NULL || val[0] != '\0')) {
            buf_adds(&b, val);
        } else if (def != NULL && memchr(def, '$', (size_t)(close - def))) {
            size_t dlen = (size_t)(close - def);
            char *raw = xmalloc(dlen + 1), *sub = NULL;
            bool inner = false;

            memcpy(raw, def, dlen);
            raw[dlen] = '\0';
            if (depth >= ENV_MAX_NESTING)
                cfg_error(d, line, col,
                          "variable references nested deeper than %d",
                          ENV_MAX_NESTING);
            else
                sub = env_expand_depth(raw, line, col, &inner, d, depth + 1);
            free(raw);
            if (sub == NULL) {
                bad = true;
                break;
            }
            buf_adds(&b, sub);
            free(sub);
        } else if (def != NULL) {
            buf_add(&b, def, (size_t)(close - def));
        } else {
            cfg_error(d, line, col, "environment variable %s is not set", var);
            bad = true;
        }
        p = close + 1;
    }
    if (bad || b.failed) {
        if (!bad)
            cfg_error(d, line, col, "value too long after expansion");
        buf_cleanup(&b);
        return NULL;
    }
    return buf_steal(&b);
}

struct anchor {
    char *name;
    struct cfg_node *node; /* borrowed from the tree (or the graveyard) */
};

struct frame {
    struct cfg_node *node;
    char *anchor; /* to register when the collection ends */
    bool has_key; /* map: a key is waiting for its value */
    bool key_bad; /* map: that key was not a scalar: drop the value */
    char *key;
    int key_line, key_col;
};

struct builder {
    struct cfg_diag *d;
    struct frame stack[CFG_MAX_DEPTH + 1];
    int depth;
    struct cfg_node *root;
    struct anchor *anchors;
    size_t nanchors;
    struct alias_budget budget;  /* what aliases may still copy */
    struct cfg_node **graveyard; /* dropped nodes that anchors may point to */
    size_t ngrave;
    size_t env_bytes; /* text ${VAR} expansion made, all scalars together */
    bool env_over;
    bool fatal;
};

/* Whether an anchor names n or a node inside it: one walk of the subtree,
 * so dropping values stays linear however many anchors came before. */
static bool node_anchored(const struct cfg_node *n)
{
    if (n->anchored)
        return true;
    for (size_t i = 0; i < n->n; i++)
        if (node_anchored(n->items[i]))
            return true;
    return false;
}

/* Drop a node that is not part of the tree (a key, a repeated key's value). */
static void bury(struct builder *b, struct cfg_node *n)
{
    /* Only nodes an anchor may point to need to outlive the parse. */
    if (!node_anchored(n)) {
        cfg_node_free(n);
        return;
    }
    if ((b->ngrave & (b->ngrave - 1)) == 0 || b->ngrave == 0)
        b->graveyard = xrealloc(b->graveyard, (b->ngrave ? b->ngrave * 2 : 1) *
                                                  sizeof(*b->graveyard));
    b->graveyard[b->ngrave++] = n;
}

static void anchor_add(struct builder *b, const char *name, struct cfg_node *n)
{
    if ((b->nanchors & (b->nanchors - 1)) == 0)
        b->anchors = xrealloc(b->anchors, (b->nanchors ? b->nanchors * 2 : 1) *
                                              sizeof(*b->anchors));
    b->anchors[b->nanchors].name = xstrdup(name);
    b->anchors[b->nanchors].node = n;
    b->nanchors++;
    n->anchored = true;
}

static struct cfg_node *anchor_find(struct builder *b, const char *name)
{
    /* The newest definition wins (YAML allows redefining an anchor). */
    for (size_t i = b->nanchors; i-- > 0;)
        if (strcmp(b->anchors[i].name, name) == 0)
            return b->anchors[i].node;
    return NULL;
}

static bool in_key_position(const struct builder *b)
{
    const struct frame *f;

    if (b->depth == 0)
        return false;
    f = &b->stack[b->depth - 1];
    return f->node->type == CFG_MAP && !f->has_key;
}

/* Attach a finished node to its parent (or make it the root). */
static void attach(struct builder *b, struct cfg_node *n)
{
    struct frame *f;

    if (b->depth == 0) {
        if (b->root)
            bury(b, b->root);
        b->root = n;
        return;
    }
    f = &b->stack[b->depth - 1];
    if (f->node->type == CFG_SEQ) {
        seq_push(f->node, n);
        return;
    }
    if (!f->has_key) {
        f->has_key = true;
        f->key_line = n->line;
        f->key_col = n->col;
        if (n->type != CFG_SCALAR) {
            cfg_error_at(b->d, n, "map keys must be plain strings");
            f->key_bad = true;
            f->key = NULL;
        } else {
            f->key_bad = false;
            f->key = xstrdup(n->scalar);
            /* A scalar key is anchored only by its own event, just before. */
            if (b->nanchors == 0 || b->anchors[b->nanchors - 1].node != n) {
                cfg_node_free(n);
                return;
            }
        }
        bury(b, n);
        return;
    }
    f->has_key = false;
    if (f->key_bad) {
        bury(b, n);
        return;
    }
    map_push(f->node, f->key, f->key_line, f->key_col, n);
    f->key = NULL;
}

struct keyref {
    const char *key;
    size_t i;
};

static int keyref_cmp(const void *a, const void *b)
{
    const struct keyref *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    if (c)
        return c;
    return x->i < y->i ? -1 : x->i > y->i;
}

/* Report (in file order) and drop every repeated key of m. Sorting keeps
 * this O(n log n) for large maps. */
static void map_dedup(struct builder *b, struct cfg_node *m)
{
    struct keyref *r;
    size_t *first; /* index of the first occurrence, or SIZE_MAX */
    size_t j = 0, run = 0;

    if (m->n < 2)
        return;
    r = xmalloc(m->n * sizeof(*r));
    first = xmalloc(m->n * sizeof(*first));
    for (size_t i = 0; i < m->n; i++) {
        r[i].key = m->keys[i];
        r[i].i = i;
    }
    qsort(r, m->n, sizeof(*r), keyref_cmp);
    for (size_t i = 0; i < m->n; i++) {
        first[r[i].i] = SIZE_MAX;
        if (i > 0 && strcmp(r[i].key, r[i - 1].key) == 0)
            first[r[i].i] = r[run].i;
        else
            run = i;
    }
    free(r);
    for (size_t i = 0; i < m->n; i++) {
        if (first[i] == SIZE_MAX) {
            m->keys[j] = m->keys[i];
            m->key_line[j] = m->key_line[i];
            m->key_col[j] = m->key_col[i];
            m->items[j++] = m->items[i];
            continue;
        }
        cfg_error(b->d, m->key_line[i], m->key_col[i],
                  "duplicate key \"%s\" (first at line %d)", m->keys[i],
                  m->key_line[first[i]]);
        free(m->keys[i]);
        bury(b, m->items[i]);
    }
    m->n = j;
    free(first);
}

static bool map_has(const struct cfg_node *m, const char *key)
{
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->keys[i], key) == 0)
            return true;
    return false;
}

/* Copy the entries of map src that m lacks into m (within the alias
 * budget). false when the budget ran out. */
static bool merge_from(struct builder *b, struct cfg_node *m,
                       const struct cfg_node *src)
{
    for (size_t j = 0; j < src->n; j++) {
        struct cfg_node *c;

        if (map_has(m, src->keys[j]))
            continue;
        c = node_copy(src->items[j], &b->budget, CFG_MAX_DEPTH);
        if (c == NULL)
            return false;
        map_push(m, xstrdup(src->keys[j]), src->key_line[j], src->key_col[j],
                 c);
    }
    return true;
}

/* YAML merge keys, as Go's YAML (Prometheus, Alertmanager) reads them:
 * "<<: *base" or "<<: [*a, *b]" adds the entries of those maps that m does
 * not set itself, earlier maps first. */
static void map_merge(struct builder *b, struct cfg_node *m)
{
    struct cfg_node **vals;
    size_t nv = 0, j = 0;

    for (size_t i = 0; i < m->n; i++)
        nv += strcmp(m->keys[i], "<<") == 0;
    if (nv == 0)
        return;
    vals = xcalloc(nv, sizeof(*vals));
    nv = 0;
    for (size_t i = 0; i < m->n; i++) {
        if (strcmp(m->keys[i], "<<") == 0) {
            free(m->keys[i]);
            vals[nv++] = m->items[i];
            continue;
        }
        m->keys[j] = m->keys[i];
        m->key_line[j] = m->key_line[i];
        m->key_col[j] = m->key_col[i];
        m->items[j++] = m->items[i];
    }
    m->n = j;
    for (size_t i = 0; i < nv; i++) {
        const struct cfg_node *v = vals[i];
        bool ok = true, shape = v->type == CFG_MAP;

        if (v->type == CFG_SEQ) {
            shape = true;
            for (size_t k = 0; k < v->n; k++)
                shape = shape && v->items[k]->type == CFG_MAP;
        }
        if (!shape) {
            cfg_error_at(b->d, v,
                         "a merge key (<<) needs a map or a list of "
                         "maps");
        } else if (v->type == CFG_MAP) {
            ok = merge_from(b, m, v);
        } else {
            for (size_t k = 0; k < v->n && ok; k++)
                ok = merge_from(b, m, v->items[k]);
        }
        if (!ok) {
            cfg_error_at(b->d, v,
                         "alias expansion too large (more than %d nodes or "
                         "%zu bytes in all)",
                         CFG_MAX_ALIAS_NODES, (size_t)CFG_MAX_ALIAS_BYTES);
            b->fatal = true;
        }
        bury(b, vals[i]);
    }
    free(vals);
}

/* The line and column of byte off, counted as libyaml counts its marks:
 * a leading BOM is not there, a column is a character (not a byte), and
 * CR LF, CR, LF, NEL, LS and PS each break a line. Reader errors carry only
 * a byte offset, and must point where every other error would. */
static void yaml_reader_mark(const char *text, size_t off, int *line, int *col)
{
    const unsigned char *u = (const unsigned char *)text;
    size_t i = 0;

    *line = 1;
    *col = 1;
    if (off >= 3 && u[0] == 0xef && u[1] == 0xbb && u[2] == 0xbf)
        i = 3;
    while (i < off) {
        size_t brk = 0;

        if (u[i] == '\r')
            brk = i + 1 < off && u[i + 1] == '\n' ? 2 : 1;
        else if (u[i] == '\n')
            brk = 1;
        else if (i + 1 < off && u[i] == 0xc2 && u[i + 1] == 0x85)
            brk = 2;
        else if (i + 2 < off && u[i] == 0xe2 && u[i + 1] == 0x80 &&
                 (u[i + 2] == 0xa8 || u[i + 2] == 0xa9))
            brk = 3;
        if (brk) {
            (*line)++;
            *col = 1;
            i += brk;
            continue;
        }
        if ((u[i] & 0xc0) != 0x80)
            (*col)++;
        i++;
    }
}

static void yaml_error(struct builder *b, yaml_parser_t *p, const char *text,
                       size_t len)
{
    int line, col;
    const char *problem = p->problem ? p->problem : "invalid YAML";

    if (p->error == YAML_MEMORY_ERROR) {
        cfg_error(b->d, 1, 1, "out of memory while parsing");
        return;
    }
    if (p->error == YAML_READER_ERROR) {
        yaml_reader_mark(text,
                         p->problem_offset < len ? p->problem_offset : len,
                         &line, &col);
        cfg_error(b->d, line, col, "%s", problem);
        return;
    }
    line = (int)p->problem_mark.line + 1;
    col = (int)p->problem_mark.column + 1;
    if (p->context)
        cfg_error(b->d, line, col, "%s (%s)", problem, p->context);
    else
        cfg_error(b->d, line, col, "%s", problem);
}

#define YAML_CORE_TAG "tag:yaml.org,2002:"

/* An explicit tag on node n (NULL: none). "!" and !!str make a string of
 * any scalar; !!null, !!bool, !!int and !!float make a plain scalar of a
 * quoted one, whose text must then be of that type; !!map and !!seq are
 * what a map and a list are anyway. Anything else is an error. */
static void apply_tag(struct builder *b, struct cfg_node *n, const char *tag)
{
    size_t pre = strlen(YAML_CORE_TAG);
    const char *t;

    if (tag == NULL)
        return;
    if (strcmp(tag, "!") == 0) {
        if (n->type == CFG_SCALAR)
            n->quoted = true;
        return;
    }
    if (strncmp(tag, YAML_CORE_TAG, pre) != 0) {
        cfg_error(b->d, n->line, n->col,
                  "unsupported YAML tag \"%.64s\" (tocsin reads !!str, "
                  "!!int, !!float, !!bool and !!null)",
                  tag);
        return;
    }
    t = tag + pre;
    if (n->type == CFG_MAP   ? strcmp(t, "map") == 0
        : n->type == CFG_SEQ ? strcmp(t, "seq") == 0
                             : strcmp(t, "str") == 0) {
        if (n->type == CFG_SCALAR)
            n->quoted = true;
        return;
    }
    if (n->type == CFG_SCALAR &&
        (strcmp(t, "null") == 0 || strcmp(t, "bool") == 0 ||
         strcmp(t, "int") == 0 || strcmp(t, "float") == 0)) {
        n->quoted = false;
        if (!n->unset && !cfg_core_is(n->scalar, t))
            cfg_error(b->d, n->line, n->col, "the value is not a !!%s", t);
        return;
    }
    cfg_error(b->d, n->line, n->col, "YAML tag !!%.32s does not fit a %s", t,
              n->type == CFG_MAP   ? "map"
              : n->type == CFG_SEQ ? "list"
                                   : "scalar");
}

static void on_scalar(struct builder *b, const yaml_event_t *ev)
{
    int line = (int)ev->start_mark.line + 1;
    int col = (int)ev->start_mark.column + 1;
    const char *raw = (const char *)ev->data.scalar.value;
    struct cfg_node *n = node_new(CFG_SCALAR, line, col);

    n->quoted = ev->data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
                ev->data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE;
    /* An escaped NUL ("\0", "\x00") would cut the value short unseen. */
    if (strlen(raw) != ev->data.scalar.length)
        cfg_error(b->d, line, col, "a NUL character (\\0) is not allowed");
    if (in_key_position(b)) {
        n->scalar = xstrdup(raw);
    } else {
        n->scalar = env_expand(raw, line, col, &n->from_env, b->d);
        if (n->scalar == NULL) {
            n->scalar = xstrdup("");
            n->unset = true;
        } else if (n->from_env &&
                   (b->env_bytes += strlen(n->scalar)) > CFG_MAX_ENV_BYTES &&
                   !b->env_over) {
            /* Each value is bounded; so is their sum, as for aliases. */
            cfg_error(b->d, line, col,
                      "values expanded from the environment pass %zu bytes "
                      "in all",
                      (size_t)CFG_MAX_ENV_BYTES);
            b->env_over = true;
            b->fatal = true;
        }
    }
    apply_tag(b, n, (const char *)ev->data.scalar.tag);
    if (ev->data.scalar.anchor)
        anchor_add(b, (const char *)ev->data.scalar.anchor, n);
    attach(b, n);
}

static void on_alias(struct builder *b, const yaml_event_t *ev)
{
    int line = (int)ev->start_mark.line + 1;
    int col = (int)ev->start_mark.column + 1;
    const char *name = (const char *)ev->data.alias.anchor;
    struct cfg_node *src = anchor_find(b, name);
    struct cfg_node *n;

    if (src == NULL) {
        cfg_error(b->d, line, col, "unknown anchor \"%s\"", name);
        b->fatal = true;
        return;
    }
    if (b->depth + node_depth(src) > CFG_MAX_DEPTH) {
        cfg_error(b->d, line, col, "nesting deeper than %d levels",
                  CFG_MAX_DEPTH);
        b->fatal = true;
        return;
    }
    n = node_copy(src, &b->budget, CFG_MAX_DEPTH);
    if (n == NULL) {
        cfg_error(b->d, line, col,
                  "alias expansion too large (more than %d nodes or %zu "
                  "bytes in all)",
                  CFG_MAX_ALIAS_NODES, (size_t)CFG_MAX_ALIAS_BYTES);
        b->fatal = true;
        return;
    }
    /* The copy takes the alias' position, so errors point where it is used. */
    n->line = line;
    n->col = col;
    attach(b, n);
}

static void on_start(struct builder *b, const yaml_event_t *ev, bool map)
{
    int line = (int)ev->start_mark.line + 1;
    int col = (int)ev->start_mark.column + 1;
    const yaml_char_t *anchor =
        map ? ev->data.mapping_start.anchor : ev->data.sequence_start.anchor;
    struct frame *f;

    if (b->depth >= CFG_MAX_DEPTH) {
        cfg_error(b->d, line, col, "nesting deeper than %d levels",
                  CFG_MAX_DEPTH);
        b->fatal = true;
        return;
    }
    f = &b->stack[b->depth++];
    memset(f, 0, sizeof(*f));
    f->node = node_new(map ? CFG_MAP : CFG_SEQ, line, col);
    apply_tag(b, f->node,
              (const char *)(map ? ev->data.mapping_start.tag
                                 : ev->data.sequence_start.tag));
    if (anchor)
        f->anchor = xstrdup((const char *)anchor);
}

static void on_end(struct builder *b)
{
    struct frame *f;
    struct cfg_node *n;

    if (b->depth == 0)
        return;
    f = &b->stack[--b->depth];
    n = f->node;
    free(f->key);
    if (n->type == CFG_MAP) {
        map_dedup(b, n);
        map_merge(b, n);
    }
    if (f->anchor) {
        anchor_add(b, f->anchor, n);
        free(f->anchor);
    }
    attach(b, n);
}

static void builder_cleanup(struct builder *b)
{
    while (b->depth > 0) {
        struct frame *f = &b->stack[--b->depth];
        free(f->key);
        free(f->anchor);
        cfg_node_free(f->node);
    }
    for (size_t i = 0; i < b->nanchors; i++)
        free(b->anchors[i].name);
    free(b->anchors);
    for (size_t i = 0; i < b->ngrave; i++)
        cfg_node_free(b->graveyard[i]);
    free(b->graveyard);
}

struct cfg_node *cfg_parse(const char *text, size_t len, struct cfg_diag *d)
{
    yaml_parser_t p;
    struct builder b;
    int docs = 0;
    bool done = false;

    if (len > CFG_MAX_INPUT) {
        cfg_error(d, 0, 0, "too large (%zu bytes; the limit is %zu)", len,
                  CFG_MAX_INPUT);
        return NULL;
    }
    memset(&b, 0, sizeof(b));
    b.d = d;
    b.budget.nodes = CFG_MAX_ALIAS_NODES;
    b.budget.bytes = CFG_MAX_ALIAS_BYTES;
    if (!yaml_parser_initialize(&p)) {
        cfg_error(d, 0, 0, "out of memory");
        return NULL;
    }
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    while (!done && !b.fatal) {
        yaml_event_t ev;

        if (!yaml_parser_parse(&p, &ev)) {
            yaml_error(&b, &p, text, len);
            b.fatal = true;
            break;
        }
        switch (ev.type) {
        case YAML_STREAM_END_EVENT:
            done = true;
            break;
        case YAML_DOCUMENT_START_EVENT:
            if (++docs > 1) {
                cfg_error(d, (int)ev.start_mark.line + 1,
                          (int)ev.start_mark.column + 1,
                          "multiple YAML documents in one file are not "
                          "supported");
                b.fatal = true;
            }
            break;
        case YAML_SCALAR_EVENT:
            on_scalar(&b, &ev);
            break;
        case YAML_ALIAS_EVENT:
            on_alias(&b, &ev);
            break;
        case YAML_SEQUENCE_START_EVENT:
            on_start(&b, &ev, false);
            break;
        case YAML_MAPPING_START_EVENT:
            on_start(&b, &ev, true);
            break;
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
            on_end(&b);
            break;
        default:
            break;
        }
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&p);
    if (b.fatal) {
        if (b.root)
            bury(&b, b.root);
        builder_cleanup(&b);
        return NULL;
    }
    builder_cleanup(&b);
    if (b.root == NULL || cfg_is_null(b.root)) {
        cfg_node_free(b.root);
        return node_new(CFG_MAP, 1, 1);
    }
    if (b.root->type != CFG_MAP) {
        cfg_error_at(d, b.root, "the top level of the config must be a map");
        cfg_node_free(b.root);
        return NULL;
    }
    return b.root;
}
