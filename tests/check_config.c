/* check_config.c - tests for rules/cfgnode.c and rules/config.c: YAML to
 * positioned tree, ${VAR} expansion, every schema error with its exact
 * FILE:LINE:COL, limits (alias bombs, depth, size), and the SPEC example. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/buf.h"
#include "../rules/config.h"

static struct cfg_diag diag;

/* Load yaml as "f.yaml" from folder "/etc/tocsin". Errors land in diag. */
static struct config *load(const char *yaml)
{
    cfg_diag_cleanup(&diag);
    cfg_diag_init(&diag, "f.yaml");
    return config_load_buf(yaml, strlen(yaml), "f.yaml", "/etc/tocsin", &diag);
}

static bool has_msg(const char *want)
{
    for (size_t i = 0; i < diag.nmsgs; i++)
        if (strcmp(diag.msgs[i], want) == 0)
            return true;
    return false;
}

static void dump(void)
{
    for (size_t i = 0; i < diag.nmsgs; i++)
        fprintf(stderr, "  got: %s\n", diag.msgs[i]);
}

/* Assert that loading fails with exactly this message among the errors. */
#define ck_load_error(yaml, want)                                              \
    do {                                                                       \
        struct config *c_ = load(yaml);                                        \
        if (c_ != NULL || !has_msg(want))                                      \
            dump();                                                            \
        ck_assert_ptr_null(c_);                                                \
        ck_assert_msg(has_msg(want), "missing error: %s", want);               \
    } while (0)

static void setup(void)
{
    cfg_diag_init(&diag, "f.yaml");
}

static void teardown(void)
{
    cfg_diag_cleanup(&diag);
}

#define RULE_HEAD                                                              \
    "rules:\n"                                                                 \
    "  - name: r1\n"                                                           \
    "    metric: m\n"

/* ---- YAML layer ---- */

START_TEST(empty_file_is_an_empty_valid_config)
{
    struct config *c = load("");
    ck_assert_ptr_nonnull(c);
    ck_assert_uint_eq(c->nrules, 0);
    ck_assert_str_eq(c->store, "/etc/tocsin/tocsin.db");
    ck_assert_double_eq(c->evaluation_interval, 10);
    ck_assert_double_eq(c->checkpoint_interval, 60);
    ck_assert_double_eq(c->series_idle, 3600);
    ck_assert_double_eq(c->repeat_interval, 4 * 3600);
    ck_assert(c->send_resolved);
    ck_assert(!c->report.present);
    ck_assert_ptr_null(c->listen);
    config_free(c);
}
END_TEST

START_TEST(yaml_syntax_error_reports_line_col_problem_and_context)
{
    struct config *c = load("store: x\nrules: [a, b\n");
    ck_assert_ptr_null(c);
    ck_assert_uint_eq(diag.nmsgs, 1);
    ck_assert_msg(strncmp(diag.msgs[0],
                          "f.yaml:3:1: did not find "
                          "expected ',' or ']' (while parsing "
                          "a flow sequence)",
                          200) == 0,
                  "got %s", diag.msgs[0]);
}
END_TEST

START_TEST(yaml_tab_indent_error_has_position)
{
    struct config *c = load("store: a\n\tlisten: b\n");
    ck_assert_ptr_null(c);
    ck_assert_uint_eq(diag.nmsgs, 1);
    ck_assert_msg(strncmp(diag.msgs[0], "f.yaml:2:", 9) == 0, "got %s",
                  diag.msgs[0]);
}
END_TEST

START_TEST(top_level_must_be_a_map)
{
    ck_load_error("- a\n- b\n",
                  "f.yaml:1:1: the top level of the config must be a "
                  "map");
}
END_TEST

/* Explicit tags: !!str makes a string, !!bool/!!int/... a typed plain
 * scalar whose text must fit; other tags are errors at the node. */
START_TEST(yaml_tags_are_honoured_or_refused)
{
    struct config *c = load("defaults: ! \n"
                            "  send_resolved: !!bool \"false\"\n"
                            "  repeat_interval: !!str 1h\n"
                            "notifiers:\n"
                            "  a: {type: log, send_resolved: True}\n");
    if (c == NULL)
        dump();
    ck_assert_ptr_nonnull(c);
    ck_assert(!c->send_resolved);
    ck_assert_double_eq(c->repeat_interval, 3600);
    ck_assert(c->notifiers[0].send_resolved);
    config_free(c);
    ck_load_error("store: !custom x\n",
                  "f.yaml:1:8: unsupported YAML tag \"!custom\" (tocsin reads "
                  "!!str, !!int, !!float, !!bool and !!null)");
    ck_load_error("evaluation_interval: !!int \"abc\"\n",
                  "f.yaml:1:22: the value is not a !!int");
    ck_load_error("rules: !!map []\n",
                  "f.yaml:1:8: YAML tag !!map does not fit a list");
}
END_TEST

/* Every template error of one string is listed, each at its column. */
START_TEST(every_template_error_of_an_annotation_is_listed)
{
    struct config *c = load(RULE_HEAD "    severity: {warning: {above: 1}}\n"
                                      "    annotations: {s: \"{{ b1 }} "
                                      "{{ value }} {{ b2 }}\"}\n");
    const char *tail = " (expected rule, event, severity, previous, value, "
                       "reason, fingerprint, ts, labels.NAME or "
                       "annotations.NAME) in annotation \"s\" of rule \"r1\"";
    char want[512];

    if (c != NULL)
        config_free(c);
    ck_assert_ptr_null(c);
    snprintf(want, sizeof(want), "f.yaml:5:26: unknown template path \"b1\"%s",
             tail);
    ck_assert_msg(has_msg(want), "missing: %s", want);
    snprintf(want, sizeof(want), "f.yaml:5:47: unknown template path \"b2\"%s",
             tail);
    ck_assert_msg(has_msg(want), "missing: %s", want);
}
END_TEST

/* An escape in a double-quoted scalar can write a "{{" the file's text
 * does not show: the error is then at the scalar, never in the next one. */
START_TEST(template_error_after_an_escape_is_at_its_scalar)
{
    struct config *c = load(RULE_HEAD "    severity: {warning: {above: 1}}\n"
                                      "    annotations:\n"
                                      "      a: \"\\x7b{ nope }}\"\n"
                                      "      b: \"{{ value }}\"\n");

    if (c != NULL)
        config_free(c);
    ck_assert_ptr_null(c);
    ck_assert_uint_eq(diag.nmsgs, 1);
    ck_assert_ptr_nonnull(strstr(diag.msgs[0], "f.yaml:6:10: unknown "
                                               "template path \"nope\""));
}
END_TEST

/* A rule's labels and annotations are named as Prometheus names labels,
 * and its annotations read only what its alerts have: a by label, a label
 * of the rule, alertname, an annotation before them. */
START_TEST(rule_label_annotation_names_and_references_are_checked)
{
    struct config *c =
        load(RULE_HEAD "    by: [service]\n"
                       "    severity: {warning: {above: 1}}\n"
                       "    labels: {\"\": z, \"bad label\": y, team: web}\n"
                       "    annotations:\n"
                       "      \"run-book\": x\n"
                       "      a: \"{{ labels.service }} {{ labels.team }} "
                       "{{ labels.alertname }} {{ labels.servce }} "
                       "{{ labels.severity }}\"\n"
                       "      b: \"{{ annotations.a }} {{ annotations.b }} "
                       "{{ annotations.z }}\"\n"
                       "      z: Z\n");

    if (c != NULL)
        config_free(c);
    ck_assert_ptr_null(c);
    if (!has_msg("f.yaml:6:14: label name \"\" is not a valid label name "
                 "([a-zA-Z_][a-zA-Z0-9_]*) in rule \"r1\""))
        dump();
    ck_assert(has_msg("f.yaml:6:14: label name \"\" is not a valid label name "
                      "([a-zA-Z_][a-zA-Z0-9_]*) in rule \"r1\""));
    ck_assert(has_msg("f.yaml:6:21: label name \"bad label\" is not a valid "
                      "label name ([a-zA-Z_][a-zA-Z0-9_]*) in rule \"r1\""));
    ck_assert(has_msg("f.yaml:8:7: annotation name \"run-book\" is not a "
                      "valid name ([a-zA-Z_][a-zA-Z0-9_]*) in rule \"r1\""));
    ck_assert(has_msg("f.yaml:9:76: labels.servce is not a label of the "
                      "alerts of rule \"r1\" (their labels: the by labels, "
                      "the rule's labels, alertname, severity), in "
                      "annotation \"a\""));
    ck_assert(has_msg("f.yaml:10:34: annotations.b is not an annotation "
                      "before \"b\" in rule \"r1\" (it would always be "
                      "empty)"));
    ck_assert(has_msg("f.yaml:10:54: annotations.z is not an annotation "
                      "before \"b\" in rule \"r1\" (it would always be "
                      "empty)"));
    ck_assert_uint_eq(diag.count, 6);
}
END_TEST

START_TEST(multiple_documents_are_an_error)
{
    ck_load_error("store: a\n---\nstore: b\n",
                  "f.yaml:2:1: multiple YAML documents in one file are "
                  "not supported");
}
END_TEST

START_TEST(duplicate_key_is_an_error_at_the_second_key)
{
    ck_load_error("store: a\nlisten: \"127.0.0.1:1\"\nstore: b\n",
                  "f.yaml:3:1: duplicate key \"store\" (first at line 1)");
}
END_TEST

START_TEST(duplicate_key_in_nested_map_is_reported)
{
    ck_load_error(RULE_HEAD "    severity:\n"
                            "      warning: {above: 1, above: 2}\n",
                  "f.yaml:5:27: duplicate key \"above\" (first at line 5)");
}
END_TEST

START_TEST(nesting_deeper_than_64_is_rejected)
{
    char y[512];
    size_t o = 0;
    o += (size_t)snprintf(y + o, sizeof(y) - o, "x: ");
    for (int i = 0; i < 70; i++)
        y[o++] = '[';
    y[o] = '\0';
    struct config *c = load(y);
    ck_assert_ptr_null(c);
    ck_assert_uint_eq(diag.nmsgs, 1);
    ck_assert_msg(strstr(diag.msgs[0], "nesting deeper than 64 levels"),
                  "got %s", diag.msgs[0]);
}
END_TEST

START_TEST(alias_bomb_is_bounded)
{
    const char *bomb =
        "a: &a [\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\"]\n"
        "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
        "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
        "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
        "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
        "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
        "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
        "h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"
        "i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n";
    struct config *c = load(bomb);
    ck_assert_ptr_null(c);
    ck_assert_uint_eq(diag.nmsgs, 1);
    ck_assert_msg(strstr(diag.msgs[0], "alias expansion too large"), "got %s",
                  diag.msgs[0]);
}
END_TEST

/* libyaml's reader errors carry a byte offset: the position printed is
 * still counted as every other error's, in characters from 1, with no BOM,
 * and with a lone CR or CR LF as one line break. */
START_TEST(reader_errors_count_characters_and_line_breaks)
{
    ck_load_error("store: \"\xc3\xa9\xc3\xa9\xff\"\n",
                  "f.yaml:1:11: invalid leading UTF-8 octet");
    ck_load_error("\xef\xbb\xbfstore: \"\xff\"\n",
                  "f.yaml:1:9: invalid leading UTF-8 octet");
    ck_load_error("store: a\rbogus: \"\xff\"\r",
                  "f.yaml:2:9: invalid leading UTF-8 octet");
    ck_load_error("store: a\r\nx: \"\x01\"\r\n",
                  "f.yaml:2:5: control characters are not allowed");
}
END_TEST

/* A dropped value (the second of a repeated key) may hold anchors that
 * later aliases use; they resolve, and nothing else is reported. */
START_TEST(anchor_in_dropped_value_still_resolves)
{
    struct config *c = load("x: [&a 1]\nx: [&b ok.db]\nstore: *b\n");

    ck_assert_ptr_null(c);
    if (diag.nmsgs != 2)
        dump();
    ck_assert_uint_eq(diag.nmsgs, 2);
    ck_assert(has_msg("f.yaml:2:1: duplicate key \"x\" (first at line 1)"));
}
END_TEST

/* Dropping a big value after many anchors walks the value once, not once
 * per anchor (40,000 anchors x 200,000 nodes took over ten seconds). */
START_TEST(dropped_value_after_many_anchors_is_one_walk)
{
    struct buf b;
    struct config *c;

    buf_init(&b, 0);
    buf_adds(&b, "x: [");
    for (int i = 0; i < 40000; i++) {
        char item[32];

        snprintf(item, sizeof(item), "%s&a%d 1", i ? "," : "", i);
        buf_adds(&b, item);
    }
    buf_adds(&b, "]\nx: [");
    for (int i = 0; i < 200000; i++)
        buf_adds(&b, i ? ",1" : "1");
    buf_adds(&b, "]\n");
    c = load(buf_str(&b));
    buf_cleanup(&b);
    ck_assert_ptr_null(c);
    ck_assert(has_msg("f.yaml:2:1: duplicate key \"x\" (first at line 1)"));
}
END_TEST

/* Few nodes, long text: one 100 kB scalar aliased 20 times is 2 MB of
 * copies from a file of 100 kB. The byte bound stops it. */
START_TEST(alias_bomb_by_bytes_is_bounded)
{
    size_t big = 100000;
    struct buf b;
    struct config *c;

    buf_init(&b, 0);
    buf_adds(&b, "a: &a \"");
    for (size_t i = 0; i < big; i++)
        buf_addc(&b, 'x');
    buf_adds(&b, "\"\nb: [");
    for (int i = 0; i < 20; i++)
        buf_adds(&b, i ? ",*a" : "*a");
    buf_adds(&b, "]\n");
    c = load(buf_str(&b));
    buf_cleanup(&b);
    ck_assert_ptr_null(c);
    ck_assert_uint_eq(diag.nmsgs, 1);
    ck_assert_msg(strstr(diag.msgs[0], "alias expansion too large"), "got %s",
                  diag.msgs[0]);
}
END_TEST

/* Merge keys: the map's own keys win, then the merged maps in order. */
START_TEST(merge_keys_add_what_the_map_lacks)
{
    struct config *c = load("rules:\n"
                            "  - &base\n"
                            "    name: a\n"
                            "    metric: m\n"
                            "    severity: {warning: {above: 1}}\n"
                            "    labels: &lab {team: web, tier: \"2\"}\n"
                            "  - <<: *base\n"
                            "    name: b\n"
                            "    labels:\n"
                            "      <<: *lab\n"
                            "      tier: \"1\"\n"
                            "  - <<: [{window: 5m, name: zz}, *base]\n"
                            "    name: c\n");
    ck_assert_ptr_nonnull(c);
    ck_assert_uint_eq(c->nrules, 3);
    ck_assert_str_eq(c->rules[1].name, "b");
    ck_assert_str_eq(c->rules[1].metrics[0], "m");
    ck_assert_uint_eq(c->rules[1].nlabels, 2);
    ck_assert_str_eq(c->rules[1].labels[0].key, "tier");
    ck_assert_str_eq(c->rules[1].labels[0].value, "1");
    ck_assert_str_eq(c->rules[1].labels[1].key, "team");
    ck_assert_str_eq(c->rules[2].name, "c");
    ck_assert_double_eq(c->rules[2].window, 300);
    config_free(c);
    ck_load_error("rules:\n  - <<: 3\n    name: r\n    metric: m\n"
                  "    severity: {warning: {above: 1}}\n",
                  "f.yaml:2:9: a merge key (<<) needs a map or a list "
                  "of maps");
}
END_TEST

START_TEST(aliases_copy_the_anchored_subtree)
{
    struct config *c = load(RULE_HEAD "    labels: &lab {team: web}\n"
                                      "    severity: {warning: {above: 1}}\n"
                                      "  - name: r2\n"
                                      "    metric: m\n"
                                      "    labels: *lab\n"
                                      "    severity: {warning: {above: 1}}\n");
    ck_assert_ptr_nonnull(c);
    ck_assert_uint_eq(c->rules[1].nlabels, 1);
    ck_assert_str_eq(c->rules[1].labels[0].key, "team");
    ck_assert_str_eq(c->rules[1].labels[0].value, "web");
    config_free(c);
}
END_TEST

START_TEST(unknown_alias_is_an_error)
{
    struct config *c = load("store: *nope\n");
    ck_assert_ptr_null(c);
    ck_assert_uint_ge(diag.count, 1);
}
END_TEST

START_TEST(input_over_one_mib_is_rejected)
{
    size_t n = CFG_MAX_INPUT + 10;
    char *big = malloc(n + 1);
    memset(big, '#', n);
    big[n] = '\0';
    cfg_diag_cleanup(&diag);
    cfg_diag_init(&diag, "f.yaml");
    ck_assert_ptr_null(config_load_buf(big, n, "f.yaml", ".", &diag));
    ck_assert_uint_eq(diag.nmsgs, 1);
    ck_assert_msg(strncmp(diag.msgs[0], "f.yaml: too large", 17) == 0, "got %s",
                  diag.msgs[0]);
    free(big);
}
END_TEST

START_TEST(missing_file_is_one_cannot_read_error)
{
    cfg_diag_cleanup(&diag);
    cfg_diag_init(&diag, "/nonexistent/t.yaml");
    ck_assert_ptr_null(config_load("/nonexistent/t.yaml", &diag));
    ck_assert_uint_eq(diag.nmsgs, 1);
    ck_assert_str_eq(diag.msgs[0],
                     "/nonexistent/t.yaml: cannot read: No such file or "
                     "directory");
}
END_TEST

START_TEST(directory_is_one_cannot_read_error)
{
    cfg_diag_cleanup(&diag);
    cfg_diag_init(&diag, "/tmp");
    ck_assert_ptr_null(config_load("/tmp", &diag));
    ck_assert_uint_eq(diag.nmsgs, 1);
    ck_assert_str_eq(diag.msgs[0], "/tmp: cannot read: Is a directory");
}
END_TEST

/* ---- environment ---- */

START_TEST(env_var_is_expanded_in_values)
{
    setenv("TOCSIN_T_STORE", "x.db", 1);
    struct config *c = load("store: ${TOCSIN_T_STORE}\n");
    ck_assert_ptr_nonnull(c);
    ck_assert_str_eq(c->store, "/etc/tocsin/x.db");
    config_free(c);
}
END_TEST

/* A notifier's events and rate_limit errors say where a bad value came
 * from without showing an environment value, and name a list as a list. */
START_TEST(env_values_in_events_and_rate_limit_errors_are_not_shown)
{
    setenv("TOCSIN_T_EV", "bogus", 1);
    setenv("TOCSIN_T_RL", "zz", 1);
    ck_load_error("notifiers:\n  h:\n    type: log\n"
                  "    events: [firing, \"${TOCSIN_T_EV}\", [x]]\n"
                  "    rate_limit: ${TOCSIN_T_RL}\n",
                  "f.yaml:4:22: unknown event (value from the environment) "
                  "(expected firing, escalated, deescalated, resolved)");
    ck_assert(has_msg("f.yaml:4:40: unknown event (a list) (expected firing, "
                      "escalated, deescalated, resolved)"));
    ck_assert(has_msg("f.yaml:5:17: invalid rate_limit (value from the "
                      "environment) (expected e.g. \"1/s\", \"30/m\" or a "
                      "number per second)"));
    unsetenv("TOCSIN_T_EV");
    unsetenv("TOCSIN_T_RL");
}
END_TEST

/* Each expanded value is bounded, and so is their sum: 20 references to a
 * 1 MiB variable stop at 16 MiB with one error, not gigabytes later. */
START_TEST(env_expansion_is_bounded_in_all)
{
    char *big = malloc((1 << 20) + 1);
    struct buf b;
    struct config *c;

    memset(big, 'x', 1 << 20);
    big[1 << 20] = '\0';
    setenv("TOCSIN_T_BIG", big, 1);
    free(big);
    buf_init(&b, 0);
    buf_adds(&b, "rules:\n");
    for (int i = 0; i < 20; i++)
        buf_adds(&b, "  - {name: \"${TOCSIN_T_BIG}\", metric: m}\n");
    c = load(buf_str(&b));
    buf_cleanup(&b);
    unsetenv("TOCSIN_T_BIG");
    ck_assert_ptr_null(c);
    ck_assert_msg(has_msg("f.yaml:18:12: values expanded from the "
                          "environment pass 16777216 bytes in all"),
                  "%s", diag.nmsgs ? diag.msgs[0] : "no message");
}
END_TEST

START_TEST(env_default_used_when_unset_or_empty)
{
    unsetenv("TOCSIN_T_UNSET");
    setenv("TOCSIN_T_EMPTY", "", 1);
    struct config *c = load("store: ${TOCSIN_T_UNSET:-a.db}\n"
                            "listen: \"${TOCSIN_T_EMPTY:-127.0.0.1}:${TOCSIN_"
                            "T_UNSET:-9000}\"\n");
    ck_assert_ptr_nonnull(c);
    ck_assert_str_eq(c->store, "/etc/tocsin/a.db");
    ck_assert_str_eq(c->listen, "127.0.0.1:9000");
    config_free(c);
    /* A default may itself hold references, as in the shell. */
    setenv("TOCSIN_T_DIR", "d", 1);
    c = load("store: \"${TOCSIN_T_UNSET:-${TOCSIN_T_DIR:-x}/${TOCSIN_T_UNSET:"
             "-y}}.db\"\n");
    ck_assert_ptr_nonnull(c);
    ck_assert_str_eq(c->store, "/etc/tocsin/d/y.db");
    config_free(c);
    unsetenv("TOCSIN_T_DIR");
    ck_load_error("store: \"${TOCSIN_T_UNSET:-${TOCSIN_T_UNSET}}\"\n",
                  "f.yaml:1:8: environment variable TOCSIN_T_UNSET is "
                  "not set");
}
END_TEST

START_TEST(double_dollar_is_a_literal_dollar)
{
    struct config *c = load(RULE_HEAD "    severity: {warning: {above: 1}}\n"
                                      "    labels: {cost: \"$$5 ${}x\"}\n");
    ck_assert_ptr_null(c); /* ${} is invalid */
    c = load(RULE_HEAD "    severity: {warning: {above: 1}}\n"
                       "    labels: {cost: \"$$5 and $x\"}\n");
    ck_assert_ptr_nonnull(c);
    ck_assert_str_eq(c->rules[0].labels[0].value, "$5 and $x");
    config_free(c);
}
END_TEST

START_TEST(unset_env_var_names_the_variable_never_a_value)
{
    unsetenv("SMTP_PASSWORD");
    setenv("TOCSIN_T_SECRET", "hunter2", 1);
    ck_load_error("store: ${TOCSIN_T_SECRET}\nlisten: ${SMTP_PASSWORD}\n",
                  "f.yaml:2:9: environment variable SMTP_PASSWORD is "
                  "not set");
    for (size_t i = 0; i < diag.nmsgs; i++)
        ck_assert_ptr_null(strstr(diag.msgs[i], "hunter2"));
}
END_TEST

/* An unset variable is one error at its position: the empty stand-in
 * value is not also reported as a bad URL or an empty secret. */
START_TEST(unset_env_var_is_reported_once)
{
    unsetenv("TOCSIN_T_UNSET");
    ck_load_error("notifiers:\n"
                  "  s: {type: slack, url: \"${TOCSIN_T_UNSET}\"}\n"
                  "  w:\n"
                  "    type: webhook\n"
                  "    url: http://h/\n"
                  "    secret: ${TOCSIN_T_UNSET}\n",
                  "f.yaml:2:25: environment variable TOCSIN_T_UNSET is "
                  "not set");
    if (diag.nmsgs != 2)
        dump();
    ck_assert_uint_eq(diag.nmsgs, 2);
    ck_assert(has_msg("f.yaml:6:13: environment variable TOCSIN_T_UNSET is "
                      "not set"));
}
END_TEST

START_TEST(secret_from_env_is_not_quoted_in_type_errors)
{
    setenv("TOCSIN_T_SECRET", "hunter2", 1);
    struct config *c = load("evaluation_interval: ${TOCSIN_T_SECRET}\n"
                            "listen: ${TOCSIN_T_SECRET}\n");
    ck_assert_ptr_null(c);
    ck_assert_uint_eq(diag.nmsgs, 2);
    for (size_t i = 0; i < diag.nmsgs; i++)
        ck_assert_msg(strstr(diag.msgs[i], "hunter2") == NULL, "leaked: %s",
                      diag.msgs[i]);
}
END_TEST

START_TEST(whsec_secret_must_be_base64_and_is_not_shown)
{
    ck_load_error("notifiers:\n"
                  "  w:\n"
                  "    type: webhook\n"
                  "    url: http://h/\n"
                  "    secret: whsec_hunter2!\n",
                  "f.yaml:5:13: secret: what follows whsec_ is not base64 "
                  "(Standard Webhooks libraries decode it)");
    ck_assert_ptr_null(strstr(diag.msgs[0], "hunter2"));
    struct config *c = load("notifiers:\n"
                            "  w: {type: webhook, url: \"http://h/\", "
                            "secret: whsec_dGVzdA}\n");
    ck_assert_ptr_nonnull(c);
    config_free(c);
}
END_TEST

START_TEST(env_vars_are_not_expanded_in_keys)
{
    setenv("TOCSIN_T_KEY", "store", 1);
    ck_load_error("${TOCSIN_T_KEY}: x\n",
                  "f.yaml:1:1: unknown key \"${TOCSIN_T_KEY}\"");
}
END_TEST

/* ---- top level, durations, booleans ---- */

START_TEST(unknown_top_level_key_is_an_error)
{
    ck_load_error("store: a\nstroe: b\n", "f.yaml:2:1: unknown key \"stroe\"");
}
END_TEST

START_TEST(store_memory_and_uris_are_errors)
{
    ck_load_error("store: \":memory:\"\n",
                  "f.yaml:1:8: store must be a file: an in-memory store "
                  "would be empty for every command but the one that made "
                  "it");
    ck_load_error("store: file:t.db\n",
                  "f.yaml:1:8: store is a file path, not a SQLite URI "
                  "(write the path without \"file:\")");
}
END_TEST

START_TEST(store_absolute_paths_are_kept)
{
    struct config *c = load("store: /var/lib/t.db\n");
    ck_assert_str_eq(c->store, "/var/lib/t.db");
    config_free(c);
}
END_TEST

START_TEST(durations_parse_units_and_sums)
{
    struct config *c = load("evaluation_interval: 250ms\n"
                            "checkpoint_interval: 1h30m\n"
                            "series_idle: 2d\n"
                            "defaults: {repeat_interval: 1d}\n");
    ck_assert_ptr_nonnull(c);
    ck_assert_double_eq_tol(c->evaluation_interval, 0.25, 1e-9);
    ck_assert_double_eq(c->checkpoint_interval, 5400);
    ck_assert_double_eq(c->series_idle, 2 * 86400);
    ck_assert_double_eq(c->repeat_interval, 86400);
    config_free(c);
    /* 0s: series are never forgotten. */
    c = load("series_idle: 0s\n");
    ck_assert_double_eq(c->series_idle, 0);
    config_free(c);
    ck_load_error("series_idle: soon\n",
                  "f.yaml:1:14: invalid duration \"soon\" for "
                  "series_idle (expected e.g. 250ms, 30s, 5m, 2h, 1d, "
                  "1w or sums like 1h30m)");
}
END_TEST

START_TEST(bad_duration_names_the_key_and_value)
{
    ck_load_error("evaluation_interval: 10 s\n",
                  "f.yaml:1:22: invalid duration \"10 s\" for "
                  "evaluation_interval (expected e.g. 250ms, 30s, 5m, 2h, 1d, "
                  "1w or sums like 1h30m)");
}
END_TEST

START_TEST(zero_interval_is_rejected)
{
    ck_load_error("checkpoint_interval: 0\n",
                  "f.yaml:1:22: checkpoint_interval must be greater "
                  "than 0");
}
END_TEST

START_TEST(yaml11_booleans_are_rejected_with_a_hint)
{
    ck_load_error("defaults:\n  send_resolved: yes\n",
                  "f.yaml:2:18: send_resolved must be true or false, "
                  "not \"yes\" (YAML 1.1 booleans such as yes/no/on/off are "
                  "not accepted)");
}
END_TEST

START_TEST(quoted_true_is_not_a_boolean)
{
    ck_load_error("defaults:\n  send_resolved: \"true\"\n",
                  "f.yaml:2:18: send_resolved must be true or false, "
                  "not \"true\" (a quoted string)");
    /* A quoted ${VAR} is quoted to hold the reference: its value counts. */
    setenv("TOCSIN_CK_FLAG", "false", 1);
    {
        struct config *c =
            load("defaults:\n  send_resolved: \"${TOCSIN_CK_FLAG}\"\n");
        ck_assert_ptr_nonnull(c);
        ck_assert(!c->send_resolved);
        config_free(c);
    }
    unsetenv("TOCSIN_CK_FLAG");
}
END_TEST

START_TEST(listen_must_be_host_port)
{
    ck_load_error("listen: localhost\n",
                  "f.yaml:1:9: listen must be \"host:port\", not "
                  "\"localhost\"");
    ck_load_error("listen: \"h:99999\"\n",
                  "f.yaml:1:9: listen must be \"host:port\", not "
                  "\"h:99999\"");
    /* Digits and dots are an IPv4 address, and must be one (in any form
     * the resolver takes: "0", "127.1"). */
    ck_load_error("listen: \"999.1.1.1:80\"\n",
                  "f.yaml:1:9: listen must be \"host:port\", not "
                  "\"999.1.1.1:80\"");
    for (int i = 0; i < 2; i++) {
        struct config *c2 =
            load(i ? "listen: \"127.1:8080\"\n" : "listen: \"0:8080\"\n");
        ck_assert_ptr_nonnull(c2);
        config_free(c2);
    }
    struct config *c = load("listen: \"[::1]:9464\"\n");
    ck_assert_ptr_nonnull(c);
    ck_assert_str_eq(c->listen, "[::1]:9464");
    config_free(c);
}
END_TEST

/* ---- report ---- */

START_TEST(report_at_parses_weekday_and_time)
{
    struct config *c = load("report: {every: 1d, at: \"Mon 09:30\"}\n");
    ck_assert_ptr_nonnull(c);
    ck_assert(c->report.present);
    ck_assert_int_eq(c->report.at_wday, 1);
    ck_assert_int_eq(c->report.at_minute, 9 * 60 + 30);
    ck_assert_double_eq(c->report.every, 86400);
    ck_assert_double_eq(c->report.since, 86400); /* default: every */
    config_free(c);
    c = load("report: {at: \"23:05\", since: 2d}\n");
    ck_assert_int_eq(c->report.at_wday, -1);
    ck_assert_int_eq(c->report.at_minute, 23 * 60 + 5);
    ck_assert_double_eq(c->report.every, 7 * 86400);
    ck_assert_double_eq(c->report.since, 2 * 86400);
    config_free(c);
}
END_TEST

START_TEST(report_bad_at_and_unknown_key)
{
    ck_load_error("report:\n  at: \"Mon 25:00\"\n",
                  "f.yaml:2:7: invalid report time \"Mon 25:00\" "
                  "(expected \"Mon 09:00\" or \"09:00\")");
    ck_load_error("report:\n  evry: 1d\n",
                  "f.yaml:2:3: unknown key \"evry\" in report");
    /* A report of no time at all would always be empty. */
    ck_load_error("report:\n  since: 0s\n",
                  "f.yaml:2:10: since must be greater than 0");
}
END_TEST

/* A report without notify goes to defaults.notify; an empty notify list
 * sends it nowhere, which is an error. */
START_TEST(report_without_notify_goes_to_defaults_notify)
{
    struct config *c = load("notifiers:\n  a: {type: log}\n  b: {type: log}\n"
                            "defaults: {notify: [b, a]}\n"
                            "report: {every: 1d}\n");
    ck_assert_ptr_nonnull(c);
    ck_assert_uint_eq(c->report.nnotify, 2);
    ck_assert_str_eq(c->notifiers[c->report.notify[0]].name, "b");
    ck_assert_str_eq(c->notifiers[c->report.notify[1]].name, "a");
    config_free(c);
    c = load("notifiers:\n  a: {type: log}\ndefaults: {notify: [a]}\n"
             "report: {every: 1d, notify: []}\n");
    ck_assert_ptr_null(c);
    ck_assert(has_msg("f.yaml:4:29: report notify is empty: the scheduled "
                      "report would go nowhere"));
}
END_TEST

/* ---- notifiers, defaults, routes ---- */

#define NOTIFIERS                                                              \
    "notifiers:\n"                                                             \
    "  slack-prod: {type: slack, url: \"https://hooks.slack.com/services/T/B/" \
    "c\"}\n"                                                                   \
    "  audit: {type: log}\n"

START_TEST(unknown_notifier_in_route_lists_known_ones)
{
    ck_load_error(NOTIFIERS "routes:\n"
                            "  - match: {severity: critical}\n"
                            "    notify: [slack-prod, slak]\n",
                  "f.yaml:6:26: unknown notifier \"slak\" (known: "
                  "slack-prod, audit)");
}
END_TEST

START_TEST(unknown_notifier_in_defaults_and_report)
{
    struct config *c = load(NOTIFIERS "defaults: {notify: [audti]}\n"
                                      "report: {notify: nobody}\n");
    ck_assert_ptr_null(c);
    ck_assert(has_msg("f.yaml:4:21: unknown notifier \"audti\" (known: "
                      "slack-prod, audit)"));
    ck_assert(has_msg("f.yaml:5:18: unknown notifier \"nobody\" "
                      "(known: slack-prod, audit)"));
}
END_TEST

START_TEST(defaults_apply_to_notifiers_whatever_the_key_order)
{
    struct config *c = load(NOTIFIERS "defaults: {send_resolved: false, "
                                      "notify: [audit]}\n");
    ck_assert_ptr_nonnull(c);
    ck_assert_uint_eq(c->nnotifiers, 2);
    ck_assert(!c->notifiers[0].send_resolved);
    ck_assert(!c->notifiers[1].send_resolved);
    ck_assert_uint_eq(c->ndefault_notify, 1);
    ck_assert_uint_eq(c->default_notify[0], 1);
    config_free(c);
}
END_TEST

START_TEST(unknown_keys_in_defaults_and_notifiers_are_errors)
{
    struct config *c = load("defaults: {repeat_intervall: 1h}\n"
                            "notifiers:\n"
                            "  audit: {type: log, pth: /tmp/x}\n");
    ck_assert_ptr_null(c);
    ck_assert(has_msg("f.yaml:1:12: unknown key \"repeat_intervall\" "
                      "in defaults"));
    /* Checked by the kind's configure op with config_common_notifier_keys. */
    ck_assert(has_msg("f.yaml:3:22: unknown key \"pth\""));
}
END_TEST

START_TEST(notifier_common_keys_and_defaults)
{
    struct config *c = load(
        "notifiers:\n"
        "  s: {type: slack, url: \"https://hooks.slack.com/services/T/B/c\"}\n"
        "  w:\n"
        "    type: webhook\n"
        "    url: https://example.com/h\n"
        "    events: [firing, escalated]\n"
        "    cooldown: 10m\n"
        "    timeout: 5s\n"
        "    max_retry_time: 2h\n"
        "    send_resolved: false\n"
        "    rate_limit: 30/m\n"
        "    burst: 5\n");
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(config_notifier_index(c, "w"), 1);
    ck_assert_int_eq(config_notifier_index(c, "nope"), -1);
    ck_assert_double_eq(c->notifiers[0].rate_per_s, 1);
    ck_assert_double_eq(c->notifiers[0].burst, 3);
    ck_assert_double_eq(c->notifiers[0].timeout, 10);
    ck_assert_double_eq(c->notifiers[0].max_retry_time, 3600);
    ck_assert_uint_eq(c->notifiers[0].events_mask, EV_MASK_ALL);
    ck_assert(c->notifiers[0].send_resolved);
    ck_assert_uint_eq(c->notifiers[1].events_mask,
                      (1u << EV_FIRING) | (1u << EV_ESCALATED));
    ck_assert_double_eq(c->notifiers[1].cooldown, 600);
    ck_assert_double_eq(c->notifiers[1].timeout, 5);
    ck_assert_double_eq(c->notifiers[1].max_retry_time, 7200);
    ck_assert(!c->notifiers[1].send_resolved);
    ck_assert_double_eq_tol(c->notifiers[1].rate_per_s, 0.5, 1e-12);
    ck_assert_double_eq(c->notifiers[1].burst, 5);
    ck_assert_ptr_nonnull(c->notifiers[1].ops);
    config_free(c);
}
END_TEST

START_TEST(unknown_notifier_type_lists_kinds)
{
    ck_load_error("notifiers:\n  x: {type: slak}\n",
                  "f.yaml:2:13: unknown notifier type \"slak\" (known: "
                  "slack, email, webhook, log)");
    ck_load_error("notifiers:\n  x: {url: a}\n",
                  "f.yaml:2:3: notifier \"x\" needs a type (one of: "
                  "slack, email, webhook, log)");
}
END_TEST

START_TEST(notifier_bad_event_and_rate)
{
    struct config *c = load("notifiers:\n"
                            "  x:\n"
                            "    type: log\n"
                            "    events: [firing, fired]\n"
                            "    rate_limit: fast\n");
    ck_assert_ptr_null(c);
    ck_assert(has_msg("f.yaml:4:22: unknown event \"fired\" (expected "
                      "firing, escalated, deescalated, resolved)"));
    ck_assert(has_msg("f.yaml:5:17: invalid rate_limit \"fast\" "
                      "(expected e.g. \"1/s\", \"30/m\" or a number per "
                      "second)"));
}
END_TEST

START_TEST(routes_parse_match_notify_continue_repeat)
{
    struct config *c = load(NOTIFIERS "routes:\n"
                                      "  - match: {severity: critical}\n"
                                      "    notify: [slack-prod, audit]\n"
                                      "    continue: true\n"
                                      "  - match: {alertname: a, severity: "
                                      "\"~warning|critical\"}\n"
                                      "    notify: audit\n"
                                      "    repeat_interval: 12h\n");
    ck_assert_ptr_nonnull(c);
    ck_assert_uint_eq(c->nroutes, 2);
    ck_assert(c->routes[0].cont);
    ck_assert_uint_eq(c->routes[0].nnotify, 2);
    ck_assert_uint_eq(c->routes[0].notify[1], 1);
    ck_assert(!c->routes[0].has_repeat);
    ck_assert(!c->routes[1].cont);
    ck_assert(c->routes[1].has_repeat);
    ck_assert_double_eq(c->routes[1].repeat_interval, 43200);
    ck_assert_uint_eq(c->routes[1].match.n, 2);
    ck_assert_int_eq(c->routes[1].match.v[1].op, MATCH_RE);
    ck_assert(matcher_match(&c->routes[1].match.v[1], "critical"));
    ck_assert(!matcher_match(&c->routes[1].match.v[1], "info"));
    config_free(c);
}
END_TEST

START_TEST(route_unknown_key_and_bad_severity)
{
    struct config *c = load(NOTIFIERS "routes:\n"
                                      "  - match: {severity: crit}\n"
                                      "    notfy: [audit]\n");
    ck_assert_ptr_null(c);
    ck_assert(has_msg("f.yaml:5:23: unknown severity \"crit\" "
                      "(expected info, warning, critical)"));
    ck_assert(has_msg("f.yaml:6:5: unknown key \"notfy\" in route 1"));
}
END_TEST

/* ---- inputs ---- */

START_TEST(inputs_parse_each_kind_with_defaults)
{
    struct config *c = load(
        "inputs:\n"
        "  - scrape: {url: \"http://127.0.0.1:9100/metrics\", labels: {job: "
        "node}}\n"
        "  - statsd: {listen: \"127.0.0.1:8125\"}\n"
        "  - file: {path: m.jsonl, format: influx, follow: true}\n"
        "  - file: {path: /abs/m.txt}\n");
    ck_assert_ptr_nonnull(c);
    ck_assert_uint_eq(c->ninputs, 4);
    ck_assert_int_eq(c->inputs[0].kind, INPUT_SCRAPE);
    ck_assert_str_eq(c->inputs[0].url, "http://127.0.0.1:9100/metrics");
    ck_assert_double_eq(c->inputs[0].interval, 15);
    ck_assert_double_eq(c->inputs[0].timeout, 10);
    ck_assert_uint_eq(c->inputs[0].nlabels, 1);
    ck_assert_str_eq(c->inputs[0].labels[0].value, "node");
    ck_assert_int_eq(c->inputs[1].kind, INPUT_STATSD);
    ck_assert_str_eq(c->inputs[1].listen, "127.0.0.1:8125");
    ck_assert_int_eq(c->inputs[2].kind, INPUT_FILE);
    ck_assert_str_eq(c->inputs[2].path, "/etc/tocsin/m.jsonl");
    ck_assert_int_eq(c->inputs[2].format, FMT_INFLUX);
    ck_assert(c->inputs[2].follow);
    ck_assert_str_eq(c->inputs[3].path, "/abs/m.txt");
    ck_assert_int_eq(c->inputs[3].format, FMT_AUTO);
    ck_assert(!c->inputs[3].follow);
    config_free(c);
}
END_TEST

START_TEST(input_errors_have_positions)
{
    struct config *c = load("inputs:\n"
                            "  - kafka: {topic: x}\n"
                            "  - file: {path: a, format: csv, folow: true}\n"
                            "  - scrape: {interval: 5s}\n"
                            "  - scrape: {url: x}\n");
    ck_assert_ptr_null(c);
    ck_assert(has_msg("f.yaml:2:5: unknown input type \"kafka\" "
                      "(expected scrape, statsd, file)"));
    ck_assert(has_msg("f.yaml:3:34: unknown key \"folow\" in file "
                      "input"));
    ck_assert(has_msg("f.yaml:3:29: unknown format \"csv\" (expected "
                      "json, influx, prom, graphite, statsd, auto)"));
    ck_assert(has_msg("f.yaml:4:5: scrape input needs a url"));
    ck_assert(has_msg("f.yaml:5:19: scrape url must start with "
                      "http:// or https://"));
    /* Addresses `run` could not bind are found by check. */
    ck_load_error("listen: \"not a host:80\"\n",
                  "f.yaml:1:9: listen must be \"host:port\", not \"not a "
                  "host:80\"");
    ck_load_error("inputs:\n"
                  "  - statsd: {listen: \"127.0.0.1:18126\"}\n"
                  "  - statsd: {listen: \"[::1]:18126\"}\n"
                  "  - statsd: {listen: \"127.0.0.1:18126\"}\n",
                  "f.yaml:4:22: statsd listen 127.0.0.1:18126 is already the "
                  "input's at line 2");
    /* An empty path would be the config's folder, waited for for ever. */
    ck_load_error("inputs:\n"
                  "  - file: {path: \"\", format: prom}\n",
                  "f.yaml:2:18: file input path is empty");
    /* A URL libcurl refuses is found by check, not by every scrape. */
    ck_load_error("inputs:\n"
                  "  - scrape: {url: \"http://127.0.0.1:99999/m\"}\n",
                  "f.yaml:2:19: url is not a valid URL (Port number was not "
                  "a decimal number between 0 and 65535)");
    ck_load_error("inputs:\n"
                  "  - scrape: {url: \"http://exa mple.com/m\"}\n",
                  "f.yaml:2:19: url is not a valid URL (Bad hostname)");
    /* As Prometheus: a scrape's labels have label names, none of them a
     * reserved __ one (__name__ would rename every metric). */
    c = load("inputs:\n"
             "  - scrape: {url: \"http://h/m\", labels: {job: a, bad-name: b, "
             "__name__: c, ok_1: d}}\n");
    ck_assert_ptr_null(c);
    ck_assert(has_msg("f.yaml:2:50: label name \"bad-name\" is not a valid "
                      "label name ([a-zA-Z_][a-zA-Z0-9_]*, not starting with "
                      "__) in a scrape input"));
    ck_assert(has_msg("f.yaml:2:63: label name \"__name__\" is not a valid "
                      "label name ([a-zA-Z_][a-zA-Z0-9_]*, not starting with "
                      "__) in a scrape input"));
    ck_assert_uint_eq(diag.nmsgs, 2);
    /* As Prometheus: a scrape may not outlast its interval; without a
     * timeout the default (10s) is cut to the interval. */
    c = load("inputs:\n"
             "  - scrape: {url: \"http://h/m\", interval: 15s, timeout: 30s}\n"
             "  - scrape: {url: \"http://h/m\", interval: 5s}\n");
    ck_assert_ptr_null(c);
    ck_assert(has_msg("f.yaml:2:57: scrape timeout (30s) is longer than its "
                      "interval (15s)"));
    ck_assert_uint_eq(diag.nmsgs, 1);
}
END_TEST

/* ---- rules ---- */

START_TEST(rule_unknown_key_names_the_rule)
{
    ck_load_error("rules:\n"
                  "  - name: api_p90_latency\n"
                  "    metric: m\n"
                  "    severty: {warning: {above: 1}}\n",
                  "f.yaml:4:5: unknown key \"severty\" in rule "
                  "\"api_p90_latency\"");
}
END_TEST

START_TEST(unknown_severity_tier)
{
    ck_load_error(RULE_HEAD "    severity:\n      crit: {above: 1}\n",
                  "f.yaml:5:7: unknown severity \"crit\" (expected "
                  "info, warning, critical)");
}
END_TEST

START_TEST(clear_above_threshold_is_rejected)
{
    ck_load_error(RULE_HEAD "    severity:\n"
                            "      warning: {above: 400, clear: 450}\n",
                  "f.yaml:5:36: clear (450) must be <= above (400) for "
                  "tier warning");
    ck_load_error(RULE_HEAD "    severity:\n"
                            "      warning: {below: 10, clear: 5}\n",
                  "f.yaml:5:35: clear (5) must be >= below (10) for "
                  "tier warning");
}
END_TEST

START_TEST(tiers_must_be_ordered)
{
    ck_load_error(RULE_HEAD "    severity:\n"
                            "      warning: {above: 200}\n"
                            "      critical: {above: 150}\n",
                  "f.yaml:6:25: above (150) for tier critical must be "
                  ">= above (200) for tier warning");
    ck_load_error(RULE_HEAD "    severity:\n"
                            "      info: {below: 10}\n"
                            "      critical: {below: 20}\n",
                  "f.yaml:6:25: below (20) for tier critical must be "
                  "<= below (10) for tier info");
}
END_TEST

START_TEST(tiers_of_both_directions_are_independent)
{
    struct config *c = load(RULE_HEAD "    severity:\n"
                                      "      info: {below: 1}\n"
                                      "      warning: {above: 200}\n"
                                      "      critical: {above: 500}\n");
    ck_assert_ptr_nonnull(c);
    ck_assert(!c->rules[0].tiers[0].above);
    ck_assert(c->rules[0].tiers[2].above);
    config_free(c);
    /* Ordering applies within a direction, across a tier of the other. */
    ck_load_error(RULE_HEAD "    severity:\n"
                            "      info: {above: 200}\n"
                            "      warning: {below: 5}\n"
                            "      critical: {above: 150}\n",
                  "f.yaml:7:25: above (150) for tier critical must be "
                  ">= above (200) for tier info");
}
END_TEST

START_TEST(bad_threshold_still_checks_the_tier)
{
    struct config *c = load(RULE_HEAD "    severity:\n"
                                      "      warning: {above: abc, clear: x, "
                                      "for: zz}\n");
    ck_assert_ptr_null(c);
    ck_assert(has_msg("f.yaml:5:24: above must be a number, not \"abc\""));
    ck_assert(has_msg("f.yaml:5:36: clear must be a number, not \"x\""));
    ck_assert(has_msg("f.yaml:5:44: invalid duration \"zz\" for for "
                      "(expected e.g. 250ms, 30s, 5m, 2h, 1d, 1w or sums "
                      "like 1h30m)"));
}
END_TEST

START_TEST(tier_needs_exactly_one_of_above_below)
{
    ck_load_error(RULE_HEAD "    severity:\n      warning: {clear: 1}\n",
                  "f.yaml:5:7: tier warning needs above or below");
    ck_load_error(RULE_HEAD
                  "    severity:\n      warning: {above: 1, below: 0}\n",
                  "f.yaml:5:34: tier warning has both above and below "
                  "(use exactly one)");
    ck_load_error(RULE_HEAD "    severity: {}\n",
                  "f.yaml:4:15: severity needs at least one tier "
                  "(info, warning, critical) in rule \"r1\"");
    ck_load_error(RULE_HEAD "    window: 5m\n",
                  "f.yaml:2:5: rule \"r1\" needs a severity with at "
                  "least one tier (info, warning, critical)");
}
END_TEST

START_TEST(tier_unknown_key_and_bad_number)
{
    struct config *c = load(RULE_HEAD "    severity:\n"
                                      "      warning: {abve: 1, below: x}\n");
    ck_assert_ptr_null(c);
    ck_assert(has_msg("f.yaml:5:17: unknown key \"abve\" in tier "
                      "warning of rule \"r1\""));
    ck_assert(has_msg("f.yaml:5:33: below must be a number, not "
                      "\"x\""));
}
END_TEST

START_TEST(duplicate_rule_names_are_rejected)
{
    ck_load_error(RULE_HEAD "    severity: {warning: {above: 1}}\n"
                            "  - name: r1\n"
                            "    metric: m\n"
                            "    severity: {warning: {above: 1}}\n",
                  "f.yaml:5:11: duplicate rule name \"r1\" (first "
                  "defined at line 2)");
}
END_TEST

/* A rule copied by an alias or a merge is the duplicate where it is used,
 * not where its anchor is. */
START_TEST(duplicate_rule_by_alias_is_reported_where_it_is_used)
{
    struct config *c = load("rules:\n"
                            "  - &r\n"
                            "    name: r1\n"
                            "    metric: m\n"
                            "    severity: {warning: {above: 1}}\n"
                            "  - *r\n"
                            "  - <<: *r\n"
                            "    window: 5m\n");

    if (c != NULL)
        config_free(c);
    ck_assert_ptr_null(c);
    ck_assert(has_msg("f.yaml:6:5: duplicate rule name \"r1\" (first "
                      "defined at line 2)"));
    ck_assert(has_msg("f.yaml:7:5: duplicate rule name \"r1\" (first "
                      "defined at line 2)"));
    ck_assert_uint_eq(diag.nmsgs, 2);
}
END_TEST

START_TEST(a_file_followed_twice_is_rejected)
{
    ck_load_error("inputs:\n"
                  "  - file: {path: m.log, format: json, follow: true}\n"
                  "  - file: {path: m.log, format: influx}\n"
                  "  - file: {path: ./../tocsin/m.log, format: influx, "
                  "follow: true}\n"
                  "  - file: {path: m.log, format: influx, follow: true}\n",
                  "f.yaml:5:18: file /etc/tocsin/m.log is followed by the "
                  "input at line 2 already (one input per followed file; "
                  "format: auto reads lines of mixed formats)");
    ck_assert_uint_eq(diag.nmsgs, 1);
}
END_TEST

/* The same file by another spelling of its folder is the same file. */
START_TEST(a_file_followed_twice_under_two_spellings_is_rejected)
{
    static const char y[] =
        "inputs:\n"
        "  - file: {path: m.log, format: json, follow: true}\n"
        "  - file: {path: ./../tmp/m.log, format: influx, follow: true}\n";
    struct config *c;

    cfg_diag_cleanup(&diag);
    cfg_diag_init(&diag, "f.yaml");
    c = config_load_buf(y, strlen(y), "f.yaml", "/tmp", &diag);
    if (c != NULL)
        config_free(c);
    ck_assert_ptr_null(c);
    ck_assert_uint_eq(diag.nmsgs, 1);
    ck_assert_ptr_nonnull(strstr(diag.msgs[0],
                                 "f.yaml:3:18: file /tmp/./../tmp/m.log is "
                                 "followed by the input at line 2 already"));
}
END_TEST

START_TEST(an_empty_ratio_is_rejected)
{
    ck_load_error(RULE_HEAD "    window: 5m\n"
                            "    aggregate: count\n"
                            "    ratio: {}\n"
                            "    severity: {warning: {above: 0.1}}\n",
                  "f.yaml:6:12: ratio needs at least one matcher (e.g. "
                  "{status: \"~5..\"}) in rule \"r1\"");
}
END_TEST

START_TEST(rule_name_must_be_an_identifier)
{
    ck_load_error("rules:\n  - name: 9lives\n    metric: m\n"
                  "    severity: {warning: {above: 1}}\n",
                  "f.yaml:2:11: invalid rule name \"9lives\" (must "
                  "match [a-zA-Z_][a-zA-Z0-9_:]*)");
    ck_load_error("rules:\n  - metric: m\n"
                  "    severity: {warning: {above: 1}}\n",
                  "f.yaml:2:5: rule 1 needs a name");
}
END_TEST

START_TEST(empty_metric_is_rejected)
{
    ck_load_error("rules:\n  - name: r\n    metric: \"\"\n"
                  "    severity: {warning: {above: 1}}\n",
                  "f.yaml:3:13: empty metric name in rule \"r\"");
    ck_load_error("rules:\n  - name: r\n    metric: []\n"
                  "    severity: {warning: {above: 1}}\n",
                  "f.yaml:3:13: metric needs at least one name in rule "
                  "\"r\"");
}
END_TEST

START_TEST(bad_regex_reports_regcomp_message)
{
    struct config *c = load(RULE_HEAD "    where: {status: \"~(5..\"}\n"
                                      "    severity: {warning: {above: 1}}\n");
    ck_assert_ptr_null(c);
    ck_assert_uint_eq(diag.nmsgs, 1);
    ck_assert_msg(
        strncmp(diag.msgs[0], "f.yaml:4:21: invalid regex \"(5..\": ", 34) == 0,
        "got %s", diag.msgs[0]);
    ck_assert_msg(strstr(diag.msgs[0], "for label \"status\" in rule \"r1\""),
                  "got %s", diag.msgs[0]);
}
END_TEST

START_TEST(unknown_aggregate_and_ratio_misuse)
{
    ck_load_error(RULE_HEAD "    aggregate: p900\n"
                            "    severity: {warning: {above: 1}}\n",
                  "f.yaml:4:16: unknown aggregate \"p900\" (expected "
                  "last, min, max, avg, sum, count, stddev, pNN such as p90 "
                  "or p99.9, apdex(T), rate, increase)");
    ck_load_error(RULE_HEAD "    aggregate: p90\n"
                            "    ratio: {status: \"~5..\"}\n"
                            "    severity: {warning: {above: 1}}\n",
                  "f.yaml:5:12: ratio needs aggregate sum, count, rate "
                  "or increase (not p90) in rule \"r1\"");
}
END_TEST

START_TEST(escaped_nul_in_a_scalar_is_an_error)
{
    ck_load_error(RULE_HEAD "    labels: {team: \"a\\0b\"}\n"
                            "    severity: {warning: {above: 1}}\n",
                  "f.yaml:4:20: a NUL character (\\0) is not allowed");
    ck_load_error("store: \"st\\x00ore.db\"\n",
                  "f.yaml:1:8: a NUL character (\\0) is not allowed");
}
END_TEST

START_TEST(null_matchers_and_by_items_are_errors)
{
    ck_load_error(RULE_HEAD "    where: {service: ~}\n"
                            "    severity: {warning: {above: 1}}\n",
                  "f.yaml:4:22: matcher for label \"service\" in rule \"r1\" "
                  "needs a value (\"\" matches a missing label)");
    ck_load_error(RULE_HEAD "    where: {service: null}\n"
                            "    severity: {warning: {above: 1}}\n",
                  "f.yaml:4:22: matcher for label \"service\" in rule \"r1\" "
                  "needs a value (\"\" matches a missing label)");
    ck_load_error(RULE_HEAD "    by: [service, ~]\n"
                            "    severity: {warning: {above: 1}}\n",
                  "f.yaml:4:19: by: a list item needs a value");
    ck_load_error("notifiers: {a: {type: log}}\n"
                  "routes:\n  - match: {severity: }\n    notify: [a]\n",
                  "f.yaml:3:23: matcher for label \"severity\" in route 1 "
                  "needs a value (\"\" matches a missing label)");
    /* "" is the explicit "label missing or empty" matcher. */
    {
        struct config *c = load(RULE_HEAD "    where: {service: \"\"}\n"
                                          "    severity: {warning: {above: "
                                          "1}}\n");
        if (c == NULL)
            dump();
        ck_assert_ptr_nonnull(c);
        config_free(c);
    }
}
END_TEST

START_TEST(untyped_notifier_still_reports_its_unknown_keys)
{
    ck_load_error("notifiers:\n  a:\n    typex: log\n    path: x.log\n"
                  "    bogus: 1\n",
                  "f.yaml:3:5: unknown key \"typex\"");
    ck_assert(has_msg("f.yaml:5:5: unknown key \"bogus\""));
    ck_assert(has_msg("f.yaml:2:3: notifier \"a\" needs a type (one of: "
                      "slack, email, webhook, log)"));
    /* path is a key of some kind (log): not reported */
    ck_assert(!has_msg("f.yaml:4:5: unknown key \"path\""));
    ck_load_error("notifiers:\n  b:\n    type: nosuch\n    urlx: 1\n",
                  "f.yaml:4:5: unknown key \"urlx\"");
}
END_TEST

START_TEST(by_duplicates_are_rejected)
{
    ck_load_error(RULE_HEAD "    by: [service, host, service]\n"
                            "    severity: {warning: {above: 1}}\n",
                  "f.yaml:4:25: duplicate label \"service\" in by of "
                  "rule \"r1\"");
}
END_TEST

START_TEST(unknown_template_path_points_into_the_annotation)
{
    ck_load_error(RULE_HEAD "    severity: {warning: {above: 1}}\n"
                            "    annotations:\n"
                            "      summary: \"v {{ valeu }}\"\n",
                  "f.yaml:6:22: unknown template path \"valeu\" "
                  "(expected rule, event, severity, previous, value, reason, "
                  "fingerprint, ts, labels.NAME or annotations.NAME) in "
                  "annotation \"summary\" of rule \"r1\"");
    ck_load_error(RULE_HEAD "    severity: {warning: {above: 1}}\n"
                            "    annotations:\n"
                            "      summary: v {{ value\n",
                  "f.yaml:6:18: unclosed \"{{\" in template in "
                  "annotation \"summary\" of rule \"r1\"");
}
END_TEST

/* The position is found in the file's text: right after multi-byte
 * characters and escapes, and on the line of a block scalar that holds the
 * template, not at its | or >. */
START_TEST(template_errors_point_at_the_template_in_the_file)
{
    static const char tail[] = " (expected rule, event, severity, previous, "
                               "value, reason, fingerprint, ts, labels.NAME "
                               "or annotations.NAME) in annotation ";
    char want[512];
    struct config *c =
        load(RULE_HEAD "    severity: {warning: {above: 1}}\n"
                       "    annotations:\n"
                       "      s: \"\xc3\xa9\xc3\xa9 {{ nope }}\"\n"
                       "      t: \"\\u00e9 {{ nope2 }}\"\n"
                       "      u: |  # see {{ docs }}\n"
                       "        first {{ value }}\n"
                       "        then {{ nope3 }}\n"
                       "      w: >\n"
                       "        a {{ value }}\n"
                       "        b {{ nope4 }}\n"
                       "      y: &bad \"z {{ nope5 }}\"\n"
                       "      z: *bad\n"
                       "      zz: \"fine {{ value }}\"\n");
    /* Where each bad path stands; the alias z is reported where it
     * stands, not at the next template in the file. */
    static const struct {
        const char *pos, *path, *key;
    } at[] = {{"6:17", "nope", "s"},   {"7:21", "nope2", "t"},
              {"10:17", "nope3", "u"}, {"13:14", "nope4", "w"},
              {"14:21", "nope5", "y"}, {"15:10", "nope5", "z"}};

    ck_assert_ptr_null(c);
    for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
        snprintf(want, sizeof(want),
                 "f.yaml:%s: unknown template path \"%s\"%s\"%s\" of rule "
                 "\"r1\"",
                 at[i].pos, at[i].path, tail, at[i].key);
        ck_assert_msg(has_msg(want), "missing: %s", want);
    }
    if (diag.nmsgs != 6)
        dump();
    ck_assert_uint_eq(diag.nmsgs, 6);
}
END_TEST

START_TEST(thresholds_take_yaml_core_hex_and_octal)
{
    struct config *c = load(RULE_HEAD "    severity:\n"
                                      "      warning: {above: 0o17}\n"
                                      "      critical: {above: 0x1F}\n");

    if (c == NULL)
        dump();
    ck_assert_ptr_nonnull(c);
    ck_assert_double_eq(c->rules[0].tiers[1].threshold, 15);
    ck_assert_double_eq(c->rules[0].tiers[2].threshold, 31);
    config_free(c);
    ck_load_error(RULE_HEAD "    severity: {warning: {above: 0o18}}\n",
                  "f.yaml:4:33: above must be a number, not \"0o18\"");
}
END_TEST

START_TEST(rate_and_increase_need_a_window)
{
    ck_load_error(RULE_HEAD "    aggregate: rate\n"
                            "    severity: {warning: {above: 1}}\n",
                  "f.yaml:4:16: aggregate rate needs a window in rule \"r1\"");
    ck_load_error(RULE_HEAD "    aggregate: increase\n"
                            "    severity: {warning: {above: 1}}\n",
                  "f.yaml:4:16: aggregate increase needs a window in rule "
                  "\"r1\"");
    /* (t - 0, t] holds no sample: a zero window is no window. */
    ck_load_error(RULE_HEAD "    window: 0s\n"
                            "    aggregate: increase\n"
                            "    severity: {warning: {above: 1}}\n",
                  "f.yaml:4:13: window must be greater than 0");
}
END_TEST

START_TEST(reserved_rule_labels_are_rejected)
{
    ck_load_error(RULE_HEAD "    severity: {warning: {above: 1}}\n"
                            "    labels: {alertname: x}\n",
                  "f.yaml:5:14: label \"alertname\" is reserved (set by "
                  "tocsin) in rule \"r1\"");
    /* In by too: its value would vanish behind alertname, or clash with
     * the severity routes and silences match. */
    ck_load_error(RULE_HEAD "    by: [host, severity]\n"
                            "    severity: {warning: {above: 1}}\n",
                  "f.yaml:4:16: label \"severity\" is reserved (set by "
                  "tocsin) in by of rule \"r1\"");
}
END_TEST

START_TEST(nodata_parses_and_validates)
{
    struct config *c = load(RULE_HEAD "    severity: {warning: {above: 1}}\n"
                                      "    nodata: {after: 10m, severity: "
                                      "critical}\n");
    ck_assert_ptr_nonnull(c);
    ck_assert(c->rules[0].has_nodata);
    ck_assert_double_eq(c->rules[0].nodata_after, 600);
    ck_assert_int_eq(c->rules[0].nodata_sev, SEV_CRITICAL);
    config_free(c);
    ck_load_error(RULE_HEAD "    severity: {warning: {above: 1}}\n"
                            "    nodata: {after: 10m, severity: crit, x: 1}\n",
                  "f.yaml:5:36: unknown severity \"crit\" (expected "
                  "info, warning, critical)");
    ck_assert(has_msg("f.yaml:5:42: unknown key \"x\" in nodata of "
                      "rule \"r1\""));
}
END_TEST

START_TEST(rule_fields_land_in_the_struct)
{
    struct config *c = load(
        "rules:\n"
        "  - name: err_rate\n"
        "    metric: [a, b]\n"
        "    where: {service: api, env: \"!dev\"}\n"
        "    by: [service]\n"
        "    window: 5m\n"
        "    aggregate: count\n"
        "    ratio: {status: \"~5..\"}\n"
        "    severity:\n"
        "      info: {above: 0.01}\n"
        "      critical: {above: 0.1, clear: 0.05, for: 1m, clear_for: 2m}\n"
        "    labels: {team: web}\n"
        "    annotations: {summary: \"{{ value }}\", static: plain}\n"
        "  - name: apdex_r\n"
        "    metric: m\n"
        "    aggregate: apdex(300)\n"
        "    severity: {warning: {below: 0.9}}\n"
        "  - name: q\n"
        "    metric: m\n"
        "    aggregate: p99.9\n"
        "    severity: {warning: {above: 1}}\n");
    ck_assert_ptr_nonnull(c);
    const struct rule *r = config_rule(c, "err_rate");
    ck_assert_ptr_nonnull(r);
    ck_assert_ptr_null(config_rule(c, "nope"));
    ck_assert_uint_eq(r->nmetrics, 2);
    ck_assert_str_eq(r->metrics[1], "b");
    ck_assert_uint_eq(r->where.n, 2);
    ck_assert_int_eq(r->where.v[1].op, MATCH_NE);
    ck_assert_uint_eq(r->nby, 1);
    ck_assert_double_eq(r->window, 300);
    ck_assert_int_eq(r->agg.kind, AGG_COUNT);
    ck_assert(r->has_ratio);
    ck_assert_uint_eq(r->ratio.n, 1);
    ck_assert(r->tiers[0].present && r->tiers[0].above);
    ck_assert(!r->tiers[1].present);
    ck_assert(r->tiers[2].present);
    ck_assert(r->tiers[2].has_clear);
    ck_assert_double_eq(r->tiers[2].clear, 0.05);
    ck_assert_double_eq(r->tiers[2].for_s, 60);
    ck_assert_double_eq(r->tiers[2].clear_for_s, 120);
    ck_assert(!r->tiers[0].has_clear);
    ck_assert_uint_eq(r->nannotations, 2);
    ck_assert(!tmpl_is_literal(r->annotations[0].tmpl));
    ck_assert(tmpl_is_literal(r->annotations[1].tmpl));
    ck_assert(!r->has_nodata);
    ck_assert_int_eq(c->rules[1].agg.kind, AGG_APDEX);
    ck_assert_double_eq(c->rules[1].agg.param, 300);
    ck_assert(!c->rules[1].tiers[1].above);
    ck_assert_int_eq(c->rules[2].agg.kind, AGG_QUANTILE);
    ck_assert_double_eq_tol(c->rules[2].agg.param, 0.999, 1e-12);
    ck_assert_int_eq(c->rules[2].agg.kind, AGG_QUANTILE);
    config_free(c);
}
END_TEST

START_TEST(every_error_in_a_file_is_reported_in_one_run)
{
    struct config *c = load("stroe: a\n"
                            "evaluation_interval: soon\n"
                            "rules:\n"
                            "  - name: a\n"
                            "    metric: m\n"
                            "    aggregate: median\n"
                            "    severity: {crit: {above: 1}}\n");
    ck_assert_ptr_null(c);
    ck_assert_uint_eq(diag.count, 4);
    ck_assert_uint_eq(diag.nmsgs, 4);
    /* In file order, whatever order the checks ran in. */
    ck_assert_str_eq(diag.msgs[0], "f.yaml:1:1: unknown key \"stroe\"");
    ck_assert_ptr_nonnull(strstr(diag.msgs[1], "f.yaml:2:22: "));
    ck_assert_ptr_nonnull(strstr(diag.msgs[2], "f.yaml:6:16: "));
    ck_assert_str_eq(diag.msgs[3], "f.yaml:7:16: unknown severity "
                                   "\"crit\" (expected info, warning, "
                                   "critical)");
}
END_TEST

START_TEST(errors_beyond_the_cap_are_counted_not_kept)
{
    static char y[65536];
    size_t o = 0;
    for (int i = 0; i < CFG_MAX_ERRORS + 30; i++)
        o += (size_t)snprintf(y + o, sizeof(y) - o, "bad%d: 1\n", i);
    struct config *c = load(y);
    ck_assert_ptr_null(c);
    ck_assert_uint_eq(diag.count, CFG_MAX_ERRORS + 30);
    ck_assert_uint_eq(diag.nmsgs, CFG_MAX_ERRORS);
}
END_TEST

/* The errors kept are the first ones in the file, whichever check found
 * them first: a broken rule is not hidden behind later garbage. */
START_TEST(errors_kept_past_the_cap_are_the_first_in_the_file)
{
    static char y[65536];
    size_t o = (size_t)snprintf(y, sizeof(y),
                                RULE_HEAD "    window: 5x\n"
                                          "    severity: {warning: "
                                          "{above: 1}}\n");
    for (int i = 0; i < CFG_MAX_ERRORS + 30; i++)
        o += (size_t)snprintf(y + o, sizeof(y) - o, "bad%d: 1\n", i);
    struct config *c = load(y);
    ck_assert_ptr_null(c);
    ck_assert_uint_eq(diag.count, CFG_MAX_ERRORS + 31);
    ck_assert_uint_eq(diag.nmsgs, CFG_MAX_ERRORS);
    ck_assert_ptr_nonnull(strstr(diag.msgs[0], "f.yaml:4:13: invalid "
                                               "duration \"5x\""));
    ck_assert_ptr_nonnull(strstr(diag.msgs[1], "unknown key \"bad0\""));
    ck_assert_ptr_nonnull(
        strstr(diag.msgs[CFG_MAX_ERRORS - 1], "unknown key \"bad998\""));
}
END_TEST

START_TEST(aggregate_parse_accepts_every_form)
{
    struct aggregate a;
    ck_assert_int_eq(aggregate_parse("p50", &a), 0);
    ck_assert_double_eq(a.param, 0.5);
    ck_assert_int_eq(aggregate_parse("p100", &a), 0);
    ck_assert_double_eq(a.param, 1);
    ck_assert_int_eq(aggregate_parse("p0", &a), 0);
    ck_assert(a.kind == AGG_QUANTILE && a.param == 0);
    ck_assert_int_eq(aggregate_parse("p-1", &a), -1);
    ck_assert_int_eq(aggregate_parse("p100.5", &a), -1);
    ck_assert_int_eq(aggregate_parse("p", &a), -1);
    ck_assert_int_eq(aggregate_parse("p1e1", &a), -1);
    ck_assert_int_eq(aggregate_parse("apdex(0.5)", &a), 0);
    ck_assert_double_eq(a.param, 0.5);
    ck_assert_int_eq(aggregate_parse("apdex()", &a), -1);
    ck_assert_int_eq(aggregate_parse("stddev", &a), 0);
    ck_assert_int_eq(a.kind, AGG_STDDEV);
    ck_assert_int_eq(aggregate_parse("increase", &a), 0);
    ck_assert_int_eq(a.kind, AGG_INCREASE);
    ck_assert_int_eq(aggregate_parse("median", &a), -1);
}
END_TEST

START_TEST(severity_and_event_names_round_trip)
{
    enum severity s;
    enum event_kind k;
    ck_assert_str_eq(severity_name(SEV_OK), "ok");
    ck_assert_str_eq(severity_name(SEV_CRITICAL), "critical");
    ck_assert_int_eq(severity_parse("warning", &s), 0);
    ck_assert_int_eq(s, SEV_WARNING);
    ck_assert_int_eq(severity_parse("ok", &s), -1);
    ck_assert_int_eq(event_kind_parse("deescalated", &k), 0);
    ck_assert_int_eq(k, EV_DEESCALATED);
    ck_assert_str_eq(event_kind_name(EV_RESOLVED), "resolved");
    ck_assert_int_eq(event_kind_parse("fired", &k), -1);
}
END_TEST

START_TEST(spec_example_loads_with_env_set)
{
    struct config *c;
    setenv("SLACK_WEBHOOK_URL", "https://hooks.slack.com/services/T0/B0/xyz",
           1);
    setenv("SMTP_USER", "alerts", 1);
    setenv("SMTP_PASSWORD", "pw", 1);
    setenv("AUTOSCALE_SECRET", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", 1);
    cfg_diag_cleanup(&diag);
    cfg_diag_init(&diag, "configs/spec_example.yaml");
    c = config_load("configs/spec_example.yaml", &diag);
    if (c == NULL)
        dump();
    ck_assert_ptr_nonnull(c);
    ck_assert_str_eq(c->store, "configs/tocsin.db");
    ck_assert_str_eq(c->listen, "127.0.0.1:9464");
    ck_assert_double_eq(c->evaluation_interval, 10);
    ck_assert_double_eq(c->checkpoint_interval, 60);
    ck_assert(c->report.present);
    ck_assert_int_eq(c->report.at_wday, 1);
    ck_assert_int_eq(c->report.at_minute, 540);
    ck_assert_double_eq(c->report.since, 7 * 86400);
    ck_assert_uint_eq(c->report.nnotify, 1);
    ck_assert_double_eq(c->repeat_interval, 4 * 3600);
    ck_assert_uint_eq(c->ndefault_notify, 1);
    ck_assert_uint_eq(c->default_notify[0],
                      (size_t)config_notifier_index(c, "audit"));
    ck_assert_uint_eq(c->ninputs, 3);
    ck_assert_str_eq(c->inputs[2].path, "/var/log/app/metrics.jsonl");
    ck_assert_int_eq(c->inputs[2].format, FMT_JSON);
    ck_assert_uint_eq(c->nnotifiers, 4);
    ck_assert_str_eq(c->notifiers[0].name, "slack-prod");
    ck_assert_str_eq(c->notifiers[3].name, "autoscale");
    ck_assert_double_eq(c->notifiers[3].cooldown, 600);
    ck_assert_uint_eq(c->notifiers[3].events_mask,
                      (1u << EV_FIRING) | (1u << EV_ESCALATED));
    ck_assert_uint_eq(c->nroutes, 3);
    ck_assert(c->routes[0].cont);
    ck_assert_uint_eq(c->routes[0].nnotify, 2);
    ck_assert_double_eq(c->routes[2].repeat_interval, 12 * 3600);
    ck_assert_uint_eq(c->nrules, 1);
    const struct rule *r = &c->rules[0];
    ck_assert_str_eq(r->name, "api_p90_latency");
    ck_assert_int_eq(r->line, 58);
    ck_assert_int_eq(r->agg.kind, AGG_QUANTILE);
    ck_assert_double_eq_tol(r->agg.param, 0.9, 1e-12);
    ck_assert_double_eq(r->tiers[1].threshold, 200);
    ck_assert_double_eq(r->tiers[1].clear, 150);
    ck_assert_double_eq(r->tiers[1].for_s, 120);
    ck_assert_double_eq(r->tiers[2].threshold, 500);
    ck_assert_double_eq(r->tiers[2].clear_for_s, 120);
    ck_assert(r->has_nodata);
    ck_assert_double_eq(r->nodata_after, 600);
    ck_assert_int_eq(r->nodata_sev, SEV_WARNING);
    ck_assert_str_eq(r->labels[0].key, "team");
    ck_assert_str_eq(r->annotations[0].name, "summary");
    config_free(c);
}
END_TEST

Suite *config_suite(void)
{
    Suite *s = suite_create("config");
    TCase *y = tcase_create("yaml");
    TCase *e = tcase_create("env");
    TCase *t = tcase_create("toplevel");
    TCase *n = tcase_create("notifiers_routes_inputs");
    TCase *r = tcase_create("rules");

    tcase_add_checked_fixture(y, setup, teardown);
    tcase_add_checked_fixture(e, setup, teardown);
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_checked_fixture(n, setup, teardown);
    tcase_add_checked_fixture(r, setup, teardown);
    tcase_add_test(y, empty_file_is_an_empty_valid_config);
    tcase_add_test(y, yaml_syntax_error_reports_line_col_problem_and_context);
    tcase_add_test(y, yaml_tab_indent_error_has_position);
    tcase_add_test(y, yaml_tags_are_honoured_or_refused);
    tcase_add_test(y, every_template_error_of_an_annotation_is_listed);
    tcase_add_test(y, template_error_after_an_escape_is_at_its_scalar);
    tcase_add_test(y, rule_label_annotation_names_and_references_are_checked);
    tcase_add_test(y, top_level_must_be_a_map);
    tcase_add_test(y, multiple_documents_are_an_error);
    tcase_add_test(y, duplicate_key_is_an_error_at_the_second_key);
    tcase_add_test(y, duplicate_key_in_nested_map_is_reported);
    tcase_add_test(y, nesting_deeper_than_64_is_rejected);
    tcase_add_test(y, alias_bomb_is_bounded);
    tcase_add_test(y, reader_errors_count_characters_and_line_breaks);
    tcase_add_test(y, anchor_in_dropped_value_still_resolves);
    tcase_add_test(y, dropped_value_after_many_anchors_is_one_walk);
    tcase_add_test(y, alias_bomb_by_bytes_is_bounded);
    tcase_add_test(y, merge_keys_add_what_the_map_lacks);
    tcase_add_test(y, aliases_copy_the_anchored_subtree);
    tcase_add_test(y, unknown_alias_is_an_error);
    tcase_add_test(y, input_over_one_mib_is_rejected);
    tcase_add_test(y, missing_file_is_one_cannot_read_error);
    tcase_add_test(y, directory_is_one_cannot_read_error);
    tcase_add_test(e, env_var_is_expanded_in_values);
    tcase_add_test(e, env_expansion_is_bounded_in_all);
    tcase_add_test(e, env_values_in_events_and_rate_limit_errors_are_not_shown);
    tcase_add_test(e, env_default_used_when_unset_or_empty);
    tcase_add_test(e, double_dollar_is_a_literal_dollar);
    tcase_add_test(e, unset_env_var_names_the_variable_never_a_value);
    tcase_add_test(e, unset_env_var_is_reported_once);
    tcase_add_test(e, secret_from_env_is_not_quoted_in_type_errors);
    tcase_add_test(e, whsec_secret_must_be_base64_and_is_not_shown);
    tcase_add_test(e, env_vars_are_not_expanded_in_keys);
    tcase_add_test(t, unknown_top_level_key_is_an_error);
    tcase_add_test(t, store_memory_and_uris_are_errors);
    tcase_add_test(t, store_absolute_paths_are_kept);
    tcase_add_test(t, durations_parse_units_and_sums);
    tcase_add_test(t, bad_duration_names_the_key_and_value);
    tcase_add_test(t, zero_interval_is_rejected);
    tcase_add_test(t, yaml11_booleans_are_rejected_with_a_hint);
    tcase_add_test(t, quoted_true_is_not_a_boolean);
    tcase_add_test(t, listen_must_be_host_port);
    tcase_add_test(t, report_at_parses_weekday_and_time);
    tcase_add_test(t, report_bad_at_and_unknown_key);
    tcase_add_test(t, report_without_notify_goes_to_defaults_notify);
    tcase_add_test(n, unknown_notifier_in_route_lists_known_ones);
    tcase_add_test(n, unknown_notifier_in_defaults_and_report);
    tcase_add_test(n, defaults_apply_to_notifiers_whatever_the_key_order);
    tcase_add_test(n, unknown_keys_in_defaults_and_notifiers_are_errors);
    tcase_add_test(n, notifier_common_keys_and_defaults);
    tcase_add_test(n, unknown_notifier_type_lists_kinds);
    tcase_add_test(n, notifier_bad_event_and_rate);
    tcase_add_test(n, routes_parse_match_notify_continue_repeat);
    tcase_add_test(n, route_unknown_key_and_bad_severity);
    tcase_add_test(n, inputs_parse_each_kind_with_defaults);
    tcase_add_test(n, input_errors_have_positions);
    tcase_add_test(r, rule_unknown_key_names_the_rule);
    tcase_add_test(r, unknown_severity_tier);
    tcase_add_test(r, clear_above_threshold_is_rejected);
    tcase_add_test(r, tiers_must_be_ordered);
    tcase_add_test(r, tiers_of_both_directions_are_independent);
    tcase_add_test(r, bad_threshold_still_checks_the_tier);
    tcase_add_test(r, tier_needs_exactly_one_of_above_below);
    tcase_add_test(r, tier_unknown_key_and_bad_number);
    tcase_add_test(r, duplicate_rule_names_are_rejected);
    tcase_add_test(r, duplicate_rule_by_alias_is_reported_where_it_is_used);
    tcase_add_test(r, an_empty_ratio_is_rejected);
    tcase_add_test(r, a_file_followed_twice_is_rejected);
    tcase_add_test(r, a_file_followed_twice_under_two_spellings_is_rejected);
    tcase_add_test(r, rule_name_must_be_an_identifier);
    tcase_add_test(r, empty_metric_is_rejected);
    tcase_add_test(r, bad_regex_reports_regcomp_message);
    tcase_add_test(r, unknown_aggregate_and_ratio_misuse);
    tcase_add_test(r, by_duplicates_are_rejected);
    tcase_add_test(r, escaped_nul_in_a_scalar_is_an_error);
    tcase_add_test(r, null_matchers_and_by_items_are_errors);
    tcase_add_test(r, untyped_notifier_still_reports_its_unknown_keys);
    tcase_add_test(r, unknown_template_path_points_into_the_annotation);
    tcase_add_test(r, rate_and_increase_need_a_window);
    tcase_add_test(r, thresholds_take_yaml_core_hex_and_octal);
    tcase_add_test(r, template_errors_point_at_the_template_in_the_file);
    tcase_add_test(r, reserved_rule_labels_are_rejected);
    tcase_add_test(r, nodata_parses_and_validates);
    tcase_add_test(r, rule_fields_land_in_the_struct);
    tcase_add_test(r, every_error_in_a_file_is_reported_in_one_run);
    tcase_add_test(r, errors_beyond_the_cap_are_counted_not_kept);
    tcase_add_test(r, errors_kept_past_the_cap_are_the_first_in_the_file);
    tcase_add_test(r, aggregate_parse_accepts_every_form);
    tcase_add_test(r, severity_and_event_names_round_trip);
    tcase_add_test(r, spec_example_loads_with_env_set);
    suite_add_tcase(s, y);
    suite_add_tcase(s, e);
    suite_add_tcase(s, t);
    suite_add_tcase(s, n);
    suite_add_tcase(s, r);
    return s;
}
