import { sql, type Kysely, type Transaction } from './kysely.js';
import { OciError } from '../errors.js';
import type { ParsedManifest } from '../manifest.js';
import type { Database } from './schema.js';
import type {
  GcInventory,
  ManifestRecord,
  MetadataDriver,
  MetadataStore,
  ReferrerRecord,
  UploadLease,
  UploadSession,
} from './types.js';

export type Db = Kysely<Database> | Transaction<Database>;

/** Thrown inside `commitBlob`'s transaction to roll it back when the bytes are gone. */
const BYTES_MISSING = Symbol('bytes missing');

type UploadRow = Pick<
  Database['uploads'],
  'id' | 'repository' | 'touched_at' | 'short_chunk' | 'generation' | 'leased_until'
>;
const UPLOAD_COLUMNS = [
  'id',
  'repository',
  'touched_at',
  'short_chunk',
  'generation',
  'leased_until',
] as const;

function session(row: UploadRow): UploadSession {
  return {
    id: row.id,
    repository: row.repository,
    ...(row.short_chunk !== null ? { shortChunk: row.short_chunk } : {}),
    generation: row.generation,
    touchedAt: row.touched_at,
    ...(row.leased_until !== null ? { leasedUntil: row.leased_until } : {}),
  };
}

/**
 * The metadata queries both databases share, written once with Kysely. A driver supplies how a write
 * transaction is taken (`write`: SQLite serializes writers with BEGIN IMMEDIATE, PostgreSQL relies on
 * row locks and retries deadlocks) and may replace a hot query with its own.
 */
export abstract class KyselyMetadataStore implements MetadataStore {
  abstract readonly driver: MetadataDriver;
  constructor(protected readonly db: Kysely<Database>) {}

  /** Runs `fn` in a write transaction that serializes against gc's conditional deletes. */
  protected abstract write<T>(fn: (tx: Db) => Promise<T>): Promise<T>;
  abstract close(): Promise<void>;

  // --- repositories -------------------------------------------------------------------------

  private async ensureRepository(db: Db, name: string, now: number): Promise<void> {
    await db
      .insertInto('repositories')
      .values({ name, created_at: now })
      .onConflict((oc) => oc.column('name').doNothing())
      .execute();
  }

  /** Lets `repository` serve the blob (its link's time keeps gc off it for the grace period). */
  private async link(db: Db, repository: string, digest: string, now: number): Promise<void> {
    await this.ensureRepository(db, repository, now);
    await db
      .insertInto('repo_blobs')
      .values({ repository, digest, created_at: now })
      .onConflict((oc) => oc.columns(['repository', 'digest']).doUpdateSet({ created_at: now }))
      .execute();
  }

  async repositoryExists(name: string): Promise<boolean> {
    return !!(await this.db
      .selectFrom('repositories')
      .select('name')
      .where('name', '=', name)
      .executeTakeFirst());
  }

  async listRepositories(limit: number | undefined, last: string | undefined): Promise<string[]> {
    let query = this.db.selectFrom('repositories').select('name').orderBy('name');
    if (last !== undefined) query = query.where('name', '>', last);
    if (limit !== undefined) query = query.limit(limit);
    return (await query.execute()).map((r) => r.name);
  }

  // --- blobs ----------------------------------------------------------------------------------

  async blobInRepository(repository: string, digest: string): Promise<number | undefined> {
    const row = await this.db
      .selectFrom('repo_blobs')
      .innerJoin('blobs', 'blobs.digest', 'repo_blobs.digest')
      .select('blobs.size')
      .where('repo_blobs.repository', '=', repository)
      .where('repo_blobs.digest', '=', digest)
      .executeTakeFirst();
    return row?.size;
  }

  async commitBlob(
    blob: { repository: string; digest: string; size: number; uploadId?: string },
    bytesPresent: () => Promise<boolean>,
  ): Promise<boolean> {
    const { repository, digest, size, uploadId } = blob;
    try {
      await this.write(async (tx) => {
        const now = Date.now();
        // On PostgreSQL this waits for a gc transaction deleting the same row, then inserts anew.
        const row = await tx
          .insertInto('blobs')
          .values({ digest, size, created_at: now, touched_at: now })
          .onConflict((oc) => oc.column('digest').doUpdateSet({ touched_at: now }))
          .returning('created_at')
          .executeTakeFirstOrThrow();
        // An existing row means the bytes are there (gc removes both together). A new one may follow
        // a gc that removed the bytes this push had just placed: ask the store, under the same lock.
        if (row.created_at === now && !(await bytesPresent())) throw BYTES_MISSING;
        await this.link(tx, repository, digest, now);
        if (uploadId !== undefined) await tx.deleteFrom('uploads').where('id', '=', uploadId).execute();
      });
      return true;
    } catch (error) {
      if (error === BYTES_MISSING) return false;
      throw error;
    }
  }

  async mountBlob(repository: string, digest: string): Promise<boolean> {
    return this.write(async (tx) => {
      const now = Date.now();
      const touched = await tx
        .updateTable('blobs')
        .set({ touched_at: now })
        .where('digest', '=', digest)
        .executeTakeFirst();
      if (Number(touched.numUpdatedRows) === 0) return false;
      await this.link(tx, repository, digest, now);
      return true;
    });
  }

  async unlinkBlob(repository: string, digest: string): Promise<boolean> {
    const result = await this.db
      .deleteFrom('repo_blobs')
      .where('repository', '=', repository)
      .where('digest', '=', digest)
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  // --- uploads --------------------------------------------------------------------------------

  async createUpload(id: string, repository: string, lease?: UploadLease): Promise<void> {
    const now = Date.now();
    await this.db
      .insertInto('uploads')
      .values({
        id,
        repository,
        created_at: now,
        touched_at: now,
        short_chunk: null,
        generation: 0,
        lease_holder: lease?.holder ?? null,
        leased_until: lease?.until ?? null,
      })
      .execute();
  }

  async getUpload(id: string): Promise<UploadSession | undefined> {
    const row = await this.db
      .selectFrom('uploads')
      .select(UPLOAD_COLUMNS)
      .where('id', '=', id)
      .executeTakeFirst();
    return row && session(row);
  }

  async leaseUpload(
    id: string,
    repository: string,
    lease: UploadLease,
  ): Promise<UploadSession | 'busy' | undefined> {
    const now = Date.now();
    const row = await this.db
      .updateTable('uploads')
      .set({ lease_holder: lease.holder, leased_until: lease.until, touched_at: now })
      .where('id', '=', id)
      .where('repository', '=', repository)
      .where((eb) => eb.or([eb('leased_until', 'is', null), eb('leased_until', '<', now)]))
      .returning(UPLOAD_COLUMNS)
      .executeTakeFirst();
    if (row) return session(row);
    const existing = await this.db
      .selectFrom('uploads')
      .select('id')
      .where('id', '=', id)
      .where('repository', '=', repository)
      .executeTakeFirst();
    return existing ? 'busy' : undefined;
  }

  async renewUploadLease(id: string, lease: UploadLease): Promise<boolean> {
    const result = await this.db
      .updateTable('uploads')
      .set({ leased_until: lease.until, touched_at: Date.now() })
      .where('id', '=', id)
      .where('lease_holder', '=', lease.holder)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async releaseUpload(
    id: string,
    holder: string,
    shortChunk: number | undefined,
  ): Promise<number | undefined> {
    const row = await this.db
      .updateTable('uploads')
      .set((eb) => ({
        lease_holder: null,
        leased_until: null,
        touched_at: Date.now(),
        short_chunk: shortChunk ?? null,
        generation: eb('generation', '+', 1),
      }))
      .where('id', '=', id)
      .where('lease_holder', '=', holder)
      .returning('generation')
      .executeTakeFirst();
    return row?.generation;
  }

  async deleteUpload(id: string): Promise<void> {
    await this.db.deleteFrom('uploads').where('id', '=', id).execute();
  }

  async listUploads(): Promise<UploadSession[]> {
    return (await this.db.selectFrom('uploads').select(UPLOAD_COLUMNS).execute()).map(session);
  }

  async deleteUploadIfIdle(id: string, idleBefore: number, now: number): Promise<boolean> {
    const result = await this.db
      .deleteFrom('uploads')
      .where('id', '=', id)
      .where('touched_at', '<', idleBefore)
      .where((eb) => eb.or([eb('leased_until', 'is', null), eb('leased_until', '<', now)]))
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  // --- manifests and tags ---------------------------------------------------------------------

  async putManifest(
    repository: string,
    digest: string,
    parsed: ParsedManifest,
    content: Buffer,
    tags: string[],
  ): Promise<void> {
    await this.write(async (tx) => {
      const now = Date.now();
      const missing: string[] = [];
      if (parsed.blobs.length > 0) {
        const touched = await tx
          .updateTable('blobs')
          .set({ touched_at: now })
          .where('digest', 'in', [...parsed.blobs].sort())
          .returning('digest')
          .execute();
        const linked = new Set(
          (
            await tx
              .selectFrom('repo_blobs')
              .select('digest')
              .where('repository', '=', repository)
              .where('digest', 'in', parsed.blobs)
              .execute()
          ).map((r) => r.digest),
        );
        const present = new Set(touched.map((r) => r.digest));
        missing.push(...parsed.blobs.filter((d) => !present.has(d) || !linked.has(d)));
      }
      if (parsed.manifests.length > 0) {
        const touched = await tx
          .updateTable('manifests')
          .set({ touched_at: now })
          .where('repository', '=', repository)
          .where('digest', 'in', parsed.manifests)
          .returning('digest')
          .execute();
        const present = new Set(touched.map((r) => r.digest));
        missing.push(...parsed.manifests.filter((d) => !present.has(d)));
      }
      if (missing.length > 0) {
        throw new OciError(
          'MANIFEST_BLOB_UNKNOWN',
          `the manifest references ${missing.length} blob(s) or manifest(s) not in repository ${repository}: push them first`,
          {
            detail: { missing: missing.slice(0, 20) },
          },
        );
      }
      // Foreign layers are fetched by clients from their URLs; if they were pushed as well, gc keeps them.
      if (parsed.foreignBlobs.length > 0)
        await tx
          .updateTable('blobs')
          .set({ touched_at: now })
          .where('digest', 'in', [...parsed.foreignBlobs].sort())
          .execute();
      await this.ensureRepository(tx, repository, now);
      await tx
        .insertInto('manifests')
        .values({
          repository,
          digest,
          media_type: parsed.mediaType,
          artifact_type: parsed.artifactType ?? null,
          subject: parsed.subject ?? null,
          annotations: parsed.annotations ? JSON.stringify(parsed.annotations) : null,
          size: content.length,
          content,
          created_at: now,
          touched_at: now,
        })
        .onConflict((oc) => oc.columns(['repository', 'digest']).doUpdateSet({ touched_at: now }))
        .execute();
      const refs = [
        ...[...parsed.blobs, ...parsed.foreignBlobs].map((child) => ({ child, kind: 'blob' as const })),
        ...parsed.manifests.map((child) => ({ child, kind: 'manifest' as const })),
      ];
      if (refs.length > 0) {
        await tx
          .insertInto('manifest_refs')
          .values(refs.map((r) => ({ repository, parent: digest, ...r })))
          .onConflict((oc) => oc.columns(['repository', 'parent', 'child']).doNothing())
          .execute();
      }
      for (const tag of tags) {
        await tx
          .insertInto('tags')
          .values({ repository, tag, digest, updated_at: now })
          .onConflict((oc) => oc.columns(['repository', 'tag']).doUpdateSet({ digest, updated_at: now }))
          .execute();
      }
    });
  }

  async manifestByDigest(repository: string, digest: string): Promise<ManifestRecord | undefined> {
    const row = await this.db
      .selectFrom('manifests')
      .select(['digest', 'media_type', 'size', 'content'])
      .where('repository', '=', repository)
      .where('digest', '=', digest)
      .executeTakeFirst();
    return row && { digest: row.digest, mediaType: row.media_type, size: row.size, content: row.content };
  }

  async manifestByTag(repository: string, tag: string): Promise<ManifestRecord | undefined> {
    const row = await this.db
      .selectFrom('tags')
      .innerJoin('manifests', (join) =>
        join
          .onRef('manifests.repository', '=', 'tags.repository')
          .onRef('manifests.digest', '=', 'tags.digest'),
      )
      .select(['manifests.digest', 'manifests.media_type', 'manifests.size', 'manifests.content'])
      .where('tags.repository', '=', repository)
      .where('tags.tag', '=', tag)
      .executeTakeFirst();
    return row && { digest: row.digest, mediaType: row.media_type, size: row.size, content: row.content };
  }

  async deleteManifest(repository: string, digest: string, unusedBefore?: number): Promise<boolean> {
    return this.write(async (tx) => {
      let query = tx
        .deleteFrom('manifests')
        .where('repository', '=', repository)
        .where('digest', '=', digest);
      if (unusedBefore !== undefined) {
        query = query.where('touched_at', '<', unusedBefore).where(({ not, exists, selectFrom }) =>
          not(
            exists(
              selectFrom('tags')
                .select(sql`1`.as('one'))
                .where('tags.repository', '=', repository)
                .where('tags.digest', '=', digest),
            ),
          ),
        );
      }
      if (Number((await query.executeTakeFirst()).numDeletedRows) === 0) return false;
      await tx.deleteFrom('tags').where('repository', '=', repository).where('digest', '=', digest).execute();
      await tx
        .deleteFrom('manifest_refs')
        .where('repository', '=', repository)
        .where('parent', '=', digest)
        .execute();
      return true;
    });
  }

  async deleteTag(repository: string, tag: string): Promise<boolean> {
    const result = await this.db
      .deleteFrom('tags')
      .where('repository', '=', repository)
      .where('tag', '=', tag)
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  async listTags(repository: string, limit: number | undefined, last: string | undefined): Promise<string[]> {
    let query = this.db.selectFrom('tags').select('tag').where('repository', '=', repository).orderBy('tag');
    if (last !== undefined) query = query.where('tag', '>', last);
    if (limit !== undefined) query = query.limit(limit);
    return (await query.execute()).map((r) => r.tag);
  }

  async referrers(
    repository: string,
    subject: string,
    artifactType: string | undefined,
    page: { after?: string; limit?: number } = {},
  ): Promise<ReferrerRecord[]> {
    let query = this.db
      .selectFrom('manifests')
      .select(['digest', 'media_type', 'size', 'artifact_type', 'annotations'])
      .where('repository', '=', repository)
      .where('subject', '=', subject)
      .orderBy('digest');
    if (artifactType !== undefined) query = query.where('artifact_type', '=', artifactType);
    if (page.after !== undefined) query = query.where('digest', '>', page.after);
    if (page.limit !== undefined) query = query.limit(page.limit);
    return (await query.execute()).map((r) => ({
      digest: r.digest,
      mediaType: r.media_type,
      size: r.size,
      artifactType: r.artifact_type,
      annotations: r.annotations ? (JSON.parse(r.annotations) as Record<string, string>) : null,
    }));
  }

  // --- garbage collection ---------------------------------------------------------------------

  async gcInventory(cutoff: number): Promise<GcInventory> {
    const [manifests, tagged, refs, blobs, recent] = await Promise.all([
      this.db
        .selectFrom('manifests')
        .select(['repository', 'digest', 'subject', 'touched_at', 'size'])
        .execute(),
      this.db.selectFrom('tags').select(['repository', 'digest']).distinct().execute(),
      this.db.selectFrom('manifest_refs').select(['repository', 'parent', 'child', 'kind']).execute(),
      this.db.selectFrom('blobs').select(['digest', 'size', 'touched_at']).execute(),
      this.db.selectFrom('repo_blobs').select('digest').where('created_at', '>=', cutoff).execute(),
    ]);
    return {
      manifests: manifests.map((m) => ({
        repository: m.repository,
        digest: m.digest,
        subject: m.subject,
        touchedAt: m.touched_at,
        size: m.size,
      })),
      tagged,
      refs,
      blobs: blobs.map((b) => ({ digest: b.digest, size: b.size, touchedAt: b.touched_at })),
      recentlyLinked: recent.map((r) => r.digest),
    };
  }

  async deleteBlobIfUnused(
    digest: string,
    unusedBefore: number,
    removeBytes: () => Promise<unknown>,
  ): Promise<boolean> {
    return this.write(async (tx) => {
      const deleted = await tx
        .deleteFrom('blobs')
        .where('digest', '=', digest)
        .where('touched_at', '<', unusedBefore)
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
                .where('repo_blobs.created_at', '>=', unusedBefore),
            ),
          ),
        )
        .executeTakeFirst();
      if (Number(deleted.numDeletedRows) === 0) return false;
      await tx.deleteFrom('repo_blobs').where('digest', '=', digest).execute();
      // Inside the transaction: a push of the same digest waits for it, then finds no row and
      // checks for (and, if need be, places again) its bytes.
      await removeBytes();
      return true;
    });
  }

  async deleteStrayBytes(digest: string, removeBytes: () => Promise<unknown>): Promise<boolean> {
    return this.write(async (tx) => {
      // A placeholder row claims the digest: a push recording it now waits for this transaction,
      // which removes the placeholder again, so the push then sees a new row and checks the bytes.
      const claimed = await tx
        .insertInto('blobs')
        .values({ digest, size: 0, created_at: 0, touched_at: 0 })
        .onConflict((oc) => oc.column('digest').doNothing())
        .returning('digest')
        .executeTakeFirst();
      if (!claimed) return false;
      await removeBytes();
      await tx.deleteFrom('blobs').where('digest', '=', digest).execute();
      return true;
    });
  }

  async pruneBlobLinks(before: number): Promise<void> {
    await this.db
      .deleteFrom('repo_blobs')
      .where('created_at', '<', before)
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
}
