/* engine.h - the rule engine (SPEC section 4): routes samples to rule series,
 * keeps each series' window and tier state machines, and emits an event
 * whenever a series' severity changes. Pure computation: no I/O, no clock of
 * its own (every call passes the time). Called by eval, test and the daemon. */
#ifndef TOCSIN_ENGINE_H
#define TOCSIN_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/buf.h"
#include "../common/err.h"
#include "../ingest/sample.h"
#include "config.h"
#include "event.h"

struct engine;

/* Called for each event, in order. ev and everything it points to are valid
 * only during the call. Return 0 to go on. */
typedef int (*engine_event_fn)(void *ctx, const struct alert_event *ev);

/* The engine reads cfg (rules) and keeps a pointer to it: cfg must outlive
 * the engine or be replaced through engine_reload. */
struct engine *engine_new(const struct config *cfg);
void engine_free(struct engine *e);

struct engine_stats {
    uint64_t samples; /* accepted samples fed */
    uint64_t late;    /* dropped: older than their source's newest */
    uint64_t matched; /* sample-to-rule matches */
    uint64_t events;
    size_t series;    /* rule series alive */
    size_t sources;   /* source series tracked */
    size_t firing[4]; /* series by severity (index enum severity) */
};

/* Feed one sample. s->ts must be set (the caller replaces NAN by arrival
 * time). Updates every matching rule series and evaluates it at its newest
 * sample time; calls cb for each event. Returns 1 if the sample was late
 * (dropped), 0 otherwise, or the nonzero value cb returned. */
int engine_feed(struct engine *e, const struct sample *s, engine_event_fn cb,
                void *ctx);
/* The same for a sample that came without a timestamp, s->ts being its
 * arrival time: it is never late. Inputs hand their batches over in an
 * order that is not always the one they arrived in (a small request
 * overtakes a big one still being parsed), so when its source has a newer
 * sample it takes that sample's time instead. */
int engine_feed_unstamped(struct engine *e, const struct sample *s,
                          engine_event_fn cb, void *ctx);

/* The stream clock: emit the nodata events whose deadline (newest sample +
 * nodata.after) is <= t, each stamped with its deadline, in deadline order.
 * engine_feed advances the clock to each sample's time by itself, passing
 * only the deadlines before it: those equal to it wait for a later sample or
 * this call, as another line of that time may keep its series out of
 * nodata. */
int engine_advance(struct engine *e, double t, engine_event_fn cb, void *ctx);
/* The same, but only the deadlines before t: those at t wait (a later
 * piece of the stream may hold a sample of that time). */
int engine_advance_before(struct engine *e, double t, engine_event_fn cb,
                          void *ctx);
/* The newest sample time fed (or restored), or 0. */
double engine_clock(const struct engine *e);

/* The daemon timer: evaluate every series at wall-clock time now (completes
 * for/clear_for and nodata when no sample arrives); a series whose newest
 * sample came late (engine_set_arrival) at now minus that lag. */
int engine_tick(struct engine *e, double now, engine_event_fn cb, void *ctx);

/* The wall-clock time the samples fed next arrived (the daemon: a batch's
 * arrival), so that engine_tick knows how late each series' newest sample
 * came. NAN (the default, replays): not known. */
void engine_set_arrival(struct engine *e, double arrival);

/* The daemon's memory under label churn: forget every series that is ok
 * (no tier pending or resolving, not in nodata, its rule without nodata),
 * whose window is empty and that has had no sample for idle seconds of
 * wall clock (now), and every source without a sample for idle seconds or
 * the longest window, whichever is longer. A later sample starts such a
 * series or source afresh. For samples stamped after its last one that is
 * what keeping it would have given; one stamped before it (a backfill, or
 * a source lagging behind another of the series, by more than idle) is
 * judged as by a new series, without the old window, and one older than
 * a forgotten source's newest is no longer recognised as late. del is
 * called with the key of each
 * forgotten series that has a row in the store (the row must go, or a
 * restart would bring it back); if it fails, nothing is forgotten and -1
 * is returned. *forgot (may be NULL) gets the number of series forgotten.
 * A time not known yet (a restored series, a replayed sample) counts from
 * the first call that sees it. */
typedef int (*engine_del_fn)(void *ctx, const char *key);
int engine_forget(struct engine *e, double now, double idle, engine_del_fn del,
                  void *ctx, size_t *forgot);

void engine_stats(const struct engine *e, struct engine_stats *out);

/* Iterate over the firing series (severity != ok) for `tocsin test` and
 * GET /api/v1/alerts: labels as in events, severity, value. */
typedef int (*engine_alert_fn)(void *ctx, const char *rule,
                               const struct label *labels, size_t nlabels,
                               enum severity sev, double value, bool has_value,
                               double since, const char *fingerprint);
int engine_foreach_alert(const struct engine *e, engine_alert_fn cb, void *ctx);

/* Persistence. engine_save calls put for the series to keep, each with an
 * opaque blob holding its state and its window; key is a stable id of the
 * series ("rule\x1f" then its `by` values joined by \x1f). A commit
 * (with_windows false) puts the series whose tier state changed and that
 * are active or were saved before; a checkpoint (with_windows) also puts
 * every series that received samples since its last save, plus the source
 * table's clock under a key of its own; `all` puts every series. Rows of
 * series that no longer exist stay in the store; engine_restore skips
 * them. 0, or -1 when a blob could not be built or put failed. */
typedef int (*engine_put_fn)(void *ctx, const char *key, const char *rule,
                             const char *fingerprint, const void *blob,
                             size_t len);
int engine_save(struct engine *e, bool with_windows, bool all,
                engine_put_fn put, void *ctx);
/* Only the sources' newest times and the stream clock (what engine_save
 * with windows adds): what makes input fed again late. 0 or -1. */
int engine_save_sources(struct engine *e, engine_put_fn put, void *ctx);
/* Restore one series saved by engine_save. Blobs of rules that no longer
 * exist, or that changed incompatibly, are skipped (returns 1). 0 restored,
 * -1 corrupt (err set). */
int engine_restore(struct engine *e, const char *key, const void *blob,
                   size_t len, struct err *err);

/* Hash of everything in a rule that shapes its series' state: a changed
 * rule starts fresh after a restore or a reload. */
uint64_t engine_rule_hash(const struct rule *r);

/* Replace the config (SIGHUP): series of rules whose definition is unchanged
 * keep their state; others start fresh. */
void engine_reload(struct engine *e, const struct config *cfg);

#endif
