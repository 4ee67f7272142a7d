// Static checks of the web client's string catalogues: same keys in every language, NFC text, and every
// literal key the code asks for exists. Fast; needs no hub and no browser.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const web = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../client-web');
const langs = fs.readdirSync(path.join(web, 'i18n')).filter((f) => f.endsWith('.json'));
const cat = Object.fromEntries(langs.map((f) => [f.slice(0, -5), JSON.parse(fs.readFileSync(path.join(web, 'i18n', f), 'utf8'))]));

test('Vietnamese and English catalogues exist', () => {
  assert.ok(cat.vi && cat.en);
});

test('every language has exactly the Vietnamese keys', () => {
  const vi = Object.keys(cat.vi).sort();
  for (const [lang, c] of Object.entries(cat)) assert.deepEqual(Object.keys(c).sort(), vi, `keys of ${lang}`);
});

test('all strings are non-empty and NFC', () => {
  for (const [lang, c] of Object.entries(cat)) {
    for (const [k, v] of Object.entries(c)) {
      assert.ok(typeof v === 'string' && v.trim(), `${lang} ${k} is empty`);
      assert.equal(v, v.normalize('NFC'), `${lang} ${k} is not NFC`);
    }
  }
});

test('placeholders match between languages', () => {
  const ph = (s) => (s.match(/\{\w+\}/g) || []).sort().join();
  for (const [lang, c] of Object.entries(cat)) {
    for (const k of Object.keys(cat.vi)) assert.equal(ph(c[k]), ph(cat.vi[k]), `${lang} ${k}`);
  }
});

test('every literal key used by the code exists', () => {
  const src = fs.readdirSync(web).filter((f) => f.endsWith('.js')).map((f) => fs.readFileSync(path.join(web, f), 'utf8')).join('\n');
  const used = new Set([...src.matchAll(/\bt\('([a-z_]+\.[a-z_.]+)'/g)].map((m) => m[1]));
  // Keys passed through variables (setState('draft.saved'), note keys, …).
  for (const m of src.matchAll(/'((?:draft|seal|form|home|err)\.[a-z_.]+)'/g)) used.add(m[1]);
  assert.ok(used.size > 50, `found ${used.size} keys`);
  for (const k of used) if (!k.endsWith('.') && !/\.js$/.test(k)) assert.ok(k in cat.vi, `missing i18n key ${k}`);
});
