/* log.h - one line per event on stderr: "LEVEL module[instance]: message".
 * Never pass a secret (password, webhook URL) to these functions. */
#ifndef TOCSIN_LOG_H
#define TOCSIN_LOG_H

#include <stdbool.h>

enum log_level { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR };

/* Lines below this level are dropped. Default LOG_INFO; TOCSIN_LOG_LEVEL=debug
 * in the environment lowers it. Thread-safe: one write(2) per line. */
void log_set_level(enum log_level lvl);
/* Whether a message at lvl would be written (to skip building it). */
bool log_on(enum log_level lvl);
void log_msg(enum log_level lvl, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Between log_hold and log_release (nested: the outermost release), the
 * calling thread's lines are written in blocks of whole lines, up to
 * PIPE_BUF bytes a write, instead of one write each: for a burst of lines
 * (the events of a commit). */
void log_hold(void);
void log_release(void);

#define log_debug(mod, ...) log_msg(LOG_DEBUG, mod, __VA_ARGS__)
#define log_info(mod, ...) log_msg(LOG_INFO, mod, __VA_ARGS__)
#define log_warn(mod, ...) log_msg(LOG_WARN, mod, __VA_ARGS__)
#define log_error(mod, ...) log_msg(LOG_ERROR, mod, __VA_ARGS__)

/* Copy url into out with any userinfo, path and query replaced by "..."
 * (webhook URLs carry their token in the path): "https://hooks.slack.com/...".
 */
void log_redact_url(const char *url, char *out, unsigned outlen);

#endif
