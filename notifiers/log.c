/* log.c - placeholder until the log notifier is written. */
#include "notifier.h"

static const char *const log_keys[] = {NULL};

static int log_configure(struct notifier *n, const struct cfg_node *node,
                          const char *dir, struct cfg_diag *d)
{
    (void)n;
    (void)node;
    (void)dir;
    (void)d;
    return 0;
}

static int log_render(const struct notifier *n, const struct notification *nt,
                       struct request *out, struct err *e)
{
    (void)n;
    (void)nt;
    (void)out;
    err_set(e, "not implemented");
    return -1;
}

const struct notifier_ops log_ops = {
    .kind = "log",
    .keys = log_keys,
    .configure = log_configure,
    .render = log_render,
};
