import type { LineBatch } from './writer-protocol.js';

/** A batch handed to a writer thread, and how many threads stopped while storing it. */
export interface SentBatch {
  batch: LineBatch;
  /** Id of its last line: the writer has finished the batch once its DONE_ID reaches this. */
  last: number;
  attempts: number;
}

/**
 * The batches handed to the writer thread that it has not finished yet (stored, or failed and
 * counted), oldest first. If the thread stops, they go to the next one instead of being lost. They are
 * lines accepted and not yet stored, so they already count against `ingest.maxQueue`: the memory they
 * hold is bounded by it.
 */
export class InFlightBatches {
  private readonly sent: SentBatch[] = [];
  /** Lines in `sent`. */
  lines = 0;

  add(batch: LineBatch, attempts = 0): void {
    if (batch.ids.length === 0) return;
    this.sent.push({ batch, last: batch.ids[batch.ids.length - 1]!, attempts });
    this.lines += batch.ids.length;
  }

  /** Forgets the batches the writer has finished: every line up to `doneId`. */
  release(doneId: number): void {
    let n = 0;
    while (n < this.sent.length && this.sent[n]!.last <= doneId)
      this.lines -= this.sent[n++]!.batch.ids.length;
    if (n > 0) this.sent.splice(0, n);
  }

  /**
   * After a writer thread stopped while storing the lines up to `workingId` (call `release` with its
   * last DONE_ID first): each batch of that transaction had one more attempt, and a batch that has had
   * `maxAttempts` is given up, so one batch that always stops the writer cannot stop it forever.
   * Returns the lines given up. A thread that stopped before it stored anything blames no batch.
   */
  blame(workingId: number, maxAttempts: number): number {
    let givenUp = 0;
    for (let i = 0; i < this.sent.length && this.sent[i]!.last <= workingId;) {
      const entry = this.sent[i]!;
      entry.attempts++;
      if (entry.attempts < maxAttempts) {
        i++;
        continue;
      }
      givenUp += entry.batch.ids.length;
      this.lines -= entry.batch.ids.length;
      this.sent.splice(i, 1);
    }
    return givenUp;
  }

  /** Every batch kept, oldest first, for the next writer thread; they leave (the caller adds them back as it sends). */
  takeAll(): SentBatch[] {
    this.lines = 0;
    return this.sent.splice(0);
  }
}
