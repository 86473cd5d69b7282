import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { FrontdoorConfig } from '../config/frontdoor.js';
import { parseListen, urlFor } from '../lib/listen.js';
import type { Logger } from '../lib/logger.js';
import type { RunningService } from '../lib/service.js';
import type { Instance, Site, SiteManager } from '../sites/index.js';
import { Balancer, cookieValue } from './balancer.js';
import { sendProblem, socketProblem } from './errors.js';
import { cookieHeaderOf, requestIdOf } from './headers.js';
import { runChain, type FrontdoorMiddleware, type MiddlewareMap, type RequestContext } from './middleware.js';
import { Proxy, type Forward, type Picker } from './proxy.js';
import { Routers, hostOf, type Route } from './router.js';

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

const AFFINITY = 'ARRAffinity';

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

  const chainFor = (site: string): FrontdoorMiddleware[] => {
    const all = middlewares['*'];
    const own = middlewares[site];
    return all && own ? [...all, ...own] : (own ?? all ?? []);
  };

  const pickerFor = (
    route: Route,
    req: IncomingMessage,
  ): { pick: Picker; cookies: (i: Instance) => string[] } => {
    const { site, slot } = route;
    const affinity = site.definition.clientAffinityEnabled
      ? cookieValue(cookieHeaderOf(req.rawHeaders), AFFINITY)
      : undefined;
    const pick: Picker = (exclude) => {
      const { group, instances } = manager.routable(site, slot);
      if (affinity && !exclude) {
        const pinned = balancer.byAffinity(instances, affinity);
        if (pinned) return pinned;
      }
      const chosen = group
        ? balancer.pick(group, instances, site.definition.loadBalancing, exclude)
        : undefined;
      return chosen ?? { unavailable: unavailableReason(site, slot) };
    };
    const cookies = (instance: Instance): string[] => {
      const list: string[] = [];
      if (route.pinCookie) list.push(route.pinCookie);
      if (site.definition.clientAffinityEnabled) {
        const token = balancer.affinityToken(instance);
        if (token !== affinity)
          list.push(
            `${AFFINITY}=${token}; Path=/; HttpOnly`,
            `${AFFINITY}SameSite=${token}; Path=/; HttpOnly; SameSite=None; Secure`,
          );
      }
      return list;
    };
    return { pick, cookies };
  };

  const contextFor = (route: Route, requestId: string, pick: Picker): RequestContext => ({
    requestId,
    site: route.site.name,
    slot: route.slot,
    serviceUrl() {
      const chosen = pick();
      return (chosen as Instance).id ? `http://127.0.0.1:${(chosen as Instance).port}` : undefined;
    },
  });

  const pathFor = (route: Route, url: string): string => {
    if (!route.strip) return url;
    const rest = url.slice(route.strip.length);
    return rest.startsWith('/') ? rest : `/${rest}`;
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
    const { pick, cookies } = pickerFor(route, req);
    const forward: Forward = {
      requestId,
      site: route.site.name,
      pick,
      path: pathFor(route, req.url ?? '/'),
      cookies,
      headers: req.rawHeaders,
    };
    const chain = chainFor(route.site.name);
    if (chain.length === 0) return proxy.web(req, res, forward);
    const context = contextFor(route, requestId, pick);
    const applying = chain.filter((mw) => !mw.applies || mw.applies(req, context));
    // No middleware wants this request: straight to the proxy, which sends the raw headers on.
    if (applying.length === 0) return proxy.web(req, res, forward);
    runChain(
      applying,
      (mw, next) => mw.handle(req, res, next, context),
      () => {
        // A middleware may have changed the headers (node:http's object is what it sees).
        forward.headers = req.headers;
        proxy.web(req, res, forward);
      },
      (error, name) => {
        logger.error({ err: error, middleware: name, site: route.site.name, requestId }, 'middleware failed');
        sendProblem(res, 500, `middleware ${name} failed while handling the request`, requestId);
      },
    );
  };

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const requestId = requestIdOf(req);
    const route = routers.match(req);
    if (!route) return socketProblem(socket, 404, `no site is served at host "${hostOf(req)}"`, requestId);
    const { pick, cookies } = pickerFor(route, req);
    const forward: Forward = {
      requestId,
      site: route.site.name,
      pick,
      path: pathFor(route, req.url ?? '/'),
      cookies,
      headers: req.headers,
    };
    const chain = chainFor(route.site.name).filter((mw) => mw.upgrade);
    const context = contextFor(route, requestId, pick);
    runChain(
      chain,
      (mw, next) => mw.upgrade!(req, socket, head, next, context),
      () => proxy.upgrade(req, socket, head, forward),
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

function unavailableReason(site: Site, slot: string): string {
  const group = site.slots.get(slot);
  if (!group) return `site ${site.name} has no slot "${slot}"`;
  if (group.stopped) return `site ${site.name} (slot ${slot}) is stopped`;
  const states = group.instances.map((i) => i.state);
  if (states.length === 0) return `site ${site.name} (slot ${slot}) has no instances`;
  const counts = new Map<string, number>();
  for (const state of states) counts.set(state, (counts.get(state) ?? 0) + 1);
  return `no instance of site ${site.name} (slot ${slot}) can take requests now: ${[...counts].map(([s, n]) => `${n} ${s}`).join(', ')}; see the startup logs`;
}
