/* util.c - durations, numbers, RFC 3339, clocks, hashing, UTF-8 checks. */
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int util_parse_duration(const char *s, double *out)
{
    static const struct {
        const char *u;
        double secs;
    } units[] = {{"w", 604800}, {"d", 86400}, {"h", 3600},
                 {"ms", 0.001}, {"m", 60},    {"s", 1}};
    /* Largest first, each once ("1h30m", not "30m1h" or "1h1h"), as
     * Prometheus writes durations; "ms" is tried before "m" but ranks
     * last. */
    static const int rank[] = {0, 1, 2, 5, 3, 4};
    double total = 0;
    const char *p = s;
    int last = -1;

    if (s == NULL || *s == '\0')
        return -1;
    if (strcmp(s, "0") == 0) {
        *out = 0;
        return 0;
    }
    while (*p) {
        double v = 0, scale = 1;
        size_t u, nd = 0;

        /* digits[.digits]: no sign, exponent or hex */
        for (; isdigit((unsigned char)*p); p++, nd++)
            v = v * 10 + (*p - '0');
        if (nd == 0)
            return -1;
        if (*p == '.') {
            p++;
            if (!isdigit((unsigned char)*p))
                return -1;
            for (; isdigit((unsigned char)*p); p++)
                v += (*p - '0') * (scale /= 10);
        }
        for (u = 0; u < sizeof(units) / sizeof(units[0]); u++)
            if (strncmp(p, units[u].u, strlen(units[u].u)) == 0)
                break;
        if (u == sizeof(units) / sizeof(units[0]) || rank[u] <= last)
            return -1;
        last = rank[u];
        p += strlen(units[u].u);
        total += v * units[u].secs;
    }
    /* Ten thousand years: room for "--since 100000d" (everything), and
     * no overflow in time arithmetic. */
    if (!(total <= 10000.0 * 365 * 86400))
        return -1;
    *out = total;
    return 0;
}

void util_format_duration(double secs, char *out, size_t outlen)
{
    static const struct {
        const char *u;
        double s;
    } units[] = {{"w", 604800}, {"d", 86400}, {"h", 3600}, {"m", 60}, {"s", 1}};
    size_t n = 0;
    double ms;

    if (outlen == 0)
        return;
    out[0] = '\0';
    if (!(secs > 0)) {
        snprintf(out, outlen, "0s");
        return;
    }
    ms = round(secs * 1000);
    if (ms < 1000 || fmod(ms, 1000) != 0) {
        if (ms >= 1000) {
            /* Mixed: print whole units then the milliseconds. */
            util_format_duration(floor(ms / 1000), out, outlen);
            n = strlen(out);
            snprintf(out + n, outlen - n, "%.0fms", fmod(ms, 1000));
        } else {
            snprintf(out, outlen, "%.0fms", ms);
        }
        return;
    }
    secs = ms / 1000;
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        double q = floor(secs / units[i].s);
        if (q >= 1) {
            int w = snprintf(out + n, outlen - n, "%.0f%s", q, units[i].u);
            if (w < 0 || (size_t)w >= outlen - n)
                return;
            n += (size_t)w;
            secs -= q * units[i].s;
        }
    }
}

int util_hex_digit(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int util_parse_double(const char *s, double *out)
{
    char *end;
    double v;

    if (s == NULL || *s == '\0' || isspace((unsigned char)*s))
        return -1;
    errno = 0;
    v = strtod(s, &end);
    if (errno == ERANGE && (v == HUGE_VAL || v == -HUGE_VAL))
        return -1;
    if (*end != '\0' || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

/* v (0 <= v < 10^n) as exactly n decimal digits. */
static void put_digits(char *out, int v, int n)
{
    while (n-- > 0) {
        out[n] = (char)('0' + v % 10);
        v /= 10;
    }
}

/* "-" when neg, the digits of whole, then, when frac (thousandths) is not
 * 0, a point and frac without trailing zeros; out has room for 24 bytes.
 * Returns the length written. */
static size_t put_fixed(char *out, bool neg, unsigned long long whole,
                        unsigned frac)
{
    char tmp[20];
    size_t n = 0, k = 0;

    if (neg)
        out[k++] = '-';
    do {
        tmp[n++] = (char)('0' + whole % 10);
        whole /= 10;
    } while (whole > 0);
    while (n > 0)
        out[k++] = tmp[--n];
    if (frac) {
        out[k++] = '.';
        put_digits(out + k, (int)frac, 3);
        k += 3;
        while (out[k - 1] == '0')
            k--;
    }
    out[k] = '\0';
    return k;
}

size_t util_format_ll(long long v, char *out)
{
    unsigned long long u =
        v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;

    return put_fixed(out, v < 0, u, 0);
}

void util_format_double(double v, char *out, size_t outlen)
{
    if (isnan(v)) {
        snprintf(out, outlen, "NaN");
        return;
    }
    if (isinf(v)) {
        snprintf(out, outlen, v > 0 ? "+Inf" : "-Inf");
        return;
    }
    /* Two shortcuts past printf's float path and the strtod check, each
     * writing what %.15g writes: integers below 1e15, and whole
     * milliseconds (timestamps, most values), exact because they convert
     * back to v. */
    if (v == floor(v) && fabs(v) < 1e15 && outlen >= 24) {
        put_fixed(out, signbit(v), (unsigned long long)fabs(v), 0);
        return;
    }
    if (fabs(v) < 1e12 && outlen >= 24) {
        double ms = round(v * 1000);

        if (ms / 1000 == v) {
            unsigned long long u = (unsigned long long)fabs(ms);

            put_fixed(out, signbit(v), u / 1000, (unsigned)(u % 1000));
            return;
        }
    }
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(out, outlen, "%.*g", prec, v);
        if (strtod(out, NULL) == v)
            return;
    }
}

double util_round_ms(double ts)
{
    return round(ts * 1000) / 1000;
}

double util_now_ms(void)
{
    return floor(util_now() * 1000) / 1000;
}

void util_format_ts(double ts, char *out)
{
    double ms = util_round_ms(ts);
    size_t n;

    /* Non-negative times below 1e11 s (the year 5138) are exact in whole
     * milliseconds: written by hand; others as before through printf. */
    if (ms >= 0 && ms < 1e11) {
        unsigned long long u = (unsigned long long)llround(ms * 1000);
        size_t k = put_fixed(out, false, u / 1000, (unsigned)(u % 1000));

        if (u % 1000 == 0)
            memcpy(out + k, ".0", 3);
        return;
    }
    snprintf(out, UTIL_TS_LEN, "%.3f", ms);
    for (n = strlen(out); n > 2 && out[n - 1] == '0' && out[n - 2] != '.';)
        out[--n] = '\0';
}

static int digits(const char *s, size_t n, int *out)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

/* Days in month M (1-12) of year Y, proleptic Gregorian (RFC 3339 5.7). */
static int month_days(int Y, int M)
{
    static const int dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (Y % 4 == 0 && Y % 100 != 0) || Y % 400 == 0;

    return dm[M - 1] + (M == 2 && leap);
}

int util_parse_rfc3339(const char *s, size_t len, double *out)
{
    int Y, M, D, h, m, sec, oh = 0, om = 0;
    double frac = 0;
    size_t i;
    struct tm tm;
    time_t t;

    /* YYYY-MM-DDTHH:MM:SS[.fff][Z|+HH:MM] */
    if (len < 20)
        return -1;
    if (digits(s, 4, &Y) || s[4] != '-' || digits(s + 5, 2, &M) ||
        s[7] != '-' || digits(s + 8, 2, &D) ||
        (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
        digits(s + 11, 2, &h) || s[13] != ':' || digits(s + 14, 2, &m) ||
        s[16] != ':' || digits(s + 17, 2, &sec))
        return -1;
    if (M < 1 || M > 12 || D < 1 || D > month_days(Y, M) || h > 23 || m > 59 ||
        sec > 60)
        return -1;
    i = 19;
    if (i < len && s[i] == '.') {
        double scale = 0.1;
        i++;
        if (i >= len || !isdigit((unsigned char)s[i]))
            return -1;
        while (i < len && isdigit((unsigned char)s[i])) {
            frac += (s[i] - '0') * scale;
            scale /= 10;
            i++;
        }
    }
    if (i >= len)
        return -1;
    if (s[i] == 'Z' || s[i] == 'z') {
        i++;
    } else if (s[i] == '+' || s[i] == '-') {
        int sign = s[i] == '-' ? -1 : 1;
        if (len - i < 6 || digits(s + i + 1, 2, &oh) || s[i + 3] != ':' ||
            digits(s + i + 4, 2, &om) || oh > 23 || om > 59)
            return -1;
        oh *= sign;
        om *= sign;
        i += 6;
    } else {
        return -1;
    }
    if (i != len)
        return -1;
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = Y - 1900;
    tm.tm_mon = M - 1;
    tm.tm_mday = D;
    tm.tm_hour = h;
    tm.tm_min = m;
    tm.tm_sec = sec;
    t = timegm(&tm);
    *out = (double)t + frac - oh * 3600.0 - om * 60.0;
    return 0;
}

void util_format_rfc3339(double ts, char *out, size_t outlen)
{
    double ms;

    /* Outside years 0000-9999 (and NaN): the nearest end, never a cast of
     * a double too big for time_t. */
    if (!(ts >= UTIL_TS_MIN))
        ts = UTIL_TS_MIN;
    if (ts > UTIL_TS_MAX)
        ts = UTIL_TS_MAX;
    ms = round(ts * 1000);
    time_t t = (time_t)floor(ms / 1000);
    int msr = (int)(ms - (double)t * 1000);
    struct tm tm;

    if (gmtime_r(&t, &tm) == NULL)
        memset(&tm, 0, sizeof(tm));
    if (tm.tm_year < -1900 || tm.tm_year > 9999 - 1900 || outlen < 25) {
        snprintf(out, outlen, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                 tm.tm_min, tm.tm_sec, msr);
        return;
    }
    /* The common case by hand: snprintf was most of a payload's cost. */
    put_digits(out, tm.tm_year + 1900, 4);
    out[4] = '-';
    put_digits(out + 5, tm.tm_mon + 1, 2);
    out[7] = '-';
    put_digits(out + 8, tm.tm_mday, 2);
    out[10] = 'T';
    put_digits(out + 11, tm.tm_hour, 2);
    out[13] = ':';
    put_digits(out + 14, tm.tm_min, 2);
    out[16] = ':';
    put_digits(out + 17, tm.tm_sec, 2);
    out[19] = '.';
    put_digits(out + 20, msr, 3);
    out[23] = 'Z';
    out[24] = '\0';
}

double util_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

double util_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

uint64_t util_hash64(const void *p, size_t n, uint64_t seed)
{
    const unsigned char *c = p;
    uint64_t h = 1469598103934665603ULL ^ seed;
    for (size_t i = 0; i < n; i++) {
        h ^= c[i];
        h *= 1099511628211ULL;
    }
    return h;
}

size_t util_utf8_cut(const char *s, size_t at)
{
    while (at > 0 && ((unsigned char)s[at] & 0xC0) == 0x80)
        at--;
    return at;
}

size_t util_utf8_len(const char *s)
{
    size_t n = 0;

    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            n++;
    return n;
}

size_t util_utf8_seq(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    unsigned char c = s[0];
    size_t k;
    uint32_t cp;

    if (c < 0x80)
        return 1;
    if ((c & 0xE0) == 0xC0) {
        k = 1;
        cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
        k = 2;
        cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
        k = 3;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (k >= n)
        return 0;
    for (size_t j = 1; j <= k; j++) {
        if ((s[j] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[j] & 0x3F);
    }
    if ((k == 1 && cp < 0x80) || (k == 2 && cp < 0x800) ||
        (k == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return k + 1;
}

const char *util_utf8_separator_escape(const char *s, size_t k)
{
    if (k != 3 || memcmp(s, "\xe2\x80", 2) != 0)
        return NULL;
    return s[2] == '\xa8' ? "\\u2028" : s[2] == '\xa9' ? "\\u2029" : NULL;
}

int util_utf8_valid(const char *str, size_t n)
{
    size_t i = 0;

    while (i < n) {
        size_t k;

        if ((unsigned char)str[i] < 0x80) {
            i++;
            continue;
        }
        k = util_utf8_seq(str + i, n - i);
        if (k == 0)
            return 0;
        i += k;
    }
    return 1;
}

char *xstrdup(const char *s)
{
    char *p;
    if (s == NULL)
        return NULL;
    p = strdup(s);
    if (p == NULL)
        abort();
    return p;
}

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL)
        abort();
    return p;
}

void *xcalloc(size_t n, size_t m)
{
    void *p = calloc(n ? n : 1, m ? m : 1);
    if (p == NULL)
        abort();
    return p;
}

void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (q == NULL)
        abort();
    return q;
}

void util_thread_name(const char *name)
{
    char n[16];

    snprintf(n, sizeof(n), "%s", name);
    pthread_setname_np(pthread_self(), n);
}

char *util_path_canonical(const char *path)
{
    char *copy = xstrdup(path), *slash = strrchr(copy, '/'), dir[PATH_MAX];
    const char *base = slash ? path + (slash - copy) + 1 : path;
    size_t n;
    char *out;

    if (slash == copy)
        slash[1] = '\0'; /* the root */
    else if (slash != NULL)
        *slash = '\0';
    if (realpath(slash ? copy : ".", dir) == NULL) {
        free(copy);
        return xstrdup(path);
    }
    free(copy);
    if (strcmp(dir, "/") == 0)
        dir[0] = '\0';
    n = strlen(dir) + strlen(base) + 2;
    out = xmalloc(n);
    snprintf(out, n, "%s/%s", dir, base);
    return out;
}
