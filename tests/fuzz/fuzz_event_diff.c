/*
 * fuzz_event_diff.c - libFuzzer target: chiso_event_parse() (jscan, no
 * tree) and the cJSON parser it replaced (event_cjson.c) must give every
 * input the same verdict: accepted as the same event, or rejected for the
 * same reason with the same sentence. And the scanner's two readings
 * (jscan.h: the writers' layout without name lookups, and the general
 * scan) must give it the same result and values. abort() on any
 * difference.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event_diff.h"
#include "jscan_diff.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* the contract's member names, in the order chiso_event_to_json writes them */
#define MEMBERS(X)                                                                                 \
    X("v")                                                                                         \
    X("event_id")                                                                                  \
    X("dossier_id")                                                                                \
    X("unit")                                                                                      \
    X("procedure")                                                                                 \
    X("type")                                                                                      \
    X("at")                                                                                        \
    X("channel")                                                                                   \
    X("due_at")                                                                                    \
    X("digitized")                                                                                 \
    X("reused_data")                                                                               \
    X("from_data_store")                                                                           \
    X("population_data")                                                                           \
    X("reason")                                                                                    \
    X("amount")                                                                                    \
    X("method")                                                                                    \
    X("kind")                                                                                      \
    X("outcome")                                                                                   \
    X("e_result")                                                                                  \
    X("e_signed")                                                                                  \
    X("delivery")                                                                                  \
    X("paper_copy")                                                                                \
    X("satisfied")
#define MEMBER_NAME(name)   name,
#define MEMBER_LAYOUT(name) CHISO_JSCAN_NAME(name),
static const char *const names[] = {MEMBERS(MEMBER_NAME)};
static const chiso_jscan_name layout[] = {MEMBERS(MEMBER_LAYOUT)};
#define NNAMES ((int)(sizeof(names) / sizeof(names[0])))

static int index_of(const char *name, size_t len)
{
    for (int i = 0; i < NNAMES; i++)
        if (strlen(names[i]) == len && memcmp(names[i], name, len) == 0)
            return i;
    return -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char why[512];
    if (!event_diff_same((const char *)data, size, why, sizeof(why))) {
        fprintf(stderr, "fuzz_event_diff: %s\n", why);
        abort();
    }
    if (!jscan_diff_same(index_of, index_of, layout, NNAMES, (const char *)data, size, why,
                         sizeof(why))) {
        fprintf(stderr, "fuzz_event_diff: the scanner's two readings differ: %s\n", why);
        abort();
    }
    return 0;
}
