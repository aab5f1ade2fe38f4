/*
 * runtime.h - what a running chiso process has and the domain never
 * touches: stderr logging, stop signals, sleeping and clocks.
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

#endif
