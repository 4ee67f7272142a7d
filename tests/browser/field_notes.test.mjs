// The smaller things a field team and a villager read (issue 17, items 8 and 10), on a phone (360×740,
// Vietnamese), with real data: a field hub seals a marital-status request; the batch reaches the office by
// "USB stick" and its signed acknowledgement comes back as a file; the clerk records the registration; the
// field hub pulls the news with the real `hub sync`.
//  - the sync page's counts follow an acknowledgement file imported by hand;
//  - the field news page names the result number in words (never "marital_status_certificate");
//  - the villager's status page shows the latest state first ("Đã đăng ký xong"), what came before below;
// And on a hub not yet paired, with no Wi-Fi configured and HTTPS off:
//  - a volunteer is not shown the red "not protected" warning (an officer still is);
//  - the join page speaks plainly (no command-line flag);
//  - the guides do not say "Bấm Nghe" when nothing is recorded.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startHub, launch, login, axeCheck, shot, hubCli } from './harness.mjs';

const OFFICER = { name: 'canbo.an', role: 'officer', password: 'Can-bo-2026!' };
const VOLUNTEER = { name: 'tnv.hoa', role: 'volunteer', password: 'Tinh-nguyen-2026!' };
const CLERK = { name: 'vanthu.binh', role: 'clerk', password: 'Van-thu-2026!' };
const PHONE = { width: 360, height: 740 };
// The page itself never scrolls sideways on the phone.
async function fitsPhone(page, label) {
  const w = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(w <= PHONE.width, `${label}: the page is ${w} px wide on a ${PHONE.width} px phone`);
}
let field; let office; let lone; let b;

before(async () => {
  field = await startHub({ mode: 'field', users: [OFFICER, VOLUNTEER], name: 'Trạm Bù Lư' });
  office = await startHub({ mode: 'office', users: [CLERK], name: 'UBND xã Phước Sơn' });
  lone = await startHub({ mode: 'field', users: [OFFICER, VOLUNTEER], name: 'Trạm Bình Tiến' });
  const fieldCard = path.join(field.dataDir, 'field.pub');
  const officeCard = path.join(office.dataDir, 'office.pub');
  fs.writeFileSync(fieldCard, hubCli(['key', 'show', '--data', field.dataDir]));
  fs.writeFileSync(officeCard, hubCli(['key', 'show', '--data', office.dataDir]));
  hubCli(['trust', '--data', field.dataDir, officeCard]);
  hubCli(['trust', '--data', office.dataDir, fieldCard]);
  b = await launch({ viewport: PHONE });
});

after(async () => {
  if (b) await b.close();
  for (const x of [field, office, lone]) if (x) await x.stop();
});

// A tiny logged-in API client (cookie + CSRF) for node, so the browser keeps its own session.
async function apiLogin(base, user) {
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
    const text = await res.text();
    const out = text ? JSON.parse(text) : null;
    assert.ok(res.ok, `${method} ${p}: ${res.status} ${text}`);
    return out;
  };
}

const MARITAL = {
  'addressee.commune': 'Ủy ban nhân dân xã Phước Sơn', 'requester.full_name': 'Điểu Thị Hạnh',
  'requester.residence': 'Thôn Bù Lư, xã Phước Sơn, tỉnh Đồng Nai', 'requester.id_type': 'can_cuoc', 'requester.pin': '070198001234',
  'requester.id_issuer': 'Cục Cảnh sát quản lý hành chính về trật tự xã hội', 'requester.id_issue_date': '2021-04-15',
  'requester.relationship': 'self', 'subject.full_name': 'Điểu Thị Hạnh', 'subject.date_of_birth': '1998-03-12', 'subject.sex': 'female',
  'subject.ethnicity': 'Xtiêng', 'subject.nationality': 'Việt Nam', 'subject.residence': 'Thôn Bù Lư, xã Phước Sơn, tỉnh Đồng Nai',
  'subject.id_type': 'can_cuoc', 'subject.pin': '070198001234', 'subject.marital_status': 'never_married',
  'request.purpose': 'Bổ sung hồ sơ vay vốn ngân hàng chính sách xã hội', 'declaration.confirmed': 'yes',
};

test('ack file, news and the public status page, as the team and a villager read them', async () => {
  const page = b.page;
  const officer = await apiLogin(field.base, OFFICER);
  await officer('POST', '/api/v1/outreach/sessions', { hamlet: 'Thôn Bù Lư', venue_kind: 'cultural_house', venue_name: 'Nhà văn hoá thôn Bù Lư' });
  const d = await officer('POST', '/api/v1/drafts', { procedure: { id: 'marital-status-certificate', version: 1 }, fields: {} });
  await officer('PUT', `/api/v1/drafts/${d.id}`, { fields: MARITAL, version: d.version });
  const photo = await page.evaluate(async () => {
    const cv = document.createElement('canvas'); cv.width = 64; cv.height = 48;
    const g = cv.getContext('2d'); g.fillStyle = '#4a7'; g.fillRect(0, 0, 64, 48); g.fillStyle = '#222'; g.fillRect(8, 8, 30, 20);
    const blob = await new Promise((r) => cv.toBlob(r, 'image/jpeg', 0.9));
    return [...new Uint8Array(await blob.arrayBuffer())];
  });
  const fd = new FormData();
  fd.append('role', 'id_document');
  fd.append('file', new Blob([new Uint8Array(photo)], { type: 'image/jpeg' }), 'giay-to.jpg');
  await officer('POST', `/api/v1/drafts/${d.id}/attachments`, fd);
  const receipt = await officer('POST', `/api/v1/drafts/${d.id}/seal`, {});
  const slip = await officer('GET', `/api/v1/receipts/${receipt.code}/slip`);

  // The batch goes to the office on a stick; the office's signed acknowledgement comes back as a file.
  const batch = path.join(field.dataDir, 'usb.batch');
  const ack = path.join(field.dataDir, 'ack.json');
  hubCli(['batch', 'export', '--data', field.dataDir, '--out', batch]);
  assert.equal(JSON.parse(hubCli(['batch', 'import', '--data', office.dataDir, '--json', '--ack-out', ack, batch])).stored, 1);

  // Sync page: importing the acknowledgement file updates the counts at once, said beside the form.
  await login(page, field.base, OFFICER);
  await page.goto(field.base + '/#/sync');
  await page.waitForSelector('[data-testid=sync-ack-form]');
  assert.equal(await page.textContent('[data-testid=count-acked]'), '0');
  assert.equal(await page.textContent('[data-testid=count-waiting]'), '1');
  await page.setInputFiles('[data-testid=sync-ack-input]', ack);
  await page.click('[data-testid=sync-ack-submit]');
  await page.waitForSelector('[data-testid=sync-ack-done]');
  await page.waitForFunction(() => document.querySelector('[data-testid=count-acked]')?.textContent === '1', null, { timeout: 5000 });
  assert.equal(await page.textContent('[data-testid=count-waiting]'), '0');
  assert.ok(await page.locator('[data-testid=sync-ack-done]').isVisible());
  const box = await page.locator('[data-testid=sync-ack-done]').boundingBox();
  assert.ok(box && box.y >= 0 && box.y + box.height <= PHONE.height, `the outcome is on screen: ${JSON.stringify(box)}`);
  await shot(page, 'field-notes-01-ack');

  // Office: registered, with the certificate's number; the field pulls the news.
  const clerk = await apiLogin(office.base, CLERK);
  const od = (await clerk('GET', `/api/v1/office/dossiers?q=${encodeURIComponent(receipt.code)}`)).dossiers[0];
  const full = await clerk('GET', `/api/v1/office/dossiers/${od.dossier_id}`);
  await clerk('POST', `/api/v1/office/dossiers/${od.dossier_id}/status`, { to: 'registered', expected_version: full.status ? full.status.version : 0,
    result_numbers: [{ kind: 'marital_status_certificate', number: '12/2026/XNHN' }] });
  assert.match(hubCli(['sync', '--data', field.dataDir, '--mdns', 'off', '--office-url', office.base]), /news item/);

  // The volunteer's news page: the number by its name.
  await page.context().clearCookies();
  await login(page, field.base, VOLUNTEER);
  await page.goto(field.base + '/#/news?receipt=' + encodeURIComponent(receipt.code));
  await page.waitForSelector(`[data-testid=news-card][data-code="${receipt.code}"] [data-testid=news-numbers]`);
  const numbers = await page.textContent('[data-testid=news-numbers]');
  assert.match(numbers, /Số Giấy xác nhận tình trạng hôn nhân/);
  assert.match(numbers, /12\/2026\/XNHN/);
  const text = await page.evaluate(() => document.body.innerText);
  assert.doesNotMatch(text, /\b[a-z]+(_[a-z0-9]+)+\b/, 'no raw key on the news page');
  await fitsPhone(page, 'field news');
  await axeCheck(page, 'field news, registered');
  await shot(page, 'field-notes-02-news');

  // The villager's status page: the latest state first, alone in large type; the capture below.
  await page.context().clearCookies();
  await page.goto('about:blank'); // a villager's phone: the app opens afresh, no one signed in
  await page.goto(`${field.base}/#/r/${encodeURIComponent(receipt.code)}?k=${encodeURIComponent(slip.tracking_key)}`);
  await page.waitForSelector('[data-testid=status-word]');
  assert.equal(await page.getAttribute('[data-testid=status-word]', 'data-news'), 'registered');
  assert.match(await page.textContent('[data-testid=status-word]'), /Đã đăng ký xong/);
  const order = await page.evaluate(() => {
    const t = document.querySelector('main').innerText;
    return { registered: t.indexOf('Đã đăng ký xong'), waiting: t.indexOf('đang chờ giải quyết'), earlier: t.indexOf('Trước đó') };
  });
  assert.ok(order.registered >= 0 && order.earlier > order.registered, JSON.stringify(order));
  assert.equal(order.waiting, -1, '"waiting" is no longer said once the office has registered it');
  await fitsPhone(page, 'public status');
  await axeCheck(page, 'public status, registered');
  await shot(page, 'field-notes-03-status');
});

test('a hub not paired: volunteers see no red warning; join and guides speak plainly', async () => {
  const page = b.page;
  await page.context().clearCookies();
  // An officer sees the warning (the hub must be paired); a volunteer, who cannot pair it, does not.
  await login(page, lone.base, OFFICER);
  await page.waitForSelector('[data-testid=unpaired-warning]');
  assert.ok(await page.locator('[data-testid=unpaired-warning]').isVisible());
  await page.context().clearCookies();
  await login(page, lone.base, VOLUNTEER);
  await page.goto(lone.base + '/#/');
  await page.waitForSelector('[data-testid=who]');
  await page.waitForFunction(() => !document.querySelector('#app > .loading'));
  await page.waitForTimeout(300);
  assert.equal(await page.locator('[data-testid=unpaired-warning]:visible').count(), 0, 'no red warning for a volunteer');
  await shot(page, 'field-notes-04-volunteer-home');

  // The join page (no Wi-Fi configured, HTTPS off): plain words, no command-line flag.
  await page.goto(lone.base + '/#/join');
  await page.waitForSelector('[data-testid=join-wifi-missing]');
  const join = await page.evaluate(() => document.querySelector('main').innerText);
  assert.doesNotMatch(join, /--[a-z]|HUB_[A-Z]/, `a flag on the join page:\n${join}`);
  assert.match(join, /người cài đặt trạm/);
  await axeCheck(page, 'join, nothing configured');
  await shot(page, 'field-notes-05-join');

  // The guides: nothing recorded, so no "Bấm Nghe".
  await page.goto(lone.base + '/#/guides');
  await page.waitForSelector('[data-testid=guide-row]');
  assert.equal(await page.locator('[data-testid=audio-play]:visible').count(), 0);
  assert.doesNotMatch(await page.textContent('[data-testid=guides-intro]'), /Nghe/);
  await axeCheck(page, 'guides, nothing recorded');
  assert.deepEqual(b.errors, [], 'no uncaught errors in the page');
});
