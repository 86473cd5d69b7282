import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { findCarriers, isMarker, signalCarrier, type Carrier } from './escaped.js';
import { allProcesses, bootId, procEnviron, procStat, type ProcStat } from './procfs.js';

/** `<dataDir>/sites/processes/<instance>.json`: a running instance's process group and who supervises it. */
export interface ProcessRecord {
  instance: string;
  site: string;
  slot: string;
  /** The group leader's pid, which is the group's id (instances run in their own group). */
  pgid: number;
  /** The leader's start time (clock ticks after boot); absent if it exited before it could be read. */
  startTime?: number;
  bootId: string;
  /**
   * The start's marker (escaped.ts), which its processes that left the group carry in their
   * environment; absent in records of an older Berth. The file is mode 0600; the value is never logged.
   */
  marker?: string;
  /** The Berth process that started it. */
  supervisor: { pid: number; startTime?: number };
}

/** A group of processes a previous Berth left running, stopped by `reapLeftovers`. */
export interface Reaped {
  record: ProcessRecord;
  pids: number[];
  /** Those of `pids` that were outside the group (found by the marker). */
  escaped: number[];
}

/**
 * Records of the process groups this Berth runs, so that the next start can find and stop the ones a
 * crashed run left behind (normally the watcher in each group already killed them; see instance.ts).
 * A pid is only ever signalled after it was verified to be the same process: the leader by its start
 * time within the same boot, any other member by the instance id in its environment, a process outside
 * the group by the start's marker in its environment and its start time read right before the signal.
 */
export class ProcessRecords {
  /** Per instance, the last write or removal, so a removal never overtakes the write before it. */
  private readonly chains = new Map<string, Promise<void>>();
  private self?: Promise<{ bootId: string; supervisor: ProcessRecord['supervisor'] }>;

  constructor(readonly dir: string) {}

  private identity() {
    this.self ??= (async () => ({
      bootId: await bootId(),
      supervisor: { pid: process.pid, startTime: (await procStat(process.pid))?.startTime },
    }))();
    return this.self;
  }

  private chain(instance: string, work: () => Promise<void>): Promise<void> {
    const next = (this.chains.get(instance) ?? Promise.resolve()).then(work).catch(() => undefined);
    this.chains.set(instance, next);
    void next.then(() => {
      if (this.chains.get(instance) === next) this.chains.delete(instance);
    });
    return next;
  }

  /** Notes a freshly spawned group. Never throws: a missing record only weakens the crash cleanup. */
  add(entry: { instance: string; site: string; slot: string; pgid: number; marker: string }): Promise<void> {
    return this.chain(entry.instance, async () => {
      const [self, leader] = await Promise.all([this.identity(), procStat(entry.pgid)]);
      const record: ProcessRecord = { ...entry, ...(leader ? { startTime: leader.startTime } : {}), ...self };
      await mkdir(this.dir, { recursive: true, mode: 0o700 });
      await writeFile(this.file(entry.instance), JSON.stringify(record), { mode: 0o600 });
    });
  }

  /** The group has ended (or was killed). */
  remove(instance: string): Promise<void> {
    return this.chain(instance, () => rm(this.file(instance), { force: true }));
  }

  private file(instance: string): string {
    return join(this.dir, `${instance.replace(/[^a-z0-9-]/gi, '_')}.json`);
  }

  /**
   * Stops every recorded group whose supervisor is no longer running (SIGKILL: its owner is gone, so
   * nobody waits for a graceful end) and forgets the records. Records of a live supervisor (another
   * Berth on the same data folder) are left alone; records whose processes are gone are removed.
   */
  async reapLeftovers(): Promise<Reaped[]> {
    let names: string[];
    try {
      names = (await readdir(this.dir)).filter((n) => n.endsWith('.json'));
    } catch {
      return [];
    }
    const { bootId: boot } = await this.identity();
    // Never our own group, whatever a record says.
    const ownGroup = (await procStat(process.pid))?.pgid;
    const reaped: Reaped[] = [];
    for (const name of names) {
      const path = join(this.dir, name);
      const record = await readFile(path, 'utf8')
        .then((text) => parseRecord(text))
        .catch(() => undefined);
      if (record && record.bootId === boot && record.pgid !== ownGroup) {
        const members = await verifiedMembers(record, await allProcesses());
        const escaped = await escapedOf(record);
        const found = members.pids.length + escaped.length > 0;
        if (found && (await isAlive(record.supervisor))) continue;
        if (found) reaped.push({ record, ...(await killUntilGone(record, members, escaped)) });
      }
      await rm(path, { force: true });
    }
    return reaped;
  }
}

function parseRecord(text: string): ProcessRecord | undefined {
  const r = JSON.parse(text) as Partial<ProcessRecord>;
  const ok =
    typeof r.instance === 'string' &&
    typeof r.site === 'string' &&
    typeof r.slot === 'string' &&
    Number.isInteger(r.pgid) &&
    r.pgid! > 1 &&
    typeof r.bootId === 'string' &&
    Number.isInteger(r.supervisor?.pid) &&
    (r.marker === undefined || isMarker(r.marker));
  return ok ? (r as ProcessRecord) : undefined;
}

async function isAlive(who: { pid: number; startTime?: number }): Promise<boolean> {
  if (who.pid === process.pid) return true;
  const stat = await procStat(who.pid);
  return stat !== undefined && (who.startTime === undefined || stat.startTime === who.startTime);
}

/**
 * The processes of the record's group that are certainly the instance's: all of them when the leader
 * is alive with the recorded start time (the group is the one we made); otherwise, those whose
 * environment carries the instance's id and site. A leader with another start time means the number
 * was reused: nothing there is ours.
 */
async function verifiedMembers(
  record: ProcessRecord,
  processes: ProcStat[],
): Promise<{ pids: number[]; leaderVerified: boolean }> {
  const group = processes.filter((p) => p.pgid === record.pgid && p.pid !== process.pid);
  const leader = group.find((p) => p.pid === record.pgid);
  if (leader && record.startTime !== undefined) {
    return leader.startTime === record.startTime
      ? { pids: group.map((p) => p.pid), leaderVerified: true }
      : { pids: [], leaderVerified: false };
  }
  const pids: number[] = [];
  for (const p of group) {
    const env = await procEnviron(p.pid);
    if (env.get('WEBSITE_INSTANCE_ID') === record.instance && env.get('WEBSITE_SITE_NAME') === record.site)
      pids.push(p.pid);
  }
  return { pids, leaderVerified: false };
}

/**
 * Processes that carry the record's marker, in the group or not (after a crash, all of them are the
 * instance's leftovers; the group's members are simply signalled twice).
 */
async function escapedOf(record: ProcessRecord): Promise<Carrier[]> {
  if (!record.marker) return [];
  return (await findCarriers(new Map([[record.marker, -1]]))).filter((c) => c.pgid !== record.pgid);
}

/**
 * SIGKILLs the verified processes (the whole group when its leader is verified) and the marker's
 * carriers until none is left, for up to 2 s.
 */
async function killUntilGone(
  record: ProcessRecord,
  first: { pids: number[]; leaderVerified: boolean },
  firstEscaped: Carrier[],
): Promise<{ pids: number[]; escaped: number[] }> {
  const killed = new Set<number>();
  const escaped = new Set<number>();
  let members = first;
  let outside = firstEscaped;
  for (let round = 0; members.pids.length + outside.length > 0 && round < 40; round++) {
    if (members.leaderVerified) signal(-record.pgid);
    else members.pids.forEach((pid) => signal(pid));
    members.pids.forEach((pid) => killed.add(pid));
    for (const c of outside) {
      if (!signalCarrier(c, 'SIGKILL')) continue;
      killed.add(c.pid);
      escaped.add(c.pid);
    }
    await new Promise((r) => setTimeout(r, 50));
    members = await verifiedMembers(record, await allProcesses());
    outside = await escapedOf(record);
  }
  const sorted = (set: Set<number>) => [...set].sort((a, b) => a - b);
  return { pids: sorted(killed), escaped: sorted(escaped) };
}

function signal(target: number): void {
  try {
    process.kill(target, 'SIGKILL');
  } catch {
    /* already gone */
  }
}
