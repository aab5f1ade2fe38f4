/*
 * test_jscan.c - chiso_jscan_object_ordered() against chiso_jscan_object():
 * the same result, flag and values for every text, read without a name
 * lookup exactly when the text is in its writers' layout (jscan.h).
 */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "jscan_diff.h"

enum { S_V, S_ID, S_UNIT, S_N, S_FLAG, S_NOTE, S_COUNT };
static const char *const names[S_COUNT] = {"v", "id", "unit", "n", "flag", "note"};
static const chiso_jscan_name layout_names[S_COUNT] = {
    CHISO_JSCAN_NAME("v"), CHISO_JSCAN_NAME("id"),   CHISO_JSCAN_NAME("unit"),
    CHISO_JSCAN_NAME("n"), CHISO_JSCAN_NAME("flag"), CHISO_JSCAN_NAME("note")};

static int lookups; /* the ordered scan's name lookups */

static int slot_of(const char *name, size_t len)
{
    for (int i = 0; i < S_COUNT; i++)
        if (strlen(names[i]) == len && memcmp(names[i], name, len) == 0)
            return i;
    return -1;
}

static int counted_slot_of(const char *name, size_t len)
{
    lookups++;
    return slot_of(name, len);
}

/* The two scans of `text` agree; returns whether the ordered one looked a
 * name up (it read the text as the general scan does). */
static int agree(const char *text, size_t len)
{
    char why[512];
    lookups = 0;
    CHECK(jscan_diff_same(counted_slot_of, slot_of, layout_names, S_COUNT, text, len, why,
                          sizeof(why)),
          "'%.*s': %s", (int)len, text, why);
    return lookups > 0;
}

static int agree_str(const char *text)
{
    return agree(text, strlen(text));
}

/* Texts in the layout: read without a lookup, as the general scan reads them. */
static void layout(void)
{
    static const char *const texts[] = {
        "{\"v\":1,\"id\":\"a-1\",\"unit\":\"H21\",\"n\":-42,\"flag\":true,\"note\":null}",
        "{\"v\":1}",
        "{\"id\":\"\",\"flag\":false}",
        "{\"v\":0,\"n\":123456789012345}",
        "{\"v\":-0,\"n\":007}",
        "{\"note\":\"tab\there\"}",
        "{\"note\":\"a raw \x01 control\"}",
        "{\"unit\":\"ti\xe1\xba\xbfng Vi\xe1\xbb\x87t\"}",
    };
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
        CHECK(!agree_str(texts[i]), "'%s' read without a lookup", texts[i]);
    /* a NUL inside a string: the value's length is the bytes', as before */
    static const char nul[] = "{\"id\":\"a\0b\"}";
    CHECK(!agree(nul, sizeof(nul) - 1), "a NUL in a string read without a lookup");
}

/* Texts outside it: read by the general scan, with its verdict. */
static void other(void)
{
    static const char *const texts[] = {
        "{ \"v\":1}",               /* whitespace */
        "{\"v\":1 }",               /* whitespace */
        "{\"v\" :1}",               /* whitespace */
        "{\"id\":\"a\",\"v\":1}",   /* out of order */
        "{\"v\":1,\"v\":2}",        /* repeated: the first counts */
        "{\"v\":1,\"other\":2}",    /* a name not in the table */
        "{\"id\":\"a\\\"b\"}",      /* an escape */
        "{\"\\u0076\":1}",          /* an escaped name */
        "{\"n\":1234567890123456}", /* sixteen digits */
        "{\"n\":1.5}",              /* a fraction */
        "{\"n\":1e3}",              /* an exponent */
        "{\"n\":-}",                /* no digit */
        "{\"n\":[1,2]}",            /* an array */
        "{\"n\":{\"v\":1}}",        /* an object */
        "\xEF\xBB\xBF{\"v\":1}",    /* byte order mark */
        "{\"v\":1}}",               /* trailing */
        "{\"v\":1,}",               /* a comma, then the end */
        "{\"v\":tru}",              /* a bad literal */
        "{\"v\":1}\n",              /* whitespace after */
        "{\"id\":\"unterminated}",  /* no closing quote */
        "{\"v\"",                   /* cut */
        "{\"v\":",                  /* cut */
    };
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
        CHECK(agree_str(texts[i]), "'%s' read by the general scan", texts[i]);
    /* no member to look up: only the verdict can be compared */
    agree_str("{}");
    agree_str("[1,2]");
    agree_str("");
    /* strings past the scan's own 512 bytes */
    char big[1200];
    int n = snprintf(big, sizeof(big), "{\"id\":\"%0400d\",\"note\":\"%0400d\"}", 1, 2);
    CHECK(agree(big, (size_t)n), "long strings read by the general scan");
}

/* Every prefix and every one-byte change of a text in the layout. */
static void mutations(void)
{
    static const char base[] =
        "{\"v\":1,\"id\":\"a-1\",\"unit\":\"H21\",\"n\":-42,\"flag\":true,\"note\":null}";
    char text[sizeof(base)];
    static const char bytes[] = "{}[]\",:\\ -0123456789.eEtfnul\x01\xff";
    int fast = 0, general = 0;
    for (size_t len = 0; len < sizeof(base); len++) {
        memcpy(text, base, sizeof(base));
        agree(text, len) ? general++ : fast++;
        for (size_t b = 0; b + 1 < sizeof(bytes); b++) {
            if (len + 1 >= sizeof(base))
                break;
            text[len] = bytes[b];
            agree(text, sizeof(base) - 1) ? general++ : fast++;
            text[len] = base[len];
        }
    }
    CHECK(fast > 0 && general > 0, "both readings: %d without a lookup, %d with", fast, general);
}

int main(void)
{
    layout();
    other();
    mutations();
    return CHECK_DONE();
}
