import { z } from 'zod';
import { durationSchema, failureLimitSchema } from './common.js';

const actionSchema = z.enum(['pull', 'push', 'delete']);

/** One grant: these users may do these actions on repositories matching these patterns. */
const permissionSchema = z.strictObject({
  /** User names from the htpasswd file; `*` means every authenticated user. */
  users: z.array(z.string().min(1)).min(1),
  /** Repository names or patterns; `*` matches any run of characters, `/` included (`team/*`, `*`). */
  repositories: z.array(z.string().min(1)).min(1),
  actions: z.array(actionSchema).min(1),
});

/** Docker token authentication: the registry answers `Bearer realm=...` and serves the token endpoint. */
const tokenSchema = z
  .strictObject({
    /** `iss` of the tokens; verified on every request. */
    issuer: z.string().min(1).default('berth'),
    /** `service` in the challenge and `aud` of the tokens. */
    service: z.string().min(1).default('berth-registry'),
    /** How long an issued token is valid. Short: clients fetch a new one per operation anyway. */
    expiry: durationSchema.default(5 * 60_000),
    /**
     * PEM (PKCS#8) private key that signs the tokens. Relative to the config file's folder. When unset,
     * `<registry data dir>/token-signing-key.pem` is used and generated (EC P-256) on first start.
     */
    signingKey: z.string().optional(),
    /**
     * Absolute URL of the token endpoint announced in the challenge. Unset: built from the request's
     * Host header, `http://<host>/auth/token` (set it when the registry sits behind a TLS proxy).
     */
    realm: z.url().optional(),
    /**
     * Build the default realm from `Forwarded` / `X-Forwarded-Host` / `X-Forwarded-Proto` instead of
     * the Host header. Off by default: any client can send those headers, and a realm taken from them
     * (cached by a proxy, say) would send other clients' passwords to a host of the sender's choosing.
     * Turn it on only behind a proxy that sets them itself and drops what clients send.
     */
    trustForwardedHeaders: z.boolean().default(false),
  })
  .prefault({});

/** `registry.auth` in berth.yaml: who may pull, push and delete. Owned by registry/access. */
export const registryAuthSchema = z
  .strictObject({
    /**
     * Anonymous pull. With no htpasswd file the registry is open (pull, push and delete for anyone);
     * with one, push and delete always need credentials.
     */
    anonymousPull: z.boolean().default(true),
    /** `basic`: HTTP Basic on every request. `token`: Docker token authentication (Bearer JWTs). */
    scheme: z.enum(['basic', 'token']).default('basic'),
    /** htpasswd file with bcrypt entries (`htpasswd -B`), relative to the config file's folder. */
    htpasswd: z.string().optional(),
    /** Wrong passwords per client (Basic and the token endpoint) before it gets 429 until the window ends. */
    failureLimit: failureLimitSchema,
    /**
     * A registry without an htpasswd file lets anyone push and delete. On loopback that is the local
     * default; on an address other machines can reach it refuses to start unless this says so.
     */
    open: z.boolean().default(false),
    /**
     * Grants. When empty, every authenticated user may pull, push and delete everywhere. Listing the
     * catalog needs pull on every repository (a grant with repository `*`).
     */
    permissions: z.array(permissionSchema).default([]),
    token: tokenSchema,
  })
  .superRefine((auth, ctx) => {
    if (!auth.htpasswd && !auth.anonymousPull) {
      ctx.addIssue({
        code: 'custom',
        path: ['anonymousPull'],
        message: 'anonymousPull: false needs an htpasswd file, or nobody could pull',
      });
    }
    if (!auth.htpasswd && auth.scheme === 'token') {
      ctx.addIssue({
        code: 'custom',
        path: ['scheme'],
        message: 'scheme: token needs an htpasswd file to authenticate users',
      });
    }
    if (!auth.htpasswd && auth.permissions.length > 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['permissions'],
        message: 'permissions need an htpasswd file to name users from',
      });
    }
  })
  .prefault({});

export type RegistryAuthConfig = z.infer<typeof registryAuthSchema>;
