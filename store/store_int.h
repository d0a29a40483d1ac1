/* store_int.h - internals shared by the files of store/: store.c (opening,
 * transactions, the statement cache and error reporting), store_history.c
 * and store_outbox.c (the tables' operations) and schema.c (the versioned
 * schema and its migrations). Not for use outside store/. */
#ifndef TOCSIN_STORE_INT_H
#define TOCSIN_STORE_INT_H

#include <stdint.h>

#include <sqlite3.h>

#include "../common/buf.h"
#include "../common/err.h"
#include "store.h"

/* The migration scripts: store_migrations[v] takes a store from schema v to
 * v + 1. STORE_SCHEMA_VERSION entries. */
extern const char *const store_migrations[];

/* Oldest schema a STORE_RO reader can still read without migrating. */
#define STORE_RO_MIN_VERSION 1

/* Apply every migration from version `from` to STORE_SCHEMA_VERSION inside
 * the caller's transaction, then set PRAGMA user_version. Returns the
 * sqlite result code (SQLITE_OK on success) and fills e on failure. */
int store_schema_migrate(sqlite3 *db, int from, const char *path,
                         struct err *e);

/* The cached statements; their SQL is store.c's stmt_sql. */
enum stmt_id {
    Q_SERIES_PUT,
    Q_SERIES_DEL,
    Q_SERIES_DEL_RULE,
    Q_SERIES_ALL,
    Q_ALERT_PUT,
    Q_ALERT_DEL,
    Q_ALERTS_ALL,
    Q_EVENT_ADD,
    Q_EVENTS_SINCE,
    Q_EVENTS_RULE_SINCE,
    Q_OUTBOX_ADD,
    Q_OUTBOX_KEY_ID,
    Q_OUTBOX_PENDING,
    Q_OUTBOX_PENDING_AFTER,
    Q_OUTBOX_ONE,
    Q_OUTBOX_UPDATE,
    Q_OUTBOX_COUNT,
    Q_OUTBOX_COUNT_PENDING,
    Q_OUTBOX_PENDING_PAIRS,
    Q_OUTBOX_SINCE,
    Q_OUTBOX_REQUEUE,
    Q_HEARD_PUT,
    Q_HEARD_ALL,
    Q_HEARD_FP,
    Q_HEARD_CLEAR,
    Q_HEARD_DEL,
    Q_HEARD_UNSENT,
    Q_SILENCE_ADD,
    Q_SILENCE_EXPIRE,
    Q_SILENCES_ALL,
    Q_SILENCES_ACTIVE,
    Q_SILENCE_NEXT_START,
    Q_META_GET,
    Q_META_PUT,
    Q_META_DEL,
    Q_COUNT
};

enum tx_state {
    TX_NONE = 0,
    TX_OPEN,
    TX_DEAD, /* rolled back after a failed write; commit must fail */
};

struct store {
    sqlite3 *db;
    char *path;
    enum store_mode mode;
    enum tx_state tx;
    char tx_err[512];   /* why a TX_DEAD transaction was rolled back */
    double tx_now;      /* util_now() at store_begin: `updated` of its rows */
    int64_t ev_id;      /* the last event this connection added (0: none) */
    struct buf ev_json; /* its json, to recognise payloads that embed it */
    struct buf pl;      /* a compacted payload being written */
    sqlite3_stmt *stmt[Q_COUNT];
};

/* A statement in use: the cached one, or a private copy when the cached one
 * is still stepping (a foreach callback calling the same query). */
struct q {
    sqlite3_stmt *st;
    int owned;
};

/* Report a failed SQLite call rc for operation op into e: "store: op:
 * message", or the full-disk / read-only message. When the failure dooms an
 * open transaction it is rolled back (st, the failed statement, may be NULL;
 * it is reset first) and later writes and the commit fail. Returns -1. */
int store_fail_st(struct store *s, int rc, const char *op, struct err *e,
                  sqlite3_stmt *st);

/* Statement id into q: the cached one, or a private copy while the cached
 * one is still stepping. Returns 0, or -1 with e filled (as op). Release
 * with store_q_done. */
int store_q_get(struct store *s, enum stmt_id id, struct q *q, const char *op,
                struct err *e);

/* store_q_get for a write: first refused (-1, e filled) on a read-only
 * store or inside a transaction that was already rolled back. */
int store_q_write(struct store *s, enum stmt_id id, struct q *q, const char *op,
                  struct err *e);

/* Release q: reset and unbind the cached statement, or finalize a copy.
 * Safe to call twice. */
void store_q_done(struct q *q);

/* Run the write statement bound in q to completion and release q.
 * Returns 0, or -1 with e filled (as op). */
int store_q_exec(struct store *s, struct q *q, const char *op, struct err *e);

/* Step q once. Returns SQLITE_ROW or SQLITE_DONE (q still held: the caller
 * reads the row, then calls store_q_done), or -1 after an error, with e
 * filled (as op) and q released. */
int store_q_step(struct store *s, struct q *q, const char *op, struct err *e);

/* Called by store_q_rows for each row of st; a nonzero return stops the
 * walk and is returned. */
typedef int (*store_row_fn)(sqlite3_stmt *st, void *arg);

/* Step q through all its rows, calling row(st, arg) for each, and release
 * q. Returns 0 after the last row, row's nonzero return when it stopped the
 * walk, or -1 after an SQLite error (e filled, as op). */
int store_q_rows(struct store *s, struct q *q, store_row_fn row, void *arg,
                 const char *op, struct err *e);

/* Bind text v (NULL: SQL NULL) to parameter i; v must outlive the step. */
void store_bind_text(sqlite3_stmt *st, int i, const char *v);

/* Column i as text: "" for NULL (store_col_text) or NULL for NULL
 * (store_col_text_or_null). Valid until the statement steps again. */
const char *store_col_text(sqlite3_stmt *st, int i);
const char *store_col_text_or_null(sqlite3_stmt *st, int i);

#endif
