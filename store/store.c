/* store.c - the SQLite implementation of store.h: opening (WAL, schema
 * migration, refusal of newer/corrupt/read-only stores), transactions and
 * the cache of prepared statements with the error reporting every table's
 * operations share (store_int.h). The tables' operations are in
 * store_history.c and store_outbox.c. Called by the pipeline (the writer),
 * the dispatcher thread and the read-only commands.
 *
 * Threads: one struct store is one connection, opened SQLITE_OPEN_NOMUTEX; it
 * must be used by one thread at a time. Each thread opens its own store. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sqlite3.h>

#include "../common/buf.h"
#include "../common/util.h"
#include "store.h"
#include "store_int.h"

/* Several connections share the file (writer, dispatcher, CLI readers); a
 * writer holds the lock for one batch, far below this. */
#define STORE_BUSY_TIMEOUT_MS 5000

/* Outbox rows are read joined to their event: a payload stored as "@REST"
 * stands for {"event":<the event's json>REST (see store_outbox_add). */
#define OUTBOX_COLS                                                            \
    "o.id, o.key, o.event_id, o.receiver, o.fingerprint, o.rule, o.kind, "     \
    "o.payload, o.status, o.attempts, o.created, o.next_at, o.updated, "       \
    "o.last_error, o.last_code, e.json"
#define OUTBOX_JOIN                                                            \
    " LEFT JOIN events e ON e.id = o.event_id AND substr(o.payload, 1, 1) = "  \
    "'@'"
#define SILENCE_COLS "id, matchers, starts, ends, comment, created_by"

static const char *const stmt_sql[Q_COUNT] = {
    /* Upserts rather than INSERT OR REPLACE: REPLACE deletes the row and
     * appends it under a new rowid, dirtying two table pages and the key
     * index for every update; an upsert rewrites the row in place. */
    [Q_SERIES_PUT] = "INSERT INTO series(key, rule, fingerprint, blob, "
                     "updated) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(key) "
                     "DO UPDATE SET rule = excluded.rule, fingerprint = "
                     "excluded.fingerprint, blob = excluded.blob, updated = "
                     "excluded.updated",
    [Q_SERIES_DEL] = "DELETE FROM series WHERE key = ?1",
    [Q_SERIES_DEL_RULE] = "DELETE FROM series WHERE rule = ?1",
    [Q_SERIES_ALL] = "SELECT key, blob FROM series ORDER BY key",
    [Q_ALERT_PUT] = "INSERT INTO alerts(fingerprint, rule, labels_json, "
                    "severity, since, value, updated, reason) VALUES (?1, ?2, "
                    "?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT(fingerprint) DO "
                    "UPDATE SET rule = excluded.rule, labels_json = "
                    "excluded.labels_json, severity = excluded.severity, "
                    "since = excluded.since, value = excluded.value, updated "
                    "= excluded.updated, reason = excluded.reason",
    [Q_ALERT_DEL] = "DELETE FROM alerts WHERE fingerprint = ?1",
    [Q_ALERTS_ALL] =
        "SELECT fingerprint, rule, labels_json, severity, since, value, "
        "updated, reason FROM alerts ORDER BY CASE severity "
        "WHEN 'critical' THEN 0 WHEN 'warning' THEN 1 WHEN 'info' THEN 2 "
        "ELSE 3 END, since, fingerprint",
    [Q_EVENT_ADD] = "INSERT INTO events(ts, rule, fingerprint, event, "
                    "severity, previous, json, silenced) "
                    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [Q_EVENTS_SINCE] = "SELECT id, ts, rule, fingerprint, event, severity, "
                       "previous, json, silenced FROM events WHERE ts >= ?1 "
                       "ORDER BY ts, id",
    [Q_EVENTS_RULE_SINCE] =
        "SELECT id, ts, rule, fingerprint, event, severity, previous, json, "
        "silenced FROM events WHERE rule = ?2 AND ts >= ?1 ORDER BY ts, id",
    [Q_OUTBOX_ADD] =
        "INSERT OR IGNORE INTO outbox(key, event_id, receiver, fingerprint, "
        "rule, kind, payload, status, attempts, created, next_at, updated, "
        "last_error, last_code) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, "
        "?10, ?11, ?12, ?13, ?14)",
    [Q_OUTBOX_KEY_ID] = "SELECT id FROM outbox WHERE key = ?1",
    /* "status = 0" literally, so that the partial index outbox_pending
     * serves it (a bound parameter would not). */
    [Q_OUTBOX_PENDING] = "SELECT " OUTBOX_COLS " FROM outbox o" OUTBOX_JOIN
                         " WHERE o.status = 0 ORDER BY o.id LIMIT ?1",
    [Q_OUTBOX_PENDING_AFTER] =
        "SELECT " OUTBOX_COLS " FROM outbox o" OUTBOX_JOIN
        " WHERE o.status = 0 AND o.id > ?2"
        " ORDER BY o.id LIMIT ?1",
    [Q_OUTBOX_ONE] =
        "SELECT " OUTBOX_COLS " FROM outbox o" OUTBOX_JOIN " WHERE o.id = ?1",
    [Q_OUTBOX_UPDATE] = "UPDATE outbox SET status = ?2, attempts = ?3, "
                        "next_at = ?4, last_error = ?5, last_code = ?6, "
                        "updated = ?7 WHERE id = ?1",
    [Q_OUTBOX_COUNT] = "SELECT status, count(*) FROM outbox GROUP BY status",
    [Q_OUTBOX_COUNT_PENDING] = "SELECT count(*) FROM outbox WHERE status = 0",
    /* The pending rows only (the partial index), never the whole outbox. */
    [Q_OUTBOX_PENDING_PAIRS] = "SELECT DISTINCT fingerprint, receiver FROM "
                               "outbox INDEXED BY outbox_pending WHERE "
                               "status = 0",
    /* Left to itself the planner scans the whole outbox in id order (no
     * statistics); the created index reads only the recent rows, which
     * are then sorted: /metrics asks for the last minute on every scrape. */
    [Q_OUTBOX_SINCE] = "SELECT " OUTBOX_COLS " FROM outbox o INDEXED BY "
                       "outbox_created" OUTBOX_JOIN " WHERE o.created >= ?1 "
                       "ORDER BY o.id",
    /* A notification held back (status 4, skipped) queued again as a new
     * row (the dispatcher takes rows newer than those it holds). */
    [Q_OUTBOX_REQUEUE] =
        "INSERT OR IGNORE INTO outbox(key, event_id, receiver, fingerprint, "
        "rule, kind, payload, status, attempts, created, next_at, updated) "
        "SELECT ?2, event_id, receiver, fingerprint, rule, kind, payload, 0, "
        "0, ?3, 0, ?3 FROM outbox WHERE id = ?1 AND status = 4",
    [Q_HEARD_PUT] = "INSERT INTO heard(fingerprint, receiver, "
                    "last_notified, repeat_interval) VALUES (?1, ?2, ?3, ?4) "
                    "ON CONFLICT(fingerprint, receiver) DO UPDATE SET "
                    "last_notified = excluded.last_notified, repeat_interval "
                    "= excluded.repeat_interval",
    [Q_HEARD_ALL] = "SELECT fingerprint, receiver, last_notified, "
                    "repeat_interval FROM heard ORDER BY fingerprint, receiver",
    [Q_HEARD_FP] = "SELECT fingerprint, receiver, last_notified, "
                   "repeat_interval FROM heard WHERE fingerprint = ?1 "
                   "ORDER BY receiver",
    [Q_HEARD_CLEAR] = "DELETE FROM heard WHERE fingerprint = ?1",
    [Q_HEARD_DEL] =
        "DELETE FROM heard WHERE fingerprint = ?1 AND receiver = ?2",
    /* Outbox row ?1, its receiver's first notification of the alert's
     * episode, was silenced when due: unless a later one was queued since
     * (the heard row would carry that later time), the receiver was never
     * notified (?2, -inf). */
    [Q_HEARD_UNSENT] =
        "UPDATE heard SET last_notified = ?2 "
        "WHERE (fingerprint, receiver, last_notified) = "
        "(SELECT fingerprint, receiver, created FROM outbox WHERE id = ?1)",
    [Q_SILENCE_ADD] = "INSERT INTO silences(matchers, starts, ends, comment, "
                      "created_by) VALUES (?1, ?2, ?3, ?4, ?5)",
    [Q_SILENCE_EXPIRE] =
        "UPDATE silences SET ends = ?2, starts = min(starts, ?2) WHERE id = ?1 "
        "AND ends > ?2",
    [Q_SILENCES_ALL] = "SELECT " SILENCE_COLS " FROM silences ORDER BY id",
    [Q_SILENCES_ACTIVE] = "SELECT " SILENCE_COLS " FROM silences WHERE "
                          "starts <= ?1 AND ends > ?1 ORDER BY id",
    [Q_SILENCE_NEXT_START] = "SELECT min(starts) FROM silences WHERE "
                             "starts > ?1 AND ends > starts",
    [Q_META_GET] = "SELECT value FROM meta WHERE key = ?1",
    [Q_META_PUT] = "INSERT OR REPLACE INTO meta(key, value) VALUES (?1, ?2)",
    [Q_META_DEL] = "DELETE FROM meta WHERE key = ?1",
};

static int primary(int rc)
{
    return rc & 0xff;
}

/* Roll back an open transaction that SQLite may already have abandoned
 * (SQLITE_FULL, I/O errors): later writes must not run in autocommit. */
static void tx_doom(struct store *s, const char *why)
{
    if (s->tx != TX_OPEN)
        return;
    if (!sqlite3_get_autocommit(s->db))
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    snprintf(s->tx_err, sizeof(s->tx_err), "%s", why);
    s->tx = TX_DEAD;
    s->ev_id = 0; /* rolled back: its id may be given to another event */
}

/* Report a failed SQLite call for operation op: "store: op: message", or the
 * full-disk message. st, the failed statement (may be NULL), is reset before
 * a doomed transaction is rolled back. Returns -1. */
int store_fail_st(struct store *s, int rc, const char *op, struct err *e,
                  sqlite3_stmt *st)
{
    char msg[512];
    int p = primary(rc);

    if (p == SQLITE_FULL)
        snprintf(msg, sizeof(msg), "store %s: database or disk is full",
                 s->path);
    else if (p == SQLITE_READONLY)
        snprintf(msg, sizeof(msg), "store %s: %s: %s", s->path, op,
                 sqlite3_errstr(rc));
    else
        snprintf(msg, sizeof(msg), "store: %s: %s", op, sqlite3_errmsg(s->db));
    err_set(e, "%s", msg);
    if (s->tx == TX_OPEN &&
        (p == SQLITE_FULL || p == SQLITE_IOERR || p == SQLITE_NOMEM ||
         p == SQLITE_CORRUPT || p == SQLITE_NOTADB ||
         sqlite3_get_autocommit(s->db))) {
        if (st != NULL)
            sqlite3_reset(st);
        tx_doom(s, msg);
    }
    return -1;
}

static int fail(struct store *s, int rc, const char *op, struct err *e)
{
    return store_fail_st(s, rc, op, e, NULL);
}

int store_q_get(struct store *s, enum stmt_id id, struct q *q, const char *op,
                struct err *e)
{
    sqlite3_stmt *st = s->stmt[id];
    int rc;

    if (st != NULL && !sqlite3_stmt_busy(st)) {
        q->st = st;
        q->owned = 0;
        return 0;
    }
    rc = sqlite3_prepare_v3(s->db, stmt_sql[id], -1,
                            st == NULL ? SQLITE_PREPARE_PERSISTENT : 0, &q->st,
                            NULL);
    if (rc != SQLITE_OK)
        return fail(s, rc, op, e);
    if (st == NULL) {
        s->stmt[id] = q->st;
        q->owned = 0;
    } else {
        q->owned = 1;
    }
    return 0;
}

void store_q_done(struct q *q)
{
    if (q->st == NULL)
        return;
    if (q->owned) {
        sqlite3_finalize(q->st);
    } else {
        sqlite3_reset(q->st);
        sqlite3_clear_bindings(q->st);
    }
    q->st = NULL;
}

/* Writes are refused on a read-only store and inside a transaction that was
 * already rolled back (they would otherwise commit on their own). */
static int wr_check(struct store *s, const char *op, struct err *e)
{
    if (s->mode == STORE_RO) {
        err_set(e, "store %s: %s: opened read-only", s->path, op);
        return -1;
    }
    if (s->tx == TX_DEAD) {
        err_set(e, "store %s: %s: transaction was rolled back: %s", s->path, op,
                s->tx_err);
        return -1;
    }
    return 0;
}

void store_bind_text(sqlite3_stmt *st, int i, const char *v)
{
    if (v == NULL)
        sqlite3_bind_null(st, i);
    else
        sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
}

const char *store_col_text(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? (const char *)t : "";
}

const char *store_col_text_or_null(sqlite3_stmt *st, int i)
{
    if (sqlite3_column_type(st, i) == SQLITE_NULL)
        return NULL;
    return store_col_text(st, i);
}

/* Run a write statement already bound in q to completion. */
int store_q_exec(struct store *s, struct q *q, const char *op, struct err *e)
{
    int rc = sqlite3_step(q->st);

    if (rc != SQLITE_DONE) {
        store_fail_st(s, rc, op, e, q->st);
        store_q_done(q);
        return -1;
    }
    store_q_done(q);
    return 0;
}

int store_q_write(struct store *s, enum stmt_id id, struct q *q, const char *op,
                  struct err *e)
{
    if (wr_check(s, op, e) < 0)
        return -1;
    return store_q_get(s, id, q, op, e);
}

int store_q_step(struct store *s, struct q *q, const char *op, struct err *e)
{
    int rc = sqlite3_step(q->st);

    if (rc == SQLITE_ROW || rc == SQLITE_DONE)
        return rc;
    store_fail_st(s, rc, op, e, q->st);
    store_q_done(q);
    return -1;
}

int store_q_rows(struct store *s, struct q *q, store_row_fn row, void *arg,
                 const char *op, struct err *e)
{
    int rc, ret = 0;

    while ((rc = sqlite3_step(q->st)) == SQLITE_ROW) {
        ret = row(q->st, arg);
        if (ret != 0)
            break;
    }
    if (ret == 0 && rc != SQLITE_DONE) {
        store_fail_st(s, rc, op, e, q->st);
        ret = -1;
    }
    store_q_done(q);
    return ret;
}

/* ------------------------------------------------------------------ */
/* opening */

/* The integer the one-row query sql yields (a PRAGMA, a count) into *v.
 * Returns the sqlite result code. */
static int query_int(sqlite3 *db, const char *sql, int *v)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);

    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            *v = sqlite3_column_int(st, 0);
            rc = SQLITE_OK;
        }
    }
    sqlite3_finalize(st);
    return rc;
}

static int read_user_version(sqlite3 *db, int *v)
{
    return query_int(db, "PRAGMA user_version", v);
}

static int count_objects(sqlite3 *db, int *n)
{
    return query_int(db, "SELECT count(*) FROM sqlite_master", n);
}

static void newer_error(struct err *e, const char *path, int v)
{
    err_set(e,
            "store %s was written by a newer tocsin (schema %d, this one "
            "knows %d)",
            path, v, STORE_SCHEMA_VERSION);
}

/* A negative schema: no tocsin writes that (a damaged or foreign file). */
static void foreign_error(struct err *e, const char *path, int v)
{
    err_set(e,
            "store %s has schema %d, which no tocsin writes (this one knows "
            "%d): not a tocsin store",
            path, v, STORE_SCHEMA_VERSION);
}

/* "file:" URI for path with immutable=1: lets a reader open a WAL store on
 * read-only media after a clean close (no -shm to map). */
static char *immutable_uri(const char *path)
{
    struct buf b;

    buf_init(&b, 0);
    buf_adds(&b, "file:");
    for (const char *p = path; *p; p++) {
        if (*p == '%' || *p == '?' || *p == '#')
            buf_printf(&b, "%%%02X", (unsigned char)*p);
        else
            buf_addc(&b, *p);
    }
    buf_adds(&b, "?immutable=1");
    return buf_steal(&b);
}

static void open_error(struct err *e, const char *path, sqlite3 *db, int rc)
{
    int p = primary(rc);
    const char *msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);

    if (p == SQLITE_NOTADB || p == SQLITE_CORRUPT)
        err_set(e, "store %s is not a valid tocsin store: %s", path, msg);
    else if (p == SQLITE_READONLY)
        err_set(e, "store %s is read-only: %s", path, sqlite3_errstr(rc));
    else if (p == SQLITE_FULL)
        err_set(e, "store %s: database or disk is full", path);
    else
        err_set(e, "store %s: cannot open: %s", path, msg);
}

/* WAL lets the CLI and the dispatcher read while the pipeline writes.
 * synchronous=NORMAL in WAL mode: a committed transaction survives a process
 * crash (kill -9), but the last transactions before a power loss may roll
 * back. FULL (TOCSIN_SYNC=full) also survives power loss, at about twice the
 * commit cost. */
static int configure_rw(sqlite3 *db, int is_mem)
{
    const char *sync = getenv("TOCSIN_SYNC");
    int rc;

    if (!is_mem) {
        rc = sqlite3_exec(db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL);
        if (rc != SQLITE_OK)
            return rc;
    }
    /* Checkpoints are where WAL+NORMAL pays its fsyncs: every 1000 pages
     * (the default, ~4 MB) costs a third of the throughput at thousands of
     * events a second. 16k pages (~64 MB of WAL) and a 16 MB page cache
     * keep batches of 1000 events + outbox rows above 50k/s. */
    rc = sqlite3_exec(db,
                      "PRAGMA wal_autocheckpoint=16384;"
                      "PRAGMA cache_size=-16384",
                      NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return rc;
    if (sync != NULL && strcmp(sync, "full") == 0)
        rc = sqlite3_exec(db, "PRAGMA synchronous=FULL", NULL, NULL, NULL);
    else
        rc = sqlite3_exec(db, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL);
    return rc;
}

/* Bring a RW store to STORE_SCHEMA_VERSION in one transaction. With nothing
 * to migrate, BEGIN IMMEDIATE + ROLLBACK still proves the file is writable
 * now rather than at the first event. */
static int migrate_rw(sqlite3 *db, const char *path, struct err *e)
{
    int rc, v = 0;

    rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        open_error(e, path, db, rc);
        return -1;
    }
    /* Re-read under the write lock: another process may have migrated. */
    rc = read_user_version(db, &v);
    if (rc != SQLITE_OK) {
        open_error(e, path, db, rc);
        goto err;
    }
    if (v > STORE_SCHEMA_VERSION) {
        newer_error(e, path, v);
        goto err;
    }
    if (v < 0) {
        foreign_error(e, path, v);
        goto err;
    }
    if (v == STORE_SCHEMA_VERSION) {
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        return 0;
    }
    rc = store_schema_migrate(db, v, path, e);
    if (rc != SQLITE_OK)
        goto err;
    rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        open_error(e, path, db, rc);
        goto err;
    }
    if (v > 0)
        fprintf(stderr, "store %s: migrated schema %d -> %d\n", path, v,
                STORE_SCHEMA_VERSION);
    return 0;
err:
    if (!sqlite3_get_autocommit(db))
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return -1;
}

/* Before the first open: SQLite's memory statistics take a global mutex on
 * every allocation, and nothing here reads them. */
static void sqlite_config_once(void)
{
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

static sqlite3 *open_db(const char *path, enum store_mode mode, int uri,
                        struct err *e)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    sqlite3 *db = NULL;
    int flags = SQLITE_OPEN_NOMUTEX;
    int rc;

    pthread_once(&once, sqlite_config_once);

    flags |= mode == STORE_RO ? SQLITE_OPEN_READONLY
                              : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    if (uri)
        flags |= SQLITE_OPEN_URI;
    rc = sqlite3_open_v2(path, &db, flags, NULL);
    if (rc != SQLITE_OK) {
        open_error(e, path, db, rc);
        sqlite3_close(db);
        return NULL;
    }
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, STORE_BUSY_TIMEOUT_MS);
    return db;
}

struct store *store_open(const char *path, enum store_mode mode, struct err *e)
{
    struct store *s = NULL;
    sqlite3 *db = NULL;
    struct stat sb;
    int is_mem, rc, v = 0, n = 0;

    if (path == NULL || path[0] == '\0') {
        err_set(e, "store: no path given");
        return NULL;
    }
    is_mem = strcmp(path, ":memory:") == 0;
    if (mode == STORE_RO && !is_mem && stat(path, &sb) != 0) {
        if (errno == ENOENT)
            err_set(e, "store %s does not exist", path);
        else
            err_set(e, "store %s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    if (!is_mem && stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        err_set(e, "store %s: cannot open: is a directory", path);
        return NULL;
    }
    db = open_db(path, mode, 0, e);
    if (db == NULL)
        return NULL;
    rc = read_user_version(db, &v);
    /* A folder this user cannot write: no -shm can be made next to the
     * store (CANTOPEN, or READONLY from SQLite 3.40). Read it as it was
     * last closed. */
    if ((primary(rc) == SQLITE_CANTOPEN || primary(rc) == SQLITE_READONLY) &&
        mode == STORE_RO) {
        char *uri = immutable_uri(path);
        struct err e2 = {0};

        sqlite3_close(db);
        db = uri ? open_db(uri, mode, 1, &e2) : NULL;
        free(uri);
        rc = db ? read_user_version(db, &v) : SQLITE_CANTOPEN;
    }
    if (rc != SQLITE_OK && mode == STORE_RW &&
        sqlite3_db_readonly(db, "main") == 1) {
        /* A WAL store on read-only media cannot even be read without -shm;
         * the real problem is that it cannot be written. */
        err_set(e, "store %s is read-only: cannot open it for writing", path);
        goto err;
    }
    if (rc != SQLITE_OK) {
        open_error(e, path, db, rc);
        goto err;
    }
    if (v > STORE_SCHEMA_VERSION) {
        newer_error(e, path, v);
        goto err;
    }
    rc = count_objects(db, &n);
    if (rc != SQLITE_OK) {
        open_error(e, path, db, rc);
        goto err;
    }
    if (v == 0 && n > 0) {
        err_set(e, "store %s is an SQLite database but not a tocsin store",
                path);
        goto err;
    }
    if (mode == STORE_RO) {
        if (v < 0) {
            foreign_error(e, path, v);
            goto err;
        }
        if (v == 0) {
            err_set(e,
                    "store %s is not a tocsin store yet (empty; `tocsin "
                    "run` or `tocsin eval --store` creates it)",
                    path);
            goto err;
        }
        if (v < STORE_RO_MIN_VERSION) {
            err_set(e,
                    "store %s has schema %d, too old to read (this tocsin "
                    "knows %d; open it with `tocsin run` to migrate)",
                    path, v, STORE_SCHEMA_VERSION);
            goto err;
        }
    } else {
        if (sqlite3_db_readonly(db, "main") == 1) {
            err_set(e, "store %s is read-only: cannot open it for writing",
                    path);
            goto err;
        }
        rc = configure_rw(db, is_mem);
        if (rc != SQLITE_OK) {
            if (primary(rc) == SQLITE_CANTOPEN)
                err_set(e, "store %s is not writable: %s", path,
                        sqlite3_errmsg(db));
            else
                open_error(e, path, db, rc);
            goto err;
        }
        if (migrate_rw(db, path, e) < 0)
            goto err;
    }
    s = xcalloc(1, sizeof(*s));
    buf_init(&s->ev_json, 0);
    buf_init(&s->pl, 0);
    s->db = db;
    s->path = xstrdup(path);
    s->mode = mode;
    return s;
err:
    sqlite3_close(db);
    return NULL;
}

void store_close(struct store *s)
{
    if (s == NULL)
        return;
    if (s->tx == TX_OPEN && !sqlite3_get_autocommit(s->db))
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    for (int i = 0; i < Q_COUNT; i++)
        sqlite3_finalize(s->stmt[i]);
    sqlite3_close(s->db);
    buf_cleanup(&s->ev_json);
    buf_cleanup(&s->pl);
    free(s->path);
    free(s);
}

/* PRAGMA name = v on s's connection. 0 or -1. */
static int pragma_set(struct store *s, const char *name, long v)
{
    char sql[96];

    snprintf(sql, sizeof(sql), "PRAGMA %s = %ld", name, v);
    return sqlite3_exec(s->db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

int store_cache_limit(struct store *s, long kib)
{
    return pragma_set(s, "cache_size", -kib); /* negative: KiB */
}

int store_set_max_pages(struct store *s, long pages)
{
    return pragma_set(s, "max_page_count", pages);
}

/* ------------------------------------------------------------------ */
/* transactions */

/* BEGIN IMMEDIATE; without wait, 1 at once when another connection holds
 * the write lock. */
static int begin(struct store *s, bool wait, struct err *e)
{
    int rc;

    if (s->tx != TX_NONE) {
        err_set(e, "store: begin: a transaction is already open");
        return -1;
    }
    if (wr_check(s, "begin", e) < 0)
        return -1;
    if (!wait)
        sqlite3_busy_timeout(s->db, 0);
    rc = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    if (!wait) {
        sqlite3_busy_timeout(s->db, STORE_BUSY_TIMEOUT_MS);
        if ((rc & 0xff) == SQLITE_BUSY)
            return 1;
    }
    if (rc != SQLITE_OK)
        return fail(s, rc, "begin", e);
    s->tx = TX_OPEN;
    s->tx_now = util_now();
    return 0;
}

int store_begin(struct store *s, struct err *e)
{
    return begin(s, true, e);
}

int store_begin_nowait(struct store *s, struct err *e)
{
    return begin(s, false, e);
}

int store_commit(struct store *s, struct err *e)
{
    int rc;

    if (s->tx == TX_DEAD) {
        err_set(e, "%s", s->tx_err);
        s->tx = TX_NONE;
        return -1;
    }
    if (s->tx != TX_OPEN) {
        err_set(e, "store: commit: no transaction is open");
        return -1;
    }
    rc = sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        /* Nothing half-written: give up the whole batch. */
        fail(s, rc, "commit", e);
        if (!sqlite3_get_autocommit(s->db))
            sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        s->tx = TX_NONE;
        s->ev_id = 0;
        return -1;
    }
    s->tx = TX_NONE;
    return 0;
}

void store_rollback(struct store *s)
{
    if (s == NULL)
        return;
    if (s->tx == TX_OPEN && !sqlite3_get_autocommit(s->db))
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    s->tx = TX_NONE;
    s->ev_id = 0;
}
