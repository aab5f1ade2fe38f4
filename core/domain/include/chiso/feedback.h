/*
 * feedback.h - citizens' feedback (PAKN, "phản ánh, kiến nghị") of
 * CONTRACT.md's `feedback.events`: the event, parsed and validated; a
 * feedback's state; and its contributions to the per-unit counters that
 * feed Decision 766 indicators #19 (feedback handled on time) and #20
 * (satisfaction with feedback handling).
 *
 * The event is a plain value struct (the parser fills it, producers fill it
 * to serialize), bounded like chiso_event: it never allocates. Rejections
 * carry event.h's reason codes, checked in event.c's order.
 *
 * The state is a set of three facts: received (at, due), answered (at),
 * rated (at, satisfied). Merging keeps, for each fact, the occurrence with
 * the smallest (time, payload) pair, so applying the same events in any
 * order, any number of times, gives the same state (ARCHITECTURE.md
 * invariants 1, 2), and counters depend on the set of events only.
 *
 * Counters (Vietnam local days, vntime.h; R = received day, D = due day,
 * A = answered day, T = rating day; a counter is +1 on the day given):
 *   fb_received            R
 *   fb_answered_on_time    A, when received and A <= D
 *   fb_answered_late       A, when received and A > D
 *   fb_closed              max(R, A), when received and answered
 *   fb_overdue_began       B = max(D + 1, R), when received and not
 *                          answered before B (unanswered, or A >= B)
 *   fb_overdue_closed      A, when overdue began and answered
 *   fb_rated               T
 *   fb_satisfied           T, when the rating is satisfied
 * An answer is judged only once its receipt (and so its due day) is known.
 * For a period ending on day E: open feedback = sum over days <= E of
 * (fb_received - fb_closed); open overdue = sum over days <= E of
 * (fb_overdue_began - fb_overdue_closed), as for dossiers (counters.h).
 */
#ifndef CHISO_FEEDBACK_H
#define CHISO_FEEDBACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chiso/event.h"

typedef enum chiso_feedback_type {
    CHISO_FB_NONE = 0,
    CHISO_FB_RECEIVED,
    CHISO_FB_ANSWERED,
    CHISO_FB_RATED,
    CHISO_FB_TYPE_COUNT
} chiso_feedback_type;

/* One feedback event. `due_at` is set for received, `satisfied` for rated;
 * other types leave them zero. */
typedef struct chiso_feedback_event {
    chiso_feedback_type type;
    char event_id[CHISO_ID_MAX + 1];    /* 1..64 bytes of printable UTF-8 */
    char feedback_id[CHISO_ID_MAX + 1]; /* 1..64 of [A-Za-z0-9._:/-] */
    char unit[CHISO_CODE_MAX + 1];      /* 1..32 of [A-Za-z0-9._-] */
    int64_t at;                         /* epoch seconds */
    int64_t due_at;                     /* received: epoch seconds */
    bool satisfied;                     /* rated */
} chiso_feedback_event;

/* Parse and validate one `feedback.events` record (need not be
 * NUL-terminated). Returns 0 and fills *ev, or CHISO_EINVAL and fills *rej
 * (ev is then zeroed). An empty payload or JSON null is json_syntax. */
int chiso_feedback_event_parse(const char *buf, size_t len, chiso_feedback_event *ev,
                               chiso_reject *rej);

/* Serialize to compact JSON (CONTRACT field names, times in +07:00).
 * Returns the length written (excluding NUL), CHISO_ERANGE when `size` is
 * too small, or CHISO_EINVAL for an event that is not valid. */
int chiso_feedback_event_to_json(const chiso_feedback_event *ev, char *buf, size_t size);

/* "received", "answered", "rated" ("unknown" otherwise); and back
 * (CHISO_FB_NONE for any other name). */
const char *chiso_feedback_type_name(chiso_feedback_type type);
chiso_feedback_type chiso_feedback_type_from_name(const char *name);

/* ---- state ---------------------------------------------------------------- */

typedef struct chiso_feedback chiso_feedback;

#define CHISO_FEEDBACK_MAX_ENCODED 64 /* bytes; an encoding never exceeds this */

/* A new, empty state. Caller frees with chiso_feedback_free(). NULL on OOM. */
chiso_feedback *chiso_feedback_new(void);
void chiso_feedback_free(chiso_feedback *f);
/* Make `f` empty again. */
void chiso_feedback_reset(chiso_feedback *f);
void chiso_feedback_copy(chiso_feedback *dst, const chiso_feedback *src);
/* True when the two states hold the same facts. */
bool chiso_feedback_equal(const chiso_feedback *a, const chiso_feedback *b);
/* True when no fact has been applied. */
bool chiso_feedback_empty(const chiso_feedback *f);

/* Merge an event's fact. Returns 1 when the facts changed, 0 when the event
 * added nothing new (a duplicate, or a later repeat of a fact). */
int chiso_feedback_apply(chiso_feedback *f, const chiso_feedback_event *ev);

/* Encode into buf; returns the length (at most CHISO_FEEDBACK_MAX_ENCODED)
 * or CHISO_ERANGE. Equal states encode to equal bytes. */
int chiso_feedback_encode(const chiso_feedback *f, unsigned char *buf, size_t size);
/* Decode into f (replacing its content); returns 0, or CHISO_ESTATE for
 * bytes chiso_feedback_encode() cannot have written (f is then empty). */
int chiso_feedback_decode(chiso_feedback *f, const void *buf, size_t len);

/* ---- counters ------------------------------------------------------------- */

typedef enum chiso_fb_counter_id {
    CHISO_FBC_RECEIVED = 0,
    CHISO_FBC_ANSWERED_ON_TIME,
    CHISO_FBC_ANSWERED_LATE,
    CHISO_FBC_CLOSED,
    CHISO_FBC_OVERDUE_BEGAN,
    CHISO_FBC_OVERDUE_CLOSED,
    CHISO_FBC_RATED,
    CHISO_FBC_SATISFIED,
    CHISO_FBC_COUNT
} chiso_fb_counter_id;

/* The Redis field name of a counter ("fb_received", ...); NULL when out of
 * range. And back: the id of a field name, or -1. */
const char *chiso_fb_counter_name(chiso_fb_counter_id id);
int chiso_fb_counter_from_name(const char *name);

#define CHISO_FB_NO_DAY INT32_MIN /* the feedback does not count there */

/* The local day of the feedback's +1 to each counter, CHISO_FB_NO_DAY where
 * it contributes nothing (a feedback counts at most once per counter). */
void chiso_feedback_contrib(const chiso_feedback *f, int32_t day[CHISO_FBC_COUNT]);

/* A change of a counter in the bucket of a local day. */
typedef struct chiso_fb_delta {
    chiso_fb_counter_id counter;
    int32_t day;
    int delta; /* +1 or -1 */
} chiso_fb_delta;

#define CHISO_FB_DELTA_MAX (2 * CHISO_FBC_COUNT)

/* The counter changes that turn the contributions of `old` into those of
 * `new_`. Returns how many were written to out. */
int chiso_feedback_diff(const chiso_feedback *old, const chiso_feedback *new_,
                        chiso_fb_delta out[CHISO_FB_DELTA_MAX]);

#endif
