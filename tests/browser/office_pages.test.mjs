// Every office page on a phone (360×740, Vietnamese), with real data: a field hub holds an outreach session
// with services, seals two complete marital-status requests (one pair of duplicates) and a refused one; the
// batch reaches the office by "USB stick". On each office page (received list, work lists, a dossier, its
// printable form, ledger and its tabs, duplicates, exports, reports and a session report, imports,
// procedures, quarantine, devices and pairing, users, languages):
//  - the page itself never scrolls sideways (scrollWidth ≤ innerWidth; wide tables scroll in their own box);
//  - axe-core finds no serious or critical violation, the colour-contrast rule included;
//  - no visible text is a raw internal key (snake_case or a string catalogue key), `null` or `undefined`.
// Then the office's own defects of issue 17 (item 8): the status form marks the input in error, the
// verification checks read in Vietnamese, and the office home loads no field capture module (the .js files
// and their bytes, from the network log, are printed).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import zlib from 'node:zlib';
import path from 'node:path';
import { createRequire } from 'node:module';
import { startHub, launch, login, shot, hubCli, REPO, ARTIFACTS } from './harness.mjs';

const OFFICER = { name: 'canbo.an', role: 'officer', password: 'Can-bo-2026!' };
const CLERK = { name: 'vanthu.binh', role: 'clerk', password: 'Van-thu-2026!' };
const ADMIN = { name: 'quantri.xa', role: 'admin', password: 'Quan-tri-2026!' };
const PHONE = { width: 360, height: 740 };
const VI_KEYS = new Set(Object.keys(JSON.parse(fs.readFileSync(path.join(REPO, 'client-web/i18n/vi.json'), 'utf8'))));
const AXE_SOURCE = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
// The capture path's modules: the office never uses them.
const FIELD_MODULES = ['field.js', 'form.js', 'store.js', 'outbox.js', 'outreach.js', 'slip.js'];

let field; let office; let b;
const seeded = {};

before(async () => {
  field = await startHub({ mode: 'field', users: [OFFICER], name: 'Trạm Bù Lư' });
  office = await startHub({ mode: 'office', users: [CLERK, ADMIN], name: 'UBND xã Phước Sơn' });
  const fieldCard = path.join(field.dataDir, 'field.pub');
  const officeCard = path.join(office.dataDir, 'office.pub');
  fs.writeFileSync(fieldCard, hubCli(['key', 'show', '--data', field.dataDir]));
  fs.writeFileSync(officeCard, hubCli(['key', 'show', '--data', office.dataDir]));
  hubCli(['trust', '--data', field.dataDir, officeCard]);
  hubCli(['trust', '--data', office.dataDir, fieldCard]);
  b = await launch({ viewport: PHONE, isMobile: true });
  await seed(b.page);
});

after(async () => {
  if (b) await b.close();
  if (field) await field.stop();
  if (office) await office.stop();
});

const call = (page, method, p, body) => page.evaluate(async ([m, u, x]) => (await import('./lib.js')).api(m, u, x), [method, p, body]);

const marital = (name, pin) => ({
  'addressee.commune': 'Ủy ban nhân dân xã Phước Sơn', 'requester.full_name': name,
  'requester.residence': 'Thôn Bù Lư, xã Phước Sơn, tỉnh Đồng Nai', 'requester.id_type': 'can_cuoc', 'requester.pin': pin,
  'requester.id_issuer': 'Cục Cảnh sát quản lý hành chính về trật tự xã hội', 'requester.id_issue_date': '2021-04-15',
  'requester.relationship': 'self', 'subject.full_name': name, 'subject.date_of_birth': '1998-03-12', 'subject.sex': 'female',
  'subject.ethnicity': 'Xtiêng', 'subject.nationality': 'Việt Nam', 'subject.residence': 'Thôn Bù Lư, xã Phước Sơn, tỉnh Đồng Nai',
  'subject.id_type': 'can_cuoc', 'subject.pin': pin, 'subject.marital_status': 'never_married',
  'request.purpose': 'Bổ sung hồ sơ vay vốn ngân hàng chính sách xã hội', 'declaration.confirmed': 'yes',
});

// Seals a marital-status request in the page: draft, fields, a small photo drawn on a canvas, seal.
function sealMarital(page, fields) {
  return page.evaluate(async (f) => {
    const { api, state } = await import('./lib.js');
    const d = await api('POST', '/api/v1/drafts', { procedure: { id: 'marital-status-certificate', version: 1 }, fields: {} });
    await api('PUT', `/api/v1/drafts/${d.id}`, { fields: f, version: d.version });
    const cv = document.createElement('canvas'); cv.width = 64; cv.height = 48;
    const g = cv.getContext('2d'); g.fillStyle = '#4a7'; g.fillRect(0, 0, 64, 48); g.fillStyle = '#222'; g.fillRect(8, 8, 30, 20);
    const blob = await new Promise((r) => cv.toBlob(r, 'image/jpeg', 0.9));
    const fd = new FormData(); fd.append('role', 'id_document'); fd.append('file', blob, 'giay-to.jpg');
    const up = await fetch(`/api/v1/drafts/${d.id}/attachments`, { method: 'POST', body: fd, headers: { 'X-CSRF-Token': state.csrf } });
    if (up.status !== 201) throw new Error('upload ' + up.status + ' ' + await up.text());
    return api('POST', `/api/v1/drafts/${d.id}/seal`, {});
  }, fields);
}

async function seed(page) {
  await login(page, field.base, OFFICER);
  const s = await call(page, 'POST', '/api/v1/outreach/sessions', { hamlet: 'Thôn Bù Lư', venue_kind: 'cultural_house', venue_name: 'Nhà văn hoá thôn Bù Lư' });
  for (const tap of [
    { desk: 'police', kind: 'vneid_level2_activated', consent: true, sex: 'female', age_band: '18-35', ethnicity: '22' },
    { desk: 'telecom', kind: 'sim_registered' },
  ]) await call(page, 'POST', `/api/v1/outreach/sessions/${s.id}/services`, tap);
  const r1 = await sealMarital(page, marital('Điểu Thị Hạnh', '070198001234'));
  await sealMarital(page, marital('Điểu Thị  HẠNH', '070198001234'));
  const d = await call(page, 'POST', '/api/v1/drafts', { procedure: { id: 'marital-status-certificate', version: 1 }, fields: { 'requester.full_name': 'Ka Thị Bình', 'subject.full_name': 'Ka Thị Bình' } });
  await call(page, 'POST', `/api/v1/drafts/${d.id}/refuse`, { reason: 'Chưa mang giấy tờ gốc' });
  const batch = path.join(field.dataDir, 'usb.batch');
  hubCli(['batch', 'export', '--data', field.dataDir, '--out', batch]);
  const report = JSON.parse(hubCli(['batch', 'import', '--data', office.dataDir, '--json', batch]));
  assert.equal(report.stored, 3);
  seeded.code = r1.code;
  seeded.session = s.id;
  seeded.device = (await (await fetch(field.base + '/healthz')).json()).device_id;
  await page.context().clearCookies();
}

// axe-core with every rule it has on, colour contrast included; fails on serious or critical findings.
async function axeAll(page, label) {
  if (!(await page.evaluate(() => !!window.axe))) await page.addScriptTag({ content: AXE_SOURCE });
  const result = await page.evaluate(async () => {
    // A one-character text (a count badge such as "1") is judged too: axe would set it aside as maybe an icon.
    // (configure replaces the check's options whole: axe 4's defaults, with ignoreLength on.)
    window.axe.configure({ checks: [{ id: 'color-contrast', options: {
      ignoreUnicode: true, ignoreLength: true, ignorePseudo: false, boldValue: 700, boldTextPt: 14, largeTextPt: 18,
      contrastRatio: { normal: { expected: 4.5 }, large: { expected: 3 } }, pseudoSizeThreshold: 0.25, shadowOutlineEmMax: 0.2, textStrokeEmMin: 0.03,
    } }] });
    const r = await window.axe.run(document, { resultTypes: ['violations'], rules: { 'color-contrast': { enabled: true } } });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map((n) => `${n.target.join(' ')} ${n.any.map((a) => a.message).join(' ')}`) }));
  });
  const bad = result.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  if (bad.length) {
    throw new Error(`axe-core (colour contrast on), ${label}: ${bad.map((v) => `${v.id} (${v.impact}): ${v.nodes.join(' | ')}`).join('; ')}`);
  }
}

// The visible text of the page, scanned for what a person should never read.
async function rawText(page) {
  const text = await page.evaluate(() => document.body.innerText);
  const words = text.split(/[\s,;:()«»“”"'·/]+/).map((w) => w.replace(/^[.…]+|[.…?!]+$/g, ''));
  const found = new Set();
  for (const w of words) {
    if (!w) continue;
    if (/^[a-z][a-z0-9]*(_[a-z0-9]+)+$/.test(w)) found.add(`snake_case "${w}"`);
    if (w === 'null' || w === 'undefined' || w === 'NaN') found.add(`"${w}"`);
    if (VI_KEYS.has(w)) found.add(`catalogue key "${w}"`);
  }
  return [...found];
}

// On a phone the browser zooms a too-wide page out (innerWidth grows with it): compare the page's width
// with the phone's, 360 CSS pixels.
async function noSideScroll(page) {
  return page.evaluate((w) => ({ scroll: document.documentElement.scrollWidth, inner: Math.min(w, document.documentElement.clientWidth) }), PHONE.width);
}

// Opens one office page and checks it whole.
async function checkPage(page, label, hash, ready) {
  await page.goto(office.base + '/' + hash);
  await page.waitForSelector(ready);
  await page.waitForFunction(() => !document.querySelector('#app > .loading'));
  await page.waitForTimeout(150); // late pieces (commune names, counts)
  const problems = [];
  const w = await noSideScroll(page);
  if (w.scroll > w.inner) problems.push(`scrolls sideways: scrollWidth ${w.scroll} > ${w.inner}`);
  const raw = await rawText(page);
  if (raw.length) problems.push(`raw text: ${raw.join(', ')}`);
  await shot(page, 'office-pages-' + label.replace(/[^a-z0-9]+/gi, '-'));
  try { await axeAll(page, label); } catch (e) { problems.push(e.message); }
  return problems.length ? [`${label} (${hash}):\n  ${problems.join('\n  ')}`] : [];
}

test('every office page at 360×740 in Vietnamese: no sideways scroll, axe (contrast on) clean, no raw keys', async () => {
  const page = b.page;
  await login(page, office.base, CLERK);
  await page.waitForSelector('[data-testid=office-row]');
  const id = await page.getAttribute(`[data-testid=office-row][data-receipt="${seeded.code}"]`, 'href').then((x) => x.split('/').pop());
  // A dossier in progress, so the work list's "in progress" tab (the selected one) has a count.
  const d = await call(page, 'GET', `/api/v1/office/dossiers/${id}`);
  await call(page, 'POST', `/api/v1/office/dossiers/${id}/status`, { to: 'in_progress', expected_version: d.status ? d.status.version : 0 });
  const pages = [
    ['received', '#/', '[data-testid=office-row]'],
    ['work', '#/office/work', '[data-testid=work]'],
    ['work in progress', '#/office/work?view=status:in_progress', '[data-testid=work-row]'],
    ['dossier', `#/office/dossier/${id}`, '[data-testid=checks] li'],
    ['print', `#/office/print/${id}`, '[data-testid=print-view]'],
    ['ledger', '#/office/ledger', '[data-testid=ledger]'],
    ['ledger device', `#/office/ledger?device=${seeded.device}&from=1`, '[data-testid=ledger-runs]'],
    ['ledger sessions', '#/office/ledger?tab=sessions&from=2000-01-01&to=2100-01-01', '[data-testid=ledger-session]'],
    ['duplicates', '#/office/duplicates', '[data-testid=dup-pair]'],
    ['exports', '#/office/exports', '[data-testid^=export-go-]'],
    ['reports', '#/office/reports', '[data-testid=report-session-row]'],
    ['session report', `#/office/reports/session/${seeded.device}/${seeded.session}`, '[data-testid=session-report]'],
    ['imports', '#/office/imports', '[data-testid=import-row]'],
    ['procedures', '#/office/procedures', '[data-testid=proc-card]'],
    ['quarantine', '#/office/quarantine', 'h1'],
    ['devices', '#/office/devices', '[data-testid=device-row]'],
    ['languages', '#/languages', 'h1'],
  ];
  const problems = [];
  for (const [label, hash, ready] of pages) problems.push(...await checkPage(page, label, hash, ready));
  // A pairing code on show (the devices page's panel).
  await page.goto(office.base + '/#/office/devices');
  await page.click('[data-testid=pairing-new-code]');
  await page.waitForSelector('[data-testid=pairing-code]');
  const w = await noSideScroll(page);
  if (w.scroll > w.inner) problems.push(`pairing code: scrolls sideways (${w.scroll} > ${w.inner})`);
  try { await axeAll(page, 'pairing code'); } catch (e) { problems.push(e.message); }
  // The office's administrator: the users page.
  await page.context().clearCookies();
  await login(page, office.base, ADMIN);
  problems.push(...await checkPage(page, 'users', '#/users', '[data-testid=user-row]'));
  assert.deepEqual(problems, [], problems.join('\n'));
  assert.deepEqual(b.errors, [], 'no uncaught errors in the page');
  await page.context().clearCookies();
});

// A file's size as the hub sends it to a browser (gzip) and decoded.
function sizes(url) {
  return new Promise((resolve, reject) => {
    http.get(url, { headers: { 'Accept-Encoding': 'gzip' } }, (res) => {
      const parts = [];
      res.on('data', (c) => parts.push(c));
      res.on('end', () => {
        const body = Buffer.concat(parts);
        const plain = res.headers['content-encoding'] === 'gzip' ? zlib.gunzipSync(body) : body;
        resolve({ wire: body.length, decoded: plain.length });
      });
    }).on('error', reject);
  });
}

// The contrast ratio of an element's text on its own background (both opaque), as WCAG computes it.
function contrastOf(page, selector) {
  return page.$eval(selector, (el) => {
    const rgb = (s) => s.match(/[\d.]+/g).slice(0, 3).map(Number);
    const lum = ([r, g, b]) => {
      const f = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
      return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
    };
    const cs = getComputedStyle(el);
    const [a, b] = [lum(rgb(cs.color)), lum(rgb(cs.backgroundColor))].sort((x, y) => y - x);
    return (a + 0.05) / (b + 0.05);
  });
}

test('a clerk on a phone: the selected tab count reads, a refused status form marks its input, checks read in Vietnamese', async () => {
  const page = b.page;
  await page.context().clearCookies();
  await login(page, office.base, CLERK);
  await page.goto(office.base + '/#/office/work?view=status:in_progress');
  await page.waitForSelector('[data-testid=work-row]');
  const ratio = await contrastOf(page, 'nav.tabs [aria-current=page] .count');
  assert.ok(ratio >= 4.5, `the selected tab's count: contrast ${ratio.toFixed(2)}:1 (needs 4.5:1)`);

  await page.click(`[data-testid=work-row][data-receipt="${seeded.code}"]`);
  await page.waitForSelector('[data-testid=checks] li');
  // The verification checks: Vietnamese, no English sentence and no raw code.
  const checks = await page.textContent('[data-testid=checks]');
  assert.doesNotMatch(checks, /signed by|ciphertext|photo\(s\)|all rules|disposition|\bnew\b/, checks);
  assert.match(checks, /Trạm .* đã ký phong bì/);
  assert.match(checks, /Loại hồ sơ — Hồ sơ mới/);
  assert.match(checks, /Đạt mọi quy định của thủ tục/);

  // Needs papers without the message: the message box is marked and focused, its error beside it in red.
  await page.click('[data-testid=status-to-needs_papers]');
  await page.fill('[data-testid=st-papers]', 'Giấy xác nhận cư trú nơi ở trước');
  await page.click('[data-testid=status-submit]');
  await page.waitForSelector('[data-testid=st-message][aria-invalid=true]');
  const mark = await page.$eval('[data-testid=st-message]', (el) => {
    const err = document.getElementById(el.getAttribute('aria-describedby') || '');
    const cs = getComputedStyle(el);
    return {
      focused: document.activeElement === el,
      border: cs.borderTopColor, outline: cs.outlineStyle !== 'none' ? cs.outlineColor : null,
      err: err ? { text: err.textContent, visible: !err.hidden && err.offsetHeight > 0, color: getComputedStyle(err).color, after: !!(el.compareDocumentPosition(err) & Node.DOCUMENT_POSITION_FOLLOWING) } : null,
    };
  });
  assert.equal(mark.focused, true, 'the first refused input has the focus');
  assert.equal(mark.border, 'rgb(163, 21, 21)', 'red border');
  assert.ok(mark.err && mark.err.visible && mark.err.text.trim() && mark.err.after, `its message is beside it: ${JSON.stringify(mark.err)}`);
  assert.equal(mark.err.color, 'rgb(163, 21, 21)', 'the message is red, not plain black text');
  await axeAll(page, 'status form with an error');
  await shot(page, 'office-pages-status-error');
  // Fixed and sent: the marks go.
  await page.fill('[data-testid=st-message]', 'Xin mang giấy xác nhận cư trú đến UBND xã.');
  await page.click('[data-testid=status-submit]');
  await page.waitForSelector('[data-testid=status-badge][data-status=needs_papers]');
  assert.equal(await page.locator('[aria-invalid=true]').count(), 0);

  // In English the same checks read in English.
  await page.evaluate(async () => (await import('./lib.js')).setLang('en'));
  await page.reload();
  await page.waitForSelector('[data-testid=checks] li');
  assert.match(await page.textContent('[data-testid=checks]'), /signed by device/);
  await page.evaluate(async () => (await import('./lib.js')).setLang('vi'));
  assert.deepEqual(b.errors, []);
});

test('the office app loads no field capture module (network log of the home page)', async () => {
  const phone = await launch({ viewport: PHONE });
  try {
    const { page } = phone;
    await login(page, office.base, CLERK);
    // Every script the office home fetches, opened afresh as a clerk would in the morning (the network log),
    // with its size as the hub sends it (gzip) and decoded.
    await page.goto('about:blank');
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
    await cdp.send('Network.clearBrowserCache');
    const scripts = new Set();
    cdp.on('Network.responseReceived', (e) => { if (e.type === 'Script') scripts.add(new URL(e.response.url).pathname.slice(1)); });
    await page.goto(office.base + '/#/');
    await page.waitForSelector('[data-testid=office-row]');
    await page.waitForLoadState('networkidle');
    const js = [];
    for (const file of scripts) js.push({ file, ...await sizes(office.base + '/' + file) });
    const total = js.reduce((a, r) => ({ wire: a.wire + r.wire, decoded: a.decoded + r.decoded }), { wire: 0, decoded: 0 });
    console.log(`office home .js files (${js.length}): ${js.map((r) => `${r.file} ${(r.wire / 1000).toFixed(1)} kB`).join(', ')}`);
    console.log(`office home .js total: ${(total.wire / 1000).toFixed(1)} kB sent (compressed), ${(total.decoded / 1000).toFixed(1)} kB decoded`);
    fs.writeFileSync(path.join(ARTIFACTS, 'office-modules.json'), JSON.stringify({ js, total }, null, 2));
    const files = js.map((r) => r.file);
    for (const m of FIELD_MODULES) assert.ok(!files.includes(m), `the office home loaded the field's ${m}: ${files.join(', ')}`);
    assert.ok(files.includes('office.js') && files.includes('app.js'));
    // Nor does its service worker (loopback is a secure context): the shell it keeps is the office's.
    await page.evaluate(() => navigator.serviceWorker.ready);
    const cached = await page.evaluate(async () => {
      const out = [];
      for (const k of await caches.keys()) for (const r of await (await caches.open(k)).keys()) out.push(new URL(r.url).pathname.slice(1));
      return out;
    });
    console.log(`office service worker keeps: ${cached.join(', ')}`);
    for (const m of FIELD_MODULES) assert.ok(!cached.includes(m), `the office's service worker keeps the field's ${m}: ${cached.join(', ')}`);
    assert.ok(cached.includes('office.js'));
  } finally { await phone.close(); }
});

test('a used pairing code stops counting down and says so; "user added" shows beside the button', async () => {
  const page = b.page;
  await page.context().clearCookies();
  await login(page, office.base, CLERK);
  await page.goto(office.base + '/#/office/devices');
  await page.click('[data-testid=pairing-new-code]');
  await page.waitForSelector('[data-testid=pairing-code]');
  const code = await page.getAttribute('[data-testid=pairing-code]', 'data-code');
  // A new field hub pairs with the code (its admin, through its own API).
  const admin = { name: 'quantri.tram', role: 'admin', password: 'Quan-tri-tram-2026!' };
  const other = await startHub({ mode: 'field', users: [admin], name: 'Trạm Bình Tiến' });
  try {
    const r = await fetch(other.base + '/api/v1/login', { method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: admin.name, password: admin.password }) });
    const cookie = r.headers.get('set-cookie').split(';')[0];
    const { csrf_token: csrf } = await r.json();
    const p = await fetch(other.base + '/api/v1/pairing/office', { method: 'POST',
      headers: { Cookie: cookie, 'X-CSRF-Token': csrf, 'Content-Type': 'application/json' }, body: JSON.stringify({ url: office.base, code }) });
    assert.equal(p.status, 200, await p.text());
  } finally { await other.stop(); }
  await page.waitForSelector('[data-testid=pairing-code-used]', { timeout: 10000 });
  assert.equal(await page.locator('[data-testid=pairing-countdown]').count(), 0, 'no countdown for a used code');
  await page.waitForSelector('[data-testid=device-row] [data-status=pending_approval]');
  await axeAll(page, 'pairing code used');
  await shot(page, 'office-pages-pairing-used');

  // The office admin adds a clerk at the bottom of the users page: "added" is on screen.
  await page.context().clearCookies();
  await login(page, office.base, ADMIN);
  await page.goto(office.base + '/#/users');
  await page.waitForSelector('[data-testid=user-form]');
  await page.fill('[data-testid=user-name]', 'vanthu.cuc');
  await page.selectOption('[data-testid=user-role]', 'clerk');
  await page.fill('[data-testid=user-password]', 'Van-thu-cuc-2026!');
  await page.fill('[data-testid=user-password2]', 'Van-thu-cuc-2026!');
  await page.click('[data-testid=user-submit]');
  await page.waitForSelector('[data-testid=user-row]:has-text("vanthu.cuc")');
  const added = page.locator('[data-testid=user-added]');
  await added.waitFor();
  assert.match(await added.textContent(), /vanthu\.cuc/);
  const box = await added.boundingBox();
  assert.ok(box && box.y >= 0 && box.y + box.height <= PHONE.height, `"added" is on screen: ${JSON.stringify(box)}`);
  await shot(page, 'office-pages-user-added');
  assert.deepEqual(b.errors, []);
});
