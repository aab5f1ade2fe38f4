/*
 * strmap.c - chained hash map with power-of-two buckets, grown at load 1
 * (strmap.h). Hash: chiso_hash64 (FNV-1a).
 */
#include "chiso/strmap.h"

#include <stdlib.h>
#include <string.h>

#include "chiso/common.h"

struct chiso_map {
    chiso_map_entry **buckets;
    size_t nbuckets; /* power of two */
    size_t size;
};

chiso_map *chiso_map_new(void)
{
    chiso_map *m = calloc(1, sizeof(*m));

    if (!m)
        return NULL;
    m->nbuckets = 64;
    m->buckets = calloc(m->nbuckets, sizeof(*m->buckets));
    if (!m->buckets) {
        free(m);
        return NULL;
    }
    return m;
}

void chiso_map_destroy(chiso_map *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->nbuckets; i++) {
        chiso_map_entry *e = m->buckets[i];
        while (e) {
            chiso_map_entry *next = e->next;
            free(e->key);
            free(e);
            e = next;
        }
    }
    free(m->buckets);
    free(m);
}

size_t chiso_map_size(const chiso_map *m)
{
    return m->size;
}

static size_t slot(const chiso_map *m, const char *key)
{
    return (size_t)(chiso_hash64(key, strlen(key)) & (m->nbuckets - 1));
}

chiso_map_entry *chiso_map_get(const chiso_map *m, const char *key)
{
    for (chiso_map_entry *e = m->buckets[slot(m, key)]; e; e = e->next) {
        if (strcmp(e->key, key) == 0)
            return e;
    }
    return NULL;
}

/* Double the bucket array; on no memory keep the old one (longer chains). */
static void grow(chiso_map *m)
{
    size_t n = m->nbuckets * 2;
    chiso_map_entry **b = calloc(n, sizeof(*b));

    if (!b)
        return;
    for (size_t i = 0; i < m->nbuckets; i++) {
        chiso_map_entry *e = m->buckets[i];
        while (e) {
            chiso_map_entry *next = e->next;
            size_t s = (size_t)(chiso_hash64(e->key, strlen(e->key)) & (n - 1));
            e->next = b[s];
            b[s] = e;
            e = next;
        }
    }
    free(m->buckets);
    m->buckets = b;
    m->nbuckets = n;
}

chiso_map_entry *chiso_map_put(chiso_map *m, const char *key, int *created)
{
    chiso_map_entry *e = chiso_map_get(m, key);
    size_t s;

    if (created)
        *created = 0;
    if (e)
        return e;
    if (m->size >= m->nbuckets)
        grow(m);
    e = calloc(1, sizeof(*e));
    if (!e)
        return NULL;
    e->key = strdup(key);
    if (!e->key) {
        free(e);
        return NULL;
    }
    s = slot(m, key);
    e->next = m->buckets[s];
    m->buckets[s] = e;
    m->size++;
    if (created)
        *created = 1;
    return e;
}

void *chiso_map_del(chiso_map *m, const char *key)
{
    chiso_map_entry **pe = &m->buckets[slot(m, key)];

    for (; *pe; pe = &(*pe)->next) {
        chiso_map_entry *e = *pe;
        if (strcmp(e->key, key) == 0) {
            void *ptr = e->ptr;
            *pe = e->next;
            free(e->key);
            free(e);
            m->size--;
            return ptr;
        }
    }
    return NULL;
}

chiso_map_entry *chiso_map_next(const chiso_map *m, size_t *pos, chiso_map_entry *e)
{
    if (e && e->next)
        return e->next;
    if (e)
        (*pos)++;
    for (; *pos < m->nbuckets; (*pos)++) {
        if (m->buckets[*pos])
            return m->buckets[*pos];
    }
    return NULL;
}
