// The queue board for a TV or laptop (public, no login): per desk the number being served, huge, and the
// next numbers; Vietnamese and English side by side. Live via Server-Sent Events; when the hub refuses a
// stream (too many open from this address or in all: 429/503) or the stream drops or falls silent, it
// polls the plain JSON board every few seconds and asks for the stream again later. The status line says
// which (live, refreshing, reconnecting) and the time of the last update, so a stale board never looks
// live. A hub locked after a restart (503 `hub_locked` until an officer logs in) is said as such, and the
// board carries on by itself once it is unlocked. Shows numbers only: never a villager's name.
import { h, t, icon, fmtDate } from './lib.js';

const DESKS = ['civil_status', 'police', 'telecom', 'guidance'];
const DESK_ICONS = { civil_status: 'doc', police: 'user', telecom: 'wifi', guidance: 'book' };

let catalogues = null;
// Both languages at once: the board is read by everyone in the room.
async function bothLanguages() {
  if (catalogues) return catalogues;
  const get = (l) => fetch(`i18n/${l}.json`).then((r) => (r.ok ? r.json() : {})).catch(() => ({}));
  const [vi, en] = await Promise.all([get('vi'), get('en')]);
  catalogues = { vi, en };
  return catalogues;
}

export async function boardView(app, params, query, ctx) {
  const cat = await bothLanguages();
  const vi = (k, vars) => fill(cat.vi[k] || t(k), vars);
  const en = (k, vars) => fill(cat.en[k] || t(k), vars);
  const pair = (k, vars, tag = 'span') => [h(tag, { lang: 'vi', class: 'vi' }, vi(k, vars)), h(tag, { lang: 'en', class: 'en' }, en(k, vars))];

  document.body.classList.add('board-mode');
  const status = h('p', { class: 'board-status', 'data-testid': 'board-status', role: 'status', 'data-state': 'connecting' }, pair('board.connecting'));
  // The time of the last update, outside the live region (it changes every few seconds).
  const updated = h('p', { class: 'board-updated', 'data-testid': 'board-updated' });
  const head = h('div', { class: 'board-head' });
  const grid = h('div', { class: 'board-grid', 'data-testid': 'board-grid' });
  // Announces each newly called number once (screen readers), without reading the whole board again.
  const live = h('p', { class: 'sr', 'aria-live': 'polite' });
  const last = {};

  function setStatus(state) {
    if (status.dataset.state === state) return;
    status.dataset.state = state;
    status.replaceChildren(icon(state === 'live' ? 'ok' : state === 'locked' ? 'lock' : 'reload'), ...pair('board.' + state));
  }
  // The board was brought up to date now.
  function fresh() {
    const d = new Date();
    const p2 = (n) => String(n).padStart(2, '0');
    const time = `${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())}`;
    updated.dataset.time = time;
    updated.replaceChildren(...pair('board.updated', { time }));
  }

  function render(b) {
    head.replaceChildren(
      h('h1', {}, icon('tv'), h('span', {}, b.hub_name || vi('app.name')), h('span', { class: 'board-sub' }, pair('board.title'))),
      b.session
        ? h('p', { class: 'board-place', 'data-testid': 'board-place' },
          `${b.session.hamlet} · ${b.session.venue_name}${b.session.commune ? ' · ' + b.session.commune : ''} · ${fmtDate(b.session.date)}`)
        : h('p', { class: 'board-place' }, pair('board.no_session')));
    if (!b.session) { grid.replaceChildren(); return; }
    const byDesk = Object.fromEntries((b.desks || []).map((d) => [d.desk, d]));
    const news = [];
    grid.replaceChildren(...DESKS.map((k) => {
      const d = byDesk[k] || { serving: null, next: [], recalls: 0 };
      const stamp = `${d.serving}:${d.recalls}`;
      if (d.serving != null && last[k] !== undefined && last[k] !== stamp) news.push(`${d.serving} → ${vi('outreach.desk.' + k)}`);
      last[k] = stamp;
      return h('section', { class: 'board-desk', 'data-desk': k, 'aria-labelledby': 'bd-' + k },
        h('h2', { id: 'bd-' + k }, icon(DESK_ICONS[k]), h('span', {}, pair('outreach.desk.' + k, null, 'span'))),
        h('p', { class: 'board-label' }, pair('board.serving')),
        h('p', { class: 'board-num', 'data-testid': 'board-' + k }, d.serving == null ? '—' : String(d.serving)),
        h('p', { class: 'board-next' }, pair('board.next'), ' ',
          h('strong', { 'data-testid': 'board-next-' + k }, d.next.length ? d.next.join('  ') : '—')));
    }));
    if (news.length) live.textContent = news.join('. ');
  }

  // Polling while there is no live stream: every POLL_MS; the stream is asked for again after
  // streamDelay (5 s, doubling up to a minute; the hub's Retry-After is 30 s); a stream with no event
  // (board or the 15 s ping) for SILENT_MS is taken as lost.
  const POLL_MS = 3000;
  const SILENT_MS = 45000;
  let es = null;
  let retry = null;
  let poller = null;
  let watchdog = null;
  let streamDelay = 5000;
  let stopped = false;

  // The hub waits for an officer to unlock it: no numbers to show, say why.
  // The locked board's styles, added when first needed (app.css is on every phone's capture path).
  const LOCKED_CSS = `.board-status[data-state=locked] { border-color: #ffb4a8; color: #ffb4a8; }
.board-locked { grid-column: 1 / -1; display: flex; flex-wrap: wrap; gap: .3em .6em; align-items: center; justify-content: center; margin: 2rem 0; padding: 1.5rem; border: 3px solid #ffb4a8; border-radius: 16px; color: #fff; font-size: clamp(1.4rem, 3vw, 2.6rem); text-align: center; }
.board-locked .en { flex-basis: 100%; font-size: .65em; color: #cfd8e3; }`;
  function locked() {
    if (!document.getElementById('board-locked-css')) document.head.append(h('style', { id: 'board-locked-css' }, LOCKED_CSS));
    setStatus('locked');
    if (!grid.querySelector('[data-testid=board-locked]')) {
      grid.replaceChildren(h('p', { class: 'board-locked', 'data-testid': 'board-locked' }, icon('lock'), pair('locked.wait_title')));
    }
  }

  async function poll() {
    if (!ctx.alive()) { stop(); return; }
    try {
      const r = await fetch('/api/v1/board', { cache: 'no-store' });
      if (await isLockedResponse(r)) { if (poller) locked(); return; }
      if (!r.ok) throw new Error(String(r.status));
      const b = await r.json();
      if (!poller) return; // the stream came back meanwhile
      render(b);
      fresh();
      setStatus('polling');
    } catch (_) {
      setStatus('reconnecting');
    }
  }
  function startPolling() {
    if (poller || stopped) return;
    poller = setInterval(poll, POLL_MS);
    poll();
  }
  function stopPolling() {
    clearInterval(poller);
    poller = null;
  }
  function retryStream() {
    clearTimeout(retry);
    retry = setTimeout(connect, streamDelay);
    streamDelay = Math.min(streamDelay * 2, 60000);
  }
  // An event came on the stream: it is live.
  function streamAlive() {
    streamDelay = 5000;
    stopPolling();
    setStatus('live');
    fresh();
    clearTimeout(watchdog);
    watchdog = setTimeout(streamLost, SILENT_MS);
  }
  // No event for three pings: the stream died without telling (a Wi-Fi drop).
  function streamLost() {
    if (es) es.close();
    es = null;
    setStatus('reconnecting');
    startPolling();
    retryStream();
  }
  function connect() {
    if (!ctx.alive() || stopped) { stop(); return; }
    es = new EventSource('/api/v1/board/events');
    es.addEventListener('board', (ev) => {
      if (!ctx.alive()) { stop(); return; }
      streamAlive();
      try { render(JSON.parse(ev.data)); } catch (_) { /* a bad frame: keep the last board */ }
    });
    es.addEventListener('ping', () => {
      if (!ctx.alive()) { stop(); return; }
      streamAlive();
    });
    es.addEventListener('error', () => {
      if (!ctx.alive()) { stop(); return; }
      clearTimeout(watchdog);
      // Refused at the hub's caps, or the hub is gone: poll meanwhile, so the numbers keep moving.
      if (status.dataset.state !== 'polling' && status.dataset.state !== 'locked') setStatus('reconnecting');
      startPolling();
      // The browser retries by itself while the stream is CONNECTING; a refused stream is CLOSED.
      if (es && es.readyState === EventSource.CLOSED) {
        es.close();
        es = null;
        retryStream();
      }
    });
  }
  function stop() {
    stopped = true;
    if (es) es.close();
    es = null;
    stopPolling();
    clearTimeout(retry);
    clearTimeout(watchdog);
    document.body.classList.remove('board-mode');
  }
  window.addEventListener('hashchange', stop, { once: true });

  // The first frame from plain JSON, so the board shows at once even where streams are slow to start.
  try {
    const r = await fetch('/api/v1/board', { cache: 'no-store' });
    if (await isLockedResponse(r)) locked();
    else if (r.ok) { render(await r.json()); fresh(); }
  } catch (_) { /* the stream will bring it */ }
  if (!head.childNodes.length) head.append(h('h1', {}, icon('tv'), h('span', {}, pair('board.title'))));
  ctx.show(h('div', { class: 'board', 'data-testid': 'board' }, head, h('div', { class: 'board-bar' }, status, updated), grid, live));
  connect();
}

// 503 with code `hub_locked`: the hub restarted and waits for an officer to unlock it.
async function isLockedResponse(r) {
  if (r.status !== 503) return false;
  try { const j = await r.clone().json(); return ((j && j.error) || j || {}).code === 'hub_locked'; } catch (_) { return false; }
}

function fill(s, vars) {
  if (!vars) return s;
  return s.replace(/\{(\w+)\}/g, (m, k) => (vars[k] ?? m));
}
