/* store.h - tocsin's memory in one SQLite file (WAL): series state and window
 * checkpoints, current alerts, the alert history, the notification outbox,
 * the per-alert receiver set, silences and small metadata. One connection per
 * thread; one writer (the pipeline) batches its writes in transactions.
 * A struct store is one SQLite connection: use it from one thread at a time.
 * Strings and blobs passed to foreach callbacks are borrowed for the call.
 * SPEC section 5. */
#ifndef TOCSIN_STORE_H
#define TOCSIN_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/err.h"

struct store;

#define STORE_SCHEMA_VERSION 1

enum store_mode {
    STORE_RW = 0, /* create if missing, migrate forward */
    STORE_RO = 1, /* readers: alerts, history, report; never writes */
};

/* Open (and create/migrate) the store at path; ":memory:" for a private
 * in-memory store. A store with a newer user_version is refused: NULL, with
 * "store PATH was written by a newer tocsin (schema N, this one knows M)".
 * A corrupt or unreadable file, or a read-only one opened STORE_RW, gives
 * NULL and a clear message. */
struct store *store_open(const char *path, enum store_mode mode, struct err *e);
void store_close(struct store *s);

/* Transactions (BEGIN IMMEDIATE / COMMIT / ROLLBACK). Writers group many
 * changes into one. On a failed commit (full disk...) the transaction is
 * rolled back: nothing half-written. */
int store_begin(struct store *s, struct err *e);
/* As store_begin, but when another connection holds the write lock it
 * returns 1 at once instead of waiting for it. */
int store_begin_nowait(struct store *s, struct err *e);
int store_commit(struct store *s, struct err *e);
void store_rollback(struct store *s);

/* --- series state (opaque engine blobs) --- */
int store_series_put(struct store *s, const char *key, const char *rule,
                     const char *fingerprint, const void *blob, size_t len,
                     struct err *e);
int store_series_del(struct store *s, const char *key, struct err *e);
/* Every saved series of rule (a reload removed or redefined it). */
int store_series_del_rule(struct store *s, const char *rule, struct err *e);
typedef int (*store_series_fn)(void *ctx, const char *key, const void *blob,
                               size_t len);
int store_series_foreach(struct store *s, store_series_fn cb, void *ctx,
                         struct err *e);

/* --- current alerts (one row per non-ok alert, updated with each event) --- */
struct store_alert {
    const char *fingerprint;
    const char *rule;
    const char *labels_json; /* {"service":"api",...,"alertname":"x"} */
    const char *severity;    /* "warning" ... */
    double since;            /* starts_at of the episode */
    double value;
    bool has_value;
    double updated; /* ts of the newest event */
    const char *reason;
};
/* Insert or replace by fingerprint. */
int store_alert_put(struct store *s, const struct store_alert *a,
                    struct err *e);
int store_alert_del(struct store *s, const char *fingerprint, struct err *e);
typedef int (*store_alert_fn)(void *ctx, const struct store_alert *a);
/* In severity order (critical first), then since. */
int store_alerts_foreach(struct store *s, store_alert_fn cb, void *ctx,
                         struct err *e);

/* --- history --- */
struct store_event {
    int64_t id;
    double ts;
    const char *rule;
    const char *fingerprint;
    const char *event; /* firing|escalated|deescalated|resolved */
    const char *severity;
    const char *previous;
    const char *json; /* the SPEC event line */
    bool silenced;
};
/* Append; *id receives the row id (may be NULL). */
int store_event_add(struct store *s, const struct store_event *ev, int64_t *id,
                    struct err *e);
typedef int (*store_event_fn)(void *ctx, const struct store_event *ev);
/* Events with ts >= since (and rule == rule when not NULL), oldest first
 * (ts, then id). */
int store_events_foreach(struct store *s, double since, const char *rule,
                         store_event_fn cb, void *ctx, struct err *e);

/* --- notification outbox --- */
enum outbox_status {
    OUTBOX_PENDING = 0,
    OUTBOX_SENT,
    OUTBOX_FAILED,
    OUTBOX_SILENCED,
    OUTBOX_SKIPPED, /* e.g. within cooldown: recorded, not sent */
};
const char *outbox_status_name(enum outbox_status st);

struct outbox_row {
    int64_t id;
    const char *key;         /* idempotency key, unique; webhook-id */
    int64_t event_id;        /* history row, 0 for tests/reports */
    const char *receiver;    /* notifier name */
    const char *fingerprint; /* alert; "" for reports and tests */
    const char *rule;
    const char *kind;    /* "event" | "repeat" | "report" | "test" */
    const char *payload; /* JSON the notifier renders from */
    enum outbox_status status;
    int attempts;
    double created;
    double next_at; /* earliest next attempt (Unix s) */
    double updated;
    const char *last_error; /* may be NULL */
    int last_code;          /* last HTTP or SMTP code, 0 none */
};
/* Queue skipped row id again as a new pending row with key (created now):
 * 0, 1 when id is no skipped row (or key is taken), -1 on error. */
int store_outbox_requeue(struct store *s, int64_t id, const char *key,
                         double now, struct err *e);
/* Insert; key must be unique (a duplicate key is ignored and returns 1). */
int store_outbox_add(struct store *s, const struct outbox_row *r, int64_t *id,
                     struct err *e);
typedef int (*store_outbox_fn)(void *ctx, const struct outbox_row *r);
/* Pending rows, oldest first (id order), at most limit (0 = all). Rows
 * are reported in id order so per-(alert, receiver) order is kept. */
int store_outbox_pending(struct store *s, size_t limit, store_outbox_fn cb,
                         void *ctx, struct err *e);
/* Pending rows with id > after_id, oldest first, at most limit (0 = all):
 * a reader that holds the rows up to after_id asks only for newer ones. */
int store_outbox_pending_after(struct store *s, int64_t after_id, size_t limit,
                               store_outbox_fn cb, void *ctx, struct err *e);
/* The payload of row id into *out (free()). 0, 1 when there is no such
 * row, -1 on a store error. */
int store_outbox_payload(struct store *s, int64_t id, char **out,
                         struct err *e);
/* Record the outcome of an attempt. */
int store_outbox_update(struct store *s, int64_t id, enum outbox_status status,
                        int attempts, double next_at, const char *last_error,
                        int last_code, double now, struct err *e);
/* Each (alert fingerprint, receiver) with a notification still pending,
 * once; cb returns nonzero to stop. 0, or -1 on a store error. */
typedef int (*store_pair_fn)(void *ctx, const char *fingerprint,
                             const char *receiver);
int store_outbox_pending_pairs(struct store *s, store_pair_fn cb, void *ctx,
                               struct err *e);
/* Count rows by status (for /metrics and eval --notify). */
int store_outbox_count(struct store *s, enum outbox_status st, int64_t *n,
                       struct err *e);
#define OUTBOX_NSTATUS (OUTBOX_SKIPPED + 1)
/* Every status's count in one pass over the table: n[status]. */
int store_outbox_counts(struct store *s, int64_t n[OUTBOX_NSTATUS],
                        struct err *e);
/* Every row whose created >= since, any status (report, inspection). */
int store_outbox_foreach(struct store *s, double since, store_outbox_fn cb,
                         void *ctx, struct err *e);

/* --- receivers of an alert: who heard it, when last notified --- */
struct store_heard {
    const char *fingerprint;
    const char *receiver;
    double last_notified;   /* for repeat_interval reminders; -inf when
                               every notification was held back (silence,
                               cooldown) */
    double repeat_interval; /* of its routes at the last notification, 0 =
                               none (reminders recompute it from the routes
                               of the config running then) */
};
/* Outbox row outbox_id, its receiver's first notification of the alert's
 * episode, was silenced when it was due (a silence began while it waited):
 * unless a later one was queued since, the heard row goes back to "never
 * notified" (SPEC section 6: a receiver whose every notification was
 * silenced has not heard the alert). */
int store_heard_unsent(struct store *s, int64_t outbox_id, struct err *e);
int store_heard_put(struct store *s, const struct store_heard *h,
                    struct err *e);
typedef int (*store_heard_fn)(void *ctx, const struct store_heard *h);
/* fingerprint NULL: every row. */
int store_heard_foreach(struct store *s, const char *fingerprint,
                        store_heard_fn cb, void *ctx, struct err *e);
/* Forget every receiver of fingerprint (after resolved). */
int store_heard_clear(struct store *s, const char *fingerprint, struct err *e);
/* Forget one receiver of fingerprint. */
int store_heard_del(struct store *s, const char *fingerprint,
                    const char *receiver, struct err *e);

/* --- silences --- */
struct store_silence {
    int64_t id;
    const char *matchers; /* "alertname=x,service=~api|web" */
    double starts;
    double ends;
    const char *comment;
    const char *created_by;
};
int store_silence_add(struct store *s, const struct store_silence *si,
                      int64_t *id, struct err *e);
/* Set ends = now. Returns 1 when no such active silence. */
int store_silence_expire(struct store *s, int64_t id, double now,
                         struct err *e);
typedef int (*store_silence_fn)(void *ctx, const struct store_silence *si);
/* active_at < 0: all silences; else only those with starts <= t < ends. */
int store_silences_foreach(struct store *s, double active_at,
                           store_silence_fn cb, void *ctx, struct err *e);
/* *t: the earliest start of a silence after `after` (INFINITY: none). */
int store_silence_next_start(struct store *s, double after, double *t,
                             struct err *e);

/* --- metadata (schedules and the like) --- */
/* The meta key of the StatsD gauge values (ingest_gauges_export). */
#define STORE_META_GAUGES "statsd_gauges"
/* The most seconds an event's ts was ahead of the wall clock that queued
 * its notifications (their `created`): an agent whose clock runs ahead.
 * The report reads the outbox from that much before its period. */
#define STORE_META_AHEAD "outbox_ahead"
int store_meta_get(struct store *s, const char *key, char **out /* free() */,
                   struct err *e); /* 1 when absent */
/* key's value as a number: 0 with *out set, 1 when absent or not a number
 * (*out left as it is), -1 on a store error. */
int store_meta_number(struct store *s, const char *key, double *out,
                      struct err *e);
int store_meta_del(struct store *s, const char *key, struct err *e);
int store_meta_put(struct store *s, const char *key, const char *value,
                   struct err *e);

/* --- one evaluating process per store --- */
/* `tocsin run` and `tocsin eval --store` hold their store for their whole
 * run: two of them on one file would both evaluate (repeating firings)
 * and both deliver its outbox. Waits up to wait seconds for another holder
 * to let go (one stopping, or just killed). Returns a hold to pass to
 * store_unhold; STORE_HOLD_BUSY with "store PATH is in use by another
 * tocsin (pid N...)"; or -1 when the lock file cannot be made or locked
 * (a read-only folder, say). ":memory:" and NULL need none:
 * STORE_HOLD_NONE. The views
 * (alerts, history, report, silence) take no hold. */
#define STORE_HOLD_NONE (-2)
/* Returned instead of waiting on when SIGTERM or SIGINT is pending (a
 * caller that blocks them for a signalfd): stop, do not wait the rest. */
#define STORE_HOLD_STOPPED (-3)
#define STORE_HOLD_BUSY (-4)
/* Seconds to wait: more than a stopping holder takes. */
#define STORE_HOLD_WAIT 15.0
int store_hold(const char *path, double wait, struct err *e);
void store_unhold(int hold);

/* Cap this connection's page cache at kib KiB (PRAGMA cache_size), freeing
 * cached pages beyond it now. Read-and-update connections (the dispatcher's,
 * the API reader's) walk the outbox once; keeping what they read cached
 * costs memory and saves nothing. 0 or -1. */
#define STORE_CACHE_SMALL_KIB 1024
int store_cache_limit(struct store *s, long kib);

/* --- testing --- */
/* Cap the database at pages pages (PRAGMA max_page_count) so tests can
 * provoke SQLITE_FULL: a write or commit past it fails with "store PATH:
 * database or disk is full" and the transaction is rolled back. 0 or -1. */
int store_set_max_pages(struct store *s, long pages);

#endif
