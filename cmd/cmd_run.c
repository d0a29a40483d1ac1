/* cmd_run.c - `tocsin run [-c FILE]`: parse the command line and hand over
 * to the daemon (daemon/daemon.c). Exit 0 after SIGTERM/SIGINT, 1 when the
 * config or the store cannot be used, 2 on a usage error. */
#include <stdio.h>
#include <string.h>

#include "../daemon/daemon.h"
#include "cmd.h"

static void run_help(FILE *f)
{
    fprintf(f, "usage: tocsin run [-c FILE]\n\n"
               "Run the daemon: ingest (HTTP, scrape, StatsD, files), evaluate "
               "the rules,\nrecord alerts in the store and deliver "
               "notifications.\n\n"
               "  -c FILE   config file (default tocsin.yaml)\n"
               "  --help    this text\n\n"
               "Signals: SIGHUP reloads the config (a bad one is reported and "
               "the old one\nkeeps running); SIGTERM/SIGINT stop cleanly "
               "(exit 0).\n");
}

int cmd_run(int argc, char **argv)
{
    const char *path = CLI_DEFAULT_CONFIG;
    int rc;
    int i;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            run_help(stdout);
            return 0;
        } else if ((rc = cli_config_arg("run", argc, argv, &i, &path)) != 0) {
            if (rc != 1)
                return rc;
        } else {
            return cli_usage_error("run", "unknown argument \"%s\"", argv[i]);
        }
    }
    return daemon_run(path);
}
