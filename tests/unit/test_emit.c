/*
 * test_emit.c - the exactly-once rule for class changes (emit.h), against a
 * model of everything that can happen around it.
 *
 * One dossier's records sit at offsets 0..n-1 of one partition; its class
 * after the first k records is a random sequence (none until submitted,
 * then any class, provisional or not). A model process consumes them in
 * random batches, keeps the state (how many records it holds, the pub
 * record) in a model Redis, and emits through the rule into a model Kafka
 * transaction. Between batches, at random: the transaction commits (its
 * outputs become visible, the committed offset moves), or aborts, or the
 * process crashes (the open transaction dies, consumption resumes at the
 * committed offset), or Redis's disk is copied, or Redis comes back from
 * that older copy (the process then aborts and resumes at the lower of the
 * marker and the committed offset, as chiso-classify does). At the end
 * everything is consumed and committed, and what a read_committed consumer
 * saw must be one chain: the first change follows "none", each follows the
 * one before, none repeats its predecessor, and the last is the final class.
 * Also a few hand-made cases of the rule itself.
 */
#include <stdint.h>
#include <stdlib.h>

#include "check.h"
#include "chiso/emit.h"

#define NREC  40
#define NOUT  4096
#define SEEDS 20000

typedef struct rstate {
    int held; /* records 0..held-1 applied */
    chiso_pub pub;
} rstate;

typedef struct change {
    uint8_t prev, cls;
} change;

static uint32_t rng;
static uint32_t rnd(uint32_t n)
{
    rng = rng * 1664525u + 1013904223u;
    return (rng >> 8) % n;
}

/* One run; returns 0 when the committed outputs form the chain. */
static int run(uint32_t seed, int verbose)
{
    uint8_t cls_after[NREC + 1]; /* cls_after[k]: the class with k records */
    change out[NOUT], txn[NOUT];
    int nout = 0, ntxn = 0;
    rng = seed;
    int submitted = (int)rnd(3) + 1;
    cls_after[0] = 0;
    for (int k = 1; k <= NREC; k++) {
        if (k < submitted)
            cls_after[k] = 0;
        else if (rnd(3) == 0 || k == submitted)
            cls_after[k] = chiso_pub_class((chiso_class)(rnd(3) + 1), rnd(2));
        else
            cls_after[k] = cls_after[k - 1];
    }
    rstate redis = {0, {false, 0, 0, -1, -1}}, disk = redis;
    /* what the process read from the topic after Redis lost writes */
    bool told_known = false;
    uint8_t told = 0;
    int64_t told_before = -1;
    int64_t committed = -1; /* nothing committed yet: every record is high */
    int pos = 0;
    for (int step = 0; step < 400 && (pos < NREC || ntxn > 0); step++) {
        uint32_t act = rnd(10);
        if (getenv("EMIT_TRACE") && (uint32_t)atoi(getenv("EMIT_TRACE")) == seed && act <= 3)
            fprintf(stderr, "action %u (pos %d, committed %lld, held %d, disk %d)\n", act, pos,
                    (long long)committed, redis.held, disk.held);
        switch (act) {
        case 0: /* commit (offsets never go back: a rewind below them commits nothing) */
            for (int i = 0; i < ntxn; i++)
                out[nout++] = txn[i];
            ntxn = 0;
            committed = pos > committed ? pos : committed;
            continue;
        case 1: /* abort or crash: the transaction dies, resume at the commit */
            ntxn = 0;
            pos = committed < 0 ? 0 : (int)committed;
            continue;
        case 2: /* Redis's disk as it is now */
            disk = redis;
            continue;
        case 3: /* Redis comes back from its disk: rewind to the marker */
            if (rnd(2) == 0) {
                redis = disk;
                ntxn = 0;
                /* the marker: at most the records it holds (a later batch's
                 * writes may have survived without their marker) */
                int marker = redis.held - (int)rnd(3);
                int back = committed < 0 ? 0 : (int)committed;
                marker = marker < 0 ? 0 : marker;
                pos = marker < back ? marker : back;
                /* and reads what the consumer saw */
                told_known = true;
                told = nout ? out[nout - 1].cls : 0;
                told_before = committed;
            }
            continue;
        default:
            break;
        }
        if (pos >= NREC)
            continue;
        int k = (int)rnd(4) + 1;
        if (pos + k > NREC)
            k = NREC - pos;
        /* the batch [pos, pos + k): records below `held` are fenced */
        int64_t b = committed < 0 ? -1 : committed;
        chiso_emit_input in = {
            .old = redis.pub,
            .old_class = cls_after[redis.held],
            .boundary = b,
            .any_high = pos + k - 1 >= b,
            .min_high = pos > b ? pos : b,
            .max_offset = pos + k - 1,
            .told_known = told_known,
            .told = told,
            .told_before = told_before,
        };
        int held = redis.held > pos + k ? redis.held : pos + k;
        in.new_class = cls_after[held];
        chiso_emit e;
        chiso_emit_decide(&in, &e);
        if (e.emit)
            txn[ntxn++] = (change){e.prev, e.cls};
        if (getenv("EMIT_TRACE") && (uint32_t)atoi(getenv("EMIT_TRACE")) == seed)
            fprintf(stderr,
                    "batch [%d,%d) B=%lld held %d->%d old{%d %#x %#x %lld} new %#x -> emit %d "
                    "%#x->%#x pub{%#x %#x %lld}\n",
                    pos, pos + k, (long long)b, redis.held, held, in.old.known, in.old.cls,
                    in.old.prev, (long long)in.old.offset, in.new_class, e.emit, e.prev, e.cls,
                    e.pub.cls, e.pub.prev, (long long)e.pub.offset);
        redis.held = held;
        redis.pub = e.pub;
        pos += k;
        if (ntxn >= NOUT - 64 || nout >= NOUT - 64)
            break;
    }
    /* the end: everything consumed and committed, without further faults */
    while (pos < NREC || ntxn > 0) {
        if (pos < NREC) {
            int64_t b = committed < 0 ? -1 : committed;
            chiso_emit_input in = {.old = redis.pub,
                                   .old_class = cls_after[redis.held],
                                   .boundary = b,
                                   .any_high = pos >= b,
                                   .min_high = pos > b ? pos : b,
                                   .max_offset = pos,
                                   .told_known = told_known,
                                   .told = told,
                                   .told_before = told_before};
            int held = redis.held > pos + 1 ? redis.held : pos + 1;
            in.new_class = cls_after[held];
            chiso_emit e;
            chiso_emit_decide(&in, &e);
            if (e.emit)
                txn[ntxn++] = (change){e.prev, e.cls};
            redis.held = held;
            redis.pub = e.pub;
            pos++;
        }
        if (pos >= NREC) {
            for (int i = 0; i < ntxn; i++)
                out[nout++] = txn[i];
            ntxn = 0;
            committed = pos;
        }
    }
    /* the chain */
    int bad = 0;
    uint8_t last = 0;
    for (int i = 0; i < nout; i++) {
        if (out[i].prev != last || out[i].cls == out[i].prev)
            bad = 1;
        last = out[i].cls;
    }
    if (last != cls_after[NREC])
        bad = 1;
    if (bad && verbose) {
        fprintf(stderr, "seed %u: final class %#x, committed changes:", seed, cls_after[NREC]);
        for (int i = 0; i < nout; i++)
            fprintf(stderr, " %#x->%#x", out[i].prev, out[i].cls);
        fputc('\n', stderr);
    }
    return bad;
}

static void hand_made(void)
{
    uint8_t full = chiso_pub_class(CHISO_CLASS_FULL_PROCESS, true);
    uint8_t part = chiso_pub_class(CHISO_CLASS_PARTIAL, false);
    chiso_emit e;

    /* a new dossier in a live batch: none -> full (provisional) */
    chiso_emit_input in = {.old = {false, 0, 0, -1, -1},
                           .boundary = 100,
                           .any_high = true,
                           .min_high = 100,
                           .max_offset = 104,
                           .new_class = full};
    chiso_emit_decide(&in, &e);
    CHECK(e.emit && e.prev == 0 && e.cls == full, "first change");
    CHECK(e.pub.known && e.pub.cls == full && e.pub.prev == 0 && e.pub.offset == 104,
          "pub after the first change");

    /* the same transaction changes it again: follows full, consumer still saw none */
    in = (chiso_emit_input){.old = e.pub,
                            .old_class = full,
                            .boundary = 100,
                            .any_high = true,
                            .min_high = 105,
                            .max_offset = 107,
                            .new_class = part};
    chiso_emit_decide(&in, &e);
    CHECK(e.emit && e.prev == full && e.cls == part, "second change in the open transaction");
    CHECK(e.pub.prev == 0 && e.pub.offset == 107, "the consumer has still seen none");

    /* that transaction died: the replay re-reads 104 (fenced), class part */
    in = (chiso_emit_input){.old = e.pub,
                            .old_class = part,
                            .boundary = 100,
                            .any_high = true,
                            .min_high = 100,
                            .max_offset = 104,
                            .new_class = part};
    chiso_emit_decide(&in, &e);
    CHECK(e.emit && e.prev == 0 && e.cls == part, "a replay emits none -> part once");

    /* committed since: a batch adding nothing emits nothing */
    in = (chiso_emit_input){.old = e.pub,
                            .old_class = part,
                            .boundary = 200,
                            .any_high = true,
                            .min_high = 200,
                            .max_offset = 201,
                            .new_class = part};
    chiso_emit_decide(&in, &e);
    CHECK(!e.emit, "nothing new, nothing emitted");

    /* records below the boundary only (Redis lost them): silent */
    in = (chiso_emit_input){.old = {false, 0, 0, -1, -1},
                            .boundary = 200,
                            .any_high = false,
                            .max_offset = 150,
                            .new_class = part,
                            .told_known = true,
                            .told = full,
                            .told_before = 200};
    chiso_emit_decide(&in, &e);
    CHECK(!e.emit && e.pub.known && e.pub.cls == full && e.pub.offset == 150,
          "a replay of committed records emits nothing and remembers what was told");
    /* the next live batch follows what was told */
    in = (chiso_emit_input){.old = e.pub,
                            .old_class = part,
                            .boundary = 200,
                            .any_high = true,
                            .min_high = 200,
                            .max_offset = 203,
                            .new_class = part,
                            .told_known = true,
                            .told = full,
                            .told_before = 200};
    chiso_emit_decide(&in, &e);
    CHECK(e.emit && e.prev == full && e.cls == part, "the change follows the class told");
}

int main(void)
{
    hand_made();
    int failed = 0;
    for (uint32_t seed = 1; seed <= SEEDS; seed++)
        failed += run(seed, failed < 5);
    CHECK_EQ_INT(0, failed, "runs whose committed changes are not one chain, of %d", SEEDS);
    return CHECK_DONE();
}
