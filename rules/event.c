/* event.c - the SPEC's event JSON line, written directly into a buffer (it is
 * on the hot path of eval and the daemon, so no cJSON tree is built). */
#include "event.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../common/util.h"

static int json_str(struct buf *b, const char *s)
{
    if (buf_addc(b, '"') < 0 || buf_add_json_str(b, s, strlen(s)) < 0)
        return -1;
    return buf_addc(b, '"');
}

static int json_obj(struct buf *b, const struct label *v, size_t n)
{
    if (buf_addc(b, '{') < 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if ((i && buf_addc(b, ',') < 0) || json_str(b, v[i].name) < 0 ||
            buf_addc(b, ':') < 0 || json_str(b, v[i].value) < 0)
            return -1;
    }
    return buf_addc(b, '}');
}

int event_to_json(const struct alert_event *ev, struct buf *out)
{
    char num[UTIL_TS_LEN];

    /* ts with millisecond precision, always with a fraction ("1767225720.0").
     */
    util_format_ts(ev->ts, num);
    if (buf_adds(out, "{\"ts\":") < 0 || buf_adds(out, num) < 0 ||
        buf_adds(out, ",\"rule\":") < 0 || json_str(out, ev->rule) < 0 ||
        buf_adds(out, ",\"labels\":") < 0 ||
        json_obj(out, ev->labels, ev->nlabels) < 0 ||
        buf_adds(out, ",\"event\":") < 0 ||
        json_str(out, event_kind_name(ev->kind)) < 0 ||
        buf_adds(out, ",\"severity\":") < 0 ||
        json_str(out, severity_name(ev->severity)) < 0 ||
        buf_adds(out, ",\"previous\":") < 0 ||
        json_str(out, severity_name(ev->previous)) < 0 ||
        buf_adds(out, ",\"value\":") < 0)
        return -1;
    if (ev->has_value && isfinite(ev->value)) {
        util_format_double(ev->value, num, sizeof(num));
        if (buf_adds(out, num) < 0)
            return -1;
    } else if (buf_adds(out, "null") < 0) {
        return -1;
    }
    if (buf_adds(out, ",\"reason\":") < 0 ||
        json_str(out, event_reason_name(ev->reason)) < 0 ||
        buf_adds(out, ",\"fingerprint\":") < 0 ||
        json_str(out, ev->fingerprint) < 0 ||
        buf_adds(out, ",\"annotations\":") < 0 ||
        json_obj(out, ev->annotations, ev->nannotations) < 0)
        return -1;
    return buf_addc(out, '}');
}

const char *event_reason_name(enum event_reason r)
{
    return r == REASON_NODATA   ? "nodata"
           : r == REASON_RELOAD ? "reload"
                                : "threshold";
}
