/**
 * The contract between the parts that produce log lines (sites, frontdoor, platform events) and the
 * logs part that stores, searches and streams them. Producers depend only on these types.
 */
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';
export type LogType = 'application' | 'platform';

/** A line as a producer hands it over. The logs part detects the level when none is given. */
export interface LogInput {
  /** Milliseconds since the epoch; now when omitted. */
  time?: number;
  site: string;
  /** `production` for the main slot. */
  slot: string;
  /** Instance id, e.g. `a1b2c3d4`; empty for site-wide platform events. */
  instance: string;
  type: LogType;
  /** For application lines: which stream the app wrote to (stderr lines default to level error-ish detection). */
  stream?: 'stdout' | 'stderr';
  level?: LogLevel;
  message: string;
}

/** A stored line. */
export interface LogEntry extends Required<Omit<LogInput, 'stream'>> {
  /** Monotonic id in the store; also the SSE event id, so a reconnecting stream resumes with Last-Event-ID. */
  id: number;
  stream?: 'stdout' | 'stderr';
}

/** Where producers write. Must never block the producer: implementations buffer and batch. */
export interface LogSink {
  write(line: LogInput): void;
}

/** Levels in order of severity; a filter's `level` keeps that level and everything above it. */
export const LOG_LEVELS: readonly LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];

/**
 * What a reader asks for: the same filter serves history queries and live streams. Every field is
 * optional; fields combine with AND.
 */
export interface LogFilter {
  /** Milliseconds since the epoch, inclusive. */
  from?: number;
  /** Milliseconds since the epoch, exclusive. */
  to?: number;
  site?: string;
  slot?: string;
  instance?: string;
  type?: LogType;
  /** Minimum level. */
  level?: LogLevel;
  /** Keywords (all must appear, as whole words; `word*` is a prefix) and "quoted phrases". */
  q?: string;
  /** A JavaScript regular expression the message must match; a leading `(?i)` makes it case-insensitive. */
  regex?: string;
}

export interface LogQuery extends LogFilter {
  /** Lines per page (1..1000, default 100). */
  limit?: number;
  /** `desc` (newest first, the default) pages backwards; `asc` pages forwards, e.g. to resume a stream. */
  order?: 'asc' | 'desc';
  /** The `next` value of the previous page. */
  cursor?: string;
}

export interface LogPage {
  entries: LogEntry[];
  /** Present when more lines may match: pass it as `cursor` to get the next page. */
  next?: string;
}

/** The store the logs part gives `berth up`: producers write to it, the console reads from it. */
export interface LogStore extends LogSink {
  query(query: LogQuery): LogPage;
  /**
   * Calls `listener` with every new line that matches, as it is written; returns the unsubscribe
   * function. A reader whose regex takes too much of the event loop is ended: `onEnd` says why.
   */
  subscribe(
    filter: LogFilter,
    listener: (entry: LogEntry) => void,
    onEnd?: (reason: string) => void,
  ): () => void;
  /** Writes what is queued now (queries see every line written before a flush). */
  flush(): void;
  stats(): LogStoreStats;
  /** Every site, slot, instance and type that has written a line (for filter menus). */
  sources(): LogSource[];
  close(): Promise<void>;
}

export interface LogSource {
  site: string;
  slot: string;
  instance: string;
  type: LogType;
}

export interface LogStoreStats {
  /** Lines written to the store since it opened. */
  written: number;
  /** Lines dropped since it opened because the ingestion queue was full. */
  dropped: number;
  queued: number;
  /** Bytes the database holds (pages in use). */
  bytes: number;
}
