/*
 * test_dossier.c - the dossier state: order independence, idempotence,
 * encoding (and states written before the service level), fence,
 * contributions (on-time rule with supplements, service level) and their
 * differences.
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

/* One step of a story: an event, or the catalog's service level (ev NULL). */
typedef struct step {
    const chiso_event *ev;
    int level;
} step;

static int apply_step(chiso_dossier *d, const step *s)
{
    return s->ev ? chiso_dossier_apply(d, s->ev) : chiso_dossier_apply_level(d, s->level);
}

static int same_contrib(const chiso_dossier *a, const chiso_dossier *b)
{
    chiso_contrib ca[CHISO_CONTRIB_MAX], cb[CHISO_CONTRIB_MAX];
    chiso_delta delta[2 * CHISO_CONTRIB_MAX];
    int na = chiso_dossier_contrib(a, ca), nb = chiso_dossier_contrib(b, cb);
    return chiso_contrib_diff(ca, na, cb, nb, delta) == 0;
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
     * request and its receipt; and two service levels (the highest stays) */
    evs[n++] = ev(CHISO_EV_SUPPLEMENT_RECEIVED, "e12", "2025-07-01T12:00:00+07:00");
    evs[n++] = ev(CHISO_EV_SUPPLEMENT_REQUESTED, "e13", "2025-07-02T17:30:00Z");
    evs[n++] = ev(CHISO_EV_SUPPLEMENT_RECEIVED, "e14", "2025-07-03T11:00:00+07:00");
    for (int i = 0; i < n; i++)
        steps[ns++] = (step){.ev = &evs[i]};
    steps[ns++] = (step){.level = CHISO_LEVEL_PARTIAL};
    steps[ns++] = (step){.level = CHISO_LEVEL_FULL};

    for (int i = 0; i < ns; i++)
        apply_step(ref, &steps[i]);
    int la = encode(ref, a);
    CHECK(la > 0 && la < 100, "typical encoding is compact: %d bytes", la);
    CHECK_EQ_INT(chiso_dossier_overdue_day(ref), D("2025-07-03"),
                 "the second request (local 3 July) decides");

    for (int round = 0; round < 500; round++) {
        /* every step once, some twice or three times, in random order */
        int m = 0;
        for (int i = 0; i < ns; i++) {
            rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
            int copies = 1 + (int)((rng >> 33) % 3);
            for (int c = 0; c < copies; c++)
                shuffled[m++] = steps[i];
        }
        for (int i = m - 1; i > 0; i--) {
            rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
            int j = (int)((rng >> 33) % (uint64_t)(i + 1));
            step t = shuffled[i];
            shuffled[i] = shuffled[j];
            shuffled[j] = t;
        }
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

    /* the service level travels too, and stays out of "empty" */
    CHECK(chiso_dossier_apply_level(d, CHISO_LEVEL_PARTIAL) == 1, "level recorded");
    len = encode(d, buf);
    CHECK(chiso_dossier_decode(e, buf, (size_t)len) == 0, "decodes with a level");
    CHECK(chiso_dossier_equal(d, e), "round trip keeps the level");
    CHECK(chiso_dossier_apply_level(e, CHISO_LEVEL_PARTIAL) == 0, "decoded level is partial");
    CHECK(chiso_dossier_apply_level(e, CHISO_LEVEL_FULL) == 1, "and full is higher");
    chiso_dossier_reset(e);
    chiso_dossier_apply_level(e, CHISO_LEVEL_FULL);
    chiso_dossier_set_fence(e, 0, 1);
    CHECK(chiso_dossier_empty(e), "a level and a fence are no event facts");

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

/* A state written by the encoder before the service level existed (commit
 * 550ad8e): submitted online 1 July, received 1 July due 10 July, supplement
 * requested 8 July and received 12 July, resolved 14 July, procedure
 * 1.001234, fence (2, 4242). */
static const unsigned char legacy_state[] = {
    0x01, 0x83, 0x81, 0x0f, 0xa0, 0xcc, 0x99, 0x86, 0x0d, 0x01, 0xa0, 0x38, 0x80, 0xb8,
    0x62, 0x00, 0xc0, 0xa7, 0x29, 0x01, 0x01, 0x01, 0xbf, 0xf5, 0x41, 0x01, 0xa0, 0xd0,
    0x2a, 0x02, 0x92, 0x21, 0x08, 0x31, 0x2e, 0x30, 0x30, 0x31, 0x32, 0x33, 0x34,
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
    CHECK(len == (int)sizeof(legacy_state) && memcmp(buf, legacy_state, sizeof(legacy_state)) == 0,
          "a state without a level encodes byte for byte as before");
    CHECK(chiso_dossier_apply_level(d, CHISO_LEVEL_FULL) == 1, "level added to a legacy state");
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
        {"an unknown fact bit (19)", {0x01, 0x80, 0x80, 0x20}, 4, CHISO_ESTATE},
        {"a varint that never ends",
         {0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
         12,
         CHISO_ESTATE},
        {"level bit, level byte missing", {0x01, 0x80, 0x80, 0x10}, 4, CHISO_ESTATE},
        {"level bit, level full", {0x01, 0x80, 0x80, 0x10, 0x03}, 5, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        CHECK_EQ_INT(chiso_dossier_decode(d, cases[i].bytes, cases[i].len), cases[i].rc, "%s",
                     cases[i].name);
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

    /* received: received, received_online, overdue_began after the due day */
    chiso_dossier_apply(d, &evs[1]);
    k = chiso_dossier_contrib(d, c);
    CHECK_EQ_INT(k, 3, "received contributions");
    CHECK(has(c, k, CHISO_C_RECEIVED, D("2025-07-01")), "received on 1 July");
    CHECK(has(c, k, CHISO_C_RECEIVED_ONLINE, D("2025-07-01")), "online");
    CHECK(has(c, k, CHISO_C_OVERDUE_BEGAN, D("2025-07-05")), "overdue from the day after due");

    for (int i = 2; i < n; i++)
        chiso_dossier_apply(d, &evs[i]);
    k = chiso_dossier_contrib(d, c);
    CHECK_EQ_INT(k, 6, "complete dossier contributions");
    CHECK(has(c, k, CHISO_C_RESOLVED, D("2025-07-03")), "resolved 3 July");
    CHECK(has(c, k, CHISO_C_RESOLVED_ON_TIME, D("2025-07-03")), "on time");
    CHECK(has(c, k, CHISO_C_FULL_PROCESS, D("2025-07-03")), "full process");
    CHECK(has(c, k, CHISO_C_CLOSED, D("2025-07-03")), "closed at resolution");
    CHECK(!has(c, k, CHISO_C_OVERDUE_BEGAN, D("2025-07-05")), "never overdue");
    CHECK(chiso_dossier_class(d, &prov) == CHISO_CLASS_FULL_PROCESS && !prov, "final class");

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
            chiso_dossier_apply_level(d, cases[i].levels[j]);
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
    CHECK_EQ_INT(chiso_dossier_apply_level(d, CHISO_LEVEL_UNKNOWN), 0, "unknown is no fact");
    CHECK_EQ_INT(chiso_dossier_apply_level(d, -1), 0, "negative ignored");
    CHECK_EQ_INT(chiso_dossier_apply_level(d, CHISO_LEVEL_NONE), 1, "none recorded");
    CHECK_EQ_INT(chiso_dossier_apply_level(d, CHISO_LEVEL_NONE), 0, "none again: no change");
    CHECK_EQ_INT(chiso_dossier_apply_level(d, CHISO_LEVEL_FULL), 1, "full is higher");
    CHECK_EQ_INT(chiso_dossier_apply_level(d, CHISO_LEVEL_PARTIAL), 0, "partial is lower");

    /* the most a dossier contributes: received, channel, two service-level
     * counters, resolved, late, class, closed, overdue began and closed */
    chiso_event evs[16];
    int n = full_story(evs);
    for (int i = 0; i < n; i++) {
        chiso_event e = evs[i];
        if (e.type == CHISO_EV_RESOLVED)
            e.at = T("2025-07-20T09:00:00+07:00");
        chiso_dossier_apply(d, &e);
    }
    chiso_contrib c[CHISO_CONTRIB_MAX];
    int k = chiso_dossier_contrib(d, c);
    CHECK_EQ_INT(k, 10, "every kind of contribution at once");
    CHECK(k <= CHISO_CONTRIB_MAX, "within CHISO_CONTRIB_MAX");
    chiso_dossier_free(d);
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

int main(void)
{
    test_order_independence();
    test_encoding();
    test_legacy_and_garbage();
    test_contributions();
    test_ontime_contrib();
    test_levels();
    test_diff();
    return CHECK_DONE();
}
