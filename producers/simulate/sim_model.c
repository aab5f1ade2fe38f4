/*
 * sim_model.c - the simulated province (Hưng Yên by default), its arrival
 * process and the lifecycle of each dossier.
 *
 * Calibration targets (DOMAIN.md, Hưng Yên Q3 2025): ~2,900 dossiers a day;
 * 6.5% of them at departments, 93.5% at communes; online share ~95% at
 * departments and ~90% at communes; on time ~97.5% at departments and
 * ~99.2% at communes; about 80% of online dossiers full-process; a few
 * percent of dossiers with a supplement request. The knobs
 * that reach these targets are the named constants below; docs/simulator.md
 * lists the figures a default run actually produces.
 *
 * All randomness comes from sim_rng streams seeded by sim_seed_mix(), so the
 * province, each day's arrivals and each dossier are reproducible on their
 * own.
 */
#include "sim_model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chiso/common.h"
#include "chiso/vntime.h"

/* Stream labels for sim_seed_mix(). */
#define STREAM_PROVINCE 1
#define STREAM_DAY      2
#define STREAM_DOSSIER  3
#define STREAM_CATALOG  4 /* catalog-only procedure attributes */
#define STREAM_EXTRA    5 /* a dossier's supplement cycles and return details */

/* ---- calibration constants ------------------------------------------------ */

#define SHARE_DEPARTMENTS   0.065 /* of dossiers: 16,095 / 246,656 resolved */
#define ONLINE_DEPARTMENT   0.955 /* target online share of received dossiers */
#define ONLINE_COMMUNE      0.902
#define LATE_DEPARTMENT     0.0385 /* mean P(late); gives ~97.5% on time (measured) */
#define LATE_COMMUNE        0.0051 /* gives ~99.2% on time (measured) */
#define FULL_GIVEN_LEVEL4   0.93   /* online dossier of a level-4 procedure stays full */
#define P_NOT_ACCEPTED_ON   0.012
#define P_NOT_ACCEPTED_OFF  0.003
#define P_WITHDRAWN         0.004
#define P_STOPPED           0.002
#define P_SYNCED            0.985
#define P_RETURNED          0.985
#define P_RATED_ONLINE      0.30
#define P_RATED_OFFLINE     0.10
#define P_SATISFIED         0.975
#define P_COMPLAINT         0.0015
#define P_DENIED            0.025
#define P_POSTAL_OF_OFFLINE 0.05

/* Supplement cycles (yêu cầu bổ sung). A procedure's P(request) is drawn
 * around these means; of the dossiers with a request, a share is never
 * answered (stopped or withdrawn weeks later) and a rare share needs two or
 * three requests (late from the second one, docs/ontime.md). */
#define SUPPLEMENT_DEPARTMENT 0.055
#define SUPPLEMENT_COMMUNE    0.025
#define P_SUP_ABANDONED       0.05
#define P_SUP_MULTI           0.06
#define P_SUP_THREE           0.15 /* of the multi ones */
#define P_SUP_SAME_DAY        0.10 /* the answer comes the same day */

/* Day-of-week factors (Monday..Sunday) by channel; a Saturday morning
 * desk is open in many communes, nothing on Sunday. */
static const double dow_online[7] = {1.0, 1.0, 1.0, 1.0, 1.0, 0.45, 0.30};
static const double dow_offline[7] = {1.0, 1.0, 1.0, 1.0, 1.0, 0.25, 0.0};

/* Half-hour profiles of a day (48 bins, relative weights). */
static const double prof_online[48] = {
    0.2, 0.2, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.2, 0.2, 0.4, 0.6, /* 00:00-06:00 */
    1.0, 1.5, 2.5, 4.0, 5.0, 5.5, 5.5, 5.5, 5.0, 5.0, 4.5, 3.5, /* 06:00-12:00 */
    2.5, 2.0, 2.5, 4.0, 4.5, 4.5, 4.5, 4.5, 4.0, 4.0, 3.0, 2.5, /* 12:00-18:00 */
    2.0, 2.0, 2.5, 3.0, 3.0, 3.0, 2.5, 2.0, 1.2, 0.8, 0.5, 0.3, /* 18:00-24:00 */
};
static const double prof_direct[48] = {
    0, 0, 0, 0,   0,   0,   0,   0,   0,   0,   0,   0,   /* 00:00-06:00 */
    0, 0, 0, 3.0, 6.0, 7.0, 7.0, 6.5, 6.0, 5.0, 4.0, 3.0, /* 06:00-12:00, open 7:30 */
    0, 0, 0, 3.0, 5.0, 5.5, 5.5, 5.0, 4.0, 3.0, 0,   0,   /* 12:00-18:00, open 13:30-17 */
    0, 0, 0, 0,   0,   0,   0,   0,   0,   0,   0,   0,   /* 18:00-24:00 */
};
static const double prof_direct_sat[48] = {
    0, 0, 0, 0,   0,   0,   0,   0,   0,   0,   0,   0,   /* */
    0, 0, 0, 3.0, 6.0, 7.0, 7.0, 6.5, 6.0, 5.0, 4.0, 3.0, /* morning only */
    0, 0, 0, 0,   0,   0,   0,   0,   0,   0,   0,   0,   /* */
    0, 0, 0, 0,   0,   0,   0,   0,   0,   0,   0,   0,   /* */
};

/* ---- names ---------------------------------------------------------------- */

static const char *const department_names[] = {
    "Công an tỉnh",
    "Sở Tư pháp",
    "Sở Nông nghiệp và Môi trường",
    "Sở Xây dựng",
    "Sở Tài chính",
    "Sở Y tế",
    "Sở Giáo dục và Đào tạo",
    "Sở Công Thương",
    "Sở Nội vụ",
    "Sở Văn hóa, Thể thao và Du lịch",
    "Sở Khoa học và Công nghệ",
    "Ban Quản lý các khu công nghiệp tỉnh",
    "Sở Dân tộc và Tôn giáo",
    "Sở Ngoại vụ",
    "Thanh tra tỉnh",
    "Văn phòng Ủy ban nhân dân tỉnh",
    "Bảo hiểm xã hội tỉnh",
    "Thuế tỉnh Hưng Yên",
    "Bộ Chỉ huy Quân sự tỉnh",
    "Quỹ Đầu tư phát triển tỉnh",
};
#define N_DEPARTMENT_NAMES (sizeof(department_names) / sizeof(department_names[0]))

static const char *const commune_names[] = {
    "Phường Phố Hiến",    "Phường Sơn Nam",   "Phường Hồng Châu",
    "Phường Mỹ Hào",      "Phường Đường Hào", "Phường Thượng Hồng",
    "Phường Thái Bình",   "Phường Trần Lãm",  "Phường Trần Hưng Đạo",
    "Phường Trà Lý",      "Phường Vũ Phúc",   "Xã Tân Hưng",
    "Xã Hoàng Hoa Thám",  "Xã Tiên Lữ",       "Xã Tiên Hoa",
    "Xã Quang Hưng",      "Xã Đoàn Đào",      "Xã Tiên Tiến",
    "Xã Tống Trân",       "Xã Lương Bằng",    "Xã Nghĩa Dân",
    "Xã Hiệp Cường",      "Xã Đức Hợp",       "Xã Ân Thi",
    "Xã Xuân Trúc",       "Xã Phạm Ngũ Lão",  "Xã Nguyễn Trãi",
    "Xã Hồng Quang",      "Xã Khoái Châu",    "Xã Triệu Việt Vương",
    "Xã Việt Tiến",       "Xã Chí Minh",      "Xã Châu Ninh",
    "Xã Yên Mỹ",          "Xã Việt Yên",      "Xã Hoàn Long",
    "Xã Nguyễn Văn Linh", "Xã Như Quỳnh",     "Xã Lạc Đạo",
    "Xã Đại Đồng",        "Xã Nghĩa Trụ",     "Xã Phụng Công",
    "Xã Văn Giang",       "Xã Mễ Sở",         "Xã Thái Thụy",
    "Xã Đông Thụy Anh",   "Xã Bắc Thụy Anh",  "Xã Thụy Anh",
    "Xã Nam Thụy Anh",    "Xã Bắc Thái Ninh", "Xã Thái Ninh",
    "Xã Đông Thái Ninh",  "Xã Nam Thái Ninh", "Xã Tây Thái Ninh",
    "Xã Tây Thụy Anh",    "Xã Tiền Hải",      "Xã Tây Tiền Hải",
    "Xã Ái Quốc",         "Xã Đồng Châu",     "Xã Đông Tiền Hải",
    "Xã Nam Cường",       "Xã Hưng Phú",      "Xã Nam Tiền Hải",
    "Xã Kiến Xương",      "Xã Lê Lợi",        "Xã Quang Lịch",
    "Xã Vũ Quý",          "Xã Bình Thanh",    "Xã Bình Định",
    "Xã Hồng Vũ",         "Xã Bình Nguyên",   "Xã Trà Giang",
    "Xã Vũ Thư",          "Xã Thư Trì",       "Xã Tân Thuận",
    "Xã Thư Vũ",          "Xã Vũ Tiên",       "Xã Vạn Xuân",
    "Xã Đông Hưng",       "Xã Bắc Tiên Hưng", "Xã Đông Tiên Hưng",
    "Xã Nam Đông Hưng",   "Xã Bắc Đông Quan", "Xã Bắc Đông Hưng",
    "Xã Đông Quan",       "Xã Nam Tiên Hưng", "Xã Tiên Hưng",
    "Xã Lê Quý Đôn",      "Xã Hồng Minh",     "Xã Thần Khê",
    "Xã Diên Hà",         "Xã Ngự Thiên",     "Xã Long Hưng",
    "Xã Hưng Hà",         "Xã Tiên La",       "Xã Quỳnh Phụ",
    "Xã Minh Thọ",        "Xã Nguyễn Du",     "Xã Quỳnh An",
    "Xã Ngọc Lâm",        "Xã Đồng Bằng",     "Xã A Sào",
    "Xã Phụ Dực",         "Xã Tân Tiến",
};
#define N_COMMUNE_NAMES (sizeof(commune_names) / sizeof(commune_names[0]))

/* Procedure names: the commune list is the shared commune catalogue; a
 * department's procedures take the department list in turn (qualified by
 * the department's name once the list is used up). */
static const char *const commune_proc_names[] = {
    "Đăng ký khai sinh",
    "Chứng thực bản sao từ bản chính",
    "Đăng ký thường trú",
    "Chứng thực chữ ký",
    "Đăng ký kết hôn",
    "Đăng ký khai tử",
    "Xác nhận tình trạng hôn nhân",
    "Đăng ký tạm trú",
    "Cấp bản sao trích lục hộ tịch",
    "Chứng thực hợp đồng, giao dịch liên quan đến nhà ở",
    "Đăng ký biến động quyền sử dụng đất",
    "Đăng ký hộ kinh doanh",
    "Đăng ký thay đổi, cải chính, bổ sung hộ tịch",
    "Đăng ký nhận cha, mẹ, con",
    "Đăng ký lại khai sinh",
    "Liên thông đăng ký khai sinh, thường trú, cấp thẻ bảo hiểm y tế cho trẻ em dưới 6 tuổi",
    "Liên thông đăng ký khai tử, xóa đăng ký thường trú, hưởng chế độ tử tuất",
    "Cấp giấy phép xây dựng nhà ở riêng lẻ",
    "Đăng ký đất đai, tài sản gắn liền với đất lần đầu",
    "Đăng ký thay đổi nội dung đăng ký hộ kinh doanh",
    "Tạm ngừng kinh doanh hộ kinh doanh",
    "Chấm dứt hoạt động hộ kinh doanh",
    "Trợ cấp xã hội hằng tháng",
    "Hỗ trợ chi phí mai táng",
    "Xác nhận hộ nghèo, hộ cận nghèo",
    "Đăng ký giám hộ",
    "Đăng ký chấm dứt giám hộ",
    "Đăng ký lại kết hôn",
    "Đăng ký lại khai tử",
    "Khai báo tạm vắng",
    "Xóa đăng ký thường trú",
    "Tách hộ",
    "Điều chỉnh thông tin trong Cơ sở dữ liệu về cư trú",
    "Hòa giải tranh chấp đất đai",
    "Gia hạn giấy phép xây dựng",
    "Cấp giấy phép kinh doanh bán lẻ sản phẩm rượu",
    "Cấp giấy phép kinh doanh bán lẻ sản phẩm thuốc lá",
    "Công nhận danh hiệu gia đình văn hóa",
    "Đăng ký hoạt động thư viện tư nhân",
    "Chuyển trường đối với học sinh tiểu học",
    "Chuyển trường đối với học sinh trung học cơ sở",
    "Xét tuyển sinh vào trung học cơ sở",
    "Hỗ trợ khôi phục sản xuất vùng bị thiệt hại do thiên tai",
    "Xác nhận người có công với cách mạng",
    "Giải quyết chế độ mai táng phí đối với cựu chiến binh",
    "Đăng ký nuôi con nuôi trong nước",
    "Đăng ký khai sinh có yếu tố nước ngoài",
    "Đăng ký kết hôn có yếu tố nước ngoài",
    "Đăng ký khai tử có yếu tố nước ngoài",
    "Ghi vào sổ hộ tịch việc hộ tịch đã giải quyết ở nước ngoài",
    "Chứng thực di chúc",
    "Chứng thực văn bản thỏa thuận phân chia di sản",
    "Chứng thực văn bản khai nhận di sản",
    "Cấp giấy xác nhận thông tin về cư trú",
    "Thông báo thành lập tổ hợp tác",
    "Đăng ký tổ chức lễ hội",
    "Thông báo tổ chức lễ hội",
    "Hỗ trợ người lao động không có giao kết hợp đồng lao động",
    "Đăng ký kế hoạch bảo vệ môi trường",
    "Cấp giấy chứng nhận đủ điều kiện an toàn thực phẩm",
};
#define N_COMMUNE_PROC_NAMES (sizeof(commune_proc_names) / sizeof(commune_proc_names[0]))

static const char *const department_proc_names[] = {
    "Cấp phiếu lý lịch tư pháp",
    "Cấp giấy chứng nhận quyền sử dụng đất, quyền sở hữu nhà ở",
    "Cấp giấy phép xây dựng",
    "Đăng ký thành lập doanh nghiệp",
    "Cấp chứng chỉ hành nghề khám bệnh, chữa bệnh",
    "Cấp giấy phép lao động cho người lao động nước ngoài",
    "Cấp đổi giấy phép lái xe",
    "Cấp giấy phép môi trường",
    "Cấp chứng chỉ hành nghề hoạt động xây dựng",
    "Thẩm định báo cáo nghiên cứu khả thi đầu tư xây dựng",
    "Cấp giấy chứng nhận đủ điều kiện kinh doanh dược",
    "Cấp giấy phép hoạt động cơ sở khám bệnh, chữa bệnh",
    "Công nhận trường đạt chuẩn quốc gia",
    "Cấp phép hoạt động giáo dục kỹ năng sống",
    "Cấp giấy chứng nhận đăng ký hoạt động khoa học và công nghệ",
    "Cấp giấy phép tổ chức biểu diễn nghệ thuật",
    "Cấp giấy phép kinh doanh lữ hành nội địa",
    "Đăng ký thay đổi nội dung đăng ký doanh nghiệp",
    "Cấp giấy phép khai thác tài nguyên nước",
    "Cấp giấy phép thăm dò khoáng sản",
    "Giao đất, cho thuê đất",
    "Chuyển mục đích sử dụng đất",
    "Cấp giấy phép hoạt động điện lực",
    "Cấp giấy chứng nhận đủ điều kiện sản xuất hóa chất",
    "Cấp giấy phép sử dụng vật liệu nổ công nghiệp",
    "Cấp giấy phép bán buôn sản phẩm rượu",
    "Thẩm định thiết kế xây dựng triển khai sau thiết kế cơ sở",
    "Cấp chứng chỉ hành nghề dược",
    "Cấp giấy phép hoạt động trong lĩnh vực y tế",
    "Cấp giấy phép thành lập hội",
    "Công nhận ban vận động thành lập hội",
    "Cấp giấy phép tổ chức hội nghị, hội thảo quốc tế",
    "Cấp giấy chứng nhận đăng ký đầu tư",
    "Điều chỉnh giấy chứng nhận đăng ký đầu tư",
    "Cấp giấy xác nhận ưu đãi dự án sản xuất sản phẩm công nghiệp hỗ trợ",
    "Đăng ký hoạt động tín ngưỡng",
    "Cấp thẻ căn cước",
    "Cấp giấy phép kinh doanh dịch vụ bảo vệ",
    "Đăng ký con dấu",
    "Cấp giấy chứng nhận đủ điều kiện về an ninh, trật tự",
    "Cấp chứng chỉ hành nghề luật sư",
    "Đăng ký hoạt động văn phòng công chứng",
    "Cấp giấy phép xuất bản bản tin",
    "Cấp giấy phép hoạt động ngoại hối",
    "Đăng ký mã số thuế",
    "Giải quyết hưởng bảo hiểm xã hội một lần",
    "Cấp lại sổ bảo hiểm xã hội",
    "Đăng ký nghĩa vụ quân sự",
};
#define N_DEPARTMENT_PROC_NAMES (sizeof(department_proc_names) / sizeof(department_proc_names[0]))

/* Procedures per department, and offered by every commune. */
#define PROCS_PER_DEPARTMENT 12
#define COMMUNE_PROCS        60

static const int64_t fee_amounts_dept[] = {50000,  100000,  150000,  200000, 300000,
                                           500000, 1000000, 1500000, 3000000};
static const int64_t fee_amounts_commune[] = {2000, 5000, 8000, 10000, 20000, 30000, 50000};

/* ---- small helpers ---------------------------------------------------------- */

static void set_err(char *errstr, size_t size, const char *msg)
{
    if (errstr && size)
        snprintf(errstr, size, "%s", msg);
}

static double rng_gauss(sim_rng *r)
{
    double u1 = sim_rng_unit(r), u2 = sim_rng_unit(r);
    if (u1 < 1e-300)
        u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* A Poisson count; normal approximation above 50. */
static long rng_poisson(sim_rng *r, double lambda)
{
    if (lambda <= 0)
        return 0;
    if (lambda > 50) {
        double v = lambda + sqrt(lambda) * rng_gauss(r);
        return v < 0 ? 0 : (long)(v + 0.5);
    }
    double l = exp(-lambda), p = 1.0;
    long k = 0;
    do {
        k++;
        p *= sim_rng_unit(r);
    } while (p > l);
    return k - 1;
}

int sim_pick_cum(const double *cum, int n, double u)
{
    double x = u * cum[n - 1];
    int lo = 0, hi = n - 1;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (cum[mid] > x)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

/* Draw an instant of `day` from a half-hour profile. */
static int64_t pick_time(sim_rng *r, const double *prof, int32_t day)
{
    double total = 0;
    for (int i = 0; i < 48; i++)
        total += prof[i];
    double x = sim_rng_unit(r) * total;
    int bin = 0;
    for (; bin < 47; bin++) {
        if (x < prof[bin])
            break;
        x -= prof[bin];
    }
    return chiso_day_start(day) + bin * 1800 + sim_rng_below(r, 1800);
}

static bool is_workday(int32_t day)
{
    return chiso_day_weekday(day) < 5;
}

/* The k-th working day after `day` (k = 0: `day` itself if it is one, else
 * the next working day). Public holidays are not modelled. */
static int32_t add_workdays(int32_t day, int k)
{
    while (!is_workday(day))
        day++;
    while (k > 0) {
        day++;
        if (is_workday(day))
            k--;
    }
    return day;
}

#define T_0730 (7 * 3600 + 1800)
#define T_1130 (11 * 3600 + 1800)
#define T_1330 (13 * 3600 + 1800)
#define T_1700 (17 * 3600)

/* `t` if the office is open then (working day, 7:30-11:30 or 13:30-17:00),
 * else the next opening. */
static int64_t next_office(int64_t t)
{
    int32_t day = chiso_local_day(t);
    int64_t s = t - chiso_day_start(day);
    if (is_workday(day)) {
        if (s < T_0730)
            return chiso_day_start(day) + T_0730;
        if (s < T_1130)
            return t;
        if (s < T_1330)
            return chiso_day_start(day) + T_1330;
        if (s < T_1700)
            return t;
    }
    return chiso_day_start(add_workdays(day + 1, 0)) + T_0730;
}

/* An office-hours instant on `day`: uniform over 8:00-11:30 and 13:30-16:45. */
static int64_t office_instant(sim_rng *r, int32_t day)
{
    int64_t s = sim_rng_range(r, 0, (T_1130 - 8 * 3600) + (16 * 3600 + 2700 - T_1330) - 1);
    if (s < T_1130 - 8 * 3600)
        s += 8 * 3600;
    else
        s += T_1330 - (T_1130 - 8 * 3600);
    return chiso_day_start(day) + s;
}

/* ---- the province ------------------------------------------------------------ */

static void make_unit(sim_unit *u, const char *code, const char *name, chiso_unit_kind kind,
                      const char *parent)
{
    memset(u, 0, sizeof(*u));
    snprintf(u->rec.unit, sizeof(u->rec.unit), "%s", code);
    snprintf(u->rec.name, sizeof(u->rec.name), "%s", name);
    u->rec.kind = kind;
    snprintf(u->rec.parent, sizeof(u->rec.parent), "%s", parent ? parent : "");
    u->rec.e_copy_certification = kind != CHISO_UNIT_DEPARTMENT;
    u->rec.target_full_process = 0.70;
}

static void make_procedure(sim_rng *r, sim_procedure *p, int index, bool commune, int rank,
                           int owner)
{
    memset(p, 0, sizeof(*p));
    /* National codes: 1.xxxxxx for provincial procedures, 2.xxxxxx for
     * commune ones; disjoint ranges keep them unique. */
    snprintf(p->code, sizeof(p->code), "%d.%06d", commune ? 2 : 1,
             (commune ? 100 : 1000) + index * 13 + (int)sim_rng_below(r, 13));
    double u = sim_rng_unit(r);
    if (rank < 5)
        p->level = SIM_LEVEL_FULL; /* the busiest procedures are offered full-process */
    else if (u < (commune ? 0.60 : 0.50))
        p->level = SIM_LEVEL_FULL;
    else if (u < 0.96)
        p->level = SIM_LEVEL_PARTIAL;
    else
        p->level = SIM_LEVEL_NONE;
    p->fee = sim_rng_chance(r, commune ? 0.35 : 0.45);
    if (p->fee) {
        if (commune)
            p->amount = fee_amounts_commune[sim_rng_below(r, 7)];
        else
            p->amount = fee_amounts_dept[sim_rng_below(r, 9)];
    }
    p->due_days = commune ? (int)sim_rng_range(r, 1, 5) : (int)sim_rng_range(r, 3, 15);
    p->kinds = commune ? SIM_KIND_COMMUNE : SIM_KIND_DEPARTMENT;
    p->owner = owner;
    p->citizen = commune || sim_rng_chance(r, 0.5);
}

sim_province *sim_province_new(const sim_params *params, char *errstr, size_t errstr_size)
{
    sim_province *pv = NULL;
    sim_rng r;
    int nd = params->departments, nc = params->communes;
    if (nd < 0 || nc < 0 || nd + nc < 1 || nd > 999 || nc > 9999) {
        set_err(errstr, errstr_size,
                "need 0..999 departments and 0..9999 communes, at least one unit");
        return NULL;
    }
    if (!(params->dossiers_per_day >= 0)) {
        set_err(errstr, errstr_size, "dossiers-per-day must be >= 0");
        return NULL;
    }
    pv = calloc(1, sizeof(*pv));
    if (!pv)
        goto oom;
    pv->params = *params;
    pv->nunits = 1 + nd + nc;
    pv->nprocs = nd * PROCS_PER_DEPARTMENT + (nc ? COMMUNE_PROCS : 0);
    pv->units = calloc((size_t)pv->nunits, sizeof(*pv->units));
    pv->unit_cum = calloc((size_t)pv->nunits, sizeof(double));
    pv->procs = calloc((size_t)pv->nprocs + 1, sizeof(*pv->procs));
    pv->proc_list = calloc((size_t)pv->nprocs + (size_t)nc * COMMUNE_PROCS + 1, sizeof(int));
    pv->proc_cum = calloc((size_t)pv->nprocs + (size_t)nc * COMMUNE_PROCS + 1, sizeof(double));
    if (!pv->units || !pv->unit_cum || !pv->procs || !pv->proc_list || !pv->proc_cum)
        goto oom;

    sim_rng_seed(&r, sim_seed_mix(params->seed, STREAM_PROVINCE, 0));
    const char *prov = "000.00.00.H31";
    make_unit(&pv->units[0], prov, "Tỉnh Hưng Yên", CHISO_UNIT_PROVINCE, NULL);

    char code[CHISO_CODE_MAX + 1], name[CHISO_NAME_MAX + 1];
    double wsum_d = 0, wsum_c = 0;
    for (int i = 0; i < nd; i++) {
        sim_unit *u = &pv->units[1 + i];
        snprintf(code, sizeof(code), "000.00.%02d.H31", i + 1);
        if ((size_t)i < N_DEPARTMENT_NAMES)
            snprintf(name, sizeof(name), "%s", department_names[i]);
        else
            snprintf(name, sizeof(name), "Đơn vị cấp tỉnh số %d", i + 1);
        make_unit(u, code, name, CHISO_UNIT_DEPARTMENT, prov);
        u->share = pow(i + 1.0, -0.8) * exp(0.3 * rng_gauss(&r));
        wsum_d += u->share;
        double q = sim_rng_unit(&r);
        u->p_late = LATE_DEPARTMENT * 3.0 * q * q;
    }
    for (int i = 0; i < nc; i++) {
        sim_unit *u = &pv->units[1 + nd + i];
        snprintf(code, sizeof(code), "000.%02d.%02d.H31", 31 + i / 99, i % 99 + 1);
        if ((size_t)i < N_COMMUNE_NAMES)
            snprintf(name, sizeof(name), "%s", commune_names[i]);
        else
            snprintf(name, sizeof(name), "%s %d", commune_names[i % N_COMMUNE_NAMES],
                     (int)(i / N_COMMUNE_NAMES) + 1);
        make_unit(u, code, name, CHISO_UNIT_COMMUNE, prov);
        bool ward = strncmp(name, "Phường", strlen("Phường")) == 0;
        u->share = (ward ? 2.0 : 1.0) * exp(0.45 * rng_gauss(&r));
        wsum_c += u->share;
        double q = sim_rng_unit(&r);
        u->p_late = LATE_COMMUNE * 3.0 * q * q;
    }
    /* Shares: 6.5% / 93.5% when both kinds exist. */
    double sd = nd && nc ? SHARE_DEPARTMENTS : (nd ? 1.0 : 0.0);
    double acc = 0;
    for (int i = 1; i < pv->nunits; i++) {
        sim_unit *u = &pv->units[i];
        if (u->rec.kind == CHISO_UNIT_DEPARTMENT)
            u->share = sd * u->share / wsum_d;
        else
            u->share = (1.0 - sd) * u->share / wsum_c;
        acc += u->share;
        pv->unit_cum[i] = acc;
    }

    /* Procedures: PROCS_PER_DEPARTMENT owned by each department, then the
     * commune list shared by every commune. Popularity is Zipf by rank. */
    int np = 0, nl = 0;
    for (int i = 0; i < nd; i++) {
        sim_unit *u = &pv->units[1 + i];
        u->proc_first = nl;
        u->proc_count = PROCS_PER_DEPARTMENT;
        double c = 0;
        for (int k = 0; k < PROCS_PER_DEPARTMENT; k++) {
            make_procedure(&r, &pv->procs[np], np, false, k, 1 + i);
            c += pow(k + 1.0, -0.9);
            pv->proc_list[nl] = np;
            pv->proc_cum[nl] = c;
            np++;
            nl++;
        }
    }
    if (nc) {
        int first = np;
        for (int k = 0; k < COMMUNE_PROCS; k++)
            make_procedure(&r, &pv->procs[np++], k, true, k, -1);
        for (int i = 0; i < nc; i++) {
            sim_unit *u = &pv->units[1 + nd + i];
            u->proc_first = nl;
            u->proc_count = COMMUNE_PROCS;
            double c = 0;
            for (int k = 0; k < COMMUNE_PROCS; k++) {
                c += pow(k + 1.0, -1.0);
                pv->proc_list[nl] = first + k;
                pv->proc_cum[nl] = c;
                nl++;
            }
        }
    }

    /* Names and the catalog-only attributes, from their own stream so that
     * the draws above (and the dossiers) do not depend on them. */
    sim_rng rc;
    sim_rng_seed(&rc, sim_seed_mix(params->seed, STREAM_CATALOG, 0));
    for (int i = 0; i < np; i++) {
        sim_procedure *p = &pv->procs[i];
        bool commune = p->owner < 0;
        if (commune) {
            int k = i - nd * PROCS_PER_DEPARTMENT;
            snprintf(p->name, sizeof(p->name), "%s", commune_proc_names[k % N_COMMUNE_PROC_NAMES]);
        } else if ((size_t)i < N_DEPARTMENT_PROC_NAMES) {
            snprintf(p->name, sizeof(p->name), "%s", department_proc_names[i]);
        } else {
            snprintf(p->name, sizeof(p->name), "%.150s (%.100s)",
                     department_proc_names[i % N_DEPARTMENT_PROC_NAMES],
                     pv->units[p->owner].rec.name);
        }
        /* DOMAIN.md: 966 procedures eligible for full-process, 907 offered. */
        p->eligible_full = p->level == SIM_LEVEL_FULL || sim_rng_chance(&rc, 0.12);
        p->paper_result_required = sim_rng_chance(&rc, 0.15);
        p->population_connected = p->citizen && sim_rng_chance(&rc, 0.9);
        p->announced_on_time = sim_rng_chance(&rc, 0.97);
        p->published_on_time = sim_rng_chance(&rc, 0.95);
        p->published_complete = sim_rng_chance(&rc, 0.98);
        double q = sim_rng_unit(&rc);
        p->p_supplement = (commune ? SUPPLEMENT_COMMUNE : SUPPLEMENT_DEPARTMENT) * 2.0 * q;
    }

    /* P(online | the procedure is offered online) so that the unit's online
     * share of dossiers meets its kind's target. */
    for (int i = 1; i < pv->nunits; i++) {
        sim_unit *u = &pv->units[i];
        double capable = 0, total = 0, prev = 0;
        for (int k = 0; k < u->proc_count; k++) {
            double w = pv->proc_cum[u->proc_first + k] - prev;
            prev = pv->proc_cum[u->proc_first + k];
            total += w;
            if (pv->procs[pv->proc_list[u->proc_first + k]].level != SIM_LEVEL_NONE)
                capable += w;
        }
        double target = u->rec.kind == CHISO_UNIT_DEPARTMENT ? ONLINE_DEPARTMENT : ONLINE_COMMUNE;
        /* Share of submissions online so that the share of *received*
         * dossiers is the target: online ones are thinned less on weekends
         * and not accepted more often. */
        double kon = (1 - P_NOT_ACCEPTED_ON) * (5.0 + dow_online[5] + dow_online[6]);
        double koff = (1 - P_NOT_ACCEPTED_OFF) * (5.0 + dow_offline[5] + dow_offline[6]);
        double t = target * koff / (kon * (1 - target) + target * koff);
        u->p_online = capable > 0 ? t * total / capable : 0;
        if (u->p_online > 1)
            u->p_online = 1;
    }
    return pv;
oom:
    set_err(errstr, errstr_size, "out of memory");
    sim_province_free(pv);
    return NULL;
}

void sim_province_free(sim_province *pv)
{
    if (!pv)
        return;
    free(pv->units);
    free(pv->unit_cum);
    free(pv->procs);
    free(pv->proc_list);
    free(pv->proc_cum);
    free(pv);
}

chiso_service_level sim_level_chiso(sim_level level)
{
    switch (level) {
    case SIM_LEVEL_FULL:
        return CHISO_LEVEL_FULL;
    case SIM_LEVEL_PARTIAL:
        return CHISO_LEVEL_PARTIAL;
    case SIM_LEVEL_NONE:
        return CHISO_LEVEL_NONE;
    }
    return CHISO_LEVEL_UNKNOWN;
}

int sim_procedure_record(const sim_province *pv, int i, chiso_procedure *out)
{
    const sim_procedure *p = &pv->procs[i];
    memset(out, 0, sizeof(*out));
    snprintf(out->procedure, sizeof(out->procedure), "%s", p->code);
    snprintf(out->name, sizeof(out->name), "%s", p->name);
    out->level = sim_level_chiso(p->level);
    out->eligible_full = p->eligible_full;
    out->fee = p->fee;
    /* DOMAIN.md: every fee-bearing procedure offered online is integrated. */
    out->payment_integrated = p->fee && p->level != SIM_LEVEL_NONE;
    out->paper_result_required = p->paper_result_required;
    out->citizen_subject = p->citizen;
    out->population_data_connected = p->population_connected;
    out->announced_on_time = p->announced_on_time;
    out->published_on_time = p->published_on_time;
    out->published_complete = p->published_complete;

    int first = 0, n = 0;
    if (p->owner >= 0) {
        first = p->owner;
        n = 1;
    } else {
        int nd = pv->params.departments, nc = pv->params.communes;
        if (nc <= CHISO_PROCEDURE_UNITS_MAX) {
            first = 1 + nd;
            n = nc;
        }
    }
    if (n > 0) {
        out->units = calloc((size_t)n, sizeof(*out->units));
        if (!out->units)
            return CHISO_ENOMEM;
        for (int k = 0; k < n; k++)
            memcpy(out->units[k], pv->units[first + k].rec.unit, sizeof(out->units[k]));
        out->nunits = n;
    }
    return 0;
}

/* ---- arrivals ------------------------------------------------------------------ */

static int cmp_arrival(const void *a, const void *b)
{
    const sim_arrival *x = a, *y = b;
    if (x->at != y->at)
        return x->at < y->at ? -1 : 1;
    return x->gen_index < y->gen_index ? -1 : (x->gen_index > y->gen_index);
}

long sim_arrivals_day(const sim_province *pv, int32_t day, sim_arrival **out)
{
    sim_rng r;
    int wd = chiso_day_weekday(day);
    *out = NULL;
    if (pv->nunits < 2)
        return 0;
    sim_rng_seed(&r, sim_seed_mix(pv->params.seed, STREAM_DAY, (uint64_t)(int64_t)day));

    /* Candidates at the weekday rate, thinned by the day-of-week factor of
     * their channel; the weekday rate is scaled so that the average over a
     * week is dossiers_per_day (assuming ~90% online). */
    double on = 0.9;
    double week =
        5.0 + on * (dow_online[5] + dow_online[6]) + (1 - on) * (dow_offline[5] + dow_offline[6]);
    long n = rng_poisson(&r, pv->params.dossiers_per_day * 7.0 / week);
    if (n <= 0)
        return 0;
    sim_arrival *a = malloc((size_t)n * sizeof(*a));
    if (!a)
        return -1;
    long k = 0;
    for (long i = 0; i < n; i++) {
        int ui = sim_pick_cum(pv->unit_cum + 1, pv->nunits - 1, sim_rng_unit(&r)) + 1;
        const sim_unit *u = &pv->units[ui];
        int pi = pv->proc_list[u->proc_first + sim_pick_cum(pv->proc_cum + u->proc_first,
                                                            u->proc_count, sim_rng_unit(&r))];
        const sim_procedure *p = &pv->procs[pi];
        chiso_channel ch;
        if (p->level != SIM_LEVEL_NONE && sim_rng_chance(&r, u->p_online))
            ch = CHISO_CHANNEL_ONLINE;
        else if (sim_rng_chance(&r, P_POSTAL_OF_OFFLINE))
            ch = CHISO_CHANNEL_POSTAL;
        else
            ch = CHISO_CHANNEL_DIRECT;
        double f = ch == CHISO_CHANNEL_ONLINE ? dow_online[wd] : dow_offline[wd];
        if (!sim_rng_chance(&r, f)) {
            (void)sim_rng_next(&r); /* keep the stream's shape independent of thinning */
            continue;
        }
        const double *prof = ch == CHISO_CHANNEL_ONLINE ? prof_online
                             : wd == 5                  ? prof_direct_sat
                                                        : prof_direct;
        a[k].at = pick_time(&r, prof, day);
        a[k].gen_index = (uint32_t)i;
        a[k].unit = (uint16_t)ui;
        a[k].proc = (uint16_t)pi;
        a[k].channel = (uint8_t)ch;
        k++;
    }
    if (k == 0) {
        free(a);
        return 0;
    }
    qsort(a, (size_t)k, sizeof(*a), cmp_arrival);
    *out = a;
    return k;
}

/* ---- one dossier ----------------------------------------------------------------- */

/* Why an online dossier ends partial (Decision 1042 conditions). */
typedef enum partial_reason {
    PR_NONE = 0,       /* full-process */
    PR_REQUIREMENT,    /* in person / paper / field verification */
    PR_GATEWAY,        /* fee paid through the provincial gateway */
    PR_CASH,           /* fee paid at the counter */
    PR_NO_E_RESULT,    /* paper result only */
    PR_COUNTER,        /* result picked up at the counter */
    PR_POSTAL_NO_COPY, /* result by post without an online result */
} partial_reason;

typedef struct life {
    sim_ev *out;
    int n;
    sim_ev base;
} life;

static void put(life *l, chiso_event_type type, int64_t at, int64_t x, uint8_t p1, uint8_t flags)
{
    if (l->n >= SIM_EV_MAX)
        return;
    sim_ev *e = &l->out[l->n++];
    *e = l->base;
    e->type = (uint8_t)type;
    e->at = at;
    e->x = x;
    e->p1 = p1;
    e->flags = flags;
}

static partial_reason pick_partial_reason(sim_rng *r, const sim_procedure *p)
{
    double u = sim_rng_unit(r);
    if (p->level == SIM_LEVEL_PARTIAL) {
        /* a level-3 service always needs something offline */
        if (u < 0.70)
            return PR_REQUIREMENT;
        if (u < 0.90)
            return PR_COUNTER;
        return PR_NO_E_RESULT;
    }
    if (p->fee && u < 0.30)
        return sim_rng_chance(r, 0.8) ? PR_GATEWAY : PR_CASH;
    u = sim_rng_unit(r);
    if (u < 0.35)
        return PR_REQUIREMENT;
    if (u < 0.65)
        return PR_COUNTER;
    if (u < 0.85)
        return PR_NO_E_RESULT;
    return PR_POSTAL_NO_COPY;
}

/* The supplement requests of a dossier processed from `tproc` and due to be
 * resolved at `tres`, each with its answer: one cycle mostly, two or three
 * rarely. Sets *first_req to the first request and *last_answer to the
 * last answer. Returns 1 when the first request is never answered (no
 * answer emitted), 0 otherwise. */
static int supplements(sim_rng *rx, int64_t tproc, int64_t tres, life *l, int64_t *first_req,
                       int64_t *last_answer)
{
    double v = sim_rng_unit(rx);
    bool abandoned = v < P_SUP_ABANDONED;
    int nreq = 1;
    if (!abandoned && v < P_SUP_ABANDONED + P_SUP_MULTI)
        nreq = sim_rng_chance(rx, P_SUP_THREE) ? 3 : 2;
    int64_t t = next_office(tproc + 60 +
                            (int64_t)((double)(tres - tproc) * (0.1 + 0.5 * sim_rng_unit(rx))));
    *first_req = t;
    for (int k = 0; k < nreq; k++) {
        put(l, CHISO_EV_SUPPLEMENT_REQUESTED, t, 0, 0, 0);
        if (abandoned)
            return 1;
        /* The applicant answers the same day sometimes, else 1..12 days
         * later (online, at any hour). */
        int64_t ts;
        if (sim_rng_chance(rx, P_SUP_SAME_DAY)) {
            ts = t + sim_rng_range(rx, 600, 3 * 3600);
        } else {
            int w = 1;
            while (w < 12 && sim_rng_chance(rx, 0.6))
                w++;
            ts = pick_time(rx, prof_online, chiso_local_day(t) + w);
        }
        put(l, CHISO_EV_SUPPLEMENT_RECEIVED, ts, 0, 0, 0);
        *last_answer = ts;
        t = next_office(ts + sim_rng_range(rx, 3600, 3 * 86400));
    }
    return 0;
}

int sim_dossier_generate(const sim_province *pv, const sim_arrival *a, int32_t day, uint32_t dseq,
                         uint32_t serial, int64_t window_end, sim_ev *out)
{
    sim_rng r, rx;
    const sim_unit *u = &pv->units[a->unit];
    const sim_procedure *p = &pv->procs[a->proc];
    bool online = a->channel == CHISO_CHANNEL_ONLINE;
    life l = {.out = out, .n = 0};
    l.base.serial = serial;
    l.base.day0 = day;
    l.base.dseq = dseq;
    l.base.unit = a->unit;
    l.base.proc = a->proc;

    sim_rng_seed(&r, sim_seed_mix(pv->params.seed, STREAM_DOSSIER,
                                  ((uint64_t)(uint32_t)day << 32) | a->gen_index));
    /* Draws added after the first version (supplements, paper copies) come
     * from a second stream, so the main stream keeps its shape. */
    sim_rng_seed(&rx, sim_seed_mix(pv->params.seed, STREAM_EXTRA,
                                   ((uint64_t)(uint32_t)day << 32) | a->gen_index));
    int64_t t0 = a->at;
    put(&l, CHISO_EV_SUBMITTED, t0, 0, a->channel, 0);

    /* Not accepted at reception: no `received`, so no counters. */
    if (sim_rng_chance(&r, online ? P_NOT_ACCEPTED_ON : P_NOT_ACCEPTED_OFF)) {
        int64_t t = online ? next_office(t0 + sim_rng_range(&r, 600, 4 * 3600))
                           : t0 + sim_rng_range(&r, 120, 1200);
        put(&l, CHISO_EV_NOT_ACCEPTED, t, 0, 0, 0);
        if (sim_rng_chance(&r, P_SYNCED))
            put(&l, CHISO_EV_SYNCED, t + sim_rng_range(&r, 60, 2700), 0, 0, 0);
        goto done;
    }

    /* Reception: online dossiers wait for office hours, counter ones are
     * received on the spot. */
    int64_t t1 = online
                     ? next_office(t0 + sim_rng_range(&r, 120, 5400)) + sim_rng_range(&r, 0, 2400)
                     : t0 + sim_rng_range(&r, 60, 900);
    int32_t rday = chiso_local_day(t1);
    int32_t dday = add_workdays(rday + 1, p->due_days - 1);
    int64_t due_at = chiso_day_start(dday) + T_1700;
    uint8_t rf = 0;
    if (sim_rng_chance(&r, online ? 0.995 : 0.95))
        rf |= SIM_F_DIGITIZED;
    if (sim_rng_chance(&r, 0.35))
        rf |= SIM_F_REUSED;
    if ((rf & SIM_F_DIGITIZED) && sim_rng_chance(&r, 0.45))
        rf |= SIM_F_FROM_STORE;
    if (p->citizen && sim_rng_chance(&r, 0.7))
        rf |= SIM_F_POPULATION;
    put(&l, CHISO_EV_RECEIVED, t1, due_at, 0, rf);
    if (sim_rng_chance(&r, P_SYNCED))
        put(&l, CHISO_EV_SYNCED, t1 + sim_rng_range(&r, 60, 2700), 0, 0, 0);

    /* The path: full-process or why partial. */
    partial_reason why = PR_NONE;
    if (online && (p->level == SIM_LEVEL_PARTIAL || !sim_rng_chance(&r, FULL_GIVEN_LEVEL4)))
        why = pick_partial_reason(&r, p);

    /* When it is resolved: on time somewhere up to the due day (most well
     * before it), or late by a few working days. */
    int32_t resday;
    if (sim_rng_chance(&r, u->p_late)) {
        int extra = 1;
        while (extra < 10 && sim_rng_chance(&r, 0.5))
            extra++;
        resday = add_workdays(dday, extra);
    } else {
        double q = sim_rng_unit(&r);
        int span = (int)(q * q * (p->due_days + 1)); /* 0..due_days, skewed early */
        if (span > p->due_days)
            span = p->due_days;
        resday = add_workdays(rday, span);
    }
    int64_t tres = office_instant(&r, resday);
    if (tres < t1 + 1800)
        tres = t1 + sim_rng_range(&r, 1800, 5400);
    int64_t dt = tres - t1;

    /* Processing, fee and requirements happen between reception and the
     * resolution, in that order. */
    int64_t tproc = t1 + 60 + (int64_t)(dt * (0.02 + 0.08 * sim_rng_unit(&r)));
    put(&l, CHISO_EV_PROCESSING, tproc, 0, 0, 0);

    /* Withdrawn or stopped instead of resolved. */
    double ux = sim_rng_unit(&r);
    if (ux < P_WITHDRAWN + P_STOPPED) {
        int64_t t = tproc + (int64_t)((tres - tproc) * (0.2 + 0.8 * sim_rng_unit(&r)));
        put(&l, ux < P_WITHDRAWN ? CHISO_EV_WITHDRAWN : CHISO_EV_STOPPED, t, 0, 0, 0);
        goto done;
    }

    /* Supplement cycles: they move the resolution later by the days spent
     * waiting, so a dossier on time stays on time (docs/ontime.md excludes
     * those days); two or more requests make it late; a request never
     * answered ends in `stopped` or `withdrawn` weeks later. */
    if (sim_rng_chance(&rx, p->p_supplement)) {
        int64_t tq = 0, ts = 0;
        if (supplements(&rx, tproc, tres, &l, &tq, &ts) != 0) {
            int64_t t = next_office(tq + sim_rng_range(&rx, 15, 30) * 86400);
            put(&l, sim_rng_chance(&rx, 0.7) ? CHISO_EV_STOPPED : CHISO_EV_WITHDRAWN, t, 0, 0, 0);
            goto done;
        }
        /* Resolve `wait` days later than planned, on a working day no later
         * than that (or on the answer's day itself, even a weekend, when
         * no working day fits), so the plan's on-time status holds. */
        int32_t sday = chiso_local_day(ts);
        int32_t lim = resday + (sday - chiso_local_day(tq));
        if (lim < sday)
            lim = sday;
        int32_t nd = lim;
        while (!is_workday(nd) && nd > sday)
            nd--;
        if (!is_workday(nd) && add_workdays(nd, 0) <= lim)
            nd = add_workdays(nd, 0);
        tres = is_workday(nd) ? office_instant(&rx, nd) : ts;
        if (tres <= ts) /* later on the answer's day */
            tres =
                ts + 1 +
                (int64_t)((double)(chiso_day_start(sday + 1) - ts - 2) * 0.5 * sim_rng_unit(&rx));
        dt = tres - t1;
    }

    if (p->fee) {
        int64_t tf = tproc + (int64_t)(dt * (0.01 + 0.05 * sim_rng_unit(&r))) + 30;
        int64_t tp = tf + (int64_t)(dt * (0.05 + 0.3 * sim_rng_unit(&r))) + 30;
        put(&l, CHISO_EV_FEE_REQUESTED, tf, p->amount, 0, 0);
        chiso_pay_method m;
        if (!online)
            m = sim_rng_chance(&r, 0.65) ? CHISO_PAY_CASH : CHISO_PAY_BANK_TRANSFER;
        else if (why == PR_GATEWAY)
            m = CHISO_PAY_PROVINCIAL_GATEWAY;
        else if (why == PR_CASH)
            m = sim_rng_chance(&r, 0.5) ? CHISO_PAY_CASH : CHISO_PAY_BANK_TRANSFER;
        else if (why != PR_NONE && sim_rng_chance(&r, 0.15))
            m = CHISO_PAY_PROVINCIAL_GATEWAY;
        else
            m = CHISO_PAY_DVCQG_PLATFORM;
        put(&l, CHISO_EV_PAID, tp, 0, (uint8_t)m, 0);
    }
    if (why == PR_REQUIREMENT) {
        int64_t t = tproc + (int64_t)((tres - tproc) * (0.3 + 0.4 * sim_rng_unit(&r)));
        double k = sim_rng_unit(&r);
        chiso_requirement_kind kind = k < 0.45   ? CHISO_REQ_PAPER_SUBMISSION
                                      : k < 0.80 ? CHISO_REQ_IN_PERSON
                                                 : CHISO_REQ_FIELD_VERIFICATION;
        put(&l, CHISO_EV_REQUIREMENT, t, 0, (uint8_t)kind, 0);
    }
    /* Resolution. */
    bool e_result;
    if (!online)
        e_result = sim_rng_chance(&r, 0.7);
    else if (why == PR_NO_E_RESULT)
        e_result = false;
    else if (why == PR_NONE)
        e_result = true;
    else
        e_result = sim_rng_chance(&r, 0.9);
    uint8_t ff = e_result ? SIM_F_E_RESULT : 0;
    if (e_result && sim_rng_chance(&r, 0.95))
        ff |= SIM_F_E_SIGNED;
    chiso_outcome oc = sim_rng_chance(&r, P_DENIED) ? CHISO_OUTCOME_DENIED : CHISO_OUTCOME_APPROVED;
    put(&l, CHISO_EV_RESOLVED, tres, 0, (uint8_t)oc, ff);

    /* Return of the result. */
    if (!sim_rng_chance(&r, P_RETURNED))
        goto done;
    chiso_delivery dl;
    bool copy = false;
    if (online) {
        if (why == PR_COUNTER || (!e_result && sim_rng_chance(&r, 0.6))) {
            dl = CHISO_DELIVERY_COUNTER;
            copy = e_result && sim_rng_chance(&rx, 0.25); /* collects a paper copy */
        } else if (why == PR_POSTAL_NO_COPY || !e_result) {
            dl = CHISO_DELIVERY_POSTAL;
        } else if (sim_rng_chance(&r, 0.85)) {
            dl = CHISO_DELIVERY_ONLINE;
            copy = sim_rng_chance(&rx, 0.08); /* a paper copy too, sent by post */
        } else {
            dl = CHISO_DELIVERY_POSTAL;
            copy = true;
        }
    } else {
        dl = sim_rng_chance(&r, 0.85) ? CHISO_DELIVERY_COUNTER : CHISO_DELIVERY_POSTAL;
        copy = dl == CHISO_DELIVERY_POSTAL ? e_result || sim_rng_chance(&rx, 0.5)
                                           : e_result && sim_rng_chance(&rx, 0.2);
    }
    int64_t tret;
    if (dl == CHISO_DELIVERY_ONLINE)
        tret = tres + sim_rng_range(&r, 30, 7200);
    else if (dl == CHISO_DELIVERY_POSTAL)
        tret = tres + sim_rng_range(&r, 86400, 3 * 86400);
    else
        tret = next_office(tres + sim_rng_range(&r, 3600, 3 * 86400));
    put(&l, CHISO_EV_RETURNED, tret, 0, (uint8_t)dl, copy ? SIM_F_PAPER_COPY : 0);

    if (sim_rng_chance(&r, online ? P_RATED_ONLINE : P_RATED_OFFLINE)) {
        bool sat = sim_rng_chance(&r, P_SATISFIED);
        put(&l, CHISO_EV_RATED, tret + sim_rng_range(&r, 300, 3 * 86400), 0, 0,
            sat ? SIM_F_SATISFIED : 0);
    }
    if (sim_rng_chance(&r, P_COMPLAINT))
        put(&l, CHISO_EV_COMPLAINT, tret + sim_rng_range(&r, 600, 5 * 86400), 0, 0, 0);

done:
    /* Time order (stable: the lifecycle order breaks ties), number, cut at
     * the window end. */
    for (int i = 1; i < l.n; i++) {
        sim_ev e = out[i];
        int j = i - 1;
        while (j >= 0 && out[j].at > e.at) {
            out[j + 1] = out[j];
            j--;
        }
        out[j + 1] = e;
    }
    int n = 0;
    for (int i = 0; i < l.n; i++) {
        if (out[i].at >= window_end)
            break;
        out[i].n = (uint8_t)(i + 1);
        n++;
    }
    return n;
}

/* ---- rendering ------------------------------------------------------------------------ */

/* "H31-YYMMDD-NNNNNN", as snprintf would write it (ids are written a few
 * million times a run: printf was a fifth of the simulator's work). */
int sim_dossier_id(const sim_ev *ev, char *buf, size_t size)
{
    chiso_date d = chiso_day_to_date(ev->day0);
    char id[64];
    size_t n = 0;

    memcpy(id, "H31-", 4);
    n = 4;
    n += chiso_put_padded(id + n, d.year % 100, 2);
    n += chiso_put_padded(id + n, d.month, 2);
    n += chiso_put_padded(id + n, d.day, 2);
    id[n++] = '-';
    n += chiso_put_padded(id + n, ev->dseq, 6);
    if (size > 0) {
        size_t k = n < size - 1 ? n : size - 1;
        memcpy(buf, id, k);
        buf[k] = '\0';
    }
    return (int)n;
}

void sim_ev_to_event(const sim_province *pv, const sim_ev *ev, chiso_event *out)
{
    memset(out, 0, sizeof(*out));
    out->type = (chiso_event_type)ev->type;
    int n = sim_dossier_id(ev, out->dossier_id, sizeof(out->dossier_id));
    memcpy(out->event_id, out->dossier_id, (size_t)n);
    out->event_id[n] = '#';
    out->event_id[n + 1 + chiso_put_padded(out->event_id + n + 1, ev->n, 1)] = '\0';
    memcpy(out->unit, pv->units[ev->unit].rec.unit, sizeof(out->unit));
    memcpy(out->procedure, pv->procs[ev->proc].code, sizeof(out->procedure));
    out->at = ev->at;
    switch (out->type) {
    case CHISO_EV_SUBMITTED:
        out->channel = (chiso_channel)ev->p1;
        break;
    case CHISO_EV_RECEIVED:
        out->due_at = ev->x;
        out->digitized = ev->flags & SIM_F_DIGITIZED;
        out->reused_data = ev->flags & SIM_F_REUSED;
        out->from_data_store = ev->flags & SIM_F_FROM_STORE;
        out->population_data = ev->flags & SIM_F_POPULATION;
        break;
    case CHISO_EV_FEE_REQUESTED:
        out->amount = ev->x;
        break;
    case CHISO_EV_PAID:
        out->method = (chiso_pay_method)ev->p1;
        break;
    case CHISO_EV_REQUIREMENT:
        out->kind = (chiso_requirement_kind)ev->p1;
        break;
    case CHISO_EV_RESOLVED:
        out->outcome = (chiso_outcome)ev->p1;
        out->e_result = ev->flags & SIM_F_E_RESULT;
        out->e_signed = ev->flags & SIM_F_E_SIGNED;
        break;
    case CHISO_EV_RETURNED:
        out->delivery = (chiso_delivery)ev->p1;
        out->paper_copy = ev->flags & SIM_F_PAPER_COPY;
        break;
    case CHISO_EV_RATED:
        out->satisfied = ev->flags & SIM_F_SATISFIED;
        break;
    default:
        break;
    }
}
