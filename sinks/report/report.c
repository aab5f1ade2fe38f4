/*
 * report.c - the quarterly statistics table (report.h).
 *
 * The rows follow section VI of the province's quarterly report
 * (seeds/004_*): its part II.3 (results of handling dossiers: the
 * departments' and communes' on-time rates, feedback) and part III.3
 * (online public services), preceded by the figures its text gives for
 * the quarter (received, resolved, open, online shares) and followed by
 * the Decision 766 score of each month and the quarter's #5 as the
 * national portal judges it. Labels are the form's, in Vietnamese;
 * docs/report.md gives every row's definition.
 *
 * The form's on-time rates (part II.3) are the province's report's,
 * resolved on time / resolved; #5 (part IV.4) is on time / the population
 * D. Both say so in their notes, and the output under its title
 * (CHISO_REPORT_ON_TIME_NOTE).
 *
 * Each percentage row shows the number of decimals the province's report
 * shows on it, truncated: 97,54% (departments on time, 2), 99,2%
 * (communes on time, 1), 64,2% (feedback, 1), 93,89%, 89,6%, 92,31%,
 * 100% (online services, 2, trailing zeros dropped).
 */
#include "report.h"

#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "chiso/common.h"
#include "chiso/feedback.h"
#include "chiso/vnfmt.h"

#define NA CHISO_REPORT_NA

/* Decimals of each percentage, as the province's report prints them. */
enum {
    DEC_ONLINE = 2,       /* "đạt 90,33% trên tổng số hồ sơ" */
    DEC_ONLINE_LEVEL = 1, /* "(cấp tỉnh: 95,4%, cấp xã: 90,2%)" */
    DEC_DEPT_ON_TIME = 2, /* 97,54% */
    DEC_COMM_ON_TIME = 1, /* 99,2% (99.24...) */
    DEC_FEEDBACK = 1,     /* 64,2% (64.28...) */
    DEC_SERVICES = 2,     /* 93,89%, 96,12%, 89,6% (89.60), 92,31%, 100% */
    DEC_INDICATOR_5 = 2,  /* #5 of a quarter: 86,76% (403,016 / 464,494 = 86.764...%) */
};

void chiso_report_input_init(chiso_report_input *in, const char *unit_name, const char *quarter)
{
    memset(in, 0, sizeof(*in));
    snprintf(in->unit_name, sizeof(in->unit_name), "%s", unit_name ? unit_name : "");
    snprintf(in->quarter, sizeof(in->quarter), "%s", quarter ? quarter : "");
    if (chiso_fb_counter_from_name("fb_received") < 0)
        in->fb_received = in->fb_answered_on_time = NA;
    in->judged = in->judged_late = NA;
    in->proc_eligible = in->proc_offered_full = in->proc_fee = in->proc_fee_integrated = NA;
    for (int m = 0; m < CHISO_REPORT_MONTHS; m++)
        in->score[m] = NAN;
}

/* Where a quarter counter goes: a total and, optionally, its level split. */
static const struct {
    const char *counter;
    size_t total;
    size_t level; /* offset of the [2] array, or 0 */
} counter_map[] = {
    {"received", offsetof(chiso_report_input, received),
     offsetof(chiso_report_input, level_received)},
    {"received_online", offsetof(chiso_report_input, received_online),
     offsetof(chiso_report_input, level_online)},
    {"resolved", offsetof(chiso_report_input, resolved),
     offsetof(chiso_report_input, level_resolved)},
    {"resolved_on_time", offsetof(chiso_report_input, resolved_on_time),
     offsetof(chiso_report_input, level_on_time)},
    {"resolved_late", offsetof(chiso_report_input, resolved_late), 0},
    {"received_svc_full", offsetof(chiso_report_input, svc_full), 0},
    {"received_svc_full_online", offsetof(chiso_report_input, svc_full_online), 0},
    {"received_svc_partial", offsetof(chiso_report_input, svc_partial), 0},
    {"received_svc_partial_online", offsetof(chiso_report_input, svc_partial_online), 0},
    {"fb_received", offsetof(chiso_report_input, fb_received), 0},
    {"fb_answered_on_time", offsetof(chiso_report_input, fb_answered_on_time), 0},
};

static int64_t *field_at(chiso_report_input *in, size_t offset)
{
    return (int64_t *)(void *)((char *)in + offset);
}

int chiso_report_add_counter(chiso_report_input *in, chiso_unit_kind kind, const char *counter,
                             int64_t value)
{
    for (size_t i = 0; i < sizeof(counter_map) / sizeof(counter_map[0]); i++) {
        int64_t *total;
        if (strcmp(counter_map[i].counter, counter) != 0)
            continue;
        total = field_at(in, counter_map[i].total);
        *total = (*total < 0 ? 0 : *total) + value;
        if (counter_map[i].level && kind == CHISO_UNIT_DEPARTMENT)
            field_at(in, counter_map[i].level)[0] += value;
        else if (counter_map[i].level && kind == CHISO_UNIT_COMMUNE)
            field_at(in, counter_map[i].level)[1] += value;
        return 0;
    }
    return CHISO_ENOENT;
}

char *chiso_report_pct(int64_t num, int64_t den, int decimals, char *out, size_t size)
{
    char whole_s[32], digits[24];
    int64_t whole, r;
    int n = 0;

    if (num < 0 || den <= 0 || num > 1000000000000000 || den > 1000000000000000) {
        snprintf(out, size, "—");
        return out;
    }
    whole = num * 100 / den;
    r = num * 100 % den;
    for (int i = 0; i < decimals && i < (int)sizeof(digits) - 1; i++) {
        r *= 10;
        digits[n++] = (char)('0' + r / den);
        r %= den;
    }
    while (n > 0 && digits[n - 1] == '0')
        n--;
    digits[n] = '\0';
    chiso_vnfmt_int(whole, whole_s, sizeof(whole_s));
    snprintf(out, size, "%s%s%s%%", whole_s, n ? "," : "", digits);
    return out;
}

/* ---- rows ---------------------------------------------------------------- */

typedef struct builder {
    chiso_report_row *rows;
    int n;
    const char *section;
} builder;

static chiso_report_row *row(builder *b, const char *stt, const char *label, const char *unit,
                             const char *note)
{
    chiso_report_row *r = &b->rows[b->n++];

    memset(r, 0, sizeof(*r));
    r->section = b->section;
    snprintf(r->stt, sizeof(r->stt), "%s", stt);
    snprintf(r->label, sizeof(r->label), "%s", label);
    r->unit = unit;
    r->note = note ? note : "";
    return r;
}

static void heading(builder *b, const char *stt, const char *label, const char *note)
{
    row(b, stt, label, "", note)->heading = 1;
}

static void count_row(builder *b, const char *stt, const char *label, const char *unit, int64_t v,
                      const char *note)
{
    chiso_report_row *r = row(b, stt, label, unit, note);
    if (v < 0)
        snprintf(r->value, sizeof(r->value), "—");
    else
        chiso_vnfmt_int(v, r->value, sizeof(r->value));
}

static void pct_row(builder *b, const char *stt, const char *label, int64_t num, int64_t den,
                    int decimals, const char *note)
{
    chiso_report_pct(num, den, decimals, row(b, stt, label, "%", note)->value,
                     sizeof(b->rows[0].value));
}

/* a - b, or NA when either is. */
static int64_t minus(int64_t a, int64_t b)
{
    return a < 0 || b < 0 ? NA : a - b;
}

static const char *const roman[] = {"I", "II", "III", "IV"};

/* The notes that tell the two on-time rates apart. */
#define NOTE_RESOLVED "trên hồ sơ đã giải quyết; khác chỉ số 5 (mục IV.4)"
#define NOTE_JUDGED   "trên hồ sơ tiếp nhận và xử lý trong kỳ; khác mục II.3"

int chiso_report_rows(const chiso_report_input *in, chiso_report_row rows[CHISO_REPORT_ROWS_MAX])
{
    static const char *const month_labels[] = {"Tháng 1", "Tháng 2",  "Tháng 3",  "Tháng 4",
                                               "Tháng 5", "Tháng 6",  "Tháng 7",  "Tháng 8",
                                               "Tháng 9", "Tháng 10", "Tháng 11", "Tháng 12"};
    builder b = {rows, 0, "I"};
    chiso_period q;
    chiso_date first;

    if (chiso_period_parse(in->quarter, &q) != 0 || q.kind != CHISO_PERIOD_QUARTER)
        return CHISO_EINVAL;
    first = chiso_day_to_date(q.first_day);

    heading(&b, "", "KẾT QUẢ TIẾP NHẬN, GIẢI QUYẾT HỒ SƠ TTHC", NULL);
    count_row(&b, "1", "Tổng số hồ sơ đã tiếp nhận", "Hồ sơ",
              in->carried_over < 0 ? NA : in->carried_over + in->received, NULL);
    count_row(&b, "1.1", "Số hồ sơ kỳ trước chuyển qua", "Hồ sơ", in->carried_over,
              "đang giải quyết khi hết quý trước");
    count_row(&b, "1.2", "Số hồ sơ tiếp nhận trực tiếp", "Hồ sơ",
              minus(in->received, in->received_online), "tại Bộ phận Một cửa hoặc qua bưu chính");
    count_row(&b, "1.3", "Số hồ sơ tiếp nhận trực tuyến", "Hồ sơ", in->received_online, NULL);
    count_row(&b, "2", "Tổng số hồ sơ đã giải quyết", "Hồ sơ", in->resolved, NULL);
    count_row(&b, "2.1", "Số hồ sơ giải quyết đúng hạn", "Hồ sơ", in->resolved_on_time, NULL);
    count_row(&b, "2.2", "Số hồ sơ giải quyết quá hạn", "Hồ sơ", in->resolved_late, NULL);
    count_row(&b, "3", "Tổng số hồ sơ đang giải quyết", "Hồ sơ", in->open, "khi hết quý");
    count_row(&b, "3.1", "Số hồ sơ đang giải quyết trong hạn", "Hồ sơ",
              minus(in->open, in->open_overdue), NULL);
    count_row(&b, "3.2", "Số hồ sơ đang giải quyết quá hạn", "Hồ sơ", in->open_overdue, NULL);
    pct_row(&b, "4", "Tỷ lệ hồ sơ tiếp nhận trực tuyến trên tổng số hồ sơ tiếp nhận",
            in->received_online, in->received, DEC_ONLINE, "hồ sơ tiếp nhận trong quý");
    pct_row(&b, "4.1", "Cấp tỉnh (sở, ban, ngành)", in->level_online[0], in->level_received[0],
            DEC_ONLINE_LEVEL, NULL);
    pct_row(&b, "4.2", "Cấp xã", in->level_online[1], in->level_received[1], DEC_ONLINE_LEVEL,
            NULL);

    b.section = "II";
    heading(&b, "", "CẢI CÁCH THỦ TỤC HÀNH CHÍNH", NULL);
    heading(&b, "3", "Kết quả giải quyết TTHC", CHISO_REPORT_ON_TIME_NOTE);
    pct_row(&b, "3.1", "Tỷ lệ hồ sơ TTHC do các sở, ngành tiếp nhận được giải quyết đúng hạn",
            in->level_on_time[0], in->level_resolved[0], DEC_DEPT_ON_TIME, NOTE_RESOLVED);
    count_row(&b, "3.1.1", "Tổng số hồ sơ TTHC đã giải quyết xong", "Hồ sơ", in->level_resolved[0],
              NULL);
    count_row(&b, "3.1.2", "Số hồ sơ TTHC giải quyết đúng hạn", "Hồ sơ", in->level_on_time[0],
              NULL);
    pct_row(&b, "3.2", "Tỷ lệ hồ sơ TTHC do UBND cấp xã tiếp nhận được giải quyết đúng hạn",
            in->level_on_time[1], in->level_resolved[1], DEC_COMM_ON_TIME, NOTE_RESOLVED);
    count_row(&b, "3.2.1", "Tổng số hồ sơ TTHC đã giải quyết xong", "Hồ sơ", in->level_resolved[1],
              NULL);
    count_row(&b, "3.2.2", "Số hồ sơ TTHC giải quyết đúng hạn", "Hồ sơ", in->level_on_time[1],
              NULL);
    pct_row(&b, "3.3", "Tỷ lệ giải quyết phản ánh, kiến nghị (PAKN) về quy định TTHC",
            in->fb_answered_on_time, in->fb_received, DEC_FEEDBACK, NULL);
    count_row(&b, "3.3.1", "Tổng số PAKN đã tiếp nhận", "PAKN", in->fb_received, NULL);
    count_row(&b, "3.3.2", "Số PAKN đã giải quyết xong đúng hạn", "PAKN", in->fb_answered_on_time,
              NULL);

    b.section = "III";
    heading(&b, "", "XÂY DỰNG VÀ PHÁT TRIỂN CHÍNH QUYỀN ĐIỆN TỬ, CHÍNH QUYỀN SỐ", NULL);
    heading(&b, "3", "Cung cấp dịch vụ công trực tuyến (DVCTT)", NULL);
    pct_row(&b, "3.1", "Tỷ lệ DVCTT toàn trình đủ điều kiện", in->proc_offered_full,
            in->proc_eligible, DEC_SERVICES, NULL);
    count_row(&b, "3.1.1", "Tổng số DVC đủ điều kiện lên trực tuyến toàn trình", "DVC",
              in->proc_eligible, NULL);
    count_row(&b, "3.1.2", "Số lượng DVCTT toàn trình", "DVC", in->proc_offered_full, NULL);
    pct_row(&b, "3.2", "Tỷ lệ DVC có phát sinh hồ sơ nộp trực tuyến (toàn trình + một phần)", NA,
            NA, DEC_SERVICES, "chưa tính: cần số DVC có hồ sơ của từng thủ tục");
    pct_row(&b, "3.3", "Tỷ lệ hồ sơ trực tuyến toàn trình", in->svc_full_online, in->svc_full,
            DEC_SERVICES, NULL);
    count_row(&b, "3.3.1",
              "Tổng số hồ sơ của DVCTT toàn trình (gồm hồ sơ nộp trực tuyến + trực tiếp)", "Hồ sơ",
              in->svc_full, NULL);
    count_row(&b, "3.3.2", "Số hồ sơ nộp trực tuyến của các DVCTT toàn trình", "Hồ sơ",
              in->svc_full_online, NULL);
    pct_row(&b, "3.4", "Tỷ lệ hồ sơ trực tuyến một phần", in->svc_partial_online, in->svc_partial,
            DEC_SERVICES, NULL);
    count_row(&b, "3.4.1",
              "Tổng số hồ sơ của DVCTT một phần (gồm hồ sơ nộp trực tuyến + trực tiếp)", "Hồ sơ",
              in->svc_partial, NULL);
    count_row(&b, "3.4.2", "Số hồ sơ nộp trực tuyến của các DVCTT một phần", "Hồ sơ",
              in->svc_partial_online, NULL);
    pct_row(&b, "3.5", "Tỷ lệ TTHC được tích hợp, triển khai thanh toán trực tuyến",
            in->proc_fee_integrated, in->proc_fee, DEC_SERVICES, NULL);
    count_row(&b, "3.5.1", "Tổng số TTHC có yêu cầu nghĩa vụ tài chính", "Thủ tục", in->proc_fee,
              NULL);
    count_row(&b, "3.5.2",
              "Số TTHC đã được tích hợp, triển khai thanh toán trực tuyến trên Cổng DVC quốc gia",
              "Thủ tục", in->proc_fee_integrated, NULL);

    b.section = "IV";
    heading(&b, "", "BỘ CHỈ SỐ PHỤC VỤ NGƯỜI DÂN, DOANH NGHIỆP (QUYẾT ĐỊNH 766/QĐ-TTg)", NULL);
    for (int m = 0; m < CHISO_REPORT_MONTHS; m++) {
        char stt[4];
        chiso_report_row *r;

        snprintf(stt, sizeof(stt), "%d", m + 1);
        r = row(&b, stt, "", "Điểm", isnan(in->score[m]) ? "chưa có số liệu" : "");
        snprintf(r->label, sizeof(r->label), "%s/%d", month_labels[first.month - 1 + m],
                 first.year);
        if (isnan(in->score[m])) {
            snprintf(r->value, sizeof(r->value), "—");
        } else {
            char d[32];
            chiso_vnfmt_dec(in->score[m], 2, d, sizeof(d));
            snprintf(r->value, sizeof(r->value), "%s/100", d);
        }
    }
    pct_row(&b, "4", "Chỉ số 5: Tỷ lệ hồ sơ xử lý đúng hạn, cả quý",
            minus(in->judged, in->judged_late), in->judged, DEC_INDICATOR_5, NOTE_JUDGED);
    count_row(&b, "4.1", "Số hồ sơ tiếp nhận và xử lý trong kỳ", "Hồ sơ", in->judged,
              "gồm hồ sơ kỳ trước chuyển qua, hồ sơ chưa giải quyết xong");
    count_row(&b, "4.2", "Số hồ sơ xử lý đúng hạn", "Hồ sơ", minus(in->judged, in->judged_late),
              "gồm hồ sơ chưa giải quyết xong còn trong hạn");
    return b.n;
}

/* ---- output ---------------------------------------------------------------- */

/* A CSV field, quoted when it holds a comma, a quote or a line break. */
static int csv_field(FILE *out, const char *s, bool last)
{
    int rc;

    if (strpbrk(s, ",\"\r\n")) {
        rc = fputc('"', out) == EOF ? -1 : 0;
        for (const char *p = s; rc == 0 && *p; p++)
            rc = (*p == '"' ? fputs("\"\"", out) : fputc(*p, out)) == EOF ? -1 : 0;
        rc = rc == 0 && fputc('"', out) != EOF ? 0 : -1;
    } else {
        rc = fputs(s, out) == EOF ? -1 : 0;
    }
    return rc == 0 && fputs(last ? "\r\n" : ",", out) != EOF ? 0 : -1;
}

int chiso_report_write(const chiso_report_input *in, chiso_report_format fmt, FILE *out)
{
    chiso_report_row rows[CHISO_REPORT_ROWS_MAX];
    int n = chiso_report_rows(in, rows), rc = 0;
    chiso_period q;
    chiso_date first, end;
    int32_t today = chiso_local_day(in->as_of);

    if (n < 0 || chiso_period_parse(in->quarter, &q) != 0)
        return CHISO_EINVAL;
    first = chiso_day_to_date(q.first_day);
    end = chiso_day_to_date(q.last_day < today ? q.last_day : today);
    if (fmt == CHISO_REPORT_CSV) {
        static const char *const head[] = {"Mục",         "Stt",     "Chỉ tiêu thống kê",
                                           "Đơn vị tính", "Số liệu", "Ghi chú"};
        for (int i = 0; rc == 0 && i < 6; i++)
            rc = csv_field(out, head[i], i == 5);
        for (int i = 0; rc == 0 && i < n; i++) {
            const chiso_report_row *r = &rows[i];
            const char *f[] = {r->section, r->stt, r->label, r->unit, r->value, r->note};
            for (int k = 0; rc == 0 && k < 6; k++)
                rc = csv_field(out, f[k], k == 5);
        }
    } else {
        rc = fprintf(out,
                     "# Biểu mẫu thống kê: %s, quý %s năm %d\n\n"
                     "%s\n\n"
                     "Số liệu tính đến hết ngày %02d/%02d/%d.\n\n"
                     "| Stt | Chỉ tiêu thống kê | Đơn vị tính | Số liệu | Ghi chú |\n"
                     "|---|---|---|---:|---|\n",
                     in->unit_name, roman[(first.month - 1) / 3], first.year,
                     CHISO_REPORT_ON_TIME_NOTE, end.day, end.month, end.year) < 0
                 ? -1
                 : 0;
        for (int i = 0; rc == 0 && i < n; i++) {
            const chiso_report_row *r = &rows[i];
            if (r->heading)
                rc = fprintf(out, "| **%s** | **%s** | | | |\n", r->stt[0] ? r->stt : r->section,
                             r->label);
            else
                rc = fprintf(out, "| %s | %s | %s | %s | %s |\n", r->stt, r->label, r->unit,
                             r->value, r->note);
            rc = rc < 0 ? -1 : 0;
        }
    }
    if (rc == 0 && fflush(out) != 0)
        rc = -1;
    return rc == 0 ? 0 : CHISO_EIO;
}
