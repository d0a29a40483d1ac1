/* labels.h - label sets (name/value pairs) and the alert fingerprint. */
#ifndef TOCSIN_LABELS_H
#define TOCSIN_LABELS_H

#include <stdbool.h>
#include <stddef.h>

struct label {
    const char *name;
    const char *value;
};

struct cJSON;

/* The string members of a JSON object (labels or annotations) as an array
 * of *n labels borrowing obj's strings: free the array, not the strings,
 * and not after obj. obj may be NULL (no labels). Never NULL. */
struct label *labels_from_json(const struct cJSON *obj, size_t *n);

/* A Prometheus label name, [a-zA-Z_][a-zA-Z0-9_]*. */
bool labels_name_valid(const char *s);

/* Look name up in an array of n labels (linear; sets are small).
 * Returns the borrowed value or NULL. */
const char *labels_get(const struct label *v, size_t n, const char *name);

struct buf;

/* The canonical key of a series into out (reset first): metric, then each
 * label's name and value in name order, every string followed by its NUL.
 * Label sets that differ only in order give the same key. 0, or -1 when
 * out could not hold it. */
int labels_series_key(struct buf *out, const char *metric,
                      const struct label *v, size_t n);

/* The stable alert fingerprint: 16 lowercase hex characters (plus NUL) of
 * SHA-256 over the rule name and the labels sorted by name, each string
 * followed by a 0xff separator byte. The order of v does not matter; a label
 * named "severity" is not part of the identity and is skipped. Stable across
 * restarts and versions: never change this function's output. */
void labels_fingerprint(const char *rule, const struct label *v, size_t n,
                        char out[17]);

/* labels_fingerprint, told apart by the `by` values a rule label replaced
 * (shadow, in by order): the series {team=x} and {team=y} of a rule with
 * `labels: {team: web}` both carry team=web, yet are two alerts. Each
 * shadowed label's name and value follow the labels after a 0xfe byte.
 * With nshadow 0 it is labels_fingerprint. */
void labels_fingerprint_shadowed(const char *rule, const struct label *v,
                                 size_t n, const struct label *shadow,
                                 size_t nshadow, char out[17]);

#endif
