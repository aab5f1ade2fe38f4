/*
 * test_event.c - chiso_event_parse / chiso_event_to_json against CONTRACT.md:
 * one valid record of every type, every rejection with its exact reason
 * code, and serialization round trips.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "chiso/common.h"
#include "chiso/event.h"

#define AT_0800 1751331600 /* 2025-07-01T08:00:00+07:00 */

/* Build one event record: the common fields (type `type`), then `extra`
 * (raw JSON members, may be ""). `omit` drops a common field; `set_key`
 * replaces a common field's raw JSON value with `set_val`. */
static void mk(char *out, size_t size, const char *type, const char *extra, const char *omit,
               const char *set_key, const char *set_val)
{
    const char *keys[] = {"v", "event_id", "dossier_id", "unit", "procedure", "type", "at"};
    char type_json[64];
    const char *vals[] = {"1",
                          "\"ev-0001\"",
                          "\"H21.42-250701-0001\"",
                          "\"H21.42\"",
                          "\"1.004227\"",
                          type_json,
                          "\"2025-07-01T08:00:00+07:00\""};
    size_t n = 0;
    int first = 1;

    snprintf(type_json, sizeof(type_json), "\"%s\"", type);
    n += (size_t)snprintf(out + n, size - n, "{");
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        const char *v = vals[i];
        if (omit && strcmp(omit, keys[i]) == 0)
            continue;
        if (set_key && strcmp(set_key, keys[i]) == 0)
            v = set_val;
        n += (size_t)snprintf(out + n, size - n, "%s\"%s\":%s", first ? "" : ",", keys[i], v);
        first = 0;
    }
    if (extra && extra[0])
        n += (size_t)snprintf(out + n, size - n, ",%s", extra);
    snprintf(out + n, size - n, "}");
}

static int event_equal(const chiso_event *a, const chiso_event *b)
{
    return a->type == b->type && strcmp(a->event_id, b->event_id) == 0 &&
           strcmp(a->dossier_id, b->dossier_id) == 0 && strcmp(a->unit, b->unit) == 0 &&
           strcmp(a->procedure, b->procedure) == 0 && a->at == b->at && a->channel == b->channel &&
           a->due_at == b->due_at && a->digitized == b->digitized &&
           a->reused_data == b->reused_data && a->from_data_store == b->from_data_store &&
           a->population_data == b->population_data && a->amount == b->amount &&
           a->method == b->method && a->kind == b->kind && a->outcome == b->outcome &&
           a->e_result == b->e_result && a->e_signed == b->e_signed && a->delivery == b->delivery &&
           a->paper_copy == b->paper_copy && a->satisfied == b->satisfied;
}

static void fill_common(chiso_event *ev, chiso_event_type type)
{
    memset(ev, 0, sizeof(*ev));
    ev->type = type;
    strcpy(ev->event_id, "ev-0001");
    strcpy(ev->dossier_id, "H21.42-250701-0001");
    strcpy(ev->unit, "H21.42");
    strcpy(ev->procedure, "1.004227");
    ev->at = AT_0800;
}

/* Parse, compare with the expected event, then to_json -> parse again. */
static void check_valid(const char *json, const chiso_event *want)
{
    chiso_event ev, again;
    chiso_reject rej;
    char out[1024];
    int n, rc = chiso_event_parse(json, strlen(json), &ev, &rej);

    CHECK_EQ_INT(rc, 0, "parse %s: %s %s", json, chiso_reject_code(rej.reason), rej.detail);
    if (rc != 0)
        return;
    CHECK(event_equal(&ev, want), "fields of %s", json);
    n = chiso_event_to_json(&ev, out, sizeof(out));
    CHECK(n > 0 && (size_t)n == strlen(out), "to_json of %s", json);
    if (n <= 0)
        return;
    rc = chiso_event_parse(out, (size_t)n, &again, &rej);
    CHECK_EQ_INT(rc, 0, "reparse %s: %s", out, rej.detail);
    CHECK(event_equal(&ev, &again), "round trip %s", out);
    /* Too small a buffer is ERANGE, exactly enough is fine. */
    CHECK_EQ_INT(chiso_event_to_json(&ev, out, (size_t)n), CHISO_ERANGE, "ERANGE");
    CHECK_EQ_INT(chiso_event_to_json(&ev, out, (size_t)n + 1), n, "exact size");
}

static void test_valid_every_type(void)
{
    char buf[1024];
    chiso_event want;
    int seen[CHISO_EV_TYPE_COUNT] = {0};

    static const struct {
        chiso_event_type type;
        const char *extra;
    } plain[] = {
        {CHISO_EV_NOT_ACCEPTED, "\"reason\":\"thiếu giấy tờ\""},
        {CHISO_EV_NOT_ACCEPTED, ""},
        {CHISO_EV_PROCESSING, ""},
        {CHISO_EV_SUPPLEMENT_REQUESTED, ""},
        {CHISO_EV_SUPPLEMENT_RECEIVED, ""},
        {CHISO_EV_WITHDRAWN, ""},
        {CHISO_EV_STOPPED, ""},
        {CHISO_EV_SYNCED, ""},
        {CHISO_EV_COMPLAINT, ""},
    };
    for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
        mk(buf, sizeof(buf), chiso_event_type_name(plain[i].type), plain[i].extra, NULL, NULL,
           NULL);
        fill_common(&want, plain[i].type);
        check_valid(buf, &want);
        seen[plain[i].type] = 1;
    }

    static const char *const channels[] = {"online", "direct", "postal"};
    for (int c = 0; c < 3; c++) {
        char extra[64];
        snprintf(extra, sizeof(extra), "\"channel\":\"%s\"", channels[c]);
        mk(buf, sizeof(buf), "submitted", extra, NULL, NULL, NULL);
        fill_common(&want, CHISO_EV_SUBMITTED);
        want.channel = (chiso_channel)(CHISO_CHANNEL_ONLINE + c);
        check_valid(buf, &want);
        CHECK_EQ_STR(chiso_channel_name(want.channel), channels[c]);
    }
    seen[CHISO_EV_SUBMITTED] = 1;

    mk(buf, sizeof(buf), "received",
       "\"due_at\":\"2025-07-15T17:00:00+07:00\",\"digitized\":true,\"reused_data\":false,"
       "\"from_data_store\":true,\"population_data\":true",
       NULL, NULL, NULL);
    fill_common(&want, CHISO_EV_RECEIVED);
    want.due_at = 1752573600;
    want.digitized = want.from_data_store = want.population_data = true;
    check_valid(buf, &want);
    /* Optional bools default to false; due_at before at is late data, accepted. */
    mk(buf, sizeof(buf), "received", "\"due_at\":\"2025-06-30T00:00:00Z\"", NULL, NULL, NULL);
    fill_common(&want, CHISO_EV_RECEIVED);
    want.due_at = 1751241600;
    check_valid(buf, &want);
    seen[CHISO_EV_RECEIVED] = 1;

    static const struct {
        const char *json;
        int64_t amount;
    } fees[] = {{"\"amount\":0", 0},
                {"\"amount\":150000", 150000},
                {"\"amount\":1.5e5", 150000},
                {"\"amount\":9007199254740992", 9007199254740992LL}};
    for (size_t i = 0; i < sizeof(fees) / sizeof(fees[0]); i++) {
        mk(buf, sizeof(buf), "fee_requested", fees[i].json, NULL, NULL, NULL);
        fill_common(&want, CHISO_EV_FEE_REQUESTED);
        want.amount = fees[i].amount;
        check_valid(buf, &want);
    }
    seen[CHISO_EV_FEE_REQUESTED] = 1;

    static const char *const methods[] = {"dvcqg_platform", "provincial_gateway", "cash",
                                          "bank_transfer"};
    for (int m = 0; m < 4; m++) {
        char extra[64];
        snprintf(extra, sizeof(extra), "\"method\":\"%s\"", methods[m]);
        mk(buf, sizeof(buf), "paid", extra, NULL, NULL, NULL);
        fill_common(&want, CHISO_EV_PAID);
        want.method = (chiso_pay_method)(CHISO_PAY_DVCQG_PLATFORM + m);
        check_valid(buf, &want);
        CHECK_EQ_STR(chiso_pay_method_name(want.method), methods[m]);
    }
    seen[CHISO_EV_PAID] = 1;

    static const char *const kinds[] = {"in_person", "paper_submission", "field_verification"};
    for (int k = 0; k < 3; k++) {
        char extra[64];
        snprintf(extra, sizeof(extra), "\"kind\":\"%s\"", kinds[k]);
        mk(buf, sizeof(buf), "requirement", extra, NULL, NULL, NULL);
        fill_common(&want, CHISO_EV_REQUIREMENT);
        want.kind = (chiso_requirement_kind)(CHISO_REQ_IN_PERSON + k);
        check_valid(buf, &want);
        CHECK_EQ_STR(chiso_requirement_kind_name(want.kind), kinds[k]);
    }
    seen[CHISO_EV_REQUIREMENT] = 1;

    mk(buf, sizeof(buf), "resolved", "\"outcome\":\"approved\",\"e_result\":true,\"e_signed\":true",
       NULL, NULL, NULL);
    fill_common(&want, CHISO_EV_RESOLVED);
    want.outcome = CHISO_OUTCOME_APPROVED;
    want.e_result = want.e_signed = true;
    check_valid(buf, &want);
    mk(buf, sizeof(buf), "resolved", "\"outcome\":\"denied\"", NULL, NULL, NULL);
    fill_common(&want, CHISO_EV_RESOLVED);
    want.outcome = CHISO_OUTCOME_DENIED;
    check_valid(buf, &want);
    seen[CHISO_EV_RESOLVED] = 1;

    static const char *const deliveries[] = {"online", "postal", "counter"};
    for (int d = 0; d < 3; d++) {
        char extra[64];
        snprintf(extra, sizeof(extra), "\"delivery\":\"%s\",\"paper_copy\":%s", deliveries[d],
                 d == 2 ? "true" : "false");
        mk(buf, sizeof(buf), "returned", extra, NULL, NULL, NULL);
        fill_common(&want, CHISO_EV_RETURNED);
        want.delivery = (chiso_delivery)(CHISO_DELIVERY_ONLINE + d);
        want.paper_copy = d == 2;
        check_valid(buf, &want);
        CHECK_EQ_STR(chiso_delivery_name(want.delivery), deliveries[d]);
    }
    seen[CHISO_EV_RETURNED] = 1;

    mk(buf, sizeof(buf), "rated", "\"satisfied\":true", NULL, NULL, NULL);
    fill_common(&want, CHISO_EV_RATED);
    want.satisfied = true;
    check_valid(buf, &want);
    mk(buf, sizeof(buf), "rated", "\"satisfied\":false", NULL, NULL, NULL);
    fill_common(&want, CHISO_EV_RATED);
    check_valid(buf, &want);
    seen[CHISO_EV_RATED] = 1;

    for (int t = CHISO_EV_NONE + 1; t < CHISO_EV_TYPE_COUNT; t++) {
        CHECK(seen[t], "no valid example of type %s", chiso_event_type_name((chiso_event_type)t));
        CHECK_EQ_INT(chiso_event_type_from_name(chiso_event_type_name((chiso_event_type)t)), t,
                     "type name round trip");
    }
}

static void test_valid_details(void)
{
    chiso_event ev, want;
    chiso_reject rej;
    char buf[2048];
    const char *s;

    /* Unknown fields (even fields of other types, even wrongly typed) are ignored;
     * whitespace around the object is fine; fraction and other offsets accepted. */
    s = " \n{\"v\":1,\"event_id\":\"ev-0001\",\"dossier_id\":\"H21.42-250701-0001\","
        "\"unit\":\"H21.42\",\"procedure\":\"1.004227\",\"type\":\"processing\","
        "\"at\":\"2025-07-01T01:00:00.123Z\",\"extra\":{\"a\":[1,2,null]},"
        "\"channel\":42,\"due_at\":\"nope\",\"satisfied\":\"x\"}\r\n\t ";
    fill_common(&want, CHISO_EV_PROCESSING);
    CHECK_EQ_INT(chiso_event_parse(s, strlen(s), &ev, &rej), 0, "unknown fields: %s", rej.detail);
    CHECK(event_equal(&ev, &want), "unknown fields ignored");

    /* v as 1.0 is the number 1. */
    mk(buf, sizeof(buf), "synced", "", NULL, "v", "1.0");
    CHECK_EQ_INT(chiso_event_parse(buf, strlen(buf), &ev, &rej), 0, "v 1.0");

    /* Maximum lengths and charsets. */
    mk(buf, sizeof(buf), "synced", "", NULL, "event_id",
       "\"0123456789012345678901234567890123456789012345678901234567890123\"");
    CHECK_EQ_INT(chiso_event_parse(buf, strlen(buf), &ev, &rej), 0, "64-byte event_id");
    CHECK_EQ_INT(strlen(ev.event_id), 64, "64-byte event_id kept");
    mk(buf, sizeof(buf), "synced", "", NULL, "event_id", "\"hồ sơ \\\"số\\\" 1 \\u00e9\"");
    CHECK_EQ_INT(chiso_event_parse(buf, strlen(buf), &ev, &rej), 0, "UTF-8 event_id: %s",
                 rej.detail);
    CHECK_EQ_STR(ev.event_id, "hồ sơ \"số\" 1 é");
    mk(buf, sizeof(buf), "synced", "", NULL, "dossier_id", "\"a.B_9:x/y-z\"");
    CHECK_EQ_INT(chiso_event_parse(buf, strlen(buf), &ev, &rej), 0, "dossier_id charset");
    mk(buf, sizeof(buf), "synced", "", NULL, "unit", "\"01234567890123456789012345678901\"");
    CHECK_EQ_INT(chiso_event_parse(buf, strlen(buf), &ev, &rej), 0, "32-byte unit");
    mk(buf, sizeof(buf), "synced", "", NULL, "procedure", "\"a.b_c-D\"");
    CHECK_EQ_INT(chiso_event_parse(buf, strlen(buf), &ev, &rej), 0, "procedure charset");

    /* Not NUL-terminated: parse only the first len bytes. */
    mk(buf, sizeof(buf), "synced", "", NULL, NULL, NULL);
    {
        size_t n = strlen(buf);
        char *copy = malloc(n);
        memcpy(copy, buf, n);
        CHECK_EQ_INT(chiso_event_parse(copy, n, &ev, &rej), 0, "unterminated buffer");
        free(copy);
    }

    /* A payload of exactly 64 KiB is fine (padded with whitespace). */
    {
        char *big = malloc(CHISO_EVENT_MAX_BYTES);
        mk(buf, sizeof(buf), "synced", "", NULL, NULL, NULL);
        memset(big, ' ', CHISO_EVENT_MAX_BYTES);
        memcpy(big, buf, strlen(buf));
        CHECK_EQ_INT(chiso_event_parse(big, CHISO_EVENT_MAX_BYTES, &ev, &rej), 0, "64 KiB");
        free(big);
    }
    /* The reject struct may be NULL. */
    CHECK_EQ_INT(chiso_event_parse("x", 1, &ev, NULL), CHISO_EINVAL, "NULL rej");
}

struct reject_case {
    const char *name;
    const char *json; /* NULL: built by mk() from the fields below */
    const char *type, *extra, *omit, *set_key, *set_val;
    chiso_reject_reason reason;
    const char *detail_has; /* the detail must mention this (the field) */
};

#define R_JSON(name, json, reason)                                                                 \
    {                                                                                              \
        name, json, NULL, NULL, NULL, NULL, NULL, reason, NULL                                     \
    }
#define R_OMIT(field, reason)                                                                      \
    {                                                                                              \
        "omit " field, NULL, "synced", "", field, NULL, NULL, reason, "'" field "'"                \
    }
#define R_SET(name, field, val, reason)                                                            \
    {                                                                                              \
        name, NULL, "synced", "", NULL, field, val, reason, "'" field "'"                          \
    }
#define R_TYPE(name, type, extra, reason, field)                                                   \
    {                                                                                              \
        name, NULL, type, extra, NULL, NULL, NULL, reason, "'" field "'"                           \
    }

static const struct reject_case reject_cases[] = {
    /* json_syntax */
    R_JSON("garbage", "hello", CHISO_REJECT_JSON_SYNTAX),
    R_JSON("empty", "", CHISO_REJECT_JSON_SYNTAX),
    R_JSON("blank", "   ", CHISO_REJECT_JSON_SYNTAX),
    R_JSON("truncated", "{\"v\":1,\"event_id\":\"ev-1", CHISO_REJECT_JSON_SYNTAX),
    R_JSON("truncated after comma", "{\"v\":1,", CHISO_REJECT_JSON_SYNTAX),
    R_JSON("array", "[{\"v\":1}]", CHISO_REJECT_JSON_SYNTAX),
    R_JSON("string", "\"submitted\"", CHISO_REJECT_JSON_SYNTAX),
    R_JSON("number", "1", CHISO_REJECT_JSON_SYNTAX),
    R_JSON("null", "null", CHISO_REJECT_JSON_SYNTAX),
    R_JSON("trailing junk", "{\"v\":1} x", CHISO_REJECT_JSON_SYNTAX),
    R_JSON("two objects", "{\"v\":1}{\"v\":1}", CHISO_REJECT_JSON_SYNTAX),
    R_JSON("trailing comma", "{\"v\":1,}", CHISO_REJECT_JSON_SYNTAX),
    R_JSON("single quotes", "{'v':1}", CHISO_REJECT_JSON_SYNTAX),
    R_JSON("raw control in string", "{\"v\":1,\"event_id\":\"a\x01\"}", CHISO_REJECT_JSON_SYNTAX),
    R_JSON("leading control byte", "\x01{\"v\":1}", CHISO_REJECT_JSON_SYNTAX),
    /* v */
    R_JSON("v missing", "{\"event_id\":\"e\"}", CHISO_REJECT_MISSING_FIELD),
    R_SET("v=2", "v", "2", CHISO_REJECT_BAD_VALUE),
    R_SET("v=\"1\"", "v", "\"1\"", CHISO_REJECT_BAD_VALUE),
    R_SET("v=true", "v", "true", CHISO_REJECT_BAD_VALUE),
    R_SET("v=null", "v", "null", CHISO_REJECT_BAD_VALUE),
    R_SET("v=1.5", "v", "1.5", CHISO_REJECT_BAD_VALUE),
    /* missing common fields, in turn */
    R_OMIT("event_id", CHISO_REJECT_MISSING_FIELD),
    R_OMIT("dossier_id", CHISO_REJECT_MISSING_FIELD),
    R_OMIT("unit", CHISO_REJECT_MISSING_FIELD),
    R_OMIT("procedure", CHISO_REJECT_MISSING_FIELD),
    R_OMIT("type", CHISO_REJECT_MISSING_FIELD),
    R_OMIT("at", CHISO_REJECT_MISSING_FIELD),
    /* wrong JSON types of common fields */
    R_SET("event_id number", "event_id", "12", CHISO_REJECT_BAD_VALUE),
    R_SET("dossier_id null", "dossier_id", "null", CHISO_REJECT_BAD_VALUE),
    R_SET("unit object", "unit", "{}", CHISO_REJECT_BAD_VALUE),
    R_SET("procedure array", "procedure", "[\"p\"]", CHISO_REJECT_BAD_VALUE),
    R_SET("type number", "type", "3", CHISO_REJECT_BAD_VALUE),
    R_SET("at number", "at", "1751331600", CHISO_REJECT_BAD_VALUE),
    /* unknown type */
    R_SET("type unknown", "type", "\"teleported\"", CHISO_REJECT_UNKNOWN_TYPE),
    R_SET("type case", "type", "\"Submitted\"", CHISO_REJECT_UNKNOWN_TYPE),
    R_SET("type empty", "type", "\"\"", CHISO_REJECT_UNKNOWN_TYPE),
    R_SET("type none", "type", "\"none\"", CHISO_REJECT_UNKNOWN_TYPE),
    /* ids and codes */
    R_SET("event_id empty", "event_id", "\"\"", CHISO_REJECT_BAD_VALUE),
    R_SET("event_id 65", "event_id",
          "\"01234567890123456789012345678901234567890123456789012345678901234\"",
          CHISO_REJECT_BAD_VALUE),
    R_SET("event_id control", "event_id", "\"a\\u0007b\"", CHISO_REJECT_BAD_VALUE),
    R_SET("event_id newline", "event_id", "\"a\\nb\"", CHISO_REJECT_BAD_VALUE),
    R_SET("event_id bad UTF-8", "event_id", "\"a\xff\"", CHISO_REJECT_BAD_VALUE),
    R_SET("event_id overlong UTF-8", "event_id", "\"\xc0\xaf\"", CHISO_REJECT_BAD_VALUE),
    R_SET("event_id truncated UTF-8", "event_id", "\"ab\xe1\xba\"", CHISO_REJECT_BAD_VALUE),
    R_SET("event_id surrogate", "event_id", "\"\xed\xa0\x80\"", CHISO_REJECT_BAD_VALUE),
    R_SET("dossier_id empty", "dossier_id", "\"\"", CHISO_REJECT_BAD_VALUE),
    R_SET("dossier_id space", "dossier_id", "\"H21 1\"", CHISO_REJECT_BAD_VALUE),
    R_SET("dossier_id non-ASCII", "dossier_id", "\"hồsơ\"", CHISO_REJECT_BAD_VALUE),
    R_SET("dossier_id 65", "dossier_id",
          "\"01234567890123456789012345678901234567890123456789012345678901234\"",
          CHISO_REJECT_BAD_VALUE),
    R_SET("unit colon", "unit", "\"H21:42\"", CHISO_REJECT_BAD_VALUE),
    R_SET("unit slash", "unit", "\"H21/42\"", CHISO_REJECT_BAD_VALUE),
    R_SET("unit 33", "unit", "\"012345678901234567890123456789012\"", CHISO_REJECT_BAD_VALUE),
    R_SET("unit empty", "unit", "\"\"", CHISO_REJECT_BAD_VALUE),
    R_SET("procedure space", "procedure", "\"1 004\"", CHISO_REJECT_BAD_VALUE),
    R_SET("procedure 33", "procedure", "\"012345678901234567890123456789012\"",
          CHISO_REJECT_BAD_VALUE),
    /* at */
    R_SET("at no offset", "at", "\"2025-07-01T08:00:00\"", CHISO_REJECT_BAD_VALUE),
    R_SET("at date only", "at", "\"2025-07-01\"", CHISO_REJECT_BAD_VALUE),
    R_SET("at Feb 29 2023", "at", "\"2023-02-29T08:00:00+07:00\"", CHISO_REJECT_BAD_VALUE),
    R_SET("at month 13", "at", "\"2025-13-01T08:00:00+07:00\"", CHISO_REJECT_BAD_VALUE),
    R_SET("at 24:00", "at", "\"2025-07-01T24:00:00+07:00\"", CHISO_REJECT_BAD_VALUE),
    R_SET("at compact", "at", "\"20250701080000\"", CHISO_REJECT_BAD_VALUE),
    R_SET("at before year 0", "at", "\"0000-01-01T00:00:00+08:00\"", CHISO_REJECT_BAD_VALUE),
    /* per-type required fields */
    R_TYPE("submitted no channel", "submitted", "\"x\":1", CHISO_REJECT_MISSING_FIELD, "channel"),
    R_TYPE("received no due_at", "received", "\"digitized\":true", CHISO_REJECT_MISSING_FIELD,
           "due_at"),
    R_TYPE("fee no amount", "fee_requested", "", CHISO_REJECT_MISSING_FIELD, "amount"),
    R_TYPE("paid no method", "paid", "", CHISO_REJECT_MISSING_FIELD, "method"),
    R_TYPE("requirement no kind", "requirement", "", CHISO_REJECT_MISSING_FIELD, "kind"),
    R_TYPE("resolved no outcome", "resolved", "\"e_result\":true", CHISO_REJECT_MISSING_FIELD,
           "outcome"),
    R_TYPE("returned no delivery", "returned", "", CHISO_REJECT_MISSING_FIELD, "delivery"),
    R_TYPE("rated no satisfied", "rated", "", CHISO_REJECT_MISSING_FIELD, "satisfied"),
    /* per-type bad values */
    R_TYPE("channel bad", "submitted", "\"channel\":\"email\"", CHISO_REJECT_BAD_VALUE, "channel"),
    R_TYPE("channel case", "submitted", "\"channel\":\"Online\"", CHISO_REJECT_BAD_VALUE,
           "channel"),
    R_TYPE("channel number", "submitted", "\"channel\":1", CHISO_REJECT_BAD_VALUE, "channel"),
    R_TYPE("channel unknown", "submitted", "\"channel\":\"unknown\"", CHISO_REJECT_BAD_VALUE,
           "channel"),
    R_TYPE("due_at bad", "received", "\"due_at\":\"2025-02-30T00:00:00Z\"", CHISO_REJECT_BAD_VALUE,
           "due_at"),
    R_TYPE("due_at no offset", "received", "\"due_at\":\"2025-07-15T17:00:00\"",
           CHISO_REJECT_BAD_VALUE, "due_at"),
    R_TYPE("due_at number", "received", "\"due_at\":1752573600", CHISO_REJECT_BAD_VALUE, "due_at"),
    R_TYPE("digitized string", "received",
           "\"due_at\":\"2025-07-15T17:00:00+07:00\",\"digitized\":\"true\"",
           CHISO_REJECT_BAD_VALUE, "digitized"),
    R_TYPE("population_data number", "received",
           "\"due_at\":\"2025-07-15T17:00:00+07:00\",\"population_data\":1", CHISO_REJECT_BAD_VALUE,
           "population_data"),
    R_TYPE("reused_data null", "received",
           "\"due_at\":\"2025-07-15T17:00:00+07:00\",\"reused_data\":null", CHISO_REJECT_BAD_VALUE,
           "reused_data"),
    R_TYPE("amount negative", "fee_requested", "\"amount\":-1", CHISO_REJECT_BAD_VALUE, "amount"),
    R_TYPE("amount fraction", "fee_requested", "\"amount\":1.5", CHISO_REJECT_BAD_VALUE, "amount"),
    R_TYPE("amount string", "fee_requested", "\"amount\":\"100\"", CHISO_REJECT_BAD_VALUE,
           "amount"),
    R_TYPE("amount over 2^53", "fee_requested", "\"amount\":9007199254740994",
           CHISO_REJECT_BAD_VALUE, "amount"),
    R_TYPE("amount huge", "fee_requested", "\"amount\":1e400", CHISO_REJECT_BAD_VALUE, "amount"),
    R_TYPE("method bad", "paid", "\"method\":\"bitcoin\"", CHISO_REJECT_BAD_VALUE, "method"),
    R_TYPE("kind bad", "requirement", "\"kind\":\"phone_call\"", CHISO_REJECT_BAD_VALUE, "kind"),
    R_TYPE("outcome bad", "resolved", "\"outcome\":\"maybe\"", CHISO_REJECT_BAD_VALUE, "outcome"),
    R_TYPE("e_signed string", "resolved", "\"outcome\":\"approved\",\"e_signed\":\"yes\"",
           CHISO_REJECT_BAD_VALUE, "e_signed"),
    R_TYPE("e_result number", "resolved", "\"outcome\":\"approved\",\"e_result\":0",
           CHISO_REJECT_BAD_VALUE, "e_result"),
    R_TYPE("delivery bad", "returned", "\"delivery\":\"drone\"", CHISO_REJECT_BAD_VALUE,
           "delivery"),
    R_TYPE("paper_copy string", "returned", "\"delivery\":\"online\",\"paper_copy\":\"false\"",
           CHISO_REJECT_BAD_VALUE, "paper_copy"),
    R_TYPE("satisfied string", "rated", "\"satisfied\":\"true\"", CHISO_REJECT_BAD_VALUE,
           "satisfied"),
    R_TYPE("satisfied null", "rated", "\"satisfied\":null", CHISO_REJECT_BAD_VALUE, "satisfied"),
    R_TYPE("reason number", "not_accepted", "\"reason\":5", CHISO_REJECT_BAD_VALUE, "reason"),
};

static void test_rejections(void)
{
    char buf[2048];
    for (size_t i = 0; i < sizeof(reject_cases) / sizeof(reject_cases[0]); i++) {
        const struct reject_case *c = &reject_cases[i];
        chiso_event ev;
        chiso_reject rej;
        const char *json = c->json;
        int rc;

        if (!json) {
            mk(buf, sizeof(buf), c->type, c->extra, c->omit, c->set_key, c->set_val);
            json = buf;
        }
        rc = chiso_event_parse(json, strlen(json), &ev, &rej);
        CHECK_EQ_INT(rc, CHISO_EINVAL, "%s: should be rejected", c->name);
        CHECK_EQ_STR(chiso_reject_code(rej.reason), chiso_reject_code(c->reason));
        if (rej.reason != c->reason)
            fprintf(stderr, "  case '%s': %s (%s)\n", c->name, chiso_reject_code(rej.reason),
                    rej.detail);
        CHECK(rej.detail[0] != '\0', "%s: detail set", c->name);
        if (c->detail_has)
            CHECK(strstr(rej.detail, c->detail_has) != NULL, "%s: detail \"%s\" names %s", c->name,
                  rej.detail, c->detail_has);
        CHECK(ev.type == CHISO_EV_NONE, "%s: event cleared", c->name);
    }
}

static void test_too_large(void)
{
    chiso_event ev;
    chiso_reject rej;
    size_t n = CHISO_EVENT_MAX_BYTES + 1; /* 65537 */
    char *big = malloc(n);
    char head[512];

    /* A valid event padded with whitespace: size alone decides. */
    mk(head, sizeof(head), "synced", "", NULL, NULL, NULL);
    memset(big, ' ', n);
    memcpy(big, head, strlen(head));
    CHECK_EQ_INT(chiso_event_parse(big, n, &ev, &rej), CHISO_EINVAL, "65537 bytes");
    CHECK_EQ_INT(rej.reason, CHISO_REJECT_TOO_LARGE, "too_large: %s", rej.detail);
    /* Oversize garbage is too_large too (checked before parsing). */
    memset(big, '{', n);
    CHECK_EQ_INT(chiso_event_parse(big, n, &ev, &rej), CHISO_EINVAL, "65537 bytes of {");
    CHECK_EQ_INT(rej.reason, CHISO_REJECT_TOO_LARGE, "too_large before syntax");
    /* Deep nesting within the limit is a syntax error, not a crash. */
    memset(big, '[', CHISO_EVENT_MAX_BYTES);
    CHECK_EQ_INT(chiso_event_parse(big, CHISO_EVENT_MAX_BYTES, &ev, &rej), CHISO_EINVAL, "[[[[");
    CHECK_EQ_INT(rej.reason, CHISO_REJECT_JSON_SYNTAX, "deep nesting");
    free(big);
}

static void test_names_and_to_json(void)
{
    chiso_event ev;
    char out[1024];
    int n;

    static const char *const codes[] = {"none",         "json_syntax", "missing_field", "bad_value",
                                        "unknown_type", "too_large",   "expired"};
    for (int r = 0; r < CHISO_REJECT_REASON_COUNT; r++)
        CHECK_EQ_STR(chiso_reject_code((chiso_reject_reason)r), codes[r]);
    CHECK_EQ_STR(chiso_reject_code((chiso_reject_reason)99), "unknown");
    CHECK_EQ_STR(chiso_event_type_name((chiso_event_type)99), "unknown");
    CHECK_EQ_INT(chiso_event_type_from_name("none"), CHISO_EV_NONE, "none is not a type");
    CHECK_EQ_INT(chiso_event_type_from_name(NULL), CHISO_EV_NONE, "NULL name");
    CHECK_EQ_STR(chiso_outcome_name(CHISO_OUTCOME_APPROVED), "approved");
    CHECK_EQ_STR(chiso_outcome_name(CHISO_OUTCOME_DENIED), "denied");

    /* Exact compact form, only the type's fields, bools always written. */
    fill_common(&ev, CHISO_EV_RECEIVED);
    ev.due_at = 1752573600;
    ev.digitized = true;
    ev.amount = 99; /* not a received field: not written */
    n = chiso_event_to_json(&ev, out, sizeof(out));
    CHECK_EQ_STR(out,
                 "{\"v\":1,\"event_id\":\"ev-0001\",\"dossier_id\":\"H21.42-250701-0001\","
                 "\"unit\":\"H21.42\",\"procedure\":\"1.004227\",\"type\":\"received\","
                 "\"at\":\"2025-07-01T08:00:00+07:00\",\"due_at\":\"2025-07-15T17:00:00+07:00\","
                 "\"digitized\":true,\"reused_data\":false,\"from_data_store\":false,"
                 "\"population_data\":false}");
    CHECK_EQ_INT(n, strlen(out), "length");

    fill_common(&ev, CHISO_EV_FEE_REQUESTED);
    ev.amount = 150000;
    chiso_event_to_json(&ev, out, sizeof(out));
    CHECK(strstr(out, ",\"amount\":150000}") != NULL, "amount written: %s", out);

    /* Strings are escaped. */
    fill_common(&ev, CHISO_EV_SYNCED);
    strcpy(ev.event_id, "a\"b\\c");
    n = chiso_event_to_json(&ev, out, sizeof(out));
    CHECK(strstr(out, "\"event_id\":\"a\\\"b\\\\c\"") != NULL, "escaped: %s", out);
    /* past sixteen plain bytes (the scan's stride), a control byte, UTF-8 */
    strcpy(ev.event_id, "0123456789abcdef0123\x01x\"\xc3\xa1\x1f");
    n = chiso_event_to_json(&ev, out, sizeof(out));
    CHECK(strstr(out, "\"event_id\":\"0123456789abcdef0123\\u0001x\\\"\xc3\xa1\\u001f\"") != NULL,
          "escaped past 16 bytes: %s", out);

    /* Invalid events are not serialized. */
    fill_common(&ev, CHISO_EV_SUBMITTED);
    CHECK_EQ_INT(chiso_event_to_json(&ev, out, sizeof(out)), CHISO_EINVAL, "no channel");
    fill_common(&ev, CHISO_EV_NONE);
    CHECK_EQ_INT(chiso_event_to_json(&ev, out, sizeof(out)), CHISO_EINVAL, "no type");
    fill_common(&ev, CHISO_EV_FEE_REQUESTED);
    ev.amount = -5;
    CHECK_EQ_INT(chiso_event_to_json(&ev, out, sizeof(out)), CHISO_EINVAL, "negative amount");
    fill_common(&ev, CHISO_EV_SYNCED);
    CHECK_EQ_INT(chiso_event_to_json(&ev, NULL, 0), CHISO_ERANGE, "no buffer");
    CHECK_EQ_INT(chiso_event_to_json(&ev, out, 10), CHISO_ERANGE, "small buffer");
}

int main(void)
{
    test_valid_every_type();
    test_valid_details();
    test_rejections();
    test_too_large();
    test_names_and_to_json();
    return CHECK_DONE();
}
