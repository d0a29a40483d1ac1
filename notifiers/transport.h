/* transport.h - libcurl easy-handle setup for one rendered request (HTTP POST
 * or SMTP send) and the shared wording of transport failures. Internal to the
 * dispatcher (dispatch.c) and notify-test (dispatcher_send_once). */
#ifndef TOCSIN_TRANSPORT_H
#define TOCSIN_TRANSPORT_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>

#include "../common/buf.h"
#include "../common/err.h"
#include "notifier.h"

/* The answer body kept per transfer (enough for logs and checks). */
#define TRANSPORT_BODY_MAX ((size_t)64 << 10)

/* Per-transfer I/O state; must stay at a fixed address until the transfer
 * is done (curl keeps pointers to it). */
struct transport_io {
    struct request *req; /* borrowed; outlives the transfer */
    size_t upload_off;   /* SMTP: bytes of req->body already read */
    struct buf resp;     /* the answer body, capped */
    char errbuf[CURL_ERROR_SIZE];
    /* SMTP: the server's answer to each RCPT TO (libcurl goes on past a
     * refused recipient and says nothing of it): how many were asked and
     * refused, and "addr (450 reply), ..." for the refused ones. */
    unsigned rcpt_asked, rcpt_refused;
    char rcpt_addr[256]; /* the RCPT awaiting its reply, "" when none */
    char refused[512];
};

/* Set every option of h for rq: URL, protocols, timeouts (timeout seconds
 * total, connect at most 5 s), no signals, no redirects, an empty Expect
 * header (appended to rq->headers), body or SMTP envelope. uh: rq->url
 * parsed already (curl_url), or NULL; libcurl reads it when the transfer
 * starts, so it must outlive that. io is initialised here; free its buffer
 * with transport_io_cleanup. 0 or -1. */
int transport_setup(CURL *h, struct request *rq, CURLU *uh, double timeout,
                    struct transport_io *io, struct err *e);
/* A handle whose last transfer was set up by transport_setup for a request
 * of the same receiver (same timeout) needs only the per-request options:
 * URL, body, headers, answer buffer. True for the requests this holds for
 * (plain POSTs without a CA file of their own); 0 or -1. */
bool transport_reusable(const struct request *rq);
int transport_setup_again(CURL *h, struct request *rq, CURLU *uh,
                          struct transport_io *io, struct err *e);
void transport_io_cleanup(struct transport_io *io);

/* True for the curl errors worth retrying: resolve, connect, timeout, TLS
 * handshake, empty reply, send/receive (6, 7, 28, 35, 52, 55, 56). */
bool transport_retryable(CURLcode rc);

/* host:port of url (no path, query or userinfo; the port from the scheme
 * when the URL has none), as libcurl reads it. 0, or -1 for a URL it
 * refuses (out untouched). */
int transport_url_hostport(const char *url, char *out, size_t outlen);

/* A human account of a failed transfer without secrets, e.g. "could not
 * connect to 127.0.0.1:9 (Connection refused)" or "no answer within 10.0 s
 * (timeout)". */
void transport_describe_error(CURL *h, CURLcode rc, const struct request *rq,
                              char *out, size_t outlen);

/* Copy at most max bytes of body into out as printable text (control bytes
 * become spaces), for log lines and accounts; what the receiver echoed of
 * rq's secrets becomes "...": its URL's path segments and query values
 * (which may hold a token), its URL's password (also as Basic
 * credentials), its SMTP password, the values of its headers (but tocsin's
 * own: Content-Type, webhook-id, ...). */
void transport_snippet(const char *body, size_t len, size_t max,
                       const struct request *rq, char *out, size_t outlen);

#endif
