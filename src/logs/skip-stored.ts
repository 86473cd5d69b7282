import type { LineBatch } from './writer-protocol.js';

/**
 * Cuts lines that are already in the database out of batches sent again after a writer thread stopped.
 *
 * Why an id is enough: ids are handed out on the main thread in increasing order, batches reach the
 * writer in that order, and each transaction stores its lines together with their FTS rows (all or
 * nothing). So a thread that stopped after committing a batch but before reporting it leaves exactly
 * the lines up to the table's largest id. Retention runs in the writer between transactions, after it
 * reported the one before, so it never deletes a line that is sent again (and only the oldest lines).
 * Lines the stopped thread failed to store (and counted) are not sent again: it reported them done.
 */
export function skipStored(
  batches: LineBatch[],
  storedId: number,
): { batches: LineBatch[]; skipped: number } {
  // The usual case, a batch never sent before: nothing to cut, nothing copied.
  if (batches.every((b) => b.ids.length === 0 || b.ids[0]! > storedId)) return { batches, skipped: 0 };
  let skipped = 0;
  const kept: LineBatch[] = [];
  for (const batch of batches) {
    let from = 0;
    while (from < batch.ids.length && batch.ids[from]! <= storedId) from++;
    skipped += from;
    if (from === batch.ids.length) continue;
    kept.push(
      from === 0
        ? batch
        : {
            ...batch,
            ids: batch.ids.subarray(from),
            times: batch.times.subarray(from),
            sources: batch.sources.subarray(from),
            levels: batch.levels.subarray(from),
            streams: batch.streams.subarray(from),
            messages: batch.messages.slice(from),
          },
    );
  }
  return { batches: kept, skipped };
}
