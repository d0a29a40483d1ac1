/* cfgnode.h - the YAML document as a tree of nodes that remember their
 * position, and the diagnostics list that config errors go to. Built by
 * config.c from libyaml events; read by config.c and by each notifier's
 * configure op. */
#ifndef TOCSIN_CFGNODE_H
#define TOCSIN_CFGNODE_H

#include <stdbool.h>
#include <stddef.h>

enum cfg_type { CFG_SCALAR, CFG_MAP, CFG_SEQ };

struct cfg_node {
    enum cfg_type type;
    int line, col;           /* 1-based */
    char *scalar;            /* CFG_SCALAR: the value after ${VAR} expansion */
    bool quoted;             /* CFG_SCALAR: single- or double-quoted in YAML */
    bool from_env;           /* CFG_SCALAR: a ${VAR} was expanded into it, so
                                error messages must not quote it */
    bool unset;              /* CFG_SCALAR: its ${VAR} expansion failed and was
                                reported; errors about the value are not */
    bool anchored;           /* an anchor names it (the parse keeps it alive) */
    size_t n;                /* CFG_MAP/CFG_SEQ: number of entries */
    struct cfg_node **items; /* values (map) or elements (seq) */
    char **keys;             /* CFG_MAP: keys, parallel to items */
    int *key_line, *key_col; /* CFG_MAP: key positions, 1-based */
};

/* All errors of one file, each already formatted as
 * "FILE:LINE:COL: message". At most CFG_MAX_ERRORS are kept; the
 * count goes on. */
#define CFG_MAX_ERRORS 1000
struct cfg_diag {
    const char *file; /* borrowed; the name printed in messages */
    /* The file's text while it is loaded (borrowed, or NULL): lets an error
     * point inside a scalar (cfg_error_in_scalar). */
    const char *src;
    size_t srclen;
    char *msgs[CFG_MAX_ERRORS];
    /* Where each kept message is (line 0: the file as a whole), and whose
     * file it is: when more come, the first ones in the file are kept. */
    const char *msg_file[CFG_MAX_ERRORS];
    int msg_line[CFG_MAX_ERRORS], msg_col[CFG_MAX_ERRORS];
    size_t nmsgs; /* messages kept */
    size_t count; /* errors seen (may exceed nmsgs) */
};

void cfg_diag_init(struct cfg_diag *d, const char *file);
void cfg_diag_cleanup(struct cfg_diag *d);
/* Add "FILE:LINE:COL: error: <fmt>". */
void cfg_error(struct cfg_diag *d, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The same at a node's position. */
void cfg_error_at(struct cfg_diag *d, const struct cfg_node *n, const char *fmt,
                  ...) __attribute__((format(printf, 3, 4)));
/* The same at byte off of the template in scalar n's value: the position in
 * the file of that point of its k-th "{{ ... }}", found in the file's text,
 * so that it is right in quoted strings with escapes and in block scalars
 * (| and >), whose values do not map 1:1 onto the lines. The scalar's own
 * position when the file's text is not at hand or the value came from the
 * environment. */
void cfg_error_in_scalar(struct cfg_diag *d, const struct cfg_node *n,
                         size_t off, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* v, the text of node n, as an error message may show it: never a value
 * expanded from the environment, which may be a secret. */
const char *cfg_shown(const struct cfg_node *n, const char *v);

/* n's value for an error message: "quoted", or "(value from the
 * environment)" (it may be a secret), or "(a map)" / "(a list)". */
void cfg_quoted(const struct cfg_node *n, char *out, size_t outlen);
/* Print every kept message on its own line, then "N errors" if more were
 * seen than kept. */
void cfg_diag_print(const struct cfg_diag *d, void *FILE_stream);

/* Map access. Returns the value node for key or NULL. */
const struct cfg_node *cfg_get(const struct cfg_node *map, const char *key);
/* Whether k is in the NULL-terminated list (NULL: empty). */
bool cfg_in_list(const char *const *list, const char *k);
/* Report every key of map not in the NULL-terminated list allowed (and
 * not in the optional second list also, which may be NULL) as
 * `unknown key "k"` at the key's position. Returns the number reported. */
int cfg_check_keys(const struct cfg_node *map, const char *const *allowed,
                   const char *const *also, struct cfg_diag *d);
/* Typed readers: each reports a precise error at the node and returns -1
 * when the node is not of the expected type/format, 0 on success. A NULL
 * node is "absent": they return 1 and leave *out unchanged. */
int cfg_str(const struct cfg_node *n, const char *what, const char **out,
            struct cfg_diag *d);
int cfg_bool(const struct cfg_node *n, const char *what, bool *out,
             struct cfg_diag *d); /* YAML 1.2 core: true/false only */
int cfg_number(const struct cfg_node *n, const char *what, double *out,
               struct cfg_diag *d);
int cfg_duration(const struct cfg_node *n, const char *what, double *out,
                 struct cfg_diag *d);
/* A string or a list of strings; *out is malloc'd array of borrowed
 * strings (free the array only). */
int cfg_strlist(const struct cfg_node *n, const char *what, const char ***out,
                size_t *nout, struct cfg_diag *d);

void cfg_node_free(struct cfg_node *n);

/* Limits of cfg_parse (SPEC section 2: anchors and aliases are allowed with
 * a bound on expansion). */
#define CFG_MAX_INPUT ((size_t)1 << 20)   /* bytes */
#define CFG_MAX_DEPTH 64                  /* nested maps/lists */
#define CFG_MAX_ALIAS_NODES 10000         /* nodes copied by alias expansion */
#define CFG_MAX_ALIAS_BYTES CFG_MAX_INPUT /* text (keys, scalars) copied */
#define CFG_MAX_ENV_BYTES ((size_t)16 << 20) /* text ${VAR}s expand to */

/* Parse one YAML document (libyaml events) into a tree with 1-based
 * positions, expanding ${VAR}/${VAR:-default}/$$ in scalar values (never
 * keys) and aliases (by copying the anchored subtree). Duplicate keys,
 * unset variables, over-deep nesting, alias bombs, multiple documents and
 * YAML syntax errors are reported in d. Returns the root (a CFG_MAP; an
 * empty input gives an empty map), or NULL when the text is unusable.
 * A tree may be returned while d holds errors (duplicate keys, unset
 * variables): callers check d->count. Free with cfg_node_free. */
struct cfg_node *cfg_parse(const char *text, size_t len, struct cfg_diag *d);
/* True for a YAML null: an unquoted "", "~" or "null". */
bool cfg_is_null(const struct cfg_node *n);
/* Whether plain text s reads as type ("null", "bool", "int" or "float")
 * in the YAML 1.2 core schema ("0x1f" and "0o17" are ints, ".inf" is a
 * float, "True" a bool). */
bool cfg_core_is(const char *s, const char *type);

#endif
