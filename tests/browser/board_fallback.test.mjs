// The queue board when the hub refuses it a live stream (issue 18, finding 8): a phone on the same address
// has already opened the per-address cap of board streams, so the TV's stream gets 429. The board must
// not stay blank or silently stale: it polls the plain JSON board, says so ("Tự cập nhật vài giây một
// lần", with the time of the last update), shows a new call within a few seconds, and goes back to the
// live stream by itself once the phone lets go. Screenshots at a TV size and at 360×740, in Vietnamese.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHub, launch, axeCheck, shot } from './harness.mjs';

const OFFICER = { name: 'canbo', role: 'officer', password: 'mat-khau-can-bo' };
// --board-streams-per-address (the hub's default).
const CAP = 4;

// A tiny logged-in API client (cookie + CSRF) for node.
async function apiLogin(base, user) {
  const r = await fetch(base + '/api/v1/login', { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ name: user.name, password: user.password }) });
  assert.equal(r.status, 200);
  const cookie = r.headers.get('set-cookie').split(';')[0];
  const { csrf_token: csrf } = await r.json();
  return async (method, p, body) => {
    const res = await fetch(base + p, { method, headers: { Cookie: cookie, 'X-CSRF-Token': csrf, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: res.status, body: await res.json() };
  };
}

// Opens board streams from this process (127.0.0.1, like the browser) until the hub refuses one, and
// keeps them open. Returns the refused response.
async function holdStreams(base) {
  for (let i = 0; i < 64; i++) {
    const ctl = new AbortController();
    const r = await fetch(base + '/api/v1/board/events', { signal: ctl.signal });
    if (r.status !== 200) return r;
    const reader = r.body.getReader();
    (async () => { try { for (;;) { const { done } = await reader.read(); if (done) break; } } catch (_) { /* closed */ } })();
    held.push(() => ctl.abort());
  }
  assert.fail('64 streams from one address were all granted');
}

let hub; let api; let held = [];

before(async () => {
  hub = await startHub({ mode: 'field', users: [OFFICER] });
  api = await apiLogin(hub.base, OFFICER);
  const s = await api('POST', '/api/v1/outreach/sessions', { hamlet: 'Thôn Bù Lư', venue_kind: 'cultural_house', venue_name: 'Nhà văn hoá thôn Bù Lư' });
  assert.equal(s.status, 201);
  hub.session = s.body.id;
});

after(async () => {
  for (const close of held) close();
  if (hub) await hub.stop();
});

test('a board refused its stream polls, shows a new call within seconds, and goes live again', async (t) => {
  // Someone on the TV's address holds every stream it may.
  const refused = await holdStreams(hub.base);

  const tv = await launch({ viewport: { width: 1280, height: 720 }, isMobile: false });
  const phone = await launch({ viewport: { width: 360, height: 740 } });
  try {
    const b = tv.page;
    await b.goto(hub.base + '/#/board');
    // Refused: the board says it refreshes every few seconds, and when it last did.
    await b.waitForSelector('[data-testid=board-status][data-state=polling]', { timeout: 10000 });
    assert.match(await b.textContent('[data-testid=board-status]'), /Tự cập nhật vài giây một lần/);
    assert.match(await b.textContent('[data-testid=board-updated]'), /Cập nhật lúc \d\d:\d\d:\d\d/);
    assert.match(await b.textContent('[data-testid=board-place]'), /Thôn Bù Lư/);
    // One address got the small per-address cap, with a JSON refusal saying when to ask again.
    assert.equal(held.length, CAP, 'streams granted to one address');
    assert.equal(refused.status, 429);
    assert.ok(Number(refused.headers.get('retry-after')) > 0, 'Retry-After');
    assert.equal((await refused.json()).error.code, 'too_many_streams');
    const firstTime = await b.getAttribute('[data-testid=board-updated]', 'data-time');

    // A ticket and a call at the police desk reach the board within a few seconds, without a stream.
    assert.equal((await api('POST', `/api/v1/outreach/sessions/${hub.session}/tickets`, {})).status, 201);
    const t0 = Date.now();
    const call = await api('POST', `/api/v1/outreach/sessions/${hub.session}/desks/police/call-next`);
    assert.equal(call.status, 200);
    await b.waitForFunction(() => document.querySelector('[data-testid=board-police]').textContent === '1', null, { timeout: 8000 });
    const ms = Date.now() - t0;
    t.diagnostic(`call at a desk -> number on a polling board: ${ms} ms`);
    assert.ok(ms < 5000, `the polling board showed the call in ${ms} ms`);
    assert.equal(await b.getAttribute('[data-testid=board-status]', 'data-state'), 'polling');
    assert.notEqual(await b.getAttribute('[data-testid=board-updated]', 'data-time'), firstTime, 'the update time moves');
    await axeCheck(b, 'board (polling)');
    await shot(b, 'board-polling-tv');

    // The same on a phone at 360×740.
    const p = phone.page;
    await p.goto(hub.base + '/#/board');
    await p.waitForSelector('[data-testid=board-status][data-state=polling]', { timeout: 10000 });
    assert.equal(await p.textContent('[data-testid=board-police]'), '1');
    const w = await p.evaluate(() => ({ scroll: document.documentElement.scrollWidth, inner: window.innerWidth }));
    assert.ok(w.scroll <= w.inner, `the board scrolls sideways at 360 px: ${w.scroll}`);
    await shot(p, 'board-polling-360');

    // The phone lets go: the board goes back to the live stream by itself, and follows it.
    for (const close of held) close();
    held = [];
    await b.waitForSelector('[data-testid=board-status][data-state=live]', { timeout: 45000 });
    assert.match(await b.textContent('[data-testid=board-status]'), /Cập nhật trực tiếp/);
    assert.equal((await api('POST', `/api/v1/outreach/sessions/${hub.session}/tickets`, {})).status, 201);
    await api('POST', `/api/v1/outreach/sessions/${hub.session}/desks/telecom/call-next`);
    await b.waitForFunction(() => document.querySelector('[data-testid=board-telecom]').textContent === '2', null, { timeout: 5000 });
    await shot(b, 'board-live-tv');
    assert.deepEqual(tv.errors, []);
    assert.deepEqual(phone.errors, []);
  } finally {
    await tv.close();
    await phone.close();
  }
});
