/*
 * redisc.h - the stages' Redis client: one Redis, or a Redis Cluster,
 * behind hiredis's pipelining calls (docs/operations.md, "Redis Cluster").
 *
 * A stage appends commands and reads their replies in the same order, as
 * with one hiredis context. Against a cluster the client keeps one
 * connection (and so one pipeline) per master, routes each command by the
 * hash slot of its key (every chiso key of a unit carries the unit as a
 * hash tag, `{U}`, so a unit's commands, scripts and transactions stay on
 * one node), and hands the replies back in the order the commands were
 * appended, whatever node answered. It follows the cluster's redirections:
 *   MOVED slot host:port   the slot lives elsewhere for good: the slot map
 *                          is updated and the command sent there
 *   ASK slot host:port     the slot is migrating: ASKING and the command
 *                          are sent there, once, the map unchanged
 *   TRYAGAIN               a multi-key command during a migration: sent
 *                          again after a short pause
 *   NOSCRIPT               a node without the script (a promoted replica):
 *                          the script, loaded with chiso_redis_script_load,
 *                          is loaded there and the command sent again
 * A node that cannot be reached fails the call; the stage then reopens the
 * client, which reads the slots afresh (CLUSTER SLOTS) from the seeds and
 * the nodes it knew: that is how a failover is followed.
 *
 * Transactions: MULTI, the commands and EXEC go to the node of the first
 * keyed command after MULTI; a command of the transaction for another node
 * is refused (a CROSSSLOT error reply made here). A redirection inside a
 * transaction is returned as it is (EXEC then fails): the stage retries.
 * A command with several keys (MGET, DEL, ...) must have them in one slot.
 * A command without a key (PING, INFO) goes to the first master.
 *
 * Configuration (CHISO_REDIS_CFG_DEFS): redis.cluster `auto` (ask the node:
 * cluster mode when it has cluster support enabled), `yes` or `no`;
 * redis.cluster.seeds, more `host:port` to start from besides redis.host
 * and redis.port. The single-node client is hiredis itself, untouched.
 */
#ifndef CHISO_REDISC_H
#define CHISO_REDISC_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#include "chiso/config.h"

typedef struct chiso_redis chiso_redis;

/* Connect as the config says (redisx.h's keys): AUTH when a password is
 * set, timeouts, and in cluster mode the slot map. NULL with errstr filled
 * when no node could be reached or the map could not be read. */
chiso_redis *chiso_redis_open(const chiso_config *cfg, char *errstr, size_t errstr_size);
void chiso_redis_close(chiso_redis *r);
/* A single-Redis client over a hiredis context it takes over (freed by
 * chiso_redis_close): for tests. NULL on out of memory (c is then freed). */
chiso_redis *chiso_redis_wrap(redisContext *c);

/* True when talking to a Redis Cluster. */
bool chiso_redis_is_cluster(const chiso_redis *r);

/* Append a command, as redisAppendCommand / redisAppendCommandArgv /
 * redisAppendFormattedCommand (a command already in the protocol).
 * REDIS_OK or REDIS_ERR (out of memory, or no connection). */
int chiso_redis_appendf(chiso_redis *r, const char *fmt, ...);
int chiso_redis_vappendf(chiso_redis *r, const char *fmt, va_list ap);
int chiso_redis_append_argv(chiso_redis *r, int argc, const char **argv, const size_t *argvlen);
int chiso_redis_append_formatted(chiso_redis *r, const char *cmd, size_t len);

/* The reply of the oldest command appended and not yet answered, as
 * redisGetReply: REDIS_OK with *reply set (an error reply included; the
 * caller frees it with freeReplyObject), or REDIS_ERR when a connection
 * failed (chiso_redis_errstr says why; reopen the client). */
int chiso_redis_get_reply(chiso_redis *r, redisReply **reply);

/* Append and wait for the reply, as redisCommand: NULL on failure. */
redisReply *chiso_redis_command(chiso_redis *r, const char *fmt, ...);

/* Replies still owed for commands appended. */
size_t chiso_redis_pending(const chiso_redis *r);
/* Bytes appended and not yet written, over every connection. */
size_t chiso_redis_unsent(const chiso_redis *r);
/* Write what is buffered on every connection without waiting for replies.
 * REDIS_OK or REDIS_ERR. */
int chiso_redis_flush(chiso_redis *r);

/* The last failure, for logs. */
const char *chiso_redis_errstr(const chiso_redis *r);
/* True once a connection failed (an I/O error, a node unreachable): the
 * client must be closed and opened again; an error reply is not one. */
bool chiso_redis_failed(const chiso_redis *r);

/* Load a Lua script on every master (SCRIPT LOAD) and remember it, so a
 * node that lacks it later (NOSCRIPT) gets it again. sha receives its SHA1
 * (40 hex digits and a NUL). 0, or CHISO_EIO / CHISO_EINVAL with errstr. */
int chiso_redis_script_load(chiso_redis *r, const char *body, char sha[41], char *errstr,
                            size_t errstr_size);

/* Every key matching a pattern, on every master: SCAN's batches, master
 * after master. Start with a zeroed chiso_redis_scan; each call gives the
 * next SCAN reply in *batch (its keys are (*batch)->element[1]; the caller
 * frees it) and returns 1, or returns 0 when every master is scanned, or -1
 * on a failure (chiso_redis_errstr). Only with no command pending. */
typedef struct chiso_redis_scan {
    int master;      /* the index among the masters */
    char cursor[32]; /* the master's SCAN cursor, "" before its first */
} chiso_redis_scan;
int chiso_redis_scan_next(chiso_redis *r, chiso_redis_scan *s, const char *match,
                          redisReply **batch);

/* The masters as the slot map has them now (1 for a single Redis), and a
 * hash tag (without braces) whose slot master i serves now: a key
 * "...{tag}..." goes to master i. 0, or -1 when i is past the last. A stage
 * that must know what each master kept (the applied markers, applied.h)
 * writes one key per master with these tags. */
int chiso_redis_masters(chiso_redis *r);
int chiso_redis_master_tag(chiso_redis *r, int i, char *tag, size_t size);

/* ---- the cluster rules, pure (exposed for tests) ---- */

/* The hash slot of a key: CRC16 of the key, or of its hash tag (the bytes
 * between the first '{' and the next '}' when not empty), mod 16384. */
uint16_t chiso_redis_slot(const char *key, size_t len);

/* A redirection error reply: kind 'M' (MOVED) or 'A' (ASK), the slot and
 * the node. 0, or -1 when the text is not one. */
int chiso_redis_parse_redirect(const char *err, char *kind, uint16_t *slot, char *host,
                               size_t host_size, int *port);

/* Where a command's key is: the index of its first key argument in argv,
 * 0 when it has none, -1 when the command is malformed. `nkeys` receives
 * how many key arguments follow at a fixed stride `step` (MGET k1 k2: 2
 * keys, step 1; MSET k1 v1 k2 v2: step 2), for the one-slot check. */
int chiso_redis_key_index(int argc, const char **argv, const size_t *argvlen, int *nkeys,
                          int *step);

#endif
