/*
 * test_event_diff.c - chiso_event_parse() (jscan, no tree) against the cJSON
 * parser it replaced (tests/fuzz/event_cjson.c): the same verdict, detail
 * and event for
 *   - every seed of the event fuzzer,
 *   - the corners where cJSON's grammar is not JSON's (a byte order mark,
 *     U+0000 cutting names and values, repeated names, number forms strtod
 *     takes, bad \u digits, nesting at the limit, raw controls),
 *   - and a few hundred thousand mutations of valid records (a fixed seed),
 * with every case's verdict checked, not only agreement: some of each kind
 * must be accepted and rejected.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "event_diff.h"
#include "parse_util.h"

/* the common fields but v and event_id, then with them */
#define TAIL                                                                                       \
    "\"dossier_id\":\"D-1\",\"unit\":\"H21.42\",\"procedure\":\"1.004227\","                       \
    "\"at\":\"2025-07-01T08:00:00+07:00\""
#define REST "\"event_id\":\"e-1\"," TAIL
#define HEAD "\"v\":1," REST

static int same(const char *data, size_t size)
{
    char why[512];
    if (event_diff_same(data, size, why, sizeof(why)))
        return 1;
    fprintf(stderr, "differs on %zu bytes '%.*s': %s\n", size, (int)(size < 300 ? size : 300), data,
            why);
    return 0;
}

/* 1 when chiso_event_parse accepts it. */
static int accepted(const char *s)
{
    chiso_event ev;
    chiso_reject rej;
    return chiso_event_parse(s, strlen(s), &ev, &rej) == 0;
}

static void seeds(void)
{
    DIR *d = opendir(CHISO_EVENT_SEEDS);
    struct dirent *e;
    int n = 0;
    CHECK(d != NULL, "open %s", CHISO_EVENT_SEEDS);
    while (d && (e = readdir(d))) {
        char path[1024], buf[70000];
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", CHISO_EVENT_SEEDS, e->d_name);
        FILE *f = fopen(path, "rb");
        CHECK(f != NULL, "open %s", path);
        if (!f)
            continue;
        size_t len = fread(buf, 1, sizeof(buf), f);
        fclose(f);
        CHECK(same(buf, len), "seed %s", e->d_name);
        n++;
    }
    if (d)
        closedir(d);
    CHECK(n >= 10, "%d seeds", n);
}

static void corners(void)
{
    /* expected: 1 accepted, 0 rejected (by both) */
    static const struct {
        const char *json;
        int ok;
    } cases[] = {
        {"{" HEAD ",\"type\":\"processing\"}", 1},
        {"\xEF\xBB\xBF{" HEAD ",\"type\":\"processing\"}", 1}, /* a byte order mark */
        {"\xEF\xBB\xBF", 0},                                   /* only one */
        {" \t\r\n{" HEAD ",\"type\":\"processing\"} \n", 1},   /* whitespace around */
        {"{" HEAD ",\"type\":\"processing\"} x", 0},           /* data after */
        {"[1]", 0},                                            /* not an object */
        {"\"x\"", 0},
        {"{" HEAD ",\"type\":\"processing\",\"type\":\"bogus\"}", 1}, /* the first counts */
        {"{" HEAD ",\"ty\\u0070e\":\"processing\"}", 1},              /* an escaped name */
        {"{" HEAD ",\"type\\u0000x\":\"processing\"}", 1},            /* cut at U+0000 */
        {"{" HEAD ",\"type\":\"processing\\u0000junk\"}", 1},         /* a value too */
        {"{" HEAD ",\"type\":\"processing\\u00zz\"}", 1},             /* bad hex: U+0000, the end */
        {"{" HEAD ",\"type\":\"processing\\u12\"}", 0},               /* too short */
        {"{" HEAD ",\"type\":\"processing\",\"x\":\"\\ud800\"}", 0},  /* a lone high surrogate */
        {"{" HEAD ",\"type\":\"processing\",\"x\":\"\\udc00\"}", 0},  /* a lone low one */
        {"{" HEAD ",\"type\":\"processing\",\"x\":\"\\ud83d\\ude00\"}", 1}, /* a pair */
        {"{" HEAD ",\"type\":\"processing\",\"x\":\"\\q\"}", 0},            /* a bad escape */
        {"{" HEAD ",\"type\":\"processing\",\"x\":\"a\tb\"}", 1},  /* raw tab in a string */
        {"{" HEAD ",\"type\":\"processing\",\"x\":\"a\x01\"}", 0}, /* raw control */
        {"{" HEAD ",\"type\":\"processing\"}\x01", 0},
        {"{" HEAD ",\"type\":\"processing\",\"x\":\"\\u\\\x16"
         "abc\"}",
         0},                                                /* in bad hex digits */
        {"{\"v\":01," REST ",\"type\":\"processing\"}", 1}, /* strtod takes 01 */
        {"{\"v\":1.," REST ",\"type\":\"processing\"}", 1}, /* and 1. */
        {"{\"v\":1.0e0," REST ",\"type\":\"processing\"}", 1},
        {"{\"v\":-1," REST ",\"type\":\"processing\"}", 0},
        {"{\"v\":1e999," REST ",\"type\":\"processing\"}", 0}, /* inf */
        {"{\"v\":1-2," REST ",\"type\":\"processing\"}", 0},   /* strtod stops at - */
        {"{\"v\":-," REST ",\"type\":\"processing\"}", 0},
        {"{\"v\":+1," REST ",\"type\":\"processing\"}", 0},
        {"{\"v\":.5," REST ",\"type\":\"processing\"}", 0},
        {"{\"v\":1.00000000000000000000000000000000000000000000000000000000000000000000000000," REST
         ",\"type\":\"processing\"}",
         1}, /* long: Debian's cJSON reads it whole */
        {"{" HEAD ",\"type\":\"fee_requested\",\"amount\":-0}", 1},
        {"{" HEAD ",\"type\":\"fee_requested\",\"amount\":9007199254740992}", 1},
        {"{" HEAD ",\"type\":\"fee_requested\",\"amount\":9007199254740993}", 1},
        {"{" HEAD ",\"type\":\"fee_requested\",\"amount\":12345678901234567890}", 0},
        {"{" HEAD ",\"type\":\"fee_requested\",\"amount\":1.5}", 0},
        {"{" HEAD ",\"type\":\"rated\",\"satisfied\":null}", 0},
        {"{" HEAD ",\"type\":\"rated\",\"satisfied\":truex}", 0},
        {"{" HEAD ",\"type\":\"processing\",}", 0},
        {"{" HEAD ",\"type\":\"processing\",\"x\":[1,{\"a\":[]},\"b\"]}", 1},
        {"{" HEAD ",\"type\":\"processing\",\"x\":[1,]}", 0},
        {"{}", 0},
        {"{ }", 0},
        {"", 0},
        {"   ", 0},
        {"{\"", 0},
        {"{\"a\\", 0},
    };
    int acc = 0;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *j = cases[i].json;
        CHECK(same(j, strlen(j)), "corner %zu", i);
        CHECK_EQ_INT(accepted(j), cases[i].ok, "corner %zu: %s", i, j);
        acc += cases[i].ok;
    }
    CHECK(acc > 5, "some corners accepted");

    /* nesting: 1000 containers deep is cJSON's limit, the object counting */
    for (int depth = 997; depth <= 1002; depth++) {
        size_t n = 0;
        char *j = malloc(4096);
        n += (size_t)sprintf(j, "{" HEAD ",\"type\":\"processing\",\"x\":");
        for (int k = 1; k < depth; k++)
            j[n++] = '[';
        for (int k = 1; k < depth; k++)
            j[n++] = ']';
        j[n++] = '}';
        CHECK(same(j, n), "depth %d", depth);
        chiso_event ev;
        chiso_reject rej;
        CHECK_EQ_INT(chiso_event_parse(j, n, &ev, &rej) == 0, depth <= 1000, "depth %d", depth);
        free(j);
    }

    /* a long escaped name and a long escaped value (the scan's heap) */
    {
        char *j = malloc(16384);
        size_t n = (size_t)sprintf(j, "{\"type\\u0000");
        for (int k = 0; k < 1000; k++)
            n += (size_t)sprintf(j + n, "\\u0041");
        n += (size_t)sprintf(j + n, "\":\"processing\",\"event_id\":\"");
        for (int k = 0; k < 700; k++)
            n += (size_t)sprintf(j + n, "\\u00e9");
        n += (size_t)sprintf(j + n, "\",\"v\":1," TAIL "}");
        CHECK(same(j, n), "long escapes");
        free(j);
    }
}

/* xorshift64*: a fixed sequence */
static uint64_t rng = 0x9E3779B97F4A7C15ULL;
static uint64_t next(void)
{
    rng ^= rng >> 12, rng ^= rng << 25, rng ^= rng >> 27;
    return rng * 2685821657736338717ULL;
}

static void mutations(void)
{
    static const char *const valid[] = {
        "{" HEAD ",\"type\":\"submitted\",\"channel\":\"online\"}",
        "{" HEAD ",\"type\":\"received\",\"due_at\":\"2025-07-03T17:00:00+07:00\","
        "\"digitized\":true,\"reused_data\":false}",
        "{" HEAD ",\"type\":\"fee_requested\",\"amount\":150000}",
        "{" HEAD ",\"type\":\"paid\",\"method\":\"dvcqg_platform\"}",
        "{" HEAD ",\"type\":\"resolved\",\"outcome\":\"approved\",\"e_result\":true}",
        "{" HEAD ",\"type\":\"returned\",\"delivery\":\"online\",\"paper_copy\":false}",
        "{" HEAD ",\"type\":\"rated\",\"satisfied\":true,\"note\":{\"a\":[1,2.5e3,null]}}",
        "{" HEAD ",\"type\":\"not_accepted\",\"reason\":\"thi\\u1ebfu gi\\u1ea5y t\\u1edd\"}",
    };
    /* bytes that matter to the grammar */
    static const char alphabet[] =
        "{}[]\":,\\u0123456789abcdefABCDEF-+.eEtrunlsfx \t\n\r\x01\xEF\xBB\xBF";
    char buf[1024];
    long accepted_n = 0, rejected_n = 0, differ = 0;
    const long runs = 200000;
    for (long r = 0; r < runs; r++) {
        const char *src = valid[next() % (sizeof(valid) / sizeof(valid[0]))];
        size_t n = strlen(src);
        memcpy(buf, src, n);
        int edits = 1 + (int)(next() % 3);
        for (int e = 0; e < edits; e++) {
            size_t at = (size_t)(next() % (n + 1));
            char c = alphabet[next() % (sizeof(alphabet) - 1)];
            switch (next() % 4) {
            case 0: /* replace */
                if (at < n)
                    buf[at] = c;
                break;
            case 1: /* insert */
                if (n + 1 < sizeof(buf)) {
                    memmove(buf + at + 1, buf + at, n - at);
                    buf[at] = c, n++;
                }
                break;
            case 2: /* delete */
                if (at < n) {
                    memmove(buf + at, buf + at + 1, n - at - 1);
                    n--;
                }
                break;
            default: /* cut */
                n = at;
                break;
            }
        }
        if (!same(buf, n) && ++differ > 5)
            break;
        chiso_event ev;
        chiso_reject rej;
        if (chiso_event_parse(buf, n, &ev, &rej) == 0)
            accepted_n++;
        else
            rejected_n++;
    }
    CHECK_EQ_INT(differ, 0, "mutations on which the parsers differ");
    CHECK(accepted_n > runs / 20 && rejected_n > runs / 5, "%ld accepted, %ld rejected", accepted_n,
          rejected_n);
    printf("mutations: %ld accepted, %ld rejected, %ld differ\n", accepted_n, rejected_n, differ);
}

/* The code check both parsers share, against a plain reference: every
 * byte in every place, with each punctuation set the contract uses, and
 * the length limit. */
static int code_ok_reference(const char *s, size_t max, const char *extra)
{
    size_t n = strlen(s);
    if (n == 0 || n > max)
        return 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        bool alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        if (!alnum && !strchr(extra, c))
            return 0;
    }
    return 1;
}

static void code_checks(void)
{
    static const char *const sets[] = {"", "._-", "._:/-"};
    /* lengths around the four-byte turns of chiso_pu_code_ok */
    static const size_t lens[] = {1, 3, 4, 5, 7, 8, 9, 12, 13};
    int differ = 0, accepted = 0;
    for (size_t k = 0; k < sizeof(sets) / sizeof(sets[0]); k++) {
        for (size_t l = 0; l < sizeof(lens) / sizeof(lens[0]); l++) {
            for (int c = 1; c < 256; c++) {
                for (size_t at = 0; at < lens[l]; at++) {
                    char t[16];
                    for (size_t i = 0; i < lens[l]; i++)
                        t[i] = "aZ9"[i % 3];
                    t[lens[l]] = '\0';
                    t[at] = (char)c;
                    for (size_t max = lens[l] - 1; max <= lens[l] + 1; max++) {
                        int want = code_ok_reference(t, max, sets[k]);
                        differ += chiso_pu_code_ok(t, max, sets[k]) != want;
                        accepted += want;
                    }
                }
            }
        }
        differ += chiso_pu_code_ok("", 3, sets[k]) != 0;
        differ += chiso_pu_code_ok("abcd", 3, sets[k]) != 0;
        differ += chiso_pu_code_ok("abc", 3, sets[k]) != 1;
    }
    CHECK_EQ_INT(differ, 0, "code checks equal the reference (%d accepted)", accepted);
    CHECK(accepted > 3 * 3 * 62, "letters and digits accepted everywhere");
}

/* chiso_pu_printable_utf8 by its definition: UTF-8 in shortest form, no
 * surrogate, nothing above U+10FFFF, no C0 or C1 control and no DEL. */
static int printable_reference(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned c = s[i];
        size_t n = c < 0x80             ? 1
                   : (c & 0xe0) == 0xc0 ? 2
                   : (c & 0xf0) == 0xe0 ? 3
                   : (c & 0xf8) == 0xf0 ? 4
                                        : 0;
        if (n == 0 || len - i < n)
            return 0;
        uint32_t cp = n == 1 ? c : n == 2 ? (c & 0x1f) : n == 3 ? (c & 0x0f) : (c & 0x07);
        for (size_t k = 1; k < n; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        static const uint32_t least[] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < least[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) || cp < 0x20 ||
            (cp >= 0x7f && cp <= 0x9f))
            return 0;
        i += n;
    }
    return 1;
}

/* chiso_pu_printable_utf8 (which the cJSON parser shares, so the fuzzer
 * cannot see a change to it) against printable_reference, on strings of
 * 0..40 bytes pieced from printable ASCII, controls, DEL, valid and C1
 * sequences of two to four bytes, stray and truncated bytes. */
static void printable_checks(void)
{
    static const char *const pieces[] = {"a",
                                         "Z",
                                         "7",
                                         " ",
                                         "~",
                                         "-",
                                         "\x7f",
                                         "\x1f",
                                         "\t",
                                         "\x01",
                                         "\xc3\xa1",
                                         "\xe1\xba\xa1",
                                         "\xf0\x9f\x98\x80",
                                         "\xc2\x80",
                                         "\xc2\x9f",
                                         "\xc2\xa0",
                                         "\x80",
                                         "\xc0\xaf",
                                         "\xe0\x80\xaf",
                                         "\xed\xa0\x80",
                                         "\xf4\x90\x80\x80",
                                         "\xf5",
                                         "\xff",
                                         "\xc3",
                                         "\xe1\xba",
                                         "\xf0\x9f\x98"};
    uint64_t x = 0x9e3779b97f4a7c15ull;
    int differ = 0, accepted = 0;
    for (int n = 0; n < 400000; n++) {
        unsigned char t[64];
        size_t len = 0;
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        size_t want_len = (size_t)(x % 41);
        while (len < want_len) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            /* mostly plain ASCII, as ids are */
            const char *p =
                (x & 3) ? pieces[x % 4] : pieces[(x >> 8) % (sizeof(pieces) / sizeof(pieces[0]))];
            size_t pl = strlen(p);
            if (len + pl > want_len)
                break;
            memcpy(t + len, p, pl);
            len += pl;
        }
        int want = printable_reference(t, len);
        differ += chiso_pu_printable_utf8(t, len) != want;
        accepted += want;
    }
    CHECK_EQ_INT(differ, 0, "printable UTF-8 equals the reference (%d of 400000 accepted)",
                 accepted);
    CHECK(accepted > 10000 && accepted < 390000, "both verdicts are drawn");
}

int main(void)
{
    code_checks();
    printable_checks();
    seeds();
    corners();
    mutations();
    return CHECK_DONE();
}
