/*
 * redisargs.c - building a Redis command's arguments (redisargs.h).
 *
 * Formatted arguments are kept as offsets into the arena, which may move
 * while it grows; they become pointers only when the command is appended.
 */
#include "chiso/redisargs.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "chiso/common.h"

#define REF ((size_t)-1) /* argv[i] points outside the arena */

struct chiso_rargs {
    const char **argv;
    size_t *len;
    size_t *off; /* offset into arena, or REF */
    int n, cap;
    char *arena;
    size_t used, size;
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

int chiso_rargs_fmt(chiso_rargs *a, const char *fmt, ...)
{
    va_list ap;
    int n;
    if (grow(a) != 0)
        return CHISO_ENOMEM;
    for (;;) {
        va_start(ap, fmt);
        n = vsnprintf(a->arena ? a->arena + a->used : NULL, a->size - a->used, fmt, ap);
        va_end(ap);
        if (n < 0)
            return CHISO_EINVAL;
        if (a->used + (size_t)n < a->size)
            break;
        size_t size = a->size ? a->size * 2 : 4096;
        while (size < a->used + (size_t)n + 1)
            size *= 2;
        char *arena = realloc(a->arena, size);
        if (!arena)
            return CHISO_ENOMEM;
        a->arena = arena;
        a->size = size;
    }
    a->argv[a->n] = NULL;
    a->len[a->n] = (size_t)n;
    a->off[a->n] = a->used;
    a->used += (size_t)n + 1;
    a->n++;
    return 0;
}

int chiso_rargs_append(redisContext *rc, chiso_rargs *a)
{
    for (int i = 0; i < a->n; i++) {
        if (a->off[i] != REF)
            a->argv[i] = a->arena + a->off[i];
    }
    int rc2 = redisAppendCommandArgv(rc, a->n, a->argv, a->len);
    chiso_rargs_reset(a);
    return rc2;
}
