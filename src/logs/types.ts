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
