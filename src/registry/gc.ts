import type { GcInventory, MetadataStore } from './meta/index.js';
import type { BlobStore } from './store/index.js';

export interface GcOptions {
  /** Anything written or referenced more recently than this is kept, whatever else holds. */
  gracePeriodMs: number;
  /** Upload sessions idle longer than this are abandoned. */
  uploadExpiryMs: number;
  dryRun?: boolean;
  now?: number;
}

export interface GcReport {
  dryRun: boolean;
  manifests: { repository: string; digest: string; size: number }[];
  blobs: { digest: string; size: number }[];
  uploads: { id: string; size: number }[];
  bytesFreed: number;
  /** What nothing references but was written or used within the grace period, so it stays this time. */
  keptForGracePeriod: { manifests: number; blobs: number; bytes: number };
}

/**
 * Mark and sweep, through the two stores' interfaces. Marks: tagged manifests, manifests touched
 * within the grace period, what an index marked references, and referrers of marked manifests; every
 * blob a kept manifest references. Sweeps each unmarked item with a conditional delete that re-checks
 * "still old and unreferenced" inside a write transaction, so a push that starts using an item after
 * the mark (it touches the item in its own transaction) always wins: gc then skips it. Uploads being
 * written (leased, in any registry process) are never removed.
 */
export async function collectGarbage(
  meta: MetadataStore,
  store: BlobStore,
  options: GcOptions,
): Promise<GcReport> {
  const now = options.now ?? Date.now();
  const cutoff = now - options.gracePeriodMs;
  const dryRun = options.dryRun ?? false;
  const report: GcReport = {
    dryRun,
    manifests: [],
    blobs: [],
    uploads: [],
    bytesFreed: 0,
    keptForGracePeriod: { manifests: 0, blobs: 0, bytes: 0 },
  };
  const inventory = await meta.gcInventory(cutoff);

  // --- manifests ---
  for (const m of unmarkedManifests(inventory, cutoff)) {
    const removed = dryRun || (await meta.deleteManifest(m.repository, m.digest, cutoff));
    if (removed) {
      report.manifests.push({ repository: m.repository, digest: m.digest, size: m.size });
      report.bytesFreed += m.size;
    }
  }

  // --- blobs ---
  const removedManifests = new Set(report.manifests.map((m) => key(m.repository, m.digest)));
  const known = new Set(inventory.blobs.map((r) => r.digest));
  for (const blob of unusedBlobs(inventory, removedManifests, new Set(inventory.recentlyLinked), cutoff)) {
    const removed =
      dryRun || (await meta.deleteBlobIfUnused(blob.digest, cutoff, () => store.delete(blob.digest)));
    if (removed) {
      report.blobs.push({ digest: blob.digest, size: blob.size });
      report.bytesFreed += blob.size;
    }
  }
  // Bytes in the store with no metadata row: left by a crash between placing and recording.
  const strayKeptByGrace: { digest: string; size: number }[] = [];
  for await (const stored of store.list()) {
    if (known.has(stored.digest)) continue;
    if (stored.modifiedAt.getTime() >= cutoff) {
      if (stored.modifiedAt.getTime() < now) strayKeptByGrace.push(stored);
      continue;
    }
    const removed = dryRun || (await meta.deleteStrayBytes(stored.digest, () => store.delete(stored.digest)));
    if (removed) {
      report.blobs.push({ digest: stored.digest, size: stored.size });
      report.bytesFreed += stored.size;
    }
  }
  // Links to blobs a repository no longer uses (its manifests were deleted): keep listings honest.
  if (!dryRun) await meta.pruneBlobLinks(cutoff);
  if (options.gracePeriodMs > 0)
    report.keptForGracePeriod = keptByGrace(inventory, now, report, strayKeptByGrace);

  // --- abandoned uploads ---
  const uploadCutoff = now - options.uploadExpiryMs;
  const sessions = new Map((await meta.listUploads()).map((u) => [u.id, u]));
  for await (const upload of store.listUploads()) {
    const session = sessions.get(upload.id);
    sessions.delete(upload.id);
    const lastActive = Math.max(session?.touchedAt ?? 0, upload.modifiedAt.getTime());
    const beingWritten = (session?.leasedUntil ?? 0) >= now;
    if (lastActive >= uploadCutoff || beingWritten) continue;
    if (!dryRun) {
      // The session row goes first, and only if still idle: a request that leased it meanwhile wins.
      if (session && !(await meta.deleteUploadIfIdle(upload.id, uploadCutoff, now))) continue;
      await store.deleteUpload(upload.id);
    }
    report.uploads.push({ id: upload.id, size: upload.size });
    report.bytesFreed += upload.size;
  }
  // Sessions whose bytes are gone (their upload file was removed): nothing can complete them.
  for (const orphan of sessions.values())
    if (!dryRun && orphan.touchedAt < uploadCutoff)
      await meta.deleteUploadIfIdle(orphan.id, uploadCutoff, now);
  return report;
}

const key = (repository: string, digest: string) => `${repository}\n${digest}`;

/**
 * The manifests nothing keeps, for a cutoff: marks are the tagged manifests, those touched at or
 * after the cutoff, what an index marked references, and referrers of marked manifests.
 */
function unmarkedManifests(inventory: GcInventory, cutoff: number): GcInventory['manifests'] {
  const children = new Map<string, string[]>();
  for (const e of inventory.refs) {
    if (e.kind !== 'manifest') continue;
    const parent = key(e.repository, e.parent);
    children.set(parent, [...(children.get(parent) ?? []), e.child]);
  }
  const marked = new Set<string>();
  const mark = (repository: string, digest: string) => {
    const stack = [digest];
    while (stack.length > 0) {
      const d = stack.pop()!;
      if (marked.has(key(repository, d))) continue;
      marked.add(key(repository, d));
      stack.push(...(children.get(key(repository, d)) ?? []));
    }
  };
  for (const t of inventory.tagged) mark(t.repository, t.digest);
  for (const m of inventory.manifests) if (m.touchedAt >= cutoff) mark(m.repository, m.digest);
  // Referrers (signatures, SBOMs) live as long as their subject does.
  for (let changed = true; changed;) {
    changed = false;
    for (const m of inventory.manifests) {
      if (m.subject && !marked.has(key(m.repository, m.digest)) && marked.has(key(m.repository, m.subject))) {
        mark(m.repository, m.digest);
        changed = true;
      }
    }
  }
  return inventory.manifests.filter((m) => !marked.has(key(m.repository, m.digest)));
}

/** Blobs no manifest but `removedManifests` references, not linked since the cutoff, not touched since. */
function unusedBlobs(
  inventory: GcInventory,
  removedManifests: Set<string>,
  recentLinks: Set<string>,
  cutoff: number,
): GcInventory['blobs'] {
  const usedBlobs = new Set(
    inventory.refs
      .filter((e) => e.kind === 'blob' && !removedManifests.has(key(e.repository, e.parent)))
      .map((e) => e.child),
  );
  return inventory.blobs.filter(
    (blob) => !usedBlobs.has(blob.digest) && !recentLinks.has(blob.digest) && blob.touchedAt < cutoff,
  );
}

/**
 * What the grace period alone kept: what the same inventory would give up with a cutoff of now (no
 * grace), less what this run removed. Worked out from the inventory this run read, not a second walk.
 */
function keptByGrace(
  inventory: GcInventory,
  now: number,
  report: GcReport,
  strays: { digest: string; size: number }[],
): GcReport['keptForGracePeriod'] {
  const kept = { manifests: 0, blobs: 0, bytes: 0 };
  const removedManifests = new Set(report.manifests.map((m) => key(m.repository, m.digest)));
  const wouldGo = unmarkedManifests(inventory, now);
  for (const m of wouldGo)
    if (!removedManifests.has(key(m.repository, m.digest))) {
      kept.manifests++;
      kept.bytes += m.size;
    }
  const goneWithoutGrace = new Set(wouldGo.map((m) => key(m.repository, m.digest)));
  const removedBlobs = new Set(report.blobs.map((b) => b.digest));
  // Nothing is linked after now: no recent links hold a blob when there is no grace.
  for (const b of [...unusedBlobs(inventory, goneWithoutGrace, new Set(), now), ...strays])
    if (!removedBlobs.has(b.digest)) {
      kept.blobs++;
      kept.bytes += b.size;
    }
  return kept;
}
