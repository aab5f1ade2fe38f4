/*
 * fuzz_event_diff.c - libFuzzer target: chiso_event_parse() (jscan, no
 * tree) and the cJSON parser it replaced (event_cjson.c) must give every
 * input the same verdict: accepted as the same event, or rejected for the
 * same reason with the same sentence. abort() on any difference.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "event_diff.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char why[512];
    if (!event_diff_same((const char *)data, size, why, sizeof(why))) {
        fprintf(stderr, "fuzz_event_diff: %s\n", why);
        abort();
    }
    return 0;
}
