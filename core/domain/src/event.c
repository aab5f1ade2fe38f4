/*
 * event.c - parse, validate and serialize the dossier lifecycle event of
 * CONTRACT.md v1.
 *
 * chiso_event_parse() is the gate every record from `dossier.events` goes
 * through: it either fills a chiso_event whose every field is valid, or
 * names the first problem with a contract reason code and a sentence. The
 * checks run in a fixed order so the same bad record always gets the same
 * reason:
 *   1. size > CHISO_EVENT_MAX_BYTES                        -> too_large
 *   2. not one JSON object (raw control bytes, syntax,
 *      trailing junk other than whitespace, not an object)  -> json_syntax
 *   3. `v` absent -> missing_field; `v` not the number 1    -> bad_value
 *   4. a common field absent                                -> missing_field
 *   5. a common field not a string                          -> bad_value
 *   6. `type` not a contract type                           -> unknown_type
 *   7. id / code length or charset, `at` not RFC 3339       -> bad_value
 *   8. a field of the event's type absent (when required)   -> missing_field
 *      or of the wrong JSON type / not in its enum          -> bad_value
 * Fields that do not belong to the event's type are ignored like any other
 * unknown field. A JSON null counts as present with the wrong type.
 *
 * `due_at` earlier than `at` is accepted: a receipt recorded after its own
 * due date is late data (or a backfilled record), not a malformed one, and
 * the on-time rule judges it. Times must fall in local years 0000..9999,
 * the range RFC 3339 can express, so every accepted event serializes back.
 *
 * The record is scanned in place (jscan.h: cJSON's grammar, without its
 * tree): nothing is allocated unless an escaped string is long, and
 * serialization writes straight into the caller's buffer.
 */
#include "chiso/event.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "chiso/common.h"
#include "chiso/jsonw.h"
#include "chiso/vntime.h"
#include "jscan.h"
#include "parse_fields.h"
#include "parse_util.h"

/* ---- name tables ------------------------------------------------------ */

static const char *const type_names[CHISO_EV_TYPE_COUNT] = {
    [CHISO_EV_NONE] = "none",
    [CHISO_EV_SUBMITTED] = "submitted",
    [CHISO_EV_RECEIVED] = "received",
    [CHISO_EV_NOT_ACCEPTED] = "not_accepted",
    [CHISO_EV_PROCESSING] = "processing",
    [CHISO_EV_SUPPLEMENT_REQUESTED] = "supplement_requested",
    [CHISO_EV_SUPPLEMENT_RECEIVED] = "supplement_received",
    [CHISO_EV_FEE_REQUESTED] = "fee_requested",
    [CHISO_EV_PAID] = "paid",
    [CHISO_EV_REQUIREMENT] = "requirement",
    [CHISO_EV_RESOLVED] = "resolved",
    [CHISO_EV_RETURNED] = "returned",
    [CHISO_EV_WITHDRAWN] = "withdrawn",
    [CHISO_EV_STOPPED] = "stopped",
    [CHISO_EV_SYNCED] = "synced",
    [CHISO_EV_RATED] = "rated",
    [CHISO_EV_COMPLAINT] = "complaint",
};

static const char *const reject_codes[CHISO_REJECT_REASON_COUNT] = {
    [CHISO_REJECT_NONE] = "none",
    [CHISO_REJECT_JSON_SYNTAX] = "json_syntax",
    [CHISO_REJECT_MISSING_FIELD] = "missing_field",
    [CHISO_REJECT_BAD_VALUE] = "bad_value",
    [CHISO_REJECT_UNKNOWN_TYPE] = "unknown_type",
    [CHISO_REJECT_TOO_LARGE] = "too_large",
    [CHISO_REJECT_EXPIRED] = "expired",
};

/* Enum tables: index 0 is the "none/unknown" value, never valid on the wire. */
static const char *const channel_names[] = {"unknown", "online", "direct", "postal"};
static const char *const method_names[] = {"none", "dvcqg_platform", "provincial_gateway", "cash",
                                           "bank_transfer"};
static const char *const req_kind_names[] = {"none", "in_person", "paper_submission",
                                             "field_verification"};
static const char *const outcome_names[] = {"none", "approved", "denied"};
static const char *const delivery_names[] = {"none", "online", "postal", "counter"};

#define COUNT_OF(a) ((int)(sizeof(a) / sizeof((a)[0])))

static const char *table_name(const char *const *names, int count, int value)
{
    return (value >= 0 && value < count) ? names[value] : "unknown";
}

const char *chiso_event_type_name(chiso_event_type type)
{
    return table_name(type_names, COUNT_OF(type_names), (int)type);
}

/* Whether a is the contract name b: the first byte before the call, for
 * it tells most names apart (the names are matched once per record). */
static bool same_name(const char *a, const char *b)
{
    return a[0] == b[0] && strcmp(a, b) == 0;
}

chiso_event_type chiso_event_type_from_name(const char *name)
{
    if (!name)
        return CHISO_EV_NONE;
    for (int t = CHISO_EV_NONE + 1; t < CHISO_EV_TYPE_COUNT; t++) {
        if (same_name(name, type_names[t]))
            return (chiso_event_type)t;
    }
    return CHISO_EV_NONE;
}

const char *chiso_reject_code(chiso_reject_reason reason)
{
    return table_name(reject_codes, COUNT_OF(reject_codes), (int)reason);
}

const char *chiso_channel_name(chiso_channel channel)
{
    return table_name(channel_names, COUNT_OF(channel_names), (int)channel);
}

const char *chiso_pay_method_name(chiso_pay_method method)
{
    return table_name(method_names, COUNT_OF(method_names), (int)method);
}

const char *chiso_requirement_kind_name(chiso_requirement_kind kind)
{
    return table_name(req_kind_names, COUNT_OF(req_kind_names), (int)kind);
}

const char *chiso_outcome_name(chiso_outcome outcome)
{
    return table_name(outcome_names, COUNT_OF(outcome_names), (int)outcome);
}

const char *chiso_delivery_name(chiso_delivery delivery)
{
    return table_name(delivery_names, COUNT_OF(delivery_names), (int)delivery);
}

/* ---- parsing ------------------------------------------------------------ */

/* The members the contract reads, in the order chiso_event_to_json writes
 * them; every other one is only validated. */
#define MEMBERS(X)                                                                                 \
    X(N_V, "v")                                                                                    \
    X(N_EVENT_ID, "event_id")                                                                      \
    X(N_DOSSIER_ID, "dossier_id")                                                                  \
    X(N_UNIT, "unit")                                                                              \
    X(N_PROCEDURE, "procedure")                                                                    \
    X(N_TYPE, "type")                                                                              \
    X(N_AT, "at")                                                                                  \
    X(N_CHANNEL, "channel")                                                                        \
    X(N_DUE_AT, "due_at")                                                                          \
    X(N_DIGITIZED, "digitized")                                                                    \
    X(N_REUSED_DATA, "reused_data")                                                                \
    X(N_FROM_DATA_STORE, "from_data_store")                                                        \
    X(N_POPULATION_DATA, "population_data")                                                        \
    X(N_REASON, "reason")                                                                          \
    X(N_AMOUNT, "amount")                                                                          \
    X(N_METHOD, "method")                                                                          \
    X(N_KIND, "kind")                                                                              \
    X(N_OUTCOME, "outcome")                                                                        \
    X(N_E_RESULT, "e_result")                                                                      \
    X(N_E_SIGNED, "e_signed")                                                                      \
    X(N_DELIVERY, "delivery")                                                                      \
    X(N_PAPER_COPY, "paper_copy")                                                                  \
    X(N_SATISFIED, "satisfied")
#define MEMBER_SLOT(slot, name)   slot,
#define MEMBER_NAME(slot, name)   name,
#define MEMBER_LAYOUT(slot, name) CHISO_JSCAN_NAME(name),
enum { MEMBERS(MEMBER_SLOT) N_COUNT };
static const char *const member_names[N_COUNT] = {MEMBERS(MEMBER_NAME)};
/* as a record written by chiso_event_to_json names them */
static const chiso_jscan_name member_layout[N_COUNT] = {MEMBERS(MEMBER_LAYOUT)};

/* The slot of a member name: by its length and a letter, then compared
 * with a length the compiler knows (an inline comparison, not a call). */
#define MEMBER_IS(n) (memcmp(name, member_names[i], n) == 0 && member_names[i][n] == '\0' ? i : -1)
static int member_index(const char *name, size_t len)
{
    int i;
    switch (len) {
    case 1:
        i = N_V;
        return MEMBER_IS(1);
    case 2:
        i = N_AT;
        return MEMBER_IS(2);
    case 4:
        i = name[0] == 'u' ? N_UNIT : name[0] == 't' ? N_TYPE : N_KIND;
        return MEMBER_IS(4);
    case 6:
        i = name[0] == 'd'   ? N_DUE_AT
            : name[0] == 'r' ? N_REASON
            : name[0] == 'a' ? N_AMOUNT
                             : N_METHOD;
        return MEMBER_IS(6);
    case 7:
        i = name[0] == 'c' ? N_CHANNEL : N_OUTCOME;
        return MEMBER_IS(7);
    case 8:
        i = name[0] == 'd'   ? N_DELIVERY
            : name[1] == 'v' ? N_EVENT_ID
            : name[2] == 'r' ? N_E_RESULT
                             : N_E_SIGNED;
        return MEMBER_IS(8);
    case 9:
        i = name[0] == 'p' ? N_PROCEDURE : name[0] == 'd' ? N_DIGITIZED : N_SATISFIED;
        return MEMBER_IS(9);
    case 10:
        i = name[0] == 'd' ? N_DOSSIER_ID : N_PAPER_COPY;
        return MEMBER_IS(10);
    case 11:
        i = N_REUSED_DATA;
        return MEMBER_IS(11);
    case 15:
        i = name[0] == 'f' ? N_FROM_DATA_STORE : N_POPULATION_DATA;
        return MEMBER_IS(15);
    default:
        return -1;
    }
}
#undef MEMBER_IS

/* A field of the event's type that must be present. */
static int require(const chiso_jval *m, int field, chiso_event_type type, chiso_reject *rej)
{
    if (m[field].type == CHISO_J_ABSENT)
        return chiso_pu_reject(rej, CHISO_REJECT_MISSING_FIELD,
                               "field '%s' is required for type '%s'", member_names[field],
                               type_names[type]);
    return 0;
}

/* A required enum string of the event's type. */
static int parse_enum(const chiso_jval *m, int field, const char *const *names, int count, int *out,
                      chiso_event_type type, chiso_reject *rej)
{
    int rc = require(m, field, type, rej);
    if (rc != 0)
        return rc;
    if (m[field].type == CHISO_J_STRING) {
        for (int i = 1; i < count; i++) {
            if (same_name(m[field].str, names[i])) {
                *out = i;
                return 0;
            }
        }
    }
    return chiso_pu_reject(rej, CHISO_REJECT_BAD_VALUE,
                           "field '%s' is not one of the contract's %s values", member_names[field],
                           member_names[field]);
}

/* An optional boolean: absent is false. */
static int opt_bool(const chiso_jval *m, int field, bool *out, chiso_reject *rej)
{
    return chiso_pu_bool_value(m[field].type != CHISO_J_ABSENT,
                               m[field].type == CHISO_J_TRUE || m[field].type == CHISO_J_FALSE,
                               m[field].type == CHISO_J_TRUE, member_names[field], out, rej);
}

/* A time: an RFC 3339 string. */
static int time_value(const chiso_jval *m, int field, int64_t *out, chiso_reject *rej)
{
    return chiso_pu_time_str(m[field].type == CHISO_J_STRING ? m[field].str : NULL,
                             member_names[field], out, rej);
}

#define AMOUNT_MAX 9007199254740992.0 /* 2^53: every integer up to it is exact */

/* The fields of the event's own type (check 8). */
static int parse_type_fields(const chiso_jval *m, chiso_event *ev, chiso_reject *rej)
{
    int e = 0, rc = 0;

    switch (ev->type) {
    case CHISO_EV_SUBMITTED:
        rc = parse_enum(m, N_CHANNEL, channel_names, COUNT_OF(channel_names), &e, ev->type, rej);
        ev->channel = (chiso_channel)e;
        break;
    case CHISO_EV_RECEIVED:
        if ((rc = require(m, N_DUE_AT, ev->type, rej)) != 0 ||
            (rc = time_value(m, N_DUE_AT, &ev->due_at, rej)) != 0 ||
            (rc = opt_bool(m, N_DIGITIZED, &ev->digitized, rej)) != 0 ||
            (rc = opt_bool(m, N_REUSED_DATA, &ev->reused_data, rej)) != 0 ||
            (rc = opt_bool(m, N_FROM_DATA_STORE, &ev->from_data_store, rej)) != 0)
            return rc;
        rc = opt_bool(m, N_POPULATION_DATA, &ev->population_data, rej);
        break;
    case CHISO_EV_NOT_ACCEPTED:
        if (m[N_REASON].type != CHISO_J_ABSENT && m[N_REASON].type != CHISO_J_STRING)
            return chiso_pu_reject(rej, CHISO_REJECT_BAD_VALUE, "field 'reason' must be a string");
        break;
    case CHISO_EV_FEE_REQUESTED: {
        const chiso_jval *a = &m[N_AMOUNT];
        if ((rc = require(m, N_AMOUNT, ev->type, rej)) != 0)
            return rc;
        /* The comparisons are false for NaN, so NaN fails too. */
        if (a->type != CHISO_J_NUMBER || !(a->num >= 0.0) || !(a->num <= AMOUNT_MAX) ||
            (double)(int64_t)a->num != a->num)
            return chiso_pu_reject(rej, CHISO_REJECT_BAD_VALUE,
                                   "field 'amount' must be a whole number of VND from 0 to 2^53");
        ev->amount = (int64_t)a->num;
        break;
    }
    case CHISO_EV_PAID:
        rc = parse_enum(m, N_METHOD, method_names, COUNT_OF(method_names), &e, ev->type, rej);
        ev->method = (chiso_pay_method)e;
        break;
    case CHISO_EV_REQUIREMENT:
        rc = parse_enum(m, N_KIND, req_kind_names, COUNT_OF(req_kind_names), &e, ev->type, rej);
        ev->kind = (chiso_requirement_kind)e;
        break;
    case CHISO_EV_RESOLVED:
        if ((rc = parse_enum(m, N_OUTCOME, outcome_names, COUNT_OF(outcome_names), &e, ev->type,
                             rej)) != 0)
            return rc;
        ev->outcome = (chiso_outcome)e;
        if ((rc = opt_bool(m, N_E_RESULT, &ev->e_result, rej)) != 0)
            return rc;
        rc = opt_bool(m, N_E_SIGNED, &ev->e_signed, rej);
        break;
    case CHISO_EV_RETURNED:
        if ((rc = parse_enum(m, N_DELIVERY, delivery_names, COUNT_OF(delivery_names), &e, ev->type,
                             rej)) != 0)
            return rc;
        ev->delivery = (chiso_delivery)e;
        rc = opt_bool(m, N_PAPER_COPY, &ev->paper_copy, rej);
        break;
    case CHISO_EV_RATED:
        if ((rc = require(m, N_SATISFIED, ev->type, rej)) != 0)
            return rc;
        rc = opt_bool(m, N_SATISFIED, &ev->satisfied, rej);
        break;
    default: /* processing, supplement_*, withdrawn, stopped, synced, complaint */
        break;
    }
    return rc;
}

/* The common fields, in the order their checks run. */
static const int common_fields[] = {N_EVENT_ID, N_DOSSIER_ID, N_UNIT, N_PROCEDURE, N_TYPE, N_AT};

/* Checks 3 to 8 on the scanned object's members. */
static int parse_object(const chiso_jval *m, chiso_event *ev, chiso_reject *rej)
{
    char quoted[32];

    if (m[N_V].type == CHISO_J_ABSENT)
        return chiso_pu_reject(rej, CHISO_REJECT_MISSING_FIELD, "field 'v' is missing");
    if (m[N_V].type != CHISO_J_NUMBER || m[N_V].num != 1.0)
        return chiso_pu_reject(rej, CHISO_REJECT_BAD_VALUE, "field 'v' must be the number 1");

    for (int i = 0; i < COUNT_OF(common_fields); i++) {
        if (m[common_fields[i]].type == CHISO_J_ABSENT)
            return chiso_pu_reject(rej, CHISO_REJECT_MISSING_FIELD, "field '%s' is missing",
                                   member_names[common_fields[i]]);
    }
    for (int i = 0; i < COUNT_OF(common_fields); i++) {
        if (m[common_fields[i]].type != CHISO_J_STRING)
            return chiso_pu_reject(rej, CHISO_REJECT_BAD_VALUE, "field '%s' must be a string",
                                   member_names[common_fields[i]]);
    }

    ev->type = chiso_event_type_from_name(m[N_TYPE].str);
    if (ev->type == CHISO_EV_NONE)
        return chiso_pu_reject(rej, CHISO_REJECT_UNKNOWN_TYPE,
                               "field 'type' value '%s' is not a contract event type",
                               chiso_pu_quote_safe(m[N_TYPE].str, quoted));

    if (m[N_EVENT_ID].len < 1 || m[N_EVENT_ID].len > CHISO_ID_MAX ||
        !chiso_pu_printable_utf8((const unsigned char *)m[N_EVENT_ID].str, m[N_EVENT_ID].len))
        return chiso_pu_reject(rej, CHISO_REJECT_BAD_VALUE,
                               "field 'event_id' must be 1..64 bytes of printable UTF-8");
    if (!chiso_pu_code_ok(m[N_DOSSIER_ID].str, CHISO_ID_MAX, "._:/-"))
        return chiso_pu_reject(rej, CHISO_REJECT_BAD_VALUE,
                               "field 'dossier_id' must be 1..64 characters of [A-Za-z0-9._:/-]");
    if (!chiso_pu_code_ok(m[N_UNIT].str, CHISO_CODE_MAX, "._-"))
        return chiso_pu_reject(rej, CHISO_REJECT_BAD_VALUE,
                               "field 'unit' must be 1..32 characters of [A-Za-z0-9._-]");
    if (!chiso_pu_code_ok(m[N_PROCEDURE].str, CHISO_CODE_MAX, "._-"))
        return chiso_pu_reject(rej, CHISO_REJECT_BAD_VALUE,
                               "field 'procedure' must be 1..32 characters of [A-Za-z0-9._-]");
    if (time_value(m, N_AT, &ev->at, rej) != 0)
        return CHISO_EINVAL;

    /* Lengths were checked above, so these copies always fit. */
    memcpy(ev->event_id, m[N_EVENT_ID].str, m[N_EVENT_ID].len + 1);
    memcpy(ev->dossier_id, m[N_DOSSIER_ID].str, m[N_DOSSIER_ID].len + 1);
    memcpy(ev->unit, m[N_UNIT].str, m[N_UNIT].len + 1);
    memcpy(ev->procedure, m[N_PROCEDURE].str, m[N_PROCEDURE].len + 1);

    return parse_type_fields(m, ev, rej);
}

int chiso_event_parse(const char *buf, size_t len, chiso_event *ev, chiso_reject *rej)
{
    chiso_jval m[N_COUNT];
    chiso_jscan scan; /* chiso_jscan_object() sets every field it reads */
    scan.vals = m;
    int rc;

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

    /* chiso's own writers (chiso_event_to_json) put the members in the
     * order of member_layout: such a record's names are not looked up */
    chiso_jscan_result r =
        chiso_jscan_object_ordered(&scan, member_index, member_layout, N_COUNT, buf, len);
    /* The scan takes only JSON's four whitespace bytes between tokens, so a
     * raw control byte outside a string fails it; inside one, it is noted. */
    if (scan.raw_control || (r != CHISO_JSCAN_OK && !chiso_pu_no_raw_controls(buf, len)))
        rc = chiso_pu_reject(rej, CHISO_REJECT_JSON_SYNTAX, "payload contains a raw control byte");
    else if (r == CHISO_JSCAN_NOMEM)
        rc = CHISO_ENOMEM;
    else if (r == CHISO_JSCAN_SYNTAX)
        rc = chiso_pu_reject(rej, CHISO_REJECT_JSON_SYNTAX, "payload is not valid JSON");
    else if (r == CHISO_JSCAN_TRAILING)
        rc =
            chiso_pu_reject(rej, CHISO_REJECT_JSON_SYNTAX, "payload has data after the JSON value");
    else if (r == CHISO_JSCAN_NOT_OBJECT)
        rc = chiso_pu_reject(rej, CHISO_REJECT_JSON_SYNTAX, "payload is not a JSON object");
    else
        rc = parse_object(m, ev, rej);
    chiso_jscan_done(&scan);
    if (rc != 0)
        memset(ev, 0, sizeof(*ev));
    return rc;
}

/* ---- serialization ------------------------------------------------------ */

/* A bounded writer into the caller's buffer; `len` keeps counting past the
 * end so the caller learns the buffer was too small. */
typedef struct jw {
    char *buf;
    size_t size;
    size_t len;
} jw;

static inline __attribute__((always_inline)) void jw_raw(jw *w, const char *s, size_t n)
{
    /* the whole piece in its own memcpy: of a constant length (a quote, a
     * key), the compiler writes it inline */
    if (w->len <= w->size && n <= w->size - w->len)
        memcpy(w->buf + w->len, s, n);
    else if (w->len < w->size)
        memcpy(w->buf + w->len, s, w->size - w->len);
    w->len += n;
}

static inline __attribute__((always_inline)) void jw_lit(jw *w, const char *s)
{
    jw_raw(w, s, strlen(s));
}

/* A JSON string; bytes >= 0x80 pass through (the contract is UTF-8). */
static void jw_str(jw *w, const char *s, size_t max)
{
    static const char hex[] = "0123456789abcdef";
    size_t n = strnlen(s, max);

    jw_raw(w, "\"", 1);
    for (size_t i = 0;;) {
        size_t plain = chiso_json_plain(s + i, n - i);
        jw_raw(w, s + i, plain);
        if ((i += plain) == n)
            break;
        unsigned char c = (unsigned char)s[i++];
        if (c == '"' || c == '\\') {
            char esc[2] = {'\\', (char)c};
            jw_raw(w, esc, 2);
        } else {
            char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            jw_raw(w, esc, 6);
        }
    }
    jw_raw(w, "\"", 1);
}

static inline __attribute__((always_inline)) void jw_key(jw *w, const char *key)
{
    jw_raw(w, ",\"", 2);
    jw_lit(w, key);
    jw_raw(w, "\":", 2);
}

static inline __attribute__((always_inline)) void jw_field_str(jw *w, const char *key,
                                                               const char *value)
{
    jw_key(w, key);
    jw_str(w, value, strlen(value));
}

static void jw_field_time(jw *w, const char *key, int64_t epoch)
{
    char t[CHISO_TIME_STRLEN];
    chiso_time_format(epoch, t);
    jw_field_str(w, key, t);
}

static void jw_field_bool(jw *w, const char *key, bool value)
{
    jw_key(w, key);
    jw_lit(w, value ? "true" : "false");
}

#define ENUM_OK(v, names) ((int)(v) > 0 && (int)(v) < COUNT_OF(names))

int chiso_event_to_json(const chiso_event *ev, char *buf, size_t size)
{
    jw w = {buf, size, 0};
    char num[24];

    if (!ev || ev->type <= CHISO_EV_NONE || ev->type >= CHISO_EV_TYPE_COUNT)
        return CHISO_EINVAL;

    jw_lit(&w, "{\"v\":1");
    jw_key(&w, "event_id");
    jw_str(&w, ev->event_id, CHISO_ID_MAX);
    jw_key(&w, "dossier_id");
    jw_str(&w, ev->dossier_id, CHISO_ID_MAX);
    jw_key(&w, "unit");
    jw_str(&w, ev->unit, CHISO_CODE_MAX);
    jw_key(&w, "procedure");
    jw_str(&w, ev->procedure, CHISO_CODE_MAX);
    jw_field_str(&w, "type", type_names[ev->type]);
    jw_field_time(&w, "at", ev->at);

    switch (ev->type) {
    case CHISO_EV_SUBMITTED:
        if (!ENUM_OK(ev->channel, channel_names))
            return CHISO_EINVAL;
        jw_field_str(&w, "channel", channel_names[ev->channel]);
        break;
    case CHISO_EV_RECEIVED:
        jw_field_time(&w, "due_at", ev->due_at);
        jw_field_bool(&w, "digitized", ev->digitized);
        jw_field_bool(&w, "reused_data", ev->reused_data);
        jw_field_bool(&w, "from_data_store", ev->from_data_store);
        jw_field_bool(&w, "population_data", ev->population_data);
        break;
    case CHISO_EV_FEE_REQUESTED:
        if (ev->amount < 0 || ev->amount > (int64_t)AMOUNT_MAX)
            return CHISO_EINVAL;
        jw_key(&w, "amount");
        jw_raw(&w, num, (size_t)snprintf(num, sizeof(num), "%lld", (long long)ev->amount));
        break;
    case CHISO_EV_PAID:
        if (!ENUM_OK(ev->method, method_names))
            return CHISO_EINVAL;
        jw_field_str(&w, "method", method_names[ev->method]);
        break;
    case CHISO_EV_REQUIREMENT:
        if (!ENUM_OK(ev->kind, req_kind_names))
            return CHISO_EINVAL;
        jw_field_str(&w, "kind", req_kind_names[ev->kind]);
        break;
    case CHISO_EV_RESOLVED:
        if (!ENUM_OK(ev->outcome, outcome_names))
            return CHISO_EINVAL;
        jw_field_str(&w, "outcome", outcome_names[ev->outcome]);
        jw_field_bool(&w, "e_result", ev->e_result);
        jw_field_bool(&w, "e_signed", ev->e_signed);
        break;
    case CHISO_EV_RETURNED:
        if (!ENUM_OK(ev->delivery, delivery_names))
            return CHISO_EINVAL;
        jw_field_str(&w, "delivery", delivery_names[ev->delivery]);
        jw_field_bool(&w, "paper_copy", ev->paper_copy);
        break;
    case CHISO_EV_RATED:
        jw_field_bool(&w, "satisfied", ev->satisfied);
        break;
    default:
        break;
    }
    jw_raw(&w, "}", 1);

    if (w.len >= size || w.len > (size_t)CHISO_EVENT_MAX_BYTES)
        return CHISO_ERANGE;
    buf[w.len] = '\0';
    return (int)w.len;
}
