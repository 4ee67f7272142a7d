// The office's Procedures page (#/office/procedures) on a phone (360×740, Vietnamese), against a real
// office hub and a real field hub paired with it by key cards:
//  - the admin picks the package `hub procedure build` made of tests/fixtures/packages/residence-confirmation.v1,
//    sees its id, version, title and effective date before publishing, publishes it, and finds it listed as
//    version 1, in force from 01/07/2025, published by the office, with its counts and a download link whose
//    content is the package;
//  - the field hub syncs: the page says it downloaded the new version, and after its next sync that it holds
//    it (with dates), built-in versions confirmed too;
//  - the same file again is "already published"; a changed copy with the same version is refused with the
//    hub's plain Vietnamese message under the form; a file that is no package is refused before sending;
//  - a clerk sees the list and no publish form;
//  - every state: no sideways scroll, axe-core (colour contrast on) clean, no raw key or ISO date on screen.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { startHub, launch, login, navTo, shot, hubCli, sleep, REPO } from './harness.mjs';

const ADMIN = { name: 'quantri.xa', role: 'admin', password: 'Quan-tri-2026!' };
const CLERK = { name: 'vanthu.binh', role: 'clerk', password: 'Van-thu-2026!' };
const OFFICER = { name: 'canbo.an', role: 'officer', password: 'Can-bo-2026!' };
const PHONE = { width: 360, height: 740 };
const SOURCE = path.join(REPO, 'tests/fixtures/packages/residence-confirmation.v1');
const VI_KEYS = new Set(Object.keys(JSON.parse(fs.readFileSync(path.join(REPO, 'client-web/i18n/vi.json'), 'utf8'))));
const AXE_SOURCE = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

let office; let field; let b; let tmp;
const files = {};

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hub-procedures-'));
  // The package as an IT officer builds it, with the hub's own CLI.
  files.good = path.join(tmp, 'residence-confirmation.v1.json');
  hubCli(['procedure', 'build', SOURCE, '-o', files.good]);
  // The same version with another content: a changed title.
  const changed = JSON.parse(fs.readFileSync(files.good, 'utf8'));
  changed.procedure.title.vi += ' (bản sửa)';
  files.changed = path.join(tmp, 'residence-confirmation.changed.json');
  fs.writeFileSync(files.changed, JSON.stringify(changed, null, 2));
  // A package the hub cannot read (a group without its fields).
  const broken = JSON.parse(fs.readFileSync(files.good, 'utf8'));
  broken.procedure.version = 2;
  delete broken.procedure.groups;
  files.broken = path.join(tmp, 'residence-confirmation.broken.json');
  fs.writeFileSync(files.broken, JSON.stringify(broken));
  // Not a package at all.
  files.other = path.join(tmp, 'ghi-chu.json');
  fs.writeFileSync(files.other, JSON.stringify({ note: 'danh sách cuộc họp' }));

  office = await startHub({ mode: 'office', users: [ADMIN, CLERK], name: 'UBND xã Phước Sơn' });
  field = await startHub({ mode: 'field', users: [OFFICER], name: 'Trạm Bù Lư', args: ['--sync', 'off', '--office-url', office.base] });
  const fieldCard = path.join(field.dataDir, 'field.pub');
  const officeCard = path.join(office.dataDir, 'office.pub');
  fs.writeFileSync(fieldCard, hubCli(['key', 'show', '--data', field.dataDir]));
  fs.writeFileSync(officeCard, hubCli(['key', 'show', '--data', office.dataDir]));
  hubCli(['trust', '--data', field.dataDir, officeCard]);
  hubCli(['trust', '--data', office.dataDir, fieldCard]);
  files.device = (await (await fetch(field.base + '/healthz')).json()).device_id;
  b = await launch({ viewport: PHONE, isMobile: true });
});

after(async () => {
  if (b) await b.close();
  if (field) await field.stop();
  if (office) await office.stop();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

// axe-core with colour contrast on; fails on serious or critical findings.
async function axeAll(page, label) {
  if (!(await page.evaluate(() => !!window.axe))) await page.addScriptTag({ content: AXE_SOURCE });
  const result = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'], rules: { 'color-contrast': { enabled: true } } });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.slice(0, 5).map((n) => `${n.target.join(' ')} ${n.any.map((a) => a.message).join(' ')}`) }));
  });
  const bad = result.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(bad, [], `axe-core, ${label}: ${bad.map((v) => `${v.id} (${v.impact}): ${v.nodes.join(' | ')}`).join('; ')}`);
}

// What a person should never read on a Vietnamese screen: raw keys, snake_case codes, ISO dates, English
// words of this page's catalogue.
async function plainPage(page, label) {
  const text = await page.evaluate(() => document.querySelector('#app').innerText);
  const found = [];
  for (const w of text.split(/[\s,;:()«»“”"'·/]+/).map((x) => x.replace(/^[.…]+|[.…?!]+$/g, ''))) {
    if (!w) continue;
    if (/^[a-z][a-z0-9]*(_[a-z0-9]+)+$/.test(w)) found.push(`snake_case "${w}"`);
    if (['null', 'undefined', 'NaN', 'builtin', 'published'].includes(w)) found.push(`"${w}"`);
    if (VI_KEYS.has(w)) found.push(`catalogue key "${w}"`);
  }
  if (/\d{4}-\d{2}-\d{2}/.test(text)) found.push(`an ISO date: ${text.match(/\d{4}-\d{2}-\d{2}\S*/)[0]}`);
  for (const en of ['In force', 'Version', 'Published', 'Download', 'Field hubs', 'Not yet']) if (text.includes(en)) found.push(`English "${en}"`);
  assert.deepEqual(found, [], `${label}: ${found.join(', ')}`);
  const w = await page.evaluate((x) => ({ scroll: document.documentElement.scrollWidth, inner: Math.min(x, document.documentElement.clientWidth) }), PHONE.width);
  assert.ok(w.scroll <= w.inner, `${label}: the page scrolls sideways (${w.scroll} > ${w.inner})`);
  await axeAll(page, label);
}

const card = (page, id) => page.locator(`[data-testid=proc-card][data-procedure="${id}"]`);
const version = (page, id, n) => card(page, id).locator(`[data-testid=proc-version][data-version="${n}"]`);
const hubRow = (page, id, n) => version(page, id, n).locator(`[data-testid=proc-hub][data-device="${files.device}"]`);

// The field hub's officer presses "Sync now" (its API), and the test waits until the office saw the run.
async function fieldSync(check) {
  const r = await fetch(field.base + '/api/v1/login', { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ name: OFFICER.name, password: OFFICER.password }) });
  assert.equal(r.status, 200);
  const cookie = r.headers.get('set-cookie').split(';')[0];
  const { csrf_token: csrf } = await r.json();
  const run = await fetch(field.base + '/api/v1/upload/run', { method: 'POST', headers: { Cookie: cookie, 'X-CSRF-Token': csrf } });
  assert.equal(run.status, 202, await run.text());
  const until = Date.now() + 30000;
  for (;;) {
    const list = await b.page.evaluate(async () => (await import('./lib.js')).api('GET', '/api/v1/office/packages'));
    if (check(list)) return list;
    if (Date.now() > until) throw new Error(`the office never saw the field hub's sync: ${JSON.stringify(list.packages.map((p) => [p.procedure_id, p.version, p.holders]))}\n${field.log().slice(-3000)}`);
    await sleep(300);
  }
}

const held = (list, id, v) => (list.packages.find((p) => p.procedure_id === id && p.version === v) || { holders: [] }).holders.find((x) => x.device_id === files.device);

test('an admin publishes a built package; the page shows it, its dates and which field hub holds it', async () => {
  const page = b.page;
  const pkg = JSON.parse(fs.readFileSync(files.good, 'utf8'));
  await login(page, office.base, ADMIN);
  await navTo(page, 'procedures');
  await page.waitForSelector('[data-testid=proc-card]');
  assert.equal(await page.textContent('h1'), 'Thủ tục và phiên bản');
  // The built-in procedures are there, each with its version in force; not yet the new one.
  assert.ok(await page.locator('[data-testid=proc-card]').count() >= 2);
  assert.equal(await card(page, 'residence-confirmation').count(), 0);
  const builtin = page.locator('[data-testid=proc-version]').first();
  assert.equal(await builtin.locator('[data-testid=proc-origin]').textContent(), 'Có sẵn trong phần mềm');
  // The paired field hub is listed under each version, not holding it yet.
  assert.equal(await builtin.locator(`[data-testid=proc-hub][data-device="${files.device}"] [data-held]`).getAttribute('data-held'), 'none');
  assert.match(await builtin.locator(`[data-testid=proc-hub][data-device="${files.device}"]`).innerText(), /Trạm Bù Lư\s+Chưa nhận/);
  await plainPage(page, 'procedures, before publishing');
  await shot(page, 'procedures-list');

  // A file that is no package: said at once, nothing sent, the button stays off.
  await page.setInputFiles('[data-testid=publish-file]', files.other);
  await page.waitForSelector('[data-testid=publish-error]');
  assert.match(await page.textContent('[data-testid=publish-error]'), /không phải gói thủ tục/);
  assert.equal(await page.isDisabled('[data-testid=publish-go]'), true);

  // The built package: what it holds, shown before confirming.
  await page.setInputFiles('[data-testid=publish-file]', files.good);
  await page.waitForSelector('[data-testid=publish-preview]');
  assert.equal(await page.locator('[data-testid=publish-error]').count(), 0);
  assert.equal(await page.textContent('[data-testid=publish-file-name]'), 'residence-confirmation.v1.json');
  assert.equal(await page.textContent('[data-testid=preview-id]'), 'residence-confirmation');
  assert.equal(await page.textContent('[data-testid=preview-version]'), '1');
  assert.equal(await page.textContent('[data-testid=preview-title]'), 'Xác nhận thông tin về cư trú');
  assert.equal(await page.textContent('[data-testid=preview-effective]'), '01/07/2025');
  assert.match(await page.textContent('[data-testid=publish-preview]'), /thủ tục mới/);
  await plainPage(page, 'procedures, package chosen');
  await shot(page, 'procedures-preview');

  await page.click('[data-testid=publish-go]');
  await page.waitForSelector('[data-testid=publish-done]');
  assert.match(await page.textContent('[data-testid=publish-done]'), /Đã công bố «Xác nhận thông tin về cư trú», phiên bản 1\./);
  // Listed: version 1, in force from 01/07/2025, published by the office, its counts and its download.
  const v1 = version(page, 'residence-confirmation', 1);
  await v1.waitFor();
  assert.equal(await card(page, 'residence-confirmation').locator('h2').textContent(), 'Xác nhận thông tin về cư trú');
  assert.equal(await v1.locator('h3').textContent(), 'Phiên bản 1 Đang áp dụng');
  assert.equal(await v1.locator('[data-testid=proc-effective]').textContent(), '01/07/2025');
  assert.equal(await v1.locator('[data-testid=proc-origin]').textContent(), 'Văn phòng công bố');
  assert.match(await v1.innerText(), /Luật Cư trú 2020 điều 17/);
  const fields = pkg.procedure.groups.reduce((n, g) => n + g.fields.length, 0);
  assert.equal(await v1.locator('[data-testid=proc-counts]').textContent(),
    `${fields} mục thông tin · ${pkg.exports.length} hệ thống nhận dữ liệu · ${pkg.layouts.length} mẫu in`);
  assert.equal(await hubRow(page, 'residence-confirmation', 1).locator('[data-held]').getAttribute('data-held'), 'none');
  const href = await v1.locator('[data-testid=proc-download]').getAttribute('href');
  const got = await page.evaluate(async (u) => { const r = await fetch(u); return { status: r.status, disp: r.headers.get('content-disposition'), body: await r.json() }; }, href);
  assert.equal(got.status, 200);
  assert.match(got.disp, /residence-confirmation\.v1\.json/);
  assert.deepEqual(got.body, pkg, 'the download is the package that was published');
  await plainPage(page, 'procedures, published');
  await v1.scrollIntoViewIfNeeded();
  await shot(page, 'procedures-published');

  // The field hub syncs: it says what it holds (the built-in ones) and downloads the new version…
  let list = await fieldSync((l) => { const x = held(l, 'residence-confirmation', 1); return x && x.pulled_at; });
  assert.equal(held(list, 'residence-confirmation', 1).confirmed_at, null);
  await page.reload();
  await v1.waitFor();
  const row = hubRow(page, 'residence-confirmation', 1);
  assert.equal(await row.locator('[data-held]').getAttribute('data-held'), 'pulled');
  assert.match(await row.innerText(), /Đã tải về, chờ xác nhận\s+Tải về lúc \d{2}\/\d{2}\/\d{4} \d{2}:\d{2}/);
  // The versions built into both hubs: the field hub said it holds them.
  const inForce = list.packages.find((p) => p.origin === 'builtin' && p.in_force);
  assert.ok(held(list, inForce.procedure_id, inForce.version).confirmed_at, 'a built-in version is confirmed by the field hub');
  assert.equal(await hubRow(page, inForce.procedure_id, inForce.version).locator('[data-held]').getAttribute('data-held'), 'confirmed');
  // …and at its next sync confirms it holds it.
  list = await fieldSync((l) => { const x = held(l, 'residence-confirmation', 1); return x && x.confirmed_at; });
  await page.reload();
  await v1.waitFor();
  assert.equal(await row.locator('[data-held]').getAttribute('data-held'), 'confirmed');
  assert.match(await row.innerText(), /Trạm Bù Lư\s+Đã có\s+Trạm xác nhận lúc \d{2}\/\d{2}\/\d{4} \d{2}:\d{2}/);
  await plainPage(page, 'procedures, held by the field hub');
  await row.scrollIntoViewIfNeeded();
  await shot(page, 'procedures-held');

  // The same file again: already published, nothing changes.
  await page.setInputFiles('[data-testid=publish-file]', files.good);
  await page.waitForSelector('[data-testid=publish-preview]');
  assert.match(await page.textContent('[data-testid=publish-preview]'), /đã có phiên bản 1/);
  await page.click('[data-testid=publish-go]');
  await page.waitForSelector('[data-testid=publish-already]');
  assert.match(await page.textContent('[data-testid=publish-already]'), /đã được công bố trước đây/);
  assert.equal(await card(page, 'residence-confirmation').locator('[data-testid=proc-version]').count(), 1);

  // A changed copy with the same version: refused, the hub's own words under the form.
  await page.setInputFiles('[data-testid=publish-file]', files.changed);
  await page.waitForSelector('[data-testid=publish-preview]');
  await page.click('[data-testid=publish-go]');
  await page.waitForSelector('[data-testid=publish-error]');
  const err = page.locator('[data-testid=publish-error]');
  assert.equal(await err.getAttribute('data-code'), 'package_version_taken');
  assert.match(await err.innerText(), /Không công bố được\s+Thủ tục residence-confirmation phiên bản 1 đã có với nội dung khác\. .*phiên bản 2\./s);
  assert.equal(await page.isDisabled('[data-testid=publish-go]'), false, 'the admin can try again');
  assert.equal(await version(page, 'residence-confirmation', 1).locator('h3').textContent(), 'Phiên bản 1 Đang áp dụng');
  await plainPage(page, 'procedures, refused');
  await err.scrollIntoViewIfNeeded();
  await shot(page, 'procedures-refused');

  // A package the hub cannot read: refused as invalid, in Vietnamese.
  await page.setInputFiles('[data-testid=publish-file]', files.broken);
  await page.waitForSelector('[data-testid=publish-preview]');
  await page.click('[data-testid=publish-go]');
  await page.waitForSelector('[data-testid=publish-error][data-code=package_invalid]');
  assert.match(await page.textContent('[data-testid=publish-error]'), /Gói thủ tục không hợp lệ/);
  assert.equal(await version(page, 'residence-confirmation', 2).count(), 0);
  assert.deepEqual(b.errors, [], 'no uncaught errors in the page');
  await page.context().clearCookies();
});

test('a clerk sees the procedures and who holds them, and no publish form', async () => {
  const page = b.page;
  await page.context().clearCookies();
  await login(page, office.base, CLERK);
  await page.goto(office.base + '/#/office/procedures');
  await page.waitForSelector('[data-testid=proc-card]');
  assert.equal(await page.locator('[data-testid=publish-card]').count(), 0);
  assert.equal(await page.locator('[data-testid=publish-file]').count(), 0);
  assert.match(await page.textContent('[data-testid=publish-admin-only]'), /Chỉ quản trị viên/);
  assert.equal(await version(page, 'residence-confirmation', 1).locator('[data-testid=proc-effective]').textContent(), '01/07/2025');
  assert.equal(await hubRow(page, 'residence-confirmation', 1).locator('[data-held]').getAttribute('data-held'), 'confirmed');
  // The hub refuses a clerk's publish too.
  const r = await page.evaluate(async (body) => {
    try { await (await import('./lib.js')).api('POST', '/api/v1/office/packages', body); return 'accepted'; } catch (e) { return e.status; }
  }, JSON.parse(fs.readFileSync(files.good, 'utf8')));
  assert.equal(r, 403);
  await plainPage(page, 'procedures, clerk');
  await shot(page, 'procedures-clerk');
  // In English, English words (the legal basis too, as the package gives it).
  await page.evaluate(async () => (await import('./lib.js')).setLang('en'));
  await page.reload();
  await page.waitForSelector('[data-testid=proc-card]');
  assert.equal(await page.textContent('h1'), 'Procedures and versions');
  const v1 = version(page, 'residence-confirmation', 1);
  assert.equal(await v1.locator('h3').textContent(), 'Version 1 In force');
  assert.equal(await v1.locator('[data-testid=proc-origin]').textContent(), 'Published by the office');
  assert.match(await v1.locator('[data-testid=proc-legal]').textContent(), /^Law on Residence 2020 art\. 17/);
  assert.match(await hubRow(page, 'residence-confirmation', 1).innerText(), /Holds it\s+Confirmed by the hub on \d{2}\/\d{2}\/\d{4}/);
  await shot(page, 'procedures-clerk-en');
  await page.evaluate(async () => (await import('./lib.js')).setLang('vi'));
  assert.deepEqual(b.errors, []);
  await page.context().clearCookies();
});
