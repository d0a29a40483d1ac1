/* cmd_report.c - `tocsin report`: the noisy-alert report (SPEC section 9)
 * over the store's history, printed in one of five formats, written to a
 * file, or posted through a configured notifier. Called from main.c's
 * subcommand table; the figures and renderings live in report/. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/util.h"
#include "../notifiers/dispatch.h"
#include "../report/report.h"
#include "cmd.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: tocsin report [--since 7d] [--until T] [--short 5m]\n"
            "                     [--format text|markdown|json|csv|html]\n"
            "                     [-o FILE] [--post NOTIFIER] [-c FILE]\n"
            "                     [--store PATH]\n"
            "\n"
            "Rank the rules by noise over a period of the alert history:\n"
            "firings, escalations, resolutions, notifications, time firing,\n"
            "short-lived and flapping firings, fires per day, noise score.\n"
            "\n"
            "  --since T       start: a duration back from now (7d, 24h), an\n"
            "                  RFC 3339 time, a date (UTC) or Unix seconds\n"
            "                  (default: 7 days before the end)\n"
            "  --until T       end, same forms (default now)\n"
            "  --short D       a firing resolved within D is short-lived; one\n"
            "                  starting within D of the previous resolve is\n"
            "                  flapping (default 5m)\n"
            "  --format F      text (default), markdown, json, csv or html\n"
            "  -o FILE         write the report to FILE instead of stdout "
            "(- is stdout)\n"
            "  --post NAME     send the report through the notifier NAME and\n"
            "                  print what it answered (exit 1 if it failed)\n"
            "  -c FILE         config file (default tocsin.yaml)\n"
            "  --store PATH    store file (default: the config's store)\n"
            "  --help          this text\n");
}

static int write_out(const char *path, const char *data, size_t len)
{
    FILE *f;
    int bad, err = 0;

    /* "-" is stdout too, as for most tools. */
    if (path == NULL || strcmp(path, "-") == 0) {
        if (fwrite(data, 1, len, stdout) != len || fflush(stdout) != 0) {
            perror("tocsin report: stdout");
            return -1;
        }
        return 0;
    }
    f = fopen(path, "w");
    if (f == NULL) {
        fprintf(stderr, "tocsin report: %s: ", path);
        perror(NULL);
        return -1;
    }
    bad = fwrite(data, 1, len, f) != len || fflush(f) != 0;
    err = errno;
    if (fclose(f) != 0 && !bad) {
        bad = 1;
        err = errno;
    }
    if (bad) {
        fprintf(stderr, "tocsin report: cannot write the output: %s: %s\n",
                path, strerror(err));
        return -1;
    }
    return 0;
}

static int post(const struct config *cfg, const char *name,
                const struct report *r)
{
    char account[1024] = "";
    struct err e = {0};
    char *payload = NULL;
    int idx = config_notifier_index(cfg, name);
    int rc;

    if (idx < 0) {
        fprintf(stderr, "tocsin report: no notifier named \"%s\" in %s\n", name,
                cfg->path);
        return EXIT_WORK;
    }
    if (report_payload_json(r, &payload, &e) < 0) {
        fprintf(stderr, "tocsin report: %s\n", e.msg);
        return EXIT_WORK;
    }
    rc = dispatcher_send_retrying(&cfg->notifiers[idx], payload, "report",
                                  account, sizeof(account), &e);
    free(payload);
    if (rc != 0) {
        fprintf(stderr, "tocsin report: %s: not delivered: %s\n", name,
                e.set ? e.msg : account);
        if (e.set && account[0] && strcmp(account, e.msg) != 0)
            fprintf(stderr, "%s\n", account);
        return EXIT_WORK;
    }
    printf("%s: %s\n", name, account[0] ? account : "delivered");
    return 0;
}

int cmd_report(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"store", required_argument, NULL, 's'},
        {"since", required_argument, NULL, 'S'},
        {"until", required_argument, NULL, 'U'},
        {"short", required_argument, NULL, 'T'},
        {"format", required_argument, NULL, 'f'},
        {"output", required_argument, NULL, 'o'},
        {"post", required_argument, NULL, 'p'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *cfgpath = CLI_DEFAULT_CONFIG, *storepath = NULL,
               *outpath = NULL;
    const char *since_s = NULL, *until_s = NULL, *post_to = NULL;
    bool cfg_given = false;
    double now = util_now(), since, until = now, short_s = REPORT_DEFAULT_SHORT;
    enum report_format fmt = REPORT_TEXT;
    struct config *cfg = NULL;
    struct store *s = NULL;
    struct report *r = NULL;
    struct err e = {0};
    struct buf b;
    int rc = EXIT_WORK, c;

    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":c:o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'h':
            usage(stdout);
            return 0;
        case 'c':
            cfgpath = optarg;
            cfg_given = true;
            break;
        case 's':
            if (cli_store_opt("report", optarg, &storepath) >= 0)
                return EXIT_USAGE;
            break;
        case 'S':
            since_s = optarg;
            break;
        case 'U':
            until_s = optarg;
            break;
        case 'T':
            if (util_parse_duration(optarg, &short_s) < 0)
                return cli_usage_error("report", "bad --short duration \"%s\"",
                                       optarg);
            break;
        case 'f':
            if (report_format_parse(optarg, &fmt) < 0)
                return cli_usage_error(
                    "report",
                    "unknown format \"%s\" (expected text, markdown, json, "
                    "csv or html)",
                    optarg);
            break;
        case 'o':
            outpath = optarg;
            break;
        case 'p':
            post_to = optarg;
            break;
        case ':':
            return cli_usage_error("report", "%s needs a value",
                                   argv[optind - 1]);
        default:
            return cli_usage_error("report", "unknown option \"%s\"",
                                   argv[optind - 1]);
        }
    }
    if (optind < argc)
        return cli_usage_error("report", "unexpected argument \"%s\"",
                               argv[optind]);
    if (until_s != NULL && cli_parse_since(until_s, now, &until) < 0)
        return cli_usage_error("report", "bad --until \"%s\"", until_s);
    /* Without --since, the week before the end: `--until 2026-01-04` alone
     * is the week up to that day. */
    if (since_s == NULL)
        since = until - REPORT_DEFAULT_PERIOD;
    else if (cli_parse_since(since_s, now, &since) < 0)
        return cli_usage_error("report", "bad --since \"%s\"", since_s);
    if (since > until)
        return cli_usage_error("report", "--since is after --until");

    /* The config is needed for the store path and for --post; with
     * --store and no --post it is read only when -c was given. */
    if (post_to != NULL || storepath == NULL || cfg_given) {
        cfg = cli_load_config(cfgpath);
        if (cfg == NULL)
            return EXIT_WORK;
    }
    s = cli_open_store(cfg, storepath, STORE_RO);
    if (s == NULL)
        goto out;
    if (report_compute(s, since, until, short_s, &r, &e) < 0) {
        fprintf(stderr, "tocsin report: %s\n", e.msg);
        goto out;
    }
    if (post_to == NULL || outpath != NULL) {
        buf_init(&b, 0);
        if (report_format(r, fmt, &b) < 0) {
            fprintf(stderr, "tocsin report: report too large\n");
            buf_cleanup(&b);
            goto out;
        }
        if (write_out(outpath, buf_str(&b), b.len) < 0) {
            buf_cleanup(&b);
            goto out;
        }
        buf_cleanup(&b);
    }
    rc = post_to != NULL ? post(cfg, post_to, r) : 0;
out:
    report_free(r);
    store_close(s);
    config_free(cfg);
    return rc;
}
