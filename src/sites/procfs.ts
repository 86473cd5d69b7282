import { readdirSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { setImmediate as turn } from 'node:timers/promises';

/** What /proc/<pid>/stat tells about a process that Berth needs. */
export interface ProcStat {
  pid: number;
  pgid: number;
  /** One letter: R running, S sleeping, Z zombie (exited, not yet reaped), ... */
  state: string;
  /** Clock ticks after boot at which the process started: with the boot id, it tells a reused pid apart. */
  startTime: number;
}

function parseStat(pid: number, stat: string): ProcStat {
  // Fields after the command name, which is in parentheses and may itself hold spaces and parentheses.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state): pgrp is field 5, starttime field 22.
  return { pid, state: fields[0]!, pgid: Number(fields[2]), startTime: Number(fields[19]) };
}

/** Reads /proc/<pid>/stat; undefined when the process is gone (or /proc is not there). */
export async function procStat(pid: number): Promise<ProcStat | undefined> {
  try {
    return parseStat(pid, await readFile(`/proc/${pid}/stat`, 'latin1'));
  } catch {
    return undefined;
  }
}

/** The same, read synchronously: for scans that read many processes in a row, and for the exit handler. */
export function procStatSync(pid: number): ProcStat | undefined {
  try {
    return parseStat(pid, readFileSync(`/proc/${pid}/stat`, 'latin1'));
  } catch {
    return undefined;
  }
}

/** Whether the process still runs: a zombie (Z) or dead (X) one has exited and only waits to be reaped. */
export const alive = (p: ProcStat) => p.state !== 'Z' && p.state !== 'X';

/** The pids listed in /proc now (empty when there is no /proc). */
export function procPids(): number[] {
  try {
    return readdirSync('/proc')
      .filter((e) => /^\d+$/.test(e))
      .map(Number);
  } catch {
    return [];
  }
}

/**
 * Whether any live process is in group `pgid`. Called on every instance stop, so it reads /proc with
 * synchronous reads, 256 processes per turn of the event loop: about 10 µs of CPU per process, where
 * the promise-based reads cost several times more.
 */
export async function groupHasLiveMembers(pgid: number): Promise<boolean> {
  const pids = procPids();
  for (let i = 0; i < pids.length; i += 256) {
    if (i > 0) await turn();
    for (const pid of pids.slice(i, i + 256)) {
      const p = procStatSync(pid); // undefined: ended meanwhile
      if (p && p.pgid === pgid && alive(p)) return true;
    }
  }
  return false;
}

/** Every live process visible in /proc (zombies have exited already: they only wait to be reaped). */
export async function allProcesses(): Promise<ProcStat[]> {
  const stats = await Promise.all(procPids().map(procStat));
  return stats.filter((s): s is ProcStat => s !== undefined && alive(s));
}

/** Pids whose process group is `pgid`: the shell we started and whatever it started. */
export async function processGroup(pgid: number): Promise<number[]> {
  return (await allProcesses()).filter((p) => p.pgid === pgid).map((p) => p.pid);
}

/** The environment a process started with (readable for our own user's processes only). */
export async function procEnviron(pid: number): Promise<Map<string, string>> {
  const env = new Map<string, string>();
  try {
    for (const entry of (await readFile(`/proc/${pid}/environ`, 'utf8')).split('\0')) {
      const eq = entry.indexOf('=');
      if (eq > 0) env.set(entry.slice(0, eq), entry.slice(eq + 1));
    }
  } catch {
    /* gone, or not ours */
  }
  return env;
}

/** Changes on every boot; start times are only comparable within one boot. */
export async function bootId(): Promise<string> {
  return (await readFile('/proc/sys/kernel/random/boot_id', 'utf8').catch(() => '')).trim();
}
