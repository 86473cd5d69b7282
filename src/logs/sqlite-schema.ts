import Database, { type Database as Db } from 'better-sqlite3';
import type { LogSource, LogType } from './types.js';

/**
 * Ids encode the time a line was stored: `ms * ID_PER_MS + n`. They stay strictly increasing (the SSE
 * event id), and a time range becomes a range of the primary key, which SQLite reads without an index.
 * 1024 lines per millisecond is a million lines a second before ids run ahead of the clock.
 */
export const ID_PER_MS = 1024;

/** `stream` column: 0 unknown, 1 stdout, 2 stderr. */
export const STREAMS = [undefined, 'stdout', 'stderr'] as const;
/** `sources.type` column. */
export const TYPES: LogType[] = ['application', 'platform'];

/** A row of the `sources` table: one id per (site, slot, instance, type), so each line stores one integer. */
export interface SourceRow extends LogSource {
  id: number;
}

// columnsize=0: no per-row document sizes (only bm25 ranking needs them, and results are ordered by
// id); measured 1.3-3x faster indexing on the benchmark corpus.
const SCHEMA = `
CREATE TABLE IF NOT EXISTS sources (
  id INTEGER PRIMARY KEY, site TEXT NOT NULL, slot TEXT NOT NULL, instance TEXT NOT NULL, type INTEGER NOT NULL,
  UNIQUE (site, slot, instance, type));
CREATE TABLE IF NOT EXISTS logs (
  id INTEGER PRIMARY KEY, time INTEGER NOT NULL, source INTEGER NOT NULL, level INTEGER NOT NULL,
  stream INTEGER NOT NULL, message TEXT NOT NULL);
CREATE VIRTUAL TABLE IF NOT EXISTS logs_fts USING fts5(message, content='logs', content_rowid='id', columnsize=0);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
`;

/**
 * Opens the log database, creating it on first use. The store opens it twice: once on the main thread
 * for reading (it also creates the schema, so a bad path fails at once), once in the writer thread.
 * WAL lets the reader see every committed batch while the writer goes on writing.
 */
export function openLogFile(file: string, role: 'reader' | 'writer'): Db {
  const db = new Database(file);
  try {
    // auto_vacuum only takes effect before the first table exists; it lets retention shrink the file.
    db.pragma('auto_vacuum = INCREMENTAL');
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('temp_store = MEMORY');
    db.pragma('busy_timeout = 5000');
    if (role === 'reader') {
      db.pragma('cache_size = -65536');
      const isNew = !db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'logs_fts'").get();
      db.exec(SCHEMA);
      if (isNew) {
        // No merging on every insert (measured: about 40% more lines/s); the writer merges segments
        // when ingestion is idle, and FTS5's crisis merge still caps the segment count under load.
        db.exec(
          "INSERT INTO logs_fts (logs_fts, rank) VALUES ('automerge', 0); INSERT INTO logs_fts (logs_fts, rank) VALUES ('crisismerge', 16)",
        );
      }
      // The reader never writes: a bug that tried would fail here instead of racing the writer.
      db.pragma('query_only = ON');
    } else {
      db.pragma('cache_size = -32768');
    }
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

export function readSources(db: Db): SourceRow[] {
  const rows = db.prepare('SELECT id, site, slot, instance, type FROM sources').all() as Array<{
    id: number;
    site: string;
    slot: string;
    instance: string;
    type: number;
  }>;
  return rows.map((row) => ({
    id: row.id,
    site: row.site,
    slot: row.slot,
    instance: row.instance,
    type: TYPES[row.type] ?? 'application',
  }));
}

/** Bytes a database uses (pages holding data; free pages are left out). */
export function usedBytes(db: Db): number {
  const pages = db.pragma('page_count', { simple: true }) as number;
  const free = db.pragma('freelist_count', { simple: true }) as number;
  const size = db.pragma('page_size', { simple: true }) as number;
  return (pages - free) * size;
}
