/*
 * vnfmt.h - numbers as Vietnamese readers write them: '.' groups thousands,
 * ',' is the decimal mark ("267.922", "89,6%"), and display-width padding
 * for UTF-8 text with diacritics.
 */
#ifndef CHISO_VNFMT_H
#define CHISO_VNFMT_H

#include <stddef.h>
#include <stdint.h>

/* "267.922", "-1.234", "0". Returns out. size >= 32 is always enough. */
char *chiso_vnfmt_int(int64_t v, char *out, size_t size);

/* A fraction as a percentage with `decimals` digits: 0.896 -> "89,6%".
 * A NaN (no data) gives "—". Returns out. */
char *chiso_vnfmt_pct(double fraction, int decimals, char *out, size_t size);

/* A decimal number with `decimals` digits: 74.88 -> "74,88". */
char *chiso_vnfmt_dec(double v, int decimals, char *out, size_t size);

/* Number of characters (code points, not counting combining marks) of a
 * UTF-8 string: its width on a terminal or a monospace wall. */
size_t chiso_utf8_width(const char *s);

/* Copy s into out, cut to at most `width` characters and padded with spaces
 * to exactly `width` (left-aligned). Returns out. */
char *chiso_utf8_pad(const char *s, size_t width, char *out, size_t size);

/* The same, right-aligned: spaces first. Returns out. */
char *chiso_utf8_rjust(const char *s, size_t width, char *out, size_t size);

#endif
