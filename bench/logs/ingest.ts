import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { logsSchema } from '../../src/config/logs.js';
import { createLogStore, type LogInput } from '../../src/logs/index.js';
import { corpusLine, rng } from './corpus.js';

/** CPU time of the whole process (every thread), in microseconds: less noisy than wall time on a shared machine. */
function cpuMicros(): number {
  const { user, system } = process.cpuUsage();
  return user + system;
}

/**
 * Lines per second through the whole store: level detection, the queue, batched SQLite inserts and
 * the FTS5 index (in the store's writer thread), until every line is stored and searchable (`flush()`). The peer is bare better-sqlite3 inserting the same lines
 * into a table without a full-text index: the ratio is what search costs.
 */
export async function benchIngest(
  lines: number,
): Promise<{ berth: number; peer: number; berthCpuMicros: number; peerCpuMicros: number }> {
  const random = rng(1);
  const corpus: LogInput[] = Array.from({ length: lines }, (_, i) => corpusLine(i, random));

  const dir = mkdtempSync(join(tmpdir(), 'berth-bench-ingest-'));
  try {
    const store = createLogStore({
      dataDir: dir,
      config: logsSchema.parse({ retention: { maxSize: '100GiB' }, ingest: { maxQueue: lines + 1000 } }),
    });
    // The clock starts once the store is ready to store (its writer thread has started), as in a
    // running `berth up`: one line, stored and flushed.
    store.write({
      site: 'bench',
      slot: 'production',
      instance: '',
      type: 'platform',
      message: 'benchmark starts',
    });
    store.flush();
    const started = performance.now();
    const cpuStarted = cpuMicros();
    // Producers write in bursts, as an instance's stdout does; the store drains between them.
    for (let i = 0; i < lines; i += 10_000) {
      for (let j = i; j < Math.min(lines, i + 10_000); j++) store.write(corpus[j]!);
      await new Promise((r) => setImmediate(r));
    }
    store.flush();
    const berth = lines / ((performance.now() - started) / 1000);
    const berthCpuMicros = (cpuMicros() - cpuStarted) / lines;
    if (store.stats().written !== lines + 1)
      throw new Error(`the store holds ${store.stats().written} lines, not ${lines + 1}`);
    if (store.stats().dropped > 0) throw new Error(`ingestion dropped ${store.stats().dropped} lines`);
    await store.close();

    const db = new Database(join(dir, 'peer.db'));
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.exec(
      'CREATE TABLE logs (id INTEGER PRIMARY KEY, time INTEGER, site TEXT, slot TEXT, instance TEXT, type TEXT, level TEXT, message TEXT)',
    );
    const insert = db.prepare(
      'INSERT INTO logs (time, site, slot, instance, type, level, message) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    const peerStarted = performance.now();
    const peerCpuStarted = cpuMicros();
    const batch = db.transaction((from: number, to: number) => {
      for (let j = from; j < to; j++) {
        const l = corpus[j]!;
        insert.run(Date.now(), l.site, l.slot, l.instance, l.type, 'info', l.message);
      }
    });
    for (let i = 0; i < lines; i += 4096) batch(i, Math.min(lines, i + 4096));
    const peer = lines / ((performance.now() - peerStarted) / 1000);
    const peerCpuMicros = (cpuMicros() - peerCpuStarted) / lines;
    db.close();
    return { berth, peer, berthCpuMicros, peerCpuMicros };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
