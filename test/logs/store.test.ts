import { test } from 'node:test';
import assert from 'node:assert/strict';
import { logsSchema } from '../../src/config/logs.js';
import { createLogStore, LogQueryError } from '../../src/logs/index.js';
import { line, tempStore } from './helpers.js';

test('every filter narrows a history query: site, slot, instance, type, level, keyword, phrase, regex', async (t) => {
  const { store, cleanup } = tempStore();
  t.after(cleanup);
  store.write(line('GET /api/orders/42 200 in 12ms'));
  store.write(line('connection refused to database db-1', { stream: 'stderr' }));
  store.write(line('{"level":"warn","msg":"slow query on orders"}', { instance: 'i2' }));
  store.write(line('Site started.', { type: 'platform', instance: '' }));
  store.write(line('GET /health 200', { slot: 'staging', instance: 's1' }));
  store.write(line('hello from the other site', { site: 'web' }));

  const messages = (q: Parameters<typeof store.query>[0]) => store.query(q).entries.map((e) => e.message);
  assert.equal(store.query({}).entries.length, 6);
  assert.deepEqual(messages({ site: 'web' }), ['hello from the other site']);
  assert.deepEqual(messages({ slot: 'staging' }), ['GET /health 200']);
  assert.deepEqual(messages({ instance: 'i2' }), ['{"level":"warn","msg":"slow query on orders"}']);
  assert.deepEqual(messages({ type: 'platform' }), ['Site started.']);
  assert.deepEqual(messages({ level: 'warn' }), [
    '{"level":"warn","msg":"slow query on orders"}',
    'connection refused to database db-1',
  ]);
  assert.deepEqual(
    messages({ level: 'error' }),
    ['connection refused to database db-1'],
    'an undetected stderr line is an error',
  );
  assert.deepEqual(messages({ q: 'orders' }), [
    '{"level":"warn","msg":"slow query on orders"}',
    'GET /api/orders/42 200 in 12ms',
  ]);
  assert.deepEqual(
    messages({ q: 'orders slow' }),
    ['{"level":"warn","msg":"slow query on orders"}'],
    'all words must appear',
  );
  assert.deepEqual(messages({ q: '"connection refused"' }), ['connection refused to database db-1']);
  assert.deepEqual(messages({ q: '"refused connection"' }), [], 'a phrase keeps its word order');
  assert.deepEqual(messages({ q: 'datab*' }), ['connection refused to database db-1'], 'prefix search');
  assert.deepEqual(
    messages({ q: 'CONNECTION' }),
    ['connection refused to database db-1'],
    'case-insensitive',
  );
  assert.deepEqual(messages({ regex: 'orders/\\d+ 200' }), ['GET /api/orders/42 200 in 12ms']);
  assert.deepEqual(messages({ regex: '(?i)SITE STARTED' }), ['Site started.']);
  assert.deepEqual(messages({ q: 'orders', site: 'api', level: 'info', slot: 'production' }), [
    '{"level":"warn","msg":"slow query on orders"}',
    'GET /api/orders/42 200 in 12ms',
  ]);
  assert.deepEqual(messages({ site: 'nope' }), []);
  // Search text is never read as FTS5 syntax.
  assert.deepEqual(messages({ q: 'NEAR( "x OR * ) AND' }), []);
});

test('a bad regular expression is refused with the reason', async (t) => {
  const { store, cleanup } = tempStore();
  t.after(cleanup);
  assert.throws(
    () => store.query({ regex: 'a(' }),
    (error: unknown) =>
      error instanceof LogQueryError &&
      /regex: Invalid regular expression.*Unterminated group/.test((error as Error).message),
  );
  assert.throws(() => store.subscribe({ regex: '[z-a]' }, () => {}), /Range out of order/);
});

test('a regex that would scan too many lines is refused with advice, not left to hold the server', async (t) => {
  const { store, cleanup } = tempStore({ query: { maxRegexScan: 1000 } });
  t.after(cleanup);
  for (let i = 0; i < 3000; i++) store.write(line(`line ${i}`));
  assert.equal(
    store.query({ regex: 'line 29\\d\\d', limit: 10 }).entries.length,
    10,
    'a page filled within the budget is fine',
  );
  assert.throws(
    () => store.query({ regex: 'never matches' }),
    (e: unknown) =>
      e instanceof LogQueryError &&
      /regex: tested 1000 lines without filling a page; narrow the search/.test((e as Error).message),
  );
  assert.equal(
    store.query({ regex: 'never matches', from: Date.now() - 60_000, q: 'line', level: 'fatal' }).entries
      .length,
    0,
    'narrowed by level first: no regex work at all',
  );
});

test('time ranges and cursor paging return every line exactly once', async (t) => {
  const { store, cleanup } = tempStore();
  t.after(cleanup);
  const base = Date.now() - 60_000;
  for (let i = 0; i < 250; i++) store.write(line(`line ${i}`, { time: base + i * 100 }));
  const inRange = store.query({ from: base + 5000, to: base + 10_000, limit: 1000 }).entries;
  assert.equal(inRange.length, 50);
  assert.equal(inRange[0]!.message, 'line 99', 'newest first');
  assert.equal(inRange.at(-1)!.message, 'line 50');

  const seen: string[] = [];
  let cursor: string | undefined;
  do {
    const page = store.query({ limit: 40, cursor });
    seen.push(...page.entries.map((e) => e.message));
    cursor = page.next;
  } while (cursor);
  assert.equal(seen.length, 250);
  assert.equal(new Set(seen).size, 250);
  assert.equal(seen[0], 'line 249');

  const forward = store.query({ order: 'asc', limit: 3, from: base + 24_700 });
  assert.deepEqual(
    forward.entries.map((e) => e.message),
    ['line 247', 'line 248', 'line 249'],
  );
  assert.equal(forward.next, undefined);
  assert.throws(() => store.query({ cursor: 'abc' }), /cursor: not a cursor/);
});

test('lines survive a restart, and new ids keep increasing', async (t) => {
  const { store, dir, cleanup } = tempStore();
  t.after(cleanup);
  store.write(line('before restart'));
  const first = store.query({}).entries[0]!;
  await store.close();
  const reopened = createLogStore({ dataDir: dir, config: logsSchema.parse({}) });
  t.after(() => reopened.close());
  reopened.write(line('after restart'));
  const entries = reopened.query({}).entries;
  assert.deepEqual(
    entries.map((e) => e.message),
    ['after restart', 'before restart'],
  );
  assert.ok(entries[0]!.id > first.id);
  assert.deepEqual(reopened.sources(), [
    { site: 'api', slot: 'production', instance: 'i1', type: 'application' },
  ]);
});

test('retention deletes lines older than maxAge, and the oldest lines past maxSize', async (t) => {
  const { store, cleanup } = tempStore({ retention: { maxAge: '1h', maxSize: '2MiB' } });
  t.after(cleanup);
  const now = Date.now();
  store.write(line('two hours old', { time: now - 2 * 3_600_000 }));
  store.write(line('fresh'));
  store.flush();
  assert.equal(store.enforceRetention().deleted, 1);
  assert.deepEqual(
    store.query({}).entries.map((e) => e.message),
    ['fresh'],
  );
  assert.deepEqual(store.query({ q: 'hours' }).entries, [], 'the FTS index forgot the deleted line too');

  const filler = 'x'.repeat(200);
  for (let i = 0; i < 30_000; i++) store.write(line(`bulk ${i} ${filler}`));
  store.flush();
  assert.ok(store.stats().bytes > 2 * 1024 ** 2, `store holds ${store.stats().bytes} bytes before retention`);
  assert.ok(store.enforceRetention().deleted > 0);
  assert.ok(store.stats().bytes <= 2 * 1024 ** 2, `store holds ${store.stats().bytes} bytes after retention`);
  const newest = store.query({ limit: 1 }).entries[0]!;
  assert.equal(newest.message.split(' ')[1], '29999', 'the newest lines are kept');
});

test('a flood past the queue limit drops and counts lines, then says so in a platform warning', async (t) => {
  const { store, cleanup } = tempStore({ ingest: { maxQueue: 1000, batchSize: 500 } });
  t.after(cleanup);
  // Synchronous writes never let the store drain: the queue fills at 1000.
  for (let i = 0; i < 5000; i++) store.write(line(`flood ${i}`));
  assert.equal(store.stats().dropped, 4000);
  assert.equal(store.stats().queued, 1000);
  store.flush();
  const warning = store.query({ type: 'platform' }).entries;
  assert.equal(warning.length, 1);
  assert.equal(warning[0]!.level, 'warn');
  assert.match(warning[0]!.message, /dropped 4000 line\(s\) of api\/production/);
  assert.equal(store.query({ q: 'flood', limit: 1000 }).entries.length, 1000);
});

test('long messages are cut, trailing newlines removed, odd input does not throw', async (t) => {
  const { store, cleanup } = tempStore({ ingest: { maxMessageBytes: '1KiB' } });
  t.after(cleanup);
  store.write(line('y'.repeat(5000)));
  store.write(line('ends with newline\r\n'));
  store.write({
    site: 'api',
    slot: '',
    instance: 'i1',
    type: 'bogus' as never,
    message: 42 as never,
    level: 'loud' as never,
    time: Number.NaN,
  });
  const [odd, newline, long] = store.query({}).entries;
  assert.ok(long!.message.length < 1100);
  assert.match(long!.message, /… \[truncated 3976 bytes\]$/);
  assert.equal(newline!.message, 'ends with newline');
  assert.deepEqual(
    { message: odd!.message, slot: odd!.slot, type: odd!.type, level: odd!.level },
    { message: '42', slot: 'production', type: 'application', level: 'info' },
  );
});

test('live subscribers get matching lines at once, before they are flushed', async (t) => {
  const { store, cleanup } = tempStore();
  t.after(cleanup);
  const got: string[] = [];
  const stop = store.subscribe({ site: 'api', level: 'warn', q: 'disk' }, (e) => got.push(e.message));
  store.write(line('WARN disk almost full'));
  store.write(line('INFO disk fine'));
  store.write(line('ERROR disk gone', { site: 'web' }));
  store.write(line('ERROR cpu hot'));
  stop();
  store.write(line('WARN disk after unsubscribe'));
  assert.deepEqual(got, ['WARN disk almost full']);
});
