/*
 * dossier.h - a dossier's state: the set of facts its events established,
 * its class, its contributions to the per-unit counters, and its
 * memberships of the per-unit procedure sets (#7, #9).
 *
 * The state is a join-semilattice: applying an event merges its fact into
 * the set (single-valued facts keep the earliest occurrence, ties broken by
 * content; multi-valued facts are unions), so applying the same events in
 * any order, any number of times, yields the same state. Counters therefore
 * depend on the set of events, never on their order (ARCHITECTURE.md
 * invariants 1, 2). The state also keeps an offset fence: the highest
 * (partition, offset) applied, so a replay from Kafka is skipped before any
 * work is done.
 *
 * States travel to Redis in a compact, versioned binary encoding.
 */
#ifndef CHISO_DOSSIER_H
#define CHISO_DOSSIER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chiso/catalog.h"
#include "chiso/classify.h"
#include "chiso/counters.h"
#include "chiso/event.h"

typedef struct chiso_dossier chiso_dossier;

#define CHISO_DOSSIER_MAX_ENCODED 512 /* bytes; an encoding never exceeds this */
#define CHISO_CONTRIB_MAX         27  /* contributions of one dossier, at most */

/* One +1 of a dossier to a counter in the bucket of a local day. */
typedef struct chiso_contrib {
    chiso_counter_id counter;
    int32_t day;
} chiso_contrib;

/* A change of a counter in the bucket of a local day. */
typedef struct chiso_delta {
    chiso_counter_id counter;
    int32_t day;
    int delta;
} chiso_delta;

/* A new, empty state. Caller frees with chiso_dossier_free(). NULL on OOM. */
chiso_dossier *chiso_dossier_new(void);
void chiso_dossier_free(chiso_dossier *d);
/* Make `d` empty again (no facts, no fence). */
void chiso_dossier_reset(chiso_dossier *d);
/* Copy src into dst. */
void chiso_dossier_copy(chiso_dossier *dst, const chiso_dossier *src);
/* Start loading d's memory for writing (a hint: it changes nothing), for a
 * caller about to decode or copy into a dossier that is not in the caches. */
void chiso_dossier_prefetch(const chiso_dossier *d);
/* True when the two states hold the same facts and fence. */
bool chiso_dossier_equal(const chiso_dossier *a, const chiso_dossier *b);
/* True when no fact has been applied. */
bool chiso_dossier_empty(const chiso_dossier *d);

/* Merge an event's fact. Returns 1 when the facts changed, 0 when the event
 * added nothing new (a duplicate, or a later repeat of a single fact). */
int chiso_dossier_apply(chiso_dossier *d, const chiso_event *ev);

/* The catalog attributes a dossier state keeps about its procedure, packed
 * in one integer: what the processor stores per procedure code and applies
 * with every event. A bare chiso_service_level is a valid value. */
#define CHISO_ATTR_LEVEL_MASK   0xffu  /* chiso_service_level */
#define CHISO_ATTR_PAPER_RESULT 0x100u /* paper_result_required */

/* The packed catalog attributes of a procedure record. */
uint64_t chiso_dossier_catalog_attrs(const chiso_procedure *p);

/* Record the catalog attributes of the dossier's procedure (packed as
 * above). The level merges by keeping the highest ("unknown" and values
 * outside the enum are no fact); paper_result_required, once seen, is kept.
 * Other bits are ignored. Returns 1 when the state changed. */
int chiso_dossier_apply_catalog(chiso_dossier *d, uint64_t attrs);

/* The dossier's first overdue day B (docs/ontime.md), or INT32_MAX when it
 * cannot become overdue (not received, or waiting on one supplement request
 * made in time). */
int32_t chiso_dossier_overdue_day(const chiso_dossier *d);

/* True when the dossier is received and not closed (resolved, returned,
 * withdrawn, stopped or not accepted; counters.h, closed). */
bool chiso_dossier_open(const chiso_dossier *d);

/* The latest time among the dossier's facts (the due date is not a fact's
 * time), INT64_MIN when no fact has one (a fee request alone). */
int64_t chiso_dossier_last_at(const chiso_dossier *d);
/* The local day (vntime.h) of chiso_dossier_last_at(), INT32_MIN when there
 * is none: the day a state that is not open is listed under for the reaper
 * (docs/architecture.md, "Retention"). */
int32_t chiso_dossier_reap_day(const chiso_dossier *d);
/* The retention rule's verdicts on a state (reaper.h). */
typedef enum chiso_reap_verdict {
    CHISO_REAP_KEEP,   /* open, or its last fact on or after the horizon */
    CHISO_REAP_DELETE, /* no longer kept */
    CHISO_REAP_WAIT,   /* due, but its last record is not committed yet */
} chiso_reap_verdict;

/* The retention rule: a state that is not open (closed, or a fragment never
 * received) whose facts all fall on days before horizon_day (the local day
 * of the watermark minus the retention) is no longer kept, once the record
 * that last wrote it is committed: committed[p] is the consumer group's
 * committed offset of partition p of dossier.events (the next record it
 * reads; -1 for none), for p < npartitions. A state fenced at or above its
 * partition's committed offset (or in a partition not given) could be
 * written again by a replay after a crash: it waits. Open states are kept
 * whatever their age. */
chiso_reap_verdict chiso_dossier_reap_verdict(const chiso_dossier *d, int32_t horizon_day,
                                              const int64_t *committed, int npartitions);

/* The offset fence: true when (partition, offset) was already applied to
 * this state. A different partition than the fence's never counts as
 * applied (the merge is idempotent anyway). */
bool chiso_dossier_fenced(const chiso_dossier *d, int32_t partition, int64_t offset);
/* Raise the fence to (partition, offset). */
void chiso_dossier_set_fence(chiso_dossier *d, int32_t partition, int64_t offset);

/* What dossier.classified was last told of the dossier, kept in its state
 * so that each class change reaches read_committed consumers exactly once
 * (emit.h): the class of the change emitted last and the class a consumer
 * had seen before its transaction (each a chiso_pub_class()); the offset,
 * in the fence's partition, of the last record of the batch that emitted
 * it, and the partition's committed offset then. `known` is false until a
 * change is emitted. Not a fact: it never changes counters. */
typedef struct chiso_pub {
    bool known;
    uint8_t cls, prev;
    int64_t offset, boundary;
} chiso_pub;

void chiso_dossier_get_pub(const chiso_dossier *d, chiso_pub *p);
/* Store `p` (ignored when not known); true when the state changed. */
bool chiso_dossier_set_pub(chiso_dossier *d, const chiso_pub *p);
/* The dossier's class with its provisional flag (chiso_pub_class()), NONE
 * for an empty state. */
uint8_t chiso_dossier_pub_class(const chiso_dossier *d);

/* Encode into buf; returns the length or CHISO_ERANGE. */
int chiso_dossier_encode(const chiso_dossier *d, unsigned char *buf, size_t size);
/* Decode into d (replacing its content); returns 0 or CHISO_ESTATE. */
int chiso_dossier_decode(chiso_dossier *d, const void *buf, size_t len);

/* The facts the full-process rule reads. */
void chiso_dossier_class_facts(const chiso_dossier *d, chiso_class_facts *out);
/* The current class; *provisional (may be NULL) is true until returned. */
chiso_class chiso_dossier_class(const chiso_dossier *d, bool *provisional);
/* The procedure code of the first event that named one ("" if none). */
const char *chiso_dossier_procedure(const chiso_dossier *d);

/* The dossier's contributions (counters.h). Returns how many were written
 * to out (at most CHISO_CONTRIB_MAX). */
int chiso_dossier_contrib(const chiso_dossier *d, chiso_contrib *out);

/* The changes that turn contributions `old` into `new`: every (counter,
 * day) whose multiplicity differs, with the difference. Returns how many
 * were written to out (room for nold + nnew entries is always enough). */
int chiso_contrib_diff(const chiso_contrib *old, int nold, const chiso_contrib *new_, int nnew,
                       chiso_delta *out);

/* ---- procedure memberships (Decision 766 #7 and #9) ----
 *
 * Two indicators count distinct procedures, not dossiers. A dossier is a
 * member of a procedure set with its own procedure on a local day, as a
 * pure function of its state, like a contribution; the processor keeps per
 * unit and period the number of member dossiers of each procedure, a field
 * removed when it reaches 0, so the number of distinct procedures is the
 * number of fields (docs/counters.md):
 *   <prefix>:{U}:po:<period>   hash  procedure -> dossiers     (month,
 *   <prefix>:{U}:pp:<period>   hash  procedure -> dossiers      quarter, year)
 * Sets (day = the received day, Vietnam local):
 *   po  received, submitted online, and the procedure is an online service
 *       (catalog level full or partial, as the state keeps it): exactly the
 *       dossiers of received_svc_full_online and received_svc_partial_online
 *   pp  counted in paid_online: received, a fee applies, paid by
 *       dvcqg_platform or provincial_gateway */
typedef enum chiso_proc_set {
    CHISO_PS_ONLINE = 0, /* "po": #7, online services that had dossiers */
    CHISO_PS_PAID,       /* "pp": #9, procedures with an online payment */
    CHISO_PS_COUNT
} chiso_proc_set;

#define CHISO_PROC_CONTRIB_MAX CHISO_PS_COUNT /* memberships of one dossier, at most */

/* A dossier's membership of a set, with its procedure, on a local day. */
typedef struct chiso_proc_contrib {
    chiso_proc_set set;
    int32_t day;
} chiso_proc_contrib;

/* A change of the number of dossiers of a procedure in a set on a day. */
typedef struct chiso_proc_delta {
    chiso_proc_set set;
    int32_t day;
    int delta;
    const char *procedure; /* the old_procedure or new_procedure passed to the diff */
} chiso_proc_delta;

/* The set's name: its segment in the Redis key ("po", "pp"), or NULL. */
const char *chiso_proc_set_name(chiso_proc_set set);

/* The dossier's memberships. Returns how many were written to out (at most
 * CHISO_PROC_CONTRIB_MAX; none without a procedure code). Their procedure
 * is chiso_dossier_procedure(d). */
int chiso_dossier_proc_contrib(const chiso_dossier *d, chiso_proc_contrib *out);

/* The changes that turn memberships `old` (of procedure old_procedure)
 * into `new` (of new_procedure): every (set, day, procedure) whose
 * multiplicity differs, with the difference; a change of procedure moves
 * every membership. Returns how many were written to out (room for
 * nold + nnew entries is always enough). */
int chiso_proc_contrib_diff(const chiso_proc_contrib *old, int nold, const char *old_procedure,
                            const chiso_proc_contrib *new_, int nnew, const char *new_procedure,
                            chiso_proc_delta *out);

#endif
