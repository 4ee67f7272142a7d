// Office mode: reconciliation. `ledgerView` (#/office/ledger): a card per field device with a big
// "complete" or "N missing / M set aside" badge; a device opens its runs of sequence numbers (received /
// missing with the session and hamlet / set aside with the reason); a second section compares what each
// outreach session announced with what arrived, per procedure and per hamlet. `duplicatesView`
// (#/office/duplicates): pairs of dossiers for the same person side by side, to merge or keep both.
import { h, t, txt, api, icon, btn, banner, flash, errText, fmtTime, fmtDate, go, state, procedures } from './lib.js';
import { scrollBox } from './wide.js';
import { valueText, fieldDef } from './values.js';

const short = (id) => (id || '').slice(0, 8);
const devName = (d) => d.name || d.device_name || t('ledger.unknown_device');
const lang = () => (state.lang === 'en' ? 'en' : 'vi');
// A short name where the ledger has one, else the procedure's own title (a package published later).
const procName = (id) => {
  const k = `ledger.proc.${id}`;
  const s = t(k);
  if (s !== k) return s;
  const p = (state.procedures || []).filter((x) => x.id === id).pop();
  return p ? txt(p.title) : id;
};
const range = (a, b) => (a === b ? String(a) : `${a}–${b}`);

function statusBadge(d) {
  if (d.complete) {
    return h('span', { class: 'badge ok big', 'data-testid': 'ledger-badge', 'data-state': 'complete' },
      icon('ok'), t('ledger.complete'));
  }
  const parts = [];
  if (d.missing) parts.push(t('ledger.n_missing', { n: d.missing }));
  if (d.quarantined) parts.push(t('ledger.n_set_aside', { n: d.quarantined }));
  return h('span', { class: 'badge warn big', 'data-testid': 'ledger-badge', 'data-state': 'incomplete' },
    icon('warn'), parts.join(' / '));
}

function deviceCard(d) {
  return h('li', { class: `card ledger-device${d.complete ? '' : ' incomplete'}`, 'data-testid': `ledger-device-${d.device_id}` },
    h('div', { class: 'row' },
      h('a', { href: `#/office/ledger?device=${encodeURIComponent(d.device_id)}`, class: 'ledger-name', 'data-testid': 'ledger-open' },
        icon('box'), h('strong', {}, devName(d)), ` (${short(d.device_id)})`),
      statusBadge(d)),
    h('p', { class: 'muted' }, [
      t('ledger.head', { n: d.head }),
      t('ledger.received_n', { n: d.received }),
      t(`ledger.status.${d.status}`),
      d.last_received_at ? t('ledger.last', { when: fmtTime(d.last_received_at) }) : null,
    ].filter(Boolean).join(' · ')));
}

const RUN_ICON = { received: 'ok', missing: 'warn', quarantined: 'lock' };

function runItem(r) {
  let words;
  if (r.state === 'received') words = t('ledger.run_received', { range: range(r.from, r.to), n: r.count });
  else if (r.state === 'missing') {
    words = t('ledger.run_missing', { range: range(r.from, r.to), n: r.count });
    if (r.session_id) {
      words += ' — ' + t('ledger.in_session', { hamlet: r.hamlet || '?', date: fmtDate(r.date || ''), id: short(r.session_id) });
      const procs = Object.entries(r.procedures || {}).map(([p, n]) => `${procName(p)}: ${n}`);
      if (procs.length) words += ` (${procs.join(', ')})`;
    } else words += ' — ' + t('ledger.no_session');
  } else {
    words = t('ledger.run_quarantined', { range: range(r.from, r.to), n: r.count });
  }
  return h('li', { class: `ledger-run ${r.state}`, 'data-testid': `ledger-run-${r.state}`, 'data-from': r.from, 'data-to': r.to },
    icon(RUN_ICON[r.state] || 'doc'), h('span', { class: 'grow' }, h('strong', {}, t(`ledger.state.${r.state}`)), ' ', words,
      r.state === 'quarantined' ? h('span', { class: 'ledger-why' }, ' ', r[`explain_${lang()}`] || r.reason, ' ',
        h('a', { href: '#/office/quarantine', 'data-testid': 'ledger-to-quarantine' }, t('ledger.see_quarantine'))) : null));
}

function seqRow(x) {
  const what = x.state === 'received'
    ? [x.receipt_code, procName(x.procedure_id), x.hamlet].filter(Boolean).join(' · ')
    : x.state === 'missing'
      ? [x.session_id ? t('ledger.in_session', { hamlet: x.hamlet || '?', date: '', id: short(x.session_id) }) : t('ledger.no_session'),
        x.procedure_id ? procName(x.procedure_id) : null].filter(Boolean).join(' · ')
      : x[`explain_${lang()}`] || x.reason;
  return h('tr', { class: `ledger-seq ${x.state}`, 'data-testid': 'ledger-seq', 'data-state': x.state },
    h('td', {}, String(x.seq)),
    h('td', {}, icon(RUN_ICON[x.state] || 'doc'), ' ', t(`ledger.state.${x.state}`)),
    h('td', {}, x.state === 'received' && x.dossier_id
      ? h('a', { href: `#/office/dossier/${encodeURIComponent(x.dossier_id)}` }, what)
      : x.state === 'quarantined' ? h('a', { href: '#/office/quarantine' }, what) : what));
}

async function deviceView(app, id, query, ctx) {
  const from = Math.max(1, parseInt(query.get('from') || '1', 10) || 1);
  const r = await api('GET', `/api/v1/office/ledger/${encodeURIComponent(id)}?from=${from}&limit=200`);
  const d = r.device;
  const pageLink = (n, label, tid) => h('a', { class: 'btn ghost', 'data-testid': tid,
    href: `#/office/ledger?device=${encodeURIComponent(id)}&from=${n}` }, label);
  ctx.show(h('section', { 'data-testid': 'ledger-device-page' },
    h('p', { class: 'no-print' }, h('a', { href: '#/office/ledger', class: 'btn ghost' }, icon('back'), t('ledger.back'))),
    h('h1', {}, t('ledger.device_title', { name: devName(d) })),
    h('div', { class: 'row' }, statusBadge(d),
      h('span', { class: 'muted' }, `${t('ledger.head', { n: d.head })} · ${t('ledger.received_n', { n: d.received })} · ${short(d.device_id)}`)),
    h('h2', {}, t('ledger.runs')),
    r.runs.length ? h('ul', { class: 'list plain ledger-runs', 'data-testid': 'ledger-runs' }, r.runs.map(runItem))
      : h('p', { class: 'muted' }, t('ledger.nothing_yet')),
    r.rows.length ? h('details', { class: 'ledger-rows', open: query.get('from') ? true : null },
      h('summary', {}, t('ledger.each_number', { from: r.from, to: r.rows[r.rows.length - 1].seq })),
      scrollBox(h('table', { class: 'ltable' },
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, t('ledger.col_seq')), h('th', { scope: 'col' }, t('ledger.col_state')),
          h('th', { scope: 'col' }, t('ledger.col_what')))),
        h('tbody', {}, r.rows.map(seqRow))), t('ledger.runs')),
      h('div', { class: 'row' },
        r.from > 1 ? pageLink(Math.max(1, r.from - r.limit), t('ledger.prev'), 'ledger-prev') : null,
        r.next_from ? pageLink(r.next_from, t('ledger.next'), 'ledger-next') : null)) : null));
}

function countsCells(c) {
  return [h('td', { 'data-k': 'expected' }, c.expected == null ? '—' : String(c.expected)),
    h('td', { 'data-k': 'received' }, String(c.received)),
    h('td', { 'data-k': 'missing', class: c.missing ? 'bad' : '' }, String(c.missing)),
    h('td', { 'data-k': 'quarantined', class: c.quarantined ? 'bad' : '' }, String(c.quarantined))];
}

const countHead = (first) => h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, first),
  ...['expected', 'received', 'missing', 'quarantined'].map((k) => h('th', { scope: 'col' }, t(`ledger.col_${k}`)))));

function totalsTable(title, map, label, tid) {
  const keys = Object.keys(map || {});
  if (!keys.length) return null;
  return h('div', { class: 'ledger-totals' }, h('h3', {}, title),
    scrollBox(h('table', { class: 'ltable', 'data-testid': tid }, countHead(t('ledger.col_name')),
      h('tbody', {}, keys.map((k) => h('tr', { 'data-key': k }, h('th', { scope: 'row' }, label(k)), ...countsCells(map[k]))))), title));
}

async function sessionsSection(query) {
  const today = new Date(Date.now() + 7 * 3600e3).toISOString().slice(0, 10);
  const monthAgo = new Date(Date.now() + 7 * 3600e3 - 30 * 86400e3).toISOString().slice(0, 10);
  const from = query.get('from') || monthAgo;
  const to = query.get('to') || today;
  const r = await api('GET', `/api/v1/office/ledger/sessions?from=${from}&to=${to}`);
  const fromIn = h('input', { type: 'date', id: 'ls-from', value: from, 'data-testid': 'ledger-from' });
  const toIn = h('input', { type: 'date', id: 'ls-to', value: to, 'data-testid': 'ledger-to' });
  const form = h('form', { class: 'row no-print', onsubmit: (e) => {
    e.preventDefault();
    go(`#/office/ledger?tab=sessions&from=${fromIn.value}&to=${toIn.value}`);
  } }, h('label', { for: 'ls-from' }, t('ledger.from')), fromIn, h('label', { for: 'ls-to' }, t('ledger.to')), toIn,
  btn('reload', t('ledger.show'), { type: 'submit', 'data-testid': 'ledger-period' }));
  const row = (s) => h('tr', { 'data-testid': 'ledger-session', 'data-session': s.session_id, 'data-complete': s.complete ? 'yes' : 'no' },
    h('th', { scope: 'row' }, h('strong', {}, s.hamlet || t('ledger.hamlet_unknown')), h('br'), fmtDate(s.date),
      s.venue_name ? ` · ${s.venue_name}` : '', h('br'), h('span', { class: 'muted' }, `${devName(s)} (${short(s.device_id)})`)),
    ...countsCells(s.summary_received ? s : { ...s, expected: null }),
    h('td', {}, s.summary_received
      ? (s.complete ? h('span', { class: 'badge ok' }, icon('ok'), t('ledger.complete'))
        : h('span', {}, [s.missing_seqs.length ? t('ledger.missing_seqs', { list: s.missing_seqs.join(', ') }) : null,
          s.quarantined_seqs.length ? t('ledger.set_aside_seqs', { list: s.quarantined_seqs.join(', ') }) : null].filter(Boolean).join(' · ')))
      : h('span', { class: 'badge warn', 'data-testid': 'ledger-no-summary' }, icon('warn'), t('ledger.no_summary'))),
    h('td', {}, Object.entries(s.by_procedure).map(([p, c]) => h('div', {}, `${procName(p)}: ${c.received}/${s.summary_received ? c.expected : '?'}`))));
  return h('section', { 'data-testid': 'ledger-sessions' },
    h('h2', {}, t('ledger.sessions_title')),
    h('p', { class: 'muted' }, t('ledger.sessions_intro')),
    form,
    r.sessions.length ? scrollBox(h('table', { class: 'ltable ledger-sessions' },
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, t('ledger.col_session')),
        ...['expected', 'received', 'missing', 'quarantined'].map((k) => h('th', { scope: 'col' }, t(`ledger.col_${k}`))),
        h('th', { scope: 'col' }, t('ledger.col_state')), h('th', { scope: 'col' }, t('ledger.col_by_procedure')))),
      h('tbody', {}, r.sessions.map(row))), t('ledger.sessions_title')) : h('p', { class: 'muted', 'data-testid': 'ledger-no-sessions' }, t('ledger.no_sessions')),
    r.total_sessions > r.sessions.length ? h('p', { class: 'muted' }, t('ledger.more_sessions', { n: r.total_sessions - r.sessions.length })) : null,
    h('div', { class: 'ledger-totals-wrap' },
      totalsTable(t('ledger.by_procedure'), r.by_procedure, procName, 'ledger-by-procedure'),
      totalsTable(t('ledger.by_hamlet'), r.by_hamlet, (k) => k || t('ledger.hamlet_unknown'), 'ledger-by-hamlet')));
}

export async function ledgerView(app, params, query, ctx) {
  const dev = query.get('device');
  if (dev) return deviceView(app, dev, query, ctx);
  const tab = query.get('tab') === 'sessions' ? 'sessions' : 'devices';
  const tabs = h('nav', { class: 'row tabs no-print', 'aria-label': t('ledger.title') },
    h('a', { href: '#/office/ledger', class: `btn${tab === 'devices' ? '' : ' ghost'}`, 'aria-current': tab === 'devices' ? 'page' : null,
      'data-testid': 'ledger-tab-devices' }, icon('box'), t('ledger.tab_devices')),
    h('a', { href: '#/office/ledger?tab=sessions', class: `btn${tab === 'sessions' ? '' : ' ghost'}`, 'aria-current': tab === 'sessions' ? 'page' : null,
      'data-testid': 'ledger-tab-sessions' }, icon('people'), t('ledger.tab_sessions')),
    h('a', { href: '#/office/duplicates', class: 'btn ghost', 'data-testid': 'ledger-to-duplicates' }, icon('doc'), t('ledger.duplicates_link')));
  if (tab === 'sessions') {
    ctx.show(h('h1', {}, t('ledger.title')), tabs, await sessionsSection(query));
    return;
  }
  const [r] = await Promise.all([api('GET', '/api/v1/office/ledger'), procedures().catch(() => null)]);
  const devices = r.devices || [];
  ctx.show(h('section', { 'data-testid': 'ledger' },
    h('h1', {}, t('ledger.title')), tabs,
    h('p', { class: 'muted' }, t('ledger.intro')),
    devices.length
      ? (r.complete ? banner('ok', t('ledger.all_complete'), null, { 'data-testid': 'ledger-all-complete' })
        : banner('warn', t('ledger.not_all_complete', { n: devices.filter((d) => !d.complete).length }), null, { 'data-testid': 'ledger-not-complete' }))
      : null,
    devices.length ? h('ul', { class: 'list plain ledger-devices' }, devices.map(deviceCard))
      : h('p', { class: 'muted', 'data-testid': 'ledger-empty' }, t('ledger.no_devices'))));
}

// ---------- duplicates ----------
function sideHead(s, label) {
  return h('div', {}, h('strong', {}, label), h('br'),
    h('a', { href: `#/office/dossier/${encodeURIComponent(s.dossier_id)}` }, s.receipt_code), ' · ',
    `${devName(s)} #${s.seq}`, h('br'), h('span', { class: 'muted' }, t('ledger.sealed', { when: fmtTime(s.sealed_at) })),
    h('br'), h('span', { class: 'muted' }, t(`ledger.dstatus.${s.status}`) === `ledger.dstatus.${s.status}` ? s.status : t(`ledger.dstatus.${s.status}`)));
}

function pairCard(p, i, reload) {
  const noteId = `dup-note-${i}`;
  const note = h('textarea', { id: noteId, rows: 2, maxlength: 1000, 'data-testid': 'dup-note' });
  const decide = async (b, body) => {
    b.disabled = true;
    try {
      await api('POST', '/api/v1/office/duplicates/decision', { a: p.a.dossier_id, b: p.b.dossier_id, ...body, note: note.value.trim() || undefined });
      flash(t(body.decision === 'merge' ? 'ledger.merged_ok' : 'ledger.kept_ok'), 'ok');
      reload();
    } catch (e) { flash(errText(e)); b.disabled = false; }
  };
  const keepA = btn('ok', t('ledger.merge_keep_left'), { 'data-testid': 'dup-merge-left' });
  keepA.addEventListener('click', () => decide(keepA, { decision: 'merge', kept: p.a.dossier_id }));
  const keepB = btn('ok', t('ledger.merge_keep_right'), { 'data-testid': 'dup-merge-right' });
  keepB.addEventListener('click', () => decide(keepB, { decision: 'merge', kept: p.b.dossier_id }));
  const both = btn('people', t('ledger.keep_both'), { class: 'btn ghost', 'data-testid': 'dup-keep-both' });
  both.addEventListener('click', () => decide(both, { decision: 'keep' }));
  const proc = lang() === 'en' ? p.procedure_en : p.procedure_vi;
  // A choice shows its label ("Căn cước", "Chưa kết hôn"), not its stored value.
  const def = (state.procedures || []).find((x) => x.id === p.procedure_id);
  const fdef = (key) => fieldDef(def, key);
  return h('li', { class: 'card dup-pair', 'data-testid': 'dup-pair', 'data-a': p.a.dossier_id, 'data-b': p.b.dossier_id },
    h('h2', {}, proc || p.procedure_id),
    h('p', {}, icon('warn'), ' ', t('ledger.matched_on'), ' ', p.matched_on.map((m) => t(`ledger.match.${m}`)).join(', '),
      ' · ', t('ledger.n_differ', { n: p.differ_count })),
    scrollBox(h('table', { class: 'ltable dup-table' },
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, t('ledger.col_field')),
        h('th', { scope: 'col' }, sideHead(p.a, t('ledger.left'))), h('th', { scope: 'col' }, sideHead(p.b, t('ledger.right'))))),
      h('tbody', {}, p.fields.map((f) => h('tr', { class: f.differ ? 'differ' : null, 'data-key': f.key, 'data-differ': f.differ ? 'yes' : 'no' },
        h('th', { scope: 'row' }, lang() === 'en' ? f.label_en : f.label_vi, f.differ ? h('span', { class: 'sr' }, ` (${t('ledger.differs')})`) : null),
        h('td', {}, f.a == null ? '—' : valueText(fdef(f.key), f.a)), h('td', {}, f.b == null ? '—' : valueText(fdef(f.key), f.b)))))),
      t('ledger.dup_title')),
    h('label', { for: noteId }, t('ledger.note_label')), note,
    h('div', { class: 'row dup-actions' }, keepA, keepB, both));
}

export async function duplicatesView(app, params, query, ctx) {
  const [r] = await Promise.all([api('GET', '/api/v1/office/duplicates?limit=50'), procedures().catch(() => null)]);
  const reload = () => duplicatesView(app, params, query, ctx);
  const pairs = r.pairs || [];
  ctx.show(h('section', { 'data-testid': 'duplicates' },
    h('p', { class: 'no-print' }, h('a', { href: '#/office/ledger', class: 'btn ghost' }, icon('back'), t('ledger.back'))),
    h('h1', {}, t('ledger.dup_title'), ' ', h('span', { class: 'count', 'data-testid': 'dup-count' }, String(r.total || 0))),
    h('p', { class: 'muted' }, t('ledger.dup_intro')),
    pairs.length ? h('ul', { class: 'list plain' }, pairs.map((p, i) => pairCard(p, i, reload)))
      : h('p', { class: 'muted', 'data-testid': 'dup-none' }, t('ledger.dup_none')),
    r.total > pairs.length ? h('p', { class: 'muted' }, t('ledger.dup_more', { n: r.total - pairs.length })) : null));
}
