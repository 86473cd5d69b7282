import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import bcrypt from 'bcryptjs';
import { consoleSchema } from '../../src/config/console.js';
import { startConsole } from '../../src/console/index.js';
import { tempStore } from '../logs/helpers.js';
import { rawGet as get, startTestConsole } from './helpers.js';

const berth = new URL('../../bin/berth', import.meta.url).pathname;

async function htpasswdFile(t: { after(fn: () => Promise<void>): void }, user: string, password: string) {
  const dir = await mkdtemp(join(tmpdir(), 'berth-console-auth-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'htpasswd');
  await writeFile(file, `${user}:${bcrypt.hashSync(password, 4)}\n`);
  return file;
}

test('a console on loopback answers only loopback Host names and same-origin browsers', async (t) => {
  const c = await startTestConsole({ console: { allowedHosts: ['scm.example'] } });
  t.after(c.close);
  const url = `${c.url}/api/logs`;
  const port = new URL(c.url).port;
  assert.equal((await get(url, { host: `127.0.0.1:${port}` })).status, 200);
  assert.equal((await get(url, { host: `localhost:${port}` })).status, 200);
  assert.equal((await get(url, { host: `scm.example:${port}` })).status, 200, 'allowedHosts are served');

  // DNS rebinding: evil.example resolves to 127.0.0.1, the browser sends its own name as Host.
  const rebound = await get(url, { host: `evil.example:${port}` });
  assert.equal(rebound.status, 403);
  assert.match(JSON.parse(rebound.body).detail, /does not answer for Host "evil\.example"/);

  // A page on another origin (even another loopback port) may not drive the console.
  const crossSite = await get(url, { host: `127.0.0.1:${port}`, origin: 'http://127.0.0.1:9999' });
  assert.equal(crossSite.status, 403);
  assert.match(JSON.parse(crossSite.body).detail, /cross-origin/);
  assert.equal((await get(url, { host: `127.0.0.1:${port}`, origin: 'null' })).status, 403);
  assert.equal(
    (await get(url, { host: `127.0.0.1:${port}`, origin: `http://127.0.0.1:${port}` })).status,
    200,
  );
});

test('a console bound to a non-loopback address without console.htpasswd refuses to start', async (t) => {
  const logs = tempStore();
  t.after(logs.cleanup);
  await assert.rejects(
    startConsole({ config: consoleSchema.parse({}), logStore: logs.store, listen: '0.0.0.0:0' }),
    /console\.listen binds 0\.0\.0\.0.*console\.htpasswd is not set/,
  );
});

test('with console.htpasswd every request needs Basic credentials, and the CLI sends them', async (t) => {
  const file = await htpasswdFile(t, 'ops', 'correct horse');
  const c = await startTestConsole({ console: { htpasswd: file } });
  t.after(c.close);
  const host = new URL(c.url).host;
  const basic = (user: string, password: string) =>
    `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

  for (const path of ['/', '/api/logs', '/api/startuplogs']) {
    const anonymous = await get(`${c.url}${path}`, { host });
    assert.equal(anonymous.status, 401, path);
    assert.match(anonymous.challenge!, /^Basic realm="berth console"/);
  }
  assert.equal((await get(`${c.url}/api/logs`, { host, authorization: basic('ops', 'wrong') })).status, 401);
  assert.equal(
    (await get(`${c.url}/api/logs`, { host, authorization: basic('nobody', 'correct horse') })).status,
    401,
  );
  assert.equal((await get(`${c.url}/api/logs`, { host, authorization: 'Basic !!!' })).status, 401);
  assert.equal(
    (await get(`${c.url}/api/logs`, { host, authorization: basic('ops', 'correct horse') })).status,
    200,
  );

  const run = promisify(execFile);
  const list = ['webapp', 'log', 'startup', 'list', '--name', 'api', '--output', 'json'];
  const inUrl = await run(berth, [...list, '--console-url', c.url.replace('://', '://ops:correct%20horse@')]);
  assert.equal(JSON.parse(inUrl.stdout).length, 2, 'credentials from --console-url');
  const env = { ...process.env, BERTH_CONSOLE_USER: 'ops', BERTH_CONSOLE_PASSWORD: 'correct horse' };
  const fromEnv = await run(berth, [...list, '--console-url', c.url], { env });
  assert.equal(JSON.parse(fromEnv.stdout).length, 2, 'credentials from the environment');
  await assert.rejects(run(berth, [...list, '--console-url', c.url]), (error: { stderr: string }) => {
    assert.match(error.stderr, /user name and password/);
    return true;
  });
});
