/* parse_int.h - internals shared by the per-format parsers in ingest/: the
 * parser struct with its scratch space (decoded strings live there, so a
 * line costs no malloc), label collection, number scanning and the small
 * string-keyed state map (Prometheus TYPEs, StatsD gauges). Only the ingest
 * sources include this. */
#ifndef TOCSIN_PARSE_INT_H
#define TOCSIN_PARSE_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "parse.h"

/* Labels one line may carry; more is a rejection. */
#define INGEST_MAX_LABELS 256
/* Entries kept in a state map (TYPE lines, gauges): a new key beyond this
 * first forgets the least recently set half. */
#define INGEST_STATE_MAX 100000

struct smap_ent {
    char *key; /* NULL for an empty slot */
    size_t klen;
    uint64_t hash;
    uint64_t seq; /* when it was last set (smap.clock) */
    double val;
};

/* Open-addressing map from byte strings to a double. */
struct smap {
    struct smap_ent *v;
    size_t cap; /* power of two, or 0 */
    size_t n;
    uint64_t clock; /* counts smap_put calls */
};

struct ingest_gauges {
    pthread_mutex_t mu; /* guards map */
    struct smap map;    /* statsd: name + labels -> last value */
};

enum prom_type {
    PROM_UNTYPED = 0,
    PROM_COUNTER,
    PROM_GAUGE,
    PROM_HISTOGRAM,
    PROM_SUMMARY,
};

struct ingest_parser {
    enum ingest_format fmt;
    /* Decoded label names and values and other strings of the current line:
     * at most 2 * INGEST_MAX_LINE + slack bytes, reset per line. */
    char *scratch;
    size_t scap, slen;
    /* The metric name of the sample being emitted (influx builds one per
     * field as measurement_field). */
    char *metric;
    size_t mcap;
    struct label labels[INGEST_MAX_LABELS];
    size_t nlabels;
    struct smap prom_types;       /* family name -> enum prom_type */
    struct smap gauges;           /* statsd: name + labels -> last value */
    struct ingest_gauges *shared; /* used instead of gauges when set */
    /* Prometheus lines with a NaN or infinite value: valid, not evaluated. */
    size_t skipped;
    /* Where the reason goes; set by ingest_parse_line for the formats. */
    char *why;
    size_t whylen;
};

/* Record a rejection reason and return -1. */
int ingest_reject(struct ingest_parser *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Reserve n bytes (+1 for a NUL) in scratch; the caller fills them and calls
 * sc_commit. Never fails: scratch is sized for the longest line. */
static inline char *sc_reserve(struct ingest_parser *p)
{
    return p->scratch + p->slen;
}
static inline void sc_commit(struct ingest_parser *p, size_t n)
{
    p->scratch[p->slen + n] = '\0';
    p->slen += n + 1;
}
/* Copy s[0..n) into scratch, NUL-terminated; returns the copy. */
const char *sc_copy(struct ingest_parser *p, const char *s, size_t n);

/* Append a label (strings already in scratch or static). Rejects duplicates
 * and too many labels: returns -1 with the reason set. */
int ingest_add_label(struct ingest_parser *p, const char *name,
                     const char *value);

/* The timestamps a sample may have: 0001-01-01T00:00:00Z to
 * 9999-12-31T23:59:59.999...Z (before INGEST_TS_END, the first instant of
 * the year 10000), in Unix seconds. */
#define INGEST_TS_FIRST (-62135596800.0)
#define INGEST_TS_END 253402300800.0
/* A timestamp's range: a time after the year 9999 (or before the year 1) is
 * rejected, as it is mostly a time in a finer unit than the format's (JSON
 * `ts` in milliseconds): taken as seconds it would put the source in the
 * far future, and every later sample of it would be late. unit names what
 * the format wants ("seconds"). Returns 0, or -1 with the reason set. */
int ingest_check_ts(struct ingest_parser *p, double ts, const char *unit);

/* Emit one sample with the parser's metric and labels. Returns 0 to go on,
 * 1 when the callback asked to stop. */
int ingest_emit(struct ingest_parser *p, const char *metric, double value,
                double ts, sample_fn emit, void *ctx);

/* Scan a decimal number s[0..n) ([+-]digits[.digits][e[+-]digits], also
 * ".5" and "5."). Returns 0 with *out finite, -1 when it is not a number,
 * -2 when it spells NaN/Inf ("NaN", "+Inf", "-inf", "Infinity", any case:
 * Prometheus and carbon accept them), -3 when it is a number out of the
 * double range ("1e999"). */
int ingest_scan_double(const char *s, size_t n, double *out);
/* Scan an optional sign and digits as int64. 0, or -1 (syntax/overflow). */
int ingest_scan_int64(const char *s, size_t n, int64_t *out);
/* Quote s[0..n) for a reason: at most 32 bytes, non-printables as '?'. */
const char *ingest_quote(const char *s, size_t n, char *out, size_t outlen);

/* String map. smap_get returns the entry or NULL; smap_put inserts or
 * updates and returns 0, 1 when it first had to forget the least recently
 * set half of a full map (INGEST_STATE_MAX), or -1 when out of memory. */
struct smap_ent *smap_get(struct smap *m, const char *k, size_t n);
int smap_put(struct smap *m, const char *k, size_t n, double val);
/* Set entry e (from smap_get on m) to val: it is now the most recently
 * set. */
void smap_set(struct smap *m, struct smap_ent *e, double val);
void smap_free(struct smap *m);

/* The per-format parsers: line[0..len) has no newline, no '\r', no NUL, is
 * valid UTF-8, is not blank and fits INGEST_MAX_LINE. Same return contract
 * as ingest_parse_line. */
int ingest_parse_json(struct ingest_parser *p, const char *line, size_t len,
                      sample_fn emit, void *ctx);
int ingest_parse_influx(struct ingest_parser *p, const char *line, size_t len,
                        sample_fn emit, void *ctx);
int ingest_parse_prom(struct ingest_parser *p, const char *line, size_t len,
                      sample_fn emit, void *ctx);
int ingest_parse_graphite(struct ingest_parser *p, const char *line, size_t len,
                          sample_fn emit, void *ctx);
/* A DogStatsD event ("_e{...") or service check ("_sc|..."): no sample,
 * not a malformed line either. */
bool statsd_is_event_or_check(const char *line, size_t len);
int ingest_parse_statsd(struct ingest_parser *p, const char *line, size_t len,
                        sample_fn emit, void *ctx);

/* The TYPE remembered for a Prometheus family (PROM_UNTYPED if none). */
enum prom_type ingest_prom_type(struct ingest_parser *p, const char *family);

#endif
