import { z } from 'zod';
import { listenSchema, sizeSchema } from './common.js';
import { registryAuthSchema } from './registry-auth.js';

/** `registry:` in berth.yaml. Owned by the registry part; see docs/configuration.md. */
export const registrySchema = z
  .strictObject({
    enabled: z.boolean().default(true),
    listen: listenSchema.default('127.0.0.1:5000'),
    /** Where blobs, uploads and the SQLite metadata live; defaults to `<dataDir>/registry`. */
    dataDir: z.string().optional(),
    maxManifestBytes: sizeSchema.default(4 * 1024 * 1024),
    auth: registryAuthSchema,
  })
  .prefault({});

export type RegistryConfig = z.infer<typeof registrySchema>;
