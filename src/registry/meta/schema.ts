import { sql, type Kysely } from './kysely.js';

/** Times are Unix milliseconds; sizes are bytes. */
export interface Database {
  repositories: { name: string; created_at: number };
  /** Every blob the store holds. `touched_at` is bumped whenever something starts relying on it (gc grace). */
  blobs: { digest: string; size: number; created_at: number; touched_at: number };
  /** Which repositories may serve a blob (it was pushed or mounted there). */
  repo_blobs: { repository: string; digest: string; created_at: number };
  manifests: {
    repository: string;
    digest: string;
    media_type: string;
    artifact_type: string | null;
    subject: string | null;
    annotations: string | null;
    size: number;
    content: Buffer;
    created_at: number;
    touched_at: number;
  };
  /** Edges from a manifest to what it needs: kind 'blob' (config, layers) or 'manifest' (index entries). */
  manifest_refs: { repository: string; parent: string; child: string; kind: 'blob' | 'manifest' };
  tags: { repository: string; tag: string; digest: string; updated_at: number };
  /**
   * Upload sessions, shared by every registry process on the database: the short-chunk mark
   * (`OCI-Chunk-Min-Length`), a write counter, and the write lease that makes one request at a time
   * the writer.
   */
  uploads: {
    id: string;
    repository: string;
    created_at: number;
    touched_at: number;
    short_chunk: number | null;
    generation: number;
    lease_holder: string | null;
    leased_until: number | null;
  };
}

/** Columns added after a table was first created, by table: added to existing databases at start. */
const ADDED_COLUMNS = {
  uploads: [
    ['short_chunk', 'bigint'],
    ['generation', 'bigint not null default 0'],
    ['lease_holder', 'text'],
    ['leased_until', 'bigint'],
  ],
} as const;

/**
 * Creates the tables when missing and adds columns later versions need. Idempotent; run at every
 * start. `columnsOf` lists a table's columns (each dialect asks its own catalogue).
 */
export async function migrate(
  db: Kysely<Database>,
  dialect: 'sqlite' | 'postgres',
  columnsOf: (table: string) => Promise<string[]>,
): Promise<void> {
  const bytes = dialect === 'postgres' ? sql`bytea` : sql`blob`;
  // Listings are in byte order ("ASCIIbetical", as the spec asks); PostgreSQL's default collation
  // would sort by locale rules and ignore punctuation, so names and tags use the C collation there.
  const byteOrder = dialect === 'postgres' ? sql`collate "C"` : sql`collate binary`;
  await db.schema
    .createTable('repositories')
    .ifNotExists()
    .addColumn('name', 'text', (c) => c.primaryKey().modifyEnd(byteOrder))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('blobs')
    .ifNotExists()
    .addColumn('digest', 'text', (c) => c.primaryKey())
    .addColumn('size', 'bigint', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('touched_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('repo_blobs')
    .ifNotExists()
    .addColumn('repository', 'text', (c) => c.notNull())
    .addColumn('digest', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('repo_blobs_pk', ['repository', 'digest'])
    .execute();
  await db.schema.createIndex('repo_blobs_digest').ifNotExists().on('repo_blobs').column('digest').execute();
  await db.schema
    .createTable('manifests')
    .ifNotExists()
    .addColumn('repository', 'text', (c) => c.notNull())
    .addColumn('digest', 'text', (c) => c.notNull())
    .addColumn('media_type', 'text', (c) => c.notNull())
    .addColumn('artifact_type', 'text')
    .addColumn('subject', 'text')
    .addColumn('annotations', 'text')
    .addColumn('size', 'bigint', (c) => c.notNull())
    .addColumn('content', bytes, (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('touched_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('manifests_pk', ['repository', 'digest'])
    .execute();
  await db.schema
    .createIndex('manifests_subject')
    .ifNotExists()
    .on('manifests')
    .columns(['repository', 'subject'])
    .execute();
  await db.schema
    .createTable('manifest_refs')
    .ifNotExists()
    .addColumn('repository', 'text', (c) => c.notNull())
    .addColumn('parent', 'text', (c) => c.notNull())
    .addColumn('child', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('manifest_refs_pk', ['repository', 'parent', 'child'])
    .execute();
  await db.schema
    .createIndex('manifest_refs_child')
    .ifNotExists()
    .on('manifest_refs')
    .columns(['child', 'repository'])
    .execute();
  await db.schema
    .createTable('tags')
    .ifNotExists()
    .addColumn('repository', 'text', (c) => c.notNull())
    .addColumn('tag', 'text', (c) => c.notNull().modifyEnd(byteOrder))
    .addColumn('digest', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('tags_pk', ['repository', 'tag'])
    .execute();
  await db.schema
    .createIndex('tags_digest')
    .ifNotExists()
    .on('tags')
    .columns(['repository', 'digest'])
    .execute();
  await db.schema
    .createTable('uploads')
    .ifNotExists()
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('repository', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('touched_at', 'bigint', (c) => c.notNull())
    .addColumn('short_chunk', 'bigint')
    .addColumn('generation', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('lease_holder', 'text')
    .addColumn('leased_until', 'bigint')
    .execute();
  for (const [table, columns] of Object.entries(ADDED_COLUMNS)) {
    const existing = new Set(await columnsOf(table));
    for (const [name, type] of columns)
      if (!existing.has(name))
        await sql`alter table ${sql.table(table)} add column ${sql.raw(name)} ${sql.raw(type)}`.execute(db);
  }
}
