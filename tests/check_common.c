/* check_common.c - tests for common/: buffers, durations, numbers, time,
 * UTF-8 and the fingerprint. */
#include <check.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/buf.h"
#include "../common/json_arena.h"
#include "../common/labels.h"
#include "../common/log.h"
#include "../common/util.h"

START_TEST(duration_parses_units_and_sums)
{
    double d;
    ck_assert_int_eq(util_parse_duration("250ms", &d), 0);
    ck_assert_double_eq_tol(d, 0.25, 1e-12);
    ck_assert_int_eq(util_parse_duration("1h30m", &d), 0);
    ck_assert_double_eq(d, 5400);
    ck_assert_int_eq(util_parse_duration("1w", &d), 0);
    ck_assert_double_eq(d, 604800);
    ck_assert_int_eq(util_parse_duration("0", &d), 0);
    ck_assert_double_eq(d, 0);
    ck_assert_int_eq(util_parse_duration("5", &d), -1);
    ck_assert_int_eq(util_parse_duration("5x", &d), -1);
    ck_assert_int_eq(util_parse_duration("", &d), -1);
    ck_assert_int_eq(util_parse_duration("-5s", &d), -1);
    /* Prometheus' form: largest unit first, each once, plain decimals. */
    ck_assert_int_eq(util_parse_duration("1.5h", &d), 0);
    ck_assert_double_eq(d, 5400);
    ck_assert_int_eq(util_parse_duration("1h1m1s1ms", &d), 0);
    ck_assert_double_eq_tol(d, 3661.001, 1e-9);
    ck_assert_int_eq(util_parse_duration("100000d", &d), 0);
    static const char *bad[] = {"30m1h", "1h1h", "1ms1s", "1e3s",
                                "0x10s", "1.s",  ".5s",   "+5s",
                                "5 m",   "5min", "1y",    "99999999999999w"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(util_parse_duration(bad[i], &d) == -1, "%s accepted",
                      bad[i]);
}
END_TEST

START_TEST(duration_formats_shortest)
{
    char b[32];
    util_format_duration(5400, b, sizeof(b));
    ck_assert_str_eq(b, "1h30m");
    util_format_duration(0.25, b, sizeof(b));
    ck_assert_str_eq(b, "250ms");
    util_format_duration(0, b, sizeof(b));
    ck_assert_str_eq(b, "0s");
}
END_TEST

START_TEST(double_formats_round_trip)
{
    char b[64];
    util_format_double(512.5, b, sizeof(b));
    ck_assert_str_eq(b, "512.5");
    util_format_double(0.1, b, sizeof(b));
    ck_assert_str_eq(b, "0.1");
    util_format_double(1.0 / 3, b, sizeof(b));
    ck_assert_double_eq(strtod(b, NULL), 1.0 / 3);
    /* Integers and whole milliseconds take shortcuts; each must write what
     * the general rule writes: the shortest of %.15g, %.16g, %.17g that
     * reads back as the same number. */
    {
        const double fixed[] = {0,
                                -0.0,
                                600,
                                -3,
                                1767225600,
                                1e15,
                                -1e15,
                                0.001,
                                -0.5,
                                999999999999999,
                                0.0001,
                                1e-7,
                                123456789012345678.0,
                                999999999999.999,
                                1795771672.7768};
        unsigned seed = 12345;

        for (size_t i = 0; i < 20000; i++) {
            double v;
            char want[64];

            if (i < sizeof(fixed) / sizeof(fixed[0])) {
                v = fixed[i];
            } else {
                /* random ms-precision values, some timestamps */
                seed = seed * 1103515245u + 12345u;
                v = (double)(seed % 2000000000u) / (i % 2 ? 1000.0 : 1.0);
                if (i % 3 == 0)
                    v = 1.7e9 + v / 1000;
                if (i % 5 == 0)
                    v = -v;
            }
            util_format_double(v, b, sizeof(b));
            for (int prec = 15; prec <= 17; prec++) {
                snprintf(want, sizeof(want), "%.*g", prec, v);
                if (strtod(want, NULL) == v)
                    break;
            }
            ck_assert_msg(strcmp(b, want) == 0, "%.17g: got %s, want %s", v, b,
                          want);
        }
    }
}
END_TEST

START_TEST(ll_formats_as_printf_does)
{
    const long long v[] = {
        0,         1,        -1, 9, 10, -10, 1767225600123LL, -1767225600123LL,
        LLONG_MAX, LLONG_MIN};
    char b[24], want[24];

    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        snprintf(want, sizeof(want), "%lld", v[i]);
        ck_assert_uint_eq(util_format_ll(v[i], b), strlen(want));
        ck_assert_str_eq(b, want);
    }
}
END_TEST

START_TEST(ts_formats_milliseconds_with_a_fraction)
{
    char b[UTIL_TS_LEN];
    const double fixed[] = {
        1767225720, 1767225720.5,   1767225720.125,   1767225720.1004,
        0,          0.0004,         99999999999.9996, 1e11,
        -1.5,       1795771672.7768};
    unsigned seed = 777;

    util_format_ts(1767225720, b);
    ck_assert_str_eq(b, "1767225720.0");
    util_format_ts(1767225720.25, b);
    ck_assert_str_eq(b, "1767225720.25");
    /* The shortcut writes what "%.3f" of the millisecond-rounded time,
     * trailing zeros trimmed to one, writes. */
    for (size_t i = 0; i < 20000; i++) {
        double v, ms;
        char want[UTIL_TS_LEN];
        size_t n;

        if (i < sizeof(fixed) / sizeof(fixed[0])) {
            v = fixed[i];
        } else {
            seed = seed * 1103515245u + 12345u;
            v = 1.7e9 + (double)(seed % 100000000u) / (i % 2 ? 10000.0 : 1.0);
        }
        ms = round(v * 1000) / 1000;
        snprintf(want, sizeof(want), "%.3f", ms);
        for (n = strlen(want); want[n - 1] == '0' && want[n - 2] != '.';)
            want[--n] = '\0';
        util_format_ts(v, b);
        ck_assert_msg(strcmp(b, want) == 0, "%.17g: got %s, want %s", v, b,
                      want);
    }
}
END_TEST

START_TEST(rfc3339_parses_zones_and_fractions)
{
    double t;
    const char *a = "2026-01-01T00:00:00.5Z";
    const char *b = "2026-01-01T01:00:00+01:00";
    char out[40];
    ck_assert_int_eq(util_parse_rfc3339(a, strlen(a), &t), 0);
    ck_assert_double_eq(t, 1767225600.5);
    ck_assert_int_eq(util_parse_rfc3339(b, strlen(b), &t), 0);
    ck_assert_double_eq(t, 1767225600);
    ck_assert_int_eq(util_parse_rfc3339("2026-13-01T00:00:00Z", 20, &t), -1);
    /* A day the month does not have is refused, not rolled over. */
    ck_assert_int_eq(util_parse_rfc3339("2026-02-31T00:00:00Z", 20, &t), -1);
    ck_assert_int_eq(util_parse_rfc3339("2025-02-29T00:00:00Z", 20, &t), -1);
    ck_assert_int_eq(util_parse_rfc3339("2100-02-29T00:00:00Z", 20, &t), -1);
    ck_assert_int_eq(util_parse_rfc3339("2026-04-31T00:00:00Z", 20, &t), -1);
    ck_assert_int_eq(util_parse_rfc3339("2024-02-29T00:00:00Z", 20, &t), 0);
    ck_assert_double_eq(t, 1709164800);
    ck_assert_int_eq(util_parse_rfc3339("2000-02-29T00:00:00Z", 20, &t), 0);
    ck_assert_int_eq(util_parse_rfc3339("2026-12-31T00:00:00Z", 20, &t), 0);
    util_format_rfc3339(1767225600.5, out, sizeof(out));
    ck_assert_str_eq(out, "2026-01-01T00:00:00.500Z");
    util_format_rfc3339(0, out, sizeof(out));
    ck_assert_str_eq(out, "1970-01-01T00:00:00.000Z");
    util_format_rfc3339(-0.5, out, sizeof(out));
    ck_assert_str_eq(out, "1969-12-31T23:59:59.500Z");
    util_format_rfc3339(1798761599.9996, out, sizeof(out));
    ck_assert_str_eq(out, "2027-01-01T00:00:00.000Z");
    util_format_rfc3339(1798761599.123, out, sizeof(out));
    ck_assert_str_eq(out, "2026-12-31T23:59:59.123Z");
    /* Times RFC 3339 cannot write take the nearest end of its range. */
    util_format_rfc3339(1e300, out, sizeof(out));
    ck_assert_str_eq(out, "9999-12-31T23:59:59.999Z");
    util_format_rfc3339(-1e300, out, sizeof(out));
    ck_assert_str_eq(out, "0000-01-01T00:00:00.000Z");
    util_format_rfc3339(NAN, out, sizeof(out));
    ck_assert_str_eq(out, "0000-01-01T00:00:00.000Z");
    /* A short buffer gets a truncated, terminated string. */
    util_format_rfc3339(1767225600.5, out, 11);
    ck_assert_str_eq(out, "2026-01-01");
}
END_TEST

START_TEST(utf8_validation_rejects_overlong_and_truncated)
{
    ck_assert(util_utf8_valid("h\xc3\xa9llo", 6));
    ck_assert(!util_utf8_valid("\xc0\xaf", 2));
    ck_assert(!util_utf8_valid("\xe2\x82", 2));
    ck_assert(!util_utf8_valid("\xed\xa0\x80", 3));
    ck_assert(util_utf8_valid("\xf0\x9f\x94\xa5", 4));
}
END_TEST

START_TEST(utf8_len_counts_characters_and_cut_keeps_them_whole)
{
    ck_assert_uint_eq(util_utf8_len(""), 0);
    ck_assert_uint_eq(util_utf8_len("h\xc3\xa9llo \xf0\x9f\x94\xa5"), 7);
    ck_assert_uint_eq(util_utf8_cut("h\xc3\xa9llo", 2), 1);
    ck_assert_uint_eq(util_utf8_cut("h\xc3\xa9llo", 3), 3);
}
END_TEST

START_TEST(buf_stops_at_its_maximum)
{
    struct buf b;
    buf_init(&b, 8);
    ck_assert_int_eq(buf_adds(&b, "1234"), 0);
    ck_assert_int_eq(buf_adds(&b, "5678"), 0);
    ck_assert_int_eq(buf_adds(&b, "9"), -1);
    ck_assert_int_eq(buf_adds(&b, "x"), -1);
    ck_assert_ptr_null(buf_steal(&b));
    buf_cleanup(&b);
}
END_TEST

START_TEST(buf_json_escapes_controls)
{
    struct buf b;
    buf_init(&b, 0);
    buf_add_json_str(&b, "a\"b\\c\n\x01", 7);
    ck_assert_str_eq(buf_str(&b), "a\\\"b\\\\c\\n\\u0001");
    buf_cleanup(&b);
}
END_TEST

/* Every byte below 0x20, a NUL inside the string, the two escaped
 * printables, and bytes copied as they are (DEL, UTF-8) around them; a
 * string that does not fit the cap fails. */
START_TEST(buf_json_escapes_every_byte)
{
    static const char hex[] = "0123456789abcdef";
    char in[40], want[256];
    size_t i, w = 0;
    struct buf b;

    for (i = 0; i < 0x20; i++) {
        in[i] = (char)i;
        if (i == '\n' || i == '\r' || i == '\t') {
            want[w++] = '\\';
            want[w++] = i == '\n' ? 'n' : i == '\r' ? 'r' : 't';
        } else {
            memcpy(want + w, "\\u00", 4);
            want[w + 4] = hex[i >> 4];
            want[w + 5] = hex[i & 15];
            w += 6;
        }
    }
    memcpy(in + 32, "\"\\\x7f\xc3\xa9ok", 7);
    memcpy(want + w, "\\\"\\\\\x7f\xc3\xa9ok", 9);
    want[w + 9] = '\0';
    buf_init(&b, 0);
    ck_assert_int_eq(buf_add_json_str(&b, in, 39), 0);
    ck_assert_str_eq(buf_str(&b), want);
    ck_assert_int_eq(buf_add_json_str(&b, "", 0), 0);
    ck_assert_str_eq(buf_str(&b), want);
    buf_cleanup(&b);

    buf_init(&b, 4);
    ck_assert_int_eq(buf_add_json_str(&b, "ab", 2), 0);
    ck_assert_int_eq(buf_add_json_str(&b, "\n", 1), 0);
    ck_assert_int_eq(buf_add_json_str(&b, "\x01", 1), -1);
    ck_assert_ptr_null(buf_steal(&b));
    buf_cleanup(&b);
}
END_TEST

START_TEST(fingerprint_is_order_independent_and_stable)
{
    struct label a[] = {{"service", "api"}, {"alertname", "x"}};
    struct label b[] = {
        {"alertname", "x"}, {"service", "api"}, {"severity", "critical"}};
    char fa[17], fb[17];
    labels_fingerprint("x", a, 2, fa);
    labels_fingerprint("x", b, 3, fb);
    ck_assert_str_eq(fa, fb);
    ck_assert_int_eq(strlen(fa), 16);
    labels_fingerprint("y", a, 2, fb);
    ck_assert_str_ne(fa, fb);
    /* Pinned: stored alerts keep their fingerprint across versions. */
    ck_assert_str_eq(fa, "14d398d8311e468d");
}
END_TEST

START_TEST(fingerprint_tells_shadowed_by_values_apart)
{
    struct label l[] = {{"team", "web"}, {"alertname", "r"}};
    struct label sx[] = {{"team", "x"}}, sy[] = {{"team", "y"}};
    char f0[17], fx[17], fy[17];
    labels_fingerprint_shadowed("r", l, 2, NULL, 0, f0);
    labels_fingerprint("r", l, 2, fx);
    ck_assert_str_eq(f0, fx);
    labels_fingerprint_shadowed("r", l, 2, sx, 1, fx);
    labels_fingerprint_shadowed("r", l, 2, sy, 1, fy);
    ck_assert_str_ne(fx, fy);
    ck_assert_str_ne(fx, f0);
    ck_assert_str_eq(fx, "36fd47defde168f8");
}
END_TEST

/* stderr written into a temporary file, for the log tests. */
struct captured {
    char path[32];
    int fd, saved;
};

static void stderr_capture(struct captured *c)
{
    snprintf(c->path, sizeof(c->path), "/tmp/check-log.XXXXXX");
    c->fd = mkstemp(c->path);
    c->saved = dup(STDERR_FILENO);
    ck_assert_int_ge(c->fd, 0);
    ck_assert_int_ge(c->saved, 0);
    ck_assert_int_ge(dup2(c->fd, STDERR_FILENO), 0);
}

/* What was written so far, NUL-terminated in buf (size bytes). */
static ssize_t captured_read(const struct captured *c, char *buf, size_t size)
{
    ssize_t n = pread(c->fd, buf, size - 1, 0);

    ck_assert_int_gt(n, 0);
    buf[n] = '\0';
    return n;
}

/* stderr back as it was; returns what was written (captured_read). */
static ssize_t stderr_restore(struct captured *c, char *buf, size_t size)
{
    ssize_t n;

    dup2(c->saved, STDERR_FILENO);
    close(c->saved);
    n = captured_read(c, buf, size);
    close(c->fd);
    unlink(c->path);
    return n;
}

START_TEST(log_line_folds_control_characters)
{
    struct captured c;
    char got[512];
    ssize_t n;

    stderr_capture(&c);
    log_msg(LOG_WARN, "hook", "answer: %s", "bad\x1b[31m red\nnext\r\x7f\tend");
    n = stderr_restore(&c, got, sizeof(got));
    ck_assert_ptr_nonnull(
        strstr(got, " warn hook: answer: bad [31m red next  \tend\n"));
    ck_assert_ptr_eq(strchr(got, '\n'), got + n - 1); /* one line */
}
END_TEST

/* Held lines (log_hold) are written in blocks of whole lines of at most
 * PIPE_BUF bytes, the rest at the outermost release, and none is lost. */
START_TEST(log_hold_writes_whole_lines_in_blocks)
{
    struct captured c;
    static char got[65536];
    struct stat st;
    ssize_t n;
    int lines = 0;

    stderr_capture(&c);
    log_hold();
    log_hold(); /* nested: the outer release writes */
    for (int i = 0; i < 200; i++)
        log_msg(LOG_INFO, "engine", "line %03d %s", i,
                "................................................");
    log_release();
    ck_assert_int_eq(fstat(c.fd, &st), 0);
    /* Blocks went out as the buffer filled: whole lines, not all yet. */
    ck_assert_int_gt(st.st_size, 0);
    n = captured_read(&c, got, sizeof(got));
    ck_assert_int_eq(n, st.st_size);
    ck_assert_int_eq(got[n - 1], '\n');
    ck_assert_ptr_null(strstr(got, "line 199"));
    log_release();
    stderr_restore(&c, got, sizeof(got));
    for (char *p = got; (p = strchr(p, '\n')) != NULL; p++)
        lines++;
    ck_assert_int_eq(lines, 200);
    ck_assert_ptr_nonnull(strstr(got, " info engine: line 000 ."));
    ck_assert_ptr_nonnull(strstr(got, " info engine: line 199 ."));
}
END_TEST

/* Trees from the arena: two alive at once stay intact when one is freed,
 * a tree may be changed (nodes from malloc) and printed, a tree larger
 * than the arena spills to malloc, and a failed parse leaves nothing. */
START_TEST(json_arena_trees_live_side_by_side)
{
    cJSON *a = json_arena_parse("{\"k\":\"alpha\",\"n\":[1,2,3]}");
    cJSON *b = json_arena_parse("{\"k\":\"beta\"}");
    char *out;
    struct buf big;

    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    cJSON_AddStringToObject(a, "added", "x");
    json_arena_free(a);
    /* b's nodes are still b's: the arena is reused only once all are
     * freed. */
    a = json_arena_parse("{\"k\":\"gamma-overwrites-if-reused\"}");
    ck_assert_str_eq(cJSON_GetObjectItem(b, "k")->valuestring, "beta");
    out = cJSON_PrintUnformatted(b);
    ck_assert_str_eq(out, "{\"k\":\"beta\"}");
    free(out);
    json_arena_free(a);
    json_arena_free(b);
    ck_assert_ptr_null(json_arena_parse("{\"k\":"));
    buf_init(&big, 0);
    buf_adds(&big, "[");
    for (int i = 0; i < 20000; i++)
        buf_printf(&big, "%s\"s%d\"", i ? "," : "", i);
    buf_adds(&big, "]");
    a = json_arena_parse(buf_str(&big));
    ck_assert_ptr_nonnull(a);
    ck_assert_int_eq(cJSON_GetArraySize(a), 20000);
    ck_assert_str_eq(cJSON_GetArrayItem(a, 19999)->valuestring, "s19999");
    json_arena_free(a);
    buf_cleanup(&big);
}
END_TEST

Suite *common_suite(void)
{
    Suite *s = suite_create("common");
    TCase *t = tcase_create("core");
    tcase_add_test(t, duration_parses_units_and_sums);
    tcase_add_test(t, json_arena_trees_live_side_by_side);
    tcase_add_test(t, duration_formats_shortest);
    tcase_add_test(t, double_formats_round_trip);
    tcase_add_test(t, ll_formats_as_printf_does);
    tcase_add_test(t, ts_formats_milliseconds_with_a_fraction);
    tcase_add_test(t, rfc3339_parses_zones_and_fractions);
    tcase_add_test(t, utf8_validation_rejects_overlong_and_truncated);
    tcase_add_test(t, utf8_len_counts_characters_and_cut_keeps_them_whole);
    tcase_add_test(t, buf_stops_at_its_maximum);
    tcase_add_test(t, buf_json_escapes_controls);
    tcase_add_test(t, buf_json_escapes_every_byte);
    tcase_add_test(t, fingerprint_is_order_independent_and_stable);
    tcase_add_test(t, fingerprint_tells_shadowed_by_values_apart);
    tcase_add_test(t, log_line_folds_control_characters);
    tcase_add_test(t, log_hold_writes_whole_lines_in_blocks);
    suite_add_tcase(s, t);
    return s;
}
