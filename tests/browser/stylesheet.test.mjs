// The stylesheets parse whole (issue 25, item 3): an `@media (min-width: 60rem) {` left open in app.css once
// put every later style (self-service, receipt status, slip, news, ledger, clock) behind a 960 px screen, and
// a browser says nothing about it (it closes the block at the end of the file). Each of client-web/app.css,
// client-web/office.css and client-web/ask.css is checked three ways:
//  - css-tree (a real CSS parser) reports no parse error (onParseError);
//  - every block the parser built (rule, at-rule, declaration block) ends with its own "}" in the source:
//    css-tree, like a browser, closes a block left open at the end of the file without complaint;
//  - "{" and "}" outside comments and strings are as many, and the depth never goes below zero.
// No hub and no browser: the files are read from disk. STYLESHEET_FILES (comma-separated paths) checks other
// files instead, e.g. an old version, to see the test fail.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import * as csstree from 'css-tree';
import { REPO } from './harness.mjs';

const FILES = process.env.STYLESHEET_FILES
  ? process.env.STYLESHEET_FILES.split(',').map((f) => path.resolve(f))
  : fs.readdirSync(path.join(REPO, 'client-web')).filter((f) => f.endsWith('.css')).sort().map((f) => path.join(REPO, 'client-web', f));

/** Line and column (1-based) of an offset in src. */
function where(src, offset) {
  const before = src.slice(0, offset).split('\n');
  return `${before.length}:${before[before.length - 1].length + 1}`;
}

/** The braces outside comments and strings: their count, and where a "}" has no "{" or a "{" no "}". */
export function braceBalance(src) {
  let depth = 0; let opens = 0; let closes = 0; const stack = []; const strays = [];
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    if (c === '/' && src[i + 1] === '*') {
      const end = src.indexOf('*/', i + 2);
      i = end < 0 ? src.length : end + 1;
    } else if (c === '"' || c === "'") {
      for (i++; i < src.length && src[i] !== c && src[i] !== '\n'; i++) if (src[i] === '\\') i++;
    } else if (c === '\\') {
      i++;
    } else if (c === '{') {
      opens++; depth++; stack.push(i);
    } else if (c === '}') {
      closes++; depth--;
      if (depth < 0) { strays.push(where(src, i)); depth = 0; } else stack.pop();
    }
  }
  return { opens, closes, unclosed: stack.map((i) => where(src, i)), strays };
}

/** Parses with css-tree: parse errors, and blocks that the end of the file closed instead of a "}". */
export function parseCheck(src) {
  const errors = [];
  const ast = csstree.parse(src, {
    positions: true,
    onParseError: (e) => errors.push(`${e.line}:${e.column} ${e.message}${e.sourceFragment ? '\n' + e.sourceFragment(1) : ''}`),
  });
  const unclosed = [];
  csstree.walk(ast, (node) => {
    if (node.type !== 'Block' || !node.loc) return;
    const { start, end } = node.loc;
    if (src[start.offset] !== '{') return;
    // A block's own "}" is its last character, after its last child: a block the end of the file closed
    // ends with its last child (an inner rule's "}", a declaration).
    const last = node.children && node.children.last;
    const own = src[end.offset - 1] === '}' && !(last && last.loc && last.loc.end.offset >= end.offset);
    if (!own) unclosed.push(`${start.line}:${start.column}`);
  });
  return { errors, unclosed, ast };
}

for (const file of FILES) {
  const name = path.relative(REPO, file);
  const src = fs.readFileSync(file, 'utf8');

  test(`${name}: a CSS parser reads it without an error and every block is closed`, () => {
    const { errors, unclosed, ast } = parseCheck(src);
    assert.deepEqual(errors, [], `${name}: css-tree parse errors`);
    assert.deepEqual(unclosed, [], `${name}: blocks opened here are never closed (the end of the file closes them)`);
    // Sanity: the parser did read the file (a stylesheet of rules, not one swallowed blob).
    let rules = 0;
    csstree.walk(ast, { visit: 'Rule', enter() { rules++; } });
    // Sanity: as many rules parsed as the file has rule blocks ("{" not in an at-rule's own head), so no
    // rule was swallowed into a neighbour.
    const blocks = braceBalance(src).opens;
    assert.ok(rules > 0 && rules >= blocks / 2, `${name}: only ${rules} rules parsed for ${blocks} blocks`);
  });

  test(`${name}: as many "}" as "{" outside comments and strings`, () => {
    const b = braceBalance(src);
    assert.deepEqual(b.strays, [], `${name}: a "}" closes nothing`);
    assert.deepEqual(b.unclosed, [], `${name}: "{" never closed (line:column)`);
    assert.equal(b.opens, b.closes, `${name}: ${b.opens} "{" but ${b.closes} "}"`);
  });
}

test('the checks catch a block left open, a stray "}" and a broken rule', () => {
  const open = '.a { color: red; }\n@media (min-width: 60rem) {\n  .b { color: blue; }\n\n.c { color: green; }\n';
  assert.deepEqual(parseCheck(open).unclosed, ['2:27']);
  assert.deepEqual(braceBalance(open).unclosed, ['2:27']);
  const stray = '.a { color: red; }\n}\n.b { color: blue; }\n';
  assert.deepEqual(braceBalance(stray).strays, ['2:1']);
  assert.ok(parseCheck(stray).errors.length > 0);
  assert.deepEqual(parseCheck('.a { color: red;').unclosed, ['1:4']);
  assert.equal(parseCheck('.a { color }').errors.length, 1);
  assert.equal(parseCheck('.a { color: "x\n}').errors.length, 1, 'a string cut by a line end');
  // Braces in comments and strings do not count.
  const quiet = '/* { */ .a::before { content: "{"; } .b { content: \'}\'; }';
  assert.deepEqual(braceBalance(quiet), { opens: 2, closes: 2, unclosed: [], strays: [] });
  assert.deepEqual(parseCheck(quiet), { ...parseCheck(quiet), errors: [], unclosed: [] });
});
