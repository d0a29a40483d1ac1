/* check_report.c - tests for report/: the per-rule figures of the
 * noisy-alert report computed from a real (in-memory SQLite) store, the JSON,
 * CSV, text, markdown and HTML renderings, the payload, and the report
 * schedule (weekly slots in UTC and Europe/Paris, DST, once per period
 * across a restart). */
#include <check.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../common/util.h"
#include "../report/report.h"
#include "../report/schedule.h"
#include "../store/store.h"

#define T0 1767225600.0 /* 2026-01-01T00:00:00Z, a Thursday */
#define DAY 86400.0

static struct store *mem_store(void)
{
    struct err e = {0};
    struct store *s = store_open(":memory:", STORE_RW, &e);
    ck_assert_msg(s != NULL, "store_open: %s", e.msg);
    return s;
}

static int64_t add_ev(struct store *s, double ts, const char *rule,
                      const char *fp, const char *event, bool silenced)
{
    struct err e = {0};
    int64_t id = 0;
    char json[256];
    struct store_event ev = {
        .ts = ts,
        .rule = rule,
        .fingerprint = fp,
        .event = event,
        .severity = strcmp(event, "resolved") == 0 ? "ok" : "warning",
        .previous = strcmp(event, "firing") == 0 ? "ok" : "warning",
        .json = json,
        .silenced = silenced,
    };
    snprintf(json, sizeof(json),
             "{\"ts\":%.3f,\"rule\":\"%s\",\"event\":\"%s\"}", ts, rule, event);
    ck_assert_msg(store_event_add(s, &ev, &id, &e) == 0, "event_add: %s",
                  e.msg);
    return id;
}

static void add_ob(struct store *s, const char *key, int64_t event_id,
                   const char *rule, const char *kind, enum outbox_status st,
                   double created)
{
    struct err e = {0};
    struct outbox_row r = {
        .key = key,
        .event_id = event_id,
        .receiver = "hook",
        .fingerprint = "x",
        .rule = rule,
        .kind = kind,
        .payload = "{}",
        .status = OUTBOX_PENDING,
        .created = created,
        .next_at = created,
        .updated = created,
    };
    int64_t id = 0;
    ck_assert_msg(store_outbox_add(s, &r, &id, &e) == 0, "outbox_add: %s",
                  e.msg);
    if (st != OUTBOX_PENDING)
        ck_assert_int_eq(
            store_outbox_update(s, id, st, 1, 0, NULL, 200, created + 1, &e),
            0);
}

/* The synthetic week (see the figures asserted in the tests below):
 *  flappy/fa: 4 firings on 2026-01-01; episodes 60s, 60s (both short; the
 *    2nd and 3rd firings 40s after a resolve: flapping), 600s, 1800s; one
 *    escalation. Notifications: 3 sent + 1 repeat sent, 1 failed,
 *    1 silenced; report/test/pending rows do not count.
 *  steady/s1,s2: 3 firings (2026-01-02 twice, one at 23:59; 2026-01-07
 *    once, still open at until); episodes 7200s, 1860s, 85400s. One
 *    silenced firing without outbox row. 2 sent.
 *  quiet/q: escalated + resolved of an episode that began before since.
 * Plus one event before since and one after until, both ignored. */
static struct store *week_store(void)
{
    struct store *s = mem_store();
    int64_t id;

    add_ev(s, T0 - 500, "flappy", "fa", "firing", false);
    id = add_ev(s, T0 + 100, "flappy", "fa", "firing", false);
    add_ob(s, "k1", id, "flappy", "event", OUTBOX_SENT, T0 + 100);
    add_ev(s, T0 + 160, "flappy", "fa", "resolved", false);
    id = add_ev(s, T0 + 200, "flappy", "fa", "firing", false);
    add_ob(s, "k2", id, "flappy", "event", OUTBOX_SENT, T0 + 200);
    add_ev(s, T0 + 260, "flappy", "fa", "resolved", false);
    id = add_ev(s, T0 + 300, "flappy", "fa", "firing", true);
    add_ob(s, "k3", id, "flappy", "event", OUTBOX_SILENCED, T0 + 300);
    add_ev(s, T0 + 900, "flappy", "fa", "resolved", false);
    id = add_ev(s, T0 + 2000, "flappy", "fa", "firing", false);
    add_ob(s, "k4", id, "flappy", "event", OUTBOX_SENT, T0 + 2000);
    id = add_ev(s, T0 + 2100, "flappy", "fa", "escalated", false);
    add_ob(s, "k5", id, "flappy", "event", OUTBOX_FAILED, T0 + 2100);
    add_ob(s, "k6", id, "flappy", "repeat", OUTBOX_SENT, T0 + 2200);
    add_ob(s, "k7", 0, "flappy", "report", OUTBOX_SENT, T0 + 2200);
    add_ob(s, "k8", 0, "flappy", "test", OUTBOX_SENT, T0 + 2200);
    add_ob(s, "k9", id, "flappy", "event", OUTBOX_PENDING, T0 + 2200);
    add_ev(s, T0 + 3800, "flappy", "fa", "resolved", false);

    id = add_ev(s, T0 + DAY + 3600, "steady", "s1", "firing", false);
    add_ob(s, "k10", id, "steady", "event", OUTBOX_SENT, T0 + DAY + 3600);
    add_ev(s, T0 + DAY + 3600 + 7200, "steady", "s1", "resolved", false);
    add_ev(s, T0 + 2 * DAY - 60, "steady", "s2", "firing", true);
    id = add_ev(s, T0 + 2 * DAY + 1800, "steady", "s2", "resolved", false);
    add_ob(s, "k11", id, "steady", "event", OUTBOX_SENT, T0 + 2 * DAY + 1800);
    add_ev(s, T0 + 6 * DAY + 1000, "steady", "s1", "firing", false);
    add_ev(s, T0 + 7 * DAY + 10, "steady", "s1", "resolved", false);

    add_ev(s, T0 + 3 * DAY, "quiet", "q", "escalated", false);
    add_ev(s, T0 + 3 * DAY + 50, "quiet", "q", "resolved", false);
    return s;
}

static cJSON *report_json(struct store *s, double since, double until,
                          double short_s)
{
    struct report *r = NULL;
    struct err e = {0};
    struct buf b;
    cJSON *j;

    ck_assert_msg(report_compute(s, since, until, short_s, &r, &e) == 0,
                  "compute: %s", e.msg);
    buf_init(&b, 0);
    ck_assert_int_eq(report_format_json(r, &b), 0);
    j = cJSON_Parse(buf_str(&b));
    ck_assert_msg(j != NULL, "JSON does not parse: %s", buf_str(&b));
    buf_cleanup(&b);
    report_free(r);
    return j;
}

static double num(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    ck_assert_msg(cJSON_IsNumber(v), "%s is not a number", k);
    return v->valuedouble;
}

static const cJSON *rule_at(const cJSON *j, int i, const char *name)
{
    const cJSON *rules = cJSON_GetObjectItemCaseSensitive(j, "rules");
    const cJSON *r = cJSON_GetArrayItem(rules, i);
    ck_assert_ptr_nonnull(r);
    ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(r, "rule")->valuestring,
                     name);
    return r;
}

START_TEST(report_json_counts_every_figure_of_a_known_week)
{
    struct store *s = week_store();
    cJSON *j = report_json(s, T0, T0 + 7 * DAY, 300);
    const cJSON *r, *n, *pd;

    ck_assert_double_eq(num(j, "since"), T0);
    ck_assert_double_eq(num(j, "until"), T0 + 7 * DAY);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "rules")), 3);

    r = rule_at(j, 0, "flappy");
    ck_assert_double_eq(num(r, "fired"), 4);
    ck_assert_double_eq(num(r, "escalated"), 1);
    ck_assert_double_eq(num(r, "resolved"), 4);
    ck_assert_double_eq(num(r, "series"), 1);
    n = cJSON_GetObjectItemCaseSensitive(r, "notifications");
    ck_assert_double_eq(num(n, "sent"), 4);
    ck_assert_double_eq(num(n, "failed"), 1);
    ck_assert_double_eq(num(n, "silenced"), 1);
    ck_assert_double_eq(num(r, "median_firing_seconds"), 330);
    ck_assert_double_eq(num(r, "p90_firing_seconds"), 1440);
    ck_assert_double_eq(num(r, "short_lived"), 2);
    ck_assert_double_eq(num(r, "flapping"), 2);
    pd = cJSON_GetObjectItemCaseSensitive(r, "per_day");
    ck_assert_int_eq(cJSON_GetArraySize(pd), 1);
    ck_assert_double_eq(num(pd, "2026-01-01"), 4);
    /* 4/7 per day * (1 + 2*0.5 + 3*0.5) = 2.0 */
    ck_assert_double_eq_tol(num(r, "noise_score"), 2.0, 1e-3);
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(r, "noisy")));
    ck_assert_ptr_nonnull(
        strstr(cJSON_GetObjectItem(r, "suggestion")->valuestring, "clear"));

    r = rule_at(j, 1, "steady");
    ck_assert_double_eq(num(r, "fired"), 3);
    ck_assert_double_eq(num(r, "escalated"), 0);
    ck_assert_double_eq(num(r, "resolved"), 2);
    ck_assert_double_eq(num(r, "series"), 2);
    n = cJSON_GetObjectItemCaseSensitive(r, "notifications");
    ck_assert_double_eq(num(n, "sent"), 2);
    ck_assert_double_eq(num(n, "failed"), 0);
    ck_assert_double_eq(num(n, "silenced"), 1);
    ck_assert_double_eq(num(r, "median_firing_seconds"), 7200);
    ck_assert_double_eq(num(r, "p90_firing_seconds"), 69760);
    ck_assert_double_eq(num(r, "short_lived"), 0);
    ck_assert_double_eq(num(r, "flapping"), 0);
    pd = cJSON_GetObjectItemCaseSensitive(r, "per_day");
    ck_assert_int_eq(cJSON_GetArraySize(pd), 2);
    ck_assert_double_eq(num(pd, "2026-01-02"), 2);
    ck_assert_double_eq(num(pd, "2026-01-07"), 1);
    ck_assert_double_eq_tol(num(r, "noise_score"), 3.0 / 7, 1e-3);
    ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(r, "noisy")));

    r = rule_at(j, 2, "quiet");
    ck_assert_double_eq(num(r, "fired"), 0);
    ck_assert_double_eq(num(r, "escalated"), 1);
    ck_assert_double_eq(num(r, "resolved"), 1);
    ck_assert(cJSON_IsNull(cJSON_GetObjectItem(r, "median_firing_seconds")));
    ck_assert(cJSON_IsNull(cJSON_GetObjectItem(r, "p90_firing_seconds")));
    ck_assert_double_eq(num(r, "noise_score"), 0);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(r, "per_day")), 0);
    cJSON_Delete(j);
    store_close(s);
}
END_TEST

START_TEST(report_csv_has_header_and_one_quoted_row_per_rule)
{
    struct store *s = week_store();
    struct report *r = NULL;
    struct err e = {0};
    struct buf b;
    const char *t;

    ck_assert_int_eq(report_compute(s, T0, T0 + 7 * DAY, 300, &r, &e), 0);
    buf_init(&b, 0);
    ck_assert_int_eq(report_format_csv(r, &b), 0);
    t = buf_str(&b);
    ck_assert_msg(strncmp(t,
                          "rule,fired,escalated,resolved,series,sent,failed,"
                          "silenced,median_firing_seconds,p90_firing_seconds,"
                          "short_lived,flapping,fires_per_day,noise_score,"
                          "noisy,suggestion,per_day\r\n",
                          strlen("rule,fired,escalated,resolved,series,sent,"
                                 "failed,silenced,median_firing_seconds,"
                                 "p90_firing_seconds,short_lived,flapping,"
                                 "fires_per_day,noise_score,noisy,suggestion,"
                                 "per_day\r\n")) == 0,
                  "header: %s", t);
    /* The flappy suggestion holds commas, so it is quoted. */
    ck_assert_msg(strstr(t, "\r\nflappy,4,1,4,1,4,1,1,330,1440,2,2,0.571,2,"
                            "true,\"flapping: add `clear` (hysteresis) or "
                            "`clear_for`, or widen the band between "
                            "threshold and clear\",2026-01-01:4\r\n") != NULL,
                  "flappy row: %s", t);
    ck_assert_msg(strstr(t,
                         "\r\nsteady,3,0,2,2,2,0,1,7200,69760,0,0,0.429,"
                         "0.429,false,,2026-01-02:2;2026-01-07:1\r\n") != NULL,
                  "steady row: %s", t);
    ck_assert_msg(strstr(t, "\r\nquiet,0,1,1,1,0,0,0,,,0,0,0,0,false,,\r\n") !=
                      NULL,
                  "quiet row: %s", t);
    buf_cleanup(&b);
    report_free(r);
    store_close(s);
}
END_TEST

START_TEST(report_csv_quotes_fields_with_commas_and_quotes)
{
    struct store *s = mem_store();
    struct report *r = NULL;
    struct err e = {0};
    struct buf b;

    add_ev(s, T0 + 10, "we\"ird,rule", "f", "firing", false);
    ck_assert_int_eq(report_compute(s, T0, T0 + DAY, 300, &r, &e), 0);
    buf_init(&b, 0);
    ck_assert_int_eq(report_format_csv(r, &b), 0);
    ck_assert_ptr_nonnull(strstr(buf_str(&b), "\r\n\"we\"\"ird,rule\",1,"));
    buf_cleanup(&b);
    report_free(r);
    store_close(s);
}
END_TEST

START_TEST(report_empty_history_gives_empty_rules_in_every_format)
{
    struct store *s = mem_store();
    struct report *r = NULL;
    struct err e = {0};
    struct buf b;
    cJSON *j = report_json(s, T0, T0 + 7 * DAY, 300);

    ck_assert(cJSON_IsArray(cJSON_GetObjectItem(j, "rules")));
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "rules")), 0);
    cJSON_Delete(j);
    ck_assert_int_eq(report_compute(s, T0, T0 + 7 * DAY, 300, &r, &e), 0);
    for (int f = REPORT_TEXT; f <= REPORT_HTML; f++) {
        buf_init(&b, 0);
        ck_assert_int_eq(report_format(r, (enum report_format)f, &b), 0);
        ck_assert_uint_gt(b.len, 0);
        buf_cleanup(&b);
    }
    report_free(r);
    store_close(s);
}
END_TEST

START_TEST(report_one_rule_still_firing_counts_up_to_until)
{
    struct store *s = mem_store();
    cJSON *j;
    const cJSON *r;

    add_ev(s, T0 + 1000, "disk_full", "d1", "firing", false);
    j = report_json(s, T0, T0 + 2 * DAY, 300);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "rules")), 1);
    r = rule_at(j, 0, "disk_full");
    ck_assert_double_eq(num(r, "fired"), 1);
    ck_assert_double_eq(num(r, "resolved"), 0);
    ck_assert_double_eq(num(r, "median_firing_seconds"), 2 * DAY - 1000);
    ck_assert_double_eq(num(r, "p90_firing_seconds"), 2 * DAY - 1000);
    ck_assert_double_eq(num(r, "short_lived"), 0);
    /* 1 firing over 2 days */
    ck_assert_double_eq_tol(num(r, "fires_per_day"), 0.5, 1e-9);
    cJSON_Delete(j);
    store_close(s);
}
END_TEST

/* Notifications without an event in the period: reminders of an alert
 * firing since before it (the rule is new to the report there: its table
 * grows while the row is counted), and an event's notification queued
 * long after its event, which counts in the event's period. */
START_TEST(report_counts_reminders_of_rules_without_events_and_by_event_time)
{
    struct store *s = mem_store();
    char rule[32], key[32];
    cJSON *j;
    int64_t id;

    id = add_ev(s, T0 - 500, "old", "o1", "firing", false);
    add_ob(s, "r0", id, "old", "event", OUTBOX_SENT, T0 - 500);
    add_ob(s, "r1", 0, "old", "repeat", OUTBOX_SENT, T0 + 100);
    add_ob(s, "r2", 0, "old", "repeat", OUTBOX_SENT, T0 + 200);
    j = report_json(s, T0, T0 + DAY, 300);
    ck_assert_double_eq(
        num(cJSON_GetObjectItem(rule_at(j, 0, "old"), "notifications"), "sent"),
        2);
    cJSON_Delete(j);
    /* 16 rules with events, then a 17th with reminders only. */
    for (int i = 0; i < 16; i++) {
        snprintf(rule, sizeof(rule), "r%02d", i);
        add_ev(s, T0 + 300 + i, rule, rule, "firing", false);
    }
    for (int i = 0; i < 3; i++) {
        snprintf(key, sizeof(key), "q%d", i);
        add_ob(s, key, 0, "late", "repeat", OUTBOX_SENT, T0 + 400 + i);
    }
    /* An event in the period whose notification was queued after it. */
    id = add_ev(s, T0 + 500, "replayed", "p1", "firing", false);
    add_ob(s, "p1", id, "replayed", "event", OUTBOX_SENT, T0 + 3 * DAY);
    j = report_json(s, T0, T0 + DAY, 300);
    for (int i = 0; i < cJSON_GetArraySize(cJSON_GetObjectItem(j, "rules"));
         i++) {
        const cJSON *r = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "rules"), i);
        const char *name = cJSON_GetObjectItem(r, "rule")->valuestring;
        double sent = num(cJSON_GetObjectItem(r, "notifications"), "sent");
        if (strcmp(name, "late") == 0)
            ck_assert_double_eq(sent, 3);
        else if (strcmp(name, "replayed") == 0 || strcmp(name, "old") == 0)
            ck_assert_double_eq(sent, strcmp(name, "old") == 0 ? 2 : 1);
    }
    cJSON_Delete(j);
    /* The replayed event's notification is not in the period it was
     * queued in. */
    j = report_json(s, T0 + 2 * DAY, T0 + 4 * DAY, 300);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "rules")), 0);
    cJSON_Delete(j);
    store_close(s);
}
END_TEST

/* An episode open at an until later than now counts up to now only; a
 * --short of 60.7 s holds exactly for a 60.7 s episode. */
START_TEST(report_open_episode_stops_at_now_and_short_is_inclusive)
{
    struct store *s = mem_store();
    double now = util_now();
    cJSON *j;
    const cJSON *r;

    add_ev(s, now - 100, "open", "o", "firing", false);
    j = report_json(s, now - 1000, now + 365 * DAY, 300);
    r = rule_at(j, 0, "open");
    ck_assert_double_le(num(r, "median_firing_seconds"), 100 + 60);
    ck_assert_double_ge(num(r, "median_firing_seconds"), 100);
    cJSON_Delete(j);
    add_ev(s, T0, "flap", "f", "firing", false);
    add_ev(s, T0 + 60.7, "flap", "f", "resolved", false);
    add_ev(s, T0 + 121.4, "flap", "f", "firing", false);
    add_ev(s, T0 + 130, "flap", "f", "resolved", false);
    j = report_json(s, T0 - 10, T0 + DAY, 60.7);
    r = rule_at(j, 0, "flap");
    ck_assert_double_eq(num(r, "short_lived"), 2);
    ck_assert_double_eq(num(r, "flapping"), 1);
    cJSON_Delete(j);
    store_close(s);
}
END_TEST

START_TEST(report_many_rules_sorted_by_score_then_fired_then_name)
{
    struct store *s = mem_store();
    cJSON *j;
    char name[32], fp[32];
    static const char *const order[] = {"r4", "r3", "r2", "r1", "a0", "b0"};

    /* rK fires K times, an hour apart, each lasting an hour (not short). */
    for (int k = 1; k <= 4; k++) {
        snprintf(name, sizeof(name), "r%d", k);
        for (int i = 0; i < k; i++) {
            snprintf(fp, sizeof(fp), "f%d", i);
            add_ev(s, T0 + i * 7200.0 + k, name, fp, "firing", false);
            add_ev(s, T0 + i * 7200.0 + 3600 + k, name, fp, "resolved", false);
        }
    }
    /* Two rules with events but no firing tie at 0: by name. */
    add_ev(s, T0 + 50, "b0", "x", "resolved", false);
    add_ev(s, T0 + 60, "a0", "y", "deescalated", false);
    j = report_json(s, T0, T0 + DAY, 300);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "rules")), 6);
    for (int i = 0; i < 6; i++)
        rule_at(j, i, order[i]);
    cJSON_Delete(j);
    store_close(s);
}
END_TEST

/* Equal scores from different counts, (6 + 2*1)/7 and (5 + 3*1)/7: the
 * same double, so the tie goes to `fired` as documented, whatever the
 * rounding of fires_per_day * (1 + 2 short_ratio + 3 flap_ratio). */
START_TEST(report_equal_scores_tie_on_fired)
{
    struct store *s = mem_store();
    cJSON *j;

    for (int i = 0; i < 6; i++) {
        add_ev(s, T0 + i * DAY, "a_six", "a", "firing", false);
        add_ev(s, T0 + i * DAY + (i == 0 ? 60 : 3600), "a_six", "a", "resolved",
               false);
    }
    add_ev(s, T0, "b_five", "b", "firing", false);
    add_ev(s, T0 + 3600, "b_five", "b", "resolved", false);
    add_ev(s, T0 + 3720, "b_five", "b", "firing", false); /* flapping */
    add_ev(s, T0 + 7320, "b_five", "b", "resolved", false);
    for (int i = 2; i < 5; i++) {
        add_ev(s, T0 + i * DAY, "b_five", "b", "firing", false);
        add_ev(s, T0 + i * DAY + 3600, "b_five", "b", "resolved", false);
    }
    j = report_json(s, T0, T0 + 7 * DAY, 300);
    ck_assert_double_eq(num(rule_at(j, 0, "a_six"), "short_lived"), 1);
    ck_assert_double_eq(num(rule_at(j, 1, "b_five"), "flapping"), 1);
    ck_assert_double_eq(num(rule_at(j, 0, "a_six"), "noise_score"),
                        num(rule_at(j, 1, "b_five"), "noise_score"));
    cJSON_Delete(j);
    store_close(s);
}
END_TEST

START_TEST(report_flapping_short_rule_outranks_more_frequent_steady_rule)
{
    struct store *s = mem_store();
    cJSON *j;

    /* steady: 6 one-hour firings; flap: 4 one-minute firings 2 min apart. */
    for (int i = 0; i < 6; i++) {
        add_ev(s, T0 + i * 7200.0, "steady", "s", "firing", false);
        add_ev(s, T0 + i * 7200.0 + 3600, "steady", "s", "resolved", false);
    }
    for (int i = 0; i < 4; i++) {
        add_ev(s, T0 + 100 + i * 180.0, "flap", "f", "firing", false);
        add_ev(s, T0 + 160 + i * 180.0, "flap", "f", "resolved", false);
    }
    j = report_json(s, T0, T0 + DAY, 300);
    rule_at(j, 0, "flap");
    rule_at(j, 1, "steady");
    ck_assert_double_eq(num(rule_at(j, 0, "flap"), "flapping"), 3);
    ck_assert_double_eq(num(rule_at(j, 0, "flap"), "short_lived"), 4);
    cJSON_Delete(j);
    store_close(s);
}
END_TEST

START_TEST(report_per_day_uses_utc_dates_across_midnight)
{
    struct store *s = mem_store();
    cJSON *j;
    const cJSON *pd;

    add_ev(s, T0 + DAY - 0.1, "m", "a", "firing", false);
    add_ev(s, T0 + DAY - 0.05, "m", "b", "firing", false);
    add_ev(s, T0 + DAY, "m", "c", "firing", false);
    add_ev(s, T0 + 2 * DAY + 3599, "m", "a", "firing", false);
    setenv("TZ", "America/Los_Angeles", 1); /* must not matter */
    tzset();
    j = report_json(s, T0, T0 + 3 * DAY, 300);
    pd = cJSON_GetObjectItem(rule_at(j, 0, "m"), "per_day");
    ck_assert_int_eq(cJSON_GetArraySize(pd), 3);
    ck_assert_double_eq(num(pd, "2026-01-01"), 2);
    ck_assert_double_eq(num(pd, "2026-01-02"), 1);
    ck_assert_double_eq(num(pd, "2026-01-03"), 1);
    cJSON_Delete(j);
    store_close(s);
}
END_TEST

START_TEST(report_short_option_changes_short_lived_and_flapping)
{
    struct store *s = week_store();
    cJSON *j = report_json(s, T0, T0 + 7 * DAY, 30);
    const cJSON *r = rule_at(j, 0, "flappy");

    ck_assert_double_eq(num(r, "short_lived"), 0);
    ck_assert_double_eq(num(r, "flapping"), 0);
    cJSON_Delete(j);
    j = report_json(s, T0, T0 + 7 * DAY, 3600);
    r = rule_at(j, 0, "flappy");
    ck_assert_double_eq(num(r, "short_lived"), 4);
    ck_assert_double_eq(num(r, "flapping"), 3);
    cJSON_Delete(j);
    store_close(s);
}
END_TEST

START_TEST(report_since_after_until_is_an_error)
{
    struct store *s = mem_store();
    struct report *r = NULL;
    struct err e = {0};

    ck_assert_int_eq(report_compute(s, T0 + 10, T0, 300, &r, &e), -1);
    ck_assert_ptr_null(r);
    ck_assert(e.set);
    store_close(s);
}
END_TEST

START_TEST(report_quantile_interpolates_like_prometheus)
{
    double v[] = {4, 1, 3, 2};
    double one[] = {7};

    ck_assert_double_eq_tol(report_quantile(v, 4, 0.9), 3.7, 1e-12);
    ck_assert_double_eq_tol(report_quantile(v, 4, 0.5), 2.5, 1e-12);
    ck_assert_double_eq(report_quantile(v, 4, 0), 1);
    ck_assert_double_eq(report_quantile(v, 4, 1), 4);
    ck_assert_double_eq(report_quantile(one, 1, 0.9), 7);
    ck_assert_double_eq(report_quantile(NULL, 0, 0.5), 0);
}
END_TEST

START_TEST(report_noisy_flag_needs_three_firings_and_a_threshold)
{
    struct report_rule rr;

    memset(&rr, 0, sizeof(rr));
    rr.fired = 2;
    rr.flapping = 2;
    report_rule_score(&rr, 1);
    ck_assert(!rr.noisy); /* too few firings */
    rr.fired = 10;
    rr.short_lived = 6;
    rr.flapping = 0;
    report_rule_score(&rr, 7);
    ck_assert(rr.noisy);
    ck_assert_ptr_nonnull(strstr(rr.suggestion, "for"));
    ck_assert_double_eq_tol(rr.noise_score, 10.0 / 7 * (1 + 1.2), 1e-9);
    rr.fired = 70;
    rr.short_lived = 0;
    report_rule_score(&rr, 7);
    ck_assert(rr.noisy);
    ck_assert_ptr_nonnull(strstr(rr.suggestion, "threshold"));
    rr.fired = 20;
    report_rule_score(&rr, 7);
    ck_assert(!rr.noisy); /* 2.9/day, steady */
}
END_TEST

START_TEST(report_text_and_markdown_show_table_and_suggestions)
{
    struct store *s = week_store();
    struct report *r = NULL;
    struct err e = {0};
    struct buf b;
    const char *t;

    ck_assert_int_eq(report_compute(s, T0, T0 + 7 * DAY, 300, &r, &e), 0);
    buf_init(&b, 0);
    ck_assert_int_eq(report_format_text(r, &b), 0);
    t = buf_str(&b);
    ck_assert_ptr_nonnull(strstr(t, "tocsin noisy-alert report, 2026-01-01 "
                                    "to 2026-01-08"));
    ck_assert_ptr_nonnull(strstr(t, "RULE    FIRED  ESC  RES  SERIES"));
    ck_assert_ptr_nonnull(strstr(t, "5m30s")); /* flappy's median 330s */
    ck_assert_ptr_nonnull(strstr(t, "flappy: flapping"));
    /* flappy row comes before steady row */
    ck_assert(strstr(t, "\nflappy ") != NULL &&
              strstr(t, "\nflappy ") < strstr(t, "\nsteady "));
    buf_reset(&b);
    ck_assert_int_eq(report_format_markdown(r, &b), 0);
    t = buf_str(&b);
    ck_assert_ptr_nonnull(strstr(t, "| RULE | FIRED |"));
    ck_assert_ptr_nonnull(strstr(t, "| **flappy** | 4 | 1 | 4 |"));
    ck_assert_ptr_nonnull(strstr(t, "- **flappy**: flapping"));
    buf_cleanup(&b);
    report_free(r);
    store_close(s);
}
END_TEST

/* The HTML report of s over [since, until] into b (initialised here). */
static const char *html_of(struct store *s, double since, double until,
                           struct buf *b)
{
    struct report *r = NULL;
    struct err e = {0};

    ck_assert_int_eq(report_compute(s, since, until, 300, &r, &e), 0);
    buf_init(b, 0);
    ck_assert_int_eq(report_format_html(r, b), 0);
    report_free(r);
    return buf_str(b);
}

START_TEST(report_html_escapes_names_and_draws_one_series_per_rule)
{
    struct store *s = mem_store();
    struct buf b;
    const char *t, *p;
    int n = 0;

    add_ev(s, T0 + 10, "<script>alert(1)</script>", "f", "firing", false);
    add_ev(s, T0 + DAY + 10, "b&b", "g", "firing", false);
    t = html_of(s, T0, T0 + 3 * DAY, &b);
    ck_assert_ptr_null(strstr(t, "<script>"));
    ck_assert_ptr_nonnull(strstr(t, "&lt;script&gt;"));
    ck_assert_ptr_nonnull(strstr(t, "b&amp;b"));
    ck_assert_ptr_nonnull(strstr(t, "<svg"));
    ck_assert_ptr_nonnull(strstr(t, "2026-01-02"));
    for (p = t; (p = strstr(p, "<g class=\"series\"")) != NULL; p++)
        n++;
    ck_assert_int_eq(n, 2);
    ck_assert_ptr_null(strstr(t, "src="));
    ck_assert_ptr_null(strstr(t, "href="));
    buf_cleanup(&b);
    /* A firing exactly at an until of midnight is in the period: its day
     * is drawn (a dot per day with firings: that day and the one before). */
    add_ev(s, T0 + 2 * DAY, "b&b", "g2", "firing", false);
    t = html_of(s, T0, T0 + 2 * DAY, &b);
    n = 0;
    for (p = strstr(t, "b&amp;b"); p && (p = strstr(p, "<circle")) != NULL &&
                                   p < strstr(strstr(t, "b&amp;b"), "</g>");
         p++)
        n++;
    ck_assert_int_eq(n, 2);
    ck_assert_ptr_nonnull(strstr(t, "2026-01-03"));
    buf_cleanup(&b);
    store_close(s);
}
END_TEST

/* A period of over 400 days charts the newest 400 days with firings: the
 * latest ones are what a reader looks for. */
START_TEST(report_html_long_period_charts_the_newest_days)
{
    struct store *s = mem_store();
    struct buf b;
    const char *t, *p;
    int n = 0;

    add_ev(s, T0 - 700 * DAY + 10, "r", "f", "firing", false);
    add_ev(s, T0 - 10 * DAY + 10, "r", "f", "firing", false);
    add_ev(s, T0 - 2 * DAY + 10, "r", "f", "firing", false);
    t = html_of(s, T0 - 800 * DAY, T0, &b);
    for (p = t; (p = strstr(p, "<circle")) != NULL; p++)
        n++;
    ck_assert_int_eq(n, 2); /* the two newest days, not the oldest */
    ck_assert_ptr_nonnull(strstr(t, "<circle"));
    buf_cleanup(&b);
    store_close(s);
}
END_TEST

START_TEST(report_payload_holds_every_rendering_and_the_json_object)
{
    struct store *s = week_store();
    struct err e = {0};
    char *p = NULL;
    cJSON *j, *rep;

    ck_assert_int_eq(report_build_payload(s, T0, T0 + 7 * DAY, 300, &p, &e), 0);
    j = cJSON_Parse(p);
    ck_assert_ptr_nonnull(j);
    rep = cJSON_GetObjectItemCaseSensitive(j, "report");
    ck_assert_str_eq(cJSON_GetObjectItem(rep, "title")->valuestring,
                     "tocsin noisy-alert report, 2026-01-01 to 2026-01-08");
    ck_assert(cJSON_IsString(cJSON_GetObjectItem(rep, "text")));
    ck_assert(cJSON_IsString(cJSON_GetObjectItem(rep, "markdown")));
    ck_assert_ptr_nonnull(
        strstr(cJSON_GetObjectItem(rep, "html")->valuestring, "<svg"));
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(
                         cJSON_GetObjectItem(rep, "json"), "rules")),
                     3);
    cJSON_Delete(j);
    free(p);
    store_close(s);
}
END_TEST

START_TEST(report_format_names_parse)
{
    enum report_format f;

    ck_assert_int_eq(report_format_parse("html", &f), 0);
    ck_assert_int_eq(f, REPORT_HTML);
    ck_assert_int_eq(report_format_parse("md", &f), 0);
    ck_assert_int_eq(f, REPORT_MARKDOWN);
    ck_assert_int_eq(report_format_parse("xml", &f), -1);
}
END_TEST

/* --- schedule ------------------------------------------------------------ */

#define MON_0105_0900_UTC 1767603600.0   /* Mon 2026-01-05 09:00 UTC */
#define MON_0323_0900_PARIS 1774252800.0 /* CET, 08:00 UTC */
#define MON_0330_0900_PARIS 1774854000.0 /* CEST (DST since 29 March) */
#define MON_1019_0900_PARIS 1792393200.0 /* CEST */
#define MON_1026_0900_PARIS 1793001600.0 /* CET (DST ended 25 October) */
#define WEEK (7 * DAY)

static void set_tz(const char *tz)
{
    setenv("TZ", tz, 1);
    tzset();
}

static struct report_cfg weekly_mon_0900(void)
{
    struct report_cfg rc = {.present = true,
                            .every = WEEK,
                            .at_wday = 1,
                            .at_minute = 9 * 60,
                            .since = WEEK};
    return rc;
}

START_TEST(schedule_weekly_monday_0900_utc_slots)
{
    struct report_cfg rc = weekly_mon_0900();
    const double m = MON_0105_0900_UTC;
    double next;

    set_tz("UTC");
    ck_assert_double_eq(report_schedule_prev_slot(&rc, m), m);
    ck_assert_double_eq(report_schedule_prev_slot(&rc, m + 60), m);
    ck_assert_double_eq(report_schedule_prev_slot(&rc, m - 1), m - WEEK);
    ck_assert_double_eq(report_schedule_next_slot(&rc, m - 1), m);
    ck_assert_double_eq(report_schedule_next_slot(&rc, m), m + WEEK);
    /* Sent last week: due once Monday 09:00 has passed, not before. */
    ck_assert(!report_schedule_due(&rc, m - 10, m - WEEK + 30, &next));
    ck_assert_double_eq(next, m);
    ck_assert(report_schedule_due(&rc, m + 10, m - WEEK + 30, &next));
    ck_assert_double_eq(next, m + WEEK);
    /* Never sent: due at once. */
    ck_assert(report_schedule_due(&rc, m + 3 * DAY, -1, NULL));
}
END_TEST

START_TEST(schedule_weekly_monday_0900_paris_is_local_time)
{
    struct report_cfg rc = weekly_mon_0900();

    set_tz("Europe/Paris");
    ck_assert_double_eq(
        report_schedule_next_slot(&rc, MON_0323_0900_PARIS - 3 * DAY),
        MON_0323_0900_PARIS);
    ck_assert_double_eq(
        report_schedule_prev_slot(&rc, MON_0323_0900_PARIS + 4 * DAY),
        MON_0323_0900_PARIS);
    /* 09:00 Paris is not 09:00 UTC */
    ck_assert_double_ne(report_schedule_next_slot(&rc, MON_0105_0900_UTC - 1),
                        MON_0105_0900_UTC);
}
END_TEST

START_TEST(schedule_keeps_0900_local_across_dst_changes)
{
    struct report_cfg rc = weekly_mon_0900();
    double next;

    set_tz("Europe/Paris");
    /* Spring forward: the week is one hour short. */
    ck_assert_double_eq(report_schedule_next_slot(&rc, MON_0323_0900_PARIS),
                        MON_0330_0900_PARIS);
    ck_assert_double_eq(MON_0330_0900_PARIS - MON_0323_0900_PARIS, WEEK - 3600);
    ck_assert(!report_schedule_due(&rc, MON_0330_0900_PARIS - 1,
                                   MON_0323_0900_PARIS + 5, &next));
    ck_assert_double_eq(next, MON_0330_0900_PARIS);
    ck_assert(report_schedule_due(&rc, MON_0330_0900_PARIS + 1,
                                  MON_0323_0900_PARIS + 5, NULL));
    /* Fall back: one hour long. */
    ck_assert_double_eq(report_schedule_next_slot(&rc, MON_1019_0900_PARIS),
                        MON_1026_0900_PARIS);
    ck_assert_double_eq(report_schedule_prev_slot(&rc, MON_1026_0900_PARIS - 1),
                        MON_1019_0900_PARIS);
}
END_TEST

START_TEST(schedule_every_two_weeks_skips_every_other_monday)
{
    struct report_cfg rc = weekly_mon_0900();
    const double m = MON_0105_0900_UTC;
    double next;

    set_tz("UTC");
    rc.every = 2 * WEEK;
    ck_assert(!report_schedule_due(&rc, m + WEEK + 10, m + 20, &next));
    ck_assert_double_eq(next, m + 2 * WEEK);
    ck_assert(report_schedule_due(&rc, m + 2 * WEEK + 10, m + 20, NULL));
}
END_TEST

START_TEST(schedule_daily_and_plain_interval_slots)
{
    struct report_cfg daily = {
        .every = DAY, .at_wday = -1, .at_minute = 9 * 60};
    struct report_cfg plain = {.every = DAY, .at_wday = -1, .at_minute = -1};

    set_tz("UTC");
    ck_assert_double_eq(report_schedule_prev_slot(&daily, T0 + 8 * 3600),
                        T0 - DAY + 9 * 3600);
    ck_assert_double_eq(report_schedule_next_slot(&daily, T0 + 8 * 3600),
                        T0 + 9 * 3600);
    ck_assert_double_eq(report_schedule_prev_slot(&plain, T0 + 5000), T0);
    ck_assert_double_eq(report_schedule_next_slot(&plain, T0 + 5000), T0 + DAY);
    /* A late send (the daemon was down) does not delay the next period. */
    ck_assert(
        !report_schedule_due(&daily, T0 + 20 * 3600, T0 + 15 * 3600, NULL));
    ck_assert(report_schedule_due(&daily, T0 + DAY + 9 * 3600 + 1,
                                  T0 + 15 * 3600, NULL));
}
END_TEST

START_TEST(schedule_sends_once_per_period_across_a_restart)
{
    char path[] = "/tmp/check_report_sched_XXXXXX";
    char db[64];
    struct report_cfg rc = weekly_mon_0900();
    const double m = MON_0105_0900_UTC;
    struct err e = {0};
    struct store *s;
    bool due = false;
    double next = 0, last = 0;

    set_tz("UTC");
    ck_assert_ptr_nonnull(mkdtemp(path));
    snprintf(db, sizeof(db), "%s/t.db", path);
    s = store_open(db, STORE_RW, &e);
    ck_assert_msg(s != NULL, "%s", e.msg);
    ck_assert_int_eq(report_schedule_last_sent(s, &last, &e), 0);
    ck_assert_double_eq(last, -1);
    ck_assert_int_eq(report_schedule_check(s, &rc, m + 60, &due, &next, &e), 0);
    ck_assert(due);
    ck_assert_int_eq(report_schedule_mark_sent(s, m + 60, &e), 0);
    store_close(s);

    /* Restart later the same week: not due again. */
    s = store_open(db, STORE_RW, &e);
    ck_assert_msg(s != NULL, "%s", e.msg);
    ck_assert_int_eq(report_schedule_check(s, &rc, m + 3600, &due, &next, &e),
                     0);
    ck_assert(!due);
    ck_assert_double_eq(next, m + WEEK);
    ck_assert_int_eq(
        report_schedule_check(s, &rc, m + 5 * DAY, &due, &next, &e), 0);
    ck_assert(!due);
    ck_assert_int_eq(
        report_schedule_check(s, &rc, m + WEEK + 1, &due, &next, &e), 0);
    ck_assert(due);
    store_close(s);
    unlink(db);
    snprintf(db, sizeof(db), "%s/t.db-wal", path);
    unlink(db);
    snprintf(db, sizeof(db), "%s/t.db-shm", path);
    unlink(db);
    rmdir(path);
}
END_TEST

Suite *report_suite(void)
{
    Suite *s = suite_create("report");
    TCase *tc = tcase_create("report");

    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, report_json_counts_every_figure_of_a_known_week);
    tcase_add_test(tc, report_csv_has_header_and_one_quoted_row_per_rule);
    tcase_add_test(tc, report_csv_quotes_fields_with_commas_and_quotes);
    tcase_add_test(tc, report_empty_history_gives_empty_rules_in_every_format);
    tcase_add_test(tc, report_one_rule_still_firing_counts_up_to_until);
    tcase_add_test(tc, report_open_episode_stops_at_now_and_short_is_inclusive);
    tcase_add_test(
        tc, report_counts_reminders_of_rules_without_events_and_by_event_time);
    tcase_add_test(tc, report_many_rules_sorted_by_score_then_fired_then_name);
    tcase_add_test(
        tc, report_flapping_short_rule_outranks_more_frequent_steady_rule);
    tcase_add_test(tc, report_equal_scores_tie_on_fired);
    tcase_add_test(tc, report_per_day_uses_utc_dates_across_midnight);
    tcase_add_test(tc, report_short_option_changes_short_lived_and_flapping);
    tcase_add_test(tc, report_since_after_until_is_an_error);
    tcase_add_test(tc, report_quantile_interpolates_like_prometheus);
    tcase_add_test(tc, report_noisy_flag_needs_three_firings_and_a_threshold);
    tcase_add_test(tc, report_text_and_markdown_show_table_and_suggestions);
    tcase_add_test(tc, report_html_escapes_names_and_draws_one_series_per_rule);
    tcase_add_test(tc, report_html_long_period_charts_the_newest_days);
    tcase_add_test(tc,
                   report_payload_holds_every_rendering_and_the_json_object);
    tcase_add_test(tc, report_format_names_parse);
    tcase_add_test(tc, schedule_weekly_monday_0900_utc_slots);
    tcase_add_test(tc, schedule_weekly_monday_0900_paris_is_local_time);
    tcase_add_test(tc, schedule_keeps_0900_local_across_dst_changes);
    tcase_add_test(tc, schedule_every_two_weeks_skips_every_other_monday);
    tcase_add_test(tc, schedule_daily_and_plain_interval_slots);
    tcase_add_test(tc, schedule_sends_once_per_period_across_a_restart);
    suite_add_tcase(s, tc);
    return s;
}
