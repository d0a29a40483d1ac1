/* gauges_state.c - StatsD gauge values to text and back, so that a "+N" /
 * "-N" line after a restart (`tocsin run`) or in the next piece of a stream
 * (`eval --store`) applies to the value the gauge had, as in one run. The
 * text is a JSON array of [key, value] pairs, least recently set first, a
 * key's NUL separators written as newlines (no StatsD name or tag holds
 * one). */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../common/log.h"

#include "../store/store.h"
#include "parse.h"
#include "parse_int.h"

static int ent_seq_cmp(const void *a, const void *b)
{
    const struct smap_ent *x = *(const struct smap_ent *const *)a;
    const struct smap_ent *y = *(const struct smap_ent *const *)b;

    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* One pair [key, value] appended to arr; -1 when out of memory. */
static int add_pair(cJSON *arr, const struct smap_ent *e)
{
    char *k = malloc(e->klen + 1);
    cJSON *pair = cJSON_CreateArray(), *ks;

    if (k == NULL || pair == NULL) {
        free(k);
        cJSON_Delete(pair);
        return -1;
    }
    for (size_t i = 0; i < e->klen; i++)
        k[i] = e->key[i] == '\0' ? '\n' : e->key[i];
    k[e->klen] = '\0';
    ks = cJSON_CreateString(k);
    free(k);
    if (ks == NULL || !cJSON_AddItemToArray(pair, ks) ||
        !cJSON_AddItemToArray(pair, cJSON_CreateNumber(e->val)) ||
        cJSON_GetArraySize(pair) != 2 || !cJSON_AddItemToArray(arr, pair)) {
        cJSON_Delete(pair);
        return -1;
    }
    return 0;
}

char *ingest_gauges_export(struct ingest_gauges *g)
{
    struct smap_ent **v = NULL;
    size_t n = 0;
    cJSON *arr = cJSON_CreateArray();
    char *out = NULL;

    if (arr == NULL)
        return NULL;
    pthread_mutex_lock(&g->mu);
    if (g->map.n > 0)
        v = malloc(g->map.n * sizeof(*v));
    for (size_t i = 0; v != NULL && i < g->map.cap; i++)
        if (g->map.v[i].key != NULL)
            v[n++] = &g->map.v[i];
    if (v != NULL || g->map.n == 0) {
        if (n > 1)
            qsort(v, n, sizeof(*v), ent_seq_cmp);
        size_t i = 0;
        while (i < n && add_pair(arr, v[i]) == 0)
            i++;
        if (i == n)
            out = cJSON_PrintUnformatted(arr);
    }
    pthread_mutex_unlock(&g->mu);
    free(v);
    cJSON_Delete(arr);
    return out;
}

int ingest_gauges_import(struct ingest_gauges *g, const char *text)
{
    cJSON *arr = cJSON_Parse(text), *pair;
    int n = 0;

    if (!cJSON_IsArray(arr)) {
        cJSON_Delete(arr);
        return -1;
    }
    pthread_mutex_lock(&g->mu);
    cJSON_ArrayForEach(pair, arr)
    {
        const cJSON *k = cJSON_GetArrayItem(pair, 0);
        const cJSON *v = cJSON_GetArrayItem(pair, 1);
        size_t len;
        char *key;

        if (!cJSON_IsString(k) || !cJSON_IsNumber(v) ||
            !isfinite(v->valuedouble) || k->valuestring[0] == '\0')
            continue;
        len = strlen(k->valuestring);
        key = strdup(k->valuestring);
        if (key == NULL)
            break;
        for (size_t i = 0; i < len; i++)
            if (key[i] == '\n')
                key[i] = '\0';
        if (smap_put(&g->map, key, len, v->valuedouble) >= 0)
            n++;
        free(key);
    }
    pthread_mutex_unlock(&g->mu);
    cJSON_Delete(arr);
    return n;
}

struct ingest_gauges *ingest_gauges_restore(struct store *s)
{
    struct ingest_gauges *g = ingest_gauges_new();
    struct err e = {0};
    char *text = NULL;

    if (g == NULL || s == NULL)
        return g;
    if (store_meta_get(s, STORE_META_GAUGES, &text, &e) == 0 &&
        ingest_gauges_import(g, text) < 0)
        log_warn("statsd", "the gauge values kept in the store are not "
                           "readable: gauges start again from 0");
    else if (e.set)
        log_warn("statsd", "cannot read the kept gauge values: %s", e.msg);
    free(text);
    return g;
}

int ingest_gauges_keep(struct store *s, struct ingest_gauges *g, struct err *e)
{
    char *text;
    int rc;

    if (s == NULL || g == NULL)
        return 0;
    text = ingest_gauges_export(g);
    if (text == NULL) {
        err_set(e, "out of memory saving the StatsD gauges");
        return -1;
    }
    rc = store_meta_put(s, STORE_META_GAUGES, text, e);
    free(text);
    return rc;
}
