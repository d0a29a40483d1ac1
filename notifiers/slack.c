/* slack.c - placeholder until the slack notifier is written. */
#include "notifier.h"

static const char *const slack_keys[] = {NULL};

static int slack_configure(struct notifier *n, const struct cfg_node *node,
                          const char *dir, struct cfg_diag *d)
{
    (void)n;
    (void)node;
    (void)dir;
    (void)d;
    return 0;
}

static int slack_render(const struct notifier *n, const struct notification *nt,
                       struct request *out, struct err *e)
{
    (void)n;
    (void)nt;
    (void)out;
    err_set(e, "not implemented");
    return -1;
}

const struct notifier_ops slack_ops = {
    .kind = "slack",
    .keys = slack_keys,
    .configure = slack_configure,
    .render = slack_render,
};
