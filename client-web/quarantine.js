// Office mode: the quarantine — envelopes from field hubs set aside because a check failed, each in plain
// words (what failed, what to do), unresolved first; a clerk resolves one with a note.
import { h, t, api, icon, btn, banner, flash, errText, fmtTime } from './lib.js';

// Reasons with their own explanation; any other check code falls back to `intake.q.other`.
const KNOWN = ['equivocation', 'envelope_signature', 'manifest_mismatch', 'payload_hash', 'blob_hash', 'blob_missing',
  'decrypt', 'dossier_signature', 'attachment_hash', 'seq_mismatch', 'device_mismatch', 'chain', 'format',
  'envelope_format', 'unexpected_envelope', 'replay', 'device_revoked'];
// Reasons that may mean a cloned or stolen device: shown as alarms while open.
const ALARMS = ['equivocation', 'device_revoked'];

const explain = (reason) => (KNOWN.includes(reason) ? `intake.q.${reason}` : 'intake.q.other');
const deviceOf = (x) => `${x.device_name || t('office.device')} (${(x.device_id || '').slice(0, 8)})`;

function item(x, reload) {
  const alarm = ALARMS.includes(x.reason);
  const open = !x.resolved_at;
  const what = t(explain(x.reason), { device: deviceOf(x), seq: x.seq });
  const form = open ? resolveForm(x, reload) : null;
  return h('li', { class: `card qitem${alarm && open ? ' alarm' : ''}`, 'data-testid': 'quarantine-item', 'data-reason': x.reason },
    h('div', { class: 'row' },
      open ? h('span', { class: alarm ? 'badge bad' : 'badge warn' }, icon('warn'), t(alarm ? 'intake.alarm' : 'intake.open'))
        : h('span', { class: 'badge ok' }, icon('ok'), t('intake.resolved')),
      h('strong', {}, `${deviceOf(x)} · ${t('ui.seq', { n: x.seq })}`)),
    h('p', { class: 'qwhat' }, what),
    h('p', { class: 'muted' }, [t(x.via === 'file' ? 'intake.via_file' : 'intake.via_network'), fmtTime(x.raised_at),
      x.batch_id ? t('imports.batch', { id: x.batch_id.slice(0, 13) }) : null].filter(Boolean).join(' · ')),
    h('details', {}, h('summary', {}, t('intake.technical')),
      h('p', { class: 'mono small' }, `${x.reason}: ${x.detail}`),
      h('p', { class: 'mono small' }, `hash ${x.hash}`),
      x.held_hash ? h('p', { class: 'mono small' }, `held ${x.held_hash}`) : null),
    sides(x),
    x.resolution ? h('p', { 'data-testid': 'resolution' }, h('strong', {}, open ? t('intake.previous_note')
      : (x.resolved_by ? t('intake.note_by', { who: x.resolved_by, when: fmtTime(x.resolved_at) }) : t('intake.settled_by_office', { when: fmtTime(x.resolved_at) }))),
      ' ', settledText(x)) : null,
    form);
}

// A note a person wrote is shown as written; what the office settled by itself is said in the clerk's
// language (the stored English text stays in the technical details and the API).
function settledText(x) {
  if (x.resolved_by || !x.resolved_at) return x.resolution;
  if (x.rechained) return t('intake.settled_rechained', { n: x.rechained.seq });
  return t('intake.settled_good_copy');
}

// A dossier the office holds, as one side of the comparison.
function side(title, d, testid) {
  return h('div', { class: 'card qside', 'data-testid': testid },
    h('h3', {}, title),
    h('dl', {},
      h('div', { class: 'kv' }, h('dt', {}, t('intake.side_seq')), h('dd', {}, String(d.seq))),
      h('div', { class: 'kv' }, h('dt', {}, t('intake.side_code')), h('dd', { class: 'mono' }, d.receipt_code)),
      d.issued_code ? h('div', { class: 'kv' }, h('dt', {}, t('intake.side_issued')), h('dd', { class: 'mono' }, d.issued_code)) : null,
      h('div', { class: 'kv' }, h('dt', {}, t('intake.side_sealed')), h('dd', {}, fmtTime(d.sealed_at)))),
    h('a', { href: `#/office/dossier/${encodeURIComponent(d.dossier_id)}` }, t('intake.side_open')));
}

// Equivocation: the dossier held at that seq beside the one set aside, and what became of the latter.
function sides(x) {
  if (!x.held && !x.rechained) return null;
  const offered = x.rechained
    ? side(t('intake.side_rechained', { n: x.rechained.seq }), x.rechained, 'side-rechained')
    : h('div', { class: 'card qside', 'data-testid': 'side-offered' }, h('h3', {}, t('intake.side_offered')),
      h('p', {}, x.offered_sealed_at ? t('intake.side_offered_sealed', { when: fmtTime(x.offered_sealed_at) }) : ''),
      h('p', { class: 'muted' }, t('intake.side_waiting')));
  return h('div', { class: 'qsides' }, x.held ? side(t('intake.side_held', { n: x.seq }), x.held, 'side-held') : null, offered);
}

function resolveForm(x, reload) {
  const id = `qnote-${x.id}`;
  const area = h('textarea', { id, rows: 2, maxlength: 1000, 'data-testid': 'quarantine-note' });
  const go = btn('ok', t('intake.resolve'), { class: 'btn', 'data-testid': 'quarantine-resolve' });
  go.addEventListener('click', async () => {
    if (!area.value.trim()) { flash(t('intake.note_needed')); area.focus(); return; }
    go.disabled = true;
    try {
      await api('POST', `/api/v1/office/quarantine/${x.id}/resolve`, { note: area.value.trim() });
      flash(t('intake.resolved_ok'), 'ok');
      reload();
    } catch (e) { flash(errText(e)); go.disabled = false; }
  });
  return h('div', { class: 'qresolve' }, h('label', { for: id }, t('intake.note_label')), area, go);
}

export async function quarantineView(app, params, query, ctx) {
  const r = await api('GET', '/api/v1/office/quarantine');
  const items = r.items || [];
  const reload = () => quarantineView(app, params, query, ctx);
  ctx.show(h('section', { 'data-testid': 'quarantine' },
    h('h1', {}, t('intake.q_title'), ' ', h('span', { class: 'count' }, String(r.unresolved || 0))),
    h('p', { class: 'muted' }, t('intake.q_intro')),
    r.unresolved ? banner('warn', t('intake.banner', { n: r.unresolved }), null) : null,
    items.length ? h('ul', { class: 'list plain' }, items.map((x) => item(x, reload)))
      : h('p', { class: 'muted', 'data-testid': 'quarantine-empty' }, t('intake.q_none'))));
}
