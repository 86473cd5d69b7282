import type { Database as Db, Statement } from 'better-sqlite3';
import { TYPES, usedBytes, type SourceRow } from './sqlite-schema.js';
import type { LineBatch } from './writer-protocol.js';

/** Lines deleted per retention step, so the writer answers other requests between steps. */
const RETENTION_CHUNK = 20_000;
/**
 * Rows per INSERT statement: one call into SQLite for 128 lines instead of 128 calls (measured: about
 * 10-15% less writer CPU per line than one row per statement).
 */
const ROWS_PER_INSERT = 128;
/** FTS5 `hashsize`: terms collected in memory before a segment is written (see the constructor). */
const FTS_HASH_BYTES = 64 * 1024 * 1024;

/** The write side of the log database; it runs in the writer thread, the only connection that writes. */
export class LogWriter {
  private readonly insertRow: Statement;
  private readonly insertRows: Statement;
  private readonly insertSource: Statement;
  private readonly indexFrom: Statement;
  private readonly setMeta: Statement;
  /** Sources the main thread told about, by id; `stored` says which are in the table. */
  private readonly known = new Map<number, SourceRow>();
  private readonly stored = new Set<number>();
  private maxLead: number;
  /** Lines stored; counted once when retention first needs it, then kept up to date. */
  private rows = -1;

  constructor(private readonly db: Db) {
    // Checkpoint every 8000 pages (32 MiB of WAL) instead of 1000: fewer fsyncs in the writer, and pages
    // rewritten by every batch (index interior pages, the FTS structure) are copied back less often.
    // Measured: 3 of 4 paired runs faster, writer CPU per line about 5% lower.
    db.pragma('wal_autocheckpoint = 8000');
    // A checkpoint resets the WAL but leaves the file at its largest size; this cuts it back to what
    // one checkpoint interval writes, so a burst (or a reader that held a checkpoint off) does not
    // keep its disk space. Retention truncates it to nothing (shrink()).
    db.pragma(`journal_size_limit = ${8000 * 4096}`);
    // FTS5 collects a transaction's terms in memory and writes a segment each time they pass `hashsize`
    // (1 MiB by default: several segments per large transaction, each merged again later). 64 MiB
    // makes it about one segment per transaction of up to 262,144 lines (the writer thread's limit).
    // Measured: 16 MiB against 1 MiB, writer CPU per line lower in 4 of 4 paired runs (median 3.5 vs
    // 4.0 µs); 64 MiB with 262,144-line transactions against 16 MiB with 65,536, see writer-thread.ts.
    // The memory is only used while a backlog drains (a transaction's terms, freed at commit).
    db.exec(`INSERT INTO logs_fts (logs_fts, rank) VALUES ('hashsize', ${FTS_HASH_BYTES})`);
    this.insertRow = db.prepare(
      'INSERT INTO logs (id, time, source, level, stream, message) VALUES (?, ?, ?, ?, ?, ?)',
    );
    this.insertRows = db.prepare(
      `INSERT INTO logs (id, time, source, level, stream, message) VALUES ${Array.from({ length: ROWS_PER_INSERT }, () => '(?, ?, ?, ?, ?, ?)').join(', ')}`,
    );
    this.insertSource = db.prepare(
      'INSERT OR IGNORE INTO sources (id, site, slot, instance, type) VALUES (?, ?, ?, ?, ?)',
    );
    // Indexing a whole batch in one statement costs far less than a second insert per line.
    this.indexFrom = db.prepare(
      'INSERT INTO logs_fts (rowid, message) SELECT id, message FROM logs WHERE id >= ?',
    );
    this.setMeta = db.prepare(
      'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
    );
    this.maxLead =
      (db.prepare("SELECT value FROM meta WHERE key = 'maxLead'").pluck().get() as number | undefined) ?? 0;
    for (const id of db.prepare('SELECT id FROM sources').pluck().all() as number[]) this.stored.add(id);
  }

  /** The largest stored line id (0 when there is none). */
  lastId(): number {
    return (this.db.prepare('SELECT max(id) FROM logs').pluck().get() as number | null) ?? 0;
  }

  learnSources(rows: SourceRow[]): void {
    for (const row of rows) this.known.set(row.id, row);
  }

  /** Stores batches in one transaction; their ids must be increasing and above every stored id. */
  insert(batches: LineBatch[]): number {
    const added: number[] = [];
    let count = 0;
    const params: unknown[] = new Array(ROWS_PER_INSERT * 6);
    const tx = this.db.transaction(() => {
      let lead = this.maxLead;
      for (const batch of batches) {
        const { ids, times, sources, levels, streams, messages } = batch;
        for (let i = 0; i < ids.length; i++) {
          const source = sources[i]!;
          if (!this.stored.has(source)) {
            this.storeSource(source);
            added.push(source);
          }
        }
        // Full groups of ROWS_PER_INSERT lines in one statement each, the rest one by one.
        let i = 0;
        for (; i + ROWS_PER_INSERT <= ids.length; i += ROWS_PER_INSERT) {
          for (let k = 0, j = i; k < params.length; j++) {
            params[k++] = ids[j];
            params[k++] = times[j];
            params[k++] = sources[j];
            params[k++] = levels[j];
            params[k++] = streams[j];
            params[k++] = messages[j];
          }
          this.insertRows.run(params);
        }
        for (; i < ids.length; i++)
          this.insertRow.run(ids[i], times[i], sources[i], levels[i], streams[i], messages[i]);
        count += ids.length;
        lead = Math.max(lead, batch.maxLead);
      }
      const first = batches.find((b) => b.ids.length > 0)?.ids[0];
      if (first !== undefined) this.indexFrom.run(first);
      if (lead !== this.maxLead) this.setMeta.run('maxLead', lead);
      return lead;
    });
    try {
      this.maxLead = tx();
    } catch (error) {
      // Rolled back: sources added in this transaction are not in the table after all.
      for (const id of added) this.stored.delete(id);
      throw error;
    }
    if (this.rows >= 0) this.rows += count;
    return count;
  }

  private storeSource(id: number): void {
    const row = this.known.get(id);
    // The main thread always sends a source with (or before) the first line that uses it.
    if (!row) throw new Error(`log writer: unknown source id ${id}`);
    this.insertSource.run(row.id, row.site, row.slot, row.instance, TYPES.indexOf(row.type));
    this.stored.add(id);
  }

  count(): number {
    if (this.rows < 0) this.rows = this.db.prepare('SELECT count(*) FROM logs').pluck().get() as number;
    return this.rows;
  }

  /** Deletes up to `max` of the oldest lines with an id below `beforeId`; returns how many went. */
  deleteOldest(beforeId: number, max: number): number {
    const tx = this.db.transaction(() => {
      const end =
        (this.db
          .prepare('SELECT id FROM logs WHERE id < ? ORDER BY id LIMIT 1 OFFSET ?')
          .pluck()
          .get(beforeId, max) as number | undefined) ?? beforeId;
      // External-content FTS5 needs the old text to remove a row from its index.
      this.db
        .prepare(
          "INSERT INTO logs_fts (logs_fts, rowid, message) SELECT 'delete', id, message FROM logs WHERE id < ?",
        )
        .run(end);
      return this.db.prepare('DELETE FROM logs WHERE id < ?').run(end).changes;
    });
    const deleted = tx();
    if (this.rows >= 0) this.rows -= deleted;
    return deleted;
  }

  /** Deletes lines with an id below `cutoffId`, then the oldest lines until the store fits in `maxSize`. */
  enforceRetention(cutoffId: number, maxSize: number): number {
    let deleted = 0;
    for (let n = RETENTION_CHUNK; n === RETENTION_CHUNK;) {
      n = this.deleteOldest(cutoffId, RETENTION_CHUNK);
      deleted += n;
    }
    const used = usedBytes(this.db);
    if (used > maxSize) {
      // Space comes back only after the FTS index merges, so measuring while deleting would delete
      // everything: delete the share of lines that brings the store to 90% of maxSize, then shrink.
      let toDelete = Math.ceil(this.count() * Math.min(1, (used - maxSize * 0.9) / used));
      while (toDelete > 0) {
        const n = this.deleteOldest(Number.MAX_SAFE_INTEGER, Math.min(toDelete, RETENTION_CHUNK));
        if (n === 0) break;
        deleted += n;
        toDelete -= n;
      }
    }
    if (deleted > 0) this.shrink();
    return deleted;
  }

  /**
   * Gives freed pages back to the file system. FTS5 only frees the index space of deleted lines when
   * it merges segments, so after a large delete the index is merged first. The vacuum happens in the
   * WAL: a TRUNCATE checkpoint then copies it into the database (which shrinks) and empties the WAL
   * file, so what retention bounds is the disk, not only the pages in use.
   */
  shrink(): void {
    this.db.prepare("INSERT INTO logs_fts (logs_fts, rank) VALUES ('merge', -2000)").run();
    this.db.pragma('incremental_vacuum');
    this.db.pragma('wal_checkpoint(TRUNCATE)');
  }

  /** A little FTS5 segment merging, when ingestion is idle, so searches stay fast. */
  /** Returns whether there was work to do (FTS5 bumps total_changes only when it merged something). */
  mergeStep(pages = 64): boolean {
    const before = this.db.prepare('SELECT total_changes()').pluck().get() as number;
    this.db.prepare("INSERT INTO logs_fts (logs_fts, rank) VALUES ('merge', ?)").run(pages);
    return (this.db.prepare('SELECT total_changes()').pluck().get() as number) - before > 1;
  }

  close(): void {
    this.db.close();
  }
}
