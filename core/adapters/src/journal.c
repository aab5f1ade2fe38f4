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
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "chiso/common.h"
#include "chiso/dossier.h"
#include "chiso/redisargs.h"

/*
 * A fold's write, of values the folder computed: KEYS[1] = the unit's
 * journal, KEYS[2..] = the hashes (a hash may come more than once, its
 * fields split). ARGV[1] = the journal's leading text folded; ARGV[2] = the
 * mark the rest begins with (journal.h); ARGV[3] = "1" when that text
 * begins with a mark, else "0"; then per KEYS[2..] entry: n, the number of
 * fields it changes, and ns, how many of them are set (the other n - ns
 * removed); without a mark only, the n fields (those set first) and the n
 * values the folder read and computed from ("" for absent); the ns (field,
 * new value) pairs; the n - ns fields removed. Returns 1; or 0, changing
 * nothing, when the journal no longer begins with ARGV[1], or, without a
 * mark, a field no longer holds the value read (another process folded
 * meanwhile).
 * With a mark the text is enough: every fold, of any version, moves the
 * mark, which no other journal of the unit ever had, so a journal that
 * still begins with it was folded by no one since it was read, and the
 * fields read after it still hold what was read (nothing but folds writes
 * a field a journal names; chiso-feedback's fb_* counters, in the same
 * hashes, are never journaled). Without one (a journal of a version before marks) the same text
 * may have come back after another process folded it, so the values are
 * compared. The sums are the folder's: in a script, converting and adding
 * numbers cost about 0.75 µs per field, more than Redis's HMGET and HSET
 * themselves (docs/benchmarks.md).
 */
static const char LUA_FOLD[] =
    "local p = ARGV[1]\n"
    "if redis.call('GETRANGE', KEYS[1], 0, #p - 1) ~= p then return 0 end\n"
    "local marked = ARGV[3] == '1'\n"
    "local a = 4\n"
    "for h = 2, #KEYS do\n"
    "  if marked then break end\n"
    "  local n, ns = tonumber(ARGV[a]), tonumber(ARGV[a + 1])\n"
    "  a = a + 2\n"
    "  local cur = redis.call('HMGET', KEYS[h], unpack(ARGV, a, a + n - 1))\n"
    "  for j = 1, n do\n"
    "    if (cur[j] or '') ~= ARGV[a + n + j - 1] then return 0 end\n"
    "  end\n"
    "  a = a + 2 * n + 2 * ns + n - ns\n"
    "end\n"
    "a = 4\n"
    "for h = 2, #KEYS do\n"
    "  local n, ns = tonumber(ARGV[a]), tonumber(ARGV[a + 1])\n"
    "  a = a + 2\n"
    "  if not marked then a = a + 2 * n end\n"
    "  if ns > 0 then redis.call('HSET', KEYS[h], unpack(ARGV, a, a + 2 * ns - 1)) end\n"
    "  a = a + 2 * ns\n"
    "  if n > ns then redis.call('HDEL', KEYS[h], unpack(ARGV, a, a + n - ns - 1)) end\n"
    "  a = a + n - ns\n"
    "end\n"
    "local rest = redis.call('GETRANGE', KEYS[1], #p, -1)\n"
    "if rest == '' then redis.call('DEL', KEYS[1]) else\n"
    "  redis.call('SET', KEYS[1], ARGV[2])\n"
    "  redis.call('APPEND', KEYS[1], rest)\n"
    "end\n"
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

/* ---- marks ---- */

static bool is_mark(const char *hash, size_t len)
{
    return len == sizeof(CHISO_JOURNAL_MARK_HASH) - 1 &&
           memcmp(hash, CHISO_JOURNAL_MARK_HASH, len) == 0;
}

/* splitmix64, seeded once per thread from getrandom() (the time and the
 * thread's address if that fails): marks must differ between every
 * journal a unit ever has, across processes */
static uint64_t mark_next(void)
{
    static _Thread_local uint64_t state;
    static _Thread_local bool seeded;
    if (!seeded) {
        if (getrandom(&state, sizeof(state), 0) != (ssize_t)sizeof(state)) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            state = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^ (uintptr_t)&state ^
                    ((uint64_t)getpid() << 48);
        }
        seeded = true;
    }
    uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void chiso_journal_mark(char out[CHISO_JOURNAL_MARK_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    char digits[16];
    uint64_t v = mark_next();
    for (int i = 15; i >= 0; i--, v >>= 4)
        digits[i] = hex[v & 15];
    snprintf(out, CHISO_JOURNAL_MARK_LEN + 1,
             CHISO_JOURNAL_MARK_HASH " %.16s 1\n" CHISO_JOURNAL_MARK_HASH " %.16s -1\n", digits,
             digits);
}

bool chiso_journal_marked(const char *text, size_t len)
{
    const size_t h = sizeof(CHISO_JOURNAL_MARK_HASH) - 1; /* "po:j" */
    if (len < CHISO_JOURNAL_MARK_LEN)
        return false;
    const char *second = text + h + 1 + 16 + 3;
    if (memcmp(text, CHISO_JOURNAL_MARK_HASH " ", h + 1) != 0 ||
        memcmp(text + h + 17, " 1\n", 3) != 0 ||
        memcmp(second, CHISO_JOURNAL_MARK_HASH " ", h + 1) != 0 ||
        memcmp(second + h + 1, text + h + 1, 16) != 0 || memcmp(second + h + 17, " -1\n", 4) != 0)
        return false;
    for (size_t i = 0; i < 16; i++) {
        char c = text[h + 1 + i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return false;
    }
    return true;
}

/* ---- folding ---- */

/* Mix n bytes into h a word at a time (a journal's names are 5 to 30
 * bytes; byte-wise FNV was a quarter of a fold's time, docs/benchmarks.md).
 * Only speed depends on it: lookups compare the names. */
static uint64_t mix_bytes(uint64_t h, const char *p, size_t n)
{
    const uint64_t k = 0x9e3779b97f4a7c15ull;
    for (; n >= 8; p += 8, n -= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h = (h ^ w) * k;
        h ^= h >> 32;
    }
    uint64_t w = 0;
    memcpy(&w, p, n);
    h = (h ^ w ^ ((uint64_t)n << 59)) * k;
    return h ^ (h >> 29);
}

static uint64_t pair_hash(const char *hash, size_t hash_len, const char *field, size_t field_len)
{
    return mix_bytes(mix_bytes(0x243f6a8885a308d3ull, hash, hash_len), field, field_len);
}

/* ---- reading without folding ---- */

/* A (hash, field) sum, or a hash's head (field_len 0: no line has an empty
 * field), whose `next` starts the list of the hash's fields. Names are in
 * the arena, NUL-terminated. */
typedef struct sum_entry {
    uint32_t hash, field; /* arena offsets */
    uint32_t hash_len, field_len;
    uint32_t next;  /* the hash's next field (index + 1; 0: the last) */
    uint32_t taken; /* the round that took it */
    long long delta;
} sum_entry;

struct chiso_journal_sums {
    char *arena;
    size_t alen, acap;
    sum_entry *v;
    size_t n, cap;
    uint32_t *slot; /* open addressing: 0 = empty, else index into v + 1 */
    size_t nslot;   /* a power of two, at least 2 * cap */
    uint32_t round;
    uint32_t last_head; /* the head of the last new field (index + 1; 0: none) */
};

chiso_journal_sums *chiso_journal_sums_new(void)
{
    chiso_journal_sums *s = calloc(1, sizeof(*s));
    if (s)
        s->round = 1; /* entries start at 0: not taken */
    return s;
}

void chiso_journal_sums_free(chiso_journal_sums *s)
{
    if (!s)
        return;
    free(s->arena);
    free(s->v);
    free(s->slot);
    free(s);
}

void chiso_journal_sums_clear(chiso_journal_sums *s)
{
    s->alen = s->n = 0;
    s->last_head = 0;
    if (s->slot)
        memset(s->slot, 0, s->nslot * sizeof(*s->slot));
}

size_t chiso_journal_sums_size(const chiso_journal_sums *s)
{
    size_t heads = 0;
    for (size_t i = 0; i < s->n; i++)
        heads += s->v[i].field_len == 0;
    return s->n - heads;
}

static size_t sums_find(const chiso_journal_sums *s, const char *hash, size_t hash_len,
                        const char *field, size_t field_len)
{
    size_t mask = s->nslot - 1, i = pair_hash(hash, hash_len, field, field_len) & mask;
    for (;; i = (i + 1) & mask) {
        if (s->slot[i] == 0)
            return i;
        const sum_entry *e = &s->v[s->slot[i] - 1];
        if (e->hash_len == hash_len && e->field_len == field_len &&
            memcmp(s->arena + e->hash, hash, hash_len) == 0 &&
            memcmp(s->arena + e->field, field, field_len) == 0)
            return i;
    }
}

static sum_entry *sums_lookup(const chiso_journal_sums *s, const char *hash, size_t hash_len,
                              const char *field, size_t field_len)
{
    if (s->n == 0)
        return NULL;
    size_t i = sums_find(s, hash, hash_len, field, field_len);
    return s->slot[i] ? &s->v[s->slot[i] - 1] : NULL;
}

/* Copy a name into the arena, NUL-terminated; its offset, or -1. */
static long sums_name(chiso_journal_sums *s, const char *name, size_t len)
{
    if (s->alen + len + 1 > s->acap) {
        size_t cap = s->acap ? s->acap * 2 : 4096;
        while (cap < s->alen + len + 1)
            cap *= 2;
        if (cap > UINT32_MAX)
            return -1;
        char *a = realloc(s->arena, cap);
        if (!a)
            return -1;
        s->arena = a;
        s->acap = cap;
    }
    long off = (long)s->alen;
    memcpy(s->arena + s->alen, name, len);
    s->arena[s->alen + len] = '\0';
    s->alen += len + 1;
    return off;
}

/* Room for two more entries, a field and its hash's head (the table stays
 * under half full). */
static int sums_grow(chiso_journal_sums *s)
{
    if (s->n + 2 <= s->cap)
        return 0;
    size_t cap = s->cap ? s->cap * 2 : 64;
    sum_entry *v = realloc(s->v, cap * sizeof(*v));
    if (!v)
        return CHISO_ENOMEM;
    s->v = v;
    s->cap = cap;
    uint32_t *slot = calloc(cap * 2, sizeof(*slot));
    if (!slot)
        return CHISO_ENOMEM;
    free(s->slot);
    s->slot = slot;
    s->nslot = cap * 2;
    for (size_t k = 0; k < s->n; k++) {
        const sum_entry *e = &s->v[k];
        s->slot[sums_find(s, s->arena + e->hash, e->hash_len, s->arena + e->field, e->field_len)] =
            (uint32_t)k + 1;
    }
    return 0;
}

/* A new entry in slot i (names copied unless `hash_at` gives the hash's
 * offset already in the arena); NULL when out of memory. */
static sum_entry *sums_add_entry(chiso_journal_sums *s, size_t i, const char *hash, size_t hash_len,
                                 long hash_at, const char *field, size_t field_len)
{
    long f = sums_name(s, field, field_len);
    long h = hash_at >= 0 ? hash_at : sums_name(s, hash, hash_len);
    if (f < 0 || h < 0)
        return NULL;
    sum_entry *e = &s->v[s->n];
    *e = (sum_entry){.hash = (uint32_t)h,
                     .field = (uint32_t)f,
                     .hash_len = (uint32_t)hash_len,
                     .field_len = (uint32_t)field_len};
    s->slot[i] = (uint32_t)++s->n;
    return e;
}

/* The entry of (hash, field), created at 0 when new (a new field goes at
 * the front of its hash's list, the head created first); NULL when out of
 * memory. Lines come in runs of one hash, so the last head is tried first. */
static sum_entry *sums_entry(chiso_journal_sums *s, const char *hash, size_t hash_len,
                             const char *field, size_t field_len)
{
    if (sums_grow(s) != 0)
        return NULL;
    size_t i = sums_find(s, hash, hash_len, field, field_len);
    if (s->slot[i])
        return &s->v[s->slot[i] - 1];
    uint32_t head = s->last_head;
    if (!head || s->v[head - 1].hash_len != hash_len ||
        memcmp(s->arena + s->v[head - 1].hash, hash, hash_len) != 0) {
        size_t hi = sums_find(s, hash, hash_len, "", 0);
        if (!s->slot[hi]) {
            if (!sums_add_entry(s, hi, hash, hash_len, -1, "", 0))
                return NULL;
            i = sums_find(s, hash, hash_len, field, field_len); /* hi may have been i */
        }
        s->last_head = head = s->slot[hi];
    }
    sum_entry *e =
        sums_add_entry(s, i, hash, hash_len, (long)s->v[head - 1].hash, field, field_len);
    if (e) {
        e->next = s->v[head - 1].next;
        s->v[head - 1].next = (uint32_t)s->n;
    }
    return e;
}

static int sums_line(void *ctx, const char *hash, size_t hash_len, const char *field,
                     size_t field_len, long long delta)
{
    chiso_journal_sums *s = ctx;
    if (is_mark(hash, hash_len))
        return 0;
    sum_entry *e = sums_entry(s, hash, hash_len, field, field_len);
    if (!e)
        return CHISO_ENOMEM;
    return __builtin_add_overflow(e->delta, delta, &e->delta) ? CHISO_EINVAL : 0;
}

long chiso_journal_sums_add(chiso_journal_sums *s, const char *text, size_t len)
{
    return chiso_journal_parse(text, len, sums_line, s);
}

long long chiso_journal_sums_get(const chiso_journal_sums *s, const char *hash, const char *field)
{
    const sum_entry *e = sums_lookup(s, hash, strlen(hash), field, strlen(field));
    return e && e->field_len ? e->delta : 0;
}

void chiso_journal_sums_round(chiso_journal_sums *s)
{
    if (++s->round == 0) { /* wrapped: no entry may look taken */
        for (size_t i = 0; i < s->n; i++)
            s->v[i].taken = 0;
        s->round = 1;
    }
}

long long chiso_journal_sums_take(chiso_journal_sums *s, const char *hash, const char *field)
{
    sum_entry *e = sums_lookup(s, hash, strlen(hash), field, strlen(field));
    if (!e || !e->field_len)
        return 0;
    e->taken = s->round;
    return e->delta;
}

const char *chiso_journal_sums_next(const chiso_journal_sums *s, const char *hash, uint32_t *cursor,
                                    long long *delta)
{
    uint32_t k;
    if (*cursor == 0) {
        const sum_entry *head = sums_lookup(s, hash, strlen(hash), "", 0);
        k = head ? head->next : 0;
    } else {
        k = s->v[*cursor - 1].next;
    }
    for (; k; k = s->v[k - 1].next) {
        const sum_entry *e = &s->v[k - 1];
        if (e->taken == s->round)
            continue;
        *cursor = k;
        *delta = e->delta;
        return s->arena + e->field;
    }
    *cursor = 0;
    return NULL;
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

/* A run of fields that one HMGET and one HSET carry: fields of one hash,
 * at most FOLD_FIELDS of them (Lua's unpack() has a limit; a hash with more
 * is split over several runs). */
typedef struct run {
    const char *hash;
    const sum_entry *f[FOLD_FIELDS];
    size_t n;
} run;

typedef struct run_iter {
    size_t h;   /* the next entry to look at for a hash's head */
    uint32_t k; /* the next field of the current hash (index + 1; 0: none) */
    const char *hash;
} run_iter;

/* The next run of s's fields, in the same order every time, into r (NULL:
 * only counted); false at the end. */
static bool run_next(const chiso_journal_sums *s, run_iter *it, run *r)
{
    while (it->k == 0) {
        if (it->h >= s->n)
            return false;
        const sum_entry *e = &s->v[it->h++];
        if (e->field_len == 0) {
            it->hash = s->arena + e->hash;
            it->k = e->next;
        }
    }
    size_t n = 0;
    for (; it->k && n < FOLD_FIELDS; it->k = s->v[it->k - 1].next, n++)
        if (r)
            r->f[n] = &s->v[it->k - 1];
    if (r) {
        r->hash = it->hash;
        r->n = n;
    }
    return true;
}

/* Queue the reads a unit's fold computes from: the current value of every
 * field its journal text changes, one HMGET per run; *queued counts the
 * commands queued (all of them unless out of memory: their replies must
 * be taken off the connection all the same). */
static int append_reads(chiso_redis *rc, chiso_rargs *a, const char *prefix, const char *unit,
                        const chiso_journal_sums *c, size_t *queued)
{
    run_iter it = {0};
    run *rn = malloc(sizeof(*rn));
    int r = rn ? 0 : CHISO_ENOMEM;
    *queued = 0;
    while (r == 0 && run_next(c, &it, rn)) {
        chiso_rargs_reset(a);
        r |= chiso_rargs_ref(a, "HMGET", 5);
        r |= chiso_rargs_key(a, prefix, unit, rn->hash);
        for (size_t f = 0; f < rn->n; f++)
            r |= chiso_rargs_ref(a, c->arena + rn->f[f]->field, rn->f[f]->field_len);
        if (r == 0 && chiso_rargs_append(rc, a) != REDIS_OK)
            r = CHISO_ENOMEM;
        *queued += r == 0;
    }
    free(rn);
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
                       const char *text, size_t used, const chiso_journal_sums *c, redisReply **rd,
                       size_t nrd, char *errstr, size_t errstr_size)
{
    for (size_t k = 0; k < nrd; k++) {
        if (rd[k]->type == REDIS_REPLY_ERROR)
            return chiso_errf(errstr, errstr_size, CHISO_EINVAL, "reading the counters of %s: %s",
                              unit, rd[k]->str);
        if (rd[k]->type != REDIS_REPLY_ARRAY)
            return chiso_errf(errstr, errstr_size, CHISO_EINVAL,
                              "reading the counters of %s: unexpected reply", unit);
    }
    run_iter it = {0};
    run *rn = malloc(sizeof(*rn));
    long long *sums = malloc(FOLD_FIELDS * sizeof(*sums));
    char mark[CHISO_JOURNAL_MARK_LEN + 1];
    int r = rn && sums ? 0 : CHISO_ENOMEM;

    chiso_rargs_reset(a);
    r |= chiso_rargs_ref(a, "EVAL", 4);
    r |= chiso_rargs_ref(a, LUA_FOLD, sizeof(LUA_FOLD) - 1);
    r |= chiso_rargs_int(a, (long long)(1 + nrd));
    r |= chiso_rargs_key(a, prefix, unit, "j");
    while (r == 0 && run_next(c, &it, rn))
        r |= chiso_rargs_key(a, prefix, unit, rn->hash);
    r |= chiso_rargs_ref(a, text, used);
    chiso_journal_mark(mark);
    r |= chiso_rargs_ref(a, mark, CHISO_JOURNAL_MARK_LEN);
    bool marked = chiso_journal_marked(text, used);
    r |= chiso_rargs_ref(a, marked ? "1" : "0", 1);
    it = (run_iter){0};
    for (size_t k = 0; r == 0 && run_next(c, &it, rn); k++) {
        const redisReply *vals = rd[k];
        bool set = is_proc_set(rn->hash, strlen(rn->hash));
        size_t n = rn->n, nset = 0;
        if (vals->elements != n) {
            r = chiso_errf(errstr, errstr_size, CHISO_EINVAL,
                           "reading the counters of %s: unexpected reply", unit);
            break;
        }
        for (size_t f = 0; f < n && r == 0; f++) {
            long long cur;
            if (!field_value(vals->element[f], &cur) ||
                __builtin_add_overflow(cur, rn->f[f]->delta, &sums[f]))
                r = chiso_errf(errstr, errstr_size, CHISO_EINVAL,
                               "field %s of %s:{%s}:%s is not an integer or overflows "
                               "(the journal is left as it is)",
                               c->arena + rn->f[f]->field, prefix, unit, rn->hash);
            /* a procedure set removes a field at 0 (HLEN counts the
             * procedures with a dossier); a counter keeps it */
            nset += !(set && sums[f] == 0);
        }
        if (r != 0)
            break;
        r |= chiso_rargs_int(a, (long long)n);
        r |= chiso_rargs_int(a, (long long)nset);
        /* without a mark, the fields, those set first, then the values
         * read, in the same order; then what is set; then what is removed */
        for (int pass = 0; !marked && pass < 2; pass++)
            for (size_t f = 0; f < n; f++)
                if ((set && sums[f] == 0) == (pass == 1))
                    r |= chiso_rargs_ref(a, c->arena + rn->f[f]->field, rn->f[f]->field_len);
        for (int pass = 0; !marked && pass < 2; pass++) {
            for (size_t f = 0; f < n; f++) {
                const redisReply *e = vals->element[f];
                if ((set && sums[f] == 0) != (pass == 1))
                    continue;
                if (e->type == REDIS_REPLY_STRING)
                    r |= chiso_rargs_ref(a, e->str, e->len);
                else
                    r |= chiso_rargs_ref(a, "", 0);
            }
        }
        for (size_t f = 0; f < n; f++) {
            if (set && sums[f] == 0)
                continue;
            r |= chiso_rargs_ref(a, c->arena + rn->f[f]->field, rn->f[f]->field_len);
            r |= chiso_rargs_int(a, sums[f]);
        }
        for (size_t f = 0; f < n; f++)
            if (set && sums[f] == 0)
                r |= chiso_rargs_ref(a, c->arena + rn->f[f]->field, rn->f[f]->field_len);
    }
    free(rn);
    free(sums);
    if (r == 0 && chiso_rargs_append(rc, a) != REDIS_OK)
        r = CHISO_ENOMEM;
    return r;
}

/* The replies a unit's reads take (append_reads(): one per run). */
static size_t reads_of(const chiso_journal_sums *c)
{
    run_iter it = {0};
    size_t n = 0;
    while (run_next(c, &it, NULL))
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
    chiso_journal_sums **cs = calloc(n ? n : 1, sizeof(*cs));
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
        long u = (cs[i] = chiso_journal_sums_new()) ? chiso_journal_sums_add(cs[i], t->str, t->len)
                                                    : CHISO_ENOMEM;
        if (u == CHISO_ENOMEM) {
            rc2 = CHISO_ENOMEM;
        } else if (u <= 0) {
            rc2 = chiso_errf(errstr, errstr_size, CHISO_EINVAL,
                             "journal of %s is malformed (left as it is)", units[i]);
        } else {
            used[i] = u;
            rc2 = append_reads(rc, a, prefix, units[i], cs[i], &nq[i]);
            size_t m = reads_of(cs[i]);
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
        if (got == m && m == reads_of(cs[i]) && rc2 == 0) {
            rc2 = append_fold(rc, a, prefix, units[i], texts[i]->str, (size_t)used[i], cs[i], rd, m,
                              errstr, errstr_size);
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
        chiso_journal_sums_free(cs[i]);
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
