/*
 * chiso-model - a generated event stream and the reference model's truth.
 *
 *   chiso-model --seed N --dossiers K [--out-events FILE] [--out-catalog FILE]
 *               --truth FILE
 *
 * Writes the stream of gen.h (arrival order, duplicates included) as JSON
 * lines of dossier.events, the procedure catalog as JSON lines of
 * catalog.procedures, and the reference model's ground truth (refmodel.h)
 * in the simulator's format, so that chiso-verify can compare a pipeline run
 * with it (tests/e2e/test_property.sh). A test tool: not installed.
 * Exit status: 0 ok, 1 failure, 2 usage error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chiso/catalog.h"
#include "chiso/common.h"
#include "chiso/config.h"
#include "chiso/event.h"
#include "gen.h"
#include "refmodel.h"

static const chiso_cfg_def defs[] = {
    {"seed", CHISO_CFG_INT, "1", "generator seed", chiso_cfg_nonneg},
    {"dossiers", CHISO_CFG_INT, "300", "dossiers in the stream", chiso_cfg_positive},
    {"units", CHISO_CFG_INT, "4", "units (1..99)", chiso_cfg_positive},
    {"out-events", CHISO_CFG_STRING, NULL, "write the events as JSON lines to FILE", NULL},
    {"out-catalog", CHISO_CFG_STRING, NULL,
     "write the catalog.procedures records as JSON lines to FILE", NULL},
    {"truth", CHISO_CFG_STRING, NULL, "write the model's ground truth JSON to FILE (required)",
     NULL},
    {NULL, 0, NULL, NULL, NULL},
};

static FILE *open_out(const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f)
        fprintf(stderr, "chiso-model: cannot write %s: %s\n", path, strerror(errno));
    return f;
}

/* Close a file we wrote, reporting any write error. Returns 0 or -1. */
static int close_out(FILE *f, const char *path)
{
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) {
        fprintf(stderr, "chiso-model: error writing %s\n", path);
        return -1;
    }
    return 0;
}

static int write_events(const gen_stream *s, const char *path)
{
    char buf[2048];
    FILE *f = open_out(path);
    if (!f)
        return -1;
    for (int i = 0; i < s->nev; i++) {
        int n = chiso_event_to_json(&s->ev[i], buf, sizeof(buf));
        if (n < 0) {
            fprintf(stderr, "chiso-model: event %s cannot be serialized\n", s->ev[i].event_id);
            fclose(f);
            return -1;
        }
        fwrite(buf, 1, (size_t)n, f);
        fputc('\n', f);
    }
    return close_out(f, path);
}

static int write_catalog(const gen_stream *s, const char *path)
{
    char buf[1024];
    FILE *f = open_out(path);
    if (!f)
        return -1;
    for (int i = 0; i < s->nprocs; i++) {
        if (!s->procs[i].in_catalog)
            continue;
        chiso_procedure rec;
        gen_procedure_record(&s->procs[i], &rec);
        int n = chiso_procedure_to_json(&rec, buf, sizeof(buf));
        if (n < 0) {
            fclose(f);
            return -1;
        }
        fwrite(buf, 1, (size_t)n, f);
        fputc('\n', f);
    }
    return close_out(f, path);
}

int main(int argc, char **argv)
{
    char errstr[256], start[CHISO_PERIOD_STRLEN];
    int first = argc, rc = 2;
    chiso_config *cfg = chiso_config_new(defs);
    gen_stream s = {0};
    refmodel *m = NULL;
    FILE *f = NULL;

    if (!cfg)
        return 1;
    int pr = chiso_config_parse_args(cfg, argc, argv, &first, errstr, sizeof(errstr));
    if (pr == 1) {
        printf("Usage: chiso-model --seed N --dossiers K [--out-events FILE] [--out-catalog "
               "FILE] --truth FILE\n\nA generated event stream and the reference model's "
               "ground truth.\n\n");
        chiso_config_print_help(defs, stdout);
        rc = 0;
        goto out;
    }
    const char *truth = chiso_config_str(cfg, "truth");
    if (pr != 0 || first < argc || !truth || chiso_config_int(cfg, "units") > 99) {
        fprintf(stderr, "chiso-model: %s (try --help)\n",
                pr             ? errstr
                : first < argc ? "unexpected argument"
                : !truth       ? "--truth is required"
                               : "--units is at most 99");
        goto out;
    }
    rc = 1;
    gen_params p = {.seed = (uint64_t)chiso_config_int(cfg, "seed"),
                    .dossiers = (int)chiso_config_int(cfg, "dossiers"),
                    .units = (int)chiso_config_int(cfg, "units")};
    if (gen_stream_make(&p, &s) != 0 || !(m = refmodel_new())) {
        fprintf(stderr, "chiso-model: out of memory\n");
        goto out;
    }
    for (int i = 0; i < s.nprocs; i++) {
        refmodel_catalog cat = {.level = s.procs[i].level,
                                .paper_result_required = s.procs[i].paper_result_required};
        if (s.procs[i].in_catalog && refmodel_set_procedure(m, s.procs[i].code, &cat))
            goto out;
    }
    for (int i = 0; i < s.nev; i++) {
        if (refmodel_add(m, &s.ev[i]) != 0)
            goto out;
    }
    int mr = refmodel_run(m);
    if (mr != 0) {
        fprintf(stderr, "chiso-model: the model failed: %s\n", chiso_strerror(mr));
        goto out;
    }
    const char *events = chiso_config_str(cfg, "out-events");
    const char *catalog = chiso_config_str(cfg, "out-catalog");
    if ((events && write_events(&s, events) != 0) || (catalog && write_catalog(&s, catalog) != 0))
        goto out;
    chiso_period_key(s.first_day, CHISO_PERIOD_DAY, start);
    refmodel_truth_meta meta = {.seed = p.seed,
                                .start = start,
                                .days = s.days,
                                .province = s.province,
                                .records = (uint64_t)s.nev,
                                .events = (uint64_t)s.distinct,
                                .duplicates = (uint64_t)s.duplicates};
    if (!(f = open_out(truth)))
        goto out;
    if (refmodel_write_truth(m, &meta, f) != 0) {
        fclose(f);
        fprintf(stderr, "chiso-model: error writing %s\n", truth);
        goto out;
    }
    if (close_out(f, truth) != 0)
        goto out;
    fprintf(stderr, "chiso-model: seed %llu: %d dossiers, %d events (%d distinct, %d duplicates)\n",
            (unsigned long long)p.seed, refmodel_ndossiers(m), s.nev, s.distinct, s.duplicates);
    rc = 0;
out:
    refmodel_free(m);
    gen_stream_clear(&s);
    chiso_config_destroy(cfg);
    return rc;
}
