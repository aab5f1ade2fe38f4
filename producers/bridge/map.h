/*
 * producers/bridge: chiso-bridge, the payloads provinces send the national portal into events:
 * map.h (this: a snapshot and the events its change adds, pure, library chiso_bridge_map).
 *
 * map.h - what a province's `DongBoHoSoMC` snapshot of a dossier says
 * (../shared/BRIDGE.md §2-4), and the CONTRACT events that the change from
 * the last snapshot accepted for the same MaHoSo adds (docs/bridge.md has
 * the mapping table and the senders' quirks). Pure: no I/O, no clock; the
 * arrival time is passed in.
 *
 * A snapshot is last-writer-wins state for its dossier, but facts are never
 * removed: the bridge keeps the union of every snapshot accepted (the
 * "merged" snapshot), and each fact becomes one event the first time it
 * appears, with a deterministic id, so the same snapshot sent again emits
 * nothing and a later snapshot that lost a field takes nothing back. A fact
 * the payload carries no time for (a withdrawal, a payment, a status-only
 * supplement request) takes the arrival time, and is counted as a guess.
 */
#ifndef CHISO_BRIDGE_MAP_H
#define CHISO_BRIDGE_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "chiso/event.h"

#define BRIDGE_ROUNDS_MAX 8  /* supplement rounds kept per dossier */
#define BRIDGE_EVENTS_MAX 32 /* events one snapshot can add, at most */

/* One supplement round (DanhSachHoSoBoSung[]): times, 0 when not given. */
typedef struct bridge_round {
    int64_t requested_at; /* NgayBoSung */
    int64_t received_at;  /* NgayTiepNhanBoSung */
} bridge_round;

/* What the bridge knows of a dossier (plain value struct). Times are epoch
 * seconds, 0 when not given. */
typedef struct bridge_snapshot {
    char dossier_id[CHISO_ID_MAX + 1]; /* MaHoSo */
    char unit[CHISO_CODE_MAX + 1];
    char procedure[CHISO_CODE_MAX + 1]; /* MaTTHC */
    int status;                         /* TrangThaiHoSo, 1..10 */
    int statuses;                       /* bit s: status s was seen (merged snapshots) */
    chiso_channel channel;              /* KenhThucHien; UNKNOWN when not given */
    int64_t submitted_at;               /* NgayNopHoSo */
    int64_t received_at;                /* NgayTiepNhan */
    int64_t due_at;                     /* NgayHenTra (the first given) */
    int64_t refused_at;                 /* NgayTuChoi */
    int64_t finished_at;                /* NgayKetThucXuLy */
    int64_t returned_at;                /* NgayTra */
    int delivery;                       /* HinhThuc: 0 at the desk, 1 by post, -1 not given */
    int paid;                           /* DuocThanhToanTrucTuyen: 0..3, -1 not given */
    int64_t fees;                       /* sum of DanhSachLePhi[].Gia, VND */
    bool digitized;  /* HoSoCoThanhPhanSoHoa = 1, or a TaiLieuNop with DuocSoHoa = 1 */
    bool reused;     /* a TaiLieuNop with DuocTaiSuDung 1 or 2, or a MaKetQuaThayThe */
    bool from_store; /* a TaiLieuNop with DuocLayTuKhoDMQG = 1 */
    bool population; /* TaiKhoanDuocXacThucVoiVNeID = 1, or DSKetNoiCSDL names the population DB */
    bool e_result;   /* a DanhSachGiayToKetQua with a DuongDanTepTinKetQua link */
    int nrounds;
    bridge_round rounds[BRIDGE_ROUNDS_MAX];
    /* supplement requests known by status 5 alone (no round in the
     * payload): how many times the status went to 5 (merged snapshots) */
    int status_rounds;
    /* progress steps (CapNhatTienDoHoSoMC): the earliest ThoiDiemXuLy of a
     * step with each TrangThai, 0 when none came */
    int64_t step_at[11];
    /* the latest ThoiDiemXuLy of a step with each TrangThai, and the time
     * of the last status-only supplement fact emitted: a step newer than
     * that, come before the snapshot, times the next status-only round */
    int64_t step_last[11];
    int64_t round_mark;
    /* the time a status-only fact (3, 6, 7, 8, 9, 10) was emitted at when
     * it came from the arrival time or a step, 0 when from a payload date
     * or not emitted: an earlier step corrects it */
    int64_t fact_at[11];
} bridge_snapshot;

/* One CapNhatTienDoHoSoMC step (BRIDGE.md §5.2): what matters to chiso. */
typedef struct bridge_step {
    char dossier_id[CHISO_ID_MAX + 1]; /* MaHoSo */
    char unit[CHISO_CODE_MAX + 1];     /* the envelope's, else MaHoSo's prefix, else the default */
    int status;                        /* TrangThai, 1..10 */
    int64_t at;                        /* ThoiDiemXuLy */
} bridge_step;

/* What the bridge fills in when the payload does not say (each use counted). */
typedef struct bridge_defaults {
    const char *unit; /* a unit neither the envelope nor the MaHoSo prefix gives; may be NULL */
    chiso_channel channel;     /* KenhThucHien missing (F766 reads it as in person: direct) */
    int due_days;              /* NgayHenTra missing: due this many days after reception */
    const char *population_db; /* the MaCSDL of the population database */
    /* HinhThuc has no code for a result returned online: with this set, a
     * dossier with an e-result link is read as returned online (HinhThuc 1:
     * and a paper copy by post), counted as a guess; else HinhThuc 0 is the
     * counter and 1 the post without a paper copy */
    bool e_result_online;
} bridge_defaults;

/* What was guessed: the counters of chiso_bridge_guesses_total{what}. */
typedef enum bridge_guess {
    BRIDGE_GUESS_UNIT_PREFIX = 0, /* unit from the MaHoSo prefix */
    BRIDGE_GUESS_UNIT_DEFAULT,    /* unit from the configured default */
    BRIDGE_GUESS_CHANNEL,         /* channel from the configured default */
    BRIDGE_GUESS_DUE,             /* due date from due_days */
    BRIDGE_GUESS_TIME,            /* an event at the arrival time */
    BRIDGE_GUESS_DELIVERY,        /* returned online, read from an e-result link */
    BRIDGE_GUESS_COUNT
} bridge_guess;

/* Whether s is 1..max characters of [A-Za-z0-9] and of `extra` (the
 * contract's codes and ids). */
bool bridge_code_ok(const char *s, size_t max, const char *extra);

/* The label of a guess counter ("unit_prefix", ...). */
const char *bridge_guess_name(bridge_guess g);

/* Parse one `data[]` item of DongBoHoSoMC. `envelope_unit` is the unit of
 * the envelope (madonvi, or MaDinhDanhDV of the query string), or NULL.
 * Returns 0, or CHISO_EINVAL with a reason and a sentence in *rej (no
 * MaHoSo, an unparsable date, an unknown status, ...). guesses[] counts
 * the defaults used. */
int bridge_snapshot_parse(const cJSON *item, const char *envelope_unit, const bridge_defaults *d,
                          bridge_snapshot *out, unsigned guesses[BRIDGE_GUESS_COUNT],
                          chiso_reject *rej);

/* The events that `cur` adds to what the bridge knew (`prev`, NULL for a
 * dossier not seen before), at arrival time `now`: written to out (room
 * for BRIDGE_EVENTS_MAX), their number returned; *merged gets the union to
 * store as the new `prev`. guesses[] counts the defaults used. */
int bridge_diff(const bridge_snapshot *prev, const bridge_snapshot *cur, int64_t now,
                const bridge_defaults *d, bridge_snapshot *merged, chiso_event *out,
                unsigned guesses[BRIDGE_GUESS_COUNT]);

/* Parse one `data[]` item of CapNhatTienDoHoSoMC (MaHoSo, TrangThai and
 * ThoiDiemXuLy required; the unit as for a snapshot). Returns 0, or
 * CHISO_EINVAL with a reason and a sentence in *rej. */
int bridge_step_parse(const cJSON *item, const char *envelope_unit, const bridge_defaults *d,
                      bridge_step *out, unsigned guesses[BRIDGE_GUESS_COUNT], chiso_reject *rej);

/* What a progress step adds to what the bridge knew of its dossier (`prev`,
 * NULL when not seen): the step's time becomes the time of its status's
 * fact when a later snapshot shows it (rather than the arrival time), and
 * a fact already emitted at a later time than the step's (a guess, or a
 * later step) is corrected by a new event at the step's time (classify
 * keeps the earliest occurrence of a single fact). A step never creates a
 * fact on its own: senders synthesize steps (Thanh Hóa sends a 9 at the
 * time of a supplement request, BRIDGE.md §5.3). Supplement rounds are
 * never corrected (a second occurrence would be a second round). Returns
 * the number of events written to out (room for BRIDGE_EVENTS_MAX); *merged
 * gets the state to keep. */
int bridge_step_apply(const bridge_snapshot *prev, const bridge_step *st, const bridge_defaults *d,
                      bridge_snapshot *merged, chiso_event *out,
                      unsigned guesses[BRIDGE_GUESS_COUNT]);

/* The `synced` event of a dossier the national portal acknowledged (the
 * bridge in the sync path, at the portal's answer): one id per dossier,
 * so every later acknowledgement is the same fact (classify keeps the
 * earliest). */
void bridge_synced_event(const bridge_snapshot *s, int64_t at, chiso_event *out);

/* What the bridge keeps of a dossier in Redis: the merged snapshot as
 * compact JSON (short keys, times in epoch seconds, absent values left
 * out). Encode returns the length written (without the NUL) or
 * CHISO_ERANGE; decode returns 0, or CHISO_ESTATE for bytes that are not
 * such a record (the bridge then treats the dossier as not seen). */
#define BRIDGE_STATE_MAX 1024
int bridge_snapshot_encode(const bridge_snapshot *s, char *buf, size_t size);
int bridge_snapshot_decode(const char *buf, size_t len, bridge_snapshot *out);

#endif
