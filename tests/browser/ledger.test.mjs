// The office's reconciliation screens in a real browser. A field hub seals four dossiers in an outreach
// session and exports them as two batch files (1–2, 3–4). The clerk uploads the second: the ledger card says
// "2 missing", the device page shows the missing run with its session and hamlet, the sessions tab shows
// expected vs received. The first file arrives: "complete ✓". The two requests of the same person (3, 4) are
// shown side by side on the duplicates page and merged. axe-core runs on every page.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startHub, launch, login, axeCheck, shot, hubCli } from './harness.mjs';

const OFFICER = { name: 'canbo.an', role: 'officer', password: 'Can-bo-2026!' };
const CLERK = { name: 'vanthu.binh', role: 'clerk', password: 'Van-thu-2026!' };
let field; let office; let b;

before(async () => {
  field = await startHub({ mode: 'field', users: [OFFICER], name: 'Trạm Bù Lư' });
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

const marital = (name, pin) => ({
  'addressee.commune': 'Ủy ban nhân dân xã Bù Gia Mập', 'requester.full_name': name,
  'requester.residence': 'Thôn Bù Lư, xã Bù Gia Mập, tỉnh Đồng Nai', 'requester.id_type': 'can_cuoc', 'requester.pin': pin,
  'requester.id_issuer': 'Cục Cảnh sát quản lý hành chính về trật tự xã hội', 'requester.id_issue_date': '2021-04-15',
  'requester.relationship': 'self', 'subject.full_name': name, 'subject.date_of_birth': '1998-03-12', 'subject.sex': 'female',
  'subject.ethnicity': 'Xtiêng', 'subject.nationality': 'Việt Nam', 'subject.residence': 'Thôn Bù Lư, xã Bù Gia Mập, tỉnh Đồng Nai',
  'subject.id_type': 'can_cuoc', 'subject.pin': pin, 'subject.marital_status': 'never_married',
  'request.purpose': 'Bổ sung hồ sơ vay vốn ngân hàng chính sách xã hội', 'declaration.confirmed': 'yes',
});

// Seals a marital-status request in the page: draft, fields, a small photo drawn on a canvas, seal.
async function sealMarital(page, fields) {
  return page.evaluate(async (f) => {
    const { api, state } = await import('./lib.js');
    const d = await api('POST', '/api/v1/drafts', { procedure: { id: 'marital-status-certificate', version: 1 }, fields: {} });
    const s = await api('PUT', `/api/v1/drafts/${d.id}`, { fields: f, version: d.version });
    const cv = document.createElement('canvas'); cv.width = 64; cv.height = 48;
    const g = cv.getContext('2d'); g.fillStyle = '#4a7'; g.fillRect(0, 0, 64, 48); g.fillStyle = '#222'; g.fillRect(8, 8, 30, 20);
    const blob = await new Promise((r) => cv.toBlob(r, 'image/jpeg', 0.9));
    const fd = new FormData(); fd.append('role', 'id_document'); fd.append('file', blob, 'giay-to.jpg');
    const up = await fetch(`/api/v1/drafts/${d.id}/attachments`, { method: 'POST', body: fd, headers: { 'X-CSRF-Token': state.csrf } });
    if (up.status !== 201) throw new Error('upload ' + up.status + ' ' + await up.text());
    void s;
    return api('POST', `/api/v1/drafts/${d.id}/seal`, {});
  }, fields);
}

async function upload(page, file) {
  await page.goto(office.base + '/#/office/imports');
  await page.waitForSelector('[data-testid=batch-upload-card]');
  await page.setInputFiles('[data-testid=batch-file]', file);
  await page.click('[data-testid=batch-upload]');
  await page.waitForSelector('[data-testid=import-summary]');
}

test('the ledger shows a gap with its session, then complete; duplicates are merged side by side', async () => {
  const page = b.page;
  await login(page, field.base, OFFICER);
  const sess = await call(page, 'POST', '/api/v1/outreach/sessions', { hamlet: 'Thôn Bù Khơn', venue_kind: 'cultural_house', venue_name: 'Nhà văn hoá Bù Khơn' });
  for (const name of ['Điểu Thị Hạnh', 'Ka Thị Bình']) {
    const d = await call(page, 'POST', '/api/v1/drafts', { procedure: { id: 'marital-status-certificate', version: 1 }, fields: { 'requester.full_name': name, 'subject.full_name': name } });
    await call(page, 'POST', `/api/v1/drafts/${d.id}/refuse`, { reason: 'Chưa mang giấy tờ gốc' });
  }
  const first = path.join(field.dataDir, 'first.batch');
  hubCli(['batch', 'export', '--data', field.dataDir, '--out', first]);
  const r3 = await sealMarital(page, marital('Thị Sa Ly', '058198004567'));
  const r4 = await sealMarital(page, marital('Thị  SA LY', '058198004567'));
  assert.equal(r4.seq, 4);
  const second = path.join(field.dataDir, 'second.batch');
  hubCli(['batch', 'export', '--data', field.dataDir, '--out', second, '--from-seq', '3']);
  const deviceId = (await (await fetch(field.base + '/healthz')).json()).device_id;

  // The office gets the second file first.
  await page.context().clearCookies();
  await login(page, office.base, CLERK);
  await upload(page, second);
  await page.goto(office.base + '/#/office/ledger');
  const card = `[data-testid="ledger-device-${deviceId}"]`;
  await page.waitForSelector(card);
  assert.equal(await page.getAttribute(`${card} [data-testid=ledger-badge]`, 'data-state'), 'incomplete');
  assert.match(await page.textContent(`${card} [data-testid=ledger-badge]`), /Thiếu 2/);
  await page.waitForSelector('[data-testid=ledger-not-complete]');
  await axeCheck(page, 'office: ledger with a gap');
  await shot(page, 'ledger-01-gap');

  await page.click(`${card} [data-testid=ledger-open]`);
  await page.waitForSelector('[data-testid=ledger-runs]');
  const missing = await page.textContent('[data-testid=ledger-run-missing]');
  assert.match(missing, /1–2/);
  assert.match(missing, /Thôn Bù Khơn/);
  assert.equal(await page.getAttribute('[data-testid=ledger-run-received]', 'data-from'), '3');
  await axeCheck(page, 'office: device ledger');
  await shot(page, 'ledger-02-device');

  await page.goto(office.base + '/#/office/ledger?tab=sessions&from=2000-01-01&to=2100-01-01');
  const row = `[data-testid=ledger-session][data-session="${sess.id}"]`;
  await page.waitForSelector(row);
  assert.equal(await page.textContent(`${row} [data-k=expected]`), '4');
  assert.equal(await page.textContent(`${row} [data-k=received]`), '2');
  assert.equal(await page.textContent(`${row} [data-k=missing]`), '2');
  assert.equal(await page.getAttribute(row, 'data-complete'), 'no');
  await page.waitForSelector('[data-testid=ledger-by-hamlet] tr[data-key="Thôn Bù Khơn"]');
  await axeCheck(page, 'office: sessions expected vs received');
  await shot(page, 'ledger-03-sessions');

  // The first file arrives: complete.
  await upload(page, first);
  await page.goto(office.base + '/#/office/ledger');
  await page.waitForSelector(`${card} [data-testid=ledger-badge][data-state=complete]`);
  await page.waitForSelector('[data-testid=ledger-all-complete]');
  await shot(page, 'ledger-04-complete');

  // Duplicates: Thị Sa Ly's two requests side by side, the differing name highlighted; merged keeping the left.
  await page.click('[data-testid=ledger-to-duplicates]');
  await page.waitForSelector('[data-testid=dup-pair]');
  assert.equal(await page.$$eval('[data-testid=dup-pair]', (e) => e.length), 1);
  assert.equal(await page.getAttribute('[data-testid=dup-pair] tr[data-key="subject.full_name"]', 'data-differ'), 'yes');
  assert.equal(await page.getAttribute('[data-testid=dup-pair] tr[data-key="subject.pin"]', 'data-differ'), 'no');
  await axeCheck(page, 'office: duplicates');
  await shot(page, 'ledger-05-duplicates');
  const left = await page.getAttribute('[data-testid=dup-pair]', 'data-a');
  await page.fill('[data-testid=dup-note]', 'Cùng một người, nhập hai lần');
  await page.click('[data-testid=dup-merge-left]');
  await page.waitForSelector('[data-testid=dup-none]');
  assert.equal(await page.textContent('[data-testid=dup-count]'), '0');
  await axeCheck(page, 'office: duplicates, none left');
  const kept = [r3.dossier_id, r4.dossier_id].filter(Boolean);
  if (kept.length) assert.ok(kept.includes(left));
  assert.deepEqual(b.errors, []);
});
