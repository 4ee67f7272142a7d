// Revoking a lost or stolen field device from a sequence number, in a real browser at 360×740 in
// Vietnamese: the revoke form is filled in with the last seq received + 1 and says which seq arrived last
// and when; the clerk may choose another cutoff or a full revocation. Dossiers below the cutoff are still
// accepted; one at or above it lands in the quarantine with its own plain explanation. axe-core on each page.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { startHub, launch, login, axeCheck, shot, hubCli, HUB_BIN } from './harness.mjs';

const OFFICER = { name: 'canbo.an', role: 'officer', password: 'Can-bo-2026!' };
const CLERK = { name: 'vanthu.binh', role: 'clerk', password: 'Van-thu-2026!' };
let field; let office; let b;

before(async () => {
  field = await startHub({ mode: 'field', users: [OFFICER], name: 'Trạm Bù Lư' });
  office = await startHub({ mode: 'office', users: [CLERK], name: 'UBND xã Phước Sơn' });
  const fieldCard = path.join(field.dataDir, 'field.pub');
  const officeCard = path.join(office.dataDir, 'office.pub');
  fs.writeFileSync(fieldCard, hubCli(['key', 'show', '--data', field.dataDir]));
  fs.writeFileSync(officeCard, hubCli(['key', 'show', '--data', office.dataDir]));
  hubCli(['trust', '--data', field.dataDir, officeCard]);
  hubCli(['trust', '--data', office.dataDir, fieldCard]);
  b = await launch({ viewport: { width: 360, height: 740 } });
});

after(async () => {
  if (b) await b.close();
  if (field) await field.stop();
  if (office) await office.stop();
});

const call = (page, method, p, body) => page.evaluate(async ([m, u, x]) => (await import('./lib.js')).api(m, u, x), [method, p, body]);

// Seals `n` refused requests on the field hub (quick, and each one is an envelope) and carries every
// unacknowledged envelope to the office by "USB stick" (`hub batch export` / `hub batch import`, whose exit
// status must be `status`: 0 all held, 3 some quarantined).
async function sealAndCarry(page, names, file, status = 0) {
  await page.context().clearCookies();
  await login(page, field.base, OFFICER);
  for (const name of names) {
    const d = await call(page, 'POST', '/api/v1/drafts', { procedure: { id: 'marital-status-certificate', version: 1 }, fields: { 'requester.full_name': name, 'subject.full_name': name } });
    const r = await call(page, 'POST', `/api/v1/drafts/${d.id}/refuse`, { reason: 'Chưa mang giấy tờ gốc' });
    assert.equal(r.protected, true);
  }
  const batch = path.join(field.dataDir, file);
  hubCli(['batch', 'export', '--data', field.dataDir, '--out', batch]);
  const r = spawnSync(HUB_BIN, ['batch', 'import', '--data', office.dataDir, batch], { encoding: 'utf8', env: { ...process.env, HUB_LOG: 'warn' } });
  assert.equal(r.status, status, r.stdout + r.stderr);
  return r.stdout;
}

test('a clerk revokes a stolen device from a sequence number; what came before still counts', async () => {
  const page = b.page;
  await sealAndCarry(page, ['Điểu Thị Hạnh', 'Ka Thị Bình'], 'one.batch');

  await page.context().clearCookies();
  await login(page, office.base, CLERK);
  await page.goto(office.base + '/#/office/devices');
  await page.waitForSelector('[data-testid=device-row] [data-status=approved]');
  await page.click('[data-testid=device-revoke]');
  // The form is filled in: last seq received (2) + 1, and says when seq 2 arrived.
  await page.waitForSelector('[data-testid=device-from-seq]');
  assert.equal(await page.inputValue('[data-testid=device-from-seq]'), '3');
  assert.match(await page.textContent('[data-testid=device-last-received]'), /^Nhận lần cuối: số 2 lúc .+\d/);
  assert.equal(await page.isChecked('[data-testid=device-revoke-from]'), true);
  await page.fill('[data-testid=device-reason]', 'Máy bị lấy cắp ở nhà văn hoá thôn');
  // A full revocation hides the cutoff; choosing "from a number" again shows it.
  await page.check('[data-testid=device-revoke-full]');
  assert.equal(await page.isVisible('[data-testid=device-cutoff]'), false);
  await page.check('[data-testid=device-revoke-from]');
  assert.equal(await page.isVisible('[data-testid=device-cutoff]'), true);
  await axeCheck(page, 'office: revoke form with a cutoff');
  await page.locator('form.pair-revoke').scrollIntoViewIfNeeded();
  await shot(page, 'revocation-01-form-vi-360');

  // A cutoff that is not a number from 1 up is refused before anything is asked.
  await page.fill('[data-testid=device-from-seq]', '0');
  await page.click('[data-testid=device-revoke-confirm]');
  await page.waitForFunction(() => /từ 1 trở lên/.test(document.querySelector('#flash').textContent));
  assert.equal(await page.isVisible('#ask'), false);
  // The clerk knows seq 3 was sealed before the theft: the cutoff is 4.
  await page.fill('[data-testid=device-from-seq]', '4');
  await page.click('[data-testid=device-revoke-confirm]');
  await page.waitForSelector('#ask[open]');
  assert.match(await page.textContent('#ask-text'), /từ số 4/);
  await page.click('#ask-yes');
  await page.waitForSelector('[data-testid=device-row] [data-status=revoked]');
  assert.match(await page.textContent('[data-testid=device-revoked-from]'), /từ số 4/);
  await axeCheck(page, 'office: device revoked from seq 4');
  await shot(page, 'revocation-02-revoked-vi-360');

  // Seq 3 (genuine, sealed before the theft) is accepted; seq 4 is quarantined as device_revoked.
  await sealAndCarry(page, ['Thị Sa Ly'], 'two.batch');
  const out = await sealAndCarry(page, ['Người Giả'], 'three.batch', 3);
  assert.match(out, /QUARANTINED: envelope seq 4: check `device_revoked` failed/);
  await page.context().clearCookies();
  await login(page, office.base, CLERK);
  const q = await call(page, 'GET', '/api/v1/office/quarantine');
  assert.deepEqual(q.items.map((x) => [x.seq, x.reason]), [[4, 'device_revoked']]);
  const devs = await call(page, 'GET', '/api/v1/pairing/devices');
  assert.equal(devs.devices[0].last_received_seq, 3);
  await page.goto(office.base + '/#/office/quarantine');
  await page.waitForSelector('[data-testid=quarantine-item][data-reason=device_revoked]');
  const text = await page.textContent('[data-testid=quarantine-item]');
  assert.match(text, /CẢNH BÁO/);
  assert.match(text, /văn phòng đã thu hồi thiết bị này/);
  await axeCheck(page, 'office: quarantine with a device_revoked item');
  await shot(page, 'revocation-03-quarantine-vi-360');
  assert.deepEqual(b.errors, []);
});
