import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import type { SourceRow } from './sqlite-schema.js';
import type { WriterFault } from './writer-fault.js';
import {
  DEAD,
  DONE_ID,
  DONE_SEQ,
  FAILED,
  RESULT,
  SIGNAL,
  WORKING_ID,
  WRITTEN,
  sharedProgress,
  type FromWriter,
  type LineBatch,
  type ToWriter,
  type WriterData,
} from './writer-protocol.js';

/** Longest a synchronous wait for the writer (flush, a query's flush, retention) may take before it fails. */
export const WRITER_WAIT_LIMIT = 60_000;

/**
 * The log writer thread runs the TypeScript sources like the rest of Berth: through tsx when this file
 * was loaded from a `.ts` file, directly when it was compiled to `.js`.
 */
function bootstrap(): string {
  const own = import.meta.url;
  const target = new URL(own.endsWith('.ts') ? './writer-thread.ts' : './writer-thread.js', own).href;
  const load = own.endsWith('.ts')
    ? `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((tsx) => { tsx.register(); return import(${JSON.stringify(target)}); })`
    : `import(${JSON.stringify(target)})`;
  // A writer that cannot start (say, the database cannot be opened) marks itself dead, so nobody waits for it.
  return `const { workerData } = require('node:worker_threads');
${load}.catch((error) => {
  workerData.port.postMessage({ kind: 'crashed', error: String(error && error.stack || error) });
  const signal = new Int32Array(workerData.shared, 0, 2);
  Atomics.store(signal, ${DEAD}, 1); Atomics.add(signal, ${SIGNAL}, 1); Atomics.notify(signal, ${SIGNAL});
  throw error;
});`;
}

export interface WriterEvents {
  /** The writer could not store some lines (they are counted in `failed`). */
  onFailed(lines: number, error: string): void;
  onRetained(deleted: number): void;
  onWarning(message: string, error: string): void;
  /** The writer thread stopped without being asked to. */
  onCrash(error: Error | undefined): void;
}

/** The main thread's handle on the writer thread: sends batches and requests, waits for progress. */
export class WriterClient {
  private readonly worker: Worker;
  private readonly port: MessagePort;
  private readonly signal: Int32Array;
  private readonly values: Float64Array;
  private seq = 0;
  private closing = false;
  private readonly exited: Promise<void>;

  constructor(
    file: string,
    sources: SourceRow[],
    private readonly events: WriterEvents,
    fault?: WriterFault,
  ) {
    const progress = sharedProgress();
    this.signal = progress.signal;
    this.values = progress.values;
    const channel = new MessageChannel();
    this.port = channel.port1;
    const data: WriterData = { file, shared: progress.buffer, sources, port: channel.port2, fault };
    this.worker = new Worker(bootstrap(), {
      eval: true,
      workerData: data,
      transferList: [channel.port2],
      name: 'berth-log-writer',
    });
    // A store that is never closed must not keep the process alive; close() waits for the thread.
    this.worker.unref();
    this.port.unref();
    let lastError: Error | undefined;
    this.worker.on('error', (error) => {
      lastError = error;
    });
    this.exited = new Promise((resolve) => {
      this.worker.on('exit', () => {
        Atomics.store(this.signal, DEAD, 1);
        // Read what the thread said last (its crash reason) before deciding whether this was a crash.
        for (let m; (m = receiveMessageOnPort(this.port));) this.dispatch(m.message as FromWriter);
        if (!this.closing || lastError || this.crash)
          events.onCrash(this.crash !== undefined ? new Error(this.crash) : lastError);
        resolve();
      });
    });
    this.port.on('message', (message: FromWriter) => this.dispatch(message));
  }

  private dispatch(message: FromWriter): void {
    if (message.kind === 'failed') this.events.onFailed(message.lines, message.error);
    else if (message.kind === 'retained') this.events.onRetained(message.deleted);
    else if (message.kind === 'retention-failed')
      this.events.onWarning('log retention failed', message.error);
    else if (message.kind === 'crashed') this.crash ??= message.error;
    else this.events.onWarning(message.message, message.error);
  }

  /** Why the thread stopped, once known. */
  private crash: string | undefined;

  get dead(): boolean {
    return Atomics.load(this.signal, DEAD) === 1;
  }

  /** Highest line id the writer has finished with (stored or failed). */
  get doneId(): number {
    return this.values[DONE_ID]!;
  }

  /** Last line id of the transaction the writer is in (or finished last); see WORKING_ID. */
  get workingId(): number {
    return this.values[WORKING_ID]!;
  }

  get written(): number {
    return this.values[WRITTEN]!;
  }

  get failed(): number {
    return this.values[FAILED]!;
  }

  /**
   * Hands a batch to the thread as a copy (not a transfer): the caller keeps the batch until the writer
   * has finished it, to send it again if the thread stops first. Copying the typed arrays costs little
   * next to the message strings, which are copied either way.
   */
  send(batch: LineBatch): void {
    this.port.postMessage(batch satisfies ToWriter);
  }

  /** Blocks until the writer has finished every line up to `id`; throws if it is gone or takes too long. */
  waitForId(id: number): void {
    this.waitUntil(() => this.doneId >= id, `storing the lines written so far`);
  }

  /** Runs retention in the writer; `wait` blocks until it is done and returns how many lines it deleted. */
  retention(cutoffId: number, maxSize: number, wait: boolean): number | undefined {
    const seq = ++this.seq;
    this.port.postMessage({ kind: 'retention', seq, cutoffId, maxSize } satisfies ToWriter);
    if (!wait) return undefined;
    this.waitUntil(() => this.values[DONE_SEQ]! >= seq, 'log retention');
    const deleted = this.values[RESULT]!;
    if (deleted < 0) throw new Error('log retention failed (the writer logged why)');
    return deleted;
  }

  private waitUntil(done: () => boolean, what: string): void {
    const deadline = Date.now() + WRITER_WAIT_LIMIT;
    for (;;) {
      const seen = Atomics.load(this.signal, SIGNAL);
      if (done()) {
        // Read after the id that ended the wait: the counts written before it (see writeLines).
        Atomics.load(this.signal, SIGNAL);
        return;
      }
      if (this.dead) {
        // The thread's last messages (its crash reason among them) are read now: the event loop is not running.
        for (let m; (m = receiveMessageOnPort(this.port));) this.dispatch(m.message as FromWriter);
        throw new Error(
          `the log writer thread has stopped (${this.crash?.split('\n')[0] ?? 'no reason given'}); ${what} is not possible`,
        );
      }
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(`the log writer did not finish ${what} within ${WRITER_WAIT_LIMIT / 1000} s`);
      Atomics.wait(this.signal, SIGNAL, seen, left);
    }
  }

  /** Asks the writer to finish what it has and stop; resolves when the thread has ended. */
  async close(): Promise<void> {
    this.closing = true;
    // Keep the process alive until the thread has closed the database.
    this.worker.ref();
    if (!this.dead) this.port.postMessage({ kind: 'close' } satisfies ToWriter);
    await this.exited;
    this.port.close();
  }
}
