import Database, { type Database as Db, type Statement } from 'better-sqlite3';
import { compileRegex, LogQueryError, type CompiledFilter } from './filter.js';
import { LEVEL_RANK, levelOfRank } from './levels.js';
import { toFtsExpression } from './search-text.js';
import type { LogEntry, LogPage, LogQuery, LogSource, LogType } from './types.js';

/**
 * Ids encode the time a line was stored: `ms * ID_PER_MS + n`. They stay strictly increasing (the SSE
 * event id), and a time range becomes a range of the primary key, which SQLite reads without an index.
 * 1024 lines per millisecond is a million lines a second before ids run ahead of the clock.
 */
export const ID_PER_MS = 1024;


class RegexBudgetExceeded extends Error {
  constructor() {
    super('regex scan limit reached');
  }
}

type Source = LogSource;

interface Row {
  id: number;
  time: number;
  source: number;
  level: number;
  stream: number;
  message: string;
}

const STREAMS = [undefined, 'stdout', 'stderr'] as const;
const TYPES: LogType[] = ['application', 'platform'];

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

/** The log database: one SQLite file with the lines, a source dictionary and an FTS5 index. */
export class LogDatabase {
  private readonly db: Db;
  private readonly sources = new Map<number, Source>();
  private readonly sourceIds = new Map<string, number>();
  private readonly insertRow: Statement;
  private readonly insertSource: Statement;
  private readonly indexFrom: Statement;
  private readonly setMeta: Statement;
  /** Largest `id - time * ID_PER_MS` stored: how far an id can run ahead of its line's time. */
  private maxLead: number;
  private readonly regexCache = new Map<string, RegExp>();
  /** Rows a regex may still test in the running query; a regex alone cannot use any index. */
  private regexBudget = Infinity;

  /** `maxRegexScan`: lines one query may test with a regular expression, so one request cannot hold the event loop for long. */
  constructor(
    file: string,
    private readonly maxRegexScan = 2_000_000,
  ) {
    this.db = new Database(file);
    // auto_vacuum only takes effect before the first table exists; it lets retention shrink the file.
    this.db.pragma('auto_vacuum = INCREMENTAL');
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('temp_store = MEMORY');
    this.db.pragma('cache_size = -65536');
    const isNew = !this.db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'logs_fts'").get();
    this.db.exec(SCHEMA);
    if (isNew) {
      // No merging on every insert (measured: about 40% more lines/s); the store merges segments
      // when ingestion is idle, and FTS5's crisis merge still caps the segment count under load.
      this.db.exec("INSERT INTO logs_fts (logs_fts, rank) VALUES ('automerge', 0); INSERT INTO logs_fts (logs_fts, rank) VALUES ('crisismerge', 16)");
    }
    const rows = this.db.prepare('SELECT id, site, slot, instance, type FROM sources').all() as Array<{ id: number; site: string; slot: string; instance: string; type: number }>;
    for (const row of rows) {
      const source: Source = { site: row.site, slot: row.slot, instance: row.instance, type: TYPES[row.type] ?? 'application' };
      this.sources.set(row.id, source);
      this.sourceIds.set(sourceKey(source), row.id);
    }
    this.insertRow = this.db.prepare('INSERT INTO logs (id, time, source, level, stream, message) VALUES (?, ?, ?, ?, ?, ?)');
    this.insertSource = this.db.prepare('INSERT INTO sources (site, slot, instance, type) VALUES (?, ?, ?, ?)');
    // Indexing a whole batch in one statement costs far less than a second insert per line.
    this.indexFrom = this.db.prepare('INSERT INTO logs_fts (rowid, message) SELECT id, message FROM logs WHERE id >= ?');
    this.setMeta = this.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value');
    this.maxLead = (this.db.prepare("SELECT value FROM meta WHERE key = 'maxLead'").pluck().get() as number | undefined) ?? 0;
    this.db.function('regexp', { deterministic: true }, (pattern: unknown, message: unknown) => {
      if (--this.regexBudget < 0) throw new RegexBudgetExceeded();
      const source = String(pattern);
      let regex = this.regexCache.get(source);
      if (!regex) {
        if (this.regexCache.size > 100) this.regexCache.clear();
        regex = compileRegex(source);
        this.regexCache.set(source, regex);
      }
      return regex.test(String(message)) ? 1 : 0;
    });
  }

  /** Lines stored; counted once at open and kept up to date, so retention need not count 10M rows. */
  private rows = -1;

  count(): number {
    if (this.rows < 0) this.rows = this.db.prepare('SELECT count(*) FROM logs').pluck().get() as number;
    return this.rows;
  }

  lastId(): number {
    return (this.db.prepare('SELECT max(id) FROM logs').pluck().get() as number | null) ?? 0;
  }

  /** Stores lines in one transaction; their ids must be increasing and above every stored id. */
  insert(entries: LogEntry[]): void {
    if (entries.length === 0) return;
    const tx = this.db.transaction(() => {
      let lead = this.maxLead;
      for (const e of entries) {
        const stream = e.stream === 'stdout' ? 1 : e.stream === 'stderr' ? 2 : 0;
        this.insertRow.run(e.id, e.time, this.sourceId(e), LEVEL_RANK[e.level], stream, e.message);
        lead = Math.max(lead, e.id - e.time * ID_PER_MS);
      }
      this.indexFrom.run(entries[0]!.id);
      if (this.rows >= 0) this.rows += entries.length;
      if (lead !== this.maxLead) {
        this.maxLead = lead;
        this.setMeta.run('maxLead', lead);
      }
    });
    tx();
  }

  private sourceId(entry: LogEntry): number {
    const key = sourceKey(entry);
    let id = this.sourceIds.get(key);
    if (id === undefined) {
      id = Number(this.insertSource.run(entry.site, entry.slot, entry.instance, TYPES.indexOf(entry.type)).lastInsertRowid);
      this.sources.set(id, { site: entry.site, slot: entry.slot, instance: entry.instance, type: entry.type });
      this.sourceIds.set(key, id);
    }
    return id;
  }

  /** Distinct sites, slots, instances and types seen, for the console's filter menus. */
  listSources(): Source[] {
    return [...this.sources.values()];
  }

  query(compiled: CompiledFilter, query: LogQuery): LogPage {
    const { filter } = compiled;
    const limit = query.limit ?? 100;
    const order = query.order ?? 'desc';
    const useFts = compiled.terms.length > 0;
    const id = useFts ? 'f.rowid' : 'l.id';
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.site !== undefined || filter.slot !== undefined || filter.instance !== undefined || filter.type !== undefined) {
      const ids = [...this.sources.entries()]
        .filter(([, s]) => (filter.site === undefined || s.site === filter.site) && (filter.slot === undefined || s.slot === filter.slot) && (filter.instance === undefined || s.instance === filter.instance) && (filter.type === undefined || s.type === filter.type))
        .map(([sid]) => sid);
      if (ids.length === 0) return { entries: [] };
      where.push(`l.source IN (${ids.join(',')})`); // integers from our own table, never user text
    }
    if (compiled.minRank > 0) {
      where.push('l.level >= ?');
      params.push(compiled.minRank);
    }
    if (filter.from !== undefined) {
      where.push(`${id} >= ?`, 'l.time >= ?');
      params.push(filter.from * ID_PER_MS, filter.from);
    }
    if (filter.to !== undefined) {
      where.push(`${id} < ?`, 'l.time < ?');
      params.push((filter.to + 1) * ID_PER_MS + this.maxLead, filter.to);
    }
    if (query.cursor !== undefined) {
      const cursor = Number(query.cursor);
      if (!Number.isSafeInteger(cursor) || cursor < 0) throw new RangeError('cursor');
      where.push(`${id} ${order === 'desc' ? '<' : '>'} ?`);
      params.push(cursor);
    }
    if (filter.q !== undefined && !useFts) {
      where.push('instr(lower(l.message), ?) > 0');
      params.push(filter.q.toLowerCase());
    }
    if (filter.regex !== undefined) {
      where.push('regexp(?, l.message)');
      params.push(filter.regex);
    }
    let from = 'logs l';
    if (useFts) {
      // CROSS JOIN keeps the FTS index as the outer loop, walking matches in id order.
      from = 'logs_fts f CROSS JOIN logs l ON l.id = f.rowid';
      where.unshift('logs_fts MATCH ?');
      params.unshift(toFtsExpression(compiled.terms));
    }
    const sql = `SELECT l.id, l.time, l.source, l.level, l.stream, l.message FROM ${from}
      ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY ${id} ${order === 'desc' ? 'DESC' : 'ASC'} LIMIT ?`;
    params.push(limit + 1);
    this.regexBudget = this.maxRegexScan;
    let rows: Row[];
    try {
      rows = this.db.prepare(sql).all(...params) as Row[];
    } catch (error) {
      if (error instanceof RegexBudgetExceeded || (error as Error).message?.includes('regex scan limit')) {
        throw new LogQueryError(`regex: tested ${this.maxRegexScan} lines without filling a page; narrow the search with a time range, level, site or keyword`);
      }
      throw error;
    } finally {
      this.regexBudget = Infinity;
    }
    const more = rows.length > limit;
    const entries = rows.slice(0, limit).map((row) => this.toEntry(row));
    return more ? { entries, next: String(entries[entries.length - 1]!.id) } : { entries };
  }

  private toEntry(row: Row): LogEntry {
    const source = this.sources.get(row.source)!;
    const entry: LogEntry = { id: row.id, time: row.time, ...source, level: levelOfRank(row.level), message: row.message };
    const stream = STREAMS[row.stream];
    if (stream) entry.stream = stream;
    return entry;
  }

  /** Bytes in use (pages holding data; free pages are left out). */
  usedBytes(): number {
    const pages = this.db.pragma('page_count', { simple: true }) as number;
    const free = this.db.pragma('freelist_count', { simple: true }) as number;
    const size = this.db.pragma('page_size', { simple: true }) as number;
    return (pages - free) * size;
  }

  oldestId(): number | undefined {
    return (this.db.prepare('SELECT min(id) FROM logs').pluck().get() as number | null) ?? undefined;
  }

  /** Deletes up to `max` of the oldest lines with an id below `beforeId`; returns how many went. */
  deleteOldest(beforeId: number, max: number): number {
    const tx = this.db.transaction(() => {
      const end = (this.db.prepare('SELECT id FROM logs WHERE id < ? ORDER BY id LIMIT 1 OFFSET ?').pluck().get(beforeId, max) as number | undefined) ?? beforeId;
      // External-content FTS5 needs the old text to remove a row from its index.
      this.db.prepare("INSERT INTO logs_fts (logs_fts, rowid, message) SELECT 'delete', id, message FROM logs WHERE id < ?").run(end);
      return this.db.prepare('DELETE FROM logs WHERE id < ?').run(end).changes;
    });
    const deleted = tx();
    if (this.rows >= 0) this.rows -= deleted;
    return deleted;
  }

  /**
   * Gives freed pages back to the file system. FTS5 only frees the index space of deleted lines when
   * it merges segments, so after a large delete the index is merged first.
   */
  shrink(): void {
    this.db.prepare("INSERT INTO logs_fts (logs_fts, rank) VALUES ('merge', -2000)").run();
    this.db.pragma('incremental_vacuum');
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

function sourceKey(s: { site: string; slot: string; instance: string; type: LogType }): string {
  return `${s.site}\u0000${s.slot}\u0000${s.instance}\u0000${s.type}`;
}
