/* slack.c - the slack notifier: renders an alert event (or a noisy-alert
 * report) as an incoming-webhook message: a plain `text` fallback plus one
 * coloured attachment of Block Kit blocks. Registered in registry.c; the
 * dispatcher POSTs what slack_render returns and asks slack_check about the
 * answer. Every user-supplied string is escaped (& < > only) and every text
 * is cut to Slack's limits (reference section 1). */
#include <stdlib.h>
#include <string.h>

#include "../common/buf.h"
#include "../common/util.h"
#include "am_payload.h"
#include "notifier.h"

/* Slack's documented limits, in characters. We cut by bytes, which is never
 * more characters. Field values are capped well below 2000 so the blocks'
 * total stays under the undocumented ~12k cumulative cap. */
#define SLACK_HEADER_MAX 150
#define SLACK_SECTION_MAX 3000
#define SLACK_FIELD_MAX 500
#define SLACK_TEXT_MAX 2000
#define SLACK_CONTEXT_MAX 1000

struct slack_priv {
    char *url;
    char *ca_file; /* NULL = the system's CA certificates */
};

static const char *const slack_keys[] = {"url", "ca_file", NULL};

static int slack_configure(struct notifier *n, const struct cfg_node *node,
                           const char *dir, struct cfg_diag *d)
{
    size_t before = d->count;
    const char *url = NULL;
    char *ca_file = NULL;
    struct slack_priv *p;

    cfg_check_keys(node, slack_keys, config_common_notifier_keys, d);
    if (cfg_str(cfg_get(node, "url"), "url", &url, d) == 1)
        cfg_error_at(d, node, "slack notifier needs \"url\"");
    else if (url && strncmp(url, "https://", 8) != 0 &&
             strncmp(url, "http://", 7) != 0)
        cfg_error_at(d, cfg_get(node, "url"),
                     "url must start with https:// or http://");
    else if (url)
        notifier_check_url(cfg_get(node, "url"), "url", url, d);
    notifier_ca_file(node, dir, &ca_file, d);
    if (d->count != before) {
        free(ca_file);
        return -1;
    }
    p = xcalloc(1, sizeof(*p));
    p->url = xstrdup(url);
    p->ca_file = ca_file;
    n->priv = p;
    return 0;
}

static void slack_destroy(struct notifier *n)
{
    struct slack_priv *p = n->priv;

    if (p) {
        free(p->url);
        free(p->ca_file);
        free(p);
    }
    n->priv = NULL;
}

/* Append s with Slack's three control characters escaped. */
static int slack_escape(struct buf *b, const char *s)
{
    for (; *s; s++) {
        int rc;
        switch (*s) {
        case '&':
            rc = buf_adds(b, "&amp;");
            break;
        case '<':
            rc = buf_adds(b, "&lt;");
            break;
        case '>':
            rc = buf_adds(b, "&gt;");
            break;
        default:
            rc = buf_addc(b, *s);
            break;
        }
        if (rc < 0)
            return -1;
    }
    return 0;
}

/* Cut b to at most max bytes, ending in "…", on a UTF-8 character boundary
 * and never inside an escape entity such as "&amp;". */
static void slack_fit(struct buf *b, size_t max)
{
    size_t cut;

    if (b->failed || b->len <= max || max < 4)
        return;
    cut = util_utf8_cut(b->data, max - 3); /* "…" is 3 bytes */
    for (size_t k = 1; k <= 5 && k <= cut; k++) {
        char c = b->data[cut - k];
        if (c == ';')
            break;
        if (c == '&') {
            cut -= k;
            break;
        }
    }
    b->len = cut;
    b->data[cut] = '\0';
    buf_adds(b, "\xe2\x80\xa6");
}

/* A text object {"type": type, "text": <b cut to max>}; empties b. */
static cJSON *slack_text(const char *type, struct buf *b, size_t max)
{
    cJSON *t = cJSON_CreateObject();

    slack_fit(b, max);
    cJSON_AddStringToObject(t, "type", type);
    cJSON_AddStringToObject(t, "text", buf_str(b));
    if (strcmp(type, "plain_text") == 0)
        cJSON_AddBoolToObject(t, "emoji", 1);
    buf_reset(b);
    return t;
}

static void add_block(cJSON *blocks, const char *type, const char *key,
                      cJSON *text)
{
    cJSON *blk = cJSON_CreateObject();

    cJSON_AddStringToObject(blk, "type", type);
    cJSON_AddItemToObject(blk, key, text);
    cJSON_AddItemToArray(blocks, blk);
}

static void add_field(cJSON *fields, struct buf *b, const char *title,
                      const char *value)
{
    buf_printf(b, "*%s*\n", title);
    slack_escape(b, value);
    cJSON_AddItemToArray(fields, slack_text("mrkdwn", b, SLACK_FIELD_MAX));
}

/* The marker after the event word: repeat, test, nodata. */
static void add_markers(struct buf *b, const struct notification *nt,
                        const struct am_event *ev)
{
    if (strcmp(nt->kind, "repeat") == 0)
        buf_adds(b, " (still firing)");
    if (strcmp(ev->reason, "nodata") == 0 && !ev->resolved)
        buf_adds(b, " (no data)");
    if (strcmp(nt->kind, "test") == 0)
        buf_adds(b, " (test)");
}

static cJSON *slack_event_message(const struct notification *nt,
                                  const struct am_event *ev)
{
    cJSON *root = cJSON_CreateObject(), *atts, *att, *blocks, *fields, *sec;
    struct buf b, title;
    char sev[32], when[48], val[64];
    const char *summary = am_json_str(ev->annotations, "summary");
    const char *desc = am_json_str(ev->annotations, "description");
    const cJSON *it;
    bool any;

    buf_init(&b, 0);
    buf_init(&title, 0);
    am_severity_word(ev, sev, sizeof(sev));
    am_title(ev, &title);

    /* Fallback text: also what the phone notification shows. */
    buf_printf(&b, "[%s] ", sev);
    slack_escape(&b, buf_str(&title));
    buf_addc(&b, ' ');
    slack_escape(&b, ev->kind);
    add_markers(&b, nt, ev);
    if (summary) {
        buf_adds(&b, ": ");
        slack_escape(&b, summary);
    }
    slack_fit(&b, SLACK_TEXT_MAX);
    cJSON_AddStringToObject(root, "text", buf_str(&b));
    atts = cJSON_AddArrayToObject(root, "attachments");
    att = cJSON_CreateObject();
    cJSON_AddItemToArray(atts, att);
    cJSON_AddStringToObject(att, "color", am_severity_color(ev));
    cJSON_AddStringToObject(att, "fallback", buf_str(&b));
    buf_reset(&b);
    blocks = cJSON_AddArrayToObject(att, "blocks");

    /* Header. */
    if (ev->resolved) {
        buf_adds(&b, ":white_check_mark: RESOLVED: ");
    } else {
        const char *icon = strcmp(ev->kind, "escalated") == 0 ? ":arrow_up:"
                           : strcmp(ev->kind, "deescalated") == 0
                               ? ":arrow_down:"
                               : ":rotating_light:";
        buf_printf(&b, "%s %s: ", icon, sev);
    }
    slack_escape(&b, ev->rule);
    buf_addc(&b, ' ');
    slack_escape(&b, ev->kind);
    add_markers(&b, nt, ev);
    add_block(blocks, "header", "text",
              slack_text("plain_text", &b, SLACK_HEADER_MAX));

    /* Fields: severity change, rule, value, start or duration. */
    sec = cJSON_CreateObject();
    cJSON_AddStringToObject(sec, "type", "section");
    fields = cJSON_AddArrayToObject(sec, "fields");
    {
        struct buf change;

        buf_init(&change, 0);
        buf_printf(&change, "%s \xe2\x86\x92 %s",
                   *ev->previous ? ev->previous : "ok",
                   *ev->severity ? ev->severity : "ok");
        add_field(fields, &b, "Severity", buf_str(&change));
        buf_cleanup(&change);
    }
    add_field(fields, &b, "Rule", ev->rule);
    if (ev->has_value)
        util_format_double(ev->value, val, sizeof(val));
    else
        snprintf(val, sizeof(val), "no data");
    add_field(fields, &b, "Value", val);
    if (ev->resolved) {
        util_format_duration(ev->ts - ev->starts_at > 0 ? ev->ts - ev->starts_at
                                                        : 0,
                             when, sizeof(when));
        add_field(fields, &b, "Duration", when);
    } else {
        util_format_rfc3339(ev->starts_at, when, sizeof(when));
        add_field(fields, &b, "Started", when);
    }
    cJSON_AddItemToArray(blocks, sec);

    /* Labels, one per line, cut as a whole. */
    buf_adds(&b, "*Labels*\n");
    any = false;
    cJSON_ArrayForEach(it, ev->labels)
    {
        if (!cJSON_IsString(it) || strcmp(it->string, "alertname") == 0)
            continue;
        slack_escape(&b, it->string);
        buf_addc(&b, '=');
        slack_escape(&b, it->valuestring);
        buf_addc(&b, '\n');
        any = true;
        if (b.len > SLACK_SECTION_MAX)
            break; /* the rest would be cut anyway */
    }
    if (any)
        add_block(blocks, "section", "text",
                  slack_text("mrkdwn", &b, SLACK_SECTION_MAX));
    buf_reset(&b);

    /* Each its own section: a long summary cut to the section's limit
     * does not take the description with it. */
    if (summary) {
        buf_adds(&b, "*Summary*\n");
        slack_escape(&b, summary);
        add_block(blocks, "section", "text",
                  slack_text("mrkdwn", &b, SLACK_SECTION_MAX));
    }
    if (desc) {
        buf_adds(&b, "*Description*\n");
        slack_escape(&b, desc);
        add_block(blocks, "section", "text",
                  slack_text("mrkdwn", &b, SLACK_SECTION_MAX));
    }

    /* Context: fingerprint and event time. */
    util_format_rfc3339(ev->ts, when, sizeof(when));
    buf_adds(&b, "fingerprint ");
    slack_escape(&b, ev->fingerprint);
    buf_printf(&b, " \xc2\xb7 %s", when);
    if (*ev->reason) {
        buf_adds(&b, " \xc2\xb7 reason ");
        slack_escape(&b, ev->reason);
    }
    {
        cJSON *ctx = cJSON_CreateObject(), *els;
        cJSON_AddStringToObject(ctx, "type", "context");
        els = cJSON_AddArrayToObject(ctx, "elements");
        cJSON_AddItemToArray(els, slack_text("mrkdwn", &b, SLACK_CONTEXT_MAX));
        cJSON_AddItemToArray(blocks, ctx);
    }
    buf_cleanup(&b);
    buf_cleanup(&title);
    return root;
}

static double num_or(const cJSON *o, const char *key, double dflt)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(it) ? it->valuedouble : dflt;
}

/* The report table's rule cell: name in NAME_COLS columns, padded; a longer
 * one keeps its head and its tail around "…", as names that share a prefix
 * (api_latency_eu, api_latency_us) differ at the end. */
#define NAME_COLS 32
#define NAME_TAIL 11
static void name_cell(struct buf *out, const char *name)
{
    size_t cols = util_utf8_len(name), len = strlen(name);

    if (cols > NAME_COLS) {
        size_t head = 0, tail = len, k;
        char *h = xstrdup(name);

        /* Whole characters: the first NAME_COLS - NAME_TAIL - 1 and the
         * last NAME_TAIL. */
        for (k = 0; k < NAME_COLS - NAME_TAIL - 1; k++)
            do
                head++;
            while (((unsigned char)name[head] & 0xC0) == 0x80);
        for (k = 0; k < NAME_TAIL; k++)
            do
                tail--;
            while (tail > 0 && ((unsigned char)name[tail] & 0xC0) == 0x80);
        h[head] = '\0';
        slack_escape(out, h);
        buf_adds(out, "\xe2\x80\xa6");
        slack_escape(out, name + tail);
        cols = util_utf8_len(h) + 1 + util_utf8_len(name + tail);
        free(h);
    } else {
        slack_escape(out, name);
    }
    for (; cols < NAME_COLS; cols++)
        buf_addc(out, ' ');
}

/* The report: a ranked table of the noisiest rules in a code block, as
 * many rows as fit one section. */
static cJSON *slack_report_message(const cJSON *report)
{
    cJSON *root = cJSON_CreateObject(), *blocks;
    const cJSON *json = cJSON_GetObjectItemCaseSensitive(report, "json");
    const cJSON *rules = cJSON_GetObjectItemCaseSensitive(json, "rules");
    const char *title = am_json_str(report, "title");
    struct buf b, row;
    const cJSON *r;
    int total = cJSON_GetArraySize(rules), shown = 0;

    buf_init(&b, 0);
    buf_init(&row, 0);
    slack_escape(&b, title ? title : "tocsin noisy-alert report");
    slack_fit(&b, SLACK_TEXT_MAX);
    cJSON_AddStringToObject(root, "text", buf_str(&b));
    blocks = cJSON_AddArrayToObject(root, "blocks");
    add_block(blocks, "header", "text",
              slack_text("plain_text", &b, SLACK_HEADER_MAX));

    if (total == 0) {
        buf_adds(&b, "No alert fired in this period.");
    } else {
        buf_printf(&b, "```\n%-3s %-*s %6s %6s %6s %6s %7s\n", "#", NAME_COLS,
                   "rule", "fired", "resol", "short", "flap", "score");
        cJSON_ArrayForEach(r, rules)
        {
            const char *name = am_json_str(r, "rule");

            buf_reset(&row);
            buf_printf(&row, "%-3d ", shown + 1);
            name_cell(&row, name ? name : "?");
            buf_printf(&row, " %6.0f %6.0f %6.0f %6.0f %7.2f\n",
                       num_or(r, "fired", 0), num_or(r, "resolved", 0),
                       num_or(r, "short_lived", 0), num_or(r, "flapping", 0),
                       num_or(r, "noise_score", 0));
            /* Keep room for the closing fence and the "more" line. */
            if (b.len + row.len > SLACK_SECTION_MAX - 64)
                break;
            buf_add(&b, row.data, row.len);
            shown++;
        }
        buf_adds(&b, "```");
        if (shown < total)
            buf_printf(&b, "\n\xe2\x80\xa6 and %d more rules", total - shown);
    }
    add_block(blocks, "section", "text",
              slack_text("mrkdwn", &b, SLACK_SECTION_MAX));
    buf_cleanup(&b);
    buf_cleanup(&row);
    return root;
}

static int slack_render(const struct notifier *n, const struct notification *nt,
                        struct request *out, struct err *e)
{
    const struct slack_priv *p = n->priv;
    const cJSON *report =
        cJSON_GetObjectItemCaseSensitive(nt->payload, "report");
    struct am_event ev;
    cJSON *msg;
    char *body;

    memset(out, 0, sizeof(*out));
    if (strcmp(nt->kind, "report") == 0 || cJSON_IsObject(report)) {
        msg = slack_report_message(report);
    } else {
        if (am_event_parse(nt->payload, &ev, e) < 0)
            return -1;
        msg = slack_event_message(nt, &ev);
    }
    body = msg ? cJSON_PrintUnformatted(msg) : NULL;
    cJSON_Delete(msg);
    if (body == NULL) {
        err_set(e, "slack: out of memory building the message");
        return -1;
    }
    out->kind = REQ_HTTP;
    out->url = xstrdup(p->url);
    out->ca_file = p->ca_file ? xstrdup(p->ca_file) : NULL;
    out->body = body;
    out->body_len = strlen(body);
    out->headers = curl_slist_append(NULL, "Content-Type: application/json");
    return 0;
}

/* Slack answers 200 "ok" on success and a short plain-string error
 * otherwise; any other 2xx body means the message was not posted. */
static enum delivery_result slack_check(const struct notifier *n, long code,
                                        const char *body, size_t len)
{
    (void)n;
    if (code == 200 && len == 2 && body && memcmp(body, "ok", 2) == 0)
        return DELIVERY_OK;
    if (code == 0 || code == 408 || code == 429 || code >= 500)
        return DELIVERY_RETRY;
    return DELIVERY_FAIL;
}

const struct notifier_ops slack_ops = {
    .kind = "slack",
    .keys = slack_keys,
    .configure = slack_configure,
    .render = slack_render,
    .check = slack_check,
    .destroy = slack_destroy,
};
