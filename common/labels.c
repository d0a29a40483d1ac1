/* labels.c - label lookup, the canonical series key and the persistent
 * alert fingerprint. */
#include "labels.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "sha256.h"
#include "util.h"

struct label *labels_from_json(const cJSON *obj, size_t *n)
{
    struct label *v = xcalloc((size_t)cJSON_GetArraySize(obj) + 1, sizeof(*v));
    const cJSON *it;

    *n = 0;
    cJSON_ArrayForEach(it, obj)
    {
        if (cJSON_IsString(it)) {
            v[*n].name = it->string;
            v[*n].value = it->valuestring;
            (*n)++;
        }
    }
    return v;
}

bool labels_name_valid(const char *s)
{
    if (!(isalpha((unsigned char)*s) || *s == '_'))
        return false;
    for (s++; *s; s++)
        if (!(isalnum((unsigned char)*s) || *s == '_'))
            return false;
    return true;
}

const char *labels_get(const struct label *v, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i].name, name) == 0)
            return v[i].value;
    return NULL;
}

static int label_cmp(const void *a, const void *b)
{
    const struct label *x = *(const struct label *const *)a;
    const struct label *y = *(const struct label *const *)b;
    return strcmp(x->name, y->name);
}

void labels_fingerprint(const char *rule, const struct label *v, size_t n,
                        char out[17])
{
    labels_fingerprint_shadowed(rule, v, n, NULL, 0, out);
}

void labels_fingerprint_shadowed(const char *rule, const struct label *v,
                                 size_t n, const struct label *shadow,
                                 size_t nshadow, char out[17])
{
    static const unsigned char shadow_sep = 0xfe;
    static const char hex[] = "0123456789abcdef";
    static const unsigned char sep = 0xff;
    const struct label *stackp[32];
    const struct label **p = n <= 32 ? stackp : malloc(n * sizeof(*p));
    unsigned char md[SHA256_LEN];
    EVP_MD_CTX *ctx;

    if (p == NULL)
        abort();
    for (size_t i = 0; i < n; i++)
        p[i] = &v[i];
    qsort(p, n, sizeof(*p), label_cmp);
    ctx = sha256_begin();
    EVP_DigestUpdate(ctx, rule, strlen(rule));
    EVP_DigestUpdate(ctx, &sep, 1);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(p[i]->name, "severity") == 0)
            continue;
        EVP_DigestUpdate(ctx, p[i]->name, strlen(p[i]->name));
        EVP_DigestUpdate(ctx, &sep, 1);
        EVP_DigestUpdate(ctx, p[i]->value, strlen(p[i]->value));
        EVP_DigestUpdate(ctx, &sep, 1);
    }
    if (nshadow > 0)
        EVP_DigestUpdate(ctx, &shadow_sep, 1);
    for (size_t i = 0; i < nshadow; i++) {
        EVP_DigestUpdate(ctx, shadow[i].name, strlen(shadow[i].name));
        EVP_DigestUpdate(ctx, &sep, 1);
        EVP_DigestUpdate(ctx, shadow[i].value, strlen(shadow[i].value));
        EVP_DigestUpdate(ctx, &sep, 1);
    }
    sha256_end(ctx, md);
    for (int i = 0; i < 8; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[16] = '\0';
    if (p != stackp)
        free(p);
}

int labels_series_key(struct buf *out, const char *metric,
                      const struct label *v, size_t n)
{
    size_t local[64];
    size_t *idx = n <= 64 ? local : xcalloc(n, sizeof(*idx));

    for (size_t i = 0; i < n; i++) {
        size_t j = i;
        while (j > 0 && strcmp(v[idx[j - 1]].name, v[i].name) > 0) {
            idx[j] = idx[j - 1];
            j--;
        }
        idx[j] = i;
    }
    buf_reset(out);
    buf_add(out, metric, strlen(metric) + 1);
    for (size_t i = 0; i < n; i++) {
        const struct label *l = &v[idx[i]];
        buf_add(out, l->name, strlen(l->name) + 1);
        buf_add(out, l->value, strlen(l->value) + 1);
    }
    if (idx != local)
        free(idx);
    return out->failed ? -1 : 0;
}
