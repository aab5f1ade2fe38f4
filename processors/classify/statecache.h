/*
 * statecache.h - the (dossier) states a process last wrote or read, kept in
 * memory so that a batch needs no read round trip before its write.
 *
 * The cache is only a guess of what Redis holds: its user writes with a
 * compare-and-set against the state it merged over (chiso-classify does),
 * so a stale, evicted or even wrong entry (another key with the same 64-bit
 * hash) costs one retry, never a wrong count. Redis stays the truth.
 *
 * Memory is bounded: two generations of an open-addressing table. New
 * entries go to the young one; when it is 70% full it becomes the old one
 * and the previous old one is dropped, so the states in use survive (a hit
 * in the old generation moves the entry to the young one) and the rest age
 * out. States longer than CHISO_STATECACHE_STATE_MAX bytes are not kept.
 */
#ifndef CHISO_STATECACHE_H
#define CHISO_STATECACHE_H

#include <stddef.h>
#include <stdint.h>

#define CHISO_STATECACHE_STATE_MAX 83 /* bytes; an entry is 96 bytes in all */

typedef struct chiso_statecache chiso_statecache;

/* A cache of at most about `bytes` of memory (at least 2 x 1024 entries).
 * NULL when out of memory. */
chiso_statecache *chiso_statecache_new(size_t bytes);
void chiso_statecache_free(chiso_statecache *c);

/* The state kept for `hash`: copied to `out` (CHISO_STATECACHE_STATE_MAX bytes),
 * returns its length; -1 when none is kept, or it expired before `now`
 * (epoch seconds). */
int chiso_statecache_get(chiso_statecache *c, uint64_t hash, unsigned char *out, int64_t now);

/* Start bringing the slots of `hash` into the CPU's cache, for a
 * chiso_statecache_get() soon after: the table is far larger than the
 * cache, and a lookup is otherwise a wait on memory. */
void chiso_statecache_prefetch(const chiso_statecache *c, uint64_t hash);

/* Keep `state` for `hash`, replacing any earlier one; it expires at
 * `expires_at` (epoch seconds, 0 = never), as its Redis key does. A state
 * too long to keep removes the entry. */
void chiso_statecache_put(chiso_statecache *c, uint64_t hash, const unsigned char *state, int len,
                          int64_t expires_at);

/* Forget every entry (e.g. when Redis may have lost recent writes). */
void chiso_statecache_clear(chiso_statecache *c);

/* Entries kept now (both generations). */
size_t chiso_statecache_count(const chiso_statecache *c);

#endif
