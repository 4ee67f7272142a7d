// A locked hub (issue 19): after a restart a protected field hub keeps its data encrypted until an officer
// or admin logs in; until then it serves the public guides and the login, and every other API call answers
// 503 `hub_locked`. Such a page says so plainly and continues by itself once the hub is unlocked (asked
// every few seconds while the page stays open), instead of a generic error. Loaded by app.js only when a
// hub is locked, so the capture path never downloads it.
import { state, h, t, api, banner, icon } from './lib.js';

const LOCKED_RETRY_MS = 5000;

// Is the hub still locked? GET /api/v1/setup is always served; out of reach counts as "still locked".
async function stillLocked() {
  try { return !!(await api('GET', '/api/v1/setup', undefined, { timeout: 8000 })).locked; } catch (_) { return true; }
}

// The waiting page in place of a page whose call answered `hub_locked`; `reload` refreshes what the app
// knows of the hub, `again` draws the page again once unlocked.
export function lockedWait(ctx, team, reload, again) {
  state.locked = true;
  ctx.show(h('section', { 'data-testid': 'locked-wait' }, h('h1', {}, t('locked.wait_title')),
    banner('info', null, t('locked.wait_body')),
    // A team page left open across the restart: the officer can unlock from here.
    team ? h('a', { class: 'btn primary', href: '#/login', 'data-testid': 'locked-unlock' }, icon('lock'), h('span', {}, t('locked.unlock_link')))
      // A villager meanwhile: the procedure guides are served while the hub is locked.
      : h('a', { class: 'btn', href: '#/guides', 'data-testid': 'locked-guides' }, icon('book'), h('span', {}, t('locked.guides_link')))));
  watchUnlock(ctx, async () => {
    try { await reload(); } catch (_) { /* the page's own call says what is wrong */ }
    if (ctx.alive()) again();
  });
}

// Calls `then` once the hub is no longer locked, while the page `ctx` stays.
export function watchUnlock(ctx, then) {
  const tick = async () => {
    if (!ctx.alive() || !state.locked) return;
    if (await stillLocked()) { if (ctx.alive()) setTimeout(tick, LOCKED_RETRY_MS); return; }
    state.locked = false;
    if (ctx.alive()) then();
  };
  setTimeout(tick, LOCKED_RETRY_MS);
}

// The login screen's word on a locked hub: who can unlock it, and that volunteers wait.
export function lockedBanner() {
  return banner('warn', t('locked.title'), t('locked.login_hint'), { 'data-testid': 'locked-banner' });
}
