// Villagers' own screens, no login: a receipt's status by its tracking QR (#/r/<CODE>) and the
// self-service pre-declaration (#/predeclare/<procedure-id>). Plus the team's small list of waiting
// pre-declarations with "take as draft" (predeclarationsPanel), for the field home.
import { h, t, txt, api, state, btn, icon, banner, errText, fmtDate, fmtTime, setLang, LANGS, go, flash, procTitle, procedures } from './lib.js';
import { renderForm, placeErrors } from './form.js';

const enc = encodeURIComponent;
const LANG_NAMES = { vi: 'Tiếng Việt', en: 'English' };

// The villager's language menu: a labelled list; changing it re-renders the page in that language.
function langMenu(onChange) {
  const sel = h('select', { id: 'self-lang', 'data-testid': 'self-lang',
    onchange: async (e) => { await setLang(e.target.value); onChange(); } },
  ...LANGS.map((l) => h('option', { value: l, lang: l, selected: l === state.lang }, LANG_NAMES[l] || l)));
  return h('div', { class: 'field self-lang no-print' }, h('label', { for: 'self-lang' }, icon('globe'), ' ', t('self.language')), sel);
}

const rerender = () => window.dispatchEvent(new HashChangeEvent('hashchange'));

// ---------- public receipt status ----------
export async function statusView(app, [code], query, ctx) {
  const key = query.get('k') || '';
  let r = null;
  let err = null;
  try {
    r = await api('GET', `/api/v1/public/receipts/${enc(code)}?k=${enc(key)}`);
  } catch (e) {
    if (!e || e.status == null || e.status === 0) throw e;
    err = e;
  }
  const lookup = h('form', { class: 'card no-print', 'data-testid': 'status-lookup',
    onsubmit: (e) => {
      e.preventDefault();
      const v = e.target.elements.code.value.trim();
      const k = e.target.elements.k.value.trim();
      if (v) go(`#/r/${enc(v)}?k=${enc(k)}`);
    } },
  h('p', {}, t('self.type_code')),
  h('div', { class: 'field' }, h('label', { for: 'status-code' }, t('receipt.code')),
    h('input', { id: 'status-code', name: 'code', autocomplete: 'off', autocapitalize: 'characters', spellcheck: 'false',
      placeholder: 'ABCD-EFGH-J', value: err ? code : '' })),
  h('div', { class: 'field' }, h('label', { for: 'status-key' }, t('self.key')),
    h('input', { id: 'status-key', name: 'k', autocomplete: 'off', autocapitalize: 'characters', spellcheck: 'false',
      placeholder: 'ABCD-EFGH-J', value: err ? key : '', 'aria-describedby': 'status-key-help' }),
    h('p', { id: 'status-key-help', class: 'muted small' }, t('self.key_help'))),
  h('button', { type: 'submit', class: 'btn' }, icon('doc'), h('span', {}, t('self.look_up'))));
  if (err) {
    const msg = err.status === 404 ? t('self.status_unknown') : errText(err);
    ctx.show(h('section', { class: 'self' }, langMenu(rerender), h('h1', {}, t('self.status_title')),
      banner('warn', msg, err.status === 404 ? t('self.status_unknown_hint') : null, { 'data-testid': 'status-error' }), lookup));
    return;
  }
  const d = r.due;
  const facts = [
    [t('self.procedure'), h('span', { 'data-testid': 'status-procedure' }, txt(r.procedure_title) || r.procedure.id)],
    [t('receipt.code'), h('span', { class: 'mono', 'data-testid': 'status-code' }, r.code)],
    [t('self.sealed_on'), fmtDate(r.sealed_on)],
    d ? [t('self.due_by'), h('span', { 'data-testid': 'status-due' }, h('strong', {}, fmtDate(d.due_by)), ' — ',
      t('self.due_rule', { n: d.time_limit_working_days }))] : null,
    r.authority ? [t('self.where'), txt(r.authority)] : null,
  ].filter(Boolean);
  ctx.show(h('section', { class: 'self status' },
    langMenu(rerender),
    h('h1', {}, t('self.status_title')),
    h('p', { class: `status-word s-${r.status}`, 'data-testid': 'status-word', 'data-status': r.status }, t('self.status.' + r.status)),
    h('p', { class: 'big-plain' }, t(r.handed_over ? 'self.handed_over' : (r.protected ? 'self.protected' : 'self.not_yet_protected'))),
    r.news ? h('section', { class: 'card', 'data-testid': 'status-news' }, h('h2', {}, t('news.latest')),
      h('p', { class: 'big-plain' }, h('strong', {}, t('news.status.' + r.news.kind))),
      r.news.papers ? h('ul', { class: 'big-list' }, r.news.papers.map((p) => h('li', {}, p))) : null,
      r.news.place ? h('p', {}, `${t('news.where')}: ${r.news.place}`) : null,
      r.news.from_date ? h('p', {}, `${t('news.when')}: ${r.news.until_date ? t('news.from_until', { from: fmtDate(r.news.from_date), until: fmtDate(r.news.until_date) }) : t('news.from_on', { from: fmtDate(r.news.from_date) })}`) : null) : null,
    h('dl', { class: 'card' }, facts.map(([k, v]) => h('div', { class: 'kv' }, h('dt', {}, k), h('dd', {}, v)))),
    r.originals && r.originals.length ? h('section', { class: 'card' }, h('h2', {}, t('self.originals')),
      h('ul', { class: 'big-list' }, r.originals.map((o) => h('li', { 'data-testid': 'status-original' },
        h('strong', {}, txt(o.label)), ' — ', t(o.visit === 'pickup' ? 'self.at_pickup' : 'self.at_capture'),
        o.only_if ? h('span', { class: 'muted' }, ` (${txt(o.only_if)})`) : null)))) : null,
    d ? h('p', { class: 'muted' }, t('slip.holidays_note')) : null,
    lookup));
}

// ---------- self-service pre-declaration ----------
export async function predeclareView(app, [procId], _q, ctx) {
  const { procedure: def } = await api('GET', `/api/v1/public/predeclare/${enc(procId)}`);
  let values = {};
  try { values = JSON.parse(sessionStorage.getItem('ok.predeclare.' + procId)) || {}; } catch (_) { values = {}; }
  const form = renderForm(def, values, (v) => {
    try { sessionStorage.setItem('ok.predeclare.' + procId, JSON.stringify(v)); } catch (_) { /* private mode */ }
  });
  const status = h('div', { 'aria-live': 'polite' });
  const send = btn('ok', t('self.send'), { class: 'btn primary big', type: 'submit', 'data-testid': 'predeclare-send' });
  const el = h('form', { class: 'self predeclare', novalidate: true, onsubmit: async (e) => {
    e.preventDefault();
    form.clearErrors();
    status.replaceChildren();
    send.disabled = true;
    try {
      const r = await api('POST', '/api/v1/public/predeclarations', { procedure: { id: def.id, version: def.version }, fields: form.collect(), lang: state.lang });
      try { sessionStorage.removeItem('ok.predeclare.' + procId); } catch (_) { /* ignore */ }
      showNumber(ctx, def, r);
    } catch (err) {
      send.disabled = false;
      if (err.status == null || err.status === 0) { status.replaceChildren(banner('warn', errText(err), t('err.offline_hint'))); return; }
      const loose = placeErrors(el, err.details || []);
      status.replaceChildren(banner('warn', errText(err), loose.map((x) => x.message_vi && state.lang === 'vi' ? x.message_vi : x.message_en).join(' ') || null,
        { 'data-testid': 'predeclare-error' }));
      const first = el.querySelector('[aria-invalid=true]');
      if (first) first.focus();
    }
  } },
  langMenu(rerender),
  h('h1', {}, txt(def.title)),
  h('p', { class: 'lead' }, t('self.intro')),
  banner('ok', t('self.privacy')),
  form.el,
  status,
  h('div', { class: 'row' }, send));
  ctx.show(el);
}

function showNumber(ctx, def, r) {
  ctx.show(h('section', { class: 'self done' },
    h('h1', {}, t('self.done_title')),
    h('p', { class: 'big-plain' }, t('self.done_show')),
    r.ticket ? h('div', { class: 'huge-number', 'data-testid': 'predeclare-ticket' }, h('span', { class: 'label' }, t('self.ticket')), h('span', { class: 'n' }, r.ticket)) : null,
    h('div', { class: 'huge-number', 'data-testid': 'predeclare-number' }, h('span', { class: 'label' }, t('self.pickup_number')), h('span', { class: 'n' }, String(r.pickup_number))),
    h('p', { class: 'muted' }, txt(def.title)),
    h('p', {}, t('self.done_next'))));
}

// ---------- team: waiting pre-declarations ----------
export function predeclarationsPanel() {
  const box = h('section', { class: 'card predeclarations', 'data-testid': 'predeclarations' }, h('h2', {}, icon('people'), ' ', t('self.waiting_title')));
  const list = h('ul', { class: 'plain' });
  box.append(list);
  (async () => {
    await procedures().catch(() => null);
    const r = await api('GET', '/api/v1/predeclarations');
    const items = r.predeclarations || [];
    // Nothing waiting: the home screen stays short.
    if (!items.length) { box.hidden = true; return; }
    list.replaceChildren(...items.map((p) => h('li', { class: 'row', 'data-testid': 'predeclaration' },
      h('span', { class: 'pickup' }, '#', String(p.pickup_number)),
      h('span', { class: 'grow' }, h('strong', {}, p.title || t('self.no_name')), h('br'),
        h('span', { class: 'muted small' }, procTitle(p.procedure), ' · ', fmtTime(p.created_at))),
      btn('plus', t('self.take'), { class: 'btn', 'data-testid': 'predeclaration-take', onclick: async (e) => {
        const b = e.currentTarget; // null once the handler awaits
        b.disabled = true;
        try {
          const d = await api('POST', `/api/v1/predeclarations/${enc(p.id)}/take`, {});
          go('#/draft/' + enc(d.id));
        } catch (err) { b.disabled = false; flash(errText(err)); }
      } }))));
  })().catch((err) => list.replaceChildren(h('li', {}, banner('warn', errText(err)))));
  return box;
}
