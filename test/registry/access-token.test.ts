import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { SignJWT, createLocalJWKSet, decodeJwt, jwtVerify } from 'jose';
import { registryAuthSchema } from '../../src/config/registry-auth.js';
import { createAccessControl } from '../../src/registry/access/index.js';
import { basic, capturingLogger, startAccessApp } from '../e2e/helpers/registry-access-app.js';
import { tempDir } from '../support/temp.js';

const hash = (pw: string) => bcrypt.hashSync(pw, 4);

async function tokenSetup(auth: Record<string, unknown> = {}) {
  const dir = tempDir('berth-token-');
  writeFileSync(join(dir, 'htpasswd'), [`alice:${hash('alice-pw')}`, `bob:${hash('bob-pw')}`].join('\n'));
  const config = registryAuthSchema.parse({
    htpasswd: 'htpasswd',
    scheme: 'token',
    permissions: [
      { users: ['alice'], repositories: ['*'], actions: ['pull', 'push', 'delete'] },
      { users: ['bob'], repositories: ['team/*'], actions: ['pull', 'push'] },
    ],
    ...auth,
  });
  const log = capturingLogger();
  const dataDir = join(dir, 'data');
  const access = createAccessControl(config, { dataDir, baseDir: dir, logger: log.logger });
  const { app, url } = await startAccessApp(access);
  return { dir, dataDir, config, log, app, url };
}

async function getToken(url: string, query: string, authorization?: string) {
  const res = await fetch(`${url}/auth/token?${query}`, { headers: authorization ? { authorization } : {} });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
}

async function call(url: string, method: string, path: string, token?: string) {
  const res = await fetch(url + path, {
    method,
    headers: token ? { authorization: `Bearer ${token}` } : {},
    ...(method === 'PUT' ? { body: '{}' } : {}),
  });
  const body = (await res.json()) as { errors?: { code: string; message: string }[]; subject?: string };
  return { status: res.status, challenge: res.headers.get('www-authenticate'), body };
}

test('token auth: challenge names realm, service and scope; a token with the scope opens the route', async () => {
  const { app, url, log } = await tokenSetup();
  try {
    const host = new URL(url).host;
    const challenge = await call(url, 'PUT', '/v2/team/api/manifests/v1');
    assert.equal(challenge.status, 401);
    assert.equal(
      challenge.challenge,
      `Bearer realm="http://${host}/auth/token",service="berth-registry",scope="repository:team/api:push"`,
    );
    assert.equal(
      (await call(url, 'GET', '/v2/')).challenge,
      `Bearer realm="http://${host}/auth/token",service="berth-registry"`,
    );

    const issued = await getToken(
      url,
      'service=berth-registry&scope=repository:team/api:pull,push',
      basic('bob', 'bob-pw'),
    );
    assert.equal(issued.status, 200);
    assert.equal(issued.headers.get('cache-control'), 'no-store');
    assert.equal(issued.body.expires_in, 300);
    const token = issued.body.token as string;
    assert.equal(issued.body.access_token, token);
    const claims = decodeJwt(token);
    assert.equal(claims.sub, 'bob');
    assert.equal(claims.iss, 'berth');
    assert.equal(claims.aud, 'berth-registry');
    assert.deepEqual(claims.access, [{ type: 'repository', name: 'team/api', actions: ['pull', 'push'] }]);
    assert.ok((claims.exp ?? 0) - (claims.iat ?? 0) === 300);

    const put = await call(url, 'PUT', '/v2/team/api/manifests/v1', token);
    assert.equal(put.status, 200);
    assert.equal(put.body.subject, 'bob');
    assert.equal((await call(url, 'GET', '/v2/', token)).status, 200);
    // The token is for team/api only.
    const other = await call(url, 'GET', '/v2/team/web/manifests/v1', token);
    assert.equal(other.status, 401);
    assert.match(other.challenge ?? '', /scope="repository:team\/web:pull",error="insufficient_scope"/);
    // Bob could never delete: 403 DENIED, not a new challenge.
    const del = await call(url, 'DELETE', '/v2/team/api/manifests/v1', token);
    assert.equal(del.status, 403);
    assert.equal(del.body.errors?.[0]?.code, 'DENIED');

    assert.ok(!log.text().includes(token), 'tokens never reach the log');
    assert.ok(!log.text().includes('bob-pw'), 'passwords never reach the log');
  } finally {
    await app.close();
  }
});

test('token endpoint leaves out scopes the user does not hold and issues anonymous pull tokens', async () => {
  const { app, url, log } = await tokenSetup();
  try {
    const partial = await getToken(
      url,
      'service=berth-registry&scope=repository:team/api:pull,push,delete&scope=repository:other:pull,push&scope=registry:catalog:*',
      basic('bob', 'bob-pw'),
    );
    assert.equal(partial.status, 200);
    // Anonymous pull is on, so bob also holds pull (and the catalog) everywhere, but no push outside team/*.
    assert.deepEqual(decodeJwt(partial.body.token as string).access, [
      { type: 'repository', name: 'team/api', actions: ['pull', 'push'] },
      { type: 'repository', name: 'other', actions: ['pull'] },
      { type: 'registry', name: 'catalog', actions: ['*'] },
    ]);
    assert.match(log.text(), /scopes not held were left out/);

    const admin = await getToken(
      url,
      'scope=repository:x:*&scope=registry:catalog:*',
      basic('alice', 'alice-pw'),
    );
    assert.deepEqual(decodeJwt(admin.body.token as string).access, [
      { type: 'repository', name: 'x', actions: ['pull', 'push', 'delete'] },
      { type: 'registry', name: 'catalog', actions: ['*'] },
    ]);
    assert.equal((await call(url, 'GET', '/v2/_catalog', admin.body.token as string)).status, 200);

    // Anonymous pull is on by default: no credentials gives a pull-only token without a subject.
    const anon = await getToken(url, 'service=berth-registry&scope=repository:team/api:pull,push');
    assert.equal(anon.status, 200);
    const claims = decodeJwt(anon.body.token as string);
    assert.equal(claims.sub, '');
    assert.deepEqual(claims.access, [{ type: 'repository', name: 'team/api', actions: ['pull'] }]);
    assert.equal(
      (await call(url, 'GET', '/v2/team/api/manifests/v1', anon.body.token as string)).status,
      200,
    );
    const anonPush = await call(url, 'PUT', '/v2/team/api/manifests/v1', anon.body.token as string);
    assert.equal(anonPush.status, 401);
    assert.match(anonPush.challenge ?? '', /insufficient_scope/);
  } finally {
    await app.close();
  }
});

test('token endpoint errors: wrong password, wrong service, malformed scope, unsupported grant', async () => {
  const { app, url } = await tokenSetup();
  try {
    const wrong = await getToken(url, 'scope=repository:a:pull', basic('alice', 'nope'));
    assert.equal(wrong.status, 401);
    assert.equal(wrong.headers.get('www-authenticate'), 'Basic realm="berth-registry"');
    assert.deepEqual(wrong.body.errors, [{ code: 'UNAUTHORIZED', message: 'wrong user name or password' }]);
    assert.equal((await getToken(url, 'scope=repository:a:pull', 'Bearer x')).status, 401);
    const service = await getToken(url, 'service=elsewhere&scope=repository:a:pull');
    assert.equal(service.status, 400);
    assert.match(JSON.stringify(service.body), /issues tokens for service \\"berth-registry\\"/);
    const scope = await getToken(url, 'scope=repository-a-pull');
    assert.equal(scope.status, 400);
    assert.match(JSON.stringify(scope.body), /malformed scope/);

    const post = (form: Record<string, string>) =>
      fetch(`${url}/auth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(form),
      });
    const ok = await post({
      grant_type: 'password',
      username: 'alice',
      password: 'alice-pw',
      service: 'berth-registry',
      scope: 'repository:a:pull repository:b:push',
      client_id: 'docker',
    });
    assert.equal(ok.status, 200);
    const body = (await ok.json()) as { access_token: string; token_type: string };
    assert.equal(body.token_type, 'Bearer');
    assert.deepEqual(decodeJwt(body.access_token).access, [
      { type: 'repository', name: 'a', actions: ['pull'] },
      { type: 'repository', name: 'b', actions: ['push'] },
    ]);
    assert.equal((await post({ grant_type: 'password', username: 'alice', password: 'bad' })).status, 401);
    const refresh = await post({ grant_type: 'refresh_token', refresh_token: 'x' });
    assert.equal(refresh.status, 400);
    assert.equal(((await refresh.json()) as { error: string }).error, 'unsupported_grant_type');
  } finally {
    await app.close();
  }
});

test('forged, expired and foreign tokens are refused with invalid_token', async () => {
  const { app, url, dataDir } = await tokenSetup();
  try {
    const keyFile = join(dataDir, 'token-signing-key.pem');
    assert.equal(statSync(keyFile).mode & 0o777, 0o600, 'the generated signing key is private to its owner');
    const realKey = createPrivateKey(readFileSync(keyFile));
    const access = [{ type: 'repository', name: 'team/api', actions: ['pull', 'push', 'delete'] }];
    const sign = (key = realKey, claims: { iss?: string; aud?: string; exp?: number } = {}) =>
      new SignJWT({ access })
        .setProtectedHeader({ alg: 'ES256' })
        .setIssuer(claims.iss ?? 'berth')
        .setAudience(claims.aud ?? 'berth-registry')
        .setSubject('alice')
        .setIssuedAt()
        .setExpirationTime(claims.exp ?? Math.floor(Date.now() / 1000) + 60)
        .sign(key);
    assert.equal(
      (await call(url, 'DELETE', '/v2/team/api/manifests/v1', await sign())).status,
      200,
      'control: a good token works',
    );

    const otherKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const cases: [string, string, RegExp][] = [
      ['forged', await sign(otherKey), /not valid/],
      ['expired', await sign(realKey, { exp: Math.floor(Date.now() / 1000) - 60 }), /expired/],
      ['other issuer', await sign(realKey, { iss: 'someone-else' }), /not for this registry \(iss\)/],
      ['other service', await sign(realKey, { aud: 'other' }), /not for this registry \(aud\)/],
      ['not a JWT', 'abc.def.ghi', /not valid/],
    ];
    for (const [name, token, message] of cases) {
      const res = await call(url, 'DELETE', '/v2/team/api/manifests/v1', token);
      assert.equal(res.status, 401, name);
      assert.match(res.challenge ?? '', /error="invalid_token"/, name);
      assert.match(res.body.errors?.[0]?.message ?? '', message, name);
    }
  } finally {
    await app.close();
  }
});

test('the signing key survives a restart and the JWKS verifies issued tokens', async () => {
  const first = await tokenSetup();
  let token: string;
  try {
    token = (await getToken(first.url, 'scope=repository:team/api:pull', basic('alice', 'alice-pw'))).body
      .token as string;
    const jwks = (await (await fetch(`${first.url}/auth/jwks`)).json()) as Parameters<
      typeof createLocalJWKSet
    >[0];
    const verified = await jwtVerify(token, createLocalJWKSet(jwks), {
      issuer: 'berth',
      audience: 'berth-registry',
    });
    assert.equal(verified.payload.sub, 'alice');
  } finally {
    await first.app.close();
  }
  const config = registryAuthSchema.parse({ htpasswd: 'htpasswd', scheme: 'token' });
  const again = createAccessControl(config, {
    dataDir: first.dataDir,
    baseDir: first.dir,
    logger: capturingLogger().logger,
  });
  const { app, url } = await startAccessApp(again);
  try {
    assert.equal((await call(url, 'GET', '/v2/team/api/manifests/v1', token)).status, 200);
  } finally {
    await app.close();
  }
});

test('a configured realm and token expiry are used; a bad signing key file fails at start', async () => {
  const { app, url, dir } = await tokenSetup({
    token: { realm: 'https://registry.example.com/auth/token', expiry: '90s', issuer: 'me', service: 'svc' },
  });
  try {
    assert.match(
      (await call(url, 'GET', '/v2/')).challenge ?? '',
      /^Bearer realm="https:\/\/registry.example.com\/auth\/token",service="svc"$/,
    );
    const issued = await getToken(url, 'service=svc&scope=repository:a:pull', basic('alice', 'alice-pw'));
    assert.equal(issued.body.expires_in, 90);
    assert.equal(decodeJwt(issued.body.token as string).iss, 'me');
  } finally {
    await app.close();
  }
  writeFileSync(join(dir, 'bad.pem'), 'not a key');
  const config = registryAuthSchema.parse({
    htpasswd: 'htpasswd',
    scheme: 'token',
    token: { signingKey: 'bad.pem' },
  });
  assert.throws(
    () => createAccessControl(config, { dataDir: dir, baseDir: dir, logger: capturingLogger().logger }),
    /registry\.auth\.token\.signingKey: .*bad\.pem is not a PEM private key/,
  );
});

test('with anonymous pull off, the token endpoint grants nothing to anonymous callers and only grants to users', async () => {
  const { app, url } = await tokenSetup({ anonymousPull: false });
  try {
    const anon = await getToken(url, 'scope=repository:team/api:pull&scope=registry:catalog:*');
    assert.equal(anon.status, 200);
    assert.deepEqual(decodeJwt(anon.body.token as string).access, []);
    const anonPull = await call(url, 'GET', '/v2/team/api/manifests/v1', anon.body.token as string);
    assert.equal(anonPull.status, 401);
    const bob = await getToken(
      url,
      'scope=repository:other:pull&scope=registry:catalog:*&scope=repository:team/a:pull',
      basic('bob', 'bob-pw'),
    );
    assert.deepEqual(decodeJwt(bob.body.token as string).access, [
      { type: 'repository', name: 'team/a', actions: ['pull'] },
    ]);
    const denied = await call(url, 'GET', '/v2/other/manifests/v1', bob.body.token as string);
    assert.equal(denied.status, 403);
    assert.match(denied.body.errors?.[0]?.message ?? '', /user "bob" may not pull repository "other"/);
  } finally {
    await app.close();
  }
});
