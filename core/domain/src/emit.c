/*
 * emit.c - publishing each class change exactly once (emit.h).
 */
#include "chiso/emit.h"

#include "chiso/classify.h"

void chiso_emit_decide(const chiso_emit_input *in, chiso_emit *out)
{
    const chiso_pub *old = &in->old;
    /* the last emission's transaction: committed, dead (this batch reads
     * its records again) or still open */
    bool late = old->known && old->offset >= in->boundary;
    bool dead = late && (!in->any_high || in->min_high <= old->offset);
    bool open = late && !dead;
    /* committed: what a read_committed consumer has seen of the dossier;
     * chain: the class the next change follows */
    uint8_t committed = !old->known ? in->old_class : late ? old->prev : old->cls;
    /* the consumer's view read from the topic beats any emission of a
     * transaction that began before that read */
    bool told = in->told_known && (!old->known || old->boundary < in->told_before);
    if (told)
        committed = in->told;
    uint8_t chain = open ? old->cls : committed;

    out->emit = false;
    out->prev = chain;
    out->cls = in->new_class;
    out->pub = *old;
    /* a change is remembered at the batch that emitted it: a replay of its
     * transaction reads that batch's last record again */
    chiso_pub refreshed = {.known = true,
                           .cls = committed,
                           .prev = committed,
                           .offset = in->max_offset,
                           .boundary = in->boundary};
    if (!in->any_high) {
        out->pub = refreshed; /* only committed records: remember what was told */
        return;
    }
    if (in->new_class != chain && (in->new_class & ~CHISO_PUB_PROVISIONAL) != CHISO_CLASS_NONE) {
        out->emit = true;
        out->pub = (chiso_pub){.known = true,
                               .cls = in->new_class,
                               .prev = committed,
                               .offset = in->max_offset,
                               .boundary = in->boundary};
    } else if (dead || told) {
        out->pub = refreshed; /* what a dead transaction carried is void */
    }
}
