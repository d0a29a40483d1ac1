/* config.c - tocsin.yaml (SPEC section 2) into struct config: every key of
 * every section is checked, every error reported as FILE:LINE:COL (up to
 * CFG_MAX_ERRORS kept), and the whole file rejected if any. Called by
 * cmd/cli.c (every subcommand), the daemon's SIGHUP reload and `tocsin check`.
 * This file holds the entry points, the top level, defaults, the readers
 * the sections share (config_int.h), freeing and lookups; the notifiers,
 * report, inputs and routes sections are in config_notifiers.c, the rules
 * in config_rules.c. The YAML tree and ${VAR} expansion are in cfgnode.c;
 * notifier kinds read their own keys in their configure op. */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../common/buf.h"
#include "../common/util.h"
#include "../notifiers/notifier.h"
#include "config_int.h"

const char *const config_common_notifier_keys[] = {
    "type",           "send_resolved", "events",     "cooldown", "timeout",
    "max_retry_time", "retry_backoff", "rate_limit", "burst",    NULL,
};

/* ---- names ---- */

static const char *const sev_names[] = {"ok", "info", "warning", "critical"};

const char *severity_name(enum severity s)
{
    if ((unsigned)s > SEV_CRITICAL)
        return "unknown";
    return sev_names[s];
}

int severity_parse(const char *s, enum severity *out)
{
    for (int i = SEV_INFO; i <= SEV_CRITICAL; i++) {
        if (strcmp(s, sev_names[i]) == 0) {
            *out = (enum severity)i;
            return 0;
        }
    }
    return -1;
}

static const char *const ev_names[] = {"firing", "escalated", "deescalated",
                                       "resolved"};

const char *event_kind_name(enum event_kind k)
{
    if ((unsigned)k > EV_RESOLVED)
        return "unknown";
    return ev_names[k];
}

int event_kind_parse(const char *s, enum event_kind *out)
{
    for (int i = EV_FIRING; i <= EV_RESOLVED; i++) {
        if (strcmp(s, ev_names[i]) == 0) {
            *out = (enum event_kind)i;
            return 0;
        }
    }
    return -1;
}

/* A plain decimal number: digits with at most one '.', nothing else (no
 * sign, exponent, inf or nan). */
static int parse_plain_decimal(const char *s, size_t len, double *out)
{
    char tmp[64];
    int dots = 0, digits = 0;

    if (len == 0 || len >= sizeof(tmp))
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '.')
            dots++;
        else if (isdigit((unsigned char)s[i]))
            digits++;
        else
            return -1;
    }
    if (dots > 1 || digits == 0)
        return -1;
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    return util_parse_double(tmp, out);
}

int aggregate_parse(const char *s, struct aggregate *out)
{
    static const struct {
        const char *name;
        enum agg_kind kind;
    } simple[] = {
        {"last", AGG_LAST},     {"min", AGG_MIN},   {"max", AGG_MAX},
        {"avg", AGG_AVG},       {"sum", AGG_SUM},   {"count", AGG_COUNT},
        {"stddev", AGG_STDDEV}, {"rate", AGG_RATE}, {"increase", AGG_INCREASE},
    };
    size_t len = strlen(s);
    double v;

    for (size_t i = 0; i < sizeof(simple) / sizeof(simple[0]); i++) {
        if (strcmp(s, simple[i].name) == 0) {
            out->kind = simple[i].kind;
            out->param = 0;
            return 0;
        }
    }
    if (s[0] == 'p' && parse_plain_decimal(s + 1, len - 1, &v) == 0) {
        if (!(v >= 0 && v <= 100))
            return -1;
        out->kind = AGG_QUANTILE;
        out->param = v / 100;
        return 0;
    }
    if (len > 7 && strncmp(s, "apdex(", 6) == 0 && s[len - 1] == ')' &&
        parse_plain_decimal(s + 6, len - 7, &v) == 0 && v > 0) {
        out->kind = AGG_APDEX;
        out->param = v;
        return 0;
    }
    return -1;
}

/* ---- helpers ---- */

/* Like cfg_check_keys, with " in <ctx>" after each message. */
void config_check_keys(const struct cfg_node *map, const char *const *allowed,
                       const char *ctx, struct cfg_diag *d)
{
    if (map == NULL || map->type != CFG_MAP)
        return;
    for (size_t i = 0; i < map->n; i++) {
        bool ok = false;
        for (size_t j = 0; allowed[j] && !ok; j++)
            ok = strcmp(allowed[j], map->keys[i]) == 0;
        if (ok)
            continue;
        if (ctx)
            cfg_error(d, map->key_line[i], map->key_col[i],
                      "unknown key \"%s\" in %s", map->keys[i], ctx);
        else
            cfg_error(d, map->key_line[i], map->key_col[i],
                      "unknown key \"%s\"", map->keys[i]);
    }
}

/* Where config_template_errors reports. */
struct tmpl_errs {
    struct cfg_diag *d;
    const struct cfg_node *n;
    const char *suffix;
};

static void tmpl_error_at(void *ctx, size_t off, const char *why)
{
    const struct tmpl_errs *t = ctx;

    cfg_error_in_scalar(t->d, t->n, off, "%s%s", why, t->suffix);
}

void config_template_errors(const struct cfg_node *n, const char *suffix,
                            struct cfg_diag *d)
{
    struct tmpl_errs t = {d, n, suffix};

    /* Its text is not in the file, and not to be shown. */
    if (n->from_env)
        cfg_error_at(d, n, "invalid template (value from the environment)%s",
                     suffix);
    else
        tmpl_foreach_error(n->scalar ? n->scalar : "", tmpl_error_at, &t);
}

/* The map under key (NULL when absent or null; an error when not a map). */
const struct cfg_node *config_get_map(const struct cfg_node *parent,
                                      const char *key, const char *what,
                                      struct cfg_diag *d)
{
    const struct cfg_node *n = cfg_get(parent, key);

    if (n == NULL || cfg_is_null(n))
        return NULL;
    if (n->type != CFG_MAP) {
        cfg_error_at(d, n, "%s must be a map", what);
        return NULL;
    }
    return n;
}

const struct cfg_node *config_get_seq(const struct cfg_node *parent,
                                      const char *key, const char *what,
                                      struct cfg_diag *d)
{
    const struct cfg_node *n = cfg_get(parent, key);

    if (n == NULL || cfg_is_null(n))
        return NULL;
    if (n->type != CFG_SEQ) {
        cfg_error_at(d, n, "%s must be a list", what);
        return NULL;
    }
    return n;
}

/* A duration that must be > 0 when present. */
void config_positive_duration(const struct cfg_node *n, const char *what,
                              double *out, struct cfg_diag *d)
{
    double v;

    if (cfg_duration(n, what, &v, d) != 0)
        return;
    if (v <= 0) {
        cfg_error_at(d, n, "%s must be greater than 0", what);
        return;
    }
    *out = v;
}

char *config_resolve_path(const char *dir, const char *p)
{
    struct buf b;

    if (p[0] == '/' || dir == NULL || dir[0] == '\0')
        return xstrdup(p);
    buf_init(&b, 0);
    buf_printf(&b, "%s/%s", dir, p);
    return buf_steal(&b);
}

/* "host:port": a port of 0..65535 after the last colon; an IPv6 host in
 * brackets. */
static bool valid_hostport(const char *s)
{
    const char *colon = strrchr(s, ':');
    const char *p;
    long port;
    char *end;

    if (colon == NULL || colon[1] == '\0')
        return false;
    for (p = colon + 1; *p; p++)
        if (!isdigit((unsigned char)*p))
            return false;
    if (strlen(colon + 1) > 5)
        return false;
    errno = 0;
    port = strtol(colon + 1, &end, 10);
    if (errno || *end || port > 65535)
        return false;
    if (s[0] == '[') {
        if (!(colon > s + 1 && colon[-1] == ']'))
            return false;
        for (p = s + 1; p < colon - 1; p++)
            if (!isalnum((unsigned char)*p) && !strchr(":.%", *p))
                return false;
        return true;
    }
    /* A host name or an IPv4 address (or nothing: every address). */
    bool numeric = true;
    for (p = s; p < colon; p++) {
        if (!isalnum((unsigned char)*p) && !strchr(".-_", *p))
            return false;
        if (!isdigit((unsigned char)*p) && *p != '.')
            numeric = false;
    }
    /* Digits and dots only: an IPv4 address as the resolver reads one
     * ("0", "127.1" too), which must be one (999.1.1.1 is no host name
     * either). */
    if (numeric && colon > s) {
        char host[64];
        struct in_addr a;

        if ((size_t)(colon - s) >= sizeof(host))
            return false;
        memcpy(host, s, (size_t)(colon - s));
        host[colon - s] = '\0';
        return inet_aton(host, &a) != 0;
    }
    return true;
}

void config_read_hostport(const struct cfg_node *n, const char *what,
                          char **out, struct cfg_diag *d)
{
    const char *s;

    if (cfg_str(n, what, &s, d) != 0)
        return;
    if (!valid_hostport(s)) {
        if (n->from_env)
            cfg_error_at(d, n, "%s must be \"host:port\"", what);
        else
            cfg_error_at(d, n, "%s must be \"host:port\", not \"%s\"", what, s);
        return;
    }
    free(*out);
    *out = xstrdup(s);
}

/* A map of string -> string (labels). */
void config_read_kv(const struct cfg_node *m, const char *what, struct kv **out,
                    size_t *nout, struct cfg_diag *d)
{
    if (m == NULL)
        return;
    *out = xcalloc(m->n ? m->n : 1, sizeof(**out));
    *nout = 0;
    for (size_t i = 0; i < m->n; i++) {
        const char *v;
        if (cfg_str(m->items[i], what, &v, d) != 0)
            continue;
        (*out)[*nout].key = xstrdup(m->keys[i]);
        (*out)[*nout].value = xstrdup(v);
        (*nout)++;
    }
}

void config_free_kv(struct kv *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i].key);
        free(v[i].value);
    }
    free(v);
}

/* A map of label -> matcher spec. */
void config_read_matchers(const struct cfg_node *m, const char *ctx,
                          struct matcher_set *out, struct cfg_diag *d)
{
    if (m == NULL)
        return;
    out->v = xcalloc(m->n ? m->n : 1, sizeof(*out->v));
    out->n = 0;
    for (size_t i = 0; i < m->n; i++) {
        const struct cfg_node *v = m->items[i];
        char why[512];

        if (v->type != CFG_SCALAR) {
            cfg_error_at(d, v,
                         "matcher for label \"%s\" in %s must be a "
                         "string",
                         m->keys[i], ctx);
            continue;
        }
        if (cfg_is_null(v) && !v->from_env) {
            cfg_error_at(d, v,
                         "matcher for label \"%s\" in %s needs a value (\"\" "
                         "matches a missing label)",
                         m->keys[i], ctx);
            continue;
        }
        if (matcher_init(&out->v[out->n], m->keys[i], v->scalar, why,
                         sizeof(why)) < 0) {
            if (v->from_env)
                cfg_error_at(d, v, "invalid matcher for label \"%s\" in %s",
                             m->keys[i], ctx);
            else
                cfg_error_at(d, v, "%s for label \"%s\" in %s", why, m->keys[i],
                             ctx);
            continue;
        }
        out->n++;
    }
}

static void known_notifiers(const struct config *c, char *out, size_t len)
{
    size_t o = 0;

    out[0] = '\0';
    if (c->nnotifiers == 0) {
        snprintf(out, len, "no valid notifier is defined");
        return;
    }
    o = (size_t)snprintf(out, len, "known: ");
    for (size_t i = 0; i < c->nnotifiers && o < len; i++)
        o += (size_t)snprintf(out + o, len - o, "%s%s", i ? ", " : "",
                              c->notifiers[i].name);
}

bool config_notify_defaults(struct config_loader *L, const struct cfg_node *n,
                            size_t **idx, size_t *nidx)
{
    if ((n != NULL && !cfg_is_null(n)) || L->c->ndefault_notify == 0)
        return false;
    free(*idx);
    *nidx = L->c->ndefault_notify;
    *idx = xmalloc(*nidx * sizeof(**idx));
    memcpy(*idx, L->c->default_notify, *nidx * sizeof(**idx));
    return true;
}

/* A notifier name or a list of names into indexes into c->notifiers. */
void config_read_notify(struct config_loader *L, const struct cfg_node *n,
                        const char *what, size_t **idx, size_t *nidx)
{
    const struct cfg_node *const *items;
    const struct cfg_node *one[1];
    size_t cnt;

    if (n == NULL || cfg_is_null(n))
        return;
    if (n->type == CFG_SCALAR) {
        one[0] = n;
        items = one;
        cnt = 1;
    } else if (n->type == CFG_SEQ) {
        items = (const struct cfg_node *const *)n->items;
        cnt = n->n;
    } else {
        cfg_error_at(L->d, n, "%s must be a notifier name or a list of names",
                     what);
        return;
    }
    *idx = xcalloc(cnt ? cnt : 1, sizeof(**idx));
    *nidx = 0;
    for (size_t i = 0; i < cnt; i++) {
        const struct cfg_node *it = items[i];
        char known[512];
        bool seen = false;
        int k;

        if (it->type != CFG_SCALAR) {
            cfg_error_at(L->d, it, "%s must be a list of notifier names", what);
            continue;
        }
        k = config_notifier_index(L->c, it->scalar);
        if (k < 0) {
            known_notifiers(L->c, known, sizeof(known));
            cfg_error_at(L->d, it, "unknown notifier \"%s\" (%s)",
                         it->from_env ? "(from the environment)" : it->scalar,
                         known);
            continue;
        }
        for (size_t j = 0; j < *nidx; j++)
            seen = seen || (*idx)[j] == (size_t)k;
        if (!seen)
            (*idx)[(*nidx)++] = (size_t)k;
    }
}

/* ---- top-level sections ---- */

static void load_defaults(struct config_loader *L, const struct cfg_node *root)
{
    static const char *const keys[] = {"repeat_interval", "send_resolved",
                                       "notify", NULL};
    const struct cfg_node *m =
        config_get_map(root, "defaults", "defaults", L->d);
    double v;

    if (m == NULL)
        return;
    config_check_keys(m, keys, "defaults", L->d);
    if (cfg_duration(cfg_get(m, "repeat_interval"), "repeat_interval", &v,
                     L->d) == 0)
        L->c->repeat_interval = v;
    cfg_bool(cfg_get(m, "send_resolved"), "send_resolved", &L->c->send_resolved,
             L->d);
}

/* ---- entry points ---- */

struct diag_pos {
    long line, col;
    size_t seq;
    char *msg;
    const char *file;
};

static int diag_pos_cmp(const void *a, const void *b)
{
    const struct diag_pos *x = a, *y = b;
    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    if (x->col != y->col)
        return x->col < y->col ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Put the messages kept from index `from` on into file order (checks run
 * section by section; people read errors top to bottom). */
static void diag_sort(struct cfg_diag *d, size_t from)
{
    struct diag_pos *v;
    size_t n = 0;

    if (d->nmsgs <= from)
        return;
    v = xcalloc(d->nmsgs - from, sizeof(*v));
    for (size_t i = from; i < d->nmsgs; i++) {
        v[n].line = d->msg_line[i];
        v[n].col = d->msg_col[i];
        v[n].seq = i;
        v[n].msg = d->msgs[i];
        v[n].file = d->msg_file[i];
        n++;
    }
    qsort(v, n, sizeof(v[0]), diag_pos_cmp);
    for (size_t i = 0; i < n; i++) {
        d->msgs[from + i] = v[i].msg;
        d->msg_line[from + i] = (int)v[i].line;
        d->msg_col[from + i] = (int)v[i].col;
        d->msg_file[from + i] = v[i].file;
    }
    free(v);
}

struct config *config_load_buf(const char *text, size_t len, const char *file,
                               const char *dir, struct cfg_diag *d)
{
    static const char *const top_keys[] = {
        "store",
        "listen",
        "evaluation_interval",
        "checkpoint_interval",
        "series_idle",
        "report",
        "defaults",
        "inputs",
        "notifiers",
        "routes",
        "rules",
        NULL,
    };
    size_t errors_before = d->count, kept_before = d->nmsgs;
    struct cfg_node *root;
    struct config *c;
    struct config_loader L;
    const struct cfg_node *n;
    const char *s;

    root = cfg_parse(text, len, d);
    if (root == NULL)
        return NULL;
    d->src = text;
    d->srclen = len;
    c = xcalloc(1, sizeof(*c));
    c->path = xstrdup(file ? file : "<config>");
    c->dir = xstrdup(dir ? dir : ".");
    c->evaluation_interval = 10;
    c->checkpoint_interval = 60;
    c->series_idle = 3600;
    c->repeat_interval = 4 * 3600;
    c->send_resolved = true;
    L.c = c;
    L.d = d;

    config_check_keys(root, top_keys, NULL, d);
    n = cfg_get(root, "store");
    if (cfg_str(n, "store", &s, d) == 0 && s[0] == '\0') {
        cfg_error_at(d, n, "store is empty");
    } else if (n != NULL && n->type == CFG_SCALAR && !cfg_is_null(n)) {
        s = n->scalar;
        /* The daemon's threads and the store commands open the store
         * each on their own: it must be a file they all reach by name. */
        if (strcmp(s, ":memory:") == 0)
            cfg_error_at(d, n,
                         "store must be a file: an in-memory store would be "
                         "empty for every command but the one that made it");
        else if (strncmp(s, "file:", 5) == 0)
            cfg_error_at(d, n,
                         "store is a file path, not a SQLite URI (write "
                         "the path without \"file:\")");
        else
            c->store = config_resolve_path(c->dir, s);
    }
    if (c->store == NULL)
        c->store = config_resolve_path(c->dir, "tocsin.db");
    config_read_hostport(cfg_get(root, "listen"), "listen", &c->listen, d);
    config_positive_duration(cfg_get(root, "evaluation_interval"),
                             "evaluation_interval", &c->evaluation_interval, d);
    config_positive_duration(cfg_get(root, "checkpoint_interval"),
                             "checkpoint_interval", &c->checkpoint_interval, d);
    /* 0s: never forget. */
    cfg_duration(cfg_get(root, "series_idle"), "series_idle", &c->series_idle,
                 d);
    /* defaults first: notifiers inherit defaults.send_resolved whatever the
     * key order in the file; defaults.notify needs the notifiers. */
    load_defaults(&L, root);
    config_load_notifiers(&L, root);
    n = cfg_get(root, "defaults");
    if (n && n->type == CFG_MAP)
        config_read_notify(&L, cfg_get(n, "notify"), "defaults notify",
                           &c->default_notify, &c->ndefault_notify);
    config_load_report(&L, root);
    config_load_inputs(&L, root);
    config_load_routes(&L, root);
    config_load_rules(&L, root);
    cfg_node_free(root);
    d->src = NULL;
    d->srclen = 0;
    diag_sort(d, kept_before);
    if (d->count > errors_before) {
        config_free(c);
        return NULL;
    }
    return c;
}

struct config *config_load(const char *path, struct cfg_diag *d)
{
    struct stat st;
    FILE *f;
    char *text, *dir, *slash;
    size_t len;
    struct config *c;

    if (stat(path, &st) < 0) {
        cfg_error(d, 0, 0, "cannot read: %s", strerror(errno));
        return NULL;
    }
    if (S_ISDIR(st.st_mode)) {
        cfg_error(d, 0, 0, "cannot read: %s", strerror(EISDIR));
        return NULL;
    }
    f = fopen(path, "rb");
    if (f == NULL) {
        cfg_error(d, 0, 0, "cannot read: %s", strerror(errno));
        return NULL;
    }
    text = xmalloc(CFG_MAX_INPUT + 2);
    len = fread(text, 1, CFG_MAX_INPUT + 1, f);
    if (ferror(f)) {
        cfg_error(d, 0, 0, "cannot read: %s", strerror(errno ? errno : EIO));
        fclose(f);
        free(text);
        return NULL;
    }
    fclose(f);
    text[len] = '\0';
    if (len > CFG_MAX_INPUT) {
        cfg_error(d, 0, 0, "too large (more than %zu bytes)", CFG_MAX_INPUT);
        free(text);
        return NULL;
    }
    dir = xstrdup(path);
    slash = strrchr(dir, '/');
    if (slash == NULL) {
        free(dir);
        dir = xstrdup(".");
    } else if (slash == dir) {
        dir[1] = '\0';
    } else {
        *slash = '\0';
    }
    c = config_load_buf(text, len, path, dir, d);
    free(text);
    free(dir);
    return c;
}

void config_free(struct config *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->nrules; i++)
        config_rule_cleanup(&c->rules[i]);
    free(c->rules);
    for (size_t i = 0; i < c->nroutes; i++) {
        matcher_set_cleanup(&c->routes[i].match);
        free(c->routes[i].notify);
    }
    free(c->routes);
    for (size_t i = 0; i < c->nnotifiers; i++) {
        struct notifier *n = &c->notifiers[i];
        if (n->ops && n->ops->destroy)
            n->ops->destroy(n);
        free(n->name);
    }
    free(c->notifiers);
    for (size_t i = 0; i < c->ninputs; i++) {
        struct input *in = &c->inputs[i];
        free(in->url);
        config_free_kv(in->labels, in->nlabels);
        free(in->listen);
        free(in->path);
    }
    free(c->inputs);
    free(c->report.at);
    free(c->report.notify);
    free(c->default_notify);
    free(c->path);
    free(c->dir);
    free(c->store);
    free(c->listen);
    free(c);
}

int config_notifier_index(const struct config *c, const char *name)
{
    for (size_t i = 0; i < c->nnotifiers; i++)
        if (c->notifiers[i].name && strcmp(c->notifiers[i].name, name) == 0)
            return (int)i;
    return -1;
}

const struct rule *config_rule(const struct config *c, const char *name)
{
    for (size_t i = 0; i < c->nrules; i++)
        if (c->rules[i].name && strcmp(c->rules[i].name, name) == 0)
            return &c->rules[i];
    return NULL;
}
