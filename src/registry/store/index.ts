import { resolve } from 'node:path';
import type { RegistryConfig } from '../../config/index.js';
import { FsBlobStore } from './fs.js';
import type { BlobStore } from './types.js';

export type { BlobBody, BlobStore, ByteRange, StoredBlob, StoredUpload } from './types.js';
export { FsBlobStore } from './fs.js';
export type { AzureBlobStore } from './azure.js';
export { SizeLimitError } from './types.js';

/** The blob store the config names; relative paths are under the registry's data dir. */
export async function createBlobStore(
  storage: RegistryConfig['storage'],
  dataDir: string,
): Promise<BlobStore> {
  if (storage.driver === 'azure') {
    // Loaded only when used: the Azure SDK adds ~30 MiB to the resident size of every registry.
    const { AzureBlobStore } = await import('./azure.js');
    return new AzureBlobStore({
      connectionString: storage.azure.connectionString!,
      container: storage.azure.container,
      prefix: storage.azure.prefix,
    }).init();
  }
  return new FsBlobStore(resolve(dataDir, storage.path ?? 'blobs')).init();
}
