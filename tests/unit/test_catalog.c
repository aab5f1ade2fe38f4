/*
 * test_catalog.c - the catalog.units record: valid records, defaults,
 * tombstones, rejections with their reason codes, and JSON round trips.
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

int main(void)
{
    test_valid();
    test_tombstones();
    test_invalid();
    test_names();
    return CHECK_DONE();
}
