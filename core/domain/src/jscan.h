/*
 * jscan.h - one JSON object scanned in place, without a tree: the values of
 * the members a parser asks for, every other byte only validated. Internal
 * to libchiso: not an installed header.
 *
 * The grammar is cJSON 1.7.15's, the library the other parsers of outside
 * input use, so a record gets the same verdict whichever of them reads it
 * (fuzz_event_diff checks this against cJSON itself):
 *   - whitespace is space, tab, LF and CR (the callers reject every other
 *     control byte first, which cJSON would take for whitespace);
 *   - a UTF-8 byte order mark before the value is skipped when the text is
 *     5 bytes or more;
 *   - literals null, true and false;
 *   - a number starts with '-' or a digit; its value is what strtod reads of
 *     the longest run of [0-9+-eE.], and the scan goes on where strtod
 *     stopped (Debian's 1.7.15 reads the whole run, not 63 bytes of it);
 *   - strings: escapes \b \f \n \r \t \" \\ \/ and \uXXXX, UTF-16 pairs
 *     joined; a \u whose four digits are not all hex is U+0000; other bytes
 *     are taken as they are; a reader sees a value up to its first U+0000,
 *     as C strings go (names too);
 *   - arrays and objects nest 1000 deep at most;
 *   - of a repeated name, the first member counts.
 */
#ifndef CHISO_JSCAN_H
#define CHISO_JSCAN_H

#include <stdbool.h>
#include <stddef.h>

typedef enum chiso_jtype {
    CHISO_J_ABSENT = 0,
    CHISO_J_NULL,
    CHISO_J_FALSE,
    CHISO_J_TRUE,
    CHISO_J_NUMBER,
    CHISO_J_STRING,
    CHISO_J_ARRAY,
    CHISO_J_OBJECT,
} chiso_jtype;

/* A member's value. */
typedef struct chiso_jval {
    chiso_jtype type;
    const char *str; /* CHISO_J_STRING: decoded and NUL-terminated */
    size_t len;      /* strlen(str) */
    double num;      /* CHISO_J_NUMBER */
} chiso_jval;

typedef enum chiso_jscan_result {
    CHISO_JSCAN_OK = 0,
    CHISO_JSCAN_SYNTAX,     /* not valid JSON */
    CHISO_JSCAN_TRAILING,   /* a valid value, then more than whitespace */
    CHISO_JSCAN_NOT_OBJECT, /* a valid value that is not an object */
    CHISO_JSCAN_NOMEM,
} chiso_jscan_result;

/* The capture slot (0..nvals-1) of the member named by the `len` bytes at
 * `name` (not NUL-terminated), or -1 to only validate its value. */
typedef int (*chiso_jscan_index)(const char *name, size_t len);

/* A scan's output and scratch space; the decoded strings live here until
 * chiso_jscan_done(). */
typedef struct chiso_jscan {
    chiso_jval *vals;  /* one per name; CHISO_J_ABSENT when not a member */
    bool raw_control;  /* a string holds a raw control byte other than tab, LF, CR */
    char small[512];   /* decoded strings, while they fit */
    size_t small_used; /* bytes of small in use */
    char *heap;        /* then here, room for the rest of the text */
    size_t heap_used;  /* bytes of heap in use */
} chiso_jscan;

/* Scan the `len` bytes at `buf` (need not be NUL-terminated) as one JSON
 * value with only whitespace after it; for an object, fill s->vals (nvals
 * slots) with the members `index` gives a slot. */
chiso_jscan_result chiso_jscan_object(chiso_jscan *s, chiso_jscan_index index, int nvals,
                                      const char *buf, size_t len);

/* A member's name as its writers put it before the value: '"', the name,
 * '"', ':' (CHISO_JSCAN_NAME("v") is "\"v\":"), zero-padded. */
typedef struct chiso_jscan_name {
    char lit[24];
    unsigned char len; /* bytes of lit, 4..23 */
} chiso_jscan_name;
#define CHISO_JSCAN_NAME(name)                                                                     \
    {                                                                                              \
        "\"" name "\":", sizeof(name) + 2                                                          \
    }

/* As chiso_jscan_object(), for a text whose writers name the members in
 * one order: names[0..nvals-1], the member names[i] captured into vals[i]
 * (index gives each the same slot). An object in that layout is read
 * without looking its names up: no whitespace, members in the order of
 * `names` (any of them absent, no other), every value a string without
 * escapes, true, false, null or an integer of up to 15 digits. Any other
 * text is scanned as chiso_jscan_object() scans it; the result is the
 * same either way. */
chiso_jscan_result chiso_jscan_object_ordered(chiso_jscan *s, chiso_jscan_index index,
                                              const chiso_jscan_name *names, int nvals,
                                              const char *buf, size_t len);

/* Free what a scan allocated (s->vals' strings end with it). */
void chiso_jscan_done(chiso_jscan *s);

#endif
