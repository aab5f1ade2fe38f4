/*
 * wall_json.c - snapshots to ranking rows, alert checks and the period
 * order of the wall (wall_json.h).
 *
 * Numbers are copied item by item (cJSON_Duplicate), never recomputed:
 * the row's total is the snapshot's total, the same double, printed back
 * with the digits that round-trip. The row's on-time rate is indicator
 * #5's (docs/scoring.md: the national portal's population D), not the
 * snapshot's `on_time` object, which is the quarterly report's rate over
 * the resolved dossiers.
 */
#include "chiso/wall_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chiso/common.h"

static const cJSON *member(const cJSON *obj, const char *name)
{
    return cJSON_GetObjectItemCaseSensitive(obj, name);
}

/* Copy a string member of src into dst (1..size-1 bytes). */
static int copy_string(const cJSON *src, const char *name, char *dst, size_t size, char *errstr,
                       size_t errstr_size)
{
    const cJSON *v = member(src, name);
    size_t n;

    if (!cJSON_IsString(v) || !v->valuestring) {
        snprintf(errstr, errstr_size, "'%s' must be a string", name);
        return CHISO_EINVAL;
    }
    n = strlen(v->valuestring);
    if (n == 0 || n >= size) {
        snprintf(errstr, errstr_size, "'%s' must be 1..%zu bytes", name, size - 1);
        return CHISO_EINVAL;
    }
    memcpy(dst, v->valuestring, n + 1);
    return 0;
}

/* Add src[name] to row as `as` when it is a number, else null. Returns
 * false on no memory. */
static bool add_number(cJSON *row, const char *as, const cJSON *src, const char *name)
{
    const cJSON *v = src ? member(src, name) : NULL;
    cJSON *copy = cJSON_IsNumber(v) ? cJSON_Duplicate(v, 0) : cJSON_CreateNull();
    if (!copy)
        return false;
    cJSON_AddItemToObject(row, as, copy);
    return true;
}

const cJSON *chiso_wall_indicator(const cJSON *doc, int id)
{
    const cJSON *arr = cJSON_IsObject(doc) ? member(doc, "indicators") : NULL, *it;

    if (!cJSON_IsArray(arr))
        return NULL;
    cJSON_ArrayForEach(it, arr)
    {
        const cJSON *v = cJSON_IsObject(it) ? member(it, "id") : NULL;
        if (cJSON_IsNumber(v) && v->valuedouble == (double)id)
            return it;
    }
    return NULL;
}

int chiso_wall_snap_parse(const char *json, size_t len, chiso_wall_snap *out, char *errstr,
                          size_t errstr_size)
{
    static const struct {
        const char *as, *object, *name; /* object NULL: the snapshot itself */
        int indicator;                  /* > 0: object is that indicator */
    } numbers[] = {
        {"total", NULL, "total", 0},
        {"rank", NULL, "rank", 0},
        {"rank_of", NULL, "rank_of", 0},
        {"received", "counts", "received", 0},
        {"resolved", "counts", "resolved", 0},
        {"full_process", "counts", "full_process", 0},
        {"open", "counts", "open", 0},
        {"open_overdue", "counts", "open_overdue", 0},
        {"fp_rate", "full_process", "rate", 0},
        {"fp_target", "full_process", "target", 0},
        {"fp_gap", "full_process", "gap", 0},
        {"on_time_rate", NULL, "rate", CHISO_WALL_ONTIME_INDICATOR},
    };
    cJSON *doc = NULL;
    const cJSON *kind, *as_of;
    chiso_period p;
    char name[512], kindbuf[32];
    int rc = CHISO_EINVAL;

    memset(out, 0, sizeof(*out));
    doc = cJSON_ParseWithLength(json, len);
    if (!cJSON_IsObject(doc)) {
        snprintf(errstr, errstr_size, "not a JSON object");
        goto out;
    }
    if (copy_string(doc, "unit", out->unit, sizeof(out->unit), errstr, errstr_size) ||
        copy_string(doc, "period", out->period, sizeof(out->period), errstr, errstr_size) ||
        copy_string(doc, "unit_name", name, sizeof(name), errstr, errstr_size) ||
        copy_string(doc, "kind", kindbuf, sizeof(kindbuf), errstr, errstr_size))
        goto out;
    if (chiso_period_parse(out->period, &p) != 0 || p.kind == CHISO_PERIOD_DAY) {
        snprintf(errstr, errstr_size, "'period' must be a month, quarter or year");
        goto out;
    }
    if (!cJSON_IsObject(member(doc, "counts"))) {
        snprintf(errstr, errstr_size, "'counts' must be an object");
        goto out;
    }
    kind = member(doc, "kind");
    as_of = member(doc, "as_of");
    out->province = strcmp(kindbuf, "province") == 0;
    rc = CHISO_ENOMEM;
    if (!(out->name = strdup(name)) || !(out->row = cJSON_CreateObject()))
        goto out;
    if (!cJSON_AddStringToObject(out->row, "unit", out->unit) ||
        !cJSON_AddStringToObject(out->row, "unit_name", name) ||
        !cJSON_AddStringToObject(out->row, "kind", kind->valuestring) ||
        !cJSON_AddStringToObject(out->row, "period", out->period) ||
        !(cJSON_IsString(as_of) ? cJSON_AddStringToObject(out->row, "as_of", as_of->valuestring)
                                : cJSON_AddNullToObject(out->row, "as_of")))
        goto out;
    for (size_t i = 0; i < sizeof(numbers) / sizeof(numbers[0]); i++) {
        const cJSON *src = numbers[i].indicator ? chiso_wall_indicator(doc, numbers[i].indicator)
                           : numbers[i].object  ? member(doc, numbers[i].object)
                                                : doc;
        if (!add_number(out->row, numbers[i].as, cJSON_IsObject(src) ? src : NULL, numbers[i].name))
            goto out;
    }
    rc = 0;
out:
    if (rc == CHISO_ENOMEM)
        snprintf(errstr, errstr_size, "out of memory");
    if (rc != 0)
        chiso_wall_snap_clear(out);
    cJSON_Delete(doc);
    return rc;
}

void chiso_wall_snap_clear(chiso_wall_snap *s)
{
    free(s->name);
    cJSON_Delete(s->row);
    s->name = NULL;
    s->row = NULL;
}

cJSON *chiso_wall_alert_parse(const char *json, size_t len, char unit_out[CHISO_WALL_UNIT_MAX],
                              char *errstr, size_t errstr_size)
{
    cJSON *doc = cJSON_ParseWithLength(json, len);
    const cJSON *kind;
    char dossier[128];

    if (!cJSON_IsObject(doc)) {
        snprintf(errstr, errstr_size, "not a JSON object");
        goto err;
    }
    if (copy_string(doc, "unit", unit_out, CHISO_WALL_UNIT_MAX, errstr, errstr_size) ||
        copy_string(doc, "dossier_id", dossier, sizeof(dossier), errstr, errstr_size))
        goto err;
    kind = member(doc, "kind");
    if (!cJSON_IsString(kind) ||
        (strcmp(kind->valuestring, "overdue") != 0 && strcmp(kind->valuestring, "due_soon") != 0)) {
        snprintf(errstr, errstr_size, "'kind' must be overdue or due_soon");
        goto err;
    }
    return doc;
err:
    cJSON_Delete(doc);
    return NULL;
}

/* Sort key of a period: kind rank (month 0, quarter 1, year 2) and first day. */
static int period_rank(const char *key, int32_t *first_day)
{
    chiso_period p;
    if (chiso_period_parse(key, &p) != 0 || p.kind == CHISO_PERIOD_DAY)
        return 3;
    *first_day = p.first_day;
    return p.kind == CHISO_PERIOD_MONTH ? 0 : p.kind == CHISO_PERIOD_QUARTER ? 1 : 2;
}

int chiso_wall_period_cmp(const void *a, const void *b)
{
    const char *x = *(const char *const *)a, *y = *(const char *const *)b;
    int32_t dx = 0, dy = 0;
    int rx = period_rank(x, &dx), ry = period_rank(y, &dy);

    if (rx != ry)
        return rx < ry ? -1 : 1;
    if (rx == 3 || dx == dy)
        return strcmp(x, y);
    return dx > dy ? -1 : 1; /* newest first */
}

int chiso_wall_trend_periods(const char *anchor, chiso_period_kind kind, int n,
                             char out[][CHISO_PERIOD_STRLEN])
{
    chiso_period a;
    if (!anchor || chiso_period_parse(anchor, &a) != 0 || n < 1 ||
        (kind != CHISO_PERIOD_MONTH && kind != CHISO_PERIOD_QUARTER))
        return CHISO_EINVAL;
    int32_t day = a.last_day;
    for (int i = n - 1; i >= 0; i--) {
        chiso_period p = chiso_period_of(day, kind);
        chiso_period_key(day, kind, out[i]);
        day = p.first_day - 1;
    }
    return n;
}

cJSON *chiso_wall_trend_point(const char *period, const cJSON *row)
{
    static const char *const copied[] = {"total", "fp_rate", "fp_target", "on_time_rate", "as_of"};
    cJSON *o = cJSON_CreateObject();
    if (!o || !cJSON_AddStringToObject(o, "period", period))
        goto fail;
    for (size_t i = 0; i < sizeof(copied) / sizeof(copied[0]); i++) {
        const cJSON *v = row ? cJSON_GetObjectItemCaseSensitive(row, copied[i]) : NULL;
        cJSON *c = v ? cJSON_Duplicate(v, false) : cJSON_CreateNull();
        if (!c || !cJSON_AddItemToObject(o, copied[i], c)) {
            cJSON_Delete(c);
            goto fail;
        }
    }
    return o;
fail:
    cJSON_Delete(o);
    return NULL;
}
