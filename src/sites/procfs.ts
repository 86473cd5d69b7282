import { readdir, readFile } from 'node:fs/promises';

/** What /proc/<pid>/stat tells about a process that Berth needs. */
export interface ProcStat {
  pid: number;
  pgid: number;
  /** One letter: R running, S sleeping, Z zombie (exited, not yet reaped), ... */
  state: string;
  /** Clock ticks after boot at which the process started: with the boot id, it tells a reused pid apart. */
  startTime: number;
}

/** Reads /proc/<pid>/stat; undefined when the process is gone (or /proc is not there). */
export async function procStat(pid: number): Promise<ProcStat | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may itself hold spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state): pgrp is field 5, starttime field 22.
    return { pid, state: fields[0]!, pgid: Number(fields[2]), startTime: Number(fields[19]) };
  } catch {
    return undefined;
  }
}

/** Every live process visible in /proc (zombies have exited already: they only wait to be reaped). */
export async function allProcesses(): Promise<ProcStat[]> {
  let entries: string[];
  try {
    entries = await readdir('/proc');
  } catch {
    return [];
  }
  const stats = await Promise.all(entries.filter((e) => /^\d+$/.test(e)).map((pid) => procStat(Number(pid))));
  return stats.filter((s): s is ProcStat => s !== undefined && s.state !== 'Z' && s.state !== 'X');
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
