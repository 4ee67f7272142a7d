// The official forms on A4 (issue 16, item 5), as Chromium prints them to PDF. A field hub captures a v2
// marital-status request, a v2 3-in-1 and a v1 3-in-1; the marital request is printed in the field from
// the capture review and again from the receipt screen right after sealing (phone, 360×740); the batch
// reaches the office, where every form of every dossier is printed from the dossier page. Each PDF is
// read back with `pdftotext -layout` and must hold, in order, each item label of the official form (as
// listed in docs/domain.md §§3–4, and as the hub's layout serves them), the title block, the sworn
// statement, the date line and the signature blocks; no raw 5-digit unit code, no "null"/"undefined",
// no snake_case key, no "(tự điền …)" note, dates as dd/mm/yyyy; each form starts on its own page. The
// PDFs and a PNG of every page stay in artifacts/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { startHub, launch, login, axeCheck, shot, hubCli, SHARED, ARTIFACTS } from './harness.mjs';

const OFFICER = { name: 'canbo.an', role: 'officer', password: 'Can-bo-2026!' };
const CLERK = { name: 'vanthu.binh', role: 'clerk', password: 'Van-thu-2026!' };
let field; let office; let b;

before(async () => {
  const tool = spawnSync('pdftotext', ['-v'], { encoding: 'utf8' });
  assert.equal(tool.error, undefined, 'pdftotext (poppler-utils) is installed');
  field = await startHub({ mode: 'field', users: [OFFICER], name: 'Trạm Bù Gia Mập' });
  office = await startHub({ mode: 'office', users: [CLERK], name: 'UBND xã Bù Gia Mập' });
  const fieldCard = path.join(field.dataDir, 'field.pub');
  const officeCard = path.join(office.dataDir, 'office.pub');
  fs.writeFileSync(fieldCard, hubCli(['key', 'show', '--data', field.dataDir]));
  fs.writeFileSync(officeCard, hubCli(['key', 'show', '--data', office.dataDir]));
  hubCli(['trust', '--data', field.dataDir, officeCard]);
  hubCli(['trust', '--data', office.dataDir, fieldCard]);
  b = await launch({ viewport: { width: 360, height: 740 }, isMobile: true });
});

after(async () => {
  if (b) await b.close();
  if (field) await field.stop();
  if (office) await office.stop();
});

const call = (page, method, p, body) => page.evaluate(async ([m, u, x]) => (await import('./lib.js')).api(m, u, x), [method, p, body]);
const daysAgo = (n) => new Date(Date.now() - n * 86400e3).toISOString().slice(0, 10);

// 25222 = xã Bù Gia Mập (its name must print, never the code).
const MARITAL_V2 = {
  'addressee.commune': '25222', 'requester.relationship': 'self', 'requester.full_name': 'Điểu Thị Hạnh',
  'requester.id_type': 'can_cuoc', 'requester.pin': '070198001234', 'requester.id_issue_date': '2021-04-15',
  'requester.id_issuer': 'Cục Cảnh sát quản lý hành chính về trật tự xã hội', 'requester.phone': '0912345678',
  'subject.date_of_birth': '1998-03-12', 'subject.ethnicity': 'Xtiêng', 'subject.nationality': 'Việt Nam',
  'subject.marital_status': 'divorced', 'divorce.decision_number': '12/2020/QĐST-HNGĐ', 'divorce.decision_date': '2020-05-04',
  'divorce.court': 'Tòa án nhân dân huyện Bù Gia Mập', 'spouse.full_name': 'Điểu Văn Tâm', 'previous.issued': 'no',
  'request.purpose_kind': 'other', 'request.purpose': 'Bổ sung hồ sơ vay vốn ngân hàng chính sách xã hội', 'request.copies': '2',
  'declaration.confirmed': 'yes', 'declaration.method': 'read_aloud',
};
const THREE_V2 = {
  'mother.declared': 'yes', 'mother.full_name': 'Thị Hoa', 'mother.pin': '070198001234', 'mother.date_of_birth': '1998',
  'mother.ethnicity': 'Xtiêng', 'mother.nationality': 'Việt Nam', 'mother.residence_commune': '25222',
  'mother.residence_detail': 'Thôn Bù Khơn', 'mother.phone': '0912345678',
  'father.declared': 'yes', 'father.full_name': 'Điểu Minh', 'father.pin': '070095004321', 'father.date_of_birth': '1995-04-02',
  'father.ethnicity': 'Xtiêng', 'father.nationality': 'Việt Nam',
  'parents.marriage_cert_number': '15/2019', 'parents.marriage_cert_place': 'Ủy ban nhân dân xã Bù Gia Mập', 'parents.marriage_cert_date': '2019-02-10',
  'child.full_name': 'Điểu Thị Mai', 'child.date_of_birth': daysAgo(20), 'child.sex': 'female', 'child.ethnicity_from': 'mother',
  'child.nationality': 'Việt Nam', 'child.hometown': 'xã Bù Gia Mập, thành phố Đồng Nai',
  'birth.proof': 'e_certificate', 'birth.certificate_code': '00123.GCS.79001.26',
  'child.place_of_birth': 'Trạm Y tế xã Bù Gia Mập', 'child.place_of_birth_commune': '25222',
  'requester.relationship': 'mother', 'requester.id_type': 'can_cuoc', 'birth.copies': '1', 'addressee.commune': '25222',
  'residence.head_is': 'mother', 'residence.relationship_to_head': 'child_biological',
  'declaration.confirmed': 'yes', 'declaration.method': 'signed',
};
const THREE_V1 = {
  'child.full_name': 'Điểu Văn Lâm', 'child.date_of_birth': daysAgo(30), 'child.sex': 'male',
  'child.nationality': 'Việt Nam', 'child.place_of_birth': 'Trạm Y tế xã Bù Gia Mập', 'birth.proof': 'facility',
  'mother.full_name': 'Thị Hoa', 'mother.date_of_birth': '1998', 'mother.ethnicity': 'Xtiêng', 'mother.nationality': 'Việt Nam',
  'mother.pin': '070198001234', 'mother.residence_commune': '25222', 'mother.residence_detail': 'Thôn Bù Khơn',
  'mother.phone': '0912345678', 'father.declared': 'yes', 'father.full_name': 'Điểu Minh', 'father.date_of_birth': '1995-04-02',
  'father.ethnicity': 'Xtiêng', 'father.nationality': 'Việt Nam', 'father.pin': '070095004321',
  'requester.relationship': 'mother', 'requester.id_type': 'can_cuoc', 'birth.copies': '1',
  'residence.head_is': 'mother', 'residence.relationship_to_head': 'child', 'declaration.confirmed': 'yes',
};

// The official forms' labels in the forms' order (docs/domain.md §3.1, §4.1–4.3), then the end of the form.
const END_CIVIL = ['Tôi cam đoan những nội dung khai trên đây là đúng sự thật', 'Làm tại:', 'ngày', 'tháng', 'năm', 'Người yêu cầu'];
const HEAD = ['CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM', 'Độc lập - Tự do - Hạnh phúc'];
const EXPECTED = {
  marital: [...HEAD, 'TỜ KHAI CẤP GIẤY XÁC NHẬN TÌNH TRẠNG HÔN NHÂN', 'Kính gửi:', 'Họ, chữ đệm, tên người yêu cầu:', 'Nơi cư trú:',
    'Giấy tờ tùy thân:', 'Quan hệ với người được cấp Giấy xác nhận tình trạng hôn nhân:',
    'Đề nghị cấp Giấy xác nhận tình trạng hôn nhân cho người có tên dưới đây:', 'Họ, chữ đệm, tên:', 'Ngày, tháng, năm sinh:',
    'Giới tính:', 'Dân tộc:', 'Quốc tịch:', 'Nơi cư trú:', 'Giấy tờ tùy thân:', 'Trong thời gian cư trú tại:', 'Tình trạng hôn nhân:',
    'Mục đích sử dụng Giấy xác nhận tình trạng hôn nhân:', ...END_CIVIL],
  birth: [...HEAD, 'TỜ KHAI ĐĂNG KÝ KHAI SINH', 'Kính gửi:', 'Họ, chữ đệm, tên người yêu cầu:', 'Ngày, tháng, năm sinh:', 'Giấy tờ tùy thân:',
    'Nơi cư trú:', 'Quan hệ với người được khai sinh:', 'Đề nghị cơ quan đăng ký khai sinh cho người dưới đây:', 'Họ, chữ đệm, tên:',
    'Ngày, tháng, năm sinh:', 'ghi bằng chữ:', 'Giới tính:', 'Dân tộc:', 'Quốc tịch:', 'Nơi sinh:', 'Quê quán:',
    'Họ, chữ đệm, tên người mẹ:', 'Năm sinh:', 'Dân tộc:', 'Quốc tịch:', 'Nơi cư trú:', 'Giấy tờ tùy thân (số định danh cá nhân):',
    'Họ, chữ đệm, tên người cha:', 'Năm sinh:', 'Dân tộc:', 'Quốc tịch:', 'Nơi cư trú:', 'Giấy tờ tùy thân (số định danh cá nhân):',
    'Giấy chứng nhận kết hôn của cha, mẹ:', 'Đề nghị cấp bản sao:', ...END_CIVIL],
  ct01: ['Mẫu CT01 ban hành kèm theo Thông tư số', ...HEAD, 'TỜ KHAI THAY ĐỔI THÔNG TIN CƯ TRÚ', 'Kính gửi:', 'Công an xã Bù Gia Mập',
    '1. Họ, chữ đệm và tên khai sinh:', '2. Ngày, tháng, năm sinh:', '3. Giới tính:', '4. Số định danh cá nhân:',
    '5. Số điện thoại liên hệ:', '6. Email:', '7. Họ, chữ đệm và tên chủ hộ:', '8. Mối quan hệ với chủ hộ:',
    '9. Số định danh cá nhân của chủ hộ:', '10. Nội dung đề nghị:', '11. Những thành viên trong hộ gia đình cùng thay đổi:',
    'Tôi xin cam đoan', 'ngày', 'tháng', 'năm'],
  tk1ts: ['Mẫu TK1-TS', ...HEAD, 'TỜ KHAI THAM GIA, ĐIỀU CHỈNH THÔNG TIN BẢO HIỂM XÃ HỘI, BẢO HIỂM Y TẾ',
    '[01]. Họ và tên (viết chữ in hoa):', '[02]. Giới tính:', '[03]. Ngày, tháng, năm sinh:', '[04]. Quốc tịch:', '[05]. Dân tộc:',
    '[06]. Số căn cước/Số định danh cá nhân:', '[07]. Điện thoại:', '[08]. Email:', '[09]. Nơi đăng ký khai sinh:',
    '[10]. Họ tên cha/mẹ/người giám hộ (đối với trẻ em dưới 6 tuổi):', '[11]. Địa chỉ nhận kết quả:', 'Tôi cam đoan', 'Người kê khai'],
};
// Signature blocks stand side by side: pdftotext interleaves their lines, so they are checked as present.
const SIGNS = {
  marital: ['Người yêu cầu'], birth: ['Người yêu cầu'], tk1ts: ['Người kê khai'],
  ct01: ['Ý KIẾN CỦA', 'NGƯỜI KÊ KHAI'],
};

const flat = (s) => s.normalize('NFC').replace(/\s+/g, ' ');

/** Each of `labels` in `text`, in this order; returns where the last one ends. */
function inOrder(text, labels, what) {
  let at = 0;
  for (const l of labels) {
    const i = text.indexOf(flat(l), at);
    assert.ok(i >= 0, `${what}: "${l}" after position ${at} in:\n${text.slice(at, at + 400)}`);
    at = i + flat(l).length;
  }
  return at;
}

/** Prints the page to an A4 PDF in artifacts/, PNGs of its pages beside it; returns the pages' text. */
async function printPdf(page, name) {
  const file = path.join(ARTIFACTS, name + '.pdf');
  await page.emulateMedia({ media: 'print' });
  await page.pdf({ path: file, format: 'A4', preferCSSPageSize: true, printBackground: true });
  await page.emulateMedia({ media: 'screen' });
  const r = spawnSync('pdftotext', ['-layout', file, '-'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  for (const f of fs.readdirSync(ARTIFACTS)) if (f.startsWith(name + '-') && f.endsWith('.png')) fs.rmSync(path.join(ARTIFACTS, f));
  const png = spawnSync('pdftoppm', ['-png', '-r', '60', file, path.join(ARTIFACTS, name)], { encoding: 'utf8' });
  assert.equal(png.status, 0, png.stderr);
  const info = spawnSync('pdfinfo', [file], { encoding: 'utf8' }).stdout;
  assert.match(info, /Page size:.*\(A4\)/, `${name}: A4`);
  const [w, hgt] = info.match(/Page size:\s+([\d.]+) x ([\d.]+)/).slice(1).map(Number);
  assert.ok(w < hgt, `${name}: portrait`);
  return r.stdout.split('\f').filter((p) => p.trim());
}

/** The checks every printed dossier passes; `forms` is the hub's answer (the layouts as served). */
function checkPaper(pages, forms, name) {
  const all = flat(pages.join('\n'));
  assert.doesNotMatch(all, /\b\d{5}\b/, `${name}: no raw 5-digit unit code`);
  assert.doesNotMatch(all, /\bnull\b|\bundefined\b|\[object/, `${name}: no null/undefined`);
  assert.doesNotMatch(all, /\b[a-z]+_[a-z0-9_]+\b/, `${name}: no snake_case key`);
  assert.doesNotMatch(all, /tự điền/, `${name}: no note about derived values`);
  assert.doesNotMatch(all, /\b\d{4}-\d{2}-\d{2}\b/, `${name}: no ISO date`);
  for (const d of all.match(/\b\d{1,4}[/.]\d{1,2}[/.]\d{2,4}\b/g) || []) assert.match(d, /^\d{2}\/\d{2}\/\d{4}$/, `${name}: date ${d} as dd/mm/yyyy`);
  assert.doesNotMatch(all, /Trạm hồ sơ|Đăng xuất|In tờ khai \(A4\)|Quay lại/, `${name}: nothing of the app printed`);
  // Each form on its own pages: the page a form's title is on starts with the national title block.
  let lastPage = -1;
  for (const f of forms) {
    const title = flat(f.title);
    const p = pages.findIndex((x, i) => i > lastPage && flat(x).includes(title.slice(0, 30)));
    assert.ok(p > lastPage, `${name}: ${f.form} starts on a page after the previous form`);
    const top = flat(pages[p]);
    assert.ok(top.indexOf('CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM') >= 0 && top.indexOf('CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM') < top.indexOf(title.slice(0, 30)),
      `${name}: ${f.form} page starts with the national title block`);
    lastPage = p;
    // This form's text: its pages up to the next form's title.
    const next = forms[forms.indexOf(f) + 1];
    let end = pages.length;
    if (next) end = pages.findIndex((x, i) => i > p && flat(x).includes(flat(next.title).slice(0, 30)));
    const text = flat(pages.slice(p, end).join('\n'));
    inOrder(text, EXPECTED[f.form], `${name} ${f.form} (docs/domain.md)`);
    const served = f.lines.filter((l) => l.kind !== 'text').map((l) => (l.no ? l.no + ' ' : '') + l.label + ':');
    inOrder(text, served, `${name} ${f.form} (served layout)`);
    for (const s of SIGNS[f.form]) assert.ok(text.includes(s), `${name} ${f.form}: signature block ${s}`);
    if (f.form === 'ct01') assert.equal(text.split('Ý KIẾN CỦA').length - 1, 3, `${name}: CT01 opinion blocks of head, owner, parent`);
  }
}

async function newDraft(page, procedure, version, fields, photos) {
  const d = await call(page, 'POST', '/api/v1/drafts', { procedure: { id: procedure, version }, fields: {} });
  assert.ok(await call(page, 'PUT', `/api/v1/drafts/${d.id}`, { fields, version: d.version }));
  for (const [role, file] of photos) {
    const b64 = fs.readFileSync(path.join(SHARED, 'data/photos', file)).toString('base64');
    assert.ok(await page.evaluate(async ([id, data, r]) => {
      const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
      const fd = new FormData();
      fd.append('role', r);
      fd.append('file', new Blob([bytes], { type: 'image/jpeg' }), 'giay.jpg');
      return (await import('./lib.js')).api('POST', `/api/v1/drafts/${id}/attachments`, fd);
    }, [d.id, b64, role]));
  }
  const c = await call(page, 'GET', `/api/v1/drafts/${d.id}/check`);
  assert.deepEqual(c.errors, [], `${procedure} v${version} is complete`);
  return d.id;
}

test('the official forms print on A4 from the field review, the receipt screen and the office', async () => {
  const page = b.page;
  await login(page, field.base, OFFICER);
  const marital = await newDraft(page, 'marital-status-certificate', 2, MARITAL_V2, [['id_document', 'to-khai-xac-nhan-hon-nhan.jpg']]);
  const three = await newDraft(page, 'birth-residence-insurance', 2, THREE_V2, [['requester_id', 'giay-chung-sinh.jpg']]);
  const old = await newDraft(page, 'birth-residence-insurance', 1, THREE_V1, [['birth_certificate', 'giay-chung-sinh.jpg'], ['requester_id', 'giay-chung-sinh.jpg']]);

  // ----- field, on the phone: the capture review of the v2 marital request -----
  const served = await call(page, 'GET', `/api/v1/drafts/${marital}/forms`);
  assert.deepEqual(served.forms.map((f) => f.form), ['marital']);
  await page.goto(`${field.base}/#/draft/${marital}`);
  await page.click('[data-testid=seal]');
  await page.waitForSelector('[data-testid=review-print-forms]');
  await page.locator('[data-testid=review-print-forms]').scrollIntoViewIfNeeded();
  await page.screenshot({ path: path.join(ARTIFACTS, 'print-forms-0-field-review-button.png') });
  await page.click('[data-testid=review-print-forms]');
  await page.waitForSelector('[data-testid=a4-preview] [data-testid=a4-form-marital]');
  // The preview covers the screen (a viewport shot: the review stays under it).
  await page.screenshot({ path: path.join(ARTIFACTS, 'print-forms-1-field-review-preview.png') });
  await axeCheck(page, 'field preview of the forms');
  let pages = await printPdf(page, 'print-forms-field-review-marital-v2');
  checkPaper(pages, served.forms, 'field review');
  let text = flat(pages.join('\n'));
  assert.doesNotMatch(text, /Xem lại trước khi niêm phong|Niêm phong/, 'the review under the preview is not printed');
  assert.match(text, /Ủy ban nhân dân xã Bù Gia Mập/);
  assert.match(text, /Điểm chỉ/, 'read aloud: a thumbprint, not a signature');
  assert.match(text, /Bản án\/quyết định ly hôn số: 12\/2020\/QĐST-HNGĐ/);
  assert.match(text, /Bù Gia Mập, ngày \d{2} tháng \d{2} năm \d{4}/);
  await page.click('[data-testid=a4-close]');
  await page.waitForSelector('[data-testid=a4-preview]', { state: 'detached' });

  // Sealed from the review: the receipt screen prints the same forms (this tab kept them).
  await page.check('[data-testid=seal-readback]');
  await page.click('[data-testid=seal-confirm]');
  await page.waitForSelector('[data-testid=receipt-code]');
  const maritalCode = (await page.textContent('[data-testid=receipt-code]')).trim();
  await page.click('[data-testid=receipt-print-forms]');
  await page.waitForSelector('[data-testid=a4-preview] [data-testid=a4-form-marital]');
  pages = await printPdf(page, 'print-forms-field-receipt-marital-v2');
  checkPaper(pages, served.forms, 'field receipt');
  assert.doesNotMatch(flat(pages.join('\n')), new RegExp(maritalCode.replace(/\W/g, '.')), 'the slip is not printed with the forms');
  await page.click('[data-testid=a4-close]');
  await page.locator('[data-testid=receipt-print-forms]').scrollIntoViewIfNeeded();
  await page.screenshot({ path: path.join(ARTIFACTS, 'print-forms-2-field-receipt.png') });
  // After a reload the field hub holds only the encrypted dossier: the screen says where forms print.
  await page.reload();
  await page.waitForSelector('[data-testid=receipt-forms-gone]');

  const r3 = await call(page, 'POST', `/api/v1/drafts/${three}/seal`, {});
  const r1 = await call(page, 'POST', `/api/v1/drafts/${old}/seal`, {});
  const batch = path.join(field.dataDir, 'usb.batch');
  hubCli(['batch', 'export', '--data', field.dataDir, '--out', batch]);
  assert.equal(JSON.parse(hubCli(['batch', 'import', '--data', office.dataDir, '--json', batch])).stored, 3);

  // ----- office: each dossier's forms from its page -----
  await page.context().clearCookies();
  await login(page, office.base, CLERK);
  await page.setViewportSize({ width: 1200, height: 900 });
  const cases = [[maritalCode, 'marital-v2', ['marital']], [r3.code, '3in1-v2', ['birth', 'ct01', 'tk1ts']], [r1.code, '3in1-v1', ['birth', 'ct01', 'tk1ts']]];
  for (const [code, name, forms] of cases) {
    await page.goto(office.base + '/#/');
    await page.click(`[data-testid=office-row][data-receipt="${code}"]`);
    await page.click('[data-testid=open-print]');
    await page.waitForSelector('[data-testid=print-view] [data-testid=a4-forms]');
    const id = decodeURIComponent(page.url().split('/').pop());
    const out = await call(page, 'GET', `/api/v1/office/dossiers/${id}/forms`);
    assert.deepEqual(out.forms.map((f) => f.form), forms, name);
    pages = await printPdf(page, 'print-forms-office-' + name);
    checkPaper(pages, out.forms, 'office ' + name);
    text = flat(pages.join('\n'));
    if (name.startsWith('3in1')) {
      assert.match(text, /Công an xã Bù Gia Mập/);
      assert.match(text, /ghi bằng chữ: Ngày [a-zà-ỹ ]+, tháng [a-zà-ỹ ]+, năm hai nghìn/);
      assert.match(text, /Đăng ký thường trú tại: Thôn Bù Khơn, Xã Bù Gia Mập/);
      assert.ok(pages.length >= 3, `${name}: three forms, three pages at least`);
    }
    if (name === '3in1-v2') {
      assert.match(text, /ĐIỂU THỊ MAI/);
      assert.match(text, /Mối quan hệ với chủ hộ: Con đẻ/);
      assert.match(text, /Số: 15\/2019/);
    }
    if (name === '3in1-v1') assert.match(text, /Mối quan hệ với chủ hộ: Con\b/);
    if (name === 'marital-v2') assert.doesNotMatch(text, /Ngày, tháng, năm sinh: ……/, 'the person\'s date of birth is filled');
  }
  await axeCheck(page, 'office print view');
  await shot(page, 'print-forms-3-office-3in1-v1');
  // As a clerk's phone shows the print view.
  await page.setViewportSize({ width: 360, height: 740 });
  await page.reload();
  await page.waitForSelector('[data-testid=print-view] [data-testid=a4-forms]');
  await shot(page, 'print-forms-4-office-phone');
  assert.deepEqual(b.errors, [], 'no page errors');
});
