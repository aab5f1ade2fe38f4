/*
 * journal.h - a unit's counter changes, journaled in Redis and folded into
 * its counter hashes.
 *
 * chiso-classify's atomic apply call (ARCHITECTURE.md invariant 1) does not
 * write the counter and procedure-set hashes (counters.h) field by field:
 * it appends the call's summed changes to the unit's journal,
 *
 *   <prefix>:{U}:j    string  lines "<hash> <field> <delta>\n", where <hash>
 *                             is the key after "{U}:" ("c:2025-07-01",
 *                             "po:2025-Q3"), <field> a counter name or a
 *                             procedure code and <delta> a non-zero integer
 *
 * in the same call as the dossier states, so a change is in Redis, exactly
 * once, as soon as the call is acknowledged. Inside a Redis script every
 * field written costs about as much as a command of its own; one append
 * replaces the dozens of field writes a small batch makes per unit, and a
 * fold later writes the sum of many calls' changes at once
 * (docs/benchmarks.md).
 *
 * A fold moves the journal as it read it, whole (its complete lines: the
 * appends of whole apply calls), into the hashes. It reads the text, then
 * the fields the text changes, and writes the new values in one atomic
 * call that first checks the journal still begins with the text it read
 * and every field still holds the value it read (another process may have
 * folded it meanwhile: the fold then changes nothing and is retried). So
 * the hashes always hold whole calls' changes. A reader of counter or
 * procedure-set hashes either folds the units it reads first
 * (chiso_journal_fold: chiso-wall, chiso-report, chiso-verify), or reads a
 * unit's journal in the same transaction as its hashes and adds the
 * journal's sums to what they hold (chiso_journal_sums: chiso-snapshot,
 * every second, which would otherwise write every changed field of every
 * unit each sweep); either way what it reads includes every change applied
 * before. chiso-classify folds a unit whose journal grows past its
 * journal.fold.kb, on a thread of its own (processors/classify/folder.h),
 * and chiso-snapshot one whose journal it has read for journal.fold.s:
 * that bounds a journal's size and age.
 *
 * Each journal begins with a mark, two lines that cancel out,
 *
 *   po:j <16 hex digits> 1\n
 *   po:j <16 hex digits> -1\n
 *
 * written by the apply call that creates the journal and by every fold
 * that leaves a rest, each time with new digits. Only appends follow, so
 * while a journal begins with the same mark it is the same text, longer:
 * a reader that summed its first n bytes reads only the bytes after them
 * (chiso-snapshot). Any fold moves the mark with the text, of this version
 * or of one before marks (whose readers take the lines as a change of 0 to
 * a procedure set no period has: nothing is written). A journal without a
 * mark (written by a version before) is read whole.
 */
#ifndef CHISO_JOURNAL_H
#define CHISO_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#include "chiso/redisc.h"

/* The longest <hash> and <field> of a line. */
#define CHISO_JOURNAL_NAME_MAX 63

/* Append the line "<hash> <field> <delta>\n" to buf (len bytes used of
 * size). Returns the new length, or -1 when it does not fit or a name is
 * empty, too long or holds a space or a control character. */
long chiso_journal_line(char *buf, size_t len, size_t size, const char *hash, const char *field,
                        long long delta);

/* Called for each line; a non-zero return stops the parse with that value. */
typedef int (*chiso_journal_cb)(void *ctx, const char *hash, size_t hash_len, const char *field,
                                size_t field_len, long long delta);

/* Parse the complete lines of buf (a trailing incomplete line is left).
 * Returns the bytes the complete lines take, CHISO_EINVAL when a line is
 * malformed, or the callback's non-zero return. */
long chiso_journal_parse(const char *buf, size_t len, chiso_journal_cb cb, void *ctx);

/* A journal's mark (above): its length, and the hash its lines name. */
#define CHISO_JOURNAL_MARK_LEN  49
#define CHISO_JOURNAL_MARK_HASH "po:j"

/* A new mark, NUL-terminated, with digits drawn from a generator seeded
 * from the system's entropy (per thread). */
void chiso_journal_mark(char out[CHISO_JOURNAL_MARK_LEN + 1]);

/* Whether the len bytes at text begin with a well-formed mark. */
bool chiso_journal_marked(const char *text, size_t len);

/* A journal's changes summed by (hash, field), the marks left out, to
 * which more text is added as it is read: a field's value is what its
 * hash holds plus the sum here, when the hash and the text were read in
 * one transaction. */
typedef struct chiso_journal_sums chiso_journal_sums;

/* Empty sums; NULL when out of memory. */
chiso_journal_sums *chiso_journal_sums_new(void);
void chiso_journal_sums_free(chiso_journal_sums *s);
void chiso_journal_sums_clear(chiso_journal_sums *s);

/* Add the complete lines of the len bytes at text (a trailing incomplete
 * line is left). Returns the bytes they take; CHISO_EINVAL when a line is
 * malformed or a sum would pass 64 bits, CHISO_ENOMEM (s is then in part
 * added to: clear it). */
long chiso_journal_sums_add(chiso_journal_sums *s, const char *text, size_t len);

/* Distinct (hash, field) pairs summed. */
size_t chiso_journal_sums_size(const chiso_journal_sums *s);

/* The sum of (hash, field); 0 when no line names it. */
long long chiso_journal_sums_get(const chiso_journal_sums *s, const char *hash, const char *field);

/* Merging with a hash as read: start a round, take the sum of each field
 * the hash holds (which marks it taken), then walk the fields of the hash
 * that only the journal has (start with *cursor = 0; NULL at the end; the
 * name is valid until the next add). */
void chiso_journal_sums_round(chiso_journal_sums *s);
long long chiso_journal_sums_take(chiso_journal_sums *s, const char *hash, const char *field);
const char *chiso_journal_sums_next(const chiso_journal_sums *s, const char *hash, uint32_t *cursor,
                                    long long *delta);

/* Fold the journals of n units into their hashes (pipelined; each unit is
 * one atomic call, retried while another process folds it at the same
 * time). Returns 0; CHISO_EIO when the connection failed (reconnect);
 * CHISO_EINVAL when a journal is malformed (it is left as it is);
 * CHISO_ENOMEM. errstr (may be NULL) says why. */
int chiso_journal_fold(chiso_redis *rc, const char *prefix, const char *const *units, size_t n,
                       char *errstr, size_t errstr_size);

/* Fold every journal under prefix (found with SCAN). Same returns. */
int chiso_journal_fold_all(chiso_redis *rc, const char *prefix, char *errstr, size_t errstr_size);

#endif
