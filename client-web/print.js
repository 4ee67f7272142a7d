// The official forms on A4, filled in, ready to sign (issue 16, item 5). The hub lays each form out as
// data (hub/src/office/forms: national title block, form code, title, "Kính gửi", the items with the
// form's labels in the form's order, the sworn statement, the place/date line, the signature blocks) and
// fills it with the dossier's values as the exports write them (communes by name, dates dd/mm/yyyy,
// choices by their Vietnamese label). This module only draws that on A4 sheets:
// - the office: #/office/print/<id> (GET /api/v1/office/dossiers/<id>/forms);
// - the field: from the capture review, before sealing (GET /api/v1/drafts/<id>/forms), in a full-screen
//   preview with its Print button. After sealing the field hub keeps only the encrypted dossier, so the
//   receipt screen can print only the forms fetched for the review just before, kept in this tab's memory
//   (never stored: they are personal data).
import { h, t, api, icon, btn, banner, errText, loadStyles } from './lib.js';

// The forms' styles (print.css), from the moment anything here may be shown or printed.
const styled = loadStyles('print');

const enc = encodeURIComponent;
const BLANK = '……………………';

// One value, or a dotted line to fill by hand.
const val = (v) => (v ? h('span', { class: 'a4-val' }, v) : h('span', { class: 'a4-val a4-blank' }, BLANK));

function parts(list) {
  const out = [];
  list.forEach((p, i) => {
    if (i > 0) out.push(' ');
    if (p.label) out.push(h('span', { class: 'a4-sub' }, p.label + ': '));
    out.push(val(p.value));
  });
  return out;
}

function line(l) {
  if (l.kind === 'text') return h('p', { class: 'a4-text' }, l.text);
  if (l.kind === 'table') {
    return h('div', { class: 'a4-item a4-table-item' },
      h('p', {}, l.no ? h('span', { class: 'a4-no' }, l.no + ' ') : null, h('span', { class: 'a4-lbl' }, l.label + ':')),
      h('table', { class: 'a4-table' },
        h('thead', {}, h('tr', {}, l.columns.map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', {}, Array.from({ length: l.rows }, (_, i) => h('tr', {}, l.columns.map((_c, j) => h('td', {}, j === 0 ? String(i + 1) : '')))))));
  }
  return h('p', { class: 'a4-item' }, l.no ? h('span', { class: 'a4-no' }, l.no + ' ') : null,
    h('span', { class: 'a4-lbl' }, l.label + ':'), ' ', parts(l.parts));
}

function dateLine(d) {
  const piece = (v) => (v ? h('span', { class: 'a4-val' }, v) : h('span', { class: 'a4-val a4-blank' }, '……'));
  return h('p', { class: 'a4-date' }, d.prefix || null, d.place ? h('span', { class: 'a4-val' }, d.place) : h('span', { class: 'a4-val a4-blank' }, '…………'),
    ', ngày ', piece(d.day), ' tháng ', piece(d.month), ' năm ', piece(d.year));
}

function signature(s) {
  return h('div', { class: 'a4-sign' },
    h('p', { class: 'a4-sign-title' }, s.title),
    h('p', { class: 'a4-sign-note' }, s.note),
    (s.lines || []).map((p) => h('p', { class: 'a4-sign-line' }, h('span', { class: 'a4-sub' }, p.label + ': '), val(p.value))),
    h('div', { class: 'a4-sign-space', 'aria-hidden': 'true' }),
    h('p', { class: 'a4-sign-name' }, s.name || ''));
}

// One form on its own A4 sheet(s).
export function formSheet(f) {
  return h('article', { class: 'a4-form', 'data-form': f.form, 'data-testid': 'a4-form-' + f.form, 'data-version-from': f.version_from, lang: 'vi' },
    f.form_code ? h('p', { class: 'a4-code' }, f.form_code) : null,
    h('header', { class: 'a4-nation' },
      h('p', { class: 'a4-rep' }, 'CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM'),
      h('p', { class: 'a4-motto' }, 'Độc lập - Tự do - Hạnh phúc'),
      h('div', { class: 'a4-rule', 'aria-hidden': 'true' })),
    h('h2', { class: 'a4-title' }, f.title),
    f.addressee != null ? h('p', { class: 'a4-to' }, h('span', { class: 'a4-lbl' }, 'Kính gửi: '), val(f.addressee)) : null,
    h('div', { class: 'a4-body' }, f.lines.map(line)),
    h('p', { class: 'a4-oath' }, f.oath),
    h('div', { class: 'a4-end' }, dateLine(f.date_line),
      h('div', { class: `a4-signs n${f.signatures.length}` }, f.signatures.map(signature))));
}

// Every form of a dossier, each starting on a new page.
export function formSheets(out) {
  const forms = (out && out.forms) || [];
  if (!forms.length) return banner('info', t('print.none'), null, { 'data-testid': 'a4-none' });
  return h('div', { class: 'a4-forms', 'data-testid': 'a4-forms' }, forms.map(formSheet));
}

function toolbar(...kids) {
  return h('div', { class: 'row a4-toolbar no-print' }, ...kids);
}

function printButton(testid) {
  const b = btn('print', t('print.print'), { class: 'btn primary', 'data-testid': testid });
  b.addEventListener('click', () => window.print());
  return b;
}

// ---------- office: #/office/print/<id> ----------
export async function printView(app, [id], _q, ctx) {
  await styled;
  const out = await api('GET', `/api/v1/office/dossiers/${enc(id)}/forms`);
  ctx.show(h('section', { class: 'a4-page', 'data-testid': 'print-view' },
    toolbar(h('a', { href: '#/office/dossier/' + enc(id), class: 'btn' }, icon('back'), h('span', {}, t('dossier.back_to_dossier'))),
      printButton('print-now')),
    h('p', { class: 'muted no-print' }, t('print.hint')),
    formSheets(out)));
}

// ---------- field: the review before sealing, and the receipt right after ----------
// Forms fetched for a draft's review, by draft id, then by receipt code once sealed (this tab only).
const kept = new Map();

// Shows `out` full screen above the page, with Print and Close; printing prints only the sheets.
export function openPreview(out) {
  const old = document.querySelector('.a4-overlay');
  if (old) old.remove();
  const close = btn('back', t('print.close'), { class: 'btn', 'data-testid': 'a4-close' });
  const overlay = h('div', { class: 'a4-overlay a4-page', role: 'dialog', 'aria-modal': 'true', 'aria-label': t('print.title'), 'data-testid': 'a4-preview' },
    toolbar(close, printButton('a4-print')),
    h('p', { class: 'muted no-print' }, t('print.hint')),
    formSheets(out));
  const back = document.activeElement;
  const done = () => {
    overlay.remove();
    document.body.classList.remove('a4-printing');
    if (back && back.focus) back.focus();
  };
  close.addEventListener('click', done);
  overlay.addEventListener('keydown', (e) => { if (e.key === 'Escape') done(); });
  document.body.classList.add('a4-printing');
  document.body.append(overlay);
  close.focus();
  return overlay;
}

// The review's button: fetches the draft's filled forms now (kept for the receipt screen) and shows
// them on demand.
export function reviewPrintButton(draftId) {
  const p = api('GET', `/api/v1/drafts/${enc(draftId)}/forms`);
  p.catch(() => null);
  kept.set(draftId, p);
  const msg = h('div', { 'aria-live': 'polite' });
  const b = btn('print', t('print.review_button'), { class: 'btn', 'data-testid': 'review-print-forms' });
  b.addEventListener('click', async () => {
    b.disabled = true;
    try { openPreview(await p); msg.replaceChildren(); } catch (e) { msg.replaceChildren(banner('warn', errText(e), null)); } finally { b.disabled = false; }
  });
  return h('div', { class: 'a4-review no-print' }, h('p', { class: 'help' }, t('print.review_hint')), b, msg);
}

// After sealing draft `draftId` as receipt `code`: its review's forms move to the receipt.
export function keepForReceipt(draftId, code) {
  const p = kept.get(draftId);
  kept.delete(draftId);
  if (p && code) kept.set('receipt:' + code, p);
}

// The receipt screen's button, when this tab fetched the forms at the review; else a note that the
// forms are printed from the review before sealing, or at the office.
export function receiptPrintButton(code) {
  const p = kept.get('receipt:' + code);
  if (!p) return h('p', { class: 'muted small no-print', 'data-testid': 'receipt-forms-gone' }, t('print.after_seal'));
  const msg = h('div', { 'aria-live': 'polite' });
  const b = btn('print', t('print.review_button'), { class: 'btn big', 'data-testid': 'receipt-print-forms' });
  b.addEventListener('click', async () => {
    try { openPreview(await p); msg.replaceChildren(); } catch (e) { msg.replaceChildren(banner('warn', errText(e), null)); }
  });
  return h('div', { class: 'no-print' }, b, msg);
}
