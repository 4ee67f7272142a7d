// The office's procedures and their versions (#/office/procedures, clerk and admin): one card per procedure,
// its versions newest first (effective date, "in force", where it came from, legal basis, what it holds, a
// download of the package) and, per version, which paired field hubs hold it (confirmed, downloaded, not
// yet). An admin publishes a package built with `hub procedure build`: the file is read in the browser and
// shown (id, version, title, effective date) before it is sent; the hub checks, signs and records it, and
// the field hubs pull it at their next sync (docs/office-guide.md).
import { h, t, txt, api, btn, icon, banner, errText, can, fmtDate, fmtTime, todayISO } from './lib.js';

const PACKAGE_KIND = 'outreach-kit/procedure-package';
const enc = encodeURIComponent;

// The packages grouped by procedure, in the order the hub lists them; versions newest first.
function byProcedure(packages) {
  const groups = new Map();
  for (const p of packages) {
    if (!groups.has(p.procedure_id)) groups.set(p.procedure_id, []);
    groups.get(p.procedure_id).push(p);
  }
  for (const list of groups.values()) list.sort((a, b) => b.version - a.version);
  return groups;
}

function stateBadge(p) {
  if (p.in_force) return h('span', { class: 'badge ok', 'data-testid': 'proc-in-force' }, icon('ok'), t('procedures.in_force'));
  if (p.effective_from > todayISO()) return h('span', { class: 'badge warn', 'data-testid': 'proc-upcoming' }, t('procedures.upcoming'));
  return h('span', { class: 'badge', 'data-testid': 'proc-superseded' }, t('procedures.superseded'));
}

const ORIGIN = { builtin: 'procedures.origin_builtin', published: 'procedures.origin_published', office: 'procedures.origin_office' };

// Whether one field hub holds this version, in plain words, with the date.
function holding(p, holder) {
  if (holder && holder.confirmed_at) {
    return h('span', { 'data-held': 'confirmed' }, h('span', { class: 'badge ok' }, icon('ok'), t('procedures.held_confirmed')),
      ' ', h('small', {}, t('procedures.confirmed_on', { date: fmtTime(holder.confirmed_at) })));
  }
  if (holder && holder.pulled_at) {
    return h('span', { 'data-held': 'pulled' }, h('span', { class: 'badge warn' }, t('procedures.held_pulled')),
      ' ', h('small', {}, t('procedures.pulled_on', { date: fmtTime(holder.pulled_at) })));
  }
  return h('span', { 'data-held': 'none' }, h('span', { class: 'badge' }, t('procedures.held_none')),
    p.origin === 'builtin' ? [' ', h('small', {}, t('procedures.held_none_builtin'))] : null);
}

function hubsList(p, devices) {
  const holders = new Map((p.holders || []).map((x) => [x.device_id, x]));
  const rows = devices.map((d) => ({ id: d.device_id, name: d.name, status: d.status }));
  // A device that holds the package but is no longer paired still shows.
  for (const x of p.holders || []) if (!rows.some((r) => r.id === x.device_id)) rows.push({ id: x.device_id, name: x.device_name, status: null });
  if (!rows.length) return h('p', { class: 'muted', 'data-testid': 'proc-no-hubs' }, t('procedures.no_hubs'));
  return h('ul', { class: 'list', 'data-testid': 'proc-hubs' }, rows.map((r) => h('li', { class: 'item', 'data-testid': 'proc-hub', 'data-device': r.id },
    h('div', { class: 'grow' },
      h('strong', {}, r.name || t('procedures.unknown_hub')),
      r.status && r.status !== 'approved' ? [' ', h('small', {}, t('pairing.status.' + r.status))] : null,
      h('div', {}, holding(p, holders.get(r.id)))))));
}

// One version: its facts, its download, and the field hubs. A version no longer in force folds away (one
// tap opens it): the page stays short on a phone, and what is in force reads first.
function versionBlock(p, devices) {
  const head = [t('procedures.version', { n: p.version }), ' ', stateBadge(p)];
  const body = [
    h('dl', {},
      h('div', { class: 'kv' }, h('dt', {}, t('procedures.effective_from')), h('dd', { 'data-testid': 'proc-effective' }, fmtDate(p.effective_from))),
      h('div', { class: 'kv' }, h('dt', {}, t('procedures.origin')), h('dd', { 'data-testid': 'proc-origin' }, t(ORIGIN[p.origin] || 'procedures.origin_published'))),
      h('div', { class: 'kv' }, h('dt', {}, t('procedures.contents')),
        h('dd', { 'data-testid': 'proc-counts' }, t('procedures.counts', { fields: p.fields, exports: p.exports, layouts: p.layouts }))),
      h('div', { class: 'kv wide' }, h('dt', {}, t('procedures.legal_basis')),
        h('dd', { 'data-testid': 'proc-legal' }, p.legal_basis ? txt(p.legal_basis) : t('procedures.no_legal_basis')))),
    h('p', {}, h('a', { class: 'btn small', href: `/api/v1/office/packages/${enc(p.hash)}`, download: `${p.procedure_id}.v${p.version}.json`, 'data-testid': 'proc-download' },
      icon('save'), h('span', {}, t('procedures.download')))),
    h('h4', {}, t('procedures.hubs')),
    hubsList(p, devices),
  ];
  const attrs = { class: 'proc-version', 'data-testid': 'proc-version', 'data-version': String(p.version), 'data-hash': p.hash };
  if (p.in_force || p.effective_from > todayISO()) return h('li', attrs, h('h3', {}, head), body);
  return h('li', attrs, h('details', { class: 'proc-old' },
    h('summary', {}, h('strong', {}, head), ' ', h('span', { class: 'muted small' }, t('procedures.from_date', { date: fmtDate(p.effective_from) }))),
    body));
}

function procedureCard(id, versions, devices) {
  const head = versions.find((v) => v.in_force) || versions[0];
  return h('article', { class: 'card', 'data-testid': 'proc-card', 'data-procedure': id },
    h('h2', {}, txt(head.title)),
    h('ol', { class: 'list', 'data-testid': 'proc-versions' }, versions.map((v) => versionBlock(v, devices))));
}

// What the chosen file holds, before it is sent: a package, or why not.
function readPackage(text) {
  let pkg;
  try { pkg = JSON.parse(text); } catch (_) { return { error: t('procedures.not_json') }; }
  const p = pkg && pkg.procedure;
  if (!pkg || pkg.kind !== PACKAGE_KIND || !p || typeof p.id !== 'string' || !Number.isInteger(p.version)) return { error: t('procedures.not_package') };
  return { pkg };
}

function preview(pkg, groups) {
  const p = pkg.procedure;
  const known = groups.get(p.id) || [];
  const note = !known.length ? t('procedures.new_procedure')
    : known.some((v) => v.version === p.version) ? t('procedures.same_version', { n: p.version })
      : t('procedures.new_version');
  return h('div', { class: 'card', 'data-testid': 'publish-preview' },
    h('h3', {}, t('procedures.preview_title')),
    h('dl', {},
      h('div', { class: 'kv wide' }, h('dt', {}, t('procedures.id')), h('dd', { 'data-testid': 'preview-id' }, p.id)),
      h('div', { class: 'kv' }, h('dt', {}, t('procedures.version_dt')), h('dd', { 'data-testid': 'preview-version' }, String(p.version))),
      h('div', { class: 'kv' }, h('dt', {}, t('procedures.name')), h('dd', { 'data-testid': 'preview-title' }, txt(p.title))),
      h('div', { class: 'kv' }, h('dt', {}, t('procedures.effective_from')), h('dd', { 'data-testid': 'preview-effective' }, fmtDate(p.effective_from)))),
    h('p', { class: 'muted small' }, note));
}

function publishCard(getGroups, refresh) {
  // The browser's own file button speaks the browser's language: a label in the page's stands for it.
  const input = h('input', { type: 'file', id: 'proc-file', class: 'sr', accept: '.json,application/json', 'data-testid': 'publish-file', 'aria-describedby': 'proc-file-help proc-file-name' });
  const fileName = h('span', { id: 'proc-file-name', class: 'muted', 'data-testid': 'publish-file-name' }, t('procedures.no_file'));
  const shown = h('div', { 'data-testid': 'publish-shown' });
  const out = h('div', { 'aria-live': 'polite', 'data-testid': 'publish-result' });
  const go = btn('ok', t('procedures.publish'), { class: 'btn primary', 'data-testid': 'publish-go', disabled: true });
  let chosen = null;
  input.addEventListener('change', async () => {
    chosen = null; go.disabled = true; out.replaceChildren(); shown.replaceChildren();
    const file = input.files && input.files[0];
    fileName.textContent = file ? file.name : t('procedures.no_file');
    if (!file) return;
    const r = readPackage(await file.text().catch(() => ''));
    if (r.error) { out.replaceChildren(banner('warn', r.error, null, { 'data-testid': 'publish-error' })); return; }
    chosen = r.pkg;
    shown.replaceChildren(preview(chosen, getGroups()));
    go.disabled = false;
  });
  go.addEventListener('click', async () => {
    if (!chosen) return;
    const label = go.querySelector('span');
    go.disabled = true; go.setAttribute('aria-busy', 'true'); label.textContent = t('procedures.publishing');
    out.replaceChildren();
    try {
      const r = await api('POST', '/api/v1/office/packages', chosen, { timeout: 60000 });
      const msg = r.status === 'already_published'
        ? banner('info', t('procedures.already', { title: txt(chosen.procedure.title), n: r.version }), null, { 'data-testid': 'publish-already' })
        : banner('ok', t('procedures.published', { title: txt(chosen.procedure.title), n: r.version }), t('procedures.published_next'), { 'data-testid': 'publish-done' });
      chosen = null; input.value = ''; shown.replaceChildren(); fileName.textContent = t('procedures.no_file');
      await refresh();
      out.replaceChildren(msg);
    } catch (e) {
      out.replaceChildren(banner('warn', t('procedures.refused'), errText(e), { 'data-testid': 'publish-error', 'data-code': e.code || '' }));
      go.disabled = false;
    } finally {
      go.removeAttribute('aria-busy'); label.textContent = t('procedures.publish');
    }
  });
  return h('section', { class: 'card', 'data-testid': 'publish-card' },
    h('h2', {}, icon('box'), t('procedures.publish_title')),
    h('p', { class: 'muted', id: 'proc-file-help' }, t('procedures.publish_intro')),
    h('div', { class: 'row file-pick' }, input,
      h('label', { for: 'proc-file', class: 'btn' }, icon('doc'), h('span', {}, t('procedures.file_label'))), ' ', fileName),
    shown,
    h('div', { class: 'row' }, go),
    out);
}

export async function proceduresView(app, _p, _q, ctx) {
  let data = await api('GET', '/api/v1/office/packages');
  let groups = byProcedure(data.packages || []);
  const list = h('div', { 'data-testid': 'procedures-list' });
  const draw = () => {
    list.replaceChildren(...(groups.size
      ? [...groups].map(([id, versions]) => procedureCard(id, versions, data.devices || []))
      : [h('p', { class: 'muted' }, t('procedures.none'))]));
  };
  const refresh = async () => {
    data = await api('GET', '/api/v1/office/packages');
    groups = byProcedure(data.packages || []);
    draw();
  };
  draw();
  ctx.show(h('section', { class: 'procedures', 'data-testid': 'procedures' },
    h('h1', {}, t('procedures.title')),
    h('p', { class: 'lead' }, t('procedures.intro')),
    can('admin') ? publishCard(() => groups, refresh) : h('p', { class: 'muted', 'data-testid': 'publish-admin-only' }, t('procedures.admin_only')),
    list));
}
