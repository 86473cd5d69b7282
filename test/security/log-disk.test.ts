import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { line, tempStore } from '../logs/helpers.js';

/** Issue 10 item 9: log retention bounds the disk, SQLite's write-ahead log included. */

const MiB = 1024 ** 2;
const size = (path: string) => (existsSync(path) ? statSync(path).size : 0);

test('after a flood and retention, the database and its WAL together stay within maxSize', async (t) => {
  const maxSize = 2 * MiB;
  const { store, dir, cleanup } = tempStore({ retention: { maxAge: '1h', maxSize: '2MiB' } });
  t.after(cleanup);
  const file = join(dir, 'logs', 'logs.db');
  const filler = 'x'.repeat(200);
  // About 12 MiB of lines in rounds, as a chatty app writes them: each round grows the WAL.
  for (let round = 0; round < 4; round++) {
    for (let i = 0; i < 15_000; i++) store.write(line(`flood ${round} ${i} ${filler}`));
    store.flush();
  }
  const before = size(file) + size(`${file}-wal`);
  assert.ok(before > 4 * maxSize, `the flood took ${before} bytes on disk`);
  assert.ok(store.enforceRetention().deleted > 0);
  const after = { db: size(file), wal: size(`${file}-wal`) };
  t.diagnostic(`before ${before} bytes; after: database ${after.db}, WAL ${after.wal}`);
  assert.ok(
    after.db + after.wal <= maxSize * 1.1,
    `database ${after.db} + WAL ${after.wal} bytes after retention (maxSize ${maxSize})`,
  );
  assert.equal(
    store.query({ limit: 1 }).entries[0]!.message.split(' ').slice(0, 3).join(' '),
    'flood 3 14999',
  );
});
