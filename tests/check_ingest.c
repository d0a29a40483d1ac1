/* check_ingest.c - tests for ingest/: the json, influx, prom, graphite and
 * statsd line parsers, format guessing, content types and the bounded line
 * reader. */
#include <check.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../ingest/parse.h"
#include "../ingest/parse_int.h"
#include "../ingest/reader.h"

#define MAXS 8

/* Copies of what a line yielded. */
struct got {
    int n;
    char metric[MAXS][128];
    char labels[MAXS][512]; /* "k=v,k2=v2" in emitted order */
    double value[MAXS];
    double ts[MAXS];
    int stop_after; /* nonzero: ask the parser to stop after this many */
};

static int collect(void *ctx, const struct sample *s)
{
    struct got *g = ctx;
    size_t k = 0;

    ck_assert_int_lt(g->n, MAXS);
    ck_assert(isfinite(s->value));
    snprintf(g->metric[g->n], sizeof(g->metric[0]), "%s", s->metric);
    g->labels[g->n][0] = '\0';
    for (size_t i = 0; i < s->nlabels; i++) {
        int w =
            snprintf(g->labels[g->n] + k, sizeof(g->labels[0]) - k, "%s%s=%s",
                     i ? "," : "", s->labels[i].name, s->labels[i].value);
        ck_assert(w > 0 && (size_t)w < sizeof(g->labels[0]) - k);
        k += (size_t)w;
    }
    g->value[g->n] = s->value;
    g->ts[g->n] = s->ts;
    g->n++;
    return g->stop_after && g->n >= g->stop_after;
}

static char why[256];

/* Parse one line with a fresh parser. */
static int parse1(enum ingest_format f, const char *line, struct got *g)
{
    struct ingest_parser *p = ingest_parser_new(f);
    int rc;

    ck_assert_ptr_nonnull(p);
    memset(g, 0, sizeof(*g));
    rc = ingest_parse_line(p, line, strlen(line), collect, g, why, sizeof(why));
    ingest_parser_free(p);
    if (rc >= 0)
        ck_assert_int_eq(rc, g->n);
    return rc;
}

/* Parse with a parser that keeps state between lines. */
static int parsep(struct ingest_parser *p, const char *line, struct got *g)
{
    memset(g, 0, sizeof(*g));
    return ingest_parse_line(p, line, strlen(line), collect, g, why,
                             sizeof(why));
}

/* Each of lines, through p (whose skip count starts at 0), is valid but
 * gives no sample: not rejected, counted as skipped. */
static void expect_skipped(struct ingest_parser *p, const char *const *lines,
                           size_t n)
{
    struct got g;

    for (size_t i = 0; i < n; i++) {
        ck_assert_msg(parsep(p, lines[i], &g) == 0, "not skipped: %s",
                      lines[i]);
        ck_assert_int_eq(g.n, 0);
        ck_assert_str_eq(why, "");
        ck_assert_uint_eq(ingest_parser_skipped(p), i + 1);
    }
}

static void expect_reject(enum ingest_format f, const char *line,
                          const char *reason_part)
{
    struct got g;
    int rc = parse1(f, line, &g);

    ck_assert_msg(rc == -1, "line accepted: %s", line);
    ck_assert_int_eq(g.n, 0);
    ck_assert_msg(strstr(why, reason_part) != NULL,
                  "reason \"%s\" lacks \"%s\" for %s", why, reason_part, line);
}

/* ---- json -------------------------------------------------------------- */

START_TEST(json_line_yields_metric_labels_value_and_seconds_ts)
{
    struct got g;
    ck_assert_int_eq(parse1(FMT_JSON,
                            "{\"metric\":\"cpu\",\"labels\":{\"host\":\"a\"},"
                            "\"value\":0.93,\"ts\":1767225600.5}",
                            &g),
                     1);
    ck_assert_str_eq(g.metric[0], "cpu");
    ck_assert_str_eq(g.labels[0], "host=a");
    ck_assert_double_eq(g.value[0], 0.93);
    ck_assert_double_eq(g.ts[0], 1767225600.5);
}
END_TEST

START_TEST(json_without_labels_or_ts_has_no_labels_and_nan_ts)
{
    struct got g;
    ck_assert_int_eq(parse1(FMT_JSON,
                            " { \"value\" : -2e3 , \"metric\" : "
                            "\"m\" , \"labels\": null } ",
                            &g),
                     1);
    ck_assert_str_eq(g.metric[0], "m");
    ck_assert_str_eq(g.labels[0], "");
    ck_assert_double_eq(g.value[0], -2000);
    ck_assert(isnan(g.ts[0]));
    ck_assert_int_eq(
        parse1(FMT_JSON, "{\"metric\":\"m\",\"value\":1,\"ts\":null}", &g), 1);
    ck_assert(isnan(g.ts[0]));
}
END_TEST

START_TEST(json_rfc3339_string_ts_is_converted_to_seconds)
{
    struct got g;
    ck_assert_int_eq(parse1(FMT_JSON,
                            "{\"metric\":\"m\",\"value\":1,"
                            "\"ts\":\"2026-01-01T01:00:00.250+01:00\"}",
                            &g),
                     1);
    ck_assert_double_eq(g.ts[0], 1767225600.25);
}
END_TEST

START_TEST(json_escaped_strings_are_decoded)
{
    struct got g;
    ck_assert_int_eq(parse1(FMT_JSON,
                            "{\"metric\":\"a\\\"b\",\"labels\":{\"k\\u00e9\":"
                            "\"x\\\\y\\n\"},\"value\":1}",
                            &g),
                     1);
    ck_assert_str_eq(g.metric[0], "a\"b");
    ck_assert_str_eq(g.labels[0], "k\xc3\xa9=x\\y\n");
}
END_TEST

START_TEST(json_number_and_bool_label_values_become_their_text)
{
    struct got g;
    ck_assert_int_eq(parse1(FMT_JSON,
                            "{\"metric\":\"m\",\"labels\":{\"n\":3,\"f\":0.5,"
                            "\"b\":true,\"c\":false},\"value\":1}",
                            &g),
                     1);
    ck_assert_str_eq(g.labels[0], "n=3,f=0.5,b=true,c=false");
}
END_TEST

START_TEST(json_unknown_keys_are_ignored_scalar_or_nested)
{
    struct got g;
    ck_assert_int_eq(parse1(FMT_JSON,
                            "{\"x\":1,\"metric\":\"m\",\"y\":\"s\",\"value\":2,"
                            "\"z\":true}",
                            &g),
                     1);
    ck_assert_double_eq(g.value[0], 2);
    ck_assert_int_eq(parse1(FMT_JSON,
                            "{\"metric\":\"m\",\"meta\":{\"a\":[1,2,{}]},"
                            "\"labels\":{\"h\":\"a\"},\"value\":3}",
                            &g),
                     1);
    ck_assert_str_eq(g.labels[0], "h=a");
    ck_assert_double_eq(g.value[0], 3);
}
END_TEST

START_TEST(timestamps_past_year_9999_are_rejected_in_every_format)
{
    struct got g;
    /* Milliseconds in JSON's seconds field: year 57,970. */
    expect_reject(FMT_JSON,
                  "{\"metric\":\"m\",\"value\":1,"
                  "\"ts\":1767225600123}",
                  "timestamp after the year 9999 (Unix seconds expected)");
    expect_reject(FMT_JSON, "{\"metric\":\"m\",\"value\":1,\"ts\":-1e300}",
                  "timestamp before the year 1");
    expect_reject(FMT_GRAPHITE, "a.b 1 1767225600123", "after the year 9999");
    expect_reject(FMT_STATSD, "a:1|g|T1767225600123", "after the year 9999");
    /* Nanoseconds where Prometheus text wants milliseconds. */
    expect_reject(FMT_PROM, "m 1 1767225600123000000",
                  "after the year 9999 (Unix milliseconds expected)");
    /* The edges are kept. */
    ck_assert_int_eq(parse1(FMT_JSON,
                            "{\"metric\":\"m\",\"value\":1,"
                            "\"ts\":253402300799}",
                            &g),
                     1);
    ck_assert_double_eq(g.ts[0], 253402300799.0);
    /* The last instants of 9999, finer than a millisecond, are in it. */
    ck_assert_int_eq(parse1(FMT_JSON,
                            "{\"metric\":\"m\",\"value\":1,"
                            "\"ts\":253402300799.9994}",
                            &g),
                     1);
    expect_reject(FMT_JSON,
                  "{\"metric\":\"m\",\"value\":1,\"ts\":253402300800}",
                  "after the year 9999");
    /* RFC 3339 text gets the same range: year 0000 and the leap second at
     * the end of 9999 parse, but are outside it; both edges are kept. */
    expect_reject(FMT_JSON,
                  "{\"metric\":\"m\",\"value\":1,"
                  "\"ts\":\"0000-12-31T23:59:59Z\"}",
                  "timestamp \"0000-12-31T23:59:59Z\" outside the years 1 to "
                  "9999");
    expect_reject(FMT_JSON,
                  "{\"metric\":\"m\",\"value\":1,\"x\":[1],"
                  "\"ts\":\"9999-12-31T23:59:60Z\"}",
                  "outside the years 1 to 9999");
    ck_assert_int_eq(parse1(FMT_JSON,
                            "{\"metric\":\"m\",\"value\":1,"
                            "\"ts\":\"0001-01-01T00:00:00Z\"}",
                            &g),
                     1);
    ck_assert_double_eq(g.ts[0], -62135596800.0);
    ck_assert_int_eq(parse1(FMT_JSON,
                            "{\"metric\":\"m\",\"value\":1,"
                            "\"ts\":\"9999-12-31T23:59:59.999Z\"}",
                            &g),
                     1);
    ck_assert_double_eq_tol(g.ts[0], 253402300799.999, 1e-3);
    ck_assert_int_eq(parse1(FMT_GRAPHITE, "a.b 1 -1", &g), 1);
    ck_assert(isnan(g.ts[0]));
}
END_TEST

START_TEST(json_rejects_bad_values_and_shapes)
{
    expect_reject(FMT_JSON, "{\"metric\":\"m\",\"value\":1e999}", "NaN/Inf");
    expect_reject(FMT_JSON, "{\"metric\":\"m\",\"value\":\"1\"}",
                  "must be a number");
    expect_reject(FMT_JSON, "{\"metric\":\"m\"}", "missing \"value\"");
    expect_reject(FMT_JSON, "{\"value\":1}", "missing \"metric\"");
    expect_reject(FMT_JSON, "{\"metric\":\"\",\"value\":1}",
                  "empty metric name");
    expect_reject(FMT_JSON, "{\"metric\":7,\"value\":1}", "must be a string");
    expect_reject(FMT_JSON, "[1,2]", "not a JSON object");
    expect_reject(FMT_JSON, "{\"metric\":\"m\",\"value\":1} x",
                  "after the JSON");
    expect_reject(FMT_JSON, "{\"metric\":\"m\",\"value\":1", "invalid JSON");
    expect_reject(FMT_JSON, "{\"metric\":\"m\",\"value\":NaN}", "invalid JSON");
    expect_reject(FMT_JSON, "{\"metric\":\"m\",\"value\":1,\"ts\":\"soon\"}",
                  "invalid timestamp");
    expect_reject(FMT_JSON, "{\"metric\":\"m\",\"value\":1,\"ts\":true}",
                  "\"ts\" must be");
    expect_reject(FMT_JSON,
                  "{\"metric\":\"m\",\"labels\":{\"a\":null},\"value\":1}",
                  "must be a string");
    expect_reject(FMT_JSON,
                  "{\"metric\":\"m\",\"labels\":{\"a\":[1]},\"value\":1}",
                  "must be a string");
    expect_reject(FMT_JSON, "{\"metric\":\"m\",\"labels\":[],\"value\":1}",
                  "must be an object");
    expect_reject(FMT_JSON, "{\"metric\":\"m\",\"value\":1,\"metric\":\"n\"}",
                  "duplicate key");
    expect_reject(FMT_JSON, "{\"metric\":\"m\\u0000x\",\"value\":1}",
                  "\\u0000");
}
END_TEST

START_TEST(json_duplicate_label_rejected_on_both_paths)
{
    expect_reject(FMT_JSON,
                  "{\"metric\":\"m\",\"labels\":{\"a\":\"1\",\"a\":\"2\"},"
                  "\"value\":1}",
                  "duplicate label \"a\"");
    /* The escape sends the line through cJSON. */
    expect_reject(FMT_JSON,
                  "{\"metric\":\"m\\n\",\"labels\":{\"a\":\"1\",\"a\":\"2\"},"
                  "\"value\":1}",
                  "duplicate label \"a\"");
}
END_TEST

/* ---- influx ------------------------------------------------------------ */

START_TEST(influx_one_sample_per_field_named_measurement_field)
{
    struct got g;
    ck_assert_int_eq(parse1(FMT_INFLUX,
                            "cpu,host=a,dc=eu usage=0.93,idle=0.07 "
                            "1767225600500000000",
                            &g),
                     2);
    ck_assert_str_eq(g.metric[0], "cpu_usage");
    ck_assert_str_eq(g.metric[1], "cpu_idle");
    ck_assert_str_eq(g.labels[0], "host=a,dc=eu");
    ck_assert_str_eq(g.labels[1], "host=a,dc=eu");
    ck_assert_double_eq(g.value[0], 0.93);
    ck_assert_double_eq(g.value[1], 0.07);
    ck_assert_double_eq(g.ts[0], 1767225600.5);
    ck_assert_double_eq(g.ts[1], 1767225600.5);
}
END_TEST

START_TEST(influx_field_named_value_keeps_the_measurement_name)
{
    struct got g;
    ck_assert_int_eq(parse1(FMT_INFLUX, "temp value=21.5", &g), 1);
    ck_assert_str_eq(g.metric[0], "temp");
    ck_assert_str_eq(g.labels[0], "");
    ck_assert(isnan(g.ts[0]));
}
END_TEST

START_TEST(influx_integer_suffixes_and_booleans_are_numbers)
{
    struct got g;
    ck_assert_int_eq(parse1(FMT_INFLUX, "m a=12i,b=-3i,c=7u,d=1e3", &g), 4);
    ck_assert_double_eq(g.value[0], 12);
    ck_assert_double_eq(g.value[1], -3);
    ck_assert_double_eq(g.value[2], 7);
    ck_assert_double_eq(g.value[3], 1000);
    ck_assert_int_eq(parse1(FMT_INFLUX, "m a=t,b=T,c=true,d=True,e=TRUE", &g),
                     5);
    for (int i = 0; i < 5; i++)
        ck_assert_double_eq(g.value[i], 1);
    ck_assert_int_eq(
        parse1(FMT_INFLUX, "m a=f,b=F,c=false,d=False,e=FALSE", &g), 5);
    for (int i = 0; i < 5; i++)
        ck_assert_double_eq(g.value[i], 0);
    expect_reject(FMT_INFLUX, "m a=-7u", "unsigned");
    expect_reject(FMT_INFLUX, "m a=1.5i", "invalid integer");
    expect_reject(FMT_INFLUX, "m a=99999999999999999999i", "invalid integer");
    expect_reject(FMT_INFLUX, "m a=yes", "invalid field value");
}
END_TEST

START_TEST(influx_string_fields_are_skipped_and_alone_yield_nothing)
{
    struct got g;
    ck_assert_int_eq(
        parse1(FMT_INFLUX, "log,app=x msg=\"a, b=c \\\"q\\\" \\\\\",n=2 1", &g),
        1);
    ck_assert_str_eq(g.metric[0], "log_n");
    ck_assert_double_eq(g.value[0], 2);
    ck_assert_double_eq(g.ts[0], 1e-9);
    ck_assert_int_eq(parse1(FMT_INFLUX, "log msg=\"only text\"", &g), 0);
    expect_reject(FMT_INFLUX, "log msg=\"open", "unterminated string");
}
END_TEST

START_TEST(influx_escapes_in_measurement_tags_and_field_keys)
{
    struct got g;
    ck_assert_int_eq(
        parse1(FMT_INFLUX, "my\\ meas\\,x,ta\\=g=v\\ 1\\,2 f\\ k\\=1=3", &g),
        1);
    ck_assert_str_eq(g.metric[0], "my meas,x_f k=1");
    ck_assert_str_eq(g.labels[0], "ta=g=v 1,2");
    /* A measurement escapes commas and spaces only: "\\=" stays. */
    ck_assert_int_eq(parse1(FMT_INFLUX, "m\\=x f=1", &g), 1);
    ck_assert_str_eq(g.metric[0], "m\\=x_f");
}
END_TEST

START_TEST(influx_rejects_malformed_lines)
{
    expect_reject(FMT_INFLUX, "cpu", "missing fields");
    expect_reject(FMT_INFLUX, "cpu,host=a", "missing fields");
    expect_reject(FMT_INFLUX, "cpu,host usage=1", "without value");
    expect_reject(FMT_INFLUX, "cpu,host= usage=1", "empty value");
    expect_reject(FMT_INFLUX, "cpu usage", "without value");
    expect_reject(FMT_INFLUX, "cpu usage=", "missing field value");
    expect_reject(FMT_INFLUX, "cpu =1", "empty field key");
    expect_reject(FMT_INFLUX, ",host=a usage=1", "empty measurement");
    expect_reject(FMT_INFLUX, "cpu usage=NaN", "NaN/Inf");
    expect_reject(FMT_INFLUX, "cpu usage=inf", "NaN/Inf");
    expect_reject(FMT_INFLUX, "cpu usage=1 12x", "invalid timestamp");
    expect_reject(FMT_INFLUX, "cpu usage=1 12 13", "after the timestamp");
    expect_reject(FMT_INFLUX, "cpu,a=1,a=2 usage=1", "duplicate label \"a\"");
}
END_TEST

/* ---- prom -------------------------------------------------------------- */

START_TEST(prom_sample_with_labels_and_ms_timestamp)
{
    struct got g;
    ck_assert_int_eq(parse1(FMT_PROM,
                            "cpu_usage{host=\"a\",cpu=\"0\",} 0.93 "
                            "1767225600500",
                            &g),
                     1);
    ck_assert_str_eq(g.metric[0], "cpu_usage");
    ck_assert_str_eq(g.labels[0], "host=a,cpu=0");
    ck_assert_double_eq(g.value[0], 0.93);
    ck_assert_double_eq(g.ts[0], 1767225600.5);
    ck_assert_int_eq(parse1(FMT_PROM, "job:up:sum 1", &g), 1);
    ck_assert_str_eq(g.metric[0], "job:up:sum");
    ck_assert(isnan(g.ts[0]));
    ck_assert_int_eq(parse1(FMT_PROM, "up { } 1e-3", &g), 1);
    ck_assert_double_eq(g.value[0], 0.001);
}
END_TEST

START_TEST(prom_label_value_escapes_are_decoded)
{
    struct got g;
    ck_assert_int_eq(parse1(FMT_PROM,
                            "m{path=\"C:\\\\x\",q=\"say \\\"hi\\\"\","
                            "nl=\"a\\nb\",s=\"a,b}c\"} 1",
                            &g),
                     1);
    ck_assert_str_eq(g.labels[0], "path=C:\\x,q=say \"hi\",nl=a\nb,s=a,b}c");
    /* An unknown escape is kept as written, as Prometheus' scraper does. */
    {
        struct got lit;
        ck_assert_int_eq(parse1(FMT_PROM, "m{a=\"C:\\temp\"} 1", &lit), 1);
        ck_assert_str_eq(lit.labels[0], "a=C:\\temp");
    }
    expect_reject(FMT_PROM, "m{a=\"open} 1", "unterminated");
    expect_reject(FMT_PROM, "m 3 # {trace_id=\"abc\"} 0.5", "OpenMetrics");
}
END_TEST

START_TEST(prom_help_type_and_comments_yield_nothing_and_type_is_kept)
{
    struct ingest_parser *p = ingest_parser_new(FMT_PROM);
    struct got g;

    ck_assert_int_eq(parsep(p, "# HELP rpc_seconds RPC latency.", &g), 0);
    ck_assert_int_eq(parsep(p, "# TYPE rpc_seconds summary", &g), 0);
    ck_assert_int_eq(parsep(p, "# TYPE http_requests_total counter", &g), 0);
    ck_assert_int_eq(parsep(p, "# just a comment", &g), 0);
    ck_assert_int_eq(parsep(p, "#", &g), 0);
    ck_assert_int_eq(ingest_prom_type(p, "rpc_seconds"), PROM_SUMMARY);
    ck_assert_int_eq(ingest_prom_type(p, "http_requests_total"), PROM_COUNTER);
    ck_assert_int_eq(ingest_prom_type(p, "other"), PROM_UNTYPED);
    ck_assert_int_eq(parsep(p, "# TYPE x sparkline", &g), -1);
    ck_assert_ptr_nonnull(strstr(why, "unknown metric type"));
    ck_assert_int_eq(parsep(p, "# TYPE x", &g), -1);
    /* HELP or TYPE alone is a comment to Prometheus' lexer, which reads
     * them as keywords only when whitespace follows. */
    ck_assert_int_eq(parsep(p, "# TYPE", &g), 0);
    ck_assert_int_eq(parsep(p, "# HELP", &g), 0);
    ck_assert_int_eq(parsep(p, "rpc_seconds{quantile=\"0.99\"} 0.2", &g), 1);
    ck_assert_str_eq(g.metric[0], "rpc_seconds");
    ck_assert_str_eq(g.labels[0], "quantile=0.99");
    ck_assert_int_eq(parsep(p, "rpc_seconds_sum 10", &g), 1);
    ck_assert_str_eq(g.metric[0], "rpc_seconds_sum");
    ingest_parser_free(p);
}
END_TEST

START_TEST(prom_histogram_series_keep_their_own_names)
{
    struct ingest_parser *p = ingest_parser_new(FMT_PROM);
    struct got g;

    ck_assert_int_eq(parsep(p, "# TYPE lat histogram", &g), 0);
    ck_assert_int_eq(parsep(p, "lat_bucket{le=\"0.5\"} 3", &g), 1);
    ck_assert_str_eq(g.metric[0], "lat_bucket");
    ck_assert_str_eq(g.labels[0], "le=0.5");
    ck_assert_int_eq(parsep(p, "lat_bucket{le=\"+Inf\"} 7", &g), 1);
    ck_assert_str_eq(g.labels[0], "le=+Inf");
    ck_assert_double_eq(g.value[0], 7);
    ck_assert_int_eq(parsep(p, "lat_sum 12.5", &g), 1);
    ck_assert_str_eq(g.metric[0], "lat_sum");
    ck_assert_int_eq(parsep(p, "lat_count 7", &g), 1);
    ck_assert_str_eq(g.metric[0], "lat_count");
    ck_assert_int_eq(parsep(p, "lat_bucket{x=\"1\"} 3", &g), -1);
    ck_assert_ptr_nonnull(strstr(why, "le"));
    ck_assert_int_eq(parsep(p, "lat_bucket{le=\"big\"} 3", &g), -1);
    /* Infinity as Go's ParseFloat (Prometheus' parser) spells it. */
    ck_assert_int_eq(parsep(p, "lat_bucket{le=\"Inf\"} 7", &g), 1);
    ck_assert_int_eq(parsep(p, "lat_bucket{le=\"inf\"} 7", &g), 1);
    ck_assert_int_eq(parsep(p, "lat_bucket{le=\"1e3\"} 7", &g), 1);
    /* Not a histogram family: no "le" needed. */
    ck_assert_int_eq(parsep(p, "other_bucket 3", &g), 1);
    /* A summary's quantile label must be a number. */
    ck_assert_int_eq(parsep(p, "# TYPE rpc summary", &g), 0);
    ck_assert_int_eq(parsep(p, "rpc{quantile=\"0.99\"} 0.2", &g), 1);
    ck_assert_int_eq(parsep(p, "rpc{quantile=\"p99\"} 0.2", &g), -1);
    ck_assert_ptr_nonnull(strstr(why, "quantile"));
    ck_assert_int_eq(parsep(p, "rpc_sum 3", &g), 1);
    ingest_parser_free(p);
}
END_TEST

START_TEST(prom_skips_nan_inf_values_but_checks_the_line)
{
    struct ingest_parser *p = ingest_parser_new(FMT_PROM);
    const char *valid[] = {"m NaN",
                           "m +Inf",
                           "m{a=\"b\"} -Inf 1",
                           "m{quantile=\"0.5\"} nan",
                           "m Inf 1767225600000",
                           "m -infinity"};
    struct got g;

    /* Valid exposition: no sample, no rejection, counted as skipped. */
    expect_skipped(p, valid, sizeof(valid) / sizeof(valid[0]));
    /* The rest of the line is still checked; a number out of range is not
     * a NaN/Inf spelling and stays an error. */
    ck_assert_int_eq(parsep(p, "m NaN x", &g), -1);
    ck_assert_ptr_nonnull(strstr(why, "invalid timestamp"));
    ck_assert_int_eq(parsep(p, "m{a=b} NaN", &g), -1);
    ck_assert_int_eq(parsep(p, "m 1e999", &g), -1);
    ck_assert_ptr_nonnull(strstr(why, "out of range"));
    ck_assert_int_eq(parsep(p, "m NaNa", &g), -1);
    ck_assert_uint_eq(ingest_parser_skipped(p), 6);
    /* Influx and JSON have no NaN/Inf: they still reject it. */
    ck_assert_int_eq(parse1(FMT_INFLUX, "cpu usage=NaN", &g), -1);
    ingest_parser_free(p);
}
END_TEST

START_TEST(prom_rejects_bad_syntax)
{
    expect_reject(FMT_PROM, "m", "missing value");
    expect_reject(FMT_PROM, "m{a=\"b\"}", "missing value");
    expect_reject(FMT_PROM, "m 1.2.3", "invalid value \"1.2.3\"");
    expect_reject(FMT_PROM, "m 1 2.5", "invalid timestamp");
    expect_reject(FMT_PROM, "m 1 2 3", "after the timestamp");
    expect_reject(FMT_PROM, "m{a=\"1\",a=\"2\"} 1", "duplicate label \"a\"");
    expect_reject(FMT_PROM, "m{a=b} 1", "not quoted");
    expect_reject(FMT_PROM, "m{1a=\"b\"} 1", "invalid label name");
    expect_reject(FMT_PROM, "m{a=\"b\" c=\"d\"} 1", "expected");
    expect_reject(FMT_PROM, "9m 1", "invalid metric name");
    expect_reject(FMT_PROM, "m-x 1", "invalid character");
    /* Prometheus fails such a scrape: the name is not a label. */
    expect_reject(FMT_PROM, "a{__name__=\"b\"} 1", "\"__name__\" is reserved");
}
END_TEST

START_TEST(prom_empty_label_value_is_no_label)
{
    struct got g;

    /* As in Prometheus: m{a=""} and m are one series. */
    ck_assert_int_eq(parse1(FMT_PROM, "b{x=\"\",y=\"2\"} 2", &g), 1);
    ck_assert_str_eq(g.labels[0], "y=2");
    ck_assert_int_eq(parse1(FMT_PROM, "b{x=\"\"} 2", &g), 1);
    ck_assert_str_eq(g.labels[0], "");
    ck_assert_int_eq(parse1(FMT_PROM, "b{y=\"2\",x=\"\",z=\"3\"} 2", &g), 1);
    ck_assert_str_eq(g.labels[0], "y=2,z=3");
    /* A name given twice is a duplicate, empty or not, either way round. */
    expect_reject(FMT_PROM, "b{a=\"\",a=\"x\"} 1", "duplicate label \"a\"");
    expect_reject(FMT_PROM, "b{a=\"x\",a=\"\"} 1", "duplicate label \"a\"");
    /* So in JSON and DogStatsD tags: every format agrees on the series. */
    ck_assert_int_eq(
        parse1(FMT_JSON,
               "{\"metric\":\"b\",\"labels\":{\"x\":\"\",\"y\":\"2\"},"
               "\"value\":2}",
               &g),
        1);
    ck_assert_str_eq(g.labels[0], "y=2");
    ck_assert_int_eq(parse1(FMT_STATSD, "b:2|g|#x:,y:2,z", &g), 1);
    ck_assert_str_eq(g.labels[0], "y=2");
    /* and a gauge's memory is the series': "+1" after 5 is 6 */
    ck_assert_int_eq(parse1(FMT_STATSD, "gz:5:+1|g|#canary", &g), 2);
    ck_assert_double_eq(g.value[1], 6);
}
END_TEST

/* ---- graphite ---------------------------------------------------------- */

START_TEST(graphite_path_value_and_seconds_timestamp)
{
    struct got g;
    ck_assert_int_eq(parse1(FMT_GRAPHITE, "servers.a.cpu 0.93 1767225600", &g),
                     1);
    ck_assert_str_eq(g.metric[0], "servers.a.cpu");
    ck_assert_str_eq(g.labels[0], "");
    ck_assert_double_eq(g.value[0], 0.93);
    ck_assert_double_eq(g.ts[0], 1767225600);
    ck_assert_int_eq(parse1(FMT_GRAPHITE, "a.b 5", &g), 1);
    ck_assert(isnan(g.ts[0]));
    ck_assert_int_eq(parse1(FMT_GRAPHITE, "a.b 5 -1", &g), 1);
    ck_assert(isnan(g.ts[0]));
}
END_TEST

START_TEST(graphite_tagged_series_tags_become_labels)
{
    struct got g;
    ck_assert_int_eq(
        parse1(FMT_GRAPHITE, "disk.used;dc=eu;host=a 42 1767225600", &g), 1);
    ck_assert_str_eq(g.metric[0], "disk.used");
    ck_assert_str_eq(g.labels[0], "dc=eu,host=a");
    expect_reject(FMT_GRAPHITE, "disk.used;dc 1", "invalid tag");
    expect_reject(FMT_GRAPHITE, "disk.used;dc= 1", "invalid tag");
    expect_reject(FMT_GRAPHITE, "disk.used;dc=a;dc=b 1", "duplicate label");
}
END_TEST

START_TEST(graphite_skips_nan_inf_values_as_carbon_drops_nan)
{
    struct ingest_parser *p = ingest_parser_new(FMT_GRAPHITE);
    const char *valid[] = {"servers.a.cpu nan 1767225600", "a.b NaN",
                           "a.b -inf -1", "a.b;dc=eu +Infinity 1"};
    struct got g;

    expect_skipped(p, valid, sizeof(valid) / sizeof(valid[0]));
    ck_assert_int_eq(parsep(p, "a.b 2 1", &g), 1);
    ck_assert_uint_eq(ingest_parser_skipped(p), 4);
    ingest_parser_free(p);
}
END_TEST

START_TEST(graphite_rejects_bad_lines)
{
    expect_reject(FMT_GRAPHITE, "a.b", "missing value");
    expect_reject(FMT_GRAPHITE, "a.b 1e999 1", "out of range");
    expect_reject(FMT_GRAPHITE, "a.b nan later", "invalid timestamp");
    expect_reject(FMT_GRAPHITE, "a.b nana 1", "invalid value");
    expect_reject(FMT_GRAPHITE, "a.b x", "invalid value");
    expect_reject(FMT_GRAPHITE, "a.b 1 later", "invalid timestamp");
    expect_reject(FMT_GRAPHITE, "a.b 1 2 3", "after the timestamp");
    expect_reject(FMT_GRAPHITE, ";a=b 1", "empty metric name");
}
END_TEST

/* ---- statsd ------------------------------------------------------------ */

/* Datadog clients send events and service checks on the metrics socket:
 * no sample, and not a malformed line; guessing knows them too. */
START_TEST(statsd_events_and_service_checks_are_ignored)
{
    struct got g;

    ck_assert_int_eq(parse1(FMT_STATSD, "_e{5,4}:title|text|#a:b", &g), 0);
    ck_assert_int_eq(parse1(FMT_STATSD, "_sc|db.up|0|#env:prod", &g), 0);
    ck_assert_int_eq(parse1(FMT_AUTO, "_sc|db.up|2", &g), 0);
    ck_assert_int_eq(parse1(FMT_AUTO, "_e{1,1}:a|b", &g), 0);
    ck_assert_int_eq(ingest_guess("_sc|x|0", 7), FMT_STATSD);
    /* A metric named like one is still a metric. */
    ck_assert_int_eq(parse1(FMT_STATSD, "_e:1|c", &g), 1);
}
END_TEST

START_TEST(statsd_counter_is_divided_by_sample_rate)
{
    struct got g;
    ck_assert_int_eq(parse1(FMT_STATSD, "hits:3|c|@0.5", &g), 1);
    ck_assert_str_eq(g.metric[0], "hits");
    ck_assert_double_eq(g.value[0], 6);
    ck_assert(isnan(g.ts[0]));
    ck_assert_int_eq(parse1(FMT_STATSD, "hits:3|c", &g), 1);
    ck_assert_double_eq(g.value[0], 3);
    expect_reject(FMT_STATSD, "hits:3|c|@0", "sample rate");
    expect_reject(FMT_STATSD, "hits:3|c|@1.5", "sample rate");
    expect_reject(FMT_STATSD, "hits:3|c|@x", "sample rate");
}
END_TEST

START_TEST(statsd_timer_histogram_distribution_keep_value_and_tags)
{
    struct got g;
    ck_assert_int_eq(parse1(FMT_STATSD,
                            "api.latency:123|ms|@0.5|#service:api,env:prod,"
                            "canary",
                            &g),
                     1);
    ck_assert_str_eq(g.metric[0], "api.latency");
    ck_assert_double_eq(g.value[0], 123);
    /* A tag without a value is a label with an empty one: no label (as
     * statsd_exporter drops it). */
    ck_assert_str_eq(g.labels[0], "service=api,env=prod");
    ck_assert_int_eq(parse1(FMT_STATSD, "x:1.5|h", &g), 1);
    ck_assert_double_eq(g.value[0], 1.5);
    ck_assert_int_eq(parse1(FMT_STATSD, "x:2|d|#url:http://a", &g), 1);
    ck_assert_str_eq(g.labels[0], "url=http://a");
    expect_reject(FMT_STATSD, "x:1|ms|#a:1,a:2", "duplicate label");
    expect_reject(FMT_STATSD, "x:1|ms|#:v", "empty tag name");
}
END_TEST

START_TEST(statsd_gauge_deltas_apply_to_the_last_value)
{
    struct ingest_parser *p = ingest_parser_new(FMT_STATSD);
    struct got g;

    ck_assert_int_eq(parsep(p, "q:10|g", &g), 1);
    ck_assert_double_eq(g.value[0], 10);
    ck_assert_int_eq(parsep(p, "q:+5|g", &g), 1);
    ck_assert_double_eq(g.value[0], 15);
    ck_assert_int_eq(parsep(p, "q:-20|g", &g), 1);
    ck_assert_double_eq(g.value[0], -5);
    /* Same name, other tags: another gauge, starting from 0. */
    ck_assert_int_eq(parsep(p, "q:+2|g|#h:a", &g), 1);
    ck_assert_double_eq(g.value[0], 2);
    ck_assert_int_eq(parsep(p, "q:4|g", &g), 1);
    ck_assert_double_eq(g.value[0], 4);
    ck_assert_int_eq(parsep(p, "q:+1|g|#h:a", &g), 1);
    ck_assert_double_eq(g.value[0], 3);
    /* Tags are a set: their order on the line names no other gauge. */
    ck_assert_int_eq(parsep(p, "r:10|g|#a:1,b:2,c:3", &g), 1);
    ck_assert_int_eq(parsep(p, "r:+5|g|#c:3,a:1,b:2", &g), 1);
    ck_assert_double_eq(g.value[0], 15);
    ck_assert_int_eq(parsep(p, "r:+1|g|#a:1,b:2", &g), 1);
    ck_assert_double_eq(g.value[0], 1);
    /* A line whose later delta leaves the double range is rejected whole:
     * neither value is emitted, and the gauge keeps its value. */
    ck_assert_int_eq(parsep(p, "q:1e308:+1e308|g", &g), -1);
    ck_assert_int_eq(g.n, 0);
    ck_assert_int_eq(parsep(p, "q:+1|g", &g), 1);
    ck_assert_double_eq(g.value[0], 5);
    ingest_parser_free(p);
}
END_TEST

START_TEST(statsd_gauges_shared_between_parsers)
{
    struct ingest_gauges *gs = ingest_gauges_new();
    struct ingest_parser *a = ingest_parser_new(FMT_STATSD);
    struct ingest_parser *b = ingest_parser_new(FMT_AUTO);
    struct ingest_parser *own = ingest_parser_new(FMT_STATSD);
    struct got g;

    ingest_parser_share_gauges(a, gs);
    ingest_parser_share_gauges(b, gs);
    /* One request (or file) sets the gauge, the next moves it. */
    ck_assert_int_eq(parsep(a, "q:10|g|#h:x", &g), 1);
    ck_assert_int_eq(parsep(b, "q:+5|g|#h:x", &g), 1);
    ck_assert_double_eq(g.value[0], 15);
    ck_assert_int_eq(parsep(a, "q:-1|g|#h:x", &g), 1);
    ck_assert_double_eq(g.value[0], 14);
    /* A parser without the shared gauges keeps its own. */
    ck_assert_int_eq(parsep(own, "q:+5|g|#h:x", &g), 1);
    ck_assert_double_eq(g.value[0], 5);
    /* A delta out of the double range is refused and changes nothing. */
    ck_assert_int_eq(parsep(a, "z:1e308|g", &g), 1);
    ck_assert_int_eq(parsep(b, "z:+1e308|g", &g), -1);
    ck_assert_int_eq(parsep(a, "z:+0|g", &g), 1);
    ck_assert_double_eq(g.value[0], 1e308);
    ingest_parser_free(a);
    ingest_parser_free(b);
    ingest_parser_free(own);
    ingest_gauges_free(gs);
}
END_TEST

/* Gauge values to text and back (eval --store, daemon restarts): keys with
 * tags, exact doubles, and a "+N" after the import adds to the kept value. */
START_TEST(statsd_gauges_export_and_import_keep_values)
{
    struct ingest_gauges *gs = ingest_gauges_new(), *back = ingest_gauges_new();
    struct ingest_parser *p = ingest_parser_new(FMT_STATSD);
    struct got g;
    char *text;

    ingest_parser_share_gauges(p, gs);
    ck_assert_int_eq(parsep(p, "q:0.1|g", &g), 1);
    ck_assert_int_eq(parsep(p, "q:-5|g|#b:2,a:1", &g), 1);
    ck_assert_int_eq(parsep(p, "r:1e308|g", &g), 1);
    text = ingest_gauges_export(gs);
    ck_assert_ptr_nonnull(text);
    ck_assert_int_eq(ingest_gauges_import(back, text), 3);
    ck_assert_int_eq(ingest_gauges_import(back, "{\"not\": 1}"), -1);
    ck_assert_int_eq(ingest_gauges_import(back, "[[\"\", 1], [\"x\", \"y\"]]"),
                     0);
    free(text);
    ingest_parser_free(p);
    p = ingest_parser_new(FMT_STATSD);
    ingest_parser_share_gauges(p, back);
    ck_assert_int_eq(parsep(p, "q:+0.2|g", &g), 1);
    ck_assert_double_eq(g.value[0], 0.1 + 0.2);
    ck_assert_int_eq(parsep(p, "q:+1|g|#a:1,b:2", &g), 1);
    ck_assert_double_eq(g.value[0], -4);
    ck_assert_int_eq(parsep(p, "r:-1e308|g", &g), 1);
    ck_assert_double_eq(g.value[0], 0);
    ingest_parser_free(p);
    ingest_gauges_free(gs);
    ingest_gauges_free(back);
}
END_TEST

/* Beyond INGEST_STATE_MAX gauges, the least recently set half is forgotten:
 * the gauges in use keep their deltas. */
START_TEST(statsd_gauges_beyond_the_bound_forget_the_least_recently_set)
{
    struct ingest_parser *p = ingest_parser_new(FMT_STATSD);
    struct got g;
    char line[64];

    ck_assert_int_eq(parsep(p, "old:7|g", &g), 1);
    ck_assert_int_eq(parsep(p, "target:100|g", &g), 1);
    for (int i = 0; i < INGEST_STATE_MAX; i++) {
        snprintf(line, sizeof(line), "fill%d:1|g", i);
        ck_assert_int_eq(parsep(p, line, &g), 1);
        if (i == INGEST_STATE_MAX - 10) /* set again late: kept */
            ck_assert_int_eq(parsep(p, "target:+1|g", &g), 1);
    }
    ck_assert_int_eq(parsep(p, "target:+1|g", &g), 1);
    ck_assert_double_eq(g.value[0], 102);
    /* The newest fill gauges are kept too; "old" was forgotten. */
    snprintf(line, sizeof(line), "fill%d:+1|g", INGEST_STATE_MAX - 1);
    ck_assert_int_eq(parsep(p, line, &g), 1);
    ck_assert_double_eq(g.value[0], 2);
    ck_assert_int_eq(parsep(p, "old:+1|g", &g), 1);
    ck_assert_double_eq(g.value[0], 1);
    ingest_parser_free(p);
}
END_TEST

START_TEST(statsd_multi_value_sets_and_timestamps)
{
    struct got g;
    ck_assert_int_eq(parse1(FMT_STATSD, "a:1:2.5|ms", &g), 2);
    ck_assert_double_eq(g.value[0], 1);
    ck_assert_double_eq(g.value[1], 2.5);
    ck_assert_int_eq(parse1(FMT_STATSD, "users:alice|s", &g), 1);
    ck_assert_double_eq(g.value[0], 1);
    ck_assert_int_eq(parse1(FMT_STATSD, "users:a:b|s", &g), 1);
    ck_assert_int_eq(parse1(FMT_STATSD, "a:1|g|T1767225600|#x:y", &g), 1);
    ck_assert_double_eq(g.ts[0], 1767225600);
    ck_assert_str_eq(g.labels[0], "x=y");
    ck_assert_int_eq(parse1(FMT_STATSD, "a:1|c|c:abc123", &g), 1);
    /* DogStatsD 1.6 tag cardinality: not ours, skipped. */
    ck_assert_int_eq(parse1(FMT_STATSD, "x:1|c|#host:a|card:low", &g), 1);
    ck_assert_str_eq(g.labels[0], "host=a");
}
END_TEST

START_TEST(statsd_rejects_malformed_lines)
{
    expect_reject(FMT_STATSD, ":1|c", "empty metric name");
    expect_reject(FMT_STATSD, "a|c", "missing \":\"");
    expect_reject(FMT_STATSD, "a:1", "missing \"|type\"");
    expect_reject(FMT_STATSD, "a:1|x", "unknown type");
    expect_reject(FMT_STATSD, "a:x|c", "invalid value");
    expect_reject(FMT_STATSD, "a:nan|g", "NaN/Inf");
    expect_reject(FMT_STATSD, "a:1::2|c", "empty value");
    expect_reject(FMT_STATSD, "a:1|c|", "empty section");
    expect_reject(FMT_STATSD, "a:1|c|zz", "unknown section");
    expect_reject(FMT_STATSD, "a:1|c|Tsoon", "invalid timestamp");
    expect_reject(FMT_STATSD, "a:1:x|c", "invalid value");
}
END_TEST

/* ---- rules shared by every format ------------------------------------- */

START_TEST(invalid_utf8_is_rejected_in_every_format)
{
    expect_reject(FMT_JSON, "{\"metric\":\"c\xff\",\"value\":1}",
                  "invalid UTF-8");
    expect_reject(FMT_INFLUX, "cpu,h=\xc3\x28 v=1", "invalid UTF-8");
    expect_reject(FMT_PROM, "m{a=\"\xed\xa0\x80\"} 1", "invalid UTF-8");
    expect_reject(FMT_GRAPHITE, "a.\xc0\xaf 1", "invalid UTF-8");
    expect_reject(FMT_STATSD, "a:1|c|#k:\xf8", "invalid UTF-8");
    expect_reject(FMT_AUTO, "\xe2\x82 1", "invalid UTF-8");
}
END_TEST

START_TEST(valid_utf8_names_and_labels_are_kept)
{
    struct got g;
    ck_assert_int_eq(
        parse1(FMT_PROM, "m{city=\"K\xc3\xb6ln \xe2\x82\xac\"} 1", &g), 1);
    ck_assert_str_eq(g.labels[0], "city=K\xc3\xb6ln \xe2\x82\xac");
}
END_TEST

START_TEST(line_over_the_limit_is_rejected_without_reading_it)
{
    struct ingest_parser *p = ingest_parser_new(FMT_AUTO);
    size_t n = INGEST_MAX_LINE + 1;
    char *line = malloc(n);
    struct got g;

    memset(line, 'a', n);
    memcpy(line, "m 1 ", 4);
    memset(&g, 0, sizeof(g));
    ck_assert_int_eq(
        ingest_parse_line(p, line, n, collect, &g, why, sizeof(why)), -1);
    ck_assert_ptr_nonnull(strstr(why, "too long"));
    ck_assert_int_eq(g.n, 0);
    /* Exactly at the limit is fine. */
    memset(line, ' ', n);
    memcpy(line, "m 1", 3);
    ck_assert_int_eq(ingest_parse_line(p, line, INGEST_MAX_LINE, collect, &g,
                                       why, sizeof(why)),
                     1);
    free(line);
    ingest_parser_free(p);
}
END_TEST

START_TEST(nul_bytes_crlf_and_blank_lines)
{
    struct ingest_parser *p = ingest_parser_new(FMT_PROM);
    struct got g;

    memset(&g, 0, sizeof(g));
    ck_assert_int_eq(
        ingest_parse_line(p, "m\0x 1", 5, collect, &g, why, sizeof(why)), -1);
    ck_assert_ptr_nonnull(strstr(why, "NUL"));
    ck_assert_int_eq(parsep(p, "m 1\r", &g), 1);
    ck_assert_double_eq(g.value[0], 1);
    ck_assert_int_eq(parsep(p, "", &g), 0);
    ck_assert_int_eq(parsep(p, "  \t \r", &g), 0);
    ingest_parser_free(p);
}
END_TEST

START_TEST(emit_returning_nonzero_stops_the_line)
{
    struct ingest_parser *p = ingest_parser_new(FMT_INFLUX);
    struct got g;

    memset(&g, 0, sizeof(g));
    g.stop_after = 1;
    ck_assert_int_eq(ingest_parse_line(p, "m a=1,b=2,c=3", 13, collect, &g, why,
                                       sizeof(why)),
                     1);
    ck_assert_int_eq(g.n, 1);
    ingest_parser_free(p);
}
END_TEST

START_TEST(rejected_line_emits_nothing_even_after_good_fields)
{
    struct got g;
    ck_assert_int_eq(parse1(FMT_INFLUX, "m a=1,b=2,c=oops", &g), -1);
    ck_assert_int_eq(g.n, 0);
    ck_assert_int_eq(parse1(FMT_STATSD, "m:1:2:x|ms", &g), -1);
    ck_assert_int_eq(g.n, 0);
}
END_TEST

/* ---- guessing, names, content types ------------------------------------ */

static enum ingest_format guess(const char *s)
{
    return ingest_guess(s, strlen(s));
}

START_TEST(guess_recognises_each_format)
{
    ck_assert_int_eq(guess("{\"metric\":\"a\",\"value\":1}"), FMT_JSON);
    ck_assert_int_eq(guess("cpu,host=a usage=0.9 1767225600500000000"),
                     FMT_INFLUX);
    ck_assert_int_eq(guess("cpu usage=0.9"), FMT_INFLUX);
    /* A '"' opens a quoted run only as a value's first byte: Influx tag
     * values may hold one unescaped. */
    ck_assert_int_eq(guess("cpu,loc=us\"mid temp=82 1767225600000000000"),
                     FMT_INFLUX);
    ck_assert_int_eq(guess("cpu,h=a msg=\"a b\",v=1"), FMT_INFLUX);
    ck_assert_int_eq(guess("cpu_usage{host=\"a\"} 0.93 1767225600500"),
                     FMT_PROM);
    ck_assert_int_eq(guess("up 1"), FMT_PROM);
    ck_assert_int_eq(guess("up {job=\"a b\"} 1"), FMT_PROM);
    ck_assert_int_eq(guess("up 1 1767225600500"), FMT_PROM);
    ck_assert_int_eq(guess("job:rate:sum 1"), FMT_PROM);
    ck_assert_int_eq(guess("# TYPE up gauge"), FMT_PROM);
    ck_assert_int_eq(guess("servers.a.cpu 0.93 1767225600"), FMT_GRAPHITE);
    ck_assert_int_eq(guess("servers.a.cpu 0.93"), FMT_GRAPHITE);
    ck_assert_int_eq(guess("cpu 0.93 1767225600"), FMT_GRAPHITE);
    ck_assert_int_eq(guess("disk;dc=eu 1"), FMT_GRAPHITE);
    ck_assert_int_eq(guess("api.latency:123|ms|@0.5|#service:api"), FMT_STATSD);
    ck_assert_int_eq(guess("hits:1|c"), FMT_STATSD);
    ck_assert_int_eq(guess("a:1:2|g"), FMT_STATSD);
    ck_assert_int_eq(guess("garbage"), FMT_AUTO);
    ck_assert_int_eq(guess(""), FMT_AUTO);
    ck_assert_int_eq(guess("a b c d"), FMT_AUTO);
}
END_TEST

START_TEST(auto_parser_guesses_per_line)
{
    struct ingest_parser *p = ingest_parser_new(FMT_AUTO);
    struct got g;

    ck_assert_int_eq(parsep(p, "{\"metric\":\"j\",\"value\":1}", &g), 1);
    ck_assert_str_eq(g.metric[0], "j");
    ck_assert_int_eq(parsep(p, "i,h=a v=2", &g), 1);
    ck_assert_str_eq(g.metric[0], "i_v");
    ck_assert_int_eq(parsep(p, "p{h=\"a\"} 3", &g), 1);
    ck_assert_str_eq(g.metric[0], "p");
    ck_assert_int_eq(parsep(p, "g.x 4 1767225600", &g), 1);
    ck_assert_str_eq(g.metric[0], "g.x");
    ck_assert_int_eq(parsep(p, "s:5|c", &g), 1);
    ck_assert_str_eq(g.metric[0], "s");
    ck_assert_int_eq(parsep(p, "# comment", &g), 0);
    ck_assert_int_eq(parsep(p, "garbage", &g), -1);
    ck_assert_ptr_nonnull(strstr(why, "format"));
    ingest_parser_free(p);
}
END_TEST

START_TEST(explicit_format_turns_guessing_off)
{
    struct got g;
    /* A statsd-looking line is not statsd to the prom parser. */
    ck_assert_int_eq(parse1(FMT_PROM, "hits:1|c", &g), -1);
    ck_assert_int_eq(parse1(FMT_GRAPHITE, "{\"metric\":\"a\",\"value\":1}", &g),
                     -1);
}
END_TEST

START_TEST(format_names_round_trip)
{
    const char *names[] = {"auto", "json",     "influx",
                           "prom", "graphite", "statsd"};
    enum ingest_format f;

    for (size_t i = 0; i < 6; i++) {
        ck_assert_int_eq(ingest_format_parse(names[i], &f), 0);
        ck_assert_str_eq(ingest_format_name(f), names[i]);
    }
    ck_assert_int_eq(ingest_format_parse("csv", &f), -1);
    ck_assert_int_eq(ingest_format_parse("JSON", &f), -1);
}
END_TEST

START_TEST(content_type_maps_to_format)
{
    ck_assert_int_eq(ingest_format_from_content_type("application/json"),
                     FMT_JSON);
    ck_assert_int_eq(
        ingest_format_from_content_type("application/json; charset=utf-8"),
        FMT_JSON);
    ck_assert_int_eq(ingest_format_from_content_type("application/x-ndjson"),
                     FMT_JSON);
    ck_assert_int_eq(
        ingest_format_from_content_type("text/plain; version=0.0.4"), FMT_PROM);
    ck_assert_int_eq(ingest_format_from_content_type(
                         "Text/Plain;charset=utf-8; version=\"0.0.4\""),
                     FMT_PROM);
    ck_assert_int_eq(ingest_format_from_content_type("text/plain"), FMT_AUTO);
    ck_assert_int_eq(
        ingest_format_from_content_type("text/plain; version=1.0.0"), FMT_AUTO);
    ck_assert_int_eq(ingest_format_from_content_type("image/png"), FMT_AUTO);
    ck_assert_int_eq(ingest_format_from_content_type(""), FMT_AUTO);
    ck_assert_int_eq(ingest_format_from_content_type(NULL), FMT_AUTO);
}
END_TEST

/* ---- reader ------------------------------------------------------------ */

START_TEST(reader_numbers_lines_around_an_overlong_line)
{
    FILE *f = tmpfile();
    struct ingest_reader *r;
    struct ingest_line ln;
    size_t longn = INGEST_MAX_LINE * 2 + 123;

    ck_assert_ptr_nonnull(f);
    fputs("first\n", f);
    for (size_t i = 0; i < longn; i++)
        fputc('x', f);
    fputs("\nthird\r\n\nfifth", f);
    rewind(f);
    r = ingest_reader_new_file(f);
    ck_assert_int_eq(ingest_reader_next(r, &ln), INGEST_READ_LINE);
    ck_assert_uint_eq(ln.lineno, 1);
    ck_assert_str_eq(ln.text, "first");
    ck_assert_int_eq(ingest_reader_next(r, &ln), INGEST_READ_TOOLONG);
    ck_assert_uint_eq(ln.lineno, 2);
    ck_assert_uint_eq(ln.len, longn);
    ck_assert_uint_eq(strlen(ln.text), INGEST_MAX_LINE);
    ck_assert_int_eq(ingest_reader_next(r, &ln), INGEST_READ_LINE);
    ck_assert_uint_eq(ln.lineno, 3);
    ck_assert_str_eq(ln.text, "third"); /* CRLF: the CR is dropped */
    ck_assert_int_eq(ingest_reader_next(r, &ln), INGEST_READ_LINE);
    ck_assert_uint_eq(ln.lineno, 4);
    ck_assert_uint_eq(ln.len, 0);
    ck_assert_int_eq(ingest_reader_next(r, &ln), INGEST_READ_LINE);
    ck_assert_uint_eq(ln.lineno, 5);
    ck_assert_str_eq(ln.text, "fifth");
    ck_assert_int_eq(ingest_reader_next(r, &ln), INGEST_READ_EOF);
    ck_assert_int_eq(ingest_reader_next(r, &ln), INGEST_READ_EOF);
    ingest_reader_free(r);
    fclose(f);
}
END_TEST

START_TEST(reader_overlong_line_at_eof_and_parse_rejects_it)
{
    FILE *f = tmpfile();
    struct ingest_parser *p = ingest_parser_new(FMT_AUTO);
    struct ingest_reader *r;
    struct ingest_line ln;
    struct got g;

    fputs("up 1\n", f);
    for (size_t i = 0; i < INGEST_MAX_LINE + 1; i++)
        fputc('y', f);
    rewind(f);
    r = ingest_reader_new_file(f);
    ck_assert_int_eq(ingest_reader_next(r, &ln), INGEST_READ_LINE);
    ck_assert_int_eq(ingest_reader_next(r, &ln), INGEST_READ_TOOLONG);
    ck_assert_uint_eq(ln.lineno, 2);
    ck_assert_uint_eq(ln.len, INGEST_MAX_LINE + 1);
    memset(&g, 0, sizeof(g));
    ck_assert_int_eq(
        ingest_parse_line(p, ln.text, ln.len, collect, &g, why, sizeof(why)),
        -1);
    ck_assert_ptr_nonnull(strstr(why, "too long"));
    ck_assert_int_eq(ingest_reader_next(r, &ln), INGEST_READ_EOF);
    ingest_reader_free(r);
    ingest_parser_free(p);
    fclose(f);
}
END_TEST

START_TEST(reader_line_of_exactly_the_limit_is_a_line)
{
    FILE *f = tmpfile();
    struct ingest_reader *r;
    struct ingest_line ln;

    for (size_t i = 0; i < INGEST_MAX_LINE; i++)
        fputc('z', f);
    fputs("\nnext\n", f);
    /* With CRLF too: the CR does not count against the limit. */
    for (size_t i = 0; i < INGEST_MAX_LINE; i++)
        fputc('y', f);
    fputs("\r\nlast\r\n", f);
    rewind(f);
    r = ingest_reader_new_file(f);
    ck_assert_int_eq(ingest_reader_next(r, &ln), INGEST_READ_LINE);
    ck_assert_uint_eq(ln.len, INGEST_MAX_LINE);
    ck_assert_int_eq(ingest_reader_next(r, &ln), INGEST_READ_LINE);
    ck_assert_str_eq(ln.text, "next");
    ck_assert_uint_eq(ln.lineno, 2);
    ck_assert_int_eq(ingest_reader_next(r, &ln), INGEST_READ_LINE);
    ck_assert_uint_eq(ln.len, INGEST_MAX_LINE);
    ck_assert_int_eq(ln.text[0], 'y');
    ck_assert_int_eq(ingest_reader_next(r, &ln), INGEST_READ_LINE);
    ck_assert_str_eq(ln.text, "last");
    ck_assert_uint_eq(ln.lineno, 4);
    ingest_reader_free(r);
    fclose(f);
}
END_TEST

START_TEST(reader_reads_lines_from_a_pipe_fd)
{
    int fds[2];
    struct ingest_reader *r;
    struct ingest_line ln;
    const char *data = "a 1\nb 2\n\nc 3";

    ck_assert_int_eq(pipe(fds), 0);
    ck_assert_int_eq(write(fds[1], data, strlen(data)), (ssize_t)strlen(data));
    close(fds[1]);
    r = ingest_reader_new_fd(fds[0]);
    ck_assert_int_eq(ingest_reader_next(r, &ln), INGEST_READ_LINE);
    ck_assert_str_eq(ln.text, "a 1");
    ck_assert_int_eq(ingest_reader_next(r, &ln), INGEST_READ_LINE);
    ck_assert_str_eq(ln.text, "b 2");
    ck_assert_int_eq(ingest_reader_next(r, &ln), INGEST_READ_LINE);
    ck_assert_str_eq(ln.text, "");
    ck_assert_int_eq(ingest_reader_next(r, &ln), INGEST_READ_LINE);
    ck_assert_str_eq(ln.text, "c 3");
    ck_assert_uint_eq(ln.lineno, 4);
    ck_assert_int_eq(ingest_reader_next(r, &ln), INGEST_READ_EOF);
    ingest_reader_free(r);
    close(fds[0]);
}
END_TEST

/* Counts the reader's ticks; ends the input at the first quiet one. */
static int tick_quiet_calls, tick_busy_calls;
static int end_when_quiet(void *ctx, bool quiet)
{
    (void)ctx;
    if (quiet)
        tick_quiet_calls++;
    else
        tick_busy_calls++;
    return quiet;
}

START_TEST(reader_tick_ends_a_pipe_for_good_without_its_begun_line)
{
    int fds[2];
    FILE *f;
    struct ingest_reader *r;
    struct ingest_line ln;
    const char *data = "a 1\npartial";

    ck_assert_int_eq(pipe(fds), 0);
    f = fdopen(fds[0], "r");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(write(fds[1], data, strlen(data)), (ssize_t)strlen(data));
    r = ingest_reader_new_file(f);
    tick_quiet_calls = tick_busy_calls = 0;
    ingest_reader_on_tick(r, end_when_quiet, NULL);
    ck_assert_int_eq(ingest_reader_next(r, &ln), INGEST_READ_LINE);
    ck_assert_str_eq(ln.text, "a 1");
    /* The writer stays open and quiet: the quiet tick ends the input, and
     * "partial" is not taken as a last line. */
    ck_assert_int_eq(ingest_reader_next(r, &ln), INGEST_READ_EOF);
    ck_assert_int_eq(tick_quiet_calls, 1);
    /* For good: what the writer sends later is not read. */
    ck_assert_int_eq(write(fds[1], "\nb 2\n", 5), 5);
    ck_assert_int_eq(ingest_reader_next(r, &ln), INGEST_READ_EOF);
    ck_assert_int_eq(tick_quiet_calls, 1);
    ingest_reader_free(r);
    fclose(f);
    close(fds[1]);
}
END_TEST

START_TEST(reader_handles_many_lines_across_buffer_refills)
{
    FILE *f = tmpfile();
    struct ingest_reader *r;
    struct ingest_line ln;
    unsigned long n = 0;
    int rc;

    for (int i = 0; i < 50000; i++)
        fprintf(f, "metric_%d %d\n", i, i);
    rewind(f);
    r = ingest_reader_new_file(f);
    while ((rc = ingest_reader_next(r, &ln)) == INGEST_READ_LINE) {
        char want[64];
        snprintf(want, sizeof(want), "metric_%lu %lu", n, n);
        ck_assert_str_eq(ln.text, want);
        n++;
        ck_assert_uint_eq(ln.lineno, n);
    }
    ck_assert_int_eq(rc, INGEST_READ_EOF);
    ck_assert_uint_eq(n, 50000);
    ingest_reader_free(r);
    fclose(f);
}
END_TEST

Suite *ingest_suite(void)
{
    Suite *s = suite_create("ingest");
    TCase *t = tcase_create("parse");

    tcase_add_test(t, json_line_yields_metric_labels_value_and_seconds_ts);
    tcase_add_test(t, json_without_labels_or_ts_has_no_labels_and_nan_ts);
    tcase_add_test(t, json_rfc3339_string_ts_is_converted_to_seconds);
    tcase_add_test(t, json_escaped_strings_are_decoded);
    tcase_add_test(t, json_number_and_bool_label_values_become_their_text);
    tcase_add_test(t, json_unknown_keys_are_ignored_scalar_or_nested);
    tcase_add_test(t, json_rejects_bad_values_and_shapes);
    tcase_add_test(t, timestamps_past_year_9999_are_rejected_in_every_format);
    tcase_add_test(t, json_duplicate_label_rejected_on_both_paths);
    tcase_add_test(t, influx_one_sample_per_field_named_measurement_field);
    tcase_add_test(t, influx_field_named_value_keeps_the_measurement_name);
    tcase_add_test(t, influx_integer_suffixes_and_booleans_are_numbers);
    tcase_add_test(t, influx_string_fields_are_skipped_and_alone_yield_nothing);
    tcase_add_test(t, influx_escapes_in_measurement_tags_and_field_keys);
    tcase_add_test(t, influx_rejects_malformed_lines);
    tcase_add_test(t, prom_sample_with_labels_and_ms_timestamp);
    tcase_add_test(t, prom_label_value_escapes_are_decoded);
    tcase_add_test(t,
                   prom_help_type_and_comments_yield_nothing_and_type_is_kept);
    tcase_add_test(t, prom_histogram_series_keep_their_own_names);
    tcase_add_test(t, prom_skips_nan_inf_values_but_checks_the_line);
    tcase_add_test(t, prom_rejects_bad_syntax);
    tcase_add_test(t, prom_empty_label_value_is_no_label);
    tcase_add_test(t, graphite_path_value_and_seconds_timestamp);
    tcase_add_test(t, graphite_tagged_series_tags_become_labels);
    tcase_add_test(t, graphite_rejects_bad_lines);
    tcase_add_test(t, graphite_skips_nan_inf_values_as_carbon_drops_nan);
    tcase_add_test(t, statsd_events_and_service_checks_are_ignored);
    tcase_add_test(t, statsd_counter_is_divided_by_sample_rate);
    tcase_add_test(t, statsd_timer_histogram_distribution_keep_value_and_tags);
    tcase_add_test(t, statsd_gauge_deltas_apply_to_the_last_value);
    tcase_add_test(t, statsd_gauges_shared_between_parsers);
    tcase_add_test(t, statsd_gauges_export_and_import_keep_values);
    tcase_add_test(
        t, statsd_gauges_beyond_the_bound_forget_the_least_recently_set);
    tcase_add_test(t, statsd_multi_value_sets_and_timestamps);
    tcase_add_test(t, statsd_rejects_malformed_lines);
    tcase_add_test(t, invalid_utf8_is_rejected_in_every_format);
    tcase_add_test(t, valid_utf8_names_and_labels_are_kept);
    tcase_add_test(t, line_over_the_limit_is_rejected_without_reading_it);
    tcase_add_test(t, nul_bytes_crlf_and_blank_lines);
    tcase_add_test(t, emit_returning_nonzero_stops_the_line);
    tcase_add_test(t, rejected_line_emits_nothing_even_after_good_fields);
    suite_add_tcase(s, t);

    t = tcase_create("guess");
    tcase_add_test(t, guess_recognises_each_format);
    tcase_add_test(t, auto_parser_guesses_per_line);
    tcase_add_test(t, explicit_format_turns_guessing_off);
    tcase_add_test(t, format_names_round_trip);
    tcase_add_test(t, content_type_maps_to_format);
    suite_add_tcase(s, t);

    t = tcase_create("reader");
    tcase_add_test(t, reader_numbers_lines_around_an_overlong_line);
    tcase_add_test(t, reader_overlong_line_at_eof_and_parse_rejects_it);
    tcase_add_test(t, reader_line_of_exactly_the_limit_is_a_line);
    tcase_add_test(t, reader_reads_lines_from_a_pipe_fd);
    tcase_add_test(t, reader_handles_many_lines_across_buffer_refills);
    tcase_add_test(t, reader_tick_ends_a_pipe_for_good_without_its_begun_line);
    suite_add_tcase(s, t);
    return s;
}
