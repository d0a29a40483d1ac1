/* daemon.h - `tocsin run`: the shared state of the daemon's parts and its
 * entry point. The main thread owns startup, signals, reload and shutdown
 * (daemon.c); the HTTP server (http.c, api.c), the inputs (inputs.c over
 * scrape.c, statsd.c, filein.c) and the writer thread (writer.c) share the
 * context below. Called by cmd/cmd_run.c. */
#ifndef TOCSIN_DAEMON_H
#define TOCSIN_DAEMON_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "../notifiers/dispatch.h"
#include "../rules/config.h"
#include "../rules/pipeline.h"
#include "../store/store.h"
#include "metrics.h"
#include "writer.h"

#define DAEMON_BODY_LIMIT ((size_t)16 << 20) /* request bodies: 413 above */

struct inputs;
struct http_server;

struct daemon_ctx {
    struct metrics metrics;
    pthread_mutex_t cfg_mu;
    const struct config *cfg;  /* current; replaced on reload */
    struct store *wstore;      /* the writer thread's connection */
    struct pipeline *pipeline; /* writer thread only once started */
    struct writer *writer;
    struct store *dstore; /* the dispatcher's connection */
    struct dispatcher *dispatcher;
    pthread_mutex_t ro_mu;    /* guards ro and the silenced tally */
    struct store *ro;         /* API reads */
    int64_t silenced_last_id; /* outbox rows already tallied */
    double silenced_since;
    double started_at; /* rows queued before it are an earlier run's */
    struct silenced_tally *silenced;
    size_t nsilenced;
    pthread_mutex_t inputs_mu;
    struct inputs *inputs;
    struct ingest_gauges *gauges; /* StatsD gauges of every input */
    atomic_int accepting;         /* 0 once shutdown began */
    atomic_int store_failing;     /* the last commit failed (disk full) */
    int hold;                     /* store_hold: this process's store */
};

/* Run the daemon with the config at path until SIGTERM/SIGINT. Returns the
 * process exit status: 0 after a clean stop, 1 when startup failed. */
int daemon_run(const char *config_path);

/* The current config (borrowed; configs are kept until exit so a pointer
 * taken here stays valid). */
const struct config *daemon_config(struct daemon_ctx *d);

#endif
