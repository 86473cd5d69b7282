import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LOOPBACK, parseListen, urlFor } from '../lib/listen.js';
import { silentLogger, type Logger } from '../lib/logger.js';
import type { RunningService } from '../lib/service.js';
import { createMcpHandler, LOOPBACK_HOSTS, type McpHandler, type McpHandlerOptions } from './handler.js';
import { buildCatalog, loadSpec, type OpenApiCatalog } from './openapi/index.js';
import { watchSpec, type SpecWatcher } from './reload.js';
import type { ToolCatalog } from './types.js';

export interface McpServerOptions {
  /** OpenAPI document: a file path or an http(s) URL. Required unless `catalog` is given. */
  spec?: string;
  /** Base URL of the REST API the tools call. Required with `spec`. */
  upstream?: string;
  /** A ready catalog instead of spec + upstream (the conformance fixture, examples, tests). */
  catalog?: ToolCatalog;
  /** MCP endpoint path (default /mcp). */
  path?: string;
  /** host:port (default 127.0.0.1:0, an ephemeral loopback port). */
  listen?: string;
  logger?: Logger;
  /** App Service ToolList: ["*"] every operation, [] none, or operation ids. */
  tools?: string[];
  description?: string;
  /** Shared HMAC key so several instances accept each other's sessions (and handles). */
  handleSecret?: string | Buffer;
  /** How often a spec URL is polled for changes (ms, default 30000). */
  pollIntervalMs?: number;
  /** Whether to watch/poll the spec at all (default true). */
  watch?: boolean;
  /** Upstream request deadline (ms, default 30000). */
  timeoutMs?: number;
  /** How long close() lets in-flight requests finish before cutting connections (ms, default 10000). */
  shutdownGraceMs?: number;
  /**
   * Secret values for the document's security schemes, by scheme name (see `resolveCredentials`). A
   * name the document does not declare is an error at start, a warning after a reload.
   */
  credentials?: Record<string, string>;
  /** Passed through to the handler. */
  handler?: Partial<Omit<McpHandlerOptions, 'catalog'>>;
}

export interface RunningMcpServer extends RunningService {
  handler: McpHandler;
  /** Re-reads the spec now (what the watcher does on change); resolves false when the old tools were kept. */
  reload(): Promise<boolean>;
}

/**
 * `berth mcp serve`: an HTTP server answering the MCP endpoint for an OpenAPI document, with hot
 * reload. A spec that fails to load at start is an error; one that breaks later keeps the old tools.
 */
export async function startMcpServer(options: McpServerOptions): Promise<RunningMcpServer> {
  const logger = options.logger ?? silentLogger;
  const path = options.path ?? '/mcp';
  if (!options.catalog && (!options.spec || !options.upstream)) {
    throw new Error('startMcpServer needs a spec and an upstream (or a ready catalog)');
  }
  let etag: string | undefined;
  let started = false;

  const build = async (): Promise<ToolCatalog | undefined> => {
    if (options.catalog) return options.catalog;
    const loaded = await loadSpec(options.spec!, { etag });
    if (loaded.notModified) return undefined;
    const catalog: OpenApiCatalog = buildCatalog(loaded.document, {
      upstream: options.upstream!,
      tools: options.tools,
      timeoutMs: options.timeoutMs,
      credentials: options.credentials,
    });
    if (catalog.unknownCredentials.length > 0) {
      const message = `credentials for ${catalog.unknownCredentials.map((n) => `"${n}"`).join(', ')} match no security scheme of the document (it declares: ${catalog.securitySchemes.join(', ') || 'none'})`;
      if (!started) throw new Error(message); // at start: a typo must not go unnoticed
      logger.warn(message);
    }
    etag = loaded.etag;
    for (const skipped of catalog.skipped) logger.warn({ skipped }, 'operation not converted to a tool');
    logger.info(
      { tools: catalog.tools.length, operations: catalog.operationCount, hash: catalog.hash },
      'spec loaded',
    );
    return catalog;
  };

  const initial = (await build())!;
  started = true;
  const listen = parseListen(options.listen ?? `${LOOPBACK}:0`);
  const loopback = LOOPBACK_HOSTS.includes(listen.host) || listen.host === LOOPBACK;
  const handler = createMcpHandler({
    catalog: initial,
    path,
    description: options.description,
    logger,
    handleSecret: options.handleSecret,
    // Bound to loopback: refuse other Host names, the DNS-rebinding guard the spec asks for.
    allowedHosts: loopback ? LOOPBACK_HOSTS : undefined,
    ...options.handler,
  });

  const reload = async (): Promise<boolean> => {
    try {
      const next = await build();
      if (next) handler.setCatalog(next);
      logger.debug({ spec: options.spec, rebuilt: next !== undefined }, 'spec checked');
      return true;
    } catch (error) {
      logger.error(
        { err: error, spec: options.spec },
        `spec reload failed; still serving the previous ${handler.catalog.tools.length} tools`,
      );
      return false;
    }
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => void handler.handle(req, res));
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const watcher: SpecWatcher | undefined =
    options.spec && options.watch !== false
      ? watchSpec({
          source: options.spec,
          onChange: async () => void (await reload()),
          pollIntervalMs: options.pollIntervalMs,
          logger,
        })
      : undefined;

  return {
    name: 'mcp',
    urls: [urlFor({ host: listen.host, port }, path)],
    handler,
    reload,
    async close() {
      watcher?.close();
      await handler.close();
      // In-flight requests finish; keep-alive sockets are closed as soon as they go idle, and
      // anything still open after the grace period is cut.
      await new Promise<void>((resolve) => {
        const sweep = setInterval(() => server.closeIdleConnections(), 25);
        const deadline = setTimeout(() => server.closeAllConnections(), options.shutdownGraceMs ?? 10_000);
        server.close(() => {
          clearInterval(sweep);
          clearTimeout(deadline);
          resolve();
        });
        server.closeIdleConnections();
      });
    },
  };
}
