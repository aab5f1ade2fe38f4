/*
 * fuzz_procedure.c - libFuzzer target for chiso_procedure_parse
 * (`catalog.procedures`).
 *
 * Properties: a rejection has a reason and a detail and owns no memory; an
 * accepted record has a known level, at most CHISO_PROCEDURE_UNITS_MAX
 * units, serializes, and parses back to an equal record (name and unit
 * codes byte for byte). Leaks are caught by the fuzzer's LeakSanitizer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chiso/catalog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int equal(const chiso_procedure *a, const chiso_procedure *b)
{
    if (strcmp(a->procedure, b->procedure) != 0 || strcmp(a->name, b->name) != 0 ||
        a->level != b->level || a->eligible_full != b->eligible_full || a->fee != b->fee ||
        a->payment_integrated != b->payment_integrated ||
        a->paper_result_required != b->paper_result_required ||
        a->citizen_subject != b->citizen_subject ||
        a->population_data_connected != b->population_data_connected ||
        a->announced_on_time != b->announced_on_time ||
        a->published_on_time != b->published_on_time ||
        a->published_complete != b->published_complete || a->nunits != b->nunits)
        return 0;
    for (int i = 0; i < a->nunits; i++)
        if (strcmp(a->units[i], b->units[i]) != 0)
            return 0;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char out[CHISO_PROCEDURE_UNITS_MAX * (CHISO_CODE_MAX + 8) + 4096];
    chiso_procedure p, again;
    chiso_reject rej;
    int rc, n;

    rc = chiso_procedure_parse((const char *)data, size, &p, &rej);
    if (rc == 1) {
        if (p.units || p.nunits)
            abort();
        return 0; /* tombstone */
    }
    if (rc != 0) {
        if (rej.reason <= CHISO_REJECT_NONE || rej.reason >= CHISO_REJECT_EXPIRED ||
            rej.detail[0] == '\0' || p.units || p.nunits)
            abort();
        return 0;
    }
    if (p.level == CHISO_LEVEL_UNKNOWN || p.procedure[0] == '\0' || p.name[0] == '\0' ||
        p.nunits < 0 || p.nunits > CHISO_PROCEDURE_UNITS_MAX || (p.nunits > 0 && !p.units))
        abort();
    n = chiso_procedure_to_json(&p, out, sizeof(out));
    if (n <= 0)
        abort();
    if (chiso_procedure_parse(out, (size_t)n, &again, &rej) != 0)
        abort();
    if (!equal(&p, &again))
        abort();
    chiso_procedure_clear(&again);
    chiso_procedure_clear(&p);
    return 0;
}
