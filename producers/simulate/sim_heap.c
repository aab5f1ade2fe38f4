/*
 * sim_heap.c - binary min-heap of fixed-size elements (sim_heap.h).
 */
#include "sim_heap.h"

#include <stdlib.h>
#include <string.h>

#include "chiso/common.h"

#define AT(h, i) ((h)->a + (i) * (h)->size)

void sim_heap_init(sim_heap *h, size_t size, bool (*less)(const void *, const void *))
{
    memset(h, 0, sizeof(*h));
    h->size = size;
    h->less = less;
}

void sim_heap_free(sim_heap *h)
{
    free(h->a);
    h->a = NULL;
    h->n = h->cap = 0;
}

int sim_heap_push(sim_heap *h, const void *elem)
{
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 1024;
        unsigned char *a = realloc(h->a, cap * h->size);
        if (!a)
            return CHISO_ENOMEM;
        h->a = a;
        h->cap = cap;
    }
    size_t i = h->n++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!h->less(elem, AT(h, p)))
            break;
        memcpy(AT(h, i), AT(h, p), h->size);
        i = p;
    }
    memcpy(AT(h, i), elem, h->size);
    return 0;
}

void sim_heap_pop(sim_heap *h, void *out)
{
    memcpy(out, AT(h, 0), h->size);
    const unsigned char *last = AT(h, --h->n);
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->n)
            break;
        if (c + 1 < h->n && h->less(AT(h, c + 1), AT(h, c)))
            c++;
        if (!h->less(AT(h, c), last))
            break;
        memcpy(AT(h, i), AT(h, c), h->size);
        i = c;
    }
    if (h->n)
        memcpy(AT(h, i), last, h->size);
}

const void *sim_heap_top(const sim_heap *h)
{
    return h->n ? h->a : NULL;
}
