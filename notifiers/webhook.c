/* webhook.c - the generic webhook notifier: POSTs (or PUTs) JSON, by default
 * the Alertmanager v4 payload (am_payload.c), or a YAML `body` tree whose
 * string leaves are templates (compiled at configure time). Adds static
 * headers, the idempotency key as webhook-id, and Standard Webhooks
 * signatures when a secret is set (sign.c). Registered in registry.c. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../common/buf.h"
#include "../common/labels.h"
#include "../common/util.h"
#include "../common/version.h"
#include "../rules/template.h"
#include "am_payload.h"
#include "notifier.h"
#include "sign.h"

/* Far above what a sane alert renders (a label of 9 kB repeated in an
 * annotation already makes 500 kB): these only stop a runaway. */
#define WB_LEAF_MAX ((size_t)1 << 20) /* one rendered string leaf */
#define WB_BODY_MAX ((size_t)8 << 20) /* the whole body */

enum wb_type { WB_OBJ, WB_ARR, WB_STR, WB_RAW, WB_NUM };

/* The compiled `body` tree. */
struct wb_node {
    enum wb_type type;
    size_t n;
    char **keys;            /* WB_OBJ */
    struct wb_node **items; /* WB_OBJ, WB_ARR */
    struct tmpl *t;         /* WB_STR */
    char *raw;              /* WB_RAW: true, false, null or a JSON number */
    double num;             /* WB_NUM: a YAML number JSON cannot spell */
};

struct webhook_priv {
    char *url;
    char *method; /* NULL = POST */
    char *secret;
    char *ca_file;              /* NULL = the system's CA certificates */
    struct curl_slist *headers; /* "Name: value", configured */
    bool own_content_type;
    struct wb_node *body;
};

static const char *const webhook_keys[] = {
    "url", "headers", "secret", "body", "method", "ca_file", NULL};

static void wb_free(struct wb_node *w)
{
    if (w == NULL)
        return;
    for (size_t i = 0; i < w->n; i++) {
        if (w->keys)
            free(w->keys[i]);
        wb_free(w->items[i]);
    }
    free(w->keys);
    free(w->items);
    tmpl_free(w->t);
    free(w->raw);
    free(w);
}

/* True for exactly a JSON number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
 */
static bool json_number(const char *s)
{
    if (*s == '-')
        s++;
    if (*s == '0')
        s++;
    else if (isdigit((unsigned char)*s))
        while (isdigit((unsigned char)*s))
            s++;
    else
        return false;
    if (*s == '.') {
        s++;
        if (!isdigit((unsigned char)*s))
            return false;
        while (isdigit((unsigned char)*s))
            s++;
    }
    if (*s == 'e' || *s == 'E') {
        s++;
        if (*s == '+' || *s == '-')
            s++;
        if (!isdigit((unsigned char)*s))
            return false;
        while (isdigit((unsigned char)*s))
            s++;
    }
    return *s == '\0';
}

/* Within the double range: "1e999" is JSON syntax, but parsers read it as
 * infinity or refuse it; it goes as a string instead. */
static bool finite_number(const char *s)
{
    double v;

    return util_parse_double(s, &v) == 0 && isfinite(v);
}

/* A YAML 1.2 core decimal number that JSON cannot spell as is ("+5",
 * ".5", "5.", "007"): digits, sign, dot and exponent only. */
static bool yaml_number(const char *s, double *out)
{
    bool digit = false;

    for (const char *q = s; *q; q++) {
        if (isdigit((unsigned char)*q))
            digit = true;
        else if (!strchr("+-.eE", *q))
            return false;
    }
    return digit && util_parse_double(s, out) == 0;
}

static struct wb_node *wb_compile(const struct cfg_node *c, struct cfg_diag *d)
{
    struct wb_node *w = xcalloc(1, sizeof(*w));

    if (c->type == CFG_MAP || c->type == CFG_SEQ) {
        w->type = c->type == CFG_MAP ? WB_OBJ : WB_ARR;
        w->n = c->n;
        w->items = xcalloc(c->n ? c->n : 1, sizeof(*w->items));
        if (c->type == CFG_MAP)
            w->keys = xcalloc(c->n ? c->n : 1, sizeof(*w->keys));
        for (size_t i = 0; i < c->n; i++) {
            if (w->keys)
                w->keys[i] = xstrdup(c->keys[i]);
            w->items[i] = wb_compile(c->items[i], d);
        }
        return w;
    }
    if (!c->quoted && cfg_is_null(c)) {
        /* YAML null: "", "~" or null. */
        w->type = WB_RAW;
        w->raw = xstrdup("null");
        return w;
    }
    if (!c->quoted && c->scalar && cfg_core_is(c->scalar, "bool")) {
        /* YAML 1.2 core: true, True, TRUE (and the same for false) */
        w->type = WB_RAW;
        w->raw = xstrdup(c->scalar[0] == 't' || c->scalar[0] == 'T' ? "true"
                                                                    : "false");
        return w;
    }
    if (!c->quoted && c->scalar && json_number(c->scalar) &&
        finite_number(c->scalar)) {
        w->type = WB_RAW;
        w->raw = xstrdup(c->scalar);
        return w;
    }
    if (!c->quoted && c->scalar &&
        (strncmp(c->scalar, "0x", 2) == 0 ||
         strncmp(c->scalar, "0o", 2) == 0) &&
        cfg_core_is(c->scalar, "int")) {
        /* YAML 1.2 core hexadecimal and octal ints */
        w->type = WB_NUM;
        w->num =
            (double)strtoull(c->scalar + 2, NULL, c->scalar[1] == 'x' ? 16 : 8);
        return w;
    }
    if (!c->quoted && c->scalar && yaml_number(c->scalar, &w->num)) {
        w->type = WB_NUM;
        return w;
    }
    {
        char why[256];

        w->type = WB_STR;
        w->t = tmpl_compile(c->scalar ? c->scalar : "", why, sizeof(why), NULL);
        if (w->t == NULL)
            config_template_errors(c, "", d);
    }
    return w;
}

static void webhook_priv_free(struct webhook_priv *p)
{
    if (p == NULL)
        return;
    free(p->url);
    free(p->ca_file);
    free(p->method);
    if (p->secret) {
        memset(p->secret, 0, strlen(p->secret));
        free(p->secret);
    }
    curl_slist_free_all(p->headers);
    wb_free(p->body);
    free(p);
}

static void webhook_destroy(struct notifier *n)
{
    webhook_priv_free(n->priv);
    n->priv = NULL;
}

static bool token_char(char c)
{
    return isalnum((unsigned char)c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* Headers that frame the request or name its target: set from a config,
 * they break it (Content-Length beside a chunked body). */
static bool reserved_header(const char *name)
{
    static const char *const names[] = {"Content-Length", "Transfer-Encoding",
                                        "Host", "Connection", NULL};

    for (size_t i = 0; names[i]; i++)
        if (strcasecmp(name, names[i]) == 0)
            return true;
    return false;
}

static void configure_headers(struct webhook_priv *p, const struct cfg_node *h,
                              struct cfg_diag *d)
{
    if (h->type != CFG_MAP) {
        cfg_error_at(d, h, "headers must be a map of header names to values");
        return;
    }
    for (size_t i = 0; i < h->n; i++) {
        const char *name = h->keys[i], *value = NULL;
        bool ok = *name != '\0';
        struct buf b;

        for (const char *q = name; *q; q++)
            if (!token_char(*q))
                ok = false;
        if (!ok) {
            cfg_error(d, h->key_line[i], h->key_col[i],
                      "invalid header name \"%s\" (no CR, LF, spaces or "
                      "colons)",
                      name);
            continue;
        }
        if (strncasecmp(name, "webhook-", 8) == 0) {
            cfg_error(d, h->key_line[i], h->key_col[i],
                      "header \"%s\" is set by tocsin (Standard Webhooks)",
                      name);
            continue;
        }
        if (reserved_header(name)) {
            cfg_error(d, h->key_line[i], h->key_col[i],
                      "header \"%s\" is set by the HTTP client (it frames "
                      "the request)",
                      name);
            continue;
        }
        if (cfg_str(h->items[i], "header value", &value, d) != 0)
            continue;
        if (strpbrk(value, "\r\n")) {
            cfg_error_at(d, h->items[i],
                         "header \"%s\" value must not contain CR or LF", name);
            continue;
        }
        if (strcasecmp(name, "Content-Type") == 0)
            p->own_content_type = true;
        buf_init(&b, 0);
        /* libcurl drops "Name:" (no value); "Name;" sends it empty. */
        if (*value == '\0')
            buf_printf(&b, "%s;", name);
        else
            buf_printf(&b, "%s: %s", name, value);
        p->headers = curl_slist_append(p->headers, buf_str(&b));
        buf_cleanup(&b);
    }
}

static int webhook_configure(struct notifier *n, const struct cfg_node *node,
                             const char *dir, struct cfg_diag *d)
{
    size_t before = d->count;
    struct webhook_priv *p = xcalloc(1, sizeof(*p));
    const char *url = NULL, *secret = NULL, *method = NULL;
    const struct cfg_node *h, *body;
    int rc;

    cfg_check_keys(node, webhook_keys, config_common_notifier_keys, d);
    rc = cfg_str(cfg_get(node, "url"), "url", &url, d);
    if (rc == 1)
        cfg_error_at(d, node, "webhook notifier needs \"url\"");
    else if (rc == 0 && strncmp(url, "https://", 8) != 0 &&
             strncmp(url, "http://", 7) != 0)
        cfg_error_at(d, cfg_get(node, "url"),
                     "url must start with https:// or http://");
    else if (rc == 0 &&
             notifier_check_url(cfg_get(node, "url"), "url", url, d) == 0)
        p->url = xstrdup(url);
    if (cfg_str(cfg_get(node, "method"), "method", &method, d) == 0) {
        if (strcasecmp(method, "PUT") == 0)
            p->method = xstrdup("PUT");
        else if (strcasecmp(method, "POST") != 0)
            cfg_error_at(d, cfg_get(node, "method"),
                         "unknown method \"%s\" (expected POST, PUT)",
                         cfg_shown(cfg_get(node, "method"), method));
    }
    if (cfg_str(cfg_get(node, "secret"), "secret", &secret, d) == 0) {
        unsigned char key[512];
        if (*secret == '\0')
            cfg_error_at(d, cfg_get(node, "secret"), "secret is empty");
        else if (sign_secret_key(secret, key, sizeof(key)) < 0)
            cfg_error_at(d, cfg_get(node, "secret"),
                         strncmp(secret, "whsec_", 6) == 0
                             ? "secret: what follows whsec_ is not base64 "
                               "(Standard Webhooks libraries decode it)"
                             : "secret is longer than 512 bytes");
        else
            p->secret = xstrdup(secret);
    }
    notifier_ca_file(node, dir, &p->ca_file, d);
    if ((h = cfg_get(node, "headers")) != NULL)
        configure_headers(p, h, d);
    if ((body = cfg_get(node, "body")) != NULL)
        p->body = wb_compile(body, d);
    if (d->count != before) {
        webhook_priv_free(p);
        return -1;
    }
    n->priv = p;
    return 0;
}

static cJSON *wb_render(const struct wb_node *w, const struct tmpl_ctx *c,
                        struct buf *scratch, struct err *e)
{
    cJSON *o;

    switch (w->type) {
    case WB_OBJ:
    case WB_ARR:
        o = w->type == WB_OBJ ? cJSON_CreateObject() : cJSON_CreateArray();
        for (size_t i = 0; o && i < w->n; i++) {
            cJSON *child = wb_render(w->items[i], c, scratch, e);
            if (child == NULL) {
                cJSON_Delete(o);
                return NULL;
            }
            if (w->type == WB_OBJ)
                cJSON_AddItemToObject(o, w->keys[i], child);
            else
                cJSON_AddItemToArray(o, child);
        }
        return o;
    case WB_RAW:
        return cJSON_CreateRaw(w->raw);
    case WB_NUM:
        return cJSON_CreateNumber(w->num);
    case WB_STR:
        buf_reset(scratch);
        if (tmpl_render(w->t, c, scratch) < 0) {
            err_set(e, "webhook: a body string passed %zu bytes",
                    (size_t)WB_LEAF_MAX);
            buf_init(scratch, WB_LEAF_MAX);
            return NULL;
        }
        /* cJSON escapes quotes, backslashes and control characters. */
        return cJSON_CreateString(buf_str(scratch));
    }
    return NULL;
}

static cJSON *webhook_body_from_template(const struct webhook_priv *p,
                                         const struct am_event *ev,
                                         struct err *e)
{
    struct tmpl_ctx c;
    struct label *labels, *annos;
    struct buf scratch;
    cJSON *o;

    memset(&c, 0, sizeof(c));
    c.rule = ev->rule;
    c.event = ev->kind;
    c.severity = ev->severity;
    c.previous = ev->previous;
    c.reason = ev->reason;
    c.fingerprint = ev->fingerprint;
    c.value = ev->value;
    c.has_value = ev->has_value;
    c.ts = ev->ts;
    labels = labels_from_json(ev->labels, &c.nlabels);
    annos = labels_from_json(ev->annotations, &c.nannotations);
    c.labels = labels;
    c.annotations = annos;
    buf_init(&scratch, WB_LEAF_MAX);
    o = wb_render(p->body, &c, &scratch, e);
    buf_cleanup(&scratch);
    free(labels);
    free(annos);
    return o;
}

static int webhook_render(const struct notifier *n,
                          const struct notification *nt, struct request *out,
                          struct err *e)
{
    const struct webhook_priv *p = n->priv;
    const cJSON *report =
        cJSON_GetObjectItemCaseSensitive(nt->payload, "report");
    const char *receiver = nt->receiver ? nt->receiver : n->name;
    struct curl_slist *h = NULL;
    const struct curl_slist *it;
    struct am_event ev;
    cJSON *obj = NULL;
    char *body = NULL;
    char line[256];

    memset(out, 0, sizeof(*out));
    if (strcmp(nt->kind, "report") == 0 || cJSON_IsObject(report)) {
        const cJSON *json = cJSON_GetObjectItemCaseSensitive(report, "json");
        body =
            cJSON_IsObject(json) ? cJSON_PrintUnformatted(json) : xstrdup("{}");
    } else {
        if (am_event_parse(nt->payload, &ev, e) < 0)
            return -1;
        if (p->body == NULL) {
            /* The Alertmanager payload, written without a cJSON tree. */
            struct buf b;

            buf_init(&b, 0);
            if (am_payload_print(&ev, receiver, &b) < 0) {
                buf_cleanup(&b);
                err_set(e, "webhook: out of memory printing the body");
                return -1;
            }
            body = buf_steal(&b);
        } else {
            obj = webhook_body_from_template(p, &ev, e);
            if (obj == NULL) {
                err_set(e, "webhook: could not build the body");
                return -1;
            }
            body = cJSON_PrintUnformatted(obj);
            cJSON_Delete(obj);
        }
    }
    if (body == NULL) {
        err_set(e, "webhook: out of memory printing the body");
        return -1;
    }
    if (strlen(body) > WB_BODY_MAX) {
        err_set(e, "webhook: body of %zu bytes passes the %zu-byte limit",
                strlen(body), (size_t)WB_BODY_MAX);
        free(body);
        return -1;
    }
    if (!p->own_content_type)
        h = curl_slist_append(h, "Content-Type: application/json");
    for (it = p->headers; it; it = it->next)
        h = curl_slist_append(h, it->data);
    /* The idempotency key: the same on every retry of this notification. */
    snprintf(line, sizeof(line), "webhook-id: %s", nt->key ? nt->key : "");
    h = curl_slist_append(h, line);
    if (p->secret) {
        long ts = (long)floor(nt->now);
        char sig[128];

        if (sign_standard_webhooks(p->secret, nt->key ? nt->key : "", ts, body,
                                   strlen(body), sig, sizeof(sig)) < 0) {
            err_set(e, "webhook: signing failed");
            curl_slist_free_all(h);
            free(body);
            return -1;
        }
        snprintf(line, sizeof(line), "webhook-timestamp: %ld", ts);
        h = curl_slist_append(h, line);
        snprintf(line, sizeof(line), "webhook-signature: %s", sig);
        h = curl_slist_append(h, line);
    }
    out->kind = REQ_HTTP;
    out->url = xstrdup(p->url);
    out->method = p->method ? xstrdup(p->method) : NULL;
    out->ca_file = p->ca_file ? xstrdup(p->ca_file) : NULL;
    out->headers = h;
    out->body = body;
    out->body_len = strlen(body);
    return 0;
}

const struct notifier_ops webhook_ops = {
    .kind = "webhook",
    .keys = webhook_keys,
    .configure = webhook_configure,
    .render = webhook_render,
    .destroy = webhook_destroy,
};
