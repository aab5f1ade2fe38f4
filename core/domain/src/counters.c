/*
 * counters.c - names of the per-unit counters (definitions in counters.h).
 */
#include "chiso/counters.h"

#include <string.h>

static const char *const counter_names[CHISO_C_COUNT] = {
    [CHISO_C_RECEIVED] = "received",
    [CHISO_C_RECEIVED_ONLINE] = "received_online",
    [CHISO_C_RECEIVED_DIRECT] = "received_direct",
    [CHISO_C_RECEIVED_POSTAL] = "received_postal",
    [CHISO_C_RESOLVED] = "resolved",
    [CHISO_C_RESOLVED_ON_TIME] = "resolved_on_time",
    [CHISO_C_RESOLVED_LATE] = "resolved_late",
    [CHISO_C_FULL_PROCESS] = "full_process",
    [CHISO_C_PARTIAL] = "partial",
    [CHISO_C_OFFLINE] = "offline",
    [CHISO_C_CLOSED] = "closed",
    [CHISO_C_OVERDUE_BEGAN] = "overdue_began",
    [CHISO_C_OVERDUE_CLOSED] = "overdue_closed",
    [CHISO_C_RECEIVED_SVC_FULL] = "received_svc_full",
    [CHISO_C_RECEIVED_SVC_FULL_ONLINE] = "received_svc_full_online",
    [CHISO_C_RECEIVED_SVC_PARTIAL] = "received_svc_partial",
    [CHISO_C_RECEIVED_SVC_PARTIAL_ONLINE] = "received_svc_partial_online",
    [CHISO_C_SYNCED] = "synced",
    [CHISO_C_RECEIVED_ONLINE_VALID] = "received_online_valid",
    [CHISO_C_FEE_DOSSIERS] = "fee_dossiers",
    [CHISO_C_PAID_ONLINE] = "paid_online",
    [CHISO_C_DIGITIZED] = "digitized",
    [CHISO_C_REUSED_DATA] = "reused_data",
    [CHISO_C_FROM_DATA_STORE] = "from_data_store",
    [CHISO_C_POPULATION_DATA] = "population_data",
    [CHISO_C_RESOLVED_E_RESULT] = "resolved_e_result",
    [CHISO_C_RESOLVED_COMPLAINT] = "resolved_complaint",
    [CHISO_C_COMPLAINT_RECEIVED] = "complaint_received",
    [CHISO_C_COMPLAINT_CLOSED] = "complaint_closed",
    [CHISO_C_E_RESULT_CLOSED] = "e_result_closed",
    [CHISO_C_DIGITIZED_CLOSED] = "digitized_closed",
    [CHISO_C_REUSED_DATA_CLOSED] = "reused_data_closed",
    [CHISO_C_FROM_DATA_STORE_CLOSED] = "from_data_store_closed",
    [CHISO_C_POPULATION_DATA_CLOSED] = "population_data_closed",
};

const char *chiso_counter_name(chiso_counter_id id)
{
    if ((int)id < 0 || id >= CHISO_C_COUNT)
        return "unknown";
    return counter_names[id];
}

int chiso_counter_from_name(const char *name)
{
    for (int i = 0; i < CHISO_C_COUNT; i++) {
        if (strcmp(counter_names[i], name) == 0)
            return i;
    }
    return -1;
}
