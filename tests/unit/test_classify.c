/*
 * test_classify.c - the full-process rule, table-driven: a full-process
 * baseline, then each of the five conditions of Decision 1042 failing alone,
 * and the provisional cases where a missing fact must not disqualify.
 */
#include "chiso/classify.h"

/* Each case starts from the full-process baseline and overrides one field on
 * purpose: that is the point of the table. */
#if defined(__clang__)
#pragma clang diagnostic ignored "-Winitializer-overrides"
#else
#pragma GCC diagnostic ignored "-Woverride-init"
#endif

#include "check.h"

#define PAY(m) (1u << (m))
#define REQ(k) (1u << (k))

/* The baseline: online, fee paid on the national platform, e-result,
 * returned online. */
#define FULL                                                                                       \
    .channel = CHISO_CHANNEL_ONLINE, .fee_due = true,                                              \
    .paid_methods = PAY(CHISO_PAY_DVCQG_PLATFORM), .resolved = true, .e_result = true,             \
    .returned = true, .delivery = CHISO_DELIVERY_ONLINE

static const struct {
    const char *name;
    chiso_class_facts facts;
    chiso_class want;
    unsigned want_fail;
} cases[] = {
    {"baseline full process", {FULL}, CHISO_CLASS_FULL_PROCESS, 0},
    {"no submitted event yet", {.channel = CHISO_CHANNEL_UNKNOWN}, CHISO_CLASS_NONE, 0},
    /* 1. submitted online */
    {"1: submitted at the counter",
     {FULL, .channel = CHISO_CHANNEL_DIRECT},
     CHISO_CLASS_OFFLINE,
     CHISO_FAIL_NOT_ONLINE},
    {"1: submitted by post",
     {FULL, .channel = CHISO_CHANNEL_POSTAL},
     CHISO_CLASS_OFFLINE,
     CHISO_FAIL_NOT_ONLINE},
    /* 2. payment through the national platform */
    {"2: paid through the provincial gateway",
     {FULL, .paid_methods = PAY(CHISO_PAY_PROVINCIAL_GATEWAY)},
     CHISO_CLASS_PARTIAL,
     CHISO_FAIL_PAYMENT},
    {"2: paid in cash",
     {FULL, .paid_methods = PAY(CHISO_PAY_CASH)},
     CHISO_CLASS_PARTIAL,
     CHISO_FAIL_PAYMENT},
    {"2: paid by bank transfer",
     {FULL, .paid_methods = PAY(CHISO_PAY_BANK_TRANSFER)},
     CHISO_CLASS_PARTIAL,
     CHISO_FAIL_PAYMENT},
    {"2: platform and gateway both used",
     {FULL, .paid_methods = PAY(CHISO_PAY_DVCQG_PLATFORM) | PAY(CHISO_PAY_PROVINCIAL_GATEWAY)},
     CHISO_CLASS_PARTIAL,
     CHISO_FAIL_PAYMENT},
    {"2: fee due, returned, never paid",
     {FULL, .paid_methods = 0},
     CHISO_CLASS_PARTIAL,
     CHISO_FAIL_PAYMENT},
    {"2: fee due, not paid yet, not returned: provisional full",
     {FULL, .paid_methods = 0, .returned = false, .delivery = CHISO_DELIVERY_NONE},
     CHISO_CLASS_FULL_PROCESS,
     0},
    {"2: no fee, paid in cash anyway (zero amount)",
     {FULL, .fee_due = false, .paid_methods = PAY(CHISO_PAY_CASH)},
     CHISO_CLASS_FULL_PROCESS,
     0},
    {"2: no fee, no payment",
     {FULL, .fee_due = false, .paid_methods = 0},
     CHISO_CLASS_FULL_PROCESS,
     0},
    /* 3. electronic result */
    {"3: resolved without e-result",
     {FULL, .e_result = false},
     CHISO_CLASS_PARTIAL,
     CHISO_FAIL_NO_E_RESULT},
    {"3: not resolved yet: provisional full",
     {FULL, .resolved = false, .e_result = false, .returned = false,
      .delivery = CHISO_DELIVERY_NONE},
     CHISO_CLASS_FULL_PROCESS,
     0},
    /* 4. returned online; postal paper copy allowed, counter pick-up not */
    {"4: online result plus postal paper copy",
     {FULL, .delivery = CHISO_DELIVERY_POSTAL, .paper_copy = true},
     CHISO_CLASS_FULL_PROCESS,
     0},
    {"4: returned online with a paper copy",
     {FULL, .paper_copy = true},
     CHISO_CLASS_FULL_PROCESS,
     0},
    {"4: counter pick-up",
     {FULL, .delivery = CHISO_DELIVERY_COUNTER},
     CHISO_CLASS_PARTIAL,
     CHISO_FAIL_RETURN},
    {"4: counter pick-up of a paper copy",
     {FULL, .delivery = CHISO_DELIVERY_COUNTER, .paper_copy = true},
     CHISO_CLASS_PARTIAL,
     CHISO_FAIL_RETURN},
    {"4: paper result by post only",
     {FULL, .delivery = CHISO_DELIVERY_POSTAL},
     CHISO_CLASS_PARTIAL,
     CHISO_FAIL_RETURN},
    /* 5. no in-person, paper or on-site requirement, each kind */
    {"5: required in person",
     {FULL, .requirement_kinds = REQ(CHISO_REQ_IN_PERSON)},
     CHISO_CLASS_PARTIAL,
     CHISO_FAIL_REQUIREMENT},
    {"5: required paper submission",
     {FULL, .requirement_kinds = REQ(CHISO_REQ_PAPER_SUBMISSION)},
     CHISO_CLASS_PARTIAL,
     CHISO_FAIL_REQUIREMENT},
    {"5: required field verification",
     {FULL, .requirement_kinds = REQ(CHISO_REQ_FIELD_VERIFICATION)},
     CHISO_CLASS_PARTIAL,
     CHISO_FAIL_REQUIREMENT},
    /* several at once */
    {"2+3+4+5 together",
     {FULL, .paid_methods = PAY(CHISO_PAY_CASH), .e_result = false,
      .delivery = CHISO_DELIVERY_COUNTER, .requirement_kinds = REQ(CHISO_REQ_IN_PERSON)},
     CHISO_CLASS_PARTIAL,
     CHISO_FAIL_PAYMENT | CHISO_FAIL_NO_E_RESULT | CHISO_FAIL_RETURN | CHISO_FAIL_REQUIREMENT},
    {"offline with every other condition failing too",
     {FULL, .channel = CHISO_CHANNEL_DIRECT, .delivery = CHISO_DELIVERY_COUNTER},
     CHISO_CLASS_OFFLINE,
     CHISO_FAIL_NOT_ONLINE | CHISO_FAIL_RETURN},
    {"just submitted online", {.channel = CHISO_CHANNEL_ONLINE}, CHISO_CLASS_FULL_PROCESS, 0},
};

int main(void)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        unsigned failed = 0xffff;
        chiso_class got = chiso_classify(&cases[i].facts, &failed);
        CHECK(got == cases[i].want, "%s: class %s, want %s", cases[i].name, chiso_class_name(got),
              chiso_class_name(cases[i].want));
        CHECK(failed == cases[i].want_fail, "%s: failed bits 0x%x, want 0x%x", cases[i].name,
              failed, cases[i].want_fail);
        CHECK(chiso_classify(&cases[i].facts, NULL) == got, "%s: NULL failed pointer",
              cases[i].name);
    }
    CHECK_EQ_STR(chiso_class_name(CHISO_CLASS_FULL_PROCESS), "full_process", "name");
    CHECK_EQ_STR(chiso_class_name(CHISO_CLASS_PARTIAL), "partial", "name");
    CHECK_EQ_STR(chiso_class_name(CHISO_CLASS_OFFLINE), "offline", "name");
    return CHECK_DONE();
}
