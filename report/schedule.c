/* schedule.c - when the scheduled noisy-alert report is due (see
 * schedule.h). Slots are computed in local time with mktime so that
 * "Mon 09:00" stays 09:00 across DST changes; the last send time lives in
 * the store's meta table so a restart does not send a period's report
 * twice. Called by the daemon's timer. */
#include "schedule.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "../common/util.h"

#define DAY_S 86400.0
#define WEEK_S (7 * DAY_S)
#define MAX_STEPS 1000 /* bound on slot walks (every: 1y of daily slots...) */

static double every_of(const struct report_cfg *rc)
{
    return rc->every > 0 ? rc->every : WEEK_S;
}

static bool has_at(const struct report_cfg *rc)
{
    return rc->at_wday >= 0 || rc->at_minute >= 0;
}

/* Distance between two candidate slots. */
static double spacing(const struct report_cfg *rc)
{
    if (rc->at_wday >= 0)
        return WEEK_S;
    if (rc->at_minute >= 0)
        return DAY_S;
    return every_of(rc);
}

/* The local time `minute` on the day `days` after now's local date; its
 * weekday in *wday. */
static double local_slot(const struct tm *base, int days, int minute, int *wday)
{
    struct tm t = {0};
    time_t r;

    t.tm_year = base->tm_year;
    t.tm_mon = base->tm_mon;
    t.tm_mday = base->tm_mday + days;
    t.tm_hour = minute / 60;
    t.tm_min = minute % 60;
    t.tm_isdst = -1; /* let mktime decide, for the slot's own date */
    r = mktime(&t);
    *wday = t.tm_wday;
    return (double)r;
}

static int minute_of(const struct report_cfg *rc)
{
    return rc->at_minute >= 0 ? rc->at_minute : 0;
}

double report_schedule_prev_slot(const struct report_cfg *rc, double now)
{
    struct tm lt;
    time_t tn = (time_t)floor(now);

    if (!has_at(rc)) {
        double ev = every_of(rc);
        return floor(now / ev) * ev;
    }
    localtime_r(&tn, &lt);
    for (int k = 0; k <= 8; k++) {
        int wday;
        double t = local_slot(&lt, -k, minute_of(rc), &wday);
        if ((rc->at_wday < 0 || wday == rc->at_wday) && t <= now)
            return t;
    }
    return now - spacing(rc); /* unreachable: a week always holds one */
}

double report_schedule_next_slot(const struct report_cfg *rc, double now)
{
    struct tm lt;
    time_t tn = (time_t)floor(now);

    if (!has_at(rc)) {
        double ev = every_of(rc);
        return (floor(now / ev) + 1) * ev;
    }
    localtime_r(&tn, &lt);
    for (int k = 0; k <= 8; k++) {
        int wday;
        double t = local_slot(&lt, k, minute_of(rc), &wday);
        if ((rc->at_wday < 0 || wday == rc->at_wday) && t > now)
            return t;
    }
    return now + spacing(rc);
}

/* How long after a send the next slot must be: with `every` longer than the
 * slot spacing (every: 2w, at: "Mon 09:00") only every other slot counts.
 * Half a spacing of slack absorbs a late send and DST hours. */
static double min_gap(const struct report_cfg *rc)
{
    double sp = spacing(rc), ev = every_of(rc);
    return has_at(rc) && ev > sp ? ev - sp / 2 : 0;
}

/* The first slot after `after` that is at least min_gap after `last`. */
static double next_due_slot(const struct report_cfg *rc, double after,
                            double last)
{
    double gap = min_gap(rc);
    double t = report_schedule_next_slot(rc, after);

    for (int i = 0; i < MAX_STEPS && (t <= last || t - last < gap); i++)
        t = report_schedule_next_slot(rc, t);
    return t;
}

bool report_schedule_due(const struct report_cfg *rc, double now,
                         double last_sent, double *next)
{
    double prev = report_schedule_prev_slot(rc, now);
    bool due;

    if (last_sent < 0)
        due = true;
    else
        due = last_sent < prev && prev - last_sent >= min_gap(rc);
    if (next != NULL)
        *next = next_due_slot(rc, now, due ? now : last_sent);
    return due;
}

int report_schedule_last_sent(struct store *s, double *last, struct err *e)
{
    /* No mark, or one that cannot be read: never sent. */
    *last = -1;
    return store_meta_number(s, REPORT_META_LAST_SENT, last, e) < 0 ? -1 : 0;
}

int report_schedule_check(struct store *s, const struct report_cfg *rc,
                          double now, bool *due, double *next, struct err *e)
{
    double last;

    if (report_schedule_last_sent(s, &last, e) < 0)
        return -1;
    *due = report_schedule_due(rc, now, last, next);
    return 0;
}

int report_schedule_mark_sent(struct store *s, double when, struct err *e)
{
    char v[64];

    snprintf(v, sizeof(v), "%.3f", when);
    return store_meta_put(s, REPORT_META_LAST_SENT, v, e) < 0 ? -1 : 0;
}
