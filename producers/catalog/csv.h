/*
 * csv.h - a strict reader of comma-separated values (RFC 4180) held in
 * memory, for files people edit in spreadsheets (the catalog loader).
 *
 * Records end at CRLF, LF or a lone CR. A field is either unquoted (any
 * bytes but comma, quote, CR and LF) or quoted ("..."), where commas, line
 * breaks and doubled quotes ("") are data. Bytes pass through untouched, so
 * UTF-8 (Vietnamese names) arrives as written; validating text is the
 * record parsers' job. A UTF-8 byte-order mark at the very start is
 * skipped, and so are empty lines between records.
 *
 * Malformed input is reported, never repaired: a quote inside an unquoted
 * field, anything but a comma or a line end after a closing quote, a quoted
 * field never closed, a NUL byte, more than CHISO_CSV_FIELDS_MAX fields. After
 * such an error reading goes on at the next line (a never-closed quote runs
 * to the end of the input).
 */
#ifndef CHISO_CSV_H
#define CHISO_CSV_H

#include <stddef.h>

#define CHISO_CSV_FIELDS_MAX 1024 /* fields of one record, at most */

typedef struct chiso_csv chiso_csv;

/* A reader over buf[0..len) (not copied: buf must outlive the reader).
 * Caller frees with chiso_csv_free(). NULL on out of memory. */
chiso_csv *chiso_csv_new(const char *buf, size_t len);
void chiso_csv_free(chiso_csv *c);

/* Read the next record. Returns 1 when a record was read, 0 at the end of
 * the input, CHISO_EINVAL for a malformed record (a sentence in errstr; the
 * next call reads on), or CHISO_ENOMEM. */
int chiso_csv_next(chiso_csv *c, char *errstr, size_t errstr_size);

/* The number of fields of the record read last (at least 1). */
int chiso_csv_nfields(const chiso_csv *c);

/* Field i (0-based) of the record read last, unquoted and NUL-terminated
 * (it holds no NUL), its length in *len (may be NULL). Valid until the next
 * chiso_csv_next(). NULL when i is out of range. */
const char *chiso_csv_field(const chiso_csv *c, int i, size_t *len);

/* The 1-based line on which the record read last (or the malformed one)
 * starts. */
long chiso_csv_line(const chiso_csv *c);

#endif
