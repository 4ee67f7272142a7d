// Exports in a real browser: a field hub seals a marital-status dossier, the batch reaches the office by
// "USB stick", a clerk opens the exports page, sees one dossier waiting for the civil-status software,
// chooses XLSX and exports: the download arrives (an XLSX named after the system, time and ordinal), the
// count drops to 0, the past exports list it with a re-download link; "export again" asks first.
// axe-core runs on the page.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startHub, launch, login, axeCheck, shot, hubCli } from './harness.mjs';

const OFFICER = { name: 'canbo.an', role: 'officer', password: 'Can-bo-2026!' };
const CLERK = { name: 'vanthu.binh', role: 'clerk', password: 'Van-thu-2026!' };
const PHOTO = path.resolve(import.meta.dirname, '../../../shared/data/photos/to-khai-xac-nhan-hon-nhan.jpg');
let field; let office; let b;

before(async () => {
  field = await startHub({ mode: 'field', users: [OFFICER], name: 'Trạm Bù Lư' });
  office = await startHub({ mode: 'office', users: [CLERK], name: 'UBND xã Bù Gia Mập' });
  const fieldCard = path.join(field.dataDir, 'field.pub');
  const officeCard = path.join(office.dataDir, 'office.pub');
  fs.writeFileSync(fieldCard, hubCli(['key', 'show', '--data', field.dataDir]));
  fs.writeFileSync(officeCard, hubCli(['key', 'show', '--data', office.dataDir]));
  hubCli(['trust', '--data', field.dataDir, officeCard]);
  hubCli(['trust', '--data', office.dataDir, fieldCard]);
  b = await launch({ viewport: { width: 1200, height: 900 }, isMobile: false, acceptDownloads: true });
});

after(async () => {
  if (b) await b.close();
  if (field) await field.stop();
  if (office) await office.stop();
});

const call = (page, method, p, body) => page.evaluate(async ([m, u, x]) => (await import('./lib.js')).api(m, u, x), [method, p, body]);

const MARITAL = {
  'addressee.commune': 'Ủy ban nhân dân xã Bù Gia Mập', 'requester.full_name': 'Điểu Thị Hà',
  'requester.residence': 'Thôn Bù Lư, xã Bù Gia Mập, tỉnh Đồng Nai', 'requester.id_type': 'can_cuoc',
  'requester.pin': '070198001234', 'requester.id_issuer': 'Cục Cảnh sát quản lý hành chính về trật tự xã hội',
  'requester.id_issue_date': '2021-04-15', 'requester.relationship': 'self', 'subject.full_name': 'Điểu Thị Hà',
  'subject.date_of_birth': '1998-03-12', 'subject.sex': 'female', 'subject.ethnicity': 'Xtiêng',
  'subject.nationality': 'Việt Nam', 'subject.residence': 'Thôn Bù Lư, xã Bù Gia Mập, tỉnh Đồng Nai',
  'subject.id_type': 'can_cuoc', 'subject.pin': '070198001234', 'subject.marital_status': 'never_married',
  'request.purpose': 'Bổ sung hồ sơ vay vốn', 'declaration.confirmed': 'yes',
};

test('the clerk exports the waiting dossier as XLSX and the download arrives', async () => {
  const page = b.page;
  await login(page, field.base, OFFICER);
  const d = await call(page, 'POST', '/api/v1/drafts', { procedure: { id: 'marital-status-certificate', version: 1 }, fields: MARITAL });
  const photo = fs.readFileSync(PHOTO).toString('base64');
  const up = await page.evaluate(async ([id, b64]) => {
    const lib = await import('./lib.js');
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const fd = new FormData();
    fd.append('role', 'id_document');
    fd.append('file', new Blob([bytes], { type: 'image/jpeg' }), 'giay-to.jpg');
    return lib.api('POST', `/api/v1/drafts/${id}/attachments`, fd, { timeout: 60000 });
  }, [d.id, photo]);
  assert.ok(up);
  const receipt = await call(page, 'POST', `/api/v1/drafts/${d.id}/seal`, {});
  assert.ok(receipt.code);
  const batch = path.join(field.dataDir, 'usb.batch');
  hubCli(['batch', 'export', '--data', field.dataDir, '--out', batch]);
  assert.equal(JSON.parse(hubCli(['batch', 'import', '--data', office.dataDir, '--json', batch])).stored, 1);

  await page.context().clearCookies();
  await login(page, office.base, CLERK);
  await page.goto(office.base + '/#/office/exports');
  await page.waitForSelector('[data-testid=export-card-marital_status]');
  for (const sys of ['birth_declaration', 'ct01', 'tk1_ts', 'marital_status']) {
    await page.waitForSelector(`[data-testid=export-card-${sys}]`);
  }
  assert.equal(await page.getAttribute('[data-testid=export-pending-marital_status]', 'data-count'), '1');
  assert.equal(await page.getAttribute('[data-testid=export-pending-ct01]', 'data-count'), '0');
  assert.ok(await page.isDisabled('[data-testid=export-go-ct01]'), 'nothing waits for CT01');
  await axeCheck(page, 'exports page');
  await shot(page, 'exports-1-page');

  await page.selectOption('[data-testid=export-format-marital_status]', 'xlsx');
  await page.click('[data-testid=export-go-marital_status]');
  await page.waitForSelector('[data-testid=export-download-marital_status]');
  const [download] = await Promise.all([
    page.waitForEvent('download', { timeout: 60000 }),
    page.click('[data-testid=export-download-marital_status]'),
  ]);
  assert.match(download.suggestedFilename(), /^marital_status-\d{8}-\d{4}-1\.xlsx$/);
  const file = path.join(office.dataDir, 'downloaded.xlsx');
  await download.saveAs(file);
  const bytes = fs.readFileSync(file);
  assert.ok(bytes.length > 1000, 'a real workbook');
  assert.equal(bytes.subarray(0, 4).toString('hex'), '504b0304', 'an XLSX is a zip');
  await page.waitForSelector('[data-testid=export-pending-marital_status][data-count="0"]');
  await page.waitForSelector('[data-testid=export-history] [data-testid=export-row]');
  assert.equal(await page.locator('[data-testid=export-row]').count(), 1);
  assert.ok(await page.isDisabled('[data-testid=export-go-marital_status]'), 'nothing left to export');
  await axeCheck(page, 'exports page after an export');
  await shot(page, 'exports-2-done');

  // "Export again" asks first; saying no exports nothing.
  await page.check('[data-testid=export-again-marital_status]');
  await page.click('[data-testid=export-go-marital_status]');
  await page.waitForSelector('#ask[open]');
  await page.click('#ask-no');
  assert.equal(await page.locator('[data-testid=export-row]').count(), 1);
  // Saying yes exports it again, as CSV this time (UTF-8 with BOM).
  await page.selectOption('[data-testid=export-format-marital_status]', 'csv');
  await page.click('[data-testid=export-go-marital_status]');
  await page.waitForSelector('#ask[open]');
  await page.click('#ask-yes');
  await page.waitForSelector('[data-testid=export-download-marital_status][href$="/file"]');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=export-row]').length === 2);
  const [again] = await Promise.all([
    page.waitForEvent('download', { timeout: 60000 }),
    page.click('[data-testid=export-download-marital_status]'),
  ]);
  assert.match(again.suggestedFilename(), /^marital_status-\d{8}-\d{4}-2\.csv$/);
  const csvFile = path.join(office.dataDir, 'downloaded.csv');
  await again.saveAs(csvFile);
  const csv = fs.readFileSync(csvFile);
  assert.equal(csv.subarray(0, 3).toString('hex'), 'efbbbf', 'BOM');
  assert.match(csv.toString('utf8'), /Điểu Thị Hà/);
  await axeCheck(page, 'exports page after exporting again');
  await shot(page, 'exports-3-again');
  assert.deepEqual(b.errors, []);
});
