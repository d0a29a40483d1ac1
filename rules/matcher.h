/* matcher.h - label matchers: "v" equals, "~re" regex, "!v" not equal,
 * "!~re" regex does not match. Regexes are POSIX extended, anchored at both
 * ends. A label the subject lacks matches as the empty string. Used by rule
 * `where`, `ratio`, routes and silences. A literal value starting with ~ or !
 * is written with a backslash before it: "\~x" equals "~x", "\!x" equals "!x".
 */
#ifndef TOCSIN_MATCHER_H
#define TOCSIN_MATCHER_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>

enum matcher_op { MATCH_EQ, MATCH_NE, MATCH_RE, MATCH_NRE };

struct matcher {
    char *name;
    char *value; /* the operand, without its ~ ! !~ prefix */
    enum matcher_op op;
    regex_t re; /* compiled for MATCH_RE/MATCH_NRE */
};

struct matcher_set {
    struct matcher *v;
    size_t n;
};

/* Compile name + spec ("api", "~5..", "!api", "!~5..") into m.
 * Returns 0, or -1 with a reason in why (e.g. the regcomp message). */
int matcher_init(struct matcher *m, const char *name, const char *spec,
                 char *why, size_t whylen);
void matcher_cleanup(struct matcher *m);
void matcher_set_cleanup(struct matcher_set *s);

/* Value lookup: return the borrowed value of label name, or NULL. */
typedef const char *(*matcher_get_fn)(void *ctx, const char *name);

bool matcher_match(const struct matcher *m, const char *value /* NULL ok */);
/* True when every matcher of s matches (an empty set matches all). */
bool matcher_set_match(const struct matcher_set *s, matcher_get_fn get,
                       void *ctx);
/* Parse "a=b,c=~re,d!=x,e!~re" (the CLI/HTTP silence form) into s.
 * Returns 0 or -1 with why. */
int matcher_set_parse(struct matcher_set *s, const char *text, char *why,
                      size_t whylen);
/* matcher_set_parse for a new silence, which must also not match every
 * alert: at least one matcher must refuse the empty value (as amtool and
 * Alertmanager require; "service=" or "x=~.*" alone would silence all). */
int matcher_set_parse_silence(struct matcher_set *s, const char *text,
                              char *why, size_t whylen);

#endif
