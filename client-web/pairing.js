// Pairing a field hub with its commune office (protocol §11.2–11.3).
// Office (#/office/devices, clerk/admin): open a one-time code shown in large grouped letters with its QR and a
// countdown; list the field devices with their status; approve or revoke them (with a reason), a lost or
// stolen one from a sequence number (by default the last one received + 1: what it sealed before still counts).
// Field (#/pairing, admin): the pinned office, or pair with one by scanning its QR (BarcodeDetector, when the
// browser has it) or typing its address and code.
import { h, t, api, btn, banner, errText, flash, ask, can, icon, fmtTime, state } from './lib.js';

const STATUS_BADGE = { pending_approval: 'warn', approved: 'ok', revoked: 'bad' };

function statusBadge(s) {
  return h('span', { class: `badge ${STATUS_BADGE[s] || ''}`, 'data-testid': 'device-status', 'data-status': s },
    icon(s === 'approved' ? 'ok' : s === 'revoked' ? 'lock' : 'warn'), t('pairing.status.' + s));
}

function field(id, label, input, hint) {
  return h('div', { class: 'field' }, h('label', { for: id }, label), input, hint ? h('p', { class: 'hint', id: id + '-hint' }, hint) : null);
}

// ---------- office ----------

// The code in large letters, one group per box, read aloud group by group.
function codeLetters(code) {
  return h('p', { class: 'pair-code', 'data-testid': 'pairing-code', 'data-code': code },
    code.split('-').map((g) => h('span', { class: 'pair-group', 'aria-hidden': 'true' }, g)),
    h('span', { class: 'pair-sr' }, code.split('-').join(' - ')));
}

// The time left, each second; every few seconds `used()` asks whether the code was spent meanwhile (then
// the countdown stops for good: a used code is not "still valid for 7:12").
function countdown(expiresAt, onEnd, used) {
  const el = h('p', { class: 'pair-countdown', role: 'timer', 'aria-live': 'off', 'data-testid': 'pairing-countdown' });
  const end = new Date(expiresAt).getTime();
  let n = 0; let asking = false; let over = false;
  const stop = () => { over = true; clearInterval(timer); };
  const tick = () => {
    if (over) return;
    const left = Math.max(0, Math.round((end - Date.now()) / 1000));
    el.textContent = left > 0
      ? t('pairing.expires_in', { time: `${Math.floor(left / 60)}:${String(left % 60).padStart(2, '0')}` })
      : t('pairing.expired');
    if (left <= 0 || !el.isConnected && el.dataset.started) { stop(); if (left <= 0) onEnd(); return; }
    el.dataset.started = '1';
    if (used && !asking && ++n % 2 === 0) {
      asking = true;
      used().then((yes) => { if (yes && !over) stop(); }).finally(() => { asking = false; });
    }
  };
  const timer = setInterval(tick, 1000);
  tick();
  return el;
}

// The office's QR of a code answers 404 once the code is spent or expired: before its time is up, that
// means a field hub has just used it.
async function codeSpent(c) {
  try {
    const r = await fetch(c.qr_png, { method: 'HEAD', cache: 'no-store', credentials: 'same-origin' });
    return r.status === 404 && Date.now() < new Date(c.expires_at).getTime();
  } catch (_) { return false; }
}

function codePanel(c, onEnd, onUsed) {
  const src = `${c.qr_png}?url=${encodeURIComponent(c.base_url)}`;
  return h('section', { class: 'card pair-panel', 'data-testid': 'pairing-panel' },
    h('h2', {}, t('pairing.code_title')),
    h('p', {}, t('pairing.code_instruction')),
    h('div', { class: 'pair-show' },
      h('img', { class: 'pair-qr', src, width: 280, height: 280, alt: t('pairing.qr_alt'), 'data-testid': 'pairing-qr' }),
      h('div', {},
        codeLetters(c.code),
        h('p', {}, t('pairing.office_address'), ' ', h('strong', { class: 'mono', 'data-testid': 'pairing-address' }, c.base_url)),
        countdown(c.expires_at, onEnd, async () => { const yes = await codeSpent(c); if (yes) onUsed(); return yes; }),
        h('p', { class: 'hint' }, t('pairing.one_use')))));
}

function deviceRow(d, refresh) {
  const actions = h('div', { class: 'row pair-device-actions' });
  // A pause (two copies of the device's card sealing, protocol §11.4.3) is lifted by approving it again.
  if (d.status !== 'approved' || d.paused_at) {
    actions.append(btn('ok', d.paused_at && d.status === 'approved' ? t('pairing.resume') : t('pairing.approve'), {
      class: 'btn primary', 'data-testid': 'device-approve',
      onclick: async () => {
        if (!(await ask(t('pairing.approve_confirm', { name: d.name }), t('pairing.approve'), t('ui.cancel')))) return;
        try {
          await api('POST', `/api/v1/pairing/devices/${encodeURIComponent(d.device_id)}/approve`, {});
          flash(t('pairing.approved_msg', { name: d.name }), 'ok');
          await refresh();
        } catch (e) { flash(errText(e)); }
      },
    }));
  }
  if (d.status !== 'revoked') {
    const rid = `reason-${d.device_id}`;
    const reason = h('input', { id: rid, name: 'reason', maxlength: 500, 'data-testid': 'device-reason', autocomplete: 'off' });
    // From which sequence number: by default the last one received + 1 (what the device sealed before the
    // theft still counts), or chosen by the clerk; or a full revocation.
    const sid = `from-seq-${d.device_id}`;
    const fallback = (d.last_received_seq || 0) + 1;
    const fromSeq = h('input', { id: sid, name: 'from_seq', type: 'text', inputmode: 'numeric', pattern: '[0-9]*', autocomplete: 'off',
      value: String(fallback), class: 'pair-seq', 'aria-describedby': `${sid}-hint`, 'data-testid': 'device-from-seq' });
    const mode = (v, checked, label) => h('label', { class: 'radio' },
      h('input', { type: 'radio', name: `revoke-mode-${d.device_id}`, value: v, checked, 'data-testid': `device-revoke-${v}` }),
      h('span', {}, label));
    const modes = h('div', { class: 'radios' }, mode('from', true, t('pairing.cutoff_from')), mode('full', false, t('pairing.cutoff_full')));
    const last = d.last_received_seq
      ? t('pairing.last_received', { seq: d.last_received_seq, time: fmtTime(d.last_received_at) })
      : t('pairing.none_received');
    const seqField = h('div', { class: 'field', 'data-testid': 'device-cutoff' },
      h('label', { for: sid }, t('pairing.cutoff_seq')), fromSeq,
      h('p', { class: 'hint', id: `${sid}-hint` }, h('strong', { 'data-testid': 'device-last-received' }, last), ' ', t('pairing.cutoff_hint')));
    const full = () => form.querySelector(`input[name="revoke-mode-${d.device_id}"]:checked`)?.value === 'full';
    const form = h('form', { class: 'form pair-revoke', hidden: true, novalidate: true },
      field(rid, t('pairing.reason'), reason, t('pairing.reason_hint')),
      h('fieldset', { class: 'field' }, h('legend', {}, t('pairing.cutoff_legend')), modes),
      seqField,
      h('button', { type: 'submit', class: 'btn danger', 'data-testid': 'device-revoke-confirm' }, icon('lock'), h('span', {}, t('pairing.revoke'))));
    modes.addEventListener('change', () => { seqField.hidden = full(); });
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const r = reason.value.normalize('NFC').trim();
      if (!r) { flash(t('pairing.reason_needed')); reason.focus(); return; }
      const n = /^\d+$/.test(fromSeq.value.trim()) ? Number(fromSeq.value.trim()) : NaN;
      if (!full() && !(Number.isInteger(n) && n >= 1)) { flash(t('pairing.cutoff_needed')); fromSeq.focus(); return; }
      const question = full() ? t('pairing.revoke_confirm', { name: d.name }) : t('pairing.revoke_confirm_from', { name: d.name, seq: n });
      if (!(await ask(question, t('pairing.revoke'), t('ui.cancel')))) return;
      try {
        const done = await api('POST', `/api/v1/pairing/devices/${encodeURIComponent(d.device_id)}/revoke`,
          full() ? { reason: r } : { reason: r, from_seq: n });
        if (done.held_at_or_above) flash(t('pairing.held_above', { n: done.held_at_or_above, seq: n }));
        else flash(full() ? t('pairing.revoked_msg', { name: d.name }) : t('pairing.revoked_from_msg', { name: d.name, seq: n }), 'ok');
        await refresh();
      } catch (e) { flash(errText(e)); }
    });
    actions.append(btn('lock', t('pairing.revoke'), {
      class: 'btn', 'data-testid': 'device-revoke',
      onclick: () => { form.hidden = !form.hidden; if (!form.hidden) reason.focus(); },
    }));
    actions.append(form);
  }
  return h('li', { class: 'item pair-device', 'data-testid': 'device-row', 'data-device': d.device_id },
    h('div', { class: 'grow' },
      h('p', {}, h('strong', {}, d.name), ' ', statusBadge(d.status)),
      d.paused_at ? banner('danger', t('pairing.paused_title'), t('pairing.paused_body', { when: fmtTime(d.paused_at) }),
        { 'data-testid': 'device-paused' }) : null,
      h('dl', { class: 'pair-facts' },
        h('dt', {}, t('pairing.device_id')), h('dd', { class: 'mono' }, d.device_id),
        h('dt', {}, t('pairing.fingerprint')), h('dd', { class: 'mono' }, d.fingerprint),
        h('dt', {}, t('pairing.paired_at')), h('dd', {}, `${fmtTime(d.paired_at)} · ${t('pairing.via.' + d.paired_via)}`),
        d.last_seen ? [h('dt', {}, t('pairing.last_seen')), h('dd', {}, fmtTime(d.last_seen))] : null,
        d.last_received_seq ? [h('dt', {}, t('pairing.last_received_dt')),
          h('dd', {}, `${t('ui.seq', { n: d.last_received_seq })} · ${fmtTime(d.last_received_at)}`)] : null,
        d.status === 'revoked' ? [h('dt', {}, t('pairing.revoked_from')), h('dd', { 'data-testid': 'device-revoked-from' },
          d.revoked_from_seq ? t('pairing.revoked_from_seq', { seq: d.revoked_from_seq }) : t('pairing.revoked_all'))] : null,
        d.status_changed_by ? [h('dt', {}, t('pairing.changed_by')),
          h('dd', {}, `${d.status_changed_by} · ${fmtTime(d.status_changed_at)}`)] : null,
        d.status_note ? [h('dt', {}, t('pairing.reason')), h('dd', { 'data-testid': 'device-note' }, d.status_note)] : null),
      actions));
}

export async function devicesView(app, _p, _q, ctx) {
  const title = h('h1', {}, t('pairing.devices_title'));
  if (state.mode !== 'office' || !can('clerk', 'admin')) {
    ctx.show(h('section', {}, title, banner('warn', t('pairing.office_only'), null)));
    return;
  }
  const list = h('ul', { class: 'list', 'data-testid': 'devices-list' });
  // A refresh (the clerk's button, or a code just used) rebuilds the rows; a revoke form the clerk has
  // open keeps its place, its typed reason and its focus.
  const refresh = async () => {
    const r = await api('GET', '/api/v1/pairing/devices');
    const ds = r.devices || [];
    const open = new Map();
    for (const li of list.querySelectorAll('[data-device]')) {
      const f = li.querySelector('form.pair-revoke');
      if (f && !f.hidden) {
        const input = f.querySelector('input[name=reason]');
        const seq = f.querySelector('input[name=from_seq]');
        const mode = f.querySelector('input[type=radio]:checked');
        open.set(li.dataset.device, { value: input.value, focused: document.activeElement === input,
          seq: seq && seq.value, mode: mode && mode.value });
      }
    }
    list.replaceChildren(...(ds.length ? ds.map((d) => deviceRow(d, refresh))
      : [h('li', { class: 'item', 'data-testid': 'devices-empty' }, t('pairing.no_devices'))]));
    for (const li of list.querySelectorAll('[data-device]')) {
      const kept = open.get(li.dataset.device);
      const f = li.querySelector('form.pair-revoke');
      if (!kept || !f) continue;
      f.hidden = false;
      const input = f.querySelector('input[name=reason]');
      input.value = kept.value;
      const seq = f.querySelector('input[name=from_seq]');
      if (seq && kept.seq) seq.value = kept.seq;
      const mode = kept.mode && f.querySelector(`input[type=radio][value="${kept.mode}"]`);
      if (mode) { mode.checked = true; mode.dispatchEvent(new Event('change', { bubbles: true })); }
      if (kept.focused) input.focus();
    }
  };
  try { await refresh(); } catch (e) { ctx.show(h('section', {}, title, banner('warn', errText(e), null))); return; }

  let addrs = [];
  try { addrs = (await api('GET', '/api/v1/pairing/addresses')).addresses || []; } catch (_) { /* default address */ }
  const addrSel = addrs.length > 1
    ? field('pair-addr', t('pairing.address_choose'),
      h('select', { id: 'pair-addr', 'data-testid': 'pairing-address-select' }, addrs.map((a) => h('option', { value: a }, a))),
      t('pairing.address_hint'))
    : null;
  const panel = h('div', { 'aria-live': 'polite' });
  const newBtn = btn('qr', t('pairing.new_code'), {
    class: 'btn primary big', 'data-testid': 'pairing-new-code',
    onclick: async () => {
      newBtn.disabled = true;
      try {
        const body = addrSel ? { base_url: addrSel.querySelector('select').value } : {};
        const c = await api('POST', '/api/v1/pairing/codes', body);
        panel.replaceChildren(codePanel(c, () => panel.replaceChildren(banner('warn', t('pairing.expired'), t('pairing.expired_hint'))),
          async () => {
            // Used: say so instead of counting down, and show the device that used it (waiting for approval).
            panel.replaceChildren(banner('ok', t('pairing.code_used'), t('pairing.code_used_hint'), { 'data-testid': 'pairing-code-used' }));
            await refresh().catch(() => {});
          }));
      } catch (e) { flash(errText(e)); }
      newBtn.disabled = false;
    },
  });
  ctx.show(h('section', { class: 'pairing' }, title,
    h('p', {}, t('pairing.devices_intro')),
    h('div', { class: 'card' }, addrSel, h('div', { class: 'pair-actions' }, newBtn,
      btn('reload', t('pairing.refresh'), { 'data-testid': 'devices-refresh', onclick: () => refresh().catch((e) => flash(errText(e))) }))),
    panel,
    h('h2', {}, t('pairing.devices_list')),
    list));
}

// ---------- field ----------

function officeCard(o, extra) {
  return h('section', { class: 'card', 'data-testid': 'pairing-office' },
    h('h2', {}, t('pairing.office_title')),
    h('p', { class: 'big' }, h('strong', { 'data-testid': 'pairing-office-name' }, o.name)),
    h('dl', { class: 'pair-facts' },
      h('dt', {}, t('pairing.device_id')), h('dd', { class: 'mono' }, o.device_id),
      h('dt', {}, t('pairing.office_address')), h('dd', { class: 'mono' }, o.base_url || t('pairing.found_on_lan')),
      h('dt', {}, t('pairing.fingerprint')), h('dd', { class: 'mono' }, o.fingerprint),
      h('dt', {}, t('pairing.paired_at')), h('dd', {}, `${fmtTime(o.paired_at)} · ${t('pairing.via.' + o.paired_via)}`)),
    extra || null,
    h('p', {}, h('a', { href: '#/sync', class: 'btn' }, icon('cloud'), h('span', {}, t('pairing.go_sync')))));
}

// The camera scanner: a video with BarcodeDetector reading QR codes until one is a pairing QR.
function scanner(onText) {
  const video = h('video', { class: 'pair-video', playsinline: true, muted: true, 'aria-label': t('pairing.camera') });
  const box = h('div', { class: 'pair-scan', hidden: true }, video,
    btn('stop', t('pairing.stop_scan'), { onclick: () => stop() }));
  let stream = null; let stopped = true;
  const stop = () => {
    stopped = true; box.hidden = true;
    if (stream) stream.getTracks().forEach((tr) => tr.stop());
    stream = null;
  };
  const start = async () => {
    try {
      const det = new window.BarcodeDetector({ formats: ['qr_code'] });
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' } });
      video.srcObject = stream; await video.play();
      box.hidden = false; stopped = false;
      const loop = async () => {
        if (stopped || !box.isConnected) { stop(); return; }
        try {
          const found = await det.detect(video);
          const hit = found.map((b) => b.rawValue).find((v) => v && v.startsWith('OKP1:'));
          if (hit) { stop(); onText(hit); return; }
        } catch (_) { /* next frame */ }
        setTimeout(loop, 250);
      };
      loop();
    } catch (_) { stop(); flash(t('pairing.camera_failed')); }
  };
  const canScan = 'BarcodeDetector' in window && navigator.mediaDevices && navigator.mediaDevices.getUserMedia;
  const button = canScan ? btn('camera', t('pairing.scan'), { class: 'btn primary big', 'data-testid': 'pairing-scan', onclick: start }) : null;
  return { button, box };
}

export async function pairingView(app, _p, _q, ctx) {
  const title = h('h1', {}, t('pairing.title'));
  if (state.mode !== 'field' || !can('admin', 'officer')) {
    ctx.show(h('section', {}, title, banner('warn', t('pairing.field_only'), null)));
    return;
  }
  let office = null;
  try { office = (await api('GET', '/api/v1/pairing/office')).office; } catch (e) {
    ctx.show(h('section', {}, title, banner('warn', errText(e), null))); return;
  }
  if (office) {
    ctx.show(h('section', { class: 'pairing' }, title, officeCard(office)));
    return;
  }
  if (!can('admin')) {
    ctx.show(h('section', {}, title, banner('warn', t('pairing.not_paired'), t('pairing.ask_admin'))));
    return;
  }
  const status = h('div', { role: 'status', 'aria-live': 'polite', 'data-testid': 'pairing-progress' });
  const result = h('div', { 'data-testid': 'pairing-result' });
  const url = h('input', { id: 'pair-url', name: 'url', inputmode: 'url', autocomplete: 'off', autocapitalize: 'none', spellcheck: 'false', placeholder: 'http://192.168.1.20:8080', 'aria-describedby': 'pair-url-hint', 'data-testid': 'pairing-url' });
  const code = h('input', { id: 'pair-code', name: 'code', autocomplete: 'off', autocapitalize: 'characters', spellcheck: 'false', class: 'mono pair-code-input', placeholder: 'XXXX-XXXX-XXXX-XXXX-X', 'aria-describedby': 'pair-code-hint', 'data-testid': 'pairing-code-input' });
  const submit = h('button', { type: 'submit', class: 'btn primary big', 'data-testid': 'pairing-submit' }, icon('lock'), h('span', {}, t('pairing.pair')));
  const send = async (body) => {
    submit.disabled = true; result.replaceChildren();
    status.replaceChildren(h('p', {}, t('pairing.connecting')));
    try {
      const r = await api('POST', '/api/v1/pairing/office', body, { timeout: 45000 });
      status.replaceChildren();
      const waiting = r.device_status === 'pending_approval'
        ? banner('info', t('pairing.waiting_title'), t('pairing.waiting_body', { office: r.office.name }), { 'data-testid': 'pairing-waiting' })
        : r.device_status === 'revoked'
          ? banner('danger', t('pairing.revoked_title'), t('pairing.revoked_body'), { 'data-testid': 'pairing-revoked' })
          : banner('ok', t('pairing.approved_title'), null, { 'data-testid': 'pairing-approved' });
      ctx.show(h('section', { class: 'pairing' }, title,
        banner('ok', t('pairing.done', { office: r.office.name }),
          r.protected_now ? t('pairing.protected_now', { n: r.protected_now }) : null, { 'data-testid': 'pairing-done' }),
        officeCard(r.office, waiting)));
    } catch (e) {
      status.replaceChildren();
      result.replaceChildren(banner('danger', t('pairing.failed'), errText(e), { 'data-testid': 'pairing-error', 'data-code': e.code || '' }));
      submit.disabled = false;
    }
  };
  const form = h('form', { class: 'card form', novalidate: true, 'data-testid': 'pairing-form' },
    h('h2', {}, t('pairing.type_title')),
    field('pair-url', t('pairing.office_address'), url, t('pairing.url_hint')),
    field('pair-code', t('pairing.code'), code, t('pairing.code_hint')),
    submit);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    if (!url.value.trim()) { flash(t('pairing.url_needed')); url.focus(); return; }
    if (!code.value.trim()) { flash(t('pairing.code_needed')); code.focus(); return; }
    send({ url: url.value.trim(), code: code.value.trim() });
  });
  const sc = scanner((text) => send({ qr_text: text }));
  ctx.show(h('section', { class: 'pairing' }, title,
    h('p', {}, t('pairing.intro')),
    sc.button ? h('div', { class: 'card' }, h('h2', {}, t('pairing.scan_title')), h('p', {}, t('pairing.scan_hint')), sc.button, sc.box) : null,
    form, status, result));
}
