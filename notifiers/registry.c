/* registry.c - the notifier kinds tocsin knows: a NULL-terminated array of
 * ops structs. Adding a kind is one file and one line here. */
#include <stdbool.h>
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

bool notifier_key_of_some_kind(const char *key)
{
    for (int i = 0; kinds[i]; i++)
        for (size_t k = 0; kinds[i]->keys && kinds[i]->keys[k]; k++)
            if (strcmp(kinds[i]->keys[k], key) == 0)
                return true;
    return false;
}

const char *notifier_kinds_list(void)
{
    return "slack, email, webhook, log";
}
