/*
 * event_diff.h - chiso_event_parse() against the cJSON oracle on one input
 * (shared by fuzz_event_diff and test_event_diff).
 */
#ifndef CHISO_EVENT_DIFF_H
#define CHISO_EVENT_DIFF_H

#include <stdio.h>
#include <string.h>

#include "chiso/event.h"
#include "event_cjson.h"

/* 1 when both parsers give `data` the same verdict: the same result, and the
 * same reason and detail or the same event; else 0, with the difference
 * described in why. */
static inline int event_diff_same(const char *data, size_t size, char *why, size_t why_size)
{
    chiso_event a, b;
    chiso_reject ra, rb;
    int rca = chiso_event_parse(data, size, &a, &ra);
    int rcb = chiso_event_parse_cjson(data, size, &b, &rb);
    if (rca != rcb) {
        snprintf(why, why_size, "result %d, cJSON's %d (%s / %s)", rca, rcb,
                 rca ? ra.detail : "accepted", rcb ? rb.detail : "accepted");
        return 0;
    }
    if (rca != 0 && (ra.reason != rb.reason || strcmp(ra.detail, rb.detail) != 0)) {
        snprintf(why, why_size, "rejected for '%s', cJSON for '%s'", ra.detail, rb.detail);
        return 0;
    }
    if (rca == 0 && memcmp(&a, &b, sizeof(a)) != 0) {
        snprintf(why, why_size, "accepted as a different event (%s/%s/%s, cJSON %s/%s/%s)",
                 a.event_id, a.unit, a.dossier_id, b.event_id, b.unit, b.dossier_id);
        return 0;
    }
    return 1;
}

#endif
