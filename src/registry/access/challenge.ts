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

export function denied(message: string): Denied {
  return { allowed: false, status: 403, code: 'DENIED', message, headers: {} };
}

/** The token endpoint's absolute URL, from config or from the request's Host header. */
export function realmFor(
  headers: Record<string, string | string[] | undefined>,
  configured: string | undefined,
  path: string,
): string {
  if (configured) return configured;
  const first = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);
  const proto = first(headers['x-forwarded-proto'])?.split(',')[0]?.trim() === 'https' ? 'https' : 'http';
  const host =
    first(headers['x-forwarded-host'])?.split(',')[0]?.trim() || first(headers.host) || 'localhost';
  return `${proto}://${host}${path}`;
}
