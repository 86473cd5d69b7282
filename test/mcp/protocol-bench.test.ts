/** Smoke test for `npm run bench:mcp`: a tiny run proves the harness, the peer and every row work. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

test(
  'bench:mcp --smoke measures direct, berth (both eras) and the peer and prints the ratio',
  { timeout: 180_000 },
  () => {
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'bench/mcp/run.ts', '--smoke', '--json'], {
      encoding: 'utf8',
      timeout: 170_000,
    });
    assert.equal(run.status, 0, run.stderr);
    const report = JSON.parse(run.stdout) as {
      rows: Array<{ target: string; clients: number; requests: number; p50: number }>;
      summary: Array<{ clients: number; throughputRatio: number; berth: { addedP50: number } }>;
      peerTool: string;
    };
    for (const target of ['direct', 'berth', 'berth-2025', 'peer']) {
      for (const clients of [1, 2]) {
        const row = report.rows.find((r) => r.target === target && r.clients === clients);
        assert.ok(row && row.requests > 0 && row.p50 > 0, `${target} at ${clients} clients has measurements`);
      }
    }
    assert.equal(report.summary.length, 2);
    for (const s of report.summary)
      assert.ok(Number.isFinite(s.throughputRatio) && Number.isFinite(s.berth.addedP50));
    assert.match(report.peerTool, /pet/i);
  },
);
