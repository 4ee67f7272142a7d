// Forms rendered from the procedure catalogue (ProcedureDef): an editable form for drafts and a
// read-only layout for the office. Nothing here is specific to one procedure.
import { h, t, txt, todayISO, fmtDate, detailText, api } from './lib.js';

const TEXT_KINDS = { text: 200, name: 200, ethnicity: 200, nationality: 200, address: 200, pin: 12, phone: 15, health_insurance: 15, year_or_date: 10, number: 9 };
const RADIO_MAX = 6; // choices with more options than this become a drop-down list

let ethnicList = null;
function ethnicDatalist() {
  const dl = h('datalist', { id: 'dl-ethnic' });
  const fillIn = (names) => dl.replaceChildren(...names.map((n) => h('option', { value: n })));
  if (ethnicList) fillIn(ethnicList);
  else fetch('data/ethnic-groups.json').then((r) => (r.ok ? r.json() : [])).then((n) => { ethnicList = n; fillIn(n); }).catch(() => {});
  return dl;
}

function options(f) {
  if (f.options && f.options.length) return f.options.map((o) => ({ value: o.value, label: txt(o.label) }));
  if (f.kind === 'sex') return ['male', 'female'].map((v) => ({ value: v, label: t('sex.' + v) }));
  return [];
}

// Commune picker: the person types a name (with or without diacritics), picks from the hub's list of
// administrative units; the field's value is the unit's 5-digit code (a hidden input named after the key).
const unitLabels = new Map();
async function unitLabel(code) {
  if (!unitLabels.has(code)) {
    unitLabels.set(code, api('GET', '/api/v1/units/' + encodeURIComponent(code)).then((u) => u.label).catch(() => code));
  }
  return unitLabels.get(code);
}

function communeControl(f, id, val, describedBy) {
  const hidden = h('input', { type: 'hidden', name: f.key, value: val || '', 'data-kind': 'commune' });
  const listId = id + '-list';
  const list = h('datalist', { id: listId });
  const search = h('input', { id, type: 'search', list: listId, autocomplete: 'off', spellcheck: 'false',
    'aria-describedby': describedBy, placeholder: t('form.commune_placeholder'), 'data-commune-for': f.key });
  const found = new Map();
  if (val) unitLabel(val).then((l) => { if (!search.value) search.value = l; });
  let timer = null;
  search.addEventListener('input', (ev) => {
    ev.stopPropagation();
    const q = search.value.trim();
    const hit = found.get(search.value);
    if (hit) {
      hidden.value = hit;
      unitLabels.set(hit, Promise.resolve(search.value));
      hidden.dispatchEvent(new Event('input', { bubbles: true }));
      return;
    }
    if (hidden.value) { hidden.value = ''; hidden.dispatchEvent(new Event('input', { bubbles: true })); }
    clearTimeout(timer);
    if (q.length < 2) return;
    timer = setTimeout(() => {
      api('GET', '/api/v1/units/search?limit=15&q=' + encodeURIComponent(q)).then((r) => {
        const units = r.units || [];
        found.clear();
        for (const u of units) found.set(u.label, u.code);
        list.replaceChildren(...units.map((u) => h('option', { value: u.label })));
      }).catch(() => {});
    }, 200);
  });
  search.addEventListener('change', (ev) => ev.stopPropagation());
  return h('div', { class: 'commune' }, search, list, hidden);
}

// The same derivation rules as the hub's (protocol/src/derive.rs): an empty field takes the value of the
// first rule whose condition holds and whose source has a value. Shown for confirmation; the hub applies
// them at seal.
export function holds(c, vals) {
  const v = vals[c.field];
  if (!v) return false;
  return c.equals != null ? v === c.equals : v !== c.not_equals;
}

export function deriveAll(def, values) {
  const out = { ...values };
  const fields = (def.groups || []).flatMap((g) => g.fields || []);
  const from = {};
  for (let pass = 0; pass <= fields.length; pass++) {
    let changed = false;
    for (const f of fields) {
      if (out[f.key] || !f.derive) continue;
      for (const d of f.derive) {
        if (d.when && !holds(d.when, out)) continue;
        const src = out[d.from];
        if (!src) continue;
        out[f.key] = d.transform === 'uppercase' ? src.toLocaleUpperCase('vi') : src;
        from[f.key] = d.from;
        changed = true;
        break;
      }
    }
    if (!changed) break;
  }
  return { values: out, from };
}

// Plain-words display of a stored value.
// A value as shown to people: like valueText, but a commune/ward is shown by its name, never its code
// (looked up once per code; `data-unit-pending` is set until the name arrives, the code stays only if the
// hub does not know it).
export function valueNode(f, v) {
  if (f && f.kind === 'commune' && v) {
    const el = h('span', { class: 'unit', 'data-unit': v, 'data-unit-pending': '' }, '…');
    unitLabel(v).then((l) => { el.textContent = l; el.removeAttribute('data-unit-pending'); });
    return el;
  }
  return valueText(f, v);
}

export function valueText(f, v) {
  if (v == null || v === '') return '';
  if (f.kind === 'confirm') return v === 'yes' ? t('form.confirmed') : v;
  if (f.kind === 'date') return fmtDate(v);
  const o = options(f).find((x) => x.value === v);
  return o ? o.label : v;
}

function label(f, id, tag = 'label') {
  return h(tag, tag === 'label' ? { for: id } : {}, txt(f.label),
    h('span', { class: 'req', 'aria-hidden': 'true', hidden: !f.required }, ' *'),
    h('span', { class: 'sr', 'data-req': '', hidden: !f.required }, ` (${t('form.required')})`));
}

function control(f, id, val, describedBy) {
  const common = { id, name: f.key, 'aria-describedby': describedBy, 'data-kind': f.kind };
  const kind = f.kind;
  if (kind === 'sex' || kind === 'choice') {
    const opts = options(f);
    if (kind === 'choice' && opts.length > RADIO_MAX) {
      return h('select', common, h('option', { value: '' }, t('form.choose')),
        opts.map((o) => h('option', { value: o.value, selected: o.value === val }, o.label)));
    }
    return h('div', { class: kind === 'sex' ? 'radios two' : 'radios', role: 'presentation' },
      opts.map((o, i) => h('label', { class: 'radio' },
        h('input', { type: 'radio', name: f.key, value: o.value, checked: o.value === val, id: i ? null : id, 'aria-describedby': describedBy }),
        h('span', {}, o.label))));
  }
  if (kind === 'confirm') {
    return h('label', { class: 'check' },
      h('input', { ...common, type: 'checkbox', value: 'yes', checked: val === 'yes' }),
      h('span', {}, txt(f.label), h('span', { class: 'req', 'aria-hidden': 'true', hidden: !f.required }, ' *')));
  }
  if (kind === 'long_text') {
    return h('textarea', { ...common, rows: '3', maxlength: String(f.max_len || 1000) }, val || '');
  }
  if (kind === 'date') {
    return h('input', { ...common, type: 'date', value: val || '', max: todayISO() });
  }
  if (kind === 'commune') return communeControl(f, id, val, describedBy);
  const a = { ...common, type: 'text', value: val || '', maxlength: String(f.max_len || TEXT_KINDS[kind] || 200), autocomplete: 'off', spellcheck: 'false' };
  if (kind === 'pin') Object.assign(a, { inputmode: 'numeric', pattern: '[0-9]{12}', maxlength: '12', placeholder: '0xxxxxxxxxxx' });
  if (kind === 'phone') Object.assign(a, { type: 'tel', inputmode: 'numeric', placeholder: '09xxxxxxxx' });
  if (kind === 'name') a.autocapitalize = 'words';
  if (kind === 'year_or_date') Object.assign(a, { inputmode: 'numeric', pattern: '[0-9]{4}(-[0-9]{2}-[0-9]{2})?', placeholder: t('form.year_or_date_placeholder') });
  if (kind === 'number') Object.assign(a, { inputmode: 'numeric', pattern: '[0-9]+', min: f.min, max: f.max });
  if (kind === 'health_insurance') Object.assign(a, { pattern: '[0-9]{10}|[A-Z]{2}[0-9]{13}', autocapitalize: 'characters' });
  if (kind === 'ethnicity') a.list = 'dl-ethnic';
  if (kind === 'nationality') a.placeholder = 'Việt Nam';
  return h('input', a);
}

function fieldBlock(f, val) {
  const id = 'f-' + f.key;
  const help = f.help ? h('p', { class: 'help', id: id + '-help' }, txt(f.help)) : null;
  const err = h('p', { class: 'ferr', id: id + '-err', 'data-err-for': f.key, hidden: true });
  const desc = [help ? id + '-help' : null, id + '-err'].filter(Boolean).join(' ');
  const ctl = control(f, id, val, desc);
  const wrap = h('div', { class: 'field k-' + f.kind, 'data-key': f.key });
  if (f.kind === 'confirm') wrap.append(help || '', ctl, err);
  else if (f.kind === 'sex' || (f.kind === 'choice' && ctl.tagName !== 'SELECT')) {
    const fs = h('fieldset', { 'aria-describedby': desc }, label(f, id, 'legend'), help, ctl, err);
    wrap.append(fs);
  } else wrap.append(label(f, id), help || '', ctl, err);
  // Where a derived value will come from, shown while the field is empty (filled in by refresh()).
  if (f.derive) wrap.append(h('p', { class: 'derived', 'data-derived-for': f.key, hidden: true }));
  return wrap;
}

// Editable form. `values` is the current fields map; `onChange` is called on every edit.
export function renderForm(def, values, onChange) {
  const el = h('div', { class: 'pform' });
  // A new draft starts from the catalogue's defaults (e.g. nationality Việt Nam); the person confirms them.
  if (!Object.keys(values || {}).length) {
    values = {};
    for (const g of def.groups || []) for (const f of g.fields || []) if (f.default) values[f.key] = f.default;
  }
  const fields = [];
  const groupOf = {};
  let needEthnic = false;
  for (const g of def.groups || []) {
    const sec = h('section', { class: 'group card', 'data-group': g.id }, h('h2', {}, txt(g.title)));
    for (const f of g.fields || []) {
      fields.push(f);
      groupOf[f.key] = txt(g.title);
      if (f.kind === 'ethnicity') needEthnic = true;
      sec.append(fieldBlock(f, values[f.key]));
    }
    el.append(sec);
  }
  if (needEthnic) el.append(ethnicDatalist());

  const controls = (key) => el.querySelectorAll(`[name="${CSS.escape(key)}"]`);
  const read = (f) => {
    const els = controls(f.key);
    if (!els.length) return '';
    const first = els[0];
    if (first.type === 'radio') { const c = [...els].find((x) => x.checked); return c ? c.value : ''; }
    if (first.type === 'checkbox') return first.checked ? 'yes' : '';
    return first.value;
  };

  const collect = () => {
    const out = {};
    for (const f of fields) {
      const v = read(f).normalize('NFC');
      if (v.trim()) out[f.key] = v;
    }
    return out;
  };

  // required_if: show the "required" mark when the condition holds; fold the field away while it is
  // empty and the field it depends on holds another answer (e.g. passport number when the ID is a
  // căn cước card). A field that has a value always stays visible.
  const byKey = Object.fromEntries(fields.map((f) => [f.key, f]));
  const refresh = () => {
    const vals = collect();
    const derived = deriveAll(def, vals);
    for (const f of fields) {
      const w = el.querySelector(`.field[data-key="${CSS.escape(f.key)}"]`);
      if (!w) continue;
      const note = w.querySelector('[data-derived-for]');
      if (note) {
        const src = derived.from[f.key];
        const v = derived.values[f.key];
        note.hidden = !src;
        if (src) {
          const say = (value) => { note.textContent = t('form.derived', { value, source: `${groupOf[src]} › ${txt(byKey[src].label)}` }); };
          say(valueText(f, v));
          if (f.kind === 'commune') unitLabel(v).then(say);
          const input = w.querySelector('input:not([type=hidden]):not([type=radio]):not([type=checkbox])');
          if (input && f.kind !== 'commune') input.placeholder = v;
        }
      }
      if (!f.required_if) continue;
      const other = vals[f.required_if.field];
      const on = holds(f.required_if, vals);
      w.querySelectorAll('.req,[data-req]').forEach((x) => { x.hidden = !on; });
      w.hidden = !!other && !on && !vals[f.key];
    }
  };

  const clearErr = (key) => {
    const e = el.querySelector(`[data-err-for="${CSS.escape(key)}"]`);
    if (e) { e.hidden = true; e.textContent = ''; }
    controls(key).forEach((c) => c.removeAttribute('aria-invalid'));
  };

  el.addEventListener('input', (ev) => {
    const n = ev.target.name;
    if (n) clearErr(n);
    refresh();
    onChange && onChange(collect());
  });
  el.addEventListener('change', (ev) => {
    const c = ev.target;
    // Instant format hint from the HTML constraints; the hub has the final word.
    if (c.name && c.checkValidity && !c.checkValidity()) {
      const e = el.querySelector(`[data-err-for="${CSS.escape(c.name)}"]`);
      const k = 'form.check_format.' + (c.dataset.kind || 'text');
      if (e) { e.textContent = t(k) === k ? t('form.check_format.text') : t(k); e.hidden = false; }
    }
    refresh();
    onChange && onChange(collect());
  });

  refresh();
  return {
    el, collect, fields,
    clearErrors: () => el.querySelectorAll('[data-err-for]').forEach((e) => clearErr(e.dataset.errFor)),
    labelOf: (key) => { const f = fields.find((x) => x.key === key); return f ? `${groupOf[key]} › ${txt(f.label)}` : null; },
  };
}

// Put hub error details next to their fields (any element with data-err-for inside `root`).
// Returns the details that found no place on the page.
export function placeErrors(root, details) {
  const loose = [];
  for (const d of details) {
    const e = d.field ? root.querySelector(`[data-err-for="${CSS.escape(d.field)}"]`) : null;
    if (!e) { loose.push(d); continue; }
    const msg = detailText(d);
    e.textContent = e.hidden || !e.textContent ? msg : `${e.textContent} ${msg}`;
    e.hidden = false;
    root.querySelectorAll(`[name="${CSS.escape(d.field)}"]`).forEach((c) => c.setAttribute('aria-invalid', 'true'));
  }
  return loose;
}

// Read-only layout of a dossier's fields, grouped as the procedure's form.
export function renderReadOnly(def, values) {
  const el = h('div', { class: 'pform ro' });
  const seen = new Set();
  for (const g of (def && def.groups) || []) {
    const dl = h('dl', {});
    for (const f of g.fields || []) {
      seen.add(f.key);
      const v = values[f.key];
      dl.append(h('div', { class: 'kv', 'data-key': f.key }, h('dt', {}, txt(f.label)),
        h('dd', { class: v ? '' : 'empty' }, v ? valueNode(f, v) : '—')));
    }
    el.append(h('section', { class: 'group card' }, h('h2', {}, txt(g.title)), dl));
  }
  const rest = Object.keys(values || {}).filter((k) => !seen.has(k));
  if (rest.length) {
    el.append(h('section', { class: 'group card' }, h('h2', {}, def ? t('office.other_fields') : t('office.fields')),
      h('dl', {}, rest.map((k) => h('div', { class: 'kv', 'data-key': k }, h('dt', {}, k), h('dd', {}, values[k]))))));
  }
  return el;
}
