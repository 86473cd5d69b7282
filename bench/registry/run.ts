// The registry benchmark: Berth side by side with Debian's docker-registry (CNCF distribution 2.8) on
// the same machine and disk, nginx (sendfile) as the ceiling for blob GETs. Prints a Markdown table
// with Berth/distribution ratios (> 1 = Berth better).
//   npm run bench:registry                  full run (several minutes, ~3 GiB of temporary disk)
//   npm run bench:registry -- --smoke       tiny sizes, a few ops: proves the harness works
//   options: --targets berth,distribution,nginx   --json <file>   --keep (leave the temp dir)
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
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
import { goalMet, renderTable } from './report.js';
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

const { values: args } = parseArgs({
  options: {
    smoke: { type: 'boolean', default: false },
    targets: { type: 'string', default: 'berth,distribution,nginx' },
    json: { type: 'string' },
    keep: { type: 'boolean', default: false },
  },
});
const profile = args.smoke ? SMOKE : FULL;
const wanted = new Set(args.targets.split(',').map((t) => t.trim()));
const log = (line: string) => process.stderr.write(`${line}\n`);

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
    ...profile.blobs.map((b) => b.size),
    profile.wrkSize,
    profile.burstSize,
    profile.rssSize,
  ]);
  const files = new Map([...sizes].map((size) => [size, writeRandomBlob(blobDir, size)] as const));

  const registries: Target[] = [];
  // distribution first, then Berth: both on the same disk, one at a time per row.
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

  const rows: Row[] = [];
  for (const [title, run] of [
    ['push', () => pushRows(ctx)],
    ['pull', () => pullRows(ctx)],
    ['manifests', () => manifestRows(ctx)],
    ['tags', () => tagRows(ctx)],
    ['blob GET (wrk)', async () => [await wrkRow(ctx)]],
    ['burst', async () => [await burstRow(ctx)]],
    ['memory', async () => [await rssRow(ctx)]],
  ] as const) {
    log(`${title}...`);
    rows.push(...(await run()));
  }

  process.stdout.write(`\n${renderTable(rows)}\n`);
  const judged = rows.filter((r) => goalMet(r) !== undefined);
  const failed = judged.filter((r) => goalMet(r) === false).map((r) => r.name);
  if (judged.length === 0)
    process.stdout.write('\nno goal could be judged (Berth or its peers were not run)\n');
  else
    process.stdout.write(
      failed.length === 0
        ? `\nall ${judged.length} goals met\n`
        : `\ngoals not met (${failed.length} of ${judged.length}): ${failed.join('; ')}\n`,
    );
  if (args.json)
    writeFileSync(
      args.json,
      JSON.stringify({ profile: profile.name, date: new Date().toISOString(), rows }, null, 2),
    );
} catch (error) {
  log(`bench:registry failed: ${(error as Error).stack ?? error}`);
  for (const server of started) log(`--- output of pid ${server.pid}:\n${server.output().slice(-2000)}`);
  exitCode = 1;
} finally {
  for (const server of started.reverse()) await server.stop();
  if (!args.keep) rmSync(work, { recursive: true, force: true });
  else log(`kept ${work}`);
}
process.exit(exitCode);
