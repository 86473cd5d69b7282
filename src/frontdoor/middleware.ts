import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { RequestHead } from './request-head.js';

/** What a middleware knows about the request besides the request itself. */
export interface RequestContext {
  /** The X-Request-Id sent to the instance and back to the client. */
  requestId: string;
  site: string;
  slot: string;
  /**
   * Base URL (`http://127.0.0.1:<port>`) of an instance picked by the site's load balancer, for a
   * middleware that calls the site itself (the built-in MCP calling the REST API); undefined when
   * no instance is in rotation.
   */
  serviceUrl(): string | undefined;
  /** True when a request to `url` would be routed to this same site (a token's resource is this site). */
  routesHere(url: URL): boolean;
}

/**
 * A step between router and service (Traefik's vocabulary). `handle` either answers the request
 * itself (writes `res`, never calls `next`) or calls `next()` to pass it on. `upgrade` is the same
 * for WebSocket upgrades; a middleware without it lets upgrades through.
 */
export interface FrontdoorMiddleware {
  name: string;
  /**
   * Optional cheap test: false skips the middleware for this request without running it. When no
   * middleware applies, the request takes the proxy's fast path (read off the socket, raw headers,
   * no IncomingMessage); once one applies, node:http reads the request and the proxy forwards
   * `req.headers` as the middleware left them. It sees only the method, URL and raw headers.
   */
  applies?(req: RequestHead, context: RequestContext): boolean;
  handle(
    req: IncomingMessage,
    res: ServerResponse,
    next: () => void,
    context: RequestContext,
  ): void | Promise<void>;
  upgrade?(
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    next: () => void,
    context: RequestContext,
  ): void | Promise<void>;
}

/** Per-site middlewares; the key `*` applies to every site, before the site's own. */
export type MiddlewareMap = Record<string, FrontdoorMiddleware[]>;

/** A middleware that answers one path (and everything below it) itself, e.g. MCP at /mcp. */
export function answerPath(
  name: string,
  path: string,
  handle: (req: IncomingMessage, res: ServerResponse, context: RequestContext) => void | Promise<void>,
): FrontdoorMiddleware {
  const below = path.endsWith('/') ? path : `${path}/`;
  const matches = (req: RequestHead): boolean => {
    const url = req.url ?? '/';
    const query = url.indexOf('?');
    const pathname = query === -1 ? url : url.slice(0, query);
    return pathname === path || pathname.startsWith(below);
  };
  return {
    name,
    applies: matches,
    handle(req, res, next, context) {
      if (matches(req)) return handle(req, res, context);
      next();
    },
  };
}

/** Runs `list` in order, then `last`; a throwing middleware ends in `onError`. */
export function runChain(
  list: FrontdoorMiddleware[],
  call: (mw: FrontdoorMiddleware, next: () => void) => void | Promise<void> | undefined,
  last: () => void,
  onError: (error: unknown, middleware: string) => void,
): void {
  let index = 0;
  const next = (): void => {
    const mw = list[index++];
    if (!mw) return last();
    try {
      const result = call(mw, next);
      if (result && typeof (result as Promise<void>).then === 'function')
        (result as Promise<void>).catch((error) => onError(error, mw.name));
    } catch (error) {
      onError(error, mw.name);
    }
  };
  next();
}
