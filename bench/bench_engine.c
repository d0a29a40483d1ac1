/* bench_engine.c - samples per second through parse + evaluate for 100k
 * series, per input format, for `last`, `avg` over 5m and `p90` over 5m,
 * and heap bytes per idle `last` series. Run by `make bench`.
 *
 * Each run builds its lines in memory first (so file I/O is not measured),
 * then times ingest_parse_line + engine_feed over them on one core. */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/buf.h"
#include "../common/util.h"
#include "../ingest/parse.h"
#include "../rules/config.h"
#include "../rules/engine.h"

#define SERIES 100000
#define ROUNDS 20 /* samples per series: one every 10 s */

struct feed_ctx {
    struct engine *e;
    unsigned long events;
};

static int on_event(void *ctx, const struct alert_event *ev)
{
    (void)ev;
    ((struct feed_ctx *)ctx)->events++;
    return 0;
}

static int feed(void *ctx, const struct sample *s)
{
    struct feed_ctx *f = ctx;
    struct sample copy;

    if (s->ts != s->ts) { /* StatsD lines carry no timestamp */
        copy = *s;
        copy.ts = 1767225600.0 + (double)(f->events % 1000);
        s = &copy;
    }
    engine_feed(f->e, s, on_event, f);
    return 0;
}

static struct config *load(const char *agg, const char *window)
{
    char yaml[1024];
    struct cfg_diag d;
    struct config *c;

    snprintf(yaml, sizeof(yaml),
             "rules:\n"
             "  - name: cpu_high\n"
             "    metric: cpu\n"
             "    by: [host]\n"
             "%s%s%s"
             "    aggregate: %s\n"
             "    severity:\n"
             "      warning: {above: 0.99, clear: 0.9}\n",
             window ? "    window: " : "", window ? window : "",
             window ? "\n" : "", agg);
    cfg_diag_init(&d, "bench.yaml");
    c = config_load_buf(yaml, strlen(yaml), "bench.yaml", ".", &d);
    if (c == NULL) {
        cfg_diag_print(&d, stderr);
        exit(1);
    }
    cfg_diag_cleanup(&d);
    return c;
}

/* One line for series i at round r, in format f. */
static void line(struct buf *b, enum ingest_format f, int i, int r)
{
    double ts = 1767225600.0 + r * 10.0 + (i % 10) * 0.001;
    /* A value that breaches for 1% of the series now and then. */
    double v = (i % 100 == 0 && r % 5 == 4) ? 0.995 : 0.2 + (i % 50) * 0.01;

    switch (f) {
    case FMT_INFLUX:
        buf_printf(b, "cpu,host=h%d value=%g %.0f\n", i, v, ts * 1e9);
        break;
    case FMT_JSON:
        buf_printf(b,
                   "{\"metric\":\"cpu\",\"labels\":{\"host\":\"h%d\"},"
                   "\"value\":%g,\"ts\":%.3f}\n",
                   i, v, ts);
        break;
    case FMT_PROM:
        buf_printf(b, "cpu{host=\"h%d\"} %g %.0f\n", i, v, ts * 1e3);
        break;
    case FMT_GRAPHITE:
        buf_printf(b, "cpu;host=h%d %g %.0f\n", i, v, ts);
        break;
    case FMT_STATSD:
        buf_printf(b, "cpu:%g|g|#host:h%d\n", v, i);
        break;
    default:
        break;
    }
}

static void run(enum ingest_format f, const char *agg, const char *window)
{
    struct config *c = load(agg, window);
    struct feed_ctx fc = {engine_new(c), 0};
    struct ingest_parser *p = ingest_parser_new(f);
    struct buf b;
    const char *s, *end;
    char why[128];
    unsigned long n = 0;
    double t0, dt;

    buf_init(&b, (size_t)1 << 31);
    for (int r = 0; r < ROUNDS; r++)
        for (int i = 0; i < SERIES; i++)
            line(&b, f, i, r);
    t0 = util_mono();
    s = buf_str(&b);
    end = s + b.len;
    while (s < end) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        ingest_parse_line(p, s, (size_t)(nl - s), feed, &fc, why, sizeof(why));
        n++;
        s = nl + 1;
    }
    dt = util_mono() - t0;
    printf("engine %-8s %-5s %-3s: %9.0f samples/s (%lu samples, %lu events, "
           "%.2f s)\n",
           ingest_format_name(f), agg, window ? window : "-", n / dt, n,
           fc.events, dt);
    fflush(stdout);
    buf_cleanup(&b);
    ingest_parser_free(p);
    engine_free(fc.e);
    config_free(c);
}

static void memory_per_series(void)
{
    struct config *c = load("last", NULL);
    struct engine *e;
    struct mallinfo2 before, after;
    char host[32];
    struct label lb[1] = {{"host", host}};

    malloc_trim(0);
    before = mallinfo2();
    e = engine_new(c);
    for (int i = 0; i < SERIES; i++) {
        struct sample s = {"cpu", lb, 1, 0.5, 1767225600.0};
        snprintf(host, sizeof(host), "h%d", i);
        engine_feed(e, &s, NULL, NULL);
    }
    after = mallinfo2();
    printf("engine memory: %.0f bytes per idle `last` series (%d series)\n",
           (double)(after.uordblks - before.uordblks) / SERIES, SERIES);
    engine_free(e);
    config_free(c);
}

int main(void)
{
    static const enum ingest_format fmts[] = {FMT_INFLUX, FMT_JSON, FMT_PROM,
                                              FMT_GRAPHITE, FMT_STATSD};

    memory_per_series();
    for (size_t i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++)
        run(fmts[i], "last", NULL);
    run(FMT_INFLUX, "avg", "5m");
    run(FMT_INFLUX, "p90", "5m");
    run(FMT_JSON, "avg", "5m");
    run(FMT_JSON, "p90", "5m");
    return 0;
}
