/**
 * Secret references as a user runs them: `berth secret set` stores a value, `berth up` resolves
 * `@secret(name)` into the site's environment, a new version rolls the site over, and the value
 * shows up nowhere but in the instance (not berth.yaml, Berth's output, its /proc environ).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { until } from '../sites/helpers.js';

const berth = resolve('bin/berth');

function cli(args: string[], input?: string): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(berth, args, { input, encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

test('berth secret set | list, @secret(name) resolved at start, a new version rolls the site', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-secret-e2e-'));
  const config = join(dir, 'berth.yaml');
  writeFileSync(
    config,
    `
dataDir: ${dir}/data
registry: { enabled: false }
console: { enabled: false }
frontdoor:
  listen: 127.0.0.1:0
  routers: [{ host: 127.0.0.1, site: secure }]
sites:
  - name: secure
    root: ${resolve('examples/sites/secure-mcp')}
    command: node server.mjs
    appSettings: { DEMO_SECRET: '@secret(demo-secret)' }
`,
  );
  const first = 'first-value-7c1d';
  const second = 'the-second-value-is-longer-2e9a';
  const set = cli(['secret', 'set', 'demo-secret', '--config', config], `${first}\n`);
  assert.equal(set.status, 0, set.stderr);
  assert.match(set.stdout, /demo-secret: version 1 stored/);

  const child = spawn(berth, ['up', '--config', config], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, BERTH_LOG_LEVEL: 'info' },
  });
  let output = '';
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  t.after(async () => {
    child.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  });
  let origin = '';
  const lines = createInterface({ input: child.stdout! });
  await new Promise<void>((ready, fail) => {
    lines.on('line', (line) => {
      output += `${line}\n`;
      const match = /^frontdoor\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(line);
      if (match) origin = match[1]!;
      if (line === 'ready') ready();
    });
    void exited.then(() => fail(new Error(`berth up exited:\n${output}`)));
  });
  assert.ok(origin, output);

  const metadata = async () =>
    (await (await fetch(`${origin}/secrets/demo-secret/metadata`)).json()) as {
      version: number;
      value_length: number;
    };
  assert.deepEqual(
    { ...(await metadata()) },
    {
      available: true,
      name: 'demo-secret',
      version: 1,
      value_length: first.length,
      note: 'Value intentionally withheld: metadata only.',
    },
  );

  // A new version from another process: the running site rolls over to it.
  assert.equal(cli(['secret', 'set', 'demo-secret', '--config', config], second).status, 0);
  await until(async () => (await metadata()).version === 2, 30_000, 'the site to run version 2');
  assert.equal((await metadata()).value_length, second.length);

  const list = cli(['secret', 'list', '--config', config, '--output', 'json']);
  assert.equal(list.status, 0, list.stderr);
  const listed = JSON.parse(list.stdout) as { name: string; versions: { version: number }[] }[];
  assert.deepEqual(
    listed.map((s) => [s.name, s.versions.map((v) => v.version)]),
    [['demo-secret', [1, 2]]],
  );
  const places: [string, string][] = [
    ['secret list', list.stdout],
    ['berth.yaml', readFileSync(config, 'utf8')],
    ["berth up's output", output],
    ["berth up's /proc environ", readFileSync(`/proc/${child.pid}/environ`, 'utf8')],
  ];
  for (const [where, text] of places)
    for (const value of [first, second]) assert.ok(!text.includes(value), `${value} in ${where}`);
  assert.match(output, /secret changed; restarting the slot/);
});
