// Entry point: boot, hash router, header, and the account screens (setup, login, users).
import {
  state, h, $, t, api, setLang, go, LANGS, langName, loadStyles, errText, flash, on, btn, icon, roleName, can, banner, ask, resetMissing, isLocked,
} from './lib.js';

// Each language by its own name: langName (lib.js; added languages come from the hub, see loadLanguages).
const ROLES = { field: ['officer', 'volunteer', 'admin'], office: ['clerk', 'admin'] };

const field = () => import('./field.js');
const office = () => import('./office.js');

const VIEWS = {
  setup: setupView,
  login: loginView,
  users: usersView,
  // My account: change my password, log out everywhere (account.js).
  account: async (...a) => (await import('./account.js')).accountView(...a),
  home: async (...a) => (state.mode === 'office' ? (await office()).officeList(...a) : (await field()).fieldHome(...a)),
  draft: async (...a) => (await field()).draftView(...a),
  receipt: async (...a) => (await field()).receiptView(...a),
  odossier: async (...a) => (await office()).officeDossier(...a),
  imports: async (...a) => (await office()).importsView(...a),
  // Joining the hub (team): Wi-Fi and app QR codes, installing the hub's certificate authority.
  join: async (...a) => (await import('./join.js')).joinView(...a),
  // Outreach sessions, tickets, services rendered (team) and the queue board (public, for a TV).
  sessions: async (...a) => (await import('./outreach.js')).sessionsView(...a),
  session: async (...a) => (await import('./outreach.js')).sessionView(...a),
  board: async (...a) => (await import('./board.js')).boardView(...a),
  // Further languages and recorded audio prompts (admin / bilingual team member).
  languages: async (...a) => (await import('./lang.js')).languagesView(...a),
  language: async (...a) => (await import('./lang.js')).languageView(...a),
  front: async (...a) => (await import('./front.js')).frontView(...a),
  // Public procedure guides, a villager's pre-declaration, and a receipt's status by its QR.
  guides: async (...a) => (await import('./guide.js')).guidesView(...a),
  guide: async (...a) => (await import('./guide.js')).guideView(...a),
  predeclare: async (...a) => (await import('./selfservice.js')).predeclareView(...a),
  status: async (...a) => (await import('./selfservice.js')).statusView(...a),
  slip: async (...a) => (await import('./slip.js')).slipView(...a),
  printer: async (...a) => (await import('./thermal.js')).printerView(...a),
  // Sync with the office: pairing (both hubs), devices (office), upload progress (field), status news.
  pairing: async (...a) => (await import('./pairing.js')).pairingView(...a),
  devices: async (...a) => (await import('./pairing.js')).devicesView(...a),
  sync: async (...a) => (await import('./sync.js')).syncView(...a),
  quarantine: async (...a) => (await import('./quarantine.js')).quarantineView(...a),
  news: async (...a) => (await import('./news.js')).newsView(...a),
  // The commune office at work: reconciliation ledger and duplicates, casework lists with deadlines,
  // exports for the downstream systems, session and period reports.
  ledger: async (...a) => (await import('./ledger.js')).ledgerView(...a),
  duplicates: async (...a) => (await import('./ledger.js')).duplicatesView(...a),
  work: async (...a) => (await import('./casework.js')).workView(...a),
  // The official forms on A4, filled in (print.js).
  printform: async (...a) => (await import('./print.js')).printView(...a),
  exports: async (...a) => (await import('./exports.js')).exportsView(...a),
  procedures: async (...a) => (await import('./procedures.js')).proceduresView(...a),
  reports: async (...a) => (await import('./reports.js')).reportsView(...a),
  sreport: async (...a) => (await import('./reports.js')).sessionReportView(...a),
};

const ROUTES = [
  [/^\/setup$/, 'setup', false],
  [/^\/login$/, 'login', false],
  [/^\/$/, 'home', true],
  [/^\/draft\/([^/]+)$/, 'draft', true],
  [/^\/receipt\/([^/]+)$/, 'receipt', true],
  [/^\/office\/dossier\/([^/]+)$/, 'odossier', true],
  [/^\/office\/imports$/, 'imports', true],
  [/^\/users$/, 'users', true],
  [/^\/account$/, 'account', true],
  [/^\/join$/, 'join', true],
  [/^\/sessions$/, 'sessions', true],
  [/^\/sessions\/([^/]+)$/, 'session', true],
  [/^\/board$/, 'board', false],
  [/^\/languages$/, 'languages', true],
  [/^\/languages\/([^/]+)$/, 'language', true],
  [/^\/front$/, 'front', false],
  [/^\/front\/(choose|request|receipt)$/, 'front', false],
  [/^\/guides$/, 'guides', false],
  [/^\/guides\/([^/]+)$/, 'guide', false],
  [/^\/predeclare\/([^/]+)$/, 'predeclare', false],
  [/^\/r\/([^/]+)$/, 'status', false],
  [/^\/slip\/([^/]+)$/, 'slip', true],
  [/^\/printer$/, 'printer', true],
  [/^\/pairing$/, 'pairing', true],
  [/^\/office\/devices$/, 'devices', true],
  [/^\/sync$/, 'sync', true],
  [/^\/office\/quarantine$/, 'quarantine', true],
  [/^\/news$/, 'news', true],
  [/^\/office\/ledger$/, 'ledger', true],
  [/^\/office\/duplicates$/, 'duplicates', true],
  [/^\/office\/work$/, 'work', true],
  [/^\/office\/print\/([^/]+)$/, 'printform', true],
  [/^\/office\/exports$/, 'exports', true],
  [/^\/office\/procedures$/, 'procedures', true],
  [/^\/office\/reports$/, 'reports', true],
  [/^\/office\/reports\/session\/([^/]+)\/([^/]+)$/, 'sreport', true],
];


let navSeq = 0;
let afterFlash = null;

export async function route() {
  const seq = ++navSeq;
  const app = $('#app');
  const ctx = {
    alive: () => seq === navSeq,
    // Swap the view in only if the user has not navigated away meanwhile.
    show: (...nodes) => { if (seq === navSeq) app.replaceChildren(...nodes.flat()); return seq === navSeq; },
  };
  const raw = location.hash.replace(/^#/, '') || '/';
  const [path, qs] = raw.split('?');
  const query = new URLSearchParams(qs || '');
  let m = null;
  for (const [re, name, auth] of ROUTES) {
    const x = re.exec(path);
    if (x) { m = { name, auth, params: x.slice(1).map(decodeURIComponent) }; break; }
  }
  if (!m) { location.replace('#/'); return; }
  // A visitor at a field hub's address: the villagers' front door (a team phone, ME_KEY: the login).
  if (m.name === 'home' && !state.user && state.mode === 'field' && !teamPhone()) m = { name: 'front', auth: false, params: [] };
  flash(null);
  // A word for the page that comes next (e.g. "the hub is unlocked" after the login that unlocked it).
  if (afterFlash) { flash(afterFlash, 'ok'); afterFlash = null; }
  header(m.name);
  // Who is signed in, for the few things only some roles can act on (app.css: a volunteer is not shown
  // the red "not protected" warnings, which only the hub's admin or officer can resolve by pairing).
  document.documentElement.dataset.role = (state.user && state.user.role) || '';
  secureNotice();
  // The hub's clock: a banner when it looks wrong (clock.js), with the one-tap confirmation.
  import('./clock.js').then((c) => c.clockNotice()).catch(() => {});
  if (state.user && !state.mustChange && state.mode === 'field') import('./outbox.js').then((o) => o.start()).catch(() => {});
  if (m.auth && !state.user) {
    try { sessionStorage.setItem('ok.after', '#' + raw); } catch (_) { /* ignore */ }
    location.replace('#/login');
    return;
  }
  // An admin reset this user's password: a new one first (account.js).
  if (state.user && state.mustChange && m.name !== 'account') {
    location.replace('#/account');
    return;
  }
  if (state.mode === 'office' && (m.name === 'draft' || m.name === 'receipt')) {
    location.replace('#/');
    return;
  }
  app.replaceChildren(h('p', { class: 'loading' }, t('ui.loading')));
  window.scrollTo(0, 0);
  try {
    await VIEWS[m.name](app, m.params, query, ctx);
  } catch (e) {
    if (!ctx.alive()) return;
    if (e && e.status === 401) return; // handled by the unauth listener
    if (isLocked(e)) (await lockedMod()).lockedWait(ctx, m.auth, async () => { await loadHub(); }, route);
    else {
      if (!(e && e.status != null)) console.error(e && e.message); // programming error; no data logged
      ctx.show(h('section', {}, h('h1', { tabindex: '-1' }, t('err.title')),
        banner('warn', errText(e), e && e.code === 'offline' ? t('err.offline_hint') : null, { 'data-testid': 'view-error' }),
        btn('reload', t('ui.retry'), { class: 'btn primary', onclick: () => route() })));
    }
  }
  if (ctx.alive()) {
    const h1 = app.querySelector('h1');
    if (h1) { h1.setAttribute('tabindex', '-1'); h1.focus({ preventScroll: true }); }
  }
}

// ---------- locked hub ----------
// The locked hub's screens live in locked.js, fetched only when a hub is locked (the capture path's budget).
const lockedMod = () => import('./locked.js');

// ---------- header ----------
// One slim bar on a phone: the menu button, the hub's name with who is signed in, the language. The pages
// and "log out" open from the menu button; wider screens show them as a row under the bar (app.css).
function header(current) {
  // The office's styles (office.css): not in app.css, which every phone on the capture path downloads.
  if (state.mode === 'office') loadStyles('office');
  document.title = `${state.hubName || t('app.name')} — ${t('app.name')}`;
  $('#hub-name').textContent = state.hubName || t('app.name');
  $('#hub-mode').textContent = state.mode ? t('mode.' + state.mode) : '';
  resetMissing();
  langChooser();
  menu(false);
  const who = $('#who');
  who.replaceChildren();
  if (state.user) who.append(icon('user'), h('span', { 'data-testid': 'who' }, `${state.user.name} · ${roleName(state.user.role)}`));
  const lo = $('#logout');
  lo.hidden = !state.user;
  lo.replaceChildren(icon('out'), h('span', {}, t('auth.logout')));
  const nav = $('#nav');
  nav.replaceChildren();
  nav.setAttribute('aria-label', t('nav.menu'));
  const toggle = $('#menu-toggle');
  toggle.hidden = !state.user;
  $('#menu-label').textContent = t('nav.menu');
  if (!state.user) { nav.hidden = true; return; }
  const items = state.mode === 'office'
    ? [['#/', 'nav.received', 'home', 'box'], ['#/office/work', 'nav.work', 'work', 'ticket'], ['#/office/ledger', 'nav.ledger', 'ledger', 'book'],
      ['#/office/exports', 'nav.exports', 'exports', 'save'], ['#/office/reports', 'nav.reports', 'reports', 'people'],
      ['#/office/imports', 'nav.imports', 'imports', 'doc'], ['#/office/procedures', 'nav.procedures', 'procedures', 'book'],
      ['#/office/devices', 'nav.devices', 'devices', 'wifi']]
    : [['#/', 'nav.dossiers', 'home', 'doc'], ['#/sessions', 'nav.sessions', 'sessions', 'people'], ['#/news', 'nav.news', 'news', 'book'], ['#/sync', 'nav.sync', 'sync', 'cloud'], ['#/join', 'nav.join', 'join', 'qr'], ['#/printer', 'nav.printer', 'printer', 'print']];
  if (can('admin')) items.push(['#/users', 'nav.users', 'users', 'user']);
  items.push(['#/languages', 'nav.languages', 'languages', 'globe']);
  items.push(['#/account', 'nav.account', 'account', 'lock']);
  for (const [href, key, name, ic] of items) {
    nav.append(h('a', { href, 'aria-current': name === current ? 'page' : null, 'data-testid': 'nav-' + name }, icon(ic), h('span', {}, t(key))));
  }
  nav.hidden = false;
}

// Opens or closes the phone's menu (a drop-down under the bar; on wider screens CSS always shows it).
function menu(open) {
  $('#menu').classList.toggle('open', open);
  $('#menu-toggle').setAttribute('aria-expanded', String(open));
}
function menuWiring() {
  const toggle = $('#menu-toggle');
  const isOpen = () => $('#menu').classList.contains('open');
  toggle.addEventListener('click', () => {
    menu(!isOpen());
    if (isOpen()) ($('#nav [aria-current=page]') || $('#nav a') || toggle).focus({ preventScroll: true });
  });
  // A tap on a page closes it, even on the page already shown; so do Escape and a tap outside.
  $('#nav').addEventListener('click', (ev) => { if (ev.target.closest('a')) menu(false); });
  document.addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape' && isOpen()) { menu(false); toggle.focus(); }
  });
  document.addEventListener('click', (ev) => {
    if (isOpen() && !ev.target.closest('#menu, #menu-toggle')) menu(false);
  });
}

// Two languages: one tap switches. More (added on the hub): a menu (native <select>: keyboard and screen
// reader friendly, a big native picker on phones) listing every language by its own name.
function langChooser() {
  const lt = $('#lang-toggle');
  let menu = $('#lang-menu');
  if (!$('#lang-note')) $('#top').append(h('div', { id: 'lang-note', class: 'lang-note', role: 'status', hidden: true }));
  if (LANGS.length <= 2) {
    if (menu) menu.hidden = true;
    lt.hidden = false;
    const next = LANGS[(LANGS.indexOf(state.lang) + 1) % LANGS.length];
    // A phone shows the language's code (EN) in its slim header, a wider screen its name.
    const short = window.matchMedia('(max-width: 47.99rem)').matches ? next.toUpperCase() : '';
    lt.replaceChildren(icon('globe'), h('span', { lang: next }, short || langName(next)));
    // The accessible name contains the visible text (WCAG 2.5.3 "label in name").
    lt.setAttribute('aria-label', `${t('lang.label')}: ${langName(next)}${short ? `, ${short}` : ''}`);
    return;
  }
  lt.hidden = true;
  if (!menu) {
    const sel = h('select', { id: 'lang-select', 'data-testid': 'lang-menu', onchange: async (ev) => {
      try { await setLang(ev.target.value); } catch (e) { flash(errText(e)); return; }
      route();
    } });
    menu = h('label', { id: 'lang-menu', class: 'lang-menu' }, icon('globe'), h('span', { class: 'sr' }, ''), sel);
    lt.after(menu);
  }
  menu.hidden = false;
  menu.querySelector('.sr').textContent = t('lang.label');
  const sel = menu.querySelector('select');
  sel.replaceChildren(...LANGS.map((c) => h('option', { value: c, lang: c, selected: c === state.lang }, langName(c))));
  sel.value = state.lang;
}

// ---------- hub and session ----------
function applyMe(me) {
  state.user = me.user;
  state.csrf = me.csrf_token;
  state.mustChange = !!me.must_change_password;
  state.mode = me.mode || state.mode;
  state.hubName = me.hub_name || state.hubName;
  state.deviceId = me.device_id || state.deviceId;
  // Who is signed in on this phone, so the app can open (and show this user's drafts kept on the phone)
  // when the hub is out of reach. No token: saving needs the hub again anyway.
  try {
    if (me.user) localStorage.setItem(ME_KEY, JSON.stringify({ user: me.user, mode: state.mode, hub_name: state.hubName, device_id: state.deviceId }));
  } catch (_) { /* private mode */ }
}
const ME_KEY = 'ok.me';
const teamPhone = () => { try { return !!localStorage.getItem(ME_KEY); } catch (_) { return false; } };

async function loadMe() {
  try {
    applyMe(await api('GET', '/api/v1/me', undefined, { quiet401: true }));
  } catch (e) {
    if (e.status !== 401 && e.code !== 'https_required') throw e;
    state.user = null; state.csrf = null;
  }
}

// The hub, the setup state and who is signed in, asked all at once (one round trip on a slow Wi-Fi).
async function loadHub() {
  const who = api('GET', '/api/v1/me', undefined, { quiet401: true }).catch((e) => {
    // Plain HTTP from another machine: the villagers' side; team work is on the HTTPS address.
    if (e.status === 401 || e.code === 'https_required') return null;
    // Locked after a restart: nobody is signed in until an officer unlocks it.
    if (isLocked(e)) return null;
    throw e;
  });
  const [hz, s, me] = await Promise.all([api('GET', '/healthz'), api('GET', '/api/v1/setup'), who]);
  state.hubName = hz.name || '';
  state.deviceId = hz.device_id || '';
  state.mode = s.mode || hz.mode;
  state.needsSetup = !!s.needs_setup;
  state.locked = !!s.locked;
  // Both must agree: the hub (TLS, or this very machine) and the browser (a Secure cookie is kept only in a
  // secure context: http://<name> mapped to 127.0.1.1 is loopback to the hub but not to the browser).
  state.secure = s.secure !== false && window.isSecureContext;
  state.httpsUrl = s.https_url || null;
  state.caSha256 = s.ca_sha256 || null;
  // Users added on the command line can log in before any admin exists.
  if (me) applyMe(me);
  else { state.user = null; state.csrf = null; }
}

// Session established by login or setup.
async function signedIn(r) {
  state.user = r.user;
  state.csrf = r.csrf_token;
  state.needsSetup = false;
  state.procedures = null;
  try { await loadMe(); } catch (_) { /* keep what login gave */ }
}

function offlineBar(off) {
  const bar = $('#offline');
  bar.replaceChildren();
  bar.hidden = !off;
  if (!off) return;
  bar.append(icon('warn'), h('span', { class: 'grow', 'data-testid': 'offline-bar' }, t('err.offline')),
    btn('reload', t('ui.retry'), { class: 'btn small', onclick: recheck }));
}

let recheckTimer = null;
async function recheck() {
  try {
    const wasReady = state.mode != null;
    await api('GET', '/healthz', undefined, { timeout: 8000 });
    if (state.user && !state.csrf) await loadMe(); // opened offline: get a fresh session token
    // Back online. Re-render only a screen that could not load; never one the user is typing in.
    if (!wasReady) { await loadHub(); route(); } else if ($('[data-testid=view-error]')) route();
  } catch (_) { /* still offline; the bar stays */ }
}

// ---------- setup ----------
function setupNeeded() {
  return h('section', {}, h('h1', {}, t('setup.title')), banner('warn', t('setup.needs_link'), t('setup.needs_link_hint')));
}

function fieldRow(id, label, input, hint) {
  return h('div', { class: 'field' }, h('label', { for: id }, label), hint ? h('p', { class: 'help' }, hint) : null, input);
}

function passwordFields(prefix) {
  return [
    fieldRow(`${prefix}-password`, t('auth.password'),
      h('input', { id: `${prefix}-password`, name: 'password', type: 'password', required: true, minlength: '8', autocomplete: 'new-password', 'data-testid': `${prefix}-password` }),
      t('auth.password_rule')),
    fieldRow(`${prefix}-password2`, t('auth.password_again'),
      h('input', { id: `${prefix}-password2`, name: 'password2', type: 'password', required: true, minlength: '8', autocomplete: 'new-password', 'data-testid': `${prefix}-password2` })),
  ];
}

// Returns an error text when the two password boxes are not acceptable.
function checkPasswords(form) {
  const p = form.password.value;
  if (p.length < 8) return t('auth.password_rule');
  if (p !== form.password2.value) return t('auth.password_mismatch');
  return null;
}

function formError(form, msg) {
  let el = form.querySelector('.form-err');
  if (!el) { el = h('p', { class: 'form-err', role: 'alert', 'data-testid': 'form-error' }); form.prepend(el); }
  el.replaceChildren();
  el.hidden = !msg;
  if (msg) el.append(icon('warn'), h('span', {}, msg));
}

async function setupView(app, _p, q, ctx) {
  const token = q.get('token') || '';
  const s = await api('GET', '/api/v1/setup');
  state.needsSetup = !!s.needs_setup;
  state.mode = s.mode || state.mode;
  header('setup');
  if (!s.needs_setup) {
    ctx.show(h('section', {}, h('h1', {}, t('setup.title')), banner('ok', t('setup.done_already'), null),
      h('a', { class: 'btn primary', href: '#/login' }, t('auth.login'))));
    return;
  }
  if (!token) { ctx.show(setupNeeded()); return; }
  if (s.secure === false || !window.isSecureContext) {
    ctx.show(h('section', { class: 'narrow' }, h('h1', {}, t('setup.title')), secureLoginCard(`#/setup?token=${encodeURIComponent(token)}`, s.https_url, s.ca_sha256)));
    return;
  }
  const form = h('form', { class: 'card form', 'data-testid': 'setup-form', novalidate: true },
    fieldRow('setup-name', t('auth.admin_name'),
      h('input', { id: 'setup-name', name: 'name', required: true, autocomplete: 'username', autocapitalize: 'none', 'data-testid': 'setup-name' }),
      t('auth.name_hint')),
    passwordFields('setup'),
    h('button', { type: 'submit', class: 'btn primary big', 'data-testid': 'setup-submit' }, icon('ok'), h('span', {}, t('setup.submit'))));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const name = form.name.value.normalize('NFC').trim();
    const bad = !name ? t('auth.name_needed') : checkPasswords(form);
    if (bad) { formError(form, bad); return; }
    formError(form, null);
    const b = form.querySelector('[type=submit]');
    b.disabled = true;
    try {
      await signedIn(await api('POST', '/api/v1/setup', { token, name, password: form.password.value }));
      location.replace('#/');
    } catch (e) {
      formError(form, errText(e));
    } finally { b.disabled = false; }
  });
  ctx.show(h('section', {}, h('h1', {}, t('setup.title')), h('p', { class: 'lead' }, t('setup.intro', { mode: t('mode.' + state.mode) })), form));
}

// ---------- login ----------
async function loginView(app, _p, _q, ctx) {
  // Signed in already; but on a locked hub (a page left open across a restart) the officer logs in again
  // to unlock it.
  if (state.user && !state.locked) { location.replace('#/'); return; }
  const locked = state.locked ? await lockedMod() : null;
  const lockNote = locked ? locked.lockedBanner() : null;
  // Unlocked by someone else meanwhile: the note goes, whatever is typed stays.
  if (lockNote) locked.watchUnlock(ctx, () => lockNote.remove());
  if (state.secure === false) {
    let after = '#/';
    try { after = sessionStorage.getItem('ok.after') || '#/'; } catch (_) { /* ignore */ }
    ctx.show(h('section', { class: 'narrow' }, h('h1', {}, t('auth.login_title')), lockNote, secureLoginCard(after, state.httpsUrl, state.caSha256)));
    return;
  }
  const form = h('form', { class: 'card form', 'data-testid': 'login-form', novalidate: true },
    fieldRow('login-name', t('auth.name'),
      h('input', { id: 'login-name', name: 'name', required: true, autocomplete: 'username', autocapitalize: 'none', 'data-testid': 'login-name' })),
    fieldRow('login-password', t('auth.password'),
      h('input', { id: 'login-password', name: 'password', type: 'password', required: true, autocomplete: 'current-password', 'data-testid': 'login-password' })),
    h('button', { type: 'submit', class: 'btn primary big', 'data-testid': 'login-submit' }, icon('ok'), h('span', {}, t('auth.login'))));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const name = form.name.value.normalize('NFC').trim();
    if (!name || !form.password.value) { formError(form, t('auth.fill_both')); return; }
    formError(form, null);
    const b = form.querySelector('[type=submit]');
    b.disabled = true;
    try {
      const r = await api('POST', '/api/v1/login', { name, password: form.password.value }, { quiet401: true });
      // An officer's or admin's login unlocks a locked hub; said once the next page is up.
      const unlocked = state.locked;
      state.locked = false;
      await signedIn(r);
      let after = '#/';
      try { after = sessionStorage.getItem('ok.after') || '#/'; sessionStorage.removeItem('ok.after'); } catch (_) { /* ignore */ }
      if (unlocked) afterFlash = t('locked.unlocked');
      location.replace(after.startsWith('#/login') || after.startsWith('#/setup') ? '#/' : after);
    } catch (e) {
      // Locked, and this account cannot unlock it (a volunteer): wait for an officer.
      if (isLocked(e) && !$('[data-testid=locked-banner]')) { state.locked = true; form.before((await lockedMod()).lockedBanner()); }
      formError(form, isLocked(e) ? t('locked.login_refused') : errText(e));
    } finally { b.disabled = false; }
  });
  ctx.show(h('section', { class: 'narrow' }, h('h1', {}, t('auth.login_title')), lockNote,
    state.needsSetup ? banner('info', t('setup.needs_link'), t('setup.needs_link_hint')) : null,
    h('p', { class: 'lead' }, t('auth.login_intro', { hub: state.hubName || t('app.name'), mode: state.mode ? t('mode.' + state.mode) : '' })), form));
}

async function logout() {
  if (state.mode === 'field' && state.user) {
    // Send what the hub does not have yet, then clear this user's copies from the (shared) phone.
    flash(t('outbox.logout_sending'), 'ok');
    const left = await (await import('./outbox.js')).beforeLogout().catch(() => 0);
    flash(null);
    if (left && !(await ask(t('outbox.logout_pending', { n: left }), t('auth.logout'), t('ui.cancel')))) { go('#/'); return; }
  }
  try { await api('POST', '/api/v1/logout', {}); } catch (e) {
    if (e.status !== 401 && e.code !== 'offline') { flash(errText(e)); return; }
  }
  state.user = null; state.csrf = null; state.procedures = null;
  try { localStorage.removeItem(ME_KEY); } catch (_) { /* ignore */ }
  go('#/login');
}

// Plain HTTP from another machine (the wall QR, the villagers' address): passwords and session cookies
// never travel here. The team goes to the hub's HTTPS address, carrying where they were going; a phone's
// first time, it takes the hub's certificate (/ca.crt), checked against the fingerprint on the hub's
// poster or screen. The fingerprint is shown here too, in groups of four bytes for reading aloud, but this
// page came over plain HTTP (anyone could fake it), so the text says to compare with the hub's screen or
// the printed join sheet, not with this page.
function fpGroups(fp) {
  const pairs = String(fp).split(':');
  const out = [];
  // Each group keeps its trailing colon: the text (and a copy of it) stays exactly the fingerprint.
  for (let i = 0; i < pairs.length; i += 4) out.push(h('span', { class: 'fp-group' }, pairs.slice(i, i + 4).join(':') + (i + 4 < pairs.length ? ':' : '')));
  return out;
}

function secureLoginCard(after, httpsUrl, caSha256) {
  if (!httpsUrl) return banner('warn', t('secure.https_off'), t('secure.https_off_hint'), { 'data-testid': 'secure-login-off' });
  // Its "#/" is the villagers' front door.
  const target = httpsUrl.replace(/\/$/, '') + '/' + (after.startsWith('#') && after !== '#/' ? after : '#/login');
  return h('div', { class: 'card', 'data-testid': 'secure-login' },
    h('p', { class: 'lead' }, t('secure.login_https')),
    h('a', { class: 'btn primary big', href: target, 'data-testid': 'secure-login-go' }, icon('lock'), h('span', {}, t('secure.login_go'))),
    h('p', { class: 'mono', 'data-testid': 'secure-login-url' }, httpsUrl),
    h('p', { class: 'hint' }, t('secure.first_time'), ' ',
      h('a', { href: '/ca.crt', download: 'hub-ca.crt', 'data-testid': 'secure-login-ca' }, t('secure.get_ca'))),
    caSha256 ? h('div', { class: 'secure-fp' },
      h('p', { class: 'hint' }, t('secure.fp_label')),
      h('p', { class: 'mono fp', 'data-testid': 'secure-login-fp', 'aria-label': caSha256 }, fpGroups(caSha256)),
      h('p', { class: 'hint', 'data-testid': 'secure-login-fp-where' }, t('secure.fp_compare'))) : null);
}

// Plain HTTP (villagers' phones, or a team phone without the hub's certificate): no offline app, camera
// and microphone only through the phone's own apps. Say so; never fail silently.
function secureNotice() {
  const el = $('#insecure');
  el.replaceChildren();
  el.hidden = window.isSecureContext || !state.user;
  if (el.hidden) return;
  el.append(icon('warn'), h('span', { class: 'grow', 'data-testid': 'insecure-notice' }, t('secure.limited')),
    h('a', { href: '#/join', class: 'btn small' }, t('secure.how')));
}

// ---------- users (admin) ----------
async function usersView(app, _p, _q, ctx) {
  if (!can('admin')) { ctx.show(h('section', {}, h('h1', {}, t('users.title')), banner('warn', t('err.admin_only'), null))); return; }
  const roles = ROLES[state.mode] || ROLES.field;
  const list = h('ul', { class: 'list', 'data-testid': 'users-list' });
  // Each account with its state and the admin's actions (account.js); `msg` says what was just done.
  const acc = await import('./account.js');
  const done = h('p', { class: 'form-ok', role: 'status', 'data-testid': 'users-done', hidden: true });
  const history = h('div');
  const fill = async (msg) => {
    const r = await api('GET', '/api/v1/users');
    list.replaceChildren(...(r.users || []).map((u) => acc.userRow(u, fill)));
    done.hidden = !msg;
    if (msg) done.replaceChildren(icon('ok'), h('span', {}, msg));
    history.replaceChildren(await acc.historyList().catch(() => ''));
  };
  await fill();
  const form = h('form', { class: 'card form', 'data-testid': 'user-form', novalidate: true },
    h('h2', {}, t('users.add')),
    fieldRow('user-name', t('auth.name'), h('input', { id: 'user-name', name: 'name', required: true, autocomplete: 'off', autocapitalize: 'none', 'data-testid': 'user-name' }), t('auth.name_hint')),
    fieldRow('user-role', t('users.role'), h('select', { id: 'user-role', name: 'role', 'data-testid': 'user-role' },
      roles.map((x) => h('option', { value: x }, `${roleName(x)} — ${t('role_help.' + x)}`)))),
    passwordFields('user'),
    h('button', { type: 'submit', class: 'btn primary big', 'data-testid': 'user-submit' }, icon('plus'), h('span', {}, t('users.add_button'))));
  // "Added" is said beside the button just tapped, not at the top of the page a screen away.
  const added = h('p', { class: 'form-ok', role: 'status', 'data-testid': 'user-added', hidden: true });
  form.append(added);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const name = form.name.value.normalize('NFC').trim();
    const bad = !name ? t('auth.name_needed') : checkPasswords(form);
    if (bad) { formError(form, bad); return; }
    formError(form, null);
    added.hidden = true;
    try {
      const u = await api('POST', '/api/v1/users', { name, role: form.role.value, password: form.password.value });
      added.replaceChildren(icon('ok'), h('span', {}, t('users.added', { name: u.name || name, role: roleName(u.role || form.role.value) })));
      added.hidden = false;
      added.scrollIntoView({ block: 'nearest' });
      form.reset();
      await fill().catch((e) => flash(errText(e)));
    } catch (e) { formError(form, errText(e)); }
  });
  // Field admin: pairing with the commune office lives with the hub's administration.
  const pairLink = state.mode === 'field'
    ? h('p', {}, h('a', { href: '#/pairing', class: 'btn', 'data-testid': 'users-pairing-link' }, icon('lock'), h('span', {}, t('pairing.link'))))
    : null;
  ctx.show(h('section', {}, h('h1', {}, t('users.title')), done, list, form, history, pairLink));
}

// ---------- boot ----------
async function boot() {
  let lang = 'vi';
  try { lang = localStorage.getItem('ok.lang') || 'vi'; } catch (_) { /* ignore */ }
  // The language file and the hub are fetched together; nothing is drawn before both are here.
  const langReady = setLang(lang).catch(() => { /* strings fall back to keys */ });
  on('offline', offlineBar);
  on('offline', (off) => {
    clearInterval(recheckTimer);
    if (off) recheckTimer = setInterval(recheck, 15000);
  });
  on('unauth', () => {
    if (!state.user) return;
    state.user = null; state.csrf = null;
    try { sessionStorage.setItem('ok.after', location.hash || '#/'); } catch (_) { /* ignore */ }
    location.replace('#/login');
    setTimeout(() => flash(t('auth.expired')), 50);
  });
  window.addEventListener('online', recheck);
  $('#lang-toggle').addEventListener('click', async () => {
    try { await setLang(LANGS[(LANGS.indexOf(state.lang) + 1) % LANGS.length]); } catch (e) { flash(errText(e)); return; }
    route();
  });
  $('#logout').addEventListener('click', () => { menu(false); logout(); });
  menuWiring();
  window.addEventListener('hashchange', route);
  // The service worker keeps the shell of this hub's kind of app: an office's never fetches the capture
  // modules (sw.js?mode=office).
  const worker = (mode) => {
    if (!('serviceWorker' in navigator) || !window.isSecureContext) return;
    navigator.serviceWorker.register(mode === 'office' ? 'sw.js?mode=office' : 'sw.js').catch(() => { /* the app still works online */ });
  };
  try {
    await loadHub();
    worker(state.mode);
  } catch (e) {
    await langReady;
    // Out of reach, but this phone knows who was signed in: open the app on what the phone keeps.
    let me = null;
    try { me = JSON.parse(localStorage.getItem(ME_KEY)); } catch (_) { /* none */ }
    if (me && me.user && (e.code === 'offline' || e.code === 'timeout')) {
      state.user = me.user; state.mode = me.mode; state.hubName = me.hub_name || ''; state.deviceId = me.device_id || '';
      worker(state.mode);
      offlineBar(true);
      recheckTimer = setInterval(recheck, 15000);
      route();
      return;
    }
    header('');
    $('#app').replaceChildren(h('section', {}, h('h1', {}, t('err.title')), banner('warn', errText(e), t('err.offline_hint')),
      btn('reload', t('ui.retry'), { class: 'btn primary', onclick: () => location.reload() })));
    return;
  }
  await langReady;
  route();
}

boot();
