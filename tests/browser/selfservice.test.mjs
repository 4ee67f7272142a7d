// Villagers' phones and the printed slip, on a real field hub in headless Chromium. An officer seals two
// dossiers (driven through the API from node); a separate "villager" phone with no login opens the
// tracking URL and sees that receipt's status, cannot read drafts, dossiers, another receipt's team routes
// or photos, and never sees a name; the villager fills a pre-declaration and gets a number; the officer's
// slip page prints in the 58 mm and A5 layouts; the tracking QR decodes to the status URL. axe on every page.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { PNG } from 'pngjs';
import jsQR from 'jsqr';
import { startHub, launch, login, axeCheck, shot, SHARED, predeclareAnswer } from './harness.mjs';

const OFFICER = { name: 'canbo.lan', role: 'officer', password: 'Can-bo-2026!' };
const PROC = { id: 'marital-status-certificate', version: 1 };
const PHOTO = fs.readFileSync(path.join(SHARED, 'data/photos/to-khai-xac-nhan-hon-nhan.jpg'));
const PEOPLE = [
  { name: 'Điểu Thị Hạnh', pin: '070190012345', dob: '1990-05-14', addr: 'thôn Bình Tiến, xã Phước Minh, tỉnh Đồng Nai' },
  { name: 'Thị Bích Ngọc', pin: '070195054321', dob: '1995-02-03', addr: 'ấp Bàu Nghé, xã Phước Minh, tỉnh Đồng Nai' },
];
const MM = 96 / 25.4; // CSS pixels per millimetre

function fieldsOf(p) {
  return {
    'addressee.commune': 'Ủy ban nhân dân xã Phước Minh',
    'requester.full_name': p.name, 'requester.residence': p.addr, 'requester.id_type': 'can_cuoc',
    'requester.pin': p.pin, 'requester.id_issuer': 'Cục Cảnh sát quản lý hành chính về trật tự xã hội',
    'requester.id_issue_date': '2021-06-10', 'requester.relationship': 'self',
    'subject.full_name': p.name, 'subject.date_of_birth': p.dob, 'subject.sex': 'female',
    'subject.ethnicity': 'Xtiêng', 'subject.nationality': 'Việt Nam', 'subject.residence': p.addr,
    'subject.id_type': 'can_cuoc', 'subject.pin': p.pin, 'subject.marital_status': 'never_married',
    'request.purpose': 'Làm thủ tục nhận chuyển nhượng quyền sử dụng đất', 'declaration.confirmed': 'yes',
  };
}

// A tiny logged-in API client (cookie + CSRF) for node.
async function apiLogin(base, user) {
  const r = await fetch(base + '/api/v1/login', { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ name: user.name, password: user.password }) });
  assert.equal(r.status, 200);
  const cookie = r.headers.get('set-cookie').split(';')[0];
  const { csrf_token: csrf } = await r.json();
  const call = async (method, p, body) => {
    const headers = { Cookie: cookie, 'X-CSRF-Token': csrf };
    let payload = body;
    if (body !== undefined && !(body instanceof FormData)) { headers['Content-Type'] = 'application/json'; payload = JSON.stringify(body); }
    const res = await fetch(base + p, { method, headers, body: payload });
    const ct = res.headers.get('content-type') || '';
    return { status: res.status, body: ct.includes('json') ? await res.json() : Buffer.from(await res.arrayBuffer()) };
  };
  return { call };
}

async function draftWithPhoto(api, person) {
  const d = await api.call('POST', '/api/v1/drafts', { procedure: PROC, fields: {} });
  assert.equal(d.status, 201);
  const u = await api.call('PUT', `/api/v1/drafts/${d.body.id}`, { fields: fieldsOf(person), version: d.body.version });
  assert.equal(u.status, 200, JSON.stringify(u.body));
  const fd = new FormData();
  fd.append('role', 'id_document');
  fd.append('file', new Blob([PHOTO], { type: 'image/jpeg' }), 'giay-to.jpg');
  const a = await api.call('POST', `/api/v1/drafts/${d.body.id}/attachments`, fd);
  assert.equal(a.status, 201, JSON.stringify(a.body));
  return { id: d.body.id, att: a.body.id };
}

let hub; let api; let r1; let r2; let slip1; let slip2; let openDraft;

before(async () => {
  hub = await startHub({ mode: 'field', users: [OFFICER] });
  api = await apiLogin(hub.base, OFFICER);
  for (const [i, p] of PEOPLE.entries()) {
    const d = await draftWithPhoto(api, p);
    const s = await api.call('POST', `/api/v1/drafts/${d.id}/seal`, {});
    assert.equal(s.status, 201, JSON.stringify(s.body));
    if (i === 0) r1 = s.body; else r2 = s.body;
  }
  slip1 = (await api.call('GET', `/api/v1/receipts/${r1.code}/slip`)).body;
  slip2 = (await api.call('GET', `/api/v1/receipts/${r2.code}/slip`)).body;
  assert.ok(slip1.tracking_key && slip2.tracking_key);
  // A third dossier stays a draft, with its photo.
  openDraft = await draftWithPhoto(api, PEOPLE[1]);
});

after(async () => { if (hub) await hub.stop(); });

test("a villager's phone sees one receipt's status and cannot read anyone's dossier", async () => {
  const phone = await launch();
  const { page } = phone;
  try {
    // What the phone camera opens from the slip's tracking QR.
    await page.goto(slip1.tracking_url);
    await page.waitForSelector('[data-testid=status-word]');
    assert.equal(await page.getAttribute('[data-testid=status-word]', 'data-status'), 'new');
    assert.equal(await page.textContent('[data-testid=status-code]'), r1.code);
    assert.match(await page.textContent('[data-testid=status-procedure]'), /tình trạng hôn nhân/);
    assert.ok(await page.locator('[data-testid=status-original]').count() >= 1);
    await axeCheck(page, 'public status');
    await shot(page, 'selfservice-status-vi');
    // Language menu: English.
    await page.selectOption('[data-testid=self-lang]', 'en');
    await page.waitForFunction(() => document.documentElement.lang === 'en' && /Received/.test(document.querySelector('[data-testid=status-word]')?.textContent || ''));
    await axeCheck(page, 'public status (en)');

    // The phone's own requests: no team route answers, no photo, no draft.
    const probes = await page.evaluate(async ({ r2code, draft, att, dossier }) => {
      const paths = ['/api/v1/drafts', '/api/v1/dossiers', `/api/v1/drafts/${draft}`, `/api/v1/drafts/${draft}/attachments/${att}`,
        `/api/v1/receipts/${r2code}`, `/api/v1/receipts/${r2code}/qr.png`, `/api/v1/receipts/${r2code}/slip`,
        `/api/v1/receipts/${r2code}/track.png`, '/api/v1/predeclarations', '/api/v1/procedures', '/api/v1/status',
        `/api/v1/dossiers/${dossier}`];
      const out = {};
      for (const p of paths) { const r = await fetch(p); out[p] = { status: r.status, body: await r.text() }; }
      const t = await fetch(`/api/v1/predeclarations/x/take`, { method: 'POST' });
      out.take = { status: t.status, body: await t.text() };
      return out;
    }, { r2code: r2.code, draft: openDraft.id, att: openDraft.att, dossier: r2.dossier_id });
    for (const [p, r] of Object.entries(probes)) {
      assert.ok([401, 404, 405].includes(r.status), `${p} answered ${r.status} to a phone with no login`);
      for (const who of PEOPLE) assert.ok(!r.body.includes(who.name) && !r.body.includes(who.pin), `${p} leaks a name or PIN`);
    }
    assert.equal(probes['/api/v1/drafts'].status, 401);
    assert.equal(probes[`/api/v1/drafts/${openDraft.id}/attachments/${openDraft.att}`].status, 401);
    assert.equal(probes[`/api/v1/receipts/${r2.code}`].status, 401);

    // Another receipt's public status (someone else's slip in hand) still names no one.
    await page.goto(slip2.tracking_url);
    await page.waitForFunction((c) => document.querySelector('[data-testid=status-code]')?.textContent === c, r2.code);
    const html = await page.content();
    for (const who of PEOPLE) {
      for (const secret of [who.name, who.pin, who.addr, who.dob]) assert.ok(!html.includes(secret), `status page shows ${secret}`);
    }
    // A receipt code computed from one's own tracking number, with one's own key: nothing.
    await page.goto(`${hub.base}/#/r/${r2.code}?k=${slip1.tracking_key}`);
    await page.waitForSelector('[data-testid=status-error]');
    assert.equal(await page.locator('[data-testid=status-word]').count(), 0);
    // Codes are digits (read aloud in any language, typed on the numeric keypad), grouped in fours.
    assert.match(r1.code, /^\d{4}-\d{4}-\d{4}-\d{2}$/);
    assert.match(slip1.tracking_key, /^\d{4}-\d{4}-\d{4}-\d{2}$/);
    // A mistyped code (one digit wrong): a plain message and boxes to type it again.
    const last = Number(r1.code.slice(-1));
    await page.goto(`${hub.base}/#/r/${r1.code.slice(0, -1)}${(last + 1) % 10}?k=${slip1.tracking_key}`);
    await page.waitForSelector('[data-testid=status-error]');
    assert.match(await page.textContent('[data-testid=status-error]'), /typo|gõ sai/);
    await axeCheck(page, 'public status, wrong code');
    // The boxes bring up the numeric keypad, and accept both forms (old slips have letters) and nothing else.
    assert.equal(await page.getAttribute('#status-code', 'inputmode'), 'numeric');
    assert.equal(await page.getAttribute('#status-key', 'inputmode'), 'numeric');
    const mismatch = await page.evaluate((values) => values.map((v) => {
      const i = document.querySelector('#status-code');
      i.value = v;
      return [v, i.validity.patternMismatch];
    }), ['0576 4731 3978 80', '05764731397880', '0576-4731-3978-80', ' 0576.4731.3978.80 ', 'GRW7-M2JC-F', 'grw7m2jcf',
      '０５７６ ４７３１ ３９７８ ８０', '0576 4731 3978 8', '0576 4731 3978 800', 'GRW7-M2JC', 'abc', '0576/4731']);
    assert.deepEqual(mismatch.filter(([, bad]) => bad).map(([v]) => v),
      ['0576 4731 3978 8', '0576 4731 3978 800', 'GRW7-M2JC', 'abc', '0576/4731'], 'the pattern accepts both forms only');
    // A code on an old slip has letters: one tap gives the letter keyboard, another the keypad again.
    await page.click('[data-testid=status-letters]');
    assert.equal(await page.getAttribute('#status-code', 'inputmode'), 'text');
    assert.equal(await page.getAttribute('#status-key', 'inputmode'), 'text');
    await page.click('[data-testid=status-letters]');
    assert.equal(await page.getAttribute('#status-code', 'inputmode'), 'numeric');
    // Typed as read aloud: groups of digits with spaces.
    await page.fill('#status-code', r1.code.replace(/-/g, ' '));
    await page.fill('#status-key', slip1.tracking_key.replace(/-/g, ' '));
    await page.click('[data-testid=status-lookup] button[type=submit]');
    await page.waitForSelector('[data-testid=status-word]');
    assert.equal(await page.textContent('[data-testid=status-code]'), r1.code);
    // In Vietnamese on a small phone: the lookup boxes, their help, and the letters switch.
    await page.setViewportSize({ width: 360, height: 740 });
    await page.selectOption('[data-testid=self-lang]', 'vi');
    await page.waitForFunction(() => document.documentElement.lang === 'vi');
    assert.match(await page.textContent('#status-code-help'), /14 chữ số/);
    assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), 'no sideways scroll');
    await page.locator('[data-testid=status-lookup]').scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(path.dirname(new URL(import.meta.url).pathname), 'artifacts', 'selfservice-status-lookup-vi-360.png') });
    assert.deepEqual(phone.errors, []);
  } finally { await phone.close(); }
});

test('a villager fills a pre-declaration on their phone and gets a number (and a queue ticket)', async () => {
  // An outreach session is open: the pre-declaration also gets a place in the queue.
  const sess = await api.call('POST', '/api/v1/outreach/sessions', { hamlet: 'Thôn Bình Tiến', venue_kind: 'cultural_house',
    venue_name: 'Nhà văn hoá thôn Bình Tiến', team: [] });
  assert.equal(sess.status, 201, JSON.stringify(sess.body));
  // A small phone (360×740): the villagers' styles apply on any screen (issue 25, item 3).
  const phone = await launch({ viewport: { width: 360, height: 740 } });
  const { page } = phone;
  try {
    await page.goto(`${hub.base}/#/predeclare/${PROC.id}`);
    await page.waitForSelector('form.oneq[data-step="1"]');
    assert.equal(await page.locator('[name="addressee.commune"]').count(), 0, 'office-only field hidden');
    assert.equal(await page.locator('[name="declaration.confirmed"]').count(), 0);
    await axeCheck(page, 'pre-declaration form');
    // One question per screen: the villager asks for themself (the default), so their name and PIN are asked
    // once, as the requester's; the subject's own name is never asked.
    const met = await predeclareAnswer(page, { 'requester.full_name': 'Lâm Thị Hoa' }, { until: 'requester.pin' });
    assert.ok(met.includes('requester.full_name') && !met.includes('subject.full_name'), met.join(' '));
    assert.equal(await page.isVisible('[name="subject.full_name"]'), false);
    // A short PIN is refused on its own screen, beside the field; Next stays there until it is right.
    await page.fill('[name="requester.pin"]', '123');
    await page.click('[data-testid=ask-next]');
    await page.waitForSelector('[data-err-for="requester.pin"]:not([hidden])');
    assert.equal(await page.getAttribute('form.oneq', 'data-key'), 'requester.pin');
    await page.fill('[name="requester.pin"]', '070190012345');
    const rest = await predeclareAnswer(page);
    assert.ok(!rest.includes('subject.full_name'), rest.join(' '));
    await page.waitForSelector('[data-testid=predeclare-number]');
    const n = (await page.textContent('[data-testid=predeclare-number] .n')).trim();
    assert.match(n, /^\d+$/);
    const ticket = (await page.textContent('[data-testid=predeclare-ticket] .n')).trim();
    const tickets = await api.call('GET', `/api/v1/outreach/sessions/${sess.body.id}/tickets`);
    const issued = tickets.body.tickets.find((x) => String(x.number) === ticket);
    assert.equal(issued.source, 'self_service');
    await axeCheck(page, 'pre-declaration number');
    // The number to show is big and boxed on the phone, not body text (app.css once left a 60rem media block
    // open, and every later style applied only from 960 px).
    const look = await page.evaluate(() => {
      const box = document.querySelector('[data-testid=predeclare-number]');
      const n = box.querySelector('.n');
      const b = getComputedStyle(box);
      return { width: window.innerWidth, border: `${b.borderTopWidth} ${b.borderTopStyle}`, display: b.display,
        fontSize: parseFloat(getComputedStyle(n).fontSize), body: parseFloat(getComputedStyle(document.body).fontSize),
        scroll: document.documentElement.scrollWidth };
    });
    assert.equal(look.width, 360);
    assert.equal(look.border, '3px solid', 'the number is boxed');
    assert.equal(look.display, 'flex');
    assert.ok(look.fontSize >= 4 * look.body, `the number is ${look.fontSize} px, body text ${look.body} px`);
    assert.ok(look.scroll <= 360, 'no sideways scroll');
    await shot(page, 'selfservice-predeclare-number');
    await page.screenshot({ path: path.join(path.dirname(new URL(import.meta.url).pathname), 'artifacts', 'selfservice-predeclare-number-360.png') });
    assert.deepEqual(phone.errors, []);
  } finally { await phone.close(); }

  // The field home lists it for the team and takes it as a draft.
  const officer = await launch({ viewport: { width: 1000, height: 900 }, isMobile: false });
  try {
    const page = officer.page;
    await login(page, hub.base, OFFICER);
    const row = page.locator('[data-testid=predeclaration]', { hasText: 'Lâm Thị Hoa' });
    await row.waitFor();
    await axeCheck(page, 'waiting pre-declarations panel');
    await row.locator('[data-testid=predeclaration-take]').click();
    await page.waitForFunction(() => /^#\/draft\//.test(location.hash));
    const draftId = await page.evaluate(() => decodeURIComponent(location.hash.split('/')[2]));
    const d = await api.call('GET', `/api/v1/drafts/${draftId}`);
    assert.equal(d.body.fields['requester.pin'], '070190012345');
    assert.equal(d.body.fields['requester.full_name'], 'Lâm Thị Hoa');
    assert.equal(d.body.procedure.version, 2, 'the version in force');
    const list = await api.call('GET', '/api/v1/predeclarations');
    assert.ok(!list.body.predeclarations.some((p) => p.title === 'Lâm Thị Hoa'), 'no longer waiting');
    assert.deepEqual(officer.errors, []);
  } finally { await officer.close(); }
  const closed = await api.call('POST', `/api/v1/outreach/sessions/${sess.body.id}/close`, {});
  assert.ok([200, 201].includes(closed.status), JSON.stringify(closed.body));
});

test('the slip prints in the 58 mm and A5 layouts with a tracking QR that opens the status page', async () => {
  // The tracking QR encodes this hub's status URL for the receipt.
  const png = await api.call('GET', `/api/v1/receipts/${r1.code}/track.png`);
  assert.equal(png.status, 200);
  const img = PNG.sync.read(png.body);
  const qr = jsQR(new Uint8ClampedArray(img.data), img.width, img.height);
  assert.ok(qr, 'tracking QR decodes');
  assert.equal(qr.data, `${hub.base}/#/r/${r1.code.replace(/-/g, '')}?k=${slip1.tracking_key.replace(/-/g, '')}`);
  assert.equal(qr.data, slip1.tracking_url);

  const officer = await launch({ viewport: { width: 1000, height: 900 }, isMobile: false });
  const { page } = officer;
  try {
    await login(page, hub.base, OFFICER);
    await page.goto(`${hub.base}/#/slip/${r1.code}`);
    await page.waitForSelector('[data-testid=slip][data-layout=w58]');
    await page.waitForFunction(() => [...document.querySelectorAll('.slip-print img')].every((i) => i.complete && i.naturalWidth > 0));
    assert.equal(await page.textContent('[data-testid=slip-code]'), r1.code);
    assert.equal(await page.textContent('[data-testid=slip-key]'), slip1.tracking_key);
    assert.ok(await page.locator('[data-testid=slip-original][data-role=id_document]').count() === 1);
    assert.match(await page.textContent('[data-testid=slip-due]'), /\d{2}\/\d{2}\/\d{4}/);
    assert.match(await page.textContent('[data-testid=slip]'), /ngày lễ|public holiday/);
    assert.match(await page.textContent('[data-testid=slip-procedure]'), /tình trạng hôn nhân/i);
    assert.doesNotMatch(await page.textContent('[data-testid=slip-procedure]'), /marital status/i, 'sealed with no villager language: Vietnamese only');
    await axeCheck(page, 'slip screen');

    await page.emulateMedia({ media: 'print' });
    const w58 = await page.evaluate(() => {
      const s = document.querySelector('.slip-print');
      const q = s.querySelector('img.track').getBoundingClientRect();
      return { width: s.getBoundingClientRect().width, scroll: s.scrollWidth, qr: q.width,
        headerShown: getComputedStyle(document.querySelector('#top')).display !== 'none' };
    });
    assert.ok(w58.width <= 58 * MM + 0.5 && w58.scroll <= 58 * MM + 0.5, `58 mm layout is ${(w58.width / MM).toFixed(1)} mm wide, content ${(w58.scroll / MM).toFixed(1)} mm`);
    assert.ok(Math.abs(w58.qr / MM - 22) < 1.5, `tracking QR ${(w58.qr / MM).toFixed(1)} mm`);
    assert.equal(w58.headerShown, false);
    await shot(page, 'selfservice-slip-58mm-print');

    await page.emulateMedia({ media: 'screen' });
    await page.check('[data-testid=slip-layout-a5]');
    await page.waitForSelector('[data-testid=slip][data-layout=a5]');
    await page.emulateMedia({ media: 'print' });
    const a5 = await page.evaluate(() => document.querySelector('.slip-print').getBoundingClientRect().width);
    assert.ok(a5 > 100 * MM && a5 <= 148 * MM, `A5 layout is ${(a5 / MM).toFixed(1)} mm wide`);
    assert.match(await page.evaluate(() => document.querySelector('#slip-page-style').textContent), /A5/);
    await shot(page, 'selfservice-slip-a5-print');
    const pdf = await page.pdf({ preferCSSPageSize: true }).catch(() => null);
    if (pdf) fs.writeFileSync(path.join(path.dirname(new URL(import.meta.url).pathname), 'artifacts', 'selfservice-slip-a5.pdf'), pdf);
    await page.emulateMedia({ media: 'screen' });
    await axeCheck(page, 'slip screen (A5)');
    assert.deepEqual(officer.errors, []);
  } finally { await officer.close(); }
});
