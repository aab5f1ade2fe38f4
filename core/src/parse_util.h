/*
 * parse_util.h - validation helpers shared by the parsers of outside input
 * (event.c, catalog.c). Internal to libchiso: not an installed header.
 */
#ifndef CHISO_PARSE_UTIL_H
#define CHISO_PARSE_UTIL_H

#include <stddef.h>

#include "chiso/event.h"

/* Fill *rej (may be NULL) with a reason and a formatted sentence; returns
 * CHISO_EINVAL, so a parser can `return chiso_pu_reject(...)`. */
int chiso_pu_reject(chiso_reject *rej, chiso_reject_reason reason, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Valid UTF-8 (shortest form, no surrogates, <= U+10FFFF) without C0, DEL or
 * C1 control characters. */
int chiso_pu_printable_utf8(const unsigned char *s, size_t len);

/* 1..max bytes of [A-Za-z0-9] plus the punctuation in `extra`. */
int chiso_pu_code_ok(const char *s, size_t max, const char *extra);

/* No raw control byte but JSON's four whitespace characters. */
int chiso_pu_no_raw_controls(const char *buf, size_t len);

#endif
