/* daemon.c - `tocsin run`: startup, signals, reload and shutdown (SPEC
 * sections 10 and 11). The main thread only waits on a signalfd; every
 * signal is handled there, never inside a handler. Threads: the writer
 * (pipeline), the dispatcher, libmicrohttpd's listener plus one per
 * connection, the scraper, one per StatsD listener and one per file. */
#include "daemon.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/util.h"
#include "../common/version.h"
#include "../notifiers/dispatch.h"
#include "../notifiers/notifier.h"
#include "../report/report.h"
#include "../report/schedule.h"
#include "../rules/engine.h"
#include "../rules/pipeline.h"
#include "../store/store.h"
#include "api.h"
#include "http.h"
#include "inputs.h"

#define DAEMON_DISPATCH_GRACE 5.0 /* seconds for in-flight deliveries */

const struct config *daemon_config(struct daemon_ctx *d)
{
    const struct config *c;

    pthread_mutex_lock(&d->cfg_mu);
    c = d->cfg;
    pthread_mutex_unlock(&d->cfg_mu);
    return c;
}

/* --- the writer's view of the pipeline --- */

static int w_feed(void *ctx, const struct sample *s, double arrival,
                  struct err *e)
{
    struct daemon_ctx *d = ctx;

    return pipeline_feed(d->pipeline, s, arrival, e);
}

static int w_commit(void *ctx, int *events, struct err *e)
{
    struct daemon_ctx *d = ctx;
    int rc = pipeline_commit(d->pipeline, events, e);

    /* /healthz says whether the store takes writes: a failed commit says
     * it does not, until one with ingested samples goes through (see
     * w_committed); a timer pass's few rows may still fit a full disk. */
    if (rc < 0)
        atomic_store(&d->store_failing, 1);
    return rc;
}

/* The weekly noisy-alert report (`report:` in the config): when a slot has
 * passed since the last send recorded in the store, queue one outbox row of
 * kind "report" per receiver and record the send in the same transaction,
 * so a restart neither repeats nor loses it. Runs on the writer thread. */
/* A report section that names no receiver (no notify, no defaults.notify)
 * is accepted, for the CLI's sake, but said once per config. */
static void report_warn_unsent(const struct config *cfg)
{
    if (cfg->report.present && cfg->report.nnotify == 0)
        log_warn("report",
                 "report has no notify and there is no defaults.notify: no "
                 "scheduled report is sent");
}

static void report_if_due(struct daemon_ctx *d, double now)
{
    const struct config *cfg = daemon_config(d);
    const struct report_cfg *rc = &cfg->report;
    struct err e = {0};
    bool due = false;
    char *payload = NULL;
    double slot;

    if (!rc->present || rc->nnotify == 0)
        return;
    if (pipeline_commit(d->pipeline, NULL, &e) < 0 ||
        report_schedule_check(d->wstore, rc, now, &due, NULL, &e) < 0) {
        log_error("report", "schedule: %s", e.msg);
        return;
    }
    if (!due)
        return;
    slot = report_schedule_prev_slot(rc, now);
    if (report_build_payload(d->wstore, now - rc->since, now, 300, &payload,
                             &e) < 0) {
        log_error("report", "cannot build the report: %s", e.msg);
        return;
    }
    if (store_begin(d->wstore, &e) < 0) {
        log_error("report", "%s", e.msg);
        free(payload);
        return;
    }
    for (size_t i = 0; i < rc->nnotify; i++) {
        const struct notifier *n = &cfg->notifiers[rc->notify[i]];
        struct outbox_row row;
        char key[96];

        snprintf(key, sizeof(key), "report_%lld_%zu", (long long)slot, i);
        memset(&row, 0, sizeof(row));
        row.key = key;
        row.receiver = n->name;
        row.fingerprint = "";
        row.rule = "";
        row.kind = "report";
        row.payload = payload;
        row.status = OUTBOX_PENDING;
        row.created = now;
        row.next_at = now;
        row.updated = now;
        if (store_outbox_add(d->wstore, &row, NULL, &e) < 0)
            break;
    }
    if (e.set || report_schedule_mark_sent(d->wstore, now, &e) < 0 ||
        store_commit(d->wstore, &e) < 0) {
        store_rollback(d->wstore);
        log_error("report", "cannot queue the report: %s", e.msg);
    } else {
        log_info("report", "noisy-alert report queued for %zu receiver(s)",
                 rc->nnotify);
        if (d->dispatcher != NULL)
            dispatcher_wake(d->dispatcher);
    }
    free(payload);
}

static int w_tick(void *ctx, double now, struct err *e)
{
    struct daemon_ctx *d = ctx;

    report_if_due(d, now);
    return pipeline_tick(d->pipeline, now, e);
}

static int w_checkpoint(void *ctx, struct err *e)
{
    struct daemon_ctx *d = ctx;

    int rc = pipeline_checkpoint(d->pipeline, true, e) < 0 ||
                     ingest_gauges_keep(d->wstore, d->gauges, e) < 0
                 ? -1
                 : 0;

    /* A checkpoint writes every series' window: it says too. */
    atomic_store(&d->store_failing, rc < 0);
    return rc;
}

/* The series and firing-alert gauges of /metrics, from the engine. */
static void engine_gauges(struct daemon_ctx *d)
{
    struct engine_stats st;

    memset(&st, 0, sizeof(st));
    engine_stats(pipeline_engine(d->pipeline), &st);
    atomic_store(&d->metrics.series, st.series);
    for (size_t i = 1; i < 4; i++)
        atomic_store(&d->metrics.firing[i], st.firing[i]);
}

static void w_committed(void *ctx, int events, double seconds, size_t fed,
                        size_t late)
{
    struct daemon_ctx *d = ctx;

    (void)events;
    if (fed > 0 && pipeline_wrote(d->pipeline))
        atomic_store(&d->store_failing, 0);
    /* Every commit ends evaluation work: ingest batches, a timer pass
     * (for, clear_for, nodata, reminders), or both. */
    metrics_observe_eval(&d->metrics, seconds);
    if (late > 0)
        atomic_fetch_add(&d->metrics.late, late);
    /* Reminders from a tick create outbox rows without events: wake the
     * dispatcher after every commit (it is a cheap signal). */
    if (d->dispatcher != NULL)
        dispatcher_wake(d->dispatcher);
    engine_gauges(d);
}

static int w_meta(void *ctx, const char *key, const char *value, struct err *e)
{
    return pipeline_meta_put(((struct daemon_ctx *)ctx)->pipeline, key, value,
                             e);
}

static const struct writer_ops pipeline_writer_ops = {
    .feed = w_feed,
    .meta = w_meta,
    .commit = w_commit,
    .tick = w_tick,
    .checkpoint = w_checkpoint,
    .committed = w_committed,
};

/* Logged and counted once committed: the events of a batch the store
 * rolled back are told again, once, when the client's retry commits. */
static void on_committed(void *ctx, const struct pipeline_committed *ev)
{
    struct daemon_ctx *d = ctx;

    if ((unsigned)ev->kind < 4)
        atomic_fetch_add(&d->metrics.events[ev->kind], 1);
    log_info("engine", "%s%s%s %s %s -> %s (%s)", ev->rule,
             ev->labels[0] ? " " : "", ev->labels, ev->fingerprint,
             event_kind_name(ev->kind), severity_name(ev->severity),
             severity_name(ev->previous));
}

/* --- reload --- */

/* The configs a reload replaced are freed once nothing can use them any
 * more. The writer and the dispatcher take the new one before reload
 * returns; only an HTTP request in flight (a /metrics page) or a timer
 * pass that read the config just before may still hold the old one, for
 * far less than a minute. */
#define KEPT_GRACE 60.0

struct kept_configs {
    struct config **v;
    double *replaced; /* monotonic time each was replaced, 0: current */
    size_t n;
};

/* Free the configs replaced more than KEPT_GRACE ago. */
static void kept_prune(struct kept_configs *kept)
{
    double now = util_mono();
    size_t j = 0;

    for (size_t i = 0; i < kept->n; i++) {
        if (kept->replaced[i] > 0 && now - kept->replaced[i] > KEPT_GRACE) {
            config_free(kept->v[i]);
            continue;
        }
        kept->v[j] = kept->v[i];
        kept->replaced[j++] = kept->replaced[i];
    }
    kept->n = j;
}

static int reload_on_writer(void *ctx, void *arg)
{
    struct daemon_ctx *d = ctx;

    struct err e = {0};

    if (pipeline_reload(d->pipeline, arg, &e) < 0)
        log_error("reload", "alerts of removed or changed rules: %s", e.msg);
    return 0;
}

static int same_str(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return strcmp(a, b) == 0;
}

/* The port of a "host:port" listen address; 0 when none or 0. */
static long listen_port(const char *listen)
{
    const char *c = listen ? strrchr(listen, ':') : NULL;

    return c ? strtol(c + 1, NULL, 10) : 0;
}

/* Each error of a config that did not load, as an error log line. */
static void log_config_errors(const char *mod, const struct cfg_diag *diag)
{
    for (size_t i = 0; i < diag->nmsgs; i++)
        log_error(mod, "%s", diag->msgs[i]);
    if (diag->count > diag->nmsgs)
        log_error(mod, "%zu errors in all", diag->count);
}
static void reload(struct daemon_ctx *d, const char *path,
                   struct kept_configs *kept, struct http_server **http)
{
    struct cfg_diag diag;
    struct config *nc;
    const struct config *old = daemon_config(d);
    struct http_server *nhttp = NULL;
    bool old_freed = false; /* the running server stopped to free its port */
    struct inputs *nin;
    struct err e = {0};
    size_t failed = 0;

    log_info("reload", "SIGHUP: reloading %s", path);
    cfg_diag_init(&diag, path);
    nc = config_load(path, &diag);
    if (nc == NULL) {
        log_config_errors("reload", &diag);
        log_error("reload", "config rejected; the running one stays");
        atomic_store(&d->metrics.reload_ok, 0);
        cfg_diag_cleanup(&diag);
        return;
    }
    cfg_diag_cleanup(&diag);
    /* Bind what the new config needs before anything changes: an address
     * in use rejects it as an invalid file would. */
    if (!same_str(nc->listen, old->listen) && nc->listen != NULL) {
        nhttp = http_start(d, nc->listen, &e);
        if (nhttp == NULL && *http != NULL && listen_port(nc->listen) != 0 &&
            listen_port(nc->listen) == listen_port(old->listen)) {
            /* The running server holds that port under another host
             * (0.0.0.0 and 127.0.0.1): free it and try again. */
            http_stop(*http);
            *http = NULL;
            old_freed = true;
            nhttp = http_start(d, nc->listen, &e);
        }
        if (nhttp == NULL) {
            log_error("reload", "%s", e.msg);
            goto reject;
        }
    }
    pthread_mutex_lock(&d->inputs_mu);
    nin = inputs_start(d, nc, d->inputs, &failed);
    if (nin != NULL)
        d->inputs = nin;
    pthread_mutex_unlock(&d->inputs_mu);
    if (nin == NULL) {
        log_error("reload", "%zu input(s) could not start", failed);
        goto reject;
    }
    if (!same_str(nc->store, old->store))
        log_warn("reload",
                 "store path changed to %s: takes effect at the "
                 "next restart (still using %s)",
                 nc->store, old->store);
    /* The dispatcher first: once the writer has the new config, the rows
     * it queues may name notifiers only the new config has. Then the
     * pipeline swaps between batches on the writer thread, and the
     * alerts the reload resolved are delivered now, not at the
     * dispatcher's next periodic read of the outbox. */
    dispatcher_reload(d->dispatcher, nc);
    writer_call(d->writer, reload_on_writer, nc);
    dispatcher_wake(d->dispatcher);
    writer_set_intervals(d->writer, nc->evaluation_interval,
                         nc->checkpoint_interval);
    pthread_mutex_lock(&d->cfg_mu);
    d->cfg = nc;
    pthread_mutex_unlock(&d->cfg_mu);
    /* The old config stays a while: a request in flight may still read
     * it (kept_prune). */
    for (size_t i = 0; i < kept->n; i++)
        if (kept->replaced[i] == 0)
            kept->replaced[i] = util_mono();
    kept_prune(kept);
    kept->v = xrealloc(kept->v, (kept->n + 1) * sizeof(*kept->v));
    kept->replaced =
        xrealloc(kept->replaced, (kept->n + 1) * sizeof(*kept->replaced));
    kept->v[kept->n] = nc;
    kept->replaced[kept->n++] = 0;

    if (!same_str(nc->listen, old->listen)) {
        http_stop(*http);
        *http = nhttp;
        if (nc->listen == NULL && old->listen != NULL)
            log_info("reload",
                     "listen removed: the HTTP API and ingest on %s are "
                     "stopped",
                     old->listen);
    }
    atomic_store(&d->metrics.reload_ok, 1);
    atomic_store(&d->metrics.loaded_at, (uint64_t)util_now());
    log_info("reload",
             "config reloaded: %zu rules, %zu notifiers, %zu "
             "inputs",
             nc->nrules, nc->nnotifiers, nc->ninputs);
    report_warn_unsent(nc);
    return;
reject:
    http_stop(nhttp);
    if (old_freed) {
        /* freed for the new server above: the running config takes its
         * address back */
        struct err oe = {0};
        *http = http_start(d, old->listen, &oe);
        if (*http == NULL)
            log_error("reload", "%s", oe.msg);
    }
    config_free(nc);
    atomic_store(&d->metrics.reload_ok, 0);
    log_error("reload", "config rejected; the running one stays");
}

/* --- startup and shutdown --- */

/* 0; 1 when SIGTERM or SIGINT came while waiting for the store; -1 when
 * they cannot be opened (logged). */
static int open_stores(struct daemon_ctx *d, const struct config *cfg)
{
    struct err e = {0};

    /* A second daemon with the same config is told that its address is
     * taken, at once; one that shares only the store waits for it. */
    d->hold = store_hold(cfg->store, 0, &e);
    if (d->hold == STORE_HOLD_BUSY) {
        err_clear(&e);
        if (http_address_taken(cfg->listen, &e))
            goto fail;
        log_info("tocsin",
                 "store %s is in use by another tocsin: waiting up to %gs",
                 cfg->store, STORE_HOLD_WAIT);
        d->hold = store_hold(cfg->store, STORE_HOLD_WAIT, &e);
    }
    if (d->hold == STORE_HOLD_STOPPED) {
        /* SIGTERM or SIGINT while waiting: a stop, not a failure. */
        log_info("tocsin", "%s", e.msg);
        d->hold = STORE_HOLD_NONE;
        return 1;
    }
    if (d->hold == -1 || d->hold == STORE_HOLD_BUSY)
        goto fail;
    d->wstore = store_open(cfg->store, STORE_RW, &e);
    if (d->wstore == NULL)
        goto fail;
    d->dstore = store_open(cfg->store, STORE_RW, &e);
    if (d->dstore == NULL)
        goto fail;
    d->ro = store_open(cfg->store, STORE_RO, &e);
    if (d->ro == NULL)
        goto fail;
    /* Only the writer gains from a large page cache. */
    store_cache_limit(d->dstore, STORE_CACHE_SMALL_KIB);
    store_cache_limit(d->ro, STORE_CACHE_SMALL_KIB);
    return 0;
fail:
    log_error("tocsin", "%s", e.msg);
    return -1;
}

static void close_all(struct daemon_ctx *d)
{
    dispatcher_free(d->dispatcher);
    store_close(d->ro);
    store_close(d->dstore);
    store_close(d->wstore);
    store_unhold(d->hold);
    api_cleanup(d);
    metrics_cleanup(&d->metrics);
    pthread_mutex_destroy(&d->cfg_mu);
    pthread_mutex_destroy(&d->ro_mu);
    pthread_mutex_destroy(&d->inputs_mu);
    ingest_gauges_free(d->gauges);
}

int daemon_run(const char *config_path)
{
    struct daemon_ctx *d;
    struct kept_configs kept = {NULL, NULL, 0};
    struct http_server *http = NULL;
    struct config *cfg;
    struct cfg_diag diag;
    struct writer_cfg wc;
    struct err e = {0};
    sigset_t set;
    int sfd, status = 0, done = 0, stopped = 0;
    size_t i;

    /* Block the signals before any thread starts so that every thread
     * inherits the mask and only the signalfd sees them. */
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    sfd = signalfd(-1, &set, SFD_CLOEXEC);
    if (sfd < 0) {
        log_error("tocsin", "signalfd: %s", strerror(errno));
        return 1;
    }

    cfg_diag_init(&diag, config_path);
    cfg = config_load(config_path, &diag);
    if (cfg == NULL) {
        /* Log lines like every other line of the daemon, each still
         * FILE:LINE:COL: message. */
        log_config_errors("config", &diag);
        cfg_diag_cleanup(&diag);
        close(sfd);
        return 1;
    }
    cfg_diag_cleanup(&diag);
    kept.v = xcalloc(1, sizeof(*kept.v));
    kept.replaced = xcalloc(1, sizeof(*kept.replaced));
    kept.v[kept.n++] = cfg;

    d = xcalloc(1, sizeof(*d));
    d->hold = STORE_HOLD_NONE;
    metrics_init(&d->metrics);
    atomic_store(&d->metrics.loaded_at, (uint64_t)util_now());
    pthread_mutex_init(&d->cfg_mu, NULL);
    pthread_mutex_init(&d->ro_mu, NULL);
    pthread_mutex_init(&d->inputs_mu, NULL);
    atomic_init(&d->accepting, 1);
    atomic_init(&d->store_failing, 0);
    d->cfg = cfg;
    d->silenced_since = d->started_at = util_now();
    if ((stopped = open_stores(d, cfg)) != 0)
        goto fail;
    /* StatsD gauges resume where the last run left them. */
    d->gauges = ingest_gauges_restore(d->wstore);
    if (d->gauges == NULL)
        goto fail;
    d->pipeline = pipeline_new(cfg, d->wstore, false, &e);
    if (d->pipeline == NULL) {
        log_error("tocsin", "cannot start the pipeline: %s", e.msg);
        goto fail;
    }
    pipeline_on_committed(d->pipeline, on_committed, d);
    /* The state resumed from the store is in /metrics from the start, not
     * only after the first commit. */
    engine_gauges(d);
    d->dispatcher = dispatcher_new(cfg, d->dstore, &e);
    if (d->dispatcher == NULL || dispatcher_start(d->dispatcher, &e) < 0) {
        log_error("tocsin", "cannot start the dispatcher: %s", e.msg);
        goto fail;
    }
    memset(&wc, 0, sizeof(wc));
    wc.tick_interval = cfg->evaluation_interval;
    wc.checkpoint_interval = cfg->checkpoint_interval;
    d->writer = writer_start(&pipeline_writer_ops, d, &wc, &e);
    if (d->writer == NULL) {
        log_error("tocsin", "%s", e.msg);
        goto fail;
    }
    if (cfg->listen != NULL) {
        http = http_start(d, cfg->listen, &e);
        if (http == NULL) {
            log_error("tocsin", "%s", e.msg);
            goto fail;
        }
    }
    {
        size_t failed = 0;

        pthread_mutex_lock(&d->inputs_mu);
        d->inputs = inputs_start(d, cfg, NULL, &failed);
        pthread_mutex_unlock(&d->inputs_mu);
        /* As for listen: an input that cannot start stops the start. */
        if (d->inputs == NULL)
            goto fail;
    }
    log_info("tocsin",
             "started %s: %zu rules, %zu notifiers, %zu inputs, "
             "store %s",
             TOCSIN_VERSION, cfg->nrules, cfg->nnotifiers, cfg->ninputs,
             cfg->store);
    report_warn_unsent(cfg);

    while (!done) {
        struct pollfd pfd = {.fd = sfd, .events = POLLIN};
        struct signalfd_siginfo si;

        if (poll(&pfd, 1, -1) < 0) {
            if (errno == EINTR)
                continue;
            log_error("tocsin", "poll: %s", strerror(errno));
            break;
        }
        if (read(sfd, &si, sizeof(si)) != (ssize_t)sizeof(si))
            continue;
        if (si.ssi_signo == SIGHUP) {
            reload(d, config_path, &kept, &http);
        } else {
            log_info("tocsin", "%s: stopping",
                     si.ssi_signo == SIGINT ? "SIGINT" : "SIGTERM");
            done = 1;
        }
    }

    /* Stop ingest first (in-flight requests still get their commit), then
     * drain the writer, save the windows, give deliveries their grace. */
    atomic_store(&d->accepting, 0);
    http_stop(http);
    pthread_mutex_lock(&d->inputs_mu);
    inputs_stop(d->inputs);
    d->inputs = NULL;
    pthread_mutex_unlock(&d->inputs_mu);
    writer_stop(d->writer);
    d->writer = NULL;
    if (pipeline_close(d->pipeline, &e) < 0 ||
        ingest_gauges_keep(d->wstore, d->gauges, &e) < 0) {
        log_error("tocsin", "saving the series state failed: %s", e.msg);
        status = 1;
    }
    d->pipeline = NULL;
    dispatcher_stop(d->dispatcher, DAEMON_DISPATCH_GRACE);
    log_notifiers_flush(DAEMON_DISPATCH_GRACE);
    close_all(d);
    free(d);
    for (i = 0; i < kept.n; i++)
        config_free(kept.v[i]);
    free(kept.v);
    free(kept.replaced);
    close(sfd);
    log_info("tocsin", "stopped");
    return status;

fail:
    atomic_store(&d->accepting, 0);
    http_stop(http);
    if (d->writer != NULL)
        writer_stop(d->writer);
    if (d->pipeline != NULL)
        pipeline_close(d->pipeline, &e);
    if (d->dispatcher != NULL)
        dispatcher_stop(d->dispatcher, 0);
    close_all(d);
    free(d);
    for (i = 0; i < kept.n; i++)
        config_free(kept.v[i]);
    free(kept.v);
    free(kept.replaced);
    close(sfd);
    return stopped > 0 ? 0 : 1;
}
