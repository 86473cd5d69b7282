import { sql } from 'kysely';
import type { MetadataStore } from './meta/store.js';
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
}

/**
 * Mark and sweep. Marks: tagged manifests, manifests touched within the grace period, what an index
 * marked references, and referrers of marked manifests; every blob a kept manifest references.
 * Sweeps each unmarked item with a conditional delete that re-checks "still old and unreferenced"
 * inside a write transaction, so a push that starts using an item after the mark (it touches the
 * item in its own transaction) always wins: gc then skips it.
 */
export async function collectGarbage(
  meta: MetadataStore,
  store: BlobStore,
  options: GcOptions,
): Promise<GcReport> {
  const now = options.now ?? Date.now();
  const cutoff = now - options.gracePeriodMs;
  const dryRun = options.dryRun ?? false;
  const report: GcReport = { dryRun, manifests: [], blobs: [], uploads: [], bytesFreed: 0 };
  const db = meta.db;

  // --- manifests ---
  const manifests = await db
    .selectFrom('manifests')
    .select(['repository', 'digest', 'subject', 'touched_at', 'size'])
    .execute();
  const tagged = await db.selectFrom('tags').select(['repository', 'digest']).distinct().execute();
  const edges = await db
    .selectFrom('manifest_refs')
    .select(['repository', 'parent', 'child', 'kind'])
    .execute();
  const key = (repository: string, digest: string) => `${repository}\n${digest}`;
  const children = new Map<string, string[]>();
  for (const e of edges)
    if (e.kind === 'manifest')
      children.set(key(e.repository, e.parent), [
        ...(children.get(key(e.repository, e.parent)) ?? []),
        e.child,
      ]);
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
  for (const t of tagged) mark(t.repository, t.digest);
  for (const m of manifests) if (m.touched_at >= cutoff) mark(m.repository, m.digest);
  // Referrers (signatures, SBOMs) live as long as their subject does.
  for (let changed = true; changed;) {
    changed = false;
    for (const m of manifests) {
      if (m.subject && !marked.has(key(m.repository, m.digest)) && marked.has(key(m.repository, m.subject))) {
        mark(m.repository, m.digest);
        changed = true;
      }
    }
  }
  for (const m of manifests) {
    if (marked.has(key(m.repository, m.digest))) continue;
    const removed = dryRun || (await deleteManifestIfUnused(meta, m.repository, m.digest, cutoff));
    if (removed) {
      report.manifests.push({ repository: m.repository, digest: m.digest, size: m.size });
      report.bytesFreed += m.size;
    }
  }

  // --- blobs ---
  const removedManifests = new Set(report.manifests.map((m) => key(m.repository, m.digest)));
  const usedBlobs = new Set(
    edges
      .filter((e) => e.kind === 'blob' && !removedManifests.has(key(e.repository, e.parent)))
      .map((e) => e.child),
  );
  const recentLinks = new Set(
    (await db.selectFrom('repo_blobs').select('digest').where('created_at', '>=', cutoff).execute()).map(
      (r) => r.digest,
    ),
  );
  const rows = await db.selectFrom('blobs').select(['digest', 'size', 'touched_at']).execute();
  const known = new Set(rows.map((r) => r.digest));
  for (const blob of rows) {
    if (usedBlobs.has(blob.digest) || recentLinks.has(blob.digest) || blob.touched_at >= cutoff) continue;
    const removed = dryRun || (await deleteBlobIfUnused(meta, store, blob.digest, cutoff));
    if (removed) {
      report.blobs.push({ digest: blob.digest, size: blob.size });
      report.bytesFreed += blob.size;
    }
  }
  // Bytes in the store with no metadata row: left by a crash between placing and recording.
  for await (const stored of store.list()) {
    if (known.has(stored.digest) || stored.modifiedAt.getTime() >= cutoff) continue;
    const removed =
      dryRun ||
      (await meta.write(async (tx) => {
        const row = await tx
          .selectFrom('blobs')
          .select('digest')
          .where('digest', '=', stored.digest)
          .executeTakeFirst();
        return row ? false : store.delete(stored.digest);
      }));
    if (removed) {
      report.blobs.push({ digest: stored.digest, size: stored.size });
      report.bytesFreed += stored.size;
    }
  }
  if (!dryRun) {
    // Links to blobs a repository no longer uses (its manifests were deleted): keep listings honest.
    await db
      .deleteFrom('repo_blobs')
      .where('created_at', '<', cutoff)
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('manifest_refs')
              .select(sql`1`.as('one'))
              .whereRef('manifest_refs.repository', '=', 'repo_blobs.repository')
              .whereRef('manifest_refs.child', '=', 'repo_blobs.digest'),
          ),
        ),
      )
      .execute();
  }

  // --- abandoned uploads ---
  const uploadCutoff = now - options.uploadExpiryMs;
  const sessions = new Map((await meta.listUploads()).map((u) => [u.id, u]));
  for await (const upload of store.listUploads()) {
    const session = sessions.get(upload.id);
    const lastActive = Math.max(session?.touched_at ?? 0, upload.modifiedAt.getTime());
    if (lastActive >= uploadCutoff) continue;
    if (!dryRun) {
      await store.deleteUpload(upload.id);
      await meta.deleteUpload(upload.id);
    }
    report.uploads.push({ id: upload.id, size: upload.size });
    report.bytesFreed += upload.size;
  }
  return report;
}

async function deleteManifestIfUnused(
  meta: MetadataStore,
  repository: string,
  digest: string,
  cutoff: number,
): Promise<boolean> {
  return meta.write(async (tx) => {
    const deleted = await tx
      .deleteFrom('manifests')
      .where('repository', '=', repository)
      .where('digest', '=', digest)
      .where('touched_at', '<', cutoff)
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('tags')
              .select(sql`1`.as('one'))
              .where('tags.repository', '=', repository)
              .where('tags.digest', '=', digest),
          ),
        ),
      )
      .executeTakeFirst();
    if (Number(deleted.numDeletedRows) === 0) return false;
    await tx
      .deleteFrom('manifest_refs')
      .where('repository', '=', repository)
      .where('parent', '=', digest)
      .execute();
    return true;
  });
}

async function deleteBlobIfUnused(
  meta: MetadataStore,
  store: BlobStore,
  digest: string,
  cutoff: number,
): Promise<boolean> {
  return meta.write(async (tx) => {
    const deleted = await tx
      .deleteFrom('blobs')
      .where('digest', '=', digest)
      .where('touched_at', '<', cutoff)
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('manifest_refs')
              .select(sql`1`.as('one'))
              .where('manifest_refs.child', '=', digest)
              .where('manifest_refs.kind', '=', 'blob'),
          ),
        ),
      )
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('repo_blobs')
              .select(sql`1`.as('one'))
              .where('repo_blobs.digest', '=', digest)
              .where('repo_blobs.created_at', '>=', cutoff),
          ),
        ),
      )
      .executeTakeFirst();
    if (Number(deleted.numDeletedRows) === 0) return false;
    await tx.deleteFrom('repo_blobs').where('digest', '=', digest).execute();
    // Inside the transaction: a concurrent upload of the same digest waits for us, then re-creates it.
    await store.delete(digest);
    return true;
  });
}
