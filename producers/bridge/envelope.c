/*
 * envelope.c - the gateway envelope, the bare array, and the answer
 * (envelope.h).
 */
#include "envelope.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "chiso/common.h"
#include "map.h"

static const struct {
    const char *name;
    bridge_service service;
} services[] = {
    {"DongBoHoSoMC", BRIDGE_SVC_DOSSIERS},
    {"CapNhatTienDoHoSoMC", BRIDGE_SVC_PROGRESS},
};

static bridge_service service_of(const char *name)
{
    for (size_t i = 0; i < sizeof(services) / sizeof(services[0]); i++) {
        if (strcmp(services[i].name, name) == 0)
            return services[i].service;
    }
    return BRIDGE_SVC_OTHER;
}

/* "True"/"False" (any case), "1"/"0": 1, 0; anything else -1. */
static int truth(const char *s)
{
    if (!s || !s[0])
        return -1;
    if (strcasecmp(s, "true") == 0 || strcmp(s, "1") == 0)
        return 1;
    if (strcasecmp(s, "false") == 0 || strcmp(s, "0") == 0)
        return 0;
    return -1;
}

static int fail(bridge_request *r, char *errstr, size_t size, const char *msg)
{
    cJSON_Delete(r->root);
    memset(r, 0, sizeof(*r));
    r->updating = -1;
    return chiso_errf(errstr, size, CHISO_EINVAL, "%s", msg);
}

/* a name of at most size - 1 bytes of [A-Za-z0-9._-] */
static bool name_ok(const char *s, size_t size)
{
    return bridge_code_ok(s, size - 1, "._-");
}

int bridge_request_parse(const char *body, size_t len, const char *path_service,
                         const char *query_unit, const char *query_updating, size_t max_items,
                         bridge_request *out, char *errstr, size_t errstr_size)
{
    memset(out, 0, sizeof(*out));
    out->updating = -1;
    out->root = cJSON_ParseWithLength(body, len);
    if (!out->root)
        return fail(out, errstr, errstr_size, "Dữ liệu gửi lên không phải JSON hợp lệ");
    const char *service = path_service;
    if (cJSON_IsArray(out->root)) { /* (B) the bare array */
        out->items = out->root;
        if (query_unit && query_unit[0]) {
            if (!name_ok(query_unit, sizeof(out->unit)))
                return fail(out, errstr, errstr_size,
                            "Mã định danh đơn vị (MaDinhDanhDV) không hợp lệ");
            strcpy(out->unit, query_unit);
        }
        out->updating = truth(query_updating);
    } else if (cJSON_IsObject(out->root)) { /* (A) the gateway envelope */
        out->gateway = true;
        const cJSON *svc = cJSON_GetObjectItemCaseSensitive(out->root, "service");
        const cJSON *unit = cJSON_GetObjectItemCaseSensitive(out->root, "madonvi");
        const cJSON *session = cJSON_GetObjectItemCaseSensitive(out->root, "session");
        const cJSON *upd = cJSON_GetObjectItemCaseSensitive(out->root, "isUpdating");
        out->items = cJSON_GetObjectItemCaseSensitive(out->root, "data");
        if (cJSON_IsString(svc) && svc->valuestring[0])
            service = svc->valuestring;
        if (cJSON_IsString(unit) && unit->valuestring[0]) {
            if (!name_ok(unit->valuestring, sizeof(out->unit)))
                return fail(out, errstr, errstr_size, "Mã đơn vị (madonvi) không hợp lệ");
            strcpy(out->unit, unit->valuestring);
        }
        if (cJSON_IsString(session) && strlen(session->valuestring) < sizeof(out->session))
            strcpy(out->session, session->valuestring);
        out->updating = cJSON_IsString(upd) ? truth(upd->valuestring)
                        : cJSON_IsBool(upd) ? cJSON_IsTrue(upd)
                                            : -1;
        if (!cJSON_IsArray(out->items))
            return fail(out, errstr, errstr_size, "Thiếu danh sách hồ sơ (data)");
    } else {
        return fail(out, errstr, errstr_size,
                    "Dữ liệu gửi lên phải là đối tượng hoặc danh sách JSON");
    }
    if (!service || !service[0])
        return fail(out, errstr, errstr_size, "Thiếu tên dịch vụ (service)");
    if (!name_ok(service, sizeof(out->service_name)))
        return fail(out, errstr, errstr_size, "Tên dịch vụ (service) không hợp lệ");
    strcpy(out->service_name, service);
    out->service = service_of(service);
    if ((size_t)cJSON_GetArraySize(out->items) > max_items) {
        char msg[128];
        snprintf(msg, sizeof(msg), "Quá %zu hồ sơ trong một lần gửi", max_items);
        return fail(out, errstr, errstr_size, msg);
    }
    return 0;
}

void bridge_request_free(bridge_request *r)
{
    cJSON_Delete(r->root);
    memset(r, 0, sizeof(*r));
}

char *bridge_answer(const char *error_code, const char *message, const bridge_item_error *errs,
                    int n)
{
    cJSON *root = cJSON_CreateObject(), *arr = NULL;
    char *text = NULL;
    if (!root || !cJSON_AddStringToObject(root, "error_code", error_code) ||
        !cJSON_AddStringToObject(root, "message", message))
        goto out;
    if (n > 0 && !(arr = cJSON_AddArrayToObject(root, "errors")))
        goto out;
    for (int i = 0; i < n; i++) {
        cJSON *o = cJSON_CreateObject();
        if (!o)
            goto out;
        if (!cJSON_AddItemToArray(arr, o)) {
            cJSON_Delete(o);
            goto out;
        }
        if (!cJSON_AddStringToObject(o, "MaHoSo", errs[i].dossier_id) ||
            !cJSON_AddStringToObject(o, "reason", chiso_reject_code(errs[i].reject.reason)) ||
            !cJSON_AddStringToObject(o, "message", errs[i].reject.detail))
            goto out;
    }
    text = cJSON_PrintUnformatted(root);
out:
    cJSON_Delete(root);
    return text;
}
