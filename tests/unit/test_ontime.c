/*
 * test_ontime.c - the first overdue day B (docs/ontime.md), one table row
 * per branch of the rule, with Vietnam local-day boundaries, and the
 * "resolved on time" judgement.
 */
#include "chiso/ontime.h"

#include <stdlib.h>

#include "chiso/vntime.h"

#include "check.h"
#include "testtime.h"

#define NEVER CHISO_ONTIME_NEVER
#define NMAX  4

/* Times of a NULL-terminated list into out; returns how many. */
static int times(const char *const *list, int64_t *out)
{
    int n = 0;
    for (; n < NMAX && list[n]; n++)
        out[n] = T(list[n]);
    return n;
}

static void test_overdue_day(void)
{
    static const struct {
        const char *name;
        const char *received, *due;     /* local days */
        const char *requests[NMAX + 1]; /* ascending, NULL-terminated */
        const char *receipts[NMAX + 1]; /* ascending, NULL-terminated */
        const char *b;                  /* expected B, NULL = never */
    } cases[] = {
        /* no request: late from the day after the due day */
        {"no request", "2025-07-01", "2025-07-10", {NULL}, {NULL}, "2025-07-11"},
        {"no request, received after due",
         "2025-07-12",
         "2025-07-10",
         {NULL},
         {NULL},
         "2025-07-12"},
        {"no request, received on the due day",
         "2025-07-10",
         "2025-07-10",
         {NULL},
         {NULL},
         "2025-07-11"},
        {"a receipt without a request changes nothing",
         "2025-07-01",
         "2025-07-10",
         {NULL},
         {"2025-07-05T10:00:00+07:00", NULL},
         "2025-07-11"},

        /* one request in time, answered: the 4 days waiting are excluded */
        {"in time, receipt: pause excluded",
         "2025-07-01",
         "2025-07-10",
         {"2025-07-08T09:00:00+07:00", NULL},
         {"2025-07-12T10:00:00+07:00", NULL},
         "2025-07-15"},
        {"in time, receipt the same day: no pause",
         "2025-07-01",
         "2025-07-10",
         {"2025-07-08T09:00:00+07:00", NULL},
         {"2025-07-08T15:00:00+07:00", NULL},
         "2025-07-11"},
        {"in time, receipt at the request's instant",
         "2025-07-01",
         "2025-07-10",
         {"2025-07-08T09:00:00+07:00", NULL},
         {"2025-07-08T09:00:00+07:00", NULL},
         "2025-07-11"},
        {"request on the due day is in time",
         "2025-07-01",
         "2025-07-10",
         {"2025-07-10T23:00:00+07:00", NULL},
         {"2025-07-11T08:00:00+07:00", NULL},
         "2025-07-12"},
        {"in time, the first receipt after the request counts",
         "2025-07-01",
         "2025-07-10",
         {"2025-07-08T09:00:00+07:00", NULL},
         {"2025-07-09T10:00:00+07:00", "2025-07-20T10:00:00+07:00", NULL},
         "2025-07-12"},
        {"in time, receipt before the request ignored",
         "2025-07-01",
         "2025-07-10",
         {"2025-07-08T09:00:00+07:00", NULL},
         {"2025-07-05T10:00:00+07:00", "2025-07-12T10:00:00+07:00", NULL},
         "2025-07-15"},
        {"in time, receipt a second before the request ignored",
         "2025-07-01",
         "2025-07-10",
         {"2025-07-08T09:00:00+07:00", NULL},
         {"2025-07-08T08:59:59+07:00", NULL},
         NULL},
        {"in time, receipt, received late: max with the received day",
         "2025-07-20",
         "2025-07-10",
         {"2025-07-08T09:00:00+07:00", NULL},
         {"2025-07-12T10:00:00+07:00", NULL},
         "2025-07-20"},

        /* one request in time, still waiting: never overdue */
        {"in time, waiting",
         "2025-07-01",
         "2025-07-10",
         {"2025-07-08T09:00:00+07:00", NULL},
         {NULL},
         NULL},
        {"in time, only receipts before the request: waiting",
         "2025-07-01",
         "2025-07-10",
         {"2025-07-08T09:00:00+07:00", NULL},
         {"2025-07-03T10:00:00+07:00", NULL},
         NULL},
        {"in time, received after due, waiting",
         "2025-07-12",
         "2025-07-10",
         {"2025-07-09T09:00:00+07:00", NULL},
         {NULL},
         NULL},

        /* one request after the due day: late, receipt irrelevant */
        {"late request, receipt",
         "2025-07-01",
         "2025-07-10",
         {"2025-07-11T09:00:00+07:00", NULL},
         {"2025-07-12T10:00:00+07:00", NULL},
         "2025-07-11"},
        {"late request, waiting",
         "2025-07-01",
         "2025-07-10",
         {"2025-07-15T09:00:00+07:00", NULL},
         {NULL},
         "2025-07-11"},
        {"late request, received after due",
         "2025-07-13",
         "2025-07-10",
         {"2025-07-14T09:00:00+07:00", NULL},
         {NULL},
         "2025-07-13"},

        /* two or more requests: late from the second request's day */
        {"two requests",
         "2025-07-01",
         "2025-07-10",
         {"2025-07-03T09:00:00+07:00", "2025-07-05T09:00:00+07:00", NULL},
         {"2025-07-04T09:00:00+07:00", NULL},
         "2025-07-05"},
        {"two requests, waiting on both",
         "2025-07-01",
         "2025-07-10",
         {"2025-07-03T09:00:00+07:00", "2025-07-05T09:00:00+07:00", NULL},
         {NULL},
         "2025-07-05"},
        {"two requests the same day",
         "2025-07-01",
         "2025-07-10",
         {"2025-07-03T09:00:00+07:00", "2025-07-03T10:00:00+07:00", NULL},
         {NULL},
         "2025-07-03"},
        {"two requests before the received day: max with it",
         "2025-07-06",
         "2025-07-10",
         {"2025-07-02T09:00:00+07:00", "2025-07-04T09:00:00+07:00", NULL},
         {NULL},
         "2025-07-06"},
        {"three requests: the second decides",
         "2025-07-01",
         "2025-07-10",
         {"2025-07-03T09:00:00+07:00", "2025-07-05T09:00:00+07:00", "2025-07-07T09:00:00+07:00",
          NULL},
         {NULL},
         "2025-07-05"},
        /* ... or earlier, when the first request alone made it late: the
         * first was after the due day (late from the 11th) */
        {"two requests, the first late",
         "2025-07-01",
         "2025-07-10",
         {"2025-07-12T09:00:00+07:00", "2025-07-15T09:00:00+07:00", NULL},
         {NULL},
         "2025-07-11"},
        /* the first answered, the pause used up before the second request:
         * due 10th + 1 day of pause = late from the 12th, second on the 20th */
        {"two requests, late after the first's pause",
         "2025-07-01",
         "2025-07-10",
         {"2025-07-03T09:00:00+07:00", "2025-07-20T09:00:00+07:00", NULL},
         {"2025-07-04T09:00:00+07:00", NULL},
         "2025-07-12"},

        /* Vietnam local days decide, not UTC days */
        {"request at 17:30Z on 8 July is 9 July local",
         "2025-07-01",
         "2025-07-10",
         {"2025-07-08T17:30:00Z", NULL},
         {"2025-07-12T10:00:00+07:00", NULL},
         "2025-07-14"},
        {"request at 16:59:59Z on the due day is still the due day",
         "2025-07-01",
         "2025-07-10",
         {"2025-07-10T16:59:59Z", NULL},
         {NULL},
         NULL},
        {"request at 17:00Z on the due day is the next local day: late",
         "2025-07-01",
         "2025-07-10",
         {"2025-07-10T17:00:00Z", NULL},
         {NULL},
         "2025-07-11"},
        {"receipt at 17:00Z is the next local day",
         "2025-07-01",
         "2025-07-10",
         {"2025-07-08T09:00:00+07:00", NULL},
         {"2025-07-11T17:00:00Z", NULL},
         "2025-07-15"},
        {"second request at 17:30Z counts on the next local day",
         "2025-07-01",
         "2025-07-10",
         {"2025-07-03T09:00:00+07:00", "2025-07-05T17:30:00Z", NULL},
         {NULL},
         "2025-07-06"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int64_t rq[NMAX], rc[NMAX];
        int nrq = times(cases[i].requests, rq), nrc = times(cases[i].receipts, rc);
        int32_t want = cases[i].b ? D(cases[i].b) : NEVER;
        int32_t got =
            chiso_ontime_overdue_day(D(cases[i].received), D(cases[i].due), rq, nrq, rc, nrc);
        CHECK_EQ_INT(got, want, "%s", cases[i].name);
    }
}

/* Far out of range inputs never produce "never" by overflow. */
static void test_extremes(void)
{
    int64_t rq = chiso_day_start(10) + 3600, rc = chiso_day_start(INT32_MAX - 5);

    CHECK_EQ_INT(chiso_ontime_overdue_day(0, INT32_MAX - 1, NULL, 0, NULL, 0), INT32_MAX - 1,
                 "due + 1 overflowing stays finite");
    CHECK_EQ_INT(chiso_ontime_overdue_day(0, INT32_MAX, NULL, 0, NULL, 0), INT32_MAX - 1,
                 "due at the last day stays finite");
    CHECK_EQ_INT(chiso_ontime_overdue_day(0, INT32_MAX - 10, &rq, 1, &rc, 1), INT32_MAX - 1,
                 "a long pause stays finite");
    CHECK_EQ_INT(chiso_ontime_overdue_day(INT32_MIN, INT32_MIN, NULL, 0, NULL, 0), INT32_MIN + 1,
                 "the first day");
}

static void test_resolved_on_time(void)
{
    static const struct {
        const char *name;
        int32_t resolved, b;
        bool on_time;
    } cases[] = {
        {"the day before B", 14, 15, true},
        {"on B", 15, 15, false},
        {"after B", 20, 15, false},
        {"while never overdue", 1000000, NEVER, true},
        {"on the last finite B", NEVER - 1, NEVER - 1, false},
        {"before the received day", -5, 0, true},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        CHECK(chiso_ontime_resolved_on_time(cases[i].resolved, cases[i].b) == cases[i].on_time,
              "%s", cases[i].name);

    /* the due day itself, late in the evening, is on time; the next is late */
    int32_t b = chiso_ontime_overdue_day(D("2025-07-01"), D("2025-07-04"), NULL, 0, NULL, 0);
    CHECK(chiso_ontime_resolved_on_time(chiso_local_day(T("2025-07-04T16:59:59Z")), b),
          "23:59:59 local on the due day is on time");
    CHECK(!chiso_ontime_resolved_on_time(chiso_local_day(T("2025-07-04T17:00:00Z")), b),
          "00:00 local the next day is late");
}

int main(void)
{
    test_overdue_day();
    test_extremes();
    test_resolved_on_time();
    return CHECK_DONE();
}
