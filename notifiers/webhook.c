/* webhook.c - placeholder until the webhook notifier is written. */
#include "notifier.h"

static const char *const webhook_keys[] = {NULL};

static int webhook_configure(struct notifier *n, const struct cfg_node *node,
                          const char *dir, struct cfg_diag *d)
{
    (void)n;
    (void)node;
    (void)dir;
    (void)d;
    return 0;
}

static int webhook_render(const struct notifier *n, const struct notification *nt,
                       struct request *out, struct err *e)
{
    (void)n;
    (void)nt;
    (void)out;
    err_set(e, "not implemented");
    return -1;
}

const struct notifier_ops webhook_ops = {
    .kind = "webhook",
    .keys = webhook_keys,
    .configure = webhook_configure,
    .render = webhook_render,
};
