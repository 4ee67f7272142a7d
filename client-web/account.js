// Account lifecycle (issue 18, finding 7): "My account" for every user (change my password, log out
// everywhere; the page an admin's password reset sends the user to first), and the admin's actions on each
// row of the users page (disable / enable, reset password, end sessions) with the recent account changes.
import { state, h, t, api, errText, flash, btn, icon, roleName, banner, ask, fmtTime } from './lib.js';

const ME_KEY = 'ok.me';

function field(id, label, attrs, hint) {
  return h('div', { class: 'field' }, h('label', { for: id }, label), hint ? h('p', { class: 'help' }, hint) : null,
    h('input', { id, type: 'password', required: true, ...attrs }));
}

function formError(form, msg, field) {
  let el = form.querySelector('.form-err');
  if (!el) { el = h('p', { class: 'form-err', role: 'alert', 'data-testid': 'form-error' }); form.prepend(el); }
  el.replaceChildren();
  el.hidden = !msg;
  if (msg) el.append(icon('warn'), h('span', {}, msg));
  if (field && form.elements[field]) form.elements[field].focus();
}

// The two "new password" boxes: an error text, or null when they are acceptable.
function newPasswordProblem(form) {
  const p = form.password.value;
  if (p.length < 8) return t('auth.password_rule');
  if (p !== form.password2.value) return t('auth.password_mismatch');
  return null;
}

function newPasswordFields(prefix) {
  return [
    field(`${prefix}-password`, t('account.new_password'),
      { name: 'password', minlength: '8', autocomplete: 'new-password', 'data-testid': `${prefix}-password` }, t('auth.password_rule')),
    field(`${prefix}-password2`, t('auth.password_again'),
      { name: 'password2', minlength: '8', autocomplete: 'new-password', 'data-testid': `${prefix}-password2` }),
  ];
}

// Signed out on this phone (after "log out everywhere"): forget who was signed in, go to the login page.
function signedOut() {
  state.user = null; state.csrf = null; state.mustChange = false;
  try { localStorage.removeItem(ME_KEY); } catch (_) { /* ignore */ }
  location.replace('#/login');
}

// ---------- My account (every user) ----------
export async function accountView(app, _p, _q, ctx) {
  const me = await api('GET', '/api/v1/me');
  state.mustChange = !!me.must_change_password;
  const form = h('form', { class: 'card form', 'data-testid': 'password-form', novalidate: true },
    h('h2', {}, t('account.change_password')),
    field('current-password', t('account.current_password'),
      { name: 'current_password', autocomplete: 'current-password', 'data-testid': 'current-password' }),
    newPasswordFields('new'),
    h('button', { type: 'submit', class: 'btn primary big', 'data-testid': 'password-submit' }, icon('lock'), h('span', {}, t('account.change_button'))));
  const done = h('p', { class: 'form-ok', role: 'status', 'data-testid': 'password-changed', hidden: true });
  form.append(done);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    done.hidden = true;
    if (!form.current_password.value) { formError(form, t('account.current_needed'), 'current_password'); return; }
    const bad = newPasswordProblem(form);
    if (bad) { formError(form, bad, 'password'); return; }
    formError(form, null);
    const b = form.querySelector('[type=submit]');
    b.disabled = true;
    try {
      const r = await api('POST', '/api/v1/users/me/password', { current_password: form.current_password.value, password: form.password.value });
      form.reset();
      const wasForced = state.mustChange;
      state.mustChange = false;
      done.replaceChildren(icon('ok'), h('span', {}, r.sessions_ended ? t('account.changed_others', { n: r.sessions_ended }) : t('account.changed')));
      done.hidden = false;
      const forced = $forced();
      if (forced) forced.remove();
      if (wasForced) flash(t('account.changed'), 'ok');
    } catch (e) {
      formError(form, errText(e), e.field);
    } finally { b.disabled = false; }
  });
  const everywhere = h('div', { class: 'card' },
    h('h2', {}, t('account.everywhere_title')),
    h('p', {}, t('account.everywhere_help')),
    btn('out', t('account.everywhere_button'), { class: 'btn danger', 'data-testid': 'logout-everywhere', onclick: async () => {
      if (!(await ask(t('account.everywhere_confirm'), t('account.everywhere_button'), t('ui.cancel')))) return;
      try {
        await api('DELETE', '/api/v1/users/me/sessions', {});
        signedOut();
        setTimeout(() => flash(t('account.everywhere_done'), 'ok'), 50);
      } catch (e) { flash(errText(e)); }
    } }));
  ctx.show(h('section', { class: 'narrow' }, h('h1', {}, t('account.title')),
    h('p', { class: 'lead' }, `${me.user.name} · ${roleName(me.user.role)}`),
    state.mustChange ? banner('warn', t('account.must_change'), t('account.must_change_help'), { 'data-testid': 'must-change' }) : null,
    form, everywhere));
}

function $forced() { return document.querySelector('[data-testid=must-change]'); }

// ---------- the admin's users page: state and actions per account ----------

// One account's row: name, role, state, and (under "Manage") the admin's actions. `refresh` redraws the
// list after a change.
export function userRow(u, refresh) {
  const self = state.user && u.id === state.user.id;
  const badges = [h('span', { class: 'badge' }, roleName(u.role))];
  if (u.disabled) badges.push(h('span', { class: 'badge bad', 'data-testid': 'user-disabled' }, t('users.state_disabled')));
  if (u.must_change_password) badges.push(h('span', { class: 'badge warn', 'data-testid': 'user-must-change' }, t('users.state_must_change')));
  if (self) badges.push(h('span', { class: 'badge ok' }, t('users.you')));
  const note = h('p', { class: 'form-ok', role: 'status', hidden: true, 'data-testid': 'user-action-done' });
  const say = (msg) => { note.replaceChildren(icon('ok'), h('span', {}, msg)); note.hidden = false; };
  const act = async (fn) => {
    try { await fn(); } catch (e) { flash(errText(e)); }
  };
  const actions = h('div', { class: 'row' });
  if (self) {
    actions.append(h('a', { href: '#/account', class: 'btn small', 'data-testid': 'user-own-account' }, icon('lock'), h('span', {}, t('account.title'))));
  } else {
    actions.append(u.disabled
      ? btn('ok', t('users.enable'), { class: 'btn small', 'data-testid': 'user-enable', onclick: () => act(async () => {
        await api('POST', `/api/v1/users/${encodeURIComponent(u.id)}/enable`, {});
        await refresh(t('users.enabled', { name: u.name }));
      }) })
      : btn('lock', t('users.disable'), { class: 'btn small danger', 'data-testid': 'user-disable', onclick: () => act(async () => {
        if (!(await ask(t('users.disable_confirm', { name: u.name }), t('users.disable'), t('ui.cancel')))) return;
        await api('POST', `/api/v1/users/${encodeURIComponent(u.id)}/disable`, {});
        await refresh(t('users.disabled', { name: u.name }));
      }) }));
    if (!u.disabled) {
      actions.append(btn('out', t('users.end_sessions'), { class: 'btn small', 'data-testid': 'user-end-sessions', onclick: () => act(async () => {
        if (!(await ask(t('users.end_sessions_confirm', { name: u.name }), t('users.end_sessions'), t('ui.cancel')))) return;
        const r = await api('DELETE', `/api/v1/users/${encodeURIComponent(u.id)}/sessions`, {});
        say(t('users.sessions_ended', { name: u.name, n: r.sessions_ended }));
      }) }));
    }
  }
  const reset = self ? null : resetForm(u, refresh);
  if (reset) {
    actions.append(btn('lock', t('users.reset'), { class: 'btn small', 'data-testid': 'user-reset', 'aria-expanded': 'false', onclick: (ev) => {
      reset.hidden = !reset.hidden;
      ev.currentTarget.setAttribute('aria-expanded', String(!reset.hidden));
      if (!reset.hidden) reset.querySelector('input').focus();
    } }));
  }
  const manage = h('details', { class: 'user-manage' }, h('summary', { 'data-testid': 'user-manage' }, t('users.manage')), actions, reset, note);
  return h('li', { class: 'item user', 'data-testid': 'user-row', 'data-user': u.name, 'data-disabled': String(!!u.disabled) },
    icon('user'),
    h('span', { class: 'grow' }, h('strong', {}, u.name), h('span', { class: 'row' }, badges)),
    manage);
}

function resetForm(u, refresh) {
  const form = h('form', { class: 'form reset-form', novalidate: true, hidden: true, 'data-testid': 'reset-form' },
    h('p', { class: 'help' }, t('users.reset_help', { name: u.name })),
    newPasswordFields('reset-' + u.id.slice(-8)),
    h('button', { type: 'submit', class: 'btn primary', 'data-testid': 'reset-submit' }, icon('ok'), h('span', {}, t('users.reset_button'))));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const bad = newPasswordProblem(form);
    if (bad) { formError(form, bad, 'password'); return; }
    formError(form, null);
    try {
      await api('POST', `/api/v1/users/${encodeURIComponent(u.id)}/password`, { password: form.password.value });
      await refresh(t('users.reset_done', { name: u.name }));
    } catch (e) { formError(form, errText(e), e.field); }
  });
  return form;
}

const ACTIONS = ['user_created', 'user_disabled', 'user_enabled', 'password_changed', 'password_reset', 'sessions_ended'];

// The latest account changes (who did what to which account, when).
export async function historyList() {
  const r = await api('GET', '/api/v1/users/history');
  const rows = (r.entries || []).slice(0, 20).map((e) => {
    const d = e.detail || {};
    const what = ACTIONS.includes(e.action) ? t('users.history.' + e.action, { name: d.user_name || '', n: d.sessions_ended || 0 }) : e.action;
    return h('li', { class: 'item', 'data-testid': 'history-row' },
      h('span', { class: 'grow' }, what, h('small', {}, `${fmtTime(e.at)} · ${e.actor_id ? e.actor_name : t('users.history.cli')}`)));
  });
  return h('details', { class: 'card', 'data-testid': 'users-history' },
    h('summary', {}, t('users.history.title')),
    rows.length ? h('ul', { class: 'list' }, rows) : h('p', { class: 'muted' }, t('users.history.none')));
}
