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

/* Sort the n pairs by key, bytewise as Alertmanager's Go encoder writes
 * its label and annotation maps, and drop repeated keys (not expected; the
 * first value stays). Returns how many are left. */
static size_t sort_pairs(struct kv *kv, size_t n)
{
    size_t j = 0;

    qsort(kv, n, sizeof(*kv), cmp_kv);
    for (size_t i = 0; i < n; i++)
        if (j == 0 || strcmp(kv[i].k, kv[j - 1].k) != 0)
            kv[j++] = kv[i];
    return j;
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

/* The alert's label pairs (sorted, deduplicated; *n of them): its labels
 * with alertname added when absent and severity replaced. Alertmanager
 * receivers route on a severity label; ours is a field, so show the
 * severity the alert has (the old one when resolved). A label with an
 * empty value (a missing `by` label) is left out: to Prometheus and
 * Alertmanager it is a label the alert does not have, and they never
 * send one. */
static struct kv *alert_label_pairs(const struct am_event *ev, size_t *n)
{
    size_t m, j = 0;
    struct kv *kv = string_pairs(ev->labels, 2, &m);
    bool named = false;

    for (size_t i = 0; i < m; i++) {
        if (strcmp(kv[i].k, "severity") == 0 || kv[i].v[0] == '\0')
            continue;
        if (strcmp(kv[i].k, "alertname") == 0)
            named = true;
        kv[j++] = kv[i];
    }
    if (!named)
        kv[j++] = (struct kv){"alertname", ev->rule};
    kv[j++] = (struct kv){"severity", ev->shown};
    *n = sort_pairs(kv, j);
    return kv;
}

/* A string literal, its length known at compile time. */
#define ADD_LIT(b, lit) buf_add((b), (lit), sizeof(lit) - 1)

/* "key":"value" members of an object, in the given order, but the one
 * named skip (NULL: none). */
static int print_pairs(struct buf *b, const struct kv *kv, size_t n,
                       const char *skip)
{
    int rc = buf_addc(b, '{');
    bool first = true;

    for (size_t i = 0; i < n && rc == 0; i++) {
        if (skip != NULL && strcmp(kv[i].k, skip) == 0)
            continue;
        rc = first ? buf_addc(b, '"') : ADD_LIT(b, ",\"");
        first = false;
        rc = rc ? rc : buf_add_json_str_go(b, kv[i].k, strlen(kv[i].k));
        rc = rc ? rc : ADD_LIT(b, "\":\"");
        rc = rc ? rc : buf_add_json_str_go(b, kv[i].v, strlen(kv[i].v));
        rc = rc ? rc : buf_addc(b, '"');
    }
    return rc ? rc : buf_addc(b, '}');
}

/* The len bytes at off, written once already, again at the end. */
static int repeat_span(struct buf *b, size_t off, size_t len)
{
    /* Room first: the copy's source must not move while it is read. */
    if (buf_reserve(b, len) < 0)
        return -1;
    return buf_add(b, b->data + off, len);
}

/* A JSON string's inside, escaped; then the closing quote. */
static int print_val(struct buf *b, const char *v)
{
    int rc = buf_add_json_str_go(b, v, strlen(v));

    return rc ? rc : buf_addc(b, '"');
}

/* The length of the valid UTF-8 character at c, a byte >= 0x80 of a
 * NUL-terminated string (0: not one). Of those, strconv.Quote escapes
 * U+2028 and U+2029 (util_utf8_separator_escape); other characters Go does
 * not count as printable (unicode.IsPrint) are left as they are. */
static size_t go_utf8(const unsigned char *c)
{
    return util_utf8_seq((const char *)c, strnlen((const char *)c, 4));
}

/* v as Go's strconv.Quote writes it (Alertmanager's label sets print their
 * values so in a group key): \" and \\, C escapes for control bytes. */
static int go_quote(struct buf *b, const char *v)
{
    static const char hex[] = "0123456789abcdef";
    int rc = buf_addc(b, '"');

    for (const unsigned char *c = (const unsigned char *)v; *c && rc == 0;
         c++) {
        const char *esc = NULL;
        size_t k;

        switch (*c) {
        case '"':
            esc = "\\\"";
            break;
        case '\\':
            esc = "\\\\";
            break;
        case '\a':
            esc = "\\a";
            break;
        case '\b':
            esc = "\\b";
            break;
        case '\f':
            esc = "\\f";
            break;
        case '\n':
            esc = "\\n";
            break;
        case '\r':
            esc = "\\r";
            break;
        case '\t':
            esc = "\\t";
            break;
        case '\v':
            esc = "\\v";
            break;
        default:
            break;
        }
        if (esc != NULL) {
            rc = buf_adds(b, esc);
        } else if (*c >= 0x80 && (k = go_utf8(c)) > 0) {
            const char *sep = util_utf8_separator_escape((const char *)c, k);

            rc = sep ? buf_adds(b, sep) : buf_add(b, c, k);
            c += k - 1;
        } else if (*c < 0x20 || *c >= 0x7f) { /* DEL, or not UTF-8 */
            char x[4] = {'\\', 'x', hex[*c >> 4], hex[*c & 15]};
            rc = buf_add(b, x, 4);
        } else {
            rc = buf_addc(b, (char)*c);
        }
    }
    return rc ? rc : buf_addc(b, '"');
}

/* Whether Go's strconv.Quote writes v as it is between its quotes. */
static bool go_plain(const char *v)
{
    for (const unsigned char *c = (const unsigned char *)v; *c; c++) {
        size_t k;

        if (*c < 0x20 || *c == 0x7f || *c == '"' || *c == '\\')
            return false;
        if (*c >= 0x80) {
            k = go_utf8(c);
            if (k == 0 || util_utf8_separator_escape((const char *)c, k))
                return false;
            c += k - 1;
        }
    }
    return true;
}

/* The group's label set as Go prints it, {a="1", b="2"} (names sorted,
 * severity left out), after "{}:" (a root-route group). in_json: b is
 * inside a JSON string, and the values need no Go escapes (go_plain), so
 * only the quotes Go adds need escaping, as \"; else Go's quoting. */
static int print_group_set(struct buf *b, const struct kv *kv, size_t n,
                           bool in_json)
{
    bool first = true;
    int rc = ADD_LIT(b, "{}:{");

    for (size_t i = 0; i < n && rc == 0; i++) {
        if (strcmp(kv[i].k, "severity") == 0)
            continue;
        rc = first ? 0 : ADD_LIT(b, ", ");
        first = false;
        if (in_json) {
            rc = rc ? rc : buf_add_json_str_go(b, kv[i].k, strlen(kv[i].k));
            rc = rc ? rc : ADD_LIT(b, "=\\\"");
            rc = rc ? rc : buf_add_json_str_go(b, kv[i].v, strlen(kv[i].v));
            rc = rc ? rc : ADD_LIT(b, "\\\"");
        } else {
            rc = rc ? rc : buf_adds(b, kv[i].k);
            rc = rc ? rc : buf_addc(b, '=');
            rc = rc ? rc : go_quote(b, kv[i].v);
        }
    }
    return rc ? rc : buf_addc(b, '}');
}

/* Alertmanager's group key, JSON-escaped as the value of a string: in the
 * usual case (nothing Go escapes) straight into out, else through a copy
 * in Go's quoting. */
static int print_group_key(struct buf *out, const struct kv *kv, size_t n)
{
    struct buf k;
    bool plain = true;
    int rc;

    for (size_t i = 0; i < n && plain; i++)
        plain = go_plain(kv[i].k) && go_plain(kv[i].v);
    if (plain)
        return print_group_set(out, kv, n, true);
    buf_init(&k, 0);
    rc = print_group_set(&k, kv, n, false);
    rc = rc ? rc : buf_add_json_str_go(out, buf_str(&k), k.len);
    buf_cleanup(&k);
    return rc;
}

int am_payload_print(const struct am_event *ev, const char *receiver,
                     struct buf *out)
{
    const char *status = ev->resolved ? "resolved" : "firing";
    char starts[40], ends[40];
    size_t nl, na, lab_off, lab_len, ann_off, ann_len;
    struct kv *lk = alert_label_pairs(ev, &nl);
    struct kv *ak = string_pairs(ev->annotations, 0, &na);
    int rc;

    na = sort_pairs(ak, na);
    format_go_time(ev->starts_at, starts, sizeof(starts));
    if (ev->resolved)
        format_go_time(ev->ts, ends, sizeof(ends));
    else
        snprintf(ends, sizeof(ends), "0001-01-01T00:00:00Z");
    /* The fixed part is about 450 bytes and labels appear twice: room for
     * a usual alert at once, and below glibc's 1 KiB large-chunk size,
     * whose every request sweeps the small freed chunks together. */
    rc = buf_reserve(out, 900);
    rc = rc ? rc : ADD_LIT(out, "{\"receiver\":\"");
    rc = rc ? rc : print_val(out, receiver ? receiver : "");
    rc = rc ? rc : ADD_LIT(out, ",\"status\":\"");
    rc = rc ? rc : buf_adds(out, status);
    rc = rc ? rc : ADD_LIT(out, "\",\"alerts\":[{\"status\":\"");
    rc = rc ? rc : buf_adds(out, status);
    rc = rc ? rc : ADD_LIT(out, "\",\"labels\":");
    lab_off = out->len;
    rc = rc ? rc : print_pairs(out, lk, nl, NULL);
    lab_len = out->len - lab_off;
    rc = rc ? rc : ADD_LIT(out, ",\"annotations\":");
    ann_off = out->len;
    rc = rc ? rc : print_pairs(out, ak, na, NULL);
    ann_len = out->len - ann_off;
    rc = rc ? rc : ADD_LIT(out, ",\"startsAt\":\"");
    rc = rc ? rc : print_val(out, starts);
    rc = rc ? rc : ADD_LIT(out, ",\"endsAt\":\"");
    rc = rc ? rc : print_val(out, ends);
    rc = rc ? rc : ADD_LIT(out, ",\"generatorURL\":\"\",\"fingerprint\":\"");
    rc = rc ? rc : print_val(out, ev->fingerprint);
    /* Each message is a group of one alert: grouped by the labels that
     * name the alert (all but severity, which changes as it escalates),
     * as Alertmanager with group_by on them would. */
    rc = rc ? rc : ADD_LIT(out, "}],\"groupLabels\":");
    rc = rc ? rc : print_pairs(out, lk, nl, "severity");
    /* Common labels and annotations of a one-alert group: the alert's. */
    rc = rc ? rc : ADD_LIT(out, ",\"commonLabels\":");
    rc = rc ? rc : repeat_span(out, lab_off, lab_len);
    rc = rc ? rc : ADD_LIT(out, ",\"commonAnnotations\":");
    rc = rc ? rc : repeat_span(out, ann_off, ann_len);
    rc = rc ? rc
            : ADD_LIT(out, ",\"externalURL\":\"\",\"version\":\"4\","
                           "\"groupKey\":\"");
    rc = rc ? rc : print_group_key(out, lk, nl);
    /* Go's json.Encoder ends what it writes with a newline. */
    rc = rc ? rc : ADD_LIT(out, "\",\"truncatedAlerts\":0}\n");
    free(lk);
    free(ak);
    return rc;
}

cJSON *am_payload_build(const struct am_event *ev, const char *receiver)
{
    struct buf b;
    cJSON *o = NULL;

    buf_init(&b, 0);
    if (am_payload_print(ev, receiver, &b) == 0)
        o = cJSON_Parse(buf_str(&b));
    buf_cleanup(&b);
    return o;
}

void am_severity_word(const struct am_event *ev, char *dst, size_t n)
{
    const char *s = ev->resolved ? "resolved" : ev->shown;
    size_t i = 0;

    for (; s[i] && i + 1 < n; i++)
        dst[i] = (s[i] >= 'a' && s[i] <= 'z') ? (char)(s[i] - 32) : s[i];
    if (s[i]) /* cut short: whole characters only */
        i = util_utf8_cut(s, i);
    dst[i] = '\0';
}

const char *am_severity_color(const struct am_event *ev)
{
    if (ev->resolved)
        return "#2e7d32";
    if (strcmp(ev->shown, "critical") == 0)
        return "#d50000";
    if (strcmp(ev->shown, "warning") == 0)
        return "#ffab00";
    return "#2196f3";
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
