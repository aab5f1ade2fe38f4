/*
 * test_jsonw.c - the JSON writer prints what cJSON prints: every number
 * kind a snapshot holds (counts, two-decimal points, rates, targets) and
 * arbitrary doubles against cJSON_PrintUnformatted of the same number;
 * strings with every escape; nesting and the failures.
 */
#include "chiso/jsonw.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "check.h"

static int mismatches;

/* chiso_json_number(d) against cJSON's print of d. */
static void same_as_cjson(double d)
{
    char mine[CHISO_JSON_NUMBER_MAX];
    size_t n = chiso_json_number(d, mine);
    cJSON *num = cJSON_CreateNumber(d);
    char *theirs = num ? cJSON_PrintUnformatted(num) : NULL;

    if (!theirs || strcmp(mine, theirs) != 0 || n != strlen(mine)) {
        if (mismatches++ < 10)
            fprintf(stderr, "%.17g: cJSON \"%s\", chiso_json_number \"%s\" (%zu)\n", d,
                    theirs ? theirs : "(none)", mine, n);
    }
    free(theirs);
    cJSON_Delete(num);
}

static uint64_t rng = 0x9E3779B97F4A7C15ULL;
static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void numbers(void)
{
    static const double special[] = {0.0,          -0.0,
                                     1.0,          -1.0,
                                     0.5,          0.7,
                                     0.1 + 0.2,    1e15,
                                     -1e15,        1e15 - 1,
                                     1e13,         1e13 - 0.01,
                                     1e-4,         1e-5,
                                     2147483647.0, -2147483648.0,
                                     2147483648.0, 4294967296.5,
                                     1e300,        -1e-300,
                                     5e-324,       1.7976931348623157e308,
                                     99.995,       0.015,
                                     100.0 / 3};
    for (size_t i = 0; i < sizeof(special) / sizeof(special[0]); i++)
        same_as_cjson(special[i]);
    same_as_cjson(NAN);
    same_as_cjson(INFINITY);
    same_as_cjson(-INFINITY);
    /* points, lost, gain, totals: round(x * 100) / 100, as chiso_score_round2 */
    for (long long k = -20000; k <= 20000; k++)
        same_as_cjson((double)k / 100.0);
    for (int i = 0; i < 5000; i++) {
        long long k = (long long)(next() % 2000000000000000ULL) - 1000000000000000LL;
        same_as_cjson(round((double)k) / 100.0);
        same_as_cjson(round(((double)k / 1e6) * 100.0) / 100.0);
    }
    /* rates: num / den of counts */
    for (int i = 0; i < 10000; i++) {
        uint64_t den = 1 + next() % (i < 5000 ? 1000 : 10000000);
        uint64_t num = next() % (den + 1);
        same_as_cjson((double)num / (double)den);
    }
    /* any finite double */
    for (int i = 0; i < 5000; i++) {
        uint64_t bits = next();
        double d;
        memcpy(&d, &bits, sizeof(d));
        same_as_cjson(d);
    }
    CHECK(mismatches == 0, "%d numbers print unlike cJSON", mismatches);
}

/* Write an object holding s, the same through cJSON. */
static void strings(void)
{
    static const char *const s[] = {"",
                                    "Sở Tư pháp",
                                    "quote \" and backslash \\",
                                    "tab\there, new\nline, cr\r, bs\b, ff\f",
                                    "\x01\x02\x1f and \x7f",
                                    "Ủy ban nhân dân xã Đông Hòa / 100%",
                                    "0123456789abcdef0123456789abcdef\"0123456789abcdef\x1f",
                                    "0123456789abcdef\\"};
    for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
        chiso_jw w;
        chiso_jw_init(&w);
        chiso_jw_object(&w, NULL);
        chiso_jw_string(&w, s[i], s[i]);
        chiso_jw_end(&w);
        size_t len = 0;
        char *mine = chiso_jw_take(&w, &len);

        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, s[i], s[i]);
        char *theirs = cJSON_PrintUnformatted(o);
        CHECK(mine && theirs && strcmp(mine, theirs) == 0 && len == strlen(mine),
              "string %zu: \"%s\" vs cJSON \"%s\"", i, mine ? mine : "(null)",
              theirs ? theirs : "(null)");
        free(mine);
        free(theirs);
        cJSON_Delete(o);
    }
}

static void nesting(void)
{
    chiso_jw w;
    chiso_jw_init(&w);
    chiso_jw_object(&w, NULL);
    chiso_jw_number(&w, "a", 1);
    chiso_jw_array(&w, "empty");
    chiso_jw_end(&w);
    chiso_jw_object(&w, "none");
    chiso_jw_end(&w);
    chiso_jw_array(&w, "list");
    chiso_jw_object(&w, NULL);
    chiso_jw_null(&w, "x");
    chiso_jw_end(&w);
    chiso_jw_number(&w, NULL, 2.5);
    chiso_jw_string(&w, NULL, "s");
    chiso_jw_end(&w);
    chiso_jw_end(&w);
    char *text = chiso_jw_take(&w, NULL);
    CHECK_EQ_STR(text, "{\"a\":1,\"empty\":[],\"none\":{},\"list\":[{\"x\":null},2.5,\"s\"]}",
                 "nested containers");
    free(text);

    /* a NULL string is written "" */
    chiso_jw_init(&w);
    chiso_jw_object(&w, NULL);
    chiso_jw_string(&w, "x", NULL);
    chiso_jw_end(&w);
    text = chiso_jw_take(&w, NULL);
    CHECK_EQ_STR(text, "{\"x\":\"\"}", "a NULL string");
    free(text);

    /* a container left open, a close with none open, too deep: no text */
    chiso_jw_init(&w);
    chiso_jw_object(&w, NULL);
    CHECK(chiso_jw_take(&w, NULL) == NULL, "an open object is not a text");
    chiso_jw_init(&w);
    chiso_jw_end(&w);
    CHECK(chiso_jw_take(&w, NULL) == NULL, "a close with nothing open fails");
    chiso_jw_init(&w);
    for (int i = 0; i <= CHISO_JW_DEPTH; i++)
        chiso_jw_array(&w, NULL);
    for (int i = 0; i <= CHISO_JW_DEPTH; i++)
        chiso_jw_end(&w);
    CHECK(chiso_jw_take(&w, NULL) == NULL, "nesting past CHISO_JW_DEPTH fails");
    chiso_jw_init(&w);
    CHECK(chiso_jw_take(&w, NULL) == NULL, "nothing written is not a text");
}

int main(void)
{
    numbers();
    strings();
    nesting();
    return CHECK_DONE();
}
