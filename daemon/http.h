/* http.h - the HTTP server (libmicrohttpd): listening, limits against slow
 * and oversized clients, and routing of each request to daemon/api.c.
 * Started and stopped by daemon.c. */
#ifndef TOCSIN_DAEMON_HTTP_H
#define TOCSIN_DAEMON_HTTP_H

#include <stdbool.h>

#include "../common/err.h"
#include "daemon.h"

struct http_server;

/* Listen on listen ("host:port"; port 0 picks a free one) and serve d.
 * Logs "listening on HOST:PORT". NULL with e when the address is invalid
 * or in use. */
struct http_server *http_start(struct daemon_ctx *d, const char *listen,
                               struct err *e);
/* True, with http_start's message for it in e, when listen ("host:port",
 * port not 0) is a valid address that another socket listens on now: a
 * second daemon with the same config. */
bool http_address_taken(const char *listen, struct err *e);
/* Stop accepting connections (in-flight requests finish) and free. */
void http_stop(struct http_server *h);
/* The "host:port" it was started with. */
const char *http_listen_addr(const struct http_server *h);

/* Route one complete request (method, path without query; format and id
 * are the query's ?format= and ?id=, or NULL) to the API. Exposed for
 * tests; sets r->status 404/405 for unknown paths/methods. */
struct api_reply;
void http_route(struct daemon_ctx *d, const char *method, const char *path,
                const char *format, const char *id, const char *ctype,
                const char *body, size_t len, struct api_reply *r,
                const char **allow);

#endif
