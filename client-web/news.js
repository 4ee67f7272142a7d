// Status news from the commune office (protocol §11.7). Field: the news page (#/news) — search by receipt
// code, then the news by hamlet, each card with the status in plain words and "Told ✓". The office
// publishes news through a dossier's status actions (casework.js).
import { h, t, api, btn, icon, banner, flash, errText, go, procTitle, procedures, fmtTime, fmtDate, codeInput, lettersToggle } from './lib.js';

const enc = encodeURIComponent;
export const NEWS_KINDS = ['received_verified', 'needs_papers', 'registered', 'ready_for_pickup', 'rejected'];

// A result number's kind in words: its own name, else the office's name for it, else the procedure it
// belongs to ("Số kết quả — Cấp Giấy xác nhận tình trạng hôn nhân"), never the raw key.
function resultKind(k) {
  for (const key of ['news.rk.' + k, 'dossier.result.' + k]) {
    const s = t(key);
    if (s !== key) return s;
  }
  const proc = procTitle({ id: String(k).replace(/_/g, '-') });
  return proc && proc !== String(k).replace(/_/g, '-') ? `${t('news.result_numbers')} — ${proc}` : t('news.result_numbers');
}

// The status in plain words, with its details (papers, numbers, place and days, reason).
export function statusBlock(s) {
  const title = h('p', { class: 'news-status news-' + s.kind, 'data-testid': 'news-status' },
    icon(s.kind === 'rejected' || s.kind === 'needs_papers' ? 'warn' : 'ok'), h('strong', {}, t('news.status.' + s.kind)));
  let more = null;
  if (s.kind === 'needs_papers') {
    more = h('div', {}, h('p', {}, t('news.bring')), h('ul', { 'data-testid': 'news-papers' }, s.papers.map((p) => h('li', {}, p))));
  } else if (s.kind === 'registered') {
    more = h('dl', { class: 'news-numbers', 'data-testid': 'news-numbers' }, s.result_numbers.map((r) =>
      h('div', { class: 'kv' }, h('dt', {}, resultKind(r.kind)), h('dd', { class: 'mono' }, r.number))));
  } else if (s.kind === 'ready_for_pickup') {
    more = h('dl', { 'data-testid': 'news-pickup' },
      h('div', { class: 'kv' }, h('dt', {}, t('news.where')), h('dd', {}, s.place)),
      h('div', { class: 'kv' }, h('dt', {}, t('news.when')), h('dd', {},
        s.until_date ? t('news.from_until', { from: fmtDate(s.from_date), until: fmtDate(s.until_date) }) : t('news.from_on', { from: fmtDate(s.from_date) }))));
  } else if (s.kind === 'rejected') {
    more = h('p', { 'data-testid': 'news-reason' }, t('news.why'), ' ', h('strong', {}, s.reason));
  }
  return [title, more];
}

function noteBlock(note) {
  return note ? h('p', { class: 'news-note', 'data-testid': 'news-note' }, h('span', { class: 'muted' }, t('news.note'), ' '), note) : null;
}

// ---------- field: #/news ----------
function newsCard(n, rerender) {
  const told = n.told_at
    ? h('p', { class: 'badge ok', 'data-testid': 'news-told' }, icon('ok'), t('news.told_at', { at: fmtTime(n.told_at) }))
    : btn('ok', t('news.told'), {
      class: 'btn primary', 'data-testid': 'news-told-btn',
      onclick: async (ev) => {
        ev.currentTarget.disabled = true;
        try { await api('POST', `/api/v1/news/${enc(n.news_id)}/told`, {}); rerender(); } catch (e) { flash(errText(e)); ev.currentTarget.disabled = false; }
      },
    });
  return h('li', { class: 'card news-card', 'data-testid': 'news-card', 'data-code': n.receipt_code },
    h('div', { class: 'row' }, h('strong', { class: 'mono big-code', 'data-testid': 'news-code' }, n.receipt_code),
      n.procedure ? h('span', {}, procTitle(n.procedure)) : null),
    n.verified ? null : banner('warn', t('news.unverified'), t('news.unverified_hint'), { 'data-testid': 'news-unverified' }),
    n.dossier_held === false ? banner('warn', t('news.not_held'), t('news.not_held_hint'), { 'data-testid': 'news-not-held' }) : null,
    statusBlock(n.status),
    noteBlock(n.note),
    h('p', { class: 'muted' }, t('news.published', { at: fmtTime(n.published_at) })),
    n.verified && n.dossier_held !== false ? told : null);
}

export async function newsView(app, _p, query, ctx) {
  const receipt = (query.get('receipt') || '').trim();
  // Digits on the numeric keypad; a tap gives letters, for codes on slips printed before digit codes.
  const input = codeInput({
    id: 'news-code', type: 'search', class: 'big-input mono', value: receipt,
    title: t('news.search_help'), 'data-testid': 'news-search', 'aria-describedby': 'news-code-help',
  });
  const search = h('form', { class: 'card news-search', role: 'search', onsubmit: (ev) => {
    ev.preventDefault();
    const v = input.value.trim();
    go(v ? '#/news?receipt=' + enc(v) : '#/news');
  } },
  h('label', { for: 'news-code' }, t('news.search')),
  h('p', { id: 'news-code-help', class: 'muted' }, t('news.search_help')),
  h('div', { class: 'row' }, input, h('button', { type: 'submit', class: 'btn primary' }, icon('qr'), h('span', {}, t('news.find')))),
  lettersToggle([input], { 'data-testid': 'news-letters' }),
  receipt ? h('a', { href: '#/news', class: 'btn' }, icon('back'), t('news.all')) : null);
  let r;
  let err = null;
  await procedures().catch(() => null);
  try {
    r = await api('GET', '/api/v1/news' + (receipt ? '?receipt=' + enc(receipt) : ''));
  } catch (e) {
    if (e.status !== 422) throw e;
    err = e; r = { hamlets: [] };
  }
  const rerender = () => newsView(app, _p, query, ctx);
  const groups = r.hamlets || [];
  const body = groups.length
    ? groups.map((g) => h('section', { class: 'group news-hamlet', 'data-testid': 'news-hamlet' },
      h('h2', {}, icon('people'), g.hamlet || t('news.no_session'), ' ', h('span', { class: 'count' }, String(g.items.length))),
      h('ul', { class: 'list plain' }, g.items.map((n) => newsCard(n, rerender)))))
    : h('p', { class: 'muted', 'data-testid': 'news-none' }, receipt && !err ? t('news.none_for', { code: r.receipt || receipt }) : t('news.none'));
  ctx.show(h('section', { class: 'news' }, h('h1', {}, t('news.title')),
    h('p', { class: 'muted' }, t('news.intro')),
    search,
    err ? banner('warn', errText(err), null, { 'data-testid': 'news-error' }) : null,
    r.unverified ? banner('warn', t('news.unverified_count', { n: r.unverified }), t('news.unverified_hint')) : null,
    body));
}
