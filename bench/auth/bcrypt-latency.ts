// Issue 10, item 5: what wrong passwords on the console cost every other service in the process.
// A console with an htpasswd file (bcrypt cost 10, htpasswd -B's default) gets 17 wrong-password
// requests a second for 5 s; meanwhile a plain HTTP server in the same process (standing for the
// registry and the front door) is asked every 20 ms and its latency recorded, as is the event loop's
// delay (perf_hooks). `node --import tsx bench/auth/bcrypt-latency.ts` (about 7 s). The failure limit
// is raised out of the way so that every request costs a bcrypt check. Prints a report and one JSON line.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import bcrypt from 'bcryptjs';
import { consoleSchema } from '../../src/config/console.js';
import { startConsole } from '../../src/console/index.js';
import { createLogStore } from '../../src/logs/index.js';
import { logsSchema } from '../../src/config/logs.js';

const RATE = 17;
const SECONDS = 5;
const dir = mkdtempSync(join(tmpdir(), 'berth-bench-bcrypt-'));
const file = join(dir, 'htpasswd');
writeFileSync(file, `ops:${bcrypt.hashSync('correct horse', 10)}\n`);

function get(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    request(url, { headers, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(performance.now() - started));
    })
      .on('error', reject)
      .end();
  });
}

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! * 10) / 10;
};

const store = createLogStore({ dataDir: dir, config: logsSchema.parse({}) });
// The failure limit (where the code has one) is set out of the way: every request costs a check.
const settings = { listen: '127.0.0.1:0', htpasswd: file };
const limited = consoleSchema.safeParse({ ...settings, authFailureLimit: { count: 1_000_000 } });
const config = limited.success ? limited.data : consoleSchema.parse(settings);
const consoleService = await startConsole({ config, logStore: store });
const other = createServer((_req, res) => res.end('ok'));
await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
const otherUrl = `http://127.0.0.1:${(other.address() as AddressInfo).port}/`;
const consoleUrl = `${consoleService.urls[0]!.replace(/\/$/, '')}/api/logs`;
const wrong = {
  authorization: `Basic ${Buffer.from('ops:wrong').toString('base64')}`,
  'x-requested-by': 'berth',
};

async function probe(until: number): Promise<number[]> {
  const latencies: number[] = [];
  while (performance.now() < until) {
    latencies.push(await get(otherUrl));
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return latencies;
}

// Warm up (JIT, first connections), then the idle figure.
await probe(performance.now() + 500);
const idle = await probe(performance.now() + 1000);
const delay = monitorEventLoopDelay({ resolution: 10 });
delay.enable();
const end = performance.now() + SECONDS * 1000;
const attacks: Promise<number>[] = [];
const attacker = setInterval(() => attacks.push(get(consoleUrl, wrong)), 1000 / RATE);
const loaded = await probe(end);
clearInterval(attacker);
delay.disable();
await Promise.all(attacks);

const result = {
  rate: RATE,
  seconds: SECONDS,
  wrongPasswordRequests: attacks.length,
  idle_p50_ms: percentile(idle, 50),
  idle_p99_ms: percentile(idle, 99),
  loaded_p50_ms: percentile(loaded, 50),
  loaded_p99_ms: percentile(loaded, 99),
  loaded_max_ms: percentile(loaded, 100),
  eventLoopDelay_max_ms: Math.round(delay.max / 1e5) / 10,
  eventLoopDelay_p99_ms: Math.round(delay.percentile(99) / 1e5) / 10,
};
console.log(`other service, idle:        p50 ${result.idle_p50_ms} ms, p99 ${result.idle_p99_ms} ms`);
console.log(
  `other service, ${RATE} wrong passwords/s: p50 ${result.loaded_p50_ms} ms, p99 ${result.loaded_p99_ms} ms, max ${result.loaded_max_ms} ms`,
);
console.log(
  `event-loop delay under load: p99 ${result.eventLoopDelay_p99_ms} ms, max ${result.eventLoopDelay_max_ms} ms`,
);
console.log(JSON.stringify(result));
await consoleService.close();
other.close();
await store.close();
rmSync(dir, { recursive: true, force: true });
