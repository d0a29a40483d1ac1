/* config.h - the parsed and validated tocsin.yaml (SPEC section 2).
 * config_load reads the file with libyaml, expands ${VAR}, checks every key
 * and value, and reports every error as FILE:LINE:COL. Everything else reads
 * the structs below; they are immutable once loaded (a reload builds a new
 * config). */
#ifndef TOCSIN_CONFIG_H
#define TOCSIN_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "../ingest/parse.h"
#include "cfgnode.h"
#include "matcher.h"
#include "template.h"

enum severity { SEV_OK = 0, SEV_INFO = 1, SEV_WARNING = 2, SEV_CRITICAL = 3 };
#define SEV_NTIERS 3 /* tiers[0] info, [1] warning, [2] critical */

const char *severity_name(enum severity s);            /* "ok", "info", ... */
int severity_parse(const char *s, enum severity *out); /* 0 or -1; not "ok" */

enum agg_kind {
    AGG_LAST,
    AGG_MIN,
    AGG_MAX,
    AGG_AVG,
    AGG_SUM,
    AGG_COUNT,
    AGG_STDDEV,
    AGG_QUANTILE,
    AGG_APDEX,
    AGG_RATE,
    AGG_INCREASE,
};

struct aggregate {
    enum agg_kind kind;
    double param; /* AGG_QUANTILE: q in [0,1] (p90 -> 0.9, p99.9 -> 0.999);
                     AGG_APDEX: T */
};

/* "last", "p90", "p99.9", "apdex(300)", ... Returns 0 or -1. */
int aggregate_parse(const char *s, struct aggregate *out);

struct tier_cfg {
    bool present;
    bool above; /* true: breach when v > threshold; false: v < threshold */
    double threshold;
    bool has_clear;
    double clear;
    double for_s; /* seconds, default 0 */
    double clear_for_s;
    int line, col;
};

struct kv {
    char *key;
    char *value;
};

struct annotation {
    char *name;
    struct tmpl *tmpl;
};

struct rule {
    char *name;
    int line, col;
    char **metrics;
    size_t nmetrics;
    struct matcher_set where;
    char **by;
    size_t nby;
    double window;        /* seconds; 0 = no window (the newest sample) */
    struct aggregate agg; /* default last */
    bool has_ratio;
    struct matcher_set ratio;
    struct tier_cfg tiers[SEV_NTIERS];
    bool has_nodata;
    double nodata_after;
    enum severity nodata_sev; /* default SEV_WARNING */
    struct kv *labels;        /* in config order */
    size_t nlabels;
    struct annotation *annotations; /* in config order */
    size_t nannotations;
};

/* Event kinds a notifier may subscribe to (bit flags for `events:`). */
enum event_kind { EV_FIRING = 0, EV_ESCALATED, EV_DEESCALATED, EV_RESOLVED };
#define EV_MASK_ALL 0xfu
const char *event_kind_name(enum event_kind k);
int event_kind_parse(const char *s, enum event_kind *out);

struct notifier_ops;

/* One configured receiver (`notifiers:` entry). Common keys are parsed by
 * config.c; kind-specific ones by ops->configure into priv. */
struct notifier {
    char *name;
    const struct notifier_ops *ops;
    void *priv;
    int line, col;
    bool send_resolved;    /* default: defaults.send_resolved */
    unsigned events_mask;  /* bit (1u << enum event_kind); default all */
    double cooldown;       /* seconds, 0 = none */
    double timeout;        /* total per attempt, seconds (default 10s) */
    double max_retry_time; /* give up after this long (default 1h) */
    double retry_backoff;  /* first retry delay before jitter (`retry_backoff`,
                              default 1s; doubles per attempt, capped 5m) */
    double rate_per_s;     /* rate limit; 0 = none (Slack default 1/s) */
    double burst;          /* token bucket burst (Slack default 3) */
};

struct route {
    int line, col;
    struct matcher_set match; /* may name "severity" and "alertname" */
    size_t *notify;           /* indexes into config.notifiers */
    size_t nnotify;
    bool cont;
    bool has_repeat;
    double repeat_interval;
};

enum input_kind { INPUT_SCRAPE, INPUT_STATSD, INPUT_FILE };

struct input {
    enum input_kind kind;
    int line, col;
    char *url;         /* scrape */
    double interval;   /* scrape, default 15s */
    double timeout;    /* scrape, default 10s */
    struct kv *labels; /* scrape: extra labels */
    size_t nlabels;
    char *listen;              /* statsd: "host:port" */
    char *path;                /* file: resolved against the config folder */
    enum ingest_format format; /* file: default auto */
    bool follow;               /* file */
};

struct report_cfg {
    bool present;
    double every;   /* default 1w */
    char *at;       /* "Mon 09:00" or "09:00"; NULL = any time */
    int at_wday;    /* 0=Sun..6, -1 = any day */
    int at_minute;  /* minutes after local midnight, -1 = none */
    double since;   /* default: every */
    size_t *notify; /* indexes into config.notifiers */
    size_t nnotify;
};

struct config {
    char *path;                 /* as given */
    char *dir;                  /* its folder, for relative paths */
    char *store;                /* resolved; default "<dir>/tocsin.db" */
    char *listen;               /* NULL = no HTTP server */
    double evaluation_interval; /* default 10s */
    double checkpoint_interval; /* default 1m */
    double series_idle;         /* daemon: an ok series without samples
                                   this long is forgotten; default 1h,
                                   0 = never */
    struct report_cfg report;
    double repeat_interval; /* defaults.repeat_interval, default 4h */
    bool send_resolved;     /* defaults.send_resolved, default true */
    size_t *default_notify; /* defaults.notify, indexes */
    size_t ndefault_notify;
    struct input *inputs;
    size_t ninputs;
    struct notifier *notifiers;
    size_t nnotifiers;
    struct route *routes;
    size_t nroutes;
    struct rule *rules;
    size_t nrules;
};

/* Load and validate path. Returns the config, or NULL with every error in d
 * (d must be initialised by the caller with the file name). A missing or
 * unreadable file, or a directory, is one error at 0:0 ("FILE: cannot read:
 * No such file or directory"). */
struct config *config_load(const char *path, struct cfg_diag *d);
/* Parse a config from memory (tests, fuzzing); file is the name for errors,
 * dir the folder relative paths resolve against. */
struct config *config_load_buf(const char *text, size_t len, const char *file,
                               const char *dir, struct cfg_diag *d);
void config_free(struct config *c);

/* The keys config.c parses for every notifier (type, send_resolved, events,
 * cooldown, timeout, max_retry_time, retry_backoff, rate_limit, burst),
 * NULL-terminated: a kind's configure op passes it as `also` to
 * cfg_check_keys. */
extern const char *const config_common_notifier_keys[];

/* Index of the notifier called name, or -1. */
int config_notifier_index(const struct config *c, const char *name);
/* The rule called name, or NULL. */
const struct rule *config_rule(const struct config *c, const char *name);

/* Report in d the template errors of scalar n's value, which did not
 * compile: every one, each at its point in the file, or a single one at n
 * when the value came from the environment. suffix follows each message
 * ("" for none). */
void config_template_errors(const struct cfg_node *n, const char *suffix,
                            struct cfg_diag *d);

/* Like cfg_check_keys, with " in <ctx>" after each message (ctx NULL: no
 * suffix). Does nothing when map is NULL or not a map. */
void config_check_keys(const struct cfg_node *map, const char *const *allowed,
                       const char *ctx, struct cfg_diag *d);

#endif
