/*
 * vnfmt.c - Vietnamese number formats and UTF-8 display width.
 */
#include "chiso/vnfmt.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

char *chiso_vnfmt_int(int64_t v, char *out, size_t size)
{
    char digits[24];
    char buf[32];
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    int n = snprintf(digits, sizeof(digits), "%llu", (unsigned long long)u);
    size_t k = 0;

    if (v < 0)
        buf[k++] = '-';
    for (int i = 0; i < n; i++) {
        if (i > 0 && (n - i) % 3 == 0)
            buf[k++] = '.';
        buf[k++] = digits[i];
    }
    buf[k] = '\0';
    snprintf(out, size, "%s", buf);
    return out;
}

char *chiso_vnfmt_dec(double v, int decimals, char *out, size_t size)
{
    char buf[64];
    if (isnan(v)) {
        snprintf(out, size, "—");
        return out;
    }
    double scale = pow(10, decimals);
    double r = round(fabs(v) * scale);
    int64_t whole = (int64_t)(r / scale);
    int64_t frac = (int64_t)(r - (double)whole * scale);
    char w[32];
    chiso_vnfmt_int(whole, w, sizeof(w));
    if (decimals > 0)
        snprintf(buf, sizeof(buf), "%s%s,%0*lld", v < 0 && r > 0 ? "-" : "", w, decimals,
                 (long long)frac);
    else
        snprintf(buf, sizeof(buf), "%s%s", v < 0 && r > 0 ? "-" : "", w);
    snprintf(out, size, "%s", buf);
    return out;
}

char *chiso_vnfmt_pct(double fraction, int decimals, char *out, size_t size)
{
    char num[64];
    if (isnan(fraction)) {
        snprintf(out, size, "—");
        return out;
    }
    chiso_vnfmt_dec(fraction * 100.0, decimals, num, sizeof(num));
    snprintf(out, size, "%s%%", num);
    return out;
}

/* Combining diacritical marks U+0300..U+036F take no column. */
static int is_combining(unsigned cp)
{
    return cp >= 0x300 && cp <= 0x36f;
}

/* Decode one code point at s; returns its byte length (1 for bad bytes). */
static int utf8_next(const unsigned char *s, unsigned *cp)
{
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    if ((s[0] & 0xe0) == 0xc0 && (s[1] & 0xc0) == 0x80) {
        *cp = ((s[0] & 0x1fu) << 6) | (s[1] & 0x3fu);
        return 2;
    }
    if ((s[0] & 0xf0) == 0xe0 && (s[1] & 0xc0) == 0x80 && (s[2] & 0xc0) == 0x80) {
        *cp = ((s[0] & 0x0fu) << 12) | ((s[1] & 0x3fu) << 6) | (s[2] & 0x3fu);
        return 3;
    }
    if ((s[0] & 0xf8) == 0xf0 && (s[1] & 0xc0) == 0x80 && (s[2] & 0xc0) == 0x80 &&
        (s[3] & 0xc0) == 0x80) {
        *cp = ((s[0] & 0x07u) << 18) | ((s[1] & 0x3fu) << 12) | ((s[2] & 0x3fu) << 6) |
              (s[3] & 0x3fu);
        return 4;
    }
    *cp = 0xfffd;
    return 1;
}

size_t chiso_utf8_width(const char *s)
{
    size_t w = 0;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned cp;
        p += utf8_next(p, &cp);
        if (!is_combining(cp))
            w++;
    }
    return w;
}

char *chiso_utf8_pad(const char *s, size_t width, char *out, size_t size)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t w = 0, k = 0;
    if (size == 0)
        return out;
    while (*p) {
        unsigned cp;
        int len = utf8_next(p, &cp);
        if (!is_combining(cp) && w == width)
            break;
        if (k + (size_t)len >= size)
            break;
        memcpy(out + k, p, (size_t)len);
        k += (size_t)len;
        p += len;
        if (!is_combining(cp))
            w++;
    }
    while (w < width && k + 1 < size) {
        out[k++] = ' ';
        w++;
    }
    out[k] = '\0';
    return out;
}

char *chiso_utf8_rjust(const char *s, size_t width, char *out, size_t size)
{
    size_t w = chiso_utf8_width(s), k = 0;
    if (w >= width)
        return chiso_utf8_pad(s, width, out, size);
    for (; k < width - w && k + 1 < size; k++)
        out[k] = ' ';
    snprintf(out + k, size - k, "%s", s);
    return out;
}
