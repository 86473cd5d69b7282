/**
 * The README's quick start, as a new user runs it: `npm start`'s command (berth up on
 * examples/berth.yaml), then every command of the "try" block, twice (each must be re-runnable),
 * from the checkout. Two changes, both through the documented overrides: free ports instead of the
 * demo's fixed ones (other tests and helpers share this machine; the block's text is rewritten to
 * the ports berth up printed) and a temp data folder (BERTH_DATA_DIR) instead of examples/.berth.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { tempDir } from '../support/temp.js';

const root = resolve('.');
const run = promisify(execFile);
const readme = readFileSync(resolve(root, 'README.md'), 'utf8');

/** The ```sh blocks of the "## Quick start" section. */
function quickStartBlocks(): string[] {
  const section = readme.slice(readme.indexOf('## Quick start'));
  const end = section.indexOf('\n## ', 3);
  return [...section.slice(0, end).matchAll(/```sh\n([^]*?)```/g)].map((m) => m[1]!);
}

const missing = ['umoci', 'skopeo', 'curl', 'python3'].filter(
  (tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0,
);

test(
  'the README quick start runs as shown, twice',
  { skip: missing.length > 0 ? `not installed: ${missing.join(', ')}` : false },
  async (t) => {
    const [setup, tryBlock] = quickStartBlocks();
    assert.match(setup ?? '', /npm install && npm start/);
    const pkg = JSON.parse(readFileSync(resolve(root, 'package.json'), 'utf8')) as {
      scripts: { start: string };
    };
    assert.equal(
      pkg.scripts.start,
      './bin/berth up --config examples/berth.yaml',
      'npm start is what the README says',
    );
    assert.ok(tryBlock, 'a block of commands to try');

    const data = tempDir('berth-readme-');
    const env = {
      ...process.env,
      TMPDIR: data, // mktemp -d in the block lands here, removed with it
      BERTH_DATA_DIR: `${data}/state`,
      BERTH_REGISTRY__LISTEN: '127.0.0.1:0',
      BERTH_FRONTDOOR__LISTEN: '127.0.0.1:0',
      BERTH_CONSOLE__LISTEN: '127.0.0.1:0',
      BERTH_SITES__0__PORT: 'auto',
      BERTH_LOG_LEVEL: 'warn',
    };
    const up = spawn('./bin/berth', ['up', '--config', 'examples/berth.yaml'], {
      cwd: root,
      env,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise((done) => up.once('exit', done));
    t.after(async () => {
      up.kill('SIGTERM');
      await exited;
    });
    const urls = new Map<string, string>();
    const lines = createInterface({ input: up.stdout! });
    await new Promise<void>((ready, fail) => {
      lines.on('line', (line) => {
        const match = /^(\S+)\s+(http:\/\/\S+)$/.exec(line);
        if (match && !urls.has(match[1]!)) urls.set(match[1]!, match[2]!);
        if (line === 'ready') ready();
      });
      void exited.then(() => fail(new Error('berth up exited before ready')));
    });
    const port = (name: string) => new URL(urls.get(name)!).port;
    const ports: Record<string, string> = {
      '5000': port('registry'),
      '8080': port('frontdoor'),
      '8081': port('site:api'),
      '8090': port('console'),
    };
    const script = tryBlock!.replace(
      /127\.0\.0\.1:(5000|8080|8081|8090)\b/g,
      (_, p: string) => `127.0.0.1:${ports[p]}`,
    );
    const [follow, ...others] = script.trimEnd().split('\n').reverse();
    const once = others.reverse().join('\n');
    assert.match(follow ?? '', /webapp log tail/, 'the block ends with the command that follows the logs');
    // The CLI commands read the console's address and the data folder from the config: the same
    // overrides make them find this berth up.
    const commandEnv = { ...env, BERTH_CONSOLE__LISTEN: `127.0.0.1:${ports['8090']}` };

    for (const round of [1, 2]) {
      const { stdout } = await run('sh', ['-ec', once], {
        cwd: root,
        env: commandEnv,
        maxBuffer: 16 << 20,
      }).catch((error: { stdout: string; stderr: string }) => {
        throw new Error(`round ${round} failed:\n${error.stdout}\n${error.stderr}`);
      });
      assert.match(stdout, /"site":"api"/, 'curl reached the site');
      assert.match(stdout, /"Tags":\s*\[\s*"v1"\s*\]/, 'skopeo listed the pushed tag');
      assert.match(stdout, /^registry data: .*\/state\/registry$/m, 'gc inspected the data berth up uses');
      assert.match(stdout, /^tools\/list: .*getItem/m);
      assert.match(stdout, /^tools\/call getItem: \{"id":1,"name":"first"\}$/m);
      assert.match(stdout, /"protocolVersion":"2025-11-25"/, 'curl initialized an MCP session');
      assert.match(stdout, /# examples\/berth.yaml: valid; the effective settings/);
      assert.match(stdout, /^api\s+http:\/\/api\.localhost:\d+\//m, 'webapp list');
      assert.match(stdout, new RegExp(`slot production .*  http://127\\.0\\.0\\.1:${ports['8081']}/$`, 'm'));
      assert.match(stdout, /^FILE\s+OUTCOME/m, 'startup logs listed');
    }

    // The last line follows the logs until stopped: it connects, then it is stopped as Ctrl-C would.
    const tail = spawn('sh', ['-c', `exec ${follow!.replace(/#.*$/, '')}`], { cwd: root, env: commandEnv });
    const connected = await new Promise<string>((done) => {
      let err = '';
      tail.stderr.on('data', (d: Buffer) => {
        err += d;
        if (/Connected to|berth:/.test(err)) done(err);
      });
      tail.once('exit', () => done(err));
    });
    tail.kill('SIGINT');
    assert.match(connected, /^Connected to http:\/\/127\.0\.0\.1:\d+; streaming logs/);
  },
);
