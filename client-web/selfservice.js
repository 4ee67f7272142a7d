// Villagers' own screens, no login: a receipt's status by its tracking QR (#/r/<CODE>) and the
// self-service pre-declaration (#/predeclare/<procedure-id>). Plus the team's small list of waiting
// pre-declarations with "take as draft" (predeclarationsPanel), for the field home.
import { h, t, txt, api, state, btn, icon, banner, errText, isLocked, fmtDate, fmtTime, setLang, LANGS, langName, langInfo, loadLanguages, go, flash, procTitle, procedures, codeInput, lettersToggle } from './lib.js';

const enc = encodeURIComponent;

// The villager's language menu: a labelled list; changing it re-renders the page in that language.
function langMenu(onChange) {
  const sel = h('select', { id: 'self-lang', 'data-testid': 'self-lang',
    onchange: async (e) => { await setLang(e.target.value); onChange(); } },
  ...LANGS.map((l) => h('option', { value: l, lang: l, selected: l === state.lang }, langName(l))));
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
    // Out of reach, or the hub locked after a restart (the app says so and carries on once unlocked).
    if (!e || e.status == null || e.status === 0 || isLocked(e)) throw e;
    err = e;
  }
  // Typed from the slip: digits on the numeric keypad (a tap gives letters, for slips printed before).
  const codeIn = codeInput({ id: 'status-code', name: 'code', required: true, value: err ? code : '',
    title: t('self.code_help'), 'aria-describedby': 'status-code-help' });
  const keyIn = codeInput({ id: 'status-key', name: 'k', value: err ? key : '',
    title: t('self.key_help'), 'aria-describedby': 'status-key-help' });
  const lookup = h('form', { class: 'card no-print', 'data-testid': 'status-lookup',
    onsubmit: (e) => {
      e.preventDefault();
      const v = e.target.elements.code.value.trim();
      const k = e.target.elements.k.value.trim();
      if (v) go(`#/r/${enc(v)}?k=${enc(k)}`);
    } },
  h('p', {}, t('self.type_code')),
  h('div', { class: 'field' }, h('label', { for: 'status-code' }, t('receipt.code')),
    codeIn, h('p', { id: 'status-code-help', class: 'muted small' }, t('self.code_help'))),
  h('div', { class: 'field' }, h('label', { for: 'status-key' }, t('self.key')),
    keyIn, h('p', { id: 'status-key-help', class: 'muted small' }, t('self.key_help'))),
  h('div', { class: 'row' }, h('button', { type: 'submit', class: 'btn' }, icon('doc'), h('span', {}, t('self.look_up'))),
    lettersToggle([codeIn, keyIn], { 'data-testid': 'status-letters' })));
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
  // The current state first and alone in large type: the office's latest news once there is some (e.g.
  // "Registered"), else the state at capture ("Received — waiting"). What came before follows, small.
  const current = r.news && r.status === 'new';
  const n = r.news || {};
  const said = n.published_at ? h('p', { class: 'muted', 'data-testid': 'status-news-date' }, t('self.news_on', { date: fmtTime(n.published_at).slice(0, 10) })) : null;
  const details = !!((n.papers && n.papers.length) || n.place || n.from_date);
  const newsBlock = !r.news ? null : (current && !details ? said : h('section', { class: 'card', 'data-testid': 'status-news' },
    h('h2', {}, current ? t('self.news_details') : t('news.latest')),
    current ? null : h('p', { class: 'big-plain' }, h('strong', {}, t('news.status.' + n.kind))),
    said,
    n.papers ? h('ul', { class: 'big-list' }, n.papers.map((p) => h('li', {}, p))) : null,
    n.place ? h('p', {}, `${t('news.where')}: ${n.place}`) : null,
    n.from_date ? h('p', {}, `${t('news.when')}: ${n.until_date ? t('news.from_until', { from: fmtDate(n.from_date), until: fmtDate(n.until_date) }) : t('news.from_on', { from: fmtDate(n.from_date) })}`) : null));
  const atCapture = t(r.handed_over ? 'self.handed_over' : (r.protected ? 'self.protected' : 'self.not_yet_protected'));
  ctx.show(h('section', { class: 'self status' },
    langMenu(rerender),
    h('h1', {}, t('self.status_title')),
    // The office recorded this dossier under another code (the code was handed out twice by a restored or
    // cloned hub): the villager is told the new one before anything else.
    n.recorded_as ? h('p', { class: 'banner warn', 'data-testid': 'status-recorded-as' }, h('span', {},
      t('self.recorded_as'), ' ', h('strong', { class: 'mono nowrap', 'data-testid': 'status-new-code' }, n.recorded_as), ' ',
      t('self.recorded_as_use'))) : null,
    current
      ? h('p', { class: `status-word s-news-${r.news.kind}`, 'data-testid': 'status-word', 'data-status': r.status, 'data-news': r.news.kind }, t('news.status.' + r.news.kind))
      : h('p', { class: `status-word s-${r.status}`, 'data-testid': 'status-word', 'data-status': r.status }, t('self.status.' + r.status)),
    current ? newsBlock : h('p', { class: 'big-plain' }, atCapture),
    current ? null : newsBlock,
    current ? h('p', { class: 'muted', 'data-testid': 'status-earlier' }, t('self.earlier', { when: fmtDate(r.sealed_on) }), ' ', atCapture) : null,
    h('dl', { class: 'card' }, facts.map(([k, v]) => h('div', { class: 'kv' }, h('dt', {}, k), h('dd', {}, v)))),
    r.originals && r.originals.length ? h('section', { class: 'card' }, h('h2', {}, t('self.originals')),
      h('ul', { class: 'big-list' }, r.originals.map((o) => h('li', { 'data-testid': 'status-original' },
        h('strong', {}, txt(o.label)), ' — ', t(o.visit === 'pickup' ? 'self.at_pickup' : 'self.at_capture'),
        o.only_if ? h('span', { class: 'muted' }, ` (${txt(o.only_if)})`) : null)))) : null,
    d && d.holidays_known === false ? h('p', { class: 'muted', 'data-testid': 'status-holidays-note' }, t('slip.holidays_note')) : null,
    lookup));
}

// ---------- self-service pre-declaration ----------
// One question per screen, spoken, with pictures (ask.js, loaded only here).
export async function predeclareView(app, [procId], _q, ctx) {
  const { askView } = await import('./ask.js');
  return askView(procId, ctx, { langMenu, secureOffer, rerender });
}

// On plain HTTP from a phone, what is typed here can be read by others on the open Wi-Fi (docs/security.md).
// A phone that installed the hub's certificate can send it over the secure address instead.
function secureOffer(hash) {
  if (state.secure !== false || !state.httpsUrl) return null;
  return h('p', { class: 'hint', 'data-testid': 'predeclare-secure' }, t('self.secure_offer'), ' ',
    h('a', { href: `${state.httpsUrl.replace(/\/$/, '')}/${hash}`, 'data-testid': 'predeclare-secure-link' }, t('self.secure_link')));
}

// ---------- team: waiting pre-declarations ----------
// A villager's language as the team reads it: its own name, and its Vietnamese name when that differs
// ("Bahnar (Ba Na)"); never the bare code of a language the hub lists.
function teamLangName(code) {
  const l = langInfo(code);
  if (!l) return langName(code);
  return l.vi_name && l.vi_name !== l.native_name ? `${l.native_name} (${l.vi_name})` : l.native_name;
}

export function predeclarationsPanel() {
  const box = h('section', { class: 'card predeclarations', 'data-testid': 'predeclarations' }, h('h2', {}, icon('people'), ' ', t('self.waiting_title')));
  const list = h('ul', { class: 'plain' });
  box.append(list);
  (async () => {
    await Promise.all([procedures().catch(() => null), state.languages ? null : loadLanguages().catch(() => null)]);
    const r = await api('GET', '/api/v1/predeclarations');
    const items = r.predeclarations || [];
    // Nothing waiting: the home screen stays short.
    if (!items.length) { box.hidden = true; return; }
    list.replaceChildren(...items.map((p) => h('li', { class: 'row', 'data-testid': 'predeclaration' },
      // The number the villager was told (their queue ticket, else the pre-declaration's number), named.
      h('span', { class: 'pickup', 'data-testid': 'predeclaration-number', 'data-kind': p.number_kind },
        h('small', {}, t(p.number_kind === 'ticket' ? 'self.ticket' : 'self.pickup_number')), ' ', h('strong', {}, String(p.number))),
      h('span', { class: 'grow' }, h('strong', {}, p.title || t('self.no_name')), h('br'),
        h('span', { class: 'muted small' }, procTitle(p.procedure), ' · ', fmtTime(p.created_at)),
        // The language the villager filled it in: who on the team should talk with them.
        p.lang ? h('span', { class: 'badge villager-lang', 'data-testid': 'predeclaration-lang', 'data-lang': p.lang },
          icon('globe'), h('span', { class: 'sr' }, t('self.villager_language'), ': '), h('span', { lang: p.lang }, teamLangName(p.lang))) : null),
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
