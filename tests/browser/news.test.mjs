// Status news in a real browser: a field hub seals a dossier during an outreach session in a hamlet, the
// batch reaches the office by "USB stick", a clerk sends "ready for pickup" on the office dossier page; the
// field device pulls its news over a real sync session (challenge + SyncHello signed with the field key from
// its data directory, then the real `hub sync`), and the field news page shows it by receipt code and hamlet, re-verified, with "Told".
// axe-core runs on both pages.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { startHub, launch, login, axeCheck, shot, hubCli } from './harness.mjs';

const OFFICER = { name: 'canbo.an', role: 'officer', password: 'Can-bo-2026!' };
const VOLUNTEER = { name: 'tnv.hoa', role: 'volunteer', password: 'Tinh-nguyen-2026!' };
const CLERK = { name: 'vanthu.binh', role: 'clerk', password: 'Van-thu-2026!' };
let field; let office; let b;

before(async () => {
  field = await startHub({ mode: 'field', users: [OFFICER, VOLUNTEER], name: 'Trạm Bù Lư' });
  office = await startHub({ mode: 'office', users: [CLERK], name: 'UBND xã Phước Sơn' });
  const fieldCard = path.join(field.dataDir, 'field.pub');
  const officeCard = path.join(office.dataDir, 'office.pub');
  fs.writeFileSync(fieldCard, hubCli(['key', 'show', '--data', field.dataDir]));
  fs.writeFileSync(officeCard, hubCli(['key', 'show', '--data', office.dataDir]));
  hubCli(['trust', '--data', field.dataDir, officeCard]);
  hubCli(['trust', '--data', office.dataDir, fieldCard]);
  b = await launch({ viewport: { width: 1200, height: 900 }, isMobile: false });
});

after(async () => {
  if (b) await b.close();
  if (field) await field.stop();
  if (office) await office.stop();
});

const call = (page, method, p, body) => page.evaluate(async ([m, u, x]) => (await import('./lib.js')).api(m, u, x), [method, p, body]);

// RFC 8785 for messages holding only strings, integers, null, arrays and objects: sorted keys, no spaces.
const canon = (v) => {
  if (Array.isArray(v)) return '[' + v.map(canon).join(',') + ']';
  if (v && typeof v === 'object') return '{' + Object.keys(v).sort().map((k) => JSON.stringify(k) + ':' + canon(v[k])).join(',') + '}';
  return JSON.stringify(v);
};

// The field device's side of a news pull (protocol §11.7–11.9), with its own key from its data directory.
async function pullNews(seedHex, officeBase, fieldId, officeId) {
  // The key file is sealed once the hub is protected: the seed as `hub init` wrote it (harness).
  const seed = Buffer.from(seedHex, 'hex');
  const key = crypto.createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]), format: 'der', type: 'pkcs8' });
  const { challenge } = await (await fetch(officeBase + '/api/v1/sync/challenge', { method: 'POST' })).json();
  const hello = { kind: 'outreach-kit/sync-hello', v: 1, device_id: fieldId, office_id: officeId, challenge, said_at: new Date().toISOString().replace(/\.\d+Z$/, 'Z') };
  const signature = crypto.sign(null, Buffer.from('outreach-kit/v1/sync-hello\n' + canon(hello)), key).toString('hex');
  const r = await fetch(officeBase + '/api/v1/sync/hello', { method: 'POST', headers: { 'content-type': 'application/json' }, body: canon({ hello, signature }) });
  const body = await r.json();
  assert.equal(r.status, 200, JSON.stringify(body));
  const n = await fetch(officeBase + '/api/v1/sync/news?after=0', { headers: { authorization: 'Bearer ' + body.token } });
  assert.equal(n.status, 200);
  return n.json();
}

test('the clerk sends "ready for pickup"; the field news page shows it by receipt code', async () => {
  const page = b.page;
  await login(page, field.base, OFFICER);
  const session = await call(page, 'POST', '/api/v1/outreach/sessions', { hamlet: 'Thôn Bù Lư', venue_kind: 'cultural_house', venue_name: 'Nhà văn hoá thôn Bù Lư' });
  const d = await call(page, 'POST', '/api/v1/drafts', { procedure: { id: 'marital-status-certificate', version: 1 }, fields: { 'requester.full_name': 'Điểu Thị Hạnh', 'subject.full_name': 'Điểu Thị Hạnh' } });
  const receipt = await call(page, 'POST', `/api/v1/drafts/${d.id}/refuse`, { reason: 'Chưa mang giấy tờ gốc' });
  assert.equal(receipt.protected, true);
  await call(page, 'POST', `/api/v1/outreach/sessions/${session.id}/close`, {});
  const fieldId = (await (await fetch(field.base + '/healthz')).json()).device_id;
  const officeId = (await (await fetch(office.base + '/healthz')).json()).device_id;

  const batch = path.join(field.dataDir, 'usb.batch');
  hubCli(['batch', 'export', '--data', field.dataDir, '--out', batch]);
  assert.equal(JSON.parse(hubCli(['batch', 'import', '--data', office.dataDir, '--json', batch])).stored, 1);

  // Office: the dossier page's status actions publish the news with the status (registered, then ready
  // for pickup; casework replaced the separate "send news" form).
  await page.context().clearCookies();
  await login(page, office.base, CLERK);
  await page.click(`[data-testid=office-row][data-receipt="${receipt.code}"]`);
  await page.click('[data-testid=status-to-registered]');
  await page.fill('[data-testid="st-result_numbers.marital_status_certificate"]', '12/2026/XNHN');
  await page.click('[data-testid=status-submit]');
  await page.waitForSelector('[data-testid=status-badge][data-status=registered]');
  await page.click('[data-testid=status-to-ready_for_pickup]');
  // Refused without a place: the field says so.
  await page.fill('[data-testid=st-from_date]', '2026-12-01');
  await page.click('[data-testid=status-submit]');
  await page.waitForSelector('[data-testid=st-place][aria-invalid=true]');
  await page.fill('[data-testid=st-place]', 'Bộ phận một cửa, UBND xã Phước Sơn');
  await page.fill('[data-testid=st-until_date]', '2026-12-15');
  await page.fill('[data-testid=st-message]', 'Mang theo giấy biên nhận.');
  await page.click('[data-testid=status-submit]');
  await page.waitForSelector('[data-testid=status-badge][data-status=ready_for_pickup]');
  await page.waitForSelector('[data-testid=history-row][data-kind=news]');
  assert.match(await page.textContent('[data-testid=status-panel]'), /Bộ phận một cửa, UBND xã Phước Sơn/);
  await axeCheck(page, 'office: dossier after its status news');
  await shot(page, 'news-01-office');

  // Field: the device's own key opens a real sync session and the office answers its news (checked here
  // by hand, protocol §11.8–11.9); then the real `hub sync` pulls and stores it.
  const nb = await pullNews(field.deviceSeedHex, office.base, fieldId, officeId);
  assert.equal(nb.items.length, 2);
  assert.ok(nb.items.every((i) => i.news.receipt_code === receipt.code));
  assert.deepEqual(nb.items.map((i) => i.news.status.kind), ['registered', 'ready_for_pickup']);
  const out = hubCli(['sync', '--data', field.dataDir, '--mdns', 'off', '--office-url', office.base]);
  assert.match(out, /2 news item/, out);

  await page.context().clearCookies();
  await login(page, field.base, VOLUNTEER);
  await page.goto(field.base + '/#/news');
  await page.waitForSelector('[data-testid=news-search]');
  // A digit code, typed the forgiving way on the numeric keypad: spaces instead of hyphens.
  assert.match(receipt.code, /^\d{4}-\d{4}-\d{4}-\d{2}$/);
  assert.equal(await page.getAttribute('[data-testid=news-search]', 'inputmode'), 'numeric');
  await page.fill('[data-testid=news-search]', receipt.code.toLowerCase().replace(/-/g, ' '));
  await page.press('[data-testid=news-search]', 'Enter');
  await page.waitForSelector(`[data-testid=news-card][data-code="${receipt.code}"]`);
  const card = await page.textContent('[data-testid=news-card]');
  assert.match(card, /Kết quả sẵn sàng để nhận/);
  assert.match(card, /Bộ phận một cửa, UBND xã Phước Sơn/);
  assert.match(card, /Mang theo giấy biên nhận/);
  assert.match(await page.textContent('[data-testid=news-hamlet] h2'), /Thôn Bù Lư/);
  assert.equal(await page.$('[data-testid=news-unverified]'), null, 're-verified with the office key');
  await axeCheck(page, 'field: news by receipt code');
  await shot(page, 'news-02-field');
  await page.click('[data-testid=news-told-btn]');
  await page.waitForSelector('[data-testid=news-told]');
});
