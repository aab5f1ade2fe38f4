/*
 * gen.h - seeded random streams of dossier events for property tests.
 *
 * A stream is a few hundred dossiers of a few units, over a window of about
 * a month that straddles a month, quarter or year boundary, built to reach
 * every event type and every path of the rules: supplement cycles 0, 1, 2
 * and more (requests in time and late, receipts and open waits), fees (zero
 * and positive) and every payment method, every requirement kind, every
 * delivery, withdrawn / stopped / not accepted dossiers, dossiers returned
 * without a resolution (or returned before it), dossiers still open (so
 * open across the boundary), complaints and dislikes, due dates before and
 * after the reception, dossiers without a submitted or a received event,
 * events out of lifecycle order, times near local midnight, and corrections
 * (a second occurrence of a single fact with other content, at the same or
 * another instant, under a new event id).
 *
 * The events are then put in an arrival order: roughly by time, some late
 * by days, some duplicated (same event id and content), some moved at
 * random, and for some seeds fully shuffled. Everything depends only on
 * the seed and the parameters.
 */
#ifndef CHISO_GEN_H
#define CHISO_GEN_H

#include <stdbool.h>
#include <stdint.h>

#include "chiso/catalog.h"
#include "chiso/event.h"

typedef struct gen_params {
    uint64_t seed;
    int dossiers; /* >= 1 */
    int units;    /* 1 .. 99 */
} gen_params;

/* A procedure of the stream. Procedures not in the catalog exist too: their
 * dossiers have an unknown service level and require no paper result. */
typedef struct gen_procedure {
    char code[CHISO_CODE_MAX + 1];
    chiso_service_level level;
    bool in_catalog;
    bool fee;
    bool paper_result_required; /* false when not in the catalog */
} gen_procedure;

typedef struct gen_stream {
    chiso_event *ev; /* arrival order */
    int nev;
    int distinct;   /* events with distinct ids */
    int duplicates; /* extra copies */
    gen_procedure *procs;
    int nprocs;
    char (*units)[CHISO_CODE_MAX + 1];
    int nunits;
    char province[CHISO_CODE_MAX + 1];
    int32_t first_day; /* window: first local day of a submission */
    int days;          /* window length */
} gen_stream;

/* Generate the stream of `p` into *out (overwritten). Returns 0 or
 * CHISO_ENOMEM / CHISO_EINVAL. Release with gen_stream_clear(). */
int gen_stream_make(const gen_params *p, gen_stream *out);
void gen_stream_clear(gen_stream *s);

/* A procedure's catalog.procedures record (CONTRACT.md), offered by every
 * unit (nunits 0: nothing to clear). */
void gen_procedure_record(const gen_procedure *proc, chiso_procedure *out);

#endif
