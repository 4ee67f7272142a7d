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

/// Reads one sheet of an XLSX (a zip) with python3's zipfile: shared strings resolved, rows of cells.
function readXlsx(file) {
  const py = `
import json, re, sys, zipfile
from xml.etree import ElementTree as ET
ns = {'m': 'http://schemas.openxmlformats.org/spreadsheetml/2006/main'}
z = zipfile.ZipFile(sys.argv[1])
shared = []
if 'xl/sharedStrings.xml' in z.namelist():
    for si in ET.fromstring(z.read('xl/sharedStrings.xml')).findall('m:si', ns):
        shared.append(''.join(t.text or '' for t in si.iter('{%s}t' % ns['m'])))
rows = []
for row in ET.fromstring(z.read('xl/worksheets/sheet1.xml')).iter('{%s}row' % ns['m']):
    out = []
    for c in row.findall('m:c', ns):
        col = re.match(r'[A-Z]+', c.get('r')).group(0)
        idx = 0
        for ch in col: idx = idx * 26 + ord(ch) - 64
        while len(out) < idx - 1: out.append('')
        v = c.find('m:v', ns); isv = c.find('m:is', ns)
        if c.get('t') == 's': out.append(shared[int(v.text)])
        elif c.get('t') == 'inlineStr': out.append(''.join(t.text or '' for t in isv.iter('{%s}t' % ns['m'])))
        else: out.append(v.text if v is not None else '')
    rows.append(out)
print(json.dumps(rows))
`;
  return JSON.parse(execFileSync('python3', ['-c', py, file], { encoding: 'utf8' }));
}

test("a clerk's day: gap → complete ledger → needs papers → news on the field → registered → XLSX → report", async () => {
  const page = b.page;
  const photoDir = path.join(SHARED, 'data/photos');
  // The sample photo, made smaller once (ImageMagick) so four uploads stay quick on a debug build.
  const small = path.join(field.dataDir, 'small.jpg');
  execFileSync('convert', [path.join(photoDir, 'to-khai-xac-nhan-hon-nhan.jpg'), '-resize', '1000x1000', '-quality', '80', small]);
  const photo = fs.readFileSync(small);

  // Field: an outreach session in Thôn Bù Lư; two dossiers, a batch; two more, a second batch.
  await login(page, field.base, OFFICER);
  const session = await call(page, 'POST', '/api/v1/outreach/sessions', { hamlet: 'Thôn Bù Lư', venue_kind: 'cultural_house', venue_name: 'Nhà văn hoá thôn Bù Lư' });
  const sealed = [];
  for (const p of PEOPLE.slice(0, 2)) sealed.push(await sealMarital(page, p, photo));
  const batchA = path.join(field.dataDir, 'a.batch');
  hubCli(['batch', 'export', '--data', field.dataDir, '--out', batchA]);
  for (const p of PEOPLE.slice(2)) sealed.push(await sealMarital(page, p, photo));
  await call(page, 'POST', `/api/v1/outreach/sessions/${session.id}/close`, {});
  const batchB = path.join(field.dataDir, 'b.batch');
  hubCli(['batch', 'export', '--data', field.dataDir, '--out', batchB, '--from-seq', '3']);
  const fieldId = (await (await fetch(field.base + '/healthz')).json()).device_id;

  // Office: the second batch arrives first.
  await page.context().clearCookies();
  await login(page, office.base, CLERK);
  await uploadBatch(page, batchB);
  await page.goto(office.base + '/#/office/ledger');
  await page.waitForSelector(`[data-testid=ledger-device-${fieldId}] [data-testid=ledger-badge][data-state=incomplete]`);
  assert.match(await page.textContent(`[data-testid=ledger-device-${fieldId}] [data-testid=ledger-badge]`), /2/);
  await axeCheck(page, 'office: ledger with a gap');
  await page.click(`[data-testid=ledger-device-${fieldId}] [data-testid=ledger-open]`);
  await page.waitForSelector('[data-testid=ledger-run-missing]');
  assert.equal(await page.getAttribute('[data-testid=ledger-run-missing]', 'data-from'), '1');
  assert.equal(await page.getAttribute('[data-testid=ledger-run-missing]', 'data-to'), '2');
  // The later batch's manifest named the session the missing dossiers belong to.
  assert.match(await page.textContent('[data-testid=ledger-run-missing]'), /Thôn Bù Lư/);
  await axeCheck(page, 'office: a device ledger with its gap');
  await shot(page, 'clerkday-01-gap');

  // The missing batch arrives: the ledger is complete.
  await uploadBatch(page, batchA);
  await page.goto(office.base + '/#/office/ledger');
  await page.waitForSelector(`[data-testid=ledger-device-${fieldId}] [data-testid=ledger-badge][data-state=complete]`);
  await page.waitForSelector('[data-testid=ledger-all-complete]');

  // Open the first dossier from the received list; it is laid out like the official request form.
  const first = sealed[0].receipt.code;
  await page.goto(office.base + '/#/');
  await page.waitForSelector(`[data-testid=office-row][data-receipt="${first}"]`);
  await page.click(`[data-testid=office-row][data-receipt="${first}"]`);
  await page.waitForSelector('[data-testid=office-dossier]');
  await page.waitForSelector('[data-testid=status-panel]');
  assert.match(await page.textContent('[data-testid=office-dossier]'), /Điểu Thị Hạnh/);
  await page.waitForSelector('[data-testid=deadline-badge]');
  await axeCheck(page, 'office: dossier page');

  // Needs papers, with a message for the villager.
  await page.click('[data-testid=status-to-needs_papers]');
  await page.waitForSelector('[data-testid=status-form-needs_papers]');
  await page.fill('[data-testid=st-papers]', 'Bản chính căn cước của người yêu cầu');
  await page.fill('[data-testid=st-message]', 'Xin mang bản chính căn cước đến UBND xã.');
  await page.click('[data-testid=status-submit]');
  await page.waitForSelector('[data-testid=status-panel] [data-testid=status-badge][data-status=needs_papers]', { timeout: 15000 });
  await page.waitForSelector('[data-testid=history-row]');
  await axeCheck(page, 'office: dossier needs papers');
  await shot(page, 'clerkday-02-needs-papers');

  // The news reaches the field hub with its next sync, and a volunteer finds it by receipt code.
  const out = hubCli(['sync', '--data', field.dataDir, '--mdns', 'off', '--office-url', office.base]);
  assert.match(out, /1 news item/, out);
  await page.context().clearCookies();
  await login(page, field.base, VOLUNTEER);
  await page.goto(field.base + '/#/news');
  await page.waitForSelector('[data-testid=news-search]');
  await page.fill('[data-testid=news-search]', first);
  await page.press('[data-testid=news-search]', 'Enter');
  await page.waitForSelector(`[data-testid=news-card][data-code="${first}"]`);
  assert.match(await page.textContent(`[data-testid=news-card][data-code="${first}"]`), /Bản chính căn cước của người yêu cầu/);

  // Back at the office: registered, with the certificate number.
  await page.context().clearCookies();
  await login(page, office.base, CLERK);
  await page.goto(office.base + '/#/');
  await page.waitForSelector(`[data-testid=office-row][data-receipt="${first}"]`);
  await page.click(`[data-testid=office-row][data-receipt="${first}"]`);
  await page.waitForSelector('[data-testid=status-to-registered]');
  await page.click('[data-testid=status-to-registered]');
  await page.waitForSelector('[data-testid=status-form-registered]');
  await page.fill('[data-testid="st-result_numbers.marital_status_certificate"]', '125/2026/XNTTHN');
  await page.click('[data-testid=status-submit]');
  await page.waitForSelector('[data-testid=result-numbers]', { timeout: 15000 });
  assert.match(await page.textContent('[data-testid=result-numbers]'), /125\/2026\/XNTTHN/);

  // Export the marital-status requests as XLSX, the way the clerk does; the file is checked cell by cell.
  await page.goto(office.base + '/#/office/exports');
  await page.waitForSelector('[data-testid=export-card-marital_status]');
  assert.equal(await page.getAttribute('[data-testid=export-pending-marital_status]', 'data-count'), '4');
  await axeCheck(page, 'office: exports');
  await page.selectOption('[data-testid=export-format-marital_status]', 'xlsx');
  // Once the export is made the page offers its file; the file the browser saves is checked.
  await page.click('[data-testid=export-go-marital_status]');
  await page.waitForSelector('[data-testid=export-download-marital_status]', { timeout: 60000 });
  const [download] = await Promise.all([
    page.waitForEvent('download', { timeout: 60000 }),
    page.click('[data-testid=export-download-marital_status]'),
  ]);
  assert.match(download.suggestedFilename(), /^marital_status-.*\.xlsx$/);
  const xlsx = path.join(office.dataDir, 'export-test.xlsx');
  await download.saveAs(xlsx);
  const rows = readXlsx(xlsx);
  assert.equal(rows.length, 5, 'a header row and the four dossiers');
  const header = rows[0];
  const col = (re) => { const i = header.findIndex((x) => re.test(x)); assert.ok(i >= 0, `a column for ${re} in ${header}`); return i; };
  const code = col(/biên nhận|receipt/i);
  const name = header.findIndex((x) => /họ.*tên/i.test(x));
  assert.ok(name >= 0, header.join(' | '));
  for (const s of sealed) {
    const row = rows.find((r) => r[code] === s.receipt.code);
    assert.ok(row, `the export has ${s.receipt.code}`);
    assert.ok(row.includes(s.fields['subject.full_name']), `${s.fields['subject.full_name']} in ${row}`);
    assert.ok(row.includes(s.fields['subject.pin']), `the PIN with its leading zero in ${row}`);
    assert.ok(row.includes(s.fields['request.purpose']), `the purpose in ${row}`);
  }
  await page.waitForSelector('[data-testid=export-pending-marital_status][data-count="0"]');

  // The report page: headline figures and charts that load.
  await page.goto(office.base + '/#/office/reports');
  await page.waitForSelector('[data-testid=report-tiles]');
  await page.waitForSelector('[data-testid^=report-chart-]');
  await page.waitForFunction(() => {
    const imgs = [...document.querySelectorAll('[data-testid^=report-img-]')];
    return imgs.length > 0 && imgs.every((i) => i.complete && i.naturalWidth > 0);
  }, null, { timeout: 20000 });
  assert.match(await page.textContent('[data-testid=report-sessions]'), /Thôn Bù Lư/);
  await axeCheck(page, 'office: reports');
  await shot(page, 'clerkday-03-report');
});
