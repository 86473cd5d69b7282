import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'node:http';
import { createInterface } from 'node:readline';
import type { TestContext } from 'node:test';
import { configSchema, type BerthConfig } from '../../src/config/schema.js';
import { silentLogger } from '../../src/lib/logger.js';
import type { LogInput, LogSink } from '../../src/logs/types.js';
import { createSiteManager, type SiteManager, type SiteStatus } from '../../src/sites/index.js';
import { startFrontdoor, type Frontdoor, type MiddlewareMap } from '../../src/frontdoor/index.js';

export const EXAMPLES = new URL('../../examples/sites/', import.meta.url).pathname;

/** The test's LogSink: collects into an array (the real store belongs to the logs part). */
export class ArraySink implements LogSink {
  lines: LogInput[] = [];
  write(line: LogInput): void {
    this.lines.push(line);
  }
  messages(filter: Partial<LogInput> = {}): string[] {
    return this.lines
      .filter((l) => Object.entries(filter).every(([k, v]) => l[k as keyof LogInput] === v))
      .map((l) => l.message);
  }
}

export function configWith(sites: unknown[], frontdoor: Record<string, unknown> = {}): BerthConfig {
  return configSchema.parse({ sites, frontdoor: { listen: '127.0.0.1:0', ...frontdoor } });
}

export interface Harness {
  manager: SiteManager;
  frontdoor: Frontdoor;
  sink: ArraySink;
  dataDir: string;
  close(): Promise<void>;
}

/** A site manager over `sites` and a front door on an ephemeral port, torn down by close(). */
export async function harness(
  sites: unknown[],
  options: {
    frontdoor?: Record<string, unknown>;
    middlewares?: MiddlewareMap;
    dataDir?: string;
    wait?: boolean;
  } = {},
): Promise<Harness> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'berth-sites-')));
  const sink = new ArraySink();
  const config = configWith(sites, options.frontdoor);
  const manager = createSiteManager({
    config,
    baseDir: EXAMPLES,
    dataDir,
    logSink: sink,
    logger: silentLogger,
    backoffBaseMs: 100,
    backoffMaxMs: 1000,
  });
  await manager.start();
  const frontdoor = await startFrontdoor({
    config: config.frontdoor,
    manager,
    logger: silentLogger,
    middlewares: options.middlewares,
  });
  if (options.wait !== false) await manager.waitUntilReady(20_000);
  return {
    manager,
    frontdoor,
    sink,
    dataDir,
    async close() {
      await frontdoor.close();
      await manager.stop();
      if (!options.dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export const keepAlive = new Agent({ keepAlive: true, maxSockets: 64 });

/** One HTTP request to the front door with a chosen Host header. */
export function call(
  port: number,
  host: string,
  path = '/',
  init: {
    method?: string;
    headers?: Record<string, string>;
    body?: string | Buffer;
    agent?: Agent;
    /**
     * When it fires, the connection is reset (RST), as a client that goes away does. (A FIN alone is
     * a half-close, which HTTP/1.1 allows after a request: the front door still delivers the answer.)
     */
    resetOn?: AbortSignal;
  } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: init.method ?? 'GET',
        headers: { host, ...init.headers },
        agent: init.agent ?? keepAlive,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString(),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    init.resetOn?.addEventListener('abort', () => {
      if (req.socket) req.socket.resetAndDestroy();
      else req.once('socket', (socket) => socket.resetAndDestroy());
    });
    req.end(init.body);
  });
}

export async function until(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export const apiSite = (extra: Record<string, unknown> = {}) => ({
  name: 'api',
  command: 'node server.mjs',
  root: 'api',
  instances: 2,
  stopGracePeriod: '2s',
  ...extra,
});

/**
 * Keeps `workers` clients requesting `path` until stopped; counts every failure (not 200, or an error).
 * `onOk` hears every successful body in the order the answers arrived.
 */
export function loadTest(port: number, host: string, path = '/', workers = 6, onOk?: (body: string) => void) {
  let running = true;
  const stats = { ok: 0, failed: 0, errors: [] as string[], bodies: new Map<string, number>() };
  const loops = Array.from({ length: workers }, async () => {
    while (running) {
      try {
        const reply = await call(port, host, path);
        if (reply.status === 200) {
          stats.ok++;
          onOk?.(reply.body);
          const key = reply.body;
          stats.bodies.set(key, (stats.bodies.get(key) ?? 0) + 1);
        } else {
          stats.failed++;
          if (stats.errors.length < 5) stats.errors.push(`${reply.status} ${reply.body.slice(0, 200)}`);
        }
      } catch (error) {
        stats.failed++;
        if (stats.errors.length < 5) stats.errors.push(String(error));
      }
    }
  });
  return {
    stats,
    async stop() {
      running = false;
      await Promise.all(loops);
      return stats;
    },
  };
}

/** A live process as /proc shows it (read here independently of the code under test). */
export interface LiveProcess {
  pid: number;
  startTime: string;
  env: Map<string, string>;
}

/** Live (not zombie) processes whose environment has `name=value`; e.g. every process of one site. */
export function processesWithEnv(name: string, value: string): LiveProcess[] {
  const found: LiveProcess[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[0] === 'Z' || fields[0] === 'X') continue;
      const env = new Map(
        readFileSync(`/proc/${entry}/environ`, 'utf8')
          .split('\0')
          .filter((kv) => kv.includes('='))
          .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)] as [string, string]),
      );
      if (env.get(name) === value) found.push({ pid: Number(entry), startTime: fields[19]!, env });
    } catch {
      /* gone, or not ours */
    }
  }
  return found;
}

/** Whether the process is still running (same pid and start time, not a zombie). */
export function stillRunning(p: LiveProcess): boolean {
  try {
    const stat = readFileSync(`/proc/${p.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19] === p.startTime && fields[0] !== 'Z' && fields[0] !== 'X';
  } catch {
    return false;
  }
}

const SUPERVISOR = new URL('./fixtures/supervisor.ts', import.meta.url).pathname;

/**
 * Starts the fixture supervisor (a site manager in its own process, test/sites/fixtures/supervisor.ts)
 * and waits for its status line. `exit`: it exits on its own when its stdin closes.
 */
export async function startSupervisor(
  t: TestContext,
  dataDir: string,
  sites: unknown[],
  mode?: 'exit',
): Promise<{ child: ChildProcess; status: SiteStatus[] }> {
  const args = [SUPERVISOR, dataDir, JSON.stringify(sites), ...(mode ? [mode] : [])];
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], {
    stdio: [mode ? 'pipe' : 'ignore', 'pipe', 'pipe'],
  });
  t.after(() => child.kill('SIGKILL'));
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const line = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`supervisor not ready after 40 s: ${stderr}`)), 40_000);
    createInterface({ input: child.stdout! }).once('line', (l) => {
      clearTimeout(timer);
      resolve(l);
    });
    child.once('exit', (code) => reject(new Error(`supervisor exited with ${code}: ${stderr}`)));
  });
  return { child, status: JSON.parse(line) as SiteStatus[] };
}
