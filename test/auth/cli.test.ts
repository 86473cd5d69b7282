import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ConfigError, loadConfig } from '../../src/config/index.js';

// Issue 13, items 1 and 9: `berth webapp auth show|update` read and write sites[].auth; an
// `az webapp auth show` export imports as it is, every field Berth leaves out named with the
// reason; a malformed auth section is refused with its key path and changes nothing.

const berth = resolve('bin/berth');
const EXPORT = new URL('./fixtures/az-webapp-auth-show.json', import.meta.url).pathname;

function run(args: string[], input?: string) {
  const result = spawnSync(berth, args, { encoding: 'utf8', input });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function workspace(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'berth-auth-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(
    join(dir, 'berth.yaml'),
    `# the demo config; this comment must survive an update
sites:
  - name: api # the REST API
    command: node server.mjs
    appSettings: { MICROSOFT_PROVIDER_AUTHENTICATION_SECRET: '@secret(aad-client-secret)' }
`,
  );
  return join(dir, 'berth.yaml');
}

test('update imports an az webapp auth show export, naming every field left out; show prints it back', (t) => {
  const config = workspace(t);
  const update = run([
    'webapp',
    'auth',
    'update',
    '--name',
    'api',
    '--file',
    EXPORT,
    '--config',
    config,
    '--output',
    'json',
  ]);
  assert.equal(update.status, 0, update.stderr);
  const result = JSON.parse(update.stdout) as { leftOut: { path: string; message: string }[] };
  const left = new Map(result.leftOut.map((n) => [n.path, n.message]));
  for (const path of [
    'id',
    'location',
    'platform.runtimeVersion',
    'identityProviders.google',
    'identityProviders.azureActiveDirectory.validation.jwtClaimChecks',
    'identityProviders.azureActiveDirectory.isAutoProvisioned',
    'identityProviders.azureActiveDirectory.login.disableWWWAuthenticate',
    'login.routes',
    'login.tokenStore.tokenRefreshExtensionHours',
    'login.cookieExpiration.convention',
    'login.nonce',
    'login.preserveUrlFragmentsForLogins',
    'httpSettings',
  ])
    assert.ok(left.has(path), `${path} is named: ${[...left.keys()].join(', ')}`);
  assert.match(left.get('identityProviders.google')!, /OpenID Connect providers only/);
  assert.match(
    left.get('identityProviders.azureActiveDirectory.validation.jwtClaimChecks')!,
    /allowedApplications/,
  );
  assert.ok(![...left.keys()].some((p) => p.includes('facebook')), 'null fields are not reported');

  const text = readFileSync(config, 'utf8');
  assert.match(text, /# the demo config; this comment must survive an update/);
  assert.match(text, /# the REST API/);
  const site = loadConfig(config).config.sites[0]!;
  assert.equal(site.auth.platform.enabled, true);
  assert.equal(site.auth.globalValidation.unauthenticatedClientAction, 'Return401');
  assert.deepEqual(site.auth.globalValidation.excludedPaths, ['/health']);
  const aad = site.auth.identityProviders.azureActiveDirectory!;
  assert.equal(aad.registration.clientSecretSettingName, 'MICROSOFT_PROVIDER_AUTHENTICATION_SECRET');
  assert.deepEqual(aad.validation.allowedAudiences, ['api://aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee']);
  assert.equal(aad.validation.defaultAuthorizationPolicy.allowedApplications.length, 2);
  assert.equal(site.auth.login.tokenStore.enabled, true);
  assert.equal(site.auth.login.cookieExpiration?.timeToExpiration, '08:00:00');

  const show = run(['webapp', 'auth', 'show', '--name', 'api', '--config', config, '--output', 'json']);
  assert.equal(show.status, 0, show.stderr);
  const shown = JSON.parse(show.stdout) as { properties: typeof site.auth };
  assert.equal(
    shown.properties.identityProviders.azureActiveDirectory?.registration.clientId,
    aad.registration.clientId,
  );
});

test('a bad value in the document is refused with its path and the config is left as it was', (t) => {
  const config = workspace(t);
  const before = readFileSync(config, 'utf8');
  const bad = join(config, '..', 'bad.json');
  writeFileSync(
    bad,
    JSON.stringify({
      properties: {
        platform: { enabled: true },
        globalValidation: { unauthenticatedClientAction: 'Redirect' },
        identityProviders: {
          azureActiveDirectory: {
            registration: { clientId: 'x', openIdIssuer: 'http://login.example.com/t/v2.0' },
          },
        },
      },
    }),
  );
  const update = run(['webapp', 'auth', 'update', '--name', 'api', '--file', bad, '--config', config]);
  assert.equal(update.status, 1);
  assert.match(update.stderr, /globalValidation\.unauthenticatedClientAction/);
  assert.match(
    update.stderr,
    /identityProviders\.azureActiveDirectory\.registration\.openIdIssuer: must be an https URL/,
  );
  assert.equal(readFileSync(config, 'utf8'), before);
  assert.equal(
    run(['webapp', 'auth', 'update', '--name', 'nope', '--file', EXPORT, '--config', config]).status,
    1,
  );
});

test('berth.yaml with a malformed auth section fails at load with the key path', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-auth-config-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'berth.yaml');
  writeFileSync(
    file,
    `sites:
  - name: api
    command: node server.mjs
    auth:
      platform: { enabled: true }
      identityProviders:
        customOpenIdConnectProviders:
          corp:
            registration: { clientId: c }
      globalValidation: { excludedPaths: [health] }
`,
  );
  assert.throws(
    () => loadConfig(file),
    (error: Error) => {
      assert.ok(error instanceof ConfigError);
      const text = error.problems.join('\n');
      assert.match(
        text,
        /sites\.0\.auth\.identityProviders\.customOpenIdConnectProviders\.corp\.registration/,
      );
      assert.match(text, /wellKnownOpenIdConfiguration or \.issuer is required/);
      assert.match(text, /sites\.0\.auth\.globalValidation\.excludedPaths\.0/);
      return true;
    },
  );
});
