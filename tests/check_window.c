/* check_window.c - tests for rules/window.c and rules/quantile.c: every
 * aggregate against hand-computed values, window boundaries, out-of-order
 * sources, save/load, and random streams against a naive reference. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../common/buf.h"
#include "../rules/quantile.h"
#include "../rules/window.h"

static struct aggregate ag(enum agg_kind k, double param)
{
    struct aggregate a = {k, param};
    return a;
}

/* Evaluate and demand a value. */
static double ev(struct window *w, double t)
{
    double v = NAN;
    ck_assert_int_eq(window_eval(w, t, &v), 0);
    return v;
}

static int ev_none(struct window *w, double t)
{
    double v;
    return window_eval(w, t, &v) == 1;
}

/* An empty window: a count, a sum and an increase of no samples are 0;
 * the other aggregates, rate and every ratio (an empty denominator) have
 * no value. A width-0 window (the newest sample) has none before its
 * first sample. */
START_TEST(empty_window_counts_zero_else_no_value)
{
    for (int k = AGG_LAST; k <= AGG_INCREASE; k++) {
        struct aggregate a = ag(k, 0.5);
        struct window *w = window_new(&a, 60, false);
        if (k == AGG_COUNT || k == AGG_SUM || k == AGG_INCREASE)
            ck_assert_double_eq(ev(w, 100), 0);
        else
            ck_assert(ev_none(w, 100));
        window_free(w);
        if (k == AGG_COUNT || k == AGG_SUM || k == AGG_RATE ||
            k == AGG_INCREASE) {
            w = window_new(&a, 60, true);
            ck_assert(ev_none(w, 100));
            window_free(w);
        }
        w = window_new(&a, 0, false);
        ck_assert(ev_none(w, 100));
        window_free(w);
    }
}
END_TEST

START_TEST(last_is_newest_sample_and_later_added_wins_tie)
{
    struct aggregate a = ag(AGG_LAST, 0);
    struct window *w = window_new(&a, 60, false);
    window_add(w, 10, 1, 1, false);
    window_add(w, 20, 2, 1, false);
    ck_assert_double_eq(ev(w, 20), 2);
    window_add(w, 20, 3, 2, false);
    ck_assert_double_eq(ev(w, 20), 3);
    window_add(w, 15, 9, 3, false); /* older, another source */
    ck_assert_double_eq(ev(w, 20), 3);
    ck_assert_uint_eq(window_count(w), 4);
    window_free(w);
}
END_TEST

START_TEST(min_max_follow_window_as_samples_leave)
{
    struct aggregate amin = ag(AGG_MIN, 0), amax = ag(AGG_MAX, 0);
    struct window *mn = window_new(&amin, 10, false);
    struct window *mx = window_new(&amax, 10, false);
    double vals[] = {5, 1, 7, 3, 3, 6, 2};
    for (int i = 0; i < 7; i++) {
        window_add(mn, i * 4, vals[i], 1, false);
        window_add(mx, i * 4, vals[i], 1, false);
    }
    /* t = 24: window (14, 24] holds ts 16, 20, 24 -> 3, 6, 2 */
    ck_assert_double_eq(ev(mn, 24), 2);
    ck_assert_double_eq(ev(mx, 24), 6);
    ck_assert_uint_eq(window_count(mx), 3);
    /* t = 29: (19, 29] holds 20, 24 -> 6, 2 */
    ck_assert_double_eq(ev(mx, 29), 6);
    /* t = 31: (21, 31] holds 24 -> 2 */
    ck_assert_double_eq(ev(mx, 31), 2);
    ck_assert_double_eq(ev(mn, 31), 2);
    window_free(mn);
    window_free(mx);
}
END_TEST

START_TEST(sum_avg_count_over_window)
{
    struct aggregate as = ag(AGG_SUM, 0), aa = ag(AGG_AVG, 0),
                     ac = ag(AGG_COUNT, 0);
    struct window *s = window_new(&as, 30, false);
    struct window *a = window_new(&aa, 30, false);
    struct window *c = window_new(&ac, 30, false);
    for (int i = 1; i <= 10; i++) {
        window_add(s, i * 10, i, 1, false);
        window_add(a, i * 10, i, 1, false);
        window_add(c, i * 10, i, 1, false);
    }
    /* (70, 100] holds 8, 9, 10 */
    ck_assert_double_eq(ev(s, 100), 27);
    ck_assert_double_eq(ev(a, 100), 9);
    ck_assert_double_eq(ev(c, 100), 3);
    window_free(s);
    window_free(a);
    window_free(c);
}
END_TEST

/* Values near the double's limit: the running sums overflow, yet an
 * average and a standard deviation are exact, a sum past the range is
 * +inf (never NaN), and once those samples leave, the values are right
 * again. */
START_TEST(sums_past_the_double_range_stay_meaningful)
{
    struct aggregate as = ag(AGG_SUM, 0), aa = ag(AGG_AVG, 0),
                     ad = ag(AGG_STDDEV, 0);
    struct window *s = window_new(&as, 60, false);
    struct window *a = window_new(&aa, 60, false);
    struct window *d = window_new(&ad, 60, false);
    struct window *all[] = {s, a, d};

    for (int k = 0; k < 3; k++) {
        window_add(all[k], 1000, 1.7e308, 1, false);
        window_add(all[k], 1001, 1.7e308, 1, false);
    }
    ck_assert(isinf(ev(s, 1001)) && ev(s, 1001) > 0);
    ck_assert_double_eq(ev(a, 1001), 1.7e308);
    ck_assert_double_eq(ev(d, 1001), 0);
    for (int k = 0; k < 3; k++)
        window_add(all[k], 1100, 0.5, 1, false);
    ck_assert_double_eq(ev(s, 1100), 0.5);
    ck_assert_double_eq(ev(a, 1100), 0.5);
    ck_assert_double_eq(ev(d, 1100), 0);
    for (int k = 0; k < 3; k++)
        window_free(all[k]);
}
END_TEST

/* Giants of opposite sign leave the window: the rounding they leave in the
 * running sum must not swallow the sample that stays (12.8 read as 0). */
START_TEST(giants_leaving_do_not_swallow_what_stays)
{
    struct aggregate as = ag(AGG_SUM, 0), aa = ag(AGG_AVG, 0);
    struct window *s = window_new(&as, 120, false);
    struct window *a = window_new(&aa, 120, false);
    struct window *all[] = {s, a};

    for (int k = 0; k < 2; k++) {
        window_add(all[k], 1000, 1e300, 1, false);
        window_add(all[k], 1010, -1e308, 1, false);
        window_add(all[k], 1600, 12.8, 1, false);
    }
    ck_assert_double_eq(ev(s, 1600), 12.8);
    ck_assert_double_eq(ev(a, 1600), 12.8);
    for (int k = 0; k < 2; k++)
        window_add(all[k], 1601, 7.2, 1, false);
    ck_assert_double_eq_tol(ev(s, 1601), 20, 1e-12);
    ck_assert_double_eq_tol(ev(a, 1601), 10, 1e-12);
    for (int k = 0; k < 2; k++)
        window_free(all[k]);
}
END_TEST

START_TEST(stddev_is_population_and_zero_for_constant_values)
{
    struct aggregate a = ag(AGG_STDDEV, 0);
    struct window *w = window_new(&a, 100, false);
    double vals[] = {2, 4, 4, 4, 5, 5, 7, 9}; /* population stddev 2 */
    for (int i = 0; i < 8; i++)
        window_add(w, i, vals[i], 1, false);
    ck_assert_double_eq_tol(ev(w, 7), 2, 1e-12);
    window_free(w);

    /* A large constant must not give a tiny negative variance or noise. */
    w = window_new(&a, 10, false);
    for (int i = 0; i < 1000; i++) {
        window_add(w, i, 1e9 + 0.1, 1, false);
        ck_assert_double_eq_tol(ev(w, i), 0, 1e-6);
    }
    window_free(w);
}
END_TEST

/* Exact population stddev of vals[lo..hi). */
static double stddev_ref(const double *vals, int lo, int hi)
{
    double mean = 0, var = 0;
    for (int i = lo; i < hi; i++)
        mean += vals[i];
    mean /= hi - lo;
    for (int i = lo; i < hi; i++)
        var += (vals[i] - mean) * (vals[i] - mean);
    return sqrt(var / (hi - lo));
}

/* An outlier that leaves a large window, or a level far from the first
 * sample, must not leave the running sums cancelling their own digits:
 * every evaluation stays within 1e-9 of the exact value. */
START_TEST(stddev_stays_exact_after_an_outlier_leaves)
{
    struct aggregate a = ag(AGG_STDDEV, 0);
    double outliers[] = {1e12, 1e20, -3e15, 1e300};
    static double vals[400];

    for (size_t o = 0; o < sizeof(outliers) / sizeof(outliers[0]); o++) {
        struct window *w = window_new(&a, 100, false);
        vals[0] = outliers[o];
        for (int i = 1; i < 400; i++)
            vals[i] = i % 3;
        for (int i = 0; i < 400; i++) {
            double got;
            window_add(w, 1000 + i, vals[i], 1, false);
            got = ev(w, 1000 + i);
            if (i < 100)
                continue; /* the outlier is in the window */
            ck_assert_msg(fabs(got - stddev_ref(vals, i - 99, i + 1)) < 1e-9,
                          "outlier %g, at %d: %.17g", outliers[o], i, got);
        }
        window_free(w);
    }
    /* The level moves far from where it started, without an outlier. */
    struct window *w = window_new(&a, 1000, false);
    for (int i = 0; i < 400; i++) {
        vals[i] = (i < 100 ? 0 : 1e12) + i % 3;
        window_add(w, i, vals[i], 1, false);
    }
    ck_assert_msg(fabs(ev(w, 399) - stddev_ref(vals, 0, 400)) <
                      1e-6 * stddev_ref(vals, 0, 400),
                  "level change: %.17g", ev(w, 399));
    window_free(w);
    w = window_new(&a, 50, false);
    for (int i = 0; i < 400; i++) {
        vals[i] = (i < 100 ? 0 : 1e12) + i % 3;
        window_add(w, i, vals[i], 1, false);
    }
    ck_assert_msg(fabs(ev(w, 399) - stddev_ref(vals, 350, 400)) < 1e-9,
                  "after the level change: %.17g", ev(w, 399));
    window_free(w);
}
END_TEST

static double quantile_of(const double *vals, int n, double q)
{
    struct aggregate a = ag(AGG_QUANTILE, q);
    struct window *w = window_new(&a, 1e6, false);
    for (int i = 0; i < n; i++)
        window_add(w, i, vals[i], 1, false);
    double r = ev(w, n);
    window_free(w);
    return r;
}

START_TEST(quantile_matches_prometheus_quantile_over_time)
{
    double one_to_ten[] = {3, 1, 2, 10, 5, 4, 7, 6, 9, 8};
    ck_assert_double_eq_tol(quantile_of(one_to_ten, 10, 0.9), 9.1, 1e-12);
    double four[] = {4, 2, 1, 3};
    ck_assert_double_eq_tol(quantile_of(four, 4, 0.5), 2.5, 1e-12);
    ck_assert_double_eq(quantile_of(four, 4, 0), 1);
    ck_assert_double_eq(quantile_of(four, 4, 1), 4);
    double single[] = {42};
    ck_assert_double_eq(quantile_of(single, 1, 0.99), 42);

    /* p99.9 over 1..1000: rank 998.001 -> 999 + 0.001 * (1000 - 999) */
    double *big = malloc(1000 * sizeof(double));
    for (int i = 0; i < 1000; i++)
        big[i] = (i * 379) % 1000 + 1; /* a permutation of 1..1000 */
    ck_assert_double_eq_tol(quantile_of(big, 1000, 0.999), 999.001, 1e-9);
    ck_assert_double_eq_tol(quantile_of(big, 1000, 0.5), 500.5, 1e-9);
    free(big);

    /* To the last bit: promql's lower*(1-w) + upper*w, not lower +
     * (upper-lower)*w. p50 of {0.3, 1.1} is 0.7000000000000001 there, which
     * is above a threshold of 0.7 (the other form gives exactly 0.7). */
    double pair[] = {1.1, 0.3};
    ck_assert_double_eq(quantile_of(pair, 2, 0.5), 0.3 * 0.5 + 1.1 * 0.5);
    ck_assert(quantile_of(pair, 2, 0.5) > 0.7);
}
END_TEST

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

START_TEST(quantile_set_stays_exact_through_many_blocks)
{
    /* Enough values to split and merge blocks many times. */
    struct qset q;
    qset_init(&q);
    enum { N = 6000 };
    double *vals = malloc(N * sizeof(double));
    double *sorted = malloc(N * sizeof(double));
    srand(7);
    for (int i = 0; i < N; i++) {
        vals[i] = (double)(rand() % 2000) / 4;
        ck_assert_int_eq(qset_insert(&q, vals[i]), 0);
    }
    /* Delete every other value, then check every rank. */
    int m = 0;
    for (int i = 0; i < N; i++) {
        if (i % 2)
            ck_assert_int_eq(qset_delete(&q, vals[i]), 0);
        else
            sorted[m++] = vals[i];
    }
    ck_assert_int_eq(qset_delete(&q, -1), -1);
    qsort(sorted, m, sizeof(double), cmp_double);
    ck_assert_uint_eq(q.n, (size_t)m);
    for (int i = 0; i < m; i++)
        ck_assert_double_eq(qset_select(&q, i), sorted[i]);
    qset_cleanup(&q);
    free(vals);
    free(sorted);
}
END_TEST

START_TEST(apdex_counts_satisfied_and_half_of_tolerating)
{
    struct aggregate a = ag(AGG_APDEX, 300);
    struct window *w = window_new(&a, 100, false);
    /* satisfied: 10, 300; tolerating: 300.5, 1200; frustrated: 1200.1 */
    double vals[] = {10, 300, 300.5, 1200, 1200.1};
    for (int i = 0; i < 5; i++)
        window_add(w, i, vals[i], 1, false);
    ck_assert_double_eq_tol(ev(w, 4), (2 + 2 / 2.0) / 5, 1e-12);
    /* (2, 103] keeps 1200 and 1200.1 -> (0 + 0.5) / 2 */
    ck_assert_double_eq_tol(ev(w, 102), 0.25, 1e-12);
    window_free(w);
}
END_TEST

START_TEST(increase_counts_counter_reset_as_rise_of_new_value)
{
    struct aggregate a = ag(AGG_INCREASE, 0);
    struct window *w = window_new(&a, 100, false);
    window_add(w, 0, 10, 1, false);
    window_add(w, 10, 15, 1, false);
    window_add(w, 20, 3, 1, false); /* reset */
    window_add(w, 30, 8, 1, false);
    ck_assert_double_eq(ev(w, 30), 5 + 3 + 5);
    /* The first sample leaves: its rise (10 -> 15) leaves with it. */
    ck_assert_double_eq(ev(w, 100), 3 + 5);
    window_free(w);
}
END_TEST

START_TEST(increase_and_rate_sum_over_two_sources)
{
    struct aggregate ai = ag(AGG_INCREASE, 0), ar = ag(AGG_RATE, 0);
    struct window *wi = window_new(&ai, 300, false);
    struct window *wr = window_new(&ar, 300, false);
    /* src 1: 0 -> 100 over 10 s (10/s); src 2: 50 -> 10 (reset) -> 40 over
     * 20 s: increase 10 + 30 = 40, 2/s. */
    struct {
        double ts, v;
        uint64_t src;
    } s[] = {{0, 0, 1}, {5, 50, 2}, {10, 100, 1}, {15, 10, 2}, {25, 40, 2}};
    for (int i = 0; i < 5; i++) {
        window_add(wi, s[i].ts, s[i].v, s[i].src, false);
        window_add(wr, s[i].ts, s[i].v, s[i].src, false);
    }
    ck_assert_double_eq_tol(ev(wi, 25), 140, 1e-12);
    ck_assert_double_eq_tol(ev(wr, 25), 12, 1e-12);
    window_free(wi);
    window_free(wr);
}
END_TEST

/* Source ids are 63 bits wide: ids that differ only above bit 31 are two
 * sources, not one counter that keeps resetting. */
START_TEST(source_ids_differing_in_high_bits_are_two_sources)
{
    struct aggregate ai = ag(AGG_INCREASE, 0);
    struct window *w = window_new(&ai, 300, false);
    uint64_t a = 7, b = 7 | (UINT64_C(1) << 40);

    window_add(w, 0, 1000, a, false);
    window_add(w, 1, 10, b, false);
    window_add(w, 10, 1001, a, false);
    window_add(w, 11, 11, b, false);
    window_add(w, 20, 1002, a, false);
    ck_assert_double_eq(ev(w, 20), 3);
    window_free(w);
}
END_TEST

/* The seconds between two samples are the stamped ones, not the rounding
 * error of two Unix times (1 / 0.10000014 s would fall below 10/s). */
START_TEST(rate_over_sub_second_gaps_of_unix_times_is_exact)
{
    struct aggregate ar = ag(AGG_RATE, 0);
    struct window *w = window_new(&ar, 60, false);

    window_add(w, 1767225600.1, 0, 1, false);
    window_add(w, 1767225600.2, 1, 1, false);
    ck_assert_double_eq(ev(w, 1767225600.2), 10);
    window_add(w, 1767225600.25, 2, 1, false);
    ck_assert_double_eq(ev(w, 1767225600.25), 2 / 0.15);
    window_free(w);
}
END_TEST

START_TEST(rate_without_two_samples_of_any_source_has_no_value)
{
    struct aggregate a = ag(AGG_RATE, 0);
    struct window *w = window_new(&a, 60, false);
    window_add(w, 0, 5, 1, false);
    window_add(w, 1, 9, 2, false);
    ck_assert(ev_none(w, 1));
    window_add(w, 11, 25, 2, false);
    ck_assert_double_eq_tol(ev(w, 11), 1.6, 1e-12);
    /* Once source 2's first sample leaves, nothing has two samples. */
    ck_assert(ev_none(w, 61));
    window_free(w);
}
END_TEST

START_TEST(ratio_count_with_empty_numerator_is_zero)
{
    struct aggregate a = ag(AGG_COUNT, 0);
    struct window *w = window_new(&a, 60, true);
    window_add(w, 1, 200, 1, false);
    window_add(w, 2, 200, 1, false);
    ck_assert_double_eq(ev(w, 2), 0);
    window_add(w, 3, 500, 2, true);
    window_add(w, 4, 200, 1, false);
    ck_assert_double_eq(ev(w, 4), 0.25);
    window_free(w);
}
END_TEST

START_TEST(ratio_with_empty_or_zero_denominator_has_no_value)
{
    struct aggregate ac = ag(AGG_COUNT, 0), as = ag(AGG_SUM, 0),
                     ar = ag(AGG_RATE, 0), ai = ag(AGG_INCREASE, 0);
    struct window *c = window_new(&ac, 60, true);
    ck_assert(ev_none(c, 10));
    window_add(c, 10, 1, 1, true);
    ck_assert_double_eq(ev(c, 10), 1);
    ck_assert(ev_none(c, 100)); /* everything left */
    window_free(c);

    struct window *s = window_new(&as, 60, true);
    window_add(s, 1, 0, 1, true);
    window_add(s, 2, 0, 2, false);
    ck_assert(ev_none(s, 2)); /* sum of all is 0 */
    window_add(s, 3, 4, 2, false);
    window_add(s, 4, 1, 1, true);
    ck_assert_double_eq(ev(s, 4), 0.2);
    window_free(s);

    /* rate/increase: a flat counter has a zero denominator. */
    struct window *r = window_new(&ar, 60, true);
    struct window *i = window_new(&ai, 60, true);
    for (int k = 0; k < 3; k++) {
        window_add(r, k, 7, 1, true);
        window_add(i, k, 7, 1, true);
    }
    ck_assert(ev_none(r, 2));
    ck_assert(ev_none(i, 2));
    /* errors: src 2 (num) 0 -> 10; all: plus src 3 0 -> 30 */
    window_add(r, 3, 0, 2, true);
    window_add(r, 3, 0, 3, false);
    window_add(r, 13, 10, 2, true);
    window_add(r, 13, 30, 3, false);
    ck_assert_double_eq_tol(ev(r, 13), 0.25, 1e-12);
    window_add(i, 3, 0, 2, true);
    window_add(i, 3, 0, 3, false);
    window_add(i, 13, 10, 2, true);
    window_add(i, 13, 30, 3, false);
    ck_assert_double_eq_tol(ev(i, 13), 0.25, 1e-12);
    window_free(r);
    window_free(i);
}
END_TEST

START_TEST(sample_exactly_at_window_start_is_out)
{
    struct aggregate a = ag(AGG_COUNT, 0);
    struct window *w = window_new(&a, 300, false);
    window_add(w, 700, 1, 1, false);
    window_add(w, 700.001, 1, 1, false);
    window_add(w, 1000, 1, 1, false);
    ck_assert_double_eq(ev(w, 999.999), 3);
    ck_assert_double_eq(ev(w, 1000), 2); /* ts 700 == t - width: out */
    ck_assert_double_eq(ev(w, 1000.001), 1);
    ck_assert_double_eq(ev(w, 1299.999), 1);
    ck_assert_double_eq(ev(w, 1300), 0);
    ck_assert_uint_eq(window_count(w), 0);
    window_free(w);
}
END_TEST

START_TEST(width_zero_uses_only_newest_sample)
{
    struct aggregate amax = ag(AGG_MAX, 0), acount = ag(AGG_COUNT, 0),
                     ainc = ag(AGG_INCREASE, 0), arate = ag(AGG_RATE, 0),
                     asd = ag(AGG_STDDEV, 0);
    struct window *mx = window_new(&amax, 0, false);
    struct window *c = window_new(&acount, 0, false);
    struct window *inc = window_new(&ainc, 0, false);
    struct window *r = window_new(&arate, 0, false);
    struct window *sd = window_new(&asd, 0, false);
    struct window *all[] = {mx, c, inc, r, sd};
    for (int i = 0; i < 5; i++) {
        window_add(all[i], 10, 100, 1, false);
        window_add(all[i], 20, 3, 1, false);
        window_add(all[i], 15, 50, 2, false); /* older: not the newest */
    }
    ck_assert_double_eq(ev(mx, 1e9), 3);
    ck_assert_double_eq(ev(c, 20), 1);
    ck_assert_double_eq(ev(inc, 20), 0);
    ck_assert(ev_none(r, 20));
    ck_assert_double_eq(ev(sd, 20), 0);
    ck_assert_uint_eq(window_count(mx), 1);
    window_add(mx, 20, 8, 2, false); /* tie: the later one wins */
    ck_assert_double_eq(ev(mx, 20), 8);
    for (int i = 0; i < 5; i++)
        window_free(all[i]);
}
END_TEST

START_TEST(out_of_order_sample_of_other_source_joins_in_time_order)
{
    struct aggregate amax = ag(AGG_MAX, 0), amin = ag(AGG_MIN, 0),
                     alast = ag(AGG_LAST, 0);
    struct window *mx = window_new(&amax, 10, false);
    struct window *mn = window_new(&amin, 10, false);
    struct window *l = window_new(&alast, 10, false);
    struct window *all[] = {mx, mn, l};
    for (int i = 0; i < 3; i++) {
        window_add(all[i], 10, 5, 1, false);
        window_add(all[i], 20, 6, 1, false);
        window_add(all[i], 12, 9, 2, false); /* late source */
        window_add(all[i], 11, 1, 3, false);
    }
    ck_assert_double_eq(ev(mx, 20), 9);
    ck_assert_double_eq(ev(mn, 20), 1);
    ck_assert_double_eq(ev(l, 20), 6);
    /* (11, 21]: 12 -> 9, 20 -> 6 */
    ck_assert_double_eq(ev(mx, 21), 9);
    ck_assert_double_eq(ev(mn, 21), 6);
    /* (12, 22]: 20 -> 6 */
    ck_assert_double_eq(ev(mx, 22), 6);
    ck_assert_double_eq(ev(l, 22), 6);
    ck_assert_uint_eq(window_count(l), 1);
    for (int i = 0; i < 3; i++)
        window_free(all[i]);
}
END_TEST

START_TEST(idle_last_window_without_width_is_tiny)
{
    struct aggregate a = ag(AGG_LAST, 0);
    struct window *w = window_new(&a, 0, false);
    window_add(w, 1, 2, 3, false);
    ck_assert_uint_le(window_memory(w), 100);
    window_free(w);
    a = ag(AGG_QUANTILE, 0.9);
    w = window_new(&a, 300, false);
    for (int i = 0; i < 1000; i++)
        window_add(w, i, i, 1, false);
    size_t big = window_memory(w);
    ck_assert(ev_none(w, 2000));
    ck_assert_uint_lt(window_memory(w), big / 4); /* memory given back */
    window_free(w);
}
END_TEST

/* At a time past the newest sample (the daemon's timer), the value leaves
 * out what is older than the window, but the samples a late sample would
 * see stay. */
START_TEST(eval_at_a_later_time_keeps_samples_for_late_data)
{
    struct aggregate a = ag(AGG_COUNT, 0), q = ag(AGG_QUANTILE, 0.5);
    struct window *w = window_new(&a, 60, false);
    struct window *p = window_new(&q, 60, false);
    double v = NAN;

    for (int i = 0; i < 3; i++) {
        window_add(w, 1000 + i, 1, 1, false);
        window_add(p, 1000 + i, 10 * i, 1, false);
    }
    /* (1011, 1071]: nothing, a count of 0. */
    ck_assert_int_eq(window_eval_at(w, 1071, 1002, &v), 0);
    ck_assert_double_eq(v, 0);
    /* (1001.5, 1061.5]: the newest sample only. */
    ck_assert_int_eq(window_eval_at(p, 1061.5, 1002, &v), 0);
    ck_assert_double_eq(v, 20);
    window_add(w, 1003, 1, 1, false);
    window_add(p, 1003, 30, 1, false);
    ck_assert_double_eq(ev(w, 1003), 4);
    ck_assert_double_eq(ev(p, 1003), 15);
    /* However late: a backfill's next sample still sees its window. */
    ck_assert_int_eq(window_eval_at(w, 1e9, 1003, &v), 0);
    ck_assert_double_eq(v, 0);
    ck_assert_uint_eq(window_count(w), 4);
    window_add(w, 1004, 1, 1, false);
    ck_assert_double_eq(ev(w, 1004), 5);
    window_free(w);
    window_free(p);
}
END_TEST

/* ---- naive reference ---- */

struct rs {
    double ts, v;
    uint32_t src;
    bool num;
};

/* Aggregate recomputed from scratch over the kept samples. */
static int naive_agg(const struct aggregate *a, bool ratio, struct rs *all,
                     size_t n, double width, double t, double *out)
{
    struct rs *k = malloc((n + 1) * sizeof(*k));
    size_t m = 0;
    if (width == 0) {
        for (size_t i = 0; i < n; i++)
            if (m == 0 || all[i].ts >= k[0].ts) {
                k[0] = all[i];
                m = 1;
            }
    } else {
        for (size_t i = 0; i < n; i++)
            if (all[i].ts > t - width)
                k[m++] = all[i];
    }
    /* Stable time order: equal ts keep add order (merge by insertion). */
    for (size_t i = 1; i < m; i++) {
        struct rs x = k[i];
        size_t j = i;
        while (j > 0 && k[j - 1].ts > x.ts) {
            k[j] = k[j - 1];
            j--;
        }
        k[j] = x;
    }
    int rc = 0;
    if (m == 0) {
        /* Of no samples: a count, a sum and an increase of 0 (with width;
         * a width-0 window is empty only before its first sample); no
         * value for the rest and for a ratio (an empty denominator). */
        free(k);
        if (width > 0 && !ratio &&
            (a->kind == AGG_COUNT || a->kind == AGG_SUM ||
             a->kind == AGG_INCREASE)) {
            *out = 0;
            return 0;
        }
        return 1;
    }
    double s = 0, snum = 0, mean, var = 0;
    size_t nnum = 0;
    for (size_t i = 0; i < m; i++) {
        s += k[i].v;
        if (k[i].num) {
            snum += k[i].v;
            nnum++;
        }
    }
    mean = s / m;
    for (size_t i = 0; i < m; i++)
        var += (k[i].v - mean) * (k[i].v - mean);
    switch (a->kind) {
    case AGG_LAST:
        *out = k[m - 1].v;
        break;
    case AGG_MIN:
    case AGG_MAX:
        *out = k[0].v;
        for (size_t i = 1; i < m; i++)
            if (a->kind == AGG_MIN ? k[i].v < *out : k[i].v > *out)
                *out = k[i].v;
        break;
    case AGG_SUM:
        if (ratio) {
            if (s == 0)
                rc = 1;
            else
                *out = snum / s;
        } else {
            *out = s;
        }
        break;
    case AGG_AVG:
        *out = mean;
        break;
    case AGG_COUNT:
        *out = ratio ? (double)nnum / m : (double)m;
        break;
    case AGG_STDDEV:
        *out = sqrt(var / m);
        break;
    case AGG_QUANTILE: {
        double *v = malloc(m * sizeof(double));
        for (size_t i = 0; i < m; i++)
            v[i] = k[i].v;
        qsort(v, m, sizeof(double), cmp_double);
        double rank = a->param * (m - 1);
        size_t lo = (size_t)floor(rank);
        size_t hi = lo + 1 < m ? lo + 1 : m - 1;
        *out = v[lo] + (v[hi] - v[lo]) * (rank - lo);
        free(v);
        break;
    }
    case AGG_APDEX: {
        double sat = 0, tol = 0;
        for (size_t i = 0; i < m; i++) {
            if (k[i].v <= a->param)
                sat++;
            else if (k[i].v <= 4 * a->param)
                tol++;
        }
        *out = (sat + tol / 2) / m;
        break;
    }
    case AGG_RATE:
    case AGG_INCREASE: {
        double inc_all = 0, inc_num = 0, r_all = 0, r_num = 0;
        int rated = 0;
        for (uint32_t src = 0; src < 4; src++) {
            double inc = 0, first = 0, last = 0, prev = 0;
            int cnt = 0;
            bool num = false;
            for (size_t i = 0; i < m; i++) {
                if (k[i].src != src)
                    continue;
                if (cnt == 0)
                    first = k[i].ts;
                else
                    inc += k[i].v >= prev ? k[i].v - prev : k[i].v;
                prev = k[i].v;
                last = k[i].ts;
                num = k[i].num;
                cnt++;
            }
            inc_all += inc;
            if (num)
                inc_num += inc;
            if (cnt >= 2 && last > first) {
                rated++;
                r_all += inc / (last - first);
                if (num)
                    r_num += inc / (last - first);
            }
        }
        if (a->kind == AGG_INCREASE) {
            if (ratio && inc_all == 0)
                rc = 1;
            else
                *out = ratio ? inc_num / inc_all : inc_all;
        } else {
            if (rated == 0 || (ratio && r_all == 0))
                rc = 1;
            else
                *out = ratio ? r_num / r_all : r_all;
        }
        break;
    }
    }
    free(k);
    return rc;
}

static double rnd(void)
{
    return (double)rand() / RAND_MAX;
}

static void assert_close(double got, double want, double scale,
                         const char *what, int step)
{
    double tol = 1e-9 * (fabs(want) + scale) + 1e-9;
    if (!(fabs(got - want) <= tol))
        ck_abort_msg("%s step %d: got %.17g want %.17g", what, step, got, want);
}

/* Run one random stream through a window and the reference. */
static void random_stream(unsigned seed, enum agg_kind kind, bool ratio)
{
    srand(seed);
    double widths[] = {0, 1, 7.5, 30, 300};
    double width = widths[rand() % 5];
    int nsrc = 1 + rand() % 3;
    struct aggregate a = ag(kind, 0);
    if (kind == AGG_QUANTILE) {
        double qs[] = {0, 0.5, 0.9, 0.99, 0.999, 1};
        a.param = qs[rand() % 6];
    }
    if (kind == AGG_APDEX)
        a.param = 50;
    struct window *w = window_new(&a, width, ratio);
    enum { N = 3000 };
    struct rs *all = malloc(N * sizeof(*all));
    double src_ts[3] = {0, 0, 0}, src_v[3] = {0, 0, 0};
    double newest = 0, t = 0;
    bool counter = kind == AGG_RATE || kind == AGG_INCREASE;
    size_t n = 0;
    for (int step = 0; step < N; step++) {
        uint32_t src = rand() % nsrc;
        /* Each source in its own time order; sources drift apart so their
         * samples reach the window out of order. Gaps of 0 give ties. */
        double gap = rand() % 5 == 0 ? 0 : floor(rnd() * 8) / 2;
        if (rand() % 50 == 0)
            gap += width * 1.5; /* sometimes the window empties */
        src_ts[src] += gap;
        if (src_ts[src] < newest - 10)
            src_ts[src] = newest - 10 + (rand() % 3);
        double v;
        if (counter) {
            src_v[src] =
                rand() % 30 == 0 ? rand() % 5 : src_v[src] + rand() % 20;
            v = src_v[src];
        } else {
            v = rand() % 4 == 0 ? (double)(rand() % 10) : (rnd() - 0.3) * 200;
        }
        bool num = ratio
                       ? (src == 0 || (kind != AGG_RATE &&
                                       kind != AGG_INCREASE && rand() % 3 == 0))
                       : false;
        all[n++] = (struct rs){src_ts[src], v, src, num};
        window_add(w, src_ts[src], v, src, num);
        if (src_ts[src] > newest)
            newest = src_ts[src];
        if (rand() % 3 == 0)
            continue; /* not every sample is followed by an evaluation */
        t = newest > t ? newest : t;
        if (rand() % 20 == 0)
            t += rnd() * width;
        double got = NAN, want = NAN;
        int rg = window_eval(w, t, &got);
        int rw = naive_agg(&a, ratio, all, n, width, t, &want);
        if (rg != rw)
            ck_abort_msg("seed %u kind %d width %g step %d: rc %d want %d",
                         seed, kind, width, step, rg, rw);
        if (rg == 0)
            assert_close(got, want, 200, "value", step);
        /* Now and then: save, load, and carry on with the loaded copy. */
        if (rand() % 100 == 0) {
            struct buf b;
            buf_init(&b, 0);
            ck_assert_int_eq(window_save(w, &b), 0);
            struct window *w2 = window_load(&a, width, ratio, b.data, b.len);
            ck_assert_ptr_nonnull(w2);
            ck_assert_uint_eq(window_count(w2), window_count(w));
            double g2 = NAN;
            ck_assert_int_eq(window_eval(w2, t, &g2), rg);
            if (rg == 0)
                assert_close(g2, got, 200, "reloaded", step);
            window_free(w);
            w = w2;
            buf_cleanup(&b);
        }
    }
    free(all);
    window_free(w);
}

START_TEST(random_streams_match_naive_reference)
{
    /* _i: one aggregate kind per loop iteration, several seeds each. */
    for (unsigned seed = 1; seed <= 12; seed++)
        random_stream(seed * 7919u + (unsigned)_i, (enum agg_kind)_i, false);
}
END_TEST

START_TEST(random_ratio_streams_match_naive_reference)
{
    enum agg_kind kinds[] = {AGG_SUM, AGG_COUNT, AGG_RATE, AGG_INCREASE};
    for (unsigned seed = 1; seed <= 12; seed++)
        random_stream(seed * 104729u + (unsigned)_i, kinds[_i], true);
}
END_TEST

START_TEST(save_load_round_trip_gives_identical_results_after_more_samples)
{
    struct aggregate kinds[] = {ag(AGG_QUANTILE, 0.9), ag(AGG_RATE, 0),
                                ag(AGG_MAX, 0), ag(AGG_STDDEV, 0),
                                ag(AGG_LAST, 0)};
    double widths[] = {60, 60, 60, 60, 0};
    for (int k = 0; k < 5; k++) {
        struct window *w = window_new(&kinds[k], widths[k], false);
        for (int i = 0; i < 100; i++)
            window_add(w, i, (i * 37) % 101, i % 3, false);
        struct buf b;
        buf_init(&b, 0);
        ck_assert_int_eq(window_save(w, &b), 0);
        struct window *w2 =
            window_load(&kinds[k], widths[k], false, b.data, b.len);
        ck_assert_ptr_nonnull(w2);
        for (int i = 100; i < 200; i++) {
            window_add(w, i, (i * 37) % 101, i % 3, false);
            window_add(w2, i, (i * 37) % 101, i % 3, false);
            double a = NAN, c = NAN;
            ck_assert_int_eq(window_eval(w, i, &a), window_eval(w2, i, &c));
            ck_assert(memcmp(&a, &c, sizeof(a)) == 0);
        }
        buf_cleanup(&b);
        window_free(w);
        window_free(w2);
    }
}
END_TEST

START_TEST(load_rejects_truncated_and_corrupt_blobs)
{
    struct aggregate a = ag(AGG_SUM, 0);
    struct window *w = window_new(&a, 60, false);
    for (int i = 0; i < 5; i++)
        window_add(w, i, i, i, i % 2);
    struct buf b;
    buf_init(&b, 0);
    ck_assert_int_eq(window_save(w, &b), 0);
    unsigned char *p = malloc(b.len);
    memcpy(p, b.data, b.len);
    for (size_t n = 0; n < b.len; n++)
        ck_assert_ptr_null(window_load(&a, 60, false, p, n));
    for (size_t i = 0; i < b.len; i++) {
        for (int bit = 0; bit < 8; bit++) {
            p[i] ^= (unsigned char)(1u << bit);
            ck_assert_ptr_null(window_load(&a, 60, false, p, b.len));
            p[i] ^= (unsigned char)(1u << bit);
        }
    }
    ck_assert_ptr_null(window_load(&a, 60, false, NULL, 0));
    struct window *ok = window_load(&a, 60, false, p, b.len);
    ck_assert_ptr_nonnull(ok);
    ck_assert_double_eq(ev(ok, 4), 10);
    window_free(ok);
    free(p);
    buf_cleanup(&b);
    window_free(w);
}
END_TEST

static void le32(unsigned char *p, uint32_t x)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(x >> (8 * i));
}

/* A window saved by an older tocsin (format 1: 32-bit source ids) still
 * loads; its sources stay apart. */
/* The running sums carry the rounding of samples that came and left: a
 * window saved after many evictions and loaded gives bit for bit the
 * values of the window that never stopped (a stream replayed in pieces
 * gives exactly the events of one run). */
START_TEST(save_load_keeps_running_sums_after_evictions)
{
    struct aggregate kinds[] = {ag(AGG_STDDEV, 0), ag(AGG_AVG, 0),
                                ag(AGG_SUM, 0)};
    for (int k = 0; k < 3; k++) {
        struct window *w = window_new(&kinds[k], 0.5, false);
        struct window *w2 = NULL;
        struct buf b;
        int differ = 0;

        for (int i = 0; i < 400; i++) {
            double t = 1767225600 + i * 0.01, v = ((i * 7) % 997) / 9.97;
            double a = NAN, c = NAN;

            if (i % 50 == 49)
                v = 1e5; /* outliers make the sums re-base */
            window_add(w, t, v, 1, false);
            if (w2)
                window_add(w2, t, v, 1, false);
            ck_assert_int_eq(window_eval(w, t, &a), 0);
            if (w2) {
                ck_assert_int_eq(window_eval(w2, t, &c), 0);
                differ += memcmp(&a, &c, sizeof(a)) != 0;
            }
            if (i == 160) {
                buf_init(&b, 0);
                ck_assert_int_eq(window_save(w, &b), 0);
                w2 = window_load(&kinds[k], 0.5, false, b.data, b.len);
                ck_assert_ptr_nonnull(w2);
                buf_cleanup(&b);
            }
        }
        ck_assert_msg(differ == 0, "kind %d: %d values differ", k, differ);
        window_free(w);
        window_free(w2);
    }
}
END_TEST

/* Saved sums that do not fit the saved samples (a damaged blob: NaN, or
 * far off) are not taken: the sums rebuilt from the samples are kept. */
START_TEST(load_ignores_sums_that_do_not_fit_the_samples)
{
    struct aggregate a = ag(AGG_AVG, 0);
    const double bad[] = {NAN, 1e300};

    for (int k = 0; k < 2; k++) {
        struct window *w = window_new(&a, 60, false), *w2;
        struct buf b;
        unsigned char *p;
        uint32_t h = 2166136261u;
        double got = 0;

        for (int i = 0; i < 5; i++)
            window_add(w, i, 10, 1, false);
        buf_init(&b, 0);
        ck_assert_int_eq(window_save(w, &b), 0);
        p = (unsigned char *)b.data;
        /* sum.s: after the header, 5 records and the shift */
        memcpy(p + 8 + 5 * 25 + 8, &bad[k], 8);
        for (size_t i = 0; i < b.len - 4; i++) {
            h ^= p[i];
            h *= 16777619u;
        }
        le32(p + b.len - 4, h);
        w2 = window_load(&a, 60, false, b.data, b.len);
        ck_assert_ptr_nonnull(w2);
        ck_assert_int_eq(window_eval(w2, 4, &got), 0);
        ck_assert_double_eq(got, 10);
        buf_cleanup(&b);
        window_free(w);
        window_free(w2);
    }
}
END_TEST

START_TEST(load_reads_format_1_with_32_bit_sources)
{
    struct aggregate a = ag(AGG_INCREASE, 0);
    const double ts[] = {0, 1, 10, 11}, v[] = {100, 5, 110, 9};
    const uint32_t src[] = {1, 2, 1, 2};
    unsigned char blob[8 + 4 * 21 + 4];
    uint32_t h = 2166136261u;

    memcpy(blob, "TW\1\0", 4);
    le32(blob + 4, 4);
    for (int i = 0; i < 4; i++) {
        unsigned char *r = blob + 8 + i * 21;
        uint64_t x;
        memcpy(&x, &ts[i], 8);
        le32(r, (uint32_t)x);
        le32(r + 4, (uint32_t)(x >> 32));
        memcpy(&x, &v[i], 8);
        le32(r + 8, (uint32_t)x);
        le32(r + 12, (uint32_t)(x >> 32));
        le32(r + 16, src[i]);
        r[20] = 0;
    }
    for (size_t i = 0; i < sizeof(blob) - 4; i++) {
        h ^= blob[i];
        h *= 16777619u;
    }
    le32(blob + sizeof(blob) - 4, h);
    struct window *w = window_load(&a, 60, false, blob, sizeof(blob));
    ck_assert_ptr_nonnull(w);
    ck_assert_double_eq(ev(w, 11), 10 + 4);
    window_free(w);
    blob[2] = 3; /* a version this code does not know */
    ck_assert_ptr_null(window_load(&a, 60, false, blob, sizeof(blob)));
}
END_TEST

/* Millisecond times and widths: the sample exactly at t - width is out
 * whatever the rounding of the subtraction, the one a millisecond later in. */
START_TEST(window_edge_in_milliseconds_is_exact)
{
    struct aggregate a = ag(AGG_COUNT, 0);
    int wrong = 0;

    for (long long k = 0; k < 2000; k++) {
        long long t_ms = 1767226101840LL + k * 7919, w_ms = 4759 + k * 13;
        struct window *w = window_new(&a, (double)w_ms / 1000.0, false);
        window_add(w, (double)(t_ms - w_ms) / 1000.0, 1, 1, false);
        window_add(w, (double)(t_ms - w_ms + 1) / 1000.0, 1, 2, false);
        window_add(w, (double)t_ms / 1000.0, 1, 3, false);
        if (ev(w, (double)t_ms / 1000.0) != 2)
            wrong++;
        window_free(w);
    }
    ck_assert_int_eq(wrong, 0);
}
END_TEST

START_TEST(hot_window_evicts_and_stays_exact)
{
    /* 1 sample per ms over a 5 s window, p90 and max checked by reference
     * every 997 samples. */
    struct aggregate aq = ag(AGG_QUANTILE, 0.9);
    struct window *w = window_new(&aq, 5, false);
    enum { N = 20000 };
    double *vals = malloc(N * sizeof(double));
    srand(3);
    for (int i = 0; i < N; i++) {
        vals[i] = rand() % 100000;
        window_add(w, i / 1000.0, vals[i], 1, false);
        if (i % 997 == 996) {
            double t = i / 1000.0;
            double got = ev(w, t);
            int lo = 0;
            /* In whole milliseconds, free of the rounding of t - 5. */
            while (lo <= i && lo <= i - 5000)
                lo++;
            int m = i - lo + 1;
            double *s = malloc(m * sizeof(double));
            memcpy(s, vals + lo, m * sizeof(double));
            qsort(s, m, sizeof(double), cmp_double);
            double rank = 0.9 * (m - 1);
            int l = (int)floor(rank);
            double want = s[l] + (s[l + 1 < m ? l + 1 : l] - s[l]) * (rank - l);
            ck_assert_uint_eq(window_count(w), (size_t)m);
            ck_assert_double_eq_tol(got, want, 1e-6);
            free(s);
        }
    }
    free(vals);
    window_free(w);
}
END_TEST

Suite *window_suite(void)
{
    Suite *s = suite_create("window");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, empty_window_counts_zero_else_no_value);
    tcase_add_test(tc, last_is_newest_sample_and_later_added_wins_tie);
    tcase_add_test(tc, min_max_follow_window_as_samples_leave);
    tcase_add_test(tc, sum_avg_count_over_window);
    tcase_add_test(tc, sums_past_the_double_range_stay_meaningful);
    tcase_add_test(tc, giants_leaving_do_not_swallow_what_stays);
    tcase_add_test(tc, stddev_is_population_and_zero_for_constant_values);
    tcase_add_test(tc, stddev_stays_exact_after_an_outlier_leaves);
    tcase_add_test(tc, quantile_matches_prometheus_quantile_over_time);
    tcase_add_test(tc, quantile_set_stays_exact_through_many_blocks);
    tcase_add_test(tc, apdex_counts_satisfied_and_half_of_tolerating);
    tcase_add_test(tc, increase_counts_counter_reset_as_rise_of_new_value);
    tcase_add_test(tc, increase_and_rate_sum_over_two_sources);
    tcase_add_test(tc, source_ids_differing_in_high_bits_are_two_sources);
    tcase_add_test(tc, rate_over_sub_second_gaps_of_unix_times_is_exact);
    tcase_add_test(tc, rate_without_two_samples_of_any_source_has_no_value);
    tcase_add_test(tc, ratio_count_with_empty_numerator_is_zero);
    tcase_add_test(tc, ratio_with_empty_or_zero_denominator_has_no_value);
    tcase_add_test(tc, sample_exactly_at_window_start_is_out);
    tcase_add_test(tc, width_zero_uses_only_newest_sample);
    tcase_add_test(tc, out_of_order_sample_of_other_source_joins_in_time_order);
    tcase_add_test(tc, idle_last_window_without_width_is_tiny);
    tcase_add_loop_test(tc, random_streams_match_naive_reference, AGG_LAST,
                        AGG_INCREASE + 1);
    tcase_add_loop_test(tc, random_ratio_streams_match_naive_reference, 0, 4);
    tcase_add_test(
        tc, save_load_round_trip_gives_identical_results_after_more_samples);
    tcase_add_test(tc, save_load_keeps_running_sums_after_evictions);
    tcase_add_test(tc, load_ignores_sums_that_do_not_fit_the_samples);
    tcase_add_test(tc, load_rejects_truncated_and_corrupt_blobs);
    tcase_add_test(tc, load_reads_format_1_with_32_bit_sources);
    tcase_add_test(tc, eval_at_a_later_time_keeps_samples_for_late_data);
    tcase_add_test(tc, hot_window_evicts_and_stays_exact);
    tcase_add_test(tc, window_edge_in_milliseconds_is_exact);
    suite_add_tcase(s, tc);
    return s;
}
