import { resolve } from 'node:path';
import type { RegistryConfig } from '../config/index.js';
import { openMetadataStore, type MetadataStore } from './meta/index.js';
import { createBlobStore, type BlobStore } from './store/index.js';

/** The registry's two stores: blob bytes and metadata, each behind its interface. */
export interface RegistryStorage {
  meta: MetadataStore;
  store: BlobStore;
  close(): Promise<void>;
}

/** Opens the blob store and metadata database the config names (shared by the server and gc). */
export async function openRegistryStorage(config: RegistryConfig, dataDir: string): Promise<RegistryStorage> {
  const metadata = config.metadata;
  const meta = await openMetadataStore(
    metadata.driver === 'postgres'
      ? { driver: 'postgres', url: metadata.url!, schema: metadata.schema }
      : { driver: 'sqlite', path: resolve(dataDir, metadata.path ?? 'registry.sqlite') },
  );
  let store: BlobStore;
  try {
    store = await createBlobStore(config.storage, dataDir);
  } catch (error) {
    await meta.close();
    throw error;
  }
  return {
    meta,
    store,
    async close() {
      await store.close();
      await meta.close();
    },
  };
}
