// A villager's pre-declaration when the session's ceiling is reached (issue 18, finding 8): the hub
// bounds pre-declarations per outreach session (--predeclarations-per-session), and the phone says so
// plainly, in Vietnamese and English whatever language was chosen, sending the villager to the desk; what
// they typed stays on the phone. On a 360×740 phone in Vietnamese.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHub, launch, axeCheck, shot, predeclareAnswer } from './harness.mjs';

const OFFICER = { name: 'canbo', role: 'officer', password: 'mat-khau-can-bo' };
const PROC = 'marital-status-certificate';
let hub;

before(async () => {
  hub = await startHub({ mode: 'field', users: [OFFICER], args: ['--predeclarations-per-session', '1'] });
  const r = await fetch(hub.base + '/api/v1/login', { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ name: OFFICER.name, password: OFFICER.password }) });
  assert.equal(r.status, 200);
  const cookie = r.headers.get('set-cookie').split(';')[0];
  const { csrf_token: csrf } = await r.json();
  const s = await fetch(hub.base + '/api/v1/outreach/sessions', { method: 'POST',
    headers: { Cookie: cookie, 'X-CSRF-Token': csrf, 'Content-Type': 'application/json' },
    body: JSON.stringify({ hamlet: 'Thôn Bù Lư', venue_kind: 'cultural_house', venue_name: 'Nhà văn hoá thôn Bù Lư' }) });
  assert.equal(s.status, 201);
  // The session's one pre-declaration, from another phone.
  const p = await fetch(hub.base + '/api/v1/public/predeclarations', { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ procedure: { id: PROC, version: 1 }, fields: { 'requester.full_name': 'Điểu Thị Lan' } }) });
  assert.equal(p.status, 201);
});

after(async () => { if (hub) await hub.stop(); });

test('the session is full: the phone says so in Vietnamese and English and keeps what was typed', async () => {
  const phone = await launch({ viewport: { width: 360, height: 740 } });
  const { page } = phone;
  try {
    await page.goto(`${hub.base}/#/predeclare/${PROC}`);
    await predeclareAnswer(page, { 'requester.full_name': 'Lâm Thị Hoa' });
    const err = page.locator('[data-testid=predeclare-error][data-code=predeclarations_full]');
    await err.waitFor();
    const text = await err.textContent();
    assert.match(text, /đã nhận đủ 1 bản khai trước.*bàn hướng dẫn/);
    assert.match(text, /already received 1 pre-declarations.*guidance desk/);
    assert.ok(text.indexOf('bàn hướng dẫn') < text.indexOf('guidance desk'), 'Vietnamese first');
    assert.equal(await page.inputValue('[name="requester.full_name"]'), 'Lâm Thị Hoa', 'what was typed stays');
    assert.equal(await page.textContent('[data-testid=ask-answer][data-key="requester.full_name"] .a'), 'Lâm Thị Hoa', 'and is shown');
    assert.equal(await page.isEnabled('[data-testid=predeclare-send]'), true);
    assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), 'no sideways scroll');
    await axeCheck(page, 'pre-declaration refused (session full)');
    await page.screenshot({ path: new URL('./artifacts/predeclare-full-360.png', import.meta.url).pathname });
    await shot(page, 'predeclare-full-360-page');
    assert.deepEqual(phone.errors, []);
  } finally { await phone.close(); }
});
