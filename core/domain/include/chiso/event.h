/*
 * event.h - the dossier lifecycle event of CONTRACT.md v1, parsed and
 * validated, and its JSON form.
 *
 * chiso_event is a plain value struct: the parser fills it, and producers
 * (the simulator) fill it to serialize. Strings are bounded by the contract
 * (ids 64 bytes, codes 32) so an event never allocates.
 *
 * Every rejection carries a reason code from the contract's dead-letter
 * vocabulary and a human sentence naming the field.
 */
#ifndef CHISO_EVENT_H
#define CHISO_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CHISO_EVENT_MAX_BYTES (64 * 1024) /* larger payloads are rejected too_large */
#define CHISO_ID_MAX          64          /* event_id, dossier_id */
#define CHISO_CODE_MAX        32          /* unit, procedure */

typedef enum chiso_event_type {
    CHISO_EV_NONE = 0,
    CHISO_EV_SUBMITTED,
    CHISO_EV_RECEIVED,
    CHISO_EV_NOT_ACCEPTED,
    CHISO_EV_PROCESSING,
    CHISO_EV_SUPPLEMENT_REQUESTED,
    CHISO_EV_SUPPLEMENT_RECEIVED,
    CHISO_EV_FEE_REQUESTED,
    CHISO_EV_PAID,
    CHISO_EV_REQUIREMENT,
    CHISO_EV_RESOLVED,
    CHISO_EV_RETURNED,
    CHISO_EV_WITHDRAWN,
    CHISO_EV_STOPPED,
    CHISO_EV_SYNCED,
    CHISO_EV_RATED,
    CHISO_EV_COMPLAINT,
    CHISO_EV_TYPE_COUNT
} chiso_event_type;

typedef enum chiso_channel {
    CHISO_CHANNEL_UNKNOWN = 0,
    CHISO_CHANNEL_ONLINE,
    CHISO_CHANNEL_DIRECT,
    CHISO_CHANNEL_POSTAL,
} chiso_channel;

typedef enum chiso_pay_method {
    CHISO_PAY_NONE = 0,
    CHISO_PAY_DVCQG_PLATFORM,
    CHISO_PAY_PROVINCIAL_GATEWAY,
    CHISO_PAY_CASH,
    CHISO_PAY_BANK_TRANSFER,
} chiso_pay_method;

typedef enum chiso_requirement_kind {
    CHISO_REQ_NONE = 0,
    CHISO_REQ_IN_PERSON,
    CHISO_REQ_PAPER_SUBMISSION,
    CHISO_REQ_FIELD_VERIFICATION,
} chiso_requirement_kind;

typedef enum chiso_outcome {
    CHISO_OUTCOME_NONE = 0,
    CHISO_OUTCOME_APPROVED,
    CHISO_OUTCOME_DENIED,
} chiso_outcome;

typedef enum chiso_delivery {
    CHISO_DELIVERY_NONE = 0,
    CHISO_DELIVERY_ONLINE,
    CHISO_DELIVERY_POSTAL,
    CHISO_DELIVERY_COUNTER,
} chiso_delivery;

/* One lifecycle event. Fields that a type does not carry stay zero. */
typedef struct chiso_event {
    chiso_event_type type;
    char event_id[CHISO_ID_MAX + 1];
    char dossier_id[CHISO_ID_MAX + 1];
    char unit[CHISO_CODE_MAX + 1];
    char procedure[CHISO_CODE_MAX + 1];
    int64_t at; /* epoch seconds */

    chiso_channel channel;       /* submitted */
    int64_t due_at;              /* received: epoch seconds */
    bool digitized;              /* received */
    bool reused_data;            /* received */
    bool from_data_store;        /* received */
    bool population_data;        /* received */
    int64_t amount;              /* fee_requested: VND >= 0 */
    chiso_pay_method method;     /* paid */
    chiso_requirement_kind kind; /* requirement */
    chiso_outcome outcome;       /* resolved */
    bool e_result;               /* resolved */
    bool e_signed;               /* resolved */
    chiso_delivery delivery;     /* returned */
    bool paper_copy;             /* returned */
    bool satisfied;              /* rated */
} chiso_event;

/* Why a record was rejected; the codes are CONTRACT.md's dead-letter reasons. */
typedef enum chiso_reject_reason {
    CHISO_REJECT_NONE = 0,
    CHISO_REJECT_JSON_SYNTAX,   /* "json_syntax": not valid JSON, or not an object */
    CHISO_REJECT_MISSING_FIELD, /* "missing_field": a required field is absent */
    CHISO_REJECT_BAD_VALUE,     /* "bad_value": wrong type, bad format, impossible value */
    CHISO_REJECT_UNKNOWN_TYPE,  /* "unknown_type": `type` is not in the contract */
    CHISO_REJECT_TOO_LARGE,     /* "too_large": payload over CHISO_EVENT_MAX_BYTES */
    CHISO_REJECT_EXPIRED,       /* "expired": the dossier's state has expired */
    CHISO_REJECT_REASON_COUNT
} chiso_reject_reason;

typedef struct chiso_reject {
    chiso_reject_reason reason;
    char detail[192]; /* human sentence, e.g. "field 'due_at' is not RFC 3339" */
} chiso_reject;

/* Parse and validate one record (need not be NUL-terminated). Returns 0 and
 * fills *ev, or CHISO_EINVAL and fills *rej (ev is then zeroed), or
 * CHISO_ENOMEM (only a record with a long escaped string allocates). */
int chiso_event_parse(const char *buf, size_t len, chiso_event *ev, chiso_reject *rej);

/* Serialize to compact JSON (CONTRACT v1 field names, times in +07:00).
 * Returns the length written (excluding NUL) or CHISO_ERANGE if `size` is
 * too small. */
int chiso_event_to_json(const chiso_event *ev, char *buf, size_t size);

/* Wire names: "submitted", "json_syntax", "online", "dvcqg_platform", ... */
const char *chiso_event_type_name(chiso_event_type type);
chiso_event_type chiso_event_type_from_name(const char *name);
const char *chiso_reject_code(chiso_reject_reason reason);
const char *chiso_channel_name(chiso_channel channel);
const char *chiso_pay_method_name(chiso_pay_method method);
const char *chiso_requirement_kind_name(chiso_requirement_kind kind);
const char *chiso_outcome_name(chiso_outcome outcome);
const char *chiso_delivery_name(chiso_delivery delivery);

#endif
