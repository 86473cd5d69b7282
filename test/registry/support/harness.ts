import { mkdtempSync, rmSync } from 'node:fs';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { registrySchema, type RegistryConfig } from '../../../src/config/registry.js';
import { createRegistryApp, openRegistryStorage, type RegistryStorage } from '../../../src/registry/index.js';
import { allowAll, type AccessControl } from '../../../src/registry/access/index.js';
import type { describe as describeFn } from 'node:test';
import { startAzurite, type Azurite } from './azurite.js';

type DescribeFn = typeof describeFn;
import { dropSchema, postgresUnavailable, POSTGRES_URL, throwawaySchema } from './postgres.js';

export interface DriverCombo {
  name: string;
  storage: 'filesystem' | 'azure';
  metadata: 'sqlite' | 'postgres';
}

/** Every storage × metadata combination; the same suites run against each. */
export const COMBOS: DriverCombo[] = [
  { name: 'filesystem+sqlite', storage: 'filesystem', metadata: 'sqlite' },
  { name: 'filesystem+postgres', storage: 'filesystem', metadata: 'postgres' },
  { name: 'azure+sqlite', storage: 'azure', metadata: 'sqlite' },
  { name: 'azure+postgres', storage: 'azure', metadata: 'postgres' },
];

export interface TestRegistry {
  url: string;
  config: RegistryConfig;
  dataDir: string;
  storage: RegistryStorage;
  /**
   * Runs one SQL statement on the registry's metadata database behind its back, with `$1`, `$2`…
   * parameters (what a test does to age rows, as waiting an hour would). Returns the rows.
   */
  sql(statement: string, params?: unknown[]): Promise<Record<string, unknown>[]>;
  close(): Promise<void>;
}

/** Raw SQL against a combo's metadata database (see TestRegistry.sql). */
export async function rawSql(
  config: RegistryConfig,
  dataDir: string,
  statement: string,
  params: unknown[] = [],
): Promise<Record<string, unknown>[]> {
  if (config.metadata.driver === 'postgres') {
    const client = new pg.Client({ connectionString: config.metadata.url });
    await client.connect();
    try {
      await client.query(`set search_path = "${config.metadata.schema}"`);
      return (await client.query(statement, params)).rows as Record<string, unknown>[];
    } finally {
      await client.end();
    }
  }
  const db = new BetterSqlite3(join(dataDir, config.metadata.path ?? 'registry.sqlite'));
  try {
    db.pragma('busy_timeout = 10000');
    const prepared = db.prepare(statement.replace(/\$\d+/g, '?'));
    return prepared.reader
      ? (prepared.all(...params) as Record<string, unknown>[])
      : (prepared.run(...params), []);
  } finally {
    db.close();
  }
}

let azurite: Promise<Azurite> | undefined;
/** One Azurite per test file, stopped by `stopSharedServices`. */
export function sharedAzurite(): Promise<Azurite> {
  azurite ??= startAzurite();
  return azurite;
}

export async function stopSharedServices(): Promise<void> {
  if (azurite) await (await azurite).stop();
  azurite = undefined;
}

/** Why a combination cannot run here (undefined when it can). */
export async function comboUnavailable(combo: DriverCombo): Promise<string | undefined> {
  return combo.metadata === 'postgres' ? postgresUnavailable() : undefined;
}

/** A registry on 127.0.0.1:0 with fresh storage for `combo`. */
export async function startTestRegistry(
  combo: DriverCombo,
  overrides: Record<string, unknown> = {},
  access: AccessControl = allowAll(),
  /** Wraps the stores the config opens before the registry serves from them (fault injection). */
  wrap?: (storage: RegistryStorage) => RegistryStorage,
): Promise<TestRegistry> {
  const dataDir = mkdtempSync(join(tmpdir(), 'berth-registry-test-'));
  const schema = throwawaySchema();
  const raw: Record<string, unknown> = { listen: '127.0.0.1:0', ...overrides };
  if (combo.metadata === 'postgres') raw.metadata = { driver: 'postgres', url: POSTGRES_URL, schema };
  if (combo.storage === 'azure') {
    const { connectionString } = await sharedAzurite();
    raw.storage = {
      driver: 'azure',
      azure: { connectionString, container: `t${schema.replaceAll('_', '')}`.slice(0, 60) },
    };
  }
  const config = registrySchema.parse(raw);
  const opened = wrap ? wrap(await openRegistryStorage(config, dataDir)) : undefined;
  const { app, storage, close } = await createRegistryApp({ config, dataDir, access, storage: opened });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    config,
    dataDir,
    storage,
    sql: (statement, params) => rawSql(config, dataDir, statement, params),
    async close() {
      await close();
      if (combo.metadata === 'postgres') await dropSchema(schema);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Runs `suite` once per driver combination, each against its own fresh registry. A combination that
 * cannot run here (PostgreSQL down) is skipped with the reason; CI has them all.
 */
export async function forEachCombo(
  describe: DescribeFn,
  suite: (get: () => TestRegistry, combo: DriverCombo) => void,
  overrides: Record<string, unknown> = {},
): Promise<void> {
  const { before, after } = await import('node:test');
  const reasons = await Promise.all(COMBOS.map(comboUnavailable));
  after(stopSharedServices);
  COMBOS.forEach((combo, i) => {
    describe(combo.name, { skip: reasons[i] }, () => {
      let registry: TestRegistry | undefined;
      before(async () => {
        registry = await startTestRegistry(combo, overrides);
      });
      after(async () => registry?.close());
      suite(() => registry!, combo);
    });
  });
}
