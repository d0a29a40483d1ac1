/* fuzz_render.c - libFuzzer target for the notifiers' renderers: the input
 * is a notification payload (JSON, as the outbox holds it; label values and
 * annotations in it come from whoever pushes samples), rendered by every
 * kind: Slack (escaping, truncation to Slack's limits), email (RFC 2047
 * subject, quoted-printable text and HTML parts), webhook (Alertmanager
 * payload, a templated body, Standard Webhooks signature) and log. Each
 * request must come out whole: a body of the length it claims, valid UTF-8
 * JSON for the HTTP kinds, CRLF lines within 998 octets for mail. Built by
 * `make fuzz`. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "../common/util.h"
#include "../notifiers/notifier.h"
#include "../rules/config.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char cfg_text[] =
    "notifiers:\n"
    "  slack:\n"
    "    type: slack\n"
    "    url: https://hooks.slack.com/services/T0/B0/x\n"
    "  mail:\n"
    "    type: email\n"
    "    smtp: smtp://127.0.0.1:2525\n"
    "    starttls: \"off\"\n"
    "    from: tocsin <alerts@example.com>\n"
    "    to: [a@example.com, \"B <b@example.com>\"]\n"
    "  am:\n"
    "    type: webhook\n"
    "    url: http://127.0.0.1:9/hook\n"
    "    secret: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n"
    "    headers: {X-Team: web}\n"
    "  custom:\n"
    "    type: webhook\n"
    "    url: http://127.0.0.1:9/custom\n"
    "    body:\n"
    "      text: \"{{ rule }} {{ severity }} {{ labels.service }}\"\n"
    "      value: \"{{ value }}\"\n"
    "      list: [\"{{ annotations.summary }}\", \"{{ fingerprint }}\"]\n"
    "  audit:\n"
    "    type: log\n"
    "    path: /dev/null\n"
    "rules:\n"
    "  - name: api_p90_latency\n"
    "    metric: m\n"
    "    by: [service]\n"
    "    severity:\n"
    "      critical: {above: 5}\n"
    "    annotations:\n"
    "      summary: \"p90 {{ value }} on {{ labels.service }}\"\n";

static const struct config *config_once(void)
{
    const struct config *cfg = fuzz_config_once(cfg_text, sizeof(cfg_text) - 1);

    if (cfg->nnotifiers != 5)
        abort(); /* not the config the target was written for */
    return cfg;
}

/* Mail: CRLF line ends only, no line over 998 octets (RFC 5322 2.1.1). */
static void check_mail(const struct request *r)
{
    size_t line = 0;

    for (size_t i = 0; i < r->body_len; i++) {
        char c = r->body[i];

        if (c == '\n' && (i == 0 || r->body[i - 1] != '\r'))
            abort();
        if (c == '\r' && (i + 1 >= r->body_len || r->body[i + 1] != '\n'))
            abort();
        if (c == '\r' || c == '\n') {
            line = 0;
            continue;
        }
        if (++line > 998)
            abort();
    }
}

static void check_request(const struct notifier *n, const struct request *r)
{
    if (r->body == NULL || strlen(r->body) != r->body_len)
        abort();
    if (r->kind == REQ_SMTP) {
        check_mail(r);
        return;
    }
    if (!util_utf8_valid(r->body, r->body_len))
        abort();
    if (r->kind == REQ_HTTP) {
        cJSON *j = cJSON_ParseWithLength(r->body, r->body_len);

        if (j == NULL)
            abort(); /* a JSON body that does not parse */
        cJSON_Delete(j);
    }
    (void)n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const struct config *c = config_once();
    static const char *const kinds[] = {"event", "repeat", "test", "report"};
    cJSON *payload;

    /* Payloads are written by tocsin from UTF-8 checked at ingest: valid
     * UTF-8 in must give valid UTF-8 out (a cut inside a character would
     * not). */
    if (!util_utf8_valid((const char *)data, size))
        return 0;
    payload = cJSON_ParseWithLength((const char *)data, size);
    if (payload == NULL)
        return 0;
    for (size_t i = 0; i < c->nnotifiers; i++) {
        const struct notifier *n = &c->notifiers[i];

        for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
            struct notification nt = {"msg_fuzz", n->name, kinds[k], payload,
                                      1767225600.5};
            struct request r;
            struct err e = {0};

            memset(&r, 0, sizeof(r));
            if (n->ops->render(n, &nt, &r, &e) == 0)
                check_request(n, &r);
            else if (!e.set)
                abort(); /* a refusal must say why */
            request_cleanup(&r);
        }
    }
    cJSON_Delete(payload);
    return 0;
}
