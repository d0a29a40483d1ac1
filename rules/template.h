/* template.h - "{{ path }}" templates in annotations and webhook bodies.
 * Paths: rule, event, severity, previous, value, reason, fingerprint, ts,
 * labels.NAME, annotations.NAME; "{{ value | humanize }}" (also
 * humanizePercentage, humanizeDuration) writes the value as Prometheus'
 * functions of those names do. An unknown path or function is a compile
 * error, so `tocsin check` finds it. */
#ifndef TOCSIN_TEMPLATE_H
#define TOCSIN_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>

#include "../common/buf.h"
#include "../common/labels.h"

struct tmpl;

/* What a template can see. Strings may be NULL (render as ""). */
struct tmpl_ctx {
    const char *rule, *event, *severity, *previous, *reason, *fingerprint;
    double value;   /* rendered with util_format_double */
    bool has_value; /* false renders "" (nodata) */
    double ts;      /* rendered as Unix seconds, e.g. 1767225720.5 */
    const struct label *labels;
    size_t nlabels;
    const struct label *annotations;
    size_t nannotations;
};

/* Compile src. Returns NULL with a reason in why (unknown path, unclosed
 * "{{"), e.g. `unknown template path "labels"`. *col_off, if not NULL,
 * receives the byte offset in src of the problem. */
struct tmpl *tmpl_compile(const char *src, char *why, size_t whylen,
                          size_t *col_off);
void tmpl_free(struct tmpl *t);
/* Every error of src, each as tmpl_compile reports the first: fn gets its
 * byte offset in src and reason, in order (an unclosed "{{" ends the
 * list). Returns how many (0: src compiles). */
typedef void (*tmpl_error_fn)(void *ctx, size_t off, const char *why);
int tmpl_foreach_error(const char *src, tmpl_error_fn fn, void *ctx);
/* Each labels.NAME (annotation false) and annotations.NAME (true) t reads,
 * with the byte offset of its path in the source. */
typedef void (*tmpl_ref_fn)(void *ctx, bool annotation, const char *name,
                            size_t off);
void tmpl_foreach_ref(const struct tmpl *t, tmpl_ref_fn fn, void *ctx);
/* True when src contains no "{{" (a literal). */
bool tmpl_is_literal(const struct tmpl *t);
/* Append the rendering to out. Returns 0, or -1 when out hit its maximum. */
int tmpl_render(const struct tmpl *t, const struct tmpl_ctx *c,
                struct buf *out);

#endif
