/* window.h - a rule series' sliding window and its aggregate (SPEC section 4).
 * The window holds the samples with timestamps in (t - width, t]; without a
 * width only the newest sample counts. min/max/sum/avg/count/stddev cost O(1)
 * amortised per sample (monotonic deques, running sums); quantiles and apdex
 * stay efficient for large windows. Called by the engine only. */
#ifndef TOCSIN_WINDOW_H
#define TOCSIN_WINDOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/buf.h"
#include "config.h"

struct window;

/* agg is copied. width in seconds (0 = newest sample only). ratio: the
 * aggregate is num/den where num covers only samples added with num=true. */
struct window *window_new(const struct aggregate *agg, double width,
                          bool ratio);
void window_free(struct window *w);

/* Bits of a source id a window keeps (63: the 64th holds the num flag). */
#define WINDOW_SRC_MASK ((UINT64_C(1) << 63) - 1)

/* Add one sample. src identifies the source series (metric + labels) the
 * sample came from (a hash of them: ids that differ in WINDOW_SRC_MASK's
 * bits are different sources): rate and increase work per source, then
 * sum. Samples of one source arrive in time order; samples of different
 * sources may be older than the window's newest and are inserted in time
 * order. */
void window_add(struct window *w, double ts, double v, uint64_t src, bool num);

/* Drop samples with ts <= t - width (for width 0: all but the newest), then
 * compute the aggregate over what remains. Returns 0 with *out set, or 1 when
 * there is no value (empty window, an empty ratio denominator, rate with
 * fewer than two samples of every source). */
int window_eval(struct window *w, double t, double *out);

/* The aggregate at t (the daemon's timer, at wall-clock time) of a window
 * whose newest sample is at newest: as window_eval(w, t), but the samples
 * in (newest - width, t - width] stay, left out of this value only, since
 * a later sample stamped before t (data that arrives late) is evaluated
 * over a window that holds them. (Past 4096 samples in (t - width, t]
 * they go, as in window_eval: copying such a window at every tick would
 * cost more than its samples did.) */
int window_eval_at(struct window *w, double t, double newest, double *out);

/* Number of samples held. */
size_t window_count(const struct window *w);
/* Approximate heap bytes used, for the memory benchmark. */
size_t window_memory(const struct window *w);

/* Append the window's samples to out in a compact self-describing form
 * (versioned); window_load restores them into a fresh window (same agg/width/
 * ratio as given). Returns 0, or -1 (corrupt or too short input). */
int window_save(const struct window *w, struct buf *out);
struct window *window_load(const struct aggregate *agg, double width,
                           bool ratio, const void *p, size_t n);

#endif
