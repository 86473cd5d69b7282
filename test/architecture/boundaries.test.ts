// The rules of the house (docs/architecture.md), checked on every import under src/:
// - a part is used by other parts only through its index.ts;
// - lib/ imports no part;
// - no import cycles, neither between parts nor between the files of one part.
// Imports are read with TypeScript's own pre-processor (static, dynamic and type-only imports alike).
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import ts from 'typescript';

const SRC = resolve(import.meta.dirname, '../../src');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return name.endsWith('.ts') ? [path] : [];
  });
}

/** file (relative to src/) → the files under src/ it imports. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sources(SRC)) {
    const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    const targets = info.importedFiles
      .map((i) => i.fileName)
      .filter((name) => name.startsWith('.'))
      .map((name) => relative(SRC, resolve(dirname(file), name)).replace(/\.js$/, '.ts'));
    graph.set(relative(SRC, file), targets);
  }
  return graph;
}

const partOf = (file: string) => file.split('/')[0]!;

/** Strongly connected components with more than one member (Tarjan). */
function cycles(graph: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) found.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

test('the import graph is read: every part is present and imports resolve to files under src/', () => {
  const graph = importGraph();
  const parts = new Set([...graph.keys()].map(partOf));
  for (const part of ['cli', 'config', 'console', 'frontdoor', 'lib', 'logs', 'mcp', 'registry', 'sites'])
    assert.ok(parts.has(part), `part ${part} found`);
  const missing = [...graph.values()].flat().filter((target) => !graph.has(target));
  assert.deepEqual(missing, [], 'every relative import names a .ts file under src/');
});

test('a part is imported by other parts only through its index.ts, and lib/ imports no part', () => {
  const violations: string[] = [];
  for (const [file, targets] of importGraph()) {
    for (const target of targets) {
      const from = partOf(file);
      const to = partOf(target);
      if (from === to) continue;
      if (from === 'lib') violations.push(`${file} -> ${target} (lib/ imports no part)`);
      else if (to !== 'lib' && target !== `${to}/index.ts`) violations.push(`${file} -> ${target}`);
    }
  }
  assert.deepEqual(violations, [], 'import the part through its index.ts (export what is needed there)');
});

test('no import cycles between parts', () => {
  const parts = new Map<string, string[]>();
  for (const [file, targets] of importGraph()) {
    const from = partOf(file);
    const list = parts.get(from) ?? [];
    list.push(...targets.map(partOf).filter((to) => to !== from));
    parts.set(from, list);
  }
  assert.deepEqual(cycles(parts), []);
});

test('no import cycles between files (type-only imports count)', () => {
  assert.deepEqual(cycles(importGraph()), []);
});

test('the cycle finder finds a cycle (the check can fail)', () => {
  const graph = new Map([
    ['a/x.ts', ['a/y.ts']],
    ['a/y.ts', ['a/z.ts']],
    ['a/z.ts', ['a/x.ts']],
    ['b/index.ts', []],
  ]);
  assert.deepEqual(cycles(graph), [['a/x.ts', 'a/y.ts', 'a/z.ts']]);
});
