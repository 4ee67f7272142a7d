// Issue 25, "forms that speak": a villager who reads no Vietnamese fills the marital-status pre-declaration
// alone on a 360×740 phone over plain HTTP, in Xtiêng, one question per screen, listening and tapping.
// On every screen each label, hint and choice has a listen button (Xtiêng, or Vietnamese marked "VI" on the
// button) or a visible "no recording" mark; sex and yes/no choices have pictures; Back keeps the answer; an
// error shows on its question's screen with its own listen button or mark; the done screen shows one big
// number and says it (the sentence, then the digits). Then the team sees it waiting with the villager's
// language and takes it as a draft.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHub, launch, login, axeCheck, shot, apiLogin, scanVietnameseScreen, listenMarks, toneRecording, putRecording } from './harness.mjs';

const ADMIN = { name: 'quantri', role: 'admin', password: 'mat-khau-quan-tri' };
const OFFICER = { name: 'canbo', role: 'officer', password: 'mat-khau-can-bo' };
const PROC = 'marital-status-certificate';
const NAME = 'Điểu Thị Mai';
let hub; let admin; let keys; let session;

before(async () => {
  hub = await startHub({ mode: 'field', users: [ADMIN, OFFICER] });
  admin = await apiLogin(hub.base, ADMIN);
  const li = await fetch(hub.base + '/api/v1/login', { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ name: ADMIN.name, password: ADMIN.password }) });
  session = { cookie: li.headers.get('set-cookie').split(';')[0], csrf: (await li.json()).csrf_token };
  const l = await admin('POST', '/api/v1/languages', { code: 'stg', native_name: 'Xtiêng', vi_name: 'Tiếng Xtiêng', en_name: 'Stieng', has_script: true });
  assert.equal(l.status, 201, JSON.stringify(l.body));
  keys = (await (await fetch(hub.base + '/api/v1/languages/stg/strings')).json()).catalogue_keys;
  const audio = await toneRecording(hub.base);
  // Recorded in Xtiêng: the name question, "female", the "show this number" sentence, the digits, the
  // bad-name error. In Vietnamese: "male" and the relationship question (only there: the phone says "VI"),
  // and the sentence.
  for (const k of [keys['Họ, chữ đệm, tên'], 'sex.female', 'self.done_show', 'ask.err.bad_name',
    ...[...'0123456789'].map((d) => 'digit.' + d)]) await putRecording(hub.base, session, 'stg', k, audio);
  for (const k of ['sex.male', 'self.done_show', keys['Quan hệ với người được cấp Giấy xác nhận tình trạng hôn nhân']]) await putRecording(hub.base, session, 'vi', k, audio);
});

after(async () => { if (hub) await hub.stop(); });

test('a villager fills the marital-status pre-declaration in Xtiêng by listening and tapping, and the team takes it', async () => {
  const phone = await launch({ viewport: { width: 360, height: 740 }, args: ['--autoplay-policy=no-user-gesture-required'] });
  const { page } = phone;
  const screens = [];
  try {
    await page.goto(`${hub.base}/#/predeclare/${PROC}`);
    await page.waitForSelector('form.oneq[data-step="1"]');
    assert.equal(page.url().startsWith('http://'), true, 'plain HTTP');
    // In Vietnamese first: the question screen reads as Vietnamese (no key, no English, no raw code).
    await scanVietnameseScreen(page, 'first question in Vietnamese', { parts: ['requester', 'subject'] });
    await page.selectOption('[data-testid=self-lang]', 'stg');
    await page.waitForFunction(() => document.documentElement.lang === 'stg');
    await page.waitForSelector('form.oneq[data-step="1"]');
    await axeCheck(page, 'first question in Xtiêng');
    await shot(page, 'voice-01-first-question-stg');

    let total = 0;
    let sawVi = false; let sawStg = false; let sawNone = false; let sawPict = false; let played = false;
    let wentBack = false; let triedBadPin = false;
    for (let i = 0; i < 60; i++) {
      const form = page.locator('form.oneq');
      const step = await form.getAttribute('data-step');
      if (step === 'review') break;
      const key = await form.getAttribute('data-key');
      screens.push(key);
      // One question on the screen, numbered.
      const m = /^Câu (\d+) \/ (\d+)$/.exec((await page.textContent('[data-testid=ask-progress]')).trim());
      assert.ok(m, `progress on ${key}`);
      assert.equal(Number(m[1]), screens.length, `question number on ${key}`);
      total = Number(m[2]);
      assert.equal(await page.locator('.field.ask-on').count(), 1, `one question on ${key}`);
      assert.equal(await page.locator('.pform .field:visible').count(), 1, `only ${key} shown`);
      const nextBox = await page.locator('[data-testid=ask-next]').boundingBox();
      assert.ok(nextBox.height >= 48, `Next is ${nextBox.height} px tall`);
      if (screens.length > 1) assert.ok((await page.locator('[data-testid=ask-back]').boundingBox()).height >= 48, 'Back ≥ 48 px');
      // Every text has a listen button or a visible mark; a Vietnamese recording says so on its button.
      const marks = await listenMarks(page);
      assert.ok(marks.length >= 2, `${key}: the group title and the question at least: ${JSON.stringify(marks)}`);
      for (const x of marks) {
        assert.notEqual(x.kind, 'nothing', `${key}: "${x.what}" has neither a listen button nor a mark`);
        if (x.kind === 'play') {
          assert.ok(x.size >= 44, `${key}: listen button of "${x.what}" is ${x.size} px`);
          assert.ok(['stg', 'vi'].includes(x.lang), x.lang);
          assert.equal(x.vi, x.lang === 'vi', `${key}: "${x.what}" — a Vietnamese recording is marked VI, a Xtiêng one is not`);
          if (x.lang === 'vi') sawVi = true; else sawStg = true;
        } else {
          assert.equal(x.noneText, 'Chưa có ghi âm');
          sawNone = true;
        }
      }
      // Concrete choices have pictures, each with its text and listen button.
      const radios = page.locator('.field.ask-on .choice');
      const values = await page.locator('.field.ask-on .choice input[type=radio]').evaluateAll((a) => a.map((x) => x.value));
      if (['male', 'female', 'yes', 'no', 'self'].some((v) => values.includes(v))) {
        const pics = await radios.evaluateAll((cs) => cs.map((c) => [c.querySelector('input').value, !!c.querySelector('svg.pict'), c.querySelector('.radio span').textContent.trim()]));
        for (const [v, pic, text] of pics) {
          if (['male', 'female', 'yes', 'no', 'self'].includes(v)) { assert.ok(pic, `${key}: a picture for ${v}`); sawPict = true; }
          assert.ok(text, `${key}: ${v} has its text`);
        }
      }

      if (key === 'requester.relationship') {
        await shot(page, 'voice-02-relationship-pictures');
        await page.locator('.field.ask-on input[value=self]').check();
      } else if (key === 'requester.full_name') {
        // Listen to the question in Xtiêng: it really plays.
        const play = page.locator('.field.ask-on > .said [data-testid=audio-play]');
        assert.equal(await play.getAttribute('data-audio-lang'), 'stg');
        await play.click();
        await page.waitForFunction(() => document.querySelector('[data-testid=audio-player]')?.ended, null, { timeout: 15000 });
        const src = await page.evaluate(() => document.querySelector('[data-testid=audio-player]').currentSrc);
        assert.match(src, /\/api\/v1\/languages\/stg\/audio\/cat\.[0-9a-f]{12}\?v=[0-9a-f]{64}$/);
        played = true;
        // A digit in the name: the hub refuses it at sending (below), and the question is asked again.
        await page.fill('[name="requester.full_name"]', NAME + ' 2');
      } else if (key === 'requester.pin' && !triedBadPin) {
        // A short number: said on this screen, with its listen mark, and Next stays here.
        triedBadPin = true;
        await page.fill('[name="requester.pin"]', '123');
        await page.click('[data-testid=ask-next]');
        const err = page.locator('.field.ask-on [data-err-for="requester.pin"]');
        await err.waitFor();
        assert.equal(await form.getAttribute('data-key'), 'requester.pin', 'the error stays on its question');
        const em = (await listenMarks(page)).find((x) => x.ferr);
        assert.ok(em && em.kind !== 'nothing', `the error has its listen mark: ${JSON.stringify(em)}`);
        await shot(page, 'voice-03-pin-error');
        await page.fill('[name="requester.pin"]', '070190012346');
      } else if (key === 'subject.sex') {
        await page.locator('.field.ask-on .choice', { has: page.locator('input[value=female]') }).locator('label').click();
        await shot(page, 'voice-04-sex-pictures');
      } else if (key === 'subject.ethnicity' && !wentBack) {
        // Back: the answer given is still there.
        wentBack = true;
        await page.click('[data-testid=ask-back]');
        await page.waitForFunction(() => document.querySelector('form.oneq').dataset.key === 'subject.sex');
        assert.equal(await page.isChecked('.field.ask-on input[value=female]'), true, 'the answer is kept going back');
        screens.pop();
        screens.pop(); // the sex question is met again, then Next
        continue;
      } else if (key === 'subject.marital_status') {
        await page.locator('.field.ask-on input[value=never_married]').check();
      }
      await page.click('[data-testid=ask-next]');
      await page.waitForFunction((k) => document.querySelector('form.oneq').dataset.key !== k || document.querySelector('form.oneq').dataset.step === 'review', key);
    }
    assert.ok(played && triedBadPin && wentBack, 'the walk played a recording, met an error, went back');
    assert.ok(sawStg && sawVi && sawNone && sawPict, JSON.stringify({ sawStg, sawVi, sawNone, sawPict }));
    assert.ok(screens.length >= 15 && screens.length === total, `${screens.length} questions met of ${total}`);
    // Asked only as the catalogue's conditions say (form.js's logic): asking for oneself, the subject's own
    // name and papers are not asked again; never married, no marriage certificate.
    for (const k of ['subject.full_name', 'marriage.cert_number', 'requester.passport_number', 'requester.relationship_other']) {
      assert.ok(!screens.includes(k), `${k} is not asked`);
    }
    assert.ok(screens.includes('subject.sex') && screens.includes('previous.issued'));
    console.log(`\n${screens.length} questions, one per screen: ${screens.join(', ')}`);

    // The review: the answers, and "send".
    await page.waitForSelector('[data-testid=predeclare-send]');
    assert.equal(await page.locator('[data-testid=ask-answer][data-key="subject.sex"] .a').textContent(), 'Nữ');
    // Each answer with its question, and the question's listen button or mark, as on its screen.
    const rows = await page.locator('.ask-answers li').evaluateAll((ls) => ls.map((l) => [l.querySelector('[data-testid=ask-answer]').dataset.key,
      !!l.querySelector(':scope > [data-testid=audio-play], :scope > [data-testid=audio-none]')]));
    assert.deepEqual(rows.map(([k]) => k), screens, 'every question answered or left blank is listed');
    assert.ok(rows.every(([, said]) => said), JSON.stringify(rows));
    await axeCheck(page, 'the review');
    await shot(page, 'voice-05-review');
    await page.click('[data-testid=predeclare-send]');
    // The hub refuses the digit in the name: the name's question again, its error with its Xtiêng recording.
    await page.waitForFunction(() => document.querySelector('form.oneq')?.dataset.key === 'requester.full_name');
    const errPlay = page.locator('.field.ask-on .ferr-row.on [data-testid=audio-play]');
    await errPlay.waitFor();
    assert.equal(await errPlay.getAttribute('data-key'), 'ask.err.bad_name');
    assert.equal(await errPlay.getAttribute('data-audio-lang'), 'stg');
    assert.match(await page.textContent('[data-err-for="requester.full_name"]'), /chữ cái/);
    await axeCheck(page, 'a question with the hub\'s error');
    await shot(page, 'voice-06-name-error-from-hub');
    await page.fill('[name="requester.full_name"]', NAME);
    assert.equal(await page.locator('[data-err-for="requester.full_name"]').isVisible(), false, 'fixed: the error goes');
    // Straight on to the review (the answers kept), and send.
    for (let i = 0; i < 40 && (await page.getAttribute('form.oneq', 'data-step')) !== 'review'; i++) {
      const k = await page.getAttribute('form.oneq', 'data-key');
      await page.click('[data-testid=ask-next]');
      await page.waitForFunction((x) => document.querySelector('form.oneq').dataset.key !== x, k);
    }
    await page.click('[data-testid=predeclare-send]');

    // Done: one big number, and it is said.
    await page.waitForSelector('[data-testid=predeclare-number]');
    assert.equal(await page.locator('.huge-number').count(), 1, 'one number box');
    assert.equal(await page.locator('.huge-number .n').count(), 1, 'one number');
    const n = (await page.textContent('[data-testid=predeclare-number] .n')).trim();
    assert.match(n, /^\d+$/);
    const look = await page.evaluate(() => ({
      size: parseFloat(getComputedStyle(document.querySelector('.huge-number .n')).fontSize),
      body: parseFloat(getComputedStyle(document.body).fontSize), scroll: document.documentElement.scrollWidth }));
    assert.ok(look.size >= 4 * look.body, `the number is big: ${look.size} px`);
    assert.ok(look.scroll <= 360, 'no sideways scroll');
    const say = page.locator('[data-testid=say-number]');
    assert.equal(await say.isVisible(), true);
    assert.equal(await say.getAttribute('data-keys'), ['self.done_show', ...[...n].map((d) => 'digit.' + d)].join(' '));
    assert.equal(await say.getAttribute('data-audio-lang'), 'stg');
    assert.equal(await page.locator('[data-testid=say-number-row] [data-testid=audio-none]').count(), 0, 'all recorded');
    await axeCheck(page, 'the number, said');
    await shot(page, 'voice-07-done-number');
    await page.evaluate(() => {
      window.__played = [];
      document.addEventListener('play', (e) => window.__played.push(e.target.currentSrc), true);
    });
    await say.click();
    const expect = 1 + n.length;
    await page.waitForFunction((k) => window.__played.length >= k && document.querySelector('[data-testid=audio-player]').ended, expect, { timeout: 20000 });
    const playedKeys = await page.evaluate(() => window.__played.map((s) => /\/audio\/([^?]+)/.exec(s)[1]));
    assert.deepEqual(playedKeys, ['self.done_show', ...[...n].map((d) => 'digit.' + d)], 'the sentence, then the digits, in order');
    assert.deepEqual(phone.errors, []);
  } finally { await phone.close(); }

  // In English nothing is recorded for the number: the done screen says so visibly (no silent button).
  const en = await launch({ viewport: { width: 360, height: 740 } });
  try {
    const p = en.page;
    await p.goto(`${hub.base}/#/predeclare/${PROC}`);
    await p.waitForSelector('form.oneq[data-step="1"]');
    await p.selectOption('[data-testid=self-lang]', 'en');
    await p.waitForFunction(() => document.documentElement.lang === 'en');
    await p.waitForSelector('form.oneq[data-step="1"]');
    assert.match(await p.textContent('[data-testid=ask-progress]'), /^Question 1 \/ \d+$/);
    assert.equal(await p.getAttribute('form.oneq', 'data-key'), 'requester.relationship');
    await p.click('[data-testid=ask-next]');
    await p.waitForFunction(() => document.querySelector('form.oneq').dataset.key === 'requester.full_name');
    await p.fill('[name="requester.full_name"]', 'Thị Lan');
    for (let i = 0; i < 40 && (await p.getAttribute('form.oneq', 'data-step')) !== 'review'; i++) {
      const k = await p.getAttribute('form.oneq', 'data-key');
      await p.click('[data-testid=ask-next]');
      await p.waitForFunction((x) => document.querySelector('form.oneq').dataset.key !== x, k);
    }
    await p.click('[data-testid=predeclare-send]');
    await p.waitForSelector('[data-testid=predeclare-number]');
    // "show this number" has a Vietnamese recording (marked VI); the digits have none in English or Vietnamese.
    assert.equal(await p.getAttribute('[data-testid=say-number]', 'data-audio-lang'), 'vi');
    assert.equal(await p.isVisible('[data-testid=say-number] .say-vi-mark'), true);
    const none = p.locator('[data-testid=say-number-row] [data-testid=audio-none]');
    assert.ok(await none.count() >= 1);
    assert.equal(await none.first().isVisible(), true);
    assert.match(await none.first().getAttribute('data-key'), /^digit\.\d$/);
    await shot(p, 'voice-08-done-number-en-unrecorded');
    assert.deepEqual(en.errors, []);
  } finally { await en.close(); }

  // The team: the waiting pre-declaration with the villager's language, taken as a draft.
  const team = await launch({ viewport: { width: 1000, height: 900 }, isMobile: false });
  try {
    const page = team.page;
    await login(page, hub.base, OFFICER);
    const row = page.locator('[data-testid=predeclaration]', { hasText: NAME });
    await row.waitFor();
    const badge = row.locator('[data-testid=predeclaration-lang]');
    assert.equal(await badge.getAttribute('data-lang'), 'stg');
    assert.equal(await badge.isVisible(), true);
    assert.match(await badge.textContent(), /Xtiêng/);
    await shot(page, 'voice-09-team-waiting-list');
    await row.locator('[data-testid=predeclaration-take]').click();
    await page.waitForFunction(() => /^#\/draft\//.test(location.hash));
    const draftId = await page.evaluate(() => decodeURIComponent(location.hash.split('/')[2]));
    const officer = await apiLogin(hub.base, OFFICER);
    const d = await officer('GET', `/api/v1/drafts/${draftId}`);
    assert.equal(d.body.fields['requester.full_name'], NAME);
    assert.equal(d.body.fields['requester.pin'], '070190012346');
    assert.equal(d.body.fields['subject.sex'], 'female');
    assert.equal(d.body.fields['subject.marital_status'], 'never_married');
    assert.deepEqual(team.errors, []);
  } finally { await team.close(); }
});
