import type { AccessDecision } from './types.js';

type Denied = Extract<AccessDecision, { allowed: false }>;

/** Quotes a value for a WWW-Authenticate parameter (RFC 9110 quoted-string). */
function quote(value: string): string {
  return `"${value.replace(/["\\]/g, '\\$&')}"`;
}

export function basicChallenge(realm: string): string {
  return `Basic realm=${quote(realm)}`;
}

export function bearerChallenge(
  realm: string,
  service: string,
  scope?: string,
  error?: 'invalid_token' | 'insufficient_scope',
): string {
  const params = [`realm=${quote(realm)}`, `service=${quote(service)}`];
  if (scope) params.push(`scope=${quote(scope)}`);
  if (error) params.push(`error=${quote(error)}`);
  return `Bearer ${params.join(',')}`;
}

export function unauthorized(challenge: string, message: string): Denied {
  return {
    allowed: false,
    status: 401,
    code: 'UNAUTHORIZED',
    message,
    headers: { 'www-authenticate': challenge },
  };
}

/** A password check refused before it was made (failure limit, or every bcrypt worker busy). */
export function throttled(status: 429 | 503, retryAfter: number, message: string): Denied {
  return {
    allowed: false,
    status,
    code: 'TOOMANYREQUESTS',
    message,
    headers: { 'retry-after': String(retryAfter) },
  };
}

export function denied(message: string): Denied {
  return { allowed: false, status: 403, code: 'DENIED', message, headers: {} };
}

/** A host with an optional port, as it may appear in a realm URL (a name, IPv4 or [IPv6]). */
const HOST = /^(?:[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,251}[A-Za-z0-9_])?|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

type Headers = Record<string, string | string[] | undefined>;

function first(value: string | string[] | undefined): string | undefined {
  return (Array.isArray(value) ? value[0] : value)?.split(',')[0]?.trim();
}

/** `host` and `proto` of the first (client-nearest proxy's) element of an RFC 7239 `Forwarded` header. */
function forwarded(headers: Headers): { host?: string; proto?: string } {
  const element = first(headers.forwarded);
  const result: { host?: string; proto?: string } = {};
  for (const pair of element?.split(';') ?? []) {
    const [name, raw] = pair.split('=', 2).map((p) => p.trim());
    const value = raw?.replace(/^"(.*)"$/, '$1');
    if (name?.toLowerCase() === 'host') result.host = value;
    if (name?.toLowerCase() === 'proto') result.proto = value?.toLowerCase();
  }
  return result;
}

/**
 * The token endpoint's absolute URL: the configured realm, else `http://<Host header><path>`. The
 * `Forwarded` and `X-Forwarded-Host`/`-Proto` headers are used only with `trustForwarded`
 * (registry.auth.token.trustForwardedHeaders): any client can send them, and a realm built from them
 * tells clients where to send their passwords. A host that is not a plain host[:port] is ignored.
 */
export function realmFor(
  headers: Headers,
  configured: string | undefined,
  path: string,
  trustForwarded = false,
): string {
  if (configured) return configured;
  const valid = (host: string | undefined) => (host && HOST.test(host) ? host : undefined);
  let proto = 'http';
  let host = valid(first(headers.host));
  if (trustForwarded) {
    const fwd = forwarded(headers);
    const forwardedProto = fwd.proto ?? first(headers['x-forwarded-proto'])?.toLowerCase();
    if (forwardedProto === 'https' || forwardedProto === 'http') proto = forwardedProto;
    host = valid(fwd.host) ?? valid(first(headers['x-forwarded-host'])) ?? host;
  }
  return `${proto}://${host ?? 'localhost'}${path}`;
}
