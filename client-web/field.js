// Field mode: home (status, drafts, sealed dossiers), the draft editor with photos, and the receipt.
import {
  state, h, t, txt, api, errText, detailText, flash, btn, icon, banner, ask, can, uuid,
  procedures, findProc, procTitle, fmtTime, fmtSize, go,
} from './lib.js';
import { renderForm, placeErrors } from './form.js';

const enc = encodeURIComponent;
const isNet = (e) => e && (e.code === 'offline' || e.code === 'timeout');

// ---------- local write-ahead buffer ----------
// Typing is kept in localStorage (per draft id) until the hub has it, then removed: the hub, not the
// phone, is the durable store, and a shared phone should not keep personal data longer than needed.
const LKEY = 'ok.draft.';
export const local = {
  get(id) { try { return JSON.parse(localStorage.getItem(LKEY + id)); } catch (_) { return null; } },
  put(id, rec) {
    try { localStorage.setItem(LKEY + id, JSON.stringify({ ...rec, at: Date.now() })); return true; } catch (_) { return false; }
  },
  drop(id) { try { localStorage.removeItem(LKEY + id); } catch (_) { /* ignore */ } },
  list() {
    const out = [];
    try {
      for (let i = 0; i < localStorage.length; i++) {
        const k = localStorage.key(i);
        if (k && k.startsWith(LKEY)) { const r = local.get(k.slice(LKEY.length)); if (r) out.push({ id: k.slice(LKEY.length), ...r }); }
      }
    } catch (_) { /* storage unavailable */ }
    return out;
  },
};

// ---------- home ----------
function statusBanner(s) {
  if (!s) return null;
  if (!s.paired) {
    return banner('danger', t('status.unpaired_title'), t('status.unpaired_body', { n: s.pending_protection ?? 0 }), { 'data-testid': 'unpaired-warning' });
  }
  const body = [t('status.paired_body', { n: s.sealed ?? 0 })];
  if (s.pending_protection) body.push(t('status.pending', { n: s.pending_protection }));
  return banner('ok', t('status.paired_title', { office: s.office_name || '—' }), body.join(' '), { 'data-testid': 'paired-ok' });
}

async function newDraft(p, button) {
  const idem = uuid();
  button.disabled = true;
  try {
    const d = await api('POST', '/api/v1/drafts', { procedure: { id: p.id, version: p.version }, fields: {} }, { headers: { 'Idempotency-Key': idem } });
    go('#/draft/' + enc(d.id));
  } catch (e) {
    if (!isNet(e)) { flash(errText(e)); return; }
    // The hub is out of reach: start the draft on this phone; it is created on the hub at the first
    // save with the same idempotency key, so a retry can never make two drafts.
    const id = 'local-' + idem;
    local.put(id, { proc: { id: p.id, version: p.version }, fields: {}, base: null, idem, dirty: true });
    go('#/draft/' + id);
  } finally { button.disabled = false; }
}

function draftRow(id, title, procRef, when, photos, pending) {
  return h('li', {}, h('a', { class: 'item', href: '#/draft/' + enc(id), 'data-testid': 'draft-row' },
    icon('doc'),
    h('span', { class: 'grow' }, h('strong', {}, title || t('draft.untitled')),
      h('small', {}, [procTitle(procRef), when ? fmtTime(when) : null, photos ? t('draft.photos', { n: photos }) : null].filter(Boolean).join(' · '))),
    pending ? h('span', { class: 'badge warn' }, t('draft.on_phone')) : null));
}

export async function fieldHome(app, _p, _q, ctx) {
  const sealer = can('officer', 'admin');
  let status = null, drafts = [], sealed = null, netErr = null;
  try {
    [status, { drafts }, sealed] = await Promise.all([
      api('GET', '/api/v1/status'),
      api('GET', '/api/v1/drafts'),
      sealer ? api('GET', '/api/v1/dossiers') : null,
      procedures(),
    ]);
  } catch (e) {
    if (!isNet(e)) throw e;
    netErr = e;
    await procedures().catch(() => null);
  }
  const procs = state.procedures || [];
  const locals = local.list();
  const localById = Object.fromEntries(locals.map((l) => [l.id, l]));

  const news = h('div', { class: 'new-buttons' }, procs.map((p) => {
    const b = h('button', { type: 'button', class: 'btn primary big', 'data-testid': 'new-' + p.id, 'data-procedure': p.id },
      icon('plus'), h('span', {}, t('home.new', { title: txt(p.title) })));
    b.addEventListener('click', () => newDraft(p, b));
    return b;
  }));

  const rows = drafts.map((d) => draftRow(d.id, d.title, d.procedure, d.updated_at, d.attachments, localById[d.id] && localById[d.id].dirty));
  // Drafts started while the hub was out of reach, or whose typing the hub does not have yet.
  const known = new Set(drafts.map((d) => d.id));
  for (const l of locals) {
    if (known.has(l.id) || !l.dirty || (netErr == null && !l.id.startsWith('local-'))) continue;
    const name = l.fields && Object.entries(l.fields).find(([k]) => /full_name$/.test(k));
    rows.push(draftRow(l.id, name ? name[1] : '', l.proc, new Date(l.at).toISOString(), 0, true));
  }

  const sec = [
    h('h1', {}, t('home.title')),
    netErr ? banner('info', null, t('home.offline_hint')) : null,
    statusBanner(status),
    h('section', { class: 'card' }, h('h2', {}, t('home.new_title')), procs.length ? news : h('p', {}, t('home.no_procedures'))),
    h('section', { class: 'card' }, h('h2', {}, t('home.drafts'), ' ', h('span', { class: 'count' }, String(rows.length))),
      rows.length ? h('ul', { class: 'list', 'data-testid': 'drafts' }, rows) : h('p', { class: 'muted' }, t('home.no_drafts'))),
  ];
  if (sealed) {
    const list = sealed.dossiers || [];
    sec.push(h('section', { class: 'card' }, h('h2', {}, t('home.sealed'), ' ', h('span', { class: 'count' }, String(list.length))),
      list.length ? h('ul', { class: 'list', 'data-testid': 'sealed' }, list.map((d) => h('li', {},
        h('a', { class: 'item', href: '#/receipt/' + enc(d.receipt_code), 'data-testid': 'sealed-row' }, icon('lock'),
          h('span', { class: 'grow' }, h('strong', { class: 'mono' }, d.receipt_code),
            h('small', {}, [procTitle(d.procedure), fmtTime(d.sealed_at), d.seq != null ? t('ui.seq', { n: d.seq }) : null].filter(Boolean).join(' · '))),
          d.disposition && d.disposition !== 'new' ? h('span', { class: 'badge warn' }, t('disp.' + d.disposition)) : null,
          d.replaced_by ? h('span', { class: 'badge' }, t('disp.replaced_short')) : null,
          protBadge(d.protected)))))
        : h('p', { class: 'muted' }, t('home.no_sealed'))));
  }
  ctx.show(h('section', {}, sec));
}

// A "give a reason, then confirm" block for refusing a draft or cancelling a sealed dossier: the hub seals
// a dossier of its own that says so (protocol §3.1.1), so nothing is deleted and the counts reconcile.
function reasonAction(kind, onSubmit) {
  const box = h('textarea', { rows: '2', maxlength: '500', id: kind + '-reason', 'data-testid': kind + '-reason' });
  const err = h('p', { class: 'ferr', hidden: true, 'data-testid': kind + '-error' });
  const go2 = btn('warn', t(kind + '.confirm'), { class: 'btn danger', 'data-testid': kind + '-confirm' });
  const panel = h('div', { class: 'card reason', hidden: true },
    h('label', { for: kind + '-reason' }, t(kind + '.reason_label')), box, err, go2);
  const open = btn('warn', t(kind + '.button'), { class: 'btn danger', 'data-testid': kind + '-open' });
  open.addEventListener('click', () => { panel.hidden = false; open.hidden = true; box.focus(); });
  go2.addEventListener('click', async () => {
    const reason = box.value.normalize('NFC').trim();
    err.hidden = true;
    if (!reason) { err.textContent = t('reason.required'); err.hidden = false; box.focus(); return; }
    go2.disabled = true;
    try { await onSubmit(reason); } catch (e) {
      const d = e.details && e.details[0];
      err.textContent = d ? detailText(d) : errText(e);
      err.hidden = false;
    } finally { go2.disabled = false; }
  });
  return h('div', { class: 'reason-action no-print' }, open, panel);
}

function showReceipt(r) {
  try { sessionStorage.setItem('ok.receipt.' + r.code, JSON.stringify(r)); } catch (_) { /* ignore */ }
  go('#/receipt/' + enc(r.code));
}

function protBadge(p) {
  return p ? h('span', { class: 'badge ok' }, icon('lock'), t('receipt.protected_short'))
    : h('span', { class: 'badge warn' }, icon('warn'), t('receipt.unprotected_short'));
}

// ---------- photos ----------
const MAX_SIDE = 1600; // long side; document text stays legible (measured with OCR on sample photos)

// Shrink a camera photo before upload: less radio time, less hub disk, and the EXIF block (GPS,
// camera) is dropped. Falls back to the original file whenever anything goes wrong.
async function shrink(file) {
  if (!/^image\/(jpeg|png|webp)$/.test(file.type) || file.size < 700 * 1024 || !window.createImageBitmap) return file;
  try {
    const bmp = await createImageBitmap(file, { imageOrientation: 'from-image' });
    const k = Math.min(1, MAX_SIDE / Math.max(bmp.width, bmp.height));
    const c = document.createElement('canvas');
    c.width = Math.round(bmp.width * k); c.height = Math.round(bmp.height * k);
    c.getContext('2d').drawImage(bmp, 0, 0, c.width, c.height);
    if (bmp.close) bmp.close();
    const blob = await new Promise((r) => c.toBlob(r, 'image/jpeg', 0.8));
    c.width = 0; c.height = 0;
    return blob && blob.size < file.size ? blob : file;
  } catch (_) { return file; }
}

// ---------- draft editor ----------
export async function draftView(app, [id], _q, ctx) {
  await procedures();
  const S = { id, isLocal: id.startsWith('local-'), version: null, attachments: [], fields: {}, busy: false };
  let loc = local.get(id);
  let offlineCopy = false;
  let draft;
  if (S.isLocal) {
    if (!loc) { ctx.show(h('section', {}, h('h1', {}, t('draft.title')), banner('warn', t('draft.gone'), null))); return; }
    draft = { id, procedure: loc.proc, fields: loc.fields || {}, attachments: [], version: null };
  } else {
    try {
      draft = await api('GET', `/api/v1/drafts/${enc(id)}`);
    } catch (e) {
      if (!(isNet(e) && loc)) throw e;
      offlineCopy = true;
      draft = { id, procedure: loc.proc, fields: loc.fields || {}, attachments: [], version: loc.base };
    }
  }
  const def = findProc(draft.procedure);
  if (!def) { ctx.show(h('section', {}, h('h1', {}, t('draft.title')), banner('warn', t('draft.unknown_procedure', { id: draft.procedure && draft.procedure.id }), null))); return; }
  S.version = draft.version;
  S.attachments = draft.attachments || [];
  S.fields = draft.fields || {};
  let note = null;
  if (loc && loc.dirty && !S.isLocal && !offlineCopy) {
    // Typing that never reached the hub wins on screen; its base version decides conflicts on save.
    S.fields = loc.fields || {};
    S.version = loc.base ?? draft.version;
    note = loc.base != null && loc.base !== draft.version ? 'draft.local_older' : 'draft.local_kept';
  }
  if (offlineCopy) note = 'draft.offline_copy';

  const noteEl = note ? banner(note === 'draft.local_older' ? 'warn' : 'info', t(note), null, { 'data-testid': 'local-note' }) : null;
  const stateLine = h('p', { class: 'save-state', id: 'save-state', 'data-testid': 'save-state', role: 'status' });
  const setState = (key, vars) => { stateLine.textContent = key ? t(key, vars) : ''; stateLine.dataset.state = key || ''; };
  const summary = h('div', { id: 'errors', class: 'summary', tabindex: '-1', hidden: true, 'data-testid': 'errors' });
  const conflictBox = h('div', { hidden: true, 'data-testid': 'conflict' });

  const keep = (fields) => {
    S.fields = fields;
    const ok = local.put(S.id, { proc: draft.procedure, fields, base: S.version, dirty: true, idem: loc && loc.idem });
    setState(ok ? 'draft.kept' : 'draft.kept_failed');
  };
  const form = renderForm(def, S.fields, keep);

  // Document photo blocks.
  const docs = (def.documents || []).slice();
  const docBlocks = {};
  const photos = h('section', { class: 'group card photos' }, h('h2', {}, icon('camera'), t('photos.title')), h('p', { class: 'help' }, t('photos.help')));
  const docLabel = (role) => { const d = docs.find((x) => x.role === role); return d ? txt(d.label) : t('photos.other'); };
  const renderThumbs = () => {
    for (const [role, b] of Object.entries(docBlocks)) {
      b.thumbs.replaceChildren(...S.attachments.filter((a) => a.role === role).map((a) => {
        const del = btn('trash', t('photos.delete'), { class: 'btn small danger', 'data-testid': 'photo-delete' });
        del.addEventListener('click', async () => {
          if (!(await ask(t('photos.delete_confirm'), t('photos.delete'), t('ui.cancel')))) return;
          try {
            await api('DELETE', `/api/v1/drafts/${enc(S.id)}/attachments/${enc(a.id)}`);
            S.attachments = S.attachments.filter((x) => x.id !== a.id);
            renderThumbs();
          } catch (e) { b.msg(errText(e), true); }
        });
        return h('figure', { class: 'thumb', 'data-testid': 'thumb', 'data-att': a.id },
          h('img', { src: `/api/v1/drafts/${enc(S.id)}/attachments/${enc(a.id)}`, alt: docLabel(role), decoding: 'async' }),
          h('figcaption', {}, fmtSize(a.size)), del);
      }));
    }
  };
  const docBlock = (role, labelText, required) => {
    const inputId = 'photo-' + role;
    const input = h('input', { type: 'file', id: inputId, class: 'file', accept: 'image/*', capture: 'environment', 'data-role': role, 'data-testid': inputId });
    const thumbs = h('div', { class: 'thumbs' });
    const msgEl = h('p', { class: 'help', role: 'status' });
    const err = h('p', { class: 'ferr', 'data-err-for': 'documents.' + role, hidden: true });
    const b = {
      thumbs,
      msg: (text, bad) => { msgEl.textContent = text || ''; msgEl.className = bad ? 'ferr' : 'help'; },
    };
    docBlocks[role] = b;
    input.addEventListener('change', async () => {
      const files = [...input.files];
      input.value = '';
      for (const f of files) await upload(role, f, b, err);
    });
    return h('div', { class: 'doc', 'data-doc': role },
      h('h3', {}, labelText, required ? h('span', { class: 'req' }, ' *') : null),
      thumbs, err, msgEl,
      input, h('label', { for: inputId, class: 'btn big photo-btn' }, icon('camera'), h('span', {}, t('photos.take'))));
  };
  for (const d of docs) photos.append(docBlock(d.role, txt(d.label), d.required));
  const extra = [...new Set(S.attachments.map((a) => a.role))].filter((r) => !docBlocks[r]);
  for (const r of extra) photos.append(docBlock(r, r, false));
  renderThumbs();

  async function upload(role, file, b, err) {
    err.hidden = true;
    if (S.isLocal && !(await save())) { b.msg(t('photos.need_hub'), true); return; }
    b.msg(t('photos.preparing'));
    const blob = await shrink(file);
    const fd = new FormData();
    fd.append('role', role);
    const ext = { 'image/jpeg': '.jpg', 'image/png': '.png', 'image/webp': '.webp' }[blob.type] || (/\.\w{1,5}$/.exec(file.name) || [''])[0];
    fd.append('file', blob, role + ext); // a neutral name: camera file names can carry personal details
    b.msg(t('photos.sending', { size: fmtSize(blob.size) }));
    try {
      const a = await api('POST', `/api/v1/drafts/${enc(S.id)}/attachments`, fd, { timeout: 180000 });
      S.attachments.push(a);
      renderThumbs();
      b.msg(t('photos.sent'));
    } catch (e) {
      b.msg(isNet(e) ? t('photos.offline') : errText(e), true);
    }
  }

  // Error summary with links to the fields.
  const showErrors = (details, titleKey) => {
    form.clearErrors();
    photos.querySelectorAll('[data-err-for]').forEach((e) => { e.hidden = true; });
    placeErrors(view, details);
    const SHOWN = 6;
    summary.replaceChildren(h('strong', {}, icon('warn'), t(titleKey, { n: details.length })),
      h('ul', {}, details.slice(0, SHOWN).map((d) => {
        const lab = d.field && d.field.startsWith('documents.') ? docLabel(d.field.slice(10)) : (form.labelOf(d.field) || d.field || '');
        const target = d.field && (document.getElementById('f-' + d.field) || view.querySelector(`[data-err-for="${CSS.escape(d.field)}"]`));
        const text = `${lab ? lab + ': ' : ''}${detailText(d)}`;
        return h('li', { 'data-field': d.field || '' }, target
          ? h('a', { href: '#', onclick: (ev) => { ev.preventDefault(); target.scrollIntoView({ block: 'center' }); if (target.focus) target.focus({ preventScroll: true }); } }, text)
          : text);
      })),
      details.length > SHOWN ? h('p', {}, t('draft.errors_more', { n: details.length - SHOWN })) : null);
    summary.hidden = false;
    summary.focus();
    summary.scrollIntoView({ block: 'start' });
  };
  const showMessage = (msg) => {
    summary.replaceChildren(h('strong', {}, icon('warn'), msg));
    summary.hidden = false;
    summary.scrollIntoView({ block: 'start' });
  };
  const hideMessages = () => { summary.hidden = true; conflictBox.hidden = true; };

  const showConflict = () => {
    const reload = btn('reload', t('draft.conflict_reload'), { class: 'btn', 'data-testid': 'conflict-reload' });
    const mine = btn('save', t('draft.conflict_mine'), { class: 'btn primary', 'data-testid': 'conflict-overwrite' });
    reload.addEventListener('click', async () => {
      if (!(await ask(t('draft.conflict_reload_confirm'), t('draft.conflict_reload'), t('ui.cancel')))) return;
      local.drop(S.id);
      go('#/draft/' + enc(S.id));
    });
    mine.addEventListener('click', async () => {
      try {
        const d = await api('GET', `/api/v1/drafts/${enc(S.id)}`);
        S.version = d.version;
        S.attachments = d.attachments || S.attachments;
        renderThumbs();
        conflictBox.hidden = true;
        await save();
      } catch (e) { showMessage(errText(e)); }
    });
    conflictBox.replaceChildren(banner('warn', t('draft.conflict_title'), t('draft.conflict_body')), h('div', { class: 'row' }, reload, mine));
    conflictBox.hidden = false;
    conflictBox.scrollIntoView({ block: 'center' });
  };

  // Push the fields to the hub. Resolves true when the hub has them.
  async function save() {
    if (S.busy) return false;
    S.busy = true;
    const fields = form.collect();
    hideMessages();
    form.clearErrors();
    setState('draft.saving');
    try {
      let d;
      if (S.isLocal) {
        const idem = (loc && loc.idem) || S.id.slice(6);
        d = await api('POST', '/api/v1/drafts', { procedure: draft.procedure, fields }, { headers: { 'Idempotency-Key': idem } });
        local.drop(S.id);
        S.id = d.id; S.isLocal = false;
        history.replaceState(null, '', '#/draft/' + enc(d.id));
      } else {
        d = await api('PUT', `/api/v1/drafts/${enc(S.id)}`, { fields, version: S.version });
      }
      S.version = d.version;
      if (d.attachments) { S.attachments = d.attachments; renderThumbs(); }
      loc = null;
      const now = form.collect();
      if (JSON.stringify(now) === JSON.stringify(fields)) local.drop(S.id);
      else local.put(S.id, { proc: draft.procedure, fields: now, base: S.version, dirty: true });
      setState('draft.saved', { time: fmtTime(d.updated_at || new Date().toISOString()) });
      if (noteEl) noteEl.hidden = true;
      return true;
    } catch (e) {
      if (e.status === 422 && e.details.length) { showErrors(e.details, 'draft.errors_title'); setState('draft.not_saved'); }
      else if (e.status === 409) { showConflict(); setState('draft.not_saved'); }
      else if (isNet(e)) setState('draft.offline_kept'); // the offline bar says it too; keep the user's place
      else { setState('draft.not_saved'); showMessage(errText(e)); }
      return false;
    } finally { S.busy = false; }
  }

  async function seal() {
    if (!(await ask(t('seal.confirm'), t('seal.yes'), t('ui.cancel')))) return;
    const dirty = S.isLocal || !!local.get(S.id);
    if (dirty && !(await save())) return;
    hideMessages();
    setState('seal.sealing');
    sealBtn.disabled = true;
    try {
      const r = await api('POST', `/api/v1/drafts/${enc(S.id)}/seal`, {}, { timeout: 60000 });
      local.drop(S.id);
      try { sessionStorage.setItem('ok.receipt.' + r.code, JSON.stringify(r)); } catch (_) { /* ignore */ }
      go('#/receipt/' + enc(r.code));
    } catch (e) {
      setState('seal.not_sealed');
      if (e.status === 422 && e.details.length) showErrors(e.details, 'seal.errors_title');
      else if (isNet(e)) showMessage(t('seal.offline'));
      else showMessage(errText(e));
    } finally { sealBtn.disabled = false; }
  }

  const saveBtn = btn('save', t('draft.save'), { class: 'btn primary big', id: 'save', 'data-testid': 'save' });
  saveBtn.addEventListener('click', save);
  const sealBtn = btn('lock', t('seal.button'), { class: 'btn seal big', id: 'seal', 'data-testid': 'seal' });
  sealBtn.addEventListener('click', seal);
  const actions = h('div', { class: 'actions no-print' }, stateLine, h('div', { class: 'row' }, saveBtn, can('officer', 'admin') ? sealBtn : null));

  let del = null;
  if (can('officer', 'admin') && !S.isLocal) {
    del = btn('trash', t('draft.delete'), { class: 'btn danger', 'data-testid': 'draft-delete' });
    del.addEventListener('click', async () => {
      if (!(await ask(t('draft.delete_confirm'), t('draft.delete'), t('ui.cancel')))) return;
      try { await api('DELETE', `/api/v1/drafts/${enc(S.id)}`); local.drop(S.id); go('#/'); } catch (e) { showMessage(errText(e)); }
    });
  }

  const refuse = can('officer', 'admin') && !S.isLocal ? reasonAction('refuse', async (reason) => {
    const dirty = S.isLocal || !!local.get(S.id);
    if (dirty && !(await save())) return;
    const r = await api('POST', `/api/v1/drafts/${enc(S.id)}/refuse`, { reason }, { timeout: 60000 });
    local.drop(S.id);
    showReceipt(r);
  }) : null;

  const view = h('section', { class: 'draft', 'data-procedure': def.id },
    h('a', { href: '#/', class: 'back no-print' }, icon('back'), t('ui.back_home')),
    h('h1', {}, txt(def.title)),
    h('p', { class: 'muted' }, [txt(def.authority), def.time_limit_working_days ? t('proc.limit', { n: def.time_limit_working_days }) : null].filter(Boolean).join(' · ')),
    noteEl,
    h('p', { class: 'muted small' }, t('form.required_legend')),
    conflictBox, summary,
    form.el, photos,
    can('officer', 'admin') ? null : h('p', { class: 'muted' }, t('seal.volunteer_hint')),
    actions,
    del || refuse ? h('div', { class: 'danger-zone no-print' }, refuse, del) : null);
  if (note === 'draft.local_kept' || note === 'draft.local_older' || S.isLocal) setState('draft.kept');
  else if (!offlineCopy) setState('draft.saved', { time: fmtTime(draft.updated_at) });
  else setState('draft.offline_kept');
  ctx.show(view);
}

// ---------- receipt ----------
export async function receiptView(app, [code], _q, ctx) {
  let r = null;
  try { r = JSON.parse(sessionStorage.getItem('ok.receipt.' + code)); } catch (_) { /* ignore */ }
  if (!r) r = await api('GET', `/api/v1/receipts/${enc(code)}`);
  await procedures().catch(() => null);
  const def = findProc(r.procedure);
  const facts = [
    [t('receipt.sealed_at'), fmtTime(r.sealed_at)],
    def && def.time_limit_working_days ? [t('receipt.limit'), t('proc.limit_days', { n: def.time_limit_working_days })] : null,
    def && def.authority ? [t('receipt.authority'), txt(def.authority)] : null,
    r.seq != null ? [t('receipt.seq'), String(r.seq)] : null,
  ].filter(Boolean);
  const printBtn = btn('print', t('receipt.print'), { class: 'btn big', 'data-testid': 'print' });
  printBtn.addEventListener('click', () => window.print());
  ctx.show(h('section', { class: 'receipt' },
    h('div', { class: 'card slip' },
      h('p', { class: 'hub-line' }, state.hubName || t('app.name')),
      h('h1', {}, t('receipt.title')),
      h('p', { class: 'proc', 'data-testid': 'receipt-procedure' }, txt(r.procedure_title) || procTitle(r.procedure)),
      h('p', { class: 'code-label' }, t('receipt.code')),
      h('p', { class: 'code', id: 'receipt-code', 'data-testid': 'receipt-code' }, r.code),
      r.qr ? h('img', { class: 'receipt-qr', 'data-testid': 'receipt-qr', src: `/api/v1/receipts/${enc(r.code)}/qr.png`,
        alt: t('receipt.qr_alt'), width: '240', height: '240' }) : null,
      r.tracking_number ? h('p', { class: 'muted small', 'data-testid': 'tracking-number' }, t('receipt.tracking'), ' ',
        h('span', { class: 'mono' }, r.tracking_number)) : null,
      h('dl', {}, facts.map(([k, v]) => h('div', { class: 'kv' }, h('dt', {}, k), h('dd', {}, v)))),
      r.protected
        ? banner('ok', t('receipt.protected'), null, { 'data-testid': 'protected' })
        : banner('danger', t('receipt.not_protected_title'), t('receipt.not_protected_body'), { 'data-testid': 'not-protected', id: 'not-protected' }),
      r.disposition && r.disposition !== 'new'
        ? banner('warn', t('disp.' + r.disposition), r.refers_to ? t('receipt.refers_to') : null, { 'data-testid': 'receipt-disposition' })
        : null,
      h('p', { class: 'keep' }, t('receipt.keep'))),
    can('officer', 'admin') && r.disposition !== 'voids' ? reasonAction('void', async (reason) => {
      showReceipt(await api('POST', `/api/v1/dossiers/${enc(r.dossier_id)}/void`, { reason }, { timeout: 60000 }));
    }) : null,
    h('div', { class: 'row no-print' }, printBtn,
      h('a', { class: 'btn primary big', href: '#/', 'data-testid': 'home' }, icon('back'), h('span', {}, t('ui.back_home'))))));
}
