// The 58 mm receipt slip on a real field hub in headless Chromium, on a 360×740 phone in Vietnamese.
// The team picks the villager's language at capture (the draft's review step); the slip prints it first,
// then Vietnamese (Vietnamese alone for a Vietnamese villager); only the papers that apply to this dossier;
// one QR (the tracking URL a phone camera opens); the status URL wraps inside 58 mm; nothing widens the
// screen; and a typical dossier of both procedures fits 15 cm of 58 mm paper.
//
// How the height is measured: what a thermal printer feeds is the page Chromium's print pipeline makes.
// The slip asks for a 58 mm page as long as itself (@page size, see slip.js), so the test prints the slip
// screen to PDF as a printer driver would receive it (page.pdf with the CSS page size, print media) and
// reads the page's size from the PDF: the length is the page height, and the whole slip must be on that
// ONE page (a slip longer than its page would spill onto a second). Fonts, line breaks and the QR are
// Chromium's own. The rendered `.slip-print` height under print media is checked against it and logged.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startHub, launch, login, axeCheck, shot, SHARED, ARTIFACTS, apiLogin, MARITAL_FIELDS } from './harness.mjs';

const OFFICER = { name: 'canbo.lan', role: 'officer', password: 'Can-bo-2026!' };
const MARITAL = { id: 'marital-status-certificate', version: 1 };
const THREE = { id: 'birth-residence-insurance', version: 1 };
const ID_PHOTO = fs.readFileSync(path.join(SHARED, 'data/photos/to-khai-xac-nhan-hon-nhan.jpg'));
const BIRTH_PHOTO = fs.readFileSync(path.join(SHARED, 'data/photos/giay-chung-sinh.jpg'));
const PHONE = { viewport: { width: 360, height: 740 } };
const MAX_CM = 15;
const MM = 96 / 25.4; // CSS pixels per millimetre

function threeFields() {
  const born = new Date(Date.now() + 7 * 3600e3 - 20 * 86400e3).toISOString().slice(0, 10);
  return {
    'child.full_name': 'Điểu Thị Mai', 'child.date_of_birth': born, 'child.sex': 'female', 'child.nationality': 'Việt Nam',
    'child.place_of_birth': 'Trạm Y tế xã Bù Gia Mập', 'birth.proof': 'facility',
    'mother.full_name': 'Thị Hoa', 'mother.date_of_birth': '1998', 'mother.ethnicity': 'Xtiêng', 'mother.nationality': 'Việt Nam',
    'mother.pin': '070198001234', 'mother.residence_commune': '25222', 'mother.residence_detail': 'Thôn Bù Khơn', 'mother.phone': '0912345678',
    'father.declared': 'yes', 'father.full_name': 'Điểu Minh', 'father.date_of_birth': '1995-04-02', 'father.ethnicity': 'Xtiêng',
    'father.nationality': 'Việt Nam', 'father.pin': '070095004321',
    'requester.relationship': 'mother', 'requester.id_type': 'can_cuoc', 'birth.copies': '1',
    'residence.head_is': 'mother', 'residence.relationship_to_head': 'child', 'declaration.confirmed': 'yes',
  };
}

// A draft of `proc` with `fields` and a photo per role in `photos` ({role: bytes}); returns its id.
async function draft(api, proc, fields, photos) {
  const d = await api('POST', '/api/v1/drafts', { procedure: proc, fields: {} });
  assert.equal(d.status, 201, JSON.stringify(d.body));
  const u = await api('PUT', `/api/v1/drafts/${d.body.id}`, { fields, version: d.body.version });
  assert.equal(u.status, 200, JSON.stringify(u.body));
  for (const [role, bytes] of Object.entries(photos)) {
    const fd = new FormData();
    fd.append('role', role);
    fd.append('file', new Blob([bytes], { type: 'image/jpeg' }), role + '.jpg');
    const a = await api('POST', `/api/v1/drafts/${d.body.id}/attachments`, fd);
    assert.equal(a.status, 201, JSON.stringify(a.body));
  }
  const c = await api('GET', `/api/v1/drafts/${d.body.id}/check`);
  assert.deepEqual(c.body.errors, [], 'the draft is ready to seal');
  return d.body.id;
}

// The slip as Chromium prints it: the PDF of the page with the page size the slip asks for (@page).
async function printPdf(page) {
  const pdf = await page.pdf({ preferCSSPageSize: true });
  const text = pdf.toString('latin1');
  const pages = (text.match(/\/Type\s*\/Page(?![a-zA-Z])/g) || []).length;
  const boxes = [...text.matchAll(/\/MediaBox\s*\[\s*([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s*\]/g)]
    .map((m) => ({ w: (m[3] - m[1]) / 72 * 25.4, h: (m[4] - m[2]) / 72 * 25.4 }));
  return { pdf, pages, boxes };
}

// The printed length of the slip in mm (see the file's head): the paper Chromium's print pipeline feeds,
// which must hold the whole slip on one 58 mm page; and the rendered height under print media.
async function printedLength(page, name) {
  const { pdf, pages, boxes } = await printPdf(page);
  fs.writeFileSync(path.join(ARTIFACTS, `${name}.pdf`), pdf);
  assert.equal(pages, 1, 'the whole slip on one page: nothing cut off onto a second one');
  assert.equal(boxes.length, 1);
  assert.ok(Math.abs(boxes[0].w - 58) < 0.5, `58 mm wide paper (${boxes[0].w.toFixed(1)} mm)`);
  await page.emulateMedia({ media: 'print' });
  const dom = await page.evaluate((mm) => document.querySelector('.slip-print').getBoundingClientRect().height / mm, MM);
  await page.emulateMedia({ media: null });
  assert.ok(dom <= boxes[0].h, `the slip (${dom.toFixed(1)} mm) fits its page (${boxes[0].h.toFixed(1)} mm)`);
  return { pdf: boxes[0].h, dom };
}

// Opens the slip of `code` on `page` and waits for its QR.
async function openSlip(page, base, code) {
  await page.goto(`${base}/#/slip/${code}`);
  await page.waitForSelector('[data-testid=slip][data-layout=w58]');
  await page.waitForFunction(() => [...document.querySelectorAll('.slip-print img')].every((i) => i.complete && i.naturalWidth > 0));
}

// What the slip shows, read from the page as a user would see it.
async function slipFacts(page) {
  return page.evaluate(() => {
    const slip = document.querySelector('[data-testid=slip]');
    const proc = document.querySelector('[data-testid=slip-procedure]');
    const url = document.querySelector('[data-testid=slip-url]').getBoundingClientRect();
    const box = slip.getBoundingClientRect();
    return {
      lang: slip.dataset.lang,
      procLangs: [...proc.querySelectorAll('span[lang]')].map((s) => s.lang),
      langsInSlip: [...new Set([...slip.querySelectorAll('[lang]')].map((e) => e.lang))].sort(),
      roles: [...slip.querySelectorAll('[data-testid=slip-original]')].map((li) => li.dataset.role),
      conditions: slip.querySelectorAll('.only-if').length,
      qrs: slip.querySelectorAll('img').length,
      urlInside: url.left >= box.left - 0.5 && url.right <= box.right + 0.5,
      urlLines: Math.round(url.height / parseFloat(getComputedStyle(document.querySelector('[data-testid=slip-url]')).lineHeight)),
      scrollWidth: document.documentElement.scrollWidth,
      innerWidth: window.innerWidth,
      wider: [...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > window.innerWidth + 0.5)
        .map((e) => e.tagName + '.' + e.className).slice(0, 5),
      text: slip.innerText,
    };
  });
}

let hub; let api;

before(async () => {
  hub = await startHub({ mode: 'field', users: [OFFICER] });
  api = await apiLogin(hub.base, OFFICER);
});

after(async () => { if (hub) await hub.stop(); });

test('marital status, picked at capture: English then Vietnamese, only the ID, one QR, ≤ 15 cm, no sideways scroll', async () => {
  const id = await draft(api, MARITAL, MARITAL_FIELDS, { id_document: ID_PHOTO });
  const phone = await launch(PHONE);
  const { page } = phone;
  try {
    await login(page, hub.base, OFFICER);
    await page.goto(`${hub.base}/#/draft/${id}`);
    await page.waitForSelector('[data-testid=save-state]');
    // To the review step, where the officer reads everything back and asks the villager's language.
    for (let i = 0; i < 20 && await page.isVisible('[data-testid=step-next]'); i++) await page.click('[data-testid=step-next]');
    await page.waitForSelector('[data-testid=review-ready]');
    const pick = page.locator('[data-testid=slip-lang-pick]');
    assert.equal(await pick.inputValue(), 'vi', 'Vietnamese until the team picks another language');
    await pick.selectOption('en');
    await shot(page, 'slip-01-capture-language');
    await axeCheck(page, 'review with the slip language');
    // Sealing is confirmed below the review (layout.test.mjs): the read-back box, then "Niêm phong hồ sơ".
    await page.check('[data-testid=seal-readback]');
    await page.click('[data-testid=seal-confirm]');
    await page.waitForSelector('[data-testid=receipt-code]', { timeout: 60000 });
    const code = (await page.textContent('[data-testid=receipt-code]')).trim();
    const s = (await api('GET', `/api/v1/receipts/${code}/slip`)).body;
    assert.equal(s.lang, 'en', 'the language is recorded with the receipt');
    assert.equal(s.originals_apply, true);

    await page.click('[data-testid=slip-link]');
    await page.waitForSelector('[data-testid=slip][data-layout=w58]');
    await page.waitForFunction(() => [...document.querySelectorAll('.slip-print img')].every((i) => i.complete && i.naturalWidth > 0));
    const f = await slipFacts(page);
    assert.equal(f.lang, 'en');
    assert.deepEqual(f.procLangs, ['en', 'vi'], "the villager's language first, then Vietnamese");
    assert.match(f.text, /Identity document \/ Giấy tờ tùy thân/);
    assert.deepEqual(f.roles, ['id_document'], 'only the paper that applies to this dossier');
    assert.equal(f.conditions, 0, 'no "if …" conditions');
    assert.equal(f.qrs, 1, 'one QR');
    assert.ok(f.urlInside, 'the status URL stays inside the slip');
    assert.ok(f.urlLines >= 2, `the status URL wraps (${f.urlLines} lines)`);
    assert.ok(f.scrollWidth <= f.innerWidth, `no sideways scroll: ${f.scrollWidth} px > ${f.innerWidth} px (${f.wider.join(', ')})`);
    await axeCheck(page, 'slip screen');
    await shot(page, 'slip-02-marital-360');

    const len = await printedLength(page, 'slip-marital-58mm');
    console.log(`slip height, marital status (English + Vietnamese, 1 original): ${(len.pdf / 10).toFixed(1)} cm printed (Chromium PDF), ${(len.dom / 10).toFixed(1)} cm rendered`);
    assert.ok(len.pdf <= MAX_CM * 10, `the marital-status slip takes ${(len.pdf / 10).toFixed(1)} cm of 58 mm paper (≤ ${MAX_CM} cm)`);
    await page.emulateMedia({ media: 'print' });
    await shot(page, 'slip-03-marital-print');
    await page.emulateMedia({ media: null });
    assert.deepEqual(phone.errors, []);
  } finally { await phone.close(); }
});

test('3-in-1 (birth at a health facility): two originals, ≤ 15 cm; the A5 layout keeps the signed QR', async () => {
  const id = await draft(api, THREE, threeFields(), { birth_certificate: BIRTH_PHOTO, requester_id: BIRTH_PHOTO });
  const sealed = await api('POST', `/api/v1/drafts/${id}/seal`, { slip_lang: 'en' });
  assert.equal(sealed.status, 201, JSON.stringify(sealed.body));
  const phone = await launch(PHONE);
  const { page } = phone;
  try {
    await login(page, hub.base, OFFICER);
    await openSlip(page, hub.base, sealed.body.code);
    const f = await slipFacts(page);
    assert.deepEqual(f.procLangs, ['en', 'vi']);
    assert.deepEqual(f.roles, ['birth_certificate', 'requester_id'], 'not the four papers of other cases');
    assert.equal(f.conditions, 0);
    assert.equal(f.qrs, 1);
    assert.ok(f.urlInside);
    assert.ok(f.scrollWidth <= f.innerWidth, `no sideways scroll: ${f.scrollWidth} px (${f.wider.join(', ')})`);
    await shot(page, 'slip-04-three-in-one-360');
    const len = await printedLength(page, 'slip-three-in-one-58mm');
    console.log(`slip height, 3-in-1 (English + Vietnamese, 2 originals): ${(len.pdf / 10).toFixed(1)} cm printed (Chromium PDF), ${(len.dom / 10).toFixed(1)} cm rendered`);
    assert.ok(len.pdf <= MAX_CM * 10, `the 3-in-1 slip takes ${(len.pdf / 10).toFixed(1)} cm of 58 mm paper (≤ ${MAX_CM} cm)`);

    // A5: the signed receipt QR for an officer to verify offline, and still no sideways scroll.
    await page.check('[data-testid=slip-layout-a5]');
    await page.waitForSelector('[data-testid=slip][data-layout=a5] [data-testid=slip-signed-qr]');
    const a5 = await slipFacts(page);
    assert.equal(a5.qrs, 2);
    assert.ok(a5.scrollWidth <= a5.innerWidth, `A5 preview: no sideways scroll: ${a5.scrollWidth} px (${a5.wider.join(', ')})`);
    await page.waitForFunction(() => [...document.querySelectorAll('.slip-print img')].every((i) => i.complete && i.naturalWidth > 0));
    const sheet = await printPdf(page);
    fs.writeFileSync(path.join(ARTIFACTS, 'slip-three-in-one-a5.pdf'), sheet.pdf);
    assert.equal(sheet.pages, 1, 'the A5 slip prints on one sheet');
    assert.ok(Math.abs(sheet.boxes[0].w - 148) < 1 && Math.abs(sheet.boxes[0].h - 210) < 1, JSON.stringify(sheet.boxes));
    assert.deepEqual(phone.errors, []);
  } finally { await phone.close(); }
});

test('a Vietnamese villager gets a Vietnamese-only slip; the officer can reprint it in another language', async () => {
  const id = await draft(api, MARITAL, { ...MARITAL_FIELDS, 'requester.relationship': 'other', 'requester.relationship_other': 'con gái' },
    { id_document: ID_PHOTO, authorisation_letter: ID_PHOTO });
  const sealed = await api('POST', `/api/v1/drafts/${id}/seal`, {});
  assert.equal(sealed.status, 201, JSON.stringify(sealed.body));
  const phone = await launch(PHONE);
  const { page } = phone;
  try {
    await login(page, hub.base, OFFICER);
    await openSlip(page, hub.base, sealed.body.code);
    const f = await slipFacts(page);
    assert.equal(f.lang, 'vi');
    assert.deepEqual(f.langsInSlip, ['vi'], 'Vietnamese only');
    assert.ok(!/ \/ /.test(f.text), 'no "A / B" pairs');
    assert.deepEqual(f.roles, ['id_document', 'authorisation_letter'], 'asked for someone else: the letter of authorisation too');
    await shot(page, 'slip-05-vietnamese-360');
    const len = await printedLength(page, 'slip-marital-vi-58mm');
    console.log(`slip height, marital status (Vietnamese only, 2 originals): ${(len.pdf / 10).toFixed(1)} cm printed (Chromium PDF)`);
    assert.ok(len.pdf <= MAX_CM * 10, `${(len.pdf / 10).toFixed(1)} cm`);
    await page.selectOption('[data-testid=slip-lang]', 'en');
    await page.waitForSelector('[data-testid=slip][data-lang=en]');
    assert.deepEqual((await slipFacts(page)).procLangs, ['en', 'vi']);
    assert.deepEqual(phone.errors, []);
  } finally { await phone.close(); }
});
