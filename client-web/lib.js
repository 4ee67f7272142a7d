// Shared helpers: session state, DOM building, i18n, API calls, formatting, icons.

// Language codes the user can choose: vi, en, then those added on the hub (see loadLanguages).
export const LANGS = ['vi', 'en'];

export const state = {
  lang: 'vi', strings: {}, fallback: {}, languages: null, audio: {}, audioVi: {}, catKeys: {},
  mode: null, hubName: '', deviceId: '', needsSetup: false, locked: false,
  user: null, csrf: null, procedures: null, offline: false,
};

// ---------- DOM ----------
export function h(tag, attrs, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  add(el, kids);
  return el;
}

// Replaces el's children with kids, skipping null and false as h() does (the DOM's own replaceChildren
// writes a null as the text "null").
export function fill(el, ...kids) {
  el.replaceChildren();
  return add(el, kids);
}

export function add(el, kids) {
  for (const k of kids.flat(Infinity)) {
    if (k == null || k === false) continue;
    el.append(k instanceof Node ? k : String(k));
  }
  return el;
}

export const $ = (sel, root = document) => root.querySelector(sel);

// ---------- icons (inline SVG, stroke style, decorative) ----------
const ICONS = {
  plus: 'M12 5v14M5 12h14',
  save: 'M5 3h11l3 3v15H5zM8 3v6h8V3M8 21v-7h8v7',
  lock: 'M6 11h12v10H6zM9 11V7a3 3 0 0 1 6 0v4',
  camera: 'M4 8h4l2-3h4l2 3h4v12H4zM12 17a3.5 3.5 0 1 0 0-7 3.5 3.5 0 0 0 0 7',
  trash: 'M4 7h16M9 7V4h6v3M6 7l1 14h10l1-14',
  out: 'M10 4H4v16h6M14 8l4 4-4 4M8 12h10',
  print: 'M7 9V3h10v6M7 17H4v-8h16v8h-3M7 14h10v7H7z',
  warn: 'M12 3l10 18H2zM12 10v5M12 18v.5',
  ok: 'M4 12l5 5L20 6',
  back: 'M15 5l-7 7 7 7',
  doc: 'M6 3h9l4 4v14H6zM9 12h7M9 16h7',
  user: 'M12 12a4 4 0 1 0 0-8 4 4 0 0 0 0 8M4 21a8 8 0 0 1 16 0',
  reload: 'M20 11a8 8 0 1 0-2 6M20 4v7h-7',
  globe: 'M12 21a9 9 0 1 0 0-18 9 9 0 0 0 0 18M3 12h18M12 3c3 3 3 15 0 18M12 3c-3 3-3 15 0 18',
  box: 'M3 7l9-4 9 4v10l-9 4-9-4zM3 7l9 4 9-4M12 11v10',
  people: 'M9 11a3.5 3.5 0 1 0 0-7 3.5 3.5 0 0 0 0 7M2 20a7 7 0 0 1 14 0M16 4.5a3.5 3.5 0 0 1 0 6.5M18 14a6 6 0 0 1 4 6',
  qr: 'M4 4h6v6H4zM14 4h6v6h-6zM4 14h6v6H4zM14 14h2v2h-2zM18 18h2v2h-2zM14 18h2M18 14h2',
  play: 'M7 4l13 8-13 8z',
  stop: 'M6 6h12v12H6z',
  mic: 'M12 3a3 3 0 0 0-3 3v6a3 3 0 0 0 6 0V6a3 3 0 0 0-3-3M5 11a7 7 0 0 0 14 0M12 18v3',
  ticket: 'M3 7h18v3a2 2 0 0 0 0 4v3H3v-3a2 2 0 0 0 0-4zM14 7v10',
  tv: 'M3 5h18v12H3zM8 21h8M12 17v4',
  wifi: 'M2 9a15 15 0 0 1 20 0M5 12.5a10 10 0 0 1 14 0M8.5 16a5 5 0 0 1 7 0M12 19.5v.5',
  book: 'M4 4h7a3 3 0 0 1 3 3v13a2 2 0 0 0-2-2H4zM20 4h-5a3 3 0 0 0-3 3',
  cloud: 'M7 18a5 5 0 0 1-.5-10A6 6 0 0 1 18 9a4.5 4.5 0 0 1 0 9z',
};

export function icon(name) {
  const s = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  s.setAttribute('viewBox', '0 0 24 24');
  s.setAttribute('aria-hidden', 'true');
  s.setAttribute('class', 'ic');
  const p = document.createElementNS('http://www.w3.org/2000/svg', 'path');
  p.setAttribute('d', ICONS[name] || '');
  s.append(p);
  return s;
}

// A button with an icon and words. `attrs` go on the <button>.
export function btn(iconName, label, attrs = {}) {
  return h('button', { type: 'button', class: 'btn', ...attrs }, iconName ? icon(iconName) : null, h('span', {}, label));
}

// ---------- i18n ----------
// Vietnamese and English ship with the app (i18n/*.json); further languages are data on the hub
// (GET /api/v1/languages…), with recorded audio prompts per text. A text missing in the chosen language is
// shown in Vietnamese, and the page says how many (state.missing, shown in #lang-note).
async function fetchStatic(lang) {
  const r = await fetch(`i18n/${lang}.json`, { cache: 'no-cache' });
  if (!r.ok) throw new Error('i18n ' + r.status);
  return r.json();
}

// The hub's strings for `lang`: {language, strings, audio: {key: sha256}, catalogue_keys: {vi text: key}}.
async function fetchHubLang(lang) {
  const r = await fetch(`/api/v1/languages/${encodeURIComponent(lang)}/strings`, { cache: 'no-cache' });
  if (!r.ok) throw new Error('i18n ' + r.status);
  return r.json();
}

export async function fetchLang(lang) {
  return lang === 'vi' || lang === 'en' ? fetchStatic(lang) : (await fetchHubLang(lang)).strings;
}

// The languages the hub knows (built-in and added); keeps LANGS in step. Offline: the last list seen.
export async function loadLanguages() {
  let list = null;
  try {
    const r = await fetch('/api/v1/languages', { cache: 'no-cache' });
    if (r.ok) list = (await r.json()).languages;
    if (list) try { localStorage.setItem('ok.languages', JSON.stringify(list)); } catch (_) { /* full */ }
  } catch (_) { /* offline */ }
  if (!list) try { list = JSON.parse(localStorage.getItem('ok.languages') || 'null'); } catch (_) { list = null; }
  state.languages = list && list.length ? list : [
    { code: 'vi', native_name: 'Tiếng Việt', built_in: true, has_script: true, direction: 'ltr' },
    { code: 'en', native_name: 'English', built_in: true, has_script: true, direction: 'ltr' }];
  LANGS.splice(0, LANGS.length, ...state.languages.map((l) => l.code));
  return state.languages;
}

export const langInfo = (code) => (state.languages || []).find((l) => l.code === code) || null;
// A language by its own name ("Xtiêng"), for every language menu.
export const langName = (code) => (langInfo(code) || {}).native_name || { vi: 'Tiếng Việt', en: 'English' }[code] || code;

export async function setLang(lang) {
  // Everything a language needs is asked for at once: one round trip on a slow Wi-Fi, not five.
  // Recordings and catalogue keys come from the hub; without it the app still works, silently.
  const hubOf = (code) => fetchHubLang(code).catch(() => null);
  const [, fallback, hubFirst, hubViFirst, en] = await Promise.all([
    state.languages ? null : loadLanguages(),
    Object.keys(state.fallback).length ? state.fallback : fetchStatic('vi'),
    hubOf(lang),
    lang === 'vi' ? null : hubOf('vi'),
    lang === 'en' ? fetchStatic('en') : null,
  ]);
  state.fallback = fallback;
  let hub = hubFirst;
  if (!LANGS.includes(lang)) { lang = 'vi'; hub = hubViFirst; }
  const hubVi = lang === 'vi' ? hub : hubViFirst;
  if (lang === 'vi') state.strings = state.fallback;
  else if (lang === 'en') state.strings = en;
  else {
    if (!hub) throw new Error('i18n ' + lang);
    state.strings = hub.strings || {};
  }
  state.audio = (hub && hub.audio) || {};
  state.audioVi = (hubVi && hubVi.audio) || {};
  state.catKeys = (hub && hub.catalogue_keys) || (hubVi && hubVi.catalogue_keys) || {};
  state.lang = lang;
  const info = langInfo(lang);
  document.documentElement.lang = lang;
  document.documentElement.dir = (info && info.direction) || 'ltr';
  try { localStorage.setItem('ok.lang', lang); } catch (_) { /* private mode */ }
}

// Texts shown in Vietnamese because the chosen language lacks them, since the last page change.
state.missing = new Set();
let missingTimer = null;
function noteMissing(key) {
  if (state.lang === 'vi' || state.missing.has(key)) return;
  state.missing.add(key);
  if (!missingTimer) missingTimer = setTimeout(renderMissing, 0);
}

export function resetMissing() { state.missing = new Set(); renderMissing(); }

// Fills #lang-note: "N texts are not translated into X yet; shown in Vietnamese".
export function renderMissing() {
  missingTimer = null;
  const el = document.getElementById('lang-note');
  if (!el) return;
  const n = state.missing.size;
  el.replaceChildren();
  el.hidden = !n;
  if (!n) return;
  const info = langInfo(state.lang);
  const name = info ? info.native_name : state.lang;
  const own = state.strings['lang.fallback_note'];
  const msg = (own || state.fallback['lang.fallback_note'] || '').replace('{n}', n).replace('{lang}', name);
  const body = h('span', { class: 'lang-note-body' }, h('span', { 'data-testid': 'lang-fallback-note', lang: own ? state.lang : 'vi' }, msg));
  el.append(icon('warn'), body);
  // Itself untranslated, or recorded: signs and a listen button (noteExtras, lang.js).
  if (!own || state.audio['lang.fallback_note']) import('./lang.js').then((m) => m.noteExtras(body, n, name, !own)).catch(() => {});
}

export function t(key, vars) {
  let s = state.strings[key];
  if (s == null || s === '') {
    s = state.fallback[key];
    if (s != null) noteMissing(key);
  }
  if (s == null) s = key;
  if (vars) s = s.replace(/\{(\w+)\}/g, (m, k) => (vars[k] ?? m));
  return s;
}

// The translation key of a text: a hub text {key, vi, en} carries it; a catalogue Text {vi, en, more} is
// found by its Vietnamese wording.
export function textKey(o) {
  if (!o || typeof o === 'string') return null;
  return o.key || (state.catKeys && state.catKeys[o.vi]) || null;
}

// Pick the current language from a catalogue Text {vi, en, more:{…}} or a hub text {key, vi, en}.
export function txt(o) {
  if (!o) return '';
  if (typeof o === 'string') return o;
  const l = state.lang;
  if (l === 'vi') return o.vi || o.en || '';
  if (l === 'en' && o.en) return o.en;
  if (l !== 'en') {
    const k = textKey(o);
    const s = (k && state.strings[k]) || (o.more && o.more[l]);
    if (s) return s;
  }
  if (o.vi) noteMissing(textKey(o) || o.vi);
  return o.vi || o.en || '';
}
export const tt = txt;

// ---------- API ----------
export class ApiError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.code || 'http_' + status);
    this.status = status;
    this.code = e.code || (status ? 'http_' + status : 'offline');
    this.vi = e.message_vi; this.en = e.message_en;
    this.field = e.field || null;
    this.details = Array.isArray(e.details) ? e.details : [];
  }
}

// Plain words for an error, in the current language.
export function errText(err) {
  if (!(err instanceof ApiError)) return t('err.unexpected');
  if (err.code === 'offline') return t('err.offline');
  if (err.code === 'timeout') return t('err.timeout');
  const m = state.lang === 'en' ? err.en : (state.lang === 'vi' ? err.vi : null);
  return m || err.vi || err.en || t('err.http', { status: err.status });
}

// The hub restarted and waits for an officer to unlock it (its data is encrypted at rest): every API call
// but the public guides and the login answers 503 with this code until then.
export const isLocked = (e) => !!e && e.code === 'hub_locked';

// Per-detail message in the current language.
export function detailText(d) {
  return (state.lang === 'en' ? d.message_en : d.message_vi) || d.message_vi || d.message_en || d.code;
}

const listeners = { offline: [], unauth: [] };
export const on = (ev, fn) => listeners[ev].push(fn);

function setOffline(v) {
  if (state.offline === v) return;
  state.offline = v;
  listeners.offline.forEach((f) => f(v));
}

// The CSRF token asked again (GET /me) when missing (opened offline) or refused: fixed silently, never an
// error. Taken only from the same user's session. Resolves to true when taken.
let csrfFlight = null;
export function refreshCsrf() {
  if (!csrfFlight) {
    const uid = state.user && state.user.id;
    csrfFlight = api('GET', '/api/v1/me', undefined, { quiet401: true, timeout: 8000 })
      .then((me) => {
        if (!me || !me.csrf_token || !me.user || !uid || me.user.id !== uid) return false;
        state.csrf = me.csrf_token;
        return true;
      })
      .catch(() => false)
      .finally(() => { csrfFlight = null; });
  }
  return csrfFlight;
}

export async function api(method, path, body, opts = {}) {
  const headers = { Accept: 'application/json', ...(opts.headers || {}) };
  let payload;
  if (body instanceof FormData) payload = body;
  else if (body !== undefined) { headers['Content-Type'] = 'application/json'; payload = JSON.stringify(body); }
  const unsafe = method !== 'GET' && method !== 'HEAD';
  // Signed in, no token yet (opened offline): ask for it first.
  if (unsafe && state.user && !state.csrf && !opts.csrfRetried) await refreshCsrf();
  const sentCsrf = state.csrf;
  if (unsafe && sentCsrf) headers['X-CSRF-Token'] = sentCsrf;
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), opts.timeout || 20000);
  let res;
  try {
    res = await fetch(path, { method, headers, body: payload, credentials: 'same-origin', cache: 'no-store', signal: ctl.signal });
  } catch (e) {
    setOffline(true);
    throw new ApiError(0, { error: { code: e && e.name === 'AbortError' ? 'timeout' : 'offline' } });
  } finally {
    clearTimeout(timer);
  }
  setOffline(false);
  const text = await res.text().catch(() => '');
  let data = null;
  if (text) { try { data = JSON.parse(text); } catch (_) { data = null; } }
  if (!res.ok) {
    const err = new ApiError(res.status, data);
    // A stale token: take the session's current one and send again, once.
    if (res.status === 403 && err.code === 'csrf' && unsafe && state.user && !opts.csrfRetried &&
        (await refreshCsrf()) && state.csrf !== sentCsrf) {
      return api(method, path, body, { ...opts, csrfRetried: true });
    }
    if (res.status === 401 && err.code === 'unauthenticated' && !opts.quiet401) listeners.unauth.forEach((f) => f());
    throw err;
  }
  return data;
}

export function uuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
  const x = [...b].map((v) => v.toString(16).padStart(2, '0')).join('');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

// ---------- catalogue ----------
// Read again after 5 minutes: a sync may have brought a new procedure package from the office.
export async function procedures() {
  if (state.procedures && (state.offline || Date.now() - (state.proceduresAt || 0) < 300000)) return state.procedures;
  try {
    const r = await api('GET', '/api/v1/procedures');
    state.proceduresAt = Date.now();
    state.procedures = r.procedures || [];
    state.inForce = r.in_force || null;
    state.hubCommune = r.hub_commune || null;
    try {
      localStorage.setItem('ok.procedures', JSON.stringify({ procedures: state.procedures, in_force: state.inForce, hub_commune: state.hubCommune }));
    } catch (_) { /* full */ }
  } catch (e) {
    if (state.procedures) return state.procedures;
    // Offline: the catalogue holds no personal data, a cached copy is fine.
    const c = localStorage.getItem('ok.procedures');
    if (!c) throw e;
    const cached = JSON.parse(c);
    state.procedures = Array.isArray(cached) ? cached : cached.procedures || [];
    state.inForce = Array.isArray(cached) ? null : cached.in_force || null;
    state.hubCommune = Array.isArray(cached) ? null : cached.hub_commune || null;
  }
  return state.procedures;
}

// The procedures a new draft can start: per procedure, the version in force today (the hub says which;
// without that word, the highest version).
export function currentProcedures() {
  const all = state.procedures || [];
  if (state.inForce) return state.inForce.map((r) => findProc(r)).filter(Boolean);
  const best = new Map();
  for (const p of all) if (!best.has(p.id) || best.get(p.id).version < p.version) best.set(p.id, p);
  return [...best.values()];
}

export function findProc(ref) {
  if (!ref || !state.procedures) return null;
  return state.procedures.find((p) => p.id === ref.id && (ref.version == null || p.version === ref.version)) ||
    null;
}

export const procTitle = (ref) => { const p = findProc(ref); return p ? txt(p.title) : (ref ? ref.id : ''); };

// ---------- formatting ----------
// Day first, 24-hour clock, local time: "23/11/2026 09:24" reads the same in Vietnamese and English.
export function fmtTime(s) {
  if (!s) return '';
  const d = new Date(s);
  if (isNaN(d)) return s;
  const p = (n) => String(n).padStart(2, '0');
  return `${p(d.getDate())}/${p(d.getMonth() + 1)}/${d.getFullYear()} ${p(d.getHours())}:${p(d.getMinutes())}`;
}

// YYYY-MM-DD → dd/mm/yyyy (Vietnamese paper forms use day first; so does en-GB).
export function fmtDate(s) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s || '');
  return m ? `${m[3]}/${m[2]}/${m[1]}` : (s || '');
}

export function fmtSize(n) {
  if (n == null) return '';
  return n < 1024 * 1024 ? `${Math.max(1, Math.round(n / 1024))} KB` : `${(n / 1048576).toFixed(1)} MB`;
}

export function todayISO() {
  const d = new Date();
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

// ---------- small UI pieces ----------
export function banner(kind, title, body, attrs = {}) {
  return h('div', { class: `banner ${kind}`, ...attrs },
    icon(kind === 'ok' ? 'ok' : 'warn'),
    h('div', {}, title ? h('strong', { class: 'b-title' }, title) : null, body ? h('p', {}, body) : null));
}

export function flash(msg, kind = 'err') {
  const f = $('#flash');
  f.replaceChildren();
  if (!msg) { f.hidden = true; return; }
  f.className = `flash no-print ${kind}`;
  add(f, [icon(kind === 'ok' ? 'ok' : 'warn'), h('span', { class: 'grow' }, msg),
    h('button', { type: 'button', class: 'btn small ghost', onclick: () => flash(null) }, t('ui.close'))]);
  f.hidden = false;
  if (kind === 'err') f.scrollIntoView({ block: 'nearest' });
}

// In-page confirmation (big buttons, no native dialog). Resolves to true on "yes".
export function ask(text, yesLabel, noLabel) {
  const d = $('#ask');
  $('#ask-text').textContent = text;
  $('#ask-yes').textContent = yesLabel || t('ui.yes');
  $('#ask-no').textContent = noLabel || t('ui.no');
  return new Promise((resolve) => {
    d.addEventListener('close', () => resolve(d.returnValue === 'yes'), { once: true });
    d.returnValue = '';
    if (d.showModal) d.showModal(); else resolve(window.confirm(text));
  });
}

// A stylesheet kept out of app.css (which the capture path downloads), loaded once when a page needs it;
// resolves when it is applied (or failed: the page still works unstyled).
export function loadStyles(name) {
  const have = document.querySelector(`link[data-css="${name}"]`);
  if (have) return have.ready || Promise.resolve();
  const l = h('link', { rel: 'stylesheet', href: `${name}.css`, 'data-css': name });
  l.ready = new Promise((r) => { l.addEventListener('load', r); l.addEventListener('error', r); });
  document.head.append(l);
  return l.ready;
}

// Navigate; re-render when already there.
export function go(hash) {
  if (location.hash === hash) window.dispatchEvent(new HashChangeEvent('hashchange'));
  else location.hash = hash;
}

export const roleName = (r) => t('role.' + r);
export const can = (...roles) => !!state.user && roles.includes(state.user.role);

// ---------- receipt codes ----------
// A receipt code or tracking key as typed: 14 digits in groups of four (issued now), or, on slips printed
// before digit codes, 9 letters and digits (e.g. GRW7-M2JC-F). The hub reads both leniently (spaces,
// hyphens, dots, full-width characters, case, O for 0 and I/L for 1: docs/protocol.md §6). The pattern
// lets through 9 or 14 such symbols among separators and stops anything else before it is sent.
const CODE_SEP = '[\\s.\\-\\u2010-\\u2015\\u2212\\uff0d\\uff0e]*';
const CODE_SYM = '[0-9A-Za-z\\uff10-\\uff19\\uff21-\\uff3a\\uff41-\\uff5a]';
export const CODE_PATTERN = `${CODE_SEP}(?:${CODE_SYM}${CODE_SEP}){9}(?:(?:${CODE_SYM}${CODE_SEP}){5})?`;
export const CODE_EXAMPLE = '0576 4731 3978 80';

// An input for a receipt code or tracking key: the phone's numeric keypad, the pattern above.
export function codeInput(attrs) {
  return h('input', { type: 'text', inputmode: 'numeric', pattern: CODE_PATTERN, autocomplete: 'off',
    autocapitalize: 'characters', spellcheck: 'false', placeholder: CODE_EXAMPLE, ...attrs });
}

// For a slip printed before digit codes: its codes have letters, which the numeric keypad cannot type.
// The button gives `inputs` the full keyboard, and back; its words say what a tap does next.
export function lettersToggle(inputs, attrs = {}) {
  const label = h('span', {}, t('receipt.code_letters'));
  const b = h('button', { type: 'button', class: 'btn small', 'data-letters': 'off', ...attrs }, label);
  b.addEventListener('click', () => {
    const on = b.dataset.letters !== 'on';
    b.dataset.letters = on ? 'on' : 'off';
    label.textContent = t(on ? 'receipt.code_digits' : 'receipt.code_letters');
    for (const i of inputs) i.setAttribute('inputmode', on ? 'text' : 'numeric');
    if (inputs[0]) inputs[0].focus();
  });
  return b;
}
