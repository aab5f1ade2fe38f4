/*
 * parse_util.c - validation helpers shared by the parsers (parse_util.h).
 */
#include "parse_util.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
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

/* Valid UTF-8 (shortest form, no surrogates, <= U+10FFFF) without C0, DEL
 * or C1 control characters. */
int chiso_pu_printable_utf8(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned c = s[i];
        uint32_t cp;
        int n;
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

/* 1..max bytes of [A-Za-z0-9] plus the punctuation in `extra`. */
int chiso_pu_code_ok(const char *s, size_t max, const char *extra)
{
    size_t i;
    for (i = 0; s[i]; i++) {
        char c = s[i];
        if (i >= max)
            return 0;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              (c != '\0' && strchr(extra, c))))
            return 0;
    }
    return i > 0;
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
