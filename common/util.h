/* util.h - small shared helpers: durations, numbers, time formatting, hashing.
 */
#ifndef TOCSIN_UTIL_H
#define TOCSIN_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Parse a duration: "250ms", "30s", "5m", "2h", "1d", "1w" and sums such as
 * "1h30m"; a bare "0" is zero. Returns 0 and stores seconds, or -1. */
int util_parse_duration(const char *s, double *out);
/* Format seconds as the shortest duration string ("1h30m", "250ms", "0s"). */
void util_format_duration(double secs, char *out, size_t outlen);
/* Parse a whole string as a finite double (strtod + end pointer). 0 or -1. */
int util_parse_double(const char *s, double *out);
/* The value of hex digit c (either case), or -1. */
int util_hex_digit(int c);
/* Format a double the shortest way that reads back to the same value
 * ("512.5", "0.93", "1e+21"); NaN/Inf print as "NaN"/"+Inf"/"-Inf". */
void util_format_double(double v, char *out, size_t outlen);
/* v in decimal ("-42"), as "%lld" writes it; out has room for 24 bytes.
 * Returns the length. */
size_t util_format_ll(long long v, char *out);
/* Unix seconds with millisecond precision and always a fraction, as event
 * JSON has them: "1767225720.0", "1767225720.125". What "%.3f" of ts
 * rounded to the millisecond writes, trailing zeros trimmed to one. out
 * has room for UTIL_TS_LEN bytes. */
#define UTIL_TS_LEN 64

/* Two sample times closer than this (seconds) are the same instant. A Unix
 * time in a double is only good to about 2.4e-7 s, so "1767226101.840 minus
 * 4759ms" may land a rounding step beside the 1767226097.081 it means:
 * window edges, for/clear_for and nodata deadlines compare with this slack. */
#define UTIL_TIME_EPS 1e-6
void util_format_ts(double ts, char *out);
/* ts rounded to the millisecond, as events' ts are written. */
double util_round_ms(double ts);
/* util_now() cut to the millisecond: never ahead of the clock (a silence
 * added or expired now is active or gone at once). */
double util_now_ms(void);

/* path with its folder resolved (realpath of the folder, so "./a.log",
 * "x/../a.log" and "/abs/a.log" of one file agree; the file itself need
 * not exist). A copy of path when the folder cannot be resolved. malloc'd. */
char *util_path_canonical(const char *path);
/* Parse an RFC 3339 timestamp to Unix seconds. 0 or -1. */
int util_parse_rfc3339(const char *s, size_t len, double *out);
/* The times RFC 3339 can write: 0000-01-01T00:00:00Z to
 * 9999-12-31T23:59:59.999Z, as Unix seconds. */
#define UTIL_TS_MIN (-62167219200.0)
#define UTIL_TS_MAX (253402300799.999)
/* Format Unix seconds as RFC 3339 UTC with milliseconds:
 * "2026-01-01T00:00:00.500Z" (a time outside the range above: its end). */
void util_format_rfc3339(double ts, char *out, size_t outlen);
/* Wall-clock time as Unix seconds. */
double util_now(void);
/* Monotonic seconds. */
double util_mono(void);
/* Name the calling thread (shown by top -H, ps -L and perf); at most 15
 * characters are kept. */
void util_thread_name(const char *name);
/* 64-bit FNV-1a, for hash tables (not for anything persistent). */
uint64_t util_hash64(const void *p, size_t n, uint64_t seed);
/* Check that s[0..n) is valid UTF-8 (no overlongs, no surrogates). */
int util_utf8_valid(const char *s, size_t n);
/* The length (1-4) of the valid UTF-8 character that s[0..n) starts with
 * (n > 0), or 0 when it does not start with one. */
size_t util_utf8_seq(const char *s, size_t n);
/* For the UTF-8 character of k bytes at s: "\\u2028" or "\\u2029" when it
 * is U+2028 or U+2029 (the line and paragraph separators Go's JSON encoder
 * and strconv.Quote escape), else NULL. */
const char *util_utf8_separator_escape(const char *s, size_t k);
/* The largest cut <= at that does not fall inside a UTF-8 character of s
 * (s holds more than at bytes): s[0..cut) is whole characters. */
size_t util_utf8_cut(const char *s, size_t at);
/* The number of characters (code points) of the UTF-8 string s: what a
 * terminal column or Slack's limits count. */
size_t util_utf8_len(const char *s);
/* strdup that never returns NULL for a non-NULL input (aborts on OOM). */
char *xstrdup(const char *s);
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t m);
void *xrealloc(void *p, size_t n);

#endif
