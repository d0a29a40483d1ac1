/* parse.h - line parsers for json, influx, prom, graphite and statsd, and
 * per-line format guessing. Each parser is a pure function of one line (plus
 * the small state a format needs: Prometheus TYPE lines, StatsD gauge deltas)
 * to samples or a precise rejection reason. Called by `tocsin eval`/`parse`,
 * HTTP ingest, the file and StatsD inputs and the scraper. */
#ifndef TOCSIN_PARSE_H
#define TOCSIN_PARSE_H

#include <stdbool.h>
#include <stddef.h>

#include "sample.h"

enum ingest_format {
    FMT_AUTO = 0, /* guess per line */
    FMT_JSON,
    FMT_INFLUX,
    FMT_PROM,
    FMT_GRAPHITE,
    FMT_STATSD,
};

#define INGEST_MAX_LINE (64 * 1024)

/* "json", "influx", "prom", "graphite", "statsd" (and "auto") to a format.
 * Returns 0, or -1 for an unknown name. */
int ingest_format_parse(const char *name, enum ingest_format *out);
const char *ingest_format_name(enum ingest_format f);
/* Map an HTTP Content-Type ("application/json", "text/plain; version=0.0.4",
 * ...) to a format; FMT_AUTO when it says nothing useful. */
enum ingest_format ingest_format_from_content_type(const char *ct);
/* Content-Type ct is OpenMetrics text, whose timestamps are seconds where
 * the Prometheus text format's are milliseconds: not read as either. */
bool ingest_content_type_openmetrics(const char *ct);

struct ingest_parser;

/* A parser for one stream (keeps per-stream state: Prometheus TYPE/HELP
 * metadata, StatsD gauges). NULL only on out-of-memory. */
struct ingest_parser *ingest_parser_new(enum ingest_format fmt);
void ingest_parser_free(struct ingest_parser *p);

/* StatsD gauge values kept across parsers: like a StatsD server, tocsin
 * applies a "+N"/"-N" gauge line to the gauge's last value wherever that
 * value came from (an earlier file of one `eval`, another HTTP request, a
 * UDP packet). Safe to share between threads. */
struct ingest_gauges;
struct ingest_gauges *ingest_gauges_new(void);
void ingest_gauges_free(struct ingest_gauges *g);
/* From now on p reads and writes gauge values in g (which must outlive p)
 * instead of its own map. */
void ingest_parser_share_gauges(struct ingest_parser *p,
                                struct ingest_gauges *g);
/* g's values as text to keep in the store (malloc'd; NULL when out of
 * memory), and back: ingest_gauges_import adds the values of such a text
 * to g and returns how many, or -1 when the text is not one. */
char *ingest_gauges_export(struct ingest_gauges *g);
int ingest_gauges_import(struct ingest_gauges *g, const char *text);
/* A new gauge map holding what ingest_gauges_keep saved in store s (NULL:
 * none; an unreadable record is logged and skipped). NULL only when out of
 * memory. */
struct store;
struct err;
struct ingest_gauges *ingest_gauges_restore(struct store *s);
/* Save g's values in s (the meta key STORE_META_GAUGES). 0, or -1 with e. */
int ingest_gauges_keep(struct store *s, struct ingest_gauges *g, struct err *e);

/* Parse one line (without its newline; a trailing '\r' is ignored; len may
 * exceed INGEST_MAX_LINE, which is a rejection). Calls emit for each sample.
 * Returns the number of samples emitted (0 for blank, comment, HELP/TYPE
 * lines or lines that only carry strings), or -1 when the line is rejected,
 * with a short reason in why ("line 3 col 9: invalid label value" style
 * without the line number: e.g. "invalid number \"1.2.3\"").
 * Rejections: malformed syntax, invalid UTF-8, NaN/Inf values, line too
 * long, duplicate label names, empty metric name. Never crashes on any byte
 * sequence. Exception: a Prometheus line whose value is NaN, +Inf or -Inf
 * is valid exposition; it yields no sample (returns 0) and is counted by
 * ingest_parser_skipped. */
int ingest_parse_line(struct ingest_parser *p, const char *line, size_t len,
                      sample_fn emit, void *ctx, char *why, size_t whylen);

/* How many valid lines this parser has read whose value was NaN or
 * infinite (Prometheus), and so gave no sample. */
size_t ingest_parser_skipped(const struct ingest_parser *p);

/* Guess the format of one line; FMT_AUTO when it cannot tell. */
enum ingest_format ingest_guess(const char *line, size_t len);

#endif
