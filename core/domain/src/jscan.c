/*
 * jscan.c - one JSON object scanned in place, without a tree (jscan.h).
 *
 * One pass over the bytes. Strings are found with a byte-class table; their
 * escapes are checked (and decoded, for a captured value) only when there
 * are any. Numbers are read without strtod when they are plain integers of
 * up to 15 digits, which strtod would read exactly. Nothing is allocated
 * unless the captured strings outgrow the scan's own 512 bytes.
 *
 * A text in its writers' layout (chiso_jscan_object_ordered) is read once
 * more cheaply: each member's name is compared with the one expected next,
 * not scanned and looked up. The first surprise hands the whole text to the
 * general scan, which reads it from its start.
 */
#include "jscan.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <locale.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define NESTING_MAX 1000 /* cJSON's CJSON_NESTING_LIMIT */

typedef struct scan {
    const unsigned char *p, *end;
    const unsigned char *text; /* its start, for the heap's size */
    chiso_jscan *out;
} scan;

/* Byte classes inside a string: 0 plain, 1 quote, 2 backslash, 3 control. */
enum { B_PLAIN = 0, B_QUOTE, B_ESCAPE, B_CONTROL };
static const unsigned char string_class[256] = {
    [0x00] = B_CONTROL, [0x01] = B_CONTROL, [0x02] = B_CONTROL, [0x03] = B_CONTROL,
    [0x04] = B_CONTROL, [0x05] = B_CONTROL, [0x06] = B_CONTROL, [0x07] = B_CONTROL,
    [0x08] = B_CONTROL, [0x0b] = B_CONTROL, [0x0c] = B_CONTROL, [0x0e] = B_CONTROL,
    [0x0f] = B_CONTROL, [0x10] = B_CONTROL, [0x11] = B_CONTROL, [0x12] = B_CONTROL,
    [0x13] = B_CONTROL, [0x14] = B_CONTROL, [0x15] = B_CONTROL, [0x16] = B_CONTROL,
    [0x17] = B_CONTROL, [0x18] = B_CONTROL, [0x19] = B_CONTROL, [0x1a] = B_CONTROL,
    [0x1b] = B_CONTROL, [0x1c] = B_CONTROL, [0x1d] = B_CONTROL, [0x1e] = B_CONTROL,
    [0x1f] = B_CONTROL, ['"'] = B_QUOTE,    ['\\'] = B_ESCAPE,
};

static void skip_space_run(scan *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\n' || *s->p == '\r' || *s->p == '\t'))
        s->p++;
}

/* Most tokens follow one another without whitespace: one comparison for
 * those (every byte above ' ' ends the run), inline. */
static inline void skip_space(scan *s)
{
    if (s->p < s->end && *s->p <= ' ')
        skip_space_run(s);
}

/* Four hex digits; 0 when one is not (cJSON's parse_hex4). */
static unsigned hex4(const unsigned char *h)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned c = h[i];
        if (c >= '0' && c <= '9')
            c -= '0';
        else if (c >= 'A' && c <= 'F')
            c -= 'A' - 10;
        else if (c >= 'a' && c <= 'f')
            c -= 'a' - 10;
        else
            return 0;
        v = (v << 4) | c;
    }
    return v;
}

/* Decode the string body [from, to) (escapes included) into out, or only
 * check it when out is NULL. Returns the decoded length, or -1 for a bad
 * escape. out needs (to - from) bytes at most. */
static long decode(const unsigned char *from, const unsigned char *to, char *out)
{
    long n = 0;
    const unsigned char *q = from;
    while (q < to) {
        if (*q != '\\') {
            if (out)
                out[n] = (char)*q;
            n++, q++;
            continue;
        }
        unsigned char e = q[1], one;
        unsigned long cp;
        switch (e) {
        case 'b':
            one = '\b';
            break;
        case 'f':
            one = '\f';
            break;
        case 'n':
            one = '\n';
            break;
        case 'r':
            one = '\r';
            break;
        case 't':
            one = '\t';
            break;
        case '"':
        case '\\':
        case '/':
            one = e;
            break;
        case 'u': {
            unsigned first, second;
            int seq = 6;
            if (to - q < 6)
                return -1;
            first = hex4(q + 2);
            if (first >= 0xDC00 && first <= 0xDFFF)
                return -1;
            if (first >= 0xD800 && first <= 0xDBFF) {
                if (to - (q + 6) < 6 || q[6] != '\\' || q[7] != 'u')
                    return -1;
                second = hex4(q + 8);
                if (second < 0xDC00 || second > 0xDFFF)
                    return -1;
                cp = 0x10000 + (((unsigned long)(first & 0x3FF) << 10) | (second & 0x3FF));
                seq = 12;
            } else {
                cp = first;
            }
            unsigned char b[4];
            int k;
            if (cp < 0x80) {
                b[0] = (unsigned char)cp, k = 1;
            } else if (cp < 0x800) {
                b[0] = (unsigned char)(0xC0 | (cp >> 6));
                b[1] = (unsigned char)(0x80 | (cp & 0x3F)), k = 2;
            } else if (cp < 0x10000) {
                b[0] = (unsigned char)(0xE0 | (cp >> 12));
                b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
                b[2] = (unsigned char)(0x80 | (cp & 0x3F)), k = 3;
            } else {
                b[0] = (unsigned char)(0xF0 | (cp >> 18));
                b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
                b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
                b[3] = (unsigned char)(0x80 | (cp & 0x3F)), k = 4;
            }
            if (out)
                memcpy(out + n, b, (size_t)k);
            n += k;
            q += seq;
            continue;
        }
        default:
            return -1;
        }
        if (out)
            out[n] = (char)one;
        n++;
        q += 2;
    }
    return n;
}

/* The string at s->p (its opening quote): its body in [*from, *to), and
 * whether it has escapes. Leaves s->p after the closing quote. */
static inline __attribute__((always_inline)) int
string_body(scan *s, const unsigned char **from, const unsigned char **to, bool *escaped)
{
    const unsigned char *q = s->p + 1, *end = s->end;
    *escaped = false;
    for (;;) {
#if defined(__SSE2__)
        /* sixteen bytes a turn while the text has them, up to the first
         * quote, backslash or byte below 0x20 (tab, LF and CR among them,
         * which are plain: the switch steps over them); shorter tails
         * four bytes a turn, then one */
        const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\'),
                      below = _mm_set1_epi8(0x1f);
        while (end - q >= 16) {
            __m128i v = _mm_loadu_si128((const __m128i *)(const void *)q);
            __m128i stop =
                _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)),
                             _mm_cmpeq_epi8(_mm_min_epu8(v, below), v));
            unsigned mask = (unsigned)_mm_movemask_epi8(stop);
            if (mask) {
                q += __builtin_ctz(mask);
                goto stop;
            }
            q += 16;
        }
#endif
        while (end - q >= 4 &&
               !(string_class[q[0]] | string_class[q[1]] | string_class[q[2]] | string_class[q[3]]))
            q += 4;
        while (q < end && string_class[*q] == B_PLAIN)
            q++;
#if defined(__SSE2__)
    stop:
#endif
        if (q >= end)
            return -1;
        switch (string_class[*q]) {
        case B_PLAIN: /* tab, LF or CR, where the sixteen-byte scan stopped */
            q++;
            break;
        case B_QUOTE:
            *from = s->p + 1;
            *to = q;
            s->p = q + 1;
            return 0;
        case B_ESCAPE:
            if (q + 1 >= end)
                return -1;
            *escaped = true;
            if (string_class[q[1]] == B_CONTROL) /* escaped or not, still raw */
                s->out->raw_control = true;
            q += 2;
            break;
        default: /* a raw control byte: cJSON takes it, the callers reject it */
            s->out->raw_control = true;
            q++;
            break;
        }
    }
}

/* Room for n bytes of decoded string. */
static char *scratch(scan *s, size_t n)
{
    chiso_jscan *o = s->out;
    if (!o->heap && o->small_used + n <= sizeof(o->small)) {
        o->small_used += n;
        return o->small + o->small_used - n;
    }
    if (!o->heap) {
        /* every later capture is a part of the rest of the text, so the
         * whole text's length is room enough */
        if (!(o->heap = malloc((size_t)(s->end - s->text) + 1)))
            return NULL;
        o->heap_used = 0;
    }
    o->heap_used += n;
    return o->heap + o->heap_used - n;
}

/* A string, checked; captured into *v when v is not NULL. */
static chiso_jscan_result string_value(scan *s, chiso_jval *v)
{
    const unsigned char *from, *to;
    bool escaped;
    if (string_body(s, &from, &to, &escaped) != 0)
        return CHISO_JSCAN_SYNTAX;
    if (!v)
        return (escaped && decode(from, to, NULL) < 0) ? CHISO_JSCAN_SYNTAX : CHISO_JSCAN_OK;
    char *out = scratch(s, (size_t)(to - from) + 1);
    if (!out)
        return CHISO_JSCAN_NOMEM;
    long n;
    if (!escaped) {
        n = to - from;
        memcpy(out, from, (size_t)n);
    } else if ((n = decode(from, to, out)) < 0) {
        return CHISO_JSCAN_SYNTAX;
    }
    out[n] = '\0';
    v->type = CHISO_J_STRING;
    v->str = out;
    v->len = escaped ? strlen(out) : (size_t)n;
    return CHISO_JSCAN_OK;
}

/* A number: cJSON's reading of it. */
static chiso_jscan_result number_value(scan *s, chiso_jval *v)
{
    const unsigned char *p = s->p;
    size_t n = 0, avail = (size_t)(s->end - p);
    bool plain = true; /* '-'? digits only */
    while (n < avail) {
        unsigned char c = p[n];
        if (c >= '0' && c <= '9') {
            n++;
        } else if (c == '+' || c == '-' || c == 'e' || c == 'E' || c == '.') {
            if (!(c == '-' && n == 0))
                plain = false;
            n++;
        } else {
            break;
        }
    }
    size_t digits = n - (p[0] == '-');
    double d = 0;
    if (plain && digits >= 1 && digits <= 15) {
        for (size_t i = p[0] == '-'; i < n; i++)
            d = d * 10 + (p[i] - '0');
        if (p[0] == '-')
            d = -d;
    } else {
        /* strtod on a copy of the run, '.' as the locale writes it */
        char small[64], *buf = small, *after;
        char point = *localeconv()->decimal_point;
        if (n >= sizeof(small) && !(buf = malloc(n + 1)))
            return CHISO_JSCAN_NOMEM;
        for (size_t i = 0; i < n; i++)
            buf[i] = p[i] == '.' ? point : (char)p[i];
        buf[n] = '\0';
        d = strtod(buf, &after);
        n = (size_t)(after - buf);
        if (buf != small)
            free(buf);
        if (n == 0)
            return CHISO_JSCAN_SYNTAX;
    }
    if (v) {
        v->type = CHISO_J_NUMBER;
        v->num = d;
    }
    s->p += n;
    return CHISO_JSCAN_OK;
}

static chiso_jscan_result value(scan *s, chiso_jval *v, int depth);

static int name_index(chiso_jscan_index index, const unsigned char *from, const unsigned char *to,
                      bool escaped);

/* An array or an object, checked; an object's members that `index` gives
 * a slot are captured (the top-level object's: index is NULL below it). */
static chiso_jscan_result container(scan *s, int depth, chiso_jscan_index index)
{
    unsigned char close = *s->p == '[' ? ']' : '}';
    chiso_jscan_result r;
    if (depth >= NESTING_MAX)
        return CHISO_JSCAN_SYNTAX;
    s->p++;
    skip_space(s);
    if (s->p < s->end && *s->p == close) {
        s->p++;
        return CHISO_JSCAN_OK;
    }
    for (;;) {
        chiso_jval *v = NULL;
        skip_space(s);
        if (close == '}') {
            const unsigned char *from, *to;
            bool escaped;
            if (s->p >= s->end || *s->p != '"' || string_body(s, &from, &to, &escaped) != 0)
                return CHISO_JSCAN_SYNTAX;
            if (escaped && decode(from, to, NULL) < 0)
                return CHISO_JSCAN_SYNTAX;
            if (index) {
                int i = name_index(index, from, to, escaped);
                if (i == -2)
                    return CHISO_JSCAN_NOMEM;
                if (i >= 0 && s->out->vals[i].type == CHISO_J_ABSENT)
                    v = &s->out->vals[i]; /* of a repeated name, the first */
            }
            skip_space(s);
            if (s->p >= s->end || *s->p != ':')
                return CHISO_JSCAN_SYNTAX;
            s->p++;
            skip_space(s);
        }
        if ((r = value(s, v, depth + 1)) != CHISO_JSCAN_OK)
            return r;
        skip_space(s);
        if (s->p < s->end && *s->p == ',') {
            s->p++;
            continue;
        }
        if (s->p < s->end && *s->p == close) {
            s->p++;
            return CHISO_JSCAN_OK;
        }
        return CHISO_JSCAN_SYNTAX;
    }
}

/* Any value at s->p, captured into *v when v is not NULL. depth counts the
 * containers around it. */
static chiso_jscan_result value(scan *s, chiso_jval *v, int depth)
{
    size_t avail = (size_t)(s->end - s->p);
    chiso_jtype t;
    if (avail == 0)
        return CHISO_JSCAN_SYNTAX;
    switch (*s->p) {
    case 'n':
        if (avail < 4 || memcmp(s->p, "null", 4) != 0)
            return CHISO_JSCAN_SYNTAX;
        s->p += 4, t = CHISO_J_NULL;
        break;
    case 'f':
        if (avail < 5 || memcmp(s->p, "false", 5) != 0)
            return CHISO_JSCAN_SYNTAX;
        s->p += 5, t = CHISO_J_FALSE;
        break;
    case 't':
        if (avail < 4 || memcmp(s->p, "true", 4) != 0)
            return CHISO_JSCAN_SYNTAX;
        s->p += 4, t = CHISO_J_TRUE;
        break;
    case '"':
        return string_value(s, v);
    case '[':
    case '{': {
        t = *s->p == '[' ? CHISO_J_ARRAY : CHISO_J_OBJECT;
        chiso_jscan_result r = container(s, depth, NULL);
        if (r != CHISO_JSCAN_OK)
            return r;
        break;
    }
    default:
        if (*s->p == '-' || (*s->p >= '0' && *s->p <= '9'))
            return number_value(s, v);
        return CHISO_JSCAN_SYNTAX;
    }
    if (v)
        v->type = t;
    return CHISO_JSCAN_OK;
}

/* The capture slot of the member named by the string body [from, to) (its
 * escapes already checked), -1 when none, -2 when out of memory. */
static int name_index(chiso_jscan_index index, const unsigned char *from, const unsigned char *to,
                      bool escaped)
{
    char small[64], *decoded = small;
    size_t n = (size_t)(to - from);
    int found;
    if (!escaped)
        return index((const char *)from, n);
    /* the name as C sees it: decoded, up to its first U+0000 */
    if (n >= sizeof(small) && !(decoded = malloc(n + 1)))
        return -2;
    decoded[decode(from, to, decoded)] = '\0';
    found = index(decoded, strlen(decoded));
    if (decoded != small)
        free(decoded);
    return found;
}

static void scan_begin(chiso_jscan *out, int nvals)
{
    memset(out->vals, 0, sizeof(*out->vals) * (size_t)nvals);
    out->raw_control = false;
    out->small_used = 0;
    out->heap = NULL;
    out->heap_used = 0;
}

chiso_jscan_result chiso_jscan_object(chiso_jscan *out, chiso_jscan_index index, int nvals,
                                      const char *buf, size_t len)
{
    scan s = {(const unsigned char *)buf, (const unsigned char *)buf + len,
              (const unsigned char *)buf, out};
    chiso_jscan_result r;
    bool object;

    scan_begin(out, nvals);
    if (len >= 5 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0)
        s.p += 3;
    skip_space(&s);
    if (s.p >= s.end)
        return CHISO_JSCAN_SYNTAX;
    object = *s.p == '{';
    r = object ? container(&s, 0, index) : value(&s, NULL, 0);
    if (r != CHISO_JSCAN_OK)
        return r;
    skip_space(&s);
    if (s.p != s.end)
        return CHISO_JSCAN_TRAILING;
    return object ? CHISO_JSCAN_OK : CHISO_JSCAN_NOT_OBJECT;
}

/* Whether the text at p (p < end) begins with the name's literal and has
 * a byte after it: eight bytes a comparison where the text has them. */
static inline bool name_is(const unsigned char *p, const unsigned char *end,
                           const chiso_jscan_name *name)
{
    size_t n = name->len;
    if ((size_t)(end - p) <= n)
        return false;
    if (end - p < 8)
        return memcmp(p, name->lit, n) == 0;
    uint64_t a, b;
    memcpy(&a, p, 8);
    memcpy(&b, name->lit, 8);
    if (n < 8) {
        /* its first n bytes, in memory order whatever the byte order */
        static const unsigned char ones[16] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
        uint64_t mask;
        memcpy(&mask, ones + 8 - n, 8);
        return ((a ^ b) & mask) == 0;
    }
    if (a != b)
        return false;
    /* the rest in words, the last one ending where the literal ends */
    for (size_t i = 8; i < n; i += 8) {
        size_t at = i + 8 <= n ? i : n - 8;
        memcpy(&a, p + at, 8);
        memcpy(&b, name->lit + at, 8);
        if (a != b)
            return false;
    }
    return true;
}

/* The object in its writers' layout (jscan.h), read into out as the
 * general scan would; 0 when it is not in that layout, out then to be
 * begun again. The text is known to hold at least "{}". */
static bool scan_ordered(chiso_jscan *out, const chiso_jscan_name *names, int nvals,
                         const unsigned char *p, const unsigned char *end)
{
    scan s = {p, end, p, out};
    int next = 0;
    if (*p++ != '{' || end[-1] != '}')
        return false;
    for (;;) {
        /* the member's name: the next of `names` it is, the earlier ones absent */
        size_t n;
        int i = next;
        while (i < nvals && !name_is(p, end, &names[i]))
            i++;
        if (i == nvals)
            return false;
        next = i + 1;
        p += names[i].len;
        chiso_jval *v = &out->vals[i];
        /* its value: a string without escapes, a literal or a plain integer */
        size_t avail = (size_t)(end - p);
        switch (*p) {
        case '"': {
            const unsigned char *from, *to;
            bool escaped;
            s.p = p;
            if (string_body(&s, &from, &to, &escaped) != 0 || escaped)
                return false;
            n = (size_t)(to - from);
            if (out->small_used + n + 1 > sizeof(out->small))
                return false;
            char *copy = out->small + out->small_used;
            out->small_used += n + 1;
            memcpy(copy, from, n);
            copy[n] = '\0';
            v->type = CHISO_J_STRING;
            v->str = copy;
            v->len = n;
            p = s.p;
            break;
        }
        case 't':
            if (avail < 4 || memcmp(p, "true", 4) != 0)
                return false;
            v->type = CHISO_J_TRUE, p += 4;
            break;
        case 'f':
            if (avail < 5 || memcmp(p, "false", 5) != 0)
                return false;
            v->type = CHISO_J_FALSE, p += 5;
            break;
        case 'n':
            if (avail < 4 || memcmp(p, "null", 4) != 0)
                return false;
            v->type = CHISO_J_NULL, p += 4;
            break;
        default: {
            /* what number_value reads exactly without strtod */
            bool minus = *p == '-';
            double d = 0;
            for (n = minus; n < avail && p[n] >= '0' && p[n] <= '9'; n++)
                d = d * 10 + (p[n] - '0');
            if (n == (size_t)minus || n - minus > 15 || n == avail || (p[n] != ',' && p[n] != '}'))
                return false;
            v->type = CHISO_J_NUMBER;
            v->num = minus ? -d : d;
            p += n;
            break;
        }
        }
        if (p >= end)
            return false;
        if (*p == ',' && p + 1 < end) {
            p++;
            continue;
        }
        return *p == '}' && p + 1 == end;
    }
}

chiso_jscan_result chiso_jscan_object_ordered(chiso_jscan *out, chiso_jscan_index index,
                                              const chiso_jscan_name *names, int nvals,
                                              const char *buf, size_t len)
{
    if (len >= 2) {
        scan_begin(out, nvals);
        if (scan_ordered(out, names, nvals, (const unsigned char *)buf,
                         (const unsigned char *)buf + len))
            return CHISO_JSCAN_OK;
    }
    return chiso_jscan_object(out, index, nvals, buf, len);
}

void chiso_jscan_done(chiso_jscan *s)
{
    free(s->heap);
    s->heap = NULL;
}
