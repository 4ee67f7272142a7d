// The villager's front door (issue 25): what the hub's address opens for a visitor on a field hub (nobody
// signed in on this phone), and #/front for anyone. First the language, chosen by its own name and by
// listening (each language announces itself: its recording of the text `front.language_self_name`, a
// visible "no recording" mark where there is none); then three big choices with a picture and a listen
// button: what to bring (the guides), fill in my request (a pre-declaration), see my receipt (its status).
// A small link takes the team to the login. Loaded only when opened, with its styles (front.css): neither is on
// the team's capture path, whose size is budgeted.
import { h, t, tt, api, state, icon, btn, flash, errText, go, setLang, loadLanguages, langName, codeInput, lettersToggle, loadStyles } from './lib.js';
import { playUrl, listen, noRecording } from './lang.js';

const enc = encodeURIComponent;
// The text whose recording in each language announces that language ("Xtiêng. Tap here to use Xtiêng."),
// recorded per language on the languages page like any other text.
export const SELF_NAME = 'front.language_self_name';
const audioUrl = (code, sha) => `/api/v1/languages/${enc(code)}/audio/${enc(SELF_NAME)}${sha ? `?v=${enc(sha)}` : ''}`;


// The recording of SELF_NAME in `code`: its SHA-256 (from the ETag), '' when there is one without an ETag,
// null when there is none (or the hub is out of reach).
async function selfNameRecording(code) {
  try {
    const r = await fetch(audioUrl(code), { method: 'HEAD', cache: 'no-cache' });
    return r.ok ? (r.headers.get('ETag') || '').replace(/"/g, '') : null;
  } catch (_) { return null; }
}

const teamLogin = () => h('p', { class: 'front-team' },
  h('a', { href: '#/login', 'data-testid': 'front-team-login' }, icon('lock'), h('span', {}, t('front.team_login'))));

const heading = (key) => h('div', { class: 'said' }, h('h1', {}, t(key)), listen(key));

// ---------- 1. the language ----------
async function languagesStep(ctx) {
  const langs = await loadLanguages();
  const shas = await Promise.all(langs.map((l) => selfNameRecording(l.code)));
  const rows = langs.map((l, i) => {
    const name = l.native_name || langName(l.code);
    const current = l.code === state.lang;
    const choose = h('button', { type: 'button', class: `btn big front-lang-btn${current ? ' primary' : ''}`, 'data-testid': 'front-lang', 'data-code': l.code,
      'aria-pressed': String(current), onclick: async (ev) => {
        const b = ev.currentTarget;
        b.disabled = true;
        try { await setLang(l.code); } catch (e) { b.disabled = false; flash(errText(e)); return; }
        go('#/front/choose');
      } },
    current ? icon('ok') : icon('globe'),
    h('span', { class: 'front-lang-name' }, h('span', { lang: l.code }, name),
      l.vi_name && l.vi_name !== name ? h('small', { lang: 'vi' }, l.vi_name) : null));
    const sha = shas[i];
    const say = sha == null ? noRecording({ 'data-code': l.code })
      : btn('play', t('lang.listen'), { class: 'btn audio-btn front-listen', 'aria-pressed': 'false', 'aria-label': `${t('lang.listen')}: ${name}`,
        'data-testid': 'front-lang-listen', 'data-code': l.code, onclick: (ev) => playUrl(audioUrl(l.code, sha), ev.currentTarget) });
    return h('li', { class: 'front-row', 'data-testid': 'front-lang-row', 'data-code': l.code }, choose, say);
  });
  ctx.show(h('section', { class: 'front', 'data-testid': 'front-door', 'data-step': 'language' },
    heading('front.choose_language'),
    h('p', { class: 'lead' }, t('front.choose_language_hint')),
    h('ul', { class: 'front-list' }, rows),
    teamLogin()));
}

// ---------- 2. the three choices ----------
const CHOICES = [
  ['guides', '#/guides', 'box', 'front.guides'],
  ['request', '#/front/request', 'doc', 'front.request'],
  ['receipt', '#/front/receipt', 'ticket', 'front.receipt'],
];

const langLink = () => h('p', {}, h('a', { href: '#/front', class: 'back', 'data-testid': 'front-change-lang' },
  icon('globe'), h('span', {}, t('lang.label'), ': ', h('span', { lang: state.lang }, langName(state.lang)))));

function choicesStep(ctx) {
  ctx.show(h('section', { class: 'front', 'data-testid': 'front-door', 'data-step': 'choose' },
    langLink(),
    heading('front.what_title'),
    h('ul', { class: 'front-list' }, CHOICES.map(([id, href, pic, key]) => h('li', { class: 'front-row', 'data-testid': 'front-choice', 'data-choice': id },
      h('a', { class: 'btn big front-go', href, 'data-testid': 'front-go-' + id }, h('span', { class: 'front-pic' }, icon(pic)), h('span', {}, t(key))),
      listen(key)))),
    teamLogin()));
}

// ---------- 2a. which procedure to fill in ----------
async function requestStep(ctx) {
  const r = await api('GET', '/api/v1/guides');
  ctx.show(h('section', { class: 'front', 'data-testid': 'front-door', 'data-step': 'request' },
    h('p', {}, h('a', { href: '#/front/choose', class: 'back' }, icon('back'), t('front.back'))),
    heading('front.request_title'),
    h('ul', { class: 'front-list' }, (r.guides || []).map((g) => h('li', { class: 'front-row', 'data-testid': 'front-procedure', 'data-procedure': g.procedure.id },
      h('a', { class: 'btn big front-go', href: `#/predeclare/${enc(g.procedure.id)}`, 'data-testid': 'front-predeclare' },
        h('span', { class: 'front-pic' }, icon('doc')), h('span', {}, tt(g.title))),
      listen(g.title)))),
    teamLogin()));
}

// ---------- 2b. my receipt ----------
function receiptStep(ctx) {
  const codeIn = codeInput({ id: 'front-code', name: 'code', required: true, 'aria-describedby': 'front-code-help' });
  const keyIn = codeInput({ id: 'front-key', name: 'k', 'aria-describedby': 'front-key-help' });
  const form = h('form', { class: 'card', 'data-testid': 'front-receipt-form', onsubmit: (e) => {
    e.preventDefault();
    const code = codeIn.value.trim();
    if (code) go(`#/r/${enc(code)}?k=${enc(keyIn.value.trim())}`);
    else codeIn.focus();
  } },
  h('p', {}, t('self.type_code')),
  h('div', { class: 'field' }, h('label', { for: 'front-code' }, t('receipt.code')), codeIn,
    h('p', { id: 'front-code-help', class: 'muted small' }, t('self.code_help'))),
  h('div', { class: 'field' }, h('label', { for: 'front-key' }, t('self.key')), keyIn,
    h('p', { id: 'front-key-help', class: 'muted small' }, t('self.key_help'))),
  h('div', { class: 'row' }, h('button', { type: 'submit', class: 'btn primary big', 'data-testid': 'front-receipt-go' }, icon('doc'), h('span', {}, t('self.look_up'))),
    lettersToggle([codeIn, keyIn])));
  ctx.show(h('section', { class: 'front', 'data-testid': 'front-door', 'data-step': 'receipt' },
    h('p', {}, h('a', { href: '#/front/choose', class: 'back' }, icon('back'), t('front.back'))),
    heading('self.status_title'),
    h('div', { class: 'said card' }, h('span', { class: 'front-pic' }, icon('qr')), h('p', { class: 'grow' }, t('front.receipt_scan')), listen('front.receipt_scan')),
    form,
    teamLogin()));
}

/** #/ for a visitor, #/front[/choose|/request|/receipt]. */
export async function frontView(app, [step], _q, ctx) {
  await loadStyles('front');
  if (step === 'choose') return choicesStep(ctx);
  if (step === 'request') return requestStep(ctx);
  if (step === 'receipt') return receiptStep(ctx);
  return languagesStep(ctx);
}
