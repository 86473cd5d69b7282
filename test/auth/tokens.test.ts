import { test } from 'node:test';
import { connect } from 'node:net';
import assert from 'node:assert/strict';
import { SignJWT, UnsecuredJWT, exportJWK, generateKeyPair, decodeProtectedHeader } from 'jose';
import { call } from '../sites/helpers.js';
import { authHarness, authSection, type AuthHarness } from './support/site.js';
import { CLIENTS, startProvider } from './support/provider.js';

// Issue 13, items 2 and 9: the front door checks tokens as a careful resource server does. Every
// good token comes from a real OpenID provider (oidc-provider on loopback); the bad ones are what
// an attacker can make without the provider's key.

interface Echo {
  headers: Record<string, string>;
  url: string;
}

const get = (h: AuthHarness, path: string, headers: Record<string, string> = {}) =>
  call(h.frontdoor.port, h.host, path, { headers });

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

test('a site with auth on: no token or a bad one never reaches the app; a good one does, with the principal headers', async (t) => {
  const h = await authHarness(t, {
    auth: (issuer) =>
      authSection(
        issuer,
        {},
        {
          defaultAuthorizationPolicy: { allowedApplications: [CLIENTS.site.id] },
        },
      ),
  });
  const none = await get(h, '/x');
  assert.equal(none.status, 401);
  // No MCP and no PRM setting: a plain challenge, no metadata URL that would answer 404.
  assert.equal(none.headers['www-authenticate'], 'Bearer realm="app"');
  assert.equal(JSON.parse(none.body).status, 401, 'problem+json from the front door, not the app');

  const token = await h.provider.clientToken(CLIENTS.site.id, h.origin, 'tools:read');
  const ok = await get(h, '/x', {
    ...bearer(token),
    // Forged copies: the front door's values replace them.
    'x-ms-client-principal-name': 'admin',
    'X-MS-CLIENT-PRINCIPAL-ID': 'forged',
  });
  assert.equal(ok.status, 200, ok.body);
  const echo = JSON.parse(ok.body) as Echo;
  assert.equal(echo.headers['x-ms-client-principal-idp'], 'test');
  assert.equal(
    echo.headers['x-ms-client-principal-id'],
    CLIENTS.site.id,
    'sub of a client-credentials token',
  );
  assert.notEqual(echo.headers['x-ms-client-principal-name'], 'admin');
  const principal = JSON.parse(Buffer.from(echo.headers['x-ms-client-principal']!, 'base64').toString()) as {
    auth_typ: string;
    claims: { typ: string; val: string }[];
    name_typ: string;
    role_typ: string;
  };
  assert.equal(principal.auth_typ, 'test');
  assert.equal(principal.role_typ, 'roles');
  assert.ok(principal.claims.some((c) => c.typ === 'iss' && c.val === h.provider.issuer));
  assert.ok(principal.claims.some((c) => c.typ === 'scope' && c.val === 'tools:read'));
  assert.ok(principal.claims.every((c) => typeof c.val === 'string'));
  // The token store is off: no provider token reaches the app.
  assert.equal(echo.headers['x-ms-token-test-access-token'], undefined);
});

test('refused: wrong audience, another issuer, another application, alg none, HMAC with the public key, a foreign key, malformed and oversized', async (t) => {
  const h = await authHarness(t, {
    auth: (issuer) =>
      authSection(
        issuer,
        {},
        {
          defaultAuthorizationPolicy: { allowedApplications: [CLIENTS.site.id] },
        },
      ),
  });
  const other = await startProvider();
  t.after(() => other.close());
  const good = await h.provider.clientToken(CLIENTS.site.id, h.origin);
  const header = decodeProtectedHeader(good);
  const payload = JSON.parse(Buffer.from(good.split('.')[1]!, 'base64url').toString()) as Record<
    string,
    unknown
  >;

  // A token the provider issued for another resource (RFC 8707): meant for another site.
  const otherResource = await h.provider.clientToken(CLIENTS.site.id, 'http://other.localhost:1/mcp');
  // A real token from another issuer.
  const otherIssuer = await other.clientToken(CLIENTS.site.id, h.origin);
  // A real token for this resource, issued to an application the site does not allow.
  const otherApp = await h.provider.clientToken(CLIENTS.other.id, h.origin);
  // Forgeries: the same claims, unsigned; HMAC keyed with the public key; signed with a key of our own.
  const none = new UnsecuredJWT(payload).encode();
  const jwks = (await (await fetch(`${h.provider.issuer}/jwks`)).json()) as { keys: { n: string }[] };
  const hmac = await new SignJWT(payload)
    .setProtectedHeader({ alg: 'HS256', kid: header.kid })
    .sign(new TextEncoder().encode(jwks.keys[0]!.n));
  const { privateKey } = await generateKeyPair('RS256');
  const foreign = await new SignJWT(payload)
    .setProtectedHeader({ alg: 'RS256', kid: header.kid })
    .sign(privateKey);
  const tampered = `${good.split('.')[0]}.${Buffer.from(JSON.stringify({ ...payload, sub: 'admin' })).toString('base64url')}.${good.split('.')[2]}`;

  const cases: [string, string, RegExp][] = [
    ['another resource', otherResource, /another audience/],
    ['another issuer', otherIssuer, /another issuer/],
    ['another application', otherApp, /application this site does not allow/],
    ['alg none', none, /allowed algorithm|malformed/],
    ['HMAC with the public key', hmac, /allowed algorithm/],
    ['a foreign key under the issuer kid', foreign, /signature/],
    ['tampered claims', tampered, /signature/],
    ['not a JWT', 'abc.def', /malformed/],
    ['oversized', `${'a'.repeat(10_000)}.b.c`, /longer than 8 KiB/],
  ];
  for (const [what, token, reason] of cases) {
    const reply = await get(h, '/x', bearer(token));
    assert.equal(reply.status, 401, what);
    const challenge = String(reply.headers['www-authenticate']);
    assert.match(challenge, /error="invalid_token"/, what);
    assert.match(challenge, reason, `${what}: ${challenge}`);
    assert.ok(!reply.body.includes(token.slice(0, 40)), `${what}: the token is not echoed`);
  }
  // Past node's 16 KiB head limit the front door itself refuses the request head.
  assert.equal((await get(h, '/x', bearer('a'.repeat(20_000)))).status, 431);
  const basic = await get(h, '/x', { authorization: 'Basic YTpi' });
  assert.equal(basic.status, 401);
  // The good token still works after all that.
  assert.equal((await get(h, '/x', bearer(good))).status, 200);
});

test('an unknown kid flood costs no JWKS fetch within the 30 s cooldown', async (t) => {
  const h = await authHarness(t, {});
  assert.equal(h.provider.jwksFetches(), 1, 'the keys were fetched once, at start');
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  void (await exportJWK(publicKey));
  const replies = await Promise.all(
    Array.from({ length: 200 }, async (_, i) => {
      const token = await new SignJWT({ sub: 'x', aud: h.origin, iss: h.provider.issuer })
        .setProtectedHeader({ alg: 'ES256', kid: `made-up-${i}` })
        .setExpirationTime('1h')
        .sign(privateKey);
      return (await get(h, '/x', bearer(token))).status;
    }),
  );
  assert.deepEqual(new Set(replies), new Set([401]));
  assert.equal(h.provider.jwksFetches(), 1, 'no fetch per request');
});

test('excludedPaths pass without a token; AllowAnonymous passes, but a bad token is still refused', async (t) => {
  const h = await authHarness(t, {
    auth: (issuer) => authSection(issuer, { globalValidation: { excludedPaths: ['/public/*', '/health'] } }),
  });
  assert.equal((await get(h, '/public/a')).status, 200);
  assert.equal((await get(h, '/public/a', bearer('a.b.c'))).status, 200, 'bad credentials ignored there');
  assert.equal((await get(h, '/health')).status, 200);
  assert.equal((await get(h, '/healthz')).status, 401);
  const anon = await authHarness(t, {
    name: 'anon',
    auth: (issuer) =>
      authSection(issuer, { globalValidation: { unauthenticatedClientAction: 'AllowAnonymous' } }),
  });
  const reply = await get(anon, '/x');
  assert.equal(reply.status, 200);
  assert.equal((JSON.parse(reply.body) as Echo).headers['x-ms-client-principal'], undefined);
  assert.equal((await get(anon, '/x', bearer('a.b.c'))).status, 401);
});

test('Return403 answers 403; the token store hands provider tokens to the app', async (t) => {
  const h = await authHarness(t, {
    auth: (issuer) =>
      authSection(issuer, {
        globalValidation: { unauthenticatedClientAction: 'Return403' },
        login: { tokenStore: { enabled: true } },
      }),
  });
  assert.equal((await get(h, '/x')).status, 403);
  const token = await h.provider.clientToken(CLIENTS.site.id, h.origin);
  const echo = JSON.parse((await get(h, '/x', bearer(token))).body) as Echo;
  assert.equal(echo.headers['x-ms-token-test-access-token'], token);
});

test('WebSocket upgrades are checked too: none without a valid token, one with it', async (t) => {
  const h = await authHarness(t, {});
  const upgrade = (extra: string) =>
    new Promise<string>((resolve, reject) => {
      const socket = connect(h.frontdoor.port, '127.0.0.1');
      let data = '';
      socket.setEncoding('latin1');
      socket.on('data', (chunk: string) => {
        data += chunk;
        if (data.includes('\r\n\r\n')) {
          socket.destroy();
          resolve(data);
        }
      });
      socket.on('close', () => resolve(data));
      socket.on('error', reject);
      socket.write(
        `GET /ws HTTP/1.1\r\nHost: ${h.host}\r\nConnection: Upgrade\r\nUpgrade: echo\r\n${extra}\r\n`,
      );
    });
  const anonymous = await upgrade('');
  assert.match(anonymous, /^HTTP\/1\.1 401 /);
  assert.match(anonymous, /www-authenticate: Bearer realm="app"/i);
  assert.match(await upgrade('Authorization: Bearer a.b.c\r\n'), /^HTTP\/1\.1 401 /);
  const token = await h.provider.clientToken(CLIENTS.site.id, h.origin);
  assert.match(await upgrade(`Authorization: Bearer ${token}\r\n`), /^HTTP\/1\.1 101 /);
});
