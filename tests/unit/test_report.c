/*
 * test_report.c - the quarterly statistics table (report.h): the golden
 * test of DOMAIN.md's Hưng Yên Q3 2025 reference (seeds/004_*, section VI
 * and the figures of its text), the truncating percentages, the mapping of
 * counters to figures, #5 over the national portal's population D beside
 * the form's resolved-based on-time rates (each labelled as such), and the
 * Markdown and CSV output.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "chiso/common.h"
#include "report.h"

/* The row of part `section` numbered `stt` (the first when a label is not
 * given), or NULL. */
static const chiso_report_row *find(const chiso_report_row *rows, int n, const char *section,
                                    const char *stt)
{
    for (int i = 0; i < n; i++) {
        if (strcmp(rows[i].section, section) == 0 && strcmp(rows[i].stt, stt) == 0 &&
            !rows[i].heading)
            return &rows[i];
    }
    return NULL;
}

static void check_value(const chiso_report_row *rows, int n, const char *section, const char *stt,
                        const char *want)
{
    const chiso_report_row *r = find(rows, n, section, stt);
    CHECK(r != NULL, "no row %s %s", section, stt);
    if (r)
        CHECK(strcmp(r->value, want) == 0, "row %s %s (%s): \"%s\", want \"%s\"", section, stt,
              r->label, r->value, want);
}

/* Hưng Yên, Q3 2025 (DOMAIN.md "Reference figures"). */
static void hung_yen(chiso_report_input *in)
{
    chiso_report_input_init(in, "Tỉnh Hưng Yên", "2025-Q3");
    in->as_of = 1759622400; /* 2025-10-05T07:00:00+07:00: after the quarter */
    in->carried_over = 1730;
    in->received = 25765 + 240427; /* direct + online, received in the quarter */
    in->received_online = 240427;
    in->resolved = 246821;
    in->resolved_on_time = 244695;
    in->resolved_late = 2126;
    in->open = 9848;
    in->open_overdue = 583;
    in->level_resolved[0] = 16095;
    in->level_on_time[0] = 15700;
    in->level_resolved[1] = 230561;
    in->level_on_time[1] = 228831;
    in->svc_full = 115479;
    in->svc_full_online = 103470;
    in->svc_partial = 148667;
    in->svc_partial_online = 137236;
    in->fb_received = 70;
    in->fb_answered_on_time = 45;
    in->proc_eligible = 966;
    in->proc_offered_full = 907;
    in->proc_fee = 890;
    in->proc_fee_integrated = 890;
    in->score[0] = 74.88; /* July: 74,88/100 */
    in->score[1] = 77.51; /* August: 77,51/100 */
    in->score[2] = 75.05; /* September so far: 75,05/100 */
}

static void test_golden(void)
{
    static const struct {
        const char *section, *stt, *value;
    } want[] = {
        /* the text of part II.3: received, resolved, open */
        {"I", "1", "267.922"},
        {"I", "1.1", "1.730"},
        {"I", "1.2", "25.765"},
        {"I", "1.3", "240.427"},
        {"I", "2", "246.821"},
        {"I", "2.1", "244.695"},
        {"I", "2.2", "2.126"},
        {"I", "3", "9.848"},
        {"I", "3.1", "9.265"},
        {"I", "3.2", "583"},
        /* 240,427 / 266,192 = 90.3216%: the report's 90,33% is not derivable
         * from its own counts (docs/report.md) */
        {"I", "4", "90,32%"},
        {"I", "4.1", "—"}, /* no level split given */
        /* section VI, part II.3 */
        {"II", "3.1", "97,54%"}, /* 15,700 / 16,095 = 97.5458...%: truncated, not 97,55% */
        {"II", "3.1.1", "16.095"},
        {"II", "3.1.2", "15.700"},
        {"II", "3.2", "99,2%"}, /* 99.2496...%, one decimal */
        {"II", "3.2.1", "230.561"},
        {"II", "3.2.2", "228.831"},
        {"II", "3.3", "64,2%"}, /* 45 / 70 = 64.2857...%: truncated, not 64,3% */
        {"II", "3.3.1", "70"},
        {"II", "3.3.2", "45"},
        /* section VI, part III.3 */
        {"III", "3.1", "93,89%"},
        {"III", "3.1.1", "966"},
        {"III", "3.1.2", "907"},
        {"III", "3.2", "—"},
        {"III", "3.3", "89,6%"}, /* 89.6007...%: 89,60 without its trailing zero */
        {"III", "3.3.1", "115.479"},
        {"III", "3.3.2", "103.470"},
        {"III", "3.4", "92,31%"},
        {"III", "3.4.1", "148.667"},
        {"III", "3.4.2", "137.236"},
        {"III", "3.5", "100%"},
        {"III", "3.5.1", "890"},
        {"III", "3.5.2", "890"},
        /* the monthly scores */
        {"IV", "1", "74,88/100"},
        {"IV", "2", "77,51/100"},
        {"IV", "3", "75,05/100"},
        /* #5 of the quarter: the population D is not given here */
        {"IV", "4", "—"},
        {"IV", "4.1", "—"},
        {"IV", "4.2", "—"},
    };
    chiso_report_input in;
    chiso_report_row rows[CHISO_REPORT_ROWS_MAX];
    int n;

    hung_yen(&in);
    n = chiso_report_rows(&in, rows);
    CHECK(n > 0 && n <= CHISO_REPORT_ROWS_MAX, "rows: %d", n);
    for (size_t i = 0; n > 0 && i < sizeof(want) / sizeof(want[0]); i++)
        check_value(rows, n, want[i].section, want[i].stt, want[i].value);
    /* every non-heading row is one of the table above: none untested */
    for (int i = 0; i < n; i++) {
        bool known = rows[i].heading != 0;
        for (size_t k = 0; !known && k < sizeof(want) / sizeof(want[0]); k++)
            known = strcmp(rows[i].section, want[k].section) == 0 &&
                    strcmp(rows[i].stt, want[k].stt) == 0;
        known = known || (strcmp(rows[i].section, "I") == 0 && strcmp(rows[i].stt, "4.2") == 0);
        CHECK(known, "row %s %s (%s) is not checked", rows[i].section, rows[i].stt, rows[i].label);
    }
    /* labels are the form's, with their diacritics */
    CHECK_EQ_STR(find(rows, n, "II", "3.1")->label,
                 "Tỷ lệ hồ sơ TTHC do các sở, ngành tiếp nhận được giải quyết đúng hạn");
    CHECK_EQ_STR(find(rows, n, "III", "3.3")->label, "Tỷ lệ hồ sơ trực tuyến toàn trình");
    CHECK_EQ_STR(find(rows, n, "IV", "1")->label, "Tháng 7/2025");
    CHECK_EQ_STR(find(rows, n, "IV", "3")->label, "Tháng 9/2025");
    CHECK_EQ_STR(find(rows, n, "II", "3.1")->unit, "%");
    CHECK_EQ_STR(find(rows, n, "I", "1")->unit, "Hồ sơ");
}

/* The heading row of part `section` numbered `stt`, or NULL. */
static const chiso_report_row *find_heading(const chiso_report_row *rows, int n,
                                            const char *section, const char *stt)
{
    for (int i = 0; i < n; i++) {
        if (strcmp(rows[i].section, section) == 0 && strcmp(rows[i].stt, stt) == 0 &&
            rows[i].heading)
            return &rows[i];
    }
    return NULL;
}

/* The two on-time rates: the form's over the resolved dossiers (seed 004:
 * 97,54%, 99,2%), #5 over the population D (DOMAIN.md's portal figures
 * for a large province's quarter: 403,016 / 464,494), each noted as such. */
static void test_on_time_rates(void)
{
    chiso_report_input in;
    chiso_report_row rows[CHISO_REPORT_ROWS_MAX];
    const chiso_report_row *r;
    int n;

    hung_yen(&in);
    in.judged = 464494;
    in.judged_late = 61478;
    n = chiso_report_rows(&in, rows);
    CHECK(n > 0, "rows: %d", n);
    if (n <= 0)
        return;
    check_value(rows, n, "II", "3.1", "97,54%"); /* unchanged: resolved-based */
    check_value(rows, n, "II", "3.2", "99,2%");
    check_value(rows, n, "IV", "4", "86,76%"); /* 86.7645...%, truncated */
    check_value(rows, n, "IV", "4.1", "464.494");
    check_value(rows, n, "IV", "4.2", "403.016");
    CHECK_EQ_STR(find(rows, n, "IV", "4")->label, "Chỉ số 5: Tỷ lệ hồ sơ xử lý đúng hạn, cả quý");
    CHECK_EQ_STR(find(rows, n, "IV", "4")->unit, "%");
    CHECK_EQ_STR(find(rows, n, "IV", "4")->note,
                 "trên hồ sơ tiếp nhận và xử lý trong kỳ; khác mục II.3");
    CHECK_EQ_STR(find(rows, n, "IV", "4.1")->label, "Số hồ sơ tiếp nhận và xử lý trong kỳ");
    CHECK_EQ_STR(find(rows, n, "II", "3.1")->note,
                 "trên hồ sơ đã giải quyết; khác chỉ số 5 (mục IV.4)");
    CHECK_EQ_STR(find(rows, n, "II", "3.2")->note,
                 "trên hồ sơ đã giải quyết; khác chỉ số 5 (mục IV.4)");
    r = find_heading(rows, n, "II", "3");
    CHECK(r != NULL, "part II's heading 3");
    if (r)
        CHECK_EQ_STR(r->note, CHISO_REPORT_ON_TIME_NOTE);
    CHECK_EQ_STR(CHISO_REPORT_ON_TIME_NOTE,
                 "Tỷ lệ đúng hạn ở mục II.3 tính trên hồ sơ đã giải quyết (như báo cáo quý của "
                 "tỉnh); khác chỉ số 5 của Quyết định 766 (mục IV.4), tính trên hồ sơ tiếp nhận "
                 "và xử lý trong kỳ.");

    /* D known but empty (a quarter with no dossier): no rate, counts 0 */
    in.judged = in.judged_late = 0;
    n = chiso_report_rows(&in, rows);
    check_value(rows, n, "IV", "4", "—");
    check_value(rows, n, "IV", "4.1", "0");
    check_value(rows, n, "IV", "4.2", "0");
    /* every dossier late */
    in.judged = in.judged_late = 7;
    n = chiso_report_rows(&in, rows);
    check_value(rows, n, "IV", "4", "0%");
    check_value(rows, n, "IV", "4.2", "0");
}

static void test_pct(void)
{
    static const struct {
        int64_t num, den;
        int decimals;
        const char *want;
    } cases[] = {
        {15700, 16095, 2, "97,54%"},
        {228831, 230561, 1, "99,2%"},
        {228831, 230561, 2, "99,24%"},
        {45, 70, 1, "64,2%"},
        {103470, 115479, 2, "89,6%"},
        {103470, 115479, 1, "89,6%"},
        {137236, 148667, 2, "92,31%"},
        {907, 966, 2, "93,89%"},
        {890, 890, 2, "100%"},
        {2, 3, 2, "66,66%"}, /* truncated: rounding would give 66,67% */
        {1, 3, 0, "33%"},
        {0, 5, 2, "0%"},
        {1, 200, 2, "0,5%"},
        {1, 1000000, 2, "0%"}, /* 0.0001%: every decimal shown is zero */
        {12345, 10, 1, "123.450%"},
        {999999999999999, 1000000000000000, 2, "99,99%"}, /* exact at 10^15 */
        {1000000000000000, 1000000000000000, 2, "100%"},
        {5, 0, 2, "—"},
        {CHISO_REPORT_NA, 5, 2, "—"},
        {5, CHISO_REPORT_NA, 2, "—"},
    };
    char out[32];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        CHECK_EQ_STR(
            chiso_report_pct(cases[i].num, cases[i].den, cases[i].decimals, out, sizeof(out)),
            cases[i].want);
}

static void test_counters(void)
{
    chiso_report_input in;

    chiso_report_input_init(&in, "X", "2026-Q1");
    CHECK_EQ_INT(in.proc_eligible, CHISO_REPORT_NA, "no catalog yet");
    CHECK(isnan(in.score[0]) && isnan(in.score[2]), "no score yet");
    CHECK_EQ_INT(in.judged, CHISO_REPORT_NA, "no population D yet");
    CHECK_EQ_INT(in.judged_late, CHISO_REPORT_NA, "");
    CHECK_EQ_INT(in.fb_received, 0, "feedback counters are kept (feedback.h): 0, not NA");
    CHECK_EQ_INT(chiso_report_add_counter(&in, CHISO_UNIT_DEPARTMENT, "received", 10), 0, "");
    CHECK_EQ_INT(chiso_report_add_counter(&in, CHISO_UNIT_COMMUNE, "received", 5), 0, "");
    CHECK_EQ_INT(chiso_report_add_counter(&in, CHISO_UNIT_UNKNOWN, "received", 1), 0, "");
    CHECK_EQ_INT(chiso_report_add_counter(&in, CHISO_UNIT_COMMUNE, "received_online", 4), 0, "");
    CHECK_EQ_INT(chiso_report_add_counter(&in, CHISO_UNIT_DEPARTMENT, "resolved_on_time", 7), 0,
                 "");
    CHECK_EQ_INT(chiso_report_add_counter(&in, CHISO_UNIT_COMMUNE, "resolved_late", 2), 0, "");
    CHECK_EQ_INT(chiso_report_add_counter(&in, CHISO_UNIT_COMMUNE, "received_svc_full_online", 3),
                 0, "");
    CHECK_EQ_INT(chiso_report_add_counter(&in, CHISO_UNIT_COMMUNE, "fb_received", 2), 0, "");
    CHECK_EQ_INT(chiso_report_add_counter(&in, CHISO_UNIT_COMMUNE, "fb_answered_on_time", 1), 0,
                 "");
    CHECK_EQ_INT(chiso_report_add_counter(&in, CHISO_UNIT_COMMUNE, "closed", 3), CHISO_ENOENT,
                 "closed feeds open, which the caller derives");
    CHECK_EQ_INT(chiso_report_add_counter(&in, CHISO_UNIT_COMMUNE, "nonsense", 3), CHISO_ENOENT,
                 "");
    CHECK_EQ_INT(in.received, 16, "the total counts every kind");
    CHECK_EQ_INT(in.level_received[0], 10, "departments");
    CHECK_EQ_INT(in.level_received[1], 5, "communes");
    CHECK_EQ_INT(in.level_online[1], 4, "");
    CHECK_EQ_INT(in.received_online, 4, "");
    CHECK_EQ_INT(in.level_on_time[0], 7, "");
    CHECK_EQ_INT(in.resolved_on_time, 7, "");
    CHECK_EQ_INT(in.resolved_late, 2, "");
    CHECK_EQ_INT(in.svc_full_online, 3, "");
    CHECK_EQ_INT(in.fb_received, 2, "");
    CHECK_EQ_INT(in.fb_answered_on_time, 1, "");
}

/* Capture chiso_report_write()'s output. */
static char *render(const chiso_report_input *in, chiso_report_format fmt, int *rc)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    *rc = chiso_report_write(in, fmt, f);
    fclose(f);
    return buf;
}

static void test_output(void)
{
    static const char head[] = "# Biểu mẫu thống kê: Tỉnh Hưng Yên, quý III năm 2025\n\n"
                               "Tỷ lệ đúng hạn ở mục II.3 tính trên hồ sơ đã giải quyết (như báo "
                               "cáo quý của tỉnh); khác chỉ số 5 của Quyết định 766 (mục IV.4), "
                               "tính trên hồ sơ tiếp nhận và xử lý trong kỳ.\n\n"
                               "Số liệu tính đến hết ngày 30/09/2025.\n\n"
                               "| Stt | Chỉ tiêu thống kê | Đơn vị tính | Số liệu | Ghi chú |\n"
                               "|---|---|---|---:|---|\n"
                               "| **I** | **KẾT QUẢ TIẾP NHẬN, GIẢI QUYẾT HỒ SƠ TTHC** | | | |\n"
                               "| 1 | Tổng số hồ sơ đã tiếp nhận | Hồ sơ | 267.922 |  |\n";
    chiso_report_input in;
    chiso_report_row rows[CHISO_REPORT_ROWS_MAX];
    char *md, *csv;
    int rc;

    hung_yen(&in);
    in.judged = 267922; /* seed 004's received, which counts as D does */
    in.judged_late = 2709;
    md = render(&in, CHISO_REPORT_MARKDOWN, &rc);
    CHECK_EQ_INT(rc, 0, "markdown");
    CHECK(strncmp(md, head, strlen(head)) == 0, "head: %.200s", md);
    CHECK(strstr(md, "| 3.1 | Tỷ lệ hồ sơ TTHC do các sở, ngành tiếp nhận được giải quyết đúng "
                     "hạn | % | 97,54% | trên hồ sơ đã giải quyết; khác chỉ số 5 (mục IV.4) |\n") !=
              NULL,
          "departments' row");
    CHECK(strstr(md, "| **3** | **Kết quả giải quyết TTHC** | | | |\n") != NULL,
          "a heading's note is the sentence under the title, not repeated");
    CHECK(strstr(md, "| 4 | Chỉ số 5: Tỷ lệ hồ sơ xử lý đúng hạn, cả quý | % | 98,98% | trên hồ "
                     "sơ tiếp nhận và xử lý trong kỳ; khác mục II.3 |\n") != NULL,
          "#5 of the quarter (265,213 / 267,922 = 98.988...%%)");
    CHECK(strstr(md, "| 4.1 | Số hồ sơ tiếp nhận và xử lý trong kỳ | Hồ sơ | 267.922 |") != NULL,
          "|D|");
    CHECK(strstr(md, "| 1 | Tổng số hồ sơ đã tiếp nhận | Hồ sơ | 267.922 |  |\n") != NULL,
          "received row");
    CHECK(strstr(md, "| **II** | **CẢI CÁCH THỦ TỤC HÀNH CHÍNH** | | | |\n") != NULL, "part II");
    CHECK(strstr(md, "| 2 | Tháng 8/2025 | Điểm | 77,51/100 |  |\n") != NULL, "August");
    free(md);

    csv = render(&in, CHISO_REPORT_CSV, &rc);
    CHECK_EQ_INT(rc, 0, "csv");
    CHECK(strncmp(csv, "Mục,Stt,Chỉ tiêu thống kê,Đơn vị tính,Số liệu,Ghi chú\r\n", 60) == 0,
          "header: %.60s", csv);
    CHECK(strstr(csv, "\r\nII,3.1,\"Tỷ lệ hồ sơ TTHC do các sở, ngành tiếp nhận được giải quyết "
                      "đúng hạn\",%,\"97,54%\",trên hồ sơ đã giải quyết; khác chỉ số 5 (mục "
                      "IV.4)\r\n") != NULL,
          "a rate is quoted (it holds a comma), its note tells which on-time it is");
    CHECK(strstr(csv, "\r\nII,3,Kết quả giải quyết TTHC,,,\"" CHISO_REPORT_ON_TIME_NOTE "\"\r\n") !=
              NULL,
          "the CSV has no preamble: the sentence is the note of part II's heading 3");
    CHECK(strstr(csv, "\r\nIV,4,\"Chỉ số 5: Tỷ lệ hồ sơ xử lý đúng hạn, cả quý\",%,\"98,98%\","
                      "trên hồ sơ tiếp nhận và xử lý trong kỳ; khác mục II.3\r\n") != NULL,
          "#5 in CSV");
    CHECK(strstr(csv, "\r\nI,1,Tổng số hồ sơ đã tiếp nhận,Hồ sơ,267.922,\r\n") != NULL,
          "a count is not");
    CHECK(strstr(csv, "\r\nIII,3.3,Tỷ lệ hồ sơ trực tuyến toàn trình,%,\"89,6%\",\r\n") != NULL,
          "89,6%%");
    free(csv);

    /* a quarter still running: data up to as_of's day; a month not scored */
    chiso_report_input_init(&in, "Xã Tiên Lữ", "2025-Q4");
    in.as_of = 1762232400; /* 2025-11-04T12:00:00+07:00 */
    in.score[0] = 81.005;  /* rounded half away from zero, as the snapshot's total */
    md = render(&in, CHISO_REPORT_MARKDOWN, &rc);
    CHECK_EQ_INT(rc, 0, "markdown");
    CHECK(strstr(md, "quý IV năm 2025\n\n" CHISO_REPORT_ON_TIME_NOTE
                     "\n\nSố liệu tính đến hết ngày 04/11/2025.") != NULL,
          "running quarter: %.120s", md);
    CHECK(strstr(md, "| 4 | Chỉ số 5: Tỷ lệ hồ sơ xử lý đúng hạn, cả quý | % | — |") != NULL,
          "#5 without the population D");
    CHECK(strstr(md, "| 1 | Tháng 10/2025 | Điểm | 81,01/100 |  |\n") != NULL, "October");
    CHECK(strstr(md, "| 3 | Tháng 12/2025 | Điểm | — | chưa có số liệu |\n") != NULL, "December");
    CHECK(strstr(md, "| 3.1 | Tỷ lệ DVCTT toàn trình đủ điều kiện | % | — |  |\n") != NULL,
          "no catalog");
    CHECK(strstr(md, "| 3.1.1 | Tổng số DVC đủ điều kiện lên trực tuyến toàn trình | DVC | — |") !=
              NULL,
          "no catalog count");
    free(md);

    chiso_report_input_init(&in, "X", "2025-07");
    CHECK_EQ_INT(chiso_report_rows(&in, rows), CHISO_EINVAL, "a month is no quarter");
    md = render(&in, CHISO_REPORT_CSV, &rc);
    CHECK_EQ_INT(rc, CHISO_EINVAL, "");
    free(md);
}

int main(void)
{
    test_golden();
    test_pct();
    test_on_time_rates();
    test_counters();
    test_output();
    return CHECK_DONE();
}
