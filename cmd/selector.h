/* selector.h - a `tocsin test` series name: `name{label="value", ...}` or
 * `{__name__="name", ...}`, as promtool writes them (see selector.c). */
#ifndef TOCSIN_SELECTOR_H
#define TOCSIN_SELECTOR_H

#include <stddef.h>

#include "../common/labels.h"

/* 0 with *metric and *labels (free both with selector_free), or -1 with
 * the reason in why. A label with an empty value is left out. */
int selector_parse(const char *spec, char **metric, struct label **labels,
                   size_t *nlabels, char *why, size_t whylen);
void selector_free(char *metric, struct label *labels, size_t n);

#endif
