/* email.c - placeholder until the email notifier is written. */
#include "notifier.h"

static const char *const email_keys[] = {NULL};

static int email_configure(struct notifier *n, const struct cfg_node *node,
                          const char *dir, struct cfg_diag *d)
{
    (void)n;
    (void)node;
    (void)dir;
    (void)d;
    return 0;
}

static int email_render(const struct notifier *n, const struct notification *nt,
                       struct request *out, struct err *e)
{
    (void)n;
    (void)nt;
    (void)out;
    err_set(e, "not implemented");
    return -1;
}

const struct notifier_ops email_ops = {
    .kind = "email",
    .keys = email_keys,
    .configure = email_configure,
    .render = email_render,
};
