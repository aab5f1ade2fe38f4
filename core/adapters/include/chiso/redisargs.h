/*
 * redisargs.h - the arguments of one Redis command built piece by piece:
 * binary strings the caller keeps alive, and
 * strings formatted into an arena the builder owns. A stage reuses one
 * builder for every command it pipelines.
 */
#ifndef CHISO_REDISARGS_H
#define CHISO_REDISARGS_H

#include <stddef.h>

#include <hiredis/hiredis.h>

#include "chiso/redisc.h"

typedef struct chiso_rargs chiso_rargs;

/* An empty builder; caller frees with chiso_rargs_free(). NULL on OOM. */
chiso_rargs *chiso_rargs_new(void);
void chiso_rargs_free(chiso_rargs *a);

/* Forget the arguments (keeps the memory). */
void chiso_rargs_reset(chiso_rargs *a);
/* How many arguments so far. */
int chiso_rargs_count(const chiso_rargs *a);

/* Add `len` bytes at s, not copied: they must stay valid until the command
 * is appended. Returns 0 or CHISO_ENOMEM. */
int chiso_rargs_ref(chiso_rargs *a, const void *s, size_t len);
/* Add a string formatted into the builder's arena. 0 or CHISO_ENOMEM. */
int chiso_rargs_fmt(chiso_rargs *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The same as "%lld", "%s:{%s}:%s" and "%lld:%s", without printf (the
 * batch loops add a dozen such arguments per call). 0 or CHISO_ENOMEM. */
int chiso_rargs_int(chiso_rargs *a, long long v);
int chiso_rargs_key(chiso_rargs *a, const char *prefix, const char *unit, const char *suffix);
int chiso_rargs_int_str(chiso_rargs *a, long long v, const char *s);
/* Add a copy of the string s. 0 or CHISO_ENOMEM. */
int chiso_rargs_str(chiso_rargs *a, const char *s);

/* Append the command, in the Redis protocol, to rc's output buffer
 * (hiredis copies it) and reset the builder. Returns REDIS_OK or
 * REDIS_ERR. */
int chiso_rargs_append(chiso_redis *rc, chiso_rargs *a);

#endif
