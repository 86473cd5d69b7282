import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, sql } from 'kysely';
import { migrate, type Database } from './schema.js';

export type MetadataDialect = 'sqlite' | 'postgres';

export interface MetadataConnection {
  db: Kysely<Database>;
  /** The SQLite handle itself, for the few hot read paths where Kysely's per-row objects cost (tag lists). */
  sqlite?: BetterSqlite3.Database;
  dialect: MetadataDialect;
  close(): Promise<void>;
}

export type MetadataOptions =
  { driver: 'sqlite'; path: string } | { driver: 'postgres'; url: string; schema: string };

const INT8_OID = 20;

/** Opens (and migrates) the metadata database. */
export async function openMetadata(options: MetadataOptions): Promise<MetadataConnection> {
  if (options.driver === 'sqlite') {
    mkdirSync(dirname(options.path), { recursive: true });
    const database = new BetterSqlite3(options.path);
    // WAL lets `berth registry gc` (another process) read while the server writes; busy_timeout
    // makes a writer wait for the other process's transaction instead of failing at once.
    database.pragma('journal_mode = WAL');
    database.pragma('busy_timeout = 10000');
    database.pragma('synchronous = NORMAL');
    const db = new Kysely<Database>({ dialect: new SqliteDialect({ database }) });
    await migrate(db, 'sqlite');
    return { db, sqlite: database, dialect: 'sqlite', close: () => db.destroy() };
  }
  // pg is loaded only when used, to keep the default (SQLite) registry small in memory.
  const { default: pg } = await import('pg');
  const schema = options.schema;
  // Create the schema with a plain connection first: the pool's search_path names it.
  const setup = new pg.Client({ connectionString: options.url });
  await setup.connect();
  try {
    await setup.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
  } finally {
    await setup.end();
  }
  const pool = new pg.Pool({
    connectionString: options.url,
    options: `-c search_path="${schema}"`,
    max: 10,
    // bigint columns hold millisecond times and byte sizes, all well within 2^53.
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === INT8_OID ? Number : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
    },
  });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  await sql`select 1`.execute(db);
  await migrate(db, 'postgres');
  return { db, dialect: 'postgres', close: () => db.destroy() };
}
