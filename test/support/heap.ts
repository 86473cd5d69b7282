import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

// The test runner starts files without --expose-gc; the flag can still be set at run time, and a new
// context then sees `gc`. A heap figure after a full collection counts what is still referenced,
// not garbage the collector has not reached yet (which depends on the machine's load).
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as (options?: { type: 'major'; execution: 'sync' }) => void;

/** Bytes of heap still referenced, after a full, synchronous collection. */
export function liveHeapBytes(): number {
  gc({ type: 'major', execution: 'sync' });
  gc({ type: 'major', execution: 'sync' });
  return process.memoryUsage().heapUsed;
}
