/*
 * test_vntime.c - RFC 3339 parsing, Vietnam local days and period keys.
 * Expected epochs were computed independently (Python datetime).
 */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "chiso/common.h"
#include "chiso/vntime.h"

static void test_parse_valid(void)
{
    static const struct {
        const char *s;
        int64_t epoch;
    } cases[] = {
        {"2025-07-01T08:00:00+07:00", 1751331600},
        {"2025-07-01T01:00:00Z", 1751331600},
        {"2025-07-01t01:00:00z", 1751331600},
        {"2025-06-30T19:30:00-05:30", 1751331600},
        {"2025-07-01T08:00:00.999999+07:00", 1751331600},
        {"2025-07-01T08:00:00.5Z", 1751356800},
        {"2025-06-30T17:30:00Z", 1751304600},
        {"2024-02-29T00:00:00Z", 1709164800},
        {"2000-02-29T00:00:00Z", 951782400},
        {"1970-01-01T00:00:00Z", 0},
        {"1969-12-31T23:59:59Z", -1},
        {"1970-01-01T07:00:00+07:00", 0},
        {"2000-01-01T00:00:00-05:30", 946704600},
        {"1970-01-01T00:00:00+23:59", -86340},
        {"1970-01-01T00:00:00-23:59", 86340},
        {"1970-01-01T00:00:00-00:00", 0},
        {"2025-12-31T23:59:59+07:00", 1767200399},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int64_t e = 42;
        int rc = chiso_time_parse(cases[i].s, &e);
        CHECK_EQ_INT(rc, 0, "parse %s", cases[i].s);
        CHECK_EQ_INT(e, cases[i].epoch, "epoch of %s", cases[i].s);
    }
}

static void test_parse_invalid(void)
{
    static const char *const cases[] = {
        "",
        "2025-07-01",
        "2025-07-01T08:00:00",       /* missing offset */
        "2025-07-01T08:00:00+0700",  /* offset without colon */
        "2025-07-01T08:00:00+07",    /* short offset */
        "2025-07-01T08:00:00+24:00", /* offset hour */
        "2025-07-01T08:00:00+07:60", /* offset minute */
        "2025-13-01T08:00:00Z",      /* bad month */
        "2025-00-01T08:00:00Z",      /* month 0 */
        "2025-07-00T08:00:00Z",      /* day 0 */
        "2025-06-31T08:00:00Z",      /* June has 30 days */
        "2023-02-29T00:00:00Z",      /* not a leap year */
        "1900-02-29T00:00:00Z",      /* century, not a leap year */
        "2025-07-01T24:00:00Z",      /* hour 24 */
        "2025-07-01T23:60:00Z",      /* minute 60 */
        "2025-07-01T23:59:60Z",      /* leap second */
        "2025-07-01 08:00:00Z",      /* space separator */
        "2025-07-01X08:00:00Z",
        "2025/07/01T08:00:00Z",
        "25-07-01T08:00:00Z",
        "+2025-07-01T08:00:00Z",
        "2025-7-01T08:00:00Z",
        "2025-07-01T8:00:00Z",
        "2025-07-01T08:00:00.Z", /* empty fraction */
        "2025-07-01T08:00:00,5Z",
        "2025-07-01T08:00:00Zjunk",
        "2025-07-01T08:00:00+07:00 ",
        " 2025-07-01T08:00:00Z",
        "2025-07-01T08:00:00GMT",
        "2O25-07-01T08:00:00Z",
        "2025-07-01T08:00:00+0a:00",
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int64_t e = 0;
        CHECK_EQ_INT(chiso_time_parse(cases[i], &e), CHISO_EINVAL, "should reject \"%s\"",
                     cases[i]);
    }
    /* Length-bounded parse must not read past len. */
    {
        int64_t e = 0;
        const char *s = "2025-07-01T08:00:00Zjunk";
        CHECK_EQ_INT(chiso_time_parse_n(s, 20, &e), 0, "prefix of length 20");
        CHECK_EQ_INT(e, 1751356800, "prefix epoch");
        CHECK_EQ_INT(chiso_time_parse_n(s, 19, &e), CHISO_EINVAL, "no offset within len");
        CHECK_EQ_INT(chiso_time_parse(NULL, &e), CHISO_EINVAL, "NULL");
    }
}

static void test_compact(void)
{
    int64_t e = 0;
    CHECK_EQ_INT(chiso_time_parse_compact("20250701080000", &e), 0, "compact");
    CHECK_EQ_INT(e, 1751331600, "compact is local time");
    CHECK_EQ_INT(chiso_time_parse_compact("20240229235959", &e), 0, "compact leap day");
    CHECK_EQ_INT(chiso_time_parse_compact("20230229000000", &e), CHISO_EINVAL, "no Feb 29 2023");
    CHECK_EQ_INT(chiso_time_parse_compact("20250701240000", &e), CHISO_EINVAL, "hour 24");
    CHECK_EQ_INT(chiso_time_parse_compact("2025070108000", &e), CHISO_EINVAL, "13 digits");
    CHECK_EQ_INT(chiso_time_parse_compact("202507010800000", &e), CHISO_EINVAL, "15 digits");
    CHECK_EQ_INT(chiso_time_parse_compact("2025070108000a", &e), CHISO_EINVAL, "letter");
    CHECK_EQ_INT(chiso_time_parse_compact("2025-07-01T08:", &e), CHISO_EINVAL, "punctuation");
}

static void test_format(void)
{
    static const struct {
        int64_t epoch;
        const char *s;
    } cases[] = {
        {1751331600, "2025-07-01T08:00:00+07:00"}, {1751304600, "2025-07-01T00:30:00+07:00"},
        {1751302799, "2025-06-30T23:59:59+07:00"}, {0, "1970-01-01T07:00:00+07:00"},
        {-25201, "1969-12-31T23:59:59+07:00"},     {1709164800, "2024-02-29T07:00:00+07:00"},
        {INT64_MIN, "0000-01-01T00:00:00+07:00"}, /* clamped */
        {INT64_MAX, "9999-12-31T23:59:59+07:00"}, /* clamped */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char out[CHISO_TIME_STRLEN];
        int64_t back = 0;
        chiso_time_format(cases[i].epoch, out);
        CHECK_EQ_STR(out, cases[i].s);
        CHECK_EQ_INT(chiso_time_parse(out, &back), 0, "reparse %s", out);
        if (i < 6)
            CHECK_EQ_INT(back, cases[i].epoch, "round trip %s", out);
    }
}

static void test_local_periods(void)
{
    static const struct {
        const char *at;
        const char *day, *month, *quarter, *year;
    } cases[] = {
        {"2025-06-30T17:30:00Z", "2025-07-01", "2025-07", "2025-Q3", "2025"},
        {"2025-06-30T16:59:59Z", "2025-06-30", "2025-06", "2025-Q2", "2025"},
        {"2025-06-30T17:00:00Z", "2025-07-01", "2025-07", "2025-Q3", "2025"},
        {"2024-12-31T17:00:00Z", "2025-01-01", "2025-01", "2025-Q1", "2025"},
        {"2024-12-31T16:59:59Z", "2024-12-31", "2024-12", "2024-Q4", "2024"},
        {"2024-02-29T12:00:00+07:00", "2024-02-29", "2024-02", "2024-Q1", "2024"},
        {"2025-09-30T23:59:59+07:00", "2025-09-30", "2025-09", "2025-Q3", "2025"},
        {"2025-10-01T00:00:00+07:00", "2025-10-01", "2025-10", "2025-Q4", "2025"},
        {"1969-12-31T16:59:59Z", "1969-12-31", "1969-12", "1969-Q4", "1969"},
        {"1969-12-31T17:00:00Z", "1970-01-01", "1970-01", "1970-Q1", "1970"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int64_t e = 0;
        int32_t day;
        char key[CHISO_PERIOD_STRLEN];
        CHECK_EQ_INT(chiso_time_parse(cases[i].at, &e), 0, "parse %s", cases[i].at);
        day = chiso_local_day(e);
        chiso_period_key(day, CHISO_PERIOD_DAY, key);
        CHECK_EQ_STR(key, cases[i].day);
        chiso_period_key(day, CHISO_PERIOD_MONTH, key);
        CHECK_EQ_STR(key, cases[i].month);
        chiso_period_key(day, CHISO_PERIOD_QUARTER, key);
        CHECK_EQ_STR(key, cases[i].quarter);
        chiso_period_key(day, CHISO_PERIOD_YEAR, key);
        CHECK_EQ_STR(key, cases[i].year);
        /* The day starts at local midnight and contains the instant. */
        CHECK(chiso_day_start(day) <= e && e < chiso_day_start(day) + 86400, "day of %s",
              cases[i].at);
    }
    CHECK_EQ_INT(chiso_local_day(-1), 0, "1969-12-31T23:59:59Z is local 1970-01-01");
    CHECK_EQ_INT(chiso_local_day(-25201), -1, "one second before local 1970");
    CHECK_EQ_INT(chiso_day_start(0), -25200, "local 1970-01-01 starts at 17:00Z before");
}

static void test_dates_weekday(void)
{
    static const struct {
        int y, m, d;
        int32_t day;
        int weekday; /* 0 = Monday */
    } cases[] = {
        {1970, 1, 1, 0, 3},     {2025, 7, 1, 20270, 1},  {2024, 2, 29, 19782, 3},
        {2000, 3, 1, 11017, 2}, {1969, 12, 31, -1, 2},   {1600, 3, 1, -135080, 2},
        {2025, 9, 2, 20333, 1}, {2100, 2, 28, 47540, 6}, {2100, 3, 1, 47541, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        chiso_date in = {cases[i].y, cases[i].m, cases[i].d};
        chiso_date out = chiso_day_to_date(cases[i].day);
        CHECK_EQ_INT(chiso_date_to_day(in), cases[i].day, "day of %d-%d-%d", cases[i].y, cases[i].m,
                     cases[i].d);
        CHECK(out.year == cases[i].y && out.month == cases[i].m && out.day == cases[i].d,
              "date of day %d: %d-%d-%d", (int)cases[i].day, out.year, out.month, out.day);
        CHECK_EQ_INT(chiso_day_weekday(cases[i].day), cases[i].weekday, "weekday of %d-%d-%d",
                     cases[i].y, cases[i].m, cases[i].d);
    }
    /* Every day from 1600 to 2400 converts both ways, consecutively. */
    {
        chiso_date prev = chiso_day_to_date(-135141);
        int32_t bad = INT32_MIN; /* the first failing day, if any */
        for (int32_t d = -135140; d < 157000 && bad == INT32_MIN; d++) {
            chiso_date cur = chiso_day_to_date(d);
            int next_ok =
                (cur.year == prev.year && cur.month == prev.month && cur.day == prev.day + 1) ||
                (cur.year == prev.year && cur.month == prev.month + 1 && cur.day == 1) ||
                (cur.year == prev.year + 1 && cur.month == 1 && cur.day == 1 && prev.month == 12 &&
                 prev.day == 31);
            if (!next_ok || chiso_date_to_day(cur) != d)
                bad = d;
            prev = cur;
        }
        CHECK_EQ_INT(bad, INT32_MIN, "calendar sweep");
    }
}

static void test_period_parse(void)
{
    static const struct {
        const char *key;
        chiso_period_kind kind;
        const char *first, *last;
    } cases[] = {
        {"2025-07-01", CHISO_PERIOD_DAY, "2025-07-01", "2025-07-01"},
        {"2025-07", CHISO_PERIOD_MONTH, "2025-07-01", "2025-07-31"},
        {"2024-02", CHISO_PERIOD_MONTH, "2024-02-01", "2024-02-29"},
        {"2023-02", CHISO_PERIOD_MONTH, "2023-02-01", "2023-02-28"},
        {"2025-12", CHISO_PERIOD_MONTH, "2025-12-01", "2025-12-31"},
        {"2025-Q1", CHISO_PERIOD_QUARTER, "2025-01-01", "2025-03-31"},
        {"2025-Q3", CHISO_PERIOD_QUARTER, "2025-07-01", "2025-09-30"},
        {"2025-Q4", CHISO_PERIOD_QUARTER, "2025-10-01", "2025-12-31"},
        {"2025", CHISO_PERIOD_YEAR, "2025-01-01", "2025-12-31"},
        {"2024", CHISO_PERIOD_YEAR, "2024-01-01", "2024-12-31"},
        {"2024-02-29", CHISO_PERIOD_DAY, "2024-02-29", "2024-02-29"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        chiso_period p, q;
        char first[CHISO_PERIOD_STRLEN], last[CHISO_PERIOD_STRLEN], key[CHISO_PERIOD_STRLEN];
        CHECK_EQ_INT(chiso_period_parse(cases[i].key, &p), 0, "parse %s", cases[i].key);
        CHECK_EQ_INT(p.kind, cases[i].kind, "kind of %s", cases[i].key);
        chiso_period_key(p.first_day, CHISO_PERIOD_DAY, first);
        chiso_period_key(p.last_day, CHISO_PERIOD_DAY, last);
        CHECK_EQ_STR(first, cases[i].first);
        CHECK_EQ_STR(last, cases[i].last);
        /* Round trips: key of any day in it, and period_of. */
        chiso_period_key(p.last_day, p.kind, key);
        CHECK_EQ_STR(key, cases[i].key);
        q = chiso_period_of(p.last_day, p.kind);
        CHECK(q.kind == p.kind && q.first_day == p.first_day && q.last_day == p.last_day,
              "period_of %s", cases[i].key);
    }

    static const char *const bad[] = {
        "",        "202",      "20255",       "2025-13",    "2025-00",    "2025-Q0",
        "2025-Q5", "2025-q3",  "2025-7",      "2025-07-32", "2023-02-29", "2025-06-31",
        "2025/07", "2025-07-", "2025-07-01x", "abcd",       "2025-Q3 ",   "-2025",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        chiso_period p;
        CHECK_EQ_INT(chiso_period_parse(bad[i], &p), CHISO_EINVAL, "should reject \"%s\"", bad[i]);
    }

    /* Every day of 2020..2030: each kind's period contains it and its key parses back. */
    {
        int bad_day = 0;
        chiso_date d0 = {2020, 1, 1}, d1 = {2030, 12, 31};
        for (int32_t d = chiso_date_to_day(d0); d <= chiso_date_to_day(d1) && !bad_day; d++) {
            for (int k = 0; k < CHISO_PERIOD_KINDS; k++) {
                char key[CHISO_PERIOD_STRLEN];
                chiso_period p = chiso_period_of(d, (chiso_period_kind)k), q;
                chiso_period_key(d, (chiso_period_kind)k, key);
                if (p.first_day > d || p.last_day < d || chiso_period_parse(key, &q) != 0 ||
                    q.first_day != p.first_day || q.last_day != p.last_day || q.kind != p.kind)
                    bad_day = d;
            }
        }
        CHECK_EQ_INT(bad_day, 0, "period sweep");
    }

    CHECK_EQ_STR(chiso_period_kind_name(CHISO_PERIOD_DAY), "day");
    CHECK_EQ_STR(chiso_period_kind_name(CHISO_PERIOD_MONTH), "month");
    CHECK_EQ_STR(chiso_period_kind_name(CHISO_PERIOD_QUARTER), "quarter");
    CHECK_EQ_STR(chiso_period_kind_name(CHISO_PERIOD_YEAR), "year");
}

static void test_extremes(void)
{
    char key[CHISO_PERIOD_STRLEN];
    chiso_date lo = chiso_day_to_date(INT32_MIN), hi = chiso_day_to_date(INT32_MAX);
    CHECK_EQ_INT(chiso_date_to_day(lo), INT32_MIN, "INT32_MIN round trip");
    CHECK_EQ_INT(chiso_date_to_day(hi), INT32_MAX, "INT32_MAX round trip");
    chiso_period_key(INT32_MIN, CHISO_PERIOD_DAY, key);
    CHECK(strlen(key) < CHISO_PERIOD_STRLEN && key[0] == '-', "key of INT32_MIN: %s", key);
    chiso_period_key(INT32_MAX, CHISO_PERIOD_DAY, key);
    CHECK(strlen(key) < CHISO_PERIOD_STRLEN, "key of INT32_MAX: %s", key);
    (void)chiso_local_day(INT64_MIN);
    (void)chiso_local_day(INT64_MAX);
}

/* chiso_time_parse_n() remembers the last date it read: a repeated date,
 * a date that is not one after it, a time of day out of range on a known
 * date, and a date seen before, all read as without the memo. */
static void test_parse_date_memo(void)
{
    static const struct {
        const char *s;
        int rc;
        int64_t epoch;
    } seq[] = {
        {"2025-02-28T00:00:00Z", 0, 1740700800},      {"2025-02-28T23:59:59Z", 0, 1740787199},
        {"2025-02-29T00:00:00Z", CHISO_EINVAL, 0},    {"2025-02-28T24:00:00Z", CHISO_EINVAL, 0},
        {"2025-02-28T12:60:00Z", CHISO_EINVAL, 0},    {"2025-02-28T12:00:60Z", CHISO_EINVAL, 0},
        {"2025-02-28T12:00:00+07:00", 0, 1740718800}, {"2024-02-29T00:00:00Z", 0, 1709164800},
        {"2025-02-28T00:00:00Z", 0, 1740700800},
    };
    for (size_t i = 0; i < sizeof(seq) / sizeof(seq[0]); i++) {
        int64_t e = 42;
        int rc = chiso_time_parse(seq[i].s, &e);
        CHECK_EQ_INT(rc, seq[i].rc, "parse %s (step %zu)", seq[i].s, i);
        if (rc == 0)
            CHECK_EQ_INT(e, seq[i].epoch, "epoch of %s (step %zu)", seq[i].s, i);
    }
}

int main(void)
{
    test_parse_valid();
    test_parse_date_memo();
    test_parse_invalid();
    test_compact();
    test_format();
    test_local_periods();
    test_dates_weekday();
    test_period_parse();
    test_extremes();
    return CHECK_DONE();
}
