// What the command line loads at start, and which build bin/berth runs. Module loads are traced by
// a resolve hook (fixtures/trace-imports.mjs) in the child process itself.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

const root = new URL('../../', import.meta.url).pathname;
const tracer = join(root, 'test/cli/fixtures/trace-imports.mjs');

function tempDir(t: { after(fn: () => void): void }, prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The packages and src/ parts a traced run loaded (tsx's own modules left out: they load before the command). */
function loaded(traceFile: string): { packages: Set<string>; parts: Set<string> } {
  const urls = readFileSync(traceFile, 'utf8').split('\n').filter(Boolean);
  const packages = new Set<string>();
  const parts = new Set<string>();
  for (const url of urls) {
    const pkg = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1];
    if (pkg && pkg !== 'tsx' && pkg !== 'esbuild' && pkg !== 'get-tsconfig') packages.add(pkg);
    const part = /\/(?:src|dist)\/([a-z]+)\//.exec(url)?.[1];
    if (part) parts.add(part);
  }
  return { packages, parts };
}

/** `berth <args>` from the sources (tsx), with the import trace on. */
const sourceArgs = (args: string[]) => [
  '--import',
  'tsx',
  '--import',
  tracer,
  join(root, 'src/cli/main.ts'),
  ...args,
];

test('berth --help loads commander and the command line files, nothing else', (t) => {
  const trace = join(tempDir(t, 'berth-trace-'), 'trace.txt');
  const run = spawnSync(process.execPath, sourceArgs(['--help']), {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, TRACE_IMPORTS_FILE: trace },
  });
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /Usage: berth/);
  const { packages, parts } = loaded(trace);
  assert.deepEqual([...packages].sort(), ['commander']);
  assert.deepEqual([...parts].sort(), ['cli']);
});

test('berth registry serve loads the registry and what it needs, not the other parts', async (t) => {
  const dir = tempDir(t, 'berth-trace-');
  const trace = join(dir, 'trace.txt');
  const child = spawn(
    process.execPath,
    sourceArgs(['registry', 'serve', '--listen', '127.0.0.1:0', '--data-dir', join(dir, 'data')]),
    { cwd: root, env: { ...process.env, TRACE_IMPORTS_FILE: trace }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  t.after(() => child.kill('SIGKILL'));
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c;
      if (/\nready\n/.test(`\n${out}`)) resolve();
    });
    child.once('exit', (code) => reject(new Error(`registry serve exited ${code}`)));
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
  const { packages, parts } = loaded(trace);
  // Kysely is required through its CommonJS build (src/registry/meta/kysely.ts), which this trace of
  // ESM resolutions does not see; the part and Fastify are what show the registry loaded.
  assert.ok(parts.has('registry') && packages.has('fastify'), 'the registry is loaded');
  for (const other of ['frontdoor', 'sites', 'mcp', 'console', 'logs'])
    assert.ok(!parts.has(other), `${other} is not loaded by registry serve`);
  for (const pkg of ['@azure/storage-blob', 'pg', 'undici', '@modelcontextprotocol/server', 'ajv'])
    assert.ok(!packages.has(pkg), `${pkg} is not loaded by a registry on folders and SQLite`);
});

test('bin/berth runs dist/ when its build stamp is newer than src/, and the sources otherwise', (t) => {
  // A miniature checkout: the real bin/berth, a dist/ and a src/ that each say which one ran.
  const dir = tempDir(t, 'berth-bin-');
  mkdirSync(join(dir, 'bin'));
  mkdirSync(join(dir, 'dist/cli'), { recursive: true });
  mkdirSync(join(dir, 'src/cli'), { recursive: true });
  copyFileSync(join(root, 'bin/berth'), join(dir, 'bin/berth'));
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
  writeFileSync(join(dir, 'dist/cli/main.js'), "console.log('dist');\n");
  writeFileSync(join(dir, 'src/cli/main.ts'), "const from: string = 'src';\nconsole.log(from);\n");
  writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
  const stamp = join(dir, 'dist/.build-stamp');
  const ran = () => spawnSync(process.execPath, [join(dir, 'bin/berth')], { encoding: 'utf8' }).stdout.trim();

  assert.equal(ran(), 'src', 'no build: the sources run');
  writeFileSync(stamp, 'built\n');
  const source = join(dir, 'src/cli/main.ts');
  utimesSync(source, new Date(1_000_000), new Date(1_000_000));
  utimesSync(stamp, new Date(2_000_000), new Date(2_000_000));
  assert.equal(ran(), 'dist', 'a build newer than every source: dist runs');
  utimesSync(source, new Date(3_000_000), new Date(3_000_000));
  assert.equal(ran(), 'src', 'a source edited after the build: the sources run');
});
