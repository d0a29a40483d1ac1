/* registry.c - the notifier kinds tocsin knows: a NULL-terminated array of
 * ops structs. Adding a kind is one file and one line here. */
#include <string.h>

#include "notifier.h"

extern const struct notifier_ops slack_ops, email_ops, webhook_ops, log_ops;

static const struct notifier_ops *const kinds[] = {
    &slack_ops, &email_ops, &webhook_ops, &log_ops, NULL,
};

const struct notifier_ops *notifier_kind(const char *name)
{
    for (int i = 0; kinds[i]; i++)
        if (strcmp(kinds[i]->kind, name) == 0)
            return kinds[i];
    return NULL;
}

const char *notifier_kinds_list(void)
{
    return "slack, email, webhook, log";
}
