/*
 * wall_json.h - what the monitoring wall reads from the topics and the
 * JSON it serves, without any I/O.
 *
 * A score snapshot (`scores`, CONTRACT.md, docs/snapshot.md) becomes a
 * ranking row: the few figures the wall's table shows, copied as they are
 * (never recomputed, so the page shows the topic's numbers). An alert
 * (`alerts`, docs/operations.md) is checked and kept as it came, with the
 * unit's name added when served. Both come from outside the process, so
 * every member is checked for its type and a record that does not fit is
 * refused with a reason.
 */
#ifndef CHISO_WALL_JSON_H
#define CHISO_WALL_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "chiso/vntime.h"

#define CHISO_WALL_UNIT_MAX 64 /* a unit code, NUL included */

/* The indicator whose rate is the wall's on-time figure: #5, "Tỷ lệ hồ sơ
 * xử lý đúng hạn", over the national portal's population D (dossiers
 * received or processed in the period). Not the snapshot's `on_time`
 * object, the quarterly report's rate over the resolved dossiers. */
#define CHISO_WALL_ONTIME_INDICATOR 5

/* What the wall keeps of one snapshot (filled by chiso_wall_snap_parse). */
typedef struct chiso_wall_snap {
    char unit[CHISO_WALL_UNIT_MAX];
    char period[CHISO_PERIOD_STRLEN]; /* a month, quarter or year key */
    bool province;                    /* kind "province" */
    char *name;                       /* unit_name (malloc'd) */
    cJSON *row;                       /* the ranking row (below) */
} chiso_wall_snap;

/* Parse one snapshot. The ranking row holds, copied from the snapshot:
 * unit, unit_name, kind, period, as_of, total, rank, rank_of (null when
 * absent), received, resolved, full_process, open, open_overdue (from
 * counts), and
 * fp_rate, fp_target, fp_gap (from full_process), on_time_rate (the rate
 * of the member of `indicators` with id CHISO_WALL_ONTIME_INDICATOR, not
 * the `on_time` object). Required: unit, period (month, quarter or year),
 * unit_name, kind as strings and counts as an object; any other member of
 * the row is null when absent or of the wrong type. Returns 0 and fills out (free with
 * chiso_wall_snap_clear), or CHISO_EINVAL with a reason in errstr. */
int chiso_wall_snap_parse(const char *json, size_t len, chiso_wall_snap *out, char *errstr,
                          size_t errstr_size);
void chiso_wall_snap_clear(chiso_wall_snap *s);

/* The member of a snapshot's `indicators` array whose `id` is the number
 * `id` (an object), or NULL when the snapshot has none. */
const cJSON *chiso_wall_indicator(const cJSON *snapshot, int id);

/* Parse one alert: an object with string `unit`, `dossier_id` and `kind`
 * ("overdue" or "due_soon"). Returns the record (caller frees with
 * cJSON_Delete) and copies its unit into unit_out, or NULL with errstr. */
cJSON *chiso_wall_alert_parse(const char *json, size_t len, char unit_out[CHISO_WALL_UNIT_MAX],
                              char *errstr, size_t errstr_size);

/* Order of periods in the wall's selector: months, then quarters, then
 * years, each newest first. A qsort comparator over `const char *`
 * elements (period keys); keys that do not parse sort last, by text. */
int chiso_wall_period_cmp(const void *a, const void *b);

/* Trends (docs/wall.md "Trends"): the months and quarters a trend shows. */
#define CHISO_WALL_TREND_MONTHS   12
#define CHISO_WALL_TREND_QUARTERS 8

/* The keys of the n periods of `kind` (month or quarter) that end with the
 * one holding the last day of `anchor` (any period key), oldest first,
 * into out. Returns n, or CHISO_EINVAL (an anchor that does not parse, a
 * kind neither month nor quarter, n < 1). */
int chiso_wall_trend_periods(const char *anchor, chiso_period_kind kind, int n,
                             char out[][CHISO_PERIOD_STRLEN]);

/* One point of a trend: {period, total, fp_rate, fp_target, on_time_rate,
 * as_of} copied from a ranking row (chiso_wall_snap_parse), all null but
 * the period when `row` is NULL (no snapshot for that period). NULL on
 * out of memory. */
cJSON *chiso_wall_trend_point(const char *period, const cJSON *row);

#endif
