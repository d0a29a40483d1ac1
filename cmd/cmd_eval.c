/* cmd_eval.c - `tocsin eval [FILE...]`: replay a metric stream through the
 * rules and print every alert event as a JSON line on stdout. With --store
 * the state carries over between runs; with --notify the routes deliver and
 * the command waits for the outbox to drain. An event line is printed once
 * its batch is committed, so stdout shows what the store recorded; a live
 * pipe (`tail -f app.log | tocsin eval`) is committed and shown whenever it
 * falls quiet or its batch is a second old (checked between reads), and
 * SIGINT/SIGTERM end it like the end of the input. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../common/buf.h"
#include "../common/log.h"
#include "../common/util.h"
#include "../ingest/parse.h"
#include "../notifiers/dispatch.h"
#include "../notifiers/notifier.h"
#include "../rules/pipeline.h"
#include "cmd.h"
#include "stream.h"

/* Samples per transaction: a replay has no client waiting for its commit,
 * so batches are large (the WAL is rewritten less often). */
#define COMMIT_EVERY 65536
/* Bytes of event lines an open batch may hold before it is committed. */
#define HELD_MAX ((size_t)4 << 20)
/* Seconds a batch stays open at most: a live pipe that never falls quiet
 * (a busy `tail -f`) still shows its events within about this long. */
#define COMMIT_AGE 1.0

/* Seconds the log notifiers' last lines get to be written at the end. */
#define EVAL_LOG_GRACE 5.0

struct eval_ctx {
    struct pipeline *p;
    struct err err;
    int failed;
    struct dispatcher *d;  /* --notify: delivers between batches */
    struct err derr;       /* why d could not be made */
    unsigned long pending; /* samples since the last commit */
    double opened;         /* util_mono() at the batch's first sample */
    struct buf held;       /* the open batch's event lines */
    uint64_t nheld, printed;
    /* --store: each commit saves the sources' newest times with the
     * events, so that after a crash or a refused batch the same stream fed
     * again repeats none of them; windows are saved every
     * checkpoint_interval (and at the end), as the daemon saves them. */
    bool durable;
    double checkpointed, checkpoint_interval; /* util_mono() seconds */
};

static volatile sig_atomic_t stop_signal;

static void on_stop(int sig)
{
    stop_signal = sig;
}

static void print_event(void *ctx, const struct alert_event *ev,
                        const char *json)
{
    struct eval_ctx *c = ctx;

    (void)ev;
    buf_adds(&c->held, json);
    buf_addc(&c->held, '\n');
    c->nheld++;
}

/* The open batch was committed: out go its events. */
static void print_held(struct eval_ctx *c)
{
    if (c->held.len > 0)
        fwrite(c->held.data, 1, c->held.len, stdout);
    cli_output_check();
    c->printed += c->nheld;
    c->nheld = 0;
    buf_reset(&c->held);
}

/* --notify between batches: start what is due, record what finished. */
static void pump(struct eval_ctx *c)
{
    if (c->d != NULL && dispatcher_pump(c->d, &c->derr) < 0)
        fprintf(stderr, "tocsin eval: delivery: %s\n", c->derr.msg);
}

/* The batch's event lines could not all be held (out of memory): the
 * batch must not be committed, as they could not be printed. */
static int held_check(struct eval_ctx *c)
{
    if (!c->held.failed)
        return 0;
    err_set(&c->err, "out of memory holding the batch's events");
    c->failed = 1;
    return -1;
}

static int commit(struct eval_ctx *c)
{
    /* After a refused batch, whose events c->held still has, nothing more
     * is committed (or printed): eval ends there. */
    if (c->failed)
        return -1;
    c->pending = 0;
    if (held_check(c) < 0)
        return -1;
    if (c->durable) {
        /* Windows every checkpoint_interval, as the daemon saves them. */
        double now = util_mono();
        bool windows = now - c->checkpointed >= c->checkpoint_interval;
        if (pipeline_commit_durable(c->p, windows, NULL, &c->err) < 0) {
            c->failed = 1;
            return -1;
        }
        if (windows)
            c->checkpointed = now;
    } else if (pipeline_commit(c->p, NULL, &c->err) < 0) {
        c->failed = 1;
        return -1;
    }
    print_held(c);
    fflush(stdout);
    cli_output_check();
    /* The batch's notifications start now, not at the end of the input
     * (a live pipe may not end for a long time). */
    pump(c);
    return 0;
}

static int feed_sample(void *ctx, const struct sample *s)
{
    struct eval_ctx *c = ctx;

    /* Only samples without a timestamp take their arrival time. */
    if (pipeline_feed(c->p, s, isnan(s->ts) ? util_now() : s->ts, &c->err) <
        0) {
        c->failed = 1;
        return -1;
    }
    if (c->pending++ == 0)
        c->opened = util_mono();
    if (c->pending >= COMMIT_EVERY || c->held.len >= HELD_MAX)
        return commit(c) < 0 ? -1 : stop_signal != 0;
    /* A sample read is a sample fed: a stop takes effect after it. */
    return stop_signal != 0;
}

/* Between reads. When the input pipe fell quiet (quiet), commit what it
 * brought and show its events; while it stays quiet, deliveries still move
 * (answers recorded, retries started). While input keeps coming, a batch a
 * second old is committed, and in between --notify's transfers are kept
 * going: what finished is taken and what may go is started, so a stream
 * that never pauses is not held to one round of transfers per commit. */
static int eval_tick(void *ctx, bool quiet)
{
    struct eval_ctx *c = ctx;

    if (stop_signal)
        return 1;
    if (c->pending > 0 && (quiet || util_mono() - c->opened >= COMMIT_AGE))
        return commit(c) < 0;
    if (quiet)
        pump(c);
    else if (c->d != NULL)
        dispatcher_poke(c->d);
    return 0;
}

/* SIGINT/SIGTERM end the input; a second one ends the process. */
static void catch_stop(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop;
    sa.sa_flags = SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

/* A store failure: what the open batch held is not recorded, so it is not
 * printed either. */
static void report_failure(struct eval_ctx *c)
{
    /* Most store errors name the store already. */
    fprintf(stderr, "tocsin eval: %s%s\n",
            strncmp(c->err.msg, "store", 5) == 0 ? "" : "store: ", c->err.msg);
    if (c->nheld > 0)
        fprintf(stderr,
                "tocsin eval: %llu event%s since the last commit %s not "
                "recorded and not printed\n",
                (unsigned long long)c->nheld, c->nheld == 1 ? "" : "s",
                c->nheld == 1 ? "was" : "were");
}

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: tocsin eval [-c FILE] [--format F] [--store PATH] [--notify]\n"
        "                   [--strict] [FILE...]\n"
        "Replay a metric stream (files, or stdin) through the rules and print\n"
        "each alert event as a JSON line, once it is committed. Formats:\n"
        "influx, prom, json, graphite, statsd (default: guessed per line).\n"
        "On a pipe, events show whenever the input falls quiet; SIGINT or\n"
        "SIGTERM ends the input as its end would.\n"
        "  -c FILE       config file (default tocsin.yaml)\n"
        "  --format F    read every line as F (turns guessing off)\n"
        "  --store PATH  keep state in this SQLite store (default: in memory)\n"
        "  --notify      deliver through the routes and wait for the outbox\n"
        "  --strict      exit 1 on the first malformed line\n"
        "  --help        this text\n"
        "  FILE          a file to read, or - for stdin (default: stdin)\n");
}

int cmd_eval(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"format", required_argument, NULL, 'f'},
        {"store", required_argument, NULL, 's'},
        {"notify", no_argument, NULL, 'n'},
        {"strict", no_argument, NULL, 'S'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *cfgpath = CLI_DEFAULT_CONFIG, *storepath = NULL;
    enum ingest_format fmt = FMT_AUTO;
    bool notify = false, strict = false;
    struct config *cfg;
    struct store *st;
    struct eval_ctx c;
    struct stream_stats ss;
    struct pipeline_stats ps;
    int opt, rc = 0, sr, hold;
    struct err herr = {0};
    struct ingest_gauges *gauges;
    static char outbuf[1 << 16];

    optind = 1;
    while ((opt = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (opt) {
        case 'c':
            cfgpath = optarg;
            break;
        case 'f':
            if (ingest_format_parse(optarg, &fmt) < 0)
                return cli_usage_error("eval", "unknown format \"%s\"", optarg);
            break;
        case 's':
            if (cli_store_opt("eval", optarg, &storepath) >= 0)
                return EXIT_USAGE;
            break;
        case 'n':
            notify = true;
            break;
        case 'S':
            strict = true;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    cfg = cli_load_config(cfgpath);
    if (cfg == NULL)
        return EXIT_WORK;
    hold = store_hold(storepath, STORE_HOLD_WAIT, &herr);
    /* STORE_HOLD_STOPPED too: a stop signal blocked since exec. */
    if (hold == -1 || hold == STORE_HOLD_BUSY || hold == STORE_HOLD_STOPPED) {
        fprintf(stderr, "tocsin eval: %s\n", herr.msg);
        config_free(cfg);
        return EXIT_WORK;
    }
    st = cli_open_store(cfg, storepath ? storepath : ":memory:", STORE_RW);
    if (st == NULL) {
        store_unhold(hold);
        config_free(cfg);
        return EXIT_WORK;
    }
    memset(&c, 0, sizeof(c));
    c.durable = storepath != NULL;
    c.checkpointed = util_mono();
    c.checkpoint_interval = cfg->checkpoint_interval;
    c.p = pipeline_new(cfg, st, true, &c.err);
    if (c.p == NULL) {
        fprintf(stderr, "tocsin eval: %s\n", c.err.msg);
        store_close(st);
        store_unhold(hold);
        config_free(cfg);
        return EXIT_WORK;
    }
    setvbuf(stdout, outbuf, _IOFBF, sizeof(outbuf));
    buf_init(&c.held, 0);
    if (notify)
        c.d = dispatcher_new(cfg, st, &c.derr);
    pipeline_on_event(c.p, print_event, &c);

    memset(&ss, 0, sizeof(ss));
    catch_stop();
    /* StatsD gauges carry over between runs on one store, as windows do. */
    gauges = ingest_gauges_restore(c.durable ? st : NULL);
    sr = stream_run(argc - optind, argv + optind, fmt, strict, feed_sample,
                    eval_tick, &c, gauges, &ss);
    /* The input is over (read whole, or ended by a malformed line under
     * --strict, an unreadable file or a stop signal, each kept like an
     * end): nodata deadlines before its last time pass, and those at it.
     * Not those at it with --store: the stream may go on in the next run,
     * whose lines of that same time may keep their series out of nodata;
     * they wait for its clock to move on, so a stream cut anywhere gives
     * the events of the whole. */
    if (!c.failed && pipeline_end_of_stream(c.p, !c.durable, &c.err) < 0)
        c.failed = 1;
    if (stop_signal && !c.failed) {
        fprintf(stderr, "tocsin eval: stopped by %s; what was read is kept\n",
                stop_signal == SIGINT ? "SIGINT" : "SIGTERM");
        sr = 0;
    }
    rc = sr == 0 ? 0 : EXIT_WORK;
    pipeline_stats(c.p, &ps);
    ss.late = ps.late;
    /* What was read before a malformed line (--strict), an unreadable file
     * or a stop signal is kept like a clean end: committed, windows saved,
     * events printed and notifications delivered; only a store failure
     * rolls back. */
    if (!c.failed)
        held_check(&c);
    if (c.failed) {
        report_failure(&c);
        pipeline_close(c.p, NULL);
        rc = EXIT_WORK;
    } else if (pipeline_close(c.p, &c.err) < 0 ||
               ingest_gauges_keep(c.durable ? st : NULL, gauges, &c.err) < 0) {
        report_failure(&c);
        rc = EXIT_WORK;
        c.failed = 1;
    } else {
        print_held(&c);
    }
    ingest_gauges_free(gauges);
    buf_cleanup(&c.held);
    ss.events = c.printed;
    fflush(stdout);
    cli_output_check();
    /* The input is over: a signal during the deliveries below ends the
     * process at once (with --store the outbox keeps what is left). */
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    if (!c.failed && notify) {
        struct err e = {0};
        struct dispatcher *d = c.d;
        if (d == NULL) {
            fprintf(stderr, "tocsin eval: %s\n", c.derr.msg);
            rc = EXIT_WORK;
        } else {
            /* No limit of its own: every row ends, sent or failed for
             * good, within its notifier's max_retry_time (a rate limit
             * only spaces them out), and a signal ends the wait. */
            struct dispatch_counter *dc;
            uint64_t sent = 0, failed = 0, silenced = ps.silenced;
            char skipped[64] = "";
            size_t ndc;
            /* The stream is written: the deliveries need no large cache. */
            store_cache_limit(st, STORE_CACHE_SMALL_KIB);
            if (dispatcher_drain(d, INFINITY, &e) != 0) {
                fprintf(stderr, "tocsin eval: delivery: %s\n",
                        e.set ? e.msg : "outbox not drained");
                rc = EXIT_WORK;
            }
            /* This run's outcomes: its deliveries (rows queued by earlier
             * runs too) and its events' silenced notifications; counting
             * the outbox instead would read all of it, twice. */
            dc = dispatcher_counters(d, &ndc);
            for (size_t i = 0; i < ndc; i++) {
                sent += dc[i].sent;
                failed += dc[i].failed;
                silenced += dc[i].silenced;
            }
            free(dc);
            /* Held back by a notifier's cooldown: said only when some
             * were, so the usual line stays as it was. */
            if (ps.skipped > 0)
                snprintf(skipped, sizeof(skipped), ", %llu skipped (cooldown)",
                         (unsigned long long)ps.skipped);
            fprintf(stderr,
                    "eval: notifications: %llu sent, %llu failed, %llu "
                    "silenced%s\n",
                    (unsigned long long)sent, (unsigned long long)failed,
                    (unsigned long long)silenced, skipped);
        }
    }
    dispatcher_free(c.d);
    /* The log notifiers' lines are written by a thread of their own. */
    if (notify)
        log_notifiers_flush(EVAL_LOG_GRACE);
    /* Also after an unreadable input (its error came first): what was
     * read before it counts. */
    stream_print_summary("eval", &ss);
    store_close(st);
    store_unhold(hold);
    config_free(cfg);
    return rc;
}
