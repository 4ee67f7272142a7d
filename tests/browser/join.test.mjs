// Joining the hub, in Chromium against a real field hub with HTTPS on: the join page's QR images, fetched as
// PNG bytes by the page, decode (jsQR) to exactly the strings they stand for, Wi-Fi escaping included;
// axe-core passes on the join page; and both paths of the secure-context question: over HTTPS, with Chromium
// trusting the hub's server certificate (by its key, as a phone that installed the hub's CA would),
// `window.isSecureContext` is true; over plain HTTP, as on a villager's phone, it is false and the app
// still works.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import jsQR from 'jsqr';
import { PNG } from 'pngjs';
import { startHub, launch, login, axeCheck, shot, freePort, ARTIFACTS } from './harness.mjs';

const SSID = 'Trạm;1,"A":\\';
const PASSWORD = 'p;a,s:s"w\\rd';
const WIFI_QR = 'WIFI:T:WPA;S:Trạm\\;1\\,\\"A\\"\\:\\\\;P:p\\;a\\,s\\:s\\"w\\\\rd;;';
const ADMIN = { name: 'quantri', role: 'admin', password: 'mat-khau-quan-tri' };
const NAME = 'tram.test';

let hub; let browser; let httpsPort; let chromeArgs;

before(async () => {
  httpsPort = await freePort();
  hub = await startHub({
    users: [ADMIN],
    args: ['--wifi-ssid', SSID, '--wifi-password', PASSWORD, '--https-listen', `127.0.0.1:${httpsPort}`],
  });
  // Chromium trusts exactly this server key (standing in for a phone that installed the hub's CA; that the
  // chain verifies against the CA for the hub's names is checked in tests/it/join.rs), and resolves the test
  // name to loopback.
  const pem = fs.readFileSync(path.join(hub.dataDir, 'tls', 'server.pem'), 'utf8');
  const spki = new crypto.X509Certificate(pem).publicKey.export({ type: 'spki', format: 'der' });
  const spkiHash = crypto.createHash('sha256').update(spki).digest('base64');
  chromeArgs = [`--ignore-certificate-errors-spki-list=${spkiHash}`, `--host-resolver-rules=MAP ${NAME} 127.0.0.1`];
  browser = await launch({ args: chromeArgs });
});

after(async () => {
  if (browser) await browser.close();
  if (hub) await hub.stop();
});

/** Fetches an <img>'s source in the page (its session cookie) and decodes the QR code in the PNG. */
async function qrOf(page, testid) {
  const img = page.locator(`[data-testid=${testid}]`);
  await img.waitFor();
  // The element comes before its picture: wait until the browser is done with it (loaded or failed).
  await page.waitForFunction((id) => {
    const el = document.querySelector(`[data-testid=${id}]`);
    return el && el.complete;
  }, testid, { timeout: 20000 });
  const loaded = await img.evaluate((el) => el.complete && el.naturalWidth > 0 ? el.naturalWidth : 0);
  assert.ok(loaded >= 200, `${testid} shown, ${loaded} px wide`);
  const b64 = await img.evaluate(async (el) => {
    const r = await fetch(el.src, { credentials: 'same-origin' });
    if (!r.ok || r.headers.get('content-type') !== 'image/png') throw new Error(`${el.src}: ${r.status}`);
    const bytes = new Uint8Array(await r.arrayBuffer());
    let s = '';
    for (const b of bytes) s += String.fromCharCode(b);
    return btoa(s);
  });
  const png = PNG.sync.read(Buffer.from(b64, 'base64'));
  const code = jsQR(new Uint8ClampedArray(png.data), png.width, png.height);
  assert.ok(code, `${testid}: no QR code found in the PNG`);
  return code.data;
}

test('the join page QR codes decode to the right strings; plain HTTP is not a secure context and sends the team to HTTPS', async () => {
  const { page, errors } = browser;
  // The team logs in over HTTPS only (issue 18); the join page they print carries the plain-HTTP address
  // for villagers.
  const base = `https://${NAME}:${httpsPort}`;
  await login(page, base, ADMIN);
  await page.goto(base + '/#/join');
  await page.waitForSelector('[data-testid=join-wifi-qr]');
  assert.equal(await page.locator('h1').count(), 1);
  assert.equal(await qrOf(page, 'join-wifi-qr'), WIFI_QR);
  const appUrl = `http://${NAME}:${hub.port}/`;
  assert.equal(await qrOf(page, 'join-app-qr'), appUrl);
  assert.equal((await page.textContent('[data-testid=join-app-url]')).trim(), appUrl);
  const wifiText = await page.textContent('[data-testid=join-wifi-text]');
  assert.ok(wifiText.includes(SSID) && wifiText.includes(PASSWORD), wifiText);
  const caUrl = `http://${NAME}:${hub.port}/ca.crt`;
  assert.equal(await qrOf(page, 'join-ca-qr'), caUrl);
  const httpsUrl = `https://${NAME}:${httpsPort}/`;
  assert.equal(await qrOf(page, 'join-https-qr'), httpsUrl);
  // The fingerprint shown is the CA certificate's that /ca.crt serves.
  const der = Buffer.from(await (await fetch(`${hub.base}/ca.crt`)).arrayBuffer());
  const fp = crypto.createHash('sha256').update(der).digest('hex').toUpperCase().match(/../g).join(':');
  assert.equal((await page.textContent('[data-testid=join-ca-fingerprint]')).trim(), fp);
  // In groups of four bytes (as on the login page), with what to do when the hub changed its certificate.
  assert.equal(await page.locator('[data-testid=join-ca-fingerprint] .fp-group').count(), 8);
  assert.match(await page.textContent('[data-testid=join-ca-renewed]'), /xóa chứng chỉ cũ/);
  for (const id of ['join-android', 'join-ios']) {
    assert.ok((await page.locator(`[data-testid=${id}] li`).count()) >= 3, id);
  }
  await axeCheck(page, 'join page (vi)');
  await shot(page, 'join-http');
  // The print layout (QR codes, texts, steps; no buttons).
  await page.emulateMedia({ media: 'print' });
  await shot(page, 'join-print');
  await page.emulateMedia({ media: 'screen' });
  // A small phone (360x740): the certificate card with its fingerprint fits without sideways scroll.
  await page.setViewportSize({ width: 360, height: 740 });
  await page.locator('[data-testid=join-ca-fingerprint]').scrollIntoViewIfNeeded();
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 360, `no sideways scroll (${width})`);
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, 'join-ca-fingerprint-360.png') });
  await page.setViewportSize({ width: 390, height: 844 });
  // The plain-HTTP address of the QR, as a villager's phone opens it: not a secure context; the public side
  // works, and the login page sends the team to HTTPS instead of asking for a password (the browser would
  // not keep a Secure cookie here, even where the hub sees its own machine).
  // The app QR's address itself: the villager's front door (issue 25).
  await page.goto(appUrl);
  await page.waitForSelector('[data-testid=front-door][data-step=language]');
  await page.goto(appUrl + '#/guides');
  await page.waitForSelector('h1');
  assert.equal(await page.evaluate(() => window.isSecureContext), false);
  await page.goto(appUrl + '#/login');
  await page.waitForSelector('[data-testid=secure-login]');
  assert.equal(await page.locator('[data-testid=login-form]').count(), 0);
  // The login on the secure address (its bare address is the villagers' front door, issue 25).
  assert.equal(await page.getAttribute('[data-testid=secure-login-go]', 'href'), `https://${NAME}:${httpsPort}/#/login`);
  assert.deepEqual(errors, []);
});

test('HTTPS with the hub certificate trusted: a secure context, and the app works there', async () => {
  // Another team phone, fresh (no session from the plain-HTTP test), that trusts the hub's certificate.
  const phone = await launch({ args: chromeArgs });
  const { page, errors } = phone;
  try {
    const base = `https://${NAME}:${httpsPort}`;
    const r = await page.goto(base + '/');
    assert.equal(r.status(), 200);
    assert.equal(await page.evaluate(() => window.isSecureContext), true);
    assert.equal(await page.evaluate(() => location.protocol), 'https:');
    await login(page, base, ADMIN);
    await page.goto(base + '/#/join');
    assert.equal(await qrOf(page, 'join-https-qr'), `https://${NAME}:${httpsPort}/`);
    assert.equal(await qrOf(page, 'join-wifi-qr'), WIFI_QR);
    assert.equal(await page.locator('[data-testid=insecure-notice]').count(), 0);
    await axeCheck(page, 'join page over HTTPS');
    await shot(page, 'join-https');
    assert.deepEqual(errors, []);
  } finally {
    await phone.close();
  }
});

test('HTTPS without the hub certificate installed: the browser refuses the connection', async () => {
  // Same name, same port, no trust: the certificate is only accepted because of the hub's CA (here, its key).
  const phone = await launch({ args: [`--host-resolver-rules=MAP ${NAME} 127.0.0.1`] });
  try {
    await assert.rejects(phone.page.goto(`https://${NAME}:${httpsPort}/`), /ERR_CERT/);
  } finally {
    await phone.close();
  }
});
