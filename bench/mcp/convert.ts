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
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import type { ToolCatalog } from '../../src/mcp/types.js';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

interface Served {
  /** The first tools/list page over HTTP, from request to last byte (ms). */
  firstPageMs: number;
  /** Every page, one after another (ms). */
  wholeListMs: number;
  pages: number;
  /** The whole list as JSON (bytes, summed over pages), and as sent with Accept-Encoding: gzip. */
  listBytes: number;
  gzipBytes: number;
}

interface Measurement {
  impl: string;
  served?: Served;
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
const GOAL_FIRST_PAGE_MS = 100;
const GOAL_LIST_BYTES = 20e6;
const require = createRequire(import.meta.url);
const self = fileURLToPath(import.meta.url);

/**
 * Serves the catalog with the real handler on loopback and reads every tools/list page as a client
 * would (2026-07-28, Accept-Encoding: gzip), counting bytes on the wire and decoded.
 */
async function serveList(catalog: ToolCatalog): Promise<Served> {
  const { createMcpHandler } = await import('../../src/mcp/index.js');
  const pageSize = process.env.BENCH_PAGE_SIZE ? Number(process.env.BENCH_PAGE_SIZE) : undefined;
  const handler = createMcpHandler({ catalog, pageSize });
  const server = createServer((req, res) => void handler.handle(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const page = (cursor?: string) =>
    new Promise<{ wire: number; json: { result: { tools: unknown[]; nextCursor?: string } }; bytes: number }>(
      (resolve, reject) => {
        const body = JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method: 'tools/list',
          params: {
            ...(cursor ? { cursor } : {}),
            _meta: {
              'io.modelcontextprotocol/protocolVersion': '2026-07-28',
              'io.modelcontextprotocol/clientCapabilities': {},
            },
          },
        });
        const req = request(
          {
            host: '127.0.0.1',
            port,
            path: '/',
            method: 'POST',
            headers: {
              'content-type': 'application/json',
              accept: 'application/json, text/event-stream',
              'accept-encoding': 'gzip',
              'mcp-protocol-version': '2026-07-28',
              'mcp-method': 'tools/list',
            },
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => {
              const wire = Buffer.concat(chunks);
              const text = res.headers['content-encoding'] === 'gzip' ? gunzipSync(wire) : wire;
              resolve({ wire: wire.length, bytes: text.length, json: JSON.parse(text.toString('utf8')) });
            });
          },
        );
        req.on('error', reject);
        req.end(body);
      },
    );
  const started = performance.now();
  let answer = await page();
  const firstPageMs = performance.now() - started;
  let pages = 1;
  let listBytes = answer.bytes;
  let gzipBytes = answer.wire;
  while (answer.json.result.nextCursor) {
    answer = await page(answer.json.result.nextCursor);
    pages += 1;
    listBytes += answer.bytes;
    gzipBytes += answer.wire;
  }
  const wholeListMs = performance.now() - started;
  await handler.close();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return { firstPageMs, wholeListMs, pages, listBytes, gzipBytes };
}

async function child(impl: string, spec: string, serve: boolean): Promise<void> {
  // Load the code first, so module loading is not counted as conversion time.
  const berth = await import('../../src/mcp/openapi/index.js');
  // The peer's .d.ts files use extensionless relative imports that NodeNext cannot follow: typed here.
  const peer =
    impl === 'peer' ? ((await import('@ivotoby/openapi-mcp-server')) as unknown as PeerModule) : undefined;
  const started = performance.now();
  const cpuStart = process.cpuUsage();
  let tools = 0;
  let catalog: ToolCatalog | undefined;
  if (impl === 'berth') {
    const { document } = await berth.loadSpec(spec);
    catalog = berth.buildCatalog(document, { upstream: 'http://127.0.0.1:8080' });
    tools = catalog.tools.length;
  } else if (impl === 'peer' && peer) {
    const loader = new peer.OpenAPISpecLoader({});
    const document = await loader.loadOpenAPISpec(spec, 'file');
    tools = loader.parseOpenAPISpec(document).size;
  } else {
    await readFile(spec); // baseline: the runtime and modules alone
  }
  const ms = performance.now() - started;
  const cpu = process.cpuUsage(cpuStart);
  // Served after the conversion is timed; the peak RSS below covers both.
  const served = catalog && serve ? await serveList(catalog) : undefined;
  const cpuMs = (cpu.user + cpu.system) / 1000;
  const peakRssMiB = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(
    JSON.stringify({ impl, ms, cpuMs, tools, peakRssMiB, served } satisfies Measurement) + '\n',
  );
}

function measure(impl: string, spec: string, serve: boolean): Measurement {
  const result = spawnSync(
    process.execPath,
    ['--import', 'tsx', self, '--child', impl, spec, String(serve)],
    {
      encoding: 'utf8',
      maxBuffer: 1 << 20,
    },
  );
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
  if (args[0] === '--child') return child(args[1]!, args[2]!, args[3] === 'true');
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
  // Berth also serves the list over HTTP in the same process (pages, gzip), unless --no-serve.
  const serve = !args.includes('--no-serve');

  console.log(
    `load average at start: ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')} on ${cpus().length} CPUs`,
  );
  console.log(`spec: ${spec}\nruns: ${runs} per implementation (median shown), each in a fresh process`);
  const rows: Record<string, Measurement> = {};
  for (const impl of impls) {
    const samples = Array.from({ length: runs }, () => measure(impl, spec, serve));
    const served = samples.map((s) => s.served).filter((s): s is Served => s !== undefined);
    rows[impl] = {
      impl,
      tools: samples[0]!.tools,
      ms: median(samples.map((s) => s.ms)),
      cpuMs: median(samples.map((s) => s.cpuMs)),
      peakRssMiB: median(samples.map((s) => s.peakRssMiB)),
      ...(served.length > 0
        ? {
            served: {
              firstPageMs: median(served.map((s) => s.firstPageMs)),
              wholeListMs: median(served.map((s) => s.wholeListMs)),
              pages: served[0]!.pages,
              listBytes: served[0]!.listBytes,
              gzipBytes: served[0]!.gzipBytes,
            },
          }
        : {}),
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
  if (berth.served) {
    const s = berth.served;
    console.log(
      `\nserved (Berth, same process, 2026-07-28, Accept-Encoding: gzip): first page ${s.firstPageMs.toFixed(0)} ms, whole list ${s.wholeListMs.toFixed(0)} ms in ${s.pages} pages, ${(s.listBytes / 1e6).toFixed(1)} MB of JSON, ${(s.gzipBytes / 1e6).toFixed(1)} MB on the wire`,
    );
  }
  const servedMet =
    !berth.served ||
    (berth.served.firstPageMs < GOAL_FIRST_PAGE_MS && berth.served.gzipBytes < GOAL_LIST_BYTES);
  const met = berth.ms < GOAL_MS && berth.peakRssMiB < GOAL_MIB && servedMet;
  console.log(
    `goal (< ${GOAL_MS} ms, < ${GOAL_MIB} MiB peak RSS${berth.served ? `, first page < ${GOAL_FIRST_PAGE_MS} ms, list < ${GOAL_LIST_BYTES / 1e6} MB on the wire` : ''}): ${met ? 'met' : 'MISSED'}`,
  );
  console.log(JSON.stringify({ spec, runs, results: rows, goalMet: met }));
}

await main();
