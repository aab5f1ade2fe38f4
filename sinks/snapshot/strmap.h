/*
 * strmap.h - a small string-keyed hash map for the snapshot sink: unit
 * metadata by code, published fingerprints by "<unit>|<period>", and the
 * set of dirty members popped but not yet published.
 *
 * Keys are copied; values are a caller-owned pointer and a uint64. The map
 * never frees values: a caller storing heap pointers frees them (iterate
 * before snap_map_destroy, or on delete).
 */
#ifndef CHISO_SNAPSHOT_STRMAP_H
#define CHISO_SNAPSHOT_STRMAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct snap_map snap_map;

typedef struct snap_map_entry {
    char *key;
    void *ptr;
    uint64_t u64;
    struct snap_map_entry *next; /* chain, internal */
} snap_map_entry;

/* An empty map; caller frees with snap_map_destroy(). NULL on no memory. */
snap_map *snap_map_new(void);
void snap_map_destroy(snap_map *m);

size_t snap_map_size(const snap_map *m);

/* The entry of key, or NULL. */
snap_map_entry *snap_map_get(const snap_map *m, const char *key);

/* The entry of key, created (ptr NULL, u64 0) when absent. *created (may be
 * NULL) tells which. NULL on no memory. */
snap_map_entry *snap_map_put(snap_map *m, const char *key, int *created);

/* Remove key; returns its ptr (for the caller to free) or NULL. */
void *snap_map_del(snap_map *m, const char *key);

/* Iterate: start with *pos = 0 and e = NULL; returns the next entry or NULL
 * at the end. The map must not change during an iteration. */
snap_map_entry *snap_map_next(const snap_map *m, size_t *pos, snap_map_entry *e);

#endif
