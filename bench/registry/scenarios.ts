import type { Agent } from 'undici';
import {
  agentFor,
  curlBurst,
  listAllTags,
  keepAliveAgent,
  manifestGet,
  manifestHead,
  pullBlob,
  pushBlob,
  putManifest,
  wrk,
  type BlobSource,
} from './client.js';
import { formatSize, imageManifest, jsonBlob, memoryBlob, MiB } from './fixtures.js';
import { measure, sampleRss, settlePageCache, withCpu, type Measurement } from './measure.js';
import type { Profile } from './profile.js';

/** A server under test: a registry (Berth or distribution) or nginx serving the blob files. */
export interface Target {
  name: 'berth' | 'distribution' | 'nginx';
  url: string;
  pid: number;
}

/** One row of the report: a number per target, and which direction is better. */
export interface Row {
  name: string;
  unit: 'ops/s' | 'MiB/s' | 'MiB';
  higherIsBetter: boolean;
  values: Partial<Record<Target['name'], number>>;
  /** p50/p99 in ms per target, for latency rows. */
  latency?: Partial<Record<Target['name'], { p50: number; p99: number }>>;
  /** Compare Berth with nginx too (blob GET rows). */
  vsNginx?: boolean;
  /**
   * CPU the registry process used for the row's work: seconds per GiB moved on MiB/s rows, ms per
   * operation on ops/s rows (nginx's workers are not counted).
   */
  cpu?: Partial<Record<Target['name'], number>>;
}

const GiB = 1024 * MiB;

/** Server CPU per unit of the row's work (see Row.cpu). */
function cpuPerUnit(
  row: Row,
  cpuSeconds: number | undefined,
  ops: number,
  bytes: number,
): number | undefined {
  if (cpuSeconds === undefined) return undefined;
  return row.unit === 'MiB/s' ? cpuSeconds / (bytes / GiB) : (cpuSeconds * 1000) / ops;
}

function recordCpu(row: Row, target: Target, cpu: number | undefined): void {
  if (cpu === undefined || target.name === 'nginx') return;
  (row.cpu ??= {})[target.name] = cpu;
}

export interface BenchContext {
  profile: Profile;
  registries: Target[];
  nginx?: Target;
  /** Blob files on disk, by size: pushed to the registries and served by nginx. */
  files: Map<number, BlobSource & { file: string }>;
  log: (line: string) => void;
}

async function withAgent<T>(connections: number, fn: (agent: Agent) => Promise<T>): Promise<T> {
  const agent = agentFor(connections);
  try {
    return await fn(agent);
  } finally {
    await agent.close();
  }
}

function blobFor(ctx: BenchContext, size: number): BlobSource {
  // Small blobs live in memory (the client then measures the server, not file reads).
  return ctx.files.get(size) ?? memoryBlob(size);
}

export async function pushRows(ctx: BenchContext): Promise<Row[]> {
  const rows: Row[] = [];
  for (const spec of ctx.profile.blobs) {
    const blob = ctx.files.get(spec.size) ?? memoryBlob(spec.size);
    const row: Row = {
      name: `push ${formatSize(spec.size)} blob (c=${spec.pushConcurrency})`,
      unit: spec.size >= MiB ? 'MiB/s' : 'ops/s',
      higherIsBetter: true,
      values: {},
      latency: {},
    };
    for (const target of ctx.registries) {
      // Each push goes to a new repository: the registry must take in and verify every byte again.
      const m = await withAgent(spec.pushConcurrency, (agent) =>
        measure((i) => pushBlob(target.url, `bench/push-${spec.size}-${i < 0 ? `w${-i}` : i}`, blob, agent), {
          ops: spec.pushOps,
          concurrency: spec.pushConcurrency,
          warmup: spec.size >= 64 * MiB ? 0 : Math.min(10, spec.pushOps),
          bytesPerOp: spec.size,
          pid: target.pid,
        }),
      );
      row.values[target.name] = row.unit === 'MiB/s' ? m.bytesPerSec! / MiB : m.opsPerSec;
      row.latency![target.name] = { p50: m.p50Ms, p99: m.p99Ms };
      recordCpu(row, target, cpuPerUnit(row, m.serverCpuSeconds, m.ops, m.ops * spec.size));
      ctx.log(
        `  ${row.name} ${target.name}: ${m.opsPerSec.toFixed(1)} ops/s, ${(m.bytesPerSec! / MiB).toFixed(1)} MiB/s`,
      );
    }
    rows.push(row);
  }
  return rows;
}

export async function pullRows(ctx: BenchContext): Promise<Row[]> {
  const rows: Row[] = [];
  for (const spec of ctx.profile.blobs) {
    const blob = blobFor(ctx, spec.size);
    const row: Row = {
      name: `pull ${formatSize(spec.size)} blob (c=${spec.pullConcurrency})`,
      unit: spec.size >= MiB ? 'MiB/s' : 'ops/s',
      higherIsBetter: true,
      values: {},
      latency: {},
    };
    for (const target of ctx.registries) {
      await withAgent(1, (agent) => pushBlob(target.url, 'bench/data', blob, agent));
      const m = await withAgent(spec.pullConcurrency, (agent) =>
        measure(() => pullBlob(target.url, 'bench/data', blob.digest, blob.size, agent), {
          ops: spec.pullOps,
          concurrency: spec.pullConcurrency,
          warmup: Math.min(5, spec.pullOps),
          bytesPerOp: spec.size,
          pid: target.pid,
        }),
      );
      row.values[target.name] = row.unit === 'MiB/s' ? m.bytesPerSec! / MiB : m.opsPerSec;
      row.latency![target.name] = { p50: m.p50Ms, p99: m.p99Ms };
      recordCpu(row, target, cpuPerUnit(row, m.serverCpuSeconds, m.ops, m.ops * spec.size));
      ctx.log(`  ${row.name} ${target.name}: ${m.opsPerSec.toFixed(1)} ops/s, p99 ${m.p99Ms.toFixed(1)} ms`);
    }
    rows.push(row);
  }
  return rows;
}

function record(row: Row, target: Target, m: Measurement): void {
  row.values[target.name] = m.opsPerSec;
  row.latency![target.name] = { p50: m.p50Ms, p99: m.p99Ms };
  recordCpu(row, target, cpuPerUnit(row, m.serverCpuSeconds, m.ops, 0));
}

/** A small image tagged `v1` in `bench/manifest`, then HEAD and GET by tag. */
export async function manifestRows(ctx: BenchContext): Promise<Row[]> {
  const { manifestOps: ops, manifestConcurrency: c } = ctx.profile;
  const head: Row = {
    name: `manifest HEAD by tag (c=${c})`,
    unit: 'ops/s',
    higherIsBetter: true,
    values: {},
    latency: {},
  };
  const get: Row = {
    name: `manifest GET by tag (c=${c})`,
    unit: 'ops/s',
    higherIsBetter: true,
    values: {},
    latency: {},
  };
  const config = jsonBlob({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } });
  const layer = memoryBlob(1024);
  const manifest = imageManifest(config, layer);
  for (const target of ctx.registries) {
    await withAgent(1, async (agent) => {
      await pushBlob(target.url, 'bench/manifest', config, agent);
      await pushBlob(target.url, 'bench/manifest', layer, agent);
      await putManifest(target.url, 'bench/manifest', 'v1', manifest, agent);
    });
    const headAgent = keepAliveAgent(c);
    try {
      const m = await measure(() => manifestHead(target.url, 'bench/manifest', 'v1', headAgent), {
        ops,
        concurrency: c,
        warmup: 50,
        pid: target.pid,
      });
      record(head, target, m);
    } finally {
      headAgent.destroy();
    }
    record(
      get,
      target,
      await withAgent(c, (agent) =>
        measure(() => manifestGet(target.url, 'bench/manifest', 'v1', agent), {
          ops,
          concurrency: c,
          warmup: 50,
          pid: target.pid,
        }),
      ),
    );
  }
  return [head, get];
}

/** Tags one manifest N times (a row of its own), then lists all N tags. */
export async function tagRows(ctx: BenchContext): Promise<Row[]> {
  const { tags, tagConcurrency: c, listOps } = ctx.profile;
  const tagRow: Row = {
    name: `tag a manifest ${tags} times (PUT by tag, c=${c})`,
    unit: 'ops/s',
    higherIsBetter: true,
    values: {},
    latency: {},
  };
  const listRow: Row = {
    name: `list a repository with ${tags} tags`,
    unit: 'ops/s',
    higherIsBetter: true,
    values: {},
    latency: {},
  };
  const config = jsonBlob({
    architecture: 'amd64',
    os: 'linux',
    rootfs: { type: 'layers', diff_ids: [] },
    tags: true,
  });
  const layer = memoryBlob(512);
  const manifest = imageManifest(config, layer);
  const names = Array.from({ length: tags }, (_, i) => `t${String(i).padStart(5, '0')}`);
  for (const target of ctx.registries) {
    await withAgent(1, async (agent) => {
      await pushBlob(target.url, 'bench/tags', config, agent);
      await pushBlob(target.url, 'bench/tags', layer, agent);
    });
    const put = await withAgent(c, (agent) =>
      measure((i) => putManifest(target.url, 'bench/tags', names[i]!, manifest, agent), {
        ops: tags,
        concurrency: c,
        pid: target.pid,
      }),
    );
    record(tagRow, target, put);
    const list = await withAgent(1, (agent) =>
      measure(
        async () => {
          const listed = await listAllTags(target.url, 'bench/tags', agent);
          if (listed.length !== tags)
            throw new Error(`${target.name} listed ${listed.length} tags, expected ${tags}`);
        },
        { ops: listOps, concurrency: 1, warmup: 1, pid: target.pid },
      ),
    );
    record(listRow, target, list);
    ctx.log(
      `  ${tagRow.name} ${target.name}: ${put.opsPerSec.toFixed(0)} ops/s; list: p50 ${list.p50Ms.toFixed(1)} ms`,
    );
  }
  return [tagRow, listRow];
}

function blobUrl(target: Target, blob: BlobSource): string {
  if (target.name === 'nginx') return `${target.url}/${blob.digest.slice('sha256:'.length)}`;
  return `${target.url}/v2/bench/data/blobs/${blob.digest}`;
}

function withNginx(ctx: BenchContext): Target[] {
  return ctx.nginx ? [...ctx.registries, ctx.nginx] : ctx.registries;
}

async function ensurePushed(ctx: BenchContext, blob: BlobSource): Promise<void> {
  for (const target of ctx.registries) {
    const head = await fetch(blobUrl(target, blob), { method: 'HEAD' });
    if (head.status !== 200) await withAgent(1, (agent) => pushBlob(target.url, 'bench/data', blob, agent));
  }
}

/** Sustained blob GET with wrk: the row nginx (sendfile) sets the ceiling for. */
export async function wrkRow(ctx: BenchContext): Promise<Row> {
  const { wrkSize, wrkConnections, wrkSeconds } = ctx.profile;
  const blob = ctx.files.get(wrkSize)!;
  await ensurePushed(ctx, blob);
  const row: Row = {
    name: `blob GET ${formatSize(wrkSize)}, wrk c=${wrkConnections} ${wrkSeconds}s`,
    unit: 'MiB/s',
    higherIsBetter: true,
    values: {},
    vsNginx: true,
  };
  for (const target of withNginx(ctx)) {
    settlePageCache();
    const { result, cpu } = await withCpu(target.pid, () =>
      wrk(blobUrl(target, blob), wrkConnections, wrkSeconds),
    );
    row.values[target.name] = result.bytesPerSec / MiB;
    recordCpu(row, target, cpuPerUnit(row, cpu, 0, result.bytesPerSec * wrkSeconds));
    ctx.log(`  ${row.name} ${target.name}: ${(result.bytesPerSec / MiB).toFixed(0)} MiB/s`);
  }
  return row;
}

/** N curl clients start pulling the same blob at once; aggregate MiB/s until the last one finished (median of rounds). */
export async function burstRow(ctx: BenchContext): Promise<Row> {
  const { burstClients, burstSize, burstRounds } = ctx.profile;
  const blob = ctx.files.get(burstSize)!;
  await ensurePushed(ctx, blob);
  const row: Row = {
    name: `${burstClients} clients pull one ${formatSize(burstSize)} blob at once`,
    unit: 'MiB/s',
    higherIsBetter: true,
    values: {},
    vsNginx: true,
  };
  for (const target of withNginx(ctx)) {
    const walls: number[] = [];
    settlePageCache();
    const { cpu } = await withCpu(target.pid, async () => {
      for (let round = 0; round < burstRounds; round++)
        walls.push(await curlBurst(blobUrl(target, blob), burstClients, burstSize));
    });
    recordCpu(row, target, cpuPerUnit(row, cpu, 0, burstRounds * burstClients * burstSize));
    walls.sort((a, b) => a - b);
    const median = walls[Math.floor(walls.length / 2)]!;
    row.values[target.name] = (burstClients * burstSize) / MiB / (median / 1000);
    ctx.log(
      `  ${row.name} ${target.name}: all done in ${(median / 1000).toFixed(2)} s (median of ${burstRounds})`,
    );
  }
  return row;
}

/** Peak resident memory of each registry process while N clients pull one big blob. */
export async function rssRow(ctx: BenchContext): Promise<Row> {
  const { rssClients, rssSize } = ctx.profile;
  const blob = ctx.files.get(rssSize)!;
  await ensurePushed(ctx, blob);
  const row: Row = {
    name: `peak RSS while ${rssClients} clients pull one ${formatSize(rssSize)} blob`,
    unit: 'MiB',
    higherIsBetter: false,
    values: {},
  };
  for (const target of ctx.registries) {
    settlePageCache();
    const sampler = sampleRss(target.pid);
    const wall = await curlBurst(blobUrl(target, blob), rssClients, rssSize);
    const rss = sampler.stop();
    row.values[target.name] = rss.maxBytes / MiB;
    ctx.log(
      `  ${row.name} ${target.name}: peak ${(rss.maxBytes / MiB).toFixed(0)} MiB (before: ${(rss.firstBytes / MiB).toFixed(0)} MiB, ${rss.samples} samples, ${(wall / 1000).toFixed(1)} s)`,
    );
  }
  return row;
}
