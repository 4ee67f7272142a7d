// Issue 18, finding 5, as the officer sees it: the field hub's office address answers with a body that
// never ends (a fake office streaming "1 GB and more"). "Sync now" stops at the read limit and the sync
// page says so plainly, in Vietnamese first (and English), instead of the hub filling its memory.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { startHub, launch, login, axeCheck, shot, hubCli } from './harness.mjs';

const OFFICER = { name: 'canbo.an', role: 'officer', password: 'Can-bo-2026!' };
let field; let b; let fake; let officeDir; let streamed = 0;

before(async () => {
  // The fake office: every request gets a chunked body that never ends (until the client hangs up).
  fake = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    const pump = () => {
      while (!res.destroyed && streamed < 1024 * 1024 * 1024) {
        streamed += chunk.length;
        if (!res.write(chunk)) { res.once('drain', pump); return; }
      }
      res.end();
    };
    pump();
  });
  await new Promise((r) => fake.listen(0, '127.0.0.1', r));
  const fakeBase = `http://127.0.0.1:${fake.address().port}`;
  officeDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hub-browser-office-'));
  hubCli(['init', '--mode', 'office', '--data', officeDir, '--name', 'UBND xã Phước Sơn']);
  field = await startHub({ mode: 'field', users: [OFFICER], name: 'Trạm Bù Lư', args: ['--sync', 'off', '--office-url', fakeBase] });
  const officeCard = path.join(officeDir, 'office.pub');
  fs.writeFileSync(officeCard, hubCli(['key', 'show', '--data', officeDir]));
  hubCli(['trust', '--data', field.dataDir, officeCard]);
  b = await launch({ viewport: { width: 360, height: 740 }, isMobile: true });
});

after(async () => {
  if (b) await b.close();
  if (field) await field.stop();
  if (fake) { fake.closeAllConnections(); fake.close(); }
  if (officeDir) fs.rmSync(officeDir, { recursive: true, force: true });
});

test('a fake office streaming an endless answer is cut at the limit and said plainly', async () => {
  const page = b.page;
  await login(page, field.base, OFFICER);
  await page.goto(`${field.base}/#/sync`);
  await page.waitForSelector('[data-testid=sync-office]');
  const t0 = Date.now();
  await page.click('[data-testid=sync-run]');
  await page.waitForSelector('[data-testid=sync-error]', { timeout: 30000 });
  const took = Date.now() - t0;
  const text = await page.textContent('[data-testid=sync-error]');
  assert.match(text, /lớn hơn giới hạn/, text);
  assert.match(text, /không phải văn phòng thật/, text);
  assert.ok(streamed < 64 * 1024 * 1024, `the field read far past its limit: ${streamed} bytes streamed`);
  assert.ok(took < 20000, `took ${took} ms`);
  // The hub still answers.
  const st = await page.evaluate(async () => (await fetch('/api/v1/upload/status')).json());
  assert.equal(st.progress.last_error.code, 'office_answer_too_large', JSON.stringify(st.progress.last_error));
  assert.match(st.progress.last_error.message_en, /larger than the .* limit/);
  await axeCheck(page, 'sync: fake office too large (vi)');
  await shot(page, 'sync-fake-office-too-large-vi');
});
