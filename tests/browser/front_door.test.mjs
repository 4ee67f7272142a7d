// The villager's front door (issue 25): a phone at 360×740 on plain HTTP, nobody logged in, opens the hub's
// address and gets a page for villagers, not the login. Xtiêng is added and its self-name recorded (the admin
// API, as the languages page does); the villager listens to Xtiêng announcing itself (the audio really plays),
// sees "no recording" where a language has none, chooses Xtiêng, then reaches each of the three choices:
// the guides, a pre-declaration, a receipt's status (typed from a real slip). The small team link leads to
// the login; a phone a team member used keeps the login; an office hub keeps the login. axe, the Vietnamese
// screen scan and "no sideways scroll" on each page; screenshots in artifacts/front-*.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHub, launch, shot, axeCheck, scanVietnameseScreen, apiLogin, maritalDraft } from './harness.mjs';

const ADMIN = { name: 'quantri', role: 'admin', password: 'mat-khau-quan-tri' };
const OFFICER = { name: 'canbo.front', role: 'officer', password: 'Can-bo-front-2026' };
const PHONE = { width: 360, height: 740 };
const SELF = 'front.language_self_name';
const PROC = 'marital-status-certificate';

let hub; let receipt;

// A short tone recorded as WebM/Opus in Chromium (Web Audio → MediaRecorder): a real, playable recording.
async function recordTone(page) {
  const b64 = await page.evaluate(async () => {
    const ac = new AudioContext();
    await ac.resume();
    const osc = ac.createOscillator();
    osc.frequency.value = 440;
    const dest = ac.createMediaStreamDestination();
    osc.connect(dest);
    const rec = new MediaRecorder(dest.stream, { mimeType: 'audio/webm;codecs=opus' });
    const chunks = [];
    rec.ondataavailable = (e) => { if (e.data.size) chunks.push(e.data); };
    const done = new Promise((r) => { rec.onstop = r; });
    osc.start();
    rec.start();
    await new Promise((r) => setTimeout(r, 1200));
    rec.stop();
    await done;
    osc.stop();
    const bytes = new Uint8Array(await new Blob(chunks).arrayBuffer());
    let s = '';
    for (const x of bytes) s += String.fromCharCode(x);
    return btoa(s);
  });
  return Buffer.from(b64, 'base64');
}

before(async () => {
  hub = await startHub({ mode: 'field', users: [ADMIN, OFFICER] });
  const admin = await apiLogin(hub.base, ADMIN);
  const add = await admin('POST', '/api/v1/languages', { code: 'stg', native_name: 'Xtiêng', vi_name: 'Tiếng Xtiêng', en_name: 'Stieng', has_script: true });
  assert.equal(add.status, 201, JSON.stringify(add.body));
  // The recording, uploaded as the languages page does (PUT the bytes, session cookie and CSRF token).
  const login = await fetch(hub.base + '/api/v1/login', { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ name: ADMIN.name, password: ADMIN.password }) });
  const cookie = login.headers.get('set-cookie').split(';')[0];
  const { csrf_token: csrf } = await login.json();
  const b = await launch({ args: ['--autoplay-policy=no-user-gesture-required'] });
  let tone;
  try {
    await b.page.goto(hub.base + '/healthz');
    tone = await recordTone(b.page);
  } finally { await b.close(); }
  assert.ok(tone.length > 500, `a recording of ${tone.length} bytes`);
  const put = await fetch(`${hub.base}/api/v1/languages/stg/audio/${SELF}`, { method: 'PUT', body: tone,
    headers: { Cookie: cookie, 'X-CSRF-Token': csrf, 'Content-Type': 'audio/webm' } });
  assert.equal(put.status, 201, await put.text());
  // One choice's label recorded in Vietnamese only: the stand-in a Xtiêng villager hears.
  const putVi = await fetch(`${hub.base}/api/v1/languages/vi/audio/front.guides`, { method: 'PUT', body: tone,
    headers: { Cookie: cookie, 'X-CSRF-Token': csrf, 'Content-Type': 'audio/webm' } });
  assert.equal(putVi.status, 201, await putVi.text());
  // A sealed dossier, for the receipt lookup.
  const officer = await apiLogin(hub.base, OFFICER);
  const id = await maritalDraft(officer);
  const s = await officer('POST', `/api/v1/drafts/${id}/seal`, {});
  assert.equal(s.status, 201, JSON.stringify(s.body));
  const slip = await officer('GET', `/api/v1/receipts/${s.body.code}/slip`);
  receipt = { code: s.body.code, key: slip.body.tracking_key };
  assert.ok(receipt.key, 'the slip has a tracking key');
});

after(async () => { await hub?.stop(); });

async function noSideScroll(p, label) {
  const w = await p.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(w <= PHONE.width, `${label}: the page is ${w} px wide`);
}

// Every visible button and link in main is a big tap target (at least 44 px high).
async function bigTargets(p, label) {
  const small = await p.$$eval('main a, main button', (els) => els.filter((e) => e.offsetParent)
    .map((e) => [e.textContent.trim().slice(0, 30), Math.round(e.getBoundingClientRect().height)]).filter(([, hgt]) => hgt < 44));
  assert.deepEqual(small, [], `${label}: tap targets under 44 px`);
}

test("a villager opens the hub's address: languages by name and by ear, then three choices reaching their pages", async () => {
  const phone = await launch({ viewport: PHONE, args: ['--autoplay-policy=no-user-gesture-required'] });
  const p = phone.page;
  const audioRequests = [];
  p.on('request', (r) => { if (r.url().includes('/audio/') && r.method() === 'GET') audioRequests.push(r.url()); });
  try {
    await p.goto(hub.base + '/');
    const door = p.locator('[data-testid=front-door][data-step=language]');
    await door.waitFor();
    assert.equal(await p.locator('[data-testid=login-form]').count(), 0, 'not the login');
    assert.equal(new URL(p.url()).hash, '', 'the address itself, no redirect');
    assert.equal((await p.textContent('h1')).trim(), 'Chọn ngôn ngữ của bạn');
    // Every language the hub offers, by its own name.
    const rows = await p.$$eval('[data-testid=front-lang-row]', (rs) => rs.map((r) => [r.dataset.code, r.querySelector('[data-testid=front-lang] [lang]').textContent.trim()]));
    assert.deepEqual(rows, [['vi', 'Tiếng Việt'], ['en', 'English'], ['stg', 'Xtiêng']]);
    assert.equal(await p.getAttribute('[data-testid=front-lang][data-code=vi]', 'aria-pressed'), 'true', 'the language in use is marked');
    // Xtiêng has its recording: a listen button. Vietnamese and English have none: a visible mark, not silence.
    const listen = p.locator('[data-testid=front-lang-listen][data-code=stg]');
    assert.ok(await listen.isVisible());
    assert.equal(await p.locator('[data-testid=front-lang-listen]').count(), 1);
    for (const code of ['vi', 'en']) {
      const mark = p.locator(`[data-testid=front-lang-row][data-code=${code}] [data-testid=no-recording]`);
      assert.ok(await mark.isVisible(), `${code}: "no recording" shown`);
      assert.equal((await mark.textContent()).trim(), 'Chưa có ghi âm');
    }
    await noSideScroll(p, 'languages');
    await bigTargets(p, 'languages');
    await axeCheck(p, 'front door: languages');
    await scanVietnameseScreen(p, 'front door: languages');
    await shot(p, 'front-1-languages-360');

    // Xtiêng announces itself: the recording really plays.
    await listen.click();
    await p.waitForFunction(() => document.querySelector('[data-testid=audio-player]')?.ended, null, { timeout: 15000 });
    const played = await p.evaluate(() => {
      const a = document.querySelector('[data-testid=audio-player]');
      return { src: a.currentSrc, played: a.played.length ? a.played.end(0) : 0, duration: a.duration };
    });
    assert.match(played.src, /\/api\/v1\/languages\/stg\/audio\/front\.language_self_name\?v=[0-9a-f]{64}$/);
    assert.ok(played.played > 0.8, `played ${played.played} s of ${played.duration} s`);
    assert.ok(audioRequests.some((u) => u.includes('/languages/stg/audio/front.language_self_name')), 'the recording was fetched');

    // Chosen: the three choices, in Xtiêng (untranslated texts in Vietnamese, with the note).
    await p.click('[data-testid=front-lang][data-code=stg]');
    await p.waitForSelector('[data-testid=front-door][data-step=choose]');
    assert.equal(await p.evaluate(() => document.documentElement.lang), 'stg');
    assert.match(p.url(), /#\/front\/choose$/);
    const choices = await p.$$eval('[data-testid=front-choice]', (cs) => cs.map((c) => [c.dataset.choice, c.querySelector('a').getAttribute('href'), !!c.querySelector('a svg')]));
    assert.deepEqual(choices, [['guides', '#/guides', true], ['request', '#/front/request', true], ['receipt', '#/front/receipt', true]]);
    // Each choice says whether it can be heard: "what to bring" has its Vietnamese recording (a listen button
    // that plays it), the two others nothing yet: the "no recording" mark, not silence.
    const guidesListen = p.locator('[data-testid=front-choice][data-choice=guides] [data-testid=audio-play][data-audio-lang=vi]');
    assert.ok(await guidesListen.isVisible(), 'guides: the Vietnamese recording can be played');
    for (const c of ['request', 'receipt']) {
      assert.ok(await p.locator(`[data-testid=front-choice][data-choice=${c}] [data-testid=no-recording]`).isVisible(), `${c}: "no recording" shown`);
      assert.equal(await p.locator(`[data-testid=front-choice][data-choice=${c}] [data-testid=audio-play]:visible`).count(), 0);
    }
    await guidesListen.click();
    await p.waitForFunction(() => /\/languages\/vi\/audio\/front\.guides\b/.test(document.querySelector('[data-testid=audio-player]').currentSrc)
      && document.querySelector('[data-testid=audio-player]').ended, null, { timeout: 15000 });
    assert.ok(await p.locator('[data-testid=front-change-lang]').isVisible());
    await p.locator('[data-testid=lang-fallback-note]').waitFor();
    await noSideScroll(p, 'choices');
    await bigTargets(p, 'choices');
    await axeCheck(p, 'front door: choices');
    await shot(p, 'front-2-choices-stg-360');

    // 1. What to bring: the guides.
    await p.click('[data-testid=front-go-guides]');
    await p.waitForSelector('[data-testid=guide-list]');
    assert.match(p.url(), /#\/guides$/);
    await p.goBack();
    await p.waitForSelector('[data-testid=front-door][data-step=choose]');

    // 2. Fill in my request: the procedures, then the pre-declaration.
    await p.click('[data-testid=front-go-request]');
    await p.waitForSelector('[data-testid=front-door][data-step=request]');
    assert.ok(await p.locator(`[data-testid=front-procedure][data-procedure=${PROC}]`).isVisible());
    await noSideScroll(p, 'procedures');
    await axeCheck(p, 'front door: procedures');
    await shot(p, 'front-3-request-360');
    await p.click(`[data-testid=front-procedure][data-procedure=${PROC}] [data-testid=front-predeclare]`);
    // The pre-declaration (one form, or one question per screen).
    await p.waitForSelector(':is([data-testid=predeclare-send], [data-testid=ask-next]):visible');
    assert.match(p.url(), new RegExp(`#/predeclare/${PROC}$`));
    await p.goBack();
    await p.waitForSelector('[data-testid=front-door][data-step=request]');
    await p.goBack();
    await p.waitForSelector('[data-testid=front-door][data-step=choose]');

    // 3. See my receipt: typed from the slip, the receipt's status.
    await p.click('[data-testid=front-go-receipt]');
    await p.waitForSelector('[data-testid=front-receipt-form]');
    await noSideScroll(p, 'receipt lookup');
    await axeCheck(p, 'front door: receipt lookup');
    await shot(p, 'front-4-receipt-360');
    await p.fill('#front-code', receipt.code.replace(/-/g, ' '));
    await p.fill('#front-key', receipt.key);
    await p.click('[data-testid=front-receipt-go]');
    await p.waitForSelector('[data-testid=status-word]');
    assert.match(p.url(), /#\/r\//);
    assert.equal(await p.textContent('[data-testid=status-code]'), receipt.code);

    // Back to the start in Vietnamese; the small team link leads to the login.
    await p.goto(hub.base + '/#/front');
    await p.click('[data-testid=front-lang][data-code=vi]');
    await p.waitForSelector('[data-testid=front-door][data-step=choose]');
    await scanVietnameseScreen(p, 'front door: choices in Vietnamese');
    assert.deepEqual(await p.$$eval('[data-testid=front-choice] a', (as) => as.map((a) => a.textContent.trim())),
      ['Cần mang giấy tờ gì cho thủ tục', 'Khai trước hồ sơ của tôi', 'Xem biên nhận của tôi']);
    await shot(p, 'front-5-choices-vi-360');
    const team = p.locator('[data-testid=front-team-login]');
    assert.equal((await team.textContent()).trim(), 'Đăng nhập cho cán bộ');
    await team.click();
    await p.waitForSelector('[data-testid=login-form]');
    assert.match(p.url(), /#\/login$/);
    assert.deepEqual(phone.errors, []);
  } finally { await phone.close(); }
});

test('a phone a team member signed in on keeps the login at the address; their home after login', async () => {
  const phone = await launch({ viewport: PHONE });
  const p = phone.page;
  try {
    await p.goto(hub.base + '/#/login');
    await p.fill('[data-testid=login-name]', OFFICER.name);
    await p.fill('[data-testid=login-password]', OFFICER.password);
    await p.click('[data-testid=login-submit]');
    await p.waitForSelector('[data-testid=who]');
    await p.goto(hub.base + '/');
    await p.waitForSelector(`[data-testid=new-${PROC}]`);
    assert.equal(await p.locator('[data-testid=front-door]').count(), 0, 'signed in: the home, not the front door');
    // The session ends elsewhere (cookie gone): this phone was a team member's, the address opens the login.
    await p.context().clearCookies();
    await p.goto(hub.base + '/');
    await p.waitForSelector('[data-testid=login-form]');
    assert.equal(await p.locator('[data-testid=front-door]').count(), 0);
    // The front door stays one link away for a villager using this phone.
    await p.goto(hub.base + '/#/front');
    await p.waitForSelector('[data-testid=front-door][data-step=language]');
    assert.deepEqual(phone.errors, []);
  } finally { await phone.close(); }
});

test('an office hub keeps the login at its address', async () => {
  const office = await startHub({ mode: 'office', users: [{ name: 'vanthu', role: 'clerk', password: 'Van-thu-2026!' }] });
  const phone = await launch({ viewport: PHONE });
  try {
    await phone.page.goto(office.base + '/');
    await phone.page.waitForSelector('[data-testid=login-form]');
    assert.equal(await phone.page.locator('[data-testid=front-door]').count(), 0);
    assert.deepEqual(phone.errors, []);
  } finally { await phone.close(); await office.stop(); }
});
