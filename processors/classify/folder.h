/*
 * folder.h - chiso-classify's journal folder: a thread of its own, with its
 * own Redis connection, that folds the journals the apply calls report
 * grown past journal.fold.kb (chiso/journal.h).
 *
 * chiso-wall and chiso-report fold the units they read; chiso-snapshot
 * reads journals every second without folding them (it folds one only
 * after journal.fold.s): this bounds a journal's size. Folding costs a journal's
 * read, its parse and a call that writes its sums; on the batch loop that
 * was the loop's time, so it runs beside it. A fold is idempotent and
 * atomic (journal.h), so a request that is dropped (queue full, Redis away,
 * stopping) only leaves a journal longer until its unit's next append asks
 * again.
 */
#ifndef CHISO_CLASSIFY_FOLDER_H
#define CHISO_CLASSIFY_FOLDER_H

#include "chiso/config.h"
#include "chiso/metrics.h"

typedef struct cl_folder cl_folder;

/* Start the folder's thread; it connects to Redis (redis.* of cfg, which
 * must outlive it) when it has work, and counts the units it folded and
 * the requests it dropped in the two counters (may be NULL). NULL when out
 * of memory or the thread could not start. */
cl_folder *cl_folder_new(const chiso_config *cfg, chiso_counter *folded, chiso_counter *dropped);

/* Ask for the journal of `unit` to be folded (copied; a unit already
 * waiting is not queued twice; dropped when the queue is full). Does not
 * block on Redis. */
void cl_folder_ask(cl_folder *f, const char *unit);

/* Stop the thread (a fold in progress completes) and free everything. */
void cl_folder_destroy(cl_folder *f);

#endif
