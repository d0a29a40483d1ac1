/* router.h - what happens to an alert event after the engine emits it
 * (SPEC sections 5 and 6): silences are checked, the event is appended to the
 * history and the current-alerts table, the routes pick receivers (plus every
 * receiver that already heard this alert), send_resolved / events / cooldown
 * filters apply, and one outbox row per notification is inserted — all in the
 * caller's open transaction, before any delivery. Also the repeat_interval
 * reminders. Used by eval, test (no store writes), notify-test and the daemon.
 */
#ifndef TOCSIN_ROUTER_H
#define TOCSIN_ROUTER_H

#include <stdbool.h>
#include <stdint.h>

#include "../common/err.h"
#include "../rules/config.h"
#include "../rules/event.h"
#include "../store/store.h"

struct router;

struct router *router_new(const struct config *cfg);
void router_free(struct router *r);

struct router_stats {
    uint64_t events;        /* recorded */
    uint64_t notifications; /* outbox rows inserted as pending */
    uint64_t silenced;      /* notifications recorded as silenced */
    uint64_t skipped;       /* notifications held back by `cooldown` */
};

/* Record ev (with its JSON line event_json) in s inside the caller's
 * transaction: history row (silenced flag), current alert row, outbox rows,
 * heard set. now is the wall-clock (silence activity, created times) —
 * eval passes the event's ts so replays are deterministic. Returns 0 or -1
 * (store error in e; the caller rolls back). *notified, if not NULL,
 * receives the number of pending outbox rows inserted. */
int router_record(struct router *r, struct store *s,
                  const struct alert_event *ev, const char *event_json,
                  double now, int *notified, struct err *e);

/* Insert repeat reminders for firing alerts whose receivers were last
 * notified at least repeat_interval ago. Inside the caller's transaction. */
int router_repeats(struct router *r, struct store *s, double now, int *notified,
                   struct err *e);

/* The caller's transaction was rolled back: what router_repeats wrote for
 * the receivers the config's routes added is gone, so its next call adds
 * them again. */
void router_rolled_back(struct router *r);

/* Replay mode (eval): an event is silenced by the silences active at its
 * own time and by those active at wall-clock time. */
void router_set_replay(struct router *r, bool replay);

/* Forget the cached silences (call after a silence was added or expired). */
void router_silences_changed(struct router *r);

void router_stats(const struct router *r, struct router_stats *out);

#endif
