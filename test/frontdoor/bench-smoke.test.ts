import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);

test('bench:frontdoor --smoke measures the front door, nginx and the Node floor side by side, saturated and paced', async (t) => {
  if (!existsSync('/usr/bin/wrk')) return t.skip('wrk not installed: apt-get install wrk');
  if (!existsSync('/usr/sbin/nginx')) return t.skip('nginx not installed: apt-get install nginx');
  const { stdout } = await run(
    process.execPath,
    ['--import', 'tsx', 'bench/frontdoor/run.ts', '--smoke', '--json'],
    { cwd: new URL('../../', import.meta.url).pathname, timeout: 120_000 },
  );
  const report = JSON.parse(stdout) as {
    summary: Record<
      'direct' | 'frontdoor' | 'nginx' | 'floor',
      { requestsPerSecond: number; p99: number; errors: number }
    >;
    throughputRatio: number;
    cpuMicrosecondsPerRequest: { frontdoor: number; nginx: number };
    paced: {
      targetRequestsPerSecond: number;
      summary: Record<
        'direct' | 'frontdoor' | 'nginx' | 'floor',
        { requestsPerSecond: number; p99: number; errors: number }
      >;
      addedP99Ms: { frontdoor: number; nginx: number };
    };
  };
  for (const name of ['direct', 'frontdoor', 'nginx', 'floor'] as const) {
    assert.ok(report.summary[name].requestsPerSecond > 0, `${name} served requests`);
    assert.equal(report.summary[name].errors, 0, `${name} had no errors`);
    assert.ok(report.summary[name].p99 > 0);
  }
  // The paced run offers a fixed rate far below saturation: every target keeps near it.
  for (const name of ['direct', 'frontdoor', 'nginx', 'floor'] as const) {
    const run = report.paced.summary[name];
    assert.equal(run.errors, 0, `${name} had no errors when paced`);
    assert.ok(run.p99 > 0);
    assert.ok(
      run.requestsPerSecond <= report.paced.targetRequestsPerSecond * 1.2,
      `${name} was paced: ${run.requestsPerSecond} req/s`,
    );
  }
  assert.ok(
    Math.abs(
      report.paced.addedP99Ms.frontdoor -
        (report.paced.summary.frontdoor.p99 - report.paced.summary.direct.p99),
    ) < 1e-9,
  );
  assert.ok(
    report.cpuMicrosecondsPerRequest.frontdoor > 0 && report.cpuMicrosecondsPerRequest.nginx > 0,
    'CPU per request measured for both',
  );
  assert.ok(
    Math.abs(
      report.throughputRatio -
        report.summary.frontdoor.requestsPerSecond / report.summary.nginx.requestsPerSecond,
    ) < 1e-9,
  );
});
