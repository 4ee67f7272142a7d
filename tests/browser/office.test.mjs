// The commune office's screens in a real browser, with real data: a field hub seals two dossiers (one with
// a photo, one refused at the session), the two hubs are paired by key cards, the batch goes over on a
// "USB stick" (hub batch export / import), and a clerk reads the list, a dossier with its checks and photo,
// and the import reports. axe-core runs on every office page, in Vietnamese and English.
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
  // Pairing by files, both ways.
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

// Calls the hub's API from the signed-in page (the app's own client: cookie and CSRF header).
const call = (page, method, p, body) => page.evaluate(async ([m, u, x]) => (await import('./lib.js')).api(m, u, x), [method, p, body]);

test('a field batch reaches the office and every office page reads well', async () => {
  const page = b.page;
  await login(page, field.base, OFFICER);
  // A complete 3-in-1 would take the whole form; the office pages need any sealed dossiers: a draft with a
  // photo refused at the session (sealed with what was captured), and a second refused one.
  const photo = fs.readFileSync(path.join(SHARED, 'data/photos', fs.readdirSync(path.join(SHARED, 'data/photos')).find((f) => f.endsWith('.jpg'))));
  const codes = [];
  for (const name of ['Điểu Thị Hạnh', 'Ka Thị Bình']) {
    const d = await call(page, 'POST', '/api/v1/drafts', { procedure: { id: 'marital-status-certificate', version: 1 }, fields: { 'requester.full_name': name, 'subject.full_name': name } });
    if (codes.length === 0) {
      const up = await page.evaluate(async ([id, b64]) => {
        const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        const fd = new FormData();
        fd.append('role', 'id_document');
        fd.append('file', new Blob([bytes], { type: 'image/jpeg' }), 'giay-to.jpg');
        const { state } = await import('./lib.js');
        const r = await fetch(`/api/v1/drafts/${id}/attachments`, { method: 'POST', body: fd, headers: { 'x-csrf-token': state.csrf } });
        return r.status;
      }, [d.id, photo.toString('base64')]);
      assert.equal(up, 201);
    }
    const r = await call(page, 'POST', `/api/v1/drafts/${d.id}/refuse`, { reason: 'Chưa mang giấy tờ gốc' });
    assert.equal(r.protected, true, 'paired: sealed and encrypted to the office at once');
    codes.push(r.code);
  }
  const batch = path.join(field.dataDir, 'usb.batch');
  assert.match(hubCli(['batch', 'export', '--data', field.dataDir, '--out', batch]), /2 envelope/);
  const report = JSON.parse(hubCli(['batch', 'import', '--data', office.dataDir, '--json', batch]));
  assert.equal(report.accepted, true);
  assert.equal(report.stored, 2);

  // The clerk's screens.
  await page.context().clearCookies();
  await login(page, office.base, CLERK);
  await page.waitForSelector('[data-testid=office-row]');
  const rows = await page.$$eval('[data-testid=office-row]', (els) => els.map((e) => e.dataset.receipt));
  assert.deepEqual([...rows].sort(), [...codes].sort());
  await axeCheck(page, 'office: received dossiers');
  await shot(page, 'office-01-list');
  await page.click(`[data-testid=office-row][data-receipt="${codes[0]}"]`);
  await page.waitForSelector('[data-testid=office-dossier]');
  assert.match(await page.textContent('[data-testid=office-dossier]'), /Điểu Thị Hạnh/);
  await page.locator('[data-testid=office-photo] img').scrollIntoViewIfNeeded(); // loaded lazily
  await page.waitForFunction(() => [...document.querySelectorAll('[data-testid=office-photo] img')].some((i) => i.complete && i.naturalWidth > 0));
  assert.match(await page.textContent('[data-testid=disposition-reason]'), /Chưa mang giấy tờ gốc/);
  await axeCheck(page, 'office: one dossier');
  await shot(page, 'office-02-dossier');
  await page.goto(office.base + '/#/office/imports');
  await page.waitForSelector('[data-testid=import-row]');
  await axeCheck(page, 'office: import reports');
  await shot(page, 'office-03-imports');
  await page.click('[data-testid=lang-toggle]');
  await page.waitForFunction(() => document.documentElement.lang === 'en');
  await axeCheck(page, 'office: import reports (en)');
  await page.goto(office.base + '/#/');
  await page.waitForSelector('[data-testid=office-row]');
  await axeCheck(page, 'office: received dossiers (en)');
  assert.deepEqual(b.errors, [], 'no uncaught errors in the page');
});
