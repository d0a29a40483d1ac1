/* cmd_notify_test.c - `tocsin notify-test NAME`: send a sample critical
 * "firing" alert through one configured notifier, once, and say what the
 * receiver answered. Exit 0 when delivered, 1 otherwise. No store needed.
 * Called from main.c's subcommand table. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "../common/labels.h"
#include "../common/util.h"
#include "../notifiers/dispatch.h"
#include "../notifiers/notifier.h"
#include "cmd.h"

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: tocsin notify-test NAME [-c FILE]\n"
        "\n"
        "Send a sample critical \"firing\" alert (rule tocsin_test) through\n"
        "the notifier NAME once and print what the receiver answered.\n"
        "Exit 0 when it was delivered, 1 otherwise.\n"
        "\n"
        "  -c FILE   config file (default tocsin.yaml)\n"
        "  --help    this text\n");
}

/* The sample event in the SPEC's shape and key order. Caller frees with
 * cJSON_free. */
static char *sample_payload(const char *receiver, double now)
{
    static const struct label labels[] = {
        {"alertname", "tocsin_test"},
        {"instance", "notify-test"},
    };
    char fp[17];
    cJSON *root = cJSON_CreateObject(), *ev = cJSON_CreateObject();
    cJSON *lab = cJSON_CreateObject(), *ann = cJSON_CreateObject();
    char *out;
    double ts = (double)(long long)(now * 1000.0) / 1000.0;

    labels_fingerprint("tocsin_test", labels, 2, fp);
    cJSON_AddNumberToObject(ev, "ts", ts);
    cJSON_AddStringToObject(ev, "rule", "tocsin_test");
    cJSON_AddStringToObject(lab, "alertname", "tocsin_test");
    cJSON_AddStringToObject(lab, "instance", "notify-test");
    cJSON_AddItemToObject(ev, "labels", lab);
    cJSON_AddStringToObject(ev, "event", "firing");
    cJSON_AddStringToObject(ev, "severity", "critical");
    cJSON_AddStringToObject(ev, "previous", "ok");
    cJSON_AddNumberToObject(ev, "value", 1);
    cJSON_AddStringToObject(ev, "reason", "threshold");
    cJSON_AddStringToObject(ev, "fingerprint", fp);
    cJSON_AddStringToObject(ann, "summary",
                            "This is a test notification from tocsin");
    cJSON_AddItemToObject(ev, "annotations", ann);
    cJSON_AddItemToObject(root, "event", ev);
    cJSON_AddNumberToObject(root, "starts_at", ts);
    cJSON_AddStringToObject(root, "receiver", receiver);
    out = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return out;
}

int cmd_notify_test(int argc, char **argv)
{
    const char *cfgpath = CLI_DEFAULT_CONFIG, *name = NULL;
    struct config *cfg;
    struct err e = {0};
    char account[1024];
    char *payload;
    int idx, rc;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else if ((rc = cli_config_arg("notify-test", argc, argv, &i,
                                        &cfgpath)) != 0) {
            if (rc != 1)
                return rc;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return cli_usage_error("notify-test", "unknown option %s", argv[i]);
        } else if (name == NULL) {
            name = argv[i];
        } else {
            return cli_usage_error("notify-test", "one NAME only (got %s)",
                                   argv[i]);
        }
    }
    if (name == NULL)
        return cli_usage_error("notify-test", "which notifier? give NAME");
    cfg = cli_load_config(cfgpath);
    if (cfg == NULL)
        return EXIT_WORK;
    idx = config_notifier_index(cfg, name);
    if (idx < 0) {
        fprintf(stderr,
                "tocsin notify-test: no notifier \"%s\" in %s; "
                "configured: ",
                name, cfgpath);
        if (cfg->nnotifiers == 0)
            fprintf(stderr, "none");
        for (size_t i = 0; i < cfg->nnotifiers; i++)
            fprintf(stderr, "%s%s", i ? ", " : "", cfg->notifiers[i].name);
        fprintf(stderr, "\n");
        config_free(cfg);
        return EXIT_WORK;
    }
    payload = sample_payload(name, util_now());
    if (payload == NULL) {
        fprintf(stderr, "tocsin notify-test: out of memory\n");
        config_free(cfg);
        return EXIT_WORK;
    }
    rc = dispatcher_send_once(&cfg->notifiers[idx], payload, "test", account,
                              sizeof(account), &e);
    printf("%s: %s\n", name, account);
    fflush(stdout);
    cJSON_free(payload);
    config_free(cfg);
    return rc == 0 ? 0 : EXIT_WORK;
}
