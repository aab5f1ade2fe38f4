/*
 * feedback.c - the `feedback.events` record, a feedback's state and its
 * counter contributions (feedback.h).
 *
 * chiso_feedback_event_parse() checks in event.c's fixed order, so the
 * same bad record always gets the same reason:
 *   1. size > CHISO_EVENT_MAX_BYTES                        -> too_large
 *   2. not one JSON object (empty, blank or null payload, raw control
 *      bytes, syntax, trailing junk, not an object)        -> json_syntax
 *   3. `v` absent -> missing_field; `v` not the number 1    -> bad_value
 *   4. a common field absent                                -> missing_field
 *   5. a common field not a string                          -> bad_value
 *   6. `type` not received, answered or rated               -> unknown_type
 *   7. id / code length or charset, `at` not RFC 3339       -> bad_value
 *   8. `due_at` (received) or `satisfied` (rated) absent    -> missing_field
 *      or of the wrong type / format                        -> bad_value
 * Unknown fields, and fields of another type, are ignored. `feedback_id`
 * uses dossier_id's charset: it is part of a Redis key. `due_at` earlier
 * than `at` is accepted (late data is judged, not rejected).
 *
 * State merge rules (commutative, associative, idempotent): each fact keeps
 * its occurrence with the smallest pair (time, payload): received orders by
 * (at, due_at), answered by at, rated by (at, satisfied) with false before
 * true. Ties therefore resolve the same way whatever the arrival order.
 *
 * Encoding v1 (at most 34 bytes): the byte 0xF1 (feedback, version 1), a
 * byte of fact bits, then big-endian int64 seconds of each present fact in
 * bit order: received (at, due_at), answered (at), rated (at). The
 * satisfied bit goes with the rated bit only. Decoding accepts exactly what
 * encoding writes: anything else is a foreign or corrupt value.
 */
#include "chiso/feedback.h"

#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "chiso/common.h"
#include "chiso/vntime.h"
#include "parse_fields.h"
#include "parse_util.h"

/* ---- names ---------------------------------------------------------------- */

static const char *const type_names[CHISO_FB_TYPE_COUNT] = {
    [CHISO_FB_NONE] = "none",
    [CHISO_FB_RECEIVED] = "received",
    [CHISO_FB_ANSWERED] = "answered",
    [CHISO_FB_RATED] = "rated",
};

static const char *const counter_names[CHISO_FBC_COUNT] = {
    [CHISO_FBC_RECEIVED] = "fb_received",
    [CHISO_FBC_ANSWERED_ON_TIME] = "fb_answered_on_time",
    [CHISO_FBC_ANSWERED_LATE] = "fb_answered_late",
    [CHISO_FBC_CLOSED] = "fb_closed",
    [CHISO_FBC_OVERDUE_BEGAN] = "fb_overdue_began",
    [CHISO_FBC_OVERDUE_CLOSED] = "fb_overdue_closed",
    [CHISO_FBC_RATED] = "fb_rated",
    [CHISO_FBC_SATISFIED] = "fb_satisfied",
};

const char *chiso_feedback_type_name(chiso_feedback_type type)
{
    return ((int)type > CHISO_FB_NONE && (int)type < CHISO_FB_TYPE_COUNT) ? type_names[type]
                                                                          : "unknown";
}

chiso_feedback_type chiso_feedback_type_from_name(const char *name)
{
    for (int t = CHISO_FB_NONE + 1; name && t < CHISO_FB_TYPE_COUNT; t++) {
        if (strcmp(name, type_names[t]) == 0)
            return (chiso_feedback_type)t;
    }
    return CHISO_FB_NONE;
}

const char *chiso_fb_counter_name(chiso_fb_counter_id id)
{
    return ((int)id >= 0 && (int)id < CHISO_FBC_COUNT) ? counter_names[id] : NULL;
}

int chiso_fb_counter_from_name(const char *name)
{
    for (int c = 0; name && c < CHISO_FBC_COUNT; c++) {
        if (strcmp(name, counter_names[c]) == 0)
            return c;
    }
    return -1;
}

/* ---- parsing -------------------------------------------------------------- */

enum { F_EVENT_ID, F_FEEDBACK_ID, F_UNIT, F_TYPE, F_AT, F_COUNT };
static const char *const common_fields[F_COUNT] = {"event_id", "feedback_id", "unit", "type", "at"};

/* Checks 3 to 8 on a parsed JSON object. */
static int parse_object(const cJSON *root, chiso_feedback_event *ev, chiso_reject *rej)
{
    const cJSON *f[F_COUNT];
    char quoted[32];
    int rc;

    if ((rc = chiso_pu_check_head(root, common_fields, F_COUNT, rej)) != 0)
        return rc;
    for (int i = 0; i < F_COUNT; i++) {
        f[i] = cJSON_GetObjectItemCaseSensitive(root, common_fields[i]);
        if (!cJSON_IsString(f[i]) || !f[i]->valuestring)
            return chiso_pu_reject(rej, CHISO_REJECT_BAD_VALUE, "field '%s' must be a string",
                                   common_fields[i]);
    }
    ev->type = chiso_feedback_type_from_name(f[F_TYPE]->valuestring);
    if (ev->type == CHISO_FB_NONE)
        return chiso_pu_reject(rej, CHISO_REJECT_UNKNOWN_TYPE,
                               "field 'type' value '%s' is not a feedback event type",
                               chiso_pu_quote_safe(f[F_TYPE]->valuestring, quoted));
    if ((rc = chiso_pu_text_field(root, "event_id", CHISO_ID_MAX, ev->event_id, rej)) != 0 ||
        (rc = chiso_pu_code_field(root, "feedback_id", CHISO_ID_MAX, "._:/-", ev->feedback_id,
                                  rej)) != 0 ||
        (rc = chiso_pu_code_field(root, "unit", CHISO_CODE_MAX, "._-", ev->unit, rej)) != 0 ||
        (rc = chiso_pu_time_item(f[F_AT], "at", &ev->at, rej)) != 0)
        return rc;

    switch (ev->type) {
    case CHISO_FB_RECEIVED:
        return chiso_pu_req_time(root, "due_at", type_names[ev->type], &ev->due_at, rej);
    case CHISO_FB_RATED:
        return chiso_pu_req_bool(root, "satisfied", type_names[ev->type], &ev->satisfied, rej);
    default: /* answered carries nothing more */
        return 0;
    }
}

int chiso_feedback_event_parse(const char *buf, size_t len, chiso_feedback_event *ev,
                               chiso_reject *rej)
{
    cJSON *root = NULL;
    int rc;

    if (rej) {
        rej->reason = CHISO_REJECT_NONE;
        rej->detail[0] = '\0';
    }
    memset(ev, 0, sizeof(*ev));
    rc = chiso_pu_parse_record(buf ? buf : "", buf ? len : 0, &root, rej);
    if (rc == 1) /* no tombstones on an event topic */
        rc = chiso_pu_reject(rej, CHISO_REJECT_JSON_SYNTAX,
                             "payload is empty or null, not a feedback event");
    if (rc == 0)
        rc = parse_object(root, ev, rej);
    cJSON_Delete(root);
    if (rc != 0)
        memset(ev, 0, sizeof(*ev));
    return rc;
}

/* A valid event, as the parser would accept it. */
static bool event_valid(const chiso_feedback_event *ev)
{
    size_t n = strnlen(ev->event_id, sizeof(ev->event_id));
    return ev->type > CHISO_FB_NONE && ev->type < CHISO_FB_TYPE_COUNT && n >= 1 &&
           n <= CHISO_ID_MAX && chiso_pu_printable_utf8((const unsigned char *)ev->event_id, n) &&
           strnlen(ev->feedback_id, sizeof(ev->feedback_id)) <= CHISO_ID_MAX &&
           chiso_pu_code_ok(ev->feedback_id, CHISO_ID_MAX, "._:/-") &&
           strnlen(ev->unit, sizeof(ev->unit)) <= CHISO_CODE_MAX &&
           chiso_pu_code_ok(ev->unit, CHISO_CODE_MAX, "._-") && ev->at >= CHISO_PU_EPOCH_MIN &&
           ev->at <= CHISO_PU_EPOCH_MAX &&
           (ev->type != CHISO_FB_RECEIVED ||
            (ev->due_at >= CHISO_PU_EPOCH_MIN && ev->due_at <= CHISO_PU_EPOCH_MAX));
}

static void add_time(cJSON *root, const char *key, int64_t epoch)
{
    char t[CHISO_TIME_STRLEN];
    chiso_time_format(epoch, t);
    cJSON_AddStringToObject(root, key, t);
}

int chiso_feedback_event_to_json(const chiso_feedback_event *ev, char *buf, size_t size)
{
    cJSON *root = NULL;
    int rc = CHISO_ENOMEM, members = 6;

    if (!ev || !event_valid(ev))
        return CHISO_EINVAL;
    root = cJSON_CreateObject();
    if (!root)
        goto out;
    /* cJSON_Add* leave the tree consistent on failure: one count of the
     * members covers them all (as catalog.c does). */
    cJSON_AddNumberToObject(root, "v", 1);
    cJSON_AddStringToObject(root, "event_id", ev->event_id);
    cJSON_AddStringToObject(root, "feedback_id", ev->feedback_id);
    cJSON_AddStringToObject(root, "unit", ev->unit);
    cJSON_AddStringToObject(root, "type", type_names[ev->type]);
    add_time(root, "at", ev->at);
    if (ev->type == CHISO_FB_RECEIVED) {
        add_time(root, "due_at", ev->due_at);
        members++;
    } else if (ev->type == CHISO_FB_RATED) {
        cJSON_AddBoolToObject(root, "satisfied", ev->satisfied);
        members++;
    }
    if (cJSON_GetArraySize(root) != members)
        goto out;
    rc = chiso_pu_print(root, buf, size);
out:
    cJSON_Delete(root);
    return rc;
}

/* ---- state ---------------------------------------------------------------- */

#define ENCODING_V1 0xF1

enum {
    S_RECEIVED = 1u << 0,
    S_ANSWERED = 1u << 1,
    S_RATED = 1u << 2,
    S_SATISFIED = 1u << 3, /* only with S_RATED */
    S_ALL = (1u << 4) - 1,
};

struct chiso_feedback {
    unsigned present; /* S_* bits */
    int64_t received_at;
    int64_t due_at;
    int64_t answered_at;
    int64_t rated_at;
};

chiso_feedback *chiso_feedback_new(void)
{
    return calloc(1, sizeof(chiso_feedback));
}

void chiso_feedback_free(chiso_feedback *f)
{
    free(f);
}

void chiso_feedback_reset(chiso_feedback *f)
{
    memset(f, 0, sizeof(*f));
}

void chiso_feedback_copy(chiso_feedback *dst, const chiso_feedback *src)
{
    memcpy(dst, src, sizeof(*dst));
}

bool chiso_feedback_equal(const chiso_feedback *a, const chiso_feedback *b)
{
    unsigned char ea[CHISO_FEEDBACK_MAX_ENCODED], eb[CHISO_FEEDBACK_MAX_ENCODED];
    int la = chiso_feedback_encode(a, ea, sizeof(ea));
    int lb = chiso_feedback_encode(b, eb, sizeof(eb));
    return la > 0 && la == lb && memcmp(ea, eb, (size_t)la) == 0;
}

bool chiso_feedback_empty(const chiso_feedback *f)
{
    return f->present == 0;
}

/* Keep the smaller of (t1, p1) stored under `bit` and (t2, p2); returns 1
 * when the new pair replaces the stored one. */
static int take_first(chiso_feedback *f, unsigned bit, int64_t *slot_t, int64_t *slot_p, int64_t t,
                      int64_t p)
{
    if ((f->present & bit) && (t > *slot_t || (t == *slot_t && p >= *slot_p)))
        return 0;
    f->present |= bit;
    *slot_t = t;
    *slot_p = p;
    return 1;
}

int chiso_feedback_apply(chiso_feedback *f, const chiso_feedback_event *ev)
{
    int64_t p;
    int changed;

    switch (ev->type) {
    case CHISO_FB_RECEIVED:
        return take_first(f, S_RECEIVED, &f->received_at, &f->due_at, ev->at, ev->due_at);
    case CHISO_FB_ANSWERED:
        p = 0;
        return take_first(f, S_ANSWERED, &f->answered_at, &p, ev->at, 0);
    case CHISO_FB_RATED:
        p = (f->present & S_SATISFIED) ? 1 : 0;
        changed = take_first(f, S_RATED, &f->rated_at, &p, ev->at, ev->satisfied ? 1 : 0);
        f->present = p ? (f->present | S_SATISFIED) : (f->present & ~(unsigned)S_SATISFIED);
        return changed;
    default:
        return 0;
    }
}

static void put_i64(unsigned char *p, int64_t v)
{
    uint64_t u = (uint64_t)v;
    for (int i = 7; i >= 0; i--, u >>= 8)
        p[i] = (unsigned char)(u & 0xff);
}

static int64_t get_i64(const unsigned char *p)
{
    uint64_t u = 0;
    for (int i = 0; i < 8; i++)
        u = (u << 8) | p[i];
    return (int64_t)u;
}

/* How many times a state with these fact bits encodes. */
static int times_count(unsigned present)
{
    return ((present & S_RECEIVED) ? 2 : 0) + ((present & S_ANSWERED) ? 1 : 0) +
           ((present & S_RATED) ? 1 : 0);
}

int chiso_feedback_encode(const chiso_feedback *f, unsigned char *buf, size_t size)
{
    int64_t t[4];
    int n = 0;

    if (f->present & S_RECEIVED) {
        t[n++] = f->received_at;
        t[n++] = f->due_at;
    }
    if (f->present & S_ANSWERED)
        t[n++] = f->answered_at;
    if (f->present & S_RATED)
        t[n++] = f->rated_at;
    if (2 + 8 * (size_t)n > size)
        return CHISO_ERANGE;
    buf[0] = ENCODING_V1;
    buf[1] = (unsigned char)f->present;
    for (int i = 0; i < n; i++)
        put_i64(buf + 2 + 8 * i, t[i]);
    return 2 + 8 * n;
}

int chiso_feedback_decode(chiso_feedback *f, const void *buf, size_t len)
{
    const unsigned char *p = buf;
    int64_t t[4];
    unsigned present;
    int n, k = 0;

    chiso_feedback_reset(f);
    if (len < 2 || p[0] != ENCODING_V1)
        return CHISO_ESTATE;
    present = p[1];
    if ((present & ~(unsigned)S_ALL) || ((present & S_SATISFIED) && !(present & S_RATED)))
        return CHISO_ESTATE;
    n = times_count(present);
    if (len != 2 + 8 * (size_t)n)
        return CHISO_ESTATE;
    for (int i = 0; i < n; i++) {
        t[i] = get_i64(p + 2 + 8 * i);
        if (t[i] < CHISO_PU_EPOCH_MIN || t[i] > CHISO_PU_EPOCH_MAX)
            return CHISO_ESTATE;
    }
    if (present & S_RECEIVED) {
        f->received_at = t[k++];
        f->due_at = t[k++];
    }
    if (present & S_ANSWERED)
        f->answered_at = t[k++];
    if (present & S_RATED)
        f->rated_at = t[k++];
    f->present = present;
    return 0;
}

/* ---- contributions -------------------------------------------------------- */

void chiso_feedback_contrib(const chiso_feedback *f, int32_t day[CHISO_FBC_COUNT])
{
    for (int c = 0; c < CHISO_FBC_COUNT; c++)
        day[c] = CHISO_FB_NO_DAY;
    if (f->present & S_RATED) {
        day[CHISO_FBC_RATED] = chiso_local_day(f->rated_at);
        if (f->present & S_SATISFIED)
            day[CHISO_FBC_SATISFIED] = day[CHISO_FBC_RATED];
    }
    if (!(f->present & S_RECEIVED))
        return; /* an answer is judged against its due day only */
    int32_t r = chiso_local_day(f->received_at);
    int32_t d = chiso_local_day(f->due_at);
    int32_t b = d + 1 > r ? d + 1 : r; /* first overdue day */
    day[CHISO_FBC_RECEIVED] = r;
    if (!(f->present & S_ANSWERED)) {
        day[CHISO_FBC_OVERDUE_BEGAN] = b;
        return;
    }
    int32_t a = chiso_local_day(f->answered_at);
    day[a <= d ? CHISO_FBC_ANSWERED_ON_TIME : CHISO_FBC_ANSWERED_LATE] = a;
    day[CHISO_FBC_CLOSED] = a > r ? a : r;
    if (a >= b) {
        day[CHISO_FBC_OVERDUE_BEGAN] = b;
        day[CHISO_FBC_OVERDUE_CLOSED] = a;
    }
}

int chiso_feedback_diff(const chiso_feedback *old, const chiso_feedback *new_,
                        chiso_fb_delta out[CHISO_FB_DELTA_MAX])
{
    int32_t before[CHISO_FBC_COUNT], after[CHISO_FBC_COUNT];
    int n = 0;

    chiso_feedback_contrib(old, before);
    chiso_feedback_contrib(new_, after);
    for (int c = 0; c < CHISO_FBC_COUNT; c++) {
        if (before[c] == after[c])
            continue;
        if (before[c] != CHISO_FB_NO_DAY)
            out[n++] = (chiso_fb_delta){(chiso_fb_counter_id)c, before[c], -1};
        if (after[c] != CHISO_FB_NO_DAY)
            out[n++] = (chiso_fb_delta){(chiso_fb_counter_id)c, after[c], +1};
    }
    return n;
}
