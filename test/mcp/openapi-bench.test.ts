// Smoke test for the conversion benchmark: it runs end to end (children, peer, table, JSON line) on
// the small Petstore document. The real figures come from `npm run bench:mcp:convert` (GitHub's document).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

test('bench/mcp/convert.ts --smoke measures Berth and the peer and prints the ratio', () => {
  const run = spawnSync(process.execPath, ['--import', 'tsx', 'bench/mcp/convert.ts', '--smoke'], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /ratio peer\/berth: wall [\d.]+x, CPU [\d.]+x, peak RSS [\d.]+x/);
  const summary = JSON.parse(run.stdout.trim().split('\n').pop()!) as {
    results: Record<string, { tools: number; ms: number; peakRssMiB: number }>;
  };
  assert.equal(summary.results.berth!.tools, 20);
  assert.equal(summary.results.peer!.tools, 20);
  assert.ok(summary.results.berth!.ms > 0 && summary.results.berth!.peakRssMiB > 0);
});
