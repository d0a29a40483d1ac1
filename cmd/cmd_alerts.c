/* cmd_alerts.c - `tocsin alerts [--json]`: the alerts firing now, read from
 * the store's alerts table (SPEC section 1), as an aligned table or one JSON
 * array. Called from main.c. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include <cjson/cJSON.h>

#include "../common/util.h"
#include "cli_view.h"
#include "cmd.h"

static const char alerts_usage[] =
    "usage: tocsin alerts [-c FILE] [--store PATH] [--json]\n"
    "\n"
    "The alerts firing now, critical first, oldest first.\n"
    "\n"
    "  -c FILE        config file (default tocsin.yaml); gives the store\n"
    "  --store PATH   the store to read (overrides the config's store)\n"
    "  --json         one JSON array of {fingerprint, rule, labels, severity,\n"
    "                 value, reason, since, updated}\n"
    "  --help         this text\n";

static int alerts_table_row(void *ctx, const struct store_alert *a)
{
    struct cli_table *t = ctx;
    char since[40], value[40];
    char *labels = cli_labels_text(a->labels_json);
    const char *cells[6];

    util_format_rfc3339(a->since, since, sizeof(since));
    if (a->has_value)
        util_format_double(a->value, value, sizeof(value));
    else
        snprintf(value, sizeof(value), "-");
    cells[0] = a->severity;
    cells[1] = a->rule;
    cells[2] = labels;
    cells[3] = since;
    cells[4] = value;
    cells[5] = a->fingerprint;
    cli_table_add(t, cells);
    free(labels);
    return 0;
}

static int alerts_json_row(void *ctx, const struct store_alert *a)
{
    cJSON *arr = ctx, *o = cJSON_CreateObject();
    cJSON *labels = cJSON_Parse(a->labels_json);

    cJSON_AddStringToObject(o, "fingerprint", a->fingerprint);
    cJSON_AddStringToObject(o, "rule", a->rule);
    if (!cJSON_IsObject(labels)) {
        cJSON_Delete(labels);
        labels = cJSON_CreateObject();
    }
    cJSON_AddItemToObject(o, "labels", labels);
    /* The same object, keys and order as GET /api/v1/alerts (api.c). */
    cJSON_AddStringToObject(o, "severity", a->severity);
    if (a->has_value)
        cJSON_AddNumberToObject(o, "value", a->value);
    else
        cJSON_AddNullToObject(o, "value");
    if (a->reason)
        cJSON_AddStringToObject(o, "reason", a->reason);
    else
        cJSON_AddNullToObject(o, "reason");
    /* Milliseconds, as the events' ts: since is its firing event's ts. */
    cJSON_AddNumberToObject(o, "since", util_round_ms(a->since));
    cJSON_AddNumberToObject(o, "updated", util_round_ms(a->updated));
    cJSON_AddItemToArray(arr, o);
    return 0;
}

int cmd_alerts(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"store", required_argument, NULL, 's'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    static const char *const headers[] = {"SEVERITY", "ALERT", "LABELS",
                                          "SINCE",    "VALUE", "FINGERPRINT"};
    struct cli_view_opts vo = {NULL, NULL, 0};
    struct err e = {0};
    struct store *s;
    int c, rc = 0;

    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":c:h", opts, NULL)) != -1) {
        rc = cli_view_opt("alerts", c, argv, alerts_usage, &vo);
        if (rc >= 0)
            return rc;
    }
    rc = cli_view_no_args("alerts", argc, argv);
    if (rc >= 0)
        return rc;
    rc = 0;
    s = cli_view_open_store(vo.cfg_path, vo.store_path, STORE_RO);
    if (s == NULL)
        return EXIT_WORK;
    if (vo.json) {
        cJSON *arr = cJSON_CreateArray();
        char *out;

        if (store_alerts_foreach(s, alerts_json_row, arr, &e) < 0) {
            rc = -1;
        } else {
            out = cJSON_PrintUnformatted(arr);
            printf("%s\n", out ? out : "[]");
            cJSON_free(out);
        }
        cJSON_Delete(arr);
    } else {
        struct cli_table t;

        cli_table_init(&t, 6, headers);
        if (store_alerts_foreach(s, alerts_table_row, &t, &e) < 0)
            rc = -1;
        else if (t.nrows == 0)
            printf("no alerts firing\n");
        else
            cli_table_print(&t, stdout);
        cli_table_cleanup(&t);
    }
    return cli_view_finish("alerts", s, rc, &e);
}
