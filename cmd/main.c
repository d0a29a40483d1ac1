/* main.c - the tocsin binary: dispatches to one subcommand (SPEC section 1). */
#include <curl/curl.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "../common/json_arena.h"
#include "cmd.h"

static const struct {
    const char *name;
    int (*fn)(int, char **);
    const char *help;
} commands[] = {
    {"run", cmd_run,
     "the daemon: ingest, evaluate, persist, notify, serve HTTP"},
    {"check", cmd_check, "validate the config"},
    {"eval", cmd_eval, "replay a metric stream through the rules"},
    {"test", cmd_test, "run rule unit tests"},
    {"parse", cmd_parse, "print the samples a stream yields"},
    {"alerts", cmd_alerts, "the alerts firing now"},
    {"history", cmd_history, "alert events"},
    {"silence", cmd_silence, "manage silences (add|list|expire)"},
    {"report", cmd_report, "the noisy-alert report"},
    {"notify-test", cmd_notify_test,
     "send a sample alert through one notifier"},
    {"version", cmd_version, "version and linked library versions"},
    {NULL, NULL, NULL},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: tocsin COMMAND [-c FILE] [options]\n\ncommands:\n");
    for (int i = 0; commands[i].name; i++)
        fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].help);
    fprintf(
        f, "\nEvery command takes -c FILE (default tocsin.yaml) and --help.\n");
}

/* What a command printed must have reached stdout: events lost to a full
 * disk under `tocsin eval > events.jsonl` are a failure of the work (exit
 * 1), said once here for every command. A reader that went away (`tocsin
 * history | head`) is not worth a message. */
static int output_done(const char *cmd, int rc)
{
    struct pollfd pf = {.fd = fileno(stdout), .events = 0};
    int flushed = fflush(stdout), err = errno;

    /* A write that failed before (its errno long gone) says why too. */
    cli_output_check();
    if (flushed == 0 && cli_output_errno() != 0) {
        flushed = -1;
        err = cli_output_errno();
    }

    /* A command that failed has said why (parse and report tell their
     * own write errors). */
    if (rc != 0 || (flushed == 0 && !ferror(stdout)))
        return rc;
    if (!(poll(&pf, 1, 0) == 1 && (pf.revents & POLLERR)))
        fprintf(stderr, "tocsin %s: cannot write the output%s%s\n", cmd,
                flushed ? ": " : "", flushed ? strerror(err) : "");
    return EXIT_WORK;
}

int main(int argc, char **argv)
{
    int rc;

    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0)
        return output_done("version", cmd_version(1, argv + 1));
    /* libcurl: initialise once before any thread; SIGPIPE off because
     * CURLOPT_NOSIGNAL leaves it to us. */
    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_ALL);
    json_arena_install();
    for (int i = 0; commands[i].name; i++) {
        if (strcmp(argv[1], commands[i].name) == 0) {
            rc = output_done(argv[1], commands[i].fn(argc - 1, argv + 1));
            curl_global_cleanup();
            return rc;
        }
    }
    fprintf(stderr, "tocsin: unknown command \"%s\"\n", argv[1]);
    usage(stderr);
    curl_global_cleanup();
    return EXIT_USAGE;
}
