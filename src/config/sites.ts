import { z } from 'zod';
import { durationSchema } from './common.js';
import { siteMcpSchema } from './mcp.js';

/** Site names become host names (`<name>.localhost`) and folder names, so they are DNS labels. */
export const siteNameSchema = z
  .string()
  .regex(/^[a-z0-9](?:[a-z0-9-]{0,58}[a-z0-9])?$/, 'must be 1-60 lowercase letters, digits or hyphens, not starting or ending with a hyphen');

/** One entry of `sites:` in berth.yaml. Owned by the sites part. */
export const siteSchema = z.strictObject({
  name: siteNameSchema,
  /** The start command, run with the site's folder as working directory. */
  command: z.string().min(1),
  /** The folder the site runs from (relative to the config file). */
  root: z.string().optional(),
  appSettings: z.record(z.string(), z.string()).default({}),
  instances: z.number().int().min(1).max(64).default(1),
  startTimeLimit: durationSchema.default(230_000),
  warmupPath: z.string().default('/robots933456.txt'),
  healthCheckPath: z.string().optional(),
  hostNames: z.array(z.string()).default([]),
  clientAffinityEnabled: z.boolean().default(false),
  loadBalancing: z.enum(['round-robin', 'least-connections']).default('round-robin'),
  mcp: siteMcpSchema,
});

export type SiteConfig = z.infer<typeof siteSchema>;
