import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../src/lib/logger.js';
import { resolveSettings, SecretStore } from '../../src/secrets/index.js';
import { createSiteManager } from '../../src/sites/index.js';
import { ArraySink, EXAMPLES, configWith, processesWithEnv, until } from '../sites/helpers.js';

// Issue 13, items 7 and 9: a reference that does not resolve fails the instance's start with a
// startup log naming the reference (App Service's "Key Vault reference" status); the value of one
// that does reaches the instance's environment and nothing else.

test('a missing secret fails the start with a startup-log hint naming the reference; a present one reaches only the environment', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-secret-start-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const store = new SecretStore(join(dir, 'data', 'secret-store'), join(dir, 'key'));
  const value = 'value-that-must-stay-in-the-env-9f3';
  await store.set('present', value);
  const sink = new ArraySink();
  const manager = createSiteManager({
    config: configWith([
      {
        name: 'missing',
        command: 'node server.mjs',
        root: 'api',
        appSettings: { DB: '@Microsoft.KeyVault(VaultName=prod;SecretName=absent)' },
      },
      {
        name: 'present',
        command: 'node server.mjs',
        root: 'api',
        appSettings: { GREETING: '@secret(present)' },
      },
    ]),
    baseDir: EXAMPLES,
    dataDir: join(dir, 'data'),
    logSink: sink,
    logger: silentLogger,
    backoffBaseMs: 60_000,
    resolveSettings: async (settings) => (await resolveSettings(settings, store)).env,
  });
  await manager.start();
  t.after(() => manager.stop());

  await until(
    async () => (await manager.startupLogs.list({ site: 'missing', outcome: 'failure' })).length > 0,
    15_000,
    'the failure log',
  );
  const latest = await manager.startupLogs.latest({ site: 'missing' });
  const log = (await manager.startupLogs.read(latest!.name)).content;
  assert.match(log, /app setting DB is a secret reference that does not resolve/);
  assert.match(log, /VaultName=prod;SecretName=absent/);
  assert.match(log, /Key Vault reference/);
  assert.match(log, /berth secret set absent/);
  assert.equal(
    manager.siteStatus('missing').slots[0]!.instances.filter((i) => i.state === 'running').length,
    0,
  );

  await until(
    () => manager.siteStatus('present').slots[0]!.instances.some((i) => i.state === 'running'),
    15_000,
    'the site with a present secret running',
  );
  const present = manager.siteStatus('present');
  assert.ok(
    present.slots[0]!.instances.some((i) => i.state === 'running'),
    JSON.stringify(present),
  );
  // The instance's environment has the value (read from /proc, not from the code under test).
  assert.ok(processesWithEnv('GREETING', value).length > 0, 'the instance got the resolved value');
  // Nothing else has it: Berth's own environment, the log lines, the startup logs, the status.
  assert.ok(!(await readFile('/proc/self/environ', 'utf8')).includes(value), "not in Berth's /proc environ");
  assert.ok(!sink.lines.some((l) => l.message.includes(value)), 'not in any log line');
  for (const file of await manager.startupLogs.list({ site: 'present' }))
    assert.ok(!(await manager.startupLogs.read(file.name)).content.includes(value), `not in ${file.name}`);
  assert.ok(!JSON.stringify(manager.status()).includes(value), 'not in the status');
});
