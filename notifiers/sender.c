/* sender.c - the dispatcher's transfer thread (see sender.h). Queues in and
 * out are lists under one mutex; the thread sleeps in curl_multi_poll and is
 * woken with curl_multi_wakeup. Easy handles are kept in a pool: a fresh
 * handle per notification costs more than the request itself. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/util.h"
#include "sender.h"

#define SENDER_POOL 256
#define SENDER_POLL_MS 1000
/* Parsed receiver URLs kept per thread. A transfer reads its URL when it
 * starts, inside curl_multi_perform, so an entry is never replaced; URLs
 * beyond this many are handed to libcurl as text. */
#define SENDER_URLS 32

/* A finished easy handle, kept with what it was set up for. */
struct pooled {
    CURL *h;
    uint64_t lane;
    double timeout;
    bool reusable; /* only the per-request options need setting */
};

/* Transfers running in one lane (thread only), and until when none of
 * its waiting transfers may start (a receiver's 429 Retry-After). */
struct lane {
    uint64_t id;
    size_t running;
    double hold_until; /* util_mono() */
};

/* Lane holds asked for by the submitter, not yet seen by the thread. */
#define SENDER_HOLDS 16
/* The longest Retry-After honoured, in seconds (the dispatcher's cap). */
#define SENDER_HOLD_MAX 3600

struct sender {
    void (*wake)(void *);
    void *arg;
    CURLM *multi; /* driven by the thread; wakeup from any thread */
    pthread_t thread;
    bool running; /* submitter's side: the thread exists */

    pthread_mutex_t mu; /* guards the fields below */
    struct sender_xfer *inbox, *inbox_tail;
    struct sender_xfer *done, *done_tail;
    bool stop;
    bool recall; /* hand back the transfers not yet started */
    struct pooled pool[SENDER_POOL];
    size_t npool;
    struct {
        uint64_t lane;
        double until;
    } holds[SENDER_HOLDS];
    size_t nholds;

    /* thread only */
    struct {
        char *url;
        CURLU *uh;
    } urls[SENDER_URLS];
    size_t nurls;
    size_t lane_slots;
    size_t max_running; /* its connections: no transfer waits in libcurl */
    size_t nrunning;    /* transfers in the multi */
    struct sender_xfer *active;           /* transfers in the multi */
    struct sender_xfer *wait, *wait_tail; /* taken, waiting for a slot */
    struct lane *lanes;
    size_t nlanes;
};

static struct lane *lane_get(struct sender *s, uint64_t id)
{
    for (size_t i = 0; i < s->nlanes; i++)
        if (s->lanes[i].id == id)
            return &s->lanes[i];
    s->lanes = xrealloc(s->lanes, (s->nlanes + 1) * sizeof(*s->lanes));
    s->lanes[s->nlanes].id = id;
    s->lanes[s->nlanes].running = 0;
    s->lanes[s->nlanes].hold_until = 0;
    return &s->lanes[s->nlanes++];
}

/* Append the list from head to tail to the queue (qh, qt). Caller holds
 * s->mu when the queue is shared. */
static void queue_append(struct sender_xfer **qh, struct sender_xfer **qt,
                         struct sender_xfer *head, struct sender_xfer *tail)
{
    if (head == NULL)
        return;
    if (*qt)
        (*qt)->next = head;
    else
        *qh = head;
    *qt = tail;
}

static void list_push(struct sender_xfer **h, struct sender_xfer **t,
                      struct sender_xfer *x)
{
    x->next = NULL;
    x->prev = NULL;
    queue_append(h, t, x, x);
}

/* A handle for x: one last used for a request like it if the pool has
 * one (*fresh false: set up by transport_setup_again), else any pooled
 * handle reset, else a new one. */
static CURL *handle_get(struct sender *s, const struct sender_xfer *x,
                        bool *fresh)
{
    bool like = transport_reusable(&x->req);
    CURL *h = NULL;

    *fresh = true;
    pthread_mutex_lock(&s->mu);
    for (size_t i = s->npool; like && i-- > 0;) {
        struct pooled *p = &s->pool[i];

        if (p->reusable && p->lane == x->lane && p->timeout == x->timeout) {
            h = p->h;
            *p = s->pool[--s->npool];
            *fresh = false;
            break;
        }
    }
    if (h == NULL && s->npool > 0)
        h = s->pool[--s->npool].h;
    pthread_mutex_unlock(&s->mu);
    if (h == NULL)
        return curl_easy_init();
    if (*fresh)
        curl_easy_reset(h);
    return h;
}

/* url parsed once per thread, or NULL (libcurl parses the text). */
static CURLU *url_parsed(struct sender *s, const char *url)
{
    CURLU *uh;

    if (url == NULL)
        return NULL;
    for (size_t i = 0; i < s->nurls; i++)
        if (strcmp(s->urls[i].url, url) == 0)
            return s->urls[i].uh;
    if (s->nurls == SENDER_URLS || (uh = curl_url()) == NULL)
        return NULL;
    if (curl_url_set(uh, CURLUPART_URL, url, 0) != CURLUE_OK) {
        /* libcurl gives the same error on the text, in its own words. */
        curl_url_cleanup(uh);
        return NULL;
    }
    s->urls[s->nurls].url = xstrdup(url);
    s->urls[s->nurls++].uh = uh;
    return uh;
}

static void active_unlink(struct sender *s, struct sender_xfer *x)
{
    if (x->prev)
        x->prev->next = x->next;
    else if (s->active == x)
        s->active = x->next;
    if (x->next)
        x->next->prev = x->prev;
    x->prev = x->next = NULL;
}

/* Set up x and add it to the multi; if it cannot start, it goes to the
 * finished list with setup_error. */
static void start_one(struct sender *s, struct sender_xfer *x,
                      struct sender_xfer **fh, struct sender_xfer **ft)
{
    struct err e = {0};
    bool fresh = true;
    int rc = -1;
    CURLU *uh = x->req.kind == REQ_HTTP ? url_parsed(s, x->req.url) : NULL;

    x->h = handle_get(s, x, &fresh);
    if (x->h != NULL)
        rc = fresh ? transport_setup(x->h, &x->req, uh, x->timeout, &x->io, &e)
                   : transport_setup_again(x->h, &x->req, uh, &x->io, &e);
    if (rc < 0 ||
        curl_easy_setopt(x->h, CURLOPT_PRIVATE, (char *)x) != CURLE_OK ||
        curl_multi_add_handle(s->multi, x->h) != CURLM_OK) {
        snprintf(x->setup_error, sizeof(x->setup_error), "%s",
                 e.set ? e.msg : "curl");
        list_push(fh, ft, x);
        return;
    }
    lane_get(s, x->lane)->running++;
    s->nrunning++;
    x->prev = NULL;
    x->next = s->active;
    if (s->active)
        s->active->prev = x;
    s->active = x;
}

/* The transfers waiting for a slot go back unstarted. */
static void abort_waiting(struct sender *s, struct sender_xfer **fh,
                          struct sender_xfer **ft)
{
    while (s->wait) {
        struct sender_xfer *next = s->wait->next;

        s->wait->aborted = true;
        list_push(fh, ft, s->wait);
        s->wait = next;
    }
    s->wait_tail = NULL;
}

/* Everything the thread holds (waiting, then running) goes back
 * unfinished. */
static void abort_all(struct sender *s, struct sender_xfer **fh,
                      struct sender_xfer **ft)
{
    abort_waiting(s, fh, ft);
    while (s->active) {
        struct sender_xfer *x = s->active;

        active_unlink(s, x);
        curl_multi_remove_handle(s->multi, x->h);
        x->aborted = true;
        list_push(fh, ft, x);
    }
    for (size_t i = 0; i < s->nlanes; i++)
        s->lanes[i].running = 0;
    s->nrunning = 0;
}

/* Start the waiting transfers whose lane has a free slot and is not held,
 * in order. Returns the seconds until the first hold of a waiting transfer
 * ends (a large number: none). */
static double start_waiting(struct sender *s, struct sender_xfer **fh,
                            struct sender_xfer **ft)
{
    struct sender_xfer *x = s->wait, *keep = NULL, *keep_tail = NULL;
    double now = util_mono(), held = 1e9;

    while (x) {
        struct sender_xfer *next = x->next;
        struct lane *l = lane_get(s, x->lane);

        if (l->hold_until > now) {
            if (l->hold_until - now < held)
                held = l->hold_until - now;
            list_push(&keep, &keep_tail, x);
        } else if (l->running < s->lane_slots && s->nrunning < s->max_running) {
            /* A transfer libcurl holds for a free connection would run
             * down its timeout there: it waits here instead. */
            start_one(s, x, fh, ft);
        } else {
            list_push(&keep, &keep_tail, x);
        }
        x = next;
    }
    s->wait = keep;
    s->wait_tail = keep_tail;
    return held;
}

/* A 429 with Retry-After holds its lane here and now, before this thread
 * starts the lane's next waiting transfer in the slot it freed (the
 * dispatcher's sender_hold comes a moment later, for the other senders). */
static void hold_on_429(struct sender *s, const struct sender_xfer *x)
{
    long code = 0;
    curl_off_t ra = 0;
    struct lane *l;
    double until;

    if (x->rc != CURLE_OK ||
        curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &code) != CURLE_OK ||
        code != 429 ||
        curl_easy_getinfo(x->h, CURLINFO_RETRY_AFTER, &ra) != CURLE_OK ||
        ra <= 0)
        return;
    if (ra > SENDER_HOLD_MAX)
        ra = SENDER_HOLD_MAX;
    l = lane_get(s, x->lane);
    until = util_mono() + (double)ra;
    if (until > l->hold_until)
        l->hold_until = until;
}

/* Read finished transfers into the list (fh, ft); returns how many. */
static size_t reap(struct sender *s, struct sender_xfer **fh,
                   struct sender_xfer **ft)
{
    CURLMsg *m;
    int left;
    size_t n = 0;

    while ((m = curl_multi_info_read(s->multi, &left)) != NULL) {
        struct sender_xfer *x = NULL;

        if (m->msg != CURLMSG_DONE)
            continue;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
        if (x == NULL)
            continue;
        x->rc = m->data.result;
        active_unlink(s, x);
        curl_multi_remove_handle(s->multi, x->h);
        lane_get(s, x->lane)->running--;
        s->nrunning--;
        hold_on_429(s, x);
        list_push(fh, ft, x);
        n++;
    }
    return n;
}

static void *sender_main(void *arg)
{
    struct sender *s = arg;
    int poll_ms = 0;

    util_thread_name("tocsin-send");
    for (;;) {
        struct sender_xfer *in, *in_tail, *fh = NULL, *ft = NULL;
        int running = 0;
        bool stop, recall;

        pthread_mutex_lock(&s->mu);
        in = s->inbox;
        in_tail = s->inbox_tail;
        s->inbox = s->inbox_tail = NULL;
        stop = s->stop;
        recall = s->recall;
        s->recall = false;
        for (size_t i = 0; i < s->nholds; i++) {
            struct lane *l = lane_get(s, s->holds[i].lane);

            if (s->holds[i].until > l->hold_until)
                l->hold_until = s->holds[i].until;
        }
        s->nholds = 0;
        pthread_mutex_unlock(&s->mu);
        queue_append(&s->wait, &s->wait_tail, in, in_tail);
        /* Rendered before something changed (a new silence): the
         * submitter judges them again. */
        if (recall && !stop)
            abort_waiting(s, &fh, &ft);
        if (stop) {
            abort_all(s, &fh, &ft);
        } else {
            double held = start_waiting(s, &fh, &ft);

            curl_multi_perform(s->multi, &running);
            /* A turn that finished something polls without waiting: freed
             * slots go to waiting transfers, and curl may hold more. A held
             * lane wakes the thread when its hold ends. */
            poll_ms = reap(s, &fh, &ft) > 0 ? 0 : SENDER_POLL_MS;
            if (held * 1000 < poll_ms)
                poll_ms = (int)(held * 1000) + 1;
        }
        if (fh) {
            bool first;

            /* Wake the submitter only when the list was empty: until it
             * takes the list, the wake already sent covers the rest. */
            pthread_mutex_lock(&s->mu);
            first = s->done == NULL;
            queue_append(&s->done, &s->done_tail, fh, ft);
            pthread_mutex_unlock(&s->mu);
            if (first)
                s->wake(s->arg);
        }
        if (stop)
            return NULL;
        curl_multi_poll(s->multi, NULL, 0, poll_ms, NULL);
    }
}

struct sender *sender_new(void (*wake)(void *), void *arg, size_t lane_slots,
                          long host_conns, long total_conns, struct err *e)
{
    struct sender *s = xcalloc(1, sizeof(*s));

    s->lane_slots = lane_slots > 0 ? lane_slots : 1;
    s->max_running = total_conns > 0 ? (size_t)total_conns : 1;
    s->wake = wake;
    s->arg = arg;
    s->multi = curl_multi_init();
    if (s->multi == NULL) {
        err_set(e, "dispatch: cannot create a curl multi handle");
        free(s);
        return NULL;
    }
    curl_multi_setopt(s->multi, CURLMOPT_MAX_HOST_CONNECTIONS, host_conns);
    curl_multi_setopt(s->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, total_conns);
    pthread_mutex_init(&s->mu, NULL);
    return s;
}

void sender_hold(struct sender *s, uint64_t lane, double until)
{
    size_t i;

    pthread_mutex_lock(&s->mu);
    for (i = 0; i < s->nholds && s->holds[i].lane != lane; i++)
        ;
    if (i < s->nholds) {
        if (until > s->holds[i].until)
            s->holds[i].until = until;
    } else if (s->nholds < SENDER_HOLDS) {
        s->holds[s->nholds].lane = lane;
        s->holds[s->nholds++].until = until;
    }
    pthread_mutex_unlock(&s->mu);
}

bool sender_submit(struct sender *s, struct sender_xfer *x)
{
    bool first;

    x->h = NULL;
    x->aborted = false;
    x->setup_error[0] = '\0';
    if (!s->running) {
        if (pthread_create(&s->thread, NULL, sender_main, s) != 0) {
            snprintf(x->setup_error, sizeof(x->setup_error),
                     "cannot start the transfer thread");
            pthread_mutex_lock(&s->mu);
            list_push(&s->done, &s->done_tail, x);
            pthread_mutex_unlock(&s->mu);
            s->wake(s->arg);
            return false;
        }
        s->running = true;
    }
    pthread_mutex_lock(&s->mu);
    first = s->inbox == NULL;
    list_push(&s->inbox, &s->inbox_tail, x);
    pthread_mutex_unlock(&s->mu);
    return first;
}

void sender_kick(struct sender *s)
{
    curl_multi_wakeup(s->multi);
}

struct sender_xfer *sender_take_done(struct sender *s)
{
    struct sender_xfer *l;

    pthread_mutex_lock(&s->mu);
    l = s->done;
    s->done = s->done_tail = NULL;
    pthread_mutex_unlock(&s->mu);
    return l;
}

void sender_release(struct sender *s, struct sender_xfer *x)
{
    struct pooled p = {x->h, x->lane, x->timeout, false};
    CURL *h = x->h;

    /* A transfer stopped half-way or never started leaves its handle to
     * be reset. */
    p.reusable =
        !x->aborted && x->setup_error[0] == '\0' && transport_reusable(&x->req);
    transport_io_cleanup(&x->io);
    request_cleanup(&x->req);
    free(x);
    if (h == NULL)
        return;
    pthread_mutex_lock(&s->mu);
    if (s->npool < SENDER_POOL) {
        s->pool[s->npool++] = p;
        h = NULL;
    }
    pthread_mutex_unlock(&s->mu);
    if (h)
        curl_easy_cleanup(h);
}

void sender_recall(struct sender *s)
{
    if (!s->running)
        return;
    pthread_mutex_lock(&s->mu);
    s->recall = true;
    pthread_mutex_unlock(&s->mu);
    curl_multi_wakeup(s->multi);
}

void sender_abort(struct sender *s)
{
    if (!s->running)
        return;
    pthread_mutex_lock(&s->mu);
    s->stop = true;
    pthread_mutex_unlock(&s->mu);
    curl_multi_wakeup(s->multi);
    pthread_join(s->thread, NULL);
    s->running = false;
    s->stop = false;
}

void sender_free(struct sender *s)
{
    struct sender_xfer *l;

    if (s == NULL)
        return;
    sender_abort(s);
    l = sender_take_done(s);
    while (l) {
        struct sender_xfer *next = l->next;

        sender_release(s, l);
        l = next;
    }
    while (s->npool > 0)
        curl_easy_cleanup(s->pool[--s->npool].h);
    for (size_t i = 0; i < s->nurls; i++) {
        free(s->urls[i].url);
        curl_url_cleanup(s->urls[i].uh);
    }
    curl_multi_cleanup(s->multi);
    pthread_mutex_destroy(&s->mu);
    free(s->lanes);
    free(s);
}
