/* notifier.h - the one small interface every receiver kind implements, and
 * the registry. A kind renders a notification into a request (no I/O); the
 * dispatcher (dispatch.c) owns transport, retries, ordering and the outbox.
 * Adding a kind is one file and one line in the registry (registry.c). */
#ifndef TOCSIN_NOTIFIER_H
#define TOCSIN_NOTIFIER_H

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>

#include "../common/err.h"
#include "../rules/cfgnode.h"
#include "../rules/config.h"

/* One notification to render: an outbox row, parsed. */
struct notification {
    const char *key;      /* idempotency key (webhook-id), stable on retry */
    const char *receiver; /* the notifier's name */
    const char *kind;     /* "event" | "repeat" | "report" | "test" */
    /* For event/repeat/test: {"event": {SPEC event object},
     *   "starts_at": ts, "receiver": name}.
     * For report: {"report": {"title": s, "text": s, "markdown": s,
     *   "html": s, "json": {SPEC report object}}}. */
    const cJSON *payload;
    double now; /* Unix seconds of this attempt */
};

enum request_kind { REQ_HTTP, REQ_SMTP, REQ_LOCAL };

/* What the dispatcher sends. Everything is owned by the request and freed
 * by request_cleanup. */
struct request {
    enum request_kind kind;
    char *url;                  /* http(s):// or smtp(s):// */
    struct curl_slist *headers; /* HTTP headers */
    char *body;                 /* HTTP body or the whole RFC 5322 message */
    size_t body_len;
    char *method;  /* HTTP: NULL means POST; else e.g. "PUT"
                      (CURLOPT_CUSTOMREQUEST) */
    char *ca_file; /* CURLOPT_CAINFO, NULL = system default */
    /* SMTP only */
    char *mail_from;
    struct curl_slist *rcpt;
    char *username, *password; /* never logged */
    long use_ssl;              /* CURLUSESSL_* */
};
void request_cleanup(struct request *r);

/* Outcome of one attempt, as judged from the answer. */
enum delivery_result { DELIVERY_OK, DELIVERY_RETRY, DELIVERY_FAIL };

struct notifier_ops {
    const char *kind;        /* the YAML `type:` value. MUST be set */
    const char *const *keys; /* kind-specific keys, NULL-terminated */
    /* Parse the kind-specific keys of node into n->priv; report errors in d
     * at the offending node. dir: the config folder. MUST be set. */
    int (*configure)(struct notifier *n, const struct cfg_node *node,
                     const char *dir, struct cfg_diag *d);
    /* Build the request for one notification (no I/O). MUST be set. */
    int (*render)(const struct notifier *n, const struct notification *nt,
                  struct request *out, struct err *e);
    /* Judge a completed transfer's status code and body. MAY be NULL: then
     * 2xx is OK; 408, 429, 5xx RETRY; anything else FAIL (SMTP: 2yz OK, 4yz
     * RETRY, 5yz FAIL). */
    enum delivery_result (*check)(const struct notifier *n, long code,
                                  const char *body, size_t len);
    /* Deliver a REQ_LOCAL request (log notifier). MAY be NULL. */
    int (*deliver_local)(const struct notifier *n, const struct request *r,
                         struct err *e);
    /* The same, done before it returns and its outcome said (notify-test).
     * MAY be NULL: deliver_local is. */
    int (*deliver_local_now)(const struct notifier *n, const struct request *r,
                             struct err *e);
    /* Release n->priv. MAY be NULL. */
    void (*destroy)(struct notifier *n);
};

/* The registry: the kind called name, or NULL. */
const struct notifier_ops *notifier_kind(const char *name);
/* Whether some kind takes key (to report the other keys of a notifier
 * whose type is missing or unknown). */
bool notifier_key_of_some_kind(const char *key);
/* Comma-separated list of known kinds, for error messages. */
const char *notifier_kinds_list(void);

/* Report in d, at n, a url libcurl would refuse (a space in its path, a
 * bad host); the URL itself is not shown. 0 or -1. */
int notifier_check_url(const struct cfg_node *n, const char *what,
                       const char *url, struct cfg_diag *d);

/* The optional ca_file key of node (CA certificates that verify the
 * receiver's TLS certificate, instead of the system's): *out is the path,
 * relative to dir unless absolute, or NULL when the key is absent. An empty
 * or unreadable file is reported in d and returns -1. */
int notifier_ca_file(const struct cfg_node *node, const char *dir, char **out,
                     struct cfg_diag *d);

/* Default judgement used when ops->check is NULL. */
enum delivery_result notifier_default_check(enum request_kind kind, long code);

/* Wait up to grace seconds for the log notifiers' lines handed over so far
 * to be written (the end of eval --notify, a daemon stop); what is left
 * then is dropped, and logged. */
void log_notifiers_flush(double grace);

#endif
