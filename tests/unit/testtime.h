/*
 * testtime.h - instants and local days written as text in test tables:
 * T("2025-07-01T08:00:00+07:00") and D("2025-07-01"). A malformed literal
 * is a bug in the test: it aborts.
 */
#ifndef CHISO_TEST_TESTTIME_H
#define CHISO_TEST_TESTTIME_H

#include <stdio.h>
#include <stdlib.h>

#include "chiso/vntime.h"

static inline int64_t T(const char *s)
{
    int64_t t = 0;
    if (chiso_time_parse(s, &t) != 0) {
        fprintf(stderr, "bad time in test: %s\n", s);
        abort();
    }
    return t;
}

static inline int32_t D(const char *ymd)
{
    chiso_period p;
    if (chiso_period_parse(ymd, &p) != 0 || p.kind != CHISO_PERIOD_DAY) {
        fprintf(stderr, "bad day in test: %s\n", ymd);
        abort();
    }
    return p.first_day;
}

#endif
