/*
 * test_dossier.c - the dossier state: order independence, idempotence,
 * encoding, fence, contributions and their differences.
 */
#include "chiso/dossier.h"

#include <stdlib.h>
#include <string.h>

#include "chiso/common.h"
#include "chiso/vntime.h"

#include "check.h"

static int64_t T(const char *s)
{
    int64_t t = 0;
    if (chiso_time_parse(s, &t) != 0) {
        fprintf(stderr, "bad time in test: %s\n", s);
        abort();
    }
    return t;
}

static int32_t D(const char *ymd)
{
    chiso_period p;
    if (chiso_period_parse(ymd, &p) != 0 || p.kind != CHISO_PERIOD_DAY)
        abort();
    return p.first_day;
}

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

static void test_order_independence(void)
{
    chiso_event evs[16], shuffled[48];
    int n = full_story(evs);
    chiso_dossier *ref = chiso_dossier_new(), *d = chiso_dossier_new();
    unsigned char a[CHISO_DOSSIER_MAX_ENCODED], b[CHISO_DOSSIER_MAX_ENCODED];
    uint64_t rng = 42;

    for (int i = 0; i < n; i++)
        chiso_dossier_apply(ref, &evs[i]);
    int la = encode(ref, a);
    CHECK(la > 0 && la < 100, "typical encoding is compact: %d bytes", la);

    for (int round = 0; round < 500; round++) {
        /* every event once, some twice or three times, in random order */
        int m = 0;
        for (int i = 0; i < n; i++) {
            rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
            int copies = 1 + (int)((rng >> 33) % 3);
            for (int c = 0; c < copies; c++)
                shuffled[m++] = evs[i];
        }
        for (int i = m - 1; i > 0; i--) {
            rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
            int j = (int)((rng >> 33) % (uint64_t)(i + 1));
            chiso_event t = shuffled[i];
            shuffled[i] = shuffled[j];
            shuffled[j] = t;
        }
        chiso_dossier_reset(d);
        for (int i = 0; i < m; i++)
            chiso_dossier_apply(d, &shuffled[i]);
        int lb = encode(d, b);
        CHECK(la == lb && memcmp(a, b, (size_t)la) == 0, "round %d: same state in any order",
              round);
        if (la != lb || memcmp(a, b, (size_t)la) != 0)
            break;
    }

    /* applying anything a second time changes nothing */
    for (int i = 0; i < n; i++)
        CHECK(chiso_dossier_apply(ref, &evs[i]) == 0, "event %d applied twice is a no-op", i);

    /* a second `received` with an earlier time wins, in either order */
    chiso_event early = ev(CHISO_EV_RECEIVED, "e2b", "2025-07-01T08:30:00+07:00");
    early.due_at = T("2025-07-05T17:00:00+07:00");
    chiso_dossier_copy(d, ref);
    CHECK(chiso_dossier_apply(d, &early) == 1, "earlier received replaces");
    chiso_dossier *d2 = chiso_dossier_new();
    chiso_dossier_apply(d2, &early);
    for (int i = 0; i < n; i++)
        chiso_dossier_apply(d2, &evs[i]);
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
    chiso_dossier_free(d);
    chiso_dossier_free(e);
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
    test_contributions();
    test_diff();
    return CHECK_DONE();
}
