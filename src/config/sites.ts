import { z } from 'zod';
import { durationSchema, sizeSchema } from './common.js';
import { siteAuthSchema } from './auth.js';
import { siteMcpSchema } from './mcp.js';

/** Site names become host names (`<name>.localhost`) and folder names, so they are DNS labels. */
export const siteNameSchema = z
  .string()
  .regex(
    /^[a-z0-9](?:[a-z0-9-]{0,58}[a-z0-9])?$/,
    'must be 1-60 lowercase letters, digits or hyphens, not starting or ending with a hyphen',
  );

/** Slot names are host-name labels too (`<site>-<slot>.localhost`); `production` is the main slot. */
export const slotNameSchema = z
  .string()
  .regex(
    /^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$/,
    'must be 1-40 lowercase letters, digits or hyphens, not starting or ending with a hyphen',
  );

/**
 * A string that reaches `spawn` (command, folder, environment). The system's interfaces end strings
 * at a NUL byte, so Node refuses one there by throwing: it is refused here, with the field's name.
 */
const processString = z.string().refine((value) => !value.includes('\0'), 'must not contain a NUL byte');

/** App setting names become environment variable names. */
const settingNameSchema = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be a valid environment variable name');
const appSettingsSchema = z.record(z.string(), processString).superRefine((settings, ctx) => {
  for (const name of Object.keys(settings)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name))
      ctx.addIssue({ code: 'custom', path: [name], message: 'must be a valid environment variable name' });
  }
});

/**
 * The slot's own front door port: a plain `http://127.0.0.1:<port>/` URL that needs no `*.localhost`
 * resolver (Node's and Python's do not resolve it). `auto` takes a free port at each start.
 */
const directPortSchema = z.union([z.literal('auto'), z.number().int().min(1).max(65535)]).default('auto');

/** A URL path: starts with a slash, no spaces. */
const pathSchema = z.string().regex(/^\/[^\s]*$/, 'must be a path starting with /');

/** `sites[].slots[]`: a deployment slot besides production (App Service's "staging" etc.). */
export const slotSchema = z.strictObject({
  name: slotNameSchema.refine(
    (name) => name !== 'production',
    'production is the main slot and is always there',
  ),
  /** The folder this slot runs from; the site's root when omitted. */
  root: processString.optional(),
  appSettings: appSettingsSchema.default({}),
  /** Instances of this slot; the site's count when omitted. */
  instances: z.number().int().min(1).max(64).optional(),
  port: directPortSchema,
});

/** One entry of `sites:` in berth.yaml. Owned by the sites part. */
export const siteSchema = z.strictObject({
  name: siteNameSchema,
  /** The start command, run with the site's folder as working directory. */
  command: processString.min(1),
  /** The folder the site runs from (relative to the config file). */
  root: processString.optional(),
  appSettings: appSettingsSchema.default({}),
  /** Names of app settings that stay with their slot on a swap (App Service's "deployment slot settings"). */
  stickySettings: z.array(settingNameSchema).default([]),
  instances: z.number().int().min(1).max(64).default(1),
  startTimeLimit: durationSchema
    .default(230_000)
    .refine((ms) => ms >= 100 && ms <= 1_800_000, 'must be between 100ms and 1800s'),
  warmupPath: pathSchema.default('/robots933456.txt'),
  /** HTTP statuses that count as warm (WEBSITE_WARMUP_STATUSES); any response when empty. */
  warmupStatuses: z.array(z.number().int().min(100).max(599)).default([]),
  /** Path probed during a swap before routing switches (WEBSITE_SWAP_WARMUP_PING_PATH). */
  swapWarmupPath: pathSchema.default('/'),
  healthCheckPath: pathSchema.optional(),
  healthCheckInterval: durationSchema.default(30_000),
  /** Consecutive failed health checks before an instance leaves the rotation and is restarted. */
  healthCheckMaxFailures: z.number().int().min(1).max(100).default(3),
  /** How long a stopping instance may finish in-flight work before it is killed. */
  stopGracePeriod: durationSchema.default(5_000),
  hostNames: z.array(z.string().regex(/^[A-Za-z0-9.-]+$/, 'must be a host name')).default([]),
  clientAffinityEnabled: z.boolean().default(false),
  loadBalancing: z.enum(['round-robin', 'least-connections']).default('round-robin'),
  slots: z.array(slotSchema).default([]),
  /** Largest total a deploy package may unpack to (zip bombs); counted while unpacking. */
  maxUnpackedSize: sizeSchema.default(1024 ** 3).refine((bytes) => bytes >= 1, 'must be at least 1 byte'),
  /** Most files and folders a deploy package may hold. */
  maxPackageEntries: z.number().int().min(1).default(100_000),
  /** The production slot's own front door port (see directPortSchema). */
  port: directPortSchema,
  mcp: siteMcpSchema,
  /** Built-in authentication (App Service's authsettingsV2); off unless `platform.enabled`. */
  auth: siteAuthSchema.prefault({}),
});

export type SiteConfig = z.infer<typeof siteSchema>;
export type SlotConfig = z.infer<typeof slotSchema>;
