/*
 * scoredoc.c - the parser of chiso-score's input documents (scoredoc.h).
 *
 * It reads outside input (a file or stdin of chiso-score, and
 * tests/fuzz/fuzz_score.c): it is strict, names the field and the problem
 * in every error, and owns nothing once it returns.
 */
#include "chiso/scoredoc.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "chiso/common.h"
#include "parse_util.h"

/* ---- input documents ---------------------------------------------------- */

/* A count of a document: an integer 0..CHISO_SCORE_COUNT_MAX, or null
 * (CHISO_SCORE_ABSENT). */
static int doc_count(const cJSON *it, int64_t *out, char *errstr, size_t errstr_size)
{
    if (cJSON_IsNull(it)) {
        *out = CHISO_SCORE_ABSENT;
        return 0;
    }
    if (!cJSON_IsNumber(it) || !(it->valuedouble >= 0) ||
        !(it->valuedouble <= (double)CHISO_SCORE_COUNT_MAX) ||
        it->valuedouble != floor(it->valuedouble))
        return chiso_errf(errstr, errstr_size, CHISO_EINVAL,
                          "field '%s': must be an integer from 0 to %lld, or null (not supplied)",
                          it->string, (long long)CHISO_SCORE_COUNT_MAX);
    *out = (int64_t)it->valuedouble;
    return 0;
}

/* A count key: a snapshot count, a score input, or both. Returns 1 when
 * `it` is one (and stores it), 0 when its key is no count, or an error. */
static int doc_count_field(const cJSON *it, chiso_snapshot *snap, chiso_score_input *in,
                           char *errstr, size_t errstr_size)
{
    int64_t *count = chiso_snapshot_count_field(&snap->counts, it->string);
    int f = chiso_score_field_from_name(it->string);
    int64_t v = CHISO_SCORE_ABSENT;

    if (!count && f < 0)
        return 0;
    if (doc_count(it, &v, errstr, errstr_size) != 0)
        return CHISO_EINVAL;
    if (count)
        *count = v < 0 ? 0 : v;
    if (f >= 0)
        in->n[f] = v;
    return 1;
}

/* The unit metadata and period of a document. Returns 1 when `it` is one
 * of them (and stores it), 0 when its key is not, or an error. */
static int doc_meta_field(const cJSON *it, chiso_snapshot *snap, bool *has_period, char *errstr,
                          size_t errstr_size)
{
    const char *key = it->string;
    const char *s = cJSON_IsString(it) ? it->valuestring : NULL;
    chiso_unit *u = &snap->unit;
    chiso_period p;

    if (strcmp(key, "unit") == 0) {
        if (!s || !chiso_pu_code_ok(s, CHISO_CODE_MAX, "._-"))
            return chiso_errf(
                errstr, errstr_size, CHISO_EINVAL,
                "field 'unit': must be a unit code, 1..%d characters of [A-Za-z0-9._-]",
                CHISO_CODE_MAX);
        snprintf(u->unit, sizeof(u->unit), "%s", s);
    } else if (strcmp(key, "name") == 0) {
        if (!s || !s[0] || strlen(s) > CHISO_NAME_MAX ||
            !chiso_pu_printable_utf8((const unsigned char *)s, strlen(s)))
            return chiso_errf(errstr, errstr_size, CHISO_EINVAL,
                              "field 'name': must be 1..%d bytes of UTF-8 text without control "
                              "characters",
                              CHISO_NAME_MAX);
        snprintf(u->name, sizeof(u->name), "%s", s);
    } else if (strcmp(key, "kind") == 0) {
        u->kind = CHISO_UNIT_UNKNOWN;
        for (int k = CHISO_UNIT_PROVINCE; s && k <= CHISO_UNIT_COMMUNE; k++) {
            if (strcmp(s, chiso_unit_kind_name((chiso_unit_kind)k)) == 0)
                u->kind = (chiso_unit_kind)k;
        }
        if (u->kind == CHISO_UNIT_UNKNOWN)
            return chiso_errf(errstr, errstr_size, CHISO_EINVAL,
                              "field 'kind': must be \"province\", \"department\" or \"commune\"");
    } else if (strcmp(key, "parent") == 0) {
        if (!cJSON_IsNull(it) && (!s || !chiso_pu_code_ok(s, CHISO_CODE_MAX, "._-")))
            return chiso_errf(errstr, errstr_size, CHISO_EINVAL,
                              "field 'parent': must be a unit code or null");
        snprintf(u->parent, sizeof(u->parent), "%s", s ? s : "");
    } else if (strcmp(key, "period") == 0) {
        if (!s || strlen(s) >= sizeof(snap->period) || chiso_period_parse(s, &p) != 0 ||
            p.kind == CHISO_PERIOD_DAY)
            return chiso_errf(
                errstr, errstr_size, CHISO_EINVAL,
                "field 'period': must be a month (\"2025-07\"), a quarter (\"2025-Q3\") "
                "or a year (\"2025\")");
        snprintf(snap->period, sizeof(snap->period), "%s", s);
        *has_period = true;
    } else if (strcmp(key, "target") == 0) {
        if (!cJSON_IsNull(it) &&
            (!cJSON_IsNumber(it) || !(it->valuedouble >= 0 && it->valuedouble <= 1)))
            return chiso_errf(errstr, errstr_size, CHISO_EINVAL,
                              "field 'target': must be a number from 0 to 1 (0.7 = 70%%), or null");
        u->target_full_process = cJSON_IsNull(it) ? CHISO_SNAPSHOT_DEFAULT_TARGET : it->valuedouble;
    } else if (strcmp(key, "as_of") == 0) {
        if (!s || chiso_time_parse(s, &snap->as_of) != 0)
            return chiso_errf(errstr, errstr_size, CHISO_EINVAL,
                              "field 'as_of': must be an RFC 3339 time with an offset, like "
                              "\"2025-10-01T08:00:00+07:00\"");
    } else {
        return 0;
    }
    return 1;
}

/* "indicators": {"<id>": {"num": n|null, "den": n|null}, ...}, the
 * national portal's figures (score.h: chiso_score_input.figures). An id
 * left out is not supplied; null/null is not applicable (full points). */
static int doc_indicators(const cJSON *obj, chiso_score_input *in, char *errstr, size_t errstr_size)
{
    bool seen[CHISO_SCORE_INDICATORS] = {false};

    if (!cJSON_IsObject(obj))
        return chiso_errf(errstr, errstr_size, CHISO_EINVAL,
                          "field 'indicators': must be an object {\"1\": {\"num\": n, \"den\": "
                          "n}, ...}");
    in->figures = true;
    for (const cJSON *it = obj->child; it; it = it->next) {
        char *end = NULL;
        long id = strtol(it->string, &end, 10);
        const cJSON *num = cJSON_GetObjectItemCaseSensitive(it, "num");
        const cJSON *den = cJSON_GetObjectItemCaseSensitive(it, "den");
        int64_t n = 0, d = 0; /* set by doc_count; GCC -O3 cannot tell */

        if (!it->string[0] || *end || id < 1 || id > CHISO_SCORE_INDICATORS ||
            it->string[0] == '0' || it->string[0] == '+')
            return chiso_errf(errstr, errstr_size, CHISO_EINVAL,
                              "field 'indicators': keys must be indicator numbers \"1\" to "
                              "\"%d\"",
                              CHISO_SCORE_INDICATORS);
        if (seen[id - 1])
            return chiso_errf(errstr, errstr_size, CHISO_EINVAL,
                              "field 'indicators': indicator %ld appears twice", id);
        seen[id - 1] = true;
        if (!cJSON_IsObject(it) || !num || !den || cJSON_GetArraySize(it) != 2)
            return chiso_errf(errstr, errstr_size, CHISO_EINVAL,
                              "field 'indicators': indicator %ld must be {\"num\": n, \"den\": n}",
                              id);
        if (doc_count(num, &n, errstr, errstr_size) != 0 ||
            doc_count(den, &d, errstr, errstr_size) != 0)
            return chiso_errf(errstr, errstr_size, CHISO_EINVAL,
                              "field 'indicators': indicator %ld: num and den must be integers "
                              "from 0 to %lld, or both null (not applicable)",
                              id, (long long)CHISO_SCORE_COUNT_MAX);
        if ((n < 0) != (d < 0))
            return chiso_errf(errstr, errstr_size, CHISO_EINVAL,
                              "field 'indicators': indicator %ld: num and den must both be "
                              "null (not applicable) or both numbers",
                              id);
        if (n > d)
            return chiso_errf(errstr, errstr_size, CHISO_EINVAL,
                              "field 'indicators': indicator %ld: num %lld is over den %lld", id,
                              (long long)n, (long long)d);
        in->num[id - 1] = n < 0 ? CHISO_SCORE_NA : n;
        in->den[id - 1] = d < 0 ? CHISO_SCORE_NA : d;
    }
    return 0;
}

int chiso_score_doc_parse(const char *buf, size_t len, int64_t now, chiso_snapshot *snap,
                          chiso_score_input *in, char *errstr, size_t errstr_size)
{
    cJSON *root = NULL;
    chiso_reject rej;
    bool has_period = false, has_inputs = false;
    int rc;

    memset(snap, 0, sizeof(*snap));
    snap->unit.kind = CHISO_UNIT_UNKNOWN;
    snap->unit.target_full_process = CHISO_SNAPSHOT_DEFAULT_TARGET;
    snap->as_of = now;
    chiso_score_input_init(in);

    rc = chiso_pu_parse_record(buf, len, &root, &rej);
    if (rc == 1)
        return chiso_errf(errstr, errstr_size, CHISO_EINVAL,
                          "the document is empty: expected one JSON object");
    if (rc != 0)
        return chiso_errf(errstr, errstr_size, CHISO_EINVAL, "%s", rej.detail);

    for (const cJSON *it = root->child; it; it = it->next) {
        rc = doc_meta_field(it, snap, &has_period, errstr, errstr_size);
        if (rc == 0 && strcmp(it->string, "indicators") == 0)
            rc = doc_indicators(it, in, errstr, errstr_size) == 0 ? 1 : CHISO_EINVAL;
        if (rc == 0) {
            rc = doc_count_field(it, snap, in, errstr, errstr_size);
            if (rc == 1 && chiso_score_field_from_name(it->string) >= 0)
                has_inputs = true;
        }
        if (rc == 0) /* echo the key only when it is a plain name */
            rc = chiso_errf(errstr, errstr_size, CHISO_EINVAL,
                            "field '%s': unknown (docs/scoring.md lists the fields)",
                            chiso_pu_code_ok(it->string, 64, "._-") ? it->string : "?");
        if (rc < 0)
            goto err;
        /* Only known keys get here, so this scan stays short. */
        for (const cJSON *prev = root->child; prev != it; prev = prev->next) {
            if (strcmp(prev->string, it->string) == 0) {
                rc = chiso_errf(errstr, errstr_size, CHISO_EINVAL, "field '%s': appears twice",
                                it->string);
                goto err;
            }
        }
    }
    rc = CHISO_EINVAL;
    if (!snap->unit.unit[0]) {
        chiso_errf(errstr, errstr_size, CHISO_EINVAL,
                   "field 'unit': missing (the unit code is required)");
        goto err;
    }
    if (!has_period) {
        chiso_errf(errstr, errstr_size, CHISO_EINVAL, "field 'period': missing (e.g. \"2025-Q3\")");
        goto err;
    }
    if (strcmp(snap->unit.parent, snap->unit.unit) == 0) {
        chiso_errf(errstr, errstr_size, CHISO_EINVAL,
                   "field 'parent': a unit cannot be its own parent");
        goto err;
    }
    if (in->figures && has_inputs) {
        chiso_errf(errstr, errstr_size, CHISO_EINVAL,
                   "field 'indicators': give either the portal's figures or the score inputs "
                   "(counts), not both");
        goto err;
    }
    if (!snap->unit.name[0])
        snprintf(snap->unit.name, sizeof(snap->unit.name), "%s", snap->unit.unit);
    rc = 0;
err:
    cJSON_Delete(root);
    return rc;
}
