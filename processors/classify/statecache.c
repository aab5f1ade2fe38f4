/*
 * statecache.c - the in-memory state cache (see statecache.h).
 */
#include "statecache.h"

#include <stdlib.h>
#include <string.h>

#include "chiso/common.h"

enum { EMPTY = 0, TOMBSTONE = 1 }; /* reserved hashes; real ones are >= 2 */

typedef struct sc_entry {
    uint64_t hash;
    uint32_t expires; /* epoch seconds, 0 = never */
    uint8_t len;
    unsigned char state[CHISO_STATECACHE_STATE_MAX];
} sc_entry;

typedef struct generation {
    sc_entry *e;
    size_t used; /* live entries and tombstones: what lengthens probes */
    size_t live;
} generation;

struct chiso_statecache {
    generation gen[2]; /* [young] and [!young] */
    int young;
    size_t slots; /* per generation, a power of two */
    size_t limit; /* `used` at which the young generation turns old */
};

static uint64_t real_hash(uint64_t h)
{
    return h < 2 ? h + 2 : h;
}

chiso_statecache *chiso_statecache_new(size_t bytes)
{
    chiso_statecache *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->slots = 1024;
    while (c->slots * 2 * 2 * sizeof(sc_entry) <= bytes)
        c->slots *= 2;
    c->limit = c->slots / 10 * 7;
    for (int g = 0; g < 2; g++) {
        c->gen[g].e = chiso_calloc_huge(c->slots, sizeof(sc_entry));
        if (!c->gen[g].e) {
            chiso_statecache_free(c);
            return NULL;
        }
    }
    return c;
}

void chiso_statecache_free(chiso_statecache *c)
{
    if (!c)
        return;
    chiso_free_huge(c->gen[0].e);
    chiso_free_huge(c->gen[1].e);
    free(c);
}

/* The slot holding `hash` in `g`, or NULL. A generation with no live
 * entry holds no hash and is not probed: that would only make its pages
 * resident. On transparent huge pages a read of an untouched page
 * maps a new, zeroed one as a write does (measured on Linux 6.18 here): a
 * drain's lookups made the whole empty old generation resident, 48 MiB at
 * the default size (docs/benchmarks.md, fourteenth session). */
static sc_entry *find(const chiso_statecache *c, generation *g, uint64_t hash)
{
    if (!g->live)
        return NULL;
    size_t mask = c->slots - 1;
    for (size_t s = (size_t)(hash * 0x9E3779B97F4A7C15ULL >> 32) & mask;; s = (s + 1) & mask) {
        if (g->e[s].hash == hash)
            return &g->e[s];
        if (g->e[s].hash == EMPTY)
            return NULL;
    }
}

static void forget(generation *g, sc_entry *e)
{
    e->hash = TOMBSTONE;
    g->live--;
}

/* Start a new young generation when the current one is full enough; the
 * old one's entries are dropped. */
static void age(chiso_statecache *c)
{
    if (c->gen[c->young].used < c->limit)
        return;
    c->young = !c->young;
    generation *g = &c->gen[c->young];
    memset(g->e, 0, c->slots * sizeof(sc_entry));
    g->used = g->live = 0;
}

static void insert(chiso_statecache *c, uint64_t hash, const unsigned char *state, int len,
                   uint32_t expires)
{
    age(c);
    generation *g = &c->gen[c->young];
    size_t mask = c->slots - 1;
    sc_entry *e, *tomb = NULL;
    for (size_t s = (size_t)(hash * 0x9E3779B97F4A7C15ULL >> 32) & mask;; s = (s + 1) & mask) {
        e = &g->e[s];
        if (e->hash == hash)
            goto fill; /* replaced in place */
        if (e->hash == TOMBSTONE && !tomb)
            tomb = e;
        if (e->hash == EMPTY)
            break;
    }
    if (tomb)
        e = tomb;
    else
        g->used++;
    g->live++;
fill:
    e->hash = hash;
    e->expires = expires;
    e->len = (uint8_t)len;
    memcpy(e->state, state, (size_t)len);
}

void chiso_statecache_prefetch(const chiso_statecache *c, uint64_t hash)
{
    size_t s = (size_t)(real_hash(hash) * 0x9E3779B97F4A7C15ULL >> 32) & (c->slots - 1);
    __builtin_prefetch(&c->gen[c->young].e[s]);
    if (c->gen[!c->young].live)
        __builtin_prefetch(&c->gen[!c->young].e[s]);
}

int chiso_statecache_get(chiso_statecache *c, uint64_t hash, unsigned char *out, int64_t now)
{
    hash = real_hash(hash);
    for (int i = 0; i < 2; i++) {
        generation *g = &c->gen[i == 0 ? c->young : !c->young];
        sc_entry *e = find(c, g, hash);
        if (!e)
            continue;
        if (e->expires && (int64_t)e->expires <= now) {
            forget(g, e);
            return -1;
        }
        int len = e->len;
        memcpy(out, e->state, (size_t)len);
        if (i == 1) { /* used again: into the young generation */
            uint32_t expires = e->expires;
            forget(g, e);
            insert(c, hash, out, len, expires);
        }
        return len;
    }
    return -1;
}

void chiso_statecache_put(chiso_statecache *c, uint64_t hash, const unsigned char *state, int len,
                          int64_t expires_at)
{
    hash = real_hash(hash);
    for (int i = 0; i < 2; i++) {
        generation *g = &c->gen[i];
        sc_entry *e = find(c, g, hash);
        if (e && (i != c->young || len < 0 || len > CHISO_STATECACHE_STATE_MAX))
            forget(g, e);
    }
    if (len < 0 || len > CHISO_STATECACHE_STATE_MAX)
        return;
    uint32_t expires = expires_at <= 0           ? 0
                       : expires_at > UINT32_MAX ? UINT32_MAX
                                                 : (uint32_t)expires_at;
    insert(c, hash, state, len, expires);
}

void chiso_statecache_clear(chiso_statecache *c)
{
    for (int g = 0; g < 2; g++) {
        memset(c->gen[g].e, 0, c->slots * sizeof(sc_entry));
        c->gen[g].used = c->gen[g].live = 0;
    }
}

size_t chiso_statecache_count(const chiso_statecache *c)
{
    return c->gen[0].live + c->gen[1].live;
}
