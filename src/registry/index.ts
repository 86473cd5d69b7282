import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { RegistryConfig } from '../config/index.js';
import { isLoopbackHost, parseListen, urlFor } from '../lib/listen.js';
import { silentLogger, type Logger } from '../lib/logger.js';
import type { RunningService } from '../lib/service.js';
import { createAccessControl, type AccessControl } from './access/index.js';
import { buildRegistryServer } from './api/app.js';
import { collectGarbage, type GcReport } from './gc.js';
import { openRegistryStorage, type RegistryStorage } from './storage.js';

export type { GcReport } from './gc.js';
export type { BlobBody, BlobStore, ByteRange, StoredBlob, StoredUpload } from './store/index.js';
export { FsBlobStore, createBlobStore } from './store/index.js';
export type { AzureBlobStore } from './store/index.js';
export type {
  GcInventory,
  ManifestRecord,
  MetadataDriver,
  MetadataStore,
  ReferrerRecord,
  UploadLease,
  UploadSession,
} from './meta/index.js';
export { openMetadataStore, type MetadataOptions } from './meta/index.js';
export { openRegistryStorage, type RegistryStorage } from './storage.js';
export { collectGarbage, type GcOptions } from './gc.js';
export { OciError, type OciErrorCode } from './errors.js';
export { parseDigest, digestOf } from './digest.js';
export { validateRepositoryName } from './names.js';
export { MEDIA_TYPES } from './manifest.js';

export interface RegistryOptions {
  config: RegistryConfig;
  /** The registry's own data folder (blobs, uploads, SQLite file): already resolved by the caller. */
  dataDir: string;
  logger?: Logger;
  /** Access control; defaults to `createAccessControl(config.auth)` (open when no htpasswd file is set). */
  access?: AccessControl;
  /** Folder relative paths in the config (htpasswd, signing key) are resolved against; default cwd. */
  baseDir?: string;
  /**
   * Stores to serve from instead of the ones the config names (a caller that wraps or combines
   * them, e.g. several blob backends); closed with the app.
   */
  storage?: RegistryStorage;
}

/** Builds the registry's Fastify app without listening (tests inject or listen on port 0 themselves). */
export async function createRegistryApp(
  options: RegistryOptions,
): Promise<{ app: FastifyInstance; storage: RegistryStorage; close(): Promise<void> }> {
  const storage = options.storage ?? (await openRegistryStorage(options.config, options.dataDir));
  const app = buildRegistryServer({
    config: options.config,
    meta: storage.meta,
    store: storage.store,
    access:
      options.access ??
      createAccessControl(options.config.auth, {
        dataDir: options.dataDir,
        baseDir: options.baseDir,
        logger: options.logger ?? silentLogger,
      }),
    logger: options.logger,
  });
  let closed = false;
  return {
    app,
    storage,
    async close() {
      if (closed) return;
      closed = true;
      await app.close();
      await storage.close();
    },
  };
}

/** Starts the registry on `config.listen` and returns its real URL (the real port when the config asks for 0). */
export async function startRegistry(options: RegistryOptions): Promise<RunningService> {
  const { host, port } = parseListen(options.config.listen);
  const { auth } = options.config;
  if (!options.access && !auth.htpasswd && !auth.open && !isLoopbackHost(host)) {
    throw new Error(
      `registry.listen binds ${host}, which other machines can reach, and registry.auth.htpasswd is not set: ` +
        'anyone could push and delete. Set registry.auth.htpasswd, bind to 127.0.0.1, ' +
        'or set registry.auth.open: true to run an open registry on purpose.',
    );
  }
  const { app, close } = await createRegistryApp(options);
  try {
    await app.listen({ host, port });
  } catch (error) {
    await close();
    throw error;
  }
  const address = app.server.address() as AddressInfo;
  const url = urlFor({ host, port: address.port }, '');
  (options.logger ?? silentLogger).info({ url }, 'registry listening');
  return { name: 'registry', urls: [url], close };
}

/** Garbage collection for `berth registry gc`: opens the same storage as the server and sweeps it. */
export async function runGc(options: {
  config: RegistryConfig;
  dataDir: string;
  dryRun?: boolean;
  gracePeriodMs?: number;
}): Promise<GcReport> {
  const storage = await openRegistryStorage(options.config, options.dataDir);
  try {
    return await collectGarbage(storage.meta, storage.store, {
      gracePeriodMs: options.gracePeriodMs ?? options.config.gc.gracePeriod,
      uploadExpiryMs: options.config.uploads.expireAfter,
      dryRun: options.dryRun,
    });
  } finally {
    await storage.close();
  }
}
