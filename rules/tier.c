/* tier.c - the per-tier state machine with hysteresis and hold timers. */
#include "tier.h"

#include "../common/util.h"

static bool tier_breach(const struct tier_cfg *c, double v)
{
    return c->above ? v > c->threshold : v < c->threshold;
}

static bool tier_recovered(const struct tier_cfg *c, double v)
{
    if (!c->has_clear)
        return !tier_breach(c, v);
    return c->above ? v <= c->clear : v >= c->clear;
}

void tier_step(const struct tier_cfg *c, struct tier_run *r, double t, double v)
{
    switch (r->st) {
    case TIER_OK:
        if (tier_breach(c, v)) {
            r->since = t;
            r->st = c->for_s <= 0 ? TIER_FIRING : TIER_PENDING;
        }
        break;
    case TIER_PENDING:
        if (!tier_breach(c, v))
            r->st = TIER_OK;
        else if (t - r->since >= c->for_s - UTIL_TIME_EPS)
            r->st = TIER_FIRING;
        break;
    case TIER_FIRING:
        if (tier_recovered(c, v)) {
            r->since = t;
            r->st = c->clear_for_s <= 0 ? TIER_OK : TIER_RESOLVING;
        }
        break;
    case TIER_RESOLVING:
        if (!tier_recovered(c, v))
            r->st = TIER_FIRING;
        else if (t - r->since >= c->clear_for_s - UTIL_TIME_EPS)
            r->st = TIER_OK;
        break;
    default:
        r->st = TIER_OK;
    }
}

enum severity tier_severity(const struct tier_cfg cfg[SEV_NTIERS],
                            const struct tier_run run[SEV_NTIERS])
{
    for (int i = SEV_NTIERS - 1; i >= 0; i--)
        if (cfg[i].present &&
            (run[i].st == TIER_FIRING || run[i].st == TIER_RESOLVING))
            return (enum severity)(i + 1);
    return SEV_OK;
}

bool tier_any_active(const struct tier_run run[SEV_NTIERS])
{
    for (int i = 0; i < SEV_NTIERS; i++)
        if (run[i].st != TIER_OK)
            return true;
    return false;
}
