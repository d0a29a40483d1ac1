/* silences.h - the active silences of a store, cached (SPEC section 6): the
 * router checks each event against them when it is recorded, the dispatcher
 * each notification again when it is due, so a silence added while a
 * notification waits (retrying, rate limited) still holds it back. */
#ifndef TOCSIN_SILENCES_H
#define TOCSIN_SILENCES_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#include "../common/err.h"
#include "../common/labels.h"
#include "../store/store.h"

/* Silences are re-read at most this often (seconds of `now`), after
 * silences_invalidate, and when one of them starts or ends. */
#define SILENCES_REFRESH 5.0

struct silence_entry;

struct silences {
    struct silence_entry *v;
    size_t n;
    bool valid;
    double loaded; /* `now` of the last load */
    double until;  /* the set holds for `now` before this */
    bool at_now;   /* loading the silences active at `now` */
    bool replay;   /* also those active at wall-clock time */
    uint64_t ids; /* a hash of the loaded silences' ids: changes with the set */
};

/* Zeroed memory is an empty cache too. */
void silences_init(struct silences *c);
void silences_cleanup(struct silences *c);
/* Forget the cached set (a silence was added or expired). */
void silences_invalidate(struct silences *c);
/* Replay mode (eval): `now` is an event's own time, and the silences active
 * at wall-clock time apply as well. */
void silences_set_replay(struct silences *c, bool replay);
/* Make the cache hold the silences active at now (a store read only when
 * it does not already). 0, or -1 with e set. */
int silences_load(struct silences *c, struct store *s, double now,
                  struct err *e);

/* Label lookup for matchers: the alert's labels, with `severity` the
 * event's new severity whatever the labels say (SPEC section 6). */
struct label_view {
    const struct label *labels;
    size_t n;
    const char *severity;
};

/* matcher_get_fn over a struct label_view. */
const char *label_view_get(void *ctx, const char *name);

/* Whether a loaded silence matches v. */
bool silences_match(const struct silences *c, struct label_view *v);

/* Whether a loaded silence matches the event of an outbox payload (parsed
 * JSON: its "event" object's labels and severity); false without them. */
bool silences_match_payload(const struct silences *c, const cJSON *payload);

#endif
