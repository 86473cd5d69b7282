import { createRequire } from 'node:module';
import type * as K from 'kysely';

// Kysely through its CommonJS build. Its ESM build is ~1,000 files, which Node's ESM loader opens
// in parallel: at `berth up`'s start, with the other parts loading beside it, that burst alone
// took a 256-descriptor process past its limit (EMFILE). `require` reads them one at a time, and
// measured faster too (72–85 ms against 102–105 ms to load, `node -e`, same machine). Every use of
// Kysely goes through this file, so only one copy of its classes is ever loaded.
const kysely = createRequire(import.meta.url)('kysely') as typeof K;

export const { Kysely, SqliteDialect, PostgresDialect, sql } = kysely;
export type Kysely<DB> = K.Kysely<DB>;
export type Transaction<DB> = K.Transaction<DB>;
