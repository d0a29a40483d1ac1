/* metrics.c - tocsin's own metrics as Prometheus text (GET /metrics).
 * Counters are atomics so hot paths never take a lock; only the evaluation
 * histogram (one observation per writer batch) is behind a mutex. Every family
 * is written with HELP and TYPE, counters end in _total, so that
 * `promtool check metrics` accepts the page. */
#include "metrics.h"

#include <stdio.h>
#include <string.h>

static const double bucket_le[METRICS_NBUCKETS] = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
    0.1,    0.25,  0.5,    1,     2.5,  5,     10,
};

static const char *const input_names[MIN_N] = {"http", "scrape", "statsd",
                                               "file"};
static const char *const event_names[4] = {"firing", "escalated", "deescalated",
                                           "resolved"};
static const char *const sev_names[4] = {"ok", "info", "warning", "critical"};

const char *metrics_input_name(enum metrics_input in)
{
    return (unsigned)in < MIN_N ? input_names[in] : "unknown";
}

void metrics_init(struct metrics *m)
{
    size_t i;

    for (i = 0; i < MIN_N; i++) {
        atomic_init(&m->ingested[i], 0);
        atomic_init(&m->rejected[i], 0);
        atomic_init(&m->skipped[i], 0);
    }
    atomic_init(&m->late, 0);
    atomic_init(&m->reload_ok, 1);
    atomic_init(&m->loaded_at, 0);
    for (i = 0; i < 4; i++) {
        atomic_init(&m->events[i], 0);
        atomic_init(&m->firing[i], 0);
    }
    atomic_init(&m->series, 0);
    pthread_mutex_init(&m->hist_mu, NULL);
    memset(m->hist, 0, sizeof(m->hist));
    m->hist_count = 0;
    m->hist_sum = 0;
}

void metrics_cleanup(struct metrics *m)
{
    pthread_mutex_destroy(&m->hist_mu);
}

void metrics_observe_eval(struct metrics *m, double seconds)
{
    size_t i;

    if (!(seconds >= 0))
        seconds = 0;
    pthread_mutex_lock(&m->hist_mu);
    for (i = 0; i < METRICS_NBUCKETS; i++) {
        if (seconds <= bucket_le[i]) {
            m->hist[i]++;
            break;
        }
    }
    m->hist_count++;
    m->hist_sum += seconds;
    pthread_mutex_unlock(&m->hist_mu);
}

int metrics_label_value(struct buf *out, const char *s)
{
    for (; s != NULL && *s; s++) {
        if (*s == '\\')
            buf_adds(out, "\\\\");
        else if (*s == '"')
            buf_adds(out, "\\\"");
        else if (*s == '\n')
            buf_adds(out, "\\n");
        else
            buf_addc(out, *s);
    }
    return out->failed ? -1 : 0;
}

static void family(struct buf *out, const char *name, const char *type,
                   const char *help)
{
    buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void u64_line(struct buf *out, const char *name, const char *lname,
                     const char *lvalue, uint64_t v)
{
    buf_adds(out, name);
    if (lname != NULL) {
        buf_printf(out, "{%s=\"", lname);
        metrics_label_value(out, lvalue);
        buf_adds(out, "\"}");
    }
    buf_printf(out, " %llu\n", (unsigned long long)v);
}

static void render_notifications(struct buf *out, const struct metrics_extra *x)
{
    size_t i, k;

    family(out, "tocsin_notifications_total", "counter",
           "Notifications by receiver and outcome.");
    for (i = 0; x != NULL && i < x->nnotifiers; i++) {
        const struct metrics_notifier *n = &x->notifiers[i];
        const uint64_t v[5] = {n->sent, n->failed, n->retried, n->silenced,
                               n->skipped};
        static const char *const outcome[5] = {"sent", "failed", "retried",
                                               "silenced", "skipped"};
        for (k = 0; k < 5; k++) {
            buf_adds(out, "tocsin_notifications_total{notifier=\"");
            metrics_label_value(out, n->name);
            buf_printf(out, "\",outcome=\"%s\"} %llu\n", outcome[k],
                       (unsigned long long)v[k]);
        }
    }
}

static void render_scrapes(struct buf *out, const struct metrics_extra *x)
{
    size_t i;

    family(out, "tocsin_scrapes_total", "counter",
           "Scrapes by target and result.");
    for (i = 0; x != NULL && i < x->nscrapes; i++) {
        const struct metrics_scrape *s = &x->scrapes[i];
        uint64_t ok = 0, failed = 0;
        size_t j;

        /* Inputs scraping one URL (with other labels) are one series: a
         * label set appears once in an exposition. */
        for (j = 0; j < i && strcmp(x->scrapes[j].target, s->target) != 0; j++)
            ;
        if (j < i)
            continue;
        for (j = i; j < x->nscrapes; j++)
            if (strcmp(x->scrapes[j].target, s->target) == 0) {
                ok += x->scrapes[j].ok;
                failed += x->scrapes[j].failed;
            }
        buf_adds(out, "tocsin_scrapes_total{target=\"");
        metrics_label_value(out, s->target);
        buf_printf(out, "\",result=\"ok\"} %llu\n", (unsigned long long)ok);
        buf_adds(out, "tocsin_scrapes_total{target=\"");
        metrics_label_value(out, s->target);
        buf_printf(out, "\",result=\"failed\"} %llu\n",
                   (unsigned long long)failed);
    }
}

static void render_histogram(struct buf *out, struct metrics *m)
{
    uint64_t cum = 0, counts[METRICS_NBUCKETS], total;
    double sum;
    size_t i;
    char le[32];

    pthread_mutex_lock(&m->hist_mu);
    memcpy(counts, m->hist, sizeof(counts));
    total = m->hist_count;
    sum = m->hist_sum;
    pthread_mutex_unlock(&m->hist_mu);

    family(out, "tocsin_evaluation_duration_seconds", "histogram",
           "Time to evaluate and commit one group of ingest batches "
           "or one evaluation_interval timer pass.");
    for (i = 0; i < METRICS_NBUCKETS; i++) {
        cum += counts[i];
        snprintf(le, sizeof(le), "%g", bucket_le[i]);
        buf_printf(out,
                   "tocsin_evaluation_duration_seconds_bucket{le=\"%s\"} "
                   "%llu\n",
                   le, (unsigned long long)cum);
    }
    buf_printf(out,
               "tocsin_evaluation_duration_seconds_bucket{le=\"+Inf\"} %llu\n",
               (unsigned long long)total);
    buf_printf(out, "tocsin_evaluation_duration_seconds_sum %.9g\n", sum);
    buf_printf(out, "tocsin_evaluation_duration_seconds_count %llu\n",
               (unsigned long long)total);
}

int metrics_render(struct metrics *m, const struct metrics_extra *x,
                   struct buf *out)
{
    size_t i;

    family(out, "tocsin_samples_ingested_total", "counter",
           "Samples accepted by the parsers, by input.");
    for (i = 0; i < MIN_N; i++)
        u64_line(out, "tocsin_samples_ingested_total", "input", input_names[i],
                 atomic_load(&m->ingested[i]));
    family(out, "tocsin_samples_rejected_total", "counter",
           "Lines rejected by the parsers, by input.");
    for (i = 0; i < MIN_N; i++)
        u64_line(out, "tocsin_samples_rejected_total", "input", input_names[i],
                 atomic_load(&m->rejected[i]));
    family(out, "tocsin_samples_skipped_total", "counter",
           "Valid lines not evaluated, by input: a NaN or infinite value "
           "(Prometheus text, Graphite), or a scraped sample its target "
           "showed with the same timestamp before.");
    for (i = 0; i < MIN_N; i++)
        u64_line(out, "tocsin_samples_skipped_total", "input", input_names[i],
                 atomic_load(&m->skipped[i]));
    family(out, "tocsin_samples_late_total", "counter",
           "Samples dropped as older than their source series' newest.");
    u64_line(out, "tocsin_samples_late_total", NULL, NULL,
             atomic_load(&m->late));
    family(out, "tocsin_series", "gauge", "Rule series alive.");
    u64_line(out, "tocsin_series", NULL, NULL, atomic_load(&m->series));
    family(out, "tocsin_alerts_firing", "gauge",
           "Alerts whose severity is not ok, by severity.");
    for (i = 1; i < 4; i++)
        u64_line(out, "tocsin_alerts_firing", "severity", sev_names[i],
                 atomic_load(&m->firing[i]));
    family(out, "tocsin_events_total", "counter", "Alert events by kind.");
    for (i = 0; i < 4; i++)
        u64_line(out, "tocsin_events_total", "event", event_names[i],
                 atomic_load(&m->events[i]));
    render_notifications(out, x);
    family(out, "tocsin_outbox_pending", "gauge",
           "Notifications waiting for delivery.");
    if (x == NULL || x->outbox_pending >= 0)
        u64_line(out, "tocsin_outbox_pending", NULL, NULL,
                 x ? (uint64_t)x->outbox_pending : 0);
    render_histogram(out, m);
    render_scrapes(out, x);
    family(out, "tocsin_config_last_reload_successful", "gauge",
           "1 when the last config loaded (at start or on SIGHUP) was "
           "taken, 0 when it was rejected and the one before runs on.");
    u64_line(out, "tocsin_config_last_reload_successful", NULL, NULL,
             atomic_load(&m->reload_ok));
    family(out, "tocsin_config_last_reload_success_timestamp_seconds", "gauge",
           "When the running config was loaded, Unix seconds.");
    u64_line(out, "tocsin_config_last_reload_success_timestamp_seconds", NULL,
             NULL, atomic_load(&m->loaded_at));
    family(out, "tocsin_build_info", "gauge",
           "Always 1; the version is a label.");
    u64_line(out, "tocsin_build_info", "version",
             x && x->version ? x->version : "unknown", 1);
    return out->failed ? -1 : 0;
}
