/*
 * runtime.h - what a running chiso process has and the domain never
 * touches: stderr logging, stop signals, sleeping, clocks and the heap.
 *
 * Logging: level-checking macros write one line to stderr with a component
 * prefix ("classify", "snapshot", ...). stdout carries data only, so every
 * program composes in pipes.
 */
#ifndef CHISO_RUNTIME_H
#define CHISO_RUNTIME_H

#include <signal.h>
#include <stdint.h>
#include <time.h>

#include "chiso/common.h"

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

/* A stream stage's heap (chiso-classify), set before any thread starts:
 * - one malloc arena for every thread, which keeps what is freed: the
 *   records librdkafka's threads fetch are freed by the main thread, and
 *   their memory serves the next fetch instead of going back to the kernel
 *   and being faulted in, and zeroed, again;
 * - that arena on transparent huge pages (a fault and a zeroing per 2 MiB,
 *   not per 4 KiB: a drain's first seconds grow the heap by some 380 MiB,
 *   docs/benchmarks.md). glibc reads this one only at start, from
 *   GLIBC_TUNABLES: when it does not name glibc.malloc.hugetlb, the process
 *   executes itself again with glibc.malloc.hugetlb=1 added (once, before
 *   anything ran; if that fails it goes on with 4 KiB pages). An operator's
 *   GLIBC_TUNABLES that names it is left as it is (=0 turns the pages off;
 *   a tool such as valgrind, which the exec would leave, needs it set).
 * `argv` is main's. Without glibc, nothing. */
void chiso_runtime_stream_heap(char **argv);

#endif
