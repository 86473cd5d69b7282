// The registry core under Docker token authentication, with a client that does what the token
// specification says: on 401 it reads the challenge, fetches a token for exactly the scopes asked,
// and retries. A cross-repository mount then mounts (the challenge asks pull on the source too, as
// distribution's does) instead of falling back to an upload; the realm in the challenge is never
// taken from client-supplied forwarded headers unless that is configured.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import bcrypt from 'bcryptjs';
import { registrySchema } from '../../src/config/registry.js';
import { silentLogger } from '../../src/lib/logger.js';
import { createAccessControl } from '../../src/registry/access/index.js';
import { COMBOS, startTestRegistry, type TestRegistry } from './support/harness.js';
import { bin, blob } from './support/oci.js';

const USERS = { alice: 'alice-pw', bob: 'bob-pw', carol: 'carol-pw' };
const basic = (user: keyof typeof USERS) =>
  `Basic ${Buffer.from(`${user}:${USERS[user]}`).toString('base64')}`;

interface Challenge {
  realm: string;
  service: string;
  scope?: string;
  error?: string;
}

/** Parses `Bearer realm="…",service="…",scope="…"` (the values this registry writes). */
function parseChallenge(header: string | null): Challenge {
  assert.ok(header?.startsWith('Bearer '), `a Bearer challenge, got ${header}`);
  const params = Object.fromEntries(
    [...header!.slice(7).matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1]!, m[2]!]),
  );
  return params as unknown as Challenge;
}

/** What a client does with a challenge: ask the realm for a token with the scopes it names. */
async function tokenFor(challenge: Challenge, user: keyof typeof USERS): Promise<string> {
  const query = new URLSearchParams({
    service: challenge.service,
    ...(challenge.scope ? { scope: challenge.scope } : {}),
  });
  const res = await fetch(`${challenge.realm}?${query}`, { headers: { authorization: basic(user) } });
  assert.equal(res.status, 200);
  return ((await res.json()) as { token: string }).token;
}

async function start(dir: string, token: Record<string, unknown> = {}): Promise<TestRegistry> {
  writeFileSync(
    join(dir, 'htpasswd'),
    Object.entries(USERS)
      .map(([user, pw]) => `${user}:${bcrypt.hashSync(pw, 4)}`)
      .join('\n'),
  );
  const auth = {
    htpasswd: join(dir, 'htpasswd'),
    scheme: 'token',
    anonymousPull: false,
    permissions: [
      { users: ['alice'], repositories: ['*'], actions: ['pull', 'push', 'delete'] },
      { users: ['bob'], repositories: ['team/a'], actions: ['pull'] },
      { users: ['bob', 'carol'], repositories: ['team/b'], actions: ['pull', 'push'] },
    ],
    token,
  };
  const config = registrySchema.parse({ auth });
  const access = createAccessControl(config.auth, { dataDir: dir, logger: silentLogger });
  return startTestRegistry(COMBOS[0]!, { auth }, access);
}

describe('cross-repository mount under token auth', () => {
  let dir: string;
  let registry: TestRegistry;
  const layer = blob('a layer pushed once, to team/a');
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'berth-token-flow-'));
    registry = await start(dir);
    const push = await fetch(`${registry.url}/v2/team/a/blobs/uploads/?digest=${layer.digest}`, {
      method: 'POST',
      body: bin(layer.bytes),
      headers: { authorization: basic('alice') },
    });
    assert.equal(push.status, 201);
  });
  after(async () => {
    await registry?.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const mountPath = () => `/v2/team/b/blobs/uploads/?mount=${layer.digest}&from=team/a`;

  test('the challenge asks for pull and push on the target and pull on the source', async () => {
    const anonymous = await fetch(registry.url + mountPath(), { method: 'POST' });
    assert.equal(anonymous.status, 401);
    const challenge = parseChallenge(anonymous.headers.get('www-authenticate'));
    assert.equal(challenge.scope, 'repository:team/b:pull,push repository:team/a:pull');
    assert.equal(challenge.realm, `${registry.url}/auth/token`);
  });

  test('a client that follows the challenge mounts instead of uploading again', async () => {
    // The token a client holds for pushing to team/b, before it tries the mount.
    const pushToken = await tokenFor(
      {
        realm: `${registry.url}/auth/token`,
        service: 'berth-registry',
        scope: 'repository:team/b:pull,push',
      },
      'bob',
    );
    const first = await fetch(registry.url + mountPath(), {
      method: 'POST',
      headers: { authorization: `Bearer ${pushToken}` },
    });
    assert.equal(first.status, 401, 'the token lacks pull on team/a, which bob holds: ask for it');
    const challenge = parseChallenge(first.headers.get('www-authenticate'));
    assert.equal(challenge.error, 'insufficient_scope');
    assert.equal(challenge.scope, 'repository:team/b:pull,push repository:team/a:pull');

    const mountToken = await tokenFor(challenge, 'bob');
    const mounted = await fetch(registry.url + mountPath(), {
      method: 'POST',
      headers: { authorization: `Bearer ${mountToken}` },
    });
    assert.equal(mounted.status, 201, await mounted.text());
    assert.equal(mounted.headers.get('location'), `/v2/team/b/blobs/${layer.digest}`);
    const got = await fetch(`${registry.url}/v2/team/b/blobs/${layer.digest}`, {
      headers: { authorization: `Bearer ${mountToken}` },
    });
    assert.equal(await got.text(), layer.bytes.toString());
  });

  test('a caller who may not pull the source gets an ordinary upload session, not a challenge', async () => {
    const token = await tokenFor(
      {
        realm: `${registry.url}/auth/token`,
        service: 'berth-registry',
        scope: 'repository:team/b:pull,push repository:team/a:pull',
      },
      'carol',
    );
    const res = await fetch(registry.url + mountPath(), {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(res.status, 202, 'falls back to an upload: nothing about team/a is revealed');
    assert.match(res.headers.get('location') ?? '', /^\/v2\/team\/b\/blobs\/uploads\/[0-9a-f-]{36}$/);
  });
});

describe('the token realm and forwarded headers', () => {
  const spoofed = {
    'x-forwarded-host': 'attacker.example',
    'x-forwarded-proto': 'https',
    forwarded: 'host=other-attacker.example;proto=https',
  };

  test('by default the realm comes from the Host header, whatever Forwarded and X-Forwarded-* say', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-token-realm-'));
    const registry = await start(dir);
    t.after(async () => {
      await registry.close();
      rmSync(dir, { recursive: true, force: true });
    });
    const res = await fetch(`${registry.url}/v2/`, { headers: spoofed });
    assert.equal(res.status, 401);
    assert.equal(parseChallenge(res.headers.get('www-authenticate')).realm, `${registry.url}/auth/token`);
    const pushed = await fetch(`${registry.url}/v2/team/b/blobs/uploads/`, {
      method: 'POST',
      headers: spoofed,
    });
    assert.equal(parseChallenge(pushed.headers.get('www-authenticate')).realm, `${registry.url}/auth/token`);
  });

  test('with trustForwardedHeaders the proxy headers are used (Forwarded first), and bad hosts are ignored', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-token-realm-'));
    const registry = await start(dir, { trustForwardedHeaders: true });
    t.after(async () => {
      await registry.close();
      rmSync(dir, { recursive: true, force: true });
    });
    const realm = async (headers: Record<string, string>) =>
      parseChallenge((await fetch(`${registry.url}/v2/`, { headers })).headers.get('www-authenticate')).realm;
    assert.equal(await realm(spoofed), 'https://other-attacker.example/auth/token');
    assert.equal(
      await realm({ 'x-forwarded-host': 'registry.example.com:8443', 'x-forwarded-proto': 'https' }),
      'https://registry.example.com:8443/auth/token',
    );
    assert.equal(
      await realm({
        forwarded: 'for=192.0.2.1;host="registry.example.com";proto=https, host=second.example',
      }),
      'https://registry.example.com/auth/token',
    );
    const host = new URL(registry.url).host;
    assert.equal(await realm({ 'x-forwarded-host': 'evil.example/path"x' }), `http://${host}/auth/token`);
    assert.equal(await realm({ 'x-forwarded-proto': 'gopher' }), `http://${host}/auth/token`);
  });
});
