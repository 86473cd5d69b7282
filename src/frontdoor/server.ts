import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { FrontdoorConfig } from '../config/index.js';
import { parseListen, urlFor } from '../lib/listen.js';
import type { Logger } from '../lib/logger.js';
import type { RunningService } from '../lib/service.js';
import type { Instance, SiteManager } from '../sites/index.js';
import { Balancer } from './balancer.js';
import { endAndClose, sendProblem, sendProblemFor, socketProblem } from './errors.js';
import { FastConnections } from './fast-connection.js';
import type { FastRequest, FastResponse } from './fast-message.js';
import { RoutedRequest, type UpstreamSource } from './forward.js';
import { framingRefusal, type Refusal } from './framing.js';
import { headerFault, requestIdOf, withoutClientIdentity } from './headers.js';
import { connectionCap } from './limits.js';
import { runChain, type FrontdoorMiddleware, type MiddlewareMap, type RequestContext } from './middleware.js';
import { Proxy } from './proxy.js';
import type { RequestHead } from './request-head.js';
import { toOriginForm } from './request-target.js';
import { Routers, hostOf } from './router.js';
import { SitePorts, type SiteUrl } from './site-ports.js';

export interface FrontdoorOptions {
  config: FrontdoorConfig;
  manager: SiteManager;
  logger: Logger;
  /** Where instances come from; the site manager unless given (see UpstreamSource). */
  upstreams?: UpstreamSource;
  /** Middlewares per site name; `*` for every site (run first). Built-in MCP and auth plug in here. */
  middlewares?: MiddlewareMap;
}

export interface Frontdoor extends RunningService {
  port: number;
  /** Client connections it holds at most (frontdoor.maxConnections, or what the descriptor limit allows). */
  maxConnections: number;
  /** Adds a middleware for a site (or `*`) while running; it applies to the next request. */
  use(site: string, middleware: FrontdoorMiddleware): void;
  /** Requests (and upgrades) in flight on an instance, as the front door counts them. */
  inFlight(instance: Instance): number;
  /** Each site's and slot's own URL (its port on the front door's host). */
  siteUrls(): SiteUrl[];
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
  const cap = connectionCap(config.maxConnections);
  if (cap.lowered)
    logger.warn(
      {
        maxConnections: config.maxConnections,
        descriptorLimit: cap.limit,
        reserve: cap.reserve,
        used: cap.max,
      },
      'frontdoor.maxConnections is more than the descriptor limit allows; lowered',
    );
  const proxy = new Proxy(config, logger, cap.max);

  const deps = { upstreams: options.upstreams ?? manager, balancer, routers };

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

  /**
   * What node:http's parser accepts and the front door does not (RFC 9112): a duplicate Host,
   * unusual transfer codings, an absolute-form target that is not http(s) with a plain authority.
   * An absolute-form target is rewritten to origin form here, before routing.
   */
  const refusalOf = (req: IncomingMessage): Refusal | undefined => {
    const framing = framingRefusal(req);
    if (framing) return framing;
    const target = toOriginForm(req);
    return target === undefined ? undefined : { status: 400, detail: target };
  };

  /**
   * Runs a middleware chain; when a middleware calls next(), the headers it may have changed are
   * checked before anything else sees them, so the 500 names the middleware that broke them.
   */
  const chainOf = (
    req: IncomingMessage,
    chain: FrontdoorMiddleware[],
    call: (mw: FrontdoorMiddleware, next: () => void) => void | Promise<void> | undefined,
    last: () => void,
    onError: (error: unknown, middleware: string) => void,
  ) => {
    runChain(
      chain,
      (mw, next) =>
        call(mw, () => {
          const fault = headerFault(req.headers);
          if (fault) return onError(new Error(fault), mw.name);
          next();
        }),
      last,
      onError,
    );
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    const requestId = requestIdOf(req);
    const refusal = refusalOf(req);
    if (refusal) {
      sendProblem(res, refusal.status, refusal.detail, requestId, {}, true);
      return;
    }
    const route = routers.match(req);
    if (!route) {
      sendProblemFor(
        req,
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
    chainOf(
      req,
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
        const fault = error instanceof Error && /^header /.test(error.message) ? `: ${error.message}` : '';
        sendProblem(res, 500, `middleware ${name} failed while handling the request${fault}`, requestId);
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
    const refusal = refusalOf(req);
    if (refusal) return socketProblem(socket, refusal.status, refusal.detail, requestId);
    const route = routers.match(req);
    if (!route) return socketProblem(socket, 404, `no site is served at host "${hostOf(req)}"`, requestId);
    withoutClientIdentity(req.rawHeaders, req.headers);
    const routed = new RoutedRequest(deps, route, requestId, req, req.headers);
    const chain = [...(middlewares['*'] ?? []), ...(middlewares[routed.site] ?? [])].filter(
      (mw) => mw.upgrade,
    );
    chainOf(
      req,
      chain,
      (mw, next) => mw.upgrade!(req, socket, head, next, routed),
      () => proxy.upgrades.start(req, socket, head, routed),
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
  // Past the cap node accepts and closes at once: the flood costs no descriptor it keeps.
  server.maxConnections = cap.max;
  const warnings = new RateLimitedWarning(logger, 10_000);
  server.on('drop', () =>
    warnings.warn(
      'connection-cap',
      { maxConnections: cap.max },
      'front door at its connection limit; new connections are closed',
    ),
  );
  // An accept that fails (EMFILE: out of descriptors) must not end the process: libuv drops the
  // pending connection, and the listener goes on.
  server.on('error', (error: NodeJS.ErrnoException) =>
    warnings.warn(error.code ?? 'error', { err: error }, 'front door could not accept a connection'),
  );
  server.on('upgrade', onUpgrade);
  const fast = config.fastPath ? fastPathOf(server, dispatchFast, logger) : undefined;
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
    // A response of node's in flight on the socket would be corrupted by one more head: cut instead.
    const inFlight = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent;
    if (!socket.writable || inFlight) return socket.destroy();
    // As node:http's own default: 431 for an oversized head, 408 for a slow one, else 400.
    const status =
      error.code === 'HPE_HEADER_OVERFLOW'
        ? '431 Request Header Fields Too Large'
        : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? '408 Request Timeout'
          : '400 Bad Request';
    endAndClose(socket, `HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
  });
  // Every client socket, whichever path has it (fast path, node:http, an upgrade tunnel), so that
  // close() can cut what is left when the grace period is over.
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  const address = parseListen(config.listen);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(address.port, address.host, () => {
      server.removeListener('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  // Each slot's own port: its sockets join this server's, under the same connection cap.
  const sitePorts = new SitePorts(
    address.host,
    manager,
    (socket) => {
      if (sockets.size >= cap.max) {
        warnings.warn(
          'connection-cap',
          { maxConnections: cap.max },
          'front door at its connection limit; new connections are closed',
        );
        socket.destroy();
        return;
      }
      server.emit('connection', socket);
    },
    logger,
  );
  try {
    await sitePorts.sync();
  } catch (error) {
    await sitePorts.close();
    await new Promise((resolve) => server.close(resolve));
    throw error;
  }
  manager.onSitesChanged(() => sitePorts.sync());
  manager.setPublicPort(port);
  manager.useTraffic(balancer.inFlight);
  const url = urlFor({ host: address.host, port });
  logger.info({ url, maxConnections: cap.max, descriptorLimit: cap.limit }, 'front door listening');
  return {
    name: 'frontdoor',
    urls: [url, ...[...manager.sites.keys()].map((name) => manager.siteUrl(`${name}.localhost`))],
    port,
    maxConnections: cap.max,
    use(site, middleware) {
      (middlewares[site] ??= []).push(middleware);
    },
    inFlight: (instance) => balancer.inFlight.of(instance),
    siteUrls: () => sitePorts.urls(),
    async close() {
      // Stop accepting, let in-flight requests finish (10 s at most), then cut what is left.
      // Upgraded connections have no request to finish: they are ended now.
      // The slots' own listeners too: their sockets are this server's, ended the same way.
      const closed = Promise.all([
        new Promise<void>((resolve) => server.close(() => resolve())),
        sitePorts.close(),
      ]);
      server.closeIdleConnections();
      fast?.closeIdle();
      proxy.upgrades.endAll();
      const timer = setTimeout(() => {
        proxy.upgrades.destroyAll();
        for (const socket of sockets) socket.destroy();
      }, CLOSE_GRACE_MS);
      await closed;
      clearTimeout(timer);
      proxy.close();
    },
  };
}

/** How long close() lets in-flight requests finish before it cuts them. */
const CLOSE_GRACE_MS = 10_000;

/** A warning logged at most once per `everyMs` for each key (a flood must not flood the log too). */
class RateLimitedWarning {
  private readonly last = new Map<string, number>();

  constructor(
    private readonly logger: Logger,
    private readonly everyMs: number,
  ) {}

  warn(key: string, fields: Record<string, unknown>, message: string): void {
    const now = Date.now();
    if (now - (this.last.get(key) ?? -Infinity) < this.everyMs) return;
    this.last.set(key, now);
    this.logger.warn(fields, message);
  }
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
