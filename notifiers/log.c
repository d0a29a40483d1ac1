/* log.c - the log notifier: each notification becomes one JSON line (the
 * Alertmanager payload with the receiver's name, plus the SPEC event object)
 * appended to `path` or written to stdout. For demos, dry runs and audits.
 * Registered in registry.c; dispatch.c calls log_deliver for REQ_LOCAL, on
 * the thread that runs every receiver's deliveries: a write never waits.
 * A line that cannot be written now (a FIFO nobody reads, a full pipe or
 * disk) is an error the outbox retries like any other, not a line lost. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/buf.h"
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

/* Whether len bytes go to fd now without waiting: a regular file always
 * takes them; a pipe or FIFO when it has room for the whole line (so the
 * line is never cut); anything else when poll says it is writable. */
static bool writable_now(int fd, size_t len)
{
    struct pollfd pf = {.fd = fd, .events = POLLOUT};
    struct stat st;

    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
        return true;
    if (poll(&pf, 1, 0) != 1 || !(pf.revents & POLLOUT))
        return false;
    if (S_ISFIFO(st.st_mode)) {
        int cap = fcntl(fd, F_GETPIPE_SZ), used = 0;

        if (cap > 0 && ioctl(fd, FIONREAD, &used) == 0)
            return used >= 0 && (size_t)(cap - used) >= len;
    }
    return true;
}

static int log_deliver(const struct notifier *n, const struct request *r,
                       struct err *e)
{
    const struct log_priv *p = n->priv;
    char *line = xmalloc(r->body_len + 1);
    size_t len = r->body_len + 1;
    int fd = STDOUT_FILENO, rc = -1;
    ssize_t w;

    memcpy(line, r->body, r->body_len);
    line[r->body_len] = '\n';
    if (p && p->path) {
        /* Opened per line with O_APPEND: rotation-friendly, and a single
         * write(2) per line keeps concurrent writers from interleaving.
         * O_NONBLOCK: a FIFO nobody reads fails at once (ENXIO). */
        fd = open(p->path,
                  O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NONBLOCK, 0640);
        if (fd < 0) {
            err_set(e, "cannot open %s: %s", p->path,
                    errno == ENXIO ? "a FIFO nobody reads" : strerror(errno));
            free(line);
            return -1;
        }
    }
    if (!writable_now(fd, len)) {
        err_set(e, "%s is full or not read: the line waits",
                p && p->path ? p->path : "stdout");
    } else {
        do {
            w = write(fd, line, len);
        } while (w < 0 && errno == EINTR);
        if (w < 0)
            err_set(e, "write failed: %s", strerror(errno));
        else if ((size_t)w != len)
            err_set(e, "short write (%zd of %zu bytes)", w, len);
        else
            rc = 0;
    }
    if (fd != STDOUT_FILENO)
        close(fd);
    free(line);
    return rc;
}

const struct notifier_ops log_ops = {
    .kind = "log",
    .keys = log_keys,
    .configure = log_configure,
    .render = log_render,
    .deliver_local = log_deliver,
    .destroy = log_destroy,
};
