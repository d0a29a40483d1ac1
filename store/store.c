/* store.c - the SQLite implementation of store.h: opening (WAL, schema
 * migration, refusal of newer/corrupt/read-only stores), transactions and
 * every table's operations through cached prepared statements. Called by the
 * pipeline (the writer), the dispatcher thread and the read-only commands.
 *
 * Threads: one struct store is one connection, opened SQLITE_OPEN_NOMUTEX; it
 * must be used by one thread at a time. Each thread opens its own store. */
#include <errno.h>
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

enum stmt_id {
    Q_SERIES_PUT,
    Q_SERIES_DEL,
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
    Q_OUTBOX_SINCE,
    Q_HEARD_PUT,
    Q_HEARD_ALL,
    Q_HEARD_FP,
    Q_HEARD_CLEAR,
    Q_SILENCE_ADD,
    Q_SILENCE_EXPIRE,
    Q_SILENCES_ALL,
    Q_SILENCES_ACTIVE,
    Q_META_GET,
    Q_META_PUT,
    Q_COUNT
};

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
    [Q_OUTBOX_PENDING_AFTER] = "SELECT " OUTBOX_COLS " FROM outbox o"
                               OUTBOX_JOIN " WHERE o.status = 0 AND o.id > ?2"
                               " ORDER BY o.id LIMIT ?1",
    [Q_OUTBOX_ONE] = "SELECT " OUTBOX_COLS " FROM outbox o" OUTBOX_JOIN
                     " WHERE o.id = ?1",
    [Q_OUTBOX_UPDATE] = "UPDATE outbox SET status = ?2, attempts = ?3, "
                        "next_at = ?4, last_error = ?5, last_code = ?6, "
                        "updated = ?7 WHERE id = ?1",
    [Q_OUTBOX_COUNT] = "SELECT count(*) FROM outbox WHERE status = ?1",
    [Q_OUTBOX_COUNT_PENDING] = "SELECT count(*) FROM outbox WHERE status = 0",
    /* Left to itself the planner scans the whole outbox in id order (no
     * statistics); the created index reads only the recent rows, which
     * are then sorted: /metrics asks for the last minute on every scrape. */
    [Q_OUTBOX_SINCE] = "SELECT " OUTBOX_COLS " FROM outbox o INDEXED BY "
                       "outbox_created" OUTBOX_JOIN " WHERE o.created >= ?1 "
                       "ORDER BY o.id",
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
    [Q_SILENCE_ADD] = "INSERT INTO silences(matchers, starts, ends, comment, "
                      "created_by) VALUES (?1, ?2, ?3, ?4, ?5)",
    [Q_SILENCE_EXPIRE] =
        "UPDATE silences SET ends = ?2 WHERE id = ?1 AND ends > ?2",
    [Q_SILENCES_ALL] = "SELECT " SILENCE_COLS " FROM silences ORDER BY id",
    [Q_SILENCES_ACTIVE] = "SELECT " SILENCE_COLS " FROM silences WHERE "
                          "starts <= ?1 AND ends > ?1 ORDER BY id",
    [Q_META_GET] = "SELECT value FROM meta WHERE key = ?1",
    [Q_META_PUT] = "INSERT OR REPLACE INTO meta(key, value) VALUES (?1, ?2)",
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
    char tx_err[512]; /* why a TX_DEAD transaction was rolled back */
    double tx_now;    /* util_now() at store_begin: `updated` of its rows */
    int64_t ev_id;    /* the last event this connection added (0: none) */
    struct buf ev_json; /* its json, to recognise payloads that embed it */
    struct buf pl;    /* a compacted payload being written */
    sqlite3_stmt *stmt[Q_COUNT];
};

/* A statement in use: the cached one, or a private copy when the cached one
 * is still stepping (a foreach callback calling the same query). */
struct q {
    sqlite3_stmt *st;
    int owned;
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
static int fail_st(struct store *s, int rc, const char *op, struct err *e,
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
    return fail_st(s, rc, op, e, NULL);
}

static int q_get(struct store *s, enum stmt_id id, struct q *q, const char *op,
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

static void q_done(struct q *q)
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

static void bind_text(sqlite3_stmt *st, int i, const char *v)
{
    if (v == NULL)
        sqlite3_bind_null(st, i);
    else
        sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
}

static const char *col_text(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? (const char *)t : "";
}

static const char *col_text_or_null(sqlite3_stmt *st, int i)
{
    if (sqlite3_column_type(st, i) == SQLITE_NULL)
        return NULL;
    return col_text(st, i);
}

/* Run a write statement already bound in q to completion. */
static int q_exec(struct store *s, struct q *q, const char *op, struct err *e)
{
    int rc = sqlite3_step(q->st);

    if (rc != SQLITE_DONE) {
        fail_st(s, rc, op, e, q->st);
        q_done(q);
        return -1;
    }
    q_done(q);
    return 0;
}

/* ------------------------------------------------------------------ */
/* opening */

static int read_user_version(sqlite3 *db, int *v)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL);

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

static int count_objects(sqlite3 *db, int *n)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_master", -1,
                                &st, NULL);

    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            *n = sqlite3_column_int(st, 0);
            rc = SQLITE_OK;
        }
    }
    sqlite3_finalize(st);
    return rc;
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
        err_set(e,
                "store %s was written by a newer tocsin (schema %d, this one "
                "knows %d)",
                path, v, STORE_SCHEMA_VERSION);
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

static sqlite3 *open_db(const char *path, enum store_mode mode, int uri,
                        struct err *e)
{
    sqlite3 *db = NULL;
    int flags = SQLITE_OPEN_NOMUTEX;
    int rc;

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
    if (primary(rc) == SQLITE_CANTOPEN && mode == STORE_RO) {
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
        err_set(e,
                "store %s was written by a newer tocsin (schema %d, this one "
                "knows %d)",
                path, v, STORE_SCHEMA_VERSION);
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

int store_set_max_pages(struct store *s, long pages)
{
    char sql[64];

    snprintf(sql, sizeof(sql), "PRAGMA max_page_count = %ld", pages);
    return sqlite3_exec(s->db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

/* ------------------------------------------------------------------ */
/* transactions */

int store_begin(struct store *s, struct err *e)
{
    int rc;

    if (s->tx != TX_NONE) {
        err_set(e, "store: begin: a transaction is already open");
        return -1;
    }
    if (wr_check(s, "begin", e) < 0)
        return -1;
    rc = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return fail(s, rc, "begin", e);
    s->tx = TX_OPEN;
    s->tx_now = util_now();
    return 0;
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

/* ------------------------------------------------------------------ */
/* series */

int store_series_put(struct store *s, const char *key, const char *rule,
                     const char *fingerprint, const void *blob, size_t len,
                     struct err *e)
{
    struct q q;

    if (wr_check(s, "series put", e) < 0 ||
        q_get(s, Q_SERIES_PUT, &q, "series put", e) < 0)
        return -1;
    bind_text(q.st, 1, key);
    bind_text(q.st, 2, rule);
    bind_text(q.st, 3, fingerprint ? fingerprint : "");
    sqlite3_bind_blob64(q.st, 4, blob ? blob : "", len, SQLITE_STATIC);
    /* One clock read per transaction, not per row (thousands of series
     * are saved in one). */
    sqlite3_bind_double(q.st, 5, s->tx == TX_OPEN ? s->tx_now : util_now());
    return q_exec(s, &q, "series put", e);
}

int store_series_del(struct store *s, const char *key, struct err *e)
{
    struct q q;

    if (wr_check(s, "series delete", e) < 0 ||
        q_get(s, Q_SERIES_DEL, &q, "series delete", e) < 0)
        return -1;
    bind_text(q.st, 1, key);
    return q_exec(s, &q, "series delete", e);
}

int store_series_foreach(struct store *s, store_series_fn cb, void *ctx,
                         struct err *e)
{
    static const unsigned char empty[1];
    struct q q;
    int rc, r;

    if (q_get(s, Q_SERIES_ALL, &q, "series read", e) < 0)
        return -1;
    while ((rc = sqlite3_step(q.st)) == SQLITE_ROW) {
        const void *blob = sqlite3_column_blob(q.st, 1);
        size_t len = (size_t)sqlite3_column_bytes(q.st, 1);

        r = cb(ctx, col_text(q.st, 0), blob ? blob : empty, len);
        if (r != 0) {
            q_done(&q);
            return r;
        }
    }
    if (rc != SQLITE_DONE)
        fail_st(s, rc, "series read", e, q.st);
    q_done(&q);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* ------------------------------------------------------------------ */
/* alerts */

int store_alert_put(struct store *s, const struct store_alert *a, struct err *e)
{
    struct q q;

    if (wr_check(s, "alert put", e) < 0 ||
        q_get(s, Q_ALERT_PUT, &q, "alert put", e) < 0)
        return -1;
    bind_text(q.st, 1, a->fingerprint);
    bind_text(q.st, 2, a->rule);
    bind_text(q.st, 3, a->labels_json ? a->labels_json : "{}");
    bind_text(q.st, 4, a->severity);
    sqlite3_bind_double(q.st, 5, a->since);
    if (a->has_value)
        sqlite3_bind_double(q.st, 6, a->value);
    else
        sqlite3_bind_null(q.st, 6);
    sqlite3_bind_double(q.st, 7, a->updated);
    bind_text(q.st, 8, a->reason);
    return q_exec(s, &q, "alert put", e);
}

int store_alert_del(struct store *s, const char *fingerprint, struct err *e)
{
    struct q q;

    if (wr_check(s, "alert delete", e) < 0 ||
        q_get(s, Q_ALERT_DEL, &q, "alert delete", e) < 0)
        return -1;
    bind_text(q.st, 1, fingerprint);
    return q_exec(s, &q, "alert delete", e);
}

int store_alerts_foreach(struct store *s, store_alert_fn cb, void *ctx,
                         struct err *e)
{
    struct store_alert a;
    struct q q;
    int rc, r;

    if (q_get(s, Q_ALERTS_ALL, &q, "alerts read", e) < 0)
        return -1;
    while ((rc = sqlite3_step(q.st)) == SQLITE_ROW) {
        a.fingerprint = col_text(q.st, 0);
        a.rule = col_text(q.st, 1);
        a.labels_json = col_text(q.st, 2);
        a.severity = col_text(q.st, 3);
        a.since = sqlite3_column_double(q.st, 4);
        a.has_value = sqlite3_column_type(q.st, 5) != SQLITE_NULL;
        a.value = a.has_value ? sqlite3_column_double(q.st, 5) : 0;
        a.updated = sqlite3_column_double(q.st, 6);
        a.reason = col_text_or_null(q.st, 7);
        r = cb(ctx, &a);
        if (r != 0) {
            q_done(&q);
            return r;
        }
    }
    if (rc != SQLITE_DONE)
        fail_st(s, rc, "alerts read", e, q.st);
    q_done(&q);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* ------------------------------------------------------------------ */
/* history */

int store_event_add(struct store *s, const struct store_event *ev, int64_t *id,
                    struct err *e)
{
    struct q q;

    if (wr_check(s, "event add", e) < 0 ||
        q_get(s, Q_EVENT_ADD, &q, "event add", e) < 0)
        return -1;
    sqlite3_bind_double(q.st, 1, ev->ts);
    bind_text(q.st, 2, ev->rule);
    bind_text(q.st, 3, ev->fingerprint);
    bind_text(q.st, 4, ev->event);
    bind_text(q.st, 5, ev->severity);
    bind_text(q.st, 6, ev->previous);
    bind_text(q.st, 7, ev->json);
    sqlite3_bind_int(q.st, 8, ev->silenced ? 1 : 0);
    if (q_exec(s, &q, "event add", e) < 0)
        return -1;
    s->ev_id = sqlite3_last_insert_rowid(s->db);
    buf_reset(&s->ev_json);
    if (ev->json == NULL || buf_adds(&s->ev_json, ev->json) < 0)
        s->ev_id = 0;
    if (id != NULL)
        *id = sqlite3_last_insert_rowid(s->db);
    return 0;
}

int store_events_foreach(struct store *s, double since, const char *rule,
                         store_event_fn cb, void *ctx, struct err *e)
{
    struct store_event ev;
    struct q q;
    int rc, r;

    if (q_get(s, rule ? Q_EVENTS_RULE_SINCE : Q_EVENTS_SINCE, &q,
              "history read", e) < 0)
        return -1;
    sqlite3_bind_double(q.st, 1, since);
    if (rule != NULL)
        bind_text(q.st, 2, rule);
    while ((rc = sqlite3_step(q.st)) == SQLITE_ROW) {
        ev.id = sqlite3_column_int64(q.st, 0);
        ev.ts = sqlite3_column_double(q.st, 1);
        ev.rule = col_text(q.st, 2);
        ev.fingerprint = col_text(q.st, 3);
        ev.event = col_text(q.st, 4);
        ev.severity = col_text(q.st, 5);
        ev.previous = col_text_or_null(q.st, 6);
        ev.json = col_text(q.st, 7);
        ev.silenced = sqlite3_column_int(q.st, 8) != 0;
        r = cb(ctx, &ev);
        if (r != 0) {
            q_done(&q);
            return r;
        }
    }
    if (rc != SQLITE_DONE)
        fail_st(s, rc, "history read", e, q.st);
    q_done(&q);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* ------------------------------------------------------------------ */
/* outbox */

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

    if (wr_check(s, "outbox add", e) < 0 ||
        q_get(s, Q_OUTBOX_ADD, &q, "outbox add", e) < 0)
        return -1;
    bind_text(q.st, 1, r->key);
    sqlite3_bind_int64(q.st, 2, r->event_id);
    bind_text(q.st, 3, r->receiver);
    bind_text(q.st, 4, r->fingerprint ? r->fingerprint : "");
    bind_text(q.st, 5, r->rule ? r->rule : "");
    bind_text(q.st, 6, r->kind);
    bind_text(q.st, 7, payload_compact(s, r));
    sqlite3_bind_int(q.st, 8, (int)r->status);
    sqlite3_bind_int(q.st, 9, r->attempts);
    sqlite3_bind_double(q.st, 10, r->created);
    sqlite3_bind_double(q.st, 11, r->next_at);
    sqlite3_bind_double(q.st, 12, r->updated > 0 ? r->updated : r->created);
    bind_text(q.st, 13, r->last_error);
    sqlite3_bind_int(q.st, 14, r->last_code);
    if (q_exec(s, &q, "outbox add", e) < 0)
        return -1;
    if (sqlite3_changes(s->db) > 0) {
        if (id != NULL)
            *id = sqlite3_last_insert_rowid(s->db);
        return 0;
    }
    /* Duplicate idempotency key: already queued; report the existing row. */
    if (id != NULL) {
        *id = 0;
        if (q_get(s, Q_OUTBOX_KEY_ID, &q, "outbox add", e) < 0)
            return -1;
        bind_text(q.st, 1, r->key);
        rc = sqlite3_step(q.st);
        if (rc == SQLITE_ROW)
            *id = sqlite3_column_int64(q.st, 0);
        else if (rc != SQLITE_DONE) {
            fail_st(s, rc, "outbox add", e, q.st);
            q_done(&q);
            return -1;
        }
        q_done(&q);
    }
    return 1;
}

/* pl: where a compacted payload is rebuilt; it must outlive the callback. */
static void outbox_fill(sqlite3_stmt *st, struct outbox_row *r, struct buf *pl)
{
    r->id = sqlite3_column_int64(st, 0);
    r->key = col_text(st, 1);
    r->event_id = sqlite3_column_int64(st, 2);
    r->receiver = col_text(st, 3);
    r->fingerprint = col_text(st, 4);
    r->rule = col_text(st, 5);
    r->kind = col_text(st, 6);
    r->payload = col_text(st, 7);
    if (r->payload[0] == '@') {
        /* The event row is kept as long as its outbox rows (history is
         * never pruned); if it were gone, "event" becomes null. */
        const char *json = col_text_or_null(st, 15);

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
    r->last_error = col_text_or_null(st, 13);
    r->last_code = sqlite3_column_int(st, 14);
}

static int outbox_iterate(struct store *s, struct q *q, store_outbox_fn cb,
                          void *ctx, const char *op, struct err *e)
{
    struct outbox_row r;
    struct buf pl; /* one per iteration: a callback may read the outbox too */
    int rc, ret = 0;

    buf_init(&pl, 0);
    while ((rc = sqlite3_step(q->st)) == SQLITE_ROW) {
        outbox_fill(q->st, &r, &pl);
        ret = cb(ctx, &r);
        if (ret != 0)
            break;
    }
    if (ret == 0 && rc != SQLITE_DONE) {
        fail_st(s, rc, op, e, q->st);
        ret = -1;
    }
    q_done(q);
    buf_cleanup(&pl);
    return ret;
}

int store_outbox_pending(struct store *s, size_t limit, store_outbox_fn cb,
                         void *ctx, struct err *e)
{
    struct q q;

    if (q_get(s, Q_OUTBOX_PENDING, &q, "outbox read", e) < 0)
        return -1;
    sqlite3_bind_int64(q.st, 1, limit == 0 ? -1 : (sqlite3_int64)limit);
    return outbox_iterate(s, &q, cb, ctx, "outbox read", e);
}

int store_outbox_pending_after(struct store *s, int64_t after_id,
                               size_t limit, store_outbox_fn cb, void *ctx,
                               struct err *e)
{
    struct q q;

    if (q_get(s, Q_OUTBOX_PENDING_AFTER, &q, "outbox read", e) < 0)
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

int store_outbox_payload(struct store *s, int64_t id, char **out,
                         struct err *e)
{
    struct payload_ctx pc = {NULL};
    struct q q;
    int rc;

    *out = NULL;
    if (q_get(s, Q_OUTBOX_ONE, &q, "outbox read", e) < 0)
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

    if (wr_check(s, "outbox update", e) < 0 ||
        q_get(s, Q_OUTBOX_UPDATE, &q, "outbox update", e) < 0)
        return -1;
    sqlite3_bind_int64(q.st, 1, id);
    sqlite3_bind_int(q.st, 2, (int)status);
    sqlite3_bind_int(q.st, 3, attempts);
    sqlite3_bind_double(q.st, 4, next_at);
    bind_text(q.st, 5, last_error);
    sqlite3_bind_int(q.st, 6, last_code);
    sqlite3_bind_double(q.st, 7, now);
    if (q_exec(s, &q, "outbox update", e) < 0)
        return -1;
    if (sqlite3_changes(s->db) == 0) {
        err_set(e, "store: outbox update: no outbox row %lld", (long long)id);
        return -1;
    }
    return 0;
}

int store_outbox_count(struct store *s, enum outbox_status st, int64_t *n,
                       struct err *e)
{
    struct q q;
    int rc;

    /* Pending (the /metrics gauge) counts the partial index; the other
     * statuses scan the table. */
    if (q_get(s, st == OUTBOX_PENDING ? Q_OUTBOX_COUNT_PENDING : Q_OUTBOX_COUNT,
              &q, "outbox count", e) < 0)
        return -1;
    if (st != OUTBOX_PENDING)
        sqlite3_bind_int(q.st, 1, (int)st);
    rc = sqlite3_step(q.st);
    if (rc != SQLITE_ROW) {
        fail_st(s, rc, "outbox count", e, q.st);
        q_done(&q);
        return -1;
    }
    *n = sqlite3_column_int64(q.st, 0);
    q_done(&q);
    return 0;
}

int store_outbox_foreach(struct store *s, double since, store_outbox_fn cb,
                         void *ctx, struct err *e)
{
    struct q q;

    if (q_get(s, Q_OUTBOX_SINCE, &q, "outbox read", e) < 0)
        return -1;
    sqlite3_bind_double(q.st, 1, since);
    return outbox_iterate(s, &q, cb, ctx, "outbox read", e);
}

/* ------------------------------------------------------------------ */
/* heard */

int store_heard_put(struct store *s, const struct store_heard *h, struct err *e)
{
    struct q q;

    if (wr_check(s, "heard put", e) < 0 ||
        q_get(s, Q_HEARD_PUT, &q, "heard put", e) < 0)
        return -1;
    bind_text(q.st, 1, h->fingerprint);
    bind_text(q.st, 2, h->receiver);
    sqlite3_bind_double(q.st, 3, h->last_notified);
    sqlite3_bind_double(q.st, 4, h->repeat_interval);
    return q_exec(s, &q, "heard put", e);
}

int store_heard_foreach(struct store *s, const char *fingerprint,
                        store_heard_fn cb, void *ctx, struct err *e)
{
    struct store_heard h;
    struct q q;
    int rc, r;

    if (q_get(s, fingerprint ? Q_HEARD_FP : Q_HEARD_ALL, &q, "heard read", e) <
        0)
        return -1;
    if (fingerprint != NULL)
        bind_text(q.st, 1, fingerprint);
    while ((rc = sqlite3_step(q.st)) == SQLITE_ROW) {
        h.fingerprint = col_text(q.st, 0);
        h.receiver = col_text(q.st, 1);
        h.last_notified = sqlite3_column_double(q.st, 2);
        h.repeat_interval = sqlite3_column_double(q.st, 3);
        r = cb(ctx, &h);
        if (r != 0) {
            q_done(&q);
            return r;
        }
    }
    if (rc != SQLITE_DONE)
        fail_st(s, rc, "heard read", e, q.st);
    q_done(&q);
    return rc == SQLITE_DONE ? 0 : -1;
}

int store_heard_clear(struct store *s, const char *fingerprint, struct err *e)
{
    struct q q;

    if (wr_check(s, "heard clear", e) < 0 ||
        q_get(s, Q_HEARD_CLEAR, &q, "heard clear", e) < 0)
        return -1;
    bind_text(q.st, 1, fingerprint);
    return q_exec(s, &q, "heard clear", e);
}

/* ------------------------------------------------------------------ */
/* silences */

int store_silence_add(struct store *s, const struct store_silence *si,
                      int64_t *id, struct err *e)
{
    struct q q;

    if (wr_check(s, "silence add", e) < 0 ||
        q_get(s, Q_SILENCE_ADD, &q, "silence add", e) < 0)
        return -1;
    bind_text(q.st, 1, si->matchers);
    sqlite3_bind_double(q.st, 2, si->starts);
    sqlite3_bind_double(q.st, 3, si->ends);
    bind_text(q.st, 4, si->comment ? si->comment : "");
    bind_text(q.st, 5, si->created_by ? si->created_by : "");
    if (q_exec(s, &q, "silence add", e) < 0)
        return -1;
    if (id != NULL)
        *id = sqlite3_last_insert_rowid(s->db);
    return 0;
}

int store_silence_expire(struct store *s, int64_t id, double now, struct err *e)
{
    struct q q;

    if (wr_check(s, "silence expire", e) < 0 ||
        q_get(s, Q_SILENCE_EXPIRE, &q, "silence expire", e) < 0)
        return -1;
    sqlite3_bind_int64(q.st, 1, id);
    sqlite3_bind_double(q.st, 2, now);
    if (q_exec(s, &q, "silence expire", e) < 0)
        return -1;
    return sqlite3_changes(s->db) > 0 ? 0 : 1;
}

int store_silences_foreach(struct store *s, double active_at,
                           store_silence_fn cb, void *ctx, struct err *e)
{
    struct store_silence si;
    struct q q;
    int rc, r;

    if (q_get(s, active_at < 0 ? Q_SILENCES_ALL : Q_SILENCES_ACTIVE, &q,
              "silences read", e) < 0)
        return -1;
    if (active_at >= 0)
        sqlite3_bind_double(q.st, 1, active_at);
    while ((rc = sqlite3_step(q.st)) == SQLITE_ROW) {
        si.id = sqlite3_column_int64(q.st, 0);
        si.matchers = col_text(q.st, 1);
        si.starts = sqlite3_column_double(q.st, 2);
        si.ends = sqlite3_column_double(q.st, 3);
        si.comment = col_text(q.st, 4);
        si.created_by = col_text(q.st, 5);
        r = cb(ctx, &si);
        if (r != 0) {
            q_done(&q);
            return r;
        }
    }
    if (rc != SQLITE_DONE)
        fail_st(s, rc, "silences read", e, q.st);
    q_done(&q);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* ------------------------------------------------------------------ */
/* meta */

int store_meta_get(struct store *s, const char *key, char **out, struct err *e)
{
    struct q q;
    int rc;

    *out = NULL;
    if (q_get(s, Q_META_GET, &q, "meta get", e) < 0)
        return -1;
    bind_text(q.st, 1, key);
    rc = sqlite3_step(q.st);
    if (rc == SQLITE_ROW) {
        *out = xstrdup(col_text(q.st, 0));
        q_done(&q);
        return 0;
    }
    if (rc != SQLITE_DONE) {
        fail_st(s, rc, "meta get", e, q.st);
        q_done(&q);
        return -1;
    }
    q_done(&q);
    return 1;
}

int store_meta_put(struct store *s, const char *key, const char *value,
                   struct err *e)
{
    struct q q;

    if (wr_check(s, "meta put", e) < 0 ||
        q_get(s, Q_META_PUT, &q, "meta put", e) < 0)
        return -1;
    bind_text(q.st, 1, key);
    bind_text(q.st, 2, value ? value : "");
    return q_exec(s, &q, "meta put", e);
}
