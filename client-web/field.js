// Field mode: home (status, drafts, sealed dossiers), the draft editor with photos, and the receipt.
import {
  state, h, t, txt, api, errText, detailText, flash, btn, icon, banner, ask, can, uuid,
  procedures, currentProcedures, findProc, procTitle, fmtTime, fmtSize, go, fill, isLocked,
} from './lib.js';
import { renderForm, placeErrors, renderReadOnly, holds } from './form.js';
import { drafts as localDrafts, photos as localPhotos } from './store.js';
import {
  keepDraft, remember, syncDraft, syncAll, overwrite, discard, keepPhoto, pending, onChange, isNet,
} from './outbox.js';
import { route } from './app.js';

const enc = encodeURIComponent;

// Drafts and photos not yet on the hub live in IndexedDB, per user (store.js); outbox.js sends them.
const keyName = (fields) => { const e = fields && Object.entries(fields).find(([k]) => /full_name$/.test(k)); return e ? e[1] : ''; };

// ---------- home ----------
function statusBanner(s) {
  if (!s) return null;
  // Sealing waits (shared::chain_guard): the most urgent news on the home screen.
  if (s.chain === 'paused') return banner('danger', t('status.chain_paused_title'), t('status.chain_paused_body'), { 'data-testid': 'chain-paused' });
  if (s.chain === 'diverged') return banner('danger', t('status.chain_diverged_title'), t('status.chain_diverged_body'), { 'data-testid': 'chain-diverged' });
  if (s.chain === 'restored') return banner('warn', t('status.chain_restored_title'), t('status.chain_restored_body'), { 'data-testid': 'chain-restored' });
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
    // The hub is out of reach: start the draft on this phone; the outbox creates it on the hub with the
    // same idempotency key, so a retry can never make two drafts.
    const id = 'local-' + idem;
    await keepDraft(id, { proc: { id: p.id, version: p.version }, fields: {}, base: null, idem });
    go('#/draft/' + id);
  } finally { button.disabled = false; }
}

// `deletedOn`: the day (YYYY-MM-DD) the hub's retention will delete this untouched draft, shown as DD/MM.
function draftRow(id, title, procRef, when, photos, pending, deletedOn) {
  const dayMonth = deletedOn ? deletedOn.split('-').reverse().slice(0, 2).join('/') : null;
  return h('li', {}, h('a', { class: 'item', href: '#/draft/' + enc(id), 'data-testid': 'draft-row' },
    icon('doc'),
    h('span', { class: 'grow' }, h('strong', {}, title || t('draft.untitled')),
      h('small', {}, [procTitle(procRef), when ? fmtTime(when) : null, photos ? t('draft.photos', { n: photos }) : null].filter(Boolean).join(' · ')),
      dayMonth ? h('span', { class: 'badge warn', 'data-testid': 'draft-deleted-on' }, t('draft.deleted_on', { date: dayMonth })) : null),
    pending ? h('span', { class: 'badge warn' }, t('draft.on_phone')) : null));
}

// Why an outbox item is not on the hub yet, in plain words.
function outboxReason(it) {
  if (it.state === 'sending') return t('outbox.sending');
  if (it.state === 'conflict') return t('outbox.conflict');
  if (it.kind === 'photo' && it.draftId.startsWith('local-') && !it.error) return t('outbox.photo_waits_draft');
  if (!it.error) return t('outbox.waiting');
  const e = it.error;
  if (e.code === 'offline' || e.code === 'timeout') return t('outbox.offline');
  const msg = (state.lang === 'en' ? e.en : e.vi) || e.vi || e.en || t('err.http', { status: e.status });
  const d = e.details && e.details[0];
  return d ? `${msg} ${detailText(d)}` : msg;
}

/** The outbox card: every item of this user not yet on the hub, with its state and last failure. */
export async function outboxCard() {
  const items = await pending();
  const card = h('section', { class: 'card outbox', 'data-testid': 'outbox', hidden: !items.length },
    h('h2', {}, icon('cloud'), t('outbox.title'), ' ', h('span', { class: 'count', 'data-testid': 'outbox-count' }, String(items.length))),
    h('p', { class: 'help' }, t('outbox.help')));
  const retry = btn('reload', t('outbox.retry'), { class: 'btn', 'data-testid': 'outbox-retry' });
  retry.addEventListener('click', async () => { retry.disabled = true; try { await syncAll(); } finally { retry.disabled = false; } });
  card.append(h('ul', { class: 'list' }, items.map((it) => h('li', { class: 'item ob-' + it.state, 'data-testid': 'outbox-item', 'data-state': it.state, 'data-kind': it.kind },
    icon(it.kind === 'photo' ? 'camera' : 'doc'),
    h('span', { class: 'grow' },
      h('a', { href: '#/draft/' + enc(it.draftId) }, h('strong', {}, it.kind === 'photo' ? t('outbox.photo', { size: fmtSize(it.size) }) : (keyName(it.fields) || t('draft.untitled')))),
      h('small', { 'data-testid': 'outbox-reason' }, outboxReason(it))),
    h('span', { class: 'badge ' + (it.state === 'failed' || it.state === 'conflict' ? 'danger' : 'warn') }, t('outbox.state.' + it.state))))), retry);
  return card;
}

export async function fieldHome(app, _p, _q, ctx) {
  const sealer = can('officer', 'admin');
  let status = null, drafts = [], sealed = null, netErr = null;
  // Which sealed dossiers the office acknowledged (sync); fetched alongside, never blocking the screen.
  const ackedP = sealer ? api('GET', '/api/v1/upload/acked').catch(() => null) : Promise.resolve(null);
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
  const procs = currentProcedures();
  const locals = await localDrafts.list();
  const localById = Object.fromEntries(locals.map((l) => [l.id, l]));

  const news = h('div', { class: 'new-buttons' }, procs.map((p) => {
    const b = h('button', { type: 'button', class: 'btn primary big', 'data-testid': 'new-' + p.id, 'data-procedure': p.id },
      icon('plus'), h('span', {}, t('home.new', { title: txt(p.title) })));
    b.addEventListener('click', () => newDraft(p, b));
    return b;
  }));

  const rows = drafts.map((d) => draftRow(d.id, d.title, d.procedure, d.updated_at, d.attachments, localById[d.id] && localById[d.id].dirty, d.deleted_on));
  // Drafts kept on this phone that the hub list does not show: started offline, or read from the hub
  // before the Wi-Fi dropped.
  const known = new Set(drafts.map((d) => d.id));
  for (const l of locals) {
    if (known.has(l.id) || (netErr == null && !l.id.startsWith('local-'))) continue;
    rows.push(draftRow(l.id, keyName(l.fields) || l.title, l.proc, new Date(l.at).toISOString(), 0, l.dirty));
  }

  // Villagers' pre-declarations waiting to be picked up as drafts (self-service on the Wi-Fi); loaded
  // apart so the capture path does not carry that screen's code.
  const predeclSlot = h('div', { class: 'predecl-slot' });
  // That screen's code is fetched only when something waits (most sessions have none): the capture path
  // stays small on a weak Wi-Fi. The list of drafts works without it.
  const predeclP = netErr ? null : api('GET', '/api/v1/predeclarations')
    .then((r) => ((r.predeclarations || []).length ? import('./selfservice.js') : null)).catch(() => null);
  const sec = [
    h('h1', {}, t('home.title')),
    netErr ? banner('info', null, t('home.offline_hint')) : null,
    statusBanner(status),
    await outboxCard(),
    netErr ? null : predeclSlot,
    h('section', { class: 'card' }, h('h2', {}, t('home.new_title')), procs.length ? news : h('p', {}, t('home.no_procedures'))),
    h('section', { class: 'card' }, h('h2', {}, t('home.drafts'), ' ', h('span', { class: 'count' }, String(rows.length))),
      rows.length ? h('ul', { class: 'list', 'data-testid': 'drafts' }, rows) : h('p', { class: 'muted' }, t('home.no_drafts'))),
  ];
  if (sealed) {
    const list = sealed.dossiers || [];
    const uploaded = new Set(((await ackedP) || {}).seqs || []); // sync: acked by the office
    sec.push(h('section', { class: 'card' }, h('h2', {}, t('home.sealed'), ' ', h('span', { class: 'count' }, String(list.length))),
      list.length ? h('ul', { class: 'list', 'data-testid': 'sealed' }, list.map((d) => h('li', {},
        h('a', { class: 'item', href: '#/receipt/' + enc(d.receipt_code), 'data-testid': 'sealed-row' }, icon('lock'),
          h('span', { class: 'grow' }, h('strong', { class: 'mono' }, d.receipt_code),
            h('small', {}, [procTitle(d.procedure), fmtTime(d.sealed_at), d.seq != null ? t('ui.seq', { n: d.seq }) : null].filter(Boolean).join(' · '))),
          d.disposition && d.disposition !== 'new' ? h('span', { class: 'badge warn' }, t('disp.' + d.disposition)) : null,
          d.replaced_by ? h('span', { class: 'badge' }, t('disp.replaced_short')) : null,
          protBadge(d.protected),
          uploaded.has(d.seq) ? h('span', { class: 'badge ok', 'data-testid': 'uploaded-badge' }, icon('cloud'), t('sync.uploaded')) : null))))
        : h('p', { class: 'muted' }, t('home.no_sealed'))));
  }
  ctx.show(h('section', {}, sec));
  if (predeclP) {
    predeclP.then((m) => { if (m && ctx.alive() && predeclSlot.isConnected) predeclSlot.replaceWith(m.predeclarationsPanel()); });
  }
  // Keep the outbox card current while this screen is shown.
  let busy = false;
  const off = onChange(async () => {
    if (!ctx.alive()) { off(); return; }
    if (busy) return;
    busy = true;
    try { const old = app.querySelector('[data-testid=outbox]'); if (old) old.replaceWith(await outboxCard()); } finally { busy = false; }
  });
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
const MAX_SIDE = 1600; // long side; the hub makes the stored copy (upright, no metadata, small)
// The hub's budget for a stored photo (hub/src/media MAX_STORED_BYTES). An upright baseline JPEG within it
// and within MAX_SIDE is kept as sent (metadata dropped): the phone's encoder does the work once, instead of
// the hub's, which is shared by every phone of the session, encoding it again (up to five times).
const MAX_BYTES = 100 * 1024;
// JPEG qualities the hub would pick from (hub/src/media QUALITIES), highest first; 0.45 is its legibility
// floor. Long sides tried in turn when even 0.45 does not fit at the larger one (hub LONG_SIDES).
const QUALITIES = [0.85, 0.8, 0.75, 0.7, 0.65, 0.6, 0.55, 0.5, 0.45];
const SIDES = [MAX_SIDE, 1500, 1400, 1200, 1000, 800];

// Shrink a camera photo before upload: less radio time on a weak Wi-Fi, and the EXIF block (GPS,
// camera) is dropped here already. As the hub would: the largest of SIDES at which quality 0.45 fits
// MAX_BYTES, at the highest quality that fits there (a binary search); the hub then keeps it as sent. When
// nothing fits, the MAX_SIDE copy at 0.85 goes and the hub decides. Falls back to the original file
// whenever anything goes wrong.
async function shrink(file) {
  if (!/^image\/(jpeg|png|webp)$/.test(file.type) || file.size <= MAX_BYTES || !window.createImageBitmap) return file;
  const c = document.createElement('canvas');
  try {
    const bmp = await createImageBitmap(file, { imageOrientation: 'from-image' });
    const long = Math.max(bmp.width, bmp.height);
    const draw = (side) => {
      const k = Math.min(1, side / long);
      c.width = Math.round(bmp.width * k); c.height = Math.round(bmp.height * k);
      const g = c.getContext('2d');
      // 'high': an area-averaging-like downscale (Chromium: mipmaps), not plain bilinear, which drops
      // pixels at a 2.5× reduction and blurs the small print of a form (the hub area-averages too).
      g.imageSmoothingEnabled = true; g.imageSmoothingQuality = 'high';
      g.drawImage(bmp, 0, 0, c.width, c.height);
    };
    const enc = (q) => new Promise((r) => c.toBlob(r, 'image/jpeg', q));
    let blob = null;
    for (const side of SIDES) {
      if (side > long && side !== MAX_SIDE) continue;
      draw(side);
      const floor = await enc(QUALITIES[QUALITIES.length - 1]);
      if (!floor || floor.size > MAX_BYTES) continue;
      // QUALITIES[hi] fits (best is its copy), QUALITIES[lo] does not (or is not tried: -1).
      let lo = -1, hi = QUALITIES.length - 1, best = floor;
      while (hi - lo > 1) {
        const mid = (lo + hi + 1) >> 1;
        const b = await enc(QUALITIES[mid]);
        if (b && b.size <= MAX_BYTES) { hi = mid; best = b; } else lo = mid;
      }
      blob = best;
      break;
    }
    if (!blob) { draw(MAX_SIDE); blob = await enc(QUALITIES[0]); }
    if (bmp.close) bmp.close();
    return blob && blob.size < file.size ? blob : file;
  } catch (_) { return file; } finally { c.width = 0; c.height = 0; }
}

// ---------- draft editor ----------
const LAYOUT_KEY = 'ok.layout';
const STEP_KEY = 'ok.step.';
const layoutPref = () => { try { return localStorage.getItem(LAYOUT_KEY); } catch (_) { return null; } };

export async function draftView(app, [id], _q, ctx) {
  await procedures();
  const S = { id, isLocal: id.startsWith('local-'), version: null, attachments: [] };
  const loc = await localDrafts.get(id);
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
  let fields = draft.fields || {};
  let note = null;
  if (loc && loc.dirty && !S.isLocal && !offlineCopy) {
    // Typing that never reached the hub wins on screen; its base version decides conflicts on save.
    fields = loc.fields || {};
    note = loc.base != null && loc.base !== draft.version ? 'draft.local_older' : 'draft.local_kept';
  } else if (!S.isLocal && !offlineCopy) {
    await remember(draft); // a clean copy, so a reload without Wi-Fi continues here
  }
  if (offlineCopy) note = 'draft.offline_copy';

  const noteEl = note ? banner(note === 'draft.local_older' ? 'warn' : 'info', t(note), null, { 'data-testid': 'local-note' }) : null;
  const stateLine = h('p', { class: 'save-state', id: 'save-state', 'data-testid': 'save-state', role: 'status' });
  const setState = (key, vars) => { stateLine.textContent = key ? t(key, vars) : ''; stateLine.dataset.state = key || ''; };
  const summary = h('div', { id: 'errors', class: 'summary', tabindex: '-1', hidden: true, 'data-testid': 'errors' });
  const conflictBox = h('div', { hidden: true, 'data-testid': 'conflict' });

  // Every change is kept on the phone at once and sent to the hub shortly after (outbox.js).
  // data-pending counts writes to the phone's storage still under way (0: all typing is on the phone).
  let keeping = 0;
  stateLine.dataset.pending = '0';
  const keep = async (f) => {
    stateLine.dataset.pending = String(++keeping);
    try {
      await keepDraft(S.id, { proc: draft.procedure, fields: f, base: S.version });
      if (stateLine.dataset.state !== 'draft.saving') setState('draft.kept');
    } catch (_) { setState('draft.kept_failed'); } finally { stateLine.dataset.pending = String(--keeping); }
  };
  const form = renderForm(def, fields, (f) => { keep(f); showApplicableDocs(f); });

  // ----- document photos -----
  const docs = (def.documents || []).slice();
  const docBlocks = {};
  const photosSec = h('section', { class: 'group card photos', 'data-group': 'photos' }, h('h2', {}, icon('camera'), t('photos.title')), h('p', { class: 'help' }, t('photos.help')));
  const docLabel = (role) => { const d = docs.find((x) => x.role === role); return d ? txt(d.label) : t('photos.other'); };
  const waitingUrls = [];
  const renderThumbs = async () => {
    const waiting = (await localPhotos.list()).filter((p) => p.draftId === S.id);
    for (const u of waitingUrls.splice(0)) URL.revokeObjectURL(u);
    for (const [role, b] of Object.entries(docBlocks)) {
      const onHub = S.attachments.filter((a) => a.role === role).map((a) => {
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
      });
      const onPhone = waiting.filter((p) => p.role === role).map((p) => {
        const u = URL.createObjectURL(p.blob);
        waitingUrls.push(u);
        return h('figure', { class: 'thumb waiting', 'data-testid': 'thumb-waiting' },
          h('img', { src: u, alt: docLabel(role) }), h('figcaption', {}, h('span', { class: 'badge warn' }, t('draft.on_phone'))));
      });
      b.thumbs.replaceChildren(...onHub, ...onPhone);
    }
  };
  const docBlock = (role, labelText, required) => {
    const inputId = 'photo-' + role;
    const input = h('input', { type: 'file', id: inputId, class: 'file', accept: 'image/*', capture: 'environment', 'data-role': role, 'data-testid': inputId });
    const thumbs = h('div', { class: 'thumbs' });
    const msgEl = h('p', { class: 'help', role: 'status' });
    const err = h('p', { class: 'ferr', 'data-err-for': 'documents.' + role, hidden: true });
    const b = { thumbs, msg: (text, bad) => { msgEl.textContent = text || ''; msgEl.className = bad ? 'ferr' : 'help'; } };
    docBlocks[role] = b;
    input.addEventListener('change', async () => {
      const files = [...input.files];
      input.value = '';
      for (const f of files) await addPhoto(role, f, b, err);
    });
    return h('div', { class: 'doc', 'data-doc': role },
      h('h3', {}, labelText, h('span', { class: 'req', hidden: !required }, ' *')),
      thumbs, err, msgEl,
      input, h('label', { for: inputId, class: 'btn big photo-btn' }, icon('camera'), h('span', {}, t('photos.take'))));
  };
  for (const d of docs) photosSec.append(docBlock(d.role, txt(d.label), d.required));
  // Only the papers this dossier needs are offered: the always-required ones, those whose condition holds,
  // and optional ones without a condition ("if you have it"); a paper already photographed stays.
  const applies = (d, vals) => d.required || (d.required_if ? holds(d.required_if, vals) : true);
  function showApplicableDocs(vals) {
    for (const d of docs) {
      const el = photosSec.querySelector(`.doc[data-doc="${CSS.escape(d.role)}"]`);
      if (!el) continue;
      const on = applies(d, vals) || S.attachments.some((a) => a.role === d.role);
      el.classList.toggle('not-applicable', !on);
      const mark = el.querySelector('h3 .req');
      if (mark) mark.hidden = !(d.required || (d.required_if && holds(d.required_if, vals)));
    }
  }
  for (const r of [...new Set(S.attachments.map((a) => a.role))].filter((x) => !docBlocks[x])) photosSec.append(docBlock(r, r, false));
  showApplicableDocs(form.collect());

  // A photo goes to the phone's outbox first; it is sent at once when the hub is reachable, later if not.
  async function addPhoto(role, file, b, err) {
    err.hidden = true;
    b.msg(t('photos.preparing'));
    const blob = await shrink(file);
    const ext = { 'image/jpeg': '.jpg', 'image/png': '.png', 'image/webp': '.webp' }[blob.type] || (/\.\w{1,5}$/.exec(file.name) || [''])[0];
    try {
      await keepPhoto(S.id, role, blob, role + ext); // a neutral name: camera file names can carry personal details
      b.msg(t('photos.sending', { size: fmtSize(blob.size) }));
    } catch (_) { b.msg(t('draft.kept_failed'), true); }
    renderThumbs();
  }

  // ----- messages -----
  // What the summary box shows: '' (nothing or a message), 'draft.errors_title' (a save the hub refused)
  // or 'seal.errors_title' (what sealing still needs).
  let summaryKind = '';
  const showMessage = (msg) => {
    summaryKind = '';
    summary.replaceChildren(h('strong', {}, icon('warn'), msg));
    summary.hidden = false;
    summary.scrollIntoView({ block: 'start' });
  };
  const hideMessages = () => { summary.hidden = true; conflictBox.hidden = true; };
  const showErrors = (details, titleKey) => {
    form.clearErrors();
    photosSec.querySelectorAll('[data-err-for]').forEach((e) => { e.hidden = true; });
    placeErrors(view, details);
    const SHOWN = 6;
    summaryKind = titleKey;
    fill(summary, h('strong', {}, icon('warn'), t(titleKey, { n: details.length })),
      h('ul', {}, details.slice(0, SHOWN).map((d) => {
        const lab = d.field && d.field.startsWith('documents.') ? docLabel(d.field.slice(10)) : (form.labelOf(d.field) || d.field || '');
        const text = `${lab ? lab + ': ' : ''}${detailText(d)}`;
        return h('li', { 'data-field': d.field || '' }, d.field
          ? h('a', { href: '#', onclick: (ev) => { ev.preventDefault(); reveal(d.field); } }, text)
          : text);
      })),
      details.length > SHOWN ? h('p', {}, t('draft.errors_more', { n: details.length - SHOWN })) : null);
    summary.hidden = false;
    summary.focus();
    summary.scrollIntoView({ block: 'start' });
  };

  const showConflict = () => {
    const reload = btn('reload', t('draft.conflict_reload'), { class: 'btn', 'data-testid': 'conflict-reload' });
    const mine = btn('save', t('draft.conflict_mine'), { class: 'btn primary', 'data-testid': 'conflict-overwrite' });
    reload.addEventListener('click', async () => {
      if (!(await ask(t('draft.conflict_reload_confirm'), t('draft.conflict_reload'), t('ui.cancel')))) return;
      await discard(S.id);
      route();
    });
    mine.addEventListener('click', async () => {
      try { conflictBox.hidden = true; outcome(await overwrite(S.id)); } catch (e) { showMessage(errText(e)); }
    });
    conflictBox.replaceChildren(banner('warn', t('draft.conflict_title'), t('draft.conflict_body')), h('div', { class: 'row' }, reload, mine));
    conflictBox.hidden = false;
    conflictBox.scrollIntoView({ block: 'center' });
  };

  // What a save to the hub came to, on screen.
  function outcome(r) {
    if (r.ok) {
      if (r.draft) {
        S.version = r.draft.version;
        if (r.draft.attachments) { S.attachments = r.draft.attachments; renderThumbs(); }
        setState('draft.saved', { time: fmtTime(r.draft.updated_at || new Date().toISOString()) });
      } else if (!S.isLocal) setState('draft.saved', { time: fmtTime(new Date().toISOString()) });
      if (noteEl) noteEl.hidden = true;
      // The hub took this version: the errors of a refused save are fixed, their box goes (what sealing
      // still needs stays until the next review).
      if (r.draft && summaryKind === 'draft.errors_title') {
        form.clearErrors();
        summary.hidden = true;
        summaryKind = '';
      }
      return true;
    }
    const e = r.error;
    if (e.status === 422 && e.details.length) { showErrors(e.details, 'draft.errors_title'); setState('draft.not_saved'); } else if (e.status === 409) { showConflict(); setState('draft.not_saved'); } else if (isNet(e)) setState('draft.offline_kept');
    // The hub restarted locked: kept here, sent by itself once an officer unlocks it.
    else if (isLocked(e)) setState('draft.locked_kept');
    else { setState('draft.not_saved'); showMessage(errText(e)); }
    return false;
  }

  // Push the typing to the hub now. Resolves true when the hub has it.
  async function save() {
    hideMessages();
    form.clearErrors();
    await keepDraft(S.id, { proc: draft.procedure, fields: form.collect(), base: S.version });
    setState('draft.saving');
    return outcome(await syncDraft(S.id));
  }

  // Background saves (typing, retries) and photo uploads, reflected here while this draft is open.
  const off = onChange(async (ev) => {
    if (!ctx.alive()) { off(); return; }
    if (ev.renamed && ev.renamed[0] === S.id) {
      S.id = ev.renamed[1]; S.isLocal = false;
      history.replaceState(null, '', '#/draft/' + enc(S.id));
      return;
    }
    if (ev.id === S.id) {
      if (ev.state === 'sending') setState('draft.saving');
      else if (ev.state === 'saved' || ev.state === 'waiting' || ev.state === 'conflict' || ev.state === 'failed') {
        if (ev.draft) outcome({ ok: true, draft: ev.draft });
        else if (ev.error) outcome({ ok: false, error: ev.error });
      }
    }
    if (ev.photo && ev.draftId === S.id) {
      if (ev.attachment) { S.attachments.push(ev.attachment); docBlocks[ev.attachment.role] && docBlocks[ev.attachment.role].msg(t('photos.sent')); }
      if (ev.state === 'waiting' && ev.error) Object.values(docBlocks).forEach((b) => b.msg(t(isLocked(ev.error) ? 'photos.locked_kept' : 'photos.offline'), true));
      if (ev.state === 'failed' && ev.error) Object.values(docBlocks).forEach((b) => b.msg(errText(ev.error), true));
      if (ev.state !== 'sending') renderThumbs();
    }
  });

  // ----- review: every fact in plain words, derived values marked, what is left to fix -----
  const reviewSec = h('section', { class: 'group review', 'data-group': 'review', 'data-testid': 'review' });
  let slipLang = null; // the villager's language picker for the slip (slip.js), made with the first review
  async function review() {
    if (!(await save())) return null;
    if (S.isLocal) { showMessage(t('seal.offline')); return null; }
    reviewSec.replaceChildren(h('p', { class: 'loading' }, t('ui.loading')));
    let r;
    try { r = await api('GET', `/api/v1/drafts/${enc(S.id)}/check`); } catch (e) { reviewSec.replaceChildren(banner('warn', errText(e), null)); return null; }
    const derived = new Set(r.derived || []);
    const ro = renderReadOnly(def, r.fields || {}, { compact: true });
    ro.querySelectorAll('.kv[data-key]').forEach((kv) => {
      if (derived.has(kv.dataset.key)) { kv.classList.add('derived-kv'); kv.querySelector('dd').append(' ', h('span', { class: 'badge' }, t('review.derived'))); }
    });
    const vals = r.fields || {};
    // The papers this dossier needs, and any photographed; an optional paper not taken is not "missing".
    const needed = (d) => d.required || (d.required_if && holds(d.required_if, vals));
    const photoList = h('ul', { class: 'plain' }, docs.filter((d) => needed(d) || S.attachments.some((a) => a.role === d.role)).map((d) => {
      const n = S.attachments.filter((a) => a.role === d.role).length;
      return h('li', {}, icon(n ? 'ok' : 'warn'), ` ${txt(d.label)}: ${n ? t('draft.photos', { n }) : t('photos.none')}`);
    }));
    reviewSec.replaceChildren(
      h('h2', { tabindex: '-1' }, t('review.title')),
      r.errors.length
        ? banner('warn', t('review.to_fix', { n: r.errors.length }), null, { 'data-testid': 'review-errors' })
        : banner('ok', t('review.ready'), can('officer', 'admin') ? t('review.ready_officer') : t('seal.volunteer_hint'), { 'data-testid': 'review-ready' }),
      // (replaceChildren is the DOM's: a null would show as the text "null")
      r.warnings.length ? banner('info', t('review.warnings'), r.warnings.map(detailText).join(' ')) : '',
      ro, h('section', { class: 'group card' }, h('h2', {}, t('photos.title')), photoList),
      // The official forms on A4, filled in: the field prints them here, before sealing (print.js).
      r.errors.length ? '' : (await import('./print.js')).reviewPrintButton(S.id),
      // The villager's language for the printed slip (recorded with the receipt when sealing).
      (slipLang = slipLang || (await import('./slip.js')).slipLangPicker(S.id)).el);
    // Below the review, nothing over it: the officer's read-back and the seal button.
    if (can('officer', 'admin') && !r.errors.length) reviewSec.append(sealConfirm());
    if (mode === 'steps') goStep(steps.length - 1); else reviewSec.hidden = false;
    if (r.errors.length) showErrors(r.errors, 'seal.errors_title');
    return r;
  }

  // ----- sealing: the officer reads the whole review aloud to the villager, then confirms below it -----
  // "Niêm phong" in the bar brings up the review from its top; the read-back box and "Niêm phong hồ sơ"
  // follow the review, so nothing covers what is read aloud. The hub seals what the review showed: a
  // change after it (typing, a photo) draws the review again and asks for the read-back again.
  const readback = h('input', { type: 'checkbox', id: 'seal-readback', 'data-testid': 'seal-readback', 'aria-describedby': 'seal-readback-error' });
  const readbackErr = h('p', { class: 'ferr', id: 'seal-readback-error', 'data-testid': 'seal-readback-error', role: 'alert', hidden: true });
  const sealNowBtn = btn('lock', t('seal.confirm_button'), { class: 'btn seal big', 'data-testid': 'seal-confirm' });
  // Where the hub's clock banner appears when it refuses to seal on a wrong clock (clock.js).
  const clockSlot = h('div', { 'data-testid': 'clock-seal-slot' });
  const confirmBox = h('section', { class: 'card seal-confirm no-print', 'data-testid': 'seal-confirm-box', 'aria-labelledby': 'seal-confirm-title' },
    h('h2', { id: 'seal-confirm-title' }, icon('lock'), t('seal.confirm_title')),
    h('label', { class: 'check', for: 'seal-readback' }, readback, h('span', {}, t('seal.readback'))),
    readbackErr, h('p', { class: 'help' }, t('seal.confirm')), clockSlot, sealNowBtn);
  readback.addEventListener('change', () => { if (readback.checked) readbackErr.hidden = true; });
  const reviewedNow = () => JSON.stringify([form.collect(), S.attachments.map((a) => a.id)]);
  let reviewed = null;
  function sealConfirm() {
    const now = reviewedNow();
    if (now !== reviewed) readback.checked = false;
    reviewed = now;
    readbackErr.hidden = true;
    clockSlot.replaceChildren();
    return confirmBox;
  }
  const confirmShown = () => confirmBox.isConnected && !reviewSec.hidden && reviewedNow() === reviewed;

  async function seal() {
    if (confirmShown()) {
      // The review is on screen already: to the confirmation at its end.
      confirmBox.scrollIntoView({ block: 'center' });
      (readback.checked ? sealNowBtn : readback).focus({ preventScroll: true });
      return;
    }
    const r = await review();
    if (!r || r.errors.length) { setState('seal.not_sealed'); return; }
    reviewSec.scrollIntoView({ block: 'start' });
    const head = reviewSec.querySelector('h2');
    if (head) head.focus({ preventScroll: true });
  }

  async function sealNow() {
    if (!confirmShown()) {
      const r = await review();
      if (!r || r.errors.length) { setState('seal.not_sealed'); return; }
      readbackErr.textContent = t('seal.review_changed');
      readbackErr.hidden = false;
      reviewSec.scrollIntoView({ block: 'start' });
      return;
    }
    if (!readback.checked) {
      readbackErr.textContent = t('seal.readback_required');
      readbackErr.hidden = false;
      readback.focus();
      return;
    }
    hideMessages();
    clockSlot.replaceChildren();
    setState('seal.sealing');
    sealBtn.disabled = true; sealNowBtn.disabled = true;
    try {
      const rc = await api('POST', `/api/v1/drafts/${enc(S.id)}/seal`, { slip_lang: slipLang ? slipLang.value() : 'vi' }, { timeout: 60000 });
      await discard(S.id);
      import('./print.js').then((p) => p.keepForReceipt(S.id, rc.code)).catch(() => null).finally(() => showReceipt(rc));
    } catch (e) {
      setState('seal.not_sealed');
      if (e.status === 422 && e.details.length) showErrors(e.details, 'seal.errors_title');
      else if (e.code === 'clock_unconfirmed') import('./clock.js').then((c) => c.sealBlocked(clockSlot)).catch(() => showMessage(errText(e)));
      else if (isNet(e)) showMessage(t('seal.offline'));
      else showMessage(errText(e));
    } finally { sealBtn.disabled = false; sealNowBtn.disabled = false; }
  }
  sealNowBtn.addEventListener('click', sealNow);

  const saveBtn = btn('save', t('draft.save'), { class: 'btn primary big', id: 'save', 'data-testid': 'save' });
  saveBtn.addEventListener('click', save);
  const sealBtn = btn('lock', t('seal.button'), { class: 'btn seal big', id: 'seal', 'data-testid': 'seal' });
  sealBtn.addEventListener('click', seal);
  const reviewBtn = btn('doc', t('review.button'), { class: 'btn big', 'data-testid': 'review-open' });
  reviewBtn.addEventListener('click', async () => { goStep(steps.length - 1); await review(); });
  // The slim bar at the bottom of the screen: how the saving goes, "Lưu", and "Niêm phong" (officer) or
  // "Xem lại" (volunteer).
  const actions = h('div', { class: 'actions no-print' }, stateLine,
    h('div', { class: 'row' }, saveBtn, can('officer', 'admin') ? sealBtn : reviewBtn));

  let del = null;
  if (can('officer', 'admin') && !S.isLocal) {
    del = btn('trash', t('draft.delete'), { class: 'btn danger', 'data-testid': 'draft-delete' });
    del.addEventListener('click', async () => {
      if (!(await ask(t('draft.delete_confirm'), t('draft.delete'), t('ui.cancel')))) return;
      try { await api('DELETE', `/api/v1/drafts/${enc(S.id)}`); await discard(S.id); go('#/'); } catch (e) { showMessage(errText(e)); }
    });
  }
  const refuse = can('officer', 'admin') && !S.isLocal ? reasonAction('refuse', async (reason) => {
    if (!(await save())) return;
    const r = await api('POST', `/api/v1/drafts/${enc(S.id)}/refuse`, { reason, slip_lang: slipLang ? slipLang.value() : 'vi' }, { timeout: 60000 });
    await discard(S.id);
    showReceipt(r);
  }) : null;

  // ----- one question group per screen (phones), or the whole form on one page (laptops) -----
  const groupEls = [...form.el.querySelectorAll(':scope > section.group')];
  const steps = [...groupEls, photosSec, reviewSec];
  const titles = [...groupEls.map((g) => g.querySelector('h2').textContent), t('photos.title'), t('review.title')];
  let mode = layoutPref() || (window.innerWidth < 700 ? 'steps' : 'all');
  let cur = 0;
  const progress = h('progress', { max: String(steps.length), value: '1', 'aria-hidden': 'true' });
  const stepLabel = h('p', { class: 'step-label', 'data-testid': 'step-label', 'aria-live': 'polite' });
  const prev = btn('back', t('step.back'), { class: 'btn big', 'data-testid': 'step-back' });
  const next = btn('play', t('step.next'), { class: 'btn primary big', 'data-testid': 'step-next' });
  const toggle = btn('doc', '', { class: 'btn small ghost', 'data-testid': 'layout-toggle' });
  const stepNav = h('div', { class: 'row step-nav no-print' }, prev, next);
  // A group skipped by its condition (e.g. "the person certified" when the requester is that person) is no
  // step: Next and Back pass over it, and the count leaves it out.
  const skipped = (j) => steps[j].classList.contains('skipped');
  function goStep(i, dir = 1) {
    cur = Math.max(0, Math.min(steps.length - 1, i));
    while (skipped(cur) && cur > 0 && cur < steps.length - 1) cur += dir;
    const steps_ = mode === 'steps';
    steps.forEach((el, j) => { el.hidden = steps_ && j !== cur; });
    reviewSec.hidden = steps_ ? cur !== steps.length - 1 : !reviewSec.childElementCount;
    const shown = steps.map((_, j) => j).filter((j) => !skipped(j));
    progress.max = String(shown.length);
    progress.value = shown.indexOf(cur) + 1;
    stepLabel.textContent = steps_ ? t('step.of', { i: shown.indexOf(cur) + 1, n: shown.length, title: titles[cur] }) : '';
    stepLabel.hidden = !steps_; progress.hidden = !steps_; stepNav.hidden = !steps_;
    prev.disabled = cur === 0;
    next.hidden = cur === steps.length - 1;
    toggle.querySelector('span').textContent = steps_ ? t('step.show_all') : t('step.show_steps');
    toggle.dataset.mode = mode;
    try { sessionStorage.setItem(STEP_KEY + S.id, String(cur)); } catch (_) { /* ignore */ }
  }
  prev.addEventListener('click', () => { goStep(cur - 1, -1); stepLabel.scrollIntoView({ block: 'start' }); });
  next.addEventListener('click', async () => {
    goStep(cur + 1, 1);
    stepLabel.scrollIntoView({ block: 'start' });
    if (cur === steps.length - 1) await review();
  });
  toggle.addEventListener('click', () => {
    mode = mode === 'steps' ? 'all' : 'steps';
    try { localStorage.setItem(LAYOUT_KEY, mode); } catch (_) { /* ignore */ }
    goStep(cur);
  });
  // Shows the step holding `field` and puts the cursor there.
  function reveal(field) {
    const target = document.getElementById('f-' + field) || view.querySelector(`[data-err-for="${CSS.escape(field)}"]`);
    if (!target) return;
    const i = steps.findIndex((el) => el.contains(target));
    if (mode === 'steps' && i >= 0) goStep(i);
    target.scrollIntoView({ block: 'center' });
    if (target.focus) target.focus({ preventScroll: true });
  }
  photosSec.remove(); // re-placed below, after the form's groups

  const view = h('section', { class: 'draft', 'data-procedure': def.id },
    h('a', { href: '#/', class: 'back no-print' }, icon('back'), t('ui.back_home')),
    h('h1', {}, txt(def.title)),
    h('p', { class: 'muted' }, [txt(def.authority), def.time_limit_working_days ? t('proc.limit', { n: def.time_limit_working_days }) : null].filter(Boolean).join(' · ')),
    h('div', { class: 'row step-head no-print' }, h('span', { class: 'grow' }, stepLabel, progress), toggle),
    noteEl,
    h('p', { class: 'muted small' }, t('form.required_legend')),
    conflictBox, summary,
    form.el, photosSec, reviewSec, stepNav,
    actions,
    del || refuse ? h('div', { class: 'danger-zone no-print' }, refuse, del) : null);
  // A reload (or a power cut of the phone) comes back to the step the volunteer was on.
  let savedStep = 0;
  try { savedStep = Number(sessionStorage.getItem(STEP_KEY + S.id)) || 0; } catch (_) { /* ignore */ }
  goStep(savedStep);
  if (mode === 'steps' && cur === steps.length - 1) review();
  renderThumbs();
  if (note === 'draft.local_kept' || note === 'draft.local_older' || S.isLocal) setState('draft.kept');
  else if (!offlineCopy) setState('draft.saved', { time: fmtTime(draft.updated_at) });
  else setState('draft.offline_kept');
  ctx.show(view);
  if (loc && loc.dirty && !offlineCopy && loc.state !== 'conflict') syncDraft(S.id).then((r) => ctx.alive() && outcome(r));
  else if (loc && loc.state === 'conflict') showConflict();
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
  // Not yet protected: because no office key is trusted yet, or because the hub's chain waits for a sync
  // (restored or diverged, protocol §11.4.1). The receipt is valid either way; the reason differs.
  const st = r.protected ? null : await api('GET', '/api/v1/status').catch(() => null);
  const waitsForSync = !!(st && st.paired && st.chain && st.chain !== 'sealable');
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
        : waitsForSync
          ? banner('warn', t('receipt.waits_sync_title'), t('receipt.waits_sync_body'), { 'data-testid': 'waits-for-sync' })
          : banner('danger', t('receipt.not_protected_title'), t('receipt.not_protected_body'), { 'data-testid': 'not-protected', id: 'not-protected' }),
      r.disposition && r.disposition !== 'new'
        ? banner('warn', t('disp.' + r.disposition), r.refers_to ? t('receipt.refers_to') : null, { 'data-testid': 'receipt-disposition' })
        : null,
      h('p', { class: 'keep' }, t('receipt.keep'))),
    h('div', { class: 'row no-print' }, printBtn,
      r.disposition !== 'voids' ? h('a', { class: 'btn big', href: '#/slip/' + enc(r.code), 'data-testid': 'slip-link' }, icon('ticket'), h('span', {}, t('receipt.slip'))) : null,
      h('a', { class: 'btn primary big', href: '#/', 'data-testid': 'home' }, icon('back'), h('span', {}, t('ui.back_home')))),
    !['refused', 'voids'].includes(r.disposition) ? (await import('./print.js')).receiptPrintButton(r.code) : null,
    // The destructive action last, set apart: what the officer does next is print the slip and go home.
    can('officer', 'admin') && r.disposition !== 'voids' ? h('div', { class: 'danger-zone no-print' }, reasonAction('void', async (reason) => {
      showReceipt(await api('POST', `/api/v1/dossiers/${enc(r.dossier_id)}/void`, { reason }, { timeout: 60000 }));
    })) : null));
}
