// The office's intake screens in a real browser: a field hub seals two dossiers and exports a batch; one
// envelope of a copy is damaged on the "USB stick". The clerk uploads that file on the imports page (progress
// bar, report: one stored, one set aside), downloads the signed acknowledgement, sees the warning banner on
// the home page, and reads and resolves the quarantined item. axe-core runs on each page, VI and EN.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { startHub, launch, login, axeCheck, shot, hubCli } from './harness.mjs';

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

test('a batch file with one damaged envelope is uploaded, acknowledged and its bad envelope quarantined', async () => {
  const page = b.page;
  await login(page, field.base, OFFICER);
  for (const name of ['Điểu Thị Hạnh', 'Ka Thị Bình']) {
    const d = await call(page, 'POST', '/api/v1/drafts', { procedure: { id: 'marital-status-certificate', version: 1 }, fields: { 'requester.full_name': name, 'subject.full_name': name } });
    const r = await call(page, 'POST', `/api/v1/drafts/${d.id}/refuse`, { reason: 'Chưa mang giấy tờ gốc' });
    assert.equal(r.protected, true);
  }
  const good = path.join(field.dataDir, 'usb.batch');
  hubCli(['batch', 'export', '--data', field.dataDir, '--out', good]);
  // The copy on the stick: envelope 2's ciphertext damaged (a byte flipped).
  const bad = path.join(field.dataDir, 'damaged.batch');
  fs.copyFileSync(good, bad);
  execFileSync('python3', ['-c', `import sqlite3,sys
c=sqlite3.connect(sys.argv[1]); p=bytearray(c.execute('SELECT payload FROM envelopes WHERE seq=2').fetchone()[0]); p[50]^=1
c.execute('UPDATE envelopes SET payload=? WHERE seq=2',(bytes(p),)); c.commit()`, bad]);

  await page.context().clearCookies();
  await login(page, office.base, CLERK);
  await page.goto(office.base + '/#/office/imports');
  await page.waitForSelector('[data-testid=batch-upload-card]');
  await axeCheck(page, 'office: imports with upload');
  await page.setInputFiles('[data-testid=batch-file]', bad);
  await page.click('[data-testid=batch-upload]');
  await page.waitForSelector('[data-testid=import-summary]');
  assert.equal(await page.getAttribute('[data-testid=import-summary]', 'data-kind'), 'warn');
  const summary = await page.textContent('[data-testid=import-summary]');
  assert.match(summary, /1/);
  assert.match(await page.textContent('[data-testid=import-quarantined]'), /2/);
  await page.waitForSelector('[data-testid=import-row]');
  await axeCheck(page, 'office: import report after upload');
  await shot(page, 'intake-01-upload-report');
  // The acknowledgement file: a real download of the signed ack.
  const [dl] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=ack-download]')]);
  const ackPath = path.join(field.dataDir, 'ack.json');
  await dl.saveAs(ackPath);
  // The ack is the first line, then the office's holdings of the device (protocol §11.4.2); the procedure
  // packages the device lacks follow, one per line (§13.4).
  const [first, held, ...more] = fs.readFileSync(ackPath, 'utf8').split('\n').filter((l) => l.trim());
  const ack = JSON.parse(first);
  assert.equal(JSON.parse(held).holdings.kind, 'outreach-kit/holdings');
  assert.deepEqual(JSON.parse(held).holdings.held, [[1, 1]]);
  for (const line of more) assert.equal(JSON.parse(line).package.kind, 'outreach-kit/procedure-package');
  assert.equal(ack.ack.kind, 'outreach-kit/ack');
  assert.deepEqual(ack.ack.acked.map((a) => a.seq), [1]);
  assert.deepEqual(ack.ack.quarantined.map((q) => [q.seq, q.reason]), [[2, 'payload_hash']]);
  assert.match(ack.signature, /^[0-9a-f]{128}$/);

  // The home page warns, and links to the quarantine.
  await page.goto(office.base + '/#/');
  await page.waitForSelector('[data-testid=quarantine-banner]');
  await axeCheck(page, 'office: home with quarantine banner');
  await page.click('[data-testid=quarantine-banner]');
  await page.waitForSelector('[data-testid=quarantine-item]');
  assert.equal(await page.getAttribute('[data-testid=quarantine-item]', 'data-reason'), 'payload_hash');
  assert.match(await page.textContent('[data-testid=quarantine-item]'), /gửi lại/);
  await axeCheck(page, 'office: quarantine');
  await shot(page, 'intake-02-quarantine');
  await page.fill('[data-testid=quarantine-note]', 'Đã nhờ đội xuất lại tệp.');
  await page.click('[data-testid=quarantine-resolve]');
  await page.waitForSelector('[data-testid=resolution]');
  await page.click('[data-testid=lang-toggle]');
  await page.waitForFunction(() => document.documentElement.lang === 'en');
  await page.waitForSelector('[data-testid=quarantine-item]');
  await axeCheck(page, 'office: quarantine (en)');
  // The good copy then fills the gap.
  await page.goto(office.base + '/#/office/imports');
  await page.setInputFiles('[data-testid=batch-file]', good);
  await page.click('[data-testid=batch-upload]');
  await page.waitForSelector('[data-testid=import-summary][data-kind=ok]');
  assert.deepEqual(b.errors, [], 'no uncaught errors in the page');
});
