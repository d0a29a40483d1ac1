/* check_matcher.c - tests for rules/matcher.c: the four operators, anchoring,
 * missing labels, escapes and the "a=b,c=~re" set syntax. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "../common/buf.h"
#include "../common/labels.h"
#include "../common/util.h"
#include "../rules/matcher.h"

static const char *get_label(void *ctx, const char *name)
{
    const struct label *v = ctx;
    size_t n = 0;
    while (v[n].name)
        n++;
    return labels_get(v, n, name);
}

START_TEST(equals_matches_exact_value_only)
{
    struct matcher m;
    char why[256];
    ck_assert_int_eq(matcher_init(&m, "service", "api", why, sizeof(why)), 0);
    ck_assert_int_eq(m.op, MATCH_EQ);
    ck_assert(matcher_match(&m, "api"));
    ck_assert(!matcher_match(&m, "api2"));
    ck_assert(!matcher_match(&m, NULL));
    matcher_cleanup(&m);
}
END_TEST

START_TEST(not_equal_matches_other_values_and_missing)
{
    struct matcher m;
    char why[256];
    ck_assert_int_eq(matcher_init(&m, "env", "!dev", why, sizeof(why)), 0);
    ck_assert_int_eq(m.op, MATCH_NE);
    ck_assert_str_eq(m.value, "dev");
    ck_assert(!matcher_match(&m, "dev"));
    ck_assert(matcher_match(&m, "prod"));
    ck_assert(matcher_match(&m, NULL));
    matcher_cleanup(&m);
}
END_TEST

START_TEST(regex_is_anchored_at_both_ends)
{
    struct matcher m;
    char why[256];
    ck_assert_int_eq(matcher_init(&m, "status", "~5..", why, sizeof(why)), 0);
    ck_assert_int_eq(m.op, MATCH_RE);
    ck_assert(matcher_match(&m, "500"));
    ck_assert(!matcher_match(&m, "1500"));
    ck_assert(!matcher_match(&m, "5000"));
    matcher_cleanup(&m);
    ck_assert_int_eq(
        matcher_init(&m, "s", "~warning|critical", why, sizeof(why)), 0);
    ck_assert(matcher_match(&m, "warning"));
    ck_assert(matcher_match(&m, "critical"));
    ck_assert(!matcher_match(&m, "nowarning"));
    ck_assert(!matcher_match(&m, "critical2"));
    matcher_cleanup(&m);
}
END_TEST

START_TEST(regex_that_would_escape_the_anchors_is_rejected)
{
    struct matcher m;
    char why[256];
    ck_assert_int_eq(matcher_init(&m, "s", "~a)|(b", why, sizeof(why)), -1);
    ck_assert_ptr_nonnull(strstr(why, "invalid regex \"a)|(b\""));
}
END_TEST

START_TEST(negated_regex_and_missing_label_as_empty)
{
    struct matcher m;
    char why[256];
    ck_assert_int_eq(matcher_init(&m, "s", "!~5..", why, sizeof(why)), 0);
    ck_assert_int_eq(m.op, MATCH_NRE);
    ck_assert(!matcher_match(&m, "503"));
    ck_assert(matcher_match(&m, "200"));
    ck_assert(matcher_match(&m, NULL));
    matcher_cleanup(&m);
    ck_assert_int_eq(matcher_init(&m, "s", "~", why, sizeof(why)), 0);
    ck_assert(matcher_match(&m, NULL)); /* empty regex matches only "" */
    ck_assert(!matcher_match(&m, "x"));
    matcher_cleanup(&m);
    ck_assert_int_eq(matcher_init(&m, "s", "~.+", why, sizeof(why)), 0);
    ck_assert(!matcher_match(&m, NULL));
    matcher_cleanup(&m);
}
END_TEST

START_TEST(invalid_regex_reports_regcomp_message)
{
    struct matcher m;
    char why[256];
    ck_assert_int_eq(matcher_init(&m, "s", "~(5..", why, sizeof(why)), -1);
    ck_assert_msg(strncmp(why, "invalid regex \"(5..\": ", 22) == 0, "%s", why);
    ck_assert_uint_gt(strlen(why), 22);
}
END_TEST

START_TEST(stacked_quantifiers_are_refused_before_regcomp)
{
    /* glibc's regcomp needs exponential memory for "s+++...": refused. */
    /* A [ inside a bracket is a member, and the ] after it ends the
     * bracket (found by fuzz_matchers: "b[]" was taken for "[]" and the
     * quantifiers after it for bracket members). */
    static const char *bad[] = {"~dev|tes++++++++++++++++++++++++++++t",
                                "~a**",
                                "~a+?",
                                "~x{1,9}{1,9}",
                                "~a?*",
                                "~d[b[]+++++++++++++++++++++++++",
                                "~[^x[]**"};
    static const char *good[] = {"~5..",    "~a+b*c?", "~[+*?]+",
                                 "~x{2}y?", "~\\++",   "~(a+)+",
                                 "~[]+]*",  "~[^]a]+", "~[b[]+"};
    struct matcher m;
    char why[256];

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_msg(matcher_init(&m, "l", bad[i], why, sizeof(why)) == -1,
                      "%s accepted", bad[i]);
        ck_assert_ptr_nonnull(strstr(why, "repeated quantifier"));
    }
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        ck_assert_msg(matcher_init(&m, "l", good[i], why, sizeof(why)) == 0,
                      "%s refused: %s", good[i], why);
        matcher_cleanup(&m);
    }
}
END_TEST

/* Counts that would make glibc's regcomp take gigabytes are refused: one
 * over 1000, or counts that multiply or add up past 5000 atoms. */
START_TEST(counts_that_expand_too_far_are_refused)
{
    static const char *over[] = {"~a{1,1001}", "~a{1001}", "~x{2000,}"};
    static const char *big[] = {"~((a{1,255}){1,255}){1,50}",
                                "~(a{1,100}){1,100}", "~(x{1,10}y+){1,500}"};
    static const char *good[] = {"~a{1,1000}", "~[0-9]{1,3}(\\.[0-9]{1,3}){3}",
                                 "~(ab){1000}", "~(a{1,50}){1,50}",
                                 "~[{]{1,9}"};
    struct buf many;
    struct matcher m;
    char why[256];

    for (size_t i = 0; i < sizeof(over) / sizeof(over[0]); i++) {
        ck_assert_msg(matcher_init(&m, "l", over[i], why, sizeof(why)) == -1,
                      "%s accepted", over[i]);
        ck_assert_msg(strstr(why, "is over 1000") != NULL, "%s", why);
    }
    for (size_t i = 0; i < sizeof(big) / sizeof(big[0]); i++) {
        ck_assert_msg(matcher_init(&m, "l", big[i], why, sizeof(why)) == -1,
                      "%s accepted", big[i]);
        ck_assert_msg(strstr(why, "more than 5000") != NULL, "%s", why);
    }
    buf_init(&many, 0);
    buf_adds(&many, "~");
    for (int i = 0; i < 10; i++)
        buf_adds(&many, "a{1,1000}");
    ck_assert_int_eq(matcher_init(&m, "l", buf_str(&many), why, sizeof(why)),
                     -1);
    ck_assert_msg(strstr(why, "more than 5000") != NULL, "%s", why);
    buf_cleanup(&many);
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        ck_assert_msg(matcher_init(&m, "l", good[i], why, sizeof(why)) == 0,
                      "%s refused: %s", good[i], why);
        matcher_cleanup(&m);
    }
}
END_TEST

/* "\d" is not POSIX ERE (glibc reads it as "d"): refused with the POSIX
 * spelling, while an escaped backslash before a d is fine. */
START_TEST(perl_digit_class_is_refused_with_the_posix_spelling)
{
    struct matcher m;
    char why[256];

    ck_assert_int_eq(matcher_init(&m, "status", "~5\\d\\d", why, sizeof(why)),
                     -1);
    ck_assert_msg(strstr(why, "write [0-9]") != NULL, "%s", why);
    ck_assert_int_eq(matcher_init(&m, "status", "!~x\\D", why, sizeof(why)),
                     -1);
    ck_assert_msg(strstr(why, "write [^0-9]") != NULL, "%s", why);
    ck_assert_int_eq(matcher_init(&m, "path", "~a\\\\d", why, sizeof(why)), 0);
    ck_assert(matcher_match(&m, "a\\d"));
    matcher_cleanup(&m);
    ck_assert_int_eq(matcher_init(&m, "w", "~\\w+", why, sizeof(why)), 0);
    matcher_cleanup(&m);
}
END_TEST

/* Backreferences are a glibc extension (RE2 has none) whose matching time
 * grows as a power of the value's length, and whose numbers would count
 * the group every pattern is wrapped in. */
START_TEST(backreferences_are_refused)
{
    struct matcher_set s = {0};
    struct matcher m;
    char why[256];

    ck_assert_int_eq(
        matcher_init(&m, "v", "~(.*)(.*)(.*)\\1\\2\\3x", why, sizeof(why)), -1);
    ck_assert_msg(strstr(why, "backreference \\1 at offset 12") != NULL, "%s",
                  why);
    ck_assert_int_eq(
        matcher_set_parse(&s, "a=b,host=~(a)\\1", why, sizeof(why)), -1);
    ck_assert_msg(strstr(why, "backreference") != NULL, "%s", why);
    ck_assert_int_eq(matcher_init(&m, "v", "~a\\\\1", why, sizeof(why)), 0);
    ck_assert(matcher_match(&m, "a\\1"));
    matcher_cleanup(&m);
}
END_TEST

/* An error quoting a long value cuts it between characters: the message
 * stays UTF-8 (an API answer and a log line carry it). */
START_TEST(errors_quote_long_values_on_a_character_boundary)
{
    struct matcher m;
    struct matcher_set s;
    char re[400], text[200], why[512];
    size_t n = 0;

    n += (size_t)snprintf(re + n, sizeof(re) - n, "~a**");
    for (int i = 0; i < 150; i++)
        n += (size_t)snprintf(re + n, sizeof(re) - n, "\xc3\xa9");
    ck_assert_int_eq(matcher_init(&m, "v", re, why, sizeof(why)), -1);
    ck_assert_msg(strstr(why, "repeated quantifier") != NULL, "%s", why);
    ck_assert(util_utf8_valid(why, strlen(why)));
    n = (size_t)snprintf(text, sizeof(text), "a=b,");
    for (int i = 0; i < 30; i++) /* three bytes each: 40 cuts one */
        n += (size_t)snprintf(text + n, sizeof(text) - n, "\xe2\x82\xac");
    ck_assert_int_eq(matcher_set_parse(&s, text, why, sizeof(why)), -1);
    ck_assert_msg(strstr(why, "label name") != NULL, "%s", why);
    ck_assert(util_utf8_valid(why, strlen(why)));
}
END_TEST

START_TEST(escaped_tilde_and_bang_are_literals)
{
    struct matcher m;
    char why[256];
    ck_assert_int_eq(matcher_init(&m, "s", "\\~home", why, sizeof(why)), 0);
    ck_assert_int_eq(m.op, MATCH_EQ);
    ck_assert(matcher_match(&m, "~home"));
    matcher_cleanup(&m);
    ck_assert_int_eq(matcher_init(&m, "s", "\\!x", why, sizeof(why)), 0);
    ck_assert(matcher_match(&m, "!x"));
    ck_assert(!matcher_match(&m, "y"));
    matcher_cleanup(&m);
}
END_TEST

START_TEST(set_parse_reads_all_four_operators)
{
    struct matcher_set s;
    char why[256];
    struct label yes[] = {
        {"a", "b"}, {"c", "503"}, {"d", "y"}, {"e", "ok"}, {NULL, NULL}};
    struct label no[] = {
        {"a", "b"}, {"c", "503"}, {"d", "x"}, {"e", "ok"}, {NULL, NULL}};
    ck_assert_int_eq(
        matcher_set_parse(&s, "a=b, c=~5..,d!=x,e!~err.*", why, sizeof(why)),
        0);
    ck_assert_uint_eq(s.n, 4);
    ck_assert_int_eq(s.v[0].op, MATCH_EQ);
    ck_assert_int_eq(s.v[1].op, MATCH_RE);
    ck_assert_int_eq(s.v[2].op, MATCH_NE);
    ck_assert_int_eq(s.v[3].op, MATCH_NRE);
    ck_assert(matcher_set_match(&s, get_label, yes));
    ck_assert(!matcher_set_match(&s, get_label, no));
    matcher_set_cleanup(&s);
}
END_TEST

START_TEST(silence_matchers_must_not_all_match_the_empty_value)
{
    struct matcher_set s;
    char why[256];

    ck_assert_int_eq(
        matcher_set_parse_silence(&s, "service=", why, sizeof(why)), -1);
    ck_assert_ptr_nonnull(strstr(why, "match every alert"));
    ck_assert_int_eq(
        matcher_set_parse_silence(&s, "x=~.*,y!=a,z!~b", why, sizeof(why)), -1);
    ck_assert_int_eq(matcher_set_parse_silence(&s, "a=~.*", why, sizeof(why)),
                     -1);
    /* One matcher that refuses "" is enough. */
    ck_assert_int_eq(
        matcher_set_parse_silence(&s, "x=~.*,service=api", why, sizeof(why)),
        0);
    ck_assert_uint_eq(s.n, 2);
    matcher_set_cleanup(&s);
    ck_assert_int_eq(matcher_set_parse_silence(&s, "a=~.+", why, sizeof(why)),
                     0);
    matcher_set_cleanup(&s);
    ck_assert_int_eq(matcher_set_parse_silence(&s, "a!=", why, sizeof(why)), 0);
    matcher_set_cleanup(&s);
    /* A parse error is still the parse error. */
    ck_assert_int_eq(matcher_set_parse_silence(&s, "a=~(", why, sizeof(why)),
                     -1);
    ck_assert_ptr_null(strstr(why, "match every alert"));
}
END_TEST

START_TEST(set_parse_quoted_values_may_hold_commas)
{
    struct matcher_set s;
    char why[256];
    ck_assert_int_eq(matcher_set_parse(&s, "msg=\"a, b \\\"q\\\"\",x=~\"~t\"",
                                       why, sizeof(why)),
                     0);
    ck_assert_uint_eq(s.n, 2);
    ck_assert_str_eq(s.v[0].value, "a, b \"q\"");
    ck_assert_str_eq(s.v[1].value, "~t");
    ck_assert(matcher_match(&s.v[1], "~t"));
    matcher_set_cleanup(&s);
}
END_TEST

/* Prometheus' and amtool's way of writing a label set: in braces, a
 * trailing comma allowed. */
START_TEST(set_parse_takes_a_label_set_in_braces)
{
    struct matcher_set s;
    char why[256];
    struct label yes[] = {{"service", "a,b"}, {"env", "prod-1"}, {NULL, NULL}};
    ck_assert_int_eq(
        matcher_set_parse(&s,
                          " { service = \"a,b\" , env=~\"prod.*\", "
                          "} ",
                          why, sizeof(why)),
        0);
    ck_assert_uint_eq(s.n, 2);
    ck_assert_str_eq(s.v[0].value, "a,b");
    ck_assert_int_eq(s.v[1].op, MATCH_RE);
    ck_assert(matcher_set_match(&s, get_label, yes));
    matcher_set_cleanup(&s);
    ck_assert_int_eq(matcher_set_parse(&s, "a=b,", why, sizeof(why)), 0);
    ck_assert_uint_eq(s.n, 1);
    matcher_set_cleanup(&s);
    ck_assert_int_eq(
        matcher_set_parse(&s, "{service=\"api\"", why, sizeof(why)), -1);
    ck_assert_str_eq(why, "expected \"}\" at the end of \"{service=\"api\"\"");
    ck_assert_int_eq(matcher_set_parse(&s, "{}", why, sizeof(why)), -1);
    ck_assert_int_eq(matcher_set_parse(&s, "{", why, sizeof(why)), -1);
    ck_assert_int_eq(matcher_set_parse(&s, "{{a=b}}", why, sizeof(why)), -1);
    ck_assert_int_eq(matcher_set_parse(&s, "a=b,,", why, sizeof(why)), -1);
    ck_assert_ptr_null(s.v);
}
END_TEST

START_TEST(set_parse_rejects_malformed_text)
{
    struct matcher_set s;
    char why[256];
    ck_assert_int_eq(matcher_set_parse(&s, "", why, sizeof(why)), -1);
    ck_assert_int_eq(matcher_set_parse(&s, "a", why, sizeof(why)), -1);
    ck_assert_ptr_nonnull(strstr(why, "expected =, !=, =~ or !~"));
    ck_assert_int_eq(matcher_set_parse(&s, "=b", why, sizeof(why)), -1);
    ck_assert_int_eq(matcher_set_parse(&s, "a=\"b", why, sizeof(why)), -1);
    ck_assert_int_eq(matcher_set_parse(&s, "a=~(", why, sizeof(why)), -1);
    ck_assert_ptr_null(s.v);
}
END_TEST

START_TEST(empty_set_matches_everything)
{
    struct matcher_set s = {NULL, 0};
    struct label none[] = {{NULL, NULL}};
    ck_assert(matcher_set_match(&s, get_label, none));
}
END_TEST

Suite *matcher_suite(void)
{
    Suite *s = suite_create("matcher");
    TCase *t = tcase_create("matcher");
    tcase_add_test(t, equals_matches_exact_value_only);
    tcase_add_test(t, not_equal_matches_other_values_and_missing);
    tcase_add_test(t, regex_is_anchored_at_both_ends);
    tcase_add_test(t, regex_that_would_escape_the_anchors_is_rejected);
    tcase_add_test(t, negated_regex_and_missing_label_as_empty);
    tcase_add_test(t, invalid_regex_reports_regcomp_message);
    tcase_add_test(t, counts_that_expand_too_far_are_refused);
    tcase_add_test(t, backreferences_are_refused);
    tcase_add_test(t, escaped_tilde_and_bang_are_literals);
    tcase_add_test(t, stacked_quantifiers_are_refused_before_regcomp);
    tcase_add_test(t, perl_digit_class_is_refused_with_the_posix_spelling);
    tcase_add_test(t, set_parse_reads_all_four_operators);
    tcase_add_test(t, silence_matchers_must_not_all_match_the_empty_value);
    tcase_add_test(t, set_parse_quoted_values_may_hold_commas);
    tcase_add_test(t, set_parse_takes_a_label_set_in_braces);
    tcase_add_test(t, set_parse_rejects_malformed_text);
    tcase_add_test(t, empty_set_matches_everything);
    tcase_add_test(t, errors_quote_long_values_on_a_character_boundary);
    suite_add_tcase(s, t);
    return s;
}
