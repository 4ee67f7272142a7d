// Status news from the commune office (protocol §11.7). Field: the news page (#/news) — search by receipt
// code, then the news by hamlet, each card with the status in plain words and "Told ✓". Office: the
// "Send news to the field" section of a received dossier (officeNewsSection, used by office.js).
import { h, t, api, btn, icon, banner, flash, errText, detailText, go, procTitle, procedures, fmtTime, fmtDate, todayISO } from './lib.js';

const enc = encodeURIComponent;
export const NEWS_KINDS = ['received_verified', 'needs_papers', 'registered', 'ready_for_pickup', 'rejected'];
const RESULT_KINDS = ['birth_registration', 'pin', 'health_insurance', 'marriage_registration', 'death_registration', 'residence'];

// A result number's kind in words (unknown kinds as written).
function resultKind(k) {
  const key = 'news.rk.' + k;
  const s = t(key);
  return s === key ? k : s;
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
    statusBlock(n.status),
    noteBlock(n.note),
    h('p', { class: 'muted' }, t('news.published', { at: fmtTime(n.published_at) })),
    n.verified ? told : null);
}

export async function newsView(app, _p, query, ctx) {
  const receipt = (query.get('receipt') || '').trim();
  const input = h('input', {
    id: 'news-code', type: 'search', class: 'big-input mono', value: receipt, autocomplete: 'off', autocapitalize: 'characters',
    spellcheck: 'false', placeholder: 'ABCD-EFGH-J', 'data-testid': 'news-search', 'aria-describedby': 'news-code-help',
  });
  const search = h('form', { class: 'card news-search', role: 'search', onsubmit: (ev) => {
    ev.preventDefault();
    const v = input.value.trim();
    go(v ? '#/news?receipt=' + enc(v) : '#/news');
  } },
  h('label', { for: 'news-code' }, t('news.search')),
  h('p', { id: 'news-code-help', class: 'muted' }, t('news.search_help')),
  h('div', { class: 'row' }, input, h('button', { type: 'submit', class: 'btn primary' }, icon('qr'), h('span', {}, t('news.find')))),
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

// ---------- office: the "Send news to the field" section of a received dossier ----------
export async function officeNewsSection(dossierId) {
  const sec = h('section', { class: 'group card news-office no-print', 'data-testid': 'news-office' });
  const path = `/api/v1/office/dossiers/${enc(dossierId)}/news`;
  const uid = (s) => `news-${s}`;
  const field = (id, label, control) => h('div', { class: 'field', 'data-for': id }, h('label', { for: uid(id) }, label), control, h('p', { class: 'err', id: uid(id) + '-err', role: 'alert' }));
  const inp = (id, attrs = {}) => h('input', { id: uid(id), 'data-field': id, 'aria-describedby': uid(id) + '-err', ...attrs });
  const area = (id, attrs = {}) => h('textarea', { id: uid(id), 'data-field': id, rows: 3, 'aria-describedby': uid(id) + '-err', ...attrs });

  const radios = h('fieldset', { class: 'choices' }, h('legend', {}, t('news.status_label')),
    NEWS_KINDS.map((k, i) => h('label', { class: 'choice' },
      h('input', { type: 'radio', name: 'news-kind', value: k, checked: i === 0 ? true : undefined, 'data-testid': 'news-kind-' + k }),
      h('span', {}, t('news.status.' + k)))));
  const papers = area('status.papers', { placeholder: t('news.papers_ph') });
  const numbersBox = h('div', { class: 'news-numrows' });
  const addNumber = () => {
    const i = numbersBox.children.length;
    const sel = h('select', { id: uid(`rk-${i}`), 'data-field': `status.result_numbers[${i}].kind`, 'aria-label': t('news.result_kind') },
      RESULT_KINDS.map((k) => h('option', { value: k }, resultKind(k))));
    const num = h('input', { id: uid(`rn-${i}`), class: 'mono', 'data-field': `status.result_numbers[${i}].number`, 'aria-label': t('news.result_number'), 'data-testid': 'news-number' });
    numbersBox.append(h('div', { class: 'row' }, sel, num));
  };
  addNumber();
  const place = inp('status.place', { type: 'text', 'data-testid': 'news-place' });
  const from = inp('status.from_date', { type: 'date', value: todayISO(), 'data-testid': 'news-from' });
  const until = inp('status.until_date', { type: 'date', 'data-testid': 'news-until' });
  const reason = area('status.reason');
  const note = area('note', { 'data-testid': 'news-note-input' });
  const parts = {
    needs_papers: field('status.papers', t('news.papers'), papers),
    registered: h('div', { class: 'field', 'data-for': 'status.result_numbers' }, h('p', { class: 'label' }, t('news.result_numbers')), numbersBox,
      btn('plus', t('news.add_number'), { class: 'btn', onclick: addNumber }), h('p', { class: 'err', id: uid('status.result_numbers') + '-err', role: 'alert' })),
    ready_for_pickup: h('div', {}, field('status.place', t('news.place'), place), field('status.from_date', t('news.from_date'), from),
      field('status.until_date', t('news.until_date'), until)),
    rejected: field('status.reason', t('news.reason'), reason),
  };
  const kind = () => radios.querySelector('input:checked').value;
  const showParts = () => { for (const [k, el] of Object.entries(parts)) el.hidden = k !== kind(); };
  radios.addEventListener('change', showParts);
  showParts();

  const list = h('div', { 'data-testid': 'news-past' });
  const renderList = async () => {
    const r = await api('GET', path);
    list.replaceChildren(h('h3', {}, t('news.past'), ' ', h('span', { class: 'count' }, String(r.news.length))),
      r.news.length ? h('ul', { class: 'list plain' }, r.news.map((n) => h('li', { class: 'news-item', 'data-testid': 'news-past-item' },
        statusBlock(n.status), noteBlock(n.note),
        h('p', { class: 'muted' }, t('news.sent_by', { at: fmtTime(n.published_at), who: n.published_by_name || '?', n: n.seq })))))
        : h('p', { class: 'muted' }, t('news.past_none')));
  };

  const clearErrs = () => {
    sec.querySelectorAll('[aria-invalid]').forEach((c) => c.removeAttribute('aria-invalid'));
    sec.querySelectorAll('.err').forEach((e) => { e.textContent = ''; });
  };
  const send = btn('cloud', t('news.send'), { class: 'btn primary', 'data-testid': 'news-send' });
  send.addEventListener('click', async () => {
    clearErrs();
    const k = kind();
    const status = { kind: k };
    if (k === 'needs_papers') status.papers = papers.value.split('\n').map((s) => s.trim()).filter(Boolean);
    if (k === 'registered') {
      status.result_numbers = [...numbersBox.children].map((row) => ({ kind: row.querySelector('select').value, number: row.querySelector('input').value }))
        .filter((x, i) => i === 0 || x.number.trim());
    }
    if (k === 'ready_for_pickup') Object.assign(status, { place: place.value, from_date: from.value, until_date: until.value || null });
    if (k === 'rejected') status.reason = reason.value;
    send.disabled = true;
    try {
      await api('POST', path, { status, note: note.value.trim() || null });
      flash(t('news.sent'), 'ok');
      note.value = '';
      await renderList();
    } catch (e) {
      const details = e.details || [];
      for (const d of details) {
        const c = sec.querySelector(`[data-field="${CSS.escape(d.field)}"]`) || sec.querySelector(`[data-field="${CSS.escape(d.field.replace(/\[\d+\]$/, ''))}"]`);
        const box = (c && c.closest('.field')) || sec.querySelector(`[data-for="${CSS.escape(d.field.replace(/\[\d+\].*$/, ''))}"]`);
        if (c) c.setAttribute('aria-invalid', 'true');
        const errEl = box && box.querySelector('.err');
        if (errEl) errEl.textContent = detailText(d);
      }
      flash(details.length ? details.map(detailText).join(' ') : errText(e));
    } finally {
      send.disabled = false;
    }
  });
  sec.append(h('h2', {}, icon('cloud'), t('news.send_title')), h('p', { class: 'muted' }, t('news.send_intro')),
    radios, ...Object.values(parts), field('note', t('news.note_label'), note), h('div', { class: 'row' }, send), list);
  await renderList().catch((e) => list.replaceChildren(banner('warn', errText(e), null)));
  return sec;
}
