/* cmd_test.c - `tocsin test FILE...`: rule unit tests shaped like
 * `promtool test rules` (SPEC section 8). Each test feeds its series,
 * written in promtool's expanding notation, through a fresh engine in time
 * order and compares the firing set at each `at` with the expected one. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "../common/buf.h"
#include "../common/util.h"
#include "../rules/engine.h"
#include "cmd.h"
#include "selector.h"

/* One input series: labels parsed from 'name{a="b"}', values expanded. */
struct tseries {
    char *metric;
    struct label *labels;
    size_t nlabels;
    double *vals; /* NAN = missing */
    size_t nvals;
};

struct texpect_alert {
    struct label *labels; /* without severity */
    size_t nlabels;
    enum severity sev;
};

struct texpect {
    double at;
    struct texpect_alert *alerts;
    size_t n;
    int line;
};

/* Expand promtool notation: "1 2 _ 3+1x2 5-1x2 7x2 _x3". 0 or -1 (why). */
static int expand_values(const char *s, double **out, size_t *nout, char *why,
                         size_t whylen)
{
    char *dup = xstrdup(s), *tok, *next = dup;
    double *v = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;

    for (;;) {
        /* Line breaks are spaces too (a folded `values: >` block ends in
         * one), as promtool reads them. */
        next += strspn(next, " \t\r\n");
        if (*next == '\0')
            break;
        tok = next;
        next += strcspn(next, " \t\r\n");
        if (*next != '\0')
            *next++ = '\0';
        double a = NAN, b = 0;
        long count = 0;
        bool missing = false;
        char *x = strchr(tok, 'x'), *end;
        char orig[64];

        snprintf(orig, sizeof(orig), "%s", tok);
        if (x == tok) {
            snprintf(why, whylen, "bad value \"%s\"", orig);
            rc = -1;
            break;
        }

        if (x) {
            *x = '\0';
            errno = 0;
            count = strtol(x + 1, &end, 10);
            if (errno || *end || end == x + 1 ||
                !isdigit((unsigned char)x[1]) || count < 0 || count > 1000000) {
                snprintf(why, whylen, "bad repeat count in \"%s\"", x + 1);
                rc = -1;
                break;
            }
        }
        if (strcmp(tok, "_") == 0 || (strcmp(tok, "stale") == 0 && !x)) {
            missing = true;
        } else if (!x && (strcasecmp(tok, "nan") == 0 ||
                          strcasecmp(tok, "inf") == 0 ||
                          strcasecmp(tok, "+inf") == 0 ||
                          strcasecmp(tok, "-inf") == 0)) {
            /* promtool's special values: values that every input skips
             * (not finite), so samples that are not there, N+1 of them. */
            a = NAN;
        } else {
            /* a, a+b, a-b: the operator is the last +/- not at the start
             * and not part of an exponent. */
            char *op = NULL;
            for (char *p = tok + 1; *p; p++)
                if ((*p == '+' || *p == '-') && p[-1] != 'e' && p[-1] != 'E')
                    op = p;
            if (op && x) {
                char sign = *op;
                *op = '\0';
                if (util_parse_double(tok, &a) < 0 ||
                    util_parse_double(op + 1, &b) < 0) {
                    snprintf(why, whylen, "bad value \"%s%c%s\"", tok, sign,
                             op + 1);
                    rc = -1;
                    break;
                }
                if (sign == '-')
                    b = -b;
            } else if (util_parse_double(tok, &a) < 0) {
                snprintf(why, whylen, "bad value \"%s\"", tok);
                rc = -1;
                break;
            }
        }
        /* "_xN" is N missing samples; "a+bxN" is N+1 values. */
        size_t k = missing ? (x ? (size_t)count : 1) : (size_t)count + 1;
        if (n + k > 10000000) {
            snprintf(why, whylen, "too many values");
            rc = -1;
            break;
        }
        if (n + k > cap) {
            cap = (n + k) * 2;
            v = xrealloc(v, cap * sizeof(double));
        }
        for (size_t i = 0; i < k; i++)
            v[n++] = missing ? NAN : a + b * (double)i;
    }
    free(dup);
    if (rc < 0) {
        free(v);
        return -1;
    }
    *out = v;
    *nout = n;
    return 0;
}

static int parse_series_name(const char *spec, struct tseries *t, char *why,
                             size_t whylen)
{
    return selector_parse(spec, &t->metric, &t->labels, &t->nlabels, why,
                          whylen);
}

static void tseries_free(struct tseries *t)
{
    selector_free(t->metric, t->labels, t->nlabels);
    free(t->vals);
}

static void expect_free(struct texpect *x)
{
    for (size_t i = 0; i < x->n; i++) {
        for (size_t j = 0; j < x->alerts[i].nlabels; j++) {
            free((char *)x->alerts[i].labels[j].name);
            free((char *)x->alerts[i].labels[j].value);
        }
        free(x->alerts[i].labels);
    }
    free(x->alerts);
}

/* ---- the actual firing set ---- */

struct actual {
    struct buf text; /* "{a=b, c=d} severity" lines, for failure output */
    const struct texpect *x;
    bool *matched;
    size_t nactual;
    size_t unexpected;
};

/* The listed labels, exactly, where a label with an empty value is no
 * label (as in Prometheus and promtool): a `by` label the series lacks may
 * be listed as "" or left out. */
static bool alert_matches(const struct texpect_alert *a,
                          const struct label *labels, size_t n,
                          enum severity sev)
{
    size_t listed = 0, actual = 0;

    if (a->sev != sev)
        return false;
    for (size_t i = 0; i < a->nlabels; i++) {
        const char *v = labels_get(labels, n, a->labels[i].name);

        if (a->labels[i].value[0] == '\0') {
            if (v != NULL && v[0] != '\0')
                return false;
            continue;
        }
        listed++;
        if (v == NULL || strcmp(v, a->labels[i].value) != 0)
            return false;
    }
    for (size_t i = 0; i < n; i++)
        if (labels[i].value[0] != '\0')
            actual++;
    return listed == actual;
}

static void describe(struct buf *b, const struct label *labels, size_t n,
                     enum severity sev)
{
    buf_adds(b, "      {");
    for (size_t i = 0; i < n; i++)
        buf_printf(b, "%s%s: %s", i ? ", " : "", labels[i].name,
                   labels[i].value);
    buf_printf(b, "%sseverity: %s}\n", n ? ", " : "", severity_name(sev));
}

static int actual_cb(void *ctx, const char *rule, const struct label *labels,
                     size_t nlabels, enum severity sev, double value,
                     bool has_value, double since, const char *fp)
{
    struct actual *a = ctx;
    bool found = false;

    (void)rule;
    (void)value;
    (void)has_value;
    (void)since;
    (void)fp;
    a->nactual++;
    describe(&a->text, labels, nlabels, sev);
    for (size_t i = 0; i < a->x->n; i++) {
        if (!a->matched[i] &&
            alert_matches(&a->x->alerts[i], labels, nlabels, sev)) {
            a->matched[i] = true;
            found = true;
            break;
        }
    }
    if (!found)
        a->unexpected++;
    return 0;
}

/* ---- reading a test file ---- */

struct tfile {
    const char *path;
    int failures;
    int passed;
    int errors;
    bool ran;       /* its tests were run (the file and its config loaded) */
    char last[600]; /* the last error, for the FAIL line of its test */
};

static void err_at(struct tfile *tf, int line, int col, const char *msg)
{
    snprintf(tf->last, sizeof(tf->last), "%s:%d:%d: %s", tf->path, line, col,
             msg);
    fprintf(stderr, "%s\n", tf->last);
    tf->errors++;
}

static void node_err(struct tfile *tf, const struct cfg_node *n,
                     const char *msg)
{
    err_at(tf, n ? n->line : 0, n ? n->col : 0, msg);
}

/* Each key of map not in allowed is an error (a typo such as `intervall`
 * must not quietly test with the default): how many there were. */
static int check_keys(struct tfile *tf, const struct cfg_node *map,
                      const char *const *allowed, const char *what)
{
    struct cfg_diag d;
    size_t bad;

    cfg_diag_init(&d, tf->path);
    config_check_keys(map, allowed, what, &d);
    for (size_t i = 0; i < d.nmsgs; i++) {
        snprintf(tf->last, sizeof(tf->last), "%s", d.msgs[i]);
        fprintf(stderr, "%s\n", tf->last);
    }
    bad = d.count;
    tf->errors += (int)bad;
    cfg_diag_cleanup(&d);
    return (int)bad;
}

static int read_expect(struct tfile *tf, const struct cfg_node *item,
                       struct texpect *x)
{
    const struct cfg_node *at = cfg_get(item, "at");
    const struct cfg_node *firing = cfg_get(item, "firing");

    static const char *const keys[] = {"at", "firing", NULL};

    memset(x, 0, sizeof(*x));
    x->line = item->line;
    if (check_keys(tf, item, keys, "an expect entry") > 0)
        return -1;
    if (item->type != CFG_MAP || at == NULL || at->type != CFG_SCALAR ||
        util_parse_duration(at->scalar, &x->at) < 0) {
        node_err(tf, at ? at : item, "expect needs `at: DURATION`");
        return -1;
    }
    if (firing == NULL || firing->type != CFG_SEQ) {
        node_err(tf, firing ? firing : item,
                 "expect needs `firing: [...]` (a list)");
        return -1;
    }
    x->alerts = xcalloc(firing->n ? firing->n : 1, sizeof(*x->alerts));
    for (size_t i = 0; i < firing->n; i++) {
        const struct cfg_node *m = firing->items[i];
        struct texpect_alert *a = &x->alerts[x->n++];
        bool have_sev = false;
        if (m->type != CFG_MAP) {
            node_err(tf, m, "each firing alert is a map of labels");
            return -1;
        }
        a->labels = xcalloc(m->n ? m->n : 1, sizeof(struct label));
        a->sev = SEV_WARNING;
        for (size_t j = 0; j < m->n; j++) {
            const struct cfg_node *v = m->items[j];
            if (v->type != CFG_SCALAR) {
                node_err(tf, v, "label values are strings");
                return -1;
            }
            if (strcmp(m->keys[j], "severity") == 0) {
                if (severity_parse(v->scalar, &a->sev) < 0) {
                    node_err(
                        tf, v,
                        "unknown severity (expected info, warning, critical)");
                    return -1;
                }
                have_sev = true;
                continue;
            }
            a->labels[a->nlabels].name = xstrdup(m->keys[j]);
            a->labels[a->nlabels++].value = xstrdup(v->scalar);
        }
        if (!have_sev) {
            node_err(tf, m, "expected alert needs a severity");
            return -1;
        }
    }
    return 0;
}

static int run_test_body(struct tfile *tf, const struct config *cfg,
                         const struct cfg_node *t, const char *tname);

/* One test: PASS or FAIL on stdout; a test the file cannot give (a bad
 * key, series or expectation) is a FAIL too, with its first error, which
 * stderr shows in full. */
static void run_test(struct tfile *tf, const struct config *cfg,
                     const struct cfg_node *t)
{
    static const char *const keys[] = {"name", "interval", "series", "expect",
                                       NULL};
    const struct cfg_node *name = cfg_get(t, "name");
    const char *tname =
        name && name->type == CFG_SCALAR ? name->scalar : "(unnamed)";
    int errors = tf->errors;

    if (check_keys(tf, t, keys, "a test") == 0)
        run_test_body(tf, cfg, t, tname);
    if (tf->errors > errors) {
        printf("FAIL %s: invalid test: %s\n", tname, tf->last);
        tf->errors = errors; /* one failed test, however many errors */
        tf->failures++;
    }
}

static int run_test_body(struct tfile *tf, const struct config *cfg,
                         const struct cfg_node *t, const char *tname)
{
    const struct cfg_node *interval = cfg_get(t, "interval");
    const struct cfg_node *series = cfg_get(t, "series");
    const struct cfg_node *expect = cfg_get(t, "expect");
    double step = 60;
    struct tseries *ts = NULL;
    struct texpect *xs = NULL;
    size_t nts = 0, nxs = 0, maxn = 0, *order = NULL;
    struct engine *eng = NULL;
    bool ok = true;
    char why[256];
    struct buf report;

    buf_init(&report, 1 << 20);
    if (t->type != CFG_MAP) {
        node_err(tf, t, "each test is a map");
        return -1;
    }
    if (interval &&
        (interval->type != CFG_SCALAR ||
         util_parse_duration(interval->scalar, &step) < 0 || step <= 0)) {
        node_err(tf, interval, "interval must be a duration such as 30s");
        return -1;
    }
    if (series == NULL || series->type != CFG_SEQ) {
        node_err(tf, series ? series : t, "test needs `series: [...]`");
        return -1;
    }
    if (expect == NULL || expect->type != CFG_SEQ) {
        node_err(tf, expect ? expect : t, "test needs `expect: [...]`");
        return -1;
    }
    ts = xcalloc(series->n ? series->n : 1, sizeof(*ts));
    for (size_t i = 0; i < series->n; i++) {
        static const char *const skeys[] = {"metric", "values", NULL};
        const struct cfg_node *s = series->items[i];
        const struct cfg_node *m = cfg_get(s, "metric");
        const struct cfg_node *v = cfg_get(s, "values");
        if (check_keys(tf, s, skeys, "a series") > 0) {
            ok = false;
            break;
        }
        if (m == NULL || m->type != CFG_SCALAR || v == NULL ||
            v->type != CFG_SCALAR) {
            node_err(tf, s, "series needs `metric` and `values`");
            ok = false;
            break;
        }
        nts++;
        if (parse_series_name(m->scalar, &ts[i], why, sizeof(why)) < 0) {
            char msg[400];
            snprintf(msg, sizeof(msg), "bad series \"%s\": %s", m->scalar, why);
            node_err(tf, m, msg);
            ok = false;
            break;
        }
        if (expand_values(v->scalar, &ts[i].vals, &ts[i].nvals, why,
                          sizeof(why)) < 0) {
            node_err(tf, v, why);
            ok = false;
            break;
        }
        if (ts[i].nvals > maxn)
            maxn = ts[i].nvals;
    }
    if (ok) {
        xs = xcalloc(expect->n ? expect->n : 1, sizeof(*xs));
        for (size_t i = 0; i < expect->n && ok; i++) {
            if (read_expect(tf, expect->items[i], &xs[i]) < 0)
                ok = false;
            nxs++;
        }
    }
    if (!ok)
        goto done;

    /* Each `at` is the state after every sample at or before it, in
     * whatever order the file lists them: replay once per expectation,
     * taken in time order (a stable sort keeps equal times as listed). */
    order = xcalloc(nxs ? nxs : 1, sizeof(*order));
    for (size_t k = 0; k < nxs; k++) {
        size_t j = k;
        while (j > 0 && xs[order[j - 1]].at > xs[k].at) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = k;
    }
    eng = engine_new(cfg);
    {
        size_t idx = 0; /* next sample index to feed */
        for (size_t o = 0; o < nxs; o++) {
            size_t k = order[o];
            struct actual a;
            while (idx < maxn &&
                   (double)idx * step <= xs[k].at + UTIL_TIME_EPS) {
                for (size_t i = 0; i < nts; i++) {
                    struct sample smp;
                    if (idx >= ts[i].nvals || isnan(ts[i].vals[idx]))
                        continue;
                    smp.metric = ts[i].metric;
                    smp.labels = ts[i].labels;
                    smp.nlabels = ts[i].nlabels;
                    smp.value = ts[i].vals[idx];
                    smp.ts = (double)idx * step;
                    engine_feed(eng, &smp, NULL, NULL);
                }
                idx++;
            }
            engine_advance(eng, xs[k].at, NULL, NULL);
            memset(&a, 0, sizeof(a));
            buf_init(&a.text, 1 << 20);
            a.x = &xs[k];
            a.matched = xcalloc(xs[k].n ? xs[k].n : 1, sizeof(bool));
            engine_foreach_alert(eng, actual_cb, &a);
            bool pass = a.unexpected == 0;
            for (size_t i = 0; i < xs[k].n; i++)
                pass = pass && a.matched[i];
            if (!pass) {
                char d[32];
                ok = false;
                util_format_duration(xs[k].at, d, sizeof(d));
                buf_printf(&report, "  at %s (%s:%d):\n    expected firing:\n",
                           d, tf->path, xs[k].line);
                if (xs[k].n == 0)
                    buf_adds(&report, "      (none)\n");
                for (size_t i = 0; i < xs[k].n; i++)
                    describe(&report, xs[k].alerts[i].labels,
                             xs[k].alerts[i].nlabels, xs[k].alerts[i].sev);
                buf_adds(&report, "    actual firing:\n");
                buf_adds(&report,
                         a.nactual ? buf_str(&a.text) : "      (none)\n");
            }
            free(a.matched);
            buf_cleanup(&a.text);
        }
    }
    if (ok) {
        printf("PASS %s\n", tname);
        tf->passed++;
    } else {
        printf("FAIL %s\n%s", tname, buf_str(&report));
        tf->failures++;
    }
done:
    free(order);
    engine_free(eng);
    for (size_t i = 0; i < nts; i++)
        tseries_free(&ts[i]);
    free(ts);
    for (size_t i = 0; i < nxs; i++)
        expect_free(&xs[i]);
    free(xs);
    buf_cleanup(&report);
    return ok ? 0 : -1;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f;
    struct stat sb;
    char *text;

    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        fprintf(stderr, "tocsin test: %s: is a directory\n", path);
        return NULL;
    }
    f = fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, "tocsin test: %s: %s\n", path, strerror(errno));
        return NULL;
    }
    text = xmalloc((size_t)sb.st_size + 1);
    *len = fread(text, 1, (size_t)sb.st_size, f);
    text[*len] = '\0';
    fclose(f);
    return text;
}

static void run_file(const char *path, const char *cfg_override,
                     struct tfile *tf)
{
    struct cfg_diag d;
    struct cfg_node *root;
    const struct cfg_node *cpath, *tests;
    struct config *cfg = NULL;
    char *text, *dirbuf, *cfgfile = NULL;
    size_t len = 0;

    tf->path = path;
    text = read_file(path, &len);
    if (text == NULL) {
        tf->errors++;
        return;
    }
    cfg_diag_init(&d, path);
    root = cfg_parse(text, len, &d);
    free(text);
    /* A parse error that still gave a tree (a duplicate key) fails the
     * file too: the test would run without what was dropped. */
    if (root == NULL || root->type != CFG_MAP || d.count > 0) {
        if (root && d.count == 0)
            cfg_error_at(&d, root,
                         "a test file is a map with `config` and `tests`");
        cfg_diag_print(&d, stderr);
        cfg_diag_cleanup(&d);
        cfg_node_free(root);
        tf->errors++;
        return;
    }
    {
        static const char *const keys[] = {"config", "tests", NULL};
        if (cfg_check_keys(root, keys, NULL, &d) > 0) {
            cfg_diag_print(&d, stderr);
            tf->errors++;
            goto out;
        }
    }
    cpath = cfg_get(root, "config");
    tests = cfg_get(root, "tests");
    if (cfg_override == NULL && cpath && cpath->type != CFG_SCALAR) {
        node_err(tf, cpath, "`config` must be a path");
        goto out;
    }
    if (tests == NULL || tests->type != CFG_SEQ) {
        node_err(tf, tests ? tests : root, "test file needs `tests: [...]`");
        goto out;
    }
    if (cfg_override) {
        cfgfile = xstrdup(cfg_override);
    } else if (cpath == NULL) {
        cfgfile = xstrdup(CLI_DEFAULT_CONFIG);
    } else if (cpath->scalar[0] == '/') {
        cfgfile = xstrdup(cpath->scalar);
    } else {
        struct buf b;
        dirbuf = xstrdup(path);
        buf_init(&b, 8192);
        buf_printf(&b, "%s/%s", dirname(dirbuf), cpath->scalar);
        cfgfile = buf_steal(&b);
        free(dirbuf);
    }
    cfg = cli_load_config(cfgfile);
    if (cfg == NULL) {
        tf->errors++;
        goto out;
    }
    tf->ran = true;
    for (size_t i = 0; i < tests->n; i++)
        run_test(tf, cfg, tests->items[i]);
out:
    config_free(cfg);
    free(cfgfile);
    cfg_node_free(root);
    cfg_diag_cleanup(&d);
}

int cmd_test(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *cfg_override = NULL;
    int opt, passed = 0, failed = 0, errors = 0;

    opterr = 0;
    optind = 1;
    while ((opt = getopt_long(argc, argv, ":c:h", opts, NULL)) != -1) {
        switch (opt) {
        case 'c':
            cfg_override = optarg;
            break;
        case 'h':
            printf("usage: tocsin test [-c CONFIG] FILE...\n"
                   "Run rule unit tests (promtool-style series and expected\n"
                   "firing sets). -c overrides each file's `config:`; a file\n"
                   "without `config:` uses " CLI_DEFAULT_CONFIG "\n"
                   "(in the current directory).\n"
                   "\n"
                   "  -c CONFIG   the config every file's tests run against\n"
                   "  --help      this text\n");
            return 0;
        default:
            return cli_getopt_error("test", opt, argv);
        }
    }
    if (optind >= argc)
        return cli_usage_error("test", "no test file given");
    for (int i = optind; i < argc; i++) {
        struct tfile tf = {0};
        run_file(argv[i], cfg_override, &tf);
        /* A file that could not run (unreadable, not a test file, its
         * config broken) is a FAIL line too, not only errors on stderr. */
        if (!tf.ran && tf.errors > 0)
            printf("FAIL %s: cannot run the file's tests (%s)\n", argv[i],
                   tf.last[0] ? tf.last : "its errors are on stderr");
        passed += tf.passed;
        failed += tf.failures;
        errors += tf.errors;
    }
    printf("%d passed, %d failed\n", passed, failed + errors);
    return failed || errors ? EXIT_WORK : 0;
}
