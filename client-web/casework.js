// Casework at the office: a dossier laid out like the official forms, its status with the allowed next
// steps (small forms: papers and message, result numbers, pickup place, reason), the deadline badge and the
// history; the work lists (overdue, due soon, by status). The forms on A4 are print.js.
import { h, t, txt, api, icon, btn, banner, procedures, procTitle, findProc, fmtTime, fmtDate, errText, detailText, ApiError } from './lib.js';
import { valueNode, fieldDef } from './values.js';

const enc = encodeURIComponent;

// The official forms and their items in the forms' order, derived from the export systems of the
// dossier's package (served with each procedure by GET /api/v1/procedures on an office hub): one section
// per system, titled with its form's name; the fields its items name, in order; a result number item is
// `result:<kind>` (e.g. the child's PIN on CT01 and TK1-TS once the birth is registered); the technical
// columns (receipt code, dossier id, received on) and items the kit does not capture are left out.
// The keys an export value names, in order (docs/protocol.md, "Export mappings"); the values written as a
// bare string (receipt_code, dossier_id, received_on, not_captured) name none.
export function sourceKeys(v) {
  if (!v || typeof v !== 'object') return [];
  const [tag, arg] = Object.entries(v)[0] || [];
  if (tag === 'address') return [arg.detail, arg.commune];
  if (tag === 'first_of') return arg.flatMap(sourceKeys);
  if (tag === 'prefixed') return sourceKeys(arg.value);
  if (tag === 'result_number') return ['result:' + arg];
  return typeof arg === 'string' ? [arg] : [];
}

// The package of a dossier's procedure version as the hub serves it (with `exports` and `results`).
function pkgOf(def, ref) {
  return findProc(ref || (def && { id: def.id, version: def.version })) || def || null;
}

export function caseworkForms(pkg) {
  return ((pkg && pkg.exports) || []).map((sys) => {
    const keys = [];
    for (const it of sys.items || []) for (const k of sourceKeys(it.value)) if (!keys.includes(k)) keys.push(k);
    return { id: sys.id, title: txt(sys.form), keys };
  }).filter((f) => f.keys.length);
}

// The result numbers the office registers for the dossier's procedure version: [{kind, label}].
export function resultDefs(def, ref) {
  const p = pkgOf(def, ref);
  return (p && p.results) || [];
}

function resultLabel(defs, kind) {
  const r = defs.find((x) => x.kind === kind);
  return r ? txt(r.label) : kind;
}

const STATUS_ICON = { received: 'box', in_progress: 'reload', needs_papers: 'warn', registered: 'ok', ready_for_pickup: 'ticket', handed_over: 'ok', rejected: 'warn' };

export function statusBadge(s) {
  const cls = s === 'rejected' ? 'badge bad' : (s === 'needs_papers' ? 'badge warn' : (['registered', 'ready_for_pickup', 'handed_over'].includes(s) ? 'badge ok' : 'badge'));
  return h('span', { class: cls, 'data-testid': 'status-badge', 'data-status': s }, icon(STATUS_ICON[s] || 'doc'), t('dossier.status.' + s));
}

// The deadline in plain words: overdue / due today / n working days left / done.
export function deadlineBadge(dl, status) {
  if (!dl) return null;
  const closed = status === 'handed_over' || status === 'rejected';
  let kind = 'ok'; let text;
  if (closed) { kind = ''; text = t('dossier.deadline.closed', { date: fmtDate(dl.due_on) }); }
  else if (dl.overdue) { kind = 'bad'; text = t('dossier.deadline.overdue', { date: fmtDate(dl.due_on), n: -dl.working_days_left }); }
  else if (dl.working_days_left <= 1) { kind = 'warn'; text = dl.working_days_left === 0 ? t('dossier.deadline.today') : t('dossier.deadline.tomorrow', { date: fmtDate(dl.due_on) }); }
  else text = t('dossier.deadline.left', { n: dl.working_days_left, date: fmtDate(dl.due_on) });
  return h('span', { class: `badge ${kind}`, 'data-testid': 'deadline-badge', 'data-overdue': String(!!dl.overdue) }, icon(dl.overdue ? 'warn' : 'book'), text);
}

// The filled forms: one section per official form, each item with its captured value; derived values
// (filled by the hub from other answers) are marked.
export function formSections(def, fields, results, ref) {
  const pkg = pkgOf(def, ref);
  const forms = caseworkForms(pkg);
  const kinds = resultDefs(def, ref);
  const placed = new Set();
  const numbers = Object.fromEntries((results || []).map((r) => [r.kind, r.number]));
  const item = (key, n) => {
    if (key.startsWith('result:')) {
      const kind = key.slice(7);
      const v = numbers[kind];
      return h('div', { class: 'kv', 'data-key': key }, h('dt', {}, `${n}. ${resultLabel(kinds, kind)}`),
        h('dd', { class: v ? 'mono' : 'muted' }, v || t('dossier.after_registration')));
    }
    const f = fieldDef(def, key);
    if (!f) return null;
    placed.add(key);
    const v = fields[key];
    const derived = !!(f.derive && f.derive.length);
    return h('div', { class: 'kv' + (derived ? ' derived' : ''), 'data-key': key },
      h('dt', {}, `${n}. ${txt(f.label)}`),
      h('dd', { class: v ? '' : 'empty' }, v ? valueNode(f, v) : '—',
        derived && v ? h('small', { class: 'derived-mark', 'data-testid': 'derived-mark' }, ' ', t('dossier.derived')) : null));
  };
  const out = forms.map((form) => {
    let n = 0;
    const items = form.keys.map((k) => { const el = item(k, n + 1); if (el) n += 1; return el; }).filter(Boolean);
    return h('section', { class: 'group card official-form', 'data-testid': 'form-' + form.id, 'data-form': form.id },
      h('h2', {}, form.title), h('dl', {}, items));
  });
  // Anything the catalogue has that no form lists, so nothing captured is hidden.
  const rest = [];
  for (const g of (def && def.groups) || []) for (const f of g.fields || []) if (!placed.has(f.key) && fields[f.key]) rest.push(f);
  const extra = Object.keys(fields || {}).filter((k) => !fieldDef(def, k));
  if (rest.length || extra.length) {
    out.push(h('section', { class: 'group card', 'data-testid': 'form-other' }, h('h2', {}, t('office.other_fields')),
      h('dl', {}, rest.map((f) => h('div', { class: 'kv', 'data-key': f.key }, h('dt', {}, txt(f.label)), h('dd', {}, valueNode(f, fields[f.key])))),
        extra.map((k) => h('div', { class: 'kv', 'data-key': k }, h('dt', {}, k), h('dd', {}, fields[k]))))));
  }
  return out;
}

// ---------- status actions ----------

function input(name, label, attrs = {}) {
  const id = 'st-' + name;
  const el = attrs.multiline ? h('textarea', { id, name, rows: 3, 'data-testid': 'st-' + name })
    : h('input', { id, name, type: attrs.type || 'text', 'data-testid': 'st-' + name, autocomplete: 'off', inputmode: attrs.inputmode || null });
  return h('div', { class: 'field', 'data-field': name }, h('label', { for: id }, label), el,
    h('p', { class: 'err', id: id.replace(/\./g, '-') + '-err', hidden: true }));
}

// The small form for moving to `to`; resolves the body to send.
function statusForm(to, d, onDone, onCancel) {
  const kinds = resultDefs(d.procedure_def, d.procedure);
  const parts = [];
  if (to === 'needs_papers') {
    parts.push(input('papers', t('dossier.form.papers'), { multiline: true }), input('message', t('dossier.form.message'), { multiline: true }));
  } else if (to === 'registered') {
    for (const r of kinds) parts.push(input('result_numbers.' + r.kind, txt(r.label), { inputmode: r.kind === 'pin' ? 'numeric' : null }));
    parts.push(input('message', t('dossier.form.message_optional'), { multiline: true }));
  } else if (to === 'ready_for_pickup') {
    parts.push(input('place', t('dossier.form.place')), input('from_date', t('dossier.form.from_date'), { type: 'date' }),
      input('until_date', t('dossier.form.until_date'), { type: 'date' }), input('message', t('dossier.form.message_optional'), { multiline: true }));
  } else if (to === 'rejected') {
    parts.push(input('reason', t('dossier.form.reason'), { multiline: true }));
  } else {
    parts.push(input('message', t('dossier.form.note_optional'), { multiline: true }));
  }
  const canExtend = (to === 'in_progress' || to === 'needs_papers') && !(d.status && d.status.extended);
  const ext = canExtend ? h('input', { type: 'checkbox', id: 'st-extended', 'data-testid': 'st-extended' }) : null;
  const extReason = canExtend ? input('reason', t('dossier.form.extend_reason'), { multiline: true }) : null;
  if (extReason) extReason.hidden = true;
  if (ext) ext.addEventListener('change', () => { extReason.hidden = !ext.checked; });
  const msg = h('div', { 'aria-live': 'polite' });
  const ok = btn('save', t('dossier.form.submit', { status: t('dossier.status.' + to) }), { class: 'btn primary', type: 'submit', 'data-testid': 'status-submit' });
  const cancel = btn('back', t('dossier.form.cancel'), { class: 'btn', type: 'button', 'data-testid': 'status-cancel' });
  cancel.addEventListener('click', onCancel);
  const form = h('form', { class: 'card status-form', 'data-testid': 'status-form-' + to, novalidate: true },
    h('h3', {}, t('dossier.form.title', { status: t('dossier.status.' + to) })), parts,
    ext ? h('div', { class: 'field check' }, ext, h('label', { for: 'st-extended' }, t('dossier.form.extend', { n: (d.procedure_def && d.procedure_def.time_limit_extended_working_days) || '' }))) : null,
    extReason, msg, h('div', { class: 'row' }, ok, cancel));
  const val = (n) => { const el = form.querySelector(`[name="${n}"]`); return el ? el.value : ''; };
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    form.querySelectorAll('.err').forEach((x) => { x.hidden = true; x.textContent = ''; });
    form.querySelectorAll('[aria-invalid]').forEach((x) => { x.removeAttribute('aria-invalid'); x.removeAttribute('aria-describedby'); });
    const body = { to, expected_version: d.status ? d.status.version : 0 };
    if (to === 'needs_papers') { body.papers = val('papers').split('\n').map((s) => s.trim()).filter(Boolean); body.message = val('message'); }
    else if (to === 'registered') {
      body.result_numbers = kinds.map((r) => ({ kind: r.kind, number: val('result_numbers.' + r.kind).trim() }));
      if (val('message').trim()) body.message = val('message');
    } else if (to === 'ready_for_pickup') {
      body.place = val('place'); body.from_date = val('from_date');
      if (val('until_date')) body.until_date = val('until_date');
      if (val('message').trim()) body.message = val('message');
    } else if (to === 'rejected') body.reason = val('reason');
    else if (val('message').trim()) body.message = val('message');
    if (ext && ext.checked) { body.extended = true; body.reason = val('reason'); }
    ok.disabled = true;
    try {
      await api('POST', `/api/v1/office/dossiers/${enc(d.dossier_id)}/status`, body);
      onDone();
    } catch (err) {
      // Each message beside its input, the input marked (red border, aria-invalid, described by the
      // message), and the first one focused so the clerk is where the fix is.
      const details = err instanceof ApiError ? err.details : [];
      let first = null;
      for (const x of details) {
        const name = (x.field || '').replace(/\[\d+\]$/, '');
        const box = form.querySelector(`[data-field="${CSS.escape(name)}"] .err`);
        if (!box) continue;
        box.textContent = box.hidden ? detailText(x) : `${box.textContent} ${detailText(x)}`;
        box.hidden = false;
        const inp = form.querySelector(`[name="${CSS.escape(name)}"]`);
        if (inp) {
          inp.setAttribute('aria-invalid', 'true');
          inp.setAttribute('aria-describedby', box.id);
          if (!first) first = inp;
        }
      }
      msg.replaceChildren(banner('warn', errText(err), first ? t('dossier.form.fix') : null, { 'data-testid': 'status-error', 'data-code': err.code || '' }));
      if (first) first.focus();
    } finally { ok.disabled = false; }
  });
  return form;
}

// Status, deadline and the next steps as buttons; `reload` re-renders the page after a change.
export function statusPanel(d, reload) {
  const s = (d.status && d.status.status) || 'received';
  const next = (d.status && d.status.next) || [];
  const slot = h('div', {});
  const buttons = next.map((to) => {
    const b = btn(STATUS_ICON[to] || 'doc', t('dossier.to.' + to), { class: to === 'rejected' ? 'btn danger' : 'btn', type: 'button', 'data-testid': 'status-to-' + to });
    b.addEventListener('click', () => {
      const f = statusForm(to, d, reload, () => slot.replaceChildren());
      slot.replaceChildren(f);
      const first = f.querySelector('input, textarea');
      if (first) first.focus();
    });
    return b;
  });
  const st = d.status || {};
  const facts = [];
  if (st.papers && st.papers.length && s === 'needs_papers') facts.push(h('p', {}, h('strong', {}, t('dossier.form.papers')), ' ', st.papers.join('; ')));
  if (st.message) facts.push(h('p', {}, h('strong', {}, t('dossier.message')), ' ', st.message));
  const kinds = resultDefs(d.procedure_def, d.procedure);
  if (st.result_numbers) facts.push(h('ul', { 'data-testid': 'result-numbers' }, st.result_numbers.map((r) => h('li', {}, resultLabel(kinds, r.kind), ': ', h('strong', { class: 'mono' }, r.number)))));
  if (st.pickup) facts.push(h('p', {}, h('strong', {}, t('dossier.form.place')), ' ', st.pickup.place, ` (${fmtDate(st.pickup.from_date)}${st.pickup.until_date ? ' – ' + fmtDate(st.pickup.until_date) : ''})`));
  if (st.reason && s === 'rejected') facts.push(h('p', {}, h('strong', {}, t('dossier.form.reason')), ' ', st.reason));
  return h('section', { class: 'card group status-panel no-print', 'data-testid': 'status-panel' },
    h('h2', {}, t('dossier.status_title')),
    h('p', { class: 'row' }, statusBadge(s), ' ', deadlineBadge(d.deadline, s),
      st.extended ? h('span', { class: 'badge warn', 'data-testid': 'extended-badge' }, t('dossier.extended')) : null),
    d.deadline ? h('p', { class: 'muted' }, t('dossier.deadline.rule', { on: fmtDate(d.deadline.received_on), n: d.deadline.limit_working_days, due: fmtDate(d.deadline.due_on) })) : null,
    facts,
    next.length ? h('div', { class: 'row status-actions', 'data-testid': 'status-actions' }, buttons) : h('p', { class: 'muted' }, t('dossier.final')),
    slot);
}

function historyText(x) {
  if (x.kind === 'news') return t('dossier.history.news', { status: t('news.status.' + (x.status && x.status.kind)) });
  if (x.action === 'status_changed') return t('dossier.history.changed', { from: t('dossier.status.' + x.from_status), to: t('dossier.status.' + x.to_status) });
  if (x.action === 'deadline_extended') return t('dossier.history.extended', { date: fmtDate(x.detail && x.detail.due_on) });
  const k = 'dossier.history.' + x.action;
  const s = t(k);
  return s === k ? x.action : s;
}

export function historyList(d) {
  const list = d.history || [];
  return h('section', { class: 'card group', 'data-testid': 'history' }, h('h2', {}, t('dossier.history.title')),
    list.length ? h('ol', { class: 'history-list' }, list.map((x) => h('li', { 'data-testid': 'history-row', 'data-kind': x.kind, 'data-action': x.action || '' },
      h('strong', {}, fmtTime(x.at)), ' · ', historyText(x), ' · ', h('span', { class: 'muted' }, x.actor_name || x.published_by_name || ''),
      x.detail && x.detail.reason ? h('div', {}, t('dossier.form.reason'), ' ', x.detail.reason) : null,
      x.kind === 'news' && x.note ? h('div', {}, x.note) : (x.detail && x.detail.message ? h('div', {}, x.detail.message) : null))))
      : h('p', { class: 'muted', 'data-testid': 'history-none' }, t('dossier.history.none')));
}

// ---------- work lists ----------
const TABS = [['overdue', 'overdue'], ['due_soon', 'due_soon'], ['status:needs_papers', 'needs_papers'], ['status:in_progress', 'in_progress'],
  ['status:registered', 'registered'], ['status:ready_for_pickup', 'ready_for_pickup']];

export async function workView(app, _p, query, ctx) {
  const view = (query && query.get && query.get('view')) || 'overdue';
  const cursor = (query && query.get && query.get('cursor')) || '';
  const [r] = await Promise.all([api('GET', `/api/v1/office/work?view=${enc(view)}&limit=50${cursor ? '&cursor=' + enc(cursor) : ''}`), procedures().catch(() => null)]);
  const counts = r.counts || {};
  const tabs = h('nav', { class: 'tabs row', 'aria-label': t('work.tabs') }, TABS.map(([v, key]) => h('a', {
    class: 'btn' + (v === view ? ' primary' : ''), href: '#/office/work?view=' + enc(v), 'aria-current': v === view ? 'page' : null, 'data-testid': 'work-tab-' + key,
  }, t('work.tab.' + key), ' ', h('span', { class: 'count', 'data-testid': 'work-count-' + key }, String(counts[v] ?? 0)))));
  const rows = r.dossiers || [];
  ctx.show(h('section', { 'data-testid': 'work' }, h('h1', {}, t('work.title')), tabs,
    h('p', { class: 'muted' }, t('work.open_total', { n: counts.open ?? 0 })),
    rows.length ? h('ul', { class: 'list card', 'data-testid': 'work-rows' }, rows.map((d) => h('li', {},
      h('a', { class: 'item', href: '#/office/dossier/' + enc(d.dossier_id), 'data-testid': 'work-row', 'data-receipt': d.receipt_code },
        icon('doc'), h('span', { class: 'grow' }, h('strong', {}, d.title || procTitle(d.procedure)), ' ', h('span', { class: 'mono' }, d.receipt_code),
          h('small', {}, [procTitle(d.procedure), t('work.received_on', { date: fmtDate(d.received_on) })].join(' · '))),
        statusBadge(d.status), deadlineBadge({ due_on: d.due_on, overdue: d.overdue, working_days_left: d.working_days_left }, d.status)))))
      : h('p', { class: 'muted', 'data-testid': 'work-none' }, t('work.none')),
    r.next_cursor ? h('p', {}, h('a', { class: 'btn', href: `#/office/work?view=${enc(view)}&cursor=${enc(r.next_cursor)}`, 'data-testid': 'work-more' }, t('work.more'))) : null));
}
