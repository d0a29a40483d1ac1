/* sender.h - the dispatcher's transfer thread: it takes rendered requests,
 * sets up pooled libcurl easy handles, drives them on its own multi handle
 * and hands each finished transfer back. Deciding what to send, judging the
 * answers and writing the outbox stay with the dispatcher, so that the two
 * halves of a delivery run on two cores. */
#ifndef TOCSIN_SENDER_H
#define TOCSIN_SENDER_H

#include <stdbool.h>
#include <stdint.h>

#include <curl/curl.h>

#include "../common/err.h"
#include "notifier.h"
#include "transport.h"

/* One transfer. The submitter fills owner, timeout and req; the sender owns
 * it from sender_submit until it comes back from sender_take_done. */
struct sender_xfer {
    struct sender_xfer *prev, *next;
    void *owner;    /* the submitter's own record */
    double timeout; /* seconds, 0 = the transport default */
    uint64_t lane;  /* transfers of one lane (a receiver) share its slots */
    struct request req;
    /* Filled by the sender: the handle (valid for curl_easy_getinfo until
     * sender_release), the result, and what the answer said. */
    CURL *h;
    CURLcode rc;
    struct transport_io io;
    bool aborted; /* never finished: sender_abort, or never started: recall */
    char setup_error[512]; /* set when the transfer could not start */
};

struct sender;

/* wake(arg) is called on the sender's thread whenever finished transfers
 * wait to be taken. At most lane_slots transfers of one lane run at once
 * (the rest wait in the sender, in order): a transfer handed to libcurl
 * while no connection is free costs it work on every turn. host_conns and
 * total_conns as CURLMOPT_MAX_HOST_CONNECTIONS and
 * CURLMOPT_MAX_TOTAL_CONNECTIONS. */
struct sender *sender_new(void (*wake)(void *), void *arg, size_t lane_slots,
                          long host_conns, long total_conns, struct err *e);
/* Stops the thread (aborting what it holds) and frees everything; transfers
 * not yet taken are freed too. */
void sender_free(struct sender *s);

/* Queue x (starting the thread if needed). Returns true when the queue
 * was empty: the thread may be asleep, so sender_kick it after the batch.
 * A queue that held work already has a kick on its way. */
bool sender_submit(struct sender *s, struct sender_xfer *x);
void sender_kick(struct sender *s);
/* No waiting transfer of lane starts before until (util_mono()): a 429's
 * Retry-After also holds what was handed over already. Running transfers
 * go on. Takes effect at the thread's next turn (sender_kick). */
void sender_hold(struct sender *s, uint64_t lane, double until);
/* Every finished transfer, as a list linked by next (NULL: none). */
struct sender_xfer *sender_take_done(struct sender *s);
/* Free a taken transfer; its easy handle goes back to the pool. */
void sender_release(struct sender *s, struct sender_xfer *x);
/* Stop the thread: queued and running transfers come back from
 * sender_take_done with aborted set. The next submit starts it again. */
void sender_abort(struct sender *s);
/* Hand back, as aborted, every transfer queued but not yet started (the
 * running ones go on): at the thread's next turn. */
void sender_recall(struct sender *s);

#endif
