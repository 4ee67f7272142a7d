// A clerk's day at the commune office (issue 6 "Evidence"), through the real UI of two real hubs:
// the field hub seals four marital-status dossiers in an outreach session and makes two batch files
// (seqs 1–2 and 3–4); the clerk uploads the second one first → the ledger shows the gap, named by session →
// the missing batch arrives → the ledger is complete → the clerk opens a dossier, marks "needs papers" →
// the news reaches the field hub over a real `hub sync` → the clerk records "registered" with the
// certificate number → exports the marital-status requests as XLSX, which the test unzips and checks
// against the captured values → the report page renders its charts. axe-core runs on every page.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { startHub, launch, login, axeCheck, shot, hubCli, SHARED } from './harness.mjs';

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
  b = await launch({ viewport: { width: 1280, height: 900 }, isMobile: false });
});

after(async () => {
  if (b) await b.close();
  if (field) await field.stop();
  if (office) await office.stop();
});

const call = (page, method, p, body) => page.evaluate(async ([m, u, x]) => (await import('./lib.js')).api(m, u, x), [method, p, body]);

const PEOPLE = [
  ['Điểu Thị Hạnh', '070198001234', 'female', '1998-03-12'],
  ['Thị Sa Ly', '070199002345', 'female', '1999-07-01'],
  ['Điểu Văn Khánh', '070096003456', 'male', '1996-11-20'],
  ['Ka Thị Bình', '070197004567', 'female', '1997-01-05'],
];

function maritalFields([name, pin, sex, dob]) {
  return {
    'addressee.commune': 'Ủy ban nhân dân xã Phước Sơn',
    'requester.full_name': name,
    'requester.residence': 'Thôn Bù Lư, xã Phước Sơn, tỉnh Đồng Nai',
    'requester.id_type': 'can_cuoc',
    'requester.pin': pin,
    'requester.id_issuer': 'Cục Cảnh sát quản lý hành chính về trật tự xã hội',
    'requester.id_issue_date': '2021-04-15',
    'requester.relationship': 'self',
    'subject.full_name': name,
    'subject.date_of_birth': dob,
    'subject.sex': sex,
    'subject.ethnicity': 'Xtiêng',
    'subject.nationality': 'Việt Nam',
    'subject.residence': 'Thôn Bù Lư, xã Phước Sơn, tỉnh Đồng Nai',
    'subject.id_type': 'can_cuoc',
    'subject.pin': pin,
    'subject.marital_status': 'never_married',
    'request.purpose': 'Bổ sung hồ sơ vay vốn ngân hàng chính sách xã hội',
    'declaration.confirmed': 'yes',
  };
}

async function sealMarital(page, person, photo) {
  const fields = maritalFields(person);
  const d = await call(page, 'POST', '/api/v1/drafts', { procedure: { id: 'marital-status-certificate', version: 1 }, fields });
  const up = await page.evaluate(async ([id, bytes]) => {
    const fd = new FormData();
    fd.append('role', 'id_document');
    fd.append('file', new Blob([new Uint8Array(bytes)], { type: 'image/jpeg' }), 'giay-to.jpg');
    const { state } = await import('./lib.js');
    return (await fetch(`/api/v1/drafts/${id}/attachments`, { method: 'POST', body: fd, headers: { 'x-csrf-token': state.csrf } })).status;
  }, [d.id, [...photo]]);
  assert.equal(up, 201);
  const r = await call(page, 'POST', `/api/v1/drafts/${d.id}/seal`, {});
  assert.equal(r.protected, true, JSON.stringify(r));
  return { receipt: r, fields };
}

/// The office's imports page takes a batch file the way a clerk does: the file picker.
async function uploadBatch(page, file) {
  await page.goto(office.base + '/#/office/imports');
  await page.waitForSelector('[data-testid=batch-file]');
  await page.setInputFiles('[data-testid=batch-file]', file);
  const before = await page.locator('[data-testid=import-row]').count();
  await page.click('[data-testid=batch-upload]');
  await page.waitForFunction((n) => document.querySelectorAll('[data-testid=import-row]').length > n, before, { timeout: 30000 });
}
