/*
 * test_feedback.c - feedback.h: the `feedback.events` record (every valid
 * shape, every rejection with its exact reason), serialization round trips,
 * the state's merge (order independence over every permutation, duplicates,
 * ties), its encoding, and the counter contributions at Vietnam-local day
 * boundaries.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "chiso/common.h"
#include "chiso/counters.h"
#include "chiso/feedback.h"
#include "testtime.h"

/* The common fields of a valid record, before its type's own. */
#define HEAD                                                                                       \
    "\"v\":1,\"event_id\":\"e-1\",\"feedback_id\":\"PAKN-2025/07:0001\",\"unit\":\"H21.42\","
#define AT "\"at\":\"2025-07-01T08:00:00+07:00\""

/* ---- parsing -------------------------------------------------------------- */

static void test_valid(void)
{
    static const struct {
        const char *json;
        chiso_feedback_type type;
        const char *due_at; /* NULL = none */
        bool satisfied;
    } cases[] = {
        {"{" HEAD "\"type\":\"received\"," AT ",\"due_at\":\"2025-07-22T17:00:00+07:00\"}",
         CHISO_FB_RECEIVED, "2025-07-22T17:00:00+07:00", false},
        {"{" HEAD "\"type\":\"answered\"," AT "}", CHISO_FB_ANSWERED, NULL, false},
        {"{" HEAD "\"type\":\"rated\"," AT ",\"satisfied\":true}", CHISO_FB_RATED, NULL, true},
        {"{" HEAD "\"type\":\"rated\"," AT ",\"satisfied\":false}", CHISO_FB_RATED, NULL, false},
        /* unknown fields, and another type's fields, are ignored */
        {"{" HEAD "\"type\":\"answered\"," AT ",\"due_at\":17,\"satisfied\":\"x\",\"note\":[1]}",
         CHISO_FB_ANSWERED, NULL, false},
        /* JSON whitespace around and inside; due before at is late data, not bad data */
        {" \r\n\t{" HEAD "\"type\" : \"received\"," AT ",\"due_at\":\"2025-06-30T00:00:00Z\"}\n",
         CHISO_FB_RECEIVED, "2025-06-30T00:00:00Z", false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        chiso_feedback_event ev, again;
        chiso_reject rej;
        char out[1024];
        int rc = chiso_feedback_event_parse(cases[i].json, strlen(cases[i].json), &ev, &rej);
        CHECK(rc == 0, "case %zu rejected: %s", i, rej.detail);
        if (rc != 0)
            continue;
        CHECK_EQ_INT(ev.type, cases[i].type, "case %zu type", i);
        CHECK_EQ_STR(ev.event_id, "e-1");
        CHECK_EQ_STR(ev.feedback_id, "PAKN-2025/07:0001");
        CHECK_EQ_STR(ev.unit, "H21.42");
        CHECK_EQ_INT(ev.at, T("2025-07-01T08:00:00+07:00"), "case %zu at", i);
        CHECK_EQ_INT(ev.due_at, cases[i].due_at ? T(cases[i].due_at) : 0, "case %zu due", i);
        CHECK_EQ_INT(ev.satisfied, cases[i].satisfied, "case %zu satisfied", i);
        /* serialize, parse again: the same event and the same bytes */
        int n = chiso_feedback_event_to_json(&ev, out, sizeof(out));
        CHECK(n > 0, "case %zu does not serialize", i);
        if (n <= 0)
            continue;
        CHECK(chiso_feedback_event_parse(out, (size_t)n, &again, &rej) == 0, "case %zu: %s", i,
              out);
        CHECK(memcmp(&ev, &again, sizeof(ev)) == 0, "case %zu round trip differs: %s", i, out);
        char out2[1024];
        CHECK(chiso_feedback_event_to_json(&again, out2, sizeof(out2)) == n &&
                  strcmp(out, out2) == 0,
              "case %zu serializes differently", i);
    }
}

static void test_serialize_limits(void)
{
    chiso_feedback_event ev;
    chiso_reject rej;
    char small[16];
    const char *json = "{" HEAD "\"type\":\"rated\"," AT ",\"satisfied\":true}";

    CHECK(chiso_feedback_event_parse(json, strlen(json), &ev, &rej) == 0, "%s", rej.detail);
    CHECK_EQ_INT(chiso_feedback_event_to_json(&ev, small, sizeof(small)), CHISO_ERANGE,
                 "a small buffer is ERANGE");
    ev.type = CHISO_FB_NONE;
    CHECK_EQ_INT(chiso_feedback_event_to_json(&ev, small, sizeof(small)), CHISO_EINVAL,
                 "type none does not serialize");
    ev.type = CHISO_FB_RATED;
    strcpy(ev.unit, "bad unit");
    CHECK_EQ_INT(chiso_feedback_event_to_json(&ev, small, sizeof(small)), CHISO_EINVAL,
                 "an invalid unit does not serialize");
    CHECK_EQ_STR(chiso_feedback_type_name(CHISO_FB_ANSWERED), "answered");
    CHECK_EQ_STR(chiso_feedback_type_name((chiso_feedback_type)99), "unknown");
    CHECK_EQ_INT(chiso_feedback_type_from_name("rated"), CHISO_FB_RATED, "from name");
    CHECK_EQ_INT(chiso_feedback_type_from_name("submitted"), CHISO_FB_NONE, "dossier type");
    CHECK_EQ_INT(chiso_feedback_type_from_name(NULL), CHISO_FB_NONE, "NULL name");
}

static void test_rejects(void)
{
    static const struct {
        const char *json;
        chiso_reject_reason reason;
        const char *detail_has; /* a piece of the detail sentence */
    } cases[] = {
        /* json_syntax */
        {"", CHISO_REJECT_JSON_SYNTAX, "empty"},
        {"  \n", CHISO_REJECT_JSON_SYNTAX, "empty"},
        {"null", CHISO_REJECT_JSON_SYNTAX, "null"},
        {"[1]", CHISO_REJECT_JSON_SYNTAX, "object"},
        {"\"received\"", CHISO_REJECT_JSON_SYNTAX, "object"},
        {"{\"v\":1", CHISO_REJECT_JSON_SYNTAX, "JSON"},
        {"{} {}", CHISO_REJECT_JSON_SYNTAX, "after"},
        {"{\"v\":1,\"x\":\"a\x01\"}", CHISO_REJECT_JSON_SYNTAX, "control"},
        /* `v` */
        {"{\"event_id\":\"e\"}", CHISO_REJECT_MISSING_FIELD, "'v'"},
        {"{\"v\":2,\"event_id\":\"e\"}", CHISO_REJECT_BAD_VALUE, "'v'"},
        {"{\"v\":\"1\",\"event_id\":\"e\"}", CHISO_REJECT_BAD_VALUE, "'v'"},
        /* common fields absent */
        {"{\"v\":1,\"feedback_id\":\"f\",\"unit\":\"U\",\"type\":\"answered\"," AT "}",
         CHISO_REJECT_MISSING_FIELD, "'event_id'"},
        {"{\"v\":1,\"event_id\":\"e\",\"unit\":\"U\",\"type\":\"answered\"," AT "}",
         CHISO_REJECT_MISSING_FIELD, "'feedback_id'"},
        {"{\"v\":1,\"event_id\":\"e\",\"feedback_id\":\"f\",\"type\":\"answered\"," AT "}",
         CHISO_REJECT_MISSING_FIELD, "'unit'"},
        {"{" HEAD AT "}", CHISO_REJECT_MISSING_FIELD, "'type'"},
        {"{" HEAD "\"type\":\"answered\"}", CHISO_REJECT_MISSING_FIELD, "'at'"},
        /* a missing field is reported before a bad one */
        {"{\"v\":1,\"event_id\":7,\"unit\":\"U\",\"type\":\"answered\"," AT "}",
         CHISO_REJECT_MISSING_FIELD, "'feedback_id'"},
        /* common fields not strings */
        {"{\"v\":1,\"event_id\":7,\"feedback_id\":\"f\",\"unit\":\"U\",\"type\":\"answered\"," AT
         "}",
         CHISO_REJECT_BAD_VALUE, "'event_id'"},
        {"{" HEAD "\"type\":null," AT "}", CHISO_REJECT_BAD_VALUE, "'type'"},
        {"{" HEAD "\"type\":\"answered\",\"at\":1751331600}", CHISO_REJECT_BAD_VALUE, "'at'"},
        /* a bad common field is reported before an unknown type */
        {"{" HEAD "\"type\":\"closed\",\"at\":false}", CHISO_REJECT_BAD_VALUE, "'at'"},
        /* unknown type, even one of dossier.events */
        {"{" HEAD "\"type\":\"closed\"," AT "}", CHISO_REJECT_UNKNOWN_TYPE, "'closed'"},
        {"{" HEAD "\"type\":\"submitted\"," AT "}", CHISO_REJECT_UNKNOWN_TYPE, "'submitted'"},
        {"{" HEAD "\"type\":\"Rated\"," AT "}", CHISO_REJECT_UNKNOWN_TYPE, "'Rated'"},
        /* an unknown type is reported before bad ids */
        {"{\"v\":1,\"event_id\":\"\",\"feedback_id\":\"f\",\"unit\":\"U\",\"type\":\"x\"," AT "}",
         CHISO_REJECT_UNKNOWN_TYPE, "'x'"},
        /* ids, codes, times */
        {"{\"v\":1,\"event_id\":\"\",\"feedback_id\":\"f\",\"unit\":\"U\",\"type\":\"answered\"," AT
         "}",
         CHISO_REJECT_BAD_VALUE, "'event_id'"},
        {"{\"v\":1,\"event_id\":\"0123456789012345678901234567890123456789012345678901234567890123"
         "4\",\"feedback_id\":\"f\",\"unit\":\"U\",\"type\":\"answered\"," AT "}",
         CHISO_REJECT_BAD_VALUE, "'event_id'"},
        {"{\"v\":1,\"event_id\":\"\xc3\x28\",\"feedback_id\":\"f\",\"unit\":\"U\",\"type\":"
         "\"answered\"," AT "}",
         CHISO_REJECT_BAD_VALUE, "'event_id'"},
        {"{\"v\":1,\"event_id\":\"e\",\"feedback_id\":\"f "
         "1\",\"unit\":\"U\",\"type\":\"answered\"," AT "}",
         CHISO_REJECT_BAD_VALUE, "'feedback_id'"},
        {"{\"v\":1,\"event_id\":\"e\",\"feedback_id\":\"\",\"unit\":\"U\",\"type\":\"answered\"," AT
         "}",
         CHISO_REJECT_BAD_VALUE, "'feedback_id'"},
        {"{\"v\":1,\"event_id\":\"e\",\"feedback_id\":\"f\",\"unit\":\"a:b\",\"type\":"
         "\"answered\"," AT "}",
         CHISO_REJECT_BAD_VALUE, "'unit'"},
        {"{\"v\":1,\"event_id\":\"e\",\"feedback_id\":\"f\",\"unit\":"
         "\"U23456789012345678901234567890123\",\"type\":\"answered\"," AT "}",
         CHISO_REJECT_BAD_VALUE, "'unit'"},
        {"{" HEAD "\"type\":\"answered\",\"at\":\"2025-07-01T08:00:00\"}", CHISO_REJECT_BAD_VALUE,
         "'at'"},
        {"{" HEAD "\"type\":\"answered\",\"at\":\"2025-02-29T08:00:00+07:00\"}",
         CHISO_REJECT_BAD_VALUE, "'at'"},
        {"{" HEAD "\"type\":\"answered\",\"at\":\"10000-01-01T00:00:00Z\"}", CHISO_REJECT_BAD_VALUE,
         "'at'"},
        /* the fields of a type */
        {"{" HEAD "\"type\":\"received\"," AT "}", CHISO_REJECT_MISSING_FIELD, "'due_at'"},
        {"{" HEAD "\"type\":\"received\"," AT ",\"due_at\":null}", CHISO_REJECT_BAD_VALUE,
         "'due_at'"},
        {"{" HEAD "\"type\":\"received\"," AT ",\"due_at\":\"2025-07-22\"}", CHISO_REJECT_BAD_VALUE,
         "'due_at'"},
        {"{" HEAD "\"type\":\"rated\"," AT "}", CHISO_REJECT_MISSING_FIELD, "'satisfied'"},
        {"{" HEAD "\"type\":\"rated\"," AT ",\"satisfied\":\"true\"}", CHISO_REJECT_BAD_VALUE,
         "'satisfied'"},
        {"{" HEAD "\"type\":\"rated\"," AT ",\"satisfied\":1}", CHISO_REJECT_BAD_VALUE,
         "'satisfied'"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        chiso_feedback_event ev;
        chiso_reject rej;
        int rc = chiso_feedback_event_parse(cases[i].json, strlen(cases[i].json), &ev, &rej);
        CHECK_EQ_INT(rc, CHISO_EINVAL, "case %zu accepted: %s", i, cases[i].json);
        CHECK(rej.reason == cases[i].reason, "case %zu: reason %s, want %s (%s)", i,
              chiso_reject_code(rej.reason), chiso_reject_code(cases[i].reason), rej.detail);
        CHECK(strstr(rej.detail, cases[i].detail_has) != NULL, "case %zu: detail \"%s\" lacks %s",
              i, rej.detail, cases[i].detail_has);
        CHECK(ev.type == CHISO_FB_NONE && ev.unit[0] == '\0', "case %zu leaves ev filled", i);
    }

    /* too_large comes first, whatever the bytes */
    size_t big = CHISO_EVENT_MAX_BYTES + 1;
    char *buf = malloc(big);
    if (buf) {
        chiso_feedback_event ev;
        chiso_reject rej;
        memset(buf, ' ', big);
        memcpy(buf, "{" HEAD "\"type\":\"answered\"," AT "}",
               strlen("{" HEAD "\"type\":\"answered\"," AT "}"));
        CHECK(chiso_feedback_event_parse(buf, big, &ev, &rej) == CHISO_EINVAL &&
                  rej.reason == CHISO_REJECT_TOO_LARGE,
              "65537 bytes: %s", chiso_reject_code(rej.reason));
        /* at the limit the same record (with trailing blanks) is fine */
        CHECK(chiso_feedback_event_parse(buf, big - 1, &ev, &rej) == 0, "65536 bytes: %s",
              rej.detail);
        free(buf);
    }
    /* a NULL buffer is an empty payload; a NULL rej is allowed */
    chiso_feedback_event ev;
    CHECK_EQ_INT(chiso_feedback_event_parse(NULL, 0, &ev, NULL), CHISO_EINVAL, "NULL buffer");
}

/* ---- state ---------------------------------------------------------------- */

static chiso_feedback_event fev(chiso_feedback_type type, const char *at, const char *due,
                                bool satisfied)
{
    chiso_feedback_event e;
    memset(&e, 0, sizeof(e));
    e.type = type;
    strcpy(e.event_id, "e");
    strcpy(e.feedback_id, "F1");
    strcpy(e.unit, "U1");
    e.at = T(at);
    e.due_at = due ? T(due) : 0;
    e.satisfied = satisfied;
    return e;
}

static int encode(const chiso_feedback *f, unsigned char *buf)
{
    return chiso_feedback_encode(f, buf, CHISO_FEEDBACK_MAX_ENCODED);
}

/* Apply events in every order given by Heap's algorithm, each order twice
 * over (the second pass all duplicates): every order ends in the state of
 * `want`. Returns how many orders were tried. */
static int permute(chiso_feedback_event *evs, int n, int k, const chiso_feedback *want,
                   chiso_feedback *work)
{
    if (k == 1) {
        chiso_feedback_reset(work);
        for (int i = 0; i < n; i++)
            chiso_feedback_apply(work, &evs[i]);
        for (int i = 0; i < n; i++)
            CHECK(chiso_feedback_apply(work, &evs[i]) == 0, "a duplicate changed the state");
        CHECK(chiso_feedback_equal(work, want), "an order ends in another state");
        return 1;
    }
    int tried = permute(evs, n, k - 1, want, work);
    for (int i = 0; i < k - 1; i++) {
        int j = (k % 2 == 0) ? i : 0;
        chiso_feedback_event t = evs[j];
        evs[j] = evs[k - 1];
        evs[k - 1] = t;
        tried += permute(evs, n, k - 1, want, work);
    }
    return tried;
}

static void test_merge(void)
{
    /* two receipts (the earlier wins), a receipt at the same time with a
     * later due date (the smaller due wins the tie), two answers, and
     * ratings tied in time (not satisfied wins the tie) */
    chiso_feedback_event evs[] = {
        fev(CHISO_FB_RECEIVED, "2025-07-02T09:00:00+07:00", "2025-07-20T17:00:00+07:00", false),
        fev(CHISO_FB_RECEIVED, "2025-07-01T09:00:00+07:00", "2025-07-25T17:00:00+07:00", false),
        fev(CHISO_FB_RECEIVED, "2025-07-01T09:00:00+07:00", "2025-07-18T17:00:00+07:00", false),
        fev(CHISO_FB_ANSWERED, "2025-07-19T10:00:00+07:00", NULL, false),
        fev(CHISO_FB_ANSWERED, "2025-07-30T10:00:00+07:00", NULL, false),
        fev(CHISO_FB_RATED, "2025-08-01T10:00:00+07:00", NULL, true),
        fev(CHISO_FB_RATED, "2025-08-01T10:00:00+07:00", NULL, false),
    };
    int n = (int)(sizeof(evs) / sizeof(evs[0]));
    chiso_feedback *want = chiso_feedback_new(), *work = chiso_feedback_new();
    int32_t days[CHISO_FBC_COUNT];

    for (int i = 0; i < n; i++)
        chiso_feedback_apply(want, &evs[i]);
    CHECK_EQ_INT(permute(evs, n, n, want, work), 5040, "every order of 7 events");

    /* the winning facts: received 07-01 due 07-18, answered 07-19 (late),
     * rated 08-01 not satisfied */
    chiso_feedback_contrib(want, days);
    CHECK_EQ_INT(days[CHISO_FBC_RECEIVED], D("2025-07-01"), "earliest receipt");
    CHECK_EQ_INT(days[CHISO_FBC_ANSWERED_LATE], D("2025-07-19"), "earliest answer vs due 07-18");
    CHECK_EQ_INT(days[CHISO_FBC_ANSWERED_ON_TIME], CHISO_FB_NO_DAY, "not on time");
    CHECK_EQ_INT(days[CHISO_FBC_RATED], D("2025-08-01"), "rated");
    CHECK_EQ_INT(days[CHISO_FBC_SATISFIED], CHISO_FB_NO_DAY, "the tie goes to not satisfied");

    /* apply's return value: 1 when a fact changed, 0 otherwise */
    chiso_feedback_reset(work);
    CHECK(chiso_feedback_empty(work), "reset is empty");
    chiso_feedback_event later = evs[0], earlier = evs[1];
    CHECK_EQ_INT(chiso_feedback_apply(work, &later), 1, "first receipt");
    CHECK_EQ_INT(chiso_feedback_apply(work, &later), 0, "same receipt again");
    CHECK_EQ_INT(chiso_feedback_apply(work, &earlier), 1, "an earlier receipt replaces");
    CHECK_EQ_INT(chiso_feedback_apply(work, &later), 0, "a later receipt does not");
    chiso_feedback_event none = evs[0];
    none.type = CHISO_FB_NONE;
    CHECK_EQ_INT(chiso_feedback_apply(work, &none), 0, "type none adds nothing");
    CHECK(!chiso_feedback_empty(work), "not empty");

    chiso_feedback_free(want);
    chiso_feedback_free(work);
}

static void test_encoding(void)
{
    chiso_feedback *f = chiso_feedback_new(), *g = chiso_feedback_new();
    unsigned char buf[CHISO_FEEDBACK_MAX_ENCODED], buf2[CHISO_FEEDBACK_MAX_ENCODED];
    chiso_feedback_event evs[] = {
        fev(CHISO_FB_RATED, "2025-08-01T10:00:00+07:00", NULL, true),
        fev(CHISO_FB_ANSWERED, "2025-07-19T10:00:00+07:00", NULL, false),
        fev(CHISO_FB_RECEIVED, "2025-07-01T09:00:00+07:00", "2025-07-18T17:00:00+07:00", false),
    };
    int sizes[] = {2 + 8, 2 + 16, 2 + 32};

    int n = encode(f, buf);
    CHECK_EQ_INT(n, 2, "the empty state");
    CHECK(chiso_feedback_decode(g, buf, (size_t)n) == 0 && chiso_feedback_empty(g), "empty back");
    for (int i = 0; i < 3; i++) {
        chiso_feedback_apply(f, &evs[i]);
        n = encode(f, buf);
        CHECK_EQ_INT(n, sizes[i], "size with %d facts", i + 1);
        CHECK(chiso_feedback_decode(g, buf, (size_t)n) == 0, "decodes");
        CHECK(chiso_feedback_equal(f, g), "round trip with %d facts", i + 1);
        CHECK(encode(g, buf2) == n && memcmp(buf, buf2, (size_t)n) == 0, "same bytes");
    }
    CHECK_EQ_INT(chiso_feedback_encode(f, buf, 33), CHISO_ERANGE, "33 bytes are too few");
    CHECK(buf[0] == 0xF1 && buf[1] == 0x0f, "version byte and all four bits");

    /* bytes encode cannot have written */
    n = encode(f, buf);
    struct {
        int at;
        unsigned char value;
        int len_change;
        const char *why;
    } bad[] = {
        {0, 1, 0, "a dossier state's version byte"},
        {1, 0x1f, 0, "an unknown fact bit"},
        {1, 0x0b, 0, "satisfied without rated (and the length of rated)"},
        {1, 0x03, 0, "bits that need fewer bytes"},
        {-1, 0, -1, "one byte short"},
        {-1, 0, +1, "one byte more"},
        {2, 0x7f, 0, "a time past year 9999"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        unsigned char copy[CHISO_FEEDBACK_MAX_ENCODED + 1] = {0};
        memcpy(copy, buf, (size_t)n);
        if (bad[i].at >= 0)
            copy[bad[i].at] = bad[i].value;
        chiso_feedback_apply(g, &evs[0]);
        CHECK_EQ_INT(chiso_feedback_decode(g, copy, (size_t)(n + bad[i].len_change)), CHISO_ESTATE,
                     "%s", bad[i].why);
        CHECK(chiso_feedback_empty(g), "a failed decode leaves the state empty (%s)", bad[i].why);
    }
    CHECK_EQ_INT(chiso_feedback_decode(g, buf, 0), CHISO_ESTATE, "no bytes");
    /* satisfied, then a not-satisfied rating tied in time: the bit goes */
    chiso_feedback_event unsat = evs[0];
    unsat.satisfied = false;
    CHECK_EQ_INT(chiso_feedback_apply(f, &unsat), 1, "the tie goes to not satisfied");
    CHECK(encode(f, buf) == 2 + 32 && buf[1] == 0x07, "the satisfied bit is cleared");
    chiso_feedback_free(f);
    chiso_feedback_free(g);
}

/* ---- contributions -------------------------------------------------------- */

typedef struct fb_case {
    const char *name;
    const char *received_at, *due_at; /* NULL = no receipt */
    const char *answered_at;          /* NULL = not answered */
    const char *rated_at;             /* NULL = not rated */
    bool satisfied;
    /* the expected day of each counter, as "YYYY-MM-DD" or NULL */
    const char *day[CHISO_FBC_COUNT];
} fb_case;

static const fb_case contrib_cases[] = {
    {"received only: overdue from the day after due",
     "2025-07-01T09:00:00+07:00",
     "2025-07-15T17:00:00+07:00",
     NULL,
     NULL,
     false,
     {"2025-07-01", NULL, NULL, NULL, "2025-07-16", NULL, NULL, NULL}},
    {"answered on the due day itself: on time",
     "2025-07-01T09:00:00+07:00",
     "2025-07-15T08:00:00+07:00",
     "2025-07-15T23:59:59+07:00",
     NULL,
     false,
     {"2025-07-01", "2025-07-15", NULL, "2025-07-15", NULL, NULL, NULL, NULL}},
    {"answered at Vietnam midnight after the due day: late",
     "2025-07-01T09:00:00+07:00",
     "2025-07-15T08:00:00+07:00",
     "2025-07-15T17:00:00Z",
     NULL,
     false,
     {"2025-07-01", NULL, "2025-07-16", "2025-07-16", "2025-07-16", "2025-07-16", NULL, NULL}},
    {"same UTC day, different Vietnam days: late",
     "2025-07-01T09:00:00+07:00",
     "2025-07-15T20:00:00+07:00",
     "2025-07-16T05:00:00+07:00",
     NULL,
     false,
     {"2025-07-01", NULL, "2025-07-16", "2025-07-16", "2025-07-16", "2025-07-16", NULL, NULL}},
    {"received at 00:00 local belongs to that day (UTC says the day before)",
     "2025-06-30T17:00:00Z",
     "2025-07-01T16:59:59Z",
     "2025-07-01T16:59:59Z",
     NULL,
     false,
     {"2025-07-01", "2025-07-01", NULL, "2025-07-01", NULL, NULL, NULL, NULL}},
    {"answered late, after overdue began: both overdue counters",
     "2025-07-01T09:00:00+07:00",
     "2025-07-03T17:00:00+07:00",
     "2025-07-10T09:00:00+07:00",
     "2025-07-11T09:00:00+07:00",
     true,
     {"2025-07-01", NULL, "2025-07-10", "2025-07-10", "2025-07-04", "2025-07-10", "2025-07-11",
      "2025-07-11"}},
    {"received after its own due date: overdue from the receipt day",
     "2025-07-10T09:00:00+07:00",
     "2025-07-05T17:00:00+07:00",
     NULL,
     NULL,
     false,
     {"2025-07-10", NULL, NULL, NULL, "2025-07-10", NULL, NULL, NULL}},
    {"late answer before the late receipt: closed at the receipt, never open overdue",
     "2025-07-10T09:00:00+07:00",
     "2025-07-05T17:00:00+07:00",
     "2025-07-08T09:00:00+07:00",
     NULL,
     false,
     {"2025-07-10", NULL, "2025-07-08", "2025-07-10", NULL, NULL, NULL, NULL}},
    {"answered on the receipt day of a late receipt: overdue began and closed that day",
     "2025-07-10T09:00:00+07:00",
     "2025-07-05T17:00:00+07:00",
     "2025-07-10T15:00:00+07:00",
     NULL,
     false,
     {"2025-07-10", NULL, "2025-07-10", "2025-07-10", "2025-07-10", "2025-07-10", NULL, NULL}},
    {"answer and rating without the receipt: only the rating counts",
     NULL,
     NULL,
     "2025-07-10T09:00:00+07:00",
     "2025-09-30T17:00:00Z",
     true,
     {NULL, NULL, NULL, NULL, NULL, NULL, "2025-10-01", "2025-10-01"}},
    {"rated not satisfied at the end of a quarter",
     NULL,
     NULL,
     NULL,
     "2025-09-30T23:59:59+07:00",
     false,
     {NULL, NULL, NULL, NULL, NULL, NULL, "2025-09-30", NULL}},
};

static void test_contributions(void)
{
    chiso_feedback *f = chiso_feedback_new(), *empty = chiso_feedback_new();
    int32_t days[CHISO_FBC_COUNT];
    chiso_fb_delta deltas[CHISO_FB_DELTA_MAX];

    chiso_feedback_contrib(empty, days);
    for (int c = 0; c < CHISO_FBC_COUNT; c++)
        CHECK_EQ_INT(days[c], CHISO_FB_NO_DAY, "an empty state contributes nothing");
    for (size_t i = 0; i < sizeof(contrib_cases) / sizeof(contrib_cases[0]); i++) {
        const fb_case *k = &contrib_cases[i];
        chiso_feedback_event e;
        chiso_feedback_reset(f);
        if (k->received_at) {
            e = fev(CHISO_FB_RECEIVED, k->received_at, k->due_at, false);
            chiso_feedback_apply(f, &e);
        }
        if (k->answered_at) {
            e = fev(CHISO_FB_ANSWERED, k->answered_at, NULL, false);
            chiso_feedback_apply(f, &e);
        }
        if (k->rated_at) {
            e = fev(CHISO_FB_RATED, k->rated_at, NULL, k->satisfied);
            chiso_feedback_apply(f, &e);
        }
        chiso_feedback_contrib(f, days);
        int want_n = 0;
        for (int c = 0; c < CHISO_FBC_COUNT; c++) {
            int32_t want = k->day[c] ? D(k->day[c]) : CHISO_FB_NO_DAY;
            want_n += k->day[c] != NULL;
            CHECK(days[c] == want, "%s: %s on day %d, want %d", k->name,
                  chiso_fb_counter_name((chiso_fb_counter_id)c), days[c], want);
        }
        /* from nothing, the diff is +1 at every contribution */
        int n = chiso_feedback_diff(empty, f, deltas);
        CHECK_EQ_INT(n, want_n, "%s: diff from empty", k->name);
        for (int d = 0; d < n; d++)
            CHECK(deltas[d].delta == 1 && deltas[d].day == days[deltas[d].counter],
                  "%s: diff entry %d", k->name, d);
        CHECK_EQ_INT(chiso_feedback_diff(f, f, deltas), 0, "%s: no change, no diff", k->name);
    }

    /* an earlier receipt moves the receipt and the overdue start */
    chiso_feedback *old = chiso_feedback_new();
    chiso_feedback_event r1 =
        fev(CHISO_FB_RECEIVED, "2025-07-31T09:00:00+07:00", "2025-08-05T17:00:00+07:00", false);
    chiso_feedback_event r0 =
        fev(CHISO_FB_RECEIVED, "2025-07-30T09:00:00+07:00", "2025-08-04T17:00:00+07:00", false);
    chiso_feedback_apply(old, &r1);
    chiso_feedback_copy(f, old);
    chiso_feedback_apply(f, &r0);
    int n = chiso_feedback_diff(old, f, deltas);
    CHECK_EQ_INT(n, 4, "two counters move: four changes");
    int sum = 0;
    for (int d = 0; d < n; d++) {
        sum += deltas[d].delta;
        if (deltas[d].counter == CHISO_FBC_RECEIVED)
            CHECK(deltas[d].day == (deltas[d].delta < 0 ? D("2025-07-31") : D("2025-07-30")),
                  "received moves from 07-31 to 07-30");
        else
            CHECK(deltas[d].counter == CHISO_FBC_OVERDUE_BEGAN &&
                      deltas[d].day == (deltas[d].delta < 0 ? D("2025-08-06") : D("2025-08-05")),
                  "overdue start moves from 08-06 to 08-05");
    }
    CHECK_EQ_INT(sum, 0, "moves add up to nothing");
    chiso_feedback_free(old);
    chiso_feedback_free(f);
    chiso_feedback_free(empty);
}

static void test_counter_names(void)
{
    static const char *const want[CHISO_FBC_COUNT] = {
        "fb_received",      "fb_answered_on_time", "fb_answered_late", "fb_closed",
        "fb_overdue_began", "fb_overdue_closed",   "fb_rated",         "fb_satisfied"};
    for (int c = 0; c < CHISO_FBC_COUNT; c++) {
        CHECK_EQ_STR(chiso_fb_counter_name((chiso_fb_counter_id)c), want[c]);
        CHECK_EQ_INT(chiso_fb_counter_from_name(want[c]), c, "back from %s", want[c]);
        /* the period hashes hold dossier counters too: no name in common */
        CHECK_EQ_INT(chiso_counter_from_name(want[c]), -1, "%s is a dossier counter", want[c]);
    }
    for (int c = 0; c < CHISO_C_COUNT; c++)
        CHECK_EQ_INT(chiso_fb_counter_from_name(chiso_counter_name((chiso_counter_id)c)), -1,
                     "dossier counter %d", c);
    CHECK(chiso_fb_counter_name(CHISO_FBC_COUNT) == NULL, "out of range");
    CHECK_EQ_INT(chiso_fb_counter_from_name("received"), -1, "a dossier name");
    CHECK_EQ_INT(chiso_fb_counter_from_name(NULL), -1, "NULL");
}

int main(void)
{
    test_valid();
    test_serialize_limits();
    test_rejects();
    test_merge();
    test_encoding();
    test_contributions();
    test_counter_names();
    return CHECK_DONE();
}
