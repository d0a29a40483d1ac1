/* tier.h - one severity tier's state machine (SPEC section 4):
 *
 *   ok        --breach-->                         pending (firing when for = 0)
 *   pending   --no breach-->                      ok
 *   pending   --breach held for `for`-->          firing
 *   firing    --recovered-->                      resolving (ok when clear_for
 * = 0) resolving --not recovered-->                  firing resolving
 * --recovered held for `clear_for`--> ok
 *
 * Hysteresis: a tier that fired stays firing until the value crosses its
 * `clear` level, not merely back over the threshold. Without it a value
 * hovering at the threshold would fire and resolve on every sample; the band
 * between `above` and `clear` absorbs that noise. Called by the engine. */
#ifndef TOCSIN_TIER_H
#define TOCSIN_TIER_H

#include <stdbool.h>

#include "config.h"

enum tier_state { TIER_OK = 0, TIER_PENDING, TIER_FIRING, TIER_RESOLVING };

struct tier_run {
    unsigned char st; /* enum tier_state */
    double since;     /* time of the evaluation that began pending/resolving */
};

/* Step the tier at time t with value v. Timed transitions happen at the
 * first evaluation at which the condition has held for at least its
 * duration, measured from the evaluation that began it. */
void tier_step(const struct tier_cfg *c, struct tier_run *r, double t,
               double v);

/* The highest tier that is firing or resolving, or SEV_OK. */
enum severity tier_severity(const struct tier_cfg cfg[SEV_NTIERS],
                            const struct tier_run run[SEV_NTIERS]);

/* True when any tier is not ok (pending counts: its timer must survive). */
bool tier_any_active(const struct tier_run run[SEV_NTIERS]);

#endif
