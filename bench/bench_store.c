/* bench_store.c - store throughput benchmark (standalone program, run by
 * bench/run.sh): events committed per second as history + outbox rows in
 * one transaction per batch of 1000 (target >= 50k/s), shaped as the router
 * writes them (payload {"event":<json>,"starts_at":..,"receiver":..}, keys
 * "msg_" + time + hash), and the time to reopen a store holding 100k
 * series and read them all back (target < 1 s).
 * Build: cc -O2 -Icommon bench/bench_store.c build/plain/libtocsin.a \
 *        $(pkg-config --libs sqlite3 libcrypto libcjson) -lm -lpthread */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../common/util.h"
#include "../store/store.h"

#define BATCH 1000
#define NEVENTS 200000
#define NSERIES 100000

static char dir[] = "/tmp/bench_store.XXXXXX";
static char path[64];

static void cleanup(void)
{
    char p[96];
    const char *sfx[] = {"", "-wal", "-shm"};

    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof(p), "%s%s", path, sfx[i]);
        unlink(p);
    }
}

/* CPU seconds of this process: the figure that does not depend on how
 * busy the machine is (wall time is what the targets are about). */
static double cpu_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int die(const char *what, const struct err *e)
{
    fprintf(stderr, "bench_store: %s: %s\n", what, e->msg);
    cleanup();
    rmdir(dir);
    return 1;
}

static int count_series(void *ctx, const char *key, const void *blob,
                        size_t len)
{
    (void)key;
    (void)blob;
    *(size_t *)ctx += len > 0;
    return 0;
}

int main(void)
{
    struct err e = {0};
    struct store *s;
    char json[400], payload[512], key[64], fp[32];
    unsigned char blob[256];
    double t0, dt, c0;
    size_t n = 0;

    if (mkdtemp(dir) == NULL)
        return 1;
    snprintf(path, sizeof(path), "%s/bench.db", dir);

    /* 1. events + outbox rows, one transaction per batch */
    s = store_open(path, STORE_RW, &e);
    if (s == NULL)
        return die("open", &e);
    t0 = util_mono();
    c0 = cpu_now();
    for (int i = 0; i < NEVENTS; i += BATCH) {
        if (store_begin(s, &e) < 0)
            return die("begin", &e);
        for (int j = i; j < i + BATCH; j++) {
            int64_t id = 0;
            struct store_event ev = {
                .ts = 1767225600.0 + j,
                .rule = "api_p90_latency",
                .fingerprint = fp,
                .event = "firing",
                .severity = "warning",
                .previous = "ok",
                .json = json,
            };
            struct outbox_row r = {
                .key = key,
                .receiver = "slack-prod",
                .fingerprint = fp,
                .rule = "api_p90_latency",
                .kind = "event",
                .payload = payload,
                .created = ev.ts,
                .next_at = ev.ts,
            };

            snprintf(fp, sizeof(fp), "%016x", (unsigned)(j % 5000));
            snprintf(json, sizeof(json),
                     "{\"ts\":%.3f,\"rule\":\"api_p90_latency\",\"labels\":{"
                     "\"alertname\":\"api_p90_latency\",\"service\":\"s%d\"},"
                     "\"event\":\"firing\",\"severity\":\"warning\","
                     "\"previous\":\"ok\",\"value\":212.5,\"reason\":"
                     "\"threshold\",\"fingerprint\":\"%s\"}",
                     ev.ts, j % 5000, fp);
            if (store_event_add(s, &ev, &id, &e) < 0)
                return die("event", &e);
            /* as router.c: 11 hex of the time in ms, 13 of a hash */
            snprintf(key, sizeof(key), "msg_%011llx%013llx",
                     (unsigned long long)llround(ev.ts * 1000.0),
                     (unsigned long long)((uint64_t)j * 0x9e3779b97f4a7c15ull >>
                                          12));
            snprintf(payload, sizeof(payload),
                     "{\"event\":%s,\"starts_at\":%.3f,\"receiver\":"
                     "\"slack-prod\"}",
                     json, ev.ts);
            r.event_id = id;
            if (store_outbox_add(s, &r, NULL, &e) < 0)
                return die("outbox", &e);
        }
        if (store_commit(s, &e) < 0)
            return die("commit", &e);
    }
    dt = util_mono() - t0;
    printf("store: %.0f events committed/s (batches of %d)\n", NEVENTS / dt,
           BATCH);
    printf("store: %.0f events/s per CPU second (machine load aside)\n",
           NEVENTS / (cpu_now() - c0));

    /* 2. 100k series checkpoints, then reopen and read them all */
    memset(blob, 0xab, sizeof(blob));
    if (store_begin(s, &e) < 0)
        return die("begin", &e);
    for (int i = 0; i < NSERIES; i++) {
        snprintf(key, sizeof(key), "api_p90_latency|service=s%d", i);
        snprintf(fp, sizeof(fp), "%016x", (unsigned)i);
        if (store_series_put(s, key, "api_p90_latency", fp, blob, sizeof(blob),
                             &e) < 0)
            return die("series", &e);
    }
    if (store_commit(s, &e) < 0)
        return die("commit", &e);
    store_close(s);

    t0 = util_mono();
    s = store_open(path, STORE_RW, &e);
    if (s == NULL)
        return die("reopen", &e);
    if (store_series_foreach(s, count_series, &n, &e) < 0)
        return die("series read", &e);
    dt = util_mono() - t0;
    store_close(s);
    if (n != NSERIES) {
        fprintf(stderr, "bench_store: read %zu series, want %d\n", n, NSERIES);
        return 1;
    }
    printf("store: reopen with 100k series: %.0f ms\n", dt * 1000);
    cleanup();
    rmdir(dir);
    return 0;
}
