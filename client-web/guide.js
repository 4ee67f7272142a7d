// Public procedure guides (no login): what a procedure is for, who may ask, what to bring, the steps, fees
// and the time limit, in large text, with a one-tap recording next to each text (in the chosen language,
// else the Vietnamese one). Texts missing in the chosen language show in Vietnamese (see the note in the
// header).
import { h, t, tt, api, icon } from './lib.js';
import { listen } from './lang.js';

const enc = encodeURIComponent;

// A text with its listen button.
function said(o, tag = 'p', attrs = {}) {
  return h('div', { class: 'said' }, h(tag, attrs, tt(o)), listen(o));
}

export async function guidesView(app, _p, _q, ctx) {
  const r = await api('GET', '/api/v1/guides');
  const list = h('ul', { class: 'list guide-list', 'data-testid': 'guide-list' },
    (r.guides || []).map((g) => h('li', { class: 'card guide-item', 'data-testid': 'guide-row', 'data-procedure': g.procedure.id },
      h('h2', {}, icon('book'), h('a', { href: `#/guides/${enc(g.procedure.id)}`, 'data-testid': 'guide-link' }, tt(g.title))),
      listen(g.title),
      said(g.purpose),
      h('a', { class: 'btn primary big', href: `#/guides/${enc(g.procedure.id)}` }, icon('book'), h('span', {}, t('guides.open'))))));
  // "Tap Listen" only where a recording can be played (a Listen button without one stays hidden).
  const canListen = !!list.querySelector('[data-testid=audio-play]:not([hidden])');
  ctx.show(h('section', { class: 'guide' }, h('h1', {}, t('guides.title')),
    h('p', { class: 'lead', 'data-testid': 'guides-intro' }, t('guides.intro'), canListen ? [' ', t('guides.listen_hint')] : null), list));
}

function docLine(d) {
  const kind = d.original ? t('guides.original') : t('guides.copy');
  const when = d.visit === 'pickup' ? t('guides.at_pickup') : t('guides.at_session');
  let need;
  if (d.required) need = t('guides.always');
  else if (d.when) need = t(d.when.negate ? 'guides.only_if_not' : 'guides.only_if', { field: tt(d.when.field), value: tt(d.when.value) });
  else need = t('guides.if_any');
  return h('li', { class: 'card doc-item', 'data-testid': 'guide-doc', 'data-role': d.role },
    said(d.label, 'h3'),
    h('p', { class: 'doc-tags' }, h('span', { class: 'badge' }, kind), ' ', h('span', { class: 'badge' }, when)),
    h('p', { 'data-testid': 'guide-doc-need' }, need),
    d.when ? h('div', { class: 'row' }, listen(d.when.field, { label: t('guides.listen_field') }), listen(d.when.value, { label: t('guides.listen_value') })) : null,
    d.help ? said(d.help, 'p', { class: 'help' }) : null);
}

export async function guideView(app, [id], _q, ctx) {
  const g = await api('GET', `/api/v1/guides/${enc(id)}`);
  const tl = g.time_limit || {};
  const sec = (title, ...kids) => h('section', { class: 'card guide-part' }, h('h2', {}, title), ...kids);
  ctx.show(h('article', { class: 'guide', 'data-testid': 'guide' },
    h('p', {}, h('a', { href: '#/guides' }, icon('back'), t('guides.all'))),
    h('div', { class: 'said' }, h('h1', {}, tt(g.title)), listen(g.title)),
    h('p', { class: 'muted' }, tt(g.authority)),
    sec(t('guides.purpose'), said(g.purpose)),
    sec(t('guides.who'), h('ul', { class: 'list' }, (g.who || []).map((w) => h('li', {}, said(w))))),
    sec(t('guides.bring'), h('ul', { class: 'list', 'data-testid': 'guide-bring' }, (g.bring || []).map(docLine))),
    sec(t('guides.steps'), h('ol', { class: 'steps', 'data-testid': 'guide-steps' }, (g.steps || []).map((s) => h('li', {}, said(s))))),
    sec(t('guides.time'),
      h('p', { 'data-testid': 'guide-time' }, tl.extended_working_days
        ? t('guides.time_limit_ext', { n: tl.working_days, m: tl.extended_working_days })
        : t('guides.time_limit', { n: tl.working_days })),
      tl.note ? said(tl.note, 'p', { class: 'help' }) : null),
    sec(t('guides.fees'), said(g.fees)),
    h('a', { class: 'btn primary big', href: `#/predeclare/${enc(g.procedure.id)}`, 'data-testid': 'guide-predeclare' },
      icon('doc'), h('span', {}, t('guides.predeclare')))));
}
