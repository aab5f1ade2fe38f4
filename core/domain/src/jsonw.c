/*
 * jsonw.c - compact JSON into a buffer, as cJSON prints it (jsonw.h).
 */
#include "chiso/jsonw.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <float.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chiso/common.h"

/* cJSON's test of a number read back: equal within DBL_EPSILON. */
static bool close_enough(double a, double b)
{
    double most = fabs(a) > fabs(b) ? fabs(a) : fabs(b);
    return fabs(a - b) <= most * DBL_EPSILON;
}

size_t chiso_json_number(double d, char out[CHISO_JSON_NUMBER_MAX])
{
    size_t n;

    if (isnan(d) || isinf(d)) {
        memcpy(out, "null", 5);
        return 4;
    }
    if (d > -1e15 && d < 1e15) {
        long long i = (long long)d;
        if ((double)i == d) {
            /* "%1.15g" prints an integer below 1e15 as its digits ("-0"
             * for minus zero) */
            n = 0;
            if (i == 0 && signbit(d))
                out[n++] = '-';
            n += chiso_put_ll(out + n, i);
            out[n] = '\0';
            return n;
        }
        long long k = llround(d * 100.0);
        if (d > -1e13 && d < 1e13 && (double)k / 100.0 == d) {
            /* k/100 in at most 15 digits: "%1.15g" prints exactly them
             * (the double is within 2^-53 of k/100, far under half of the
             * 15th digit), trailing zeros dropped, and they read back as
             * the same double (the division and the reading both round
             * k/100 to nearest) */
            unsigned long long a = k < 0 ? 0ULL - (unsigned long long)k : (unsigned long long)k;
            unsigned cents = (unsigned)(a % 100);
            n = 0;
            if (k < 0)
                out[n++] = '-';
            n += chiso_put_ll(out + n, (long long)(a / 100));
            out[n++] = '.';
            out[n++] = (char)('0' + cents / 10);
            if (cents % 10)
                out[n++] = (char)('0' + cents % 10);
            out[n] = '\0';
            return n;
        }
    }
    char mark = localeconv()->decimal_point[0];
    int len = snprintf(out, CHISO_JSON_NUMBER_MAX, "%1.15g", d);
    if (!close_enough(strtod(out, NULL), d))
        len = snprintf(out, CHISO_JSON_NUMBER_MAX, "%1.17g", d);
    n = len > 0 ? (size_t)len : 0;
    for (size_t j = 0; j < n; j++) {
        if (out[j] == mark)
            out[j] = '.';
    }
    return n;
}

/* The bytes a JSON string escapes: under 0x20, quote and backslash. */
static const unsigned char escaped[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,         1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, ['"'] = 1, ['\\'] = 1,
};

size_t chiso_json_plain(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
#if defined(__SSE2__)
    const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\'),
                  below = _mm_set1_epi8(0x1f);
    for (; i + 16 <= n; i += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(u + i));
        __m128i stop =
            _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)),
                         _mm_cmpeq_epi8(_mm_min_epu8(v, below), v));
        unsigned mask = (unsigned)_mm_movemask_epi8(stop);
        if (mask)
            return i + (size_t)__builtin_ctz(mask);
    }
#endif
    /* shorter tails four bytes a turn, then one */
    for (; i + 4 <= n; i += 4) {
        if (escaped[u[i]] | escaped[u[i + 1]] | escaped[u[i + 2]] | escaped[u[i + 3]])
            break;
    }
    for (; i < n; i++) {
        if (escaped[u[i]])
            return i;
    }
    return n;
}

void chiso_jw_init(chiso_jw *w)
{
    memset(w, 0, sizeof(*w));
}

void chiso_jw_free(chiso_jw *w)
{
    free(w->buf);
    chiso_jw_init(w);
}

char *chiso_jw_take(chiso_jw *w, size_t *len)
{
    char *text = NULL;

    if (!w->failed && w->depth == 0 && w->buf) {
        text = w->buf;
        text[w->len] = '\0';
        if (len)
            *len = w->len;
        w->buf = NULL;
    }
    chiso_jw_free(w);
    return text;
}

/* Room for n more bytes and the NUL; false when the writer failed. */
static bool room(chiso_jw *w, size_t n)
{
    if (w->failed)
        return false;
    if (w->len + n + 1 > w->cap) {
        size_t cap = w->cap ? w->cap : 1024;
        while (w->len + n + 1 > cap)
            cap *= 2;
        char *buf = realloc(w->buf, cap);
        if (!buf) {
            w->failed = true;
            return false;
        }
        w->buf = buf;
        w->cap = cap;
    }
    return true;
}

static void put(chiso_jw *w, const char *s, size_t n)
{
    if (room(w, n)) {
        memcpy(w->buf + w->len, s, n);
        w->len += n;
    }
}

/* A string in quotes, escaped as cJSON escapes it: quote, backslash and
 * the bytes under 0x20 (short forms where JSON has them, else \u00xx);
 * UTF-8 as it is. */
static void quoted(chiso_jw *w, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    if (!s)
        s = ""; /* cJSON prints a NULL string as "" */
    size_t n = strlen(s);

    if (!room(w, 6 * n + 2))
        return;
    char *o = w->buf + w->len;
    *o++ = '"';
    for (size_t i = 0;;) {
        size_t plain = chiso_json_plain(s + i, n - i);
        memcpy(o, s + i, plain);
        o += plain;
        if ((i += plain) == n)
            break;
        unsigned char c = (unsigned char)s[i++];
        *o++ = '\\';
        switch (c) {
        case '"':
            *o++ = '"';
            break;
        case '\\':
            *o++ = '\\';
            break;
        case '\b':
            *o++ = 'b';
            break;
        case '\f':
            *o++ = 'f';
            break;
        case '\n':
            *o++ = 'n';
            break;
        case '\r':
            *o++ = 'r';
            break;
        case '\t':
            *o++ = 't';
            break;
        default:
            memcpy(o, "u00", 3);
            o[3] = hex[c >> 4];
            o[4] = hex[c & 15];
            o += 5;
        }
    }
    *o++ = '"';
    w->len = (size_t)(o - w->buf);
}

/* The separator and name before a member. */
static void member(chiso_jw *w, const char *name)
{
    if (w->depth > 0) {
        if (!w->empty[w->depth - 1])
            put(w, ",", 1);
        w->empty[w->depth - 1] = false;
    }
    if (name) {
        quoted(w, name);
        put(w, ":", 1);
    }
}

static void open(chiso_jw *w, const char *name, char c)
{
    member(w, name);
    if (w->depth == CHISO_JW_DEPTH) {
        w->failed = true;
        return;
    }
    put(w, &c, 1);
    w->closer[w->depth] = c == '{' ? '}' : ']';
    w->empty[w->depth++] = true;
}

void chiso_jw_object(chiso_jw *w, const char *name)
{
    open(w, name, '{');
}

void chiso_jw_array(chiso_jw *w, const char *name)
{
    open(w, name, '[');
}

void chiso_jw_end(chiso_jw *w)
{
    if (w->depth == 0) {
        w->failed = true;
        return;
    }
    w->depth--;
    put(w, &w->closer[w->depth], 1);
}

void chiso_jw_string(chiso_jw *w, const char *name, const char *s)
{
    member(w, name);
    quoted(w, s);
}

void chiso_jw_number(chiso_jw *w, const char *name, double d)
{
    char text[CHISO_JSON_NUMBER_MAX];
    member(w, name);
    put(w, text, chiso_json_number(d, text));
}

void chiso_jw_null(chiso_jw *w, const char *name)
{
    member(w, name);
    put(w, "null", 4);
}
