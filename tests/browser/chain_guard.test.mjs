// A field hub whose chain may not be the office's (issue 23, `shared::chain_guard`, protocol §11.4.1):
// restored from a backup, or found by a sync to hold less than the office. The home screen says so first,
// in Vietnamese, on a 360×740 phone; the officer still seals through the real review screen and hands the
// villager a valid receipt, from a fresh receipt range, told plainly that the dossier goes to the office at
// the next sync. The markers are the files the hub itself writes (`hub restore`, a sync): written here
// directly, as those would; the hub is paired with an office by key card so that the only reason a dossier
// waits is the chain.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { startHub, launch, login, axeCheck, scanVietnameseScreen, shot, hubCli, apiLogin, maritalDraft } from './harness.mjs';

const OFFICER = { name: 'canbo.lan', role: 'officer', password: 'Can-bo-2026!' };
const PHONE = { viewport: { width: 360, height: 740 } };
let hub;
let api;

before(async () => {
  hub = await startHub({ mode: 'field', users: [OFFICER] });
  // Pair with an office by its key card (as `hub trust` does), so dossiers would be protected at once.
  const office = fs.mkdtempSync(path.join(os.tmpdir(), 'chain-office-'));
  hubCli(['init', '--mode', 'office', '--data', office, '--name', 'UBND xã Phước Minh']);
  const card = path.join(office, 'office.pub');
  fs.writeFileSync(card, hubCli(['key', 'show', '--data', office]));
  hubCli(['trust', '--data', hub.dataDir, card]);
  fs.rmSync(office, { recursive: true, force: true });
  api = await apiLogin(hub.base, OFFICER);
});
after(async () => { if (hub) await hub.stop(); });

// Seals draft `id` through the review screen as an officer does; the receipt screen's code.
async function sealInUi(page, id) {
  await page.goto(`${hub.base}/#/draft/${id}`);
  await page.waitForSelector('[data-testid=save-state]');
  for (let i = 0; i < 20 && await page.isVisible('[data-testid=step-next]'); i++) await page.click('[data-testid=step-next]');
  await page.waitForSelector('[data-testid=review-ready]');
  await page.check('[data-testid=seal-readback]');
  await page.click('[data-testid=seal-confirm]');
  await page.waitForSelector('[data-testid=receipt-code]', { timeout: 60000 });
  return (await page.textContent('[data-testid=receipt-code]')).trim();
}

test('restored, then diverged: the home screen says so first, and sealing still hands the villager a valid receipt', async () => {
  const phone = await launch(PHONE);
  const { page } = phone;
  try {
    await login(page, hub.base, OFFICER);
    await page.waitForSelector('[data-testid=paired-ok], [data-testid=unpaired-warning]');
    assert.equal(await page.locator('[data-testid=chain-restored]').count(), 0, 'a settled hub shows no chain banner');

    fs.writeFileSync(path.join(hub.dataDir, 'chain-restored.json'), JSON.stringify({
      backup_created_at: '2026-11-20T08:15:00Z', backup_envelopes: 5, restored_at: '2026-11-25T02:00:00Z' }));
    await page.reload();
    const restored = page.locator('[data-testid=chain-restored]');
    await restored.waitFor();
    assert.match(await restored.textContent(), /Trạm vừa được khôi phục: hồ sơ niêm phong chờ lần đồng bộ tới/);
    assert.match(await restored.textContent(), /Vẫn niêm phong và cấp biên nhận được/);
    // First on the screen: above the fold, before the procedures' buttons.
    const top = await restored.evaluate((e) => e.getBoundingClientRect().top);
    assert.ok(top < 740, `the banner is below the fold (${Math.round(top)} px)`);
    await scanVietnameseScreen(page, 'home, restored hub');
    await axeCheck(page, 'home, restored hub');
    await shot(page, 'chain-restored-home');

    // The officer seals as usual: a receipt, not yet protected because the chain waits for a sync (not
    // because of pairing), numbered from a fresh receipt range.
    const code = await sealInUi(page, await maritalDraft(api));
    assert.match(code, /^\d{4}-\d{4}-\d{4}-\d{2}$/);
    const waits = page.locator('[data-testid=waits-for-sync]');
    await waits.waitFor();
    assert.match(await waits.textContent(), /Đã niêm phong; biên nhận có giá trị/);
    assert.equal(await page.locator('[data-testid=not-protected]').count(), 0, 'not the "not paired" warning');
    const tracking = (await page.textContent('[data-testid=tracking-number]')).trim();
    const receiptSeq = BigInt(tracking.split('-').pop());
    assert.ok(receiptSeq >= 2n ** 40n, `a fresh receipt range: ${tracking}`);
    await scanVietnameseScreen(page, 'receipt, restored hub');
    await axeCheck(page, 'receipt, restored hub');
    await shot(page, 'chain-restored-receipt');
    const status = (await api('GET', '/api/v1/status')).body;
    assert.equal(status.pending_protection, 1, JSON.stringify(status));

    fs.writeFileSync(path.join(hub.dataDir, 'chain-diverged.json'), JSON.stringify({
      found_at: '2026-11-26T03:00:00Z', office_head_seq: 10, local_head_seq: 5,
      detail: 'the office holds envelopes of this device up to seq 10, this hub\'s chain ends at seq 5' }));
    await page.goto(`${hub.base}/#/`);
    const diverged = page.locator('[data-testid=chain-diverged]');
    await diverged.waitFor();
    assert.match(await diverged.textContent(), /Văn phòng xã giữ hồ sơ của trạm mà trạm không có/);
    assert.equal(await page.locator('[data-testid=chain-restored]').count(), 0, 'the divergence outranks the restore');
    await scanVietnameseScreen(page, 'home, diverged hub');
    await shot(page, 'chain-diverged-home');
    const second = await sealInUi(page, await maritalDraft(api));
    assert.notEqual(second, code);
    await page.locator('[data-testid=waits-for-sync]').waitFor();
  } finally {
    await phone.close();
  }
});
