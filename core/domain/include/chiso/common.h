/*
 * common.h - the error model and logging shared by every chiso stage.
 *
 * Error model: functions return 0 on success or a negative CHISO_E* code
 * (pointer-returning functions return NULL); chiso_strerror() names a code.
 * Setup calls that can fail for many reasons also fill a caller's
 * `char *errstr, size_t errstr_size` buffer with a human sentence, the way
 * rd_kafka_conf_set() does.
 *
 * Logging: level-checking macros write one line to stderr with a component
 * prefix ("classify", "snapshot", ...). stdout carries data only, so every
 * program composes in pipes.
 */
#ifndef CHISO_COMMON_H
#define CHISO_COMMON_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

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

enum chiso_log_level {
    CHISO_LOG_ERROR = 0,
    CHISO_LOG_WARN = 1,
    CHISO_LOG_INFO = 2,
    CHISO_LOG_DEBUG = 3,
};

/* Process-wide log threshold; lines above it are not formatted at all. */
extern int chiso_log_threshold;

/* Set the component name printed on every line (not copied: pass a literal). */
void chiso_log_set_component(const char *component);
/* Parse "error", "warn", "info" or "debug"; returns 0 or CHISO_EINVAL. */
int chiso_log_set_level_name(const char *name);
/* Write one formatted line to stderr; use the macros below instead. */
void chiso_log_write(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define chiso_log(level, ...)                                                                      \
    do {                                                                                           \
        if ((level) <= chiso_log_threshold)                                                        \
            chiso_log_write((level), __VA_ARGS__);                                                 \
    } while (0)
#define LOG_ERROR(...) chiso_log(CHISO_LOG_ERROR, __VA_ARGS__)
#define LOG_WARN(...)  chiso_log(CHISO_LOG_WARN, __VA_ARGS__)
#define LOG_INFO(...)  chiso_log(CHISO_LOG_INFO, __VA_ARGS__)
#define LOG_DEBUG(...) chiso_log(CHISO_LOG_DEBUG, __VA_ARGS__)

/* Set (incremented) by SIGINT and SIGTERM once chiso_stop_on_signals() ran:
 * every stage's run loop checks it (STYLE.md: init, run, drain on signal). */
extern volatile sig_atomic_t chiso_stop;
/* Install the SIGINT/SIGTERM handlers that raise chiso_stop, and ignore
 * SIGPIPE (a closed pipe or socket is reported as an error instead). */
void chiso_stop_on_signals(void);

/* Sleep `ms` milliseconds (interrupted early by a signal). */
void chiso_sleep_ms(int ms);

/* Monotonic clock in microseconds, for latency measurement and pacing. */
int64_t chiso_now_mono_us(void);
/* Wall clock in milliseconds since the Unix epoch. */
int64_t chiso_now_wall_ms(void);
/* The time `ms` milliseconds from now on `clock`, as pthread_cond_timedwait
 * takes it (the clock the condition variable was made with). */
struct timespec chiso_deadline(clockid_t clock, int64_t ms);

/* 64-bit FNV-1a hash of a byte string: event-id fingerprints. */
uint64_t chiso_hash64(const void *data, size_t len);

#endif
