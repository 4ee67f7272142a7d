// Receipts on a 58/80 mm ESC/POS thermal printer (issue 21), for the slip page (slip.js loads this module
// when the slip opens; it is never on the capture path). Two ways to print the same bytes:
//  - on the hub's USB printer: POST /api/v1/receipts/{code}/print {via: "hub"}; the hub renders the slip
//    and writes it to /dev/usb/lp*. Nothing is queued on the hub: a failed print is retried by the officer.
//  - from this phone over Web Bluetooth (Chrome on Android, HTTPS only): the phone fetches the exact bytes
//    the hub would send (GET .../escpos), writes them to the printer in small chunks, then records the print
//    on the hub (POST .../print {via: "phone"}).
// A receipt printed before is printed again only after the officer says so (409 already_printed, then
// `again: true`). The preview is the hub's own raster (GET .../thermal.png, one pixel per printer dot).
import { h, t, api, state, btn, icon, uuid, ask, errText, ApiError } from './lib.js';

const enc = encodeURIComponent;
const PROFILE_KEY = 'ok.thermalProfile';
// The hub's printer profiles (GET /api/v1/printer), named in the officer's words.
const PROFILES = { 'generic-58': 'thermal.profile_58', 'generic-58-raster-qr': 'thermal.profile_58_old', 'generic-80': 'thermal.profile_80' };
// The hub's print errors: what happened, what to do before tapping "In lại".
const PRINTER_ERRORS = {
  printer_no_paper: ['thermal.err_no_paper', 'thermal.err_no_paper_do'],
  printer_absent: ['thermal.err_absent', 'thermal.err_absent_do'],
  printer_error: ['thermal.err_error', 'thermal.err_error_do'],
  printer_off: ['thermal.err_off', 'thermal.err_off_do'],
};

// Web Bluetooth: the GATT services cheap receipt printers expose, each with the characteristic that
// usually takes the print data (any other writable characteristic of the service is tried next).
const uuid16 = (n) => `0000${n.toString(16).padStart(4, '0')}-0000-1000-8000-00805f9b34fb`;
export const BT_SERVICES = [
  [uuid16(0x18f0), uuid16(0x2af1)], // most 58 mm printers (GOOJPRT PT-210, MTP-II, "BlueTooth Printer")
  [uuid16(0xff00), uuid16(0xff02)], // Xprinter and clones
  [uuid16(0xffe0), uuid16(0xffe1)], // printers built on HM-10 style serial modules
  ['e7810a71-73ae-499d-8c15-faa9aef0c3f2', 'bef8d6c9-9c21-4c9e-b632-bd58c1009f9f'], // Phomemo, Munbyn, "POS-58" BLE
];
export const BT_NAME_PREFIXES = ['MTP', 'PT-', 'Printer', 'BlueTooth Printer', 'XP-', 'MPT', 'RPP'];
// Bytes per GATT write (fits the 185-byte MTU most BLE printers and phones agree on; smaller when the browser
// tells the negotiated size, `maxWriteWithoutResponseSize`, newer Chromium), and the pause after 180 bytes so
// a cheap printer's receive buffer keeps up with the phone (shorter after a smaller write: same pace).
export const BT_CHUNK = 180;
const BT_PAUSE_MS = 20;

// The printer chosen on this phone, kept while the app stays open: a second print reuses it, no chooser.
let bt = null; // {device, char}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const hhmm = (iso) => {
  const d = new Date(iso);
  return isNaN(d) ? '' : `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
};
// Millimetres of paper as centimetres, with the decimal comma in Vietnamese.
const cm = (mm) => (mm / 10).toFixed(1).replace('.', state.lang === 'vi' ? ',' : '.');
// A print's time as the officer reads it: HH:MM, with the date when it was not today.
const whenOf = (iso) => {
  const d = new Date(iso);
  if (isNaN(d)) return '';
  const day = `${String(d.getDate()).padStart(2, '0')}/${String(d.getMonth() + 1).padStart(2, '0')}/${d.getFullYear()}`;
  return d.toDateString() === new Date().toDateString() ? hhmm(iso) : `${hhmm(iso)} ${day}`;
};

function savedProfile() {
  try { const p = localStorage.getItem(PROFILE_KEY); if (p) return p; } catch (_) { /* private mode */ }
  return null;
}

async function findWritable(server) {
  const writable = (c) => c.properties && (c.properties.writeWithoutResponse || c.properties.write);
  for (const [svc, preferred] of BT_SERVICES) {
    let service;
    try { service = await server.getPrimaryService(svc); } catch (_) { continue; }
    try {
      const c = await service.getCharacteristic(preferred);
      if (writable(c)) return c;
    } catch (_) { /* not this one: any writable characteristic of the service */ }
    try {
      const c = (await service.getCharacteristics()).find(writable);
      if (c) return c;
    } catch (_) { /* none */ }
  }
  const e = new Error('no writable characteristic');
  e.name = 'NotSupportedError';
  throw e;
}

// Connects to the remembered printer, or asks the officer to choose one (the browser's chooser).
async function connectPrinter() {
  if (bt && bt.device.gatt) {
    if (bt.device.gatt.connected && bt.char) return bt;
    try {
      const server = await bt.device.gatt.connect();
      bt.char = await findWritable(server);
      return bt;
    } catch (e) {
      bt.char = null;
      throw e;
    }
  }
  const services = BT_SERVICES.map(([s]) => s);
  const device = await navigator.bluetooth.requestDevice({
    filters: [...services.map((s) => ({ services: [s] })), ...BT_NAME_PREFIXES.map((p) => ({ namePrefix: p }))],
    optionalServices: services,
  });
  bt = { device, char: null };
  device.addEventListener('gattserverdisconnected', () => { if (bt && bt.device === device) bt.char = null; });
  const server = await device.gatt.connect();
  bt.char = await findWritable(server);
  return bt;
}

// Writes `bytes` to the characteristic in chunks; onProgress(0..1).
async function writeChunks(device, char, bytes, onProgress) {
  const noResponse = !!(char.properties && char.properties.writeWithoutResponse) && typeof char.writeValueWithoutResponse === 'function';
  const max = device.gatt && device.gatt.maxWriteWithoutResponseSize;
  const size = noResponse && Number.isInteger(max) && max >= 20 ? Math.min(BT_CHUNK, max) : BT_CHUNK;
  const pause = Math.max(1, Math.round(BT_PAUSE_MS * size / BT_CHUNK));
  for (let i = 0; i < bytes.length; i += size) {
    const chunk = bytes.slice(i, i + size);
    if (noResponse) await char.writeValueWithoutResponse(chunk);
    else if (typeof char.writeValueWithResponse === 'function') await char.writeValueWithResponse(chunk);
    else await char.writeValue(chunk);
    onProgress(Math.min(1, (i + chunk.length) / bytes.length));
    if (i + size < bytes.length) await sleep(pause);
  }
}

// When the hub says the receipt was printed before ("… lúc HH:MM dd/mm/yyyy …"): that time, with its date
// when it was not today; '' when it names none.
function printedAtOf(err) {
  const m = /\b(\d{1,2}:\d{2})(?: (\d{2}\/\d{2}\/\d{4}))?/.exec((err && (err.vi || err.en)) || '');
  if (!m) return '';
  const d = new Date();
  const today = `${String(d.getDate()).padStart(2, '0')}/${String(d.getMonth() + 1).padStart(2, '0')}/${d.getFullYear()}`;
  return m[2] && m[2] !== today ? `${m[1]} ${m[2]}` : m[1];
}

/**
 * The thermal printing panel of the slip page. `opts`: {code, lang() → the villager's language of the
 * slip, scheme → 'https' or null}; or {test: true}: the printer test page instead of a receipt (#/printer).
 * Returns {el, refresh()} (refresh after the language changes).
 */
export async function thermalPanel({ code, lang, scheme, test = false }) {
  let printer = null;
  try { printer = await api('GET', '/api/v1/printer'); } catch (_) { printer = null; }
  const known = (printer && printer.profiles ? printer.profiles.map((p) => p.id) : Object.keys(PROFILES));
  let profile = savedProfile();
  if (!known.includes(profile)) profile = (printer && known.includes(printer.profile)) ? printer.profile : known[0];
  // The time this receipt was last printed, as far as this page knows (the hub's record when the preview
  // loads, a print here, or the hub's "already printed" answer): a Bluetooth print asks before it writes.
  let printedAt = '';

  const query = () => (test ? `profile=${enc(profile)}` : `profile=${enc(profile)}&lang=${enc(lang())}${scheme ? '&scheme=' + enc(scheme) : ''}`);
  const base = test ? '/api/v1/printer/test' : `/api/v1/receipts/${enc(code)}`;
  // The test page: its image and its bytes sit beside its print route; a receipt's under its code.
  const at = (what) => (test ? `${base}.${what === 'thermal.png' ? 'png' : what}` : `${base}/${what}`);

  // ----- what will print -----
  const preview = h('img', { class: 'thermal-preview', 'data-testid': 'thermal-preview', alt: t('thermal.preview_alt') });
  const previewNote = h('p', { class: 'help', 'data-testid': 'thermal-length' });
  // The image is the printer's raster, one pixel per dot, shown at most at that size (a 384-dot slip fills
  // a phone's width); its text lines, as laid out on the paper, are its alternative text.
  let previewSeq = 0;
  const showPreview = async () => {
    const seq = ++previewSeq;
    preview.src = `${at('thermal.png')}?${query()}`;
    if (test) return;
    try {
      const j = await api('GET', `${base}/thermal?${query()}`);
      if (seq !== previewSeq) return;
      preview.alt = [t('thermal.preview_alt'), ...(j.lines || [])].join('\n');
      // Printed before (here, on another phone, or on the hub's printer): a Bluetooth print asks first.
      if (j.printed && j.printed.last_at) printedAt = whenOf(j.printed.last_at);
      preview.style.maxWidth = j.dots + 'px';
      previewNote.textContent = t('thermal.preview_note', { cm: cm(j.length_mm) });
    } catch (_) { previewNote.textContent = ''; }
  };

  const profileSel = h('select', { id: 'thermal-profile', 'data-testid': 'thermal-profile',
    onchange: () => {
      profile = profileSel.value;
      try { localStorage.setItem(PROFILE_KEY, profile); } catch (_) { /* private mode */ }
      showPreview();
    } },
  known.map((id) => {
    const p = (printer && printer.profiles || []).find((x) => x.id === id);
    const name = PROFILES[id] ? t(PROFILES[id]) : (p && (state.lang === 'en' ? p.name_en : p.name_vi)) || id;
    return h('option', { value: id, selected: id === profile }, name);
  }));

  // ----- the outcome of the last print: busy, done, or what went wrong and what to do -----
  const status = h('div', { class: 'thermal-status', 'data-testid': 'thermal-status', role: 'status', 'aria-live': 'polite' });
  const say = (kind, title, body, retry) => {
    const box = h('div', { class: `banner ${kind}`, 'data-testid': 'thermal-' + kind },
      icon(kind === 'ok' ? 'ok' : kind === 'info' ? 'print' : 'warn'),
      h('div', {}, h('strong', { class: 'b-title', 'data-testid': 'thermal-title' }, title), body ? h('p', {}, body) : null,
        retry ? btn('reload', t('thermal.again'), { class: 'btn', 'data-testid': 'thermal-retry', onclick: retry }) : null));
    status.replaceChildren(box);
    return box;
  };
  const clear = () => status.replaceChildren();

  let busy = false;
  const buttons = [];
  const setBusy = (on) => { busy = on; for (const b of buttons) b.disabled = on; };

  const done = (r) => {
    printedAt = hhmm(r.printed_at) || printedAt;
    say('ok', t('thermal.printed_at', { time: hhmm(r.printed_at) }),
      r.prints > 1 ? t('thermal.copy_n', { n: r.prints }) : null);
  };

  // A print's error, as the officer reads it: what happened, and what to do before "In lại".
  const failed = (e, retry) => {
    const c = e && e.code;
    const k = PRINTER_ERRORS[c];
    if (k) return say('danger', t(k[0]), t(k[1]), c === 'printer_off' ? null : retry);
    if (c === 'offline' || c === 'timeout') return say('danger', errText(e), t('thermal.err_unsure_do'), retry);
    return say('danger', errText(e), null, retry);
  };

  // ----- on the hub's USB printer -----
  const hubPrint = async (again = false) => {
    if (busy) return;
    const key = uuid(); // one key per tap: a resend of the same request prints once
    setBusy(true);
    say('info', t('thermal.printing'));
    try {
      if (test) {
        const r = await api('POST', base, { profile }, { timeout: 45000 });
        say('ok', t('thermal.test_printed'), t('thermal.test_check', { cm: cm(r.length_mm) }));
        setBusy(false);
        refreshState();
        return;
      }
      const r = await api('POST', `${base}/print`, { via: 'hub', lang: lang(), profile, ...(scheme ? { scheme } : {}), ...(again ? { again: true } : {}) },
        { headers: { 'Idempotency-Key': key }, timeout: 45000 });
      done(r);
      refreshState();
    } catch (e) {
      setBusy(false);
      if (e instanceof ApiError && e.code === 'already_printed') {
        const when = printedAtOf(e) || printedAt;
        if (when) printedAt = when;
        clear();
        if (await ask(when ? t('thermal.again_confirm', { time: when }) : t('thermal.again_confirm_any'), t('thermal.again_yes'), t('ui.cancel'))) {
          return hubPrint(true);
        }
        return;
      }
      failed(e, () => hubPrint(again));
      refreshState();
      return;
    }
    setBusy(false);
  };

  const hubBtn = btn('print', t(test ? 'thermal.test_print_hub' : 'thermal.print_hub'), { class: 'btn primary big', 'data-testid': 'thermal-print', onclick: () => hubPrint(false) });
  const hubState = h('p', { class: 'thermal-state', 'data-testid': 'thermal-hub-state' });
  const hubBox = h('div', { class: 'thermal-hub' }, hubBtn, hubState);
  buttons.push(hubBtn);
  let pollTimer = null;
  let alive = true;
  // The hub printer's state (ready / not found / off); the hub button is hidden when the hub has none set.
  // While the printer is missing, the page looks again every 3 s (it is being plugged in).
  async function refreshState() {
    try { printer = await api('GET', '/api/v1/printer'); } catch (_) { return; }
    const st = printer.state;
    hubBox.hidden = st === 'off';
    hubBox.dataset.state = st;
    hubState.replaceChildren(icon(st === 'ready' ? 'ok' : 'warn'),
      h('span', {}, st === 'ready' ? t('thermal.hub_ready') : t('thermal.hub_absent')));
    hubState.className = 'thermal-state ' + (st === 'ready' ? 'ok' : 'warn');
    clearTimeout(pollTimer);
    if (st === 'absent' && alive) pollTimer = setTimeout(refreshState, 3000);
  }

  // ----- from this phone over Bluetooth -----
  let btBox = null;
  let showForget = () => {};
  if (!window.isSecureContext) {
    const url = state.httpsUrl ? state.httpsUrl.replace(/\/$/, '') + '/' + location.hash : null;
    btBox = h('p', { class: 'help', 'data-testid': 'thermal-bt-https' }, t('thermal.bt_needs_https'), ' ',
      url ? h('a', { href: url, 'data-testid': 'thermal-bt-https-link' }, state.httpsUrl) : null);
  } else if (navigator.bluetooth) {
    const btPrint = async (again = false) => {
      if (busy) return;
      if (printedAt && !again) {
        if (!(await ask(t('thermal.again_confirm', { time: printedAt }), t('thermal.again_yes'), t('ui.cancel')))) return;
        again = true;
      }
      setBusy(true);
      say('info', t('thermal.bt_connecting'));
      let step = 'connect';
      try {
        const p = await connectPrinter();
        step = 'fetch';
        const res = await fetch(`${at('escpos')}?${query()}`, { credentials: 'same-origin', cache: 'no-store' });
        if (!res.ok) {
          let body = null;
          try { body = await res.json(); } catch (_) { /* not JSON */ }
          throw new ApiError(res.status, body);
        }
        const bytes = new Uint8Array(await res.arrayBuffer());
        step = 'write';
        const progress = say('info', t('thermal.bt_sending', { pct: 0 }));
        const title = progress.querySelector('.b-title');
        await writeChunks(p.device, p.char, bytes, (f) => { title.textContent = t('thermal.bt_sending', { pct: Math.round(f * 100) }); });
        step = 'record';
        if (test) say('ok', t('thermal.test_printed'), t('thermal.test_check_bt'));
        else await recordPhonePrint(again);
      } catch (e) {
        setBusy(false);
        showForget();
        btFailed(e, step, () => btPrint(again));
        return;
      }
      setBusy(false);
      showForget();
    };
    // The paper is out: the hub records that this phone printed it. A receipt printed meanwhile elsewhere
    // (the hub answers 409) is recorded as another copy, which is what just happened.
    const recordPhonePrint = async (again) => {
      const send = (a) => api('POST', `${base}/print`, { via: 'phone', lang: lang(), profile, ...(scheme ? { scheme } : {}), ...(a ? { again: true } : {}) },
        { headers: { 'Idempotency-Key': uuid() } });
      let r;
      try { r = await send(again); } catch (e) {
        if (!(e instanceof ApiError && e.code === 'already_printed')) throw e;
        r = await send(true);
      }
      done(r);
    };
    const btFailed = (e, step, retry) => {
      const name = e && e.name;
      if (name === 'NotFoundError' && step === 'connect' && !bt) {
        // The chooser was closed without a printer (none chosen, or none near): a quiet note, no alarm.
        return say('info', t('thermal.bt_cancelled'), t('thermal.bt_cancelled_do'));
      }
      if (step === 'record') {
        return say('warn', t('thermal.bt_not_recorded'), errText(e));
      }
      if (e instanceof ApiError) return failed(e, retry);
      if (name === 'NotSupportedError') { bt = null; return say('danger', t('thermal.bt_unsupported'), t('thermal.bt_unsupported_do')); }
      if (name === 'SecurityError') return say('danger', t('thermal.bt_needs_https'), null);
      // Out of range, switched off, or it dropped the link mid-print.
      if (bt) bt.char = null;
      return say('danger', t(step === 'write' ? 'thermal.bt_lost' : 'thermal.bt_unreachable'), t('thermal.bt_unreachable_do'), retry);
    };
    const b = btn('print', t(test ? 'thermal.test_print_bt' : 'thermal.print_bt'), { class: 'btn big', 'data-testid': 'thermal-print-bt', onclick: () => btPrint(false) });
    buttons.push(b);
    // Shown once a printer is remembered: to print on another one, the chooser again.
    const forget = btn(null, t('thermal.bt_other'), { class: 'btn small ghost', 'data-testid': 'thermal-bt-forget', hidden: !bt,
      onclick: () => { if (bt && bt.device.gatt && bt.device.gatt.connected) bt.device.gatt.disconnect(); bt = null; forget.hidden = true; btPrint(false); } });
    buttons.push(forget);
    showForget = () => { forget.hidden = !bt; };
    btBox = h('div', { class: 'row thermal-bt' }, b, forget);
  } else {
    btBox = h('p', { class: 'help', 'data-testid': 'thermal-bt-none' }, t('thermal.bt_none'));
  }

  const el = h('section', { class: 'card no-print thermal', 'data-testid': 'thermal', 'aria-labelledby': 'thermal-h' },
    h('h2', { id: 'thermal-h' }, icon('print'), t(test ? 'thermal.test_heading' : 'thermal.heading')),
    h('div', { class: 'field' }, h('label', { for: 'thermal-profile' }, t('thermal.profile')), profileSel),
    hubBox, btBox, status,
    h('details', { class: 'thermal-preview-box', open: true },
      h('summary', {}, t('thermal.preview')), preview, previewNote));
  showPreview();
  await refreshState();
  window.addEventListener('hashchange', () => { alive = false; clearTimeout(pollTimer); }, { once: true });
  return { el, refresh: showPreview };
}

/**
 * #/printer: the team checks a printer before a session with the test page (every Vietnamese tone, the
 * minority languages' letters, a ruler across the paper, a QR), on the hub's USB printer or from this
 * phone over Bluetooth; no receipt needed.
 */
export async function printerView(app, _params, _query, ctx) {
  const panel = await thermalPanel({ test: true });
  ctx.show(h('section', { class: 'printer-page' },
    h('h1', {}, t('thermal.page_heading')),
    h('p', { class: 'help' }, t('thermal.test_help')),
    panel.el));
}
