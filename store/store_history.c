/* store_history.c - the store's state and history tables (store.h):
 * series checkpoints, active alerts, the event history, who heard which
 * alert (repeat_interval), silences and the meta key/values. Called by the
 * pipeline (writes), the dispatcher and the read-only commands; statements
 * and error reporting come from store.c through store_int.h. */
#include <math.h>
#include <stdlib.h>

#include <sqlite3.h>

#include "../common/buf.h"
#include "../common/util.h"
#include "store.h"
#include "store_int.h"

/* ------------------------------------------------------------------ */
/* series */

int store_series_put(struct store *s, const char *key, const char *rule,
                     const char *fingerprint, const void *blob, size_t len,
                     struct err *e)
{
    struct q q;

    if (store_q_write(s, Q_SERIES_PUT, &q, "series put", e) < 0)
        return -1;
    store_bind_text(q.st, 1, key);
    store_bind_text(q.st, 2, rule);
    store_bind_text(q.st, 3, fingerprint ? fingerprint : "");
    sqlite3_bind_blob64(q.st, 4, blob ? blob : "", len, SQLITE_STATIC);
    /* One clock read per transaction, not per row (thousands of series
     * are saved in one). */
    sqlite3_bind_double(q.st, 5, s->tx == TX_OPEN ? s->tx_now : util_now());
    return store_q_exec(s, &q, "series put", e);
}

/* Run write statement id with its one text argument (what: for errors). */
static int write_text(struct store *s, enum stmt_id id, const char *arg,
                      const char *what, struct err *e)
{
    struct q q;

    if (store_q_write(s, id, &q, what, e) < 0)
        return -1;
    store_bind_text(q.st, 1, arg);
    return store_q_exec(s, &q, what, e);
}

int store_series_del(struct store *s, const char *key, struct err *e)
{
    return write_text(s, Q_SERIES_DEL, key, "series delete", e);
}

int store_series_del_rule(struct store *s, const char *rule, struct err *e)
{
    return write_text(s, Q_SERIES_DEL_RULE, rule, "series delete", e);
}

struct series_walk {
    store_series_fn cb;
    void *ctx;
};

static int series_row(sqlite3_stmt *st, void *arg)
{
    static const unsigned char empty[1];
    const struct series_walk *w = arg;
    const void *blob = sqlite3_column_blob(st, 1);
    size_t len = (size_t)sqlite3_column_bytes(st, 1);

    return w->cb(w->ctx, store_col_text(st, 0), blob ? blob : empty, len);
}

int store_series_foreach(struct store *s, store_series_fn cb, void *ctx,
                         struct err *e)
{
    struct series_walk w = {cb, ctx};
    struct q q;

    if (store_q_get(s, Q_SERIES_ALL, &q, "series read", e) < 0)
        return -1;
    return store_q_rows(s, &q, series_row, &w, "series read", e);
}

/* ------------------------------------------------------------------ */
/* alerts */

int store_alert_put(struct store *s, const struct store_alert *a, struct err *e)
{
    struct q q;

    if (store_q_write(s, Q_ALERT_PUT, &q, "alert put", e) < 0)
        return -1;
    store_bind_text(q.st, 1, a->fingerprint);
    store_bind_text(q.st, 2, a->rule);
    store_bind_text(q.st, 3, a->labels_json ? a->labels_json : "{}");
    store_bind_text(q.st, 4, a->severity);
    sqlite3_bind_double(q.st, 5, a->since);
    if (a->has_value)
        sqlite3_bind_double(q.st, 6, a->value);
    else
        sqlite3_bind_null(q.st, 6);
    sqlite3_bind_double(q.st, 7, a->updated);
    store_bind_text(q.st, 8, a->reason);
    return store_q_exec(s, &q, "alert put", e);
}

int store_alert_del(struct store *s, const char *fingerprint, struct err *e)
{
    struct q q;

    if (store_q_write(s, Q_ALERT_DEL, &q, "alert delete", e) < 0)
        return -1;
    store_bind_text(q.st, 1, fingerprint);
    return store_q_exec(s, &q, "alert delete", e);
}

struct alert_walk {
    store_alert_fn cb;
    void *ctx;
};

static int alert_row(sqlite3_stmt *st, void *arg)
{
    const struct alert_walk *w = arg;
    struct store_alert a;

    a.fingerprint = store_col_text(st, 0);
    a.rule = store_col_text(st, 1);
    a.labels_json = store_col_text(st, 2);
    a.severity = store_col_text(st, 3);
    a.since = sqlite3_column_double(st, 4);
    a.has_value = sqlite3_column_type(st, 5) != SQLITE_NULL;
    a.value = a.has_value ? sqlite3_column_double(st, 5) : 0;
    a.updated = sqlite3_column_double(st, 6);
    a.reason = store_col_text_or_null(st, 7);
    return w->cb(w->ctx, &a);
}

int store_alerts_foreach(struct store *s, store_alert_fn cb, void *ctx,
                         struct err *e)
{
    struct alert_walk w = {cb, ctx};
    struct q q;

    if (store_q_get(s, Q_ALERTS_ALL, &q, "alerts read", e) < 0)
        return -1;
    return store_q_rows(s, &q, alert_row, &w, "alerts read", e);
}

/* ------------------------------------------------------------------ */
/* history */

int store_event_add(struct store *s, const struct store_event *ev, int64_t *id,
                    struct err *e)
{
    struct q q;

    if (store_q_write(s, Q_EVENT_ADD, &q, "event add", e) < 0)
        return -1;
    sqlite3_bind_double(q.st, 1, ev->ts);
    store_bind_text(q.st, 2, ev->rule);
    store_bind_text(q.st, 3, ev->fingerprint);
    store_bind_text(q.st, 4, ev->event);
    store_bind_text(q.st, 5, ev->severity);
    store_bind_text(q.st, 6, ev->previous);
    store_bind_text(q.st, 7, ev->json);
    sqlite3_bind_int(q.st, 8, ev->silenced ? 1 : 0);
    if (store_q_exec(s, &q, "event add", e) < 0)
        return -1;
    s->ev_id = sqlite3_last_insert_rowid(s->db);
    buf_reset(&s->ev_json);
    if (ev->json == NULL || buf_adds(&s->ev_json, ev->json) < 0)
        s->ev_id = 0;
    if (id != NULL)
        *id = sqlite3_last_insert_rowid(s->db);
    return 0;
}

struct event_walk {
    store_event_fn cb;
    void *ctx;
};

static int event_row(sqlite3_stmt *st, void *arg)
{
    const struct event_walk *w = arg;
    struct store_event ev;

    ev.id = sqlite3_column_int64(st, 0);
    ev.ts = sqlite3_column_double(st, 1);
    ev.rule = store_col_text(st, 2);
    ev.fingerprint = store_col_text(st, 3);
    ev.event = store_col_text(st, 4);
    ev.severity = store_col_text(st, 5);
    ev.previous = store_col_text_or_null(st, 6);
    ev.json = store_col_text(st, 7);
    ev.silenced = sqlite3_column_int(st, 8) != 0;
    return w->cb(w->ctx, &ev);
}

int store_events_foreach(struct store *s, double since, const char *rule,
                         store_event_fn cb, void *ctx, struct err *e)
{
    struct event_walk w = {cb, ctx};
    struct q q;

    if (store_q_get(s, rule ? Q_EVENTS_RULE_SINCE : Q_EVENTS_SINCE, &q,
                    "history read", e) < 0)
        return -1;
    sqlite3_bind_double(q.st, 1, since);
    if (rule != NULL)
        store_bind_text(q.st, 2, rule);
    return store_q_rows(s, &q, event_row, &w, "history read", e);
}

/* ------------------------------------------------------------------ */
/* heard */

int store_heard_put(struct store *s, const struct store_heard *h, struct err *e)
{
    struct q q;

    if (store_q_write(s, Q_HEARD_PUT, &q, "heard put", e) < 0)
        return -1;
    store_bind_text(q.st, 1, h->fingerprint);
    store_bind_text(q.st, 2, h->receiver);
    sqlite3_bind_double(q.st, 3, h->last_notified);
    sqlite3_bind_double(q.st, 4, h->repeat_interval);
    return store_q_exec(s, &q, "heard put", e);
}

int store_heard_unsent(struct store *s, int64_t outbox_id, struct err *e)
{
    struct q q;

    if (store_q_write(s, Q_HEARD_UNSENT, &q, "heard unsent", e) < 0)
        return -1;
    sqlite3_bind_int64(q.st, 1, outbox_id);
    sqlite3_bind_double(q.st, 2, -INFINITY);
    return store_q_exec(s, &q, "heard unsent", e);
}

struct heard_walk {
    store_heard_fn cb;
    void *ctx;
};

static int heard_row(sqlite3_stmt *st, void *arg)
{
    const struct heard_walk *w = arg;
    struct store_heard h;

    h.fingerprint = store_col_text(st, 0);
    h.receiver = store_col_text(st, 1);
    h.last_notified = sqlite3_column_double(st, 2);
    h.repeat_interval = sqlite3_column_double(st, 3);
    return w->cb(w->ctx, &h);
}

int store_heard_foreach(struct store *s, const char *fingerprint,
                        store_heard_fn cb, void *ctx, struct err *e)
{
    struct heard_walk w = {cb, ctx};
    struct q q;

    if (store_q_get(s, fingerprint ? Q_HEARD_FP : Q_HEARD_ALL, &q, "heard read",
                    e) < 0)
        return -1;
    if (fingerprint != NULL)
        store_bind_text(q.st, 1, fingerprint);
    return store_q_rows(s, &q, heard_row, &w, "heard read", e);
}

int store_heard_clear(struct store *s, const char *fingerprint, struct err *e)
{
    return write_text(s, Q_HEARD_CLEAR, fingerprint, "heard clear", e);
}

int store_heard_del(struct store *s, const char *fingerprint,
                    const char *receiver, struct err *e)
{
    struct q q;

    if (store_q_write(s, Q_HEARD_DEL, &q, "heard del", e) < 0)
        return -1;
    store_bind_text(q.st, 1, fingerprint);
    store_bind_text(q.st, 2, receiver);
    return store_q_exec(s, &q, "heard del", e);
}

/* ------------------------------------------------------------------ */
/* silences */

int store_silence_add(struct store *s, const struct store_silence *si,
                      int64_t *id, struct err *e)
{
    struct q q;

    if (store_q_write(s, Q_SILENCE_ADD, &q, "silence add", e) < 0)
        return -1;
    store_bind_text(q.st, 1, si->matchers);
    sqlite3_bind_double(q.st, 2, si->starts);
    sqlite3_bind_double(q.st, 3, si->ends);
    store_bind_text(q.st, 4, si->comment ? si->comment : "");
    store_bind_text(q.st, 5, si->created_by ? si->created_by : "");
    if (store_q_exec(s, &q, "silence add", e) < 0)
        return -1;
    if (id != NULL)
        *id = sqlite3_last_insert_rowid(s->db);
    return 0;
}

int store_silence_expire(struct store *s, int64_t id, double now, struct err *e)
{
    struct q q;

    if (store_q_write(s, Q_SILENCE_EXPIRE, &q, "silence expire", e) < 0)
        return -1;
    sqlite3_bind_int64(q.st, 1, id);
    sqlite3_bind_double(q.st, 2, now);
    if (store_q_exec(s, &q, "silence expire", e) < 0)
        return -1;
    return sqlite3_changes(s->db) > 0 ? 0 : 1;
}

struct silence_walk {
    store_silence_fn cb;
    void *ctx;
};

static int silence_row(sqlite3_stmt *st, void *arg)
{
    const struct silence_walk *w = arg;
    struct store_silence si;

    si.id = sqlite3_column_int64(st, 0);
    si.matchers = store_col_text(st, 1);
    si.starts = sqlite3_column_double(st, 2);
    si.ends = sqlite3_column_double(st, 3);
    si.comment = store_col_text(st, 4);
    si.created_by = store_col_text(st, 5);
    return w->cb(w->ctx, &si);
}

int store_silences_foreach(struct store *s, double active_at,
                           store_silence_fn cb, void *ctx, struct err *e)
{
    struct silence_walk w = {cb, ctx};
    struct q q;

    if (store_q_get(s, active_at < 0 ? Q_SILENCES_ALL : Q_SILENCES_ACTIVE, &q,
                    "silences read", e) < 0)
        return -1;
    if (active_at >= 0)
        sqlite3_bind_double(q.st, 1, active_at);
    return store_q_rows(s, &q, silence_row, &w, "silences read", e);
}

int store_silence_next_start(struct store *s, double after, double *t,
                             struct err *e)
{
    struct q q;
    int rc;

    *t = INFINITY;
    if (store_q_get(s, Q_SILENCE_NEXT_START, &q, "silences read", e) < 0)
        return -1;
    sqlite3_bind_double(q.st, 1, after);
    rc = store_q_step(s, &q, "silences read", e);
    if (rc < 0)
        return -1;
    if (rc == SQLITE_ROW && sqlite3_column_type(q.st, 0) != SQLITE_NULL)
        *t = sqlite3_column_double(q.st, 0);
    store_q_done(&q);
    return 0;
}

/* ------------------------------------------------------------------ */
/* meta */

int store_meta_get(struct store *s, const char *key, char **out, struct err *e)
{
    struct q q;
    int rc;

    *out = NULL;
    if (store_q_get(s, Q_META_GET, &q, "meta get", e) < 0)
        return -1;
    store_bind_text(q.st, 1, key);
    rc = store_q_step(s, &q, "meta get", e);
    if (rc < 0)
        return -1;
    if (rc == SQLITE_ROW)
        *out = xstrdup(store_col_text(q.st, 0));
    store_q_done(&q);
    return rc == SQLITE_ROW ? 0 : 1;
}

int store_meta_number(struct store *s, const char *key, double *out,
                      struct err *e)
{
    char *v = NULL;
    int rc = store_meta_get(s, key, &v, e);

    if (rc == 0 && (v == NULL || util_parse_double(v, out) < 0))
        rc = 1;
    free(v);
    return rc;
}

int store_meta_del(struct store *s, const char *key, struct err *e)
{
    return write_text(s, Q_META_DEL, key, "meta del", e);
}

int store_meta_put(struct store *s, const char *key, const char *value,
                   struct err *e)
{
    struct q q;

    if (store_q_write(s, Q_META_PUT, &q, "meta put", e) < 0)
        return -1;
    store_bind_text(q.st, 1, key);
    store_bind_text(q.st, 2, value ? value : "");
    return store_q_exec(s, &q, "meta put", e);
}
