// A field hub that may not seal (issue 23, `shared::chain_guard`): restored from a backup, or found by a sync
// to hold less than the office. The home screen says so first, in Vietnamese, on a 360×740 phone; a seal
// is refused with the reason; the team keeps capturing drafts. The markers are the files the hub itself
// writes (`hub restore`, a sync): written here directly, as those would.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startHub, launch, login, axeCheck, scanVietnameseScreen, shot } from './harness.mjs';

const OFFICER = { name: 'canbo.lan', role: 'officer', password: 'Can-bo-2026!' };
const PHONE = { viewport: { width: 360, height: 740 } };
let hub;

before(async () => { hub = await startHub({ mode: 'field', users: [OFFICER] }); });
after(async () => { if (hub) await hub.stop(); });

test('restored, then diverged: the home screen says why sealing waits, in Vietnamese, before anything else', async () => {
  const phone = await launch(PHONE);
  const { page } = phone;
  try {
    await login(page, hub.base, OFFICER);
    await page.waitForSelector('[data-testid=paired-ok], [data-testid=unpaired-warning]');
    assert.equal(await page.locator('[data-testid=chain-restored]').count(), 0, 'a sealable hub shows no chain banner');

    fs.writeFileSync(path.join(hub.dataDir, 'chain-restored.json'), JSON.stringify({
      backup_created_at: '2026-11-20T08:15:00Z', backup_envelopes: 5, restored_at: '2026-11-25T02:00:00Z' }));
    await page.reload();
    const restored = page.locator('[data-testid=chain-restored]');
    await restored.waitFor();
    assert.match(await restored.textContent(), /Trạm vừa được khôi phục: chưa niêm phong được/);
    assert.match(await restored.textContent(), /Vẫn nhập hồ sơ nháp được/);
    // First on the screen: above the fold, before the procedures' buttons.
    const top = await restored.evaluate((e) => e.getBoundingClientRect().top);
    assert.ok(top < 740, `the banner is below the fold (${Math.round(top)} px)`);
    await scanVietnameseScreen(page, 'home, restored hub');
    await axeCheck(page, 'home, restored hub');
    await shot(page, 'chain-restored-home');

    fs.writeFileSync(path.join(hub.dataDir, 'chain-diverged.json'), JSON.stringify({
      found_at: '2026-11-26T03:00:00Z', office_head_seq: 10, local_head_seq: 5,
      detail: 'the office holds envelopes of this device up to seq 10, this hub\'s chain ends at seq 5' }));
    await page.reload();
    const diverged = page.locator('[data-testid=chain-diverged]');
    await diverged.waitFor();
    assert.match(await diverged.textContent(), /Trạm đang ngừng niêm phong: hãy gọi văn phòng xã/);
    assert.equal(await page.locator('[data-testid=chain-restored]').count(), 0, 'the divergence outranks the restore');
    await scanVietnameseScreen(page, 'home, diverged hub');
    await shot(page, 'chain-diverged-home');

    // A seal is refused with the reason in Vietnamese (the API the seal button calls).
    const r = await page.evaluate(async () => {
      const me = await (await fetch('/api/v1/me')).json();
      const h = { 'Content-Type': 'application/json', 'X-CSRF-Token': me.csrf_token };
      const d = await (await fetch('/api/v1/drafts', { method: 'POST', headers: h,
        body: JSON.stringify({ procedure: { id: 'marital-status-certificate', version: 1 }, fields: {} }) })).json();
      const s = await fetch(`/api/v1/drafts/${d.id}/seal`, { method: 'POST', headers: h, body: '{}' });
      return { status: s.status, body: await s.json() };
    });
    assert.equal(r.status, 409);
    assert.equal(r.body.error.code, 'chain_diverged');
    assert.match(r.body.error.message_vi, /Trạm ngừng niêm phong để không cấp trùng mã biên nhận/);
  } finally {
    await phone.close();
  }
});
