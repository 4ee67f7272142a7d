// The outbox: everything on this phone the hub does not have yet (drafts started without Wi-Fi, typing not
// yet saved, photos taken offline), sent in the background. Each item is tried on its own, so one that
// fails never blocks the others; every item keeps its state and the reason of its last failure for the
// outbox list. Drafts are saved to the hub as they are typed (debounced) whenever it is reachable.
import { api, on, state, isLocked } from './lib.js';
import { drafts, photos } from './store.js';

const SAVE_DELAY_MS = 1200; // after the last keystroke
const RETRY_MS = 15000; // background retry while anything is waiting

const listeners = new Set();
/** Calls `fn(event)` on every change: {id, state} for a draft, {renamed: [from, to]}, {photo, state}. */
export function onChange(fn) { listeners.add(fn); return () => listeners.delete(fn); }
function emit(ev) { for (const f of listeners) { try { f(ev); } catch (e) { console.error(e && e.message); } } }

export const isNet = (e) => !!e && (e.code === 'offline' || e.code === 'timeout');
const same = (a, b) => JSON.stringify(a || {}) === JSON.stringify(b || {});
const failure = (e) => ({ code: e.code || 'error', status: e.status || 0, vi: e.vi || null, en: e.en || null, details: e.details || [], at: Date.now() });
// A hub locked after a restart takes everything again once an officer unlocks it: waiting, not failed.
const stateOf = (e) => (isNet(e) || isLocked(e) ? 'waiting' : e.status === 409 ? 'conflict' : 'failed');

// ---------- drafts ----------
const timers = new Map();
const flights = new Map();

/** Keeps the typing of draft `id` on the phone at once, and schedules a save to the hub. */
export async function keepDraft(id, { proc, fields, base, idem }) {
  const old = await drafts.get(id);
  const rec = await drafts.put(id, {
    ...(old || {}), proc, fields, idem: idem || (old && old.idem) || null,
    base: old && old.base != null ? old.base : base, dirty: true,
    state: old && old.state === 'conflict' ? 'conflict' : 'waiting',
  });
  emit({ id, state: rec.state });
  clearTimeout(timers.get(id));
  if (rec.state !== 'conflict') timers.set(id, setTimeout(() => { timers.delete(id); syncDraft(id); }, SAVE_DELAY_MS));
  return rec;
}

/** Keeps a clean copy of a draft as the hub has it (for a reload without Wi-Fi). */
export async function remember(d) {
  const old = await drafts.get(d.id);
  if (old && old.dirty) return old;
  return drafts.put(d.id, { proc: d.procedure, fields: d.fields || {}, base: d.version, dirty: false, state: 'saved',
    title: d.title || null, updated_at: d.updated_at || null });
}

/**
 * Sends draft `id` to the hub now if it has unsent typing. One request per draft at a time. Resolves to
 * {ok, id, draft} (id changes when a phone-only draft gets its hub id) or {ok: false, error, id}.
 */
export function syncDraft(id) {
  if (flights.has(id)) return flights.get(id).then(() => syncDraft(id));
  const p = sendDraft(id).finally(() => flights.delete(id));
  flights.set(id, p);
  return p;
}

async function sendDraft(id) {
  clearTimeout(timers.get(id)); timers.delete(id);
  const rec = await drafts.get(id);
  if (!rec || !rec.dirty) return { ok: true, id, draft: null };
  const sent = rec.fields;
  await drafts.put(id, { ...rec, state: 'sending' });
  emit({ id, state: 'sending' });
  try {
    let d; let to = id;
    if (id.startsWith('local-')) {
      d = await api('POST', '/api/v1/drafts', { procedure: rec.proc, fields: sent }, { headers: { 'Idempotency-Key': rec.idem || id.slice(6) } });
      to = d.id;
    } else {
      d = await api('PUT', `/api/v1/drafts/${encodeURIComponent(id)}`, { fields: sent, version: rec.base });
    }
    const cur = (await drafts.get(id)) || rec;
    const dirty = !same(cur.fields, sent);
    await drafts.put(to, { ...cur, base: d.version, dirty, state: dirty ? 'waiting' : 'saved', error: null, updated_at: d.updated_at });
    if (to !== id) {
      await drafts.drop(id);
      for (const ph of await photos.list()) if (ph.draftId === id) await photos.put(ph.id, { ...ph, draftId: to });
      emit({ renamed: [id, to], draft: d });
    }
    emit({ id: to, state: dirty ? 'waiting' : 'saved', draft: d });
    if (dirty) keepDraft(to, cur);
    syncPhotos(to);
    return { ok: true, id: to, draft: d };
  } catch (e) {
    const cur = (await drafts.get(id)) || rec;
    const st = stateOf(e);
    await drafts.put(id, { ...cur, state: st, error: failure(e) });
    emit({ id, state: st, error: e });
    if (st === 'waiting') later();
    return { ok: false, id, error: e };
  }
}

/** Makes this phone's typing win a conflict: it is re-based on the hub's current version and sent. */
export async function overwrite(id) {
  const d = await api('GET', `/api/v1/drafts/${encodeURIComponent(id)}`);
  const rec = await drafts.get(id);
  if (rec) await drafts.put(id, { ...rec, base: d.version, state: 'waiting', error: null, dirty: true });
  return syncDraft(id);
}

/** Forgets this phone's copy of a draft (and its unsent photos). */
export async function discard(id) {
  await drafts.drop(id);
  for (const ph of await photos.list()) if (ph.draftId === id) await photos.drop(ph.id);
  emit({ id, state: 'gone' });
}

// ---------- photos ----------
/** Keeps a photo for draft `draftId` on the phone; it is uploaded as soon as the draft is on the hub. */
export async function keepPhoto(draftId, role, blob, name) {
  const id = 'p-' + Date.now().toString(36) + Math.random().toString(36).slice(2, 8);
  await photos.put(id, { draftId, role, blob, name, state: 'waiting', error: null });
  emit({ photo: id, state: 'waiting', draftId });
  syncPhotos(draftId);
  return id;
}

const photoFlights = new Set();
/** Uploads the waiting photos of one draft (or of every draft), one at a time each. */
export async function syncPhotos(draftId) {
  for (const ph of await photos.list()) {
    if ((draftId && ph.draftId !== draftId) || ph.draftId.startsWith('local-') || photoFlights.has(ph.id)) continue;
    photoFlights.add(ph.id);
    try {
      emit({ photo: ph.id, state: 'sending', draftId: ph.draftId });
      const fd = new FormData();
      fd.append('role', ph.role);
      fd.append('file', ph.blob, ph.name);
      const a = await api('POST', `/api/v1/drafts/${encodeURIComponent(ph.draftId)}/attachments`, fd, { timeout: 180000 });
      await photos.drop(ph.id);
      emit({ photo: ph.id, state: 'sent', draftId: ph.draftId, attachment: a });
    } catch (e) {
      const st = stateOf(e);
      await photos.put(ph.id, { ...ph, state: st, error: failure(e) });
      emit({ photo: ph.id, state: st, draftId: ph.draftId, error: e });
      if (st === 'waiting') later();
    } finally { photoFlights.delete(ph.id); }
  }
}

// ---------- everything ----------
/** Everything of the current user not yet on the hub, for the outbox list. */
export async function pending() {
  const ds = (await drafts.list()).filter((r) => r.dirty);
  const ps = await photos.list();
  return [
    ...ds.map((r) => ({ kind: 'draft', id: r.id, draftId: r.id, proc: r.proc, fields: r.fields, state: r.state, error: r.error, at: r.at })),
    ...ps.map((p) => ({ kind: 'photo', id: p.id, draftId: p.draftId, role: p.role, size: p.blob && p.blob.size, state: p.state, error: p.error, at: p.at })),
  ].sort((a, b) => a.at - b.at);
}

let running = null;
/** Tries every waiting item once, each on its own. */
export function syncAll() {
  if (running) return running;
  running = (async () => {
    for (const r of await drafts.list()) if (r.dirty && r.state !== 'conflict') await syncDraft(r.id);
    await syncPhotos(null);
  })().finally(() => { running = null; });
  return running;
}

let retryTimer = null;
function later() {
  if (retryTimer) return;
  retryTimer = setTimeout(() => { retryTimer = null; if (state.user) syncAll(); }, RETRY_MS);
}

/**
 * At logout: send what can be sent, then remove from this phone every record the hub already has.
 * Resolves to the number of items that must stay (not yet on the hub), visible only to this user.
 */
export async function beforeLogout() {
  await Promise.race([syncAll(), new Promise((r) => setTimeout(r, 10000))]);
  for (const r of await drafts.list()) if (!r.dirty) await drafts.drop(r.id);
  return (await pending()).length;
}

let started = false;
/** Starts background sending (once): now, when the hub answers again, and when the browser is back online. */
export function start() {
  if (started) return;
  started = true;
  on('offline', (off) => { if (!off && state.user) syncAll(); });
  window.addEventListener('online', () => { if (state.user) syncAll(); });
  if (state.user) syncAll();
}
