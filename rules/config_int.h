/* config_int.h - internals shared by the files that load tocsin.yaml:
 * config.c (entry points, top level, defaults, shared readers, freeing),
 * config_notifiers.c (notifiers, report, inputs, routes) and
 * config_rules.c (rules). Not for use outside rules/config*.c. */
#ifndef TOCSIN_CONFIG_INT_H
#define TOCSIN_CONFIG_INT_H

#include <stddef.h>

#include "cfgnode.h"
#include "config.h"
#include "matcher.h"

/* The config being built and where its errors go. */
struct config_loader {
    struct config *c;
    struct cfg_diag *d;
};

/* The map (config_get_map) or list (config_get_seq) under key of parent:
 * NULL when absent or null, and NULL with an error ("<what> must be a
 * map/list") when of another type. */
const struct cfg_node *config_get_map(const struct cfg_node *parent,
                                      const char *key, const char *what,
                                      struct cfg_diag *d);
const struct cfg_node *config_get_seq(const struct cfg_node *parent,
                                      const char *key, const char *what,
                                      struct cfg_diag *d);

/* A duration that must be > 0 when present into *out (left as it is when
 * absent or invalid; errors name it `what`). */
void config_positive_duration(const struct cfg_node *n, const char *what,
                              double *out, struct cfg_diag *d);

/* p relative to dir unless absolute or dir is empty; the caller frees. */
char *config_resolve_path(const char *dir, const char *p);

/* A "host:port" string into *out (replacing and freeing the old value);
 * an error, and *out untouched, when invalid. */
void config_read_hostport(const struct cfg_node *n, const char *what,
                          char **out, struct cfg_diag *d);

/* A map of string -> string (labels) into a new array *out of *nout pairs
 * (nothing when m is NULL). Free with config_free_kv. */
void config_read_kv(const struct cfg_node *m, const char *what, struct kv **out,
                    size_t *nout, struct cfg_diag *d);
void config_free_kv(struct kv *v, size_t n);

/* A map of label -> matcher spec into out (nothing when m is NULL); ctx
 * names the place in errors. */
void config_read_matchers(const struct cfg_node *m, const char *ctx,
                          struct matcher_set *out, struct cfg_diag *d);

/* A notifier name or a list of names into a new array *idx of *nidx
 * distinct indexes into L->c->notifiers (which must be loaded already). */
void config_read_notify(struct config_loader *L, const struct cfg_node *n,
                        const char *what, size_t **idx, size_t *nidx);

/* Where n (a section's notify key) is absent or null and defaults.notify
 * is set (loaded already): *idx becomes a copy of it, and true. */
bool config_notify_defaults(struct config_loader *L, const struct cfg_node *n,
                            size_t **idx, size_t *nidx);

/* The sections (config_notifiers.c): each reads its top-level key of root
 * into L->c and reports every error into L->d. load_notifiers must run
 * before the others that name notifiers. */
void config_load_notifiers(struct config_loader *L,
                           const struct cfg_node *root);
void config_load_report(struct config_loader *L, const struct cfg_node *root);
void config_load_inputs(struct config_loader *L, const struct cfg_node *root);
void config_load_routes(struct config_loader *L, const struct cfg_node *root);

/* The rules section (config_rules.c), after the notifiers; and the release
 * of one loaded rule's members (not r itself). */
void config_load_rules(struct config_loader *L, const struct cfg_node *root);
void config_rule_cleanup(struct rule *r);

#endif
