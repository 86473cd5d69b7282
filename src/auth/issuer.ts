import type { AuthProvider } from '../config/index.js';
import { fetchJson } from './fetch-json.js';
import { KeySet } from './key-set.js';

/** The parts of an OpenID provider's metadata the front door uses. */
export interface IssuerMetadata {
  issuer: string;
  jwks_uri: string;
  authorization_endpoint?: string;
  token_endpoint?: string;
  end_session_endpoint?: string;
  code_challenge_methods_supported?: string[];
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

function checkEndpoint(value: unknown, field: string, source: string): void {
  if (value === undefined) return;
  let url: URL;
  try {
    url = new URL(String(value));
  } catch {
    throw new Error(`${source}: ${field} is not a URL`);
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK.has(url.hostname)))
    throw new Error(`${source}: ${field} must be https (http only on loopback)`);
}

/** The well-known metadata URL of an issuer (OpenID Connect Discovery 1.0 §4). */
export function metadataUrlOf(provider: AuthProvider): string {
  if (provider.metadataUrl) return provider.metadataUrl;
  return `${provider.issuer!.replace(/\/+$/, '')}/.well-known/openid-configuration`;
}

/** An OpenID provider as discovered at start: its metadata and its signing keys. */
export interface Issuer {
  provider: AuthProvider;
  metadata: IssuerMetadata;
  keys: KeySet;
}

/**
 * Fetches the provider's metadata and keys. The metadata's `issuer` must be the configured one
 * (OpenID Connect Discovery §4.3), so a hijacked document cannot name another issuer.
 */
export async function discoverIssuer(provider: AuthProvider, now?: () => number): Promise<Issuer> {
  const url = metadataUrlOf(provider);
  const doc = (await fetchJson(url, 'OpenID metadata')) as Partial<IssuerMetadata> | null;
  if (!doc || typeof doc.issuer !== 'string' || typeof doc.jwks_uri !== 'string')
    throw new Error(`the OpenID metadata at ${url} has no issuer or jwks_uri`);
  if (provider.issuer && doc.issuer !== provider.issuer)
    throw new Error(
      `the OpenID metadata at ${url} names issuer ${doc.issuer}, not the configured ${provider.issuer}`,
    );
  for (const field of [
    'jwks_uri',
    'authorization_endpoint',
    'token_endpoint',
    'end_session_endpoint',
  ] as const)
    checkEndpoint(doc[field], field, url);
  const keys = new KeySet(doc.jwks_uri, now);
  await keys.load();
  return { provider, metadata: doc as IssuerMetadata, keys };
}
