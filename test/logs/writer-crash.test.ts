// What happens to lines handed to the log writer thread when that thread stops: the next thread stores
// them, each exactly once, and a batch that stops every thread is given up after a few attempts
// instead of holding up the lines behind it. Crashes are injected at known points (writer-fault.ts).
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { logsSchema } from '../../src/config/logs.js';
import { createLogStore } from '../../src/logs/index.js';
import { InFlightBatches } from '../../src/logs/in-flight.js';
import { skipStored } from '../../src/logs/skip-stored.js';
import type { WriterFault } from '../../src/logs/writer-fault.js';
import type { LineBatch } from '../../src/logs/writer-protocol.js';
import { line } from './helpers.js';

interface Logged {
  level: number;
  msg: string;
  lines?: number;
  attempts?: number;
  resend?: number;
}

function crashingStore(
  t: TestContext,
  fault: { message: string; at: WriterFault['at']; times: number },
  config: Record<string, unknown>,
) {
  const remaining = new Int32Array(new SharedArrayBuffer(4));
  remaining[0] = fault.times;
  const logged: Logged[] = [];
  const logger = pino({ level: 'info' }, { write: (s: string) => logged.push(JSON.parse(s)) });
  const dir = mkdtempSync(join(tmpdir(), 'berth-logs-'));
  const store = createLogStore({
    dataDir: dir,
    config: logsSchema.parse(config),
    logger,
    writerFault: { message: fault.message, at: fault.at, remaining },
  });
  t.after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const ids: number[] = [];
  store.subscribe({ type: 'application' }, (e) => ids.push(e.id));
  return { store, dir, logged, remaining, ids };
}

async function until(what: () => boolean, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!what()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Reads the database with a connection of its own, as any other reader would. */
function inDb<T>(dir: string, read: (db: Database.Database) => T): T {
  const db = new Database(join(dir, 'logs', 'logs.db'));
  try {
    return read(db);
  } finally {
    db.close();
  }
}

/** Row ids, and the ids the full-text index finds for a word every test line has; both in order. */
function storedIds(dir: string, word: string): { rows: number[]; indexed: number[] } {
  return inDb(dir, (db) => ({
    rows: db
      .prepare('SELECT id FROM logs WHERE message LIKE ? ORDER BY id')
      .pluck()
      .all(`${word} %`) as number[],
    indexed: db
      .prepare('SELECT rowid FROM logs_fts WHERE logs_fts MATCH ? ORDER BY rowid')
      .pluck()
      .all(word) as number[],
  }));
}

/** FTS5's own check that its index matches the table: it fails on a row indexed twice or not at all. */
function ftsIntegrity(dir: string): void {
  inDb(dir, (db) => db.exec("INSERT INTO logs_fts (logs_fts) VALUES ('integrity-check')"));
}

test('lines handed to a writer thread that stops before committing are stored by the next one, each exactly once', async (t) => {
  const { store, dir, logged, remaining, ids } = crashingStore(
    t,
    { message: 'resent line 1234 tok1234', at: 'before-insert', times: 1 },
    { ingest: { batchSize: 500, flushInterval: '1h' } },
  );
  store.write(line('warm-up', { type: 'platform' }));
  store.flush();
  for (let i = 0; i < 3000; i++) store.write(line(`resent line ${i} tok${i}`));
  assert.throws(() => store.flush(), /log writer thread has stopped \(.*injected log writer crash/);
  assert.equal(Atomics.load(remaining, 0), 0, 'the writer thread crashed once');
  // While the thread is down its lines are waiting, not lost.
  assert.equal(store.stats().dropped, 0);
  assert.ok(store.stats().queued >= 500, `${store.stats().queued} lines wait`);
  await until(() => logged.some((l) => /writer thread restarted/.test(l.msg)));
  store.flush();

  const { rows, indexed } = storedIds(dir, 'resent');
  assert.equal(rows.length, 3000);
  assert.deepEqual(rows, ids, 'every line, with the id it was given, once');
  assert.deepEqual(indexed, ids, 'the search index has each line once');
  ftsIntegrity(dir);
  for (const i of [0, 499, 1000, 1234, 1499, 2000, 2999])
    assert.deepEqual(
      store.query({ q: `tok${i}` }).entries.map((e) => e.message),
      [`resent line ${i} tok${i}`],
    );
  assert.deepEqual(
    { written: store.stats().written, dropped: store.stats().dropped, queued: store.stats().queued },
    { written: 3001, dropped: 0, queued: 0 },
  );
  const crash = logged.find((l) => l.level === 50 && /writer thread stopped/.test(l.msg));
  assert.ok(crash && crash.resend! >= 500, 'the crash is logged with the lines to send again');
});

test('a writer thread that stops after committing, before it says so, leaves no duplicates', async (t) => {
  const { store, dir, logged, remaining, ids } = crashingStore(
    t,
    { message: 'kept line 700', at: 'after-commit', times: 1 },
    { ingest: { batchSize: 500, flushInterval: '1h' } },
  );
  store.write(line('warm-up', { type: 'platform' }));
  store.flush();
  for (let i = 0; i < 2000; i++) store.write(line(`kept line ${i}`));
  assert.throws(() => store.flush(), /log writer thread has stopped \(.*injected log writer crash/);
  assert.equal(Atomics.load(remaining, 0), 0, 'the writer thread crashed once');
  // The transaction with line 700 is in the database, but the main thread never heard so.
  assert.equal(
    inDb(dir, (db) => db.prepare("SELECT count(*) FROM logs WHERE message = 'kept line 700'").pluck().get()),
    1,
  );
  assert.ok(store.stats().queued >= 500, 'the unconfirmed lines still wait');
  // Lines written while the thread is down go after the ones sent again.
  for (let i = 2000; i < 2500; i++) store.write(line(`kept line ${i}`));
  await until(() => logged.some((l) => /writer thread restarted/.test(l.msg)));
  store.flush();

  const { rows, indexed } = storedIds(dir, 'kept');
  assert.equal(rows.length, 2500);
  assert.deepEqual(rows, ids);
  assert.deepEqual(indexed, ids);
  ftsIntegrity(dir);
  assert.equal(store.query({ q: '"kept line 700"' }).entries.length, 1);
  assert.deepEqual(
    { written: store.stats().written, dropped: store.stats().dropped, queued: store.stats().queued },
    { written: 2501, dropped: 0, queued: 0 },
    'the lines the stopped thread committed count as written once',
  );
  assert.ok(
    !logged.some((l) => /could not write log lines/.test(l.msg)),
    'no insert failed (no id conflict)',
  );
});

test('a batch that stops every writer thread is dropped after 3 attempts; the lines around it and after it are stored', async (t) => {
  const { store, dir, logged, remaining } = crashingStore(
    t,
    { message: 'poison', at: 'before-insert', times: 100 },
    { ingest: { batchSize: 100, flushInterval: '1h' } },
  );
  for (let i = 0; i < 100; i++) store.write(line(`before ${i}`));
  store.flush();
  store.write(line('poison'));
  for (let i = 1; i < 100; i++) store.write(line(`neighbour ${i}`)); // the poison's batch
  for (let i = 0; i < 100; i++) store.write(line(`behind ${i}`)); // the next batch
  assert.throws(() => store.flush(), /log writer thread has stopped/);
  // The store keeps accepting lines while the writer restarts and fails.
  for (let i = 0; i < 100; i++) store.write(line(`meanwhile ${i}`));
  await until(() => logged.some((l) => /on every attempt/.test(l.msg)));
  await until(() => {
    try {
      store.flush();
      return true;
    } catch {
      return false;
    }
  });
  for (let i = 0; i < 100; i++) store.write(line(`later ${i}`));
  store.flush();

  assert.equal(100 - Atomics.load(remaining, 0), 3, 'three writer threads stopped on it, no more');
  const count = (word: string) => storedIds(dir, word).rows.length;
  assert.deepEqual(
    {
      before: count('before'),
      behind: count('behind'),
      meanwhile: count('meanwhile'),
      later: count('later'),
      neighbour: count('neighbour'),
    },
    { before: 100, behind: 100, meanwhile: 100, later: 100, neighbour: 0 },
  );
  assert.equal(store.query({ q: 'poison' }).entries.length, 0);
  ftsIntegrity(dir);
  const stats = store.stats();
  assert.deepEqual(
    { written: stats.written, dropped: stats.dropped, queued: stats.queued },
    { written: 400, dropped: 100, queued: 0 },
  );
  const given = logged.filter((l) => /on every attempt/.test(l.msg));
  assert.equal(given.length, 1);
  assert.equal(given[0]!.level, 50);
  assert.equal(given[0]!.lines, 100);
  assert.equal(given[0]!.attempts, 3);
  assert.ok(!JSON.stringify(logged).includes('neighbour'), 'no line content is logged');
});

test('createLogStore refuses a malformed writer fault instead of ignoring it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-logs-'));
  try {
    assert.throws(
      () =>
        createLogStore({
          dataDir: dir,
          config: logsSchema.parse({}),
          writerFault: { message: 'x', at: 'before-insert', remaining: new Int32Array(1) },
        }),
      /writerFault: expected/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

function batch(ids: number[]): LineBatch {
  return {
    kind: 'lines',
    ids: Float64Array.from(ids),
    times: Float64Array.from(ids, (id) => id * 10),
    sources: Uint32Array.from(ids, (id) => id + 1),
    levels: Uint8Array.from(ids, () => 3),
    streams: Uint8Array.from(ids, () => 1),
    messages: ids.map((id) => `m${id}`),
    newSources: [],
    maxLead: 0,
    alone: false,
  };
}

test('skipStored cuts the stored lines out of resent batches, inside a batch too, and leaves new ones untouched', () => {
  const fresh = [batch([5, 6]), batch([7])];
  assert.equal(skipStored(fresh, 4).batches, fresh, 'nothing to cut: the same batches, not copies');
  const { batches, skipped } = skipStored([batch([1, 2]), batch([3, 4, 5]), batch([6])], 3);
  assert.equal(skipped, 3);
  assert.deepEqual(
    batches.map((b) => [Array.from(b.ids), Array.from(b.times), Array.from(b.sources), b.messages]),
    [
      [
        [4, 5],
        [40, 50],
        [5, 6],
        ['m4', 'm5'],
      ],
      [[6], [60], [7], ['m6']],
    ],
  );
  assert.deepEqual(skipStored([batch([1, 2])], 2), { batches: [], skipped: 2 });
});

test('InFlightBatches: finished batches are let go; only the stopped transaction is blamed; a batch is given up at the limit', () => {
  const kept = new InFlightBatches();
  for (const ids of [[1, 2], [3], [4, 5], [6]]) kept.add(batch(ids));
  kept.release(3);
  assert.equal(kept.lines, 3);
  // The thread stopped while storing up to id 5: [4, 5] had an attempt, [6] (not reached) had none.
  assert.equal(kept.blame(5, 2), 0);
  assert.equal(kept.blame(0, 2), 0, 'a thread that stopped before storing anything blames nobody');
  assert.equal(kept.blame(5, 2), 2, 'the second attempt was the last');
  const left = kept.takeAll();
  assert.deepEqual(
    left.map((s) => [Array.from(s.batch.ids), s.attempts]),
    [[[6], 0]],
  );
  assert.equal(kept.lines, 0);
});
