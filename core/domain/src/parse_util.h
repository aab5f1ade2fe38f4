/*
 * parse_util.h - validation helpers shared by the parsers of outside input
 * (event.c, catalog.c). Internal to libchiso: not an installed header.
 */
#ifndef CHISO_PARSE_UTIL_H
#define CHISO_PARSE_UTIL_H

#include <stddef.h>

#include <cjson/cJSON.h>

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

/* A catalog record's envelope (catalog.units, catalog.procedures): the size
 * limit, tombstones (an empty or blank value, or JSON null), strict JSON, one
 * object. Returns 1 for a tombstone, 0 with *root set (caller frees with
 * cJSON_Delete) for an object, or CHISO_EINVAL with *rej filled. */
int chiso_pu_parse_record(const char *buf, size_t len, cJSON **root, chiso_reject *rej);

/* `v` is the number 1 and every one of the n `required` fields is present. */
int chiso_pu_check_head(const cJSON *root, const char *const *required, int n, chiso_reject *rej);

/* Copy string field `field`, a code of 1..max bytes of [A-Za-z0-9] and `extra`,
 * into out (max + 1 bytes). */
int chiso_pu_code_field(const cJSON *root, const char *field, size_t max, const char *extra,
                        char *out, chiso_reject *rej);

/* Copy string field `field`, 1..max bytes of printable UTF-8, into out (max + 1
 * bytes). */
int chiso_pu_text_field(const cJSON *root, const char *field, size_t max, char *out,
                        chiso_reject *rej);

/* Print `root` compactly into buf. Returns the length (excluding NUL),
 * CHISO_ERANGE when it does not fit, or CHISO_ENOMEM. Does not free root. */
int chiso_pu_print(const cJSON *root, char *buf, size_t size);

/* Add member `name` holding the number d, printed so that it parses back to
 * exactly d (null when d is not finite). Returns the item, NULL when out of
 * memory. */
cJSON *chiso_pu_add_number(cJSON *obj, const char *name, double d);

#endif
