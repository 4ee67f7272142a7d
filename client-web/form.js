// Forms rendered from the procedure catalogue (ProcedureDef): an editable form for drafts and a
// read-only layout for the office. Nothing here is specific to one procedure.
import { h, t, txt, todayISO, fmtDate, detailText, api, state } from './lib.js';
import { options, unitLabel, rememberUnit, valueText, valueNode, renderReadOnly } from './values.js';

// The display of values lives in values.js (the office loads only that); the capture screens use it too.
export { valueText, valueNode, renderReadOnly };

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


// Commune picker: the person types a name (with or without diacritics), picks from the hub's list of
// administrative units; the field's value is the unit's 5-digit code (a hidden input named after the key).

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
      rememberUnit(hit, search.value);
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
  // A name typed without tapping a suggestion: take it when it names exactly one unit (or exactly matches
  // one suggestion's name), else say so beside the field at once, not at the review.
  const say = (key) => {
    const wrap = search.closest('.field');
    const err = wrap && wrap.querySelector('[data-err-for]');
    if (!err) return;
    err.textContent = key ? t(key) : '';
    err.hidden = !key;
    if (key) search.setAttribute('aria-invalid', 'true'); else search.removeAttribute('aria-invalid');
  };
  const pick = (u) => {
    hidden.value = u.code;
    search.value = u.label;
    rememberUnit(u.code, u.label);
    say(null);
    hidden.dispatchEvent(new Event('input', { bubbles: true }));
  };
  const fold = (x) => x.normalize('NFD').replace(/[\u0300-\u036f]/g, '').replace(/đ/g, 'd').replace(/Đ/g, 'D').toLowerCase().trim();
  search.addEventListener('blur', () => {
    const q = search.value.trim();
    if (hidden.value || !q) { if (!q) say(null); return; }
    api('GET', '/api/v1/units/search?limit=15&q=' + encodeURIComponent(q)).then((r) => {
      if (hidden.value || search.value.trim() !== q) return;
      const units = r.units || [];
      const bare = (l) => fold(l.split(',')[0]).replace(/^(xa|phuong|dac khu|thi tran)\s+/, '');
      const exact = units.filter((u) => [fold(u.label), fold(u.label.split(',')[0]), bare(u.label)].includes(fold(q)));
      if (units.length === 1) pick(units[0]);
      else if (exact.length === 1) pick(exact[0]);
      else say(units.length ? 'form.commune_pick' : 'form.commune_none');
    }).catch(() => {});
  });
  return h('div', { class: 'commune' }, search, list, hidden);
}

// The same derivation rules as the hub's (protocol/src/derive.rs): an empty field takes the value of the
// first rule whose condition holds and whose source has a value. Shown for confirmation; the hub applies
// them at seal.
export function holds(c, vals) {
  const v = vals[c.field];
  if (c.empty != null) return !v === c.empty;
  if (!v) return false;
  if (c.one_of) return c.one_of.includes(v);
  return c.equals != null ? v === c.equals : v !== c.not_equals;
}

// The catalogue's transforms (protocol/src/catalogue.rs Transform::apply); null when it does not apply.
const PIN_RE = /^\d{12}$/;
function transform(kind, src) {
  if (!kind) return src;
  if (kind === 'uppercase') return src.toLocaleUpperCase('vi');
  if (!PIN_RE.test(src)) return null;
  const d = Number(src[3]);
  if (d > 5) return null;
  if (kind === 'pin_birth_year') return String(1900 + 100 * Math.floor(d / 2) + Number(src.slice(4, 6)));
  if (kind === 'pin_sex') return d % 2 ? 'female' : 'male';
  return null;
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
        const v = transform(d.transform, src);
        if (v == null) continue;
        out[f.key] = v;
        from[f.key] = d.from;
        changed = true;
        break;
      }
    }
    if (!changed) break;
  }
  return { values: out, from };
}

// Dates are typed day first, as printed on the ID card (31/05/1990; also 31-05-1990, 31.05.1990, 31051990
// or 1990-05-31), and stored as YYYY-MM-DD, the protocol's form. Returns the stored form, or null when the
// text is no date of the calendar.
export function parseDayFirst(text) {
  const s = (text || '').trim();
  let d, m, y;
  let r = /^(\d{1,2})[/.\-\s](\d{1,2})[/.\-\s](\d{4})$/.exec(s);
  if (r) [, d, m, y] = r;
  else if ((r = /^(\d{2})(\d{2})(\d{4})$/.exec(s))) [, d, m, y] = r;
  else if ((r = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s))) [, y, m, d] = r;
  else return null;
  const dt = new Date(Date.UTC(+y, +m - 1, +d));
  if (dt.getUTCFullYear() !== +y || dt.getUTCMonth() !== +m - 1 || dt.getUTCDate() !== +d) return null;
  return `${y}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
}

// A year alone (1990) or a day-first date, as stored; null when neither.
export function parseYearOrDate(text) {
  const s = (text || '').trim();
  if (/^\d{4}$/.test(s)) return s;
  return parseDayFirst(s);
}

// The stored form (YYYY-MM-DD or YYYY) as typed back into a date box.
const showDate = (v) => fmtDate(v || '');

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
    // A text box, not the browser's date picker: its format follows the phone's language, and a birth
    // date 30 years back is many taps away. Typed as on the ID card: 31/05/1990.
    return h('input', { ...common, type: 'text', inputmode: 'numeric', autocomplete: 'off', spellcheck: 'false',
      maxlength: '10', value: showDate(val), placeholder: t('form.date_placeholder'), 'data-max': todayISO() });
  }
  if (kind === 'commune') return communeControl(f, id, val, describedBy);
  const a = { ...common, type: 'text', value: val || '', maxlength: String(f.max_len || TEXT_KINDS[kind] || 200), autocomplete: 'off', spellcheck: 'false' };
  if (kind === 'pin') Object.assign(a, { inputmode: 'numeric', pattern: '[0-9]{12}', maxlength: '12', placeholder: '0xxxxxxxxxxx' });
  if (kind === 'phone') Object.assign(a, { type: 'tel', inputmode: 'numeric', placeholder: '09xxxxxxxx' });
  if (kind === 'name') a.autocapitalize = 'words';
  if (kind === 'year_or_date') Object.assign(a, { inputmode: 'numeric', value: showDate(val), placeholder: t('form.year_or_date_placeholder') });
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
    for (const g of def.groups || []) {
      for (const f of g.fields || []) {
        if (f.default) values[f.key] = f.default;
        // Values the hub supplies (its own commune as the addressee, or a birth's place).
        if (f.default_from === 'hub_commune' && state.hubCommune) values[f.key] = state.hubCommune;
      }
    }
  }
  const fields = [];
  const groupOf = {};
  // Groups the form skips while their condition holds (every field of them follows from other answers).
  const skips = [];
  let needEthnic = false;
  for (const g of def.groups || []) {
    const sec = h('section', { class: 'group card', 'data-group': g.id }, h('h2', {}, txt(g.title)));
    if (g.skip_if) skips.push([sec, g.skip_if]);
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
    if (f.kind === 'date') return parseDayFirst(first.value) || first.value;
    if (f.kind === 'year_or_date') return parseYearOrDate(first.value) || first.value;
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
    for (const [sec, c] of skips) sec.classList.toggle('skipped', holds(c, vals));
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
      if (f.shown_if) { w.hidden = !holds(f.shown_if, vals) && !vals[f.key]; continue; }
      if (!f.required_if) continue;
      const on = holds(f.required_if, vals);
      w.querySelectorAll('.req,[data-req]').forEach((x) => { x.hidden = !on; });
      // Folded away while empty and its condition does not hold, also while the answer it depends on is
      // not given yet (the marriage certificate's number waits for the status "married").
      w.hidden = !on && !vals[f.key];
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
    if (ev.target.setCustomValidity) ev.target.setCustomValidity('');
    refresh();
    onChange && onChange(collect());
  });
  el.addEventListener('change', (ev) => {
    const c = ev.target;
    // Dates: shown back day first once understood (31051990 → 31/05/1990); a text that is no date, or a
    // date after today, is said at once, in the words of the expected form.
    const dk = c.dataset && c.dataset.kind;
    if (c.name && (dk === 'date' || dk === 'year_or_date') && c.value.trim()) {
      const v = dk === 'date' ? parseDayFirst(c.value) : parseYearOrDate(c.value);
      const late = v && v.length === 10 && v > todayISO();
      if (v && !late) { c.value = showDate(v); c.setCustomValidity(''); } else c.setCustomValidity(t('form.check_format.' + dk));
    } else if (c.setCustomValidity && (dk === 'date' || dk === 'year_or_date')) c.setCustomValidity('');
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
