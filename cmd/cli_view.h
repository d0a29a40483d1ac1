/* cli_view.h - helpers of the commands that show and edit store contents
 * (alerts, history, silence): store opening from -c/--store, aligned text
 * tables, label formatting. */
#ifndef TOCSIN_CLI_VIEW_H
#define TOCSIN_CLI_VIEW_H

#include <stddef.h>
#include <stdio.h>

#include "../store/store.h"

/* Open the store for a command given -c cfg_path and --store store_path
 * (NULL when absent). With --store the config is optional: it is loaded
 * only when cfg_path exists. Errors are printed; NULL on failure. */
struct store *cli_view_open_store(const char *cfg_path, const char *store_path,
                                  enum store_mode mode);

struct cli_table {
    size_t ncols;
    size_t nrows; /* rows added, the header not counted */
    size_t cap;
    char **cells; /* (nrows + 1) * ncols copies; row 0 is the header */
};

/* Start a table with ncols columns named by headers[0..ncols). */
void cli_table_init(struct cli_table *t, size_t ncols,
                    const char *const *headers);
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
