// Issue 25, "done when": a villager who reads no Vietnamese gets through alone. On a 360×740 phone, plain
// HTTP, not logged in: the hub's address opens the front door; the villager chooses Xtiêng by listening
// (Xtiêng announces itself), picks "fill in my request", the marital-status certificate, and answers it one
// question a screen by listening and tapping. Every text met there has a recording — Xtiêng, or Vietnamese
// with "VI" on its button — because the team recorded the plan first: the test records what the languages
// page lists as the villager's texts of this procedure (Vietnamese stand-ins, as a team with no Xtiêng
// speaker at hand would), plus a few in Xtiêng. The done screen shows one big number and says it.
// The team then sees the pre-declaration waiting with the villager's language and takes it as a draft.
// Printed: how many villager-facing texts the plan has, and the time to record them at ~5 s each.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHub, launch, login, shot, apiLogin, listenMarks, toneRecording, putRecording, predeclareAnswer } from './harness.mjs';

const ADMIN = { name: 'quantri', role: 'admin', password: 'mat-khau-quan-tri' };
const OFFICER = { name: 'canbo', role: 'officer', password: 'mat-khau-can-bo' };
const PROC = 'marital-status-certificate';
const NAME = 'Điểu Thị Mai';
let hub; let planned;

before(async () => {
  hub = await startHub({ mode: 'field', users: [ADMIN, OFFICER] });
  const admin = await apiLogin(hub.base, ADMIN);
  const li = await fetch(hub.base + '/api/v1/login', { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ name: ADMIN.name, password: ADMIN.password }) });
  const session = { cookie: li.headers.get('set-cookie').split(';')[0], csrf: (await li.json()).csrf_token };
  const l = await admin('POST', '/api/v1/languages', { code: 'stg', native_name: 'Xtiêng', vi_name: 'Tiếng Xtiêng', en_name: 'Stieng', has_script: true });
  assert.equal(l.status, 201, JSON.stringify(l.body));
  // The recording plan, as the languages page shows it: the villager's texts, by page.
  const plan = (await admin('GET', '/api/v1/languages/stg/keys')).body.keys;
  const villager = plan.filter((k) => k.audience === 'villager');
  // What a team records before a session on this procedure: every villager text of it (a text the guide and
  // the form share is listed once, under the guides), the screens' texts included.
  const mine = villager.filter((k) => !k.procedures.length || k.procedures.includes(PROC));
  console.log(`villager-facing texts: ${villager.length} of ${plan.length}, at 5 s each ≈ ${Math.round(villager.length * 5 / 60)} min; ` +
    `for ${PROC} alone: ${mine.length} ≈ ${Math.round(mine.length * 5 / 60)} min`);
  planned = new Set(mine.map((k) => k.key));
  const audio = await toneRecording(hub.base);
  // The front door announces Xtiêng in Xtiêng; a few of the form's texts are recorded in Xtiêng, the rest
  // of the plan in Vietnamese.
  await putRecording(hub.base, session, 'stg', 'front.language_self_name', audio);
  for (const k of ['self.done_show', ...[...'0123456789'].map((d) => 'digit.' + d), 'sex.female', 'sex.male']) {
    await putRecording(hub.base, session, 'stg', k, audio);
  }
  for (const k of mine) await putRecording(hub.base, session, 'vi', k.key, audio);
});

after(async () => { if (hub) await hub.stop(); });

test('the villager gets through alone: front door by ear, the pre-declaration by listening and tapping, one spoken number', async () => {
  const phone = await launch({ viewport: { width: 360, height: 740 }, args: ['--autoplay-policy=no-user-gesture-required'] });
  const { page } = phone;
  try {
    await page.goto(hub.base + '/');
    assert.ok(page.url().startsWith('http://'), 'plain HTTP');
    await page.waitForSelector('[data-testid=front-door][data-step=language]');
    // Chosen by listening: Xtiêng's button announces it.
    await page.click('[data-testid=front-lang-listen][data-code=stg]');
    await page.waitForFunction(() => {
      const a = document.querySelector('[data-testid=audio-player]');
      return a && a.ended && /\/languages\/stg\/audio\/front\.language_self_name/.test(a.currentSrc);
    }, null, { timeout: 15000 });
    await page.click('[data-testid=front-lang][data-code=stg]');
    await page.waitForSelector('[data-testid=front-door][data-step=choose]');
    await page.click('[data-testid=front-go-request]');
    await page.click(`[data-testid=front-procedure][data-procedure=${PROC}] [data-testid=front-predeclare]`);
    await page.waitForSelector('form.oneq[data-step="1"]');
    assert.equal(await page.evaluate(() => document.documentElement.lang), 'stg');

    // One question a screen; every text on it can be heard (Xtiêng, or Vietnamese marked VI).
    const answers = { 'requester.relationship': 'self', 'requester.full_name': NAME, 'requester.pin': '070190012346',
      'subject.sex': 'female', 'subject.marital_status': 'never_married', 'subject.date_of_birth': '1990-05-14' };
    let heard = 0; let inVi = 0; let inStg = 0;
    const met = await predeclareAnswer(page, answers, { send: false, each: async (key) => {
      for (const x of await listenMarks(page)) {
        assert.equal(x.kind, 'play', `${key}: "${x.what}" cannot be heard (${x.kind}); planned: ${planned.size} texts`);
        assert.equal(x.vi, x.lang === 'vi', `${key}: "${x.what}" — a Vietnamese recording carries "VI"`);
        heard++;
        if (x.lang === 'vi') inVi++; else inStg++;
      }
      if (key === 'requester.full_name') {
        await page.locator('.field.ask-on > .said [data-testid=audio-play]').click();
        await page.waitForFunction(() => document.querySelector('[data-testid=audio-player]')?.ended, null, { timeout: 15000 });
      }
    } });
    console.log(`questions met: ${met.length}; texts heard: ${heard} (${inStg} in Xtiêng, ${inVi} Vietnamese marked VI)`);
    assert.ok(met.length >= 10 && inStg > 0 && inVi > 0, JSON.stringify({ met: met.length, inStg, inVi }));
    await shot(page, 'villager-alone-review');
    await page.click('[data-testid=predeclare-send]');

    // One big number, said aloud.
    await page.waitForSelector('[data-testid=predeclare-number]');
    assert.equal(await page.locator('.huge-number .n').count(), 1, 'one number');
    const say = page.locator('[data-testid=say-number]');
    assert.equal(await say.getAttribute('data-audio-lang'), 'stg');
    await page.evaluate(() => {
      window.__played = [];
      document.addEventListener('play', (e) => window.__played.push(e.target.currentSrc), true);
    });
    await say.click();
    await page.waitForFunction(() => window.__played.length >= 2 && document.querySelector('[data-testid=audio-player]').ended, null, { timeout: 20000 });
    await shot(page, 'villager-alone-number');
  } finally { await phone.close(); }

  // The team: waiting, with the villager's language, and taken as a draft.
  const team = await launch({ viewport: { width: 360, height: 740 } });
  try {
    const p = team.page;
    await login(p, hub.base, OFFICER);
    const row = p.locator('[data-testid=predeclaration]', { hasText: NAME });
    await row.waitFor();
    assert.match(await row.locator('[data-testid=predeclaration-lang]').textContent(), /Xtiêng/);
    await row.locator('[data-testid=predeclaration-take]').click();
    await p.waitForFunction(() => /^#\/draft\//.test(location.hash));
    const id = await p.evaluate(() => decodeURIComponent(location.hash.split('/')[2]));
    const d = await (await apiLogin(hub.base, OFFICER))('GET', `/api/v1/drafts/${id}`);
    assert.equal(d.body.fields['requester.full_name'], NAME);
    assert.equal(d.body.fields['subject.sex'], 'female');
  } finally { await team.close(); }
});
