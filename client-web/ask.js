// The villager's self-service pre-declaration (#/predeclare/<procedure-id>), one question per screen, and
// spoken: every label, hint, choice and error has a listen button (the recording in the villager's language,
// else the Vietnamese one marked "VI" on the button, else a visible "no recording" mark); concrete choices
// (sex, relationship, yes/no) have pictures; big Next / Back; the done screen shows one big number and says
// it (digit by digit where the digits are recorded). Loaded only by predeclareView (selfservice.js): the
// team's capture path never downloads it, nor its styles (ask.css).
// The questions are form.js's renderForm as the team's form has them, shown one at a time: which ones are
// asked follows the catalogue's conditions exactly as form.js applies them (fields it folds away, groups it
// skips are not asked).
import { h, t, txt, api, state, banner, errText, detailText, textKey, loadStyles } from './lib.js';
import { renderForm, placeErrors, valueText } from './form.js';
import { playUrl } from './lang.js';

const enc = encodeURIComponent;
const NS = 'http://www.w3.org/2000/svg';
const audioUrl = (lang, key, sha) => `/api/v1/languages/${enc(lang)}/audio/${enc(key)}?v=${sha}`;


// ---------- pictures (inline SVG, stroke style, 24×24) ----------
const HEAD = (x, y, r) => `M${x} ${y + r}a${r} ${r} 0 1 0 0-${2 * r}a${r} ${r} 0 0 0 0 ${2 * r}`;
const MAN = (x) => `${HEAD(x, 4.5, 2.2)}M${x - 3} 8.5h6v6.5h-1.5V22h-3v-7H${x - 3}z`;
const WOMAN = (x) => `${HEAD(x, 4.5, 2.2)}M${x - 2} 8.5h4l3 8h-3.5V22h-3v-5.5H${x - 5}z`;
const KID = (x) => `${HEAD(x, 12.5, 1.6)}M${x - 1.8} 15.5h3.6v3.5h-.9V22h-1.8v-3h-.9z`;
const PICTS = {
  male: [MAN(12)],
  female: [WOMAN(12)],
  self: [MAN(12), 'M3 21l4-4M3 17v4h4'],
  mother: [WOMAN(8), KID(18)],
  father: [MAN(8), KID(18)],
  parent: [WOMAN(7), MAN(17)],
  grandparent: [MAN(10), 'M16 11v11M16 11h2'],
  child: [KID(12), 'M4 22h16'],
  spouse: [WOMAN(7), MAN(17), 'M12 6.5l-1.2-1.2a.9.9 0 0 1 1.2-1.3a.9.9 0 0 1 1.2 1.3z'],
  sibling: [MAN(7), WOMAN(17)],
  yes: ['M12 22a10 10 0 1 0 0-20a10 10 0 0 0 0 20M7 12.5l3.5 3.5L17 9'],
  no: ['M12 22a10 10 0 1 0 0-20a10 10 0 0 0 0 20M8 8l8 8M16 8l-8 8'],
};
// The same relations under other catalogues' values (death registration, 3-in-1 household).
for (const [a, b] of [['me_de', 'mother'], ['cha_de', 'father'], ['vo', 'spouse'], ['chong', 'spouse'], ['con_de', 'child'],
  ['con_nuoi', 'child'], ['child_biological', 'child'], ['child_adopted', 'child'], ['ong_ba', 'grandparent'], ['anh_chi_em', 'sibling']]) PICTS[a] = PICTS[b];
const SPEAKER = ['M3 9h4l5-4v14l-5-4H3z', 'M15.5 9a4 4 0 0 1 0 6M18 6.5a8 8 0 0 1 0 11'];
const MUTE = ['M3 9h4l5-4v14l-5-4H3z', 'M16 9.5l5 5M21 9.5l-5 5'];

function svg(paths, cls) {
  const s = document.createElementNS(NS, 'svg');
  s.setAttribute('viewBox', '0 0 24 24');
  s.setAttribute('aria-hidden', 'true');
  s.setAttribute('class', cls);
  for (const d of paths) {
    const p = document.createElementNS(NS, 'path');
    p.setAttribute('d', d);
    s.append(p);
  }
  return s;
}

// ---------- listening ----------
// A text's recording: in the villager's language, else the Vietnamese one; null when neither exists.
function recording(k) {
  if (!k) return null;
  if (state.audio && state.audio[k]) return { lang: state.lang, sha: state.audio[k] };
  if (state.audioVi && state.audioVi[k]) return { lang: 'vi', sha: state.audioVi[k] };
  return null;
}

// The visible sign that a text has no recording yet (a crossed-out speaker and a word).
function noRecording(k) {
  return h('span', { class: 'say-none', 'data-testid': 'audio-none', 'data-key': k || '' },
    svg(MUTE, 'say-ic'), h('span', { lang: state.strings['ask.no_recording'] ? null : 'vi' }, t('ask.no_recording')));
}

/**
 * The listen button of a text (a translation key, a hub text or a catalogue Text): plays the villager's
 * language, else Vietnamese with a visible "VI" on the button; else the "no recording" mark.
 */
export function speak(o) {
  const k = typeof o === 'string' ? o : textKey(o);
  const r = recording(k);
  if (!r) return noRecording(k);
  const vi = r.lang !== state.lang;
  const b = h('button', { type: 'button', class: 'btn audio-btn say' + (vi ? ' say-vi' : ''), 'aria-pressed': 'false',
    'data-testid': 'audio-play', 'data-key': k, 'data-audio-lang': r.lang },
  svg(SPEAKER, 'say-ic'), h('span', { class: 'sr' }, t(vi ? 'ask.listen_vi' : 'lang.listen')),
  vi ? h('span', { class: 'say-vi-mark', lang: 'vi' }, 'VI') : null);
  b.addEventListener('click', () => playUrl(audioUrl(r.lang, k, r.sha), b));
  return b;
}

// A text and its listen button on one row.
const said = (el, o) => h('div', { class: 'said' }, el, speak(o));
// The same around a text already on the page.
function sayHere(el, o) {
  const row = h('div', { class: 'said' });
  el.replaceWith(row);
  row.append(el, speak(o));
}

// Several recordings one after another on the shared player (lang.js); a second tap, or another
// recording started, stops the rest.
let seq = 0;
function playSeq(urls, b) {
  const my = ++seq;
  if (b.classList.contains('playing')) { playUrl(urls[0], b); return; }
  let i = 0;
  const next = () => {
    if (my !== seq || i >= urls.length) return;
    playUrl(urls[i++], b);
    const p = document.getElementById('ok-player');
    if (!p || i >= urls.length) return;
    // A pause that is no step of this sequence (a second tap, another recording started) ends it.
    const stop = () => { if (p.paused && !p.ended) { seq++; off(); } };
    const ended = () => { off(); setTimeout(next, 120); };
    const off = () => { p.removeEventListener('pause', stop); p.removeEventListener('ended', ended); };
    p.addEventListener('pause', stop);
    p.addEventListener('ended', ended);
  };
  next();
}

// ---------- errors ----------
// Hub error codes with a spoken sentence of their own (ask.err.<code>); others say the field's format.
const ERR_CODES = ['required', 'bad_pin', 'bad_date', 'future_date', 'bad_phone', 'bad_name', 'too_long', 'bad_characters',
  'bad_number', 'bad_choice', 'unknown_ethnicity', 'bad_health_insurance', 'too_old', 'bad_range', 'pin_mismatch',
  'not_self_service', 'validation_failed', 'predeclarations_full', 'rate_limited'];
const FORMATS = ['pin', 'date', 'phone', 'year_or_date', 'number', 'health_insurance', 'commune'];
const errKey = (code, kind) => (ERR_CODES.includes(code) ? 'ask.err.' + code : 'form.check_format.' + (FORMATS.includes(kind) ? kind : 'text'));

// A field's error line gets its listen button while it shows (form.js writes it on a bad format, the page
// on the hub's refusal); in a language other than Vietnamese and English it is said in that language's words
// when they exist.
function sayErrors(ferr, f) {
  const slot = h('span', { class: 'say-err' });
  const row = h('div', { class: 'said ferr-row' });
  ferr.replaceWith(row);
  row.append(ferr, slot);
  const update = () => {
    const on = !ferr.hidden && !!ferr.textContent;
    row.classList.toggle('on', on);
    if (!on) { slot.replaceChildren(); return; }
    const k = ferr.dataset.sayKey || errKey(null, f.kind);
    if (state.lang !== 'vi' && state.lang !== 'en' && state.strings[k] && ferr.textContent !== state.strings[k]) ferr.textContent = state.strings[k];
    if (slot.dataset.key !== k || !slot.firstChild) { slot.dataset.key = k; slot.replaceChildren(speak(k)); }
  };
  new MutationObserver(update).observe(ferr, { attributes: true, attributeFilter: ['hidden'], childList: true, characterData: true, subtree: true });
  update();
}

// ---------- one question ----------
// Listen buttons and pictures on one field of renderForm's form.
function dress(wrap, f) {
  const legend = wrap.querySelector('legend');
  const lab = wrap.querySelector(':scope > label[for]');
  if (legend) legend.append(speak(f.label));
  else if (lab) sayHere(lab, f.label);
  else {
    const check = wrap.querySelector(':scope > label.check');
    if (check) sayHere(check, f.label);
  }
  const help = wrap.querySelector('.help');
  if (help && f.help) sayHere(help, f.help);
  const textOf = (value) => {
    if (f.kind === 'sex') return 'sex.' + value;
    const o = (f.options || []).find((x) => x.value === value);
    return o ? o.label : null;
  };
  // A long choice (a drop-down list in the team's form) is asked as choices the villager can hear; the list
  // stays the answer form.js reads.
  const sel = wrap.querySelector('select');
  if (sel) {
    const box = h('div', { class: 'radios', role: 'radiogroup', 'aria-labelledby': `ask-l-${f.key}` });
    for (const o of sel.options) {
      if (!o.value) continue;
      box.append(h('label', { class: 'radio' },
        h('input', { type: 'radio', name: 'ask.' + f.key, value: o.value, checked: o.selected, onchange: () => {
          sel.value = o.value;
          sel.dispatchEvent(new Event('input', { bubbles: true }));
          sel.dispatchEvent(new Event('change', { bubbles: true }));
        } }), h('span', {}, o.textContent)));
    }
    const l = wrap.querySelector(`label[for="${CSS.escape(sel.id)}"]`);
    if (l) l.id = `ask-l-${f.key}`;
    sel.classList.add('ask-list');
    sel.setAttribute('aria-hidden', 'true');
    sel.tabIndex = -1;
    sel.after(box);
  }
  for (const r of wrap.querySelectorAll('label.radio')) {
    const input = r.querySelector('input');
    const pict = PICTS[input.value];
    if (pict) r.insertBefore(svg(pict, 'pict'), input.nextSibling);
    const row = h('div', { class: 'choice' + (pict ? ' with-pict' : '') });
    r.replaceWith(row);
    row.append(r, speak(textOf(input.value)));
  }
  const ferr = wrap.querySelector('[data-err-for]');
  if (ferr) sayErrors(ferr, f);
}

// ---------- the view ----------
export async function askView(procId, ctx, { langMenu, secureOffer, rerender }) {
  const [{ procedure: def }] = await Promise.all([api('GET', `/api/v1/public/predeclare/${enc(procId)}`), loadStyles('ask')]);
  const kept = 'ok.predeclare.' + procId;
  const at = 'ok.predeclare.at.' + procId;
  let values = {};
  try { values = JSON.parse(sessionStorage.getItem(kept)) || {}; } catch (_) { values = {}; }
  const form = renderForm(def, values, (v) => {
    try { sessionStorage.setItem(kept, JSON.stringify(v)); } catch (_) { /* private mode */ }
  });
  const byKey = Object.fromEntries(form.fields.map((f) => [f.key, f]));
  const groups = Object.fromEntries((def.groups || []).map((g) => [g.id, g]));
  for (const sec of form.el.querySelectorAll('section.group')) {
    const h2 = sec.querySelector(':scope > h2');
    const g = groups[sec.dataset.group];
    if (h2 && g) sayHere(h2, g.title);
  }
  for (const w of form.el.querySelectorAll('.field[data-key]')) dress(w, byKey[w.dataset.key]);

  // The questions asked now, in order: what form.js shows (a field folded away or in a skipped group is
  // not asked).
  const asked = () => [...form.el.querySelectorAll('.field[data-key]')].filter((w) => !w.hidden && !w.closest('.skipped'));
  let cur = null; // the field's key, or '' for the review screen
  try { cur = sessionStorage.getItem(at); } catch (_) { cur = null; }

  const status = h('div', { 'aria-live': 'polite', 'data-testid': 'ask-status' });
  const count = h('span', { 'data-testid': 'ask-progress' });
  const bar = h('progress', { max: '1', value: '0', 'aria-hidden': 'true' });
  const progress = h('p', { class: 'ask-progress' }, count, bar);
  const intro = h('div', { class: 'ask-intro' },
    said(h('p', { class: 'lead' }, t('self.intro')), 'self.intro'),
    said(banner('ok', t('self.privacy')), 'self.privacy'),
    secureOffer(`#/predeclare/${enc(procId)}`));
  const review = h('div', { class: 'ask-review', 'data-testid': 'ask-review' });
  const back = h('button', { type: 'button', class: 'btn big ask-back', 'data-testid': 'ask-back', onclick: () => move(-1) },
    svg(['M15 5l-7 7 7 7'], 'ic'), h('span', {}, t('ask.back')));
  const next = h('button', { type: 'submit', class: 'btn primary big ask-next', 'data-testid': 'ask-next' },
    h('span', {}, t('ask.next')), svg(['M9 5l7 7-7 7'], 'ic'));
  const send = h('button', { type: 'submit', class: 'btn primary big', 'data-testid': 'predeclare-send' },
    svg(['M4 12l5 5L20 6'], 'ic'), h('span', {}, t('self.send')));

  const show = (key) => {
    const list = asked();
    let w = key ? list.find((x) => x.dataset.key === key) : null;
    if (key == null || (key && !w)) w = list[0] || null;
    cur = w ? w.dataset.key : '';
    try { sessionStorage.setItem(at, cur); } catch (_) { /* private mode */ }
    for (const x of form.el.querySelectorAll('.ask-on')) x.classList.remove('ask-on');
    if (w) { w.classList.add('ask-on'); w.closest('section.group').classList.add('ask-on'); }
    const i = w ? list.indexOf(w) : list.length;
    count.textContent = w ? t('ask.progress', { n: i + 1, total: list.length }) : '';
    bar.value = list.length ? (w ? i + 1 : list.length) / list.length : 1;
    el.dataset.step = w ? String(i + 1) : 'review';
    el.dataset.key = cur;
    intro.hidden = !w || i > 0;
    form.el.hidden = !w;
    next.hidden = !w;
    send.hidden = !!w;
    review.hidden = !!w;
    back.hidden = i === 0 && !!w;
    if (!w) fillReview(list);
    status.replaceChildren();
    window.scrollTo(0, 0);
  };

  // Forward: the question's own format checks first (form.js runs them when a value is committed); an
  // error stays on this screen, with its listen button.
  const move = (d) => {
    const list = asked();
    const w = list.find((x) => x.dataset.key === cur);
    if (d > 0 && w) {
      for (const c of w.querySelectorAll('input[type=text],input[type=tel],input[type=search],textarea')) {
        if (c.value.trim()) c.dispatchEvent(new Event('change', { bubbles: true }));
      }
      const bad = w.querySelector('[data-err-for]:not([hidden])');
      if (bad && bad.textContent) {
        const c = w.querySelector('input:not([type=hidden]),textarea,select');
        if (c) c.focus();
        return;
      }
    }
    const again = asked(); // an answer may have brought or folded questions
    const i = w ? again.indexOf(w) : again.length;
    const j = i + d;
    if (j < 0) return;
    show(j >= again.length ? '' : again[j].dataset.key);
    const c = form.el.querySelector('.field.ask-on legend, .field.ask-on label[for], .field.ask-on label.check');
    if (d && c) { c.tabIndex = -1; c.focus({ preventScroll: true }); }
  };

  // The answers, each opening its question again; then "send".
  function fillReview(list) {
    const vals = form.collect();
    review.replaceChildren(
      said(h('h2', {}, t('ask.review_title')), 'ask.review_title'),
      said(h('p', {}, t('ask.review_hint')), 'ask.review_hint'),
      h('ul', { class: 'ask-answers' }, list.map((w) => {
        const f = byKey[w.dataset.key];
        const v = vals[f.key];
        return h('li', { class: 'said' }, h('button', { type: 'button', class: 'ask-answer', 'data-testid': 'ask-answer', 'data-key': f.key, onclick: () => show(f.key) },
          h('span', { class: 'q' }, txt(f.label)), h('span', { class: v ? 'a' : 'a muted' }, v ? valueText(f, v) : t('ask.no_answer'))),
        speak(f.label));
      })));
  }

  const refuse = (err, key) => {
    status.replaceChildren(said(banner('warn', err.vi || errText(err), h('span', { lang: 'en' }, err.en || ''),
      { 'data-testid': 'predeclare-error', 'data-code': err.code }), key));
  };

  const el = h('form', { class: 'self predeclare oneq', novalidate: true, onsubmit: async (e) => {
    e.preventDefault();
    if (cur) { move(1); return; }
    form.clearErrors();
    status.replaceChildren();
    send.disabled = true;
    try {
      const r = await api('POST', '/api/v1/public/predeclarations', { procedure: { id: def.id, version: def.version }, fields: form.collect(), lang: state.lang });
      try { sessionStorage.removeItem(kept); sessionStorage.removeItem(at); } catch (_) { /* ignore */ }
      doneView(ctx, def, r);
    } catch (err) {
      send.disabled = false;
      if (err.status == null || err.status === 0) { status.replaceChildren(said(banner('warn', errText(err), t('err.offline_hint')), 'err.offline')); return; }
      // Refusals for the whole phone or session: Vietnamese and English both, whatever the chosen language.
      if (err.code === 'predeclarations_full' || err.code === 'rate_limited') { refuse(err, errKey(err.code)); status.scrollIntoView({ block: 'center' }); return; }
      const details = err.details || [];
      for (const d of details) {
        const ferr = d.field ? form.el.querySelector(`[data-err-for="${CSS.escape(d.field)}"]`) : null;
        if (ferr) ferr.dataset.sayKey = errKey(d.code, byKey[d.field] && byKey[d.field].kind);
      }
      const loose = placeErrors(form.el, details);
      // The first question with an error, on its own screen; what has no question stays here.
      const first = asked().find((w) => { const x = w.querySelector('[data-err-for]'); return x && !x.hidden; });
      if (first && !loose.length) { show(first.dataset.key); return; }
      status.replaceChildren(said(banner('warn', errText(err), loose.map(detailText).join(' ') || null, { 'data-testid': 'predeclare-error' }),
        errKey(err.code)));
    }
  } },
  langMenu(() => rerender()),
  said(h('h1', {}, txt(def.title)), def.title),
  progress,
  form.el,
  review,
  status,
  h('div', { class: 'ask-nav' }, back, next, send),
  // Under the first question, not above it: the question is what the villager sees first.
  intro);
  ctx.show(el);
  show(cur === '' ? '' : cur);
}

// ---------- done: one number, said aloud ----------
// One number to show: the queue ticket when an outreach session is open (the number the desks call and the
// board shows), else the pre-declaration's own number. The team's list shows the same one.
function doneView(ctx, def, r) {
  const queued = r.number_kind === 'ticket';
  const num = String(r.number);
  const n = h('span', { class: 'n' }, num);
  ctx.show(h('section', { class: 'self done ask-done' },
    said(h('h1', {}, t('self.done_title')), 'self.done_title'),
    h('p', { class: 'big-plain' }, t('self.done_show')),
    h('div', { class: 'huge-number', 'data-testid': 'predeclare-number', 'data-kind': r.number_kind },
      queued ? h('div', { class: 'stack', 'data-testid': 'predeclare-ticket' }, h('span', { class: 'label' }, t('self.ticket')), n)
        : [h('span', { class: 'label' }, t('self.pickup_number')), n]),
    sayNumber(num),
    h('p', { class: 'muted' }, txt(def.title)),
    said(h('p', {}, t(queued ? 'self.done_next_queue' : 'self.done_next')), queued ? 'self.done_next_queue' : 'self.done_next')));
}

// "Show this number to the team", then its digits one by one (digit.0 … digit.9, recorded on the languages
// page): what is recorded plays; what is not is marked.
function sayNumber(num) {
  const keys = ['self.done_show', ...[...num].map((d) => 'digit.' + d)];
  const recs = keys.map((k) => [k, recording(k)]);
  const have = recs.filter(([, x]) => x);
  const missing = [...new Set(recs.filter(([, x]) => !x).map(([k]) => k))];
  const row = h('div', { class: 'say-number', 'data-testid': 'say-number-row' });
  if (have.length) {
    const vi = have.some(([, x]) => x.lang !== state.lang);
    const b = h('button', { type: 'button', class: 'btn primary big audio-btn say' + (vi ? ' say-vi' : ''), 'aria-pressed': 'false',
      'data-testid': 'say-number', 'data-keys': have.map(([k]) => k).join(' '), 'data-audio-lang': vi ? 'vi' : state.lang },
    svg(SPEAKER, 'say-ic'), h('span', {}, t('ask.say_number')), vi ? h('span', { class: 'say-vi-mark', lang: 'vi' }, 'VI') : null);
    b.addEventListener('click', () => playSeq(have.map(([k, x]) => audioUrl(x.lang, k, x.sha)), b));
    row.append(b);
  }
  for (const k of missing) row.append(noRecording(k));
  return row;
}
