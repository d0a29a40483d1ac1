/* cli_view.c - the shared options, store opening, aligned text tables and
 * label formatting for `tocsin alerts`, `tocsin history` and `tocsin
 * silence`. */
#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "../common/buf.h"
#include "../common/util.h"
#include "cli_view.h"
#include "cmd.h"

struct store *cli_view_open_store(const char *cfg_path, const char *store_path,
                                  enum store_mode mode)
{
    struct config *cfg = NULL;
    struct store *s;

    /* With --store the config has nothing to add: a broken tocsin.yaml in
     * the current folder does not stop a read. A config named with -c is
     * read all the same: a typo in its name must not go unnoticed. */
    if (store_path == NULL || cfg_path != NULL) {
        cfg = cli_load_config(cfg_path ? cfg_path : CLI_DEFAULT_CONFIG);
        if (cfg == NULL)
            return NULL;
    }
    s = cli_open_store(cfg, store_path, mode);
    config_free(cfg);
    return s;
}

int cli_view_opt(const char *cmd, int c, char **argv, const char *usage,
                 struct cli_view_opts *o)
{
    switch (c) {
    case 'c':
        o->cfg_path = optarg;
        return -1;
    case 's':
        return cli_store_opt(cmd, optarg, &o->store_path);
    case 'j':
        o->json = 1;
        return -1;
    case 'h':
        fputs(usage, stdout);
        return 0;
    case ':':
        return cli_usage_error(cmd, "option \"%s\" needs a value",
                               argv[optind - 1]);
    default:
        return cli_usage_error(cmd, "bad option \"%s\"", argv[optind - 1]);
    }
}

int cli_view_no_args(const char *cmd, int argc, char **argv)
{
    if (optind < argc)
        return cli_usage_error(cmd, "unexpected argument \"%s\"", argv[optind]);
    return -1;
}

int cli_view_finish(const char *cmd, struct store *s, int rc,
                    const struct err *e)
{
    store_close(s);
    if (rc < 0) {
        fprintf(stderr, "tocsin %s: %s\n", cmd, e->msg);
        return EXIT_WORK;
    }
    return 0;
}

void cli_table_init(struct cli_table *t, size_t ncols,
                    const char *const *headers)
{
    t->ncols = ncols;
    t->nrows = 0;
    t->cap = 0;
    t->cells = NULL;
    t->width = NULL;
    t->out = NULL;
    t->streamed = false;
    cli_table_add(t, headers);
    t->nrows = 0;
}

/* A cell as the terminal should see it: control characters (a label value
 * pushed with a newline or an escape sequence) written as \n, \t, \r or
 * \xNN, so that a value can neither break the table's rows nor drive the
 * terminal. */
static char *cell_dup(const char *s)
{
    const char *p;
    struct buf b;
    char *out;

    if (s == NULL)
        return xstrdup("");
    for (p = s; *p && !iscntrl((unsigned char)*p); p++)
        ;
    if (*p == '\0')
        return xstrdup(s);
    buf_init(&b, 0);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;

        if (c == '\n')
            buf_adds(&b, "\\n");
        else if (c == '\t')
            buf_adds(&b, "\\t");
        else if (c == '\r')
            buf_adds(&b, "\\r");
        else if (iscntrl(c))
            buf_printf(&b, "\\x%02x", c);
        else
            buf_addc(&b, (char)c);
    }
    out = buf_steal(&b);
    return out ? out : xstrdup("");
}

/* One row: cells padded to w, two spaces apart (at least). */
static void print_row(FILE *f, char *const *cells, size_t ncols,
                      const size_t *w)
{
    for (size_t c = 0; c < ncols; c++) {
        size_t n = util_utf8_len(cells[c]);

        fputs(cells[c], f);
        if (c + 1 < ncols)
            fprintf(f, "%*s", (int)((w[c] > n ? w[c] - n : 0) + 2), "");
    }
    fputc('\n', f);
}

/* Widen t->width to the row's cells. */
static void measure(struct cli_table *t, char *const *cells)
{
    for (size_t c = 0; c < t->ncols; c++) {
        size_t n = util_utf8_len(cells[c]);

        if (n > t->width[c])
            t->width[c] = n;
    }
}

void cli_table_init_streamed(struct cli_table *t, size_t ncols,
                             const char *const *headers)
{
    cli_table_init(t, ncols, headers);
    t->streamed = true;
    t->width = xcalloc(ncols, sizeof(*t->width));
    measure(t, t->cells);
}

void cli_table_stream(struct cli_table *t, FILE *f)
{
    t->out = f;
    print_row(f, t->cells, t->ncols, t->width);
}

void cli_table_add(struct cli_table *t, const char *const *cells)
{
    size_t used = t->cells ? (t->nrows + 1) * t->ncols : 0;

    if (t->streamed) {
        char **row = xcalloc(t->ncols, sizeof(*row));

        for (size_t i = 0; i < t->ncols; i++)
            row[i] = cell_dup(cells[i]);
        if (t->out)
            print_row(t->out, row, t->ncols, t->width);
        else
            measure(t, row);
        for (size_t i = 0; i < t->ncols; i++)
            free(row[i]);
        free(row);
        t->nrows++;
        return;
    }

    if (used + t->ncols > t->cap) {
        t->cap = t->cap ? t->cap * 2 : t->ncols * 16;
        t->cells = xrealloc(t->cells, t->cap * sizeof(*t->cells));
    }
    for (size_t i = 0; i < t->ncols; i++)
        t->cells[used + i] = cell_dup(cells[i]);
    if (used > 0)
        t->nrows++;
}

void cli_table_print(const struct cli_table *t, FILE *f)
{
    size_t *w = xcalloc(t->ncols, sizeof(*w));

    for (size_t r = 0; r <= t->nrows; r++)
        for (size_t c = 0; c < t->ncols; c++) {
            size_t n = util_utf8_len(t->cells[r * t->ncols + c]);
            if (n > w[c])
                w[c] = n;
        }
    for (size_t r = 0; r <= t->nrows; r++)
        print_row(f, t->cells + r * t->ncols, t->ncols, w);
    free(w);
}

void cli_table_cleanup(struct cli_table *t)
{
    size_t rows = t->streamed ? 1 : t->nrows + 1; /* streamed: the header */
    size_t used = t->cells ? rows * t->ncols : 0;

    for (size_t i = 0; i < used; i++)
        free(t->cells[i]);
    free(t->cells);
    free(t->width);
    t->cells = NULL;
    t->width = NULL;
    t->nrows = t->cap = 0;
}

char *cli_labels_text(const char *labels_json)
{
    cJSON *o = cJSON_Parse(labels_json ? labels_json : "");
    const cJSON *it;
    struct buf b;
    int first = 1;

    if (!cJSON_IsObject(o)) {
        cJSON_Delete(o);
        return xstrdup(labels_json ? labels_json : "");
    }
    buf_init(&b, 0);
    cJSON_ArrayForEach(it, o)
    {
        if (it->string == NULL || strcmp(it->string, "alertname") == 0)
            continue;
        if (!first)
            buf_addc(&b, ',');
        first = 0;
        buf_adds(&b, it->string);
        buf_addc(&b, '=');
        if (cJSON_IsString(it)) {
            buf_adds(&b, it->valuestring);
        } else {
            char *v = cJSON_PrintUnformatted(it);
            buf_adds(&b, v ? v : "");
            cJSON_free(v);
        }
    }
    cJSON_Delete(o);
    {
        char *s = buf_steal(&b);
        return s ? s : xstrdup("");
    }
}
