// The printable receipt slip (#/slip/<CODE>): in the villager's language (chosen at capture, see
// slipLangPicker) and then Vietnamese, or Vietnamese alone when that is the villager's language; the
// receipt code; one QR, the tracking URL a phone camera opens (the public status page), with that URL and
// the lookup key printed under it; the papers whose original applies to this dossier; where and by when.
// Two print layouts: a 58 mm thermal roll (≤ 15 cm for a typical dossier) and A5 portrait, which also
// carries the signed receipt QR (OKR1:…) for an officer to verify offline. Those go through the browser's
// print dialog; thermal.js (loaded with this page) prints the hub's own raster of the slip on an ESC/POS
// thermal printer: the hub's USB one, or a Bluetooth one from this phone.
import { h, t, api, state, btn, icon, banner, fmtDate, langInfo } from './lib.js';

const enc = encodeURIComponent;
const packs = {};

// A language's texts for the slip: UI strings, and (added languages) the catalogue translations.
function pack(lang) {
  if (!packs[lang]) {
    const get = (url) => fetch(url, { cache: 'no-cache' }).then((r) => (r.ok ? r.json() : {})).catch(() => ({}));
    packs[lang] = lang === 'vi' || lang === 'en'
      ? get(`i18n/${lang}.json`).then((ui) => ({ ui, keys: {} }))
      : get(`/api/v1/languages/${enc(lang)}/strings`).then((j) => ({ ui: j.strings || {}, keys: j.catalogue_keys || {} }));
  }
  return packs[lang];
}

// A UI string of `p` with its {placeholders} filled; null when the language lacks it.
function say(p, key, vars) {
  let s = p.ui[key];
  if (!s) return null;
  if (vars) s = s.replace(/\{(\w+)\}/g, (m, k) => (vars[k] ?? m));
  return s;
}

// A catalogue Text {vi, en, more} in `lang` (p: that language's pack); null when it lacks that language.
function pick(p, lang, text) {
  if (!text) return null;
  if (lang === 'vi') return text.vi || null;
  if (lang === 'en') return text.en || null;
  const k = p.keys[text.vi];
  return (k && p.ui[k]) || (text.more && text.more[lang]) || null;
}

// The written languages a villager's slip can be printed in, Vietnamese first.
function written() {
  const list = (state.languages || []).filter((l) => l.has_script !== false);
  return list.length ? list : [{ code: 'vi', native_name: 'Tiếng Việt' }];
}

function langName(code) {
  const l = langInfo(code);
  if (!l) return code;
  return l.vi_name && l.vi_name !== l.native_name ? `${l.native_name} — ${l.vi_name}` : l.native_name;
}

/**
 * The capture flow's choice of the villager's language for the slip (the draft's review step): a select
 * of the hub's written languages, kept for the draft in this tab. `value()` goes with the seal request as
 * `slip_lang` and is recorded with the receipt on the hub.
 */
export function slipLangPicker(draftId) {
  const key = 'ok.slipLang.' + draftId;
  let chosen = 'vi';
  try { chosen = sessionStorage.getItem(key) || 'vi'; } catch (_) { /* private mode */ }
  const langs = written();
  if (!langs.some((l) => l.code === chosen)) chosen = 'vi';
  const sel = h('select', { id: 'slip-lang-pick', 'data-testid': 'slip-lang-pick', 'aria-describedby': 'slip-lang-pick-help',
    onchange: () => { try { sessionStorage.setItem(key, sel.value); } catch (_) { /* private mode */ } } },
  langs.map((l) => h('option', { value: l.code, selected: l.code === chosen }, langName(l.code))));
  const el = h('div', { class: 'field card slip-lang-pick no-print' },
    h('label', { for: 'slip-lang-pick' }, t('slip.villager_lang')),
    h('p', { class: 'help', id: 'slip-lang-pick-help' }, t('slip.villager_lang_help')), sel);
  return { el, value: () => sel.value };
}

const MM = 96 / 25.4; // CSS pixels per millimetre

// The printed page: A5 portrait, or a 58 mm roll cut to the slip's own length (`lengthMm`), so the
// printer feeds no more paper than the slip takes (a fixed 297 mm page would feed 29.7 cm every time).
function pageStyle(layout, lengthMm) {
  const page = layout === 'a5' ? 'size: A5 portrait; margin: 8mm;' : `size: 58mm ${lengthMm || 297}mm; margin: 0;`;
  return `@media print { @page { ${page} } }`;
}

export async function slipView(app, [code], query, ctx) {
  const scheme = location.protocol === 'https:' ? '&scheme=https' : '';
  const s = await api('GET', `/api/v1/receipts/${enc(code)}/slip?x=1${scheme}`);
  const langs = s.languages && s.languages.length ? s.languages : ['vi'];
  const valid = (l) => (l && langs.includes(l) ? l : null);
  // The villager's language: as chosen at capture (recorded with the receipt), or changed here for this
  // print; Vietnamese for a receipt sealed before the choice was recorded.
  let lang = valid(query.get('lang')) || valid(s.lang) || 'vi';
  let layout = query.get('layout') === 'a5' ? 'a5' : 'w58';
  const vi = await pack('vi');
  let first = null;

  const style = h('style', { id: 'slip-page-style' }, pageStyle(layout));
  // The 58 mm slip is laid out at its printed width on screen too (sizes in mm and pt), so its height
  // here is its printed length; 1 mm spare for the print-only differences (no dashed border).
  const fit = () => {
    const art = paper.querySelector('.slip-print');
    if (!art || !art.isConnected) return;
    style.textContent = pageStyle(layout, Math.ceil(art.getBoundingClientRect().height / MM + 1));
  };
  const paper = h('div', { class: 'slip-paper' });

  // The villager's language first, then Vietnamese; Vietnamese alone when the villager reads it or when
  // their language lacks this text.
  const two = (l1, v) => (l1 && l1 !== v
    ? [h('span', { lang, class: 'l1' }, l1), h('span', { class: 'sep', 'aria-hidden': 'true' }, ' / '), h('span', { lang: 'vi', class: 'l2' }, v)]
    : [h('span', { lang: 'vi' }, v)]);
  const both = (key, vars) => two(lang === 'vi' ? null : say(first, key, vars), say(vi, key, vars) || key);
  const bothText = (text) => two(lang === 'vi' ? null : pick(first, lang, text), pick(vi, 'vi', text) || '');

  const draw = () => {
    const w58 = layout === 'w58';
    const d = s.due || {};
    const active = !['refused', 'voids'].includes(s.disposition);
    const originals = (s.originals || []).map((o) => h('li', { 'data-testid': 'slip-original', 'data-role': o.role },
      h('strong', {}, bothText(o.label)),
      h('span', { class: 'when' }, ' — ', both((o.visit === 'pickup' ? 'slip.at_pickup' : 'slip.at_capture') + (w58 ? '_short' : ''))),
      o.only_if ? h('span', { class: 'only-if' }, ' (', bothText(o.only_if), ')') : null));
    const trackQr = h('img', { class: 'qr track', 'data-testid': 'slip-track-qr', src: `/api/v1/receipts/${enc(s.code)}/track.png?x=1${scheme}`,
      alt: t('slip.track_alt'), width: '160', height: '160' });
    paper.replaceChildren(h('article', { class: `slip-print ${layout}`, 'data-testid': 'slip', 'data-layout': layout, 'data-lang': lang },
      // On the roll, the date the dossier was received goes beside the hub's name (the usual place on a
      // till receipt); A5 has room for it labelled below.
      h('p', { class: 'hub-line' }, s.hub_name, w58 ? [' · ', h('span', { 'data-testid': 'slip-sealed-on' }, fmtDate(d.sealed_on))] : null),
      // (the roll saves the title's two lines: its code label says "receipt")
      w58 ? null : h('h2', { class: 'slip-title' }, both('slip.title')),
      h('p', { class: 'proc', 'data-testid': 'slip-procedure' }, bothText(s.procedure_title)),
      h('p', { class: 'code-label' }, both('receipt.code')),
      h('p', { class: 'code', 'data-testid': 'slip-code' }, s.code),
      !w58 && s.tracking_number ? h('p', { class: 'small' }, both('slip.tracking'), ' ', h('span', { class: 'mono', 'data-testid': 'slip-tracking' }, s.tracking_number)) : null,
      // The QR with what it is for and the key to type by hand beside it; the status URL (breaking
      // anywhere) under both, across the paper's width.
      // On A5 the signed receipt QR stands beside them, for an officer to verify the receipt offline (the
      // 58 mm roll carries only the QR a villager's phone opens; the receipt screen shows the signed one).
      h('div', { class: 'track-box' }, trackQr,
        h('p', { class: 'track-cap' }, both(w58 ? 'slip.track_short' : 'slip.track_caption')),
        h('p', { class: 'key-line' }, both('slip.key'), ' ', h('strong', { class: 'key', 'data-testid': 'slip-key' }, s.tracking_key)),
        h('p', { class: 'url', 'data-testid': 'slip-url' }, s.tracking_url),
        !w58 && s.qr ? h('figure', { class: 'signed-box' },
          h('img', { class: 'qr signed', 'data-testid': 'slip-signed-qr', src: `/api/v1/receipts/${enc(s.code)}/qr.png`,
            alt: t('receipt.qr_alt'), width: '160', height: '160' }),
          h('figcaption', {}, both('slip.signed_caption'))) : null),
      h('dl', {},
        w58 ? null : h('div', { class: 'kv' }, h('dt', {}, both('slip.sealed_on')), h('dd', { 'data-testid': 'slip-sealed-on' }, fmtDate(d.sealed_on))),
        active && d.due_by ? h('div', { class: 'kv' }, h('dt', {}, both('slip.due_by')),
          h('dd', { 'data-testid': 'slip-due' }, h('strong', {}, fmtDate(d.due_by)), ' ',
            h('span', { class: 'rule' }, both(w58 ? 'slip.due_rule_short' : 'slip.due_rule', { n: d.time_limit_working_days })))) : null,
        active && d.due_by_extended ? h('div', { class: 'kv' }, h('dt', {}, both(w58 ? 'slip.due_extended_short' : 'slip.due_extended')),
          h('dd', {}, fmtDate(d.due_by_extended))) : null,
        h('div', { class: 'kv' }, h('dt', {}, both(w58 ? 'slip.where_short' : 'slip.where')), h('dd', { 'data-testid': 'slip-where' }, bothText(s.authority)))),
      active && originals.length ? h('section', { class: 'originals' }, h('h3', {}, both(w58 ? 'slip.originals_short' : 'slip.originals')), h('ul', {}, originals)) : null,
      active ? null : h('p', { class: 'disp', 'data-testid': 'slip-disposition' }, both('disp.' + s.disposition)),
      h('p', { class: 'keep' }, both(w58 ? 'slip.keep_short' : 'slip.keep'))));
    fit();
  };

  const layoutPicker = h('fieldset', { class: 'radios two no-print' }, h('legend', {}, t('slip.layout')),
    ...[['w58', 'slip.layout_58'], ['a5', 'slip.layout_a5']].map(([v, k]) => h('label', { class: 'radio' },
      h('input', { type: 'radio', name: 'slip-layout', value: v, checked: v === layout, 'data-testid': 'slip-layout-' + v,
        onchange: () => { layout = v; draw(); } }), h('span', {}, t(k)))));
  const langSel = h('select', { id: 'slip-lang', 'data-testid': 'slip-lang',
    onchange: async (e) => { lang = e.target.value; first = await pack(lang); draw(); if (thermal) thermal.refresh(); } },
  ...langs.map((l) => h('option', { value: l, selected: l === lang }, langName(l))));
  const printBtn = btn('print', t('receipt.print'), { class: 'btn primary big', 'data-testid': 'slip-print', onclick: () => window.print() });

  // Printing on a thermal printer, on the hub's USB one or from this phone over Bluetooth (thermal.js,
  // loaded with this page only). Without it the page still prints through the browser.
  const thermal = await import('./thermal.js')
    .then((m) => m.thermalPanel({ code: s.code, lang: () => lang, scheme: scheme ? 'https' : null }))
    .catch((e) => { console.error(e && e.message); return null; }); // e.g. offline, thermal.js not cached yet
  first = await pack(lang);
  draw();
  window.addEventListener('beforeprint', fit);
  window.addEventListener('hashchange', () => window.removeEventListener('beforeprint', fit), { once: true });
  if (document.fonts) document.fonts.ready.then(fit);
  ctx.show(h('section', { class: 'slip-screen' },
    style,
    h('h1', { class: 'no-print' }, t('slip.heading')),
    h('div', { class: 'no-print card' }, layoutPicker,
      h('div', { class: 'field' }, h('label', { for: 'slip-lang' }, t('slip.villager_lang')), langSel),
      s.due && s.due.holidays_known === false ? banner('warn', t('slip.holidays_note'), null, { 'data-testid': 'slip-holidays-note' }) : null),
    thermal ? thermal.el : null,
    paper,
    h('div', { class: 'row no-print' }, printBtn,
      h('a', { class: 'btn big', href: `#/receipt/${enc(s.code)}`, 'data-testid': 'slip-back' }, icon('back'), h('span', {}, t('slip.back'))))));
  fit();
}
