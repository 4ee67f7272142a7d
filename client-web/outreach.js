// Outreach sessions (team): open a session, issue tickets, call villagers to the desks (each desk shows
// who holds the number being served and the next ones: names are for the team only, never the board),
// record the services rendered with one tap each (optional, consented facts), undo, the session report.
import {
  h, t, api, go, errText, flash, btn, icon, banner, can, roleName, uuid, fmtDate, fmtTime, todayISO, ask, detailText,
  procedures, procTitle,
} from './lib.js';

export const DESKS = ['civil_status', 'police', 'telecom', 'guidance'];
export const DESK_ICONS = { civil_status: 'doc', police: 'user', telecom: 'wifi', guidance: 'book' };
const KINDS = ['vneid_level2_activated', 'sim_registered', 'account_created', 'guidance_given', 'dossier_captured', 'other'];
const KIND_ICONS = {
  vneid_level2_activated: 'qr', sim_registered: 'wifi', account_created: 'user',
  guidance_given: 'book', dossier_captured: 'doc', other: 'plus',
};
const VENUES = ['cultural_house', 'school', 'other'];
const SEXES = ['female', 'male', 'other'];
const AGE_BANDS = ['0-5', '6-14', '15-17', '18-35', '36-59', '60+'];

const place = (s) => `${s.hamlet} · ${s.venue_name}`;

let ethnic = null;
async function ethnicGroups() {
  if (ethnic) return ethnic;
  try {
    const r = await fetch('data/ethnic-groups.json');
    // The list is in the order of the 1979 codes: Kinh = 01, Tày = 02, …
    ethnic = r.ok ? (await r.json()).map((name, i) => ({ code: String(i + 1).padStart(2, '0'), name })) : [];
  } catch (_) { ethnic = []; }
  return ethnic;
}

function showErrors(form, err) {
  form.querySelectorAll('.ferr').forEach((p) => { p.hidden = true; p.textContent = ''; });
  form.querySelectorAll('[aria-invalid]').forEach((x) => x.removeAttribute('aria-invalid'));
  const details = err.details && err.details.length ? err.details : [];
  let shown = false;
  for (const d of details) {
    const p = form.querySelector(`[data-err-for="${d.field}"]`);
    if (p) { p.textContent = detailText(d); p.hidden = false; shown = true; }
    const input = form.querySelector(`[name="${d.field}"]`);
    if (input) input.setAttribute('aria-invalid', 'true');
  }
  if (!shown) flash(errText(err));
  else flash(t('outreach.fix_fields'));
}

function ferr(field) {
  return h('p', { class: 'ferr', 'data-err-for': field, id: 'err-' + field, hidden: true });
}

// ---------- the list of sessions, and opening one ----------
export async function sessionsView(app, params, query, ctx) {
  const lead = can('officer', 'admin');
  const [list, cands] = await Promise.all([
    api('GET', '/api/v1/outreach/sessions'),
    lead ? api('GET', '/api/v1/outreach/team-candidates') : Promise.resolve({ users: [] }),
  ]);
  const sessions = list.sessions || [];
  const open = sessions.find((s) => s.open);
  const nodes = [h('h1', {}, t('outreach.title'))];
  if (open) {
    nodes.push(h('section', { class: 'card', 'data-testid': 'open-session' },
      h('h2', {}, icon('people'), t('outreach.open_now')),
      h('p', { class: 'lead' }, h('strong', {}, place(open)), ' — ', fmtDate(open.date)),
      h('div', { class: 'row' },
        h('a', { class: 'btn primary big', href: `#/sessions/${encodeURIComponent(open.id)}`, 'data-testid': 'go-session' },
          icon('ticket'), h('span', {}, t('outreach.go_to_session'))),
        h('a', { class: 'btn big', href: '#/board', target: '_blank', rel: 'noopener' }, icon('tv'), h('span', {}, t('outreach.open_board'))))));
  } else if (lead) {
    nodes.push(openForm(cands.users || []));
  } else {
    nodes.push(banner('info', t('outreach.none_open'), t('outreach.none_open_hint')));
  }
  nodes.push(h('section', { class: 'card' }, h('h2', {}, icon('doc'), t('outreach.all_sessions')),
    sessions.length ? h('ul', { class: 'list', 'data-testid': 'session-list' }, sessions.map((s) => h('li', {},
      h('a', { class: 'item', href: `#/sessions/${encodeURIComponent(s.id)}` },
        h('span', { class: 'grow' }, h('strong', {}, place(s)),
          h('small', {}, `${fmtDate(s.date)} · ${t('outreach.venue.' + s.venue_kind)}`)),
        h('span', { class: 'count' }, t('outreach.n_tickets', { n: s.tickets })),
        h('span', { class: 'count' }, t('outreach.n_services', { n: s.services })),
        h('span', { class: s.open ? 'badge ok' : 'badge' }, t(s.open ? 'outreach.status_open' : 'outreach.status_closed'))))))
      : h('p', { class: 'muted' }, t('outreach.no_sessions'))));
  ctx.show(h('section', {}, nodes));
}

function openForm(users) {
  const f = h('form', { class: 'form', novalidate: true, 'data-testid': 'open-form' },
    h('div', { class: 'field' }, h('label', { for: 'o-hamlet' }, t('outreach.hamlet'), h('span', { class: 'req', 'aria-hidden': 'true' }, ' *')),
      h('p', { class: 'help', id: 'o-hamlet-help' }, t('outreach.hamlet_help')),
      h('input', { id: 'o-hamlet', name: 'hamlet', type: 'text', required: true, maxlength: '100', autocomplete: 'off', 'aria-describedby': 'o-hamlet-help err-hamlet' }),
      ferr('hamlet')),
    h('div', { class: 'field' }, h('fieldset', { 'aria-describedby': 'err-venue_kind' },
      h('legend', {}, t('outreach.venue_kind'), h('span', { class: 'req', 'aria-hidden': 'true' }, ' *')),
      h('div', { class: 'radios' }, VENUES.map((v, i) => h('label', { class: 'radio' },
        h('input', { type: 'radio', name: 'venue_kind', value: v, checked: i === 0 }), h('span', {}, t('outreach.venue.' + v))))),
      ferr('venue_kind'))),
    h('div', { class: 'field' }, h('label', { for: 'o-venue' }, t('outreach.venue_name'), h('span', { class: 'req', 'aria-hidden': 'true' }, ' *')),
      h('input', { id: 'o-venue', name: 'venue_name', type: 'text', required: true, maxlength: '100', autocomplete: 'off', 'aria-describedby': 'err-venue_name' }),
      ferr('venue_name')),
    h('div', { class: 'field' }, h('label', { for: 'o-commune' }, t('outreach.commune_code')),
      h('p', { class: 'help', id: 'o-commune-help' }, t('outreach.commune_code_help')),
      h('input', { id: 'o-commune', name: 'commune_code', type: 'text', inputmode: 'numeric', pattern: '[0-9]{5}', maxlength: '5', autocomplete: 'off', 'aria-describedby': 'o-commune-help err-commune_code' }),
      ferr('commune_code')),
    h('div', { class: 'field' }, h('label', { for: 'o-date' }, t('outreach.date')),
      h('input', { id: 'o-date', name: 'date', type: 'date', value: todayISO(), 'aria-describedby': 'err-date' }),
      ferr('date')),
    users.length ? h('div', { class: 'field' }, h('fieldset', {},
      h('legend', {}, t('outreach.team')),
      h('p', { class: 'help' }, t('outreach.team_help')),
      h('div', { class: 'radios' }, users.map((u) => h('label', { class: 'check' },
        h('input', { type: 'checkbox', name: 'team', value: u.id }), h('span', {}, `${u.name} · ${roleName(u.role)}`)))),
      ferr('team'))) : null,
    h('button', { type: 'submit', class: 'btn primary big', 'data-testid': 'open-session-btn' }, icon('plus'), h('span', {}, t('outreach.open_btn'))));
  f.addEventListener('submit', async (e) => {
    e.preventDefault();
    const fd = new FormData(f);
    const body = {
      hamlet: fd.get('hamlet') || '', venue_kind: fd.get('venue_kind') || '', venue_name: fd.get('venue_name') || '',
      commune_code: fd.get('commune_code') || null, date: fd.get('date') || null, team: fd.getAll('team'),
    };
    const b = f.querySelector('button[type=submit]');
    b.disabled = true;
    try {
      const s = await api('POST', '/api/v1/outreach/sessions', body);
      flash(t('outreach.opened'), 'ok');
      go(`#/sessions/${encodeURIComponent(s.id)}`);
    } catch (err) {
      showErrors(f, err);
    } finally { b.disabled = false; }
  });
  return h('section', { class: 'card' }, h('h2', {}, icon('plus'), t('outreach.open_title')), f);
}

// ---------- one session: tickets, desks, services, report ----------
export async function sessionView(app, [id], query, ctx) {
  const base = `/api/v1/outreach/sessions/${encodeURIComponent(id)}`;
  const detail = await api('GET', base);
  const s = detail.session;
  const lead = can('officer', 'admin');
  let desks = detail.desks || [];
  let lastService = null;
  // An Idempotency-Key per user action, kept until the hub answers, so a retry after a Wi-Fi drop
  // cannot issue a second ticket or count a service twice.
  const keys = {};
  const keyFor = (what) => (keys[what] ||= uuid());
  const done = (what) => { delete keys[what]; };

  const title = h('h1', {}, t('outreach.session_title', { place: s.hamlet }));
  const sub = h('p', { class: 'lead' }, `${s.venue_name} (${t('outreach.venue.' + s.venue_kind)}) · ${fmtDate(s.date)}`,
    detail.commune ? ` · ${detail.commune}` : '');
  const team = h('p', { class: 'muted small' }, t('outreach.team'), ': ', (s.team || []).map((u) => u.name).join(', '));

  // Report
  const reportBox = h('section', { class: 'card', 'data-testid': 'report' });
  async function refreshReport() {
    try {
      const r = await api('GET', `${base}/report`);
      renderReport(reportBox, r);
    } catch (e) { reportBox.replaceChildren(banner('warn', errText(e))); }
  }

  if (!s.open) {
    ctx.show(h('section', {}, backLink(), title, sub, team,
      banner('info', t('outreach.closed_banner', { at: fmtTime(s.closed_at) })), reportBox));
    await refreshReport();
    return;
  }

  // Tickets
  const nameIn = h('input', { id: 't-name', type: 'text', maxlength: '80', autocomplete: 'off', 'aria-describedby': 't-name-help' });
  const issued = h('p', { class: 'ticket-big', 'data-testid': 'issued-number', 'aria-live': 'polite' });
  const issuedName = h('p', { class: 'ticket-name', 'data-testid': 'issued-name' });
  const issueBtn = btn('ticket', t('outreach.issue_btn'), { class: 'btn primary big', 'data-testid': 'issue-ticket' });
  issueBtn.addEventListener('click', async () => {
    issueBtn.disabled = true;
    try {
      const name = nameIn.value.trim();
      const tk = await api('POST', `${base}/tickets`, name ? { name } : {}, { headers: { 'Idempotency-Key': keyFor('ticket') } });
      done('ticket');
      nameIn.value = '';
      issued.replaceChildren(h('span', { class: 'sr' }, t('outreach.issued_sr')), String(tk.number));
      issuedName.textContent = tk.name || '';
      flash(t('outreach.issued', { n: tk.number }), 'ok');
      refreshDesks();
    } catch (e) { flash(errText(e)); } finally { issueBtn.disabled = false; }
  });
  const ticketCard = h('section', { class: 'card' }, h('h2', {}, icon('ticket'), t('outreach.tickets')),
    h('div', { class: 'field' }, h('label', { for: 't-name' }, t('outreach.ticket_name')),
      h('p', { class: 'help', id: 't-name-help' }, t('outreach.ticket_name_help')), nameIn),
    issueBtn, issued, issuedName);

  // Desks
  const deskBox = h('div', { class: 'desk-grid' });
  function renderDesks() {
    deskBox.replaceChildren(...desks.map((d) => {
      const call = btn('play', t('outreach.call_next'), { class: 'btn primary', 'data-testid': `call-${d.desk}` });
      call.addEventListener('click', async () => {
        call.disabled = true;
        try {
          const r = await api('POST', `${base}/desks/${d.desk}/call-next`, {}, { headers: { 'Idempotency-Key': keyFor('call-' + d.desk) } });
          done('call-' + d.desk);
          await refreshDesks();
          const who = r.ticket ? (desks.find((x) => x.desk === d.desk) || {}).serving_name : null;
          flash(r.ticket ? t(who ? 'outreach.called_name' : 'outreach.called', { n: r.ticket.number, name: who, desk: t('outreach.desk.' + d.desk) })
            : t('outreach.nobody_waiting'), r.ticket ? 'ok' : 'err');
        } catch (e) { flash(errText(e)); } finally { call.disabled = false; }
      });
      const act = (action, extra) => async () => {
        try {
          await api('POST', `/api/v1/outreach/tickets/${encodeURIComponent(d.serving_ticket)}/action`, { action, ...extra });
          await refreshDesks();
        } catch (e) { flash(errText(e)); }
      };
      const moveSel = h('select', { 'aria-label': t('outreach.move_to'), 'data-testid': `move-to-${d.desk}` },
        DESKS.filter((x) => x !== d.desk).map((x) => h('option', { value: x }, t('outreach.desk.' + x))));
      // Who holds each number (team only; never on the board), so the officer calls the right person.
      const queue = d.queue || d.next.map((number) => ({ number }));
      const take = d.serving_predeclaration ? btn('doc', t('outreach.take_predeclaration'), {
        class: 'btn small', 'data-testid': `take-${d.desk}`, onclick: async (e) => {
          const b = e.currentTarget;
          b.disabled = true;
          try {
            const dr = await api('POST', `/api/v1/predeclarations/${encodeURIComponent(d.serving_predeclaration)}/take`, {});
            go('#/draft/' + encodeURIComponent(dr.id));
          } catch (err) { b.disabled = false; flash(errText(err)); }
        } }) : null;
      return h('div', { class: 'desk', 'data-desk': d.desk },
        h('h3', {}, icon(DESK_ICONS[d.desk]), t('outreach.desk.' + d.desk)),
        h('p', { class: 'muted small' }, t('outreach.serving')),
        h('p', { class: 'desk-num', 'data-testid': `serving-${d.desk}` }, d.serving == null ? '—' : String(d.serving)),
        d.serving_name ? h('p', { class: 'desk-name', 'data-testid': `serving-name-${d.desk}` }, d.serving_name) : null,
        d.serving_predeclaration ? h('p', { class: 'small' }, icon('doc'), ' ', t('outreach.predeclared')) : null,
        take,
        h('div', { class: 'small desk-next', 'data-testid': `next-${d.desk}` }, h('span', {}, t('outreach.next'), ': '),
          queue.length ? h('ol', {}, queue.map((q) => h('li', {}, h('strong', {}, String(q.number)),
            q.name ? ` ${q.name}` : null, q.predeclaration ? h('span', { class: 'muted' }, ` (${t('outreach.predeclared_short')})`) : null)))
            : '—'),
        call,
        d.serving_ticket ? h('div', { class: 'row' },
          btn('reload', t('outreach.recall'), { class: 'btn small', onclick: act('recall') }),
          btn('ok', t('outreach.served'), { class: 'btn small', onclick: act('done') }),
          btn('warn', t('outreach.no_show'), { class: 'btn small', onclick: act('no_show') })) : null,
        d.serving_ticket ? h('div', { class: 'row' }, moveSel,
          btn('back', t('outreach.move_btn'), { class: 'btn small', onclick: () => act('move', { desk: moveSel.value })() })) : null);
    }));
    renderTapTicket();
  }
  async function refreshDesks() {
    try {
      const d = await api('GET', base);
      if (!ctx.alive()) return;
      desks = d.desks || [];
      renderDesks();
    } catch (_) { /* the next change will try again */ }
  }

  // Services rendered
  const deskPick = h('select', { id: 'sv-desk', name: 'desk' }, DESKS.map((d) => h('option', { value: d }, t('outreach.desk.' + d))));
  try { const last = localStorage.getItem('ok.outreach.desk'); if (DESKS.includes(last)) deskPick.value = last; } catch (_) { /* ignore */ }
  const tapTicket = h('p', { class: 'small', 'data-testid': 'tap-ticket' });
  function servingAt(desk) { return desks.find((d) => d.desk === desk) || {}; }
  function renderTapTicket() {
    const d = servingAt(deskPick.value);
    tapTicket.textContent = d.serving != null ? t('outreach.tap_for_ticket', { n: d.serving }) : t('outreach.tap_no_ticket');
  }
  deskPick.addEventListener('change', () => {
    try { localStorage.setItem('ok.outreach.desk', deskPick.value); } catch (_) { /* ignore */ }
    renderTapTicket();
  });
  const consent = h('input', { type: 'checkbox', id: 'sv-consent', 'data-testid': 'consent' });
  const groups = await ethnicGroups();
  const facts = h('div', { class: 'facts', hidden: true, 'data-testid': 'facts' },
    h('div', { class: 'field' }, h('fieldset', {}, h('legend', {}, t('outreach.sex')),
      h('div', { class: 'radios' }, SEXES.map((x) => h('label', { class: 'radio' },
        h('input', { type: 'radio', name: 'sex', value: x }), h('span', {}, t('outreach.sex.' + x))))))),
    h('div', { class: 'field' }, h('fieldset', {}, h('legend', {}, t('outreach.age_band')),
      h('div', { class: 'radios' }, AGE_BANDS.map((x) => h('label', { class: 'radio' },
        h('input', { type: 'radio', name: 'age_band', value: x }), h('span', {}, t('outreach.age', { band: x  }))))))),
    h('div', { class: 'field' }, h('label', { for: 'sv-eth' }, t('outreach.ethnicity')),
      h('select', { id: 'sv-eth', name: 'ethnicity' }, h('option', { value: '' }, t('outreach.not_given')),
        groups.map((g) => h('option', { value: g.code }, g.name)))));
  consent.addEventListener('change', () => { facts.hidden = !consent.checked; });
  const note = h('input', { id: 'sv-note', name: 'note', type: 'text', maxlength: '200', autocomplete: 'off', 'aria-describedby': 'err-note' });
  const tapForm = h('form', { class: 'form', novalidate: true },
    h('div', { class: 'field' }, h('label', { for: 'sv-desk' }, t('outreach.at_desk')), deskPick), tapTicket,
    h('label', { class: 'check' }, consent, h('span', {}, t('outreach.consent'))),
    facts,
    h('div', { class: 'field' }, h('label', { for: 'sv-note' }, t('outreach.note')),
      note, ferr('note')),
    ferr('consent'), ferr('sex'), ferr('age_band'), ferr('ethnicity'));
  const undoBtn = btn('back', t('outreach.undo'), { class: 'btn', hidden: true, 'data-testid': 'undo' });
  const tapGrid = h('div', { class: 'tap-grid' }, KINDS.map((k) => {
    const b = btn(KIND_ICONS[k], t('outreach.kind.' + k), { class: 'btn big tap', 'data-testid': `tap-${k}` });
    b.addEventListener('click', () => tap(k, b));
    return b;
  }));
  async function tap(kind, b) {
    const fd = new FormData(tapForm);
    const desk = deskPick.value;
    const body = { desk, kind };
    const d = servingAt(desk);
    if (d.serving_ticket) body.ticket_id = d.serving_ticket;
    if (note.value.trim()) body.note = note.value.trim();
    if (consent.checked) {
      body.consent = true;
      for (const f of ['sex', 'age_band', 'ethnicity']) if (fd.get(f)) body[f] = fd.get(f);
    }
    b.disabled = true;
    try {
      const sv = await api('POST', `${base}/services`, body, { headers: { 'Idempotency-Key': keyFor('tap') } });
      done('tap');
      lastService = sv;
      // One tap per villager: the next villager starts without consent or facts.
      tapForm.reset(); deskPick.value = desk; facts.hidden = true;
      tapForm.querySelectorAll('.ferr').forEach((p) => { p.hidden = true; });
      undoBtn.hidden = false;
      flash(t('outreach.recorded', { kind: t('outreach.kind.' + kind) }), 'ok');
      refreshReport();
    } catch (e) {
      if (e.status === 422) done('tap');
      showErrors(tapForm, e);
    } finally { b.disabled = false; }
  }
  undoBtn.addEventListener('click', async () => {
    if (!lastService) return;
    try {
      await api('DELETE', `/api/v1/outreach/services/${encodeURIComponent(lastService.id)}`);
      flash(t('outreach.undone', { kind: t('outreach.kind.' + lastService.kind) }), 'ok');
      lastService = null; undoBtn.hidden = true;
      refreshReport();
    } catch (e) { flash(errText(e)); }
  });
  const servicesCard = h('section', { class: 'card' }, h('h2', {}, icon('ok'), t('outreach.services')),
    h('p', { class: 'help' }, t('outreach.services_help')), tapForm, tapGrid, undoBtn);

  const closeBtn = lead ? btn('lock', t('outreach.close_btn'), { class: 'btn danger', 'data-testid': 'close-session' }) : null;
  if (closeBtn) closeBtn.addEventListener('click', async () => {
    if (!(await ask(t('outreach.close_confirm'), t('outreach.close_btn'), t('ui.cancel')))) return;
    try {
      await api('POST', `${base}/close`, {});
      flash(t('outreach.closed'), 'ok');
      go(`#/sessions/${encodeURIComponent(id)}`);
    } catch (e) { flash(errText(e)); }
  });

  renderDesks();
  ctx.show(h('section', {}, backLink(), title, sub, team,
    h('p', {}, h('a', { class: 'btn', href: '#/board', target: '_blank', rel: 'noopener', 'data-testid': 'board-link' }, icon('tv'), h('span', {}, t('outreach.open_board')))),
    ticketCard,
    h('section', { class: 'card' }, h('h2', {}, icon('people'), t('outreach.desks')), deskBox),
    servicesCard, reportBox,
    closeBtn ? h('div', { class: 'danger-zone' }, closeBtn) : null));
  refreshReport();
  follow(ctx, refreshDesks);
}

// Keeps the desks current while other team members call tickets: the board's event stream says when.
function follow(ctx, refresh) {
  if (typeof EventSource === 'undefined') return;
  const es = new EventSource('/api/v1/board/events');
  let first = true;
  es.addEventListener('board', () => {
    if (!ctx.alive()) { es.close(); return; }
    if (first) { first = false; return; }
    refresh();
  });
  window.addEventListener('hashchange', () => es.close(), { once: true });
}

function backLink() {
  return h('a', { class: 'back', href: '#/sessions' }, icon('back'), h('span', {}, t('outreach.back')));
}

function countList(items, label) {
  if (!items || !items.length) return h('p', { class: 'muted small' }, t('outreach.none'));
  return h('dl', {}, items.map((c) => h('div', { class: 'kv' }, h('dt', {}, label(c)), h('dd', {}, String(c.count)))));
}

function renderReport(box, r) {
  const tk = r.tickets;
  const vg = r.villagers;
  const wait = r.median_wait_secs == null ? '—' : t('outreach.minutes', { n: Math.round(r.median_wait_secs / 60) });
  // Villagers served, each once: with a ticket (called, or with a service or a dossier for them) and
  // without one (dossiers and taps not linked to a ticket); the hub counts them (see the field guide).
  box.replaceChildren(
    h('h2', {}, icon('doc'), t('outreach.report')),
    h('dl', {},
      [['outreach.r_served', vg.served, 'r-served',
        vg.without_ticket ? t('outreach.r_served_split', { with: vg.with_ticket, without: vg.without_ticket }) : null],
      ['outreach.r_issued', tk.issued, 'r-issued'],
      ['outreach.r_waiting', tk.waiting, 'r-waiting'], ['outreach.r_no_show', vg.no_show, 'r-no-show'],
      ['outreach.r_wait', wait, 'r-wait'], ['outreach.r_services', r.services_total, 'r-services'],
      ['outreach.r_consented', r.consented, 'r-consented']]
        .map(([k, v, tid, note]) => h('div', { class: 'kv' }, h('dt', {}, t(k)),
          h('dd', {}, h('span', { 'data-testid': tid }, String(v)), note ? h('span', { class: 'muted small report-note' }, ` (${note})`) : null)))),
    h('h3', {}, t('outreach.by_kind')), countList(r.by_kind, (c) => t('outreach.kind.' + c.key)),
    h('h3', {}, t('outreach.by_desk')), countList(r.by_desk, (c) => t('outreach.desk.' + c.key)),
    h('h3', {}, t('outreach.by_sex')), countList(r.by_sex, (c) => t('outreach.sex.' + c.key)),
    h('h3', {}, t('outreach.by_age')), countList(r.by_age_band, (c) => t('outreach.age', { band: c.key })),
    h('h3', {}, t('outreach.by_ethnicity')), countList(r.by_ethnicity, (c) => `${c.name} (${c.code})`),
    h('h3', {}, t('outreach.by_dossier')),
    h('div', { 'data-testid': 'r-dossiers' }, countList(r.dossiers_by_procedure, (c) => procTitle({ id: c.key }))),
    countList((r.dossiers_by_disposition || []).filter((c) => c.key !== 'new'), (c) => t('disp.' + c.key)));
  // Procedure titles need the catalogue; redraw once it is here.
  if (r.dossiers_by_procedure && r.dossiers_by_procedure.length) procedures().then(() => { if (box.isConnected && !box.dataset.titled) { box.dataset.titled = '1'; renderReport(box, r); } }).catch(() => {});
}
