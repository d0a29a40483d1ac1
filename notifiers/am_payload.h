/* am_payload.h - reading a notification's event payload, and the Prometheus
 * Alertmanager webhook payload (version 4) built from it. Shared by the
 * webhook and log notifiers (and the event view by slack and email). */
#ifndef TOCSIN_AM_PAYLOAD_H
#define TOCSIN_AM_PAYLOAD_H

#include <cjson/cJSON.h>
#include <stdbool.h>

#include "../common/buf.h"
#include "../common/err.h"

/* A borrowed view of {"event": {...}, "starts_at": ts, "receiver": name}.
 * Strings are never NULL ("" when absent) and point into the cJSON tree. */
struct am_event {
    const cJSON *event;      /* the SPEC section 4 event object */
    const char *rule, *kind; /* kind: "firing", "escalated", ... */
    const char *severity, *previous, *reason, *fingerprint;
    const char *shown; /* severity, or previous when it is "ok" */
    bool resolved;     /* severity is "ok" */
    bool has_value;    /* false: value null (nodata) */
    double value;
    double ts, starts_at;     /* starts_at defaults to ts when absent */
    const cJSON *labels;      /* object of strings; may be NULL */
    const cJSON *annotations; /* object of strings; may be NULL */
    const cJSON *by;          /* the rule's `by` label names (array of
                                 strings); NULL when the payload has none */
};

/* Fill ev from a notification payload. Returns 0, or -1 with a reason in e
 * when there is no "event" object or it lacks "rule". */
int am_event_parse(const cJSON *payload, struct am_event *ev, struct err *e);

/* A string member of obj, or NULL. */
const char *am_json_str(const cJSON *obj, const char *key);

/* The Alertmanager webhook payload version 4 for one alert, written
 * straight to out as compact JSON (the webhook's per-delivery path):
 * receiver, status, alerts[1] (labels + "severity", annotations, both with
 * keys sorted as Go writes maps, startsAt, endsAt, generatorURL,
 * fingerprint), groupLabels, commonLabels, commonAnnotations, externalURL,
 * version "4", groupKey, truncatedAlerts; strings escaped and the text
 * ended as Go's json.Encoder does (buf_add_json_str_go, a newline), so
 * the bytes are Alertmanager's. Returns 0 or -1. */
int am_payload_print(const struct am_event *ev, const char *receiver,
                     struct buf *out);

/* The same payload as a new object (free with cJSON_Delete), for callers
 * that add to it; NULL when out of memory. */
cJSON *am_payload_build(const struct am_event *ev, const char *receiver);

/* Append "RULE k=v k=v": the alert's short name in subjects and fallback
 * texts. The labels are the rule's `by` labels when the payload names them,
 * else every label but alertname, in label order. Returns 0 or -1. */
int am_title(const struct am_event *ev, struct buf *out);

/* The word in front of a title, "[CRITICAL] ...": the shown severity, or
 * "resolved", upper-cased into dst (n bytes), cut short on a character
 * boundary. */
void am_severity_word(const struct am_event *ev, char *dst, size_t n);
/* Its colour: green resolved, red critical, amber warning, blue info. */
const char *am_severity_color(const struct am_event *ev);

#endif
