// What `npm pack` ships: the command, the compiled package and the demo, never tests, benchmarks,
// CI scripts or the TypeScript sources.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { test } from 'node:test';

const root = new URL('../../', import.meta.url).pathname;

test('npm pack ships bin/, dist/, the demo and docs, and no tests, benchmarks, CI scripts or sources', () => {
  // --ignore-scripts: list what the package holds without running `prepare` (the build) again.
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: root,
    encoding: 'utf8',
  });
  const files = (JSON.parse(out) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path);
  const forbidden = files.filter((f) => /^(test|bench|scripts|src|\.ci|\.tools|node_modules)\//.test(f));
  assert.deepEqual(forbidden, []);
  for (const needed of [
    'bin/berth',
    'package.json',
    'README.md',
    'examples/berth.yaml',
    'examples/sites/api/server.mjs',
  ])
    assert.ok(files.includes(needed), `${needed} is shipped`);
  assert.ok(
    existsSync(`${root}dist/.build-stamp`),
    'dist/ is built (npm test builds it; else npm run build)',
  );
  for (const needed of ['dist/cli/main.js', 'dist/console/public/index.html', 'dist/logs/writer-thread.js'])
    assert.ok(files.includes(needed), `${needed} is shipped`);
});
