/* json_arena.c - cJSON trees from a per-thread bump arena (see
 * json_arena.h). */
#include "json_arena.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#define ARENA_SIZE ((size_t)64 << 10)
#define ARENA_ALIGN 16

struct arena {
    char *base;
    size_t used;
    unsigned live; /* trees parsed and not yet freed */
    bool active;   /* inside json_arena_parse */
};

static _Thread_local struct arena *tl;
static pthread_key_t arena_key;
static pthread_once_t arena_once = PTHREAD_ONCE_INIT;

static void arena_destroy(void *p)
{
    struct arena *a = p;

    free(a->base);
    free(a);
}

static void arena_key_init(void)
{
    pthread_key_create(&arena_key, arena_destroy);
}

static void *hook_malloc(size_t n)
{
    struct arena *a = tl;

    if (a != NULL && a->active) {
        size_t need = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);

        if (need >= n && need <= ARENA_SIZE - a->used) {
            void *p = a->base + a->used;
            a->used += need;
            return p;
        }
    }
    return malloc(n);
}

static void hook_free(void *p)
{
    struct arena *a = tl;

    if (a != NULL && (uintptr_t)p >= (uintptr_t)a->base &&
        (uintptr_t)p < (uintptr_t)a->base + ARENA_SIZE)
        return;
    free(p);
}

void json_arena_install(void)
{
    cJSON_Hooks h = {hook_malloc, hook_free};

    cJSON_InitHooks(&h);
}

/* This thread's arena, made on first use (NULL when out of memory). */
static struct arena *arena_get(void)
{
    struct arena *a;

    if (tl != NULL)
        return tl;
    pthread_once(&arena_once, arena_key_init);
    a = calloc(1, sizeof(*a));
    if (a == NULL)
        return NULL;
    a->base = malloc(ARENA_SIZE);
    if (a->base == NULL) {
        free(a);
        return NULL;
    }
    /* Freed when the thread ends; the main thread's lives until exit. */
    pthread_setspecific(arena_key, a);
    tl = a;
    return a;
}

cJSON *json_arena_parse(const char *text)
{
    struct arena *a = arena_get();
    cJSON *tree;

    if (a == NULL)
        return cJSON_Parse(text);
    a->active = true;
    tree = cJSON_Parse(text);
    a->active = false;
    if (tree != NULL)
        a->live++;
    else if (a->live == 0)
        a->used = 0; /* a failed parse freed what it took */
    return tree;
}

void json_arena_free(cJSON *tree)
{
    struct arena *a = tl;

    if (tree == NULL)
        return;
    cJSON_Delete(tree);
    if (a != NULL && a->live > 0 && --a->live == 0)
        a->used = 0;
}
