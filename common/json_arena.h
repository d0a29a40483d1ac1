/* json_arena.h - cJSON trees whose nodes come from a per-thread arena.
 *
 * The dispatcher parses one outbox payload per delivery (dozens of nodes
 * and strings) and deletes it right after rendering: with libc's malloc
 * that was a fifth of a delivery's instructions. json_arena_install sets
 * cJSON's allocation hooks (once, before any thread starts); a tree from
 * json_arena_parse takes its nodes from the calling thread's arena (64
 * KiB, libc beyond it), and cJSON_Delete's frees of arena nodes do
 * nothing. The arena is reused once every tree parsed from it has gone
 * through json_arena_free. Everything else cJSON allocates, on any thread,
 * still comes from malloc: a tree from json_arena_parse may be changed and
 * rendered freely. */
#ifndef TOCSIN_JSON_ARENA_H
#define TOCSIN_JSON_ARENA_H

#include <cjson/cJSON.h>

/* Set cJSON's hooks. Call once at start, before threads use cJSON. */
void json_arena_install(void);
/* cJSON_Parse into this thread's arena (NULL: not JSON). */
cJSON *json_arena_parse(const char *text);
/* cJSON_Delete a tree of json_arena_parse (NULL is fine). */
void json_arena_free(cJSON *tree);

#endif
