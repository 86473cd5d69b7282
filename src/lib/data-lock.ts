import { linkSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The process holding a data folder, as its lock file says. */
export interface LockHolder {
  pid: number;
  command: string;
  since: string;
}

/** A data folder is already in use by a live process. */
export class DataDirInUseError extends Error {
  constructor(
    readonly dataDir: string,
    readonly holder: LockHolder,
  ) {
    super(
      `the data folder ${dataDir} is in use by another Berth process (pid ${holder.pid}, "${holder.command}", since ${holder.since}); stop it first, or give this one another data folder (--data-dir)`,
    );
    this.name = 'DataDirInUseError';
  }
}

/** The holder is still running: its pid is alive and, where /proc says, is a Berth (not a reused pid). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false; // EPERM: alive, someone else's
  }
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'latin1').includes('berth');
  } catch {
    return true; // no /proc here: the pid is all there is to go by
  }
}

function readHolder(file: string): LockHolder | undefined {
  try {
    const holder = JSON.parse(readFileSync(file, 'utf8')) as LockHolder;
    return Number.isInteger(holder.pid) && holder.pid > 0 ? holder : undefined;
  } catch {
    return undefined; // gone, or half written by a holder that died while writing it
  }
}

/**
 * Takes `<dataDir>/berth.lock` for this process: holding the pid, created only if absent, so a second
 * `berth up` on the same folder fails at once naming the first. A lock whose process is gone (a
 * crash, kill -9) is taken over. Returns the release function (also run at exit).
 */
export function lockDataDir(dataDir: string, command = process.argv.slice(1).join(' ')): () => void {
  mkdirSync(dataDir, { recursive: true });
  const file = join(dataDir, 'berth.lock');
  const me: LockHolder = { pid: process.pid, command, since: new Date().toISOString() };
  // Written whole to a file of its own, then linked into place (link fails if the lock exists): no
  // other process ever reads a half-written lock.
  const mine = `${file}.${process.pid}`;
  writeFileSync(mine, `${JSON.stringify(me)}\n`, { mode: 0o600 });
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        linkSync(mine, file);
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 2) throw error;
        const holder = readHolder(file);
        if (holder && holder.pid !== process.pid && alive(holder.pid))
          throw new DataDirInUseError(dataDir, holder);
        takeOver(file, holder);
      }
    }
  } finally {
    rmSync(mine, { force: true });
  }
  const release = () => {
    if (readHolder(file)?.pid === process.pid) rmSync(file, { force: true });
    process.off('exit', release);
  };
  process.on('exit', release);
  return release;
}

/**
 * Moves a stale lock aside. When what was moved is not the stale lock read a moment ago (another
 * Berth took it over in between), that fresh lock is put back, and the next attempt finds it.
 */
function takeOver(file: string, stale: LockHolder | undefined): void {
  const aside = `${file}.stale-${process.pid}`;
  try {
    renameSync(file, aside);
  } catch {
    return; // already moved by another process
  }
  const moved = readHolder(aside);
  if (moved && moved.pid !== stale?.pid) {
    try {
      linkSync(aside, file);
    } catch {
      /* a third process holds it now: the next attempt reads that one */
    }
  }
  rmSync(aside, { force: true });
}
