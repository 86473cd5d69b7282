import { z } from 'zod';

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
