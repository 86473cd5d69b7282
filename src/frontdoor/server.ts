import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { FrontdoorConfig } from '../config/index.js';
import { parseListen, urlFor } from '../lib/listen.js';
import type { Logger } from '../lib/logger.js';
import type { RunningService } from '../lib/service.js';
import type { SiteManager } from '../sites/index.js';
import { Balancer } from './balancer.js';
import { sendProblem, socketProblem } from './errors.js';
import { FastConnections } from './fast-connection.js';
import type { FastRequest, FastResponse } from './fast-message.js';
import { RoutedRequest } from './forward.js';
import { requestIdOf, withoutClientIdentity } from './headers.js';
import { runChain, type FrontdoorMiddleware, type MiddlewareMap, type RequestContext } from './middleware.js';
import { Proxy } from './proxy.js';
import type { RequestHead } from './request-head.js';
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
 * The edge: routers (host, path) → middlewares → service (load balancer → instance). In front, the
 * fast path reads plain proxied requests off the socket itself and hands every other connection
 * (middlewares, upgrades, unusual framing, errors) to a node:http server; behind, the proxy's own
 * kept-alive connections. Every answer it makes itself is problem+json.
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
    req: RequestHead,
    context: RequestContext,
  ): FrontdoorMiddleware[] | undefined => {
    let list: FrontdoorMiddleware[] | undefined;
    for (const group of [middlewares['*'], middlewares[site]]) {
      if (!group) continue;
      for (const mw of group) if (wants(mw, req, context)) (list ??= []).push(mw);
    }
    return list;
  };

  /** A middleware whose applies() throws gets the request (fail closed: an auth check is not skipped). */
  const wants = (mw: FrontdoorMiddleware, req: RequestHead, context: RequestContext): boolean => {
    if (!mw.applies) return true;
    try {
      return mw.applies(req, context);
    } catch (error) {
      logger.error({ err: error, middleware: mw.name, requestId: context.requestId }, 'applies() failed');
      return true;
    }
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
    const routed = new RoutedRequest(
      deps,
      route,
      requestId,
      req,
      withoutClientIdentity(req.rawHeaders, req.headers),
    );
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

  /** A request the fast path read: proxied straight on, or false to leave it to node:http. */
  const dispatchFast = (request: FastRequest, response: FastResponse): boolean => {
    const requestId = requestIdOf(request);
    try {
      const route = routers.match(request);
      if (!route) return false; // node:http answers the 404
      const raw = withoutClientIdentity(request.rawHeaders);
      const routed = new RoutedRequest(deps, route, requestId, request, raw);
      if (applying(routed.site, request, routed)) return false;
      proxy.web(request, response, routed);
    } catch (error) {
      logger.error({ err: error, requestId }, 'fast path failed');
      sendProblem(response, 500, 'the front door failed to handle the request; see its log', requestId);
    }
    return true;
  };

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const requestId = requestIdOf(req);
    const route = routers.match(req);
    if (!route) return socketProblem(socket, 404, `no site is served at host "${hostOf(req)}"`, requestId);
    withoutClientIdentity(req.rawHeaders, req.headers);
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
  const fast = config.fastPath ? fastPathOf(server, dispatchFast, logger) : undefined;
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
    if (!socket.writable) return socket.destroy();
    // As node:http's own default: 431 for an oversized head, 408 for a slow one, else 400.
    const status =
      error.code === 'HPE_HEADER_OVERFLOW'
        ? '431 Request Header Fields Too Large'
        : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? '408 Request Timeout'
          : '400 Bad Request';
    socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
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
      fast?.closeIdle();
      const timer = setTimeout(() => {
        server.closeAllConnections();
        fast?.destroyAll();
      }, 10_000);
      await closed;
      clearTimeout(timer);
      proxy.close();
    },
  };
}

/**
 * Puts the fast path in front of node:http: the server's own 'connection' listener is kept and
 * called for the connections the fast path hands over, so they get everything node:http does
 * (its parser, errors, timeouts, upgrades). Undefined, and node:http alone, if that listener is
 * not the one this relies on.
 */
function fastPathOf(
  server: ReturnType<typeof createServer>,
  dispatch: (request: FastRequest, response: FastResponse) => boolean,
  logger: Logger,
): FastConnections | undefined {
  const listeners = server.listeners('connection') as ((socket: Socket) => void)[];
  if (listeners.length !== 1) {
    logger.warn(
      { listeners: listeners.length },
      'front door fast path off: node:http is not set up as expected',
    );
    return undefined;
  }
  const nodeListener = listeners[0]!;
  const fast = new FastConnections(
    { dispatch, handOff: (socket) => nodeListener.call(server, socket) },
    { headersTimeout: server.headersTimeout, keepAliveTimeout: server.keepAliveTimeout },
  );
  server.removeAllListeners('connection');
  server.on('connection', (socket: Socket) => fast.accept(socket));
  return fast;
}
