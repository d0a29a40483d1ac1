/* cmd_silence.c - `tocsin silence add|list|expire`: manage the silences kept
 * in the store (SPEC section 6). Silences use wall-clock time; the daemon
 * and eval read them through store_silences_foreach. Called from main.c. */
#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "../common/buf.h"
#include "../common/util.h"
#include "../rules/matcher.h"
#include "cli_view.h"
#include "cmd.h"

static const char silence_usage[] =
    "usage: tocsin silence add --match MATCHERS [--for 1h] [--start TIME] "
    "[--comment TEXT] [--by USER]\n"
    "       tocsin silence list [--all] [--json]\n"
    "       tocsin silence expire ID\n"
    "\n"
    "Silences suppress the notifications of the alerts they match while\n"
    "active; events are still recorded (marked silenced).\n"
    "\n"
    "  -c FILE          config file (default tocsin.yaml); gives the store\n"
    "  --store PATH     the store (overrides the config's store)\n"
    "  --match M        label matchers: 'alertname=x,service=~api|web,"
    "env!=dev'\n"
    "                   (also in braces, as Prometheus writes them:\n"
    "                   '{alertname=\"x\",env!=\"dev\"}'); repeated, all\n"
    "                   of them must match\n"
    "  --for DURATION   how long the silence lasts (default 1h)\n"
    "  --start TIME     when it starts: RFC 3339, a date or Unix seconds "
    "(default\n"
    "                   now); eval checks silences at each event's own\n"
    "                   time and at the wall clock, so a silence active\n"
    "                   now also applies to a replayed stream\n"
    "  --comment TEXT   why\n"
    "  --by USER        who (default $USER, else the login name)\n"
    "  --all            list expired silences too\n"
    "  --json           list as one JSON array\n"
    "  --help           this text\n";

struct silence_args {
    const char *cfg_path, *store_path;
    const char *match, *dur, *comment, *by, *start;
    int all, json;
};

/* --start: Unix seconds, an RFC 3339 time or a date (its midnight UTC).
 * Returns 0 or -1. */
static int parse_start(const char *arg, double *out)
{
    char *end = NULL;
    double v;

    if (*arg == '\0')
        return -1;
    v = strtod(arg, &end);
    if (end && *end == '\0' && v >= 0 && v < 1e11) {
        *out = v;
        return 0;
    }
    return cli_parse_time(arg, out);
}

/* --by's default: $USER, else the login name of the process' user. */
static const char *who(void)
{
    const char *u = getenv("USER");
    const struct passwd *pw;

    if (u != NULL && *u != '\0')
        return u;
    pw = getpwuid(getuid());
    return pw != NULL && pw->pw_name != NULL ? pw->pw_name : "";
}

static int silence_add(const struct silence_args *a)
{
    struct matcher_set ms;
    struct store_silence si = {0};
    struct err e = {0};
    struct store *s;
    char why[256];
    double dur, now;
    int64_t id = 0;

    if (a->match == NULL)
        return cli_usage_error("silence", "add needs --match");
    if (matcher_set_parse_silence(&ms, a->match, why, sizeof(why)) < 0)
        return cli_usage_error("silence", "bad --match \"%s\": %s", a->match,
                               why);
    matcher_set_cleanup(&ms);
    if (util_parse_duration(a->dur, &dur) < 0 || dur <= 0)
        return cli_usage_error(
            "silence", "bad --for \"%s\" (a duration such as 2h)", a->dur);
    now = util_now_ms(); /* times shown to the ms */
    if (a->start && parse_start(a->start, &now) < 0)
        return cli_usage_error("silence",
                               "bad --start \"%s\" (RFC 3339 or Unix "
                               "seconds)",
                               a->start);
    s = cli_view_open_store(a->cfg_path, a->store_path, STORE_RW);
    if (s == NULL)
        return EXIT_WORK;
    si.matchers = a->match;
    si.starts = now;
    si.ends = now + dur;
    si.comment = a->comment ? a->comment : "";
    si.created_by = a->by ? a->by : who();
    if (store_silence_add(s, &si, &id, &e) < 0) {
        store_close(s);
        fprintf(stderr, "tocsin silence: %s\n", e.msg);
        return EXIT_WORK;
    }
    store_close(s);
    printf("%lld\n", (long long)id);
    return 0;
}

static int silence_table_row(void *ctx, const struct store_silence *si)
{
    struct cli_table *t = ctx;
    char id[32], starts[40], ends[40];
    const char *cells[5] = {id, si->matchers, starts, ends, si->comment};

    snprintf(id, sizeof(id), "%lld", (long long)si->id);
    util_format_rfc3339(si->starts, starts, sizeof(starts));
    util_format_rfc3339(si->ends, ends, sizeof(ends));
    cli_table_add(t, cells);
    return 0;
}

struct silence_json {
    cJSON *arr;
    double now;
};

static int silence_json_row(void *ctx, const struct store_silence *si)
{
    struct silence_json *sj = ctx;
    cJSON *o = cJSON_CreateObject();

    cJSON_AddNumberToObject(o, "id", (double)si->id);
    cJSON_AddStringToObject(o, "matchers", si->matchers);
    cJSON_AddNumberToObject(o, "starts", si->starts);
    cJSON_AddNumberToObject(o, "ends", si->ends);
    cJSON_AddStringToObject(o, "comment", si->comment);
    cJSON_AddStringToObject(o, "created_by", si->created_by);
    cJSON_AddBoolToObject(o, "active",
                          si->starts <= sj->now && sj->now < si->ends);
    cJSON_AddItemToArray(sj->arr, o);
    return 0;
}

/* Without --all, list the silences that still matter: active ones and
 * those set to start later, not the expired. */
struct unexpired {
    double now;
    store_silence_fn fn;
    void *ctx;
};

static int unexpired_row(void *ctx, const struct store_silence *si)
{
    struct unexpired *u = ctx;

    return si->ends <= u->now ? 0 : u->fn(u->ctx, si);
}

static int list_rows(struct store *s, bool all, double now, store_silence_fn fn,
                     void *ctx, struct err *e)
{
    struct unexpired u = {now, fn, ctx};

    if (all)
        return store_silences_foreach(s, -1, fn, ctx, e);
    return store_silences_foreach(s, -1, unexpired_row, &u, e);
}

static int silence_list(const struct silence_args *a)
{
    static const char *const headers[] = {"ID", "MATCHERS", "STARTS", "ENDS",
                                          "COMMENT"};
    struct err e = {0};
    struct store *s;
    double now = util_now();
    int rc;

    s = cli_view_open_store(a->cfg_path, a->store_path, STORE_RO);
    if (s == NULL)
        return EXIT_WORK;
    if (a->json) {
        struct silence_json sj = {cJSON_CreateArray(), now};

        rc = list_rows(s, a->all, now, silence_json_row, &sj, &e);
        if (rc == 0) {
            char *out = cJSON_PrintUnformatted(sj.arr);
            printf("%s\n", out ? out : "[]");
            cJSON_free(out);
        }
        cJSON_Delete(sj.arr);
    } else {
        struct cli_table t;

        cli_table_init(&t, 5, headers);
        rc = list_rows(s, a->all, now, silence_table_row, &t, &e);
        if (rc == 0 && t.nrows == 0)
            printf(a->all ? "no silences\n"
                          : "no active or pending silences\n");
        else if (rc == 0)
            cli_table_print(&t, stdout);
        cli_table_cleanup(&t);
    }
    store_close(s);
    if (rc < 0) {
        fprintf(stderr, "tocsin silence: %s\n", e.msg);
        return EXIT_WORK;
    }
    return 0;
}

static int silence_expire(const struct silence_args *a, const char *idtext)
{
    struct err e = {0};
    struct store *s;
    char *end = NULL;
    long long id;
    int rc;

    id = strtoll(idtext, &end, 10);
    if (end == idtext || *end != '\0' || id <= 0)
        return cli_usage_error("silence", "bad silence id \"%s\"", idtext);
    /* Expiring needs a store that exists: opened for reading first, it
     * says so instead of creating an empty one. */
    s = cli_view_open_store(a->cfg_path, a->store_path, STORE_RO);
    if (s == NULL)
        return EXIT_WORK;
    store_close(s);
    s = cli_view_open_store(a->cfg_path, a->store_path, STORE_RW);
    if (s == NULL)
        return EXIT_WORK;
    rc = store_silence_expire(s, id, util_now_ms(), &e);
    store_close(s);
    if (rc < 0) {
        fprintf(stderr, "tocsin silence: %s\n", e.msg);
        return EXIT_WORK;
    }
    if (rc == 1) {
        fprintf(stderr, "tocsin silence: no active silence with id %lld\n", id);
        return EXIT_WORK;
    }
    printf("silence %lld expired\n", id);
    return 0;
}

/* Append one --match value to the set in b: its braces ("{a=b}") off, a
 * comma before it when b holds one already. */
static void match_add(struct buf *b, const char *m)
{
    size_t n;

    while (*m == ' ' || *m == '\t')
        m++;
    n = strlen(m);
    while (n > 0 && (m[n - 1] == ' ' || m[n - 1] == '\t'))
        n--;
    if (n >= 2 && m[0] == '{' && m[n - 1] == '}') {
        m++;
        n -= 2;
    }
    if (b->len > 0)
        buf_addc(b, ',');
    buf_add(b, m, n);
}

static int silence_main(int argc, char **argv, struct buf *matches)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"store", required_argument, NULL, 's'},
        {"match", required_argument, NULL, 'm'},
        {"for", required_argument, NULL, 'f'},
        {"start", required_argument, NULL, 'S'},
        {"comment", required_argument, NULL, 'C'},
        {"by", required_argument, NULL, 'b'},
        {"all", no_argument, NULL, 'a'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct silence_args a = {.cfg_path = NULL, .dur = "1h"};
    int c, nadd = 0, nlist = 0;
    const char *sub;

    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":c:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            a.cfg_path = optarg;
            break;
        case 's':
            if (cli_store_opt("silence", optarg, &a.store_path) >= 0)
                return EXIT_USAGE;
            break;
        case 'm':
            /* Several --match options all hold (amtool takes several
             * matchers too): one comma-separated set. */
            match_add(matches, optarg);
            a.match = buf_str(matches);
            nadd++;
            break;
        case 'f':
            a.dur = optarg;
            nadd++;
            break;
        case 'S':
            a.start = optarg;
            nadd++;
            break;
        case 'C':
            a.comment = optarg;
            nadd++;
            break;
        case 'b':
            a.by = optarg;
            nadd++;
            break;
        case 'a':
            a.all = 1;
            nlist++;
            break;
        case 'j':
            a.json = 1;
            nlist++;
            break;
        case 'h':
            fputs(silence_usage, stdout);
            return 0;
        case ':':
            return cli_usage_error("silence", "option \"%s\" needs a value",
                                   argv[optind - 1]);
        default:
            return cli_usage_error("silence", "bad option \"%s\"",
                                   argv[optind - 1]);
        }
    }
    if (optind >= argc)
        return cli_usage_error("silence", "expected add, list or expire");
    sub = argv[optind++];
    if (strcmp(sub, "add") == 0) {
        if (nlist)
            return cli_usage_error("silence", "--all/--json are for list");
        if (optind < argc)
            return cli_usage_error("silence", "unexpected argument \"%s\"",
                                   argv[optind]);
        return silence_add(&a);
    }
    if (strcmp(sub, "list") == 0) {
        if (nadd)
            return cli_usage_error("silence",
                                   "--match/--for/--start/--comment/--by are "
                                   "for add");
        if (optind < argc)
            return cli_usage_error("silence", "unexpected argument \"%s\"",
                                   argv[optind]);
        return silence_list(&a);
    }
    if (strcmp(sub, "expire") == 0) {
        if (nadd || nlist)
            return cli_usage_error("silence", "expire takes only an ID");
        if (optind + 1 != argc)
            return cli_usage_error("silence", "expire takes one ID");
        return silence_expire(&a, argv[optind]);
    }
    return cli_usage_error("silence", "unknown subcommand \"%s\"", sub);
}

int cmd_silence(int argc, char **argv)
{
    struct buf matches;
    int rc;

    buf_init(&matches, 0);
    rc = silence_main(argc, argv, &matches);
    buf_cleanup(&matches);
    return rc;
}
