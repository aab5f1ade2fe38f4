/*
 * test_bridge_map.c - a province's DongBoHoSoMC snapshots into CONTRACT
 * events (producers/bridge/map.h): BRIDGE.md §7's three snapshots of one
 * dossier, a resend, the senders' quirks (no channel, no unit, status-only
 * supplement rounds, HG's 10 without 9, withdrawn, stopped, refused, an
 * older snapshot after a newer one), and the per-item rejections. Every
 * event must pass the contract's own parser.
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "chiso/common.h"
#include "chiso/event.h"
#include "chiso/vntime.h"

#include "check.h"
#include "map.h"

static const bridge_defaults defaults = {
    .unit = "000.00.00.H56", .channel = CHISO_CHANNEL_DIRECT, .due_days = 10, .population_db = "1"};
static unsigned guesses[BRIDGE_GUESS_COUNT];

static int64_t vn(const char *compact)
{
    int64_t t = 0;
    CHECK_EQ_INT(chiso_time_parse_compact(compact, &t), 0, "test time %s", compact);
    return t;
}

/* The snapshot of a JSON item (the envelope's unit or NULL). */
static bridge_snapshot snap(const char *json, const char *unit)
{
    bridge_snapshot s;
    chiso_reject rej;
    cJSON *item = cJSON_Parse(json);
    memset(&s, 0, sizeof(s));
    CHECK(item != NULL, "test JSON parses: %.60s", json);
    CHECK_EQ_INT(bridge_snapshot_parse(item, unit, &defaults, &s, guesses, &rej), 0, "%s",
                 rej.detail);
    cJSON_Delete(item);
    return s;
}

/* Diff and check each event against the contract's parser. */
static int diff(const bridge_snapshot *prev, const bridge_snapshot *cur, int64_t now,
                bridge_snapshot *merged, chiso_event *out)
{
    int n = bridge_diff(prev, cur, now, &defaults, merged, out, guesses);
    for (int i = 0; i < n; i++) {
        char json[2048];
        chiso_event back;
        chiso_reject rej;
        int len = chiso_event_to_json(&out[i], json, sizeof(json));
        CHECK(len > 0, "event %d serializes", i);
        CHECK_EQ_INT(chiso_event_parse(json, (size_t)len, &back, &rej), 0, "%s: %s", json,
                     rej.detail);
    }
    return n;
}

static const chiso_event *find(const chiso_event *ev, int n, chiso_event_type type)
{
    for (int i = 0; i < n; i++) {
        if (ev[i].type == type)
            return &ev[i];
    }
    return NULL;
}

#define ID "\"MaHoSo\":\"000.20.31.H56-260302-00417\",\"MaTTHC\":\"1.001612\""

/* BRIDGE.md §7.1, 7.2, 7.3: received at the counter, a supplement round,
 * paid online, resolved with an e-result, posted. */
static void test_story(void)
{
    chiso_event ev[BRIDGE_EVENTS_MAX];
    bridge_snapshot s1, s2, s3, m1, m2, m3, again;
    const chiso_event *e;
    int n;

    s1 = snap(
        "{" ID ",\"KenhThucHien\":\"1\",\"NgayNopHoSo\":\"20260302091020\","
        "\"NgayTiepNhan\":\"20260302091520\",\"NgayHenTra\":\"20260305170000\","
        "\"TrangThaiHoSo\":\"2\",\"NgayTuChoi\":\"\",\"NgayKetThucXuLy\":\"\",\"NgayTra\":\"\","
        "\"HinhThuc\":\"1\",\"HoSoCoThanhPhanSoHoa\":\"1\",\"TaiKhoanDuocXacThucVoiVNeID\":\"0\","
        "\"DuocThanhToanTrucTuyen\":\"0\",\"DSKetNoiCSDL\":[{\"MaCSDL\":\"1\"}],"
        "\"TaiLieuNop\":[{\"IsDeleted\":\"False\",\"DuocSoHoa\":\"1\",\"DuocTaiSuDung\":\"0\","
        "\"DuocLayTuKhoDMQG\":\"0\",\"MaKetQuaThayThe\":\"\"}],\"DanhSachLePhi\":[],"
        "\"DanhSachHoSoBoSung\":[],\"DanhSachGiayToKetQua\":[]}",
        "000.20.31.H56");
    memset(guesses, 0, sizeof(guesses));
    n = diff(NULL, &s1, vn("20260302100000"), &m1, ev);
    CHECK_EQ_INT(n, 2, "7.1: submitted and received");
    e = find(ev, n, CHISO_EV_SUBMITTED);
    CHECK(e && e->at == vn("20260302091020") && e->channel == CHISO_CHANNEL_DIRECT,
          "submitted at NgayNopHoSo, in person");
    e = find(ev, n, CHISO_EV_RECEIVED);
    CHECK(e && e->at == vn("20260302091520") && e->due_at == vn("20260305170000"),
          "received at NgayTiepNhan, due NgayHenTra");
    CHECK(e && e->digitized && !e->reused_data && !e->from_data_store && e->population_data,
          "digitized; population data from DSKetNoiCSDL 1");
    CHECK(e && strcmp(e->unit, "000.20.31.H56") == 0 && strcmp(e->procedure, "1.001612") == 0 &&
              strcmp(e->dossier_id, "000.20.31.H56-260302-00417") == 0,
          "unit, procedure and dossier from the payload");
    for (int g = 0; g < BRIDGE_GUESS_COUNT; g++)
        CHECK_EQ_INT(guesses[g], 0, "nothing guessed in 7.1 (%s)", bridge_guess_name(g));

    /* the same snapshot again: nothing */
    n = diff(&m1, &s1, vn("20260302100020"), &again, ev);
    CHECK_EQ_INT(n, 0, "a resend adds nothing");
    CHECK(memcmp(&again, &m1, sizeof(again)) == 0, "nor changes what is kept");

    /* 7.2: a supplement round, processing again, a new due date */
    s2 = s1;
    s2 = snap("{" ID ",\"KenhThucHien\":\"1\",\"NgayNopHoSo\":\"20260302091020\","
              "\"NgayTiepNhan\":\"20260302091520\",\"NgayHenTra\":\"20260309170000\","
              "\"TrangThaiHoSo\":\"4\",\"HinhThuc\":\"1\","
              "\"DanhSachHoSoBoSung\":[{\"HoSoBoSungId\":\"1\",\"NgayBoSung\":\"20260303100000\","
              "\"NgayTiepNhanBoSung\":\"20260304083000\",\"TrangThaiBoSung\":\"1\"}],"
              "\"TaiLieuNop\":[{\"IsDeleted\":\"False\",\"DuocSoHoa\":\"1\","
              "\"DuocLayTuKhoDMQG\":\"1\"}]}",
              "000.20.31.H56");
    n = diff(&m1, &s2, vn("20260304090000"), &m2, ev);
    CHECK_EQ_INT(n, 2, "7.2: the round's request and receipt");
    e = find(ev, n, CHISO_EV_SUPPLEMENT_REQUESTED);
    CHECK(e && e->at == vn("20260303100000"), "requested at NgayBoSung");
    e = find(ev, n, CHISO_EV_SUPPLEMENT_RECEIVED);
    CHECK(e && e->at == vn("20260304083000"), "received at NgayTiepNhanBoSung");
    CHECK(m2.due_at == vn("20260305170000"), "the first due date is kept (supplements extend it)");

    /* 7.3: paid online, resolved with an e-result, posted */
    s3 = snap("{" ID ",\"NgayTiepNhan\":\"20260302091520\",\"TrangThaiHoSo\":\"10\","
              "\"NgayKetThucXuLy\":\"20260306154000\",\"NgayTra\":\"20260307090500\","
              "\"HinhThuc\":\"1\",\"DuocThanhToanTrucTuyen\":\"1\","
              "\"DanhSachLePhi\":[{\"TenPhiLePhi\":\"Lệ phí\",\"Gia\":\"100000\"}],"
              "\"DanhSachGiayToKetQua\":[{\"TenGiayTo\":\"Giấy chứng nhận\","
              "\"DuongDanTepTinKetQua\":\"https://motcua.example.gov.vn/files/90233\"}]}",
              "000.20.31.H56");
    memset(guesses, 0, sizeof(guesses));
    n = diff(&m2, &s3, vn("20260307100000"), &m3, ev);
    CHECK_EQ_INT(n, 4, "7.3: fee, payment, resolution, return");
    e = find(ev, n, CHISO_EV_FEE_REQUESTED);
    CHECK(e && e->amount == 100000 && e->at == vn("20260307100000"),
          "a fee of 100,000, at the arrival time");
    e = find(ev, n, CHISO_EV_PAID);
    CHECK(e && e->method == CHISO_PAY_DVCQG_PLATFORM, "paid on the platform (1)");
    e = find(ev, n, CHISO_EV_RESOLVED);
    CHECK(e && e->at == vn("20260306154000") && e->e_result,
          "resolved at NgayKetThucXuLy, e-result");
    e = find(ev, n, CHISO_EV_RETURNED);
    CHECK(e && e->at == vn("20260307090500") && e->delivery == CHISO_DELIVERY_POSTAL,
          "returned at NgayTra, by post");
    CHECK_EQ_INT(guesses[BRIDGE_GUESS_TIME], 2, "the fee and the payment have no time");
    CHECK(m3.channel == CHISO_CHANNEL_DIRECT, "a snapshot without the channel keeps it");

    /* an older snapshot after the newer ones takes nothing back */
    bridge_snapshot m4;
    n = diff(&m3, &s1, vn("20260307110000"), &m4, ev);
    CHECK_EQ_INT(n, 0, "7.1 again after 7.3: nothing");
    CHECK(m4.finished_at == m3.finished_at && m4.e_result && m4.nrounds == 1,
          "facts are never removed");

    /* what is kept in Redis: the merged snapshot, back as it was */
    char kept[BRIDGE_STATE_MAX], again_kept[BRIDGE_STATE_MAX];
    bridge_snapshot back;
    int klen = bridge_snapshot_encode(&m3, kept, sizeof(kept));
    CHECK(klen > 0 && klen < 400, "kept state: %d bytes", klen);
    CHECK_EQ_INT(bridge_snapshot_decode(kept, (size_t)klen, &back), 0, "decodes: %s", kept);
    CHECK(bridge_snapshot_encode(&back, again_kept, sizeof(again_kept)) == klen &&
              strcmp(kept, again_kept) == 0,
          "round trip");
    CHECK(back.finished_at == m3.finished_at && back.e_result && back.nrounds == 1 &&
              back.rounds[0].received_at == vn("20260304083000") && back.delivery == 1 &&
              back.channel == CHISO_CHANNEL_DIRECT && strcmp(back.dossier_id, m3.dossier_id) == 0,
          "every fact back");
    n = diff(&back, &s3, vn("20260307120000"), &m4, ev);
    CHECK_EQ_INT(n, 0, "7.3 again, against the state read back: nothing");
    static const char *const bad[] = {"",
                                      "[]",
                                      "{}",
                                      "{\"id\":\"\"}",
                                      "{\"id\":\"X\",\"st\":11}",
                                      "{\"id\":\"X\",\"f\":\"1\"}",
                                      "{\"id\":\"X\",\"r\":[[1]]}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CHECK_EQ_INT(bridge_snapshot_decode(bad[i], strlen(bad[i]), &back), CHISO_ESTATE,
                     "'%s' is no kept state", bad[i]);
    CHECK_EQ_INT(bridge_snapshot_encode(&m3, kept, 20), CHISO_ERANGE, "a short buffer says so");

    /* deterministic ids: the same dossier's events again have the same ids */
    chiso_event again_ev[BRIDGE_EVENTS_MAX];
    bridge_snapshot x;
    int k = diff(NULL, &s1, vn("20260309000000"), &x, again_ev);
    n = diff(NULL, &s1, vn("20260302100000"), &m1, ev);
    CHECK(k == n && n == 2 && strcmp(ev[0].event_id, again_ev[0].event_id) == 0 &&
              strcmp(ev[1].event_id, again_ev[1].event_id) == 0 &&
              strcmp(ev[0].event_id, ev[1].event_id) != 0,
          "ids depend on the dossier and the fact, not on the arrival");
}

/* What senders leave out or rewrite (BRIDGE.md §4.2, §6). */
static void test_quirks(void)
{
    chiso_event ev[BRIDGE_EVENTS_MAX];
    bridge_snapshot a, b, c, m1, m2, m3;
    const chiso_event *e;
    int n;

    /* no channel, no envelope unit, no due date */
    memset(guesses, 0, sizeof(guesses));
    a = snap("{" ID ",\"NgayTiepNhan\":\"20260302091520\",\"TrangThaiHoSo\":\"2\"}", NULL);
    CHECK(strcmp(a.unit, "000.20.31.H56") == 0 && guesses[BRIDGE_GUESS_UNIT_PREFIX] == 1,
          "the unit from MaHoSo's prefix, counted");
    n = diff(NULL, &a, vn("20260302100000"), &m1, ev);
    e = find(ev, n, CHISO_EV_SUBMITTED);
    CHECK(e && e->channel == CHISO_CHANNEL_DIRECT && e->at == vn("20260302091520") &&
              guesses[BRIDGE_GUESS_CHANNEL] == 1,
          "no KenhThucHien: the default channel (F766: in person), at the reception, counted");
    e = find(ev, n, CHISO_EV_RECEIVED);
    CHECK(e && e->due_at == vn("20260302091520") + 10 * 86400 && guesses[BRIDGE_GUESS_DUE] == 1,
          "no NgayHenTra: due_days after the reception, counted");

    /* a MaHoSo without a unit prefix takes the default */
    b = snap("{\"MaHoSo\":\"HS2026-1\",\"MaTTHC\":\"1.001612\",\"TrangThaiHoSo\":\"2\"}", NULL);
    CHECK(strcmp(b.unit, "000.00.00.H56") == 0 && guesses[BRIDGE_GUESS_UNIT_DEFAULT] == 1,
          "the configured default unit, counted");

    /* status-only supplement rounds: 4 -> 5 -> 4 -> 5 -> 2 */
    static const char *const steps[] = {"4", "5", "4", "5", "2"};
    static const int want[] = {0, 1, 1, 1, 1};
    bridge_snapshot prev = m1, next;
    const char *ids[4] = {0};
    int nid = 0;
    char idbuf[4][CHISO_ID_MAX + 1];
    for (int i = 0; i < 5; i++) {
        char json[256];
        snprintf(json, sizeof(json),
                 "{" ID ",\"NgayTiepNhan\":\"20260302091520\",\"TrangThaiHoSo\":\"%s\"}", steps[i]);
        c = snap(json, "000.20.31.H56");
        n = diff(&prev, &c, vn("20260303000000") + i * 3600, &next, ev);
        CHECK_EQ_INT(n, want[i], "status %s after %d: %d event(s)", steps[i], prev.status, want[i]);
        if (n == 1 && nid < 4) {
            snprintf(idbuf[nid], sizeof(idbuf[nid]), "%s", ev[0].event_id);
            ids[nid] = idbuf[nid];
            nid++;
            CHECK(ev[0].type ==
                      (i % 2 ? CHISO_EV_SUPPLEMENT_REQUESTED : CHISO_EV_SUPPLEMENT_RECEIVED),
                  "5 asks, 4 or 2 after it receives");
            CHECK(ev[0].at == vn("20260303000000") + i * 3600, "at the arrival time");
        }
        prev = next;
    }
    CHECK(nid == 4 && strcmp(ids[0], ids[2]) != 0 && strcmp(ids[1], ids[3]) != 0,
          "two rounds, four distinct events");

    /* HG: 10 without 9 is resolved and returned; 7 withdrawn; 8 stopped; 3 refused */
    a = snap("{" ID ",\"NgayTiepNhan\":\"20260302091520\",\"TrangThaiHoSo\":\"10\","
             "\"NgayTra\":\"20260306100000\",\"HinhThuc\":\"0\"}",
             "000.20.31.H56");
    n = diff(&m1, &a, vn("20260306110000"), &m2, ev);
    CHECK(n == 2 && find(ev, n, CHISO_EV_RESOLVED) && find(ev, n, CHISO_EV_RETURNED) &&
              find(ev, n, CHISO_EV_RETURNED)->delivery == CHISO_DELIVERY_COUNTER,
          "10 alone: resolved (at the arrival) and returned at the desk");
    a = snap("{" ID ",\"NgayTiepNhan\":\"20260302091520\",\"TrangThaiHoSo\":\"7\"}", "U.1");
    n = diff(&m1, &a, vn("20260304000000"), &m2, ev);
    CHECK(n == 1 && ev[0].type == CHISO_EV_WITHDRAWN && ev[0].at == vn("20260304000000"),
          "7: withdrawn at the arrival time");
    a = snap("{" ID ",\"NgayTiepNhan\":\"20260302091520\",\"TrangThaiHoSo\":\"8\","
             "\"NgayKetThucXuLy\":\"20260303120000\"}",
             "U.1");
    n = diff(&m1, &a, vn("20260304000000"), &m2, ev);
    CHECK(n == 1 && ev[0].type == CHISO_EV_STOPPED && ev[0].at == vn("20260303120000"),
          "8: stopped at NgayKetThucXuLy");
    a = snap("{" ID ",\"TrangThaiHoSo\":\"3\",\"NgayTuChoi\":\"20260302100000\"}", "U.1");
    n = diff(NULL, &a, vn("20260302110000"), &m3, ev);
    CHECK(n == 1 && ev[0].type == CHISO_EV_NOT_ACCEPTED && ev[0].at == vn("20260302100000"),
          "3 before reception: not accepted at NgayTuChoi, nothing else");
}

/* Items the bridge refuses (each goes to deadletter with its reason). */
static void test_rejects(void)
{
    static const struct {
        const char *json;
        chiso_reject_reason reason;
        const char *detail;
    } cases[] = {
        {"[1]", CHISO_REJECT_JSON_SYNTAX, "not a JSON object"},
        {"{\"MaTTHC\":\"1.001612\",\"TrangThaiHoSo\":\"2\"}", CHISO_REJECT_MISSING_FIELD,
         "'MaHoSo' is required"},
        {"{\"MaHoSo\":\"a b\",\"MaTTHC\":\"1.001612\",\"TrangThaiHoSo\":\"2\"}",
         CHISO_REJECT_BAD_VALUE, "'MaHoSo' must be"},
        {"{\"MaHoSo\":\"X-1\",\"TrangThaiHoSo\":\"2\"}", CHISO_REJECT_MISSING_FIELD,
         "'MaTTHC' is required"},
        {"{" ID ",\"TrangThaiHoSo\":\"11\"}", CHISO_REJECT_BAD_VALUE,
         "'TrangThaiHoSo' must be 1..10"},
        {"{" ID "}", CHISO_REJECT_MISSING_FIELD, "'TrangThaiHoSo' is required"},
        {"{" ID ",\"TrangThaiHoSo\":\"2\",\"NgayTiepNhan\":\"2026-03-02\"}", CHISO_REJECT_BAD_VALUE,
         "'NgayTiepNhan' must be a date yyyyMMddHHmmss"},
        {"{" ID ",\"TrangThaiHoSo\":\"2\",\"NgayTiepNhan\":\"20260231091520\"}",
         CHISO_REJECT_BAD_VALUE, "'NgayTiepNhan' must be a date"},
        {"{" ID ",\"TrangThaiHoSo\":\"2\",\"KenhThucHien\":\"4\"}", CHISO_REJECT_BAD_VALUE,
         "'KenhThucHien' must be 1..3"},
        {"{" ID ",\"TrangThaiHoSo\":\"2\",\"DanhSachLePhi\":[{\"Gia\":\"-5\"}]}",
         CHISO_REJECT_BAD_VALUE, "'DanhSachLePhi[].Gia'"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cJSON *item = cJSON_Parse(cases[i].json);
        bridge_snapshot s;
        chiso_reject rej;
        CHECK_EQ_INT(bridge_snapshot_parse(item, "000.20.31.H56", &defaults, &s, guesses, &rej),
                     CHISO_EINVAL, "%s is refused", cases[i].json);
        CHECK_EQ_INT(rej.reason, cases[i].reason, "%s: reason", cases[i].json);
        CHECK(strstr(rej.detail, cases[i].detail) != NULL, "%s: '%s' says '%s'", cases[i].json,
              rej.detail, cases[i].detail);
        cJSON_Delete(item);
    }
}

static bridge_step step(const char *json, const char *unit)
{
    bridge_step st;
    chiso_reject rej;
    cJSON *item = cJSON_Parse(json);
    memset(&st, 0, sizeof(st));
    CHECK(item != NULL, "test JSON parses: %.60s", json);
    CHECK_EQ_INT(bridge_step_parse(item, unit, &defaults, &st, guesses, &rej), 0, "%s", rej.detail);
    cJSON_Delete(item);
    return st;
}

/* Progress steps: the time of a status-only fact, before and after the
 * snapshot that shows it; never a fact on their own; kept in the state. */
static void test_steps(void)
{
    chiso_event ev[BRIDGE_EVENTS_MAX];
    bridge_snapshot a, m1, m2, m3, m4, back;
    bridge_step st;
    const chiso_event *e;
    char buf[BRIDGE_STATE_MAX];
    int n;

    memset(guesses, 0, sizeof(guesses));
    a = snap("{" ID ",\"NgayTiepNhan\":\"20260302091520\",\"TrangThaiHoSo\":\"4\"}", NULL);
    diff(NULL, &a, vn("20260302100000"), &m1, ev);

    /* a step alone (a synthetic 9, as Thanh Hóa sends) creates no fact */
    st = step("{\"MaHoSo\":\"000.20.31.H56-260302-00417\",\"TrangThai\":\"9\","
              "\"ThoiDiemXuLy\":\"20260303080000\",\"NoiDungXuLy\":\"Kết thúc\"}",
              NULL);
    CHECK(strcmp(st.unit, "000.20.31.H56") == 0 && st.status == 9 && st.at == vn("20260303080000"),
          "a step parses: unit from the prefix, status, time");
    n = bridge_step_apply(&m1, &st, &defaults, &m2, ev, guesses);
    CHECK_EQ_INT(n, 0, "a step never creates a fact");
    CHECK(m2.step_at[9] == vn("20260303080000"), "the step's time is kept");

    /* withdrawn (7) has no date field: the snapshot takes the arrival,
     * then a step at the real time corrects it, once */
    a = snap("{" ID ",\"NgayTiepNhan\":\"20260302091520\",\"TrangThaiHoSo\":\"7\"}", NULL);
    unsigned before = guesses[BRIDGE_GUESS_TIME];
    n = diff(&m2, &a, vn("20260305170000"), &m3, ev);
    e = find(ev, n, CHISO_EV_WITHDRAWN);
    CHECK(e && e->at == vn("20260305170000") && guesses[BRIDGE_GUESS_TIME] == before + 1,
          "withdrawn at the arrival time, counted as a guess");
    char first_id[CHISO_ID_MAX + 1];
    snprintf(first_id, sizeof(first_id), "%s", e ? e->event_id : "");
    st = step("{\"MaHoSo\":\"000.20.31.H56-260302-00417\",\"TrangThai\":\"7\","
              "\"ThoiDiemXuLy\":\"20260305165900\"}",
              NULL);
    n = bridge_step_apply(&m3, &st, &defaults, &m4, ev, guesses);
    CHECK(n == 1 && ev[0].type == CHISO_EV_WITHDRAWN && ev[0].at == vn("20260305165900") &&
              strcmp(ev[0].event_id, first_id) != 0,
          "an earlier step corrects the withdrawal with a new event at its time");
    n = bridge_step_apply(&m4, &st, &defaults, &m2, ev, guesses);
    CHECK_EQ_INT(n, 0, "the same step again corrects nothing");
    st.at = vn("20260305180000");
    n = bridge_step_apply(&m4, &st, &defaults, &m2, ev, guesses);
    CHECK_EQ_INT(n, 0, "a later step corrects nothing");

    /* a step before the snapshot gives the fact its time; the stored
     * state keeps the steps' and facts' times */
    memset(&m1, 0, sizeof(m1));
    st = step("{\"MaHoSo\":\"X-1\",\"TrangThai\":\"8\",\"ThoiDiemXuLy\":\"20260310090000\"}",
              "000.20.31.H56");
    n = bridge_step_apply(NULL, &st, &defaults, &m1, ev, guesses);
    CHECK(n == 0 && m1.step_at[8] == vn("20260310090000") && m1.paid == -1 && m1.delivery == -1,
          "a step of an unseen dossier is kept, no event");
    a = snap("{\"MaHoSo\":\"X-1\",\"MaTTHC\":\"1.001612\",\"NgayTiepNhan\":"
             "\"20260302091520\",\"TrangThaiHoSo\":\"8\"}",
             "000.20.31.H56");
    before = guesses[BRIDGE_GUESS_TIME];
    n = diff(&m1, &a, vn("20260311000000"), &m2, ev);
    e = find(ev, n, CHISO_EV_STOPPED);
    CHECK(e && e->at == vn("20260310090000") && guesses[BRIDGE_GUESS_TIME] == before,
          "stopped at the step's time, no guess");
    int len = bridge_snapshot_encode(&m2, buf, sizeof(buf));
    CHECK(len > 0 && bridge_snapshot_decode(buf, (size_t)len, &back) == 0 &&
              back.step_at[8] == m2.step_at[8] && back.fact_at[8] == m2.fact_at[8] &&
              memcmp(back.step_at, m2.step_at, sizeof(back.step_at)) == 0,
          "steps' and facts' times survive the stored state: %s", buf);
    CHECK(bridge_snapshot_decode("{\"id\":\"X\",\"sa\":[1,2]}", 21, &back) == CHISO_ESTATE,
          "a stored state with a short step array is refused");

    /* a status-only supplement round timed by a step that came before its
     * snapshot; without one, the arrival; a step older than the last such
     * fact never times the next */
    memset(&m1, 0, sizeof(m1));
    a = snap("{\"MaHoSo\":\"R-1\",\"MaTTHC\":\"1.001612\",\"NgayTiepNhan\":"
             "\"20260302091520\",\"TrangThaiHoSo\":\"4\"}",
             "000.20.31.H56");
    diff(NULL, &a, vn("20260302100000"), &m1, ev);
    st = step("{\"MaHoSo\":\"R-1\",\"TrangThai\":\"5\",\"ThoiDiemXuLy\":\"20260303080000\"}",
              "000.20.31.H56");
    bridge_step_apply(&m1, &st, &defaults, &m2, ev, guesses);
    a.status = 5;
    a.statuses = 1 << 5;
    before = guesses[BRIDGE_GUESS_TIME];
    n = diff(&m2, &a, vn("20260303090000"), &m3, ev);
    e = find(ev, n, CHISO_EV_SUPPLEMENT_REQUESTED);
    CHECK(e && e->at == vn("20260303080000") && guesses[BRIDGE_GUESS_TIME] == before,
          "a status-only request at the time of the step that came first");
    a.status = 4;
    a.statuses = 1 << 4;
    n = diff(&m3, &a, vn("20260305090000"), &m4, ev);
    e = find(ev, n, CHISO_EV_SUPPLEMENT_RECEIVED);
    CHECK(e && e->at == vn("20260305090000") && guesses[BRIDGE_GUESS_TIME] == before + 1,
          "no step for the receipt: the arrival, counted");
    a.status = 5;
    a.statuses = 1 << 5;
    n = diff(&m4, &a, vn("20260306090000"), &m2, ev);
    e = find(ev, n, CHISO_EV_SUPPLEMENT_REQUESTED);
    CHECK(e && e->at == vn("20260306090000"),
          "the first round's step does not time the second round");
    len = bridge_snapshot_encode(&m2, buf, sizeof(buf));
    CHECK(len > 0 && bridge_snapshot_decode(buf, (size_t)len, &back) == 0 &&
              back.round_mark == m2.round_mark && back.step_last[5] == m2.step_last[5],
          "the latest steps and the round mark survive the stored state: %s", buf);

    /* the e-result reading of HinhThuc (bridge.e_result.online) */
    bridge_defaults eres = defaults;
    eres.e_result_online = true;
    static const char *const forms[2] = {"0", "1"};
    for (int post = 0; post < 2; post++) {
        char json[512];
        snprintf(json, sizeof(json),
                 "{" ID ",\"NgayTiepNhan\":\"20260302091520\",\"TrangThaiHoSo\":\"10\","
                 "\"NgayKetThucXuLy\":\"20260303100000\",\"NgayTra\":\"20260304100000\","
                 "\"HinhThuc\":\"%s\",\"DanhSachGiayToKetQua\":[{\"DuongDanTepTinKetQua\":"
                 "\"https://x/kq.pdf\"}]}",
                 forms[post]);
        a = snap(json, NULL);
        before = guesses[BRIDGE_GUESS_DELIVERY];
        n = bridge_diff(NULL, &a, vn("20260305000000"), &eres, &m1, ev, guesses);
        e = find(ev, n, CHISO_EV_RETURNED);
        CHECK(e && e->delivery == (post ? CHISO_DELIVERY_POSTAL : CHISO_DELIVERY_ONLINE) &&
                  e->paper_copy == (post == 1) && guesses[BRIDGE_GUESS_DELIVERY] == before + 1,
              "an e-result with HinhThuc %s reads as returned %s, counted", forms[post],
              post ? "online with a paper copy by post" : "online");
        n = bridge_diff(NULL, &a, vn("20260305000000"), &defaults, &m1, ev, guesses);
        e = find(ev, n, CHISO_EV_RETURNED);
        CHECK(e && e->delivery == (post ? CHISO_DELIVERY_POSTAL : CHISO_DELIVERY_COUNTER) &&
                  !e->paper_copy,
              "without the reading, HinhThuc %s is the %s", forms[post],
              post ? "post without a copy" : "counter");
    }

    /* rejections */
    chiso_reject rej;
    cJSON *bad = cJSON_Parse("{\"MaHoSo\":\"X-1\",\"TrangThai\":\"4\"}");
    CHECK(bridge_step_parse(bad, "U.1", &defaults, &st, guesses, &rej) == CHISO_EINVAL &&
              rej.reason == CHISO_REJECT_MISSING_FIELD && strstr(rej.detail, "ThoiDiemXuLy"),
          "a step without ThoiDiemXuLy is refused: %s", rej.detail);
    cJSON_Delete(bad);
    bad = cJSON_Parse("{\"MaHoSo\":\"X-1\",\"TrangThai\":\"11\",\"ThoiDiemXuLy\":"
                      "\"20260310090000\"}");
    CHECK(bridge_step_parse(bad, "U.1", &defaults, &st, guesses, &rej) == CHISO_EINVAL &&
              rej.reason == CHISO_REJECT_BAD_VALUE,
          "a step with TrangThai 11 is refused: %s", rej.detail);
    cJSON_Delete(bad);
}

int main(void)
{
    test_story();
    test_quirks();
    test_rejects();
    test_steps();
    return CHECK_DONE();
}
