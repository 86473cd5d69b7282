// Runs the log benchmark with tiny sizes so CI proves it still works; the figures are not checked
// against the goals here (that is what `npm run bench:logs` and docs/benchmarks/logs.md are for).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

test('bench:logs --smoke runs ingestion, queries, the live stream and the full-queue memory and reports numbers', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-bench-smoke-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const { stdout, stderr } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', 'bench/logs/run.ts', '--smoke'],
    { env: { ...process.env, BERTH_BENCH_DIR: dir }, timeout: 240_000 },
  );
  const report = JSON.parse(stdout.trim().split('\n').at(-1)!) as {
    ingest: { berth: number; peer: number };
    query: { results: Array<{ name: string; p50: number; p95: number; rows: number }> };
    live: { sent: number; count: number; p99: number };
    backlog: { restMiB: number; peakMiB: number; dropped: number };
  };
  assert.ok(report.ingest.berth > 0 && report.ingest.peer > 0);
  assert.equal(report.query.results.length, 7);
  for (const r of report.query.results) assert.ok(Number.isFinite(r.p95) && r.p95 >= r.p50, r.name);
  assert.ok(
    report.query.results.find((r) => r.name.startsWith('time range'))!.rows === 100,
    'a 1-hour window of 20k lines over a day has 100+ lines',
  );
  assert.ok(report.live.sent > 0);
  assert.equal(report.live.count, report.live.sent, 'every line the child printed reached the SSE client');
  assert.ok(report.backlog.peakMiB >= report.backlog.restMiB && report.backlog.restMiB > 0);
  assert.ok(report.backlog.dropped > 0, 'the backlog reached the queue bound');
  assert.match(stderr, /ratio Berth\/peer/);
});
