/*
 * catalog.c - the records of the compacted catalog topics: units
 * (`catalog.units`) and procedures (`catalog.procedures`).
 *
 * A unit record names a receiving unit (province, department or commune),
 * its parent and its full-process target. The topic is compacted, so a
 * null or empty value is a tombstone that deletes the key's unit; the
 * parser reports it with return value 1 and leaves the record untouched
 * beyond zeroing it.
 *
 * Validation follows event.c's order and reason codes: too_large,
 * json_syntax, `v`, required fields (`unit`, `name`, `kind`) missing ->
 * missing_field, then types and values -> bad_value. Optional fields:
 * `parent` (absent or null = none), `e_copy_certification` (absent =
 * false) and `target_full_process` (absent or null = 0.70). A unit cannot
 * be its own parent. `name` must be 1..255 bytes of valid UTF-8 without
 * control characters; Vietnamese diacritics pass through untouched.
 *
 * A procedure record (CONTRACT.md catalog.procedures) follows the same
 * order. Required: `v`, `procedure`, `name`, `level` (full, partial or
 * none). The nine booleans are optional (absent = false) but must be JSON
 * booleans when present. `units` is optional (absent, null or [] = offered
 * by every unit); otherwise an array of at most CHISO_PROCEDURE_UNITS_MAX
 * unit codes, copied to a heap array the caller releases with
 * chiso_procedure_clear(). A rejected record owns nothing.
 *
 * Catalog records are rare, so serialization builds a cJSON tree.
 */
#include "chiso/catalog.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "chiso/common.h"
#include "parse_util.h"

#define TARGET_DEFAULT 0.70

static const char *const kind_names[] = {"unknown", "province", "department", "commune"};
#define KIND_COUNT ((int)(sizeof(kind_names) / sizeof(kind_names[0])))

const char *chiso_unit_kind_name(chiso_unit_kind kind)
{
    return ((int)kind >= 0 && (int)kind < KIND_COUNT) ? kind_names[kind] : "unknown";
}

/* Checks on a parsed JSON object; fills *out. */
static int parse_object(const cJSON *root, chiso_unit *out, chiso_reject *rej)
{
    static const char *const required[] = {"unit", "name", "kind"};
    const cJSON *item;
    int rc;

    if ((rc = chiso_pu_check_head(root, required, 3, rej)) != 0 ||
        (rc = chiso_pu_code_field(root, "unit", CHISO_CODE_MAX, "._-", out->unit, rej)) != 0 ||
        (rc = chiso_pu_text_field(root, "name", CHISO_NAME_MAX, out->name, rej)) != 0)
        return rc;

    item = cJSON_GetObjectItemCaseSensitive(root, "kind");
    if (cJSON_IsString(item) && item->valuestring) {
        for (int k = 1; k < KIND_COUNT; k++) {
            if (strcmp(item->valuestring, kind_names[k]) == 0)
                out->kind = (chiso_unit_kind)k;
        }
    }
    if (out->kind == CHISO_UNIT_UNKNOWN)
        return chiso_pu_reject(rej, CHISO_REJECT_BAD_VALUE,
                               "field 'kind' must be one of province, department, commune");

    item = cJSON_GetObjectItemCaseSensitive(root, "parent");
    if (item && !cJSON_IsNull(item)) {
        if (!cJSON_IsString(item) || !item->valuestring ||
            !chiso_pu_code_ok(item->valuestring, CHISO_CODE_MAX, "._-"))
            return chiso_pu_reject(rej, CHISO_REJECT_BAD_VALUE,
                                   "field 'parent' must be null or a unit code");
        if (strcmp(item->valuestring, out->unit) == 0)
            return chiso_pu_reject(rej, CHISO_REJECT_BAD_VALUE,
                                   "field 'parent' names the unit itself");
        strcpy(out->parent, item->valuestring);
    }

    item = cJSON_GetObjectItemCaseSensitive(root, "e_copy_certification");
    if (item) {
        if (!cJSON_IsBool(item))
            return chiso_pu_reject(rej, CHISO_REJECT_BAD_VALUE,
                                   "field 'e_copy_certification' must be true or false");
        out->e_copy_certification = cJSON_IsTrue(item);
    }

    out->target_full_process = TARGET_DEFAULT;
    item = cJSON_GetObjectItemCaseSensitive(root, "target_full_process");
    if (item && !cJSON_IsNull(item)) {
        /* Written so that NaN fails. */
        if (!cJSON_IsNumber(item) || !(item->valuedouble >= 0.0 && item->valuedouble <= 1.0))
            return chiso_pu_reject(rej, CHISO_REJECT_BAD_VALUE,
                                   "field 'target_full_process' must be a number from 0 to 1");
        out->target_full_process = item->valuedouble;
    }
    return 0;
}

int chiso_unit_parse(const char *buf, size_t len, chiso_unit *out, chiso_reject *rej)
{
    cJSON *root = NULL;
    int rc;

    if (rej) {
        rej->reason = CHISO_REJECT_NONE;
        rej->detail[0] = '\0';
    }
    memset(out, 0, sizeof(*out));
    rc = chiso_pu_parse_record(buf, len, &root, rej);
    if (rc == 0)
        rc = parse_object(root, out, rej);
    cJSON_Delete(root);
    if (rc < 0)
        memset(out, 0, sizeof(*out));
    return rc;
}

int chiso_unit_to_json(const chiso_unit *u, char *buf, size_t size)
{
    cJSON *root = NULL;
    int rc = CHISO_ENOMEM;

    if (!u || (int)u->kind <= CHISO_UNIT_UNKNOWN || (int)u->kind >= KIND_COUNT)
        return CHISO_EINVAL;
    root = cJSON_CreateObject();
    if (!root)
        goto out;
    /* cJSON_Add* return NULL on failure and leave the tree consistent; one
     * check of the printed result covers them all. */
    cJSON_AddNumberToObject(root, "v", 1);
    cJSON_AddStringToObject(root, "unit", u->unit);
    cJSON_AddStringToObject(root, "name", u->name);
    cJSON_AddStringToObject(root, "kind", kind_names[u->kind]);
    if (u->parent[0])
        cJSON_AddStringToObject(root, "parent", u->parent);
    else
        cJSON_AddNullToObject(root, "parent");
    cJSON_AddBoolToObject(root, "e_copy_certification", u->e_copy_certification);
    chiso_pu_add_number(root, "target_full_process", u->target_full_process);
    if (cJSON_GetArraySize(root) != 7)
        goto out;
    rc = chiso_pu_print(root, buf, size);
out:
    cJSON_Delete(root);
    return rc;
}

/* ---- procedure records (catalog.procedures) ------------------------------ */

static const char *const level_names[] = {"unknown", "none", "partial", "full"};
#define LEVEL_COUNT ((int)(sizeof(level_names) / sizeof(level_names[0])))

/* The optional booleans of a procedure record, in wire order. */
static const struct {
    const char *name;
    size_t off;
} proc_bools[] = {
    {"eligible_full", offsetof(chiso_procedure, eligible_full)},
    {"fee", offsetof(chiso_procedure, fee)},
    {"payment_integrated", offsetof(chiso_procedure, payment_integrated)},
    {"paper_result_required", offsetof(chiso_procedure, paper_result_required)},
    {"citizen_subject", offsetof(chiso_procedure, citizen_subject)},
    {"population_data_connected", offsetof(chiso_procedure, population_data_connected)},
    {"announced_on_time", offsetof(chiso_procedure, announced_on_time)},
    {"published_on_time", offsetof(chiso_procedure, published_on_time)},
    {"published_complete", offsetof(chiso_procedure, published_complete)},
};
#define PROC_BOOLS ((int)(sizeof(proc_bools) / sizeof(proc_bools[0])))

const char *chiso_service_level_name(chiso_service_level level)
{
    return ((int)level >= 0 && (int)level < LEVEL_COUNT) ? level_names[level] : "unknown";
}

void chiso_procedure_clear(chiso_procedure *p)
{
    if (!p)
        return;
    free(p->units);
    memset(p, 0, sizeof(*p));
}

/* The `units` array: absent, null or empty = every unit. */
static int parse_proc_units(const cJSON *item, chiso_procedure *out, chiso_reject *rej)
{
    const cJSON *el;
    int n, i = 0;

    if (!item || cJSON_IsNull(item))
        return 0;
    if (!cJSON_IsArray(item))
        return chiso_pu_reject(rej, CHISO_REJECT_BAD_VALUE,
                               "field 'units' must be an array of unit codes");
    n = cJSON_GetArraySize(item);
    if (n > CHISO_PROCEDURE_UNITS_MAX)
        return chiso_pu_reject(rej, CHISO_REJECT_BAD_VALUE,
                               "field 'units' lists %d units, more than %d", n,
                               CHISO_PROCEDURE_UNITS_MAX);
    if (n == 0)
        return 0;
    out->units = calloc((size_t)n, sizeof(*out->units));
    if (!out->units)
        return CHISO_ENOMEM;
    cJSON_ArrayForEach(el, item)
    {
        if (!cJSON_IsString(el) || !el->valuestring ||
            !chiso_pu_code_ok(el->valuestring, CHISO_CODE_MAX, "._-"))
            return chiso_pu_reject(rej, CHISO_REJECT_BAD_VALUE,
                                   "field 'units' item %d must be a unit code of 1..32 characters "
                                   "of [A-Za-z0-9._-]",
                                   i);
        strcpy(out->units[i++], el->valuestring);
    }
    out->nunits = n;
    return 0;
}

/* Checks on a parsed JSON object; fills *out (units may be allocated even
 * on failure: the caller clears). */
static int parse_proc_object(const cJSON *root, chiso_procedure *out, chiso_reject *rej)
{
    static const char *const required[] = {"procedure", "name", "level"};
    const cJSON *item;
    int rc;

    if ((rc = chiso_pu_check_head(root, required, 3, rej)) != 0 ||
        (rc = chiso_pu_code_field(root, "procedure", CHISO_CODE_MAX, "._-", out->procedure, rej)) !=
            0 ||
        (rc = chiso_pu_text_field(root, "name", CHISO_NAME_MAX, out->name, rej)) != 0)
        return rc;

    item = cJSON_GetObjectItemCaseSensitive(root, "level");
    if (cJSON_IsString(item) && item->valuestring) {
        for (int k = CHISO_LEVEL_NONE; k < LEVEL_COUNT; k++) {
            if (strcmp(item->valuestring, level_names[k]) == 0)
                out->level = (chiso_service_level)k;
        }
    }
    if (out->level == CHISO_LEVEL_UNKNOWN)
        return chiso_pu_reject(rej, CHISO_REJECT_BAD_VALUE,
                               "field 'level' must be one of full, partial, none");

    for (int i = 0; i < PROC_BOOLS; i++) {
        item = cJSON_GetObjectItemCaseSensitive(root, proc_bools[i].name);
        if (!item)
            continue;
        if (!cJSON_IsBool(item))
            return chiso_pu_reject(rej, CHISO_REJECT_BAD_VALUE, "field '%s' must be true or false",
                                   proc_bools[i].name);
        *(bool *)((char *)out + proc_bools[i].off) = cJSON_IsTrue(item);
    }
    return parse_proc_units(cJSON_GetObjectItemCaseSensitive(root, "units"), out, rej);
}

int chiso_procedure_parse(const char *buf, size_t len, chiso_procedure *out, chiso_reject *rej)
{
    cJSON *root = NULL;
    int rc;

    if (rej) {
        rej->reason = CHISO_REJECT_NONE;
        rej->detail[0] = '\0';
    }
    memset(out, 0, sizeof(*out));
    rc = chiso_pu_parse_record(buf, len, &root, rej);
    if (rc == 0)
        rc = parse_proc_object(root, out, rej);
    cJSON_Delete(root);
    if (rc < 0)
        chiso_procedure_clear(out);
    return rc;
}

int chiso_procedure_to_json(const chiso_procedure *p, char *buf, size_t size)
{
    cJSON *root = NULL, *units;
    int rc = CHISO_ENOMEM;

    if (!p || (int)p->level <= CHISO_LEVEL_UNKNOWN || (int)p->level >= LEVEL_COUNT ||
        p->nunits < 0 || p->nunits > CHISO_PROCEDURE_UNITS_MAX || (p->nunits > 0 && !p->units))
        return CHISO_EINVAL;
    root = cJSON_CreateObject();
    if (!root)
        goto out;
    /* As for units: one check of the member count covers every cJSON_Add*. */
    cJSON_AddNumberToObject(root, "v", 1);
    cJSON_AddStringToObject(root, "procedure", p->procedure);
    cJSON_AddStringToObject(root, "name", p->name);
    cJSON_AddStringToObject(root, "level", level_names[p->level]);
    for (int i = 0; i < PROC_BOOLS; i++)
        cJSON_AddBoolToObject(root, proc_bools[i].name,
                              *(const bool *)((const char *)p + proc_bools[i].off));
    units = cJSON_AddArrayToObject(root, "units");
    if (!units || cJSON_GetArraySize(root) != 5 + PROC_BOOLS)
        goto out;
    for (int i = 0; i < p->nunits; i++) {
        cJSON *s = cJSON_CreateString(p->units[i]);
        if (!s || !cJSON_AddItemToArray(units, s)) {
            cJSON_Delete(s);
            goto out;
        }
    }
    rc = chiso_pu_print(root, buf, size);
out:
    cJSON_Delete(root);
    return rc;
}
