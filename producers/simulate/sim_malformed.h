/*
 * sim_malformed.h - invalid dossier-event records for the dead-letter path.
 *
 * Each record is built from a good event with exactly ONE defect, so the
 * contract's dead-letter reason it must get is unambiguous: json_syntax
 * (truncated, not JSON, trailing data, an array, single quotes, a raw
 * control byte), missing_field (one required field dropped), bad_value (one
 * field with a wrong type or an impossible value), unknown_type, and rarely
 * too_large (> 64 KiB). The simulator checks every record with
 * chiso_event_parse() before sending it.
 */
#ifndef CHISO_SIM_MALFORMED_H
#define CHISO_SIM_MALFORMED_H

#include <stddef.h>

#include "chiso/event.h"
#include "sim_model.h"

/* Room a caller must give sim_malformed_make(). */
#define SIM_MALFORMED_MAX (80 * 1024)

/* Write one malformed record derived from `ev` into buf (size >=
 * SIM_MALFORMED_MAX, not NUL-terminated, never contains '\n'). Sets *reason
 * to the dead-letter reason it must get. Returns its length. */
size_t sim_malformed_make(sim_rng *r, const chiso_event *ev, char *buf, size_t size,
                          chiso_reject_reason *reason);

#endif
