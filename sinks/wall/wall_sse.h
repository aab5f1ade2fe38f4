/*
 * wall_sse.h - the outgoing queue of one Server-Sent Events client of the
 * wall: events encoded as text/event-stream frames into a byte queue with
 * a hard limit.
 *
 * The producer (the wall's flush) appends; the client's connection thread
 * takes bytes as the socket accepts them. A client that does not take its
 * bytes fast enough is not waited for: the append that would push the
 * unsent bytes over the limit fails, the queue is emptied and marked
 * overflowed for good, and the server drops the client (it reconnects and
 * starts afresh). Not thread-safe: the caller locks.
 */
#ifndef CHISO_WALL_SSE_H
#define CHISO_WALL_SSE_H

#include <stdbool.h>
#include <stddef.h>

typedef struct chiso_wall_sseq chiso_wall_sseq;

/* An empty queue holding at most `limit` unsent bytes (limit >= 1).
 * Caller frees with chiso_wall_sseq_destroy(). NULL on no memory. */
chiso_wall_sseq *chiso_wall_sseq_new(size_t limit);
void chiso_wall_sseq_destroy(chiso_wall_sseq *q);

/* Append one event: "event: <event>\n", one "data: <line>\n" per line of
 * `data` (lines end at \n, \r\n or \r, as the SSE parser splits them, so
 * the browser gets `data` back with \n between lines), then "\n". `event`
 * must be 1..64 characters of [a-z_]. Returns 0; CHISO_EINVAL for a bad
 * event name; CHISO_ERANGE when the queue overflows or already has (see
 * above); CHISO_ENOMEM. */
int chiso_wall_sseq_event(chiso_wall_sseq *q, const char *event, const char *data);

/* Append text as it is (a "retry: 2000\n" field or a ": comment\n\n").
 * Same returns, without CHISO_EINVAL. */
int chiso_wall_sseq_raw(chiso_wall_sseq *q, const char *text);

/* Move up to max unsent bytes into buf; returns how many. */
size_t chiso_wall_sseq_take(chiso_wall_sseq *q, char *buf, size_t max);

/* Unsent bytes. */
size_t chiso_wall_sseq_pending(const chiso_wall_sseq *q);

/* True once an append overflowed the limit. */
bool chiso_wall_sseq_overflowed(const chiso_wall_sseq *q);

#endif
