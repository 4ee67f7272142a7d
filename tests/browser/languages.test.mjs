// Languages and audio prompts in the real UI: an admin adds Xtiêng, translates a procedure title, records a
// spoken prompt for it with the microphone (Chromium's fake device: a beep), switches the app to Xtiêng: the
// translated title shows, untranslated texts show in Vietnamese with a visible note, and the one-tap play
// button really plays the recording; the public guide pages work without logging in. axe on every page.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHub, launch, login, axeCheck, shot, sleep, navTo, predeclareAnswer, apiLogin } from './harness.mjs';

const ADMIN = { name: 'quantri', role: 'admin', password: 'mat-khau-quan-tri' };
const TITLE_VI = 'Cấp Giấy xác nhận tình trạng hôn nhân';
const TITLE_STG = 'Sơmbŏk ŭch tăp (Xtiêng)';
const PROC = 'marital-status-certificate';

let hub; let browser; let page;

before(async () => {
  hub = await startHub({ mode: 'field', users: [ADMIN] });
  browser = await launch({ args: ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', '--autoplay-policy=no-user-gesture-required'] });
  page = browser.page;
});

after(async () => {
  await browser?.close();
  await hub?.stop();
});

// Waits for the shared player to finish playing and reports what it played.
async function playedThrough() {
  await page.waitForFunction(() => {
    const p = document.querySelector('[data-testid=audio-player]');
    return p && (p.ended || p.currentTime > 0.5);
  }, null, { timeout: 15000 });
  await page.waitForFunction(() => document.querySelector('[data-testid=audio-player]').ended, null, { timeout: 15000 });
  return page.evaluate(() => {
    const p = document.querySelector('[data-testid=audio-player]');
    return { ended: p.ended, currentTime: p.currentTime, duration: p.duration, src: p.currentSrc };
  });
}

test('an added language with a recorded prompt plays back, with a visible Vietnamese fallback', async () => {
  await login(page, hub.base, ADMIN);
  await navTo(page, 'languages');
  await page.waitForSelector('[data-testid=language-form]');
  assert.equal(await page.$$eval('[data-testid=language-row]', (r) => r.length), 2, 'vi and en are built in');
  await axeCheck(page, 'languages list');

  // Add Xtiêng.
  await page.fill('[data-testid=lang-code]', 'stg');
  await page.fill('[data-testid=lang-native]', 'Xtiêng');
  await page.fill('[data-testid=lang-vi]', 'Tiếng Xtiêng');
  await page.fill('[data-testid=lang-en]', 'Stieng');
  await page.click('[data-testid=lang-submit]');
  await page.waitForSelector('[data-testid=key-list]');
  assert.match(page.url(), /#\/languages\/stg$/);
  assert.equal(await page.isVisible('[data-testid=mic-note] .banner'), false, 'localhost is a secure context: no microphone warning');
  await axeCheck(page, 'language page');

  // Find the procedure title among the catalogue texts and translate it.
  await page.selectOption('[data-testid=filter-group]', 'catalogue');
  await page.fill('[data-testid=filter-q]', TITLE_VI);
  const row = page.locator('[data-testid=key-row]').filter({ has: page.locator(`[data-testid=key-vi]:text-is("${TITLE_VI}")`) });
  await row.waitFor();
  await row.locator('[data-testid=key-text]').fill(TITLE_STG);
  await row.locator('[data-testid=key-save]').click();
  await row.locator('[data-testid=key-state]:has-text("Đã lưu bản dịch")').waitFor();

  // Record ~1.6 s, stop, listen to the new take, save.
  await row.locator('[data-testid=key-record]').click();
  await row.locator('[data-testid=key-stop]').waitFor();
  await sleep(1600);
  await row.locator('[data-testid=key-stop]').click();
  await row.locator('[data-testid=key-save-audio]').waitFor();
  await row.locator('[data-testid=key-save-audio]').click();
  await row.locator('[data-testid=key-state]:has-text("Đã lưu ghi âm")').waitFor();
  await row.locator('[data-testid=key-play]').waitFor();
  assert.match(await page.textContent('[data-testid=lang-counts]'), /Đã dịch 1\//);
  assert.match(await page.textContent('[data-testid=lang-counts]'), /Đã ghi âm 1\//);
  await shot(page, 'lang-01-recorded');

  // Switch the whole app to Xtiêng with the header's language menu.
  await page.selectOption('[data-testid=lang-menu]', 'stg');
  await page.waitForFunction(() => document.documentElement.lang === 'stg');
  // Untranslated screen texts show in Vietnamese, and the page says so (never a key name).
  const note = page.locator('[data-testid=lang-fallback-note]');
  await note.waitFor();
  assert.match(await note.textContent(), /^\d+ nội dung chưa được dịch sang Xtiêng; đang hiện bằng tiếng Việt\.$/);
  assert.equal((await page.textContent('[data-testid=nav-languages]')).trim(), 'Ngôn ngữ');
  await axeCheck(page, 'language page in Xtiêng');

  // The public guide list, in Xtiêng: the translated title, the untranslated purpose in Vietnamese.
  await page.goto(hub.base + '/#/guides');
  const card = page.locator(`[data-testid=guide-row][data-procedure=${PROC}]`);
  await card.waitFor();
  assert.equal((await card.locator('[data-testid=guide-link]').textContent()).trim(), TITLE_STG);
  assert.match(await card.textContent(), /Giấy xác nhận bạn đang độc thân/, 'untranslated purpose falls back to Vietnamese');
  await note.waitFor();
  assert.doesNotMatch(await page.textContent('body'), /\b(nav|lang|guides|guide|cat)\.[a-z_]+/, 'no key names on screen');
  await axeCheck(page, 'guide list in Xtiêng');
  await shot(page, 'lang-02-guides-stg');

  // One tap plays the Xtiêng recording.
  const play = card.locator('[data-testid=audio-play][data-audio-lang=stg]').first();
  assert.ok(await play.isVisible(), 'the recorded title has a play button');
  await play.click();
  const r = await playedThrough();
  console.log(`# played ${r.src.split('?')[0]}: duration ${r.duration.toFixed(2)} s, reached ${r.currentTime.toFixed(2)} s, ended ${r.ended}`);
  assert.ok(r.ended, 'reached the end');
  assert.ok(r.currentTime > 1, `played more than a second (${r.currentTime} s)`);
  assert.ok(r.duration > 1, `duration ${r.duration} s`);
  assert.match(r.src, /\/api\/v1\/languages\/stg\/audio\/cat\.[0-9a-f]{12}\?v=[0-9a-f]{64}$/);
  // Texts without any recording have no play button.
  assert.equal(await card.locator('[data-testid=audio-play]:visible').count(), 1);
  assert.deepEqual(browser.errors, [], 'no uncaught errors in the page');
});

test('the public guide works without logging in, in Vietnamese, with the documents to bring', async () => {
  const anon = await launch({ args: ['--autoplay-policy=no-user-gesture-required'] });
  try {
    const p = anon.page;
    await p.goto(hub.base + `/#/guides/${PROC}`);
    await p.waitForSelector('[data-testid=guide]');
    assert.equal((await p.textContent('h1')).trim(), TITLE_VI);
    assert.match(p.url(), new RegExp(`#/guides/${PROC}$`), 'not sent to the login page');
    const docs = await p.$$eval('[data-testid=guide-doc]', (els) => els.map((e) => e.dataset.role));
    // The papers of the version in force (catalogue v2: divorce and death papers are references the office
    // looks up; an earlier certificate comes back).
    assert.deepEqual(docs.sort(), ['authorisation_letter', 'id_document', 'other_papers', 'previous_certificate']);
    assert.match(await p.textContent('[data-testid=guide-doc][data-role=previous_certificate] [data-testid=guide-doc-need]'),
      /Chỉ cần khi: Giấy xác nhận tình trạng hôn nhân đã cấp trước đây là “Đã được cấp”\./);
    const time = await p.textContent('[data-testid=guide-time]');
    assert.match(time, /3 ngày làm việc/);
    assert.doesNotMatch(time, /23 ngày/, 'no 23-day limit: no legal source');
    assert.ok(await p.$$eval('[data-testid=guide-steps] li', (l) => l.length) >= 4);
    assert.equal(await p.getAttribute('[data-testid=guide-predeclare]', 'href'), `#/predeclare/${PROC}`);
    assert.equal(await p.isVisible('[data-testid=lang-fallback-note]'), false, 'Vietnamese needs no fallback note');
    // The Vietnamese page has no Vietnamese recording yet: no play buttons.
    assert.equal(await p.locator('[data-testid=audio-play]:visible').count(), 0);
    await axeCheck(p, 'guide page (public)');
    await shot(p, 'lang-03-guide-public');
    assert.deepEqual(anon.errors, []);
  } finally { await anon.close(); }
});

test("the pre-declaration's language menu names Xtiêng, and the team's waiting list says the villager's language", async () => {
  // Issue 25, items 2 and 5: the menu showed the raw code "stg"; the team's list left the language out.
  const villager = await launch({ viewport: { width: 360, height: 740 } });
  try {
    const p = villager.page;
    await p.goto(hub.base + `/#/predeclare/${PROC}`);
    await p.waitForSelector('form.oneq[data-step="1"]');
    const options = await p.$$eval('[data-testid=self-lang] option', (os) => os.map((o) => [o.value, o.textContent.trim()]));
    assert.deepEqual(options, [['vi', 'Tiếng Việt'], ['en', 'English'], ['stg', 'Xtiêng']], 'each language by its own name');
    await p.selectOption('[data-testid=self-lang]', 'stg');
    await p.waitForFunction(() => document.documentElement.lang === 'stg');
    await p.waitForSelector('form.oneq[data-step="1"]');
    // Chosen, the menu still names it (the page re-rendered in Xtiêng).
    assert.equal(await p.$eval('[data-testid=self-lang]', (s) => s.selectedOptions[0].textContent.trim()), 'Xtiêng');
    // The "not yet translated" note is not in Xtiêng yet: it says it in signs too (Xtiêng → Tiếng Việt, how many).
    const pict = p.locator('[data-testid=lang-fallback-pict]');
    await pict.waitFor();
    assert.equal((await pict.innerText()).replace(/\s+/g, ' ').trim(), `Xtiêng → Tiếng Việt ${/^(\d+) /.exec(await p.textContent('[data-testid=lang-fallback-note]'))[1]}`);
    assert.equal(await p.getAttribute('[data-testid=lang-fallback-note]', 'lang'), 'vi', 'the sentence is marked as Vietnamese');
    assert.equal(await p.locator('#lang-note [data-testid=audio-play]').count(), 0, 'nothing recorded: no listen button');
    await p.screenshot({ path: new URL('./artifacts/lang-05-note-signs-360.png', import.meta.url).pathname });
    await predeclareAnswer(p, { 'requester.full_name': 'Điểu Thị Mai', 'requester.pin': '070190012346' });
    await p.waitForSelector('[data-testid=predeclare-number]');
    assert.deepEqual(villager.errors, []);
  } finally { await villager.close(); }

  // The team's home: the waiting pre-declaration names the villager's language, by name.
  const list = await page.evaluate(async () => (await (await fetch('/api/v1/predeclarations')).json()).predeclarations);
  assert.equal(list.find((x) => x.title === 'Điểu Thị Mai').lang, 'stg');
  await page.goto(hub.base + '/#/');
  const row = page.locator('[data-testid=predeclaration]', { hasText: 'Điểu Thị Mai' });
  await row.waitFor();
  const badge = row.locator('[data-testid=predeclaration-lang]');
  assert.equal(await badge.getAttribute('data-lang'), 'stg');
  assert.equal(await badge.isVisible(), true);
  assert.equal((await badge.locator('[lang=stg]').textContent()).trim(), 'Xtiêng (Tiếng Xtiêng)', 'its own name and its Vietnamese name, not the code');
  assert.doesNotMatch(await badge.textContent(), /\bstg\b/);
  // Said to a screen reader with what it is.
  assert.match(await badge.textContent(), /^Ngôn ngữ người dân dùng: Xtiêng/);
  await axeCheck(page, 'waiting pre-declarations with their language');
  await shot(page, 'lang-04-waiting-with-language');
  assert.deepEqual(browser.errors, [], 'no uncaught errors in the page');
});

test('the "not yet translated" note in Xtiêng, with its recording, on a villager\'s phone', async () => {
  // Issue 25, item 4: the note was Vietnamese only. Translated and recorded, it speaks the villager's language.
  const NOTE_STG = '{n} (Xtiêng) ơt geh {lang}; tiếng Việt.';
  await page.goto(hub.base + '/#/languages/stg');
  await page.waitForSelector('[data-testid=key-list]');
  await page.fill('[data-testid=filter-q]', 'chưa được dịch sang');
  const row = page.locator('[data-testid=key-row][data-key="lang.fallback_note"]');
  await row.waitFor();
  await row.locator('[data-testid=key-text]').fill(NOTE_STG);
  await row.locator('[data-testid=key-save]').click();
  await row.locator('[data-testid=key-state]:has-text("Đã lưu bản dịch")').waitFor();
  await row.locator('[data-testid=key-record]').click();
  await row.locator('[data-testid=key-stop]').waitFor();
  await sleep(1600);
  await row.locator('[data-testid=key-stop]').click();
  await row.locator('[data-testid=key-save-audio]').click();
  await row.locator('[data-testid=key-state]:has-text("Đã lưu ghi âm")').waitFor();

  const villager = await launch({ viewport: { width: 360, height: 740 }, args: ['--autoplay-policy=no-user-gesture-required'] });
  try {
    const p = villager.page;
    await p.goto(hub.base + `/#/predeclare/${PROC}`);
    await p.waitForSelector('form.oneq[data-step="1"]');
    await p.selectOption('[data-testid=self-lang]', 'stg');
    await p.waitForFunction(() => document.documentElement.lang === 'stg');
    const note = p.locator('[data-testid=lang-fallback-note]');
    await note.waitFor();
    const text = await note.textContent();
    assert.match(text, /^\d+ \(Xtiêng\) ơt geh Xtiêng; tiếng Việt\.$/, 'the note in Xtiêng');
    assert.equal(await note.getAttribute('lang'), 'stg');
    assert.equal(await p.locator('[data-testid=lang-fallback-pict]').count(), 0, 'translated: no signs needed');
    const listen = p.locator('#lang-note [data-testid=audio-play]');
    await listen.waitFor();
    assert.equal(await listen.getAttribute('data-audio-lang'), 'stg');
    assert.equal(await listen.getAttribute('data-key'), 'lang.fallback_note');
    await axeCheck(p, 'pre-declaration in Xtiêng with the spoken note');
    await p.screenshot({ path: new URL('./artifacts/lang-06-note-stg-360.png', import.meta.url).pathname });
    await listen.click();
    await p.waitForFunction(() => document.querySelector('[data-testid=audio-player]')?.ended, null, { timeout: 15000 });
    const src = await p.evaluate(() => document.querySelector('[data-testid=audio-player]').currentSrc);
    assert.match(src, /\/api\/v1\/languages\/stg\/audio\/lang\.fallback_note\?v=[0-9a-f]{64}$/);
    assert.deepEqual(villager.errors, []);
  } finally { await villager.close(); }
});

// ---------- issue 25, item 6: recordings from a phone's file picker, and the recording plan ----------

// A real WAV written here: 16 kHz mono 16-bit PCM, a 440 Hz tone of `seconds`.
function wavBytes(seconds = 1) {
  const n = Math.round(16000 * seconds);
  const b = Buffer.alloc(44 + 2 * n);
  b.write('RIFF', 0); b.writeUInt32LE(36 + 2 * n, 4); b.write('WAVEfmt ', 8); b.writeUInt32LE(16, 16);
  b.writeUInt16LE(1, 20); b.writeUInt16LE(1, 22); b.writeUInt32LE(16000, 24); b.writeUInt32LE(32000, 28);
  b.writeUInt16LE(2, 32); b.writeUInt16LE(16, 34); b.write('data', 36); b.writeUInt32LE(2 * n, 40);
  for (let i = 0; i < n; i++) b.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / 16000)), 44 + 2 * i);
  return b;
}

// A real MP3 built by hand (no encoder on this machine): an ID3v2.4 tag, then `frames` MPEG-1 layer III
// frames at 32 kbit/s, 32 kHz, mono (144 bytes, 36 ms each) whose zero side information decodes as silence.
function mp3Bytes(frames = 40) {
  const tag = Buffer.from([0x49, 0x44, 0x33, 4, 0, 0, 0, 0, 0, 10, ...new Array(10).fill(0)]);
  const frame = Buffer.alloc(144);
  frame.set([0xFF, 0xFB, 0x18, 0xC4]);
  return Buffer.concat([tag, ...new Array(frames).fill(frame)]);
}

test("the recording plan lists villagers' pages first; MP3 and WAV from the file picker are saved and play (360×740)", async () => {
  // Xtiêng, added by the first test; added here when this test runs alone.
  const call = await apiLogin(hub.base, ADMIN);
  if ((await call('GET', '/api/v1/languages/stg')).status === 404) {
    assert.equal((await call('POST', '/api/v1/languages', { code: 'stg', native_name: 'Xtiêng', vi_name: 'Tiếng Xtiêng', en_name: 'Stieng', has_script: true })).status, 201);
  }
  const team = await launch({ viewport: { width: 360, height: 740 }, args: ['--autoplay-policy=no-user-gesture-required'] });
  try {
    const p = team.page;
    await login(p, hub.base, ADMIN);
    await p.goto(hub.base + '/#/languages/stg');
    await p.waitForSelector('[data-testid=lang-plan] [data-testid=plan-page]');
    const keys = await p.evaluate(async () => (await (await fetch('/api/v1/languages/stg/keys')).json()).keys);
    const villager = keys.filter((k) => k.audience === 'villager');
    const PAGES = ['front', 'guides', 'predeclare', 'status', 'slip'];

    // The plan: each villagers' page with its count and two progress bars, from the hub's own list.
    const plan = await p.$$eval('[data-testid=plan-page]', (ls) => ls.map((l) => {
      const bar = (id) => { const b = l.querySelector(`[data-testid=${id}]`); return b ? [Number(b.value), Number(b.max)] : null; };
      return { page: l.dataset.page, n: Number(l.dataset.n), label: l.querySelector('[data-testid=plan-page-n]').textContent, rec: bar('plan-recorded'), tr: bar('plan-translated') };
    }));
    assert.deepEqual(plan.map((x) => x.page), PAGES, 'in the order a villager meets them');
    for (const x of plan) {
      const ks = villager.filter((k) => k.page === x.page);
      assert.ok(ks.length > 0, `${x.page}: texts to record`);
      assert.equal(x.n, ks.length, x.page);
      assert.equal(x.label, `${ks.length} nội dung`);
      assert.deepEqual(x.rec, [ks.filter((k) => k.audio).length, ks.length], `${x.page}: recorded / total`);
      assert.deepEqual(x.tr, [ks.filter((k) => k.text).length, ks.length], `${x.page}: translated / total`);
    }
    const total = Number(await p.getAttribute('[data-testid=plan-total]', 'data-n'));
    const minutes = Math.ceil((total * 5) / 60);
    assert.equal(total, villager.length);
    assert.ok(total < keys.length / 2, `${total} of ${keys.length}: far fewer than every text`);
    assert.match(await p.textContent('[data-testid=plan-total]'), new RegExp(`^Người dân nghe ${total} nội dung: ghi âm hết mất khoảng ${minutes} phút`));
    console.log(`villager-facing texts: ${total} of ${keys.length} (${plan.map((x) => `${x.page} ${x.n}`).join(', ')}), at 5 s each ≈ ${minutes} min`);

    // For a session doing one procedure: its guide and form texts, and the shared screens', only.
    const PROC_ONE = 'marital-status-certificate';
    await p.click('[data-testid=plan-procedures-summary]');
    await p.check(`[data-testid=plan-procedure][value="${PROC_ONE}"]`);
    const one = villager.filter((k) => !k.procedures.length || k.procedures.includes(PROC_ONE));
    assert.ok(villager.some((k) => k.procedures.length && !k.procedures.includes(PROC_ONE)), 'other procedures\' texts exist');
    await p.waitForFunction((n) => document.querySelector('[data-testid=plan-total]').dataset.n === String(n), one.length);
    assert.equal(await p.locator('[data-testid=key-row]').count(), one.length, 'the list follows the choice');
    assert.match(await p.textContent('[data-testid=plan-procedures-summary]'), /Đã chọn 1 thủ tục/);
    const oneMin = Math.ceil((one.length * 5) / 60);
    console.log(`villager-facing texts for one procedure (${PROC_ONE}): ${one.length}, at 5 s each ≈ ${oneMin} min`);
    await p.locator('[data-testid=lang-plan]').screenshot({ path: new URL('./artifacts/lang-07d-plan-one-procedure-360.png', import.meta.url).pathname });
    await p.uncheck(`[data-testid=plan-procedure][value="${PROC_ONE}"]`);
    await p.waitForFunction((n) => document.querySelector('[data-testid=plan-total]').dataset.n === String(n), villager.length);

    // The list: "only what villagers hear" is on; their pages come first, each under its heading and count.
    assert.equal(await p.isChecked('[data-testid=filter-villager]'), true);
    const groups = await p.$$eval('[data-testid=page-group]', (gs) => gs.map((g) => [g.dataset.page, g.querySelectorAll('[data-testid=key-row]').length]));
    assert.deepEqual(groups, plan.map((x) => [x.page, x.n]));
    const rows = await p.$$eval('[data-testid=key-row]', (rs) => rs.map((r) => r.dataset.key));
    assert.deepEqual(rows, PAGES.flatMap((pg) => villager.filter((k) => k.page === pg).map((k) => k.key)), 'only the texts villagers hear');
    assert.equal(await p.isVisible('[data-testid=team-texts]'), false, 'the team\'s screens are filtered out');
    await axeCheck(p, 'languages page with the recording plan');
    assert.ok(await p.evaluate(() => document.documentElement.scrollWidth <= 360), 'nothing wider than the phone');
    await p.screenshot({ path: new URL('./artifacts/lang-07-plan-360.png', import.meta.url).pathname });
    await p.locator('[data-testid=lang-plan]').screenshot({ path: new URL('./artifacts/lang-07b-plan-card-360.png', import.meta.url).pathname });
    await p.locator('[data-testid=page-group][data-page=guides] > h2').scrollIntoViewIfNeeded();
    await p.screenshot({ path: new URL('./artifacts/lang-07c-page-heading-360.png', import.meta.url).pathname });

    // The file picker takes exactly the formats the hub takes.
    const file = p.locator('[data-testid=key-row][data-key="self.send"] [data-testid=key-file]');
    const accept = (await file.getAttribute('accept')).split(',');
    for (const a of ['.m4a', '.mp3', '.wav', '.webm', '.ogg', 'audio/mpeg', 'audio/wav', 'audio/mp4', 'audio/webm', 'audio/ogg']) assert.ok(accept.includes(a), a);
    assert.ok(!accept.includes('audio/*'), 'not any audio');
    assert.match(await p.textContent('[data-testid=file-formats]'), /M4A, MP3, WAV, WebM, Ogg/);

    // MP3 and WAV through the real file picker, saved, played back in full, served as what they are.
    const uploads = [
      ['self.send', 'ghi-am.mp3', 'audio/mpeg', mp3Bytes(40), 'audio/mpeg'],
      ['self.done_show', 'ghi-am.wav', 'audio/wav', wavBytes(1), 'audio/wav'],
    ];
    for (const [key, name, declared, bytes, served] of uploads) {
      const row = p.locator(`[data-testid=key-row][data-key="${key}"]`);
      await row.scrollIntoViewIfNeeded();
      await row.locator('[data-testid=key-file]').setInputFiles({ name, mimeType: declared, buffer: bytes });
      await row.locator('[data-testid=key-save-audio]').click();
      await row.locator('[data-testid=key-state]:has-text("Đã lưu ghi âm")').waitFor();
      await row.locator('[data-testid=key-play]').click();
      await p.waitForFunction(() => document.querySelector('[data-testid=audio-player]')?.ended, null, { timeout: 15000 });
      const played = await p.evaluate(() => { const a = document.querySelector('[data-testid=audio-player]'); return { src: a.currentSrc, duration: a.duration, error: a.error && a.error.code }; });
      assert.equal(played.error, null, `${name} decoded`);
      assert.match(played.src, new RegExp(`/api/v1/languages/stg/audio/${key.replace('.', '\\.')}\\?v=[0-9a-f]{64}$`));
      assert.ok(played.duration > 0.9 && played.duration < 2, `${name}: ${played.duration} s played`);
      const head = await p.evaluate(async (u) => { const r = await fetch(u); return [r.headers.get('content-type'), (await r.arrayBuffer()).byteLength]; }, played.src);
      assert.deepEqual(head, [served, bytes.length], `${name} stored as it came`);
    }
    // The plan counts them: two more recorded on the pre-declaration.
    const pre = p.locator('[data-testid=plan-page][data-page=predeclare] [data-testid=plan-recorded]');
    const before = plan.find((x) => x.page === 'predeclare').rec[0];
    assert.equal(Number(await pre.getAttribute('value')), before + 2);

    // A photo renamed "ghi-am.mp3": refused by its bytes, the accepted formats said.
    const jpeg = Buffer.concat([Buffer.from([0xFF, 0xD8, 0xFF, 0xE0, 0, 16, 0x4A, 0x46, 0x49, 0x46, 0]), Buffer.alloc(3000, 7)]);
    const row = p.locator('[data-testid=key-row][data-key="self.intro"]');
    await row.locator('[data-testid=key-file]').setInputFiles({ name: 'ghi-am.mp3', mimeType: 'audio/mpeg', buffer: jpeg });
    await row.locator('[data-testid=key-save-audio]').click();
    const refused = row.locator('[data-testid=key-state].err');
    await refused.waitFor();
    assert.match(await refused.textContent(), /M4A, MP3, WAV, WebM \(Opus\), Ogg \(Opus\)/);
    await row.scrollIntoViewIfNeeded();
    await p.screenshot({ path: new URL('./artifacts/lang-08-file-refused-360.png', import.meta.url).pathname });

    // Unticked: the office's and team's screens follow, folded, with their count.
    await p.uncheck('[data-testid=filter-villager]');
    const folded = p.locator('[data-testid=team-texts]');
    await folded.waitFor();
    assert.equal(await folded.evaluate((d) => d.open), false);
    assert.equal(await folded.locator('[data-testid=key-row]').count(), 0);
    const teamN = keys.length - villager.length;
    assert.equal((await p.textContent('[data-testid=team-summary]')).trim(), `Màn hình của văn phòng và nhóm: ${teamN} nội dung`);
    assert.ok(await p.evaluate(() => {
      const last = [...document.querySelectorAll('[data-testid=page-group]')].pop();
      return !!(last.compareDocumentPosition(document.querySelector('[data-testid=team-texts]')) & Node.DOCUMENT_POSITION_FOLLOWING);
    }), 'after the villagers\' pages');
    await p.click('[data-testid=team-summary]');
    await folded.locator('[data-testid=key-row]').first().waitFor();
    assert.equal(await folded.locator('[data-testid=key-row]').count(), Math.min(40, teamN));
    assert.deepEqual(await folded.locator('[data-testid=key-row]').evaluateAll((rs) => rs.map((r) => r.dataset.key)),
      keys.filter((k) => k.audience === 'team').slice(0, 40).map((k) => k.key), 'the team\'s texts, in the hub\'s order');
    assert.deepEqual(team.errors, []);
  } finally { await team.close(); }
});
