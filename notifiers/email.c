/* email.c - the email notifier: renders an alert event (or a report) as a
 * complete RFC 5322 message, multipart/alternative with a quoted-printable
 * text part then an HTML part, plus the SMTP envelope for libcurl.
 * Registered in registry.c; dispatch.c sends it (reference section 3).
 * Threading needs no state: every mail of one alert episode refers to the
 * Message-ID of its first mail, which is derived from the fingerprint, the
 * episode's start time and the notifier's name. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/buf.h"
#include "../common/util.h"
#include "../common/version.h"
#include "am_payload.h"
#include "mime.h"
#include "notifier.h"

#define EMAIL_MAX ((size_t)4 << 20) /* a runaway report stays bounded */

struct email_priv {
    char *url;
    long use_ssl;
    char *username, *password;
    char *from; /* as configured, "Name <addr>" or "addr" */
    char *from_addr;
    char *host; /* right side of Message-IDs: from's domain */
    char **to;  /* as configured */
    char **to_addr;
    size_t nto;
    char *ca_file;
};

static const char *const email_keys[] = {
    "smtp", "starttls", "username", "password", "from",
    "to",   "hello",    "ca_file",  NULL,
};

static void email_priv_free(struct email_priv *p)
{
    if (p == NULL)
        return;
    free(p->url);
    free(p->username);
    if (p->password) {
        memset(p->password, 0, strlen(p->password));
        free(p->password);
    }
    free(p->from);
    free(p->from_addr);
    free(p->host);
    for (size_t i = 0; i < p->nto; i++) {
        free(p->to[i]);
        free(p->to_addr[i]);
    }
    free(p->to);
    free(p->to_addr);
    free(p->ca_file);
    free(p);
}

static void email_destroy(struct notifier *n)
{
    email_priv_free(n->priv);
    n->priv = NULL;
}

static bool hostname_ok(const char *s)
{
    if (*s == '\0')
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
              (*s >= '0' && *s <= '9') || *s == '.' || *s == '-' || *s == '_' ||
              *s == '[' || *s == ']' || *s == ':'))
            return false;
    return true;
}

/* The smtp URL with the EHLO name as its path (curl takes the path as the
 * EHLO name, reference section 3). */
static char *email_url(const char *smtp, const char *hello,
                       const struct cfg_node *at, struct cfg_diag *d)
{
    const char *host = strstr(smtp, "://") + 3;
    const char *slash = strchr(host, '/');
    struct buf b;

    if (hello == NULL)
        return xstrdup(smtp);
    if (slash && slash[1] != '\0') {
        cfg_error_at(d, at,
                     "smtp URL already has a path (the EHLO name); "
                     "drop it or drop \"hello\"");
        return NULL;
    }
    buf_init(&b, 0);
    buf_add(&b, smtp, slash ? (size_t)(slash - smtp) : strlen(smtp));
    buf_printf(&b, "/%s", hello);
    return buf_steal(&b);
}

static int email_configure(struct notifier *n, const struct cfg_node *node,
                           const char *dir, struct cfg_diag *d)
{
    size_t before = d->count;
    const char *smtp = NULL, *starttls = NULL, *user = NULL, *pass = NULL;
    const char *from = NULL, *hello = NULL;
    const char **to = NULL;
    size_t nto = 0;
    struct email_priv *p = xcalloc(1, sizeof(*p));
    char addr[320];
    bool implicit_tls = false;
    int rc;

    cfg_check_keys(node, email_keys, config_common_notifier_keys, d);
    rc = cfg_str(cfg_get(node, "smtp"), "smtp", &smtp, d);
    if (rc == 1) {
        cfg_error_at(d, node,
                     "email notifier needs \"smtp\" "
                     "(smtp://host:port or smtps://host:port)");
    } else if (rc == 0) {
        implicit_tls = strncmp(smtp, "smtps://", 8) == 0;
        if (!implicit_tls && strncmp(smtp, "smtp://", 7) != 0) {
            cfg_error_at(d, cfg_get(node, "smtp"),
                         "smtp must be an smtp:// or smtps:// URL");
            smtp = NULL;
        } else if (notifier_check_url(cfg_get(node, "smtp"), "smtp", smtp, d) !=
                   0) {
            smtp = NULL;
        }
    }
    p->use_ssl = CURLUSESSL_ALL;
    if (cfg_str(cfg_get(node, "starttls"), "starttls", &starttls, d) == 0) {
        if (strcmp(starttls, "required") == 0)
            p->use_ssl = CURLUSESSL_ALL;
        else if (strcmp(starttls, "opportunistic") == 0)
            p->use_ssl = CURLUSESSL_TRY;
        else if (strcmp(starttls, "off") == 0)
            p->use_ssl = CURLUSESSL_NONE;
        else
            cfg_error_at(d, cfg_get(node, "starttls"),
                         "unknown starttls \"%s\" (expected required, "
                         "opportunistic, off)",
                         cfg_shown(cfg_get(node, "starttls"), starttls));
    }
    /* smtps:// is TLS from the first byte: starttls does not apply. */
    if (implicit_tls)
        p->use_ssl = CURLUSESSL_ALL;
    cfg_str(cfg_get(node, "username"), "username", &user, d);
    cfg_str(cfg_get(node, "password"), "password", &pass, d);
    rc = cfg_str(cfg_get(node, "from"), "from", &from, d);
    if (rc == 1)
        cfg_error_at(d, node, "email notifier needs \"from\"");
    else if (rc == 0 && mime_mailbox_addr(from, addr, sizeof(addr)) < 0)
        cfg_error_at(d, cfg_get(node, "from"),
                     "from \"%s\" has no valid address",
                     cfg_shown(cfg_get(node, "from"), from));
    else if (rc == 0) {
        p->from = xstrdup(from);
        p->from_addr = xstrdup(addr);
        p->host = xstrdup(strrchr(addr, '@') + 1);
    }
    rc = cfg_strlist(cfg_get(node, "to"), "to", &to, &nto, d);
    if (rc == 1 || (rc == 0 && nto == 0)) {
        cfg_error_at(d, cfg_get(node, "to") ? cfg_get(node, "to") : node,
                     "email notifier needs \"to\" (one address or more)");
    } else if (rc == 0) {
        p->to = xcalloc(nto, sizeof(char *));
        p->to_addr = xcalloc(nto, sizeof(char *));
        for (size_t i = 0; i < nto; i++) {
            if (mime_mailbox_addr(to[i], addr, sizeof(addr)) < 0) {
                const struct cfg_node *tn = cfg_get(node, "to");
                cfg_error_at(
                    d, tn->type == CFG_SEQ ? tn->items[i] : tn,
                    "to \"%s\" has no valid address",
                    cfg_shown(tn->type == CFG_SEQ ? tn->items[i] : tn, to[i]));
                continue;
            }
            p->to[p->nto] = xstrdup(to[i]);
            p->to_addr[p->nto] = xstrdup(addr);
            p->nto++;
        }
    }
    free(to);
    if (cfg_str(cfg_get(node, "hello"), "hello", &hello, d) == 0 &&
        !hostname_ok(hello)) {
        cfg_error_at(d, cfg_get(node, "hello"),
                     "hello must be a host name, got \"%s\"",
                     cfg_shown(cfg_get(node, "hello"), hello));
        hello = NULL;
    }
    notifier_ca_file(node, dir, &p->ca_file, d);
    if (smtp && d->count == before)
        p->url = email_url(smtp, hello, cfg_get(node, "hello"), d);
    if (d->count != before) {
        email_priv_free(p);
        return -1;
    }
    p->username = user ? xstrdup(user) : NULL;
    p->password = pass ? xstrdup(pass) : NULL;
    n->priv = p;
    return 0;
}

/* Append s with everything outside RFC 5322 atext (and '.') replaced by
 * '-', so keys and hosts make valid msg-id parts. */
static void add_msgid_part(struct buf *b, const char *s)
{
    for (; *s; s++) {
        char c = *s;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                  (c >= '0' && c <= '9') || strchr("!#$%&'*+-/=?^_`{|}~.", c);
        buf_addc(b, ok ? c : '-');
    }
}

/* The first mail of an episode to notifier name: two notifiers mailing one
 * alert send two messages, which need two ids (RFC 5322 3.6.4). */
static void msgid_root(struct buf *b, const struct email_priv *p,
                       const char *name, const struct am_event *ev)
{
    buf_adds(b, "<tocsin.");
    add_msgid_part(b, ev->fingerprint);
    buf_printf(b, ".%lld.", (long long)llround(ev->starts_at * 1000));
    add_msgid_part(b, name);
    buf_addc(b, '@');
    add_msgid_part(b, p->host);
    buf_addc(b, '>');
}

static void msgid_key(struct buf *b, const struct email_priv *p,
                      const char *key)
{
    buf_adds(b, "<tocsin.");
    add_msgid_part(b, key && *key ? key : "nokey");
    buf_addc(b, '@');
    add_msgid_part(b, p->host);
    buf_addc(b, '>');
}

#define EMAIL_TITLE_MAX 300

static void email_subject(struct buf *b, const struct notification *nt,
                          const struct am_event *ev)
{
    char sev[32];

    struct buf title;

    am_severity_word(ev, sev, sizeof(sev));
    buf_printf(b, "[%s] ", sev);
    /* Rule and labels, cut on a character boundary past 300 bytes: mail
     * clients show a line of it, and servers cap header sizes. */
    buf_init(&title, 0);
    am_title(ev, &title);
    if (title.len > EMAIL_TITLE_MAX) {
        buf_add(b, title.data, util_utf8_cut(title.data, EMAIL_TITLE_MAX));
        buf_adds(b, "\xE2\x80\xA6"); /* … */
    } else {
        buf_add(b, buf_str(&title), title.len);
    }
    buf_cleanup(&title);
    buf_printf(b, " %s", ev->resolved ? "resolved" : ev->kind);
    if (strcmp(nt->kind, "repeat") == 0)
        buf_adds(b, " (still firing)");
    if (strcmp(nt->kind, "test") == 0)
        buf_adds(b, " (test)");
}

/* One "name: value" row of the facts, in both parts. */
static void fact(struct buf *txt, struct buf *html, const char *name,
                 const char *value)
{
    buf_printf(txt, "%-12s %s\n", name, value);
    buf_adds(html, "<tr><th align=\"left\" style=\"padding-right:1em\">");
    mime_html_escape(html, name);
    buf_adds(html, "</th><td>");
    mime_html_escape(html, value);
    buf_adds(html, "</td></tr>\n");
}

static void kv_list(struct buf *txt, struct buf *html, const char *title,
                    const cJSON *obj)
{
    const cJSON *it;

    if (cJSON_GetArraySize(obj) == 0)
        return;
    buf_printf(txt, "\n%s:\n", title);
    buf_adds(html, "<h3>");
    mime_html_escape(html, title);
    buf_adds(html, "</h3>\n<ul>\n");
    cJSON_ArrayForEach(it, obj)
    {
        if (!cJSON_IsString(it))
            continue;
        buf_printf(txt, "  %s = %s\n", it->string, it->valuestring);
        buf_adds(html, "<li><b>");
        mime_html_escape(html, it->string);
        buf_adds(html, "</b> = ");
        mime_html_escape(html, it->valuestring);
        buf_adds(html, "</li>\n");
    }
    buf_adds(html, "</ul>\n");
}

static void email_event_bodies(const struct am_event *ev, const char *subject,
                               struct buf *txt, struct buf *html)
{
    const char *summary = am_json_str(ev->annotations, "summary");
    const char *desc = am_json_str(ev->annotations, "description");
    char v[64], t[48], change[96];

    buf_printf(txt, "%s\n\n", subject);
    buf_adds(
        html,
        "<!DOCTYPE html>\n<html><body style=\"font-family:sans-serif\">\n");
    buf_printf(html, "<h2 style=\"color:%s\">", am_severity_color(ev));
    mime_html_escape(html, subject);
    buf_adds(html, "</h2>\n");
    if (summary) {
        buf_printf(txt, "%s\n", summary);
        buf_adds(html, "<p>");
        mime_html_escape(html, summary);
        buf_adds(html, "</p>\n");
    }
    if (desc) {
        buf_printf(txt, "%s\n", desc);
        buf_adds(html, "<p>");
        mime_html_escape(html, desc);
        buf_adds(html, "</p>\n");
    }
    if (summary || desc)
        buf_addc(txt, '\n');
    buf_adds(html, "<table>\n");
    snprintf(change, sizeof(change), "%s -> %s",
             *ev->previous ? ev->previous : "ok",
             *ev->severity ? ev->severity : "ok");
    fact(txt, html, "Severity:", change);
    fact(txt, html, "Rule:", ev->rule);
    if (ev->has_value)
        util_format_double(ev->value, v, sizeof(v));
    else
        snprintf(v, sizeof(v), "no data");
    fact(txt, html, "Value:", v);
    if (*ev->reason)
        fact(txt, html, "Reason:", ev->reason);
    util_format_rfc3339(ev->starts_at, t, sizeof(t));
    fact(txt, html, "Started:", t);
    util_format_rfc3339(ev->ts, t, sizeof(t));
    fact(txt, html, "Event time:", t);
    if (ev->resolved) {
        util_format_duration(
            ev->ts > ev->starts_at ? ev->ts - ev->starts_at : 0, t, sizeof(t));
        fact(txt, html, "Duration:", t);
    }
    fact(txt, html, "Fingerprint:", ev->fingerprint);
    buf_adds(html, "</table>\n");
    kv_list(txt, html, "Labels", ev->labels);
    kv_list(txt, html, "Annotations", ev->annotations);
    buf_adds(txt, "\n-- \ntocsin\n");
    buf_adds(html, "<p style=\"color:#888\">tocsin</p>\n</body></html>\n");
}

static void add_part(struct buf *msg, const char *boundary, const char *type,
                     const struct buf *content)
{
    buf_printf(msg, "--%s\r\n", boundary);
    buf_printf(msg, "Content-Type: %s; charset=UTF-8\r\n", type);
    buf_adds(msg, "Content-Transfer-Encoding: quoted-printable\r\n\r\n");
    mime_qp_encode(msg, buf_str(content), content->len);
}

static int email_render(const struct notifier *n, const struct notification *nt,
                        struct request *out, struct err *e)
{
    const struct email_priv *p = n->priv;
    const cJSON *report =
        cJSON_GetObjectItemCaseSensitive(nt->payload, "report");
    bool is_report = strcmp(nt->kind, "report") == 0 || cJSON_IsObject(report);
    struct buf msg, subj, txt, html, id, root;
    struct am_event ev;
    char date[64], boundary[48];
    const char *const *to = (const char *const *)p->to;
    bool first;
    int rc = -1;

    memset(out, 0, sizeof(*out));
    if (!is_report && am_event_parse(nt->payload, &ev, e) < 0)
        return -1;
    buf_init(&msg, EMAIL_MAX);
    buf_init(&subj, EMAIL_MAX);
    buf_init(&txt, EMAIL_MAX);
    buf_init(&html, EMAIL_MAX);
    buf_init(&id, 0);
    buf_init(&root, 0);

    if (is_report) {
        const char *title = am_json_str(report, "title");
        const char *text = am_json_str(report, "text");
        const char *h = am_json_str(report, "html");
        buf_adds(&subj, title ? title : "tocsin noisy-alert report");
        buf_adds(&txt, text ? text : "");
        if (h) {
            buf_adds(&html, h);
        } else {
            buf_adds(&html, "<html><body><pre>");
            mime_html_escape(&html, text ? text : "");
            buf_adds(&html, "</pre></body></html>\n");
        }
        msgid_key(&id, p, nt->key);
        first = true; /* no thread */
    } else {
        email_subject(&subj, nt, &ev);
        email_event_bodies(&ev, buf_str(&subj), &txt, &html);
        /* The root of the thread is the receiver's first mail of the
         * episode, which the router marks (a mailbox routed only
         * critical first hears "escalated"; a reminder is the first for
         * a receiver silenced until then or added by a reload); rows
         * queued without the mark start at "firing". */
        const cJSON *mark =
            cJSON_GetObjectItemCaseSensitive(nt->payload, "first");
        first = strcmp(nt->kind, "test") == 0 ||
                (strcmp(nt->kind, "event") == 0 &&
                 (mark != NULL ? cJSON_IsTrue(mark)
                               : strcmp(ev.kind, "firing") == 0)) ||
                (strcmp(nt->kind, "repeat") == 0 && cJSON_IsTrue(mark));
        msgid_root(&root, p, n->name, &ev);
        if (first)
            buf_add(&id, root.data, root.len);
        else
            msgid_key(&id, p, nt->key);
    }

    /* The boundary starts with "=_", which quoted-printable never emits. */
    snprintf(boundary, sizeof(boundary), "=_tocsin_%016llx",
             (unsigned long long)util_hash64(nt->key ? nt->key : "",
                                             nt->key ? strlen(nt->key) : 0,
                                             0x746f6373));
    mime_format_date(nt->now, date, sizeof(date));
    mime_add_header(&msg, "Date", date);
    mime_add_address_header(&msg, "From", (const char *const *)&p->from, 1);
    mime_add_address_header(&msg, "To", to, p->nto);
    mime_add_header(&msg, "Subject", buf_str(&subj));
    mime_add_header(&msg, "Message-ID", buf_str(&id));
    if (!first) {
        mime_add_header(&msg, "In-Reply-To", buf_str(&root));
        mime_add_header(&msg, "References", buf_str(&root));
    }
    mime_add_header(&msg, "MIME-Version", "1.0");
    buf_printf(&msg,
               "Content-Type: multipart/alternative;\r\n boundary=\"%s\"\r\n",
               boundary);
    mime_add_header(&msg, "X-Mailer", "tocsin/" TOCSIN_VERSION);
    buf_adds(&msg, "\r\nThis is a multi-part message in MIME format.\r\n\r\n");
    /* RFC 2046 5.1.4: the preferred alternative (HTML) goes last. */
    add_part(&msg, boundary, "text/plain", &txt);
    add_part(&msg, boundary, "text/html", &html);
    buf_printf(&msg, "--%s--\r\n", boundary);

    if (msg.failed || subj.failed || txt.failed || html.failed) {
        err_set(e, "email: message larger than %zu bytes", (size_t)EMAIL_MAX);
        goto out;
    }
    out->kind = REQ_SMTP;
    out->url = xstrdup(p->url);
    out->mail_from = xstrdup(p->from_addr);
    for (size_t i = 0; i < p->nto; i++)
        out->rcpt = curl_slist_append(out->rcpt, p->to_addr[i]);
    out->username = p->username ? xstrdup(p->username) : NULL;
    out->password = p->password ? xstrdup(p->password) : NULL;
    out->use_ssl = p->use_ssl;
    out->ca_file = p->ca_file ? xstrdup(p->ca_file) : NULL;
    out->body_len = msg.len;
    out->body = buf_steal(&msg);
    rc = 0;
out:
    buf_cleanup(&msg);
    buf_cleanup(&subj);
    buf_cleanup(&txt);
    buf_cleanup(&html);
    buf_cleanup(&id);
    buf_cleanup(&root);
    return rc;
}

const struct notifier_ops email_ops = {
    .kind = "email",
    .keys = email_keys,
    .configure = email_configure,
    .render = email_render,
    .destroy = email_destroy,
};
