/* check_daemon.c - unit tests of the daemon's parts that run without a
 * store: batches and rejected lines, the metrics page, the writer thread
 * (group commit, calls between batches, timer) driven by a fake pipeline,
 * the file follower across rotation and truncation, and the StatsD socket. */
#include <arpa/inet.h>
#include <check.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../common/buf.h"
#include "../common/util.h"
#include "../daemon/batch.h"
#include "../daemon/filein.h"
#include "../daemon/metrics.h"
#include "../daemon/scrape.h"
#include "../daemon/scrape_seen.h"
#include "../daemon/statsd.h"
#include "../daemon/writer.h"
#include "../notifiers/transport.h"

/* --- batch --- */

START_TEST(batch_parse_counts_rejected_lines_with_numbers)
{
    struct ingest_parser *p = ingest_parser_new(FMT_JSON);
    struct batch b;
    struct batch_rejects *rj = calloc(1, sizeof(*rj));
    const char *text =
        "{\"metric\":\"a\",\"value\":1}\n"
        "nope\n"
        "{\"metric\":\"b\",\"labels\":{\"x\":\"y\"},\"value\":2}\n"
        "\n"
        "{\"metric\":\"c\"}\n";

    batch_init(&b, 100.0);
    ck_assert_uint_eq(batch_parse_text(&b, p, text, strlen(text), 1, rj), 2);
    ck_assert_uint_eq(b.n, 2);
    ck_assert_str_eq(b.v[0].metric, "a");
    ck_assert_str_eq(b.v[1].labels[0].value, "y");
    ck_assert_uint_eq(rj->count, 2);
    ck_assert_uint_eq(rj->v[0].line, 2);
    ck_assert_uint_eq(rj->v[1].line, 5);
    ck_assert(rj->v[0].reason[0] != '\0');
    batch_cleanup(&b);
    ingest_parser_free(p);
    free(rj);
}
END_TEST

START_TEST(batch_extra_labels_replace_same_named_sample_labels)
{
    struct label lv[2] = {{"job", "scraped"}, {"host", "a"}};
    struct sample s = {"m", lv, 2, 1.5, NAN};
    struct kv extra[1] = {{"job", "node"}};
    struct batch b;

    batch_init(&b, 1.0);
    b.extra = extra;
    b.nextra = 1;
    ck_assert_int_eq(batch_add(&b, &s), 0);
    ck_assert_uint_eq(b.v[0].nlabels, 2);
    ck_assert_str_eq(labels_get(b.v[0].labels, 2, "job"), "node");
    ck_assert_str_eq(labels_get(b.v[0].labels, 2, "host"), "a");
    ck_assert(isnan(b.v[0].ts));
    batch_cleanup(&b);
}
END_TEST

START_TEST(batch_default_labels_fill_in_only_what_is_missing)
{
    struct label lv[2] = {{"instance", "node-a"}, {"host", "a"}};
    struct sample own = {"m", lv, 2, 1.0, NAN};
    struct sample bare = {"m", lv + 1, 1, 1.0, NAN};
    struct kv extra[1] = {{"job", "fed"}};
    struct kv dflt[2] = {{"instance", "127.0.0.1:9090"}, {"job", "x"}};
    struct batch b;

    batch_init(&b, 1.0);
    b.extra = extra;
    b.nextra = 1;
    b.dflt = dflt;
    b.ndflt = 2;
    ck_assert_int_eq(batch_add(&b, &own), 0);
    ck_assert_int_eq(batch_add(&b, &bare), 0);
    /* the sample's own instance stays; job comes from extra, not dflt */
    ck_assert_uint_eq(b.v[0].nlabels, 3);
    ck_assert_str_eq(labels_get(b.v[0].labels, 3, "instance"), "node-a");
    ck_assert_str_eq(labels_get(b.v[0].labels, 3, "job"), "fed");
    ck_assert_uint_eq(b.v[1].nlabels, 3);
    ck_assert_str_eq(labels_get(b.v[1].labels, 3, "instance"),
                     "127.0.0.1:9090");
    ck_assert_str_eq(labels_get(b.v[1].labels, 3, "host"), "a");
    ck_assert_str_eq(labels_get(b.v[1].labels, 3, "job"), "fed");
    batch_cleanup(&b);
}
END_TEST

/* A scrape target's `instance` label. */
START_TEST(scrape_instance_is_host_and_port_of_the_url)
{
    char out[128];

    ck_assert_int_eq(transport_url_hostport("http://127.0.0.1:9100/metrics",
                                            out, sizeof(out)),
                     0);
    ck_assert_str_eq(out, "127.0.0.1:9100");
    ck_assert_int_eq(
        transport_url_hostport("http://node-a/metrics?x=1", out, sizeof(out)),
        0);
    ck_assert_str_eq(out, "node-a:80");
    ck_assert_int_eq(
        transport_url_hostport("HTTPS://user:pw@node-b/m", out, sizeof(out)),
        0);
    ck_assert_str_eq(out, "node-b:443");
    ck_assert_int_eq(
        transport_url_hostport("http://[::1]:9090/federate", out, sizeof(out)),
        0);
    ck_assert_str_eq(out, "[::1]:9090");
    ck_assert_int_eq(
        transport_url_hostport("http://[::1]/metrics", out, sizeof(out)), 0);
    ck_assert_str_eq(out, "[::1]:80");
}
END_TEST

/* The target label of /metrics and of log lines: no userinfo; the query
 * kept (it tells blackbox's ?target= probes apart) but for values that may
 * be credentials. */
START_TEST(scrape_target_name_keeps_the_query_but_not_secrets)
{
    char out[256];

    scrape_target_name("http://u:pw@h:9115/probe?target=a&module=http_2xx", out,
                       sizeof(out));
    ck_assert_str_eq(out, "http://h:9115/probe?target=a&module=http_2xx");
    scrape_target_name("https://h/m?api_key=s3cr3t&x=1&Token=t&sig=q#frag", out,
                       sizeof(out));
    ck_assert_str_eq(out, "https://h/m?api_key=REDACTED&x=1&Token=REDACTED&"
                          "sig=REDACTED");
    scrape_target_name("http://h:1/metrics", out, sizeof(out));
    ck_assert_str_eq(out, "http://h:1/metrics");
    scrape_target_name("http://h:1/metrics?flag", out, sizeof(out));
    ck_assert_str_eq(out, "http://h:1/metrics?flag");
    scrape_target_name("http://bb:9115/probe?target=https://u:pw@site/x&m=a",
                       out, sizeof(out));
    ck_assert_str_eq(out, "http://bb:9115/probe?target=REDACTED&m=a");
    scrape_target_name("http://bb:9115/probe?target=https://site/x@y", out,
                       sizeof(out));
    ck_assert_str_eq(out, "http://bb:9115/probe?target=REDACTED");
}
END_TEST

START_TEST(batch_rejects_keep_a_bounded_list_but_count_all)
{
    struct ingest_parser *p = ingest_parser_new(FMT_JSON);
    struct batch b;
    struct batch_rejects *rj = calloc(1, sizeof(*rj));
    struct buf t;
    int i;

    buf_init(&t, 0);
    for (i = 0; i < 250; i++)
        buf_adds(&t, "bad\n");
    batch_init(&b, 1.0);
    batch_parse_text(&b, p, buf_str(&t), t.len, 1, rj);
    ck_assert_uint_eq(rj->count, 250);
    ck_assert_uint_eq(rj->nkept, BATCH_MAX_REJECTS);
    batch_cleanup(&b);
    buf_cleanup(&t);
    ingest_parser_free(p);
    free(rj);
}
END_TEST

/* --- scrape pages --- */

/* One prom page into a batch with the target's job label, as the scraper
 * does; returns how many samples the filter dropped. */
static size_t scrape_page(struct scrape_seen *ss, const char *page,
                          struct batch *b)
{
    static const struct kv job[1] = {{"job", "fed"}};
    struct ingest_parser *p = ingest_parser_new(FMT_PROM);
    size_t dropped;

    batch_init(b, 2000.0);
    b->extra = job;
    b->nextra = 1;
    ck_assert_uint_eq(batch_parse_text(b, p, page, strlen(page), 1, NULL), 0);
    ingest_parser_free(p);
    dropped = scrape_seen_filter(ss, b);
    return dropped;
}

START_TEST(scrape_seen_drops_a_stamped_sample_shown_again)
{
    struct scrape_seen *ss = scrape_seen_new();
    struct batch b;

    ck_assert_uint_eq(scrape_page(ss,
                                  "up{a=\"1\",b=\"2\"} 1 1000000\n"
                                  "hits{a=\"1\"} 5 1000000\n"
                                  "plain 3\n",
                                  &b),
                      0);
    ck_assert_uint_eq(b.n, 3);
    batch_cleanup(&b);
    /* The same stamps again (labels in another order): dropped. A new
     * stamp, an older one (late: the engine counts it) and a sample
     * without one pass. */
    ck_assert_uint_eq(scrape_page(ss,
                                  "up{b=\"2\",a=\"1\"} 1 1000000\n"
                                  "hits{a=\"1\"} 6 1001000\n"
                                  "plain 3\n",
                                  &b),
                      1);
    ck_assert_uint_eq(b.n, 2);
    ck_assert_str_eq(b.v[0].metric, "hits");
    ck_assert(b.v[0].ts == 1001.0);
    ck_assert_str_eq(b.v[1].metric, "plain");
    batch_cleanup(&b);
    ck_assert_uint_eq(scrape_page(ss, "hits{a=\"1\"} 5 1000000\n", &b), 0);
    ck_assert_uint_eq(b.n, 1);
    batch_cleanup(&b);
    /* A series the last page did not show is forgotten: its stamp counts
     * as new when it comes back (up was absent from the page before). */
    ck_assert_uint_eq(scrape_page(ss, "up{a=\"1\",b=\"2\"} 1 1000000\n", &b),
                      0);
    ck_assert_uint_eq(b.n, 1);
    batch_cleanup(&b);
    /* Another label value is another series. */
    ck_assert_uint_eq(scrape_page(ss,
                                  "up{a=\"1\",b=\"2\"} 1 1000000\n"
                                  "up{a=\"1\",b=\"3\"} 1 1000000\n",
                                  &b),
                      1);
    ck_assert_uint_eq(b.n, 1);
    ck_assert_str_eq(labels_get(b.v[0].labels, b.v[0].nlabels, "b"), "3");
    batch_cleanup(&b);
    scrape_seen_free(ss);
}
END_TEST

/* --- metrics --- */

START_TEST(metrics_page_has_help_type_and_escaped_labels)
{
    struct metrics m;
    struct metrics_notifier n = {"we\"ird\\name", 3, 1, 2, 4, 5};
    struct metrics_scrape sc = {"http://h:1/metrics", 5, 1};
    struct metrics_extra x = {&n, 1, &sc, 1, 7, "1.2.3"};
    struct buf out;
    const char *s;

    metrics_init(&m);
    atomic_fetch_add(&m.ingested[MIN_STATSD], 42);
    metrics_observe_eval(&m, 0.003);
    metrics_observe_eval(&m, 20.0);
    buf_init(&out, 0);
    ck_assert_int_eq(metrics_render(&m, &x, &out), 0);
    s = buf_str(&out);
    ck_assert_ptr_nonnull(strstr(s, "# TYPE tocsin_samples_ingested_total "
                                    "counter\n"));
    ck_assert_ptr_nonnull(
        strstr(s, "tocsin_samples_ingested_total{input=\"statsd\"} 42\n"));
    ck_assert_ptr_nonnull(
        strstr(s, "tocsin_notifications_total{notifier=\"we\\\"ird\\\\name\","
                  "outcome=\"silenced\"} 4\n"));
    ck_assert_ptr_nonnull(
        strstr(s, "tocsin_notifications_total{notifier=\"we\\\"ird\\\\name\","
                  "outcome=\"skipped\"} 5\n"));
    ck_assert_ptr_nonnull(strstr(s, "tocsin_outbox_pending 7\n"));
    ck_assert_ptr_nonnull(strstr(
        s, "tocsin_evaluation_duration_seconds_bucket{le=\"0.005\"} 1\n"));
    ck_assert_ptr_nonnull(strstr(
        s, "tocsin_evaluation_duration_seconds_bucket{le=\"+Inf\"} 2\n"));
    ck_assert_ptr_nonnull(strstr(s, "tocsin_build_info{version=\"1.2.3\"} 1"));
    ck_assert_ptr_nonnull(
        strstr(s, "tocsin_scrapes_total{target=\"http://h:1/metrics\",result="
                  "\"failed\"} 1\n"));
    buf_cleanup(&out);
    metrics_cleanup(&m);
}
END_TEST

/* Two inputs scraping one URL (with other labels) make one series per
 * result, their counts summed: an exposition never repeats a label set. */
START_TEST(metrics_scrapes_of_one_url_are_one_series)
{
    struct metrics m;
    struct metrics_scrape sc[3] = {{"http://h:1/metrics", 5, 1},
                                   {"http://g:2/metrics", 2, 0},
                                   {"http://h:1/metrics", 3, 4}};
    struct metrics_extra x = {NULL, 0, sc, 3, 0, "1"};
    struct buf out;
    const char *s, *p;
    int n = 0;

    metrics_init(&m);
    buf_init(&out, 0);
    ck_assert_int_eq(metrics_render(&m, &x, &out), 0);
    s = buf_str(&out);
    for (p = s;
         (p = strstr(p, "tocsin_scrapes_total{target=\"http://h:1/")) != NULL;
         p++)
        n++;
    ck_assert_int_eq(n, 2);
    ck_assert_ptr_nonnull(
        strstr(s, "tocsin_scrapes_total{target=\"http://h:1/metrics\",result="
                  "\"ok\"} 8\n"));
    ck_assert_ptr_nonnull(
        strstr(s, "tocsin_scrapes_total{target=\"http://h:1/metrics\",result="
                  "\"failed\"} 5\n"));
    ck_assert_ptr_nonnull(
        strstr(s, "tocsin_scrapes_total{target=\"http://g:2/metrics\",result="
                  "\"ok\"} 2\n"));
    buf_cleanup(&out);
    metrics_cleanup(&m);
}
END_TEST

/* --- writer with a fake pipeline --- */

struct fake {
    pthread_mutex_t mu;
    int fed, commits, ticks, checkpoints, fail_commit;
    int events_per_commit;
    double seen_arrival;
};

static int f_feed(void *ctx, const struct sample *s, double arrival,
                  struct err *e)
{
    struct fake *f = ctx;

    (void)e;
    f->fed++;
    f->seen_arrival = arrival;
    return s->value < 0 ? 1 : 0; /* negative values play "late" */
}

static int f_commit(void *ctx, int *events, struct err *e)
{
    struct fake *f = ctx;

    f->commits++;
    *events = f->events_per_commit;
    if (f->fail_commit) {
        err_set(e, "disk full");
        return -1;
    }
    return 0;
}

static int f_tick(void *ctx, double now, struct err *e)
{
    struct fake *f = ctx;

    (void)now;
    (void)e;
    __atomic_fetch_add(&f->ticks, 1, __ATOMIC_SEQ_CST); /* polled by the test */
    return 0;
}

static int f_ckpt(void *ctx, struct err *e)
{
    struct fake *f = ctx;

    (void)e;
    __atomic_fetch_add(&f->checkpoints, 1, __ATOMIC_SEQ_CST);
    return 0;
}

static const struct writer_ops fake_ops = {
    .feed = f_feed, .commit = f_commit, .tick = f_tick, .checkpoint = f_ckpt};

static void add_value(struct batch *b, double v)
{
    struct sample s = {"m", NULL, 0, v, NAN};

    ck_assert_int_eq(batch_add(b, &s), 0);
}

START_TEST(writer_acknowledges_after_commit_and_reports_late)
{
    struct fake f = {0};
    struct writer_cfg wc = {0, 0, 0};
    struct err e = {0};
    struct writer *w = writer_start(&fake_ops, &f, &wc, &e);
    struct writer_result r;
    struct batch b;

    ck_assert_ptr_nonnull(w);
    batch_init(&b, 123.0);
    add_value(&b, 1);
    add_value(&b, -1);
    add_value(&b, 2);
    ck_assert_int_eq(writer_submit(w, &b, -1, &r), 0);
    ck_assert_int_eq(r.status, 0);
    ck_assert_uint_eq(r.late, 1);
    ck_assert_uint_eq(b.n, 0); /* the writer took the samples */
    writer_stop(w);
    ck_assert_int_eq(f.fed, 3);
    ck_assert_int_eq(f.commits, 1);
    ck_assert(f.seen_arrival == 123.0);
}
END_TEST

START_TEST(writer_failed_commit_is_reported_to_the_waiter)
{
    struct fake f = {0};
    struct writer_cfg wc = {0, 0, 0};
    struct err e = {0};
    struct writer *w;
    struct writer_result r;
    struct batch b;

    f.fail_commit = 1;
    w = writer_start(&fake_ops, &f, &wc, &e);
    batch_init(&b, 1.0);
    add_value(&b, 1);
    ck_assert_int_eq(writer_submit(w, &b, -1, &r), -1);
    ck_assert_ptr_nonnull(strstr(r.error, "disk full"));
    writer_stop(w);
}
END_TEST

struct submitter {
    struct writer *w;
    int status;
};

static void *submit_thread(void *arg)
{
    struct submitter *s = arg;
    struct batch b;
    struct writer_result r;
    int i;

    batch_init(&b, 1.0);
    for (i = 0; i < 10; i++)
        add_value(&b, i);
    s->status = writer_submit(s->w, &b, -1, &r);
    batch_cleanup(&b);
    return NULL;
}

static int call_started;

/* Hold the writer until all 8 submitters' 80 samples have queued behind
 * this call (bounded). */
static int slow_call(void *ctx, void *arg)
{
    struct writer *w = arg;
    double deadline = util_mono() + 30;

    (void)ctx;
    __atomic_store_n(&call_started, 1, __ATOMIC_SEQ_CST);
    while (writer_queued(w) < 80 && util_mono() < deadline)
        usleep(1000);
    return 7;
}

struct call_arg {
    struct writer *w;
    int rc;
};

static void *call_thread(void *arg)
{
    struct call_arg *c = arg;

    c->rc = writer_call(c->w, slow_call, c->w);
    return NULL;
}

START_TEST(writer_group_commits_batches_queued_meanwhile)
{
    struct fake f = {0};
    struct writer_cfg wc = {0, 0, 0};
    struct err e = {0};
    struct writer *w = writer_start(&fake_ops, &f, &wc, &e);
    struct submitter s[8];
    pthread_t th[8], ct;
    struct call_arg ca = {w, 0};
    double deadline = util_mono() + 30;
    int i;

    __atomic_store_n(&call_started, 0, __ATOMIC_SEQ_CST);
    pthread_create(&ct, NULL, call_thread, &ca);
    /* The submitters start once the call holds the writer. */
    while (!__atomic_load_n(&call_started, __ATOMIC_SEQ_CST) &&
           util_mono() < deadline)
        usleep(1000);
    for (i = 0; i < 8; i++) {
        s[i].w = w;
        pthread_create(&th[i], NULL, submit_thread, &s[i]);
    }
    for (i = 0; i < 8; i++) {
        pthread_join(th[i], NULL);
        ck_assert_int_eq(s[i].status, 0);
    }
    pthread_join(ct, NULL);
    ck_assert_int_eq(ca.rc, 7);
    writer_stop(w);
    ck_assert_int_eq(f.fed, 80);
    /* 8 batches queued behind the call: one group, far fewer commits */
    ck_assert_int_lt(f.commits, 8);
}
END_TEST

START_TEST(writer_timer_ticks_and_checkpoints_without_samples)
{
    struct fake f = {0};
    struct writer_cfg wc = {0.05, 0.05, 0};
    struct err e = {0};
    struct writer *w = writer_start(&fake_ops, &f, &wc, &e);
    double deadline = util_mono() + 10;

    while ((__atomic_load_n(&f.ticks, __ATOMIC_SEQ_CST) < 2 ||
            __atomic_load_n(&f.checkpoints, __ATOMIC_SEQ_CST) < 2) &&
           util_mono() < deadline)
        usleep(10000);
    writer_stop(w);
    ck_assert_int_ge(f.ticks, 2);
    ck_assert_int_ge(f.checkpoints, 2);
    ck_assert_int_ge(f.commits, 2); /* each tick is committed */
}
END_TEST

START_TEST(writer_stops_cleanly_when_idle)
{
    struct fake f = {0};
    struct writer_cfg wc = {0, 0, 0};
    struct err e = {0};
    struct writer *w = writer_start(&fake_ops, &f, &wc, &e);

    ck_assert_ptr_nonnull(w);
    writer_stop(w);
    ck_assert_int_eq(f.commits, 0); /* nothing fed: nothing committed */
}
END_TEST

/* --- file follower --- */

struct lines {
    pthread_mutex_t mu;
    struct buf got;
    char pos[FILEIN_POS_TEXT]; /* the last position told, "" for none */
    size_t first_line;         /* of the last lines told */
    int refuse;                /* refuse this many calls with lines first */
    int refused;
};

static bool lines_cb(void *ctx, const char *text, size_t len, size_t first_line,
                     const struct filein_pos *pos)
{
    struct lines *l = ctx;
    bool taken = true;

    pthread_mutex_lock(&l->mu);
    if (len > 0 && l->refuse > 0) {
        l->refuse--;
        l->refused++;
        taken = false;
    } else {
        buf_add(&l->got, text, len);
        if (len > 0)
            l->first_line = first_line;
        if (pos != NULL)
            filein_pos_format(pos, l->pos, sizeof(l->pos));
    }
    pthread_mutex_unlock(&l->mu);
    return taken;
}

/* Refuse the next n calls with lines (0: take them again). */
static void lines_refuse(struct lines *l, int n)
{
    pthread_mutex_lock(&l->mu);
    l->refuse = n;
    pthread_mutex_unlock(&l->mu);
}

/* Wait (10 s at most) until a call with lines was refused. */
static bool lines_refused(struct lines *l)
{
    double deadline = util_mono() + 10;
    bool refused = false;

    while (!refused && util_mono() < deadline) {
        pthread_mutex_lock(&l->mu);
        refused = l->refused > 0;
        pthread_mutex_unlock(&l->mu);
        if (!refused)
            usleep(10000);
    }
    return refused;
}

static int lines_have(struct lines *l, const char *needle)
{
    double deadline = util_mono() + 10;
    int found = 0;

    while (!found && util_mono() < deadline) {
        pthread_mutex_lock(&l->mu);
        found = strstr(buf_str(&l->got), needle) != NULL;
        pthread_mutex_unlock(&l->mu);
        if (!found)
            usleep(10000);
    }
    return found;
}

static void append(const char *path, const char *mode, const char *text)
{
    FILE *fp = fopen(path, mode);

    ck_assert_ptr_nonnull(fp);
    fputs(text, fp);
    fclose(fp);
}

/* A file follower over a temp file that starts with initial. */
struct ffx {
    char dir[32], path[256];
    struct lines l;
    struct filein *f;
};

/* Follow (or read once) x's file again, from resume (or NULL). */
static void ffx_restart(struct ffx *x, bool follow, const char *resume)
{
    struct filein_cfg fc = {0};
    struct err e = {0};

    buf_reset(&x->l.got);
    x->l.pos[0] = '\0';
    fc.path = x->path;
    fc.follow = follow;
    fc.resume = resume;
    if (follow)
        fc.poll_interval = 0.02;
    x->f = filein_start(&fc, lines_cb, &x->l, &e);
    ck_assert_ptr_nonnull(x->f);
}

static void ffx_start(struct ffx *x, const char *initial, bool follow)
{
    snprintf(x->dir, sizeof(x->dir), "/tmp/check-filein.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(x->dir));
    snprintf(x->path, sizeof(x->path), "%s/m.log", x->dir);
    append(x->path, "w", initial);
    memset(&x->l, 0, sizeof(x->l));
    pthread_mutex_init(&x->l.mu, NULL);
    buf_init(&x->l.got, 0);
    ffx_restart(x, follow, NULL);
}

/* The last position told, once there is one. */
static void ffx_pos(struct ffx *x, char *out)
{
    double deadline = util_mono() + 10;

    for (;;) {
        pthread_mutex_lock(&x->l.mu);
        memcpy(out, x->l.pos, FILEIN_POS_TEXT);
        pthread_mutex_unlock(&x->l.mu);
        if (out[0] != '\0' || util_mono() > deadline)
            break;
        usleep(10000);
    }
    ck_assert_str_ne(out, "");
}

/* After filein_stop: the lines and the temp folder go. */
static void ffx_end(struct ffx *x)
{
    buf_cleanup(&x->l.got);
    pthread_mutex_destroy(&x->l.mu);
    unlink(x->path);
    rmdir(x->dir);
}

START_TEST(filein_follows_across_rotation_and_truncation)
{
    struct ffx x;
    char rotated[300];

    ffx_start(&x, "old-line-before-start\n", true);
    snprintf(rotated, sizeof(rotated), "%s.1", x.path);
    append(x.path, "a", "one\ntw");
    ck_assert(lines_have(&x.l, "one\n"));
    append(x.path, "a", "o\n");
    ck_assert(lines_have(&x.l, "two\n"));
    /* The old file ends in half a line when it is renamed away, and its
     * writer, which has not reopened the path yet, finishes that line and
     * writes another there while the new file fills: both are read, the
     * half line not as a line of its own. */
    append(x.path, "a", "three-before-rename\nhalf 45");
    ck_assert(lines_have(&x.l, "three-before-rename\n"));
    ck_assert_int_eq(rename(x.path, rotated), 0);
    append(x.path, "w", "four-new-file\n");
    ck_assert(lines_have(&x.l, "four-new-file\n"));
    append(rotated, "a", "6\nlate-in-old\n");
    ck_assert(lines_have(&x.l, "half 456\nlate-in-old\n"));
    ck_assert_ptr_null(strstr(buf_str(&x.l.got), "half 45\n"));
    append(x.path, "w", "5\n"); /* truncated to shorter than our offset */
    ck_assert(lines_have(&x.l, "5\n"));
    filein_stop(x.f);
    /* the file present at start is followed from its end */
    ck_assert_ptr_null(strstr(buf_str(&x.l.got), "old-line-before-start"));
    unlink(rotated);
    ffx_end(&x);
}
END_TEST

/* Started while a writer is half-way through a line: the rest of that line
 * is dropped, not read as a line ("pu 5" is the end of "servers.a.cpu 5"). */
START_TEST(filein_started_mid_line_skips_to_the_next_line)
{
    struct ffx x;

    ffx_start(&x, "servers.a.cpu 1\nservers.a.c", true);
    append(x.path, "a", "pu 5\nservers.b.cpu 6\n");
    ck_assert(lines_have(&x.l, "servers.b.cpu 6\n"));
    filein_stop(x.f);
    ck_assert_str_eq(buf_str(&x.l.got), "servers.b.cpu 6\n");
    ffx_end(&x);
}
END_TEST

/* A followed file goes on where the last run's committed lines ended:
 * the lines written while no one read are read, none is read twice; the
 * line numbers go on too. */
START_TEST(filein_resumes_from_a_saved_position)
{
    struct ffx x;
    char pos[FILEIN_POS_TEXT];

    ffx_start(&x, "before-start\n", true);
    ffx_pos(&x, pos); /* opened at its end: the position is told at once */
    append(x.path, "a", "one\ntwo\n");
    ck_assert(lines_have(&x.l, "two\n"));
    ck_assert(strstr(buf_str(&x.l.got), "one\ntwo\n") != NULL);
    filein_stop(x.f);
    ffx_pos(&x, pos);
    append(x.path, "a", "three-while-down\n");
    ffx_restart(&x, true, pos);
    append(x.path, "a", "four\n");
    ck_assert(lines_have(&x.l, "four\n"));
    filein_stop(x.f);
    ck_assert_str_eq(buf_str(&x.l.got), "three-while-down\nfour\n");
    ck_assert_uint_ge(x.l.first_line, 3); /* lines 1-2 were read before */
    ffx_end(&x);
}
END_TEST

/* Replaced (rotated) or truncated while no one read: the file at the path
 * is read from its start; a position that is not one is ignored (the file
 * is read from its end). */
START_TEST(filein_reads_a_replaced_or_truncated_file_from_its_start)
{
    struct ffx x;
    char pos[FILEIN_POS_TEXT], old[300];

    ffx_start(&x, "a\n", true);
    append(x.path, "a", "b\n");
    ck_assert(lines_have(&x.l, "b\n"));
    filein_stop(x.f);
    ffx_pos(&x, pos);
    snprintf(old, sizeof(old), "%s.1", x.path);
    ck_assert_int_eq(rename(x.path, old), 0);
    append(x.path, "w", "new-1\nnew-2\n");
    ffx_restart(&x, true, pos);
    ck_assert(lines_have(&x.l, "new-2\n"));
    filein_stop(x.f);
    ck_assert_str_eq(buf_str(&x.l.got), "new-1\nnew-2\n");
    ffx_pos(&x, pos);
    append(x.path, "w", "short\n"); /* truncated below the position */
    ffx_restart(&x, true, pos);
    ck_assert(lines_have(&x.l, "short\n"));
    filein_stop(x.f);
    ck_assert_str_eq(buf_str(&x.l.got), "short\n");
    /* Same size again, other bytes before the position (copytruncate and
     * refilled): from the start too. */
    ffx_pos(&x, pos);
    append(x.path, "w", "SHORT\nx\n");
    ffx_restart(&x, true, pos);
    ck_assert(lines_have(&x.l, "x\n"));
    filein_stop(x.f);
    ck_assert_str_eq(buf_str(&x.l.got), "SHORT\nx\n");
    ffx_restart(&x, true, "not a position");
    append(x.path, "a", "y\n");
    ck_assert(lines_have(&x.l, "y\n"));
    filein_stop(x.f);
    ck_assert_str_eq(buf_str(&x.l.got), "y\n");
    unlink(old);
    ffx_end(&x);
}
END_TEST

/* Lines the callback does not take (the store is failing) are handed
 * again, before any later line, until it takes them: none lost, none
 * twice, in order; their position is told only with them. */
START_TEST(filein_hands_refused_lines_again)
{
    struct ffx x;
    char pos[FILEIN_POS_TEXT];

    ffx_start(&x, "", true);
    lines_refuse(&x.l, 3);
    append(x.path, "a", "one\n");
    append(x.path, "a", "two\n");
    ck_assert(lines_have(&x.l, "one\ntwo\n"));
    append(x.path, "a", "three\n");
    ck_assert(lines_have(&x.l, "three\n"));
    filein_stop(x.f);
    ck_assert_str_eq(buf_str(&x.l.got), "one\ntwo\nthree\n");
    ck_assert_int_eq(x.l.refused, 3);
    ffx_pos(&x, pos);
    ck_assert_ptr_nonnull(strstr(pos, " 14 4 ")); /* offset 14, line 4 */
    ffx_end(&x);
}
END_TEST

/* Lines of a file rotated away that the store refused are not dropped
 * when the rotation's wait is over: the file stays open until they are
 * taken. */
START_TEST(filein_keeps_a_rotated_file_while_its_lines_are_refused)
{
    struct ffx x;
    char rotated[300];

    ffx_start(&x, "", true);
    lines_refuse(&x.l, 1000000);
    append(x.path, "a", "old-1\n");
    snprintf(rotated, sizeof(rotated), "%s.1", x.path);
    ck_assert(lines_refused(&x.l));
    ck_assert_int_eq(rename(x.path, rotated), 0);
    append(x.path, "w", "new-1\n");
    usleep((useconds_t)((FILEIN_ROTATE_WAIT + 0.5) * 1e6));
    lines_refuse(&x.l, 0);
    ck_assert(lines_have(&x.l, "old-1\n"));
    ck_assert(lines_have(&x.l, "new-1\n"));
    filein_stop(x.f);
    unlink(rotated);
    ffx_end(&x);
}
END_TEST

/* Lines the store refused, then the file truncated (copytruncate): they
 * are still handed, before the file's new lines. */
START_TEST(filein_hands_refused_lines_of_a_truncated_file)
{
    struct ffx x;

    ffx_start(&x, "", true);
    lines_refuse(&x.l, 1000000);
    append(x.path, "a", "line-1\nline-2\nhal");
    ck_assert(lines_refused(&x.l));
    append(x.path, "w", "x\n"); /* truncated, and shorter */
    usleep(200000);             /* a few polls see it */
    lines_refuse(&x.l, 0);
    ck_assert(lines_have(&x.l, "x\n"));
    filein_stop(x.f);
    ck_assert_str_eq(buf_str(&x.l.got), "line-1\nline-2\nx\n");
    ffx_end(&x);
}
END_TEST

START_TEST(filein_position_text_round_trips)
{
    struct filein_pos p = {0}, q;
    char t[FILEIN_POS_TEXT];

    p.dev = 2049;
    p.ino = 123456789012ULL;
    p.off = 70;
    p.line = 9;
    memcpy(p.tail, "ab\n\x00\xff", 5);
    p.ntail = 5;
    filein_pos_format(&p, t, sizeof(t));
    ck_assert_int_eq(filein_pos_parse(t, &q), 0);
    ck_assert(q.dev == p.dev && q.ino == p.ino && q.off == 70 && q.line == 9);
    ck_assert_uint_eq(q.ntail, 5);
    ck_assert(memcmp(q.tail, p.tail, 5) == 0);
    ck_assert_int_eq(filein_pos_parse("1 1 2 3 4 abc", &q), -1);
    ck_assert_int_eq(filein_pos_parse("1 1 2 -3 4 ", &q), -1);
    ck_assert_int_eq(filein_pos_parse("1 1 2 1 1 aabb", &q), -1);
    ck_assert_int_eq(filein_pos_parse("2 1 2 3 4 ", &q), -1);
    ck_assert_int_eq(filein_pos_parse("", &q), -1);
    ck_assert_int_eq(filein_pos_parse("1 1 2 3 4 zz", &q), -1);
}
END_TEST

START_TEST(filein_without_follow_reads_the_whole_file_once)
{
    struct ffx x;
    double deadline;

    ffx_start(&x, "a\nb\nlast-without-newline", false);
    deadline = util_mono() + 10;
    while (!filein_finished(x.f) && util_mono() < deadline)
        usleep(10000);
    ck_assert(filein_finished(x.f));
    filein_stop(x.f);
    ck_assert_str_eq(buf_str(&x.l.got), "a\nb\nlast-without-newline");
    ffx_end(&x);
}
END_TEST

/* --- statsd socket --- */

static void statsd_lines_cb(void *ctx, const char *text, size_t len)
{
    (void)lines_cb(ctx, text, len, 1, NULL);
}

START_TEST(statsd_delivers_datagrams_with_a_newline_each)
{
    struct lines l;
    struct err e = {0};
    struct statsd *s;
    struct sockaddr_in sa;
    int fd;

    memset(&l, 0, sizeof(l));
    pthread_mutex_init(&l.mu, NULL);
    buf_init(&l.got, 0);
    s = statsd_start("127.0.0.1:0", statsd_lines_cb, &l, &e);
    ck_assert_ptr_nonnull(s);
    ck_assert_int_gt(statsd_port(s), 0);
    fd = socket(AF_INET, SOCK_DGRAM, 0);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)statsd_port(s));
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sendto(fd, "a:1|c\nb:2|g", 11, 0, (struct sockaddr *)&sa, sizeof(sa));
    ck_assert(lines_have(&l, "a:1|c\nb:2|g\n"));
    close(fd);
    statsd_stop(s);
    buf_cleanup(&l.got);
    pthread_mutex_destroy(&l.mu);
}
END_TEST

START_TEST(hostport_split_accepts_ipv4_ipv6_and_rejects_junk)
{
    char host[64];
    int port;

    ck_assert_int_eq(
        daemon_split_hostport("127.0.0.1:8125", host, sizeof(host), &port), 0);
    ck_assert_str_eq(host, "127.0.0.1");
    ck_assert_int_eq(port, 8125);
    ck_assert_int_eq(
        daemon_split_hostport("[::1]:0", host, sizeof(host), &port), 0);
    ck_assert_str_eq(host, "::1");
    ck_assert_int_eq(daemon_split_hostport(":9464", host, sizeof(host), &port),
                     0);
    ck_assert_str_eq(host, "");
    ck_assert_int_eq(daemon_split_hostport("nohost", host, sizeof(host), &port),
                     -1);
    ck_assert_int_eq(
        daemon_split_hostport("h:99999", host, sizeof(host), &port), -1);
    ck_assert_int_eq(daemon_split_hostport("h:12x", host, sizeof(host), &port),
                     -1);
}
END_TEST

Suite *daemon_suite(void)
{
    Suite *s = suite_create("daemon");
    TCase *tc = tcase_create("daemon");

    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, batch_parse_counts_rejected_lines_with_numbers);
    tcase_add_test(tc, batch_extra_labels_replace_same_named_sample_labels);
    tcase_add_test(tc, batch_default_labels_fill_in_only_what_is_missing);
    tcase_add_test(tc, scrape_instance_is_host_and_port_of_the_url);
    tcase_add_test(tc, scrape_target_name_keeps_the_query_but_not_secrets);
    tcase_add_test(tc, batch_rejects_keep_a_bounded_list_but_count_all);
    tcase_add_test(tc, scrape_seen_drops_a_stamped_sample_shown_again);
    tcase_add_test(tc, metrics_page_has_help_type_and_escaped_labels);
    tcase_add_test(tc, metrics_scrapes_of_one_url_are_one_series);
    tcase_add_test(tc, writer_acknowledges_after_commit_and_reports_late);
    tcase_add_test(tc, writer_failed_commit_is_reported_to_the_waiter);
    tcase_add_test(tc, writer_group_commits_batches_queued_meanwhile);
    tcase_add_test(tc, writer_timer_ticks_and_checkpoints_without_samples);
    tcase_add_test(tc, writer_stops_cleanly_when_idle);
    tcase_add_test(tc, filein_follows_across_rotation_and_truncation);
    tcase_add_test(tc, filein_without_follow_reads_the_whole_file_once);
    tcase_add_test(tc, filein_started_mid_line_skips_to_the_next_line);
    tcase_add_test(tc, filein_resumes_from_a_saved_position);
    tcase_add_test(tc,
                   filein_reads_a_replaced_or_truncated_file_from_its_start);
    tcase_add_test(tc, filein_position_text_round_trips);
    tcase_add_test(tc, filein_hands_refused_lines_again);
    tcase_add_test(tc, filein_keeps_a_rotated_file_while_its_lines_are_refused);
    tcase_add_test(tc, filein_hands_refused_lines_of_a_truncated_file);
    tcase_add_test(tc, statsd_delivers_datagrams_with_a_newline_each);
    tcase_add_test(tc, hostport_split_accepts_ipv4_ipv6_and_rejects_junk);
    suite_add_tcase(s, tc);
    return s;
}
