/* api.h - the HTTP API's handlers, free of libmicrohttpd: ingest, alerts,
 * silences, metrics, health. daemon/http.c routes each complete request
 * here and sends the reply. SPEC sections 3 and 10. */
#ifndef TOCSIN_DAEMON_API_H
#define TOCSIN_DAEMON_API_H

#include <stddef.h>

#include "../common/buf.h"
#include "daemon.h"

struct api_reply {
    int status;
    const char *ctype; /* static string; NULL when there is no body */
    struct buf body;
};

void api_reply_init(struct api_reply *r);
void api_reply_cleanup(struct api_reply *r);
/* Set status and a JSON {"error": msg} body. */
void api_reply_error(struct api_reply *r, int status, const char *msg);

/* POST /api/v1/ingest. format: the ?format= value (NULL if absent);
 * ctype: the Content-Type header (NULL if absent). 204, 400 with
 * [{"line": 3, "reason": "..."}, ...] (the first 100), or 503. */
void api_ingest(struct daemon_ctx *d, const char *format, const char *ctype,
                const char *body, size_t len, struct api_reply *r);
/* GET /api/v1/alerts: a JSON array of the alerts not ok. */
void api_alerts(struct daemon_ctx *d, struct api_reply *r);
/* GET /api/v1/silences: the active silences as a JSON array. */
void api_silences_list(struct daemon_ctx *d, struct api_reply *r);
/* POST /api/v1/silences: 201 {"id": n}, or 400. */
void api_silence_add(struct daemon_ctx *d, const char *body, size_t len,
                     struct api_reply *r);
/* DELETE /api/v1/silences/ID (id_text is ID): 204 or 404. */
void api_silence_expire(struct daemon_ctx *d, const char *id_text,
                        struct api_reply *r);
/* DELETE /api/v1/silences?id=ID (query_id), or with a body {"id": ID}:
 * as api_silence_expire; 400 when neither names a silence. */
void api_silence_expire_query(struct daemon_ctx *d, const char *query_id,
                              const char *body, size_t len,
                              struct api_reply *r);
/* GET /metrics. */
void api_metrics(struct daemon_ctx *d, struct api_reply *r);

/* Forget the silenced-notification tally (daemon shutdown). */
void api_cleanup(struct daemon_ctx *d);

#endif
