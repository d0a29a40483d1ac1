/* config_rules.c - the rules section of tocsin.yaml (SPEC section 2): each
 * rule's metrics, where, by, aggregate, ratio, severity tiers, nodata,
 * labels and annotations into struct rule, every error reported as
 * FILE:LINE:COL; and the release of a loaded rule. Called by config.c
 * (config_load_buf, config_free) through config_int.h. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/buf.h"
#include "../common/labels.h"
#include "../common/util.h"
#include "config.h"
#include "config_int.h"

/* ---- rules ---- */

static const char *num(double v, char *out, size_t len)
{
    util_format_double(v, out, len);
    return out;
}

static bool valid_rule_name(const char *s)
{
    if (!(isalpha((unsigned char)*s) || *s == '_'))
        return false;
    for (s++; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_' && *s != ':')
            return false;
    return true;
}

static void load_tiers(struct config_loader *L, const struct cfg_node *sev,
                       struct rule *r, const char *rctx)
{
    static const char *const keys[] = {"above", "below",     "clear",
                                       "for",   "clear_for", NULL};
    struct cfg_diag *d = L->d;
    const struct cfg_node *thr_node[SEV_NTIERS] = {0};
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
                      "critical)",
                      sev->keys[i]);
            continue;
        }
        tc = &r->tiers[s - 1];
        tc->line = sev->key_line[i];
        tc->col = sev->key_col[i];
        if (t->type != CFG_MAP) {
            cfg_error_at(d, t,
                         "tier %s must be a map (above or below, "
                         "clear, for, clear_for)",
                         sev->keys[i]);
            continue;
        }
        snprintf(ctx, sizeof(ctx), "tier %s of %s", severity_name(s), rctx);
        config_check_keys(t, keys, ctx, d);
        above = cfg_get(t, "above");
        below = cfg_get(t, "below");
        if (above && below) {
            cfg_error_at(d, below,
                         "tier %s has both above and below (use "
                         "exactly one)",
                         sev->keys[i]);
            continue;
        }
        if (!above && !below) {
            cfg_error(d, tc->line, tc->col, "tier %s needs above or below",
                      sev->keys[i]);
            continue;
        }
        tc->above = above != NULL;
        thr_node[s - 1] = above ? above : below;
        /* A bad threshold still lets the tier's other keys be checked. */
        tc->present = cfg_number(thr_node[s - 1], above ? "above" : "below",
                                 &tc->threshold, d) == 0;
        clear = cfg_get(t, "clear");
        if (cfg_number(clear, "clear", &tc->clear, d) == 0 && tc->present) {
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
        cfg_duration(cfg_get(t, "clear_for"), "clear_for", &tc->clear_for_s, d);
    }
    /* Tiers of one direction are ordered, so that a higher tier is never
     * easier to breach than a lower one (a typo, such as a critical above
     * 150 under a warning above 200, would otherwise never escalate).
     * Tiers of different directions are independent: "info below 1,
     * critical above 1000" watches both ends of a range. */
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

/* A rule annotation's labels.NAME and annotations.NAME must name what its
 * alerts have: a by label, a label of the rule, alertname or severity; an
 * annotation before it. Anything else always renders empty. */
struct ann_refs {
    struct cfg_diag *d;
    const struct cfg_node *v;
    const struct rule *r;
    const char *name, *ctx;
};

static void ann_ref(void *ctx, bool annotation, const char *name, size_t off)
{
    const struct ann_refs *a = ctx;
    const struct rule *r = a->r;

    if (annotation) {
        for (size_t i = 0; i < r->nannotations; i++)
            if (strcmp(r->annotations[i].name, name) == 0)
                return;
        cfg_error_in_scalar(a->d, a->v, off,
                            "annotations.%.64s is not an annotation before "
                            "\"%s\" in %s (it would always be empty)",
                            name, a->name, a->ctx);
        return;
    }
    /* severity: the rule's label of that name, else the event's severity
     * (as in notifier templates and Prometheus' $labels.severity). */
    if (strcmp(name, "alertname") == 0 || strcmp(name, "severity") == 0)
        return;
    for (size_t i = 0; i < r->nby; i++)
        if (strcmp(r->by[i], name) == 0)
            return;
    for (size_t i = 0; i < r->nlabels; i++)
        if (strcmp(r->labels[i].key, name) == 0)
            return;
    cfg_error_in_scalar(a->d, a->v, off,
                        "labels.%.64s is not a label of the alerts of %s "
                        "(their labels: the by labels, the rule's labels, "
                        "alertname, severity), in annotation \"%s\"",
                        name, a->ctx, a->name);
}

static void load_rule(struct config_loader *L, const struct cfg_node *item,
                      struct rule *r, size_t idx)
{
    static const char *const keys[] = {
        "name",  "metric",   "where",  "by",     "window",      "aggregate",
        "ratio", "severity", "nodata", "labels", "annotations", NULL,
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
            cfg_error_at(d, n,
                         "invalid rule name \"%s\" (must match "
                         "[a-zA-Z_][a-zA-Z0-9_:]*)",
                         cfg_shown(n, s));
        } else {
            for (size_t i = 0; i < L->c->nrules; i++) {
                if (L->c->rules[i].name &&
                    strcmp(L->c->rules[i].name, s) == 0) {
                    /* A rule copied by an alias or a merge has its name
                     * where the anchor is: the duplicate is the item. */
                    bool copied = item->line > n->line ||
                                  (item->line == n->line && item->col > n->col);

                    cfg_error_at(d, copied ? item : n,
                                 "duplicate rule name \"%s\" (first "
                                 "defined at line %d)",
                                 cfg_shown(n, s), L->c->rules[i].line);
                    break;
                }
            }
            r->name = xstrdup(s);
        }
    }
    if (r->name && !n->from_env)
        snprintf(ctx, sizeof(ctx), "rule \"%s\"", r->name);
    else
        snprintf(ctx, sizeof(ctx), "rule %zu", idx + 1);
    config_check_keys(item, keys, ctx, d);

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

    config_read_matchers(config_get_map(item, "where", "where", d), ctx,
                         &r->where, d);

    n = cfg_get(item, "by");
    if (n && !cfg_is_null(n) && cfg_strlist(n, "by", &list, &nlist, d) == 0) {
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
            if (strcmp(list[i], "alertname") == 0 ||
                strcmp(list[i], "severity") == 0) {
                cfg_error_at(d, n->type == CFG_SEQ ? n->items[i] : n,
                             "label \"%s\" is reserved (set by tocsin) in "
                             "by of %s",
                             list[i], ctx);
                continue;
            }
            r->by[r->nby++] = xstrdup(list[i]);
        }
        free(list);
    }

    /* A zero window would hold no sample: (t - 0, t] is empty. */
    config_positive_duration(cfg_get(item, "window"), "window", &r->window, d);

    n = cfg_get(item, "aggregate");
    if (cfg_str(n, "aggregate", &s, d) == 0 && aggregate_parse(s, &r->agg) < 0)
        cfg_error_at(d, n,
                     "unknown aggregate \"%s\" (expected last, min, max, avg, "
                     "sum, count, stddev, pNN such as p90 or p99.9, apdex(T), "
                     "rate, increase)",
                     cfg_shown(n, s));
    else if ((r->agg.kind == AGG_RATE || r->agg.kind == AGG_INCREASE) &&
             !(r->window > 0) && cfg_get(item, "window") == NULL)
        /* Over the newest sample alone rate has no value and increase is
         * 0: the rule could never fire. */
        cfg_error_at(d, n, "aggregate %s needs a window in %s",
                     r->agg.kind == AGG_RATE ? "rate" : "increase", ctx);

    n = config_get_map(item, "ratio", "ratio", d);
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
        config_read_matchers(n, ctx, &r->ratio, d);
        /* The numerator over every sample would be the denominator. */
        if (n->type == CFG_MAP && n->n == 0)
            cfg_error_at(d, n,
                         "ratio needs at least one matcher (e.g. {status: "
                         "\"~5..\"}) in %s",
                         ctx);
    }

    sev = cfg_get(item, "severity");
    if (sev == NULL || cfg_is_null(sev)) {
        cfg_error_at(d, item,
                     "%s needs a severity with at least one tier "
                     "(info, warning, critical)",
                     ctx);
    } else if (sev->type != CFG_MAP) {
        cfg_error_at(d, sev,
                     "severity must be a map of tiers (info, warning, "
                     "critical)");
    } else if (sev->n == 0) {
        cfg_error_at(d, sev,
                     "severity needs at least one tier (info, "
                     "warning, critical) in %s",
                     ctx);
    } else {
        load_tiers(L, sev, r, ctx);
    }

    nd = config_get_map(item, "nodata", "nodata", d);
    if (nd) {
        char nctx[400];
        const struct cfg_node *after = cfg_get(nd, "after"), *ns;
        snprintf(nctx, sizeof(nctx), "nodata of %s", ctx);
        config_check_keys(nd, nodata_keys, nctx, d);
        if (after == NULL)
            cfg_error_at(d, nd, "nodata needs after (a duration) in %s", ctx);
        else
            config_positive_duration(after, "after", &r->nodata_after, d);
        r->has_nodata = r->nodata_after > 0;
        ns = cfg_get(nd, "severity");
        if (cfg_str(ns, "severity", &s, d) == 0 &&
            severity_parse(s, &r->nodata_sev) < 0)
            cfg_error_at(d, ns,
                         "unknown severity \"%s\" (expected info, "
                         "warning, critical)",
                         cfg_shown(ns, s));
    }

    lab = config_get_map(item, "labels", "labels", d);
    if (lab) {
        for (size_t i = 0; i < lab->n; i++) {
            if (strcmp(lab->keys[i], "alertname") == 0 ||
                strcmp(lab->keys[i], "severity") == 0)
                cfg_error(d, lab->key_line[i], lab->key_col[i],
                          "label \"%s\" is reserved (set by tocsin) in %s",
                          lab->keys[i], ctx);
            /* Alertmanager-format receivers refuse other names (and ""
             * cannot be named in a template). */
            else if (!labels_name_valid(lab->keys[i]))
                cfg_error(d, lab->key_line[i], lab->key_col[i],
                          "label name \"%.64s\" is not a valid label name "
                          "([a-zA-Z_][a-zA-Z0-9_]*) in %s",
                          lab->keys[i], ctx);
        }
        config_read_kv(lab, "label value", &r->labels, &r->nlabels, d);
    }

    ann = config_get_map(item, "annotations", "annotations", d);
    if (ann) {
        r->annotations = xcalloc(ann->n ? ann->n : 1, sizeof(*r->annotations));
        for (size_t i = 0; i < ann->n; i++) {
            const struct cfg_node *v = ann->items[i];
            char why[512];
            struct tmpl *t;

            if (!labels_name_valid(ann->keys[i])) {
                cfg_error(d, ann->key_line[i], ann->key_col[i],
                          "annotation name \"%.64s\" is not a valid name "
                          "([a-zA-Z_][a-zA-Z0-9_]*) in %s",
                          ann->keys[i], ctx);
                continue;
            }
            if (cfg_str(v, "annotation", &s, d) != 0)
                continue;
            t = tmpl_compile(s, why, sizeof(why), NULL);
            if (t == NULL) {
                char where[600];
                snprintf(where, sizeof(where), " in annotation \"%s\" of %s",
                         ann->keys[i], ctx);
                config_template_errors(v, where, d);
                continue;
            }
            if (!v->from_env) {
                struct ann_refs ar = {d, v, r, ann->keys[i], ctx};
                tmpl_foreach_ref(t, ann_ref, &ar);
            }
            r->annotations[r->nannotations].name = xstrdup(ann->keys[i]);
            r->annotations[r->nannotations].tmpl = t;
            r->nannotations++;
        }
    }
}

void config_load_rules(struct config_loader *L, const struct cfg_node *root)
{
    const struct cfg_node *s = config_get_seq(root, "rules", "rules", L->d);

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

void config_rule_cleanup(struct rule *r)
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
    config_free_kv(r->labels, r->nlabels);
    for (size_t i = 0; i < r->nannotations; i++) {
        free(r->annotations[i].name);
        tmpl_free(r->annotations[i].tmpl);
    }
    free(r->annotations);
}
