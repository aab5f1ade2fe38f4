/*
 * scoredoc.h - chiso-score's input documents (docs/scoring.md): one JSON
 * object with a unit, a period and its counts or the portal's figures.
 */
#ifndef CHISO_SCOREDOC_H
#define CHISO_SCOREDOC_H

#include <stddef.h>
#include <stdint.h>

#include "chiso/score.h"
#include "chiso/snapshot.h"

/* Parse a chiso-score input document (docs/scoring.md): one JSON object
 * with the unit's metadata, the period, as_of (default `now`, epoch
 * seconds), the snapshot counts and either the score inputs or the
 * portal's per-indicator figures ("indicators": {"1": {"num": n, "den":
 * d}, ...}, null/null for not applicable; in->figures is then set). Fills *snap (unit,
 * period, as_of, counts; score and rank left absent) and *in. Returns 0,
 * or CHISO_EINVAL with a sentence naming the field and the problem in
 * errstr. Unknown fields are errors. */
int chiso_score_doc_parse(const char *buf, size_t len, int64_t now, chiso_snapshot *snap,
                          chiso_score_input *in, char *errstr, size_t errstr_size);

#endif
