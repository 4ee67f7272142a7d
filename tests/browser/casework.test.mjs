// Casework in a real browser: a field hub seals a marital-status dossier (with a photo), the batch reaches
// the office by "USB stick"; a clerk opens the dossier page laid out like the official form, asks for more
// papers (a missing message is refused beside its field), records the registration with its number, sees
// the history and the work list counts, and opens the printable A4 form. axe-core runs on every page.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startHub, launch, login, axeCheck, shot, hubCli, SHARED } from './harness.mjs';

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

const MARITAL = {
  'addressee.commune': 'Ủy ban nhân dân xã Phước Sơn', 'requester.full_name': 'Điểu Thị Hạnh',
  'requester.residence': 'Thôn Bù Lư, xã Phước Sơn, tỉnh Đồng Nai', 'requester.id_type': 'can_cuoc', 'requester.pin': '070198001234',
  'requester.id_issuer': 'Cục Cảnh sát quản lý hành chính về trật tự xã hội', 'requester.id_issue_date': '2021-04-15',
  'requester.relationship': 'self', 'subject.full_name': 'Điểu Thị Hạnh', 'subject.date_of_birth': '1998-03-12', 'subject.sex': 'female',
  'subject.ethnicity': 'Xtiêng', 'subject.nationality': 'Việt Nam', 'subject.residence': 'Thôn Bù Lư, xã Phước Sơn, tỉnh Đồng Nai',
  'subject.id_type': 'can_cuoc', 'subject.pin': '070198001234', 'subject.marital_status': 'never_married',
  'request.purpose': 'Bổ sung hồ sơ vay vốn ngân hàng chính sách xã hội', 'declaration.confirmed': 'yes',
};

test('a clerk works a dossier: form layout, needs papers, registered with its number, history, print', async () => {
  const page = b.page;
  await login(page, field.base, OFFICER);
  const d = await call(page, 'POST', '/api/v1/drafts', { procedure: { id: 'marital-status-certificate', version: 1 }, fields: {} });
  const saved = await call(page, 'PUT', `/api/v1/drafts/${d.id}`, { fields: MARITAL, version: d.version });
  assert.ok(saved);
  const photo = fs.readFileSync(path.join(SHARED, 'data/photos/to-khai-xac-nhan-hon-nhan.jpg')).toString('base64');
  const up = await page.evaluate(async ([id, b64]) => {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const fd = new FormData();
    fd.append('role', 'id_document');
    fd.append('file', new Blob([bytes], { type: 'image/jpeg' }), 'giay-to.jpg');
    return (await import('./lib.js')).api('POST', `/api/v1/drafts/${id}/attachments`, fd);
  }, [d.id, photo]);
  assert.ok(up);
  const receipt = await call(page, 'POST', `/api/v1/drafts/${d.id}/seal`, {});
  const batch = path.join(field.dataDir, 'usb.batch');
  hubCli(['batch', 'export', '--data', field.dataDir, '--out', batch]);
  assert.equal(JSON.parse(hubCli(['batch', 'import', '--data', office.dataDir, '--json', batch])).stored, 1);

  await page.context().clearCookies();
  await login(page, office.base, CLERK);
  // The received list shows the status.
  await page.waitForSelector(`[data-testid=office-row][data-receipt="${receipt.code}"][data-status=received]`);
  await axeCheck(page, 'received list');
  await page.click(`[data-testid=office-row][data-receipt="${receipt.code}"]`);
  await page.waitForSelector('[data-testid=form-marital_status]');
  assert.match(await page.textContent('[data-testid=form-marital_status] h2'), /Tờ khai cấp Giấy xác nhận tình trạng hôn nhân/);
  assert.match(await page.textContent('[data-testid=form-marital_status] [data-key="subject.full_name"]'), /Điểu Thị Hạnh/);
  await page.waitForSelector('[data-testid=deadline-badge][data-overdue=false]');
  await page.waitForSelector('[data-testid=office-photo] img');
  await page.waitForSelector('[data-testid=history-none]');
  await axeCheck(page, 'dossier page');
  await shot(page, 'casework-1-dossier');

  // Needs papers: the message is required, shown beside its field.
  await page.click('[data-testid=status-to-needs_papers]');
  await page.fill('[data-testid=st-papers]', 'Giấy xác nhận cư trú nơi ở trước');
  await page.click('[data-testid=status-submit]');
  await page.waitForSelector('[data-field=message] .err:not([hidden])');
  await page.waitForSelector('[data-testid=st-message][aria-invalid=true]');
  await axeCheck(page, 'needs-papers form with an error');
  await page.fill('[data-testid=st-message]', 'Xin mang giấy xác nhận cư trú đến UBND xã.');
  await page.click('[data-testid=status-submit]');
  await page.waitForSelector('[data-testid=status-badge][data-status=needs_papers]');
  await page.waitForSelector('[data-testid=history-row][data-action=status_changed]');
  await page.waitForSelector('[data-testid=history-row][data-kind=news]');

  // Registered: the certificate number.
  await page.click('[data-testid=status-to-registered]');
  await page.fill('[data-testid="st-result_numbers.marital_status_certificate"]', '88/2026/XNHN');
  await page.click('[data-testid=status-submit]');
  await page.waitForSelector('[data-testid=status-badge][data-status=registered]');
  assert.match(await page.textContent('[data-testid=result-numbers]'), /88\/2026\/XNHN/);
  assert.equal(await page.locator('[data-testid=history-row][data-action=status_changed]').count(), 2);
  await page.waitForSelector('[data-testid=status-to-ready_for_pickup]');
  await axeCheck(page, 'registered dossier');
  await shot(page, 'casework-2-registered');

  // The work list: counts per tab, the registered dossier listed.
  await page.goto(office.base + '/#/office/work?view=status:registered');
  await page.waitForSelector(`[data-testid=work-row][data-receipt="${receipt.code}"]`);
  assert.equal((await page.textContent('[data-testid=work-count-registered]')).trim(), '1');
  assert.equal((await page.textContent('[data-testid=work-count-needs_papers]')).trim(), '0');
  await axeCheck(page, 'work list');

  // The printable form: the official layout with its signature block, A4 print CSS (the PDF itself is
  // checked by print_forms.test.mjs).
  await page.click(`[data-testid=work-row][data-receipt="${receipt.code}"]`);
  await page.click('[data-testid=open-print]');
  await page.waitForSelector('[data-testid=print-view] [data-testid=a4-form-marital]');
  const sig = await page.textContent('[data-testid=print-view] .a4-signs');
  assert.match(sig, /Người yêu cầu/);
  assert.match(sig, /Ký, ghi rõ họ, chữ đệm, tên/);
  await page.waitForSelector('[data-testid=print-now]');
  const hasA4 = await page.evaluate(() => [...document.styleSheets].some((s) => {
    try { return [...s.cssRules].some((r) => r.cssText.includes('@page') || (r.cssRules && [...r.cssRules].some((x) => /size: A4/.test(x.cssText)))); } catch (_) { return false; }
  }));
  assert.ok(hasA4, 'an @page A4 rule is loaded');
  await page.emulateMedia({ media: 'print' });
  assert.equal(await page.isVisible('[data-testid=print-now]'), false, 'the Print button is not printed');
  await page.emulateMedia({ media: 'screen' });
  await axeCheck(page, 'print page');
  await shot(page, 'casework-3-print');
});

// A complete 3-in-1 (the same facts as the Rust tests' `three_in_one_fields`): its communes and wards are
// stored as codes (25222 = xã Bù Gia Mập).
const bornDaysAgo = (n) => new Date(Date.now() - n * 86400e3).toISOString().slice(0, 10);
const THREE_IN_ONE = {
  'child.full_name': 'Điểu Thị Mai', 'child.date_of_birth': bornDaysAgo(20), 'child.sex': 'female',
  'child.nationality': 'Việt Nam', 'child.place_of_birth': 'Trạm Y tế xã Bù Gia Mập', 'birth.proof': 'facility',
  'mother.full_name': 'Thị Hoa', 'mother.date_of_birth': '1998', 'mother.ethnicity': 'Xtiêng', 'mother.nationality': 'Việt Nam',
  'mother.pin': '070198001234', 'mother.residence_commune': '25222', 'mother.residence_detail': 'Thôn Bù Khơn',
  'mother.phone': '0912345678', 'father.declared': 'yes', 'father.full_name': 'Điểu Minh', 'father.date_of_birth': '1995-04-02',
  'father.ethnicity': 'Xtiêng', 'father.nationality': 'Việt Nam', 'father.pin': '070095004321',
  'requester.relationship': 'mother', 'requester.id_type': 'can_cuoc', 'birth.copies': '1',
  'residence.head_is': 'mother', 'residence.relationship_to_head': 'child', 'declaration.confirmed': 'yes',
};

test('a 3-in-1 names its communes and wards, never their codes, on the office page and on paper', async () => {
  const page = b.page;
  await page.context().clearCookies();
  await login(page, field.base, OFFICER);
  const d = await call(page, 'POST', '/api/v1/drafts', { procedure: { id: 'birth-residence-insurance', version: 1 }, fields: {} });
  assert.ok(await call(page, 'PUT', `/api/v1/drafts/${d.id}`, { fields: THREE_IN_ONE, version: d.version }));
  const photo = fs.readFileSync(path.join(SHARED, 'data/photos/giay-chung-sinh.jpg')).toString('base64');
  for (const role of ['birth_certificate', 'requester_id']) {
    assert.ok(await page.evaluate(async ([id, b64, r]) => {
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const fd = new FormData();
      fd.append('role', r);
      fd.append('file', new Blob([bytes], { type: 'image/jpeg' }), 'giay.jpg');
      return (await import('./lib.js')).api('POST', `/api/v1/drafts/${id}/attachments`, fd);
    }, [d.id, photo, role]));
  }
  const receipt = await call(page, 'POST', `/api/v1/drafts/${d.id}/seal`, {});
  const batch = path.join(field.dataDir, 'usb-2.batch');
  hubCli(['batch', 'export', '--data', field.dataDir, '--out', batch]);
  hubCli(['batch', 'import', '--data', office.dataDir, '--json', batch]);

  await page.context().clearCookies();
  await login(page, office.base, CLERK);
  await page.click(`[data-testid=office-row][data-receipt="${receipt.code}"]`);
  await page.waitForSelector('[data-testid=form-birth_declaration] .unit');
  // The sections are the package's export systems, each titled with its form, its result numbers included.
  assert.deepEqual(await page.$$eval('[data-testid=office-dossier] section.official-form', (els) => els.map((e) => e.dataset.form)),
    ['birth_declaration', 'ct01', 'tk1_ts']);
  assert.match(await page.textContent('[data-testid=form-ct01] h2'), /Tờ khai thay đổi thông tin cư trú \(CT01\)/);
  assert.match(await page.textContent('[data-testid=form-ct01] [data-key="result:pin"]'), /Số định danh cá nhân của trẻ/);
  assert.equal(await page.$('[data-testid=form-ct01] [data-key="dossier_id"]'), null, 'no technical column');
  await axeCheck(page, '3-in-1 dossier page, PIN not registered yet');
  await page.waitForFunction(() => !document.querySelector('[data-unit-pending]'));
  const shown = await page.textContent('[data-testid=office-dossier]');
  assert.match(shown, /Bù Gia Mập/, 'the mother\'s commune by its name');
  assert.doesNotMatch(shown, /\b25222\b/, 'no unit code on the dossier page');
  // The dossier page on a clerk's phone.
  await page.setViewportSize({ width: 360, height: 740 });
  await shot(page, 'casework-6-three-in-one-phone');
  await page.setViewportSize({ width: 1200, height: 900 });

  await page.click('[data-testid=open-print]');
  await page.waitForSelector('[data-testid=print-view] [data-testid=a4-forms]');
  const paper = await page.textContent('[data-testid=print-view]');
  assert.match(paper, /Bù Gia Mập/);
  assert.doesNotMatch(paper, /\b25222\b/, 'no unit code on paper');
  assert.doesNotMatch(paper, /tự điền/, 'no note about derived values on the form to sign');
  await shot(page, 'casework-4-print-three-in-one');
  // As a clerk's phone shows it.
  await page.setViewportSize({ width: 360, height: 740 });
  await page.reload();
  await page.waitForSelector('[data-testid=print-view] [data-testid=a4-forms]');
  await shot(page, 'casework-5-print-three-in-one-phone');
  await page.setViewportSize({ width: 1200, height: 900 });
});
