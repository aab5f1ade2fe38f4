/*
 * strmap.h - a small string-keyed hash map (unit metadata by code, procedure
 * levels by code, snapshot fingerprints by "<unit>|<period>", ...).
 *
 * Keys are copied; values are a caller-owned pointer and a uint64. The map
 * never frees values: a caller storing heap pointers frees them (iterate
 * before chiso_map_destroy, or on delete).
 */
#ifndef CHISO_STRMAP_H
#define CHISO_STRMAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct chiso_map chiso_map;

typedef struct chiso_map_entry {
    char *key;
    void *ptr;
    uint64_t u64;
    struct chiso_map_entry *next; /* chain, internal */
} chiso_map_entry;

/* An empty map; caller frees with chiso_map_destroy(). NULL on no memory. */
chiso_map *chiso_map_new(void);
void chiso_map_destroy(chiso_map *m);

size_t chiso_map_size(const chiso_map *m);

/* The entry of key, or NULL. */
chiso_map_entry *chiso_map_get(const chiso_map *m, const char *key);

/* The entry of key, created (ptr NULL, u64 0) when absent. *created (may be
 * NULL) tells which. NULL on no memory. */
chiso_map_entry *chiso_map_put(chiso_map *m, const char *key, int *created);

/* Remove key; returns its ptr (for the caller to free) or NULL. */
void *chiso_map_del(chiso_map *m, const char *key);

/* Iterate: start with *pos = 0 and e = NULL; returns the next entry or NULL
 * at the end. The map must not change during an iteration. */
chiso_map_entry *chiso_map_next(const chiso_map *m, size_t *pos, chiso_map_entry *e);

#endif
