// Receipts on a thermal printer from the slip page (issue 21), on a real field hub in headless Chromium, on a
// 360×740 phone in Vietnamese. The hub's USB printer is a virtual one: a regular file given as `--printer`,
// which receives exactly the bytes a printer would (its directory is missing at first: the printer is
// "unplugged"). Bluetooth is a fake `navigator.bluetooth` (injected before the app loads) whose printer
// records every GATT write. Both paths must send exactly the bytes the hub serves at GET .../escpos for the
// same receipt, printer type and language; a receipt printed before is printed again only after the officer
// confirms in the page's own dialog.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startHub, launch, login, axeCheck, scanVietnameseScreen, shot, sleep, freePort, SHARED, ARTIFACTS, apiLogin, maritalDraft } from './harness.mjs';

const OFFICER = { name: 'canbo.lan', role: 'officer', password: 'Can-bo-2026!' };
const PHONE = { viewport: { width: 360, height: 740 } };
const CHUNK = 180;

// A sealed marital-status dossier whose slip is in `slipLang` first, then Vietnamese; returns its code.
async function sealed(api, slipLang) {
  const id = await maritalDraft(api);
  const s = await api('POST', `/api/v1/drafts/${id}/seal`, { slip_lang: slipLang });
  assert.equal(s.status, 201, JSON.stringify(s.body));
  return s.body.code;
}

// The bytes the hub serves for a receipt (what a printer must get).
async function escpos(api, code, profile, lang) {
  const r = await api('GET', `/api/v1/receipts/${code}/escpos?profile=${profile}&lang=${lang}`);
  assert.equal(r.status, 200, `GET escpos: ${r.status} ${JSON.stringify(r.body)}`);
  assert.equal(r.headers.get('x-profile'), profile);
  return r.body;
}

// A fake Web Bluetooth printer (service 0x18f0, characteristic 0x2af1, write without response) that records
// every write in window.__bt. window.__bt.mode: 'ok', 'cancel' (the officer closes the chooser); failAt: the
// index of the write during which the printer drops the link. window.__btMtu, when set before: the ATT MTU
// the browser reports (maxWriteWithoutResponseSize = MTU - 3); unset, the browser says nothing (Chrome today).
function fakeBluetooth() {
  const log = { writes: [], requests: 0, connects: 0, options: null, mode: 'ok', failAt: -1, withResponse: 0 };
  window.__bt = log;
  const full = (n) => `0000${n.toString(16)}-0000-1000-8000-00805f9b34fb`;
  const device = new EventTarget();
  const server = {
    connected: false, device, maxWriteWithoutResponseSize: window.__btMtu ? window.__btMtu - 3 : undefined,
    async connect() { server.connected = true; log.connects++; return server; },
    disconnect() { server.connected = false; },
    async getPrimaryService(u) {
      if (u === service.uuid) return service;
      throw new DOMException('No Services matching UUID found in Device.', 'NotFoundError');
    },
  };
  const write = async (v) => {
    if (!server.connected) throw new DOMException('GATT Server is disconnected.', 'NetworkError');
    if (log.failAt === log.writes.length) {
      log.failAt = -1;
      server.connected = false;
      device.dispatchEvent(new Event('gattserverdisconnected'));
      throw new DOMException('GATT operation failed for unknown reason.', 'NetworkError');
    }
    const b = v instanceof ArrayBuffer ? new Uint8Array(v) : new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
    log.writes.push(Array.from(b));
  };
  const ch = {
    uuid: full(0x2af1), properties: { write: true, writeWithoutResponse: true },
    writeValueWithoutResponse: write,
    async writeValueWithResponse(v) { log.withResponse++; return write(v); },
  };
  const service = {
    uuid: full(0x18f0),
    async getCharacteristic(u) {
      if (u === ch.uuid) return ch;
      throw new DOMException('No Characteristics matching UUID found in Service.', 'NotFoundError');
    },
    async getCharacteristics() { return [ch]; },
  };
  Object.assign(device, { id: 'fake-printer', name: 'MTP-II', gatt: server });
  const bluetooth = {
    async getAvailability() { return true; },
    async requestDevice(options) {
      log.requests++;
      log.options = JSON.parse(JSON.stringify(options));
      if (log.mode === 'cancel') throw new DOMException('User cancelled the requestDevice() chooser.', 'NotFoundError');
      return device;
    },
  };
  Object.defineProperty(Navigator.prototype, 'bluetooth', { get: () => bluetooth, configurable: true });
}

let hub; let api; let tmp; let lp; let httpsPort;
const size = () => (fs.existsSync(lp) ? fs.statSync(lp).size : 0);
const tail = (from) => fs.readFileSync(lp).subarray(from);

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hub-printer-'));
  lp = path.join(tmp, 'usb', 'lp0'); // its directory does not exist yet: no printer plugged in
  httpsPort = await freePort();
  hub = await startHub({ mode: 'field', users: [OFFICER], args: ['--printer', lp, '--https-listen', `127.0.0.1:${httpsPort}`] });
  api = await apiLogin(hub.base, OFFICER);
});

after(async () => {
  if (hub) await hub.stop();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

// Opens the slip of `code` and waits for the thermal panel and its preview.
async function openSlip(page, code) {
  await page.goto(`${hub.base}/#/slip/${code}`);
  await page.waitForSelector('[data-testid=thermal]');
  await page.waitForFunction(() => { const i = document.querySelector('[data-testid=thermal-preview]'); return i && i.complete && i.naturalWidth > 0; });
}

// The printer plugged in (the first test plugs it in; a test run alone does it here).
function plugIn() {
  fs.mkdirSync(path.dirname(lp), { recursive: true });
  if (!fs.existsSync(lp)) fs.writeFileSync(lp, '');
}

const banner = (page) => page.evaluate(() => {
  const b = document.querySelector('[data-testid=thermal-status] .banner');
  return b ? { kind: b.className.replace('banner ', ''), title: b.querySelector('.b-title').textContent, text: b.innerText } : null;
});

test('printer unplugged: the error in Vietnamese with what to do, then "In lại" prints once it is plugged in', async () => {
  const code = await sealed(api, 'en');
  const p = await api('GET', '/api/v1/printer');
  assert.equal(p.status, 200);
  assert.equal(p.body.state, 'absent', JSON.stringify(p.body));
  const phone = await launch(PHONE);
  const { page } = phone;
  try {
    await login(page, hub.base, OFFICER);
    await openSlip(page, code);
    await page.waitForSelector('.thermal-hub[data-state=absent]');
    assert.match(await page.textContent('[data-testid=thermal-hub-state]'), /không thấy/);
    await page.click('[data-testid=thermal-print]');
    await page.waitForSelector('[data-testid=thermal-danger]');
    const b = await banner(page);
    assert.equal(b.title, 'Không thấy máy in của trạm');
    assert.match(b.text, /Cắm dây USB của máy in vào trạm và bật máy in, chờ 3 giây, rồi bấm “In lại”/);
    assert.equal(await page.textContent('[data-testid=thermal-retry]'), 'In lại');
    await shot(page, 'thermal-01-unplugged-360');
    assert.equal(size(), 0, 'nothing written anywhere');

    // The printer is plugged in: "In lại" prints, and the state line follows.
    plugIn();
    await page.click('[data-testid=thermal-retry]');
    await page.waitForSelector('[data-testid=thermal-ok]');
    assert.match((await banner(page)).title, /^Đã in lúc \d{2}:\d{2}$/);
    const want = await escpos(api, code, 'generic-58', 'en');
    assert.ok(size() > 1000, `the printer got the receipt (${size()} bytes)`);
    assert.ok(tail(0).equals(want), `the printer got exactly GET escpos (${size()} vs ${want.length} bytes)`);
    await page.waitForSelector('.thermal-hub[data-state=ready]', { timeout: 10000 });
    assert.deepEqual(phone.errors, []);
  } finally { await phone.close(); }
});

test('"In biên nhận" prints the receipt on the hub printer; a second tap asks first, then prints one more copy', async () => {
  plugIn();
  const code = await sealed(api, 'en');
  const phone = await launch(PHONE);
  const { page } = phone;
  try {
    await login(page, hub.base, OFFICER);
    await openSlip(page, code);
    await page.waitForSelector('.thermal-hub[data-state=ready]');
    assert.equal(await page.textContent('[data-testid=thermal-print]'), 'In biên nhận');
    assert.match(await page.textContent('[data-testid=thermal-hub-state]'), /sẵn sàng/);
    // The preview: the printer's raster, one pixel per dot, scaled to the phone's width.
    const pv = await page.evaluate(() => { const i = document.querySelector('[data-testid=thermal-preview]'); const r = i.getBoundingClientRect(); return { w: i.naturalWidth, h: i.naturalHeight, shown: r.width, alt: i.alt }; });
    assert.equal(pv.w, 384, '58 mm: 384 dots');
    assert.ok(pv.shown <= 360 && pv.shown > 250, `shown ${pv.shown} px wide on a 360 px phone`);
    assert.match(pv.alt, /Marital status|tình trạng hôn nhân/i, 'the alternative text is the slip as laid out');
    assert.match(await page.textContent('[data-testid=thermal-length]'), /^Dài khoảng \d+,\d cm giấy\.$/);
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 360, `no sideways scroll (${width})`);
    await axeCheck(page, 'slip page with the thermal printer panel');
    await shot(page, 'thermal-02-before-360');

    const posts = [];
    page.on('request', (q) => { if (q.method() === 'POST' && q.url().endsWith('/print')) posts.push({ key: q.headers()['idempotency-key'], body: q.postDataJSON() }); });
    const before0 = size();
    await page.click('[data-testid=thermal-print]');
    await page.waitForSelector('[data-testid=thermal-ok]');
    const first = tail(before0);
    const want = await escpos(api, code, 'generic-58', 'en');
    assert.ok(first.equals(want), `the hub printer got exactly GET escpos (${first.length} vs ${want.length} bytes)`);
    const title = (await banner(page)).title;
    assert.match(title, /^Đã in lúc \d{2}:\d{2}$/);
    await page.locator('[data-testid=thermal-status]').scrollIntoViewIfNeeded();
    await shot(page, 'thermal-03-printed-360');

    // Again: the page's own dialog asks, naming the time of the first print; "Thôi" prints nothing.
    const before1 = size();
    await page.click('[data-testid=thermal-print]');
    await page.waitForSelector('#ask[open]');
    const when = title.replace('Đã in lúc ', '');
    assert.equal(await page.textContent('#ask-text'), `Biên nhận này đã in lúc ${when}. In thêm một bản?`);
    assert.equal(await page.textContent('[data-testid=confirm-yes]'), 'In thêm một bản');
    await page.screenshot({ path: path.join(ARTIFACTS, 'thermal-04-confirm-360.png') }); // the dialog, as the phone shows it
    await page.click('[data-testid=confirm-no]');
    await sleep(300);
    assert.equal(size(), before1, 'not printed without a yes');
    await page.click('[data-testid=thermal-print]');
    await page.waitForSelector('#ask[open]');
    await page.click('[data-testid=confirm-yes]');
    await page.waitForFunction(() => /bản thứ 2/.test(document.querySelector('[data-testid=thermal-status]').innerText));
    assert.ok(tail(before1).equals(want), 'the second copy: the same bytes');
    // One Idempotency-Key per tap (a resend of the same request would print once), never reused by another.
    assert.deepEqual(posts.map((x) => [x.body.via, x.body.again === true]), [['hub', false], ['hub', false], ['hub', false], ['hub', true]]);
    assert.ok(posts.every((x) => /^[0-9a-f-]{36}$/.test(x.key || '')), JSON.stringify(posts.map((x) => x.key)));
    assert.equal(new Set(posts.map((x) => x.key)).size, posts.length);
    assert.deepEqual(posts.map((x) => [x.body.profile, x.body.lang]), posts.map(() => ['generic-58', 'en']));

    // The printer type: remembered on the phone; 80 mm is 576 dots.
    await page.selectOption('[data-testid=thermal-profile]', 'generic-80');
    await page.waitForFunction(() => document.querySelector('[data-testid=thermal-preview]').naturalWidth === 576);
    await page.reload();
    await page.waitForSelector('[data-testid=thermal]');
    assert.equal(await page.inputValue('[data-testid=thermal-profile]'), 'generic-80');
    await page.selectOption('[data-testid=thermal-profile]', 'generic-58');
    assert.deepEqual(phone.errors, []);
  } finally { await phone.close(); }
});

test('Web Bluetooth: the phone writes exactly the hub\'s bytes in chunks, the print is recorded, and the errors say what to do', async () => {
  plugIn();
  const code = await sealed(api, 'en');
  const phone = await launch(PHONE);
  const { page } = phone;
  await page.addInitScript(fakeBluetooth);
  try {
    await login(page, hub.base, OFFICER);
    await openSlip(page, code);
    assert.equal(await page.evaluate(() => window.isSecureContext), true, 'http://127.0.0.1 is a secure context for Chromium');
    assert.equal(await page.textContent('[data-testid=thermal-print-bt]'), 'In qua Bluetooth');
    assert.equal(await page.isVisible('[data-testid=thermal-bt-forget]'), false, 'no "another printer" before one was chosen');

    // The officer closes the chooser: a quiet note, no error.
    await page.evaluate(() => { window.__bt.mode = 'cancel'; });
    await page.click('[data-testid=thermal-print-bt]');
    await page.waitForFunction(() => /Chưa chọn máy in Bluetooth/.test(document.querySelector('[data-testid=thermal-status]').innerText));
    assert.equal((await banner(page)).kind, 'info', 'a quiet note, not an error');
    assert.equal(await page.locator('[data-testid=thermal-retry]').count(), 0);
    assert.equal(await page.isVisible('[data-testid=thermal-bt-forget]'), false);
    await page.evaluate(() => { window.__bt.mode = 'ok'; });

    // The printer drops the link in the middle: the error with "In lại"; the retry reconnects to the same
    // printer (no chooser) and sends the whole receipt again.
    await page.evaluate(() => { window.__bt.failAt = 5; });
    await page.click('[data-testid=thermal-print-bt]');
    await page.waitForSelector('[data-testid=thermal-danger]');
    assert.equal((await banner(page)).title, 'Mất kết nối với máy in Bluetooth trong lúc in');
    assert.match((await banner(page)).text, /để cách điện thoại dưới 2 mét/);
    await page.evaluate(() => { window.__bt.writes = []; });
    await page.click('[data-testid=thermal-retry]');
    await page.waitForSelector('[data-testid=thermal-ok]');
    const bt = await page.evaluate(() => window.__bt);
    assert.equal(bt.requests, 2, 'the chooser: once when cancelled, once for the printer; not for the retry');
    assert.ok(!bt.options.acceptAllDevices, 'filters, not acceptAllDevices');
    const services = bt.options.filters.flatMap((f) => f.services || []);
    for (const s of ['000018f0-0000-1000-8000-00805f9b34fb', '0000ff00-0000-1000-8000-00805f9b34fb', '0000ffe0-0000-1000-8000-00805f9b34fb', 'e7810a71-73ae-499d-8c15-faa9aef0c3f2']) {
      assert.ok(services.includes(s) && bt.options.optionalServices.includes(s), `service ${s} asked for`);
    }
    assert.ok(bt.options.filters.some((f) => f.namePrefix === 'MTP'), 'name prefixes of common printers');
    const want = await escpos(api, code, 'generic-58', 'en');
    const sent = Buffer.from(bt.writes.flat());
    assert.ok(sent.equals(want), `the phone wrote exactly GET escpos (${sent.length} vs ${want.length} bytes)`);
    assert.ok(bt.writes.every((w) => w.length <= CHUNK), `every write ≤ ${CHUNK} bytes`);
    assert.equal(bt.writes.length, Math.ceil(want.length / CHUNK));
    assert.equal(bt.withResponse, 0, 'writes without response when the printer takes them');
    assert.match((await banner(page)).title, /^Đã in lúc \d{2}:\d{2}$/);
    assert.equal(await page.isVisible('[data-testid=thermal-bt-forget]'), true, 'the printer is remembered: "another printer" offered');
    await page.locator('[data-testid=thermal-status]').scrollIntoViewIfNeeded();
    await shot(page, 'thermal-05-bluetooth-printed-360');

    // Recorded on the hub: the hub printer now asks first; yes prints the same bytes the phone sent.
    const before1 = size();
    await page.click('[data-testid=thermal-print]');
    await page.waitForSelector('#ask[open]');
    assert.match(await page.textContent('#ask-text'), /^Biên nhận này đã in lúc \d{2}:\d{2}\. In thêm một bản\?$/);
    await page.click('[data-testid=confirm-yes]');
    await page.waitForFunction(() => /bản thứ 2/.test(document.querySelector('[data-testid=thermal-status]').innerText));
    assert.ok(tail(before1).equals(sent), 'the hub\'s USB output equals the phone\'s Bluetooth bytes');

    // A second Bluetooth print asks before it writes anything.
    await page.evaluate(() => { window.__bt.writes = []; });
    await page.click('[data-testid=thermal-print-bt]');
    await page.waitForSelector('#ask[open]');
    await page.click('[data-testid=confirm-no]');
    await sleep(300);
    assert.equal(await page.evaluate(() => window.__bt.writes.length), 0, 'nothing written without a yes');

    // A page opened afresh learns of the earlier prints from the hub (GET …/thermal `printed`) and asks
    // before writing too; yes prints, and the copy is recorded as the third.
    await page.reload();
    await page.waitForSelector('[data-testid=thermal-print-bt]');
    await page.waitForFunction(() => /Dài khoảng/.test(document.querySelector('[data-testid=thermal-length]').innerText));
    await page.click('[data-testid=thermal-print-bt]');
    await page.waitForSelector('#ask[open]');
    assert.match(await page.textContent('#ask-text'), /^Biên nhận này đã in lúc \d{2}:\d{2}\. In thêm một bản\?$/);
    await page.click('[data-testid=confirm-yes]');
    await page.waitForFunction(() => /bản thứ 3/.test(document.querySelector('[data-testid=thermal-status]').innerText));
    assert.ok(Buffer.from((await page.evaluate(() => window.__bt.writes)).flat()).equals(want));
    const printed = await api('POST', `/api/v1/receipts/${code}/print`, { via: 'phone' });
    assert.equal(printed.status, 409, 'the hub counts the copies: printed before');
    assert.match(printed.body.error.message_vi, /đã in 3 lần/);

    // The villager's language picked on the slip page is what the preview (and a print) uses.
    await page.selectOption('[data-testid=slip-lang]', 'vi');
    await page.waitForFunction(() => /lang=vi/.test(document.querySelector('[data-testid=thermal-preview]').src));
    assert.deepEqual(phone.errors, []);
  } finally { await phone.close(); }
});

// A team phone reaches the slip page only logged in, and its session cookie is `Secure` (__Host-): in real
// use the page is on HTTPS or on the hub's own loopback, both secure contexts. Should it ever be opened
// where the browser withholds Web Bluetooth (not a secure context), it says where Bluetooth printing works:
// simulated here (isSecureContext false, no navigator.bluetooth, as Chromium does on plain HTTP).
test('not a secure context: the page says Bluetooth printing needs the hub\'s https:// address, and links it', async () => {
  const code = await sealed(api, 'vi');
  const phone = await launch(PHONE);
  const { page } = phone;
  try {
    await login(page, hub.base, OFFICER);
    // After logging in (the login page itself wants a secure context), in the same document: the slip opens
    // by its hash, as from the receipt screen.
    await page.evaluate(() => {
      Object.defineProperty(window, 'isSecureContext', { get: () => false, configurable: true });
      delete Navigator.prototype.bluetooth;
      location.hash = '#/';
    });
    await page.evaluate((c) => { location.hash = `#/slip/${c}`; }, code);
    await page.waitForSelector('[data-testid=thermal]');
    assert.equal(await page.evaluate(() => window.isSecureContext || 'bluetooth' in navigator), false);
    assert.equal(await page.locator('[data-testid=thermal-print-bt]').count(), 0, 'no Bluetooth button');
    const note = await page.textContent('[data-testid=thermal-bt-https]');
    assert.match(note, /In qua Bluetooth chỉ chạy khi mở trang bằng địa chỉ bảo mật https:\/\/ của trạm\./);
    const href = await page.getAttribute('[data-testid=thermal-bt-https-link]', 'href');
    assert.match(href, new RegExp(`^https://[^/]+:${httpsPort}/#/slip/${code}$`), href);
    assert.equal(await page.isVisible('[data-testid=thermal-print]'), true, 'the hub printer works from any address');
    await page.locator('[data-testid=thermal]').scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(ARTIFACTS, 'thermal-06-https-note-360.png') });
    assert.deepEqual(phone.errors, []);
  } finally { await phone.close(); }
});

test('a hub with --printer off: no hub print button, Bluetooth printing still offered', async () => {
  const off = await startHub({ mode: 'field', users: [OFFICER], args: ['--printer', 'off'] });
  const phone = await launch(PHONE);
  const { page } = phone;
  // This phone and printer agreed on a 103-byte ATT MTU, and the browser says so (maxWriteWithoutResponseSize).
  await page.addInitScript(() => { window.__btMtu = 103; });
  await page.addInitScript(fakeBluetooth);
  try {
    const offApi = await apiLogin(off.base, OFFICER);
    const code = await sealed(offApi, 'vi');
    const p = await offApi('GET', '/api/v1/printer');
    assert.deepEqual([p.body.setting, p.body.state, p.body.device], ['off', 'off', null]);
    await login(page, off.base, OFFICER);
    await page.goto(`${off.base}/#/slip/${code}`);
    await page.waitForSelector('.thermal-hub[data-state=off]', { state: 'attached' });
    assert.equal(await page.isVisible('[data-testid=thermal-print]'), false, 'no hub print button');
    assert.equal(await page.isVisible('[data-testid=thermal-print-bt]'), true);
    await page.click('[data-testid=thermal-print-bt]');
    // While it sends: how far, in Vietnamese.
    await page.waitForFunction(() => /^Đang gửi ([1-9]|[1-9]\d)%$/.test(document.querySelector('[data-testid=thermal-status] .b-title')?.textContent || ''));
    await page.locator('[data-testid=thermal-status]').scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(ARTIFACTS, 'thermal-07-bluetooth-sending-360.png') });
    await page.waitForSelector('[data-testid=thermal-ok]');
    await scanVietnameseScreen(page, 'slip page after a Bluetooth print');
    const sent = Buffer.from((await page.evaluate(() => window.__bt.writes)).flat());
    assert.ok(sent.equals(await escpos(offApi, code, 'generic-58', 'vi')));
    const lens = await page.evaluate(() => window.__bt.writes.map((w) => w.length));
    assert.ok(lens.every((n) => n <= 100) && lens[0] === 100, `writes fit the negotiated size: ${lens.slice(0, 3)}…`);
    assert.deepEqual(phone.errors, []);
  } finally { await phone.close(); await off.stop(); }
});

// Before a session, with no receipt yet: #/printer (menu "Máy in") prints the test page on the hub's printer
// and from the phone over Bluetooth; both send exactly the hub's test-page bytes for the chosen type.
test('#/printer: the test page prints on the hub printer and over Bluetooth, exactly the hub\'s bytes', async () => {
  plugIn();
  const phone = await launch(PHONE);
  const { page } = phone;
  await page.addInitScript(fakeBluetooth);
  try {
    await login(page, hub.base, OFFICER);
    await page.goto(`${hub.base}/#/printer`);
    await page.waitForSelector('[data-testid=thermal]');
    await page.waitForFunction(() => { const i = document.querySelector('[data-testid=thermal-preview]'); return i && i.complete && i.naturalWidth > 0; });
    assert.equal(await page.textContent('h1'), 'Máy in biên nhận');
    assert.match(await page.getAttribute('[data-testid=thermal-preview]', 'src'), /\/api\/v1\/printer\/test\.png\?profile=generic-58$/);
    await shot(page, 'thermal-08-test-page-360');
    await scanVietnameseScreen(page);

    const want = await api('GET', '/api/v1/printer/test.escpos?profile=generic-58');
    assert.equal(want.status, 200);
    const before1 = size();
    await page.click('[data-testid=thermal-print]');
    await page.waitForFunction(() => /Đã in trang thử/.test(document.querySelector('[data-testid=thermal-status]').innerText));
    assert.ok(tail(before1).equals(want.body), 'the hub printer got the test page bytes');
    assert.match(await page.textContent('[data-testid=thermal-status]'), /dài khoảng \d+,\d cm/, 'the decimal comma in Vietnamese');
    await shot(page, 'thermal-09-test-printed-360');

    // The 80 mm type: its own bytes, over Bluetooth; nothing is recorded against a receipt.
    await page.selectOption('[data-testid=thermal-profile]', 'generic-80');
    await page.waitForFunction(() => /profile=generic-80/.test(document.querySelector('[data-testid=thermal-preview]').src));
    const want80 = await api('GET', '/api/v1/printer/test.escpos?profile=generic-80');
    await page.click('[data-testid=thermal-print-bt]');
    await page.waitForFunction(() => /Đã in trang thử/.test(document.querySelector('[data-testid=thermal-status]').innerText));
    const sent = Buffer.from((await page.evaluate(() => window.__bt.writes)).flat());
    assert.ok(sent.equals(want80.body), 'the Bluetooth printer got the 80 mm test page bytes');
    assert.notDeepEqual(want80.body, want.body);
    assert.deepEqual(phone.errors, []);
  } finally { await phone.close(); }
});
