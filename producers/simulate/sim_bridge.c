/*
 * sim_bridge.c - the simulated province's dossiers as DongBoHoSoMC snapshots
 * and CapNhatTienDoHoSoMC steps, grouped into requests (sim_bridge.h).
 */
#include "sim_bridge.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "chiso/common.h"
#include "chiso/strmap.h"
#include "chiso/vntime.h"

#define STREAM_BRIDGE 0x627269646765ULL /* "bridge": the skip and resend draws */

/* Made-up addresses of the province's one-stop system (files it serves). */
#define FILE_BASE "https://motcua.example.gov.vn"

/* ---- times ------------------------------------------------------------------------ */

/* yyyyMMddHHmmss of the calendar day `day` (days since 1970-01-01) and the
 * second `sod` of that day. */
static void put_compact(int32_t day, int64_t sod, char *out)
{
    chiso_date d = chiso_day_to_date(day);
    char *p = out;
    p += chiso_put_padded(p, d.year < 0 ? 0 : d.year % 10000, 4);
    p += chiso_put_padded(p, d.month, 2);
    p += chiso_put_padded(p, d.day, 2);
    p += chiso_put_padded(p, sod / 3600, 2);
    p += chiso_put_padded(p, sod / 60 % 60, 2);
    p += chiso_put_padded(p, sod % 60, 2);
    *p = '\0';
}

void sim_bridge_time(int64_t t, char out[SIM_BRIDGE_TIME_LEN])
{
    int32_t day = chiso_local_day(t);
    put_compact(day, t - chiso_day_start(day), out);
}

void sim_bridge_http_date(int64_t t, char out[SIM_BRIDGE_HTTP_DATE_LEN])
{
    static const char wdays[7][4] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    int64_t days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400); /* floor */
    int64_t sod = t - days * 86400;
    chiso_date d = chiso_day_to_date((int32_t)days); /* a day number is a calendar day */
    int wd = (int)(((days + 3) % 7 + 7) % 7);        /* 1970-01-01 was a Thursday */
    char *p = out;
    memcpy(p, wdays[wd], 3);
    p += 3;
    *p++ = ',';
    *p++ = ' ';
    p += chiso_put_padded(p, d.day, 2);
    *p++ = ' ';
    memcpy(p, months[d.month - 1], 3);
    p += 3;
    *p++ = ' ';
    p += chiso_put_padded(p, d.year < 0 ? 0 : d.year % 10000, 4);
    *p++ = ' ';
    p += chiso_put_padded(p, sod / 3600, 2);
    *p++ = ':';
    p += chiso_put_padded(p, sod / 60 % 60, 2);
    *p++ = ':';
    p += chiso_put_padded(p, sod % 60, 2);
    memcpy(p, " GMT", 5);
}

/* ---- state ------------------------------------------------------------------------- */

typedef struct sb_round {
    int64_t requested_at; /* NgayBoSung */
    int64_t received_at;  /* NgayTiepNhanBoSung, 0 while waiting */
} sb_round;

/* What the province's system knows of a dossier. */
typedef struct sb_dossier {
    char id[CHISO_ID_MAX + 1];
    char procedure[CHISO_CODE_MAX + 1];
    int unit;   /* index into sim_bridge.units */
    int status; /* 1..10 before as9; 0 none yet */
    chiso_channel channel;
    int64_t submitted_at, received_at, due_at, refused_at, finished_at, returned_at;
    int delivery; /* HinhThuc: -1 not returned, 0 counter or online, 1 postal */
    int paid;     /* DuocThanhToanTrucTuyen: 0, 1 platform, 2 gateway */
    int64_t fees; /* VND requested */
    bool digitized, reused, from_store, population, e_result;
    int nrounds;
    sb_round rounds[SIM_BRIDGE_ROUNDS_MAX];
    uint64_t shown;   /* hash of the last snapshot rendered, 0 none */
    bool queued;      /* a snapshot was queued: later ones are updates */
    bool in_first;    /* its first snapshot waits in the unit's batch `first` ... */
    uint64_t first_g; /* ... of this generation */
} sb_dossier;

/* Items waiting for a request: "item,item,...". */
typedef struct sb_batch {
    char *buf;
    size_t len, cap;
    int n;
    int64_t at; /* latest change */
} sb_batch;

typedef struct sb_unit {
    char code[CHISO_CODE_MAX + 1];
    char name[CHISO_NAME_MAX + 1];
    sb_batch first; /* first snapshots: isUpdating False */
    sb_batch later; /* updates: isUpdating True */
    sb_batch steps;
    uint64_t first_gen; /* requests made of `first` */
    bool later_after;   /* `later` holds a dossier whose first snapshot is in `first` */
} sb_unit;

struct sim_bridge {
    sim_bridge_opts o;
    char *session_json; /* the gateway envelope's "session" value, a JSON string */
    const sim_province *pv;
    chiso_map *procs; /* procedure code -> index + 1 into pv->procs */
    chiso_map *dossiers;
    chiso_map *unit_ix; /* unit code -> index + 1 into units */
    sb_unit **units;    /* in order of first use */
    int nunits, capunits;
    sim_rng rng;
    int32_t swept_day;
    sim_bridge_request *q; /* ready requests: q[qhead .. qlen) */
    size_t qhead, qlen, qcap;
    char *item, *step; /* the last change's texts (sim_bridge_change) */
    sim_bridge_stats st;
};

sim_bridge *sim_bridge_new(const sim_bridge_opts *opts, const sim_province *pv, uint64_t seed)
{
    if (opts->batch < 1 || !(opts->skip >= 0 && opts->skip <= 1) ||
        !(opts->resend >= 0 && opts->resend <= 1))
        return NULL;
    sim_bridge *b = calloc(1, sizeof(*b));
    if (!b)
        return NULL;
    b->o = *opts;
    b->o.session = NULL;
    b->pv = pv;
    b->swept_day = INT32_MIN;
    sim_rng_seed(&b->rng, sim_seed_mix(seed, STREAM_BRIDGE, 0));
    cJSON *s = cJSON_CreateString(opts->session ? opts->session : "");
    b->session_json = s ? cJSON_PrintUnformatted(s) : NULL;
    cJSON_Delete(s);
    b->dossiers = chiso_map_new();
    b->unit_ix = chiso_map_new();
    b->procs = chiso_map_new();
    if (!b->session_json || !b->dossiers || !b->unit_ix || !b->procs)
        goto fail;
    for (int i = 0; pv && i < pv->nprocs; i++) {
        chiso_map_entry *e = chiso_map_put(b->procs, pv->procs[i].code, NULL);
        if (!e)
            goto fail;
        e->u64 = (uint64_t)i + 1;
    }
    return b;
fail:
    sim_bridge_free(b);
    return NULL;
}

static void request_clear(sim_bridge_request *r)
{
    free(r->body);
    r->body = NULL;
}

void sim_bridge_free(sim_bridge *b)
{
    if (!b)
        return;
    if (b->dossiers) {
        size_t pos = 0;
        chiso_map_entry *e = NULL;
        while ((e = chiso_map_next(b->dossiers, &pos, e)))
            free(e->ptr);
        chiso_map_destroy(b->dossiers);
    }
    for (int i = 0; i < b->nunits; i++) {
        free(b->units[i]->first.buf);
        free(b->units[i]->later.buf);
        free(b->units[i]->steps.buf);
        free(b->units[i]);
    }
    free(b->units);
    for (size_t i = b->qhead; i < b->qlen; i++)
        request_clear(&b->q[i]);
    free(b->q);
    chiso_map_destroy(b->unit_ix);
    chiso_map_destroy(b->procs);
    free(b->session_json);
    free(b->item);
    free(b->step);
    free(b);
}

void sim_bridge_stats_get(const sim_bridge *b, sim_bridge_stats *out)
{
    *out = b->st;
}

/* The unit of code `code`, created on first use; -1 on OOM. */
static int unit_of(sim_bridge *b, const char *code)
{
    int created = 0;
    chiso_map_entry *e = chiso_map_put(b->unit_ix, code, &created);
    if (!e)
        return -1;
    if (!created)
        return (int)e->u64 - 1;
    if (b->nunits == b->capunits) {
        int cap = b->capunits ? 2 * b->capunits : 64;
        sb_unit **u = realloc(b->units, (size_t)cap * sizeof(*u));
        if (!u) {
            chiso_map_del(b->unit_ix, code);
            return -1;
        }
        b->units = u;
        b->capunits = cap;
    }
    sb_unit *u = calloc(1, sizeof(*u));
    if (!u) {
        chiso_map_del(b->unit_ix, code);
        return -1;
    }
    snprintf(u->code, sizeof(u->code), "%s", code);
    for (int i = 0; b->pv && i < b->pv->nunits; i++) {
        if (strcmp(b->pv->units[i].rec.unit, code) == 0) {
            snprintf(u->name, sizeof(u->name), "%s", b->pv->units[i].rec.name);
            break;
        }
    }
    b->units[b->nunits] = u;
    e->u64 = (uint64_t)++b->nunits;
    return b->nunits - 1;
}

static void release(sim_bridge *b, const char *id)
{
    free(chiso_map_del(b->dossiers, id));
    b->st.live--;
}

/* Once a local day: free the dossiers resolved long ago and never returned. */
static int sweep(sim_bridge *b, int64_t now)
{
    int32_t day = chiso_local_day(now);
    if (day <= b->swept_day)
        return 0;
    b->swept_day = day;
    size_t pos = 0, n = 0, cap = 0;
    char **ids = NULL;
    chiso_map_entry *e = NULL;
    while ((e = chiso_map_next(b->dossiers, &pos, e))) {
        const sb_dossier *d = e->ptr;
        if (d->status != 9 || d->finished_at + SIM_BRIDGE_KEEP_RESOLVED > now)
            continue;
        if (n == cap) {
            size_t c = cap ? 2 * cap : 64;
            char **x = realloc(ids, c * sizeof(*x));
            if (!x) {
                free(ids);
                return CHISO_ENOMEM;
            }
            ids = x;
            cap = c;
        }
        ids[n++] = e->key;
    }
    for (size_t i = 0; i < n; i++) {
        char id[CHISO_ID_MAX + 1];
        snprintf(id, sizeof(id), "%s", ids[i]); /* the key dies with its entry */
        release(b, id);
    }
    free(ids);
    return 0;
}

/* ---- requests ------------------------------------------------------------------------ */

static int batch_add(sb_batch *t, const char *text, int64_t at)
{
    size_t n = strlen(text);
    if (t->len + n + 2 > t->cap) {
        size_t cap = t->cap ? t->cap : 4096;
        while (cap < t->len + n + 2)
            cap *= 2;
        char *x = realloc(t->buf, cap);
        if (!x)
            return CHISO_ENOMEM;
        t->buf = x;
        t->cap = cap;
    }
    if (t->n)
        t->buf[t->len++] = ',';
    memcpy(t->buf + t->len, text, n + 1);
    t->len += n;
    t->n++;
    if (at > t->at)
        t->at = at;
    return 0;
}

/* Make a request of a unit's batch (nothing when empty); `later` only
 * after the first snapshots of its dossiers. */
static int flush(sim_bridge *b, sb_unit *u, sb_batch *t)
{
    if (t->n == 0)
        return 0;
    if (t == &u->later && u->later_after) {
        int rc = flush(b, u, &u->first);
        if (rc != 0)
            return rc;
    }
    bool steps = t == &u->steps;
    int updating = steps ? -1 : t == &u->later;
    const char *svc = steps ? "CapNhatTienDoHoSoMC" : "DongBoHoSoMC";
    const char *upd = updating ? "True" : "False";
    char head[256];
    int hn;
    if (b->o.gateway) {
        /* {"session":<session_json> goes before: the rest of the envelope */
        hn = steps ? snprintf(head, sizeof(head),
                              ",\"madonvi\":\"%s\",\"service\":\"%s\",\"data\":[", u->code, svc)
                   : snprintf(head, sizeof(head),
                              ",\"madonvi\":\"%s\",\"service\":\"%s\",\"isUpdating\":\"%s\","
                              "\"data\":[",
                              u->code, svc, upd);
    } else {
        hn = snprintf(head, sizeof(head), "[");
    }
    if (hn < 0 || (size_t)hn >= sizeof(head))
        return CHISO_ERANGE;
    size_t sl = b->o.gateway ? strlen(b->session_json) : 0;
    const char *open = b->o.gateway ? "{\"session\":" : "";
    const char *close = b->o.gateway ? "]}" : "]";
    size_t len = strlen(open) + sl + (size_t)hn + t->len + strlen(close);
    char *body = malloc(len + 1);
    if (!body)
        return CHISO_ENOMEM;
    char *p = body;
    memcpy(p, open, strlen(open));
    p += strlen(open);
    memcpy(p, b->session_json, sl);
    p += sl;
    memcpy(p, head, (size_t)hn);
    p += hn;
    memcpy(p, t->buf, t->len);
    p += t->len;
    memcpy(p, close, strlen(close) + 1);

    if (b->qlen == b->qcap) {
        if (b->qhead > 0) {
            memmove(b->q, b->q + b->qhead, (b->qlen - b->qhead) * sizeof(*b->q));
            b->qlen -= b->qhead;
            b->qhead = 0;
        }
        if (b->qlen == b->qcap) {
            size_t cap = b->qcap ? 2 * b->qcap : 16;
            sim_bridge_request *x = realloc(b->q, cap * sizeof(*x));
            if (!x) {
                free(body);
                return CHISO_ENOMEM;
            }
            b->q = x;
            b->qcap = cap;
        }
    }
    sim_bridge_request *r = &b->q[b->qlen++];
    memset(r, 0, sizeof(*r));
    r->service = steps ? SIM_BRIDGE_PROGRESS : SIM_BRIDGE_DOSSIERS;
    snprintf(r->unit, sizeof(r->unit), "%s", u->code);
    r->updating = updating;
    r->items = t->n;
    r->at = t->at;
    if (b->o.gateway)
        snprintf(r->target, sizeof(r->target), "/");
    else if (steps)
        snprintf(r->target, sizeof(r->target), "/%s?MaDinhDanhDV=%s", svc, u->code);
    else
        snprintf(r->target, sizeof(r->target), "/%s?MaDinhDanhDV=%s&isUpdating=%s", svc, u->code,
                 upd);
    r->body = body;
    r->len = len;
    b->st.requests++;
    t->len = 0;
    t->n = 0;
    t->at = 0;
    if (t == &u->first)
        u->first_gen++;
    if (!steps)
        u->later_after = false; /* `first` was sent before `later`, or `later` is empty */
    return 0;
}

/* A unit's snapshots, then its steps (a step never precedes its snapshot). */
static int flush_unit(sim_bridge *b, sb_unit *u)
{
    int rc = flush(b, u, &u->first);
    if (rc == 0)
        rc = flush(b, u, &u->later);
    if (rc == 0)
        rc = flush(b, u, &u->steps);
    return rc;
}

int sim_bridge_finish(sim_bridge *b)
{
    for (int i = 0; i < b->nunits; i++) {
        int rc = flush_unit(b, b->units[i]);
        if (rc != 0)
            return rc;
    }
    return 0;
}

bool sim_bridge_pop(sim_bridge *b, sim_bridge_request *out)
{
    if (b->qhead == b->qlen)
        return false;
    *out = b->q[b->qhead++];
    if (b->qhead == b->qlen)
        b->qhead = b->qlen = 0;
    return true;
}

/* Queue a snapshot of d: a dossier's first snapshot in `first`, later ones
 * in `later` (whose request then waits for the first snapshot's). */
static int queue_item(sim_bridge *b, sb_dossier *d, const char *text, int64_t at)
{
    sb_unit *u = b->units[d->unit];
    sb_batch *t;
    int rc;
    if (!d->queued) {
        t = &u->first;
        d->in_first = true;
        d->first_g = u->first_gen;
    } else {
        if (d->in_first && d->first_g == u->first_gen)
            u->later_after = true;
        d->in_first = false;
        t = &u->later;
    }
    if ((rc = batch_add(t, text, at)) != 0)
        return rc;
    d->queued = true;
    b->st.items++;
    return t->n >= b->o.batch ? flush(b, u, t) : 0;
}

static int queue_step(sim_bridge *b, sb_unit *u, const char *text, int64_t at)
{
    int rc = batch_add(&u->steps, text, at);
    if (rc != 0)
        return rc;
    b->st.steps++;
    return u->steps.n >= b->o.batch ? flush_unit(b, u) : 0;
}

/* ---- rendering ------------------------------------------------------------------------- */

/* A Vietnamese person's name, a function of h. */
static void person(uint64_t h, char *out, size_t size)
{
    static const char *const ho[] = {"Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ",
                                     "Đặng",   "Bùi",  "Đỗ", "Ngô",  "Dương", "Lý"};
    static const char *const dem[] = {"Văn", "Thị",  "Minh",  "Đức",   "Thu",
                                      "Hữu", "Ngọc", "Quang", "Thanh", "Hồng"};
    static const char *const ten[] = {"An",     "Bình", "Cường", "Dung", "Giang", "Hà",   "Hải",
                                      "Hoa",    "Hùng", "Hương", "Lan",  "Long",  "Mai",  "Nam",
                                      "Phương", "Sơn",  "Tâm",   "Thảo", "Trung", "Tuấn", "Yến"};
    const size_t nh = sizeof(ho) / sizeof(ho[0]), nd = sizeof(dem) / sizeof(dem[0]),
                 nt = sizeof(ten) / sizeof(ten[0]);
    snprintf(out, size, "%s %s %s", ho[h % nh], dem[h / nh % nd], ten[h / nh / nd % nt]);
}

static uint64_t hash2(const char *a, const char *b)
{
    char key[CHISO_ID_MAX + CHISO_CODE_MAX + 8];
    int n = snprintf(key, sizeof(key), "%s|%s", a, b);
    return chiso_hash64(key, n < 0 ? 0 : (size_t)n < sizeof(key) ? (size_t)n : sizeof(key) - 1);
}

/* The status sent: with as9, 5, 6 and 8 are 9. */
static int shown_status(const sim_bridge *b, int status)
{
    return b->o.as9 && (status == 5 || status == 6 || status == 8) ? 9 : status;
}

static bool put_str(cJSON *o, const char *key, const char *v)
{
    return cJSON_AddStringToObject(o, key, v) != NULL;
}

static bool put_int(cJSON *o, const char *key, long long v)
{
    char buf[24];
    snprintf(buf, sizeof(buf), "%lld", v);
    return put_str(o, key, buf);
}

static bool put_flag(cJSON *o, const char *key, bool v)
{
    return put_str(o, key, v ? "1" : "0");
}

static bool put_time(cJSON *o, const char *key, int64_t t)
{
    char buf[SIM_BRIDGE_TIME_LEN];
    if (!t)
        return put_str(o, key, "");
    sim_bridge_time(t, buf);
    return put_str(o, key, buf);
}

/* An object appended to array a (NULL on OOM). */
static cJSON *push_object(cJSON *a)
{
    cJSON *o = cJSON_CreateObject();
    if (o && !cJSON_AddItemToArray(a, o)) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static const sim_procedure *procedure_of(const sim_bridge *b, const char *code)
{
    chiso_map_entry *e = chiso_map_get(b->procs, code);
    return e ? &b->pv->procs[e->u64 - 1] : NULL;
}

/* The DongBoHoSoMC item of d (compact JSON, malloc'd), NULL on OOM. */
static char *render_item(const sim_bridge *b, const sb_dossier *d)
{
    const sb_unit *u = b->units[d->unit];
    const sim_procedure *p = procedure_of(b, d->procedure);
    char buf[512], name[64];
    cJSON *o = cJSON_CreateObject(), *a, *x;
    bool ok = o != NULL;
    ok = ok && put_str(o, "MaHoSo", d->id) && put_str(o, "MaTTHC", d->procedure) &&
         put_str(o, "TenTTHC", p ? p->name : "");
    if (ok && !b->o.no_channel && d->channel != CHISO_CHANNEL_UNKNOWN)
        ok = put_str(o, "KenhThucHien",
                     d->channel == CHISO_CHANNEL_DIRECT   ? "1"
                     : d->channel == CHISO_CHANNEL_ONLINE ? "2"
                                                          : "3");
    person(chiso_hash64(d->id, strlen(d->id)), name, sizeof(name));
    snprintf(buf, sizeof(buf), "Đề nghị giải quyết thủ tục %s",
             p && p->name[0] ? p->name : d->procedure);
    ok = ok && put_str(o, "ChuHoSo", name) &&
         put_str(o, "LoaiDoiTuong", !p || p->citizen ? "1" : "2") && put_str(o, "MaDoiTuong", "") &&
         put_str(o, "TrichYeuHoSo", buf) && put_time(o, "NgayNopHoSo", d->submitted_at) &&
         put_time(o, "NgayTiepNhan", d->received_at) && put_time(o, "NgayHenTra", d->due_at) &&
         put_int(o, "TrangThaiHoSo", shown_status(b, d->status)) &&
         put_time(o, "NgayTuChoi", d->refused_at) &&
         put_time(o, "NgayKetThucXuLy", d->finished_at) && put_time(o, "NgayTra", d->returned_at) &&
         put_str(o, "HinhThuc",
                 d->delivery < 0 ? ""
                 : d->delivery   ? "1"
                                 : "0") &&
         put_str(o, "DonViXuLy", u->name) && put_str(o, "NoiNopHoSo", "2") &&
         put_flag(o, "HoSoCoThanhPhanSoHoa", d->digitized) &&
         put_flag(o, "TaiKhoanDuocXacThucVoiVNeID", d->population) &&
         put_int(o, "DuocThanhToanTrucTuyen", d->paid);

    /* the submitted files, with their flags, once the desk has received them */
    ok = ok && (a = cJSON_AddArrayToObject(o, "TaiLieuNop")) != NULL;
    if (ok && d->received_at) {
        snprintf(buf, sizeof(buf), FILE_BASE "/hoso/%s/1.pdf", d->id);
        char fid[CHISO_ID_MAX + 4];
        snprintf(fid, sizeof(fid), "%s-1", d->id);
        ok = (x = push_object(a)) && put_str(x, "TepDinhKemId", fid) &&
             put_str(x, "TenTepDinhKem", "Đơn đề nghị.pdf") && put_str(x, "IsDeleted", "False") &&
             put_str(x, "MaThanhPhanHoSo", "") && put_str(x, "DuongDanTaiTepTin", buf) &&
             put_flag(x, "DuocSoHoa", d->digitized) && put_flag(x, "DuocTaiSuDung", d->reused) &&
             put_flag(x, "DuocLayTuKhoDMQG", d->from_store) && put_str(x, "MaKetQuaThayThe", "");
    }
    ok = ok && (a = cJSON_AddArrayToObject(o, "DanhSachLePhi")) != NULL;
    if (ok && d->fees > 0)
        ok = (x = push_object(a)) &&
             put_str(x, "TenPhiLePhi", "Phí, lệ phí giải quyết thủ tục hành chính") &&
             put_str(x, "MaPhiLePhi", "1") && put_str(x, "HinhThucThu", "1") &&
             put_int(x, "Gia", d->fees) && put_str(x, "LoaiPhiLePhi", "1");
    ok = ok && (a = cJSON_AddArrayToObject(o, "DanhSachHoSoBoSung")) != NULL;
    for (int i = 0; ok && !b->o.no_rounds && i < d->nrounds; i++)
        ok = (x = push_object(a)) && put_int(x, "HoSoBoSungId", i + 1) &&
             put_str(x, "NoiDungBoSung", "Bổ sung giấy tờ theo yêu cầu") &&
             put_time(x, "NgayBoSung", d->rounds[i].requested_at) &&
             put_time(x, "NgayTiepNhanBoSung", d->rounds[i].received_at) &&
             put_str(x, "TrangThaiBoSung", d->rounds[i].received_at ? "1" : "0");
    ok = ok && (a = cJSON_AddArrayToObject(o, "DanhSachGiayToKetQua")) != NULL;
    if (ok && d->e_result && d->finished_at) {
        char title[CHISO_NAME_MAX + 64], code[CHISO_CODE_MAX + 4];
        snprintf(buf, sizeof(buf), FILE_BASE "/ketqua/%s.pdf", d->id);
        snprintf(title, sizeof(title), "Kết quả giải quyết thủ tục %s",
                 p && p->name[0] ? p->name : d->procedure);
        snprintf(code, sizeof(code), "KQ.%s", d->procedure);
        ok = (x = push_object(a)) && put_str(x, "TenGiayTo", title) &&
             put_str(x, "MaThanhPhanHoSo", "") && put_str(x, "GiayToId", d->id) &&
             put_str(x, "DuongDanTepTinKetQua", buf) && put_str(x, "MaGiayToKetQua", code);
    }
    char *text = ok ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    return text;
}

/* The step of event ev (the dossier's status after it: `status`). */
static char *render_step(const sim_bridge *b, const sb_dossier *d, const chiso_event *ev,
                         int status)
{
    const char *what = "Cập nhật hồ sơ";
    int who = 2; /* 0 the applicant, 1 the one-stop desk, 2 the processing official */
    switch (ev->type) {
    case CHISO_EV_SUBMITTED:
        what = ev->channel == CHISO_CHANNEL_ONLINE   ? "Nộp hồ sơ trực tuyến"
               : ev->channel == CHISO_CHANNEL_POSTAL ? "Nộp hồ sơ qua dịch vụ bưu chính"
                                                     : "Nộp hồ sơ trực tiếp";
        who = 0;
        break;
    case CHISO_EV_RECEIVED:
        what = "Tiếp nhận hồ sơ";
        who = 1;
        break;
    case CHISO_EV_NOT_ACCEPTED:
        what = "Từ chối tiếp nhận hồ sơ";
        who = 1;
        break;
    case CHISO_EV_PROCESSING:
        what = "Chuyển xử lý hồ sơ";
        break;
    case CHISO_EV_SUPPLEMENT_REQUESTED:
        what = "Yêu cầu bổ sung hồ sơ";
        break;
    case CHISO_EV_SUPPLEMENT_RECEIVED:
        what = "Tiếp nhận hồ sơ bổ sung";
        who = 1;
        break;
    case CHISO_EV_FEE_REQUESTED:
        what = "Yêu cầu thực hiện nghĩa vụ tài chính";
        break;
    case CHISO_EV_PAID:
        what = "Thanh toán phí, lệ phí trực tuyến";
        who = 0;
        break;
    case CHISO_EV_RESOLVED:
        what = "Đã xử lý xong, chuyển trả kết quả";
        break;
    case CHISO_EV_RETURNED:
        what = ev->delivery == CHISO_DELIVERY_POSTAL   ? "Trả kết quả qua bưu chính"
               : ev->delivery == CHISO_DELIVERY_ONLINE ? "Trả kết quả trực tuyến"
                                                       : "Trả kết quả tại bộ phận một cửa";
        who = 1;
        break;
    case CHISO_EV_WITHDRAWN:
        what = "Công dân yêu cầu rút hồ sơ";
        who = 0;
        break;
    case CHISO_EV_STOPPED:
        what = "Dừng xử lý hồ sơ";
        break;
    default:
        break;
    }
    char name[64];
    const sb_unit *u = b->units[d->unit];
    person(who == 0   ? chiso_hash64(d->id, strlen(d->id))
           : who == 1 ? hash2(u->code, "mot-cua")
                      : hash2(u->code, d->procedure),
           name, sizeof(name));
    cJSON *o = cJSON_CreateObject();
    bool ok = o && put_str(o, "MaHoSo", d->id) && put_str(o, "NguoiXuLy", name) &&
              put_time(o, "ThoiDiemXuLy", ev->at) && put_str(o, "NoiDungXuLy", what) &&
              put_int(o, "TrangThai", status);
    char *text = ok ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    return text;
}

/* ---- the change --------------------------------------------------------------------------- */

/* Apply ev to d; true when it ends the dossier (its state is then freed). */
static bool apply(sb_dossier *d, const chiso_event *ev)
{
    switch (ev->type) {
    case CHISO_EV_SUBMITTED:
        d->status = 1;
        d->submitted_at = ev->at;
        d->channel = ev->channel;
        return false;
    case CHISO_EV_RECEIVED:
        d->status = 2;
        d->received_at = ev->at;
        d->due_at = ev->due_at;
        d->digitized = ev->digitized;
        d->reused = ev->reused_data;
        d->from_store = ev->from_data_store;
        d->population = ev->population_data;
        return false;
    case CHISO_EV_NOT_ACCEPTED:
        d->status = 3;
        d->refused_at = ev->at;
        return true;
    case CHISO_EV_PROCESSING:
        if (d->status <= 2)
            d->status = 4;
        return false;
    case CHISO_EV_SUPPLEMENT_REQUESTED:
        d->status = 5;
        if (d->nrounds < SIM_BRIDGE_ROUNDS_MAX)
            d->rounds[d->nrounds++] = (sb_round){.requested_at = ev->at};
        return false;
    case CHISO_EV_SUPPLEMENT_RECEIVED:
        d->status = 4;
        for (int i = 0; i < d->nrounds; i++) {
            if (!d->rounds[i].received_at) {
                d->rounds[i].received_at = ev->at;
                break;
            }
        }
        return false;
    case CHISO_EV_FEE_REQUESTED:
        d->fees += ev->amount;
        if (d->status != 5)
            d->status = 6;
        return false;
    case CHISO_EV_PAID:
        if (ev->method == CHISO_PAY_DVCQG_PLATFORM)
            d->paid = 1;
        else if (ev->method == CHISO_PAY_PROVINCIAL_GATEWAY)
            d->paid = 2;
        return false;
    case CHISO_EV_RESOLVED:
        d->status = 9;
        d->finished_at = ev->at;
        d->e_result = ev->e_result;
        return false;
    case CHISO_EV_RETURNED:
        d->status = 10;
        d->returned_at = ev->at;
        d->delivery = ev->delivery == CHISO_DELIVERY_POSTAL ? 1 : 0;
        return true;
    case CHISO_EV_WITHDRAWN:
        d->status = 7;
        return true;
    case CHISO_EV_STOPPED:
        d->status = 8;
        d->finished_at = ev->at;
        return true;
    default:
        return false;
    }
}

/* The state of ev's dossier, created when not kept; NULL on OOM. */
static sb_dossier *dossier_of(sim_bridge *b, const chiso_event *ev)
{
    int created = 0;
    chiso_map_entry *e = chiso_map_put(b->dossiers, ev->dossier_id, &created);
    if (!e)
        return NULL;
    if (!created)
        return e->ptr;
    sb_dossier *d = calloc(1, sizeof(*d));
    int unit = unit_of(b, ev->unit);
    if (!d || unit < 0) {
        free(d);
        chiso_map_del(b->dossiers, ev->dossier_id);
        return NULL;
    }
    snprintf(d->id, sizeof(d->id), "%s", ev->dossier_id);
    snprintf(d->procedure, sizeof(d->procedure), "%s", ev->procedure);
    d->unit = unit;
    d->delivery = -1;
    e->ptr = d;
    if (++b->st.live > b->st.peak)
        b->st.peak = b->st.live;
    return d;
}

int sim_bridge_feed(sim_bridge *b, const chiso_event *ev, sim_bridge_change *chg)
{
    sim_bridge_change none;
    if (!chg)
        chg = &none;
    memset(chg, 0, sizeof(*chg));
    free(b->item);
    free(b->step);
    b->item = b->step = NULL;
    if (sweep(b, ev->at) != 0)
        return CHISO_ENOMEM;
    switch (ev->type) {
    case CHISO_EV_SUBMITTED:
    case CHISO_EV_RECEIVED:
    case CHISO_EV_NOT_ACCEPTED:
    case CHISO_EV_PROCESSING:
    case CHISO_EV_SUPPLEMENT_REQUESTED:
    case CHISO_EV_SUPPLEMENT_RECEIVED:
    case CHISO_EV_FEE_REQUESTED:
    case CHISO_EV_PAID:
    case CHISO_EV_RESOLVED:
    case CHISO_EV_RETURNED:
    case CHISO_EV_WITHDRAWN:
    case CHISO_EV_STOPPED:
        break;
    default:
        return 0; /* requirement, synced, rated, complaint: no field shows them */
    }
    sb_dossier *d = dossier_of(b, ev);
    if (!d)
        return CHISO_ENOMEM;
    bool end = apply(d, ev);
    char *item = render_item(b, d);
    if (!item)
        return CHISO_ENOMEM;
    uint64_t h = chiso_hash64(item, strlen(item));
    int rc = 0;
    if (h == d->shown) {
        free(item);
        goto out;
    }
    d->shown = h;
    b->st.changes++;
    rc = 1;
    chg->status = shown_status(b, d->status);
    chg->updating = d->queued;
    /* the skip quirk: this state is not sent; a dossier's end always is */
    if (!end && b->o.skip > 0 && sim_rng_chance(&b->rng, b->o.skip)) {
        chg->skipped = true;
        b->st.skipped++;
        free(item);
        goto out;
    }
    b->item = item;
    chg->item = item;
    int qrc = queue_item(b, d, item, ev->at);
    if (qrc == 0 && b->o.resend > 0 && sim_rng_chance(&b->rng, b->o.resend)) {
        chg->resent = true;
        b->st.resent++;
        qrc = queue_item(b, d, item, ev->at);
    }
    if (qrc == 0 && !b->o.no_steps) {
        b->step = render_step(b, d, ev, chg->status);
        chg->step = b->step;
        qrc = b->step ? queue_step(b, b->units[d->unit], b->step, ev->at) : CHISO_ENOMEM;
    }
    if (qrc != 0)
        rc = qrc;
out:
    if (end)
        release(b, d->id);
    return rc;
}
