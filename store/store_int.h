/* store_int.h - internals shared by store.c (the API) and schema.c (the
 * versioned schema and its migrations). Not for use outside store/. */
#ifndef TOCSIN_STORE_INT_H
#define TOCSIN_STORE_INT_H

#include <sqlite3.h>

#include "../common/err.h"

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

#endif
