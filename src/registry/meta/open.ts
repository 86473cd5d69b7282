import { PostgresMetadataStore } from './postgres.js';
import { SqliteMetadataStore } from './sqlite.js';
import type { MetadataStore } from './types.js';

export type MetadataOptions =
  { driver: 'sqlite'; path: string } | { driver: 'postgres'; url: string; schema: string };

/** Opens (and migrates) the metadata database. */
export async function openMetadataStore(options: MetadataOptions): Promise<MetadataStore> {
  return options.driver === 'sqlite'
    ? SqliteMetadataStore.open(options.path)
    : PostgresMetadataStore.open({ url: options.url, schema: options.schema });
}
