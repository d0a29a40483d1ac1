/* bench_parse.c - parser throughput: generates N lines per format in memory
 * (100k distinct series), times ingest_parse_line over them and prints
 * "parse FORMAT: X lines/s". Usage: bench_parse [LINES] (default 1000000).
 * Built and run by `make bench` against libtocsin.a. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../ingest/parse.h"

#define SERIES 100000

static double now_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int count_sample(void *ctx, const struct sample *s)
{
    double *sum = ctx;
    *sum += s->value + (double)s->nlabels;
    return 0;
}

/* One line of format f for series i at step k into out; returns length. */
static int gen_line(enum ingest_format f, long i, long k, char *out, size_t cap)
{
    long series = i % SERIES;
    long ts = 1767225600 + k;
    int v = (int)((i * 7919) % 1000);

    switch (f) {
    case FMT_JSON:
        return snprintf(out, cap,
                        "{\"metric\":\"cpu\",\"labels\":{\"host\":\"h%05ld\","
                        "\"dc\":\"eu\"},\"value\":%d.%02d,\"ts\":%ld.5}",
                        series, v, v % 100, ts);
    case FMT_INFLUX:
        return snprintf(out, cap,
                        "cpu,host=h%05ld,dc=eu usage=%d.%02d,idle=0.07 "
                        "%ld500000000",
                        series, v, v % 100, ts);
    case FMT_PROM:
        return snprintf(out, cap,
                        "cpu_usage{host=\"h%05ld\",dc=\"eu\"} %d.%02d %ld500",
                        series, v, v % 100, ts);
    case FMT_GRAPHITE:
        return snprintf(out, cap, "servers.h%05ld.cpu %d.%02d %ld", series, v,
                        v % 100, ts);
    case FMT_STATSD:
        return snprintf(out, cap, "api.latency:%d|ms|#host:h%05ld,env:prod", v,
                        series);
    case FMT_AUTO:
        break;
    }
    return -1;
}

static int bench(enum ingest_format f, long nlines)
{
    size_t cap = (size_t)nlines * 128, used = 0;
    char *text = malloc(cap);
    size_t *off = malloc(((size_t)nlines + 1) * sizeof(*off));
    struct ingest_parser *p = ingest_parser_new(f);
    double sum = 0, t0, dt;
    long rejected = 0, samples = 0;
    char why[256];

    if (text == NULL || off == NULL || p == NULL) {
        fprintf(stderr, "bench_parse: out of memory\n");
        return -1;
    }
    for (long i = 0; i < nlines; i++) {
        int n = gen_line(f, i, i / SERIES, text + used, cap - used);
        if (n < 0 || (size_t)n >= cap - used)
            return -1;
        off[i] = used;
        used += (size_t)n + 1;
    }
    off[nlines] = used;
    t0 = now_mono();
    for (long i = 0; i < nlines; i++) {
        int rc = ingest_parse_line(p, text + off[i], off[i + 1] - off[i] - 1,
                                   count_sample, &sum, why, sizeof(why));
        if (rc < 0)
            rejected++;
        else
            samples += rc;
    }
    dt = now_mono() - t0;
    printf("parse %s: %.0f lines/s (%ld samples, %ld rejected, %.3f s)\n",
           ingest_format_name(f), (double)nlines / dt, samples, rejected, dt);
    if (sum == -1)
        printf("\n"); /* keep the work observable */
    ingest_parser_free(p);
    free(off);
    free(text);
    return rejected ? -1 : 0;
}

int main(int argc, char **argv)
{
    long n = 1000000;
    int rc = 0;

    if (argc > 1) {
        char *end;
        n = strtol(argv[1], &end, 10);
        if (*end != '\0' || n <= 0) {
            fprintf(stderr, "usage: bench_parse [LINES]\n");
            return 2;
        }
    }
    for (int f = FMT_JSON; f <= FMT_STATSD; f++)
        if (bench((enum ingest_format)f, n) < 0)
            rc = 1;
    return rc;
}
