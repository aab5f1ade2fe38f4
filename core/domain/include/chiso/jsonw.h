/*
 * jsonw.h - compact JSON written straight into a buffer, byte for byte as
 * cJSON_PrintUnformatted() would print the same tree: the text of a
 * snapshot without a tree of allocations and without printf and scanf for
 * every number (a score snapshot holds about a hundred and thirty; cJSON
 * printed each with sprintf and read it back with sscanf, 57% of
 * chiso-snapshot's instructions).
 *
 * Members are written in order: open an object or array, write members
 * (a name inside an object, NULL inside an array), close it. An allocation
 * that fails marks the writer failed; chiso_jw_take() then returns NULL.
 */
#ifndef CHISO_JSONW_H
#define CHISO_JSONW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CHISO_JW_DEPTH 8
/* The longest number text: "-1.2345678901234567e-308" and its NUL. */
#define CHISO_JSON_NUMBER_MAX 32

typedef struct chiso_jw {
    char *buf;
    size_t len, cap;
    int depth;
    bool empty[CHISO_JW_DEPTH];  /* the container open at each depth has no member yet */
    char closer[CHISO_JW_DEPTH]; /* and the byte that closes it */
    bool failed;
} chiso_jw;

/* Write d into out as cJSON 1.7.15 (Debian's) prints a number: "null" for
 * NaN and infinities, else "%1.15g" when it reads back within DBL_EPSILON,
 * "%1.17g" otherwise, with a '.' for the decimal mark whatever the locale. Integers and values of
 * two decimals (points, most rates) are written without printf. Returns the length. */
size_t chiso_json_number(double d, char out[CHISO_JSON_NUMBER_MAX]);

/* How many of the n bytes at s a JSON string holds as they are: the
 * length of the run before the first quote, backslash or byte under 0x20
 * (n when there is none). Sixteen bytes a turn. */
size_t chiso_json_plain(const char *s, size_t n);

void chiso_jw_init(chiso_jw *w);
void chiso_jw_free(chiso_jw *w);
/* The text written (NUL-terminated; *len its length when len is not NULL),
 * which the caller frees with free(); NULL when the writer failed or a
 * container is still open. The writer is left empty. */
char *chiso_jw_take(chiso_jw *w, size_t *len);

void chiso_jw_object(chiso_jw *w, const char *name); /* "{" */
void chiso_jw_array(chiso_jw *w, const char *name);  /* "[" */
void chiso_jw_end(chiso_jw *w);                      /* the "}" or "]" that closes it */
void chiso_jw_string(chiso_jw *w, const char *name, const char *s);
void chiso_jw_number(chiso_jw *w, const char *name, double d);
void chiso_jw_null(chiso_jw *w, const char *name);

#endif
