// The hub's clock: a banner when it looks wrong (a Raspberry Pi keeps no time while off), with the
// one-tap "Use this phone's time" for officers and admins (office: admins and clerks); a softer hint when
// this phone and the hub differ by more than 5 minutes. GET /api/v1/clock, POST /api/v1/clock/confirm.
import { state, h, $, t, api, btn, icon, errText, fmtTime, flash } from './lib.js';

// Phone and hub further apart than this (ms) earn the softer hint while the hub's clock is plausible.
const HINT_MS = 5 * 60 * 1000;

// "24/11/2026 08:15:42": the minute alone would hide a small difference.
const fmt = (ms) => {
  const d = new Date(ms);
  return `${fmtTime(d.toISOString())}:${String(d.getSeconds()).padStart(2, '0')}`;
};

// The banner for `clock` (GET /api/v1/clock), or null when nothing needs saying. `onDone` runs after a
// confirmation (e.g. to retry the seal).
export function clockPanel(clock, { onDone, testid = 'clock-banner' } = {}) {
  const phoneNow = Date.now();
  const apart = Math.abs(phoneNow - clock.hub_unix_ms);
  if (clock.plausible && apart <= HINT_MS) return null;
  const hard = !clock.plausible;
  const box = h('div', { class: `banner clock-banner ${hard ? 'warn' : 'info'}`, role: hard ? 'alert' : 'status', 'data-testid': testid, 'data-plausible': String(!!clock.plausible) });
  const hubLine = h('span', { 'data-testid': 'clock-hub-time' }, fmt(clock.hub_unix_ms));
  const phoneLine = h('span', { 'data-testid': 'clock-phone-time' }, fmt(phoneNow));
  const msg = h('p', { class: 'clock-msg', role: 'status' });
  const actions = h('div', { class: 'row' });
  const send = async (really) => {
    actions.querySelectorAll('button').forEach((b) => { b.disabled = true; });
    msg.textContent = '';
    try {
      const r = await api('POST', '/api/v1/clock/confirm', { phone_time: Date.now(), ...(really ? { really: true } : {}) });
      box.replaceChildren(icon('ok'), h('strong', { class: 'b-title', 'data-testid': 'clock-confirmed' }, t('clock.confirmed', { time: fmt(r.hub_unix_ms) })));
      box.className = 'banner clock-banner ok';
      box.setAttribute('data-plausible', 'true');
      if (onDone) onDone(r);
    } catch (e) {
      actions.querySelectorAll('button').forEach((b) => { b.disabled = false; });
      msg.textContent = errText(e);
      if (e.code === 'clock_behind_last_seal' && !really) {
        actions.replaceChildren(btn('warn', t('clock.really'), { class: 'btn danger', 'data-testid': 'clock-really', onclick: () => send(true) }));
      }
    }
  };
  if (clock.can_confirm) {
    actions.append(btn('ok', t('clock.use_phone'), { class: 'btn primary big', 'data-testid': 'clock-confirm', onclick: () => send(false) }));
  }
  const title = hard ? t('clock.wrong_title') : t('clock.differs_title');
  const body = hard ? t('clock.reason.' + (clock.reason || 'before_build')) : t('clock.differs_body');
  const what = clock.can_confirm
    ? (hard ? t('clock.officer_hint') : t('clock.differs_hint'))
    : t('clock.ask_officer');
  box.append(icon('warn'),
    h('div', {},
      h('strong', { class: 'b-title' }, title),
      h('p', {}, body),
      h('dl', { class: 'clock-times' },
        h('dt', {}, t('clock.hub_time')), h('dd', {}, hubLine),
        h('dt', {}, t('clock.phone_time')), h('dd', {}, phoneLine)),
      h('p', {}, what),
      actions, msg));
  return box;
}

// The page-wide banner under the header (signed-in users), refreshed on every navigation.
export async function clockNotice() {
  let el = $('#clock-notice');
  if (!el) {
    el = h('div', { id: 'clock-notice', class: 'clock-notice no-print' });
    const after = $('#insecure');
    if (after) after.after(el); else document.body.prepend(el);
  }
  if (!state.user) { el.replaceChildren(); return; }
  let clock;
  try { clock = await api('GET', '/api/v1/clock'); } catch (_) { return; }
  const panel = clockPanel(clock, { onDone: () => flash(t('clock.confirmed_flash'), 'ok') });
  el.replaceChildren(...(panel ? [panel] : []));
}

// On the seal step after the hub refused to seal (409 clock_unconfirmed): the same banner, in place.
export async function sealBlocked(slot) {
  let clock;
  try { clock = await api('GET', '/api/v1/clock'); } catch (e) { slot.replaceChildren(h('p', {}, errText(e))); return; }
  const panel = clockPanel(clock, { testid: 'clock-seal-banner' });
  slot.replaceChildren(...(panel ? [panel] : []));
  // One banner at a time: the one next to the seal button replaces the page-wide one.
  const n = $('#clock-notice');
  if (n && panel) n.replaceChildren();
}
