/* api.c - HTTP API handlers (see api.h). Reads go to a read-only store
 * connection behind a mutex (SQLite WAL lets them run beside the writer);
 * every write (ingest, silences) goes through the writer thread so the
 * pipeline keeps a single writer. */
#include "api.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/labels.h"
#include "../common/log.h"
#include "../common/util.h"
#include "../common/version.h"
#include "../ingest/parse.h"
#include "../notifiers/router.h"
#include "../rules/matcher.h"
#include "batch.h"
#include "inputs.h"

/* Notifications recorded as silenced or skipped (cooldown), per receiver. */
struct silenced_tally {
    char *receiver;
    uint64_t n, skipped;
};

/* The whole list is one answer: as long as the CLI's (a million alerts take
 * about 350 MB), not the 16 MiB of other answers. */
#define API_LIST_MAX ((size_t)1 << 30)

void api_reply_init(struct api_reply *r)
{
    r->status = 500;
    r->ctype = NULL;
    buf_init(&r->body, 0);
}

void api_reply_cleanup(struct api_reply *r)
{
    buf_cleanup(&r->body);
}

void api_reply_error(struct api_reply *r, int status, const char *msg)
{
    r->status = status;
    r->ctype = "application/json";
    buf_reset(&r->body);
    buf_adds(&r->body, "{\"error\":\"");
    buf_add_json_str(&r->body, msg, strlen(msg));
    buf_adds(&r->body, "\"}\n");
}

static void json_str(struct buf *b, const char *s)
{
    buf_addc(b, '"');
    if (s != NULL)
        buf_add_json_str(b, s, strlen(s));
    buf_addc(b, '"');
}

static void json_num(struct buf *b, double v)
{
    char tmp[64];

    if (v != v || v - v != 0) { /* NaN or Inf: not JSON */
        buf_adds(b, "null");
        return;
    }
    util_format_double(v, tmp, sizeof(tmp));
    buf_adds(b, tmp);
}

/* --- ingest --- */

void api_ingest(struct daemon_ctx *d, const char *format, const char *ctype,
                const char *body, size_t len, struct api_reply *r)
{
    enum ingest_format fmt = FMT_AUTO;
    struct ingest_parser *p;
    struct batch b;
    struct batch_rejects *rj;
    struct writer_result res;
    size_t accepted, i;

    if (format != NULL && *format) {
        if (ingest_format_parse(format, &fmt) < 0) {
            api_reply_error(r, 400,
                            "unknown format (expected json, influx, prom, "
                            "graphite or statsd)");
            return;
        }
    } else if (ingest_content_type_openmetrics(ctype)) {
        api_reply_error(r, 415,
                        "OpenMetrics is not read (its timestamps are "
                        "seconds): send the Prometheus text format "
                        "(text/plain; version=0.0.4)");
        return;
    } else if (ctype != NULL) {
        fmt = ingest_format_from_content_type(ctype);
    }
    if (!atomic_load(&d->accepting)) {
        api_reply_error(r, 503, "shutting down");
        return;
    }
    p = ingest_parser_new(fmt);
    if (p == NULL) {
        api_reply_error(r, 503, "out of memory");
        return;
    }
    ingest_parser_share_gauges(p, d->gauges);
    rj = xcalloc(1, sizeof(*rj));
    batch_init(&b, util_now());
    batch_parse_text(&b, p, body ? body : "", len, 1, rj);
    ingest_parser_free(p);
    accepted = b.n;
    if (b.n > 0 && writer_submit(d->writer, &b, 30.0, &res) < 0) {
        log_error("http", "ingest of %zu samples not committed: %s", accepted,
                  res.error);
        api_reply_error(r, 503,
                        res.status == -2 ? res.error : "store commit failed");
        batch_cleanup(&b);
        free(rj);
        return;
    }
    /* Counted once committed: a 503'd batch the client sends again is
     * counted once, as the other inputs' are. */
    atomic_fetch_add(&d->metrics.ingested[MIN_HTTP], accepted);
    atomic_fetch_add(&d->metrics.rejected[MIN_HTTP], rj->count);
    atomic_fetch_add(&d->metrics.skipped[MIN_HTTP], rj->skipped);
    batch_cleanup(&b);
    if (rj->count == 0) {
        r->status = 204;
        free(rj);
        return;
    }
    /* SPEC: "400 with a JSON list of rejected line numbers and reasons":
     * a top-level array, at most the first kept rejections. The accepted
     * lines were evaluated and committed above. */
    r->status = 400;
    r->ctype = "application/json";
    buf_addc(&r->body, '[');
    for (i = 0; i < rj->nkept; i++) {
        buf_printf(&r->body, "%s{\"line\":%zu,\"reason\":", i ? "," : "",
                   rj->v[i].line);
        json_str(&r->body, rj->v[i].reason);
        buf_addc(&r->body, '}');
    }
    buf_adds(&r->body, "]\n");
    free(rj);
}

/* --- alerts --- */

struct alerts_ctx {
    struct buf *b;
    size_t n;
    double now; /* silences: what has ended by now is left out */
};

static int alert_cb(void *ctx, const struct store_alert *a)
{
    struct alerts_ctx *ac = ctx;
    struct buf *b = ac->b;

    buf_adds(b, ac->n++ ? ",\n" : "\n");
    buf_adds(b, "{\"fingerprint\":");
    json_str(b, a->fingerprint);
    buf_adds(b, ",\"rule\":");
    json_str(b, a->rule);
    buf_adds(b, ",\"labels\":");
    buf_adds(b, a->labels_json && *a->labels_json ? a->labels_json : "{}");
    buf_adds(b, ",\"severity\":");
    json_str(b, a->severity);
    buf_adds(b, ",\"value\":");
    if (a->has_value)
        json_num(b, a->value);
    else
        buf_adds(b, "null");
    /* Same keys and order as `tocsin alerts --json` (cmd_alerts.c). */
    buf_adds(b, ",\"reason\":");
    if (a->reason)
        json_str(b, a->reason);
    else
        buf_adds(b, "null");
    buf_adds(b, ",\"since\":");
    json_num(b, util_round_ms(a->since));
    buf_adds(b, ",\"updated\":");
    json_num(b, util_round_ms(a->updated));
    buf_addc(b, '}');
    return b->failed ? -1 : 0;
}

void api_alerts(struct daemon_ctx *d, struct api_reply *r)
{
    struct alerts_ctx ac = {&r->body, 0, 0};
    struct err e = {0};
    int rc;

    r->body.max = API_LIST_MAX;
    buf_addc(&r->body, '[');
    pthread_mutex_lock(&d->ro_mu);
    rc = store_alerts_foreach(d->ro, alert_cb, &ac, &e);
    pthread_mutex_unlock(&d->ro_mu);
    if (rc < 0 || r->body.failed) {
        log_error("http", "alerts: %s", e.set ? e.msg : "too large");
        api_reply_error(r, 500, "cannot read the alerts");
        return;
    }
    buf_adds(&r->body, ac.n ? "\n]\n" : "]\n");
    r->status = 200;
    r->ctype = "application/json";
}

/* --- silences --- */

static int silence_cb(void *ctx, const struct store_silence *si)
{
    struct alerts_ctx *ac = ctx;
    struct buf *b = ac->b;

    if (si->ends <= ac->now)
        return 0;
    buf_adds(b, ac->n++ ? ",\n" : "\n");
    buf_printf(b, "{\"id\":%lld,\"matchers\":", (long long)si->id);
    json_str(b, si->matchers);
    buf_adds(b, ",\"starts\":");
    json_num(b, si->starts);
    buf_adds(b, ",\"ends\":");
    json_num(b, si->ends);
    buf_adds(b, ",\"comment\":");
    json_str(b, si->comment ? si->comment : "");
    buf_adds(b, ",\"created_by\":");
    json_str(b, si->created_by ? si->created_by : "");
    /* Active ones and those set to start later, as `silence list`; the
     * key matches its --json. */
    buf_adds(b, si->starts <= ac->now ? ",\"active\":true}"
                                      : ",\"active\":false}");
    return b->failed ? -1 : 0;
}

void api_silences_list(struct daemon_ctx *d, struct api_reply *r)
{
    struct alerts_ctx ac = {&r->body, 0, util_now()};
    struct err e = {0};
    int rc;

    r->body.max = API_LIST_MAX;
    buf_addc(&r->body, '[');
    pthread_mutex_lock(&d->ro_mu);
    rc = store_silences_foreach(d->ro, -1, silence_cb, &ac, &e);
    pthread_mutex_unlock(&d->ro_mu);
    if (rc < 0 || r->body.failed) {
        log_error("http", "silences: %s", e.set ? e.msg : "too large");
        api_reply_error(r, 500, "cannot read the silences");
        return;
    }
    buf_adds(&r->body, ac.n ? "\n]\n" : "]\n");
    r->status = 200;
    r->ctype = "application/json";
}

struct silence_job {
    struct store_silence si;
    int64_t id;
    double now;
    struct err e;
};

/* On the writer thread, the silence written (committed): the router's and
 * the dispatcher's silence caches, so a new silence applies to the very
 * next event and to every notification due from now on. */
static void silences_changed(struct daemon_ctx *d)
{
    router_silences_changed(pipeline_router(d->pipeline));
    if (d->dispatcher != NULL)
        dispatcher_silences_changed(d->dispatcher);
}

static int silence_add_on_writer(void *ctx, void *arg)
{
    struct daemon_ctx *d = ctx;
    struct silence_job *j = arg;

    if (store_silence_add(d->wstore, &j->si, &j->id, &j->e) < 0)
        return -1;
    silences_changed(d);
    return 0;
}

static int silence_expire_on_writer(void *ctx, void *arg)
{
    struct daemon_ctx *d = ctx;
    struct silence_job *j = arg;
    int rc = store_silence_expire(d->wstore, j->id, j->now, &j->e);

    if (rc == 0)
        silences_changed(d);
    return rc;
}

static const char *json_string_field(const cJSON *o, const char *key)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);

    return cJSON_IsString(it) ? it->valuestring : NULL;
}

/* The first of two spellings of a string field ("created_by"/"createdBy"). */
static const char *json_string_alias(const cJSON *o, const char *a,
                                     const char *b)
{
    const char *v = json_string_field(o, a);

    return v ? v : json_string_field(o, b);
}

/* Append "name OP value" to the matchers text, quoting the value when the
 * text form would read it otherwise: a comma would split it, a quote or
 * backslash would be taken as quoting, edge spaces would be trimmed, a
 * leading ~ or ! would change the operator. */
static void matcher_text_add(struct buf *out, const char *name, const char *op,
                             const char *v)
{
    size_t n = strlen(v);
    /* A leading ~ or ! would join the operator ("a=~x" is a regex). */
    bool quote = strpbrk(v, ",\"\\") != NULL || v[0] == '~' || v[0] == '!' ||
                 (n > 0 && (isspace((unsigned char)v[0]) ||
                            isspace((unsigned char)v[n - 1])));

    buf_printf(out, "%s%s%s", out->len ? "," : "", name, op);
    if (!quote) {
        buf_adds(out, v);
        return;
    }
    buf_addc(out, '"');
    for (; *v; v++) {
        if (*v == '"' || *v == '\\')
            buf_addc(out, '\\');
        buf_addc(out, *v);
    }
    buf_addc(out, '"');
}

/* Matchers as given: the "a=b,c=~re" string, an object of label: value
 * (a value may carry the config's "~re", "!v" and "!~re" forms), or the
 * Alertmanager list [{"name","value","isRegex","isEqual"}], written into
 * out in the string form. Returns 0, or -1 when the shape is none of
 * those. */
static int silence_matchers_text(const cJSON *m, struct buf *out)
{
    const cJSON *it;

    if (cJSON_IsString(m)) {
        buf_adds(out, m->valuestring);
        return 0;
    }
    if (cJSON_IsObject(m)) {
        cJSON_ArrayForEach(it, m)
        {
            const char *v = cJSON_IsString(it) ? it->valuestring : NULL;
            const char *op = "=";

            if (v == NULL || !labels_name_valid(it->string))
                return -1;
            if (v[0] == '\\' && (v[1] == '~' || v[1] == '!'))
                v += 1; /* the config's escape: a literal ~ or ! */
            else if (strncmp(v, "!~", 2) == 0)
                op = "!~", v += 2;
            else if (v[0] == '~')
                op = "=~", v += 1;
            else if (v[0] == '!')
                op = "!=", v += 1;
            matcher_text_add(out, it->string, op, v);
        }
        return 0;
    }
    if (cJSON_IsArray(m)) {
        cJSON_ArrayForEach(it, m)
        {
            const cJSON *name = cJSON_GetObjectItemCaseSensitive(it, "name");
            const cJSON *val = cJSON_GetObjectItemCaseSensitive(it, "value");
            bool re =
                cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(it, "isRegex"));
            bool neq =
                cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(it, "isEqual"));

            if (!cJSON_IsString(name) || !cJSON_IsString(val) ||
                !labels_name_valid(name->valuestring))
                return -1;
            matcher_text_add(out, name->valuestring,
                             re ? (neq ? "!~" : "=~") : (neq ? "!=" : "="),
                             val->valuestring);
        }
        return 0;
    }
    return -1;
}

/* A time field under either spelling (ours, Alertmanager's): Unix seconds
 * or RFC 3339. 0 absent, 1 read into *t, -1 not a time. */
static int json_time_alias(const cJSON *o, const char *a, const char *b,
                           double *t)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, a);

    if (it == NULL)
        it = cJSON_GetObjectItemCaseSensitive(o, b);
    if (it == NULL)
        return 0;
    if (cJSON_IsNumber(it) && it->valuedouble >= 0 &&
        it->valuedouble <= UTIL_TS_MAX) {
        *t = it->valuedouble;
        return 1;
    }
    if (cJSON_IsString(it) &&
        util_parse_rfc3339(it->valuestring, strlen(it->valuestring), t) == 0)
        return 1;
    return -1;
}

/* What makes a silence request body unusable before it is parsed, or NULL:
 * text that is not UTF-8 (it would be stored and echoed by every GET), or a
 * string holding \u0000 (cJSON would cut the string there, silently
 * widening "alertname=x\u0000,host=h1" to every x). */
static const char *silence_body_problem(const char *body, size_t len)
{
    bool in_str = false;

    if (!util_utf8_valid(body, len))
        return "the body is not UTF-8";
    for (size_t i = 0; i < len; i++) {
        if (body[i] == '\0')
            return "the body holds a NUL byte";
        if (!in_str) {
            in_str = body[i] == '"';
        } else if (body[i] == '"') {
            in_str = false;
        } else if (body[i] == '\\' && i + 1 < len) {
            if (len - i >= 6 && strncmp(body + i + 1, "u0000", 5) == 0)
                return "a string holds \\u0000";
            i++; /* the escaped character */
        }
    }
    return NULL;
}

/* Whether only whitespace follows the parsed JSON (end, from cJSON) in
 * body[0..len): "{...}garbage" is not a JSON object. */
static bool only_space_after(const char *end, const char *body, size_t len)
{
    if (end == NULL || body == NULL)
        return end == NULL && len == 0;
    for (; end < body + len; end++)
        if (!isspace((unsigned char)*end))
            return false;
    return true;
}

void api_silence_add(struct daemon_ctx *d, const char *body, size_t len,
                     struct api_reply *r)
{
    const char *end = NULL;
    cJSON *o = cJSON_ParseWithLengthOpts(body ? body : "", len, &end, 0);
    const char *matchers, *dur, *comment, *by;
    const cJSON *mjson;
    int has_start, has_end;
    struct buf mtext;
    struct matcher_set ms = {0};
    struct silence_job j;
    char why[256];
    double secs;

    const char *bad = silence_body_problem(body ? body : "", len);

    memset(&j, 0, sizeof(j));
    buf_init(&mtext, 64 * 1024);
    j.now = util_now_ms(); /* times shown to the ms */
    if (bad != NULL) {
        api_reply_error(r, 400, bad);
        goto out;
    }
    if (!cJSON_IsObject(o) || !only_space_after(end, body, len)) {
        api_reply_error(r, 400, "body must be a JSON object");
        goto out;
    }
    /* Besides our own keys, the CLI's ("match") and Alertmanager's
     * spellings are accepted: operators paste either. */
    mjson = cJSON_GetObjectItemCaseSensitive(o, "matchers");
    if (mjson == NULL)
        mjson = cJSON_GetObjectItemCaseSensitive(o, "match");
    if (mjson != NULL && silence_matchers_text(mjson, &mtext) < 0) {
        api_reply_error(r, 400,
                        "\"matchers\" must be a string like "
                        "\"alertname=x,service=api\", an object of "
                        "label: value, or a list of {name, value, isRegex}, "
                        "with label names of letters, digits and _");
        goto out;
    }
    if (mtext.failed) {
        api_reply_error(r, 400, "\"matchers\" is too long (64 KiB at most)");
        goto out;
    }
    matchers = buf_str(&mtext);
    dur = json_string_alias(o, "for", "duration");
    comment = json_string_field(o, "comment");
    by = json_string_alias(o, "created_by", "createdBy");
    j.si.starts = j.now;
    has_start = json_time_alias(o, "starts_at", "startsAt", &j.si.starts);
    has_end = json_time_alias(o, "ends_at", "endsAt", &j.si.ends);
    if (has_start < 0 || has_end < 0) {
        api_reply_error(r, 400,
                        "\"starts_at\" and \"ends_at\" must be RFC 3339 or "
                        "Unix seconds");
        goto out;
    }
    if (has_start && j.si.starts < j.now)
        j.si.starts = j.now; /* Alertmanager's clients send "now" */
    if (matchers == NULL || *matchers == '\0') {
        api_reply_error(r, 400,
                        "\"matchers\" is required, e.g. "
                        "\"alertname=api_p90_latency,service=api\"");
        goto out;
    }
    if (matcher_set_parse_silence(&ms, matchers, why, sizeof(why)) < 0) {
        api_reply_error(r, 400, why);
        goto out;
    }
    matcher_set_cleanup(&ms);
    if (dur != NULL && has_end) {
        api_reply_error(r, 400,
                        "give \"for\" or \"ends_at\", not both: they could "
                        "disagree");
        goto out;
    }
    if (dur != NULL) {
        if (util_parse_duration(dur, &secs) < 0 || secs <= 0) {
            api_reply_error(r, 400, "\"for\" must be a duration like 2h");
            goto out;
        }
        j.si.ends = j.si.starts + secs;
    } else if (!has_end) {
        api_reply_error(
            r, 400, "give \"for\" (e.g. \"2h\") or \"endsAt\" (\"ends_at\")");
        goto out;
    }
    if (!(j.si.ends > j.now)) {
        api_reply_error(r, 400, "the silence would end in the past");
        goto out;
    }
    if (!(j.si.ends > j.si.starts)) {
        api_reply_error(r, 400, "the silence would end before it starts");
        goto out;
    }
    if (!(j.si.ends <= UTIL_TS_MAX)) {
        api_reply_error(r, 400, "the silence would end after the year 9999");
        goto out;
    }
    j.si.matchers = matchers;
    j.si.comment = comment ? comment : "";
    j.si.created_by = by ? by : "api";
    if (writer_call(d->writer, silence_add_on_writer, &j) < 0) {
        log_error("http", "silence not saved: %s",
                  j.e.set ? j.e.msg : "writer stopped");
        api_reply_error(r, 503, "cannot save the silence");
        goto out;
    }
    log_info("http", "silence %lld added: %s", (long long)j.id, matchers);
    r->status = 201;
    r->ctype = "application/json";
    buf_printf(&r->body, "{\"id\":%lld}\n", (long long)j.id);
out:
    buf_cleanup(&mtext);
    cJSON_Delete(o);
}

void api_silence_expire_query(struct daemon_ctx *d, const char *query_id,
                              const char *body, size_t len, struct api_reply *r)
{
    char idbuf[32];
    cJSON *o, *id;

    if (query_id != NULL) {
        api_silence_expire(d, query_id, r);
        return;
    }
    o = len > 0 && silence_body_problem(body, len) == NULL
            ? cJSON_ParseWithLength(body, len)
            : NULL;
    id = cJSON_GetObjectItemCaseSensitive(o, "id");
    idbuf[0] = '\0';
    if (cJSON_IsString(id) && strlen(id->valuestring) >= sizeof(idbuf))
        snprintf(idbuf, sizeof(idbuf), "x"); /* no id is that long */
    else if (cJSON_IsString(id))
        snprintf(idbuf, sizeof(idbuf), "%s", id->valuestring);
    else if (cJSON_IsNumber(id) && id->valuedouble >= 1 &&
             id->valuedouble < 1e15 &&
             id->valuedouble == (long long)id->valuedouble)
        snprintf(idbuf, sizeof(idbuf), "%lld", (long long)id->valuedouble);
    cJSON_Delete(o);
    if (idbuf[0] == '\0') {
        api_reply_error(r, 400,
                        "which silence? DELETE /api/v1/silences/ID, "
                        "?id=ID or a body {\"id\": ID}");
        return;
    }
    api_silence_expire(d, idbuf, r);
}

void api_silence_expire(struct daemon_ctx *d, const char *id_text,
                        struct api_reply *r)
{
    struct silence_job j;
    char *end;
    long long id;
    int rc;

    memset(&j, 0, sizeof(j));
    errno = 0;
    /* Digits only: strtoll would also take " 8" and "+8". */
    id = isdigit((unsigned char)id_text[0]) ? strtoll(id_text, &end, 10) : 0;
    if (id <= 0 || errno != 0 || *end != '\0') {
        api_reply_error(r, 404, "no such silence");
        return;
    }
    j.id = id;
    j.now = util_now_ms();
    rc = writer_call(d->writer, silence_expire_on_writer, &j);
    if (rc == 1) {
        api_reply_error(r, 404, "no such active silence");
        return;
    }
    if (rc < 0) {
        log_error("http", "silence %lld not expired: %s", id,
                  j.e.set ? j.e.msg : "writer stopped");
        api_reply_error(r, 503, "cannot expire the silence");
        return;
    }
    log_info("http", "silence %lld expired", id);
    r->status = 204;
}

/* --- metrics --- */

static int tally_cb(void *ctx, const struct outbox_row *row)
{
    struct daemon_ctx *d = ctx;
    size_t i;

    if (row->id <= d->silenced_last_id)
        return 0;
    d->silenced_last_id = row->id;
    if (row->created > d->silenced_since)
        d->silenced_since = row->created;
    /* Counters count this process's work: not the rows an earlier run
     * queued in the minute before the start. */
    if (row->created < d->started_at)
        return 0;
    /* Rows silenced when recorded; those silenced later, when due (they
     * say why in last_error), are the dispatcher's count. */
    bool skipped = row->status == OUTBOX_SKIPPED;

    if ((row->status != OUTBOX_SILENCED && !skipped) || row->receiver == NULL ||
        (row->status == OUTBOX_SILENCED && row->last_error != NULL))
        return 0;
    for (i = 0; i < d->nsilenced; i++)
        if (strcmp(d->silenced[i].receiver, row->receiver) == 0)
            break;
    if (i == d->nsilenced) {
        d->silenced =
            xrealloc(d->silenced, (d->nsilenced + 1) * sizeof(*d->silenced));
        d->silenced[i].receiver = xstrdup(row->receiver);
        d->silenced[i].n = d->silenced[i].skipped = 0;
        d->nsilenced++;
    }
    if (skipped)
        d->silenced[i].skipped++;
    else
        d->silenced[i].n++;
    return 0;
}

/* The rows the tally counted for a receiver, onto its metrics line (the
 * dispatcher's count of those silenced when due is there already). */
static void add_tally(struct metrics_notifier *m,
                      const struct silenced_tally *t)
{
    m->silenced += t->n;
    m->skipped = t->skipped;
}

void api_metrics(struct daemon_ctx *d, struct api_reply *r)
{
    const struct config *cfg = daemon_config(d);
    struct dispatch_counter *dc = NULL;
    struct metrics_notifier *mn;
    struct metrics_scrape sc[256];
    struct metrics_extra x;
    struct err e = {0};
    size_t ndc = 0, i, k;
    int64_t pending = -1;

    memset(&x, 0, sizeof(x));
    x.version = TOCSIN_VERSION;
    if (d->dispatcher != NULL)
        dc = dispatcher_counters(d->dispatcher, &ndc);
    /* The configured notifiers, then receivers the config no longer has
     * whose notifications the dispatcher still counted (failed ones). */
    mn = xcalloc(cfg->nnotifiers + ndc + d->nsilenced + 1, sizeof(*mn));
    pthread_mutex_lock(&d->ro_mu);
    /* Silenced rows are tallied incrementally: rows newer than the last
     * seen id, created since (a minute before) the newest seen. */
    if (store_outbox_foreach(d->ro, d->silenced_since - 60, tally_cb, d, &e) <
        0)
        log_warn("http", "metrics: %s", e.msg);
    err_clear(&e);
    if (store_outbox_count(d->ro, OUTBOX_PENDING, &pending, &e) < 0) {
        log_warn("http", "metrics: %s", e.msg);
        pending = -1;
    }
    for (i = 0; i < cfg->nnotifiers; i++) {
        mn[i].name = cfg->notifiers[i].name;
        for (k = 0; k < ndc; k++) {
            if (dc[k].receiver && strcmp(dc[k].receiver, mn[i].name) == 0) {
                mn[i].sent = dc[k].sent;
                mn[i].failed = dc[k].failed;
                mn[i].retried = dc[k].retried;
                mn[i].silenced = dc[k].silenced;
            }
        }
        for (k = 0; k < d->nsilenced; k++)
            if (strcmp(d->silenced[k].receiver, mn[i].name) == 0)
                add_tally(&mn[i], &d->silenced[k]);
    }
    x.nnotifiers = cfg->nnotifiers;
    for (k = 0; k < ndc; k++) {
        bool known = dc[k].receiver == NULL;

        for (i = 0; i < x.nnotifiers && !known; i++)
            known = strcmp(dc[k].receiver, mn[i].name) == 0;
        if (known)
            continue;
        mn[x.nnotifiers].name = dc[k].receiver;
        mn[x.nnotifiers].sent = dc[k].sent;
        mn[x.nnotifiers].failed = dc[k].failed;
        mn[x.nnotifiers].retried = dc[k].retried;
        mn[x.nnotifiers].silenced = dc[k].silenced;
        x.nnotifiers++;
    }
    /* A lost receiver's silenced count too (a counter must not drop),
     * also one whose notifications were all silenced. */
    for (k = 0; k < d->nsilenced; k++) {
        for (i = cfg->nnotifiers; i < x.nnotifiers; i++)
            if (strcmp(d->silenced[k].receiver, mn[i].name) == 0)
                break;
        if (i == x.nnotifiers) {
            bool configured = false;

            for (size_t j = 0; j < cfg->nnotifiers && !configured; j++)
                configured = strcmp(d->silenced[k].receiver, mn[j].name) == 0;
            if (configured)
                continue;
            mn[x.nnotifiers++].name = d->silenced[k].receiver;
        }
        add_tally(&mn[i], &d->silenced[k]);
    }
    pthread_mutex_unlock(&d->ro_mu);
    x.notifiers = mn;
    x.outbox_pending = pending;
    pthread_mutex_lock(&d->inputs_mu);
    x.nscrapes =
        inputs_scrape_counters(d->inputs, sc, sizeof(sc) / sizeof(sc[0]));
    if (x.nscrapes > sizeof(sc) / sizeof(sc[0]))
        x.nscrapes = sizeof(sc) / sizeof(sc[0]);
    x.scrapes = sc;
    if (metrics_render(&d->metrics, &x, &r->body) < 0)
        api_reply_error(r, 500, "metrics too large");
    else {
        r->status = 200;
        r->ctype = "text/plain; version=0.0.4; charset=utf-8";
    }
    pthread_mutex_unlock(&d->inputs_mu);
    free(mn);
    free(dc);
}

void api_cleanup(struct daemon_ctx *d)
{
    size_t i;

    for (i = 0; i < d->nsilenced; i++)
        free(d->silenced[i].receiver);
    free(d->silenced);
    d->silenced = NULL;
    d->nsilenced = 0;
}
