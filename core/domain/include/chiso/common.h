/*
 * common.h - the error model every part of chiso shares, and the small
 * pure helpers (decimal writing, the fingerprint hash).
 *
 * Error model: functions return 0 on success or a negative CHISO_E* code
 * (pointer-returning functions return NULL); chiso_strerror() names a code.
 * Setup calls that can fail for many reasons also fill a caller's
 * `char *errstr, size_t errstr_size` buffer with a human sentence, the way
 * rd_kafka_conf_set() does. Logging, signals and clocks are the adapters'
 * (chiso/runtime.h).
 */
#ifndef CHISO_COMMON_H
#define CHISO_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
    CHISO_OK = 0,
    CHISO_EINVAL = -1,    /* invalid argument or value */
    CHISO_ENOMEM = -2,    /* out of memory */
    CHISO_EIO = -3,       /* I/O or network failure */
    CHISO_ECONFLICT = -4, /* optimistic concurrency conflict, retry */
    CHISO_ENOENT = -5,    /* not found */
    CHISO_ERANGE = -6,    /* value or buffer out of range */
    CHISO_ESTATE = -7,    /* corrupt or incompatible stored state */
    CHISO_ETIMEOUT = -8,  /* operation timed out */
    CHISO_EREWIND = -9,   /* Redis lost acknowledged writes: input rewound to replay them */
    CHISO_EABORTED = -10, /* a Kafka transaction was aborted: consume again from the commit */
};

/* A short English sentence for an error code; never NULL. */
const char *chiso_strerror(int err);

/* Format a sentence into errstr (NULL or size 0: nothing is written) and
 * return rc, so a function can `return chiso_errf(errstr, size, CHISO_E…,
 * "…", …)`. */
int chiso_errf(char *errstr, size_t errstr_size, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Write v in decimal at out (room for 20 bytes; no NUL) and return the
 * length: "%lld" without printf, for the loops that write millions. */
size_t chiso_put_ll(char *out, long long v);
/* Write v in decimal, zero-padded to at least `width` digits ("%0*llu"),
 * at out (no NUL) and return the length: the fields of times and ids. */
size_t chiso_put_padded(char *out, unsigned long long v, size_t width);

/* 64-bit FNV-1a hash of a byte string: event-id fingerprints. */
uint64_t chiso_hash64(const void *data, size_t len);
/* The same hash of a string given in parts: h = CHISO_HASH64_INIT, then
 * h = chiso_hash64_add(h, part, len) for each part in order. */
#define CHISO_HASH64_INIT 1469598103934665603ULL
uint64_t chiso_hash64_add(uint64_t h, const void *data, size_t len);

/* A zeroed table of n entries of `size` bytes, read at random (a state
 * cache, a batch's items), in a mapping of its own: untouched pages cost
 * nothing until the table reaches them, whatever malloc's settings (a heap
 * would zero the whole table at once, and keep it). Of a table of 4 MiB or
 * more, the 2 MiB-aligned part is marked for transparent huge pages
 * (madvise MADV_HUGEPAGE, a hint; Debian enables THP on request only): one
 * TLB entry then covers 2 MiB instead of 4 KiB, and a first touch faults
 * once per 2 MiB. NULL when out of memory. Free with chiso_free_huge(). */
void *chiso_calloc_huge(size_t n, size_t size);
/* Free a table of chiso_calloc_huge() (NULL: nothing). */
void chiso_free_huge(void *p);

/* A growable byte buffer, always NUL-terminated once it holds anything
 * (plain value struct; zero it to start, free(buf) to end). */
typedef struct chiso_buf {
    char *buf;
    size_t len, cap;
} chiso_buf;

/* Append n bytes (capacity doubles, from 4 KiB). Returns 0, or
 * CHISO_ENOMEM with the buffer unchanged. */
int chiso_buf_append(chiso_buf *b, const void *data, size_t n);

/* Whether `given` (may be NULL) equals `secret`, in a time that depends on
 * the secret's length only, never on how much of it matched. */
bool chiso_secret_equal(const char *given, const char *secret);

/* Whether an Authorization header value (may be NULL) is "Bearer <token>"
 * (scheme case-insensitive), compared with chiso_secret_equal. */
bool chiso_bearer_ok(const char *authorization, const char *token);

#endif
