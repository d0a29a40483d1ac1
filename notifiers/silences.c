/* silences.c - the cached set of active silences and its matching. */
#include "silences.h"

#include <stdlib.h>
#include <string.h>

#include "../common/log.h"
#include "../common/util.h"
#include "../rules/matcher.h"

struct silence_entry {
    int64_t id;
    struct matcher_set set;
};

void silences_init(struct silences *c)
{
    memset(c, 0, sizeof(*c));
}

static void clear(struct silences *c)
{
    for (size_t i = 0; i < c->n; i++)
        matcher_set_cleanup(&c->v[i].set);
    free(c->v);
    c->v = NULL;
    c->n = 0;
    c->valid = false;
    c->ids = 0;
}

void silences_cleanup(struct silences *c)
{
    clear(c);
}

void silences_invalidate(struct silences *c)
{
    c->valid = false;
}

void silences_set_replay(struct silences *c, bool replay)
{
    c->replay = replay;
    c->valid = false;
}

static int collect(void *ctx, const struct store_silence *si)
{
    struct silences *c = ctx;
    struct silence_entry *s;
    char why[256];

    /* The set changes when one of these silences ends. */
    if (c->at_now && si->ends < c->until)
        c->until = si->ends;
    c->v = xrealloc(c->v, (c->n + 1) * sizeof(*c->v));
    s = &c->v[c->n];
    memset(s, 0, sizeof(*s));
    s->id = si->id;
    c->ids = (c->ids ^ (uint64_t)si->id) * 0x100000001b3ULL + 1;
    if (matcher_set_parse(&s->set, si->matchers, why, sizeof(why)) < 0) {
        /* A silence that cannot be parsed silences nothing; say so once
         * per load rather than failing the event. */
        log_warn("silences", "silence %lld has bad matchers: %s",
                 (long long)si->id, why);
        matcher_set_cleanup(&s->set);
        return 0;
    }
    c->n++;
    return 0;
}

int silences_load(struct silences *c, struct store *s, double now,
                  struct err *e)
{
    double next;

    if (c->valid && now >= c->loaded && now < c->until)
        return 0;
    clear(c);
    /* Valid until the refresh, the next start of a silence or the first
     * end of a loaded one, whichever comes first. */
    if (store_silence_next_start(s, now, &next, e) < 0)
        return -1;
    c->until = now + SILENCES_REFRESH;
    if (next < c->until)
        c->until = next;
    c->at_now = true;
    if (store_silences_foreach(s, now, collect, c, e) < 0)
        return -1;
    c->at_now = false;
    /* A replay's events carry their own (past) times; a silence an operator
     * adds before replaying is active now, and applies too. */
    if (c->replay && store_silences_foreach(s, util_now(), collect, c, e) < 0)
        return -1;
    c->valid = true;
    c->loaded = now;
    return 0;
}

const char *label_view_get(void *ctx, const char *name)
{
    const struct label_view *v = ctx;

    if (strcmp(name, "severity") == 0)
        return v->severity;
    return labels_get(v->labels, v->n, name);
}

bool silences_match(const struct silences *c, struct label_view *v)
{
    for (size_t i = 0; i < c->n; i++)
        if (matcher_set_match(&c->v[i].set, label_view_get, v))
            return true;
    return false;
}

bool silences_match_payload(const struct silences *c, const cJSON *payload)
{
    const cJSON *ev = cJSON_GetObjectItemCaseSensitive(payload, "event");
    const cJSON *labels = cJSON_GetObjectItemCaseSensitive(ev, "labels");
    const cJSON *sev = cJSON_GetObjectItemCaseSensitive(ev, "severity");
    struct label_view v;
    struct label *ls;
    bool hit;

    if (c->n == 0 || !cJSON_IsObject(labels))
        return false;
    ls = labels_from_json(labels, &v.n);
    v.labels = ls;
    v.severity = cJSON_IsString(sev) ? sev->valuestring : "";
    hit = silences_match(c, &v);
    free(ls);
    return hit;
}
