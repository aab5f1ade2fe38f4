/*
 * fuzz_bridge.c - libFuzzer target for the bridge's envelopes and snapshot
 * parser, and the events a change of snapshot adds (producers/bridge:
 * envelope.h, map.h): the input is a request body, either envelope; its
 * items are taken as successive snapshots of their dossiers.
 *
 * Properties: a refused request says why; a refused item says why, in
 * printable ASCII, with a reason; an
 * accepted item's events pass the contract's own parser; the same snapshot
 * again adds nothing; what is kept never loses a fact (a time once known
 * stays, a flag once set stays); the state kept in Redis comes back as it
 * was, and decoding any bytes is safe. Items that are also progress
 * steps are applied as such: their events pass the parser, the same step
 * again corrects nothing, the step's time is kept.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "chiso/event.h"
#include "envelope.h"
#include "map.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const bridge_defaults defaults = {
    .unit = "000.00.00.H56", .channel = CHISO_CHANNEL_DIRECT, .due_days = 10, .population_db = "1"};

static void check_events(const chiso_event *ev, int n)
{
    for (int i = 0; i < n; i++) {
        char json[2048];
        chiso_event back;
        chiso_reject rej;
        int len = chiso_event_to_json(&ev[i], json, sizeof(json));
        if (len <= 0 || chiso_event_parse(json, (size_t)len, &back, &rej) != 0)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bridge_request req;
    char err[256] = "";
    unsigned guesses[BRIDGE_GUESS_COUNT] = {0};
    bridge_snapshot prev, cur, merged, again;
    chiso_event ev[BRIDGE_EVENTS_MAX];
    bool have = false;
    const cJSON *item, *items;

    bridge_snapshot junk;
    (void)bridge_snapshot_decode((const char *)data, size, &junk); /* any bytes: no crash */
    if (bridge_request_parse((const char *)data, size, "DongBoHoSoMC", NULL, "False", 1000, &req,
                             err, sizeof(err)) != 0) {
        if (!err[0] || req.root)
            abort();
        return 0;
    }
    items = req.items;

    cJSON_ArrayForEach(item, items)
    {
        chiso_reject rej;
        bridge_step st;
        /* an item may also be a progress step (ThoiDiemXuLy, TrangThai) */
        if (bridge_step_parse(item, req.unit[0] ? req.unit : NULL, &defaults, &st, guesses, &rej) ==
            0) {
            bool same = have && strcmp(prev.dossier_id, st.dossier_id) == 0;
            bridge_snapshot stepped, twice;
            int n = bridge_step_apply(same ? &prev : NULL, &st, &defaults, &stepped, ev, guesses);
            if (n < 0 || n > 2 || stepped.step_at[st.status] > st.at || !stepped.step_at[st.status])
                abort();
            check_events(ev, n);
            if (bridge_step_apply(&stepped, &st, &defaults, &twice, ev, guesses) != 0)
                abort(); /* the same step again corrects nothing */
            if (same)
                prev = stepped;
        } else if (rej.reason == CHISO_REJECT_NONE || !rej.detail[0]) {
            abort();
        }
        if (bridge_snapshot_parse(item, req.unit[0] ? req.unit : NULL, &defaults, &cur, guesses,
                                  &rej) != 0) {
            if (rej.reason == CHISO_REJECT_NONE || !rej.detail[0])
                abort();
            for (const char *p = rej.detail; *p; p++) {
                if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
                    abort();
            }
            continue;
        }
        bool same = have && strcmp(prev.dossier_id, cur.dossier_id) == 0;
        int n = bridge_diff(same ? &prev : NULL, &cur, 1767225600, &defaults, &merged, ev, guesses);
        if (n < 0 || n > BRIDGE_EVENTS_MAX)
            abort();
        check_events(ev, n);
        if (same && ((prev.received_at && merged.received_at != prev.received_at) ||
                     (prev.finished_at && merged.finished_at != prev.finished_at) ||
                     (prev.digitized && !merged.digitized) || (prev.e_result && !merged.e_result) ||
                     (merged.statuses & prev.statuses) != prev.statuses))
            abort();
        if (bridge_diff(&merged, &cur, 1767225700, &defaults, &again, ev, guesses) != 0)
            abort(); /* the same snapshot again adds nothing */
        char kept[BRIDGE_STATE_MAX], again_kept[BRIDGE_STATE_MAX];
        bridge_snapshot back;
        int klen = bridge_snapshot_encode(&merged, kept, sizeof(kept));
        if (klen <= 0 || bridge_snapshot_decode(kept, (size_t)klen, &back) != 0 ||
            bridge_snapshot_encode(&back, again_kept, sizeof(again_kept)) != klen ||
            strcmp(kept, again_kept) != 0)
            abort(); /* the state kept in Redis comes back as it was */
        prev = merged;
        have = true;
    }
    bridge_request_free(&req);
    return 0;
}
