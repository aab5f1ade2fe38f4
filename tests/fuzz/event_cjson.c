/*
 * event_cjson.c - the event parser as it was before jscan (issue 18): the
 * same checks on cJSON's tree. A test oracle only: fuzz_event_diff and
 * test_event_diff check that chiso_event_parse() gives every input the same
 * verdict, detail and event as this one.
 */
#include "event_cjson.h"

#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "chiso/common.h"
#include "parse_fields.h"
#include "parse_util.h"

static const char *const channel_names[] = {"unknown", "online", "direct", "postal"};
static const char *const method_names[] = {"none", "dvcqg_platform", "provincial_gateway", "cash",
                                           "bank_transfer"};
static const char *const req_kind_names[] = {"none", "in_person", "paper_submission",
                                             "field_verification"};
static const char *const outcome_names[] = {"none", "approved", "denied"};
static const char *const delivery_names[] = {"none", "online", "postal", "counter"};

#define COUNT_OF(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* A required enum string of the event's type. */
static int parse_enum(const cJSON *root, const char *field, const char *const *names, int count,
                      int *out, chiso_event_type type, chiso_reject *rej)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(root, field);
    if (!item)
        return chiso_pu_reject(rej, CHISO_REJECT_MISSING_FIELD,
                               "field '%s' is required for type '%s'", field,
                               chiso_event_type_name(type));
    if (cJSON_IsString(item) && item->valuestring) {
        for (int i = 1; i < count; i++) {
            if (strcmp(item->valuestring, names[i]) == 0) {
                *out = i;
                return 0;
            }
        }
    }
    return chiso_pu_reject(rej, CHISO_REJECT_BAD_VALUE,
                           "field '%s' is not one of the contract's %s values", field, field);
}

#define AMOUNT_MAX 9007199254740992.0 /* 2^53: every integer up to it is exact */

/* ---- parsing ------------------------------------------------------------ */

/* The fields of the event's own type (check 8). */
static int parse_type_fields(const cJSON *root, chiso_event *ev, chiso_reject *rej)
{
    const cJSON *item;
    int e = 0, rc = 0;

    switch (ev->type) {
    case CHISO_EV_SUBMITTED:
        rc = parse_enum(root, "channel", channel_names, COUNT_OF(channel_names), &e, ev->type, rej);
        ev->channel = (chiso_channel)e;
        break;
    case CHISO_EV_RECEIVED:
        item = cJSON_GetObjectItemCaseSensitive(root, "due_at");
        if (!item)
            return chiso_pu_reject(rej, CHISO_REJECT_MISSING_FIELD,
                                   "field 'due_at' is required for type 'received'");
        if ((rc = chiso_pu_time_item(item, "due_at", &ev->due_at, rej)) != 0 ||
            (rc = chiso_pu_opt_bool(root, "digitized", &ev->digitized, rej)) != 0 ||
            (rc = chiso_pu_opt_bool(root, "reused_data", &ev->reused_data, rej)) != 0 ||
            (rc = chiso_pu_opt_bool(root, "from_data_store", &ev->from_data_store, rej)) != 0)
            return rc;
        rc = chiso_pu_opt_bool(root, "population_data", &ev->population_data, rej);
        break;
    case CHISO_EV_NOT_ACCEPTED:
        item = cJSON_GetObjectItemCaseSensitive(root, "reason");
        if (item && !cJSON_IsString(item))
            return chiso_pu_reject(rej, CHISO_REJECT_BAD_VALUE, "field 'reason' must be a string");
        break;
    case CHISO_EV_FEE_REQUESTED:
        item = cJSON_GetObjectItemCaseSensitive(root, "amount");
        if (!item)
            return chiso_pu_reject(rej, CHISO_REJECT_MISSING_FIELD,
                                   "field 'amount' is required for type 'fee_requested'");
        /* The comparisons are false for NaN, so NaN fails too. */
        if (!cJSON_IsNumber(item) || !(item->valuedouble >= 0.0) ||
            !(item->valuedouble <= AMOUNT_MAX) ||
            (double)(int64_t)item->valuedouble != item->valuedouble)
            return chiso_pu_reject(rej, CHISO_REJECT_BAD_VALUE,
                                   "field 'amount' must be a whole number of VND from 0 to 2^53");
        ev->amount = (int64_t)item->valuedouble;
        break;
    case CHISO_EV_PAID:
        rc = parse_enum(root, "method", method_names, COUNT_OF(method_names), &e, ev->type, rej);
        ev->method = (chiso_pay_method)e;
        break;
    case CHISO_EV_REQUIREMENT:
        rc = parse_enum(root, "kind", req_kind_names, COUNT_OF(req_kind_names), &e, ev->type, rej);
        ev->kind = (chiso_requirement_kind)e;
        break;
    case CHISO_EV_RESOLVED:
        if ((rc = parse_enum(root, "outcome", outcome_names, COUNT_OF(outcome_names), &e, ev->type,
                             rej)) != 0)
            return rc;
        ev->outcome = (chiso_outcome)e;
        if ((rc = chiso_pu_opt_bool(root, "e_result", &ev->e_result, rej)) != 0)
            return rc;
        rc = chiso_pu_opt_bool(root, "e_signed", &ev->e_signed, rej);
        break;
    case CHISO_EV_RETURNED:
        if ((rc = parse_enum(root, "delivery", delivery_names, COUNT_OF(delivery_names), &e,
                             ev->type, rej)) != 0)
            return rc;
        ev->delivery = (chiso_delivery)e;
        rc = chiso_pu_opt_bool(root, "paper_copy", &ev->paper_copy, rej);
        break;
    case CHISO_EV_RATED:
        rc = chiso_pu_req_bool(root, "satisfied", chiso_event_type_name(ev->type), &ev->satisfied,
                               rej);
        break;
    default: /* processing, supplement_*, withdrawn, stopped, synced, complaint */
        break;
    }
    return rc;
}

enum { F_EVENT_ID, F_DOSSIER_ID, F_UNIT, F_PROCEDURE, F_TYPE, F_AT, F_COUNT };
static const char *const common_fields[F_COUNT] = {"event_id",  "dossier_id", "unit",
                                                   "procedure", "type",       "at"};

/* Checks 3 to 8 on a parsed JSON object. */
static int parse_object(const cJSON *root, chiso_event *ev, chiso_reject *rej)
{
    const cJSON *v, *f[F_COUNT];
    const char *s[F_COUNT];
    char quoted[32];

    v = cJSON_GetObjectItemCaseSensitive(root, "v");
    if (!v)
        return chiso_pu_reject(rej, CHISO_REJECT_MISSING_FIELD, "field 'v' is missing");
    if (!cJSON_IsNumber(v) || v->valuedouble != 1.0)
        return chiso_pu_reject(rej, CHISO_REJECT_BAD_VALUE, "field 'v' must be the number 1");

    for (int i = 0; i < F_COUNT; i++) {
        f[i] = cJSON_GetObjectItemCaseSensitive(root, common_fields[i]);
        if (!f[i])
            return chiso_pu_reject(rej, CHISO_REJECT_MISSING_FIELD, "field '%s' is missing",
                                   common_fields[i]);
    }
    for (int i = 0; i < F_COUNT; i++) {
        if (!cJSON_IsString(f[i]) || !f[i]->valuestring)
            return chiso_pu_reject(rej, CHISO_REJECT_BAD_VALUE, "field '%s' must be a string",
                                   common_fields[i]);
        s[i] = f[i]->valuestring;
    }

    ev->type = chiso_event_type_from_name(s[F_TYPE]);
    if (ev->type == CHISO_EV_NONE)
        return chiso_pu_reject(rej, CHISO_REJECT_UNKNOWN_TYPE,
                               "field 'type' value '%s' is not a contract event type",
                               chiso_pu_quote_safe(s[F_TYPE], quoted));

    {
        size_t n = strlen(s[F_EVENT_ID]);
        if (n < 1 || n > CHISO_ID_MAX ||
            !chiso_pu_printable_utf8((const unsigned char *)s[F_EVENT_ID], n))
            return chiso_pu_reject(rej, CHISO_REJECT_BAD_VALUE,
                                   "field 'event_id' must be 1..64 bytes of printable UTF-8");
    }
    if (!chiso_pu_code_ok(s[F_DOSSIER_ID], CHISO_ID_MAX, "._:/-"))
        return chiso_pu_reject(rej, CHISO_REJECT_BAD_VALUE,
                               "field 'dossier_id' must be 1..64 characters of [A-Za-z0-9._:/-]");
    if (!chiso_pu_code_ok(s[F_UNIT], CHISO_CODE_MAX, "._-"))
        return chiso_pu_reject(rej, CHISO_REJECT_BAD_VALUE,
                               "field 'unit' must be 1..32 characters of [A-Za-z0-9._-]");
    if (!chiso_pu_code_ok(s[F_PROCEDURE], CHISO_CODE_MAX, "._-"))
        return chiso_pu_reject(rej, CHISO_REJECT_BAD_VALUE,
                               "field 'procedure' must be 1..32 characters of [A-Za-z0-9._-]");
    if (chiso_pu_time_item(f[F_AT], "at", &ev->at, rej) != 0)
        return CHISO_EINVAL;

    /* Lengths were checked above, so these copies always fit. */
    strcpy(ev->event_id, s[F_EVENT_ID]);
    strcpy(ev->dossier_id, s[F_DOSSIER_ID]);
    strcpy(ev->unit, s[F_UNIT]);
    strcpy(ev->procedure, s[F_PROCEDURE]);

    return parse_type_fields(root, ev, rej);
}

int chiso_event_parse_cjson(const char *buf, size_t len, chiso_event *ev, chiso_reject *rej)
{
    cJSON *root = NULL;
    const char *end = NULL;
    int rc = CHISO_EINVAL;

    if (rej) {
        rej->reason = CHISO_REJECT_NONE;
        rej->detail[0] = '\0';
    }
    memset(ev, 0, sizeof(*ev));
    if (len > CHISO_EVENT_MAX_BYTES)
        return chiso_pu_reject(rej, CHISO_REJECT_TOO_LARGE,
                               "payload of %zu bytes is over the %d-byte limit", len,
                               CHISO_EVENT_MAX_BYTES);
    if (!buf || len == 0)
        return chiso_pu_reject(rej, CHISO_REJECT_JSON_SYNTAX, "payload is empty");
    if (!chiso_pu_no_raw_controls(buf, len))
        return chiso_pu_reject(rej, CHISO_REJECT_JSON_SYNTAX,
                               "payload contains a raw control byte");

    root = cJSON_ParseWithLengthOpts(buf, len, &end, 0);
    if (!root) {
        rc = chiso_pu_reject(rej, CHISO_REJECT_JSON_SYNTAX, "payload is not valid JSON");
        goto out;
    }
    while (end < buf + len && (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r'))
        end++;
    if (end != buf + len) {
        rc =
            chiso_pu_reject(rej, CHISO_REJECT_JSON_SYNTAX, "payload has data after the JSON value");
        goto out;
    }
    if (!cJSON_IsObject(root)) {
        rc = chiso_pu_reject(rej, CHISO_REJECT_JSON_SYNTAX, "payload is not a JSON object");
        goto out;
    }
    rc = parse_object(root, ev, rej);

out:
    cJSON_Delete(root);
    if (rc != 0)
        memset(ev, 0, sizeof(*ev));
    return rc;
}
