// `berth webapp log ...` against a running console (in this process, with the test-only sites stand-in).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { line } from '../logs/helpers.js';
import { startTestConsole } from '../console/helpers.js';

const berth = new URL('../../bin/berth', import.meta.url).pathname;
const run = promisify(execFile);

test('berth webapp log tail streams matching lines live (text and --output json)', async (t) => {
  const c = await startTestConsole();
  t.after(c.close);
  const child = spawn(
    berth,
    [
      'webapp',
      'log',
      'tail',
      '--console-url',
      c.url,
      '--name',
      'api',
      '--level',
      'warn',
      '--filter',
      'payment',
      '--output',
      'json',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  t.after(() => child.kill('SIGTERM'));
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d));
  child.stderr.on('data', (d: Buffer) => (err += d));
  const until = async (check: () => boolean, what: string) => {
    const end = Date.now() + 60_000; // generous: `berth` itself can take many seconds to start on a loaded machine
    while (!check()) {
      if (Date.now() > end) assert.fail(`${what}; stdout ${out} stderr ${err}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  await until(() => err.includes('Connected to'), 'tail connects');
  c.store.write(line('ERROR payment declined'));
  c.store.write(line('INFO payment ok'));
  c.store.write(line('ERROR payment elsewhere', { site: 'web' }));
  c.store.write(line('WARN payment slow', { instance: 'i7' }));
  await until(() => out.trim().split('\n').length >= 2, 'two lines');
  const entries = out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { message: string; instance: string; level: string });
  assert.deepEqual(
    entries.map((e) => [e.message, e.level, e.instance]),
    [
      ['ERROR payment declined', 'error', 'i1'],
      ['WARN payment slow', 'warn', 'i7'],
    ],
  );

  const text = spawn(
    berth,
    ['webapp', 'log', 'tail', '--console-url', c.url, '--tail', '1', '--instance', 'i7'],
    { stdio: ['ignore', 'pipe', 'ignore'] },
  );
  t.after(() => text.kill('SIGTERM'));
  let textOut = '';
  text.stdout.on('data', (d: Buffer) => (textOut += d));
  await until(() => textOut.includes('\n'), 'text tail prints the last line');
  assert.match(
    textOut,
    /^\d{4}-\d\d-\d\dT[\d:.]+Z api\/production\/i7 application WARN {2}WARN payment slow\n$/,
  );
});

test('berth webapp log tail reports a bad regex, a site that does not exist and an unreachable console', async (t) => {
  const c = await startTestConsole();
  t.after(c.close);
  await assert.rejects(
    run(berth, ['webapp', 'log', 'tail', '--console-url', c.url, '--name', 'typo']),
    (e: { code: number; stderr: string }) => {
      assert.equal(e.code, 1);
      assert.equal(e.stderr, 'berth: no site named "typo" (`berth webapp list` shows the sites)\n');
      return true;
    },
  );
  await assert.rejects(
    run(berth, ['webapp', 'log', 'tail', '--console-url', c.url, '--regex', 'a(']),
    (e: { code: number; stderr: string }) => {
      assert.equal(e.code, 1);
      assert.match(
        e.stderr,
        /the console refused the stream: regex: Invalid regular expression: \/a\(\/: Unterminated group/,
      );
      return true;
    },
  );
  await assert.rejects(
    run(berth, ['webapp', 'log', 'tail', '--console-url', 'http://127.0.0.1:1']),
    (e: { code: number; stderr: string }) => {
      assert.match(e.stderr, /cannot reach the console at http:\/\/127\.0\.0\.1:1/);
      return true;
    },
  );
});

test('berth webapp log startup list and show, through the console API', async (t) => {
  const c = await startTestConsole();
  t.after(c.close);
  const list = await run(berth, [
    'webapp',
    'log',
    'startup',
    'list',
    '--console-url',
    c.url,
    '--name',
    'api',
  ]);
  assert.match(
    list.stdout,
    /^FILE\s+OUTCOME\s+INSTANCE\s+SLOT\s+SIZE\s+MODIFIED\n2026_11_26_a1b2c3d4_failure\.log\s+failure\s+a1b2c3d4\s+production\s+230/,
  );
  const failures = JSON.parse(
    (
      await run(berth, [
        'webapp',
        'log',
        'startup',
        'list',
        '--console-url',
        c.url,
        '--name',
        'api',
        '--outcome',
        'failure',
        '--output',
        'json',
      ])
    ).stdout,
  ) as Array<{ name: string }>;
  assert.deepEqual(
    failures.map((f) => f.name),
    ['2026_11_26_a1b2c3d4_failure.log'],
  );

  const latest = await run(berth, [
    'webapp',
    'log',
    'startup',
    'show',
    '--console-url',
    c.url,
    '--name',
    'api',
  ]);
  assert.match(latest.stdout, /^== 2026_11_26_a1b2c3d4_failure\.log \(failure, instance a1b2c3d4\) ==\n/);
  assert.match(latest.stdout, /HINT: Wrong port/);
  const named = JSON.parse(
    (
      await run(berth, [
        'webapp',
        'log',
        'startup',
        'show',
        '--console-url',
        c.url,
        '--name',
        'api',
        '--filename',
        '2026_11_26_a1b2c3d4_success.log',
        '--output',
        'json',
      ])
    ).stdout,
  ) as { outcome: string; content: string };
  assert.equal(named.outcome, 'success');
  assert.match(named.content, /Site started\./);

  await assert.rejects(
    run(berth, [
      'webapp',
      'log',
      'startup',
      'show',
      '--console-url',
      c.url,
      '--name',
      'api',
      '--filename',
      '../../etc/passwd',
    ]),
    (e: { code: number; stderr: string }) => {
      assert.equal(e.code, 1);
      assert.match(e.stderr, /Invalid startup log filename/);
      return true;
    },
  );
  await assert.rejects(
    run(berth, [
      'webapp',
      'log',
      'startup',
      'show',
      '--console-url',
      c.url,
      '--name',
      'api',
      '--filename',
      'x.log',
      '--instance',
      'a',
    ]),
    /give --filename or --instance, not both/,
  );
  await assert.rejects(
    run(berth, [
      'webapp',
      'log',
      'startup',
      'list',
      '--console-url',
      c.url,
      '--name',
      'api',
      '--outcome',
      'maybe',
    ]),
    /--outcome must be failure or success/,
  );
});
