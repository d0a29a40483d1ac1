/* check_notifiers.c - tests for the notifier kinds' rendering (slack, email,
 * webhook, log), the Alertmanager payload, Standard Webhooks signing and the
 * MIME helpers. Formatting only: no network; outputs are parsed back with
 * cJSON or a small RFC 5322 reader below. */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/buf.h"
#include "../common/util.h"
#include "../notifiers/am_payload.h"
#include "../notifiers/mime.h"
#include "../notifiers/notifier.h"
#include "../notifiers/sign.h"
#include "../notifiers/transport.h"
#include "../rules/cfgnode.h"
#include "../rules/config.h"

/* ---- fixtures ---- */

struct fixture {
    struct cfg_diag d;
    struct cfg_node *root;
    struct notifier n;
    int rc;
};

/* Configure a notifier of kind from YAML text (the notifier's own map). */
static void fx_setup(struct fixture *f, const char *kind, const char *yaml)
{
    memset(f, 0, sizeof(*f));
    cfg_diag_init(&f->d, "t.yaml");
    f->root = cfg_parse(yaml, strlen(yaml), &f->d);
    ck_assert_ptr_nonnull(f->root);
    f->n.name = (char *)"recv";
    f->n.ops = notifier_kind(kind);
    ck_assert_ptr_nonnull(f->n.ops);
    f->rc = f->n.ops->configure(&f->n, f->root, "/etc/tocsin", &f->d);
}

static void fx_teardown(struct fixture *f)
{
    if (f->n.ops && f->n.ops->destroy && f->n.priv)
        f->n.ops->destroy(&f->n);
    cfg_node_free(f->root);
    cfg_diag_cleanup(&f->d);
}

static bool diag_has(const struct cfg_diag *d, const char *s)
{
    for (size_t i = 0; i < d->nmsgs; i++)
        if (strstr(d->msgs[i], s))
            return true;
    return false;
}

/* An event payload. labels: NULL-terminated name, value pairs. value NULL
 * means nodata. */
static cJSON *mk_payload(const char *event, const char *sev, const char *prev,
                         const char *value, const char *const *labels,
                         const char *summary)
{
    cJSON *p = cJSON_CreateObject(), *ev = cJSON_CreateObject(), *l, *a;

    cJSON_AddNumberToObject(ev, "ts", 1767225720.0);
    cJSON_AddStringToObject(ev, "rule", "api_p90_latency");
    l = cJSON_AddObjectToObject(ev, "labels");
    for (size_t i = 0; labels && labels[i]; i += 2)
        cJSON_AddStringToObject(l, labels[i], labels[i + 1]);
    cJSON_AddStringToObject(l, "alertname", "api_p90_latency");
    cJSON_AddStringToObject(ev, "event", event);
    cJSON_AddStringToObject(ev, "severity", sev);
    cJSON_AddStringToObject(ev, "previous", prev);
    if (value)
        cJSON_AddItemToObject(ev, "value",
                              cJSON_CreateNumber(strtod(value, NULL)));
    else
        cJSON_AddNullToObject(ev, "value");
    cJSON_AddStringToObject(ev, "reason", value ? "threshold" : "nodata");
    cJSON_AddStringToObject(ev, "fingerprint", "3f0c9a0011223344");
    a = cJSON_AddObjectToObject(ev, "annotations");
    if (summary)
        cJSON_AddStringToObject(a, "summary", summary);
    cJSON_AddItemToObject(p, "event", ev);
    cJSON_AddNumberToObject(p, "starts_at", 1767225600.0);
    cJSON_AddStringToObject(p, "receiver", "recv");
    return p;
}

static const char *const svc_api[] = {"service", "api", NULL};

static cJSON *firing_payload(void)
{
    return mk_payload("firing", "critical", "ok", "512.5", svc_api,
                      "p90 latency 512.5 ms on api");
}

static cJSON *resolved_payload(void)
{
    return mk_payload("resolved", "ok", "critical", "120", svc_api,
                      "p90 latency 120 ms on api");
}

static cJSON *report_payload(int nrules)
{
    cJSON *p = cJSON_CreateObject(), *r = cJSON_AddObjectToObject(p, "report");
    cJSON *j, *rules;

    cJSON_AddStringToObject(r, "title", "tocsin noisy-alert report (7d)");
    cJSON_AddStringToObject(r, "text", "1. api_p90_latency fired 12 times\n");
    cJSON_AddStringToObject(r, "markdown", "| rule | fired |\n");
    cJSON_AddStringToObject(r, "html",
                            "<html><body><table></table></body></html>");
    j = cJSON_AddObjectToObject(r, "json");
    cJSON_AddNumberToObject(j, "since", 1767000000);
    cJSON_AddNumberToObject(j, "until", 1767600000);
    rules = cJSON_AddArrayToObject(j, "rules");
    for (int i = 0; i < nrules; i++) {
        cJSON *x = cJSON_CreateObject();
        char name[64];
        snprintf(name, sizeof(name), "rule_<%d>_with_a_rather_long_name_%d", i,
                 i);
        cJSON_AddStringToObject(x, "rule", name);
        cJSON_AddNumberToObject(x, "fired", 100 - i);
        cJSON_AddNumberToObject(x, "resolved", 90 - i);
        cJSON_AddNumberToObject(x, "short_lived", 5);
        cJSON_AddNumberToObject(x, "flapping", 3);
        cJSON_AddNumberToObject(x, "noise_score", 99.5 - i);
        cJSON_AddItemToArray(rules, x);
    }
    return p;
}

/* Render payload through f's notifier; returns 0/-1 like the op. */
static int render(struct fixture *f, const char *kind, const cJSON *payload,
                  struct request *r)
{
    struct notification nt = {.key = "n-42-abc",
                              .receiver = "recv",
                              .kind = kind,
                              .payload = payload,
                              .now = 1767225721.75};
    struct err e = {0};
    int rc = f->n.ops->render(&f->n, &nt, r, &e);
    if (rc < 0)
        fprintf(stderr, "render: %s\n", e.msg);
    return rc;
}

static const char *header_value(const struct curl_slist *h, const char *name)
{
    size_t n = strlen(name);
    for (; h; h = h->next)
        if (strncasecmp(h->data, name, n) == 0 && h->data[n] == ':')
            return h->data + n + 2;
    return NULL;
}

static const char *jstr(const cJSON *o, const char *path)
{
    /* path: dot-separated members; digits index arrays. */
    char buf[256], *tok, *save = NULL;
    const cJSON *cur = o;

    snprintf(buf, sizeof(buf), "%s", path);
    for (tok = strtok_r(buf, ".", &save); tok && cur;
         tok = strtok_r(NULL, ".", &save)) {
        if (cJSON_IsArray(cur))
            cur = cJSON_GetArrayItem(cur, (int)strtol(tok, NULL, 10));
        else
            cur = cJSON_GetObjectItemCaseSensitive(cur, tok);
    }
    return cJSON_IsString(cur) ? cur->valuestring : NULL;
}

static const cJSON *jget(const cJSON *o, const char *path)
{
    char buf[256], *tok, *save = NULL;
    const cJSON *cur = o;

    snprintf(buf, sizeof(buf), "%s", path);
    for (tok = strtok_r(buf, ".", &save); tok && cur;
         tok = strtok_r(NULL, ".", &save)) {
        if (cJSON_IsArray(cur))
            cur = cJSON_GetArrayItem(cur, (int)strtol(tok, NULL, 10));
        else
            cur = cJSON_GetObjectItemCaseSensitive(cur, tok);
    }
    return cur;
}

/* ---- slack ---- */

static void check_strings_utf8(const cJSON *o)
{
    const cJSON *it;
    if (cJSON_IsString(o))
        ck_assert_msg(util_utf8_valid(o->valuestring, strlen(o->valuestring)),
                      "invalid UTF-8 in %s", o->string ? o->string : "?");
    cJSON_ArrayForEach(it, o) check_strings_utf8(it);
}

/* Assert every Slack limit on a rendered message. */
static void check_slack_limits(const cJSON *msg)
{
    const cJSON *blocks_sets[2], *b;

    ck_assert_ptr_nonnull(jstr(msg, "text"));
    ck_assert_uint_le(util_utf8_len(jstr(msg, "text")), 40000 / 4);
    check_strings_utf8(msg);
    blocks_sets[0] = jget(msg, "blocks");
    blocks_sets[1] = jget(msg, "attachments.0.blocks");
    for (int k = 0; k < 2; k++) {
        if (blocks_sets[k] == NULL)
            continue;
        ck_assert_int_le(cJSON_GetArraySize(blocks_sets[k]), 50);
        cJSON_ArrayForEach(b, blocks_sets[k])
        {
            const char *type = jstr(b, "type");
            const cJSON *fields = jget(b, "fields"), *fl;
            if (strcmp(type, "header") == 0) {
                ck_assert_str_eq(jstr(b, "text.type"), "plain_text");
                ck_assert_uint_le(util_utf8_len(jstr(b, "text.text")), 150);
            }
            if (strcmp(type, "section") == 0 && jstr(b, "text.text"))
                ck_assert_uint_le(util_utf8_len(jstr(b, "text.text")), 3000);
            if (fields) {
                ck_assert_int_le(cJSON_GetArraySize(fields), 10);
                cJSON_ArrayForEach(fl, fields)
                    ck_assert_uint_le(util_utf8_len(jstr(fl, "text")), 2000);
            }
        }
    }
}

static cJSON *render_slack(struct fixture *f, const char *kind,
                           const cJSON *payload)
{
    struct request r = {0};
    cJSON *msg;

    ck_assert_int_eq(render(f, kind, payload, &r), 0);
    ck_assert_int_eq(r.kind, REQ_HTTP);
    ck_assert_str_eq(r.url, "https://hooks.slack.com/services/T/B/x");
    ck_assert_str_eq(header_value(r.headers, "Content-Type"),
                     "application/json");
    ck_assert_uint_eq(r.body_len, strlen(r.body));
    msg = cJSON_Parse(r.body);
    ck_assert_ptr_nonnull(msg);
    request_cleanup(&r);
    check_slack_limits(msg);
    return msg;
}

static const char *slack_yaml =
    "type: slack\nurl: https://hooks.slack.com/services/T/B/x\n";

START_TEST(slack_firing_has_fallback_text_red_color_and_fields)
{
    struct fixture f;
    cJSON *p = firing_payload(), *m;

    fx_setup(&f, "slack", slack_yaml);
    ck_assert_int_eq(f.rc, 0);
    m = render_slack(&f, "event", p);
    ck_assert_str_eq(jstr(m, "text"), "[CRITICAL] api_p90_latency service=api "
                                      "firing: p90 latency 512.5 ms on api");
    ck_assert_str_eq(jstr(m, "attachments.0.color"), "#d50000");
    ck_assert_str_eq(jstr(m, "attachments.0.blocks.0.type"), "header");
    ck_assert_ptr_nonnull(
        strstr(jstr(m, "attachments.0.blocks.0.text.text"), "CRITICAL"));
    ck_assert_int_eq(
        cJSON_GetArraySize(jget(m, "attachments.0.blocks.1.fields")), 4);
    ck_assert_ptr_nonnull(
        strstr(jstr(m, "attachments.0.blocks.1.fields.0.text"),
               "ok \xe2\x86\x92 critical"));
    ck_assert_ptr_nonnull(
        strstr(jstr(m, "attachments.0.blocks.1.fields.2.text"), "512.5"));
    ck_assert_ptr_nonnull(
        strstr(jstr(m, "attachments.0.blocks.2.text.text"), "service=api"));
    ck_assert_ptr_nonnull(strstr(jstr(m, "attachments.0.blocks.3.text.text"),
                                 "p90 latency 512.5 ms on api"));
    ck_assert_str_eq(jstr(m, "attachments.0.blocks.4.type"), "context");
    ck_assert_ptr_nonnull(strstr(
        jstr(m, "attachments.0.blocks.4.elements.0.text"), "3f0c9a0011223344"));
    cJSON_Delete(m);
    cJSON_Delete(p);
    fx_teardown(&f);
}
END_TEST

START_TEST(slack_escalated_shows_previous_to_new_severity)
{
    struct fixture f;
    cJSON *p = mk_payload("escalated", "critical", "warning", "512.5", svc_api,
                          "s"),
          *m;

    fx_setup(&f, "slack", slack_yaml);
    m = render_slack(&f, "event", p);
    ck_assert_ptr_nonnull(strstr(jstr(m, "text"), "escalated"));
    ck_assert_ptr_nonnull(
        strstr(jstr(m, "attachments.0.blocks.1.fields.0.text"),
               "warning \xe2\x86\x92 critical"));
    ck_assert_ptr_nonnull(
        strstr(jstr(m, "attachments.0.blocks.0.text.text"), "escalated"));
    cJSON_Delete(m);
    cJSON_Delete(p);
    fx_teardown(&f);
}
END_TEST

START_TEST(slack_resolved_is_green_with_check_mark_header)
{
    struct fixture f;
    cJSON *p = resolved_payload(), *m;

    fx_setup(&f, "slack", slack_yaml);
    m = render_slack(&f, "event", p);
    ck_assert_str_eq(jstr(m, "attachments.0.color"), "#2e7d32");
    ck_assert_ptr_eq(strstr(jstr(m, "attachments.0.blocks.0.text.text"),
                            ":white_check_mark: RESOLVED"),
                     jstr(m, "attachments.0.blocks.0.text.text"));
    ck_assert_ptr_eq(strstr(jstr(m, "text"),
                            "[RESOLVED] api_p90_latency service=api resolved"),
                     jstr(m, "text"));
    ck_assert_ptr_nonnull(
        strstr(jstr(m, "attachments.0.blocks.1.fields.3.text"), "Duration"));
    ck_assert_ptr_nonnull(
        strstr(jstr(m, "attachments.0.blocks.1.fields.3.text"), "2m"));
    cJSON_Delete(m);
    cJSON_Delete(p);
    fx_teardown(&f);
}
END_TEST

START_TEST(slack_repeat_is_marked_still_firing)
{
    struct fixture f;
    cJSON *p = firing_payload(), *m;

    fx_setup(&f, "slack", slack_yaml);
    m = render_slack(&f, "repeat", p);
    ck_assert_ptr_nonnull(strstr(jstr(m, "text"), "(still firing)"));
    ck_assert_ptr_nonnull(
        strstr(jstr(m, "attachments.0.blocks.0.text.text"), "(still firing)"));
    cJSON_Delete(m);
    cJSON_Delete(p);
    fx_teardown(&f);
}
END_TEST

START_TEST(slack_nodata_shows_no_data_value)
{
    struct fixture f;
    cJSON *p = mk_payload("firing", "warning", "ok", NULL, svc_api, NULL), *m;

    fx_setup(&f, "slack", slack_yaml);
    m = render_slack(&f, "event", p);
    ck_assert_str_eq(jstr(m, "attachments.0.color"), "#ffab00");
    ck_assert_ptr_nonnull(
        strstr(jstr(m, "attachments.0.blocks.1.fields.2.text"), "no data"));
    ck_assert_ptr_nonnull(strstr(jstr(m, "text"), "(no data)"));
    cJSON_Delete(m);
    cJSON_Delete(p);
    fx_teardown(&f);
}
END_TEST

START_TEST(slack_escapes_amp_lt_gt_in_user_strings_and_nothing_else)
{
    struct fixture f;
    const char *const labels[] = {"path", "<a&b> \"q\" 'x' *y* _z_ `c`", NULL};
    cJSON *p = mk_payload("firing", "critical", "ok", "1", labels,
                          "<!here> & \"ok\""),
          *m;
    char *all;

    fx_setup(&f, "slack", slack_yaml);
    m = render_slack(&f, "event", p);
    ck_assert_ptr_nonnull(strstr(jstr(m, "attachments.0.blocks.2.text.text"),
                                 "path=&lt;a&amp;b&gt; \"q\" 'x' *y* _z_ `c`"));
    ck_assert_ptr_nonnull(strstr(jstr(m, "attachments.0.blocks.3.text.text"),
                                 "&lt;!here&gt; &amp; \"ok\""));
    ck_assert_ptr_nonnull(strstr(jstr(m, "text"), "&lt;!here&gt;"));
    all = cJSON_PrintUnformatted(m);
    ck_assert_ptr_null(strstr(all, "<!here>"));
    ck_assert_ptr_null(strstr(all, "&quot;"));
    ck_assert_ptr_null(strstr(all, "&#39;"));
    free(all);
    cJSON_Delete(m);
    cJSON_Delete(p);
    fx_teardown(&f);
}
END_TEST

START_TEST(slack_truncates_10000_char_annotation_on_utf8_boundary)
{
    struct fixture f;
    struct buf b;
    cJSON *p, *m;
    const char *sum;

    buf_init(&b, 0);
    for (int i = 0; i < 2500; i++)
        buf_adds(&b, i % 3 ? "\xc3\xa9&<x" : "ab\xe2\x82\xac");
    p = mk_payload("firing", "critical", "ok", "1", svc_api, buf_str(&b));
    fx_setup(&f, "slack", slack_yaml);
    m = render_slack(&f, "event", p);
    sum = jstr(m, "attachments.0.blocks.3.text.text");
    ck_assert_uint_le(strlen(sum), 3000);
    ck_assert_uint_gt(strlen(sum), 2900);
    ck_assert_str_eq(sum + strlen(sum) - 3, "\xe2\x80\xa6");
    /* No entity is cut in half. */
    {
        const char *amp = strrchr(sum, '&');
        ck_assert_ptr_nonnull(strchr(amp, ';'));
    }
    cJSON_Delete(m);
    /* A description after the long summary has its own section: the cut
     * of the summary does not take it away. */
    cJSON_AddStringToObject(
        cJSON_GetObjectItem(cJSON_GetObjectItem(p, "event"), "annotations"),
        "description", "see the runbook");
    m = render_slack(&f, "event", p);
    ck_assert_str_eq(jstr(m, "attachments.0.blocks.4.text.text"),
                     "*Description*\nsee the runbook");
    ck_assert_str_eq(jstr(m, "attachments.0.blocks.5.type"), "context");
    cJSON_Delete(m);
    cJSON_Delete(p);
    buf_cleanup(&b);
    fx_teardown(&f);
}
END_TEST

/* Found by fuzz_render: a severity word longer than the header's buffer
 * (a damaged outbox row) was cut inside a UTF-8 character. */
START_TEST(slack_cuts_an_overlong_severity_on_a_character_boundary)
{
    struct fixture f;
    struct request r = {0};
    struct buf sev;
    cJSON *p;

    buf_init(&sev, 0);
    buf_adds(&sev, "cr");
    for (int i = 0; i < 40; i++)
        buf_adds(&sev, "\xc3\xa9");
    p = mk_payload("firing", buf_str(&sev), "ok", "1", svc_api, "s");
    fx_setup(&f, "slack", slack_yaml);
    ck_assert_int_eq(render(&f, "event", p, &r), 0);
    ck_assert(util_utf8_valid(r.body, r.body_len));
    ck_assert_ptr_nonnull(strstr(r.body, "CR\xc3\xa9"));
    request_cleanup(&r);
    cJSON_Delete(p);
    buf_cleanup(&sev);
    fx_teardown(&f);
}
END_TEST

/* The word Slack and email titles start with ("[CRITICAL] ..."), shared by
 * both: upper-cased, cut short on a character boundary. */
START_TEST(severity_word_is_cut_on_a_character_boundary)
{
    struct am_event ev = {0};
    char word[32];
    struct buf sev;

    buf_init(&sev, 0);
    buf_adds(&sev, "cr");
    for (int i = 0; i < 40; i++)
        buf_adds(&sev, "\xc3\xa9");
    ev.shown = buf_str(&sev);
    am_severity_word(&ev, word, sizeof(word));
    ck_assert_uint_eq(strlen(word), 30); /* "CR" and 14 whole e-acutes */
    ck_assert(util_utf8_valid(word, strlen(word)));
    ck_assert_int_eq(strncmp(word, "CR\xc3\xa9", 4), 0);
    ev.resolved = true;
    am_severity_word(&ev, word, sizeof(word));
    ck_assert_str_eq(word, "RESOLVED");
    ck_assert_str_eq(am_severity_color(&ev), "#2e7d32");
    ev.resolved = false;
    ev.shown = "warning";
    am_severity_word(&ev, word, sizeof(word));
    ck_assert_str_eq(word, "WARNING");
    ck_assert_str_eq(am_severity_color(&ev), "#ffab00");
    buf_cleanup(&sev);
}
END_TEST

START_TEST(slack_200_labels_stay_within_limits)
{
    struct fixture f;
    const char **labels = calloc(401, sizeof(char *));
    char names[200][16], values[200][48];
    cJSON *p, *m;

    for (int i = 0; i < 200; i++) {
        snprintf(names[i], sizeof(names[i]), "label%03d", i);
        snprintf(values[i], sizeof(values[i]), "v\xc3\xa4lue-%d-<%d>", i, i);
        labels[2 * i] = names[i];
        labels[2 * i + 1] = values[i];
    }
    p = mk_payload("firing", "critical", "ok", "1", labels, "s");
    fx_setup(&f, "slack", slack_yaml);
    m = render_slack(&f, "event", p);
    ck_assert_ptr_nonnull(
        strstr(jstr(m, "attachments.0.blocks.2.text.text"), "label000="));
    ck_assert_uint_le(strlen(jstr(m, "text")), 2000);
    cJSON_Delete(m);
    cJSON_Delete(p);
    free(labels);
    fx_teardown(&f);
}
END_TEST

START_TEST(slack_report_is_a_ranked_table_within_limits)
{
    struct fixture f;
    cJSON *p = report_payload(200), *m;
    const char *t;

    fx_setup(&f, "slack", slack_yaml);
    m = render_slack(&f, "report", p);
    ck_assert_str_eq(jstr(m, "text"), "tocsin noisy-alert report (7d)");
    t = jstr(m, "blocks.1.text.text");
    ck_assert_ptr_nonnull(strstr(t, "```"));
    ck_assert_ptr_nonnull(strstr(t, "rule_&lt;0&gt;"));
    ck_assert_ptr_nonnull(strstr(t, "more rules"));
    ck_assert(strstr(t, "rule_&lt;0&gt;") < strstr(t, "rule_&lt;1&gt;"));
    cJSON_Delete(m);
    cJSON_Delete(p);
    fx_teardown(&f);
}
END_TEST

/* Columns of the report table in characters, &lt; &gt; &amp; counting one
 * each, as Slack shows them. */
static size_t shown_cols(const char *p, const char *end)
{
    size_t n = 0;

    while (p < end) {
        if (*p == '&') {
            const char *semi = memchr(p, ';', (size_t)(end - p));
            p = semi ? semi + 1 : p + 1;
        } else {
            p++;
            while (p < end && ((unsigned char)*p & 0xC0) == 0x80)
                p++;
        }
        n++;
    }
    return n;
}

/* A cut rule name keeps its head and its tail ("…" in the middle), so
 * names that differ at the end still differ, and every row of the table
 * is as wide as its header: the numbers stay under their headings. */
START_TEST(slack_report_table_lines_up_and_cut_names_keep_their_tail)
{
    static const char *const names[] = {
        "api_latency_p90_for_the_checkout_service_eu",
        "api_latency_p90_for_the_checkout_service_us",
        "<&>_short",
    };
    struct fixture f;
    cJSON *p = report_payload(3), *m;
    cJSON *rules = cJSON_GetObjectItem(
        cJSON_GetObjectItem(cJSON_GetObjectItem(p, "report"), "json"), "rules");
    const char *t, *line, *end;
    size_t width = 0, rows = 0;

    for (int i = 0; i < 3; i++)
        cJSON_ReplaceItemInObject(cJSON_GetArrayItem(rules, i), "rule",
                                  cJSON_CreateString(names[i]));
    fx_setup(&f, "slack", slack_yaml);
    m = render_slack(&f, "report", p);
    t = jstr(m, "blocks.1.text.text");
    ck_assert_ptr_nonnull(
        strstr(t, "api_latency_p90_for_\xe2\x80\xa6_service_eu "));
    ck_assert_ptr_nonnull(
        strstr(t, "api_latency_p90_for_\xe2\x80\xa6_service_us "));
    ck_assert_ptr_nonnull(strstr(t, "&lt;&amp;&gt;_short "));
    line = strchr(strstr(t, "```"), '\n') + 1;
    while ((end = strchr(line, '\n')) != NULL) {
        size_t w = shown_cols(line, end);
        if (width == 0)
            width = w;
        ck_assert_uint_eq(w, width);
        rows++;
        line = end + 1;
    }
    ck_assert_uint_eq(rows, 4); /* the header and three rules */
    cJSON_Delete(m);
    cJSON_Delete(p);
    fx_teardown(&f);
}
END_TEST

START_TEST(slack_check_accepts_only_200_with_body_ok)
{
    const struct notifier_ops *s = notifier_kind("slack");
    ck_assert_int_eq(s->check(NULL, 200, "ok", 2), DELIVERY_OK);
    ck_assert_int_eq(s->check(NULL, 200, "invalid_blocks", 14), DELIVERY_FAIL);
    ck_assert_int_eq(s->check(NULL, 204, "", 0), DELIVERY_FAIL);
    ck_assert_int_eq(s->check(NULL, 429, "", 0), DELIVERY_RETRY);
    ck_assert_int_eq(s->check(NULL, 500, "rollup_error", 12), DELIVERY_RETRY);
    ck_assert_int_eq(s->check(NULL, 410, "channel_is_archived", 19),
                     DELIVERY_FAIL);
    ck_assert_int_eq(s->check(NULL, 404, "no_service", 10), DELIVERY_FAIL);
    ck_assert_int_eq(s->check(NULL, 400, "invalid_payload", 15), DELIVERY_FAIL);
}
END_TEST

START_TEST(slack_configure_reports_missing_url_and_unknown_key_with_position)
{
    struct fixture f;

    fx_setup(&f, "slack", "type: slack\nchannel: \"#ops\"\n");
    ck_assert_int_lt(f.rc, 0);
    ck_assert(diag_has(&f.d, "t.yaml:2:1: unknown key \"channel\""));
    ck_assert(diag_has(&f.d, "needs \"url\""));
    ck_assert_ptr_null(f.n.priv);
    fx_teardown(&f);
}
END_TEST

/* ---- Alertmanager payload / webhook ---- */

static cJSON *render_webhook(struct fixture *f, const char *kind,
                             const cJSON *payload, struct request *r)
{
    cJSON *m;

    ck_assert_int_eq(render(f, kind, payload, r), 0);
    ck_assert_int_eq(r->kind, REQ_HTTP);
    ck_assert_str_eq(header_value(r->headers, "Content-Type"),
                     "application/json");
    /* tocsin's User-Agent is libcurl's CURLOPT_USERAGENT, not a header
     * libcurl would compare with each of its own on every request. */
    ck_assert_ptr_null(header_value(r->headers, "User-Agent"));
    ck_assert_str_eq(header_value(r->headers, "webhook-id"), "n-42-abc");
    m = cJSON_Parse(r->body);
    ck_assert_ptr_nonnull(m);
    return m;
}

START_TEST(webhook_default_body_is_alertmanager_v4_while_firing)
{
    struct fixture f;
    struct request r = {0};
    cJSON *p = firing_payload(), *m;

    fx_setup(&f, "webhook", "type: webhook\nurl: http://127.0.0.1:9/hook\n");
    ck_assert_int_eq(f.rc, 0);
    m = render_webhook(&f, "event", p, &r);
    ck_assert_ptr_null(r.method);
    ck_assert_str_eq(jstr(m, "version"), "4");
    ck_assert_str_eq(jstr(m, "receiver"), "recv");
    ck_assert_str_eq(jstr(m, "status"), "firing");
    ck_assert_int_eq(cJSON_GetArraySize(jget(m, "alerts")), 1);
    ck_assert_str_eq(jstr(m, "alerts.0.status"), "firing");
    ck_assert_str_eq(jstr(m, "alerts.0.labels.alertname"), "api_p90_latency");
    ck_assert_str_eq(jstr(m, "alerts.0.labels.service"), "api");
    ck_assert_str_eq(jstr(m, "alerts.0.labels.severity"), "critical");
    ck_assert_str_eq(jstr(m, "alerts.0.annotations.summary"),
                     "p90 latency 512.5 ms on api");
    ck_assert_str_eq(jstr(m, "alerts.0.startsAt"), "2026-01-01T00:00:00Z");
    ck_assert_str_eq(jstr(m, "alerts.0.endsAt"), "0001-01-01T00:00:00Z");
    ck_assert_str_eq(jstr(m, "alerts.0.generatorURL"), "");
    ck_assert_str_eq(jstr(m, "alerts.0.fingerprint"), "3f0c9a0011223344");
    /* One alert per message: its group is the labels that name it, not
     * severity (so a receiver keyed by groupKey follows one alert). */
    ck_assert_str_eq(jstr(m, "groupLabels.alertname"), "api_p90_latency");
    ck_assert_str_eq(jstr(m, "groupLabels.service"), "api");
    ck_assert_ptr_null(jget(m, "groupLabels.severity"));
    ck_assert_str_eq(jstr(m, "commonLabels.severity"), "critical");
    ck_assert_str_eq(jstr(m, "commonAnnotations.summary"),
                     "p90 latency 512.5 ms on api");
    ck_assert_str_eq(jstr(m, "externalURL"), "");
    ck_assert_str_eq(jstr(m, "groupKey"),
                     "{}:{alertname=\"api_p90_latency\", service=\"api\"}");
    ck_assert(cJSON_IsNumber(jget(m, "truncatedAlerts")));
    ck_assert_int_eq(jget(m, "truncatedAlerts")->valueint, 0);
    ck_assert_ptr_null(header_value(r.headers, "webhook-signature"));
    request_cleanup(&r);
    cJSON_Delete(m);
    cJSON_Delete(p);
    fx_teardown(&f);
}
END_TEST

START_TEST(webhook_resolved_payload_ends_at_event_time_with_previous_severity)
{
    struct fixture f;
    struct request r = {0};
    cJSON *p = resolved_payload(), *m;

    fx_setup(&f, "webhook",
             "type: webhook\nurl: https://x.example/h\nmethod: PUT\n");
    m = render_webhook(&f, "event", p, &r);
    ck_assert_str_eq(r.method, "PUT");
    ck_assert_str_eq(jstr(m, "status"), "resolved");
    ck_assert_str_eq(jstr(m, "alerts.0.status"), "resolved");
    ck_assert_str_eq(jstr(m, "alerts.0.endsAt"), "2026-01-01T00:02:00Z");
    ck_assert_str_eq(jstr(m, "alerts.0.labels.severity"), "critical");
    request_cleanup(&r);
    cJSON_Delete(m);
    cJSON_Delete(p);
    fx_teardown(&f);
}
END_TEST

START_TEST(webhook_body_template_renders_typed_scalars)
{
    struct fixture f;
    struct request r = {0};
    cJSON *p = firing_payload(), *m;

    fx_setup(&f, "webhook",
             "type: webhook\nurl: https://x.example/h\n"
             "body:\n"
             "  action: scale_up\n"
             "  service: \"{{ labels.service }}\"\n"
             "  p90_ms: \"{{ value }}\"\n"
             "  replicas: 3\n"
             "  ratio: 0.5\n"
             "  plus: +7\n"
             "  enabled: true\n"
             "  off: false\n"
             "  nothing: null\n"
             "  tilde: ~\n"
             "  empty:\n"
             "  quoted: \"true\"\n"
             "  quoted_num: '42'\n"
             "  huge: 1e999\n"
             "  tags: [a, 2, \"{{ severity }}\"]\n"
             "  nested: {rule: \"{{ rule }}\", fp: \"{{ fingerprint }}\"}\n");
    ck_assert_int_eq(f.rc, 0);
    m = render_webhook(&f, "event", p, &r);
    ck_assert_str_eq(jstr(m, "action"), "scale_up");
    ck_assert_str_eq(jstr(m, "service"), "api");
    ck_assert_str_eq(jstr(m, "p90_ms"), "512.5");
    ck_assert(cJSON_IsNumber(jget(m, "replicas")));
    ck_assert_double_eq(jget(m, "replicas")->valuedouble, 3);
    ck_assert_double_eq(jget(m, "ratio")->valuedouble, 0.5);
    ck_assert(cJSON_IsNumber(jget(m, "plus")));
    ck_assert_double_eq(jget(m, "plus")->valuedouble, 7);
    ck_assert(cJSON_IsTrue(jget(m, "enabled")));
    ck_assert(cJSON_IsFalse(jget(m, "off")));
    ck_assert(cJSON_IsNull(jget(m, "nothing")));
    ck_assert(cJSON_IsNull(jget(m, "tilde")));
    ck_assert(cJSON_IsNull(jget(m, "empty")));
    ck_assert_str_eq(jstr(m, "quoted"), "true");
    ck_assert_str_eq(jstr(m, "quoted_num"), "42");
    /* JSON syntax, but no double: a string rather than an infinity. */
    ck_assert_str_eq(jstr(m, "huge"), "1e999");
    ck_assert_str_eq(jstr(m, "tags.0"), "a");
    ck_assert(cJSON_IsNumber(jget(m, "tags.1")));
    ck_assert_str_eq(jstr(m, "tags.2"), "critical");
    ck_assert_str_eq(jstr(m, "nested.rule"), "api_p90_latency");
    ck_assert_str_eq(jstr(m, "nested.fp"), "3f0c9a0011223344");
    request_cleanup(&r);
    cJSON_Delete(m);
    cJSON_Delete(p);
    fx_teardown(&f);
}
END_TEST

/* Explicit YAML tags decide a body leaf's type, and plain scalars follow
 * the YAML 1.2 core schema (True, 0x10). */
START_TEST(webhook_body_honours_yaml_tags_and_core_schema)
{
    struct fixture f;
    struct request r = {0};
    cJSON *p = firing_payload(), *m;

    fx_setup(&f, "webhook",
             "type: webhook\nurl: https://x.example/h\n"
             "body:\n"
             "  tstr: !!str 5\n"
             "  version: !!str 1.10\n"
             "  tint: !!int \"7\"\n"
             "  tfloat: !!float \"2.5\"\n"
             "  tbool: !!bool \"true\"\n"
             "  tnull: !!null \"\"\n"
             "  bang: ! 12\n"
             "  cap: True\n"
             "  upper: FALSE\n"
             "  hex: 0x10\n"
             "  oct: 0o17\n");
    ck_assert_int_eq(f.rc, 0);
    m = render_webhook(&f, "event", p, &r);
    ck_assert_str_eq(jstr(m, "tstr"), "5");
    ck_assert_str_eq(jstr(m, "version"), "1.10");
    ck_assert(cJSON_IsNumber(jget(m, "tint")));
    ck_assert_double_eq(jget(m, "tint")->valuedouble, 7);
    ck_assert_double_eq(jget(m, "tfloat")->valuedouble, 2.5);
    ck_assert(cJSON_IsTrue(jget(m, "tbool")));
    ck_assert(cJSON_IsNull(jget(m, "tnull")));
    ck_assert_str_eq(jstr(m, "bang"), "12");
    ck_assert(cJSON_IsTrue(jget(m, "cap")));
    ck_assert(cJSON_IsFalse(jget(m, "upper")));
    ck_assert_double_eq(jget(m, "hex")->valuedouble, 16);
    ck_assert_double_eq(jget(m, "oct")->valuedouble, 15);
    request_cleanup(&r);
    cJSON_Delete(m);
    cJSON_Delete(p);
    fx_teardown(&f);
}
END_TEST

START_TEST(webhook_body_json_escapes_label_with_quotes_and_newlines)
{
    struct fixture f;
    struct request r = {0};
    const char *const labels[] = {"service", "a\"b\\c\nd\te}", NULL};
    cJSON *p = mk_payload("firing", "critical", "ok", NULL, labels, NULL), *m;

    fx_setup(&f, "webhook",
             "type: webhook\nurl: https://x.example/h\n"
             "body: {svc: \"x{{ labels.service }}y\", v: \"{{ value }}\"}\n");
    m = render_webhook(&f, "event", p, &r);
    ck_assert_ptr_nonnull(strstr(r.body, "\\\"b\\\\c\\nd\\te}"));
    ck_assert_ptr_null(strchr(r.body, '\n'));
    ck_assert_str_eq(jstr(m, "svc"), "xa\"b\\c\nd\te}y");
    ck_assert_str_eq(jstr(m, "v"), ""); /* nodata: no value */
    request_cleanup(&r);
    cJSON_Delete(m);
    cJSON_Delete(p);
    fx_teardown(&f);
}
END_TEST

START_TEST(webhook_body_unknown_template_path_is_error_at_node)
{
    struct fixture f;

    fx_setup(&f, "webhook",
             "type: webhook\nurl: https://x.example/h\n"
             "body:\n  a: ok\n  b: \"{{ labelz.x }}\"\n");
    ck_assert_int_lt(f.rc, 0);
    ck_assert(diag_has(&f.d, "t.yaml:5:"));
    ck_assert(diag_has(&f.d, "unknown template path"));
    fx_teardown(&f);
}
END_TEST

START_TEST(webhook_configure_rejects_bad_headers_method_and_missing_url)
{
    struct fixture f;

    fx_setup(&f, "webhook",
             "type: webhook\nmethod: GET\nheaders:\n  \"X-A\\r\\nB\": v\n"
             "  X-Ok: \"a\\nb\"\n  webhook-id: mine\n");
    ck_assert_int_lt(f.rc, 0);
    ck_assert(diag_has(&f.d, "needs \"url\""));
    ck_assert(diag_has(&f.d, "t.yaml:2:9: unknown method \"GET\""));
    ck_assert(diag_has(&f.d, "t.yaml:4:3: invalid header name"));
    ck_assert(diag_has(&f.d, "must not contain CR or LF"));
    ck_assert(diag_has(&f.d, "set by tocsin"));
    fx_teardown(&f);
    /* A URL libcurl would refuse is a config error, without the URL (its
     * path may hold a token). */
    fx_setup(&f, "webhook",
             "type: webhook\nurl: \"http://127.0.0.1:9/SPACE TOKEN\"\n");
    ck_assert_int_lt(f.rc, 0);
    ck_assert(diag_has(&f.d, "t.yaml:2:6: url is not a valid URL"));
    ck_assert(!diag_has(&f.d, "TOKEN"));
    fx_teardown(&f);
    /* Headers that frame the request are the HTTP client's. */
    fx_setup(&f, "webhook",
             "type: webhook\nurl: http://127.0.0.1:9/\nheaders:\n"
             "  Content-Length: 5\n  transfer-encoding: chunked\n"
             "  Host: h\n  X-Ok: v\n");
    ck_assert_int_lt(f.rc, 0);
    ck_assert(diag_has(&f.d, "t.yaml:4:3: header \"Content-Length\" is set "
                             "by the HTTP client"));
    ck_assert(diag_has(&f.d, "t.yaml:5:3: header \"transfer-encoding\""));
    ck_assert(diag_has(&f.d, "t.yaml:6:3: header \"Host\""));
    ck_assert(!diag_has(&f.d, "X-Ok"));
    fx_teardown(&f);
    fx_setup(&f, "slack", "type: slack\nurl: \"https://u:p@[bad/x\"\n");
    ck_assert_int_lt(f.rc, 0);
    ck_assert(diag_has(&f.d, "url is not a valid URL"));
    fx_teardown(&f);
}
END_TEST

START_TEST(sign_matches_standard_webhooks_test_vector)
{
    char out[128];
    const char *body = "{\"test\": 2432232314}";

    ck_assert_int_eq(
        sign_standard_webhooks("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                               "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body,
                               strlen(body), out, sizeof(out)),
        0);
    ck_assert_str_eq(out, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
}
END_TEST

START_TEST(sign_base64_round_trips_and_rejects_garbage)
{
    unsigned char in[5] = {0, 1, 2, 0xfe, 0xff}, out[8];
    char enc[16];

    ck_assert_int_eq(sign_base64_encode(in, 5, enc, sizeof(enc)), 8);
    ck_assert_str_eq(enc, "AAEC/v8=");
    ck_assert_int_eq(sign_base64_decode(enc, 8, out, sizeof(out)), 5);
    ck_assert_mem_eq(in, out, 5);
    ck_assert_int_eq(sign_base64_decode("ab!d", 4, out, sizeof(out)), -1);
    ck_assert_int_eq(sign_base64_decode("abc", 3, out, sizeof(out)), -1);
    /* A non-base64 secret is used as raw bytes. */
    ck_assert_int_eq(sign_secret_key("not base64!", out, sizeof(out)), -1);
    {
        unsigned char k[32];
        ck_assert_int_eq(sign_secret_key("hunter2!", k, sizeof(k)), 8);
        ck_assert_mem_eq(k, "hunter2!", 8);
        /* whsec_: the base64 after the prefix, with or without padding,
         * never the raw string. */
        ck_assert_int_eq(sign_secret_key("whsec_dGVzdA", k, sizeof(k)), 4);
        ck_assert_mem_eq(k, "test", 4);
        ck_assert_int_eq(sign_secret_key("whsec_dGVzdA=", k, sizeof(k)), 4);
        ck_assert_int_eq(sign_secret_key("whsec_dGVzdA==", k, sizeof(k)), 4);
        ck_assert_mem_eq(k, "test", 4);
        ck_assert_int_eq(sign_secret_key("whsec_dGVzdA===", k, sizeof(k)), 4);
        ck_assert_int_eq(sign_secret_key("whsec_not base64!", k, sizeof(k)),
                         -1);
        ck_assert_int_eq(sign_secret_key("whsec_abcde", k, sizeof(k)), -1);
        ck_assert_int_eq(sign_secret_key("whsec_", k, sizeof(k)), -1);
        /* Without the prefix: base64 with or without padding, as the
         * official JavaScript library decodes it. */
        ck_assert_int_eq(sign_secret_key("YWJjZA", k, sizeof(k)), 4);
        ck_assert_mem_eq(k, "abcd", 4);
        ck_assert_int_eq(sign_secret_key("YWJjZA==", k, sizeof(k)), 4);
        ck_assert_mem_eq(k, "abcd", 4);
    }
}
END_TEST

START_TEST(webhook_signature_headers_verify_when_recomputed)
{
    struct fixture f;
    struct request r = {0};
    cJSON *p = firing_payload(), *m;
    char expect[128];

    fx_setup(&f, "webhook",
             "type: webhook\nurl: https://x.example/h\n"
             "secret: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n"
             "headers: {X-Team: web, Authorization: Bearer abc}\n");
    ck_assert_int_eq(f.rc, 0);
    m = render_webhook(&f, "event", p, &r);
    ck_assert_str_eq(header_value(r.headers, "webhook-timestamp"),
                     "1767225721");
    ck_assert_str_eq(header_value(r.headers, "X-Team"), "web");
    ck_assert_str_eq(header_value(r.headers, "Authorization"), "Bearer abc");
    ck_assert_int_eq(
        sign_standard_webhooks("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                               "n-42-abc", 1767225721, r.body, r.body_len,
                               expect, sizeof(expect)),
        0);
    ck_assert_str_eq(header_value(r.headers, "webhook-signature"), expect);
    request_cleanup(&r);
    /* A retry keeps the id and re-signs with its own timestamp. */
    {
        struct notification nt = {.key = "n-42-abc",
                                  .receiver = "recv",
                                  .kind = "event",
                                  .payload = p,
                                  .now = 1767225800.2};
        struct err e = {0};
        ck_assert_int_eq(f.n.ops->render(&f.n, &nt, &r, &e), 0);
        ck_assert_str_eq(header_value(r.headers, "webhook-id"), "n-42-abc");
        ck_assert_str_eq(header_value(r.headers, "webhook-timestamp"),
                         "1767225800");
        ck_assert_str_ne(header_value(r.headers, "webhook-signature"), expect);
        request_cleanup(&r);
    }
    cJSON_Delete(m);
    cJSON_Delete(p);
    fx_teardown(&f);
}
END_TEST

START_TEST(webhook_report_posts_report_json_as_is)
{
    struct fixture f;
    struct request r = {0};
    cJSON *p = report_payload(2), *m;

    fx_setup(&f, "webhook", "type: webhook\nurl: https://x.example/h\n");
    m = render_webhook(&f, "report", p, &r);
    ck_assert(cJSON_Compare(m, jget(p, "report.json"), 1));
    request_cleanup(&r);
    cJSON_Delete(m);
    cJSON_Delete(p);
    fx_teardown(&f);
}
END_TEST

START_TEST(webhook_and_log_cover_every_event_kind)
{
    static const struct {
        const char *kind, *event, *sev, *prev, *value, *status, *shown;
    } cases[] = {
        {"event", "firing", "warning", "ok", "250", "firing", "warning"},
        {"event", "escalated", "critical", "warning", "600", "firing",
         "critical"},
        {"event", "deescalated", "warning", "critical", "300", "firing",
         "warning"},
        {"event", "resolved", "ok", "warning", "100", "resolved", "warning"},
        {"repeat", "firing", "critical", "ok", "700", "firing", "critical"},
        {"event", "firing", "warning", "ok", NULL, "firing", "warning"},
        {"test", "firing", "critical", "ok", "1", "firing", "critical"},
    };
    const char *kinds[] = {"webhook", "log"};
    for (size_t k = 0; k < 2; k++) {
        struct fixture f;
        fx_setup(&f, kinds[k],
                 k == 0 ? "type: webhook\nurl: http://h/x\n" : "type: log\n");
        ck_assert_int_eq(f.rc, 0);
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
            struct request r = {0};
            cJSON *p = mk_payload(cases[i].event, cases[i].sev, cases[i].prev,
                                  cases[i].value, svc_api, "s"),
                  *m;
            ck_assert_int_eq(render(&f, cases[i].kind, p, &r), 0);
            m = cJSON_Parse(r.body);
            ck_assert_ptr_nonnull(m);
            ck_assert_str_eq(jstr(m, "status"), cases[i].status);
            ck_assert_str_eq(jstr(m, "alerts.0.labels.severity"),
                             cases[i].shown);
            ck_assert_str_eq(jstr(m, "alerts.0.endsAt"),
                             strcmp(cases[i].status, "resolved") == 0
                                 ? "2026-01-01T00:02:00Z"
                                 : "0001-01-01T00:00:00Z");
            if (k == 1) {
                ck_assert_str_eq(jstr(m, "event.event"), cases[i].event);
                ck_assert(cases[i].value
                              ? cJSON_IsNumber(jget(m, "event.value"))
                              : cJSON_IsNull(jget(m, "event.value")));
            }
            request_cleanup(&r);
            cJSON_Delete(m);
            cJSON_Delete(p);
        }
        fx_teardown(&f);
    }
}
END_TEST

/* ---- log ---- */

START_TEST(log_line_is_am_payload_with_receiver_and_event)
{
    struct fixture f;
    struct request r = {0};
    cJSON *p = mk_payload("deescalated", "warning", "critical", "300", svc_api,
                          "s"),
          *m;

    fx_setup(&f, "log", "type: log\n");
    ck_assert_int_eq(f.rc, 0);
    ck_assert_int_eq(render(&f, "event", p, &r), 0);
    ck_assert_int_eq(r.kind, REQ_LOCAL);
    ck_assert_ptr_null(strchr(r.body, '\n'));
    m = cJSON_Parse(r.body);
    ck_assert_str_eq(jstr(m, "receiver"), "recv");
    ck_assert_str_eq(jstr(m, "version"), "4");
    ck_assert_str_eq(jstr(m, "alerts.0.labels.severity"), "warning");
    ck_assert(cJSON_Compare(jget(m, "event"), jget(p, "event"), 1));
    request_cleanup(&r);
    cJSON_Delete(m);
    cJSON_Delete(p);
    fx_teardown(&f);
}
END_TEST

START_TEST(log_appends_one_line_per_notification_to_relative_path)
{
    char dir[] = "/tmp/tocsin-logXXXXXX", path[128], text[8192];
    struct fixture f;
    struct request r = {0};
    struct err e = {0};
    cJSON *p = firing_payload(), *rp = report_payload(1);
    int fd, lines = 0;
    ssize_t got;

    ck_assert_ptr_nonnull(mkdtemp(dir));
    memset(&f, 0, sizeof(f));
    cfg_diag_init(&f.d, "t.yaml");
    f.root = cfg_parse("type: log\npath: out.jsonl\n", 26, &f.d);
    f.n.name = (char *)"audit";
    f.n.ops = notifier_kind("log");
    ck_assert_int_eq(f.n.ops->configure(&f.n, f.root, dir, &f.d), 0);
    ck_assert_int_eq(render(&f, "event", p, &r), 0);
    ck_assert_int_eq(f.n.ops->deliver_local(&f.n, &r, &e), 0);
    ck_assert_int_eq(f.n.ops->deliver_local(&f.n, &r, &e), 0);
    request_cleanup(&r);
    ck_assert_int_eq(render(&f, "report", rp, &r), 0);
    ck_assert_int_eq(f.n.ops->deliver_local(&f.n, &r, &e), 0);
    request_cleanup(&r);
    /* The lines are written by the log notifiers' own thread. */
    log_notifiers_flush(10);
    snprintf(path, sizeof(path), "%s/out.jsonl", dir);
    fd = open(path, O_RDONLY);
    ck_assert_int_ge(fd, 0);
    got = read(fd, text, sizeof(text) - 1);
    close(fd);
    ck_assert_int_gt(got, 0);
    text[got] = '\0';
    for (char *s = text, *nl; (nl = strchr(s, '\n')); s = nl + 1) {
        cJSON *line;
        *nl = '\0';
        line = cJSON_Parse(s);
        ck_assert_ptr_nonnull(line);
        if (lines == 2) {
            ck_assert_str_eq(jstr(line, "receiver"), "recv");
            ck_assert(cJSON_IsArray(jget(line, "report.rules")));
        } else {
            ck_assert_str_eq(jstr(line, "event.event"), "firing");
        }
        cJSON_Delete(line);
        lines++;
    }
    ck_assert_int_eq(lines, 3);
    /* An unwritable path never fails a delivery (the writer logs it);
     * written now (notify-test), it is an error with the reason. */
    {
        struct log_priv_view {
            char *path;
        } *pv = f.n.priv;
        char *old = pv->path;
        pv->path = (char *)"/nonexistent-dir/x.jsonl";
        ck_assert_int_eq(render(&f, "event", p, &r), 0);
        ck_assert_int_eq(f.n.ops->deliver_local(&f.n, &r, &e), 0);
        log_notifiers_flush(10);
        ck_assert_int_eq(f.n.ops->deliver_local_now(&f.n, &r, &e), -1);
        ck_assert_msg(strstr(e.msg, "cannot open /nonexistent-dir/x.jsonl") !=
                          NULL,
                      "%s", e.msg);
        request_cleanup(&r);
        pv->path = old;
    }
    unlink(path);
    rmdir(dir);
    cJSON_Delete(p);
    cJSON_Delete(rp);
    fx_teardown(&f);
}
END_TEST

/* ---- email ---- */

struct mail {
    char *headers; /* unfolded, LF-separated "Name: value" lines */
    const char *body;
};

/* Every line CRLF-terminated and at most 998 octets. */
static void check_lines(const char *m)
{
    const char *s = m;
    while (*s) {
        const char *cr = strstr(s, "\r\n");
        ck_assert_msg(cr != NULL, "unterminated last line");
        ck_assert_uint_le((size_t)(cr - s), 998);
        for (const char *q = s; q < cr; q++)
            ck_assert_msg(*q != '\r' && *q != '\n', "bare CR or LF");
        s = cr + 2;
    }
}

static void mail_parse(const char *m, struct mail *out)
{
    const char *end = strstr(m, "\r\n\r\n");
    struct buf b;

    ck_assert_ptr_nonnull(end);
    buf_init(&b, 0);
    for (const char *s = m; s < end + 2; s++) {
        if (s[0] == '\r' && s[1] == '\n') {
            if (s[2] == ' ' || s[2] == '\t') { /* unfold */
                s += 1;
                continue;
            }
            buf_addc(&b, '\n');
            s++;
            continue;
        }
        buf_addc(&b, *s);
    }
    out->headers = buf_steal(&b);
    out->body = end + 4;
}

/* The unfolded value of header name (first), copied into out. */
static bool mail_header(const struct mail *m, const char *name, char *out,
                        size_t outlen)
{
    size_t n = strlen(name);
    for (const char *s = m->headers; *s;) {
        const char *nl = strchr(s, '\n');
        if (strncasecmp(s, name, n) == 0 && s[n] == ':') {
            const char *v = s + n + 1;
            while (*v == ' ')
                v++;
            snprintf(out, outlen, "%.*s", (int)(nl - v), v);
            return true;
        }
        s = nl + 1;
    }
    return false;
}

static int hexval(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* Decode quoted-printable (CRLF lines) into LF text. */
static char *qp_decode(const char *s, size_t n)
{
    struct buf b;
    buf_init(&b, 0);
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '=' && i + 2 < n && s[i + 1] == '\r' && s[i + 2] == '\n') {
            i += 2;
        } else if (s[i] == '=' && i + 2 < n) {
            int h = hexval(s[i + 1]), l = hexval(s[i + 2]);
            ck_assert(h >= 0 && l >= 0);
            buf_addc(&b, (char)(h * 16 + l));
            i += 2;
        } else if (s[i] == '\r' && i + 1 < n && s[i + 1] == '\n') {
            buf_addc(&b, '\n');
            i++;
        } else {
            buf_addc(&b, s[i]);
        }
    }
    return buf_steal(&b);
}

/* The decoded content of the part with the given content type. */
static char *mail_part(const char *body, const char *boundary, const char *type,
                       const char **where)
{
    char delim[128];
    const char *s = body;
    snprintf(delim, sizeof(delim), "--%s\r\n", boundary);
    while ((s = strstr(s, delim))) {
        const char *hdr = s + strlen(delim), *content = strstr(hdr, "\r\n\r\n");
        const char *next;
        char closing[128];
        ck_assert_ptr_nonnull(content);
        content += 4;
        snprintf(closing, sizeof(closing), "\r\n--%s", boundary);
        next = strstr(content, closing);
        ck_assert_ptr_nonnull(next);
        if (strncmp(hdr, "Content-Type: ", 14) == 0 &&
            strncmp(hdr + 14, type, strlen(type)) == 0) {
            ck_assert_ptr_nonnull(strstr(hdr, "charset=UTF-8"));
            {
                const char *cte =
                    strstr(hdr, "Content-Transfer-Encoding: quoted-printable");
                ck_assert(cte != NULL && cte < content);
            }
            *where = s;
            return qp_decode(content, (size_t)(next - content) + 2);
        }
        s = next;
    }
    return NULL;
}

static const char *email_yaml =
    "type: email\n"
    "smtp: smtp://mail.example.com:587\n"
    "username: u\npassword: p@ss\n"
    "from: \"tocsin <alerts@example.com>\"\n"
    "to: [oncall@example.com, \"Ops Team <ops@example.org>\"]\n";

static char *render_mail(struct fixture *f, const char *kind,
                         const cJSON *payload, struct request *r,
                         struct mail *m)
{
    ck_assert_int_eq(render(f, kind, payload, r), 0);
    ck_assert_int_eq(r->kind, REQ_SMTP);
    ck_assert_uint_eq(r->body_len, strlen(r->body));
    check_lines(r->body);
    mail_parse(r->body, m);
    return r->body;
}

START_TEST(email_message_has_headers_and_text_then_html_parts)
{
    struct fixture f;
    struct request r = {0};
    struct mail m;
    cJSON *p = firing_payload();
    char v[1024], boundary[128];
    const char *bs, *wtext = NULL, *whtml = NULL;
    char *text, *html;

    fx_setup(&f, "email", email_yaml);
    ck_assert_int_eq(f.rc, 0);
    render_mail(&f, "event", p, &r, &m);
    ck_assert_str_eq(r.url, "smtp://mail.example.com:587");
    ck_assert_str_eq(r.mail_from, "alerts@example.com");
    ck_assert_str_eq(r.rcpt->data, "oncall@example.com");
    ck_assert_str_eq(r.rcpt->next->data, "ops@example.org");
    ck_assert_ptr_null(r.rcpt->next->next);
    ck_assert_str_eq(r.username, "u");
    ck_assert_str_eq(r.password, "p@ss");
    ck_assert_int_eq(r.use_ssl, CURLUSESSL_ALL);
    ck_assert(mail_header(&m, "Date", v, sizeof(v)));
    ck_assert_str_eq(v, "Thu, 01 Jan 2026 00:02:01 +0000");
    ck_assert(mail_header(&m, "From", v, sizeof(v)));
    ck_assert_str_eq(v, "tocsin <alerts@example.com>");
    ck_assert(mail_header(&m, "To", v, sizeof(v)));
    ck_assert_str_eq(v, "oncall@example.com, Ops Team <ops@example.org>");
    ck_assert(mail_header(&m, "Subject", v, sizeof(v)));
    ck_assert_str_eq(v, "[CRITICAL] api_p90_latency service=api firing");
    ck_assert(mail_header(&m, "Message-ID", v, sizeof(v)));
    ck_assert_str_eq(
        v, "<tocsin.3f0c9a0011223344.1767225600000.recv@example.com>");
    ck_assert(!mail_header(&m, "In-Reply-To", v, sizeof(v)));
    ck_assert(mail_header(&m, "MIME-Version", v, sizeof(v)));
    ck_assert_str_eq(v, "1.0");
    ck_assert(mail_header(&m, "Content-Type", v, sizeof(v)));
    ck_assert_ptr_eq(strstr(v, "multipart/alternative;"), v);
    bs = strstr(v, "boundary=\"");
    ck_assert_ptr_nonnull(bs);
    snprintf(boundary, sizeof(boundary), "%s", bs + 10);
    *strchr(boundary, '"') = '\0';
    text = mail_part(m.body, boundary, "text/plain", &wtext);
    html = mail_part(m.body, boundary, "text/html", &whtml);
    ck_assert_ptr_nonnull(text);
    ck_assert_ptr_nonnull(html);
    ck_assert(wtext < whtml);
    ck_assert_ptr_nonnull(strstr(text, "p90 latency 512.5 ms on api\n"));
    ck_assert_ptr_nonnull(strstr(text, "service = api\n"));
    ck_assert_ptr_nonnull(strstr(html, "p90 latency 512.5 ms on api"));
    {
        char closing[160];
        snprintf(closing, sizeof(closing), "--%s--\r\n", boundary);
        ck_assert_ptr_nonnull(strstr(m.body, closing));
    }
    free(text);
    free(html);
    free(m.headers);
    request_cleanup(&r);
    cJSON_Delete(p);
    fx_teardown(&f);
}
END_TEST

START_TEST(email_subject_names_the_by_labels_not_the_rule_labels)
{
    /* The SPEC's example: by [service], labels {team: web}. */
    static const char *const lbl[] = {"service", "api", "team", "web", NULL};
    struct fixture f;
    struct request r = {0};
    struct mail m;
    cJSON *p = mk_payload("firing", "critical", "ok", "512.5", lbl, "s");
    cJSON *by = cJSON_AddArrayToObject(p, "by");
    char v[1024];

    cJSON_AddItemToArray(by, cJSON_CreateString("service"));
    fx_setup(&f, "email", email_yaml);
    ck_assert_int_eq(f.rc, 0);
    render_mail(&f, "event", p, &r, &m);
    ck_assert(mail_header(&m, "Subject", v, sizeof(v)));
    ck_assert_str_eq(v, "[CRITICAL] api_p90_latency service=api firing");
    free(m.headers);
    request_cleanup(&r);
    cJSON_Delete(p);
    fx_teardown(&f);
}
END_TEST

START_TEST(email_html_escapes_values_and_qp_keeps_lines_short)
{
    struct fixture f;
    struct request r = {0};
    struct mail m;
    struct buf big;
    const char *const labels[] = {"path", "<script>&\"'", NULL};
    cJSON *p;
    char v[256], *html, *text;
    const char *w;

    buf_init(&big, 0);
    for (int i = 0; i < 300; i++)
        buf_adds(&big, "caf\xc3\xa9 = x ");
    p = mk_payload("firing", "warning", "ok", "1", labels, buf_str(&big));
    fx_setup(&f, "email", email_yaml);
    render_mail(&f, "event", p, &r, &m);
    ck_assert(mail_header(&m, "Content-Type", v, sizeof(v)));
    {
        char boundary[128];
        snprintf(boundary, sizeof(boundary), "%s",
                 strstr(v, "boundary=\"") + 10);
        *strchr(boundary, '"') = '\0';
        html = mail_part(m.body, boundary, "text/html", &w);
        text = mail_part(m.body, boundary, "text/plain", &w);
    }
    ck_assert_ptr_nonnull(strstr(html, "&lt;script&gt;&amp;&quot;&#39;"));
    ck_assert_ptr_null(strstr(html, "<script>"));
    ck_assert_ptr_nonnull(strstr(text, buf_str(&big)));
    /* QP lines of the body are at most 76 chars. */
    for (const char *s = m.body; *s;) {
        const char *cr = strstr(s, "\r\n");
        ck_assert_uint_le((size_t)(cr - s), 76);
        s = cr + 2;
    }
    free(html);
    free(text);
    free(m.headers);
    buf_cleanup(&big);
    request_cleanup(&r);
    cJSON_Delete(p);
    fx_teardown(&f);
}
END_TEST

static char *decode_words(const char *v)
{
    struct buf b;
    const char *s = v;
    buf_init(&b, 0);
    while ((s = strstr(s, "=?UTF-8?B?"))) {
        const char *e = strstr(s + 10, "?=");
        unsigned char raw[128];
        int n;
        ck_assert_ptr_nonnull(e);
        ck_assert_uint_le((size_t)(e + 2 - s), 75);
        n = sign_base64_decode(s + 10, (size_t)(e - s - 10), raw, sizeof(raw));
        ck_assert_int_ge(n, 0);
        ck_assert_msg(util_utf8_valid((const char *)raw, (size_t)n),
                      "an encoded-word splits a UTF-8 character");
        buf_add(&b, raw, (size_t)n);
        s = e + 2;
    }
    return buf_steal(&b);
}

START_TEST(email_non_ascii_subject_is_rfc2047_words_not_splitting_chars)
{
    struct fixture f;
    struct request r = {0};
    struct mail m;
    const char *const labels[] = {"city",
                                  "Z\xc3\xbcrich-\xe6\x9d\xb1\xe4\xba\xac-"
                                  "\xf0\x9f\x94\xa5\xf0\x9f\x94\xa5-"
                                  "S\xc3\xa3o Paulo-\xd0\x9c\xd0\xbe\xd1\x81"
                                  "\xd0\xba\xd0\xb2\xd0\xb0-long-long-long",
                                  NULL};
    cJSON *p = mk_payload("firing", "critical", "ok", "1", labels, "s");
    char v[2048], expect[512], *dec;
    const char *subj, *end;

    fx_setup(&f, "email", email_yaml);
    render_mail(&f, "event", p, &r, &m);
    /* Raw folded lines of the Subject header: each at most 76 chars. */
    subj = strstr(r.body, "\r\nSubject: ") + 2;
    end = subj;
    do {
        const char *cr = strstr(end, "\r\n");
        ck_assert_uint_le((size_t)(cr - end), 76);
        end = cr + 2;
    } while (*end == ' ');
    ck_assert(mail_header(&m, "Subject", v, sizeof(v)));
    ck_assert_ptr_eq(strstr(v, "=?UTF-8?B?"), v);
    dec = decode_words(v);
    snprintf(expect, sizeof(expect),
             "[CRITICAL] api_p90_latency city=%s firing", labels[1]);
    ck_assert_str_eq(dec, expect);
    free(dec);
    free(m.headers);
    request_cleanup(&r);
    cJSON_Delete(p);
    fx_teardown(&f);
}
END_TEST

/* Rule and labels past 300 bytes are cut, with "…", before the event. */
START_TEST(email_subject_is_cut_past_300_bytes)
{
    static char big[1200];
    const char *lbl[] = {"note", big, NULL};
    struct fixture f;
    struct request r = {0};
    struct mail m;
    cJSON *p;
    char v[4096], *dec;

    memset(big, 'x', sizeof(big) - 1);
    p = mk_payload("firing", "critical", "ok", "1", lbl, "s");
    fx_setup(&f, "email", email_yaml);
    render_mail(&f, "event", p, &r, &m);
    ck_assert(mail_header(&m, "Subject", v, sizeof(v)));
    dec = decode_words(v);
    ck_assert_msg(strlen(dec) < 340, "%zu: %s", strlen(dec), dec);
    ck_assert_ptr_nonnull(strstr(dec, "\xE2\x80\xA6 firing"));
    ck_assert_ptr_eq(strstr(dec, "[CRITICAL] api_p90_latency note=xxx"), dec);
    free(dec);
    free(m.headers);
    request_cleanup(&r);
    cJSON_Delete(p);
    fx_teardown(&f);
}
END_TEST

START_TEST(email_label_with_crlf_cannot_inject_a_header)
{
    struct fixture f;
    struct request r = {0};
    struct mail m;
    const char *const labels[] = {"x", "a\r\nBcc: evil@example.net", NULL};
    cJSON *p = mk_payload("firing", "critical", "ok", "1", labels, "s");
    char v[512], *dec;

    fx_setup(&f, "email", email_yaml);
    render_mail(&f, "event", p, &r, &m);
    ck_assert(!mail_header(&m, "Bcc", v, sizeof(v)));
    ck_assert(mail_header(&m, "Subject", v, sizeof(v)));
    dec = decode_words(v);
    ck_assert_str_eq(
        dec, "[CRITICAL] api_p90_latency x=a\r\nBcc: evil@example.net firing");
    free(dec);
    free(m.headers);
    request_cleanup(&r);
    cJSON_Delete(p);
    fx_teardown(&f);
    /* Configured mailboxes with control characters are refused. */
    fx_setup(&f, "email",
             "type: email\nsmtp: smtp://h\nfrom: \"a\\nBcc: x <a@b.c>\"\nto: "
             "d@e.f\n");
    ck_assert_int_lt(f.rc, 0);
    ck_assert(diag_has(&f.d, "t.yaml:3:7: from"));
    fx_teardown(&f);
}
END_TEST

START_TEST(email_resolved_mail_threads_to_firing_message_id)
{
    struct fixture f;
    struct request r = {0};
    struct mail m;
    cJSON *fp = firing_payload(), *rp = resolved_payload();
    cJSON *ep =
        mk_payload("escalated", "critical", "warning", "600", svc_api, "s");
    char first[256], v[256];

    fx_setup(&f, "email", email_yaml);
    render_mail(&f, "event", fp, &r, &m);
    ck_assert(mail_header(&m, "Message-ID", first, sizeof(first)));
    free(m.headers);
    request_cleanup(&r);

    render_mail(&f, "event", rp, &r, &m);
    ck_assert(mail_header(&m, "Subject", v, sizeof(v)));
    ck_assert_str_eq(v, "[RESOLVED] api_p90_latency service=api resolved");
    ck_assert(mail_header(&m, "In-Reply-To", v, sizeof(v)));
    ck_assert_str_eq(v, first);
    ck_assert(mail_header(&m, "References", v, sizeof(v)));
    ck_assert_str_eq(v, first);
    ck_assert(mail_header(&m, "Message-ID", v, sizeof(v)));
    ck_assert_str_eq(v, "<tocsin.n-42-abc@example.com>");
    free(m.headers);
    request_cleanup(&r);

    render_mail(&f, "event", ep, &r, &m);
    ck_assert(mail_header(&m, "Subject", v, sizeof(v)));
    ck_assert_str_eq(v, "[CRITICAL] api_p90_latency service=api escalated");
    ck_assert(mail_header(&m, "In-Reply-To", v, sizeof(v)));
    ck_assert_str_eq(v, first);
    free(m.headers);
    request_cleanup(&r);

    /* A reminder of a firing alert threads too. */
    render_mail(&f, "repeat", fp, &r, &m);
    ck_assert(mail_header(&m, "In-Reply-To", v, sizeof(v)));
    ck_assert_str_eq(v, first);
    ck_assert(mail_header(&m, "Subject", v, sizeof(v)));
    ck_assert_ptr_nonnull(strstr(v, "(still firing)"));
    free(m.headers);
    request_cleanup(&r);

    /* A reminder the router marks first (the mailbox was silenced until
     * now, or a reload added it) is the thread's root: no reply headers,
     * and the root's Message-ID, which later mails refer to. */
    cJSON_AddTrueToObject(fp, "first");
    render_mail(&f, "repeat", fp, &r, &m);
    ck_assert(!mail_header(&m, "In-Reply-To", v, sizeof(v)));
    ck_assert(mail_header(&m, "Message-ID", v, sizeof(v)));
    ck_assert_str_eq(v, first);
    free(m.headers);
    request_cleanup(&r);
    cJSON_DeleteItemFromObject(fp, "first");

    /* Another notifier's first mail of the same episode is another message
     * with its own id, and its thread refers to that id. */
    f.n.name = (char *)"managers";
    render_mail(&f, "event", fp, &r, &m);
    ck_assert(mail_header(&m, "Message-ID", v, sizeof(v)));
    ck_assert_str_ne(v, first);
    ck_assert_ptr_nonnull(strstr(v, ".managers@example.com>"));
    snprintf(first, sizeof(first), "%s", v);
    free(m.headers);
    request_cleanup(&r);
    render_mail(&f, "event", rp, &r, &m);
    ck_assert(mail_header(&m, "In-Reply-To", v, sizeof(v)));
    ck_assert_str_eq(v, first);
    free(m.headers);
    request_cleanup(&r);
    cJSON_Delete(fp);
    cJSON_Delete(rp);
    cJSON_Delete(ep);
    fx_teardown(&f);
}
END_TEST

START_TEST(email_nodata_and_report_render)
{
    struct fixture f;
    struct request r = {0};
    struct mail m;
    cJSON *np = mk_payload("firing", "warning", "ok", NULL, svc_api, NULL);
    cJSON *rp = report_payload(3);
    char v[256];

    fx_setup(&f, "email", email_yaml);
    render_mail(&f, "event", np, &r, &m);
    ck_assert_ptr_nonnull(strstr(r.body, "no data"));
    free(m.headers);
    request_cleanup(&r);
    render_mail(&f, "report", rp, &r, &m);
    ck_assert(mail_header(&m, "Subject", v, sizeof(v)));
    ck_assert_str_eq(v, "tocsin noisy-alert report (7d)");
    ck_assert_ptr_nonnull(
        strstr(m.body, "<html><body><table></table></body></html>"));
    ck_assert_ptr_nonnull(strstr(m.body, "api_p90_latency fired 12 times"));
    free(m.headers);
    request_cleanup(&r);
    cJSON_Delete(np);
    cJSON_Delete(rp);
    fx_teardown(&f);
}
END_TEST

START_TEST(email_starttls_modes_map_to_curl_use_ssl)
{
    static const struct {
        const char *yaml;
        long use_ssl;
        const char *url;
    } cases[] = {
        {"smtp: smtp://h:25\nstarttls: off\n", CURLUSESSL_NONE, "smtp://h:25"},
        {"smtp: smtp://h:25\nstarttls: opportunistic\n", CURLUSESSL_TRY,
         "smtp://h:25"},
        {"smtp: smtp://h:587\n", CURLUSESSL_ALL, "smtp://h:587"},
        {"smtp: smtps://h:465\nstarttls: off\n", CURLUSESSL_ALL,
         "smtps://h:465"},
        {"smtp: smtp://h:587/\nhello: client.example.org\n", CURLUSESSL_ALL,
         "smtp://h:587/client.example.org"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct fixture f;
        struct request r = {0};
        cJSON *p = firing_payload();
        char y[512];
        snprintf(y, sizeof(y), "type: email\n%sfrom: a@b.c\nto: d@e.f\n",
                 cases[i].yaml);
        fx_setup(&f, "email", y);
        ck_assert_int_eq(f.rc, 0);
        ck_assert_int_eq(render(&f, "test", p, &r), 0);
        ck_assert_int_eq(r.use_ssl, cases[i].use_ssl);
        ck_assert_str_eq(r.url, cases[i].url);
        ck_assert_ptr_null(r.username);
        ck_assert_ptr_nonnull(strstr(
            r.body,
            "Message-ID: <tocsin.3f0c9a0011223344.1767225600000.recv@b.c>"));
        request_cleanup(&r);
        cJSON_Delete(p);
        fx_teardown(&f);
    }
}
END_TEST

START_TEST(email_configure_errors_carry_file_line_col)
{
    struct fixture f;

    fx_setup(&f, "email",
             "type: email\nsmtp: http://h\nstarttls: maybe\nfrom: nobody\n"
             "bogus: 1\n");
    ck_assert_int_lt(f.rc, 0);
    ck_assert(diag_has(&f.d, "t.yaml:2:7: smtp must be"));
    ck_assert(diag_has(&f.d, "t.yaml:3:11: unknown starttls \"maybe\""));
    ck_assert(
        diag_has(&f.d, "t.yaml:4:7: from \"nobody\" has no valid address"));
    ck_assert(diag_has(&f.d, "t.yaml:5:1: unknown key \"bogus\""));
    ck_assert(diag_has(&f.d, "needs \"to\""));
    ck_assert_ptr_null(f.n.priv);
    fx_teardown(&f);
    /* An smtp URL libcurl would refuse is found by check, not at send. */
    fx_setup(&f, "email",
             "type: email\nsmtp: \"smtp://h:5877x\"\nfrom: a@b.c\nto: d@e.f\n");
    ck_assert_int_lt(f.rc, 0);
    ck_assert(diag_has(&f.d, "t.yaml:2:7: smtp is not a valid URL (Port"));
    fx_teardown(&f);
    fx_setup(&f, "email",
             "type: email\nsmtp: \"smtp://:25\"\nfrom: a@b.c\nto: d@e.f\n");
    ck_assert_int_lt(f.rc, 0);
    ck_assert(diag_has(&f.d, "t.yaml:2:7: smtp is not a valid URL"));
    fx_teardown(&f);
}
END_TEST

/* ---- MIME helpers ---- */

START_TEST(mime_date_is_rfc5322_in_english)
{
    char d[64];
    mime_format_date(1503411323.9, d, sizeof(d));
    ck_assert_str_eq(d, "Tue, 22 Aug 2017 14:15:23 +0000");
}
END_TEST

START_TEST(mime_qp_round_trips_long_lines_trailing_space_and_equals)
{
    struct buf in, out;
    char *dec;

    buf_init(&in, 0);
    buf_init(&out, 0);
    for (int i = 0; i < 50; i++)
        buf_adds(&in, "a=b \xc3\xa9t\xc3\xa9 ");
    buf_adds(&in, "\nend with space \t\n.\nlast");
    ck_assert_int_eq(mime_qp_encode(&out, in.data, in.len), 0);
    check_lines(out.data);
    for (const char *s = out.data; *s;) {
        const char *cr = strstr(s, "\r\n");
        ck_assert_uint_le((size_t)(cr - s), 76);
        ck_assert(cr == s || (cr[-1] != ' ' && cr[-1] != '\t'));
        s = cr + 2;
    }
    dec = qp_decode(out.data, out.len);
    /* The encoder ends the last line with CRLF. */
    ck_assert_uint_eq(strlen(dec), in.len + 1);
    ck_assert_mem_eq(dec, in.data, in.len);
    free(dec);
    buf_cleanup(&in);
    buf_cleanup(&out);
}
END_TEST

START_TEST(mime_ascii_header_folds_and_stays_unencoded)
{
    struct buf b;
    buf_init(&b, 0);
    ck_assert_int_eq(
        mime_add_header(&b, "Subject",
                        "[WARNING] rule a=1 b=2 c=3 d=4 e=5 f=6 g=7 h=8 i=9 "
                        "j=10 k=11 l=12 m=13 firing"),
        0);
    check_lines(b.data);
    ck_assert_ptr_null(strstr(b.data, "=?"));
    ck_assert_ptr_nonnull(strstr(b.data, "\r\n "));
    for (const char *s = b.data; *s;) {
        const char *cr = strstr(s, "\r\n");
        ck_assert_uint_le((size_t)(cr - s), 78);
        s = cr + 2;
    }
    buf_cleanup(&b);
}
END_TEST

/* Text that reads like an encoded-word is encoded, so that it shows as
 * written; display names with specials are quoted, not split. */
START_TEST(mime_headers_keep_lookalike_words_and_special_names)
{
    struct buf b;
    const char *to[] = {"Ops, Team <ops@example.com>",
                        "\"Dr. Who\" <who@example.com>",
                        "Plain Name <p@example.com>", "bare@example.com",
                        "Say \"hi\" <hi@example.com>"};

    buf_init(&b, 0);
    ck_assert_int_eq(
        mime_add_header(&b, "Subject", "[WARNING] r note==?UTF-8?B?SGk=?="), 0);
    ck_assert_msg(strncmp(b.data, "Subject: =?UTF-8?B?", 19) == 0, "%s",
                  b.data);
    buf_reset(&b);
    ck_assert_int_eq(mime_add_address_header(&b, "To", to, 5), 0);
    ck_assert_msg(strstr(b.data, "\"Ops, Team\" <ops@example.com>") != NULL,
                  "%s", b.data);
    ck_assert_msg(strstr(b.data, "\"Dr. Who\" <who@example.com>") != NULL, "%s",
                  b.data);
    ck_assert_msg(strstr(b.data, "Plain Name <p@example.com>") != NULL, "%s",
                  b.data);
    ck_assert_msg(strstr(b.data, "bare@example.com") != NULL, "%s", b.data);
    ck_assert_msg(strstr(b.data, "\"Say \\\"hi\\\"\" <hi@example.com>") != NULL,
                  "%s", b.data);
    check_lines(b.data);
    /* A quoted non-ASCII name: its quoted-pairs are unescaped before it is
     * encoded (a backslash inside an encoded-word is shown as one). */
    buf_reset(&b);
    {
        const char *from[] = {
            "\"\xc3\x96ps \\\"prod\\\" Team\" <a@example.com>"};
        ck_assert_int_eq(mime_add_address_header(&b, "From", from, 1), 0);
        ck_assert_msg(
            strstr(b.data,
                   "=?UTF-8?B?w5ZwcyAicHJvZCIgVGVhbQ==?= <a@example.com>") !=
                NULL,
            "%s", b.data);
    }
    buf_cleanup(&b);
}
END_TEST

/* A display name longer than a line (one 1,500-character word, or a long
 * quoted name with specials) becomes encoded-words: no header line passes
 * 998 octets, where a real server refuses the mail for good. */
START_TEST(mime_long_display_names_stay_within_998_octets)
{
    struct buf b, name;
    const char *mb[2];
    char *word, *spaced;

    buf_init(&b, 0);
    buf_init(&name, 0);
    for (int i = 0; i < 1500; i++)
        buf_addc(&name, 'x');
    buf_adds(&name, " <alerts@example.com>");
    word = xstrdup(buf_str(&name));
    buf_reset(&name);
    buf_addc(&name, '"');
    for (int i = 0; i < 300; i++)
        buf_adds(&name, "Ops, ");
    buf_adds(&name, "\" <ops@example.com>");
    spaced = xstrdup(buf_str(&name));
    mb[0] = word;
    mb[1] = spaced;
    ck_assert_int_eq(mime_add_address_header(&b, "To", mb, 2), 0);
    check_lines(b.data);
    ck_assert_msg(strncmp(b.data, "To: =?UTF-8?B?", 14) == 0, "%.40s", b.data);
    ck_assert_ptr_nonnull(strstr(b.data, " <alerts@example.com>"));
    ck_assert_ptr_nonnull(strstr(b.data, " <ops@example.com>"));
    free(word);
    free(spaced);
    buf_cleanup(&name);
    buf_cleanup(&b);
}
END_TEST

/* An answer that broke off is a connection error, retried. */
START_TEST(transport_retries_connection_errors_only)
{
    ck_assert(transport_retryable(CURLE_PARTIAL_FILE));
    ck_assert(transport_retryable(CURLE_GOT_NOTHING));
    ck_assert(transport_retryable(CURLE_COULDNT_CONNECT));
    ck_assert(!transport_retryable(CURLE_URL_MALFORMAT));
    ck_assert(!transport_retryable(CURLE_LOGIN_DENIED));
}
END_TEST

/* What a receiver echoes of the request's secrets is cut out of the logged
 * answer: URL tokens, the URL's password (and its Basic form), header
 * values; tocsin's own headers and short words stay. */
START_TEST(transport_snippet_cuts_echoed_secrets)
{
    struct request rq = {0};
    char out[512];
    const char *body = "bad credentials user:URLPASSWD (Basic "
                       "dXNlcjpVUkxQQVNTV0Q=) key MAKEAPIKEY123 bearer "
                       "HEADERBEARER at /hook2/PATHTOKEN9 type "
                       "application/json";

    rq.kind = REQ_HTTP;
    rq.url = (char *)"http://user:URLPASSWD@127.0.0.1:1/hook2/PATHTOKEN9";
    rq.headers = curl_slist_append(NULL, "x-make-apikey: MAKEAPIKEY123");
    rq.headers = curl_slist_append(rq.headers, "Authorization: Bearer "
                                               "HEADERBEARER");
    rq.headers =
        curl_slist_append(rq.headers, "Content-Type: application/json");
    transport_snippet(body, strlen(body), 400, &rq, out, sizeof(out));
    ck_assert_msg(strstr(out, "URLPASSWD") == NULL &&
                      strstr(out, "dXNlcjpVUkxQQVNTV0Q") == NULL &&
                      strstr(out, "MAKEAPIKEY123") == NULL &&
                      strstr(out, "HEADERBEARER") == NULL &&
                      strstr(out, "PATHTOKEN9") == NULL,
                  "%s", out);
    ck_assert_ptr_nonnull(strstr(out, "bad credentials ... (Basic ...)"));
    ck_assert_ptr_nonnull(strstr(out, "type application/json"));
    curl_slist_free_all(rq.headers);
}
END_TEST

/* The same secrets in the forms receivers echo them: past the length
 * shown (the answer is scrubbed whole, then cut), URL-decoded, as a token
 * given as the URL's user, JSON-escaped, trimmed, as a decoded Basic
 * login; an SMTP password in AUTH PLAIN's and LOGIN's base64. */
START_TEST(transport_snippet_cuts_secrets_in_every_form)
{
    struct request rq = {0};
    char out[512], body[2048];
    static const char *const secrets[] = {
        "SECRETTOKEN456LONG", "SECRET+PATH", "SECRET+Q789",  "SECRET SP",
        "USERTOKEN1",         "SECRETKEY",   "SECRETHDRBAS", "SECRETPASS1",
        "SECRET-ENC",         "AFNFQ1JF",    "U0VDUkVUUEFT",
    };

    rq.kind = REQ_HTTP;
    rq.url = (char *)"http://127.0.0.1:1/lead/SECRETTOKEN456LONG/"
                     "SECRET%2BPATH/SECRET%2DENC?token=SECRET%2BQ789&k="
                     "SECRET%20SP";
    rq.headers = curl_slist_append(NULL, "X-Api-Key:  SECRET/KEY ");
    rq.headers = curl_slist_append(rq.headers, "Authorization: Basic "
                                               "dXNlcjpTRUNSRVRIRFJCQVNJQw==");
    snprintf(body, sizeof(body),
             "%0190d /lead/SECRETTOKEN456LONG path=/lead/SECRET+PATH/"
             "SECRET-ENC?token=SECRET+Q789&k=SECRET SP key=SECRET\\/KEY "
             "basic=user:SECRETHDRBASIC",
             0);
    /* The token straddles the 200th byte: not even its head shows. */
    transport_snippet(body, strlen(body), 200, &rq, out, sizeof(out));
    ck_assert_msg(strstr(out, "SEC") == NULL, "%s", out);
    transport_snippet(body, strlen(body), 1000, &rq, out, sizeof(out));
    for (size_t i = 0; i < 9; i++)
        ck_assert_msg(strstr(out, secrets[i]) == NULL, "%s in %s", secrets[i],
                      out);
    curl_slist_free_all(rq.headers);

    memset(&rq, 0, sizeof(rq));
    rq.kind = REQ_HTTP;
    rq.url = (char *)"http://USERTOKEN1@127.0.0.1:1/x";
    snprintf(body, sizeof(body), "basic=USERTOKEN1: (VVNFUlRPS0VOMTo=)");
    transport_snippet(body, strlen(body), 200, &rq, out, sizeof(out));
    ck_assert_msg(strstr(out, "USERTOKEN1") == NULL &&
                      strstr(out, "VVNFUlRPS0VOMTo") == NULL,
                  "%s", out);
    /* Beside a password, the user is cut too. */
    rq.url = (char *)"http://hookuser1:UsErPaSs99@127.0.0.1:1/x";
    snprintf(body, sizeof(body), "401 for hookuser1 / UsErPaSs99");
    transport_snippet(body, strlen(body), 200, &rq, out, sizeof(out));
    ck_assert_msg(strstr(out, "hookuser1") == NULL &&
                      strstr(out, "UsErPaSs99") == NULL,
                  "%s", out);

    memset(&rq, 0, sizeof(rq));
    rq.kind = REQ_SMTP;
    rq.url = (char *)"smtp://127.0.0.1:25";
    rq.username = (char *)"SECRETUSER77";
    rq.password = (char *)"SECRETPASS123";
    /* AUTH PLAIN "\0SECRETUSER77\0SECRETPASS123" and LOGIN's password */
    snprintf(body, sizeof(body),
             "550 refused seen=AFNFQ1JFVFVTRVI3NwBTRUNSRVRQQVNTMTIz "
             "login=U0VDUkVUUEFTUzEyMw== dec=|SECRETUSER77|SECRETPASS123");
    transport_snippet(body, strlen(body), 200, &rq, out, sizeof(out));
    for (size_t i = 7; i < 11; i++)
        ck_assert_msg(strstr(out, secrets[i]) == NULL, "%s in %s", secrets[i],
                      out);

    /* Secrets of 1 to 3 bytes ("me", a Basic "x:", one that reads "...")
     * are left alone: "..." would make the text longer, or match again. */
    memset(&rq, 0, sizeof(rq));
    rq.kind = REQ_HTTP;
    rq.url = (char *)"https://me@127.0.0.1:1/hook?channel=general";
    rq.headers = curl_slist_append(NULL, "Authorization: Basic eDo=");
    rq.headers = curl_slist_append(rq.headers, "X-Odd: Basic Li4u");
    memset(body, 0, sizeof(body));
    for (size_t i = 0; i + 2 < sizeof(body) - 1; i += 2)
        memcpy(body + i, i % 4 ? "x:" : "me", 2);
    transport_snippet(body, strlen(body), 1000, &rq, out, sizeof(out));
    ck_assert_uint_eq(strlen(out), 511);
    snprintf(body, sizeof(body), "error... try again in channel general");
    transport_snippet(body, strlen(body), 200, &rq, out, sizeof(out));
    /* a query's names are words, its values may be tokens */
    ck_assert_str_eq(out, "error... try again in channel ...");
    curl_slist_free_all(rq.headers);
}
END_TEST

START_TEST(default_check_classifies_http_and_smtp_codes)
{
    ck_assert_int_eq(notifier_default_check(REQ_HTTP, 204), DELIVERY_OK);
    ck_assert_int_eq(notifier_default_check(REQ_HTTP, 429), DELIVERY_RETRY);
    ck_assert_int_eq(notifier_default_check(REQ_HTTP, 408), DELIVERY_RETRY);
    ck_assert_int_eq(notifier_default_check(REQ_HTTP, 503), DELIVERY_RETRY);
    ck_assert_int_eq(notifier_default_check(REQ_HTTP, 410), DELIVERY_FAIL);
    ck_assert_int_eq(notifier_default_check(REQ_HTTP, 301), DELIVERY_FAIL);
    ck_assert_int_eq(notifier_default_check(REQ_SMTP, 250), DELIVERY_OK);
    ck_assert_int_eq(notifier_default_check(REQ_SMTP, 451), DELIVERY_RETRY);
    ck_assert_int_eq(notifier_default_check(REQ_SMTP, 550), DELIVERY_FAIL);
}
END_TEST

START_TEST(am_payload_rejects_payload_without_event)
{
    cJSON *p = cJSON_Parse("{\"starts_at\": 1}");
    struct am_event ev;
    struct err e = {0};
    ck_assert_int_eq(am_event_parse(p, &ev, &e), -1);
    ck_assert(e.set);
    cJSON_Delete(p);
}
END_TEST

/* Alertmanager's Go encoder sorts map keys and writes times as
 * RFC3339Nano (no trailing zeros in the fraction); receivers that compare
 * bytes or re-sign payloads see the same shape from tocsin. */
/* cJSON's compact text as Go's json.Encoder writes the same value: <, >
 * and & (found only inside strings) escaped, a newline at the end. */
static char *go_encoded(const cJSON *m)
{
    char *txt = cJSON_PrintUnformatted(m);
    struct buf b;

    buf_init(&b, 0);
    for (const char *c = txt; *c; c++) {
        if (*c == '<' || *c == '>' || *c == '&')
            buf_printf(&b, "\\u%04x", (unsigned)*c);
        else
            buf_addc(&b, *c);
    }
    buf_addc(&b, '\n');
    free(txt);
    return buf_steal(&b);
}

START_TEST(am_payload_print_writes_exactly_what_the_built_object_prints)
{
    /* The built object is parsed from the printed text: printing it again
     * gives the same bytes only if the printer escapes exactly as cJSON
     * does, but for Go's HTML-safe escapes and final newline (go_encoded).
     * Quotes, backslash, newline, tab, UTF-8 and a label that sorts before
     * alertname; a resolved event; no labels or annotations at all. */
    static const char *const odd[] = {"a\"b", "x\\y", "svc", "l\u00e4\n\t",
                                      "Zone", "1",    NULL};
    cJSON *cases[3];
    struct err e = {0};

    cases[0] = mk_payload("firing", "critical", "ok", "612.5", odd,
                          "p90 \"high\"\nsee <runbook>");
    /* A rule name needing escapes also shows in groupLabels and groupKey. */
    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(cases[0], "event"), "rule",
                              cJSON_CreateString("api \"p90\"\\"));
    cases[1] = mk_payload("resolved", "ok", "warning", "100", odd, NULL);
    cases[2] = mk_payload("nodata", "warning", "ok", NULL, NULL, NULL);
    cJSON_DeleteItemFromObject(cJSON_GetObjectItem(cases[2], "event"),
                               "labels");
    for (size_t i = 0; i < 3; i++) {
        struct am_event ev;
        struct buf b;
        cJSON *m;
        char *want;

        ck_assert_int_eq(am_event_parse(cases[i], &ev, &e), 0);
        m = am_payload_build(&ev, "r\"1");
        want = go_encoded(m);
        buf_init(&b, 0);
        ck_assert_int_eq(am_payload_print(&ev, "r\"1", &b), 0);
        ck_assert_str_eq(buf_str(&b), want);
        buf_cleanup(&b);
        free(want);
        cJSON_Delete(m);
        cJSON_Delete(cases[i]);
    }
}
END_TEST

/* The group key prints label values as Go's strconv.Quote does, as
 * Alertmanager's LabelSet.String: \" \\ and C escapes, \xNN for other
 * control bytes; UTF-8 as it is. */
START_TEST(am_group_key_quotes_values_as_go_does)
{
    static const char *const lbl[] = {"a", "q\"b\\c",
                                      "b", "t\tn\n\x01\xc3\xa4",
                                      "c", "\xff\xe2\x80\xa8\xc3\xa4",
                                      NULL};
    cJSON *p = mk_payload("firing", "warning", "ok", "250", lbl, NULL), *m;
    struct am_event ev;
    struct err e = {0};

    ck_assert_int_eq(am_event_parse(p, &ev, &e), 0);
    m = am_payload_build(&ev, "r");
    ck_assert_ptr_nonnull(m);
    ck_assert_str_eq(jstr(m, "groupKey"),
                     "{}:{a=\"q\\\"b\\\\c\", alertname=\"api_p90_latency\", "
                     "b=\"t\\tn\\n\\x01\xc3\xa4\", "
                     "c=\"\\xff\\u2028\xc3\xa4\"}");
    cJSON_Delete(m);
    cJSON_Delete(p);
}
END_TEST

/* Bytes as Alertmanager's Go encoder writes them (what a receiver that
 * compares bodies or checks a signature over them sees): <, > and & as
 * \u003c \u003e \u0026, also inside the group key, U+2028 and U+2029
 * escaped, a byte that is not UTF-8 as \ufffd, other UTF-8 and DEL as they
 * are, and a newline after the object. */
START_TEST(am_payload_escapes_as_go_json_encoder)
{
    static const char *const lbl[] = {
        "team", "<b>&amp;</b>", "z",
        "\xe2\x80\xa8|\xe2\x80\xa9|\xff|\xc3\xa4\x7f", NULL};
    cJSON *p = mk_payload("firing", "warning", "ok", "250", lbl, "a&b"), *m;
    struct am_event ev;
    struct err e = {0};
    struct buf b;
    const char *t;

    ck_assert_int_eq(am_event_parse(p, &ev, &e), 0);
    buf_init(&b, 0);
    ck_assert_int_eq(am_payload_print(&ev, "r<1>", &b), 0);
    t = buf_str(&b);
    ck_assert_ptr_nonnull(strstr(t, "{\"receiver\":\"r\\u003c1\\u003e\""));
    ck_assert_ptr_nonnull(
        strstr(t, "\"team\":\"\\u003cb\\u003e\\u0026amp;\\u003c/b\\u003e\""));
    ck_assert_ptr_nonnull(
        strstr(t, "\"z\":\"\\u2028|\\u2029|\\ufffd|\xc3\xa4\x7f\""));
    ck_assert_ptr_nonnull(strstr(t, "\"summary\":\"a\\u0026b\""));
    ck_assert_ptr_nonnull(
        strstr(t, "team=\\\"\\u003cb\\u003e\\u0026amp;\\u003c/b\\u003e\\\""));
    ck_assert_ptr_null(strpbrk(t, "<>&"));
    ck_assert_int_eq(b.len > 2 && t[b.len - 2] == '}' && t[b.len - 1] == '\n',
                     1);
    /* Still JSON that reads back as the same strings. */
    m = cJSON_Parse(t);
    ck_assert_ptr_nonnull(m);
    ck_assert_str_eq(jstr(m, "receiver"), "r<1>");
    ck_assert_str_eq(jstr(cJSON_GetObjectItem(m, "commonLabels"), "team"),
                     "<b>&amp;</b>");
    cJSON_Delete(m);
    buf_cleanup(&b);
    cJSON_Delete(p);
}
END_TEST

START_TEST(am_payload_sorts_label_keys_and_writes_go_rfc3339nano_times)
{
    static const char *const lbl[] = {"zone",     "b",  "service", "api",
                                      "instance", "i1", NULL};
    cJSON *p = mk_payload("firing", "warning", "ok", "250", lbl, "s"), *m;
    const cJSON *it, *labels;
    const char *prev = "";
    struct am_event ev;
    struct err e = {0};
    const char *want[] = {"alertname", "instance", "service", "severity",
                          "zone"};
    size_t i = 0;

    cJSON_SetNumberValue(cJSON_GetObjectItem(p, "starts_at"), 1767225600.25);
    ck_assert_int_eq(am_event_parse(p, &ev, &e), 0);
    m = am_payload_build(&ev, "r");
    ck_assert_ptr_nonnull(m);
    ck_assert_str_eq(jstr(m, "alerts.0.startsAt"), "2026-01-01T00:00:00.25Z");
    labels = jget(m, "alerts.0.labels");
    cJSON_ArrayForEach(it, labels)
    {
        ck_assert_uint_lt(i, 5);
        ck_assert_str_eq(it->string, want[i]);
        ck_assert_int_gt(strcmp(it->string, prev), 0);
        prev = it->string;
        i++;
    }
    ck_assert_uint_eq(i, 5);
    ck_assert_str_eq(jstr(m, "commonLabels.severity"), "warning");
    cJSON_Delete(m);
    cJSON_Delete(p);
}
END_TEST

START_TEST(am_payload_leaves_out_empty_labels)
{
    static const char *const lbl[] = {"env", "", "service", "api", NULL};
    cJSON *p = mk_payload("firing", "warning", "ok", "250", lbl, "s"), *m;
    struct am_event ev;
    struct err e = {0};

    ck_assert_int_eq(am_event_parse(p, &ev, &e), 0);
    m = am_payload_build(&ev, "r");
    ck_assert_ptr_nonnull(m);
    ck_assert_str_eq(jstr(m, "alerts.0.labels.service"), "api");
    ck_assert_ptr_null(jget(m, "alerts.0.labels.env"));
    ck_assert_ptr_null(jget(m, "commonLabels.env"));
    cJSON_Delete(m);
    cJSON_Delete(p);
}
END_TEST

START_TEST(config_load_runs_kind_configure_with_common_keys_allowed)
{
    static const char yaml[] =
        "notifiers:\n"
        "  hook:\n"
        "    type: webhook\n"
        "    url: https://x.example/h\n"
        "    cooldown: 10m\n"
        "    events: [firing]\n"
        "    body: {a: \"{{ nope }}\"}\n"
        "  chat:\n"
        "    type: slack\n"
        "    url: https://hooks.slack.com/services/T/B/x\n"
        "    colour: red\n";
    struct cfg_diag d;
    struct config *c;

    cfg_diag_init(&d, "tocsin.yaml");
    c = config_load_buf(yaml, strlen(yaml), "tocsin.yaml", "/tmp", &d);
    ck_assert_ptr_null(c);
    ck_assert(diag_has(&d, "tocsin.yaml:7:"));
    ck_assert(diag_has(&d, "unknown template path"));
    ck_assert(diag_has(&d, "tocsin.yaml:11:5: unknown key \"colour\""));
    ck_assert(!diag_has(&d, "\"cooldown\""));
    ck_assert(!diag_has(&d, "\"events\""));
    config_free(c);
    cfg_diag_cleanup(&d);
}
END_TEST

Suite *notifiers_suite(void)
{
    Suite *s = suite_create("notifiers");
    TCase *t = tcase_create("render");

    tcase_add_test(t, slack_firing_has_fallback_text_red_color_and_fields);
    tcase_add_test(t, slack_escalated_shows_previous_to_new_severity);
    tcase_add_test(t, slack_resolved_is_green_with_check_mark_header);
    tcase_add_test(t, slack_repeat_is_marked_still_firing);
    tcase_add_test(t, slack_nodata_shows_no_data_value);
    tcase_add_test(t, slack_escapes_amp_lt_gt_in_user_strings_and_nothing_else);
    tcase_add_test(t, slack_truncates_10000_char_annotation_on_utf8_boundary);
    tcase_add_test(t, slack_cuts_an_overlong_severity_on_a_character_boundary);
    tcase_add_test(t, severity_word_is_cut_on_a_character_boundary);
    tcase_add_test(t, slack_200_labels_stay_within_limits);
    tcase_add_test(t, slack_report_is_a_ranked_table_within_limits);
    tcase_add_test(t,
                   slack_report_table_lines_up_and_cut_names_keep_their_tail);
    tcase_add_test(t, slack_check_accepts_only_200_with_body_ok);
    tcase_add_test(
        t, slack_configure_reports_missing_url_and_unknown_key_with_position);
    tcase_add_test(t, webhook_default_body_is_alertmanager_v4_while_firing);
    tcase_add_test(
        t, webhook_resolved_payload_ends_at_event_time_with_previous_severity);
    tcase_add_test(t, webhook_body_template_renders_typed_scalars);
    tcase_add_test(t, webhook_body_honours_yaml_tags_and_core_schema);
    tcase_add_test(t, webhook_body_json_escapes_label_with_quotes_and_newlines);
    tcase_add_test(t, webhook_body_unknown_template_path_is_error_at_node);
    tcase_add_test(
        t, webhook_configure_rejects_bad_headers_method_and_missing_url);
    tcase_add_test(t, sign_matches_standard_webhooks_test_vector);
    tcase_add_test(t, sign_base64_round_trips_and_rejects_garbage);
    tcase_add_test(t, webhook_signature_headers_verify_when_recomputed);
    tcase_add_test(t, webhook_report_posts_report_json_as_is);
    tcase_add_test(t, webhook_and_log_cover_every_event_kind);
    tcase_add_test(t, log_line_is_am_payload_with_receiver_and_event);
    tcase_add_test(t, log_appends_one_line_per_notification_to_relative_path);
    tcase_add_test(t, email_message_has_headers_and_text_then_html_parts);
    tcase_add_test(t, email_subject_names_the_by_labels_not_the_rule_labels);
    tcase_add_test(t, email_html_escapes_values_and_qp_keeps_lines_short);
    tcase_add_test(
        t, email_non_ascii_subject_is_rfc2047_words_not_splitting_chars);
    tcase_add_test(t, email_label_with_crlf_cannot_inject_a_header);
    tcase_add_test(t, email_resolved_mail_threads_to_firing_message_id);
    tcase_add_test(t, email_nodata_and_report_render);
    tcase_add_test(t, email_starttls_modes_map_to_curl_use_ssl);
    tcase_add_test(t, email_configure_errors_carry_file_line_col);
    tcase_add_test(t, mime_date_is_rfc5322_in_english);
    tcase_add_test(t, mime_qp_round_trips_long_lines_trailing_space_and_equals);
    tcase_add_test(t, mime_ascii_header_folds_and_stays_unencoded);
    tcase_add_test(t, email_subject_is_cut_past_300_bytes);
    tcase_add_test(t, mime_headers_keep_lookalike_words_and_special_names);
    tcase_add_test(t, mime_long_display_names_stay_within_998_octets);
    tcase_add_test(t, default_check_classifies_http_and_smtp_codes);
    tcase_add_test(t, transport_retries_connection_errors_only);
    tcase_add_test(t, transport_snippet_cuts_echoed_secrets);
    tcase_add_test(t, transport_snippet_cuts_secrets_in_every_form);
    tcase_add_test(t, am_payload_rejects_payload_without_event);
    tcase_add_test(t,
                   am_payload_sorts_label_keys_and_writes_go_rfc3339nano_times);
    tcase_add_test(t, am_group_key_quotes_values_as_go_does);
    tcase_add_test(t, am_payload_leaves_out_empty_labels);
    tcase_add_test(
        t, am_payload_print_writes_exactly_what_the_built_object_prints);
    tcase_add_test(t, am_payload_escapes_as_go_json_encoder);
    tcase_add_test(t, config_load_runs_kind_configure_with_common_keys_allowed);
    suite_add_tcase(s, t);
    return s;
}
