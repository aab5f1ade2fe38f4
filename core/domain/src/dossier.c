/*
 * dossier.c - dossier state as a set of facts, its binary encoding, and its
 * contributions to the counters.
 *
 * Merge rules (each makes apply() commutative, associative and idempotent):
 * - single-valued facts (submitted, received, resolved, returned, rated,
 *   not_accepted, processing, withdrawn, stopped, synced, complaint) keep the
 *   occurrence with the smallest (at, payload) pair;
 * - fee_requested keeps the largest amount; paid and requirement keep the
 *   union of methods / kinds and the earliest time;
 * - supplement requests and receipts keep the set of distinct times (the
 *   CHISO_SUPP_MAX smallest);
 * - the procedure code keeps the smallest code seen;
 * - the procedure's catalog attributes (catalog.h, applied by the processor,
 *   not carried by events): the service level keeps the highest level
 *   ("unknown" is no fact at all); paper_result_required, once seen, stays.
 *
 * Encoding v2 (written since 2026-12-07): a version byte, a varint bitmask of
 * the facts present (the F_ bits: the facts most dossiers have come first,
 * so their mask takes two bytes), then each present fact's fields in a
 * fixed order; times are zigzag varints of the difference from the previous
 * time written, the first from 2025-01-01 (four bytes until 2029); small
 * fields share a byte (outcome and e-flags, delivery and paper copy, the two
 * published classes); a procedure code of digits, '.', 'H' and '-' takes a
 * nibble a character. A simulated 5 days' states take 41 bytes at the
 * median (50 in v1), and 75% of them (28% in v1) fit the 44 bytes Redis
 * keeps in a key's own allocation (docs/architecture.md).
 *
 * Encoding v1 (written before) decodes as ever: its mask's bits are in
 * V1_BIT, its first time is from 1970, each small field takes a byte and
 * a procedure code a byte a character. A state read in v1 is written back
 * in v2 when it changes; a decoder older than v2 refuses a v2 state, as it
 * refuses a state with a fact bit it does not know, rather than guess.
 *
 * Contributions (counters.h) read the on-time rule from ontime.h: this file
 * only gathers the facts it needs. Procedure memberships (#7, #9) share
 * their conditions with received_svc_*_online and paid_online.
 */
#include "chiso/dossier.h"

#include <stdlib.h>
#include <string.h>

#include "chiso/catalog.h"
#include "chiso/common.h"
#include "chiso/ontime.h"
#include "chiso/vntime.h"

#define CHISO_SUPP_MAX 8
#define ENCODING_V1    1
#define ENCODING_V2    2
#define V2_EPOCH       INT64_C(1735689600) /* 2025-01-01T00:00:00Z: v2's first time is from it */
#define PROC_PACKED    0x80u               /* v2: the procedure code's length byte, packed */
#define CONTRIB_BOUND  (13 + 5 + 9)        /* chiso_dossier_contrib(), at most */

_Static_assert(CONTRIB_BOUND <= CHISO_CONTRIB_MAX, "contributions fit CHISO_CONTRIB_MAX");

/* The facts present, one bit each; the bits are encoding v2's mask, the
 * facts most dossiers have first, so that their mask takes two bytes. */
enum {
    F_SUBMITTED = 1u << 0,
    F_RECEIVED = 1u << 1,
    F_PROCESSING = 1u << 2,
    F_RESOLVED = 1u << 3,
    F_RETURNED = 1u << 4,
    F_SYNCED = 1u << 5,
    F_FENCE = 1u << 6,
    F_PROCEDURE = 1u << 7,
    F_LEVEL = 1u << 8,
    F_PUB = 1u << 9, /* the class change dossier.classified was last told */
    F_FEE = 1u << 10,
    F_PAID = 1u << 11,
    F_RATED = 1u << 12,
    F_PAPER_RESULT = 1u << 13, /* the procedure requires a paper result (catalog) */
    F_NOT_ACCEPTED = 1u << 14,
    F_REQUIREMENT = 1u << 15,
    F_WITHDRAWN = 1u << 16,
    F_STOPPED = 1u << 17,
    F_COMPLAINT = 1u << 18,
    F_SUPP_REQ = 1u << 19,
    F_SUPP_RECV = 1u << 20,
    F_ALL = (1u << 21) - 1,
};

/* Encoding v1's mask bit of each fact, in the order of the bits above. */
static const uint8_t V1_BIT[21] = {0, 1,  3,  7, 8, 11, 16, 17, 18, 20, 4,
                                   5, 12, 19, 2, 6, 9,  10, 13, 14, 15};

/* received_flags bits */
enum { RF_DIGITIZED = 1, RF_REUSED = 2, RF_FROM_STORE = 4, RF_POPULATION = 8 };
/* resolved_flags bits */
enum { SF_E_RESULT = 1, SF_E_SIGNED = 2 };

/* The times first, then the small fields: without padding between them the
 * struct is a sixth smaller (a batch copies and decodes tens of thousands,
 * out of the caches). */
struct chiso_dossier {
    int64_t submitted_at;
    int64_t received_at;
    int64_t due_at;
    int64_t not_accepted_at;
    int64_t processing_at;
    int64_t fee_amount;
    int64_t paid_at;
    int64_t requirement_at;
    int64_t resolved_at;
    int64_t returned_at;
    int64_t withdrawn_at;
    int64_t stopped_at;
    int64_t synced_at;
    int64_t rated_at;
    int64_t complaint_at;
    int64_t fence_offset;
    int64_t pub_offset, pub_boundary;
    int64_t supp_req[CHISO_SUPP_MAX];
    int64_t supp_recv[CHISO_SUPP_MAX];
    uint32_t present;
    int32_t fence_partition;
    char procedure[CHISO_CODE_MAX + 1];
    uint8_t channel;
    uint8_t received_flags;
    uint8_t paid_methods;
    uint8_t requirement_kinds;
    uint8_t outcome;
    uint8_t resolved_flags;
    uint8_t delivery;
    uint8_t paper_copy;
    uint8_t satisfied;
    uint8_t n_supp_req;
    uint8_t n_supp_recv;
    uint8_t level;             /* chiso_service_level, above UNKNOWN when F_LEVEL */
    uint8_t pub_cls, pub_prev; /* F_PUB: chiso_pub */
};

chiso_dossier *chiso_dossier_new(void)
{
    return calloc(1, sizeof(chiso_dossier));
}

void chiso_dossier_free(chiso_dossier *d)
{
    free(d);
}

void chiso_dossier_reset(chiso_dossier *d)
{
    memset(d, 0, sizeof(*d));
}

void chiso_dossier_copy(chiso_dossier *dst, const chiso_dossier *src)
{
    memcpy(dst, src, sizeof(*dst));
}

void chiso_dossier_prefetch(const chiso_dossier *d)
{
    for (size_t off = 0; off < sizeof(*d); off += 64)
        __builtin_prefetch((const char *)d + off, 1);
}

/* The fence and the catalog's attributes are not facts of the dossier's
 * events: a state holding only them is still empty. */
bool chiso_dossier_empty(const chiso_dossier *d)
{
    return (d->present & ~(uint32_t)(F_FENCE | F_LEVEL | F_PAPER_RESULT | F_PUB)) == 0;
}

bool chiso_dossier_equal(const chiso_dossier *a, const chiso_dossier *b)
{
    unsigned char ea[CHISO_DOSSIER_MAX_ENCODED], eb[CHISO_DOSSIER_MAX_ENCODED];
    int la = chiso_dossier_encode(a, ea, sizeof(ea));
    int lb = chiso_dossier_encode(b, eb, sizeof(eb));
    return la == lb && la > 0 && memcmp(ea, eb, (size_t)la) == 0;
}

/* Keep the single fact with the smallest (at, payload); returns 1 when the
 * new occurrence replaces the stored one. */
static int take_first(chiso_dossier *d, uint32_t bit, int64_t *slot_at, uint64_t *slot_payload,
                      int64_t at, uint64_t payload)
{
    if ((d->present & bit) && (at > *slot_at || (at == *slot_at && payload >= *slot_payload)))
        return 0;
    d->present |= bit;
    *slot_at = at;
    *slot_payload = payload;
    return 1;
}

/* Insert t into the sorted set of the CHISO_SUPP_MAX smallest times. */
static int set_insert(int64_t *set, uint8_t *n, int64_t t)
{
    int i = 0;
    while (i < *n && set[i] < t)
        i++;
    if (i < *n && set[i] == t)
        return 0;
    if (i == CHISO_SUPP_MAX)
        return 0;
    int last = *n < CHISO_SUPP_MAX ? *n : CHISO_SUPP_MAX - 1;
    memmove(&set[i + 1], &set[i], (size_t)(last - i) * sizeof(set[0]));
    set[i] = t;
    if (*n < CHISO_SUPP_MAX)
        (*n)++;
    return 1;
}

static int take_earliest(chiso_dossier *d, uint32_t bit, int64_t *slot, int64_t at)
{
    if ((d->present & bit) && at >= *slot)
        return 0;
    d->present |= bit;
    *slot = at;
    return 1;
}

int chiso_dossier_apply(chiso_dossier *d, const chiso_event *ev)
{
    int changed = 0;
    uint64_t old, payload;
    uint8_t bits;

    if (ev->procedure[0] &&
        (!(d->present & F_PROCEDURE) || strcmp(ev->procedure, d->procedure) < 0)) {
        memcpy(d->procedure, ev->procedure, sizeof(d->procedure));
        d->present |= F_PROCEDURE;
        changed = 1;
    }

    switch (ev->type) {
    case CHISO_EV_SUBMITTED:
        old = d->channel;
        changed |= take_first(d, F_SUBMITTED, &d->submitted_at, &old, ev->at, ev->channel);
        d->channel = (uint8_t)old;
        break;
    case CHISO_EV_RECEIVED: {
        bits = (uint8_t)((ev->digitized ? RF_DIGITIZED : 0) | (ev->reused_data ? RF_REUSED : 0) |
                         (ev->from_data_store ? RF_FROM_STORE : 0) |
                         (ev->population_data ? RF_POPULATION : 0));
        /* payload orders by due date, then flags: due_at fits in 56 bits */
        payload = ((uint64_t)(ev->due_at - INT64_C(-2208988800)) << 4) | bits;
        old = ((uint64_t)(d->due_at - INT64_C(-2208988800)) << 4) | d->received_flags;
        if (take_first(d, F_RECEIVED, &d->received_at, &old, ev->at, payload)) {
            d->due_at = ev->due_at;
            d->received_flags = bits;
            changed = 1;
        }
        break;
    }
    case CHISO_EV_NOT_ACCEPTED:
        changed |= take_earliest(d, F_NOT_ACCEPTED, &d->not_accepted_at, ev->at);
        break;
    case CHISO_EV_PROCESSING:
        changed |= take_earliest(d, F_PROCESSING, &d->processing_at, ev->at);
        break;
    case CHISO_EV_FEE_REQUESTED:
        if (!(d->present & F_FEE) || ev->amount > d->fee_amount) {
            d->present |= F_FEE;
            d->fee_amount = ev->amount;
            changed = 1;
        }
        break;
    case CHISO_EV_PAID:
        changed |= take_earliest(d, F_PAID, &d->paid_at, ev->at);
        if (!(d->paid_methods & (1u << ev->method))) {
            d->paid_methods |= (uint8_t)(1u << ev->method);
            changed = 1;
        }
        break;
    case CHISO_EV_REQUIREMENT:
        changed |= take_earliest(d, F_REQUIREMENT, &d->requirement_at, ev->at);
        if (!(d->requirement_kinds & (1u << ev->kind))) {
            d->requirement_kinds |= (uint8_t)(1u << ev->kind);
            changed = 1;
        }
        break;
    case CHISO_EV_RESOLVED:
        bits = (uint8_t)((ev->e_result ? SF_E_RESULT : 0) | (ev->e_signed ? SF_E_SIGNED : 0));
        payload = ((uint64_t)ev->outcome << 8) | bits;
        old = ((uint64_t)d->outcome << 8) | d->resolved_flags;
        if (take_first(d, F_RESOLVED, &d->resolved_at, &old, ev->at, payload)) {
            d->outcome = (uint8_t)ev->outcome;
            d->resolved_flags = bits;
            changed = 1;
        }
        break;
    case CHISO_EV_RETURNED:
        payload = ((uint64_t)ev->delivery << 8) | (ev->paper_copy ? 1u : 0u);
        old = ((uint64_t)d->delivery << 8) | d->paper_copy;
        if (take_first(d, F_RETURNED, &d->returned_at, &old, ev->at, payload)) {
            d->delivery = (uint8_t)ev->delivery;
            d->paper_copy = ev->paper_copy ? 1 : 0;
            changed = 1;
        }
        break;
    case CHISO_EV_WITHDRAWN:
        changed |= take_earliest(d, F_WITHDRAWN, &d->withdrawn_at, ev->at);
        break;
    case CHISO_EV_STOPPED:
        changed |= take_earliest(d, F_STOPPED, &d->stopped_at, ev->at);
        break;
    case CHISO_EV_SYNCED:
        changed |= take_earliest(d, F_SYNCED, &d->synced_at, ev->at);
        break;
    case CHISO_EV_RATED:
        old = d->satisfied;
        changed |= take_first(d, F_RATED, &d->rated_at, &old, ev->at, ev->satisfied ? 1 : 0);
        d->satisfied = (uint8_t)old;
        break;
    case CHISO_EV_COMPLAINT:
        changed |= take_earliest(d, F_COMPLAINT, &d->complaint_at, ev->at);
        break;
    case CHISO_EV_SUPPLEMENT_REQUESTED:
        if (set_insert(d->supp_req, &d->n_supp_req, ev->at)) {
            d->present |= F_SUPP_REQ;
            changed = 1;
        }
        break;
    case CHISO_EV_SUPPLEMENT_RECEIVED:
        if (set_insert(d->supp_recv, &d->n_supp_recv, ev->at)) {
            d->present |= F_SUPP_RECV;
            changed = 1;
        }
        break;
    default:
        break;
    }
    return changed;
}

uint64_t chiso_dossier_catalog_attrs(const chiso_procedure *p)
{
    return ((uint64_t)p->level & CHISO_ATTR_LEVEL_MASK) |
           (p->paper_result_required ? CHISO_ATTR_PAPER_RESULT : 0);
}

/* Levels outside the enum are ignored like "unknown" (the catalog parser
 * never yields one). */
int chiso_dossier_apply_catalog(chiso_dossier *d, uint64_t attrs)
{
    int changed = 0;
    uint64_t level = attrs & CHISO_ATTR_LEVEL_MASK;

    if (level > CHISO_LEVEL_UNKNOWN && level <= CHISO_LEVEL_FULL &&
        (!(d->present & F_LEVEL) || level > d->level)) {
        d->present |= F_LEVEL;
        d->level = (uint8_t)level;
        changed = 1;
    }
    if ((attrs & CHISO_ATTR_PAPER_RESULT) && !(d->present & F_PAPER_RESULT)) {
        d->present |= F_PAPER_RESULT;
        changed = 1;
    }
    return changed;
}

bool chiso_dossier_fenced(const chiso_dossier *d, int32_t partition, int64_t offset)
{
    return (d->present & F_FENCE) && d->fence_partition == partition && offset <= d->fence_offset;
}

void chiso_dossier_set_fence(chiso_dossier *d, int32_t partition, int64_t offset)
{
    if ((d->present & F_FENCE) && d->fence_partition == partition && offset <= d->fence_offset)
        return;
    d->present |= F_FENCE;
    d->fence_partition = partition;
    d->fence_offset = offset;
}

void chiso_dossier_get_pub(const chiso_dossier *d, chiso_pub *p)
{
    p->known = (d->present & F_PUB) != 0;
    p->cls = p->known ? d->pub_cls : 0;
    p->prev = p->known ? d->pub_prev : 0;
    p->offset = p->known ? d->pub_offset : -1;
    p->boundary = p->known ? d->pub_boundary : -1;
}

bool chiso_dossier_set_pub(chiso_dossier *d, const chiso_pub *p)
{
    chiso_pub old;
    chiso_dossier_get_pub(d, &old);
    if (!p->known || (old.known && old.cls == p->cls && old.prev == p->prev &&
                      old.offset == p->offset && old.boundary == p->boundary))
        return false;
    d->present |= F_PUB;
    d->pub_cls = p->cls;
    d->pub_prev = p->prev;
    d->pub_offset = p->offset;
    d->pub_boundary = p->boundary;
    return true;
}

uint8_t chiso_dossier_pub_class(const chiso_dossier *d)
{
    bool provisional;
    chiso_class c =
        chiso_dossier_empty(d) ? CHISO_CLASS_NONE : chiso_dossier_class(d, &provisional);
    return chiso_pub_class(c, c != CHISO_CLASS_NONE && provisional);
}

/* ---- encoding ---- */

typedef struct writer {
    unsigned char *p, *end;
    int64_t last_time;
    int overflow;
} writer;

static void put_byte(writer *w, uint8_t b)
{
    if (w->p < w->end)
        *w->p++ = b;
    else
        w->overflow = 1;
}

static void put_varint(writer *w, uint64_t v)
{
    while (v >= 0x80) {
        put_byte(w, (uint8_t)(v | 0x80));
        v >>= 7;
    }
    put_byte(w, (uint8_t)v);
}

static void put_svarint(writer *w, int64_t v)
{
    put_varint(w, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

static void put_time(writer *w, int64_t t)
{
    put_svarint(w, (int64_t)((uint64_t)t - (uint64_t)w->last_time));
    w->last_time = t;
}

typedef struct reader {
    const unsigned char *p, *end;
    int64_t last_time;
    int bad;
} reader;

static uint8_t get_byte(reader *r)
{
    if (r->p < r->end)
        return *r->p++;
    r->bad = 1;
    return 0;
}

static uint64_t get_varint(reader *r)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        uint8_t b = get_byte(r);
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return v;
    }
    r->bad = 1;
    return 0;
}

static int64_t get_svarint(reader *r)
{
    uint64_t u = get_varint(r);
    return (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
}

static int64_t get_time(reader *r)
{
    r->last_time = (int64_t)((uint64_t)r->last_time + (uint64_t)get_svarint(r));
    return r->last_time;
}

/* A procedure code's characters in encoding v2's packed form, one nibble
 * each (the national catalog's codes: "1.004227", "2.000186.000.00.00.H31"). */
static const char PROC_NIBBLES[] = "0123456789.H-";

static int proc_nibble(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    return c == '.' ? 10 : c == 'H' ? 11 : c == '-' ? 12 : -1; /* PROC_NIBBLES */
}

static bool proc_packable(const char *code, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (proc_nibble(code[i]) < 0)
            return false;
    }
    return n > 0;
}

/* The procedure code: packed when every character packs (one pass: the
 * packed form is written as it is read, and written over by the bytes
 * when a character does not pack), else a length byte and the bytes. */
static void put_procedure(writer *w, const char *code)
{
    size_t n = strlen(code);
    unsigned char *start = w->p;
    put_byte(w, (uint8_t)(n ? PROC_PACKED | n : 0)); /* an empty code (v1 only) is not packed */
    for (size_t i = 0; i < n; i += 2) {
        int hi = proc_nibble(code[i]), lo = i + 1 < n ? proc_nibble(code[i + 1]) : 0;
        if ((hi | lo) < 0) {
            w->p = start;
            put_byte(w, (uint8_t)n);
            for (size_t k = 0; k < n; k++)
                put_byte(w, (uint8_t)code[k]);
            return;
        }
        put_byte(w, (uint8_t)(hi << 4 | lo));
    }
}

/* A published class (chiso_pub_class()) in three bits: the class, then the
 * provisional flag. */
static unsigned pub3(uint8_t c)
{
    return (c & 3u) | ((c & CHISO_PUB_PROVISIONAL) ? 4u : 0u);
}

static uint8_t unpub3(unsigned v)
{
    return (uint8_t)((v & 3u) | ((v & 4u) ? CHISO_PUB_PROVISIONAL : 0u));
}

int chiso_dossier_encode(const chiso_dossier *d, unsigned char *buf, size_t size)
{
    writer w = {.p = buf, .end = buf + size, .last_time = V2_EPOCH};
    uint32_t f = d->present;

    put_byte(&w, ENCODING_V2);
    put_varint(&w, f);
    if (f & F_SUBMITTED) {
        put_time(&w, d->submitted_at);
        put_byte(&w, d->channel);
    }
    if (f & F_RECEIVED) {
        put_time(&w, d->received_at);
        put_time(&w, d->due_at);
        put_byte(&w, d->received_flags);
    }
    if (f & F_NOT_ACCEPTED)
        put_time(&w, d->not_accepted_at);
    if (f & F_PROCESSING)
        put_time(&w, d->processing_at);
    if (f & F_FEE)
        put_svarint(&w, d->fee_amount);
    if (f & F_PAID) {
        put_time(&w, d->paid_at);
        put_byte(&w, d->paid_methods);
    }
    if (f & F_REQUIREMENT) {
        put_time(&w, d->requirement_at);
        put_byte(&w, d->requirement_kinds);
    }
    if (f & F_RESOLVED) {
        put_time(&w, d->resolved_at);
        put_byte(&w, (uint8_t)(d->outcome << 2 | d->resolved_flags));
    }
    if (f & F_RETURNED) {
        put_time(&w, d->returned_at);
        put_byte(&w, (uint8_t)(d->delivery << 1 | d->paper_copy));
    }
    if (f & F_WITHDRAWN)
        put_time(&w, d->withdrawn_at);
    if (f & F_STOPPED)
        put_time(&w, d->stopped_at);
    if (f & F_SYNCED)
        put_time(&w, d->synced_at);
    if (f & F_RATED) {
        put_time(&w, d->rated_at);
        put_byte(&w, d->satisfied);
    }
    if (f & F_COMPLAINT)
        put_time(&w, d->complaint_at);
    if (f & F_SUPP_REQ) {
        put_byte(&w, d->n_supp_req);
        for (int i = 0; i < d->n_supp_req; i++)
            put_time(&w, d->supp_req[i]);
    }
    if (f & F_SUPP_RECV) {
        put_byte(&w, d->n_supp_recv);
        for (int i = 0; i < d->n_supp_recv; i++)
            put_time(&w, d->supp_recv[i]);
    }
    if (f & F_FENCE) {
        put_varint(&w, (uint64_t)(uint32_t)d->fence_partition);
        put_varint(&w, (uint64_t)d->fence_offset);
    }
    if (f & F_PROCEDURE)
        put_procedure(&w, d->procedure);
    if (f & F_LEVEL)
        put_byte(&w, d->level);
    if (f & F_PUB) {
        /* the offset as a distance below the fence: usually one byte */
        put_byte(&w, (uint8_t)(pub3(d->pub_cls) | pub3(d->pub_prev) << 3));
        put_svarint(&w, (f & F_FENCE) ? d->fence_offset - d->pub_offset : d->pub_offset);
        put_svarint(&w, d->pub_offset - d->pub_boundary);
    }
    if (w.overflow)
        return CHISO_ERANGE;
    return (int)(w.p - buf);
}

static int valid_enum(unsigned v, unsigned max)
{
    return v <= max;
}

/* A stored set of times is what set_insert() builds: not empty, ascending,
 * distinct (the on-time rule reads its first elements as R1, R2). */
static int valid_set(const int64_t *set, int n)
{
    if (n == 0)
        return 0;
    for (int i = 1; i < n; i++) {
        if (set[i] <= set[i - 1])
            return 0;
    }
    return 1;
}

/* Encoding v1's mask as the facts' bits. */
static uint32_t mask_from_v1(uint64_t v1)
{
    uint32_t f = 0;
    for (unsigned i = 0; i < sizeof(V1_BIT); i++) {
        if (v1 & (UINT64_C(1) << V1_BIT[i]))
            f |= 1u << i;
    }
    return f;
}

/* The procedure code: v1 (and v2's unpacked form) a length byte and the
 * bytes; v2's packed form a length byte with PROC_PACKED and a nibble per
 * character (the last byte's low nibble 0 for an odd length). */
static void get_procedure(reader *r, char *out, bool v2)
{
    uint8_t b = get_byte(r);
    size_t n = v2 ? (size_t)(b & ~PROC_PACKED) : b;
    if (n > CHISO_CODE_MAX) {
        r->bad = 1;
        return;
    }
    if (v2 && (b & PROC_PACKED)) {
        for (size_t i = 0; i < n; i += 2) {
            uint8_t pair = get_byte(r);
            unsigned hi = pair >> 4, lo = pair & 15u;
            bool odd_end = i + 1 == n;
            if (hi >= sizeof(PROC_NIBBLES) - 1 ||
                (odd_end ? lo != 0 : lo >= sizeof(PROC_NIBBLES) - 1)) {
                r->bad = 1;
                return;
            }
            out[i] = PROC_NIBBLES[hi];
            if (!odd_end)
                out[i + 1] = PROC_NIBBLES[lo];
        }
        r->bad |= n == 0; /* never written */
    } else {
        for (size_t i = 0; i < n; i++)
            out[i] = (char)get_byte(r);
        /* v2 packs every code it can, and no code holds a NUL */
        r->bad |= v2 && (proc_packable(out, n) || memchr(out, 0, n) != NULL);
    }
    out[n] = '\0';
}

int chiso_dossier_decode(chiso_dossier *d, const void *buf, size_t len)
{
    reader r = {.p = buf, .end = (const unsigned char *)buf + len};
    uint32_t f;

    chiso_dossier_reset(d);
    uint8_t version = get_byte(&r);
    if (version != ENCODING_V1 && version != ENCODING_V2)
        goto bad;
    bool v2 = version == ENCODING_V2;
    uint64_t mask = get_varint(&r);
    if (mask & ~(uint64_t)F_ALL)
        goto bad;
    f = v2 ? (uint32_t)mask : mask_from_v1(mask);
    r.last_time = v2 ? V2_EPOCH : 0;
    d->present = f;
    if (f & F_SUBMITTED) {
        d->submitted_at = get_time(&r);
        d->channel = get_byte(&r);
    }
    if (f & F_RECEIVED) {
        d->received_at = get_time(&r);
        d->due_at = get_time(&r);
        d->received_flags = get_byte(&r);
    }
    if (f & F_NOT_ACCEPTED)
        d->not_accepted_at = get_time(&r);
    if (f & F_PROCESSING)
        d->processing_at = get_time(&r);
    if (f & F_FEE)
        d->fee_amount = get_svarint(&r);
    if (f & F_PAID) {
        d->paid_at = get_time(&r);
        d->paid_methods = get_byte(&r);
    }
    if (f & F_REQUIREMENT) {
        d->requirement_at = get_time(&r);
        d->requirement_kinds = get_byte(&r);
    }
    if (f & F_RESOLVED) {
        d->resolved_at = get_time(&r);
        uint8_t b = get_byte(&r);
        if (v2) {
            d->outcome = b >> 2;
            d->resolved_flags = b & 3u;
        } else {
            d->outcome = b;
            d->resolved_flags = get_byte(&r);
        }
    }
    if (f & F_RETURNED) {
        d->returned_at = get_time(&r);
        uint8_t b = get_byte(&r);
        if (v2) {
            d->delivery = b >> 1;
            d->paper_copy = b & 1u;
        } else {
            d->delivery = b;
            d->paper_copy = get_byte(&r);
        }
    }
    if (f & F_WITHDRAWN)
        d->withdrawn_at = get_time(&r);
    if (f & F_STOPPED)
        d->stopped_at = get_time(&r);
    if (f & F_SYNCED)
        d->synced_at = get_time(&r);
    if (f & F_RATED) {
        d->rated_at = get_time(&r);
        d->satisfied = get_byte(&r);
    }
    if (f & F_COMPLAINT)
        d->complaint_at = get_time(&r);
    if (f & F_SUPP_REQ) {
        d->n_supp_req = get_byte(&r);
        if (d->n_supp_req > CHISO_SUPP_MAX)
            goto bad;
        for (int i = 0; i < d->n_supp_req; i++)
            d->supp_req[i] = get_time(&r);
        r.bad |= !valid_set(d->supp_req, d->n_supp_req);
    }
    if (f & F_SUPP_RECV) {
        d->n_supp_recv = get_byte(&r);
        if (d->n_supp_recv > CHISO_SUPP_MAX)
            goto bad;
        for (int i = 0; i < d->n_supp_recv; i++)
            d->supp_recv[i] = get_time(&r);
        r.bad |= !valid_set(d->supp_recv, d->n_supp_recv);
    }
    if (f & F_FENCE) {
        d->fence_partition = (int32_t)(uint32_t)get_varint(&r);
        d->fence_offset = (int64_t)get_varint(&r);
    }
    if (f & F_PROCEDURE)
        get_procedure(&r, d->procedure, v2);
    if (f & F_LEVEL) {
        d->level = get_byte(&r);
        if (d->level == CHISO_LEVEL_UNKNOWN) /* never written: not canonical */
            r.bad = 1;
    }
    if (f & F_PUB) {
        if (v2) {
            uint8_t b = get_byte(&r);
            d->pub_cls = unpub3(b);
            d->pub_prev = unpub3(b >> 3);
            r.bad |= (b >> 6) != 0;
        } else {
            d->pub_cls = get_byte(&r);
            d->pub_prev = get_byte(&r);
        }
        int64_t v = get_svarint(&r);
        d->pub_offset = (f & F_FENCE) ? d->fence_offset - v : v;
        d->pub_boundary = d->pub_offset - get_svarint(&r);
        r.bad |= (d->pub_cls & ~CHISO_PUB_PROVISIONAL) > CHISO_CLASS_OFFLINE ||
                 (d->pub_prev & ~CHISO_PUB_PROVISIONAL) > CHISO_CLASS_OFFLINE;
    }
    if (r.bad || r.p != r.end || !valid_enum(d->channel, CHISO_CHANNEL_POSTAL) ||
        !valid_enum(d->delivery, CHISO_DELIVERY_COUNTER) || d->paper_copy > 1 ||
        d->resolved_flags > (SF_E_RESULT | SF_E_SIGNED) ||
        !valid_enum(d->outcome, CHISO_OUTCOME_DENIED) || !valid_enum(d->level, CHISO_LEVEL_FULL))
        goto bad;
    return 0;

bad:
    chiso_dossier_reset(d);
    return CHISO_ESTATE;
}

/* ---- classification and contributions ---- */

/* Payments that count as online for Decision 766 indicator 11. */
#define PAID_ONLINE_METHODS                                                                        \
    ((1u << CHISO_PAY_DVCQG_PLATFORM) | (1u << CHISO_PAY_PROVINCIAL_GATEWAY))

/* The conditions the counters and the procedure memberships share. */
static bool submitted_online(const chiso_dossier *d)
{
    return (d->present & F_SUBMITTED) && d->channel == CHISO_CHANNEL_ONLINE;
}

static bool fee_applies(const chiso_dossier *d)
{
    return (d->present & F_FEE) && d->fee_amount > 0;
}

/* A fee applies and was paid online (paid_online, once received). */
static bool fee_paid_online(const chiso_dossier *d)
{
    return fee_applies(d) && (d->paid_methods & PAID_ONLINE_METHODS);
}

/* The procedure is an online service: catalog level full or partial. */
static bool online_service(const chiso_dossier *d)
{
    return (d->present & F_LEVEL) &&
           (d->level == CHISO_LEVEL_FULL || d->level == CHISO_LEVEL_PARTIAL);
}

void chiso_dossier_class_facts(const chiso_dossier *d, chiso_class_facts *out)
{
    memset(out, 0, sizeof(*out));
    out->channel = (d->present & F_SUBMITTED) ? (chiso_channel)d->channel : CHISO_CHANNEL_UNKNOWN;
    out->fee_due = fee_applies(d);
    out->paid_methods = d->paid_methods;
    out->resolved = d->present & F_RESOLVED;
    out->e_result = d->resolved_flags & SF_E_RESULT;
    out->returned = d->present & F_RETURNED;
    out->delivery = (chiso_delivery)d->delivery;
    out->paper_copy = d->paper_copy;
    out->requirement_kinds = d->requirement_kinds;
}

chiso_class chiso_dossier_class(const chiso_dossier *d, bool *provisional)
{
    chiso_class_facts facts;
    chiso_dossier_class_facts(d, &facts);
    if (provisional)
        *provisional = !(d->present & F_RETURNED);
    return chiso_classify(&facts, NULL);
}

const char *chiso_dossier_procedure(const chiso_dossier *d)
{
    return d->procedure;
}

/* When the dossier finished (DOMAIN.md, "Populations the national portal
 * uses"): at its resolution, else when it was returned, else at the first
 * of withdrawn, stopped and not accepted. True, with that time in *at, when
 * it has one. A resolution decides even when a withdrawal or a return
 * carries an earlier time (clocks of two systems, or a record out of
 * place): the dossier is judged on its result. */
static bool first_close(const chiso_dossier *d, int64_t *at)
{
    static const struct {
        uint32_t bit;
        size_t off;
    } enders[] = {
        {F_WITHDRAWN, offsetof(chiso_dossier, withdrawn_at)},
        {F_STOPPED, offsetof(chiso_dossier, stopped_at)},
        {F_NOT_ACCEPTED, offsetof(chiso_dossier, not_accepted_at)},
    };
    bool closed = false;

    if (d->present & F_RESOLVED) {
        *at = d->resolved_at;
        return true;
    }
    if (d->present & F_RETURNED) {
        *at = d->returned_at;
        return true;
    }
    for (size_t i = 0; i < sizeof(enders) / sizeof(enders[0]); i++) {
        if (!(d->present & enders[i].bit))
            continue;
        int64_t t;
        memcpy(&t, (const char *)d + enders[i].off, sizeof(t));
        if (!closed || t < *at)
            *at = t;
        closed = true;
    }
    return closed;
}

int32_t chiso_dossier_overdue_day(const chiso_dossier *d)
{
    if (!(d->present & F_RECEIVED))
        return CHISO_ONTIME_NEVER;
    return chiso_ontime_overdue_day(chiso_local_day(d->received_at), chiso_local_day(d->due_at),
                                    d->supp_req, d->n_supp_req, d->supp_recv, d->n_supp_recv);
}

bool chiso_dossier_open(const chiso_dossier *d)
{
    int64_t at = 0;
    return (d->present & F_RECEIVED) && !first_close(d, &at);
}

int64_t chiso_dossier_last_at(const chiso_dossier *d)
{
    static const struct {
        uint32_t bit;
        size_t off;
    } times[] = {
        {F_SUBMITTED, offsetof(chiso_dossier, submitted_at)},
        {F_RECEIVED, offsetof(chiso_dossier, received_at)},
        {F_NOT_ACCEPTED, offsetof(chiso_dossier, not_accepted_at)},
        {F_PROCESSING, offsetof(chiso_dossier, processing_at)},
        {F_PAID, offsetof(chiso_dossier, paid_at)},
        {F_REQUIREMENT, offsetof(chiso_dossier, requirement_at)},
        {F_RESOLVED, offsetof(chiso_dossier, resolved_at)},
        {F_RETURNED, offsetof(chiso_dossier, returned_at)},
        {F_WITHDRAWN, offsetof(chiso_dossier, withdrawn_at)},
        {F_STOPPED, offsetof(chiso_dossier, stopped_at)},
        {F_SYNCED, offsetof(chiso_dossier, synced_at)},
        {F_RATED, offsetof(chiso_dossier, rated_at)},
        {F_COMPLAINT, offsetof(chiso_dossier, complaint_at)},
    };
    int64_t last = INT64_MIN;
    for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
        int64_t t;
        if (!(d->present & times[i].bit))
            continue;
        memcpy(&t, (const char *)d + times[i].off, sizeof(t));
        if (t > last)
            last = t;
    }
    /* the sets are ascending */
    if ((d->present & F_SUPP_REQ) && d->n_supp_req && d->supp_req[d->n_supp_req - 1] > last)
        last = d->supp_req[d->n_supp_req - 1];
    if ((d->present & F_SUPP_RECV) && d->n_supp_recv && d->supp_recv[d->n_supp_recv - 1] > last)
        last = d->supp_recv[d->n_supp_recv - 1];
    return last;
}

int32_t chiso_dossier_reap_day(const chiso_dossier *d)
{
    int64_t last = chiso_dossier_last_at(d);
    return last == INT64_MIN ? INT32_MIN : chiso_local_day(last);
}

chiso_reap_verdict chiso_dossier_reap_verdict(const chiso_dossier *d, int32_t horizon_day,
                                              const int64_t *committed, int npartitions)
{
    if (chiso_dossier_open(d) || chiso_dossier_reap_day(d) >= horizon_day)
        return CHISO_REAP_KEEP;
    if (!(d->present & F_FENCE))
        return CHISO_REAP_DELETE;
    bool done = d->fence_partition >= 0 && d->fence_partition < npartitions &&
                d->fence_offset < committed[d->fence_partition];
    return done ? CHISO_REAP_DELETE : CHISO_REAP_WAIT;
}

static int32_t max32(int32_t a, int32_t b)
{
    return a > b ? a : b;
}

/* The counters of the `received` event's flags, each with the flags it
 * needs: a dossier linked to the data store must be digitized too. */
static const struct {
    uint8_t flags;
    chiso_counter_id counter, at_closed; /* at the received day; at the closed day */
} received_flag_counters[] = {
    {RF_DIGITIZED, CHISO_C_DIGITIZED, CHISO_C_DIGITIZED_CLOSED},
    {RF_REUSED, CHISO_C_REUSED_DATA, CHISO_C_REUSED_DATA_CLOSED},
    {RF_DIGITIZED | RF_FROM_STORE, CHISO_C_FROM_DATA_STORE, CHISO_C_FROM_DATA_STORE_CLOSED},
    {RF_POPULATION, CHISO_C_POPULATION_DATA, CHISO_C_POPULATION_DATA_CLOSED},
};
#define N_FLAG_COUNTERS (sizeof(received_flag_counters) / sizeof(received_flag_counters[0]))

int chiso_dossier_contrib(const chiso_dossier *d, chiso_contrib *out)
{
    int n = 0;
    bool received = d->present & F_RECEIVED;
    bool resolved = d->present & F_RESOLVED;
    bool online = submitted_online(d);
    bool e_result = resolved && (d->resolved_flags & SF_E_RESULT);
    bool complaint = (d->present & F_COMPLAINT) || ((d->present & F_RATED) && !d->satisfied);
    int32_t rday = received ? chiso_local_day(d->received_at) : 0;
    int32_t bday = chiso_dossier_overdue_day(d); /* B; NEVER when not received */

#define ADD(c, when)                                                                               \
    do {                                                                                           \
        out[n].counter = (c);                                                                      \
        out[n].day = (when);                                                                       \
        n++;                                                                                       \
    } while (0)

    /* CONTRIB_BOUND counts the at-most below, block by block */
    /* at most 13: received, its channel, the service level and level+online,
     * synced, online and valid for indicator 8, the fee and its online
     * payment, the four flags of the received event, a complaint or dislike */
    if (received) {
        ADD(CHISO_C_RECEIVED, rday);
        if (d->present & F_SUBMITTED) {
            if (d->channel == CHISO_CHANNEL_ONLINE)
                ADD(CHISO_C_RECEIVED_ONLINE, rday);
            else if (d->channel == CHISO_CHANNEL_DIRECT)
                ADD(CHISO_C_RECEIVED_DIRECT, rday);
            else if (d->channel == CHISO_CHANNEL_POSTAL)
                ADD(CHISO_C_RECEIVED_POSTAL, rday);
        }
        if ((d->present & F_LEVEL) && d->level == CHISO_LEVEL_FULL) {
            ADD(CHISO_C_RECEIVED_SVC_FULL, rday);
            if (online)
                ADD(CHISO_C_RECEIVED_SVC_FULL_ONLINE, rday);
        } else if ((d->present & F_LEVEL) && d->level == CHISO_LEVEL_PARTIAL) {
            ADD(CHISO_C_RECEIVED_SVC_PARTIAL, rday);
            if (online)
                ADD(CHISO_C_RECEIVED_SVC_PARTIAL_ONLINE, rday);
        }
        if (d->present & F_SYNCED)
            ADD(CHISO_C_SYNCED, rday);
        if (online && (e_result || !(d->present & F_PAPER_RESULT)))
            ADD(CHISO_C_RECEIVED_ONLINE_VALID, rday);
        if (fee_applies(d)) {
            ADD(CHISO_C_FEE_DOSSIERS, rday);
            if (fee_paid_online(d))
                ADD(CHISO_C_PAID_ONLINE, rday);
        }
        for (size_t i = 0; i < N_FLAG_COUNTERS; i++) {
            uint8_t need = received_flag_counters[i].flags;
            if ((d->received_flags & need) == need)
                ADD(received_flag_counters[i].counter, rday);
        }
        if (complaint)
            ADD(CHISO_C_COMPLAINT_RECEIVED, rday);
    }

    /* at most 5: resolved, on time or late, the class, the electronic result,
     * a complaint or dislike */
    if (resolved) {
        int32_t sday = chiso_local_day(d->resolved_at);
        ADD(CHISO_C_RESOLVED, sday);
        if (received)
            ADD(chiso_ontime_resolved_on_time(sday, bday) ? CHISO_C_RESOLVED_ON_TIME
                                                          : CHISO_C_RESOLVED_LATE,
                sday);
        switch (chiso_dossier_class(d, NULL)) {
        case CHISO_CLASS_FULL_PROCESS:
            ADD(CHISO_C_FULL_PROCESS, sday);
            break;
        case CHISO_CLASS_PARTIAL:
            ADD(CHISO_C_PARTIAL, sday);
            break;
        case CHISO_CLASS_OFFLINE:
            ADD(CHISO_C_OFFLINE, sday);
            break;
        default:
            break;
        }
        if (e_result)
            ADD(CHISO_C_RESOLVED_E_RESULT, sday);
        if (received && complaint)
            ADD(CHISO_C_RESOLVED_COMPLAINT, sday);
    }

    /* at most 9: closed at C = max(rday, first close); overdue_began at a
     * finite B unless closed before B; overdue_closed at C when C >= B; at
     * C, what the dossier counted at its received day for the population D
     * (a complaint, the four flags) and its electronic result */
    if (received) {
        int64_t close_at = 0;
        bool closed = first_close(d, &close_at);
        int32_t cday = closed ? max32(rday, chiso_local_day(close_at)) : 0;
        bool finite = bday != CHISO_ONTIME_NEVER;
        if (closed)
            ADD(CHISO_C_CLOSED, cday);
        if (finite && (!closed || cday >= bday))
            ADD(CHISO_C_OVERDUE_BEGAN, bday);
        if (finite && closed && cday >= bday)
            ADD(CHISO_C_OVERDUE_CLOSED, cday);
        if (closed) {
            if (complaint)
                ADD(CHISO_C_COMPLAINT_CLOSED, cday);
            if (e_result)
                ADD(CHISO_C_E_RESULT_CLOSED, cday);
            for (size_t i = 0; i < N_FLAG_COUNTERS; i++) {
                uint8_t need = received_flag_counters[i].flags;
                if ((d->received_flags & need) == need)
                    ADD(received_flag_counters[i].at_closed, cday);
            }
        }
    }
#undef ADD
    return n;
}

/* A contribution's order: by counter, then day. */
static uint64_t contrib_key(const chiso_contrib *c)
{
    return ((uint64_t)c->counter << 32) | ((uint32_t)c->day ^ 0x80000000u);
}

/* Sort keys of at most CHISO_CONTRIB_MAX contributions (insertion sort:
 * a few dozen at most, most already in order). */
static void contrib_sort(const chiso_contrib *c, int n, uint64_t *keys)
{
    for (int i = 0; i < n; i++) {
        uint64_t k = contrib_key(&c[i]);
        int j = i;
        for (; j > 0 && keys[j - 1] > k; j--)
            keys[j] = keys[j - 1];
        keys[j] = k;
    }
}

int chiso_contrib_diff(const chiso_contrib *old, int nold, const chiso_contrib *new_, int nnew,
                       chiso_delta *out)
{
    uint64_t a[CHISO_CONTRIB_MAX], b[CHISO_CONTRIB_MAX];
    int i = 0, j = 0, n = 0;

    contrib_sort(old, nold, a);
    contrib_sort(new_, nnew, b);
    while (i < nold || j < nnew) {
        uint64_t key = i == nold ? b[j] : j == nnew ? a[i] : a[i] < b[j] ? a[i] : b[j];
        int delta = 0;
        for (; i < nold && a[i] == key; i++)
            delta--;
        for (; j < nnew && b[j] == key; j++)
            delta++;
        if (delta) {
            out[n].counter = (chiso_counter_id)(key >> 32);
            out[n].day = (int32_t)((uint32_t)key ^ 0x80000000u);
            out[n].delta = delta;
            n++;
        }
    }
    return n;
}

/* ---- procedure memberships ---- */

const char *chiso_proc_set_name(chiso_proc_set set)
{
    static const char *const names[CHISO_PS_COUNT] = {
        [CHISO_PS_ONLINE] = "po", [CHISO_PS_PAID] = "pp"};
    return (unsigned)set < CHISO_PS_COUNT ? names[set] : NULL;
}

/* The same conditions as received_svc_*_online and paid_online, on the
 * same day: a set's field values of a period sum to those counters. */
int chiso_dossier_proc_contrib(const chiso_dossier *d, chiso_proc_contrib *out)
{
    int n = 0;
    if (!(d->present & F_RECEIVED) || !(d->present & F_PROCEDURE))
        return 0;
    int32_t rday = chiso_local_day(d->received_at);
    if (submitted_online(d) && online_service(d))
        out[n++] = (chiso_proc_contrib){CHISO_PS_ONLINE, rday};
    if (fee_paid_online(d))
        out[n++] = (chiso_proc_contrib){CHISO_PS_PAID, rday};
    return n;
}

/* How many of c[0..n) are (set, day). */
static int proc_multiplicity(const chiso_proc_contrib *c, int n, chiso_proc_set set, int32_t day)
{
    int k = 0;
    for (int i = 0; i < n; i++)
        k += c[i].set == set && c[i].day == day;
    return k;
}

/* Whether c[i] is the first of c[0..i] with its (set, day). */
static bool proc_first(const chiso_proc_contrib *c, int i)
{
    return proc_multiplicity(c, i, c[i].set, c[i].day) == 0;
}

int chiso_proc_contrib_diff(const chiso_proc_contrib *old, int nold, const char *old_procedure,
                            const chiso_proc_contrib *new_, int nnew, const char *new_procedure,
                            chiso_proc_delta *out)
{
    bool same = strcmp(old_procedure, new_procedure) == 0;
    int n = 0;

    /* a few entries: quadratic is the short way */
    for (int i = 0; i < nold; i++) {
        if (!proc_first(old, i))
            continue;
        int delta = -proc_multiplicity(old, nold, old[i].set, old[i].day);
        if (same)
            delta += proc_multiplicity(new_, nnew, old[i].set, old[i].day);
        if (delta)
            out[n++] = (chiso_proc_delta){old[i].set, old[i].day, delta, old_procedure};
    }
    for (int i = 0; i < nnew; i++) {
        if (!proc_first(new_, i) ||
            (same && proc_multiplicity(old, nold, new_[i].set, new_[i].day) > 0))
            continue;
        int delta = proc_multiplicity(new_, nnew, new_[i].set, new_[i].day);
        out[n++] = (chiso_proc_delta){new_[i].set, new_[i].day, delta, new_procedure};
    }
    return n;
}
