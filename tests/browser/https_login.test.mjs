// Team logins over HTTPS only (issue 18, finding 4), in a real browser on "another machine": the hub and
// Chromium run in a network namespace of this test's own, the hub on 10.203.232.1 (not loopback), so the
// hub sees the browser as a phone on the Wi-Fi. The plain-HTTP login page says where to log in securely and
// links there; after logging in over HTTPS the session cookie is not sent to the plain-HTTP address.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HUB_BIN, CHROMIUM, ARTIFACTS, hubCli, launch, axeCheck, shot, sleep } from './harness.mjs';

const NS = `okthttps${process.pid % 10000}`;
const IP = '10.203.232.1';
const HTTP_PORT = 18180; const HTTPS_PORT = 18543;
const HTTP = `http://${IP}:${HTTP_PORT}`; const HTTPS = `https://${IP}:${HTTPS_PORT}`;
const OFFICER = { name: 'canbo.lan', role: 'officer', password: 'Can-bo-2026!' };
let hub; let dataDir; let b; let wrapper; let log = '';

function ip(...args) {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr} (this test needs root and ip netns)`);
}

before(async () => {
  spawnSync('ip', ['netns', 'del', NS]);
  ip('netns', 'add', NS);
  ip('-n', NS, 'link', 'set', 'lo', 'up');
  ip('-n', NS, 'addr', 'add', `${IP}/32`, 'dev', 'lo');
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hub-browser-https-'));
  hubCli(['init', '--mode', 'field', '--data', dataDir, '--name', 'Tổ lưu động Bù Lư']);
  hubCli(['user', 'add', '--data', dataDir, '--role', OFFICER.role, '--name', OFFICER.name], { HUB_PASSWORD: OFFICER.password });
  hub = spawn('ip', ['netns', 'exec', NS, HUB_BIN, 'serve', '--mode', 'field', '--data', dataDir,
    '--listen', `${IP}:${HTTP_PORT}`, '--https-listen', `${IP}:${HTTPS_PORT}`, '--mdns', 'off'],
  { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, HUB_LOG: 'warn', NO_COLOR: '1' } });
  hub.stdout.on('data', (x) => { log += x; });
  hub.stderr.on('data', (x) => { log += x; });
  const end = Date.now() + 60000;
  for (;;) {
    const r = spawnSync('ip', ['netns', 'exec', NS, 'curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', `${HTTP}/healthz`], { encoding: 'utf8' });
    if (r.stdout === '200') break;
    if (hub.exitCode != null || Date.now() > end) throw new Error(`hub did not start in the namespace:\n${log}`);
    await sleep(200);
  }
  // Chromium in the same namespace: Playwright drives it over a pipe, which crosses namespaces.
  wrapper = path.join(dataDir, 'chromium-in-ns.sh');
  fs.writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec ${NS} ${CHROMIUM} "$@"\n`, { mode: 0o755 });
  // A phone that installed the hub's certificate (the join page): here, certificate errors are ignored.
  b = await launch({ viewport: { width: 360, height: 740 }, executablePath: wrapper, ignoreHTTPSErrors: true });
});

after(async () => {
  if (b) await b.close();
  if (hub && hub.exitCode == null) { hub.kill('SIGTERM'); await sleep(500); if (hub.exitCode == null) hub.kill('SIGKILL'); }
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  fs.writeFileSync(path.join(ARTIFACTS, 'hub-https-login.log'), log);
  spawnSync('ip', ['netns', 'del', NS]);
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

test('on plain HTTP from a phone the login page sends the officer to HTTPS; the session never comes back to HTTP', async () => {
  const p = b.page;
  await p.goto(HTTP + '/#/login');
  await p.waitForSelector('[data-testid=secure-login]');
  assert.equal(await p.locator('[data-testid=login-form]').count(), 0, 'no password field on plain HTTP');
  // To the login there: the address itself is the villagers' front door for a visitor (issue 25).
  assert.equal(await p.getAttribute('[data-testid=secure-login-go]', 'href'), `${HTTPS}/#/login`);
  assert.equal(await p.textContent('[data-testid=secure-login-url]'), HTTPS);
  assert.equal(await p.getAttribute('[data-testid=secure-login-ca]', 'href'), '/ca.crt');
  assert.match(await p.textContent('[data-testid=secure-login]'), /kết nối bảo mật \(HTTPS\)/);
  // The CA's fingerprint (issue 19), in groups of four bytes, with where to compare it: the hub's screen or
  // the printed sheet, not this plain-HTTP page.
  const fp = new crypto.X509Certificate(fs.readFileSync(path.join(dataDir, 'tls', 'ca.pem'))).fingerprint256;
  assert.equal(await p.textContent('[data-testid=secure-login-fp]'), fp);
  assert.equal(await p.locator('[data-testid=secure-login-fp] .fp-group').count(), 8);
  assert.match(await p.textContent('[data-testid=secure-login-fp-where]'), /màn hình của trạm hoặc trên tờ hướng dẫn đã in/);
  assert.match(await p.textContent('[data-testid=secure-login-fp-where]'), /Đừng chỉ so với trang này/);
  const width = await p.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 360, `no sideways scroll (${width})`);
  await axeCheck(p, 'login on plain HTTP: go to HTTPS');
  await shot(p, 'https-01-plain-http-login');

  // A page that needs a login carries the officer there after logging in on HTTPS.
  await p.goto(HTTP + '/#/users');
  await p.waitForSelector('[data-testid=secure-login]');
  await p.click('[data-testid=secure-login-go]');
  await p.waitForURL(`${HTTPS}/**`);
  await p.waitForSelector('[data-testid=login-form]');
  await p.fill('[data-testid=login-name]', OFFICER.name);
  await p.fill('[data-testid=login-password]', OFFICER.password);
  await p.click('[data-testid=login-submit]');
  await p.waitForSelector('[data-testid=who]');
  await shot(p, 'https-02-logged-in-over-https');
  const cookies = await b.context.cookies(HTTPS);
  const session = cookies.find((c) => c.name === '__Host-hub_session');
  assert.ok(session, JSON.stringify(cookies));
  assert.equal(session.secure, true);
  assert.equal(session.httpOnly, true);
  assert.equal(session.sameSite, 'Strict');

  // Back on the plain-HTTP address (the wall QR): the browser does not send the Secure cookie, and the
  // hub would not honour it; the page is the villagers' side again, and logging in points to HTTPS.
  await p.goto(HTTP + '/#/login');
  await p.waitForSelector('[data-testid=secure-login]');
  assert.equal(await p.locator('[data-testid=who]').count(), 0);

  // A villager's pre-declaration on plain HTTP works as before, and offers the secure address to a phone
  // that installed the hub's certificate.
  await p.goto(HTTP + '/#/predeclare/marital-status-certificate');
  await p.waitForSelector('form.oneq[data-step="1"]');
  assert.equal(await p.getAttribute('[data-testid=predeclare-secure-link]', 'href'),
    `${HTTPS}/#/predeclare/marital-status-certificate`);
  await shot(p, 'https-03-predeclare-secure-offer');
  await p.click('[data-testid=predeclare-secure-link]');
  await p.waitForSelector('form.oneq[data-step="1"]');
  assert.equal(await p.locator('[data-testid=predeclare-secure]').count(), 0, 'no offer once on HTTPS');
  assert.deepEqual(b.errors, []);
});
