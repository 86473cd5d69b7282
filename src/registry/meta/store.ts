import type { Statement } from 'better-sqlite3';
import { sql, type Kysely, type Transaction } from 'kysely';
import { OciError } from '../errors.js';
import type { ParsedManifest } from '../manifest.js';
import type { MetadataConnection } from './open.js';
import type { Database } from './schema.js';

export interface ManifestRecord {
  digest: string;
  mediaType: string;
  size: number;
  content: Buffer;
}

export interface ReferrerRecord {
  digest: string;
  mediaType: string;
  size: number;
  artifactType: string | null;
  annotations: Record<string, string> | null;
}

type Db = Kysely<Database> | Transaction<Database>;

/**
 * Every metadata query the registry makes. Writes that gc could race with run in `write`, which
 * serializes them against gc's conditional deletes (SQLite: BEGIN IMMEDIATE; PostgreSQL: row locks
 * taken by UPDATE ... touched_at, see docs/registry.md "Garbage collection").
 */
export class MetadataStore {
  readonly db: Kysely<Database>;
  private readonly tagStatements: Record<string, Statement> = {};
  constructor(private readonly connection: MetadataConnection) {
    this.db = connection.db;
  }

  get dialect(): string {
    return this.connection.dialect;
  }

  async write<T>(fn: (tx: Db) => Promise<T>): Promise<T> {
    if (this.connection.dialect === 'postgres') {
      // Two pushes touching the same blobs in a different order can deadlock; PostgreSQL aborts one
      // transaction, which is then simply run again.
      for (let attempt = 1; ; attempt++) {
        try {
          return await this.db.transaction().execute(fn);
        } catch (error) {
          const code = (error as { code?: string }).code;
          if (attempt >= 5 || (code !== '40P01' && code !== '40001')) throw error;
        }
      }
    }
    return this.db.connection().execute(async (conn) => {
      await sql`begin immediate`.execute(conn);
      try {
        const result = await fn(conn);
        await sql`commit`.execute(conn);
        return result;
      } catch (error) {
        await sql`rollback`.execute(conn).catch(() => {});
        throw error;
      }
    });
  }

  close(): Promise<void> {
    return this.connection.close();
  }

  // --- repositories -------------------------------------------------------------------------

  private async ensureRepository(db: Db, name: string, now: number): Promise<void> {
    await db
      .insertInto('repositories')
      .values({ name, created_at: now })
      .onConflict((oc) => oc.column('name').doNothing())
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

  /** The blob's size when it is linked to `repository` (blobs are served per repository). */
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

  async blobSize(digest: string): Promise<number | undefined> {
    return (await this.db.selectFrom('blobs').select('size').where('digest', '=', digest).executeTakeFirst())
      ?.size;
  }

  /**
   * Records a blob and links it to a repository. `place` (move the verified bytes into the store)
   * runs inside the same transaction, so gc cannot delete the bytes between the two steps.
   */
  async commitBlob(
    repository: string,
    digest: string,
    size: number,
    place: () => Promise<void>,
  ): Promise<void> {
    await this.write(async (tx) => {
      const now = Date.now();
      await tx
        .insertInto('blobs')
        .values({ digest, size, created_at: now, touched_at: now })
        .onConflict((oc) => oc.column('digest').doUpdateSet({ touched_at: now }))
        .execute();
      await place();
      await this.ensureRepository(tx, repository, now);
      await tx
        .insertInto('repo_blobs')
        .values({ repository, digest, created_at: now })
        .onConflict((oc) => oc.columns(['repository', 'digest']).doUpdateSet({ created_at: now }))
        .execute();
    });
  }

  /** Cross-repository mount: links an existing blob; false when the blob is gone. */
  async mountBlob(repository: string, digest: string): Promise<boolean> {
    return this.write(async (tx) => {
      const now = Date.now();
      const touched = await tx
        .updateTable('blobs')
        .set({ touched_at: now })
        .where('digest', '=', digest)
        .executeTakeFirst();
      if (Number(touched.numUpdatedRows) === 0) return false;
      await this.ensureRepository(tx, repository, now);
      await tx
        .insertInto('repo_blobs')
        .values({ repository, digest, created_at: now })
        .onConflict((oc) => oc.columns(['repository', 'digest']).doUpdateSet({ created_at: now }))
        .execute();
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

  async createUpload(id: string, repository: string): Promise<void> {
    const now = Date.now();
    await this.db
      .insertInto('uploads')
      .values({ id, repository, created_at: now, touched_at: now })
      .execute();
  }

  async getUpload(id: string): Promise<{ repository: string } | undefined> {
    return this.db.selectFrom('uploads').select('repository').where('id', '=', id).executeTakeFirst();
  }

  async touchUpload(id: string): Promise<void> {
    await this.db.updateTable('uploads').set({ touched_at: Date.now() }).where('id', '=', id).execute();
  }

  async deleteUpload(id: string): Promise<void> {
    await this.db.deleteFrom('uploads').where('id', '=', id).execute();
  }

  async listUploads(): Promise<{ id: string; repository: string; touched_at: number }[]> {
    return this.db.selectFrom('uploads').select(['id', 'repository', 'touched_at']).execute();
  }

  // --- manifests and tags ---------------------------------------------------------------------

  /**
   * Stores a manifest and (optionally) points tags at it. Every referenced blob and child manifest
   * must already be in the repository; they are touched in the same transaction so gc keeps them.
   */
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
        ...parsed.blobs.map((child) => ({ child, kind: 'blob' as const })),
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

  /** Deletes a manifest and every tag pointing at it. */
  async deleteManifest(repository: string, digest: string): Promise<boolean> {
    return this.write(async (tx) => {
      const deleted = await tx
        .deleteFrom('manifests')
        .where('repository', '=', repository)
        .where('digest', '=', digest)
        .executeTakeFirst();
      if (Number(deleted.numDeletedRows) === 0) return false;
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
    const sqlite = this.connection.sqlite;
    if (sqlite) {
      // A prepared statement returning plain strings lists 10,000 tags in about half the time of
      // the query builder (measured: 2.3 ms vs 4.8 ms), which is most of a tags/list request.
      const statement = (this.tagStatements[`${last !== undefined}${limit !== undefined}`] ??= sqlite
        .prepare(
          `SELECT tag FROM tags WHERE repository = ?${last !== undefined ? ' AND tag > ?' : ''} ORDER BY tag${limit !== undefined ? ' LIMIT ?' : ''}`,
        )
        .pluck());
      return statement.all(
        repository,
        ...(last !== undefined ? [last] : []),
        ...(limit !== undefined ? [limit] : []),
      ) as string[];
    }
    let query = this.db.selectFrom('tags').select('tag').where('repository', '=', repository).orderBy('tag');
    if (last !== undefined) query = query.where('tag', '>', last);
    if (limit !== undefined) query = query.limit(limit);
    return (await query.execute()).map((r) => r.tag);
  }

  /** Manifests whose subject is `subject`, in digest order; `after` and `limit` select one page. */
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
}
