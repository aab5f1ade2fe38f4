/*
 * ontime.c - the first overdue day B of a dossier (docs/ontime.md), read
 * against the doc line by line:
 *
 *   two or more requests        B = min(B of R1 alone, max(rday, day(R2)))
 *   one request r, day(r) > D   B = max(rday, D + 1)
 *   one request r, receipt s    B = max(rday, D + (day(s) - day(r)) + 1),
 *                               s the first receipt at or after r
 *   one request r, no such s    B = never (waiting on a request made in time)
 *   no request                  B = max(rday, D + 1)
 *
 * Sums are taken in 64 bits and a finite B is kept below CHISO_ONTIME_NEVER,
 * so no input, however far out of range, can pass for "never".
 */
#include "chiso/ontime.h"

#include "chiso/vntime.h"

/* max(rday, b), clamped below CHISO_ONTIME_NEVER. */
static int32_t finite_day(int32_t rday, int64_t b)
{
    if (b < rday)
        b = rday;
    if (b > (int64_t)CHISO_ONTIME_NEVER - 1)
        b = (int64_t)CHISO_ONTIME_NEVER - 1;
    return (int32_t)b;
}

/* B as if `r` were the only request. */
static int32_t one_request(int32_t received_day, int32_t due_day, int64_t r,
                           const int64_t *receipts, int nreceipts)
{
    int64_t late_from_due = (int64_t)due_day + 1;
    int32_t rq_day = chiso_local_day(r);
    if (rq_day > due_day)
        return finite_day(received_day, late_from_due);
    for (int i = 0; i < nreceipts; i++) {
        if (receipts[i] >= r) {
            int64_t paused = (int64_t)chiso_local_day(receipts[i]) - rq_day;
            return finite_day(received_day, late_from_due + paused);
        }
    }
    return CHISO_ONTIME_NEVER;
}

int32_t chiso_ontime_overdue_day(int32_t received_day, int32_t due_day, const int64_t *requests,
                                 int nrequests, const int64_t *receipts, int nreceipts)
{
    if (nrequests <= 0)
        return finite_day(received_day, (int64_t)due_day + 1);
    int32_t b = one_request(received_day, due_day, requests[0], receipts, nreceipts);
    if (nrequests >= 2) {
        /* late from the second request on, or earlier if it already was */
        int32_t second = finite_day(received_day, chiso_local_day(requests[1]));
        if (second < b)
            b = second;
    }
    return b;
}

bool chiso_ontime_resolved_on_time(int32_t resolved_day, int32_t overdue_day)
{
    return resolved_day < overdue_day;
}
