/* inputs.c - the configured inputs as one set (see inputs.h). Each input
 * turns text into a batch with its own parser (Prometheus TYPE lines and
 * StatsD gauges are per-stream state) and hands it to the writer, waiting
 * for the commit: that wait is the back-pressure that keeps a fast input
 * from flooding memory. On reload, inputs are compared by a key built from
 * every setting; an unchanged one keeps running (a followed file keeps its
 * position, a UDP socket stays bound). */
#include "inputs.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/buf.h"
#include "../common/log.h"
#include "../common/util.h"
#include "batch.h"
#include "filein.h"
#include "scrape.h"
#include "statsd.h"

struct listener {
    char *key;
    enum input_kind kind;
    char *name; /* for logs: path or listen address */
    struct daemon_ctx *d;
    struct ingest_parser *parser;
    struct statsd *statsd;
    struct filein *file;
    int follow;
    char *pos_key; /* store meta key of a followed file's position */
    bool refused;  /* the store refused its last lines (logged once) */
};

struct inputs {
    struct daemon_ctx *d;
    struct listener **v;
    size_t n;
    char *scrape_key; /* all scrape targets together */
    struct scraper *scraper;
};

static char *input_key(const struct input *in)
{
    struct buf b;
    size_t i;

    buf_init(&b, 0);
    buf_printf(&b, "%d|", (int)in->kind);
    switch (in->kind) {
    case INPUT_SCRAPE:
        buf_printf(&b, "%s|%.17g|%.17g", in->url ? in->url : "", in->interval,
                   in->timeout);
        for (i = 0; i < in->nlabels; i++)
            buf_printf(&b, "|%s=%s", in->labels[i].key, in->labels[i].value);
        break;
    case INPUT_STATSD:
        buf_adds(&b, in->listen ? in->listen : "");
        break;
    case INPUT_FILE:
        buf_printf(&b, "%s|%d|%d", in->path ? in->path : "", (int)in->format,
                   in->follow ? 1 : 0);
        break;
    }
    return buf_steal(&b);
}

/* Log a warning about who's input, unless it is the one last logged in
 * note (NOTE_SIZE bytes, or NULL: always logged), then at debug level. */
#define NOTE_SIZE SCRAPE_NOTE_SIZE
static void warn_once(enum metrics_input which, char *note, const char *fmt,
                      ...) __attribute__((format(printf, 3, 4)));
static void warn_once(enum metrics_input which, char *note, const char *fmt,
                      ...)
{
    char msg[NOTE_SIZE];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (note != NULL && strcmp(note, msg) == 0) {
        log_debug(metrics_input_name(which), "%s (again)", msg);
        return;
    }
    log_warn(metrics_input_name(which), "%s", msg);
    if (note != NULL)
        memcpy(note, msg, sizeof(msg));
}

/* Parse text into b, counting and logging what was rejected (see
 * warn_once for note; none_read: said too when no line could be read);
 * returns how many lines were. */
static size_t parse_into(struct daemon_ctx *d, enum metrics_input which,
                         struct ingest_parser *p, const char *text, size_t len,
                         size_t first_line, struct batch *b, const char *who,
                         char *note, const char *none_read)
{
    struct batch_rejects *rj = xcalloc(1, sizeof(*rj));
    size_t n;

    batch_parse_text(b, p, text, len, first_line, rj);
    atomic_fetch_add(&d->metrics.rejected[which], rj->count);
    atomic_fetch_add(&d->metrics.skipped[which], rj->skipped);
    if (rj->count > 0)
        warn_once(which, note,
                  "%s: %zu line(s) rejected, first line %zu: %s%s%s", who,
                  rj->count, rj->v[0].line, rj->v[0].reason,
                  b->n == 0 && none_read ? "; " : "",
                  b->n == 0 && none_read ? none_read : "");
    else if (note != NULL)
        note[0] = '\0';
    n = rj->count;
    free(rj);
    return n;
}

/* Queue b and free it; blocks until committed (back-pressure). Samples
 * count as ingested once committed. Returns 0, or the writer's status
 * (res->error, when res is not NULL, says why): -1 the store failed, -2 the
 * writer stops. retry: the caller hands the same lines again, so a failure is
 * not a loss. */
static int submit(struct daemon_ctx *d, enum metrics_input which,
                  struct batch *b, const char *who, bool retry,
                  struct writer_result *res)
{
    struct writer_result mine;
    size_t n = b->n;
    int rc = 0;

    if (res == NULL)
        res = &mine;
    res->status = 0;
    if (n > 0 || b->meta_key != NULL)
        rc = writer_submit(d->writer, b, -1, res);
    if (rc == 0)
        atomic_fetch_add(&d->metrics.ingested[which], n);
    else if (!retry && res->status == -1)
        log_error(metrics_input_name(which), "%s: %zu samples lost: %s", who, n,
                  res->error);
    batch_cleanup(b);
    return rc;
}

static void sink_text(struct daemon_ctx *d, enum metrics_input which,
                      struct ingest_parser *p, const char *text, size_t len,
                      size_t first_line, const char *who)
{
    struct batch b;

    batch_init(&b, util_now());
    parse_into(d, which, p, text, len, first_line, &b, who, NULL, NULL);
    submit(d, which, &b, who, false, NULL);
}

static void statsd_cb(void *ctx, const char *text, size_t len)
{
    struct listener *l = ctx;

    sink_text(l->d, MIN_STATSD, l->parser, text, len, 1, l->name);
}

/* A followed file's lines are committed with the position they end at, so
 * that a restart reads on from there: nothing written while tocsin was
 * down (or read and not yet committed at a crash) is lost, nothing
 * committed is read twice. */
static bool file_cb(void *ctx, const char *text, size_t len, size_t first_line,
                    const struct filein_pos *pos)
{
    struct listener *l = ctx;
    struct writer_result res;
    struct batch b;
    char v[FILEIN_POS_TEXT];
    int rc;

    batch_init(&b, util_now());
    if (len > 0)
        parse_into(l->d, MIN_FILE, l->parser, text, len, first_line, &b,
                   l->name, NULL, NULL);
    if (pos != NULL && l->pos_key != NULL) {
        filein_pos_format(pos, v, sizeof(v));
        b.meta_key = xstrdup(l->pos_key);
        b.meta_value = xstrdup(v);
    }
    /* A followed file is still there: lines the store refused (disk
     * full) are read again until it takes them, once said in the log. */
    rc = submit(l->d, MIN_FILE, &b, l->name, l->follow, &res);
    if (rc == 0 && l->refused) {
        log_info("file", "%s: the store takes its lines again", l->name);
        l->refused = false;
    } else if (rc < 0 && res.status == -1 && l->follow && !l->refused) {
        log_error("file",
                  "%s: the store did not take its lines (%s); reading them "
                  "again until it does",
                  l->name, res.error);
        l->refused = true;
    }
    return rc == 0 || !l->follow; /* a file read once is not read again */
}

struct pos_get {
    const char *key;
    char *value;
};

static int pos_get_on_writer(void *ctx, void *arg)
{
    struct daemon_ctx *d = ctx;
    struct pos_get *g = arg;
    struct err e = {0};

    if (store_meta_get(d->wstore, g->key, &g->value, &e) < 0)
        log_warn("file", "cannot read the saved position: %s", e.msg);
    return 0;
}

/* A scraped page as Prometheus takes it: every sample gets the target's
 * labels and, unless it has one, the target's `instance` (host:port); the
 * repeats of stamped samples are dropped (scrape_seen.h); and `up` says
 * whether the target answered: 1 for a page with a sample or without a
 * rejected line (a line this parser cannot read, among lines it can, does
 * not page anyone as a target down), 0 for a failed scrape and for a page
 * of which no line could be read (a proxy's or a login's HTML answered
 * with 200 is not a target up). */
static void scrape_cb(void *ctx, const struct scrape_page *pg)
{
    struct daemon_ctx *d = ctx;
    struct kv dflt = {"instance", (char *)pg->instance};
    struct sample up = {"up", NULL, 0, 0.0, NAN};
    struct batch b;

    batch_init(&b, pg->started > 0 ? pg->started : util_now());
    b.extra = pg->labels;
    b.nextra = pg->nlabels;
    b.dflt = &dflt;
    b.ndflt = 1;
    if (pg->body != NULL) {
        struct ingest_parser *p = ingest_parser_new(FMT_PROM);
        size_t rejected;

        if (p == NULL)
            return;
        rejected =
            parse_into(d, MIN_SCRAPE, p, pg->body, pg->len, 1, &b, pg->target,
                       pg->note, "no line of the page could be read: up 0");
        ingest_parser_free(p);
        if (b.n > 0 || rejected == 0)
            up.value = 1.0;
        atomic_fetch_add(&d->metrics.skipped[MIN_SCRAPE],
                         scrape_seen_filter(pg->seen, &b));
    }
    /* A federated page's own `up` series keep their instance labels, so
     * they stay apart from this target's. */
    if (batch_add(&b, &up) < 0)
        log_error("scrape", "%s: out of memory", pg->target);
    submit(d, MIN_SCRAPE, &b, pg->target, false, NULL);
}

static void listener_free(struct listener *l)
{
    if (l == NULL)
        return;
    statsd_stop(l->statsd);
    filein_stop(l->file);
    ingest_parser_free(l->parser);
    free(l->key);
    free(l->name);
    free(l->pos_key);
    free(l);
}

/* The store meta key of the read position of input it, when it follows a
 * file (one input per followed file, `check` says): the file's, whatever
 * its format (a reload or restart that changes it reads on). NULL when it
 * is no followed file. */
static char *position_key(const struct input *it)
{
    char *path;
    struct buf k;

    if (it->kind != INPUT_FILE || !it->follow || it->path == NULL)
        return NULL;
    /* The path as its folder really is: `-c tocsin.yaml` run by hand and
     * `-c /etc/tocsin/tocsin.yaml` by systemd name one file "./app.log"
     * and "/etc/tocsin/app.log" (the file itself may not exist yet). */
    path = util_path_canonical(it->path);
    buf_init(&k, 0);
    buf_printf(&k, "file.position\x1f%s", path);
    free(path);
    return buf_steal(&k);
}

/* Start reading file listener l's file; resume: a followed file goes on
 * from the position saved under l->pos_key (else from its end). */
static struct filein *file_start(struct daemon_ctx *d, struct listener *l,
                                 bool resume, struct err *e)
{
    struct filein_cfg fc = {
        .path = l->name, .follow = l->follow, .poll_interval = 0.2};
    struct pos_get g = {l->pos_key, NULL};
    struct filein *f;

    if (l->follow && resume && l->pos_key != NULL &&
        writer_call(d->writer, pos_get_on_writer, &g) == 0)
        fc.resume = g.value;
    f = filein_start(&fc, file_cb, l, e);
    free(g.value);
    return f;
}

/* Start the listener of input in. pos_key (taken): a followed file's
 * position key; resume: it goes on from the position saved there (else
 * from its end). */
static struct listener *listener_start(struct daemon_ctx *d,
                                       const struct input *in, char *key,
                                       char *pos_key, bool resume)
{
    struct listener *l = xcalloc(1, sizeof(*l));
    struct err e = {0};

    l->key = key;
    l->pos_key = pos_key;
    l->kind = in->kind;
    l->d = d;
    if (in->kind == INPUT_STATSD) {
        l->name = xstrdup(in->listen ? in->listen : "");
        l->parser = ingest_parser_new(FMT_STATSD);
        if (l->parser)
            ingest_parser_share_gauges(l->parser, d->gauges);
        l->statsd = statsd_start(l->name, statsd_cb, l, &e);
        if (l->statsd == NULL)
            goto fail;
    } else {
        l->name = xstrdup(in->path ? in->path : "");
        l->follow = in->follow;
        l->parser = ingest_parser_new(in->format);
        if (l->parser)
            ingest_parser_share_gauges(l->parser, d->gauges);
        l->file = file_start(d, l, resume, &e);
        if (l->file == NULL)
            goto fail;
    }
    return l;
fail:
    /* e.msg names the kind already ("statsd: cannot listen on ...") */
    log_error("inputs", "%s (the input at line %d of the config)", e.msg,
              in->line);
    listener_free(l);
    return NULL;
}

/* Start follower l again, stopped for a replacement that did not start:
 * it reads on from its saved position. */
static void follower_restart(struct daemon_ctx *d, struct listener *l)
{
    struct err e = {0};

    l->file = file_start(d, l, true, &e);
    if (l->file == NULL)
        log_error("inputs", "%s", e.msg);
}

/* The running follower in prev with position key pos_key that cfg does
 * not keep (a changed input), or NULL. */
static struct listener *replaced_follower(struct inputs *prev,
                                          const struct config *cfg,
                                          const char *pos_key)
{
    for (size_t k = 0; prev != NULL && pos_key != NULL && k < prev->n; k++) {
        struct listener *o = prev->v[k];
        bool kept = false;

        if (o == NULL || o->file == NULL || o->pos_key == NULL ||
            strcmp(o->pos_key, pos_key) != 0)
            continue;
        for (size_t i = 0; i < cfg->ninputs && !kept; i++) {
            char *key = input_key(&cfg->inputs[i]);

            kept = strcmp(key, o->key) == 0;
            free(key);
        }
        if (!kept)
            return o;
    }
    return NULL;
}

struct inputs *inputs_start(struct daemon_ctx *d, const struct config *cfg,
                            struct inputs *prev, size_t *failed)
{
    struct inputs *in = xcalloc(1, sizeof(*in));
    struct scrape_target_cfg *tc;
    struct buf sk;
    size_t i, k, ntc = 0, nfail = 0;
    /* where each kept listener came from in prev, to give it back */
    size_t *from = xcalloc(cfg->ninputs ? cfg->ninputs : 1, sizeof(*from));

    in->d = d;
    in->v = xcalloc(cfg->ninputs ? cfg->ninputs : 1, sizeof(*in->v));
    tc = xcalloc(cfg->ninputs ? cfg->ninputs : 1, sizeof(*tc));
    buf_init(&sk, 0);
    /* Files last: a reload that fails (a StatsD port taken) fails before
     * a follower was replaced, whose replacement would read lines in the
     * new format and commit its position past them. */
    for (size_t pass = 0; pass < 2 && nfail == 0; pass++)
        for (i = 0; i < cfg->ninputs; i++) {
            const struct input *it = &cfg->inputs[i];
            char *key;
            struct listener *l = NULL;

            if ((it->kind == INPUT_FILE) != (pass == 1))
                continue;
            key = input_key(it);

            if (it->kind == INPUT_SCRAPE) {
                buf_adds(&sk, key);
                buf_addc(&sk, '\n');
                free(key);
                tc[ntc].url = it->url;
                tc[ntc].interval = it->interval;
                tc[ntc].timeout = it->timeout;
                tc[ntc].labels = it->labels;
                tc[ntc].nlabels = it->nlabels;
                ntc++;
                continue;
            }
            for (k = 0; prev != NULL && k < prev->n; k++) {
                if (prev->v[k] != NULL && strcmp(prev->v[k]->key, key) == 0) {
                    l = prev->v[k]; /* unchanged: keep it running */
                    prev->v[k] = NULL;
                    free(key);
                    break;
                }
            }
            if (l != NULL) {
                from[in->n] = k + 1;
            } else {
                char *pos_key = position_key(it);
                struct listener *o = replaced_follower(prev, cfg, pos_key);

                /* A reload that changes how a followed file is read: the input
                 * it replaces stops first (its last lines committed), and the
                 * new one reads on from there, losing and repeating nothing;
                 * at start-up every follower reads on from its position. */
                if (o != NULL) {
                    filein_stop(o->file);
                    o->file = NULL;
                }
                l = listener_start(d, it, key, pos_key,
                                   prev == NULL || o != NULL);
                if (l == NULL) {
                    nfail++;
                    break; /* the reload fails: start nothing more */
                }
            }
            if (l != NULL)
                in->v[in->n++] = l;
        }
    if (nfail > 0) {
        /* All or nothing: stop what this call started, give the kept
         * listeners back to prev, which goes on running (a follower
         * stopped for its replacement reads on from where it stopped). */
        for (i = 0; i < in->n; i++) {
            if (from[i] > 0)
                prev->v[from[i] - 1] = in->v[i];
            else
                listener_free(in->v[i]);
        }
        for (k = 0; prev != NULL && k < prev->n; k++)
            if (prev->v[k] != NULL && prev->v[k]->pos_key != NULL &&
                prev->v[k]->file == NULL)
                follower_restart(d, prev->v[k]);
        free(from);
        free(in->v);
        free(in);
        buf_cleanup(&sk);
        free(tc);
        *failed = nfail;
        return NULL;
    }
    free(from);
    *failed = 0;
    in->scrape_key = buf_steal(&sk);
    if (in->scrape_key == NULL)
        in->scrape_key = xstrdup("");
    if (prev != NULL && prev->scrape_key != NULL &&
        strcmp(prev->scrape_key, in->scrape_key) == 0) {
        in->scraper = prev->scraper;
        prev->scraper = NULL;
    } else if (ntc > 0) {
        struct err e = {0};
        in->scraper = scraper_start(tc, ntc, scrape_cb, d,
                                    prev ? prev->scraper : NULL, &e);
        if (in->scraper == NULL)
            log_error("scrape", "%s", e.msg);
    }
    free(tc);
    inputs_stop(prev);
    return in;
}

void inputs_stop(struct inputs *in)
{
    size_t i;

    if (in == NULL)
        return;
    scraper_stop(in->scraper);
    for (i = 0; i < in->n; i++)
        listener_free(in->v[i]);
    free(in->v);
    free(in->scrape_key);
    free(in);
}

size_t inputs_scrape_counters(struct inputs *in, struct metrics_scrape *out,
                              size_t max)
{
    return in ? scraper_counters(in->scraper, out, max) : 0;
}

int inputs_files_done(struct inputs *in)
{
    size_t i;

    for (i = 0; in != NULL && i < in->n; i++)
        if (in->v[i]->file != NULL && !in->v[i]->follow &&
            !filein_finished(in->v[i]->file))
            return 0;
    return 1;
}
