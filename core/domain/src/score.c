/*
 * score.c - Decision 766 scoring (score.h): the built-in rule table,
 * scoring one unit's counts, the points still to win, the province
 * roll-up and the ranking of siblings (chiso-score's documents:
 * scoredoc.c).
 *
 * The rule table below is the whole of the scoring policy: every
 * indicator's numerator, denominator, formula, threshold and default is a
 * value in it, and docs/scoring.md prints the same table with the reasons
 * for each default. chiso_score_compute() only walks the rows; it knows no
 * indicator by number.
 */
#include "chiso/score.h"

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chiso/common.h"
#include "chiso/counters.h"
#include "chiso/feedback.h"

/* The key of every input count in a document, by field id. */
static const char *const field_names[CHISO_SF_COUNT] = {
    [CHISO_SF_RECEIVED] = "received",
    [CHISO_SF_RESOLVED] = "resolved",
    [CHISO_SF_RESOLVED_ON_TIME] = "resolved_on_time",
    [CHISO_SF_RESOLVED_LATE] = "resolved_late",
    [CHISO_SF_OPEN_OVERDUE] = "open_overdue",
    [CHISO_SF_ONLINE] = "online",
    [CHISO_SF_SYNCED] = "synced",
    [CHISO_SF_FEE_DOSSIERS] = "fee_dossiers",
    [CHISO_SF_PAID_ONLINE] = "paid_online",
    [CHISO_SF_E_RESULT] = "e_result",
    [CHISO_SF_DIGITIZED] = "digitized",
    [CHISO_SF_REUSED_DATA] = "reused_data",
    [CHISO_SF_FROM_DATA_STORE] = "from_data_store",
    [CHISO_SF_POPULATION_DATA] = "population_data",
    [CHISO_SF_COMPLAINTS] = "complaints",
    [CHISO_SF_JUDGED] = "judged",
    [CHISO_SF_JUDGED_ON_TIME] = "judged_on_time",
    [CHISO_SF_JUDGED_LATE] = "judged_late",
    [CHISO_SF_JUDGED_COMPLAINTS] = "judged_complaints",
    [CHISO_SF_JUDGED_E_RESULT] = "judged_e_result",
    [CHISO_SF_JUDGED_DIGITIZED] = "judged_digitized",
    [CHISO_SF_JUDGED_REUSED_DATA] = "judged_reused_data",
    [CHISO_SF_JUDGED_FROM_DATA_STORE] = "judged_from_data_store",
    [CHISO_SF_JUDGED_POPULATION_DATA] = "judged_population_data",
    [CHISO_SF_PROCEDURES] = "procedures",
    [CHISO_SF_PROCEDURES_ANNOUNCED_ON_TIME] = "procedures_announced_on_time",
    [CHISO_SF_PROCEDURES_PUBLISHED_ON_TIME] = "procedures_published_on_time",
    [CHISO_SF_PROCEDURES_PUBLISHED_COMPLETE] = "procedures_published_complete",
    [CHISO_SF_PROCEDURES_ONLINE] = "procedures_online",
    [CHISO_SF_PROCEDURES_ONLINE_WITH_DOSSIERS] = "procedures_online_with_dossiers",
    [CHISO_SF_PROCEDURES_FEE] = "procedures_fee",
    [CHISO_SF_PROCEDURES_PAID_ONLINE] = "procedures_paid_online",
    [CHISO_SF_PROCEDURES_FEE_INTEGRATED] = "procedures_fee_integrated",
    [CHISO_SF_PROCEDURES_CITIZEN] = "procedures_citizen",
    [CHISO_SF_PROCEDURES_POPULATION_CONNECTED] = "procedures_population_connected",
    [CHISO_SF_E_COPY_UNITS] = "e_copy_units",
    [CHISO_SF_E_COPY_OFFERED] = "e_copy_offered",
    [CHISO_SF_FEEDBACK_RECEIVED] = "feedback_received",
    [CHISO_SF_FEEDBACK_ANSWERED_ON_TIME] = "feedback_answered_on_time",
    [CHISO_SF_FEEDBACK_RATED] = "feedback_rated",
    [CHISO_SF_FEEDBACK_SATISFIED] = "feedback_satisfied",
};

/* The Redis counter that feeds each input read from a period hash
 * (counters.h for dossiers, feedback.h's fb_* for feedback). By name, so
 * the inputs follow counters.h as counters are added; docs/snapshot.md
 * prints this table. open_overdue and the population D (judged_*) are
 * derived from buckets (snapshot.h), the catalog inputs come from catalog.*
 * (catview.h). */
static const struct {
    chiso_score_field field;
    const char *counter;
} counter_feeds[] = {
    {CHISO_SF_RECEIVED, "received"},
    {CHISO_SF_RESOLVED, "resolved"},
    {CHISO_SF_RESOLVED_ON_TIME, "resolved_on_time"},
    {CHISO_SF_RESOLVED_LATE, "resolved_late"},
    {CHISO_SF_ONLINE, "received_online_valid"},
    {CHISO_SF_SYNCED, "synced"},
    {CHISO_SF_FEE_DOSSIERS, "fee_dossiers"},
    {CHISO_SF_PAID_ONLINE, "paid_online"},
    {CHISO_SF_E_RESULT, "resolved_e_result"},
    {CHISO_SF_DIGITIZED, "digitized"},
    {CHISO_SF_REUSED_DATA, "reused_data"},
    {CHISO_SF_FROM_DATA_STORE, "from_data_store"},
    {CHISO_SF_POPULATION_DATA, "population_data"},
    {CHISO_SF_COMPLAINTS, "resolved_complaint"},
    {CHISO_SF_FEEDBACK_RECEIVED, "fb_received"},
    {CHISO_SF_FEEDBACK_ANSWERED_ON_TIME, "fb_answered_on_time"},
    {CHISO_SF_FEEDBACK_RATED, "fb_rated"},
    {CHISO_SF_FEEDBACK_SATISFIED, "fb_satisfied"},
};
#define N_COUNTER_FEEDS (sizeof(counter_feeds) / sizeof(counter_feeds[0]))

/* The columns of a rule row (chiso_score_rule), so that the table below
 * reads as one: the rate (RATIO or COMPLEMENT), the numerator and the
 * denominator (sums of input counts), the formula (PLAIN, THRESHOLD(T) or
 * CAPPED(factor, cap)) and if_empty. */
/* clang-format off */
#define RATIO         .rate = CHISO_RATE_RATIO
#define COMPLEMENT    .rate = CHISO_RATE_COMPLEMENT
#define SUM1(a)       {1, {CHISO_SF_##a}}
#define SUM2(a, b)    {2, {CHISO_SF_##a, CHISO_SF_##b}}
#define SUM3(a, b, c) {3, {CHISO_SF_##a, CHISO_SF_##b, CHISO_SF_##c}}
#define PLAIN         .formula = CHISO_FORMULA_PLAIN
#define THRESHOLD(t)  .formula = CHISO_FORMULA_THRESHOLD, .threshold = (t)
#define CAPPED(f, c)  .formula = CHISO_FORMULA_CAPPED, .factor = (f), .cap = (c)
#define ROW(id_, max_, group_, group6_, rate_, num_, den_, formula_, if_empty_, name_)            \
    {.id = (id_), .name = (name_), .max = (max_), .group = (group_), .group6 = (group6_), rate_,  \
     .num = num_, .den = den_, formula_, .if_empty = (if_empty_)}

/* The rows both built-in sets share, and each set's own rows for the
 * indicators the national portal judges over its population D. */
#define ROW_1 \
    ROW(1, 6, 1, 1, RATIO, SUM1(PROCEDURES_ANNOUNCED_ON_TIME), SUM1(PROCEDURES), \
        PLAIN, 1, "Tỷ lệ TTHC công bố đúng hạn")
#define ROW_2 \
    ROW(2, 4, 1, 1, RATIO, SUM1(PROCEDURES_PUBLISHED_ON_TIME), SUM1(PROCEDURES), \
        PLAIN, 1, "Tỷ lệ TTHC được cập nhật, công khai đúng hạn")
#define ROW_3 \
    ROW(3, 2, 1, 1, RATIO, SUM1(PROCEDURES_PUBLISHED_COMPLETE), SUM1(PROCEDURES), \
        PLAIN, 1, "Tỷ lệ TTHC được công khai đầy đủ các nội dung quy định về các bộ phận " \
                  "tạo thành của TTHC")
#define ROW_4 \
    ROW(4, 6, 1, 1, RATIO, SUM1(SYNCED), SUM1(RECEIVED), \
        PLAIN, 1, "Tỷ lệ hồ sơ đồng bộ lên Cổng Dịch vụ công quốc gia")
#define ROW_5_RESOLVED \
    ROW(5, 20, 2, 2, RATIO, SUM1(RESOLVED_ON_TIME), \
        SUM3(RESOLVED_ON_TIME, RESOLVED_LATE, OPEN_OVERDUE), \
        PLAIN, 1, "Tỷ lệ hồ sơ xử lý đúng hạn")
#define ROW_6 \
    ROW(6, 2, 3, 3, RATIO, SUM1(PROCEDURES_ONLINE), SUM1(PROCEDURES), \
        THRESHOLD(0.8), 1, "Tỷ lệ TTHC cung cấp dịch vụ công trực tuyến")
#define ROW_7 \
    ROW(7, 4, 3, 3, RATIO, SUM1(PROCEDURES_ONLINE_WITH_DOSSIERS), SUM1(PROCEDURES_ONLINE), \
        PLAIN, 0, "Tỷ lệ dịch vụ công trực tuyến có phát sinh hồ sơ")
#define ROW_8 \
    ROW(8, 6, 3, 3, RATIO, SUM1(ONLINE), SUM1(RECEIVED), \
        THRESHOLD(0.5), 1, "Tỷ lệ hồ sơ TTHC theo hình thức nộp hồ sơ trực tuyến")
#define ROW_9 \
    ROW(9, 2, 3, 4, RATIO, SUM1(PROCEDURES_PAID_ONLINE), SUM1(PROCEDURES_FEE), \
        CAPPED(2.5, 2), 1, "Tỷ lệ TTHC có giao dịch thanh toán trực tuyến")
#define ROW_10 \
    ROW(10, 2, 3, 4, RATIO, SUM1(PROCEDURES_FEE_INTEGRATED), SUM1(PROCEDURES_FEE), \
        CAPPED(2.5, 2), 1, "Tỷ lệ TTHC có yêu cầu nghĩa vụ tài chính được tích hợp để người " \
                           "dân có thể thanh toán trực tuyến trên Cổng Dịch vụ công quốc gia")
#define ROW_11 \
    ROW(11, 6, 3, 4, RATIO, SUM1(PAID_ONLINE), SUM1(FEE_DOSSIERS), \
        PLAIN, 1, "Tỷ lệ hồ sơ thanh toán trực tuyến")
#define ROW_12_RESOLVED \
    ROW(12, 6, 4, 5, RATIO, SUM1(E_RESULT), SUM1(RESOLVED), \
        PLAIN, 1, "Tỷ lệ hồ sơ TTHC có cấp kết quả giải quyết TTHC điện tử")
#define ROW_13_RESOLVED \
    ROW(13, 4, 4, 5, RATIO, SUM1(DIGITIZED), SUM1(RECEIVED), \
        PLAIN, 1, "Tỷ lệ hồ sơ TTHC thực hiện số hóa hồ sơ")
#define ROW_14_RESOLVED \
    ROW(14, 2, 4, 5, RATIO, SUM1(REUSED_DATA), SUM1(RECEIVED), \
        THRESHOLD(0.8), 1, "Tỷ lệ khai thác, sử dụng lại thông tin, dữ liệu số hóa")
#define ROW_15 \
    ROW(15, 2, 4, 5, RATIO, SUM1(E_COPY_OFFERED), SUM1(E_COPY_UNITS), \
        PLAIN, 1, "Tỷ lệ cung cấp dịch vụ chứng thực bản sao điện tử từ bản chính")
#define ROW_16_RESOLVED \
    ROW(16, 4, 4, 5, RATIO, SUM1(FROM_DATA_STORE), SUM1(DIGITIZED), \
        PLAIN, 0, "Tỷ lệ hồ sơ TTHC được số hóa có kết nối, đồng bộ với danh mục hồ sơ của " \
                  "cá nhân, tổ chức trên Cổng Dịch vụ công quốc gia")
#define ROW_17 \
    ROW(17, 2, 4, 5, RATIO, SUM1(PROCEDURES_POPULATION_CONNECTED), SUM1(PROCEDURES_CITIZEN), \
        PLAIN, 1, "Tỷ lệ TTHC triển khai kết nối, chia sẻ dữ liệu dân cư phục vụ giải quyết " \
                  "TTHC")
#define ROW_18_RESOLVED \
    ROW(18, 2, 4, 5, RATIO, SUM1(POPULATION_DATA), SUM1(RECEIVED), \
        PLAIN, 1, "Tỷ lệ hồ sơ TTHC có sử dụng thông tin, dữ liệu dân cư")
#define ROW_19 \
    ROW(19, 6, 5, 6, RATIO, SUM1(FEEDBACK_ANSWERED_ON_TIME), SUM1(FEEDBACK_RECEIVED), \
        PLAIN, 1, "Tỷ lệ phản ánh, kiến nghị xử lý đúng hạn")
#define ROW_20 \
    ROW(20, 6, 5, 6, RATIO, SUM1(FEEDBACK_SATISFIED), SUM1(FEEDBACK_RATED), \
        PLAIN, 1, "Tỷ lệ hài lòng trong xử lý phản ánh, kiến nghị")
#define ROW_21_RESOLVED \
    ROW(21, 6, 5, 6, COMPLEMENT, SUM3(RESOLVED_LATE, OPEN_OVERDUE, COMPLAINTS), \
        SUM3(RESOLVED_ON_TIME, RESOLVED_LATE, OPEN_OVERDUE), \
        THRESHOLD(0.9), 1, "Tỷ lệ hài lòng trong tiếp nhận, giải quyết TTHC")
#define GROUPS5 { \
        {1, "Công khai, minh bạch"}, \
        {2, "Tiến độ, kết quả giải quyết"}, \
        {3, "Cung cấp dịch vụ công trực tuyến"}, \
        {4, "Số hóa hồ sơ"}, \
        {5, "Mức độ hài lòng"}, \
    }
/* The portal's six: group III split into online service (6-8) and payment (9-11). */
#define GROUPS6 { \
        {1, "Công khai, minh bạch"}, \
        {2, "Tiến độ, kết quả giải quyết"}, \
        {3, "Cung cấp dịch vụ công trực tuyến"}, \
        {4, "Thanh toán trực tuyến"}, \
        {5, "Số hóa hồ sơ"}, \
        {6, "Mức độ hài lòng"}, \
    }

/* The 21 rows of a rule set: the shared ones and the seven a set judges
 * over its own population. */
#define RULE_ROWS(r5, r12, r13, r14, r16, r18, r21)                                               \
    {ROW_1, ROW_2, ROW_3, ROW_4, r5, ROW_6, ROW_7, ROW_8, ROW_9, ROW_10, ROW_11, r12, r13, r14,  \
     ROW_15, r16, ROW_17, r18, ROW_19, ROW_20, r21}

/* The seven rows over the national portal's population D. */
#define ROW_5_D \
    ROW(5, 20, 2, 2, RATIO, SUM1(JUDGED_ON_TIME), SUM1(JUDGED), \
        PLAIN, 1, "Tỷ lệ hồ sơ xử lý đúng hạn")
#define ROW_12_D \
    ROW(12, 6, 4, 5, RATIO, SUM1(JUDGED_E_RESULT), SUM1(JUDGED), \
        PLAIN, 1, "Tỷ lệ hồ sơ TTHC có cấp kết quả giải quyết TTHC điện tử")
#define ROW_13_D \
    ROW(13, 4, 4, 5, RATIO, SUM1(JUDGED_DIGITIZED), SUM1(JUDGED), \
        PLAIN, 1, "Tỷ lệ hồ sơ TTHC thực hiện số hóa hồ sơ")
#define ROW_14_D \
    ROW(14, 2, 4, 5, RATIO, SUM1(JUDGED_REUSED_DATA), SUM1(JUDGED), \
        THRESHOLD(0.8), 1, "Tỷ lệ khai thác, sử dụng lại thông tin, dữ liệu số hóa")
#define ROW_16_D \
    ROW(16, 4, 4, 5, RATIO, SUM1(JUDGED_FROM_DATA_STORE), SUM1(JUDGED), \
        PLAIN, 1, "Tỷ lệ hồ sơ TTHC được số hóa có kết nối, đồng bộ với danh mục hồ sơ của " \
                  "cá nhân, tổ chức trên Cổng Dịch vụ công quốc gia")
#define ROW_18_D \
    ROW(18, 2, 4, 5, RATIO, SUM1(JUDGED_POPULATION_DATA), SUM1(JUDGED), \
        PLAIN, 1, "Tỷ lệ hồ sơ TTHC có sử dụng thông tin, dữ liệu dân cư")
#define ROW_21_D \
    ROW(21, 6, 5, 6, COMPLEMENT, SUM2(JUDGED_LATE, JUDGED_COMPLAINTS), SUM1(JUDGED), \
        THRESHOLD(0.9), 1, "Tỷ lệ hài lòng trong tiếp nhận, giải quyết TTHC")

/* Rule set "766-2022-dvcqg" (the default): Decision 766/QĐ-TTg (2022) as
 * the national portal scores it (DOMAIN.md, "Populations the national
 * portal uses"): #5, #12, #13, #14, #16, #18 and #21 over the population D
 * of the dossiers received or processed in the period. docs/scoring.md
 * prints this table with the reason for every if_empty. */
static const chiso_score_rules rules_766_dvcqg = {
    .name = CHISO_SCORE_DEFAULT_RULES,
    .rule = RULE_ROWS(ROW_5_D, ROW_12_D, ROW_13_D, ROW_14_D, ROW_16_D, ROW_18_D, ROW_21_D),
    .group = GROUPS5,
    .group6 = GROUPS6,
};

/* Rule set "766-2022-resolved": chiso's rules before the portal's
 * populations: #5 and #21 over the dossiers resolved in the period and
 * those open past due at its end, #12 over the resolved, #13, #14 and #18
 * over the received, #16 over the digitized. */
static const chiso_score_rules rules_766_resolved = {
    .name = "766-2022-resolved",
    .rule = RULE_ROWS(ROW_5_RESOLVED, ROW_12_RESOLVED, ROW_13_RESOLVED, ROW_14_RESOLVED,
                      ROW_16_RESOLVED, ROW_18_RESOLVED, ROW_21_RESOLVED),
    .group = GROUPS5,
    .group6 = GROUPS6,
};

/* clang-format on */

static const chiso_score_rules *const builtin[] = {&rules_766_dvcqg, &rules_766_resolved};
#define N_BUILTIN (sizeof(builtin) / sizeof(builtin[0]))

void chiso_score_input_init(chiso_score_input *in)
{
    for (int f = 0; f < CHISO_SF_COUNT; f++)
        in->n[f] = CHISO_SCORE_ABSENT;
    in->figures = false;
    for (int i = 0; i < CHISO_SCORE_INDICATORS; i++)
        in->num[i] = in->den[i] = CHISO_SCORE_ABSENT;
}

const char *chiso_score_field_name(chiso_score_field f)
{
    return ((int)f >= 0 && f < CHISO_SF_COUNT) ? field_names[f] : NULL;
}

int chiso_score_field_from_name(const char *name)
{
    for (int f = 0; f < CHISO_SF_COUNT; f++) {
        if (strcmp(field_names[f], name) == 0)
            return f;
    }
    return -1;
}

const char *chiso_score_field_counter(chiso_score_field f)
{
    for (size_t i = 0; i < N_COUNTER_FEEDS; i++) {
        if (counter_feeds[i].field == f)
            return counter_feeds[i].counter;
    }
    return NULL;
}

/* Whether this build keeps the counter `name` (a dossier or feedback one). */
static bool counter_kept(const char *name)
{
    return chiso_counter_from_name(name) >= 0 || chiso_fb_counter_from_name(name) >= 0;
}

void chiso_score_input_counters(chiso_score_input *in)
{
    chiso_score_input_init(in);
    for (size_t i = 0; i < N_COUNTER_FEEDS; i++) {
        if (counter_kept(counter_feeds[i].counter))
            in->n[counter_feeds[i].field] = 0;
    }
}

int chiso_score_input_counter(chiso_score_input *in, const char *counter, int64_t value)
{
    for (size_t i = 0; i < N_COUNTER_FEEDS; i++) {
        if (strcmp(counter_feeds[i].counter, counter) == 0) {
            in->n[counter_feeds[i].field] = value < 0                       ? 0
                                            : value > CHISO_SCORE_COUNT_MAX ? CHISO_SCORE_COUNT_MAX
                                                                            : value;
            return 0;
        }
    }
    return CHISO_ENOENT;
}

void chiso_score_rollup(const chiso_score_input *units, size_t n, chiso_score_input *out)
{
    chiso_score_input_init(out); /* figures are a document's, never summed */
    for (int f = 0; f < CHISO_SF_COUNT; f++) {
        int64_t sum = n > 0 ? 0 : CHISO_SCORE_ABSENT;

        for (size_t i = 0; i < n && sum != CHISO_SCORE_ABSENT; i++) {
            int64_t x = units[i].n[f];
            if (x < 0)
                sum = CHISO_SCORE_ABSENT;
            else
                sum = x > CHISO_SCORE_COUNT_MAX - sum ? CHISO_SCORE_COUNT_MAX : sum + x;
        }
        out->n[f] = sum;
    }
}

const chiso_score_rules *chiso_score_rules_find(const char *name)
{
    for (size_t i = 0; name && i < N_BUILTIN; i++) {
        if (strcmp(builtin[i]->name, name) == 0)
            return builtin[i];
    }
    return NULL;
}

int chiso_score_rules_ok(const char *value, char *errstr, size_t errstr_size)
{
    size_t len = 0;

    if (chiso_score_rules_find(value))
        return 0;
    len = (size_t)snprintf(errstr, errstr_size, "is not a built-in rule set (known:");
    for (size_t i = 0; i < N_BUILTIN && len < errstr_size; i++)
        len += (size_t)snprintf(errstr + len, errstr_size - len, " %s", builtin[i]->name);
    if (len < errstr_size)
        snprintf(errstr + len, errstr_size - len, ")");
    return CHISO_EINVAL;
}

const chiso_score_rules *chiso_score_rules_at(size_t i)
{
    return i < N_BUILTIN ? builtin[i] : NULL;
}

static bool terms_ok(const chiso_score_terms *t)
{
    if (t->n < 1 || t->n > CHISO_SCORE_TERMS_MAX)
        return false;
    for (int i = 0; i < t->n; i++) {
        if ((int)t->f[i] < 0 || t->f[i] >= CHISO_SF_COUNT)
            return false;
    }
    return true;
}

static bool groups_ok(const chiso_score_group *g, int n)
{
    for (int i = 0; i < n; i++) {
        if (g[i].id != i + 1 || !g[i].name || !g[i].name[0])
            return false;
    }
    return true;
}

int chiso_score_rules_check(const chiso_score_rules *rules, char *errstr, size_t errstr_size)
{
    int used[CHISO_SCORE_GROUPS] = {0}, used6[CHISO_SCORE_GROUPS6] = {0};

    if (!rules || !rules->name || !rules->name[0])
        return chiso_errf(errstr, errstr_size, CHISO_EINVAL, "rule set has no name");
    for (int i = 0; i < CHISO_SCORE_INDICATORS; i++) {
        const chiso_score_rule *r = &rules->rule[i];

        if (r->id != i + 1 || !r->name || !r->name[0])
            return chiso_errf(errstr, errstr_size, CHISO_EINVAL,
                              "row %d: id must be %d and name set", i + 1, i + 1);
        if (!(r->max > 0) || !isfinite(r->max))
            return chiso_errf(errstr, errstr_size, CHISO_EINVAL,
                              "indicator %d: max must be a positive number", r->id);
        if (r->group < 1 || r->group > CHISO_SCORE_GROUPS || r->group6 < 1 ||
            r->group6 > CHISO_SCORE_GROUPS6)
            return chiso_errf(errstr, errstr_size, CHISO_EINVAL,
                              "indicator %d: group must be 1..%d, group6 1..%d", r->id,
                              CHISO_SCORE_GROUPS, CHISO_SCORE_GROUPS6);
        if (r->rate != CHISO_RATE_RATIO && r->rate != CHISO_RATE_COMPLEMENT)
            return chiso_errf(errstr, errstr_size, CHISO_EINVAL, "indicator %d: unknown rate kind",
                              r->id);
        if (r->formula == CHISO_FORMULA_THRESHOLD && !(r->threshold > 0 && r->threshold <= 1))
            return chiso_errf(errstr, errstr_size, CHISO_EINVAL,
                              "indicator %d: threshold must be in (0, 1]", r->id);
        if (r->formula == CHISO_FORMULA_CAPPED &&
            !(r->factor > 0 && isfinite(r->factor) && r->cap >= 0 && r->cap <= r->max))
            return chiso_errf(errstr, errstr_size, CHISO_EINVAL,
                              "indicator %d: factor must be positive and cap in [0, max]", r->id);
        if (r->formula != CHISO_FORMULA_PLAIN && r->formula != CHISO_FORMULA_THRESHOLD &&
            r->formula != CHISO_FORMULA_CAPPED)
            return chiso_errf(errstr, errstr_size, CHISO_EINVAL, "indicator %d: unknown formula",
                              r->id);
        if (!terms_ok(&r->num) || !terms_ok(&r->den))
            return chiso_errf(errstr, errstr_size, CHISO_EINVAL,
                              "indicator %d: num and den must sum 1..%d fields", r->id,
                              CHISO_SCORE_TERMS_MAX);
        if (!(r->if_empty >= 0 && r->if_empty <= 1))
            return chiso_errf(errstr, errstr_size, CHISO_EINVAL,
                              "indicator %d: if_empty must be in [0, 1]", r->id);
        used[r->group - 1]++;
        used6[r->group6 - 1]++;
    }
    if (!groups_ok(rules->group, CHISO_SCORE_GROUPS) ||
        !groups_ok(rules->group6, CHISO_SCORE_GROUPS6))
        return chiso_errf(errstr, errstr_size, CHISO_EINVAL,
                          "groups must be numbered from 1 and named");
    for (int g = 0; g < CHISO_SCORE_GROUPS6; g++) {
        if ((g < CHISO_SCORE_GROUPS && !used[g]) || !used6[g])
            return chiso_errf(errstr, errstr_size, CHISO_EINVAL, "a group has no indicator");
    }
    return 0;
}

/* The sum of a row's terms, or CHISO_SCORE_ABSENT when one is absent.
 * Counts are at most CHISO_SCORE_COUNT_MAX, so three cannot overflow. */
static int64_t terms_sum(const chiso_score_terms *t, const chiso_score_input *in)
{
    int64_t sum = 0;

    for (int i = 0; i < t->n; i++) {
        if (in->n[t->f[i]] < 0)
            return CHISO_SCORE_ABSENT;
        sum += in->n[t->f[i]];
    }
    return sum;
}

/* The points of a rate in [0, 1] under a row's formula. */
static double points_of(const chiso_score_rule *r, double rate)
{
    switch (r->formula) {
    case CHISO_FORMULA_THRESHOLD:
        return fmin(r->max, r->max * rate / r->threshold);
    case CHISO_FORMULA_CAPPED:
        return fmin(r->cap, r->factor * rate);
    case CHISO_FORMULA_PLAIN:
    default:
        return r->max * rate;
    }
}

/* The points of num over den (> 0) under row r. */
static double points_at(const chiso_score_rule *r, int64_t num, int64_t den)
{
    return points_of(r, num >= den ? 1.0 : (double)num / (double)den);
}

/* The points still to win of an item with den > 0: the least growth of num
 * (at most to den) that gives the row's full points, found from the rate
 * that gives them and checked against the points themselves, so that the
 * answer agrees with what scoring that numerator would give. */
static void still_to_win(const chiso_score_rule *r, chiso_score_item *it)
{
    const double eps = 1e-9;
    double full = r->formula == CHISO_FORMULA_CAPPED ? r->cap : r->max;
    double rate = r->formula == CHISO_FORMULA_THRESHOLD ? r->threshold
                  : r->formula == CHISO_FORMULA_CAPPED  ? r->cap / r->factor
                                                        : 1.0;

    if (it->points >= full - eps) {
        it->need = 0;
        it->gain = 0;
        return;
    }
    if (points_at(r, it->den, it->den) < full - eps) {
        it->need = -1; /* even every dossier would not reach it */
        it->gain = 0;
        return;
    }
    double want = ceil(rate * (double)it->den - eps);
    int64_t num = want > (double)it->den ? it->den : (int64_t)want;
    if (num < it->num)
        num = it->num;
    while (num < it->den && points_at(r, num, it->den) < full - eps)
        num++;
    while (num > it->num && points_at(r, num - 1, it->den) >= full - eps)
        num--;
    it->need = num - it->num;
    it->gain = full - it->points;
}

/* One indicator: num, den, rate, points and what is still to win of row r
 * (the i-th). */
static chiso_score_item score_row(const chiso_score_rule *r, int i, const chiso_score_input *in)
{
    chiso_score_item it = {.num = terms_sum(&r->num, in),
                           .den = terms_sum(&r->den, in),
                           .rate = NAN,
                           .points = 0,
                           .max = r->max,
                           .need = -1,
                           .gain = 0};

    if (in->figures) { /* the portal's figures, successes over dossiers judged */
        it.num = in->num[i];
        it.den = in->den[i];
        if (it.num == CHISO_SCORE_NA && it.den == CHISO_SCORE_NA) {
            it.num = it.den = CHISO_SCORE_ABSENT;
            it.points = r->max; /* not applicable: full points, as the portal shows #15 */
            it.need = 0;
            return it;
        }
    } else if (r->rate == CHISO_RATE_COMPLEMENT && it.num >= 0 && it.den >= 0) {
        it.num = it.num < it.den ? it.den - it.num : 0; /* failures -> successes */
    }
    if (it.num < 0 || it.den < 0)
        return it; /* not supplied: null rate, no points */
    if (it.den == 0) {
        it.points = r->if_empty * r->max;
        if (r->if_empty >= 1) {
            it.need = 0;
        }
        return it;
    }
    it.rate = it.num >= it.den ? 1.0 : (double)it.num / (double)it.den;
    it.points = points_of(r, it.rate);
    still_to_win(r, &it);
    return it;
}

int chiso_score_compute(const chiso_score_rules *rules, const chiso_score_input *in,
                        chiso_score *out)
{
    if (chiso_score_rules_check(rules, NULL, 0) != 0)
        return CHISO_EINVAL;
    for (int f = 0; f < CHISO_SF_COUNT; f++) {
        if (in->n[f] != CHISO_SCORE_ABSENT && (in->n[f] < 0 || in->n[f] > CHISO_SCORE_COUNT_MAX))
            return CHISO_EINVAL;
    }
    for (int i = 0; in->figures && i < CHISO_SCORE_INDICATORS; i++) {
        bool na = in->num[i] == CHISO_SCORE_NA && in->den[i] == CHISO_SCORE_NA;
        if (!na && ((in->num[i] != CHISO_SCORE_ABSENT &&
                     (in->num[i] < 0 || in->num[i] > CHISO_SCORE_COUNT_MAX)) ||
                    (in->den[i] != CHISO_SCORE_ABSENT &&
                     (in->den[i] < 0 || in->den[i] > CHISO_SCORE_COUNT_MAX))))
            return CHISO_EINVAL;
    }
    memset(out, 0, sizeof(*out));
    out->rules = rules;
    for (int i = 0; i < CHISO_SCORE_INDICATORS; i++) {
        const chiso_score_rule *r = &rules->rule[i];
        chiso_score_item it = score_row(r, i, in);

        out->ind[i] = it;
        out->group[r->group - 1].points += it.points;
        out->group[r->group - 1].max += r->max;
        out->group6[r->group6 - 1].points += it.points;
        out->group6[r->group6 - 1].max += r->max;
        out->total += it.points;
        out->max += r->max;
    }
    return 0;
}

double chiso_score_round2(double x)
{
    return round(x * 100.0) / 100.0;
}

void chiso_score_rank(const double *totals, size_t n, int *ranks)
{
    for (size_t i = 0; i < n; i++) {
        double mine = chiso_score_round2(totals[i]);
        int rank = 1;

        for (size_t j = 0; j < n; j++) {
            if (chiso_score_round2(totals[j]) > mine)
                rank++;
        }
        ranks[i] = rank;
    }
}
