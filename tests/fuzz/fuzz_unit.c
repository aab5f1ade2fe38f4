/*
 * fuzz_unit.c - libFuzzer target for chiso_unit_parse (`catalog.units`).
 *
 * Properties: a rejection has a reason and a detail; an accepted record
 * serializes, parses back to an equal record, and its name is valid for
 * a second round (the name survives byte for byte).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chiso/catalog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    chiso_unit u, again;
    chiso_reject rej;
    char out[4096];
    int rc, n;

    rc = chiso_unit_parse((const char *)data, size, &u, &rej);
    if (rc == 1)
        return 0; /* tombstone */
    if (rc != 0) {
        if (rej.reason <= CHISO_REJECT_NONE || rej.reason >= CHISO_REJECT_EXPIRED ||
            rej.detail[0] == '\0')
            abort();
        return 0;
    }
    if (u.kind == CHISO_UNIT_UNKNOWN || !(u.target_full_process >= 0.0) ||
        !(u.target_full_process <= 1.0) || u.unit[0] == '\0' || u.name[0] == '\0')
        abort();
    n = chiso_unit_to_json(&u, out, sizeof(out));
    if (n <= 0)
        abort();
    if (chiso_unit_parse(out, (size_t)n, &again, &rej) != 0)
        abort();
    if (strcmp(u.unit, again.unit) != 0 || strcmp(u.name, again.name) != 0 ||
        u.kind != again.kind || strcmp(u.parent, again.parent) != 0 ||
        u.e_copy_certification != again.e_copy_certification ||
        u.target_full_process != again.target_full_process)
        abort();
    return 0;
}
