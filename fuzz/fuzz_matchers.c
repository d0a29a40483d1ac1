/* fuzz_matchers.c - libFuzzer target for label matchers in the silence
 * form (`tocsin silence add --match`, the HTTP silences API): the first
 * line of the input is the matcher text, the rest label values to match
 * it against. Parsing must refuse or accept, and matching must answer,
 * without a crash, a leak or a runaway regex. Built by `make fuzz`. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../rules/matcher.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct subject {
    const char *vals[4];
};

static const char *get(void *ctx, const char *name)
{
    const struct subject *s = ctx;
    size_t h = 0;

    for (; *name; name++)
        h = h * 31 + (unsigned char)*name;
    return s->vals[h % 4]; /* some names have no value (NULL) */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1), *nl, *p;
    struct matcher_set set = {0};
    struct subject sub = {{NULL, "", NULL, NULL}};
    char why[256];
    int i = 2;

    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    nl = strchr(text, '\n');
    if (nl != NULL)
        *nl = '\0';
    /* Up to two label values follow, one per line. */
    for (p = nl ? nl + 1 : NULL; p != NULL && i < 4; i++) {
        char *end = strchr(p, '\n');

        if (end != NULL)
            *end = '\0';
        sub.vals[i] = p;
        p = end ? end + 1 : NULL;
    }
    if (matcher_set_parse(&set, text, why, sizeof(why)) == 0) {
        (void)matcher_set_match(&set, get, &sub);
        matcher_set_cleanup(&set);
    } else if (why[0] == '\0') {
        abort(); /* a refusal must say why */
    }
    free(text);
    return 0;
}
