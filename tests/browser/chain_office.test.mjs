// Two copies of one field hub's card (issue 23, protocol §6.2, §11.4.2–11.4.3), on real hubs: copy A and
// copy B share the device key and each seal one dossier as seq 1, with the same receipt code. A syncs, then
// B: the office sets B's envelope aside as an equivocation and pauses the device; B numbers its dossier
// again after the office's head in the same sync, and the office stores it once under a relinked receipt
// code. Looked at as their users would, at 360×740 in Vietnamese: the clerk's quarantine (the dossier held
// at seq 1 beside the one set aside, and where it went), the clerk's devices page (the pause, and "Allow
// sealing again"), and the villager's receipt status on B (the new code). Both copies refuse to seal while
// paused; approving the device lifts it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startHub, launch, login, axeCheck, scanVietnameseScreen, shot, hubCli, apiLogin, maritalDraft, sleep } from './harness.mjs';

const OFFICER = { name: 'canbo.lan', role: 'officer', password: 'Can-bo-2026!' };
const CLERK = { name: 'vanthu.hoa', role: 'clerk', password: 'Van-thu-2026!' };
const PHONE = { viewport: { width: 360, height: 740 } };
let office; let a; let b;

before(async () => {
  office = await startHub({ mode: 'office', users: [CLERK], name: 'UBND xã Phước Minh' });
  a = await startHub({ mode: 'field', users: [OFFICER], name: 'Trạm Bù Lư', args: ['--sync', 'off', '--office-url', office.base] });
  b = await startHub({ mode: 'field', users: [OFFICER], name: 'Trạm Bù Lư', seedHex: a.deviceSeedHex,
    args: ['--sync', 'off', '--office-url', office.base] });
  const officeCard = path.join(office.dataDir, 'office.pub');
  const fieldCard = path.join(a.dataDir, 'field.pub');
  fs.writeFileSync(officeCard, hubCli(['key', 'show', '--data', office.dataDir]));
  fs.writeFileSync(fieldCard, hubCli(['key', 'show', '--data', a.dataDir]));
  hubCli(['trust', '--data', office.dataDir, fieldCard]);
  hubCli(['trust', '--data', a.dataDir, officeCard]);
  hubCli(['trust', '--data', b.dataDir, officeCard]);
});
after(async () => { for (const x of [a, b, office]) if (x) await x.stop(); });

// "Sync now" on a field hub (its API), then waits for the run to end; the run's status.
async function syncNow(hub) {
  const api = await apiLogin(hub.base, OFFICER);
  const run = await api('POST', '/api/v1/upload/run');
  assert.equal(run.status, 202, JSON.stringify(run.body));
  const until = Date.now() + 60000;
  for (;;) {
    await sleep(300);
    const s = (await api('GET', '/api/v1/upload/status')).body;
    if (!s.progress.running && (s.progress.last_success_at || s.progress.last_error)) return s;
    if (Date.now() > until) throw new Error(`the sync never ended:\n${hub.log().slice(-3000)}`);
  }
}

test('two copies of one card: the clerk sees both dossiers side by side and the pause; the villager the new code', async () => {
  const apiA = await apiLogin(a.base, OFFICER);
  const apiB = await apiLogin(b.base, OFFICER);
  const sealA = await apiA('POST', `/api/v1/drafts/${await maritalDraft(apiA)}/seal`, {});
  const sealB = await apiB('POST', `/api/v1/drafts/${await maritalDraft(apiB)}/seal`, {});
  assert.equal(sealA.status, 201, JSON.stringify(sealA.body));
  assert.equal(sealB.status, 201, JSON.stringify(sealB.body));
  assert.equal(sealA.body.seq, 1);
  assert.equal(sealB.body.seq, 1);
  assert.equal(sealA.body.code, sealB.body.code, 'the copies hand out the same receipt code');
  const code = sealB.body.code;

  const sa = await syncNow(a);
  assert.equal(sa.progress.last_error, null, JSON.stringify(sa.progress));
  const sb = await syncNow(b);
  assert.equal(sb.progress.last_error, null, JSON.stringify(sb.progress));
  // B's dossier now travels as seq 2.
  const mine = (await apiB('GET', '/api/v1/dossiers')).body.dossiers[0];
  assert.equal(mine.seq, 2, JSON.stringify(mine));

  const phone = await launch(PHONE);
  const { page } = phone;
  try {
    // The clerk's quarantine: the equivocation, settled by the office itself, with both dossiers.
    await login(page, office.base, CLERK);
    await page.goto(`${office.base}/#/office/quarantine`);
    const item = page.locator('[data-testid=quarantine-item][data-reason=equivocation]');
    await item.waitFor();
    assert.match(await item.textContent(), /thẻ nhớ của trạm đã được khôi phục từ bản sao lưu cũ, hoặc bị sao chép/);
    const held = item.locator('[data-testid=side-held]');
    const again = item.locator('[data-testid=side-rechained]');
    assert.match(await held.textContent(), new RegExp(code));
    assert.match(await again.textContent(), /Cùng hồ sơ, trạm gửi lại với số 2/);
    assert.match(await again.textContent(), new RegExp(`Mã đã cấp cho người dân${code}`));
    assert.match(await item.locator('[data-testid=resolution]').textContent(), /Văn phòng tự xử lý/);
    await scanVietnameseScreen(page, 'office quarantine, two copies');
    await axeCheck(page, 'office quarantine, two copies');
    await shot(page, 'chain-office-quarantine');
    const wide = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(wide <= 360, `no sideways scroll (${wide} px)`);

    // The devices page: paused, with the button that lifts it.
    await page.goto(`${office.base}/#/office/devices`);
    const paused = page.locator('[data-testid=device-paused]');
    await paused.waitFor();
    assert.match(await paused.textContent(), /Đã tạm dừng niêm phong: hai máy dùng cùng một thẻ nhớ/);
    await scanVietnameseScreen(page, 'office devices, paused');
    await axeCheck(page, 'office devices, paused');
    await shot(page, 'chain-office-device-paused');

    // The villager's receipt status on B: the new code first.
    const slip = (await apiB('GET', `/api/v1/receipts/${code}/slip`)).body;
    await page.goto(`${b.base}/#/r/${code}?k=${slip.tracking_key}`);
    const told = page.locator('[data-testid=status-recorded-as]');
    await told.waitFor();
    assert.match(await told.textContent(), /Văn phòng xã ghi hồ sơ của bạn với mã biên nhận mới: \d{4}-\d{4}-\d{4}-\d{2} Hãy dùng mã này/);
    assert.doesNotMatch(await told.textContent(), new RegExp(code));
    await scanVietnameseScreen(page, 'receipt status, relinked code');
    await axeCheck(page, 'receipt status, relinked code');
    await shot(page, 'chain-office-villager-new-code');

    // Both copies learn of the pause at their next sync and refuse to seal; approving lifts it.
    for (const [hub, api] of [[a, apiA], [b, apiB]]) {
      await syncNow(hub);
      const st = (await api('GET', '/api/v1/status')).body;
      assert.equal(st.chain, 'paused', JSON.stringify(st));
      const r = await api('POST', `/api/v1/drafts/${await maritalDraft(api)}/seal`, {});
      assert.equal(r.status, 409, JSON.stringify(r.body));
      assert.equal(r.body.error.code, 'device_paused');
    }
    await login(page, a.base, OFFICER);
    await page.locator('[data-testid=chain-paused]').waitFor();
    await scanVietnameseScreen(page, 'field home, paused');
    await shot(page, 'chain-office-field-paused');
    await login(page, office.base, CLERK);
    await page.goto(`${office.base}/#/office/devices`);
    await page.click('[data-testid=device-approve]');
    await page.click('#ask-yes');
    await page.locator('[data-testid=device-paused]').waitFor({ state: 'detached' });
    await syncNow(a);
    const st = (await apiA('GET', '/api/v1/status')).body;
    assert.equal(st.chain, 'sealable', JSON.stringify(st));
  } finally {
    await phone.close();
  }
});
