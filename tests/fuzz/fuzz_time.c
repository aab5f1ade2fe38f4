/*
 * fuzz_time.c - libFuzzer target for the vntime parsers (RFC 3339, the
 * portal's compact form, period keys) and the calendar arithmetic.
 *
 * Properties: whatever parses formats back to a string that parses to the
 * same instant (within local years 0000..9999, the range RFC 3339 can
 * express); a period key that parses is the key of its own first and last
 * day; arbitrary day numbers and instants never trip the sanitizers, and
 * days convert to dates and back exactly.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chiso/vntime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Instants whose Vietnam local time is within years 0000..9999. */
#define EPOCH_MIN (-62167219200LL - CHISO_VN_OFFSET_S)
#define EPOCH_MAX (253402300799LL - CHISO_VN_OFFSET_S)

static void check_instant(int64_t e)
{
    char s[CHISO_TIME_STRLEN];
    int64_t back;

    chiso_time_format(e, s);
    if (strlen(s) != 25 || chiso_time_parse(s, &back) != 0)
        abort();
    if (e >= EPOCH_MIN && e <= EPOCH_MAX) {
        int32_t day = chiso_local_day(e);
        if (back != e || chiso_day_start(day) > e || chiso_day_start(day) + 86400 <= e)
            abort();
    }
}

static void check_day(int32_t day)
{
    chiso_date d = chiso_day_to_date(day);
    char key[CHISO_PERIOD_STRLEN];

    if (chiso_date_to_day(d) != day || d.month < 1 || d.month > 12 || d.day < 1 || d.day > 31)
        abort();
    if (chiso_day_weekday(day) < 0 || chiso_day_weekday(day) > 6)
        abort();
    if (day < INT32_MIN + 400 || day > INT32_MAX - 400)
        return; /* a year period around it would not fit in int32 days */
    for (int k = 0; k < CHISO_PERIOD_KINDS; k++) {
        chiso_period p = chiso_period_of(day, (chiso_period_kind)k), q;
        chiso_period_key(day, (chiso_period_kind)k, key);
        if (strlen(key) >= CHISO_PERIOD_STRLEN || p.first_day > day || p.last_day < day)
            abort();
        if (d.year >= 0 && d.year <= 9999 &&
            (chiso_period_parse(key, &q) != 0 || q.first_day != p.first_day ||
             q.last_day != p.last_day || (int)q.kind != k))
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    int64_t e, e2;
    chiso_period p;

    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';

    if (chiso_time_parse_n((const char *)data, size, &e) == 0) {
        /* The NUL-terminated form agrees unless the input holds a NUL. */
        if (strlen(s) == size && (chiso_time_parse(s, &e2) != 0 || e2 != e))
            abort();
        check_instant(e);
    }
    if (chiso_time_parse_compact(s, &e) == 0) {
        char f[CHISO_TIME_STRLEN];
        chiso_time_format(e, f);
        /* Same local wall clock: yyyyMMddHHmmss vs yyyy-MM-ddTHH:mm:ss+07:00 */
        if (memcmp(f, s, 4) || memcmp(f + 5, s + 4, 2) || memcmp(f + 8, s + 6, 2) ||
            memcmp(f + 11, s + 8, 2) || memcmp(f + 14, s + 10, 2) || memcmp(f + 17, s + 12, 2))
            abort();
        check_instant(e);
    }
    if (chiso_period_parse(s, &p) == 0) {
        char key[CHISO_PERIOD_STRLEN];
        chiso_period_key(p.first_day, p.kind, key);
        if (strcmp(key, s) != 0)
            abort();
        chiso_period_key(p.last_day, p.kind, key);
        if (strcmp(key, s) != 0 || p.last_day < p.first_day)
            abort();
        chiso_period_key(p.last_day + 1, p.kind, key);
        if (strcmp(key, s) == 0)
            abort();
    }
    /* Raw bytes as numbers: an instant and a day. */
    if (size >= 8) {
        memcpy(&e, data, 8);
        check_instant(e);
        chiso_local_day(e);
    }
    if (size >= 4) {
        int32_t day;
        memcpy(&day, data + size - 4, 4);
        check_day(day);
    }
    free(s);
    return 0;
}
