/* matcher.c - label matchers for rule `where`/`ratio`, routes and silences:
 * "v" equals, "~re" regex, "!v" not equal, "!~re" regex does not match.
 * Regexes are POSIX ERE anchored at both ends; a missing label is "".
 * To match a literal value that starts with ~ or !, escape the first
 * character: "\~tilde" equals "~tilde", "\!bang" equals "!bang". */
#include "matcher.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/buf.h"
#include "../common/util.h"

/* Compile with an explicit operator and operand (no prefix parsing). */
/* glibc's regcomp grows exponentially with stacked quantifiers ("a+++",
 * "x{1,9}{1,9}": undefined in POSIX ERE anyway), and matchers come from
 * configs and the silences API, so such patterns are refused before they
 * reach it. Returns the offending offset, or -1 when the pattern is fine. */
/* How much of s an error message quotes: at most max bytes, never half a
 * UTF-8 character (the message must stay UTF-8). */
static int shown(const char *s, size_t max)
{
    size_t n = strlen(s);

    return (int)(n <= max ? n : util_utf8_cut(s, max));
}

static long stacked_quantifier(const char *re)
{
    bool in_bracket = false, after_quant = false;
    size_t first = 0; /* in a bracket: where its first member is */

    for (size_t i = 0; re[i]; i++) {
        char c = re[i];

        if (in_bracket) {
            /* "[]...]" and "[^]...]": a ] first in the bracket is a
             * member; any other ends it ("[b[]+" is a set, then "+"). */
            if (c == ']' && i != first)
                in_bracket = false;
            continue;
        }
        if (c == '\\') {
            if (re[i + 1])
                i++;
            after_quant = false;
        } else if (c == '[') {
            in_bracket = true;
            first = re[i + 1] == '^' ? i + 2 : i + 1;
            after_quant = false;
        } else if (c == '*' || c == '+' || c == '?' || c == '{') {
            if (after_quant)
                return (long)i;
            if (c == '{') {
                const char *end = strchr(re + i, '}');
                if (end != NULL)
                    i = (size_t)(end - re);
            }
            after_quant = true;
        } else {
            after_quant = false;
        }
    }
    return -1;
}

#define MATCHER_MAX_REGEX 1024
/* glibc's regcomp copies what a count repeats once per repetition, and its
 * memory grows faster still: "a{1,10000}" takes 790 MB, a hundred
 * "a{1,1000}" 820 MB, "((a{1,255}){1,255}){1,50}" 7.7 GB and 16 s. A count
 * is at most 1000 (RE2's limit too), and the atoms once every count is
 * expanded at most MATCHER_MAX_EXPANDED (about 40 MB of regcomp). */
#define MATCHER_MAX_COUNT 1000
#define MATCHER_MAX_EXPANDED 5000L

/* a + b, held at MATCHER_MAX_EXPANDED + 1: past that the size is only
 * "too big" (and a long cannot overflow). Both are at most that. */
static long size_add(long a, long b)
{
    return a + b > MATCHER_MAX_EXPANDED ? MATCHER_MAX_EXPANDED + 1 : a + b;
}

/* How many atoms re comes to once its counts and + are expanded (an upper
 * bound, held at MATCHER_MAX_EXPANDED + 1), or -1 with *at at a count over
 * MATCHER_MAX_COUNT. */
static long expanded_size(const char *re, long *at)
{
    long sum[MATCHER_MAX_REGEX + 2], last = 0;
    size_t d = 0;

    sum[0] = 0;
    for (size_t i = 0; re[i]; i++) {
        long factor = 1;

        switch (re[i]) {
        case '(':
            if (d + 1 < sizeof(sum) / sizeof(sum[0]))
                sum[++d] = 0;
            last = 0;
            continue;
        case ')':
            last = sum[d];
            if (d == 0)
                continue; /* unbalanced: regcomp refuses it */
            d--;
            sum[d] = size_add(sum[d], last);
            continue;
        case '|':
            last = 0;
            continue;
        case '*':
        case '?':
            continue;
        case '+':
            factor = 2; /* "a+" is "aa*" */
            break;
        case '{': {
            char *end;
            long lo = strtol(re + i + 1, &end, 10), hi = lo;

            if (*end == ',')
                hi = isdigit((unsigned char)end[1]) ? strtol(end + 1, &end, 10)
                                                    : lo + 1;
            if (lo > MATCHER_MAX_COUNT || hi > MATCHER_MAX_COUNT) {
                *at = (long)i;
                return -1;
            }
            factor = hi > 1 ? hi : 1;
            while (re[i + 1] && re[i] != '}')
                i++;
            break;
        }
        case '[': {
            size_t first = re[i + 1] == '^' ? i + 2 : i + 1;

            for (i = first; re[i] && (re[i] != ']' || i == first); i++)
                ;
            if (re[i] == '\0')
                i--;
            last = 1;
            sum[d] = size_add(sum[d], 1);
            continue;
        }
        case '\\':
            if (re[i + 1])
                i++;
            /* fall through */
        default:
            last = 1;
            sum[d] = size_add(sum[d], 1);
            continue;
        }
        /* A count or +: the last atom or group comes factor times. */
        sum[d] = size_add(sum[d], size_add(0, last * (factor - 1)));
        last = size_add(0, last * factor);
    }
    while (d > 0) {
        sum[d - 1] = size_add(sum[d - 1], sum[d]);
        d--;
    }
    return sum[0];
}

/* Offset of an escape POSIX ERE does not have in re, or -1: a Perl-style
 * digit class (\d, \D), which glibc reads as a plain "d" ("~5\d\d" would
 * silently match "5dd" and not "500", a rule that never fires), or a
 * backreference (\1 to \9), a glibc extension that Prometheus' and
 * Alertmanager's RE2 do not have, whose matching time grows as a power of
 * the value's length, and whose numbers would count the group this file
 * wraps every pattern in. */
static long not_posix_escape(const char *re)
{
    for (const char *p = re; *p; p++) {
        if (*p != '\\' || p[1] == '\0')
            continue;
        if (p[1] == 'd' || p[1] == 'D' || (p[1] >= '1' && p[1] <= '9'))
            return (long)(p - re);
        p++; /* an escaped character, e.g. "\\" */
    }
    return -1;
}

static int matcher_init_op(struct matcher *m, const char *name,
                           enum matcher_op op, const char *value, char *why,
                           size_t whylen)
{
    memset(m, 0, sizeof(*m));
    m->op = op;
    if (op == MATCH_RE || op == MATCH_NRE) {
        struct buf b;
        regex_t probe;
        int rc;

        long at, size;

        if (strlen(value) > MATCHER_MAX_REGEX) {
            snprintf(why, whylen, "regex longer than %d characters",
                     MATCHER_MAX_REGEX);
            return -1;
        }
        if ((at = stacked_quantifier(value)) >= 0) {
            snprintf(why, whylen,
                     "invalid regex \"%.*s\": repeated quantifier at "
                     "offset %ld",
                     shown(value, 200), value, at);
            return -1;
        }
        if ((size = expanded_size(value, &at)) < 0) {
            snprintf(why, whylen,
                     "invalid regex \"%.*s\": the count at offset %ld is "
                     "over %d",
                     shown(value, 200), value, at, MATCHER_MAX_COUNT);
            return -1;
        }
        if (size > MATCHER_MAX_EXPANDED) {
            snprintf(why, whylen,
                     "invalid regex \"%.*s\": its counts repeat it to more "
                     "than %ld characters",
                     shown(value, 200), value, MATCHER_MAX_EXPANDED);
            return -1;
        }
        if ((at = not_posix_escape(value)) >= 0) {
            char c = value[at + 1];

            if (c == 'd' || c == 'D')
                snprintf(why, whylen,
                         "invalid regex \"%.*s\": \\%c at offset %ld is "
                         "not POSIX ERE (write %s)",
                         shown(value, 200), value, c, at,
                         c == 'd' ? "[0-9]" : "[^0-9]");
            else
                snprintf(why, whylen,
                         "invalid regex \"%.*s\": backreference \\%c at "
                         "offset %ld is not supported (nor by Prometheus)",
                         shown(value, 200), value, c, at);
            return -1;
        }
        /* Compile the regex alone first: "a)|(b" is invalid by itself but
         * would compile (unanchored) inside our "^(...)$". */
        rc = regcomp(&probe, value, REG_EXTENDED | REG_NOSUB);
        if (rc != 0) {
            char msg[256];
            regerror(rc, &probe, msg, sizeof(msg));
            snprintf(why, whylen, "invalid regex \"%s\": %s", value, msg);
            regfree(&probe);
            return -1;
        }
        regfree(&probe);
        buf_init(&b, 0);
        buf_printf(&b, "^(%s)$", value);
        if (b.failed) {
            snprintf(why, whylen, "regex too long");
            buf_cleanup(&b);
            return -1;
        }
        rc = regcomp(&m->re, buf_str(&b), REG_EXTENDED | REG_NOSUB);
        buf_cleanup(&b);
        if (rc != 0) {
            char msg[256];
            regerror(rc, &m->re, msg, sizeof(msg));
            snprintf(why, whylen, "invalid regex \"%s\": %s", value, msg);
            regfree(&m->re);
            return -1;
        }
    }
    m->name = xstrdup(name);
    m->value = xstrdup(value);
    return 0;
}

int matcher_init(struct matcher *m, const char *name, const char *spec,
                 char *why, size_t whylen)
{
    if (strncmp(spec, "!~", 2) == 0)
        return matcher_init_op(m, name, MATCH_NRE, spec + 2, why, whylen);
    if (spec[0] == '~')
        return matcher_init_op(m, name, MATCH_RE, spec + 1, why, whylen);
    if (spec[0] == '!')
        return matcher_init_op(m, name, MATCH_NE, spec + 1, why, whylen);
    if (spec[0] == '\\' && (spec[1] == '~' || spec[1] == '!'))
        return matcher_init_op(m, name, MATCH_EQ, spec + 1, why, whylen);
    return matcher_init_op(m, name, MATCH_EQ, spec, why, whylen);
}

void matcher_cleanup(struct matcher *m)
{
    if (m == NULL || m->name == NULL)
        return;
    if (m->op == MATCH_RE || m->op == MATCH_NRE)
        regfree(&m->re);
    free(m->name);
    free(m->value);
    m->name = NULL;
    m->value = NULL;
}

void matcher_set_cleanup(struct matcher_set *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->n; i++)
        matcher_cleanup(&s->v[i]);
    free(s->v);
    s->v = NULL;
    s->n = 0;
}

bool matcher_match(const struct matcher *m, const char *value)
{
    if (value == NULL)
        value = "";
    switch (m->op) {
    case MATCH_EQ:
        return strcmp(value, m->value) == 0;
    case MATCH_NE:
        return strcmp(value, m->value) != 0;
    case MATCH_RE:
        return regexec(&m->re, value, 0, NULL, 0) == 0;
    case MATCH_NRE:
        return regexec(&m->re, value, 0, NULL, 0) != 0;
    }
    return false;
}

bool matcher_set_match(const struct matcher_set *s, matcher_get_fn get,
                       void *ctx)
{
    for (size_t i = 0; i < s->n; i++)
        if (!matcher_match(&s->v[i], get(ctx, s->v[i].name)))
            return false;
    return true;
}

static const char *skip_space(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

static int set_parse(struct matcher_set *s, const char *text, char *why,
                     size_t whylen);

/* "name=value,...", also wrapped in braces as Prometheus and amtool write
 * a label set ({service="api",env=~"prod.*"}). */
int matcher_set_parse(struct matcher_set *s, const char *text, char *why,
                      size_t whylen)
{
    const char *p = skip_space(text), *end;
    char *inner;
    int rc;

    if (*p != '{')
        return set_parse(s, text, why, whylen);
    end = p + strlen(p);
    while (end > p + 1 && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    if (end[-1] != '}' || end == p + 1) {
        s->v = NULL;
        s->n = 0;
        snprintf(why, whylen, "expected \"}\" at the end of \"%.*s\"",
                 shown(p, 40), p);
        return -1;
    }
    inner = xmalloc((size_t)(end - p - 1));
    memcpy(inner, p + 1, (size_t)(end - p - 2));
    inner[end - p - 2] = '\0';
    rc = set_parse(s, inner, why, whylen);
    free(inner);
    return rc;
}

int matcher_set_parse_silence(struct matcher_set *s, const char *text,
                              char *why, size_t whylen)
{
    if (matcher_set_parse(s, text, why, whylen) < 0)
        return -1;
    for (size_t i = 0; i < s->n; i++)
        if (!matcher_match(&s->v[i], ""))
            return 0;
    snprintf(why, whylen,
             "these matchers match every alert (each matches an empty "
             "value); at least one must not, such as alertname=NAME");
    matcher_set_cleanup(s);
    return -1;
}

static int set_parse(struct matcher_set *s, const char *text, char *why,
                     size_t whylen)
{
    const char *p = text;
    struct buf name, val;
    size_t cap = 0;
    int rc = -1;

    s->v = NULL;
    s->n = 0;
    buf_init(&name, 4096);
    buf_init(&val, 65536);
    p = skip_space(p);
    if (*p == '\0') {
        snprintf(why, whylen, "no matchers (expected name=value,...)");
        goto out;
    }
    for (;;) {
        enum matcher_op op;
        const char *start;

        buf_reset(&name);
        buf_reset(&val);
        p = skip_space(p);
        start = p;
        while (isalnum((unsigned char)*p) || *p == '_' || *p == '.' ||
               *p == '-' || *p == ':')
            p++;
        if (p == start) {
            snprintf(why, whylen, "expected a label name at \"%.*s\"",
                     shown(p, 40), p);
            goto out;
        }
        buf_add(&name, start, (size_t)(p - start));
        p = skip_space(p);
        if (p[0] == '=' && p[1] == '~') {
            op = MATCH_RE;
            p += 2;
        } else if (p[0] == '!' && p[1] == '~') {
            op = MATCH_NRE;
            p += 2;
        } else if (p[0] == '!' && p[1] == '=') {
            op = MATCH_NE;
            p += 2;
        } else if (p[0] == '=') {
            op = MATCH_EQ;
            p += 1;
        } else {
            snprintf(why, whylen, "expected =, !=, =~ or !~ after \"%s\"",
                     buf_str(&name));
            goto out;
        }
        p = skip_space(p);
        if (*p == '"') {
            /* Quoted: may hold commas; \" and \\ are escapes. */
            p++;
            while (*p && *p != '"') {
                if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
                    p++;
                buf_addc(&val, *p++);
            }
            if (*p != '"') {
                snprintf(why, whylen, "unterminated quoted value for \"%s\"",
                         buf_str(&name));
                goto out;
            }
            p++;
            p = skip_space(p);
        } else {
            const char *vs = p, *ve;
            while (*p && *p != ',')
                p++;
            ve = p;
            while (ve > vs && (ve[-1] == ' ' || ve[-1] == '\t'))
                ve--;
            buf_add(&val, vs, (size_t)(ve - vs));
        }
        if (name.failed || val.failed) {
            snprintf(why, whylen, "matcher too long");
            goto out;
        }
        if (*p != '\0' && *p != ',') {
            snprintf(why, whylen, "expected \",\" after the value of \"%s\"",
                     buf_str(&name));
            goto out;
        }
        if (s->n == cap) {
            cap = cap ? cap * 2 : 4;
            s->v = xrealloc(s->v, cap * sizeof(*s->v));
        }
        if (matcher_init_op(&s->v[s->n], buf_str(&name), op, buf_str(&val), why,
                            whylen) < 0)
            goto out;
        s->n++;
        if (*p == '\0')
            break;
        p = skip_space(p + 1); /* the comma, which may end the list */
        if (*p == '\0')
            break;
    }
    rc = 0;
out:
    buf_cleanup(&name);
    buf_cleanup(&val);
    if (rc < 0)
        matcher_set_cleanup(s);
    return rc;
}
