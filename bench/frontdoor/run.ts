// Front door vs nginx as a reverse proxy to the same instances, in one run, with wrk. A fourth
// target, floor.mjs (the least a Node.js proxy can do, no validation), shows how much of the gap
// to nginx is Node's own.
//   npm run bench:frontdoor                 (default: 2 instances, 64 connections, 10 s per target)
//   npm run bench:frontdoor -- --smoke      (tiny: proves the harness works; CI runs this)
//   options: --seconds N --connections N --instances N --rounds N --rate N --json
// Three measurements of every target: saturating (wrk as fast as it can: throughput, and latency that
// is mostly queueing), and twice paced at a rate all of them sustain (--rate, default 2000 req/s over
// the same connections): with steady arrivals (the connections' starts spread over one period, as
// wrk2 does: the latency the proxy itself adds, the goal's measure) and in bursts (all connections
// in step: one request each at once, so the last of a burst waits for the whole burst).
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { configSchema } from '../../src/config/schema.js';
import { startFrontdoor } from '../../src/frontdoor/index.js';
import { silentLogger } from '../../src/lib/logger.js';
import { createSiteManager } from '../../src/sites/index.js';
import { freePort } from '../../src/sites/ports.js';
import { startFloor } from './floor.js';
import { NGINX, startNginx } from './nginx.js';
import { wrk, type WrkResult } from './wrk.js';

const { values } = parseArgs({
  options: {
    smoke: { type: 'boolean', default: false },
    seconds: { type: 'string' },
    connections: { type: 'string' },
    instances: { type: 'string' },
    rounds: { type: 'string' },
    rate: { type: 'string' },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  process.stdout.write(
    'usage: npm run bench:frontdoor -- [--smoke] [--seconds N] [--connections N] [--instances N] [--rounds N] [--rate N] [--json]\n',
  );
  process.exit(0);
}
const smoke = values.smoke!;
const seconds = Number(values.seconds ?? (smoke ? 1 : 10));
const connections = Number(values.connections ?? (smoke ? 4 : 64));
const instances = Number(values.instances ?? 2);
const rounds = Number(values.rounds ?? (smoke ? 1 : 3));
const rate = Number(values.rate ?? (smoke ? 200 : 2000));
if (!(rate > 0)) {
  process.stderr.write('--rate must be a positive number of requests per second\n');
  process.exit(2);
}
/** wrk paces per connection: each waits this long after an answer, so connections / delay ≈ rate. */
const delayMs = Math.max(1, Math.round((connections * 1000) / rate));

for (const [tool, path] of [
  ['wrk', '/usr/bin/wrk'],
  ['nginx', NGINX],
]) {
  if (!existsSync(path!)) {
    process.stderr.write(`bench:frontdoor needs ${tool} (${path}): apt-get install ${tool}\n`);
    process.exit(2);
  }
}

const dataDir = await mkdtemp(join(tmpdir(), 'berth-bench-frontdoor-'));
const config = configSchema.parse({
  frontdoor: { listen: '127.0.0.1:0' },
  sites: [{ name: 'bench', command: 'node hello.mjs', instances }],
});
const sink = { write() {} };
const manager = createSiteManager({
  config,
  baseDir: new URL('.', import.meta.url).pathname,
  dataDir,
  logSink: sink,
  logger: silentLogger,
});
await manager.start();
await manager.waitUntilReady(30_000);
const frontdoor = await startFrontdoor({ config: config.frontdoor, manager, logger: silentLogger });
const ports = manager.siteStatus('bench').slots[0]!.instances.map((i) => i.port);
const nginxPort = await freePort();
const nginx = await startNginx(nginxPort, ports);
const floorPort = await freePort();
const floor = await startFloor(floorPort, ports);

const host = 'bench.localhost';
const targets = {
  direct: `http://127.0.0.1:${ports[0]}/`,
  frontdoor: `http://127.0.0.1:${frontdoor.port}/`,
  nginx: `http://127.0.0.1:${nginxPort}/`,
  floor: `http://127.0.0.1:${floorPort}/`,
};
type Target = keyof typeof targets;
const names = Object.keys(targets) as Target[];
const runsPerTarget = () =>
  Object.fromEntries(names.map((n) => [n, []])) as unknown as Record<Target, WrkResult[]>;
const results = runsPerTarget();
const paced = runsPerTarget();
const bursts = runsPerTarget();
/**
 * CPU microseconds per request, for the two proxies: unlike req/s this hardly depends on how busy
 * the rest of the machine is. The front door runs in this process (the manager is idle meanwhile).
 */
type Proxy = Exclude<Target, 'direct'>;
const cpuPerRequest: Record<Proxy, number[]> = { frontdoor: [], nginx: [], floor: [] };
const cpuNow = (name: Proxy) => {
  if (name === 'nginx') return nginx.cpuSeconds() * 1e6;
  if (name === 'floor') return floor.cpuSeconds() * 1e6;
  const usage = process.cpuUsage();
  return usage.user + usage.system;
};
try {
  // Warm both proxies (keep-alive pools, JIT: the first seconds of a Node proxy are much slower).
  const warm = smoke ? 1 : 3;
  await wrk(targets.frontdoor, { host, connections, seconds: warm });
  await wrk(targets.nginx, { host, connections, seconds: warm });
  await wrk(targets.floor, { host, connections, seconds: warm });
  // Interleave rounds so drift in machine load hits every target alike.
  for (let round = 0; round < rounds; round++) {
    for (const name of names) {
      const before = name === 'direct' ? 0 : cpuNow(name);
      const result = await wrk(targets[name], { host, connections, seconds });
      if (name !== 'direct') cpuPerRequest[name].push((cpuNow(name) - before) / result.requests);
      results[name].push(result);
    }
  }
  for (const [runs, stagger] of [
    [paced, true],
    [bursts, false],
  ] as const) {
    for (let round = 0; round < rounds; round++) {
      for (const name of names) {
        runs[name].push(await wrk(targets[name], { host, connections, seconds, delayMs, stagger }));
      }
    }
  }
} finally {
  await floor.close();
  await nginx.close();
  await frontdoor.close();
  await manager.stop();
  await rm(dataDir, { recursive: true, force: true });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
type Summary = { requestsPerSecond: number; p50: number; p99: number; errors: number };
const summarize = (all: Record<Target, WrkResult[]>) =>
  Object.fromEntries(
    Object.entries(all).map(([name, runs]) => [
      name,
      {
        requestsPerSecond: median(runs.map((r) => r.requestsPerSecond)),
        p50: median(runs.map((r) => r.p50)),
        p99: median(runs.map((r) => r.p99)),
        errors: runs.reduce((n, r) => n + r.errors, 0),
      },
    ]),
  ) as Record<Target, Summary>;
const summary = summarize(results);
const pacedSummary = summarize(paced);
const burstSummary = summarize(bursts);
const ratio = summary.frontdoor.requestsPerSecond / summary.nginx.requestsPerSecond;
const floorRatio = summary.floor.requestsPerSecond / summary.nginx.requestsPerSecond;
const addedOf = (s: Record<Target, Summary>) => ({
  frontdoor: s.frontdoor.p99 - s.direct.p99,
  nginx: s.nginx.p99 - s.direct.p99,
  floor: s.floor.p99 - s.direct.p99,
});
const added = addedOf(summary);
const pacedAdded = addedOf(pacedSummary);
const burstAdded = addedOf(burstSummary);
const cpuUs = {
  frontdoor: median(cpuPerRequest.frontdoor),
  nginx: median(cpuPerRequest.nginx),
  floor: median(cpuPerRequest.floor),
};
const report = {
  seconds,
  connections,
  instances,
  rounds,
  summary,
  throughputRatio: ratio,
  floorThroughputRatio: floorRatio,
  addedP99Ms: added,
  cpuMicrosecondsPerRequest: cpuUs,
  paced: {
    targetRequestsPerSecond: rate,
    delayMsPerConnection: delayMs,
    summary: pacedSummary,
    addedP99Ms: pacedAdded,
  },
  bursts: { summary: burstSummary, addedP99Ms: burstAdded },
  goals: { ratioAtLeast: 0.7, addedP99BelowMs: 2 },
};

if (values.json) process.stdout.write(`${JSON.stringify(report)}\n`);
else {
  const row = (name: string, s: Summary) =>
    `${name.padEnd(10)} ${s.requestsPerSecond.toFixed(0).padStart(9)}  ${s.p50.toFixed(2).padStart(7)}  ${s.p99.toFixed(2).padStart(7)}  ${String(s.errors).padStart(6)}`;
  const table = (s: Record<Target, Summary>) => [
    `target       req/s    p50 ms   p99 ms  errors`,
    ...names.map((name) => row(name, s[name])),
  ];
  process.stdout.write(
    [
      `front door vs nginx: ${instances} instances, wrk -t1 -c${connections}, ${seconds}s x ${rounds} rounds (medians)`,
      '',
      'saturating (wrk as fast as it can)',
      ...table(summary),
      `throughput ratio frontdoor/nginx: ${(ratio * 100).toFixed(1)}% (goal >= 70%); floor/nginx ${(floorRatio * 100).toFixed(1)}%`,
      `added p99 latency, saturated: frontdoor ${added.frontdoor.toFixed(2)} ms, nginx ${added.nginx.toFixed(2)} ms, floor ${added.floor.toFixed(2)} ms (goal < 2 ms; mostly queueing)`,
      `CPU per request: frontdoor ${cpuUs.frontdoor.toFixed(1)} us, nginx ${cpuUs.nginx.toFixed(1)} us, floor ${cpuUs.floor.toFixed(1)} us (nginx/frontdoor ${((cpuUs.nginx / cpuUs.frontdoor) * 100).toFixed(1)}%: the throughput ratio on an otherwise idle CPU)`,
      '',
      `paced at ~${rate} req/s, steady arrivals (each of ${connections} connections waits ${delayMs} ms after every answer; their starts spread over ${delayMs} ms)`,
      ...table(pacedSummary),
      `added p99 latency, paced: frontdoor ${pacedAdded.frontdoor.toFixed(2)} ms, nginx ${pacedAdded.nginx.toFixed(2)} ms, floor ${pacedAdded.floor.toFixed(2)} ms (goal < 2 ms)`,
      '',
      `paced at ~${rate} req/s in bursts (the same, but all connections start at once and stay in step: bursts of ${connections})`,
      ...table(burstSummary),
      `added p99 latency, bursts: frontdoor ${burstAdded.frontdoor.toFixed(2)} ms, nginx ${burstAdded.nginx.toFixed(2)} ms, floor ${burstAdded.floor.toFixed(2)} ms (mostly the time to answer a whole burst)`,
      '',
    ].join('\n'),
  );
}
