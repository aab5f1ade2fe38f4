/*
 * chiso-bench-parse - how fast chiso-classify's event parser reads events.
 *
 * Reads JSON lines (one dossier event each, as `chiso-simulate --output
 * stdout` writes them) into memory, then parses every line with
 * chiso_event_parse() --repeat times and prints the events, the bytes, the
 * rejected lines and the time per event. The parse is the first stage of
 * every record classify applies, and the largest piece of its own code
 * (docs/benchmarks.md); this measures it alone, without Kafka or Redis.
 *
 * For a count of instructions that the machine's speed does not move:
 *   valgrind --tool=callgrind --toggle-collect=chiso_event_parse \
 *       chiso-bench-parse --repeat 2 FILE
 * (instructions per event: the total over events x repeat).
 *
 * Exit codes: 0 done (rejected lines are counted, not failures), 1 the
 * input could not be read or the parser's verdicts changed between
 * repeats, 2 usage error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chiso/common.h"
#include "chiso/runtime.h"
#include "chiso/config.h"
#include "chiso/event.h"

static const chiso_cfg_def cfg_defs[] = {
    {"repeat", CHISO_CFG_INT, "20", "parse every line this many times (1..100000)", NULL},
    {"log.level", CHISO_CFG_STRING, "info", "error, warn, info or debug", chiso_cfg_log_level},
    {NULL, 0, NULL, NULL, NULL},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: chiso-bench-parse [options] [FILE | -]\n"
                 "Parse JSON lines of dossier events (default: from stdin) with chiso-classify's\n"
                 "parser, --repeat times, and print the time per event.\n\n");
    chiso_config_print_help(cfg_defs, out);
}

/* The input's lines, each its own allocation (as records arrive). */
typedef struct line {
    char *text;
    size_t len;
} line;
typedef struct lines {
    line *at;
    size_t n, cap, bytes;
} lines;

static int lines_add(lines *l, const char *s, size_t n)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 4096;
        line *at = realloc(l->at, cap * sizeof(*at));
        if (!at)
            return CHISO_ENOMEM;
        l->at = at;
        l->cap = cap;
    }
    if (!(l->at[l->n].text = malloc(n ? n : 1)))
        return CHISO_ENOMEM;
    memcpy(l->at[l->n].text, s, n);
    l->at[l->n++].len = n;
    l->bytes += n;
    return 0;
}

static void lines_free(lines *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->at[i].text);
    free(l->at);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    char errstr[512];
    int first_pos = argc, rc = 1;
    lines in = {0};
    char *buf = NULL;
    size_t cap = 0;
    FILE *f = NULL;

    chiso_log_set_component("bench-parse");
    chiso_config *cfg = chiso_config_new(cfg_defs);
    if (!cfg) {
        LOG_ERROR("out of memory");
        return 1;
    }
    int prc = chiso_config_parse_args(cfg, argc, argv, &first_pos, errstr, sizeof(errstr));
    if (prc == 1) {
        usage(stdout);
        chiso_config_destroy(cfg);
        return 0;
    }
    int64_t repeat = prc == 0 ? chiso_config_int(cfg, "repeat") : 0;
    if (prc != 0 || argc - first_pos > 1 || repeat < 1 || repeat > 100000) {
        fprintf(stderr, "chiso-bench-parse: %s (try --help)\n",
                prc != 0               ? errstr
                : argc - first_pos > 1 ? "one input file at most"
                                       : "repeat must be 1..100000");
        chiso_config_destroy(cfg);
        return 2;
    }
    chiso_log_set_level_name(chiso_config_str(cfg, "log.level"));

    const char *path = first_pos < argc ? argv[first_pos] : "-";
    f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (!f) {
        LOG_ERROR("%s: cannot open: %s", path, strerror(errno));
        goto out;
    }
    ssize_t n;
    while ((n = getline(&buf, &cap, f)) >= 0) {
        while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
            n--;
        if (n > 0 && lines_add(&in, buf, (size_t)n) != 0) {
            LOG_ERROR("out of memory after %zu lines", in.n);
            goto out;
        }
    }
    if (ferror(f)) {
        LOG_ERROR("%s: read error", path);
        goto out;
    }
    if (in.n == 0) {
        LOG_ERROR("%s: no events to parse", path);
        goto out;
    }

    /* the verdicts, once: every repeat must give the same */
    size_t rejected = 0;
    chiso_event ev;
    chiso_reject rej;
    for (size_t i = 0; i < in.n; i++)
        rejected += chiso_event_parse(in.at[i].text, in.at[i].len, &ev, &rej) != 0;
    size_t again = 0;
    double t0 = now_s();
    for (int64_t r = 0; r < repeat; r++)
        for (size_t i = 0; i < in.n; i++)
            again += chiso_event_parse(in.at[i].text, in.at[i].len, &ev, &rej) != 0;
    double secs = now_s() - t0, parsed = (double)in.n * (double)repeat;
    if (again != rejected * (size_t)repeat) {
        LOG_ERROR("the parser's verdicts changed between repeats: %zu rejected, then %zu", rejected,
                  again);
        goto out;
    }
    printf("events            %12zu  (%zu bytes, %.1f a line)\n", in.n, in.bytes,
           (double)in.bytes / (double)in.n);
    printf("rejected          %12zu\n", rejected);
    printf("repeat            %12lld\n", (long long)repeat);
    printf("ns per event      %12.1f\n", secs * 1e9 / parsed);
    printf("MB/s              %12.1f\n", (double)in.bytes * (double)repeat / secs / 1e6);
    rc = 0;
out:
    if (f && f != stdin)
        fclose(f);
    free(buf);
    lines_free(&in);
    chiso_config_destroy(cfg);
    return rc;
}
