/*
 * test_sim_bridge.c - the simulator's province as DongBoHoSoMC snapshots and
 * CapNhatTienDoHoSoMC steps (producers/simulate/sim_bridge.h):
 *   - a hand-made dossier (received online, a supplement round, a fee paid
 *     on the platform, resolved with an e-result, returned by post) gives
 *     the expected item at each change, field by field, dates in Vietnam
 *     time, and the expected steps; events that change nothing give
 *     nothing; ended dossiers are freed;
 *   - each quirk option (as9, no_channel, skip, resend, no_rounds,
 *     no_steps) does what it says;
 *   - requests: per unit, at most `batch` items, first snapshots apart
 *     (isUpdating False), a dossier's snapshots in time order, a step after
 *     its snapshot, the Date time, both envelopes;
 *   - the same seed gives the same requests;
 *   - every request of a simulated province passes chiso-bridge's own
 *     parsers (envelope.h, map.h), and, one item per request, the events
 *     the bridge derives from them are exactly the simulator's events that
 *     a snapshot can carry.
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "chiso/common.h"
#include "chiso/event.h"
#include "chiso/strmap.h"
#include "chiso/vntime.h"

#include "check.h"
#include "envelope.h"
#include "map.h"
#include "sim_bridge.h"
#include "sim_model.h"

#define UNIT "000.31.01.H31"
#define PROC "2.000120"

/* ---- helpers ------------------------------------------------------------------------ */

static int64_t at(const char *rfc3339)
{
    int64_t t = 0;
    CHECK_EQ_INT(chiso_time_parse(rfc3339, &t), 0, "test time %s", rfc3339);
    return t;
}

static chiso_event mk(const char *id, chiso_event_type type, const char *when)
{
    chiso_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.type = type;
    snprintf(ev.dossier_id, sizeof(ev.dossier_id), "%s", id);
    snprintf(ev.event_id, sizeof(ev.event_id), "%s#%d", id, (int)type);
    snprintf(ev.unit, sizeof(ev.unit), "%s", UNIT);
    snprintf(ev.procedure, sizeof(ev.procedure), "%s", PROC);
    ev.at = at(when);
    return ev;
}

/* The requests made so far. */
typedef struct reqs {
    sim_bridge_request *r;
    int n, cap;
} reqs;

static void drain(sim_bridge *b, reqs *q)
{
    sim_bridge_request r;
    while (sim_bridge_pop(b, &r)) {
        if (q->n == q->cap) {
            q->cap = q->cap ? 2 * q->cap : 64;
            q->r = realloc(q->r, (size_t)q->cap * sizeof(*q->r));
            if (!q->r)
                abort();
        }
        q->r[q->n++] = r;
    }
}

static void reqs_free(reqs *q)
{
    for (int i = 0; i < q->n; i++)
        free(q->r[i].body);
    free(q->r);
    memset(q, 0, sizeof(*q));
}

/* A string member of an object ("(absent)" when not a string). */
static const char *str(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : "(absent)";
}

/* Feed one event; returns the item (parsed, caller deletes; NULL when none). */
static cJSON *feed(sim_bridge *b, const chiso_event *ev, sim_bridge_change *chg, int want)
{
    int rc = sim_bridge_feed(b, ev, chg);
    CHECK_EQ_INT(rc, want, "feed %s of %s", chiso_event_type_name(ev->type), ev->dossier_id);
    return rc == 1 && chg->item ? cJSON_Parse(chg->item) : NULL;
}

static cJSON *step_of(const sim_bridge_change *chg)
{
    return chg->step ? cJSON_Parse(chg->step) : NULL;
}

/* ---- times -------------------------------------------------------------------------- */

static void test_times(void)
{
    char buf[SIM_BRIDGE_TIME_LEN], http[SIM_BRIDGE_HTTP_DATE_LEN];
    sim_bridge_time(at("2025-06-30T23:30:00Z"), buf);
    CHECK_EQ_STR(buf, "20250701063000");
    sim_bridge_time(at("2025-12-31T23:59:59+07:00"), buf);
    CHECK_EQ_STR(buf, "20251231235959");
    sim_bridge_time(at("2024-02-29T00:00:00+07:00"), buf);
    CHECK_EQ_STR(buf, "20240229000000");
    int64_t back = 0;
    sim_bridge_time(1751338496, buf);
    CHECK(chiso_time_parse_compact(buf, &back) == 0 && back == 1751338496,
          "round trip through the portal's format: %s", buf);
    sim_bridge_http_date(at("2025-07-01T08:00:00+07:00"), http);
    CHECK_EQ_STR(http, "Tue, 01 Jul 2025 01:00:00 GMT");
    sim_bridge_http_date(at("2025-07-01T06:59:59+07:00"), http);
    CHECK_EQ_STR(http, "Mon, 30 Jun 2025 23:59:59 GMT");
    sim_bridge_http_date(0, http);
    CHECK_EQ_STR(http, "Thu, 01 Jan 1970 00:00:00 GMT");
    sim_bridge_http_date(at("2028-02-29T12:34:56Z"), http);
    CHECK_EQ_STR(http, "Tue, 29 Feb 2028 12:34:56 GMT");
}

/* ---- a hand-made dossier -------------------------------------------------------------- */

#define ID_A "H31-250701-000001"

static void test_story(void)
{
    sim_bridge_opts o = {.batch = 1};
    sim_bridge *b = sim_bridge_new(&o, NULL, 1);
    sim_bridge_change chg;
    sim_bridge_stats st;
    cJSON *it, *s, *x;
    reqs q = {0};
    CHECK(b != NULL, "new");
    if (!b)
        return;

    /* submitted online */
    chiso_event e = mk(ID_A, CHISO_EV_SUBMITTED, "2025-07-01T08:00:00+07:00");
    e.channel = CHISO_CHANNEL_ONLINE;
    it = feed(b, &e, &chg, 1);
    CHECK_EQ_STR(str(it, "MaHoSo"), ID_A);
    CHECK_EQ_STR(str(it, "MaTTHC"), PROC);
    CHECK_EQ_STR(str(it, "TrangThaiHoSo"), "1");
    CHECK_EQ_STR(str(it, "KenhThucHien"), "2");
    CHECK_EQ_STR(str(it, "NgayNopHoSo"), "20250701080000");
    CHECK_EQ_STR(str(it, "NgayTiepNhan"), "");
    CHECK_EQ_STR(str(it, "NgayHenTra"), "");
    CHECK_EQ_STR(str(it, "HinhThuc"), "");
    CHECK_EQ_STR(str(it, "DuocThanhToanTrucTuyen"), "0");
    CHECK_EQ_STR(str(it, "HoSoCoThanhPhanSoHoa"), "0");
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(it, "TaiLieuNop")) == 0,
          "no files before reception");
    CHECK(!chg.updating && !chg.skipped && !chg.resent && chg.status == 1, "first snapshot");
    s = step_of(&chg);
    CHECK_EQ_STR(str(s, "MaHoSo"), ID_A);
    CHECK_EQ_STR(str(s, "ThoiDiemXuLy"), "20250701080000");
    CHECK_EQ_STR(str(s, "NoiDungXuLy"), "Nộp hồ sơ trực tuyến");
    CHECK_EQ_STR(str(s, "TrangThai"), "1");
    CHECK(strlen(str(s, "NguoiXuLy")) > 5 && strcmp(str(s, "NguoiXuLy"), "(absent)") != 0,
          "the step names someone");
    CHECK_EQ_STR(str(s, "NguoiXuLy"), str(it, "ChuHoSo")); /* the applicant submits */
    cJSON_Delete(s);
    cJSON_Delete(it);

    /* received: due date and flags */
    e = mk(ID_A, CHISO_EV_RECEIVED, "2025-07-01T09:15:20+07:00");
    e.due_at = at("2025-07-04T17:00:00+07:00");
    e.digitized = true;
    e.population_data = true;
    it = feed(b, &e, &chg, 1);
    CHECK_EQ_STR(str(it, "TrangThaiHoSo"), "2");
    CHECK_EQ_STR(str(it, "NgayNopHoSo"), "20250701080000");
    CHECK_EQ_STR(str(it, "NgayTiepNhan"), "20250701091520");
    CHECK_EQ_STR(str(it, "NgayHenTra"), "20250704170000");
    CHECK_EQ_STR(str(it, "HoSoCoThanhPhanSoHoa"), "1");
    CHECK_EQ_STR(str(it, "TaiKhoanDuocXacThucVoiVNeID"), "1");
    x = cJSON_GetArrayItem(cJSON_GetObjectItem(it, "TaiLieuNop"), 0);
    CHECK_EQ_STR(str(x, "DuocSoHoa"), "1");
    CHECK_EQ_STR(str(x, "DuocTaiSuDung"), "0");
    CHECK_EQ_STR(str(x, "DuocLayTuKhoDMQG"), "0");
    CHECK_EQ_STR(str(x, "IsDeleted"), "False");
    CHECK(chg.updating && chg.status == 2, "an update");
    s = step_of(&chg);
    CHECK_EQ_STR(str(s, "NoiDungXuLy"), "Tiếp nhận hồ sơ");
    CHECK_EQ_STR(str(s, "TrangThai"), "2");
    CHECK_EQ_STR(str(s, "ThoiDiemXuLy"), "20250701091520");
    cJSON_Delete(s);
    cJSON_Delete(it);

    /* nothing a snapshot shows: synced, requirement */
    e = mk(ID_A, CHISO_EV_SYNCED, "2025-07-01T09:30:00+07:00");
    feed(b, &e, &chg, 0);
    CHECK(chg.item == NULL && chg.step == NULL, "synced: nothing");
    e = mk(ID_A, CHISO_EV_PROCESSING, "2025-07-01T10:00:00+07:00");
    it = feed(b, &e, &chg, 1);
    CHECK_EQ_STR(str(it, "TrangThaiHoSo"), "4");
    cJSON_Delete(it);
    e = mk(ID_A, CHISO_EV_PROCESSING, "2025-07-01T10:05:00+07:00");
    feed(b, &e, &chg, 0); /* already 4 */
    e = mk(ID_A, CHISO_EV_REQUIREMENT, "2025-07-01T10:10:00+07:00");
    e.kind = CHISO_REQ_IN_PERSON;
    feed(b, &e, &chg, 0);

    /* a supplement round */
    e = mk(ID_A, CHISO_EV_SUPPLEMENT_REQUESTED, "2025-07-02T14:00:00+07:00");
    it = feed(b, &e, &chg, 1);
    CHECK_EQ_STR(str(it, "TrangThaiHoSo"), "5");
    x = cJSON_GetObjectItem(it, "DanhSachHoSoBoSung");
    CHECK_EQ_INT(cJSON_GetArraySize(x), 1, "one round");
    CHECK_EQ_STR(str(cJSON_GetArrayItem(x, 0), "NgayBoSung"), "20250702140000");
    CHECK_EQ_STR(str(cJSON_GetArrayItem(x, 0), "NgayTiepNhanBoSung"), "");
    s = step_of(&chg);
    CHECK_EQ_STR(str(s, "NoiDungXuLy"), "Yêu cầu bổ sung hồ sơ");
    CHECK_EQ_STR(str(s, "TrangThai"), "5");
    cJSON_Delete(s);
    cJSON_Delete(it);
    e = mk(ID_A, CHISO_EV_SUPPLEMENT_RECEIVED, "2025-07-03T08:30:00+07:00");
    it = feed(b, &e, &chg, 1);
    CHECK_EQ_STR(str(it, "TrangThaiHoSo"), "4");
    x = cJSON_GetArrayItem(cJSON_GetObjectItem(it, "DanhSachHoSoBoSung"), 0);
    CHECK_EQ_STR(str(x, "NgayBoSung"), "20250702140000");
    CHECK_EQ_STR(str(x, "NgayTiepNhanBoSung"), "20250703083000");
    s = step_of(&chg);
    CHECK_EQ_STR(str(s, "NoiDungXuLy"), "Tiếp nhận hồ sơ bổ sung");
    CHECK_EQ_STR(str(s, "TrangThai"), "4");
    cJSON_Delete(s);
    cJSON_Delete(it);

    /* the fee, paid on the platform */
    e = mk(ID_A, CHISO_EV_FEE_REQUESTED, "2025-07-03T09:00:00+07:00");
    e.amount = 100000;
    it = feed(b, &e, &chg, 1);
    CHECK_EQ_STR(str(it, "TrangThaiHoSo"), "6");
    CHECK_EQ_STR(str(cJSON_GetArrayItem(cJSON_GetObjectItem(it, "DanhSachLePhi"), 0), "Gia"),
                 "100000");
    CHECK_EQ_STR(str(it, "DuocThanhToanTrucTuyen"), "0");
    cJSON_Delete(it);
    e = mk(ID_A, CHISO_EV_PAID, "2025-07-03T10:00:00+07:00");
    e.method = CHISO_PAY_DVCQG_PLATFORM;
    it = feed(b, &e, &chg, 1);
    CHECK_EQ_STR(str(it, "TrangThaiHoSo"), "6");
    CHECK_EQ_STR(str(it, "DuocThanhToanTrucTuyen"), "1");
    s = step_of(&chg);
    CHECK_EQ_STR(str(s, "NoiDungXuLy"), "Thanh toán phí, lệ phí trực tuyến");
    CHECK_EQ_STR(str(s, "TrangThai"), "6");
    cJSON_Delete(s);
    cJSON_Delete(it);

    /* resolved with an e-result */
    e = mk(ID_A, CHISO_EV_RESOLVED, "2025-07-04T15:40:00+07:00");
    e.outcome = CHISO_OUTCOME_APPROVED;
    e.e_result = true;
    it = feed(b, &e, &chg, 1);
    CHECK_EQ_STR(str(it, "TrangThaiHoSo"), "9");
    CHECK_EQ_STR(str(it, "NgayKetThucXuLy"), "20250704154000");
    x = cJSON_GetArrayItem(cJSON_GetObjectItem(it, "DanhSachGiayToKetQua"), 0);
    CHECK(strncmp(str(x, "DuongDanTepTinKetQua"), "https://", 8) == 0, "an e-result link: %s",
          str(x, "DuongDanTepTinKetQua"));
    s = step_of(&chg);
    CHECK_EQ_STR(str(s, "NoiDungXuLy"), "Đã xử lý xong, chuyển trả kết quả");
    CHECK_EQ_STR(str(s, "TrangThai"), "9");
    CHECK_EQ_STR(str(s, "ThoiDiemXuLy"), "20250704154000");
    cJSON_Delete(s);
    cJSON_Delete(it);

    /* returned by post: the whole state once more, then freed */
    sim_bridge_stats_get(b, &st);
    CHECK_EQ_INT(st.live, 1, "one dossier kept");
    e = mk(ID_A, CHISO_EV_RETURNED, "2025-07-05T09:05:00+07:00");
    e.delivery = CHISO_DELIVERY_POSTAL;
    it = feed(b, &e, &chg, 1);
    CHECK_EQ_STR(str(it, "TrangThaiHoSo"), "10");
    CHECK_EQ_STR(str(it, "NgayTra"), "20250705090500");
    CHECK_EQ_STR(str(it, "HinhThuc"), "1");
    CHECK_EQ_STR(str(it, "KenhThucHien"), "2");
    CHECK_EQ_STR(str(it, "NgayNopHoSo"), "20250701080000");
    CHECK_EQ_STR(str(it, "NgayTiepNhan"), "20250701091520");
    CHECK_EQ_STR(str(it, "NgayHenTra"), "20250704170000");
    CHECK_EQ_STR(str(it, "NgayKetThucXuLy"), "20250704154000");
    CHECK_EQ_STR(str(it, "DuocThanhToanTrucTuyen"), "1");
    CHECK_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItem(it, "DanhSachHoSoBoSung")), 1, "round");
    CHECK_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItem(it, "DanhSachGiayToKetQua")), 1, "result");
    s = step_of(&chg);
    CHECK_EQ_STR(str(s, "NoiDungXuLy"), "Trả kết quả qua bưu chính");
    CHECK_EQ_STR(str(s, "TrangThai"), "10");
    cJSON_Delete(s);
    cJSON_Delete(it);
    sim_bridge_stats_get(b, &st);
    CHECK_EQ_INT(st.live, 0, "freed once returned");
    CHECK_EQ_INT(st.peak, 1, "peak");
    e = mk(ID_A, CHISO_EV_RATED, "2025-07-06T09:00:00+07:00");
    feed(b, &e, &chg, 0);
    sim_bridge_stats_get(b, &st);
    CHECK_EQ_INT(st.live, 0, "a rating keeps nothing");
    CHECK_EQ_INT(st.changes, 9, "changes");
    CHECK_EQ_INT(st.items, 9, "items");
    CHECK_EQ_INT(st.steps, 9, "steps");

    /* batch 1: each snapshot its own request, then its step */
    drain(b, &q);
    CHECK_EQ_INT(q.n, 18, "18 requests");
    for (int i = 0; i + 1 < q.n; i += 2) {
        CHECK(q.r[i].service == SIM_BRIDGE_DOSSIERS && q.r[i + 1].service == SIM_BRIDGE_PROGRESS,
              "request %d: the snapshot, then the step", i);
        CHECK(q.r[i].at == q.r[i + 1].at, "the same Date for both");
    }
    CHECK_EQ_STR(q.r[0].target, "/DongBoHoSoMC?MaDinhDanhDV=" UNIT "&isUpdating=False");
    CHECK_EQ_STR(q.r[1].target, "/CapNhatTienDoHoSoMC?MaDinhDanhDV=" UNIT);
    CHECK_EQ_STR(q.r[2].target, "/DongBoHoSoMC?MaDinhDanhDV=" UNIT "&isUpdating=True");
    CHECK(q.r[0].at == at("2025-07-01T08:00:00+07:00") && q.r[0].updating == 0 &&
              q.r[2].updating == 1 && q.r[1].updating == -1,
          "the time and isUpdating of the requests");
    cJSON *body = cJSON_Parse(q.r[0].body);
    CHECK(cJSON_IsArray(body) && cJSON_GetArraySize(body) == 1, "a bare array: %s", q.r[0].body);
    cJSON_Delete(body);
    reqs_free(&q);
    sim_bridge_free(b);
}

/* Not accepted (direct, near midnight UTC), withdrawn, stopped, cash. */
static void test_ends(void)
{
    sim_bridge_opts o = {.batch = 20};
    sim_bridge *b = sim_bridge_new(&o, NULL, 1);
    sim_bridge_change chg;
    sim_bridge_stats st;
    cJSON *it, *s;
    if (!b)
        return;
    chiso_event e = mk("B-1", CHISO_EV_SUBMITTED, "2025-06-30T23:30:00Z");
    e.channel = CHISO_CHANNEL_DIRECT;
    it = feed(b, &e, &chg, 1);
    CHECK_EQ_STR(str(it, "KenhThucHien"), "1");
    CHECK_EQ_STR(str(it, "NgayNopHoSo"), "20250701063000");
    s = step_of(&chg);
    CHECK_EQ_STR(str(s, "NoiDungXuLy"), "Nộp hồ sơ trực tiếp");
    cJSON_Delete(s);
    cJSON_Delete(it);
    e = mk("B-1", CHISO_EV_NOT_ACCEPTED, "2025-07-01T06:45:00+07:00");
    it = feed(b, &e, &chg, 1);
    CHECK_EQ_STR(str(it, "TrangThaiHoSo"), "3");
    CHECK_EQ_STR(str(it, "NgayTuChoi"), "20250701064500");
    CHECK_EQ_STR(str(it, "NgayKetThucXuLy"), "");
    cJSON_Delete(it);

    e = mk("C-1", CHISO_EV_SUBMITTED, "2025-07-01T07:00:00+07:00");
    e.channel = CHISO_CHANNEL_POSTAL;
    it = feed(b, &e, &chg, 1);
    CHECK_EQ_STR(str(it, "KenhThucHien"), "3");
    cJSON_Delete(it);
    e = mk("C-1", CHISO_EV_RECEIVED, "2025-07-01T08:00:00+07:00");
    e.due_at = at("2025-07-08T17:00:00+07:00");
    e.reused_data = true;
    e.digitized = true;
    e.from_data_store = true;
    it = feed(b, &e, &chg, 1);
    cJSON *doc = cJSON_GetArrayItem(cJSON_GetObjectItem(it, "TaiLieuNop"), 0);
    CHECK_EQ_STR(str(doc, "DuocTaiSuDung"), "1");
    CHECK_EQ_STR(str(doc, "DuocLayTuKhoDMQG"), "1");
    CHECK_EQ_STR(str(it, "TaiKhoanDuocXacThucVoiVNeID"), "0");
    cJSON_Delete(it);
    e = mk("C-1", CHISO_EV_PROCESSING, "2025-07-01T09:00:00+07:00");
    cJSON_Delete(feed(b, &e, &chg, 1));
    e = mk("C-1", CHISO_EV_FEE_REQUESTED, "2025-07-01T10:00:00+07:00");
    e.amount = 50000;
    cJSON_Delete(feed(b, &e, &chg, 1));
    e = mk("C-1", CHISO_EV_PAID, "2025-07-01T11:00:00+07:00");
    e.method = CHISO_PAY_CASH;
    feed(b, &e, &chg, 0); /* not an online payment: nothing shows it */
    e.method = CHISO_PAY_BANK_TRANSFER;
    feed(b, &e, &chg, 0);
    e = mk("C-1", CHISO_EV_WITHDRAWN, "2025-07-02T11:00:00+07:00");
    it = feed(b, &e, &chg, 1);
    CHECK_EQ_STR(str(it, "TrangThaiHoSo"), "7");
    CHECK_EQ_STR(str(it, "DuocThanhToanTrucTuyen"), "0");
    s = step_of(&chg);
    CHECK_EQ_STR(str(s, "NoiDungXuLy"), "Công dân yêu cầu rút hồ sơ");
    CHECK_EQ_STR(str(s, "TrangThai"), "7");
    cJSON_Delete(s);
    cJSON_Delete(it);

    /* stopped after a supplement request never answered; a fee requested
     * meanwhile keeps the 5 */
    e = mk("D-1", CHISO_EV_SUBMITTED, "2025-07-01T07:00:00+07:00");
    e.channel = CHISO_CHANNEL_ONLINE;
    cJSON_Delete(feed(b, &e, &chg, 1));
    e = mk("D-1", CHISO_EV_SUPPLEMENT_REQUESTED, "2025-07-02T07:00:00+07:00");
    cJSON_Delete(feed(b, &e, &chg, 1));
    e = mk("D-1", CHISO_EV_FEE_REQUESTED, "2025-07-02T08:00:00+07:00");
    e.amount = 30000;
    it = feed(b, &e, &chg, 1);
    CHECK_EQ_STR(str(it, "TrangThaiHoSo"), "5");
    CHECK_EQ_STR(str(cJSON_GetArrayItem(cJSON_GetObjectItem(it, "DanhSachLePhi"), 0), "Gia"),
                 "30000");
    cJSON_Delete(it);
    e = mk("D-1", CHISO_EV_STOPPED, "2025-07-20T08:00:00+07:00");
    it = feed(b, &e, &chg, 1);
    CHECK_EQ_STR(str(it, "TrangThaiHoSo"), "8");
    CHECK_EQ_STR(str(it, "NgayKetThucXuLy"), "20250720080000");
    s = step_of(&chg);
    CHECK_EQ_STR(str(s, "NoiDungXuLy"), "Dừng xử lý hồ sơ");
    cJSON_Delete(s);
    cJSON_Delete(it);
    sim_bridge_stats_get(b, &st);
    CHECK_EQ_INT(st.live, 0, "every dossier ended");

    /* resolved but never returned: freed SIM_BRIDGE_KEEP_RESOLVED later */
    e = mk("E-1", CHISO_EV_SUBMITTED, "2025-07-21T07:00:00+07:00");
    e.channel = CHISO_CHANNEL_ONLINE;
    cJSON_Delete(feed(b, &e, &chg, 1));
    e = mk("E-1", CHISO_EV_RESOLVED, "2025-07-22T07:00:00+07:00");
    it = feed(b, &e, &chg, 1);
    CHECK_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItem(it, "DanhSachGiayToKetQua")), 0,
                 "no e-result, no result document");
    cJSON_Delete(it);
    e = mk("F-1", CHISO_EV_SUBMITTED, "2025-08-10T07:00:00+07:00");
    cJSON_Delete(feed(b, &e, &chg, 1));
    sim_bridge_stats_get(b, &st);
    CHECK_EQ_INT(st.live, 2, "E-1 kept 19 days after its resolution");
    e = mk("F-1", CHISO_EV_SYNCED, "2025-08-22T07:00:00+07:00");
    feed(b, &e, &chg, 0); /* shows nothing, but time goes on */
    sim_bridge_stats_get(b, &st);
    CHECK_EQ_INT(st.live, 1, "E-1 freed 31 days after its resolution");
    sim_bridge_free(b); /* pending batches and F-1 are freed (valgrind) */
}

/* ---- the quirks ------------------------------------------------------------------------- */

/* A dossier through every status: submitted, received, processing,
 * supplement, fee, paid, resolved, returned. */
static int story(sim_bridge *b, const char *id, cJSON **items, cJSON **steps, bool *sent)
{
    static const struct {
        chiso_event_type type;
        const char *at;
    } evs[] = {
        {CHISO_EV_SUBMITTED, "2025-07-01T08:00:00+07:00"},
        {CHISO_EV_RECEIVED, "2025-07-01T09:00:00+07:00"},
        {CHISO_EV_PROCESSING, "2025-07-01T10:00:00+07:00"},
        {CHISO_EV_SUPPLEMENT_REQUESTED, "2025-07-02T10:00:00+07:00"},
        {CHISO_EV_SUPPLEMENT_RECEIVED, "2025-07-03T10:00:00+07:00"},
        {CHISO_EV_FEE_REQUESTED, "2025-07-03T11:00:00+07:00"},
        {CHISO_EV_PAID, "2025-07-03T12:00:00+07:00"},
        {CHISO_EV_RESOLVED, "2025-07-04T10:00:00+07:00"},
        {CHISO_EV_RETURNED, "2025-07-05T10:00:00+07:00"},
    };
    int n = 0;
    for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++) {
        chiso_event e = mk(id, evs[i].type, evs[i].at);
        sim_bridge_change chg;
        e.channel = CHISO_CHANNEL_ONLINE;
        e.due_at = at("2025-07-08T17:00:00+07:00");
        e.amount = 20000;
        e.method = CHISO_PAY_PROVINCIAL_GATEWAY;
        e.e_result = true;
        e.delivery = CHISO_DELIVERY_ONLINE;
        CHECK_EQ_INT(sim_bridge_feed(b, &e, &chg), 1, "%s changes", evs[i].at);
        items[n] = chg.item ? cJSON_Parse(chg.item) : NULL;
        steps[n] = chg.step ? cJSON_Parse(chg.step) : NULL;
        sent[n] = !chg.skipped;
        n++;
    }
    return n;
}

static void free_all(cJSON **a, int n)
{
    for (int i = 0; i < n; i++)
        cJSON_Delete(a[i]);
}

static void test_quirks(void)
{
    cJSON *items[16], *steps[16];
    bool sent[16];
    int n;
    reqs q = {0};

    /* as9: 5, 6 (and 8) as 9, steps too */
    sim_bridge_opts o = {.batch = 50, .as9 = true};
    sim_bridge *b = sim_bridge_new(&o, NULL, 1);
    n = story(b, "AS9-1", items, steps, sent);
    CHECK_EQ_STR(str(items[3], "TrangThaiHoSo"), "9");
    CHECK_EQ_STR(str(steps[3], "TrangThai"), "9");
    CHECK_EQ_STR(str(steps[3], "NoiDungXuLy"), "Yêu cầu bổ sung hồ sơ");
    CHECK_EQ_STR(str(items[4], "TrangThaiHoSo"), "4");
    CHECK_EQ_STR(str(items[5], "TrangThaiHoSo"), "9");
    CHECK_EQ_STR(str(steps[5], "TrangThai"), "9");
    CHECK_EQ_STR(str(items[7], "TrangThaiHoSo"), "9");
    CHECK_EQ_STR(str(items[8], "TrangThaiHoSo"), "10");
    CHECK_EQ_STR(str(items[6], "DuocThanhToanTrucTuyen"), "2");
    CHECK_EQ_STR(str(items[8], "HinhThuc"), "0"); /* online delivery: not by post */
    free_all(items, n);
    free_all(steps, n);
    chiso_event e = mk("AS9-2", CHISO_EV_SUBMITTED, "2025-07-01T08:00:00+07:00");
    cJSON_Delete(feed(b, &e, &(sim_bridge_change){0}, 1));
    e = mk("AS9-2", CHISO_EV_STOPPED, "2025-07-02T08:00:00+07:00");
    sim_bridge_change chg;
    cJSON *it = feed(b, &e, &chg, 1);
    CHECK_EQ_STR(str(it, "TrangThaiHoSo"), "9");
    CHECK_EQ_INT(chg.status, 9, "stopped sent as 9");
    cJSON_Delete(it);
    sim_bridge_free(b);

    /* without the quirk, the same story shows 5 and 6 */
    o = (sim_bridge_opts){.batch = 50};
    b = sim_bridge_new(&o, NULL, 1);
    n = story(b, "PLAIN-1", items, steps, sent);
    CHECK_EQ_STR(str(items[3], "TrangThaiHoSo"), "5");
    CHECK_EQ_STR(str(items[5], "TrangThaiHoSo"), "6");
    CHECK_EQ_STR(str(items[0], "KenhThucHien"), "2");
    CHECK_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItem(items[8], "DanhSachHoSoBoSung")), 1,
                 "the round is filled by default");
    free_all(items, n);
    free_all(steps, n);
    sim_bridge_free(b);

    /* no_channel, no_rounds, no_steps */
    o = (sim_bridge_opts){.batch = 50, .no_channel = true, .no_rounds = true, .no_steps = true};
    b = sim_bridge_new(&o, NULL, 1);
    n = story(b, "NO-1", items, steps, sent);
    bool any_channel = false, any_round = false, any_step = false;
    for (int i = 0; i < n; i++) {
        any_channel |= cJSON_GetObjectItem(items[i], "KenhThucHien") != NULL;
        any_round |= cJSON_GetArraySize(cJSON_GetObjectItem(items[i], "DanhSachHoSoBoSung")) > 0;
        any_step |= steps[i] != NULL;
    }
    CHECK(!any_channel, "no_channel: KenhThucHien left out");
    CHECK(!any_round, "no_rounds: DanhSachHoSoBoSung empty");
    CHECK(!any_step, "no_steps: no step");
    CHECK_EQ_STR(str(items[3], "TrangThaiHoSo"), "5"); /* the status still says it */
    free_all(items, n);
    free_all(steps, n);
    sim_bridge_finish(b);
    drain(b, &q);
    bool progress = false;
    for (int i = 0; i < q.n; i++)
        progress |= q.r[i].service == SIM_BRIDGE_PROGRESS;
    CHECK(!progress && q.n > 0, "no_steps: no CapNhatTienDoHoSoMC request");
    reqs_free(&q);
    sim_bridge_free(b);

    /* skip 1: only the end is sent, carrying everything before it */
    o = (sim_bridge_opts){.batch = 50, .skip = 1};
    b = sim_bridge_new(&o, NULL, 1);
    n = story(b, "SKIP-1", items, steps, sent);
    for (int i = 0; i + 1 < n; i++)
        CHECK(!sent[i] && !items[i] && !steps[i], "change %d skipped, its step too", i);
    CHECK(sent[n - 1] && items[n - 1] && steps[n - 1], "the end is sent");
    CHECK_EQ_STR(str(items[n - 1], "NgayTiepNhan"), "20250701090000");
    CHECK_EQ_STR(str(items[n - 1], "DuocThanhToanTrucTuyen"), "2");
    CHECK_EQ_STR(str(items[n - 1], "NgayKetThucXuLy"), "20250704100000");
    free_all(items, n);
    free_all(steps, n);
    sim_bridge_finish(b);
    drain(b, &q);
    CHECK_EQ_INT(q.n, 2, "one snapshot request, one step request");
    if (q.n == 2) {
        CHECK_EQ_INT(q.r[0].updating, 0, "the first snapshot sent is not an update");
        CHECK_EQ_INT(q.r[0].items, 1, "one item");
    }
    reqs_free(&q);
    sim_bridge_stats st;
    sim_bridge_stats_get(b, &st);
    CHECK(st.skipped == 8 && st.items == 1 && st.steps == 1, "skipped %llu",
          (unsigned long long)st.skipped);
    sim_bridge_free(b);

    /* resend 1: each snapshot twice (the copy an update), each step once */
    o = (sim_bridge_opts){.batch = 50, .resend = 1};
    b = sim_bridge_new(&o, NULL, 1);
    n = story(b, "RE-1", items, steps, sent);
    free_all(items, n);
    free_all(steps, n);
    sim_bridge_finish(b);
    drain(b, &q);
    int snaps = 0, nsteps = 0, upd = 0;
    for (int i = 0; i < q.n; i++) {
        cJSON *body = cJSON_Parse(q.r[i].body);
        if (q.r[i].service == SIM_BRIDGE_DOSSIERS) {
            snaps += cJSON_GetArraySize(body);
            upd += q.r[i].updating ? cJSON_GetArraySize(body) : 0;
        } else {
            nsteps += cJSON_GetArraySize(body);
        }
        cJSON_Delete(body);
    }
    CHECK_EQ_INT(snaps, 18, "9 snapshots twice");
    CHECK_EQ_INT(upd, 17, "all but the first are updates");
    CHECK_EQ_INT(nsteps, 9, "9 steps");
    reqs_free(&q);
    sim_bridge_free(b);

    /* skip and resend with p = 0.5 take about half */
    o = (sim_bridge_opts){.batch = 20, .skip = 0.5, .resend = 0.5};
    b = sim_bridge_new(&o, NULL, 99);
    for (int k = 0; k < 200; k++) {
        char id[32];
        snprintf(id, sizeof(id), "P-%d", k);
        n = story(b, id, items, steps, sent);
        free_all(items, n);
        free_all(steps, n);
    }
    sim_bridge_stats_get(b, &st);
    CHECK(st.skipped > 600 && st.skipped < 1000, "about half of the 1600 skippable: %llu",
          (unsigned long long)st.skipped);
    uint64_t kept = st.changes - st.skipped;
    CHECK(st.resent > kept / 2 - kept / 8 && st.resent < kept / 2 + kept / 8,
          "about half resent: %llu of %llu", (unsigned long long)st.resent,
          (unsigned long long)kept);
    CHECK(st.steps == kept && st.items == kept + st.resent, "items and steps add up");
    sim_bridge_finish(b);
    drain(b, &q);
    reqs_free(&q);
    sim_bridge_free(b);

    CHECK(sim_bridge_new(&(sim_bridge_opts){.batch = 0}, NULL, 1) == NULL, "batch 0 refused");
    CHECK(sim_bridge_new(&(sim_bridge_opts){.batch = 1, .skip = 1.5}, NULL, 1) == NULL,
          "skip 1.5 refused");
}

/* ---- batches --------------------------------------------------------------------------- */

/* Dossiers of two units, interleaved; batch 3. Without steps (whose
 * requests send the unit's snapshots first) a batch of updates can fill
 * while a dossier's first snapshot still waits in the other batch. */
static void test_batches(bool gateway, bool no_steps)
{
    sim_bridge_opts o = {
        .batch = 3, .gateway = gateway, .session = "tok\"en", .no_steps = no_steps};
    sim_bridge *b = sim_bridge_new(&o, NULL, 1);
    reqs q = {0};
    static const chiso_event_type life[] = {CHISO_EV_SUBMITTED, CHISO_EV_RECEIVED,
                                            CHISO_EV_PROCESSING, CHISO_EV_RESOLVED,
                                            CHISO_EV_RETURNED};
    int64_t t0 = at("2025-07-01T08:00:00+07:00");
    int fed = 0;
    chiso_map *when = chiso_map_new(); /* "<dossier>|<status>" -> the change's time */
    /* 7 dossiers, one event each in turn, a minute apart */
    for (int step = 0; step < 5; step++) {
        for (int k = 0; k < 7; k++) {
            char id[32];
            snprintf(id, sizeof(id), "G-%d", k);
            chiso_event e = mk(id, life[step], "2025-07-01T08:00:00+07:00");
            snprintf(e.unit, sizeof(e.unit), "%s", k % 2 ? "000.00.02.H31" : "000.00.01.H31");
            e.at = t0 + 60 * (step * 7 + k);
            e.channel = CHISO_CHANNEL_DIRECT;
            e.due_at = t0 + 86400 * 5;
            sim_bridge_change chg;
            CHECK_EQ_INT(sim_bridge_feed(b, &e, &chg), 1, "change");
            char key[64];
            snprintf(key, sizeof(key), "%s|%d", id, chg.status);
            chiso_map_put(when, key, NULL)->u64 = (uint64_t)e.at;
            fed++;
        }
    }
    sim_bridge_finish(b);
    drain(b, &q);

    /* replay the requests: order and contents */
    chiso_map *last = chiso_map_new(); /* dossier -> time of its last snapshot sent */
    int items = 0, steps = 0;
    for (int i = 0; i < q.n; i++) {
        const sim_bridge_request *r = &q.r[i];
        cJSON *body = cJSON_Parse(r->body);
        const cJSON *data = body, *x;
        char target[96];
        if (gateway) {
            CHECK(cJSON_IsObject(body), "a gateway envelope: %.80s", r->body);
            CHECK_EQ_STR(str(body, "session"), "tok\"en");
            CHECK_EQ_STR(str(body, "madonvi"), r->unit);
            CHECK_EQ_STR(r->target, "/");
            data = cJSON_GetObjectItem(body, "data");
        } else {
            CHECK(cJSON_IsArray(body), "a bare array: %.80s", r->body);
            if (r->service == SIM_BRIDGE_DOSSIERS)
                snprintf(target, sizeof(target), "/DongBoHoSoMC?MaDinhDanhDV=%s&isUpdating=%s",
                         r->unit, r->updating ? "True" : "False");
            else
                snprintf(target, sizeof(target), "/CapNhatTienDoHoSoMC?MaDinhDanhDV=%s", r->unit);
            CHECK_EQ_STR(r->target, target);
        }
        CHECK(r->items >= 1 && r->items <= 3 && cJSON_GetArraySize(data) == r->items, "1..3 items");
        int64_t prev = 0, latest = 0;
        if (r->service == SIM_BRIDGE_DOSSIERS) {
            if (gateway) {
                CHECK_EQ_STR(str(body, "service"), "DongBoHoSoMC");
                CHECK_EQ_STR(str(body, "isUpdating"), r->updating ? "True" : "False");
            }
            cJSON_ArrayForEach(x, data)
            {
                const char *id = str(x, "MaHoSo");
                char key[64];
                snprintf(key, sizeof(key), "%s|%s", id, str(x, "TrangThaiHoSo"));
                chiso_map_entry *w = chiso_map_get(when, key);
                int64_t t = w ? (int64_t)w->u64 : 0;
                CHECK(w != NULL, "%s: a change fed", key);
                CHECK(t >= prev, "time order within a request");
                prev = t;
                latest = t;
                chiso_map_entry *e = chiso_map_put(last, id, NULL);
                CHECK(e->u64 == 0 ? !r->updating : r->updating, "%s: isUpdating", id);
                CHECK((int64_t)e->u64 < t, "%s: snapshots in time order", id);
                e->u64 = (uint64_t)t;
                items++;
            }
        } else {
            CHECK(!no_steps, "no step requests without steps");
            if (gateway) {
                CHECK_EQ_STR(str(body, "service"), "CapNhatTienDoHoSoMC");
                CHECK(cJSON_GetObjectItem(body, "isUpdating") == NULL, "steps: no isUpdating");
            }
            cJSON_ArrayForEach(x, data)
            {
                int64_t t = 0;
                chiso_time_parse_compact(str(x, "ThoiDiemXuLy"), &t);
                chiso_map_entry *e = chiso_map_get(last, str(x, "MaHoSo"));
                CHECK(e && (int64_t)e->u64 >= t, "%s: the step after its snapshot",
                      str(x, "MaHoSo"));
                CHECK(t >= prev, "time order within a request");
                prev = latest = t;
                steps++;
            }
        }
        CHECK(r->at == latest, "request %d: the Date is its latest change", i);
        /* every item of a request is of its unit */
        cJSON_ArrayForEach(x, data)
        {
            int k = str(x, "MaHoSo")[2] - '0';
            CHECK_EQ_STR(r->unit, k % 2 ? "000.00.02.H31" : "000.00.01.H31");
        }
        cJSON_Delete(body);
    }
    CHECK_EQ_INT(items, fed, "every snapshot sent once");
    CHECK_EQ_INT(steps, no_steps ? 0 : fed, "every step sent once");
    chiso_map_destroy(last);
    chiso_map_destroy(when);
    reqs_free(&q);
    sim_bridge_free(b);
}

/* ---- a simulated province ------------------------------------------------------------------ */

/* Time order, ties by dossier and event number (main.c's heap order). */
static int cmp_ev(const void *a, const void *b)
{
    const sim_ev *x = a, *y = b;
    if (x->at != y->at)
        return x->at < y->at ? -1 : 1;
    if (x->serial != y->serial)
        return x->serial < y->serial ? -1 : 1;
    return (int)x->n - (int)y->n;
}

/* Every event of `days` days of a small province, in time order (as
 * chiso-simulate sends them). */
static sim_ev *province_events(const sim_province *pv, int32_t start, int days, long *count)
{
    sim_ev *all = NULL, evs[SIM_EV_MAX];
    long n = 0, cap = 0;
    uint32_t serial = 0;
    int64_t end = chiso_day_start(start + days);
    for (int32_t day = start; day < start + days; day++) {
        sim_arrival *arr = NULL;
        long na = sim_arrivals_day(pv, day, &arr);
        for (long i = 0; i < na; i++) {
            int k = sim_dossier_generate(pv, &arr[i], day, (uint32_t)i + 1, serial++, end, evs);
            for (int j = 0; j < k; j++) {
                if (n == cap) {
                    cap = cap ? 2 * cap : 4096;
                    all = realloc(all, (size_t)cap * sizeof(*all));
                    if (!all)
                        abort();
                }
                all[n++] = evs[j];
            }
        }
        free(arr);
    }
    qsort(all, (size_t)n, sizeof(*all), cmp_ev);
    *count = n;
    return all;
}

static void run(const sim_province *pv, const sim_ev *evs, long n, const sim_bridge_opts *o,
                uint64_t seed, reqs *q)
{
    sim_bridge *b = sim_bridge_new(o, pv, seed);
    CHECK(b != NULL, "new");
    if (!b)
        return;
    for (long i = 0; i < n; i++) {
        chiso_event ev;
        sim_ev_to_event(pv, &evs[i], &ev);
        if (sim_bridge_feed(b, &ev, NULL) < 0)
            CHECK(0, "feed");
        drain(b, q);
    }
    sim_bridge_finish(b);
    drain(b, q);
    sim_bridge_free(b);
}

static bool same_requests(const reqs *a, const reqs *b)
{
    if (a->n != b->n)
        return false;
    for (int i = 0; i < a->n; i++) {
        const sim_bridge_request *x = &a->r[i], *y = &b->r[i];
        if (x->len != y->len || memcmp(x->body, y->body, x->len) != 0 ||
            strcmp(x->target, y->target) != 0 || x->at != y->at)
            return false;
    }
    return true;
}

static void test_seed(const sim_province *pv, const sim_ev *evs, long n)
{
    sim_bridge_opts o = {.batch = 7, .skip = 0.3, .resend = 0.2};
    reqs a = {0}, b = {0}, c = {0};
    run(pv, evs, n, &o, 5, &a);
    run(pv, evs, n, &o, 5, &b);
    run(pv, evs, n, &o, 6, &c);
    CHECK(a.n > 100, "requests: %d", a.n);
    CHECK(same_requests(&a, &b), "the same seed gives the same requests");
    CHECK(!same_requests(&a, &c), "another seed gives others");
    reqs_free(&a);
    reqs_free(&b);
    reqs_free(&c);
}

/* A simulator event as the bridge can see it ("" for what a snapshot
 * cannot carry). */
static void key_sim(const chiso_event *e, char *buf, size_t size)
{
    buf[0] = '\0';
    switch (e->type) {
    case CHISO_EV_SUBMITTED:
        snprintf(buf, size, "%s|submitted|%lld|%s", e->dossier_id, (long long)e->at,
                 chiso_channel_name(e->channel));
        break;
    case CHISO_EV_RECEIVED:
        snprintf(buf, size, "%s|received|%lld|%lld|%d%d%d%d", e->dossier_id, (long long)e->at,
                 (long long)e->due_at, e->digitized, e->reused_data, e->from_data_store,
                 e->population_data);
        break;
    case CHISO_EV_FEE_REQUESTED:
        snprintf(buf, size, "%s|fee_requested|%lld|%lld", e->dossier_id, (long long)e->at,
                 (long long)e->amount);
        break;
    case CHISO_EV_PAID:
        if (e->method == CHISO_PAY_DVCQG_PLATFORM || e->method == CHISO_PAY_PROVINCIAL_GATEWAY)
            snprintf(buf, size, "%s|paid|%lld|%s", e->dossier_id, (long long)e->at,
                     chiso_pay_method_name(e->method));
        break;
    case CHISO_EV_RESOLVED:
        snprintf(buf, size, "%s|resolved|%lld|%d", e->dossier_id, (long long)e->at, e->e_result);
        break;
    case CHISO_EV_RETURNED:
        snprintf(buf, size, "%s|returned|%lld|%s", e->dossier_id, (long long)e->at,
                 e->delivery == CHISO_DELIVERY_POSTAL ? "postal" : "counter");
        break;
    case CHISO_EV_NOT_ACCEPTED:
    case CHISO_EV_SUPPLEMENT_REQUESTED:
    case CHISO_EV_SUPPLEMENT_RECEIVED:
    case CHISO_EV_WITHDRAWN:
    case CHISO_EV_STOPPED:
        snprintf(buf, size, "%s|%s|%lld", e->dossier_id, chiso_event_type_name(e->type),
                 (long long)e->at);
        break;
    default:
        break;
    }
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

typedef struct keys {
    char **k;
    long n, cap;
} keys;

static void keys_add(keys *k, const char *s)
{
    if (!s[0])
        return;
    if (k->n == k->cap) {
        k->cap = k->cap ? 2 * k->cap : 4096;
        k->k = realloc(k->k, (size_t)k->cap * sizeof(*k->k));
        if (!k->k)
            abort();
    }
    k->k[k->n++] = strdup(s);
}

static void keys_free(keys *k)
{
    for (long i = 0; i < k->n; i++)
        free(k->k[i]);
    free(k->k);
}

/* The query string's value of `name` in target ("" when absent). */
static void query(const char *target, const char *name, char *out, size_t size)
{
    const char *p = strchr(target, '?');
    size_t nl = strlen(name);
    out[0] = '\0';
    while (p) {
        p++;
        if (strncmp(p, name, nl) == 0 && p[nl] == '=') {
            size_t vl = strcspn(p + nl + 1, "&");
            snprintf(out, size, "%.*s", (int)vl, p + nl + 1);
            return;
        }
        p = strchr(p, '&');
    }
}

/* The requests through chiso-bridge's parsers (envelope.h, map.h): every
 * item accepted; the events derived into `got`. Returns the items refused. */
static int through_bridge(const reqs *q, keys *got, int *corrections)
{
    static const bridge_defaults d = {
        .unit = NULL, .channel = CHISO_CHANNEL_DIRECT, .due_days = 10, .population_db = "1"};
    unsigned guesses[BRIDGE_GUESS_COUNT] = {0};
    chiso_map *state = chiso_map_new();
    int refused = 0;
    for (int i = 0; i < q->n; i++) {
        const sim_bridge_request *r = &q->r[i];
        bridge_request br;
        char err[256], unit[64], upd[16];
        const char *svc =
            r->service == SIM_BRIDGE_DOSSIERS ? "DongBoHoSoMC" : "CapNhatTienDoHoSoMC";
        query(r->target, "MaDinhDanhDV", unit, sizeof(unit));
        query(r->target, "isUpdating", upd, sizeof(upd));
        int rc = bridge_request_parse(r->body, r->len, svc, unit, upd[0] ? upd : NULL, 1000, &br,
                                      err, sizeof(err));
        CHECK(rc == 0, "request %d parses: %s", i, err);
        if (rc != 0)
            continue;
        CHECK(strcmp(br.unit, r->unit) == 0 && br.updating == r->updating &&
                  (int)br.service == (r->service == SIM_BRIDGE_DOSSIERS ? BRIDGE_SVC_DOSSIERS
                                                                        : BRIDGE_SVC_PROGRESS),
              "request %d: unit, isUpdating, service", i);
        const cJSON *item;
        cJSON_ArrayForEach(item, br.items)
        {
            chiso_event ev[BRIDGE_EVENTS_MAX];
            chiso_reject rej;
            bridge_snapshot cur, merged;
            bridge_step st;
            int n;
            const char *id = str(item, "MaHoSo");
            chiso_map_entry *e = chiso_map_put(state, id, NULL);
            bridge_snapshot *prev = e->ptr;
            if (br.service == BRIDGE_SVC_DOSSIERS) {
                if (bridge_snapshot_parse(item, br.unit, &d, &cur, guesses, &rej) != 0) {
                    if (refused++ < 5)
                        CHECK(0, "item refused: %s", rej.detail);
                    continue;
                }
                n = bridge_diff(prev, &cur, r->at, &d, &merged, ev, guesses);
            } else {
                if (bridge_step_parse(item, br.unit, &d, &st, guesses, &rej) != 0) {
                    if (refused++ < 5)
                        CHECK(0, "step refused: %s", rej.detail);
                    continue;
                }
                n = bridge_step_apply(prev, &st, &d, &merged, ev, guesses);
                *corrections += n;
            }
            if (!prev)
                e->ptr = prev = malloc(sizeof(*prev));
            *prev = merged;
            for (int k = 0; k < n; k++) {
                char key[256];
                CHECK_EQ_STR(ev[k].unit, r->unit);
                key_sim(&ev[k], key, sizeof(key));
                keys_add(got, key);
            }
        }
        bridge_request_free(&br);
    }
    size_t pos = 0;
    chiso_map_entry *e = NULL;
    while ((e = chiso_map_next(state, &pos, e)))
        free(e->ptr);
    chiso_map_destroy(state);
    return refused;
}

static void test_through_bridge(const sim_province *pv, const sim_ev *evs, long n)
{
    /* one item per request, so that the arrival time is the change's */
    static const sim_bridge_opts variants[] = {
        {.batch = 1},
        {.batch = 1, .no_rounds = true},
        {.batch = 1, .gateway = true, .session = "s"},
    };
    keys want = {0};
    for (long i = 0; i < n; i++) {
        chiso_event ev;
        char key[256];
        sim_ev_to_event(pv, &evs[i], &ev);
        key_sim(&ev, key, sizeof(key));
        keys_add(&want, key);
    }
    qsort(want.k, (size_t)want.n, sizeof(*want.k), cmp_str);
    for (size_t v = 0; v < sizeof(variants) / sizeof(variants[0]); v++) {
        reqs q = {0};
        keys got = {0};
        int corrections = 0;
        run(pv, evs, n, &variants[v], 1, &q);
        CHECK_EQ_INT(through_bridge(&q, &got, &corrections), 0, "variant %zu: items refused", v);
        CHECK_EQ_INT(corrections, 0, "variant %zu: no step corrects a fact", v);
        qsort(got.k, (size_t)got.n, sizeof(*got.k), cmp_str);
        long i = 0, j = 0, shown = 0;
        while (i < want.n || j < got.n) {
            int c = i == want.n ? 1 : j == got.n ? -1 : strcmp(want.k[i], got.k[j]);
            if (c == 0) {
                i++;
                j++;
                continue;
            }
            if (shown++ < 8)
                CHECK(0, "variant %zu: %s %s", v, c < 0 ? "lost" : "extra",
                      c < 0 ? want.k[i] : got.k[j]);
            if (c < 0)
                i++;
            else
                j++;
        }
        CHECK(shown == 0 && want.n > 1000,
              "variant %zu: the bridge derives exactly the %ld "
              "events a snapshot can carry",
              v, want.n);
        keys_free(&got);
        reqs_free(&q);
    }

    /* with batches and every quirk, every item is still accepted */
    sim_bridge_opts all = {.batch = 20,
                           .as9 = true,
                           .no_channel = true,
                           .no_rounds = true,
                           .skip = 0.3,
                           .resend = 0.3};
    reqs q = {0};
    keys got = {0};
    int corrections = 0;
    run(pv, evs, n, &all, 3, &q);
    CHECK_EQ_INT(through_bridge(&q, &got, &corrections), 0, "quirks: items refused");
    keys_free(&got);
    reqs_free(&q);
    keys_free(&want);
}

int main(void)
{
    test_times();
    test_story();
    test_ends();
    test_quirks();
    test_batches(true, false);
    test_batches(false, false);
    test_batches(true, true);
    test_batches(false, true);

    sim_params params = {.seed = 11, .departments = 3, .communes = 6, .dossiers_per_day = 100};
    char err[256];
    sim_province *pv = sim_province_new(&params, err, sizeof(err));
    CHECK(pv != NULL, "province: %s", err);
    if (pv) {
        long n = 0;
        chiso_period p;
        chiso_period_parse("2025-07-01", &p);
        sim_ev *evs = province_events(pv, p.first_day, 14, &n);
        test_seed(pv, evs, n);
        test_through_bridge(pv, evs, n);
        free(evs);
        sim_province_free(pv);
    }
    return CHECK_DONE();
}
