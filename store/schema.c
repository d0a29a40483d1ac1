/* schema.c - the versioned schema of the tocsin store: an ordered array of
 * SQL scripts, store_migrations[v] upgrading schema v to v + 1. store_open
 * runs the missing ones in one transaction and records PRAGMA user_version.
 * Never edit a released script; append a new one and bump
 * STORE_SCHEMA_VERSION in store.h. */
#include <stdio.h>

#include "store.h"
#include "store_int.h"

/* Version 0 -> 1: the initial schema. Times are Unix seconds (REAL). */
static const char schema_v1[] =
    /* Engine state of every series with a non-ok tier, and window
     * checkpoints: opaque blobs owned by the engine. */
    "CREATE TABLE series ("
    "  key TEXT PRIMARY KEY,"
    "  rule TEXT NOT NULL,"
    "  fingerprint TEXT NOT NULL,"
    "  blob BLOB,"
    "  updated REAL NOT NULL);"
    /* The alerts firing now, one row per non-ok alert. */
    "CREATE TABLE alerts ("
    "  fingerprint TEXT PRIMARY KEY,"
    "  rule TEXT NOT NULL,"
    "  labels_json TEXT NOT NULL,"
    "  severity TEXT NOT NULL,"
    "  since REAL NOT NULL,"
    "  value REAL,"
    "  updated REAL NOT NULL,"
    "  reason TEXT);"
    /* The history: every event, as its SPEC JSON line plus indexed
     * columns for the report and `tocsin history`. */
    "CREATE TABLE events ("
    "  id INTEGER PRIMARY KEY,"
    "  ts REAL NOT NULL,"
    "  rule TEXT NOT NULL,"
    "  fingerprint TEXT NOT NULL,"
    "  event TEXT NOT NULL,"
    "  severity TEXT NOT NULL,"
    "  previous TEXT,"
    "  json TEXT NOT NULL,"
    "  silenced INTEGER NOT NULL DEFAULT 0);"
    /* Only the indexes the queries use (`history`, the report, reminders):
     * every index is one more B-tree insert per event. */
    "CREATE INDEX events_ts ON events(ts);"
    "CREATE INDEX events_rule_ts ON events(rule, ts);"
    /* The notification outbox and delivery log. */
    "CREATE TABLE outbox ("
    "  id INTEGER PRIMARY KEY,"
    "  key TEXT NOT NULL UNIQUE,"
    "  event_id INTEGER NOT NULL DEFAULT 0,"
    "  receiver TEXT NOT NULL,"
    "  fingerprint TEXT NOT NULL DEFAULT '',"
    "  rule TEXT NOT NULL DEFAULT '',"
    "  kind TEXT NOT NULL,"
    "  payload TEXT NOT NULL,"
    "  status INTEGER NOT NULL DEFAULT 0,"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  created REAL NOT NULL,"
    "  next_at REAL NOT NULL DEFAULT 0,"
    "  updated REAL NOT NULL,"
    "  last_error TEXT,"
    "  last_code INTEGER NOT NULL DEFAULT 0);"
    /* The dispatcher's queue: pending rows only, so delivered rows leave
     * it and it stays as small as the backlog. */
    "CREATE INDEX outbox_pending ON outbox(id) WHERE status = 0;"
    "CREATE INDEX outbox_created ON outbox(created);"
    /* Who heard an alert, for "a receiver hears every later event" and
     * repeat_interval reminders. Small rows rewritten by most events at
     * random keys: WITHOUT ROWID keeps it one B-tree rather than a table
     * plus its key index (fewer pages per batch in the WAL). */
    "CREATE TABLE heard ("
    "  fingerprint TEXT NOT NULL,"
    "  receiver TEXT NOT NULL,"
    "  last_notified REAL NOT NULL,"
    "  repeat_interval REAL NOT NULL DEFAULT 0,"
    "  PRIMARY KEY (fingerprint, receiver)) WITHOUT ROWID;"
    "CREATE TABLE silences ("
    "  id INTEGER PRIMARY KEY,"
    "  matchers TEXT NOT NULL,"
    "  starts REAL NOT NULL,"
    "  ends REAL NOT NULL,"
    "  comment TEXT NOT NULL DEFAULT '',"
    "  created_by TEXT NOT NULL DEFAULT '');"
    "CREATE TABLE meta ("
    "  key TEXT PRIMARY KEY,"
    "  value TEXT NOT NULL);";

const char *const store_migrations[] = {
    schema_v1,
};

_Static_assert(sizeof(store_migrations) / sizeof(store_migrations[0]) ==
                   STORE_SCHEMA_VERSION,
               "one migration script per schema version");

int store_schema_migrate(sqlite3 *db, int from, const char *path, struct err *e)
{
    char sql[64];
    int rc;

    for (int v = from; v < STORE_SCHEMA_VERSION; v++) {
        rc = sqlite3_exec(db, store_migrations[v], NULL, NULL, NULL);
        if (rc != SQLITE_OK) {
            err_set(e, "store %s: migration to schema %d failed: %s", path,
                    v + 1, sqlite3_errmsg(db));
            return rc;
        }
    }
    snprintf(sql, sizeof(sql), "PRAGMA user_version = %d",
             STORE_SCHEMA_VERSION);
    rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        err_set(e, "store %s: migration: %s", path, sqlite3_errmsg(db));
    return rc;
}
