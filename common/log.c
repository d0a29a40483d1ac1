/* log.c - the tiny logging API: a level, a module prefix, one write per line
 * (or per block of lines, while a thread holds them: log_hold). */
#include "log.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

/* Read by every thread that logs: atomic, so the first use may set it from
 * the environment on any of them. */
static int min_level = -1;

void log_set_level(enum log_level lvl)
{
    __atomic_store_n(&min_level, (int)lvl, __ATOMIC_RELAXED);
}

static int level_now(void)
{
    int lvl = __atomic_load_n(&min_level, __ATOMIC_RELAXED);

    if (lvl < 0) {
        const char *v = getenv("TOCSIN_LOG_LEVEL");

        lvl = LOG_INFO;
        if (v != NULL) {
            if (strcasecmp(v, "debug") == 0)
                lvl = LOG_DEBUG;
            else if (strcasecmp(v, "warn") == 0)
                lvl = LOG_WARN;
            else if (strcasecmp(v, "error") == 0)
                lvl = LOG_ERROR;
            else if (strcasecmp(v, "info") != 0 && *v != '\0')
                fprintf(stderr,
                        "tocsin: TOCSIN_LOG_LEVEL=%.40s is not debug, info, "
                        "warn or error: logging at info\n",
                        v);
        }
        __atomic_store_n(&min_level, lvl, __ATOMIC_RELAXED);
    }
    return lvl;
}

/* Lines this thread holds for fewer writes (log_hold). A write of up to
 * PIPE_BUF bytes reaches a pipe (journald, a supervisor) whole, so lines
 * of other threads never land inside one. */
#define HELD_MAX 4096
static __thread struct {
    char buf[HELD_MAX];
    size_t len;
    unsigned depth;
} held;

static void held_flush(void)
{
    if (held.len > 0 && write(STDERR_FILENO, held.buf, held.len) < 0)
        held.len = 0; /* nowhere to tell */
    held.len = 0;
}

void log_hold(void)
{
    held.depth++;
}

void log_release(void)
{
    if (held.depth > 0 && --held.depth == 0)
        held_flush();
}

bool log_on(enum log_level lvl)
{
    return (int)lvl >= level_now();
}

void log_msg(enum log_level lvl, const char *module, const char *fmt, ...)
{
    static const char *names[] = {"debug", "info", "warn", "error"};
    char line[2048];
    struct timespec ts;
    struct tm tm;
    va_list ap;
    int n, m;

    if ((int)lvl < level_now())
        return;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    n = snprintf(
        line, sizeof(line),
        "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s %s: ", tm.tm_year + 1900,
        tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
        ts.tv_nsec / 1000000, names[lvl], module ? module : "tocsin");
    if (n < 0)
        return;
    va_start(ap, fmt);
    m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (m < 0)
        m = 0;
    n += m;
    if ((size_t)n > sizeof(line) - 2)
        n = (int)sizeof(line) - 2;
    /* One line per event, and nothing for a terminal to obey: newlines and
     * other control characters (a receiver's answer, a label value) are
     * folded to spaces. */
    for (int i = 0; i < n; i++)
        if (iscntrl((unsigned char)line[i]) && line[i] != '\t')
            line[i] = ' ';
    line[n++] = '\n';
    if (held.depth > 0) {
        if (held.len + (size_t)n > HELD_MAX)
            held_flush();
        memcpy(held.buf + held.len, line, (size_t)n);
        held.len += (size_t)n;
        return;
    }
    if (write(STDERR_FILENO, line, (size_t)n) < 0)
        return;
}

void log_redact_url(const char *url, char *out, unsigned outlen)
{
    const char *p, *host, *end;
    size_t len;

    if (outlen == 0)
        return;
    out[0] = '\0';
    if (url == NULL)
        return;
    p = strstr(url, "://");
    host = p ? p + 3 : url;
    /* Drop userinfo. */
    end = host + strcspn(host, "/?#");
    for (const char *q = host; q < end; q++)
        if (*q == '@')
            host = q + 1;
    len = (size_t)(end - host);
    snprintf(out, outlen, "%.*s%.*s%s", p ? (int)(p - url + 3) : 0, url,
             (int)len, host, *end ? "/..." : "");
}
