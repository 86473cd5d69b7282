import type { SecurityRequirement, SecurityScheme } from '../invoke/plan.js';
import { isObject } from './pointer.js';

/**
 * The security schemes a document declares that Berth can fill from configured credentials:
 * API keys (header, query, cookie), HTTP bearer and basic, and OAuth2 client credentials (3.x
 * `flows.clientCredentials`, Swagger 2.0 `flow: application`). Others (OpenID Connect, mutual TLS,
 * interactive OAuth2 flows) need a person or a certificate and are left out.
 */
export function securitySchemes(document: Record<string, unknown>): Record<string, SecurityScheme> {
  const components = isObject(document.components) ? document.components : {};
  const declared = isObject(components.securitySchemes)
    ? components.securitySchemes
    : isObject(document.securityDefinitions)
      ? document.securityDefinitions
      : {};
  const out: Record<string, SecurityScheme> = {};
  for (const [name, raw] of Object.entries(declared)) {
    if (!isObject(raw)) continue;
    const scheme = toScheme(raw);
    if (scheme) Object.defineProperty(out, name, { value: scheme, enumerable: true });
  }
  return out;
}

function toScheme(raw: Record<string, unknown>): SecurityScheme | undefined {
  const type = typeof raw.type === 'string' ? raw.type.toLowerCase() : '';
  if (type === 'apikey' && typeof raw.name === 'string' && raw.name !== '') {
    const location = raw.in;
    if (location === 'header' || location === 'query' || location === 'cookie')
      return { type: 'apiKey', in: location, name: raw.name };
    return undefined;
  }
  if (type === 'http') {
    const scheme = typeof raw.scheme === 'string' ? raw.scheme.toLowerCase() : '';
    if (scheme === 'bearer' || scheme === 'basic') return { type: 'http', scheme };
    return undefined;
  }
  if (type === 'basic') return { type: 'http', scheme: 'basic' }; // Swagger 2.0
  if (type === 'oauth2') {
    const flows = isObject(raw.flows) ? raw.flows : undefined;
    const flow = flows && isObject(flows.clientCredentials) ? flows.clientCredentials : undefined;
    const tokenUrl =
      typeof flow?.tokenUrl === 'string'
        ? flow.tokenUrl
        : raw.flow === 'application' && typeof raw.tokenUrl === 'string'
          ? raw.tokenUrl
          : undefined;
    if (tokenUrl) return { type: 'oauth2', tokenUrl };
  }
  return undefined;
}

/**
 * An operation's security: its own `security`, else the document's. Each requirement is one way to
 * authenticate (all of its schemes together); an empty requirement means anonymous access is allowed.
 */
export function securityOf(
  document: Record<string, unknown>,
  op: Record<string, unknown>,
): SecurityRequirement[] | undefined {
  const raw = Array.isArray(op.security) ? op.security : document.security;
  if (!Array.isArray(raw)) return undefined;
  return raw.filter(isObject).map((requirement) =>
    Object.entries(requirement).map(([scheme, scopes]) => ({
      scheme,
      scopes: Array.isArray(scopes) ? scopes.filter((s): s is string => typeof s === 'string') : [],
    })),
  );
}

/**
 * The scopes each alternative of an operation's security asks for (any one alternative suffices):
 * what per-tool scopes read when berth.yaml's `mcp.scopes` names none for a tool. An empty list is
 * an alternative that needs no scope.
 */
export function scopeAlternatives(security: SecurityRequirement[]): string[][] {
  return security.map((requirement) => [
    ...new Set(requirement.flatMap((entry) => entry.scopes.filter((scope) => scope !== ''))),
  ]);
}
