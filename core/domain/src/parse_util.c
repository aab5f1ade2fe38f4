/*
 * parse_util.c - validation helpers shared by the parsers (parse_util.h).
 */
#include "parse_util.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chiso/common.h"

int chiso_pu_reject(chiso_reject *rej, chiso_reject_reason reason, const char *fmt, ...)
{
    va_list ap;
    if (rej) {
        rej->reason = reason;
        va_start(ap, fmt);
        vsnprintf(rej->detail, sizeof(rej->detail), fmt, ap);
        va_end(ap);
    }
    return CHISO_EINVAL;
}

/* Whether the eight bytes at s are all printable ASCII (0x20..0x7e). */
static bool printable_ascii8(const unsigned char *s)
{
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    uint64_t w;
    memcpy(&w, s, sizeof(w));
    /* a byte with its high bit, a byte below 0x20, a byte equal to 0x7f */
    uint64_t below = (w - ones * 0x20) & ~w & highs;
    uint64_t del = w ^ (ones * 0x7f);
    del = (del - ones) & ~del & highs;
    return ((w & highs) | below | del) == 0;
}

/* Valid UTF-8 (shortest form, no surrogates, <= U+10FFFF) without C0, DEL
 * or C1 control characters. */
int chiso_pu_printable_utf8(const unsigned char *s, size_t len)
{
    size_t i = 0;
    /* ids are mostly ASCII: eight bytes a turn while they are */
    while (len - i >= 8 && printable_ascii8(s + i))
        i += 8;
    while (i < len) {
        unsigned c = s[i];
        uint32_t cp;
        int n;
        if (c >= 0x20 && c < 0x7f) { /* printable ASCII, the common case */
            i++;
            continue;
        }
        if (c < 0x80) {
            if (c < 0x20 || c == 0x7f)
                return 0;
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) {
            n = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            n = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 3;
            cp = c & 0x07;
        } else {
            return 0;
        }
        if (len - i <= (size_t)n)
            return 0;
        for (int k = 1; k <= n; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp <= 0x9f))
            return 0;
        i += (size_t)n + 1;
    }
    return 1;
}

/* Byte classes for codes: letters and digits, and each punctuation mark a
 * caller allows (CODE_* bits); 0 for every other byte, NUL included. */
enum {
    CODE_ALNUM = 1,
    CODE_DOT = 2,
    CODE_UNDERSCORE = 4,
    CODE_DASH = 8,
    CODE_COLON = 16,
    CODE_SLASH = 32
};
static const unsigned char code_class[256] = {
    ['0'] = CODE_ALNUM, ['1'] = CODE_ALNUM, ['2'] = CODE_ALNUM, ['3'] = CODE_ALNUM,
    ['4'] = CODE_ALNUM, ['5'] = CODE_ALNUM, ['6'] = CODE_ALNUM, ['7'] = CODE_ALNUM,
    ['8'] = CODE_ALNUM, ['9'] = CODE_ALNUM, ['A'] = CODE_ALNUM, ['B'] = CODE_ALNUM,
    ['C'] = CODE_ALNUM, ['D'] = CODE_ALNUM, ['E'] = CODE_ALNUM, ['F'] = CODE_ALNUM,
    ['G'] = CODE_ALNUM, ['H'] = CODE_ALNUM, ['I'] = CODE_ALNUM, ['J'] = CODE_ALNUM,
    ['K'] = CODE_ALNUM, ['L'] = CODE_ALNUM, ['M'] = CODE_ALNUM, ['N'] = CODE_ALNUM,
    ['O'] = CODE_ALNUM, ['P'] = CODE_ALNUM, ['Q'] = CODE_ALNUM, ['R'] = CODE_ALNUM,
    ['S'] = CODE_ALNUM, ['T'] = CODE_ALNUM, ['U'] = CODE_ALNUM, ['V'] = CODE_ALNUM,
    ['W'] = CODE_ALNUM, ['X'] = CODE_ALNUM, ['Y'] = CODE_ALNUM, ['Z'] = CODE_ALNUM,
    ['a'] = CODE_ALNUM, ['b'] = CODE_ALNUM, ['c'] = CODE_ALNUM, ['d'] = CODE_ALNUM,
    ['e'] = CODE_ALNUM, ['f'] = CODE_ALNUM, ['g'] = CODE_ALNUM, ['h'] = CODE_ALNUM,
    ['i'] = CODE_ALNUM, ['j'] = CODE_ALNUM, ['k'] = CODE_ALNUM, ['l'] = CODE_ALNUM,
    ['m'] = CODE_ALNUM, ['n'] = CODE_ALNUM, ['o'] = CODE_ALNUM, ['p'] = CODE_ALNUM,
    ['q'] = CODE_ALNUM, ['r'] = CODE_ALNUM, ['s'] = CODE_ALNUM, ['t'] = CODE_ALNUM,
    ['u'] = CODE_ALNUM, ['v'] = CODE_ALNUM, ['w'] = CODE_ALNUM, ['x'] = CODE_ALNUM,
    ['y'] = CODE_ALNUM, ['z'] = CODE_ALNUM, ['.'] = CODE_DOT,   ['_'] = CODE_UNDERSCORE,
    ['-'] = CODE_DASH,  [':'] = CODE_COLON, ['/'] = CODE_SLASH,
};

/* The same check byte by byte, for punctuation code_class has no bit for. */
static int code_ok_any(const char *s, size_t max, const char *extra)
{
    size_t i;
    for (i = 0; s[i]; i++) {
        unsigned char c = (unsigned char)s[i];
        if (i >= max)
            return 0;
        if (code_class[c] == CODE_ALNUM)
            continue;
        const char *x = extra;
        while (*x && (unsigned char)*x != c)
            x++;
        if (!*x)
            return 0;
    }
    return i > 0;
}

/* 1..max bytes of [A-Za-z0-9] plus the punctuation in `extra`. */
int chiso_pu_code_ok(const char *s, size_t max, const char *extra)
{
    unsigned allowed = CODE_ALNUM;
    for (const char *x = extra; *x; x++) {
        unsigned bit = code_class[(unsigned char)*x];
        if (bit == 0 || bit == CODE_ALNUM)
            return code_ok_any(s, max, extra);
        allowed |= bit;
    }
    /* the length first (no byte past the NUL is read), then four bytes a
     * turn: a code is read three times per event */
    size_t n = strnlen(s, max + 1), i = 0;
    if (n == 0 || n > max)
        return 0;
    const unsigned char *u = (const unsigned char *)s;
    for (; i + 4 <= n; i += 4) {
        if (!((code_class[u[i]] & allowed) && (code_class[u[i + 1]] & allowed) &&
              (code_class[u[i + 2]] & allowed) && (code_class[u[i + 3]] & allowed)))
            return 0;
    }
    for (; i < n; i++)
        if (!(code_class[u[i]] & allowed))
            return 0;
    return 1;
}

/* JSON text may contain no raw control byte other than its four whitespace
 * characters (inside strings they must be escaped). cJSON is lenient here,
 * treating any byte <= 0x20 as whitespace, so this check keeps us strict. */
int chiso_pu_no_raw_controls(const char *buf, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)buf[i];
        if (c < 0x20 && c != ' ' && c != '\t' && c != '\n' && c != '\r')
            return 0;
    }
    return 1;
}

static int is_json_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

int chiso_pu_parse_record(const char *buf, size_t len, cJSON **root, chiso_reject *rej)
{
    const char *end = NULL;
    size_t i;

    *root = NULL;
    if (len > CHISO_EVENT_MAX_BYTES)
        return chiso_pu_reject(rej, CHISO_REJECT_TOO_LARGE,
                               "payload of %zu bytes is over the %d-byte limit", len,
                               CHISO_EVENT_MAX_BYTES);
    for (i = 0; i < len && is_json_space(buf[i]); i++)
        ;
    if (i == len)
        return 1; /* empty (or blank) value: tombstone */
    if (!chiso_pu_no_raw_controls(buf, len))
        return chiso_pu_reject(rej, CHISO_REJECT_JSON_SYNTAX,
                               "payload contains a raw control byte");
    cJSON *r = cJSON_ParseWithLengthOpts(buf, len, &end, 0);
    if (!r)
        return chiso_pu_reject(rej, CHISO_REJECT_JSON_SYNTAX, "payload is not valid JSON");
    while (end < buf + len && is_json_space(*end))
        end++;
    int rc = 0;
    if (end != buf + len)
        rc =
            chiso_pu_reject(rej, CHISO_REJECT_JSON_SYNTAX, "payload has data after the JSON value");
    else if (cJSON_IsNull(r))
        rc = 1; /* JSON null: tombstone */
    else if (!cJSON_IsObject(r))
        rc = chiso_pu_reject(rej, CHISO_REJECT_JSON_SYNTAX, "payload is not a JSON object");
    if (rc != 0) {
        cJSON_Delete(r);
        return rc;
    }
    *root = r;
    return 0;
}

int chiso_pu_check_head(const cJSON *root, const char *const *required, int n, chiso_reject *rej)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "v");
    if (!v)
        return chiso_pu_reject(rej, CHISO_REJECT_MISSING_FIELD, "field 'v' is missing");
    if (!cJSON_IsNumber(v) || v->valuedouble != 1.0)
        return chiso_pu_reject(rej, CHISO_REJECT_BAD_VALUE, "field 'v' must be the number 1");
    for (int i = 0; i < n; i++) {
        if (!cJSON_GetObjectItemCaseSensitive(root, required[i]))
            return chiso_pu_reject(rej, CHISO_REJECT_MISSING_FIELD, "field '%s' is missing",
                                   required[i]);
    }
    return 0;
}

int chiso_pu_code_field(const cJSON *root, const char *field, size_t max, const char *extra,
                        char *out, chiso_reject *rej)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(root, field);
    if (!cJSON_IsString(item) || !item->valuestring ||
        !chiso_pu_code_ok(item->valuestring, max, extra))
        return chiso_pu_reject(rej, CHISO_REJECT_BAD_VALUE,
                               "field '%s' must be 1..%zu characters of [A-Za-z0-9%s]", field, max,
                               extra);
    memcpy(out, item->valuestring, strlen(item->valuestring) + 1);
    return 0;
}

int chiso_pu_text_field(const cJSON *root, const char *field, size_t max, char *out,
                        chiso_reject *rej)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(root, field);
    if (!cJSON_IsString(item) || !item->valuestring)
        return chiso_pu_reject(rej, CHISO_REJECT_BAD_VALUE, "field '%s' must be a string", field);
    size_t n = strlen(item->valuestring);
    if (n < 1 || n > max || !chiso_pu_printable_utf8((const unsigned char *)item->valuestring, n))
        return chiso_pu_reject(rej, CHISO_REJECT_BAD_VALUE,
                               "field '%s' must be 1..%zu bytes of valid UTF-8 text", field, max);
    memcpy(out, item->valuestring, n + 1);
    return 0;
}

int chiso_pu_print(const cJSON *root, char *buf, size_t size)
{
    char *text = cJSON_PrintUnformatted(root);
    if (!text)
        return CHISO_ENOMEM;
    size_t n = strlen(text);
    int rc = n < size ? (int)n : CHISO_ERANGE;
    if (rc >= 0)
        memcpy(buf, text, n + 1);
    cJSON_free(text);
    return rc;
}

cJSON *chiso_pu_add_number(cJSON *obj, const char *name, double d)
{
    char text[32];
    cJSON *item;

    if (!isfinite(d))
        return cJSON_AddNullToObject(obj, name);
    /* The shortest of 15, 16 or 17 significant digits that reads back as
     * exactly d (17 always does). cJSON's own printer accepts 15 digits
     * when they come within an epsilon, which can move d by an ulp. */
    for (int digits = 15; digits <= 17; digits++) {
        snprintf(text, sizeof(text), "%.*g", digits, d);
        if (strtod(text, NULL) == d)
            break;
    }
    if (!(item = cJSON_CreateRaw(text)))
        return NULL;
    if (!cJSON_AddItemToObject(obj, name, item)) {
        cJSON_Delete(item);
        return NULL;
    }
    return item;
}
