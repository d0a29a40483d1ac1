/* config.c - tocsin.yaml (SPEC section 2) into struct config: every key of
 * every section is checked, every error reported as FILE:LINE:COL (up to
 * CFG_MAX_ERRORS kept), and the whole file rejected if any. Called by
 * cmd/cli.c (every subcommand), the daemon's SIGHUP reload and `tocsin check`.
 * The YAML tree and ${VAR} expansion are in cfgnode.c; notifier kinds read
 * their own keys in their configure op. */
#include "config.h"

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

const char *const config_common_notifier_keys[] = {
    "type",    "send_resolved",  "events",        "cooldown",  "timeout",
    "max_retry_time", "retry_backoff", "rate_limit", "burst", NULL,
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
        {"last", AGG_LAST},   {"min", AGG_MIN},       {"max", AGG_MAX},
        {"avg", AGG_AVG},     {"sum", AGG_SUM},       {"count", AGG_COUNT},
        {"stddev", AGG_STDDEV}, {"rate", AGG_RATE},   {"increase", AGG_INCREASE},
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
        if (!(v > 0 && v <= 100))
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

struct loader {
    struct config *c;
    struct cfg_diag *d;
};

static const char *num(double v, char *out, size_t len)
{
    util_format_double(v, out, len);
    return out;
}

/* Like cfg_check_keys, with " in <ctx>" after each message. */
static void check_keys(const struct cfg_node *map, const char *const *allowed,
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

/* The map under key (NULL when absent or null; an error when not a map). */
static const struct cfg_node *get_map(const struct cfg_node *parent,
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

static const struct cfg_node *get_seq(const struct cfg_node *parent,
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
static void positive_duration(const struct cfg_node *n, const char *what,
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

static char *resolve_path(const char *dir, const char *p)
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
    if (s[0] == '[')
        return colon > s + 1 && colon[-1] == ']';
    return memchr(s, ':', (size_t)(colon - s)) == NULL;
}

static void read_hostport(const struct cfg_node *n, const char *what,
                          char **out, struct cfg_diag *d)
{
    const char *s;

    if (cfg_str(n, what, &s, d) != 0)
        return;
    if (!valid_hostport(s)) {
        if (n->from_env)
            cfg_error_at(d, n, "%s must be \"host:port\"", what);
        else
            cfg_error_at(d, n, "%s must be \"host:port\", not \"%s\"", what,
                         s);
        return;
    }
    free(*out);
    *out = xstrdup(s);
}

/* A map of string -> string (labels). */
static void read_kv(const struct cfg_node *m, const char *what, struct kv **out,
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

static void free_kv(struct kv *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i].key);
        free(v[i].value);
    }
    free(v);
}

/* A map of label -> matcher spec. */
static void read_matchers(const struct cfg_node *m, const char *ctx,
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
            cfg_error_at(d, v, "matcher for label \"%s\" in %s must be a "
                               "string", m->keys[i], ctx);
            continue;
        }
        if (matcher_init(&out->v[out->n], m->keys[i], v->scalar, why,
                         sizeof(why)) < 0) {
            if (v->from_env)
                cfg_error_at(d, v, "invalid matcher for label \"%s\" in %s",
                             m->keys[i], ctx);
            else
                cfg_error_at(d, v, "%s for label \"%s\" in %s", why,
                             m->keys[i], ctx);
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
        snprintf(out, len, "no notifiers are defined");
        return;
    }
    o = (size_t)snprintf(out, len, "known: ");
    for (size_t i = 0; i < c->nnotifiers && o < len; i++)
        o += (size_t)snprintf(out + o, len - o, "%s%s", i ? ", " : "",
                              c->notifiers[i].name);
}

/* A notifier name or a list of names into indexes into c->notifiers. */
static void read_notify(struct loader *L, const struct cfg_node *n,
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
            cfg_error_at(L->d, it, "%s must be a list of notifier names",
                         what);
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

static void load_defaults(struct loader *L, const struct cfg_node *root)
{
    static const char *const keys[] = {"repeat_interval", "send_resolved",
                                       "notify", NULL};
    const struct cfg_node *m = get_map(root, "defaults", "defaults", L->d);
    double v;

    if (m == NULL)
        return;
    check_keys(m, keys, "defaults", L->d);
    if (cfg_duration(cfg_get(m, "repeat_interval"), "repeat_interval", &v,
                     L->d) == 0)
        L->c->repeat_interval = v;
    cfg_bool(cfg_get(m, "send_resolved"), "send_resolved",
             &L->c->send_resolved, L->d);
}

/* "1/s", "10/m", "5/30s" or a plain number per second. */
static int parse_rate(const char *s, double *out)
{
    const char *slash = strchr(s, '/');
    char head[64], unit[64];
    double n, per;
    size_t hl;

    if (slash == NULL)
        return util_parse_double(s, out) == 0 && *out >= 0 ? 0 : -1;
    hl = (size_t)(slash - s);
    if (hl == 0 || hl >= sizeof(head) || strlen(slash + 1) + 2 > sizeof(unit))
        return -1;
    memcpy(head, s, hl);
    head[hl] = '\0';
    if (util_parse_double(head, &n) < 0 || n < 0)
        return -1;
    if (isdigit((unsigned char)slash[1]))
        snprintf(unit, sizeof(unit), "%s", slash + 1);
    else
        snprintf(unit, sizeof(unit), "1%s", slash + 1);
    if (util_parse_duration(unit, &per) < 0 || per <= 0)
        return -1;
    *out = n / per;
    return 0;
}

static void load_notifier(struct loader *L, struct notifier *n,
                          const char *name, int kline, int kcol,
                          const struct cfg_node *node)
{
    struct cfg_diag *d = L->d;
    const struct cfg_node *t, *ev, *rl;
    const char *type;
    double v;
    size_t before;

    n->name = xstrdup(name);
    n->line = kline;
    n->col = kcol;
    n->send_resolved = L->c->send_resolved;
    n->events_mask = EV_MASK_ALL;
    n->timeout = 10;
    n->max_retry_time = 3600;
    n->retry_backoff = 1;
    if (node->type != CFG_MAP) {
        cfg_error_at(d, node, "notifier \"%s\" must be a map with a type",
                     name);
        return;
    }
    t = cfg_get(node, "type");
    if (t == NULL) {
        cfg_error(d, kline, kcol, "notifier \"%s\" needs a type (one of: %s)",
                  name, notifier_kinds_list());
        return;
    }
    if (cfg_str(t, "type", &type, d) != 0)
        return;
    n->ops = notifier_kind(type);
    if (n->ops == NULL) {
        cfg_error_at(d, t, "unknown notifier type \"%s\" (known: %s)",
                     t->from_env ? "(from the environment)" : type,
                     notifier_kinds_list());
        return;
    }
    if (strcmp(n->ops->kind, "slack") == 0) {
        /* Slack allows about one message per second per webhook, with
         * short bursts. */
        n->rate_per_s = 1;
        n->burst = 3;
    }
    cfg_bool(cfg_get(node, "send_resolved"), "send_resolved",
             &n->send_resolved, d);
    ev = cfg_get(node, "events");
    if (ev && !cfg_is_null(ev)) {
        const struct cfg_node *const *items = NULL;
        size_t cnt = 0;
        if (ev->type == CFG_SCALAR) {
            items = &ev;
            cnt = 1;
        } else if (ev->type == CFG_SEQ) {
            items = (const struct cfg_node *const *)ev->items;
            cnt = ev->n;
        } else {
            cfg_error_at(d, ev, "events must be a list of event kinds");
        }
        if (items && cnt == 0)
            cfg_error_at(d, ev, "events is empty: notifier \"%s\" would "
                                "receive nothing", name);
        if (items)
            n->events_mask = 0;
        for (size_t i = 0; i < cnt; i++) {
            enum event_kind k;
            if (items[i]->type != CFG_SCALAR ||
                event_kind_parse(items[i]->scalar, &k) < 0) {
                cfg_error_at(d, items[i],
                             "unknown event \"%s\" (expected firing, "
                             "escalated, deescalated, resolved)",
                             items[i]->type == CFG_SCALAR && !items[i]->from_env
                                 ? items[i]->scalar
                                 : "?");
                continue;
            }
            n->events_mask |= 1u << k;
        }
    }
    if (cfg_duration(cfg_get(node, "cooldown"), "cooldown", &v, d) == 0)
        n->cooldown = v;
    positive_duration(cfg_get(node, "timeout"), "timeout", &n->timeout, d);
    positive_duration(cfg_get(node, "max_retry_time"), "max_retry_time",
                      &n->max_retry_time, d);
    positive_duration(cfg_get(node, "retry_backoff"), "retry_backoff",
                      &n->retry_backoff, d);
    rl = cfg_get(node, "rate_limit");
    if (rl && !cfg_is_null(rl)) {
        if (rl->type != CFG_SCALAR || parse_rate(rl->scalar, &v) < 0) {
            cfg_error_at(d, rl, "invalid rate_limit %s%s%s (expected e.g. "
                                "\"1/s\", \"30/m\" or a number per second)",
                         rl->type == CFG_SCALAR && !rl->from_env ? "\"" : "",
                         rl->type == CFG_SCALAR && !rl->from_env ? rl->scalar
                                                                 : "",
                         rl->type == CFG_SCALAR && !rl->from_env ? "\"" : "");
        } else {
            n->rate_per_s = v;
            if (n->burst < 1)
                n->burst = 1;
        }
    }
    if (cfg_number(cfg_get(node, "burst"), "burst", &v, d) == 0) {
        if (v < 1)
            cfg_error_at(d, cfg_get(node, "burst"), "burst must be >= 1");
        else
            n->burst = v;
    }
    before = d->count;
    if (n->ops->configure(n, node, L->c->dir, d) < 0 && d->count == before)
        cfg_error_at(d, node, "notifier \"%s\" is invalid", name);
}

static bool valid_notifier_name(const char *s)
{
    if (*s == '\0')
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_' && *s != '.')
            return false;
    return true;
}

static void load_notifiers(struct loader *L, const struct cfg_node *root)
{
    const struct cfg_node *m = get_map(root, "notifiers", "notifiers", L->d);

    if (m == NULL)
        return;
    L->c->notifiers = xcalloc(m->n ? m->n : 1, sizeof(*L->c->notifiers));
    for (size_t i = 0; i < m->n; i++) {
        if (!valid_notifier_name(m->keys[i])) {
            cfg_error(L->d, m->key_line[i], m->key_col[i],
                      "invalid notifier name \"%s\" (use letters, digits, "
                      "-, _ and .)", m->keys[i]);
            continue;
        }
        load_notifier(L, &L->c->notifiers[L->c->nnotifiers++], m->keys[i],
                      m->key_line[i], m->key_col[i], m->items[i]);
    }
}

static int parse_at(const char *s, int *wday, int *minute)
{
    static const char *const days[] = {"sun", "mon", "tue", "wed",
                                       "thu", "fri", "sat"};
    static const char *const long_days[] = {"sunday",   "monday", "tuesday",
                                            "wednesday", "thursday",
                                            "friday",   "saturday"};
    const char *sp = strchr(s, ' ');
    const char *t = s;
    int h = 0, m = 0, nd = 0;

    *wday = -1;
    if (sp) {
        size_t dl = (size_t)(sp - s);
        for (int i = 0; i < 7; i++)
            if ((dl == strlen(days[i]) && strncasecmp(s, days[i], dl) == 0) ||
                (dl == strlen(long_days[i]) &&
                 strncasecmp(s, long_days[i], dl) == 0))
                *wday = i;
        if (*wday < 0)
            return -1;
        t = sp + 1;
    }
    while (isdigit((unsigned char)*t) && nd < 2) {
        h = h * 10 + (*t++ - '0');
        nd++;
    }
    if (nd == 0 || *t++ != ':')
        return -1;
    if (!isdigit((unsigned char)t[0]) || !isdigit((unsigned char)t[1]) ||
        t[2] != '\0')
        return -1;
    m = (t[0] - '0') * 10 + (t[1] - '0');
    if (h > 23 || m > 59)
        return -1;
    *minute = h * 60 + m;
    return 0;
}

static void load_report(struct loader *L, const struct cfg_node *root)
{
    static const char *const keys[] = {"every", "at", "since", "notify", NULL};
    struct report_cfg *r = &L->c->report;
    const struct cfg_node *m = get_map(root, "report", "report", L->d);
    const struct cfg_node *at;
    const char *s;
    bool has_since = false;

    r->every = 7 * 86400;
    r->at_wday = -1;
    r->at_minute = -1;
    if (m == NULL)
        return;
    r->present = true;
    check_keys(m, keys, "report", L->d);
    positive_duration(cfg_get(m, "every"), "every", &r->every, L->d);
    at = cfg_get(m, "at");
    if (cfg_str(at, "at", &s, L->d) == 0) {
        if (parse_at(s, &r->at_wday, &r->at_minute) < 0) {
            r->at_wday = -1;
            r->at_minute = -1;
            cfg_error_at(L->d, at,
                         "invalid report time \"%s\" (expected \"Mon 09:00\" "
                         "or \"09:00\")",
                         at->from_env ? "" : s);
        } else {
            r->at = xstrdup(s);
        }
    }
    if (cfg_duration(cfg_get(m, "since"), "since", &r->since, L->d) == 0)
        has_since = true;
    if (!has_since)
        r->since = r->every;
    read_notify(L, cfg_get(m, "notify"), "report notify", &r->notify,
                &r->nnotify);
}

static bool parse_format(const char *s, enum ingest_format *out)
{
    static const struct {
        const char *name;
        enum ingest_format f;
    } fmts[] = {{"auto", FMT_AUTO},         {"json", FMT_JSON},
                {"influx", FMT_INFLUX},     {"prom", FMT_PROM},
                {"graphite", FMT_GRAPHITE}, {"statsd", FMT_STATSD}};

    /* Kept here rather than calling ingest_format_parse so that config
     * loading does not pull in the parsers. */
    for (size_t i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
        if (strcmp(s, fmts[i].name) == 0) {
            *out = fmts[i].f;
            return true;
        }
    }
    return false;
}

static void load_input(struct loader *L, const struct cfg_node *item,
                       struct input *in)
{
    static const char *const scrape_keys[] = {"url", "interval", "timeout",
                                              "labels", NULL};
    static const char *const statsd_keys[] = {"listen", NULL};
    static const char *const file_keys[] = {"path", "format", "follow", NULL};
    struct cfg_diag *d = L->d;
    const struct cfg_node *m;
    const char *kind, *s;

    in->line = item->line;
    in->col = item->col;
    if (item->type != CFG_MAP || item->n != 1) {
        cfg_error_at(d, item, "each input must be a map with one key: "
                              "scrape, statsd or file");
        return;
    }
    kind = item->keys[0];
    m = item->items[0];
    if (strcmp(kind, "scrape") && strcmp(kind, "statsd") &&
        strcmp(kind, "file")) {
        cfg_error(d, item->key_line[0], item->key_col[0],
                  "unknown input type \"%s\" (expected scrape, statsd, file)",
                  kind);
        return;
    }
    if (m->type != CFG_MAP) {
        cfg_error_at(d, m, "%s input must be a map", kind);
        return;
    }
    if (strcmp(kind, "scrape") == 0) {
        const struct cfg_node *u = cfg_get(m, "url");
        in->kind = INPUT_SCRAPE;
        in->interval = 15;
        in->timeout = 10;
        check_keys(m, scrape_keys, "scrape input", d);
        if (u == NULL)
            cfg_error(d, item->key_line[0], item->key_col[0],
                      "scrape input needs a url");
        else if (cfg_str(u, "url", &s, d) == 0) {
            if (strncmp(s, "http://", 7) && strncmp(s, "https://", 8))
                cfg_error_at(d, u, "scrape url must start with http:// or "
                                   "https://");
            else
                in->url = xstrdup(s);
        }
        positive_duration(cfg_get(m, "interval"), "interval", &in->interval,
                          d);
        positive_duration(cfg_get(m, "timeout"), "timeout", &in->timeout, d);
        read_kv(get_map(m, "labels", "labels", d), "label value", &in->labels,
                &in->nlabels, d);
    } else if (strcmp(kind, "statsd") == 0) {
        in->kind = INPUT_STATSD;
        check_keys(m, statsd_keys, "statsd input", d);
        if (cfg_get(m, "listen") == NULL)
            cfg_error(d, item->key_line[0], item->key_col[0],
                      "statsd input needs listen (\"host:port\")");
        read_hostport(cfg_get(m, "listen"), "listen", &in->listen, d);
    } else {
        const struct cfg_node *p = cfg_get(m, "path"), *f;
        in->kind = INPUT_FILE;
        in->format = FMT_AUTO;
        check_keys(m, file_keys, "file input", d);
        if (p == NULL)
            cfg_error(d, item->key_line[0], item->key_col[0],
                      "file input needs a path");
        else if (cfg_str(p, "path", &s, d) == 0)
            in->path = resolve_path(L->c->dir, s);
        f = cfg_get(m, "format");
        if (cfg_str(f, "format", &s, d) == 0 && !parse_format(s, &in->format))
            cfg_error_at(d, f, "unknown format \"%s\" (expected json, influx, "
                               "prom, graphite, statsd, auto)",
                         f->from_env ? "" : s);
        cfg_bool(cfg_get(m, "follow"), "follow", &in->follow, d);
    }
}

static void load_inputs(struct loader *L, const struct cfg_node *root)
{
    const struct cfg_node *s = get_seq(root, "inputs", "inputs", L->d);

    if (s == NULL)
        return;
    L->c->inputs = xcalloc(s->n ? s->n : 1, sizeof(*L->c->inputs));
    L->c->ninputs = s->n;
    for (size_t i = 0; i < s->n; i++)
        load_input(L, s->items[i], &L->c->inputs[i]);
}

static void load_routes(struct loader *L, const struct cfg_node *root)
{
    static const char *const keys[] = {"match", "notify", "continue",
                                       "repeat_interval", NULL};
    const struct cfg_node *s = get_seq(root, "routes", "routes", L->d);
    struct cfg_diag *d = L->d;

    if (s == NULL)
        return;
    L->c->routes = xcalloc(s->n ? s->n : 1, sizeof(*L->c->routes));
    L->c->nroutes = s->n;
    for (size_t i = 0; i < s->n; i++) {
        const struct cfg_node *item = s->items[i], *match;
        struct route *r = &L->c->routes[i];
        char ctx[64];

        r->line = item->line;
        r->col = item->col;
        snprintf(ctx, sizeof(ctx), "route %zu", i + 1);
        if (item->type != CFG_MAP) {
            cfg_error_at(d, item, "route %zu must be a map (match, notify, "
                                  "continue, repeat_interval)", i + 1);
            continue;
        }
        check_keys(item, keys, ctx, d);
        match = get_map(item, "match", "match", d);
        read_matchers(match, ctx, &r->match, d);
        for (size_t j = 0; j < r->match.n; j++) {
            const struct matcher *mt = &r->match.v[j];
            enum severity sev;
            if (strcmp(mt->name, "severity") == 0 &&
                (mt->op == MATCH_EQ || mt->op == MATCH_NE) &&
                strcmp(mt->value, "ok") != 0 &&
                severity_parse(mt->value, &sev) < 0)
                cfg_error_at(d, cfg_get(match, "severity"),
                             "unknown severity \"%s\" (expected info, "
                             "warning, critical)",
                             mt->value);
        }
        read_notify(L, cfg_get(item, "notify"), "notify", &r->notify,
                    &r->nnotify);
        cfg_bool(cfg_get(item, "continue"), "continue", &r->cont, d);
        if (cfg_duration(cfg_get(item, "repeat_interval"), "repeat_interval",
                         &r->repeat_interval, d) == 0)
            r->has_repeat = true;
    }
}

/* ---- rules ---- */

static bool valid_rule_name(const char *s)
{
    if (!(isalpha((unsigned char)*s) || *s == '_'))
        return false;
    for (s++; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_' && *s != ':')
            return false;
    return true;
}

static void load_tiers(struct loader *L, const struct cfg_node *sev,
                       struct rule *r, const char *rctx)
{
    static const char *const keys[] = {"above", "below", "clear", "for",
                                       "clear_for", NULL};
    struct cfg_diag *d = L->d;
    const struct cfg_node *thr_node[SEV_NTIERS] = {0};
    int first_dir = -1;
    const char *first_name = NULL;
    char a[40], b[40];

    for (size_t i = 0; i < sev->n; i++) {
        const struct cfg_node *t = sev->items[i];
        const struct cfg_node *above, *below, *clear;
        struct tier_cfg *tc;
        enum severity s;
        char ctx[400];

        if (severity_parse(sev->keys[i], &s) < 0) {
            cfg_error(d, sev->key_line[i], sev->key_col[i],
                      "unknown severity \"%s\" (expected info, warning, "
                      "critical)", sev->keys[i]);
            continue;
        }
        tc = &r->tiers[s - 1];
        tc->line = sev->key_line[i];
        tc->col = sev->key_col[i];
        if (t->type != CFG_MAP) {
            cfg_error_at(d, t, "tier %s must be a map (above or below, "
                               "clear, for, clear_for)", sev->keys[i]);
            continue;
        }
        snprintf(ctx, sizeof(ctx), "tier %s of %s", severity_name(s), rctx);
        check_keys(t, keys, ctx, d);
        above = cfg_get(t, "above");
        below = cfg_get(t, "below");
        if (above && below) {
            cfg_error_at(d, below, "tier %s has both above and below (use "
                                   "exactly one)", sev->keys[i]);
            continue;
        }
        if (!above && !below) {
            cfg_error(d, tc->line, tc->col,
                      "tier %s needs above or below", sev->keys[i]);
            continue;
        }
        tc->above = above != NULL;
        thr_node[s - 1] = above ? above : below;
        if (cfg_number(thr_node[s - 1], above ? "above" : "below",
                       &tc->threshold, d) != 0)
            continue;
        tc->present = true;
        clear = cfg_get(t, "clear");
        if (cfg_number(clear, "clear", &tc->clear, d) == 0) {
            tc->has_clear = true;
            if (tc->above && tc->clear > tc->threshold)
                cfg_error_at(d, clear,
                             "clear (%s) must be <= above (%s) for tier %s",
                             num(tc->clear, a, sizeof(a)),
                             num(tc->threshold, b, sizeof(b)), sev->keys[i]);
            if (!tc->above && tc->clear < tc->threshold)
                cfg_error_at(d, clear,
                             "clear (%s) must be >= below (%s) for tier %s",
                             num(tc->clear, a, sizeof(a)),
                             num(tc->threshold, b, sizeof(b)), sev->keys[i]);
        }
        cfg_duration(cfg_get(t, "for"), "for", &tc->for_s, d);
        cfg_duration(cfg_get(t, "clear_for"), "clear_for", &tc->clear_for_s,
                     d);
    }
    /* Same direction for all tiers, and thresholds ordered so that a higher
     * tier is never easier to breach than a lower one. */
    for (int i = 0; i < SEV_NTIERS; i++) {
        const struct tier_cfg *tc = &r->tiers[i];
        if (!tc->present)
            continue;
        if (first_dir < 0) {
            first_dir = tc->above;
            first_name = severity_name((enum severity)(i + 1));
        } else if (first_dir != (int)tc->above) {
            cfg_error_at(d, thr_node[i],
                         "tier %s uses %s but tier %s uses %s (all tiers of "
                         "a rule must use the same direction)",
                         severity_name((enum severity)(i + 1)),
                         tc->above ? "above" : "below", first_name,
                         first_dir ? "above" : "below");
        }
    }
    for (int i = 0; i < SEV_NTIERS; i++) {
        const struct tier_cfg *hi = &r->tiers[i];
        if (!hi->present)
            continue;
        for (int j = i - 1; j >= 0; j--) {
            const struct tier_cfg *lo = &r->tiers[j];
            if (!lo->present || lo->above != hi->above)
                continue;
            if (hi->above && hi->threshold < lo->threshold)
                cfg_error_at(d, thr_node[i],
                             "above (%s) for tier %s must be >= above (%s) "
                             "for tier %s",
                             num(hi->threshold, a, sizeof(a)),
                             severity_name((enum severity)(i + 1)),
                             num(lo->threshold, b, sizeof(b)),
                             severity_name((enum severity)(j + 1)));
            if (!hi->above && hi->threshold > lo->threshold)
                cfg_error_at(d, thr_node[i],
                             "below (%s) for tier %s must be <= below (%s) "
                             "for tier %s",
                             num(hi->threshold, a, sizeof(a)),
                             severity_name((enum severity)(i + 1)),
                             num(lo->threshold, b, sizeof(b)),
                             severity_name((enum severity)(j + 1)));
            break; /* compare with the nearest lower tier only */
        }
    }
}

static void load_rule(struct loader *L, const struct cfg_node *item,
                      struct rule *r, size_t idx)
{
    static const char *const keys[] = {
        "name",     "metric", "where",  "by",     "window", "aggregate",
        "ratio",    "severity", "nodata", "labels", "annotations", NULL,
    };
    static const char *const nodata_keys[] = {"after", "severity", NULL};
    struct cfg_diag *d = L->d;
    const struct cfg_node *n, *sev, *nd, *lab, *ann;
    const char *s;
    const char **list;
    size_t nlist;
    char ctx[300];

    r->line = item->line;
    r->col = item->col;
    r->nodata_sev = SEV_WARNING;
    r->agg.kind = AGG_LAST;
    if (item->type != CFG_MAP) {
        cfg_error_at(d, item, "rule %zu must be a map", idx + 1);
        return;
    }
    n = cfg_get(item, "name");
    if (n == NULL) {
        cfg_error_at(d, item, "rule %zu needs a name", idx + 1);
    } else if (cfg_str(n, "name", &s, d) == 0) {
        if (!valid_rule_name(s)) {
            cfg_error_at(d, n, "invalid rule name \"%s\" (must match "
                               "[a-zA-Z_][a-zA-Z0-9_:]*)",
                         n->from_env ? "" : s);
        } else {
            for (size_t i = 0; i < L->c->nrules; i++) {
                if (L->c->rules[i].name && strcmp(L->c->rules[i].name, s) == 0) {
                    cfg_error_at(d, n, "duplicate rule name \"%s\" (first "
                                       "defined at line %d)",
                                 s, L->c->rules[i].line);
                    break;
                }
            }
            r->name = xstrdup(s);
        }
    }
    if (r->name)
        snprintf(ctx, sizeof(ctx), "rule \"%s\"", r->name);
    else
        snprintf(ctx, sizeof(ctx), "rule %zu", idx + 1);
    check_keys(item, keys, ctx, d);

    n = cfg_get(item, "metric");
    if (n == NULL) {
        cfg_error_at(d, item, "%s needs a metric", ctx);
    } else if (cfg_strlist(n, "metric", &list, &nlist, d) == 0) {
        if (nlist == 0)
            cfg_error_at(d, n, "metric needs at least one name in %s", ctx);
        r->metrics = xcalloc(nlist ? nlist : 1, sizeof(*r->metrics));
        for (size_t i = 0; i < nlist; i++) {
            if (list[i][0] == '\0') {
                cfg_error_at(d, n->type == CFG_SEQ ? n->items[i] : n,
                             "empty metric name in %s", ctx);
                continue;
            }
            r->metrics[r->nmetrics++] = xstrdup(list[i]);
        }
        free(list);
    }

    read_matchers(get_map(item, "where", "where", d), ctx, &r->where, d);

    n = cfg_get(item, "by");
    if (n && !cfg_is_null(n) &&
        cfg_strlist(n, "by", &list, &nlist, d) == 0) {
        r->by = xcalloc(nlist ? nlist : 1, sizeof(*r->by));
        for (size_t i = 0; i < nlist; i++) {
            bool dup = false;
            for (size_t j = 0; j < r->nby && !dup; j++)
                dup = strcmp(r->by[j], list[i]) == 0;
            if (dup) {
                cfg_error_at(d, n->type == CFG_SEQ ? n->items[i] : n,
                             "duplicate label \"%s\" in by of %s", list[i],
                             ctx);
                continue;
            }
            if (list[i][0] == '\0') {
                cfg_error_at(d, n->type == CFG_SEQ ? n->items[i] : n,
                             "empty label name in by of %s", ctx);
                continue;
            }
            r->by[r->nby++] = xstrdup(list[i]);
        }
        free(list);
    }

    cfg_duration(cfg_get(item, "window"), "window", &r->window, d);

    n = cfg_get(item, "aggregate");
    if (cfg_str(n, "aggregate", &s, d) == 0 && aggregate_parse(s, &r->agg) < 0)
        cfg_error_at(d, n,
                     "unknown aggregate \"%s\" (expected last, min, max, avg, "
                     "sum, count, stddev, pNN such as p90 or p99.9, apdex(T), "
                     "rate, increase)",
                     n->from_env ? "" : s);

    n = get_map(item, "ratio", "ratio", d);
    if (n) {
        r->has_ratio = true;
        if (r->agg.kind != AGG_SUM && r->agg.kind != AGG_COUNT &&
            r->agg.kind != AGG_RATE && r->agg.kind != AGG_INCREASE) {
            const struct cfg_node *an = cfg_get(item, "aggregate");
            cfg_error_at(d, cfg_get(item, "ratio"),
                         "ratio needs aggregate sum, count, rate or increase "
                         "(not %s) in %s",
                         an && an->type == CFG_SCALAR && !an->from_env
                             ? an->scalar
                             : "last",
                         ctx);
        }
        read_matchers(n, ctx, &r->ratio, d);
    }

    sev = cfg_get(item, "severity");
    if (sev == NULL || cfg_is_null(sev)) {
        cfg_error_at(d, item, "%s needs a severity with at least one tier "
                              "(info, warning, critical)", ctx);
    } else if (sev->type != CFG_MAP) {
        cfg_error_at(d, sev, "severity must be a map of tiers (info, warning, "
                             "critical)");
    } else if (sev->n == 0) {
        cfg_error_at(d, sev, "severity needs at least one tier (info, "
                             "warning, critical) in %s", ctx);
    } else {
        load_tiers(L, sev, r, ctx);
    }

    nd = get_map(item, "nodata", "nodata", d);
    if (nd) {
        char nctx[400];
        const struct cfg_node *after = cfg_get(nd, "after"), *ns;
        snprintf(nctx, sizeof(nctx), "nodata of %s", ctx);
        check_keys(nd, nodata_keys, nctx, d);
        if (after == NULL)
            cfg_error_at(d, nd, "nodata needs after (a duration) in %s", ctx);
        else
            positive_duration(after, "after", &r->nodata_after, d);
        r->has_nodata = r->nodata_after > 0;
        ns = cfg_get(nd, "severity");
        if (cfg_str(ns, "severity", &s, d) == 0 &&
            severity_parse(s, &r->nodata_sev) < 0)
            cfg_error_at(d, ns, "unknown severity \"%s\" (expected info, "
                                "warning, critical)",
                         ns->from_env ? "" : s);
    }

    lab = get_map(item, "labels", "labels", d);
    if (lab) {
        for (size_t i = 0; i < lab->n; i++)
            if (strcmp(lab->keys[i], "alertname") == 0 ||
                strcmp(lab->keys[i], "severity") == 0)
                cfg_error(d, lab->key_line[i], lab->key_col[i],
                          "label \"%s\" is reserved (set by tocsin) in %s",
                          lab->keys[i], ctx);
        read_kv(lab, "label value", &r->labels, &r->nlabels, d);
    }

    ann = get_map(item, "annotations", "annotations", d);
    if (ann) {
        r->annotations = xcalloc(ann->n ? ann->n : 1, sizeof(*r->annotations));
        for (size_t i = 0; i < ann->n; i++) {
            const struct cfg_node *v = ann->items[i];
            char why[512];
            size_t off = 0;
            struct tmpl *t;

            if (cfg_str(v, "annotation", &s, d) != 0)
                continue;
            t = tmpl_compile(s, why, sizeof(why), &off);
            if (t == NULL) {
                /* Point into the scalar when its text maps 1:1 onto the
                 * line (single-line, not from the environment). */
                int col = v->col;
                if (!v->from_env && strchr(s, '\n') == NULL &&
                    off < 100000)
                    col += (int)off + (v->quoted ? 1 : 0);
                cfg_error(d, v->line, col, "%s in annotation \"%s\" of %s",
                          why, ann->keys[i], ctx);
                continue;
            }
            r->annotations[r->nannotations].name = xstrdup(ann->keys[i]);
            r->annotations[r->nannotations].tmpl = t;
            r->nannotations++;
        }
    }
}

static void load_rules(struct loader *L, const struct cfg_node *root)
{
    const struct cfg_node *s = get_seq(root, "rules", "rules", L->d);

    if (s == NULL)
        return;
    L->c->rules = xcalloc(s->n ? s->n : 1, sizeof(*L->c->rules));
    for (size_t i = 0; i < s->n; i++) {
        /* nrules grows as we go so duplicate names are found against the
         * rules before this one. */
        load_rule(L, s->items[i], &L->c->rules[i], i);
        L->c->nrules = i + 1;
    }
}

/* ---- entry points ---- */

struct diag_pos {
    long line, col;
    size_t seq;
    char *msg;
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
    struct diag_pos v[CFG_MAX_ERRORS];
    size_t n = 0, flen = strlen(d->file);

    for (size_t i = from; i < d->nmsgs; i++) {
        const char *p = d->msgs[i] + flen;
        char *end;
        v[n].line = 0;
        v[n].col = 0;
        if (strncmp(d->msgs[i], d->file, flen) == 0 && *p == ':') {
            v[n].line = strtol(p + 1, &end, 10);
            if (*end == ':')
                v[n].col = strtol(end + 1, NULL, 10);
        }
        v[n].seq = i;
        v[n].msg = d->msgs[i];
        n++;
    }
    qsort(v, n, sizeof(v[0]), diag_pos_cmp);
    for (size_t i = 0; i < n; i++)
        d->msgs[from + i] = v[i].msg;
}

struct config *config_load_buf(const char *text, size_t len, const char *file,
                               const char *dir, struct cfg_diag *d)
{
    static const char *const top_keys[] = {
        "store",     "listen",   "evaluation_interval", "checkpoint_interval",
        "report",    "defaults", "inputs",    "notifiers", "routes",
        "rules",     NULL,
    };
    size_t errors_before = d->count, kept_before = d->nmsgs;
    struct cfg_node *root;
    struct config *c;
    struct loader L;
    const struct cfg_node *n;
    const char *s;

    root = cfg_parse(text, len, d);
    if (root == NULL)
        return NULL;
    c = xcalloc(1, sizeof(*c));
    c->path = xstrdup(file ? file : "<config>");
    c->dir = xstrdup(dir ? dir : ".");
    c->evaluation_interval = 10;
    c->checkpoint_interval = 60;
    c->repeat_interval = 4 * 3600;
    c->send_resolved = true;
    L.c = c;
    L.d = d;

    check_keys(root, top_keys, NULL, d);
    n = cfg_get(root, "store");
    if (cfg_str(n, "store", &s, d) == 0 && s[0] == '\0') {
        cfg_error_at(d, n, "store is empty");
    } else if (n != NULL && n->type == CFG_SCALAR && !cfg_is_null(n)) {
        s = n->scalar;
        if (strcmp(s, ":memory:") == 0 || strncmp(s, "file:", 5) == 0)
            c->store = xstrdup(s);
        else
            c->store = resolve_path(c->dir, s);
    }
    if (c->store == NULL)
        c->store = resolve_path(c->dir, "tocsin.db");
    read_hostport(cfg_get(root, "listen"), "listen", &c->listen, d);
    positive_duration(cfg_get(root, "evaluation_interval"),
                      "evaluation_interval", &c->evaluation_interval, d);
    positive_duration(cfg_get(root, "checkpoint_interval"),
                      "checkpoint_interval", &c->checkpoint_interval, d);
    /* defaults first: notifiers inherit defaults.send_resolved whatever the
     * key order in the file; defaults.notify needs the notifiers. */
    load_defaults(&L, root);
    load_notifiers(&L, root);
    n = cfg_get(root, "defaults");
    if (n && n->type == CFG_MAP)
        read_notify(&L, cfg_get(n, "notify"), "defaults notify",
                    &c->default_notify, &c->ndefault_notify);
    load_report(&L, root);
    load_inputs(&L, root);
    load_routes(&L, root);
    load_rules(&L, root);
    cfg_node_free(root);
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

static void rule_cleanup(struct rule *r)
{
    free(r->name);
    for (size_t i = 0; i < r->nmetrics; i++)
        free(r->metrics[i]);
    free(r->metrics);
    matcher_set_cleanup(&r->where);
    matcher_set_cleanup(&r->ratio);
    for (size_t i = 0; i < r->nby; i++)
        free(r->by[i]);
    free(r->by);
    free_kv(r->labels, r->nlabels);
    for (size_t i = 0; i < r->nannotations; i++) {
        free(r->annotations[i].name);
        tmpl_free(r->annotations[i].tmpl);
    }
    free(r->annotations);
}

void config_free(struct config *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->nrules; i++)
        rule_cleanup(&c->rules[i]);
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
        free_kv(in->labels, in->nlabels);
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
