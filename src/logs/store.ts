import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { LogsConfig } from '../config/index.js';
import { silentLogger, type Logger } from '../lib/logger.js';
import { compileFilter } from './filter.js';
import { LogQueryError } from './query-error.js';
import { InFlightBatches } from './in-flight.js';
import { detectLevel, LEVEL_RANK } from './levels.js';
import { LiveHub } from './live.js';
import { LogReader } from './log-reader.js';
import { OtlpExporter } from './otlp.js';
import { OutgoingLines } from './outgoing-lines.js';
import { SourceRegistry } from './sources.js';
import { ID_PER_MS, openLogFile, readSources } from './sqlite-schema.js';
import type { LogEntry, LogFilter, LogInput, LogPage, LogQuery, LogStore, LogStoreStats } from './types.js';
import { WriterClient, type WriterEvents } from './writer-client.js';
import { checkWriterFault, type WriterFault } from './writer-fault.js';
import type { LineBatch } from './writer-protocol.js';

export interface LogStoreOptions {
  /** `<dataDir>/logs` holds the database unless `config.dir` says otherwise. */
  dataDir: string;
  config: LogsConfig;
  logger?: Logger;
  /** Tests only: makes the writer thread crash on a given line (see writer-fault.ts). */
  writerFault?: WriterFault;
}

/** The embedded store, with what its tests and `berth up` may also want. */
export interface EmbeddedLogStore extends LogStore {
  /** Runs retention now and waits for it (it also runs every `retention.interval`, without waiting). */
  enforceRetention(now?: number): { deleted: number };
  otlp?: OtlpExporter;
}

const STREAM_CODE = { stdout: 1, stderr: 2 } as const;
/** A stopped writer thread is restarted after this long, doubling on each failed start up to the max. */
const RESTART_FIRST_MS = 1000;
const RESTART_MAX_MS = 30_000;
/**
 * Writer threads that may stop while storing one batch before the batch is given up (dropped, counted
 * and logged): a batch that crashes every thread must not hold up the lines behind it forever. The
 * first attempt may have shared its transaction with other batches; later ones are alone.
 */
const MAX_WRITE_ATTEMPTS = 3;
/** How soon batches the writer finished are let go of when nothing else is sent. */
const RELEASE_INTERVAL_MS = 1000;

/**
 * The embedded log store. `write` never waits: a line gets its id, goes to live readers and the OTLP
 * exporter at once, and joins the outgoing batch. Batches go to the writer thread (SQLite and the FTS5
 * index, off the event loop) when `ingest.batchSize` lines are waiting, or after `ingest.flushInterval`.
 * The queue (lines accepted and not yet stored) is bounded: past `ingest.maxQueue`, lines are dropped
 * and counted, and a platform warning says how many once there is room again.
 */
export function createLogStore(options: LogStoreOptions): EmbeddedLogStore {
  const { config } = options;
  const log = options.logger ?? silentLogger;
  const fault = options.writerFault === undefined ? undefined : checkWriterFault(options.writerFault);
  // A relative logs.dir is read against the data folder, like every other state path.
  const dir = resolve(options.dataDir, config.dir ?? 'logs');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'logs.db');
  const readDb = openLogFile(file, 'reader');
  const sources = new SourceRegistry(readSources(readDb));
  let maxLead = 0;
  const reader = new LogReader(
    readDb,
    sources,
    () => maxLead,
    config.query.maxRegexScan,
    config.query.regexTimeout,
  );
  maxLead = reader.storedMaxLead();
  const hub = new LiveHub();
  const otlp = config.otlp ? new OtlpExporter(config.otlp, log) : undefined;
  const { maxQueue, batchSize, flushInterval, maxMessageBytes } = config.ingest;

  let lastId = reader.lastId();
  /**
   * Lines accepted and not yet handed to the writer, already in the writer's format: full batches, then
   * the one being filled. A line is written into typed arrays as it is accepted; no LogEntry object is
   * made unless a live reader or the OTLP exporter wants one (fewer objects for the GC, which shares
   * the machine's cores with the writer thread).
   */
  let outgoing = new OutgoingLines(batchSize);
  /** Highest id handed to the writer. */
  let sentId = lastId;
  /** Lines handed to the writer thread since it started (so queued = sent - finished + outgoing). */
  let sentLines = 0;
  /** Batches handed to the writer and not finished yet; a new thread gets them if this one stops. */
  const inFlight = new InFlightBatches();
  let releaseTimer: NodeJS.Timeout | undefined;
  let dropped = 0;
  /** Drops per site/slot since the last warning about them. */
  const unreported = new Map<string, { site: string; slot: string; count: number; since: number }>();
  let timer: NodeJS.Timeout | undefined;
  let immediate: NodeJS.Immediate | undefined;
  let closed = false;

  /** Written and failed counts of writer threads that stopped (each new thread counts from 0). */
  let writtenBefore = 0;
  let failedBefore = 0;
  let restartDelay = RESTART_FIRST_MS;
  let restartTimer: NodeJS.Timeout | undefined;

  const events: WriterEvents = {
    onFailed(lines, error) {
      log.error({ err: error, lines }, 'could not write log lines to the store; dropped them');
    },
    onRetained(deleted) {
      if (deleted > 0) log.info({ deleted }, 'log retention removed old lines');
      reportDropsIfRoom();
    },
    onWarning(message, error) {
      log.warn({ err: error }, message);
    },
    onCrash(error) {
      // What the stopped thread finished, and what it was storing, stay readable in its shared memory.
      inFlight.release(writer.doneId);
      const givenUp = inFlight.blame(writer.workingId, MAX_WRITE_ATTEMPTS);
      if (givenUp > 0) {
        dropped += givenUp;
        log.error(
          { lines: givenUp, attempts: MAX_WRITE_ATTEMPTS },
          'log lines stopped the log writer thread on every attempt to store them; dropped them',
        );
      }
      // Closing: no thread comes after this one.
      const lost = closed ? dropUnfinished() : 0;
      log.error(
        { err: error, lost, resend: inFlight.lines, retryInMs: closed ? undefined : restartDelay },
        closed
          ? 'the log writer thread stopped'
          : 'the log writer thread stopped; the lines it had not stored and new lines wait in the queue while it restarts',
      );
      if (!closed) restartTimer = setTimeout(restartWriter, restartDelay).unref();
    },
  };
  let writer = new WriterClient(file, sources.all(), events, fault);

  /**
   * A new writer thread after one stopped (say, another process held the database locked past the busy
   * timeout): the batches the stopped one had not finished go first, then the lines queued since. The
   * new thread skips lines the stopped one committed before it could say so (see skip-stored.ts).
   * Each failed start doubles the wait, up to RESTART_MAX_MS.
   */
  function restartWriter(): void {
    restartTimer = undefined;
    if (closed) return;
    writtenBefore += writer.written;
    failedBefore += writer.failed;
    sentLines = 0;
    sentId = 0;
    // A thread that had been storing lines gets the short wait next time; one that never did, a longer one.
    restartDelay = writer.written > 0 ? RESTART_FIRST_MS : Math.min(restartDelay * 2, RESTART_MAX_MS);
    // The new thread reads which sources are stored from the database; it is told about all of them.
    writer = new WriterClient(file, sources.all(), events, fault);
    log.info({ resend: inFlight.lines }, 'log writer thread restarted');
    for (const { batch, attempts } of inFlight.takeAll()) {
      // A batch that was in the transaction of a stopped thread goes alone, so the next crash is its own.
      batch.alone = attempts > 0;
      hand(batch, attempts);
    }
    sendOutgoing();
  }

  /** Gives a batch to the writer thread, keeping it until the thread has finished it. */
  function hand(batch: LineBatch, attempts = 0): void {
    sentLines += batch.ids.length;
    sentId = batch.ids[batch.ids.length - 1]!;
    inFlight.add(batch, attempts);
    writer.send(batch);
    releaseTimer ??= setTimeout(releaseFinished, RELEASE_INTERVAL_MS).unref();
  }

  /** Counts the batches a stopped writer thread had not finished as dropped (when none will follow it). */
  function dropUnfinished(): number {
    inFlight.release(writer.doneId);
    const lines = inFlight.lines;
    inFlight.takeAll();
    dropped += lines;
    return lines;
  }

  /** Lets go of the batches the writer has finished, now and then while some are kept. */
  function releaseFinished(): void {
    releaseTimer = undefined;
    inFlight.release(writer.doneId);
    if (inFlight.lines > 0 && !closed && !writer.dead)
      releaseTimer = setTimeout(releaseFinished, RELEASE_INTERVAL_MS).unref();
  }

  function nextId(time: number): number {
    lastId = Math.max(lastId + 1, time * ID_PER_MS);
    return lastId;
  }

  /** Gives a line its time, message, level and id, queues it for the writer, and hands it to live readers. */
  function accept(input: LogInput): void {
    const now = Date.now();
    // A line cannot come from the future: a skewed clock must not push ids (and time ranges) ahead.
    const time =
      typeof input.time === 'number' && Number.isFinite(input.time)
        ? Math.min(Math.floor(input.time), now)
        : now;
    let message = typeof input.message === 'string' ? input.message : String(input.message ?? '');
    if (message.endsWith('\n')) message = message.replace(/\r?\n$/, '');
    if (message.length * 3 > maxMessageBytes && Buffer.byteLength(message) > maxMessageBytes) {
      const cut = Buffer.from(message)
        .subarray(0, maxMessageBytes)
        .toString()
        .replace(/\uFFFD$/, '');
      message = `${cut} … [truncated ${Buffer.byteLength(message) - Buffer.byteLength(cut)} bytes]`;
    }
    const level = input.level && input.level in LEVEL_RANK ? input.level : detectLevel(message, input.stream);
    const id = nextId(time);
    if (id - time * ID_PER_MS > maxLead) maxLead = id - time * ID_PER_MS;
    const site = String(input.site ?? '');
    const slot = String(input.slot || 'production');
    const instance = String(input.instance ?? '');
    const type = input.type === 'platform' ? 'platform' : 'application';
    const stream = input.stream === 'stdout' || input.stream === 'stderr' ? input.stream : undefined;
    outgoing.push(
      id,
      time,
      sources.idOf(site, slot, instance, type),
      LEVEL_RANK[level],
      stream ? STREAM_CODE[stream] : 0,
      message,
    );
    if (outgoing.full) seal();
    if (hub.size === 0 && !otlp) return;
    const entry: LogEntry = { id, time, site, slot, instance, type, level, message };
    if (stream) entry.stream = stream;
    hub.publish(entry);
    otlp?.enqueue(entry);
  }

  /** Closes the batch being filled; sources first seen in it (or before) travel with it. */
  function seal(): void {
    outgoing.seal(sources.takeNew(), maxLead);
  }

  /**
   * Lines accepted and not yet stored (or failed) by the writer. While the thread is down, that is the
   * lines it had not finished (they go to the next one) and those waiting on the main thread.
   */
  function queued(): number {
    if (!writer.dead) return sentLines - writer.written - writer.failed + outgoing.lines;
    inFlight.release(writer.doneId);
    return inFlight.lines + outgoing.lines;
  }

  function write(input: LogInput): void {
    if (closed) return;
    if (queued() >= maxQueue) {
      dropped++;
      const key = `${input.site}\u0000${input.slot}`;
      const entry = unreported.get(key) ?? {
        site: String(input.site),
        slot: String(input.slot || 'production'),
        count: 0,
        since: Date.now(),
      };
      entry.count++;
      unreported.set(key, entry);
      watchForRoom();
      return;
    }
    accept(input);
    schedule();
  }

  function schedule(): void {
    if (outgoing.hasFull) {
      if (timer) clearTimeout(timer);
      timer = undefined;
      // At the end of this turn, so a burst of lines in one turn travels together.
      immediate ??= setImmediate(sendOutgoing);
    } else if (!timer && !immediate) {
      timer = setTimeout(sendOutgoing, flushInterval);
      timer.unref();
    }
  }

  /** Hands every outgoing line to the writer, in batches of at most `batchSize`. */
  function sendOutgoing(): void {
    if (timer) clearTimeout(timer);
    if (immediate) clearImmediate(immediate);
    timer = undefined;
    immediate = undefined;
    // While the writer restarts, lines stay queued (queued() bounds them by maxQueue).
    if (outgoing.lines === 0 || writer.dead) return;
    seal();
    inFlight.release(writer.doneId);
    for (const batch of outgoing.take()) hand(batch);
    reportDropsIfRoom();
  }

  /**
   * The warning about drops goes out once the writer has caught up; that happens in the writer thread,
   * so the main thread looks every 100 ms until it has (even if the flood stopped and nothing writes).
   */
  let roomWatch: NodeJS.Timeout | undefined;
  function watchForRoom(): void {
    if (roomWatch) return;
    roomWatch = setInterval(() => {
      reportDropsIfRoom();
      if (unreported.size === 0 || closed || writer.dead) {
        clearInterval(roomWatch);
        roomWatch = undefined;
      }
    }, 100);
    roomWatch.unref();
  }

  function reportDropsIfRoom(): void {
    if (unreported.size === 0 || closed || writer.dead || queued() >= maxQueue / 2) return;
    for (const { site, slot, count, since } of unreported.values()) {
      accept({
        site,
        slot,
        instance: '',
        type: 'platform',
        level: 'warn',
        message: `Log ingestion could not keep up: dropped ${count} line(s) of ${site}/${slot} since ${new Date(since).toISOString()} (queue limit logs.ingest.maxQueue = ${maxQueue}).`,
      });
    }
    log.warn({ dropped }, 'log ingestion queue was full; lines were dropped');
    unreported.clear();
    schedule();
  }

  /** Sends what is waiting and blocks until the writer has stored it (or failed and counted it). */
  function flush(): void {
    sendOutgoing();
    const waiting = writer.dead ? queued() : 0;
    if (waiting > 0) {
      throw new Error(
        `the log writer thread has stopped and is restarting; ${waiting} line(s) wait to be stored`,
      );
    }
    if (writer.doneId < sentId && !writer.dead) writer.waitForId(sentId);
    // Room again: the drop warning goes out now and is stored before flush returns.
    if (unreported.size > 0) {
      reportDropsIfRoom();
      sendOutgoing();
      if (!writer.dead) writer.waitForId(sentId);
    }
  }

  /** Deletes lines older than maxAge, then the oldest lines until the store fits in maxSize. */
  function enforceRetention(now = Date.now()): { deleted: number } {
    flush();
    const { maxAge, maxSize } = config.retention;
    return { deleted: writer.retention((now - maxAge) * ID_PER_MS, maxSize, true)! };
  }

  function retentionInBackground(): void {
    if (writer.dead) return;
    writer.retention((Date.now() - config.retention.maxAge) * ID_PER_MS, config.retention.maxSize, false);
  }

  const retentionTimer = setInterval(retentionInBackground, config.retention.interval);
  retentionTimer.unref();
  retentionInBackground();

  return {
    write,
    flush,
    otlp,
    sources: () => sources.list(),
    query(query: LogQuery): LogPage {
      const compiled = compileFilter(query);
      // Every line accepted before the query is in its answer (a resumed stream relies on it).
      flush();
      try {
        return reader.query(compiled, query);
      } catch (error) {
        if (error instanceof RangeError)
          throw new LogQueryError(`cursor: not a cursor this store gave out ("${query.cursor}")`);
        throw error;
      }
    },
    subscribe(filter: LogFilter, listener: (entry: LogEntry) => void, onEnd?: (reason: string) => void) {
      return hub.subscribe(filter, listener, onEnd);
    },
    stats(): LogStoreStats {
      return {
        written: writtenBefore + writer.written,
        dropped: dropped + failedBefore + writer.failed,
        queued: queued(),
        bytes: reader.usedBytes(),
      };
    },
    enforceRetention,
    async close() {
      if (closed) return;
      try {
        flush();
      } catch (error) {
        log.error({ err: error }, 'could not store every log line before closing');
      }
      closed = true;
      clearTimeout(restartTimer);
      clearTimeout(releaseTimer);
      dropped += outgoing.lines;
      outgoing = new OutgoingLines(batchSize);
      // A running thread stores what it was handed before it closes; a stopped one will not be replaced.
      if (writer.dead) dropUnfinished();
      clearInterval(retentionTimer);
      clearInterval(roomWatch);
      await writer.close();
      await otlp?.close();
      reader.close();
    },
  };
}
