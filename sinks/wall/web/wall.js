/*
 * wall.js - the monitoring wall's page: plain JavaScript, no framework, no
 * request to anywhere but this server (the CSP forbids it anyway).
 *
 * Data flow: one EventSource on /events?period=P. Its `hello` (sent on
 * every connection, so after a server restart too) triggers a refetch of
 * the whole view from the JSON API; then `scores`, `alerts`, `today` and
 * `periods` events patch it. Every row and snapshot carries the server's
 * sequence number (`seq`, header X-Chiso-Seq), so an older API answer never
 * overwrites a newer pushed row. A stream that fails for good (a non-200
 * answer) or stays silent past the server's pings is reopened with backoff.
 *
 * Every figure is shown as the snapshot has it, in Vietnamese format
 * (core/src/vnfmt.c): '.' groups thousands, ',' is the decimal mark.
 * Elements carry stable ids and data attributes for tests (docs/wall.md).
 *
 * "Đúng hạn" is indicator #5's rate (the national portal's population D:
 * dossiers received or processed in the period), the figure behind group
 * 2's points, never the snapshot's `on_time` object (the quarterly
 * report's rate over resolved dossiers). The points still to win are the
 * indicators' `need` and `gain`, as the snapshot has them.
 */
'use strict';

(function () {
  const $ = (id) => document.getElementById(id);

  /* ---- Vietnamese number formats ---- */

  function fmtInt(v) {
    if (typeof v !== 'number' || !isFinite(v)) return '—';
    const neg = v < 0;
    const digits = String(Math.round(Math.abs(v)));
    let out = '';
    for (let i = 0; i < digits.length; i++) {
      if (i > 0 && (digits.length - i) % 3 === 0) out += '.';
      out += digits[i];
    }
    return (neg ? '-' : '') + out;
  }

  /* `decimals` digits, half away from zero, as chiso_vnfmt_dec. */
  function fmtDec(v, decimals) {
    if (typeof v !== 'number' || !isFinite(v)) return '—';
    const scale = Math.pow(10, decimals);
    const r = Math.round(Math.abs(v) * scale);
    const whole = Math.floor(r / scale);
    const frac = r - whole * scale;
    let s = fmtInt(whole);
    if (decimals > 0) s += ',' + String(frac).padStart(decimals, '0');
    return (v < 0 && r > 0 ? '-' : '') + s;
  }

  function fmtPct(rate, decimals) {
    if (typeof rate !== 'number' || !isFinite(rate)) return '—';
    return fmtDec(rate * 100, decimals === undefined ? 1 : decimals) + '%';
  }

  /* green at or above the target, amber within 5 points, red below */
  function rateClass(rate, target) {
    if (typeof rate !== 'number' || typeof target !== 'number') return 'none';
    if (rate >= target) return 'good';
    if (rate >= target - 0.05) return 'near';
    return 'bad';
  }

  /* the status in a sign and words as well as in colour */
  const SIGN = { good: '✓', near: '≈', bad: '✗', none: '' };
  const STATUS_WORDS = { good: 'đạt mục tiêu', near: 'gần mục tiêu', bad: 'dưới mục tiêu', none: 'mục tiêu' };

  /* "✗ dưới mục tiêu 70%" */
  function targetText(rate, target) {
    if (typeof target !== 'number') return '';
    const status = rateClass(rate, target);
    return (SIGN[status] ? SIGN[status] + ' ' : '') + STATUS_WORDS[status] + ' ' + fmtPct(target, 0);
  }

  const ROMAN = ['I', 'II', 'III', 'IV'];

  function periodLabel(p) {
    let m = /^(\d{4})-(\d{2})$/.exec(p);
    if (m) return 'Tháng ' + Number(m[2]) + '/' + m[1];
    m = /^(\d{4})-Q([1-4])$/.exec(p);
    if (m) return 'Quý ' + ROMAN[Number(m[2]) - 1] + '/' + m[1];
    if (/^\d{4}$/.test(p)) return 'Năm ' + p;
    return p || '—';
  }

  function periodKind(p) {
    if (/^\d{4}-\d{2}$/.test(p)) return 'month';
    if (/^\d{4}-Q[1-4]$/.test(p)) return 'quarter';
    return 'year';
  }

  function dayLabel(d) {
    const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(d || '');
    return m ? m[3] + '/' + m[2] + '/' + m[1] : '—';
  }

  function timeLabel(rfc3339) {
    const m = /T(\d{2}:\d{2}:\d{2})/.exec(rfc3339 || '');
    return m ? m[1] + ' ' + dayLabel(rfc3339.slice(0, 10)) : '—';
  }

  const KIND = { province: 'Tỉnh', department: 'Sở, ban, ngành', commune: 'Xã, phường' };

  /* The 21 indicators (docs/scoring.md): a short name for the province
   * card, and what the numerator counts, for "Cần thêm N <noun> ...". */
  const INDICATORS = {
    1: { short: 'TTHC công bố đúng hạn', noun: 'TTHC công bố đúng hạn' },
    2: { short: 'Cập nhật, công khai TTHC', noun: 'TTHC được cập nhật, công khai đúng hạn' },
    3: { short: 'Công khai đầy đủ TTHC', noun: 'TTHC được công khai đầy đủ nội dung' },
    4: { short: 'Đồng bộ hồ sơ lên Cổng quốc gia', noun: 'hồ sơ đồng bộ' },
    5: { short: 'Xử lý hồ sơ đúng hạn', noun: 'hồ sơ đúng hạn' },
    6: { short: 'TTHC có dịch vụ công trực tuyến', noun: 'TTHC cung cấp dịch vụ công trực tuyến' },
    7: { short: 'Dịch vụ trực tuyến có hồ sơ', noun: 'dịch vụ công trực tuyến có phát sinh hồ sơ' },
    8: { short: 'Nộp hồ sơ trực tuyến', noun: 'hồ sơ nộp trực tuyến' },
    9: { short: 'TTHC có thanh toán trực tuyến', noun: 'TTHC có giao dịch thanh toán trực tuyến' },
    10: { short: 'Tích hợp thanh toán trực tuyến', noun: 'TTHC được tích hợp thanh toán trực tuyến' },
    11: { short: 'Hồ sơ thanh toán trực tuyến', noun: 'hồ sơ thanh toán trực tuyến' },
    12: { short: 'Kết quả điện tử', noun: 'hồ sơ có kết quả điện tử' },
    13: { short: 'Số hóa hồ sơ', noun: 'hồ sơ số hóa' },
    14: { short: 'Sử dụng lại dữ liệu số hóa', noun: 'hồ sơ sử dụng lại dữ liệu số hóa' },
    15: { short: 'Chứng thực bản sao điện tử', noun: 'đơn vị cung cấp chứng thực bản sao điện tử' },
    16: { short: 'Kết nối kho dữ liệu cá nhân', noun: 'hồ sơ số hóa kết nối kho dữ liệu cá nhân, tổ chức' },
    17: { short: 'TTHC kết nối dữ liệu dân cư', noun: 'TTHC kết nối, chia sẻ dữ liệu dân cư' },
    18: { short: 'Sử dụng dữ liệu dân cư', noun: 'hồ sơ sử dụng dữ liệu dân cư' },
    19: { short: 'Phản ánh, kiến nghị đúng hạn', noun: 'phản ánh, kiến nghị xử lý đúng hạn' },
    20: { short: 'Hài lòng về xử lý phản ánh', noun: 'phản ánh, kiến nghị được đánh giá hài lòng' },
    21: { short: 'Hài lòng về giải quyết TTHC', noun: 'hồ sơ không trễ hạn, không phản ánh' },
  };
  const NOUN_FALLBACK = 'đơn vị trong tử số';
  const ONTIME_INDICATOR = 5; // "Đúng hạn": #5, over population D

  function indicator(s, id) {
    for (const ind of (s && s.indicators) || []) if (ind && ind.id === id) return ind;
    return null;
  }

  /* The points still to win: indicators whose numerator must grow (need >
   * 0), most points first, then by number. */
  function gains(s) {
    return ((s && s.indicators) || [])
      .filter((i) => i && typeof i.need === 'number' && i.need > 0 && typeof i.gain === 'number')
      .sort((a, b) => b.gain - a.gain || a.id - b.id);
  }

  const fmtMax = (v) => (Number.isInteger(v) ? fmtInt(v) : fmtDec(v, 2));

  /* "Cần thêm 31 hồ sơ đúng hạn để đạt tối đa 20 điểm (+2,65 điểm)" */
  function gainSentence(ind) {
    const noun = (INDICATORS[ind.id] || {}).noun || NOUN_FALLBACK;
    return 'Cần thêm ' + fmtInt(ind.need) + ' ' + noun + ' để đạt tối đa ' + fmtMax(ind.max) +
      ' điểm (+' + fmtDec(ind.gain, 2) + ' điểm)';
  }

  /* ---- state ---- */

  const state = {
    period: null, // the period shown
    auto: true, // follow the server's default period until one is chosen
    rows: new Map(), // unit -> ranking row
    kind: '', // the ranking's filter: '' all, 'department', 'commune'
    province: null,
    provinceSeq: 0,
    sort: { key: 'rank', dir: 1 },
    selected: null, // unit code of the drill-down
    selectedSeq: 0,
    alerts: [],
    alertKeys: new Set(),
    today: null,
    periods: [],
    changed: new Set(), // units to flash at the next render
  };
  const ALERTS_SHOWN = 50;

  /* ---- fetching ---- */

  async function getJSON(path) {
    const r = await fetch(path, { cache: 'no-store' });
    if (r.status === 404) return { body: null, seq: 0 };
    if (!r.ok) throw new Error(path + ': HTTP ' + r.status);
    return { body: await r.json(), seq: Number(r.headers.get('X-Chiso-Seq') || 0) };
  }

  const q = (p) => '?period=' + encodeURIComponent(p);

  let fetchToken = 0;

  async function refetchAll() {
    const token = ++fetchToken;
    const period = state.period;
    try {
      const [periods, province, units, alerts, today] = await Promise.all([
        getJSON('/api/periods'),
        getJSON('/api/province' + q(period)),
        getJSON('/api/units' + q(period)),
        getJSON('/api/alerts'),
        getJSON('/api/today'),
      ]);
      if (token !== fetchToken || period !== state.period) return; // a newer view asked
      if (periods.body) applyPeriods(periods.body);
      if (province.seq >= state.provinceSeq || !province.body) {
        state.province = province.body;
        state.provinceSeq = province.seq;
      }
      const fresh = new Map();
      for (const r of units.body ? units.body.units : []) {
        const cur = state.rows.get(r.unit);
        fresh.set(r.unit, cur && cur.seq > r.seq ? cur : r);
      }
      state.rows = fresh;
      state.alerts = [];
      state.alertKeys.clear();
      addAlerts(alerts.body ? alerts.body.alerts : []);
      if (today.body) state.today = today.body;
      render();
      if (state.selected) loadUnit(state.selected);
    } catch (e) {
      console.warn('wall: refetch failed', e);
      setTimeout(() => { if (token === fetchToken) refetchAll(); }, 3000);
    }
  }

  async function loadUnit(unit) {
    const period = state.period;
    try {
      const r = await getJSON('/api/units/' + encodeURIComponent(unit) + q(period));
      if (state.selected !== unit || state.period !== period) return;
      if (r.body && r.seq < state.selectedSeq) return;
      state.selectedSeq = r.seq;
      renderUnit(r.body);
      loadTrend('unit-trend', unit, true);
    } catch (e) {
      console.warn('wall: unit fetch failed', e);
    }
  }

  /* ---- live updates ---- */

  let es = null;
  let lastMessage = 0;
  let retryMs = 1000;
  let retryTimer = null;

  function setConn(s) {
    const el = $('conn');
    el.dataset.state = s;
    $('conn-text').textContent =
      s === 'live' ? 'Đang cập nhật trực tiếp' : s === 'down' ? 'Mất kết nối, đang thử lại…' : 'Đang kết nối…';
  }

  function on(event, fn) {
    es.addEventListener(event, (e) => {
      lastMessage = Date.now();
      let data;
      try {
        data = JSON.parse(e.data);
      } catch (err) {
        console.warn('wall: bad event', event, err);
        return;
      }
      fn(data);
    });
  }

  function connect() {
    if (es) es.close();
    clearTimeout(retryTimer);
    setConn('connecting');
    es = new EventSource('/events' + (state.period ? q(state.period) : ''));
    lastMessage = Date.now();
    on('hello', (h) => {
      const el = $('conn');
      el.dataset.boot = h.boot;
      el.dataset.connects = String(Number(el.dataset.connects) + 1);
      if (!state.period) state.period = h.period;
      retryMs = 1000;
      setConn('live');
      refetchAll();
      kioskApply(h.kiosk);
    });
    on('scores', (ev) => {
      if (ev.period !== state.period) return;
      for (const r of ev.rows) {
        if (r.removed) {
          state.rows.delete(r.unit);
          if (state.province && state.province.unit === r.unit) state.province = null;
          continue;
        }
        const cur = state.rows.get(r.unit);
        if (!cur || r.seq >= cur.seq) {
          state.rows.set(r.unit, r);
          state.changed.add(r.unit);
        }
        if (r.unit === state.selected && r.seq > state.selectedSeq) loadUnit(r.unit);
      }
      if (ev.province && ev.province_seq >= state.provinceSeq) {
        state.province = ev.province;
        state.provinceSeq = ev.province_seq;
        if (ev.province.unit === state.selected) loadUnit(state.selected);
      }
      render();
    });
    on('alerts', (ev) => {
      addAlerts(ev.alerts);
      renderAlerts();
    });
    on('today', (t) => {
      state.today = t;
      renderToday();
    });
    on('periods', (p) => {
      applyPeriods(p);
      if (state.auto && p.default && p.default !== state.period) {
        switchPeriod(p.default, true);
        return;
      }
      renderPeriods();
    });
    on('ping', () => {});
    es.onerror = () => {
      setConn('down');
      // the browser retries a dropped stream by itself; one it gave up
      // on (a non-200 answer) is reopened here, with backoff
      if (es.readyState === EventSource.CLOSED) {
        retryTimer = setTimeout(connect, retryMs);
        retryMs = Math.min(retryMs * 2, 15000);
      }
    };
  }

  // a stream silent for longer than the server's pings is dead
  setInterval(() => {
    if (es && Date.now() - lastMessage > 45000) connect();
  }, 5000);

  function switchPeriod(p, auto) {
    clearTimeout(kiosk.timer); // the next hello starts a kiosk cycle of the new period
    kiosk.timer = null;
    state.auto = auto;
    state.period = p;
    state.rows = new Map();
    state.province = null;
    state.provinceSeq = 0;
    state.selectedSeq = 0;
    render();
    connect(); // its hello refetches the new period
  }

  /* ---- applying data ---- */

  function applyPeriods(p) {
    state.periods = p.periods || [];
    if (!state.period && p.default) state.period = p.default;
  }

  function alertKey(a) {
    return a.unit + '|' + a.dossier_id + '|' + a.kind;
  }

  /* alerts arrive newest first */
  function addAlerts(list) {
    const fresh = [];
    for (const a of list) {
      const k = alertKey(a);
      if (state.alertKeys.has(k)) continue;
      state.alertKeys.add(k);
      fresh.push(a);
    }
    state.alerts = fresh.concat(state.alerts).slice(0, ALERTS_SHOWN);
    state.alertKeys = new Set(state.alerts.map(alertKey));
  }

  /* ---- rendering ---- */

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function render() {
    renderPeriods();
    renderProvince();
    renderRanking();
    renderAlerts();
    renderToday();
  }

  function renderPeriods() {
    const sel = $('period-select');
    const groups = {};
    for (const g of sel.querySelectorAll('optgroup')) {
      groups[g.dataset.kind] = g;
      g.replaceChildren();
    }
    const list = state.periods.slice();
    if (state.period && !list.includes(state.period)) list.push(state.period);
    for (const p of list) {
      const o = el('option', null, periodLabel(p));
      o.value = p;
      groups[periodKind(p)].appendChild(o);
    }
    if (state.period) sel.value = state.period;
    $('period-label').textContent = periodLabel(state.period);
  }

  function renderGroups(ol, groups) {
    ol.replaceChildren();
    for (const g of groups || []) {
      const li = el('li');
      li.dataset.group = String(g.id);
      li.appendChild(el('span', 'gname', g.name));
      const pts = el('span', 'gpoints', fmtDec(g.points, 2));
      pts.appendChild(el('span', 'gmax', ' / ' + fmtInt(g.max)));
      li.appendChild(pts);
      const bar = el('div', 'bar');
      const fill = el('span');
      fill.style.width = (g.max > 0 ? Math.max(0, Math.min(100, (100 * g.points) / g.max)) : 0) + '%';
      bar.appendChild(fill);
      li.appendChild(bar);
      ol.appendChild(li);
    }
  }

  function setFigure(id, text, value, cls) {
    const e = $(id);
    e.textContent = text;
    e.dataset.value = value === null || value === undefined ? '' : String(value);
    e.className = 'value' + (cls ? ' ' + cls : '');
  }

  function renderProvince() {
    const p = state.province;
    const total = $('province-total');
    total.textContent = p && typeof p.total === 'number' ? fmtDec(p.total, 2) : '—';
    total.dataset.value = p && typeof p.total === 'number' ? String(p.total) : '';
    $('province-name').textContent = p ? p.unit_name : '—';
    $('province-rank').textContent = p && p.rank ? fmtInt(p.rank) + '/' + fmtInt(p.rank_of) : '—';
    $('province-rank-box').hidden = !(p && p.rank);
    renderGroups($('province-groups'), p ? p.groups6 : []);
    const c = (p && p.counts) || {};
    const fp = (p && p.full_process) || {};
    setFigure('province-received', fmtInt(c.received), c.received);
    setFigure('province-fp', fmtPct(fp.rate), fp.rate, rateClass(fp.rate, fp.target));
    const fpTarget = $('province-fp-target');
    fpTarget.textContent = targetText(fp.rate, fp.target);
    fpTarget.dataset.status = rateClass(fp.rate, fp.target);
    // #5's rate (population D), the figure behind group 2: not p.on_time
    const i5 = indicator(p, ONTIME_INDICATOR);
    const ot = i5 && typeof i5.rate === 'number' ? i5.rate : null;
    setFigure('province-ontime', fmtPct(ot), ot);
    // "1.121/2.099 hồ sơ" over "tiếp nhận và xử lý trong kỳ"
    const sub = $('province-ontime-sub');
    const counted = i5 && typeof i5.num === 'number' && typeof i5.den === 'number' && i5.den > 0;
    sub.replaceChildren(
      el('span', null, counted ? fmtInt(i5.num) + '/' + fmtInt(i5.den) + ' hồ sơ' : 'trên hồ sơ'),
      el('span', null, ' tiếp nhận và xử lý trong kỳ'));
    renderProvinceGains(p);
    setFigure('province-overdue', fmtInt(c.open_overdue), c.open_overdue, c.open_overdue > 0 ? 'bad' : '');
    $('as-of').textContent = p ? timeLabel(p.as_of) : '—';
    if (p) loadTrend('province-trend', '', false);
    else renderTrend($('province-trend'), null);
  }

  /* a list item for an indicator's points still to win, its figures as data */
  function gainItem(ind) {
    const li = el('li');
    li.dataset.indicator = String(ind.id);
    li.dataset.need = String(ind.need);
    li.dataset.gain = String(ind.gain);
    return li;
  }

  /* the three indicators with the most points still to win */
  function renderProvinceGains(p) {
    const ol = $('province-gains');
    const top = gains(p).slice(0, 3);
    const frag = document.createDocumentFragment();
    for (const ind of top) {
      const li = gainItem(ind);
      li.title = 'Chỉ số ' + ind.id + ': ' + ind.name + '. ' + gainSentence(ind) + '.';
      li.appendChild(el('span', 'gid', 'CS ' + ind.id));
      li.appendChild(el('span', 'gshort', (INDICATORS[ind.id] || {}).short || ind.name));
      li.appendChild(el('span', 'gplus', '+' + fmtDec(ind.gain, 2) + ' điểm'));
      frag.appendChild(li);
    }
    ol.replaceChildren(frag);
    $('province-gains-empty').hidden = !p || top.length > 0;
  }

  const SORTS = {
    rank: { get: (r) => r.rank, dir: 1 },
    name: { get: (r) => r.unit_name, dir: 1 },
    total: { get: (r) => r.total, dir: -1 },
    fp: { get: (r) => r.fp_rate, dir: -1 },
    ontime: { get: (r) => r.on_time_rate, dir: -1 },
    overdue: { get: (r) => r.open_overdue, dir: -1 },
    received: { get: (r) => r.received, dir: -1 },
  };
  const collator = new Intl.Collator('vi');

  function compareRows(a, b) {
    const s = SORTS[state.sort.key];
    const x = s.get(a);
    const y = s.get(b);
    const xn = x === null || x === undefined;
    const yn = y === null || y === undefined;
    let d = 0;
    if (xn || yn) {
      d = xn && yn ? 0 : xn ? 1 : -1; // no value: always last
    } else {
      d = (typeof x === 'string' ? collator.compare(x, y) : x - y) * state.sort.dir;
    }
    if (d === 0) d = (a.rank || 1e9) - (b.rank || 1e9) || collator.compare(a.unit_name, b.unit_name);
    return d;
  }

  function cell(tr, col, text, cls, value) {
    const td = el('td', cls, text);
    td.dataset.col = col;
    if (value !== undefined) td.dataset.value = value === null ? '' : String(value);
    tr.appendChild(td);
    return td;
  }

  /* The full-process rate of each kind of unit (departments, communes):
   * their full-process dossiers over their resolved ones, summed over the
   * kind's units of the period, as the quarterly report gives them. */
  function kindRates() {
    const out = {};
    for (const kind of ['department', 'commune']) {
      let fp = 0, resolved = 0, units = 0;
      for (const r of state.rows.values()) {
        if (r.kind !== kind) continue;
        units++;
        if (typeof r.full_process === 'number' && typeof r.resolved === 'number') {
          fp += r.full_process;
          resolved += r.resolved;
        }
      }
      out[kind] = { units, rate: resolved > 0 ? fp / resolved : null };
    }
    return out;
  }

  function renderKinds() {
    const rates = kindRates();
    const target = state.province && state.province.full_process ? state.province.full_process.target : null;
    for (const kind of ['department', 'commune']) {
      const e = $('province-fp-' + kind);
      const k = rates[kind];
      const status = rateClass(k.rate, target);
      // the status in a sign as well as in colour: ✓ met, ≈ within 5 points, ✗ below
      e.textContent = KIND[kind] + ' ' + fmtPct(k.rate) + (SIGN[status] ? ' ' + SIGN[status] : '');
      e.dataset.value = k.rate === null ? '' : String(k.rate);
      e.className = 'kind-rate ' + status;
      for (const n of document.querySelectorAll(`#kind-filter .n[data-kind="${kind}"]`))
        n.textContent = '(' + fmtInt(k.units) + ')';
    }
    for (const b of document.querySelectorAll('#kind-filter button'))
      b.setAttribute('aria-pressed', b.dataset.kind === state.kind ? 'true' : 'false');
  }

  function renderRanking() {
    renderKinds();
    if (kiosk.on) return; // the kiosk redraws its page at the next turn only
    const rows = Array.from(state.rows.values())
      .filter((r) => !state.kind || r.kind === state.kind)
      .sort(compareRows);
    renderRows(rows, rows.length);
  }

  /* The ranking's rows, of `count` units in all. */
  function renderRows(rows, count) {
    const body = $('ranking-body');
    const frag = document.createDocumentFragment();
    for (const r of rows) {
      const tr = el('tr');
      tr.dataset.unit = r.unit;
      tr.dataset.kind = r.kind;
      tr.dataset.seq = String(r.seq);
      if (r.unit === state.selected) tr.classList.add('selected');
      if (state.changed.has(r.unit)) tr.classList.add('changed');
      cell(tr, 'rank', r.rank ? fmtInt(r.rank) : '—', 'num', r.rank);
      cell(tr, 'name', r.unit_name, 'name');
      cell(tr, 'total', fmtDec(r.total, 2), 'num total', r.total);
      const fp = cell(tr, 'fp', '', 'num fp', r.fp_rate);
      fp.dataset.target = typeof r.fp_target === 'number' ? String(r.fp_target) : '';
      const status = rateClass(r.fp_rate, r.fp_target);
      fp.dataset.status = status;
      fp.appendChild(el('span', 'rate ' + status, fmtPct(r.fp_rate)));
      fp.appendChild(el('span', 'sign ' + status, SIGN[status]));
      fp.appendChild(el('span', 'target', '/ ' + fmtPct(r.fp_target, 0)));
      cell(tr, 'ontime', fmtPct(r.on_time_rate), 'num', r.on_time_rate); // #5's rate
      cell(tr, 'overdue', fmtInt(r.open_overdue), 'num' + (r.open_overdue > 0 ? ' bad' : ''), r.open_overdue);
      cell(tr, 'received', fmtInt(r.received), 'num', r.received);
      frag.appendChild(tr);
    }
    body.replaceChildren(frag);
    state.changed.clear();
    $('units-count').textContent = fmtInt(count);
    $('ranking-empty').hidden = rows.length > 0;
    for (const th of document.querySelectorAll('#ranking th')) {
      if (th.dataset.sort === state.sort.key)
        th.setAttribute('aria-sort', state.sort.dir > 0 ? 'ascending' : 'descending');
      else th.removeAttribute('aria-sort');
    }
  }

  function unitName(code) {
    const r = state.rows.get(code);
    return r ? r.unit_name : code;
  }

  function renderAlerts() {
    const ul = $('alerts');
    const frag = document.createDocumentFragment();
    for (const a of state.alerts) {
      const li = el('li');
      li.dataset.dossier = a.dossier_id;
      li.dataset.kind = a.kind;
      li.dataset.unit = a.unit;
      li.appendChild(el('span', 'badge', a.kind === 'overdue' ? 'Quá hạn' : 'Sắp đến hạn'));
      li.appendChild(el('span', 'aunit', a.unit_name || unitName(a.unit)));
      li.appendChild(el('span', 'ameta', 'Hồ sơ ' + a.dossier_id + ' · hạn ' + dayLabel(a.due_day)));
      frag.appendChild(li);
    }
    ul.replaceChildren(frag);
    $('alerts-count').textContent = fmtInt(state.alerts.length);
    $('alerts-empty').hidden = state.alerts.length > 0;
    fitList(ul, ul, $('alerts-more'), 'cảnh báo');
  }

  /* In kiosk mode nothing scrolls: a list keeps the items that fit whole
   * above the bottom of `bound` (the list itself, or the box it is in) and
   * says how many more there are ("và 12 cảnh báo khác"). */
  function fitList(list, bound, more, noun) {
    const items = [...list.children];
    for (const li of items) li.hidden = false;
    more.hidden = true;
    if (!kiosk.on || items.length === 0) return;
    const over = () => items[items.length - 1].getBoundingClientRect().bottom > limit() + 0.5;
    // the bottom of the bound's content box (above its padding), less the
    // line saying how many more when it is outside the list
    const limit = () => bound.getBoundingClientRect().bottom - parseFloat(getComputedStyle(bound).paddingBottom) -
      (bound === list ? 0 : more.getBoundingClientRect().height);
    if (!(bound === list ? list.scrollHeight > list.clientHeight + 1 : over())) return;
    more.textContent = 'và … ' + noun + ' khác'; // its line, before measuring
    more.hidden = false;
    let shown = items.findIndex((li) => li.getBoundingClientRect().bottom > limit() + 0.5);
    if (shown < 0) shown = items.length;
    for (let i = shown; i < items.length; i++) items[i].hidden = true;
    more.textContent = 'và ' + fmtInt(items.length - shown) + ' ' + noun + ' khác';
  }

  function renderToday() {
    const t = state.today;
    const count = $('today-count');
    const value = t && typeof t.received === 'number' ? String(t.received) : '';
    if (count.dataset.value !== value) {
      count.textContent = value ? fmtInt(t.received) : '—';
      if (count.dataset.value !== '') {
        count.classList.remove('tick');
        void count.offsetWidth; // restart the animation
        count.classList.add('tick');
      }
      count.dataset.value = value;
    }
    $('today').dataset.day = t && t.day ? t.day : '';
    $('today-day').textContent = t && t.day ? 'ngày ' + dayLabel(t.day) : 'hôm nay';
  }

  function renderUnit(s) {
    const box = $('unit');
    if (!s) {
      $('unit-name').textContent = unitName(state.selected);
      $('unit-period').textContent = periodLabel(state.period);
      $('unit-kind').textContent = '';
      $('unit-total').textContent = '—';
      $('unit-rank').textContent = '—';
      $('unit-fp').textContent = '—';
      $('unit-fp-target').textContent = '';
      $('unit-gap').textContent = 'Chưa có số liệu của đơn vị trong kỳ này.';
      $('unit-gap').dataset.value = '';
      renderGroups($('unit-groups'), []);
      renderUnitGains(null);
      $('unit-indicators').tBodies[0].replaceChildren();
      box.hidden = false;
      return;
    }
    box.dataset.unit = s.unit;
    $('unit-name').textContent = s.unit_name;
    $('unit-kind').textContent = KIND[s.kind] || s.kind;
    $('unit-period').textContent = periodLabel(s.period);
    const total = $('unit-total');
    total.textContent = fmtDec(s.total, 2);
    total.dataset.value = typeof s.total === 'number' ? String(s.total) : '';
    $('unit-rank').textContent = s.rank ? fmtInt(s.rank) + '/' + fmtInt(s.rank_of) : '—';
    const fp = s.full_process || {};
    const fpEl = $('unit-fp');
    fpEl.textContent = fmtPct(fp.rate);
    fpEl.className = rateClass(fp.rate, fp.target);
    fpEl.dataset.value = typeof fp.rate === 'number' ? String(fp.rate) : '';
    $('unit-fp-target').textContent = targetText(fp.rate, fp.target);
    $('unit-fp-target').dataset.status = rateClass(fp.rate, fp.target);
    const gap = $('unit-gap');
    gap.dataset.value = typeof fp.gap === 'number' ? String(fp.gap) : '';
    if (typeof fp.rate !== 'number') gap.textContent = 'Chưa có hồ sơ giải quyết trong kỳ.';
    else if (fp.gap > 0)
      gap.textContent = 'Cần thêm ' + fmtInt(fp.gap) + ' hồ sơ toàn trình để đạt mục tiêu.';
    else gap.textContent = 'Đã đạt mục tiêu toàn trình.';
    renderGroups($('unit-groups'), s.groups6);
    renderUnitGains(s);
    const tbody = $('unit-indicators').tBodies[0];
    const frag = document.createDocumentFragment();
    for (const ind of s.indicators || []) {
      const tr = el('tr');
      tr.dataset.indicator = String(ind.id);
      cell(tr, 'id', String(ind.id), 'num');
      cell(tr, 'name', ind.name, 'iname');
      cell(tr, 'rate', fmtPct(ind.rate), 'num', ind.rate);
      cell(tr, 'points', fmtDec(ind.points, 2), 'num', ind.points);
      cell(tr, 'max', fmtInt(ind.max), 'num', ind.max);
      cell(tr, 'lost', fmtDec(ind.lost, 2), 'num lost' + (ind.lost > 0 ? ' some' : ''), ind.lost);
      const need = typeof ind.need === 'number' ? ind.need : null;
      const td = cell(tr, 'need', need === null ? '—' : fmtInt(need), 'num need' + (need > 0 ? ' some' : ''), need);
      if (typeof ind.gain === 'number') td.dataset.gain = String(ind.gain);
      frag.appendChild(tr);
    }
    tbody.replaceChildren(frag);
    box.hidden = false;
    fitUnitGains();
  }

  function fitUnitGains() {
    fitList($('unit-gains'), document.querySelector('#unit .drawer-body'), $('unit-gains-more'), 'chỉ số');
  }

  /* the unit's points still to win, one sentence per indicator */
  function renderUnitGains(s) {
    const ol = $('unit-gains');
    const list = gains(s);
    const frag = document.createDocumentFragment();
    for (const ind of list) {
      const li = gainItem(ind);
      const label = el('span', 'gid', 'Chỉ số ' + ind.id);
      label.title = ind.name;
      li.appendChild(label);
      li.appendChild(el('span', 'gtext', gainSentence(ind)));
      frag.appendChild(li);
    }
    ol.replaceChildren(frag);
    const empty = $('unit-gains-empty');
    empty.hidden = !s || list.length > 0;
    empty.textContent = 'Mọi chỉ số có số liệu đã đạt tối đa.';
    $('unit-gains-total').textContent = list.length
      ? 'tổng +' + fmtDec(list.reduce((a, i) => a + i.gain, 0), 2) + ' điểm'
      : '';
  }

  /* ---- trends (docs/wall.md "Trends") ----
   * Drawn as SVG by this page's own code: three small line charts (the 766
   * total, the full-process rate against its target, #5's rate) over the
   * last 12 months or 8 quarters, from /api/trend. A few dozen lines do it,
   * with no library to bundle and nothing loaded from elsewhere. */

  const SVGNS = 'http://www.w3.org/2000/svg';
  const TREND_SERIES = [
    { key: 'total', label: 'Điểm 766', max: 100, fmt: (v) => fmtDec(v, 2) },
    { key: 'fp_rate', label: 'Tỷ lệ toàn trình', max: 1, fmt: (v) => fmtPct(v), target: 'fp_target' },
    { key: 'on_time_rate', label: 'Đúng hạn (chỉ số 5)', max: 1, fmt: (v) => fmtPct(v) },
  ];

  function svg(tag, attrs) {
    const e = document.createElementNS(SVGNS, tag);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    return e;
  }

  function shortPeriod(p) {
    let m = /^(\d{4})-(\d{2})$/.exec(p);
    if (m) return Number(m[2]) + '/' + m[1].slice(2);
    m = /^(\d{4})-Q([1-4])$/.exec(p);
    if (m) return 'Q' + m[2] + '/' + m[1].slice(2);
    return p;
  }

  /* One chart: the series' points as a line (broken where a period has no
   * snapshot), a dot per point with its period and value in data
   * attributes, the target as a dashed line. */
  function trendChart(points, series) {
    const W = 300, H = 80, L = 4, R = 4, T = 6, B = 6;
    const fig = el('figure', 'trend-chart');
    fig.dataset.series = series.key;
    const chart = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', preserveAspectRatio: 'none' });
    const x = (i) => L + (points.length > 1 ? (i * (W - L - R)) / (points.length - 1) : 0);
    const y = (v) => T + (1 - Math.max(0, Math.min(1, v / series.max))) * (H - T - B);
    chart.appendChild(svg('line', { class: 'axis', x1: L, x2: W - R, y1: H - B, y2: H - B }));
    let target = null;
    let path = '';
    let last = null;
    points.forEach((pt, i) => {
      const v = pt[series.key];
      if (typeof v !== 'number') {
        path += ' ';
        return;
      }
      path += (path.endsWith(' ') || path === '' ? 'M' : 'L') + x(i).toFixed(1) + ',' + y(v).toFixed(1);
      if (series.target && typeof pt[series.target] === 'number') target = pt[series.target];
      last = { v, i };
    });
    if (target !== null) {
      const t = svg('line', { class: 'target', x1: L, x2: W - R, y1: y(target), y2: y(target) });
      t.dataset.value = String(target);
      chart.appendChild(t);
    }
    if (path.trim()) chart.appendChild(svg('path', { class: 'line', d: path.trim().replace(/ +/g, ' ') }));
    points.forEach((pt, i) => {
      const v = pt[series.key];
      const c = svg('circle', { class: 'pt', cx: x(i), cy: typeof v === 'number' ? y(v) : H - B, r: 2.5 });
      c.dataset.period = pt.period;
      c.dataset.value = typeof v === 'number' ? String(v) : '';
      if (typeof v !== 'number') c.classList.add('none');
      const tip = svg('title', {});
      tip.textContent = periodLabel(pt.period) + ': ' + (typeof v === 'number' ? series.fmt(v) : 'chưa có số liệu');
      c.appendChild(tip);
      chart.appendChild(c);
    });
    // the first and last periods under the chart, in HTML: the chart
    // stretches to its box, which would distort SVG text
    const ticks = el('div', 'trend-ticks');
    ticks.append(el('span', null, shortPeriod(points[0].period)),
      el('span', null, shortPeriod(points[points.length - 1].period)));
    const cap = el('figcaption');
    cap.appendChild(el('span', 'trend-label', series.label));
    const lastText = last ? series.fmt(last.v) : '—';
    const val = el('span', 'trend-last', lastText);
    val.dataset.value = last ? String(last.v) : '';
    cap.appendChild(val);
    if (target !== null) cap.appendChild(el('span', 'trend-target', 'mục tiêu ' + fmtPct(target, 0)));
    fig.append(cap, chart, ticks);
    return fig;
  }

  function renderTrend(box, trend) {
    box.replaceChildren();
    if (!trend) return;
    const scale = box.dataset.scale === 'quarters' ? 'quarters' : 'months';
    const head = el('div', 'trend-head');
    head.appendChild(el('span', 'label', 'Xu hướng'));
    for (const [key, text] of [['months', '12 tháng'], ['quarters', '8 quý']]) {
      const b = el('button', 'trend-scale' + (key === scale ? ' on' : ''), text);
      b.type = 'button';
      b.dataset.scale = key;
      b.setAttribute('aria-pressed', key === scale ? 'true' : 'false');
      b.addEventListener('click', () => {
        box.dataset.scale = key;
        renderTrend(box, trend);
      });
      head.appendChild(b);
    }
    box.appendChild(head);
    box.dataset.unit = trend.unit;
    box.dataset.period = trend.period;
    const charts = el('div', 'trend-charts');
    for (const series of TREND_SERIES) charts.appendChild(trendChart(trend[scale], series));
    box.appendChild(charts);
    if (box.id === 'unit-trend') fitUnitGains(); // the trend pushed them down
  }

  /* Fetch and draw a trend (unit '' is the province), at most once per
   * TREND_MIN_MS for the same box unless forced: a call within the window
   * is deferred to its end (once), so the last change is always drawn. */
  const TREND_MIN_MS = 5000;
  const trendLoaded = {};

  async function loadTrend(boxId, unit, force) {
    const period = state.period;
    const key = unit + '|' + period;
    const now = Date.now();
    const prev = trendLoaded[boxId];
    if (!force && prev && prev.key === key && now - prev.at < TREND_MIN_MS) {
      if (!prev.timer)
        prev.timer = setTimeout(() => loadTrend(boxId, unit, true), TREND_MIN_MS - (now - prev.at));
      return;
    }
    if (prev && prev.timer) clearTimeout(prev.timer);
    trendLoaded[boxId] = { key, at: now, timer: null };
    try {
      const r = await getJSON('/api/trend' + (unit ? '/' + encodeURIComponent(unit) : '') + q(period));
      if (state.period !== period) return;
      if (boxId === 'unit-trend' && state.selected !== unit) return;
      renderTrend($(boxId), r.body);
    } catch (e) {
      console.warn('wall: trend fetch failed', e);
    }
  }

  /* ---- kiosk (docs/wall.md "Kiosk") ----
   * Hands-free, for a screen nobody touches: the ranking pages through
   * every unit, a page every page_s; then the drill-downs of the
   * `drilldowns` units furthest below their full-process target, one
   * every drilldown_s; then a new cycle. A cycle's order (by rank) is
   * fixed at its start, so each unit is on exactly one page of it however
   * ranks move; a page shows the rows' latest values when it turns and is
   * never redrawn while it is up (live updates wait for the next turn).
   * How many rows a page holds is measured at every turn, so the page fits
   * the screen it is on. Settings: the server's (`hello`.kiosk), each
   * overridden by the URL: ?kiosk=1|0, page_s, drilldowns, drilldown_s. */
  const kiosk = {
    on: false, pageMs: 10000, drillMs: 15000, drilldowns: 5,
    phase: '', order: [], next: 0, page: 0, pages: 0, drill: [], drillAt: 0,
    timer: null, turn: 0, cycle: 0,
  };

  function kioskSettings(server) {
    const url = new URLSearchParams(location.search);
    const s = server || {};
    const num = (name, dflt, lo, hi) => {
      const v = Number(url.get(name));
      return url.has(name) && Number.isFinite(v) && v >= lo && v <= hi ? v : dflt;
    };
    const flag = url.get('kiosk');
    return {
      on: flag === null ? s.on === true : flag === '1' || flag === 'true',
      pageMs: num('page_s', s.page_s || 10, 0.5, 3600) * 1000,
      drillMs: num('drilldown_s', s.drilldown_s || 15, 0.5, 3600) * 1000,
      drilldowns: Math.floor(num('drilldowns', typeof s.drilldowns === 'number' ? s.drilldowns : 5, 0, 1000)),
    };
  }

  /* From every `hello`: start, restart (new settings) or stop the kiosk. */
  function kioskApply(server) {
    const s = kioskSettings(server);
    const same = s.on === kiosk.on && s.pageMs === kiosk.pageMs && s.drillMs === kiosk.drillMs &&
      s.drilldowns === kiosk.drilldowns;
    Object.assign(kiosk, s);
    document.body.classList.toggle('kiosk', kiosk.on);
    $('kiosk').hidden = !kiosk.on;
    if (!kiosk.on) {
      clearTimeout(kiosk.timer);
      kiosk.timer = null;
      kiosk.phase = '';
      $('kiosk-drill').hidden = true;
      render();
      return;
    }
    if (!same || !kiosk.timer) kioskCycle();
  }

  function kioskCycle() {
    clearTimeout(kiosk.timer);
    if (state.selected) closeUnit();
    state.kind = '';
    state.sort = { key: 'rank', dir: 1 };
    kiosk.order = Array.from(state.rows.values()).sort(compareRows).map((r) => r.unit);
    kiosk.cycle++;
    kiosk.phase = 'ranking';
    kiosk.next = 0;
    kiosk.page = 0;
    renderKinds();
    if (kiosk.order.length === 0) { // nothing to show yet
      renderRows([], 0);
      setPager();
      kiosk.timer = setTimeout(kioskCycle, 1000);
      return;
    }
    kioskPage();
  }

  /* The rows that fit the ranking's box whole, measured on the rows drawn. */
  function rowsPerPage() {
    const wrap = document.querySelector('.table-wrap');
    const head = document.querySelector('#ranking thead').getBoundingClientRect().height;
    const first = $('ranking-body').firstElementChild;
    if (!first) return 1;
    const rowH = first.getBoundingClientRect().height;
    return Math.max(1, Math.floor((wrap.getBoundingClientRect().height - head + 0.5) / rowH));
  }

  function kioskPage() {
    const units = (from, n) => kiosk.order.slice(from, from + n).map((u) => state.rows.get(u)).filter(Boolean);
    renderRows(units(kiosk.next, 1), kiosk.order.length); // a row to measure
    const per = rowsPerPage();
    renderRows(units(kiosk.next, per), kiosk.order.length);
    kiosk.next += per;
    kiosk.page++;
    kiosk.pages = kiosk.page + Math.ceil((kiosk.order.length - kiosk.next) / per);
    kiosk.turn++;
    setPager();
    kiosk.timer = setTimeout(() => (kiosk.next < kiosk.order.length ? kioskPage() : kioskDrills()), kiosk.pageMs);
  }

  /* The units furthest below their full-process target: the most rate
   * points short, then the most full-process dossiers short (fp_gap),
   * then by rank. */
  function furthestFromTarget(n) {
    const short = (r) => r.fp_target - r.fp_rate;
    return Array.from(state.rows.values())
      .filter((r) => typeof r.fp_rate === 'number' && typeof r.fp_target === 'number' && r.fp_rate < r.fp_target)
      .sort((a, b) => short(b) - short(a) || (b.fp_gap || 0) - (a.fp_gap || 0) ||
        (a.rank || 1e9) - (b.rank || 1e9) || (a.unit < b.unit ? -1 : a.unit > b.unit ? 1 : 0))
      .slice(0, n)
      .map((r) => r.unit);
  }

  function kioskDrills() {
    kiosk.drill = furthestFromTarget(kiosk.drilldowns);
    kiosk.drillAt = 0;
    kioskDrill();
  }

  function kioskDrill() {
    if (kiosk.drillAt >= kiosk.drill.length) {
      kioskCycle();
      return;
    }
    kiosk.phase = 'drilldown';
    kiosk.turn++;
    openUnit(kiosk.drill[kiosk.drillAt]);
    setPager();
    kiosk.timer = setTimeout(() => {
      kiosk.drillAt++;
      kioskDrill();
    }, kiosk.drillMs);
  }

  /* "Trang 2/8" and a dot per page; in a drill-down "Xa mục tiêu nhất 2/5" */
  function setPager() {
    const k = $('kiosk');
    const drill = kiosk.phase === 'drilldown';
    Object.assign(k.dataset, {
      phase: kiosk.phase, page: String(kiosk.page), pages: String(kiosk.pages),
      turn: String(kiosk.turn), cycle: String(kiosk.cycle),
      unit: drill ? kiosk.drill[kiosk.drillAt] : '',
    });
    $('kiosk-text').textContent = kiosk.pages ? 'Trang ' + kiosk.page + '/' + kiosk.pages : '';
    const dots = $('kiosk-dots');
    dots.replaceChildren();
    for (let i = 1; i <= kiosk.pages && i <= 40; i++) dots.appendChild(el('i', i === kiosk.page ? 'on' : null));
    const d = $('kiosk-drill');
    d.hidden = !drill;
    d.textContent = drill ? 'Xa mục tiêu toàn trình nhất ' + (kiosk.drillAt + 1) + '/' + kiosk.drill.length : '';
  }

  function openUnit(unit) {
    state.selected = unit;
    state.selectedSeq = 0;
    for (const tr of $('ranking-body').children) tr.classList.toggle('selected', tr.dataset.unit === unit);
    loadUnit(unit);
  }

  function closeUnit() {
    state.selected = null;
    $('unit').hidden = true;
    delete $('unit').dataset.unit;
    for (const tr of $('ranking-body').children) tr.classList.remove('selected');
  }

  /* ---- wiring ---- */

  function init() {
    for (const th of document.querySelectorAll('#ranking th')) {
      th.addEventListener('click', () => {
        const key = th.dataset.sort;
        if (state.sort.key === key) state.sort.dir = -state.sort.dir;
        else state.sort = { key, dir: SORTS[key].dir };
        renderRanking();
      });
    }
    $('ranking-body').addEventListener('click', (e) => {
      const tr = e.target.closest('tr[data-unit]');
      if (tr) openUnit(tr.dataset.unit);
    });
    $('unit-close').addEventListener('click', closeUnit);
    for (const b of document.querySelectorAll('#kind-filter button')) {
      b.addEventListener('click', () => {
        state.kind = b.dataset.kind;
        renderRanking();
      });
    }
    window.addEventListener('resize', () => {
      if (!kiosk.on) return;
      renderAlerts(); // what fits changed; the ranking's page is measured at its next turn
      if (state.selected) fitUnitGains();
    });
    document.addEventListener('keydown', (e) => {
      if (e.key === 'Escape') closeUnit();
    });
    $('period-select').addEventListener('change', (e) => switchPeriod(e.target.value, false));
    render();
    connect();
  }

  init();
})();
