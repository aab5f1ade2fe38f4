/*
 * jscan_diff.h - the scanner's two readings of one input (jscan.h): the
 * writers' layout read without name lookups, and the general scan (shared
 * by fuzz_event_diff and test_jscan).
 */
#ifndef CHISO_JSCAN_DIFF_H
#define CHISO_JSCAN_DIFF_H

#include <stdio.h>
#include <string.h>

#include "jscan.h"

#define JSCAN_DIFF_NAMES_MAX 64

/* 1 when chiso_jscan_object_ordered (with `ordered` as its index) and
 * chiso_jscan_object (with `general`) give `data` the same result, raw
 * control flag and values of the n members of `layout`; else 0, with the
 * difference described in why. */
static inline int jscan_diff_same(chiso_jscan_index ordered, chiso_jscan_index general,
                                  const chiso_jscan_name *layout, int n, const char *data,
                                  size_t size, char *why, size_t why_size)
{
    chiso_jval va[JSCAN_DIFF_NAMES_MAX], vb[JSCAN_DIFF_NAMES_MAX];
    chiso_jscan a = {.vals = va}, b = {.vals = vb};
    if (n > JSCAN_DIFF_NAMES_MAX) {
        snprintf(why, why_size, "%d names, over %d", n, JSCAN_DIFF_NAMES_MAX);
        return 0;
    }
    chiso_jscan_result ra = chiso_jscan_object_ordered(&a, ordered, layout, n, data, size);
    chiso_jscan_result rb = chiso_jscan_object(&b, general, n, data, size);
    int same = 1;
    if (ra != rb || a.raw_control != b.raw_control) {
        snprintf(why, why_size, "result %d, raw control %d; the general scan's %d, %d", (int)ra,
                 (int)a.raw_control, (int)rb, (int)b.raw_control);
        same = 0;
    }
    for (int i = 0; same && ra == CHISO_JSCAN_OK && i < n; i++) {
        same = va[i].type == vb[i].type;
        if (same && va[i].type == CHISO_J_STRING)
            same = va[i].len == vb[i].len && memcmp(va[i].str, vb[i].str, va[i].len + 1) == 0;
        if (same && va[i].type == CHISO_J_NUMBER)
            same = memcmp(&va[i].num, &vb[i].num, sizeof(double)) == 0;
        if (!same)
            snprintf(why, why_size, "member %.*s differs: type %d, the general scan's %d",
                     (int)layout[i].len - 3, layout[i].lit + 1, (int)va[i].type, (int)vb[i].type);
    }
    chiso_jscan_done(&a);
    chiso_jscan_done(&b);
    return same;
}

#endif
