/*
 * sim_check.h - the self-check of good records, off the generating thread.
 *
 * Every good record the simulator emits must parse with chiso_event_parse()
 * and serialize back to the same bytes. Parsing costs more than generating,
 * so records are copied into batches that checker threads verify while the
 * main thread goes on; a failure is reported at the next submission or at
 * the end, and the run then stops with exit status 1 (records already sent
 * stay sent: the check catches bugs, it does not filter). With 0 threads
 * the check runs inline.
 */
#ifndef CHISO_SIM_CHECK_H
#define CHISO_SIM_CHECK_H

#include <stdbool.h>
#include <stddef.h>

typedef struct sim_check sim_check;

/* A checker with `threads` worker threads (0 = inline). NULL on failure. */
sim_check *sim_check_new(int threads);

/* Queue one good record for checking. Returns 0, or -1 once any check has
 * failed (the error was logged). */
int sim_check_add(sim_check *c, const char *json, size_t len);

/* Wait for every queued check, stop the threads and free. Returns 0 when
 * all records passed, -1 otherwise. */
int sim_check_finish(sim_check *c);

#endif
