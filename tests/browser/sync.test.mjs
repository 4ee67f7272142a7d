// The field's sync page in a real browser against two real hubs: before pairing it sends the officer to
// the pairing page; once paired by key cards (the office given by --office-url), "Sync now" runs a real
// upload of two sealed dossiers and the page shows the progress and the completed sync (acknowledged
// counts, last success, no error). axe-core on both states, in Vietnamese and English.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startHub, launch, login, axeCheck, shot, hubCli, SHARED } from './harness.mjs';

const OFFICER = { name: 'canbo.an', role: 'officer', password: 'Can-bo-2026!' };
let field; let office; let b;

before(async () => {
  office = await startHub({ mode: 'office', users: [], name: 'UBND xã Phước Sơn' });
  field = await startHub({ mode: 'field', users: [OFFICER], name: 'Trạm Bù Lư', args: ['--sync', 'off', '--office-url', office.base] });
  b = await launch({ viewport: { width: 390, height: 844 }, isMobile: true });
});

after(async () => {
  if (b) await b.close();
  if (field) await field.stop();
  if (office) await office.stop();
});

const call = (page, method, p, body) => page.evaluate(async ([m, u, x]) => (await import('./lib.js')).api(m, u, x), [method, p, body]);

test('the sync page shows the way to pairing, then a completed upload', async () => {
  const page = b.page;
  await login(page, field.base, OFFICER);
  await page.goto(`${field.base}/#/sync`);
  await page.waitForSelector('[data-testid=sync-no-office]');
  await page.waitForSelector('[data-testid=sync-pair-link]');
  assert.equal(await page.locator('h1').count(), 1);
  await axeCheck(page, 'sync: not paired');

  // Pair by key cards, both ways, while both hubs run.
  const fieldCard = path.join(field.dataDir, 'field.pub');
  const officeCard = path.join(office.dataDir, 'office.pub');
  fs.writeFileSync(fieldCard, hubCli(['key', 'show', '--data', field.dataDir]));
  fs.writeFileSync(officeCard, hubCli(['key', 'show', '--data', office.dataDir]));
  hubCli(['trust', '--data', field.dataDir, officeCard]);
  hubCli(['trust', '--data', office.dataDir, fieldCard]);

  // Two sealed dossiers (refused at the session: sealed with what was captured), one with a photo.
  const photo = fs.readFileSync(path.join(SHARED, 'data/photos', fs.readdirSync(path.join(SHARED, 'data/photos')).find((f) => f.endsWith('.jpg'))));
  for (const [i, name] of ['Điểu Thị Hạnh', 'Ka Thị Bình'].entries()) {
    const d = await call(page, 'POST', '/api/v1/drafts', { procedure: { id: 'marital-status-certificate', version: 1 }, fields: { 'requester.full_name': name, 'subject.full_name': name } });
    if (i === 0) {
      const up = await page.evaluate(async ([id, b64]) => {
        const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        const fd = new FormData();
        fd.append('role', 'id_document');
        fd.append('file', new Blob([bytes], { type: 'image/jpeg' }), 'giay-to.jpg');
        const { state } = await import('./lib.js');
        return (await fetch(`/api/v1/drafts/${id}/attachments`, { method: 'POST', body: fd, headers: { 'x-csrf-token': state.csrf } })).status;
      }, [d.id, photo.toString('base64')]);
      assert.equal(up, 201);
    }
    const r = await call(page, 'POST', `/api/v1/drafts/${d.id}/refuse`, { reason: 'Chưa mang giấy tờ gốc' });
    assert.equal(r.protected, true);
  }

  await page.goto(`${field.base}/#/`);
  await page.goto(`${field.base}/#/sync`);
  await page.waitForSelector('[data-testid=sync-office]');
  assert.equal(await page.textContent('[data-testid=count-waiting]'), '2');
  await page.waitForSelector('[data-testid=sync-progress]');
  await axeCheck(page, 'sync: paired, waiting');
  await page.click('[data-testid=sync-run]');
  // The event stream brings the run's progress; then the completed sync.
  await page.waitForFunction(() => document.querySelector('[data-testid=count-acked]')?.textContent === '2', null, { timeout: 60000 });
  await page.waitForFunction(() => document.querySelector('[data-testid=sync-dossiers]')?.textContent === '2 / 2');
  assert.equal(await page.textContent('[data-testid=count-waiting]'), '0');
  assert.equal(await page.locator('[data-testid=sync-error]').count(), 0);
  const last = await page.textContent('[data-testid=sync-last-success]');
  assert.ok(last && !/Chưa lần nào|Never/.test(last), last);
  assert.equal(await page.getAttribute('[data-testid=sync-bar]', 'aria-valuenow'), '100');
  await axeCheck(page, 'sync: completed (vi)');
  // The field home marks both dossiers uploaded to the office.
  await page.goto(`${field.base}/#/`);
  await page.waitForSelector('[data-testid=sealed-row]');
  assert.equal(await page.locator('[data-testid=uploaded-badge]').count(), 2);
  await axeCheck(page, 'field home with uploaded dossiers');
  await page.goto(`${field.base}/#/sync`);
  await page.waitForSelector('[data-testid=sync-office]');
  await shot(page, 'sync-01-completed');
  await page.evaluate(async () => (await import('./lib.js')).setLang('en'));
  await page.goto(`${field.base}/#/`);
  await page.goto(`${field.base}/#/sync`);
  await page.waitForSelector('[data-testid=sync-office]');
  assert.match(await page.textContent('h1'), /Sync with the commune office/);
  await axeCheck(page, 'sync: completed (en)');
});
