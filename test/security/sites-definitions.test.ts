import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { ConfigError, loadConfig } from '../../src/config/index.js';
import { silentLogger } from '../../src/lib/logger.js';
import { sitesApi } from '../../src/sites/index.js';
import { Instance, type InstanceSpec } from '../../src/sites/instance.js';
import { StartupLogs } from '../../src/sites/startup-logs.js';
import { ArraySink, call, harness, startSupervisor } from '../sites/helpers.js';

/** Issue 10 item 6: a bad site definition cannot kill Berth. */

async function yamlProblems(yaml: string): Promise<string[]> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-nul-config-'));
  try {
    await writeFile(join(dir, 'berth.yaml'), yaml);
    await loadConfig(join(dir, 'berth.yaml'), {});
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  assert.fail('expected the config to be refused');
}

test('a NUL byte in a command, a folder or an app setting is refused by berth.yaml and the sites API, naming the field', async (t) => {
  // YAML's "\0" escape is a NUL byte.
  assert.deepEqual(await yamlProblems('sites: [{ name: api, command: "node\\0 server.mjs" }]\n'), [
    'sites.0.command: must not contain a NUL byte',
  ]);
  assert.deepEqual(
    await yamlProblems('sites: [{ name: api, command: x, appSettings: { TOKEN: "a\\0b" } }]\n'),
    ['sites.0.appSettings.TOKEN: must not contain a NUL byte'],
  );
  assert.deepEqual(
    await yamlProblems('sites: [{ name: api, command: x, slots: [{ name: staging, root: "x\\0" }] }]\n'),
    ['sites.0.slots.0.root: must not contain a NUL byte'],
  );

  const h = await harness([{ name: 'api', command: 'node server.mjs', root: 'api' }]);
  const app = Fastify();
  await app.register(sitesApi, { manager: h.manager });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  t.after(async () => {
    await app.close();
    await h.close();
  });
  const create = async (definition: unknown) => {
    const response = await fetch(`${url}/api/sites`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(definition),
    });
    return { status: response.status, body: (await response.json()) as { detail: string } };
  };
  for (const [definition, field] of [
    [{ name: 'bad', command: 'node\0 server.mjs' }, 'command'],
    [{ name: 'bad', command: 'node server.mjs', appSettings: { SECRET: 'x\0y' } }, 'appSettings.SECRET'],
    [{ name: 'bad', command: 'node server.mjs', root: 'api\0' }, 'root'],
  ] as const) {
    const refused = await create(definition);
    assert.equal(refused.status, 400, field);
    assert.equal(refused.body.detail, `invalid site definition: ${field}: must not contain a NUL byte`);
  }
  assert.deepEqual(
    h.manager.status().map((s) => s.name),
    ['api'],
    'nothing was saved',
  );
  assert.equal((await call(h.frontdoor.port, 'api.localhost', '/')).status, 200, 'Berth still serves');
});

test('a launch that throws is an instance failure with a hint in its startup log, never an unhandled rejection', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-launch-'));
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  t.after(async () => {
    process.off('unhandledRejection', onUnhandled);
    await rm(dir, { recursive: true, force: true });
  });
  const sink = new ArraySink();
  const startupLogs = new StartupLogs(dir);
  const spec = (changes: Partial<InstanceSpec>): InstanceSpec => ({
    site: 'bad',
    command: 'node server.mjs',
    cwd: dir,
    settings: {},
    version: 'v1',
    startTimeLimit: 5000,
    warmupPath: '/',
    warmupStatuses: [],
    healthCheckInterval: 30_000,
    healthCheckMaxFailures: 3,
    stopGracePeriod: 1000,
    ...changes,
  });
  const cases: Array<[string, Partial<InstanceSpec>, RegExp]> = [
    // What the schema now refuses, reaching spawn anyway (an older saved state, a future code path).
    ['NUL in the command', { command: 'node\0 x' }, /could not be started: The argument .* null bytes/],
    [
      'NUL in a setting',
      { settings: { SECRET_VALUE: 'hunter2\0' } },
      /could not be started: The property 'options\.env\['SECRET_VALUE'\]' must be a string without null bytes/,
    ],
    ['a folder that is not there', { cwd: join(dir, 'missing') }, /does not exist/],
    // Linux caps one environment string at 128 KiB (MAX_ARG_STRLEN): execve answers E2BIG.
    ['an environment too large', { settings: { BIG: 'x'.repeat(200_000) } }, /E2BIG/],
  ];
  for (const [what, changes, pattern] of cases) {
    const instance = new Instance(spec(changes), { sink, startupLogs, logger: silentLogger }, 'production');
    const result = await instance.launch();
    assert.equal(result.ok, false, what);
    assert.equal(instance.state, 'crashed', what);
    assert.ok(result.startupLog, `${what}: a startup log was written`);
    const log = await readFile(join(startupLogs.folder('bad', 'production'), result.startupLog), 'utf8');
    assert.match(log, pattern, what);
    assert.match(log, /HINT: The platform could not start the command/, what);
    assert.doesNotMatch(log, /hunter2/, `${what}: no setting value in the log`);
    assert.equal(result.hints.length > 0, true, what);
  }
  assert.deepEqual(unhandled, []);
});

test('a site saved with a NUL byte (as older versions accepted it) does not kill Berth on restart', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'berth-saved-nul-'));
  t.after(() => rm(dataDir, { recursive: true, force: true }));
  await mkdir(join(dataDir, 'sites'), { recursive: true });
  // What the sites API saved before the schema refused NUL bytes: spawn threw on every start.
  const saved = { name: 'bad', command: 'node\0 server.mjs', root: 'api' };
  await writeFile(
    join(dataDir, 'sites', 'state.json'),
    JSON.stringify({ sites: { bad: { definition: saved, slots: {} } } }),
  );
  const { child, status } = await startSupervisor(t, dataDir, [
    { name: 'api', command: 'node server.mjs', root: 'api' },
  ]);
  assert.deepEqual(
    status.map((s) => s.name),
    ['api'],
    'the bad site is left out, the good one runs',
  );
  assert.equal(child.exitCode, null, 'the supervisor is still up');
});
