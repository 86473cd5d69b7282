import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { FrontdoorConfig } from '../config/frontdoor.js';
import { parseListen, urlFor } from '../lib/listen.js';
import type { Logger } from '../lib/logger.js';
import type { RunningService } from '../lib/service.js';
import type { SiteManager } from '../sites/index.js';
import { Balancer } from './balancer.js';
import { sendProblem, socketProblem } from './errors.js';
import { RoutedRequest } from './forward.js';
import { requestIdOf, withoutClientIdentity } from './headers.js';
import { runChain, type FrontdoorMiddleware, type MiddlewareMap, type RequestContext } from './middleware.js';
import { Proxy } from './proxy.js';
import { Routers, hostOf } from './router.js';

export interface FrontdoorOptions {
  config: FrontdoorConfig;
  manager: SiteManager;
  logger: Logger;
  /** Middlewares per site name; `*` for every site (run first). Built-in MCP and auth plug in here. */
  middlewares?: MiddlewareMap;
}

export interface Frontdoor extends RunningService {
  port: number;
  /** Adds a middleware for a site (or `*`) while running; it applies to the next request. */
  use(site: string, middleware: FrontdoorMiddleware): void;
}

/**
 * The edge: routers (host, path) → middlewares → service (load balancer → instance). A node:http
 * server in front, the proxy's own kept-alive connections behind; every answer it makes itself
 * is problem+json.
 */
export async function startFrontdoor(options: FrontdoorOptions): Promise<Frontdoor> {
  const { config, manager, logger } = options;
  const middlewares: MiddlewareMap = Object.fromEntries(
    Object.entries(options.middlewares ?? {}).map(([k, v]) => [k, [...v]]),
  );
  const routers = new Routers(config.routers, manager);
  const balancer = new Balancer();
  const proxy = new Proxy(config, logger);

  const deps = { manager, balancer };

  /** The middlewares of a site (`*` first) that want this request; none means the proxy's fast path. */
  const applying = (
    site: string,
    req: IncomingMessage,
    context: RequestContext,
  ): FrontdoorMiddleware[] | undefined => {
    let list: FrontdoorMiddleware[] | undefined;
    for (const group of [middlewares['*'], middlewares[site]]) {
      if (!group) continue;
      for (const mw of group) if (!mw.applies || mw.applies(req, context)) (list ??= []).push(mw);
    }
    return list;
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    const requestId = requestIdOf(req);
    const route = routers.match(req);
    if (!route) {
      sendProblem(
        res,
        404,
        `no site is served at host "${hostOf(req)}"; sites are reached at <site>.localhost:<port> or their configured host names`,
        requestId,
      );
      return;
    }
    // Until a middleware runs, the proxy sends the raw header list on (no header object is built).
    const routed = new RoutedRequest(deps, route, requestId, req, withoutClientIdentity(req));
    const chain = applying(routed.site, req, routed);
    if (!chain) return proxy.web(req, res, routed);
    runChain(
      chain,
      (mw, next) => mw.handle(req, res, next, routed),
      () => {
        // A middleware may have changed the headers (node:http's object is what it sees).
        routed.headers = req.headers;
        try {
          proxy.web(req, res, routed);
        } catch (error) {
          logger.error({ err: error, site: routed.site, requestId }, 'request not sent');
          sendProblem(res, 500, `the request cannot be sent on: ${(error as Error).message}`, requestId);
        }
      },
      (error, name) => {
        logger.error({ err: error, middleware: name, site: routed.site, requestId }, 'middleware failed');
        sendProblem(res, 500, `middleware ${name} failed while handling the request`, requestId);
      },
    );
  };

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const requestId = requestIdOf(req);
    const route = routers.match(req);
    if (!route) return socketProblem(socket, 404, `no site is served at host "${hostOf(req)}"`, requestId);
    withoutClientIdentity(req);
    const routed = new RoutedRequest(deps, route, requestId, req, req.headers);
    const chain = [...(middlewares['*'] ?? []), ...(middlewares[routed.site] ?? [])].filter(
      (mw) => mw.upgrade,
    );
    runChain(
      chain,
      (mw, next) => mw.upgrade!(req, socket, head, next, routed),
      () => proxy.upgrade(req, socket, head, routed),
      (error, name) => {
        logger.error({ err: error, middleware: name, requestId }, 'middleware failed on upgrade');
        socketProblem(socket, 500, `middleware ${name} failed`, requestId);
      },
    );
  };

  const server = createServer(
    { noDelay: true, requestTimeout: 0, headersTimeout: 60_000, keepAliveTimeout: 65_000 },
    onRequest,
  );
  server.on('upgrade', onUpgrade);
  server.on('clientError', (_error, socket) => {
    if (socket.writable)
      socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
    else socket.destroy();
  });
  const address = parseListen(config.listen);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(address.port, address.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  manager.setPublicPort(port);
  const url = urlFor({ host: address.host, port });
  logger.info({ url }, 'front door listening');
  return {
    name: 'frontdoor',
    urls: [url, ...[...manager.sites.keys()].map((name) => manager.siteUrl(`${name}.localhost`))],
    port,
    use(site, middleware) {
      (middlewares[site] ??= []).push(middleware);
    },
    async close() {
      // Stop accepting, let in-flight requests finish (10 s at most), then cut what is left.
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const timer = setTimeout(() => server.closeAllConnections(), 10_000);
      await closed;
      clearTimeout(timer);
      proxy.close();
    },
  };
}
