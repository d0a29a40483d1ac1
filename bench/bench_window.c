/* bench_window.c - micro-benchmark of rules/window.c: add + evaluate
 * throughput for last, avg, p90 and rate over 5m windows, for many quiet
 * series and for one hot series, and the heap cost of an idle `last` series.
 * Standalone; build and run (bench/run.sh or by hand):
 *   cc -O2 -std=c11 -D_GNU_SOURCE -o build/bench_window bench/bench_window.c \
 *      rules/window.c rules/quantile.c common/buf.c common/log.c -lm */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "../rules/window.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* xorshift: deterministic values without libc rand's cost. */
static uint64_t rng = 88172645463325252ull;
static double next_value(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng % 100000) / 100;
}

struct agg_case {
    const char *name;
    struct aggregate agg;
};

static volatile double sink;

/* nseries series, one sample every `step` s each, for `span` s of stream;
 * every sample is followed by an evaluation (as the engine does). */
static void run_case(const struct agg_case *c, size_t nseries, double step,
                     double span, const char *label)
{
    struct window **w = malloc(nseries * sizeof(*w));
    if (!w)
        return;
    for (size_t i = 0; i < nseries; i++)
        w[i] = window_new(&c->agg, 300, false);
    double counter = 0;
    size_t n = 0;
    double t0 = now_s();
    for (double t = 0; t < span; t += step) {
        for (size_t i = 0; i < nseries; i++) {
            double v = c->agg.kind == AGG_RATE ? (counter += 1 + next_value())
                                               : next_value();
            double out;
            window_add(w[i], 1767225600 + t, v, 1, false);
            if (window_eval(w[i], 1767225600 + t, &out) == 0)
                sink = out;
            n++;
        }
    }
    double dt = now_s() - t0;
    size_t mem = 0;
    for (size_t i = 0; i < nseries; i++) {
        mem += window_memory(w[i]);
        window_free(w[i]);
    }
    free(w);
    printf("window %s over 5m: %.0f samples/s (%s; %.0f bytes/series)\n",
           c->name, n / dt, label, (double)mem / nseries);
}

static void idle_last(void)
{
    enum { N = 100000 };
    struct aggregate a = {AGG_LAST, 0};
    struct window **w = malloc(N * sizeof(*w));
    if (!w)
        return;
    struct mallinfo2 before = mallinfo2();
    size_t est = 0;
    for (size_t i = 0; i < N; i++) {
        w[i] = window_new(&a, 0, false);
        window_add(w[i], 1767225600, next_value(), 1, false);
        est += window_memory(w[i]);
    }
    struct mallinfo2 after = mallinfo2();
    printf("bytes per idle last series: %.0f (heap, measured), %.0f "
           "(window_memory)\n",
           (double)(after.uordblks - before.uordblks) / N, (double)est / N);
    for (size_t i = 0; i < N; i++)
        window_free(w[i]);
    free(w);
}

int main(int argc, char **argv)
{
    /* --quick: a smaller run for smoke tests. */
    int quick =
        argc > 1 && argv[1][0] == '-' && argv[1][1] == '-' && argv[1][2] == 'q';
    struct agg_case cases[] = {
        {"last", {AGG_LAST, 0}},
        {"avg", {AGG_AVG, 0}},
        {"p90", {AGG_QUANTILE, 0.9}},
        {"rate", {AGG_RATE, 0}},
    };
    size_t many = quick ? 10000 : 100000;
    double span = quick ? 600 : 1200;
    double hot_span = quick ? 60 : 600;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char label[64];
        snprintf(label, sizeof(label), "%zu series x 1 sample/10s", many);
        run_case(&cases[i], many, 10, span, label);
        run_case(&cases[i], 1, 0.001, hot_span, "1 hot series x 1 sample/ms");
    }
    idle_last();
    return 0;
}
