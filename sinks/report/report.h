/*
 * sinks/report: chiso-report, the quarterly table: report.h (this, the table itself,
 * library chiso_report_table), main.c (reading Redis and the catalog).
 *
 * report.h - the quarterly statistics table of a province (or one unit):
 * the figures of section VI of the provincial report on administrative
 * procedure reform (seeds/004_*, "Biểu mẫu thống kê"), from the counts of
 * one quarter. Pure: no I/O but the FILE the caller writes to, no clock.
 *
 * The caller sums the counters of the quarter (chiso_report_add_counter()
 * maps each Redis counter to the figures it feeds, by unit kind) and fills
 * the rest (carried over, open at the quarter's end, the quarter's
 * population D, the catalog counts, the score of each month);
 * chiso_report_rows() turns them into the rows of the table with
 * Vietnamese labels and number formats ("267.922", "97,54%"), and
 * chiso_report_write() prints them as Markdown or CSV. docs/report.md
 * lists every row with its numerator and denominator.
 *
 * Two "on time" rates appear and differ: the form's (part II.3, as the
 * province's report counts it: resolved on time / resolved) and Decision
 * 766's #5 as the national portal judges it (part IV.4: on time / the
 * dossiers received or processed in the quarter, DOMAIN.md's population
 * D). The report says so under its title (CHISO_REPORT_ON_TIME_NOTE) and
 * beside both rates.
 *
 * Percentages are TRUNCATED, as the province's report prints them
 * (15,700 / 16,095 = 97.5458...% is "97,54%"), to the number of decimals
 * that report shows for the row, trailing zeros dropped ("89,6%",
 * "100%"): chiso_report_pct().
 */
#ifndef CHISO_REPORT_H
#define CHISO_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "chiso/catalog.h"
#include "chiso/vntime.h"

#define CHISO_REPORT_NA     (-1) /* a figure that is not known */
#define CHISO_REPORT_MONTHS 3

/* The sentence under the title (Markdown), and the note of part II's
 * heading row 3 (CSV, which has no preamble): which dossiers each on-time
 * rate of the report is taken over. */
#define CHISO_REPORT_ON_TIME_NOTE                                                                                         \
    "Tỷ lệ đúng hạn ở mục II.3 tính trên hồ sơ đã giải quyết (như báo cáo quý của tỉnh); " \
    "khác chỉ số 5 của Quyết định 766 (mục IV.4), tính trên hồ sơ tiếp nhận và xử lý trong kỳ."

/* The counts of one quarter (plain value struct): start with
 * chiso_report_input_init(). Counts are >= 0 or CHISO_REPORT_NA. */
typedef struct chiso_report_input {
    char unit_name[CHISO_NAME_MAX + 1]; /* "Tỉnh Hưng Yên" */
    char quarter[CHISO_PERIOD_STRLEN];  /* "2025-Q3" */
    int64_t as_of;                      /* epoch seconds: the data's "now" */
    /* dossiers (counters.h) */
    int64_t carried_over;    /* open at the end of the previous quarter */
    int64_t received;        /* received in the quarter */
    int64_t received_online; /* ... submitted online */
    int64_t resolved;        /* resolved in the quarter */
    int64_t resolved_on_time;
    int64_t resolved_late;
    int64_t open;         /* open at the quarter's end day E */
    int64_t open_overdue; /* ... and past due at E */
    /* the national portal's population D of the quarter (DOMAIN.md, "Populations
     * the national portal uses"; snapshot.h, chiso_snapshot_population): the
     * dossiers received or processed in it, and those judged late (#5);
     * NA when not known (init), e.g. before the quarter begins */
    int64_t judged;
    int64_t judged_late;
    /* the same by level: [0] provincial departments, [1] communes */
    int64_t level_received[2];
    int64_t level_online[2];
    int64_t level_resolved[2];
    int64_t level_on_time[2];
    /* dossiers received for full-process and partial online services */
    int64_t svc_full, svc_full_online;
    int64_t svc_partial, svc_partial_online;
    /* feedback (PAKN), feedback.h: NA when not counted */
    int64_t fb_received;
    int64_t fb_answered_on_time;
    /* procedures of the catalog (catview.h): NA without a catalog */
    int64_t proc_eligible;       /* eligible for full-process online service */
    int64_t proc_offered_full;   /* ... and offered at level full */
    int64_t proc_fee;            /* with a fee or charge */
    int64_t proc_fee_integrated; /* ... integrated with online payment */
    /* the Decision 766 total of each month of the quarter; NAN: not scored */
    double score[CHISO_REPORT_MONTHS];
} chiso_report_input;

/* Zero every count, mark the feedback counts NA unless this build keeps
 * feedback counters, the population D and the catalog counts NA, the
 * scores NAN; copy the name and the quarter key. */
void chiso_report_input_init(chiso_report_input *in, const char *unit_name, const char *quarter);

/* Add one counter of one unit's quarter hash (a Redis field of counters.h
 * or feedback.h) to the figures it feeds; `kind` picks the level split
 * (departments, communes; other kinds count in the totals only). Returns 0,
 * or CHISO_ENOENT for a counter the report does not read. */
int chiso_report_add_counter(chiso_report_input *in, chiso_unit_kind kind, const char *counter,
                             int64_t value);

/* num / den as a percentage truncated to `decimals` decimals, trailing
 * zeros (and a bare decimal mark) dropped, Vietnamese marks: 15700/16095,
 * 2 -> "97,54%"; 1, 1 -> "100%"; "—" when den <= 0 or either is NA.
 * Exact in integers for counts up to 10^15. Returns out. */
char *chiso_report_pct(int64_t num, int64_t den, int decimals, char *out, size_t size);

/* One row of the table. */
typedef struct chiso_report_row {
    const char *section; /* "I", "II", ...: the part of the form */
    char stt[16];        /* "3.1.2"; "" on a part's heading row */
    char label[160];     /* Vietnamese */
    const char *unit;    /* "Hồ sơ", "%", ...; "" on headings */
    char value[48];      /* formatted; "" on headings, "—" when not known */
    const char *note;    /* "" or a Vietnamese remark */
    int heading;         /* 1: a part's or group's title */
} chiso_report_row;

#define CHISO_REPORT_ROWS_MAX 64

/* Build the rows. Returns how many (at most CHISO_REPORT_ROWS_MAX), or
 * CHISO_EINVAL when in->quarter is not a quarter key. */
int chiso_report_rows(const chiso_report_input *in, chiso_report_row rows[CHISO_REPORT_ROWS_MAX]);

typedef enum chiso_report_format {
    CHISO_REPORT_MARKDOWN = 0,
    CHISO_REPORT_CSV,
} chiso_report_format;

/* Print the report: Markdown (a title, CHISO_REPORT_ON_TIME_NOTE, the
 * data's date, one table) or CSV (RFC 4180, a header row, one row per
 * table row; the note is part II's heading row 3's "Ghi chú"). Returns 0, CHISO_EINVAL
 * for a bad quarter, or CHISO_EIO when writing fails. */
int chiso_report_write(const chiso_report_input *in, chiso_report_format fmt, FILE *out);

#endif
