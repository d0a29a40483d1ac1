/* statsd.h - the StatsD input: a UDP listener thread. Each datagram may hold
 * several newline-separated lines; whatever arrived together is handed to
 * the callback as one text block (the daemon parses it with FMT_STATSD and
 * queues the samples, daemon/inputs.c). */
#ifndef TOCSIN_DAEMON_STATSD_H
#define TOCSIN_DAEMON_STATSD_H

#include <stddef.h>

#include "../common/err.h"

/* text holds one or more datagrams, each ending in '\n'. */
typedef void (*statsd_fn)(void *ctx, const char *text, size_t len);

struct statsd;

/* Bind listen ("host:port", "[::1]:port" or ":port"; port 0 picks a free
 * one) and start the thread. NULL with e when the address is invalid or the
 * bind fails. */
struct statsd *statsd_start(const char *listen, statsd_fn fn, void *ctx,
                            struct err *e);
/* The bound port (useful with port 0). */
int statsd_port(const struct statsd *s);
void statsd_stop(struct statsd *s);

/* Split "host:port" into host (without brackets) and port. 0 or -1. */
int daemon_split_hostport(const char *s, char *host, size_t hostlen, int *port);

#endif
