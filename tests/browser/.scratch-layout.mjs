// scratch (not a test): full-page screenshots of the draft steps, client from disk
import http from 'node:http'; import fs from 'node:fs'; import path from 'node:path';
import { startHub, launch, login, freePort, REPO } from './harness.mjs';
const OFFICER = { name: 'canbo.lan', role: 'officer', password: 'Can-bo-2026!' };
const hub = await startHub({ mode: 'field', users: [OFFICER], name: 'Trạm lưu động xã Phước Sơn' });
const root = path.join(REPO, 'client-web');
const proxy = http.createServer((req, res) => {
  const p = decodeURIComponent(req.url.split('?')[0]); const f = path.join(root, p === '/' ? 'index.html' : p);
  if (req.method === 'GET' && !p.startsWith('/api/') && fs.existsSync(f) && fs.statSync(f).isFile()) { res.writeHead(200, { 'content-type': { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.json': 'application/json' }[path.extname(f)] || 'application/octet-stream' }); fs.createReadStream(f).pipe(res); return; }
  const up = http.request({ host: '127.0.0.1', port: hub.port, path: req.url, method: req.method, headers: req.headers }, (r) => { res.writeHead(r.statusCode, r.headers); r.pipe(res); });
  req.pipe(up);
});
const port = await freePort(); await new Promise((r) => proxy.listen(port, '127.0.0.1', r));
const base = `http://127.0.0.1:${port}`;
const b = await launch({ viewport: { width: 360, height: 740 }, serviceWorkers: 'block' });
try {
  await login(b.page, base, OFFICER);
  const proc = process.argv[2] || 'birth-residence-insurance';
  const steps = Number(process.argv[3] || 1);
  await b.page.click(`[data-testid=new-${proc}]`);
  await b.page.waitForSelector('[data-testid=step-label]');
  for (let i = 1; i <= steps; i++) {
    await b.page.waitForTimeout(300);
    await b.page.screenshot({ path: `/tmp/scr/${proc}-${i}.png`, fullPage: true });
    const info = await b.page.evaluate(() => [...document.querySelectorAll('.draft [data-group]:not([hidden]) .field')].map((f) => `${f.dataset.key} ${Math.round(f.getBoundingClientRect().height)}`));
    console.log(i, info.join(', '));
    if (!(await b.page.isVisible('[data-testid=step-next]'))) break;
    await b.page.click('[data-testid=step-next]');
  }
} finally { await b.close(); proxy.close(); await hub.stop(); }
