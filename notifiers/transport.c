/* transport.c - libcurl easy-handle setup for one rendered request: HTTP POST
 * with headers and body, or an SMTP send (envelope, STARTTLS, AUTH, the
 * message uploaded through a read callback). Used by dispatch.c for both the
 * multi loop and notify-test's single attempt. Reference: notifier-contracts
 * sections 3, 5 and 6. */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../common/version.h"
#include "scrub.h"
#include "transport.h"

/* libcurl 7.69-8.1 spell the option with three L's (same number, 290). */
#ifndef CURLOPT_MAIL_RCPT_ALLOWFAILS
#define CURLOPT_MAIL_RCPT_ALLOWFAILS CURLOPT_MAIL_RCPT_ALLLOWFAILS
#endif

static size_t on_write(char *p, size_t size, size_t nmemb, void *ud)
{
    struct transport_io *io = ud;
    size_t n = size * nmemb;
    size_t room = TRANSPORT_BODY_MAX - io->resp.len;

    /* Keep the head of the answer only; the rest is read and dropped so the
     * transfer completes. */
    if (io->resp.failed == 0 && room > 0)
        buf_add(&io->resp, p, n < room ? n : room);
    return n;
}

static size_t on_read(char *p, size_t size, size_t nmemb, void *ud)
{
    struct transport_io *io = ud;
    size_t want = size * nmemb;
    size_t left = io->req->body_len - io->upload_off;

    if (want > left)
        want = left;
    memcpy(p, io->req->body + io->upload_off, want);
    io->upload_off += want;
    return want;
}

#define SETOPT(h, opt, val)                                                    \
    do {                                                                       \
        CURLcode rc_ = curl_easy_setopt(h, opt, val);                          \
        if (rc_ != CURLE_OK) {                                                 \
            err_set(e, "curl option %s: %s", #opt, curl_easy_strerror(rc_));   \
            return -1;                                                         \
        }                                                                      \
    } while (0)

/* libcurl looks for http_proxy, https_proxy, all_proxy and no_proxy on
 * every transfer. When none is set at start, say "no proxy" once instead:
 * the same behaviour without the lookups. */
static bool proxy_env;
static pthread_once_t proxy_once = PTHREAD_ONCE_INIT;

static void proxy_env_read(void)
{
    static const char *const names[] = {
        "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY",
        "all_proxy",  "NO_PROXY",    "no_proxy"};

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (getenv(names[i]) != NULL)
            proxy_env = true;
}

/* The HTTP options that change from one request of a receiver to the
 * next: URL, answer buffer, body and headers. */
static int setup_http_request(CURL *h, struct request *rq, CURLU *uh,
                              struct transport_io *io, struct err *e)
{
    /* curl waits for 100-continue on big bodies; receivers rarely answer
     * it, so ask for no such wait. */
    struct curl_slist *nh = curl_slist_append(rq->headers, "Expect:");

    if (nh == NULL) {
        err_set(e, "out of memory");
        return -1;
    }
    rq->headers = nh;
    /* A parsed URL spares libcurl parsing it again for every request. */
    SETOPT(h, CURLOPT_CURLU, uh);
    if (uh == NULL)
        SETOPT(h, CURLOPT_URL, rq->url);
    SETOPT(h, CURLOPT_ERRORBUFFER, io->errbuf);
    SETOPT(h, CURLOPT_WRITEDATA, io);
    SETOPT(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->body_len);
    /* Not copied: the body lives in rq until the transfer is done. */
    SETOPT(h, CURLOPT_POSTFIELDS, rq->body ? rq->body : "");
    SETOPT(h, CURLOPT_HTTPHEADER, rq->headers);
    return 0;
}

/* SMTP commands out and replies in (libcurl's debug stream; nothing of it
 * is printed, as AUTH lines carry the password): pair each RCPT TO with
 * its reply, one command at a time as libcurl sends them. */
static int on_smtp_debug(CURL *h, curl_infotype type, char *data, size_t size,
                         void *arg)
{
    struct transport_io *io = arg;

    (void)h;
    if (type == CURLINFO_HEADER_OUT && size > 9 &&
        strncasecmp(data, "RCPT TO:<", 9) == 0) {
        size_t n = 0;
        while (9 + n < size && data[9 + n] != '>' &&
               n + 1 < sizeof(io->rcpt_addr))
            n++;
        memcpy(io->rcpt_addr, data + 9, n);
        io->rcpt_addr[n] = '\0';
    } else if (type == CURLINFO_HEADER_IN && io->rcpt_addr[0] && size >= 4 &&
               isdigit((unsigned char)data[0]) &&
               isdigit((unsigned char)data[1]) &&
               isdigit((unsigned char)data[2]) && data[3] != '-') {
        /* the last line of the reply ("250-" lines go before it) */
        io->rcpt_asked++;
        if (data[0] >= '4') {
            size_t len = strlen(io->refused), m = size;
            char reply[1024];

            while (m > 0 && (data[m - 1] == '\r' || data[m - 1] == '\n'))
                m--;
            if (m >= sizeof(reply))
                m = sizeof(reply) - 1;
            memcpy(reply, data, m);
            reply[m] = '\0';
            /* The server's text may echo the login: scrubbed, then cut. */
            scrub_secrets(reply, io->req);
            io->rcpt_refused++;
            snprintf(io->refused + len, sizeof(io->refused) - len,
                     "%s%s (%.120s)", len ? ", " : "", io->rcpt_addr, reply);
        }
        io->rcpt_addr[0] = '\0';
    }
    return 0;
}

static void io_init(struct request *rq, struct transport_io *io)
{
    memset(io, 0, sizeof(*io));
    io->req = rq;
    buf_init(&io->resp, TRANSPORT_BODY_MAX + 1);
}

int transport_setup(CURL *h, struct request *rq, CURLU *uh, double timeout,
                    struct transport_io *io, struct err *e)
{
    long total_ms = timeout > 0 ? (long)(timeout * 1000.0) : 10000;
    long connect_ms = total_ms < 5000 ? total_ms : 5000;

    io_init(rq, io);
    if (rq->url == NULL) {
        err_set(e, "request without URL");
        return -1;
    }
    SETOPT(h, CURLOPT_NOSIGNAL, 1L);
    SETOPT(h, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
    SETOPT(h, CURLOPT_TIMEOUT_MS, total_ms);
    /* An SMTP reply is awaited this long, also the QUIT's when libcurl
     * closes a pooled connection at exit (its default: 120 s, so a mail
     * server that stopped answering held the process that long). The
     * handle that closes them takes it from the last transfer added,
     * which may be an HTTP one: set on every transfer. */
    SETOPT(h, CURLOPT_SERVER_RESPONSE_TIMEOUT, (long)((total_ms + 999) / 1000));
    SETOPT(h, CURLOPT_FOLLOWLOCATION, 0L);
    SETOPT(h, CURLOPT_WRITEFUNCTION, on_write);
    SETOPT(h, CURLOPT_USERAGENT, "tocsin/" TOCSIN_VERSION);
    if (rq->ca_file)
        SETOPT(h, CURLOPT_CAINFO, rq->ca_file);
    if (rq->kind == REQ_SMTP) {
        SETOPT(h, CURLOPT_URL, rq->url);
        SETOPT(h, CURLOPT_ERRORBUFFER, io->errbuf);
        SETOPT(h, CURLOPT_WRITEDATA, io);
        SETOPT(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
        SETOPT(h, CURLOPT_UPLOAD, 1L);
        SETOPT(h, CURLOPT_READFUNCTION, on_read);
        SETOPT(h, CURLOPT_READDATA, io);
        SETOPT(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)rq->body_len);
        if (rq->mail_from)
            SETOPT(h, CURLOPT_MAIL_FROM, rq->mail_from);
        SETOPT(h, CURLOPT_MAIL_RCPT, rq->rcpt);
        SETOPT(h, CURLOPT_MAIL_RCPT_ALLOWFAILS, 1L);
        SETOPT(h, CURLOPT_DEBUGFUNCTION, on_smtp_debug);
        SETOPT(h, CURLOPT_DEBUGDATA, io);
        SETOPT(h, CURLOPT_VERBOSE, 1L);
        if (rq->username)
            SETOPT(h, CURLOPT_USERNAME, rq->username);
        if (rq->password)
            SETOPT(h, CURLOPT_PASSWORD, rq->password);
        SETOPT(h, CURLOPT_USE_SSL, rq->use_ssl);
        return 0;
    }
    SETOPT(h, CURLOPT_PROTOCOLS_STR, "http,https");
    SETOPT(h, CURLOPT_POST, 1L);
    if (rq->method)
        SETOPT(h, CURLOPT_CUSTOMREQUEST, rq->method);
    pthread_once(&proxy_once, proxy_env_read);
    if (!proxy_env) {
        SETOPT(h, CURLOPT_PROXY, "");
        SETOPT(h, CURLOPT_NOPROXY, "");
    }
    return setup_http_request(h, rq, uh, io, e);
}

bool transport_reusable(const struct request *rq)
{
    return rq->kind == REQ_HTTP && rq->method == NULL && rq->ca_file == NULL &&
           rq->url != NULL;
}

int transport_setup_again(CURL *h, struct request *rq, CURLU *uh,
                          struct transport_io *io, struct err *e)
{
    io_init(rq, io);
    return setup_http_request(h, rq, uh, io, e);
}

void transport_io_cleanup(struct transport_io *io)
{
    buf_cleanup(&io->resp);
}

bool transport_retryable(CURLcode rc)
{
    switch (rc) {
    case CURLE_COULDNT_RESOLVE_HOST: /* 6 */
    case CURLE_COULDNT_CONNECT:      /* 7 */
    case CURLE_OPERATION_TIMEDOUT:   /* 28 */
    case CURLE_SSL_CONNECT_ERROR:    /* 35 */
    case CURLE_PARTIAL_FILE:         /* 18: the answer broke off */
    case CURLE_GOT_NOTHING:          /* 52 */
    case CURLE_SEND_ERROR:           /* 55 */
    case CURLE_RECV_ERROR:           /* 56 */
        return true;
    default:
        return false;
    }
}

int transport_url_hostport(const char *url, char *out, size_t outlen)
{
    CURLU *u = curl_url();
    char *host = NULL, *port = NULL;
    int rc = -1;

    if (u == NULL)
        return -1;
    if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) ==
            CURLUE_OK) {
        snprintf(out, outlen, "%s:%s", host, port);
        rc = 0;
    }
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);
    return rc;
}

void transport_describe_error(CURL *h, CURLcode rc, const struct request *rq,
                              char *out, size_t outlen)
{
    char hp[300];
    long oserr = 0;
    double total = 0;

    if (transport_url_hostport(rq->url ? rq->url : "", hp, sizeof(hp)) < 0)
        snprintf(hp, sizeof(hp), "the receiver");
    curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &oserr);
    switch (rc) {
    case CURLE_COULDNT_CONNECT:
        snprintf(out, outlen, "could not connect to %s (%s)", hp,
                 oserr ? strerror((int)oserr) : "connection failed");
        break;
    case CURLE_COULDNT_RESOLVE_HOST:
        snprintf(out, outlen, "could not resolve %s", hp);
        break;
    case CURLE_OPERATION_TIMEDOUT:
        curl_easy_getinfo(h, CURLINFO_TOTAL_TIME, &total);
        snprintf(out, outlen, "no answer from %s within %.1f s (timeout)", hp,
                 total);
        break;
    case CURLE_USE_SSL_FAILED:
        snprintf(out, outlen,
                 "%s does not offer STARTTLS, which is required "
                 "(nothing was sent)",
                 hp);
        break;
    case CURLE_LOGIN_DENIED:
        snprintf(out, outlen, "%s refused the login", hp);
        break;
    default:
        /* curl's own message may quote the URL; name only the host. */
        snprintf(out, outlen, "%s (curl error %d) talking to %s",
                 curl_easy_strerror(rc), (int)rc, hp);
        break;
    }
}

void transport_snippet(const char *body, size_t len, size_t max,
                       const struct request *rq, char *out, size_t outlen)
{
    char *all;
    size_t n = 0;

    if (outlen == 0)
        return;
    out[0] = '\0';
    if (body == NULL)
        len = 0;
    /* The whole answer is scrubbed before it is cut short: a secret that
     * straddles the cut would no longer be found, and its head would show. */
    all = malloc(len + 1);
    if (all == NULL)
        return;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)body[i];
        all[i] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
    }
    all[len] = '\0';
    scrub_secrets(all, rq);
    len = strlen(all);
    if (len > max)
        len = max;
    while (n < len && n + 1 < outlen) {
        out[n] = all[n];
        n++;
    }
    while (n > 0 && out[n - 1] == ' ')
        n--;
    out[n] = '\0';
    free(all);
}
