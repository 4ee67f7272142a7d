// The villagers' guide comes from the procedure package (issue 20): the death group, added as data only,
// has its public guide page like the procedures compiled in before it, with the texts of its package's
// `guide` (protocol/packages/death-registration-group.v1.json, authored in the `guide` sheet). On a phone
// (360×740, Vietnamese), no login: the list names it, its page shows purpose, who may file, the papers
// (from the package's documents), the steps in order and the fees, and fits the screen.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startHub, launch, axeCheck, shot, REPO } from './harness.mjs';

const PHONE = { width: 360, height: 740 };
const PROC = 'death-registration-group';
const pkg = JSON.parse(fs.readFileSync(path.join(REPO, 'protocol/packages', `${PROC}.v1.json`), 'utf8'));
let hub; let b;

before(async () => {
  hub = await startHub({ mode: 'field', name: 'Trạm Bù Lư' });
  b = await launch({ viewport: PHONE });
});

after(async () => {
  if (b) await b.close();
  if (hub) await hub.stop();
});

const squash = (s) => s.replace(/\s+/g, ' ').trim();

test('the death group has its guide, from its package, on a phone', async () => {
  assert.ok(pkg.guide, 'the package has a guide');
  const page = b.page;
  await page.goto(hub.base + '/#/guides');
  await page.waitForSelector(`[data-testid=guide-row][data-procedure=${PROC}]`);
  const ids = await page.$$eval('[data-testid=guide-row]', (rows) => rows.map((r) => r.dataset.procedure));
  for (const id of ['marital-status-certificate', 'birth-residence-insurance', PROC]) assert.ok(ids.includes(id), `${id} listed: ${ids}`);
  const row = squash(await page.textContent(`[data-testid=guide-row][data-procedure=${PROC}]`));
  assert.ok(row.includes(squash(pkg.guide.purpose.vi)), `the list shows the purpose: ${row}`);

  await page.click(`[data-testid=guide-row][data-procedure=${PROC}] [data-testid=guide-link]`);
  await page.waitForSelector('[data-testid=guide-steps] li');
  assert.match(page.url(), new RegExp(`#/guides/${PROC}$`));
  const main = squash(await page.textContent('[data-testid=guide]'));
  assert.ok(main.includes(squash(pkg.procedure.title.vi)), 'the title');
  assert.ok(main.includes(squash(pkg.guide.purpose.vi)), 'the purpose');
  for (const w of pkg.guide.who) assert.ok(main.includes(squash(w.vi)), `who: ${w.vi}`);
  assert.ok(main.includes(squash(pkg.guide.fees.vi)), 'the fees');
  assert.match(main, /15 ngày/);
  // The steps, in the package's order.
  const steps = (await page.$$eval('[data-testid=guide-steps] > li', (li) => li.map((x) => x.textContent))).map(squash);
  assert.equal(steps.length, pkg.guide.steps.length);
  pkg.guide.steps.forEach((s, i) => assert.ok(steps[i].includes(squash(s.vi)), `step ${i + 1}: ${steps[i]}`));
  // The papers come from the package's documents: the death notice first.
  const roles = await page.$$eval('[data-testid=guide-doc]', (d) => d.map((x) => x.dataset.role));
  assert.deepEqual(roles, pkg.procedure.documents.map((d) => d.role));
  assert.match(squash(await page.textContent('[data-testid=guide-bring]')), /Giấy báo tử/);
  // The death notice is needed unless the death was long ago: said so, not "bring it if you have it".
  const notice = squash(await page.textContent('[data-testid=guide-doc][data-role=death_notice] [data-testid=guide-doc-need]'));
  assert.match(notice, /^Chỉ cần khi: Giấy tờ chứng minh việc chết không phải “Không có/, notice);
  // No English on the Vietnamese page, no key names, nothing wider than the phone.
  assert.ok(!main.includes(pkg.guide.purpose.en), 'English is not shown');
  assert.doesNotMatch(main, /\bguide\.[a-z-]+\./, 'no key names on screen');
  const w = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(w <= PHONE.width, `the page is ${w} px wide`);
  await axeCheck(page, 'death group guide');
  await page.evaluate(() => window.scrollTo(0, 0));
  await shot(page, 'guides-death-360-vi');
  assert.deepEqual(b.errors, [], 'no uncaught errors in the page');
});
