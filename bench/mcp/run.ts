/**
 * Protocol benchmark: the latency MCP adds to a REST call, and tools/call throughput, for Berth and
 * for @ivotoby/openapi-mcp-server (the peer, Streamable HTTP), side by side on the same OpenAPI
 * document (examples/petstore/openapi.yaml) and the same upstream (the example Petstore).
 *
 * Every server runs in its own process; this process only generates load (undici pools, one
 * keep-alive connection per client). For each concurrency level each target gets the same time:
 *   direct  GET /pet/1 on the Petstore (the baseline)
 *   berth   tools/call getPetById, 2026-07-28 (stateless, per-request _meta and headers)
 *   berth-2025  the same call in the 2025-11-25 era (signed session id)
 *   peer    tools/call on the peer's tool for GET /pet/{petId}, in a session per client
 * Added latency = p50 (or p99) of the MCP call minus the direct one at the same concurrency.
 *
 *   npm run bench:mcp                        1, 16 and 64 clients, 5 s per target and level
 *   npm run bench:mcp -- --seconds 10 --levels 1,16,64
 *   npm run bench:mcp -- --smoke             tiny run (CI smoke test): 1 and 2 clients, 0.3 s
 *   add --json for machine-readable output
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { Pool } from 'undici';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SPEC = join(ROOT, 'examples/petstore/openapi.yaml');

interface Options {
  seconds: number;
  levels: number[];
  json: boolean;
  smoke: boolean;
}

function parseArgs(argv: string[]): Options {
  const options: Options = { seconds: 5, levels: [1, 16, 64], json: false, smoke: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--smoke') Object.assign(options, { smoke: true, seconds: 0.3, levels: [1, 2] });
    else if (arg === '--json') options.json = true;
    else if (arg === '--seconds') options.seconds = Number(argv[++i]);
    else if (arg === '--levels') options.levels = String(argv[++i]).split(',').map(Number);
    else throw new Error(`unknown option ${arg}`);
  }
  if (!(options.seconds > 0) || options.levels.some((l) => !(l >= 1)))
    throw new Error('--seconds and --levels must be positive');
  return options;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const children: ChildProcess[] = [];
const pids = new Map<string, number>();

/**
 * CPU time a process has used (ms), from /proc: unlike latency on a shared machine, CPU per call does
 * not depend on what else is running, so it shows what the MCP layer itself costs.
 */
function cpuMs(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    // utime and stime are fields 14 and 15 of stat (11 and 12 after the command name), in 1/100 s.
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return NaN;
  }
}

/** Starts a process and resolves with the first stdout match of `ready`. */
function launch(
  command: string,
  args: string[],
  ready: RegExp,
  env: Record<string, string> = {},
): Promise<RegExpMatchArray> {
  const child = spawn(command, args, {
    cwd: ROOT,
    env: { ...process.env, BERTH_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  pids.set(args.join(' '), child.pid!);
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(
      () => reject(new Error(`${command} ${args.join(' ')} did not start:\n${out}`)),
      30_000,
    );
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const match = ready.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve(match);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${command} exited with ${code}:\n${out}`)));
  });
}

async function waitForPort(port: number): Promise<void> {
  for (let i = 0; i < 300; i++) {
    try {
      const pool = new Pool(`http://127.0.0.1:${port}`);
      await pool.request({ path: '/', method: 'GET' }).then((r) => r.body.dump());
      await pool.close();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`nothing listening on ${port}`);
}

/** One kind of call: `prepare` runs once per client (a session, say), `call` is what is timed. */
interface Target {
  name: string;
  /** The process answering this target (the MCP server, or the Petstore for direct calls). */
  pid?: number;
  origin: string;
  prepare?: (pool: Pool) => Promise<Record<string, string>>;
  call: (pool: Pool, state: Record<string, string>) => Promise<void>;
}

async function mustRead(response: Awaited<ReturnType<Pool['request']>>, what: string): Promise<string> {
  const text = await response.body.text();
  if (response.statusCode >= 400)
    throw new Error(`${what}: HTTP ${response.statusCode} ${text.slice(0, 200)}`);
  if (text.includes('"error"') && !text.includes('"result"'))
    throw new Error(`${what}: ${text.slice(0, 200)}`);
  if (text.includes('"isError":true')) throw new Error(`${what}: tool error ${text.slice(0, 200)}`);
  return text;
}

const MODERN_META = {
  'io.modelcontextprotocol/protocolVersion': '2026-07-28',
  'io.modelcontextprotocol/clientCapabilities': {},
};
const CALL = { name: 'getPetById', arguments: { petId: 1 } };

function modernTarget(origin: string, path: string): Target {
  const body = JSON.stringify({
    jsonrpc: '2.0',
    id: 1,
    method: 'tools/call',
    params: { ...CALL, _meta: MODERN_META },
  });
  const headers = {
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    'mcp-protocol-version': '2026-07-28',
    'mcp-method': 'tools/call',
    'mcp-name': CALL.name,
  };
  return {
    name: 'berth',
    origin,
    call: async (pool) =>
      void (await mustRead(await pool.request({ path, method: 'POST', headers, body }), 'berth tools/call')),
  };
}

/** A 2025-era client: initialize once per client, then calls with the session id. */
function sessionTarget(name: string, origin: string, path: string, toolName: () => string): Target {
  const base = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
  return {
    name,
    origin,
    async prepare(pool) {
      const init = await pool.request({
        path,
        method: 'POST',
        headers: base,
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 0,
          method: 'initialize',
          params: {
            protocolVersion: '2025-11-25',
            capabilities: {},
            clientInfo: { name: 'bench', version: '1' },
          },
        }),
      });
      await mustRead(init, `${name} initialize`);
      const session = String(init.headers['mcp-session-id'] ?? '');
      const headers: Record<string, string> = { ...base, 'mcp-protocol-version': '2025-11-25' };
      if (session) headers['mcp-session-id'] = session;
      const initialized = await pool.request({
        path,
        method: 'POST',
        headers,
        body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
      });
      await initialized.body.dump();
      return headers;
    },
    async call(pool, headers) {
      const body = JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'tools/call',
        params: { name: toolName(), arguments: CALL.arguments },
      });
      await mustRead(await pool.request({ path, method: 'POST', headers, body }), `${name} tools/call`);
    },
  };
}

interface Row {
  target: string;
  clients: number;
  requests: number;
  rps: number;
  p50: number;
  p99: number;
  /** CPU time the answering server process spent per call (ms). */
  cpuMsPerCall: number;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function measure(target: Target, clients: number, seconds: number): Promise<Row> {
  const pool = new Pool(target.origin, { connections: clients, pipelining: 1, keepAliveTimeout: 60_000 });
  const states = await Promise.all(
    Array.from({ length: clients }, () => target.prepare?.(pool) ?? Promise.resolve({})),
  );
  // Warm-up: JIT, connection setup and schema compilation are not what is measured.
  const warmEnd = performance.now() + Math.min(1000, seconds * 300);
  await Promise.all(
    states.map(async (state) => {
      while (performance.now() < warmEnd) await target.call(pool, state);
    }),
  );
  const latencies: number[] = [];
  const cpuBefore = cpuMs(target.pid);
  const start = performance.now();
  const end = start + seconds * 1000;
  await Promise.all(
    states.map(async (state) => {
      while (performance.now() < end) {
        const t0 = performance.now();
        await target.call(pool, state);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const elapsed = (performance.now() - start) / 1000;
  const cpuUsed = cpuMs(target.pid) - cpuBefore;
  await pool.close();
  latencies.sort((a, b) => a - b);
  return {
    target: target.name,
    clients,
    requests: latencies.length,
    rps: latencies.length / elapsed,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    cpuMsPerCall: cpuUsed / latencies.length,
  };
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const petstore = await launch(
    process.execPath,
    ['--import', 'tsx', 'examples/petstore/main.ts', '0'],
    /listening on (http:\/\/[\d.:]+)/,
  );
  const upstream = petstore[1]!;
  const berth = await launch(
    join(ROOT, 'bin/berth'),
    ['mcp', 'serve', '--spec', SPEC, '--upstream', upstream, '--listen', '127.0.0.1:0', '--output', 'json'],
    /"urls": \[\s*"(http:\/\/127\.0\.0\.1:\d+)(\/mcp)"/,
  );
  const peerPort = await freePort();
  launch(
    process.execPath,
    [
      'node_modules/@ivotoby/openapi-mcp-server/bin/mcp-server.js',
      '--api-base-url',
      upstream,
      '--openapi-spec',
      SPEC,
      '--transport',
      'http',
      '--port',
      String(peerPort),
      '--host',
      '127.0.0.1',
    ],
    /$^/,
  ).catch(() => undefined);
  await waitForPort(peerPort);
  const peerOrigin = `http://127.0.0.1:${peerPort}`;

  // The peer names tools its own way; find the one for GET /pet/{petId}.
  let peerTool = '';
  const probe = sessionTarget('peer', peerOrigin, '/mcp', () => peerTool);
  const probePool = new Pool(peerOrigin);
  const headers = await probe.prepare!(probePool);
  const listed = await probePool.request({
    path: '/mcp',
    method: 'POST',
    headers,
    body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }),
  });
  const listText = await listed.body.text();
  const json = JSON.parse(
    listText.startsWith('{')
      ? listText
      : listText
          .split('\n')
          .find((l) => l.startsWith('data: '))!
          .slice(6),
  ) as {
    result: { tools: Array<{ name: string }> };
  };
  peerTool =
    json.result.tools.map((t) => t.name).find((n) => /pet.?by.?id/i.test(n) && !/delete|update/i.test(n)) ??
    '';
  await probePool.close();
  if (!peerTool)
    throw new Error(
      `the peer has no tool for GET /pet/{petId}: ${json.result.tools.map((t) => t.name).join(', ')}`,
    );

  const pidOf = (fragment: string) => [...pids].find(([args]) => args.includes(fragment))?.[1];
  const targets: Target[] = [
    {
      name: 'direct',
      pid: pidOf('examples/petstore/main.ts'),
      origin: upstream,
      call: async (pool) =>
        void (await mustRead(await pool.request({ path: '/pet/1', method: 'GET' }), 'direct GET')),
    },
    { ...modernTarget(berth[1]!, berth[2]!), pid: pidOf('mcp serve') },
    { ...sessionTarget('berth-2025', berth[1]!, berth[2]!, () => CALL.name), pid: pidOf('mcp serve') },
    { ...sessionTarget('peer', peerOrigin, '/mcp', () => peerTool), pid: pidOf('openapi-mcp-server') },
  ];
  const rows: Row[] = [];
  for (const clients of options.levels) {
    for (const target of targets) rows.push(await measure(target, clients, options.seconds));
  }
  report(rows, options, peerTool);
}

function report(rows: Row[], options: Options, peerTool: string): void {
  const byKey = new Map(rows.map((r) => [`${r.target}@${r.clients}`, r]));
  const summary = options.levels.map((clients) => {
    const direct = byKey.get(`direct@${clients}`)!;
    const line = (name: string) => {
      const row = byKey.get(`${name}@${clients}`)!;
      return { addedP50: row.p50 - direct.p50, addedP99: row.p99 - direct.p99, rps: row.rps };
    };
    const berth = line('berth');
    const peer = line('peer');
    const cpu = (name: string) => byKey.get(`${name}@${clients}`)!.cpuMsPerCall;
    return {
      clients,
      berth,
      berth2025: line('berth-2025'),
      peer,
      throughputRatio: berth.rps / peer.rps,
      // CPU the MCP process spends per call; its inverse bounds throughput on a dedicated core.
      cpuRatio: cpu('peer') / cpu('berth'),
    };
  });
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ rows, summary, peerTool }, null, 2)}\n`);
    return;
  }
  const f = (n: number) => n.toFixed(3).padStart(9);
  console.log(
    `tools/call getPetById vs GET /pet/1 (peer tool: ${peerTool}); ${options.seconds}s per target and level; latency in ms\n`,
  );
  console.log('target       clients  requests     req/s      p50      p99  server CPU ms/call');
  for (const r of rows)
    console.log(
      `${r.target.padEnd(12)} ${String(r.clients).padStart(7)} ${String(r.requests).padStart(9)} ${r.rps.toFixed(0).padStart(9)} ${f(r.p50)} ${f(r.p99)} ${f(r.cpuMsPerCall)}`,
    );
  console.log('\nadded latency over the direct call (ms) and throughput ratio berth / peer');
  console.log(
    'clients  berth p50  berth p99  2025 p50  peer p50   peer p99   berth/peer req/s  peer/berth CPU per call',
  );
  for (const s of summary) {
    console.log(
      `${String(s.clients).padStart(7)} ${f(s.berth.addedP50)}  ${f(s.berth.addedP99)} ${f(s.berth2025.addedP50)} ${f(s.peer.addedP50)}  ${f(s.peer.addedP99)}   ${s.throughputRatio.toFixed(2)}x            ${s.cpuRatio.toFixed(2)}x`,
    );
  }
}

try {
  await main();
} finally {
  for (const child of children) child.kill('SIGTERM');
}
