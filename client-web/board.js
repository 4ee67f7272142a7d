// The queue board for a TV or laptop (public, no login): per desk the number being served, huge, and the
// next numbers; Vietnamese and English side by side. Live via Server-Sent Events, reconnecting by itself.
// Shows numbers only: never a villager's name.
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
  const head = h('div', { class: 'board-head' });
  const grid = h('div', { class: 'board-grid', 'data-testid': 'board-grid' });
  // Announces each newly called number once (screen readers), without reading the whole board again.
  const live = h('p', { class: 'sr', 'aria-live': 'polite' });
  const last = {};

  function setStatus(state) {
    status.dataset.state = state;
    status.replaceChildren(icon(state === 'live' ? 'ok' : 'reload'), ...pair('board.' + state));
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

  let es = null;
  let retry = null;
  let delay = 1000;
  function connect() {
    if (!ctx.alive()) return;
    es = new EventSource('/api/v1/board/events');
    es.addEventListener('board', (ev) => {
      if (!ctx.alive()) { stop(); return; }
      delay = 1000;
      setStatus('live');
      try { render(JSON.parse(ev.data)); } catch (_) { /* a bad frame: keep the last board */ }
    });
    es.addEventListener('error', () => {
      if (!ctx.alive()) { stop(); return; }
      setStatus('reconnecting');
      // The browser retries by itself while the stream is CONNECTING; if it gave up, start again later.
      if (es.readyState === EventSource.CLOSED) {
        es.close();
        clearTimeout(retry);
        retry = setTimeout(connect, delay);
        delay = Math.min(delay * 2, 15000);
      }
    });
  }
  function stop() {
    if (es) es.close();
    clearTimeout(retry);
    document.body.classList.remove('board-mode');
  }
  window.addEventListener('hashchange', stop, { once: true });

  // The first frame from plain JSON, so the board shows at once even where streams are slow to start.
  try {
    const r = await fetch('/api/v1/board', { cache: 'no-store' });
    if (r.ok) render(await r.json());
  } catch (_) { /* the stream will bring it */ }
  if (!head.childNodes.length) head.append(h('h1', {}, icon('tv'), h('span', {}, pair('board.title'))));
  ctx.show(h('div', { class: 'board', 'data-testid': 'board' }, head, status, grid, live));
  connect();
}

function fill(s, vars) {
  if (!vars) return s;
  return s.replace(/\{(\w+)\}/g, (m, k) => (vars[k] ?? m));
}
