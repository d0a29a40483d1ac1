/* event.h - an alert event (SPEC section 4) and its JSON line. Emitted by the
 * engine; stored in the history; the input of routing and every notifier. */
#ifndef TOCSIN_EVENT_H
#define TOCSIN_EVENT_H

#include <stdbool.h>
#include <stddef.h>

#include "../common/buf.h"
#include "../common/labels.h"
#include "config.h"

/* reload: a reload removed or redefined the alert's rule, which resolves
 * it (the rule no longer says anything of it). */
enum event_reason { REASON_THRESHOLD, REASON_NODATA, REASON_RELOAD };
const char *event_reason_name(enum event_reason r);

struct alert_event {
    double ts; /* Unix seconds */
    const char *rule;
    /* By labels (in `by` order), then the rule's labels (config order, they
     * win on a clash), then alertname. Borrowed. */
    const struct label *labels;
    size_t nlabels;
    enum event_kind kind;
    enum severity severity; /* new severity, SEV_OK after resolved */
    enum severity previous;
    bool has_value; /* false: "value":null (nodata) */
    double value;
    enum event_reason reason;
    char fingerprint[17];
    const struct label *annotations; /* rendered; borrowed */
    size_t nannotations;
    double starts_at; /* when this alert last went from ok to
                         non-ok (== ts for firing) */
};

/* Append the event as one JSON object (no newline) in exactly the SPEC's
 * shape and key order: ts, rule, labels, event, severity, previous, value,
 * reason, fingerprint, annotations. ts has millisecond precision.
 * Returns 0 or -1 (buffer limit). */
int event_to_json(const struct alert_event *ev, struct buf *out);

#endif
