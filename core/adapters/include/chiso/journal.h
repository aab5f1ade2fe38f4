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
 * the hashes always hold whole calls' changes. Every reader of counter or
 * procedure-set hashes folds the units it reads first (chiso_journal_fold), so what it reads
 * includes every change applied before; chiso-classify also folds a unit
 * whose journal grows past its journal.fold.kb (128 KiB), on a thread of
 * its own (processors/classify/folder.h), which bounds its size when
 * nothing reads.
 */
#ifndef CHISO_JOURNAL_H
#define CHISO_JOURNAL_H

#include <stddef.h>

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
