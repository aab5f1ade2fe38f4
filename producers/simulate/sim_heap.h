/*
 * sim_heap.h - a binary min-heap of fixed-size elements ordered by a
 * caller's `less`, as qsort() takes a comparator. The simulator keeps its
 * pending events and its delayed records (reorder, duplicates) in two.
 */
#ifndef CHISO_SIM_HEAP_H
#define CHISO_SIM_HEAP_H

#include <stdbool.h>
#include <stddef.h>

typedef struct sim_heap {
    unsigned char *a;
    size_t n, cap, size;
    bool (*less)(const void *x, const void *y);
} sim_heap;

/* An empty heap of elements of `size` bytes; free with sim_heap_free(). */
void sim_heap_init(sim_heap *h, size_t size, bool (*less)(const void *, const void *));
void sim_heap_free(sim_heap *h);
/* Copy *elem in. Returns 0 or CHISO_ENOMEM. */
int sim_heap_push(sim_heap *h, const void *elem);
/* Copy the least element out and remove it. The heap must not be empty. */
void sim_heap_pop(sim_heap *h, void *out);
/* The least element, or NULL when empty. */
const void *sim_heap_top(const sim_heap *h);

#endif
