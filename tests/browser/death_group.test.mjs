// The death group (Decree 63/2024, second interconnected group: death registration + deregistration of
// permanent residence + funeral allowance / survivor benefits), added to the kit as a procedure package only
// (issue 20, docs/domain.md "The death group"). An officer captures a dossier on a 360×740 phone in
// Vietnamese, step by step, through the real form the package describes: the deceased's sex follows from
// the PIN, the last residence and the police commune follow from the addressee, the household head and the
// allowance's recipient follow from the person registering ("enter once"). Every screen is scanned (no
// English, no internal key, no raw unit code, dates day first) and kept as a PNG. The officer seals it; the
// field hub syncs to the office over the network; the office shows it verified with its forms' items, prints
// the three declarations (death registration, CT01 for the deregistration, the funeral-allowance request) on
// A4 and exports the rows of the package's three downstream systems.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { startHub, launch, login, axeCheck, shot, hubCli, SHARED, ARTIFACTS, scanVietnameseScreen } from './harness.mjs';

const PROC = 'death-registration-group';
const OFFICER = { name: 'canbo.an', role: 'officer', password: 'Can-bo-2026!' };
const CLERK = { name: 'vanthu.binh', role: 'clerk', password: 'Van-thu-2026!' };
const PHOTO = path.join(SHARED, 'data/photos/giay-chung-sinh.jpg');
let field; let office; let b; let page; let code;

before(async () => {
  office = await startHub({ mode: 'office', users: [CLERK], name: 'UBND xã Bù Gia Mập' });
  // The field hub serves Xã Bù Gia Mập (25222): the dossier is addressed there.
  field = await startHub({ mode: 'field', users: [OFFICER], name: 'Trạm Bù Gia Mập',
    args: ['--commune', '25222', '--sync', 'off', '--office-url', office.base] });
  const fieldCard = path.join(field.dataDir, 'field.pub');
  const officeCard = path.join(office.dataDir, 'office.pub');
  fs.writeFileSync(fieldCard, hubCli(['key', 'show', '--data', field.dataDir]));
  fs.writeFileSync(officeCard, hubCli(['key', 'show', '--data', office.dataDir]));
  hubCli(['trust', '--data', field.dataDir, officeCard]);
  hubCli(['trust', '--data', office.dataDir, fieldCard]);
  b = await launch({ viewport: { width: 360, height: 740 } });
  page = b.page;
});

after(async () => {
  if (b) await b.close();
  if (field) await field.stop();
  if (office) await office.stop();
});

const call = (method, p, body) => page.evaluate(async ([m, u, x]) => (await import('./lib.js')).api(m, u, x), [method, p, body]);
// A day `n` days ago in Vietnam, as a person types it (dd/mm/yyyy) and as it is stored (yyyy-mm-dd).
const ago = (n) => new Date(Date.now() + 7 * 3600e3 - n * 86400e3).toISOString().slice(0, 10);
const typed = (iso) => iso.split('-').reverse().join('/');
const DIED = ago(5);
const NOTICE = ago(4);

// The deceased: a man born 12/03/1950; PIN 070050001234 = province 070, digit 0 (1900s, male), year 50.
// His son registers the death, is the household head and receives the social-insurance funeral allowance.
const PATH = [
  { type: 'requester.full_name', value: 'Điểu Văn Minh' },
  { tap: 'requester.relationship', value: 'child' },
  { type: 'requester.pin', value: '070085004321' },
  { type: 'requester.phone', value: '0912345678' },
  { type: 'deceased.full_name', value: 'Điểu Văn Bình' },
  { type: 'deceased.pin', value: '070050001234' },
  { type: 'deceased.date_of_birth', value: '12/03/1950' },
  { type: 'deceased.ethnicity', value: 'Xtiêng' },
  { type: 'deceased.residence_detail', value: 'Thôn Bù Khơn' },
  { type: 'death.date', value: typed(DIED) },
  { type: 'death.time', value: '14 giờ 30 phút' },
  { type: 'death.place', value: 'Trạm Y tế xã Bù Gia Mập' },
  { type: 'death.cause', value: 'Bệnh tim' },
  { type: 'death.notice_number', value: '15/GBT' },
  { type: 'death.notice_issuer', value: 'Trạm Y tế xã Bù Gia Mập' },
  { type: 'death.notice_date', value: typed(NOTICE) },
  { tap: 'residence.relationship_to_head', value: 'cha_de' },
  { tap: 'benefit.kind', value: 'si_funeral' },
  { tap: 'benefit.recipient_is', value: 'requester' },
  { tap: 'benefit.payment', value: 'bank' },
  { type: 'benefit.bank_account', value: '0123456789' },
  { type: 'benefit.bank_name', value: 'Ngân hàng Nông nghiệp, chi nhánh Bù Gia Mập' },
  { tap: 'declaration.confirmed' },
  { photo: 'death_notice' },
];

const scanScreen = (label) => scanVietnameseScreen(page, label, { parts: ['addressee', 'requester', 'deceased', 'death', 'residence', 'benefit', 'declaration'], moreEnglish: ['death', 'deceased', 'funeral'] });

// Where each step's inputs and "Tiếp" sit on the 360×740 screen (the rule of layout.test.mjs for the two
// compiled-in procedures, here for the package's grouping): the step's first input on screen without
// scrolling, "Tiếp" at most one screen further down, on an empty draft.
async function stepFacts() {
  return page.evaluate(() => {
    const shown = (e) => { const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0; };
    const next = document.querySelector('[data-testid=step-next]');
    if (!next || !shown(next)) return { next: null };
    const step = [...document.querySelectorAll('.draft [data-group]')].find((x) => !x.hidden && shown(x));
    let first = [...step.querySelectorAll('input:not([type=hidden]), select, textarea')].find(shown) || null;
    if (first && first.type === 'file') first = document.querySelector(`label[for="${first.id}"]`);
    const bar = document.querySelector('.draft .actions').getBoundingClientRect();
    const nr = next.getBoundingClientRect();
    const fr = first ? first.getBoundingClientRect() : null;
    return {
      label: document.querySelector('[data-testid=step-label]').textContent.trim(), group: step.dataset.group,
      first: fr && { top: Math.round(fr.top), bottom: Math.round(fr.bottom) },
      next: { bottom: Math.round(nr.bottom) }, bar: Math.round(bar.height), barTop: Math.round(bar.top), innerHeight,
    };
  });
}

test('every capture step of the death group: first input on screen, Next within one screen', async () => {
  await login(page, field.base, OFFICER);
  await page.evaluate(() => localStorage.setItem('ok.layout', 'steps'));
  await page.goto(field.base + '/#/');
  await page.click(`[data-testid=new-${PROC}]`);
  await page.waitForSelector('[data-testid=step-label]');
  await page.waitForSelector('[data-testid=save-state][data-state="draft.saved"]');
  const problems = [];
  let i = 0;
  for (;;) {
    i += 1;
    await page.evaluate(() => window.scrollTo(0, 0));
    const s = await stepFacts();
    if (!s.next) break;
    const name = `${i}: ${s.group}`;
    const visibleBottom = Math.min(s.innerHeight, s.barTop);
    const toNext = Math.max(0, s.next.bottom - (s.innerHeight - s.bar));
    if (!s.first) problems.push(`${name}: the step has no input`);
    else if (!(s.first.top >= 0 && s.first.bottom <= visibleBottom)) problems.push(`${name}: the first input is at ${s.first.top}–${s.first.bottom} px`);
    if (toNext > s.innerHeight) problems.push(`${name}: "Tiếp" needs ${toNext} px of scrolling (more than one screen)`);
    await page.click('[data-testid=step-next]');
    await page.waitForFunction((l) => document.querySelector('[data-testid=step-label]').textContent.trim() !== l, s.label);
  }
  assert.ok(i > 5, `walked ${i - 1} capture steps`);
  assert.deepEqual(problems, [], problems.join('\n'));
  // The empty draft is deleted again (the next test starts from a clean home).
  const id = decodeURIComponent(page.url().split('/').pop().split('?')[0]);
  await call('DELETE', `/api/v1/drafts/${id}`);
});

test('the death group is captured on a phone, sealed, synced, verified, printed and exported at the office', async () => {
  // The package is offered as a procedure of its own, after the two others (menu_order 3).
  const procs = await call('GET', '/api/v1/procedures');
  const ids = procs.in_force.map((r) => r.id);
  assert.ok(ids.includes(PROC), `the field hub offers ${PROC}: ${ids.join(', ')}`);
  assert.equal(ids[ids.length - 1], PROC, 'listed after the marital-status and 3-in-1 procedures');

  // ---------- capture, step by step, on a 360×740 phone in Vietnamese ----------
  await page.evaluate(() => localStorage.setItem('ok.layout', 'steps'));
  await page.goto(field.base + '/#/');
  await page.waitForSelector(`[data-testid=new-${PROC}]`);
  assert.match(await page.textContent(`[data-testid=new-${PROC}]`), /Khai tử, xóa đăng ký thường trú, mai táng phí, tử tuất/);
  await shot(page, 'death-0-home');
  await page.click(`[data-testid=new-${PROC}]`);
  await page.waitForSelector('[data-testid=step-label]');
  const todo = [...PATH];
  let screens = 0;
  for (let guard = 0; guard < 20; guard++) {
    screens += 1;
    const label = (await page.textContent('[data-testid=step-label]')).trim();
    while (todo.length) {
      const a = todo[0];
      if (a.photo) {
        if (!(await page.isVisible(`[data-doc="${a.photo}"]`))) break;
        await page.setInputFiles(`[data-role="${a.photo}"]`, PHOTO);
        await page.waitForSelector(`[data-doc="${a.photo}"] [data-testid=thumb] img`, { timeout: 60000 });
      } else if (a.type) {
        const sel = `[name="${a.type}"]`;
        if (!(await page.isVisible(sel))) break;
        await page.fill(sel, a.value);
        await page.locator(sel).blur();
      } else if (a.value) {
        // A choice: radios for a few options, a list for many (the form decides).
        const sel = `select[name="${a.tap}"]`;
        const radio = `[name="${a.tap}"][value="${a.value}"]`;
        if (await page.isVisible(sel)) await page.selectOption(sel, a.value);
        else if (await page.isVisible(radio)) await page.check(radio);
        else break;
      } else {
        const sel = `[name="${a.tap}"]`;
        if (!(await page.isVisible(sel))) break;
        await page.check(sel);
      }
      todo.shift();
    }
    const text = await scanScreen(`step ${screens} ${label}`);
    await shot(page, `death-1-step-${screens}`);
    await axeCheck(page, `death capture step ${screens}`);
    // Derived values are shown, never typed: the addressee starts at the hub's commune.
    if (await page.isVisible('[data-commune-for="addressee.commune"]')) {
      assert.match(await page.inputValue('[data-commune-for="addressee.commune"]'), /Bù Gia Mập/);
    }
    assert.ok(text.length > 0);
    if (await page.isVisible('[data-testid=review]') || !(await page.isVisible('[data-testid=step-next]'))) break;
    await page.click('[data-testid=step-next]');
  }
  assert.deepEqual(todo.map((a) => a.type || a.tap || a.photo), [], 'every field of the path was met on some step');
  await page.waitForSelector('[data-testid=review-ready]', { timeout: 15000 });
  const review = await scanScreen('review');
  await shot(page, 'death-2-review');
  await axeCheck(page, 'death review');
  // Enter once: what the officer never typed is on the review, from the other answers.
  assert.match(review, /Điểu Văn Bình/);
  assert.match(review, /12\/03\/1950/);
  assert.match(review, /Nam/, "the deceased's sex read from his PIN");
  assert.match(review, /Bù Gia Mập/, 'last residence and police commune from the addressee');
  assert.match(review, new RegExp(typed(DIED).replace(/\//g, '\\/')));
  assert.doesNotMatch(review, /Không có ảnh/, 'no paper of another case is listed as missing');

  // The draft's values: the derivations filled what was not typed.
  const draftId = decodeURIComponent(page.url().split('/').pop().split('?')[0]);
  const check = await call('GET', `/api/v1/drafts/${draftId}/check`);
  assert.deepEqual(check.errors, [], 'the dossier is complete');

  // ---------- seal ----------
  await page.check('[data-testid=seal-readback]');
  await page.click('[data-testid=seal-confirm]');
  await page.waitForSelector('[data-testid=receipt-code]');
  code = (await page.textContent('[data-testid=receipt-code]')).trim();
  await scanScreen('receipt');
  await shot(page, 'death-3-receipt');
  await axeCheck(page, 'death receipt');
  const receipt = await page.textContent('main');
  assert.match(receipt, /Khai tử, xóa đăng ký thường trú/, 'the slip names the procedure');
  assert.match(receipt, /Thời hạn giải quyết\s*5 ngày làm việc/, "the package's time limit");

  // ---------- sync to the office over the network ----------
  await page.goto(`${field.base}/#/sync`);
  await page.waitForSelector('[data-testid=sync-office]');
  await page.click('[data-testid=sync-run]');
  await page.waitForFunction(() => document.querySelector('[data-testid=count-acked]')?.textContent === '1', null, { timeout: 60000 });
  assert.equal(await page.locator('[data-testid=sync-error]').count(), 0);
  await shot(page, 'death-4-synced');

  // ---------- the office: verified, its forms' items, printed, exported ----------
  await page.context().clearCookies();
  await login(page, office.base, CLERK);
  await page.goto(office.base + '/#/');
  const row = `[data-testid=office-row][data-receipt="${code}"]`;
  await page.waitForSelector(row);
  await page.click(row);
  await page.waitForSelector('[data-testid=verification]');
  assert.match(await page.textContent('[data-testid=verification]'), /Đã xác minh/);
  const dossier = await scanScreen('office dossier');
  await shot(page, 'death-5-office-dossier');
  for (const s of ['Điểu Văn Bình', 'Điểu Văn Minh', 'Bệnh tim', '15/GBT', 'Trạm Y tế xã Bù Gia Mập', 'Trợ cấp mai táng (bảo hiểm xã hội)']) {
    assert.ok(dossier.includes(s), `the office dossier page shows ${s}`);
  }

  // Print: the three declarations the portal generates, each from the package's layout.
  await page.click('[data-testid=open-print]');
  await page.waitForSelector('[data-testid=print-view] [data-testid=a4-forms]');
  const id = decodeURIComponent(page.url().split('/').pop());
  const out = await call('GET', `/api/v1/office/dossiers/${id}/forms`);
  assert.deepEqual(out.forms.map((f) => f.form), ['death', 'ct01', 'funeral']);
  for (const f of ['death', 'ct01', 'funeral']) await page.waitForSelector(`[data-testid=a4-form-${f}]`);
  const file = path.join(ARTIFACTS, 'death-6-office-forms.pdf');
  await page.emulateMedia({ media: 'print' });
  await page.pdf({ path: file, format: 'A4', preferCSSPageSize: true, printBackground: true });
  await page.emulateMedia({ media: 'screen' });
  const pdf = spawnSync('pdftotext', ['-layout', file, '-'], { encoding: 'utf8' });
  assert.equal(pdf.status, 0, pdf.stderr);
  spawnSync('pdftoppm', ['-png', '-r', '60', file, path.join(ARTIFACTS, 'death-6-office-forms')]);
  const paper = pdf.stdout.normalize('NFC').replace(/\s+/g, ' ');
  let at = 0;
  for (const l of ['TỜ KHAI ĐĂNG KÝ KHAI TỬ', 'Kính gửi: Ủy ban nhân dân xã Bù Gia Mập', 'Họ, chữ đệm, tên người yêu cầu: Điểu Văn Minh',
    'Quan hệ với người đã chết: Con', 'Họ, chữ đệm, tên: ĐIỂU VĂN BÌNH', 'Ngày, tháng, năm sinh: 12/03/1950', 'Giới tính: Nam',
    'Nơi cư trú cuối cùng: Thôn Bù Khơn, Xã Bù Gia Mập', 'Đã chết vào lúc: 14 giờ 30 phút', `ngày: ${typed(DIED)}`, 'Nguyên nhân chết: Bệnh tim',
    'số: 15/GBT', 'do: Trạm Y tế xã Bù Gia Mập', `cấp ngày: ${typed(NOTICE)}`, 'Đề nghị cấp bản sao: Có', 'Tôi cam đoan', 'Người yêu cầu',
    'Mẫu CT01', 'TỜ KHAI THAY ĐỔI THÔNG TIN CƯ TRÚ', 'Công an xã Bù Gia Mập', '1. Họ, chữ đệm và tên khai sinh: Điểu Văn Bình',
    '7. Họ, chữ đệm và tên chủ hộ: Điểu Văn Minh', '8. Mối quan hệ với chủ hộ: Cha đẻ', '10. Nội dung đề nghị: Xóa đăng ký thường trú',
    'TỜ KHAI ĐỀ NGHỊ HỖ TRỢ CHI PHÍ MAI TÁNG', 'Trợ cấp mai táng (bảo hiểm xã hội)', 'Chuyển khoản', '0123456789']) {
    const i = paper.indexOf(l, at);
    assert.ok(i >= 0, `printed forms: "${l}" after position ${at} in:\n${paper.slice(at, at + 500)}`);
    at = i + l.length;
  }
  assert.doesNotMatch(paper, /\b\d{5}\b/, 'no raw unit code on paper');
  assert.doesNotMatch(paper, /\b[a-z]+_[a-z0-9_]+\b|\bnull\b|\bundefined\b/, 'no key, no null on paper');
  await shot(page, 'death-7-office-print-view');

  // Export: each of the package's systems has the dossier waiting; the civil-status one exports as CSV.
  await page.goto(office.base + '/#/office/exports');
  for (const sys of ['death_registration', 'residence_deregistration', 'funeral_benefit']) {
    await page.waitForSelector(`[data-testid=export-card-${sys}]`);
    assert.equal(await page.getAttribute(`[data-testid=export-pending-${sys}]`, 'data-count'), '1', `${sys}: one dossier waits`);
  }
  await shot(page, 'death-8-office-exports');
  await axeCheck(page, 'office exports with the death group');
  await page.selectOption('[data-testid=export-format-death_registration]', 'csv');
  await page.click('[data-testid=export-go-death_registration]');
  await page.waitForSelector('[data-testid=export-download-death_registration]');
  const href = await page.getAttribute('[data-testid=export-download-death_registration]', 'href');
  const csv = await page.evaluate(async (u) => (await fetch(u)).text(), href);
  const [head, line] = csv.replace(/^\uFEFF/, '').split(/\r?\n/);
  assert.match(head, /^Mã biên nhận,Mã hồ sơ,Ngày tiếp nhận,Kính gửi,Họ, chữ đệm, tên người yêu cầu|^"?Mã biên nhận"?,/);
  assert.ok(head.includes('Nguyên nhân chết') && head.includes('Số Giấy báo tử/Giấy tờ thay thế Giấy báo tử'), head);
  assert.ok(line.includes(code) && line.includes('Điểu Văn Bình') && line.includes('Bệnh tim') && line.includes(DIED), line); // CSV dates in ISO 8601 (issue 24)
  await page.waitForSelector('[data-testid=export-pending-death_registration][data-count="0"]');
  await shot(page, 'death-9-office-exported');
  assert.deepEqual(b.errors, [], 'no page errors');
});

// The casework page of the office, for a procedure it only knows from its package: the captured values laid
// out as the package's downstream forms, each titled with its form's name.
test('the office dossier page lays the values out as the package\'s forms', async () => {
  assert.ok(code, 'the first test sealed and synced a dossier');
  await page.goto(office.base + '/#/');
  await page.click(`[data-testid=office-row][data-receipt="${code}"]`);
  await page.waitForSelector('[data-testid=verification]');
  // One section per downstream form of the package (its export systems), in the package's order.
  for (const f of ['death_registration', 'residence_deregistration', 'funeral_benefit']) {
    await page.waitForSelector(`[data-testid=form-${f}]`, { timeout: 5000 });
  }
  assert.match(await page.textContent('[data-testid=form-death_registration] h2'), /Tờ khai đăng ký khai tử/);
  assert.match(await page.textContent('[data-testid=form-death_registration] [data-key="deceased.full_name"]'), /Điểu Văn Bình/);
  assert.match(await page.textContent('[data-testid=form-residence_deregistration] [data-key="residence.relationship_to_head"]'), /Cha đẻ/);
  assert.match(await page.textContent('[data-testid=form-funeral_benefit] [data-key="benefit.bank_account"]'), /0123456789/);
  await scanScreen('office dossier laid out as forms');
  await shot(page, 'death-5b-office-dossier-forms');
  await axeCheck(page, 'office death dossier');
});

// The result numbers the package names (death registration, deregistration notice, benefit decision) are
// asked for when the clerk records the registration, and shown after.
test('the office records the result numbers the package names', async () => {
  assert.ok(code, 'the first test sealed and synced a dossier');
  await page.goto(office.base + '/#/');
  await page.click(`[data-testid=office-row][data-receipt="${code}"]`);
  await page.click('[data-testid=status-to-registered]');
  const numbers = { death_registration: '25/2026', residence_deregistration: '112/TB-CAX', benefit_decision: '7/QĐ-BHXH' };
  for (const [k, v] of Object.entries(numbers)) await page.fill(`[data-testid="st-result_numbers.${k}"]`, v, { timeout: 5000 });
  await shot(page, 'death-10-office-register-form');
  await page.click('[data-testid=status-submit]');
  await page.waitForSelector('[data-testid=status-badge][data-status=registered], [data-testid=status-error]');
  if (await page.isVisible('[data-testid=status-error]')) {
    await shot(page, 'death-10b-office-register-refused');
    assert.fail(`the office refused the package's result numbers: ${await page.textContent('[data-testid=status-error]')}`);
  }
  const shown = await page.textContent('[data-testid=result-numbers]');
  for (const v of Object.values(numbers)) assert.ok(shown.includes(v), `result number ${v} shown`);
  assert.match(shown, /Số đăng ký khai tử/);
  await scanScreen('office registered');
  await shot(page, 'death-11-office-registered');
});
