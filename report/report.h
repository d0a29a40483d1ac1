/* report.h - the noisy-alert report (SPEC section 9): per-rule figures
 * computed from the store's history and outbox, ranked by a noise score, and
 * rendered as text, markdown, CSV, JSON or a self-contained HTML page.
 * Called by `tocsin report` (cmd/cmd_report.c) and by the daemon's weekly
 * schedule (report_build_payload, with report/schedule.h). */
#ifndef TOCSIN_REPORT_H
#define TOCSIN_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/buf.h"
#include "../common/err.h"
#include "../store/store.h"

/* Thresholds above which a rule is flagged "noisy" (docs/report.md). A rule
 * needs at least REPORT_NOISY_MIN_FIRED firings before it can be flagged. */
#define REPORT_NOISY_MIN_FIRED 3
#define REPORT_NOISY_SCORE 5.0
#define REPORT_NOISY_FLAP_RATIO 0.3
#define REPORT_NOISY_SHORT_RATIO 0.5

#define REPORT_DEFAULT_SHORT 300.0          /* --short default: 5m */
#define REPORT_DEFAULT_PERIOD (7 * 86400.0) /* without --since: a week */

/* Firing events of one UTC day. */
struct report_day {
    int64_t day; /* days since 1970-01-01 (UTC) */
    int64_t n;
};

struct report_rule {
    char *rule;
    int64_t fired, escalated, resolved, deescalated;
    int64_t series;                 /* distinct fingerprints with events */
    int64_t sent, failed, silenced; /* notifications */
    size_t nepisodes;               /* firing episodes with a known start */
    double median_s, p90_s;         /* of episode durations; 0 when none */
    int64_t short_lived, flapping;
    struct report_day *days; /* ascending, only days with firings */
    size_t ndays;
    double fires_per_day;
    double short_ratio; /* short_lived / fired */
    double flap_ratio;  /* flapping / fired */
    double noise_score;
    bool noisy;
    const char *suggestion; /* static string; NULL unless noisy */
};

struct report {
    double since, until, short_s;
    double period_days;        /* (until - since) / 1 day, at least 1 */
    struct report_rule *rules; /* noisiest first */
    size_t nrules;
};

/* Compute the report over events with since <= ts <= until and outbox rows
 * (kinds "event" and "repeat") created in the same range. short_s is the
 * --short duration in seconds. Returns 0 and *out (free with report_free),
 * or -1 with e set (store error, since > until). */
int report_compute(struct store *s, double since, double until, double short_s,
                   struct report **out, struct err *e);
void report_free(struct report *r);

/* The noise score formula and the noisy flag/suggestion, applied to a rule
 * whose counts are filled in (exposed for tests). */
void report_rule_score(struct report_rule *rr, double period_days);

/* Prometheus-style quantile (linear interpolation between closest ranks) of
 * the n values in v, which this sorts in place. 0 for n == 0. */
double report_quantile(double *v, size_t n, double q);

enum report_format {
    REPORT_TEXT,
    REPORT_MARKDOWN,
    REPORT_JSON,
    REPORT_CSV,
    REPORT_HTML,
};
/* "text", "markdown" (or "md"), "json", "csv", "html". 0 or -1. */
int report_format_parse(const char *s, enum report_format *out);

/* Renderers: append the report to out. 0, or -1 when out failed (too big or
 * out of memory). Each is pure: same report, same bytes. */
int report_format_text(const struct report *r, struct buf *out);
int report_format_markdown(const struct report *r, struct buf *out);
int report_format_csv(const struct report *r, struct buf *out);
int report_format_json(const struct report *r, struct buf *out);
int report_format_html(const struct report *r, struct buf *out);
int report_format(const struct report *r, enum report_format f,
                  struct buf *out);

/* "tocsin noisy-alert report, 2026-11-16 to 2026-11-23" (UTC dates). */
void report_title(const struct report *r, char *out, size_t outlen);

/* The notification payload for kind "report" (notifiers/notifier.h):
 * {"report": {"title", "text", "markdown", "html", "json": {...}}}.
 * 0 and *payload_json (free()), or -1 with e set. */
int report_payload_json(const struct report *r, char **payload_json,
                        struct err *e);
/* report_compute + report_payload_json: what the daemon's scheduler calls
 * before inserting one outbox row of kind "report" per receiver. */
int report_build_payload(struct store *s, double since, double until,
                         double short_s, char **payload_json, struct err *e);

#endif
