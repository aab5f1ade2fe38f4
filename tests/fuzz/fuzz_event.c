/*
 * fuzz_event.c - libFuzzer target for chiso_event_parse, the gate of every
 * record on `dossier.events`.
 *
 * Properties checked on every input (abort() on violation):
 *   - a rejection carries a contract reason code and a non-empty detail, and
 *     its dead-letter record keeps the payload byte for byte;
 *   - an accepted event serializes (chiso_event_to_json), the JSON parses
 *     again to an equal event, and serializing that gives the same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chiso/deadletter.h"
#include "chiso/event.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int event_equal(const chiso_event *a, const chiso_event *b)
{
    return a->type == b->type && strcmp(a->event_id, b->event_id) == 0 &&
           strcmp(a->dossier_id, b->dossier_id) == 0 && strcmp(a->unit, b->unit) == 0 &&
           strcmp(a->procedure, b->procedure) == 0 && a->at == b->at && a->channel == b->channel &&
           a->due_at == b->due_at && a->digitized == b->digitized &&
           a->reused_data == b->reused_data && a->from_data_store == b->from_data_store &&
           a->population_data == b->population_data && a->amount == b->amount &&
           a->method == b->method && a->kind == b->kind && a->outcome == b->outcome &&
           a->e_result == b->e_result && a->e_signed == b->e_signed && a->delivery == b->delivery &&
           a->paper_copy == b->paper_copy && a->satisfied == b->satisfied;
}

/* The dead-letter record embeds the payload as base64; check it decodes back. */
static void check_deadletter(const uint8_t *data, size_t size, const chiso_reject *rej)
{
    char *json = chiso_deadletter_json("dossier.events", 0, 1, rej, data, size, 0);
    char *b64 = malloc(chiso_b64_encoded_len(size) + 1);
    unsigned char *back = malloc(size + 1);
    size_t n;

    if (!json || !b64 || !back)
        abort();
    n = chiso_b64_encode(data, size, b64);
    if (!strstr(json, b64) || chiso_b64_decode(b64, n, back) != (long)size ||
        (size && memcmp(back, data, size) != 0))
        abort();
    free(json);
    free(b64);
    free(back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    chiso_event ev, again;
    chiso_reject rej;
    char out1[4096], out2[4096];
    int n1, n2;

    if (chiso_event_parse((const char *)data, size, &ev, &rej) != 0) {
        if (rej.reason <= CHISO_REJECT_NONE || rej.reason >= CHISO_REJECT_EXPIRED ||
            rej.detail[0] == '\0' || strlen(rej.detail) >= sizeof(rej.detail))
            abort();
        if (size <= 4096)
            check_deadletter(data, size, &rej);
        return 0;
    }
    n1 = chiso_event_to_json(&ev, out1, sizeof(out1));
    if (n1 <= 0)
        abort();
    if (chiso_event_parse(out1, (size_t)n1, &again, &rej) != 0)
        abort();
    if (!event_equal(&ev, &again))
        abort();
    n2 = chiso_event_to_json(&again, out2, sizeof(out2));
    if (n2 != n1 || memcmp(out1, out2, (size_t)n1) != 0)
        abort();
    return 0;
}
