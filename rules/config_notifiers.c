/* config_notifiers.c - the notifiers, report, inputs and routes sections
 * of tocsin.yaml (SPEC section 2) into struct config, every error reported
 * as FILE:LINE:COL. Called by config_load_buf (config.c) through
 * config_int.h; each notifier kind reads its own keys in its configure op. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/buf.h"
#include "../common/labels.h"
#include "../common/util.h"
#include "../notifiers/notifier.h"
#include "config.h"
#include "config_int.h"

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

/* A notifier without a usable type: its keys no kind takes (a misspelt
 * `type` among them) are reported too, not after the type is fixed. */
static void untyped_keys(const struct cfg_node *node, struct cfg_diag *d)
{
    for (size_t i = 0; i < node->n; i++)
        if (strcmp(node->keys[i], "type") != 0 &&
            !notifier_key_of_some_kind(node->keys[i]) &&
            !cfg_in_list(config_common_notifier_keys, node->keys[i]))
            cfg_error(d, node->key_line[i], node->key_col[i],
                      "unknown key \"%s\"", node->keys[i]);
}

static void load_notifier(struct config_loader *L, struct notifier *n,
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
        untyped_keys(node, d);
        return;
    }
    if (cfg_str(t, "type", &type, d) != 0) {
        untyped_keys(node, d);
        return;
    }
    n->ops = notifier_kind(type);
    if (n->ops == NULL) {
        cfg_error_at(d, t, "unknown notifier type \"%s\" (known: %s)",
                     t->from_env ? "(from the environment)" : type,
                     notifier_kinds_list());
        untyped_keys(node, d);
        return;
    }
    if (strcmp(n->ops->kind, "slack") == 0) {
        /* Slack allows about one message per second per webhook, with
         * short bursts. */
        n->rate_per_s = 1;
        n->burst = 3;
    }
    cfg_bool(cfg_get(node, "send_resolved"), "send_resolved", &n->send_resolved,
             d);
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
            cfg_error_at(d, ev,
                         "events is empty: notifier \"%s\" would "
                         "receive nothing",
                         name);
        if (items)
            n->events_mask = 0;
        for (size_t i = 0; i < cnt; i++) {
            enum event_kind k;
            if (items[i]->type != CFG_SCALAR ||
                event_kind_parse(items[i]->scalar, &k) < 0) {
                char q[240];

                cfg_quoted(items[i], q, sizeof(q));
                cfg_error_at(d, items[i],
                             "unknown event %s (expected firing, "
                             "escalated, deescalated, resolved)",
                             q);
                continue;
            }
            n->events_mask |= 1u << k;
        }
    }
    if (cfg_duration(cfg_get(node, "cooldown"), "cooldown", &v, d) == 0)
        n->cooldown = v;
    config_positive_duration(cfg_get(node, "timeout"), "timeout", &n->timeout,
                             d);
    config_positive_duration(cfg_get(node, "max_retry_time"), "max_retry_time",
                             &n->max_retry_time, d);
    config_positive_duration(cfg_get(node, "retry_backoff"), "retry_backoff",
                             &n->retry_backoff, d);
    rl = cfg_get(node, "rate_limit");
    if (rl && !cfg_is_null(rl)) {
        if (rl->type != CFG_SCALAR || parse_rate(rl->scalar, &v) < 0) {
            char q[240];

            cfg_quoted(rl, q, sizeof(q));
            cfg_error_at(d, rl,
                         "invalid rate_limit %s (expected e.g. "
                         "\"1/s\", \"30/m\" or a number per second)",
                         q);
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

void config_load_notifiers(struct config_loader *L, const struct cfg_node *root)
{
    const struct cfg_node *m =
        config_get_map(root, "notifiers", "notifiers", L->d);

    if (m == NULL)
        return;
    L->c->notifiers = xcalloc(m->n ? m->n : 1, sizeof(*L->c->notifiers));
    for (size_t i = 0; i < m->n; i++) {
        if (!valid_notifier_name(m->keys[i])) {
            cfg_error(L->d, m->key_line[i], m->key_col[i],
                      "invalid notifier name \"%s\" (use letters, digits, "
                      "-, _ and .)",
                      m->keys[i]);
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
    static const char *const long_days[] = {"sunday",    "monday",   "tuesday",
                                            "wednesday", "thursday", "friday",
                                            "saturday"};
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

void config_load_report(struct config_loader *L, const struct cfg_node *root)
{
    static const char *const keys[] = {"every", "at", "since", "notify", NULL};
    struct report_cfg *r = &L->c->report;
    const struct cfg_node *m = config_get_map(root, "report", "report", L->d);
    const struct cfg_node *at;
    const char *s;
    bool has_since = false;

    r->every = 7 * 86400;
    r->at_wday = -1;
    r->at_minute = -1;
    if (m == NULL)
        return;
    r->present = true;
    config_check_keys(m, keys, "report", L->d);
    config_positive_duration(cfg_get(m, "every"), "every", &r->every, L->d);
    at = cfg_get(m, "at");
    if (cfg_str(at, "at", &s, L->d) == 0) {
        if (parse_at(s, &r->at_wday, &r->at_minute) < 0) {
            r->at_wday = -1;
            r->at_minute = -1;
            cfg_error_at(L->d, at,
                         "invalid report time \"%s\" (expected \"Mon 09:00\" "
                         "or \"09:00\")",
                         cfg_shown(at, s));
        } else {
            r->at = xstrdup(s);
        }
    }
    /* since: 0s would send empty reports. */
    if (cfg_get(m, "since") != NULL && !cfg_is_null(cfg_get(m, "since"))) {
        config_positive_duration(cfg_get(m, "since"), "since", &r->since, L->d);
        has_since = true;
    }
    if (!has_since)
        r->since = r->every;
    config_read_notify(L, cfg_get(m, "notify"), "report notify", &r->notify,
                       &r->nnotify);
    /* Without notify, the report goes where events go by default (with
     * neither, the daemon says at start that it sends no report). */
    const struct cfg_node *nn = cfg_get(m, "notify");

    if (config_notify_defaults(L, nn, &r->notify, &r->nnotify)) {
        /* defaults.notify it is */
    } else if (nn != NULL && nn->type == CFG_SEQ && nn->n == 0) {
        cfg_error_at(L->d, nn,
                     "report notify is empty: the scheduled report would go "
                     "nowhere");
    }
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

static void load_input(struct config_loader *L, const struct cfg_node *item,
                       struct input *in)
{
    static const char *const scrape_keys[] = {"url", "interval", "timeout",
                                              "labels", NULL};
    static const char *const statsd_keys[] = {"listen", NULL};
    static const char *const file_keys[] = {"path", "format", "follow", NULL};
    struct cfg_diag *d = L->d;
    const struct cfg_node *m, *lab;
    const char *kind, *s;

    in->line = item->line;
    in->col = item->col;
    if (item->type != CFG_MAP || item->n != 1) {
        cfg_error_at(d, item,
                     "each input must be a map with one key: "
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
        config_check_keys(m, scrape_keys, "scrape input", d);
        if (u == NULL)
            cfg_error(d, item->key_line[0], item->key_col[0],
                      "scrape input needs a url");
        else if (cfg_str(u, "url", &s, d) == 0) {
            if (strncmp(s, "http://", 7) && strncmp(s, "https://", 8))
                cfg_error_at(d, u,
                             "scrape url must start with http:// or "
                             "https://");
            else if (notifier_check_url(u, "url", s, d) == 0)
                in->url = xstrdup(s);
        }
        config_positive_duration(cfg_get(m, "interval"), "interval",
                                 &in->interval, d);
        double timeout = -1;
        config_positive_duration(cfg_get(m, "timeout"), "timeout", &timeout, d);
        if (timeout > 0)
            in->timeout = timeout;
        if (timeout > in->interval) {
            char a[32], b[32];
            util_format_duration(in->timeout, a, sizeof(a));
            util_format_duration(in->interval, b, sizeof(b));
            /* As Prometheus: a scrape may not outlast its interval. */
            cfg_error_at(d, cfg_get(m, "timeout"),
                         "scrape timeout (%s) is longer than its interval "
                         "(%s)",
                         a, b);
        }
        lab = config_get_map(m, "labels", "labels", d);
        /* As Prometheus' scrape configs: label names only, and none of
         * the reserved __ ones (__name__ would rename the metric). */
        for (size_t i = 0; lab != NULL && i < lab->n; i++)
            if (!labels_name_valid(lab->keys[i]) ||
                strncmp(lab->keys[i], "__", 2) == 0)
                cfg_error(d, lab->key_line[i], lab->key_col[i],
                          "label name \"%.64s\" is not a valid label name "
                          "([a-zA-Z_][a-zA-Z0-9_]*, not starting with __) in "
                          "a scrape input",
                          lab->keys[i]);
        config_read_kv(lab, "label value", &in->labels, &in->nlabels, d);
    } else if (strcmp(kind, "statsd") == 0) {
        in->kind = INPUT_STATSD;
        config_check_keys(m, statsd_keys, "statsd input", d);
        if (cfg_get(m, "listen") == NULL)
            cfg_error(d, item->key_line[0], item->key_col[0],
                      "statsd input needs listen (\"host:port\")");
        config_read_hostport(cfg_get(m, "listen"), "listen", &in->listen, d);
    } else {
        const struct cfg_node *p = cfg_get(m, "path"), *f;
        in->kind = INPUT_FILE;
        in->format = FMT_AUTO;
        config_check_keys(m, file_keys, "file input", d);
        if (p == NULL)
            cfg_error(d, item->key_line[0], item->key_col[0],
                      "file input needs a path");
        else if (cfg_str(p, "path", &s, d) == 0) {
            if (s == NULL || s[0] == '\0')
                cfg_error_at(d, p, "file input path is empty");
            else
                in->path = config_resolve_path(L->c->dir, s);
        }
        f = cfg_get(m, "format");
        if (cfg_str(f, "format", &s, d) == 0 && !parse_format(s, &in->format))
            cfg_error_at(d, f,
                         "unknown format \"%s\" (expected json, influx, "
                         "prom, graphite, statsd, auto)",
                         cfg_shown(f, s));
        cfg_bool(cfg_get(m, "follow"), "follow", &in->follow, d);
    }
}

void config_load_inputs(struct config_loader *L, const struct cfg_node *root)
{
    const struct cfg_node *s = config_get_seq(root, "inputs", "inputs", L->d);

    if (s == NULL)
        return;
    L->c->inputs = xcalloc(s->n ? s->n : 1, sizeof(*L->c->inputs));
    L->c->ninputs = s->n;
    for (size_t i = 0; i < s->n; i++) {
        struct input *in = &L->c->inputs[i];
        const struct cfg_node *ln;

        load_input(L, s->items[i], in);
        if (in->kind == INPUT_FILE && in->follow && in->path != NULL) {
            /* One follower per file: its read position is the file's. */
            const struct cfg_node *pn = cfg_get(s->items[i]->items[0], "path");

            char *mine = util_path_canonical(in->path);

            for (size_t j = 0; j < i; j++) {
                const struct input *o = &L->c->inputs[j];
                char *theirs;
                bool same;

                if (o->kind != INPUT_FILE || !o->follow || o->path == NULL)
                    continue;
                theirs = util_path_canonical(o->path);
                same = strcmp(theirs, mine) == 0;
                free(theirs);
                if (same) {
                    cfg_error_at(L->d, pn,
                                 "file %s is followed by the input at line "
                                 "%d already (one input per followed file; "
                                 "format: auto reads lines of mixed formats)",
                                 pn && pn->from_env ? "(from the environment)"
                                                    : in->path,
                                 o->line);
                    break;
                }
            }
            free(mine);
        }
        if (in->kind != INPUT_STATSD || in->listen == NULL)
            continue;
        /* Two StatsD inputs cannot bind one address: `run` would stop. */
        ln = cfg_get(s->items[i]->items[0], "listen");
        for (size_t j = 0; j < i; j++) {
            const struct input *o = &L->c->inputs[j];
            if (o->kind == INPUT_STATSD && o->listen != NULL &&
                strcmp(o->listen, in->listen) == 0) {
                cfg_error_at(L->d, ln,
                             "statsd listen %s is already the input's at "
                             "line %d",
                             ln->from_env ? "(from the environment)"
                                          : in->listen,
                             o->line);
                break;
            }
        }
    }
}

void config_load_routes(struct config_loader *L, const struct cfg_node *root)
{
    static const char *const keys[] = {"match", "notify", "continue",
                                       "repeat_interval", NULL};
    const struct cfg_node *s = config_get_seq(root, "routes", "routes", L->d);
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
            cfg_error_at(d, item,
                         "route %zu must be a map (match, notify, "
                         "continue, repeat_interval)",
                         i + 1);
            continue;
        }
        config_check_keys(item, keys, ctx, d);
        match = config_get_map(item, "match", "match", d);
        config_read_matchers(match, ctx, &r->match, d);
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
                             cfg_shown(cfg_get(match, "severity"), mt->value));
        }
        config_read_notify(L, cfg_get(item, "notify"), "notify", &r->notify,
                           &r->nnotify);
        /* Without notify, a route's events go to defaults.notify, as an
         * Alertmanager route without a receiver uses its parent's (a
         * commented-out notify must not swallow them); `notify: []` is a
         * deliberate drop. */
        config_notify_defaults(L, cfg_get(item, "notify"), &r->notify,
                               &r->nnotify);
        cfg_bool(cfg_get(item, "continue"), "continue", &r->cont, d);
        if (cfg_duration(cfg_get(item, "repeat_interval"), "repeat_interval",
                         &r->repeat_interval, d) == 0)
            r->has_repeat = true;
    }
}
