/*
 * test_deadletter.c - base64 (RFC 4648 vectors, strict decoding) and the
 * dead-letter JSON record of CONTRACT.md.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "check.h"
#include "chiso/common.h"
#include "chiso/deadletter.h"

static void test_b64_vectors(void)
{
    /* RFC 4648 section 10. */
    static const struct {
        const char *plain, *enc;
    } cases[] = {
        {"", ""},
        {"f", "Zg=="},
        {"fo", "Zm8="},
        {"foo", "Zm9v"},
        {"foob", "Zm9vYg=="},
        {"fooba", "Zm9vYmE="},
        {"foobar", "Zm9vYmFy"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char enc[64];
        unsigned char dec[64];
        size_t plen = strlen(cases[i].plain), n;
        long m;

        CHECK_EQ_INT(chiso_b64_encoded_len(plen), strlen(cases[i].enc), "len of %s",
                     cases[i].plain);
        n = chiso_b64_encode(cases[i].plain, plen, enc);
        CHECK_EQ_INT(n, strlen(cases[i].enc), "encode length %s", cases[i].plain);
        CHECK_EQ_STR(enc, cases[i].enc);
        m = chiso_b64_decode(cases[i].enc, strlen(cases[i].enc), dec);
        CHECK_EQ_INT(m, plen, "decode length %s", cases[i].enc);
        CHECK(m >= 0 && memcmp(dec, cases[i].plain, plen) == 0, "decode %s", cases[i].enc);
    }
    /* The two characters beyond alphanumerics. */
    {
        const unsigned char raw[] = {0xfb, 0xff, 0xbf};
        char enc[8];
        chiso_b64_encode(raw, 3, enc);
        CHECK_EQ_STR(enc, "+/+/");
    }
}

static void test_b64_invalid(void)
{
    static const char *const bad[] = {
        "Zg",                                            /* not a multiple of 4 */
        "Zg=",       "Z===", "====", "Zm9v=Zm9", "Zm=v", /* padding in the wrong place */
        "Zm9v Zg==",                                     /* whitespace */
        "Zm9\n",     "Zm9*", "Zh==",                     /* non-zero unused bits */
        "Zm9=",                                          /* non-zero unused bits */
        "Zg==Zg==",                                      /* padding before the end */
        "-_-_",                                          /* URL-safe alphabet */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        unsigned char out[64];
        CHECK_EQ_INT(chiso_b64_decode(bad[i], strlen(bad[i]), out), CHISO_EINVAL,
                     "should reject \"%s\"", bad[i]);
    }
}

static void test_b64_binary(void)
{
    unsigned char raw[1000], back[1000];
    char enc[1400];
    for (size_t len = 0; len <= sizeof(raw); len += (len < 10 ? 1 : 97)) {
        for (size_t i = 0; i < len; i++)
            raw[i] = (unsigned char)(i * 37 + len); /* includes NUL bytes */
        chiso_b64_encode(raw, len, enc);
        CHECK_EQ_INT(chiso_b64_decode(enc, strlen(enc), back), len, "binary length %zu", len);
        CHECK(memcmp(raw, back, len) == 0, "binary round trip %zu", len);
    }
}

static const char *str_field(const cJSON *o, const char *k)
{
    const cJSON *i = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(i) ? i->valuestring : NULL;
}

static double num_field(const cJSON *o, const char *k)
{
    const cJSON *i = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(i) ? i->valuedouble : -1e300;
}

static void test_deadletter_json(void)
{
    /* A binary payload with NULs and invalid UTF-8 survives byte for byte. */
    const char payload[] = {'{', '"', 'v', '"', 0, 0, (char)0xff, ':', '1', '}', 0};
    const size_t plen = sizeof(payload);
    chiso_reject rej = {CHISO_REJECT_JSON_SYNTAX, "payload is not valid JSON"};
    char *text, dec[64];
    cJSON *o;
    const char *b64;

    text =
        chiso_deadletter_json("dossier.events", 3, 123456789012LL, &rej, payload, plen, 1751331600);
    CHECK(text != NULL, "deadletter json");
    if (!text)
        return;
    o = cJSON_Parse(text);
    CHECK(o != NULL && cJSON_IsObject(o), "valid JSON: %s", text);
    if (o) {
        CHECK_EQ_INT(cJSON_GetArraySize(o), 8, "exactly the contract fields");
        CHECK(num_field(o, "v") == 1, "v");
        CHECK_EQ_STR(str_field(o, "source_topic"), "dossier.events");
        CHECK(num_field(o, "partition") == 3, "partition");
        CHECK(num_field(o, "offset") == 123456789012.0, "offset");
        CHECK_EQ_STR(str_field(o, "reason"), "json_syntax");
        CHECK_EQ_STR(str_field(o, "detail"), "payload is not valid JSON");
        CHECK_EQ_STR(str_field(o, "at"), "2025-07-01T08:00:00+07:00");
        b64 = str_field(o, "payload_b64");
        CHECK(b64 != NULL, "payload_b64");
        if (b64) {
            CHECK_EQ_INT(chiso_b64_decode(b64, strlen(b64), dec), plen, "payload length");
            CHECK(memcmp(dec, payload, plen) == 0, "payload bytes");
        }
    }
    cJSON_Delete(o);
    free(text);

    /* Every reason code, and an empty payload. */
    for (int r = CHISO_REJECT_JSON_SYNTAX; r < CHISO_REJECT_REASON_COUNT; r++) {
        chiso_reject rj = {(chiso_reject_reason)r, "field 'x' is \"quoted\""};
        text = chiso_deadletter_json("catalog.units", 0, 0, &rj, NULL, 0, 0);
        o = text ? cJSON_Parse(text) : NULL;
        CHECK(o != NULL, "reason %d", r);
        if (o) {
            CHECK_EQ_STR(str_field(o, "reason"), chiso_reject_code((chiso_reject_reason)r));
            CHECK_EQ_STR(str_field(o, "detail"), "field 'x' is \"quoted\"");
            CHECK_EQ_STR(str_field(o, "payload_b64"), "");
            CHECK_EQ_STR(str_field(o, "at"), "1970-01-01T07:00:00+07:00");
        }
        cJSON_Delete(o);
        free(text);
    }

    /* A too_large payload (64 KiB + 1) is kept whole. */
    {
        size_t n = 64 * 1024 + 1;
        char *big = malloc(n), *back = malloc(n);
        chiso_reject rj = {CHISO_REJECT_TOO_LARGE, "too large"};
        memset(big, 'x', n);
        big[100] = 0;
        text = chiso_deadletter_json("dossier.events", 1, 2, &rj, big, n, 0);
        o = text ? cJSON_Parse(text) : NULL;
        b64 = o ? str_field(o, "payload_b64") : NULL;
        CHECK(b64 && chiso_b64_decode(b64, strlen(b64), back) == (long)n &&
                  memcmp(big, back, n) == 0,
              "large payload round trip");
        cJSON_Delete(o);
        free(text);
        free(big);
        free(back);
    }
}

int main(void)
{
    test_b64_vectors();
    test_b64_invalid();
    test_b64_binary();
    test_deadletter_json();
    return CHECK_DONE();
}
