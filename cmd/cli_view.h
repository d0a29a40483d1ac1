/* cli_view.h - helpers of the commands that show and edit store contents
 * (alerts, history, silence): the options they share, store opening from
 * -c/--store, aligned text tables, label formatting. */
#ifndef TOCSIN_CLI_VIEW_H
#define TOCSIN_CLI_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "../common/err.h"
#include "../store/store.h"

/* The options the read-only views (alerts, history) share. */
struct cli_view_opts {
    const char *cfg_path;   /* -c/--config: NULL unless given */
    const char *store_path; /* --store: NULL unless given */
    int json;               /* --json */
};

/* Handle getopt_long's result c (options ":c:h" with long options config,
 * store, json and help mapped to 'c', 's', 'j', 'h') for command cmd.
 * Returns -1 when c was one of the shared options and parsing goes on;
 * otherwise the exit code the command returns now: 0 after printing usage
 * to stdout for -h, or EXIT_USAGE after a usage error for a missing value
 * or any other option. */
int cli_view_opt(const char *cmd, int c, char **argv, const char *usage,
                 struct cli_view_opts *o);

/* After the options of cmd: a usage error (EXIT_USAGE) when an argument is
 * left at argv[optind], else -1. */
int cli_view_no_args(const char *cmd, int argc, char **argv);

/* End a view of command cmd: close s, and on rc < 0 print "tocsin cmd:
 * <e's message>" to stderr. Returns the exit code: 0, or EXIT_WORK when
 * rc < 0. */
int cli_view_finish(const char *cmd, struct store *s, int rc,
                    const struct err *e);

/* Open the store for a command given -c cfg_path and --store store_path
 * (each NULL when not given). The config (cfg_path, else tocsin.yaml) is
 * loaded, and an error in it fails the command, unless --store was given
 * without -c. Errors are printed; NULL on failure. */
struct store *cli_view_open_store(const char *cfg_path, const char *store_path,
                                  enum store_mode mode);

struct cli_table {
    size_t ncols;
    size_t nrows; /* rows added, the header not counted */
    size_t cap;
    char **cells; /* (nrows + 1) * ncols copies; row 0 is the header */
    /* Streamed tables (cli_table_init_streamed) keep no rows: */
    size_t *width; /* widest cell of each column so far */
    FILE *out;     /* printing: rows go here as they are added */
    bool streamed;
};

/* Start a table with ncols columns named by headers[0..ncols). */
void cli_table_init(struct cli_table *t, size_t ncols,
                    const char *const *headers);
/* A table for rows too many to hold: a first pass of cli_table_add over
 * the rows only measures the columns; cli_table_stream prints the header,
 * and a second pass over the same rows prints each as it is added. A row
 * wider than the first pass measured is printed unaligned, not cut. */
void cli_table_init_streamed(struct cli_table *t, size_t ncols,
                             const char *const *headers);
void cli_table_stream(struct cli_table *t, FILE *f);
/* Append one row: cells[0..ncols) are copied (NULL prints as ""). */
void cli_table_add(struct cli_table *t, const char *const *cells);
/* Print the header and rows with columns padded to their widest cell
 * (counted in UTF-8 characters), two spaces apart. */
void cli_table_print(const struct cli_table *t, FILE *f);
void cli_table_cleanup(struct cli_table *t);

/* "service=api,team=web" from a labels JSON object, without alertname.
 * Returns a malloc'd string (free()); the raw text when it is not a JSON
 * object. */
char *cli_labels_text(const char *labels_json);

#endif
