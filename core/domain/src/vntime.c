/*
 * vntime.c - RFC 3339 timestamps and calendar periods in Vietnam local time.
 *
 * Vietnam (Asia/Ho_Chi_Minh) is a fixed UTC+7 with no daylight saving, so
 * all conversions here are plain integer arithmetic: no timegm(), no TZ
 * database, no locale, no allocation. Instants are int64 seconds since the
 * Unix epoch; local days are int32 days since 1970-01-01 on the Vietnam
 * calendar (proleptic Gregorian).
 *
 * Civil-date arithmetic counts years from 1 March, so the leap day is the
 * last day of its "computational year" and the month lengths from March on
 * follow a linear pattern (31,30,31,30,31 repeating), computed as
 * (153 * m + 2) / 5. 400 Gregorian years are exactly 146097 days, which
 * reduces any year to 0..399 within its 400-year cycle.
 *
 * Parsing is strict: exactly YYYY-MM-DD('T'|'t')HH:MM:SS[.digits](Z|z|+HH:MM|-HH:MM),
 * every field range-checked, second 60 (leap seconds) rejected because
 * epoch seconds cannot represent it. Formatting always writes +07:00 and
 * clamps to local years 0000..9999, the range RFC 3339 can express.
 */
#include "chiso/vntime.h"

#include <stdbool.h>
#include <string.h>

#include "chiso/common.h"

#define SECS_PER_DAY 86400

/* Floor division and modulo for a positive divisor (C rounds toward zero). */
static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if ((a % b) != 0 && a < 0)
        q--;
    return q;
}

static int64_t floor_mod(int64_t a, int64_t b)
{
    int64_t r = a % b;
    return r < 0 ? r + b : r;
}

static int is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int64_t y, int m)
{
    static const unsigned char len[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return (m == 2 && is_leap(y)) ? 29 : len[m - 1];
}

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static int64_t civil_to_days(int64_t y, int m, int d)
{
    int64_t cycle, yoc, doy, doc;
    int mar; /* month counted from March: Mar = 0 .. Feb = 11 */

    if (m <= 2)
        y -= 1; /* January and February belong to the previous March-year */
    cycle = floor_div(y, 400);
    yoc = y - cycle * 400; /* 0..399 */
    mar = m > 2 ? m - 3 : m + 9;
    doy = (153 * (int64_t)mar + 2) / 5 + d - 1;  /* 0..365 for a valid date */
    doc = yoc * 365 + yoc / 4 - yoc / 100 + doy; /* 0..146096 */
    /* 719468 = days from 0000-03-01 to 1970-01-01. */
    return cycle * 146097 + doc - 719468;
}

/* Inverse of civil_to_days. */
static void days_to_civil(int64_t days, int64_t *y_out, int *m_out, int *d_out)
{
    int64_t z = days + 719468;
    int64_t cycle = floor_div(z, 146097);
    int64_t doc = z - cycle * 146097;                                    /* 0..146096 */
    int64_t yoc = (doc - doc / 1460 + doc / 36524 - doc / 146096) / 365; /* 0..399 */
    int64_t doy = doc - (365 * yoc + yoc / 4 - yoc / 100);               /* 0..365 */
    int64_t mar = (5 * doy + 2) / 153;                                   /* 0..11 */
    int d = (int)(doy - (153 * mar + 2) / 5 + 1);
    int m = (int)(mar < 10 ? mar + 3 : mar - 9);
    int64_t y = yoc + cycle * 400 + (m <= 2 ? 1 : 0);

    *y_out = y;
    *m_out = m;
    *d_out = d;
}

/* Read exactly n decimal digits; -1 when any is not a digit. */
static int read_digits(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* Validate a calendar date and time of day, and return the local-wall-clock
 * seconds since 1970-01-01T00:00:00 (of whatever zone the fields are in). */
static int wall_seconds(int y, int mo, int d, int h, int mi, int s, int64_t *out)
{
    if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo))
        return CHISO_EINVAL;
    if (h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 || s > 59)
        return CHISO_EINVAL;
    *out = civil_to_days(y, mo, d) * SECS_PER_DAY + h * 3600 + mi * 60 + s;
    return 0;
}

/* The date of the last time chiso_time_parse_n() read, "YYYY-MM-DD" as
 * written, and its day number: a memo, one per thread. */
static _Thread_local struct {
    char text[10];
    int64_t days;
    bool valid;
} last_date;

int chiso_time_parse_n(const char *s, size_t len, int64_t *epoch_out)
{
    int y, mo, d, h, mi, sec, off = 0;
    size_t i;
    int64_t wall;

    if (!s || len < 20) /* shortest: 2025-07-01T08:00:00Z */
        return CHISO_EINVAL;
    if (s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') || s[13] != ':' ||
        s[16] != ':')
        return CHISO_EINVAL;
    /* the date: a stream's times mostly share it with the time before */
    int64_t days;
    if (last_date.valid && memcmp(s, last_date.text, sizeof(last_date.text)) == 0) {
        days = last_date.days;
    } else {
        y = read_digits(s, 4);
        mo = read_digits(s + 5, 2);
        d = read_digits(s + 8, 2);
        if (wall_seconds(y, mo, d, 0, 0, 0, &wall) != 0)
            return CHISO_EINVAL;
        days = wall / SECS_PER_DAY;
        memcpy(last_date.text, s, sizeof(last_date.text));
        last_date.days = days;
        last_date.valid = true;
    }
    h = read_digits(s + 11, 2);
    mi = read_digits(s + 14, 2);
    sec = read_digits(s + 17, 2);
    if (h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 59)
        return CHISO_EINVAL;
    wall = days * SECS_PER_DAY + h * 3600 + mi * 60 + sec;

    i = 19;
    if (s[i] == '.') { /* fraction: one or more digits, truncated */
        size_t start = ++i;
        while (i < len && s[i] >= '0' && s[i] <= '9')
            i++;
        if (i == start)
            return CHISO_EINVAL;
    }
    if (i >= len)
        return CHISO_EINVAL; /* the offset is mandatory */
    if (s[i] == 'Z' || s[i] == 'z') {
        i++;
    } else if (s[i] == '+' || s[i] == '-') {
        int oh, om;
        if (len - i < 6 || s[i + 3] != ':')
            return CHISO_EINVAL;
        oh = read_digits(s + i + 1, 2);
        om = read_digits(s + i + 4, 2);
        if (oh < 0 || oh > 23 || om < 0 || om > 59)
            return CHISO_EINVAL;
        off = oh * 3600 + om * 60;
        if (s[i] == '-')
            off = -off;
        i += 6;
    } else {
        return CHISO_EINVAL;
    }
    if (i != len)
        return CHISO_EINVAL;

    *epoch_out = wall - off;
    return 0;
}

int chiso_time_parse(const char *s, int64_t *epoch_out)
{
    if (!s)
        return CHISO_EINVAL;
    return chiso_time_parse_n(s, strlen(s), epoch_out);
}

int chiso_time_parse_compact(const char *s, int64_t *epoch_out)
{
    int64_t wall;

    if (!s || strlen(s) != 14)
        return CHISO_EINVAL;
    if (wall_seconds(read_digits(s, 4), read_digits(s + 4, 2), read_digits(s + 6, 2),
                     read_digits(s + 8, 2), read_digits(s + 10, 2), read_digits(s + 12, 2),
                     &wall) != 0)
        return CHISO_EINVAL;
    *epoch_out = wall - CHISO_VN_OFFSET_S;
    return 0;
}

void chiso_time_format(int64_t epoch, char out[CHISO_TIME_STRLEN])
{
    /* Local 0000-01-01T00:00:00 and 9999-12-31T23:59:59, as wall seconds. */
    const int64_t wall_min = -62167219200LL;
    const int64_t wall_max = 253402300799LL;
    int64_t wall, days, sod, y;
    int m, d;
    char *p = out;

    /* Clamp before adding the offset so that no extreme input overflows. */
    if (epoch < wall_min - CHISO_VN_OFFSET_S)
        epoch = wall_min - CHISO_VN_OFFSET_S;
    if (epoch > wall_max - CHISO_VN_OFFSET_S)
        epoch = wall_max - CHISO_VN_OFFSET_S;
    wall = epoch + CHISO_VN_OFFSET_S;
    days = floor_div(wall, SECS_PER_DAY);
    sod = floor_mod(wall, SECS_PER_DAY);
    days_to_civil(days, &y, &m, &d);

    p += chiso_put_padded(p, y, 4);
    *p++ = '-';
    p += chiso_put_padded(p, m, 2);
    *p++ = '-';
    p += chiso_put_padded(p, d, 2);
    *p++ = 'T';
    p += chiso_put_padded(p, sod / 3600, 2);
    *p++ = ':';
    p += chiso_put_padded(p, sod / 60 % 60, 2);
    *p++ = ':';
    p += chiso_put_padded(p, sod % 60, 2);
    memcpy(p, "+07:00", 7); /* with the NUL */
}

int32_t chiso_local_day(int64_t epoch)
{
    /* Split first, then shift by the offset, so INT64 extremes cannot overflow. */
    int64_t days = floor_div(epoch, SECS_PER_DAY);
    int64_t sod = floor_mod(epoch, SECS_PER_DAY) + CHISO_VN_OFFSET_S;
    return (int32_t)(days + (sod >= SECS_PER_DAY ? 1 : 0));
}

int64_t chiso_day_start(int32_t day)
{
    return (int64_t)day * SECS_PER_DAY - CHISO_VN_OFFSET_S;
}

chiso_date chiso_day_to_date(int32_t day)
{
    chiso_date date;
    int64_t y;
    days_to_civil(day, &y, &date.month, &date.day);
    date.year = (int)y; /* |y| < 6 million for any int32 day */
    return date;
}

int32_t chiso_date_to_day(chiso_date date)
{
    return (int32_t)civil_to_days(date.year, date.month, date.day);
}

int chiso_day_weekday(int32_t day)
{
    /* 1970-01-01 was a Thursday (3 when Monday is 0). */
    return (int)floor_mod((int64_t)day + 3, 7);
}

/* Write a year as at least 4 digits, with a '-' for years before 0000. */
static char *put_year(char *p, int64_t y)
{
    if (y < 0) {
        *p++ = '-';
        y = -y;
    }
    return p + chiso_put_padded(p, (unsigned long long)y, 4);
}

void chiso_period_key(int32_t day, chiso_period_kind kind, char out[CHISO_PERIOD_STRLEN])
{
    chiso_date date = chiso_day_to_date(day);
    char *p = put_year(out, date.year); /* at most 8 chars for an int32 day */

    switch (kind) {
    case CHISO_PERIOD_DAY:
        *p++ = '-';
        p += chiso_put_padded(p, date.month, 2);
        *p++ = '-';
        p += chiso_put_padded(p, date.day, 2);
        break;
    case CHISO_PERIOD_MONTH:
        *p++ = '-';
        p += chiso_put_padded(p, date.month, 2);
        break;
    case CHISO_PERIOD_QUARTER:
        *p++ = '-';
        *p++ = 'Q';
        *p++ = (char)('1' + (date.month - 1) / 3);
        break;
    case CHISO_PERIOD_YEAR:
    default:
        break;
    }
    *p = '\0';
}

/* First and last local day of the period of `kind` starting in (y, m, d). */
static chiso_period make_period(chiso_period_kind kind, int64_t y, int m, int d)
{
    chiso_period per;
    int64_t first = civil_to_days(y, m, d), next;

    switch (kind) {
    case CHISO_PERIOD_DAY:
        next = first + 1;
        break;
    case CHISO_PERIOD_MONTH:
        next = m == 12 ? civil_to_days(y + 1, 1, 1) : civil_to_days(y, m + 1, 1);
        break;
    case CHISO_PERIOD_QUARTER:
        next = m == 10 ? civil_to_days(y + 1, 1, 1) : civil_to_days(y, m + 3, 1);
        break;
    case CHISO_PERIOD_YEAR:
    default:
        next = civil_to_days(y + 1, 1, 1);
        break;
    }
    per.kind = kind;
    per.first_day = (int32_t)first;
    per.last_day = (int32_t)(next - 1);
    return per;
}

chiso_period chiso_period_of(int32_t day, chiso_period_kind kind)
{
    int64_t y;
    int m, d;

    days_to_civil(day, &y, &m, &d);
    switch (kind) {
    case CHISO_PERIOD_DAY:
        return make_period(kind, y, m, d);
    case CHISO_PERIOD_MONTH:
        return make_period(kind, y, m, 1);
    case CHISO_PERIOD_QUARTER:
        return make_period(kind, y, (m - 1) / 3 * 3 + 1, 1);
    case CHISO_PERIOD_YEAR:
    default:
        return make_period(CHISO_PERIOD_YEAR, y, 1, 1);
    }
}

int chiso_period_parse(const char *key, chiso_period *out)
{
    size_t len;
    int y, m, d;

    if (!key || !out)
        return CHISO_EINVAL;
    len = strlen(key);
    if (len != 4 && len != 7 && len != 10)
        return CHISO_EINVAL;
    y = read_digits(key, 4);
    if (y < 0)
        return CHISO_EINVAL;
    if (len == 4) {
        *out = make_period(CHISO_PERIOD_YEAR, y, 1, 1);
        return 0;
    }
    if (key[4] != '-')
        return CHISO_EINVAL;
    if (len == 7 && key[5] == 'Q') {
        if (key[6] < '1' || key[6] > '4')
            return CHISO_EINVAL;
        *out = make_period(CHISO_PERIOD_QUARTER, y, (key[6] - '1') * 3 + 1, 1);
        return 0;
    }
    m = read_digits(key + 5, 2);
    if (m < 1 || m > 12)
        return CHISO_EINVAL;
    if (len == 7) {
        *out = make_period(CHISO_PERIOD_MONTH, y, m, 1);
        return 0;
    }
    if (key[7] != '-')
        return CHISO_EINVAL;
    d = read_digits(key + 8, 2);
    if (d < 1 || d > days_in_month(y, m))
        return CHISO_EINVAL;
    *out = make_period(CHISO_PERIOD_DAY, y, m, d);
    return 0;
}

const char *chiso_period_kind_name(chiso_period_kind kind)
{
    switch (kind) {
    case CHISO_PERIOD_DAY:
        return "day";
    case CHISO_PERIOD_MONTH:
        return "month";
    case CHISO_PERIOD_QUARTER:
        return "quarter";
    case CHISO_PERIOD_YEAR:
        return "year";
    }
    return "unknown";
}
