import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { toolAccessOf } from '../auth/index.js';
import type { SiteMcpConfig } from '../config/index.js';
import type { Logger } from '../lib/logger.js';
import { buildCatalog, createMcpHandler, loadSpec, type McpHandler, type ToolCatalog } from '../mcp/index.js';
import type { SiteManager } from '../sites/index.js';
import type { FrontdoorMiddleware, RequestContext } from './middleware.js';
import type { RequestHead } from './request-head.js';

const PRODUCTION = 'production';

export interface BuiltinMcpOptions {
  manager: SiteManager;
  /** `http://127.0.0.1:<port>` of the front door: tool calls go back through the site's own load balancer. */
  frontdoorOrigin: () => string;
  /** Folder a relative `mcp.spec` file is resolved against when the site has no root. */
  baseDir: string;
  /** Shared HMAC key for session ids, so sessions survive a restart of `berth up`. */
  handleSecret: Buffer;
  logger: Logger;
  /** How often a spec served by the site itself is checked again (ms). */
  recheckMs?: number;
}

interface SiteMcp {
  key: string;
  handler: McpHandler;
  etag?: string;
  checkedAt: number;
  reloading?: Promise<void>;
  /** The catalog's OpenAPI security scopes per tool (kept with the catalog across reloads). */
  toolScopes: Record<string, string[][]>;
}

/**
 * App Service's built-in MCP as a front-door middleware (for every site, `*`): a site with
 * `mcp.enabled` gets its `mcp.path` answered with one tool per operation of its OpenAPI document.
 * `mcp.spec` is an http(s) URL, a path on the site itself (starts with `/`, read from a running
 * instance; the default is /openapi.json), a `file://` URL, or a file relative to the site's root. The document is loaded on the first MCP request
 * and checked again every `recheckMs`; a broken new document keeps the old tools.
 */
export function builtinMcp(options: BuiltinMcpOptions): FrontdoorMiddleware {
  /** One MCP server per site and slot. */
  const sites = new Map<string, SiteMcp>();
  const recheckMs = options.recheckMs ?? 30_000;
  const log = options.logger.child({ part: 'builtin-mcp' });

  function settingsOf(siteName: string): { mcp: SiteMcpConfig; root: string } | undefined {
    const definition = options.manager.get(siteName).definition;
    if (!definition.mcp.enabled) return undefined;
    return {
      mcp: definition.mcp,
      root: definition.root ? resolve(options.baseDir, definition.root) : options.baseDir,
    };
  }

  async function load(
    siteName: string,
    mcp: SiteMcpConfig,
    root: string,
    context: RequestContext,
    etag?: string,
  ) {
    const spec = mcp.spec ?? '/openapi.json';
    let source: string;
    if (/^https?:\/\//.test(spec)) source = spec;
    else if (spec.startsWith('file://')) source = fileURLToPath(spec);
    else if (spec.startsWith('/')) {
      const instance = context.serviceUrl();
      if (!instance) throw new Error(`no running instance of ${siteName} to read ${spec} from`);
      source = new URL(spec, instance).href;
    } else source = resolve(root, spec);
    const loaded = await loadSpec(source, { etag });
    if (loaded.notModified) return { catalog: undefined, etag };
    const catalog = buildCatalog(loaded.document, {
      upstream: options.frontdoorOrigin(),
      // The slot this MCP request was routed to, so a staging slot's tools call staging.
      headers: {
        host: context.slot === PRODUCTION ? `${siteName}.localhost` : `${siteName}-${context.slot}.localhost`,
      },
      tools: mcp.tools,
      sameOrigin: true,
    });
    for (const skipped of catalog.skipped)
      log.warn({ site: siteName, skipped }, 'operation not converted to a tool');
    log.info(
      { site: siteName, tools: catalog.tools.length, hash: catalog.hash },
      'built-in MCP tools loaded',
    );
    return { catalog: catalog as ToolCatalog, toolScopes: catalog.toolScopes, etag: loaded.etag };
  }

  async function siteMcp(
    siteName: string,
    mcp: SiteMcpConfig,
    root: string,
    context: RequestContext,
  ): Promise<SiteMcp> {
    const key = JSON.stringify(mcp);
    const cacheKey = `${siteName}/${context.slot}`;
    const existing = sites.get(cacheKey);
    if (existing?.key === key) {
      if (Date.now() - existing.checkedAt > recheckMs && !existing.reloading) {
        existing.checkedAt = Date.now();
        existing.reloading = load(siteName, mcp, root, context, existing.etag)
          .then(({ catalog, toolScopes, etag }) => {
            if (catalog) existing.handler.setCatalog(catalog);
            if (toolScopes) existing.toolScopes = toolScopes;
            existing.etag = etag;
          })
          .catch((error: Error) =>
            log.error(
              { site: siteName, err: error },
              `spec reload failed; still serving the previous ${existing.handler.catalog.tools.length} tools`,
            ),
          )
          .finally(() => (existing.reloading = undefined));
      }
      return existing;
    }
    const { catalog, toolScopes, etag } = await load(siteName, mcp, root, context);
    const handler = createMcpHandler({
      catalog: catalog!,
      description: mcp.description,
      serverInfo: { name: siteName, version: '1.0.0' },
      handleSecret: options.handleSecret,
      logger: log,
      // Per-tool scopes: the auth middleware before this one decides what the caller may call,
      // from sites[].mcp.scopes, else from the operation's OpenAPI security requirements.
      toolAccess: (req) => {
        const access = toolAccessOf(req);
        if (!access) return undefined;
        return { refusal: (tool) => access.refusal(tool, created.toolScopes[tool]) };
      },
    });
    const created: SiteMcp = { key, handler, etag, checkedAt: Date.now(), toolScopes: toolScopes ?? {} };
    await existing?.handler.close();
    sites.set(cacheKey, created);
    return created;
  }

  const pathnameOf = (req: RequestHead): string => {
    const url = req.url ?? '/';
    const query = url.indexOf('?');
    return query === -1 ? url : url.slice(0, query);
  };

  return {
    name: 'builtin-mcp',
    // Only the site's MCP path: every other request skips this middleware (the proxy's fast path).
    applies(req, context) {
      const mcp = options.manager.sites.get(context.site)?.definition.mcp;
      return mcp !== undefined && mcp.enabled && pathnameOf(req) === mcp.path;
    },
    async handle(req, res, next, context) {
      const settings = settingsOf(context.site);
      if (!settings || pathnameOf(req) !== settings.mcp.path) return next();
      let entry: SiteMcp;
      try {
        entry = await siteMcp(context.site, settings.mcp, settings.root, context);
      } catch (error) {
        log.error({ site: context.site, err: error }, 'built-in MCP could not load the OpenAPI document');
        const body = JSON.stringify({
          jsonrpc: '2.0',
          id: null,
          error: {
            code: -32603,
            message: `the MCP server of ${context.site} is unavailable: ${(error as Error).message}`,
          },
        });
        res.writeHead(503, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
        res.end(body);
        return;
      }
      await entry.handler.handle(req, res);
    },
  };
}
