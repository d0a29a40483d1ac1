/* http.c - libmicrohttpd server and request routing (see http.h).
 * One thread per connection (MHD_USE_THREAD_PER_CONNECTION) so an ingest
 * request waiting for its group commit never holds up other clients; a
 * connection limit, an idle timeout, deadlines on request headers and
 * bodies, the body limit and a bound on the bodies held at once keep slow or
 * oversized clients from exhausting the daemon. */
#include "http.h"

#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../common/buf.h"
#include "../common/log.h"
#include "../common/util.h"
#include "api.h"
#include "statsd.h"

#define HTTP_CONN_LIMIT 512
#define HTTP_CONN_TIMEOUT 30 /* seconds of inactivity */
#define HTTP_STOP_GRACE 5    /* seconds for requests begun to finish */
/* Seconds a request has for its request line and headers, counted from
 * the connection's start or, on a kept-alive connection, from the end of
 * its previous request plus the idle timeout. libmicrohttpd 0.9.75 only
 * times out idleness, which a client sending a header line every few
 * seconds never shows: 512 such clients (slowloris) held every slot. */
#define HTTP_HEADER_DEADLINE 10
/* Seconds a request has for its body once its headers are in: a client
 * trickling a few bytes every few seconds is never idle either. */
#define HTTP_BODY_DEADLINE 30
/* Request bodies held in memory at once, all connections together; past
 * it, a body is read and dropped and answered 503 with Retry-After. */
#define HTTP_BODY_MEMORY ((size_t)256 << 20)
/* Body memory made ready when a request's headers come (more grows as its
 * bytes do): a usual ingest body needs no regrowing. */
#define HTTP_BODY_AHEAD ((size_t)64 << 10)

/* A connection between accept and close (libmicrohttpd's socket context). */
struct conn {
    struct conn *prev, *next;
    int fd;
    double deadline; /* util_mono() by which headers (or the body) are due;
                        0 while the request is answered */
    bool body;       /* the deadline is the body's */
};

struct http_server {
    struct MHD_Daemon *mhd;
    struct daemon_ctx *d;
    char listen[300];
    /* Requests begun (headers read) and not yet answered: a stop waits
     * for them, so that an ingest committed at SIGTERM still gets its 204
     * instead of a closed connection. */
    pthread_mutex_t mu;
    pthread_cond_t idle;
    unsigned answering;
    /* Open connections, under mu; the reaper thread shuts down those
     * past their header deadline. */
    struct conn *conns;
    size_t body_bytes; /* request bodies held, under mu */
    pthread_t reaper;
    pthread_cond_t reaper_wake;
    int reaper_stop;
};

struct req {
    struct buf body;
    int counted; /* in answering */
    int too_big;
    int busy; /* dropped: HTTP_BODY_MEMORY was reached */
    int answered;
    size_t held; /* bytes counted in body_bytes */
};

/* Queue resp (NULL: it could not be made) with its headers and let go of
 * it. */
static enum MHD_Result queue_reply(struct MHD_Connection *c, int status,
                                   struct MHD_Response *resp, const char *ctype,
                                   const char *allow)
{
    enum MHD_Result rc;

    if (resp == NULL)
        return MHD_NO;
    if (ctype != NULL)
        MHD_add_response_header(resp, "Content-Type", ctype);
    if (allow != NULL)
        MHD_add_response_header(resp, "Allow", allow);
    rc = MHD_queue_response(c, (unsigned)status, resp);
    MHD_destroy_response(resp);
    return rc;
}

static enum MHD_Result send_reply(struct MHD_Connection *c, int status,
                                  const char *ctype, const char *body,
                                  size_t len, const char *allow)
{
    return queue_reply(c, status,
                       MHD_create_response_from_buffer(len, (void *)body,
                                                       MHD_RESPMEM_MUST_COPY),
                       ctype, allow);
}

/* The same for an answer built in b, which libmicrohttpd takes over
 * without a copy (an alert list may be hundreds of MB); b is left empty. */
static enum MHD_Result send_reply_buf(struct MHD_Connection *c, int status,
                                      const char *ctype, struct buf *b,
                                      const char *allow)
{
    struct MHD_Response *resp;
    size_t len = b->len;
    char *body = b->failed ? NULL : buf_steal(b);

    if (body == NULL)
        return send_reply(c, status, ctype, "", 0, allow);
    resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (resp == NULL)
        free(body);
    return queue_reply(c, status, resp, ctype, allow);
}

/* Bodies over the limit but under this are read and dropped before the 413
 * (see on_request). */
#define DAEMON_DRAIN_LIMIT ((unsigned long long)256 << 20)

static enum MHD_Result send_413(struct MHD_Connection *c)
{
    static const char msg[] =
        "{\"error\":\"request body over the 16 MiB limit\"}\n";

    return send_reply(c, MHD_HTTP_CONTENT_TOO_LARGE, "application/json", msg,
                      sizeof(msg) - 1, NULL);
}

void http_route(struct daemon_ctx *d, const char *method, const char *path,
                const char *format, const char *id, const char *ctype,
                const char *body, size_t len, struct api_reply *r,
                const char **allow)
{
    int get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    int post = strcmp(method, "POST") == 0;
    static const char silences_prefix[] = "/api/v1/silences/";

    *allow = NULL;
    if (strcmp(path, "/api/v1/ingest") == 0) {
        if (post)
            api_ingest(d, format, ctype, body, len, r);
        else
            *allow = "POST";
    } else if (strcmp(path, "/api/v1/alerts") == 0) {
        if (get)
            api_alerts(d, r);
        else
            *allow = "GET, HEAD";
    } else if (strcmp(path, "/api/v1/silences") == 0) {
        if (get)
            api_silences_list(d, r);
        else if (post)
            api_silence_add(d, body, len, r);
        else if (strcmp(method, "DELETE") == 0)
            api_silence_expire_query(d, id, body, len, r);
        else
            *allow = "GET, HEAD, POST, DELETE";
    } else if (strncmp(path, silences_prefix, sizeof(silences_prefix) - 1) ==
                   0 &&
               path[sizeof(silences_prefix) - 1] != '\0') {
        if (strcmp(method, "DELETE") == 0)
            api_silence_expire(d, path + sizeof(silences_prefix) - 1, r);
        else
            *allow = "DELETE";
    } else if (strcmp(path, "/metrics") == 0) {
        if (get)
            api_metrics(d, r);
        else
            *allow = "GET, HEAD";
    } else if (strcmp(path, "/healthz") == 0) {
        if (get && atomic_load(&d->store_failing)) {
            /* up, but what it is sent is not being recorded */
            r->status = 503;
            r->ctype = "text/plain; charset=utf-8";
            buf_adds(&r->body, "store: the last commit failed\n");
        } else if (get) {
            r->status = 200;
            r->ctype = "text/plain; charset=utf-8";
            buf_adds(&r->body, "ok\n");
        } else {
            *allow = "GET, HEAD";
        }
    } else {
        api_reply_error(r, 404, "not found");
        return;
    }
    if (*allow != NULL)
        api_reply_error(r, 405, "method not allowed");
}

/* The connection's deadline: 0 (the request is being answered), the time
 * by which the next request's headers are due or, with body, the time by
 * which the current request's body is due. */
static void conn_set_deadline(struct http_server *h, struct MHD_Connection *c,
                              double deadline, bool body)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    struct conn *k = ci ? ci->socket_context : NULL;

    if (k == NULL)
        return;
    pthread_mutex_lock(&h->mu);
    k->deadline = deadline;
    k->body = body;
    pthread_mutex_unlock(&h->mu);
}

static void on_connection(void *cls, struct MHD_Connection *c,
                          void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    struct http_server *h = cls;
    struct conn *k;

    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        k = xcalloc(1, sizeof(*k));
        k->fd = ci ? ci->connect_fd : -1;
        k->deadline = util_mono() + HTTP_HEADER_DEADLINE;
        pthread_mutex_lock(&h->mu);
        k->next = h->conns;
        if (h->conns)
            h->conns->prev = k;
        h->conns = k;
        pthread_mutex_unlock(&h->mu);
        *socket_context = k;
        return;
    }
    /* Closed: libmicrohttpd closes the socket after this returns, so the
     * reaper, which shuts sockets down under mu, never sees a reused fd. */
    k = *socket_context;
    if (k == NULL)
        return;
    pthread_mutex_lock(&h->mu);
    if (k->prev)
        k->prev->next = k->next;
    else
        h->conns = k->next;
    if (k->next)
        k->next->prev = k->prev;
    pthread_mutex_unlock(&h->mu);
    free(k);
    *socket_context = NULL;
}

/* Once a second, shut down the connections past their deadline:
 * their thread in libmicrohttpd then reads the end of the stream and
 * closes them. */
static void *reaper_main(void *arg)
{
    /* indexed by conn.body */
    static const struct {
        const char *part;
        int secs;
    } late[2] = {{"headers", HTTP_HEADER_DEADLINE},
                 {"body", HTTP_BODY_DEADLINE}};
    struct http_server *h = arg;
    struct timespec until;

    util_thread_name("tocsin-httpdl");
    pthread_mutex_lock(&h->mu);
    while (!h->reaper_stop) {
        double now = util_mono();
        unsigned n[2] = {0, 0};

        for (struct conn *k = h->conns; k; k = k->next) {
            if (k->deadline > 0 && now > k->deadline && k->fd >= 0) {
                shutdown(k->fd, SHUT_RDWR);
                k->deadline = 0;
                n[k->body]++;
            }
        }
        for (int i = 0; i < 2; i++)
            if (n[i] > 0)
                log_warn("http",
                         "closed %u connection%s that did not send a "
                         "request's %s within %d s",
                         n[i], n[i] == 1 ? "" : "s", late[i].part,
                         late[i].secs);
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 1;
        pthread_cond_timedwait(&h->reaper_wake, &h->mu, &until);
    }
    pthread_mutex_unlock(&h->mu);
    return NULL;
}

/* Book n more body bytes of rq against HTTP_BODY_MEMORY, as they come:
 * false (nothing booked) when they would pass it. With rq NULL, only
 * whether they would fit now (a client waiting for "100 Continue"). */
static bool body_hold(struct http_server *h, struct req *rq, size_t n)
{
    bool ok;

    pthread_mutex_lock(&h->mu);
    ok = h->body_bytes + n <= HTTP_BODY_MEMORY;
    if (ok && rq != NULL) {
        h->body_bytes += n;
        rq->held += n;
    }
    pthread_mutex_unlock(&h->mu);
    return ok;
}

/* Free rq's body and give its bytes back. */
static void body_drop(struct http_server *h, struct req *rq)
{
    buf_cleanup(&rq->body);
    pthread_mutex_lock(&h->mu);
    h->body_bytes -= rq->held;
    rq->held = 0;
    pthread_mutex_unlock(&h->mu);
}

static enum MHD_Result send_busy(struct MHD_Connection *c)
{
    static const char msg[] =
        "{\"error\":\"too many request bodies in memory: retry later\"}\n";
    struct MHD_Response *resp;
    enum MHD_Result rc;

    resp = MHD_create_response_from_buffer(sizeof(msg) - 1, (void *)msg,
                                           MHD_RESPMEM_PERSISTENT);
    if (resp == NULL)
        return MHD_NO;
    MHD_add_response_header(resp, "Content-Type", "application/json");
    MHD_add_response_header(resp, "Retry-After", "1");
    rc = MHD_queue_response(c, MHD_HTTP_SERVICE_UNAVAILABLE, resp);
    MHD_destroy_response(resp);
    return rc;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
                                  const char *url, const char *method,
                                  const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    struct http_server *h = cls;
    struct req *rq = *con_cls;
    struct api_reply r;
    const char *allow = NULL, *format, *id, *ctype;
    enum MHD_Result rc;

    (void)version;
    if (rq == NULL) {
        const char *cl =
            MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
        const char *enc =
            MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Encoding");
        conn_set_deadline(h, c, util_mono() + HTTP_BODY_DEADLINE, true);
        rq = xcalloc(1, sizeof(*rq));
        buf_init(&rq->body, DAEMON_BODY_LIMIT);
        *con_cls = rq;
        pthread_mutex_lock(&h->mu);
        h->answering++;
        rq->counted = 1;
        pthread_mutex_unlock(&h->mu);
        if (enc != NULL && enc[0] != '\0' && strcasecmp(enc, "identity") != 0) {
            /* A gzip body (Telegraf's content_encoding, InfluxDB clients)
             * would read as binary junk, line by line. */
            static const char msg[] =
                "{\"error\":\"Content-Encoding is not supported: send the "
                "body uncompressed\"}\n";
            rq->answered = 1;
            return send_reply(c, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE,
                              "application/json", msg, sizeof(msg) - 1, NULL);
        }
        if (cl != NULL) {
            char *end;
            unsigned long long n = strtoull(cl, &end, 10);
            const char *expect =
                MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Expect");
            if (end != cl && n > DAEMON_BODY_LIMIT) {
                /* A client that waits for "100 Continue" (curl does above
                 * 1 MiB), or a body too large to be worth reading, gets
                 * the 413 at once and the connection closes. Others send
                 * the body regardless: reading and dropping it lets them
                 * read the 413 instead of failing on a closed socket. */
                if ((expect != NULL &&
                     strcasecmp(expect, "100-continue") == 0) ||
                    n > DAEMON_DRAIN_LIMIT) {
                    rq->answered = 1;
                    return send_413(c);
                }
                rq->too_big = 1;
                buf_cleanup(&rq->body);
            } else if (end != cl) {
                /* The body's memory is booked as its bytes come (a client
                 * that declares 16 MiB and sends nothing books nothing, so
                 * a few of them cannot starve ingest). One waiting for
                 * "100 Continue" hears 503 at once if its body cannot fit
                 * now. Room for a usual body is made ahead. */
                if (expect != NULL && strcasecmp(expect, "100-continue") == 0 &&
                    !body_hold(h, NULL, (size_t)n)) {
                    rq->answered = 1;
                    return send_busy(c);
                }
                buf_reserve(&rq->body,
                            n < HTTP_BODY_AHEAD ? (size_t)n : HTTP_BODY_AHEAD);
            }
        }
        return MHD_YES;
    }
    if (*upload_data_size != 0) {
        if (!rq->too_big && !rq->busy && !rq->answered) {
            size_t need = rq->body.len + *upload_data_size;

            if (need > rq->held && !body_hold(h, rq, need - rq->held)) {
                rq->busy = 1;
                body_drop(h, rq);
            } else if (buf_add(&rq->body, upload_data, *upload_data_size) < 0) {
                /* Chunked body past the limit: stop keeping it, drain the
                 * rest and answer 413 at its end. */
                rq->too_big = 1;
                body_drop(h, rq);
            }
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (rq->answered)
        return MHD_YES;
    rq->answered = 1;
    /* The request is in: its answer may wait (ingest's group commit). */
    conn_set_deadline(h, c, 0, false);
    if (rq->too_big)
        return send_413(c);
    if (rq->busy)
        return send_busy(c);

    format = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "format");
    id = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "id");
    ctype = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
    api_reply_init(&r);
    http_route(h->d, method, url, format, id, ctype, buf_str(&rq->body),
               rq->body.len, &r, &allow);
    rc = send_reply_buf(c, r.status, r.ctype, &r.body, allow);
    api_reply_cleanup(&r);
    return rc;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct http_server *h = cls;
    struct req *rq = *con_cls;

    (void)toe;
    /* A kept-alive connection may idle (up to the idle timeout) before
     * its next request begins. */
    conn_set_deadline(
        h, c, util_mono() + HTTP_CONN_TIMEOUT + HTTP_HEADER_DEADLINE, false);
    if (rq == NULL)
        return;
    body_drop(h, rq);
    if (rq->counted) {
        pthread_mutex_lock(&h->mu);
        if (--h->answering == 0)
            pthread_cond_broadcast(&h->idle);
        pthread_mutex_unlock(&h->mu);
    }
    buf_cleanup(&rq->body);
    free(rq);
    *con_cls = NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char line[512];
    size_t n;

    (void)cls;
    vsnprintf(line, sizeof(line), fmt, ap);
    n = strlen(line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    log_debug("http", "%s", line);
}

/* listen ("host:port") as the address to bind: host into host, the port
 * into *port, the address into *ai (freeaddrinfo). -1 with e when it is
 * not one. */
static int resolve_listen(const char *listen, char *host, size_t hostlen,
                          int *port, struct addrinfo **ai, struct err *e)
{
    char portstr[16];
    struct addrinfo hints;
    int rc;

    if (daemon_split_hostport(listen, host, hostlen, port) < 0) {
        err_set(e, "listen: invalid address \"%s\" (expected host:port)",
                listen);
        return -1;
    }
    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    snprintf(portstr, sizeof(portstr), "%d", *port);
    rc = getaddrinfo(host[0] ? host : NULL, portstr, &hints, ai);
    if (rc != 0) {
        err_set(e, "listen %s: %s", listen, gai_strerror(rc));
        return -1;
    }
    return 0;
}

static void cannot_listen(struct err *e, const char *listen)
{
    err_set(e, "cannot listen on %s (address in use or not local?)", listen);
}

bool http_address_taken(const char *listen, struct err *e)
{
    char host[256];
    int port, fd, one = 1;
    struct addrinfo *ai = NULL;
    struct err ignored = {0};
    bool taken = false;

    if (listen == NULL ||
        resolve_listen(listen, host, sizeof(host), &port, &ai, &ignored) < 0)
        return false; /* http_start says what is wrong with it */
    fd = port != 0 ? socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0) : -1;
    if (fd >= 0) {
        /* As libmicrohttpd binds: only a listening socket is in the way. */
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        taken =
            bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 && errno == EADDRINUSE;
        close(fd);
    }
    freeaddrinfo(ai);
    if (taken)
        cannot_listen(e, listen);
    return taken;
}

/* libmicrohttpd's %HH decoding, but "%00" stays as written: a decoded NUL
 * would end the path or argument early for every C string comparison
 * ("/healthz%00junk" read as "/healthz", silence "4%00zzz" as 4). */
static size_t unescape_no_nul(void *cls, struct MHD_Connection *c, char *s)
{
    char *w = s;

    (void)cls;
    (void)c;
    for (const char *r = s; *r;) {
        int hi, lo;

        if (r[0] == '%' && (hi = util_hex_digit((unsigned char)r[1])) >= 0 &&
            (lo = util_hex_digit((unsigned char)r[2])) >= 0 && (hi | lo) != 0) {
            *w++ = (char)(hi * 16 + lo);
            r += 3;
        } else {
            *w++ = *r++;
        }
    }
    *w = '\0';
    return (size_t)(w - s);
}

struct http_server *http_start(struct daemon_ctx *d, const char *listen,
                               struct err *e)
{
    char host[256];
    int port;
    struct addrinfo *ai = NULL;
    struct http_server *h;
    const union MHD_DaemonInfo *info;

    if (resolve_listen(listen, host, sizeof(host), &port, &ai, e) < 0)
        return NULL;
    h = xcalloc(1, sizeof(*h));
    h->d = d;
    pthread_mutex_init(&h->mu, NULL);
    pthread_cond_init(&h->idle, NULL);
    pthread_cond_init(&h->reaper_wake, NULL);
    h->mhd = MHD_start_daemon(
        MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL_INTERNAL_THREAD |
            MHD_USE_ERROR_LOG | (ai->ai_family == AF_INET6 ? MHD_USE_IPv6 : 0),
        (uint16_t)port, NULL, NULL, on_request, h,
        /* First: libmicrohttpd's messages about the options after it go
         * to tocsin's log, not to stderr in its own format. */
        MHD_OPTION_EXTERNAL_LOGGER, mhd_log, h, MHD_OPTION_SOCK_ADDR,
        ai->ai_addr, MHD_OPTION_CONNECTION_LIMIT, (unsigned)HTTP_CONN_LIMIT,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HTTP_CONN_TIMEOUT,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, h,
        MHD_OPTION_UNESCAPE_CALLBACK, unescape_no_nul, h,
        MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)256, MHD_OPTION_END);
    freeaddrinfo(ai);
    if (h->mhd == NULL) {
        cannot_listen(e, listen);
        pthread_mutex_destroy(&h->mu);
        pthread_cond_destroy(&h->idle);
        pthread_cond_destroy(&h->reaper_wake);
        free(h);
        return NULL;
    }
    if (pthread_create(&h->reaper, NULL, reaper_main, h) != 0) {
        log_error("http", "cannot start a thread: header deadline off");
        h->reaper_stop = -1;
    }
    info = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_BIND_PORT);
    if (info != NULL && info->port != 0)
        port = info->port;
    snprintf(h->listen, sizeof(h->listen), "%s", listen);
    log_info("tocsin", "listening on %s%s%s:%d", strchr(host, ':') ? "[" : "",
             host[0] ? host : "0.0.0.0", strchr(host, ':') ? "]" : "", port);
    return h;
}

void http_stop(struct http_server *h)
{
    struct timespec until;

    if (h == NULL)
        return;
    /* Requests begun finish first (for at most HTTP_STOP_GRACE seconds,
     * as a slow client may never): new ones meanwhile get 503. */
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += HTTP_STOP_GRACE;
    pthread_mutex_lock(&h->mu);
    while (h->answering > 0 &&
           pthread_cond_timedwait(&h->idle, &h->mu, &until) == 0)
        ;
    if (h->reaper_stop == 0) {
        h->reaper_stop = 1;
        pthread_cond_signal(&h->reaper_wake);
        pthread_mutex_unlock(&h->mu);
        pthread_join(h->reaper, NULL);
    } else {
        pthread_mutex_unlock(&h->mu);
    }
    MHD_stop_daemon(h->mhd);
    pthread_mutex_destroy(&h->mu);
    pthread_cond_destroy(&h->idle);
    pthread_cond_destroy(&h->reaper_wake);
    free(h);
}

const char *http_listen_addr(const struct http_server *h)
{
    return h->listen;
}
