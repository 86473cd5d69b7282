// Runs `npm run bench:registry -- --smoke` (tiny sizes, a few ops) so CI proves the benchmark harness
// works end to end against Berth, docker-registry and nginx. It checks that every row produced a
// figure for every server, not how fast anything was.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { missingTools, REPO_ROOT } from './helpers/registry-servers.js';
import { tempDir } from '../support/temp.js';

const skip = missingTools('docker-registry', 'nginx', 'wrk', 'curl');

test('bench:registry --smoke measures every row for Berth and its peers', { skip, timeout: 180_000 }, () => {
  const json = join(tempDir('berth-bench-smoke-'), 'result.json');
  const result = spawnSync(
    process.execPath,
    ['--import', 'tsx', 'bench/registry/run.ts', '--smoke', '--json', json],
    {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      timeout: 170_000,
    },
  );
  assert.equal(result.status, 0, `benchmark failed:\n${result.stderr}\n${result.stdout}`);
  assert.match(result.stdout, /\| row \| Berth \| distribution 2\.8 \| Berth\/distribution \|/);
  const report = JSON.parse(readFileSync(json, 'utf8')) as {
    profile: string;
    rows: { name: string; values: Record<string, number>; vsNginx?: boolean }[];
  };
  assert.equal(report.profile, 'smoke');
  const names = report.rows.map((r) => r.name).join('\n');
  for (const expected of [
    /^push 1 KiB/m,
    /^pull 1 KiB/m,
    /^manifest HEAD by tag/m,
    /^manifest GET by tag/m,
    /^list a repository with \d+ tags/m,
    /^blob GET/m,
    /clients pull one/m,
    /^peak RSS/m,
  ]) {
    assert.match(names, expected);
  }
  for (const row of report.rows) {
    for (const target of ['berth', 'distribution', ...(row.vsNginx ? ['nginx'] : [])]) {
      const value = row.values[target];
      assert.ok(
        typeof value === 'number' && Number.isFinite(value) && value > 0,
        `${row.name}: ${target} has a figure (${value})`,
      );
    }
  }
});
