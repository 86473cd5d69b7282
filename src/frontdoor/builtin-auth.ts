import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import {
  PRM_PATH,
  SESSION_COOKIE,
  SiteAuth,
  authEndpoint,
  originOf,
  principalHeaders,
  setRequestIdentity,
  type Authentication,
  type SiteAuthSettings,
  type ToolAccess,
} from '../auth/index.js';
import { providersOf } from '../config/index.js';
import type { Logger } from '../lib/logger.js';
import { decodeHeaderValue } from '../mcp/index.js';
import type { SiteManager } from '../sites/index.js';
import { sendProblem, socketProblem } from './errors.js';
import type { FrontdoorMiddleware, RequestContext } from './middleware.js';

export interface BuiltinAuthOptions {
  manager: SiteManager;
  logger: Logger;
  /** After a failed discovery, a site's providers are tried again at most this often (ms). */
  retryMs?: number;
  /** Secret the session cookies' keys are derived from (one per site); kept across restarts by `berth up`. */
  cookieSecret: Buffer;
  /** App settings resolved as the instance gets them (secret references), for the client secret. */
  resolveSettings?: (settings: Record<string, string>) => Promise<Record<string, string>>;
}

export interface BuiltinAuth extends FrontdoorMiddleware {
  /** Discovers every configured site's providers (metadata and keys), so no request waits on it. */
  start(): Promise<void>;
}

interface Entry {
  key: string;
  /** The site definition the key was computed from: the same object needs no new key (no JSON per request). */
  definition?: object;
  ready: Promise<SiteAuth>;
  failedAt?: number;
}

const pathnameOf = (url: string | undefined): string => {
  const value = url ?? '/';
  const query = value.indexOf('?');
  return query === -1 ? value : value.slice(0, query);
};

function settingsOf(manager: SiteManager, site: string): SiteAuthSettings | undefined {
  const definition = manager.sites.get(site)?.definition;
  if (!definition?.auth.platform.enabled) return undefined;
  return {
    site,
    auth: definition.auth,
    appSettings: definition.appSettings,
    mcp: { enabled: definition.mcp.enabled, path: definition.mcp.path, scopes: definition.mcp.scopes },
  };
}

/**
 * App Service's built-in authentication ("Easy Auth") as a front-door middleware for every site
 * whose `auth.platform.enabled`: a bearer token is verified before anything reaches the app or
 * the built-in MCP, the verified caller goes to the app as X-MS-CLIENT-PRINCIPAL headers (the
 * client's own copies were removed at the edge), and the MCP endpoint gets Protected Resource
 * Metadata, 401 challenges, and per-tool scopes. Fails closed: a site whose providers could not
 * be discovered answers 503, never lets a request through unchecked.
 */
export function builtinAuth(options: BuiltinAuthOptions): BuiltinAuth {
  const { manager } = options;
  const log = options.logger.child({ part: 'auth' });
  const retryMs = options.retryMs ?? 30_000;
  const sites = new Map<string, Entry>();

  function siteAuth(settings: SiteAuthSettings, definition?: object): Promise<SiteAuth> {
    const existing = sites.get(settings.site);
    const usable = (entry: Entry) => entry.failedAt === undefined || Date.now() - entry.failedAt < retryMs;
    if (existing && definition && existing.definition === definition && usable(existing))
      return existing.ready;
    const key = JSON.stringify(settings);
    if (existing?.key === key && usable(existing)) {
      existing.definition = definition;
      return existing.ready;
    }
    const entry: Entry = { key, definition, ready: SiteAuth.start(settings, log, options.cookieSecret) };
    entry.ready.catch((error: Error) => {
      entry.failedAt = Date.now();
      log.error(
        { site: settings.site, err: error },
        'identity provider discovery failed; the site answers 503',
      );
    });
    sites.set(settings.site, entry);
    return entry.ready;
  }

  function json(
    res: ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ): void {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      ...headers,
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
      'cache-control': 'no-store',
    });
    res.end(text);
  }

  /** 401 (or 403) with the site's challenge; the body says why, never echoing the token. */
  function refuse(
    res: ServerResponse,
    context: RequestContext,
    status: number,
    detail: string,
    wwwAuthenticate?: string,
  ): void {
    if (wwwAuthenticate) res.setHeader('www-authenticate', wwwAuthenticate);
    sendProblem(res, status, detail, context.requestId);
  }

  /** 2026-07-28 names the method and tool in headers: a call without the tool's scope stops here, body unread. */
  function headerRefusal(req: IncomingMessage, access: ToolAccess) {
    if (req.method !== 'POST' || req.headers['mcp-method'] !== 'tools/call') return undefined;
    const name = req.headers['mcp-name'];
    return typeof name === 'string' ? access.refusal(decodeHeaderValue(name)) : undefined;
  }

  async function handle(
    req: IncomingMessage,
    res: ServerResponse,
    next: () => void,
    context: RequestContext,
  ): Promise<void> {
    const settings = settingsOf(manager, context.site);
    if (!settings) return next();
    let auth: SiteAuth;
    try {
      auth = await siteAuth(settings, manager.sites.get(context.site)?.definition);
    } catch {
      sendProblem(
        res,
        503,
        `sign-in for ${context.site} is unavailable: its identity provider's metadata could not be fetched (see the front door log)`,
        context.requestId,
      );
      return;
    }
    const pathname = pathnameOf(req.url);
    const origin = originOf(req);

    if (pathname === PRM_PATH || pathname.startsWith(`${PRM_PATH}/`)) {
      const metadata = auth.servesPrm
        ? auth.protectedResourceMetadata(origin, pathname.slice(PRM_PATH.length))
        : undefined;
      if (!metadata)
        return sendProblem(res, 404, 'no protected resource metadata at this path', context.requestId);
      return json(res, 200, metadata, { 'access-control-allow-origin': '*' });
    }

    if (pathname.startsWith('/.auth/')) {
      const handled = await authEndpoint(req, res, auth, {
        origin,
        requestId: context.requestId,
        setting: async (name) => {
          const resolved = options.resolveSettings
            ? await options.resolveSettings({ [name]: settings.appSettings[name] ?? '' })
            : settings.appSettings;
          return resolved[name] || undefined;
        },
      });
      if (handled) return;
    }

    let outcome: Authentication;
    try {
      outcome = await auth.authenticate(req, (url) => context.routesHere(url));
    } catch (error) {
      log.error({ site: context.site, err: error, requestId: context.requestId }, 'token check failed');
      return sendProblem(
        res,
        500,
        'the token could not be checked; see the front door log',
        context.requestId,
      );
    }
    const isMcp = pathname === auth.mcpPath;
    const action = settings.auth.globalValidation.unauthenticatedClientAction;
    // An excluded path is served without sign-in: bad credentials there are ignored, not refused.
    if (outcome.kind === 'refused' && auth.excluded(pathname)) outcome = { kind: 'anonymous' };

    if (outcome.kind === 'refused' && outcome.via === 'session') {
      // A stale, altered or signed-out session cookie: cleared, and a page is sent to sign in again.
      res.setHeader('set-cookie', `${SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax`);
      const login = isPageRequest(req) && !isMcp ? loginRedirect(settings, req.url ?? '/') : undefined;
      if (login) {
        res.writeHead(302, { location: login, 'cache-control': 'no-store', 'content-length': 0 });
        res.end();
        return;
      }
      return refuse(res, context, 401, `not signed in: ${outcome.reason}`, auth.challenge(origin));
    }
    if (outcome.kind === 'refused') {
      log.info({ site: context.site, requestId: context.requestId, reason: outcome.reason }, 'token refused');
      return refuse(
        res,
        context,
        401,
        `invalid token: ${outcome.reason}`,
        auth.challenge(origin, outcome.reason),
      );
    }

    const { requireAuthentication } = settings.auth.globalValidation;
    if (outcome.kind === 'anonymous') {
      if (auth.excluded(pathname)) return next();
      if (requireAuthentication && action !== 'AllowAnonymous') {
        if (action === 'Return403' && !isMcp)
          return refuse(res, context, 403, 'this site admits signed-in callers only');
        if (action === 'RedirectToLoginPage' && !isMcp && isPageRequest(req)) {
          const login = loginRedirect(settings, req.url ?? '/');
          if (login) {
            res.writeHead(302, { location: login, 'cache-control': 'no-store', 'content-length': 0 });
            res.end();
            return;
          }
        }
        return refuse(
          res,
          context,
          401,
          'authentication required: send a bearer token',
          auth.challenge(origin),
        );
      }
    }

    const principal = outcome.kind === 'principal' ? outcome.principal : undefined;
    if (outcome.kind === 'principal') {
      const tokens = settings.auth.login.tokenStore.enabled ? outcome.tokens : undefined;
      Object.assign(req.headers, identityHeaders(outcome, tokens));
    }
    const toolAccess = auth.toolAccess(origin, principal?.scopes);
    setRequestIdentity(req, { principal, toolAccess });
    if (isMcp) {
      const refusal = headerRefusal(req, toolAccess);
      if (refusal)
        return refuse(res, context, refusal.status, refusal.message, refusal.headers['www-authenticate']);
    }
    return next();
  }

  /**
   * WebSocket upgrades are checked like requests (a bearer token or the session cookie): without
   * this, a middleware that only has `handle` would let every upgrade through unchecked.
   */
  async function upgrade(
    req: IncomingMessage,
    socket: Duplex,
    _head: Buffer,
    next: () => void,
    context: RequestContext,
  ): Promise<void> {
    const settings = settingsOf(manager, context.site);
    if (!settings) return next();
    let auth: SiteAuth;
    try {
      auth = await siteAuth(settings, manager.sites.get(context.site)?.definition);
    } catch {
      return socketProblem(socket, 503, `sign-in for ${context.site} is unavailable`, context.requestId);
    }
    const origin = originOf(req);
    const outcome = await auth.authenticate(req, (url) => context.routesHere(url));
    if (outcome.kind === 'refused')
      return socketProblem(socket, 401, `not signed in: ${outcome.reason}`, context.requestId, {
        'www-authenticate': auth.challenge(origin, outcome.via === 'session' ? undefined : outcome.reason),
      });
    if (outcome.kind === 'principal') {
      const tokens = settings.auth.login.tokenStore.enabled ? outcome.tokens : undefined;
      Object.assign(req.headers, identityHeaders(outcome, tokens));
      setRequestIdentity(req, { principal: outcome.principal });
      return next();
    }
    const { requireAuthentication, unauthenticatedClientAction } = settings.auth.globalValidation;
    if (
      !requireAuthentication ||
      unauthenticatedClientAction === 'AllowAnonymous' ||
      auth.excluded(pathnameOf(req.url))
    )
      return next();
    if (unauthenticatedClientAction === 'Return403')
      return socketProblem(socket, 403, 'this site admits signed-in callers only', context.requestId);
    return socketProblem(socket, 401, 'authentication required', context.requestId, {
      'www-authenticate': auth.challenge(origin),
    });
  }

  return {
    name: 'builtin-auth',
    applies: (_req, context) => manager.sites.get(context.site)?.definition.auth.platform.enabled === true,
    handle,
    upgrade,
    async start() {
      await Promise.all(
        [...manager.sites.keys()].map(async (site) => {
          const settings = settingsOf(manager, site);
          if (settings) await siteAuth(settings).catch(() => undefined);
        }),
      );
    },
  };
}

/** A browser navigating (GET/HEAD asking for HTML): sent to sign in rather than given a 401. */
function isPageRequest(req: IncomingMessage): boolean {
  return (req.method === 'GET' || req.method === 'HEAD') && /text\/html/.test(req.headers.accept ?? '');
}

/** Where a browser signs in: /.auth/login/<provider>, back to the page it asked for. */
function loginRedirect(settings: SiteAuthSettings, target: string): string | undefined {
  const { redirectToProvider } = settings.auth.globalValidation;
  const provider = redirectToProvider?.toLowerCase() ?? enabledProviderNames(settings)[0];
  if (!provider) return undefined;
  return `/.auth/login/${provider}?post_login_redirect_uri=${encodeURIComponent(target)}`;
}

function enabledProviderNames(settings: SiteAuthSettings): string[] {
  return providersOf(settings.auth)
    .filter((p) => p.enabled)
    .map((p) => p.name);
}

/** The X-MS-* headers for a verified caller; the ones made once per token are reused without the token store. */
function identityHeaders(
  outcome: Extract<Authentication, { kind: 'principal' }>,
  tokens: Parameters<typeof principalHeaders>[2],
): Record<string, string> {
  if (!tokens && outcome.headers) return outcome.headers;
  return principalHeaders(outcome.principal, outcome.provider.config.login.nameClaimType, tokens);
}
