/**
 * What the main thread and the log writer thread say to each other. Lines travel in compact batches
 * (typed arrays for the numbers, one array of message strings), copied: the main thread keeps each
 * batch until the writer has finished it, so a new writer thread can store it if this one stops.
 * Progress travels back through shared memory, so the main thread can wait for it synchronously
 * (`flush()`, and `query()` before it reads) while the writer goes on.
 */
import type { MessagePort } from 'node:worker_threads';
import type { SourceRow } from './sqlite-schema.js';
import type { WriterFault } from './writer-fault.js';

export interface LineBatch {
  kind: 'lines';
  ids: Float64Array;
  times: Float64Array;
  sources: Uint32Array;
  /** LEVEL_RANK of each line. */
  levels: Uint8Array;
  /** 0 unknown, 1 stdout, 2 stderr. */
  streams: Uint8Array;
  messages: string[];
  /** Sources first used since the previous batch; the writer stores them with the first line that needs them. */
  newSources: SourceRow[];
  /** Largest `id - time * ID_PER_MS` handed out so far. */
  maxLead: number;
  /**
   * Stored in a transaction of its own. Set when the batch is sent again after it was in the
   * transaction of a writer thread that stopped: if it stops the next thread too, it is the one to blame.
   */
  alone: boolean;
}

export interface RetentionRequest {
  kind: 'retention';
  seq: number;
  /** Lines with a smaller id are past the maximum age. */
  cutoffId: number;
  maxSize: number;
}

export type ToWriter = LineBatch | RetentionRequest | { kind: 'close' };

export type FromWriter =
  | { kind: 'failed'; lines: number; error: string }
  | { kind: 'retained'; seq: number; deleted: number }
  | { kind: 'retention-failed'; seq: number; error: string }
  | { kind: 'warning'; message: string; error: string }
  /** The thread is stopping on an error it could not handle; sent just before it sets DEAD. */
  | { kind: 'crashed'; error: string };

/** What the writer thread gets at start. */
export interface WriterData {
  file: string;
  shared: SharedArrayBuffer;
  sources: SourceRow[];
  port: MessagePort;
  /** Tests only: crash the thread on a given line (see writer-fault.ts). */
  fault?: WriterFault;
}

/**
 * Layout of the shared progress block. `SIGNAL` is bumped (and waiters woken) after every change;
 * `DEAD` is set when the writer thread stops for good. The numbers after them are plain float64
 * stores, published by the atomic bump that follows them.
 */
export const SIGNAL = 0;
export const DEAD = 1;
const INT_SLOTS = 2;
/** Highest line id the writer has finished with (stored, or failed and reported). */
export const DONE_ID = 0;
/** Lines stored since the store opened. */
export const WRITTEN = 1;
/** Lines that failed to store (reported with a `failed` message). */
export const FAILED = 2;
/** The last request `seq` the writer finished, and its numeric result. */
export const DONE_SEQ = 3;
export const RESULT = 4;
/**
 * Last line id of the transaction the writer is in or finished last (0 before its first). After the
 * thread stopped, the batches above DONE_ID and up to this id are the ones it was storing when it stopped.
 */
export const WORKING_ID = 5;
const FLOAT_SLOTS = 6;

export function sharedProgress(buffer = new SharedArrayBuffer(8 * (FLOAT_SLOTS + 1))): {
  buffer: SharedArrayBuffer;
  signal: Int32Array;
  values: Float64Array;
} {
  return {
    buffer,
    signal: new Int32Array(buffer, 0, INT_SLOTS),
    values: new Float64Array(buffer, 8, FLOAT_SLOTS),
  };
}
