/*
 * chiso-score - score one unit's counts for one period, offline.
 *
 * Reads one input document (docs/scoring.md: the unit, the period, its
 * snapshot counts and the score inputs, or instead the national portal's
 * per-indicator figures) from FILE or stdin, scores it with a rule set
 * (default 766-2022-dvcqg) and prints the snapshot JSON of CONTRACT.md on
 * stdout, the same bytes chiso-snapshot would build from the same counts.
 * --what-if changes one figure or count first and says on stderr what the
 * change gains. Pure: no Kafka, no Redis; stdout carries the JSON only.
 *
 * Exit status: 0 printed; 2 bad arguments or a bad document (stderr says
 * which field and why); 1 out of memory or a write error.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "chiso/common.h"
#include "chiso/event.h"
#include "chiso/score.h"
#include "chiso/scoredoc.h"
#include "chiso/snapshot.h"

#define EXIT_BAD_INPUT 2

static void usage(FILE *out)
{
    fprintf(out,
            "usage: chiso-score [--rules NAME] [--what-if WHAT=N]... [--pretty] [FILE | -]\n"
            "\n"
            "Score one unit's counts for one period (Decision 766: 21 indicators, groups,\n"
            "total out of 100) and print the score snapshot JSON on stdout.\n"
            "\n"
            "  FILE             the input document (docs/scoring.md): score inputs, or the\n"
            "                   portal's figures under \"indicators\"; stdin when absent or '-'\n"
            "  --rules NAME     scoring rule set (default %s)\n"
            "  --what-if WHAT=N score with one figure changed: WHAT is an indicator number\n"
            "                   (its numerator, with \"indicators\") or an input name\n"
            "                   (\"judged_on_time\"); stderr says the points it gains\n"
            "  --pretty         indent the JSON\n"
            "  -h, --help       this text\n"
            "\n"
            "Exit status: 0 printed, 2 bad arguments or document, 1 internal error.\n",
            CHISO_SCORE_DEFAULT_RULES);
}

/* "a, b, c": the names of the built-in rule sets. */
static void known_rules(char *out, size_t size)
{
    const chiso_score_rules *r;
    size_t len = 0;

    out[0] = '\0';
    for (size_t i = 0; (r = chiso_score_rules_at(i)) && len < size; i++)
        len += (size_t)snprintf(out + len, size - len, "%s%s", i ? ", " : "", r->name);
}

/* One --what-if WHAT=N on the parsed input. Returns 0, or -1 with errstr. */
static int what_if(chiso_score_input *in, const char *arg, char *errstr, size_t errstr_size)
{
    const char *eq = strchr(arg, '=');
    char what[64], *end = NULL;
    long long v;

    if (!eq || eq == arg || (size_t)(eq - arg) >= sizeof(what)) {
        snprintf(errstr, errstr_size, "--what-if %s: expected WHAT=N", arg);
        return -1;
    }
    snprintf(what, sizeof(what), "%.*s", (int)(eq - arg), arg);
    errno = 0;
    v = strtoll(eq + 1, &end, 10);
    if (errno || !eq[1] || *end || v < 0 || v > CHISO_SCORE_COUNT_MAX) {
        snprintf(errstr, errstr_size, "--what-if %s: N must be an integer from 0 to %lld", arg,
                 (long long)CHISO_SCORE_COUNT_MAX);
        return -1;
    }
    long id = strtol(what, &end, 10);
    if (!*end) {
        if (!in->figures || id < 1 || id > CHISO_SCORE_INDICATORS || in->den[id - 1] < 0 ||
            v > in->den[id - 1]) {
            snprintf(errstr, errstr_size,
                     "--what-if %s: an indicator number needs the document's \"indicators\" with "
                     "that indicator's den, and N at most den",
                     arg);
            return -1;
        }
        in->num[id - 1] = v;
        return 0;
    }
    int f = chiso_score_field_from_name(what);
    if (f < 0 || in->figures) {
        snprintf(errstr, errstr_size, "--what-if %s: '%s' is no score input of this document", arg,
                 what);
        return -1;
    }
    in->n[f] = v;
    return 0;
}

/* What the --what-if changes gain, on stderr: the total and every
 * indicator whose points moved. */
static void tell_gain(const chiso_score *before, const chiso_score *after)
{
    fprintf(stderr, "what-if: total %.2f -> %.2f (%+.2f)\n", chiso_score_round2(before->total),
            chiso_score_round2(after->total),
            chiso_score_round2(after->total) - chiso_score_round2(before->total));
    for (int i = 0; i < CHISO_SCORE_INDICATORS; i++) {
        double a = chiso_score_round2(before->ind[i].points);
        double b = chiso_score_round2(after->ind[i].points);
        if (a != b)
            fprintf(stderr, "what-if: #%d %.2f -> %.2f (%+.2f)\n", i + 1, a, b, b - a);
    }
}

/* Read the whole document: at most CHISO_EVENT_MAX_BYTES bytes. Returns
 * the length, or -1 with errstr filled. */
static long read_doc(FILE *in, char *buf, size_t size, char *errstr, size_t errstr_size)
{
    size_t n = fread(buf, 1, size, in);

    if (ferror(in)) {
        snprintf(errstr, errstr_size, "read error");
        return -1;
    }
    if (n == size) {
        snprintf(errstr, errstr_size, "the document is over the %zu-byte limit", size - 1);
        return -1;
    }
    return (long)n;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"rules", required_argument, NULL, 'r'},
        {"pretty", no_argument, NULL, 'p'},
        {"what-if", required_argument, NULL, 'w'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    static char buf[CHISO_EVENT_MAX_BYTES + 1];
    const char *rules_name = CHISO_SCORE_DEFAULT_RULES, *path = "-";
    const chiso_score_rules *rules;
    bool pretty = false;
    const char *whatifs[32];
    int nwhatifs = 0;
    char errstr[256], known[256];
    chiso_snapshot snap;
    chiso_score_input in;
    chiso_score score;
    cJSON *root = NULL;
    char *text = NULL;
    FILE *f;
    long len;
    int c, status = EXIT_BAD_INPUT;

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'r':
            rules_name = optarg;
            break;
        case 'p':
            pretty = true;
            break;
        case 'w':
            if (nwhatifs == (int)(sizeof(whatifs) / sizeof(whatifs[0]))) {
                fprintf(stderr, "chiso-score: at most %zu --what-if\n",
                        sizeof(whatifs) / sizeof(whatifs[0]));
                return EXIT_BAD_INPUT;
            }
            whatifs[nwhatifs++] = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            fprintf(stderr, "chiso-score: bad arguments (see --help)\n");
            return EXIT_BAD_INPUT;
        }
    }
    if (argc - optind > 1) {
        fprintf(stderr, "chiso-score: one input document at most (see --help)\n");
        return EXIT_BAD_INPUT;
    }
    if (optind < argc)
        path = argv[optind];
    if (!(rules = chiso_score_rules_find(rules_name))) {
        known_rules(known, sizeof(known));
        fprintf(stderr, "chiso-score: unknown rule set '%s' (known: %s)\n", rules_name, known);
        return EXIT_BAD_INPUT;
    }

    f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "chiso-score: %s: cannot open: %s\n", path, strerror(errno));
        return EXIT_BAD_INPUT;
    }
    len = read_doc(f, buf, sizeof(buf), errstr, sizeof(errstr));
    if (f != stdin)
        fclose(f);
    if (len < 0 || chiso_score_doc_parse(buf, (size_t)len, (int64_t)time(NULL), &snap, &in, errstr,
                                         sizeof(errstr)) != 0) {
        fprintf(stderr, "chiso-score: %s: %s\n", path, errstr);
        return EXIT_BAD_INPUT;
    }

    if (nwhatifs > 0) {
        chiso_score before;
        if (chiso_score_compute(rules, &in, &before) != 0)
            return EXIT_FAILURE; /* the parser keeps counts in range: not reached */
        for (int i = 0; i < nwhatifs; i++) {
            if (what_if(&in, whatifs[i], errstr, sizeof(errstr)) != 0) {
                fprintf(stderr, "chiso-score: %s\n", errstr);
                return EXIT_BAD_INPUT;
            }
        }
        if (chiso_score_compute(rules, &in, &score) == 0)
            tell_gain(&before, &score);
    }

    status = EXIT_FAILURE;
    if (chiso_score_compute(rules, &in, &score) != 0)
        goto done; /* the parser keeps counts in range: not reached */
    snap.score = &score;
    if (!(root = chiso_snapshot_to_json(&snap)) ||
        !(text = pretty ? cJSON_Print(root) : cJSON_PrintUnformatted(root)))
        goto done;
    if (puts(text) < 0 || fflush(stdout) != 0)
        goto done;
    status = 0;
done:
    if (status != 0)
        fprintf(stderr, "chiso-score: %s\n",
                root && text ? "cannot write the output" : "cannot build the snapshot");
    cJSON_free(text);
    cJSON_Delete(root);
    return status;
}
