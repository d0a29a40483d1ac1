/* fuzz.h - what the fuzz targets share: the config a target runs its
 * input against, loaded once per process. */
#ifndef TOCSIN_FUZZ_H
#define TOCSIN_FUZZ_H

#include <stdlib.h>

#include "../rules/config.h"

/* The target's own config from text (len bytes), loaded on the first call;
 * aborts if it does not load, as the target would test nothing. */
static inline struct config *fuzz_config_once(const char *text, size_t len)
{
    static struct config *cfg;
    struct cfg_diag d;

    if (cfg != NULL)
        return cfg;
    cfg_diag_init(&d, "fuzz.yaml");
    cfg = config_load_buf(text, len, "fuzz.yaml", "/tmp", &d);
    cfg_diag_cleanup(&d);
    if (cfg == NULL)
        abort();
    return cfg;
}

#endif
