// Retention warns before it deletes (issue 19): on a phone (360×740, Vietnamese) the field home's drafts list
// flags a draft the hub will delete soon with "Sẽ bị xoá ngày DD/MM", and shows nothing on a draft that is not
// due. Two field hubs: one with the defaults (a fresh draft is 30 days from deletion, the warning starts 5
// days before), one kept short (`--draft-retention-days 5`: a fresh draft is already in its warning period).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHub, launch, login, shot } from './harness.mjs';

const OFFICER = { name: 'canbo.an', role: 'officer', password: 'Can-bo-2026!' };
const PHONE = { width: 360, height: 740 };
let plain; let short; let b;

before(async () => {
  plain = await startHub({ mode: 'field', users: [OFFICER], name: 'Trạm Bù Lư' });
  short = await startHub({ mode: 'field', users: [OFFICER], name: 'Trạm Bình Tiến',
    args: ['--draft-retention-days', '5', '--draft-warning-days', '5'] });
  b = await launch({ viewport: PHONE });
});

after(async () => {
  if (b) await b.close();
  for (const x of [plain, short]) if (x) await x.stop();
});

async function apiLogin(base, user) {
  const r = await fetch(base + '/api/v1/login', { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ name: user.name, password: user.password }) });
  assert.equal(r.status, 200);
  const cookie = r.headers.get('set-cookie').split(';')[0];
  const { csrf_token: csrf } = await r.json();
  return async (method, p, body) => {
    const res = await fetch(base + p, { method, headers: { Cookie: cookie, 'X-CSRF-Token': csrf, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    assert.ok(res.ok, `${method} ${p}: ${res.status} ${text}`);
    return text ? JSON.parse(text) : null;
  };
}

async function draftFor(hub, name) {
  const api = await apiLogin(hub.base, OFFICER);
  const d = await api('POST', '/api/v1/drafts', { procedure: { id: 'marital-status-certificate', version: 1 }, fields: {} });
  await api('PUT', `/api/v1/drafts/${d.id}`, { fields: { 'subject.full_name': name }, version: d.version });
  return api;
}

// DD/MM of the day `days` from now in Vietnam (UTC+7).
function dayMonth(days) {
  const t = new Date(Date.now() + days * 86400000 + 7 * 3600000);
  return `${String(t.getUTCDate()).padStart(2, '0')}/${String(t.getUTCMonth() + 1).padStart(2, '0')}`;
}

test('a draft not due carries no deletion flag', async () => {
  const api = await draftFor(plain, 'Điểu Thị Hạnh');
  const { drafts } = await api('GET', '/api/v1/drafts');
  assert.equal(drafts[0].deleted_on, null);
  const { page } = b;
  await login(page, plain.base, OFFICER);
  await page.waitForSelector('[data-testid=draft-row]');
  assert.equal(await page.locator('[data-testid=draft-deleted-on]').count(), 0);
});

test('a draft in its warning period is flagged with the day it will be deleted', async () => {
  const api = await draftFor(short, 'Y Sơn Niê');
  const { drafts } = await api('GET', '/api/v1/drafts');
  assert.match(drafts[0].deleted_on, /^\d{4}-\d{2}-\d{2}$/);
  const { page } = b;
  await page.context().clearCookies();
  await login(page, short.base, OFFICER);
  const flag = page.locator('[data-testid=draft-row] [data-testid=draft-deleted-on]');
  await flag.waitFor();
  const text = (await flag.textContent()).trim();
  // The draft was changed just now: deleted 5 days from now (the day after, should midnight pass between).
  assert.ok([`Sẽ bị xoá ngày ${dayMonth(5)}`, `Sẽ bị xoá ngày ${dayMonth(5 + 1 / 24)}`].includes(text), text);
  assert.equal(text, text.normalize('NFC'));
  const w = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(w <= PHONE.width, `the page is ${w} px wide`);
  await flag.scrollIntoViewIfNeeded();
  await page.screenshot({ path: new URL('./artifacts/retention-draft-flag-vi-360.png', import.meta.url).pathname });
  await shot(page, 'retention-drafts-vi-360-full');
});
