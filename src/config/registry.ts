import { z } from 'zod';
import { durationSchema, listenSchema, sizeSchema } from './common.js';
import { registryAuthSchema } from './registry-auth.js';

/** Where blob bytes live. `filesystem` is the embedded default; `azure` is for scale-out. */
const storageSchema = z
  .strictObject({
    driver: z.enum(['filesystem', 'azure']).default('filesystem'),
    /** Filesystem driver: folder for blobs and uploads; defaults to `<registry data dir>/blobs`. */
    path: z.string().optional(),
    azure: z
      .strictObject({
        /** A storage connection string (Azurite's works); the account key never appears in logs. */
        connectionString: z.string().optional(),
        /** Container holding blobs and in-progress uploads; created when missing. */
        container: z.string().default('berth-registry'),
        /** Optional prefix inside the container, so several registries can share one. */
        prefix: z.string().default(''),
      })
      .prefault({}),
  })
  .prefault({})
  .superRefine((storage, ctx) => {
    if (storage.driver === 'azure' && !storage.azure.connectionString) {
      ctx.addIssue({
        code: 'custom',
        path: ['azure', 'connectionString'],
        message: 'required when storage.driver is azure',
      });
    }
  });

/** Where repositories, tags, manifests and upload sessions are recorded. */
const metadataSchema = z
  .strictObject({
    driver: z.enum(['sqlite', 'postgres']).default('sqlite'),
    /** SQLite file; defaults to `<registry data dir>/registry.sqlite`. */
    path: z.string().optional(),
    /** PostgreSQL connection URL, e.g. postgres://postgres@127.0.0.1:5432/berth. */
    url: z.string().optional(),
    /** PostgreSQL schema the tables live in (created when missing). */
    schema: z
      .string()
      .regex(/^[a-z_][a-z0-9_]*$/, 'lower-case letters, digits and _')
      .default('berth_registry'),
  })
  .prefault({})
  .superRefine((meta, ctx) => {
    if (meta.driver === 'postgres' && !meta.url)
      ctx.addIssue({ code: 'custom', path: ['url'], message: 'required when metadata.driver is postgres' });
  });

/** A list of regular expressions (JavaScript syntax), each checked when the config is read. */
const patternListSchema = z.array(
  z.string().superRefine((pattern, ctx) => {
    try {
      new RegExp(pattern);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: `not a regular expression: ${(error as Error).message}` });
    }
  }),
);

/**
 * Which URLs a manifest's foreign (non-distributable) layers may name, as distribution's
 * `validation.manifests.urls`: a URL is accepted when it matches an `allow` pattern and no `deny`
 * pattern (patterns are unanchored unless they anchor themselves). The default allows the Microsoft
 * Container Registry, where the foreign base layers of Windows images point; `allow: []` refuses
 * every foreign layer that was not pushed (distribution's default).
 */
const validationSchema = z
  .strictObject({
    manifests: z
      .strictObject({
        urls: z
          .strictObject({
            allow: patternListSchema.default(['^https://mcr\\.microsoft\\.com/']),
            deny: patternListSchema.default([]),
          })
          .prefault({}),
      })
      .prefault({}),
  })
  .prefault({});

/** `registry:` in berth.yaml. Owned by the registry part; see docs/registry.md. */
export const registrySchema = z
  .strictObject({
    enabled: z.boolean().default(true),
    listen: listenSchema.default('127.0.0.1:5000'),
    /** Where blobs, uploads and the SQLite metadata live; defaults to `<dataDir>/registry`. */
    dataDir: z.string().optional(),
    maxManifestBytes: sizeSchema.default(4 * 1024 * 1024),
    storage: storageSchema,
    metadata: metadataSchema,
    uploads: z
      .strictObject({
        /** Sent as OCI-Chunk-Min-Length: clients should send chunks (but the last) at least this big. */
        chunkMinLength: sizeSchema.default(0),
        /** Largest blob accepted; 0 means no limit. */
        maxBlobBytes: sizeSchema.default(0),
        /** Upload sessions idle this long are abandoned and removed by gc. */
        expireAfter: durationSchema.prefault('24h'),
      })
      .prefault({}),
    gc: z
      .strictObject({
        /** Blobs and manifests written or referenced more recently than this are never collected. */
        gracePeriod: durationSchema.prefault('1h'),
      })
      .prefault({}),
    /** Allow DELETE of manifests, tags and blobs. */
    deleteEnabled: z.boolean().default(true),
    validation: validationSchema,
    auth: registryAuthSchema,
  })
  .prefault({});

export type RegistryConfig = z.infer<typeof registrySchema>;
