/*
 * emit.h - the rule that publishes each class change of a dossier to
 * dossier.classified exactly once for read_committed consumers
 * (docs/contract.md), whatever crashes, aborted transactions and Redis
 * rollbacks come between.
 *
 * chiso-classify writes its outputs in Kafka transactions that also commit
 * its consumer offsets: the outputs of the records before a partition's
 * committed offset B are committed, those of the records from B on are not
 * (yet). A dossier's state remembers the change it emitted last (chiso_pub:
 * its class; the class a read_committed consumer had seen before the
 * transaction that carried it; the offset of that batch's last record). So,
 * applying a batch of the dossier's records, the rule tells what such a
 * consumer has seen last (committed) and what the next change must follow
 * (chain):
 *   - the last emission, for both, when its offset is below B (committed);
 *   - the class seen before it, for both, when its offset is from B on and
 *     the batch reads a record at or below that offset again (or only
 *     records below B): the transaction that carried it never committed,
 *     and this is the replay;
 *   - otherwise the emission is in the transaction still open, which
 *     commits together with this batch's outputs: the next change follows
 *     it, while the consumer has still seen the class before it.
 * It emits one change, chain -> the class after the batch, when they differ
 * and the batch holds a record from B on; records all below B (a replay
 * after Redis lost writes) emit nothing. When Redis lost writes, what it
 * kept of a dossier may be older than what the consumer saw: the stage
 * then reads the consumer's view from dossier.classified itself (`told`),
 * which overrides what a state says of an emission whose transaction
 * began before that read.
 * A pure function of its input.
 */
#ifndef CHISO_EMIT_H
#define CHISO_EMIT_H

#include <stdbool.h>
#include <stdint.h>

#include "chiso/dossier.h"

typedef struct chiso_emit_input {
    chiso_pub old;       /* of the state the batch merges over */
    uint8_t old_class;   /* that state's class (chiso_pub_class), NONE when empty */
    int64_t boundary;    /* the partition's committed offset (-1: none) */
    bool any_high;       /* the batch holds a record at or above the boundary */
    int64_t min_high;    /* ... the lowest such offset */
    int64_t max_offset;  /* the highest offset of the dossier's records in the batch */
    uint8_t new_class;   /* the class after the batch */
    bool told_known;     /* dossier.classified was read after Redis lost writes: */
    uint8_t told;        /* ... the class its last committed record gives */
    int64_t told_before; /* ... and the committed offset then: a pub emitted in a
                          * transaction that began below it predates the read */
} chiso_emit_input;

typedef struct chiso_emit {
    bool emit;         /* publish the change prev -> cls */
    uint8_t prev, cls; /* chiso_pub_class() values; prev NONE: "previous": null */
    chiso_pub pub;     /* what the state keeps from now on */
} chiso_emit;

void chiso_emit_decide(const chiso_emit_input *in, chiso_emit *out);

#endif
