// The field app on a 360×740 phone in Vietnamese (issue 17, items 3 and 4): room for the work.
//  - Every field page (home, outreach sessions, news, sync, each capture step, review, receipt): no
//    sideways scroll (scrollWidth ≤ innerWidth), a header of at most 64 px, every menu item reachable
//    (none cut off at the screen's edge; hidden ones open from a menu button).
//  - Every capture step of both procedures, walked as a volunteer would (whatever steps the catalogue has):
//    the step's first input is on screen without scrolling (above the sticky save bar), the save bar is
//    slim (≤ 56 px) and the step's "Tiếp" button is at most one screen of scrolling away.
//  - Sealing: "Niêm phong" shows the review the officer reads aloud, with nothing over it; the officer
//    confirms below it (read-back box, then "Niêm phong hồ sơ"), and the dossier is sealed.
// Prints a table of the figures (step, header, first input, Next button, save bar).
//
// Env as harness.mjs; E2E_CLIENT_FROM_DISK=1 serves client-web/ from disk through a small proxy in front
// of the hub (working on the client without rebuilding the hub, as e2e.test.mjs).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { startHub, launch, login, axeCheck, freePort, ARTIFACTS, REPO, SHARED, predeclareAnswer } from './harness.mjs';

const W = 360; const H = 740;
const HEADER_MAX = 64;
const BAR_MAX = 56;
const OFFICER = { name: 'canbo.lan', role: 'officer', password: 'Can-bo-2026!' };
const PROCS = ['marital-status-certificate', 'birth-residence-insurance'];
const rows = [];
let hub; let b; let base; const proxies = [];

// Serves client-web/ from disk and forwards everything else to the hub (same origin for the cookie).
function diskProxy(hubPort) {
  const root = path.join(REPO, 'client-web');
  const types = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.json': 'application/json' };
  return http.createServer((req, res) => {
    const p = decodeURIComponent(req.url.split('?')[0]);
    const f = path.join(root, p === '/' ? 'index.html' : p);
    if (req.method === 'GET' && !p.startsWith('/api/') && f.startsWith(root) && fs.existsSync(f) && fs.statSync(f).isFile()) {
      res.writeHead(200, { 'content-type': types[path.extname(f)] || 'application/octet-stream', 'cache-control': 'no-cache' });
      fs.createReadStream(f).pipe(res);
      return;
    }
    const up = http.request({ host: '127.0.0.1', port: hubPort, path: req.url, method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode, r.headers);
      r.pipe(res);
    });
    up.on('error', () => { res.writeHead(502); res.end(); });
    req.pipe(up);
  });
}

// The hub's address, or the proxy's with E2E_CLIENT_FROM_DISK=1.
async function served(h) {
  if (process.env.E2E_CLIENT_FROM_DISK !== '1') return h.base;
  const port = await freePort();
  const proxy = diskProxy(h.port);
  proxies.push(proxy);
  await new Promise((r) => proxy.listen(port, '127.0.0.1', r));
  return `http://127.0.0.1:${port}`;
}

before(async () => {
  hub = await startHub({ mode: 'field', users: [OFFICER], name: 'Trạm lưu động xã Phước Sơn' });
  base = await served(hub);
  b = await launch({ viewport: { width: W, height: H }, serviceWorkers: 'block' });
  await login(b.page, base, OFFICER);
});

after(async () => {
  if (rows.length) {
    const head = ['page / step', 'header', 'first input top', 'Tiếp top', 'scroll to Tiếp', 'save bar', 'width'];
    const table = [head, ...rows.map((r) => [r.name, r.header, r.first ?? '', r.next ?? '', r.scroll ?? '', r.bar ?? '', r.width])];
    const wid = head.map((_, i) => Math.max(...table.map((r) => String(r[i]).length)));
    const text = table.map((r) => r.map((c, i) => String(c).padEnd(wid[i])).join(' | ')).join('\n');
    console.log(`\nLayout at ${W}×${H} (vi), px:\n${text}\n`);
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    fs.writeFileSync(path.join(ARTIFACTS, 'layout.txt'), text + '\n');
  }
  if (b) await b.close();
  for (const p of proxies) p.close();
  if (hub) await hub.stop();
});

const view = (page, name) => page.screenshot({ path: path.join(ARTIFACTS, `layout-${name}.png`) }).catch(() => {});
const settle = (page) => page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));

async function open(page, hash) {
  await page.evaluate((x) => { location.hash = x; }, hash);
  await page.waitForFunction(() => document.querySelector('#app h1') && !document.querySelector('#app > .loading'));
  await settle(page);
}

// Header height, page width, and where the menu items are: each one either fully on screen, or hidden
// behind the menu button (then fully on screen once the menu is open). None half cut off at an edge.
async function navItems(page) {
  return page.evaluate(() => [...document.querySelectorAll('#nav a')].map((a) => {
    const r = a.getBoundingClientRect();
    const shown = r.width > 0 && r.height > 0;
    const why = [];
    if (shown) {
      if (r.left < -0.5 || r.right > innerWidth + 0.5 || r.top < -0.5 || r.bottom > innerHeight + 0.5) why.push('past the screen edge');
      for (let p = a.parentElement; p && p !== document.documentElement; p = p.parentElement) {
        const s = getComputedStyle(p);
        if (s.overflowX === 'visible' && s.overflowY === 'visible') continue;
        const q = p.getBoundingClientRect();
        if (r.left < q.left - 0.5 || r.right > q.right + 0.5 || r.top < q.top - 0.5 || r.bottom > q.bottom + 0.5) why.push(`cut off by ${p.tagName.toLowerCase()}#${p.id}`);
      }
      for (const s of a.querySelectorAll('span')) if (s.scrollWidth > s.clientWidth + 1) why.push('text cut short');
      const hit = document.elementFromPoint((Math.max(r.left, 0) + Math.min(r.right, innerWidth)) / 2, (r.top + r.bottom) / 2);
      if (!hit || !a.contains(hit)) why.push('covered');
    }
    return { name: a.dataset.testid, text: a.textContent.trim(), shown, why };
  }));
}

async function checkPage(page, name, extra = {}) {
  await settle(page);
  const f = await page.evaluate(() => ({
    header: Math.round(document.querySelector('#top').getBoundingClientRect().height),
    scrollWidth: document.scrollingElement.scrollWidth, innerWidth,
  }));
  rows.push({ name, header: f.header, width: `${f.scrollWidth}/${f.innerWidth}`, ...extra });
  // (A phone widens its layout viewport to content wider than the screen: innerWidth grows past 360.)
  assert.ok(f.scrollWidth <= f.innerWidth && f.innerWidth === W, `${name}: the page scrolls sideways (scrollWidth ${f.scrollWidth}, innerWidth ${f.innerWidth}, screen ${W})`);
  assert.ok(f.header <= HEADER_MAX, `${name}: the header takes ${f.header} px (at most ${HEADER_MAX})`);
  // The menu as it is at the top of the page.
  const y = await page.evaluate(() => { const v = scrollY; scrollTo(0, 0); return v; });
  await settle(page);
  const items = await navItems(page);
  assert.ok(items.length >= 5, `${name}: the menu lists the field pages (${items.length})`);
  for (const it of items) assert.deepEqual(it.why, [], `${name}: menu item "${it.text}" is ${it.why.join(', ')}`);
  const hidden = items.filter((it) => !it.shown);
  if (hidden.length) {
    // The rest is one tap away: the menu button opens all of it, and closes it again.
    const toggle = page.locator('[data-testid=menu-toggle]');
    assert.ok(await toggle.isVisible(), `${name}: ${hidden.map((x) => x.text).join(', ')} hidden, and no menu button`);
    await toggle.click();
    assert.equal(await toggle.getAttribute('aria-expanded'), 'true');
    for (const it of hidden) {
      await page.locator(`#nav [data-testid=${it.name}]`).scrollIntoViewIfNeeded();
      const now = (await navItems(page)).find((x) => x.name === it.name);
      assert.ok(now.shown, `${name}: "${it.text}" not shown with the menu open`);
      assert.deepEqual(now.why, [], `${name}: with the menu open, "${it.text}" is ${now.why.join(', ')}`);
    }
    await toggle.click();
    assert.equal(await toggle.getAttribute('aria-expanded'), 'false');
    assert.ok((await navItems(page)).every((x) => !x.shown || !hidden.some((z) => z.name === x.name)), `${name}: the menu closes`);
  }
  await page.evaluate((v) => scrollTo(0, v), y);
  return f;
}

test('every field page fits the width, with a short header and the whole menu reachable', async () => {
  const { page } = b;
  await open(page, '#/');
  await page.waitForSelector(`[data-testid=new-${PROCS[0]}]`);
  await view(page, 'home');
  await checkPage(page, 'home');
  // The menu open, as the officer sees it (and for axe-core).
  const toggle = page.locator('[data-testid=menu-toggle]');
  if (await toggle.isVisible()) {
    await toggle.click();
    await view(page, 'menu-open');
    await axeCheck(page, 'home with the menu open');
    // A menu item takes the officer there, and the menu closes.
    await page.click('[data-testid=nav-news]');
    await page.waitForFunction(() => location.hash === '#/news');
    assert.equal(await toggle.getAttribute('aria-expanded'), 'false');
  }
  for (const [hash, name] of [['#/sessions', 'outreach'], ['#/news', 'news'], ['#/sync', 'sync']]) {
    await open(page, hash);
    await view(page, name);
    await checkPage(page, name);
  }
  assert.deepEqual(b.errors, []);
});

// The villagers' pages on the same phone, with no login (issue 25, item 3): the guides, the pre-declaration and
// its done screen fit the width, and their own styles apply on a phone (the number to show is big and boxed:
// app.css once left a 60rem media block open, and every villager style needed a 960 px screen).
test("the villagers' pages (no login) fit the phone, with their own styles", async () => {
  const v = await launch({ viewport: { width: W, height: H }, serviceWorkers: 'block' });
  try {
    const page = v.page;
    const fits = async (name) => {
      await settle(page);
      const f = await page.evaluate(() => ({ header: Math.round(document.querySelector('#top').getBoundingClientRect().height),
        scrollWidth: document.scrollingElement.scrollWidth, innerWidth }));
      rows.push({ name, header: f.header, width: `${f.scrollWidth}/${f.innerWidth}` });
      assert.ok(f.scrollWidth <= f.innerWidth && f.innerWidth === W, `${name}: the page scrolls sideways (scrollWidth ${f.scrollWidth}, innerWidth ${f.innerWidth})`);
      assert.ok(f.header <= HEADER_MAX, `${name}: the header takes ${f.header} px`);
      await view(page, name.replace(/\W+/g, '-'));
    };
    // The front door (the hub's address for a visitor): the languages, then the three choices.
    await page.goto(`${base}/`);
    await page.waitForSelector('[data-testid=front-door][data-step=language]');
    await fits('villager front door');
    await page.click('[data-testid=front-lang][data-code=vi]');
    await page.waitForSelector('[data-testid=front-door][data-step=choose]');
    await fits('villager front door choices');
    await page.goto(`${base}/#/guides`);
    await page.waitForSelector('[data-testid=guide-row]');
    await fits('villager guides');
    for (const proc of PROCS) {
      await page.goto(`${base}/#/guides/${proc}`);
      await page.waitForSelector('[data-testid=guide]');
      await fits(`villager guide ${proc}`);
    }
    await page.goto(`${base}/#/predeclare/${PROCS[0]}`);
    await page.waitForSelector('form.oneq[data-step="1"]');
    await fits('villager pre-declaration');
    await predeclareAnswer(page, { 'requester.full_name': 'Điểu Thị Hạnh', 'requester.pin': '070190012345' }, { send: false });
    await fits('villager pre-declaration review');
    await page.click('[data-testid=predeclare-send]');
    await page.waitForSelector('[data-testid=predeclare-number]');
    await fits('villager number');
    const look = await page.evaluate(() => {
      const box = document.querySelector('[data-testid=predeclare-number]');
      const r = box.querySelector('.n').getBoundingClientRect();
      return { border: getComputedStyle(box).borderTopStyle, width: parseFloat(getComputedStyle(box).borderTopWidth),
        n: parseFloat(getComputedStyle(box.querySelector('.n')).fontSize), body: parseFloat(getComputedStyle(document.body).fontSize),
        onScreen: r.top >= 0 && r.bottom <= innerHeight };
    });
    assert.equal(look.border, 'solid', 'the number is boxed');
    assert.ok(look.width >= 2, `border ${look.width} px`);
    assert.ok(look.n >= 4 * look.body, `the number is ${look.n} px, body text ${look.body} px`);
    assert.ok(look.onScreen, 'the number is on the first screen');
    assert.deepEqual(v.errors, []);
  } finally { await v.close(); }
});

// On a laptop the pages stand in a row under the bar, every one of them in full (the office has the most).
test('on a laptop, the field and office headers show every page, none cut off', async () => {
  const CLERK = { name: 'vanthu.mai', role: 'clerk', password: 'Van-thu-2026!' };
  const office = await startHub({ mode: 'office', users: [CLERK], name: 'Ủy ban nhân dân xã Phước Sơn' });
  const wide = await launch({ viewport: { width: 1024, height: 768 }, isMobile: false, serviceWorkers: 'block' });
  try {
    for (const [url, user, name] of [[base, OFFICER, 'field'], [await served(office), CLERK, 'office']]) {
      await login(wide.page, url, user);
      await settle(wide.page);
      await wide.page.screenshot({ path: path.join(ARTIFACTS, `layout-laptop-${name}.png`) });
      assert.equal(await wide.page.isVisible('[data-testid=menu-toggle]'), false, `${name}: no menu button on a laptop`);
      assert.ok(await wide.page.isVisible('[data-testid=logout]'), `${name}: log out in view`);
      const items = await navItems(wide.page);
      assert.ok(items.length >= 6, `${name}: ${items.length} pages`);
      for (const it of items) {
        assert.ok(it.shown, `${name}: "${it.text}" shown`);
        assert.deepEqual(it.why, [], `${name}: "${it.text}" is ${it.why.join(', ')}`);
      }
      await wide.page.evaluate(() => fetch('/api/v1/logout', { method: 'POST' }).catch(() => {}));
      await wide.context.clearCookies();
    }
    assert.deepEqual(wide.errors, []);
  } finally { await wide.close(); await office.stop(); }
});

// What the volunteer sees on a step: the step's first input, the Next button, the sticky save bar.
async function stepFacts(page) {
  return page.evaluate(() => {
    const shown = (e) => { const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0; };
    const next = document.querySelector('[data-testid=step-next]');
    if (!next || !shown(next)) return { next: null }; // the review
    const step = [...document.querySelectorAll('.draft [data-group]')].find((s) => !s.hidden && shown(s));
    let first = [...step.querySelectorAll('input:not([type=hidden]), select, textarea')].find(shown) || null;
    // A photo's file input is the camera button (its label) on screen.
    if (first && first.type === 'file') first = document.querySelector(`label[for="${first.id}"]`);
    const bar = document.querySelector('.draft .actions');
    const br = bar.getBoundingClientRect();
    const nr = next.getBoundingClientRect();
    const fr = first ? first.getBoundingClientRect() : null;
    return {
      label: document.querySelector('[data-testid=step-label]').textContent.trim(),
      group: step.dataset.group,
      first: fr && { top: Math.round(fr.top), bottom: Math.round(fr.bottom), name: first.name || first.getAttribute('for') || '' },
      next: { top: Math.round(nr.top), bottom: Math.round(nr.bottom), docTop: Math.round(nr.top + scrollY) },
      bar: Math.round(br.height), barTop: Math.round(br.top),
      scrollHeight: document.scrollingElement.scrollHeight, innerHeight,
    };
  });
}

for (const proc of PROCS) {
  test(`every capture step of ${proc}: first input on screen, Next within one screen`, async () => {
    const { page } = b;
    await open(page, '#/');
    await page.click(`[data-testid=new-${proc}]`);
    await page.waitForSelector('[data-testid=step-label]');
    await page.waitForSelector('[data-testid=save-state][data-state="draft.saved"]');
    await settle(page);
    let i = 0;
    const problems = [];
    for (;;) {
      i++;
      const s = await stepFacts(page);
      if (!s.next) break; // the review: no Next
      const name = `${proc.split('-')[0]} ${i}: ${s.group}`;
      // Nothing on a step hides under the bar: what is visible ends where the bar begins.
      const visibleBottom = Math.min(s.innerHeight, s.barTop);
      const toNext = Math.max(0, s.next.bottom - (s.innerHeight - s.bar));
      await view(page, `${proc}-${i}`);
      await checkPage(page, name, { first: s.first && s.first.top, next: s.next.top, scroll: toNext, bar: s.bar });
      // Every step is measured (the table shows them all), then the test says what is wrong.
      if (!s.first) problems.push(`${name}: the step has no input`);
      else if (!(s.first.top >= 0 && s.first.bottom <= visibleBottom)) {
        problems.push(`${name}: the first input (${s.first.name}) is at ${s.first.top}–${s.first.bottom} px, not within 0–${visibleBottom} without scrolling`);
      }
      if (s.bar > BAR_MAX) problems.push(`${name}: the save bar takes ${s.bar} px (at most ${BAR_MAX})`);
      if (toNext > s.innerHeight) problems.push(`${name}: "Tiếp" needs ${toNext} px of scrolling (more than one screen, ${s.innerHeight})`);
      if (s.next.docTop >= s.scrollHeight) problems.push(`${name}: "Tiếp" lies outside the page`);
      await page.click('[data-testid=step-next]');
      await page.waitForFunction((l) => document.querySelector('[data-testid=step-label]').textContent.trim() !== l, s.label);
      await settle(page);
    }
    assert.ok(i > 3, `${proc}: walked ${i - 1} capture steps`);
    // The review (this draft is empty: the list of what is missing) fits the width too.
    await page.waitForSelector('[data-testid=review-errors]');
    await view(page, `${proc}-review`);
    await checkPage(page, `${proc.split('-')[0]} review`);
    assert.deepEqual(problems, [], `${proc}:\n${problems.join('\n')}`);
    assert.deepEqual(b.errors, []);
  });
}

// ---------- sealing ----------
const BY_KIND = {
  text: 'Ủy ban nhân dân xã Phước Sơn', name: 'Điểu Thị Hạnh', address: 'Thôn Bù Lư, xã Phước Sơn, tỉnh Đồng Nai',
  ethnicity: 'Xtiêng', nationality: 'Việt Nam', date: '1998-03-12', year_or_date: '1998-03-12', pin: '070198001234',
  phone: '0912345678', long_text: 'Bổ sung hồ sơ vay vốn ngân hàng chính sách xã hội', confirm: 'yes', sex: 'female',
};
const call = (page, method, p, body) => page.evaluate(async ([m, u, x]) => (await import('./lib.js')).api(m, u, x), [method, p, body]);

// A complete marital-status draft from whatever catalogue the hub serves, with the photos it needs.
async function completeDraft(page) {
  const { procedures } = await call(page, 'GET', '/api/v1/procedures');
  const def = procedures.find((p) => p.id === PROCS[0]);
  const fields = {};
  for (const f of def.groups.flatMap((g) => g.fields)) {
    const cond = f.required_if && fields[f.required_if.field] === f.required_if.equals;
    if (!(f.required || cond || f.default)) continue;
    fields[f.key] = f.default || (f.kind !== 'sex' && f.options && f.options.length ? f.options[0].value : BY_KIND[f.kind] || 'Phước Sơn');
  }
  if (fields['requester.relationship'] !== undefined) fields['requester.relationship'] = 'self';
  const d = await call(page, 'POST', '/api/v1/drafts', { procedure: { id: def.id, version: def.version }, fields });
  // Sent into the page as base64 (a 4 MB array of numbers took ~30 s to pass through the DevTools protocol).
  const photo = fs.readFileSync(path.join(SHARED, 'data/photos/to-khai-xac-nhan-hon-nhan.jpg')).toString('base64');
  for (const doc of (def.documents || []).filter((x) => x.required)) {
    const st = await page.evaluate(async ([id, role, b64]) => {
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const fd = new FormData();
      fd.append('role', role);
      fd.append('file', new Blob([bytes], { type: 'image/jpeg' }), role + '.jpg');
      const { state } = await import('./lib.js');
      return (await fetch(`/api/v1/drafts/${id}/attachments`, { method: 'POST', body: fd, headers: { 'x-csrf-token': state.csrf } })).status;
    }, [d.id, doc.role, photo]);
    assert.equal(st, 201);
  }
  return d;
}

test('sealing: the officer reads the whole review aloud, then confirms below it', async () => {
  const { page } = b;
  const d = await completeDraft(page);
  await open(page, `#/draft/${d.id}`);
  await page.click('[data-testid=seal]');
  await page.waitForSelector('[data-testid=review-ready], [data-testid=review-errors]');
  assert.ok(await page.isVisible('[data-testid=review-ready]'), `the draft is complete: ${await page.textContent('[data-testid=errors]')}`);
  await settle(page);
  // Nothing over the review: no dialog, the review's heading on screen.
  assert.equal(await page.locator('dialog[open]').count(), 0, '"Niêm phong" opens no dialog over the review');
  const head = await page.evaluate(() => {
    const r = document.querySelector('[data-testid=review] h2').getBoundingClientRect();
    return { top: Math.round(r.top), bottom: Math.round(r.bottom) };
  });
  assert.ok(head.top >= 0 && head.bottom <= H, `the review starts on screen (${head.top}–${head.bottom})`);
  await view(page, 'seal-review-top');
  // Every line of the review can be read in turn, nothing covering it.
  const covered = await page.evaluate(async () => {
    const bad = [];
    for (const kv of document.querySelectorAll('[data-testid=review] .kv')) {
      kv.scrollIntoView({ block: 'center' });
      await new Promise((r) => requestAnimationFrame(r));
      const r = kv.getBoundingClientRect();
      const hit = document.elementFromPoint(Math.min(r.left + 20, innerWidth - 1), (r.top + r.bottom) / 2);
      if (!hit || !kv.contains(hit)) bad.push(kv.textContent.trim().slice(0, 40));
    }
    return bad;
  });
  assert.deepEqual(covered, [], 'every line of the review is readable');
  // The confirmation follows the review: read back, then seal.
  const order = await page.evaluate(() => {
    const kvs = document.querySelectorAll('[data-testid=review] .kv');
    const box = document.querySelector('[data-testid=seal-readback]');
    return !!(box && kvs.length && (kvs[kvs.length - 1].compareDocumentPosition(box) & Node.DOCUMENT_POSITION_FOLLOWING));
  });
  assert.ok(order, 'the read-back box comes after the last line of the review');
  await page.locator('[data-testid=seal-confirm]').scrollIntoViewIfNeeded();
  await view(page, 'seal-confirm');
  await axeCheck(page, 'review with the seal confirmation');
  // Not read back yet: not sealed, the box says why.
  await page.click('[data-testid=seal-confirm]');
  await page.waitForSelector('[data-testid=seal-readback-error]:not([hidden])');
  assert.equal(await page.locator('#receipt-code').count(), 0, 'not sealed before the read-back');
  await page.check('[data-testid=seal-readback]');
  assert.equal(await page.isVisible('[data-testid=seal-readback-error]'), false);
  // A change after the read-back (back to a step, a name corrected): the review is drawn again and must be
  // read back again before sealing.
  let edited = null;
  for (let i = 0; i < 20 && !edited; i++) {
    await page.click('[data-testid=step-back]');
    edited = await page.evaluate(() => {
      const step = [...document.querySelectorAll('.draft [data-group]')].find((x) => !x.hidden);
      const input = [...step.querySelectorAll('input[data-kind=name]')].find((x) => x.value && x.getBoundingClientRect().height);
      return input ? input.name : null;
    });
  }
  assert.ok(edited, 'a step with a name typed in');
  await page.fill(`[name="${edited}"]`, 'Điểu Thị Hạnh Lan');
  while (await page.isVisible('[data-testid=step-next]')) await page.click('[data-testid=step-next]');
  await page.waitForFunction(() => /Điểu Thị Hạnh Lan/.test(document.querySelector('[data-testid=review]').textContent));
  await page.waitForSelector('[data-testid=review-ready]');
  assert.equal(await page.isChecked('[data-testid=seal-readback]'), false, 'read back again after a change');
  await page.check('[data-testid=seal-readback]');
  await page.click('[data-testid=seal-confirm]');
  await page.waitForSelector('#receipt-code', { timeout: 60000 });
  await view(page, 'receipt');
  await checkPage(page, 'receipt');
  assert.deepEqual(b.errors, []);
});
