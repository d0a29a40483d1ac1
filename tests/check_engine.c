/* check_engine.c - the rule engine: tiers, hysteresis, timers, events,
 * nodata, grouping, late samples, persistence, and a property test against
 * a deliberately simple reference. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "../common/buf.h"
#include "../common/util.h"
#include "../rules/config.h"
#include "../rules/engine.h"
#include "../rules/tier.h"

/* ---- helpers ---- */

struct evlog {
    struct buf all; /* one JSON line per event */
    int n;
    char kinds[64][16];
    char sev[64][16];
    double ts[64];
    double value[64];
    int has_value[64];
};

static int collect(void *ctx, const struct alert_event *ev)
{
    struct evlog *l = ctx;
    if (l->n < 64) {
        snprintf(l->kinds[l->n], 16, "%s", event_kind_name(ev->kind));
        snprintf(l->sev[l->n], 16, "%s", severity_name(ev->severity));
        l->ts[l->n] = ev->ts;
        l->value[l->n] = ev->value;
        l->has_value[l->n] = ev->has_value;
    }
    l->n++;
    event_to_json(ev, &l->all);
    buf_addc(&l->all, '\n');
    return 0;
}

static struct config *load(const char *yaml)
{
    struct cfg_diag d;
    struct config *c;

    cfg_diag_init(&d, "t.yaml");
    c = config_load_buf(yaml, strlen(yaml), "t.yaml", "/tmp", &d);
    if (c == NULL)
        cfg_diag_print(&d, stderr);
    cfg_diag_cleanup(&d);
    ck_assert_ptr_nonnull(c);
    return c;
}

static int feed1(struct engine *e, const char *metric, const char *k,
                 const char *v, double val, double ts, struct evlog *l)
{
    struct label lb[1] = {{k, v}};
    struct sample s = {metric, lb, k ? 1 : 0, val, ts};
    return engine_feed(e, &s, collect, l);
}

static void evlog_init(struct evlog *l)
{
    memset(l, 0, sizeof(*l));
    buf_init(&l->all, 0);
}

/* An engine over c with an empty event log; close_engine frees all three. */
static struct engine *open_engine(struct config *c, struct evlog *l)
{
    evlog_init(l);
    return engine_new(c);
}

static void close_engine(struct engine *e, struct config *c, struct evlog *l)
{
    engine_free(e);
    config_free(c);
    buf_cleanup(&l->all);
}

#define SIMPLE_RULE(tiers)                                                     \
    "rules:\n"                                                                 \
    "  - name: r\n"                                                            \
    "    metric: m\n"                                                          \
    "    by: [host]\n"                                                         \
    "    severity:\n" tiers

/* ---- tier state machine ---- */

START_TEST(tier_fires_at_once_when_for_is_zero)
{
    struct tier_cfg c = {.present = true, .above = true, .threshold = 10};
    struct tier_run r = {0};
    tier_step(&c, &r, 0, 11);
    ck_assert_int_eq(r.st, TIER_FIRING);
    tier_step(&c, &r, 1, 10);
    ck_assert_int_eq(r.st, TIER_OK);
}
END_TEST

START_TEST(tier_below_breaches_under_threshold_and_recovers_at_clear)
{
    struct tier_cfg c = {.present = true,
                         .above = false,
                         .threshold = 5,
                         .has_clear = true,
                         .clear = 8};
    struct tier_run r = {0};
    tier_step(&c, &r, 0, 4);
    ck_assert_int_eq(r.st, TIER_FIRING);
    tier_step(&c, &r, 1, 7);
    ck_assert_int_eq(r.st, TIER_FIRING);
    tier_step(&c, &r, 2, 8);
    ck_assert_int_eq(r.st, TIER_OK);
}
END_TEST

START_TEST(tier_pending_resets_when_breach_stops_before_for)
{
    struct tier_cfg c = {
        .present = true, .above = true, .threshold = 10, .for_s = 60};
    struct tier_run r = {0};
    tier_step(&c, &r, 0, 11);
    ck_assert_int_eq(r.st, TIER_PENDING);
    tier_step(&c, &r, 30, 9);
    ck_assert_int_eq(r.st, TIER_OK);
    tier_step(&c, &r, 40, 11);
    tier_step(&c, &r, 90, 11);
    ck_assert_int_eq(r.st, TIER_PENDING); /* 50 s held, the timer restarted */
    tier_step(&c, &r, 100, 11);
    ck_assert_int_eq(r.st, TIER_FIRING);
}
END_TEST

START_TEST(tier_resolving_returns_to_firing_then_needs_full_clear_for)
{
    struct tier_cfg c = {
        .present = true, .above = true, .threshold = 10, .clear_for_s = 60};
    struct tier_run r = {0};
    tier_step(&c, &r, 0, 11);
    tier_step(&c, &r, 10, 5);
    ck_assert_int_eq(r.st, TIER_RESOLVING);
    tier_step(&c, &r, 20, 12);
    ck_assert_int_eq(r.st, TIER_FIRING);
    tier_step(&c, &r, 30, 5);
    tier_step(&c, &r, 80, 5);
    ck_assert_int_eq(r.st, TIER_RESOLVING);
    tier_step(&c, &r, 90, 5);
    ck_assert_int_eq(r.st, TIER_OK);
}
END_TEST

/* ---- engine events ---- */

START_TEST(tier_value_oscillating_inside_band_does_not_refire)
{
    struct config *c =
        load(SIMPLE_RULE("      warning: {above: 100, clear: 80}\n"));
    struct evlog l;
    struct engine *e = open_engine(c, &l);
    double vals[] = {50, 120, 90, 101, 85, 99, 81, 79, 95};

    for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++)
        feed1(e, "m", "host", "a", vals[i], 100 + i, &l);
    ck_assert_int_eq(l.n, 2);
    ck_assert_str_eq(l.kinds[0], "firing");
    ck_assert_double_eq(l.ts[0], 101);
    ck_assert_str_eq(l.kinds[1], "resolved");
    ck_assert_double_eq(l.ts[1], 107);
    ck_assert_str_eq(l.sev[1], "ok");
    close_engine(e, c, &l);
}
END_TEST

START_TEST(severity_escalates_and_deescalates_with_previous)
{
    struct config *c = load(SIMPLE_RULE("      warning: {above: 100}\n"
                                        "      critical: {above: 200}\n"));
    struct evlog l;
    struct engine *e = open_engine(c, &l);
    double vals[] = {150, 250, 150, 50};

    for (int i = 0; i < 4; i++)
        feed1(e, "m", "host", "a", vals[i], i, &l);
    ck_assert_int_eq(l.n, 4);
    ck_assert_str_eq(l.kinds[0], "firing");
    ck_assert_str_eq(l.sev[0], "warning");
    ck_assert_str_eq(l.kinds[1], "escalated");
    ck_assert_str_eq(l.sev[1], "critical");
    ck_assert_str_eq(l.kinds[2], "deescalated");
    ck_assert_str_eq(l.kinds[3], "resolved");
    ck_assert_ptr_nonnull(strstr(
        buf_str(&l.all), "\"event\":\"escalated\",\"severity\":\"critical\","
                         "\"previous\":\"warning\",\"value\":250"));
    close_engine(e, c, &l);
}
END_TEST

/* for and clear_for in milliseconds hold exactly, whatever the rounding of
 * the millisecond timestamps' difference. */
START_TEST(for_and_clear_for_in_milliseconds_are_exact)
{
    int wrong = 0;

    for (int k = 0; k < 500; k++) {
        char yaml[256];
        long long t0 = 1767226377820LL + k * 104729, d = 2938 + k * 17;
        struct config *c;
        struct evlog l;
        struct engine *e;

        snprintf(yaml, sizeof(yaml),
                 "rules:\n  - name: r\n    metric: m\n    severity:\n"
                 "      warning: {above: 0.5, for: %lldms, clear_for: "
                 "%lldms}\n",
                 d, d);
        c = load(yaml);
        e = open_engine(c, &l);
        feed1(e, "m", NULL, NULL, 1, (double)t0 / 1000.0, &l);
        feed1(e, "m", NULL, NULL, 1, (double)(t0 + d) / 1000.0, &l);
        feed1(e, "m", NULL, NULL, 0, (double)(t0 + d + 1) / 1000.0, &l);
        feed1(e, "m", NULL, NULL, 0, (double)(t0 + 2 * d + 1) / 1000.0, &l);
        if (l.n != 2 || strcmp(l.kinds[0], "firing") != 0 ||
            strcmp(l.kinds[1], "resolved") != 0)
            wrong++;
        close_engine(e, c, &l);
    }
    ck_assert_int_eq(wrong, 0);
}
END_TEST

START_TEST(for_delays_firing_until_held_in_sample_time)
{
    struct config *c =
        load(SIMPLE_RULE("      warning: {above: 100, for: 1m}\n"));
    struct evlog l;
    struct engine *e = open_engine(c, &l);

    feed1(e, "m", "host", "a", 150, 0, &l);
    feed1(e, "m", "host", "a", 150, 30, &l);
    ck_assert_int_eq(l.n, 0);
    feed1(e, "m", "host", "a", 150, 60, &l);
    ck_assert_int_eq(l.n, 1);
    ck_assert_double_eq(l.ts[0], 60);
    close_engine(e, c, &l);
}
END_TEST

START_TEST(event_json_has_spec_shape_labels_order_and_annotations)
{
    struct config *c = load("rules:\n"
                            "  - name: api_p90_latency\n"
                            "    metric: lat\n"
                            "    by: [service]\n"
                            "    severity: {critical: {above: 500}}\n"
                            "    labels: {team: web, service: override}\n"
                            "    annotations:\n"
                            "      summary: \"p90 latency {{ value }} ms on {{ "
                            "labels.service }}\"\n");
    struct evlog l;
    struct engine *e = open_engine(c, &l);
    const char *j;

    feed1(e, "lat", "service", "api", 512.5, 1767225720, &l);
    ck_assert_int_eq(l.n, 1);
    j = buf_str(&l.all);
    {
        const char *want =
            "{\"ts\":1767225720.0,\"rule\":\"api_p90_latency\","
            "\"labels\":{\"service\":\"override\",\"team\":\"web\","
            "\"alertname\":\"api_p90_latency\"},\"event\":\"firing\","
            "\"severity\":\"critical\",\"previous\":\"ok\","
            "\"value\":512.5,\"reason\":\"threshold\","
            "\"fingerprint\":\"";
        ck_assert_msg(strncmp(j, want, strlen(want)) == 0, "got %s", j);
    }
    ck_assert_ptr_nonnull(strstr(j, "\"annotations\":{\"summary\":"
                                    "\"p90 latency 512.5 ms on override\"}}"));
    close_engine(e, c, &l);
}
END_TEST

/* An annotation may show the ones before it, not itself or later ones. */
START_TEST(annotations_see_the_ones_before_them)
{
    struct config *c = load("rules:\n"
                            "  - name: r\n"
                            "    metric: m\n"
                            "    severity: {warning: {above: 1}}\n"
                            "    annotations:\n"
                            "      a: \"value {{ value }}\"\n"
                            "      b: \"[{{ annotations.a }}]\"\n"
                            "      c: \"{{ annotations.b }}!\"\n");
    struct evlog l;
    struct engine *e = open_engine(c, &l);

    feed1(e, "m", NULL, NULL, 5, 100, &l);
    ck_assert_int_eq(l.n, 1);
    ck_assert_msg(strstr(buf_str(&l.all),
                         "\"annotations\":{\"a\":\"value 5\",\"b\":\"[value "
                         "5]\",\"c\":\"[value 5]!\"}") != NULL,
                  "got %s", buf_str(&l.all));
    close_engine(e, c, &l);
}
END_TEST

START_TEST(missing_by_label_groups_as_empty_string)
{
    struct config *c = load(SIMPLE_RULE("      warning: {above: 1}\n"));
    struct evlog l;
    struct engine *e = open_engine(c, &l);
    struct engine_stats st;

    feed1(e, "m", NULL, NULL, 5, 1, &l);
    feed1(e, "m", "other", "x", 5, 2, &l);
    feed1(e, "m", "host", "", 5, 3, &l);
    engine_stats(e, &st);
    ck_assert_uint_eq(st.series, 1);
    ck_assert_int_eq(l.n, 1);
    ck_assert_ptr_nonnull(strstr(buf_str(&l.all), "\"host\":\"\""));
    close_engine(e, c, &l);
}
END_TEST

/* Rule r on metric m with `by` labels l00..l(nby-1), warning above 1. */
static struct config *load_many_by(int nby)
{
    struct buf y;
    struct config *c;

    buf_init(&y, 0);
    buf_adds(&y, "rules:\n  - name: r\n    metric: m\n    by: [");
    for (int i = 0; i < nby; i++)
        buf_printf(&y, "%sl%02d", i ? ", " : "", i);
    buf_adds(&y, "]\n    severity: {warning: {above: 1}}\n");
    c = load(buf_str(&y));
    buf_cleanup(&y);
    return c;
}

/* n labels l00.. named in names, each of value v. */
static void many_labels(struct label *lb, char (*names)[8], int n,
                        const char *v)
{
    for (int i = 0; i < n; i++) {
        snprintf(names[i], sizeof(names[i]), "l%02d", i);
        lb[i].name = names[i];
        lb[i].value = v;
    }
}

/* Many labels: 40 `by` labels and samples of 80 labels are one series per
 * distinct by values, and one source per distinct label set. */
START_TEST(many_by_labels_and_many_sample_labels)
{
    struct config *c = load_many_by(40);
    struct evlog l;
    struct engine *e = open_engine(c, &l);
    struct label lb[80];
    char names[80][8];
    struct sample s = {"m", lb, 80, 5, 100};
    struct engine_stats st;

    many_labels(lb, names, 80, "x");
    ck_assert_int_eq(engine_feed(e, &s, collect, &l), 0);
    /* Another value of the last by label: another series, which fires. */
    lb[39].value = "y";
    s.ts = 101;
    ck_assert_int_eq(engine_feed(e, &s, collect, &l), 0);
    /* Another value of a label past the 64th: another source of the
     * first series, in order for itself although older than the series. */
    lb[39].value = "x";
    lb[79].value = "z";
    s.ts = 99;
    ck_assert_int_eq(engine_feed(e, &s, collect, &l), 0);
    engine_stats(e, &st);
    ck_assert_uint_eq(st.series, 2);
    ck_assert_uint_eq(st.late, 0);
    ck_assert_int_eq(l.n, 2);
    ck_assert_ptr_nonnull(strstr(buf_str(&l.all), "\"l39\":\"y\""));
    ck_assert_ptr_nonnull(strstr(buf_str(&l.all), "\"l38\":\"x\""));
    close_engine(e, c, &l);
}
END_TEST

/* No cut in an alert's labels: 100 `by` labels and the rule's own label
 * are all in the event, and series that differ only in the last by label
 * have different fingerprints. */
START_TEST(alert_keeps_every_label_of_a_hundred_by_labels)
{
    struct buf y;
    struct config *c;
    struct evlog l;
    struct engine *e;
    struct label lb[100];
    char names[100][8];
    struct sample s = {"m", lb, 100, 5, 100};
    const char *all, *fp1, *fp2;

    buf_init(&y, 0);
    buf_adds(&y, "rules:\n  - name: r\n    metric: m\n    by: [");
    for (int i = 0; i < 100; i++)
        buf_printf(&y, "%sl%02d", i ? ", " : "", i);
    buf_adds(&y, "]\n    labels: {team: web}\n"
                 "    severity: {warning: {above: 1}}\n");
    c = load(buf_str(&y));
    buf_cleanup(&y);
    e = open_engine(c, &l);
    many_labels(lb, names, 100, "x");
    snprintf(names[99], sizeof(names[99]), "l99");
    ck_assert_int_eq(engine_feed(e, &s, collect, &l), 0);
    lb[99].value = "y";
    ck_assert_int_eq(engine_feed(e, &s, collect, &l), 0);
    ck_assert_int_eq(l.n, 2);
    all = buf_str(&l.all);
    ck_assert_ptr_nonnull(strstr(all, "\"l99\":\"x\",\"team\":\"web\""));
    ck_assert_ptr_nonnull(strstr(all, "\"l99\":\"y\",\"team\":\"web\""));
    fp1 = strstr(all, "\"fingerprint\":\"");
    ck_assert_ptr_nonnull(fp1);
    fp2 = strstr(fp1 + 1, "\"fingerprint\":\"");
    ck_assert_ptr_nonnull(fp2);
    ck_assert(strncmp(fp1, fp2, 31) != 0);
    close_engine(e, c, &l);
}
END_TEST

START_TEST(where_matchers_select_samples)
{
    struct config *c = load("rules:\n"
                            "  - name: r\n"
                            "    metric: [m, m2]\n"
                            "    where: {env: prod, host: \"!~test.*\"}\n"
                            "    severity: {warning: {above: 1}}\n");
    struct evlog l;
    struct engine *e = open_engine(c, &l);
    struct label a[] = {{"env", "prod"}, {"host", "test-1"}};
    struct label b[] = {{"env", "prod"}, {"host", "web-1"}};
    struct sample s1 = {"m", a, 2, 5, 1};
    struct sample s2 = {"m2", b, 2, 5, 2};

    engine_feed(e, &s1, collect, &l);
    ck_assert_int_eq(l.n, 0);
    engine_feed(e, &s2, collect, &l);
    ck_assert_int_eq(l.n, 1);
    close_engine(e, c, &l);
}
END_TEST

START_TEST(late_sample_of_same_source_is_dropped_and_counted)
{
    struct config *c = load(SIMPLE_RULE("      warning: {above: 100}\n"));
    struct evlog l;
    struct engine *e = open_engine(c, &l);
    struct engine_stats st;

    ck_assert_int_eq(feed1(e, "m", "host", "a", 1, 100, &l), 0);
    ck_assert_int_eq(feed1(e, "m", "host", "a", 500, 50, &l), 1);
    engine_stats(e, &st);
    ck_assert_uint_eq(st.late, 1);
    ck_assert_int_eq(l.n, 0);
    close_engine(e, c, &l);
}
END_TEST

/* Two counters of one series whose source hashes once folded to the same
 * 32-bit id: each keeps its own rises (increase 2 + 1, no alert). */
START_TEST(increase_keeps_sources_apart_whose_ids_once_collided)
{
    struct config *c = load("rules:\n"
                            "  - name: reqs\n"
                            "    metric: c\n"
                            "    window: 5m\n"
                            "    aggregate: increase\n"
                            "    severity:\n"
                            "      warning: {above: 2.5}\n");
    struct evlog l;
    struct engine *e = open_engine(c, &l);

    ck_assert_int_eq(feed1(e, "c", "inst", "i19369", 1000, 1000, &l), 0);
    ck_assert_int_eq(feed1(e, "c", "inst", "i70799", 10, 1001, &l), 0);
    ck_assert_int_eq(feed1(e, "c", "inst", "i19369", 1001, 1010, &l), 0);
    ck_assert_int_eq(feed1(e, "c", "inst", "i70799", 11, 1011, &l), 0);
    ck_assert_int_eq(l.n, 0);
    /* The third rise makes 3: above 2.5, so the counting is right. */
    ck_assert_int_eq(feed1(e, "c", "inst", "i19369", 1002, 1020, &l), 0);
    ck_assert_int_eq(l.n, 1);
    ck_assert_double_eq(l.value[0], 3);
    close_engine(e, c, &l);
}
END_TEST

START_TEST(nodata_fires_at_deadline_and_next_sample_ends_it)
{
    struct config *c = load("rules:\n"
                            "  - name: hb\n"
                            "    metric: hb\n"
                            "    severity: {critical: {below: 1}}\n"
                            "    nodata: {after: 5m}\n");
    struct evlog l;
    struct engine *e = open_engine(c, &l);

    feed1(e, "hb", NULL, NULL, 1, 1000, &l);
    feed1(e, "other", NULL, NULL, 1, 1200, &l);
    ck_assert_int_eq(l.n, 0);
    feed1(e, "other", NULL, NULL, 1, 1400, &l);
    ck_assert_int_eq(l.n, 1);
    ck_assert_str_eq(l.kinds[0], "firing");
    ck_assert_str_eq(l.sev[0], "warning");
    ck_assert_double_eq(l.ts[0], 1300);
    ck_assert_int_eq(l.has_value[0], 0);
    ck_assert_ptr_nonnull(
        strstr(buf_str(&l.all), "\"value\":null,\"reason\":\"nodata\""));
    feed1(e, "hb", NULL, NULL, 1, 1500, &l);
    ck_assert_int_eq(l.n, 2);
    ck_assert_str_eq(l.kinds[1], "resolved");
    close_engine(e, c, &l);
}
END_TEST

/* hb series a and b both at 0, then a at 60: their deadline. */
static struct engine *hb_a_b_then_a_at_60(struct config **c, struct evlog *l)
{
    struct engine *e;

    *c = load("rules:\n"
              "  - name: hb\n"
              "    metric: hb\n"
              "    by: [job]\n"
              "    severity: {critical: {below: 1}}\n"
              "    nodata: {after: 1m}\n");
    e = open_engine(*c, l);
    feed1(e, "hb", "job", "a", 1, 0, l);
    feed1(e, "hb", "job", "b", 1, 0, l);
    feed1(e, "hb", "job", "a", 1, 60, l);
    return e;
}

START_TEST(nodata_deadline_reached_exactly_fires_unless_own_sample_arrives)
{
    struct config *c;
    struct evlog l;
    /* The clock reaches 60, a and b's deadline, with a's sample: b's own
     * sample of that time may be the next line, so b is not nodata yet. */
    struct engine *e = hb_a_b_then_a_at_60(&c, &l);

    ck_assert_int_eq(l.n, 0);
    feed1(e, "hb", "job", "b", 1, 60, &l);
    feed1(e, "hb", "job", "a", 1, 61, &l);
    ck_assert_int_eq(l.n, 0);
    close_engine(e, c, &l);

    /* Without b's sample at 60, the clock moving on passes its deadline,
     * and the event is stamped with it. */
    e = hb_a_b_then_a_at_60(&c, &l);
    ck_assert_int_eq(l.n, 0);
    feed1(e, "hb", "job", "a", 1, 61, &l);
    ck_assert_int_eq(l.n, 1);
    ck_assert_double_eq(l.ts[0], 60);
    ck_assert_ptr_nonnull(strstr(buf_str(&l.all), "\"job\":\"b\""));
    close_engine(e, c, &l);

    /* So does the end of the input (engine_advance to the clock). */
    e = hb_a_b_then_a_at_60(&c, &l);
    ck_assert_int_eq(engine_advance(e, engine_clock(e), collect, &l), 0);
    ck_assert_int_eq(l.n, 1);
    ck_assert_double_eq(l.ts[0], 60);
    ck_assert_ptr_nonnull(strstr(buf_str(&l.all), "\"job\":\"b\""));
    close_engine(e, c, &l);
}
END_TEST

/* The sample after nodata ends it even when the aggregate has no value
 * yet (a rate needs two samples in its window): the tiers, reset to ok,
 * decide, and the event carries no stale value. */
START_TEST(nodata_ends_on_a_sample_without_a_value)
{
    struct config *c = load("rules:\n"
                            "  - name: rr\n"
                            "    metric: reqs\n"
                            "    window: 1m\n"
                            "    aggregate: rate\n"
                            "    severity: {warning: {above: 100}}\n"
                            "    nodata: {after: 30s}\n");
    struct evlog l;
    struct engine *e = open_engine(c, &l);

    feed1(e, "reqs", NULL, NULL, 1, 1000, &l);
    feed1(e, "reqs", NULL, NULL, 2, 1010, &l);
    feed1(e, "reqs", NULL, NULL, 3, 1100, &l); /* nodata at 1040 first */
    feed1(e, "reqs", NULL, NULL, 4, 1200, &l); /* nodata at 1130 first */
    feed1(e, "reqs", NULL, NULL, 5, 1210, &l);
    ck_assert_int_eq(l.n, 4);
    ck_assert_str_eq(l.kinds[0], "firing");
    ck_assert_double_eq(l.ts[0], 1040);
    ck_assert_str_eq(l.kinds[1], "resolved");
    ck_assert_double_eq(l.ts[1], 1100);
    ck_assert_int_eq(l.has_value[1], 0);
    ck_assert_str_eq(l.kinds[2], "firing");
    ck_assert_double_eq(l.ts[2], 1130);
    ck_assert_str_eq(l.kinds[3], "resolved");
    ck_assert_double_eq(l.ts[3], 1200);
    close_engine(e, c, &l);
}
END_TEST

/* A sample of another source of the series, in order for its source but
 * older than the silence (its deadline is still past the stream clock),
 * does not end nodata: no resolved and firing again at the same instant. */
START_TEST(nodata_is_not_ended_by_a_sample_older_than_the_silence)
{
    struct config *c = load("rules:\n"
                            "  - name: nd\n"
                            "    metric: m\n"
                            "    by: [h]\n"
                            "    severity: {critical: {above: 100}}\n"
                            "    nodata: {after: 10s}\n");
    struct label x[2] = {{"h", "a"}, {"s", "x"}},
                 y[2] = {{"h", "a"}, {"s", "y"}};
    struct sample sx = {"m", x, 2, 1, 1000}, sy = {"m", y, 2, 1, 1006};
    struct evlog l;
    struct engine *e = open_engine(c, &l);

    ck_assert_int_eq(engine_feed(e, &sx, collect, &l), 0);
    sx.ts = 1010;
    ck_assert_int_eq(engine_feed(e, &sx, collect, &l), 0);
    feed1(e, "m", "h", "b", 1, 1030, &l); /* a's nodata at 1020 */
    ck_assert_int_eq(l.n, 1);
    ck_assert_int_eq(engine_feed(e, &sy, collect, &l), 0);
    feed1(e, "m", "h", "b", 1, 1031, &l);
    ck_assert_int_eq(l.n, 1); /* still nodata, nothing said */
    sy.ts = 1025; /* its deadline 1035 is ahead of the clock: data again */
    ck_assert_int_eq(engine_feed(e, &sy, collect, &l), 0);
    ck_assert_int_eq(l.n, 2);
    ck_assert_str_eq(l.kinds[1], "resolved");
    close_engine(e, c, &l);
}
END_TEST

START_TEST(nodata_with_same_severity_is_silent)
{
    struct config *c = load("rules:\n"
                            "  - name: hb\n"
                            "    metric: hb\n"
                            "    severity: {warning: {above: 10}}\n"
                            "    nodata: {after: 1m, severity: warning}\n");
    struct evlog l;
    struct engine *e = open_engine(c, &l);

    feed1(e, "hb", NULL, NULL, 20, 0, &l);
    ck_assert_int_eq(l.n, 1);
    engine_advance(e, 500, collect, &l);
    ck_assert_int_eq(l.n, 1);
    close_engine(e, c, &l);
}
END_TEST

/* The daemon: a sample stamped ahead of the batch's arrival (an agent's
 * clock) does not move the nodata clock past the wall clock, so series
 * that are still reporting do not go nodata. */
START_TEST(future_sample_does_not_pass_other_series_deadlines)
{
    struct config *c = load("rules:\n"
                            "  - name: nd\n"
                            "    metric: m\n"
                            "    by: [h]\n"
                            "    severity: {warning: {above: 10}}\n"
                            "    nodata: {after: 3s}\n");
    struct evlog l;
    struct engine *e = open_engine(c, &l);

    engine_set_arrival(e, 1000);
    feed1(e, "m", "h", "a", 1, 1000, &l);
    engine_set_arrival(e, 1001);
    feed1(e, "m", "h", "skew", 1, 1020, &l);
    ck_assert_int_eq(l.n, 0);
    engine_set_arrival(e, 1002);
    feed1(e, "m", "h", "a", 1, 1002, &l);
    engine_tick(e, 1003, collect, &l);
    ck_assert_int_eq(l.n, 0);
    /* a stops: its deadline (1005) passes on the timer. */
    engine_tick(e, 1006, collect, &l);
    ck_assert_int_eq(l.n, 1);
    ck_assert_double_eq(l.ts[0], 1005);
    ck_assert_ptr_nonnull(strstr(buf_str(&l.all), "\"h\":\"a\""));
    close_engine(e, c, &l);
}
END_TEST

/* A reload that takes nodata away from a rule, or moves its deadline past
 * now, ends the nodata state of its series at the next tick: the tiers
 * say the severity again (ok here), a resolved event. */
START_TEST(reload_without_nodata_ends_the_nodata_alert)
{
    static const char *with = "rules:\n"
                              "  - name: nd\n"
                              "    metric: m\n"
                              "    severity: {warning: {above: 10}}\n"
                              "    nodata: {after: 2s}\n";
    static const char *const next[] = {
        "rules:\n"
        "  - name: nd\n"
        "    metric: m\n"
        "    severity: {warning: {above: 10}}\n",
        "rules:\n"
        "  - name: nd\n"
        "    metric: m\n"
        "    severity: {warning: {above: 10}}\n"
        "    nodata: {after: 1h}\n",
    };
    for (int k = 0; k < 2; k++) {
        struct config *c = load(with), *c2;
        struct evlog l;
        struct engine *e = open_engine(c, &l);

        engine_set_arrival(e, 1000);
        feed1(e, "m", NULL, NULL, 1, 1000, &l);
        engine_tick(e, 1003, collect, &l);
        ck_assert_int_eq(l.n, 1);
        ck_assert_str_eq(l.kinds[0], "firing");
        c2 = load(next[k]);
        engine_reload(e, c2);
        config_free(c);
        engine_tick(e, 1004, collect, &l);
        ck_assert_int_eq(l.n, 2);
        ck_assert_str_eq(l.kinds[1], "resolved");
        engine_tick(e, 1005, collect, &l);
        ck_assert_int_eq(l.n, 2);
        close_engine(e, c2, &l);
    }
}
END_TEST

START_TEST(tick_completes_for_at_wall_clock)
{
    struct config *c =
        load(SIMPLE_RULE("      warning: {above: 100, for: 1m}\n"));
    struct evlog l;
    struct engine *e = open_engine(c, &l);

    feed1(e, "m", "host", "a", 150, 0, &l);
    engine_tick(e, 30, collect, &l);
    ck_assert_int_eq(l.n, 0);
    engine_tick(e, 61, collect, &l);
    ck_assert_int_eq(l.n, 1);
    ck_assert_double_eq(l.ts[0], 61);
    close_engine(e, c, &l);
}
END_TEST

/* The timer evaluates at wall-clock time: sixty seconds without a sample
 * is a count of 0, below 2 (firing). A sample that arrives late (stamped
 * before the tick) is judged at the tick's time, where its window holds
 * nothing: still 0, still firing (no event going back in time). */
START_TEST(tick_keeps_the_window_a_late_sample_sees)
{
    struct config *c = load("rules:\n"
                            "  - name: r\n"
                            "    metric: m\n"
                            "    window: 60s\n"
                            "    aggregate: count\n"
                            "    severity: {warning: {below: 2}}\n");
    struct evlog l;
    struct engine *e = open_engine(c, &l);

    feed1(e, "m", NULL, NULL, 1, 1000000, &l); /* count 1: firing */
    feed1(e, "m", NULL, NULL, 1, 1000001, &l); /* count 2: resolved */
    feed1(e, "m", NULL, NULL, 1, 1000002, &l);
    ck_assert_int_eq(l.n, 2);
    /* A tick long after, at wall-clock time: nothing in (t - 60s, t]. */
    engine_tick(e, 1000065, collect, &l);
    ck_assert_int_eq(l.n, 3);
    ck_assert_str_eq(l.kinds[2], "firing");
    ck_assert_double_eq(l.ts[2], 1000065);
    /* A late sample at 1000003, judged at 1000065: nothing in the window,
     * no event. */
    feed1(e, "m", NULL, NULL, 1, 1000003, &l);
    ck_assert_int_eq(l.n, 3);
    close_engine(e, c, &l);
}
END_TEST

/* Samples that come 5 s late, steadily (the daemon, wall clock on): the
 * timer judges the series at now less that lag, over the window its next
 * sample will see, instead of resolving what that sample fires again. */
START_TEST(tick_judges_late_data_at_its_own_time)
{
    struct config *c = load("rules:\n"
                            "  - name: r\n"
                            "    metric: m\n"
                            "    window: 10s\n"
                            "    aggregate: count\n"
                            "    severity: {warning: {above: 30}}\n");
    struct evlog l;
    struct engine *e = open_engine(c, &l);
    double now = util_now();

    engine_set_arrival(e, now);
    for (int i = 0; i < 40; i++)
        feed1(e, "m", NULL, NULL, 1, now - 15 + i * 0.25, &l);
    ck_assert_int_eq(l.n, 1);
    ck_assert_str_eq(l.kinds[0], "firing");
    /* At wall-clock time the window would hold 19 samples: resolved. */
    engine_tick(e, now, collect, &l);
    ck_assert_int_eq(l.n, 1);
    close_engine(e, c, &l);
}
END_TEST

/* A scrape is stamped when it begins and read a little later. A series
 * scraped every second, each scrape 5 ms on its way: a timer that fires
 * while the next one is in flight, or between two of them, judges the
 * series where its samples left it (its next sample is not due yet), not
 * over a window that has lost its oldest sample and not yet gained the
 * next (a resolved that sample fires again). Once the next sample is
 * overdue (one and a half cadences), the window slides at wall clock. */
START_TEST(tick_waits_for_the_next_sample_while_it_is_due)
{
    struct config *c = load("rules:\n"
                            "  - name: r\n"
                            "    metric: m\n"
                            "    window: 4300ms\n"
                            "    aggregate: count\n"
                            "    severity: {warning: {above: 4.5}}\n"
                            "  - name: r_for\n"
                            "    metric: m\n"
                            "    window: 4300ms\n"
                            "    aggregate: count\n"
                            "    severity: {warning: {above: 4.5, for: "
                            "300ms}}\n");
    struct evlog l;
    struct engine *e = open_engine(c, &l);
    double t0 = 1000000, ts = 0;

    for (int i = 0; i < 10; i++) {
        ts = t0 + i;
        engine_set_arrival(e, ts + 0.005);
        feed1(e, "m", NULL, NULL, 1, ts, &l);
        /* Between two scrapes, and as the next one begins. */
        engine_tick(e, ts + 0.5, collect, &l);
        engine_tick(e, ts + 1.001, collect, &l);
    }
    for (int q = 0; q < l.n; q++)
        /* r fires at its fifth sample, r_for 300 ms later at a tick (its for
         * completed by the timer over the held window): nothing else. */
        ck_assert_int_eq(l.n, 2);
    ck_assert_str_eq(l.kinds[0], "firing");
    ck_assert_str_eq(l.kinds[1], "firing");
    /* The scrapes stop: the next one, due at ts + 1, is overdue at 1.5. */
    engine_tick(e, ts + 1.4, collect, &l);
    ck_assert_int_eq(l.n, 2);
    engine_tick(e, ts + 1.6, collect, &l);
    ck_assert_int_eq(l.n, 4);
    ck_assert_str_eq(l.kinds[2], "resolved");
    ck_assert_str_eq(l.kinds[3], "resolved");
    ck_assert_double_eq_tol(l.ts[2], ts + 1.595, 1e-6);
    close_engine(e, c, &l);
}
END_TEST

/* A sample that came without a timestamp (its arrival time) behind a newer
 * one of its source, its request handed over later though it arrived
 * first: counted at the newer one's time, not dropped as late; a stamped
 * sample that old is late. */
START_TEST(an_unstamped_sample_is_never_late)
{
    struct config *c = load("rules:\n"
                            "  - name: r\n"
                            "    metric: m\n"
                            "    window: 1h\n"
                            "    aggregate: count\n"
                            "    severity: {warning: {above: 1}}\n");
    struct evlog l;
    struct engine *e = open_engine(c, &l);
    struct sample s = {"m", NULL, 0, 1, 100.030};
    struct engine_stats st;

    engine_set_arrival(e, 100.030);
    ck_assert_int_eq(engine_feed_unstamped(e, &s, collect, &l), 0);
    s.ts = 100.000;
    engine_set_arrival(e, 100.000);
    ck_assert_int_eq(engine_feed_unstamped(e, &s, collect, &l), 0);
    ck_assert_int_eq(l.n, 1); /* count 2: firing, at the newer time */
    ck_assert_double_eq(l.ts[0], 100.030);
    ck_assert_int_eq(engine_feed(e, &s, collect, &l), 1);
    engine_stats(e, &st);
    ck_assert_uint_eq(st.late, 1);
    close_engine(e, c, &l);
}
END_TEST

/* Nodata, then the series' backlog (stamped before the deadline) arrives:
 * the event that ends nodata comes after the nodata event, never before
 * it (the daemon's timer; and eval's clock, moved by another series). */
START_TEST(the_end_of_nodata_never_goes_back_in_time)
{
    struct config *c = load("rules:\n"
                            "  - name: r\n"
                            "    metric: m\n"
                            "    by: [h]\n"
                            "    severity: {critical: {above: 90}}\n"
                            "    nodata: {after: 3s, severity: warning}\n");
    for (int daemon = 0; daemon < 2; daemon++) {
        struct evlog l;
        struct engine *e = open_engine(c, &l);

        for (int i = 0; i < 3; i++) {
            if (daemon)
                engine_set_arrival(e, 100 + i);
            feed1(e, "m", "h", "a", 50, 100 + i, &l);
        }
        if (daemon) {
            engine_tick(e, 105.5, collect, &l);
        } else {
            feed1(e, "m", "h", "other", 50, 105.5, &l);
        }
        ck_assert_int_eq(l.n, 1);
        ck_assert_str_eq(l.kinds[0], "firing"); /* nodata: warning */
        ck_assert_double_eq(l.ts[0], 105);
        if (daemon)
            engine_set_arrival(e, 108);
        feed1(e, "m", "h", "a", 50, 103, &l);
        ck_assert_int_eq(l.n, 2);
        ck_assert_str_eq(l.kinds[1], "resolved");
        ck_assert_msg(l.ts[1] >= l.ts[0], "resolved at %.3f before nodata %.3f",
                      l.ts[1], l.ts[0]);
        engine_free(e);
        buf_cleanup(&l.all);
    }
    config_free(c);
}
END_TEST

/* A series sampled once a minute, whose newest sample breaches with a
 * `for` of 10 s: the timer completes the `for` at wall-clock time (SPEC:
 * what makes `for` fire when no new sample arrives), though the series'
 * next sample is not yet due and its window stays where its samples left
 * it; with and without a window. */
START_TEST(tick_completes_for_of_a_sparse_series)
{
    struct config *c = load("rules:\n"
                            "  - name: last\n"
                            "    metric: m\n"
                            "    severity: {warning: {above: 5, for: 10s}}\n"
                            "  - name: windowed\n"
                            "    metric: m\n"
                            "    window: 5m\n"
                            "    aggregate: max\n"
                            "    severity: {warning: {above: 5, for: 10s}}\n");
    struct evlog l;
    struct engine *e = open_engine(c, &l);

    for (int i = 0; i < 4; i++) {
        engine_set_arrival(e, 1000 + 60 * i);
        feed1(e, "m", NULL, NULL, i == 3 ? 10 : 1, 1000 + 60 * i, &l);
    }
    ck_assert_int_eq(l.n, 0);
    engine_tick(e, 1185, collect, &l);
    ck_assert_int_eq(l.n, 0);
    engine_tick(e, 1191, collect, &l);
    ck_assert_int_eq(l.n, 2);
    ck_assert_str_eq(l.kinds[0], "firing");
    ck_assert_str_eq(l.kinds[1], "firing");
    ck_assert_double_eq(l.ts[0], 1191);
    ck_assert_double_eq(l.ts[1], 1191);
    /* The next sample, on time, is judged at its own time: still firing. */
    engine_set_arrival(e, 1240);
    feed1(e, "m", NULL, NULL, 10, 1240, &l);
    ck_assert_int_eq(l.n, 2);
    close_engine(e, c, &l);
}
END_TEST

/* Three sources feed one series, a millisecond apart, once a second: its
 * cadence is a second, not the millisecond between them, and a tick half
 * a second after the newest keeps the window where the samples left it. */
START_TEST(cadence_of_sources_a_few_ms_apart)
{
    struct config *c = load("rules:\n"
                            "  - name: r\n"
                            "    metric: m\n"
                            "    window: 4300ms\n"
                            "    aggregate: count\n"
                            "    severity: {warning: {above: 12.5}}\n");
    struct evlog l;
    struct engine *e = open_engine(c, &l);
    static const char *const src[] = {"a", "b", "c"};
    double ts = 0;

    for (int k = 0; k < 10; k++) {
        for (int j = 0; j < 3; j++) {
            ts = 1000 + k + 0.001 * j;
            engine_set_arrival(e, ts + 0.005);
            feed1(e, "m", "h", src[j], 1, ts, &l);
        }
        engine_tick(e, ts + 0.5, collect, &l);
    }
    ck_assert_int_eq(l.n, 1);
    ck_assert_str_eq(l.kinds[0], "firing");
    close_engine(e, c, &l);
}
END_TEST

/* An agent that sends a second's samples five at a time, every five
 * seconds: its cadence is how often its data arrives (5 s), not the
 * spacing of its samples, so once two batches have shown it the timer no
 * longer slides the window between batches (a count below 2 over 3 s fired
 * and resolved at every batch). Before the second batch the cadence is not
 * known: the window slides at wall clock as it did. */
START_TEST(a_batching_agent_does_not_flap)
{
    struct config *c = load("rules:\n"
                            "  - name: few\n"
                            "    metric: m\n"
                            "    window: 3s\n"
                            "    aggregate: count\n"
                            "    severity: {warning: {below: 2}}\n");
    struct evlog l;
    struct engine *e = open_engine(c, &l);
    int known = 0;

    for (int b = 0; b < 6; b++) {
        double arrival = 1000 + 5 * b + 5.01;

        engine_set_arrival(e, arrival);
        for (int i = 1; i <= 5; i++)
            feed1(e, "m", NULL, NULL, 1, 1000 + 5 * b + i, &l);
        if (b == 1)
            known = l.n;
        for (int k = 1; k <= 4; k++)
            engine_tick(e, arrival + k, collect, &l);
    }
    ck_assert_int_ge(known, 2);
    ck_assert_int_eq(l.n, known);
    close_engine(e, c, &l);
}
END_TEST

/* A source that was down for 20 s, came back for six samples a second
 * apart and fell silent again: its cadence is a second again by then (the
 * outage has left the last four spacings), so a count below 1 over 3 s
 * catches the second silence 3 s after its last sample, not 30. */
START_TEST(an_outage_is_not_a_cadence)
{
    struct config *c = load("rules:\n"
                            "  - name: gone\n"
                            "    metric: hb\n"
                            "    window: 3s\n"
                            "    aggregate: count\n"
                            "    severity: {critical: {below: 1}}\n");
    struct evlog l;
    struct engine *e = open_engine(c, &l);
    double last = 0;

    for (int i = 0; i < 3; i++) {
        engine_set_arrival(e, 1000 + i);
        feed1(e, "hb", NULL, NULL, 1, 1000 + i, &l);
    }
    for (int i = 0; i < 6; i++) {
        last = 1022 + i;
        engine_set_arrival(e, last);
        feed1(e, "hb", NULL, NULL, 1, last, &l);
    }
    ck_assert_int_eq(l.n, 0);
    for (int k = 1; k <= 5; k++)
        engine_tick(e, last + k, collect, &l);
    ck_assert_int_eq(l.n, 1);
    ck_assert_str_eq(l.kinds[0], "firing");
    ck_assert_double_eq(l.ts[0], last + 3);
    close_engine(e, c, &l);
}
END_TEST

/* A sample that comes after the timer judged its series past that
 * sample's time (it was overdue) is judged at the timer's time: the
 * series' events never go back in time. */
START_TEST(a_sample_after_the_timer_never_goes_back_in_time)
{
    struct config *c = load("rules:\n"
                            "  - name: r\n"
                            "    metric: m\n"
                            "    window: 3s\n"
                            "    aggregate: max\n"
                            "    severity: {warning: {above: 10}}\n");
    struct evlog l;
    struct engine *e = open_engine(c, &l);

    for (int i = 0; i < 3; i++) {
        engine_set_arrival(e, 100 + i);
        feed1(e, "m", NULL, NULL, i == 0 ? 20 : 5, 100 + i, &l);
    }
    ck_assert_int_eq(l.n, 1); /* firing at 100 */
    /* Overdue at 103.5: the 20 at 100 leaves the window (100.6, 103.6]. */
    engine_tick(e, 103.6, collect, &l);
    ck_assert_int_eq(l.n, 2);
    ck_assert_str_eq(l.kinds[1], "resolved");
    ck_assert_double_eq(l.ts[1], 103.6);
    /* Then the sample of 103, late: judged at 103.6, over (100.6, 103.6]. */
    engine_set_arrival(e, 103.7);
    feed1(e, "m", NULL, NULL, 50, 103, &l);
    ck_assert_int_eq(l.n, 3);
    ck_assert_str_eq(l.kinds[2], "firing");
    ck_assert_double_eq(l.ts[2], 103.6);
    close_engine(e, c, &l);
}
END_TEST

/* ---- forgetting idle series (the daemon under label churn) ---- */

struct dels {
    char key[8][32];
    int n;
    int fail; /* answer -1 */
};

static int del_key(void *ctx, const char *key)
{
    struct dels *d = ctx;

    if (d->fail)
        return -1;
    if (d->n < 8)
        snprintf(d->key[d->n], sizeof(d->key[0]), "%s", key);
    d->n++;
    return 0;
}

static int save_ignore(void *ctx, const char *key, const char *rule,
                       const char *fp, const void *blob, size_t len)
{
    (void)ctx, (void)key, (void)rule, (void)fp, (void)blob, (void)len;
    return 0;
}

static size_t series_count(const struct engine *e)
{
    struct engine_stats st;

    engine_stats(e, &st);
    return st.series;
}

static const char *forget_cfg =
    "rules:\n"
    "  - name: ok\n"
    "    metric: m\n"
    "    by: [host]\n"
    "    window: 10s\n"
    "    aggregate: avg\n"
    "    severity: {warning: {above: 100}}\n"
    "  - name: pend\n"
    "    metric: p\n"
    "    by: [host]\n"
    "    severity: {warning: {above: 100, for: 1h}}\n"
    "  - name: nd\n"
    "    metric: n\n"
    "    by: [host]\n"
    "    severity: {warning: {above: 100}}\n"
    "    nodata: {after: 1d}\n";

/* Only a series that is ok, with no timer running, its window empty and
 * no sample for `idle` of wall clock is forgotten; its store row goes. */
START_TEST(forget_takes_only_idle_ok_series)
{
    struct config *c = load(forget_cfg);
    struct evlog l;
    struct engine *e = open_engine(c, &l);
    struct dels d = {0};
    size_t n = 99;

    engine_set_arrival(e, 1000);
    feed1(e, "m", "host", "a", 10, 1000, &l);  /* ok */
    feed1(e, "m", "host", "b", 150, 1000, &l); /* firing */
    feed1(e, "p", "host", "x", 150, 1000, &l); /* pending (for 1h) */
    feed1(e, "n", "host", "y", 10, 1000, &l);  /* ok, nodata deadline */
    ck_assert_int_eq(l.n, 1);
    ck_assert_int_eq(engine_save(e, true, true, save_ignore, NULL), 0);
    ck_assert_uint_eq(series_count(e), 4);
    /* 59 s without a sample: not yet. */
    ck_assert_int_eq(engine_forget(e, 1059, 60, del_key, &d, &n), 0);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(d.n, 0);
    ck_assert_int_eq(engine_forget(e, 1061, 60, del_key, &d, &n), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(d.n, 1);
    ck_assert_str_eq(d.key[0], "ok\x1f"
                               "a");
    ck_assert_uint_eq(series_count(e), 3);
    /* The firing one still resolves, the pending one still fires. */
    engine_set_arrival(e, 1070);
    feed1(e, "m", "host", "b", 10, 1070, &l);
    ck_assert_int_eq(l.n, 2);
    ck_assert_str_eq(l.kinds[1], "resolved");
    engine_tick(e, 1000 + 3601, collect, &l);
    ck_assert_int_eq(l.n, 3);
    ck_assert_str_eq(l.kinds[2], "firing");
    /* A forgotten series starts afresh with its next sample. */
    engine_set_arrival(e, 5000);
    feed1(e, "m", "host", "a", 150, 5000, &l);
    ck_assert_int_eq(l.n, 4);
    ck_assert_str_eq(l.kinds[3], "firing");
    ck_assert_uint_eq(series_count(e), 4);
    close_engine(e, c, &l);
}
END_TEST

/* A window longer than the idle time keeps its series until it is empty;
 * the source that fed it stays (its cache of a series forgotten meanwhile
 * must not be used: ASan checks), and a failed store delete forgets
 * nothing. */
START_TEST(forget_waits_for_an_empty_window_and_a_failed_delete)
{
    struct config *c = load("rules:\n"
                            "  - name: last\n"
                            "    metric: m\n"
                            "    severity: {warning: {above: 100}}\n"
                            "  - name: long\n"
                            "    metric: m\n"
                            "    window: 2h\n"
                            "    aggregate: count\n"
                            "    severity: {warning: {above: 100}}\n"
                            "  - name: solo\n"
                            "    metric: q\n"
                            "    severity: {warning: {above: 100}}\n");
    struct evlog l;
    struct engine *e = open_engine(c, &l);
    struct dels d = {.fail = 1};
    struct engine_stats st;
    size_t n = 99;

    engine_set_arrival(e, 1000);
    feed1(e, "m", NULL, NULL, 10, 1000, &l);
    feed1(e, "q", NULL, NULL, 10, 1000, &l);
    ck_assert_int_eq(engine_save(e, true, true, save_ignore, NULL), 0);
    ck_assert_int_eq(engine_forget(e, 1061, 60, del_key, &d, &n), -1);
    ck_assert_uint_eq(series_count(e), 3);
    d.fail = 0;
    ck_assert_int_eq(engine_forget(e, 1062, 60, del_key, &d, &n), 0);
    ck_assert_uint_eq(n, 2); /* `last`, `solo`; `long` holds its sample */
    ck_assert_int_eq(d.n, 2);
    engine_stats(e, &st);
    ck_assert_uint_eq(st.sources, 2); /* kept for the 2h window */
    engine_set_arrival(e, 1070);
    feed1(e, "m", NULL, NULL, 150, 1070, &l);
    feed1(e, "q", NULL, NULL, 150, 1070, &l);
    ck_assert_int_eq(l.n, 2);
    ck_assert_str_eq(l.kinds[0], "firing");
    ck_assert_str_eq(l.kinds[1], "firing");
    ck_assert_uint_eq(series_count(e), 3);
    /* Two hours on, the window is empty: it goes, and the sources. */
    ck_assert_int_eq(engine_forget(e, 1070 + 7201, 60, del_key, &d, &n), 0);
    ck_assert_uint_eq(n, 1); /* `last` and `solo` are firing: kept */
    engine_stats(e, &st);
    ck_assert_uint_eq(st.series, 2);
    ck_assert_uint_eq(st.sources, 0);
    close_engine(e, c, &l);
}
END_TEST

/* Without an arrival time (a replay, a series restored at start) the idle
 * time counts from the first look. */
START_TEST(forget_counts_unknown_arrival_from_the_first_look)
{
    struct config *c = load(SIMPLE_RULE("      warning: {above: 100}\n"));
    struct evlog l;
    struct engine *e = open_engine(c, &l);
    struct dels d = {0};
    size_t n = 99;

    feed1(e, "m", "host", "a", 10, 5, &l);
    ck_assert_int_eq(engine_forget(e, 100, 60, del_key, &d, &n), 0);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(engine_forget(e, 161, 60, del_key, &d, &n), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(d.n, 0); /* never saved: no row to delete */
    close_engine(e, c, &l);
}
END_TEST

/* ---- persistence: split streams ---- */

struct saved {
    char *key[512];
    void *blob[512];
    size_t len[512];
    int n;
};

static int save_put(void *ctx, const char *key, const char *rule,
                    const char *fp, const void *blob, size_t len)
{
    struct saved *s = ctx;
    (void)rule;
    (void)fp;
    for (int i = 0; i < s->n; i++) {
        if (strcmp(s->key[i], key) == 0) {
            free(s->blob[i]);
            s->blob[i] = xmalloc(len);
            memcpy(s->blob[i], blob, len);
            s->len[i] = len;
            return 0;
        }
    }
    ck_assert_int_lt(s->n, 512);
    s->key[s->n] = xstrdup(key);
    s->blob[s->n] = xmalloc(len);
    memcpy(s->blob[s->n], blob, len);
    s->len[s->n++] = len;
    return 0;
}

static void saved_free(struct saved *s)
{
    for (int i = 0; i < s->n; i++) {
        free(s->key[i]);
        free(s->blob[i]);
    }
    s->n = 0;
}

static const char *split_cfg =
    "rules:\n"
    "  - name: p\n"
    "    metric: m\n"
    "    by: [host]\n"
    "    window: 1m\n"
    "    aggregate: p90\n"
    "    severity:\n"
    "      warning: {above: 60, clear: 50, for: 20s}\n"
    "      critical: {above: 85, clear: 75, clear_for: 30s}\n"
    "    nodata: {after: 2m}\n"
    "  - name: r\n"
    "    metric: c\n"
    "    window: 1m\n"
    "    aggregate: rate\n"
    "    severity: {warning: {above: 2, for: 10s}}\n";

struct gen_sample {
    const char *metric;
    char host[8];
    double v, ts;
};

static void gen_stream(unsigned seed, struct gen_sample *out, int n)
{
    double t = 1000, counter = 0;
    srand(seed);
    for (int i = 0; i < n; i++) {
        int kind = rand() % 4;
        t += (rand() % 7) + (rand() % 50 == 0 ? 200 : 0);
        if (kind == 3) {
            out[i].metric = "c";
            out[i].host[0] = '\0';
            counter += rand() % 5 == 0 ? 0 : (rand() % 40);
            if (rand() % 30 == 0)
                counter = 0;
            out[i].v = counter;
        } else {
            out[i].metric = "m";
            snprintf(out[i].host, sizeof(out[i].host), "h%d", rand() % 3);
            out[i].v = rand() % 100;
        }
        out[i].ts = t;
    }
}

static void feed_gen(struct engine *e, const struct gen_sample *g,
                     struct evlog *l)
{
    struct label lb[1] = {{"host", g->host}};
    struct sample s = {g->metric, lb, g->host[0] ? 1 : 0, g->v, g->ts};
    engine_feed(e, &s, collect, l);
}

START_TEST(split_stream_gives_the_events_of_one_run)
{
    struct config *c = load(split_cfg);
    enum { N = 1500 };
    static struct gen_sample g[N];

    for (unsigned seed = 1; seed <= 25; seed++) {
        struct evlog whole, parts;
        struct engine *e;
        int cut = 0;

        gen_stream(seed, g, N);
        evlog_init(&whole);
        evlog_init(&parts);
        e = engine_new(c);
        for (int i = 0; i < N; i++)
            feed_gen(e, &g[i], &whole);
        engine_free(e);

        e = engine_new(c);
        srand(seed * 7919);
        for (int i = 0; i < N; i++) {
            if (i == cut) {
                struct saved sv = {0};
                struct err er = {0};
                engine_save(e, true, true, save_put, &sv);
                engine_free(e);
                e = engine_new(c);
                for (int k = 0; k < sv.n; k++)
                    ck_assert_int_ge(engine_restore(e, sv.key[k], sv.blob[k],
                                                    sv.len[k], &er),
                                     0);
                saved_free(&sv);
                cut += 1 + rand() % 300;
            }
            feed_gen(e, &g[i], &parts);
        }
        engine_free(e);
        ck_assert_msg(whole.n > 3, "seed %u: too few events to compare", seed);
        {
            const char *a = buf_str(&whole.all), *b = buf_str(&parts.all);
            size_t k = 0, line = 0;
            while (a[k] && a[k] == b[k]) {
                if (a[k] == '\n')
                    line = k + 1;
                k++;
            }
            ck_assert_msg(a[k] == b[k],
                          "seed %u: split stream differs at:\n"
                          "whole: %.300s\nparts: %.300s",
                          seed, a + line, b + line);
        }
        buf_cleanup(&whole.all);
        buf_cleanup(&parts.all);
    }
    config_free(c);
}
END_TEST

/* A series of 40 by labels saves and restores whole: the restored engine
 * knows it as firing and a new sample of it is no new series. */
START_TEST(restore_keeps_a_series_of_many_by_labels)
{
    struct config *c = load_many_by(40);
    struct evlog l;
    struct engine *e = open_engine(c, &l);
    struct saved sv = {0};
    struct err er = {0};
    struct label lb[40];
    char names[40][8];
    struct sample smp = {"m", lb, 40, 5, 100};
    struct engine_stats st;

    many_labels(lb, names, 40, "v");
    ck_assert_int_eq(engine_feed(e, &smp, collect, &l), 0);
    ck_assert_int_eq(l.n, 1);
    engine_save(e, true, true, save_put, &sv);
    engine_free(e);
    e = engine_new(c);
    for (int k = 0; k < sv.n; k++)
        ck_assert_msg(
            engine_restore(e, sv.key[k], sv.blob[k], sv.len[k], &er) == 0,
            "restore: %s", er.msg);
    smp.ts = 101;
    ck_assert_int_eq(engine_feed(e, &smp, collect, &l), 0);
    engine_stats(e, &st);
    ck_assert_uint_eq(st.series, 1);
    ck_assert_int_eq(l.n, 1); /* still firing: no second event */
    saved_free(&sv);
    close_engine(e, c, &l);
}
END_TEST

/* Data that comes 40 s late, then a restart 2 s after its last sample
 * arrived: the restored series keeps how late its data comes, its cadence
 * and the timer's last judgement, so the first tick judges it where the
 * timer before the restart would have (2 s past its newest sample), not
 * at the wall clock: no `for: 60s` completed early, no count lost. A blob
 * of the older version (no timing at its end) restores as before. */
START_TEST(restore_keeps_how_late_the_data_comes)
{
    static const char *const cfgs[] = {
        "rules:\n"
        "  - name: slow\n"
        "    metric: m\n"
        "    severity: {warning: {above: 5, for: 60s}}\n",
        "rules:\n"
        "  - name: busy\n"
        "    metric: m\n"
        "    window: 60s\n"
        "    aggregate: count\n"
        "    severity: {warning: {above: 25}}\n",
    };
    for (int k = 0; k < 2; k++) {
        struct config *c = load(cfgs[k]);
        struct evlog l;
        struct engine *e = open_engine(c, &l);
        struct saved sv = {0};
        struct err er = {0};
        double now = 0;

        for (int i = 0; i < 30; i++) {
            now = 1000000 + i;
            engine_set_arrival(e, now);
            feed1(e, "m", NULL, NULL, 10, now - 40, &l);
        }
        ck_assert_int_eq(l.n, k); /* busy fires at its 26th sample */
        engine_save(e, true, true, save_put, &sv);
        engine_free(e);
        e = engine_new(c);
        for (int j = 0; j < sv.n; j++)
            ck_assert_msg(
                engine_restore(e, sv.key[j], sv.blob[j], sv.len[j], &er) == 0,
                "restore: %s", er.msg);
        engine_tick(e, now + 2, collect, &l);
        ck_assert_int_eq(l.n, k);
        /* The older blob: a series' bytes but the last 32 (the sources
         * blob, keyed "\x1fsources", is as it was). */
        engine_free(e);
        e = engine_new(c);
        for (int j = 0; j < sv.n; j++) {
            size_t cut = sv.key[j][0] != '\x1f' ? 32 : 0;

            ck_assert_int_eq(
                engine_restore(e, sv.key[j], sv.blob[j], sv.len[j] - cut, &er),
                0);
        }
        engine_tick(e, now + 2, collect, &l);
        /* Judged at the wall clock, 42 s past the newest sample: slow's
         * 29 s of pending become 71 (firing), busy's window keeps 18 of
         * its 30 samples (resolved). */
        ck_assert_int_eq(l.n, k + 1);
        ck_assert_str_eq(l.kinds[k], k == 0 ? "firing" : "resolved");
        saved_free(&sv);
        close_engine(e, c, &l);
    }
}
END_TEST

/* A source that reports once a minute, under `count` `below: 1` over 80s:
 * the daemon forgets no series whose window the timer still holds (its
 * next sample not yet overdue, 90 s after the last), so the rule sees the
 * source go silent and fires then; the forgetting that runs after each
 * tick does not take it first (at 80 s, its window empty at wall clock).
 * Across a restart (the series restored, the forgetting seeing it first),
 * its cadence is the one saved, not the downtime: it fires as soon. */
START_TEST(a_silent_sparse_source_is_caught_not_forgotten)
{
    static const char *cfg = "rules:\n"
                             "  - name: quiet\n"
                             "    metric: m\n"
                             "    window: 80s\n"
                             "    aggregate: count\n"
                             "    severity: {warning: {below: 1}}\n";
    for (int restart = 0; restart < 2; restart++) {
        struct config *c = load(cfg);
        struct evlog l;
        struct engine *e = open_engine(c, &l);
        struct dels d = {0};
        double last = 1000 + 60 * 4;

        for (int i = 0; i < 5; i++) {
            engine_set_arrival(e, 1000 + 60 * i);
            feed1(e, "m", NULL, NULL, 1, 1000 + 60 * i, &l);
            engine_tick(e, 1000 + 60 * i + 30, collect, &l);
            ck_assert_int_eq(
                engine_forget(e, 1000 + 60 * i + 30, 20, del_key, &d, NULL), 0);
        }
        if (restart) {
            struct saved sv = {0};
            struct err er = {0};

            engine_save(e, true, true, save_put, &sv);
            engine_free(e);
            e = engine_new(c);
            for (int j = 0; j < sv.n; j++)
                ck_assert_int_eq(
                    engine_restore(e, sv.key[j], sv.blob[j], sv.len[j], &er),
                    0);
            saved_free(&sv);
            /* Ten minutes down; the forgetting looks first, then the
             * source's next sample comes, and then it falls silent. */
            ck_assert_int_eq(
                engine_forget(e, last + 600, 20, del_key, &d, NULL), 0);
            last += 660;
            engine_set_arrival(e, last);
            feed1(e, "m", NULL, NULL, 1, last, &l);
        }
        ck_assert_int_eq(l.n, 0);
        for (int k = 1; k <= 14; k++) {
            engine_tick(e, last + 10 * k, collect, &l);
            ck_assert_int_eq(
                engine_forget(e, last + 10 * k, 20, del_key, &d, NULL), 0);
        }
        ck_assert_msg(l.n == 1, "restart %d: %d events", restart, l.n);
        ck_assert_str_eq(l.kinds[0], "firing");
        ck_assert_double_eq(l.ts[0], last + 90);
        close_engine(e, c, &l);
    }
}
END_TEST

START_TEST(restore_skips_a_rule_whose_definition_changed)
{
    struct config *c1 = load(SIMPLE_RULE("      warning: {above: 1}\n"));
    struct config *c2 = load("rules:\n"
                             "  - name: r\n"
                             "    metric: m\n"
                             "    by: [host]\n"
                             "    window: 5m\n"
                             "    severity: {warning: {above: 1}}\n");
    struct engine *e = engine_new(c1);
    struct evlog l;
    struct saved sv = {0};
    struct err er = {0};

    evlog_init(&l);
    feed1(e, "m", "host", "a", 5, 1, &l);
    engine_save(e, true, true, save_put, &sv);
    engine_free(e);
    e = engine_new(c2);
    for (int k = 0; k < sv.n; k++)
        if (strcmp(sv.key[k], "\x1fsources") != 0)
            ck_assert_int_eq(
                engine_restore(e, sv.key[k], sv.blob[k], sv.len[k], &er), 1);
    ck_assert_int_eq(engine_restore(e,
                                    "gone\x1f"
                                    "a",
                                    "junk", 4, &er),
                     1);
    saved_free(&sv);
    engine_free(e);
    config_free(c1);
    config_free(c2);
    buf_cleanup(&l.all);
}
END_TEST

START_TEST(restore_rejects_a_corrupt_blob)
{
    struct config *c = load(SIMPLE_RULE("      warning: {above: 1}\n"));
    struct evlog l;
    struct engine *e = open_engine(c, &l);
    struct saved sv = {0};
    struct err er = {0};

    feed1(e, "m", "host", "a", 5, 1, &l);
    engine_save(e, true, true, save_put, &sv);
    engine_free(e);
    e = engine_new(c);
    for (int k = 0; k < sv.n; k++)
        if (strcmp(sv.key[k], "\x1fsources") != 0)
            ck_assert_int_eq(engine_restore(e, sv.key[k], sv.blob[k], 20, &er),
                             -1);
    ck_assert(er.set);
    /* A `by` value's length past the blob's end (found by fuzz_restore: it
     * was allocated before being checked, 4 GiB here) is corrupt too. In
     * the forked test process of a plain build, an address-space limit
     * makes such an allocation abort (sanitizers reserve terabytes). */
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
    if (getenv("CK_FORK") == NULL || strcmp(getenv("CK_FORK"), "no") != 0) {
        struct rlimit rl = {(rlim_t)2 << 30, (rlim_t)2 << 30};

        ck_assert_int_eq(setrlimit(RLIMIT_AS, &rl), 0);
    }
#endif
    for (int k = 0; k < sv.n; k++) {
        unsigned char *b = sv.blob[k];
        unsigned char *at = memmem(b, sv.len[k], "\x01\0\0\0a", 5);

        if (strcmp(sv.key[k], "\x1fsources") == 0)
            continue;
        ck_assert_ptr_nonnull(at);
        memcpy(at, "\xf0\xff\xff\xff", 4);
        memset(&er, 0, sizeof(er));
        ck_assert_int_eq(
            engine_restore(e, sv.key[k], sv.blob[k], sv.len[k], &er), -1);
        ck_assert_ptr_nonnull(strstr(er.msg, "truncated"));
    }
    saved_free(&sv);
    close_engine(e, c, &l);
}
END_TEST

/* ---- property test against a simple reference ----
 * The reference keeps every sample of the series in a list, recomputes
 * max over (t - w, t] from scratch and runs the SPEC's state machine
 * written out longhand. */

struct ref_tier {
    int st;
    double since;
};

static void ref_step(int above, double thr, int has_clear, double clear,
                     double for_s, double clear_for, struct ref_tier *r,
                     double t, double v)
{
    int breach = above ? v > thr : v < thr;
    int rec = has_clear ? (above ? v <= clear : v >= clear) : !breach;
    if (r->st == 0 && breach) {
        r->since = t;
        r->st = for_s == 0 ? 2 : 1;
    } else if (r->st == 1) {
        if (!breach)
            r->st = 0;
        else if (t - r->since >= for_s)
            r->st = 2;
    } else if (r->st == 2 && rec) {
        r->since = t;
        r->st = clear_for == 0 ? 0 : 3;
    } else if (r->st == 3) {
        if (!rec)
            r->st = 2;
        else if (t - r->since >= clear_for)
            r->st = 0;
    }
}

START_TEST(engine_matches_reference_on_random_streams)
{
    struct config *c = load(
        "rules:\n"
        "  - name: x\n"
        "    metric: m\n"
        "    window: 30s\n"
        "    aggregate: max\n"
        "    severity:\n"
        "      info: {above: 40, for: 5s}\n"
        "      warning: {above: 60, clear: 45, clear_for: 10s}\n"
        "      critical: {above: 90, clear: 70, for: 3s, clear_for: 4s}\n");
    static double ts[4000], vs[4000];

    for (unsigned seed = 1; seed <= 40; seed++) {
        struct engine *e = engine_new(c);
        struct evlog l;
        struct ref_tier rt[3] = {{0, 0}, {0, 0}, {0, 0}};
        int ref_sev = 0, ref_events = 0;
        double t = 0;
        int n = 2000 + (int)seed * 10;

        evlog_init(&l);
        srand(seed);
        for (int i = 0; i < n; i++) {
            double v = 0;
            int nowsev = 0;
            t += 1 + rand() % 4;
            ts[i] = t;
            vs[i] = rand() % 100;
            feed1(e, "m", NULL, NULL, vs[i], t, &l);
            for (int k = i; k >= 0 && ts[k] > t - 30; k--)
                if (k == i || vs[k] > v)
                    v = vs[k];
            ref_step(1, 40, 0, 0, 5, 0, &rt[0], t, v);
            ref_step(1, 60, 1, 45, 0, 10, &rt[1], t, v);
            ref_step(1, 90, 1, 70, 3, 4, &rt[2], t, v);
            for (int k = 2; k >= 0; k--)
                if (rt[k].st >= 2) {
                    nowsev = k + 1;
                    break;
                }
            if (nowsev != ref_sev) {
                ck_assert_msg(ref_events < l.n,
                              "seed %u: engine missed an event at %g", seed, t);
                if (ref_events < 64) {
                    ck_assert_double_eq(l.ts[ref_events], t);
                    ck_assert_str_eq(l.sev[ref_events],
                                     severity_name((enum severity)nowsev));
                }
                ref_events++;
                ref_sev = nowsev;
            }
            ck_assert_int_eq(l.n, ref_events);
        }
        engine_free(e);
        buf_cleanup(&l.all);
    }
    config_free(c);
}
END_TEST

Suite *engine_suite(void)
{
    Suite *s = suite_create("engine");
    TCase *t = tcase_create("core");

    tcase_set_timeout(t, 60);
    tcase_add_test(t, tier_fires_at_once_when_for_is_zero);
    tcase_add_test(t,
                   tier_below_breaches_under_threshold_and_recovers_at_clear);
    tcase_add_test(t, tier_pending_resets_when_breach_stops_before_for);
    tcase_add_test(t,
                   tier_resolving_returns_to_firing_then_needs_full_clear_for);
    tcase_add_test(t, tier_value_oscillating_inside_band_does_not_refire);
    tcase_add_test(t, severity_escalates_and_deescalates_with_previous);
    tcase_add_test(t, for_delays_firing_until_held_in_sample_time);
    tcase_add_test(t, for_and_clear_for_in_milliseconds_are_exact);
    tcase_add_test(t, event_json_has_spec_shape_labels_order_and_annotations);
    tcase_add_test(t, missing_by_label_groups_as_empty_string);
    tcase_add_test(t, annotations_see_the_ones_before_them);
    tcase_add_test(t, many_by_labels_and_many_sample_labels);
    tcase_add_test(t, alert_keeps_every_label_of_a_hundred_by_labels);
    tcase_add_test(t, where_matchers_select_samples);
    tcase_add_test(t, late_sample_of_same_source_is_dropped_and_counted);
    tcase_add_test(t, increase_keeps_sources_apart_whose_ids_once_collided);
    tcase_add_test(t, nodata_fires_at_deadline_and_next_sample_ends_it);
    tcase_add_test(t, nodata_with_same_severity_is_silent);
    tcase_add_test(t, nodata_is_not_ended_by_a_sample_older_than_the_silence);
    tcase_add_test(t, nodata_ends_on_a_sample_without_a_value);
    tcase_add_test(
        t, nodata_deadline_reached_exactly_fires_unless_own_sample_arrives);
    tcase_add_test(t, tick_completes_for_at_wall_clock);
    tcase_add_test(t, future_sample_does_not_pass_other_series_deadlines);
    tcase_add_test(t, reload_without_nodata_ends_the_nodata_alert);
    tcase_add_test(t, tick_keeps_the_window_a_late_sample_sees);
    tcase_add_test(t, tick_judges_late_data_at_its_own_time);
    tcase_add_test(t, tick_waits_for_the_next_sample_while_it_is_due);
    tcase_add_test(t, a_sample_after_the_timer_never_goes_back_in_time);
    tcase_add_test(t, tick_completes_for_of_a_sparse_series);
    tcase_add_test(t, an_unstamped_sample_is_never_late);
    tcase_add_test(t, the_end_of_nodata_never_goes_back_in_time);
    tcase_add_test(t, cadence_of_sources_a_few_ms_apart);
    tcase_add_test(t, a_batching_agent_does_not_flap);
    tcase_add_test(t, an_outage_is_not_a_cadence);
    tcase_add_test(t, a_silent_sparse_source_is_caught_not_forgotten);
    tcase_add_test(t, forget_takes_only_idle_ok_series);
    tcase_add_test(t, forget_waits_for_an_empty_window_and_a_failed_delete);
    tcase_add_test(t, forget_counts_unknown_arrival_from_the_first_look);
    tcase_add_test(t, split_stream_gives_the_events_of_one_run);
    tcase_add_test(t, restore_skips_a_rule_whose_definition_changed);
    tcase_add_test(t, restore_keeps_a_series_of_many_by_labels);
    tcase_add_test(t, restore_keeps_how_late_the_data_comes);
    tcase_add_test(t, restore_rejects_a_corrupt_blob);
    tcase_add_test(t, engine_matches_reference_on_random_streams);
    suite_add_tcase(s, t);
    return s;
}
