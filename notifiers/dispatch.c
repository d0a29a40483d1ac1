/* dispatch.c - the outbox deliverer (SPEC section 7): renders due rows and
 * hands them to the sender threads (sender.c, libcurl multi), keeps
 * per-(alert, receiver) order, limits each receiver's open transfers and
 * rate (token bucket), judges each answer, retries with full-jitter
 * exponential backoff honouring Retry-After until the retry budget is
 * spent, and writes the outcomes in batched transactions. Runs on its own
 * thread (daemon) or on the caller's (eval --notify: dispatcher_drain);
 * notify-test uses dispatcher_send_once. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../common/buf.h"
#include "../common/htab.h"
#include "../common/json_arena.h"
#include "../common/log.h"
#include "../common/util.h"
#include "dispatch.h"
#include "notifier.h"
#include "sender.h"
#include "silences.h"
#include "transport.h"

/* Connections of a transfer thread, in all. */
#define DISPATCH_MAX_CONNS 256L
/* Connections per receiver host, and transfers per receiver: no more
 * transfers than connections, as a transfer waiting inside libcurl for a
 * free connection costs it work on every turn. */
#define DISPATCH_MAX_HOST_CONNS 32L
/* Transfer threads; a receiver's slots are split between them. */
#define DISPATCH_SENDERS 2
/* Notifications of a receiver handed to the transfer threads and not
 * finished. Beyond its slots they wait in its thread, rendered: the
 * thread starts the next one the moment a slot frees, without waiting for
 * this thread to render it (512 against 128: 7% more deliveries per
 * second to one fast receiver). In all, at most DISPATCH_MAX_INFLIGHT
 * (memory), except that a receiver below its DISPATCH_MAX_HOST_CONNS
 * slots may always start one: receivers that stop answering fill the
 * queues, never another receiver's connections. */
#define DISPATCH_MAX_PER_RECEIVER 512
#define DISPATCH_MAX_INFLIGHT 1024
/* Rows read from the outbox per turn: the first deliveries start while the
 * rest of a long backlog is still to be read. */
#define DISPATCH_LOAD_BATCH 256
/* Outcomes are written to the store in one transaction once this many
 * wait, or after this many seconds: a transaction per loop turn cost more
 * than the deliveries. */
#define DISPATCH_FLUSH_ROWS 512
#define DISPATCH_FLUSH_AFTER 0.010
/* While another connection (the daemon's evaluation) holds the store's
 * write lock, outcomes wait in memory rather than stalling deliveries;
 * once this many wait, or the oldest is this old, the write waits its
 * turn. */
#define DISPATCH_FLUSH_MAX_ROWS 8192
#define DISPATCH_FLUSH_MAX_AGE 1.0
/* Outcomes the store refused (a full disk) are kept and tried again this
 * often. */
#define DISPATCH_FLUSH_RETRY 1.0
/* Payloads read with their rows are kept up to this many bytes; beyond it
 * a row's payload is read when it is sent, so a long outage does not hold
 * every queued payload in memory. */
#define DISPATCH_PAYLOAD_BUDGET (8u << 20)
#define DISPATCH_MAX_ATTEMPTS 20
#define DISPATCH_BACKOFF_CAP 300.0 /* seconds */
#define DISPATCH_RETRY_AFTER_CAP 3600.0
#define DISPATCH_RELOAD_EVERY 5.0 /* re-read the outbox at least this often */
#define DISPATCH_POLL_MAX_MS 1000
/* (alert, receiver) pairs remembered as never sent anything, at most */
#define DISPATCH_UNHEARD_MAX 65536

/* One pending outbox row, held in memory while the dispatcher owns it. */
struct drow {
    int64_t id;
    /* key .. kind point into strs, one allocation for the five */
    const char *key, *receiver, *fingerprint, *rule, *kind;
    char *strs, *payload;
    int attempts;
    double next_at;
    double first_try; /* wall time of this process's first attempt, or 0 */
    uint64_t pair;    /* hash of (fingerprint, receiver): the ordering unit */
    uint64_t lane;    /* hash of the receiver: the sender's slot unit */
    size_t held;      /* payload bytes counted in d->payload_bytes */
    bool inflight, done;
};

/* Per-receiver state: counters, token bucket, "410 logged". */
struct rstate {
    char *name;
    uint64_t sent, failed, retried, silenced;
    double tokens, refilled;
    double hold_until;   /* util_mono(): a 429's Retry-After holds it all */
    size_t inflight;     /* transfers handed to the senders */
    unsigned next_snd;   /* its transfers go to the senders in turn */
    uint32_t closed_gen; /* the schedule() scan that found it closed */
    bool primed, gone_logged, missing_logged;
};

/* One outcome waiting to be written to the outbox. */
struct upd {
    int64_t id;
    enum outbox_status st;
    int attempts, code;
    double next_at, at;
    char *what;     /* NULL when sent */
    bool unheard;   /* silenced when due, the receiver's first of the alert */
    double hold;    /* a 429's Retry-After: the receiver's hold ends then
                       (Unix s; 0 none), saved with the outcome */
    char *hold_key; /* its meta key (hold_meta_key), when hold > 0 */
};

struct dispatcher {
    const struct config *cfg;
    struct store *s;
    CURLM *multi; /* no transfers: its poll is the dispatcher's sleep, which
                     the senders and dispatcher_wake end (curl_multi_wakeup) */

    pthread_t thread;
    bool started;
    pthread_mutex_t mu; /* guards the fields below it */
    pthread_cond_t cv;
    bool woken, stopping;
    bool silences_changed; /* dispatcher_silences_changed was called */
    double grace;
    const struct config *new_cfg; /* reload handed to the thread */
    struct rstate *rs;
    size_t nrs;

    /* owned by the delivering thread */
    struct silences sil; /* checked again when a notification is due */
    /* (alert, receiver) pairs whose first notification of the alert was
     * silenced when due, and nothing sent since: their "resolved" is not
     * sent either (no resolved for a firing the receiver never got) */
    struct htab unheard;
    uint64_t sil_ids; /* the silences the handed-over requests were judged by */
    struct drow **rows;
    size_t nrows, caprows, ndone;
    size_t first_open;    /* rows[0..first_open) are done */
    size_t payload_bytes; /* held in rows (DISPATCH_PAYLOAD_BUDGET) */
    int64_t max_id;
    bool need_load; /* read the outbox on the next turn */
    size_t loaded;  /* rows the last read returned */
    double loaded_at;
    size_t inflight;
    struct sender *snd[DISPATCH_SENDERS]; /* the transfer threads */
    bool submitted[DISPATCH_SENDERS];     /* woke an empty queue: kick */
    struct upd *upd;                      /* outcomes not yet written */
    size_t nupd, capupd;
    double upd_since; /* monotonic time of the oldest unwritten outcome */
    unsigned flush_failures; /* writes refused in a row (0: writing fine) */
    double flush_retry_at;   /* monotonic time of the next try after one */
    bool progressed;         /* a row finished during this step */
    uint64_t *seen;
    uint32_t *seen_gen;
    size_t seen_cap;
    uint32_t gen;
    unsigned rng;
};

/* --- small helpers --- */

static double rand_unit(struct dispatcher *d)
{
    return (double)rand_r(&d->rng) / ((double)RAND_MAX + 1.0);
}

static uint64_t pair_hash(const char *fp, const char *receiver)
{
    uint64_t h = util_hash64(fp, strlen(fp), 0x746f6373696e);

    return util_hash64(receiver, strlen(receiver) + 1, h);
}

static const struct notifier *find_notifier(const struct config *cfg,
                                            const char *name)
{
    int i = cfg ? config_notifier_index(cfg, name) : -1;

    return i < 0 ? NULL : &cfg->notifiers[i];
}

/* "webhook[autoscale]" for log lines. */
static void log_module(const struct notifier *n, const char *name, char *out,
                       size_t outlen)
{
    snprintf(out, outlen, "%s[%s]",
             n && n->ops && n->ops->kind ? n->ops->kind : "notifier", name);
}

/* The store's meta key of receiver name's 429 hold: a Retry-After holds
 * the receiver across a restart too. */
static char *hold_meta_key(const char *name)
{
    struct buf b;

    buf_init(&b, 0);
    buf_adds(&b, "dispatch.hold.");
    buf_adds(&b, name);
    return buf_steal(&b);
}

/* Caller holds d->mu. */
static struct rstate *rstate_get(struct dispatcher *d, const char *name)
{
    struct rstate *r;

    for (size_t i = 0; i < d->nrs; i++)
        if (strcmp(d->rs[i].name, name) == 0)
            return &d->rs[i];
    d->rs = xrealloc(d->rs, (d->nrs + 1) * sizeof(*d->rs));
    r = &d->rs[d->nrs++];
    memset(r, 0, sizeof(*r));
    r->name = xstrdup(name);
    return r;
}

static void drow_free(struct drow *r)
{
    if (r == NULL)
        return;
    free(r->strs);
    free(r->payload);
    free(r);
}

/* --- loading the outbox --- */

static int load_cb(void *ctx, const struct outbox_row *o)
{
    struct dispatcher *d = ctx;
    struct drow *r;

    d->loaded++;
    if (o->id <= d->max_id)
        return 0; /* already held */
    r = xcalloc(1, sizeof(*r));
    r->id = o->id;
    {
        const char *src[5] = {
            o->key ? o->key : "", o->receiver ? o->receiver : "",
            o->fingerprint ? o->fingerprint : "", o->rule ? o->rule : "",
            o->kind ? o->kind : "event"};
        const char **dst[5] = {&r->key, &r->receiver, &r->fingerprint, &r->rule,
                               &r->kind};
        size_t len[5], total = 0;
        char *p;

        for (size_t i = 0; i < 5; i++)
            total += (len[i] = strlen(src[i])) + 1;
        p = r->strs = xmalloc(total);
        for (size_t i = 0; i < 5; i++) {
            memcpy(p, src[i], len[i] + 1);
            *dst[i] = p;
            p += len[i] + 1;
        }
    }
    /* The load read the payload anyway: keep it while the budget lasts. */
    if (o->payload != NULL &&
        d->payload_bytes + strlen(o->payload) <= DISPATCH_PAYLOAD_BUDGET) {
        r->payload = xstrdup(o->payload);
        r->held = strlen(r->payload);
        d->payload_bytes += r->held;
    }
    r->attempts = o->attempts;
    r->next_at = o->next_at;
    r->pair = pair_hash(r->fingerprint, r->receiver);
    r->lane = util_hash64(r->receiver, strlen(r->receiver), 0x6c616e65);
    if (d->nrows == d->caprows) {
        d->caprows = d->caprows ? d->caprows * 2 : 256;
        d->rows = xrealloc(d->rows, d->caprows * sizeof(*d->rows));
    }
    d->rows[d->nrows++] = r;
    d->max_id = o->id;
    return 0;
}

/* Rows up to max_id are held already: ask only for newer ones, a batch at
 * a time; a full batch asks for the next turn to read on. */
static int load_pending(struct dispatcher *d, struct err *e)
{
    int rc;

    d->loaded = 0;
    d->loaded_at = util_mono();
    rc = store_outbox_pending_after(d->s, d->max_id, DISPATCH_LOAD_BATCH,
                                    load_cb, d, e);
    d->need_load = rc == 0 && d->loaded >= DISPATCH_LOAD_BATCH;
    return rc;
}

/* Drop finished rows once they are half the list (amortised O(1)). */
static void compact(struct dispatcher *d)
{
    size_t j = 0;

    if (d->ndone == 0 || d->ndone * 2 < d->nrows)
        return;
    for (size_t i = 0; i < d->nrows; i++) {
        if (d->rows[i]->done) {
            d->payload_bytes -= d->rows[i]->held;
            drow_free(d->rows[i]);
        } else
            d->rows[j++] = d->rows[i];
    }
    d->nrows = j;
    d->ndone = 0;
    d->first_open = 0;
}

/* --- store writes: outcomes batched into one transaction --- */

static void upd_add(struct dispatcher *d, const struct drow *r,
                    enum outbox_status st, int attempts, double next_at,
                    const char *what, long code, double at)
{
    struct upd *u;

    if (d->nupd == d->capupd) {
        d->capupd = d->capupd ? d->capupd * 2 : 64;
        d->upd = xrealloc(d->upd, d->capupd * sizeof(*d->upd));
    }
    if (d->nupd == 0)
        d->upd_since = util_mono();
    u = &d->upd[d->nupd++];
    u->id = r->id;
    u->st = st;
    u->attempts = attempts;
    u->code = (int)code;
    u->next_at = next_at;
    u->at = at;
    u->what = st == OUTBOX_SENT || what == NULL ? NULL : xstrdup(what);
    u->unheard = false;
    u->hold = 0;
    u->hold_key = NULL;
}

/* The waiting outcomes were written, or are given up: forget them. */
static void upd_clear(struct dispatcher *d)
{
    for (size_t i = 0; i < d->nupd; i++) {
        free(d->upd[i].what);
        free(d->upd[i].hold_key);
    }
    d->nupd = 0;
    d->flush_failures = 0;
}

/* Write every waiting outcome in one transaction. Returns 0 when written
 * (or none waited), 1 when another connection holds the write lock (only
 * without wait), 2 when the store refused the write (a full disk): the
 * outcomes are kept for a later try. Until they are written their rows
 * stay pending in the store, so a restart in between sends them again (at
 * least once, never lost). */
static int flush_try(struct dispatcher *d, bool wait)
{
    struct err e = {0};
    int rc;

    if (d->nupd == 0)
        return 0;
    rc = wait ? store_begin(d->s, &e) : store_begin_nowait(d->s, &e);
    if (rc == 1)
        return 1;
    for (size_t i = 0; rc == 0 && i < d->nupd; i++) {
        struct upd *u = &d->upd[i];
        char hold[32];

        if (u->hold_key != NULL)
            snprintf(hold, sizeof(hold), "%.3f", u->hold);
        if (store_outbox_update(d->s, u->id, u->st, u->attempts, u->next_at,
                                u->what, u->code, u->at, &e) < 0 ||
            (u->unheard && store_heard_unsent(d->s, u->id, &e) < 0) ||
            (u->hold_key != NULL &&
             store_meta_put(d->s, u->hold_key, hold, &e) < 0)) {
            store_rollback(d->s);
            rc = -1;
        }
    }
    if (rc == 0 && store_commit(d->s, &e) == 0) {
        if (d->flush_failures > 0)
            log_info("dispatch",
                     "outbox updates saved again, after %u "
                     "refused tries",
                     d->flush_failures);
        upd_clear(d);
        return 0;
    }
    if (d->flush_failures++ == 0)
        log_error("dispatch",
                  "outbox update not saved (kept, trying again "
                  "every %gs): %s",
                  DISPATCH_FLUSH_RETRY, e.msg);
    d->flush_retry_at = util_mono() + DISPATCH_FLUSH_RETRY;
    return 2;
}

/* The last write before the dispatcher stops or returns: outcomes it
 * cannot write are dropped (their rows stay pending, sent again after a
 * restart). */
static void flush(struct dispatcher *d)
{
    if (flush_try(d, true) != 2)
        return;
    log_error("dispatch",
              "%zu outbox updates not saved; those notifications "
              "stay pending and are sent again by the next run",
              d->nupd);
    upd_clear(d);
}

/* Flush when enough outcomes wait or the oldest is old enough; returns the
 * milliseconds until the next flush is due (INT_MAX when none waits). */
static int flush_due(struct dispatcher *d, bool idle)
{
    double now = util_mono(), age;

    if (d->nupd == 0)
        return INT_MAX;
    if (d->flush_failures > 0 && now < d->flush_retry_at)
        return (int)ceil((d->flush_retry_at - now) * 1000.0);
    age = now - d->upd_since;
    if (idle || d->nupd >= DISPATCH_FLUSH_ROWS || age >= DISPATCH_FLUSH_AFTER) {
        bool wait =
            d->nupd >= DISPATCH_FLUSH_MAX_ROWS || age >= DISPATCH_FLUSH_MAX_AGE;

        switch (flush_try(d, wait)) {
        case 1:
            return 1; /* the write lock is taken: try again shortly */
        case 2:
            return (int)ceil(DISPATCH_FLUSH_RETRY * 1000.0);
        default:
            return INT_MAX;
        }
    }
    return (int)ceil((DISPATCH_FLUSH_AFTER - age) * 1000.0);
}

/* --- pairs never sent anything (see struct dispatcher) --- */

static struct hnode *unheard_find(const struct dispatcher *d, uint64_t pair)
{
    for (struct hnode *h = htab_bucket(&d->unheard, pair); h; h = h->next)
        if (h->hash == pair)
            return h;
    return NULL;
}

static void unheard_set(struct dispatcher *d, uint64_t pair, bool on)
{
    struct hnode *h = unheard_find(d, pair);

    if (on && h == NULL && d->unheard.n < DISPATCH_UNHEARD_MAX) {
        h = xcalloc(1, sizeof(*h));
        h->hash = pair;
        htab_insert(&d->unheard, h);
    } else if (!on && h != NULL) {
        htab_remove(&d->unheard, h);
        free(h);
    }
}

static void unheard_free(struct hnode *h, void *ctx)
{
    (void)ctx;
    free(h);
}

/* --- outcomes --- */

/* The tokens n's rate-limit bucket holds at most (its burst). */
static double bucket_size(const struct notifier *n)
{
    return n->burst >= 1 ? n->burst : 1;
}

/* Seconds a notification to n may be retried for (max_retry_time). */
static double retry_budget(const struct notifier *n)
{
    return n && n->max_retry_time > 0 ? n->max_retry_time : 3600;
}

/* The wait after failed attempt number attempt to n: full jitter (AWS
 * "Exponential Backoff and Jitter") under retry_backoff doubled per
 * attempt, capped, but never sooner than the receiver's Retry-After
 * (capped). unit: a random number in [0, 1). */
static double retry_delay(const struct notifier *n, int attempt,
                          double retry_after, double unit)
{
    double base = n && n->retry_backoff > 0 ? n->retry_backoff : 1.0;
    double cap = fmin(base * pow(2.0, attempt - 1), DISPATCH_BACKOFF_CAP);

    return fmax(unit * cap, fmin(retry_after, DISPATCH_RETRY_AFTER_CAP));
}

/* Record one attempt's outcome for row r. res: the judgement; code: HTTP or
 * SMTP code (0 none); retry_after: seconds the receiver asked for (0 none);
 * what: the account of the failure for logs and last_error. */
static void finish(struct dispatcher *d, struct drow *r,
                   const struct notifier *n, enum delivery_result res,
                   long code, double retry_after, const char *what)
{
    char mod[200], past[700];
    double now = util_now();
    enum outbox_status st = OUTBOX_SENT;
    double next = now, delay = 0, asked = retry_after;
    int attempts = r->attempts + 1;
    struct rstate *rs;
    bool quiet = false; /* a line like it was logged for the receiver */

    if (retry_after > DISPATCH_RETRY_AFTER_CAP)
        retry_after = DISPATCH_RETRY_AFTER_CAP;
    mod[0] = '\0';
    if (res != DELIVERY_OK || log_on(LOG_DEBUG))
        log_module(n, r->receiver, mod, sizeof(mod));
    if (res == DELIVERY_RETRY) {
        double budget = retry_budget(n);

        delay = retry_delay(n, attempts, retry_after, rand_unit(d));
        next = now + delay;
        /* The time budget runs from this process's first attempt: a
         * replay (eval) stamps rows with event times, which may be long
         * past, and a row resumed after a restart (or by a later `eval
         * --notify --store`) gets its time again. Attempts count across
         * restarts, so a row is never retried without end. */
        double since = r->first_try > 0 ? r->first_try : now;

        /* A wait that would end past the budget is cut short at its end:
         * the last attempt comes when max_retry_time has passed, not
         * earlier (unless the receiver asked for a later Retry-After). */
        if (attempts < DISPATCH_MAX_ATTEMPTS && next > since + budget &&
            now < since + budget &&
            !(asked > 0 && now + asked > since + budget)) {
            next = since + budget;
            delay = next - now;
        }
        if (attempts >= DISPATCH_MAX_ATTEMPTS || next > since + budget) {
            res = DELIVERY_FAIL;
            /* Say why a retryable answer ended it. */
            if (asked > 0 && now + asked > since + budget) {
                snprintf(past, sizeof(past),
                         "%s (its Retry-After of %.0f s is past the retry "
                         "budget, max_retry_time)",
                         what ? what : "", asked);
                what = past;
            }
        } else {
            st = OUTBOX_PENDING;
        }
    }
    if (res == DELIVERY_FAIL)
        st = OUTBOX_FAILED;

    pthread_mutex_lock(&d->mu);
    rs = rstate_get(d, r->receiver);
    /* A 429 says "slow down" for the endpoint, not for this message: no
     * delivery to the receiver starts before its Retry-After has passed. */
    if (code == 429 && retry_after > 0) {
        double hold = util_mono() + retry_after;
        if (hold > rs->hold_until)
            rs->hold_until = hold;
        /* Requests handed to the senders already wait there too. */
        for (size_t i = 0; i < DISPATCH_SENDERS; i++) {
            sender_hold(d->snd[i], r->lane, hold);
            sender_kick(d->snd[i]);
        }
    }
    if (st == OUTBOX_SENT) {
        rs->sent++;
    } else if (st == OUTBOX_PENDING) {
        rs->retried++;
    } else {
        rs->failed++;
        if (code == 410 && !rs->gone_logged) {
            rs->gone_logged = true;
            log_error(mod, "endpoint gone (410); check the URL");
        }
        /* A notifier removed from the config fails its whole backlog at
         * once: one line says so, not one per notification. */
        if (n == NULL) {
            quiet = rs->missing_logged;
            rs->missing_logged = true;
        }
    }
    pthread_mutex_unlock(&d->mu);

    if (st == OUTBOX_SENT)
        log_debug(mod, "%s delivered (%s)", r->key, what ? what : "ok");
    else if (st == OUTBOX_PENDING)
        log_warn(mod, "%s, retry in %.1fs", what, delay);
    else if (n == NULL && !quiet)
        log_error(mod,
                  "%s: its pending notifications fail without being sent, "
                  "the first %s (each is counted and kept in the outbox)",
                  what, r->key);
    else if (n == NULL)
        log_debug(mod, "%s; %s failed", what, r->key);
    else
        log_error(mod, "%s; giving up on %s after %d attempt%s", what, r->key,
                  attempts, attempts == 1 ? "" : "s");

    /* The receiver got something of the alert: it has heard it. */
    if (st == OUTBOX_SENT && d->unheard.n > 0)
        unheard_set(d, r->pair, false);
    upd_add(d, r, st, attempts, next, what, code, now);
    if (code == 429 && retry_after > 0) {
        d->upd[d->nupd - 1].hold = now + retry_after;
        d->upd[d->nupd - 1].hold_key = hold_meta_key(r->receiver);
    }
    r->attempts = attempts;
    r->next_at = next;
    if (st != OUTBOX_PENDING) {
        r->done = true;
        d->ndone++;
    }
    d->progressed = true;
}

static const char *verb(const struct request *rq)
{
    if (rq->kind == REQ_SMTP)
        return "send";
    return rq->method ? rq->method : "POST";
}

/* Judge a completed transfer and record it. */
static void complete(struct dispatcher *d, struct sender_xfer *x)
{
    CURLcode rc = x->rc;
    struct drow *row = x->owner;
    const struct notifier *n = find_notifier(d->cfg, row->receiver);
    long code = 0;
    curl_off_t ra = 0;
    enum delivery_result res;
    char what[600], snip[256], why[400];

    curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_getinfo(x->h, CURLINFO_RETRY_AFTER, &ra);
    if (ra < 0)
        ra = 0; /* a past HTTP-date can come out negative before 8.12 */
    if (rc == CURLE_OK || (x->req.kind == REQ_SMTP && code >= 400)) {
        /* SMTP failures (a refused RCPT or DATA) come back as curl errors
         * carrying the server's reply code: judge the code. */
        if (n && n->ops && n->ops->check && rc == CURLE_OK)
            res = n->ops->check(n, code, x->io.resp.data ? x->io.resp.data : "",
                                x->io.resp.len);
        else
            res = notifier_default_check(x->req.kind, code);
        /* The mail went out, but libcurl went on past refused
         * recipients: they get nothing, so say whom. */
        if (x->req.kind == REQ_SMTP && res == DELIVERY_OK &&
            x->io.rcpt_refused > 0) {
            char mod[200];
            log_module(n, row->receiver, mod, sizeof(mod));
            log_warn(mod, "sent to %u of %u recipients; refused: %s",
                     x->io.rcpt_asked - x->io.rcpt_refused, x->io.rcpt_asked,
                     x->io.refused);
        }
        /* A success is only told in debug logs: skip writing it up. */
        if (res == DELIVERY_OK && !log_on(LOG_DEBUG)) {
            finish(d, row, n, res, code, 0, "ok");
            return;
        }
        transport_snippet(x->io.resp.data, x->io.resp.len, 200, &x->req, snip,
                          sizeof(snip));
        if (x->req.kind == REQ_SMTP)
            snprintf(what, sizeof(what), "%s %s: SMTP %ld", verb(&x->req),
                     res == DELIVERY_OK ? "ok" : "failed", code);
        else if (snip[0])
            snprintf(what, sizeof(what), "%s %s: HTTP %ld \"%s\"",
                     verb(&x->req), res == DELIVERY_OK ? "ok" : "failed", code,
                     snip);
        else
            snprintf(what, sizeof(what), "%s %s: HTTP %ld", verb(&x->req),
                     res == DELIVERY_OK ? "ok" : "failed", code);
    } else {
        res = transport_retryable(rc) ? DELIVERY_RETRY : DELIVERY_FAIL;
        transport_describe_error(x->h, rc, &x->req, why, sizeof(why));
        snprintf(what, sizeof(what), "%s failed: %s", verb(&x->req), why);
    }
    finish(d, row, n, res, code, (double)ra, what);
}

/* Count a transfer to receiver in or out. */
static void flight(struct dispatcher *d, const char *receiver, bool in)
{
    struct rstate *rs;

    pthread_mutex_lock(&d->mu);
    rs = rstate_get(d, receiver);
    if (in)
        rs->inflight++;
    else if (rs->inflight > 0)
        rs->inflight--;
    pthread_mutex_unlock(&d->mu);
}

/* A delivery to n that took a token from its rate limit did not happen. */
static void refund_token(struct dispatcher *d, const struct notifier *n,
                         const char *receiver)
{
    struct rstate *rs;

    if (n == NULL || !(n->rate_per_s > 0))
        return;
    pthread_mutex_lock(&d->mu);
    rs = rstate_get(d, receiver);
    rs->tokens = fmin(rs->tokens + 1, bucket_size(n));
    pthread_mutex_unlock(&d->mu);
}

/* Take the transfers the sender finished: judge and record each (an
 * aborted one leaves its row pending). */
static void harvest_one(struct dispatcher *d, struct sender *snd)
{
    struct sender_xfer *x = sender_take_done(snd);

    while (x) {
        struct sender_xfer *next = x->next;
        struct drow *row = x->owner;
        char what[600];

        row->inflight = false;
        d->inflight--;
        flight(d, row->receiver, false);
        if (x->aborted) {
            /* Nothing to record; it never reached the receiver, so a
             * recalled one gets its rate-limit token back. */
            refund_token(d, find_notifier(d->cfg, row->receiver),
                         row->receiver);
        } else if (x->setup_error[0]) {
            snprintf(what, sizeof(what), "could not start the transfer: %s",
                     x->setup_error);
            finish(d, row, find_notifier(d->cfg, row->receiver), DELIVERY_FAIL,
                   0, 0, what);
        } else {
            complete(d, x);
        }
        sender_release(snd, x);
        x = next;
    }
}

static void harvest(struct dispatcher *d)
{
    for (size_t i = 0; i < DISPATCH_SENDERS; i++)
        harvest_one(d, d->snd[i]);
}

/* Once per turn: the active silences. When the set has changed (a silence
 * added over the API, from the CLI, or one that starts now), requests
 * rendered before it and still waiting in the senders for a slot come
 * back, to be judged again: only those already on the wire go out. A store
 * that cannot be read silences nothing: a notification is not dropped on
 * a guess. */
static void silences_refresh(struct dispatcher *d)
{
    struct err e = {0};

    if (silences_load(&d->sil, d->s, util_now(), &e) < 0) {
        log_warn("dispatch", "cannot read the silences: %s", e.msg);
        silences_cleanup(&d->sil); /* none, not the part read */
        return;
    }
    if (d->sil.ids == d->sil_ids)
        return;
    d->sil_ids = d->sil.ids;
    if (d->sil.n > 0 && d->inflight > 0)
        for (size_t i = 0; i < DISPATCH_SENDERS; i++)
            sender_recall(d->snd[i]);
}

/* Whether a silence active now holds back alert notification r (payload:
 * its parsed JSON). The router checked the silences when the event was
 * recorded; one added since, while r waited (retrying, rate limited, the
 * receiver down), holds it back too (SPEC section 6: silences suppress
 * notifications while active). A store that cannot be read silences
 * nothing: a notification is not dropped on a guess. */
static bool silenced_now(struct dispatcher *d, const struct drow *r,
                         const cJSON *payload, bool *first)
{
    if (strcmp(r->kind, "event") != 0 && strcmp(r->kind, "repeat") != 0)
        return false;
    if (!silences_match_payload(&d->sil, payload))
        return false;
    *first = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(payload, "first"));
    return true;
}

/* Record r as silenced when it was due: not sent, counted as silenced.
 * first: r was the receiver's first notification of the alert's episode,
 * so unless another was queued since, the receiver has not heard it. why:
 * for the row's last_error. */
static void finish_silenced(struct dispatcher *d, struct drow *r,
                            const struct notifier *n, bool first,
                            const char *why)
{
    char mod[200];
    double now = util_now();
    struct rstate *rs;

    pthread_mutex_lock(&d->mu);
    rs = rstate_get(d, r->receiver);
    rs->silenced++;
    pthread_mutex_unlock(&d->mu);
    /* Nothing was sent: the rate limit's token goes back. */
    refund_token(d, n, r->receiver);
    if (log_on(LOG_DEBUG)) {
        log_module(n, r->receiver, mod, sizeof(mod));
        log_debug(mod, "%s %s", r->key, why);
    }
    upd_add(d, r, OUTBOX_SILENCED, r->attempts, now, why, 0, now);
    d->upd[d->nupd - 1].unheard = first;
    if (first)
        unheard_set(d, r->pair, true);
    r->done = true;
    d->ndone++;
    d->progressed = true;
}

/* Render and start row r (or finish it at once: local delivery, render
 * failure). */
static void start(struct dispatcher *d, struct drow *r, double now,
                  unsigned which)
{
    const struct notifier *n = find_notifier(d->cfg, r->receiver);
    struct notification nt;
    struct err e = {0};
    struct sender_xfer *x;
    cJSON *payload;
    char what[600];
    bool first = false;

    if (r->first_try == 0)
        r->first_try = now;
    if (n == NULL || n->ops == NULL || n->ops->render == NULL) {
        finish(d, r, NULL, DELIVERY_FAIL, 0, 0,
               "no such notifier in the config");
        return;
    }
    if (r->payload == NULL &&
        store_outbox_payload(d->s, r->id, &r->payload, &e) != 0) {
        /* A store error: try again on the next turn. */
        log_warn("dispatch", "cannot read notification %lld: %s",
                 (long long)r->id, e.set ? e.msg : "no such row");
        return;
    }
    payload = json_arena_parse(r->payload);
    free(r->payload);
    r->payload = NULL;
    d->payload_bytes -= r->held;
    r->held = 0;
    if (payload == NULL) {
        finish(d, r, n, DELIVERY_FAIL, 0, 0, "outbox payload is not JSON");
        return;
    }
    if (silenced_now(d, r, payload, &first)) {
        json_arena_free(payload);
        finish_silenced(d, r, n, first,
                        "silenced: a silence began while it waited");
        return;
    }
    if (d->unheard.n > 0 && unheard_find(d, r->pair) != NULL) {
        /* The receiver's first notification of this alert was silenced
         * when due, and nothing of it has reached the receiver since (a
         * delivery clears the mark, in finish): its "resolved" is not sent,
         * as it never got the firing. */
        const cJSON *ev = cJSON_GetObjectItemCaseSensitive(payload, "event");
        const cJSON *kind = cJSON_GetObjectItemCaseSensitive(ev, "event");
        bool resolved =
            cJSON_IsString(kind) && strcmp(kind->valuestring, "resolved") == 0;

        if (resolved) {
            unheard_set(d, r->pair, false); /* the episode ends */
            json_arena_free(payload);
            finish_silenced(d, r, n, false,
                            "silenced: the receiver's notification of the "
                            "firing was silenced");
            return;
        }
    }
    x = xcalloc(1, sizeof(*x));
    x->owner = r;
    memset(&nt, 0, sizeof(nt));
    nt.key = r->key;
    nt.receiver = r->receiver;
    nt.kind = r->kind;
    nt.payload = payload;
    nt.now = now;
    if (n->ops->render(n, &nt, &x->req, &e) < 0) {
        json_arena_free(payload);
        snprintf(what, sizeof(what), "could not render: %s", e.msg);
        finish(d, r, n, DELIVERY_FAIL, 0, 0, what);
        request_cleanup(&x->req);
        free(x);
        return;
    }
    json_arena_free(payload);
    if (x->req.kind == REQ_LOCAL) {
        int rc = n->ops->deliver_local ? n->ops->deliver_local(n, &x->req, &e)
                                       : (err_set(&e, "no local delivery"), -1);

        if (rc == 0) {
            finish(d, r, n, DELIVERY_OK, 0, 0, "written");
        } else {
            snprintf(what, sizeof(what), "%s", e.msg);
            finish(d, r, n, DELIVERY_RETRY, 0, 0, what);
        }
        request_cleanup(&x->req);
        free(x);
        return;
    }
    x->timeout = n->timeout;
    x->lane = r->lane;
    if (sender_submit(d->snd[which], x))
        d->submitted[which] = true;
    r->inflight = true;
    d->inflight++;
    flight(d, r->receiver, true);
}

/* Whether a delivery to n may start now: the receiver has a free transfer
 * slot and a token in its bucket. If not, *wait gets the seconds until a
 * token is there (0: until a transfer ends), and *newly says whether this is
 * the first row of the receiver the current scan (d->gen) found closed. */
static bool may_start(struct dispatcher *d, const struct notifier *n,
                      double mono, double *wait, bool *newly, unsigned *which)
{
    struct rstate *rs;
    double burst;
    bool ok = true;

    if (n == NULL)
        return true; /* start() fails the row at once */
    pthread_mutex_lock(&d->mu);
    rs = rstate_get(d, n->name);
    if (rs->inflight >= DISPATCH_MAX_PER_RECEIVER ||
        (rs->inflight >= (size_t)DISPATCH_MAX_HOST_CONNS &&
         d->inflight >= DISPATCH_MAX_INFLIGHT)) {
        ok = false;
    } else if (rs->hold_until > mono) {
        *wait = rs->hold_until - mono;
        ok = false;
    } else if (n->rate_per_s > 0) {
        burst = bucket_size(n);
        if (!rs->primed) {
            rs->primed = true;
            rs->tokens = burst;
            rs->refilled = mono;
        }
        rs->tokens += (mono - rs->refilled) * n->rate_per_s;
        rs->refilled = mono;
        if (rs->tokens > burst)
            rs->tokens = burst;
        if (rs->tokens >= 1) {
            rs->tokens -= 1;
        } else {
            *wait = (1 - rs->tokens) / n->rate_per_s;
            ok = false;
        }
    }
    if (!ok) {
        *newly = rs->closed_gen != d->gen;
        rs->closed_gen = d->gen;
    } else {
        *which = rs->next_snd++ % DISPATCH_SENDERS;
    }
    pthread_mutex_unlock(&d->mu);
    return ok;
}

/* Per-scan set of (alert, receiver) pairs seen: a later row of a pair waits
 * for the earlier one. Returns true if h was already in the set. */
static bool seen_test_set(struct dispatcher *d, uint64_t h)
{
    size_t mask = d->seen_cap - 1;
    size_t i = (size_t)(h ^ (h >> 29)) & mask;

    while (d->seen_gen[i] == d->gen) {
        if (d->seen[i] == h)
            return true;
        i = (i + 1) & mask;
    }
    d->seen_gen[i] = d->gen;
    d->seen[i] = h;
    return false;
}

static void seen_reset(struct dispatcher *d)
{
    if (d->seen_cap < 2 * d->nrows + 16) {
        size_t cap = 64;

        while (cap < 2 * d->nrows + 16)
            cap *= 2;
        free(d->seen);
        free(d->seen_gen);
        d->seen = xcalloc(cap, sizeof(*d->seen));
        d->seen_gen = xcalloc(cap, sizeof(*d->seen_gen));
        d->seen_cap = cap;
        d->gen = 0;
    }
    if (++d->gen == 0) {
        memset(d->seen_gen, 0, d->seen_cap * sizeof(*d->seen_gen));
        d->gen = 1;
    }
}

/* Start every due row that may go now; returns the Unix time of the next
 * row that will be due (INFINITY when none waits). */
static double schedule(struct dispatcher *d)
{
    double now = util_now(), mono = util_mono();
    double next = INFINITY;
    size_t nclosed = 0;

    seen_reset(d);
    /* Rows before first_open are all done: skip them without a look. */
    while (d->first_open < d->nrows && d->rows[d->first_open]->done)
        d->first_open++;
    for (size_t i = d->first_open; i < d->nrows; i++) {
        struct drow *r = d->rows[i];
        const struct notifier *n;
        double wait = 0;
        bool newly = false;
        unsigned which = 0;

        if (r->done)
            continue;
        if (seen_test_set(d, r->pair))
            continue; /* an earlier row of this alert and receiver is open */
        if (r->inflight)
            continue;
        if (r->next_at > now) {
            if (r->next_at < next)
                next = r->next_at;
            continue;
        }
        n = find_notifier(d->cfg, r->receiver);
        if (!may_start(d, n, mono, &wait, &newly, &which)) {
            if (wait > 0 && now + wait < next)
                next = now + wait;
            /* Every receiver closed: no later row can start before a
             * completion or the earliest token, which next covers. */
            if (newly && ++nclosed >= d->nrs)
                break;
            continue;
        }
        start(d, r, now, which);
    }
    return next;
}

static void abort_inflight(struct dispatcher *d)
{
    /* Rows stay pending in the store: the next start delivers them. The
     * stopped senders hand back every transfer they held, so harvest
     * clears each row's and receiver's in-flight count. */
    for (size_t i = 0; i < DISPATCH_SENDERS; i++)
        sender_abort(d->snd[i]);
    harvest(d);
}

static bool rows_open(const struct dispatcher *d)
{
    return d->nrows > d->ndone;
}

/* --- public API --- */

/* The sender finished transfers: end the dispatcher's poll. */
static void on_done(void *arg)
{
    struct dispatcher *d = arg;

    curl_multi_wakeup(d->multi);
}

struct dispatcher *dispatcher_new(const struct config *cfg, struct store *s,
                                  struct err *e)
{
    struct dispatcher *d = xcalloc(1, sizeof(*d));

    d->cfg = cfg;
    d->s = s;
    d->need_load = true;
    d->rng = (unsigned)((uint64_t)(util_now() * 1000.0) ^ (uint64_t)getpid());
    d->multi = curl_multi_init();
    if (d->multi == NULL) {
        err_set(e, "dispatch: cannot create a curl multi handle");
        free(d);
        return NULL;
    }
    for (size_t i = 0; i < DISPATCH_SENDERS; i++) {
        d->snd[i] = sender_new(
            on_done, d, (size_t)DISPATCH_MAX_HOST_CONNS / DISPATCH_SENDERS,
            DISPATCH_MAX_HOST_CONNS, DISPATCH_MAX_CONNS, e);
        if (d->snd[i] == NULL) {
            while (i-- > 0)
                sender_free(d->snd[i]);
            curl_multi_cleanup(d->multi);
            free(d);
            return NULL;
        }
    }
    pthread_mutex_init(&d->mu, NULL);
    pthread_cond_init(&d->cv, NULL);
    for (size_t i = 0; cfg && i < cfg->nnotifiers; i++) {
        struct rstate *rs = rstate_get(d, cfg->notifiers[i].name);
        char *key = hold_meta_key(rs->name);
        struct err me = {0};
        double until, now = util_now();

        /* A Retry-After still running when the last run stopped. */
        if (s != NULL && store_meta_number(s, key, &until, &me) == 0 &&
            until > now)
            rs->hold_until =
                util_mono() + fmin(until - now, DISPATCH_RETRY_AFTER_CAP);
        free(key);
    }
    return d;
}

void dispatcher_free(struct dispatcher *d)
{
    if (d == NULL)
        return;
    if (d->started)
        dispatcher_stop(d, 0);
    abort_inflight(d);
    flush(d);
    free(d->upd);
    for (size_t i = 0; i < d->nrows; i++)
        drow_free(d->rows[i]);
    free(d->rows);
    for (size_t i = 0; i < d->nrs; i++)
        free(d->rs[i].name);
    free(d->rs);
    free(d->seen);
    free(d->seen_gen);
    silences_cleanup(&d->sil);
    htab_foreach(&d->unheard, unheard_free, NULL);
    htab_cleanup(&d->unheard);
    for (size_t i = 0; i < DISPATCH_SENDERS; i++)
        sender_free(d->snd[i]);
    curl_multi_cleanup(d->multi);
    pthread_mutex_destroy(&d->mu);
    pthread_cond_destroy(&d->cv);
    free(d);
}

/* Take a pending reload and the wake flag (delivering thread only). */
static void take_signals(struct dispatcher *d, bool *stopping, double *grace)
{
    pthread_mutex_lock(&d->mu);
    if (d->new_cfg) {
        d->cfg = d->new_cfg;
        d->new_cfg = NULL;
        for (size_t i = 0; i < d->cfg->nnotifiers; i++)
            rstate_get(d, d->cfg->notifiers[i].name);
        pthread_cond_broadcast(&d->cv);
    }
    if (d->woken) {
        d->woken = false;
        d->need_load = true;
    }
    if (d->silences_changed) {
        d->silences_changed = false;
        silences_invalidate(&d->sil);
    }
    if (stopping)
        *stopping = d->stopping;
    if (grace)
        *grace = d->grace;
    pthread_mutex_unlock(&d->mu);
}

/* Wake the senders whose empty queue got transfers this turn. */
static void kick(struct dispatcher *d)
{
    for (size_t i = 0; i < DISPATCH_SENDERS; i++) {
        if (d->submitted[i]) {
            d->submitted[i] = false;
            sender_kick(d->snd[i]);
        }
    }
}

/* One turn of the loop: transfers progress, completions are recorded, due
 * rows start. Returns milliseconds the caller may wait in poll. */
static int step(struct dispatcher *d, bool take_new, struct err *e, int *rc)
{
    int fl;
    double next = INFINITY, now;
    long ms;

    *rc = 0;
    d->progressed = false;
    if (take_new &&
        (d->need_load || util_mono() - d->loaded_at >= DISPATCH_RELOAD_EVERY)) {
        if (load_pending(d, e) < 0)
            *rc = -1;
    }
    harvest(d);
    silences_refresh(d);
    if (take_new)
        next = schedule(d);
    kick(d);
    fl = flush_due(d, d->inflight == 0);
    compact(d);
    if (d->progressed || (take_new && d->need_load))
        return 0;
    now = util_now();
    ms = next == INFINITY ? DISPATCH_POLL_MAX_MS
                          : (long)ceil((next - now) * 1000.0);
    if (ms < 0)
        ms = 0;
    if (ms > fl)
        ms = fl;
    return ms > DISPATCH_POLL_MAX_MS ? DISPATCH_POLL_MAX_MS : (int)ms;
}

static void *thread_main(void *arg)
{
    struct dispatcher *d = arg;
    double stop_at = 0;
    bool stopping = false;

    util_thread_name("tocsin-dispatch");
    for (;;) {
        struct err e = {0};
        double grace = 0;
        int rc, wait;

        take_signals(d, &stopping, &grace);
        if (stopping && stop_at == 0)
            stop_at = util_mono() + (grace > 0 ? grace : 0);
        wait = step(d, !stopping, &e, &rc);
        if (rc < 0)
            log_error("dispatch", "cannot read the outbox: %s", e.msg);
        if (stopping && d->inflight > 0 && util_mono() >= stop_at) {
            log_warn("dispatch",
                     "stopping with %zu deliver%s still waiting for an "
                     "answer after %gs: %s pending, sent again by the next "
                     "start",
                     d->inflight, d->inflight == 1 ? "y" : "ies", grace,
                     d->inflight == 1 ? "it stays" : "they stay");
            break;
        }
        if (stopping && d->inflight == 0)
            break;
        if (stopping && wait > 100)
            wait = 100;
        curl_multi_poll(d->multi, NULL, 0, wait, NULL);
    }
    abort_inflight(d);
    flush(d);
    return NULL;
}

int dispatcher_start(struct dispatcher *d, struct err *e)
{
    if (d->started)
        return 0;
    d->stopping = false;
    if (pthread_create(&d->thread, NULL, thread_main, d) != 0) {
        err_set(e, "dispatch: cannot start the delivery thread");
        return -1;
    }
    d->started = true;
    return 0;
}

void dispatcher_wake(struct dispatcher *d)
{
    pthread_mutex_lock(&d->mu);
    d->woken = true;
    pthread_mutex_unlock(&d->mu);
    curl_multi_wakeup(d->multi);
}

void dispatcher_stop(struct dispatcher *d, double grace)
{
    if (!d->started)
        return;
    pthread_mutex_lock(&d->mu);
    d->stopping = true;
    d->grace = grace;
    pthread_cond_broadcast(&d->cv);
    pthread_mutex_unlock(&d->mu);
    curl_multi_wakeup(d->multi);
    pthread_join(d->thread, NULL);
    d->started = false;
    /* A reload that raced with the stop still takes effect. */
    if (d->new_cfg) {
        d->cfg = d->new_cfg;
        d->new_cfg = NULL;
    }
}

void dispatcher_reload(struct dispatcher *d, const struct config *cfg)
{
    if (!d->started) {
        d->cfg = cfg;
        pthread_mutex_lock(&d->mu);
        for (size_t i = 0; i < cfg->nnotifiers; i++)
            rstate_get(d, cfg->notifiers[i].name);
        pthread_mutex_unlock(&d->mu);
        return;
    }
    /* Hand the config to the thread and wait until it took it, so the
     * caller may free the old one when this returns. */
    pthread_mutex_lock(&d->mu);
    d->new_cfg = cfg;
    pthread_mutex_unlock(&d->mu);
    curl_multi_wakeup(d->multi);
    pthread_mutex_lock(&d->mu);
    while (d->new_cfg != NULL && !d->stopping)
        pthread_cond_wait(&d->cv, &d->mu);
    pthread_mutex_unlock(&d->mu);
}

/* Turns per pump: each reads up to DISPATCH_LOAD_BATCH new rows. */
#define DISPATCH_PUMP_TURNS 64

int dispatcher_pump(struct dispatcher *d, struct err *e)
{
    if (d->started) {
        err_set(e, "dispatch: pump while the delivery thread runs");
        return -1;
    }
    d->need_load = true;
    for (int i = 0; i < DISPATCH_PUMP_TURNS; i++) {
        int rc;

        take_signals(d, NULL, NULL);
        step(d, true, e, &rc);
        if (rc < 0)
            return -1;
        if (!d->need_load)
            break;
    }
    return 0;
}

void dispatcher_silences_changed(struct dispatcher *d)
{
    pthread_mutex_lock(&d->mu);
    d->silences_changed = true;
    pthread_mutex_unlock(&d->mu);
    /* Now, not at the end of the thread's sleep: requests waiting in the
     * senders are called back at once. */
    curl_multi_wakeup(d->multi);
}

void dispatcher_poke(struct dispatcher *d)
{
    if (d->started || (d->inflight == 0 && !rows_open(d)))
        return;
    harvest(d);
    silences_refresh(d);
    schedule(d);
    kick(d);
}

int dispatcher_drain(struct dispatcher *d, double timeout, struct err *e)
{
    double deadline = util_mono() + timeout;

    if (d->started) {
        err_set(e, "dispatch: drain while the delivery thread runs");
        return -1;
    }
    d->need_load = true;
    for (;;) {
        int rc, wait;

        take_signals(d, NULL, NULL);
        wait = step(d, true, e, &rc);
        if (rc < 0)
            return -1;
        if (!rows_open(d) && d->inflight == 0 && !d->need_load) {
            flush(d);
            return 0;
        }
        if (util_mono() >= deadline)
            break;
        {
            double left = (deadline - util_mono()) * 1000.0;

            if (left < wait)
                wait = left > 0 ? (int)left : 0;
        }
        curl_multi_poll(d->multi, NULL, 0, wait, NULL);
    }
    abort_inflight(d);
    flush(d);
    return 1;
}

struct dispatch_counter *dispatcher_counters(struct dispatcher *d, size_t *n)
{
    struct dispatch_counter *snap;

    pthread_mutex_lock(&d->mu);
    /* Names are never freed before d, so the snapshot may borrow them. */
    snap = xcalloc(d->nrs + 1, sizeof(*snap));
    for (size_t i = 0; i < d->nrs; i++) {
        snap[i].receiver = d->rs[i].name;
        snap[i].sent = d->rs[i].sent;
        snap[i].failed = d->rs[i].failed;
        snap[i].retried = d->rs[i].retried;
        snap[i].silenced = d->rs[i].silenced;
    }
    *n = d->nrs;
    pthread_mutex_unlock(&d->mu);
    return snap;
}

/* --- notify-test: one synchronous attempt --- */

static size_t count_rcpt(const struct curl_slist *l)
{
    size_t n = 0;

    for (; l; l = l->next)
        n++;
    return n;
}

/* One attempt of the notification key (see dispatcher_send_once); *retry:
 * the failure is one to try again, after at least *retry_after seconds
 * when the receiver asked for that. */
static int send_attempt(const struct notifier *n, const char *payload_json,
                        const char *kind, const char *key, bool once,
                        char *account, size_t accountlen, bool *retry,
                        double *retry_after, struct err *e)
{
    struct notification nt;
    struct request req;
    struct transport_io io;
    struct err re = {0};
    cJSON *payload;
    CURL *h;
    CURLcode rc;
    char snip[256], why[400];
    long code = 0;
    curl_off_t ra = 0;
    double t0;
    int ret = -1;

    *retry = false;
    *retry_after = 0;
    snprintf(account, accountlen, "failed");
    payload = cJSON_Parse(payload_json);
    if (payload == NULL) {
        snprintf(account, accountlen, "failed: the payload is not JSON");
        err_set(e, "%s", account);
        return -1;
    }
    memset(&nt, 0, sizeof(nt));
    memset(&req, 0, sizeof(req));
    nt.key = key;
    nt.receiver = n->name;
    nt.kind = kind ? kind : "test";
    nt.payload = payload;
    nt.now = util_now();
    if (n->ops->render(n, &nt, &req, &re) < 0) {
        cJSON_Delete(payload);
        request_cleanup(&req);
        snprintf(account, accountlen, "failed: could not render: %s", re.msg);
        err_set(e, "%s", account);
        return -1;
    }
    cJSON_Delete(payload);
    if (req.kind == REQ_LOCAL) {
        int (*now)(const struct notifier *, const struct request *,
                   struct err *) = n->ops->deliver_local_now
                                       ? n->ops->deliver_local_now
                                       : n->ops->deliver_local;

        if (now && now(n, &req, &re) == 0) {
            snprintf(account, accountlen,
                     "delivered: written by the %s notifier", n->ops->kind);
            ret = 0;
        } else {
            snprintf(account, accountlen, "failed: %s",
                     re.set ? re.msg : "no local delivery");
            err_set(e, "%s", account);
        }
        request_cleanup(&req);
        return ret;
    }
    h = curl_easy_init();
    if (h == NULL || transport_setup(h, &req, NULL, n->timeout, &io, &re) < 0) {
        snprintf(account, accountlen, "failed: %s",
                 re.set ? re.msg : "curl init");
        err_set(e, "%s", account);
        if (h) {
            curl_easy_cleanup(h);
            transport_io_cleanup(&io);
        }
        request_cleanup(&req);
        return -1;
    }
    t0 = util_mono();
    rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_getinfo(h, CURLINFO_RETRY_AFTER, &ra);
    *retry_after = ra > 0 ? (double)ra : 0;
    transport_snippet(io.resp.data, io.resp.len, 200, &req, snip, sizeof(snip));
    if (rc == CURLE_OK || (req.kind == REQ_SMTP && code >= 400)) {
        enum delivery_result res =
            (n->ops->check && rc == CURLE_OK)
                ? n->ops->check(n, code, io.resp.data ? io.resp.data : "",
                                io.resp.len)
                : notifier_default_check(req.kind, code);
        long ms = (long)((util_mono() - t0) * 1000.0 + 0.5);

        if (req.kind == REQ_SMTP && res == DELIVERY_OK && io.rcpt_refused > 0) {
            snprintf(account, accountlen,
                     "delivered: %ld OK to %u of %u recipients; refused: %s",
                     code, io.rcpt_asked - io.rcpt_refused, io.rcpt_asked,
                     io.refused);
        } else if (req.kind == REQ_SMTP && res == DELIVERY_OK) {
            size_t nr = count_rcpt(req.rcpt);

            snprintf(account, accountlen,
                     "delivered: %ld OK to %zu recipient%s", code, nr,
                     nr == 1 ? "" : "s");
        } else if (req.kind == REQ_SMTP) {
            snprintf(account, accountlen, "failed: SMTP %ld%s", code,
                     res == DELIVERY_RETRY ? " (temporary)" : "");
        } else if (res == DELIVERY_OK) {
            snprintf(account, accountlen,
                     "delivered: HTTP %ld \"%s\" in %ld ms", code, snip, ms);
        } else {
            snprintf(
                account, accountlen, "failed: HTTP %ld \"%s\"%s", code, snip,
                once && res == DELIVERY_RETRY ? " (would be retried)" : "");
        }
        ret = res == DELIVERY_OK ? 0 : -1;
        *retry = res == DELIVERY_RETRY;
    } else {
        transport_describe_error(h, rc, &req, why, sizeof(why));
        snprintf(account, accountlen, "failed: %s", why);
        *retry = transport_retryable(rc);
    }
    if (ret < 0)
        err_set(e, "%s", account);
    curl_easy_cleanup(h);
    transport_io_cleanup(&io);
    request_cleanup(&req);
    return ret;
}

/* A key of its own for a notification outside the outbox: msg_test_...
 * for notify-test's sample, msg_report_... for a report. */
static void once_key(const char *payload_json, const char *kind, char key[40])
{
    snprintf(key, 40, "msg_%s_%016llx",
             kind && strcmp(kind, "report") == 0 ? "report" : "test",
             (unsigned long long)util_hash64(payload_json, strlen(payload_json),
                                             (uint64_t)(util_now() * 1e6) ^
                                                 (uint64_t)getpid()));
}

int dispatcher_send_once(const struct notifier *n, const char *payload_json,
                         const char *kind, char *account, size_t accountlen,
                         struct err *e)
{
    char key[40];
    bool retry;
    double ra;

    once_key(payload_json, kind, key);
    return send_attempt(n, payload_json, kind, key, true, account, accountlen,
                        &retry, &ra, e);
}

int dispatcher_send_retrying(const struct notifier *n, const char *payload_json,
                             const char *kind, char *account, size_t accountlen,
                             struct err *e)
{
    double budget = retry_budget(n);
    double t0 = util_mono();
    unsigned rng =
        (unsigned)((uint64_t)(util_now() * 1e6) ^ (uint64_t)getpid());
    char key[40], mod[200];

    once_key(payload_json, kind, key);
    log_module(n, n->name, mod, sizeof(mod));
    for (int attempt = 1;; attempt++) {
        struct err ae = {0};
        bool retry;
        double ra, delay;
        struct timespec ts;

        if (send_attempt(n, payload_json, kind, key, false, account, accountlen,
                         &retry, &ra, &ae) == 0)
            return 0;
        if (!retry) {
            err_set(e, "%s", ae.msg);
            return -1;
        }
        delay = retry_delay(n, attempt, ra,
                            (double)rand_r(&rng) / ((double)RAND_MAX + 1.0));
        if (attempt >= DISPATCH_MAX_ATTEMPTS ||
            util_mono() + delay > t0 + budget) {
            /* Say why a retryable answer ended it, as the outbox does. */
            size_t len = strlen(account);

            if (ra > 0 && util_mono() + ra > t0 + budget)
                snprintf(account + len, accountlen - len,
                         " (its Retry-After of %.0f s is past the retry "
                         "budget, max_retry_time)",
                         ra);
            else
                snprintf(account + len, accountlen - len,
                         " (gave up after %d attempts)", attempt);
            err_set(e, "%s", account);
            return -1;
        }
        log_warn(mod, "%s, retry in %.1fs", account, delay);
        ts.tv_sec = (time_t)delay;
        ts.tv_nsec = (long)((delay - (double)ts.tv_sec) * 1e9);
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
            ;
    }
}
