/* notifier.c - helpers shared by every notifier kind and the dispatcher:
 * releasing a rendered request, and the default judgement of an answer
 * (used by dispatch.c when a kind has no check op). */
#include <stdlib.h>
#include <string.h>

#include "notifier.h"

void request_cleanup(struct request *r)
{
    if (r == NULL)
        return;
    free(r->url);
    curl_slist_free_all(r->headers);
    free(r->body);
    free(r->mail_from);
    curl_slist_free_all(r->rcpt);
    free(r->username);
    if (r->password) {
        memset(r->password, 0, strlen(r->password));
        free(r->password);
    }
    free(r->method);
    free(r->ca_file);
    memset(r, 0, sizeof(*r));
}

enum delivery_result notifier_default_check(enum request_kind kind, long code)
{
    if (kind == REQ_SMTP) {
        /* RFC 5321 4.2.1: 2yz done, 4yz transient, 5yz permanent. No reply
         * at all (0) is a connection problem: retry. */
        if (code >= 200 && code < 300)
            return DELIVERY_OK;
        if (code == 0 || (code >= 400 && code < 500))
            return DELIVERY_RETRY;
        return DELIVERY_FAIL;
    }
    if (kind == REQ_LOCAL)
        return DELIVERY_OK;
    if (code >= 200 && code < 300)
        return DELIVERY_OK;
    if (code == 0 || code == 408 || code == 429 || code >= 500)
        return DELIVERY_RETRY;
    return DELIVERY_FAIL;
}
