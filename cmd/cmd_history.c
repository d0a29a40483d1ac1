/* cmd_history.c - `tocsin history [--since 24h] [--rule NAME] [--json]`:
 * the alert events recorded in the store, oldest first (SPEC section 1), as
 * an aligned table or as the stored event JSON lines. Called from main.c. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "../common/util.h"
#include "cli_view.h"
#include "cmd.h"

static const char history_usage[] =
    "usage: tocsin history [-c FILE] [--store PATH] [--since 24h] "
    "[--rule NAME] [--json]\n"
    "\n"
    "Alert events from the store, oldest first.\n"
    "\n"
    "  -c FILE        config file (default tocsin.yaml); gives the store\n"
    "  --store PATH   the store to read (overrides the config's store)\n"
    "  --since WHEN   a duration back from now (24h, 7d), an RFC 3339\n"
    "                 time, a date (UTC midnight) or Unix seconds\n"
    "                 (default 24h)\n"
    "  --rule NAME    only this rule's events\n"
    "  --json         each event's JSON line, as recorded (a silenced one\n"
    "                 ends with \"silenced\":true)\n"
    "  --help         this text\n";

static int history_json_row(void *ctx, const struct store_event *ev)
{
    size_t n = strlen(ev->json);

    (void)ctx;
    /* A silenced event (SPEC 6: recorded, marked silenced) says so. */
    if (ev->silenced && n > 0 && ev->json[n - 1] == '}')
        printf("%.*s,\"silenced\":true}\n", (int)(n - 1), ev->json);
    else
        printf("%s\n", ev->json);
    return 0;
}

static int history_table_row(void *ctx, const struct store_event *ev)
{
    struct cli_table *t = ctx;
    cJSON *o = cJSON_Parse(ev->json);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "value");
    const cJSON *labels = cJSON_GetObjectItemCaseSensitive(o, "labels");
    char when[40], value[40], sev[80];
    char *ltext = NULL, *lraw = NULL;
    const char *cells[7];

    util_format_rfc3339(ev->ts, when, sizeof(when));
    if (cJSON_IsNumber(v))
        util_format_double(v->valuedouble, value, sizeof(value));
    else
        snprintf(value, sizeof(value), "-");
    snprintf(sev, sizeof(sev), "%s -> %s",
             ev->previous && ev->previous[0] ? ev->previous : "ok",
             ev->severity);
    if (cJSON_IsObject(labels)) {
        lraw = cJSON_PrintUnformatted(labels);
        ltext = cli_labels_text(lraw);
    }
    cells[0] = when;
    cells[1] = ev->rule;
    cells[2] = ev->event;
    cells[3] = sev;
    cells[4] = value;
    cells[5] = ltext ? ltext : "";
    cells[6] = ev->silenced ? "silenced" : "";
    cli_table_add(t, cells);
    free(ltext);
    cJSON_free(lraw);
    cJSON_Delete(o);
    return 0;
}

int cmd_history(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"store", required_argument, NULL, 's'},
        {"since", required_argument, NULL, 'S'},
        {"rule", required_argument, NULL, 'r'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    static const char *const headers[] = {
        "TIME", "RULE", "EVENT", "SEVERITY", "VALUE", "LABELS", "SILENCED"};
    struct cli_view_opts vo = {NULL, NULL, 0};
    const char *since_arg = "24h", *rule = NULL;
    struct err e = {0};
    struct store *s;
    double since;
    int c, rc;

    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":c:h", opts, NULL)) != -1) {
        if (c == 'S') {
            since_arg = optarg;
        } else if (c == 'r') {
            rule = optarg;
        } else {
            rc = cli_view_opt("history", c, argv, history_usage, &vo);
            if (rc >= 0)
                return rc;
        }
    }
    rc = cli_view_no_args("history", argc, argv);
    if (rc >= 0)
        return rc;
    if (cli_parse_since(since_arg, util_now(), &since) < 0)
        return cli_usage_error("history",
                               "bad --since \"%s\" (a duration such as 24h, "
                               "an RFC 3339 time or a date)",
                               since_arg);
    s = cli_view_open_store(vo.cfg_path, vo.store_path, STORE_RO);
    if (s == NULL)
        return EXIT_WORK;
    if (vo.json) {
        rc = store_events_foreach(s, since, rule, history_json_row, NULL, &e);
    } else {
        struct cli_table t;

        /* Two passes, measuring then printing, so that a long history
         * is never held in memory. */
        cli_table_init_streamed(&t, 7, headers);
        rc = store_events_foreach(s, since, rule, history_table_row, &t, &e);
        if (rc == 0 && t.nrows == 0) {
            char when[40];

            util_format_rfc3339(since, when, sizeof(when));
            printf("no events since %s\n", when);
        } else if (rc == 0) {
            cli_table_stream(&t, stdout);
            rc =
                store_events_foreach(s, since, rule, history_table_row, &t, &e);
        }
        cli_table_cleanup(&t);
    }
    return cli_view_finish("history", s, rc, &e);
}
