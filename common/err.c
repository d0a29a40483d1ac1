/* err.c - first-error-wins message buffer. */
#include "err.h"

#include <stdarg.h>
#include <stdio.h>

void err_set(struct err *e, const char *fmt, ...)
{
    va_list ap;

    if (e == NULL || e->set)
        return;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
    va_end(ap);
    e->set = 1;
}

void err_clear(struct err *e)
{
    if (e == NULL)
        return;
    e->set = 0;
    e->msg[0] = '\0';
}
