/*
 * test_dossier.c - the dossier state: order independence, idempotence,
 * encoding (and states written before the service level and before the
 * paper-result attribute), fence, contributions (on-time rule with
 * supplements, catalog attributes, the Decision 766 indicators' counters
 * with their anchor days) and their differences, and the procedure
 * memberships of #7 and #9 (conditions, anchor day, order and repeats,
 * late facts, differences, a change of procedure), and the retention rule.
 */
#include "chiso/dossier.h"

#include <stdlib.h>
#include <string.h>

#include "chiso/catalog.h"
#include "chiso/common.h"
#include "chiso/ontime.h"
#include "chiso/vntime.h"

#include "check.h"
#include "testtime.h"

static chiso_event ev(chiso_event_type type, const char *id, const char *at)
{
    chiso_event e;
    memset(&e, 0, sizeof(e));
    e.type = type;
    snprintf(e.event_id, sizeof(e.event_id), "%s", id);
    snprintf(e.dossier_id, sizeof(e.dossier_id), "H31-250701-000001");
    snprintf(e.unit, sizeof(e.unit), "000.00.12.H31");
    snprintf(e.procedure, sizeof(e.procedure), "1.001234");
    e.at = T(at);
    return e;
}

/* A full-process online dossier with a fee, resolved on time. */
static int full_story(chiso_event *out)
{
    int n = 0;
    out[n] = ev(CHISO_EV_SUBMITTED, "e1", "2025-07-01T08:00:00+07:00");
    out[n++].channel = CHISO_CHANNEL_ONLINE;
    out[n] = ev(CHISO_EV_RECEIVED, "e2", "2025-07-01T09:00:00+07:00");
    out[n].due_at = T("2025-07-04T17:00:00+07:00");
    out[n++].digitized = true;
    out[n++] = ev(CHISO_EV_PROCESSING, "e3", "2025-07-01T10:00:00+07:00");
    out[n] = ev(CHISO_EV_FEE_REQUESTED, "e4", "2025-07-01T10:05:00+07:00");
    out[n++].amount = 50000;
    out[n] = ev(CHISO_EV_PAID, "e5", "2025-07-01T11:00:00+07:00");
    out[n++].method = CHISO_PAY_DVCQG_PLATFORM;
    out[n] = ev(CHISO_EV_RESOLVED, "e6", "2025-07-03T15:00:00+07:00");
    out[n].outcome = CHISO_OUTCOME_APPROVED;
    out[n].e_result = true;
    out[n++].e_signed = true;
    out[n] = ev(CHISO_EV_RETURNED, "e7", "2025-07-03T16:00:00+07:00");
    out[n].delivery = CHISO_DELIVERY_ONLINE;
    out[n++].paper_copy = true;
    out[n++] = ev(CHISO_EV_SYNCED, "e8", "2025-07-03T16:30:00+07:00");
    out[n] = ev(CHISO_EV_SUPPLEMENT_REQUESTED, "e9", "2025-07-02T09:00:00+07:00");
    n++;
    out[n] = ev(CHISO_EV_SUPPLEMENT_RECEIVED, "e10", "2025-07-02T14:00:00+07:00");
    n++;
    out[n] = ev(CHISO_EV_RATED, "e11", "2025-07-04T09:00:00+07:00");
    out[n++].satisfied = true;
    return n;
}

static int encode(const chiso_dossier *d, unsigned char *buf)
{
    return chiso_dossier_encode(d, buf, CHISO_DOSSIER_MAX_ENCODED);
}

static int has(const chiso_contrib *c, int n, chiso_counter_id id, int32_t day)
{
    int k = 0;
    for (int i = 0; i < n; i++)
        k += c[i].counter == id && c[i].day == day;
    return k;
}

/* One step of a story: an event, or the catalog's attributes (ev NULL). */
typedef struct step {
    const chiso_event *ev;
    uint64_t attrs;
} step;

static int apply_step(chiso_dossier *d, const step *s)
{
    return s->ev ? chiso_dossier_apply(d, s->ev) : chiso_dossier_apply_catalog(d, s->attrs);
}

/* Every step of in[0..n) one to three times, in a random order, into out
 * (room for 3 n); returns how many. */
static int shuffled_repeats(const step *in, int n, step *out, uint64_t *rng)
{
    int m = 0;
    for (int i = 0; i < n; i++) {
        *rng = *rng * 6364136223846793005ULL + 1442695040888963407ULL;
        for (int copies = 1 + (int)((*rng >> 33) % 3); copies > 0; copies--)
            out[m++] = in[i];
    }
    for (int i = m - 1; i > 0; i--) {
        *rng = *rng * 6364136223846793005ULL + 1442695040888963407ULL;
        int j = (int)((*rng >> 33) % (uint64_t)(i + 1));
        step t = out[i];
        out[i] = out[j];
        out[j] = t;
    }
    return m;
}

static int same_contrib(const chiso_dossier *a, const chiso_dossier *b)
{
    chiso_contrib ca[CHISO_CONTRIB_MAX], cb[CHISO_CONTRIB_MAX];
    chiso_delta delta[2 * CHISO_CONTRIB_MAX];
    int na = chiso_dossier_contrib(a, ca), nb = chiso_dossier_contrib(b, cb);
    return chiso_contrib_diff(ca, na, cb, nb, delta) == 0;
}

static bool same_state_and_contrib(const chiso_dossier *e, const chiso_dossier *d)
{
    return chiso_dossier_equal(d, e) && same_contrib(d, e);
}

/* The first of 20 rounds in which `same(state, d)` fails, the state built
 * from the events and the catalog attributes in a random order, each of
 * them up to three times; -1 when it holds in every round. */
static int any_order_fails(const chiso_event *evs, int n, uint64_t attrs, uint64_t *rng,
                           bool (*same)(const chiso_dossier *e, const chiso_dossier *d),
                           const chiso_dossier *d)
{
    step steps[13], shuffled[39];
    chiso_dossier *e = chiso_dossier_new();
    int failed = -1;

    for (int j = 0; j < n; j++)
        steps[j] = (step){.ev = &evs[j]};
    steps[n] = (step){.attrs = attrs};
    for (int round = 0; round < 20 && failed < 0; round++) {
        int m = shuffled_repeats(steps, n + 1, shuffled, rng);
        chiso_dossier_reset(e);
        for (int j = 0; j < m; j++)
            apply_step(e, &shuffled[j]);
        if (!same(e, d))
            failed = round;
    }
    chiso_dossier_free(e);
    return failed;
}

static void test_order_independence(void)
{
    chiso_event evs[24];
    step steps[32], shuffled[96];
    int n = full_story(evs), ns = 0;
    chiso_dossier *ref = chiso_dossier_new(), *d = chiso_dossier_new();
    unsigned char a[CHISO_DOSSIER_MAX_ENCODED], b[CHISO_DOSSIER_MAX_ENCODED];
    uint64_t rng = 42;

    /* more supplement facts: a receipt before any request, a second
     * request and its receipt; a second fee request and payment (the
     * largest amount and both methods stay); a complaint, and a later
     * rating that does not replace the first; and catalog attributes: two
     * service levels (the highest stays) and the paper result (it stays) */
    evs[n++] = ev(CHISO_EV_SUPPLEMENT_RECEIVED, "e12", "2025-07-01T12:00:00+07:00");
    evs[n++] = ev(CHISO_EV_SUPPLEMENT_REQUESTED, "e13", "2025-07-02T17:30:00Z");
    evs[n++] = ev(CHISO_EV_SUPPLEMENT_RECEIVED, "e14", "2025-07-03T11:00:00+07:00");
    evs[n] = ev(CHISO_EV_FEE_REQUESTED, "e15", "2025-07-01T10:30:00+07:00");
    evs[n++].amount = 0;
    evs[n] = ev(CHISO_EV_PAID, "e16", "2025-07-01T10:40:00+07:00");
    evs[n++].method = CHISO_PAY_CASH;
    evs[n++] = ev(CHISO_EV_COMPLAINT, "e17", "2025-07-05T10:00:00+07:00");
    evs[n] = ev(CHISO_EV_RATED, "e18", "2025-07-06T09:00:00+07:00");
    evs[n++].satisfied = false;
    for (int i = 0; i < n; i++)
        steps[ns++] = (step){.ev = &evs[i]};
    steps[ns++] = (step){.attrs = CHISO_LEVEL_PARTIAL};
    steps[ns++] = (step){.attrs = CHISO_LEVEL_FULL};
    steps[ns++] = (step){.attrs = CHISO_LEVEL_NONE | CHISO_ATTR_PAPER_RESULT};

    for (int i = 0; i < ns; i++)
        apply_step(ref, &steps[i]);
    int la = encode(ref, a);
    CHECK(la > 0 && la < 100, "typical encoding is compact: %d bytes", la);
    CHECK_EQ_INT(chiso_dossier_overdue_day(ref), D("2025-07-03"),
                 "the second request (local 3 July) decides");
    chiso_contrib rc[CHISO_CONTRIB_MAX];
    int nrc = chiso_dossier_contrib(ref, rc);
    CHECK(has(rc, nrc, CHISO_C_RECEIVED_SVC_FULL, D("2025-07-01")) &&
              has(rc, nrc, CHISO_C_RECEIVED_ONLINE_VALID, D("2025-07-01")) &&
              has(rc, nrc, CHISO_C_PAID_ONLINE, D("2025-07-01")) &&
              has(rc, nrc, CHISO_C_RESOLVED_COMPLAINT, D("2025-07-03")),
          "the merged facts: full level, paper result with an e-result, fee paid on the "
          "platform, a complaint");

    for (int round = 0; round < 500; round++) {
        /* every step once, some twice or three times, in random order */
        int m = shuffled_repeats(steps, ns, shuffled, &rng);
        chiso_dossier_reset(d);
        for (int i = 0; i < m; i++)
            apply_step(d, &shuffled[i]);
        int lb = encode(d, b);
        bool same = la == lb && memcmp(a, b, (size_t)la) == 0 && same_contrib(ref, d);
        CHECK(same, "round %d: same state and contributions in any order", round);
        if (!same)
            break;
    }

    /* applying anything a second time changes nothing */
    for (int i = 0; i < ns; i++)
        CHECK(apply_step(ref, &steps[i]) == 0, "step %d applied twice is a no-op", i);

    /* a second `received` with an earlier time wins, in either order */
    chiso_event early = ev(CHISO_EV_RECEIVED, "e2b", "2025-07-01T08:30:00+07:00");
    early.due_at = T("2025-07-05T17:00:00+07:00");
    chiso_dossier_copy(d, ref);
    CHECK(chiso_dossier_apply(d, &early) == 1, "earlier received replaces");
    chiso_dossier *d2 = chiso_dossier_new();
    chiso_dossier_apply(d2, &early);
    for (int i = ns - 1; i >= 0; i--)
        apply_step(d2, &steps[i]);
    CHECK(chiso_dossier_equal(d, d2), "earliest occurrence wins regardless of order");
    chiso_dossier_free(d2);
    chiso_dossier_free(ref);
    chiso_dossier_free(d);
}

static void test_encoding(void)
{
    chiso_event evs[16];
    int n = full_story(evs);
    chiso_dossier *d = chiso_dossier_new(), *e = chiso_dossier_new();
    unsigned char buf[CHISO_DOSSIER_MAX_ENCODED];

    CHECK(chiso_dossier_empty(d), "new state is empty");
    for (int i = 0; i < n; i++)
        chiso_dossier_apply(d, &evs[i]);
    chiso_dossier_set_fence(d, 3, 123456789);
    int len = encode(d, buf);
    CHECK(len > 0, "encodes");
    CHECK(chiso_dossier_decode(e, buf, (size_t)len) == 0, "decodes");
    CHECK(chiso_dossier_equal(d, e), "round trip keeps everything");
    CHECK_EQ_STR(chiso_dossier_procedure(e), "1.001234", "procedure kept");
    CHECK(chiso_dossier_fenced(e, 3, 123456789), "fence offset itself is applied");
    CHECK(chiso_dossier_fenced(e, 3, 5), "older offset fenced");
    CHECK(!chiso_dossier_fenced(e, 3, 123456790), "newer offset not fenced");
    CHECK(!chiso_dossier_fenced(e, 2, 5), "other partition not fenced");
    chiso_dossier_set_fence(e, 3, 10);
    CHECK(chiso_dossier_fenced(e, 3, 123456789), "fence never goes back");

    /* corrupt inputs are refused, never crash */
    CHECK(chiso_dossier_decode(e, buf, (size_t)len - 1) == CHISO_ESTATE, "truncated");
    unsigned char bad[CHISO_DOSSIER_MAX_ENCODED + 1];
    memcpy(bad, buf, (size_t)len);
    bad[len] = 0;
    CHECK(chiso_dossier_decode(e, bad, (size_t)len + 1) == CHISO_ESTATE, "trailing byte");
    bad[0] = 99;
    CHECK(chiso_dossier_decode(e, bad, (size_t)len) == CHISO_ESTATE, "unknown version");
    CHECK(chiso_dossier_decode(e, "", 0) == CHISO_ESTATE, "empty");
    CHECK(chiso_dossier_encode(d, buf, 4) == CHISO_ERANGE, "small buffer");

    /* the catalog attributes travel too, and stay out of "empty"; the paper
     * result costs no byte */
    int len_plain = len;
    CHECK(chiso_dossier_apply_catalog(d, CHISO_ATTR_PAPER_RESULT) == 1, "paper result recorded");
    len = encode(d, buf);
    CHECK_EQ_INT(len, len_plain, "the paper-result bit adds no byte");
    CHECK(chiso_dossier_decode(e, buf, (size_t)len) == 0, "decodes with the paper result");
    CHECK(chiso_dossier_equal(d, e), "round trip keeps the paper result");
    CHECK(chiso_dossier_apply_catalog(e, CHISO_ATTR_PAPER_RESULT) == 0,
          "decoded paper result is there");
    CHECK(chiso_dossier_apply_catalog(d, CHISO_LEVEL_PARTIAL) == 1, "level recorded");
    len = encode(d, buf);
    CHECK_EQ_INT(len, len_plain + 1, "the level adds one byte");
    CHECK(chiso_dossier_decode(e, buf, (size_t)len) == 0, "decodes with a level");
    CHECK(chiso_dossier_equal(d, e), "round trip keeps the level");
    CHECK(chiso_dossier_apply_catalog(e, CHISO_LEVEL_PARTIAL) == 0, "decoded level is partial");
    CHECK(chiso_dossier_apply_catalog(e, CHISO_LEVEL_FULL) == 1, "and full is higher");
    chiso_dossier_reset(e);
    chiso_dossier_apply_catalog(e, CHISO_LEVEL_FULL | CHISO_ATTR_PAPER_RESULT);
    chiso_dossier_set_fence(e, 0, 1);
    CHECK(chiso_dossier_empty(e), "catalog attributes and a fence are no event facts");

    /* a level byte outside the enum, or "unknown" (never written), is refused */
    memcpy(bad, buf, (size_t)len);
    bad[len - 1] = CHISO_LEVEL_FULL + 1; /* the level is the last field */
    CHECK(chiso_dossier_decode(e, bad, (size_t)len) == CHISO_ESTATE, "level out of range");
    bad[len - 1] = CHISO_LEVEL_UNKNOWN;
    CHECK(chiso_dossier_decode(e, bad, (size_t)len) == CHISO_ESTATE, "level unknown written");
    CHECK(chiso_dossier_empty(e), "a refused state leaves d empty");
    chiso_dossier_free(d);
    chiso_dossier_free(e);
}

static void test_procedure_codes(void)
{
    /* every procedure code travels, packed or not, and a packed one costs a
     * nibble a character */
    static const struct {
        const char *code;
        int bytes; /* its length byte and characters */
    } codes[] = {
        {"1", 2},          {"12", 2},
        {"2.000186", 5},   {"1.004227.000.00.00.H31", 12},
        {"2.000186-1", 6}, {"12345678901234567890123456789012", 17}, /* CHISO_CODE_MAX digits */
        {"ABC", 4},        {"h31", 4},
        {"1.004227 ", 10},
    };
    chiso_dossier *d = chiso_dossier_new(), *e = chiso_dossier_new();
    unsigned char buf[CHISO_DOSSIER_MAX_ENCODED];
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        /* with a level, the mask takes two bytes with the code or without */
        chiso_event p = ev(CHISO_EV_SUBMITTED, "p1", "2025-07-01T08:00:00+07:00");
        snprintf(p.procedure, sizeof(p.procedure), "%s", codes[i].code);
        chiso_dossier_reset(e);
        chiso_dossier_apply(e, &p);
        chiso_dossier_apply_catalog(e, CHISO_LEVEL_FULL);
        int with = encode(e, buf);
        CHECK(chiso_dossier_decode(d, buf, (size_t)with) == 0 &&
                  strcmp(chiso_dossier_procedure(d), codes[i].code) == 0,
              "code %s travels", codes[i].code);
        p.procedure[0] = '\0';
        chiso_dossier_reset(e);
        chiso_dossier_apply(e, &p);
        chiso_dossier_apply_catalog(e, CHISO_LEVEL_FULL);
        CHECK_EQ_INT(with - encode(e, buf), codes[i].bytes, "code %s: bytes", codes[i].code);
    }
    chiso_dossier_free(d);
    chiso_dossier_free(e);
}

/* A state written by the encoder before the service level existed (commit
 * 550ad8e): submitted online 1 July, received 1 July due 10 July, supplement
 * requested 8 July and received 12 July, resolved 14 July, procedure
 * 1.001234, fence (2, 4242). */
static const unsigned char legacy_state[] = {
    0x01, 0x83, 0x81, 0x0f, 0xa0, 0xcc, 0x99, 0x86, 0x0d, 0x01, 0xa0, 0x38, 0x80, 0xb8,
    0x62, 0x00, 0xc0, 0xa7, 0x29, 0x01, 0x01, 0x01, 0xbf, 0xf5, 0x41, 0x01, 0xa0, 0xd0,
    0x2a, 0x02, 0x92, 0x21, 0x08, 0x31, 0x2e, 0x30, 0x30, 0x31, 0x32, 0x33, 0x34,
};

/* The same state in encoding v2: mask 0xcb 0x81 0x60, the first time from
 * 2025-01-01, the resolved outcome and flags in one byte (0x05), the code
 * packed (0x88: eight nibbles, 1 . 0 0 1 2 3 4). */
static const unsigned char legacy_v2[] = {
    0x02, 0xcb, 0x81, 0x60, 0xa0, 0xb6, 0xf5, 0x0e, 0x01, 0xa0, 0x38, 0x80,
    0xb8, 0x62, 0x00, 0xc0, 0xa7, 0x29, 0x05, 0x01, 0xbf, 0xf5, 0x41, 0x01,
    0xa0, 0xd0, 0x2a, 0x02, 0x92, 0x21, 0x88, 0x1a, 0x00, 0x12, 0x34,
};

static void test_legacy_and_garbage(void)
{
    chiso_dossier *d = chiso_dossier_new();
    chiso_contrib c[CHISO_CONTRIB_MAX];
    unsigned char buf[CHISO_DOSSIER_MAX_ENCODED];

    CHECK(chiso_dossier_decode(d, legacy_state, sizeof(legacy_state)) == 0, "legacy decodes");
    CHECK_EQ_STR(chiso_dossier_procedure(d), "1.001234", "legacy procedure");
    CHECK(chiso_dossier_fenced(d, 2, 4242), "legacy fence");
    CHECK_EQ_INT(chiso_dossier_overdue_day(d), D("2025-07-15"), "legacy B: 4 days paused");
    int k = chiso_dossier_contrib(d, c);
    CHECK(has(c, k, CHISO_C_RESOLVED_ON_TIME, D("2025-07-14")), "legacy resolved on time");
    CHECK(!has(c, k, CHISO_C_RECEIVED_SVC_FULL, D("2025-07-01")) &&
              !has(c, k, CHISO_C_RECEIVED_SVC_PARTIAL, D("2025-07-01")),
          "no level, no service-level counter");
    int len = encode(d, buf);
    CHECK(len == (int)sizeof(legacy_v2) && memcmp(buf, legacy_v2, sizeof(legacy_v2)) == 0,
          "a v1 state is written in v2 (%d bytes, not %zu)", len, sizeof(legacy_state));
    chiso_dossier *again = chiso_dossier_new();
    CHECK(chiso_dossier_decode(again, legacy_v2, sizeof(legacy_v2)) == 0 &&
              chiso_dossier_equal(again, d),
          "its v2 form decodes to the same state");
    chiso_dossier_free(again);
    CHECK(chiso_dossier_apply_catalog(d, CHISO_LEVEL_FULL) == 1, "level added to a legacy state");
    k = chiso_dossier_contrib(d, c);
    CHECK(has(c, k, CHISO_C_RECEIVED_SVC_FULL, D("2025-07-01")) &&
              has(c, k, CHISO_C_RECEIVED_SVC_FULL_ONLINE, D("2025-07-01")),
          "then counted as full, online");

    /* hand-made states: version 1, mask F_SUPP_REQ (bit 14), then the set */
    static const struct {
        const char *name;
        unsigned char bytes[12];
        size_t len;
        int rc;
    } cases[] = {
        {"two ascending requests", {0x01, 0x80, 0x80, 0x01, 0x02, 0xc8, 0x01, 0x14}, 8, 0},
        {"requests out of order",
         {0x01, 0x80, 0x80, 0x01, 0x02, 0xc8, 0x01, 0x13},
         8,
         CHISO_ESTATE},
        {"a request twice", {0x01, 0x80, 0x80, 0x01, 0x02, 0xc8, 0x01, 0x00}, 8, CHISO_ESTATE},
        {"an empty set marked present", {0x01, 0x80, 0x80, 0x01, 0x00}, 5, CHISO_ESTATE},
        {"more than 8 requests", {0x01, 0x80, 0x80, 0x01, 0x09}, 5, CHISO_ESTATE},
        {"an unknown fact bit (20)", {0x01, 0x80, 0x80, 0x40}, 4, CHISO_ESTATE},
        {"paper-result bit (19), no field", {0x01, 0x80, 0x80, 0x20}, 4, 0},
        {"paper-result bit with a level", {0x01, 0x80, 0x80, 0x30, 0x02}, 5, 0},
        {"a varint that never ends",
         {0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
         12,
         CHISO_ESTATE},
        {"level bit, level byte missing", {0x01, 0x80, 0x80, 0x10}, 4, CHISO_ESTATE},
        {"level bit, level full", {0x01, 0x80, 0x80, 0x10, 0x03}, 5, 0},
        {"v1 resolved flags in range", {0x01, 0x80, 0x01, 0x00, 0x01, 0x03}, 6, 0},
        {"v1 resolved flags unknown", {0x01, 0x80, 0x01, 0x00, 0x01, 0x04}, 6, CHISO_ESTATE},
        {"v1 paper copy not 0 or 1", {0x01, 0x80, 0x02, 0x00, 0x01, 0x02}, 6, CHISO_ESTATE},
        {"an unknown version", {0x03, 0x00}, 2, CHISO_ESTATE},
        /* version 2: the procedure's bit is 7, the resolved 3, the returned
         * 4, the published class 9 */
        {"v2 code packed, odd length", {0x02, 0x80, 0x01, 0x83, 0x2a, 0x10}, 6, 0},
        {"v2 code packed, pad not 0", {0x02, 0x80, 0x01, 0x83, 0x2a, 0x11}, 6, CHISO_ESTATE},
        {"v2 code, unknown nibble", {0x02, 0x80, 0x01, 0x82, 0x2d}, 5, CHISO_ESTATE},
        {"v2 code packed, empty", {0x02, 0x80, 0x01, 0x80}, 4, CHISO_ESTATE},
        {"v2 code unpacked that packs", {0x02, 0x80, 0x01, 0x02, '2', '1'}, 6, CHISO_ESTATE},
        {"v2 code unpacked, a letter", {0x02, 0x80, 0x01, 0x02, 'X', '1'}, 6, 0},
        {"v2 code unpacked, a NUL", {0x02, 0x80, 0x01, 0x02, 'X', 0x00}, 6, CHISO_ESTATE},
        {"v2 resolved, approved e-signed", {0x02, 0x08, 0x00, 0x07}, 4, 0},
        {"v2 resolved, outcome unknown", {0x02, 0x08, 0x00, 0x0c}, 4, CHISO_ESTATE},
        {"v2 returned, counter with paper", {0x02, 0x10, 0x00, 0x07}, 4, 0},
        {"v2 returned, delivery unknown", {0x02, 0x10, 0x00, 0x08}, 4, CHISO_ESTATE},
        {"v2 classes told, provisional", {0x02, 0x80, 0x04, 0x0d, 0x00, 0x00}, 6, 0},
        {"v2 classes told, high bits", {0x02, 0x80, 0x04, 0x4d, 0x00, 0x00}, 6, CHISO_ESTATE},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        CHECK_EQ_INT(chiso_dossier_decode(d, cases[i].bytes, cases[i].len), cases[i].rc, "%s",
                     cases[i].name);
        /* what v2 decodes, it writes back byte for byte */
        if (cases[i].rc == 0 && cases[i].bytes[0] == 2) {
            len = encode(d, buf);
            CHECK(len == (int)cases[i].len && memcmp(buf, cases[i].bytes, cases[i].len) == 0,
                  "%s: written back as read", cases[i].name);
        }
    }
    chiso_pub pub;
    CHECK(chiso_dossier_decode(d, (const unsigned char[]){0x02, 0x80, 0x04, 0x0d, 0x00, 0x00}, 6) ==
              0,
          "classes told decode");
    chiso_dossier_get_pub(d, &pub);
    CHECK(pub.known && pub.cls == (CHISO_CLASS_FULL_PROCESS | CHISO_PUB_PROVISIONAL) &&
              pub.prev == CHISO_CLASS_FULL_PROCESS,
          "the classes told: full provisional, before full");
    CHECK(chiso_dossier_decode(d, (const unsigned char[]){0x02, 0x80, 0x01, 0x83, 0x2a, 0x10}, 6) ==
              0,
          "odd code decodes");
    CHECK_EQ_STR(chiso_dossier_procedure(d), "2.1", "odd packed code");
    /* v1 wrote an empty code when a state had its bit (none does today):
     * v2 writes it unpacked, and reads it back */
    chiso_dossier *v2 = chiso_dossier_new();
    CHECK(chiso_dossier_decode(d, (const unsigned char[]){0x01, 0x80, 0x80, 0x08, 0x00}, 5) == 0,
          "v1 empty code decodes");
    len = encode(d, buf);
    CHECK(len == 4 && memcmp(buf, (const unsigned char[]){0x02, 0x80, 0x01, 0x00}, 4) == 0 &&
              chiso_dossier_decode(v2, buf, (size_t)len) == 0 && chiso_dossier_equal(v2, d),
          "an empty code is written unpacked, and read back");
    chiso_dossier_free(v2);
    chiso_dossier_free(d);
}

static void test_contributions(void)
{
    chiso_event evs[16];
    int n = full_story(evs);
    chiso_dossier *d = chiso_dossier_new();
    chiso_contrib c[CHISO_CONTRIB_MAX];
    int k;

    /* submitted only: nothing counted yet */
    chiso_dossier_apply(d, &evs[0]);
    CHECK_EQ_INT(chiso_dossier_contrib(d, c), 0, "submitted only");
    bool prov = false;
    CHECK(chiso_dossier_class(d, &prov) == CHISO_CLASS_FULL_PROCESS && prov,
          "provisional full process");

    /* received: received, received_online (and valid: no catalog says a
     * paper result is required), digitized, overdue_began after the due day */
    chiso_dossier_apply(d, &evs[1]);
    k = chiso_dossier_contrib(d, c);
    CHECK_EQ_INT(k, 5, "received contributions");
    CHECK(has(c, k, CHISO_C_RECEIVED, D("2025-07-01")), "received on 1 July");
    CHECK(has(c, k, CHISO_C_RECEIVED_ONLINE, D("2025-07-01")), "online");
    CHECK(has(c, k, CHISO_C_RECEIVED_ONLINE_VALID, D("2025-07-01")), "online, valid for #8");
    CHECK(has(c, k, CHISO_C_DIGITIZED, D("2025-07-01")), "digitized");
    CHECK(has(c, k, CHISO_C_OVERDUE_BEGAN, D("2025-07-05")), "overdue from the day after due");

    for (int i = 2; i < n; i++)
        chiso_dossier_apply(d, &evs[i]);
    k = chiso_dossier_contrib(d, c);
    CHECK_EQ_INT(k, 14, "complete dossier contributions");
    CHECK(has(c, k, CHISO_C_E_RESULT_CLOSED, D("2025-07-03")), "e-result, at the closed day");
    CHECK(has(c, k, CHISO_C_DIGITIZED_CLOSED, D("2025-07-03")), "digitized, at the closed day");
    CHECK(has(c, k, CHISO_C_SYNCED, D("2025-07-01")), "synced, at the received day");
    CHECK(has(c, k, CHISO_C_FEE_DOSSIERS, D("2025-07-01")), "a fee, at the received day");
    CHECK(has(c, k, CHISO_C_PAID_ONLINE, D("2025-07-01")), "paid online, at the received day");
    CHECK(has(c, k, CHISO_C_RESOLVED, D("2025-07-03")), "resolved 3 July");
    CHECK(has(c, k, CHISO_C_RESOLVED_ON_TIME, D("2025-07-03")), "on time");
    CHECK(has(c, k, CHISO_C_FULL_PROCESS, D("2025-07-03")), "full process");
    CHECK(has(c, k, CHISO_C_RESOLVED_E_RESULT, D("2025-07-03")), "electronic result");
    CHECK(has(c, k, CHISO_C_CLOSED, D("2025-07-03")), "closed at resolution");
    CHECK(!has(c, k, CHISO_C_OVERDUE_BEGAN, D("2025-07-05")), "never overdue");
    CHECK(chiso_dossier_class(d, &prov) == CHISO_CLASS_FULL_PROCESS && !prov, "final class");

    /* when it finished (counters.h, closed): returned without a resolution
     * finishes it; a resolution decides over an earlier withdrawal */
    chiso_dossier *ret = chiso_dossier_new();
    for (int i = 0; i < n; i++) {
        if (evs[i].type != CHISO_EV_RESOLVED)
            chiso_dossier_apply(ret, &evs[i]);
    }
    k = chiso_dossier_contrib(ret, c);
    CHECK(has(c, k, CHISO_C_CLOSED, D("2025-07-03")), "returned on 3 July, never resolved: closed");
    CHECK(!chiso_dossier_open(ret), "a returned dossier is not open");
    chiso_event wearly = evs[1];
    wearly.type = CHISO_EV_WITHDRAWN;
    wearly.at = T("2025-07-02T08:00:00+07:00");
    chiso_dossier_reset(ret);
    for (int i = 0; i < n; i++)
        chiso_dossier_apply(ret, &evs[i]);
    chiso_dossier_apply(ret, &wearly);
    k = chiso_dossier_contrib(ret, c);
    CHECK(has(c, k, CHISO_C_CLOSED, D("2025-07-03")),
          "resolved 3 July decides over withdrawn 2 July");
    chiso_dossier_free(ret);

    /* late: resolved the day after the due day */
    chiso_dossier *late = chiso_dossier_new();
    for (int i = 0; i < n; i++) {
        chiso_event e = evs[i];
        if (e.type == CHISO_EV_RESOLVED)
            e.at = T("2025-07-05T00:00:00+07:00");
        chiso_dossier_apply(late, &e);
    }
    k = chiso_dossier_contrib(late, c);
    CHECK(has(c, k, CHISO_C_RESOLVED_LATE, D("2025-07-05")), "late");
    CHECK(has(c, k, CHISO_C_OVERDUE_BEGAN, D("2025-07-05")), "was overdue from 5 July");
    CHECK(has(c, k, CHISO_C_OVERDUE_CLOSED, D("2025-07-05")), "left overdue on 5 July");
    chiso_dossier_free(late);

    /* due day itself, late in the evening, is still on time (day granularity) */
    chiso_dossier *edge = chiso_dossier_new();
    for (int i = 0; i < n; i++) {
        chiso_event e = evs[i];
        if (e.type == CHISO_EV_RESOLVED)
            e.at = T("2025-07-04T16:59:59Z"); /* 23:59:59 local on the due day */
        chiso_dossier_apply(edge, &e);
    }
    k = chiso_dossier_contrib(edge, c);
    CHECK(has(c, k, CHISO_C_RESOLVED_ON_TIME, D("2025-07-04")), "due day is on time");
    chiso_dossier_free(edge);

    /* a counter pick-up turns the class to partial at the resolved day */
    chiso_event counter = ev(CHISO_EV_RETURNED, "e7", "2025-07-03T16:00:00+07:00");
    counter.delivery = CHISO_DELIVERY_COUNTER;
    chiso_dossier *p = chiso_dossier_new();
    for (int i = 0; i < n; i++)
        chiso_dossier_apply(p, evs[i].type == CHISO_EV_RETURNED ? &counter : &evs[i]);
    k = chiso_dossier_contrib(p, c);
    CHECK(has(c, k, CHISO_C_PARTIAL, D("2025-07-03")), "counter pick-up is partial");

    /* Vietnam local time decides the bucket: 17:30Z on 30 June is 1 July */
    chiso_dossier *b = chiso_dossier_new();
    chiso_event r = ev(CHISO_EV_RECEIVED, "b1", "2025-06-30T17:30:00Z");
    r.due_at = T("2025-07-10T00:00:00+07:00");
    chiso_dossier_apply(b, &r);
    k = chiso_dossier_contrib(b, c);
    CHECK(has(c, k, CHISO_C_RECEIVED, D("2025-07-01")), "17:30Z on 30 June counts on 1 July");
    chiso_dossier_free(b);

    /* withdrawn closes an open dossier */
    chiso_dossier *w = chiso_dossier_new();
    chiso_dossier_apply(w, &evs[0]);
    chiso_dossier_apply(w, &evs[1]);
    chiso_event wd = ev(CHISO_EV_WITHDRAWN, "w1", "2025-07-02T10:00:00+07:00");
    chiso_dossier_apply(w, &wd);
    k = chiso_dossier_contrib(w, c);
    CHECK(has(c, k, CHISO_C_CLOSED, D("2025-07-02")), "withdrawn closes");
    CHECK(!has(c, k, CHISO_C_RESOLVED, D("2025-07-02")), "withdrawn is not resolved");
    chiso_dossier_free(w);

    chiso_dossier_free(p);
    chiso_dossier_free(d);
}

/* Each branch of the on-time rule through the dossier API: B, the
 * resolution's judgement and the open-overdue counters. Received 1 July
 * (unless said), due 10 July 17:00. */
static void test_ontime_contrib(void)
{
    static const struct {
        const char *name;
        const char *received;    /* NULL: 2025-07-01T09:00:00+07:00 */
        const char *requests[3]; /* NULL-terminated */
        const char *receipts[3]; /* NULL-terminated */
        const char *resolved;    /* NULL: not resolved */
        const char *withdrawn;   /* NULL: not withdrawn */
        const char *b;           /* first overdue day, NULL: never */
        int on_time;             /* 1 on time, 0 late, -1 not resolved */
        const char *began;       /* overdue_began day, NULL: none */
        const char *left;        /* overdue_closed day, NULL: none */
    } cases[] = {
        {"no request, resolved on the due day",
         NULL,
         {NULL},
         {NULL},
         "2025-07-10T20:00:00+07:00",
         NULL,
         "2025-07-11",
         1,
         NULL,
         NULL},
        {"no request, resolved the day after",
         NULL,
         {NULL},
         {NULL},
         "2025-07-11T08:00:00+07:00",
         NULL,
         "2025-07-11",
         0,
         "2025-07-11",
         "2025-07-11"},
        {"no request, open",
         NULL,
         {NULL},
         {NULL},
         NULL,
         NULL,
         "2025-07-11",
         -1,
         "2025-07-11",
         NULL},
        {"in time with receipt, resolved before B",
         NULL,
         {"2025-07-08T09:00:00+07:00", NULL},
         {"2025-07-12T10:00:00+07:00", NULL},
         "2025-07-14T15:00:00+07:00",
         NULL,
         "2025-07-15",
         1,
         NULL,
         NULL},
        {"in time with receipt, resolved on B",
         NULL,
         {"2025-07-08T09:00:00+07:00", NULL},
         {"2025-07-12T10:00:00+07:00", NULL},
         "2025-07-15T08:00:00+07:00",
         NULL,
         "2025-07-15",
         0,
         "2025-07-15",
         "2025-07-15"},
        {"in time with receipt, open",
         NULL,
         {"2025-07-08T09:00:00+07:00", NULL},
         {"2025-07-12T10:00:00+07:00", NULL},
         NULL,
         NULL,
         "2025-07-15",
         -1,
         "2025-07-15",
         NULL},
        {"in time, waiting, open: never overdue",
         NULL,
         {"2025-07-08T09:00:00+07:00", NULL},
         {NULL},
         NULL,
         NULL,
         NULL,
         -1,
         NULL,
         NULL},
        {"in time, waiting, resolved long after: on time",
         NULL,
         {"2025-07-08T09:00:00+07:00", NULL},
         {NULL},
         "2025-08-20T09:00:00+07:00",
         NULL,
         NULL,
         1,
         NULL,
         NULL},
        {"in time, receipt before the request ignored: waiting",
         NULL,
         {"2025-07-08T09:00:00+07:00", NULL},
         {"2025-07-05T10:00:00+07:00", NULL},
         NULL,
         NULL,
         NULL,
         -1,
         NULL,
         NULL},
        {"late request, receipt irrelevant",
         NULL,
         {"2025-07-11T09:00:00+07:00", NULL},
         {"2025-07-12T10:00:00+07:00", NULL},
         "2025-07-13T09:00:00+07:00",
         NULL,
         "2025-07-11",
         0,
         "2025-07-11",
         "2025-07-13"},
        {"two requests: late from the second",
         NULL,
         {"2025-07-03T09:00:00+07:00", "2025-07-05T09:00:00+07:00", NULL},
         {"2025-07-04T09:00:00+07:00", NULL},
         "2025-07-06T09:00:00+07:00",
         NULL,
         "2025-07-05",
         0,
         "2025-07-05",
         "2025-07-06"},
        {"two requests, resolved the day before the second",
         NULL,
         {"2025-07-03T09:00:00+07:00", "2025-07-05T09:00:00+07:00", NULL},
         {NULL},
         "2025-07-04T09:00:00+07:00",
         NULL,
         "2025-07-05",
         1,
         NULL,
         NULL},
        {"request 17:30Z on 8 July is local 9 July",
         NULL,
         {"2025-07-08T17:30:00Z", NULL},
         {"2025-07-12T10:00:00+07:00", NULL},
         "2025-07-14T09:00:00+07:00",
         NULL,
         "2025-07-14",
         0,
         "2025-07-14",
         "2025-07-14"},
        {"received after due",
         "2025-07-12T09:00:00+07:00",
         {NULL},
         {NULL},
         "2025-07-12T15:00:00+07:00",
         NULL,
         "2025-07-12",
         0,
         "2025-07-12",
         "2025-07-12"},
        {"withdrawn before B: never overdue",
         NULL,
         {"2025-07-08T09:00:00+07:00", NULL},
         {"2025-07-12T10:00:00+07:00", NULL},
         NULL,
         "2025-07-14T09:00:00+07:00",
         "2025-07-15",
         -1,
         NULL,
         NULL},
        {"withdrawn on B",
         NULL,
         {"2025-07-08T09:00:00+07:00", NULL},
         {"2025-07-12T10:00:00+07:00", NULL},
         NULL,
         "2025-07-15T09:00:00+07:00",
         "2025-07-15",
         -1,
         "2025-07-15",
         "2025-07-15"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        chiso_dossier *d = chiso_dossier_new();
        chiso_contrib c[CHISO_CONTRIB_MAX];
        chiso_event e = ev(CHISO_EV_RECEIVED, "r",
                           cases[i].received ? cases[i].received : "2025-07-01T09:00:00+07:00");
        e.due_at = T("2025-07-10T17:00:00+07:00");
        chiso_dossier_apply(d, &e);
        for (int j = 0; cases[i].requests[j]; j++) {
            e = ev(CHISO_EV_SUPPLEMENT_REQUESTED, "q", cases[i].requests[j]);
            chiso_dossier_apply(d, &e);
        }
        for (int j = 0; cases[i].receipts[j]; j++) {
            e = ev(CHISO_EV_SUPPLEMENT_RECEIVED, "s", cases[i].receipts[j]);
            chiso_dossier_apply(d, &e);
        }
        if (cases[i].resolved) {
            e = ev(CHISO_EV_RESOLVED, "z", cases[i].resolved);
            chiso_dossier_apply(d, &e);
        }
        if (cases[i].withdrawn) {
            e = ev(CHISO_EV_WITHDRAWN, "w", cases[i].withdrawn);
            chiso_dossier_apply(d, &e);
        }
        const char *name = cases[i].name;
        int k = chiso_dossier_contrib(d, c);
        int32_t sday = cases[i].resolved ? chiso_local_day(T(cases[i].resolved)) : 0;

        CHECK_EQ_INT(chiso_dossier_overdue_day(d), cases[i].b ? D(cases[i].b) : CHISO_ONTIME_NEVER,
                     "%s: B", name);
        CHECK(chiso_dossier_open(d) == (!cases[i].resolved && !cases[i].withdrawn), "%s: open",
              name);
        CHECK_EQ_INT(has(c, k, CHISO_C_RESOLVED_ON_TIME, sday), cases[i].on_time == 1,
                     "%s: on time", name);
        CHECK_EQ_INT(has(c, k, CHISO_C_RESOLVED_LATE, sday), cases[i].on_time == 0, "%s: late",
                     name);
        int began = 0, left = 0;
        for (int j = 0; j < k; j++) {
            began += c[j].counter == CHISO_C_OVERDUE_BEGAN;
            left += c[j].counter == CHISO_C_OVERDUE_CLOSED;
        }
        CHECK_EQ_INT(began, cases[i].began != NULL, "%s: overdue_began", name);
        CHECK_EQ_INT(left, cases[i].left != NULL, "%s: overdue_closed", name);
        if (cases[i].began)
            CHECK(has(c, k, CHISO_C_OVERDUE_BEGAN, D(cases[i].began)), "%s: began on %s", name,
                  cases[i].began);
        if (cases[i].left)
            CHECK(has(c, k, CHISO_C_OVERDUE_CLOSED, D(cases[i].left)), "%s: left on %s", name,
                  cases[i].left);
        chiso_dossier_free(d);
    }

    /* not received: never overdue, not open, whatever else is known */
    chiso_dossier *d = chiso_dossier_new();
    chiso_event q = ev(CHISO_EV_SUPPLEMENT_REQUESTED, "q", "2025-07-03T09:00:00+07:00");
    chiso_dossier_apply(d, &q);
    CHECK_EQ_INT(chiso_dossier_overdue_day(d), CHISO_ONTIME_NEVER, "not received: never");
    CHECK(!chiso_dossier_open(d), "not received: not open");
    chiso_dossier_free(d);
}

/* Service-level counters at the received day, the merge of levels, and the
 * most contributions a dossier can have. */
static void test_levels(void)
{
    static const struct {
        const char *name;
        int levels[3]; /* applied in this order, 0-terminated */
        chiso_channel channel;
        int full, full_online, partial, partial_online; /* expected counts */
    } cases[] = {
        {"full, online", {CHISO_LEVEL_FULL}, CHISO_CHANNEL_ONLINE, 1, 1, 0, 0},
        {"full, direct", {CHISO_LEVEL_FULL}, CHISO_CHANNEL_DIRECT, 1, 0, 0, 0},
        {"partial, online", {CHISO_LEVEL_PARTIAL}, CHISO_CHANNEL_ONLINE, 0, 0, 1, 1},
        {"partial, postal", {CHISO_LEVEL_PARTIAL}, CHISO_CHANNEL_POSTAL, 0, 0, 1, 0},
        {"none", {CHISO_LEVEL_NONE}, CHISO_CHANNEL_ONLINE, 0, 0, 0, 0},
        {"no level", {0}, CHISO_CHANNEL_ONLINE, 0, 0, 0, 0},
        {"partial then full: full",
         {CHISO_LEVEL_PARTIAL, CHISO_LEVEL_FULL},
         CHISO_CHANNEL_ONLINE,
         1,
         1,
         0,
         0},
        {"full then partial: full",
         {CHISO_LEVEL_FULL, CHISO_LEVEL_PARTIAL},
         CHISO_CHANNEL_ONLINE,
         1,
         1,
         0,
         0},
        {"none then partial: partial",
         {CHISO_LEVEL_NONE, CHISO_LEVEL_PARTIAL},
         CHISO_CHANNEL_DIRECT,
         0,
         0,
         1,
         0},
        {"out of range ignored",
         {CHISO_LEVEL_PARTIAL, CHISO_LEVEL_FULL + 1},
         CHISO_CHANNEL_ONLINE,
         0,
         0,
         1,
         1},
    };
    int32_t rday = D("2025-07-01");

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        chiso_dossier *d = chiso_dossier_new();
        chiso_contrib c[CHISO_CONTRIB_MAX];
        chiso_event s = ev(CHISO_EV_SUBMITTED, "s", "2025-06-30T20:00:00+07:00");
        s.channel = cases[i].channel;
        chiso_event r = ev(CHISO_EV_RECEIVED, "r", "2025-07-01T09:00:00+07:00");
        r.due_at = T("2025-07-10T17:00:00+07:00");
        for (int j = 0; j < 3 && cases[i].levels[j]; j++)
            chiso_dossier_apply_catalog(d, (uint64_t)cases[i].levels[j]);
        int k = chiso_dossier_contrib(d, c);
        CHECK_EQ_INT(k, 0, "%s: a level alone counts nothing", cases[i].name);
        chiso_dossier_apply(d, &s);
        chiso_dossier_apply(d, &r);
        k = chiso_dossier_contrib(d, c);
        CHECK_EQ_INT(has(c, k, CHISO_C_RECEIVED_SVC_FULL, rday), cases[i].full, "%s: full",
                     cases[i].name);
        CHECK_EQ_INT(has(c, k, CHISO_C_RECEIVED_SVC_FULL_ONLINE, rday), cases[i].full_online,
                     "%s: full online", cases[i].name);
        CHECK_EQ_INT(has(c, k, CHISO_C_RECEIVED_SVC_PARTIAL, rday), cases[i].partial, "%s: partial",
                     cases[i].name);
        CHECK_EQ_INT(has(c, k, CHISO_C_RECEIVED_SVC_PARTIAL_ONLINE, rday), cases[i].partial_online,
                     "%s: partial online", cases[i].name);
        chiso_dossier_free(d);
    }

    chiso_dossier *d = chiso_dossier_new();
    CHECK_EQ_INT(chiso_dossier_apply_catalog(d, CHISO_LEVEL_UNKNOWN), 0, "unknown is no fact");
    CHECK_EQ_INT(chiso_dossier_apply_catalog(d, CHISO_LEVEL_FULL + 1), 0, "out of range ignored");
    CHECK_EQ_INT(chiso_dossier_apply_catalog(d, 0xfe00), 0, "unknown attribute bits ignored");
    CHECK(chiso_dossier_empty(d), "nothing recorded");
    CHECK_EQ_INT(chiso_dossier_apply_catalog(d, CHISO_LEVEL_NONE), 1, "none recorded");
    CHECK_EQ_INT(chiso_dossier_apply_catalog(d, CHISO_LEVEL_NONE), 0, "none again: no change");
    CHECK_EQ_INT(chiso_dossier_apply_catalog(d, CHISO_LEVEL_FULL), 1, "full is higher");
    CHECK_EQ_INT(chiso_dossier_apply_catalog(d, CHISO_LEVEL_PARTIAL), 0, "partial is lower");
    CHECK_EQ_INT(chiso_dossier_apply_catalog(d, CHISO_LEVEL_PARTIAL | CHISO_ATTR_PAPER_RESULT), 1,
                 "a paper result required: recorded, the level stays full");
    CHECK_EQ_INT(chiso_dossier_apply_catalog(d, CHISO_LEVEL_FULL), 0,
                 "a record without it does not take it back");

    /* the packing of a catalog record */
    chiso_procedure rec;
    memset(&rec, 0, sizeof(rec));
    rec.level = CHISO_LEVEL_PARTIAL;
    CHECK(chiso_dossier_catalog_attrs(&rec) == CHISO_LEVEL_PARTIAL, "a bare level");
    rec.paper_result_required = true;
    rec.fee = rec.citizen_subject = true; /* not kept by dossier states */
    CHECK(chiso_dossier_catalog_attrs(&rec) == (CHISO_LEVEL_PARTIAL | CHISO_ATTR_PAPER_RESULT),
          "level and paper result");

    /* the most a dossier contributes, CONTRIB_BOUND in dossier.c: at
     * reception received, channel, two service-level counters, synced,
     * online and valid, fee and paid online, four flags, a complaint; at
     * resolution resolved, late, class, e-result, complaint; closed,
     * overdue began and closed, and at the closed day the complaint, the
     * e-result and the four flags again (the population D) */
    chiso_event evs[16];
    int n = full_story(evs);
    for (int i = 0; i < n; i++) {
        chiso_event e = evs[i];
        if (e.type == CHISO_EV_RESOLVED)
            e.at = T("2025-07-20T09:00:00+07:00");
        if (e.type == CHISO_EV_RECEIVED)
            e.reused_data = e.from_data_store = e.population_data = true;
        if (e.type == CHISO_EV_RATED)
            e.satisfied = false;
        chiso_dossier_apply(d, &e);
    }
    chiso_contrib c[CHISO_CONTRIB_MAX];
    int k = chiso_dossier_contrib(d, c);
    CHECK_EQ_INT(k, 27, "every kind of contribution at once");
    CHECK_EQ_INT(k, CHISO_CONTRIB_MAX, "CHISO_CONTRIB_MAX is tight");
    for (int i = 0; i < CHISO_C_COUNT; i++) {
        bool excl = i == CHISO_C_RECEIVED_DIRECT || i == CHISO_C_RECEIVED_POSTAL ||
                    i == CHISO_C_RESOLVED_ON_TIME || i == CHISO_C_PARTIAL || i == CHISO_C_OFFLINE ||
                    i == CHISO_C_RECEIVED_SVC_PARTIAL || i == CHISO_C_RECEIVED_SVC_PARTIAL_ONLINE;
        int m = 0;
        for (int j = 0; j < k; j++)
            m += c[j].counter == (chiso_counter_id)i;
        CHECK_EQ_INT(m, excl ? 0 : 1, "%s", chiso_counter_name((chiso_counter_id)i));
    }
    chiso_dossier_free(d);
}

/* The counters of Decision 766's dossier indicators (docs/counters.md), and
 * the day each falls on. */
static const chiso_counter_id indicator_counters[] = {
    CHISO_C_SYNCED,
    CHISO_C_RECEIVED_ONLINE_VALID,
    CHISO_C_FEE_DOSSIERS,
    CHISO_C_PAID_ONLINE,
    CHISO_C_DIGITIZED,
    CHISO_C_REUSED_DATA,
    CHISO_C_FROM_DATA_STORE,
    CHISO_C_POPULATION_DATA,
    CHISO_C_RESOLVED_E_RESULT,
    CHISO_C_RESOLVED_COMPLAINT,
};
#define N_INDICATOR_COUNTERS (sizeof(indicator_counters) / sizeof(indicator_counters[0]))

enum { RF_DIG = 1, RF_REU = 2, RF_STO = 4, RF_POP = 8 }; /* received flags of a case */

/* One case of test_indicators: a dossier submitted on `ch` (none when
 * unknown) and received (unless not_received) just after local midnight,
 * with the facts below; zero means "no such event". `want` lists the
 * indicator counters it must contribute to (0-terminated: CHISO_C_RECEIVED
 * never is one). */
#define FEE_ZERO (-1) /* `fee`: a fee_requested of 0 VND */
typedef struct indicator_case {
    const char *name;
    chiso_channel ch;
    bool not_received;
    unsigned flags; /* RF_* */
    bool synced;
    int64_t fee; /* amount requested, or FEE_ZERO */
    chiso_pay_method paid;
    int resolved; /* 1 with e_result; 2 without */
    bool complaint;
    int rated; /* 1 satisfied; 2 not satisfied */
    uint64_t attrs;
    chiso_counter_id want[6];
} indicator_case;

/* The case's events, in lifecycle order. */
static int indicator_events(const indicator_case *k, chiso_event *out)
{
    int n = 0;
    if (k->ch != CHISO_CHANNEL_UNKNOWN) {
        out[n] = ev(CHISO_EV_SUBMITTED, "i1", "2025-06-30T22:00:00+07:00");
        out[n++].channel = k->ch;
    }
    if (!k->not_received) {
        /* 17:30Z on 30 June is 00:30 on 1 July, Vietnam time */
        out[n] = ev(CHISO_EV_RECEIVED, "i2", "2025-06-30T17:30:00Z");
        out[n].due_at = T("2025-07-10T17:00:00+07:00");
        out[n].digitized = k->flags & RF_DIG;
        out[n].reused_data = k->flags & RF_REU;
        out[n].from_data_store = k->flags & RF_STO;
        out[n++].population_data = k->flags & RF_POP;
    }
    if (k->synced)
        out[n++] = ev(CHISO_EV_SYNCED, "i3", "2025-07-01T09:00:00+07:00");
    if (k->fee) {
        out[n] = ev(CHISO_EV_FEE_REQUESTED, "i4", "2025-07-01T10:00:00+07:00");
        out[n++].amount = k->fee == FEE_ZERO ? 0 : k->fee;
    }
    if (k->paid != CHISO_PAY_NONE) {
        out[n] = ev(CHISO_EV_PAID, "i5", "2025-07-01T11:00:00+07:00");
        out[n++].method = k->paid;
    }
    if (k->resolved) {
        /* 17:00Z on 3 July is midnight starting 4 July, Vietnam time */
        out[n] = ev(CHISO_EV_RESOLVED, "i6", "2025-07-03T17:00:00Z");
        out[n].outcome = CHISO_OUTCOME_APPROVED;
        out[n++].e_result = k->resolved == 1;
    }
    if (k->complaint)
        out[n++] = ev(CHISO_EV_COMPLAINT, "i7", "2025-07-08T09:00:00+07:00");
    if (k->rated) {
        out[n] = ev(CHISO_EV_RATED, "i8", "2025-07-07T09:00:00+07:00");
        out[n++].satisfied = k->rated == 1;
    }
    return n;
}

/* Each indicator counter, condition true and false, at its anchor day (the
 * received day 1 July, or the resolved day 4 July, both reached just after
 * local midnight while UTC is still on the day before), and the same
 * contributions whatever the order and the repeats. */
static void test_indicators(void)
{
#define C(x)   CHISO_C_##x
#define ON     CHISO_CHANNEL_ONLINE
#define DIRECT CHISO_CHANNEL_DIRECT
#define PAPER  CHISO_ATTR_PAPER_RESULT
    static const indicator_case cases[] = {
        {"online, nothing else", .ch = ON, .want = {C(RECEIVED_ONLINE_VALID)}},
        {"direct: not online", .ch = DIRECT},
        {"postal: not online", .ch = CHISO_CHANNEL_POSTAL},
        {"channel unknown", .ch = CHISO_CHANNEL_UNKNOWN},
        {"synced", .ch = DIRECT, .synced = true, .want = {C(SYNCED)}},
        {"synced, not received", .ch = ON, .not_received = true, .synced = true},
        {"paper result required, not resolved yet", .ch = ON, .attrs = CHISO_LEVEL_FULL | PAPER},
        {"paper result required, resolved with an e-result", .ch = ON, .resolved = 1,
         .attrs = CHISO_LEVEL_FULL | PAPER,
         .want = {C(RECEIVED_ONLINE_VALID), C(RESOLVED_E_RESULT)}},
        {"paper result required, resolved without", .ch = ON, .resolved = 2, .attrs = PAPER},
        {"no paper result required, resolved without", .ch = ON, .resolved = 2,
         .attrs = CHISO_LEVEL_PARTIAL, .want = {C(RECEIVED_ONLINE_VALID)}},
        {"direct with an e-result", .ch = DIRECT, .resolved = 1, .want = {C(RESOLVED_E_RESULT)}},
        {"e-result, not received", .ch = DIRECT, .not_received = true, .resolved = 1,
         .want = {C(RESOLVED_E_RESULT)}},
        {"a zero fee", .ch = DIRECT, .fee = FEE_ZERO},
        {"a zero fee paid on the platform", .ch = DIRECT, .fee = FEE_ZERO,
         .paid = CHISO_PAY_DVCQG_PLATFORM},
        {"a fee, unpaid", .ch = DIRECT, .fee = 20000, .want = {C(FEE_DOSSIERS)}},
        {"a fee paid on the platform", .ch = DIRECT, .fee = 20000, .paid = CHISO_PAY_DVCQG_PLATFORM,
         .want = {C(FEE_DOSSIERS), C(PAID_ONLINE)}},
        {"a fee paid by the provincial gateway", .ch = DIRECT, .fee = 20000,
         .paid = CHISO_PAY_PROVINCIAL_GATEWAY, .want = {C(FEE_DOSSIERS), C(PAID_ONLINE)}},
        {"a fee paid in cash", .ch = DIRECT, .fee = 20000, .paid = CHISO_PAY_CASH,
         .want = {C(FEE_DOSSIERS)}},
        {"a fee paid by bank transfer", .ch = DIRECT, .fee = 20000, .paid = CHISO_PAY_BANK_TRANSFER,
         .want = {C(FEE_DOSSIERS)}},
        {"a fee paid online, not received", .ch = DIRECT, .not_received = true, .fee = 20000,
         .paid = CHISO_PAY_DVCQG_PLATFORM},
        {"digitized", .ch = DIRECT, .flags = RF_DIG, .want = {C(DIGITIZED)}},
        {"reused data", .ch = DIRECT, .flags = RF_REU, .want = {C(REUSED_DATA)}},
        {"from the data store, not digitized", .ch = DIRECT, .flags = RF_STO},
        {"digitized, from the data store", .ch = DIRECT, .flags = RF_DIG | RF_STO,
         .want = {C(DIGITIZED), C(FROM_DATA_STORE)}},
        {"population data", .ch = DIRECT, .flags = RF_POP, .want = {C(POPULATION_DATA)}},
        {"every flag", .ch = DIRECT, .flags = RF_DIG | RF_REU | RF_STO | RF_POP,
         .want = {C(DIGITIZED), C(REUSED_DATA), C(FROM_DATA_STORE), C(POPULATION_DATA)}},
        {"every flag, not received", .ch = DIRECT, .not_received = true,
         .flags = RF_DIG | RF_REU | RF_STO | RF_POP},
        {"resolved with a complaint", .ch = DIRECT, .resolved = 2, .complaint = true,
         .want = {C(RESOLVED_COMPLAINT)}},
        {"resolved, rated not satisfied", .ch = DIRECT, .resolved = 2, .rated = 2,
         .want = {C(RESOLVED_COMPLAINT)}},
        {"resolved, rated satisfied", .ch = DIRECT, .resolved = 2, .rated = 1},
        {"resolved, satisfied yet a complaint", .ch = DIRECT, .resolved = 2, .complaint = true,
         .rated = 1, .want = {C(RESOLVED_COMPLAINT)}},
        {"a complaint and a dislike, not resolved", .ch = DIRECT, .complaint = true, .rated = 2},
        {"a complaint, resolved, not received", .ch = DIRECT, .not_received = true, .resolved = 2,
         .complaint = true},
    };
#undef PAPER
#undef DIRECT
#undef ON
#undef C
    int32_t rday = D("2025-07-01"), sday = D("2025-07-04");
    uint64_t rng = 7;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const indicator_case *k = &cases[i];
        chiso_event evs[12];
        int n = indicator_events(k, evs);
        chiso_dossier *d = chiso_dossier_new();
        chiso_contrib c[CHISO_CONTRIB_MAX];

        chiso_dossier_apply_catalog(d, k->attrs);
        for (int j = 0; j < n; j++)
            chiso_dossier_apply(d, &evs[j]);
        int nc = chiso_dossier_contrib(d, c);
        for (size_t x = 0; x < N_INDICATOR_COUNTERS; x++) {
            chiso_counter_id id = indicator_counters[x];
            bool want = false;
            for (int w = 0; w < 6 && k->want[w]; w++)
                want |= k->want[w] == id;
            bool at_resolution =
                id == CHISO_C_RESOLVED_E_RESULT || id == CHISO_C_RESOLVED_COMPLAINT;
            int32_t anchor = at_resolution ? sday : rday;
            int anywhere = 0;
            for (int j = 0; j < nc; j++)
                anywhere += c[j].counter == id;
            CHECK_EQ_INT(has(c, nc, id, anchor), want, "%s: %s", k->name, chiso_counter_name(id));
            CHECK_EQ_INT(anywhere, want, "%s: %s on no other day", k->name, chiso_counter_name(id));
        }

        /* any order, every fact up to three times, the catalog anywhere */
        int round = any_order_fails(evs, n, k->attrs, &rng, same_state_and_contrib, d);
        CHECK(round < 0, "%s: round %d: same state and contributions in any order", k->name, round);
        chiso_dossier_free(d);
    }

    /* a rating kept is the earliest; at the same instant, "not satisfied" */
    static const struct {
        const char *first, *second;
        bool first_satisfied;
        int complaint;
    } ratings[] = {
        {"2025-07-07T09:00:00+07:00", "2025-07-09T09:00:00+07:00", true, 0},
        {"2025-07-07T09:00:00+07:00", "2025-07-09T09:00:00+07:00", false, 1},
        {"2025-07-09T09:00:00+07:00", "2025-07-07T09:00:00+07:00", true, 1},
        {"2025-07-07T09:00:00+07:00", "2025-07-07T09:00:00+07:00", true, 1},
    };
    for (size_t i = 0; i < sizeof(ratings) / sizeof(ratings[0]); i++) {
        indicator_case k = {"rated twice", .ch = CHISO_CHANNEL_DIRECT, .resolved = 2};
        chiso_event evs[12];
        int n = indicator_events(&k, evs);
        evs[n] = ev(CHISO_EV_RATED, "r1", ratings[i].first);
        evs[n++].satisfied = ratings[i].first_satisfied;
        evs[n] = ev(CHISO_EV_RATED, "r2", ratings[i].second);
        evs[n++].satisfied = !ratings[i].first_satisfied;
        chiso_dossier *d = chiso_dossier_new();
        chiso_contrib c[CHISO_CONTRIB_MAX];
        for (int j = n - 1; j >= 0; j--)
            chiso_dossier_apply(d, &evs[j]);
        int nc = chiso_dossier_contrib(d, c);
        CHECK_EQ_INT(has(c, nc, CHISO_C_RESOLVED_COMPLAINT, sday), ratings[i].complaint,
                     "ratings case %zu", i);
        chiso_dossier_free(d);
    }
}

/* Late facts move counts into past buckets: the difference of contributions
 * lands on the anchor day, not on the day of the event that caused it. */
static void test_indicator_deltas(void)
{
    indicator_case k = {"late facts", .ch = CHISO_CHANNEL_ONLINE, .flags = RF_DIG, .fee = 20000,
                        .attrs = CHISO_LEVEL_FULL | CHISO_ATTR_PAPER_RESULT};
    chiso_event evs[12];
    int n = indicator_events(&k, evs);
    chiso_dossier *old = chiso_dossier_new(), *cur = chiso_dossier_new();
    chiso_contrib oc[CHISO_CONTRIB_MAX], nc[CHISO_CONTRIB_MAX];
    chiso_delta delta[2 * CHISO_CONTRIB_MAX];

    chiso_dossier_apply_catalog(old, k.attrs);
    for (int i = 0; i < n; i++)
        chiso_dossier_apply(old, &evs[i]);
    static const struct {
        chiso_event_type type;
        const char *at;
        chiso_counter_id counter;
        const char *day;
    } late[] = {
        {CHISO_EV_RESOLVED, "2025-07-03T17:00:00Z", CHISO_C_RECEIVED_ONLINE_VALID, "2025-07-01"},
        {CHISO_EV_PAID, "2025-07-20T09:00:00+07:00", CHISO_C_PAID_ONLINE, "2025-07-01"},
        {CHISO_EV_SYNCED, "2025-08-02T09:00:00+07:00", CHISO_C_SYNCED, "2025-07-01"},
        {CHISO_EV_COMPLAINT, "2025-09-01T09:00:00+07:00", CHISO_C_RESOLVED_COMPLAINT, "2025-07-04"},
    };
    for (size_t i = 0; i < sizeof(late) / sizeof(late[0]); i++) {
        chiso_event e = ev(late[i].type, "late", late[i].at);
        e.e_result = true;
        e.method = CHISO_PAY_PROVINCIAL_GATEWAY;
        chiso_dossier_copy(cur, old);
        CHECK(chiso_dossier_apply(cur, &e) == 1, "%s adds a fact", chiso_event_type_name(e.type));
        int no = chiso_dossier_contrib(old, oc), nn = chiso_dossier_contrib(cur, nc);
        int nd = chiso_contrib_diff(oc, no, nc, nn, delta);
        int found = 0;
        for (int j = 0; j < nd; j++)
            found += delta[j].counter == late[i].counter && delta[j].day == D(late[i].day) &&
                     delta[j].delta == 1;
        CHECK_EQ_INT(found, 1, "%s: +1 %s on %s", chiso_event_type_name(e.type),
                     chiso_counter_name(late[i].counter), late[i].day);
        chiso_dossier_copy(old, cur);
    }
    chiso_dossier_free(old);
    chiso_dossier_free(cur);
}

/* Every counter has its own field name, and the name leads back to it. */
static void test_counter_names(void)
{
    for (int i = 0; i < CHISO_C_COUNT; i++) {
        const char *name = chiso_counter_name((chiso_counter_id)i);
        CHECK(name && name[0] && strcmp(name, "unknown") != 0, "counter %d has a name", i);
        CHECK_EQ_INT(chiso_counter_from_name(name), i, "%s", name);
    }
    CHECK_EQ_STR(chiso_counter_name(CHISO_C_RECEIVED_ONLINE_VALID), "received_online_valid");
    CHECK_EQ_STR(chiso_counter_name(CHISO_C_RESOLVED_COMPLAINT), "resolved_complaint");
    CHECK_EQ_INT(chiso_counter_from_name("bogus"), -1, "unknown name");
}

static void test_diff(void)
{
    chiso_contrib a[] = {{CHISO_C_RECEIVED, 10}, {CHISO_C_FULL_PROCESS, 12}, {CHISO_C_CLOSED, 12}};
    chiso_contrib b[] = {{CHISO_C_CLOSED, 12},
                         {CHISO_C_RECEIVED, 10},
                         {CHISO_C_PARTIAL, 12},
                         {CHISO_C_RESOLVED, 12}};
    chiso_delta out[8];
    int n = chiso_contrib_diff(a, 3, b, 4, out);
    CHECK_EQ_INT(n, 3, "three counters change");
    int sum_full = 0, sum_partial = 0, sum_resolved = 0;
    for (int i = 0; i < n; i++) {
        sum_full += out[i].counter == CHISO_C_FULL_PROCESS ? out[i].delta : 0;
        sum_partial += out[i].counter == CHISO_C_PARTIAL ? out[i].delta : 0;
        sum_resolved += out[i].counter == CHISO_C_RESOLVED ? out[i].delta : 0;
    }
    CHECK(sum_full == -1 && sum_partial == 1 && sum_resolved == 1,
          "full -1, partial +1, resolved +1");
    CHECK_EQ_INT(chiso_contrib_diff(a, 3, a, 3, out), 0, "no change, no delta");
    CHECK_EQ_INT(chiso_contrib_diff(NULL, 0, a, 3, out), 3, "from nothing");
}

/* The memberships of a state, as a bit set of (1 << set), with their day:
 * -1 when two memberships have different days or a set appears twice. */
static unsigned proc_sets(const chiso_dossier *d, int32_t *day)
{
    chiso_proc_contrib pc[CHISO_PROC_CONTRIB_MAX];
    int n = chiso_dossier_proc_contrib(d, pc);
    unsigned sets = 0;
    for (int i = 0; i < n; i++) {
        if ((sets & (1u << pc[i].set)) || (i > 0 && pc[i].day != *day))
            return ~0u;
        sets |= 1u << pc[i].set;
        *day = pc[i].day;
    }
    return sets;
}

/* The same memberships (and so the same sets, on the same day). */
static bool same_memberships(const chiso_dossier *e, const chiso_dossier *d)
{
    chiso_proc_contrib ca[CHISO_PROC_CONTRIB_MAX], cb[CHISO_PROC_CONTRIB_MAX];
    chiso_proc_delta delta[2 * CHISO_PROC_CONTRIB_MAX];
    int na = chiso_dossier_proc_contrib(d, ca), nb = chiso_dossier_proc_contrib(e, cb);
    return chiso_proc_contrib_diff(ca, na, chiso_dossier_procedure(d), cb, nb,
                                   chiso_dossier_procedure(e), delta) == 0;
}

/* Each membership condition true and false, on the received day (1 July,
 * reached at local midnight while UTC is still on 30 June: another month
 * and quarter), the same whatever the order and the repeats. */
static void test_proc_contrib(void)
{
#define PO (1u << CHISO_PS_ONLINE)
#define PP (1u << CHISO_PS_PAID)
#define ON CHISO_CHANNEL_ONLINE
    static const struct {
        indicator_case k;
        unsigned want;
    } cases[] = {
        {{"online, full service", .ch = ON, .attrs = CHISO_LEVEL_FULL}, PO},
        {{"online, partial service", .ch = ON, .attrs = CHISO_LEVEL_PARTIAL}, PO},
        {{"online, not an online service", .ch = ON, .attrs = CHISO_LEVEL_NONE}, 0},
        {{"online, no catalog record", .ch = ON}, 0},
        {{"online, full, paper result required", .ch = ON,
          .attrs = CHISO_LEVEL_FULL | CHISO_ATTR_PAPER_RESULT},
         PO},
        {{"direct, full service", .ch = CHISO_CHANNEL_DIRECT, .attrs = CHISO_LEVEL_FULL}, 0},
        {{"postal, partial service", .ch = CHISO_CHANNEL_POSTAL, .attrs = CHISO_LEVEL_PARTIAL}, 0},
        {{"channel unknown, full service", .ch = CHISO_CHANNEL_UNKNOWN, .attrs = CHISO_LEVEL_FULL},
         0},
        {{"online, full, not received", .ch = ON, .not_received = true, .attrs = CHISO_LEVEL_FULL},
         0},
        {{"a fee paid on the platform", .ch = CHISO_CHANNEL_DIRECT, .fee = 20000,
          .paid = CHISO_PAY_DVCQG_PLATFORM},
         PP},
        {{"a fee paid by the provincial gateway", .ch = CHISO_CHANNEL_DIRECT, .fee = 20000,
          .paid = CHISO_PAY_PROVINCIAL_GATEWAY},
         PP},
        {{"a fee paid in cash", .ch = CHISO_CHANNEL_DIRECT, .fee = 20000, .paid = CHISO_PAY_CASH},
         0},
        {{"a fee paid by bank transfer", .ch = ON, .fee = 20000, .paid = CHISO_PAY_BANK_TRANSFER},
         0},
        {{"a fee, unpaid", .ch = ON, .fee = 20000}, 0},
        {{"a zero fee paid on the platform", .ch = ON, .fee = FEE_ZERO,
          .paid = CHISO_PAY_DVCQG_PLATFORM},
         0},
        {{"paid online without a fee", .ch = ON, .paid = CHISO_PAY_DVCQG_PLATFORM}, 0},
        {{"a fee paid online, not received", .ch = ON, .not_received = true, .fee = 20000,
          .paid = CHISO_PAY_DVCQG_PLATFORM, .attrs = CHISO_LEVEL_FULL},
         0},
        {{"online, full, a fee paid on the platform", .ch = ON, .fee = 20000,
          .paid = CHISO_PAY_DVCQG_PLATFORM, .attrs = CHISO_LEVEL_FULL, .resolved = 1},
         PO | PP},
    };
#undef ON
    int32_t rday = D("2025-07-01");
    uint64_t rng = 11;

    CHECK_EQ_STR(chiso_proc_set_name(CHISO_PS_ONLINE), "po");
    CHECK_EQ_STR(chiso_proc_set_name(CHISO_PS_PAID), "pp");
    CHECK(chiso_proc_set_name(CHISO_PS_COUNT) == NULL, "no third set");
    CHECK_EQ_INT(chiso_period_of(rday, CHISO_PERIOD_QUARTER).first_day, rday,
                 "the received day opens a quarter (UTC is still in the last one)");
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const indicator_case *k = &cases[i].k;
        chiso_event evs[12];
        int n = indicator_events(k, evs);
        chiso_dossier *d = chiso_dossier_new();
        int32_t day = 0;

        chiso_dossier_apply_catalog(d, k->attrs);
        for (int j = 0; j < n; j++)
            chiso_dossier_apply(d, &evs[j]);
        CHECK_EQ_INT(proc_sets(d, &day), cases[i].want, "%s: the sets", k->name);
        if (cases[i].want)
            CHECK_EQ_INT(day, rday, "%s: on the local received day", k->name);

        int round = any_order_fails(evs, n, k->attrs, &rng, same_memberships, d);
        CHECK(round < 0, "%s: round %d: same memberships in any order", k->name, round);
        chiso_dossier_free(d);
    }
#undef PP
#undef PO
}

/* Late facts change memberships on the received day, with the dossier's
 * procedure; a dossier without a procedure code is in no set. */
static void test_proc_deltas(void)
{
    indicator_case k = {"late facts", .ch = CHISO_CHANNEL_DIRECT, .fee = 20000};
    chiso_event evs[12];
    int n = indicator_events(&k, evs);
    chiso_dossier *old = chiso_dossier_new(), *cur = chiso_dossier_new();
    chiso_proc_contrib oc[CHISO_PROC_CONTRIB_MAX], nc[CHISO_PROC_CONTRIB_MAX];
    chiso_proc_delta delta[2 * CHISO_PROC_CONTRIB_MAX];
    static const struct {
        chiso_event_type type;
        chiso_channel channel;
        uint64_t attrs; /* applied before the event */
        chiso_proc_set set;
        int delta;
    } late[] = {
        /* paid a month later: on the received day, not the paid day */
        {CHISO_EV_PAID, 0, 0, CHISO_PS_PAID, 1},
        /* a catalog level arriving late: not an online service yet */
        {CHISO_EV_SYNCED, 0, CHISO_LEVEL_PARTIAL, CHISO_PS_ONLINE, 0},
        /* an earlier submission online corrects the channel */
        {CHISO_EV_SUBMITTED, CHISO_CHANNEL_ONLINE, 0, CHISO_PS_ONLINE, 1},
    };

    for (int i = 0; i < n; i++)
        chiso_dossier_apply(old, &evs[i]);
    for (size_t i = 0; i < sizeof(late) / sizeof(late[0]); i++) {
        chiso_event e = ev(late[i].type, "late", "2025-08-02T09:00:00+07:00");
        e.method = CHISO_PAY_PROVINCIAL_GATEWAY;
        if (late[i].type == CHISO_EV_SUBMITTED) {
            e = ev(late[i].type, "early", "2025-06-30T21:00:00+07:00");
            e.channel = late[i].channel;
        }
        chiso_dossier_copy(cur, old);
        chiso_dossier_apply_catalog(cur, late[i].attrs);
        CHECK(chiso_dossier_apply(cur, &e) == 1, "%s adds a fact", chiso_event_type_name(e.type));
        int no = chiso_dossier_proc_contrib(old, oc), nn = chiso_dossier_proc_contrib(cur, nc);
        int nd = chiso_proc_contrib_diff(oc, no, chiso_dossier_procedure(old), nc, nn,
                                         chiso_dossier_procedure(cur), delta);
        CHECK_EQ_INT(nd, late[i].delta != 0, "%s: one change at most",
                     chiso_event_type_name(e.type));
        for (int j = 0; j < nd; j++)
            CHECK(delta[j].set == late[i].set && delta[j].day == D("2025-07-01") &&
                      delta[j].delta == late[i].delta &&
                      strcmp(delta[j].procedure, "1.001234") == 0,
                  "%s: %+d %s on the received day, of the procedure", chiso_event_type_name(e.type),
                  late[i].delta, chiso_proc_set_name(late[i].set));
        chiso_dossier_copy(old, cur);
    }
    int32_t day = 0;
    CHECK_EQ_INT(proc_sets(cur, &day), (1u << CHISO_PS_ONLINE) | (1u << CHISO_PS_PAID),
                 "in both sets at the end");

    /* the same facts with no procedure code: no membership */
    chiso_dossier_reset(cur);
    for (int i = 0; i < n; i++) {
        evs[i].procedure[0] = '\0';
        chiso_dossier_apply(cur, &evs[i]);
    }
    chiso_event paid = ev(CHISO_EV_PAID, "p", "2025-07-02T09:00:00+07:00");
    paid.method = CHISO_PAY_DVCQG_PLATFORM;
    paid.procedure[0] = '\0';
    chiso_dossier_apply(cur, &paid);
    CHECK_EQ_INT(chiso_dossier_proc_contrib(cur, nc), 0, "no procedure, no membership");
    chiso_contrib c[CHISO_CONTRIB_MAX];
    CHECK_EQ_INT(has(c, chiso_dossier_contrib(cur, c), CHISO_C_PAID_ONLINE, D("2025-07-01")), 1,
                 "... though it counts in paid_online");
    chiso_dossier_free(old);
    chiso_dossier_free(cur);
}

/* The differences: by (set, day) within one procedure, every membership
 * moving when the procedure changes, multiplicities, nothing to nothing. */
static void test_proc_diff(void)
{
    const char *p1 = "1.001234", *p2 = "1.000999", *same_as_p1 = "1.001234";
    int32_t x = D("2025-07-31"), y = D("2025-08-01");
    chiso_proc_contrib po_x = {CHISO_PS_ONLINE, x}, pp_x = {CHISO_PS_PAID, x};
    chiso_proc_contrib po_y = {CHISO_PS_ONLINE, y};
    chiso_proc_contrib both[] = {po_x, pp_x}, both_rev[] = {pp_x, po_x}, twice[] = {po_x, po_x};
    chiso_proc_delta out[4];

    CHECK_EQ_INT(chiso_proc_contrib_diff(both, 2, p1, both_rev, 2, same_as_p1, out), 0,
                 "same memberships, any order, equal codes: no change");
    CHECK_EQ_INT(chiso_proc_contrib_diff(NULL, 0, "", NULL, 0, p1, out), 0, "nothing to nothing");
    CHECK_EQ_INT(chiso_proc_contrib_diff(NULL, 0, "", both, 2, p1, out), 2, "from nothing");
    CHECK(out[0].delta == 1 && out[1].delta == 1 && out[0].procedure == p1 &&
              out[0].set != out[1].set,
          "+1 in each set, of the new procedure");
    CHECK_EQ_INT(chiso_proc_contrib_diff(both, 2, p1, &pp_x, 1, p1, out), 1, "leaving po");
    CHECK(out[0].set == CHISO_PS_ONLINE && out[0].day == x && out[0].delta == -1 &&
              out[0].procedure == p1,
          "-1 po on its day");
    CHECK_EQ_INT(chiso_proc_contrib_diff(&po_x, 1, p1, &po_y, 1, p1, out), 2, "another day");
    CHECK(out[0].day == x && out[0].delta == -1 && out[1].day == y && out[1].delta == 1,
          "-1 on the old day, +1 on the new (a month apart)");
    CHECK_EQ_INT(chiso_proc_contrib_diff(both, 2, p1, both, 2, p2, out), 4, "another procedure");
    int moved = 0;
    for (int i = 0; i < 4; i++)
        moved += out[i].delta == (out[i].procedure == p1 ? -1 : 1) &&
                 (out[i].procedure == p1 || out[i].procedure == p2);
    CHECK_EQ_INT(moved, 4, "every membership leaves p1 and joins p2");
    CHECK_EQ_INT(chiso_proc_contrib_diff(twice, 2, p1, &po_x, 1, p1, out), 1, "a multiset");
    CHECK(out[0].delta == -1, "two to one: -1");
}

#define RV_DELETE(...) (chiso_dossier_reap_verdict(__VA_ARGS__) == CHISO_REAP_DELETE)
#define RV_KEEP(...)   (chiso_dossier_reap_verdict(__VA_ARGS__) == CHISO_REAP_KEEP)
#define RV_WAIT(...)   (chiso_dossier_reap_verdict(__VA_ARGS__) == CHISO_REAP_WAIT)

/* The retention rule: the last fact's time (every kind of fact, the
 * supplement sets too, never the due date), and what the reaper deletes. */
static void test_retention(void)
{
    chiso_event steps[16];
    int n = full_story(steps);
    chiso_dossier *d = chiso_dossier_new();

    CHECK(chiso_dossier_last_at(d) == INT64_MIN, "an empty state has no last fact");
    CHECK(chiso_dossier_reap_day(d) == INT32_MIN, "nor a day");
    chiso_event fee = ev(CHISO_EV_FEE_REQUESTED, "f", "2025-07-01T10:05:00+07:00");
    fee.amount = 1000;
    chiso_dossier_apply(d, &fee);
    CHECK(chiso_dossier_last_at(d) == INT64_MIN, "a fee request keeps no time");
    const int64_t none[1] = {-1};
    CHECK(RV_DELETE(d, INT32_MIN + 1, none, 1), "a fragment without a time or a fence is reapable");
    chiso_dossier_reset(d);

    int64_t last = INT64_MIN;
    for (int i = 0; i < n; i++) {
        chiso_dossier_apply(d, &steps[i]);
        if (steps[i].type != CHISO_EV_FEE_REQUESTED && steps[i].at > last)
            last = steps[i].at;
        CHECK(chiso_dossier_last_at(d) == last, "step %d: the last fact's time", i);
    }
    int32_t day = chiso_local_day(last);
    CHECK(day == D("2025-07-04"), "closed on 3 July, rated on 4 July: its last fact");
    CHECK(chiso_dossier_reap_day(d) == day, "the reap day is the last fact's local day");
    CHECK(!chiso_dossier_open(d), "the story ends closed");
    /* last written by the record at offset 41 of partition 2 */
    chiso_dossier_set_fence(d, 2, 41);
    const int64_t past[3] = {0, 0, 42}, at[3] = {99, 99, 41}, never[3] = {-1, -1, -1};
    CHECK(RV_KEEP(d, day, past, 3), "kept while the horizon is on its day");
    CHECK(RV_DELETE(d, day + 1, past, 3),
          "deleted once the horizon is past it and its last record is committed");
    CHECK(RV_WAIT(d, day + 1, at, 3),
          "waits while its last record is not committed (a replay would write it again)");
    CHECK(RV_WAIT(d, day + 1, never, 3), "waits when nothing is committed");
    CHECK(RV_WAIT(d, day + 1, past, 2), "waits when its partition is not known");

    /* a later fact of any kind moves the day: a supplement received late */
    chiso_event late = ev(CHISO_EV_SUPPLEMENT_RECEIVED, "late", "2025-07-20T09:00:00+07:00");
    chiso_dossier_apply(d, &late);
    CHECK(chiso_dossier_reap_day(d) == D("2025-07-20"), "a later supplement moves the day");
    CHECK(RV_KEEP(d, day + 1, past, 3), "and keeps the state longer");
    /* a due date far ahead is not a fact's time */
    chiso_dossier_reset(d);
    chiso_event rec = ev(CHISO_EV_RECEIVED, "r", "2025-07-01T09:00:00+07:00");
    rec.due_at = T("2025-12-31T17:00:00+07:00");
    chiso_dossier_apply(d, &rec);
    CHECK(chiso_dossier_reap_day(d) == D("2025-07-01"), "the due date is not a fact's time");
    CHECK(chiso_dossier_open(d) && RV_KEEP(d, INT32_MAX, none, 1),
          "an open dossier is kept whatever its age");
    /* the local day: 23:30 UTC is the next day in Vietnam */
    chiso_dossier_reset(d);
    chiso_event sub = ev(CHISO_EV_SUBMITTED, "s", "2025-07-01T23:30:00Z");
    chiso_dossier_apply(d, &sub);
    CHECK(chiso_dossier_reap_day(d) == D("2025-07-02"), "the reap day is a local day");
    CHECK(RV_DELETE(d, D("2025-07-03"), none, 1), "a fragment never received is reapable");
    chiso_dossier_free(d);
}

int main(void)
{
    test_order_independence();
    test_encoding();
    test_procedure_codes();
    test_legacy_and_garbage();
    test_contributions();
    test_ontime_contrib();
    test_levels();
    test_indicators();
    test_indicator_deltas();
    test_counter_names();
    test_diff();
    test_proc_contrib();
    test_proc_deltas();
    test_proc_diff();
    test_retention();
    return CHECK_DONE();
}
