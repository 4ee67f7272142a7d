// The printable receipt slip (#/slip/<CODE>): Vietnamese plus a second language the villager chooses, the
// receipt code, the tracking QR (a URL a phone camera opens: the public status page) and the signed QR,
// the originals to bring, and where and by when. Two print layouts: a 58 mm thermal roll and A5 portrait.
import { h, t, api, state, btn, icon, banner, fmtDate } from './lib.js';

const enc = encodeURIComponent;
const catalogues = {};

async function strings(lang) {
  if (!catalogues[lang]) {
    catalogues[lang] = fetch(`i18n/${lang}.json`, { cache: 'no-cache' }).then((r) => (r.ok ? r.json() : {})).catch(() => ({}));
  }
  return catalogues[lang];
}

// A string of the slip in `lang`: the UI catalogue if it has that language, else English.
function say(cats, lang, key, vars) {
  let s = (cats[lang] && cats[lang][key]) || cats.en[key] || cats.vi[key] || key;
  if (vars) s = s.replace(/\{(\w+)\}/g, (m, k) => (vars[k] ?? m));
  return s;
}

// A catalogue Text in `lang` (further languages live in `more`), English when it lacks that language.
function pick(text, lang) {
  if (!text) return '';
  return text[lang] || (text.more && text.more[lang]) || text.en || text.vi || '';
}

const LAYOUTS = { w58: { page: '58mm 297mm', margin: '0' }, a5: { page: 'A5 portrait', margin: '10mm' } };

function pageStyle(layout) {
  const l = LAYOUTS[layout];
  return `@media print { @page { size: ${l.page}; margin: ${l.margin}; } }`;
}

export async function slipView(app, [code], query, ctx) {
  const scheme = location.protocol === 'https:' ? '&scheme=https' : '';
  const [s, vi, en] = await Promise.all([
    api('GET', `/api/v1/receipts/${enc(code)}/slip?x=1${scheme}`), strings('vi'), strings('en'),
  ]);
  const cats = { vi, en };
  const langs = s.languages || ['en'];
  let second = query.get('lang') || (state.lang !== 'vi' ? state.lang : 'en');
  if (!langs.includes(second)) second = 'en';
  let layout = query.get('layout') === 'a5' ? 'a5' : 'w58';
  for (const l of langs) if (!cats[l]) cats[l] = await strings(l);

  const style = h('style', { id: 'slip-page-style' }, pageStyle(layout));
  const paper = h('div', { class: 'slip-paper' });

  // Both languages, Vietnamese first: "Vietnamese / second".
  const both = (key, vars) => [h('span', { lang: 'vi' }, say(cats, 'vi', key, vars)), ' / ',
    h('span', { lang: second, class: 'l2' }, say(cats, second, key, vars))];
  const bothText = (text) => [h('span', { lang: 'vi' }, pick(text, 'vi')), ' / ',
    h('span', { lang: second, class: 'l2' }, pick(text, second))];

  const draw = () => {
    style.textContent = pageStyle(layout);
    const d = s.due || {};
    const active = !['refused', 'voids'].includes(s.disposition);
    const originals = (s.originals || []).map((o) => h('li', { 'data-testid': 'slip-original', 'data-role': o.role },
      h('strong', {}, bothText(o.label)),
      o.visit === 'pickup' ? h('span', { class: 'when' }, ' — ', both('slip.at_pickup')) : h('span', { class: 'when' }, ' — ', both('slip.at_capture')),
      o.only_if ? h('span', { class: 'only-if' }, ' (', bothText(o.only_if), ')') : null));
    paper.replaceChildren(h('article', { class: `slip-print ${layout}`, 'data-testid': 'slip', 'data-layout': layout },
      h('p', { class: 'hub-line' }, s.hub_name),
      h('h2', { class: 'slip-title' }, both('slip.title')),
      h('p', { class: 'proc', 'data-testid': 'slip-procedure' }, bothText(s.procedure_title)),
      h('p', { class: 'code-label' }, both('receipt.code')),
      h('p', { class: 'code', 'data-testid': 'slip-code' }, s.code),
      s.tracking_number ? h('p', { class: 'small' }, both('slip.tracking'), ' ', h('span', { class: 'mono', 'data-testid': 'slip-tracking' }, s.tracking_number)) : null,
      h('div', { class: 'qrs' },
        h('figure', {},
          h('img', { class: 'qr track', 'data-testid': 'slip-track-qr', src: `/api/v1/receipts/${enc(s.code)}/track.png?x=1${scheme}`,
            alt: say(cats, state.lang, 'slip.track_alt'), width: '160', height: '160' }),
          h('figcaption', {}, both('slip.track_caption'), h('br'), h('span', { class: 'mono url', 'data-testid': 'slip-url' }, s.tracking_url),
            h('br'), both('slip.key'), ' ', h('strong', { class: 'mono', 'data-testid': 'slip-key' }, s.tracking_key))),
        s.qr ? h('figure', {},
          h('img', { class: 'qr signed', 'data-testid': 'slip-signed-qr', src: `/api/v1/receipts/${enc(s.code)}/qr.png`,
            alt: say(cats, state.lang, 'receipt.qr_alt'), width: '160', height: '160' }),
          h('figcaption', {}, both('slip.signed_caption'))) : null),
      h('dl', {},
        h('div', { class: 'kv' }, h('dt', {}, both('slip.sealed_on')), h('dd', { 'data-testid': 'slip-sealed-on' }, fmtDate(d.sealed_on))),
        active && d.due_by ? h('div', { class: 'kv' }, h('dt', {}, both('slip.due_by')),
          h('dd', { 'data-testid': 'slip-due' }, h('strong', {}, fmtDate(d.due_by)), ' ',
            both('slip.due_rule', { n: d.time_limit_working_days }))) : null,
        active && d.due_by_extended ? h('div', { class: 'kv' }, h('dt', {}, both('slip.due_extended')),
          h('dd', {}, fmtDate(d.due_by_extended))) : null,
        h('div', { class: 'kv' }, h('dt', {}, both('slip.where')), h('dd', { 'data-testid': 'slip-where' }, bothText(s.authority)))),
      active && originals.length ? h('section', { class: 'originals' }, h('h3', {}, both('slip.originals')), h('ul', {}, originals)) : null,
      active ? null : h('p', { class: 'disp', 'data-testid': 'slip-disposition' }, both('disp.' + s.disposition)),
      h('p', { class: 'keep' }, both('slip.keep'))));
  };

  const layoutPicker = h('fieldset', { class: 'radios two no-print' }, h('legend', {}, t('slip.layout')),
    ...[['w58', 'slip.layout_58'], ['a5', 'slip.layout_a5']].map(([v, k]) => h('label', { class: 'radio' },
      h('input', { type: 'radio', name: 'slip-layout', value: v, checked: v === layout, 'data-testid': 'slip-layout-' + v,
        onchange: () => { layout = v; draw(); } }), h('span', {}, t(k)))));
  const langSel = h('select', { id: 'slip-lang', 'data-testid': 'slip-lang',
    onchange: (e) => { second = e.target.value; draw(); } },
  ...langs.map((l) => h('option', { value: l, selected: l === second }, l === 'en' ? 'English' : l)));
  const printBtn = btn('print', t('receipt.print'), { class: 'btn primary big', 'data-testid': 'slip-print', onclick: () => window.print() });

  draw();
  ctx.show(h('section', { class: 'slip-screen' },
    style,
    h('h1', { class: 'no-print' }, t('slip.heading')),
    h('div', { class: 'no-print card' }, layoutPicker,
      h('div', { class: 'field' }, h('label', { for: 'slip-lang' }, t('slip.second_lang')), langSel),
      banner('warn', t('slip.holidays_note'))),
    paper,
    h('div', { class: 'row no-print' }, printBtn,
      h('a', { class: 'btn big', href: `#/receipt/${enc(s.code)}`, 'data-testid': 'slip-back' }, icon('back'), h('span', {}, t('slip.back'))))));
}
