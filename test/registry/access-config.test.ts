import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../../src/config/index.js';
import { startRegistry } from '../../src/registry/index.js';
import { tempDir } from '../support/temp.js';

function write(yaml: string): string {
  const file = join(tempDir('berth-auth-config-'), 'berth.yaml');
  writeFileSync(file, yaml);
  return file;
}

function problems(yaml: string, env: NodeJS.ProcessEnv = {}): string {
  try {
    loadConfig(write(yaml), env);
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return error.message;
  }
  assert.fail('expected a ConfigError');
}

test('registry.auth defaults: open registry, basic scheme, 5 minute tokens', () => {
  const { config } = loadConfig(write('{}\n'), {});
  assert.deepEqual(config.registry.auth, {
    anonymousPull: true,
    scheme: 'basic',
    failureLimit: { count: 10, window: 60_000 },
    open: false,
    permissions: [],
    token: { issuer: 'berth', service: 'berth-registry', expiry: 300_000, trustForwardedHeaders: false },
  });
});

test('registry.auth parses a full token setup and environment overrides', () => {
  const file = write(`registry:
  auth:
    anonymousPull: false
    scheme: token
    htpasswd: ./htpasswd
    permissions:
      - { users: [ci], repositories: ["apps/*"], actions: [pull, push] }
    token: { issuer: berth-test, service: reg, expiry: 2m, signingKey: keys/token.pem }
`);
  const { config } = loadConfig(file, { BERTH_REGISTRY__AUTH__TOKEN__EXPIRY: '30s' });
  assert.equal(config.registry.auth.scheme, 'token');
  assert.equal(config.registry.auth.token.expiry, 30_000);
  assert.equal(config.registry.auth.token.signingKey, 'keys/token.pem');
  assert.deepEqual(config.registry.auth.permissions, [
    { users: ['ci'], repositories: ['apps/*'], actions: ['pull', 'push'] },
  ]);
});

test('registry.auth mistakes fail with the key path', () => {
  assert.match(
    problems('registry: { auth: { anonymousPull: false } }'),
    /registry\.auth\.anonymousPull: anonymousPull: false needs an htpasswd file/,
  );
  assert.match(
    problems('registry: { auth: { scheme: token } }'),
    /registry\.auth\.scheme: scheme: token needs an htpasswd file/,
  );
  assert.match(problems('registry: { auth: { scheme: digest, htpasswd: x } }'), /registry\.auth\.scheme: /);
  assert.match(
    problems(
      'registry: { auth: { htpasswd: x, permissions: [{ users: [a], repositories: ["*"], actions: [pull, admin] }] } }',
    ),
    /registry\.auth\.permissions\.0\.actions\.1: /,
  );
  assert.match(
    problems('registry: { auth: { htpasswd: x, token: { expiry: soon } } }'),
    /registry\.auth\.token\.expiry: expected a duration/,
  );
  assert.match(
    problems('registry: { auth: { htpasswd: x, token: { realm: not-a-url } } }'),
    /registry\.auth\.token\.realm: /,
  );
  assert.match(
    problems('registry: { auth: { htpasswd: x, tokens: {} } }'),
    /registry\.auth: unknown key "tokens"/,
  );
});

test('a registry other machines can reach needs an htpasswd file, or says it is open on purpose', async () => {
  const dataDir = tempDir('berth-auth-open-');
  const { config } = loadConfig(write('registry:\n  listen: 0.0.0.0:0\n'), {});
  await assert.rejects(
    startRegistry({ config: config.registry, dataDir }),
    /registry\.listen binds 0\.0\.0\.0.*registry\.auth\.htpasswd is not set.*registry\.auth\.open: true/,
  );
  assert.deepEqual(readdirSync(dataDir), [], 'refused before anything was written');
});
