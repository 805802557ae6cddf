#!/usr/bin/env node
// Lists functions whose body is longer than the limit (default 100 lines) in production code: every
// function, method, arrow function and accessor; a factory that returns an object literal of
// functions counts as one function (its body holds theirs). Tests and benchmarks are not checked;
// nothing in production code is exempt (a migration builds its tables in a function each).
// Exits 1 when it finds any.
//   node scripts/check-function-length.mjs [--max N] [folders…]
import console from 'node:console';
import fs from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import ts from 'typescript';

const DEFAULT_FOLDERS = ['activities', 'cli', 'common', 'config', 'db', 'dev', 'domain', 'ftp', 'openimmo', 'ops', 'store', 'workers', 'workflows'];

const args = process.argv.slice(2);
let max = 100;
const maxAt = args.indexOf('--max');
if (maxAt >= 0) {
  max = Number(args[maxAt + 1]);
  args.splice(maxAt, 2);
}
const root = path.resolve(import.meta.dirname, '..');
const folders = args.length ? args : DEFAULT_FOLDERS;

function* tsFiles(dir) {
  if (!fs.existsSync(dir)) return;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) yield* tsFiles(p);
    else if (/\.(c|m)?ts$/.test(e.name) && !e.name.endsWith('.d.ts')) yield p;
  }
}

function nameOf(node, sf) {
  if (node.name) return node.name.getText(sf);
  const p = node.parent;
  if (p && (ts.isVariableDeclaration(p) || ts.isPropertyAssignment(p) || ts.isPropertyDeclaration(p)) && p.name) return p.name.getText(sf);
  if (p && ts.isCallExpression(p)) return `(callback of ${p.expression.getText(sf).slice(0, 40)})`;
  return '(anonymous)';
}

const found = [];
for (const folder of folders) {
  for (const file of tsFiles(path.join(root, folder))) {
    const rel = path.relative(root, file).split(path.sep).join('/');
    const sf = ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
    const visit = (node) => {
      if (ts.isFunctionLike(node) && node.body) {
        const start = sf.getLineAndCharacterOfPosition(node.body.getStart(sf)).line;
        const end = sf.getLineAndCharacterOfPosition(node.body.getEnd()).line;
        // The lines between the braces (an expression body: its lines).
        const lines = ts.isBlock(node.body) ? end - start - 1 : end - start + 1;
        if (lines > max) found.push({ where: `${rel}:${sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1}`, name: nameOf(node, sf), lines });
      }
      ts.forEachChild(node, visit);
    };
    visit(sf);
  }
}

found.sort((a, b) => b.lines - a.lines);
for (const f of found) console.log(`${f.where} ${f.name}: ${f.lines} lines (limit ${max})`);
if (found.length) {
  console.log(`${found.length} function(s) over ${max} lines: split them (scripts/check-function-length.mjs)`);
  process.exit(1);
}
console.log(`no function over ${max} lines in ${folders.join(', ')}`);
