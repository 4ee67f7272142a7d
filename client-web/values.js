// A dossier's values as people read them, for the office pages (dossier, printable forms, duplicates): a
// choice by its label, a date day first, a commune by its name. The office app loads this small module
// instead of the field's capture modules (form.js and what it brings); form.js keeps the same rules for the
// capture screens.
import { h, t, txt, fmtDate, api } from './lib.js';

export function options(f) {
  if (f.options && f.options.length) return f.options.map((o) => ({ value: o.value, label: txt(o.label) }));
  if (f.kind === 'sex') return ['male', 'female'].map((v) => ({ value: v, label: t('sex.' + v) }));
  return [];
}

// A commune/ward's name by its 5-digit code, asked once per code (the code stays if the hub does not know it).
const unitLabels = new Map();
export function unitLabel(code) {
  if (!unitLabels.has(code)) {
    unitLabels.set(code, api('GET', '/api/v1/units/' + encodeURIComponent(code)).then((u) => u.label).catch(() => code));
  }
  return unitLabels.get(code);
}

// A name the page already knows (a suggestion the person picked), so it is not asked again.
export function rememberUnit(code, label) {
  unitLabels.set(code, Promise.resolve(label));
}

// Plain words for a stored value.
export function valueText(f, v) {
  if (v == null || v === '') return '';
  if (!f) return v;
  if (f.kind === 'confirm') return v === 'yes' ? t('form.confirmed') : v;
  if (f.kind === 'date' || f.kind === 'year_or_date') return fmtDate(v);
  const o = options(f).find((x) => x.value === v);
  return o ? o.label : v;
}

// Like valueText, but a commune/ward is shown by its name, never its code (`data-unit-pending` is set until
// the name arrives).
export function valueNode(f, v) {
  if (f && f.kind === 'commune' && v) {
    const el = h('span', { class: 'unit', 'data-unit': v, 'data-unit-pending': '' }, '…');
    unitLabel(v).then((l) => { el.textContent = l; el.removeAttribute('data-unit-pending'); });
    return el;
  }
  return valueText(f, v);
}

// The field definition of `key` in a procedure definition.
export function fieldDef(def, key) {
  for (const g of (def && def.groups) || []) for (const f of g.fields || []) if (f.key === key) return f;
  return null;
}

// Read-only layout of a dossier's fields, grouped as the procedure's form (a procedure the office has no
// form layout for; the capture review). `compact`: only the facts given (the review read aloud to the
// villager); a group with none is left out.
export function renderReadOnly(def, values, { compact = false } = {}) {
  const el = h('div', { class: 'pform ro' });
  const seen = new Set();
  for (const g of (def && def.groups) || []) {
    const dl = h('dl', {});
    for (const f of g.fields || []) {
      seen.add(f.key);
      const v = values[f.key];
      if (compact && !v) continue;
      dl.append(h('div', { class: 'kv', 'data-key': f.key }, h('dt', {}, txt(f.label)),
        h('dd', { class: v ? '' : 'empty' }, v ? valueNode(f, v) : '—')));
    }
    if (compact && !dl.childElementCount) continue;
    el.append(h('section', { class: 'group card' }, h('h2', {}, txt(g.title)), dl));
  }
  const rest = Object.keys(values || {}).filter((k) => !seen.has(k));
  if (rest.length) {
    el.append(h('section', { class: 'group card' }, h('h2', {}, def ? t('office.other_fields') : t('office.fields')),
      h('dl', {}, rest.map((k) => h('div', { class: 'kv', 'data-key': k }, h('dt', {}, k), h('dd', {}, values[k]))))));
  }
  return el;
}
