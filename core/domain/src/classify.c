/*
 * classify.c - the full-process online rule, checkable line by line
 * against Decision 1042/QĐ-UBND Article 1 (DOMAIN.md):
 *
 *   A dossier is processed full-process online only when ALL hold:
 *   1. submitted online;
 *   2. where a fee or charge applies, paid online through the national
 *      portal's payment platform (a provincial gateway does not qualify);
 *   3. received, processed and resolved with an electronic result;
 *   4. the result returned online; a paper copy, if asked for, goes by
 *      public postal service (online + postal copy qualifies, a counter
 *      pick-up does not);
 *   5. the applicant was never required to come in person or submit paper,
 *      and the agency needed no on-site verification.
 *   Any other online dossier is partial; a dossier submitted at the counter
 *   or by post is offline.
 *
 * Reading of the `returned` event (CONTRACT.md: `delivery`, `paper_copy`):
 * delivery "online" returns the result online (a paper copy then travels by
 * post); delivery "postal" with paper_copy is the electronic result plus its
 * postal paper copy; delivery "postal" without paper_copy returned only
 * paper; "counter" is a counter pick-up. docs/classification.md says the
 * same with examples.
 */
#include "chiso/classify.h"

chiso_class chiso_classify(const chiso_class_facts *f, unsigned *failed)
{
    unsigned fail = 0;

    if (f->channel == CHISO_CHANNEL_UNKNOWN) {
        if (failed)
            *failed = 0;
        return CHISO_CLASS_NONE;
    }

    /* 1. submitted online */
    if (f->channel != CHISO_CHANNEL_ONLINE)
        fail |= CHISO_FAIL_NOT_ONLINE;

    /* 2. a fee paid other than through the national platform fails at once;
     * a fee still unpaid fails once the result has been returned. */
    if (f->fee_due) {
        unsigned other =
            f->paid_methods & ~(1u << CHISO_PAY_DVCQG_PLATFORM) & ~(1u << CHISO_PAY_NONE);
        bool platform = f->paid_methods & (1u << CHISO_PAY_DVCQG_PLATFORM);
        if (other || (f->returned && !platform))
            fail |= CHISO_FAIL_PAYMENT;
    }

    /* 3. resolved with an electronic result */
    if (f->resolved && !f->e_result)
        fail |= CHISO_FAIL_NO_E_RESULT;

    /* 4. returned online (a postal paper copy beside it is fine) */
    if (f->returned) {
        bool online_return = f->delivery == CHISO_DELIVERY_ONLINE ||
                             (f->delivery == CHISO_DELIVERY_POSTAL && f->paper_copy);
        if (!online_return)
            fail |= CHISO_FAIL_RETURN;
    }

    /* 5. no in-person visit, paper submission or on-site verification */
    if (f->requirement_kinds)
        fail |= CHISO_FAIL_REQUIREMENT;

    if (failed)
        *failed = fail;
    if (fail & CHISO_FAIL_NOT_ONLINE)
        return CHISO_CLASS_OFFLINE;
    return fail ? CHISO_CLASS_PARTIAL : CHISO_CLASS_FULL_PROCESS;
}

const char *chiso_class_name(chiso_class c)
{
    switch (c) {
    case CHISO_CLASS_FULL_PROCESS:
        return "full_process";
    case CHISO_CLASS_PARTIAL:
        return "partial";
    case CHISO_CLASS_OFFLINE:
        return "offline";
    default:
        return "none";
    }
}
