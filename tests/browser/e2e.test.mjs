// End-to-end: a real field hub process, driven through its embedded web client in Debian's headless
// Chromium. Setup link → first admin → add an officer → log out → officer logs in → new marital-status
// dossier → errors shown per field → fill everything (Vietnamese data) → typing survives a reload →
// offline save keeps the typing → 409 conflict and overwrite → photo of the ID document → save → seal →
// receipt (code format, "not yet protected" notice, print, English) → home lists it.
//
// Env: HUB_BIN (default ../../target/debug/hub), CHROMIUM_BIN (default /usr/bin/chromium),
// E2E_CLIENT_FROM_DISK=1 serves client-web/ from disk through a small proxy in front of the hub (for
// working on the client without rebuilding the hub, which embeds the files at compile time).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { axeCheck, navTo, logout } from './harness.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const HUB_BIN = path.resolve(here, process.env.HUB_BIN || '../../target/debug/hub');
const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
const PHOTO = path.resolve(repo, '../shared/data/photos/to-khai-xac-nhan-hon-nhan.jpg');
const ARTIFACTS = path.join(here, 'artifacts');
const FROM_DISK = process.env.E2E_CLIENT_FROM_DISK === '1';
const CHROME_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
// A receipt code sealed now: 13 digits and a Damm check digit, in groups of four (protocol §6).
const RECEIPT_RE = /^\d{4}-\d{4}-\d{4}-\d{2}$/;
const PROC = 'marital-status-certificate';

// Realistic, internally consistent data (fictional person). The PIN 070190012345 = province code 070
// (former Bình Phước), century/sex digit 1 (1900s, female), year digits 90: matches sex and birth date.
const ADDRESS = 'thôn Bình Tiến, xã Phước Minh, tỉnh Đồng Nai';
const VALUES = {
  // A commune picker: typed as a villager says it, taken without tapping a suggestion (one unit has it).
  'addressee.commune': 'Bù Gia Mập',
  'requester.full_name': 'Điểu Thị Hạnh',
  'requester.residence': ADDRESS,
  'requester.id_type': 'can_cuoc',
  'requester.pin': '070190012345',
  'requester.id_issuer': 'Cục Cảnh sát quản lý hành chính về trật tự xã hội',
  'requester.id_issue_date': '2021-06-10',
  'requester.phone': '0912345678',
  'requester.relationship': 'self',
  'subject.full_name': 'Điểu Thị Hạnh',
  // Day first, as printed on the identity card; stored as 1990-05-14.
  'subject.date_of_birth': '14/05/1990',
  'subject.sex': 'female',
  'subject.ethnicity': 'Xtiêng',
  'subject.nationality': 'Việt Nam',
  'subject.residence': ADDRESS,
  'subject.id_type': 'can_cuoc',
  'subject.pin': '070190012345',
  'subject.marital_status': 'never_married',
  'request.purpose_kind': 'other',
  'request.purpose': 'Làm thủ tục nhận chuyển nhượng quyền sử dụng đất',
  'declaration.confirmed': 'yes',
};
// For required fields the catalogue may add later: a plausible value by kind.
const BY_KIND = {
  text: 'Ủy ban nhân dân xã Phước Minh', name: 'Điểu Thị Hạnh', address: ADDRESS, ethnicity: 'Xtiêng',
  nationality: 'Việt Nam', date: '1990-05-14', pin: '070190012345', phone: '0912345678',
  long_text: 'Làm thủ tục nhận chuyển nhượng quyền sử dụng đất', confirm: 'yes', sex: 'female',
};

const ADMIN = { name: 'quantri', password: 'Quan-tri-2026!' };
const OFFICER = { name: 'hanh.canbo', password: 'Can-bo-2026!' };

let hub; let hubLog = ''; let dataDir; let profileDir; let proxy; let base; let setupLink;
let browser; let page; let receiptCode;
const pageErrors = []; const consoleLines = [];

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitHealthy(url, ms) {
  const end = Date.now() + ms;
  let last;
  while (Date.now() < end) {
    if (hub.exitCode != null) throw new Error(`hub exited with ${hub.exitCode}:\n${hubLog}`);
    try {
      const r = await fetch(url + '/healthz');
      if (r.status === 200) return r.json();
      last = 'status ' + r.status;
    } catch (e) { last = e.message; }
    await sleep(200);
  }
  throw new Error(`hub not healthy after ${ms} ms (${last})\n${hubLog}`);
}

// Serves client-web/ from disk and forwards everything else to the hub (same origin for the cookie).
function diskProxy(hubPort) {
  const root = path.join(repo, 'client-web');
  const types = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.json': 'application/json' };
  return http.createServer((req, res) => {
    const p = decodeURIComponent(req.url.split('?')[0]);
    if (!p.startsWith('/api/') && p !== '/healthz' && req.method === 'GET') {
      const f = path.join(root, p === '/' ? 'index.html' : p);
      if (f.startsWith(root) && fs.existsSync(f) && fs.statSync(f).isFile()) {
        res.writeHead(200, { 'content-type': types[path.extname(f)] || 'application/octet-stream', 'cache-control': 'no-cache' });
        fs.createReadStream(f).pipe(res);
        return;
      }
    }
    const up = http.request({ host: '127.0.0.1', port: hubPort, path: req.url, method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode, r.headers);
      r.pipe(res);
    });
    up.on('error', () => { res.writeHead(502); res.end(); });
    req.pipe(up);
  });
}

// Every screen the walk passes through is also checked by axe-core (no serious or critical violation).
async function shot(name, opts = {}) {
  await page.screenshot({ path: path.join(ARTIFACTS, name + '.png'), fullPage: true, ...opts });
  await axeCheck(page, name);
}

// Runs a step; on failure keeps a screenshot and the hub's output for the post-mortem.
async function step(name, fn) {
  try {
    await fn();
  } catch (e) {
    try { await shot('FAILED-' + name); } catch (_) { /* page may be gone */ }
    fs.writeFileSync(path.join(ARTIFACTS, 'hub.log'), hubLog);
    throw e;
  }
}

before(async () => {
  assert.ok(fs.existsSync(HUB_BIN), `hub binary not found at ${HUB_BIN} (build it first: cargo build -p hub)`);
  assert.ok(fs.existsSync(CHROMIUM), `Chromium not found at ${CHROMIUM} (apt-get install -y chromium)`);
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hub-e2e-data-'));
  profileDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hub-e2e-chromium-'));
  const port = await freePort();
  hub = spawn(HUB_BIN, ['serve', '--mode', 'field', '--data', dataDir, '--listen', `127.0.0.1:${port}`, '--mdns', 'off', '--commune', '25222'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, RUST_LOG: process.env.RUST_LOG || 'warn', NO_COLOR: '1' },
  });
  const linkP = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no setup link on stdout within 60 s:\n' + hubLog)), 60000);
    hub.stdout.on('data', (b) => {
      hubLog += b;
      const m = /(\S*\/#\/setup\?token=[^\s]+)/.exec(hubLog);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    hub.on('exit', (code) => { clearTimeout(timer); reject(new Error(`hub exited with ${code}:\n${hubLog}`)); });
  });
  hub.stderr.on('data', (b) => { hubLog += b; });
  setupLink = await linkP;
  base = `http://127.0.0.1:${port}`;
  const health = await waitHealthy(base, 30000);
  assert.equal(health.mode, 'field');
  assert.ok(setupLink.startsWith(base + '/#/setup?token='), `setup link ${setupLink} should point at ${base}`);
  if (FROM_DISK) {
    const pport = await freePort();
    proxy = diskProxy(port);
    await new Promise((r) => proxy.listen(pport, '127.0.0.1', r));
    setupLink = setupLink.replace(base, `http://127.0.0.1:${pport}`);
    base = `http://127.0.0.1:${pport}`;
  }
  browser = await chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROME_FLAGS,
    viewport: { width: 390, height: 844 },
    deviceScaleFactor: 1,
    isMobile: true,
    hasTouch: true,
    locale: 'vi-VN',
    timezoneId: 'Asia/Ho_Chi_Minh',
  });
  browser.setDefaultTimeout(20000);
  page = browser.pages()[0] || await browser.newPage();
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('console', (m) => consoleLines.push(m.text()));
});

after(async () => {
  if (browser) await browser.close().catch(() => {});
  if (proxy) proxy.close();
  if (hub && hub.exitCode == null) {
    hub.kill('SIGTERM');
    const done = new Promise((r) => hub.once('exit', r));
    if (await Promise.race([done.then(() => true), sleep(5000).then(() => false)]) === false) hub.kill('SIGKILL');
  }
  if (hubLog) fs.writeFileSync(path.join(ARTIFACTS, 'hub.log'), hubLog);
  for (const d of [dataDir, profileDir]) if (d) fs.rmSync(d, { recursive: true, force: true });
});

test('the one-time setup link creates the first admin', () => step('setup', async () => {
  await page.goto(setupLink);
  await page.waitForSelector('[data-testid=setup-name]');
  await shot('01-setup');
  await page.fill('[data-testid=setup-name]', ADMIN.name);
  await page.fill('[data-testid=setup-password]', ADMIN.password);
  await page.fill('[data-testid=setup-password2]', 'something else');
  await page.click('[data-testid=setup-submit]');
  await page.waitForSelector('[data-testid=form-error]:has-text("chưa giống nhau")');
  await page.fill('[data-testid=setup-password2]', ADMIN.password);
  await page.click('[data-testid=setup-submit]');
  await page.waitForSelector(`[data-testid=new-${PROC}]`);
  assert.match(await page.textContent('[data-testid=who]'), new RegExp(ADMIN.name));
  assert.doesNotMatch(page.url(), /token=/, 'the setup token must leave the address bar');
  // The hub is not paired with an office: the warning must be plain and visible.
  await page.waitForSelector('[data-testid=unpaired-warning]');
  assert.match(await page.textContent('[data-testid=unpaired-warning]'), /CHƯA ĐƯỢC BẢO VỆ/);
}));

test('the admin adds an officer on the users page', () => step('users', async () => {
  await navTo(page, 'users');
  await page.waitForSelector('[data-testid=user-form]');
  await page.fill('[data-testid=user-name]', OFFICER.name);
  await page.selectOption('[data-testid=user-role]', 'officer');
  await page.fill('[data-testid=user-password]', OFFICER.password);
  await page.fill('[data-testid=user-password2]', OFFICER.password);
  await page.click('[data-testid=user-submit]');
  await page.waitForSelector(`[data-testid=user-row]:has-text("${OFFICER.name}")`);
  await shot('02-users');
}));

test('log out, then the officer logs in', () => step('login', async () => {
  await logout(page);
  await page.waitForSelector('[data-testid=login-name]');
  await axeCheck(page, 'login');
  await page.fill('[data-testid=login-name]', OFFICER.name);
  await page.fill('[data-testid=login-password]', 'wrong password');
  await page.click('[data-testid=login-submit]');
  await page.waitForSelector('[data-testid=form-error]');
  await page.fill('[data-testid=login-password]', OFFICER.password);
  await page.click('[data-testid=login-submit]');
  await page.waitForSelector(`[data-testid=new-${PROC}]`);
  assert.match(await page.textContent('[data-testid=who]'), /hanh\.canbo · Cán bộ/);
  await shot('03-home');
}));

// What Chromium's shrink() sent and what the hub kept: one upload of at most the hub's budget (1600 px,
// 100 KiB), kept as sent (the hub drops the metadata segments only: from the first quantisation table on,
// the bytes are the same, so no second lossy encoding), and still legible: Tesseract reads the stored
// copy against the paper's ground truth (../shared/tools/ocr_accuracy.py; skipped with a note when
// Tesseract's Vietnamese data is not installed).
async function checkShrunkPhoto(draftId, att, uploads, original) {
  assert.equal(uploads.length, 1, 'one photo upload');
  const sent = uploads[0];
  assert.ok(sent.subarray(0, 3).equals(Buffer.from([0xff, 0xd8, 0xff])), 'shrink() sent a JPEG');
  assert.ok(sent.length <= 100 * 1024, `shrink() kept within the hub's budget: ${sent.length} bytes`);
  const storedBytes = Buffer.from(await page.evaluate(async ([d, a]) => {
    const r = await fetch(`/api/v1/drafts/${encodeURIComponent(d)}/attachments/${encodeURIComponent(a)}`);
    return [...new Uint8Array(await r.arrayBuffer())];
  }, [draftId, att.id]));
  assert.equal(storedBytes.length, att.size);
  const dqt = (b) => b.subarray(b.indexOf(Buffer.from([0xff, 0xdb])));
  assert.ok(dqt(sent).equals(dqt(storedBytes)), 'the hub kept the shrunk JPEG as sent (image data byte for byte)');
  const truth = original.replace(/\.jpg$/, '.txt');
  const tess = spawnSync('tesseract', ['--list-langs'], { encoding: 'utf8' });
  if (tess.status !== 0 || !/^vie$/m.test(tess.stdout) || !fs.existsSync(truth)) {
    console.log('# OCR of the stored photo skipped: tesseract with Vietnamese data is not installed');
    return;
  }
  const file = path.join(os.tmpdir(), `e2e-stored-${process.pid}.jpg`);
  fs.writeFileSync(file, storedBytes);
  const ocr = spawnSync('python3', [path.resolve(repo, '../shared/tools/ocr_accuracy.py'), file, truth], { encoding: 'utf8' });
  fs.rmSync(file, { force: true });
  const m = /accuracy=([0-9.]+)/.exec(ocr.stdout);
  assert.ok(m, `OCR ran: ${ocr.stdout} ${ocr.stderr}`);
  console.log(`# stored photo: ${sent.length} bytes as sent by Chromium, OCR accuracy ${m[1]}`);
  assert.ok(Number(m[1]) >= 0.95, `the stored photo stays legible: OCR accuracy ${m[1]}`);
}

test('a new marital-status dossier: errors per field, Vietnamese data, reload-safe, photo, save', () => step('draft', async () => {
  // The whole form on one page (the step-by-step layout has its own test in offline.test.mjs).
  await page.evaluate(() => localStorage.setItem('ok.layout', 'all'));
  await page.click(`[data-testid=new-${PROC}]`);
  await page.waitForSelector('[name="requester.full_name"]');
  assert.match(page.url(), /#\/draft\//);
  // "I am the person certified" is the default: the person's name and papers are not asked twice.
  assert.ok(await page.isChecked('[name="requester.relationship"][value="self"]'));
  assert.equal(await page.isVisible('[name="subject.full_name"]'), false, 'the person certified follows the requester');

  // Sealing an empty draft: the review finds what is missing before any confirmation; the hub's details
  // appear next to the fields and in the summary.
  await page.click('[data-testid=seal]');
  await page.waitForSelector('[data-testid=review-errors]');
  await page.waitForSelector('[data-err-for="requester.full_name"]:not([hidden])');
  await page.waitForSelector('[data-err-for="documents.id_document"]:not([hidden])');
  assert.ok(await page.isVisible('[data-testid=errors]'));
  await shot('04-seal-errors', { fullPage: false });

  // A format error at save time (PIN too short) is shown beside the PIN field.
  await page.fill('[name="requester.pin"]', '07019');
  await page.click('[data-testid=save]');
  await page.waitForSelector('[data-err-for="requester.pin"]:not([hidden])');
  assert.equal(await page.getAttribute('[data-testid=save-state]', 'data-state'), 'draft.not_saved');
  const box = await page.textContent('[data-testid=errors]');
  assert.match(box, /Số định danh/, 'the summary names the field');
  assert.doesNotMatch(box, /null|undefined/, 'no "null" in the error list');
  await shot('04b-save-error', { fullPage: false });
  // The PIN fixed and saved by itself (the phone sends 1.2 s after the last keystroke): the refused save's
  // error box goes beside "saved".
  await page.fill('[name="requester.pin"]', '070190012345');
  await page.waitForSelector('[data-testid=save-state][data-state="draft.saved"]');
  assert.equal(await page.isVisible('[data-testid=errors]'), false, 'no stale error box beside "saved"');
  assert.equal(await page.isVisible('[data-err-for="requester.pin"]'), false);

  // Fill the form from the catalogue the hub serves (not from a list hard-coded here).
  // The version in force today is the one a new draft uses.
  const def = await page.evaluate(async (id) => {
    const r = await (await fetch('/api/v1/procedures', { credentials: 'same-origin' })).json();
    const cur = r.in_force.find((x) => x.id === id);
    return r.procedures.find((p) => p.id === id && p.version === cur.version);
  }, PROC);
  assert.equal(def.version, 2, 'catalogue v2 is in force');
  assert.ok(def, 'the hub serves the marital-status procedure');
  const all = def.groups.flatMap((g) => g.fields);
  const candidates = {};
  for (const f of all) {
    let v = VALUES[f.key];
    if (v === undefined && f.required) v = f.options && f.options.length ? f.options[0].value : BY_KIND[f.kind] || 'Phước Minh';
    if (v !== undefined) candidates[f.key] = v;
  }
  // Type one name in decomposed Unicode (as some keyboards send it): it must be stored as NFC.
  candidates['requester.full_name'] = candidates['requester.full_name'].normalize('NFD');
  // Fill what the form shows, in form order: a field folded away (the residence once a PIN is given, the
  // person certified when it is the requester) is not asked. `chosen`: what is stored.
  const chosen = {};
  for (const f of all) {
    const v = candidates[f.key];
    if (v === undefined) continue;
    if (f.kind === 'commune') {
      const search = `[data-commune-for="${f.key}"]`;
      if (!(await page.isVisible(search))) continue;
      await page.fill(search, v);
      await page.locator(search).blur();
      await page.waitForFunction((k) => document.querySelector(`input[type=hidden][name="${k}"]`).value !== '', f.key);
      chosen[f.key] = await page.inputValue(`input[type=hidden][name="${f.key}"]`);
      continue;
    }
    const sel = `[name="${f.key}"]`;
    if (!(await page.locator(sel).first().isVisible())) continue;
    const tag = await page.$eval(sel, (e) => `${e.tagName}:${e.type}`);
    if (tag === 'INPUT:radio') await page.check(`${sel}[value="${v}"]`);
    else if (tag === 'INPUT:checkbox') await page.check(sel);
    else if (tag.startsWith('SELECT')) await page.selectOption(sel, v);
    else await page.fill(sel, v);
    chosen[f.key] = f.key === 'requester.full_name' ? v.normalize('NFC') : v;
  }
  assert.equal(chosen['addressee.commune'], '25222', 'a commune typed without tapping a suggestion is taken');
  assert.equal(chosen['subject.date_of_birth'], '14/05/1990');
  chosen['subject.date_of_birth'] = '1990-05-14'; // stored in the protocol's form
  assert.equal(await page.inputValue('[name="subject.date_of_birth"]'), '14/05/1990', 'shown day first');
  assert.ok(!('requester.residence' in chosen), 'no residence asked when a PIN is given');
  assert.equal(await page.isVisible('[data-err-for="requester.pin"]'), false, 'editing a field clears its error');

  // Typing is kept on the phone: a reload before saving loses nothing (once the phone's storage has the
  // last change, which the save line shows with data-pending="0").
  await page.waitForSelector('[data-testid=save-state][data-pending="0"]', { state: 'attached' });
  await page.reload();
  await page.waitForSelector('[name="requester.full_name"]');
  assert.equal(await page.inputValue('[name="requester.full_name"]'), 'Điểu Thị Hạnh');
  assert.equal(await page.inputValue('[name="subject.ethnicity"]'), 'Xtiêng');
  assert.ok(await page.isChecked('[name="subject.sex"][value="female"]'));

  // The hub out of reach: saving says so plainly and keeps the typing.
  await browser.setOffline(true);
  await page.click('[data-testid=save]');
  await page.waitForSelector('[data-testid=save-state][data-state="draft.offline_kept"]');
  await page.waitForSelector('[data-testid=offline-bar]');
  await shot('05-offline', { fullPage: false });
  await browser.setOffline(false);
  await page.click('[data-testid=save]');
  await page.waitForSelector('[data-testid=save-state][data-state="draft.saved"]');
  assert.equal(await page.isVisible('[data-testid=offline-bar]'), false);

  // Another phone saves first: the next save here is refused (409) and the user chooses.
  const id = decodeURIComponent(page.url().split('#/draft/')[1]);
  const other = await page.evaluate(async (i) => {
    const me = await (await fetch('/api/v1/me')).json();
    const d = await (await fetch('/api/v1/drafts/' + encodeURIComponent(i))).json();
    const r = await fetch('/api/v1/drafts/' + encodeURIComponent(i), {
      method: 'PUT', headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': me.csrf_token },
      body: JSON.stringify({ fields: { ...d.fields, 'requester.phone': '0987654321' }, version: d.version }),
    });
    return r.status;
  }, id);
  assert.equal(other, 200);
  await page.fill('[name="request.purpose"]', chosen['request.purpose'] + ' ');
  await page.fill('[name="request.purpose"]', chosen['request.purpose']);
  await page.click('[data-testid=save]');
  await page.waitForSelector('[data-testid=conflict]:not([hidden])');
  await shot('06-conflict', { fullPage: false });
  await page.click('[data-testid=conflict-overwrite]');
  await page.waitForSelector('[data-testid=save-state][data-state="draft.saved"]');

  // Photo of the identity document (a 4032×3024 phone JPEG; the client shrinks it before upload).
  // The JPEG the page sends, seen in the page (the DevTools protocol leaves file parts out of a body).
  await page.evaluate(() => {
    window.__photoUploads = [];
    const real = window.fetch;
    window.fetch = async (url, opts) => {
      if (opts && opts.body instanceof FormData && /\/attachments$/.test(String(url))) {
        for (const [, v] of opts.body) if (v instanceof Blob) window.__photoUploads.push([...new Uint8Array(await v.arrayBuffer())]);
      }
      return real(url, opts);
    };
  });
  await page.setInputFiles('[data-role="id_document"]', PHOTO);
  await page.waitForFunction(() => {
    const img = document.querySelector('[data-doc="id_document"] [data-testid=thumb] img');
    return img && img.complete && img.naturalWidth > 0;
  }, null, { timeout: 60000 });
  const uploads = (await page.evaluate(() => window.__photoUploads)).map((b) => Buffer.from(b));

  await page.click('[data-testid=save]');
  await page.waitForSelector('[data-testid=save-state][data-state="draft.saved"]');
  await shot('07-draft-saved');

  // What the hub stored: NFC, and exactly what was chosen (this phone's version won the conflict).
  const stored = await page.evaluate(async (i) => (await (await fetch('/api/v1/drafts/' + encodeURIComponent(i))).json()), id);
  for (const [k, v] of Object.entries(chosen)) assert.equal(stored.fields[k], v, `stored ${k}`);
  assert.equal(stored.attachments.length, 1);
  assert.equal(stored.attachments[0].role, 'id_document');
  assert.ok(stored.attachments[0].size < 2_000_000, `photo shrunk before upload (${stored.attachments[0].size} bytes)`);
  await checkShrunkPhoto(id, stored.attachments[0], uploads, PHOTO);
  assert.equal(await page.evaluate((i) => localStorage.getItem('ok.draft.' + i), id), null, 'nothing in localStorage');
  await page.waitForSelector('[data-testid=save-state][data-state="draft.saved"]');
}));

test('sealing gives a receipt with a valid code and the not-yet-protected notice', () => step('seal', async () => {
  // "Niêm phong" shows the review; the officer reads it aloud, ticks the read-back below it and seals.
  await page.click('[data-testid=seal]');
  await page.check('[data-testid=seal-readback]');
  await page.click('[data-testid=seal-confirm]');
  await page.waitForSelector('#receipt-code', { timeout: 60000 });
  receiptCode = (await page.textContent('#receipt-code')).trim();
  assert.match(receiptCode, RECEIPT_RE);
  assert.ok(await page.isVisible('[data-testid=not-protected]'), 'unpaired hub: the receipt says the dossier is not yet protected');
  assert.match(await page.textContent('[data-testid=receipt-procedure]'), /tình trạng hôn nhân/i);
  // The signed receipt QR is drawn by the hub and shown on the slip.
  await page.waitForFunction(() => {
    const img = document.querySelector('[data-testid=receipt-qr]');
    return img && img.complete && img.naturalWidth >= 200;
  });
  assert.match(await page.textContent('[data-testid=tracking-number]'), /[0-9a-f]{16}-1$/);
  // Print, the slip and home come before the destructive "cancel the sealed dossier", which stands apart.
  assert.ok(await page.evaluate(() => {
    const [p, v] = ['[data-testid=print]', '[data-testid=void-open]'].map((q) => document.querySelector(q));
    return !!(p && v && (p.compareDocumentPosition(v) & Node.DOCUMENT_POSITION_FOLLOWING) && v.closest('.danger-zone'));
  }), 'the cancel button follows Print, in the danger zone');
  await shot('08-receipt');
  await page.emulateMedia({ media: 'print' });
  assert.equal(await page.isVisible('[data-testid=print]'), false, 'buttons are not printed');
  assert.ok(await page.isVisible('#receipt-code'));
  await shot('09-receipt-print');
  await page.emulateMedia({ media: 'screen' });
  // The printable slip for the villager is one tap away.
  await page.click('[data-testid=slip-link]');
  await page.waitForSelector('[data-testid=slip-code]');
  assert.equal((await page.textContent('[data-testid=slip-code]')).trim(), receiptCode);
  await page.goBack();
  await page.waitForSelector('#receipt-code');

  // English on demand, then back to Vietnamese.
  await page.click('[data-testid=lang-toggle]');
  await page.waitForSelector('h1:has-text("Dossier receipt")');
  await page.waitForSelector('[data-testid=not-protected]:has-text("NOT YET PROTECTED")');
  await shot('10-receipt-en');
  await page.click('[data-testid=lang-toggle]');
  await page.waitForSelector('h1:has-text("Giấy biên nhận hồ sơ")');
}));

test('home lists the sealed dossier as not protected, and the draft is gone', () => step('home', async () => {
  await page.click('[data-testid=home]');
  await page.waitForSelector(`[data-testid=sealed-row]:has-text("${receiptCode}")`);
  assert.match(await page.textContent(`[data-testid=sealed-row]:has-text("${receiptCode}")`), /Chưa bảo vệ/);
  assert.match(await page.textContent('[data-testid=unpaired-warning]'), /1 hồ sơ/);
  assert.equal(await page.$$eval('[data-testid=draft-row]', (r) => r.length), 0);
  await shot('11-home-after');
  assert.deepEqual(pageErrors, [], 'no uncaught errors in the page');
  assert.ok(!consoleLines.some((l) => /Điểu|070190012345/.test(l)), 'no personal data in the console');
}));

// The "3-in-1" for a child under 6: each fact typed once, the rest derived and shown for confirmation,
// communes picked from the hub's list of administrative units.
test('a 3-in-1 dossier: defaults, commune search, derived values shown, sealed with a receipt', () => step('three-in-one', async () => {
  const P3 = 'birth-residence-insurance';
  await page.click(`[data-testid=new-${P3}]`);
  await page.waitForSelector('[name="child.full_name"]');
  // Defaults from the catalogue are pre-filled for confirmation.
  assert.equal(await page.inputValue('[name="child.nationality"]'), 'Việt Nam');
  assert.ok(await page.isChecked('[name="requester.relationship"][value="mother"]'));
  const born = new Date(Date.now() + 7 * 3600e3 - 20 * 86400e3).toISOString().slice(0, 10);
  const bornDayFirst = born.split('-').reverse().join('/');
  // The birth's place starts at the hub's commune (--commune), as does the addressee.
  await page.waitForFunction(() => /Bù Gia Mập/.test(document.querySelector('[data-commune-for="child.place_of_birth_commune"]').value));
  assert.equal(await page.inputValue('input[type=hidden][name="addressee.commune"]'), '25222');
  // An electronic birth certificate by default: its code, not the facility's name, is asked.
  assert.ok(await page.isChecked('[name="birth.proof"][value="e_certificate"]'));
  assert.equal(await page.isVisible('[name="child.place_of_birth"]'), false);
  const typed = {
    'mother.full_name': 'Thị Hoa', 'mother.ethnicity': 'Xtiêng',
    'mother.pin': '070198001234', 'mother.residence_detail': 'Thôn Bù Khơn', 'mother.phone': '0912345678',
    'father.full_name': 'Điểu Minh', 'father.date_of_birth': '02/04/1995', 'father.ethnicity': 'Xtiêng',
    'father.pin': '070095004321',
    'child.full_name': 'Điểu Thị Mai', 'child.date_of_birth': bornDayFirst, 'child.hometown': 'Bình Phước',
    'birth.certificate_code': '79123.GCS.00456.26',
  };
  for (const [k, v] of Object.entries(typed)) await page.fill(`[name="${k}"]`, v);
  // The mother's year of birth is read from her PIN, shown for confirmation.
  await page.waitForSelector('[data-derived-for="mother.date_of_birth"]:not([hidden]):has-text("1998")');
  await page.check('[name="child.sex"][value="female"]');
  await page.check('[name="child.ethnicity_from"][value="mother"]');
  await page.waitForSelector('[data-derived-for="child.ethnicity"]:not([hidden]):has-text("Xtiêng")');
  await page.check('[name="declaration.confirmed"]');
  // The commune picker: typed without diacritics, chosen from the hub's suggestions; the value is the code.
  const search = '[data-commune-for="mother.residence_commune"]';
  await page.fill(search, 'bu gia map');
  await page.waitForSelector('#f-mother\\.residence_commune-list option', { state: 'attached' });
  const label = await page.$eval('#f-mother\\.residence_commune-list option', (o) => o.value);
  assert.match(label, /Bù Gia Mập/);
  await page.fill(search, label);
  assert.equal(await page.inputValue('input[type=hidden][name="mother.residence_commune"]'), '25222');
  // Derived values are shown beside the fields they fill.
  await page.waitForSelector('[data-derived-for="requester.full_name"]:not([hidden]):has-text("Thị Hoa")');
  await page.waitForSelector('[data-derived-for="insurance.name_capitals"]:not([hidden]):has-text("ĐIỂU THỊ MAI")');
  await page.waitForSelector('[data-derived-for="residence.address_commune"]:not([hidden]):has-text("Bù Gia Mập")');
  const inputs = await page.$$eval('.pform input:not([type=hidden]), .pform select, .pform textarea', (els) => els.length);
  await shot('12-three-in-one-derived');
  // Photos of the papers this case needs: only the filer's ID (the birth certificate is electronic); the
  // papers of other cases are not offered.
  assert.equal(await page.isVisible('[data-doc="birth_certificate"]'), false);
  assert.equal(await page.isVisible('[data-doc="witness_statement"]'), false);
  const BIRTH_PHOTO = path.resolve(repo, '../shared/data/photos/giay-chung-sinh.jpg');
  for (const role of ['requester_id']) {
    await page.setInputFiles(`[data-role="${role}"]`, BIRTH_PHOTO);
    await page.waitForFunction((r) => {
      const img = document.querySelector(`[data-doc="${r}"] [data-testid=thumb] img`);
      return img && img.complete && img.naturalWidth > 0;
    }, role, { timeout: 60000 });
  }
  await page.click('[data-testid=save]');
  await page.waitForSelector('[data-testid=save-state][data-state="draft.saved"]');
  const id = decodeURIComponent(page.url().split('#/draft/')[1]);
  const stored = await page.evaluate(async (i) => (await (await fetch('/api/v1/drafts/' + encodeURIComponent(i))).json()), id);
  assert.equal(stored.fields['mother.residence_commune'], '25222');
  assert.equal(stored.fields['child.date_of_birth'], born, 'typed day first, stored as YYYY-MM-DD');
  assert.equal(stored.fields['father.date_of_birth'], '1995-04-02');
  assert.equal(stored.fields['mother.date_of_birth'], undefined, 'the year from the PIN is derived, not typed');
  assert.equal(stored.procedure.version, 2);
  assert.equal(stored.fields['requester.full_name'], undefined, 'derived values are not typed into the draft');
  // Typed inputs are counted on the typical path by the form-effort test (form_effort.test.mjs).
  assert.ok(inputs > 40, `the form has ${inputs} inputs, most of them derived`);
  await page.click('[data-testid=seal]');
  await page.check('[data-testid=seal-readback]');
  await page.click('[data-testid=seal-confirm]');
  await page.waitForSelector('#receipt-code', { timeout: 60000 });
  assert.match((await page.textContent('#receipt-code')).trim(), RECEIPT_RE);
  assert.match(await page.textContent('[data-testid=receipt-procedure]'), /khai sinh/i);
  await shot('13-three-in-one-receipt');

  // The villager withdraws: the officer cancels the sealed dossier with a reason. Nothing is deleted: a
  // cancellation is sealed with its own receipt, and the home list shows both.
  const firstCode = (await page.textContent('#receipt-code')).trim();
  await page.click('[data-testid=void-open]');
  await page.click('[data-testid=void-confirm]');
  await page.waitForSelector('[data-testid=void-error]:not([hidden])');
  await page.fill('[data-testid=void-reason]', 'Người dân rút hồ sơ');
  await page.click('[data-testid=void-confirm]');
  await page.waitForFunction((c) => {
    const el = document.querySelector('#receipt-code');
    return el && el.textContent.trim() !== c;
  }, firstCode);
  await page.waitForSelector('[data-testid=receipt-disposition]:has-text("Huỷ hồ sơ")');
  assert.equal(await page.isVisible('[data-testid=void-open]'), false, 'a cancellation cannot be cancelled');
  await shot('14-void-receipt');
  await page.click('[data-testid=home]');
  await page.waitForSelector(`[data-testid=sealed-row]:has-text("${firstCode}"):has-text("Đã thay thế")`);

  // A draft refused at the session is sealed as refused, with the reason.
  await page.click(`[data-testid=new-${P3}]`);
  await page.waitForSelector('[name="child.full_name"]');
  await page.fill('[name="child.full_name"]', 'Thị Nở');
  await page.click('[data-testid=save]');
  await page.waitForSelector('[data-testid=save-state][data-state="draft.saved"]');
  await page.click('[data-testid=refuse-open]');
  await page.fill('[data-testid=refuse-reason]', 'Không mang giấy chứng sinh');
  await page.click('[data-testid=refuse-confirm]');
  await page.waitForSelector('[data-testid=receipt-disposition]:has-text("Từ chối")');
  assert.deepEqual(pageErrors, [], 'no uncaught errors in the page');
}));
