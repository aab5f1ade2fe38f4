/*
 * classify.h - the full-process online rule (Decision 1042/QĐ-UBND Art. 1,
 * restating Decree 42/2022), in one function.
 *
 * The rule reads a summary of the facts a dossier has received so far. A
 * fact not yet received never disqualifies: until the dossier is returned
 * its class is provisional and may change as events arrive.
 */
#ifndef CHISO_CLASSIFY_H
#define CHISO_CLASSIFY_H

#include <stdbool.h>
#include <stdint.h>

#include "chiso/event.h"

typedef enum chiso_class {
    CHISO_CLASS_NONE = 0,     /* no `submitted` event yet: channel unknown */
    CHISO_CLASS_FULL_PROCESS, /* toàn trình */
    CHISO_CLASS_PARTIAL,      /* một phần */
    CHISO_CLASS_OFFLINE,      /* submitted at the counter or by post */
} chiso_class;

/* Which condition of the rule failed (bit set), for explanations. */
enum {
    CHISO_FAIL_NOT_ONLINE = 1 << 0,  /* 1. not submitted online */
    CHISO_FAIL_PAYMENT = 1 << 1,     /* 2. fee not paid through the national platform */
    CHISO_FAIL_NO_E_RESULT = 1 << 2, /* 3. resolved without an electronic result */
    CHISO_FAIL_RETURN = 1 << 3,      /* 4. result not returned online (counter, post only) */
    CHISO_FAIL_REQUIREMENT = 1 << 4, /* 5. in person, paper or on-site verification needed */
};

/* What the rule needs to know about a dossier (plain value struct, filled
 * from the dossier state by chiso_dossier_facts()). */
typedef struct chiso_class_facts {
    chiso_channel channel;      /* from `submitted`; UNKNOWN when not received */
    bool fee_due;               /* some `fee_requested` with amount > 0 */
    unsigned paid_methods;      /* bit (1 << chiso_pay_method) per `paid` method seen */
    bool resolved;              /* a `resolved` event was received */
    bool e_result;              /* ... and it carried an electronic result */
    bool returned;              /* a `returned` event was received */
    chiso_delivery delivery;    /* ... and how the result went */
    bool paper_copy;            /* ... and a paper copy was asked for */
    unsigned requirement_kinds; /* bit (1 << chiso_requirement_kind) per `requirement` */
} chiso_class_facts;

/* Classify. *failed (may be NULL) receives the CHISO_FAIL_* bits of every
 * condition that failed. */
chiso_class chiso_classify(const chiso_class_facts *f, unsigned *failed);

/* A class and its provisional flag in one byte (the form dossier states
 * keep of what was published): the class, | CHISO_PUB_PROVISIONAL. */
#define CHISO_PUB_PROVISIONAL 0x80
static inline uint8_t chiso_pub_class(chiso_class c, bool provisional)
{
    return (uint8_t)((unsigned)c | (provisional ? CHISO_PUB_PROVISIONAL : 0));
}

/* "full_process", "partial", "offline" or "none". */
const char *chiso_class_name(chiso_class c);

#endif
