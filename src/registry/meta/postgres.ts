import { Kysely, PostgresDialect, sql } from './kysely.js';
import type pg from 'pg';
import { KyselyMetadataStore, type Db } from './kysely-store.js';
import { migrate, type Database } from './schema.js';

const INT8_OID = 20;

/**
 * Metadata in a PostgreSQL schema (for several registry processes on one database). Writes that gc
 * could race with are serialized by the row locks their UPDATE/INSERT/DELETE statements take; two
 * pushes touching the same blobs in a different order can deadlock, and PostgreSQL then aborts one
 * transaction, which is simply run again.
 */
export class PostgresMetadataStore extends KyselyMetadataStore {
  readonly driver = 'postgres';

  static async open(options: { url: string; schema: string }): Promise<PostgresMetadataStore> {
    // pg is loaded only when used, to keep the default (SQLite) registry small in memory.
    const { default: postgres } = await import('pg');
    const { url, schema } = options;
    // Several processes may start at once: the schema and the tables are created under one advisory
    // lock (CREATE ... IF NOT EXISTS alone races on PostgreSQL's catalogue).
    const setup = new postgres.Client({ connectionString: url });
    await setup.connect();
    try {
      await setup.query('BEGIN');
      await setup.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`berth-registry:${schema}`]);
      await setup.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
      await setup.query('COMMIT');
    } finally {
      await setup.end();
    }
    const pool = new postgres.Pool({
      connectionString: url,
      options: `-c search_path="${schema}"`,
      max: 10,
      // bigint columns hold millisecond times, byte sizes and counters, all well within 2^53.
      types: {
        getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
          oid === INT8_OID
            ? Number
            : postgres.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
      },
    });
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    try {
      await db.transaction().execute(async (tx) => {
        await sql`select pg_advisory_xact_lock(hashtext(${`berth-registry:${schema}`}))`.execute(tx);
        await migrate(tx, 'postgres', async (table) =>
          (
            await sql<{ column_name: string }>`select column_name from information_schema.columns
              where table_schema = current_schema() and table_name = ${table}`.execute(tx)
          ).rows.map((r) => r.column_name),
        );
      });
    } catch (error) {
      await db.destroy();
      throw error;
    }
    return new PostgresMetadataStore(db);
  }

  protected async write<T>(fn: (tx: Db) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.db.transaction().execute(fn);
      } catch (error) {
        const code = (error as { code?: string }).code;
        if (attempt >= 5 || (code !== '40P01' && code !== '40001')) throw error;
      }
    }
  }

  close(): Promise<void> {
    return this.db.destroy();
  }
}
