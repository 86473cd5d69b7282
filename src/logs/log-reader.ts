import type { Database as Db } from 'better-sqlite3';
import type { CompiledFilter } from './filter.js';
import { LogQueryError } from './query-error.js';
import { compileRegex, type LineRegex } from './regex.js';
import { levelOfRank } from './levels.js';
import { toFtsExpression } from './search-text.js';
import { ID_PER_MS, STREAMS, usedBytes } from './sqlite-schema.js';
import type { SourceRegistry } from './sources.js';
import type { LogEntry, LogPage, LogQuery } from './types.js';

class RegexBudgetExceeded extends Error {
  constructor() {
    super('regex scan limit reached');
  }
}

interface Row {
  id: number;
  time: number;
  source: number;
  level: number;
  stream: number;
  message: string;
}

/**
 * The read side of the log database, on the main thread with its own connection (the writer thread
 * has the other). It sees every batch the writer has committed.
 */
export class LogReader {
  private readonly regexCache = new Map<string, LineRegex>();
  /** Rows a regex may still test in the running query; a regex alone cannot use any index. */
  private regexBudget = Infinity;
  /** `performance.now()` past which the running query's regex stops (the query is refused). */
  private regexDeadline: number | undefined = Infinity;

  /**
   * `maxLead()`: how far an id can run ahead of its line's time (the store tracks it as it hands out ids).
   * `maxRegexScan`: lines one query may test with a regular expression, and `regexTimeout`: the time
   * its regex may take (ms), so one request cannot hold the event loop for long. RE2 bounds each line;
   * these bound the lines.
   */
  constructor(
    private readonly db: Db,
    private readonly sources: SourceRegistry,
    private readonly maxLead: () => number,
    private readonly maxRegexScan = 2_000_000,
    private readonly regexTimeout = 500,
  ) {
    this.db.function('regexp', { deterministic: true }, (pattern: unknown, message: unknown) => {
      if (--this.regexBudget < 0) throw new RegexBudgetExceeded();
      // The clock starts at the query's first regex test, so reading rows before it costs nothing.
      const now = performance.now();
      if (this.regexDeadline === undefined) this.regexDeadline = now + this.regexTimeout;
      else if (now > this.regexDeadline) throw new RegexBudgetExceeded();
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

  lastId(): number {
    return (this.db.prepare('SELECT max(id) FROM logs').pluck().get() as number | null) ?? 0;
  }

  storedMaxLead(): number {
    return (
      (this.db.prepare("SELECT value FROM meta WHERE key = 'maxLead'").pluck().get() as number | undefined) ??
      0
    );
  }

  query(compiled: CompiledFilter, query: LogQuery): LogPage {
    const { filter } = compiled;
    const limit = query.limit ?? 100;
    const order = query.order ?? 'desc';
    const useFts = compiled.terms.length > 0;
    const id = useFts ? 'f.rowid' : 'l.id';
    const where: string[] = [];
    const params: unknown[] = [];
    if (
      filter.site !== undefined ||
      filter.slot !== undefined ||
      filter.instance !== undefined ||
      filter.type !== undefined
    ) {
      const ids = this.sources.matching(filter);
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
      params.push((filter.to + 1) * ID_PER_MS + this.maxLead(), filter.to);
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
    this.regexDeadline = undefined;
    let rows: Row[];
    try {
      rows = this.db.prepare(sql).all(...params) as Row[];
    } catch (error) {
      if (!(error instanceof RegexBudgetExceeded || (error as Error).message?.includes('regex scan limit')))
        throw error;
      // Which budget ran out is read from what is left of the line budget.
      const spent =
        this.regexBudget < 0
          ? `tested ${this.maxRegexScan} lines`
          : `ran for ${this.regexTimeout} ms (logs.query.regexTimeout)`;
      throw new LogQueryError(
        `regex: ${spent} without filling a page; narrow the search with a time range, level, site or keyword`,
      );
    } finally {
      this.regexBudget = Infinity;
      this.regexDeadline = Infinity;
    }
    const more = rows.length > limit;
    const entries = rows.slice(0, limit).map((row) => this.toEntry(row));
    return more ? { entries, next: String(entries[entries.length - 1]!.id) } : { entries };
  }

  private toEntry(row: Row): LogEntry {
    const { site, slot, instance, type } = this.sources.get(row.source) ?? {
      site: '',
      slot: '',
      instance: '',
      type: 'application' as const,
    };
    const entry: LogEntry = {
      id: row.id,
      time: row.time,
      site,
      slot,
      instance,
      type,
      level: levelOfRank(row.level),
      message: row.message,
    };
    const stream = STREAMS[row.stream];
    if (stream) entry.stream = stream;
    return entry;
  }

  /** Bytes in use (pages holding data; free pages are left out). */
  usedBytes(): number {
    return usedBytes(this.db);
  }

  close(): void {
    this.db.close();
  }
}
