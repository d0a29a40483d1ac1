/* check_template.c - tests for rules/template.c: every path, spacing,
 * compile errors with offsets, missing values and the output cap. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "../rules/template.h"

static const struct label labels[] = {{"service", "api"}, {"team", "web"}};
static const struct label annots[] = {{"summary", "slow"}};

static struct tmpl_ctx ctx(void)
{
    struct tmpl_ctx c = {
        .rule = "api_p90_latency",
        .event = "escalated",
        .severity = "critical",
        .previous = "warning",
        .reason = "threshold",
        .fingerprint = "3f0c9a0000000000",
        .value = 512.5,
        .has_value = true,
        .ts = 1767225720.5004,
        .labels = labels,
        .nlabels = 2,
        .annotations = annots,
        .nannotations = 1,
    };
    return c;
}

static char *render(const char *src, const struct tmpl_ctx *c)
{
    static char out[1024];
    char why[256];
    struct buf b;
    struct tmpl *t = tmpl_compile(src, why, sizeof(why), NULL);
    ck_assert_msg(t != NULL, "compile failed: %s", why);
    buf_init(&b, 0);
    ck_assert_int_eq(tmpl_render(t, c, &b), 0);
    snprintf(out, sizeof(out), "%s", buf_str(&b));
    buf_cleanup(&b);
    tmpl_free(t);
    return out;
}

START_TEST(every_path_renders)
{
    struct tmpl_ctx c = ctx();
    ck_assert_str_eq(render("{{rule}}|{{ event }}|{{  severity  }}|"
                            "{{previous}}|{{ reason }}|{{ fingerprint }}",
                            &c),
                     "api_p90_latency|escalated|critical|warning|threshold|"
                     "3f0c9a0000000000");
    ck_assert_str_eq(render("p90 {{ value }} ms on {{ labels.service }}", &c),
                     "p90 512.5 ms on api");
    ck_assert_str_eq(render("{{ annotations.summary }}/{{labels.team}}", &c),
                     "slow/web");
    ck_assert_str_eq(render("{{ ts }}", &c), "1767225720.5");
}
END_TEST

START_TEST(missing_values_render_empty)
{
    struct tmpl_ctx c = ctx();
    c.has_value = false;
    c.previous = NULL;
    ck_assert_str_eq(render("[{{ value }}][{{ previous }}][{{ labels.nope }}]"
                            "[{{ annotations.nope }}]",
                            &c),
                     "[][][][]");
    c.labels = NULL;
    c.nlabels = 0;
    ck_assert_str_eq(render("[{{ labels.service }}]", &c), "[]");
}
END_TEST

/* labels.severity is the severity label of the Alertmanager payload: the
 * severity, or the one a resolved alert had; a rule's own label wins. */
START_TEST(labels_severity_is_the_payload_severity_label)
{
    static const struct label own[] = {{"severity", "page"}};
    struct tmpl_ctx c = ctx();

    ck_assert_str_eq(render("{{ labels.severity }}", &c), "critical");
    c.event = "resolved";
    c.severity = "ok";
    ck_assert_str_eq(render("{{ labels.severity }}", &c), "warning");
    c.labels = own;
    c.nlabels = 1;
    ck_assert_str_eq(render("{{ labels.severity }}", &c), "page");
}
END_TEST

START_TEST(literal_text_and_single_braces_pass_through)
{
    struct tmpl_ctx c = ctx();
    char why[256];
    struct tmpl *t =
        tmpl_compile("plain {text} }} here", why, sizeof(why), NULL);
    ck_assert_ptr_nonnull(t);
    ck_assert(tmpl_is_literal(t));
    tmpl_free(t);
    ck_assert_str_eq(render("plain {text} }} here", &c),
                     "plain {text} }} here");
    ck_assert_str_eq(render("", &c), "");
    t = tmpl_compile("{{ value }}", why, sizeof(why), NULL);
    ck_assert(!tmpl_is_literal(t));
    tmpl_free(t);
}
END_TEST

START_TEST(unknown_path_is_a_compile_error_with_offset)
{
    char why[256];
    size_t off = 99;
    ck_assert_ptr_null(tmpl_compile("ab {{ labels }}", why, sizeof(why), &off));
    ck_assert_msg(strncmp(why, "unknown template path \"labels\"", 30) == 0,
                  "%s", why);
    ck_assert_uint_eq(off, 6);
    ck_assert_ptr_null(tmpl_compile("{{ valeu }}", why, sizeof(why), &off));
    ck_assert_uint_eq(off, 3);
    ck_assert_ptr_null(tmpl_compile("{{ labels. }}", why, sizeof(why), &off));
    ck_assert_ptr_null(tmpl_compile("{{ }}", why, sizeof(why), &off));
    ck_assert_ptr_null(tmpl_compile("{{ Value }}", why, sizeof(why), &off));
}
END_TEST

struct errs {
    size_t off[8];
    char why[8][128];
    int n;
};

static void collect_err(void *ctx, size_t off, const char *why)
{
    struct errs *e = ctx;

    ck_assert_int_lt(e->n, 8);
    e->off[e->n] = off;
    snprintf(e->why[e->n], sizeof(e->why[0]), "%s", why);
    e->n++;
}

/* Every error of a string, not only its first, in order. */
START_TEST(every_error_of_a_template_is_listed)
{
    struct errs e = {0};

    ck_assert_int_eq(tmpl_foreach_error("{{ one }} ok {{ value }} {{ two }} "
                                        "{{ value | nope }} {{ three",
                                        collect_err, &e),
                     4);
    ck_assert_uint_eq(e.off[0], 3);
    ck_assert_ptr_nonnull(strstr(e.why[0], "\"one\""));
    ck_assert_uint_eq(e.off[1], 28);
    ck_assert_ptr_nonnull(strstr(e.why[1], "\"two\""));
    ck_assert_ptr_nonnull(strstr(e.why[2], "nope"));
    ck_assert_str_eq(e.why[3], "unclosed \"{{\" in template");
    ck_assert_uint_eq(e.off[3], 54);
    e.n = 0;
    ck_assert_int_eq(tmpl_foreach_error("fine {{ value }}", collect_err, &e),
                     0);
    ck_assert_int_eq(e.n, 0);
}
END_TEST

START_TEST(unclosed_braces_are_a_compile_error)
{
    char why[256];
    size_t off = 99;
    ck_assert_ptr_null(
        tmpl_compile("x {{ value }} y {{ value", why, sizeof(why), &off));
    ck_assert_str_eq(why, "unclosed \"{{\" in template");
    ck_assert_uint_eq(off, 16);
}
END_TEST

START_TEST(render_stops_at_the_buffer_cap)
{
    struct tmpl_ctx c = ctx();
    char why[256];
    struct buf b;
    struct tmpl *t =
        tmpl_compile("{{ rule }}{{ rule }}{{ rule }}", why, sizeof(why), NULL);
    buf_init(&b, 20);
    ck_assert_int_eq(tmpl_render(t, &c, &b), -1);
    ck_assert(b.failed);
    buf_cleanup(&b);
    buf_init(&b, 100);
    ck_assert_int_eq(tmpl_render(t, &c, &b), 0);
    ck_assert_uint_eq(b.len, 45);
    buf_cleanup(&b);
    tmpl_free(t);
}
END_TEST

START_TEST(value_renders_shortest_round_trip)
{
    struct tmpl_ctx c = ctx();
    c.value = 0.1;
    ck_assert_str_eq(render("{{ value }}", &c), "0.1");
    c.value = 200;
    ck_assert_str_eq(render("{{ value }}", &c), "200");
    c.ts = 1767225600;
    ck_assert_str_eq(render("{{ ts }}", &c), "1767225600");
}
END_TEST

/* Expected strings are what Prometheus 2.42 (Debian 12) writes for
 * {{ $value | humanize }} and friends in an alert template. */
START_TEST(value_functions_write_as_prometheus_does)
{
    static const struct {
        double v;
        const char *want;
    } cases[] = {
        {1173.8066999999999, "1.174k|1.174e+05%|19m 33s"},
        {0.12666666666666668, "126.7m|12.67%|126.7ms"},
        {0.0005, "500u|0.05%|500us"},
        {93784.5, "93.78k|9.378e+06%|1d 2h 3m 4s"},
        {1e-10, "100p|1e-08%|100ps"},
        {2500000, "2.5M|2.5e+08%|28d 22h 26m 40s"},
        {59.5, "59.5|5950%|59.5s"},
        {-90061, "-90.06k|-9.006e+06%|-1d 1h 1m 1s"},
        {0, "0|0%|0s"},
    };
    struct tmpl_ctx c = ctx();

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        c.value = cases[i].v;
        ck_assert_str_eq(render("{{ value | humanize }}|{{value|"
                                "humanizePercentage}}|{{ value |  "
                                "humanizeDuration }}",
                                &c),
                         cases[i].want);
    }
    c.has_value = false; /* nodata: still nothing */
    ck_assert_str_eq(render("[{{ value | humanize }}]", &c), "[]");
}
END_TEST

START_TEST(value_function_errors_name_the_function)
{
    char why[256];
    size_t off = 99;

    ck_assert_ptr_null(
        tmpl_compile("x {{ value | humanise }}", why, sizeof(why), &off));
    ck_assert_msg(strncmp(why, "unknown template function \"humanise\"", 36) ==
                      0,
                  "%s", why);
    ck_assert_uint_eq(off, 13);
    ck_assert_ptr_null(
        tmpl_compile("{{ labels.a | humanize }}", why, sizeof(why), &off));
    ck_assert_str_eq(why, "template function humanize applies to value only");
    ck_assert_uint_eq(off, 3);
    ck_assert_ptr_null(tmpl_compile("{{ value | }}", why, sizeof(why), &off));
    ck_assert_ptr_null(tmpl_compile("{{ value | humanize | humanize }}", why,
                                    sizeof(why), &off));
    ck_assert_ptr_null(
        tmpl_compile("{{ | humanize }}", why, sizeof(why), &off));
}
END_TEST

Suite *template_suite(void)
{
    Suite *s = suite_create("template");
    TCase *t = tcase_create("template");
    tcase_add_test(t, every_path_renders);
    tcase_add_test(t, every_error_of_a_template_is_listed);
    tcase_add_test(t, missing_values_render_empty);
    tcase_add_test(t, labels_severity_is_the_payload_severity_label);
    tcase_add_test(t, literal_text_and_single_braces_pass_through);
    tcase_add_test(t, unknown_path_is_a_compile_error_with_offset);
    tcase_add_test(t, unclosed_braces_are_a_compile_error);
    tcase_add_test(t, render_stops_at_the_buffer_cap);
    tcase_add_test(t, value_renders_shortest_round_trip);
    tcase_add_test(t, value_functions_write_as_prometheus_does);
    tcase_add_test(t, value_function_errors_name_the_function);
    suite_add_tcase(s, t);
    return s;
}
