/* fuzz_config.c - libFuzzer target: arbitrary bytes through config_load_buf
 * (libyaml events, alias expansion, ${VAR}, every schema check). Must never
 * crash, leak, hang or grow without bound. Built by `make fuzz`. */
#include <stddef.h>
#include <stdint.h>

#include "../rules/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cfg_diag d;
    struct config *c;

    cfg_diag_init(&d, "fuzz.yaml");
    c = config_load_buf((const char *)data, size, "fuzz.yaml", "/tmp", &d);
    config_free(c);
    cfg_diag_cleanup(&d);
    return 0;
}
