/* dispatch.h - delivers the outbox: libcurl multi interface, timeouts,
 * retries with full-jitter exponential backoff honouring Retry-After, a retry
 * budget, per-(alert, receiver) ordering and per-receiver rate limits. It
 * reads pending rows from its own store connection and writes back each
 * outcome. Runs on its own thread in the daemon, or synchronously until the
 * outbox drains (eval --notify, notify-test). */
#ifndef TOCSIN_DISPATCH_H
#define TOCSIN_DISPATCH_H

#include <stdbool.h>
#include <stdint.h>

#include "../common/err.h"
#include "../rules/config.h"
#include "../store/store.h"

struct dispatcher;

/* s is used only by the dispatcher (from its thread once started); the
 * caller keeps ownership and closes it after dispatcher_free. */
struct dispatcher *dispatcher_new(const struct config *cfg, struct store *s,
                                  struct err *e);
void dispatcher_free(struct dispatcher *d);

/* Start the delivery thread. 0 or -1. */
int dispatcher_start(struct dispatcher *d, struct err *e);
/* Tell the thread that new rows were committed (cheap, any thread). */
void dispatcher_wake(struct dispatcher *d);
/* Stop taking new rows, give in-flight deliveries up to grace seconds, stop
 * the thread. Undelivered rows stay pending for the next start. */
void dispatcher_stop(struct dispatcher *d, double grace);
/* Swap the config after a reload (notifier instances by name). */
void dispatcher_reload(struct dispatcher *d, const struct config *cfg);

/* Without a thread, between batches (eval --notify on a live stream):
 * read the rows committed since the last call, hand what is due to the
 * transfer threads, record what they finished, and return without
 * waiting; transfers in flight go on in the background and are taken by
 * the next pump or drain. 0, or -1 with e when the outbox cannot be read. */
int dispatcher_pump(struct dispatcher *d, struct err *e);
/* Without a thread, while the caller's batch is still open (its
 * transaction uncommitted): take what the transfer threads finished and
 * start what may go now, reading the store but writing nothing. The
 * outcomes are written by the next pump or drain. */
void dispatcher_poke(struct dispatcher *d);
/* Without a thread: deliver until no row is pending (every one sent or
 * failed for good) or timeout seconds pass. Returns 0 when drained, 1 on
 * timeout. */
int dispatcher_drain(struct dispatcher *d, double timeout, struct err *e);

/* A silence was added or expired: notifications due from now on are
 * checked against the new set (without it, within SILENCES_REFRESH).
 * Thread-safe. */
void dispatcher_silences_changed(struct dispatcher *d);

struct dispatch_counter {
    const char *receiver;
    uint64_t sent, failed, retried;
    uint64_t silenced; /* held back by a silence that began while waiting */
};
/* Snapshot of per-receiver outcome counters: *n entries in an array the
 * caller frees (the names are d's, valid while d lives). Thread-safe. */
struct dispatch_counter *dispatcher_counters(struct dispatcher *d, size_t *n);

/* One attempt at a notification outside the outbox (notify-test): render,
 * send, wait for the answer; fills a human-readable account of what the
 * receiver answered. 0 when delivered. */
int dispatcher_send_once(const struct notifier *n, const char *payload_json,
                         const char *kind, char *account, size_t accountlen,
                         struct err *e);
/* The same, with the outbox's retries (SPEC section 7) for a delivery that
 * is not a test (report --post): connection errors, 429 and 5xx are tried
 * again after a full-jitter backoff honouring Retry-After, with one key,
 * until the notifier's max_retry_time; each retry is logged. */
int dispatcher_send_retrying(const struct notifier *n, const char *payload_json,
                             const char *kind, char *account, size_t accountlen,
                             struct err *e);

#endif
