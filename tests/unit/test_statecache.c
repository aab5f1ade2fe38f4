/* test_statecache.c - the bounded state cache: hits, replacement, expiry,
 * states too long to keep, generations aging out, against a plain model;
 * the memory a cache touches before its first aging. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "statecache.h"

static int state_of(uint64_t key, int version, unsigned char *buf)
{
    int len = (int)(key % 60) + 4;
    for (int i = 0; i < len; i++)
        buf[i] = (unsigned char)(key * 31 + (uint64_t)version * 7 + (uint64_t)i);
    return len;
}

/* This process's resident memory, in bytes (/proc/self/statm). */
static long long resident(void)
{
    long long size = 0, pages = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%lld %lld", &size, &pages) != 2)
            pages = 0;
        fclose(f);
    }
    return pages * sysconf(_SC_PAGESIZE);
}

int main(void)
{
    unsigned char buf[CHISO_STATECACHE_STATE_MAX], want[CHISO_STATECACHE_STATE_MAX + 8];
    chiso_statecache *c = chiso_statecache_new(1 << 20);
    CHECK(c != NULL, "created");

    CHECK_EQ_INT(chiso_statecache_get(c, 42, buf, 0), -1, "empty cache misses");
    chiso_statecache_put(c, 42, (const unsigned char *)"abc", 3, 0);
    CHECK_EQ_INT(chiso_statecache_get(c, 42, buf, 0), 3, "hit");
    CHECK(memcmp(buf, "abc", 3) == 0, "the state kept");
    chiso_statecache_put(c, 42, (const unsigned char *)"defgh", 5, 0);
    CHECK_EQ_INT(chiso_statecache_get(c, 42, buf, 0), 5, "replaced");
    CHECK(memcmp(buf, "defgh", 5) == 0, "the newer state");
    CHECK_EQ_INT((int)chiso_statecache_count(c), 1, "one entry after a replacement");

    /* the reserved hashes 0 and 1 are keys like any other */
    chiso_statecache_put(c, 0, (const unsigned char *)"zero", 4, 0);
    chiso_statecache_put(c, 1, (const unsigned char *)"one", 3, 0);
    CHECK_EQ_INT(chiso_statecache_get(c, 0, buf, 0), 4, "hash 0");
    CHECK_EQ_INT(chiso_statecache_get(c, 1, buf, 0), 3, "hash 1");

    /* expiry, as the Redis key's */
    chiso_statecache_put(c, 7, (const unsigned char *)"x", 1, 1000);
    CHECK_EQ_INT(chiso_statecache_get(c, 7, buf, 999), 1, "before expiry");
    CHECK_EQ_INT(chiso_statecache_get(c, 7, buf, 1000), -1, "at expiry");
    CHECK_EQ_INT(chiso_statecache_get(c, 7, buf, 0), -1, "an expired entry is gone");

    /* an empty state is a state; a too long one is not kept and drops the old */
    chiso_statecache_put(c, 9, buf, 0, 0);
    CHECK_EQ_INT(chiso_statecache_get(c, 9, buf, 0), 0, "empty state kept");
    chiso_statecache_put(c, 42, want, CHISO_STATECACHE_STATE_MAX + 1, 0);
    CHECK_EQ_INT(chiso_statecache_get(c, 42, buf, 0), -1, "too long: forgotten");
    chiso_statecache_put(c, 43, want, CHISO_STATECACHE_STATE_MAX, 0);
    CHECK_EQ_INT(chiso_statecache_get(c, 43, buf, 0), CHISO_STATECACHE_STATE_MAX,
                 "the longest state kept");
    chiso_statecache_clear(c);
    CHECK_EQ_INT((int)chiso_statecache_count(c), 0, "cleared");
    CHECK_EQ_INT(chiso_statecache_get(c, 43, buf, 0), -1, "nothing kept after a clear");
    chiso_statecache_free(c);

    /* generations: many more keys than fit; every hit is exact, the count
     * stays bounded, and a key used all along is never dropped */
    c = chiso_statecache_new(64 * 1024); /* the minimum: 2 x 1024 slots */
    int hits = 0, misses = 0, wrong = 0;
    size_t most = 0;
    for (uint64_t k = 100; k < 20100; k++) {
        int len = state_of(k, 1, want);
        chiso_statecache_put(c, k * 0x9E3779B97F4A7C15ULL, want, len, 0);
        int hl = state_of(5, 2, want);
        if (k == 100)
            chiso_statecache_put(c, 5, want, hl, 0);
        int got = chiso_statecache_get(c, 5, buf, 0);
        wrong += got != hl || memcmp(buf, want, (size_t)hl) != 0;
        if (chiso_statecache_count(c) > most)
            most = chiso_statecache_count(c);
    }
    CHECK_EQ_INT(wrong, 0, "the key in use survives every aging");
    CHECK(most <= 2 * 1024, "bounded: at most %zu entries", most);
    for (uint64_t k = 100; k < 20100; k++) {
        int len = state_of(k, 1, want);
        int got = chiso_statecache_get(c, k * 0x9E3779B97F4A7C15ULL, buf, 0);
        if (got < 0)
            misses++;
        else if (got == len && memcmp(buf, want, (size_t)len) == 0)
            hits++;
        else
            wrong++;
    }
    CHECK_EQ_INT(wrong, 0, "no hit returns another key's state");
    CHECK(hits > 700, "the recent keys are kept (%d hits)", hits);
    CHECK(misses > 18000, "the old keys aged out (%d misses)", misses);
    chiso_statecache_free(c);

    /* Before its first aging, a cache touches its young generation only:
     * lookups of absent keys and writes do not probe the empty old one.
     * (A read of an untouched page of a table on transparent huge pages
     * maps a new page, as a write does: probing the old generation would
     * make it resident too, 25 MiB here.) 64 MiB: two generations of
     * 262,144 slots of 96 bytes; 100,000 keys stay under the 70% that
     * ages the young one, and reach every page of it. */
    long long before = resident();
    c = chiso_statecache_new(64u << 20);
    CHECK(c != NULL, "a 64 MiB cache");
    const long long gen = 262144LL * 96;
    int found = 0;
    for (uint64_t k = 1; k <= 100000; k++) {
        uint64_t h = k * 0x9E3779B97F4A7C15ULL;
        chiso_statecache_prefetch(c, h);
        found += chiso_statecache_get(c, h, buf, 0) != -1;
        int len = state_of(k, 3, want);
        chiso_statecache_put(c, h, want, len, 0);
    }
    CHECK_EQ_INT(found, 0, "no key found before it was put");
    CHECK_EQ_INT((int)chiso_statecache_count(c), 100000, "every key kept, none aged");
    long long grew = resident() - before;
    CHECK(grew < gen * 3 / 2,
          "one generation touched: %lld bytes more resident (a generation is %lld)", grew, gen);
    chiso_statecache_free(c);
    return CHECK_DONE();
}
