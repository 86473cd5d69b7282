// Issue 10, item 5: password checks off the event loop. On the old code bcrypt ran on the main thread
// (17 wrong passwords a second raised every other service's latency from 7 ms to 1 s), failures were
// not limited, and an unknown user was checked against a cost-10 hash whatever the file's cost
// (3 ms against 62 ms, once the dummy existed). There was no pool: every test here failed there.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { threadId } from 'node:worker_threads';
import bcrypt from 'bcryptjs';
import { registrySchema } from '../../src/config/registry.js';
import { BcryptPool, bcryptPool } from '../../src/lib/bcrypt-pool.js';
import { HtpasswdUsers, PasswordCheckRefused } from '../../src/lib/htpasswd.js';
import { silentLogger } from '../../src/lib/logger.js';
import { startRegistry } from '../../src/registry/index.js';
import { consoleHeaders, startTestConsole } from '../console/helpers.js';

/** A real pool that also records which hashes it was asked to check. */
class RecordingPool extends BcryptPool {
  readonly hashes: string[] = [];
  override compare(password: string, hash: string): Promise<boolean> {
    this.hashes.push(hash);
    return super.compare(password, hash);
  }
}

async function htpasswd(t: TestContext, lines: string[]): Promise<{ dir: string; file: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-passwords-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'htpasswd');
  await writeFile(file, lines.join('\n') + '\n');
  return { dir, file };
}

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

/** GET from a chosen loopback source address (each is its own client for the failure limit). */
function getFrom(
  url: string,
  headers: Record<string, string>,
  localAddress = '127.0.0.1',
): Promise<{ status: number; retryAfter?: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers, localAddress }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode!, retryAfter: res.headers['retry-after'] as string, body }),
      );
    });
    req.on('error', reject).end();
  });
}

test('console logins are checked on a worker thread, not the event loop', async (t) => {
  const { file } = await htpasswd(t, [`ops:${bcrypt.hashSync('correct horse', 4)}`]);
  const c = await startTestConsole({ console: { htpasswd: file } });
  t.after(c.close);
  const before = bcryptPool.stats().compares;
  const headers = { ...consoleHeaders, authorization: basic('ops', 'wrong') };
  assert.equal((await fetch(`${c.url}/api/logs`, { headers })).status, 401);
  const ok = { ...consoleHeaders, authorization: basic('ops', 'correct horse') };
  assert.equal((await fetch(`${c.url}/api/logs`, { headers: ok })).status, 200);
  const stats = bcryptPool.stats();
  assert.equal(stats.compares - before, 2, 'both checks went through the pool');
  assert.ok(stats.threadIds.length > 0 && !stats.threadIds.includes(threadId), `threads ${stats.threadIds}`);
});

test('an unknown user is checked against a hash of the same cost as the known ones', async (t) => {
  const known = bcrypt.hashSync('s3cret', 6);
  const { file } = await htpasswd(t, [`alice:${known}`, `bob:${bcrypt.hashSync('other', 5)}`]);
  const pool = new RecordingPool(1, 4);
  const users = new HtpasswdUsers(file, silentLogger, 'console.htpasswd', { pool });
  assert.equal(await users.verify('mallory', 's3cret', '127.0.0.1'), false);
  assert.equal(pool.hashes.length, 1, 'the unknown user cost one bcrypt check');
  const [dummy] = pool.hashes;
  assert.match(dummy!, /^\$2b\$06\$[./A-Za-z0-9]{53}$/, 'cost 6: the highest in the file');
  assert.notEqual(dummy, known);
  assert.equal(await users.verify('alice', 'wrong', '127.0.0.1'), false);
  assert.equal(pool.hashes.length, 2);
  assert.equal(pool.hashes[1], known);
});

test('the pool queue is bounded: past it a check is refused at once (503 with Retry-After), not queued', async (t) => {
  const { file } = await htpasswd(t, [`alice:${bcrypt.hashSync('s3cret', 8)}`]);
  const pool = new RecordingPool(1, 2);
  const users = new HtpasswdUsers(file, silentLogger, 'console.htpasswd', { pool });
  const attempts = Array.from({ length: 5 }, (_, i) => users.verify('alice', `guess ${i}`, `10.0.0.${i}`));
  const results = await Promise.allSettled(attempts);
  assert.deepEqual(
    results.map((r) => r.status),
    ['fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'rejected'],
    'one running, two queued, two refused',
  );
  for (const r of results.slice(3)) {
    const error = (r as PromiseRejectedResult).reason as PasswordCheckRefused;
    assert.ok(error instanceof PasswordCheckRefused);
    assert.equal(error.status, 503);
    assert.ok(error.retryAfter > 0);
  }
  assert.equal(pool.hashes.length, 5, 'asked five times');
  assert.equal(pool.stats().compares, 3, 'ran three');
  // With room again, checks run.
  assert.equal(await users.verify('alice', 's3cret', '10.0.0.9'), true);
});

test('console: wrong passwords are limited per client address (429 + Retry-After, no bcrypt); successes do not count', async (t) => {
  const { file } = await htpasswd(t, [`ops:${bcrypt.hashSync('correct horse', 4)}`]);
  const c = await startTestConsole({
    console: { htpasswd: file, authFailureLimit: { count: 3, window: '1m' } },
  });
  t.after(c.close);
  const url = `${c.url}/api/logs`;
  const wrong = { ...consoleHeaders, authorization: basic('ops', 'wrong') };
  const right = { ...consoleHeaders, authorization: basic('ops', 'correct horse') };
  assert.equal((await getFrom(url, wrong)).status, 401);
  assert.equal((await getFrom(url, wrong)).status, 401);
  for (let i = 0; i < 5; i++)
    assert.equal((await getFrom(url, right)).status, 200, 'successes are not failures');
  assert.equal((await getFrom(url, wrong)).status, 401, 'the third failure');
  const before = bcryptPool.stats().compares;
  const limited = await getFrom(url, wrong);
  assert.equal(limited.status, 429);
  assert.ok(
    Number(limited.retryAfter) >= 1 && Number(limited.retryAfter) <= 60,
    `Retry-After ${limited.retryAfter}`,
  );
  assert.match(JSON.parse(limited.body).detail, /too many failed password checks from this address/);
  assert.equal(
    (await getFrom(url, right)).status,
    429,
    'a locked-out client cannot try the right password either',
  );
  assert.equal(bcryptPool.stats().compares, before, 'a refused client costs no bcrypt work');
  // Another client (another loopback address) is not held back by this one.
  assert.equal((await getFrom(url, wrong, '127.0.0.2')).status, 401);
  // X-Forwarded-For is the client's own word: it does not make a new client.
  assert.equal((await getFrom(url, { ...wrong, 'x-forwarded-for': '192.0.2.9' })).status, 429);
});

test('registry: Basic auth and the token endpoint share the per-client failure limit', async (t) => {
  const { dir } = await htpasswd(t, [`alice:${bcrypt.hashSync('s3cret', 4)}`]);
  const config = registrySchema.parse({
    listen: '127.0.0.1:0',
    auth: { htpasswd: 'htpasswd', scheme: 'token', failureLimit: { count: 2, window: '1m' } },
  });
  const registry = await startRegistry({ config, dataDir: join(dir, 'data'), baseDir: dir });
  t.after(() => registry.close());
  const base = registry.urls[0]!.replace(/\/$/, '');
  const wrong = { authorization: basic('alice', 'wrong') };
  assert.equal((await getFrom(`${base}/v2/`, wrong)).status, 401);
  assert.equal((await getFrom(`${base}/auth/token?service=berth-registry`, wrong)).status, 401);
  const limited = await getFrom(`${base}/v2/`, wrong);
  assert.equal(limited.status, 429);
  assert.ok(Number(limited.retryAfter) >= 1);
  assert.equal(JSON.parse(limited.body).errors[0].code, 'TOOMANYREQUESTS');
  const token = await getFrom(`${base}/auth/token?service=berth-registry`, {
    authorization: basic('alice', 's3cret'),
  });
  assert.equal(token.status, 429);
  assert.ok(Number(token.retryAfter) >= 1);
  const elsewhere = await getFrom(
    `${base}/auth/token?service=berth-registry`,
    { authorization: basic('alice', 's3cret') },
    '127.0.0.3',
  );
  assert.equal(elsewhere.status, 200, 'another client gets its token');
});
