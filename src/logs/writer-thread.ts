/**
 * The log writer thread: the one connection that writes the log database. It takes line batches from
 * the main thread, stores everything that has queued up in one transaction (with the FTS5 index),
 * publishes its progress in shared memory, and merges index segments when there is nothing to write.
 */
import { receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import { LogWriter } from './log-writer.js';
import { skipStored } from './skip-stored.js';
import { openLogFile } from './sqlite-schema.js';
import { crashIfFaulty } from './writer-fault.js';
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

/**
 * Lines per transaction at most: everything queued up to this goes in one commit (fewer, larger FTS
 * segments, so fewer crisis merges while a backlog drains). Measured against 65,536: writer CPU per
 * line about 15% lower (median of 5 runs, 4.6 vs 5.5 µs with the FTS hash at 64 MiB, see LogWriter).
 * Only a backlog makes transactions this large; a line still waits at most one transaction for it.
 */
const MAX_TRANSACTION_LINES = 262_144;
/** Quiet time before the writer merges index segments. */
const IDLE_MERGE_DELAY = 100;

const data = workerData as WriterData;
const port: MessagePort = data.port;
const { signal, values } = sharedProgress(data.shared);
const writer = new LogWriter(openLogFile(data.file, 'writer'));
writer.learnSources(data.sources);
/**
 * Lines up to this id are in the database. Batches a stopped writer thread had not reported are sent
 * again to this one; what that thread committed before it stopped is not stored twice (see skip-stored.ts).
 */
const storedId = writer.lastId();
const fault = data.fault;

function publish(): void {
  Atomics.add(signal, SIGNAL, 1);
  Atomics.notify(signal, SIGNAL);
}

function send(message: FromWriter): void {
  port.postMessage(message);
}

function writeLines(batches: LineBatch[]): void {
  const last = batches.findLast((b) => b.ids.length > 0)?.ids.at(-1);
  for (const batch of batches) writer.learnSources(batch.newSources);
  // Lines a stopped thread committed are stored: they count as written, as the main thread sent them.
  const { batches: fresh, skipped } = skipStored(batches, storedId);
  const lines = fresh.reduce((n, b) => n + b.ids.length, 0);
  // If the thread stops from here on, the main thread knows which batches it was storing.
  if (last !== undefined) values[WORKING_ID] = last;
  if (fault) crashIfFaulty(fault, 'before-insert', fresh);
  let stored = false;
  try {
    if (lines > 0) writer.insert(fresh);
    stored = true;
  } catch (error) {
    values[FAILED] = values[FAILED]! + lines;
    send({ kind: 'failed', lines, error: errorText(error) });
  }
  if (stored && fault) crashIfFaulty(fault, 'after-commit', fresh);
  values[WRITTEN] = values[WRITTEN]! + skipped + (stored ? lines : 0);
  // The counts must be visible before the id a flush waits for; plain stores to shared memory may be
  // reordered, an Atomics call between them may not.
  Atomics.add(signal, SIGNAL, 0);
  if (last !== undefined) values[DONE_ID] = last;
  publish();
}

function retention(request: Extract<ToWriter, { kind: 'retention' }>): void {
  try {
    const deleted = writer.enforceRetention(request.cutoffId, request.maxSize);
    values[RESULT] = deleted;
    send({ kind: 'retained', seq: request.seq, deleted });
  } catch (error) {
    values[RESULT] = -1;
    send({ kind: 'retention-failed', seq: request.seq, error: errorText(error) });
  }
  Atomics.add(signal, SIGNAL, 0); // RESULT before DONE_SEQ, as above
  values[DONE_SEQ] = request.seq;
  publish();
}

let mergeTimer: NodeJS.Timeout | undefined;
function scheduleMerge(): void {
  if (mergeTimer) clearTimeout(mergeTimer);
  mergeTimer = setTimeout(() => {
    mergeTimer = undefined;
    try {
      // Small steps, each one a short transaction, so a batch that arrives waits little.
      if (writer.mergeStep()) scheduleMerge();
    } catch (error) {
      send({ kind: 'warning', message: 'FTS merge step failed', error: errorText(error) });
    }
  }, IDLE_MERGE_DELAY);
}

/** Handles a message and everything queued behind it: consecutive line batches share one transaction. */
function handle(first: ToWriter): void {
  let next: ToWriter | undefined = first;
  while (next) {
    const message: ToWriter = next;
    next = undefined;
    if (message.kind === 'lines') {
      const group = [message];
      let lines = message.ids.length;
      while (!message.alone && lines < MAX_TRANSACTION_LINES) {
        const queued = receiveMessageOnPort(port)?.message as ToWriter | undefined;
        if (!queued) break;
        if (queued.kind !== 'lines' || queued.alone) {
          next = queued;
          break;
        }
        group.push(queued);
        lines += queued.ids.length;
      }
      writeLines(group);
      if (!next) next = receiveMessageOnPort(port)?.message as ToWriter | undefined;
    } else if (message.kind === 'retention') {
      retention(message);
      next = receiveMessageOnPort(port)?.message as ToWriter | undefined;
    } else {
      if (mergeTimer) clearTimeout(mergeTimer);
      writer.close();
      port.close();
      return;
    }
  }
  scheduleMerge();
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

port.on('message', (message: ToWriter) => {
  try {
    handle(message);
  } catch (error) {
    // Nothing above should throw (each step reports its own errors); if something does, the main
    // thread must not wait for a writer that is gone, and must learn why.
    send({ kind: 'crashed', error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
    Atomics.store(signal, DEAD, 1);
    publish();
    throw error;
  }
});
