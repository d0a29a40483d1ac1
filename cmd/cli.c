/* cli.c - helpers shared by the subcommands: config and store opening,
 * usage errors, --since parsing. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "../common/util.h"
#include "cmd.h"

struct config *cli_load_config(const char *path)
{
    struct cfg_diag d;
    struct config *c;

    cfg_diag_init(&d, path);
    c = config_load(path, &d);
    if (c == NULL)
        cfg_diag_print(&d, stderr);
    cfg_diag_cleanup(&d);
    return c;
}

struct store *cli_open_store(const struct config *cfg,
                             const char *path_override, enum store_mode mode)
{
    struct err e = {0};
    const char *path = path_override ? path_override : cfg ? cfg->store : NULL;
    struct store *s;

    if (path == NULL) {
        fprintf(stderr, "tocsin: no store (give --store PATH)\n");
        return NULL;
    }
    s = store_open(path, mode, &e);
    if (s == NULL)
        fprintf(stderr, "tocsin: %s\n", e.msg);
    return s;
}

static int output_errno;

void cli_output_check(void)
{
    if (output_errno == 0 && ferror(stdout))
        output_errno = errno ? errno : EIO;
}

int cli_output_errno(void)
{
    return output_errno;
}

int cli_config_arg(const char *cmd, int argc, char **argv, int *i,
                   const char **path)
{
    const char *a = argv[*i];

    if (strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) {
        if (*i + 1 >= argc)
            return cli_usage_error(cmd, "%s needs a FILE", a);
        *path = argv[++*i];
        return 1;
    }
    if (strncmp(a, "--config=", 9) == 0 || (strncmp(a, "-c", 2) == 0 && a[2])) {
        *path = a + (a[1] == '-' ? 9 : 2);
        return 1;
    }
    return 0;
}

int cli_store_opt(const char *cmd, const char *arg, const char **out)
{
    if (arg[0] == '\0')
        return cli_usage_error(cmd, "--store needs a path");
    if (strcmp(arg, ":memory:") == 0 || strncmp(arg, "file:", 5) == 0)
        return cli_usage_error(cmd, "--store needs a file path (not "
                                    ":memory: or a SQLite file: URI)");
    *out = arg;
    return -1;
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "tocsin %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (see tocsin %s --help)\n", cmd);
    return EXIT_USAGE;
}

int cli_getopt_error(const char *cmd, int c, char **argv)
{
    if (c == ':')
        return cli_usage_error(cmd, "option \"%s\" needs a value",
                               argv[optind - 1]);
    return cli_usage_error(cmd, "unknown option \"%s\"", argv[optind - 1]);
}

int cli_parse_time(const char *s, double *out)
{
    if (util_parse_rfc3339(s, strlen(s), out) == 0)
        return 0;
    /* A date alone ("2026-11-23") is its midnight UTC. */
    if (strlen(s) == 10 && s[4] == '-' && s[7] == '-') {
        char full[32];

        snprintf(full, sizeof(full), "%sT00:00:00Z", s);
        return util_parse_rfc3339(full, strlen(full), out);
    }
    return -1;
}

int cli_parse_since(const char *s, double now, double *out)
{
    double d;

    /* A bare number is Unix seconds, 0 too ("--since 0": everything),
     * not a duration of nothing. */
    if (s[strspn(s, "0123456789.")] == '\0' && util_parse_double(s, out) == 0)
        return 0;
    if (util_parse_duration(s, &d) == 0) {
        *out = now - d;
        return 0;
    }
    if (cli_parse_time(s, out) == 0)
        return 0;
    return util_parse_double(s, out);
}
