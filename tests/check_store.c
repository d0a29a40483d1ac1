/* check_store.c - tests for store/: every operation's round trip, schema
 * migration and refusal (newer, corrupt, foreign, read-only), full disk with
 * rollback, and concurrent readers seeing whole batches only. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "../common/util.h"
#include "../store/store.h"
#include "../store/store_int.h"

/* --- helpers --- */

static char tmpdir[256];
static char dbpath[300];

static void tmp_setup(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/check_store.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    snprintf(dbpath, sizeof(dbpath), "%s/t.db", tmpdir);
}

static void tmp_teardown(void)
{
    char p[400];
    const char *sfx[] = {"", "-wal", "-shm", "-journal"};

    for (size_t i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
        snprintf(p, sizeof(p), "%s%s", dbpath, sfx[i]);
        unlink(p);
    }
    rmdir(tmpdir);
}

static struct store *open_ok(const char *path, enum store_mode mode)
{
    struct err e = {0};
    struct store *s = store_open(path, mode, &e);

    ck_assert_msg(s != NULL, "store_open(%s): %s", path, e.msg);
    return s;
}

/* Run sql on path with the raw sqlite3 API (test fixtures). */
static void raw_exec(const char *path, const char *sql)
{
    sqlite3 *db = NULL;

    ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
    ck_assert_msg(sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK,
                  "%s: %s", sql, sqlite3_errmsg(db));
    sqlite3_close(db);
}

static int raw_int(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int v = -1;

    ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
    ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static void add_event(struct store *s, double ts, const char *rule,
                      const char *fp, const char *event, int64_t *id)
{
    struct err e = {0};
    char json[256];
    struct store_event ev = {
        .ts = ts,
        .rule = rule,
        .fingerprint = fp,
        .event = event,
        .severity = "warning",
        .previous = "ok",
        .json = json,
    };

    snprintf(json, sizeof(json), "{\"ts\":%.3f,\"rule\":\"%s\"}", ts, rule);
    ck_assert_msg(store_event_add(s, &ev, id, &e) == 0, "%s", e.msg);
}

/* --- round trips --- */

struct series_seen {
    int n;
    char keys[4][32];
    size_t lens[4];
    unsigned char first[4];
};

static int series_cb(void *ctx, const char *key, const void *blob, size_t len)
{
    struct series_seen *ss = ctx;

    if (ss->n < 4) {
        snprintf(ss->keys[ss->n], sizeof(ss->keys[0]), "%s", key);
        ss->lens[ss->n] = len;
        ss->first[ss->n] = len ? ((const unsigned char *)blob)[0] : 0;
    }
    ss->n++;
    return 0;
}

START_TEST(series_blobs_round_trip_including_nul_bytes_and_delete)
{
    struct err e = {0};
    struct store *s = open_ok(":memory:", STORE_RW);
    struct series_seen ss = {0};
    const unsigned char blob[] = {0x7f, 0, 1, 2, 0};

    ck_assert_int_eq(
        store_series_put(s, "a|x", "a", "f1", blob, sizeof(blob), &e), 0);
    ck_assert_int_eq(store_series_put(s, "b|y", "b", "f2", NULL, 0, &e), 0);
    /* put replaces by key */
    ck_assert_int_eq(store_series_put(s, "a|x", "a", "f1", blob, 3, &e), 0);
    ck_assert_int_eq(store_series_foreach(s, series_cb, &ss, &e), 0);
    ck_assert_int_eq(ss.n, 2);
    ck_assert_str_eq(ss.keys[0], "a|x");
    ck_assert_uint_eq(ss.lens[0], 3);
    ck_assert_uint_eq(ss.first[0], 0x7f);
    ck_assert_uint_eq(ss.lens[1], 0);
    ck_assert_int_eq(store_series_del(s, "a|x", &e), 0);
    memset(&ss, 0, sizeof(ss));
    ck_assert_int_eq(store_series_foreach(s, series_cb, &ss, &e), 0);
    ck_assert_int_eq(ss.n, 1);
    ck_assert_str_eq(ss.keys[0], "b|y");
    /* All of a rule's series at once (a reload redefined it). */
    ck_assert_int_eq(store_series_put(s, "b|z", "b", "f3", NULL, 0, &e), 0);
    ck_assert_int_eq(store_series_put(s, "c|z", "c", "f4", NULL, 0, &e), 0);
    ck_assert_int_eq(store_series_del_rule(s, "b", &e), 0);
    memset(&ss, 0, sizeof(ss));
    ck_assert_int_eq(store_series_foreach(s, series_cb, &ss, &e), 0);
    ck_assert_int_eq(ss.n, 1);
    ck_assert_str_eq(ss.keys[0], "c|z");
    store_close(s);
}
END_TEST

struct alerts_seen {
    int n;
    char fp[8][32];
    char sev[8][16];
    int has_value[8];
    double value[8];
    char reason[8][16];
};

static int alerts_cb(void *ctx, const struct store_alert *a)
{
    struct alerts_seen *as = ctx;

    if (as->n < 8) {
        snprintf(as->fp[as->n], 32, "%s", a->fingerprint);
        snprintf(as->sev[as->n], 16, "%s", a->severity);
        as->has_value[as->n] = a->has_value;
        as->value[as->n] = a->value;
        snprintf(as->reason[as->n], 16, "%s", a->reason ? a->reason : "-");
    }
    as->n++;
    return 0;
}

START_TEST(alerts_list_critical_first_then_oldest_and_keep_null_value)
{
    struct err e = {0};
    struct store *s = open_ok(":memory:", STORE_RW);
    struct alerts_seen as = {0};
    struct store_alert a = {
        .fingerprint = "w1",
        .rule = "r",
        .labels_json = "{\"alertname\":\"r\"}",
        .severity = "warning",
        .since = 200,
        .value = 1.5,
        .has_value = true,
        .updated = 200,
        .reason = "threshold",
    };

    ck_assert_int_eq(store_alert_put(s, &a, &e), 0);
    a.fingerprint = "w0";
    a.since = 100;
    ck_assert_int_eq(store_alert_put(s, &a, &e), 0);
    a.fingerprint = "c";
    a.severity = "critical";
    a.since = 300;
    a.has_value = false;
    a.reason = "nodata";
    ck_assert_int_eq(store_alert_put(s, &a, &e), 0);
    a.fingerprint = "i";
    a.severity = "info";
    a.since = 1;
    a.reason = NULL;
    ck_assert_int_eq(store_alert_put(s, &a, &e), 0);
    ck_assert_int_eq(store_alerts_foreach(s, alerts_cb, &as, &e), 0);
    ck_assert_int_eq(as.n, 4);
    ck_assert_str_eq(as.fp[0], "c");
    ck_assert_int_eq(as.has_value[0], 0);
    ck_assert_str_eq(as.reason[0], "nodata");
    ck_assert_str_eq(as.fp[1], "w0");
    ck_assert_str_eq(as.fp[2], "w1");
    ck_assert_int_eq(as.has_value[2], 1);
    ck_assert_double_eq(as.value[2], 1.5);
    ck_assert_str_eq(as.fp[3], "i");
    ck_assert_str_eq(as.reason[3], "-");

    /* replace by fingerprint, then delete */
    a.fingerprint = "c";
    a.severity = "info";
    ck_assert_int_eq(store_alert_put(s, &a, &e), 0);
    ck_assert_int_eq(store_alert_del(s, "w0", &e), 0);
    memset(&as, 0, sizeof(as));
    ck_assert_int_eq(store_alerts_foreach(s, alerts_cb, &as, &e), 0);
    ck_assert_int_eq(as.n, 3);
    ck_assert_str_eq(as.fp[0], "w1");
    ck_assert_str_eq(as.sev[1], "info");
    store_close(s);
}
END_TEST

struct events_seen {
    int n;
    int64_t ids[16];
    double ts[16];
    char rule[16][16];
    char json[16][96];
    int silenced[16];
    int stop_after;
};

static int events_cb(void *ctx, const struct store_event *ev)
{
    struct events_seen *es = ctx;

    if (es->n < 16) {
        es->ids[es->n] = ev->id;
        es->ts[es->n] = ev->ts;
        snprintf(es->rule[es->n], 16, "%s", ev->rule);
        snprintf(es->json[es->n], 96, "%s", ev->json);
        es->silenced[es->n] = ev->silenced;
    }
    es->n++;
    if (es->stop_after && es->n == es->stop_after)
        return 42;
    return 0;
}

START_TEST(events_are_listed_oldest_first_filtered_by_since_and_rule)
{
    struct err e = {0};
    struct store *s = open_ok(":memory:", STORE_RW);
    struct events_seen es = {0};
    int64_t id1 = 0, id2 = 0;
    struct store_event sil = {
        .ts = 150,
        .rule = "b",
        .fingerprint = "fb",
        .event = "firing",
        .severity = "critical",
        .previous = NULL,
        .json = "{}",
        .silenced = true,
    };

    add_event(s, 300, "a", "fa", "resolved", &id1);
    add_event(s, 100, "a", "fa", "firing", &id2);
    ck_assert_int_gt(id2, id1);
    ck_assert_int_eq(store_event_add(s, &sil, NULL, &e), 0);
    add_event(s, 50, "b", "fb", "firing", NULL);
    add_event(s, 300, "b", "fb", "resolved", NULL);

    ck_assert_int_eq(store_events_foreach(s, 100, NULL, events_cb, &es, &e), 0);
    ck_assert_int_eq(es.n, 4);
    ck_assert_double_eq(es.ts[0], 100);
    ck_assert_str_eq(es.rule[1], "b");
    ck_assert_int_eq(es.silenced[1], 1);
    ck_assert_int_eq(es.silenced[0], 0);
    /* same ts: id order */
    ck_assert_int_eq(es.ids[2], id1);
    ck_assert_str_eq(es.json[2], "{\"ts\":300.000,\"rule\":\"a\"}");

    memset(&es, 0, sizeof(es));
    ck_assert_int_eq(store_events_foreach(s, 0, "a", events_cb, &es, &e), 0);
    ck_assert_int_eq(es.n, 2);
    ck_assert_str_eq(es.rule[0], "a");
    ck_assert_str_eq(es.rule[1], "a");

    memset(&es, 0, sizeof(es));
    es.stop_after = 2;
    ck_assert_int_eq(store_events_foreach(s, 0, NULL, events_cb, &es, &e), 42);
    ck_assert_int_eq(es.n, 2);
    store_close(s);
}
END_TEST

struct outbox_seen {
    int n;
    int64_t ids[8];
    char keys[8][16];
    int status[8];
    int attempts[8];
    char last_error[8][32];
    int last_code[8];
    double next_at[8];
};

static int outbox_cb(void *ctx, const struct outbox_row *r)
{
    struct outbox_seen *os = ctx;

    if (os->n < 8) {
        os->ids[os->n] = r->id;
        snprintf(os->keys[os->n], 16, "%s", r->key);
        os->status[os->n] = (int)r->status;
        os->attempts[os->n] = r->attempts;
        snprintf(os->last_error[os->n], 32, "%s",
                 r->last_error ? r->last_error : "-");
        os->last_code[os->n] = r->last_code;
        os->next_at[os->n] = r->next_at;
    }
    os->n++;
    return 0;
}

START_TEST(outbox_duplicate_key_is_ignored_and_pending_keeps_id_order)
{
    struct err e = {0};
    struct store *s = open_ok(":memory:", STORE_RW);
    struct outbox_seen os = {0};
    int64_t id1 = 0, id2 = 0, id3 = 0, dup = 0, n = -1;
    struct outbox_row r = {
        .key = "k1",
        .event_id = 7,
        .receiver = "slack",
        .fingerprint = "fp",
        .rule = "r",
        .kind = "event",
        .payload = "{}",
        .created = 10,
    };

    ck_assert_int_eq(store_outbox_add(s, &r, &id1, &e), 0);
    r.key = "k2";
    r.created = 20;
    ck_assert_int_eq(store_outbox_add(s, &r, &id2, &e), 0);
    r.key = "k3";
    r.created = 30;
    ck_assert_int_eq(store_outbox_add(s, &r, &id3, &e), 0);
    r.key = "k1";
    ck_assert_int_eq(store_outbox_add(s, &r, &dup, &e), 1);
    ck_assert_int_eq(dup, id1);
    ck_assert(id1 < id2 && id2 < id3);

    ck_assert_int_eq(store_outbox_pending(s, 2, outbox_cb, &os, &e), 0);
    ck_assert_int_eq(os.n, 2);
    ck_assert_str_eq(os.keys[0], "k1");
    ck_assert_str_eq(os.keys[1], "k2");

    ck_assert_int_eq(
        store_outbox_update(s, id1, OUTBOX_SENT, 1, 0, NULL, 200, 11, &e), 0);
    ck_assert_int_eq(store_outbox_update(s, id2, OUTBOX_PENDING, 2, 99.5,
                                         "HTTP 503", 503, 12, &e),
                     0);
    ck_assert_int_eq(
        store_outbox_update(s, 9999, OUTBOX_SENT, 1, 0, NULL, 0, 1, &e), -1);
    ck_assert_msg(strstr(e.msg, "no outbox row") != NULL, "%s", e.msg);
    err_clear(&e);

    memset(&os, 0, sizeof(os));
    ck_assert_int_eq(store_outbox_pending(s, 0, outbox_cb, &os, &e), 0);
    ck_assert_int_eq(os.n, 2);
    ck_assert_str_eq(os.keys[0], "k2");
    ck_assert_int_eq(os.attempts[0], 2);
    ck_assert_str_eq(os.last_error[0], "HTTP 503");
    ck_assert_int_eq(os.last_code[0], 503);
    ck_assert_double_eq(os.next_at[0], 99.5);

    ck_assert_int_eq(store_outbox_count(s, OUTBOX_PENDING, &n, &e), 0);
    ck_assert_int_eq(n, 2);
    ck_assert_int_eq(store_outbox_count(s, OUTBOX_SENT, &n, &e), 0);
    ck_assert_int_eq(n, 1);
    {
        int64_t all[OUTBOX_NSTATUS];

        ck_assert_int_eq(store_outbox_counts(s, all, &e), 0);
        ck_assert_int_eq(all[OUTBOX_PENDING], 2);
        ck_assert_int_eq(all[OUTBOX_SENT], 1);
        ck_assert_int_eq(all[OUTBOX_FAILED], 0);
        ck_assert_int_eq(all[OUTBOX_SILENCED], 0);
    }

    memset(&os, 0, sizeof(os));
    ck_assert_int_eq(store_outbox_foreach(s, 20, outbox_cb, &os, &e), 0);
    ck_assert_int_eq(os.n, 2);
    ck_assert_str_eq(os.keys[0], "k2");
    ck_assert_str_eq(os.keys[1], "k3");
    store_close(s);
}
END_TEST

START_TEST(pending_after_lists_only_newer_rows_and_payload_reads_one_row)
{
    struct err e = {0};
    struct store *s = open_ok(":memory:", STORE_RW);
    struct outbox_seen os = {0};
    int64_t id1 = 0, id2 = 0, id3 = 0;
    char *pl = NULL;
    struct outbox_row r = {
        .key = "a1",
        .receiver = "hook",
        .fingerprint = "fp",
        .rule = "r",
        .kind = "event",
        .payload = "{\"n\":1}",
        .created = 10,
    };

    ck_assert_int_eq(store_outbox_add(s, &r, &id1, &e), 0);
    r.key = "a2";
    r.payload = "{\"n\":2}";
    ck_assert_int_eq(store_outbox_add(s, &r, &id2, &e), 0);
    r.key = "a3";
    r.payload = "{\"n\":3}";
    ck_assert_int_eq(store_outbox_add(s, &r, &id3, &e), 0);
    ck_assert_int_eq(
        store_outbox_update(s, id2, OUTBOX_SENT, 1, 0, NULL, 200, 11, &e), 0);
    ck_assert_int_eq(store_outbox_pending_after(s, id1, 0, outbox_cb, &os, &e),
                     0);
    ck_assert_int_eq(os.n, 1);
    ck_assert_str_eq(os.keys[0], "a3");
    memset(&os, 0, sizeof(os));
    ck_assert_int_eq(store_outbox_pending_after(s, 0, 1, outbox_cb, &os, &e),
                     0);
    ck_assert_int_eq(os.n, 1);
    ck_assert_str_eq(os.keys[0], "a1");
    ck_assert_int_eq(store_outbox_payload(s, id3, &pl, &e), 0);
    ck_assert_str_eq(pl, "{\"n\":3}");
    free(pl);
    ck_assert_int_eq(store_outbox_payload(s, 9999, &pl, &e), 1);
    ck_assert_ptr_null(pl);
    store_close(s);
}
END_TEST

START_TEST(outbox_status_names_are_stable)
{
    ck_assert_str_eq(outbox_status_name(OUTBOX_PENDING), "pending");
    ck_assert_str_eq(outbox_status_name(OUTBOX_SENT), "sent");
    ck_assert_str_eq(outbox_status_name(OUTBOX_FAILED), "failed");
    ck_assert_str_eq(outbox_status_name(OUTBOX_SILENCED), "silenced");
    ck_assert_str_eq(outbox_status_name(OUTBOX_SKIPPED), "skipped");
}
END_TEST

struct heard_seen {
    int n;
    char recv[8][16];
    double last[8];
    double repeat[8];
};

static int heard_cb(void *ctx, const struct store_heard *h)
{
    struct heard_seen *hs = ctx;

    if (hs->n < 8) {
        snprintf(hs->recv[hs->n], 16, "%s", h->receiver);
        hs->last[hs->n] = h->last_notified;
        hs->repeat[hs->n] = h->repeat_interval;
    }
    hs->n++;
    return 0;
}

START_TEST(heard_receivers_are_replaced_listed_and_cleared_per_alert)
{
    struct err e = {0};
    struct store *s = open_ok(":memory:", STORE_RW);
    struct heard_seen hs = {0};
    struct store_heard h = {"fp1", "slack", 10, 3600};

    ck_assert_int_eq(store_heard_put(s, &h, &e), 0);
    h.receiver = "email";
    ck_assert_int_eq(store_heard_put(s, &h, &e), 0);
    h.receiver = "slack";
    h.last_notified = 20;
    ck_assert_int_eq(store_heard_put(s, &h, &e), 0);
    h.fingerprint = "fp2";
    ck_assert_int_eq(store_heard_put(s, &h, &e), 0);

    ck_assert_int_eq(store_heard_foreach(s, "fp1", heard_cb, &hs, &e), 0);
    ck_assert_int_eq(hs.n, 2);
    ck_assert_str_eq(hs.recv[0], "email");
    ck_assert_str_eq(hs.recv[1], "slack");
    ck_assert_double_eq(hs.last[1], 20);
    ck_assert_double_eq(hs.repeat[1], 3600);

    memset(&hs, 0, sizeof(hs));
    ck_assert_int_eq(store_heard_foreach(s, NULL, heard_cb, &hs, &e), 0);
    ck_assert_int_eq(hs.n, 3);

    ck_assert_int_eq(store_heard_clear(s, "fp1", &e), 0);
    memset(&hs, 0, sizeof(hs));
    ck_assert_int_eq(store_heard_foreach(s, NULL, heard_cb, &hs, &e), 0);
    ck_assert_int_eq(hs.n, 1);
    store_close(s);
}
END_TEST

struct sil_seen {
    int n;
    int64_t ids[8];
    char matchers[8][64];
    char comment[8][32];
    char by[8][16];
    double ends[8];
};

static int sil_cb(void *ctx, const struct store_silence *si)
{
    struct sil_seen *ss = ctx;

    if (ss->n < 8) {
        ss->ids[ss->n] = si->id;
        snprintf(ss->matchers[ss->n], 64, "%s", si->matchers);
        snprintf(ss->comment[ss->n], 32, "%s", si->comment);
        snprintf(ss->by[ss->n], 16, "%s", si->created_by);
        ss->ends[ss->n] = si->ends;
    }
    ss->n++;
    return 0;
}

START_TEST(silences_are_active_between_starts_and_ends_and_expire_once)
{
    struct err e = {0};
    struct store *s = open_ok(":memory:", STORE_RW);
    struct sil_seen ss = {0};
    int64_t a = 0, b = 0;
    struct store_silence si = {
        .matchers = "alertname=x,service=~api|web",
        .starts = 100,
        .ends = 200,
        .comment = "deploy",
        .created_by = "ana",
    };

    ck_assert_int_eq(store_silence_add(s, &si, &a, &e), 0);
    si.starts = 150;
    si.ends = 300;
    si.comment = NULL;
    si.created_by = NULL;
    ck_assert_int_eq(store_silence_add(s, &si, &b, &e), 0);
    ck_assert_int_gt(b, a);

    ck_assert_int_eq(store_silences_foreach(s, 120, sil_cb, &ss, &e), 0);
    ck_assert_int_eq(ss.n, 1);
    ck_assert_int_eq(ss.ids[0], a);
    ck_assert_str_eq(ss.matchers[0], "alertname=x,service=~api|web");
    ck_assert_str_eq(ss.comment[0], "deploy");
    ck_assert_str_eq(ss.by[0], "ana");

    memset(&ss, 0, sizeof(ss));
    ck_assert_int_eq(store_silences_foreach(s, 200, sil_cb, &ss, &e), 0);
    ck_assert_int_eq(ss.n, 1); /* ends is exclusive */
    ck_assert_int_eq(ss.ids[0], b);
    ck_assert_str_eq(ss.comment[0], "");

    ck_assert_int_eq(store_silence_expire(s, b, 160, &e), 0);
    ck_assert_int_eq(store_silence_expire(s, b, 170, &e), 1);
    ck_assert_int_eq(store_silence_expire(s, 12345, 170, &e), 1);
    ck_assert_int_eq(store_silence_expire(s, a, 250, &e), 1); /* over */

    memset(&ss, 0, sizeof(ss));
    ck_assert_int_eq(store_silences_foreach(s, 170, sil_cb, &ss, &e), 0);
    ck_assert_int_eq(ss.n, 1);
    ck_assert_int_eq(ss.ids[0], a);

    memset(&ss, 0, sizeof(ss));
    ck_assert_int_eq(store_silences_foreach(s, -1, sil_cb, &ss, &e), 0);
    ck_assert_int_eq(ss.n, 2);
    ck_assert_double_eq(ss.ends[1], 160);
    store_close(s);
}
END_TEST

START_TEST(meta_values_round_trip_and_absent_key_returns_1)
{
    struct err e = {0};
    struct store *s = open_ok(":memory:", STORE_RW);
    char *v = NULL;

    ck_assert_int_eq(store_meta_get(s, "report.last", &v, &e), 1);
    ck_assert_ptr_null(v);
    ck_assert_int_eq(store_meta_put(s, "report.last", "123", &e), 0);
    ck_assert_int_eq(store_meta_put(s, "report.last", "456", &e), 0);
    ck_assert_int_eq(store_meta_get(s, "report.last", &v, &e), 0);
    ck_assert_str_eq(v, "456");
    free(v);
    store_close(s);
}
END_TEST

/* A callback may run the same query again (e.g. the dispatcher reading
 * heard rows while iterating heard rows). */
struct nest {
    struct store *s;
    int outer, inner;
};

static int nest_inner(void *ctx, const struct store_heard *h)
{
    struct nest *n = ctx;
    (void)h;
    n->inner++;
    return 0;
}

static int nest_outer(void *ctx, const struct store_heard *h)
{
    struct nest *n = ctx;
    struct err e = {0};

    n->outer++;
    return store_heard_foreach(n->s, h->fingerprint, nest_inner, n, &e);
}

START_TEST(foreach_callback_may_reenter_the_same_query)
{
    struct err e = {0};
    struct nest n = {0};
    struct store_heard h = {"fp1", "a", 1, 0};

    n.s = open_ok(":memory:", STORE_RW);
    ck_assert_int_eq(store_heard_put(n.s, &h, &e), 0);
    h.receiver = "b";
    ck_assert_int_eq(store_heard_put(n.s, &h, &e), 0);
    ck_assert_int_eq(store_heard_foreach(n.s, NULL, nest_outer, &n, &e), 0);
    ck_assert_int_eq(n.outer, 2);
    ck_assert_int_eq(n.inner, 4);
    store_close(n.s);
}
END_TEST

/* --- transactions, files, schema --- */

START_TEST(committed_rows_survive_reopen_and_rolled_back_rows_do_not)
{
    struct err e = {0};
    struct store *s = open_ok(dbpath, STORE_RW);
    struct events_seen es = {0};

    ck_assert_int_eq(store_begin(s, &e), 0);
    add_event(s, 1, "kept", "f", "firing", NULL);
    ck_assert_int_eq(store_commit(s, &e), 0);
    ck_assert_int_eq(store_begin(s, &e), 0);
    ck_assert_int_eq(store_begin(s, &e), -1); /* no nesting */
    err_clear(&e);
    add_event(s, 2, "dropped", "f", "firing", NULL);
    store_rollback(s);
    ck_assert_int_eq(store_commit(s, &e), -1); /* nothing open */
    store_close(s);

    s = open_ok(dbpath, STORE_RO);
    ck_assert_int_eq(store_events_foreach(s, 0, NULL, events_cb, &es, &e), 0);
    ck_assert_int_eq(es.n, 1);
    ck_assert_str_eq(es.rule[0], "kept");
    store_close(s);
}
END_TEST

START_TEST(store_uses_wal_and_sets_schema_version)
{
    struct store *s = open_ok(dbpath, STORE_RW);
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;

    ck_assert_int_eq(sqlite3_open(dbpath, &db), SQLITE_OK);
    ck_assert_int_eq(
        sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL),
        SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    ck_assert_str_eq((const char *)sqlite3_column_text(st, 0), "wal");
    sqlite3_finalize(st);
    sqlite3_close(db);
    ck_assert_int_eq(raw_int(dbpath, "PRAGMA user_version"),
                     STORE_SCHEMA_VERSION);
    store_close(s);
}
END_TEST

START_TEST(empty_file_is_migrated_to_the_current_schema)
{
    int fd = open(dbpath, O_CREAT | O_WRONLY, 0644);
    struct store *s;
    struct err e = {0};

    ck_assert_int_ge(fd, 0);
    close(fd);
    s = open_ok(dbpath, STORE_RW);
    ck_assert_int_eq(store_meta_put(s, "k", "v", &e), 0);
    store_close(s);
    ck_assert_int_eq(raw_int(dbpath, "PRAGMA user_version"),
                     STORE_SCHEMA_VERSION);
    ck_assert_int_eq(
        raw_int(dbpath, "SELECT count(*) FROM sqlite_master WHERE type = "
                        "'table' AND name IN ('series', 'alerts', 'events', "
                        "'outbox', 'heard', 'silences', 'meta')"),
        7);
    /* reopening does not migrate again (and keeps the data) */
    s = open_ok(dbpath, STORE_RW);
    store_close(s);
    ck_assert_int_eq(raw_int(dbpath, "SELECT count(*) FROM meta"), 1);
}
END_TEST

START_TEST(newer_schema_is_refused_with_both_versions_named)
{
    struct err e = {0};
    char want[512];
    struct store *s = open_ok(dbpath, STORE_RW);

    store_close(s);
    raw_exec(dbpath, "PRAGMA user_version = 99");
    snprintf(want, sizeof(want),
             "store %s was written by a newer tocsin (schema 99, this one "
             "knows %d)",
             dbpath, STORE_SCHEMA_VERSION);
    ck_assert_ptr_null(store_open(dbpath, STORE_RW, &e));
    ck_assert_str_eq(e.msg, want);
    err_clear(&e);
    ck_assert_ptr_null(store_open(dbpath, STORE_RO, &e));
    ck_assert_str_eq(e.msg, want);
    /* refused, not touched */
    ck_assert_int_eq(raw_int(dbpath, "PRAGMA user_version"), 99);
}
END_TEST

START_TEST(garbage_file_is_reported_as_not_a_store)
{
    struct err e = {0};
    char want[512];
    unsigned char junk[4096];
    FILE *f = fopen(dbpath, "wb");

    for (size_t i = 0; i < sizeof(junk); i++)
        junk[i] = (unsigned char)(i * 131 + 7);
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(junk, 1, sizeof(junk), f), sizeof(junk));
    fclose(f);
    snprintf(want, sizeof(want),
             "store %s is not a valid tocsin store: file is not a database",
             dbpath);
    ck_assert_ptr_null(store_open(dbpath, STORE_RW, &e));
    ck_assert_str_eq(e.msg, want);
    err_clear(&e);
    ck_assert_ptr_null(store_open(dbpath, STORE_RO, &e));
    ck_assert_str_eq(e.msg, want);
}
END_TEST

START_TEST(foreign_sqlite_database_is_refused)
{
    struct err e = {0};

    raw_exec(dbpath, "CREATE TABLE customers(id INTEGER PRIMARY KEY)");
    ck_assert_ptr_null(store_open(dbpath, STORE_RW, &e));
    ck_assert_msg(strstr(e.msg, "not a tocsin store") != NULL, "%s", e.msg);
    ck_assert_int_eq(raw_int(dbpath, "SELECT count(*) FROM sqlite_master"), 1);
}
END_TEST

START_TEST(reader_mode_never_creates_a_missing_store)
{
    struct err e = {0};
    char want[512];
    struct stat sb;

    snprintf(want, sizeof(want), "store %s does not exist", dbpath);
    ck_assert_ptr_null(store_open(dbpath, STORE_RO, &e));
    ck_assert_str_eq(e.msg, want);
    ck_assert_int_eq(stat(dbpath, &sb), -1);
}
END_TEST

START_TEST(reader_mode_refuses_an_empty_file_without_creating_a_schema)
{
    struct err e = {0};
    int fd = open(dbpath, O_CREAT | O_WRONLY, 0644);

    ck_assert_int_ge(fd, 0);
    close(fd);
    ck_assert_ptr_null(store_open(dbpath, STORE_RO, &e));
    ck_assert_msg(strstr(e.msg, "not a tocsin store yet") != NULL, "%s", e.msg);
    ck_assert_int_eq(raw_int(dbpath, "PRAGMA user_version"), 0);
}
END_TEST

START_TEST(reader_mode_refuses_writes)
{
    struct err e = {0};
    struct store *s = open_ok(dbpath, STORE_RW);

    store_close(s);
    s = open_ok(dbpath, STORE_RO);
    ck_assert_int_eq(store_meta_put(s, "k", "v", &e), -1);
    ck_assert_msg(strstr(e.msg, "read-only") != NULL, "%s", e.msg);
    err_clear(&e);
    ck_assert_int_eq(store_begin(s, &e), -1);
    store_close(s);
}
END_TEST

/* As root, permission bits do not stop writes, so the read-only case uses a
 * real read-only file system: a tmpfs remounted ro, in a private mount
 * namespace so nothing leaks to the host. Skipped where mounting is not
 * permitted. */
START_TEST(read_only_filesystem_is_refused_for_writing_but_readable)
{
    char dir[300], path[340];
    struct err e = {0};
    struct store *s;
    struct events_seen es = {0};

    snprintf(dir, sizeof(dir), "%s/ro", tmpdir);
    ck_assert_int_eq(mkdir(dir, 0755), 0);
    if (unshare(CLONE_NEWNS) != 0 ||
        mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) != 0 ||
        mount("tmpfs", dir, "tmpfs", 0, "size=4m") != 0) {
        fprintf(stderr, "SKIP read-only store test: cannot mount (%s)\n",
                strerror(errno));
        rmdir(dir);
        return;
    }
    snprintf(path, sizeof(path), "%s/ro.db", dir);
    s = open_ok(path, STORE_RW);
    add_event(s, 5, "r", "f", "firing", NULL);
    store_close(s);
    ck_assert_int_eq(mount("none", dir, "none", MS_REMOUNT | MS_RDONLY, NULL),
                     0);

    ck_assert_ptr_null(store_open(path, STORE_RW, &e));
    ck_assert_msg(strstr(e.msg, "read-only") != NULL, "%s", e.msg);
    ck_assert_msg(strstr(e.msg, path) != NULL, "%s", e.msg);
    /* a new store in a read-only folder */
    snprintf(path, sizeof(path), "%s/new.db", dir);
    err_clear(&e);
    ck_assert_ptr_null(store_open(path, STORE_RW, &e));
    ck_assert_msg(strstr(e.msg, path) != NULL, "%s", e.msg);

    /* readers still work (WAL store after a clean close: no -shm) */
    snprintf(path, sizeof(path), "%s/ro.db", dir);
    s = open_ok(path, STORE_RO);
    ck_assert_int_eq(store_events_foreach(s, 0, NULL, events_cb, &es, &e), 0);
    ck_assert_int_eq(es.n, 1);
    store_close(s);
    umount2(dir, MNT_DETACH);
    rmdir(dir);
}
END_TEST

START_TEST(full_disk_rolls_back_the_whole_batch)
{
    struct err e = {0};
    char want[512], json[2048];
    struct store *s = open_ok(dbpath, STORE_RW);
    struct events_seen es = {0};
    int failed_at = -1;
    int64_t n = -1;

    add_event(s, 1, "before", "f", "firing", NULL);
    ck_assert_int_eq(store_set_max_pages(s, 1), 0); /* = current size */
    memset(json, 'x', sizeof(json) - 1);
    json[sizeof(json) - 1] = '\0';
    ck_assert_int_eq(store_begin(s, &e), 0);
    for (int i = 0; i < 200 && failed_at < 0; i++) {
        struct store_event ev = {
            .ts = 10 + i,
            .rule = "batch",
            .fingerprint = "f",
            .event = "firing",
            .severity = "warning",
            .json = json,
        };
        struct outbox_row r = {
            .key = json + i,
            .receiver = "x",
            .kind = "event",
            .payload = json,
            .created = 1,
        };
        if (store_event_add(s, &ev, NULL, &e) < 0 ||
            store_outbox_add(s, &r, NULL, &e) < 0)
            failed_at = i;
    }
    ck_assert_int_ge(failed_at, 0);
    snprintf(want, sizeof(want), "store %s: database or disk is full", dbpath);
    ck_assert_str_eq(e.msg, want);
    /* the batch is dead: a later write must not commit on its own */
    err_clear(&e);
    ck_assert_int_eq(store_meta_put(s, "late", "x", &e), -1);
    err_clear(&e);
    ck_assert_int_eq(store_commit(s, &e), -1);
    ck_assert_str_eq(e.msg, want);
    store_close(s);

    s = open_ok(dbpath, STORE_RO);
    ck_assert_int_eq(store_events_foreach(s, 0, NULL, events_cb, &es, &e), 0);
    ck_assert_int_eq(es.n, 1);
    ck_assert_str_eq(es.rule[0], "before");
    ck_assert_int_eq(store_outbox_count(s, OUTBOX_PENDING, &n, &e), 0);
    ck_assert_int_eq(n, 0);
    store_close(s);
}
END_TEST

/* --- concurrency: readers see whole batches --- */

#define CONC_BATCHES 60
#define CONC_PER_BATCH 25

struct conc {
    volatile int done;
    int writer_failed;
    char werr[512];
};

static void *conc_writer(void *arg)
{
    struct conc *c = arg;
    struct err e = {0};
    struct store *s = store_open(dbpath, STORE_RW, &e);

    if (s == NULL)
        goto fail;
    for (int b = 1; b <= CONC_BATCHES; b++) {
        char rule[16], fp[16];

        snprintf(rule, sizeof(rule), "%d", b);
        if (store_begin(s, &e) < 0)
            goto fail;
        for (int k = 0; k < CONC_PER_BATCH; k++) {
            struct store_event ev = {
                .ts = b,
                .rule = rule,
                .fingerprint = "f",
                .event = "firing",
                .severity = "warning",
                .json = "{}",
            };
            struct store_alert a = {
                .fingerprint = fp,
                .rule = rule,
                .labels_json = "{}",
                .severity = "warning",
                .since = b,
                .updated = b,
            };
            snprintf(fp, sizeof(fp), "fp%d", k);
            if (store_event_add(s, &ev, NULL, &e) < 0 ||
                store_alert_put(s, &a, &e) < 0)
                goto fail;
        }
        if (store_commit(s, &e) < 0)
            goto fail;
        sched_yield();
    }
    store_close(s);
    __atomic_store_n(&c->done, 1, __ATOMIC_SEQ_CST);
    return NULL;
fail:
    snprintf(c->werr, sizeof(c->werr), "%s", e.msg);
    c->writer_failed = 1;
    store_close(s);
    __atomic_store_n(&c->done, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

struct conc_read {
    int per_batch[CONC_BATCHES + 1];
    int alerts;
    long alert_batch;
    int mixed;
};

static int conc_event_cb(void *ctx, const struct store_event *ev)
{
    struct conc_read *r = ctx;
    long b = strtol(ev->rule, NULL, 10);

    if (b >= 1 && b <= CONC_BATCHES)
        r->per_batch[b]++;
    return 0;
}

static int conc_alert_cb(void *ctx, const struct store_alert *a)
{
    struct conc_read *r = ctx;
    long b = strtol(a->rule, NULL, 10);

    if (r->alerts++ == 0)
        r->alert_batch = b;
    else if (b != r->alert_batch)
        r->mixed = 1;
    return 0;
}

START_TEST(concurrent_reader_never_sees_a_partial_batch)
{
    struct err e = {0};
    struct store *w = open_ok(dbpath, STORE_RW); /* creates the schema */
    struct store *rd;
    struct conc c = {0};
    pthread_t th;
    int reads = 0;

    store_close(w);
    rd = open_ok(dbpath, STORE_RO);
    ck_assert_int_eq(pthread_create(&th, NULL, conc_writer, &c), 0);
    for (int i = 0; i < 100000 &&
                    (!__atomic_load_n(&c.done, __ATOMIC_SEQ_CST) || reads == 0);
         i++) {
        struct conc_read r = {0};

        ck_assert_msg(
            store_events_foreach(rd, 0, NULL, conc_event_cb, &r, &e) == 0, "%s",
            e.msg);
        for (int b = 1; b <= CONC_BATCHES; b++)
            ck_assert_msg(r.per_batch[b] == 0 ||
                              r.per_batch[b] == CONC_PER_BATCH,
                          "batch %d seen with %d of %d events", b,
                          r.per_batch[b], CONC_PER_BATCH);
        ck_assert_msg(store_alerts_foreach(rd, conc_alert_cb, &r, &e) == 0,
                      "%s", e.msg);
        ck_assert_msg(!r.mixed, "alerts of two batches seen at once");
        ck_assert_msg(r.alerts == 0 || r.alerts == CONC_PER_BATCH, "%d alerts",
                      r.alerts);
        reads++;
    }
    pthread_join(th, NULL);
    ck_assert_msg(!c.writer_failed, "writer: %s", c.werr);
    {
        struct conc_read r = {0};

        ck_assert_int_eq(
            store_events_foreach(rd, 0, NULL, conc_event_cb, &r, &e), 0);
        for (int b = 1; b <= CONC_BATCHES; b++)
            ck_assert_int_eq(r.per_batch[b], CONC_PER_BATCH);
        ck_assert_int_eq(store_alerts_foreach(rd, conc_alert_cb, &r, &e), 0);
        ck_assert_int_eq(r.alert_batch, CONC_BATCHES);
    }
    store_close(rd);
}
END_TEST

/* --- outbox payloads that embed their event (stored compactly) --- */

struct payload_seen {
    int n;
    char payload[4][512];
};

static int payload_cb(void *ctx, const struct outbox_row *r)
{
    struct payload_seen *ps = ctx;

    if (ps->n < 4)
        snprintf(ps->payload[ps->n], sizeof(ps->payload[0]), "%s", r->payload);
    ps->n++;
    return 0;
}

/* The raw payload column of outbox row id (test inspection). */
static void raw_payload(const char *path, int64_t id, char *out, size_t n)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;

    out[0] = '\0';
    ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
    ck_assert_int_eq(
        sqlite3_prepare_v2(db, "SELECT payload FROM outbox WHERE id = ?1", -1,
                           &st, NULL),
        SQLITE_OK);
    sqlite3_bind_int64(st, 1, id);
    if (sqlite3_step(st) == SQLITE_ROW)
        snprintf(out, n, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    sqlite3_close(db);
}

static int64_t add_row(struct store *s, const char *key, int64_t event_id,
                       const char *payload)
{
    struct err e = {0};
    int64_t id = 0;
    struct outbox_row r = {
        .key = key,
        .event_id = event_id,
        .receiver = "hook",
        .fingerprint = "fp",
        .rule = "r",
        .kind = "event",
        .payload = payload,
        .created = 100,
        .next_at = 100,
    };

    ck_assert_msg(store_outbox_add(s, &r, &id, &e) == 0, "%s", e.msg);
    ck_assert_int_gt(id, 0);
    return id;
}

START_TEST(payload_embedding_its_event_reads_back_byte_for_byte)
{
    struct store *s = open_ok(dbpath, STORE_RW);
    struct payload_seen pend = {0}, since = {0};
    struct err e = {0};
    const char *want = "{\"event\":{\"ts\":100.000,\"rule\":\"r\"},"
                       "\"starts_at\":100,\"receiver\":\"hook\"}";
    char raw[512];
    int64_t ev = 0, id;

    ck_assert_int_eq(store_begin(s, &e), 0);
    add_event(s, 100, "r", "fp", "firing", &ev);
    id = add_row(s, "k1", ev, want);
    ck_assert_int_eq(store_commit(s, &e), 0);

    /* Stored without the event's json, which it repeats... */
    raw_payload(dbpath, id, raw, sizeof(raw));
    ck_assert_str_eq(raw, "@,\"starts_at\":100,\"receiver\":\"hook\"}");
    /* ...and read back whole, from a reader connection too. */
    ck_assert_int_eq(store_outbox_pending(s, 0, payload_cb, &pend, &e), 0);
    ck_assert_int_eq(pend.n, 1);
    ck_assert_str_eq(pend.payload[0], want);
    store_close(s);
    s = open_ok(dbpath, STORE_RO);
    ck_assert_int_eq(store_outbox_foreach(s, 0, payload_cb, &since, &e), 0);
    ck_assert_int_eq(since.n, 1);
    ck_assert_str_eq(since.payload[0], want);
    store_close(s);
}
END_TEST

START_TEST(payload_not_embedding_its_own_event_is_stored_as_given)
{
    struct store *s = open_ok(dbpath, STORE_RW);
    struct payload_seen ps = {0};
    struct err e = {0};
    const char *other = "{\"event\":{\"ts\":100.000,\"rule\":\"r\"},\"x\":1}";
    char raw[512];
    int64_t ev1 = 0, ev2 = 0, a, b, c;

    ck_assert_int_eq(store_begin(s, &e), 0);
    add_event(s, 100, "r", "fp", "firing", &ev1);
    add_event(s, 200, "r", "fp", "resolved", &ev2);
    a = add_row(s, "k1", ev1, other); /* not the newest event */
    b = add_row(s, "k2", ev2, "{\"event\":{\"ts\":200.000,\"rule\":\"q\"}}");
    c = add_row(s, "k3", 0, "{\"report\":true}");
    ck_assert_int_eq(store_commit(s, &e), 0);
    raw_payload(dbpath, a, raw, sizeof(raw));
    ck_assert_str_eq(raw, other);
    raw_payload(dbpath, b, raw, sizeof(raw));
    ck_assert_str_eq(raw, "{\"event\":{\"ts\":200.000,\"rule\":\"q\"}}");
    raw_payload(dbpath, c, raw, sizeof(raw));
    ck_assert_str_eq(raw, "{\"report\":true}");
    ck_assert_int_eq(store_outbox_pending(s, 0, payload_cb, &ps, &e), 0);
    ck_assert_int_eq(ps.n, 3);
    ck_assert_str_eq(ps.payload[0], other);
    ck_assert_str_eq(ps.payload[2], "{\"report\":true}");
    store_close(s);
}
END_TEST

START_TEST(payload_of_a_rolled_back_event_id_is_stored_whole)
{
    struct store *s = open_ok(dbpath, STORE_RW);
    struct err e = {0};
    const char *pl = "{\"event\":{\"ts\":100.000,\"rule\":\"r\"},\"n\":1}";
    char raw[512];
    int64_t ev = 0, id;

    ck_assert_int_eq(store_begin(s, &e), 0);
    add_event(s, 100, "r", "fp", "firing", &ev);
    store_rollback(s);
    /* The id of the rolled-back event names no row (or, later, another
     * event): the payload must not lean on it. */
    ck_assert_int_eq(store_begin(s, &e), 0);
    id = add_row(s, "k1", ev, pl);
    ck_assert_int_eq(store_commit(s, &e), 0);
    raw_payload(dbpath, id, raw, sizeof(raw));
    ck_assert_str_eq(raw, pl);
    store_close(s);
}
END_TEST

START_TEST(
    begin_nowait_answers_busy_at_once_while_another_writer_holds_the_lock)
{
    struct err e = {0};
    struct store *a = open_ok(dbpath, STORE_RW);
    struct store *b = open_ok(dbpath, STORE_RW);

    ck_assert_int_eq(store_begin(a, &e), 0);
    /* store_begin would wait out its busy timeout, then fail (-1). */
    ck_assert_int_eq(store_begin_nowait(b, &e), 1);
    ck_assert_msg(!e.set, "busy is not an error: %s", e.msg);
    ck_assert_int_eq(store_commit(a, &e), 0);
    ck_assert_int_eq(store_begin_nowait(b, &e), 0);
    ck_assert_int_eq(store_meta_put(b, "k", "v", &e), 0);
    ck_assert_int_eq(store_commit(b, &e), 0);
    store_close(a);
    store_close(b);
}
END_TEST

START_TEST(pending_count_follows_status_changes)
{
    struct store *s = open_ok(dbpath, STORE_RW);
    struct err e = {0};
    int64_t a, n = -1;

    a = add_row(s, "k1", 0, "{}");
    add_row(s, "k2", 0, "{}");
    ck_assert_int_eq(store_outbox_count(s, OUTBOX_PENDING, &n, &e), 0);
    ck_assert_int_eq(n, 2);
    ck_assert_int_eq(
        store_outbox_update(s, a, OUTBOX_SENT, 1, 0, NULL, 200, 101, &e), 0);
    ck_assert_int_eq(store_outbox_count(s, OUTBOX_PENDING, &n, &e), 0);
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(store_outbox_count(s, OUTBOX_SENT, &n, &e), 0);
    ck_assert_int_eq(n, 1);
    store_close(s);
}
END_TEST

static int count_cb(void *ctx, const struct outbox_row *r)
{
    (void)r;
    (*(int *)ctx)++;
    return 0;
}

/* Page cache bytes of the connection (SQLITE_DBSTATUS_CACHE_USED). */
static int cache_used(struct store *s)
{
    int cur = 0, hi = 0;

    ck_assert_int_eq(
        sqlite3_db_status(s->db, SQLITE_DBSTATUS_CACHE_USED, &cur, &hi, 0),
        SQLITE_OK);
    return cur;
}

START_TEST(cache_limit_frees_pages_and_caps_a_long_read)
{
    struct err e = {0};
    struct store *s = open_ok(dbpath, STORE_RW);
    char payload[1024], key[32];
    int n = 0;

    memset(payload, 'p', sizeof(payload) - 1);
    payload[sizeof(payload) - 1] = '\0';
    ck_assert_int_eq(store_begin(s, &e), 0);
    for (int i = 0; i < 4000; i++) {
        struct outbox_row r = {
            .key = key,
            .receiver = "x",
            .kind = "event",
            .payload = payload,
            .created = 1,
        };
        snprintf(key, sizeof(key), "k%d", i);
        ck_assert_int_eq(store_outbox_add(s, &r, NULL, &e), 0);
    }
    ck_assert_int_eq(store_commit(s, &e), 0);
    /* About 4 MiB of rows read through the default cache stay cached. */
    ck_assert_int_eq(store_outbox_pending(s, 10000, count_cb, &n, &e), 0);
    ck_assert_int_eq(n, 4000);
    ck_assert_int_gt(cache_used(s), 3 << 20);
    ck_assert_int_eq(store_cache_limit(s, 512), 0);
    ck_assert_int_le(cache_used(s), 600 << 10);
    n = 0;
    ck_assert_int_eq(store_outbox_pending(s, 10000, count_cb, &n, &e), 0);
    ck_assert_int_eq(n, 4000);
    ck_assert_int_le(cache_used(s), 600 << 10);
    store_close(s);
}
END_TEST

Suite *store_suite(void)
{
    Suite *s = suite_create("store");
    TCase *mem = tcase_create("rows");
    TCase *file = tcase_create("file");

    tcase_add_test(mem, series_blobs_round_trip_including_nul_bytes_and_delete);
    tcase_add_test(mem,
                   alerts_list_critical_first_then_oldest_and_keep_null_value);
    tcase_add_test(mem,
                   events_are_listed_oldest_first_filtered_by_since_and_rule);
    tcase_add_test(mem,
                   outbox_duplicate_key_is_ignored_and_pending_keeps_id_order);
    tcase_add_test(mem, outbox_status_names_are_stable);
    tcase_add_test(
        mem, pending_after_lists_only_newer_rows_and_payload_reads_one_row);
    tcase_add_test(mem,
                   heard_receivers_are_replaced_listed_and_cleared_per_alert);
    tcase_add_test(mem,
                   silences_are_active_between_starts_and_ends_and_expire_once);
    tcase_add_test(mem, meta_values_round_trip_and_absent_key_returns_1);
    tcase_add_test(mem, foreach_callback_may_reenter_the_same_query);
    suite_add_tcase(s, mem);

    tcase_add_checked_fixture(file, tmp_setup, tmp_teardown);
    tcase_set_timeout(file, 60);
    tcase_add_test(file,
                   committed_rows_survive_reopen_and_rolled_back_rows_do_not);
    tcase_add_test(file, store_uses_wal_and_sets_schema_version);
    tcase_add_test(file, empty_file_is_migrated_to_the_current_schema);
    tcase_add_test(file, newer_schema_is_refused_with_both_versions_named);
    tcase_add_test(file, garbage_file_is_reported_as_not_a_store);
    tcase_add_test(file, foreign_sqlite_database_is_refused);
    tcase_add_test(file, reader_mode_never_creates_a_missing_store);
    tcase_add_test(file,
                   reader_mode_refuses_an_empty_file_without_creating_a_schema);
    tcase_add_test(file, reader_mode_refuses_writes);
    tcase_add_test(file,
                   read_only_filesystem_is_refused_for_writing_but_readable);
    tcase_add_test(file, full_disk_rolls_back_the_whole_batch);
    tcase_add_test(file, concurrent_reader_never_sees_a_partial_batch);
    tcase_add_test(file, payload_embedding_its_event_reads_back_byte_for_byte);
    tcase_add_test(file,
                   payload_not_embedding_its_own_event_is_stored_as_given);
    tcase_add_test(file, payload_of_a_rolled_back_event_id_is_stored_whole);
    tcase_add_test(file, pending_count_follows_status_changes);
    tcase_add_test(file, cache_limit_frees_pages_and_caps_a_long_read);
    tcase_add_test(
        file,
        begin_nowait_answers_busy_at_once_while_another_writer_holds_the_lock);
    suite_add_tcase(s, file);
    return s;
}
