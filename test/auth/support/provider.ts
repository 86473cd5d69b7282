import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import Provider from 'oidc-provider';

/**
 * A real OpenID provider (oidc-provider, certified) on loopback: every token the auth tests use
 * comes from it. Access tokens are JWTs (RFC 9068) for the resource the client names (RFC 8707),
 * with the scopes asked for. Sign-in is automatic: the interaction page signs in `account` and
 * grants what was asked (the tests' stand-in for a person clicking through; the protocol is real).
 */
export interface TestProvider {
  issuer: string;
  /** How many times the JWKS was fetched. */
  jwksFetches(): number;
  /** Token from the client-credentials grant (confidential clients), for `resource` and `scope`. */
  clientToken(clientId: string, resource: string, scope?: string): Promise<string>;
  /** Makes a new signing key the current one (the old one is dropped from the JWKS). */
  rotateKeys(): Promise<void>;
  /** The user the next sign-in signs in. */
  account: string;
  /** Replaces the site client's redirect URIs (known once the front door listens). */
  setRedirectUris(uris: string[]): void;
  close(): Promise<void>;
}

export const SCOPES = ['mcp:access', 'tools:read', 'tools:admin', 'tools:secrets'];

export const CLIENTS = {
  /** A confidential client: the site's own registration (browser sign-in), client credentials. */
  site: { id: 'site-app', secret: 'site-app-secret-value' },
  /** Another application of the same tenant. */
  other: { id: 'other-app', secret: 'other-app-secret-value' },
  /** A public client with PKCE: an MCP client such as the SDK's. */
  mcp: { id: 'mcp-client' },
};

async function signingKey(): Promise<JWK> {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = await exportJWK(privateKey);
  return { ...jwk, alg: 'RS256', use: 'sig', kid: `k-${Math.random().toString(36).slice(2, 10)}` };
}

export async function startProvider(
  options: { redirectUris?: string[]; accessTokenTtl?: number } = {},
): Promise<TestProvider> {
  let jwksFetches = 0;
  let provider: Provider;
  let keys = [await signingKey()];
  let redirectUris = options.redirectUris ?? ['http://127.0.0.1/callback'];
  const state = { account: 'alice' };
  const accounts: Record<string, Record<string, unknown>> = {
    alice: { name: 'Alice Example', email: 'alice@example.test', roles: ['reader'] },
    bob: { name: 'Bob Example', email: 'bob@example.test', roles: ['admin'] },
  };

  const build = (issuer: string) => {
    const p = new Provider(issuer, {
      clients: [
        {
          client_id: CLIENTS.site.id,
          client_secret: CLIENTS.site.secret,
          grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
          response_types: ['code'],
          redirect_uris: redirectUris,
          token_endpoint_auth_method: 'client_secret_post',
        },
        {
          client_id: CLIENTS.other.id,
          client_secret: CLIENTS.other.secret,
          grant_types: ['client_credentials'],
          response_types: [],
          redirect_uris: [],
          token_endpoint_auth_method: 'client_secret_post',
        },
        {
          client_id: CLIENTS.mcp.id,
          grant_types: ['authorization_code', 'refresh_token'],
          response_types: ['code'],
          redirect_uris: ['http://127.0.0.1/oauth/callback'],
          token_endpoint_auth_method: 'none',
        },
      ],
      jwks: { keys },
      scopes: ['openid', 'offline_access', ...SCOPES],
      claims: { openid: ['sub'], profile: ['name'], email: ['email'], roles: ['roles'] },
      findAccount: (_ctx, id) => ({
        accountId: id,
        claims: () => ({ sub: id, ...accounts[id] }),
      }),
      pkce: { required: () => true },
      // Profile claims in the ID token itself (as Entra does), not only at userinfo.
      conformIdTokenClaims: false,
      ttl: { AccessToken: options.accessTokenTtl ?? 3600, ClientCredentials: options.accessTokenTtl ?? 3600 },
      features: {
        devInteractions: { enabled: false },
        clientCredentials: { enabled: true },
        resourceIndicators: {
          enabled: true,
          defaultResource: () => undefined as unknown as string,
          useGrantedResource: () => true,
          getResourceServerInfo: (_ctx, resource) => ({
            scope: SCOPES.join(' '),
            audience: resource,
            accessTokenFormat: 'jwt',
            accessTokenTTL: options.accessTokenTtl ?? 3600,
            jwt: { sign: { alg: 'RS256' } },
          }),
        },
        rpInitiatedLogout: { enabled: true, logoutSource: defaultLogoutSource },
      },
      // Entra's tokens say which application they were issued to; oidc-provider's say client_id.
      // The site's browser sessions get a refresh token without offline_access (for /.auth/refresh).
      issueRefreshToken: (_ctx, client) => client.grantTypeAllowed('refresh_token'),
      // nbf too, so that the not-yet-valid rule has a claim to act on.
      extraTokenClaims: (_ctx, token) => ({
        azp: (token as { clientId?: string }).clientId,
        nbf: Math.floor(Date.now() / 1000),
      }),
      interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
      cookies: { keys: ['test-provider-cookie-key'] },
    });
    p.proxy = false;
    return p;
  };

  /** The interaction page: signs in `account` and grants whatever the client asked for. */
  async function interaction(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const details = await provider.interactionDetails(req, res);
    const accountId = (details.session?.accountId as string | undefined) ?? state.account;
    const grant = details.grantId
      ? (await provider.Grant.find(details.grantId))!
      : new provider.Grant({ accountId, clientId: details.params.client_id as string });
    const missing = details.prompt.details as {
      missingOIDCScope?: string[];
      missingResourceScopes?: Record<string, string[]>;
    };
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    for (const [resource, scopes] of Object.entries(missing.missingResourceScopes ?? {}))
      grant.addResourceScope(resource, scopes.join(' '));
    const grantId = await grant.save();
    await provider.interactionFinished(
      req,
      res,
      { login: { accountId }, consent: { grantId } },
      { mergeWithLastSubmission: false },
    );
  }

  const server: Server = createServer((req, res) => {
    if (req.url?.startsWith('/jwks')) jwksFetches++;
    if (req.url?.startsWith('/interaction/')) {
      interaction(req, res).catch((error: Error) => {
        res.statusCode = 500;
        res.end(error.message);
      });
      return;
    }
    void provider.callback()(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  provider = build(issuer);

  return {
    issuer,
    jwksFetches: () => jwksFetches,
    get account() {
      return state.account;
    },
    set account(value: string) {
      state.account = value;
    },
    async clientToken(clientId, resource, scope = SCOPES.join(' ')) {
      const secret = clientId === CLIENTS.site.id ? CLIENTS.site.secret : CLIENTS.other.secret;
      const response = await fetch(`${issuer}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: clientId,
          client_secret: secret,
          resource,
          scope,
        }),
      });
      const body = (await response.json()) as { access_token?: string; error_description?: string };
      if (!body.access_token) throw new Error(`no token: ${JSON.stringify(body)}`);
      return body.access_token;
    },
    setRedirectUris(uris) {
      redirectUris = uris;
      provider = build(issuer);
    },
    async rotateKeys() {
      keys = [await signingKey()];
      provider = build(issuer);
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function defaultLogoutSource(ctx: { body: unknown }, form: string): Promise<void> {
  ctx.body = `<!DOCTYPE html><html><body>${form}<script>document.forms[0].submit()</script></body></html>`;
}
