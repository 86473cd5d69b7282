import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { setImmediate as turn } from 'node:timers/promises';
import { alive, procPids, procStatSync } from './procfs.js';

/**
 * Processes of an instance that left its process group (`setsid`, Node's `spawn({ detached: true })`)
 * are out of reach of a signal to the group, but they keep the environment they were started with.
 * Each start of an instance therefore puts a marker in its environment, and a stop (or Berth's death,
 * or the next start after a crash) finds the processes that carry it.
 *
 * The marker is a fresh random value for every start (128 bits), not the instance id: instance ids
 * are short, shown in logs and status, and copied into places such as a test's or an operator's
 * shell (`WEBSITE_INSTANCE_ID=... node server.mjs`); a process that merely looks like an instance must
 * never be killed. A random value is carried only by processes that inherited it from this very start
 * (or that were handed it on purpose, by someone who could signal the instance anyway), and a
 * per-start value keeps the leftovers of one start apart from the next. Its value is never logged.
 */
export const MARKER_ENV = 'BERTH_INSTANCE_MARKER';

export function newMarker(): string {
  return randomBytes(16).toString('hex');
}

/** Fail closed: anything but 32 lowercase hex digits is not a marker (an empty one would match everything). */
export function isMarker(value: unknown): value is string {
  return typeof value === 'string' && /^[0-9a-f]{32}$/.test(value);
}

/**
 * What a scan looks for: each marker with the process group of its instance. Members of that group
 * are left out (the group signal reaches them); pass -1 to take every carrier.
 */
export type Wanted = ReadonlyMap<string, number>;

/** A process that carried a wanted marker when its environment was read. */
export interface Carrier {
  pid: number;
  pgid: number;
  /** Read before its environment: the same start time right before a signal means the same process. */
  startTime: number;
}

const ENTRY = `\0${MARKER_ENV}=`;

/** The wanted markers this environment (NUL-separated, as in /proc/<pid>/environ) holds as a whole entry. */
function markersIn(environ: string): string[] {
  const text = `\0${environ}\0`;
  const found: string[] = [];
  for (let at = text.indexOf(ENTRY); at >= 0; at = text.indexOf(ENTRY, at + 1)) {
    const start = at + ENTRY.length;
    found.push(text.slice(start, text.indexOf('\0', start)));
  }
  return found;
}

function carrier(pid: number, wanted: Wanted): Carrier | undefined {
  if (pid === process.pid) return undefined;
  const stat = procStatSync(pid);
  if (!stat || !alive(stat)) return undefined;
  let environ: string;
  try {
    // Readable only for our own user's processes; the others cannot carry a marker of ours anyway.
    environ = readFileSync(`/proc/${pid}/environ`, 'latin1');
  } catch {
    return undefined;
  }
  for (const marker of markersIn(environ)) {
    const group = wanted.get(marker);
    if (group !== undefined && group !== stat.pgid)
      return { pid, pgid: stat.pgid, startTime: stat.startTime };
  }
  return undefined;
}

/** One pass over /proc, synchronously (for the exit handler, where nothing asynchronous runs). */
export function findCarriersSync(wanted: Wanted): Carrier[] {
  if (wanted.size === 0) return [];
  return procPids()
    .map((pid) => carrier(pid, wanted))
    .filter((c): c is Carrier => c !== undefined);
}

/**
 * One pass over /proc, 128 processes per turn of the event loop. Runs only when an instance stops or
 * its main process exits, and when Berth starts; never per request or on a timer. Measured here: 6 ms
 * of CPU for 92 processes (stat and environment of each).
 */
export async function findCarriers(wanted: Wanted): Promise<Carrier[]> {
  if (wanted.size === 0) return [];
  const all = procPids();
  const found: Carrier[] = [];
  for (let i = 0; i < all.length; i += 128) {
    if (i > 0) await turn();
    for (const pid of all.slice(i, i + 128)) {
      const c = carrier(pid, wanted);
      if (c) found.push(c);
    }
  }
  return found;
}

/**
 * Signals one carrier if it is still the process whose environment was read (same start time, read
 * right before; pids are reused). A carrier that leads its own group (it called setsid) is signalled
 * with its group: the members of a group it created are its own descendants, even those that dropped
 * the marker from their environment. Never Berth's own process or group.
 */
export function signalCarrier(c: Carrier, signal: NodeJS.Signals): boolean {
  const now = procStatSync(c.pid);
  if (!now || !alive(now) || now.startTime !== c.startTime) return false;
  const ownGroup = procStatSync(process.pid)?.pgid;
  const target = now.pgid === c.pid && now.pgid !== ownGroup ? -c.pid : c.pid;
  try {
    process.kill(target, signal);
    return true;
  } catch {
    return false;
  }
}

/** Sends `signal` to every carrier found in one pass; returns the pids signalled. */
export async function signalCarriers(wanted: Wanted, signal: NodeJS.Signals): Promise<number[]> {
  return (await findCarriers(wanted)).filter((c) => signalCarrier(c, signal)).map((c) => c.pid);
}

/**
 * SIGKILLs carriers pass after pass until a pass finds none (a carrier may have started children just
 * before it died: they carry the marker too), for up to `timeoutMs`. Returns every pid killed.
 */
export async function killCarriers(wanted: Wanted, timeoutMs = 2000): Promise<number[]> {
  const killed = new Set<number>();
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await findCarriers(wanted);
    for (const c of found) if (signalCarrier(c, 'SIGKILL')) killed.add(c.pid);
    if (found.length === 0 || Date.now() > deadline) break;
    // A moment for SIGKILL to land: a process still being torn down would be found again.
    await new Promise((r) => setTimeout(r, 15));
  }
  return [...killed].sort((a, b) => a - b);
}

/** The same for the exit handler: a few synchronous passes. */
export function killCarriersSync(wanted: Wanted, passes = 5): number[] {
  const killed = new Set<number>();
  for (let pass = 0; pass < passes; pass++) {
    const found = findCarriersSync(wanted);
    for (const c of found) if (signalCarrier(c, 'SIGKILL')) killed.add(c.pid);
    if (found.length === 0) break;
  }
  return [...killed];
}
