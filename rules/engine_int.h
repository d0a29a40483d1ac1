/* engine_int.h - the engine's records, shared by engine.c (feeding,
 * evaluation, events) and engine_persist.c (saving, restoring, reloading).
 * Internal to rules/engine*.c: nothing else includes it. */
#ifndef TOCSIN_ENGINE_INT_H
#define TOCSIN_ENGINE_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "../common/buf.h"
#include "../common/htab.h"
#include "engine.h"
#include "tier.h"

#define BLOB_VERSION 1
#define SOURCES_KEY                                                            \
    "\x1f"                                                                     \
    "sources"

struct metric_ent {
    struct hnode node;
    size_t *rules; /* indexes into cfg->rules */
    size_t nrules;
    char name[];
};

/* Which series of each rule a source feeds is a function of the source's
 * labels alone (`where` and `by` read nothing else), so it is looked up
 * once and cached here: later samples of the source skip the matchers and
 * the series table. One rule: `cache` is the series itself; several: an
 * array of ncache slots. NOMATCH marks a rule whose `where` rejects it. */
struct source {
    struct hnode node;
    double newest;
    double seen; /* wall clock of its last sample (daemon; NAN: unknown) */
    void *cache;
    uint32_t ncache;
    uint32_t keylen;
    char key[]; /* metric \0 name \0 value \0 ... (sorted) */
};

#define NOMATCH ((struct series *)1)

/* One allocation per series: this record, then its event labels, then the
 * key and the label strings (an idle series must stay small: 100k of them
 * is a normal deployment). */
struct series {
    struct hnode node;
    const struct rule *rule;
    uint32_t nlabels;  /* event labels: SLABELS(s) */
    uint32_t heap_idx; /* position in the nodata heap, NO_HEAP if none */
    uint64_t fp;       /* fingerprint (printed as 16 hex digits) */
    struct window *win;
    double tier_since[SEV_NTIERS];     /* struct tier_run, unpacked: */
    unsigned char tier_st[SEV_NTIERS]; /* 24 bytes fewer per series */
    unsigned char sev;                 /* enum severity */
    bool nodata;                       /* severity comes from nodata */
    bool has_samples;
    bool has_value;
    bool state_dirty; /* state changed since the last save */
    bool win_dirty;   /* samples arrived since the last save */
    bool listed;      /* in engine.dirty */
    bool saved;       /* a row exists in the store */
    bool gone;        /* engine_forget: being forgotten */
    bool fed;         /* fed a sample by this process (not only restored) */
    double newest;    /* newest sample time */
    double seen;      /* wall clock of its last sample (the daemon's batch
                         arrival; NAN: unknown, as in a replay or since a
                         restart) */
    double lag;       /* daemon: how far newest was behind the wall clock
                         when that sample came (0: unknown, or on time) */
    float spacing[4]; /* daemon: the wall-clock spacings between its last
                         arrivals, a ring (engine_cadence) */
    unsigned char spacing_at;
    double evald;     /* daemon: its clock: the timer's judgement that
                         changed it or moved its window (events and later
                         samples are judged no earlier) */
    double wt;        /* daemon: where the timer last took its window, past
                         its newest sample (once overdue) */
    double starts_at; /* when severity last left ok */
    double value;     /* the last aggregate */
};

#define NO_HEAP UINT32_MAX

/* The event labels follow the record; the key (rule name \x1f by values
 * joined by \x1f) follows the labels. */
#define SLABELS(s) ((struct label *)((s) + 1))
#define SKEY(s) ((const char *)(SLABELS(s) + (s)->nlabels))

struct engine {
    const struct config *cfg;
    uint64_t *rule_hashes;
    struct htab metrics;
    struct htab sources;
    struct htab series;
    struct series **dirty; /* series changed since their last save: a
                              commit looks at these, not at every series */
    size_t ndirty, capdirty;
    struct series **heap; /* nodata deadlines, min-heap */
    size_t nheap, capheap;
    struct engine_stats st;
    struct buf keybuf; /* scratch: source and series keys */
    struct buf annbuf; /* scratch: rendered annotations */
    struct buf annone; /* scratch: the annotation being rendered */
    struct label *ann; /* scratch: annotation pairs */
    size_t cap_ann;
    double clock;   /* newest sample time seen (stream clock) */
    double arrival; /* wall-clock time of the samples fed (NAN: none) */
};

/* Collecting series or sources into an array (engine_collect_cb). */
struct tick_ctx {
    struct engine *e;
    double now;
    engine_event_fn cb;
    void *ctx;
    int rc;
    struct series **list;
    size_t n;
};

/* s's cadence: how often its data arrives, the longest of the spacings in
 * its ring (0: unknown). */
double engine_cadence(const struct series *s);
/* The time the daemon's timer judges s at, wall clock now (engine_tick):
 * now less the series' lag, never before its newest sample or an earlier
 * judgement. */
double engine_tick_time(const struct series *s, double now);
/* Where the timer, judging s at t (engine_tick_time) at wall clock now,
 * takes its window: at t once its next arrival is overdue, else where its
 * samples (or an earlier overdue tick) left it. */
double engine_window_time(const struct series *s, double t, double now);
/* Set a series' dirty flag (state or window) and list it for the next
 * save. */
void engine_mark_dirty(struct engine *e, struct series *s, bool state);
/* After s->newest moved forward or s was (re)created: its place in the
 * nodata heap. */
void engine_heap_update(struct engine *e, struct series *s);
/* Create the series of rule rule_idx with this key (rule name \x1f by
 * values) and hash; byvals are its by values. Inserted in the table. */
struct series *engine_series_new(struct engine *e, size_t rule_idx,
                                 const char *key, size_t keylen, uint64_t h,
                                 const char *const *byvals);
struct series *engine_series_find(const struct engine *e, const char *key,
                                  size_t keylen, uint64_t h);
void engine_series_free(struct series *s);
/* The source whose key is in e->keybuf (hash h), created if new. */
struct source *engine_source_get(struct engine *e, uint64_t h);
/* Forget a source's cached series (htab_foreach callback). */
void engine_source_forget_cb(struct hnode *n, void *ctx);
/* Every series, in a malloc'd array (free it). */
struct series **engine_series_list(struct engine *e, size_t *n);
/* Every source, in a malloc'd array (free it). */
struct source **engine_sources_list(struct engine *e, size_t *n);
/* htab_foreach callback appending to a struct tick_ctx's list. */
void engine_collect_cb(struct hnode *n, void *ctx);
void engine_fp_hex(const struct series *s, char out[17]);
/* (Re)build the metric -> rules index and the rule hashes. */
void engine_build_index(struct engine *e);

#endif
