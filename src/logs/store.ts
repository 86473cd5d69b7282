import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { LogsConfig } from '../config/logs.js';
import { silentLogger, type Logger } from '../lib/logger.js';
import { compileFilter, LogQueryError } from './filter.js';
import { detectLevel, LEVEL_RANK } from './levels.js';
import { LiveHub } from './live.js';
import { OtlpExporter } from './otlp.js';
import { ID_PER_MS, LogDatabase } from './sqlite-db.js';
import type { LogEntry, LogFilter, LogInput, LogPage, LogQuery, LogStore, LogStoreStats } from './types.js';

export interface LogStoreOptions {
  /** `<dataDir>/logs` holds the database unless `config.dir` says otherwise. */
  dataDir: string;
  config: LogsConfig;
  logger?: Logger;
}

/** The embedded store, with what its tests and `berth up` may also want. */
export interface EmbeddedLogStore extends LogStore {
  /** Runs retention now (it also runs every `retention.interval`). */
  enforceRetention(now?: number): { deleted: number };
  otlp?: OtlpExporter;
}

/** Lines deleted per retention step, so a big clean-up never blocks the event loop for long. */
const RETENTION_CHUNK = 20_000;

/**
 * The embedded log store: producers `write` without waiting; lines get an id and go to live readers at
 * once, and to SQLite in batches. The queue is bounded: past `ingest.maxQueue`, lines are dropped and
 * counted, and a platform warning says how many once there is room again.
 */
export function createLogStore(options: LogStoreOptions): EmbeddedLogStore {
  const { config } = options;
  const log = options.logger ?? silentLogger;
  // A relative logs.dir is read against the data folder, like every other state path.
  const dir = resolve(options.dataDir, config.dir ?? 'logs');
  mkdirSync(dir, { recursive: true });
  const db = new LogDatabase(join(dir, 'logs.db'), config.query.maxRegexScan);
  const hub = new LiveHub();
  const otlp = config.otlp ? new OtlpExporter(config.otlp, log) : undefined;
  const { maxQueue, batchSize, flushInterval, maxMessageBytes } = config.ingest;

  let lastId = db.lastId();
  let pending: LogEntry[] = [];
  let written = 0;
  let dropped = 0;
  /** Drops per site/slot since the last warning about them. */
  const unreported = new Map<string, { site: string; slot: string; count: number; since: number }>();
  let timer: NodeJS.Timeout | undefined;
  let immediate: NodeJS.Immediate | undefined;
  let closed = false;

  function nextId(time: number): number {
    lastId = Math.max(lastId + 1, time * ID_PER_MS);
    return lastId;
  }

  function accept(input: LogInput): LogEntry {
    const now = Date.now();
    // A line cannot come from the future: a skewed clock must not push ids (and time ranges) ahead.
    const time = typeof input.time === 'number' && Number.isFinite(input.time) ? Math.min(Math.floor(input.time), now) : now;
    let message = typeof input.message === 'string' ? input.message : String(input.message ?? '');
    if (message.endsWith('\n')) message = message.replace(/\r?\n$/, '');
    if (message.length * 3 > maxMessageBytes && Buffer.byteLength(message) > maxMessageBytes) {
      const cut = Buffer.from(message).subarray(0, maxMessageBytes).toString().replace(/\uFFFD$/, '');
      message = `${cut} … [truncated ${Buffer.byteLength(message) - Buffer.byteLength(cut)} bytes]`;
    }
    const level = input.level && input.level in LEVEL_RANK ? input.level : detectLevel(message, input.stream);
    const entry: LogEntry = {
      id: nextId(time),
      time,
      site: String(input.site ?? ''),
      slot: String(input.slot || 'production'),
      instance: String(input.instance ?? ''),
      type: input.type === 'platform' ? 'platform' : 'application',
      level,
      message,
    };
    if (input.stream === 'stdout' || input.stream === 'stderr') entry.stream = input.stream;
    return entry;
  }

  function enqueue(entry: LogEntry): void {
    pending.push(entry);
    hub.publish(entry);
    otlp?.enqueue(entry);
  }

  function write(input: LogInput): void {
    if (closed) return;
    if (pending.length >= maxQueue) {
      dropped++;
      const key = `${input.site}\u0000${input.slot}`;
      const entry = unreported.get(key) ?? { site: String(input.site), slot: String(input.slot || 'production'), count: 0, since: Date.now() };
      entry.count++;
      unreported.set(key, entry);
      return;
    }
    enqueue(accept(input));
    schedule();
  }

  function schedule(): void {
    if (pending.length >= batchSize) {
      immediate ??= setImmediate(drainStep);
    } else if (!timer && !immediate) {
      timer = setTimeout(drainStep, flushInterval);
      timer.unref();
    }
  }

  /** Writes one batch, then yields to the event loop before the next, so readers keep being served. */
  function drainStep(): void {
    timer = undefined;
    immediate = undefined;
    writeBatch();
    if (pending.length > 0) immediate = setImmediate(drainStep);
    else idle();
  }

  function writeBatch(): void {
    if (pending.length === 0) return;
    const batch = pending.length <= batchSize ? pending : pending.slice(0, batchSize);
    pending = pending.length <= batchSize ? [] : pending.slice(batchSize);
    try {
      db.insert(batch);
      written += batch.length;
    } catch (error) {
      dropped += batch.length;
      log.error({ err: error, lines: batch.length }, 'could not write log lines to the store; dropped them');
    }
    if (unreported.size > 0 && pending.length < maxQueue / 2) reportDrops();
  }

  function reportDrops(): void {
    for (const { site, slot, count, since } of unreported.values()) {
      enqueue(
        accept({
          site,
          slot,
          instance: '',
          type: 'platform',
          level: 'warn',
          message: `Log ingestion could not keep up: dropped ${count} line(s) of ${site}/${slot} since ${new Date(since).toISOString()} (queue limit logs.ingest.maxQueue = ${maxQueue}).`,
        }),
      );
    }
    log.warn({ dropped }, 'log ingestion queue was full; lines were dropped');
    unreported.clear();
  }

  let mergeTimer: NodeJS.Timeout | undefined;
  function idle(): void {
    // Merging FTS5 segments when nothing is waiting keeps searches fast without slowing ingestion;
    // small steps, repeated while there is merging left and no lines are waiting.
    if (mergeTimer || closed) return;
    mergeTimer = setTimeout(() => {
      mergeTimer = undefined;
      if (closed || pending.length > 0) return;
      try {
        if (db.mergeStep()) idle();
      } catch (error) {
        log.warn({ err: error }, 'FTS merge step failed');
      }
    }, 100);
    mergeTimer.unref();
  }

  function flush(): void {
    if (timer) clearTimeout(timer);
    if (immediate) clearImmediate(immediate);
    timer = undefined;
    immediate = undefined;
    while (pending.length > 0) writeBatch();
  }

  /** Deletes lines older than maxAge, then the oldest lines until the store fits in maxSize. */
  function enforceRetention(now = Date.now()): { deleted: number } {
    const { maxAge, maxSize } = config.retention;
    let deleted = 0;
    const cutoff = (now - maxAge) * ID_PER_MS;
    for (let n = RETENTION_CHUNK; n === RETENTION_CHUNK; ) {
      n = db.deleteOldest(cutoff, RETENTION_CHUNK);
      deleted += n;
    }
    const used = db.usedBytes();
    if (used > maxSize) {
      // Space comes back only after the FTS index merges, so measuring while deleting would delete
      // everything: delete the share of lines that brings the store to 90% of maxSize, then shrink.
      let toDelete = Math.ceil(db.count() * Math.min(1, (used - maxSize * 0.9) / used));
      while (toDelete > 0) {
        const n = db.deleteOldest(Number.MAX_SAFE_INTEGER, Math.min(toDelete, RETENTION_CHUNK));
        if (n === 0) break;
        deleted += n;
        toDelete -= n;
      }
    }
    if (deleted > 0) {
      db.shrink();
      log.info({ deleted }, 'log retention removed old lines');
    }
    return { deleted };
  }

  const retentionTimer = setInterval(() => {
    try {
      enforceRetention();
    } catch (error) {
      log.error({ err: error }, 'log retention failed');
    }
  }, config.retention.interval);
  retentionTimer.unref();
  enforceRetention();

  return {
    write,
    flush,
    otlp,
    sources: () => db.listSources(),
    query(query: LogQuery): LogPage {
      flush();
      const compiled = compileFilter(query);
      try {
        return db.query(compiled, query);
      } catch (error) {
        if (error instanceof RangeError) throw new LogQueryError(`cursor: not a cursor this store gave out ("${query.cursor}")`);
        throw error;
      }
    },
    subscribe(filter: LogFilter, listener: (entry: LogEntry) => void) {
      return hub.subscribe(filter, listener);
    },
    stats(): LogStoreStats {
      return { written, dropped, queued: pending.length, bytes: db.usedBytes() };
    },
    enforceRetention,
    async close() {
      if (closed) return;
      flush();
      closed = true;
      clearInterval(retentionTimer);
      if (mergeTimer) clearTimeout(mergeTimer);
      await otlp?.close();
      db.close();
    },
  };
}
