// The registry benchmark: Berth side by side with Debian's docker-registry (CNCF distribution 2.8) on
// the same machine and disk, nginx (sendfile) as the ceiling for blob GETs. Prints a Markdown table
// with Berth/distribution ratios (> 1 = Berth better).
//   npm run bench:registry                  full run (several minutes, ~3 GiB of temporary disk)
//   npm run bench:registry -- --smoke       tiny sizes, a few ops: proves the harness works
//   options: --targets berth,distribution,nginx   --only push,pull,manifests,tags,wrk,burst,memory
//            --json <file>   --keep (leave the temp dir)
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  missingTools,
  startBerth,
  startDistribution,
  startNginx,
  type RunningRegistry,
} from '../../test/e2e/helpers/registry-servers.js';
import { writeRandomBlob } from './fixtures.js';
import { FULL, SMOKE } from './profile.js';
import { goalMet, renderCpuTable, renderTable } from './report.js';
import {
  burstRow,
  manifestRows,
  pullRows,
  pushRows,
  rssRow,
  tagRows,
  wrkRow,
  type BenchContext,
  type Row,
  type Target,
} from './scenarios.js';

const GROUPS = ['push', 'pull', 'manifests', 'tags', 'wrk', 'burst', 'memory'] as const;
type Group = (typeof GROUPS)[number];

const { values: args } = parseArgs({
  options: {
    smoke: { type: 'boolean', default: false },
    targets: { type: 'string', default: 'berth,distribution,nginx' },
    only: { type: 'string', default: GROUPS.join(',') },
    json: { type: 'string' },
    keep: { type: 'boolean', default: false },
  },
});
const log = (line: string) => process.stderr.write(`${line}\n`);
const profile = args.smoke ? SMOKE : FULL;
const wanted = new Set(args.targets.split(',').map((t) => t.trim()));
const only = new Set(args.only.split(',').map((g) => g.trim()));
for (const group of only) {
  if (!(GROUPS as readonly string[]).includes(group)) {
    log(`bench:registry: --only takes ${GROUPS.join(',')}; got "${group}"`);
    process.exit(2);
  }
}
const runs = (group: Group) => only.has(group);

const missing = missingTools(
  ...(wanted.has('distribution') ? ['docker-registry'] : []),
  ...(wanted.has('nginx') ? ['nginx'] : []),
  'curl',
  'wrk',
);
if (missing) {
  log(`bench:registry: ${missing}`);
  process.exit(2);
}

const work = mkdtempSync(join(tmpdir(), 'berth-bench-registry-'));
const started: RunningRegistry[] = [];
let exitCode = 0;
try {
  log(`bench:registry (${profile.name}) in ${work}`);
  const blobDir = join(work, 'blobs');
  mkdirSync(blobDir);
  const sizes = new Set([
    ...(runs('push') || runs('pull') ? profile.blobs.map((b) => b.size) : []),
    ...(runs('wrk') ? [profile.wrkSize] : []),
    ...(runs('burst') ? [profile.burstSize] : []),
    ...(runs('memory') ? [profile.rssSize] : []),
  ]);
  const files = new Map([...sizes].map((size) => [size, writeRandomBlob(blobDir, size)] as const));

  const registries: Target[] = [];
  // Both registries keep their data under the same temporary folder, on the same disk.
  if (wanted.has('distribution')) {
    const dist = await startDistribution(join(work, 'distribution'));
    started.push(dist);
    registries.push({ name: 'distribution', url: dist.url, pid: dist.pid });
  }
  if (wanted.has('berth')) {
    const berth = await startBerth(join(work, 'berth'), { env: { BERTH_LOG_LEVEL: 'warn' } });
    started.push(berth);
    registries.push({ name: 'berth', url: berth.url, pid: berth.pid });
  }
  let nginx: Target | undefined;
  if (wanted.has('nginx')) {
    const server = await startNginx(join(work, 'nginx'), blobDir);
    started.push(server);
    nginx = { name: 'nginx', url: server.url, pid: server.pid };
  }
  const ctx: BenchContext = { profile, registries, nginx, files, log };

  const steps: [Group, () => Promise<Row[]>][] = [
    ['push', () => pushRows(ctx)],
    ['pull', () => pullRows(ctx)],
    ['manifests', () => manifestRows(ctx)],
    ['tags', () => tagRows(ctx)],
    ['wrk', async () => [await wrkRow(ctx)]],
    ['burst', async () => [await burstRow(ctx)]],
    ['memory', async () => [await rssRow(ctx)]],
  ];
  const rows: Row[] = [];
  const load: string[] = [];
  for (const [group, step] of steps) {
    if (!runs(group)) continue;
    // The machine is shared: record how busy it was, so the figures can be read in context.
    const busy = loadavg()[0]!.toFixed(1);
    load.push(`${group} ${busy}`);
    log(`${group}... (load average ${busy} on ${cpus().length} cores)`);
    rows.push(...(await step()));
  }

  process.stdout.write(
    `\n${renderTable(rows)}\n\n1-minute load average as each group started (${cpus().length} cores): ${load.join(', ')}\n`,
  );
  process.stdout.write(
    `\nServer CPU per unit of work (user + system, all threads; lower is better):\n\n${renderCpuTable(rows)}\n\n`,
  );
  const judged = rows.filter((r) => goalMet(r) !== undefined);
  const failed = judged.filter((r) => goalMet(r) === false).map((r) => r.name);
  if (judged.length === 0)
    process.stdout.write('no goal could be judged (Berth or its peers were not run)\n');
  else if (failed.length === 0) process.stdout.write(`all ${judged.length} goals met\n`);
  else process.stdout.write(`goals not met (${failed.length} of ${judged.length}): ${failed.join('; ')}\n`);
  if (args.json)
    writeFileSync(
      args.json,
      JSON.stringify({ profile: profile.name, date: new Date().toISOString(), load, rows }, null, 2),
    );
} catch (error) {
  log(`bench:registry failed: ${(error as Error).stack ?? error}`);
  for (const server of started) log(`--- last output of pid ${server.pid}:\n${server.output().slice(-2000)}`);
  exitCode = 1;
} finally {
  for (const server of started.reverse()) await server.stop();
  if (!args.keep) rmSync(work, { recursive: true, force: true });
  else log(`kept ${work}`);
}
process.exit(exitCode);
