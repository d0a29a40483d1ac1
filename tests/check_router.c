/* check_router.c - tests for notifiers/router.c: route selection (first
 * match, continue, defaults), the heard set, send_resolved / events /
 * cooldown filters, silences, repeat reminders and idempotency keys. Each
 * test builds a config with config_load_buf and an in-memory store. */
#include <check.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/buf.h"
#include "../common/labels.h"
#include "../common/util.h"
#include "../notifiers/dispatch.h"
#include "../notifiers/router.h"
#include "../rules/config.h"
#include "../rules/event.h"
#include "../rules/pipeline.h"
#include "../store/store.h"

#define T0 1767225600.0

struct fixture {
    struct config *cfg;
    struct store *s;
    struct router *r;
};

static struct config *load_cfg(const char *yaml)
{
    struct cfg_diag d;
    struct config *c;

    cfg_diag_init(&d, "test.yaml");
    c = config_load_buf(yaml, strlen(yaml), "test.yaml", ".", &d);
    if (c == NULL) {
        for (size_t i = 0; i < d.nmsgs; i++)
            fprintf(stderr, "%s\n", d.msgs[i]);
    }
    cfg_diag_cleanup(&d);
    ck_assert_ptr_nonnull(c);
    return c;
}

static void fx_open(struct fixture *f, const char *yaml)
{
    struct err e = {0};

    f->cfg = load_cfg(yaml);
    f->s = store_open(":memory:", STORE_RW, &e);
    ck_assert_msg(f->s != NULL, "store_open: %s", e.msg);
    f->r = router_new(f->cfg);
    ck_assert_ptr_nonnull(f->r);
}

/* Run the fixture's router on another config, as a reload does. */
static void fx_reload(struct fixture *f, const char *yaml)
{
    struct config *next = load_cfg(yaml);

    router_free(f->r);
    config_free(f->cfg);
    f->cfg = next;
    f->r = router_new(f->cfg);
}

/* A silence from starts to ends. */
static void fx_silence_at(struct fixture *f, const char *matchers,
                          const char *comment, double starts, double ends)
{
    struct err e = {0};
    struct store_silence si = {0};

    si.matchers = matchers;
    si.starts = starts;
    si.ends = ends;
    si.comment = comment;
    si.created_by = "test";
    ck_assert_int_eq(store_silence_add(f->s, &si, NULL, &e), 0);
    router_silences_changed(f->r);
}

/* A silence from T0 - 10 s to T0 + 1 h. */
static void fx_silence(struct fixture *f, const char *matchers,
                       const char *comment)
{
    fx_silence_at(f, matchers, comment, T0 - 10, T0 + 3600);
}

static void fx_close(struct fixture *f)
{
    router_free(f->r);
    store_close(f->s);
    config_free(f->cfg);
}

/* Record one event of rule "api" (labels service=api, alertname=api) in
 * its own transaction. Returns the number of pending rows. */
static int fx_event(struct fixture *f, double ts, enum event_kind kind,
                    enum severity sev, enum severity prev, double starts)
{
    static const struct label labels[] = {
        {"service", "api"},
        {"alertname", "api"},
    };
    struct alert_event ev;
    struct err e = {0};
    struct buf b;
    int n = -1;

    memset(&ev, 0, sizeof(ev));
    ev.ts = ts;
    ev.rule = "api";
    ev.labels = labels;
    ev.nlabels = 2;
    ev.kind = kind;
    ev.severity = sev;
    ev.previous = prev;
    ev.has_value = true;
    ev.value = 512.5;
    ev.reason = REASON_THRESHOLD;
    labels_fingerprint("api", labels, 2, ev.fingerprint);
    ev.starts_at = starts;
    buf_init(&b, 0);
    ck_assert_int_eq(event_to_json(&ev, &b), 0);
    ck_assert_int_eq(store_begin(f->s, &e), 0);
    ck_assert_msg(router_record(f->r, f->s, &ev, buf_str(&b), ts, &n, &e) == 0,
                  "router_record: %s", e.msg);
    ck_assert_int_eq(store_commit(f->s, &e), 0);
    buf_cleanup(&b);
    return n;
}

struct pending_ids {
    int64_t v[64];
    size_t n;
};

static int collect_pending(void *ctx, const struct outbox_row *o)
{
    struct pending_ids *p = ctx;

    ck_assert_uint_lt(p->n, 64);
    p->v[p->n++] = o->id;
    return 0;
}

/* Reminders due at now, the outbox left as it is. */
static int fx_repeats_pending(struct fixture *f, double now)
{
    struct err e = {0};
    int n = -1;

    ck_assert_int_eq(store_begin(f->s, &e), 0);
    ck_assert_msg(router_repeats(f->r, f->s, now, &n, &e) == 0,
                  "router_repeats: %s", e.msg);
    ck_assert_int_eq(store_commit(f->s, &e), 0);
    return n;
}

/* Reminders due at now, with every notification queued so far delivered
 * first, as a running dispatcher would have (a reminder does not queue
 * behind an undelivered notification). */
static int fx_repeats(struct fixture *f, double now)
{
    struct pending_ids p = {.n = 0};
    struct err e = {0};

    ck_assert_int_eq(store_outbox_pending(f->s, 0, collect_pending, &p, &e), 0);
    ck_assert_int_eq(store_begin(f->s, &e), 0);
    for (size_t i = 0; i < p.n; i++)
        ck_assert_int_eq(store_outbox_update(f->s, p.v[i], OUTBOX_SENT, 1, 0,
                                             NULL, 200, now, &e),
                         0);
    ck_assert_int_eq(store_commit(f->s, &e), 0);
    return fx_repeats_pending(f, now);
}

/* The outbox as "receiver:status:kind" lines, in id order. */
struct rows {
    char text[4096];
    char keys[32][40];
    size_t n;
};

static int rows_cb(void *ctx, const struct outbox_row *o)
{
    struct rows *r = ctx;
    size_t len = strlen(r->text);

    snprintf(r->text + len, sizeof(r->text) - len, "%s%s:%s:%s", len ? " " : "",
             o->receiver, outbox_status_name(o->status), o->kind);
    if (r->n < 32)
        snprintf(r->keys[r->n], sizeof(r->keys[0]), "%s", o->key);
    r->n++;
    return 0;
}

static const char *fx_rows(struct fixture *f, struct rows *r)
{
    struct err e = {0};

    memset(r, 0, sizeof(*r));
    ck_assert_int_eq(store_outbox_foreach(f->s, 0, rows_cb, r, &e), 0);
    return r->text;
}

struct hist {
    int n, silenced;
};

static int hist_cb(void *ctx, const struct store_event *ev)
{
    struct hist *h = ctx;

    h->n++;
    h->silenced += ev->silenced ? 1 : 0;
    return 0;
}

static int alert_count_cb(void *ctx, const struct store_alert *a)
{
    (void)a;
    (*(int *)ctx)++;
    return 0;
}

#define NOTIFIERS                                                              \
    "notifiers:\n"                                                             \
    "  mail: {type: log}\n"                                                    \
    "  chat: {type: log}\n"                                                    \
    "  audit: {type: log}\n"

START_TEST(first_matching_route_wins)
{
    struct fixture f;
    struct rows r;

    fx_open(&f, NOTIFIERS "routes:\n"
                          "  - match: {severity: critical}\n"
                          "    notify: [mail]\n"
                          "  - match: {alertname: api}\n"
                          "    notify: [chat]\n");
    ck_assert_int_eq(fx_event(&f, T0, EV_FIRING, SEV_CRITICAL, SEV_OK, T0), 1);
    ck_assert_str_eq(fx_rows(&f, &r), "mail:pending:event");
    fx_close(&f);
}
END_TEST

START_TEST(continue_true_also_notifies_later_matching_routes)
{
    struct fixture f;
    struct rows r;

    fx_open(&f, NOTIFIERS
            "routes:\n"
            "  - match: {severity: critical}\n"
            "    notify: [mail]\n"
            "    continue: true\n"
            "  - match: {alertname: api, severity: \"~warning|critical\"}\n"
            "    notify: [chat, mail]\n"
            "  - match: {alertname: api}\n"
            "    notify: [audit]\n");
    ck_assert_int_eq(fx_event(&f, T0, EV_FIRING, SEV_CRITICAL, SEV_OK, T0), 2);
    /* mail once (deduplicated), chat once; audit's route comes after a
     * match without continue. */
    ck_assert_str_eq(fx_rows(&f, &r), "mail:pending:event chat:pending:event");
    fx_close(&f);
}
END_TEST

START_TEST(unmatched_event_goes_to_default_notify)
{
    struct fixture f;
    struct rows r;

    fx_open(&f, NOTIFIERS "defaults: {notify: [audit]}\n"
                          "routes:\n"
                          "  - match: {severity: critical}\n"
                          "    notify: [mail]\n");
    ck_assert_int_eq(fx_event(&f, T0, EV_FIRING, SEV_WARNING, SEV_OK, T0), 1);
    ck_assert_str_eq(fx_rows(&f, &r), "audit:pending:event");
    fx_close(&f);
}
END_TEST

/* A matching route without notify hands its events to defaults.notify,
 * as an Alertmanager route without a receiver uses its parent's; an
 * explicit `notify: []` drops them (recorded only). */
START_TEST(route_without_notify_uses_default_notify)
{
    struct fixture f;
    struct rows r;

    fx_open(&f, NOTIFIERS "defaults: {notify: [audit]}\n"
                          "routes:\n"
                          "  - match: {severity: warning}\n"
                          "    repeat_interval: 12h\n"
                          "  - match: {alertname: api}\n"
                          "    notify: [mail]\n");
    ck_assert_int_eq(fx_event(&f, T0, EV_FIRING, SEV_WARNING, SEV_OK, T0), 1);
    ck_assert_str_eq(fx_rows(&f, &r), "audit:pending:event");
    fx_close(&f);

    fx_open(&f, NOTIFIERS "defaults: {notify: [audit]}\n"
                          "routes:\n"
                          "  - match: {severity: warning}\n"
                          "    notify: []\n"
                          "  - match: {alertname: api}\n"
                          "    notify: [mail]\n");
    ck_assert_int_eq(fx_event(&f, T0, EV_FIRING, SEV_WARNING, SEV_OK, T0), 0);
    ck_assert_str_eq(fx_rows(&f, &r), "");
    fx_close(&f);
}
END_TEST

START_TEST(unmatched_event_without_default_is_only_recorded)
{
    struct fixture f;
    struct rows r;
    struct hist h = {0};
    struct err e = {0};
    int alerts = 0;

    fx_open(&f, NOTIFIERS "routes:\n"
                          "  - match: {severity: critical}\n"
                          "    notify: [mail]\n");
    ck_assert_int_eq(fx_event(&f, T0, EV_FIRING, SEV_WARNING, SEV_OK, T0), 0);
    ck_assert_str_eq(fx_rows(&f, &r), "");
    ck_assert_int_eq(store_events_foreach(f.s, 0, NULL, hist_cb, &h, &e), 0);
    ck_assert_int_eq(h.n, 1);
    ck_assert_int_eq(store_alerts_foreach(f.s, alert_count_cb, &alerts, &e), 0);
    ck_assert_int_eq(alerts, 1);
    fx_close(&f);
}
END_TEST

START_TEST(receiver_that_heard_critical_hears_deescalation_and_resolution)
{
    struct fixture f;
    struct rows r;
    struct err e = {0};
    int alerts = 0;

    fx_open(&f, NOTIFIERS "routes:\n"
                          "  - match: {severity: critical}\n"
                          "    notify: [mail]\n"
                          "  - match: {severity: warning}\n"
                          "    notify: [chat]\n");
    ck_assert_int_eq(fx_event(&f, T0, EV_FIRING, SEV_CRITICAL, SEV_OK, T0), 1);
    ck_assert_int_eq(
        fx_event(&f, T0 + 60, EV_DEESCALATED, SEV_WARNING, SEV_CRITICAL, T0),
        2);
    ck_assert_int_eq(
        fx_event(&f, T0 + 120, EV_RESOLVED, SEV_OK, SEV_WARNING, T0), 2);
    ck_assert_str_eq(fx_rows(&f, &r),
                     "mail:pending:event chat:pending:event mail:pending:event "
                     "chat:pending:event mail:pending:event");
    /* Resolved: no current alert left, and the heard set is forgotten, so
     * a new warning episode goes to chat only. */
    ck_assert_int_eq(store_alerts_foreach(f.s, alert_count_cb, &alerts, &e), 0);
    ck_assert_int_eq(alerts, 0);
    ck_assert_int_eq(
        fx_event(&f, T0 + 600, EV_FIRING, SEV_WARNING, SEV_OK, T0 + 600), 1);
    fx_close(&f);
}
END_TEST

START_TEST(send_resolved_false_receiver_gets_no_resolved_event)
{
    struct fixture f;
    struct rows r;

    fx_open(&f, "notifiers:\n"
                "  mail: {type: log, send_resolved: false}\n"
                "  chat: {type: log}\n"
                "routes:\n"
                "  - match: {alertname: api}\n"
                "    notify: [mail, chat]\n");
    ck_assert_int_eq(fx_event(&f, T0, EV_FIRING, SEV_CRITICAL, SEV_OK, T0), 2);
    ck_assert_int_eq(
        fx_event(&f, T0 + 60, EV_RESOLVED, SEV_OK, SEV_CRITICAL, T0), 1);
    ck_assert_str_eq(
        fx_rows(&f, &r),
        "mail:pending:event chat:pending:event chat:pending:event");
    fx_close(&f);
}
END_TEST

START_TEST(events_filter_limits_the_kinds_a_receiver_gets)
{
    struct fixture f;
    struct rows r;

    fx_open(&f, "notifiers:\n"
                "  scale: {type: log, events: [firing, escalated]}\n"
                "routes:\n"
                "  - match: {alertname: api}\n"
                "    notify: [scale]\n");
    ck_assert_int_eq(fx_event(&f, T0, EV_FIRING, SEV_WARNING, SEV_OK, T0), 1);
    ck_assert_int_eq(
        fx_event(&f, T0 + 60, EV_ESCALATED, SEV_CRITICAL, SEV_WARNING, T0), 1);
    ck_assert_int_eq(
        fx_event(&f, T0 + 120, EV_DEESCALATED, SEV_WARNING, SEV_CRITICAL, T0),
        0);
    ck_assert_int_eq(
        fx_event(&f, T0 + 180, EV_RESOLVED, SEV_OK, SEV_WARNING, T0), 0);
    ck_assert_str_eq(fx_rows(&f, &r),
                     "scale:pending:event scale:pending:event");
    fx_close(&f);
}
END_TEST

START_TEST(cooldown_records_events_inside_the_period_as_skipped)
{
    struct fixture f;
    struct rows r;

    fx_open(&f, "notifiers:\n"
                "  scale: {type: log, cooldown: 10m}\n"
                "routes:\n"
                "  - match: {alertname: api}\n"
                "    notify: [scale]\n");
    ck_assert_int_eq(fx_event(&f, T0, EV_FIRING, SEV_WARNING, SEV_OK, T0), 1);
    ck_assert_int_eq(
        fx_event(&f, T0 + 60, EV_ESCALATED, SEV_CRITICAL, SEV_WARNING, T0), 0);
    ck_assert_int_eq(
        fx_event(&f, T0 + 700, EV_DEESCALATED, SEV_WARNING, SEV_CRITICAL, T0),
        1);
    ck_assert_str_eq(fx_rows(&f, &r), "scale:pending:event scale:skipped:event "
                                      "scale:pending:event");
    fx_close(&f);
}
END_TEST

START_TEST(cooldown_holds_across_a_resolve_and_refire)
{
    struct fixture f;
    struct rows r;

    fx_open(&f, "notifiers:\n"
                "  scale: {type: log, cooldown: 10m}\n"
                "routes:\n"
                "  - match: {alertname: api}\n"
                "    notify: [scale]\n");
    ck_assert_int_eq(fx_event(&f, T0, EV_FIRING, SEV_WARNING, SEV_OK, T0), 1);
    /* Resolved within the period: the route does not match "ok"; the
     * receiver heard the alert, the cooldown still applies. */
    ck_assert_int_eq(
        fx_event(&f, T0 + 180, EV_RESOLVED, SEV_OK, SEV_WARNING, T0), 0);
    /* A flapping re-fire 4 minutes after the first delivery: skipped. */
    ck_assert_int_eq(
        fx_event(&f, T0 + 240, EV_FIRING, SEV_WARNING, SEV_OK, T0 + 240), 0);
    /* Past the period: delivered again. */
    ck_assert_int_eq(fx_event(&f, T0 + 700, EV_ESCALATED, SEV_CRITICAL,
                              SEV_WARNING, T0 + 240),
                     1);
    ck_assert_str_eq(fx_rows(&f, &r),
                     "scale:pending:event scale:skipped:event "
                     "scale:skipped:event scale:pending:event");
    fx_close(&f);
}
END_TEST

/* A receiver that heard the alert and whose "resolved" the cooldown held
 * back still follows it: the next episode's "resolved", outside the
 * period, reaches it, so it does not believe the alert firing for ever. */
START_TEST(cooldown_keeps_a_receiver_not_told_of_the_resolve)
{
    struct fixture f;
    struct rows r;

    fx_open(&f, "notifiers:\n"
                "  scale: {type: log, cooldown: 10m}\n"
                "routes:\n"
                "  - match: {severity: warning}\n"
                "    notify: [scale]\n");
    ck_assert_int_eq(fx_event(&f, T0, EV_FIRING, SEV_WARNING, SEV_OK, T0), 1);
    ck_assert_int_eq(
        fx_event(&f, T0 + 120, EV_RESOLVED, SEV_OK, SEV_WARNING, T0), 0);
    ck_assert_int_eq(
        fx_event(&f, T0 + 180, EV_FIRING, SEV_WARNING, SEV_OK, T0 + 180), 0);
    ck_assert_int_eq(
        fx_event(&f, T0 + 900, EV_RESOLVED, SEV_OK, SEV_WARNING, T0 + 180), 1);
    /* That one was told: the episode after it starts afresh. */
    ck_assert_int_eq(
        fx_event(&f, T0 + 960, EV_FIRING, SEV_CRITICAL, SEV_OK, T0 + 960), 0);
    ck_assert_int_eq(
        fx_event(&f, T0 + 1600, EV_RESOLVED, SEV_OK, SEV_CRITICAL, T0 + 960),
        0);
    ck_assert_str_eq(fx_rows(&f, &r),
                     "scale:pending:event scale:skipped:event "
                     "scale:skipped:event scale:pending:event");
    fx_close(&f);
}
END_TEST

/* A "resolved" the cooldown held back from a receiver that heard the
 * alert is sent once the cooldown allows (the daemon's timer), if the alert
 * has not fired again: an autoscaler told "firing" is told it ended. */
START_TEST(cooldown_sends_a_held_back_resolved_when_the_period_ends)
{
    struct fixture f;
    struct rows r;

    fx_open(&f, "notifiers:\n"
                "  scale: {type: log, cooldown: 10m}\n"
                "routes:\n"
                "  - match: {severity: warning}\n"
                "    notify: [scale]\n");
    ck_assert_int_eq(fx_event(&f, T0, EV_FIRING, SEV_WARNING, SEV_OK, T0), 1);
    ck_assert_int_eq(
        fx_event(&f, T0 + 120, EV_RESOLVED, SEV_OK, SEV_WARNING, T0), 0);
    ck_assert_int_eq(fx_repeats(&f, T0 + 300), 0);
    ck_assert_int_eq(fx_repeats(&f, T0 + 600), 1);
    ck_assert_int_eq(fx_repeats(&f, T0 + 1300), 0); /* told once */
    /* (fx_repeats delivers what was queued before, as a dispatcher.) */
    ck_assert_str_eq(fx_rows(&f, &r), "scale:sent:event scale:skipped:event "
                                      "scale:sent:event");
    /* A new episode starts afresh: its firing is sent (past the period),
     * its resolved inside the period held back, then sent. */
    ck_assert_int_eq(
        fx_event(&f, T0 + 1400, EV_FIRING, SEV_WARNING, SEV_OK, T0 + 1400), 1);
    ck_assert_int_eq(
        fx_event(&f, T0 + 1500, EV_RESOLVED, SEV_OK, SEV_WARNING, T0 + 1400),
        0);
    ck_assert_int_eq(fx_repeats(&f, T0 + 2000), 1);
    fx_close(&f);
}
END_TEST

/* ... unless the alert fires again first: the receiver, never told it
 * resolved, is right to believe it fires; nothing is sent then. */
START_TEST(cooldown_drops_a_held_back_resolved_when_the_alert_fires_again)
{
    struct fixture f;
    struct rows r;

    fx_open(&f, "notifiers:\n"
                "  scale: {type: log, cooldown: 10m}\n"
                "routes:\n"
                "  - match: {severity: warning}\n"
                "    notify: [scale]\n");
    ck_assert_int_eq(fx_event(&f, T0, EV_FIRING, SEV_WARNING, SEV_OK, T0), 1);
    ck_assert_int_eq(
        fx_event(&f, T0 + 120, EV_RESOLVED, SEV_OK, SEV_WARNING, T0), 0);
    ck_assert_int_eq(
        fx_event(&f, T0 + 180, EV_FIRING, SEV_WARNING, SEV_OK, T0 + 180), 0);
    ck_assert_int_eq(fx_repeats(&f, T0 + 700), 0);
    ck_assert_str_eq(fx_rows(&f, &r), "scale:sent:event scale:skipped:event "
                                      "scale:skipped:event");
    fx_close(&f);
}
END_TEST

/* The held-back resolved waits while a silence matches it, and goes out
 * when the silence ends; a reload that removes the cooldown sends it at
 * once; one that stops the notifier's resolved events drops it. */
START_TEST(held_back_resolved_waits_for_silences_and_follows_reloads)
{
    static const char *const cfg[] = {
        "notifiers:\n  scale: {type: log, cooldown: 10m}\n",
        "notifiers:\n  scale: {type: log}\n",
        "notifiers:\n  scale: {type: log, send_resolved: false}\n",
    };
    static const char routes[] = "routes:\n"
                                 "  - match: {severity: warning}\n"
                                 "    notify: [scale]\n";
    char yaml[512];
    struct fixture f;

    snprintf(yaml, sizeof(yaml), "%s%s", cfg[0], routes);
    fx_open(&f, yaml);
    ck_assert_int_eq(fx_event(&f, T0, EV_FIRING, SEV_WARNING, SEV_OK, T0), 1);
    ck_assert_int_eq(
        fx_event(&f, T0 + 120, EV_RESOLVED, SEV_OK, SEV_WARNING, T0), 0);
    fx_silence_at(&f, "service=api", "deploy", T0 + 130, T0 + 900);
    ck_assert_int_eq(fx_repeats(&f, T0 + 700), 0); /* silenced: waits */
    ck_assert_int_eq(fx_repeats(&f, T0 + 950), 1); /* the silence ended */
    /* Another episode; the reload takes the cooldown away: at once. */
    ck_assert_int_eq(
        fx_event(&f, T0 + 2000, EV_FIRING, SEV_WARNING, SEV_OK, T0 + 2000), 1);
    ck_assert_int_eq(
        fx_event(&f, T0 + 2010, EV_RESOLVED, SEV_OK, SEV_WARNING, T0 + 2000),
        0);
    snprintf(yaml, sizeof(yaml), "%s%s", cfg[1], routes);
    fx_reload(&f, yaml);
    ck_assert_int_eq(fx_repeats(&f, T0 + 2020), 1);
    /* Another, held back; the reload stops resolved events: dropped. */
    snprintf(yaml, sizeof(yaml), "%s%s", cfg[0], routes);
    fx_reload(&f, yaml);
    ck_assert_int_eq(
        fx_event(&f, T0 + 4000, EV_FIRING, SEV_WARNING, SEV_OK, T0 + 4000), 1);
    ck_assert_int_eq(
        fx_event(&f, T0 + 4010, EV_RESOLVED, SEV_OK, SEV_WARNING, T0 + 4000),
        0);
    snprintf(yaml, sizeof(yaml), "%s%s", cfg[2], routes);
    fx_reload(&f, yaml);
    ck_assert_int_eq(fx_repeats(&f, T0 + 5000), 0);
    snprintf(yaml, sizeof(yaml), "%s%s", cfg[1], routes);
    fx_reload(&f, yaml);
    ck_assert_int_eq(fx_repeats(&f, T0 + 5100), 0); /* forgotten */
    fx_close(&f);
}
END_TEST

START_TEST(silenced_alert_is_recorded_but_not_sent)
{
    struct fixture f;
    struct rows r;
    struct hist h = {0};
    struct err e = {0};
    struct router_stats st;

    fx_open(&f, NOTIFIERS "routes:\n"
                          "  - match: {alertname: api}\n"
                          "    notify: [mail]\n");
    fx_silence(&f, "alertname=api,service=~ap.", "deploy");
    ck_assert_int_eq(fx_event(&f, T0, EV_FIRING, SEV_CRITICAL, SEV_OK, T0), 0);
    ck_assert_str_eq(fx_rows(&f, &r), "mail:silenced:event");
    ck_assert_int_eq(store_events_foreach(f.s, 0, NULL, hist_cb, &h, &e), 0);
    ck_assert_int_eq(h.n, 1);
    ck_assert_int_eq(h.silenced, 1);
    router_stats(f.r, &st);
    ck_assert_uint_eq(st.silenced, 1);
    ck_assert_uint_eq(st.notifications, 0);
    /* After the silence ends: no resolved for the firing the receiver
     * never got, as in Alertmanager; the next episode is sent again. */
    ck_assert_int_eq(
        fx_event(&f, T0 + 4000, EV_RESOLVED, SEV_OK, SEV_CRITICAL, T0), 0);
    ck_assert_int_eq(
        fx_event(&f, T0 + 5000, EV_FIRING, SEV_CRITICAL, SEV_OK, T0 + 5000), 1);
    fx_close(&f);
}
END_TEST

/* A silence scheduled to start, and one that ends, between two events a
 * few seconds apart: each event is judged by the silences of its time,
 * not by a set read a moment before. */
START_TEST(silence_starts_and_ends_at_its_own_times)
{
    struct fixture f;
    struct rows r;

    fx_open(&f, NOTIFIERS "routes:\n"
                          "  - match: {alertname: api}\n"
                          "    notify: [mail]\n");
    fx_silence_at(&f, "alertname=api", "later", T0 + 2, T0 + 3);
    ck_assert_int_eq(fx_event(&f, T0, EV_FIRING, SEV_WARNING, SEV_OK, T0), 1);
    ck_assert_int_eq(
        fx_event(&f, T0 + 2.5, EV_ESCALATED, SEV_CRITICAL, SEV_WARNING, T0), 0);
    ck_assert_int_eq(
        fx_event(&f, T0 + 3.5, EV_DEESCALATED, SEV_WARNING, SEV_CRITICAL, T0),
        1);
    ck_assert_str_eq(fx_rows(&f, &r), "mail:pending:event mail:silenced:event "
                                      "mail:pending:event");
    fx_close(&f);
}
END_TEST

static int next_at_cb(void *ctx, const struct outbox_row *r)
{
    *(double *)ctx = r->next_at;
    return 0;
}

/* An event stamped ahead of the wall clock (a skewed agent, a synthetic
 * stream) is due at once, not when the clock reaches its time. */
START_TEST(future_event_is_due_now)
{
    struct fixture f;
    struct err e = {0};
    double next = INFINITY, future = util_now() + 86400, before = util_now();

    fx_open(&f, NOTIFIERS "routes:\n"
                          "  - match: {alertname: api}\n"
                          "    notify: [mail]\n");
    ck_assert_int_eq(
        fx_event(&f, future, EV_FIRING, SEV_WARNING, SEV_OK, future), 1);
    ck_assert_int_eq(store_outbox_pending(f.s, 0, next_at_cb, &next, &e), 0);
    ck_assert(next >= before - 1 && next <= util_now());
    fx_close(&f);
}
END_TEST

START_TEST(silence_on_severity_matches_the_new_severity)
{
    struct fixture f;
    struct rows r;

    fx_open(&f, NOTIFIERS "routes:\n"
                          "  - match: {alertname: api}\n"
                          "    notify: [mail]\n");
    fx_silence(&f, "severity=critical", "");
    ck_assert_int_eq(fx_event(&f, T0, EV_FIRING, SEV_WARNING, SEV_OK, T0), 1);
    ck_assert_int_eq(
        fx_event(&f, T0 + 60, EV_ESCALATED, SEV_CRITICAL, SEV_WARNING, T0), 0);
    ck_assert_str_eq(fx_rows(&f, &r), "mail:pending:event mail:silenced:event");
    fx_close(&f);
}
END_TEST

START_TEST(firing_alert_is_repeated_after_repeat_interval)
{
    struct fixture f;
    struct rows r;

    fx_open(&f, NOTIFIERS "defaults: {repeat_interval: 1h}\n"
                          "routes:\n"
                          "  - match: {severity: critical}\n"
                          "    notify: [mail]\n"
                          "    repeat_interval: 10m\n"
                          "    continue: true\n"
                          "  - match: {alertname: api}\n"
                          "    notify: [chat]\n");
    ck_assert_int_eq(fx_event(&f, T0, EV_FIRING, SEV_CRITICAL, SEV_OK, T0), 2);
    ck_assert_int_eq(fx_repeats(&f, T0 + 300), 0);
    ck_assert_int_eq(fx_repeats(&f, T0 + 600), 1); /* mail, 10m */
    ck_assert_int_eq(fx_repeats(&f, T0 + 900), 0);
    ck_assert_int_eq(fx_repeats(&f, T0 + 3600), 2); /* chat 1h, mail again */
    ck_assert_str_eq(fx_rows(&f, &r), "mail:sent:event chat:sent:event "
                                      "mail:sent:repeat chat:pending:repeat "
                                      "mail:pending:repeat");
    /* Resolved alerts are not repeated. */
    ck_assert_int_eq(
        fx_event(&f, T0 + 3700, EV_RESOLVED, SEV_OK, SEV_CRITICAL, T0), 2);
    ck_assert_int_eq(fx_repeats(&f, T0 + 9000), 0);
    fx_close(&f);
}
END_TEST

/* A receiver that is down: while the alert's notification to it waits,
 * no reminder queues behind it (an outage would end in a burst of them);
 * the other receiver, which got its notification, is reminded. */
START_TEST(no_reminder_queues_behind_an_undelivered_notification)
{
    struct fixture f;
    struct rows r;
    struct err e = {0};

    fx_open(&f, NOTIFIERS "routes:\n"
                          "  - match: {alertname: api}\n"
                          "    notify: [mail, chat]\n"
                          "    repeat_interval: 10m\n");
    ck_assert_int_eq(fx_event(&f, T0, EV_FIRING, SEV_CRITICAL, SEV_OK, T0), 2);
    /* chat's row (the second) is delivered, mail's still pending. */
    ck_assert_int_eq(store_begin(f.s, &e), 0);
    ck_assert_int_eq(
        store_outbox_update(f.s, 2, OUTBOX_SENT, 1, 0, NULL, 200, T0, &e), 0);
    ck_assert_int_eq(store_commit(f.s, &e), 0);
    for (int k = 1; k <= 5; k++)
        ck_assert_int_eq(fx_repeats_pending(&f, T0 + 600.0 * k), k == 1);
    ck_assert_str_eq(fx_rows(&f, &r), "mail:pending:event chat:sent:event "
                                      "chat:pending:repeat");
    /* mail comes back: its interval restarted at the last held-back
     * reminder (+50m), so the next one is not at once but at +60m. */
    ck_assert_int_eq(store_begin(f.s, &e), 0);
    ck_assert_int_eq(
        store_outbox_update(f.s, 1, OUTBOX_SENT, 9, 0, NULL, 200, T0, &e), 0);
    ck_assert_int_eq(store_commit(f.s, &e), 0);
    ck_assert_int_eq(fx_repeats_pending(&f, T0 + 3000 + 1), 0);
    ck_assert_int_eq(fx_repeats_pending(&f, T0 + 3600), 1);
    ck_assert_str_eq(fx_rows(&f, &r),
                     "mail:sent:event chat:sent:event "
                     "chat:pending:repeat mail:pending:repeat");
    fx_close(&f);
}
END_TEST

/* A reload (or a restart with another config) applies to alerts already
 * firing: the reminders follow the routes of the config running now. */
START_TEST(repeat_interval_follows_the_running_config)
{
    struct fixture f;
    const char *fast = NOTIFIERS "routes:\n"
                                 "  - match: {alertname: api}\n"
                                 "    notify: [mail]\n"
                                 "    repeat_interval: 1m\n";
    const char *slow = NOTIFIERS "routes:\n"
                                 "  - match: {alertname: api}\n"
                                 "    notify: [mail]\n"
                                 "    repeat_interval: 1h\n";
    const char *gone = NOTIFIERS "routes:\n"
                                 "  - match: {alertname: other}\n"
                                 "    notify: [mail]\n"
                                 "    repeat_interval: 1m\n";

    fx_open(&f, fast);
    ck_assert_int_eq(fx_event(&f, T0, EV_FIRING, SEV_CRITICAL, SEV_OK, T0), 1);
    ck_assert_int_eq(fx_repeats(&f, T0 + 60), 1);
    /* 1m becomes 1h: no reminder at +2m, one at +1h after the last. */
    fx_reload(&f, slow);
    ck_assert_int_eq(fx_repeats(&f, T0 + 120), 0);
    ck_assert_int_eq(fx_repeats(&f, T0 + 1800), 0);
    ck_assert_int_eq(fx_repeats(&f, T0 + 60 + 3600), 1);
    /* No route sends the alert to mail any more: no reminders. */
    fx_reload(&f, gone);
    ck_assert_int_eq(fx_repeats(&f, T0 + 60 + 3600 + 7200), 0);
    fx_close(&f);
}
END_TEST

static int first_cb(void *ctx, const struct outbox_row *o)
{
    if (o->payload && strstr(o->payload, "\"first\":true"))
        (*(int *)ctx)++;
    return 0;
}

/* Outbox rows marked as their receiver's first mail of the alert. */
static int fx_first_marks(struct fixture *f)
{
    struct err e = {0};
    int n = 0;

    ck_assert_int_eq(store_outbox_foreach(f->s, 0, first_cb, &n, &e), 0);
    return n;
}

/* SPEC section 6 re-notifies "the receivers of its matching routes": a
 * receiver that a reload adds to a firing alert's route is due at once
 * (after a silence, when it ends), and from then on follows the alert. */
START_TEST(receiver_added_to_the_route_by_a_reload_is_reminded)
{
    struct fixture f;
    struct rows r;

    fx_open(&f, NOTIFIERS "routes:\n"
                          "  - match: {alertname: api}\n"
                          "    notify: [mail]\n"
                          "    repeat_interval: 10m\n");
    ck_assert_int_eq(fx_event(&f, T0, EV_FIRING, SEV_CRITICAL, SEV_OK, T0), 1);
    fx_reload(&f, NOTIFIERS "routes:\n"
                            "  - match: {alertname: api}\n"
                            "    notify: [mail, chat]\n"
                            "    repeat_interval: 10m\n");
    fx_silence_at(&f, "alertname=api", "", T0 + 30, T0 + 120);
    ck_assert_int_eq(fx_repeats(&f, T0 + 60), 0);
    ck_assert_int_eq(fx_repeats(&f, T0 + 200), 1); /* chat, silence over */
    ck_assert_str_eq(fx_rows(&f, &r), "mail:sent:event chat:pending:repeat");
    /* chat's first mail of the alert: the thread's root. */
    ck_assert_int_eq(fx_first_marks(&f), 2); /* mail's event, chat's repeat */
    ck_assert_int_eq(fx_repeats(&f, T0 + 600), 1);       /* mail */
    ck_assert_int_eq(fx_first_marks(&f), 2);             /* not its first */
    ck_assert_int_eq(fx_repeats(&f, T0 + 200 + 599), 0); /* chat not yet */
    ck_assert_int_eq(fx_repeats(&f, T0 + 200 + 600), 1);
    ck_assert_int_eq(
        fx_event(&f, T0 + 900, EV_RESOLVED, SEV_OK, SEV_CRITICAL, T0), 2);
    fx_close(&f);
}
END_TEST

/* A rolled-back transaction loses the reminder of a receiver the reload
 * added: once told, the router adds it again on its next turn. */
START_TEST(added_receiver_comes_back_after_a_rollback)
{
    struct fixture f;
    struct err e = {0};
    int n = -1;

    fx_open(&f, NOTIFIERS "routes:\n"
                          "  - match: {alertname: api}\n"
                          "    notify: [mail]\n");
    ck_assert_int_eq(fx_event(&f, T0, EV_FIRING, SEV_CRITICAL, SEV_OK, T0), 1);
    fx_reload(&f, NOTIFIERS "routes:\n"
                            "  - match: {alertname: api}\n"
                            "    notify: [mail, chat]\n");
    ck_assert_int_eq(store_begin(f.s, &e), 0);
    ck_assert_int_eq(router_repeats(f.r, f.s, T0 + 60, &n, &e), 0);
    ck_assert_int_eq(n, 1);
    store_rollback(f.s);
    router_rolled_back(f.r);
    ck_assert_int_eq(fx_repeats(&f, T0 + 61), 1);
    ck_assert_int_eq(fx_repeats(&f, T0 + 62), 0);
    fx_close(&f);
}
END_TEST

/* A receiver whose notifications of an alert were all silenced never
 * heard it: its later events reach it only through the routes, so a
 * silence on severity=warning holds back the resolved too, and an
 * escalation goes to the critical route only. Once a notification was
 * sent, the receiver follows the alert to its end. */
START_TEST(silenced_receiver_does_not_follow_the_alert)
{
    struct fixture f;
    struct rows r;

    fx_open(&f, NOTIFIERS "routes:\n"
                          "  - match: {severity: warning}\n"
                          "    notify: [mail]\n"
                          "  - match: {severity: critical}\n"
                          "    notify: [chat]\n");
    fx_silence(&f, "severity=warning", "");
    ck_assert_int_eq(fx_event(&f, T0, EV_FIRING, SEV_WARNING, SEV_OK, T0), 0);
    ck_assert_int_eq(
        fx_event(&f, T0 + 60, EV_ESCALATED, SEV_CRITICAL, SEV_WARNING, T0), 1);
    ck_assert_int_eq(
        fx_event(&f, T0 + 120, EV_RESOLVED, SEV_OK, SEV_CRITICAL, T0), 1);
    ck_assert_str_eq(fx_rows(&f, &r), "mail:silenced:event chat:pending:event "
                                      "chat:pending:event");
    fx_close(&f);
}
END_TEST

/* A reminder is a delivery: it waits for the notifier's cooldown, counted
 * from the newest delivery of the alert, in this episode or an earlier one. */
/* A stream that starts at Unix time 0: the receiver notified at time 0
 * has heard the alert and follows it (0 is a time, not "never"). */
START_TEST(receiver_notified_at_time_zero_follows_the_alert)
{
    struct fixture f;
    struct rows r;

    fx_open(&f, NOTIFIERS "routes:\n"
                          "  - match: {severity: critical}\n"
                          "    notify: [mail]\n");
    ck_assert_int_eq(fx_event(&f, 0, EV_FIRING, SEV_CRITICAL, SEV_OK, 0), 1);
    ck_assert_int_eq(
        fx_event(&f, 60, EV_DEESCALATED, SEV_WARNING, SEV_CRITICAL, 0), 1);
    ck_assert_int_eq(fx_event(&f, 120, EV_RESOLVED, SEV_OK, SEV_WARNING, 0), 1);
    ck_assert_str_eq(fx_rows(&f, &r), "mail:pending:event mail:pending:event "
                                      "mail:pending:event");
    fx_close(&f);
}
END_TEST

START_TEST(reminders_respect_cooldown)
{
    struct fixture f;
    struct rows r;

    fx_open(&f, "notifiers:\n"
                "  mail: {type: log, cooldown: 1h}\n"
                "routes:\n"
                "  - match: {alertname: api}\n"
                "    notify: [mail]\n"
                "    repeat_interval: 10m\n");
    ck_assert_int_eq(fx_event(&f, T0, EV_FIRING, SEV_WARNING, SEV_OK, T0), 1);
    ck_assert_int_eq(fx_repeats(&f, T0 + 600), 0);
    ck_assert_int_eq(fx_repeats(&f, T0 + 3600), 1);
    /* Resolved inside the cooldown (skipped), fires again: the new episode's
     * reminder still waits for an hour after the last delivery. */
    ck_assert_int_eq(
        fx_event(&f, T0 + 3700, EV_RESOLVED, SEV_OK, SEV_WARNING, T0), 0);
    ck_assert_int_eq(
        fx_event(&f, T0 + 3800, EV_FIRING, SEV_WARNING, SEV_OK, T0 + 3800), 0);
    ck_assert_int_eq(fx_repeats(&f, T0 + 4500), 0);
    ck_assert_int_eq(fx_repeats(&f, T0 + 7200), 1);
    ck_assert_str_eq(fx_rows(&f, &r), "mail:sent:event mail:sent:repeat "
                                      "mail:skipped:event mail:skipped:event "
                                      "mail:pending:repeat");
    fx_close(&f);
}
END_TEST

static int count_events_cb(void *ctx, const struct store_event *ev)
{
    (void)ev;
    (*(int *)ctx)++;
    return 0;
}

/* on_committed: "rule[labels]:kind" of each event told, in order (the
 * labels' first 8 characters). */
static size_t told_labels_max; /* the longest labels text told */

static void told_cb(void *ctx, const struct pipeline_committed *ev)
{
    struct buf *b = ctx;

    if (strlen(ev->labels) > told_labels_max)
        told_labels_max = strlen(ev->labels);

    buf_printf(b, "%s%s[%.8s]:%s", b->len ? " " : "", ev->rule, ev->labels,
               event_kind_name(ev->kind));
}

/* A daemon pipeline over a new fixture: cpu_high (above 90, by host)
 * notifies mail. */
static struct pipeline *cpu_high_pipeline(struct fixture *f)
{
    struct err e = {0};
    struct pipeline *p;

    fx_open(f, NOTIFIERS "defaults: {notify: [mail]}\n"
                         "rules:\n"
                         "  - name: cpu_high\n"
                         "    metric: cpu\n"
                         "    by: [host]\n"
                         "    severity: {critical: {above: 90}}\n");
    p = pipeline_new(f->cfg, f->s, false, &e);
    ck_assert_msg(p != NULL, "pipeline_new: %s", e.msg);
    return p;
}

/* The events of a batch that was rolled back are not told (the daemon
 * logs and counts what it is told): an event recorded before a later
 * sample of the same batch hit a full store is told once, when the
 * client's retry commits. */
START_TEST(events_are_told_only_once_committed)
{
    struct fixture f;
    struct err e = {0};
    struct pipeline *p;
    struct label lb[] = {{"host", "c"}};
    struct sample smp = {"cpu", lb, 1, 95, T0};
    static char big[60000];
    struct buf told;

    buf_init(&told, 0);
    p = cpu_high_pipeline(&f);
    pipeline_on_committed(p, told_cb, &told);
    memset(big, 'b', sizeof(big) - 1);
    /* One batch: host=c is recorded, then host=big cannot be. */
    ck_assert_int_eq(pipeline_feed(p, &smp, T0, &e), 0);
    ck_assert_int_eq(store_set_max_pages(f.s, 1), 0);
    lb[0].value = big;
    pipeline_feed(p, &smp, T0, &e);
    err_clear(&e);
    ck_assert_int_eq(pipeline_commit(p, NULL, &e), -1);
    ck_assert_str_eq(buf_str(&told), "");
    /* The retry of the whole batch. */
    ck_assert_int_eq(store_set_max_pages(f.s, 1000000), 0);
    err_clear(&e);
    lb[0].value = "c";
    ck_assert_int_eq(pipeline_feed(p, &smp, T0, &e), 0);
    lb[0].value = big;
    ck_assert_int_eq(pipeline_feed(p, &smp, T0, &e), 0);
    ck_assert_msg(pipeline_commit(p, NULL, &e) == 0, "commit: %s", e.msg);
    ck_assert_str_eq(buf_str(&told),
                     "cpu_high[host=c]:firing cpu_high[host=bbb]:firing");
    /* The 60,000-byte label is cut for the log line. */
    ck_assert_uint_eq(told_labels_max, 1024 + 3);
    pipeline_close(p, NULL);
    fx_close(&f);
    buf_cleanup(&told);
}
END_TEST

/* A batch the store could not commit (disk full) is forgotten by the
 * engine too: the same samples sent again fire again, and this time the
 * event and its notification are committed. */
START_TEST(rolled_back_batch_is_forgotten_by_the_engine)
{
    struct fixture f;
    struct err e = {0};
    struct pipeline *p;
    struct label lb[] = {{"host", "a"}};
    struct sample smp = {"cpu", lb, 1, 95, T0};
    struct rows r;
    int n = 0;

    p = cpu_high_pipeline(&f);
    ck_assert_int_eq(pipeline_feed(p, &smp, T0, &e), 0);
    ck_assert_int_eq(pipeline_commit(p, NULL, &e), 0);
    /* A second alert, whose batch cannot be written (its long label needs
     * pages the store may not take). */
    static char big[60000];
    memset(big, 'b', sizeof(big) - 1);
    lb[0].value = big;
    ck_assert_int_eq(store_set_max_pages(f.s, 1), 0);
    smp.ts = T0 + 1;
    pipeline_feed(p, &smp, T0 + 1, &e);
    err_clear(&e);
    ck_assert_int_eq(pipeline_commit(p, NULL, &e), -1);
    ck_assert_int_eq(store_set_max_pages(f.s, 1000000), 0);
    /* The client's retry of that batch. */
    err_clear(&e);
    ck_assert_int_eq(pipeline_feed(p, &smp, T0 + 1, &e), 0);
    ck_assert_msg(pipeline_commit(p, NULL, &e) == 0, "commit: %s", e.msg);
    ck_assert_int_eq(
        store_events_foreach(f.s, 0, NULL, count_events_cb, &n, &e), 0);
    ck_assert_int_eq(n, 2);
    ck_assert_str_eq(fx_rows(&f, &r), "mail:pending:event mail:pending:event");
    /* host=a is still known as firing: a new sample of it is no event. */
    lb[0].value = "a";
    smp.ts = T0 + 2;
    ck_assert_int_eq(pipeline_feed(p, &smp, T0 + 2, &e), 0);
    ck_assert_int_eq(pipeline_commit(p, NULL, &e), 0);
    n = 0;
    store_events_foreach(f.s, 0, NULL, count_events_cb, &n, &e);
    ck_assert_int_eq(n, 2);
    pipeline_close(p, NULL);
    fx_close(&f);
}
END_TEST

static int alerts_rules_cb(void *ctx, const struct store_alert *a)
{
    struct buf *b = ctx;
    buf_printf(b, "%s%s", b->len ? " " : "", a->rule);
    return 0;
}

struct lastev {
    char json[1024];
};

static int last_event_cb(void *ctx, const struct store_event *ev)
{
    struct lastev *l = ctx;
    snprintf(l->json, sizeof(l->json), "%s", ev->json);
    return 0;
}

/* A reload that removes a firing alert's rule, or redefines it, resolves
 * the alert (reason "reload") for the receivers that heard it; alerts of
 * unchanged rules go on firing, silently. */
START_TEST(reload_resolves_alerts_of_removed_and_changed_rules)
{
#define TWO_RULES(extra)                                                       \
    NOTIFIERS                                                                  \
    "defaults: {notify: [mail], repeat_interval: 1m}\n"                        \
    "rules:\n"                                                                 \
    "  - {name: ra, metric: ma, severity: {critical: {above: 1}}}\n"           \
    "  - {name: rb, metric: mb, severity: {critical: {above: 1}}" extra "}\n"
    struct fixture f;
    struct config *c2 =
        load_cfg(NOTIFIERS "defaults: {notify: [mail]}\n"
                           "rules:\n"
                           "  - {name: ra, metric: ma, severity: "
                           "{critical: {above: 1}}}\n");
    struct config *c3 = load_cfg(TWO_RULES(", window: 1m, aggregate: max"));
    struct err e = {0};
    struct pipeline *p;
    struct sample a = {"ma", NULL, 0, 5, T0}, b = {"mb", NULL, 0, 5, T0};
    struct buf al;
    struct lastev le;
    struct rows r;

    fx_open(&f, TWO_RULES(""));
    p = pipeline_new(f.cfg, f.s, false, &e);
    ck_assert_int_eq(pipeline_feed(p, &a, T0, &e), 0);
    ck_assert_int_eq(pipeline_feed(p, &b, T0, &e), 0);
    ck_assert_int_eq(pipeline_commit(p, NULL, &e), 0);
    /* rb removed: resolved; ra unchanged: still firing, no event. */
    ck_assert_msg(pipeline_reload(p, c2, &e) == 0, "reload: %s", e.msg);
    buf_init(&al, 0);
    store_alerts_foreach(f.s, alerts_rules_cb, &al, &e);
    ck_assert_str_eq(buf_str(&al), "ra");
    store_events_foreach(f.s, 0, "rb", last_event_cb, &le, &e);
    ck_assert_msg(strstr(le.json, "\"event\":\"resolved\"") &&
                      strstr(le.json, "\"previous\":\"critical\"") &&
                      strstr(le.json, "\"reason\":\"reload\""),
                  "%s", le.json);
    ck_assert_str_eq(fx_rows(&f, &r), "mail:pending:event mail:pending:event "
                                      "mail:pending:event");
    /* rb comes back redefined (a window): new to this config, it resolves
     * nothing, and a sample fires it again. */
    ck_assert_int_eq(pipeline_reload(p, c3, &e), 0);
    buf_reset(&al);
    store_alerts_foreach(f.s, alerts_rules_cb, &al, &e);
    ck_assert_str_eq(buf_str(&al), "ra");
    ck_assert_int_eq(pipeline_feed(p, &b, T0 + 10, &e), 0);
    ck_assert_int_eq(pipeline_commit(p, NULL, &e), 0);
    /* Back to the first config: rb's definition changed under its firing
     * alert, which resolves; ra stays. */
    ck_assert_int_eq(pipeline_reload(p, f.cfg, &e), 0);
    buf_reset(&al);
    store_alerts_foreach(f.s, alerts_rules_cb, &al, &e);
    ck_assert_str_eq(buf_str(&al), "ra");
    buf_cleanup(&al);
    pipeline_close(p, NULL);
    config_free(c2);
    config_free(c3);
    fx_close(&f);
#undef TWO_RULES
}
END_TEST

/* Two escalations of one alert in one millisecond (two tiers crossed by
 * one sample, or two lines of one batch): two notifications, two keys. */
START_TEST(events_in_one_millisecond_each_get_a_notification)
{
    struct fixture f;
    struct rows r;

    fx_open(&f, NOTIFIERS "routes:\n"
                          "  - match: {alertname: api}\n"
                          "    notify: [mail]\n");
    ck_assert_int_eq(fx_event(&f, T0, EV_FIRING, SEV_INFO, SEV_OK, T0), 1);
    ck_assert_int_eq(fx_event(&f, T0, EV_ESCALATED, SEV_WARNING, SEV_INFO, T0),
                     1);
    ck_assert_int_eq(
        fx_event(&f, T0, EV_ESCALATED, SEV_CRITICAL, SEV_WARNING, T0), 1);
    ck_assert_int_eq(
        fx_event(&f, T0 + 1, EV_DEESCALATED, SEV_WARNING, SEV_CRITICAL, T0), 1);
    ck_assert_int_eq(
        fx_event(&f, T0 + 1, EV_DEESCALATED, SEV_INFO, SEV_WARNING, T0), 1);
    ck_assert_str_eq(fx_rows(&f, &r), "mail:pending:event mail:pending:event "
                                      "mail:pending:event mail:pending:event "
                                      "mail:pending:event");
    ck_assert_str_ne(r.keys[1], r.keys[2]);
    ck_assert_str_ne(r.keys[3], r.keys[4]);
    fx_close(&f);
}
END_TEST

START_TEST(idempotency_keys_are_stable_and_dot_free)
{
    struct fixture f, g;
    struct rows r1, r2;

    fx_open(&f, NOTIFIERS "routes:\n"
                          "  - match: {alertname: api}\n"
                          "    notify: [mail, chat]\n");
    fx_open(&g, NOTIFIERS "routes:\n"
                          "  - match: {alertname: api}\n"
                          "    notify: [mail, chat]\n");
    ck_assert_int_eq(fx_event(&f, T0, EV_FIRING, SEV_CRITICAL, SEV_OK, T0), 2);
    ck_assert_int_eq(fx_event(&g, T0, EV_FIRING, SEV_CRITICAL, SEV_OK, T0), 2);
    fx_rows(&f, &r1);
    fx_rows(&g, &r2);
    ck_assert_uint_eq(r1.n, 2);
    for (size_t i = 0; i < 2; i++) {
        ck_assert_str_eq(r1.keys[i], r2.keys[i]);
        ck_assert_int_eq(strncmp(r1.keys[i], "msg_", 4), 0);
        ck_assert_ptr_null(strchr(r1.keys[i], '.'));
        ck_assert_uint_eq(strlen(r1.keys[i]), 28);
    }
    ck_assert_str_ne(r1.keys[0], r1.keys[1]);
    /* Pinned, so that no change computes other keys by accident: the key
     * of fingerprint|ms|event|receiver|kind|previous>severity. (A queued
     * notification keeps the key stored with it across an upgrade.) */
    ck_assert_str_eq(r1.keys[0], "msg_19b76daa8004c98de6d67de7");
    /* The same transition again in the same millisecond (firing, resolved,
     * firing) is another event: it is notified too, under its own keys. */
    ck_assert_int_eq(fx_event(&f, T0, EV_FIRING, SEV_CRITICAL, SEV_OK, T0), 2);
    fx_rows(&f, &r1);
    ck_assert_uint_eq(r1.n, 4);
    for (size_t i = 0; i < 2; i++) {
        ck_assert_str_ne(r1.keys[2 + i], r1.keys[0]);
        ck_assert_str_ne(r1.keys[2 + i], r1.keys[1]);
        ck_assert_int_eq(strncmp(r1.keys[2 + i], r1.keys[0], 15), 0);
    }
    ck_assert_str_ne(r1.keys[2], r1.keys[3]);
    fx_close(&f);
    fx_close(&g);
}
END_TEST

struct payload_ctx {
    char payload[2048];
};

static int payload_cb(void *ctx, const struct outbox_row *o)
{
    struct payload_ctx *p = ctx;

    snprintf(p->payload, sizeof(p->payload), "%s", o->payload);
    return 0;
}

START_TEST(idempotency_keys_of_later_events_sort_after_earlier_ones)
{
    struct fixture f;
    struct rows r;

    /* Keys lead with the event time, so the outbox key index grows at its
     * end; the alerts differ only in time here. */
    fx_open(&f, NOTIFIERS "routes:\n"
                          "  - match: {alertname: api}\n"
                          "    notify: [chat]\n");
    ck_assert_int_eq(fx_event(&f, T0, EV_FIRING, SEV_WARNING, SEV_OK, T0), 1);
    ck_assert_int_eq(
        fx_event(&f, T0 + 0.001, EV_ESCALATED, SEV_CRITICAL, SEV_WARNING, T0),
        1);
    ck_assert_int_eq(
        fx_event(&f, T0 + 3600, EV_RESOLVED, SEV_OK, SEV_CRITICAL, T0), 1);
    fx_rows(&f, &r);
    ck_assert_uint_eq(r.n, 3);
    ck_assert_int_lt(strcmp(r.keys[0], r.keys[1]), 0);
    ck_assert_int_lt(strcmp(r.keys[1], r.keys[2]), 0);
    for (size_t i = 0; i < 3; i++)
        ck_assert_uint_eq(strspn(r.keys[i] + 4, "0123456789abcdef"), 24);
    fx_close(&f);
}
END_TEST

START_TEST(outbox_payload_holds_event_starts_at_and_receiver)
{
    struct fixture f;
    struct payload_ctx p = {{0}};
    struct err e = {0};
    cJSON *root;

    fx_open(&f, NOTIFIERS "routes:\n"
                          "  - match: {alertname: api}\n"
                          "    notify: [mail]\n");
    fx_event(&f, T0 + 60, EV_ESCALATED, SEV_CRITICAL, SEV_WARNING, T0);
    ck_assert_int_eq(store_outbox_foreach(f.s, 0, payload_cb, &p, &e), 0);
    root = cJSON_Parse(p.payload);
    ck_assert_ptr_nonnull(root);
    ck_assert_str_eq(
        cJSON_GetObjectItemCaseSensitive(root, "receiver")->valuestring,
        "mail");
    ck_assert_double_eq(
        cJSON_GetObjectItemCaseSensitive(root, "starts_at")->valuedouble, T0);
    ck_assert_str_eq(
        cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(root, "event"), "event")
            ->valuestring,
        "escalated");
    cJSON_Delete(root);
    fx_close(&f);
}
END_TEST

static int count_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    int n = 0, c;

    if (f == NULL)
        return 0;
    while ((c = fgetc(f)) != EOF)
        n += c == '\n';
    fclose(f);
    return n;
}

START_TEST(dispatcher_thread_delivers_committed_rows_and_stops)
{
    struct fixture f;
    struct err e = {0};
    struct dispatcher *d;
    struct dispatch_counter *cs;
    char path[] = "/tmp/tocsin-check-router-XXXXXX";
    char yaml[512];
    int fd = mkstemp(path);
    int64_t sent = -1, pending = -1;
    size_t nc = 0;
    double deadline;

    ck_assert_int_ge(fd, 0);
    close(fd);
    snprintf(yaml, sizeof(yaml),
             "notifiers:\n"
             "  audit: {type: log, path: %s}\n"
             "routes:\n"
             "  - match: {alertname: api}\n"
             "    notify: [audit]\n",
             path);
    fx_open(&f, yaml);
    ck_assert_int_eq(fx_event(&f, T0, EV_FIRING, SEV_CRITICAL, SEV_OK, T0), 1);
    ck_assert_int_eq(
        fx_event(&f, T0 + 60, EV_RESOLVED, SEV_OK, SEV_CRITICAL, T0), 1);
    d = dispatcher_new(f.cfg, f.s, &e);
    ck_assert_ptr_nonnull(d);
    ck_assert_int_eq(dispatcher_start(d, &e), 0);
    dispatcher_wake(d);
    deadline = util_mono() + 20;
    while (count_lines(path) < 2 && util_mono() < deadline)
        usleep(10000);
    dispatcher_stop(d, 1);
    ck_assert_int_eq(count_lines(path), 2);
    cs = dispatcher_counters(d, &nc);
    ck_assert_uint_ge(nc, 1);
    ck_assert_str_eq(cs[0].receiver, "audit");
    ck_assert_uint_eq(cs[0].sent, 2);
    ck_assert_uint_eq(cs[0].failed, 0);
    free(cs);
    dispatcher_free(d);
    ck_assert_int_eq(store_outbox_count(f.s, OUTBOX_SENT, &sent, &e), 0);
    ck_assert_int_eq(store_outbox_count(f.s, OUTBOX_PENDING, &pending, &e), 0);
    ck_assert_int_eq(sent, 2);
    ck_assert_int_eq(pending, 0);
    unlink(path);
    fx_close(&f);
}
END_TEST

START_TEST(dispatcher_drain_gives_up_on_a_dead_receiver_within_budget)
{
    struct fixture f;
    struct err e = {0};
    struct dispatcher *d;
    int64_t failed = -1;

    /* Port 9 (discard) on 127.0.0.1: nothing listens, so every attempt is
     * refused and retried until max_retry_time. */
    fx_open(&f, "notifiers:\n"
                "  hook: {type: webhook, url: \"http://127.0.0.1:9/x\", "
                "retry_backoff: 10ms, max_retry_time: 300ms}\n"
                "routes:\n"
                "  - match: {alertname: api}\n"
                "    notify: [hook]\n");
    ck_assert_int_eq(fx_event(&f, T0, EV_FIRING, SEV_CRITICAL, SEV_OK, T0), 1);
    d = dispatcher_new(f.cfg, f.s, &e);
    ck_assert_ptr_nonnull(d);
    ck_assert_int_eq(dispatcher_drain(d, 30, &e), 0);
    dispatcher_free(d);
    ck_assert_int_eq(store_outbox_count(f.s, OUTBOX_FAILED, &failed, &e), 0);
    ck_assert_int_eq(failed, 1);
    fx_close(&f);
}
END_TEST

Suite *router_suite(void)
{
    Suite *s = suite_create("router");
    TCase *tc = tcase_create("router");

    tcase_add_test(tc, first_matching_route_wins);
    tcase_add_test(tc, continue_true_also_notifies_later_matching_routes);
    tcase_add_test(tc, unmatched_event_goes_to_default_notify);
    tcase_add_test(tc, unmatched_event_without_default_is_only_recorded);
    tcase_add_test(tc, route_without_notify_uses_default_notify);
    tcase_add_test(
        tc, receiver_that_heard_critical_hears_deescalation_and_resolution);
    tcase_add_test(tc, send_resolved_false_receiver_gets_no_resolved_event);
    tcase_add_test(tc, events_filter_limits_the_kinds_a_receiver_gets);
    tcase_add_test(tc, cooldown_records_events_inside_the_period_as_skipped);
    tcase_add_test(tc, cooldown_holds_across_a_resolve_and_refire);
    tcase_add_test(tc, cooldown_keeps_a_receiver_not_told_of_the_resolve);
    tcase_add_test(tc,
                   held_back_resolved_waits_for_silences_and_follows_reloads);
    tcase_add_test(tc,
                   cooldown_sends_a_held_back_resolved_when_the_period_ends);
    tcase_add_test(
        tc, cooldown_drops_a_held_back_resolved_when_the_alert_fires_again);
    tcase_add_test(tc, silenced_alert_is_recorded_but_not_sent);
    tcase_add_test(tc, silence_on_severity_matches_the_new_severity);
    tcase_add_test(tc, silence_starts_and_ends_at_its_own_times);
    tcase_add_test(tc, future_event_is_due_now);
    tcase_add_test(tc, firing_alert_is_repeated_after_repeat_interval);
    tcase_add_test(tc, no_reminder_queues_behind_an_undelivered_notification);
    tcase_add_test(tc, repeat_interval_follows_the_running_config);
    tcase_add_test(tc, receiver_added_to_the_route_by_a_reload_is_reminded);
    tcase_add_test(tc, added_receiver_comes_back_after_a_rollback);
    tcase_add_test(tc, silenced_receiver_does_not_follow_the_alert);
    tcase_add_test(tc, reminders_respect_cooldown);
    tcase_add_test(tc, receiver_notified_at_time_zero_follows_the_alert);
    tcase_add_test(tc, rolled_back_batch_is_forgotten_by_the_engine);
    tcase_add_test(tc, events_are_told_only_once_committed);
    tcase_add_test(tc, events_in_one_millisecond_each_get_a_notification);
    tcase_add_test(tc, reload_resolves_alerts_of_removed_and_changed_rules);
    tcase_add_test(tc, idempotency_keys_are_stable_and_dot_free);
    tcase_add_test(tc,
                   idempotency_keys_of_later_events_sort_after_earlier_ones);
    tcase_add_test(tc, outbox_payload_holds_event_starts_at_and_receiver);
    tcase_add_test(tc, dispatcher_thread_delivers_committed_rows_and_stops);
    tcase_add_test(tc,
                   dispatcher_drain_gives_up_on_a_dead_receiver_within_budget);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    return s;
}
