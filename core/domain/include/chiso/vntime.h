/*
 * vntime.h - timestamps and calendar periods in Vietnam local time.
 *
 * Every day, month, quarter and year boundary in this domain is in
 * Asia/Ho_Chi_Minh, a fixed UTC+7 with no daylight saving. Instants are
 * int64 seconds since the Unix epoch (UTC); a "local day" is the int32
 * number of days since 1970-01-01 on the Vietnam calendar, so
 * 2025-06-30T17:30:00Z is local day of 2025-07-01.
 *
 * Period keys are the strings used in Redis keys and on the wire:
 * "2025-07-01" (day), "2025-07" (month), "2025-Q3" (quarter), "2025" (year).
 */
#ifndef CHISO_VNTIME_H
#define CHISO_VNTIME_H

#include <stddef.h>
#include <stdint.h>

#define CHISO_VN_OFFSET_S   (7 * 3600)
#define CHISO_TIME_STRLEN   32 /* room for any RFC 3339 string we format */
#define CHISO_PERIOD_STRLEN 16 /* room for any period key */

typedef enum chiso_period_kind {
    CHISO_PERIOD_DAY = 0,
    CHISO_PERIOD_MONTH = 1,
    CHISO_PERIOD_QUARTER = 2,
    CHISO_PERIOD_YEAR = 3,
} chiso_period_kind;
#define CHISO_PERIOD_KINDS 4

/* A calendar date (plain value struct). */
typedef struct chiso_date {
    int year;  /* e.g. 2025 */
    int month; /* 1..12 */
    int day;   /* 1..31 */
} chiso_date;

/* A parsed period: its kind and its first and last local days (inclusive). */
typedef struct chiso_period {
    chiso_period_kind kind;
    int32_t first_day;
    int32_t last_day;
} chiso_period;

/* Parse RFC 3339 with a mandatory offset ("Z" or "+07:00"); fractional
 * seconds are accepted and truncated. Validates every field (month 1..12,
 * day within the month, hour < 24, ...). Returns 0 or CHISO_EINVAL. */
int chiso_time_parse(const char *s, int64_t *epoch_out);

/* Same, for a string of known length that need not be NUL-terminated. */
int chiso_time_parse_n(const char *s, size_t len, int64_t *epoch_out);

/* Parse the national portal's "yyyyMMddHHmmss" in Vietnam local time. */
int chiso_time_parse_compact(const char *s, int64_t *epoch_out);

/* Format as RFC 3339 in Vietnam local time: "2025-07-01T08:00:00+07:00". */
void chiso_time_format(int64_t epoch, char out[CHISO_TIME_STRLEN]);

/* The Vietnam local day of an instant. */
int32_t chiso_local_day(int64_t epoch);

/* The instant at which a local day starts (00:00 +07:00). */
int64_t chiso_day_start(int32_t day);

/* Convert between local day numbers and calendar dates. */
chiso_date chiso_day_to_date(int32_t day);
int32_t chiso_date_to_day(chiso_date date);

/* Day of week of a local day: 0 = Monday .. 6 = Sunday. */
int chiso_day_weekday(int32_t day);

/* Write the key of the period of `kind` containing local `day`. */
void chiso_period_key(int32_t day, chiso_period_kind kind, char out[CHISO_PERIOD_STRLEN]);

/* The period of `kind` containing local `day`. */
chiso_period chiso_period_of(int32_t day, chiso_period_kind kind);

/* Parse a period key of any kind. Returns 0 or CHISO_EINVAL. */
int chiso_period_parse(const char *key, chiso_period *out);

/* Name of a kind: "day", "month", "quarter", "year". */
const char *chiso_period_kind_name(chiso_period_kind kind);

#endif
