// The locked start in the browser (issue 19): a field hub whose first admin was set up keeps its data
// encrypted at rest; killed with SIGKILL and started again on the same data directory, it serves the
// public pages and the login but no data until an officer or admin logs in. On a phone (360×740,
// Vietnamese) the login page says the hub is locked and who can unlock it; a queue board left open on a
// TV says it waits for an officer and a villager's pre-declaration page says the same, both carrying on by
// themselves once the hub is unlocked; a volunteer's login is refused with words saying to wait for an
// officer; the admin's login unlocks the hub and the draft saved before the kill is there. A volunteer's
// phone left open on a draft keeps what is typed while the hub is locked and sends it by itself after.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HUB_BIN, ARTIFACTS, hubCli, freePort, launch, login, axeCheck, shot, sleep } from './harness.mjs';

const ADMIN = { name: 'quantri.hoa', password: 'Quan-tri-2026!' };
const VOLUNTEER = { name: 'tnv.binh', role: 'volunteer', password: 'Tinh-nguyen-2026!' };
// A name found nowhere else: searched for in the data directory, then looked for in the drafts list.
const NAME = 'Đinh Thị Khóa Vững';
const VOL_NAME = 'Ka Thị Bình';
const PROC = { id: 'marital-status-certificate', version: 1 };
const PHONE = { width: 360, height: 740 };

let dataDir; let port; let base; let hub = null; let log = '';
let phone; let tv; let villager; let volPhone;
let setupLink = null;

// Starts `hub serve` on dataDir at port; resolves once /healthz answers 200 (a locked hub says so there).
async function serve() {
  hub = spawn(HUB_BIN, ['serve', '--mode', 'field', '--data', dataDir, '--listen', `127.0.0.1:${port}`,
    '--mdns', 'off', '--https-listen', 'off'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, RUST_LOG: process.env.RUST_LOG || 'warn', NO_COLOR: '1' },
  });
  hub.stdout.on('data', (b) => { log += b; });
  hub.stderr.on('data', (b) => { log += b; });
  const end = Date.now() + 60000;
  for (;;) {
    if (hub.exitCode != null) throw new Error(`hub exited with ${hub.exitCode}:\n${log}`);
    try {
      const r = await fetch(base + '/healthz');
      if (r.status === 200) return r.json();
    } catch (_) { /* not yet */ }
    if (Date.now() > end) throw new Error(`hub not healthy within 60 s:\n${log}`);
    await sleep(150);
  }
}

async function kill9() {
  const done = new Promise((r) => hub.once('exit', r));
  hub.kill('SIGKILL');
  await done;
}

// A logged-in API client (cookie + CSRF) for node.
async function apiLogin(user) {
  const r = await fetch(base + '/api/v1/login', { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ name: user.name, password: user.password }) });
  assert.equal(r.status, 200, await r.clone().text());
  const cookie = r.headers.get('set-cookie').split(';')[0];
  const { csrf_token: csrf } = await r.json();
  return async (method, p, body) => {
    const res = await fetch(base + p, { method, headers: { Cookie: cookie, 'X-CSRF-Token': csrf, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    assert.ok(res.ok, `${method} ${p}: ${res.status} ${text}`);
    return text ? JSON.parse(text) : null;
  };
}

const getJson = async (p) => { const r = await fetch(base + p); return { status: r.status, body: await r.json() }; };
const postJson = async (p, body) => {
  const r = await fetch(base + p, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  return { status: r.status, body: await r.json().catch(() => null) };
};

// Every file under dir (recursively) whose bytes contain `needle`.
function filesContaining(dir, needle) {
  const found = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) found.push(...filesContaining(p, needle));
    else if (e.isFile() && fs.readFileSync(p).includes(needle)) found.push(path.relative(dataDir, p));
  }
  return found;
}

async function viewShot(page, name) {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, name + '.png') });
}

before(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hub-browser-locked-'));
  hubCli(['init', '--mode', 'field', '--data', dataDir, '--name', 'Trạm Khe Tre']);
  port = await freePort();
  base = `http://127.0.0.1:${port}`;
  await serve();
  const m = /(\S*\/#\/setup\?token=[^\s]+)/.exec(log);
  assert.ok(m, `no setup link in the hub's output:\n${log}`);
  setupLink = m[1];
  phone = await launch({ viewport: PHONE });
  tv = await launch({ viewport: { width: 1280, height: 720 }, isMobile: false });
  villager = await launch({ viewport: PHONE });
  volPhone = await launch({ viewport: PHONE });
});

after(async () => {
  for (const b of [phone, tv, villager, volPhone]) if (b) await b.close();
  if (hub && hub.exitCode == null) await kill9();
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  fs.writeFileSync(path.join(ARTIFACTS, 'hub-locked.log'), log);
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

let session; let volDraft;

test('the first admin is set up; a draft, a volunteer and a queue are made; the board is open on the TV', async () => {
  const p = phone.page;
  await p.goto(setupLink);
  await p.fill('[data-testid=setup-name]', ADMIN.name);
  await p.fill('[data-testid=setup-password]', ADMIN.password);
  await p.fill('[data-testid=setup-password2]', ADMIN.password);
  await p.click('[data-testid=setup-submit]');
  await p.waitForSelector('[data-testid=who]');
  const { body: setup } = await getJson('/api/v1/setup');
  assert.equal(setup.locked, false, 'a running hub is not locked');

  const api = await apiLogin(ADMIN);
  await api('POST', '/api/v1/users', { name: VOLUNTEER.name, role: VOLUNTEER.role, password: VOLUNTEER.password });
  const d = await api('POST', '/api/v1/drafts', { procedure: PROC, fields: {} });
  await api('PUT', `/api/v1/drafts/${d.id}`, { fields: { 'subject.full_name': NAME }, version: d.version });
  session = (await api('POST', '/api/v1/outreach/sessions', { hamlet: 'Thôn Khe Tre', venue_kind: 'cultural_house', venue_name: 'Nhà văn hoá thôn Khe Tre' })).id;
  await api('POST', `/api/v1/outreach/sessions/${session}/tickets`, {});
  await api('POST', `/api/v1/outreach/sessions/${session}/desks/police/call-next`);

  await tv.page.goto(base + '/#/board');
  await tv.page.waitForFunction(() => document.querySelector('[data-testid=board-police]')?.textContent === '1');

  // A volunteer at work on a new draft of their own.
  const vp = volPhone.page;
  await login(vp, base, VOLUNTEER);
  await vp.click(`[data-testid=new-${PROC.id}]`);
  await vp.waitForURL(/#\/draft\/[0-9a-f-]{36}$/);
  volDraft = /#\/draft\/(.+)$/.exec(vp.url())[1];
  await vp.fill('[name="requester.full_name"]', VOL_NAME);
  await vp.waitForSelector('[data-testid=save-state][data-state="draft.saved"]', { timeout: 15000 });
  await vp.evaluate(() => navigator.serviceWorker.ready);
});

test('killed and started again, the hub is locked: the data directory holds no name, the login page says who unlocks', async () => {
  await kill9();
  // The volunteer's phone loses the Wi-Fi meanwhile and the app is reopened: it opens the draft from the
  // phone, without a session token.
  const vp = volPhone.page;
  await volPhone.context.setOffline(true);
  await vp.reload();
  await vp.waitForSelector('[data-testid=offline-bar]');
  await vp.waitForSelector('[name="requester.phone"]');
  // Everything the hub wrote, as a thief would copy it: the draft's name is nowhere in plain bytes.
  for (const name of [NAME, VOL_NAME]) assert.deepEqual(filesContaining(dataDir, Buffer.from(name, 'utf8')), [], `files holding ${name} in plaintext`);
  const health = await serve();
  assert.equal(health.status, 'locked');
  const { body: setup } = await getJson('/api/v1/setup');
  assert.equal(setup.locked, true);
  assert.equal(setup.needs_setup, false);
  const drafts = await getJson('/api/v1/drafts');
  assert.equal(drafts.status, 503);
  assert.equal(drafts.body.error.code, 'hub_locked');

  // Back on the Wi-Fi, the hub now locked: the volunteer keeps typing; kept on the phone, said why it waits.
  await volPhone.context.setOffline(false);
  await vp.waitForSelector('[data-testid=offline-bar]', { state: 'hidden', timeout: 20000 });
  await vp.fill('[name="requester.phone"]', '0912345678');
  // (Under load a second keep on the phone may show "kept" for a moment before the hub's answer.)
  await vp.waitForFunction(() => {
    const el = document.querySelector('[data-testid=save-state]');
    return el && el.dataset.state === 'draft.locked_kept' && /Trạm đang khóa — đã giữ trên máy, tự gửi khi cán bộ mở khóa trạm/.test(el.textContent);
  }, null, { timeout: 15000 });
  // The phone's outbox keeps it as waiting (tried again every 15 s), not as failed.
  const kept = await vp.evaluate((id) => new Promise((resolve, reject) => {
    const q = indexedDB.open('outreach-kit');
    q.onerror = reject;
    q.onsuccess = () => {
      const all = q.result.transaction('drafts').objectStore('drafts').getAll();
      all.onerror = reject;
      all.onsuccess = () => resolve((all.result.find((r) => r.k.endsWith('|' + id)) || {}).state);
    };
  }), volDraft);
  assert.equal(kept, 'waiting');
  await viewShot(vp, 'locked-draft-kept-vi-360');

  const p = phone.page;
  // The admin's phone, still on the home page from before: reloaded.
  await p.reload();
  const note = p.locator('[data-testid=locked-banner]');
  await note.waitFor();
  assert.match(p.url(), /#\/login$/);
  const text = await note.textContent();
  assert.match(text, /Trạm đang khóa sau khi khởi động lại/);
  assert.match(text, /Cán bộ hoặc quản trị viên đăng nhập để mở khóa/);
  assert.match(text, /Tình nguyện viên: hãy chờ cán bộ mở khóa/);
  assert.equal(text, text.normalize('NFC'));
  // The banner comes before the form, and the form is there to unlock with.
  assert.ok(await p.locator('[data-testid=locked-banner] ~ [data-testid=login-form]').count() === 1, 'banner above the form');
  const w = await p.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(w <= PHONE.width, `the page is ${w} px wide`);
  await axeCheck(p, 'login on a locked hub');
  await viewShot(p, 'locked-login-vi-360');
  // English second: one tap on the language button.
  await p.click('#lang-toggle');
  await p.waitForFunction(() => /The hub is locked after a restart/.test(document.querySelector('[data-testid=locked-banner]')?.textContent || ''));
  assert.match(await note.textContent(), /An officer or admin logs in to unlock it/);
  await p.click('#lang-toggle');
  await p.waitForFunction(() => /Trạm đang khóa/.test(document.querySelector('[data-testid=locked-banner]')?.textContent || ''));
  assert.deepEqual(phone.errors, []);
});

test('while locked the board and a villager page say they wait for an officer', async () => {
  // The TV's board was left open across the kill: it says the hub is locked, in both languages.
  const tvp = tv.page;
  await tvp.waitForSelector('[data-testid=board-status][data-state=locked]', { timeout: 15000 });
  assert.match(await tvp.textContent('[data-testid=board-status]'), /Trạm đang khóa — chờ cán bộ mở khóa/);
  assert.match(await tvp.textContent('[data-testid=board-locked]'), /Trạm đang khóa — chờ cán bộ mở khóa/);
  assert.match(await tvp.textContent('[data-testid=board-locked]'), /waiting for an officer/);
  await shot(tvp, 'locked-board-tv');

  // A villager opens the pre-declaration from the wall QR on a phone.
  const v = villager.page;
  await v.goto(`${base}/#/predeclare/${PROC.id}`);
  const wait = v.locator('[data-testid=locked-wait]');
  await wait.waitFor();
  assert.match(await wait.textContent(), /Trạm đang khóa — chờ cán bộ mở khóa/);
  assert.match(await wait.textContent(), /tự tiếp tục/);
  assert.equal(await v.locator('[data-testid=view-error]').count(), 0, 'no generic error');
  assert.equal(await v.locator('[data-testid=locked-unlock]').count(), 0, 'no login link on a villager page');
  assert.equal(await v.getAttribute('[data-testid=locked-guides]', 'href'), '#/guides');
  await axeCheck(v, 'pre-declaration on a locked hub');
  await viewShot(v, 'locked-predeclare-vi-360');
  // Meanwhile the public guides keep working; a receipt's status (the slip's QR) waits too; the board on a
  // phone says it is locked.
  const b2 = await villager.context.newPage();
  await b2.goto(`${base}/#/r/0576473139788?k=0576473139788`);
  await b2.waitForSelector('[data-testid=locked-wait]');
  assert.equal(await b2.locator('[data-testid=status-error]').count(), 0, 'no "unknown receipt" while locked');
  await b2.goto(base + '/#/guides');
  await b2.waitForSelector('[data-testid=guide-row]');
  await b2.goto(base + '/#/board');
  await b2.waitForSelector('[data-testid=board-status][data-state=locked]', { timeout: 15000 });
  const w = await b2.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(w <= PHONE.width, `the board is ${w} px wide`);
  await viewShot(b2, 'locked-board-vi-360');
  await b2.close();
});

test('a volunteer cannot unlock: refused in plain words; a wrong password stays a wrong password', async () => {
  const api = await postJson('/api/v1/login', { name: VOLUNTEER.name, password: VOLUNTEER.password });
  assert.equal(api.status, 503);
  assert.equal(api.body.error.code, 'hub_locked');
  const wrong = await postJson('/api/v1/login', { name: ADMIN.name, password: 'not-the-password' });
  assert.equal(wrong.status, 401);
  assert.equal(wrong.body.error.code, 'bad_credentials');

  const p = phone.page;
  await p.fill('[data-testid=login-name]', VOLUNTEER.name);
  await p.fill('[data-testid=login-password]', VOLUNTEER.password);
  await p.click('[data-testid=login-submit]');
  const err = p.locator('[data-testid=form-error]');
  await err.waitFor();
  assert.match(await err.textContent(), /Tài khoản này không mở khóa được trạm\. Hãy chờ cán bộ hoặc quản trị viên đăng nhập để mở khóa/);
  assert.match(p.url(), /#\/login$/);
  assert.equal(await p.locator('[data-testid=who]').count(), 0, 'nobody signed in');
  await viewShot(p, 'locked-volunteer-refused-vi-360');
  assert.equal((await getJson('/api/v1/setup')).body.locked, true, 'still locked');
});

test('the admin logs in: the hub unlocks, the draft is there, the board and the villager page carry on by themselves', async (t) => {
  const p = phone.page;
  await p.fill('[data-testid=login-name]', ADMIN.name);
  await p.fill('[data-testid=login-password]', ADMIN.password);
  const t0 = Date.now();
  await p.click('[data-testid=login-submit]');
  await p.waitForSelector('[data-testid=who]');
  await p.waitForFunction(() => /Đã mở khóa trạm/.test(document.querySelector('#flash')?.textContent || ''));
  const rows = p.locator('[data-testid=drafts]');
  await rows.waitFor();
  assert.match(await rows.textContent(), new RegExp(NAME));
  await viewShot(p, 'locked-unlocked-home-vi-360');
  assert.equal((await getJson('/api/v1/setup')).body.locked, false);
  // Nobody touches the TV: within a few seconds it shows the numbers again.
  const tvp = tv.page;
  await tvp.waitForFunction(() => document.querySelector('[data-testid=board-police]')?.textContent === '1', null, { timeout: 15000 });
  const boardMs = Date.now() - t0;
  assert.ok(['polling', 'live'].includes(await tvp.getAttribute('[data-testid=board-status]', 'data-state')));
  assert.equal(await tvp.locator('[data-testid=board-locked]').count(), 0);
  // Nor the villager's phone: the pre-declaration's first question comes up.
  await villager.page.waitForSelector('form.oneq[data-step="1"]', { timeout: 15000 });
  const selfMs = Date.now() - t0;
  t.diagnostic(`unlock -> board back ${boardMs} ms, pre-declaration back ${selfMs} ms`);
  assert.ok(boardMs < 10000 && selfMs < 10000, `recovered in ${boardMs} / ${selfMs} ms`);
  // The volunteer's phone sends what was typed while locked (its outbox retries every 15 s).
  await volPhone.page.waitForSelector('[data-testid=save-state][data-state="draft.saved"]', { timeout: 40000 });
  t.diagnostic(`unlock -> the volunteer's typing on the hub ${Date.now() - t0} ms`);
  // The volunteer logs in as usual now, and the hub has the typing.
  const vapi = await apiLogin(VOLUNTEER);
  const d = await vapi('GET', `/api/v1/drafts/${volDraft}`);
  assert.equal(d.fields['requester.phone'], '0912345678');
  for (const b of [phone, tv, villager, volPhone]) assert.deepEqual(b.errors, []);
});
