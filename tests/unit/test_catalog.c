/*
 * test_catalog.c - the catalog records (catalog.units, catalog.procedures):
 * valid records, defaults, tombstones, rejections with their reason codes,
 * and JSON round trips.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "chiso/catalog.h"
#include "chiso/common.h"

static int unit_equal(const chiso_unit *a, const chiso_unit *b)
{
    return strcmp(a->unit, b->unit) == 0 && strcmp(a->name, b->name) == 0 && a->kind == b->kind &&
           strcmp(a->parent, b->parent) == 0 &&
           a->e_copy_certification == b->e_copy_certification &&
           a->target_full_process == b->target_full_process;
}

static void test_valid(void)
{
    static const struct {
        const char *json;
        chiso_unit want;
    } cases[] = {
        {"{\"v\":1,\"unit\":\"H21.42\",\"name\":\"Phường Phố Hiến\",\"kind\":\"commune\","
         "\"parent\":\"H21\",\"e_copy_certification\":true,\"target_full_process\":0.8}",
         {"H21.42", "Phường Phố Hiến", CHISO_UNIT_COMMUNE, "H21", true, 0.8}},
        {"{\"v\":1,\"unit\":\"H21\",\"name\":\"Tỉnh Hưng Yên\",\"kind\":\"province\","
         "\"parent\":null}",
         {"H21", "Tỉnh Hưng Yên", CHISO_UNIT_PROVINCE, "", false, 0.70}},
        {"{\"v\":1,\"unit\":\"H21.SXD\",\"name\":\"Sở Xây dựng\",\"kind\":\"department\","
         "\"parent\":\"H21\",\"target_full_process\":null,\"extra\":[1]}",
         {"H21.SXD", "Sở Xây dựng", CHISO_UNIT_DEPARTMENT, "H21", false, 0.70}},
        {"{\"v\":1,\"unit\":\"X\",\"name\":\"x\",\"kind\":\"commune\",\"target_full_process\":0}",
         {"X", "x", CHISO_UNIT_COMMUNE, "", false, 0.0}},
        {"{\"v\":1,\"unit\":\"X\",\"name\":\"\\u0058\\u00e3\",\"kind\":\"commune\","
         "\"target_full_process\":1}",
         {"X", "Xã", CHISO_UNIT_COMMUNE, "", false, 1.0}},
        /* Targets that 15 significant digits cannot write back exactly
         * (found by fuzz.unit): the JSON form must keep every bit. */
        {"{\"v\":1,\"unit\":\"X\",\"name\":\"x\",\"kind\":\"commune\","
         "\"target_full_process\":0.30000000000000004}",
         {"X", "x", CHISO_UNIT_COMMUNE, "", false, 0.30000000000000004}},
        {"{\"v\":1,\"unit\":\"X\",\"name\":\"x\",\"kind\":\"commune\","
         "\"target_full_process\":0.70000000000000007}",
         {"X", "x", CHISO_UNIT_COMMUNE, "", false, 0.70000000000000007}},
        {"{\"v\":1,\"unit\":\"X\",\"name\":\"x\",\"kind\":\"commune\","
         "\"target_full_process\":5e-324}",
         {"X", "x", CHISO_UNIT_COMMUNE, "", false, 5e-324}},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        chiso_unit u, again;
        chiso_reject rej;
        char out[1024];
        int n, rc = chiso_unit_parse(cases[i].json, strlen(cases[i].json), &u, &rej);

        CHECK_EQ_INT(rc, 0, "parse %s: %s", cases[i].json, rej.detail);
        CHECK(unit_equal(&u, &cases[i].want), "fields of %s", cases[i].json);
        n = chiso_unit_to_json(&u, out, sizeof(out));
        CHECK(n > 0 && (size_t)n == strlen(out), "to_json %s", cases[i].json);
        if (n <= 0)
            continue;
        CHECK_EQ_INT(chiso_unit_parse(out, (size_t)n, &again, &rej), 0, "reparse %s", out);
        CHECK(unit_equal(&u, &again), "round trip %s", out);
        CHECK_EQ_INT(chiso_unit_to_json(&u, out, (size_t)n), CHISO_ERANGE, "ERANGE");
    }

    /* The Vietnamese name is preserved byte for byte, also in the JSON form. */
    {
        const char *s = "{\"v\":1,\"unit\":\"H21.42\",\"name\":\"Phường Phố Hiến\","
                        "\"kind\":\"commune\",\"parent\":\"H21\"}";
        chiso_unit u;
        chiso_reject rej;
        char out[512];
        CHECK_EQ_INT(chiso_unit_parse(s, strlen(s), &u, &rej), 0, "Phố Hiến");
        CHECK_EQ_STR(u.name, "Phường Phố Hiến");
        CHECK_EQ_INT(strlen(u.name), 22, "UTF-8 bytes");
        chiso_unit_to_json(&u, out, sizeof(out));
        CHECK(strstr(out, "\"name\":\"Phường Phố Hiến\"") != NULL, "json keeps UTF-8: %s", out);
        CHECK(strstr(out, "\"parent\":\"H21\"") && strstr(out, "\"kind\":\"commune\"") &&
                  strstr(out, "\"target_full_process\":0.7") &&
                  strstr(out, "\"e_copy_certification\":false") && strstr(out, "\"v\":1"),
              "json fields: %s", out);
    }
    /* A name of exactly 255 bytes (85 three-byte characters). */
    {
        char s[1200];
        size_t n = (size_t)snprintf(s, sizeof(s),
                                    "{\"v\":1,\"unit\":\"U\",\"kind\":\"commune\",\"name\":\"");
        chiso_unit u;
        chiso_reject rej;
        for (int i = 0; i < 85; i++)
            n += (size_t)snprintf(s + n, sizeof(s) - n, "ế");
        snprintf(s + n, sizeof(s) - n, "\"}");
        CHECK_EQ_INT(chiso_unit_parse(s, strlen(s), &u, &rej), 0, "255-byte name: %s", rej.detail);
        CHECK_EQ_INT(strlen(u.name), 255, "255 bytes kept");
        s[strlen(s) - 2] = 0;
        strcat(s, "x\"}");
        CHECK_EQ_INT(chiso_unit_parse(s, strlen(s), &u, &rej), CHISO_EINVAL, "256-byte name");
        CHECK_EQ_INT(rej.reason, CHISO_REJECT_BAD_VALUE, "256-byte name is bad_value");
    }
}

static void test_tombstones(void)
{
    static const char *const cases[] = {"", "null", " null\n", "   "};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        chiso_unit u;
        chiso_reject rej;
        CHECK_EQ_INT(chiso_unit_parse(cases[i], strlen(cases[i]), &u, &rej), 1, "tombstone \"%s\"",
                     cases[i]);
    }
    {
        chiso_unit u;
        chiso_reject rej;
        CHECK_EQ_INT(chiso_unit_parse(NULL, 0, &u, &rej), 1, "NULL payload is a tombstone");
    }
}

static void test_invalid(void)
{
    static const struct {
        const char *json;
        chiso_reject_reason reason;
    } cases[] = {
        {"nul", CHISO_REJECT_JSON_SYNTAX},
        {"[]", CHISO_REJECT_JSON_SYNTAX},
        {"\"H21\"", CHISO_REJECT_JSON_SYNTAX},
        {"{\"v\":1} junk", CHISO_REJECT_JSON_SYNTAX},
        {"{\"unit\":\"U\",\"name\":\"n\",\"kind\":\"commune\"}", CHISO_REJECT_MISSING_FIELD},
        {"{\"v\":2,\"unit\":\"U\",\"name\":\"n\",\"kind\":\"commune\"}", CHISO_REJECT_BAD_VALUE},
        {"{\"v\":1,\"name\":\"n\",\"kind\":\"commune\"}", CHISO_REJECT_MISSING_FIELD},
        {"{\"v\":1,\"unit\":\"U\",\"kind\":\"commune\"}", CHISO_REJECT_MISSING_FIELD},
        {"{\"v\":1,\"unit\":\"U\",\"name\":\"n\"}", CHISO_REJECT_MISSING_FIELD},
        {"{\"v\":1,\"unit\":\"U 1\",\"name\":\"n\",\"kind\":\"commune\"}", CHISO_REJECT_BAD_VALUE},
        {"{\"v\":1,\"unit\":7,\"name\":\"n\",\"kind\":\"commune\"}", CHISO_REJECT_BAD_VALUE},
        {"{\"v\":1,\"unit\":\"U\",\"name\":\"\",\"kind\":\"commune\"}", CHISO_REJECT_BAD_VALUE},
        {"{\"v\":1,\"unit\":\"U\",\"name\":null,\"kind\":\"commune\"}", CHISO_REJECT_BAD_VALUE},
        {"{\"v\":1,\"unit\":\"U\",\"name\":\"Ph\xc6\",\"kind\":\"commune\"}",
         CHISO_REJECT_BAD_VALUE}, /* truncated UTF-8 */
        {"{\"v\":1,\"unit\":\"U\",\"name\":\"\xff\xfe\",\"kind\":\"commune\"}",
         CHISO_REJECT_BAD_VALUE},
        {"{\"v\":1,\"unit\":\"U\",\"name\":\"\xc3\x28\",\"kind\":\"commune\"}",
         CHISO_REJECT_BAD_VALUE},
        {"{\"v\":1,\"unit\":\"U\",\"name\":\"\xe0\x80\xaf\",\"kind\":\"commune\"}",
         CHISO_REJECT_BAD_VALUE}, /* overlong */
        {"{\"v\":1,\"unit\":\"U\",\"name\":\"a\\u0001\",\"kind\":\"commune\"}",
         CHISO_REJECT_BAD_VALUE}, /* control character */
        {"{\"v\":1,\"unit\":\"U\",\"name\":\"n\",\"kind\":\"village\"}", CHISO_REJECT_BAD_VALUE},
        {"{\"v\":1,\"unit\":\"U\",\"name\":\"n\",\"kind\":\"unknown\"}", CHISO_REJECT_BAD_VALUE},
        {"{\"v\":1,\"unit\":\"U\",\"name\":\"n\",\"kind\":\"commune\",\"parent\":\"a b\"}",
         CHISO_REJECT_BAD_VALUE},
        {"{\"v\":1,\"unit\":\"U\",\"name\":\"n\",\"kind\":\"commune\",\"parent\":\"U\"}",
         CHISO_REJECT_BAD_VALUE},
        {"{\"v\":1,\"unit\":\"U\",\"name\":\"n\",\"kind\":\"commune\",\"parent\":\"\"}",
         CHISO_REJECT_BAD_VALUE},
        {"{\"v\":1,\"unit\":\"U\",\"name\":\"n\",\"kind\":\"commune\",\"e_copy_certification\":1}",
         CHISO_REJECT_BAD_VALUE},
        {"{\"v\":1,\"unit\":\"U\",\"name\":\"n\",\"kind\":\"commune\",\"target_full_process\":1."
         "01}",
         CHISO_REJECT_BAD_VALUE},
        {"{\"v\":1,\"unit\":\"U\",\"name\":\"n\",\"kind\":\"commune\",\"target_full_process\":-0."
         "1}",
         CHISO_REJECT_BAD_VALUE},
        {"{\"v\":1,\"unit\":\"U\",\"name\":\"n\",\"kind\":\"commune\",\"target_full_process\":\"0."
         "7\"}",
         CHISO_REJECT_BAD_VALUE},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        chiso_unit u;
        chiso_reject rej;
        int rc = chiso_unit_parse(cases[i].json, strlen(cases[i].json), &u, &rej);
        CHECK_EQ_INT(rc, CHISO_EINVAL, "should reject %s", cases[i].json);
        CHECK_EQ_STR(chiso_reject_code(rej.reason), chiso_reject_code(cases[i].reason));
        if (rej.reason != cases[i].reason)
            fprintf(stderr, "  case %s: %s\n", cases[i].json, rej.detail);
        CHECK(rej.detail[0] != '\0', "detail set for %s", cases[i].json);
    }
}

static void test_names(void)
{
    CHECK_EQ_STR(chiso_unit_kind_name(CHISO_UNIT_PROVINCE), "province");
    CHECK_EQ_STR(chiso_unit_kind_name(CHISO_UNIT_DEPARTMENT), "department");
    CHECK_EQ_STR(chiso_unit_kind_name(CHISO_UNIT_COMMUNE), "commune");
    CHECK_EQ_STR(chiso_unit_kind_name(CHISO_UNIT_UNKNOWN), "unknown");
    CHECK_EQ_STR(chiso_unit_kind_name((chiso_unit_kind)42), "unknown");
    {
        chiso_unit u = {"U", "n", CHISO_UNIT_UNKNOWN, "", false, NAN};
        char out[256];
        CHECK_EQ_INT(chiso_unit_to_json(&u, out, sizeof(out)), CHISO_EINVAL, "unknown kind");
    }
}

/* ---- procedure records ---------------------------------------------------- */

static int procedure_equal(const chiso_procedure *a, const chiso_procedure *b)
{
    if (strcmp(a->procedure, b->procedure) != 0 || strcmp(a->name, b->name) != 0 ||
        a->level != b->level || a->eligible_full != b->eligible_full || a->fee != b->fee ||
        a->payment_integrated != b->payment_integrated ||
        a->paper_result_required != b->paper_result_required ||
        a->citizen_subject != b->citizen_subject ||
        a->population_data_connected != b->population_data_connected ||
        a->announced_on_time != b->announced_on_time ||
        a->published_on_time != b->published_on_time ||
        a->published_complete != b->published_complete || a->nunits != b->nunits)
        return 0;
    for (int i = 0; i < a->nunits; i++)
        if (strcmp(a->units[i], b->units[i]) != 0)
            return 0;
    return 1;
}

static void test_procedure_valid(void)
{
    static const struct {
        const char *json;
        const char *code, *name;
        chiso_service_level level;
        bool fee, citizen, complete;
        int nunits;
        const char *unit0;
    } cases[] = {
        {"{\"v\":1,\"procedure\":\"2.000986\",\"name\":\"Đăng ký khai sinh\",\"level\":\"full\","
         "\"eligible_full\":true,\"fee\":false,\"payment_integrated\":false,"
         "\"paper_result_required\":false,\"citizen_subject\":true,"
         "\"population_data_connected\":true,\"announced_on_time\":true,"
         "\"published_on_time\":true,\"published_complete\":true,\"units\":[]}",
         "2.000986", "Đăng ký khai sinh", CHISO_LEVEL_FULL, false, true, true, 0, NULL},
        /* booleans absent = false; units absent = every unit */
        {"{\"v\":1,\"procedure\":\"1.001\",\"name\":\"Cấp giấy phép xây dựng\","
         "\"level\":\"partial\"}",
         "1.001", "Cấp giấy phép xây dựng", CHISO_LEVEL_PARTIAL, false, false, false, 0, NULL},
        {"{\"v\":1,\"procedure\":\"1.002\",\"name\":\"x\",\"level\":\"none\",\"fee\":true,"
         "\"units\":null,\"extra\":{\"a\":[1]}}",
         "1.002", "x", CHISO_LEVEL_NONE, true, false, false, 0, NULL},
        {"{\"v\":1,\"procedure\":\"1.003\",\"name\":\"\\u0058\\u00e3\",\"level\":\"full\","
         "\"units\":[\"000.00.04.H31\",\"000.31.01.H31\"]}",
         "1.003", "Xã", CHISO_LEVEL_FULL, false, false, false, 2, "000.00.04.H31"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        chiso_procedure p, again;
        chiso_reject rej;
        char out[2048];
        int n, rc = chiso_procedure_parse(cases[i].json, strlen(cases[i].json), &p, &rej);

        CHECK_EQ_INT(rc, 0, "parse %s: %s", cases[i].json, rej.detail);
        if (rc != 0)
            continue;
        CHECK_EQ_STR(p.procedure, cases[i].code);
        CHECK_EQ_STR(p.name, cases[i].name);
        CHECK_EQ_INT(p.level, cases[i].level, "level of %s", cases[i].json);
        CHECK_EQ_INT(p.fee, cases[i].fee, "fee of %s", cases[i].json);
        CHECK_EQ_INT(p.citizen_subject, cases[i].citizen, "citizen of %s", cases[i].json);
        CHECK_EQ_INT(p.published_complete, cases[i].complete, "complete of %s", cases[i].json);
        CHECK_EQ_INT(p.nunits, cases[i].nunits, "units of %s", cases[i].json);
        if (cases[i].unit0 && p.nunits > 0)
            CHECK_EQ_STR(p.units[0], cases[i].unit0);
        n = chiso_procedure_to_json(&p, out, sizeof(out));
        CHECK(n > 0 && (size_t)n == strlen(out), "to_json %s", cases[i].json);
        if (n > 0) {
            CHECK_EQ_INT(chiso_procedure_parse(out, (size_t)n, &again, &rej), 0, "reparse %s", out);
            CHECK(procedure_equal(&p, &again), "round trip %s", out);
            chiso_procedure_clear(&again);
            CHECK_EQ_INT(chiso_procedure_to_json(&p, out, (size_t)n), CHISO_ERANGE, "ERANGE");
        }
        chiso_procedure_clear(&p);
        CHECK(p.units == NULL && p.nunits == 0, "clear releases the units");
    }

    /* The serialized form: every contract field, Vietnamese kept as UTF-8. */
    {
        chiso_procedure p;
        char units[2][CHISO_CODE_MAX + 1] = {"000.00.04.H31", "000.00.05.H31"};
        char out[1024];
        memset(&p, 0, sizeof(p));
        strcpy(p.procedure, "1.004");
        strcpy(p.name, "Cấp phép khai thác nước");
        p.level = CHISO_LEVEL_FULL;
        p.fee = true;
        p.payment_integrated = true;
        p.nunits = 2;
        p.units = units;
        CHECK(chiso_procedure_to_json(&p, out, sizeof(out)) > 0, "to_json");
        CHECK_EQ_STR(out, "{\"v\":1,\"procedure\":\"1.004\",\"name\":\"Cấp phép khai thác nước\","
                          "\"level\":\"full\",\"eligible_full\":false,\"fee\":true,"
                          "\"payment_integrated\":true,\"paper_result_required\":false,"
                          "\"citizen_subject\":false,\"population_data_connected\":false,"
                          "\"announced_on_time\":false,\"published_on_time\":false,"
                          "\"published_complete\":false,"
                          "\"units\":[\"000.00.04.H31\",\"000.00.05.H31\"]}");
        p.level = CHISO_LEVEL_UNKNOWN;
        CHECK_EQ_INT(chiso_procedure_to_json(&p, out, sizeof(out)), CHISO_EINVAL, "unknown level");
        p.level = CHISO_LEVEL_PARTIAL;
        p.units = NULL;
        CHECK_EQ_INT(chiso_procedure_to_json(&p, out, sizeof(out)), CHISO_EINVAL, "units NULL");
    }

    /* The most units a record may list, and one more. */
    {
        static char s[16384];
        size_t n =
            (size_t)snprintf(s, sizeof(s),
                             "{\"v\":1,\"procedure\":\"P\",\"name\":\"n\",\"level\":\"full\","
                             "\"units\":[");
        chiso_procedure p;
        chiso_reject rej;
        for (int i = 0; i < CHISO_PROCEDURE_UNITS_MAX; i++)
            n += (size_t)snprintf(s + n, sizeof(s) - n, "%s\"000.%02d.%02d.H31\"", i ? "," : "",
                                  31 + i / 99, i % 99 + 1);
        snprintf(s + n, sizeof(s) - n, "]}");
        CHECK_EQ_INT(chiso_procedure_parse(s, strlen(s), &p, &rej), 0, "256 units: %s", rej.detail);
        CHECK_EQ_INT(p.nunits, CHISO_PROCEDURE_UNITS_MAX, "all units kept");
        chiso_procedure_clear(&p);
        snprintf(s + n, sizeof(s) - n, ",\"X\"]}");
        CHECK_EQ_INT(chiso_procedure_parse(s, strlen(s), &p, &rej), CHISO_EINVAL, "257 units");
        CHECK_EQ_INT(rej.reason, CHISO_REJECT_BAD_VALUE, "257 units is bad_value");
        CHECK(p.units == NULL, "a rejected record owns nothing");
    }
}

static void test_procedure_tombstones(void)
{
    static const char *const cases[] = {"", "null", " null\n", "   "};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        chiso_procedure p;
        chiso_reject rej;
        CHECK_EQ_INT(chiso_procedure_parse(cases[i], strlen(cases[i]), &p, &rej), 1,
                     "tombstone \"%s\"", cases[i]);
        CHECK(p.units == NULL, "a tombstone owns nothing");
    }
    {
        chiso_procedure p;
        chiso_reject rej;
        CHECK_EQ_INT(chiso_procedure_parse(NULL, 0, &p, &rej), 1, "NULL payload is a tombstone");
    }
}

static void test_procedure_invalid(void)
{
#define P_OK "\"v\":1,\"procedure\":\"P\",\"name\":\"n\",\"level\":\"full\""
    static const struct {
        const char *json;
        chiso_reject_reason reason;
    } cases[] = {
        {"nul", CHISO_REJECT_JSON_SYNTAX},
        {"[]", CHISO_REJECT_JSON_SYNTAX},
        {"\"P\"", CHISO_REJECT_JSON_SYNTAX},
        {"{" P_OK "} junk", CHISO_REJECT_JSON_SYNTAX},
        {"{" P_OK ",\"name\":\"a\x01\"}", CHISO_REJECT_JSON_SYNTAX}, /* raw control byte */
        {"{\"procedure\":\"P\",\"name\":\"n\",\"level\":\"full\"}", CHISO_REJECT_MISSING_FIELD},
        {"{\"v\":2,\"procedure\":\"P\",\"name\":\"n\",\"level\":\"full\"}", CHISO_REJECT_BAD_VALUE},
        {"{\"v\":\"1\",\"procedure\":\"P\",\"name\":\"n\",\"level\":\"full\"}",
         CHISO_REJECT_BAD_VALUE},
        {"{\"v\":1,\"name\":\"n\",\"level\":\"full\"}", CHISO_REJECT_MISSING_FIELD},
        {"{\"v\":1,\"procedure\":\"P\",\"level\":\"full\"}", CHISO_REJECT_MISSING_FIELD},
        {"{\"v\":1,\"procedure\":\"P\",\"name\":\"n\"}", CHISO_REJECT_MISSING_FIELD},
        {"{\"v\":1,\"procedure\":\"P 1\",\"name\":\"n\",\"level\":\"full\"}",
         CHISO_REJECT_BAD_VALUE},
        {"{\"v\":1,\"procedure\":\"\",\"name\":\"n\",\"level\":\"full\"}", CHISO_REJECT_BAD_VALUE},
        {"{\"v\":1,\"procedure\":\"123456789012345678901234567890123\",\"name\":\"n\","
         "\"level\":\"full\"}",
         CHISO_REJECT_BAD_VALUE}, /* 33 characters */
        {"{\"v\":1,\"procedure\":7,\"name\":\"n\",\"level\":\"full\"}", CHISO_REJECT_BAD_VALUE},
        {"{\"v\":1,\"procedure\":\"P\",\"name\":\"\",\"level\":\"full\"}", CHISO_REJECT_BAD_VALUE},
        {"{\"v\":1,\"procedure\":\"P\",\"name\":null,\"level\":\"full\"}", CHISO_REJECT_BAD_VALUE},
        {"{\"v\":1,\"procedure\":\"P\",\"name\":\"Ph\xc6\",\"level\":\"full\"}",
         CHISO_REJECT_BAD_VALUE}, /* truncated UTF-8 */
        {"{\"v\":1,\"procedure\":\"P\",\"name\":\"a\\u0001\",\"level\":\"full\"}",
         CHISO_REJECT_BAD_VALUE}, /* control character */
        {"{\"v\":1,\"procedure\":\"P\",\"name\":\"n\",\"level\":\"level4\"}",
         CHISO_REJECT_BAD_VALUE},
        {"{\"v\":1,\"procedure\":\"P\",\"name\":\"n\",\"level\":\"unknown\"}",
         CHISO_REJECT_BAD_VALUE},
        {"{\"v\":1,\"procedure\":\"P\",\"name\":\"n\",\"level\":4}", CHISO_REJECT_BAD_VALUE},
        {"{\"v\":1,\"procedure\":\"P\",\"name\":\"n\",\"level\":null}", CHISO_REJECT_BAD_VALUE},
        {"{" P_OK ",\"fee\":1}", CHISO_REJECT_BAD_VALUE},
        {"{" P_OK ",\"eligible_full\":\"true\"}", CHISO_REJECT_BAD_VALUE},
        {"{" P_OK ",\"published_complete\":null}", CHISO_REJECT_BAD_VALUE},
        {"{" P_OK ",\"units\":\"000.00.01.H31\"}", CHISO_REJECT_BAD_VALUE},
        {"{" P_OK ",\"units\":{}}", CHISO_REJECT_BAD_VALUE},
        {"{" P_OK ",\"units\":[\"A\",7]}", CHISO_REJECT_BAD_VALUE},
        {"{" P_OK ",\"units\":[\"A\",\"\"]}", CHISO_REJECT_BAD_VALUE},
        {"{" P_OK ",\"units\":[\"A\",\"b c\"]}", CHISO_REJECT_BAD_VALUE},
        {"{" P_OK ",\"units\":[null]}", CHISO_REJECT_BAD_VALUE},
    };
#undef P_OK
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        chiso_procedure p;
        chiso_reject rej;
        int rc = chiso_procedure_parse(cases[i].json, strlen(cases[i].json), &p, &rej);
        CHECK_EQ_INT(rc, CHISO_EINVAL, "should reject %s", cases[i].json);
        CHECK_EQ_STR(chiso_reject_code(rej.reason), chiso_reject_code(cases[i].reason));
        if (rej.reason != cases[i].reason)
            fprintf(stderr, "  case %s: %s\n", cases[i].json, rej.detail);
        CHECK(rej.detail[0] != '\0', "detail set for %s", cases[i].json);
        CHECK(p.units == NULL && p.nunits == 0, "a rejected record owns nothing");
    }
    {
        static char big[CHISO_EVENT_MAX_BYTES + 2];
        chiso_procedure p;
        chiso_reject rej;
        memset(big, ' ', sizeof(big));
        CHECK_EQ_INT(chiso_procedure_parse(big, sizeof(big), &p, &rej), CHISO_EINVAL, "too large");
        CHECK_EQ_INT(rej.reason, CHISO_REJECT_TOO_LARGE, "too_large");
    }
}

static void test_procedure_names(void)
{
    CHECK_EQ_STR(chiso_service_level_name(CHISO_LEVEL_FULL), "full");
    CHECK_EQ_STR(chiso_service_level_name(CHISO_LEVEL_PARTIAL), "partial");
    CHECK_EQ_STR(chiso_service_level_name(CHISO_LEVEL_NONE), "none");
    CHECK_EQ_STR(chiso_service_level_name(CHISO_LEVEL_UNKNOWN), "unknown");
    CHECK_EQ_STR(chiso_service_level_name((chiso_service_level)42), "unknown");
    CHECK_EQ_STR(chiso_service_level_name((chiso_service_level)-1), "unknown");
    chiso_procedure_clear(NULL);
}

int main(void)
{
    test_valid();
    test_tombstones();
    test_invalid();
    test_names();
    test_procedure_valid();
    test_procedure_tombstones();
    test_procedure_invalid();
    test_procedure_names();
    return CHECK_DONE();
}
