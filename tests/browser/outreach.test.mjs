// Outreach sessions in a real browser: an officer opens a session and issues tickets on a phone while a
// TV shows the public queue board (#/board, no login); calling a ticket at a desk makes the board show
// that number without a reload. A consented service tap reaches the report. axe-core on every page.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHub, launch, login, axeCheck, shot } from './harness.mjs';

const OFFICER = { name: 'canbo', role: 'officer', password: 'mat-khau-can-bo' };
let hub; let phone; let tv;

before(async () => {
  hub = await startHub({ mode: 'field', users: [OFFICER, { name: 'tnv', role: 'volunteer', password: 'mat-khau-tnv' }] });
  phone = await launch();
  tv = await launch({ viewport: { width: 1280, height: 720 }, isMobile: false });
});

after(async () => {
  if (phone) await phone.close();
  if (tv) await tv.close();
  if (hub) await hub.stop();
});

test('the board follows the desks live', async () => {
  const p = phone.page;
  await login(p, hub.base, OFFICER);
  await p.goto(hub.base + '/#/sessions');
  await p.waitForSelector('[data-testid=open-form]');
  await axeCheck(p, 'sessions (no session open)');

  // Validation first: an empty hamlet is shown on the field.
  await p.click('[data-testid=open-session-btn]');
  await p.waitForSelector('[data-err-for=hamlet]:not([hidden])');
  await p.fill('#o-hamlet', 'Thôn Bù Lư');
  await p.fill('#o-venue', 'Nhà văn hoá thôn Bù Lư');
  await p.fill('#o-commune', '25222');
  await p.click('[data-testid=open-session-btn]');
  await p.waitForSelector('[data-testid=issue-ticket]');
  assert.match(await p.textContent('h1'), /Thôn Bù Lư/);

  // The TV shows the board before any call.
  const b = tv.page;
  await b.goto(hub.base + '/#/board');
  await b.waitForSelector('[data-testid=board-status][data-state=live]');
  assert.equal((await b.textContent('[data-testid=board-civil_status]')).trim(), '—');
  assert.match(await b.textContent('[data-testid=board-place]'), /Thôn Bù Lư · Nhà văn hoá thôn Bù Lư · Xã Bù Gia Mập/);
  await axeCheck(b, 'board');
  await b.evaluate(() => { window.__noReload = 'still-here'; });

  // Three tickets, one with a name.
  await p.fill('#t-name', 'Điểu Thị Lan');
  await p.click('[data-testid=issue-ticket]');
  await p.waitForFunction(() => document.querySelector('[data-testid=issued-number]').textContent.endsWith('1'));
  for (const n of ['2', '3']) {
    await p.click('[data-testid=issue-ticket]');
    await p.waitForFunction((n) => document.querySelector('[data-testid=issued-number]').textContent.endsWith(n), n);
  }
  // The board shows the waiting numbers…
  await b.waitForFunction(() => document.querySelector('[data-testid=board-next-civil_status]').textContent.trim() === '1  2  3');
  await axeCheck(p, 'session');

  // …and, on a call at the civil-status desk, the number being served there, without a reload.
  await p.click('[data-testid=call-civil_status]');
  await p.waitForFunction(() => document.querySelector('[data-testid=serving-civil_status]').textContent === '1');
  await b.waitForFunction(() => document.querySelector('[data-testid=board-civil_status]').textContent === '1');
  await p.click('[data-testid=call-police]');
  await b.waitForFunction(() => document.querySelector('[data-testid=board-police]').textContent === '2');
  assert.equal(await b.evaluate(() => window.__noReload), 'still-here', 'the board page was not reloaded');
  assert.equal((await b.textContent('[data-testid=board-next-police]')).trim(), '3');
  assert.ok(!(await b.textContent('body')).includes('Điểu'), 'no names on the board');
  await shot(b, 'outreach-board');

  // A consented service tap at the police desk, linked to ticket 2; it reaches the report.
  await p.selectOption('#sv-desk', 'police');
  await p.waitForFunction(() => document.querySelector('[data-testid=tap-ticket]').textContent.includes('2'));
  await p.check('[data-testid=consent]');
  await p.waitForSelector('[data-testid=facts]:not([hidden])');
  await p.check('input[name=sex][value=female]');
  await p.check('input[name=age_band][value="18-35"]');
  await p.selectOption('#sv-eth', '22');
  await axeCheck(p, 'session (consent facts shown)');
  await p.click('[data-testid=tap-vneid_level2_activated]');
  await p.waitForFunction(() => document.querySelector('[data-testid=r-services]')?.textContent === '1');
  assert.equal(await p.textContent('[data-testid=r-consented]'), '1');
  assert.match(await p.textContent('[data-testid=report]'), /Xtiêng \(22\)/);
  assert.equal(await p.isHidden('[data-testid=facts]'), true, 'the next villager starts without facts');
  // Undo the tap.
  await p.click('[data-testid=undo]');
  await p.waitForFunction(() => document.querySelector('[data-testid=r-services]')?.textContent === '0');
  await shot(p, 'outreach-session');

  // The list of sessions shows the open one.
  await p.goto(hub.base + '/#/sessions');
  await p.waitForSelector('[data-testid=go-session]');
  await axeCheck(p, 'sessions (one open)');
  assert.deepEqual(phone.errors, []);
  assert.deepEqual(tv.errors, []);
});
