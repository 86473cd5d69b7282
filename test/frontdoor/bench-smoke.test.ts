import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';

const run = promisify(execFile);

type PacedReport = {
  summary: Record<
    'direct' | 'frontdoor' | 'nginx' | 'floor',
    { requestsPerSecond: number; p99: number; errors: number }
  >;
  addedP99Ms: { frontdoor: number; nginx: number };
};

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
    paced: PacedReport & { targetRequestsPerSecond: number };
    bursts: PacedReport;
  };
  for (const name of ['direct', 'frontdoor', 'nginx', 'floor'] as const) {
    assert.ok(report.summary[name].requestsPerSecond > 0, `${name} served requests`);
    assert.equal(report.summary[name].errors, 0, `${name} had no errors`);
    assert.ok(report.summary[name].p99 > 0);
  }
  // Both paced runs (steady and in bursts) offer a fixed rate far below saturation: every target keeps near it.
  for (const shape of [report.paced, report.bursts]) {
    for (const name of ['direct', 'frontdoor', 'nginx', 'floor'] as const) {
      const run = shape.summary[name];
      assert.equal(run.errors, 0, `${name} had no errors when paced`);
      assert.ok(run.p99 > 0);
      assert.ok(
        run.requestsPerSecond <= report.paced.targetRequestsPerSecond * 1.2,
        `${name} was paced: ${run.requestsPerSecond} req/s`,
      );
    }
    assert.ok(
      Math.abs(shape.addedP99Ms.frontdoor - (shape.summary.frontdoor.p99 - shape.summary.direct.p99)) < 1e-9,
    );
  }
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

test("paced wrk: steady spreads the connections' first requests over one delay, bursts start them together", async (t) => {
  if (!existsSync('/usr/bin/wrk')) return t.skip('wrk not installed: apt-get install wrk');
  const { wrk } = await import('../../bench/frontdoor/wrk.js');
  const connections = 8;
  const delayMs = 200;
  /** Per connection, when its first request arrived; and whether any second request came before the last first one. */
  const firstRequests = async (stagger: boolean) => {
    const firstSeen = new Map<unknown, number>();
    let secondBeforeAllFirsts = false;
    const server = createServer((req, res) => {
      if (!firstSeen.has(req.socket)) firstSeen.set(req.socket, performance.now());
      else if (firstSeen.size < connections) secondBeforeAllFirsts = true;
      res.end('ok');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      await wrk(`http://127.0.0.1:${port}/`, { host: 'x', connections, seconds: 1, delayMs, stagger });
    } finally {
      server.closeAllConnections();
      server.close();
    }
    assert.equal(firstSeen.size, connections, 'every connection sent a request');
    const times = [...firstSeen.values()];
    return { spread: Math.max(...times) - Math.min(...times), secondBeforeAllFirsts };
  };
  // Steady: first requests scheduled 0, 25, …, 175 ms apart. wrk's timers never fire early, so the
  // spread is at least that (a loaded machine only stretches it; no upper bound is asserted).
  const steady = await firstRequests(true);
  assert.ok(steady.spread >= 150, `steady start spread ${steady.spread.toFixed(1)} ms`);
  // Bursts: every connection sends its first request at once, so all of them arrive before any
  // connection's second one (which waits a whole delay after its answer): an order, not a time.
  const burst = await firstRequests(false);
  assert.equal(burst.secondBeforeAllFirsts, false, 'every first request came before any second one');
});
