// Exports for the downstream systems (#/office/exports): one card per system (the form's name, how many
// dossiers are not yet exported there and how many wait for the child's PIN, XLSX for people or CSV for
// software, a big Export button, the download), shared
// filters (status, received dates), "export again" behind a confirmation, and the past exports with
// re-download. Each dossier is offered once per system; the hub records every export in the audit log.
import { h, t, api, btn, icon, banner, flash, errText, ask, fmtTime, state } from './lib.js';

const enc = encodeURIComponent;
const STATUSES = ['received', 'in_progress', 'needs_papers', 'registered', 'ready_for_pickup', 'handed_over', 'rejected'];
const fileUrl = (id) => `/api/v1/office/exports/${enc(id)}/file`;
const formName = (s) => (state.lang === 'vi' ? s.form_vi : s.form_en || s.form_vi);

function filtersCard(filters) {
  const status = h('select', { id: 'exp-status', 'data-testid': 'export-filter-status', onchange: (e) => { filters.status = e.target.value || null; } },
    h('option', { value: '' }, t('exports.any_status')),
    STATUSES.map((s) => h('option', { value: s }, t('exports.st.' + s))));
  const from = h('input', { id: 'exp-from', type: 'date', 'data-testid': 'export-filter-from', onchange: (e) => { filters.received_from = e.target.value || null; } });
  const to = h('input', { id: 'exp-to', type: 'date', 'data-testid': 'export-filter-to', onchange: (e) => { filters.received_to = e.target.value || null; } });
  return h('details', { class: 'card exp-filters', 'data-testid': 'export-filters' },
    h('summary', {}, t('exports.filters')),
    h('p', { class: 'muted' }, t('exports.filters_help')),
    h('div', { class: 'exp-filter-row' },
      h('div', { class: 'field' }, h('label', { for: 'exp-status' }, t('exports.status')), status),
      h('div', { class: 'field' }, h('label', { for: 'exp-from' }, t('exports.from')), from),
      h('div', { class: 'field' }, h('label', { for: 'exp-to' }, t('exports.to')), to)));
}

function systemCard(s, filters, refresh) {
  const id = s.system;
  const pending = h('p', { class: 'exp-pending', 'data-testid': `export-pending-${id}`, 'data-count': String(s.pending) },
    h('strong', { class: 'big-number' }, String(s.pending)), ' ', t('exports.pending'));
  const waiting = h('p', { class: 'muted small exp-waiting', 'data-testid': `export-waiting-${id}`, 'data-count': String(s.waiting || 0),
    hidden: !s.waiting }, s.waiting ? t('exports.waiting_pin', { n: s.waiting }) : '');
  const formatId = `exp-format-${id}`;
  const format = h('select', { id: formatId, 'data-testid': `export-format-${id}` },
    h('option', { value: 'xlsx' }, t('exports.xlsx')),
    h('option', { value: 'csv' }, t('exports.csv_machines')));
  const againId = `exp-again-${id}`;
  const again = h('input', { type: 'checkbox', id: againId, 'data-testid': `export-again-${id}`, onchange: () => sync() });
  const result = h('div', { class: 'exp-result', 'aria-live': 'polite', 'data-testid': `export-result-${id}` });
  const go = btn('save', t('exports.go'), { class: 'btn primary big', 'data-testid': `export-go-${id}` });
  const sync = () => { go.disabled = s.pending === 0 && !again.checked; };
  sync();
  go.addEventListener('click', async () => {
    if (again.checked && !(await ask(t('exports.again_confirm', { form: formName(s) }), t('exports.again_yes'), t('ui.no')))) return;
    const body = { system: id, format: format.value };
    if (again.checked) body.again = true;
    const f = {};
    for (const k of ['status', 'received_from', 'received_to']) if (filters[k]) f[k] = filters[k];
    if (Object.keys(f).length) body.filter = f;
    go.disabled = true;
    go.setAttribute('aria-busy', 'true');
    go.querySelector('span').textContent = t('exports.working');
    result.replaceChildren();
    try {
      const r = await api('POST', '/api/v1/office/exports', body, { timeout: 600000 });
      if (!r.rows) {
        result.replaceChildren(banner('ok', t('exports.nothing'), null, { 'data-testid': `export-nothing-${id}` }));
      } else {
        const link = h('a', { class: 'btn primary big', href: fileUrl(r.id), download: '', 'data-testid': `export-download-${id}` },
          icon('doc'), h('span', {}, t('exports.download', { n: r.rows })));
        result.replaceChildren(banner('ok', t('exports.done', { n: r.rows }), null), link);
        link.focus();
        again.checked = false;
        await refresh();
      }
    } catch (e) {
      flash(errText(e));
    } finally {
      go.removeAttribute('aria-busy');
      go.querySelector('span').textContent = t('exports.go');
      sync();
    }
  });
  return h('article', { class: 'card exp-card', 'data-testid': `export-card-${id}`, 'data-system': id },
    h('h2', {}, formName(s)),
    h('p', { class: 'muted' }, icon('box'), ' ', state.lang === 'vi' ? s.target_vi : s.target_en),
    pending,
    waiting,
    h('div', { class: 'field' }, h('label', { for: formatId }, t('exports.format')), format,
      h('p', { class: 'muted small' }, t('exports.format_help_choose'))),
    h('div', { class: 'field check' }, again, h('label', { for: againId }, t('exports.again'))),
    go,
    result);
}

function historyTable(list, byId) {
  if (!list.length) return h('p', { class: 'muted', 'data-testid': 'export-history' }, t('exports.no_history'));
  return h('div', { class: 'table-wrap' }, h('table', { class: 'exp-history', 'data-testid': 'export-history' },
    h('caption', { class: 'sr' }, t('exports.history')),
    h('thead', {}, h('tr', {},
      [t('exports.h_when'), t('exports.h_form'), t('exports.h_format'), t('exports.h_rows'), t('exports.h_who'), t('exports.h_file')]
        .map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, list.map((x) => h('tr', { 'data-testid': 'export-row', 'data-id': x.id },
      h('td', {}, fmtTime(x.created_at)),
      h('td', {}, byId[x.system] ? formName(byId[x.system]) : x.system),
      h('td', {}, x.format.toUpperCase()),
      h('td', { class: 'num' }, String(x.rows)),
      h('td', {}, x.created_by_name || ''),
      h('td', {}, h('a', { href: fileUrl(x.id), download: '', class: 'btn small', 'data-testid': 'export-redownload',
        title: x.sha256 ? `${t('exports.h_sha')}: ${x.sha256}` : '' },
        icon('doc'), h('span', {}, x.file_name))))))));
}

export async function exportsView(app, _params, _query, ctx) {
  const filters = { status: null, received_from: null, received_to: null };
  const [p, hist] = await Promise.all([api('GET', '/api/v1/office/exports/pending'), api('GET', '/api/v1/office/exports?limit=50')]);
  const byId = Object.fromEntries(p.systems.map((s) => [s.system, s]));
  const history = h('div', {}, historyTable(hist.exports, byId));
  const refresh = async () => {
    const [np, nh] = await Promise.all([api('GET', '/api/v1/office/exports/pending'), api('GET', '/api/v1/office/exports?limit=50')]);
    for (const s of np.systems) {
      byId[s.system].pending = s.pending;
      const el = app.querySelector(`[data-testid=export-pending-${s.system}]`);
      if (el) { el.dataset.count = String(s.pending); el.querySelector('strong').textContent = String(s.pending); }
      const w = app.querySelector(`[data-testid=export-waiting-${s.system}]`);
      if (w) {
        w.dataset.count = String(s.waiting || 0);
        w.hidden = !s.waiting;
        w.textContent = s.waiting ? t('exports.waiting_pin', { n: s.waiting }) : '';
      }
    }
    history.replaceChildren(historyTable(nh.exports, byId));
  };
  ctx.show(h('section', { class: 'exports', 'data-testid': 'exports' },
    h('h1', {}, t('exports.title')),
    h('p', { class: 'lead' }, t('exports.intro')),
    filtersCard(filters),
    h('div', { class: 'exp-cards' }, p.systems.map((s) => systemCard(s, filters, refresh))),
    h('h2', {}, t('exports.history')),
    history));
}
