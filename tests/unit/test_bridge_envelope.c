/*
 * test_bridge_envelope.c - the two envelopes provinces send (BRIDGE.md
 * §1: the gateway object and the bare array with the unit in the query
 * string), the services, the limits and refusals, and the answer's shape.
 */
#include <stdlib.h>
#include <string.h>

#include "chiso/common.h"

#include "check.h"
#include "envelope.h"

static int parse(const char *body, const char *path, const char *unit, const char *upd,
                 bridge_request *r, char *err)
{
    return bridge_request_parse(body, strlen(body), path, unit, upd, 3, r, err, 256);
}

static void test_gateway(void)
{
    bridge_request r;
    char err[256];
    CHECK_EQ_INT(parse("{\"session\":\"c0ffee\",\"madonvi\":\"000.20.31.H56\","
                       "\"service\":\"DongBoHoSoMC\",\"isUpdating\":\"False\","
                       "\"data\":[{\"MaHoSo\":\"X-1\"}]}",
                       NULL, NULL, NULL, &r, err),
                 0, "gateway envelope: %s", err);
    CHECK(r.gateway && r.service == BRIDGE_SVC_DOSSIERS && r.updating == 0 &&
              strcmp(r.unit, "000.20.31.H56") == 0 && strcmp(r.session, "c0ffee") == 0 &&
              cJSON_GetArraySize(r.items) == 1,
          "service, unit, session, isUpdating and data");
    bridge_request_free(&r);

    CHECK_EQ_INT(parse("{\"session\":\"s\",\"madonvi\":\"U.1\",\"service\":\"CapNhatTienDoHoSoMC\","
                       "\"data\":[]}",
                       NULL, NULL, NULL, &r, err),
                 0, "progress: %s", err);
    CHECK(r.service == BRIDGE_SVC_PROGRESS && r.updating == -1, "progress, no isUpdating");
    bridge_request_free(&r);

    CHECK_EQ_INT(parse("{\"service\":\"TraCuuHoSo\",\"data\":[]}", NULL, NULL, NULL, &r, err), 0,
                 "another service parses");
    CHECK(r.service == BRIDGE_SVC_OTHER && strcmp(r.service_name, "TraCuuHoSo") == 0,
          "named, for the answer");
    bridge_request_free(&r);
}

static void test_bare(void)
{
    bridge_request r;
    char err[256];
    CHECK_EQ_INT(parse("[{\"MaHoSo\":\"X-1\"},{\"MaHoSo\":\"X-2\"}]", "DongBoHoSoMC",
                       "000.00.01.H22", "True", &r, err),
                 0, "bare array: %s", err);
    CHECK(!r.gateway && r.service == BRIDGE_SVC_DOSSIERS && r.updating == 1 &&
              strcmp(r.unit, "000.00.01.H22") == 0 && cJSON_GetArraySize(r.items) == 2,
          "unit and isUpdating from the query string, service from the path");
    bridge_request_free(&r);
    CHECK_EQ_INT(parse("[]", "DongBoHoSoMC", NULL, NULL, &r, err), 0, "no unit: the items say");
    CHECK(r.unit[0] == '\0' && r.updating == -1, "nothing invented");
    bridge_request_free(&r);
}

static void test_refusals(void)
{
    static const struct {
        const char *body, *path, *unit, *want;
    } cases[] = {
        {"{", "DongBoHoSoMC", NULL, "không phải JSON hợp lệ"},
        {"42", "DongBoHoSoMC", NULL, "phải là đối tượng hoặc danh sách"},
        {"[]", NULL, NULL, "Thiếu tên dịch vụ"},
        {"[]", "Dong Bo", NULL, "Tên dịch vụ (service) không hợp lệ"},
        {"{\"service\":\"DongBoHoSoMC\"}", NULL, NULL, "Thiếu danh sách hồ sơ"},
        {"{\"service\":\"DongBoHoSoMC\",\"data\":{}}", NULL, NULL, "Thiếu danh sách hồ sơ"},
        {"{\"service\":\"DongBoHoSoMC\",\"madonvi\":\"a b\",\"data\":[]}", NULL, NULL, "madonvi"},
        {"[]", "DongBoHoSoMC", "a b", "MaDinhDanhDV"},
        {"[1,2,3,4]", "DongBoHoSoMC", NULL, "Quá 3 hồ sơ"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        bridge_request r;
        char err[256] = "";
        CHECK_EQ_INT(parse(cases[i].body, cases[i].path, cases[i].unit, NULL, &r, err),
                     CHISO_EINVAL, "%s is refused", cases[i].body);
        CHECK(strstr(err, cases[i].want) != NULL, "%s: '%s' says '%s'", cases[i].body, err,
              cases[i].want);
        CHECK(r.root == NULL && r.items == NULL, "nothing kept");
    }
}

static void test_answer(void)
{
    bridge_item_error e = {.dossier_id = "X-2"};
    e.reject.reason = CHISO_REJECT_MISSING_FIELD;
    snprintf(e.reject.detail, sizeof(e.reject.detail), "field 'MaTTHC' is required");
    char *a = bridge_answer("0", "Đồng bộ thành công 1/2 hồ sơ", &e, 1);
    CHECK(a && strcmp(a, "{\"error_code\":\"0\",\"message\":\"Đồng bộ thành công 1/2 hồ sơ\","
                         "\"errors\":[{\"MaHoSo\":\"X-2\",\"reason\":\"missing_field\","
                         "\"message\":\"field 'MaTTHC' is required\"}]}") == 0,
          "answer: %s", a ? a : "(null)");
    free(a);
    a = bridge_answer("0", "Đồng bộ thành công", NULL, 0);
    CHECK(a && strcmp(a, "{\"error_code\":\"0\",\"message\":\"Đồng bộ thành công\"}") == 0,
          "no errors member when none: %s", a ? a : "(null)");
    free(a);
}

int main(void)
{
    test_gateway();
    test_bare();
    test_refusals();
    test_answer();
    return CHECK_DONE();
}
