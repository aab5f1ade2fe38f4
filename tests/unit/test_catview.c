/*
 * test_catview.c - the catalog view (catview.h): records by code,
 * tombstones and repeats, who a change concerns, the counts of the
 * procedures each unit offers (an empty `units` list = every unit), the
 * province's distinct counts, and the catalog inputs of a score.
 */
#include <string.h>

#include "check.h"
#include "chiso/catview.h"
#include "chiso/common.h"
#include "chiso/score.h"

static char changes[512];

static void on_change(const char *unit, void *opaque)
{
    (void)opaque;
    size_t n = strlen(changes);
    snprintf(changes + n, sizeof(changes) - n, "%s;", unit ? unit : "*");
}

static int unit_rec(chiso_catview *cv, const char *code, const char *json)
{
    chiso_reject rej;
    return chiso_catview_apply_unit(cv, code, strlen(code), json, json ? strlen(json) : 0, &rej);
}

static int proc_rec(chiso_catview *cv, const char *code, const char *json)
{
    chiso_reject rej;
    return chiso_catview_apply_procedure(cv, code, strlen(code), json, json ? strlen(json) : 0,
                                         &rej);
}

#define UNIT(code, kind, ecopy)                                                                    \
    "{\"v\":1,\"unit\":\"" code "\",\"name\":\"Đơn vị " code "\",\"kind\":\"" kind                 \
    "\",\"parent\":\"P\",\"e_copy_certification\":" ecopy "}"

/* A department's own procedure: full, fee integrated, citizens, connected. */
static const char P11[] =
    "{\"v\":1,\"procedure\":\"1.1\",\"name\":\"A\",\"level\":\"full\",\"eligible_full\":true,"
    "\"fee\":true,\"payment_integrated\":true,\"citizen_subject\":true,"
    "\"population_data_connected\":true,\"announced_on_time\":true,\"published_on_time\":true,"
    "\"published_complete\":true,\"units\":[\"D1\"]}";

static void load(chiso_catview *cv)
{
    CHECK_EQ_INT(unit_rec(cv, "P",
                          "{\"v\":1,\"unit\":\"P\",\"name\":\"Tỉnh P\",\"kind\":"
                          "\"province\",\"parent\":null}"),
                 1, "province");
    CHECK_EQ_INT(unit_rec(cv, "D1", UNIT("D1", "department", "false")), 1, "");
    CHECK_EQ_INT(unit_rec(cv, "C1", UNIT("C1", "commune", "true")), 1, "");
    CHECK_EQ_INT(unit_rec(cv, "C2", UNIT("C2", "commune", "false")), 1, "");
    CHECK_EQ_INT(proc_rec(cv, "1.1", P11), 1, "");
    /* offered by every unit: partial, fee not integrated, announced late */
    CHECK_EQ_INT(proc_rec(cv, "2.1",
                          "{\"v\":1,\"procedure\":\"2.1\",\"name\":\"B\",\"level\":\"partial\","
                          "\"fee\":true,\"citizen_subject\":true,\"published_on_time\":true,"
                          "\"units\":[]}"),
                 1, "");
    /* two communes (one listed twice): not online, eligible but not full */
    CHECK_EQ_INT(proc_rec(cv, "2.2",
                          "{\"v\":1,\"procedure\":\"2.2\",\"name\":\"C\",\"level\":\"none\","
                          "\"eligible_full\":true,\"announced_on_time\":true,"
                          "\"population_data_connected\":true,\"units\":[\"C1\",\"C2\",\"C1\"]}"),
                 1, "");
}

static void test_counts(void)
{
    chiso_catview *cv = chiso_catview_new();
    chiso_catalog_counts c;

    CHECK_EQ_INT(chiso_catview_counts(cv, "D1", &c), CHISO_ENOENT, "no procedure known yet");
    load(cv);
    CHECK_EQ_INT(chiso_catview_nunits(cv), 4, "");
    CHECK_EQ_INT(chiso_catview_nprocedures(cv), 3, "");
    CHECK_EQ_STR(chiso_catview_province(cv), "P");
    CHECK_EQ_STR(chiso_catview_unit(cv, "C1")->name, "Đơn vị C1");
    CHECK(chiso_catview_unit(cv, "nope") == NULL, "unknown unit");

    CHECK_EQ_INT(chiso_catview_counts(cv, "D1", &c), 0, "");
    CHECK_EQ_INT(c.procedures, 2, "D1: its own and the every-unit one");
    CHECK_EQ_INT(c.announced_on_time, 1, "");
    CHECK_EQ_INT(c.published_on_time, 2, "");
    CHECK_EQ_INT(c.published_complete, 1, "");
    CHECK_EQ_INT(c.online, 2, "full and partial");
    CHECK_EQ_INT(c.eligible_full, 1, "");
    CHECK_EQ_INT(c.offered_full, 1, "");
    CHECK_EQ_INT(c.fee, 2, "");
    CHECK_EQ_INT(c.fee_integrated, 1, "");
    CHECK_EQ_INT(c.citizen, 2, "");
    CHECK_EQ_INT(c.population_connected, 1, "connected and for citizens");

    CHECK_EQ_INT(chiso_catview_counts(cv, "C1", &c), 0, "");
    CHECK_EQ_INT(c.procedures, 2, "C1 listed twice in 2.2 is offered it once");
    CHECK_EQ_INT(c.online, 1, "level none is not online");
    CHECK_EQ_INT(c.eligible_full, 1, "");
    CHECK_EQ_INT(c.offered_full, 0, "eligible, but not offered full");
    CHECK_EQ_INT(c.population_connected, 0, "2.2 is not for citizens");

    CHECK_EQ_INT(chiso_catview_counts(cv, "X9", &c), 0, "a unit no record names");
    CHECK_EQ_INT(c.procedures, 1, "only the every-unit procedure");

    CHECK_EQ_INT(chiso_catview_counts(cv, NULL, &c), 0, "the province");
    CHECK_EQ_INT(c.procedures, 3, "each procedure once");
    CHECK_EQ_INT(c.eligible_full, 2, "");
    CHECK_EQ_INT(c.offered_full, 1, "");
    CHECK_EQ_INT(c.fee, 2, "");
    CHECK_EQ_INT(c.fee_integrated, 1, "");

    /* a change is seen at once (the derived counts are rebuilt) */
    CHECK_EQ_INT(proc_rec(cv, "2.1", NULL), 1, "tombstone");
    CHECK_EQ_INT(chiso_catview_counts(cv, "X9", &c), 0, "");
    CHECK_EQ_INT(c.procedures, 0, "");
    CHECK_EQ_INT(chiso_catview_counts(cv, NULL, &c), 0, "");
    CHECK_EQ_INT(c.procedures, 2, "");
    chiso_catview_destroy(cv);
}

static void test_changes(void)
{
    chiso_catview *cv = chiso_catview_new();
    chiso_reject rej;

    chiso_catview_on_change(cv, on_change, NULL);
    load(cv);
    CHECK_EQ_STR(changes, "P;D1;C1;C2;D1;*;C1;C2;C1;");
    changes[0] = '\0';
    CHECK_EQ_INT(unit_rec(cv, "C1", UNIT("C1", "commune", "true")), 0, "the same record again");
    CHECK_EQ_INT(proc_rec(cv, "1.1", P11), 0, "the same procedure again");
    CHECK_EQ_STR(changes, "");
    /* moving a procedure concerns the units it leaves and those it joins */
    CHECK_EQ_INT(proc_rec(cv, "1.1",
                          "{\"v\":1,\"procedure\":\"1.1\",\"name\":\"A\",\"level\":\"full\","
                          "\"units\":[\"C2\"]}"),
                 1, "");
    CHECK_EQ_STR(changes, "D1;C2;");
    changes[0] = '\0';
    CHECK_EQ_INT(unit_rec(cv, "C2", UNIT("C2", "commune", "true")), 1, "changed");
    CHECK_EQ_INT(unit_rec(cv, "C2", "null"), 1, "tombstone");
    CHECK_EQ_INT(unit_rec(cv, "C2", ""), 0, "tombstone of nothing");
    CHECK_EQ_INT(proc_rec(cv, "9.9", NULL), 0, "tombstone of nothing");
    CHECK_EQ_STR(changes, "C2;C2;");
    CHECK_EQ_INT(unit_rec(cv, "C3", "{\"v\":1}"), CHISO_EINVAL, "bad record");
    CHECK_EQ_INT(chiso_catview_apply_unit(cv, "", 0, "{}", 2, &rej), CHISO_EINVAL, "no key");
    CHECK_EQ_INT(proc_rec(cv, "2.9", "{\"v\":1,\"procedure\":\"2.9\",\"name\":\"Z\"}"),
                 CHISO_EINVAL, "no level");
    CHECK_EQ_INT(chiso_catview_nprocedures(cv), 3, "bad records change nothing");
    chiso_catview_destroy(cv);
}

static void test_score_input(void)
{
    chiso_catview *cv = chiso_catview_new();
    chiso_score_input in;
    unsigned kinds = 0;
    char err[128];

    chiso_score_input_init(&in);
    CHECK_EQ_INT(chiso_catview_score_input(cv, "D1", &in), 0, "");
    CHECK_EQ_INT(in.n[CHISO_SF_PROCEDURES], CHISO_SCORE_ABSENT, "no catalog: not supplied");
    CHECK_EQ_INT(in.n[CHISO_SF_E_COPY_UNITS], CHISO_SCORE_ABSENT, "no unit record");
    CHECK_EQ_INT(chiso_catview_score_input(cv, NULL, &in), 0, "");
    CHECK_EQ_INT(in.n[CHISO_SF_E_COPY_UNITS], CHISO_SCORE_ABSENT, "no unit record at all");

    load(cv);
    in.n[CHISO_SF_RECEIVED] = 7; /* left alone */
    CHECK_EQ_INT(chiso_catview_score_input(cv, "D1", &in), 0, "");
    CHECK_EQ_INT(in.n[CHISO_SF_RECEIVED], 7, "not a catalog input");
    CHECK_EQ_INT(in.n[CHISO_SF_PROCEDURES], 2, "");
    CHECK_EQ_INT(in.n[CHISO_SF_PROCEDURES_ANNOUNCED_ON_TIME], 1, "");
    CHECK_EQ_INT(in.n[CHISO_SF_PROCEDURES_PUBLISHED_ON_TIME], 2, "");
    CHECK_EQ_INT(in.n[CHISO_SF_PROCEDURES_PUBLISHED_COMPLETE], 1, "");
    CHECK_EQ_INT(in.n[CHISO_SF_PROCEDURES_ONLINE], 2, "");
    CHECK_EQ_INT(in.n[CHISO_SF_PROCEDURES_ONLINE_WITH_DOSSIERS], CHISO_SCORE_ABSENT,
                 "not counted yet");
    CHECK_EQ_INT(in.n[CHISO_SF_PROCEDURES_FEE], 2, "");
    CHECK_EQ_INT(in.n[CHISO_SF_PROCEDURES_PAID_ONLINE], CHISO_SCORE_ABSENT, "not counted yet");
    CHECK_EQ_INT(in.n[CHISO_SF_PROCEDURES_FEE_INTEGRATED], 1, "");
    CHECK_EQ_INT(in.n[CHISO_SF_PROCEDURES_CITIZEN], 2, "");
    CHECK_EQ_INT(in.n[CHISO_SF_PROCEDURES_POPULATION_CONNECTED], 1, "");
    CHECK_EQ_INT(in.n[CHISO_SF_E_COPY_UNITS], 0, "a department does not certify copies");
    CHECK_EQ_INT(in.n[CHISO_SF_E_COPY_OFFERED], 0, "");

    CHECK_EQ_INT(chiso_catview_score_input(cv, "C1", &in), 0, "");
    CHECK_EQ_INT(in.n[CHISO_SF_E_COPY_UNITS], 1, "a commune does");
    CHECK_EQ_INT(in.n[CHISO_SF_E_COPY_OFFERED], 1, "and offers e-copies");
    CHECK_EQ_INT(chiso_catview_score_input(cv, "C2", &in), 0, "");
    CHECK_EQ_INT(in.n[CHISO_SF_E_COPY_OFFERED], 0, "C2 does not offer them");

    CHECK_EQ_INT(chiso_catview_score_input(cv, NULL, &in), 0, "province");
    CHECK_EQ_INT(in.n[CHISO_SF_PROCEDURES], 3, "");
    CHECK_EQ_INT(in.n[CHISO_SF_E_COPY_UNITS], 2, "the two communes");
    CHECK_EQ_INT(in.n[CHISO_SF_E_COPY_OFFERED], 1, "");

    CHECK_EQ_INT(chiso_catview_parse_kinds("commune,department", &kinds, err, sizeof(err)), 0, "");
    CHECK_EQ_INT(kinds, (1u << CHISO_UNIT_COMMUNE) | (1u << CHISO_UNIT_DEPARTMENT), "");
    CHECK_EQ_INT(chiso_catview_parse_kinds("", &kinds, err, sizeof(err)), 0, "none");
    CHECK_EQ_INT(kinds, 0, "");
    CHECK_EQ_INT(chiso_catview_parse_kinds("commune,ward", &kinds, err, sizeof(err)), CHISO_EINVAL,
                 "");
    CHECK(strstr(err, "'ward'") != NULL, "names the bad word: %s", err);
    CHECK_EQ_INT(chiso_catview_kinds_ok("province", err, sizeof(err)), 0, "");

    chiso_catview_set_e_copy_kinds(cv, (1u << CHISO_UNIT_COMMUNE) | (1u << CHISO_UNIT_DEPARTMENT));
    CHECK_EQ_INT(chiso_catview_score_input(cv, "D1", &in), 0, "");
    CHECK_EQ_INT(in.n[CHISO_SF_E_COPY_UNITS], 1, "departments certify too, now");
    CHECK_EQ_INT(in.n[CHISO_SF_E_COPY_OFFERED], 0, "");
    chiso_catview_destroy(cv);
}

int main(void)
{
    test_counts();
    test_changes();
    test_score_input();
    return CHECK_DONE();
}
