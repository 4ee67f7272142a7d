// A hostile batch file uploaded on the office's imports page (a phone-sized screen, in Vietnamese): a file
// whose `batch_meta` is an endless recursive view is refused at once with the plain reason in Vietnamese (and
// in English after the language toggle), the page stays usable and the hub keeps answering.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { startHub, launch, login, axeCheck, shot } from './harness.mjs';

const CLERK = { name: 'vanthu.binh', role: 'clerk', password: 'Van-thu-2026!' };
let office; let b;

before(async () => {
  office = await startHub({ mode: 'office', users: [CLERK], name: 'UBND xã Phước Sơn' });
  b = await launch({ viewport: { width: 360, height: 740 }, isMobile: true });
});

after(async () => {
  if (b) await b.close();
  if (office) await office.stop();
});

test('a batch file with an endless recursive view is refused at once with its reason', async () => {
  const page = b.page;
  const file = path.join(office.dataDir, 'hostile.batch');
  execFileSync('python3', ['-c', `import sqlite3,sys
c=sqlite3.connect(sys.argv[1])
c.executescript("""PRAGMA journal_mode=DELETE;
CREATE TABLE manifest(id INTEGER PRIMARY KEY CHECK (id = 1), body BLOB NOT NULL, signature TEXT NOT NULL);
CREATE TABLE envelopes(seq INTEGER PRIMARY KEY, header BLOB NOT NULL, signature TEXT NOT NULL, payload BLOB NOT NULL);
CREATE TABLE blobs(sha256 TEXT PRIMARY KEY, bytes BLOB NOT NULL);
CREATE VIEW batch_meta AS WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT 'k' || n AS key, 'v' AS value FROM r;""")
c.close()`, file]);
  await login(page, office.base, CLERK);
  await page.goto(office.base + '/#/office/imports');
  await page.waitForSelector('[data-testid=batch-upload-card]');
  await page.setInputFiles('[data-testid=batch-file]', file);
  const t0 = Date.now();
  await page.click('[data-testid=batch-upload]');
  const err = await page.waitForSelector('[data-testid=upload-error]', { timeout: 10000 });
  console.log(`refused in ${Date.now() - t0} ms`);
  const vi = await err.innerText();
  assert.match(vi, /cấu trúc không có trong định dạng/, vi);
  assert.equal(vi, vi.normalize('NFC'));
  await err.scrollIntoViewIfNeeded();
  await shot(page, 'batch-hostile-refused-vi');
  await axeCheck(page, 'office: imports, hostile file refused (vi)');
  const health = await page.evaluate(async () => (await fetch('/healthz')).status);
  assert.equal(health, 200);
  await page.click('[data-testid=lang-toggle]');
  await page.waitForFunction(() => document.documentElement.lang === 'en');
  // The page re-renders in English; upload again to see the reason in English.
  await page.setInputFiles('[data-testid=batch-file]', file);
  await page.click('[data-testid=batch-upload]');
  await page.waitForFunction(() => /structures the format does not have/.test(document.querySelector('[data-testid=upload-error]')?.innerText || ''), null, { timeout: 10000 });
});
