/* statsd.c - StatsD UDP listener (see statsd.h). Drains every datagram that
 * is already waiting before calling back, so a burst becomes one batch and
 * one commit instead of one commit per packet; the kernel buffer (enlarged)
 * holds what arrives meanwhile. */
#include "statsd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../common/buf.h"
#include "../common/log.h"
#include "../common/util.h"

struct statsd {
    int fd;
    int port;
    statsd_fn fn;
    void *ctx;
    pthread_t th;
    atomic_int stop;
};

int daemon_split_hostport(const char *s, char *host, size_t hostlen, int *port)
{
    const char *colon, *h = s;
    size_t hl;
    char *end;
    long p;

    if (s == NULL)
        return -1;
    if (*s == '[') {
        const char *rb = strchr(s, ']');
        if (rb == NULL || rb[1] != ':')
            return -1;
        h = s + 1;
        hl = (size_t)(rb - h);
        colon = rb + 1;
    } else {
        colon = strrchr(s, ':');
        if (colon == NULL)
            return -1;
        hl = (size_t)(colon - s);
    }
    if (hl >= hostlen)
        return -1;
    memcpy(host, h, hl);
    host[hl] = '\0';
    errno = 0;
    p = strtol(colon + 1, &end, 10);
    if (errno != 0 || end == colon + 1 || *end != '\0' || p < 0 || p > 65535)
        return -1;
    *port = (int)p;
    return 0;
}

static void *statsd_main(void *arg)
{
    struct statsd *s = arg;
    struct buf b;
    char dgram[65536];

    util_thread_name("tocsin-statsd");
    buf_init(&b, 8u << 20);
    while (!atomic_load(&s->stop)) {
        struct pollfd pfd = {.fd = s->fd, .events = POLLIN};
        int n = poll(&pfd, 1, 200), count = 0;
        if (n <= 0)
            continue;
        buf_reset(&b);
        while (count < 100000 && b.len < (4u << 20)) {
            ssize_t r = recv(s->fd, dgram, sizeof(dgram) - 1, MSG_DONTWAIT);
            if (r < 0)
                break;
            count++;
            if (r == 0)
                continue;
            buf_add(&b, dgram, (size_t)r);
            if (dgram[r - 1] != '\n')
                buf_addc(&b, '\n');
        }
        if (b.failed) {
            buf_init(&b, 8u << 20);
            continue;
        }
        if (b.len > 0)
            s->fn(s->ctx, buf_str(&b), b.len);
    }
    buf_cleanup(&b);
    return NULL;
}

struct statsd *statsd_start(const char *listen, statsd_fn fn, void *ctx,
                            struct err *e)
{
    char host[256], portstr[16];
    int port, fd = -1, rc, rcvbuf = 4 << 20;
    struct addrinfo hints, *ai = NULL;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    struct statsd *s;

    if (daemon_split_hostport(listen, host, sizeof(host), &port) < 0) {
        err_set(e, "statsd: invalid listen address \"%s\"", listen);
        return NULL;
    }
    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_DGRAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    snprintf(portstr, sizeof(portstr), "%d", port);
    rc = getaddrinfo(host[0] ? host : NULL, portstr, &hints, &ai);
    if (rc != 0) {
        err_set(e, "statsd: %s: %s", listen, gai_strerror(rc));
        return NULL;
    }
    fd = socket(ai->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
        err_set(e, "statsd: cannot listen on %s: %s", listen, strerror(errno));
        if (fd >= 0)
            close(fd);
        freeaddrinfo(ai);
        return NULL;
    }
    freeaddrinfo(ai);
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
        port = ntohs(ss.ss_family == AF_INET6
                         ? ((struct sockaddr_in6 *)&ss)->sin6_port
                         : ((struct sockaddr_in *)&ss)->sin_port);
    s = xcalloc(1, sizeof(*s));
    s->fd = fd;
    s->port = port;
    s->fn = fn;
    s->ctx = ctx;
    atomic_init(&s->stop, 0);
    if (pthread_create(&s->th, NULL, statsd_main, s) != 0) {
        err_set(e, "statsd: cannot start a thread");
        close(fd);
        free(s);
        return NULL;
    }
    log_info("statsd", "listening on %s:%d (udp)", host, port);
    return s;
}

int statsd_port(const struct statsd *s)
{
    return s->port;
}

void statsd_stop(struct statsd *s)
{
    if (s == NULL)
        return;
    atomic_store(&s->stop, 1);
    pthread_join(s->th, NULL);
    close(s->fd);
    free(s);
}
