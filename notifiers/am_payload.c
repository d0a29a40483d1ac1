/* am_payload.c - the Alertmanager v4 webhook payload (reference section 2a)
 * for one tocsin alert event, and the shared parse of a notification's
 * event payload. Called by webhook.c, log.c, slack.c and email.c. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/util.h"
#include "am_payload.h"

const char *am_json_str(const cJSON *obj, const char *key)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsString(it) ? it->valuestring : NULL;
}

static const char *str_or_empty(const cJSON *obj, const char *key)
{
    const char *s = am_json_str(obj, key);
    return s ? s : "";
}

int am_event_parse(const cJSON *payload, struct am_event *ev, struct err *e)
{
    const cJSON *ev_obj, *it;

    memset(ev, 0, sizeof(*ev));
    ev_obj = cJSON_GetObjectItemCaseSensitive(payload, "event");
    if (!cJSON_IsObject(ev_obj)) {
        err_set(e, "notification payload has no \"event\" object");
        return -1;
    }
    ev->event = ev_obj;
    ev->rule = str_or_empty(ev_obj, "rule");
    if (*ev->rule == '\0') {
        err_set(e, "notification event has no \"rule\"");
        return -1;
    }
    ev->kind = str_or_empty(ev_obj, "event");
    ev->severity = str_or_empty(ev_obj, "severity");
    ev->previous = str_or_empty(ev_obj, "previous");
    ev->reason = str_or_empty(ev_obj, "reason");
    ev->fingerprint = str_or_empty(ev_obj, "fingerprint");
    ev->resolved =
        strcmp(ev->severity, "ok") == 0 || strcmp(ev->kind, "resolved") == 0;
    ev->shown = ev->resolved && strcmp(ev->severity, "ok") == 0 ? ev->previous
                                                                : ev->severity;
    it = cJSON_GetObjectItemCaseSensitive(ev_obj, "value");
    ev->has_value = cJSON_IsNumber(it);
    ev->value = ev->has_value ? it->valuedouble : NAN;
    it = cJSON_GetObjectItemCaseSensitive(ev_obj, "ts");
    ev->ts = cJSON_IsNumber(it) ? it->valuedouble : 0;
    it = cJSON_GetObjectItemCaseSensitive(payload, "by");
    ev->by = cJSON_IsArray(it) ? it : NULL;
    it = cJSON_GetObjectItemCaseSensitive(payload, "starts_at");
    ev->starts_at = cJSON_IsNumber(it) ? it->valuedouble : ev->ts;
    it = cJSON_GetObjectItemCaseSensitive(ev_obj, "labels");
    ev->labels = cJSON_IsObject(it) ? it : NULL;
    it = cJSON_GetObjectItemCaseSensitive(ev_obj, "annotations");
    ev->annotations = cJSON_IsObject(it) ? it : NULL;
    return 0;
}

struct kv {
    const char *k, *v;
};

static int cmp_kv(const void *a, const void *b)
{
    return strcmp(((const struct kv *)a)->k, ((const struct kv *)b)->k);
}

/* An object of the n pairs, keys sorted bytewise as Alertmanager's Go
 * encoder writes its label and annotation maps; a duplicate key (not
 * expected) keeps its first value. */
static cJSON *sorted_object(struct kv *kv, size_t n)
{
    cJSON *o = cJSON_CreateObject();

    if (o == NULL)
        return NULL;
    qsort(kv, n, sizeof(*kv), cmp_kv);
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && strcmp(kv[i].k, kv[i - 1].k) == 0)
            continue;
        if (!cJSON_AddStringToObject(o, kv[i].k, kv[i].v)) {
            cJSON_Delete(o);
            return NULL;
        }
    }
    return o;
}

/* The string members of src (plus room for extra more), as pairs. */
static struct kv *string_pairs(const cJSON *src, size_t extra, size_t *n)
{
    const cJSON *it;
    struct kv *kv;
    size_t m = 0;

    cJSON_ArrayForEach(it, src) m++;
    kv = xcalloc(m + extra + 1, sizeof(*kv));
    *n = 0;
    cJSON_ArrayForEach(it, src)
    {
        if (it->string && cJSON_IsString(it)) {
            kv[*n].k = it->string;
            kv[(*n)++].v = it->valuestring;
        }
    }
    return kv;
}

static cJSON *copy_strings(const cJSON *src)
{
    size_t n;
    struct kv *kv = string_pairs(src, 0, &n);
    cJSON *o = sorted_object(kv, n);

    free(kv);
    return o;
}

/* Go's time.RFC3339Nano form: UTC, fraction without trailing zeros and
 * omitted when zero ("2026-01-01T00:01:00Z", "...00:00:00.25Z"). */
static void format_go_time(double ts, char *out, size_t outlen)
{
    char *dot, *z;
    size_t len;

    util_format_rfc3339(ts, out, outlen);
    dot = strchr(out, '.');
    z = strchr(out, 'Z');
    if (dot == NULL || z == NULL || z < dot)
        return;
    len = (size_t)(z - dot);
    while (len > 1 && dot[len - 1] == '0')
        len--;
    if (len == 1)
        len = 0;
    memmove(dot + len, z, strlen(z) + 1);
}

static cJSON *alert_labels(const struct am_event *ev)
{
    size_t n, j = 0;
    struct kv *kv = string_pairs(ev->labels, 2, &n);
    bool named = false;
    cJSON *o;

    /* Alertmanager receivers route on a severity label; ours is a field,
     * so show the severity the alert has (the old one when resolved). */
    for (size_t i = 0; i < n; i++) {
        if (strcmp(kv[i].k, "severity") == 0)
            continue;
        if (strcmp(kv[i].k, "alertname") == 0)
            named = true;
        kv[j++] = kv[i];
    }
    if (!named)
        kv[j++] = (struct kv){"alertname", ev->rule};
    kv[j++] = (struct kv){"severity", ev->shown};
    o = sorted_object(kv, j);
    free(kv);
    return o;
}

cJSON *am_payload_build(const struct am_event *ev, const char *receiver)
{
    cJSON *root = cJSON_CreateObject(), *alerts = NULL, *alert = NULL;
    cJSON *gl = NULL, *labels, *annotations;
    const char *status = ev->resolved ? "resolved" : "firing";
    char starts[40], ends[40], gk[512];
    int ok = root != NULL;

    format_go_time(ev->starts_at, starts, sizeof(starts));
    if (ev->resolved)
        format_go_time(ev->ts, ends, sizeof(ends));
    else
        snprintf(ends, sizeof(ends), "0001-01-01T00:00:00Z");
    snprintf(gk, sizeof(gk), "{}:{alertname=\"%s\"}", ev->rule);

    ok = ok &&
         cJSON_AddStringToObject(root, "receiver", receiver ? receiver : "");
    ok = ok && cJSON_AddStringToObject(root, "status", status);
    ok = ok && (alerts = cJSON_AddArrayToObject(root, "alerts")) != NULL;
    ok = ok && (alert = cJSON_CreateObject()) != NULL;
    if (ok)
        cJSON_AddItemToArray(alerts, alert);
    ok = ok && cJSON_AddStringToObject(alert, "status", status);
    /* One alert per notification: the common labels and annotations are
     * the alert's, referenced rather than built twice. */
    labels = ok ? alert_labels(ev) : NULL;
    annotations = ok ? copy_strings(ev->annotations) : NULL;
    if (labels)
        cJSON_AddItemToObject(alert, "labels", labels);
    if (annotations)
        cJSON_AddItemToObject(alert, "annotations", annotations);
    ok = ok && cJSON_AddStringToObject(alert, "startsAt", starts);
    ok = ok && cJSON_AddStringToObject(alert, "endsAt", ends);
    ok = ok && cJSON_AddStringToObject(alert, "generatorURL", "");
    ok = ok && cJSON_AddStringToObject(alert, "fingerprint", ev->fingerprint);
    ok = ok && (gl = cJSON_AddObjectToObject(root, "groupLabels")) != NULL;
    ok = ok && cJSON_AddStringToObject(gl, "alertname", ev->rule);
    if (ok && labels)
        cJSON_AddItemReferenceToObject(root, "commonLabels", labels);
    if (ok && annotations)
        cJSON_AddItemReferenceToObject(root, "commonAnnotations", annotations);
    ok = ok && cJSON_AddStringToObject(root, "externalURL", "");
    ok = ok && cJSON_AddStringToObject(root, "version", "4");
    ok = ok && cJSON_AddStringToObject(root, "groupKey", gk);
    ok = ok && cJSON_AddNumberToObject(root, "truncatedAlerts", 0);
    /* Any NULL child means an allocation failed. */
    ok = ok && cJSON_GetObjectItemCaseSensitive(alert, "labels") &&
         cJSON_GetObjectItemCaseSensitive(alert, "annotations") &&
         cJSON_GetObjectItemCaseSensitive(root, "commonLabels") &&
         cJSON_GetObjectItemCaseSensitive(root, "commonAnnotations");
    if (!ok) {
        cJSON_Delete(root);
        return NULL;
    }
    return root;
}

int am_title(const struct am_event *ev, struct buf *out)
{
    const cJSON *it;

    if (buf_adds(out, ev->rule) < 0)
        return -1;
    if (ev->by != NULL) {
        /* The labels that identify the alert within its rule, in `by`
         * order: "[CRITICAL] api_p90_latency service=api firing". */
        cJSON_ArrayForEach(it, ev->by)
        {
            const char *v;
            if (!cJSON_IsString(it) ||
                strcmp(it->valuestring, "alertname") == 0)
                continue;
            v = am_json_str(ev->labels, it->valuestring);
            if (buf_printf(out, " %s=%s", it->valuestring, v ? v : "") < 0)
                return -1;
        }
        return 0;
    }
    cJSON_ArrayForEach(it, ev->labels)
    {
        if (!cJSON_IsString(it) || strcmp(it->string, "alertname") == 0)
            continue;
        if (buf_printf(out, " %s=%s", it->string, it->valuestring) < 0)
            return -1;
    }
    return 0;
}
