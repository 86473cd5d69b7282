import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { VerifiedTokens } from '../../src/auth/verified-cache.js';

const run = promisify(execFile);

test('bench:auth --smoke measures the open route, the authenticated route and the jose floor, without errors', async (t) => {
  if (!existsSync('/usr/bin/wrk')) return t.skip('wrk not installed: apt-get install wrk');
  const { stdout } = await run(
    process.execPath,
    ['--import', 'tsx', 'bench/auth/run.ts', '--smoke', '--json'],
    {
      cwd: new URL('../../', import.meta.url).pathname,
      timeout: 120_000,
    },
  );
  const rows = JSON.parse(stdout) as {
    target: string;
    connections: number;
    requests: number;
    errors: number;
  }[];
  assert.deepEqual(
    [...new Set(rows.map((r) => r.target))],
    [
      'front door, no auth',
      'front door, no-op middleware',
      'front door, auth',
      'floor: node:http + jwtVerify',
    ],
  );
  for (const row of rows) {
    assert.ok(row.requests > 0, `${row.target} answered`);
    assert.equal(row.errors, 0, `${row.target}: every answer 2xx (the token was accepted)`);
  }
});

test('a verified token is reused until its exp (at most 5 min), then checked again', () => {
  const cache = new VerifiedTokens();
  const issuer = {} as never;
  const now = 1_000_000_000_000;
  cache.set('t1', { exp: now / 1000 + 60 }, issuer, now);
  assert.ok(cache.get('t1', now + 59_000));
  assert.equal(cache.get('t1', now + 60_000), undefined, 'expired: gone');
  cache.set('t2', { exp: now / 1000 + 3600 }, issuer, now);
  assert.ok(cache.get('t2', now + 299_000));
  assert.equal(cache.get('t2', now + 300_000), undefined, 'five minutes at most');
  cache.set('t3', {}, issuer, now);
  assert.equal(cache.get('t3', now), undefined, 'a token without exp is never kept');
});
