import { test } from 'node:test';
import assert from 'node:assert/strict';
import { discoverIssuer, verifyToken, type Issuer } from '../../src/auth/index.js';
import { providersOf } from '../../src/config/index.js';
import { siteAuthSchema } from '../../src/config/auth.js';
import { authSection } from './support/site.js';
import { CLIENTS, startProvider } from './support/provider.js';

// Issue 13, items 1, 2 and 9: the JWKS is fetched at start and again only for an unknown kid, at
// most once per 30 s (a clock the test moves stands in for time passing); exp and nbf with 60 s
// of skew, checked against a chosen current time on tokens the provider really issued.

const RESOURCE = 'http://app.localhost:1';

async function issuerAt(issuerUrl: string, now: () => number): Promise<Issuer> {
  const auth = siteAuthSchema.parse(authSection(issuerUrl));
  return discoverIssuer(providersOf(auth)[0]!, now);
}

const policy = () => ({ audiences: [RESOURCE], allowedApplications: [], identities: [], groups: [] });

test('keys rotated at the provider: a token with the new kid refetches once the 30 s cooldown has passed, and only once', async (t) => {
  const provider = await startProvider();
  t.after(() => provider.close());
  let clock = 1_000_000;
  const issuer = await issuerAt(provider.issuer, () => clock);
  assert.equal(provider.jwksFetches(), 1);
  const before = await provider.clientToken(CLIENTS.site.id, RESOURCE);
  await verifyToken(before, [issuer], policy);

  await provider.rotateKeys();
  const after = await provider.clientToken(CLIENTS.site.id, RESOURCE);
  clock += 10_000; // within the cooldown of the start's fetch: the new kid is unknown, nothing fetched
  await assert.rejects(verifyToken(after, [issuer], policy), /signing key/);
  assert.equal(provider.jwksFetches(), 1);

  clock += 21_000; // 31 s after the last fetch
  const results = await Promise.allSettled(
    Array.from({ length: 50 }, () => verifyToken(after, [issuer], policy)),
  );
  assert.ok(
    results.every((r) => r.status === 'fulfilled'),
    'the rotated key is found',
  );
  assert.equal(provider.jwksFetches(), 2, 'fifty concurrent requests, one fetch');
  // The old key is gone from the set now.
  await assert.rejects(verifyToken(before, [issuer], policy), /signing key/);
  assert.equal(provider.jwksFetches(), 2, 'and the old kid does not fetch again within the cooldown');
});

test('exp and nbf: 60 s of skew, no more', async (t) => {
  const provider = await startProvider({ accessTokenTtl: 300 });
  t.after(() => provider.close());
  const issuer = await issuerAt(provider.issuer, Date.now);
  const token = await provider.clientToken(CLIENTS.site.id, RESOURCE);
  const { exp, nbf } = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as {
    exp: number;
    nbf: number;
  };
  assert.equal(typeof nbf, 'number', 'the provider set nbf');
  const at = (seconds: number) => new Date(seconds * 1000);
  await verifyToken(token, [issuer], policy, at(exp + 59));
  await assert.rejects(verifyToken(token, [issuer], policy, at(exp + 61)), /expired/);
  await verifyToken(token, [issuer], policy, at(nbf - 59));
  await assert.rejects(verifyToken(token, [issuer], policy, at(nbf - 61)), /not valid yet/);
});

test('keys older than an hour are fetched again behind a request: a key the provider dropped stops being trusted', async (t) => {
  const provider = await startProvider();
  t.after(() => provider.close());
  let clock = 1_000_000;
  const issuer = await issuerAt(provider.issuer, () => clock);
  const old = await provider.clientToken(CLIENTS.site.id, RESOURCE);
  await provider.rotateKeys();
  clock += 3_600_001;
  // This request still uses the keys at hand, and starts one fetch behind it.
  await verifyToken(old, [issuer], policy);
  const refresh = issuer.keys.lastRefresh;
  assert.ok(refresh, 'a refresh was started');
  assert.equal(await refresh, true);
  assert.equal(provider.jwksFetches(), 2);
  await assert.rejects(verifyToken(old, [issuer], policy), /signing key/);
  assert.equal(provider.jwksFetches(), 2, 'one fetch for the refresh, none for the refused token (cooldown)');
});
