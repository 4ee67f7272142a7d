// Service worker: keeps the app shell (HTML, scripts, styles, strings, icons) on the phone so the app
// opens and drafts can be typed with no Wi-Fi. The shell is answered from the cache at once and refreshed
// from the hub in the background (stale-while-revalidate), so a new hub version reaches the phone on the
// next start. API calls and photos are never cached here: personal data stays in IndexedDB, per user.
// An office hub registers `sw.js?mode=office`: its shell holds the office's modules, not the capture path's.
const OFFICE = new URL(self.location.href).searchParams.get('mode') === 'office';
const CACHE = OFFICE ? 'shell-office-v2' : 'shell-v3';
const SHELL = [
  './', 'index.html', 'app.css', 'app.js', 'lib.js', 'i18n/vi.json', 'i18n/en.json', 'manifest.webmanifest', 'icons/icon-192.png',
  ...(OFFICE ? ['office.js', 'casework.js', 'values.js', 'office.css'] : ['field.js', 'form.js', 'values.js', 'store.js', 'outbox.js', 'data/ethnic-groups.json']),
];

self.addEventListener('install', (ev) => {
  ev.waitUntil(caches.open(CACHE).then((c) => c.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (ev) => {
  ev.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});

self.addEventListener('fetch', (ev) => {
  const req = ev.request;
  const url = new URL(req.url);
  if (req.method !== 'GET' || url.origin !== self.location.origin) return;
  if (url.pathname.startsWith('/api/') || url.pathname === '/healthz' || url.pathname === '/ca.crt') return;
  // The app routes by hash: every page is index.html.
  const key = req.mode === 'navigate' ? 'index.html' : req;
  ev.respondWith(caches.open(CACHE).then(async (cache) => {
    const hit = await cache.match(key, { ignoreSearch: true });
    const fresh = fetch(req).then((res) => {
      if (res.ok && res.type === 'basic') cache.put(key, res.clone());
      return res;
    });
    if (hit) { ev.waitUntil(fresh.catch(() => null)); return hit; }
    return fresh;
  }));
});
