/* log.c - the log notifier: each notification becomes one JSON line (the
 * Alertmanager payload with the receiver's name, plus the SPEC event object)
 * appended to `path` or written to stdout. For demos, dry runs and audits.
 * Registered in registry.c; dispatch.c calls log_deliver for REQ_LOCAL,
 * which hands the line to a writer thread of its own (see below), and
 * notify-test log_deliver_now. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../common/buf.h"
#include "../common/log.h"
#include "../common/util.h"
#include "am_payload.h"
#include "notifier.h"

struct log_priv {
    char *path; /* resolved; NULL = stdout */
};

static const char *const log_keys[] = {"path", NULL};

static int log_configure(struct notifier *n, const struct cfg_node *node,
                         const char *dir, struct cfg_diag *d)
{
    size_t before = d->count;
    const char *path = NULL;
    struct log_priv *p;

    cfg_check_keys(node, log_keys, config_common_notifier_keys, d);
    if (cfg_str(cfg_get(node, "path"), "path", &path, d) == 0 && *path == '\0')
        cfg_error_at(d, cfg_get(node, "path"), "path is empty");
    if (d->count != before)
        return -1;
    p = xcalloc(1, sizeof(*p));
    if (path && path[0] != '/' && dir && *dir) {
        struct buf b;
        buf_init(&b, 0);
        buf_printf(&b, "%s/%s", dir, path);
        p->path = buf_steal(&b);
    } else if (path) {
        p->path = xstrdup(path);
    }
    n->priv = p;
    return 0;
}

static void log_destroy(struct notifier *n)
{
    struct log_priv *p = n->priv;

    if (p) {
        free(p->path);
        free(p);
    }
    n->priv = NULL;
}

static int log_render(const struct notifier *n, const struct notification *nt,
                      struct request *out, struct err *e)
{
    const cJSON *report =
        cJSON_GetObjectItemCaseSensitive(nt->payload, "report");
    const char *receiver = nt->receiver ? nt->receiver : n->name;
    cJSON *obj;
    char *body;

    memset(out, 0, sizeof(*out));
    if (strcmp(nt->kind, "report") == 0 || cJSON_IsObject(report)) {
        const cJSON *json = cJSON_GetObjectItemCaseSensitive(report, "json");
        obj = cJSON_CreateObject();
        cJSON_AddStringToObject(obj, "receiver", receiver ? receiver : "");
        cJSON_AddItemToObject(obj, "report",
                              json ? cJSON_Duplicate(json, 1)
                                   : cJSON_CreateObject());
    } else {
        struct am_event ev;

        if (am_event_parse(nt->payload, &ev, e) < 0)
            return -1;
        obj = am_payload_build(&ev, receiver);
        if (obj)
            cJSON_AddItemToObject(obj, "event", cJSON_Duplicate(ev.event, 1));
    }
    /* cJSON escapes newlines inside strings, so the line stays one line. */
    body = obj ? cJSON_PrintUnformatted(obj) : NULL;
    cJSON_Delete(obj);
    if (body == NULL) {
        err_set(e, "log: out of memory building the line");
        return -1;
    }
    out->kind = REQ_LOCAL;
    out->body = body;
    out->body_len = strlen(body);
    return 0;
}

/* Write the whole line to path (NULL: stdout), opened per line with
 * O_APPEND: rotation-friendly, and one write(2) per line keeps concurrent
 * writers from interleaving. May wait (a FIFO nobody reads yet, a pipe
 * whose reader is slow): only the writer thread and notify-test call it.
 * With fifo_now, a FIFO nobody reads is an error at once instead. */
static int write_line(const char *path, const char *line, size_t len,
                      bool fifo_now, struct err *e)
{
    int fd = STDOUT_FILENO;
    size_t done = 0;

    if (path != NULL) {
        fd = open(path,
                  O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC |
                      (fifo_now ? O_NONBLOCK : 0),
                  0640);
        if (fd < 0) {
            err_set(e, "cannot open %s: %s", path,
                    errno == ENXIO ? "a FIFO nobody reads" : strerror(errno));
            return -1;
        }
        if (fifo_now)
            (void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    }
    while (done < len) {
        ssize_t w = write(fd, line + done, len - done);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            err_set(e, "cannot write to %s: %s", path ? path : "stdout",
                    w < 0 ? strerror(errno) : "nothing written");
            break;
        }
        done += (size_t)w;
    }
    if (fd != STDOUT_FILENO)
        close(fd);
    return done == len ? 0 : -1;
}

/* The request's line with its newline (malloc'd), *len its length. */
static char *line_of(const struct request *r, size_t *len)
{
    char *line = xmalloc(r->body_len + 1);

    memcpy(line, r->body, r->body_len);
    line[r->body_len] = '\n';
    *len = r->body_len + 1;
    return line;
}

/* --- the writer thread ---
 * The dispatcher starts every receiver's deliveries on one thread, which
 * must never wait on a FIFO or a pipe: a log line is handed to this thread
 * (one for all log notifiers, lines in order) and the delivery is done. A
 * line it cannot write is logged and dropped: the log notifier never fails
 * a delivery (SPEC section 7). */

struct lline {
    struct lline *next;
    char *name, *path; /* the notifier's (for messages), where to */
    char *line;
    size_t len;
};

/* Lines waiting at most, in bytes: past it a line is dropped (logged). */
#define LOG_QUEUE_MAX ((size_t)64 << 20)

/* Lines queued or being written, per destination: a line to a regular file
 * is written at once only when none of its own file waits before it. */
struct lpath {
    char *path; /* NULL: stdout */
    size_t n;
};

static struct {
    pthread_mutex_t mu;
    pthread_cond_t work, idle;
    struct lline *head, *tail;
    size_t bytes;
    bool busy; /* a line is being written */
    bool started;
    struct lpath *paths;
    size_t npaths;
} W = {.mu = PTHREAD_MUTEX_INITIALIZER,
       .work = PTHREAD_COND_INITIALIZER,
       .idle = PTHREAD_COND_INITIALIZER};

static bool same_path(const char *a, const char *b)
{
    return a == NULL || b == NULL ? a == b : strcmp(a, b) == 0;
}

/* The waiting count of path (W.mu held), made when add. */
static struct lpath *lpath_get(const char *path, bool add)
{
    for (size_t i = 0; i < W.npaths; i++)
        if (same_path(W.paths[i].path, path))
            return &W.paths[i];
    if (!add)
        return NULL;
    W.paths = xrealloc(W.paths, (W.npaths + 1) * sizeof(*W.paths));
    W.paths[W.npaths].path = path ? xstrdup(path) : NULL;
    W.paths[W.npaths].n = 0;
    return &W.paths[W.npaths++];
}

/* A line that is not written: said once per line, under the notifier's
 * name (the log notifier never fails a delivery). */
static void line_dropped(const char *name, const char *why)
{
    char mod[128];

    snprintf(mod, sizeof(mod), "log[%s]", name ? name : "");
    log_warn(mod, "%s: the line is dropped", why);
}

static void lline_free(struct lline *l)
{
    free(l->name);
    free(l->path);
    free(l->line);
    free(l);
}

static void *writer_main(void *arg)
{
    (void)arg;
    util_thread_name("tocsin-log");
    pthread_mutex_lock(&W.mu);
    for (;;) {
        struct lline *l;
        struct err e = {0};

        while (W.head == NULL)
            pthread_cond_wait(&W.work, &W.mu);
        l = W.head;
        W.head = l->next;
        if (W.head == NULL)
            W.tail = NULL;
        W.busy = true;
        pthread_mutex_unlock(&W.mu);
        if (write_line(l->path, l->line, l->len, false, &e) < 0)
            line_dropped(l->name, e.msg);
        pthread_mutex_lock(&W.mu);
        W.busy = false;
        W.bytes -= l->len;
        lpath_get(l->path, true)->n--;
        if (W.head == NULL)
            pthread_cond_broadcast(&W.idle);
        lline_free(l);
    }
    return NULL;
}

void log_notifiers_flush(double grace)
{
    struct timespec ts;
    double whole;

    clock_gettime(CLOCK_REALTIME, &ts);
    grace = grace > 0 ? grace : 0;
    whole = floor(grace);
    ts.tv_sec += (time_t)whole;
    ts.tv_nsec += (long)((grace - whole) * 1e9);
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&W.mu);
    while ((W.head != NULL || W.busy) &&
           pthread_cond_timedwait(&W.idle, &W.mu, &ts) == 0)
        ;
    if (W.head != NULL || W.busy)
        log_warn("log", "lines not written yet at exit are dropped");
    pthread_mutex_unlock(&W.mu);
}

/* Whether the line goes to a regular file (or one to be made): written at
 * once, before the delivery counts as done, so a kill -9 right after it
 * loses nothing. A FIFO, pipe or terminal, which may make a writer wait,
 * goes through the writer thread. */
static bool to_regular_file(const char *path)
{
    struct stat st;

    if (path == NULL)
        return fstat(STDOUT_FILENO, &st) == 0 && S_ISREG(st.st_mode);
    if (stat(path, &st) != 0)
        return errno == ENOENT;
    return S_ISREG(st.st_mode);
}

static int log_deliver(const struct notifier *n, const struct request *r,
                       struct err *e)
{
    const struct log_priv *p = n->priv;
    const char *path = p ? p->path : NULL;
    bool regular = to_regular_file(path), dropped = false;
    const struct lpath *lp;
    struct lline *l;

    (void)e; /* never fails a delivery */
    /* Behind lines of its file still waiting for the thread, a line waits
     * its turn (lines to one place keep their order). */
    pthread_mutex_lock(&W.mu);
    lp = lpath_get(path, false);
    if (regular && (lp == NULL || lp->n == 0)) {
        size_t len;
        char *line = line_of(r, &len);
        struct err we = {0};

        pthread_mutex_unlock(&W.mu);
        if (write_line(path, line, len, false, &we) < 0)
            line_dropped(n->name, we.msg);
        free(line);
        return 0;
    }
    if (!W.started) {
        pthread_t th;
        pthread_attr_t at;

        /* Never joined: at exit it may be waiting on a FIFO. */
        pthread_attr_init(&at);
        pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
        W.started = pthread_create(&th, &at, writer_main, NULL) == 0;
        pthread_attr_destroy(&at);
    }
    if (!W.started || W.bytes + r->body_len + 1 > LOG_QUEUE_MAX) {
        dropped = true;
    } else {
        l = xcalloc(1, sizeof(*l));
        l->name = xstrdup(n->name ? n->name : "");
        l->path = p && p->path ? xstrdup(p->path) : NULL;
        l->line = line_of(r, &l->len);
        if (W.tail)
            W.tail->next = l;
        else
            W.head = l;
        W.tail = l;
        W.bytes += l->len;
        lpath_get(l->path, true)->n++;
        pthread_cond_signal(&W.work);
    }
    pthread_mutex_unlock(&W.mu);
    if (dropped)
        line_dropped(n->name, "64 MiB of lines wait to be written already");
    return 0;
}

/* notify-test: written now, and said so (a FIFO nobody reads is an error,
 * not a wait). */
static int log_deliver_now(const struct notifier *n, const struct request *r,
                           struct err *e)
{
    const struct log_priv *p = n->priv;
    size_t len;
    char *line = line_of(r, &len);
    int rc = write_line(p ? p->path : NULL, line, len, true, e);

    free(line);
    return rc;
}

const struct notifier_ops log_ops = {
    .kind = "log",
    .keys = log_keys,
    .configure = log_configure,
    .render = log_render,
    .deliver_local = log_deliver,
    .deliver_local_now = log_deliver_now,
    .destroy = log_destroy,
};
