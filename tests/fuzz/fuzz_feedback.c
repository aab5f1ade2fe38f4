/*
 * fuzz_feedback.c - libFuzzer target for chiso_feedback_event_parse, the
 * gate of every record on `feedback.events`, and for the feedback state.
 *
 * Properties checked on every input (abort() on violation):
 *   - a rejection carries a contract reason code and a non-empty detail;
 *   - an accepted event serializes, parses back to an equal event and
 *     serializes to the same bytes;
 *   - applying it to a state is idempotent and commutes with a fixed
 *     other event of each type; the state encodes within
 *     CHISO_FEEDBACK_MAX_ENCODED, decodes to an equal state, and the diff
 *     of contributions from the empty state has one +1 per counter at most;
 *   - the raw input as a stored state either decodes to a state that
 *     encodes back to exactly those bytes, or is refused.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chiso/feedback.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static chiso_feedback *s1, *s2, *empty;

/* A fixed valid event of each type, applied around the fuzzed one. */
static chiso_feedback_event other(chiso_feedback_type type)
{
    chiso_feedback_event e;
    memset(&e, 0, sizeof(e));
    e.type = type;
    strcpy(e.event_id, "o");
    strcpy(e.feedback_id, "F");
    strcpy(e.unit, "U");
    e.at = 1751331600;     /* 2025-07-01T08:00:00+07:00 */
    e.due_at = 1752566400; /* 2025-07-15T15:00:00+07:00 */
    e.satisfied = true;
    return e;
}

static void check_state(const chiso_feedback_event *ev)
{
    unsigned char a[CHISO_FEEDBACK_MAX_ENCODED], b[CHISO_FEEDBACK_MAX_ENCODED];
    chiso_fb_delta deltas[CHISO_FB_DELTA_MAX];

    for (int t = CHISO_FB_RECEIVED; t < CHISO_FB_TYPE_COUNT; t++) {
        chiso_feedback_event o = other((chiso_feedback_type)t);
        chiso_feedback_reset(s1);
        chiso_feedback_reset(s2);
        chiso_feedback_apply(s1, ev);
        chiso_feedback_apply(s1, &o);
        chiso_feedback_apply(s2, &o);
        chiso_feedback_apply(s2, ev);
        if (chiso_feedback_apply(s2, ev) != 0 || !chiso_feedback_equal(s1, s2))
            abort();
        int n = chiso_feedback_encode(s1, a, sizeof(a));
        if (n <= 0 || chiso_feedback_decode(s2, a, (size_t)n) != 0 ||
            chiso_feedback_encode(s2, b, sizeof(b)) != n || memcmp(a, b, (size_t)n) != 0)
            abort();
        int nd = chiso_feedback_diff(empty, s1, deltas);
        if (nd < 0 || nd > CHISO_FBC_COUNT)
            abort();
        for (int i = 0; i < nd; i++) {
            if (deltas[i].delta != 1 || (i > 0 && deltas[i].counter <= deltas[i - 1].counter))
                abort();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    chiso_feedback_event ev, again;
    chiso_reject rej;
    unsigned char enc[CHISO_FEEDBACK_MAX_ENCODED];
    char out1[1024], out2[1024];
    int n1, n2;

    if (!s1) {
        s1 = chiso_feedback_new();
        s2 = chiso_feedback_new();
        empty = chiso_feedback_new();
        if (!s1 || !s2 || !empty)
            abort();
    }
    /* the input as a stored state */
    if (chiso_feedback_decode(s1, data, size) == 0) {
        n1 = chiso_feedback_encode(s1, enc, sizeof(enc));
        if (n1 < 0 || (size_t)n1 != size || memcmp(enc, data, size) != 0)
            abort();
    } else if (!chiso_feedback_empty(s1)) {
        abort();
    }

    if (chiso_feedback_event_parse((const char *)data, size, &ev, &rej) != 0) {
        if (rej.reason <= CHISO_REJECT_NONE || rej.reason >= CHISO_REJECT_EXPIRED ||
            rej.detail[0] == '\0' || strlen(rej.detail) >= sizeof(rej.detail))
            abort();
        return 0;
    }
    n1 = chiso_feedback_event_to_json(&ev, out1, sizeof(out1));
    if (n1 <= 0 || chiso_feedback_event_parse(out1, (size_t)n1, &again, &rej) != 0 ||
        memcmp(&ev, &again, sizeof(ev)) != 0)
        abort();
    n2 = chiso_feedback_event_to_json(&again, out2, sizeof(out2));
    if (n2 != n1 || memcmp(out1, out2, (size_t)n1) != 0)
        abort();
    check_state(&ev);
    return 0;
}
