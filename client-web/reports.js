// Office reports: a period (this month, last month, this year, or chosen dates) and optionally one hamlet,
// or one outreach session. Headline tiles, SVG charts from the hub (each with the same numbers as a text
// table beneath, for screen readers and for print), CSV downloads, and the sessions of the period.
import { h, t, api, icon, btn, banner, procedures, procTitle, fmtDate, fmtTime, go } from './lib.js';
import { scrollBox } from './wide.js';

const enc = encodeURIComponent;
const BASE = '/api/v1/office/reports';
const BANDS = ['0-5', '6-14', '15-17', '18-35', '36-59', '60+'];

const iso = (d) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;

// The presets, in local time: this month, last month, this year.
function preset(name, now = new Date()) {
  const y = now.getFullYear(); const m = now.getMonth();
  if (name === 'last_month') return [iso(new Date(y, m - 1, 1)), iso(new Date(y, m, 0))];
  if (name === 'this_year') return [iso(new Date(y, 0, 1)), iso(new Date(y, 11, 31))];
  return [iso(new Date(y, m, 1)), iso(new Date(y, m + 1, 0))];
}

const num = (n) => (n == null ? '–' : Number(n).toLocaleString('vi-VN', { maximumFractionDigits: 1 }));
const orKey = (key, value) => { const s = t(key); return s === key ? value : s; };

// Label of a key in one of the report's dimensions.
function label(dim, key) {
  if (dim === 'procedure') return procTitle({ id: key });
  if (dim === 'status') return orKey('reports.status.' + key, key);
  if (dim === 'sex') return key === '' ? t('reports.unknown') : orKey('reports.sex.' + key, key);
  if (dim === 'band') return key === '' ? t('reports.unknown') : t('reports.band', { band: key });
  if (dim === 'service') return orKey('reports.service.' + key, key);
  if (dim === 'hamlet') return key === '' ? t('reports.no_session') : key === '?' ? t('reports.no_summary') : key;
  return key;
}

// Each chart's text table: [header cells, rows of cells], the same rows as its CSV.
function tableOf(name, f) {
  const simple = (list, dim, head) => [[head, t('reports.count')], (list || []).map((c) => [label(dim, c.key), num(c.count)])];
  switch (name) {
    case 'services': return simple(f.served.services, 'service', t('reports.col.service'));
    case 'dossiers-by-procedure':
      return [[t('reports.col.procedure'), t('reports.col.status'), t('reports.count')],
        f.dossiers.by_procedure_status.map((p) => [label('procedure', p.procedure), label('status', p.status), num(p.count)])];
    case 'dossiers-by-hamlet': return simple(f.dossiers.by_hamlet, 'hamlet', t('reports.col.hamlet'));
    case 'dossiers-by-sex': return simple(f.dossiers.by_sex, 'sex', t('reports.col.sex'));
    case 'dossiers-by-age-band': return simple(f.dossiers.by_age_band, 'band', t('reports.col.band'));
    case 'registration-days':
      return [[t('reports.col.days'), t('reports.count')], f.registration.days.map((d) => [t('reports.days', { n: d.days }), num(d.count)])];
    case 'consented-by-sex': return simple(f.served.by_sex, 'sex', t('reports.col.sex'));
    case 'consented-by-age-band':
      return simple([...(f.served.by_age_band || [])].sort((a, b) => BANDS.indexOf(a.key) - BANDS.indexOf(b.key)), 'band', t('reports.col.band'));
    case 'consented-by-ethnicity':
      return [[t('reports.col.ethnicity'), t('reports.count')], f.served.by_ethnicity.map((e) => [e.name, num(e.count)])];
    default: return [[], []];
  }
}

function tile(name, value, hint) {
  return h('div', { class: 'rtile', 'data-testid': 'report-tile-' + name },
    h('span', { class: 'rtile-value' }, value), h('span', { class: 'rtile-label' }, t('reports.tile.' + name)),
    hint ? h('small', {}, hint) : null);
}

function tiles(f) {
  const r = f.registration;
  return h('div', { class: 'rtiles', 'data-testid': 'report-tiles' },
    tile('served', num(f.served.villagers_served), t('reports.tile.served_hint', { n: num(f.served.sessions) })),
    tile('services', num(f.served.services_total), t('reports.tile.services_hint', { n: num(f.served.consented) })),
    tile('dossiers', num(f.dossiers.total), f.dossiers.refused ? t('reports.tile.refused', { n: num(f.dossiers.refused) }) : null),
    tile('registered', num(r.registered), r.within_limit_pct != null ? t('reports.tile.within', { pct: num(r.within_limit_pct) }) : null),
    tile('median_days', r.median_days == null ? '–' : num(r.median_days),
      r.p90_days == null ? null : t('reports.tile.p90', { n: num(r.p90_days) })));
}

// One chart: the hub's SVG as an image (its alt is the title; the numbers are in the table beneath), the
// table, and the CSV link.
function chart(name, f, qs) {
  const [head, rows] = tableOf(name, f);
  const title = t('reports.chart.' + name);
  const id = 'rc-' + name;
  return h('figure', { class: 'rchart card', 'data-testid': 'report-chart-' + name, 'aria-labelledby': id },
    h('figcaption', { id }, h('h2', {}, title)),
    rows.length
      ? h('img', { src: `${BASE}/charts/${name}.svg?${qs}`, alt: title, loading: 'lazy', decoding: 'async', 'data-testid': 'report-img-' + name })
      : h('p', { class: 'muted' }, t('reports.empty')),
    rows.length ? h('table', { class: 'rtable' }, h('caption', { class: 'sr' }, title),
      h('thead', {}, h('tr', {}, head.map((c, i) => h('th', { scope: 'col', class: i === head.length - 1 ? 'num' : null }, c)))),
      h('tbody', {}, rows.map((r) => h('tr', {}, r.map((c, i) => (i === 0 ? h('th', { scope: 'row' }, c) : h('td', { class: i === r.length - 1 ? 'num' : null }, c))))))) : null,
    h('a', { class: 'btn no-print', href: `${BASE}/${name}.csv?${qs}`, download: '', 'data-testid': 'report-csv-' + name },
      icon('save'), t('reports.csv')));
}

function charts(f, qs, names) {
  return h('div', { class: 'rcharts' }, names.map((n) => chart(n, f, qs)));
}

function printButton() {
  return btn('print', t('reports.print'), { class: 'btn no-print', 'data-testid': 'report-print', onclick: () => window.print() });
}

export async function reportsView(app, _p, query, ctx) {
  const [from0, to0] = preset('this_month');
  const from = query.get('from') || from0;
  const to = query.get('to') || to0;
  const hamlet = query.get('hamlet') || '';
  const qs = new URLSearchParams({ from, to, ...(hamlet ? { hamlet } : {}) }).toString();
  const [r] = await Promise.all([api('GET', `${BASE}?${qs}`), procedures().catch(() => null)]);
  const f = r.figures;
  const open = (a, b, hm) => go('#/office/reports?' + new URLSearchParams({ from: a, to: b, ...(hm ? { hamlet: hm } : {}) }).toString());

  const fromIn = h('input', { type: 'date', id: 'r-from', value: from, 'data-testid': 'report-from', required: true });
  const toIn = h('input', { type: 'date', id: 'r-to', value: to, 'data-testid': 'report-to', required: true });
  const hamletSel = h('select', { id: 'r-hamlet', 'data-testid': 'report-hamlet' },
    h('option', { value: '' }, t('reports.all_hamlets')),
    (r.hamlets || []).map((x) => h('option', { value: x, selected: x === hamlet }, x)));
  const form = h('form', { class: 'card rfilter no-print', 'data-testid': 'report-filter',
    onsubmit: (e) => { e.preventDefault(); open(fromIn.value, toIn.value, hamletSel.value); } },
    h('div', { class: 'rpresets', role: 'group', 'aria-label': t('reports.presets') },
      ['this_month', 'last_month', 'this_year'].map((p) => h('button', { type: 'button', class: 'btn', 'data-testid': 'report-preset-' + p,
        onclick: () => { const [a, b] = preset(p); open(a, b, hamletSel.value); } }, t('reports.preset.' + p)))),
    h('div', { class: 'rfields' },
      h('label', { for: 'r-from' }, t('reports.from'), fromIn),
      h('label', { for: 'r-to' }, t('reports.to'), toIn),
      h('label', { for: 'r-hamlet' }, t('reports.hamlet'), hamletSel),
      btn('reload', t('reports.show'), { class: 'btn primary', type: 'submit', 'data-testid': 'report-apply' })));

  const sessions = r.sessions || [];
  const sessionTable = sessions.length
    ? scrollBox(h('table', { class: 'rtable rsessions', 'data-testid': 'report-sessions' },
      h('caption', {}, t('reports.sessions_caption', { n: sessions.length })),
      h('thead', {}, h('tr', {}, ['date', 'hamlet', 'served', 'services', 'expected', 'received'].map((c) =>
        h('th', { scope: 'col', class: c === 'date' || c === 'hamlet' ? null : 'num' }, t('reports.s.' + c))))),
      h('tbody', {}, sessions.map((s) => h('tr', { 'data-testid': 'report-session-row', 'data-session': s.session_id },
        h('td', {}, fmtDate(s.date)),
        h('th', { scope: 'row' }, h('a', { href: `#/office/reports/session/${enc(s.device_id)}/${enc(s.session_id)}`, 'data-testid': 'report-session-link' },
          s.hamlet), h('small', {}, ' ', s.venue_name)),
        h('td', { class: 'num' }, num(s.villagers_served)), h('td', { class: 'num' }, num(s.services)),
        h('td', { class: 'num' }, num(s.dossiers_expected)),
        h('td', { class: 'num' + (s.dossiers_received < s.dossiers_expected ? ' warn' : '') }, num(s.dossiers_received)))))),
    t('reports.sessions'))
    : h('p', { class: 'muted', 'data-testid': 'report-no-sessions' }, t('reports.no_sessions'));

  ctx.show(h('section', { class: 'reports', 'data-testid': 'reports' },
    h('h1', {}, t('reports.title')),
    h('p', { class: 'rperiod', 'data-testid': 'report-period' }, t('reports.period', { from: fmtDate(from), to: fmtDate(to) }),
      hamlet ? ' · ' + hamlet : ''),
    h('div', { class: 'ractions no-print' }, printButton()),
    form,
    tiles(f),
    f.dossiers.cancelled ? h('p', { class: 'muted' }, t('reports.cancelled', { n: num(f.dossiers.cancelled) })) : null,
    charts(f, qs, r.charts || []),
    h('section', { class: 'card' }, h('h2', {}, icon('people'), t('reports.sessions')), sessionTable,
      h('a', { class: 'btn no-print', href: `${BASE}/sessions.csv?${qs}`, download: '', 'data-testid': 'report-csv-sessions' },
        icon('save'), t('reports.csv')))));
}

export async function sessionReportView(app, [device, session], _q, ctx) {
  const qs = new URLSearchParams({ device, session }).toString();
  const [r] = await Promise.all([api('GET', `${BASE}/session/${enc(device)}/${enc(session)}`), procedures().catch(() => null)]);
  const f = r.figures; const s = r.session;
  const expected = r.dossiers_expected; const received = r.dossiers_received;
  const missing = expected != null && received < expected;
  ctx.show(h('section', { class: 'reports', 'data-testid': 'session-report' },
    h('a', { href: '#/office/reports', class: 'back no-print' }, icon('back'), t('reports.back')),
    h('h1', {}, s ? t('reports.session_title', { hamlet: s.hamlet, date: fmtDate(s.date) }) : t('reports.session_unknown')),
    s ? h('p', { class: 'rperiod' }, [s.venue_name, s.device_name || s.device_id.slice(0, 8), fmtTime(s.opened_at),
      s.closed_at ? fmtTime(s.closed_at) : t('reports.still_open')].filter(Boolean).join(' · ')) : null,
    h('div', { class: 'ractions no-print' }, printButton()),
    h('div', { 'data-testid': 'report-expected' },
      banner(missing ? 'warn' : 'ok', t('reports.expected_received', { expected: expected == null ? '?' : num(expected), received: num(received) }),
        missing ? t('reports.missing_hint') : null)),
    tiles(f),
    charts(f, qs, (r.charts || []).filter((n) => n !== 'dossiers-by-hamlet'))));
}
