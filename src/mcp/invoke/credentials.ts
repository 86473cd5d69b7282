import type { SecurityRequirement, SecurityScheme } from './plan.js';
import type { UpstreamRequest } from './request.js';
import { send, UpstreamFailure } from './send.js';
import { encodeComponent } from './serialize.js';

/** Refresh a token this long before the expiry its endpoint announced. */
const EXPIRY_MARGIN_MS = 30_000;

export interface CredentialOptions {
  /** The document's security schemes that can be filled (from `securitySchemes`). */
  schemes: Record<string, SecurityScheme>;
  /**
   * Secret values by scheme name, already resolved from where the operator keeps them: an API key or
   * bearer token as it is sent; `user:password` for HTTP basic; `client_id:client_secret` for OAuth2
   * client credentials.
   */
  values: Record<string, string>;
  timeoutMs: number;
}

interface CachedToken {
  token: Promise<{ value: string; expiresAt: number }>;
}

/**
 * Fills an upstream request's credentials from the operation's security requirements: the first
 * requirement whose schemes all have a configured value is used. Nothing configured for an operation
 * leaves the request as it was (the API decides). Values never appear in messages or logs.
 */
export class CredentialApplier {
  private readonly tokens = new Map<string, CachedToken>();

  constructor(private readonly options: CredentialOptions) {}

  /** Whether any credential is configured at all. */
  get active(): boolean {
    return Object.keys(this.options.values).length > 0;
  }

  async apply(
    security: SecurityRequirement[] | undefined,
    request: UpstreamRequest,
    signal: AbortSignal,
  ): Promise<void> {
    if (!security || !this.active) return;
    const usable = security.find(
      (requirement) =>
        requirement.length > 0 &&
        requirement.every(
          ({ scheme }) =>
            Object.hasOwn(this.options.values, scheme) && Object.hasOwn(this.options.schemes, scheme),
        ),
    );
    if (!usable) return;
    for (const { scheme, scopes } of usable) {
      await this.fill(
        scheme,
        this.options.schemes[scheme]!,
        this.options.values[scheme]!,
        scopes,
        request,
        signal,
      );
    }
  }

  private async fill(
    name: string,
    scheme: SecurityScheme,
    value: string,
    scopes: string[],
    request: UpstreamRequest,
    signal: AbortSignal,
  ): Promise<void> {
    switch (scheme.type) {
      case 'apiKey':
        if (scheme.in === 'header') request.headers[scheme.name.toLowerCase()] = value;
        else if (scheme.in === 'query') {
          const pair = `${encodeComponent(scheme.name)}=${encodeComponent(value)}`;
          request.path += `${request.path.includes('?') ? '&' : '?'}${pair}`;
        } else {
          const pair = `${scheme.name}=${encodeComponent(value)}`;
          request.headers.cookie = request.headers.cookie ? `${request.headers.cookie}; ${pair}` : pair;
        }
        return;
      case 'http':
        request.headers.authorization =
          scheme.scheme === 'bearer'
            ? `Bearer ${value}`
            : `Basic ${Buffer.from(value, 'utf8').toString('base64')}`;
        return;
      case 'oauth2':
        request.headers.authorization = `Bearer ${await this.token(name, scheme.tokenUrl, value, scopes, signal)}`;
        return;
    }
  }

  /** An OAuth2 client-credentials token, fetched once and reused until shortly before it expires. */
  private async token(
    name: string,
    tokenUrl: string,
    value: string,
    scopes: string[],
    signal: AbortSignal,
  ): Promise<string> {
    const key = `${name}\0${[...scopes].sort().join(' ')}`;
    const cached = this.tokens.get(key);
    if (cached) {
      try {
        const token = await cached.token;
        if (token.expiresAt > Date.now()) return token.value;
      } catch {
        // a failed fetch is not cached: try again
      }
    }
    const fetching = fetchToken(tokenUrl, value, scopes, this.options.timeoutMs, signal);
    this.tokens.set(key, { token: fetching });
    try {
      return (await fetching).value;
    } catch (error) {
      this.tokens.delete(key);
      throw error;
    }
  }
}

async function fetchToken(
  tokenUrl: string,
  value: string,
  scopes: string[],
  timeoutMs: number,
  signal: AbortSignal,
): Promise<{ value: string; expiresAt: number }> {
  const colon = value.indexOf(':');
  if (colon <= 0)
    throw new UpstreamFailure(
      `the OAuth2 credential must be "client_id:client_secret" (token endpoint ${tokenUrl})`,
    );
  const url = new URL(tokenUrl);
  // RFC 6749 §2.3.1: the client authenticates with HTTP Basic, each part form-encoded first.
  const basic = Buffer.from(
    `${encodeComponent(value.slice(0, colon))}:${encodeComponent(value.slice(colon + 1))}`,
  ).toString('base64');
  const body = `grant_type=client_credentials${scopes.length > 0 ? `&scope=${encodeComponent(scopes.join(' '))}` : ''}`;
  const response = await send(
    {
      origin: url.origin,
      path: `${url.pathname}${url.search}`,
      method: 'POST',
      headers: {
        authorization: `Basic ${basic}`,
        'content-type': 'application/x-www-form-urlencoded',
        accept: 'application/json',
        'user-agent': 'berth-mcp',
      },
      body,
    },
    { timeoutMs, maxResponseBytes: 64 * 1024, signal },
  );
  let parsed: { access_token?: unknown; expires_in?: unknown; error?: unknown } = {};
  try {
    parsed = JSON.parse(response.body.toString('utf8')) as typeof parsed;
  } catch {
    // reported below
  }
  if (response.status !== 200 || typeof parsed.access_token !== 'string') {
    const reason = typeof parsed.error === 'string' ? ` (${parsed.error.slice(0, 100)})` : '';
    throw new UpstreamFailure(`the token request to ${tokenUrl} failed: HTTP ${response.status}${reason}`);
  }
  const seconds = typeof parsed.expires_in === 'number' && parsed.expires_in > 0 ? parsed.expires_in : 300;
  return { value: parsed.access_token, expiresAt: Date.now() + seconds * 1000 - EXPIRY_MARGIN_MS };
}
