/* schedule.h - when the daemon sends the scheduled noisy-alert report
 * (`report: {every, at}` in tocsin.yaml). Pure functions of the config, the
 * local time zone (TZ, through localtime_r/mktime) and the last send time,
 * plus two wrappers that keep that time in the store's meta table
 * ("report.last_sent") so a report goes out once per period even across
 * restarts. Called by the daemon's timer. */
#ifndef TOCSIN_REPORT_SCHEDULE_H
#define TOCSIN_REPORT_SCHEDULE_H

#include <stdbool.h>

#include "../common/err.h"
#include "../rules/config.h"
#include "../store/store.h"

#define REPORT_META_LAST_SENT "report.last_sent"

/* The start of the period that contains now: the latest slot <= now.
 *  - `at` with a weekday ("Mon 09:00"): that local weekday and time;
 *  - `at` with a time only ("09:00"): that local time, every day;
 *  - no `at`: multiples of `every` since the Unix epoch (UTC).
 * Local times go through mktime, so a DST change keeps 09:00 at 09:00 (a
 * time skipped by a spring-forward change falls on the first valid time
 * after it). */
double report_schedule_prev_slot(const struct report_cfg *rc, double now);
/* The first slot strictly after now. */
double report_schedule_next_slot(const struct report_cfg *rc, double now);

/* Whether a report is due at now, given the last send time (last_sent < 0:
 * never sent). Due when a slot has passed since the last send; when `every`
 * is longer than the slot spacing (every: 2w with "Mon 09:00"), the slot
 * must also be at least every - half a spacing after the last send. A store
 * that never sent is due at once. *next (may be NULL) receives the time of
 * the next due slot assuming no send happens now (or, when due now, the slot
 * after a send at now). */
bool report_schedule_due(const struct report_cfg *rc, double now,
                         double last_sent, double *next);

/* report_schedule_due with the last send time read from the store's meta
 * table. 0, or -1 with e set (store error). */
int report_schedule_check(struct store *s, const struct report_cfg *rc,
                          double now, bool *due, double *next, struct err *e);
/* Record a send at `when` (call in the transaction that queues the report's
 * outbox rows, so a crash cannot send twice or lose the mark). 0 or -1. */
int report_schedule_mark_sent(struct store *s, double when, struct err *e);
/* The recorded last send time, or -1 when none. 0 or -1 (store error). */
int report_schedule_last_sent(struct store *s, double *last, struct err *e);

#endif
