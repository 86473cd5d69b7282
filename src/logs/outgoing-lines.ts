import type { SourceRow } from './sqlite-schema.js';
import type { LineBatch } from './writer-protocol.js';

/** Lines a batch being filled has room for at first; it doubles up to `batchSize` as lines come. */
const FIRST_CAPACITY = 256;

/**
 * The store's outgoing queue: line batches in the writer's format (typed arrays for the numbers, one
 * array of messages), filled as lines are accepted. Full batches wait in order; `take()` hands them all
 * over. A batch handed over is kept until the writer has finished it (see InFlightBatches), so each
 * batch gets new typed arrays.
 */
export class OutgoingLines {
  private readonly ready: LineBatch[] = [];
  private current: LineBatch | undefined;
  /** Lines in `current`. */
  private n = 0;
  /** Lines queued, in full batches and the one being filled. */
  lines = 0;

  constructor(private readonly batchSize: number) {}

  /** Whether the batch being filled has `batchSize` lines (then it must be sealed). */
  get full(): boolean {
    return this.n === this.batchSize;
  }

  /** Whether a sealed batch waits. */
  get hasFull(): boolean {
    return this.ready.length > 0;
  }

  push(id: number, time: number, source: number, level: number, stream: number, message: string): void {
    let batch = this.current;
    if (!batch) batch = this.current = emptyBatch(Math.min(FIRST_CAPACITY, this.batchSize));
    else if (this.n === batch.ids.length) grow(batch, Math.min(this.n * 2, this.batchSize));
    const i = this.n++;
    batch.ids[i] = id;
    batch.times[i] = time;
    batch.sources[i] = source;
    batch.levels[i] = level;
    batch.streams[i] = stream;
    batch.messages.push(message);
    this.lines++;
  }

  /** Closes the batch being filled (if any), cut to its lines. */
  seal(newSources: SourceRow[], maxLead: number): void {
    const batch = this.current;
    if (!batch) return;
    if (this.n < batch.ids.length) grow(batch, this.n);
    batch.newSources = newSources;
    batch.maxLead = maxLead;
    this.ready.push(batch);
    this.current = undefined;
    this.n = 0;
  }

  /** The sealed batches, oldest first; they leave the queue. */
  take(): LineBatch[] {
    const batches = this.ready.splice(0);
    for (const batch of batches) this.lines -= batch.ids.length;
    return batches;
  }
}

function emptyBatch(capacity: number): LineBatch {
  return {
    kind: 'lines',
    ids: new Float64Array(capacity),
    times: new Float64Array(capacity),
    sources: new Uint32Array(capacity),
    levels: new Uint8Array(capacity),
    streams: new Uint8Array(capacity),
    messages: [],
    newSources: [],
    maxLead: 0,
    alone: false,
  };
}

/** Gives a batch's typed arrays room for `capacity` lines (or cuts them to it), keeping what they hold. */
function grow(batch: LineBatch, capacity: number): void {
  const keep = Math.min(capacity, batch.ids.length);
  const resize = <T extends Float64Array | Uint32Array | Uint8Array>(from: T, to: T): T => {
    to.set(from.subarray(0, keep));
    return to;
  };
  batch.ids = resize(batch.ids, new Float64Array(capacity));
  batch.times = resize(batch.times, new Float64Array(capacity));
  batch.sources = resize(batch.sources, new Uint32Array(capacity));
  batch.levels = resize(batch.levels, new Uint8Array(capacity));
  batch.streams = resize(batch.streams, new Uint8Array(capacity));
}
