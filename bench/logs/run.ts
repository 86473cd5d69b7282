// Benchmarks of the log store and live stream. `npm run bench:logs` (full: 10M lines for queries) or
// `npm run bench:logs -- --smoke` (tiny sizes, seconds); `--only ingest` (or `query`, `live`, `backlog`,
// comma-separated) runs just those parts. Prints a report and, last, one JSON line.
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchBacklog } from './backlog.js';
import { benchIngest } from './ingest.js';
import { benchLive } from './live.js';
import { benchQuery } from './query.js';
import { round } from './stats.js';

const args = process.argv.slice(2);
const smoke = args.includes('--smoke');
const option = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const ingestLines = option('ingest-lines', smoke ? 20_000 : 1_000_000);
const queryLines = option('query-lines', smoke ? 20_000 : 10_000_000);
const rounds = option('rounds', smoke ? 5 : 50);
const liveRate = option('live-rate', smoke ? 200 : 2000);
const liveSeconds = option('live-seconds', smoke ? 1 : 10);
const backlogLines = option('backlog-lines', smoke ? 20_000 : 2_000_000);
const backlogQueue = option('backlog-queue', smoke ? 1_000 : 500_000);
const PARTS = ['ingest', 'query', 'live', 'backlog'] as const;
const onlyAt = args.indexOf('--only');
const only = onlyAt >= 0 ? (args[onlyAt + 1] ?? '').split(',') : [...PARTS];
for (const part of only)
  if (!PARTS.includes(part as (typeof PARTS)[number]))
    throw new Error(`--only: expected ${PARTS.join(', ')} (comma-separated), got "${part}"`);
const runs = (part: (typeof PARTS)[number]) => only.includes(part);
const dir = process.env.BERTH_BENCH_DIR ?? join(tmpdir(), 'berth-bench-logs');
mkdirSync(dir, { recursive: true });
const say = (s: string) => process.stderr.write(`${s}\n`);

say(`# Log store benchmark${smoke ? ' (smoke sizes)' : ''}`);
let ingest: Awaited<ReturnType<typeof benchIngest>> | undefined;
if (runs('ingest')) {
  say(`\n## Ingestion: ${ingestLines} lines`);
  ingest = await benchIngest(ingestLines);
  say(
    `  Berth store (level detection + SQLite + FTS5): ${Math.round(ingest.berth)} lines/s  (goal ≥ 200000)`,
  );
  say(`  peer: bare better-sqlite3 insert, no index:     ${Math.round(ingest.peer)} lines/s`);
  say(`  ratio Berth/peer: ${round(ingest.berth / ingest.peer, 2)}`);
  say(
    `  CPU per line (all threads): Berth ${round(ingest.berthCpuMicros, 2)} µs, peer ${round(ingest.peerCpuMicros, 2)} µs`,
  );
}

let query: Awaited<ReturnType<typeof benchQuery>> | undefined;
if (runs('query')) {
  say(`\n## Query latency over ${queryLines} lines (limit 100, ${rounds} rounds each)`);
  query = await benchQuery(queryLines, dir, rounds, say);
  say(`  store size: ${round(query.bytes / 1024 ** 2)} MiB`);
  for (const r of query.results)
    say(
      `  ${r.name.padEnd(42)} p50 ${round(r.p50, 2)} ms  p95 ${round(r.p95, 2)} ms  (${round(r.rows)} rows)`,
    );
}

let live: Awaited<ReturnType<typeof benchLive>> | undefined;
if (runs('live')) {
  say(
    `\n## Live stream latency: child stdout → store → SSE → browser, ${liveRate} lines/s for ${liveSeconds}s`,
  );
  live = await benchLive(liveRate, liveSeconds);
  say(`  client: ${live.client}; ${live.count} lines received`);
  say(`  p50 ${live.p50} ms  p99 ${live.p99} ms  max ${live.max} ms  (goal p99 < 100 ms)`);
}

let backlog: Awaited<ReturnType<typeof benchBacklog>> | undefined;
if (runs('backlog')) {
  say(`\n## Memory with a full queue: ${backlogLines} lines written at once, maxQueue ${backlogQueue}`);
  backlog = await benchBacklog(backlogLines, backlogQueue);
  say(
    `  process RSS: ${round(backlog.restMiB)} MiB at rest, ${round(backlog.peakMiB)} MiB at peak; ${backlog.dropped} lines dropped at the bound`,
  );
}

process.stdout.write(`${JSON.stringify({ smoke, ingest, query, live, backlog })}\n`);
