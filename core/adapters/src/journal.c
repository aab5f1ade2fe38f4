/*
 * journal.c - a unit's journaled counter changes and their fold (journal.h).
 */
#include "chiso/journal.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chiso/common.h"
#include "chiso/dossier.h"
#include "chiso/redisargs.h"

/*
 * A fold's write, of values the folder computed: KEYS[1] = the unit's
 * journal, KEYS[2..] = the hashes (a hash may come more than once, its
 * fields split). ARGV[1] = the journal's leading text folded; then per
 * KEYS[2..] entry: n, the number of fields it changes, and ns, how many of
 * them are set (the other n - ns removed); the n fields (those set first);
 * the n values the folder read and computed from ("" for absent); the ns
 * (field, new value) pairs; the n - ns fields removed. Returns 1; or 0,
 * changing nothing, when the journal no longer begins with ARGV[1] or a
 * field no longer holds the value read (another process folded meanwhile:
 * a fold of any version, which is why the values are compared and not a
 * version number only newer folds would keep). The sums are the folder's:
 * in a script, converting and adding numbers cost about 0.75 µs per field,
 * more than Redis's HMGET and HSET themselves (docs/benchmarks.md).
 */
static const char LUA_FOLD[] =
    "local p = ARGV[1]\n"
    "if redis.call('GETRANGE', KEYS[1], 0, #p - 1) ~= p then return 0 end\n"
    "local a = 2\n"
    "for h = 2, #KEYS do\n"
    "  local n, ns = tonumber(ARGV[a]), tonumber(ARGV[a + 1])\n"
    "  a = a + 2\n"
    "  local cur = redis.call('HMGET', KEYS[h], unpack(ARGV, a, a + n - 1))\n"
    "  for j = 1, n do\n"
    "    if (cur[j] or '') ~= ARGV[a + n + j - 1] then return 0 end\n"
    "  end\n"
    "  a = a + 2 * n + 2 * ns + n - ns\n"
    "end\n"
    "a = 2\n"
    "for h = 2, #KEYS do\n"
    "  local n, ns = tonumber(ARGV[a]), tonumber(ARGV[a + 1])\n"
    "  a = a + 2 + 2 * n\n"
    "  if ns > 0 then redis.call('HSET', KEYS[h], unpack(ARGV, a, a + 2 * ns - 1)) end\n"
    "  a = a + 2 * ns\n"
    "  if n > ns then redis.call('HDEL', KEYS[h], unpack(ARGV, a, a + n - ns - 1)) end\n"
    "  a = a + n - ns\n"
    "end\n"
    "local rest = redis.call('GETRANGE', KEYS[1], #p, -1)\n"
    "if rest == '' then redis.call('DEL', KEYS[1]) else redis.call('SET', KEYS[1], rest) end\n"
    "return 1\n";

/* Units read and folded per pipeline: a fold call writes many fields, and
 * Redis runs a client's pipelined commands back to back, so other clients
 * (classify's apply calls) wait for at most this many folds at a time. */
#define FOLD_BATCH 16
/* Rounds before a fold gives up (a round that lost a race to another
 * process's fold, which moved the text itself, reads the journal again). */
#define FOLD_ROUNDS 64
/* Fields of one hash per HMGET and HSET (Lua's unpack() takes a few
 * thousand values at most). */
#define FOLD_FIELDS 1000

static bool name_ok(const char *s, size_t len)
{
    if (len == 0 || len > CHISO_JOURNAL_NAME_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= ' ' || c == 0x7f)
            return false;
    }
    return true;
}

long chiso_journal_line(char *buf, size_t len, size_t size, const char *hash, const char *field,
                        long long delta)
{
    size_t hl = strlen(hash), fl = strlen(field);
    if (delta == 0 || !name_ok(hash, hl) || !name_ok(field, fl) || len >= size)
        return -1;
    /* written by hand: classify writes millions of lines, and printf was
     * most of their cost */
    char digits[20];
    size_t nd = chiso_put_ll(digits, delta);
    size_t n = hl + 1 + fl + 1 + nd + 1;
    if (n >= size - len) /* room for the line and a terminating NUL */
        return -1;
    char *p = buf + len;
    memcpy(p, hash, hl);
    p += hl;
    *p++ = ' ';
    memcpy(p, field, fl);
    p += fl;
    *p++ = ' ';
    memcpy(p, digits, nd);
    p += nd;
    *p++ = '\n';
    *p = '\0';
    return (long)(len + n);
}

long chiso_journal_parse(const char *buf, size_t len, chiso_journal_cb cb, void *ctx)
{
    size_t pos = 0;
    for (;;) {
        const char *line = buf + pos;
        const char *nl = memchr(line, '\n', len - pos);
        if (!nl)
            return (long)pos; /* the rest, if any, is an incomplete line */
        const char *sp1 = memchr(line, ' ', (size_t)(nl - line));
        const char *sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(nl - sp1 - 1)) : NULL;
        if (!sp2 || !name_ok(line, (size_t)(sp1 - line)) ||
            !name_ok(sp1 + 1, (size_t)(sp2 - sp1 - 1)))
            return CHISO_EINVAL;
        /* the delta: an optional minus, 1..18 digits without a leading
         * zero (as written: zero is never journaled) */
        const char *d = sp2 + 1;
        bool neg = d < nl && *d == '-';
        d += neg;
        if (d == nl || nl - d > 18 || *d == '0')
            return CHISO_EINVAL;
        long long v = 0;
        for (; d < nl; d++) {
            if (*d < '0' || *d > '9')
                return CHISO_EINVAL;
            v = v * 10 + (*d - '0');
        }
        int rc =
            cb(ctx, line, (size_t)(sp1 - line), sp1 + 1, (size_t)(sp2 - sp1 - 1), neg ? -v : v);
        if (rc != 0)
            return rc;
        pos = (size_t)(nl - buf) + 1;
    }
}

/* ---- folding ---- */

typedef struct change {
    const char *hash, *field; /* into the journal text read */
    size_t hash_len, field_len;
    long long delta;
} change;

/* The distinct (hash, field) changes of a journal text, summed as they
 * are read: a journal repeats the same few hundred pairs over and over, so
 * each line is looked up in an open-addressing table (kept at most half
 * full) rather than kept and sorted. */
typedef struct changes {
    change *v;
    size_t n, cap;
    uint32_t *slot; /* 0 = empty, else index into v + 1 */
    size_t nslot;   /* a power of two, at least 2 * cap */
} changes;

static uint64_t pair_hash(const char *hash, size_t hash_len, const char *field, size_t field_len)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a over hash, a separator, field */
    for (size_t i = 0; i < hash_len; i++)
        h = (h ^ (unsigned char)hash[i]) * 1099511628211ull;
    h = (h ^ ' ') * 1099511628211ull;
    for (size_t i = 0; i < field_len; i++)
        h = (h ^ (unsigned char)field[i]) * 1099511628211ull;
    return h ^ (h >> 29);
}

static size_t find_slot(const changes *c, const char *hash, size_t hash_len, const char *field,
                        size_t field_len)
{
    size_t mask = c->nslot - 1, i = pair_hash(hash, hash_len, field, field_len) & mask;
    for (;; i = (i + 1) & mask) {
        if (c->slot[i] == 0)
            return i;
        const change *e = &c->v[c->slot[i] - 1];
        if (e->hash_len == hash_len && e->field_len == field_len &&
            memcmp(e->hash, hash, hash_len) == 0 && memcmp(e->field, field, field_len) == 0)
            return i;
    }
}

/* Make room for one more distinct change (the table stays under half full). */
static int grow(changes *c)
{
    if (c->n < c->cap)
        return 0;
    size_t cap = c->cap ? c->cap * 2 : 256;
    change *v = realloc(c->v, cap * sizeof(*v));
    if (!v)
        return CHISO_ENOMEM;
    c->v = v;
    c->cap = cap;
    uint32_t *slot = calloc(cap * 2, sizeof(*slot));
    if (!slot)
        return CHISO_ENOMEM;
    free(c->slot);
    c->slot = slot;
    c->nslot = cap * 2;
    for (size_t k = 0; k < c->n; k++) {
        const change *e = &c->v[k];
        c->slot[find_slot(c, e->hash, e->hash_len, e->field, e->field_len)] = (uint32_t)k + 1;
    }
    return 0;
}

static void changes_free(changes *c)
{
    free(c->v);
    free(c->slot);
}

/* A sum of 0 is kept: written field by field, +1 then -1 left the field at
 * 0 in its hash, and a period hash that exists is a period the unit has
 * counters in (the snapshot ranks the units that have); a procedure set
 * removes a field at 0 all the same. */
static int collect(void *ctx, const char *hash, size_t hash_len, const char *field,
                   size_t field_len, long long delta)
{
    changes *c = ctx;
    if (grow(c) != 0)
        return CHISO_ENOMEM;
    size_t i = find_slot(c, hash, hash_len, field, field_len);
    if (c->slot[i]) { /* a sum past 64 bits: malformed, left as it is */
        long long *sum = &c->v[c->slot[i] - 1].delta;
        return __builtin_add_overflow(*sum, delta, sum) ? CHISO_EINVAL : 0;
    }
    c->v[c->n] = (change){hash, field, hash_len, field_len, delta};
    c->slot[i] = (uint32_t)++c->n;
    return 0;
}

static int cmp_bytes(const char *a, size_t al, const char *b, size_t bl)
{
    int r = memcmp(a, b, al < bl ? al : bl);
    return r ? r : (al > bl) - (al < bl);
}

static int cmp_change(const void *pa, const void *pb)
{
    const change *a = pa, *b = pb;
    int r = cmp_bytes(a->hash, a->hash_len, b->hash, b->hash_len);
    return r ? r : cmp_bytes(a->field, a->field_len, b->field, b->field_len);
}

/* Sort the summed changes by hash, then field (the table's slots are no
 * longer valid after it). */
static void sort_changes(changes *c)
{
    qsort(c->v, c->n, sizeof(*c->v), cmp_change);
}

/* Whether change i is the first of its hash (the changes are sorted). */
static bool hash_starts(const changes *c, size_t i)
{
    return i == 0 ||
           cmp_bytes(c->v[i].hash, c->v[i].hash_len, c->v[i - 1].hash, c->v[i - 1].hash_len) != 0;
}

/* Whether a journal hash is a procedure set ("po:2025-Q3", dossier.h): a
 * field of it that reaches 0 is removed. */
static bool is_proc_set(const char *hash, size_t len)
{
    for (int k = 0; k < CHISO_PS_COUNT; k++) {
        const char *name = chiso_proc_set_name((chiso_proc_set)k);
        size_t n = strlen(name);
        if (len > n && memcmp(hash, name, n) == 0 && hash[n] == ':')
            return true;
    }
    return false;
}

/* The end of the run of changes from i on that one HMGET and one HSET
 * carry: the changes of one hash, at most FOLD_FIELDS of them (Lua's
 * unpack() has a limit; a hash with more is split over several runs). */
static size_t run_end(const changes *c, size_t i)
{
    size_t j = i + 1;
    while (j < c->n && j - i < FOLD_FIELDS && !hash_starts(c, j))
        j++;
    return j;
}

/* Queue the reads a unit's fold computes from: the current value of every
 * field its journal text changes, one HMGET per run; *queued counts the
 * commands queued (all of them unless out of memory: their replies must
 * be taken off the connection all the same). */
static int append_reads(chiso_redis *rc, chiso_rargs *a, const char *prefix, const char *unit,
                        const changes *c, size_t *queued)
{
    int r = 0;
    *queued = 0;
    for (size_t i = 0; i < c->n && r == 0;) {
        size_t j = run_end(c, i);
        chiso_rargs_reset(a);
        r |= chiso_rargs_ref(a, "HMGET", 5);
        r |= chiso_rargs_fmt(a, "%s:{%s}:%.*s", prefix, unit, (int)c->v[i].hash_len, c->v[i].hash);
        for (; i < j; i++)
            r |= chiso_rargs_ref(a, c->v[i].field, c->v[i].field_len);
        if (r == 0 && chiso_rargs_append(rc, a) != REDIS_OK)
            r = CHISO_ENOMEM;
        *queued += r == 0;
    }
    return r;
}

/* A hash field's value as read: absent (nil) is 0; anything but a decimal
 * integer is an error (nothing else writes these hashes). */
static bool field_value(const redisReply *e, long long *v)
{
    if (e->type == REDIS_REPLY_NIL) {
        *v = 0;
        return true;
    }
    if (e->type != REDIS_REPLY_STRING || e->len == 0 || e->len > 20)
        return false;
    char buf[24], *end;
    memcpy(buf, e->str, e->len);
    buf[e->len] = '\0';
    errno = 0;
    *v = strtoll(buf, &end, 10);
    return errno == 0 && *end == '\0';
}

/* Queue the fold call of one unit: its journal text (the first `used`
 * bytes are the whole lines summed in c), every changed field's new value
 * from the values read, `rd` (append_reads(): one HMGET reply per run).
 * Returns 0, CHISO_EINVAL when a field is no integer or a sum overflows
 * (errstr says), CHISO_ENOMEM. */
static int append_fold(chiso_redis *rc, chiso_rargs *a, const char *prefix, const char *unit,
                       const char *text, size_t used, const changes *c, redisReply **rd, size_t nrd,
                       char *errstr, size_t errstr_size)
{
    int r = 0;

    for (size_t k = 0; k < nrd; k++) {
        if (rd[k]->type == REDIS_REPLY_ERROR)
            return chiso_errf(errstr, errstr_size, CHISO_EINVAL, "reading the counters of %s: %s",
                              unit, rd[k]->str);
        if (rd[k]->type != REDIS_REPLY_ARRAY)
            return chiso_errf(errstr, errstr_size, CHISO_EINVAL,
                              "reading the counters of %s: unexpected reply", unit);
    }
    size_t nkeys = 0;
    for (size_t i = 0; i < c->n; i = run_end(c, i))
        nkeys++;
    chiso_rargs_reset(a);
    r |= chiso_rargs_ref(a, "EVAL", 4);
    r |= chiso_rargs_ref(a, LUA_FOLD, sizeof(LUA_FOLD) - 1);
    r |= chiso_rargs_int(a, (long long)(1 + nkeys));
    r |= chiso_rargs_key(a, prefix, unit, "j");
    for (size_t i = 0; i < c->n; i = run_end(c, i))
        r |= chiso_rargs_fmt(a, "%s:{%s}:%.*s", prefix, unit, (int)c->v[i].hash_len, c->v[i].hash);
    r |= chiso_rargs_ref(a, text, used);
    size_t k = 0;
    for (size_t i = 0; i < c->n && r == 0; k++) {
        size_t j = run_end(c, i), n = j - i;
        const redisReply *vals = rd[k];
        bool set = is_proc_set(c->v[i].hash, c->v[i].hash_len);
        long long *sums = malloc(n * sizeof(*sums));
        size_t nset = 0;
        if (!sums)
            return CHISO_ENOMEM;
        if (vals->elements != n) {
            free(sums);
            return chiso_errf(errstr, errstr_size, CHISO_EINVAL,
                              "reading the counters of %s: unexpected reply", unit);
        }
        for (size_t f = i; f < j; f++) {
            long long cur;
            if (!field_value(vals->element[f - i], &cur) ||
                __builtin_add_overflow(cur, c->v[f].delta, &sums[f - i])) {
                int e = chiso_errf(errstr, errstr_size, CHISO_EINVAL,
                                   "field %.*s of %s:{%s}:%.*s is not an integer or overflows "
                                   "(the journal is left as it is)",
                                   (int)c->v[f].field_len, c->v[f].field, prefix, unit,
                                   (int)c->v[f].hash_len, c->v[f].hash);
                free(sums);
                return e;
            }
            /* a procedure set removes a field at 0 (HLEN counts the
             * procedures with a dossier); a counter keeps it */
            nset += !(set && sums[f - i] == 0);
        }
        r |= chiso_rargs_int(a, (long long)n);
        r |= chiso_rargs_int(a, (long long)nset);
        /* the fields, those set first; then the values read, in the same
         * order; then what is set; then what is removed */
        for (int pass = 0; pass < 2; pass++)
            for (size_t f = i; f < j; f++)
                if ((set && sums[f - i] == 0) == (pass == 1))
                    r |= chiso_rargs_ref(a, c->v[f].field, c->v[f].field_len);
        for (int pass = 0; pass < 2; pass++) {
            for (size_t f = i; f < j; f++) {
                const redisReply *e = vals->element[f - i];
                if ((set && sums[f - i] == 0) != (pass == 1))
                    continue;
                if (e->type == REDIS_REPLY_STRING)
                    r |= chiso_rargs_ref(a, e->str, e->len);
                else
                    r |= chiso_rargs_ref(a, "", 0);
            }
        }
        for (size_t f = i; f < j; f++) {
            if (set && sums[f - i] == 0)
                continue;
            r |= chiso_rargs_ref(a, c->v[f].field, c->v[f].field_len);
            r |= chiso_rargs_int(a, sums[f - i]);
        }
        for (size_t f = i; f < j; f++)
            if (set && sums[f - i] == 0)
                r |= chiso_rargs_ref(a, c->v[f].field, c->v[f].field_len);
        free(sums);
        i = j;
    }
    if (r || chiso_rargs_append(rc, a) != REDIS_OK)
        return CHISO_ENOMEM;
    return 0;
}

/* The replies a unit's reads take (append_reads()). */
static size_t reads_of(const changes *c)
{
    size_t n = 0;
    for (size_t i = 0; i < c->n; i = run_end(c, i))
        n++;
    return n;
}

/* One round over units[0..n): read each journal whole, then the fields it
 * changes, and fold it whole: the text is the appends of whole apply calls,
 * so the hashes never hold a call in part (a reader's transaction sees a
 * cut of whole calls; docs/snapshot.md). Three pipelines: the journals, the
 * fields, the fold calls. A journal stays near journal.fold.kb, as classify
 * folds it past that. Sets again[i] for a unit that needs another round. */
static int fold_round(chiso_redis *rc, chiso_rargs *a, const char *prefix, const char *const *units,
                      size_t n, bool *again, char *errstr, size_t errstr_size)
{
    redisReply **texts = calloc(n ? n : 1, sizeof(*texts));
    long *used = calloc(n ? n : 1, sizeof(*used)); /* the text's whole lines */
    size_t *nq = calloc(n ? n : 1, sizeof(*nq));   /* its reads queued */
    bool *sent = calloc(n ? n : 1, sizeof(*sent));
    changes *cs = calloc(n ? n : 1, sizeof(*cs));
    redisReply **rd = NULL;
    size_t nrd_max = 0;
    int rc2 = 0;

    if (!texts || !used || !nq || !sent || !cs) {
        rc2 = CHISO_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        chiso_redis_appendf(rc, "GET %s:{%s}:j", prefix, units[i]);
    for (size_t i = 0; i < n; i++) {
        if (chiso_redis_get_reply(rc, &texts[i]) != REDIS_OK || !texts[i]) {
            rc2 = chiso_errf(errstr, errstr_size, CHISO_EIO, "reading a journal: %s",
                             chiso_redis_errstr(rc));
            goto out;
        }
    }
    /* the fields each journal changes */
    for (size_t i = 0; i < n && rc2 == 0; i++) {
        const redisReply *t = texts[i];
        again[i] = false;
        if (t->type == REDIS_REPLY_ERROR) {
            rc2 = chiso_errf(errstr, errstr_size, CHISO_EINVAL, "journal of %s: %s", units[i],
                             t->str);
            break;
        }
        if (t->type != REDIS_REPLY_STRING || t->len == 0)
            continue;
        long u = chiso_journal_parse(t->str, t->len, collect, &cs[i]);
        if (u == CHISO_ENOMEM) {
            rc2 = CHISO_ENOMEM;
        } else if (u <= 0) {
            rc2 = chiso_errf(errstr, errstr_size, CHISO_EINVAL,
                             "journal of %s is malformed (left as it is)", units[i]);
        } else {
            sort_changes(&cs[i]);
            used[i] = u;
            rc2 = append_reads(rc, a, prefix, units[i], &cs[i], &nq[i]);
            size_t m = reads_of(&cs[i]);
            nrd_max = m > nrd_max ? m : nrd_max;
        }
    }
    if (nrd_max && !(rd = calloc(nrd_max, sizeof(*rd))) && rc2 == 0)
        rc2 = CHISO_ENOMEM;
    /* every unit's reads are taken off the connection, whatever went wrong */
    for (size_t i = 0; i < n; i++) {
        if (nq[i] == 0)
            continue;
        size_t m = nq[i], got = 0;
        for (; got < m; got++) {
            redisReply *r;
            if (chiso_redis_get_reply(rc, &r) != REDIS_OK || !r) {
                rc2 = chiso_errf(errstr, errstr_size, CHISO_EIO, "reading counters: %s",
                                 chiso_redis_errstr(rc));
                break;
            }
            if (rd)
                rd[got] = r;
            else
                freeReplyObject(r);
        }
        if (got == m && m == reads_of(&cs[i]) && rc2 == 0) {
            rc2 = append_fold(rc, a, prefix, units[i], texts[i]->str, (size_t)used[i], &cs[i], rd,
                              m, errstr, errstr_size);
            sent[i] = rc2 == 0;
        }
        for (size_t k = 0; rd && k < got; k++)
            freeReplyObject(rd[k]);
        if (got < m)
            goto out; /* the connection is gone */
    }
    for (size_t i = 0; i < n; i++) {
        redisReply *r;
        if (!sent[i])
            continue;
        if (chiso_redis_get_reply(rc, &r) != REDIS_OK || !r) {
            rc2 = chiso_errf(errstr, errstr_size, CHISO_EIO, "folding a journal: %s",
                             chiso_redis_errstr(rc));
            goto out;
        }
        if (r->type == REDIS_REPLY_INTEGER && r->integer == 0)
            again[i] = true; /* folded by another process meanwhile: read it again */
        else if (r->type != REDIS_REPLY_INTEGER && rc2 == 0)
            rc2 = chiso_errf(errstr, errstr_size, CHISO_EINVAL, "folding the journal of %s: %s",
                             units[i], r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
        freeReplyObject(r);
    }
out:
    for (size_t i = 0; texts && i < n; i++)
        if (texts[i])
            freeReplyObject(texts[i]);
    for (size_t i = 0; cs && i < n; i++)
        changes_free(&cs[i]);
    free(texts);
    free(used);
    free(nq);
    free(sent);
    free(cs);
    free(rd);
    return rc2;
}

int chiso_journal_fold(chiso_redis *rc, const char *prefix, const char *const *units, size_t n,
                       char *errstr, size_t errstr_size)
{
    chiso_rargs *a = chiso_rargs_new();
    const char **todo = malloc((n ? n : 1) * sizeof(*todo));
    bool *again = calloc(FOLD_BATCH, sizeof(*again));
    int r = 0;

    if (!a || !todo || !again) {
        r = CHISO_ENOMEM;
        goto out;
    }
    for (size_t start = 0; start < n && r == 0; start += FOLD_BATCH) {
        size_t m = n - start < FOLD_BATCH ? n - start : FOLD_BATCH;
        memcpy(todo, units + start, m * sizeof(*todo));
        for (int round = 0; m > 0 && r == 0; round++) {
            if (round == FOLD_ROUNDS) {
                r = chiso_errf(errstr, errstr_size, CHISO_EIO,
                               "journal of %s still not folded after %d rounds", todo[0], round);
                break;
            }
            r = fold_round(rc, a, prefix, todo, m, again, errstr, errstr_size);
            size_t k = 0;
            for (size_t i = 0; i < m; i++)
                if (again[i])
                    todo[k++] = todo[i];
            m = k;
        }
    }
out:
    chiso_rargs_free(a);
    free(todo);
    free(again);
    return r;
}

int chiso_journal_fold_all(chiso_redis *rc, const char *prefix, char *errstr, size_t errstr_size)
{
    char match[256];
    chiso_redis_scan it = {0};
    redisReply *scan;
    int r = 0, more;

    snprintf(match, sizeof(match), "%s:{*}:j", prefix);
    while (r == 0 && (more = chiso_redis_scan_next(rc, &it, match, &scan)) != 0) {
        if (more < 0)
            return chiso_errf(errstr, errstr_size, CHISO_EIO, "scanning for journals: %s",
                              chiso_redis_errstr(rc));
        const redisReply *keys = scan->element[1];
        size_t n = 0;
        char **units = calloc(keys->elements ? keys->elements : 1, sizeof(*units));
        if (!units)
            r = CHISO_ENOMEM;
        for (size_t i = 0; r == 0 && i < keys->elements; i++) {
            /* <prefix>:{<unit>}:j */
            const char *key = keys->element[i]->str;
            const char *open = key ? strchr(key, '{') : NULL;
            const char *close = open ? strchr(open, '}') : NULL;
            if (!close || strcmp(close, "}:j") != 0)
                continue;
            if (!(units[n] = strndup(open + 1, (size_t)(close - open - 1))))
                r = CHISO_ENOMEM;
            else
                n++;
        }
        if (r == 0)
            r = chiso_journal_fold(rc, prefix, (const char *const *)units, n, errstr, errstr_size);
        for (size_t i = 0; units && i < n; i++)
            free(units[i]);
        free(units);
        freeReplyObject(scan);
    }
    return r;
}
