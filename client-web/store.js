// On-phone storage in IndexedDB, kept per signed-in user: copies of drafts (typing the hub may not have
// yet, and the last copy read from the hub so a reload without Wi-Fi continues) and photos waiting for
// the hub. Team phones are shared: each record carries its user, lists only show the current user's, and
// logout removes every record the hub already has (see outbox.js).
import { state } from './lib.js';

const DB_NAME = 'outreach-kit';
const DB_VERSION = 1;
let dbp = null;
let memory = null; // used only when the browser refuses IndexedDB (some private modes)

function open() {
  if (dbp) return dbp;
  dbp = new Promise((resolve) => {
    let req;
    try { req = indexedDB.open(DB_NAME, DB_VERSION); } catch (_) { resolve(null); return; }
    req.onupgradeneeded = () => {
      const db = req.result;
      for (const name of ['drafts', 'photos']) {
        if (!db.objectStoreNames.contains(name)) db.createObjectStore(name, { keyPath: 'k' }).createIndex('user', 'user');
      }
    };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => resolve(null);
    req.onblocked = () => resolve(null);
  });
  return dbp;
}

/** True when records survive a reload (IndexedDB works); false when they only live in this tab. */
export async function durable() { return !!(await open()); }

function mem(store) {
  memory = memory || { drafts: new Map(), photos: new Map() };
  return memory[store];
}

async function tx(store, mode, fn) {
  const db = await open();
  if (!db) return fn(null, mem(store));
  return new Promise((resolve, reject) => {
    const t = db.transaction(store, mode);
    let out;
    t.oncomplete = () => resolve(out);
    t.onerror = () => reject(t.error);
    t.onabort = () => reject(t.error || new Error('aborted'));
    const req = fn(t.objectStore(store), null);
    req.onsuccess = () => { out = req.result; };
  });
}

const user = () => (state.user && state.user.id) || '';
const key = (id) => `${user()}|${id}`;

async function getAll(store, who) {
  return (await tx(store, 'readonly', (os, m) => (m ? [...m.values()].filter((r) => r.user === who) : os.index('user').getAll(who)))) || [];
}

function makeStore(name) {
  return {
    /** The current user's record for `id`, or null. */
    async get(id) {
      return (await tx(name, 'readonly', (os, m) => (m ? m.get(key(id)) : os.get(key(id))))) || null;
    },
    /** Writes the record (merged with `id`, the user and a timestamp). Resolves once it is on disk. */
    async put(id, rec) {
      const full = { ...rec, id, k: key(id), user: user(), at: Date.now() };
      await tx(name, 'readwrite', (os, m) => (m ? void m.set(full.k, full) : os.put(full)));
      return full;
    },
    async drop(id) {
      await tx(name, 'readwrite', (os, m) => (m ? void m.delete(key(id)) : os.delete(key(id))));
    },
    /** Every record of the current user. */
    list() { return getAll(name, user()); },
  };
}

export const drafts = makeStore('drafts');
export const photos = makeStore('photos');
