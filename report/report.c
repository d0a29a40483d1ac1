/* report.c - computes the noisy-alert report's per-rule figures (SPEC
 * section 9) by streaming the history once (store_events_foreach) and the
 * outbox once (store_outbox_foreach). Called by cmd_report.c and by the
 * daemon's scheduler through report_build_payload. Rendering lives in
 * format_*.c. */
#include "report.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../common/util.h"

#define DAY_S 86400.0

/* --- small open-addressing hash tables --------------------------------- */

/* One alert (rule, fingerprint) and its episode state. */
struct series_slot {
    char *fp;         /* NULL: empty slot */
    size_t rule;      /* index into the rule table */
    bool open;        /* a firing episode is running */
    bool start_known; /* its firing event is inside the period */
    double start;
    bool has_resolve;
    double last_resolve;
};

struct rule_acc {
    struct report_rule rr;
    double *durs;
    size_t ndurs, capdurs;
    size_t capdays;
};

struct silenced_ev {
    int64_t id;
    size_t rule;
    bool covered; /* an outbox row already counts it */
};

struct calc {
    double since, until, short_s;
    struct rule_acc *rules;
    size_t nrules, caprules;
    size_t *rule_slots; /* rule table: index + 1, 0 = empty */
    size_t rule_cap;    /* power of two */
    struct series_slot *series;
    size_t series_n, series_cap; /* power of two */
    struct silenced_ev *sil;
    size_t nsil, capsil;
    int64_t *evids; /* history rows in the period, sorted */
    size_t nev, capev;
};

static uint64_t str_hash(const char *s, uint64_t seed)
{
    return util_hash64(s, strlen(s), seed);
}

static void rule_table_grow(struct calc *c)
{
    size_t ncap = c->rule_cap ? c->rule_cap * 2 : 64;
    size_t *slots = xcalloc(ncap, sizeof(*slots));

    for (size_t i = 0; i < c->nrules; i++) {
        size_t h = (size_t)str_hash(c->rules[i].rr.rule, 1) & (ncap - 1);
        while (slots[h] != 0)
            h = (h + 1) & (ncap - 1);
        slots[h] = i + 1;
    }
    free(c->rule_slots);
    c->rule_slots = slots;
    c->rule_cap = ncap;
}

/* Index of rule name, adding it when new. */
static size_t rule_index(struct calc *c, const char *name)
{
    size_t h;

    if (name == NULL)
        name = "";
    if (c->rule_cap == 0 || (c->nrules + 1) * 2 > c->rule_cap)
        rule_table_grow(c);
    h = (size_t)str_hash(name, 1) & (c->rule_cap - 1);
    while (c->rule_slots[h] != 0) {
        size_t i = c->rule_slots[h] - 1;
        if (strcmp(c->rules[i].rr.rule, name) == 0)
            return i;
        h = (h + 1) & (c->rule_cap - 1);
    }
    if (c->nrules == c->caprules) {
        c->caprules = c->caprules ? c->caprules * 2 : 16;
        c->rules = xrealloc(c->rules, c->caprules * sizeof(*c->rules));
    }
    memset(&c->rules[c->nrules], 0, sizeof(c->rules[0]));
    c->rules[c->nrules].rr.rule = xstrdup(name);
    c->rule_slots[h] = c->nrules + 1;
    return c->nrules++;
}

static uint64_t series_hash(size_t rule, const char *fp)
{
    return str_hash(fp, 0x9e3779b97f4a7c15ull ^ (uint64_t)rule);
}

static void series_grow(struct calc *c)
{
    size_t ncap = c->series_cap ? c->series_cap * 2 : 256;
    struct series_slot *ns = xcalloc(ncap, sizeof(*ns));

    for (size_t i = 0; i < c->series_cap; i++) {
        struct series_slot *o = &c->series[i];
        size_t h;
        if (o->fp == NULL)
            continue;
        h = (size_t)series_hash(o->rule, o->fp) & (ncap - 1);
        while (ns[h].fp != NULL)
            h = (h + 1) & (ncap - 1);
        ns[h] = *o;
    }
    free(c->series);
    c->series = ns;
    c->series_cap = ncap;
}

/* The slot of (rule, fp), created (and counted as a series) when new. */
static struct series_slot *series_get(struct calc *c, size_t rule,
                                      const char *fp)
{
    size_t h;

    if (c->series_cap == 0 || (c->series_n + 1) * 2 > c->series_cap)
        series_grow(c);
    h = (size_t)series_hash(rule, fp) & (c->series_cap - 1);
    while (c->series[h].fp != NULL) {
        struct series_slot *sl = &c->series[h];
        if (sl->rule == rule && strcmp(sl->fp, fp) == 0)
            return sl;
        h = (h + 1) & (c->series_cap - 1);
    }
    c->series[h].fp = xstrdup(fp);
    c->series[h].rule = rule;
    c->series_n++;
    c->rules[rule].rr.series++;
    return &c->series[h];
}

/* --- accumulation --------------------------------------------------------- */

static void add_duration(struct rule_acc *ra, double d)
{
    if (ra->ndurs == ra->capdurs) {
        ra->capdurs = ra->capdurs ? ra->capdurs * 2 : 16;
        ra->durs = xrealloc(ra->durs, ra->capdurs * sizeof(*ra->durs));
    }
    ra->durs[ra->ndurs++] = d < 0 ? 0 : d;
}

static void add_fire_day(struct rule_acc *ra, double ts)
{
    int64_t day = (int64_t)floor(ts / DAY_S);
    struct report_rule *rr = &ra->rr;

    /* Events arrive in ts order, so days only grow: append or bump. */
    if (rr->ndays > 0 && rr->days[rr->ndays - 1].day == day) {
        rr->days[rr->ndays - 1].n++;
        return;
    }
    if (rr->ndays > 0 && rr->days[rr->ndays - 1].day > day) {
        /* Out of order (should not happen): find or insert in place. */
        size_t i = 0;
        while (i < rr->ndays && rr->days[i].day < day)
            i++;
        if (i < rr->ndays && rr->days[i].day == day) {
            rr->days[i].n++;
            return;
        }
        if (rr->ndays == ra->capdays) {
            ra->capdays = ra->capdays * 2;
            rr->days = xrealloc(rr->days, ra->capdays * sizeof(*rr->days));
        }
        memmove(&rr->days[i + 1], &rr->days[i],
                (rr->ndays - i) * sizeof(*rr->days));
        rr->days[i].day = day;
        rr->days[i].n = 1;
        rr->ndays++;
        return;
    }
    if (rr->ndays == ra->capdays) {
        ra->capdays = ra->capdays ? ra->capdays * 2 : 8;
        rr->days = xrealloc(rr->days, ra->capdays * sizeof(*rr->days));
    }
    rr->days[rr->ndays].day = day;
    rr->days[rr->ndays].n = 1;
    rr->ndays++;
}

/* Close the running episode of sl at ts (resolved, or a new firing that
 * replaced it). Only episodes whose firing we saw have a duration. */
static void close_episode(struct calc *c, struct series_slot *sl, double ts,
                          bool resolved)
{
    struct rule_acc *ra = &c->rules[sl->rule];

    if (sl->open && sl->start_known) {
        /* an episode stamped later than now, cut at now: none of it */
        double d = ts > sl->start ? ts - sl->start : 0;
        add_duration(ra, d);
        ra->rr.nepisodes++;
        if (resolved && d <= c->short_s + UTIL_TIME_EPS)
            ra->rr.short_lived++;
    }
    sl->open = false;
    sl->start_known = false;
}

static int on_event(void *ctx, const struct store_event *ev)
{
    struct calc *c = ctx;
    size_t ri;
    struct rule_acc *ra;
    struct series_slot *sl;
    const char *kind = ev->event ? ev->event : "";

    if (ev->ts > c->until)
        return 1; /* oldest first: nothing later is in the period */
    if (ev->ts < c->since)
        return 0;
    ri = rule_index(c, ev->rule);
    ra = &c->rules[ri];
    sl = series_get(c, ri, ev->fingerprint ? ev->fingerprint : "");
    if (c->nev == c->capev) {
        c->capev = c->capev ? c->capev * 2 : 256;
        c->evids = xrealloc(c->evids, c->capev * sizeof(*c->evids));
    }
    c->evids[c->nev++] = ev->id;
    if (ev->silenced) {
        if (c->nsil == c->capsil) {
            c->capsil = c->capsil ? c->capsil * 2 : 64;
            c->sil = xrealloc(c->sil, c->capsil * sizeof(*c->sil));
        }
        c->sil[c->nsil].id = ev->id;
        c->sil[c->nsil].rule = ri;
        c->sil[c->nsil].covered = false;
        c->nsil++;
    }
    if (strcmp(kind, "firing") == 0) {
        ra->rr.fired++;
        add_fire_day(ra, ev->ts);
        if (sl->open)
            close_episode(c, sl, ev->ts, false);
        if (sl->has_resolve &&
            ev->ts - sl->last_resolve <= c->short_s + UTIL_TIME_EPS)
            ra->rr.flapping++;
        sl->open = true;
        sl->start_known = true;
        sl->start = ev->ts;
    } else if (strcmp(kind, "escalated") == 0) {
        ra->rr.escalated++;
        if (!sl->open) {
            /* Began before the period: open, start unknown. */
            sl->open = true;
            sl->start_known = false;
        }
    } else if (strcmp(kind, "deescalated") == 0) {
        ra->rr.deescalated++;
        if (!sl->open) {
            sl->open = true;
            sl->start_known = false;
        }
    } else if (strcmp(kind, "resolved") == 0) {
        ra->rr.resolved++;
        close_episode(c, sl, ev->ts, true);
        sl->has_resolve = true;
        sl->last_resolve = ev->ts;
    }
    return 0;
}

static int cmp_sil(const void *a, const void *b)
{
    const struct silenced_ev *x = a, *y = b;
    return (x->id > y->id) - (x->id < y->id);
}

static int cmp_id(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int on_outbox(void *ctx, const struct outbox_row *r)
{
    struct calc *c = ctx;
    struct rule_acc *ra;
    size_t ri;

    if (r->kind == NULL)
        return 0;
    if (strcmp(r->kind, "event") == 0 && r->event_id > 0) {
        /* An event's notifications belong to the event's period (its own
         * ts), however much later they were queued or sent. */
        if (c->nev == 0 || bsearch(&r->event_id, c->evids, c->nev,
                                   sizeof(*c->evids), cmp_id) == NULL)
            return 0;
    } else if (strcmp(r->kind, "event") == 0 ||
               strcmp(r->kind, "repeat") == 0) {
        /* A reminder happens when it is queued. */
        if (r->created < c->since || r->created > c->until)
            return 0;
    } else {
        return 0;
    }
    /* rule_index may move c->rules (a rule with notifications and no
     * event in the period is new here): index only after it returns. */
    ri = rule_index(c, r->rule);
    ra = &c->rules[ri];
    switch (r->status) {
    case OUTBOX_SENT:
        ra->rr.sent++;
        break;
    case OUTBOX_FAILED:
        ra->rr.failed++;
        break;
    case OUTBOX_SILENCED:
        ra->rr.silenced++;
        break;
    default:
        break;
    }
    if (r->event_id > 0 && c->nsil > 0) {
        struct silenced_ev key = {.id = r->event_id};
        struct silenced_ev *hit =
            bsearch(&key, c->sil, c->nsil, sizeof(*c->sil), cmp_sil);
        if (hit != NULL)
            hit->covered = true;
    }
    return 0;
}

/* --- scoring and ranking ------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double report_quantile(double *v, size_t n, double q)
{
    double rank, w;
    size_t lo;

    if (n == 0)
        return 0;
    qsort(v, n, sizeof(*v), cmp_double);
    if (q <= 0)
        return v[0];
    if (q >= 1)
        return v[n - 1];
    rank = q * (double)(n - 1);
    lo = (size_t)floor(rank);
    if (lo + 1 >= n)
        return v[n - 1];
    w = rank - (double)lo;
    return v[lo] * (1 - w) + v[lo + 1] * w;
}

/* The noise score. fires_per_day alone ranks a rule that fires 20 times a
 * day for real, long incidents above one that flaps 10 times a day for a
 * minute each; but the latter is the noisier one to a human (each page is
 * for nothing), so short-lived and flapping firings weigh more:
 *
 *   score = fires_per_day * (1 + 2 * short_ratio + 3 * flap_ratio)
 *
 * short_ratio = short_lived / fired, flap_ratio = flapping / fired (each in
 * [0, 1]). Flapping weighs most because a flapping firing is also, almost
 * always, a short one: a fully flapping rule scores up to 6x its rate, a
 * short-lived one 3x, a steady one 1x. The score stays in "firings per day"
 * units, so thresholds read naturally (REPORT_NOISY_SCORE = 5/day). */
void report_rule_score(struct report_rule *rr, double period_days)
{
    double days = period_days < 1 ? 1 : period_days;

    rr->fires_per_day = (double)rr->fired / days;
    rr->short_ratio =
        rr->fired ? (double)rr->short_lived / (double)rr->fired : 0;
    rr->flap_ratio = rr->fired ? (double)rr->flapping / (double)rr->fired : 0;
    if (rr->short_ratio > 1)
        rr->short_ratio = 1;
    if (rr->flap_ratio > 1)
        rr->flap_ratio = 1;
    /* The same figure as fires_per_day * (1 + 2 short_ratio + 3
     * flap_ratio), from whole counts divided once: rules whose counts give
     * equal scores get equal doubles, so the tie goes to `fired`. */
    rr->noise_score =
        ((double)rr->fired +
         2.0 * (double)(rr->short_lived < rr->fired ? rr->short_lived
                                                    : rr->fired) +
         3.0 * (double)(rr->flapping < rr->fired ? rr->flapping : rr->fired)) /
        days;
    rr->noisy = false;
    rr->suggestion = NULL;
    if (rr->fired < REPORT_NOISY_MIN_FIRED)
        return;
    if (rr->flap_ratio >= REPORT_NOISY_FLAP_RATIO) {
        rr->noisy = true;
        rr->suggestion = "flapping: add `clear` (hysteresis) or `clear_for`, "
                         "or widen the band between threshold and clear";
    } else if (rr->short_ratio >= REPORT_NOISY_SHORT_RATIO) {
        rr->noisy = true;
        rr->suggestion = "short-lived: raise `for` so brief spikes do not "
                         "fire";
    } else if (rr->noise_score >= REPORT_NOISY_SCORE) {
        rr->noisy = true;
        rr->suggestion = "frequent: raise the threshold or add `for`";
    }
}

static int cmp_rule(const void *a, const void *b)
{
    const struct report_rule *x = a, *y = b;

    if (x->noise_score != y->noise_score)
        return x->noise_score > y->noise_score ? -1 : 1;
    if (x->fired != y->fired)
        return x->fired > y->fired ? -1 : 1;
    return strcmp(x->rule, y->rule);
}

static void calc_cleanup(struct calc *c)
{
    for (size_t i = 0; i < c->series_cap; i++)
        free(c->series[i].fp);
    free(c->series);
    for (size_t i = 0; i < c->nrules; i++) {
        free(c->rules[i].durs);
        free(c->rules[i].rr.rule);
        free(c->rules[i].rr.days);
    }
    free(c->rules);
    free(c->rule_slots);
    free(c->sil);
    free(c->evids);
}

int report_compute(struct store *s, double since, double until, double short_s,
                   struct report **out, struct err *e)
{
    struct calc c;
    struct report *r;
    double open_end, rows_since = since;

    *out = NULL;
    if (!(since <= until)) {
        err_set(e, "report: --since is after --until");
        return -1;
    }
    memset(&c, 0, sizeof(c));
    c.since = since;
    c.until = until;
    c.short_s = short_s;
    if (store_events_foreach(s, since, NULL, on_event, &c, e) < 0)
        goto err;
    if (c.nsil > 0)
        qsort(c.sil, c.nsil, sizeof(*c.sil), cmp_sil);
    if (c.nev > 1)
        qsort(c.evids, c.nev, sizeof(*c.evids), cmp_id);
    /* An event's notifications were queued at a wall-clock time that can
     * be before the event's own ts (an agent's clock ahead): read them
     * from that far back. */
    {
        double ahead = 0;

        if (store_meta_number(s, STORE_META_AHEAD, &ahead, e) < 0)
            goto err;
        if (ahead > 0)
            rows_since = since - ahead;
    }
    if (store_outbox_foreach(s, rows_since, on_outbox, &c, e) < 0)
        goto err;
    /* A silenced event without any outbox row (the pipeline may record a
     * silenced event and queue nothing) still counts as one silenced
     * notification: "events are still recorded and counted in reports". */
    for (size_t i = 0; i < c.nsil; i++)
        if (!c.sil[i].covered)
            c.rules[c.sil[i].rule].rr.silenced++;
    /* Episodes still open at `until` count up to `until`, or up to now
     * when until is later: an alert has not fired in the future. */
    open_end = until < util_now() ? until : util_now();
    if (open_end < since)
        open_end = since;
    for (size_t i = 0; i < c.series_cap; i++)
        if (c.series[i].fp != NULL && c.series[i].open)
            close_episode(&c, &c.series[i], open_end, false);

    r = xcalloc(1, sizeof(*r));
    r->since = since;
    r->until = until;
    r->short_s = short_s;
    r->period_days = (until - since) / DAY_S;
    if (r->period_days < 1)
        r->period_days = 1;
    r->nrules = c.nrules;
    r->rules = xcalloc(c.nrules ? c.nrules : 1, sizeof(*r->rules));
    for (size_t i = 0; i < c.nrules; i++) {
        struct rule_acc *ra = &c.rules[i];
        struct report_rule *rr = &r->rules[i];
        *rr = ra->rr;
        ra->rr.rule = NULL; /* moved */
        ra->rr.days = NULL;
        rr->median_s = report_quantile(ra->durs, ra->ndurs, 0.5);
        rr->p90_s = report_quantile(ra->durs, ra->ndurs, 0.9);
        report_rule_score(rr, r->period_days);
    }
    qsort(r->rules, r->nrules, sizeof(*r->rules), cmp_rule);
    calc_cleanup(&c);
    *out = r;
    return 0;
err:
    calc_cleanup(&c);
    if (e != NULL && !e->set)
        err_set(e, "report: cannot read the store");
    return -1;
}

void report_free(struct report *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->nrules; i++) {
        free(r->rules[i].rule);
        free(r->rules[i].days);
    }
    free(r->rules);
    free(r);
}

int report_format_parse(const char *s, enum report_format *out)
{
    static const struct {
        const char *name;
        enum report_format f;
    } names[] = {
        {"text", REPORT_TEXT},   {"markdown", REPORT_MARKDOWN},
        {"md", REPORT_MARKDOWN}, {"json", REPORT_JSON},
        {"csv", REPORT_CSV},     {"html", REPORT_HTML},
    };

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(s, names[i].name) == 0) {
            *out = names[i].f;
            return 0;
        }
    return -1;
}

int report_format(const struct report *r, enum report_format f, struct buf *out)
{
    switch (f) {
    case REPORT_TEXT:
        return report_format_text(r, out);
    case REPORT_MARKDOWN:
        return report_format_markdown(r, out);
    case REPORT_JSON:
        return report_format_json(r, out);
    case REPORT_CSV:
        return report_format_csv(r, out);
    case REPORT_HTML:
        return report_format_html(r, out);
    }
    return -1;
}
