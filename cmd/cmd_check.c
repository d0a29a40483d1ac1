/* cmd_check.c - `tocsin check [-c FILE]`: load and validate the config,
 * print every error as FILE:LINE:COL on stderr (exit 1) or a one-line
 * summary on stdout (exit 0). Called from main.c. */
#include <stdio.h>
#include <string.h>

#include "cmd.h"

static void check_usage(FILE *f)
{
    fprintf(f, "usage: tocsin check [-c FILE]\n\n"
               "Validate the config (default tocsin.yaml): every error is\n"
               "printed as FILE:LINE:COL: message; exit 1 if any.\n"
               "\n"
               "  -c FILE   the config to check (default tocsin.yaml)\n"
               "  --help    this text\n");
}

static const char *plural(size_t n, const char *one, const char *many)
{
    return n == 1 ? one : many;
}

int cmd_check(int argc, char **argv)
{
    const char *path = CLI_DEFAULT_CONFIG;
    int rc;
    struct cfg_diag d;
    struct config *c;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            check_usage(stdout);
            return 0;
        } else if ((rc = cli_config_arg("check", argc, argv, &i, &path)) != 0) {
            if (rc != 1)
                return rc;
        } else if (argv[i][0] == '-') {
            return cli_usage_error("check", "unknown option \"%s\"", argv[i]);
        } else {
            return cli_usage_error("check", "unexpected argument \"%s\"",
                                   argv[i]);
        }
    }
    cfg_diag_init(&d, path);
    c = config_load(path, &d);
    if (c == NULL) {
        cfg_diag_print(&d, stderr);
        cfg_diag_cleanup(&d);
        return EXIT_WORK;
    }
    printf("%s: ok (%zu %s, %zu %s, %zu %s, %zu %s)\n", path, c->nrules,
           plural(c->nrules, "rule", "rules"), c->nnotifiers,
           plural(c->nnotifiers, "notifier", "notifiers"), c->nroutes,
           plural(c->nroutes, "route", "routes"), c->ninputs,
           plural(c->ninputs, "input", "inputs"));
    config_free(c);
    cfg_diag_cleanup(&d);
    return 0;
}
