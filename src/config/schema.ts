import { z } from 'zod';
import { consoleSchema } from './console.js';
import { frontdoorSchema } from './frontdoor.js';
import { logsSchema } from './logs.js';
import { mcpServeSchema } from './mcp.js';
import { registrySchema } from './registry.js';
import { siteSchema } from './sites.js';

/**
 * The whole of berth.yaml. Every key has a default, so an empty file is a valid config; unknown keys
 * are errors, so a typo fails at start instead of being silently ignored. Each part owns its section.
 */
export const configSchema = z
  .strictObject({
    /** Where every part keeps its state unless its own section says otherwise. */
    dataDir: z.string().default('.berth'),
    log: z
      .strictObject({
        level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
      })
      .prefault({}),
    registry: registrySchema,
    frontdoor: frontdoorSchema,
    console: consoleSchema,
    logs: logsSchema,
    sites: z.array(siteSchema).default([]),
    /** `berth mcp serve` (the standalone MCP server); sites' built-in MCP is under sites[].mcp. */
    mcp: mcpServeSchema,
    /** Berth's secret store (`berth secret`), which `@secret(name)` and Key Vault references resolve from. */
    secrets: z
      .strictObject({
        /** The AES-256 key file (mode 0600); by default `<dataDir>-secrets.key`, beside the data folder, not in it. */
        keyFile: z.string().min(1).optional(),
      })
      .prefault({}),
  })
  .superRefine((config, ctx) => {
    const seen = new Set<string>();
    config.sites.forEach((site, index) => {
      if (seen.has(site.name))
        ctx.addIssue({
          code: 'custom',
          path: ['sites', index, 'name'],
          message: `duplicate site name "${site.name}"`,
        });
      seen.add(site.name);
    });
    // A fixed site port is a listener of its own: two sites cannot share it.
    const ports = new Map<number, string>();
    config.sites.forEach((site, index) => {
      const fixed = [
        { port: site.port, path: ['sites', index, 'port'], what: site.name },
        ...site.slots.map((slot, i) => ({
          port: slot.port,
          path: ['sites', index, 'slots', i, 'port'],
          what: `${site.name} slot ${slot.name}`,
        })),
      ];
      for (const { port, path, what } of fixed) {
        if (port === 'auto') continue;
        const other = ports.get(port);
        if (other)
          ctx.addIssue({ code: 'custom', path, message: `port ${port} is already the port of ${other}` });
        ports.set(port, what);
      }
    });
  });

export type BerthConfig = z.infer<typeof configSchema>;
