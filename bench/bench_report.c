/* bench_report.c - times the noisy-alert report over a store holding 1M
 * history events (1,000 rules x 20 alerts, firing/resolved pairs over a
 * week, inserted in batched transactions through store.h) and prints
 * "report: 1M events in X s" (target < 2 s). Standalone; build and run:
 *   make build/plain/libtocsin.a
 *   cc -std=c11 -D_GNU_SOURCE -O2 $(pkg-config --cflags libcjson sqlite3) \
 *     -o build/bench_report bench/bench_report.c build/plain/libtocsin.a \
 *     $(pkg-config --libs libcurl libcjson sqlite3 yaml-0.1 libmicrohttpd \
 *     libcrypto) -lm -lpthread && build/bench_report [N]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/util.h"
#include "../report/report.h"
#include "../store/store.h"

#define T0 1767225600.0
#define WEEK (7 * 86400.0)
#define BATCH 20000

int main(int argc, char **argv)
{
    long n = 1000000;
    char dir[] = "/tmp/bench_report_XXXXXX", path[96], rule[32], fp[32];
    char json[160];
    struct err e = {0};
    struct store *s;
    struct report *r = NULL;
    double t_ins, t_rep;
    const int nrules = 1000, nfp = 20;

    if (argc > 1) {
        char *end;
        n = strtol(argv[1], &end, 10);
        if (*end != '\0' || n <= 0) {
            fprintf(stderr, "usage: bench_report [EVENTS]\n");
            return 2;
        }
    }
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(path, sizeof(path), "%s/bench.db", dir);
    s = store_open(path, STORE_RW, &e);
    if (s == NULL) {
        fprintf(stderr, "bench_report: %s\n", e.msg);
        return 1;
    }
    t_ins = util_mono();
    for (long i = 0; i < n; i++) {
        /* Event i belongs to alert (i / 2) % (rules*fps): pairs of
         * firing/resolved, spread evenly over the week. */
        long pair = i / 2, alert = pair % (nrules * nfp);
        double ts = T0 + WEEK * (double)i / (double)n;
        bool firing = (i % 2) == 0;
        struct store_event ev = {
            .ts = ts,
            .rule = rule,
            .fingerprint = fp,
            .event = firing ? "firing" : "resolved",
            .severity = firing ? "warning" : "ok",
            .previous = firing ? "ok" : "warning",
            .json = json,
        };
        snprintf(rule, sizeof(rule), "rule_%04ld", alert / nfp);
        snprintf(fp, sizeof(fp), "%016lx", (unsigned long)alert * 2654435761u);
        snprintf(json, sizeof(json),
                 "{\"ts\":%.3f,\"rule\":\"%s\",\"event\":\"%s\"}", ts, rule,
                 ev.event);
        if (i % BATCH == 0 && store_begin(s, &e) < 0)
            goto fail;
        if (store_event_add(s, &ev, NULL, &e) < 0)
            goto fail;
        if ((i % BATCH == BATCH - 1 || i == n - 1) && store_commit(s, &e) < 0)
            goto fail;
    }
    t_ins = util_mono() - t_ins;
    store_close(s);

    /* A reader, as `tocsin report` opens it. */
    s = store_open(path, STORE_RO, &e);
    if (s == NULL)
        goto fail;
    t_rep = util_mono();
    if (report_compute(s, T0, T0 + WEEK, REPORT_DEFAULT_SHORT, &r, &e) < 0)
        goto fail;
    t_rep = util_mono() - t_rep;
    printf("report: insert %ld events in %.2f s\n", n, t_ins);
    printf("report: %s events in %.2f s (%zu rules, target < 2 s)\n",
           n == 1000000 ? "1M" : argv[1], t_rep, r->nrules);
    report_free(r);
    store_close(s);
    unlink(path);
    snprintf(path, sizeof(path), "%s/bench.db-wal", dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/bench.db-shm", dir);
    unlink(path);
    rmdir(dir);
    return 0;
fail:
    fprintf(stderr, "bench_report: %s\n", e.msg);
    store_close(s);
    return 1;
}
