// Account lifecycle in the app (issue 18, finding 7), on a phone (360×740, Vietnamese): the admin's users
// page shows each account's state and, under "Quản lý", disables / enables it, resets its password and ends
// its sessions; the disabled officer's open app drops to the login page at its next request and the login
// says the account is disabled; a user whose password was reset is sent to "Tài khoản của tôi" first and
// must change it (the current one is checked); "Đăng xuất mọi nơi" ends every session of the user.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHub, launch, login, navTo, axeCheck, shot } from './harness.mjs';

const ADMIN = { name: 'quantri', role: 'admin', password: 'Quan-tri-2026!' };
const AN = { name: 'Nguyễn Văn An', role: 'officer', password: 'Can-bo-An-2026' };
const PAO = { name: 'Vàng A Pao', role: 'volunteer', password: 'Tinh-nguyen-2026' };
const VIEW = { width: 360, height: 740 };
let hub; let admin; let other;

before(async () => {
  hub = await startHub({ mode: 'field', users: [ADMIN, AN, PAO], name: 'Tổ lưu động Bù Lư' });
  admin = await launch({ viewport: VIEW });
  other = await launch({ viewport: VIEW });
});

after(async () => {
  if (admin) await admin.close();
  if (other) await other.close();
  if (hub) await hub.stop();
});

const row = (page, name) => page.locator(`[data-testid=user-row][data-user="${name}"]`);

async function manage(page, name) {
  const r = row(page, name);
  if (!(await r.locator('details').evaluate((d) => d.open))) await r.locator('[data-testid=user-manage]').click();
  return r;
}

async function confirm(page) {
  await page.waitForSelector('#ask[open]');
  await page.click('#ask-yes');
}

test('the admin disables an officer: their open app logs out, and the login says the account is disabled', async () => {
  const { page } = admin;
  await login(page, hub.base, ADMIN);
  await navTo(page, 'users');
  await page.waitForSelector('[data-testid=user-row]');
  assert.equal(await page.locator('[data-testid=user-row]').count(), 3);
  // The admin's own row has no disable / reset: it links to "My account".
  const own = await manage(page, ADMIN.name);
  assert.equal(await own.locator('[data-testid=user-disable]').count(), 0);
  assert.equal(await own.locator('[data-testid=user-own-account]').count(), 1);

  await login(other.page, hub.base, AN);
  await other.page.waitForSelector('[data-testid=who]');

  const r = await manage(page, AN.name);
  await shot(page, 'accounts-users-manage-vi');
  await r.locator('[data-testid=user-disable]').click();
  await confirm(page);
  await page.waitForSelector(`[data-testid=user-row][data-user="${AN.name}"][data-disabled=true]`);
  assert.match(await row(page, AN.name).innerText(), /Đã khóa/);
  assert.match(await page.locator('[data-testid=users-done]').innerText(), /Đã khóa tài khoản Nguyễn Văn An/);
  await page.locator('[data-testid=users-history] summary').click();
  assert.match(await page.locator('[data-testid=users-history]').innerText(), /Khóa tài khoản Nguyễn Văn An \(1 phiên bị đăng xuất\)/);
  await axeCheck(page, 'users page with a disabled account');
  await shot(page, 'accounts-users-disabled-vi');

  // The officer's phone: the next request finds the session gone.
  await other.page.reload();
  await other.page.waitForSelector('[data-testid=login-form]');
  await other.page.fill('[data-testid=login-name]', AN.name);
  await other.page.fill('[data-testid=login-password]', AN.password);
  await other.page.click('[data-testid=login-submit]');
  const err = other.page.locator('[data-testid=form-error]');
  await err.waitFor();
  assert.match(await err.innerText(), /Tài khoản này đã bị khóa/);
  await shot(other.page, 'accounts-login-disabled-vi');

  // Enabled again: the same password works.
  await (await manage(page, AN.name)).locator('[data-testid=user-enable]').click();
  await page.waitForSelector(`[data-testid=user-row][data-user="${AN.name}"][data-disabled=false]`);
  await login(other.page, hub.base, AN);

  // The admin ends the officer's sessions: again the login page at the next request.
  await (await manage(page, AN.name)).locator('[data-testid=user-end-sessions]').click();
  await confirm(page);
  await page.locator(`[data-testid=user-row][data-user="${AN.name}"] [data-testid=user-action-done]`).waitFor();
  await navTo(other.page, 'sessions');
  await other.page.waitForSelector('[data-testid=login-form]');
});

test('a reset password must be changed at the next login; the current one is checked', async () => {
  const { page } = admin;
  await navTo(page, 'users').catch(() => page.goto(hub.base + '/#/users'));
  await page.waitForSelector(`[data-testid=user-row][data-user="${PAO.name}"]`);
  const r = await manage(page, PAO.name);
  await r.locator('[data-testid=user-reset]').click();
  const form = r.locator('[data-testid=reset-form]');
  await form.locator('input[name=password]').fill('ngan');
  await form.locator('[data-testid=reset-submit]').click();
  assert.match(await form.locator('[data-testid=form-error]').innerText(), /ít nhất 8 ký tự/);
  await form.locator('input[name=password]').fill('Tam-thoi-2026');
  await form.locator('input[name=password2]').fill('Tam-thoi-2026');
  await shot(page, 'accounts-reset-form-vi');
  await form.locator('[data-testid=reset-submit]').click();
  await page.waitForSelector(`[data-testid=user-row][data-user="${PAO.name}"] [data-testid=user-must-change]`);
  assert.match(await row(page, PAO.name).innerText(), /Phải đổi mật khẩu/);

  const p = other.page;
  await p.goto(hub.base + '/#/');
  await p.evaluate(() => localStorage.clear());
  await login(p, hub.base, { name: PAO.name, password: 'Tam-thoi-2026' });
  await p.waitForSelector('[data-testid=must-change]');
  assert.equal(new URL(p.url()).hash, '#/account');
  // Another page sends the user back here until the password is changed.
  await p.goto(hub.base + '/#/sessions');
  await p.waitForSelector('[data-testid=must-change]');
  await axeCheck(p, 'my account, must change password');
  await shot(p, 'accounts-must-change-vi');

  await p.fill('[data-testid=current-password]', 'Sai-mat-khau-2026');
  await p.fill('[data-testid=new-password]', 'Mat-khau-cua-Pao-2027');
  await p.fill('[data-testid=new-password2]', 'Mat-khau-cua-Pao-2027');
  await p.click('[data-testid=password-submit]');
  const err = p.locator('[data-testid=password-form] [data-testid=form-error]');
  await err.waitFor();
  assert.match(await err.innerText(), /Mật khẩu hiện tại không đúng/);
  await p.fill('[data-testid=current-password]', 'Tam-thoi-2026');
  await p.click('[data-testid=password-submit]');
  await p.waitForSelector('[data-testid=password-changed]:not([hidden])');
  assert.equal(await p.locator('[data-testid=must-change]').count(), 0);
  await shot(p, 'accounts-password-changed-vi');
  await p.goto(hub.base + '/#/sessions');
  await p.waitForFunction(() => location.hash === '#/sessions' && !document.querySelector('[data-testid=must-change]'));

  await page.reload();
  await page.waitForSelector(`[data-testid=user-row][data-user="${PAO.name}"]`);
  assert.equal(await row(page, PAO.name).locator('[data-testid=user-must-change]').count(), 0);
});

test('"log out everywhere" from the menu ends every session of the user', async () => {
  const p = other.page;
  // A second session of the same volunteer (another phone).
  const second = await launch({ viewport: VIEW });
  try {
    await login(second.page, hub.base, { name: PAO.name, password: 'Mat-khau-cua-Pao-2027' });
    // Every user finds "Tài khoản của tôi" in the ☰ menu.
    await p.click('[data-testid=menu-toggle]');
    await p.waitForSelector('#nav [data-testid=nav-account]');
    await shot(p, 'accounts-menu-vi');
    await p.click('#nav [data-testid=nav-account]');
    await p.waitForSelector('[data-testid=logout-everywhere]');
    await shot(p, 'accounts-my-account-vi');
    await p.click('[data-testid=logout-everywhere]');
    await confirm(p);
    await p.waitForSelector('[data-testid=login-form]');
    await second.page.reload();
    await second.page.waitForSelector('[data-testid=login-form]');
  } finally { await second.close(); }
  assert.deepEqual(other.errors, []);
  assert.deepEqual(admin.errors, []);
});
