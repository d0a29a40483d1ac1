/* format_json.c - the report as JSON (SPEC section 9 shape), the shared
 * date/duration helpers of the renderers, and the "report" notification
 * payload that --post and the daemon's schedule deliver. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/util.h"
#include "format_internal.h"

void report_day_str(int64_t day, char *out, size_t outlen)
{
    time_t t = (time_t)(day * 86400);
    struct tm tm;

    if (gmtime_r(&t, &tm) == NULL) {
        snprintf(out, outlen, "?");
        return;
    }
    snprintf(out, outlen, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday);
}

void report_date_str(double ts, char *out, size_t outlen)
{
    report_day_str((int64_t)floor(ts / 86400.0), out, outlen);
}

void report_dur_str(const struct report_rule *rr, double secs, char *out,
                    size_t outlen)
{
    if (rr->nepisodes == 0) {
        snprintf(out, outlen, "-");
        return;
    }
    /* The two largest units are enough to compare rules at a glance
     * ("1d19h", "5m30s"); the JSON keeps the exact seconds. */
    static const struct {
        const char *unit;
        long long secs;
    } units[] = {{"d", 86400}, {"h", 3600}, {"m", 60}, {"s", 1}};
    long long left = (long long)floor(secs + 0.5);
    size_t used = 0;
    int shown = 0;

    out[0] = '\0';
    for (size_t i = 0; i < 4 && shown < 2; i++) {
        long long n = left / units[i].secs;
        if (n == 0 && shown == 0)
            continue;
        left -= n * units[i].secs;
        if (n > 0) {
            int w =
                snprintf(out + used, outlen - used, "%lld%s", n, units[i].unit);
            if (w < 0 || (size_t)w >= outlen - used)
                break;
            used += (size_t)w;
        }
        shown++;
    }
    if (used == 0)
        snprintf(out, outlen, "0s");
}

double report_round3(double x)
{
    return round(x * 1000.0) / 1000.0;
}

void report_title(const struct report *r, char *out, size_t outlen)
{
    char a[16], b[16];

    report_date_str(r->since, a, sizeof(a));
    report_date_str(r->until, b, sizeof(b));
    snprintf(out, outlen, "tocsin noisy-alert report, %s to %s", a, b);
}

static cJSON *rule_object(const struct report *r, const struct report_rule *rr)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *n, *pd;
    char day[16];

    if (o == NULL)
        return NULL;
    (void)r;
    cJSON_AddStringToObject(o, "rule", rr->rule);
    cJSON_AddNumberToObject(o, "fired", (double)rr->fired);
    cJSON_AddNumberToObject(o, "escalated", (double)rr->escalated);
    cJSON_AddNumberToObject(o, "resolved", (double)rr->resolved);
    cJSON_AddNumberToObject(o, "series", (double)rr->series);
    n = cJSON_AddObjectToObject(o, "notifications");
    if (n != NULL) {
        cJSON_AddNumberToObject(n, "sent", (double)rr->sent);
        cJSON_AddNumberToObject(n, "failed", (double)rr->failed);
        cJSON_AddNumberToObject(n, "silenced", (double)rr->silenced);
    }
    /* No episode with a known start: no duration to speak of (null). */
    if (rr->nepisodes > 0) {
        cJSON_AddNumberToObject(o, "median_firing_seconds",
                                report_round3(rr->median_s));
        cJSON_AddNumberToObject(o, "p90_firing_seconds",
                                report_round3(rr->p90_s));
    } else {
        cJSON_AddNullToObject(o, "median_firing_seconds");
        cJSON_AddNullToObject(o, "p90_firing_seconds");
    }
    cJSON_AddNumberToObject(o, "short_lived", (double)rr->short_lived);
    cJSON_AddNumberToObject(o, "flapping", (double)rr->flapping);
    pd = cJSON_AddObjectToObject(o, "per_day");
    for (size_t i = 0; pd != NULL && i < rr->ndays; i++) {
        report_day_str(rr->days[i].day, day, sizeof(day));
        cJSON_AddNumberToObject(pd, day, (double)rr->days[i].n);
    }
    cJSON_AddNumberToObject(o, "fires_per_day",
                            report_round3(rr->fires_per_day));
    cJSON_AddNumberToObject(o, "noise_score", report_round3(rr->noise_score));
    cJSON_AddNumberToObject(o, "deescalated", (double)rr->deescalated);
    cJSON_AddNumberToObject(o, "episodes", (double)rr->nepisodes);
    cJSON_AddNumberToObject(o, "short_ratio", report_round3(rr->short_ratio));
    cJSON_AddNumberToObject(o, "flap_ratio", report_round3(rr->flap_ratio));
    cJSON_AddBoolToObject(o, "noisy", rr->noisy);
    if (rr->suggestion != NULL)
        cJSON_AddStringToObject(o, "suggestion", rr->suggestion);
    else
        cJSON_AddNullToObject(o, "suggestion");
    return o;
}

cJSON *report_json_object(const struct report *r)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *rules;

    if (o == NULL)
        return NULL;
    cJSON_AddNumberToObject(o, "since", report_round3(r->since));
    cJSON_AddNumberToObject(o, "until", report_round3(r->until));
    cJSON_AddNumberToObject(o, "short_seconds", r->short_s);
    cJSON_AddNumberToObject(o, "days", report_round3(r->period_days));
    rules = cJSON_AddArrayToObject(o, "rules");
    if (rules == NULL) {
        cJSON_Delete(o);
        return NULL;
    }
    for (size_t i = 0; i < r->nrules; i++) {
        cJSON *ro = rule_object(r, &r->rules[i]);
        if (ro == NULL) {
            cJSON_Delete(o);
            return NULL;
        }
        cJSON_AddItemToArray(rules, ro);
    }
    return o;
}

int report_format_json(const struct report *r, struct buf *out)
{
    cJSON *o = report_json_object(r);
    char *s;
    int rc;

    if (o == NULL)
        return -1;
    s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (s == NULL)
        return -1;
    rc = buf_adds(out, s);
    if (rc == 0)
        rc = buf_addc(out, '\n');
    cJSON_free(s);
    return rc;
}

/* Render one format into a cJSON string item added to obj. */
static int add_rendered(cJSON *obj, const char *key, const struct report *r,
                        enum report_format f)
{
    struct buf b;
    int rc = -1;

    buf_init(&b, 0);
    if (report_format(r, f, &b) == 0 &&
        cJSON_AddStringToObject(obj, key, buf_str(&b)) != NULL)
        rc = 0;
    buf_cleanup(&b);
    return rc;
}

int report_payload_json(const struct report *r, char **payload_json,
                        struct err *e)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *rep, *js;
    char title[128];
    char *s;

    *payload_json = NULL;
    if (root == NULL)
        goto oom;
    rep = cJSON_AddObjectToObject(root, "report");
    if (rep == NULL)
        goto oom;
    report_title(r, title, sizeof(title));
    if (cJSON_AddStringToObject(rep, "title", title) == NULL ||
        add_rendered(rep, "text", r, REPORT_TEXT) < 0 ||
        add_rendered(rep, "markdown", r, REPORT_MARKDOWN) < 0 ||
        add_rendered(rep, "html", r, REPORT_HTML) < 0)
        goto oom;
    js = report_json_object(r);
    if (js == NULL)
        goto oom;
    cJSON_AddItemToObject(rep, "json", js);
    s = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (s == NULL) {
        err_set(e, "report: out of memory building the payload");
        return -1;
    }
    /* cJSON_free and free are the same allocator here (no hooks set); copy
     * anyway so the caller's free() is always right. */
    *payload_json = xstrdup(s);
    cJSON_free(s);
    return 0;
oom:
    cJSON_Delete(root);
    err_set(e, "report: out of memory building the payload");
    return -1;
}

int report_build_payload(struct store *s, double since, double until,
                         double short_s, char **payload_json, struct err *e)
{
    struct report *r;
    int rc;

    *payload_json = NULL;
    if (report_compute(s, since, until, short_s, &r, e) < 0)
        return -1;
    rc = report_payload_json(r, payload_json, e);
    report_free(r);
    return rc;
}
