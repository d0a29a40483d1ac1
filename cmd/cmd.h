/* cmd.h - the subcommands of the tocsin binary and their shared helpers.
 * Exit status: 0 success, 1 failure of the work, 2 usage error. */
#ifndef TOCSIN_CMD_H
#define TOCSIN_CMD_H

#include <stdbool.h>

#include "../rules/config.h"
#include "../store/store.h"

#define EXIT_WORK 1
#define EXIT_USAGE 2
#define CLI_DEFAULT_CONFIG "tocsin.yaml" /* -c when not given */

int cmd_run(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_test(int argc, char **argv);
int cmd_parse(int argc, char **argv);
int cmd_alerts(int argc, char **argv);
int cmd_history(int argc, char **argv);
int cmd_silence(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_notify_test(int argc, char **argv);
int cmd_version(int argc, char **argv);

/* Load the config at path, printing every error to stderr. NULL on error. */
struct config *cli_load_config(const char *path);
/* Open the store for a reading/writing command: path_override (--store) or
 * the config's store. Prints the error and returns NULL on failure. cfg may
 * be NULL when path_override is set. */
struct store *cli_open_store(const struct config *cfg,
                             const char *path_override, enum store_mode mode);
/* Stdout failed (a full disk, a closed pipe): remember why at the first
 * failure, before later calls overwrite errno. cli_output_errno: that
 * errno, 0 when stdout never failed. */
void cli_output_check(void);
int cli_output_errno(void);
/* Print "tocsin NAME: msg" usage error and return EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The usage error of getopt_long's answer c (':' or '?', with ":" leading
 * its option string and opterr 0) for the option argv[optind - 1]. */
int cli_getopt_error(const char *cmd, int c, char **argv);
/* Whether argv[*i] names the config file, as the getopt-based commands
 * take it (-c FILE, -cFILE, --config FILE, --config=FILE): 1 with *path
 * set and *i on its last word, 0 when it is something else, or EXIT_USAGE
 * after a usage error for a missing FILE. For commands that walk their
 * arguments themselves. */
int cli_config_arg(const char *cmd, int argc, char **argv, int *i,
                   const char **path);
/* Take --store's value into *out: -1 to go on, or EXIT_USAGE after a usage
 * error for an empty one. */
int cli_store_opt(const char *cmd, const char *arg, const char **out);
/* Parse "24h", "7d" (duration back from now), a time (cli_parse_time) or
 * bare Unix seconds into Unix seconds. 0 or -1. */
int cli_parse_since(const char *s, double now, double *out);
/* Parse an RFC 3339 time or a date alone ("2026-11-23", its midnight UTC)
 * into Unix seconds. 0 or -1. */
int cli_parse_time(const char *s, double *out);

#endif
