/*
 * sim_bridge.h - the simulated province as its one-stop system would push it
 * to the national portal (../shared/BRIDGE.md): `DongBoHoSoMC` dossier
 * snapshots and `CapNhatTienDoHoSoMC` progress steps, grouped into the
 * requests `chiso-simulate --output bridge` posts to chiso-bridge. Pure: no
 * I/O, no clock; its randomness (the skip and resend quirks) comes from its
 * own seeded stream, so the same seed gives the same requests.
 *
 * Feed it the dossier events in time order. It keeps each dossier's state
 * (a hash map by dossier id) and, at each event that changes what the
 * dossier's snapshot shows, renders the whole current snapshot (one
 * `DongBoHoSoMC` item) and one progress step for that change, as OpenCPS
 * sends one step after each snapshot.
 *
 * What an event does to the snapshot (field names and formats as
 * producers/bridge/map.c parses them; every scalar is a JSON string, dates
 * "yyyyMMddHHmmss" in Vietnam time, "" for a date not known yet):
 *
 *   submitted             TrangThaiHoSo 1, NgayNopHoSo, KenhThucHien (1 direct,
 *                         2 online, 3 postal)
 *   received              2, NgayTiepNhan, NgayHenTra (due_at); the flags:
 *                         HoSoCoThanhPhanSoHoa and TaiLieuNop[].DuocSoHoa
 *                         (digitized), TaiLieuNop[].DuocTaiSuDung (reused_data),
 *                         TaiLieuNop[].DuocLayTuKhoDMQG (from_data_store),
 *                         TaiKhoanDuocXacThucVoiVNeID (population_data)
 *   not_accepted          3, NgayTuChoi
 *   processing            4 (nothing when already 4)
 *   supplement_requested  5, a DanhSachHoSoBoSung round with NgayBoSung
 *   supplement_received   4, the round's NgayTiepNhanBoSung
 *   fee_requested         6, DanhSachLePhi [{Gia: amount}]; while the dossier
 *                         waits for a supplement (5) the status stays 5 (the
 *                         fee shows in DanhSachLePhi), so that the bridge still
 *                         sees the 5 -> 4 of the supplement's receipt
 *   paid                  status unchanged; DuocThanhToanTrucTuyen "1"
 *                         (dvcqg_platform) or "2" (provincial_gateway); cash
 *                         and bank transfer are no online payment: nothing
 *   resolved              9, NgayKetThucXuLy; DanhSachGiayToKetQua with a
 *                         DuongDanTepTinKetQua link when e_result. The payload
 *                         has no outcome: a denied dossier is a 9 as well
 *   returned              10, NgayTra, HinhThuc "1" postal, "0" counter or
 *                         online (HinhThuc is "" until then: the bridge keeps
 *                         the first value given)
 *   withdrawn             7 (the payload has no date for it)
 *   stopped               8, NgayKetThucXuLy
 *   requirement, synced,  nothing: the payload has no field for them
 *   rated, complaint
 *
 * An event produces something only when the rendered snapshot differs from
 * the dossier's previous one (so `processing` at 4, a cash payment, ...
 * produce nothing). Before its reception a dossier's flags are "0" and
 * TaiLieuNop is empty; DuocThanhToanTrucTuyen is "0" until paid online.
 *
 * A dossier's state is freed at its end (returned, not_accepted, withdrawn,
 * stopped), and a dossier resolved but never returned is freed
 * SIM_BRIDGE_KEEP_RESOLVED after its resolution (the model returns within a
 * week): memory is bounded by the dossiers in progress. An event of a
 * dossier no longer kept starts a new state (it does not occur with the
 * model's lifecycles).
 *
 * Requests: items are grouped per unit (the unit is per request), at most
 * opts.batch per request, and, since isUpdating is per request too, per
 * unit into a batch of first snapshots (isUpdating False) and a batch of
 * later ones (True). A batch becomes a request when it is full, and every
 * pending batch at sim_bridge_finish(). Order: within a request, time order;
 * a dossier's snapshots go out in time order (its first snapshot's batch is
 * sent before a later snapshot is queued); a unit's steps are sent only
 * after every snapshot of that unit queued before them, so a step never
 * precedes its snapshot. Each request carries the simulated time of its
 * latest change (for the HTTP Date header).
 */
#ifndef CHISO_SIM_BRIDGE_H
#define CHISO_SIM_BRIDGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chiso/event.h"
#include "sim_model.h"

#define SIM_BRIDGE_ROUNDS_MAX    8 /* supplement rounds shown (producers/bridge's limit) */
#define SIM_BRIDGE_KEEP_RESOLVED (30 * 86400) /* a resolved dossier waits this long for return */
#define SIM_BRIDGE_TIME_LEN      15           /* "yyyyMMddHHmmss" and its NUL */
#define SIM_BRIDGE_HTTP_DATE_LEN 30           /* "Tue, 01 Jul 2025 01:00:00 GMT" and NUL */

/* How the province sends (the real senders' quirks, BRIDGE.md; each off by
 * default, i.e. zero). */
typedef struct sim_bridge_opts {
    int batch;           /* items (or steps) per request, >= 1 */
    bool gateway;        /* the gateway envelope {session, madonvi, service, isUpdating,
                            data}, else the bare array (unit and isUpdating in the query) */
    const char *session; /* the gateway envelope's session (NULL: "") */
    bool as9;            /* statuses 5, 6, 8 sent as 9, in snapshots and steps (Thanh Hóa) */
    bool no_channel;     /* KenhThucHien left out (OpenCPS, Hà Giang) */
    bool no_rounds;      /* DanhSachHoSoBoSung always empty (every client seen) */
    bool no_steps;       /* no progress steps */
    double skip;   /* P(a change is not sent, nor its step: the next snapshot carries the later
                      state, as OpenCPS coalesces); a dossier's end (3, 7, 8, 10) is always sent */
    double resend; /* P(a snapshot is queued twice) */
} sim_bridge_opts;

typedef enum sim_bridge_service {
    SIM_BRIDGE_DOSSIERS = 1, /* DongBoHoSoMC */
    SIM_BRIDGE_PROGRESS,     /* CapNhatTienDoHoSoMC */
} sim_bridge_service;

/* One request to post: POST <base url><target>, body `body`. */
typedef struct sim_bridge_request {
    sim_bridge_service service;
    char unit[CHISO_CODE_MAX + 1];
    int updating;    /* isUpdating of a DongBoHoSoMC request (0/1); -1 for steps */
    int items;       /* items (or steps) in data */
    int64_t at;      /* simulated time of the latest change in it (the Date header) */
    char target[96]; /* "/DongBoHoSoMC?MaDinhDanhDV=<unit>&isUpdating=True",
                        "/CapNhatTienDoHoSoMC?MaDinhDanhDV=<unit>", or "/" (gateway) */
    char *body;      /* owned: the caller frees it with free() */
    size_t len;
} sim_bridge_request;

/* What one event produced (sim_bridge_feed). The texts are valid until the
 * next call on the same sim_bridge. */
typedef struct sim_bridge_change {
    int status;       /* TrangThaiHoSo as sent (after as9) */
    bool skipped;     /* the skip quirk: nothing queued */
    bool updating;    /* the dossier had a snapshot queued before (isUpdating) */
    bool resent;      /* queued twice */
    const char *item; /* the DongBoHoSoMC item, compact JSON; NULL when skipped */
    const char *step; /* the CapNhatTienDoHoSoMC step; NULL when skipped or no_steps */
} sim_bridge_change;

typedef struct sim_bridge_stats {
    uint64_t changes;  /* events that changed a snapshot */
    uint64_t skipped;  /* changes not sent (skip) */
    uint64_t items;    /* snapshot items queued (a resend counts twice) */
    uint64_t resent;   /* snapshots queued a second time */
    uint64_t steps;    /* progress steps queued */
    uint64_t requests; /* requests made */
    uint64_t live;     /* dossiers kept now */
    uint64_t peak;     /* most dossiers kept at once */
} sim_bridge_stats;

typedef struct sim_bridge sim_bridge;

/* A converter. `pv` (may be NULL) gives the procedure and unit names
 * (TenTTHC, DonViXuLy; "" without it) and must outlive the converter;
 * `seed` seeds the skip and resend draws. NULL on OOM or bad options
 * (batch < 1, a probability outside 0..1). */
sim_bridge *sim_bridge_new(const sim_bridge_opts *opts, const sim_province *pv, uint64_t seed);
void sim_bridge_free(sim_bridge *b);

/* Feed the next event (time order). Returns 1 when it changed the
 * dossier's snapshot (*chg filled, chg may be NULL), 0 when it changed
 * nothing, CHISO_ENOMEM. */
int sim_bridge_feed(sim_bridge *b, const chiso_event *ev, sim_bridge_change *chg);

/* Make requests of every pending batch (end of the run). 0 or CHISO_ENOMEM. */
int sim_bridge_finish(sim_bridge *b);

/* The next request to post, in order: returns true and moves it into *out
 * (the caller frees out->body), false when none is ready. */
bool sim_bridge_pop(sim_bridge *b, sim_bridge_request *out);

void sim_bridge_stats_get(const sim_bridge *b, sim_bridge_stats *out);

/* "yyyyMMddHHmmss" in Vietnam local time (UTC+7), as the payloads carry
 * dates. */
void sim_bridge_time(int64_t t, char out[SIM_BRIDGE_TIME_LEN]);

/* The HTTP date (RFC 7231 IMF-fixdate, GMT) of t: "Tue, 01 Jul 2025 01:00:00 GMT". */
void sim_bridge_http_date(int64_t t, char out[SIM_BRIDGE_HTTP_DATE_LEN]);

#endif
