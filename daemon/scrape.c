/* scrape.c - libcurl multi scraper (see scrape.h). One thread, one multi
 * handle, at most one transfer in flight per target; the loop sleeps in
 * curl_multi_poll until a transfer progresses, the next target is due, or
 * stop is requested (curl_multi_wakeup). */
#include "scrape.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../common/buf.h"
#include "../common/log.h"
#include "../common/util.h"
#include "../notifiers/transport.h"

#define SCRAPE_MAX_BODY ((size_t)64 << 20)

struct target {
    char *url;
    char name[1024];    /* scrape_target_name of url */
    char instance[256]; /* host:port, Prometheus' `instance` label */
    double interval, timeout;
    struct kv *labels;
    size_t nlabels;
    double next_due; /* monotonic */
    CURL *easy;      /* non-NULL while in flight */
    struct buf body;
    struct curl_slist *hdrs; /* Accept: the text format; the timeout */
    double started;          /* wall time the transfer began */
    struct scrape_seen *seen;
    atomic_uint_fast64_t ok, failed;
    bool adopted; /* a halted target whose counters a new one took */
    /* Why its scrapes fail, "" while they succeed: a target that stays
     * down is logged when it goes down and when it is back, not at every
     * interval. */
    char down[160];
    uint64_t down_runs;          /* failed scrapes since it went down */
    char note[SCRAPE_NOTE_SIZE]; /* scrape_page.note */
};

struct scraper {
    struct target *t;
    size_t n;
    CURLM *multi;
    scrape_fn fn;
    void *ctx;
    pthread_t th;
    atomic_int stop;
};

/* Whether a query parameter's value may be a credential: its name holds
 * one of these (any case). */
static bool secret_param(const char *name, size_t n)
{
    static const char *const words[] = {"token", "key",     "secret",
                                        "pass",  "auth",    "sig",
                                        "cred",  "session", NULL};

    for (size_t i = 0; words[i]; i++) {
        size_t w = strlen(words[i]);
        for (size_t j = 0; j + w <= n; j++)
            if (strncasecmp(name + j, words[i], w) == 0)
                return true;
    }
    return false;
}

void scrape_target_name(const char *url, char *out, size_t outlen)
{
    const char *p = strstr(url, "://"), *at, *slash, *q, *end;
    struct buf b;

    if (p == NULL) {
        snprintf(out, outlen, "%s", url);
        return;
    }
    p += 3;
    slash = p + strcspn(p, "/?#");
    at = memchr(p, '@', (size_t)(slash - p));
    q = url + strcspn(url, "?#");
    buf_init(&b, 4096);
    buf_add(&b, url, (size_t)(p - url));
    buf_add(&b, at ? at + 1 : p, (size_t)(q - (at ? at + 1 : p)));
    /* The query tells targets of one exporter apart (blackbox's
     * ?target=); a value that may be a credential is not shown. */
    end = q + strcspn(q, "#");
    if (*q == '?') {
        const char *s = q + 1;
        buf_addc(&b, '?');
        while (s < end) {
            const char *amp = memchr(s, '&', (size_t)(end - s));
            const char *e = amp ? amp : end;
            const char *eq = memchr(s, '=', (size_t)(e - s));
            const char *vat = eq ? memchr(eq, '@', (size_t)(e - eq)) : NULL;
            if (eq && (secret_param(s, (size_t)(eq - s)) ||
                       (vat && memmem(eq, (size_t)(vat - eq), "://", 3)))) {
                /* A credential by its name, or a URL with userinfo in
                 * the value (blackbox's ?target=https://user:pw@host). */
                buf_add(&b, s, (size_t)(eq - s));
                buf_adds(&b, "=REDACTED");
            } else {
                buf_add(&b, s, (size_t)(e - s));
            }
            if (amp)
                buf_addc(&b, '&');
            s = amp ? amp + 1 : end;
        }
    }
    snprintf(out, outlen, "%s", b.failed ? "" : buf_str(&b));
    buf_cleanup(&b);
}

static size_t write_cb(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct target *t = ud;

    if (buf_add(&t->body, ptr, size * nmemb) < 0)
        return 0; /* over the limit: abort the transfer */
    return size * nmemb;
}

static void start_transfer(struct scraper *s, struct target *t)
{
    CURL *c = curl_easy_init();

    if (c == NULL) {
        atomic_fetch_add(&t->failed, 1);
        return;
    }
    buf_init(&t->body, SCRAPE_MAX_BODY);
    t->started = util_now(); /* the samples' time, as Prometheus stamps */
    curl_easy_setopt(c, CURLOPT_URL, t->url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(t->timeout * 1000));
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)(t->timeout * 1000));
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(c, CURLOPT_PRIVATE, t);
    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(c, CURLOPT_USERAGENT, "tocsin-scraper");
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    /* As Prometheus (follow_redirects: true, at most 10); credentials of
     * the URL are not sent on to another host (libcurl's default). */
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, t->hdrs);
    t->easy = c;
    curl_multi_add_handle(s->multi, c);
}

static void finish_transfer(struct scraper *s, CURL *c, CURLcode code)
{
    struct target *t = NULL;
    struct scrape_page pg;
    long status = 0;

    curl_easy_getinfo(c, CURLINFO_PRIVATE, (char **)&t);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_multi_remove_handle(s->multi, c);
    curl_easy_cleanup(c);
    if (t == NULL)
        return;
    t->easy = NULL;
    pg = (struct scrape_page){t->name, t->instance, NULL,
                              0,       t->labels,   t->nlabels,
                              t->seen, t->started,  t->note};
    if (code == CURLE_OK && status == 200) {
        atomic_fetch_add(&t->ok, 1);
        pg.body = buf_str(&t->body);
        pg.len = t->body.len;
        if (t->down[0] != '\0')
            log_info("scrape", "%s: up again after %llu failed scrape(s)",
                     t->name, (unsigned long long)t->down_runs);
        t->down[0] = '\0';
        t->down_runs = 0;
    } else {
        char why[sizeof(t->down)];

        atomic_fetch_add(&t->failed, 1);
        if (code == CURLE_WRITE_ERROR && t->body.failed)
            snprintf(why, sizeof(why), "page larger than %zu MiB",
                     (size_t)(SCRAPE_MAX_BODY >> 20));
        else if (code != CURLE_OK)
            snprintf(why, sizeof(why), "%s", curl_easy_strerror(code));
        else
            snprintf(why, sizeof(why), "HTTP %ld", status);
        t->down_runs++;
        /* Said when it goes down; while it stays down (whatever the
         * reason now: refused, then timing out...) at debug level. */
        if (t->down[0] == '\0')
            log_warn("scrape", "%s: %s", t->name, why);
        else
            log_debug("scrape", "%s: %s (%llu failed in a row)", t->name, why,
                      (unsigned long long)t->down_runs);
        memcpy(t->down, why, sizeof(why));
    }
    s->fn(s->ctx, &pg);
    buf_cleanup(&t->body);
}

static void *scrape_main(void *arg)
{
    struct scraper *s = arg;
    size_t i;

    util_thread_name("tocsin-scrape");
    while (!atomic_load(&s->stop)) {
        double now = util_mono(), wait = 1.0;
        int running = 0, left = 0;
        CURLMsg *m;

        for (i = 0; i < s->n; i++) {
            struct target *t = &s->t[i];
            if (t->easy == NULL && now >= t->next_due) {
                /* Keep the schedule (not now + interval) but never queue
                 * up missed scrapes. */
                t->next_due += t->interval;
                if (t->next_due < now)
                    t->next_due = now + t->interval;
                start_transfer(s, t);
            }
        }
        curl_multi_perform(s->multi, &running);
        while ((m = curl_multi_info_read(s->multi, &left)) != NULL)
            if (m->msg == CURLMSG_DONE)
                finish_transfer(s, m->easy_handle, m->data.result);
        /* After the transfers that just ended (handing a page over waits
         * for its commit: the clock is read again): an idle target's next
         * scrape may be due sooner than a second (interval: 250ms). */
        now = util_mono();
        for (i = 0; i < s->n; i++)
            if (s->t[i].easy == NULL && s->t[i].next_due - now < wait)
                wait = s->t[i].next_due - now;
        if (wait < 0.01)
            wait = 0.01;
        curl_multi_poll(s->multi, NULL, 0, (int)(wait * 1000), NULL);
    }
    for (i = 0; i < s->n; i++) {
        if (s->t[i].easy != NULL) {
            curl_multi_remove_handle(s->multi, s->t[i].easy);
            curl_easy_cleanup(s->t[i].easy);
            s->t[i].easy = NULL;
            buf_cleanup(&s->t[i].body);
        }
    }
    return NULL;
}

/* Stop s's thread; its targets stay, for adopt and scraper_stop. */
static void halt(struct scraper *s)
{
    if (s == NULL || s->multi == NULL)
        return;
    atomic_store(&s->stop, 1);
    curl_multi_wakeup(s->multi);
    pthread_join(s->th, NULL);
    curl_multi_cleanup(s->multi);
    s->multi = NULL;
}

/* Whether a and b add the same labels (in any order). */
static bool same_labels(const struct target *a, const struct target *b)
{
    if (a->nlabels != b->nlabels)
        return false;
    for (size_t i = 0; i < a->nlabels; i++) {
        size_t k = 0;

        while (k < b->nlabels && strcmp(a->labels[i].key, b->labels[k].key))
            k++;
        if (k == b->nlabels || strcmp(a->labels[i].value, b->labels[k].value))
            return false;
    }
    return true;
}

/* t takes what prev's target of the same URL and labels (the same series;
 * its interval may have changed) knew, each old target once (halted prev
 * only): two inputs scraping one URL keep their own counts across a
 * reload. */
static void adopt(struct target *t, struct scraper *prev)
{
    for (size_t i = 0; prev != NULL && i < prev->n; i++) {
        struct target *o = &prev->t[i];
        struct scrape_seen *keep = t->seen;

        if (o->adopted || strcmp(o->url, t->url) != 0 || !same_labels(o, t))
            continue;
        o->adopted = true;
        t->seen = o->seen;
        o->seen = keep;
        atomic_store(&t->ok, atomic_load(&o->ok));
        atomic_store(&t->failed, atomic_load(&o->failed));
        memcpy(t->down, o->down, sizeof(t->down));
        memcpy(t->note, o->note, sizeof(t->note));
        t->down_runs = o->down_runs;
        return;
    }
}

struct scraper *scraper_start(const struct scrape_target_cfg *tc, size_t n,
                              scrape_fn fn, void *ctx, struct scraper *prev,
                              struct err *e)
{
    struct scraper *s = xcalloc(1, sizeof(*s));
    double now = util_mono();
    size_t i, k;

    halt(prev);
    s->t = xcalloc(n ? n : 1, sizeof(*s->t));
    s->n = n;
    s->fn = fn;
    s->ctx = ctx;
    atomic_init(&s->stop, 0);
    for (i = 0; i < n; i++) {
        struct target *t = &s->t[i];
        t->url = xstrdup(tc[i].url);
        scrape_target_name(t->url, t->name, sizeof(t->name));
        if (transport_url_hostport(t->url, t->instance, sizeof(t->instance)) <
            0)
            snprintf(t->instance, sizeof(t->instance), "%.255s", t->name);
        t->interval = tc[i].interval > 0 ? tc[i].interval : 15;
        t->timeout = tc[i].timeout > 0 ? tc[i].timeout : 10;
        if (t->timeout > t->interval)
            t->timeout = t->interval;
        t->labels =
            xcalloc(tc[i].nlabels ? tc[i].nlabels : 1, sizeof(*t->labels));
        for (k = 0; k < tc[i].nlabels; k++) {
            t->labels[k].key = xstrdup(tc[i].labels[k].key);
            t->labels[k].value = xstrdup(tc[i].labels[k].value);
        }
        t->nlabels = tc[i].nlabels;
        t->next_due = now;
        t->seen = scrape_seen_new();
        t->hdrs = curl_slist_append(
            NULL, "Accept: text/plain;version=0.0.4;q=1,*/*;q=0.1");
        {
            /* blackbox_exporter and others size their work by it */
            char h[80];
            snprintf(h, sizeof(h), "X-Prometheus-Scrape-Timeout-Seconds: %g",
                     t->timeout);
            t->hdrs = curl_slist_append(t->hdrs, h);
        }
        atomic_init(&t->ok, 0);
        atomic_init(&t->failed, 0);
        adopt(t, prev);
    }
    s->multi = curl_multi_init();
    if (s->multi == NULL || pthread_create(&s->th, NULL, scrape_main, s) != 0) {
        err_set(e, "scrape: cannot start");
        if (s->multi != NULL)
            curl_multi_cleanup(s->multi);
        s->multi = NULL;
        scraper_stop(s);
        return NULL;
    }
    for (i = 0; i < n; i++)
        log_info("scrape", "scraping %s every %gs", s->t[i].name,
                 s->t[i].interval);
    return s;
}

size_t scraper_counters(struct scraper *s, struct metrics_scrape *out,
                        size_t max)
{
    size_t i;

    for (i = 0; s != NULL && i < s->n && i < max; i++) {
        out[i].target = s->t[i].name;
        out[i].ok = atomic_load(&s->t[i].ok);
        out[i].failed = atomic_load(&s->t[i].failed);
    }
    return s ? s->n : 0;
}

void scraper_stop(struct scraper *s)
{
    size_t i, k;

    if (s == NULL)
        return;
    halt(s);
    for (i = 0; i < s->n; i++) {
        free(s->t[i].url);
        for (k = 0; k < s->t[i].nlabels; k++) {
            free(s->t[i].labels[k].key);
            free(s->t[i].labels[k].value);
        }
        free(s->t[i].labels);
        curl_slist_free_all(s->t[i].hdrs);
        scrape_seen_free(s->t[i].seen);
    }
    free(s->t);
    free(s);
}
