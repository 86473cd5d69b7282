/**
 * Conversion benchmark: how long turning an OpenAPI document into MCP tools takes, and the peak memory
 * of the process doing it, for Berth and for @ivotoby/openapi-mcp-server (the peer), side by side.
 *
 * Each measurement runs in a fresh child process (so peak RSS is that conversion's alone) and covers
 * reading the file, parsing it and building every tool (Berth also computes the list's SHA-256).
 *
 *   npm run bench:mcp:convert                         GitHub's document (@octokit/openapi), 3 runs each
 *   npm run bench:mcp:convert -- --spec FILE --runs 5
 *   npm run bench:mcp:convert -- --smoke              the Petstore example, 1 run (CI smoke test)
 */
import { spawnSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

interface Measurement {
  impl: string;
  ms: number;
  /** CPU time (user + system) of the conversion: far less sensitive than wall time to a busy machine. */
  cpuMs: number;
  tools: number;
  peakRssMiB: number;
}

interface PeerModule {
  OpenAPISpecLoader: new (config: object) => {
    loadOpenAPISpec(path: string, method: 'file'): Promise<object>;
    parseOpenAPISpec(document: object): Map<string, unknown>;
  };
}

const GOAL_MS = 2000;
const GOAL_MIB = 300;
const require = createRequire(import.meta.url);
const self = fileURLToPath(import.meta.url);

async function child(impl: string, spec: string): Promise<void> {
  // Load the code first, so module loading is not counted as conversion time.
  const berth = await import('../../src/mcp/openapi/index.js');
  // The peer's .d.ts files use extensionless relative imports that NodeNext cannot follow: typed here.
  const peer =
    impl === 'peer' ? ((await import('@ivotoby/openapi-mcp-server')) as unknown as PeerModule) : undefined;
  const started = performance.now();
  const cpuStart = process.cpuUsage();
  let tools = 0;
  if (impl === 'berth') {
    const { document } = await berth.loadSpec(spec);
    tools = berth.buildCatalog(document, { upstream: 'http://127.0.0.1:8080' }).tools.length;
  } else if (impl === 'peer' && peer) {
    const loader = new peer.OpenAPISpecLoader({});
    const document = await loader.loadOpenAPISpec(spec, 'file');
    tools = loader.parseOpenAPISpec(document).size;
  } else {
    await readFile(spec); // baseline: the runtime and modules alone
  }
  const ms = performance.now() - started;
  const cpu = process.cpuUsage(cpuStart);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  const peakRssMiB = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(JSON.stringify({ impl, ms, cpuMs, tools, peakRssMiB } satisfies Measurement) + '\n');
}

function measure(impl: string, spec: string): Measurement {
  const result = spawnSync(process.execPath, ['--import', 'tsx', self, '--child', impl, spec], {
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  });
  if (result.status !== 0) throw new Error(`${impl} run failed: ${result.stderr.slice(-2000)}`);
  const line = result.stdout.trim().split('\n').pop()!;
  return JSON.parse(line) as Measurement;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args[0] === '--child') return child(args[1]!, args[2]!);
  const smoke = args.includes('--smoke');
  const option = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const spec =
    option('--spec') ??
    (smoke
      ? fileURLToPath(new URL('../../examples/petstore/openapi.yaml', import.meta.url))
      : join(require.resolve('@octokit/openapi/package.json'), '..', 'generated', 'api.github.com.json'));
  const runs = Number(option('--runs') ?? (smoke ? 1 : 3));
  const impls = args.includes('--no-peer') ? ['baseline', 'berth'] : ['baseline', 'berth', 'peer'];

  console.log(
    `load average at start: ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')} on ${cpus().length} CPUs`,
  );
  console.log(`spec: ${spec}\nruns: ${runs} per implementation (median shown), each in a fresh process`);
  const rows: Record<string, Measurement> = {};
  for (const impl of impls) {
    const samples = Array.from({ length: runs }, () => measure(impl, spec));
    rows[impl] = {
      impl,
      tools: samples[0]!.tools,
      ms: median(samples.map((s) => s.ms)),
      cpuMs: median(samples.map((s) => s.cpuMs)),
      peakRssMiB: median(samples.map((s) => s.peakRssMiB)),
    };
  }
  console.log('\nimplementation    tools   wall (ms)    CPU (ms)   peak RSS (MiB)');
  for (const row of Object.values(rows)) {
    console.log(
      `${row.impl.padEnd(16)} ${String(row.tools).padStart(6)} ${row.ms.toFixed(0).padStart(11)} ${row.cpuMs.toFixed(0).padStart(11)} ${row.peakRssMiB.toFixed(0).padStart(16)}`,
    );
  }
  const berth = rows.berth!;
  if (rows.peer) {
    console.log(
      `\nratio peer/berth: wall ${(rows.peer.ms / berth.ms).toFixed(2)}x, CPU ${(rows.peer.cpuMs / berth.cpuMs).toFixed(2)}x, peak RSS ${(rows.peer.peakRssMiB / berth.peakRssMiB).toFixed(2)}x`,
    );
  }
  const met = berth.ms < GOAL_MS && berth.peakRssMiB < GOAL_MIB;
  console.log(`goal (< ${GOAL_MS} ms, < ${GOAL_MIB} MiB peak RSS): ${met ? 'met' : 'MISSED'}`);
  console.log(JSON.stringify({ spec, runs, results: rows, goalMet: met }));
}

await main();
