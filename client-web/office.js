// Office mode: received dossiers, one dossier laid out like its form, and the import reports.
import { h, t, txt, api, icon, btn, banner, procedures, procTitle, fmtTime, fmtSize, state, errText } from './lib.js';
import { renderReadOnly } from './values.js';
import { formSections, statusPanel, statusBadge, historyList } from './casework.js';

const enc = encodeURIComponent;

function verifBadge(v) {
  if (v === 'verified') return h('span', { class: 'badge ok', 'data-testid': 'verification' }, icon('ok'), t('verif.verified'));
  if (v === 'verified_gap_before') return h('span', { class: 'badge warn', 'data-testid': 'verification' }, icon('warn'), t('verif.gap'));
  return h('span', { class: 'badge', 'data-testid': 'verification' }, v || '?');
}

// What the dossier does to the record (protocol §3.1.1), and the history links; nothing for a plain new one.
function dispositionBadge(d) {
  if (!d.disposition || d.disposition === 'new') return null;
  const cls = d.disposition === 'refused' || d.disposition === 'voids' ? 'badge bad' : 'badge warn';
  return h('span', { class: cls, 'data-testid': 'disposition' }, t('disp.' + d.disposition));
}

function historyNotes(d) {
  const link = (id, key) => h('p', { 'data-testid': 'history-' + key },
    t('disp.' + key), ' ', h('a', { href: '#/office/dossier/' + enc(id) }, t('disp.open')));
  return [
    d.reason ? h('p', { 'data-testid': 'disposition-reason' }, t('disp.reason'), ' ', h('strong', {}, d.reason)) : null,
    d.refers_to ? link(d.refers_to, 'refers_to_' + d.disposition) : null,
    d.replaced_by ? link(d.replaced_by, 'replaced_by') : null,
  ];
}

const device = (d) => `${d.device_name || t('office.device')} (${(d.device_id || '').slice(0, 8)})`;

// A row of the received list: what it is, where it came from, its status and deadline.
function listRow(d) {
  return h('li', {},
    h('a', { class: 'item', href: '#/office/dossier/' + enc(d.dossier_id), 'data-testid': 'office-row', 'data-receipt': d.receipt_code, 'data-status': d.status || 'received' },
      icon('doc'),
      h('span', { class: 'grow' },
        h('strong', {}, d.title || t('draft.untitled')), ' ', h('span', { class: 'mono' }, d.receipt_code),
        h('small', {}, [procTitle(d.procedure), device(d), t('ui.seq', { n: d.seq }), fmtTime(d.sealed_at),
          d.attachments ? t('draft.photos', { n: d.attachments }) : null].filter(Boolean).join(' · '))),
      dispositionBadge(d), d.replaced_by ? h('span', { class: 'badge' }, t('disp.replaced_short')) : null,
      d.status ? statusBadge(d.status) : null,
      d.overdue ? h('span', { class: 'badge bad', 'data-testid': 'row-overdue' }, icon('warn'), t('work.tab.overdue')) : null,
      verifBadge(d.verification)));
}

const LIST_STATUSES = ['received', 'in_progress', 'needs_papers', 'registered', 'ready_for_pickup', 'handed_over', 'rejected'];

export async function officeList(app, _p, query, ctx) {
  const qs = new URLSearchParams();
  for (const k of ['status', 'procedure', 'q', 'device', 'session']) { const v = query && query.get && query.get(k); if (v) qs.set(k, v); }
  qs.set('limit', '100');
  const [r, q] = await Promise.all([api('GET', '/api/v1/office/dossiers?' + qs), api('GET', '/api/v1/office/quarantine').catch(() => null),
    procedures().catch(() => null)]);
  const list = r.dossiers || [];
  const ul = h('ul', { class: 'list card', 'data-testid': 'office-dossiers' }, list.map(listRow));
  let cursor = r.next_cursor;
  const more = btn('reload', t('dossier.list.more'), { class: 'btn', type: 'button', 'data-testid': 'office-more', hidden: !cursor });
  more.addEventListener('click', async () => {
    more.disabled = true;
    try {
      const q2 = new URLSearchParams(qs); q2.set('cursor', cursor);
      const n = await api('GET', '/api/v1/office/dossiers?' + q2);
      (n.dossiers || []).forEach((d) => ul.append(listRow(d)));
      cursor = n.next_cursor; more.hidden = !cursor;
    } catch (e) { flashErr(more, e); } finally { more.disabled = false; }
  });
  // Filters: status and receipt code (the route's query string, so a filtered list can be linked).
  const sel = h('select', { id: 'flt-status', name: 'status', 'data-testid': 'filter-status' },
    h('option', { value: '' }, t('dossier.list.all')), LIST_STATUSES.map((s) => h('option', { value: s, selected: qs.get('status') === s }, t('dossier.status.' + s))));
  const code = h('input', { id: 'flt-q', name: 'q', type: 'search', value: qs.get('q') || '', autocomplete: 'off', 'data-testid': 'filter-q' });
  const filters = h('form', { class: 'row filters card', 'data-testid': 'office-filters', role: 'search' },
    h('div', { class: 'field' }, h('label', { for: 'flt-status' }, t('dossier.list.status')), sel),
    h('div', { class: 'field' }, h('label', { for: 'flt-q' }, t('dossier.list.code')), code),
    btn('ok', t('dossier.list.apply'), { class: 'btn', type: 'submit', 'data-testid': 'filter-apply' }));
  filters.addEventListener('submit', (e) => {
    e.preventDefault();
    const n = new URLSearchParams();
    if (sel.value) n.set('status', sel.value);
    if (code.value.trim()) n.set('q', code.value.trim());
    location.hash = '#/' + (n.toString() ? '?' + n : '');
  });
  ctx.show(h('section', {}, h('h1', {}, t('office.title'), ' ', h('span', { class: 'count', 'data-testid': 'office-total' }, String(r.total ?? list.length))),
    q && q.unresolved ? h('a', { href: '#/office/quarantine', class: 'banner-link', 'data-testid': 'quarantine-banner' },
      banner('warn', t('intake.banner', { n: q.unresolved }), t('intake.banner_hint'))) : null,
    filters,
    list.length ? ul : h('p', { class: 'muted' }, t('office.none')), more));
}

function flashErr(el, e) {
  el.after(banner('warn', errText(e), null));
}

export async function officeDossier(app, [id], _q, ctx) {
  const [d] = await Promise.all([api('GET', `/api/v1/office/dossiers/${enc(id)}`), procedures().catch(() => null)]);
  const def = d.procedure_def || null;
  const roleLabel = (role) => {
    const doc = def && (def.documents || []).find((x) => x.role === role);
    return doc ? txt(doc.label) : role;
  };
  const facts = [
    [t('receipt.code'), h('span', { class: 'mono' }, d.receipt_code)],
    [t('office.device'), device(d)],
    [t('receipt.seq'), String(d.seq)],
    [t('receipt.sealed_at'), fmtTime(d.sealed_at)],
    [t('office.received_at'), fmtTime(d.received_at)],
  ];
  const reload = () => officeDossier(app, [id], _q, ctx);
  // Photos beside the forms: thumbnails; a click opens the photo large in a dialog.
  const big = h('dialog', { class: 'photo-dialog', 'data-testid': 'photo-dialog', 'aria-label': t('photos.title') });
  const closeBig = btn('back', t('dossier.close'), { class: 'btn', type: 'button', 'data-testid': 'photo-close' });
  closeBig.addEventListener('click', () => big.close());
  const photos = h('aside', { class: 'group card photos', 'data-testid': 'photos' }, h('h2', {}, icon('camera'), t('photos.title')),
    (d.attachments || []).length ? h('div', { class: 'thumbs' }, d.attachments.map((a) => {
      const src = `/api/v1/office/dossiers/${enc(id)}/attachments/${a.index}`;
      const open = h('button', { type: 'button', class: 'thumb-btn', 'aria-label': t('dossier.enlarge', { what: roleLabel(a.role) }), 'data-testid': 'photo-open' },
        h('img', { src, alt: roleLabel(a.role), loading: 'lazy', decoding: 'async' }));
      open.addEventListener('click', () => { big.replaceChildren(h('img', { src, alt: roleLabel(a.role) }), h('p', {}, roleLabel(a.role)), closeBig); big.showModal(); });
      return h('figure', { class: 'thumb', 'data-testid': 'office-photo' }, open, h('figcaption', {}, `${roleLabel(a.role)} · ${fmtSize(a.size)}`));
    }))
      : h('p', { class: 'muted' }, t('photos.none')), big);
  ctx.show(h('section', { class: 'odossier', 'data-testid': 'office-dossier' },
    h('a', { href: '#/', class: 'back no-print' }, icon('back'), t('office.back')),
    h('h1', {}, def ? txt(def.title) : procTitle(d.procedure)),
    h('p', {}, verifBadge(d.verification), ' ', dispositionBadge(d)),
    d.verification === 'verified_gap_before' ? banner('warn', t('verif.gap_body'), null) : null,
    d.replaced_by || d.refers_to || d.reason ? h('div', { class: 'card history' }, historyNotes(d)) : null,
    statusPanel(d, reload),
    h('div', { class: 'card' }, h('dl', {}, facts.map(([k, v]) => h('div', { class: 'kv' }, h('dt', {}, k), h('dd', {}, v))))),
    h('div', { class: 'dossier-layout' },
      h('div', { class: 'dossier-forms' }, def ? formSections(def, d.fields || {}, d.status && d.status.result_numbers) : renderReadOnly(def, d.fields || {})),
      photos),
    h('section', { class: 'group card' }, h('h2', {}, t('office.checks')),
      h('ul', { class: 'checks', 'data-testid': 'checks' }, (d.checks || []).map((c) => h('li', { class: c.ok ? 'ok' : 'bad' },
        icon(c.ok ? 'ok' : 'warn'), h('span', {}, h('strong', {}, checkName(c.check)), checkDetail(c) ? ` — ${checkDetail(c)}` : ''))))),
    historyList(d),
    h('div', { class: 'row no-print' }, h('a', { class: 'btn', href: '#/office/print/' + enc(id), 'data-testid': 'open-print' }, icon('print'), h('span', {}, t('dossier.print_forms'))))));
}

// What a check found, in the chosen language (Vietnamese unless English is chosen); dossiers received before
// the hub wrote both languages carry only the English `detail`.
function checkDetail(c) {
  const own = state.lang === 'en' ? c.detail_en : c.detail_vi;
  return own || c.detail_vi || c.detail_en || c.detail || '';
}

function checkName(code) {
  const k = 'check.' + code;
  const s = t(k);
  return s === k ? code : s;
}

// ---------- Batch file upload (intake) ----------
// Sends the file as its raw bytes with XMLHttpRequest (fetch has no upload progress), showing a progress bar.
function sendBatch(file, onProgress) {
  return new Promise((resolve, reject) => {
    const x = new XMLHttpRequest();
    x.open('POST', '/api/v1/office/imports');
    x.setRequestHeader('Content-Type', 'application/octet-stream');
    x.setRequestHeader('Accept', 'application/json');
    x.setRequestHeader('X-File-Name', encodeURIComponent(file.name).slice(0, 200));
    if (state.csrf) x.setRequestHeader('X-CSRF-Token', state.csrf);
    x.upload.onprogress = (e) => { if (e.lengthComputable) onProgress(e.loaded / e.total); };
    x.onload = () => {
      let body = null;
      try { body = JSON.parse(x.responseText); } catch { /* not JSON */ }
      if (x.status >= 200 && x.status < 300 && body) resolve(body);
      else reject(Object.assign(new Error('upload'), { status: x.status, body }));
    };
    x.onerror = () => reject(Object.assign(new Error('upload'), { status: 0 }));
    x.send(file);
  });
}

function uploadErr(e) {
  const b = e.body && e.body.error;
  if (b) return (state.lang === 'en' ? b.message_en : b.message_vi) || b.message_en;
  return e.status === 0 ? t('intake.upload_offline') : errText(e);
}

// The outcome of one import in plain words: stored / already held / set aside, and the ack to take back.
function importSummary(x) {
  const q = x.quarantined || [];
  const missing = x.missing || [];
  let kind = 'ok';
  let title = t('intake.r_ok', { stored: x.stored ?? 0, held: x.already_held ?? 0 });
  if (!x.accepted) { kind = 'bad'; title = t('intake.r_refused'); } else if (q.length || missing.length) { kind = 'warn'; title = t('intake.r_partial', { stored: x.stored ?? 0, q: q.length, m: missing.length }); }
  return h('div', { class: `banner ${kind === 'bad' ? 'warn' : kind}`, 'data-testid': 'import-summary', 'data-kind': kind },
    icon(kind === 'ok' ? 'ok' : 'warn'),
    h('div', {}, h('strong', { class: 'b-title' }, title),
      q.length ? h('ul', { 'data-testid': 'import-quarantined' }, q.map((p) => h('li', {}, t('ui.seq', { n: p.seq }), ': ', h('strong', {}, checkName(p.reason)),
        ' — ', t(`intake.q.${p.reason}`) === `intake.q.${p.reason}` ? p.detail : t(`intake.q.${p.reason}`, { device: device(x), seq: p.seq })))) : null,
      missing.length ? h('p', {}, t('intake.r_missing', { list: missing.join(', ') })) : null,
      q.length ? h('p', {}, h('a', { href: '#/office/quarantine' }, t('intake.see_quarantine'))) : null,
      x.accepted && x.batch_id ? h('p', {}, h('a', { class: 'btn', href: `/api/v1/office/imports/${encodeURIComponent(x.batch_id)}/ack`,
        download: `ack-${x.batch_id}.json`, 'data-testid': 'ack-download' }, icon('save'), h('span', {}, t('intake.ack_download'))),
      ' ', h('small', {}, t('intake.ack_hint'))) : null));
}

function uploadCard(reload) {
  const input = h('input', { type: 'file', id: 'batch-file', accept: '.batch,.sqlite,application/vnd.sqlite3,application/octet-stream', 'data-testid': 'batch-file' });
  const bar = h('progress', { max: 100, value: 0, hidden: true, 'data-testid': 'upload-progress', 'aria-label': t('intake.upload_progress') });
  const out = h('div', { 'aria-live': 'polite' });
  const go = btn('box', t('intake.upload'), { class: 'btn primary', 'data-testid': 'batch-upload' });
  go.addEventListener('click', async () => {
    const file = input.files && input.files[0];
    if (!file) { out.replaceChildren(banner('warn', t('intake.pick_file'), null)); return; }
    go.disabled = true; bar.hidden = false; bar.value = 0;
    out.replaceChildren(h('p', {}, t('intake.uploading', { name: file.name })));
    try {
      const report = await sendBatch(file, (f) => { bar.value = Math.round(f * 100); if (f >= 1) out.replaceChildren(h('p', {}, t('intake.checking'))); });
      out.replaceChildren(importSummary(report));
      reload(report);
    } catch (e) {
      out.replaceChildren(banner('warn', t('intake.upload_failed'), uploadErr(e), { 'data-testid': 'upload-error' }));
    } finally { go.disabled = false; bar.hidden = true; }
  });
  return h('section', { class: 'card group', 'data-testid': 'batch-upload-card' }, h('h2', {}, icon('box'), t('intake.upload_title')),
    h('p', { class: 'muted' }, t('intake.upload_intro')),
    h('label', { for: 'batch-file' }, t('intake.file_label')), input, h('div', { class: 'row' }, go), bar, out);
}

export async function importsView(app, _p, _q, ctx) {
  const r = await api('GET', '/api/v1/office/imports');
  const count = h('span', { class: 'count', 'data-testid': 'imports-count' }, String((r.imports || []).length));
  let listEl = importList(r.imports || []);
  const upload = uploadCard(async () => {
    const fresh = await api('GET', '/api/v1/office/imports').catch(() => null);
    if (!fresh) return;
    const el = importList(fresh.imports || []);
    listEl.replaceWith(el);
    listEl = el;
    count.textContent = String((fresh.imports || []).length);
  });
  ctx.show(h('section', {}, h('h1', {}, t('imports.title'), ' ', count), upload, listEl));
}

function importList(list) {
  return list.length ? h('ul', { class: 'list plain', 'data-testid': 'imports' }, list.map((x) => h('li', { class: 'card import', 'data-testid': 'import-row' },
      h('div', { class: 'row' },
        x.accepted ? h('span', { class: 'badge ok' }, icon('ok'), t('imports.accepted')) : h('span', { class: 'badge bad' }, icon('warn'), t('imports.refused')),
        h('strong', {}, fmtTime(x.imported_at))),
      h('p', { class: 'muted' }, [`${t('office.device')}: ${device(x)}`, t('imports.batch', { id: (x.batch_id || '').slice(0, 13) }),
        x.file ? String(x.file).split(/[\\/]/).pop() : null].filter(Boolean).join(' · ')),
      h('p', {}, t('imports.counts', { stored: x.stored ?? 0, held: x.already_held ?? 0 }),
        x.envelopes_in_file != null ? ` · ${t('imports.in_file', { n: x.envelopes_in_file })}` : '',
        (x.quarantined || []).length ? ` · ${t('intake.quarantined_n', { n: x.quarantined.length })}` : ''),
      x.accepted && x.batch_id ? h('p', {}, h('a', { href: `/api/v1/office/imports/${encodeURIComponent(x.batch_id)}/ack`, download: `ack-${x.batch_id}.json` },
        icon('save'), ' ', t('intake.ack_download'))) : null,
      (x.gaps || []).length ? h('div', {}, h('h3', {}, t('imports.gaps')),
        h('ul', {}, x.gaps.map((g) => h('li', {}, g.from === g.to ? t('imports.gap_one', { n: g.from }) : t('imports.gap', { from: g.from, to: g.to })))))
        : null,
      (x.problems || []).length ? h('div', {}, h('h3', {}, t('imports.problems')),
        h('ul', { class: 'checks' }, x.problems.map((p) => h('li', { class: 'bad' }, icon('warn'),
          h('span', {}, p.seq != null ? t('ui.seq', { n: p.seq }) + ': ' : '', h('strong', {}, checkName(p.check)), p.detail ? ` — ${p.detail}` : '')))))
        : null)))
      : h('p', { class: 'muted', 'data-testid': 'imports-none' }, t('imports.none'));
}
