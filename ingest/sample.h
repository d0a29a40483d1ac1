/* sample.h - what every input yields: metric name, labels, value, timestamp. */
#ifndef TOCSIN_SAMPLE_H
#define TOCSIN_SAMPLE_H

#include <stddef.h>

#include "../common/labels.h"

/* A parsed sample. Every pointer is borrowed from the parser's scratch space
 * and valid only during the emit callback. Labels are in the order the line
 * gave them, names unique (a repeated name is a rejection). */
struct sample {
    const char *metric;
    const struct label *labels;
    size_t nlabels;
    double value; /* finite */
    double ts;    /* Unix seconds; NAN when the line had no timestamp */
};

/* Called once per sample a line yields. Return 0 to go on, nonzero to stop. */
typedef int (*sample_fn)(void *ctx, const struct sample *s);

#endif
