/*
 * runtime.c - stderr logging, stop signals, sleeping, clocks and the heap
 * (runtime.h).
 */
#include "chiso/runtime.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

int chiso_log_threshold = CHISO_LOG_INFO;
static const char *log_component = "chiso";

void chiso_log_set_component(const char *component)
{
    log_component = component ? component : "chiso";
}

int chiso_log_set_level_name(const char *name)
{
    static const char *names[] = {"error", "warn", "info", "debug"};
    for (int i = 0; i < 4; i++) {
        if (strcmp(name, names[i]) == 0) {
            chiso_log_threshold = i;
            return 0;
        }
    }
    return CHISO_EINVAL;
}

void chiso_log_write(int level, const char *fmt, ...)
{
    static const char *tags[] = {"ERROR", "WARN", "INFO", "DEBUG"};
    char line[2048];
    struct timespec ts;
    struct tm tm;
    va_list ap;
    int n;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    n = snprintf(line, sizeof(line),
                 "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s %s: ", tm.tm_year + 1900, tm.tm_mon + 1,
                 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000,
                 tags[level < 0   ? 0
                      : level > 3 ? 3
                                  : level],
                 log_component);
    va_start(ap, fmt);
    if (n > 0 && (size_t)n < sizeof(line))
        vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s\n", line);
}

volatile sig_atomic_t chiso_stop;

static void on_stop_signal(int sig)
{
    (void)sig;
    chiso_stop = chiso_stop + 1; /* a second signal may abandon a drain */
}

void chiso_stop_on_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

void chiso_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

struct timespec chiso_deadline(clockid_t clock, int64_t ms)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    ts.tv_sec += (time_t)(ms / 1000);
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

int64_t chiso_now_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t chiso_now_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#define HUGE_PAGES_TUNABLE "glibc.malloc.hugetlb"

void chiso_runtime_stream_heap(char **argv)
{
#ifdef __GLIBC__
    const char *tunables = getenv("GLIBC_TUNABLES");
    if (!tunables || !strstr(tunables, HUGE_PAGES_TUNABLE)) {
        char value[1024];
        int n = snprintf(value, sizeof(value), "%s%s" HUGE_PAGES_TUNABLE "=1",
                         tunables ? tunables : "", tunables && *tunables ? ":" : "");
        /* the file's own path, not /proc/self/exe: the process keeps its name */
        char self[4096];
        ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);
        if (len > 0 && n > 0 && (size_t)n < sizeof(value) &&
            setenv("GLIBC_TUNABLES", value, 1) == 0) {
            self[len] = '\0';
            execv(self, argv); /* returns only on failure */
        }
    }
    mallopt(M_ARENA_MAX, 1);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);  /* keep the top of the heap */
    mallopt(M_MMAP_THRESHOLD, 32 << 20); /* glibc's largest: fetch buffers from the arena */
#else
    (void)argv;
#endif
}
