/* engine_gc.c - forgetting idle series and sources (see engine_forget in
 * engine.h). Label churn (a pod, a container or a request id in `by`)
 * otherwise grows the daemon's memory, its store and the work of every
 * timer tick with every series ever seen. */
#include <math.h>
#include <stdlib.h>

#include "../common/util.h"
#include "engine_int.h"

/* Nothing in s would differ from a series made afresh by its next
 * sample: ok, no timer running, its window empty at its own time. */
static bool series_idle(struct series *s, double now, double idle)
{
    double t;

    if (isnan(s->seen))
        s->seen = now;
    if (s->sev != SEV_OK || s->nodata || s->rule->has_nodata ||
        s->heap_idx != NO_HEAP || now - s->seen < idle)
        return false;
    for (size_t i = 0; i < SEV_NTIERS; i++)
        if (s->tier_st[i] != TIER_OK)
            return false;
    if (!s->has_samples)
        return true;
    /* Where the timer takes its window: held while its next sample is
     * not overdue (a rule that counts a silent source below must see it
     * first). */
    t = engine_window_time(s, engine_tick_time(s, now), now);
    return t - s->newest >= s->rule->window;
}

/* Drop the forgotten (gone) series from the list of unsaved ones. */
static void unlist_gone(struct engine *e)
{
    size_t keep = 0;

    for (size_t i = 0; i < e->ndirty; i++)
        if (!e->dirty[i]->gone)
            e->dirty[keep++] = e->dirty[i];
    e->ndirty = keep;
}

static double longest_window(const struct config *cfg)
{
    double w = 0;

    for (size_t i = 0; i < cfg->nrules; i++)
        if (cfg->rules[i].window > w)
            w = cfg->rules[i].window;
    return w;
}

static bool slot_gone(struct series *s)
{
    return s != NULL && s != NOMATCH && s->gone;
}

/* Sources idle for horizon seconds go; the others forget the series
 * being forgotten that they had cached (their next sample looks it up). */
static void forget_sources(struct engine *e, double now, double horizon)
{
    size_t n;
    struct source **list = engine_sources_list(e, &n);

    for (size_t i = 0; i < n; i++) {
        struct source *src = list[i];

        if (isnan(src->seen))
            src->seen = now;
        if (now - src->seen >= horizon) {
            engine_source_forget_cb(&src->node, NULL);
            htab_remove(&e->sources, &src->node);
            free(src);
            e->st.sources--;
        } else if (src->ncache > 1) {
            struct series **slots = src->cache;

            for (size_t j = 0; j < src->ncache; j++)
                if (slot_gone(slots[j]))
                    slots[j] = NULL;
        } else if (slot_gone(src->cache)) {
            src->cache = NULL;
        }
    }
    free(list);
}

int engine_forget(struct engine *e, double now, double idle, engine_del_fn del,
                  void *ctx, size_t *forgot)
{
    size_t n, ngone = 0;
    struct series **list = engine_series_list(e, &n);
    double horizon = longest_window(e->cfg);

    if (forgot)
        *forgot = 0;
    for (size_t i = 0; i < n; i++)
        if (series_idle(list[i], now, idle))
            list[ngone++] = list[i];
    /* The store first: a failed delete leaves everything as it was. */
    for (size_t i = 0; i < ngone; i++) {
        if (list[i]->saved && del(ctx, SKEY(list[i])) != 0) {
            free(list);
            return -1;
        }
    }
    for (size_t i = 0; i < ngone; i++) {
        struct series *s = list[i];

        s->gone = true;
        htab_remove(&e->series, &s->node);
        e->st.series--;
        e->st.firing[SEV_OK]--;
    }
    if (ngone > 0)
        unlist_gone(e);
    forget_sources(e, now, idle > horizon ? idle : horizon);
    for (size_t i = 0; i < ngone; i++)
        engine_series_free(list[i]);
    free(list);
    if (forgot)
        *forgot = ngone;
    return 0;
}
