/*
 * redisargs.c - building a Redis command's arguments (redisargs.h).
 *
 * Formatted arguments are kept as offsets into the arena, which may move
 * while it grows; chiso_rargs_append reads them there and writes the whole
 * command, in the Redis protocol, into one buffer for hiredis.
 */
#include "chiso/redisargs.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chiso/common.h"

#define REF ((size_t)-1) /* argv[i] points outside the arena */

struct chiso_rargs {
    const char **argv;
    size_t *len;
    size_t *off; /* offset into arena, or REF */
    int n, cap;
    char *arena;
    size_t used, size;
    char *wire; /* the command in the protocol, built by chiso_rargs_append */
    size_t wire_size;
};

chiso_rargs *chiso_rargs_new(void)
{
    return calloc(1, sizeof(chiso_rargs));
}

void chiso_rargs_free(chiso_rargs *a)
{
    if (!a)
        return;
    free(a->argv);
    free(a->len);
    free(a->off);
    free(a->arena);
    free(a->wire);
    free(a);
}

void chiso_rargs_reset(chiso_rargs *a)
{
    a->n = 0;
    a->used = 0;
}

int chiso_rargs_count(const chiso_rargs *a)
{
    return a->n;
}

static int grow(chiso_rargs *a)
{
    if (a->n < a->cap)
        return 0;
    int cap = a->cap ? a->cap * 2 : 64;
    const char **argv = realloc(a->argv, (size_t)cap * sizeof(*argv));
    if (argv)
        a->argv = argv;
    size_t *len = realloc(a->len, (size_t)cap * sizeof(*len));
    if (len)
        a->len = len;
    size_t *off = realloc(a->off, (size_t)cap * sizeof(*off));
    if (off)
        a->off = off;
    if (!argv || !len || !off)
        return CHISO_ENOMEM;
    a->cap = cap;
    return 0;
}

int chiso_rargs_ref(chiso_rargs *a, const void *s, size_t len)
{
    if (grow(a) != 0)
        return CHISO_ENOMEM;
    a->argv[a->n] = s;
    a->len[a->n] = len;
    a->off[a->n] = REF;
    a->n++;
    return 0;
}

/* Room for n more bytes (and a NUL) in the arena. 0 or CHISO_ENOMEM. */
static int reserve(chiso_rargs *a, size_t n)
{
    if (a->used + n < a->size)
        return 0;
    size_t size = a->size ? a->size * 2 : 4096;
    while (size <= a->used + n)
        size *= 2;
    char *arena = realloc(a->arena, size);
    if (!arena)
        return CHISO_ENOMEM;
    a->arena = arena;
    a->size = size;
    return 0;
}

/* The last n bytes written at the arena's end become an argument. */
static void add_arena(chiso_rargs *a, size_t n)
{
    a->arena[a->used + n] = '\0';
    a->argv[a->n] = NULL;
    a->len[a->n] = n;
    a->off[a->n] = a->used;
    a->used += n + 1;
    a->n++;
}

int chiso_rargs_fmt(chiso_rargs *a, const char *fmt, ...)
{
    va_list ap;
    int n;
    if (grow(a) != 0)
        return CHISO_ENOMEM;
    for (;;) {
        size_t room = a->size - a->used;
        va_start(ap, fmt);
        n = vsnprintf(a->arena ? a->arena + a->used : NULL, room, fmt, ap);
        va_end(ap);
        if (n < 0)
            return CHISO_EINVAL;
        if ((size_t)n < room)
            break;
        if (reserve(a, (size_t)n) != 0)
            return CHISO_ENOMEM;
    }
    add_arena(a, (size_t)n);
    return 0;
}

int chiso_rargs_int(chiso_rargs *a, long long v)
{
    if (grow(a) != 0 || reserve(a, 24) != 0)
        return CHISO_ENOMEM;
    add_arena(a, chiso_put_ll(a->arena + a->used, v));
    return 0;
}

int chiso_rargs_key(chiso_rargs *a, const char *prefix, const char *unit, const char *suffix)
{
    size_t pl = strlen(prefix), ul = strlen(unit), sl = strlen(suffix);
    if (grow(a) != 0 || reserve(a, pl + ul + sl + 4) != 0)
        return CHISO_ENOMEM;
    char *p = a->arena + a->used;
    memcpy(p, prefix, pl);
    p += pl;
    *p++ = ':';
    *p++ = '{';
    memcpy(p, unit, ul);
    p += ul;
    *p++ = '}';
    *p++ = ':';
    memcpy(p, suffix, sl);
    add_arena(a, pl + ul + sl + 4);
    return 0;
}

int chiso_rargs_int_str(chiso_rargs *a, long long v, const char *s)
{
    size_t sl = strlen(s);
    if (grow(a) != 0 || reserve(a, 24 + sl) != 0)
        return CHISO_ENOMEM;
    char *p = a->arena + a->used;
    size_t n = chiso_put_ll(p, v);
    p[n++] = ':';
    memcpy(p + n, s, sl);
    add_arena(a, n + sl);
    return 0;
}

int chiso_rargs_str(chiso_rargs *a, const char *s)
{
    size_t sl = strlen(s);
    if (grow(a) != 0 || reserve(a, sl) != 0)
        return CHISO_ENOMEM;
    memcpy(a->arena + a->used, s, sl);
    add_arena(a, sl);
    return 0;
}

int chiso_rargs_append(chiso_redis *rc, chiso_rargs *a)
{
    /* "*<n>\r\n" then "$<len>\r\n<bytes>\r\n" per argument */
    size_t need = 24;
    for (int i = 0; i < a->n; i++)
        need += 24 + a->len[i] + 2;
    if (need > a->wire_size) {
        size_t size = a->wire_size ? a->wire_size : 4096;
        while (size < need)
            size *= 2;
        char *wire = realloc(a->wire, size);
        if (!wire) {
            chiso_rargs_reset(a);
            return REDIS_ERR;
        }
        a->wire = wire;
        a->wire_size = size;
    }
    char *p = a->wire;
    *p++ = '*';
    p += chiso_put_ll(p, a->n);
    *p++ = '\r';
    *p++ = '\n';
    for (int i = 0; i < a->n; i++) {
        const char *arg = a->off[i] != REF ? a->arena + a->off[i] : a->argv[i];
        *p++ = '$';
        p += chiso_put_ll(p, (long long)a->len[i]);
        *p++ = '\r';
        *p++ = '\n';
        memcpy(p, arg, a->len[i]);
        p += a->len[i];
        *p++ = '\r';
        *p++ = '\n';
    }
    int rc2 = chiso_redis_append_formatted(rc, a->wire, (size_t)(p - a->wire));
    chiso_rargs_reset(a);
    return rc2;
}
