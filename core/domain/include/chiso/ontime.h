/*
 * ontime.h - the on-time rule (Decision 766, indicator 5; docs/ontime.md),
 * as one pure function of a dossier's facts.
 *
 * A dossier's first overdue day B is the first Vietnam local day on which it
 * is late if still open. It depends on the received day, the due day and the
 * supplement requests and receipts only, never on the order they arrived in.
 * B = CHISO_ONTIME_NEVER (INT32_MAX) when the dossier cannot become overdue:
 * it waits on a single supplement request that was made in time.
 *
 * Every other judgement follows from B: resolved on time when the resolved
 * day is before B; open and overdue on day E when E >= B.
 */
#ifndef CHISO_ONTIME_H
#define CHISO_ONTIME_H

#include <stdbool.h>
#include <stdint.h>

#define CHISO_ONTIME_NEVER INT32_MAX /* B of a dossier that cannot become overdue */

/* The first overdue day B of a received dossier (docs/ontime.md).
 * received_day and due_day are local days (vntime.h); requests and receipts
 * are the distinct times (epoch seconds, ascending) of its
 * supplement_requested and supplement_received events, nrequests and
 * nreceipts of them (either may be 0, its array then may be NULL). Returns
 * CHISO_ONTIME_NEVER, or a finite day >= received_day (kept below
 * CHISO_ONTIME_NEVER). */
int32_t chiso_ontime_overdue_day(int32_t received_day, int32_t due_day, const int64_t *requests,
                                 int nrequests, const int64_t *receipts, int nreceipts);

/* True when a dossier resolved on local day resolved_day, with first overdue
 * day overdue_day, was resolved on time: resolved_day < overdue_day. */
bool chiso_ontime_resolved_on_time(int32_t resolved_day, int32_t overdue_day);

#endif
