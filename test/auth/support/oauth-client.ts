import type { OAuthClientProvider } from '@modelcontextprotocol/client';
import { CLIENTS } from './provider.js';

export const REDIRECT = 'http://127.0.0.1/oauth/callback';

type Tokens = Awaited<ReturnType<OAuthClientProvider['tokens']>>;

/**
 * The MCP SDK's OAuthClientProvider for a pre-registered public client (PKCE, no secret), kept in
 * memory. `redirectToAuthorization` plays the browser: it follows the provider's redirects (with
 * its cookies) through the sign-in, which the test provider completes at once, and keeps the code
 * the provider sends to the redirect URI. The SDK then throws UnauthorizedError, as after a real
 * redirect; the test hands the code to `transport.finishAuth`, as a callback page would.
 */
export class TestOAuthClient implements OAuthClientProvider {
  private saved: Tokens;
  private verifier = '';
  /** Every authorization URL the SDK sent the "browser" to. */
  authorizations: URL[] = [];
  /** The last redirect back: code and iss (RFC 9207). */
  callback: { code: string; iss?: string } | undefined;

  get redirectUrl(): string {
    return REDIRECT;
  }

  get clientMetadata() {
    return {
      client_name: 'berth-test',
      redirect_uris: [REDIRECT],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
  }

  clientInformation() {
    return { client_id: CLIENTS.mcp.id };
  }

  tokens(): Tokens {
    return this.saved;
  }

  saveTokens(tokens: NonNullable<Tokens>): void {
    this.saved = tokens;
  }

  private discovery: unknown;

  saveDiscoveryState(state: unknown): void {
    this.discovery = state;
  }

  discoveryState() {
    return this.discovery as never;
  }

  saveCodeVerifier(verifier: string): void {
    this.verifier = verifier;
  }

  codeVerifier(): string {
    return this.verifier;
  }

  async redirectToAuthorization(url: URL): Promise<void> {
    this.authorizations.push(url);
    const cookies = new Map<string, string>();
    let next = url.href;
    for (let hop = 0; hop < 10; hop++) {
      const response = await fetch(next, {
        redirect: 'manual',
        headers: { cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join('; ') },
      });
      for (const line of response.headers.getSetCookie()) {
        const [pair] = line.split(';');
        const eq = pair!.indexOf('=');
        cookies.set(pair!.slice(0, eq), pair!.slice(eq + 1));
      }
      await response.text();
      const location = response.headers.get('location');
      if (!location) throw new Error(`the sign-in stopped at ${next} with ${response.status}`);
      const target = new URL(location, next);
      if (target.href.startsWith(REDIRECT)) {
        const error = target.searchParams.get('error');
        if (error)
          throw new Error(`the provider refused: ${error} ${target.searchParams.get('error_description')}`);
        this.callback = {
          code: target.searchParams.get('code')!,
          iss: target.searchParams.get('iss') ?? undefined,
        };
        return;
      }
      next = target.href;
    }
    throw new Error('too many redirects during sign-in');
  }
}
