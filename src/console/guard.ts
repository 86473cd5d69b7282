import type { FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import { hostNameOf, isLoopbackHost } from '../lib/listen.js';
import type { Logger } from '../lib/logger.js';
import { readCredentials } from '../lib/credentials.js';
import type { FailureLimitConfig } from '../lib/failure-limit.js';
import { HtpasswdUsers, PasswordCheckRefused } from '../lib/htpasswd.js';
import { PAGE_PATHS } from './static.js';

export interface ConsoleGuardOptions {
  /** The address the console binds; on loopback only loopback Host names (and allowedHosts) are answered. */
  listenHost: string;
  allowedHosts: string[];
  /** Absolute path of the htpasswd file; unset means no authentication (loopback only). */
  htpasswd?: string;
  /** console.authFailureLimit: wrong passwords per client address before 429. */
  authFailureLimit?: FailureLimitConfig;
  logger: Logger;
}

export type Refusal = { status: 401 | 403 | 429 | 503; detail: string; retryAfter?: number };
const REALM = 'Basic realm="berth console", charset="UTF-8"';
const TITLES = {
  401: 'Unauthorized',
  403: 'Forbidden',
  429: 'Too Many Requests',
  503: 'Service Unavailable',
} as const;

/**
 * The console deploys sites and reads every log, so it refuses, before any route runs:
 * - a Host it does not serve (DNS rebinding: a web page whose name resolves to 127.0.0.1);
 * - a browser request from another origin (cross-site requests carry an Origin the page cannot fake);
 * - an API request a browser made for another site (see `crossSiteRefusal`);
 * - with an htpasswd file, a request without valid Basic credentials.
 * Bound to a non-loopback address without an htpasswd file, it does not start at all (fail closed).
 */
export function consoleGuard(options: ConsoleGuardOptions): onRequestAsyncHookHandler {
  const loopback = isLoopbackHost(options.listenHost);
  if (!loopback && !options.htpasswd) {
    throw new Error(
      `console.listen binds ${options.listenHost}, which other machines can reach, and console.htpasswd is not set: ` +
        'the console would let anyone deploy and read logs. Set console.htpasswd or bind to 127.0.0.1.',
    );
  }
  const allowed = new Set(options.allowedHosts.map((h) => h.toLowerCase()));
  const users = options.htpasswd
    ? new HtpasswdUsers(options.htpasswd, options.logger, 'console.htpasswd', {
        failureLimit: options.authFailureLimit,
      })
    : undefined;

  return async (request: FastifyRequest, reply: FastifyReply) => {
    const refusal =
      hostOrOriginRefusal(request.headers.host, request.headers.origin, loopback, allowed) ??
      crossSiteRefusal(request.url, request.headers);
    const denied =
      refusal ?? (users ? await credentialsRefusal(request.headers, users, request.ip) : undefined);
    if (!denied) return;
    if (denied.status === 401) reply.header('www-authenticate', REALM);
    if (denied.retryAfter !== undefined) reply.header('retry-after', String(denied.retryAfter));
    reply.code(denied.status).type('application/problem+json').send({
      type: 'about:blank',
      title: TITLES[denied.status],
      status: denied.status,
      detail: denied.detail,
    });
    return reply;
  };
}

export function hostOrOriginRefusal(
  host: string | undefined,
  origin: string | undefined,
  loopback: boolean,
  allowed: Set<string>,
): Refusal | undefined {
  const name = host ? hostNameOf(host) : '';
  if (!name) return { status: 403, detail: 'a Host header is required' };
  // On loopback the loopback names are served; elsewhere any name unless allowedHosts narrows it.
  const served = allowed.has(name) || (loopback ? isLoopbackHost(name) : allowed.size === 0);
  if (!served) {
    return {
      status: 403,
      detail: `the console does not answer for Host "${name}"; add it to console.allowedHosts`,
    };
  }
  if (origin !== undefined && originAuthority(origin) !== host!.toLowerCase()) {
    return { status: 403, detail: 'cross-origin requests to the console are refused' };
  }
  return undefined;
}

/** The header the console's page and the CLI send on every API request; its value is not checked. */
const REQUESTED_BY = 'x-requested-by';

/**
 * A simple GET (an `<img>` or `<script>` on a hosted site) carries no Origin, so the check above
 * cannot see it. Browsers say where a request comes from in `Sec-Fetch-Site`: the API answers only
 * `same-origin` (the console's own page: its fetches and its live stream) and `none` (the address bar).
 * `same-site` is refused too: sites on `*.localhost` are the same site as a console on `localhost`.
 * A request without `Sec-Fetch-Site` (a browser too old to send it, or curl and the CLI) must carry
 * `X-Requested-By`; a page cannot add a custom header to another origin's request without a CORS
 * preflight, which the console never answers.
 */
export function crossSiteRefusal(url: string, headers: FastifyRequest['headers']): Refusal | undefined {
  if (!isApiPath(url)) return undefined;
  const site = headers['sec-fetch-site'];
  if (site !== undefined) {
    if (site === 'same-origin' || site === 'none') return undefined;
    return {
      status: 403,
      detail: `the console API refuses requests from other sites (Sec-Fetch-Site: ${site === 'cross-site' || site === 'same-site' ? site : 'unrecognised'})`,
    };
  }
  if (headers[REQUESTED_BY]) return undefined;
  return {
    status: 403,
    detail: 'the console API needs an X-Requested-By header (for example X-Requested-By: berth)',
  };
}

/** `/api/...`, Kudu's `/logstream...`: everything but the page and its assets (so fail closed). */
function isApiPath(url: string): boolean {
  return !PAGE_PATHS.has(url.split('?')[0]!);
}

async function credentialsRefusal(
  headers: FastifyRequest['headers'],
  users: HtpasswdUsers,
  client: string,
): Promise<Refusal | undefined> {
  const credentials = readCredentials(headers);
  if (credentials.kind === 'none') {
    return { status: 401, detail: 'the console needs a user name and password (HTTP Basic)' };
  }
  if (credentials.kind !== 'basic') return { status: 401, detail: 'wrong user name or password' };
  try {
    const ok = await users.verify(credentials.user, credentials.password, client);
    return ok ? undefined : { status: 401, detail: 'wrong user name or password' };
  } catch (error) {
    if (!(error instanceof PasswordCheckRefused)) throw error;
    return { status: error.status, detail: error.message, retryAfter: error.retryAfter };
  }
}

/** "http://127.0.0.1:8090" → "127.0.0.1:8090"; "null" and garbage → "" (never equal to a Host). */
function originAuthority(origin: string): string {
  try {
    return new URL(origin).host.toLowerCase();
  } catch {
    return '';
  }
}
