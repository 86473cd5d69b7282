/**
 * A crash of the log writer thread on demand, for tests only: what happens to lines handed to a writer
 * thread that stops can only be tested if a thread can be made to stop at a known point. The thread
 * throws outside its own error handling (as a bug would), so it stops exactly as on a real crash.
 */

export interface WriterFault {
  /** The thread crashes on a batch that holds a line with exactly this message. */
  message: string;
  /** Before it stores the batch (nothing of the transaction is committed), or just after the commit. */
  at: 'before-insert' | 'after-commit';
  /**
   * Crashes left: each one takes one, none left means no crash. An Int32Array over a SharedArrayBuffer,
   * so the count holds across every writer thread the store starts.
   */
  remaining: Int32Array;
}

/** Checks a fault handed to createLogStore; anything malformed is refused rather than ignored. */
export function checkWriterFault(fault: unknown): WriterFault {
  const f = fault as Partial<WriterFault> | null;
  if (
    typeof f !== 'object' ||
    f === null ||
    typeof f.message !== 'string' ||
    f.message === '' ||
    (f.at !== 'before-insert' && f.at !== 'after-commit') ||
    !(f.remaining instanceof Int32Array) ||
    !(f.remaining.buffer instanceof SharedArrayBuffer) ||
    f.remaining.length < 1
  )
    throw new TypeError(
      'writerFault: expected { message: non-empty string, at: "before-insert" | "after-commit", remaining: Int32Array over a SharedArrayBuffer }',
    );
  return { message: f.message, at: f.at, remaining: f.remaining };
}

/** Throws (stopping the writer thread) when the fault applies to these batches at this point. */
export function crashIfFaulty(
  fault: WriterFault,
  at: WriterFault['at'],
  batches: readonly { messages: string[] }[],
): void {
  if (fault.at !== at || Atomics.load(fault.remaining, 0) <= 0) return;
  if (!batches.some((b) => b.messages.includes(fault.message))) return;
  // One writer thread runs at a time, so the count ends at exactly 0 (tests read it to count crashes).
  Atomics.sub(fault.remaining, 0, 1);
  throw new Error(`injected log writer crash (${at})`);
}
