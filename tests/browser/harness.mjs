// Shared harness for the browser tests: starts a real hub process (field or office) on loopback with users
// made by the hub's own CLI, launches Debian's headless Chromium, logs in through the real UI, and checks a
// page with axe-core. Each *.test.mjs file starts its own hub, so files stay independent.
//
// Env: HUB_BIN (default ../../target/debug/hub), CHROMIUM_BIN (default /usr/bin/chromium).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
export const REPO = path.resolve(here, '../..');
export const SHARED = path.resolve(REPO, '../shared');
export const HUB_BIN = path.resolve(here, process.env.HUB_BIN || '../../target/debug/hub');
export const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
export const ARTIFACTS = path.join(here, 'artifacts');
export const CHROME_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

// Per field data directory, the first officer or admin added with `hub user add`: that password protects
// the data at rest (issue 19), and later commands on the directory unlock it with HUB_UNLOCK_USER and
// HUB_UNLOCK_PASSWORD, as an operator at a terminal would type them.
const unlockers = new Map();

/** Runs the hub CLI synchronously; throws with its output when it fails. */
export function hubCli(args, env = {}) {
  const i = args.indexOf('--data');
  const dir = i >= 0 ? path.resolve(args[i + 1]) : null;
  const unlock = dir && unlockers.has(dir) && !Object.keys(env).some((k) => k.startsWith('HUB_UNLOCK_')) ? unlockers.get(dir) : {};
  const r = spawnSync(HUB_BIN, args, { env: { ...process.env, HUB_LOG: 'warn', NO_COLOR: '1', ...unlock, ...env }, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`hub ${args.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  const role = args[args.indexOf('--role') + 1];
  if (dir && !unlockers.has(dir) && args[0] === 'user' && args[1] === 'add' && ['officer', 'admin'].includes(role) && env.HUB_PASSWORD) {
    unlockers.set(dir, { HUB_UNLOCK_USER: args[args.indexOf('--name') + 1], HUB_UNLOCK_PASSWORD: env.HUB_PASSWORD });
  }
  return r.stdout;
}

/**
 * Starts a hub. `users`: [{name, role, password}] added with `hub user add` before it serves.
 * `args`: extra `hub serve` arguments; `seedHex`: the device key of another hub (a copy of its card).
 * Returns {base, port, dataDir, log(), stop()}.
 */
export async function startHub({ mode = 'field', users = [], args = [], name = 'Tram thu', seedHex = null } = {}) {
  assert.ok(fs.existsSync(HUB_BIN), `hub binary not found at ${HUB_BIN} (build it first: cargo build -p hub)`);
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `hub-browser-${mode}-`));
  hubCli(['init', '--mode', mode, '--data', dataDir, '--name', name]);
  // `seedHex`: another hub's device key, as on a copy of its card (tests of a cloned card, issue 23).
  if (seedHex) fs.writeFileSync(path.join(dataDir, 'keys', 'device.ed25519'), `${seedHex}\n`, { mode: 0o600 });
  // The device key's seed as `hub init` wrote it, before the first officer/admin password seals it (issue
  // 19): for tests that speak the sync protocol as this device from JavaScript.
  const deviceSeedHex = fs.readFileSync(path.join(dataDir, 'keys', 'device.ed25519'), 'utf8').trim();
  for (const u of users) {
    hubCli(['user', 'add', '--data', dataDir, '--role', u.role, '--name', u.name], { HUB_PASSWORD: u.password });
  }
  const port = await freePort();
  let log = '';
  const proc = spawn(HUB_BIN, ['serve', '--mode', mode, '--data', dataDir, '--listen', `127.0.0.1:${port}`,
    '--mdns', 'off', ...(args.includes('--https-listen') ? [] : ['--https-listen', 'off']), ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, RUST_LOG: process.env.RUST_LOG || 'warn', NO_COLOR: '1' },
  });
  proc.stdout.on('data', (b) => { log += b; });
  proc.stderr.on('data', (b) => { log += b; });
  const base = `http://127.0.0.1:${port}`;
  const end = Date.now() + 60000;
  let health;
  for (;;) {
    if (proc.exitCode != null) throw new Error(`hub exited with ${proc.exitCode}:\n${log}`);
    try { const r = await fetch(base + '/healthz'); if (r.status === 200) { health = await r.json(); break; } } catch (_) { /* not yet */ }
    if (Date.now() > end) throw new Error(`hub not healthy within 60 s:\n${log}`);
    await sleep(150);
  }
  // A field hub whose data an officer's password protects starts locked (issue 19): that officer unlocks it
  // with a login, as at the start of a day, and logs out again (no session is left over for the test).
  const unlocker = unlockers.get(path.resolve(dataDir));
  if (health.status === 'locked' && unlocker) await unlockHub(base, unlocker);
  return {
    base, port, dataDir, proc, deviceSeedHex,
    log: () => log,
    /** After a restart on the same data (a new `hub serve`): waits for it, and unlocks it as at start. */
    async unlock() {
      const until = Date.now() + 60000;
      for (;;) {
        try {
          const r = await fetch(base + '/healthz');
          if (r.status === 200) {
            if ((await r.json()).status === 'locked' && unlocker) await unlockHub(base, unlocker);
            return;
          }
        } catch (_) { /* not yet */ }
        if (Date.now() > until) throw new Error('hub not healthy within 60 s of its restart');
        await sleep(150);
      }
    },
    async stop() {
      if (proc.exitCode == null) {
        proc.kill('SIGTERM');
        const done = new Promise((r) => proc.once('exit', r));
        if (await Promise.race([done.then(() => true), sleep(5000).then(() => false)]) === false) proc.kill('SIGKILL');
      }
      fs.writeFileSync(path.join(ARTIFACTS, `hub-${mode}-${port}.log`), log);
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Unlocks a locked hub with an officer's or admin's login, then ends that session. */
export async function unlockHub(base, { HUB_UNLOCK_USER: name, HUB_UNLOCK_PASSWORD: password }) {
  const r = await fetch(base + '/api/v1/login', { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ name, password }) });
  if (r.status !== 200) throw new Error(`unlocking the hub as ${name}: ${r.status} ${await r.text()}`);
  const cookie = r.headers.get('set-cookie').split(';')[0];
  const { csrf_token: csrf } = await r.json();
  await fetch(base + '/api/v1/logout', { method: 'POST', headers: { Cookie: cookie, 'X-CSRF-Token': csrf, 'Content-Type': 'application/json' }, body: '{}' });
  const s = await (await fetch(base + '/api/v1/setup')).json();
  if (s.locked !== false) throw new Error(`the hub is still locked after ${name}'s login`);
}

/** Launches headless Chromium as a phone. Returns {context, page, errors, close()}. */
export async function launch({ args = [], viewport = { width: 390, height: 844 }, isMobile = true, ...opts } = {}) {
  assert.ok(fs.existsSync(CHROMIUM), `Chromium not found at ${CHROMIUM} (apt-get install -y chromium)`);
  const profileDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hub-browser-chromium-'));
  const context = await chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM, headless: true, args: [...CHROME_FLAGS, ...args],
    viewport, deviceScaleFactor: 1, isMobile, hasTouch: isMobile, locale: 'vi-VN', timezoneId: 'Asia/Ho_Chi_Minh',
    ...opts,
  });
  context.setDefaultTimeout(20000);
  const page = context.pages()[0] || await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  return {
    context, page, errors,
    async close() { await context.close().catch(() => {}); fs.rmSync(profileDir, { recursive: true, force: true }); },
  };
}

/** Logs in through the real login screen and waits for the signed-in header. */
export async function login(page, base, { name, password }) {
  await page.goto(base + '/#/login');
  await page.waitForSelector('[data-testid=login-name]');
  await page.fill('[data-testid=login-name]', name);
  await page.fill('[data-testid=login-password]', password);
  await page.click('[data-testid=login-submit]');
  await page.waitForSelector('[data-testid=who]');
}

/**
 * Opens a page from the header's menu: on a phone the pages sit behind the menu button
 * ([data-testid=menu-toggle]); on a wider screen they stand in a row.
 */
export async function navTo(page, name) {
  const link = page.locator(`#nav [data-testid=nav-${name}]`);
  if (!(await link.isVisible())) await page.click('[data-testid=menu-toggle]');
  await link.click();
}

/** Logs out through the header (behind the menu button on a phone). */
export async function logout(page) {
  const out = page.locator('[data-testid=logout]');
  if (!(await out.isVisible())) await page.click('[data-testid=menu-toggle]');
  await out.click();
}

/** Saves a full-page screenshot in artifacts/. */
export async function shot(page, name) {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, name + '.png'), fullPage: true }).catch(() => {});
}

const AXE_SOURCE = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/**
 * Runs axe-core on the page as it is now and fails on any serious or critical violation (WCAG 2.1 A/AA
 * rules and best practices), naming the rule and the offending elements.
 */
export async function axeCheck(page, label) {
  if (!(await page.evaluate(() => !!window.axe))) await page.addScriptTag({ content: AXE_SOURCE });
  const result = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map((n) => n.target.join(' ')) }));
  });
  const bad = result.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(bad, [], `axe-core: serious/critical violations on ${label}:\n${JSON.stringify(bad, null, 2)}`);
  return result;
}

/// What must never be on a screen shown to people in Vietnamese: a raw 5-digit unit code, null/undefined,
/// an internal key (`snake_case`, or a field key of one of `parts`, e.g. `requester.pin`), an ISO date, an
/// English sentence (words Vietnamese never uses, plus `moreEnglish`). Reads the visible text of `main` and
/// the values in its text boxes (a commune picker shows a name, never a code). Returns the text.
export async function scanVietnameseScreen(page, label, { parts = [], moreEnglish = [] } = {}) {
  const text = await page.evaluate(() => {
    const out = [];
    const walk = document.createTreeWalker(document.querySelector('main') || document.body, NodeFilter.SHOW_TEXT);
    for (let n = walk.nextNode(); n; n = walk.nextNode()) {
      const el = n.parentElement;
      if (!el || !el.offsetParent || el.closest('script,style,template,[hidden]')) continue;
      // What a closed <details> holds is not on the screen until it is opened (its summary is).
      const closed = el.closest('details:not([open])');
      if (closed && !el.closest('summary')) continue;
      out.push(n.textContent);
    }
    for (const i of document.querySelectorAll('input[type=text],input[type=search],input:not([type]),textarea')) {
      if (i.offsetParent) out.push(i.value);
    }
    return out.join('\n');
  });
  assert.doesNotMatch(text, /(^|[^\w/.])\d{5}(?![\w/.])/m, `${label}: a raw 5-digit unit code is shown`);
  assert.doesNotMatch(text, /\b(null|undefined|NaN)\b/, `${label}: null/undefined shown`);
  assert.doesNotMatch(text, /\b[a-z]+(_[a-z]+)+\b/, `${label}: an internal key is shown`);
  if (parts.length) {
    assert.doesNotMatch(text, new RegExp(`\\b(${parts.join('|')})\\.[a-z_]+\\b`), `${label}: a field key is shown`);
  }
  assert.doesNotMatch(text, /\b\d{4}-\d{2}-\d{2}\b/, `${label}: a date not written day first`);
  const words = ['the', 'and', 'with', 'your', 'please', 'this', 'that', 'from', 'will', 'must', ...moreEnglish];
  const english = new RegExp(`\\b(${words.join('|')})\\b`, 'i').exec(text);
  assert.equal(english, null, `${label}: English on a Vietnamese screen: …${english && text.slice(Math.max(0, english.index - 40), english.index + 40)}…`);
  return text;
}

// A tiny logged-in API client (session cookie + CSRF token) for node: `await api(method, path, body)` gives
// `{status, headers, body}` (JSON parsed, other bodies as a Buffer; a FormData body is sent as multipart).
export async function apiLogin(base, user) {
  const r = await fetch(base + '/api/v1/login', { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ name: user.name, password: user.password }) });
  assert.equal(r.status, 200);
  const cookie = r.headers.get('set-cookie').split(';')[0];
  const { csrf_token: csrf } = await r.json();
  return async (method, p, body) => {
    const headers = { Cookie: cookie, 'X-CSRF-Token': csrf };
    let payload = body;
    if (body !== undefined && !(body instanceof FormData)) { headers['Content-Type'] = 'application/json'; payload = JSON.stringify(body); }
    const res = await fetch(base + p, { method, headers, body: payload });
    const ct = res.headers.get('content-type') || '';
    return { status: res.status, headers: res.headers, body: ct.includes('json') ? await res.json() : Buffer.from(await res.arrayBuffer()) };
  };
}

// A complete marital-status request (the villager asks for her own certificate): every field the seal
// stage requires, for tests that need a sealable draft.
export const MARITAL_FIELDS = {
  'addressee.commune': 'Ủy ban nhân dân xã Phước Minh',
  'requester.full_name': 'Điểu Thị Hạnh', 'requester.residence': 'thôn Bình Tiến, xã Phước Minh, tỉnh Đồng Nai',
  'requester.id_type': 'can_cuoc', 'requester.pin': '070190012345',
  'requester.id_issuer': 'Cục Cảnh sát quản lý hành chính về trật tự xã hội', 'requester.id_issue_date': '2021-06-10',
  'requester.relationship': 'self',
  'subject.full_name': 'Điểu Thị Hạnh', 'subject.date_of_birth': '1990-05-14', 'subject.sex': 'female',
  'subject.ethnicity': 'Xtiêng', 'subject.nationality': 'Việt Nam', 'subject.residence': 'thôn Bình Tiến, xã Phước Minh, tỉnh Đồng Nai',
  'subject.id_type': 'can_cuoc', 'subject.pin': '070190012345', 'subject.marital_status': 'never_married',
  'request.purpose': 'Làm thủ tục nhận chuyển nhượng quyền sử dụng đất', 'declaration.confirmed': 'yes',
};

// A complete marital-status draft (MARITAL_FIELDS and the ID photo of the sample set), ready to seal; its id.
export async function maritalDraft(api) {
  const photo = fs.readFileSync(path.join(SHARED, 'data/photos/to-khai-xac-nhan-hon-nhan.jpg'));
  const d = await api('POST', '/api/v1/drafts', { procedure: { id: 'marital-status-certificate', version: 1 }, fields: {} });
  assert.equal(d.status, 201, JSON.stringify(d.body));
  const u = await api('PUT', `/api/v1/drafts/${d.body.id}`, { fields: MARITAL_FIELDS, version: d.body.version });
  assert.equal(u.status, 200, JSON.stringify(u.body));
  const fd = new FormData();
  fd.append('role', 'id_document');
  fd.append('file', new Blob([photo], { type: 'image/jpeg' }), 'giay-to.jpg');
  assert.equal((await api('POST', `/api/v1/drafts/${d.body.id}/attachments`, fd)).status, 201);
  return d.body.id;
}

/**
 * Goes through the villager's pre-declaration (#/predeclare/…, one question per screen) by tapping Next,
 * answering the questions named in `answers` (field key → value: a choice's value, or text typed), up to the
 * review screen; then taps "send" unless `send` is false. With `until` (a field key), stops on that question
 * instead, unanswered. Returns the keys of the questions met, in order.
 */
export async function predeclareAnswer(page, answers = {}, { send = true, until = null, each = null } = {}) {
  const form = page.locator('form.oneq');
  await form.waitFor();
  const met = [];
  for (let i = 0; i < 100; i++) {
    const step = await form.getAttribute('data-step');
    if (step === 'review') break;
    const key = await form.getAttribute('data-key');
    if (key === until) return met;
    met.push(key);
    // `each(key)`: what a test checks or does on every question's screen before it is answered.
    if (each) await each(key);
    if (key in answers) {
      const field = page.locator(`.field.ask-on[data-key="${key}"]`);
      const radio = field.locator(`input[type=radio][value="${answers[key]}"]`);
      if (await radio.count()) await radio.check();
      else await field.locator(`[name="${key}"]:visible`).fill(answers[key]);
    }
    await page.click('[data-testid=ask-next]');
    await page.waitForFunction((k) => document.querySelector('form.oneq').dataset.key !== k, key);
  }
  if (send) await page.click('[data-testid=predeclare-send]');
  return met;
}

// What the current screen offers to listen to: every text a villager reads (question, hint, group title,
// each choice, an error shown) with its listen button or mark, as [what, kind, lang, VI mark shown].
export function listenMarks(page) {
  return page.evaluate(() => {
    const shown = (e) => !!e && !!(e.offsetWidth || e.offsetHeight) && getComputedStyle(e).visibility !== 'hidden';
    const out = [];
    const texts = [...document.querySelectorAll('form.oneq .group.ask-on > .said, .field.ask-on legend, .field.ask-on > .said, .field.ask-on fieldset > .said, .field.ask-on .choice, .field.ask-on .ferr-row.on')];
    for (const t of texts.filter(shown)) {
      const play = [...t.querySelectorAll(':scope > [data-testid=audio-play], :scope > .say-err > [data-testid=audio-play]')].find(shown);
      const none = [...t.querySelectorAll(':scope > [data-testid=audio-none], :scope > .say-err > [data-testid=audio-none]')].find(shown);
      const mark = play && play.querySelector('.say-vi-mark');
      const r = play ? play.getBoundingClientRect() : null;
      out.push({ what: t.textContent.trim().slice(0, 40), kind: play ? 'play' : (none ? 'none' : 'nothing'),
        lang: play ? play.dataset.audioLang : null, vi: !!mark && shown(mark) && mark.textContent === 'VI',
        size: r ? Math.min(r.width, r.height) : null, ferr: t.classList.contains('ferr-row'), noneText: none ? none.textContent.trim() : null });
    }
    return out;
  });
}

// A short tone as a phone's recorder makes it (WebM/Opus from MediaRecorder), made in Chromium on `base`.
export async function toneRecording(base) {
  const b = await launch({ args: ['--autoplay-policy=no-user-gesture-required'] });
  try {
    await b.page.goto(base + '/#/guides');
    const bytes = await b.page.evaluate(async () => {
      const ctx = new AudioContext();
      const osc = ctx.createOscillator();
      osc.frequency.value = 660;
      const dest = ctx.createMediaStreamDestination();
      osc.connect(dest);
      osc.start();
      const rec = new MediaRecorder(dest.stream, { mimeType: 'audio/webm;codecs=opus' });
      const chunks = [];
      rec.ondataavailable = (e) => chunks.push(e.data);
      const stopped = new Promise((r) => { rec.onstop = r; });
      rec.start();
      await new Promise((r) => setTimeout(r, 600));
      rec.stop();
      await stopped;
      return [...new Uint8Array(await new Blob(chunks).arrayBuffer())];
    });
    return Buffer.from(bytes);
  } finally { await b.close(); }
}

// Uploads a recording as the languages page sends it: the bytes as the body. `session`: {cookie, csrf} of
// an admin or translator.
export async function putRecording(base, session, lang, key, audio) {
  const r = await fetch(`${base}/api/v1/languages/${lang}/audio/${encodeURIComponent(key)}`, { method: 'PUT',
    headers: { Cookie: session.cookie, 'X-CSRF-Token': session.csrf, 'Content-Type': 'audio/webm' }, body: audio });
  assert.equal(r.status, 201, `${lang} ${key}: ${await r.text()}`);
}
