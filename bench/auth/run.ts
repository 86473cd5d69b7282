// Token validation on the front door: the same site and route with and without built-in auth, and
// a minimal Node proxy that only calls jose's jwtVerify as the floor, side by side in one run with
// wrk, at 1 and 64 connections. Every token comes from oidc-provider on loopback.
//   npm run bench:auth                 (10 s per target and connection count)
//   npm run bench:auth -- --smoke      (tiny: proves the harness works; CI runs this)
//   options: --seconds N --json
// Figures: p50/p99 latency, requests/s, and CPU per request (this process for the front door, the
// floor's process for the floor; the instance's CPU is not counted for either).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { configSchema } from '../../src/config/schema.js';
import { builtinAuth, startFrontdoor } from '../../src/frontdoor/index.js';
import { silentLogger } from '../../src/lib/logger.js';
import { createSiteManager } from '../../src/sites/index.js';
import { freePort } from '../../src/sites/ports.js';
import { CLIENTS, startProvider } from '../../test/auth/support/provider.js';
import { authSection } from '../../test/auth/support/site.js';
import { cpuSecondsOf, untilListening } from '../frontdoor/nginx.js';
import { wrk, type WrkResult } from '../frontdoor/wrk.js';

const { values } = parseArgs({
  options: {
    smoke: { type: 'boolean', default: false },
    seconds: { type: 'string' },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  process.stdout.write('usage: npm run bench:auth -- [--smoke] [--seconds N] [--json]\n');
  process.exit(0);
}
const smoke = values.smoke!;
const seconds = Number(values.seconds ?? (smoke ? 1 : 10));
const connectionCounts = smoke ? [1, 4] : [1, 64];
const HELLO = fileURLToPath(new URL('../frontdoor/', import.meta.url));
const FLOOR = fileURLToPath(new URL('floor.mjs', import.meta.url));

const provider = await startProvider();
const dataDir = await mkdtemp(join(tmpdir(), 'berth-bench-auth-'));
const site = (name: string, auth?: unknown) => ({
  name,
  command: 'node hello.mjs',
  root: HELLO,
  instances: 1,
  warmupPath: '/',
  ...(auth ? { auth } : {}),
});
const config = configSchema.parse({
  frontdoor: { listen: '127.0.0.1:0' },
  sites: [site('open'), site('chain'), site('closed', authSection(provider.issuer))],
});
const manager = createSiteManager({
  config,
  baseDir: HELLO,
  dataDir,
  logSink: { write() {} },
  logger: silentLogger,
});
await manager.start();
const auth = builtinAuth({ manager, logger: silentLogger, cookieSecret: randomBytes(32) });
await auth.start();
const frontdoor = await startFrontdoor({
  config: config.frontdoor,
  manager,
  logger: silentLogger,
  // `chain` has a middleware that does nothing: what leaving the fast path costs, without auth.
  middlewares: { '*': [auth], chain: [{ name: 'no-op', handle: (_req, _res, next) => next() }] },
});
await manager.waitUntilReady(30_000);
const port = frontdoor.port;
const closedHost = `closed.localhost:${port}`;
const token = await provider.clientToken(CLIENTS.site.id, `http://${closedHost}`);
const instancePort = manager.siteStatus('open').slots[0]!.instances[0]!.port!;

const floorPort = await freePort();
const floor = spawn(
  process.execPath,
  [FLOOR, String(floorPort), String(instancePort), provider.issuer, `http://${closedHost}`],
  {
    stdio: ['ignore', 'ignore', 'pipe'],
  },
);
await untilListening(floorPort, floor, 'floor.mjs');

interface Row extends WrkResult {
  target: string;
  connections: number;
  cpuMicrosPerRequest: number;
}

const cpuOfThis = () => {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
};

async function measure(
  target: string,
  url: string,
  host: string,
  connections: number,
  cpu: () => number,
  headers: string[],
): Promise<Row> {
  const before = cpu();
  const result = await wrk(url, { host, connections, seconds, threads: 1, headers });
  const used = cpu() - before;
  if (result.errors > 0) throw new Error(`${target}: ${result.errors} errors (non-2xx or socket)`);
  return { target, connections, ...result, cpuMicrosPerRequest: (used * 1e6) / result.requests };
}

const rows: Row[] = [];
const bearer = [`Authorization: Bearer ${token}`];
try {
  for (const connections of connectionCounts) {
    rows.push(
      await measure(
        'front door, no auth',
        `http://127.0.0.1:${port}/`,
        `open.localhost:${port}`,
        connections,
        cpuOfThis,
        [],
      ),
    );
    rows.push(
      await measure(
        'front door, no-op middleware',
        `http://127.0.0.1:${port}/`,
        `chain.localhost:${port}`,
        connections,
        cpuOfThis,
        [],
      ),
    );
    rows.push(
      await measure(
        'front door, auth',
        `http://127.0.0.1:${port}/`,
        closedHost,
        connections,
        cpuOfThis,
        bearer,
      ),
    );
    rows.push(
      await measure(
        'floor: node:http + jwtVerify',
        `http://127.0.0.1:${floorPort}/`,
        closedHost,
        connections,
        () => cpuSecondsOf([floor.pid!]),
        bearer,
      ),
    );
  }
} finally {
  floor.kill();
  await frontdoor.close();
  await manager.stop();
  await provider.close();
  await rm(dataDir, { recursive: true, force: true });
}

if (values.json) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
else {
  const line = (r: Row) =>
    `${r.target.padEnd(31)} c=${String(r.connections).padEnd(3)} ${r.requestsPerSecond.toFixed(0).padStart(7)} req/s  p50 ${r.p50.toFixed(3)} ms  p99 ${r.p99.toFixed(3)} ms  CPU ${r.cpuMicrosPerRequest.toFixed(1)} µs/req`;
  process.stdout.write(`${rows.map(line).join('\n')}\n`);
  for (const connections of connectionCounts) {
    const [open, chain, closed, jose] = rows.filter((r) => r.connections === connections);
    process.stdout.write(
      `c=${connections}: auth adds ${(closed!.p50 - open!.p50).toFixed(3)} ms at p50 (${(closed!.p50 - chain!.p50).toFixed(3)} over a no-op middleware), ${(closed!.p99 - open!.p99).toFixed(3)} ms at p99; CPU/request ${(closed!.cpuMicrosPerRequest - chain!.cpuMicrosPerRequest).toFixed(1)} µs over a no-op middleware, ${(closed!.cpuMicrosPerRequest / jose!.cpuMicrosPerRequest).toFixed(2)}× the floor's\n`,
    );
  }
}
