/* store_outbox.c - the store's outbox (store.h): one row per notification
 * to deliver, keyed for idempotency, with payloads that embed the event
 * just added stored compacted. Written by the router (inside the pipeline's
 * transaction) and the dispatcher; read by the dispatcher, /metrics and the
 * CLI. Statements and error reporting come from store.c via store_int.h. */
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "../common/buf.h"
#include "../common/util.h"
#include "store.h"
#include "store_int.h"

const char *outbox_status_name(enum outbox_status st)
{
    switch (st) {
    case OUTBOX_PENDING:
        return "pending";
    case OUTBOX_SENT:
        return "sent";
    case OUTBOX_FAILED:
        return "failed";
    case OUTBOX_SILENCED:
        return "silenced";
    case OUTBOX_SKIPPED:
        return "skipped";
    }
    return "unknown";
}

/* The router's payload is {"event":<event json>,...}: the event's json
 * again, most of the row. When it embeds the json of the event row it
 * belongs to (the one just added), only "@" and the rest are stored, and
 * reads put the json back (outbox_fill): half the bytes per notification
 * in the table and the WAL. Anything else is stored as given. */
static const char *payload_compact(struct store *s, const struct outbox_row *r)
{
    static const char head[] = "{\"event\":";
    const char *p = r->payload;
    size_t n = s->ev_json.len;

    if (p == NULL || r->event_id <= 0 || r->event_id != s->ev_id || n == 0 ||
        strncmp(p, head, sizeof(head) - 1) != 0 ||
        strncmp(p + sizeof(head) - 1, buf_str(&s->ev_json), n) != 0)
        return p;
    buf_reset(&s->pl);
    buf_addc(&s->pl, '@');
    if (buf_adds(&s->pl, p + sizeof(head) - 1 + n) < 0)
        return p;
    return buf_str(&s->pl);
}

int store_outbox_add(struct store *s, const struct outbox_row *r, int64_t *id,
                     struct err *e)
{
    struct q q;
    int rc;

    if (store_q_write(s, Q_OUTBOX_ADD, &q, "outbox add", e) < 0)
        return -1;
    store_bind_text(q.st, 1, r->key);
    sqlite3_bind_int64(q.st, 2, r->event_id);
    store_bind_text(q.st, 3, r->receiver);
    store_bind_text(q.st, 4, r->fingerprint ? r->fingerprint : "");
    store_bind_text(q.st, 5, r->rule ? r->rule : "");
    store_bind_text(q.st, 6, r->kind);
    store_bind_text(q.st, 7, payload_compact(s, r));
    sqlite3_bind_int(q.st, 8, (int)r->status);
    sqlite3_bind_int(q.st, 9, r->attempts);
    sqlite3_bind_double(q.st, 10, r->created);
    sqlite3_bind_double(q.st, 11, r->next_at);
    sqlite3_bind_double(q.st, 12, r->updated > 0 ? r->updated : r->created);
    store_bind_text(q.st, 13, r->last_error);
    sqlite3_bind_int(q.st, 14, r->last_code);
    if (store_q_exec(s, &q, "outbox add", e) < 0)
        return -1;
    if (sqlite3_changes(s->db) > 0) {
        if (id != NULL)
            *id = sqlite3_last_insert_rowid(s->db);
        return 0;
    }
    /* Duplicate idempotency key: already queued; report the existing row. */
    if (id != NULL) {
        *id = 0;
        if (store_q_get(s, Q_OUTBOX_KEY_ID, &q, "outbox add", e) < 0)
            return -1;
        store_bind_text(q.st, 1, r->key);
        rc = store_q_step(s, &q, "outbox add", e);
        if (rc < 0)
            return -1;
        if (rc == SQLITE_ROW)
            *id = sqlite3_column_int64(q.st, 0);
        store_q_done(&q);
    }
    return 1;
}

_Static_assert(OUTBOX_SKIPPED == 4, "Q_OUTBOX_REQUEUE's status literal");

int store_outbox_requeue(struct store *s, int64_t id, const char *key,
                         double now, struct err *e)
{
    struct q q;

    if (store_q_write(s, Q_OUTBOX_REQUEUE, &q, "outbox requeue", e) < 0)
        return -1;
    sqlite3_bind_int64(q.st, 1, id);
    store_bind_text(q.st, 2, key);
    sqlite3_bind_double(q.st, 3, now);
    if (store_q_exec(s, &q, "outbox requeue", e) < 0)
        return -1;
    return sqlite3_changes(s->db) > 0 ? 0 : 1;
}

/* pl: where a compacted payload is rebuilt; it must outlive the callback. */
static void outbox_fill(sqlite3_stmt *st, struct outbox_row *r, struct buf *pl)
{
    r->id = sqlite3_column_int64(st, 0);
    r->key = store_col_text(st, 1);
    r->event_id = sqlite3_column_int64(st, 2);
    r->receiver = store_col_text(st, 3);
    r->fingerprint = store_col_text(st, 4);
    r->rule = store_col_text(st, 5);
    r->kind = store_col_text(st, 6);
    r->payload = store_col_text(st, 7);
    if (r->payload[0] == '@') {
        /* The event row is kept as long as its outbox rows (history is
         * never pruned); if it were gone, "event" becomes null. */
        const char *json = store_col_text_or_null(st, 15);

        buf_reset(pl);
        buf_adds(pl, "{\"event\":");
        buf_adds(pl, json ? json : "null");
        if (buf_adds(pl, r->payload + 1) == 0)
            r->payload = buf_str(pl);
    }
    r->status = (enum outbox_status)sqlite3_column_int(st, 8);
    r->attempts = sqlite3_column_int(st, 9);
    r->created = sqlite3_column_double(st, 10);
    r->next_at = sqlite3_column_double(st, 11);
    r->updated = sqlite3_column_double(st, 12);
    r->last_error = store_col_text_or_null(st, 13);
    r->last_code = sqlite3_column_int(st, 14);
}

/* One walk over outbox rows; pl is its own: a callback may read the outbox
 * too. */
struct outbox_walk {
    store_outbox_fn cb;
    void *ctx;
    struct buf pl;
};

static int outbox_walk_row(sqlite3_stmt *st, void *arg)
{
    struct outbox_walk *w = arg;
    struct outbox_row r;

    outbox_fill(st, &r, &w->pl);
    return w->cb(w->ctx, &r);
}

static int outbox_iterate(struct store *s, struct q *q, store_outbox_fn cb,
                          void *ctx, const char *op, struct err *e)
{
    struct outbox_walk w = {cb, ctx, {0}};
    int ret;

    buf_init(&w.pl, 0);
    ret = store_q_rows(s, q, outbox_walk_row, &w, op, e);
    buf_cleanup(&w.pl);
    return ret;
}

int store_outbox_pending(struct store *s, size_t limit, store_outbox_fn cb,
                         void *ctx, struct err *e)
{
    struct q q;

    if (store_q_get(s, Q_OUTBOX_PENDING, &q, "outbox read", e) < 0)
        return -1;
    sqlite3_bind_int64(q.st, 1, limit == 0 ? -1 : (sqlite3_int64)limit);
    return outbox_iterate(s, &q, cb, ctx, "outbox read", e);
}

int store_outbox_pending_after(struct store *s, int64_t after_id, size_t limit,
                               store_outbox_fn cb, void *ctx, struct err *e)
{
    struct q q;

    if (store_q_get(s, Q_OUTBOX_PENDING_AFTER, &q, "outbox read", e) < 0)
        return -1;
    sqlite3_bind_int64(q.st, 1, limit == 0 ? -1 : (sqlite3_int64)limit);
    sqlite3_bind_int64(q.st, 2, (sqlite3_int64)after_id);
    return outbox_iterate(s, &q, cb, ctx, "outbox read", e);
}

struct payload_ctx {
    char *out;
};

static int payload_cb(void *ctx, const struct outbox_row *r)
{
    ((struct payload_ctx *)ctx)->out = xstrdup(r->payload ? r->payload : "");
    return 1;
}

int store_outbox_payload(struct store *s, int64_t id, char **out, struct err *e)
{
    struct payload_ctx pc = {NULL};
    struct q q;
    int rc;

    *out = NULL;
    if (store_q_get(s, Q_OUTBOX_ONE, &q, "outbox read", e) < 0)
        return -1;
    sqlite3_bind_int64(q.st, 1, (sqlite3_int64)id);
    rc = outbox_iterate(s, &q, payload_cb, &pc, "outbox read", e);
    if (rc < 0)
        return -1;
    if (pc.out == NULL)
        return 1;
    *out = pc.out;
    return 0;
}

int store_outbox_update(struct store *s, int64_t id, enum outbox_status status,
                        int attempts, double next_at, const char *last_error,
                        int last_code, double now, struct err *e)
{
    struct q q;

    if (store_q_write(s, Q_OUTBOX_UPDATE, &q, "outbox update", e) < 0)
        return -1;
    sqlite3_bind_int64(q.st, 1, id);
    sqlite3_bind_int(q.st, 2, (int)status);
    sqlite3_bind_int(q.st, 3, attempts);
    sqlite3_bind_double(q.st, 4, next_at);
    store_bind_text(q.st, 5, last_error);
    sqlite3_bind_int(q.st, 6, last_code);
    sqlite3_bind_double(q.st, 7, now);
    if (store_q_exec(s, &q, "outbox update", e) < 0)
        return -1;
    if (sqlite3_changes(s->db) == 0) {
        err_set(e, "store: outbox update: no outbox row %lld", (long long)id);
        return -1;
    }
    return 0;
}

/* One (status, count) row into n[status]. */
static int count_row(sqlite3_stmt *st, void *arg)
{
    int64_t *n = arg;
    int status = sqlite3_column_int(st, 0);

    if (status >= 0 && status < OUTBOX_NSTATUS)
        n[status] = sqlite3_column_int64(st, 1);
    return 0;
}

int store_outbox_counts(struct store *s, int64_t n[OUTBOX_NSTATUS],
                        struct err *e)
{
    struct q q;

    memset(n, 0, OUTBOX_NSTATUS * sizeof(*n));
    if (store_q_get(s, Q_OUTBOX_COUNT, &q, "outbox count", e) < 0)
        return -1;
    return store_q_rows(s, &q, count_row, n, "outbox count", e);
}

int store_outbox_count(struct store *s, enum outbox_status st, int64_t *n,
                       struct err *e)
{
    struct q q;
    int rc;

    /* Pending (the /metrics gauge) counts the partial index; the other
     * statuses scan the table. */
    if (st != OUTBOX_PENDING) {
        int64_t all[OUTBOX_NSTATUS];

        if (store_outbox_counts(s, all, e) < 0)
            return -1;
        *n = (int)st >= 0 && (int)st < OUTBOX_NSTATUS ? all[st] : 0;
        return 0;
    }
    if (store_q_get(s, Q_OUTBOX_COUNT_PENDING, &q, "outbox count", e) < 0)
        return -1;
    rc = sqlite3_step(q.st);
    if (rc != SQLITE_ROW) {
        store_fail_st(s, rc, "outbox count", e, q.st);
        store_q_done(&q);
        return -1;
    }
    *n = sqlite3_column_int64(q.st, 0);
    store_q_done(&q);
    return 0;
}

struct pair_walk {
    store_pair_fn cb;
    void *ctx;
};

static int pair_row(sqlite3_stmt *st, void *arg)
{
    const struct pair_walk *w = arg;

    return w->cb(w->ctx, store_col_text(st, 0), store_col_text(st, 1)) != 0;
}

int store_outbox_pending_pairs(struct store *s, store_pair_fn cb, void *ctx,
                               struct err *e)
{
    struct pair_walk w = {cb, ctx};
    struct q q;

    if (store_q_get(s, Q_OUTBOX_PENDING_PAIRS, &q, "outbox read", e) < 0)
        return -1;
    return store_q_rows(s, &q, pair_row, &w, "outbox read", e) < 0 ? -1 : 0;
}

int store_outbox_foreach(struct store *s, double since, store_outbox_fn cb,
                         void *ctx, struct err *e)
{
    struct q q;

    if (store_q_get(s, Q_OUTBOX_SINCE, &q, "outbox read", e) < 0)
        return -1;
    sqlite3_bind_double(q.st, 1, since);
    return outbox_iterate(s, &q, cb, ctx, "outbox read", e);
}
