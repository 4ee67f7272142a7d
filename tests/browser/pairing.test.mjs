// Pairing by one-time code in a real browser: a clerk opens a code on the office's devices page, the field
// admin types it (with the office address) on the field's pairing page, the clerk approves the device; both
// pages show the new states. axe-core on each page.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHub, launch, login, axeCheck, shot } from './harness.mjs';

const ADMIN = { name: 'quantri', role: 'admin', password: 'Quan-tri-2026!' };
const CLERK = { name: 'vanthu.binh', role: 'clerk', password: 'Van-thu-2026!' };
let field; let office; let fb; let ob;

before(async () => {
  field = await startHub({ mode: 'field', users: [ADMIN], name: 'Tổ lưu động Bù Lư' });
  office = await startHub({ mode: 'office', users: [CLERK], name: 'UBND xã Phước Sơn' });
  ob = await launch({ viewport: { width: 1200, height: 900 }, isMobile: false });
  fb = await launch();
});

after(async () => {
  if (fb) await fb.close();
  if (ob) await ob.close();
  if (field) await field.stop();
  if (office) await office.stop();
});

test('a clerk opens a code, the field admin types it, the clerk approves', async () => {
  const op = ob.page; const fp = fb.page;
  await login(op, office.base, CLERK);
  await op.goto(office.base + '/#/office/devices');
  await op.waitForSelector('[data-testid=devices-empty]');
  await op.click('[data-testid=pairing-new-code]');
  await op.waitForSelector('[data-testid=pairing-panel]');
  await op.waitForFunction(() => { const i = document.querySelector('[data-testid=pairing-qr]'); return i && i.complete && i.naturalWidth > 0; });
  const code = await op.getAttribute('[data-testid=pairing-code]', 'data-code');
  assert.match(code, /^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z*~$=U]$/);
  const address = await op.textContent('[data-testid=pairing-address]');
  assert.equal(address, office.base);
  assert.match(await op.textContent('[data-testid=pairing-countdown]'), /(9|10):\d\d/);
  await axeCheck(op, 'office: devices page with a pairing code');
  await shot(op, 'pairing-01-office-code');

  await login(fp, field.base, ADMIN);
  await fp.goto(field.base + '/#/pairing');
  await fp.waitForSelector('[data-testid=pairing-form]');
  await axeCheck(fp, 'field: pairing page');
  // A wrong code first: a plain refusal, nothing pinned.
  await fp.fill('[data-testid=pairing-url]', address);
  await fp.fill('[data-testid=pairing-code-input]', '008J-4CT4-ANK7-F24S-X');
  await fp.click('[data-testid=pairing-submit]');
  await fp.waitForSelector('[data-testid=pairing-error][data-code=pairing_code_invalid]');
  // Then the real one, typed in lower case without dashes.
  await fp.fill('[data-testid=pairing-code-input]', code.replace(/-/g, '').toLowerCase());
  await fp.click('[data-testid=pairing-submit]');
  await fp.waitForSelector('[data-testid=pairing-done]');
  assert.equal(await fp.textContent('[data-testid=pairing-office-name]'), 'UBND xã Phước Sơn');
  await fp.waitForSelector('[data-testid=pairing-waiting]');
  await axeCheck(fp, 'field: paired, waiting for approval');
  await shot(fp, 'pairing-02-field-waiting');

  // The clerk sees the device pending and approves it.
  await op.click('[data-testid=devices-refresh]');
  await op.waitForSelector('[data-testid=device-row] [data-status=pending_approval]');
  assert.match(await op.textContent('[data-testid=device-row]'), /Tổ lưu động Bù Lư/);
  await op.click('[data-testid=device-approve]');
  await op.click('#ask-yes');
  await op.waitForSelector('[data-testid=device-row] [data-status=approved]');
  await axeCheck(op, 'office: device approved');
  await shot(op, 'pairing-03-office-approved');

  // Revoking asks for a reason, then for confirmation.
  await op.click('[data-testid=device-revoke]');
  await op.fill('[data-testid=device-reason]', 'Máy bị mất');
  // A refresh meanwhile (the clerk's button, or the page noticing the code was used) keeps the open form
  // and the typed reason: it once rebuilt the row under the clerk's hands.
  await op.click('[data-testid=devices-refresh]');
  await op.waitForFunction(() => !document.querySelector('form.pair-revoke').hidden
    && document.querySelector('[data-testid=device-reason]').value === 'Máy bị mất');
  await op.click('[data-testid=device-revoke-confirm]');
  await op.click('#ask-yes');
  await op.waitForSelector('[data-testid=device-row] [data-status=revoked]');
  assert.equal(await op.textContent('[data-testid=device-note]'), 'Máy bị mất');

  // The field's page now shows the pinned office (reached from the admin's users page).
  await fp.goto(field.base + '/#/users');
  await fp.waitForSelector('[data-testid=users-pairing-link]');
  await axeCheck(fp, 'field: users page with the pairing link');
  await fp.click('[data-testid=users-pairing-link]');
  await fp.waitForSelector('[data-testid=pairing-office]');
  assert.equal(await fp.textContent('[data-testid=pairing-office-name]'), 'UBND xã Phước Sơn');
  await axeCheck(fp, 'field: pinned office');
  assert.deepEqual(fb.errors, []);
  assert.deepEqual(ob.errors, []);
});
