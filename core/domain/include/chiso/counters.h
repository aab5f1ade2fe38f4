/*
 * counters.h - the per-unit counters kept in Redis, and where they live.
 *
 * A counter counts dossiers. Each dossier contributes +1 to a counter in
 * the bucket of one local day (its "contribution"); the Redis hashes hold,
 * for every unit and every day, month, quarter and year, the sum of the
 * contributions of its dossiers (ARCHITECTURE.md invariant 1). Contributions
 * are a pure function of the dossier's facts (dossier.h), so counters depend
 * on the set of events received, never on their order.
 *
 * Definitions (day = Vietnam local day, see vntime.h; docs/counters.md
 * gives each with the indicator it serves and the reasons behind it):
 *   received            at the `received` event's day
 *   received_online     ... and the `submitted` channel is online
 *   received_direct     ... direct
 *   received_postal     ... postal
 *   resolved            at the `resolved` event's day
 *   resolved_on_time    ... resolved before its first overdue day B (ontime.h);
 *                       resolved_late otherwise
 *   resolved_late       (needs the `received` event for the due date)
 *   received_svc_full   at the received day, when the dossier's procedure has
 *                       service level "full" in catalog.procedures (the
 *                       processor applies the catalog's level with every
 *                       event; a dossier keeps the highest level seen)
 *   received_svc_full_online     ... and the channel is online
 *   received_svc_partial         ... level "partial"
 *   received_svc_partial_online  ... level "partial" and online
 *   full_process        at the resolved day, by the dossier's current class
 *   partial             (classify.h); offline for a direct or postal dossier
 *   offline
 *   closed              a received dossier finished: left the open set,
 *                       at its closed day C = max(received day, the day it
 *                       was resolved, else returned, else the first of
 *                       withdrawn, stopped and not accepted)
 *   overdue_began       a received dossier not closed before its first
 *                       overdue day B (ontime.h; with no supplement request
 *                       B = max(due day + 1, received day)): at B
 *   overdue_closed      such a dossier closed: at its closed day
 *   synced              at the received day, when it has a `synced` event
 *   received_online_valid  at the received day: online, and it has an
 *                       electronic result (its `resolved` carries e_result)
 *                       or its procedure does not require a paper result
 *                       (catalog.procedures paper_result_required, applied
 *                       like the level; once seen, kept)
 *   fee_dossiers        at the received day, when a fee applies (the largest
 *                       `fee_requested` amount is > 0)
 *   paid_online         ... and it was paid by dvcqg_platform or
 *                       provincial_gateway
 *   digitized           at the received day, `received` with digitized
 *   reused_data         ... with reused_data
 *   from_data_store     ... with digitized and from_data_store
 *   population_data     ... with population_data
 *   resolved_e_result   at the resolved day, `resolved` with e_result
 *   resolved_complaint  at the resolved day, a received dossier with a
 *                       `complaint` event or rated not satisfied
 * and, for the national portal's population D (DOMAIN.md: the dossiers
 * received or processed in a period; docs/counters.md, "Population D"):
 *   complaint_received  at the received day, a received dossier with a
 *                       `complaint` event or rated not satisfied
 *   complaint_closed    ... at its closed day C, once closed
 *   e_result_closed     at C, a received dossier resolved with e_result
 *   digitized_closed, reused_data_closed, from_data_store_closed,
 *   population_data_closed   at C, a received dossier counted in digitized,
 *                       reused_data, from_data_store, population_data
 *
 * So for a period ending on day E (its last day, or today for the current
 * period): open = sum over days <= E of (received - closed), and
 * open_overdue = sum over days <= E of (overdue_began - overdue_closed).
 * The population D of a period [S, E] follows the same way: |D| = sum over
 * days <= E of received - sum over days < S of closed, and a property X of
 * D (digitized, ...) = sum over days <= E of X - sum over days < S of
 * X_closed (snapshot.h, chiso_snapshot_derive()).
 *
 * Redis layout (prefix default "chiso"; {U} is the unit code as the hash
 * tag, ARCHITECTURE.md invariant 4):
 *   <prefix>:{U}:d:<dossier_id>   string  the dossier state (dossier.h)
 *   <prefix>:{U}:c:<period>       hash    counter name -> integer, period key
 *                                         of vntime.h ("2025-07-01",
 *                                         "2025-07", "2025-Q3", "2025")
 *   <prefix>:{U}:po:<period>      hash    procedure -> dossiers received online
 *                                         for it (#7); month/quarter/year
 *   <prefix>:{U}:pp:<period>      hash    procedure -> dossiers paid online
 *                                         for it (#9); fields at 0 are removed
 *   <prefix>:{U}:j                string  counter and procedure-set changes
 *                                         not yet folded into the hashes
 *                                         above (journal.h); readers fold
 *                                         first
 *   <prefix>:{U}:due              zset    open dossiers by first overdue day
 *   <prefix>:{U}:reap             list    "<day>:<dossier_id>": every write
 *                                         of a state not open, under the
 *                                         local day of its last fact, for
 *                                         the reaper (retention)
 *   <prefix>:{U}:alerted          hash    alerts already published
 *   <prefix>:{U}:f:<feedback_id>  string  a feedback state (feedback.h)
 *   <prefix>:{U}:months           set     month keys that have counters
 *   <prefix>:units                set     unit codes seen
 *   <prefix>:dirty                set     "<unit>|<period>" changed since the
 *                                         last snapshot (month/quarter/year)
 *   <prefix>:{U}:s:<period>       string  latest snapshot JSON of a unit
 */
#ifndef CHISO_COUNTERS_H
#define CHISO_COUNTERS_H

typedef enum chiso_counter_id {
    CHISO_C_RECEIVED = 0,
    CHISO_C_RECEIVED_ONLINE,
    CHISO_C_RECEIVED_DIRECT,
    CHISO_C_RECEIVED_POSTAL,
    CHISO_C_RESOLVED,
    CHISO_C_RESOLVED_ON_TIME,
    CHISO_C_RESOLVED_LATE,
    CHISO_C_FULL_PROCESS,
    CHISO_C_PARTIAL,
    CHISO_C_OFFLINE,
    CHISO_C_CLOSED,
    CHISO_C_OVERDUE_BEGAN,
    CHISO_C_OVERDUE_CLOSED,
    CHISO_C_RECEIVED_SVC_FULL,
    CHISO_C_RECEIVED_SVC_FULL_ONLINE,
    CHISO_C_RECEIVED_SVC_PARTIAL,
    CHISO_C_RECEIVED_SVC_PARTIAL_ONLINE,
    CHISO_C_SYNCED,
    CHISO_C_RECEIVED_ONLINE_VALID,
    CHISO_C_FEE_DOSSIERS,
    CHISO_C_PAID_ONLINE,
    CHISO_C_DIGITIZED,
    CHISO_C_REUSED_DATA,
    CHISO_C_FROM_DATA_STORE,
    CHISO_C_POPULATION_DATA,
    CHISO_C_RESOLVED_E_RESULT,
    CHISO_C_RESOLVED_COMPLAINT,
    CHISO_C_COMPLAINT_RECEIVED,
    CHISO_C_COMPLAINT_CLOSED,
    CHISO_C_E_RESULT_CLOSED,
    CHISO_C_DIGITIZED_CLOSED,
    CHISO_C_REUSED_DATA_CLOSED,
    CHISO_C_FROM_DATA_STORE_CLOSED,
    CHISO_C_POPULATION_DATA_CLOSED,
    CHISO_C_COUNT
} chiso_counter_id;

/* The field name of a counter in Redis and in ground-truth files. */
const char *chiso_counter_name(chiso_counter_id id);
/* The id of a field name, or -1. */
int chiso_counter_from_name(const char *name);

#endif
