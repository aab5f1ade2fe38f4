/*
 * fuzz_score.c - libFuzzer target for chiso_score_doc_parse (chiso-score's
 * input documents, docs/scoring.md).
 *
 * Properties: a rejection says why, in printable ASCII; an accepted
 * document scores with the default rule set, every indicator's rate is
 * null or in [0, 1] and its points in [0, max], what is still to win fits
 * in what is missing (and in the denominator), the indicators add up to
 * the groups and the total (at most 100), the province roll-up of the
 * document with itself scores too, and the snapshot JSON builds and parses
 * back with 21 indicators, and cJSON prints what it parsed back as the
 * same text (the writer of jsonw.h escapes and prints numbers as cJSON
 * does). The input's first eight bytes, as a double, print as cJSON
 * prints them.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "chiso/jsonw.h"
#include "chiso/score.h"
#include "chiso/scoredoc.h"
#include "chiso/snapshot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_score(const chiso_score *sc)
{
    double sum = 0, groups = 0, groups6 = 0;

    for (int i = 0; i < CHISO_SCORE_INDICATORS; i++) {
        const chiso_score_item *it = &sc->ind[i];
        if (!isnan(it->rate) && !(it->rate >= 0 && it->rate <= 1))
            abort();
        if (!(it->points >= 0 && it->points <= it->max))
            abort();
        /* points still to win: none, or growth that adds what is missing */
        if (it->need < -1 ||
            (it->need >= 0 && !(it->gain >= 0 && it->points + it->gain <= it->max + 1e-9)) ||
            (it->need > 0 && it->num >= 0 && it->den >= 0 && it->num + it->need > it->den))
            abort();
        sum += it->points;
    }
    for (int g = 0; g < CHISO_SCORE_GROUPS; g++)
        groups += sc->group[g].points;
    for (int g = 0; g < CHISO_SCORE_GROUPS6; g++)
        groups6 += sc->group6[g].points;
    if (fabs(sum - sc->total) > 1e-9 || fabs(groups - sc->total) > 1e-9 ||
        fabs(groups6 - sc->total) > 1e-9 || !(sc->total <= 100 + 1e-9))
        abort();
}

/* chiso_json_number against cJSON's print of the same double. */
static void check_number(const uint8_t *data, size_t size)
{
    char mine[CHISO_JSON_NUMBER_MAX], *theirs;
    double d;
    cJSON *num;

    if (size < sizeof(d))
        return;
    memcpy(&d, data, sizeof(d));
    chiso_json_number(d, mine);
    if (!(num = cJSON_CreateNumber(d)) || !(theirs = cJSON_PrintUnformatted(num)))
        abort();
    if (strcmp(mine, theirs) != 0)
        abort();
    free(theirs);
    cJSON_Delete(num);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const chiso_score_rules *rules = chiso_score_rules_find(CHISO_SCORE_DEFAULT_RULES);
    chiso_score_input in, pair[2], prov;
    chiso_snapshot snap;
    chiso_score sc;
    char err[256] = "";
    cJSON *root;
    char *text, *again;

    check_number(data, size);
    if (chiso_score_doc_parse((const char *)data, size, 1751331600, &snap, &in, err, sizeof(err)) !=
        0) {
        if (err[0] == '\0')
            abort();
        for (const char *p = err; *p; p++) {
            if (*p < 0x20 || *p > 0x7e)
                abort();
        }
        return 0;
    }
    if (chiso_score_compute(rules, &in, &sc) != 0)
        abort();
    check_score(&sc);

    pair[0] = pair[1] = in;
    chiso_score_rollup(pair, 2, &prov);
    if (chiso_score_compute(rules, &prov, &sc) != 0)
        abort();
    check_score(&sc);

    if (chiso_score_compute(rules, &in, &sc) != 0)
        abort();
    snap.score = &sc;
    text = chiso_snapshot_render(&snap);
    if (!text)
        abort();
    root = cJSON_Parse(text);
    if (!root || cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(root, "indicators")) != 21)
        abort();
    if (!(again = cJSON_PrintUnformatted(root)) || strcmp(again, text) != 0)
        abort();
    free(again);
    cJSON_Delete(root);
    free(text);
    return 0;
}
