/*
 * wall.test.mjs - the monitoring wall (chiso-wall) in a real browser:
 * playwright-core drives Debian's Chromium against a running wall.
 *
 * Run by tests/e2e/test_wall.sh, which starts the pipeline and the wall
 * and passes:
 *   WALL_URL              the wall, e.g. http://127.0.0.1:8080
 *   WALL_HOOK             a bash script for what only the shell does:
 *                         `scores` / `alerts` print the topics (kcat),
 *                         `today` prints Redis's count, `more DAY` streams
 *                         one more simulated day and waits for its
 *                         snapshots, `restart` restarts the wall
 *   WALL_SCREENSHOT_DIR   where wall.png and wall-drilldown.png go
 *   CHROMIUM              the browser (default /usr/bin/chromium)
 *   WALL_PROFILE_DIR      a fresh Chromium profile directory
 *
 * What it asserts, phase by phase (every expected number comes from the
 * `scores` topic read with kcat, never from the wall's API):
 *   1. the page lists every unit of the default period with the topic's
 *      rank, name, total, full-process rate (and its colour against the
 *      target), on-time rate, open overdue and received, in Vietnamese
 *      format; the province's total, six groups and figures likewise;
 *      the on-time figures are indicator #5's rate (population D), labelled
 *      "chỉ số 5", never the snapshot's `on_time` (the report's resolved
 *      on-time rate), and the province's agrees with group 2's points;
 *      the province card shows the three indicators with the most points
 *      still to win (gain), in order; today's count equals Redis's;
 *      sorting by a header works
 *   2. a new day of events updates the page without a reload (a marker set
 *      on window survives; some unit's received count grows; today's
 *      counter moves to the new day)
 *   3. the quarter selector shows 2025-Q2's snapshots, which differ from
 *      July's; back to July
 *   4. the wall is restarted: the page reconnects by itself (new server
 *      boot id, status live), then shows another new day's figures
 *   5. the drill-down of the busiest unit with points to win on #5 shows
 *      its 21 indicators (rate, points, lost, need) and its full-process
 *      gap as the topic has them, and the points still to win: one
 *      sentence per indicator with need > 0, by gain, most first ("Cần
 *      thêm 31 hồ sơ đúng hạn để đạt tối đa 20 điểm (+2,65 điểm)")
 *   6. the alert feed is not empty and holds only alerts of the topic
 *   7. screenshots; no JavaScript error happened on the page
 * It prints "[wall.test] PASS" and exits 0, or names the first difference
 * and exits 1.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { chromium } from 'playwright-core';

function log(...args) {
  console.log('[wall.test]', ...args);
}

class Failure extends Error {}

function check(cond, message) {
  if (!cond) throw new Failure(message);
}

function env(name) {
  const v = process.env[name];
  if (!v) throw new Failure(`${name} is not set (run through tests/e2e/test_wall.sh)`);
  return v;
}

const WALL_URL = env('WALL_URL');
const HOOK = env('WALL_HOOK');
const SHOTS = env('WALL_SCREENSHOT_DIR');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const PROFILE = process.env.WALL_PROFILE_DIR || fs.mkdtempSync('/tmp/wall-chromium-');
const KIOSK_URL = process.env.WALL_KIOSK_URL || '';
const MONTH = '2025-07';
const QUARTER = '2025-Q2';

/* ---- the shell's hook ---- */

function hook(...args) {
  return new Promise((resolve, reject) => {
    execFile('bash', [HOOK, ...args], { maxBuffer: 512 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Failure(`hook ${args.join(' ')} failed: ${stderr || err.message}`));
      else resolve(stdout);
    });
  });
}

/* The latest snapshot of every key of `scores` (the compacted view). */
async function readScores() {
  const latest = new Map();
  for (const line of (await hook('scores')).split('\n')) {
    if (!line) continue;
    const tab = line.indexOf('\t');
    const key = line.slice(0, tab);
    const payload = line.slice(tab + 1);
    if (payload === '') latest.delete(key);
    else latest.set(key, JSON.parse(payload));
  }
  return latest;
}

/* The province and unit snapshots of one period. */
function periodView(scores, period) {
  const v = { province: null, units: new Map() };
  for (const s of scores.values()) {
    if (s.period !== period) continue;
    if (s.kind === 'province') v.province = s;
    else v.units.set(s.unit, s);
  }
  return v;
}

/* ---- Vietnamese formats, the oracle: Intl's vi-VN, not the page's code ---- */

const viInt = new Intl.NumberFormat('vi-VN', { maximumFractionDigits: 0 });
const viDec2 = new Intl.NumberFormat('vi-VN', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const fmtInt = (v) => viInt.format(v);
const fmt2 = (v) => viDec2.format(v);

/* "1.234,5%" -> 1234.5; NaN when not in Vietnamese format */
function parseVi(text) {
  const t = text.replace(/%$/, '');
  if (!/^-?\d{1,3}(\.\d{3})*(,\d+)?$/.test(t)) return NaN;
  return Number(t.replace(/\./g, '').replace(',', '.'));
}

/* A rate shown with one decimal: within half a unit of the last digit. */
function rateProblem(text, rate, what) {
  if (rate === null || rate === undefined) return text === '—' ? null : `${what}: no data must show '—', shows '${text}'`;
  const shown = parseVi(text);
  if (!/^[\d.]+,\d%$/.test(text) || !Number.isFinite(shown)) return `${what}: '${text}' is not a percentage like 89,6%`;
  if (Math.abs(shown - rate * 100) > 0.05 + 1e-9) return `${what}: shows ${text}, the topic has ${rate}`;
  return null;
}

/* green at or above the target, amber within 5 points, red below */
function colour(rate, target) {
  if (typeof rate !== 'number' || typeof target !== 'number') return 'none';
  if (rate >= target) return 'good';
  if (rate >= target - 0.05) return 'near';
  return 'bad';
}

const numAttr = (v) => (v === null || v === undefined ? '' : String(v));

/* ---- the points still to win and the on-time figure, from the topic ---- */

const ONTIME = 5; // "Đúng hạn" is indicator #5's rate (population D)

function ind(snapshot, id) {
  return (snapshot.indicators || []).find((i) => i.id === id) || null;
}

/* the indicators whose numerator must grow, most points first, then by id */
function wantGains(snapshot) {
  return (snapshot.indicators || [])
    .filter((i) => typeof i.need === 'number' && i.need > 0)
    .sort((a, b) => b.gain - a.gain || a.id - b.id);
}

/* What the numerator counts, for the indicators the issue names. */
const NOUNS = {
  4: 'hồ sơ đồng bộ',
  5: 'hồ sơ đúng hạn',
  8: 'hồ sơ nộp trực tuyến',
  12: 'hồ sơ có kết quả điện tử',
  13: 'hồ sơ số hóa',
  19: 'phản ánh, kiến nghị xử lý đúng hạn',
  21: 'hồ sơ không trễ hạn, không phản ánh',
};

/* "Cần thêm 31 hồ sơ đúng hạn để đạt tối đa 20 điểm (+2,65 điểm)" */
function sentenceProblem(text, i) {
  const head = `Cần thêm ${fmtInt(i.need)} `;
  const tail = ` để đạt tối đa ${fmtInt(i.max)} điểm (+${fmt2(i.gain)} điểm)`;
  if (!text.startsWith(head) || !text.endsWith(tail) || text.length <= head.length + tail.length)
    return `indicator ${i.id}: '${text}', want '${head}<noun>${tail}'`;
  const noun = text.slice(head.length, text.length - tail.length);
  if (NOUNS[i.id] && noun !== NOUNS[i.id]) return `indicator ${i.id}: counts '${noun}', want '${NOUNS[i.id]}'`;
  if (!/^\p{L}/u.test(noun)) return `indicator ${i.id}: noun '${noun}'`;
  return null;
}

/* ---- the page ---- */

function pageState(page) {
  return page.evaluate(() => {
    const $ = (id) => document.getElementById(id);
    const rows = [...document.querySelectorAll('#ranking-body tr[data-unit]')].map((tr) => {
      const c = (col) => tr.querySelector(`td[data-col="${col}"]`);
      return {
        unit: tr.dataset.unit,
        rank: c('rank').textContent,
        rankValue: c('rank').dataset.value,
        name: c('name').textContent,
        total: c('total').textContent,
        totalValue: c('total').dataset.value,
        fp: c('fp').querySelector('.rate').textContent,
        fpValue: c('fp').dataset.value,
        fpTarget: c('fp').dataset.target,
        fpStatus: c('fp').dataset.status,
        fpClass: c('fp').querySelector('.rate').className,
        ontime: c('ontime').textContent,
        ontimeValue: c('ontime').dataset.value,
        overdue: c('overdue').textContent,
        overdueValue: c('overdue').dataset.value,
        received: c('received').textContent,
        receivedValue: c('received').dataset.value,
      };
    });
    const groups = [...document.querySelectorAll('#province-groups li')].map((li) => ({
      id: li.dataset.group,
      name: li.querySelector('.gname').textContent,
      points: li.querySelector('.gpoints').firstChild.textContent,
    }));
    return {
      period: $('period-select').value,
      periodLabel: $('period-label').textContent,
      provinceName: $('province-name').textContent,
      total: $('province-total').textContent,
      totalValue: $('province-total').dataset.value,
      received: $('province-received').textContent,
      fp: $('province-fp').textContent,
      ontime: $('province-ontime').textContent,
      ontimeValue: $('province-ontime').dataset.value,
      ontimeLabel: $('province-ontime').closest('.fig').querySelector('.label').textContent,
      ontimeHead: document.querySelector('th[data-sort="ontime"]').textContent,
      gains: [...document.querySelectorAll('#province-gains li')].map((li) => ({
        id: li.dataset.indicator,
        gain: li.dataset.gain,
        badge: li.querySelector('.gid').textContent,
        short: li.querySelector('.gshort').textContent,
        plus: li.querySelector('.gplus').textContent,
      })),
      overdue: $('province-overdue').textContent,
      groups,
      rows,
      marker: window.__wallMarker === undefined ? null : window.__wallMarker,
      conn: { ...$('conn').dataset },
      today: { value: $('today-count').dataset.value, text: $('today-count').textContent, day: $('today').dataset.day },
    };
  });
}

/* A list of differences and the function that adds one when got !== want. */
function comparer() {
  const out = [];
  const eq = (got, want, what) => {
    if (got !== want) out.push(`${what}: page '${got}', topic '${want}'`);
  };
  return { out, eq };
}

/* Every difference between the page and the topic's snapshots of `period`. */
function differences(st, view, period) {
  const { out, eq } = comparer();
  eq(st.period, period, 'selected period');
  check(view.province, `the topic has no province snapshot of ${period}`);
  check(view.units.size > 0, `the topic has no unit snapshot of ${period}`);
  const p = view.province;
  eq(st.provinceName, p.unit_name, 'province name');
  eq(st.totalValue, String(p.total), 'province total (value)');
  eq(st.total, fmt2(p.total), 'province total');
  eq(st.received, fmtInt(p.counts.received), 'province received');
  eq(st.overdue, fmtInt(p.counts.open_overdue), 'province open overdue');
  /* on time: #5's rate, labelled so, agreeing with group 2 (#5 alone) */
  const p5 = ind(p, ONTIME);
  check(p5, `the province snapshot of ${period} has no indicator #5`);
  for (const pr of [rateProblem(st.fp, p.full_process.rate, 'province full-process rate'),
    rateProblem(st.ontime, p5.rate, 'province on-time rate (#5)')])
    if (pr) out.push(pr);
  eq(st.ontimeValue, numAttr(p5.rate), 'province on-time (value): #5 rate');
  eq(st.ontimeLabel, 'Đúng hạn (chỉ số 5)', 'province on-time label');
  eq(st.ontimeHead, 'Đúng hạn (chỉ số 5)', 'ranking on-time header');
  const g2 = st.groups.find((g) => g.id === '2');
  if (typeof p5.rate === 'number' && g2) {
    const shown = parseVi(st.ontime) / 100;
    const points = parseVi(g2.points);
    if (!(Math.abs(shown * p5.max - points) <= p5.max * 0.0005 + 0.005 + 1e-9))
      out.push(`province on-time ${st.ontime} disagrees with group 2's ${g2.points} / ${p5.max}`);
  }
  /* the three largest points still to win */
  const top3 = wantGains(p).slice(0, 3);
  eq(st.gains.length, top3.length, 'province gains shown');
  top3.forEach((w, i) => {
    const g = st.gains[i] || {};
    eq(g.id, String(w.id), `province gain ${i + 1}: indicator`);
    eq(g.gain, String(w.gain), `province gain ${i + 1} (value)`);
    eq(g.badge, `CS ${w.id}`, `province gain ${i + 1}: number`);
    eq(g.plus, `+${fmt2(w.gain)} điểm`, `province gain ${i + 1}: points`);
    if (!g.short) out.push(`province gain ${i + 1}: no name`);
  });
  eq(st.groups.length, 6, 'province groups shown');
  p.groups6.forEach((g, i) => {
    const shown = st.groups[i] || {};
    eq(shown.id, String(g.id), `group ${i + 1} id`);
    eq(shown.name, g.name, `group ${g.id} name`);
    eq(shown.points, fmt2(g.points), `group ${g.id} points`);
  });
  eq(st.rows.length, view.units.size, 'units listed');
  const seen = new Set();
  for (const r of st.rows) {
    const s = view.units.get(r.unit);
    if (!s) {
      out.push(`page row ${r.unit} is not in the topic's ${period}`);
      continue;
    }
    seen.add(r.unit);
    const u = `${r.unit} (${s.unit_name})`;
    eq(r.name, s.unit_name, `${u} name`);
    eq(r.rankValue, numAttr(s.rank), `${u} rank (value)`);
    eq(r.rank, typeof s.rank === 'number' ? fmtInt(s.rank) : '—', `${u} rank`);
    eq(r.totalValue, String(s.total), `${u} total (value)`);
    eq(r.total, fmt2(s.total), `${u} total`);
    eq(r.fpValue, numAttr(s.full_process.rate), `${u} full-process rate (value)`);
    eq(r.fpTarget, String(s.full_process.target), `${u} full-process target`);
    eq(r.fpStatus, colour(s.full_process.rate, s.full_process.target), `${u} full-process colour`);
    if (!r.fpClass.split(' ').includes(r.fpStatus)) out.push(`${u}: rate not coloured ${r.fpStatus}`);
    const s5 = ind(s, ONTIME);
    eq(r.ontimeValue, numAttr(s5 ? s5.rate : null), `${u} on-time rate (value): #5`);
    eq(r.overdueValue, String(s.counts.open_overdue), `${u} open overdue (value)`);
    eq(r.overdue, fmtInt(s.counts.open_overdue), `${u} open overdue`);
    eq(r.receivedValue, String(s.counts.received), `${u} received (value)`);
    eq(r.received, fmtInt(s.counts.received), `${u} received`);
    for (const pr of [rateProblem(r.fp, s.full_process.rate, `${u} full-process rate`),
      rateProblem(r.ontime, s5 ? s5.rate : null, `${u} on-time rate (#5)`)])
      if (pr) out.push(pr);
  }
  for (const unit of view.units.keys()) if (!seen.has(unit)) out.push(`topic unit ${unit} missing on the page`);
  return out;
}

/* Poll until fn() returns no problem; fail with the last ones. */
async function until(what, fn, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  let problems = ['(not checked yet)'];
  for (;;) {
    problems = await fn();
    if (problems.length === 0) return;
    if (Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Failure(`${what}: still different after ${timeoutMs / 1000} s:\n  ` +
    problems.slice(0, 12).join('\n  ') + (problems.length > 12 ? `\n  ... ${problems.length - 12} more` : ''));
}

/* Wait until the page shows the topic's `period`; returns the last state
 * and the topic's view. */
async function matchTopic(page, period, what, timeoutMs = 60000) {
  let st;
  let view;
  await until(what, async () => {
    view = periodView(await readScores(), period);
    st = await pageState(page);
    return differences(st, view, period);
  }, timeoutMs);
  return { st, view };
}

async function checkToday(page, what) {
  let want;
  await until(what, async () => {
    want = JSON.parse(await hook('today'));
    const t = (await pageState(page)).today;
    const out = [];
    if (t.day !== want.day) out.push(`today's day: page '${t.day}', Redis '${want.day}'`);
    if (t.value !== String(want.received)) out.push(`today's count: page '${t.value}', Redis ${want.received}`);
    if (t.text !== fmtInt(want.received)) out.push(`today's count text: page '${t.text}', want '${fmtInt(want.received)}'`);
    return out;
  }, 30000);
  return want;
}

/* ---- screens: sizes, clipping, contrast, status signs ---- */

/* What is wrong with the layout of the page as it is now: run in the page.
 * `kiosk`: nothing may scroll at all. Every visible element with text of
 * its own is checked:
 *   - inside the viewport, and inside every ancestor that clips (overflow
 *     other than visible), to the pixel: nothing cut off;
 *   - its own text not cut (scrollWidth within clientWidth where it
 *     clips: no ellipsis);
 *   - its font size, in CSS px at the 1920x1080 equivalent (px divided by
 *     min(width / 1920, height / 1080)), at least MIN_PX, so the text is
 *     as large relative to the screen at every size;
 *   - its contrast against the background it is drawn on (the ancestors'
 *     background colours composited) at least 4.5:1, 3:1 for large text
 *     (24 px, or 18.66 px bold, at the 1080 equivalent): WCAG AA.
 * Animations are finished first (a row that just changed flashes). */
function layoutProblems(page, kiosk) {
  return page.evaluate(({ kiosk, MIN_PX }) => {
    for (const a of document.getAnimations()) a.finish();
    const out = [];
    const W = window.innerWidth;
    const H = window.innerHeight;
    const scale = Math.min(W / 1920, H / 1080);
    const doc = document.documentElement;
    if (doc.scrollWidth > W + 1 || doc.scrollHeight > H + 1)
      out.push(`the page scrolls: ${doc.scrollWidth}x${doc.scrollHeight} in ${W}x${H}`);
    const visible = (e) => {
      if (e.closest('[hidden]')) return false;
      const cs = getComputedStyle(e);
      if (cs.display === 'none' || cs.visibility === 'hidden') return false;
      const r = e.getBoundingClientRect();
      return r.width > 0 && r.height > 0;
    };
    const name = (e) => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') +
      (typeof e.className === 'string' && e.className ? '.' + e.className.trim().split(/\s+/).join('.') : '') +
      ` "${(e.textContent || '').trim().slice(0, 30)}"`;
    const rgba = (c) => {
      const m = /rgba?\(([^)]+)\)/.exec(c);
      if (!m) return [0, 0, 0, 0];
      const v = m[1].split(/[ ,/]+/).filter(Boolean).map(Number);
      return [v[0], v[1], v[2], v.length > 3 ? v[3] : 1];
    };
    const over = (top, bottom) => { // top composited over an opaque bottom
      const a = top[3];
      return [0, 1, 2].map((i) => top[i] * a + bottom[i] * (1 - a)).concat(1);
    };
    const background = (e) => {
      const layers = [];
      for (let x = e; x; x = x.parentElement) {
        const bg = rgba(getComputedStyle(x).backgroundColor);
        if (bg[3] > 0) layers.push(bg);
        if (bg[3] >= 1) break;
      }
      let c = [255, 255, 255, 1];
      for (let i = layers.length - 1; i >= 0; i--) c = over(layers[i], c);
      return c;
    };
    const lum = (c) => {
      const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
      return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]);
    };
    const ratio = (a, b) => {
      const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p);
      return (x + 0.05) / (y + 0.05);
    };
    let checked = 0;
    let smallest = Infinity;
    for (const e of document.querySelectorAll('body *')) {
      if (!visible(e)) continue;
      const cs = getComputedStyle(e);
      const r = e.getBoundingClientRect();
      const scrolls = (cs.overflowX !== 'visible' || cs.overflowY !== 'visible');
      if (kiosk && scrolls && (e.scrollHeight > e.clientHeight + 1 || e.scrollWidth > e.clientWidth + 1))
        out.push(`${name(e)} scrolls in kiosk mode: ${e.scrollWidth}x${e.scrollHeight} in ${e.clientWidth}x${e.clientHeight}`);
      const own = [...e.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
      if (!own || e.closest('svg')) continue;
      // hidden by the page's own scrolling in the normal mode: not on screen
      let shown = true;
      for (let a = e.parentElement; a && a !== document.body; a = a.parentElement) {
        const as = getComputedStyle(a);
        if (as.overflowX === 'visible' && as.overflowY === 'visible') continue;
        const ar = a.getBoundingClientRect();
        const inside = r.left >= ar.left - 1 && r.right <= ar.right + 1 && r.top >= ar.top - 1 && r.bottom <= ar.bottom + 1;
        if (inside) continue;
        // in the normal mode a list that scrolls shows part of its items:
        // those below (or above) its edge are reached by scrolling; not
        // sideways, though: nothing may need a horizontal scroll
        const sideways = r.left < ar.left - 1 || r.right > ar.right + 1;
        if (!kiosk && !sideways && (as.overflowY === 'auto' || as.overflowY === 'scroll')) { shown = false; break; }
        out.push(`${name(e)} is cut by ${name(a)}: ${Math.round(r.left)},${Math.round(r.top)}-` +
          `${Math.round(r.right)},${Math.round(r.bottom)} outside ${Math.round(ar.left)},${Math.round(ar.top)}-` +
          `${Math.round(ar.right)},${Math.round(ar.bottom)}`);
        break;
      }
      if (!shown) continue;
      if (r.left < -1 || r.top < -1 || r.right > W + 1 || r.bottom > H + 1)
        out.push(`${name(e)} is outside the screen: ${Math.round(r.left)},${Math.round(r.top)}-${Math.round(r.right)},${Math.round(r.bottom)}`);
      if (scrolls && e.scrollWidth > e.clientWidth + 1)
        out.push(`${name(e)}: its text is cut (${e.scrollWidth} px wide in ${e.clientWidth})`);
      const px = parseFloat(cs.fontSize) / scale;
      smallest = Math.min(smallest, px);
      if (px < MIN_PX - 0.05) out.push(`${name(e)}: text ${px.toFixed(1)} px at 1080p, below ${MIN_PX}`);
      const fg = rgba(cs.color);
      const bg = background(e);
      const contrast = ratio(over(fg, bg), bg);
      const large = px >= 24 || (px >= 18.66 && Number(cs.fontWeight) >= 700);
      if (contrast < (large ? 3 : 4.5) - 0.005)
        out.push(`${name(e)}: contrast ${contrast.toFixed(2)}:1 (${cs.color} on rgb(${bg.slice(0, 3).map(Math.round)}))`);
      checked++;
    }
    return { out, checked, smallest, rowPx: parseFloat(getComputedStyle(document.querySelector('#ranking td') || document.body).fontSize) };
  }, { kiosk, MIN_PX: 15 });
}

/* Every rate coloured against its target also says it in a sign: the
 * ranking's full-process cells, the province's and the kinds' rates. */
function signProblems(page) {
  return page.evaluate(() => {
    const SIGN = { good: '✓', near: '≈', bad: '✗', none: '' };
    const out = [];
    for (const td of document.querySelectorAll('#ranking-body td[data-col="fp"]')) {
      const sign = td.querySelector('.sign');
      if (!sign || sign.textContent !== SIGN[td.dataset.status])
        out.push(`${td.parentElement.dataset.unit}: status ${td.dataset.status}, sign '${sign && sign.textContent}'`);
    }
    const t = document.getElementById('province-fp-target');
    if (t.dataset.status !== 'none' && !t.textContent.startsWith(SIGN[t.dataset.status] + ' '))
      out.push(`province target '${t.textContent}' lacks the sign of ${t.dataset.status}`);
    for (const k of document.querySelectorAll('.kind-rate')) {
      const s = k.className.split(' ').find((c) => c in SIGN);
      if (s && s !== 'none' && !k.textContent.endsWith(' ' + SIGN[s])) out.push(`kind rate '${k.textContent}' lacks ${SIGN[s]}`);
    }
    return out;
  });
}

/* The page at 1280x720, 1920x1080 and 3840x2160, in the normal and the
 * kiosk mode: fills the screen, nothing clipped, text the same size
 * relative to the screen, WCAG AA contrast, status signs; screenshots of
 * the kiosk at 1920x1080 and 3840x2160. */
async function checkScreens(context, pageErrors, period) {
  const sizes = [[1280, 720], [1920, 1080], [3840, 2160]];
  const rowPx = {};
  for (const kiosk of [false, true]) {
    const page = await context.newPage();
    watch(page, pageErrors);
    // kiosk: a page long enough to stay up while it is checked
    await page.goto(WALL_URL + '/' + (kiosk ? '?kiosk=1&page_s=600' : ''), { waitUntil: 'load' });
    await page.waitForSelector('#conn[data-state="live"]', { timeout: 30000 });
    for (const [w, h] of sizes) {
      await page.setViewportSize({ width: w, height: h });
      if (kiosk) { // a fresh cycle measures the page for this screen
        await page.goto(WALL_URL + '/?kiosk=1&page_s=600', { waitUntil: 'load' });
        await page.waitForSelector('#kiosk[data-phase="ranking"][data-page="1"]:not([hidden])', { timeout: 30000 });
      }
      let res;
      await until(`layout at ${w}x${h}${kiosk ? ' (kiosk)' : ''}`, async () => {
        const period0 = await page.$eval('#period-select', (s) => s.value);
        const rows = await page.$$eval('#ranking-body tr', (t) => t.length);
        const trend = await page.$$eval('#province-trend figure', (f) => f.length);
        if (period0 !== period || rows === 0 || trend !== 3) return [`not drawn yet (${period0}, ${rows} rows, ${trend} charts)`];
        await page.waitForTimeout(300); // the layout settles
        res = await layoutProblems(page, kiosk);
        return res.out.concat(await signProblems(page));
      }, 30000);
      const fill = await page.evaluate(() => {
        const cards = [...document.querySelectorAll('.card')].map((c) => c.getBoundingClientRect());
        return { right: Math.max(...cards.map((r) => r.right)) / innerWidth, bottom: Math.max(...cards.map((r) => r.bottom)) / innerHeight,
          left: Math.min(...cards.map((r) => r.left)) / innerWidth };
      });
      check(fill.left < 0.05 && fill.right > 0.95 && fill.bottom > 0.95,
            `${w}x${h}: the cards do not fill the screen (${JSON.stringify(fill)})`);
      const scale = Math.min(w / 1920, h / 1080);
      rowPx[`${w}x${h}`] = res.rowPx / scale;
      log(`   ${w}x${h}${kiosk ? ' kiosk' : ''}: ${res.checked} texts inside the screen and their boxes, none cut; ` +
          `smallest ${res.smallest.toFixed(1)} px at 1080p (${(res.smallest * scale).toFixed(1)} px here), ranking text ` +
          `${res.rowPx.toFixed(1)} px; contrast >= 4.5:1 (3:1 large); every rate's status also a sign`);
      if (kiosk && w >= 1920) await page.screenshot({ path: path.join(SHOTS, `wall-${w}x${h}.png`) });
    }
    await page.close();
  }
  const ref = rowPx['1920x1080'];
  for (const [size, px] of Object.entries(rowPx))
    check(Math.abs(px - ref) / ref < 0.02, `the ranking's text is ${px.toFixed(2)} px at the 1080 equivalent at ${size}, ` +
          `${ref.toFixed(2)} at 1920x1080: it does not follow the screen`);
}

function watch(page, pageErrors) {
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  return page.route((url) => !url.href.startsWith(WALL_URL) && !url.href.startsWith(KIOSK_URL || WALL_URL), (route) => {
    pageErrors.push(`external request to ${route.request().url()}`);
    route.abort();
  });
}

/* ---- kiosk ---- */

const viCollator = new Intl.Collator('vi');

/* The drill-downs a kiosk cycle must show: the units furthest below their
 * full-process target (rate points short, then dossiers short, then rank,
 * then code), from the topic. */
function wantDrills(view, n) {
  const short = (s) => s.full_process.target - s.full_process.rate;
  return [...view.units.values()]
    .filter((s) => typeof s.full_process.rate === 'number' && typeof s.full_process.target === 'number' &&
      s.full_process.rate < s.full_process.target)
    .sort((a, b) => short(b) - short(a) || (b.full_process.gap || 0) - (a.full_process.gap || 0) ||
      (a.rank || 1e9) - (b.rank || 1e9) || (a.unit < b.unit ? -1 : 1))
    .slice(0, n)
    .map((s) => s.unit);
}

/* What the kiosk shows now, with its layout's faults. */
function kioskState(page) {
  return page.evaluate(() => {
    const k = document.getElementById('kiosk');
    const wrap = document.querySelector('.table-wrap').getBoundingClientRect();
    const rows = [...document.querySelectorAll('#ranking-body tr[data-unit]')];
    const cut = rows.filter((tr) => tr.getBoundingClientRect().bottom > wrap.bottom + 0.5).map((tr) => tr.dataset.unit);
    const unit = document.getElementById('unit');
    const body = unit.querySelector('.drawer-body');
    return {
      ...k.dataset, text: document.getElementById('kiosk-text').textContent,
      units: rows.map((tr) => tr.dataset.unit), cut,
      drawer: unit.hidden ? null : unit.dataset.unit || null,
      drillText: document.getElementById('kiosk-drill').hidden ? '' : document.getElementById('kiosk-drill').textContent,
      drawerScrolls: !unit.hidden && body.scrollHeight > body.clientHeight + 1,
      kioskClass: document.body.classList.contains('kiosk'),
      values: rows.map((tr) => ({ unit: tr.dataset.unit,
        total: tr.querySelector('td[data-col="total"]').dataset.value,
        received: tr.querySelector('td[data-col="received"]').dataset.value })),
    };
  });
}

/* Follow the kiosk through one whole cycle (from the first page of a cycle
 * to the first page of the next), sampling every 150 ms: the turns seen,
 * each with what it showed. */
async function kioskCycle(page, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  let s = await kioskState(page);
  // wait for the start of a cycle with rows
  const startCycle = Number(s.cycle) + 1;
  while (!(Number(s.cycle) >= startCycle && s.phase === 'ranking' && s.page === '1' && s.units.length > 0)) {
    check(Date.now() < deadline, `no kiosk cycle started: ${JSON.stringify(s).slice(0, 300)}`);
    await new Promise((r) => setTimeout(r, 100));
    s = await kioskState(page);
  }
  const cycle = s.cycle;
  const t0 = Date.now();
  const turns = new Map();
  for (;;) {
    if (s.cycle !== cycle) break;
    const t = turns.get(s.turn) || { ...s, drawers: new Set(), cutRows: new Set(), drawerScrolled: false, at: Date.now() - t0 };
    if (s.drawer) t.drawers.add(s.drawer);
    for (const c of s.cut) t.cutRows.add(c);
    t.drawerScrolled ||= s.drawerScrolls;
    if (s.drillText) t.drillText = s.drillText;
    turns.set(s.turn, t);
    check(Date.now() < deadline, `the kiosk cycle ${cycle} did not end within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 150));
    s = await kioskState(page);
  }
  return { cycle, ms: Date.now() - t0, turns: [...turns.values()] };
}

/* Kiosk mode on a 3840x2160 screen (?kiosk=1, 2 s a page, 2 s a
 * drill-down): one cycle shows every unit of the period on exactly one
 * page, in rank order, no row cut off; then the drill-downs of the five
 * units furthest below target, one after another, none scrolling; the page
 * indicator says where it is. Then, on a 1920x1080 screen, a new day
 * streams in while it cycles: the ranking's rows change only when a page
 * turns (one redraw per turn), and the pages show the new figures. */
async function checkKiosk(context, pageErrors, period) {
  const page = await context.newPage();
  await watch(page, pageErrors);
  await page.setViewportSize({ width: 1920, height: 1080 });
  await page.goto(WALL_URL + '/?kiosk=1&page_s=2&drilldown_s=2&drilldowns=5', { waitUntil: 'load' });
  await page.waitForSelector('#conn[data-state="live"]', { timeout: 30000 });
  /* live updates while it cycles: rows are redrawn on page turns only */
  await page.evaluate(() => {
    window.__redraws = [];
    new MutationObserver(() => window.__redraws.push(document.getElementById('kiosk').dataset.turn))
      .observe(document.getElementById('ranking-body'), { childList: true });
  });
  const before = new Map([...periodView(await readScores(), period).units.values()].map((s) => [s.unit, s.counts.received]));
  await hook('more', '2025-07-04');
  const after = periodView(await readScores(), period);
  const grown = new Set([...after.units.values()].filter((s) => s.counts.received > (before.get(s.unit) || 0)).map((s) => s.unit));
  check(grown.size > 0, 'no unit received more after a new day');
  // a full cycle after the update: every page shows the topic's new figures
  const { turns: late } = await kioskCycle(page, 120000);
  const lateRanking = late.filter((t) => t.phase === 'ranking');
  const stale = [];
  let grownSeen = 0;
  for (const t of lateRanking) {
    for (const v of t.values) {
      const s = after.units.get(v.unit);
      if (!s) { stale.push(`${v.unit} not in the topic`); continue; }
      if (v.received !== String(s.counts.received) || v.total !== String(s.total))
        stale.push(`${v.unit}: received ${v.received} total ${v.total}, topic ${s.counts.received} ${s.total}`);
      if (grown.has(v.unit)) grownSeen++;
    }
    check(t.cutRows.size === 0, `kiosk page ${t.page} at 1920x1080: rows cut off`);
  }
  check(stale.length === 0, `kiosk pages after the update: ${stale.slice(0, 5).join('; ')}`);
  check(lateRanking.flatMap((t) => t.units).length === after.units.size,
        `the cycle after the update showed ${lateRanking.flatMap((t) => t.units).length} of ${after.units.size} units`);
  const redraws = await page.evaluate(() => window.__redraws);
  const perTurn = new Map();
  for (const t of redraws) perTurn.set(t, (perTurn.get(t) || 0) + 1);
  const twice = [...perTurn].filter(([, n]) => n > 1);
  check(redraws.length > 0 && twice.length === 0,
        `the ranking was redrawn between page turns: turns ${JSON.stringify(twice)} (${redraws.length} redraws)`);
  log(`9. kiosk at 1920x1080 (2 s a page, 2 s a drill-down), while a new day streamed in: ${redraws.length} redraws of the ranking, one per page turn; the next cycle ` +
      `(${lateRanking.length} pages at 1920x1080) showed the topic's new figures, ${grownSeen} grown units among them`);
  /* one whole cycle on a 4K screen, nothing changing */
  await page.setViewportSize({ width: 3840, height: 2160 });
  const view = periodView(await readScores(), period);
  const { ms, turns, cycle } = await kioskCycle(page, 120000);
  const ranking = turns.filter((t) => t.phase === 'ranking');
  const drills = turns.filter((t) => t.phase === 'drilldown');
  const pages = ranking.length;
  ranking.forEach((t, i) => {
    check(t.page === String(i + 1) && t.pages === String(pages) && t.text === `Trang ${i + 1}/${pages}`,
          `kiosk page ${i + 1} of ${pages} says '${t.text}' (page ${t.page}/${t.pages})`);
    check(t.cutRows.size === 0, `kiosk page ${i + 1}: rows cut off at the bottom: ${[...t.cutRows].join(', ')}`);
    check(t.kioskClass, 'the page is not in kiosk mode');
  });
  const shown = ranking.flatMap((t) => t.units);
  const want = [...view.units.values()]
    .sort((a, b) => (a.rank || 1e9) - (b.rank || 1e9) || viCollator.compare(a.unit_name, b.unit_name))
    .map((s) => s.unit);
  check(new Set(shown).size === shown.length, `a unit shown twice in one cycle: ${shown.length} rows, ${new Set(shown).size} units`);
  const province = JSON.parse(await hook('units'));
  check(want.length === province.units, `the topic has ${want.length} units of ${period}, the province ${province.units}`);
  check(shown.join() === want.join(), `the cycle's pages show ${shown.length} units, the topic has ${want.length} ` +
        `(first difference at ${shown.findIndex((u, i) => u !== want[i])})`);
  const drillWant = wantDrills(view, 5);
  // each turn's drill-down shows its unit; the one before may still be
  // seen at the very start of a turn, until the new unit's snapshot loads
  const drillSeen = drills.map((t) => [...t.drawers]);
  check(drills.length === drillWant.length && drillSeen.every((d, i) => d.includes(drillWant[i]) &&
        d.every((u) => u === drillWant[i] || (i > 0 && u === drillWant[i - 1])) && d[d.length - 1] === drillWant[i]),
        `drill-downs ${JSON.stringify(drillSeen)}, want ${JSON.stringify(drillWant)} (furthest below target)`);
  drills.forEach((t, i) => {
    check(t.drillText === `Xa mục tiêu toàn trình nhất ${i + 1}/${drillWant.length}`, `drill-down ${i + 1} says '${t.drillText}'`);
    check(!t.drawerScrolled, `drill-down ${i + 1} (${drillWant[i]}) does not fit the screen`);
  });
  await page.waitForSelector('#kiosk[data-phase="drilldown"]', { timeout: 60000 });
  await page.waitForTimeout(1500);
  await page.screenshot({ path: path.join(SHOTS, 'wall-drilldown-3840x2160.png') });
  const perPage = ranking.map((t) => t.units.length);
  log(`   kiosk at 3840x2160 (2 s a page, 2 s a drill-down): cycle ${cycle} showed all ${shown.length} units ` +
      `in rank order on ${pages} pages (${perPage.join(', ')} rows; none cut), then ${drills.length} drill-downs ` +
      `(${drillWant.join(', ')}); the cycle took ${(ms / 1000).toFixed(1)} s`);

  await page.close();

  /* the server's default: a wall started with --kiosk */
  if (KIOSK_URL) {
    const kp = await context.newPage();
    await watch(kp, pageErrors);
    await kp.goto(KIOSK_URL + '/', { waitUntil: 'load' });
    await kp.waitForSelector('body.kiosk #kiosk[data-phase="ranking"]:not([hidden])', { timeout: 30000 });
    const k = await kioskState(kp);
    check(k.text.startsWith('Trang '), `the --kiosk wall's page indicator says '${k.text}'`);
    await kp.goto(KIOSK_URL + '/?kiosk=0', { waitUntil: 'load' });
    await kp.waitForSelector('#conn[data-state="live"]', { timeout: 30000 });
    await kp.waitForTimeout(500);
    check(!(await kp.evaluate(() => document.body.classList.contains('kiosk'))), '?kiosk=0 did not turn the kiosk off');
    await kp.close();
    log(`   a wall started with --kiosk opens in kiosk mode without ?kiosk ('${k.text}'); ?kiosk=0 turns it off`);
  }
}

/* ---- the phases ---- */

/* The trend charts of a box: for the 12 months and then the 8 quarters
 * up to `period`, every point's value equals the topic's snapshot of that
 * unit and period (total, full-process rate, #5's rate), null where the
 * topic has none; the target line is the snapshot's target. */
async function checkTrend(page, box, unit, period, what) {
  const series = { total: (s) => s.total, fp_rate: (s) => s.full_process.rate,
    on_time_rate: (s) => (ind(s, ONTIME) || {}).rate };
  for (const [scale, n] of [['months', 12], ['quarters', 8]]) {
    await page.click(`${box} button.trend-scale[data-scale="${scale}"]`);
    await until(`${what}, ${scale}`, async () => {
      const scores = await readScores();
      const d = await page.evaluate((b) => [...document.querySelectorAll(`${b} figure`)].map((f) => ({
        series: f.dataset.series,
        target: (f.querySelector('line.target') || { dataset: {} }).dataset.value,
        points: [...f.querySelectorAll('circle.pt')].map((c) => [c.dataset.period, c.dataset.value]),
      })), box);
      const { out, eq } = comparer();
      eq(d.length, 3, 'charts');
      for (const f of d) {
        eq(f.points.length, n, `${f.series}: points`);
        for (const [p, v] of f.points) {
          const snap = scores.get(`${unit}|${p}`);
          const want = snap ? series[f.series](snap) : null;
          eq(v, typeof want === 'number' ? String(want) : '', `${f.series} of ${p}`);
        }
        const last = f.points[f.points.length - 1][0];
        const snap = scores.get(`${unit}|${last}`);
        if (f.series === 'fp_rate' && snap && snap.full_process.rate !== null)
          eq(f.target, String(snap.full_process.target), 'full-process target line');
      }
      return out;
    }, 30000);
  }
  const shown = await page.$$eval(`${box} circle.pt:not(.none)`, (cs) => cs.length);
  check(shown > 0, `${what}: no point has a value`);
  log(`   ${what}: 12 months and 8 quarters equal the topic (${shown} points with a value)`);
  await page.click(`${box} button.trend-scale[data-scale="months"]`);
}

/* Departments and communes: each kind's full-process rate on the province
 * card equals the topic's (its units' full-process dossiers over their
 * resolved ones), and the ranking's filter shows exactly that kind's
 * units. */
async function checkKinds(page, period) {
  const names = { department: 'Sở, ban, ngành', commune: 'Xã, phường' };
  let units;
  await until('the kinds\' full-process rates', async () => {
    units = [...periodView(await readScores(), period).units.values()];
    const { out, eq } = comparer();
    for (const kind of ['department', 'commune']) {
      const mine = units.filter((u) => u.kind === kind);
      const fp = mine.reduce((a, u) => a + u.counts.full_process, 0);
      const resolved = mine.reduce((a, u) => a + u.counts.resolved, 0);
      const want = resolved > 0 ? fp / resolved : null;
      const got = await page.evaluate((k) => {
        const e = document.getElementById('province-fp-' + k);
        return { value: e.dataset.value, text: e.textContent };
      }, kind);
      eq(got.value, want === null ? '' : String(want), `${kind} full-process rate`);
      if (!got.text.startsWith(names[kind] + ' ')) out.push(`${kind}: label '${got.text}'`);
      const rp = rateProblem(got.text.slice(names[kind].length + 1).replace(/ [✓✗≈]$/, ''), want,
        `${kind} rate text`);
      if (rp) out.push(rp);
    }
    return out;
  }, 30000);
  for (const kind of ['commune', 'department', '']) {
    await page.click(`#kind-filter button[data-kind="${kind}"]`);
    const rows = await page.$$eval('#ranking-body tr', (trs) => trs.map((tr) => tr.dataset.kind));
    const want = units.filter((u) => !kind || u.kind === kind).length;
    check(rows.length === want && rows.every((k) => !kind || k === kind),
          `filter '${kind || 'all'}': ${rows.length} rows (${want} units of the topic)`);
    check(await page.getAttribute(`#kind-filter button[data-kind="${kind}"]`, 'aria-pressed') === 'true',
          `filter '${kind || 'all'}' is shown as pressed`);
  }
  log(`   departments and communes: each kind's rate equals the topic's; the filter shows ` +
      `${units.filter((u) => u.kind === 'department').length} departments, ` +
      `${units.filter((u) => u.kind === 'commune').length} communes`);
}

async function run(context, page, pageErrors) {
  /* 1. load: every number is the topic's */
  await page.goto(WALL_URL + '/', { waitUntil: 'load' });
  await page.waitForSelector('#conn[data-state="live"]', { timeout: 30000 });
  let { st, view } = await matchTopic(page, MONTH, `page vs topic (${MONTH})`);
  log(`1. ${st.rows.length} units of ${MONTH} as on the topic; province total ${st.total}, ` +
      `received ${st.received}, full-process ${st.fp}`);
  {
    const p5 = ind(view.province, ONTIME);
    check(typeof p5.rate === 'number',
          `the province's #5 has no rate (den ${p5.den}): no dossier judged, nothing to compare`);
    check(st.gains.length === 3, `the province card shows ${st.gains.length} gains, not three`);
    const g2 = st.groups.find((g) => g.id === '2');
    log(`   on time (chỉ số 5) ${st.ontime} = ${fmtInt(p5.num)}/${fmtInt(p5.den)}, group 2 ${g2.points} / 20 ` +
        `(the report's resolved on time: ${view.province.on_time.rate}); gains ` +
        st.gains.map((g) => `${g.badge} ${g.short} ${g.plus}`).join('; '));
  }
  check(/Tháng 7\/2025/.test(st.periodLabel), `period label '${st.periodLabel}'`);
  const options = await page.$$eval('#period-select optgroup', (gs) =>
    gs.map((g) => ({ label: g.label, options: [...g.children].map((o) => [o.value, o.textContent]) })));
  const labels = Object.fromEntries(options.flatMap((g) => g.options));
  check(labels['2025-07'] === 'Tháng 7/2025' && labels['2025-Q3'] === 'Quý III/2025' &&
        labels['2025-Q2'] === 'Quý II/2025' && labels['2025'] === 'Năm 2025',
        `period options: ${JSON.stringify(options)}`);
  check(options.map((g) => g.label).join() === 'Tháng,Quý,Năm', 'selector groups Tháng, Quý, Năm');
  const today1 = await checkToday(page, 'today\'s counter vs Redis');
  log(`   today ${today1.day}: ${fmtInt(today1.received)} received, as Redis counts`);

  /* sorting by a header */
  await page.click('th[data-sort="total"]');
  let sorted = await page.$$eval('#ranking-body td[data-col="total"]', (tds) => tds.map((t) => Number(t.dataset.value)));
  check(await page.getAttribute('th[data-sort="total"]', 'aria-sort') === 'descending', 'total sorts descending first');
  check(sorted.every((v, i) => i === 0 || sorted[i - 1] >= v), 'rows by total, highest first');
  await page.click('th[data-sort="total"]');
  sorted = await page.$$eval('#ranking-body td[data-col="total"]', (tds) => tds.map((t) => Number(t.dataset.value)));
  check(sorted.every((v, i) => i === 0 || sorted[i - 1] <= v), 'rows by total, lowest first after a second click');
  await page.click('th[data-sort="received"]');
  sorted = await page.$$eval('#ranking-body td[data-col="received"]', (tds) => tds.map((t) => Number(t.dataset.value)));
  check(sorted.every((v, i) => i === 0 || sorted[i - 1] >= v), 'rows by received, most first');
  await page.click('th[data-sort="rank"]');
  const ranks = await page.$$eval('#ranking-body td[data-col="rank"]', (tds) => tds.map((t) => Number(t.dataset.value)));
  check(ranks.every((v, i) => i === 0 || ranks[i - 1] <= v), 'back to rank order');
  log('   sorting by Điểm, Tiếp nhận and Hạng headers works');

  /* 2. a new day: the page follows without a reload */
  const marker = `m${Date.now()}`;
  await page.evaluate((m) => { window.__wallMarker = m; }, marker);
  const before = new Map(st.rows.map((r) => [r.unit, Number(r.receivedValue)]));
  const provinceBefore = Number(st.received.replace(/\./g, ''));
  log('2. streaming 2025-07-02 ...');
  await hook('more', '2025-07-02');
  ({ st, view } = await matchTopic(page, MONTH, 'page vs topic after a new day'));
  check(st.marker === marker, 'the page was reloaded (marker lost)');
  const grown = st.rows.filter((r) => Number(r.receivedValue) > (before.get(r.unit) || 0));
  check(grown.length > 0, 'no unit received more dossiers after a new day');
  const provinceAfter = Number(view.province.counts.received);
  check(provinceAfter > provinceBefore, `province received ${provinceBefore} -> ${provinceAfter}`);
  const today2 = await checkToday(page, 'today\'s counter after a new day');
  check(today2.day === '2025-07-02' && today2.received > 0, `today is ${today2.day} with ${today2.received}`);
  log(`   without reload: province received ${fmtInt(provinceBefore)} -> ${fmtInt(provinceAfter)}, ` +
      `${grown.length} units grew; today ${today2.day}: ${fmtInt(today2.received)}`);

  /* 3. the quarter selector */
  await page.selectOption('#period-select', QUARTER);
  let q;
  ({ st: q, view } = await matchTopic(page, QUARTER, `page vs topic (${QUARTER})`));
  check(/Quý II\/2025/.test(q.periodLabel), `period label '${q.periodLabel}'`);
  check(q.marker === marker, 'choosing a period reloaded the page');
  check(q.total !== st.total || q.received !== st.received,
        `${QUARTER} shows July's numbers (${q.total}, ${q.received})`);
  log(`3. ${QUARTER}: ${q.rows.length} units, province total ${q.total} (July ${st.total}), ` +
      `received ${q.received} (July ${st.received})`);
  await page.selectOption('#period-select', MONTH);
  await matchTopic(page, MONTH, `page vs topic (back to ${MONTH})`);

  /* 4. the wall restarts: the page reconnects by itself */
  const conn0 = (await pageState(page)).conn;
  log(`4. restarting chiso-wall (boot ${conn0.boot}, connection ${conn0.connects}) ...`);
  await hook('restart');
  await until('reconnection after the restart', async () => {
    const c = (await pageState(page)).conn;
    return c.boot && c.boot !== conn0.boot && c.state === 'live' ? [] : [`conn ${JSON.stringify(c)}`];
  }, 60000);
  const conn1 = (await pageState(page)).conn;
  await hook('more', '2025-07-03');
  ({ st, view } = await matchTopic(page, MONTH, 'page vs topic after the restart and a new day'));
  check(st.marker === marker, 'the page was reloaded across the restart');
  const today3 = await checkToday(page, 'today\'s counter after the restart');
  check(today3.day === '2025-07-03', `today is ${today3.day}`);
  log(`   reconnected by itself (boot ${conn1.boot}, connection ${conn1.connects}); ` +
      `then 2025-07-03 arrived live: province received ${st.received}, today ${fmtInt(today3.received)}`);

  /* 5. the drill-down of the busiest unit with points to win on #5 (else
   * the busiest unit with any): indicators, gap, the points still to win */
  const byReceived = [...view.units.values()].sort((a, b) => b.counts.received - a.counts.received);
  const busiest = byReceived.find((u) => (ind(u, ONTIME) || {}).need > 0) ||
    byReceived.find((u) => wantGains(u).length > 0) || byReceived[0];
  await page.click(`#ranking-body tr[data-unit="${busiest.unit}"]`);
  await page.waitForSelector(`#unit[data-unit="${busiest.unit}"]:not([hidden])`, { timeout: 10000 });
  await until(`drill-down of ${busiest.unit}`, async () => {
    const s = periodView(await readScores(), MONTH).units.get(busiest.unit);
    const d = await page.evaluate(() => ({
      name: document.getElementById('unit-name').textContent,
      total: document.getElementById('unit-total').textContent,
      gap: document.getElementById('unit-gap').dataset.value,
      gapText: document.getElementById('unit-gap').textContent,
      fp: document.getElementById('unit-fp').textContent,
      rows: [...document.querySelectorAll('#unit-indicators tbody tr')].map((tr) => {
        const c = (col) => tr.querySelector(`td[data-col="${col}"]`);
        return { id: tr.dataset.indicator, name: c('name').textContent, rate: c('rate').textContent,
          points: c('points').textContent, pointsValue: c('points').dataset.value, max: c('max').textContent,
          lost: c('lost').textContent, need: c('need').textContent, needValue: c('need').dataset.value };
      }),
      gains: [...document.querySelectorAll('#unit-gains li')].map((li) => ({
        id: li.dataset.indicator, need: li.dataset.need, gain: li.dataset.gain,
        label: li.querySelector('.gid').textContent, text: li.querySelector('.gtext').textContent,
      })),
    }));
    const { out, eq } = comparer();
    eq(d.name, s.unit_name, 'unit name');
    eq(d.total, fmt2(s.total), 'unit total');
    eq(d.gap, String(s.full_process.gap), 'full-process gap');
    if (s.full_process.gap > 0 && !d.gapText.includes(`Cần thêm ${fmtInt(s.full_process.gap)} hồ sơ toàn trình`))
      out.push(`gap sentence '${d.gapText}'`);
    const fpp = rateProblem(d.fp, s.full_process.rate, 'unit full-process rate');
    if (fpp) out.push(fpp);
    eq(d.rows.length, 21, 'indicators shown');
    s.indicators.forEach((ind, i) => {
      const r = d.rows[i] || {};
      eq(r.id, String(ind.id), `indicator ${i + 1} id`);
      eq(r.name, ind.name, `indicator ${ind.id} name`);
      eq(r.pointsValue, String(ind.points), `indicator ${ind.id} points (value)`);
      eq(r.points, fmt2(ind.points), `indicator ${ind.id} points`);
      eq(r.max, fmtInt(ind.max), `indicator ${ind.id} max`);
      eq(r.lost, fmt2(ind.lost), `indicator ${ind.id} points lost`);
      const rp = rateProblem(r.rate || '', ind.rate, `indicator ${ind.id} rate`);
      if (rp) out.push(rp);
      eq(r.needValue, numAttr(ind.need), `indicator ${ind.id} need (value)`);
      eq(r.need, typeof ind.need === 'number' ? fmtInt(ind.need) : '—', `indicator ${ind.id} need`);
    });
    /* the points still to win: need > 0 only, by gain, most first */
    const want = wantGains(s);
    eq(d.gains.length, want.length, 'points-still-to-win sentences');
    want.forEach((w, i) => {
      const g = d.gains[i] || {};
      eq(g.id, String(w.id), `points still to win ${i + 1}: indicator (by gain)`);
      eq(g.need, String(w.need), `points still to win ${i + 1}: need`);
      eq(g.gain, String(w.gain), `points still to win ${i + 1}: gain`);
      eq(g.label, `Chỉ số ${w.id}`, `points still to win ${i + 1}: label`);
      const sp = sentenceProblem(g.text || '', w);
      if (sp) out.push(sp);
    });
    return out;
  }, 30000);
  const s = view.units.get(busiest.unit);
  const sentences = await page.$$eval('#unit-gains li .gtext', (ls) => ls.map((l) => l.textContent));
  check(sentences.length > 0, `${busiest.unit} has no points still to win: nothing shown to check`);
  log(`5. drill-down ${busiest.unit} (${busiest.unit_name}): 21 indicators, total ${fmt2(s.total)}, ` +
      `full-process gap ${s.full_process.gap}; ${sentences.length} points still to win, by gain:\n    ` +
      sentences.join('\n    '));
  await checkTrend(page, '#unit-trend', busiest.unit, MONTH, `trend of ${busiest.unit}`);
  await page.evaluate(() => document.querySelector('#unit .drawer-body').scrollTo(0, 0));
  await page.screenshot({ path: path.join(SHOTS, 'wall-drilldown.png') });
  await page.click('#unit-close');
  await page.waitForSelector('#unit[hidden]', { state: 'attached', timeout: 5000 });
  await checkTrend(page, '#province-trend', view.province.unit, MONTH, 'trend of the province');
  await checkKinds(page, MONTH);

  /* 6. the alert feed */
  const topicAlerts = (await hook('alerts')).split('\n').filter(Boolean).map((l) => JSON.parse(l));
  check(topicAlerts.length > 0, 'the alerts topic is empty: nothing to show');
  const known = new Set(topicAlerts.map((a) => `${a.unit}|${a.dossier_id}|${a.kind}`));
  let feed;
  await until('alert feed', async () => {
    feed = await page.$$eval('#alerts li', (lis) => lis.map((li) => ({ unit: li.dataset.unit,
      dossier: li.dataset.dossier, kind: li.dataset.kind, badge: li.querySelector('.badge').textContent,
      text: li.textContent })));
    const out = [];
    if (feed.length !== Math.min(50, known.size)) out.push(`feed has ${feed.length} alerts, topic ${known.size}`);
    for (const f of feed) {
      if (!known.has(`${f.unit}|${f.dossier}|${f.kind}`)) out.push(`feed alert ${f.dossier} not in the topic`);
      const badge = f.kind === 'overdue' ? 'Quá hạn' : 'Sắp đến hạn';
      if (f.badge !== badge) out.push(`alert ${f.dossier}: badge '${f.badge}'`);
    }
    return out;
  }, 30000);
  const overdue = feed.filter((f) => f.kind === 'overdue').length;
  log(`6. alert feed: ${feed.length} shown (${overdue} Quá hạn, ${feed.length - overdue} Sắp đến hạn) ` +
      `of ${known.size} on the topic`);

  /* 7. the screenshot and no script error */
  await page.evaluate(() => document.querySelector('.table-wrap').scrollTo(0, 0));
  await page.screenshot({ path: path.join(SHOTS, 'wall.png') });
  check(pageErrors.length === 0, `JavaScript errors on the page: ${pageErrors.join('; ')}`);
  log(`7. screenshots ${path.join(SHOTS, 'wall.png')}, ${path.join(SHOTS, 'wall-drilldown.png')}`);

  /* 8. screens from 1280x720 to 3840x2160 */
  log('8. screens:');
  await checkScreens(context, pageErrors, MONTH);
  /* 9. kiosk */
  await checkKiosk(context, pageErrors, MONTH);
  check(pageErrors.length === 0, `JavaScript errors on the page: ${pageErrors.join('; ')}`);
}

async function main() {
  log(`Chromium ${CHROMIUM}, wall ${WALL_URL}`);
  const context = await chromium.launchPersistentContext(PROFILE, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1920, height: 1080 },
    locale: 'vi-VN',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const pageErrors = [];
  let rc = 1;
  try {
    const page = context.pages()[0] || (await context.newPage());
    // the page may ask this server only: anything else is a failure
    await watch(page, pageErrors);
    await run(context, page, pageErrors);
    log('PASS');
    rc = 0;
  } catch (e) {
    log('FAIL:', e instanceof Failure ? e.message : e.stack || e);
  } finally {
    await context.close();
  }
  process.exit(rc);
}

main();
