/*
 * envelope.h - the two ways provinces wrap what they send the national
 * portal (../shared/BRIDGE.md §1), and the portal's answer shape. Pure: the
 * HTTP server hands in the body, the path's service and the query string's
 * values.
 *
 *   (A) the gateway envelope (OpenCPS): one object {session, madonvi,
 *       service, isUpdating ("True"/"False"), data: [...]};
 *   (B) the bare array (Hà Giang, Thanh Hóa): the body is the data array;
 *       the unit (MaDinhDanhDV) and isUpdating travel in the query string,
 *       the service in the path (.../DongBoHoSoMC).
 *
 * Answers are {"error_code":"0","message":"..."} (senders accept "0", "00"
 * and 0 as success, and some look for "thành công" in the message), with
 * "errors": [{"MaHoSo", "reason", "message"}] for the items refused.
 */
#ifndef CHISO_BRIDGE_ENVELOPE_H
#define CHISO_BRIDGE_ENVELOPE_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "chiso/event.h"

typedef enum bridge_service {
    BRIDGE_SVC_NONE = 0,
    BRIDGE_SVC_DOSSIERS, /* DongBoHoSoMC: dossier snapshots */
    BRIDGE_SVC_PROGRESS, /* CapNhatTienDoHoSoMC: progress steps */
    BRIDGE_SVC_OTHER,    /* a service of the portal the bridge does not take */
} bridge_service;

/* A parsed request (free with bridge_request_free). */
typedef struct bridge_request {
    cJSON *root;        /* owned */
    const cJSON *items; /* the data array (within root) */
    bridge_service service;
    char service_name[64];
    char unit[CHISO_CODE_MAX + 1]; /* madonvi or MaDinhDanhDV; "" when not given */
    char session[256];             /* envelope A's session; "" otherwise */
    int updating;                  /* isUpdating: 1, 0, or -1 not given */
    bool gateway;                  /* envelope A */
} bridge_request;

/* Parse a request body. `path_service` is the last segment of the URL path
 * ("DongBoHoSoMC"; may be NULL or ""), `query_unit` and `query_updating`
 * the query string's MaDinhDanhDV and isUpdating (may be NULL). At most
 * max_items items. Returns 0, or CHISO_EINVAL with a sentence (Vietnamese,
 * for the province's answer) in errstr; out is then empty. */
int bridge_request_parse(const char *body, size_t len, const char *path_service,
                         const char *query_unit, const char *query_updating, size_t max_items,
                         bridge_request *out, char *errstr, size_t errstr_size);

void bridge_request_free(bridge_request *r);

/* An item refused, for the answer. */
typedef struct bridge_item_error {
    char dossier_id[CHISO_ID_MAX + 1]; /* "" when the item had none */
    chiso_reject reject;
} bridge_item_error;

/* The answer {"error_code":"<code>","message":"<message>"} with "errors"
 * when n > 0: compact JSON, caller frees with free(); NULL on OOM. */
char *bridge_answer(const char *error_code, const char *message, const bridge_item_error *errs,
                    int n);

#endif
