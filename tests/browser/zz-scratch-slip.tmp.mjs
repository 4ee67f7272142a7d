import fs from 'node:fs';
import { startHub, launch, login } from './harness.mjs';
const OFFICER = { name: 'canbo.lan', role: 'officer', password: 'Can-bo-2026!' };
const hub = await startHub({ users: [OFFICER] });
try {
  const r = await fetch(hub.base + '/api/v1/login', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name: OFFICER.name, password: OFFICER.password }) });
  const cookie = r.headers.get('set-cookie').split(';')[0]; const { csrf_token: csrf } = await r.json();
  const call = async (m, p, b) => (await fetch(hub.base + p, { method: m, headers: { Cookie: cookie, 'X-CSRF-Token': csrf, 'Content-Type': 'application/json' }, body: b ? JSON.stringify(b) : undefined })).json();
  const d = await call('POST', '/api/v1/drafts', { procedure: { id: 'marital-status-certificate', version: 1 }, fields: {} });
  // refused draft: seal as refused (no checks needed)
  const rc = await call('POST', `/api/v1/drafts/${d.id}/refuse`, { reason: 'thiếu giấy', slip_lang: 'en' });
  console.log(rc.code);
  const b = await launch({ viewport: { width: 360, height: 740 } });
  await login(b.page, hub.base, OFFICER);
  await b.page.goto(`${hub.base}/#/slip/${rc.code}`);
  await b.page.waitForSelector('[data-testid=slip]');
  for (const hmm of [60, 100, 200, 400]) {
    const pdf = await b.page.pdf({ width: '58mm', height: `${hmm}mm`, margin: { top: '0', right: '0', bottom: '0', left: '0' } });
    const t = pdf.toString('latin1');
    console.log(hmm, t.match(/\/Count \d+/g), t.match(/\/MediaBox[^\]]*\]/g));
    fs.writeFileSync(`/tmp/sl/p${hmm}.pdf`, pdf);
  }
  await b.page.emulateMedia({ media: 'print' });
  console.log(await b.page.evaluate(() => [document.querySelector('.slip-print').getBoundingClientRect().height, document.body.scrollHeight, innerWidth]));
  await b.page.screenshot({ path: '/tmp/sl/print-emul.png', fullPage: true });
  await b.close();
} finally { await hub.stop(); }
