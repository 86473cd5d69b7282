import { z } from 'zod';

/** An OAuth scope token (RFC 6749 §3.3). */
const scopeSchema = z
  .string()
  .regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/, 'must be an OAuth scope (no spaces or quotes)');

/** `sites[].mcp` in berth.yaml: App Service's built-in MCP settings. Owned by the mcp part. */
export const siteMcpSchema = z
  .strictObject({
    enabled: z.boolean().default(false),
    path: z
      .string()
      .regex(/^\/[A-Za-z0-9/_.-]*$/, 'must be a path such as /mcp')
      .default('/mcp'),
    /** A file, or a path on the site such as /openapi.json. */
    spec: z.string().optional(),
    /** App Service's ToolList: ["*"] every operation (also ones added later), [] none, or operation ids. */
    tools: z.array(z.string()).default(['*']),
    description: z.string().max(256).optional(),
    /**
     * Scopes a tool needs, by tool name or pattern (`*` matches any run of characters): a caller
     * sees and calls only the tools whose scopes its token has (all of them, when a value lists
     * several). Enforced when the site's `auth` is on; the first matching key wins.
     */
    scopes: z
      .record(
        z.string().regex(/^[A-Za-z0-9_.*-]{1,128}$/, 'must be a tool name or a pattern with *'),
        z
          .union([scopeSchema, z.array(scopeSchema).min(1)])
          .transform((value) => (typeof value === 'string' ? [value] : value)),
      )
      .default({}),
  })
  .prefault({});

export type SiteMcpConfig = z.infer<typeof siteMcpSchema>;

/**
 * `mcp` in berth.yaml: settings of `berth mcp serve`. `credentials` maps a security scheme of the
 * document (its name under `components.securitySchemes`) to where its secret is: `env:VAR`, or
 * `@secret(name)` once the secret store exists. `--credential scheme=env:VAR` overrides an entry.
 */
export const mcpServeSchema = z
  .strictObject({
    credentials: z
      .record(
        z.string().regex(/^[A-Za-z0-9_.-]+$/, 'must be a security scheme name'),
        z
          .string()
          .regex(
            /^(env:[A-Za-z_][A-Za-z0-9_]*|@secret\([A-Za-z0-9_./-]+\))$/,
            'must be env:VAR or @secret(name)',
          ),
      )
      .default({}),
  })
  .prefault({});
