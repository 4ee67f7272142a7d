// The hub's clock through the real UI: a field hub whose system clock reads five years behind (the hidden
// test hook --clock-skew-seconds, standing in for a Raspberry Pi that booted without a real-time clock).
// A volunteer sees "ask an officer"; the officer's seal is refused, the seal step shows hub time vs this
// phone's time, one tap on "Dùng giờ của điện thoại này" confirms it, and the dossier seals with today's
// time. axe-core runs on the pages with the banner.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startHub, launch, login, axeCheck, shot, SHARED } from './harness.mjs';

const OFFICER = { name: 'canbo.an', role: 'officer', password: 'Can-bo-2026!' };
const VOLUNTEER = { name: 'tnv.hoa', role: 'volunteer', password: 'Tinh-nguyen-2026!' };
const FIVE_YEARS_S = 5 * 365 * 86400;
let hub; let b;

before(async () => {
  hub = await startHub({ mode: 'field', users: [OFFICER, VOLUNTEER], name: 'Trạm Bù Lư', args: [`--clock-skew-seconds=-${FIVE_YEARS_S}`] });
  b = await launch();
});

after(async () => {
  if (b) await b.close();
  if (hub) await hub.stop();
});

const call = (page, method, p, body) => page.evaluate(async ([m, u, x]) => (await import('./lib.js')).api(m, u, x), [method, p, body]);

const FIELDS = {
  'addressee.commune': 'Ủy ban nhân dân xã Phước Sơn',
  'requester.full_name': 'Điểu Thị Hạnh',
  'requester.residence': 'Thôn Bù Lư, xã Phước Sơn, tỉnh Đồng Nai',
  'requester.id_type': 'can_cuoc',
  'requester.pin': '070198001234',
  'requester.id_issuer': 'Cục Cảnh sát quản lý hành chính về trật tự xã hội',
  'requester.id_issue_date': '2021-04-15',
  'requester.relationship': 'self',
  'subject.full_name': 'Điểu Thị Hạnh',
  'subject.date_of_birth': '1998-03-12',
  'subject.sex': 'female',
  'subject.ethnicity': 'Xtiêng',
  'subject.nationality': 'Việt Nam',
  'subject.residence': 'Thôn Bù Lư, xã Phước Sơn, tỉnh Đồng Nai',
  'subject.id_type': 'can_cuoc',
  'subject.pin': '070198001234',
  'subject.marital_status': 'never_married',
  'request.purpose': 'Bổ sung hồ sơ vay vốn ngân hàng chính sách xã hội',
  'declaration.confirmed': 'yes',
};

test('a volunteer is asked to get an officer to confirm the time', async () => {
  const v = await launch();
  try {
    await login(v.page, hub.base, VOLUNTEER);
    await v.page.waitForSelector('[data-testid=clock-banner][data-plausible=false]');
    assert.equal(await v.page.locator('[data-testid=clock-confirm]').count(), 0, 'no confirm button for a volunteer');
    assert.match(await v.page.textContent('[data-testid=clock-banner]'), /nhờ cán bộ xác nhận giờ/);
    await axeCheck(v.page, 'home with the clock banner (volunteer)');
    assert.deepEqual(v.errors, []);
  } finally { await v.close(); }
});

test('the officer sees the banner, confirms the time in one tap, and seals with today\'s time', async () => {
  const { page, errors } = b;
  await login(page, hub.base, OFFICER);
  await page.waitForSelector('[data-testid=clock-banner][data-plausible=false]');
  const text = await page.textContent('[data-testid=clock-banner]');
  assert.match(text, /Giờ của trạm đang sai/);
  assert.match(text, /Giờ của điện thoại này/);
  // The hub's time shown is five years behind this phone's.
  const hubYear = Number((await page.textContent('[data-testid=clock-hub-time]')).match(/\/(\d{4}) /)[1]);
  const phoneYear = Number((await page.textContent('[data-testid=clock-phone-time]')).match(/\/(\d{4}) /)[1]);
  assert.ok(phoneYear - hubYear >= 4, `${hubYear} vs ${phoneYear}`);
  await axeCheck(page, 'home with the clock banner (officer)');
  await shot(page, 'clock-01-banner');

  // A complete draft, made through the API like the clerk's-day test, then sealed through the UI.
  const d = await call(page, 'POST', '/api/v1/drafts', { procedure: { id: 'marital-status-certificate', version: 1 }, fields: FIELDS });
  // Sent into the page as base64 (a 4 MB array of numbers took ~30 s to pass through the DevTools protocol).
  const photo = fs.readFileSync(path.join(SHARED, 'data/photos/to-khai-xac-nhan-hon-nhan.jpg')).toString('base64');
  const up = await page.evaluate(async ([id, b64]) => {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const fd = new FormData();
    fd.append('role', 'id_document');
    fd.append('file', new Blob([bytes], { type: 'image/jpeg' }), 'giay-to.jpg');
    const { state } = await import('./lib.js');
    return (await fetch(`/api/v1/drafts/${id}/attachments`, { method: 'POST', body: fd, headers: { 'x-csrf-token': state.csrf } })).status;
  }, [d.id, photo]);
  assert.equal(up, 201);
  await page.goto(`${hub.base}/#/draft/${d.id}`);
  await page.waitForSelector('[data-testid=seal]');
  await page.click('[data-testid=seal]');
  await page.check('[data-testid=seal-readback]');
  await page.click('[data-testid=seal-confirm]');
  // Refused on the wrong clock: the seal step shows both times and the one-tap confirmation.
  await page.waitForSelector('[data-testid=clock-seal-banner] [data-testid=clock-confirm]', { timeout: 30000 });
  assert.equal(await page.locator('#receipt-code').count(), 0, 'not sealed');
  await axeCheck(page, 'seal step with the clock banner');
  await shot(page, 'clock-02-seal-blocked');

  // One tap.
  await page.click('[data-testid=clock-seal-banner] [data-testid=clock-confirm]');
  await page.waitForSelector('[data-testid=clock-seal-banner] [data-testid=clock-confirmed]');
  const clock = await call(page, 'GET', '/api/v1/clock');
  assert.equal(clock.plausible, true);
  assert.equal(clock.confirmed_by, 'officer');
  assert.ok(Math.abs(clock.hub_unix_ms - Date.now()) < 60000, JSON.stringify(clock));

  // Seal again: the receipt carries today's time.
  await page.click('[data-testid=seal-confirm]');
  await page.waitForSelector('#receipt-code', { timeout: 60000 });
  const code = (await page.textContent('#receipt-code')).trim();
  const r = await call(page, 'GET', `/api/v1/receipts/${code}`);
  assert.ok(Math.abs(Date.parse(r.sealed_at) - Date.now()) < 60000, r.sealed_at);
  await shot(page, 'clock-03-sealed');

  // The page-wide banner is gone; /healthz says the clock is plausible.
  await page.goto(`${hub.base}/#/`);
  await page.waitForSelector('[data-testid=who]');
  await page.waitForFunction(() => !document.querySelector('[data-testid=clock-banner]'));
  const health = await (await fetch(`${hub.base}/healthz`)).json();
  assert.deepEqual(health.clock, { plausible: true });
  assert.deepEqual(errors, []);
});
