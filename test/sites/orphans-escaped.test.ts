/**
 * Processes that leave their instance's process group (`setsid`, Node's `spawn({ detached: true })`)
 * are found by the per-start marker in their environment and stopped with the instance: on a stop, a
 * restart, when the supervising Berth is killed (the watcher), and at the next start after a crash
 * (the process records). Processes that only look like them are never touched.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ProcessRecord } from '../../src/sites/process-records.js';
import {
  harness,
  startSupervisor,
  processesWithEnv,
  stillRunning,
  until,
  type LiveProcess,
} from './helpers.js';

const MARKER = 'BERTH_INSTANCE_MARKER';
const statFields = (pid: number) => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
};
const pgidOf = (pid: number) => Number(statFields(pid)[2]);

/** The processes of a site outside the process group of the instance whose leader is `leader`. */
function escapedFrom(site: string, leader: number): LiveProcess[] {
  return processesWithEnv('WEBSITE_SITE_NAME', site).filter((p) => {
    if (p.env.has('DECOY')) return false;
    try {
      return pgidOf(p.pid) !== leader;
    } catch {
      return false;
    }
  });
}

/** `sleep <seconds>` processes with an empty environment (found by their command line: no marker to go by). */
function bareSleeps(seconds: string): LiveProcess[] {
  const found: LiveProcess[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8') !== `sleep\0${seconds}\0`) continue;
      if (readFileSync(`/proc/${entry}/environ`, 'utf8') !== '') continue;
      const fields = statFields(Number(entry));
      if (fields[0] !== 'Z') found.push({ pid: Number(entry), startTime: fields[19]!, env: new Map() });
    } catch {
      /* gone */
    }
  }
  return found;
}

const markerOf = (pid: number) => {
  const entry = readFileSync(`/proc/${pid}/environ`, 'utf8')
    .split('\0')
    .find((e) => e.startsWith(`${MARKER}=`));
  assert.ok(entry, `process ${pid} carries ${MARKER}`);
  return entry.slice(MARKER.length + 1);
};

/**
 * Processes that look like an instance's but are not: the instance's site and id, and the marker with
 * one digit changed, one digit more, under another name, or inside another variable's value.
 */
async function decoys(
  t: TestContext,
  site: string,
  instance: string,
  marker: string,
): Promise<LiveProcess[]> {
  const last = marker.at(-1) === '0' ? '1' : '0';
  const variants: Record<string, string>[] = [
    { [MARKER]: marker.slice(0, -1) + last },
    { [MARKER]: `${marker}0` },
    { [`X_${MARKER}`]: marker },
    { NOTE: `${MARKER}=${marker}` },
  ];
  const tag = `decoy-${randomBytes(4).toString('hex')}`;
  const children: ChildProcess[] = [];
  for (const vars of variants) {
    const child = spawn('sleep', ['1000'], {
      detached: true,
      stdio: 'ignore',
      env: {
        PATH: process.env.PATH,
        WEBSITE_SITE_NAME: site,
        WEBSITE_INSTANCE_ID: instance,
        DECOY: tag,
        ...vars,
      },
    });
    children.push(child);
    await new Promise((r) => child.once('spawn', r));
  }
  t.after(() => children.forEach((c) => c.kill('SIGKILL')));
  await until(() => processesWithEnv('DECOY', tag).length === variants.length, 5_000, 'the decoys');
  return processesWithEnv('DECOY', tag);
}

/** Leaves nothing of the test running, should it fail. */
function sweepAfter(t: TestContext, sites: string[], seconds?: string): void {
  t.after(() => {
    const left = sites.flatMap((s) =>
      processesWithEnv('WEBSITE_SITE_NAME', s).filter((p) => !p.env.has('DECOY')),
    );
    for (const p of [...left, ...(seconds ? bareSleeps(seconds) : [])])
      if (stillRunning(p)) process.kill(p.pid, 'SIGKILL');
  });
}

const names = (prefix: string) => {
  const tag = randomBytes(3).toString('hex');
  return {
    sh: `${prefix}-sh-${tag}`,
    node: `${prefix}-node-${tag}`,
    seconds: String(100_000 + randomInt(800_000)),
  };
};

const sitesOf = (n: ReturnType<typeof names>) => [
  {
    name: n.sh,
    command: 'setsid sleep 1000 & node server.mjs',
    root: 'api',
    instances: 1,
    stopGracePeriod: '2s',
  },
  {
    name: n.node,
    command: 'node server.mjs',
    root: 'detached',
    instances: 1,
    stopGracePeriod: '2s',
    appSettings: { SLEEP_SECONDS: n.seconds },
  },
];

/** Waits until both sites' escaped processes are there and returns them. */
async function escapedOfBoth(n: ReturnType<typeof names>, shLeader: number, nodeLeader: number) {
  // sh site: the setsid sleep. node site: the node that ignores SIGTERM, the sh leading its own group
  // and its sleep (the other sleep has an empty environment and is counted apart).
  await until(
    () =>
      escapedFrom(n.sh, shLeader).length === 1 &&
      escapedFrom(n.node, nodeLeader).length === 3 &&
      bareSleeps(n.seconds).length === 1,
    10_000,
    'the escaped processes to start',
  );
  return {
    sh: escapedFrom(n.sh, shLeader),
    node: escapedFrom(n.node, nodeLeader),
    bare: bareSleeps(n.seconds),
  };
}

test('stop and restart stop the processes an instance started outside its group (setsid, detached), and nothing that only looks like them', async (t) => {
  const n = names('esc');
  sweepAfter(t, [n.sh, n.node], n.seconds);
  const h = await harness(sitesOf(n));
  let closed = false;
  t.after(() => (closed ? undefined : h.close()));
  const instanceOf = (site: string) => h.manager.siteStatus(site).slots[0]!.instances[0]!;
  const sh = instanceOf(n.sh);
  const node = instanceOf(n.node);
  const escaped = await escapedOfBoth(n, sh.pid!, node.pid!);
  for (const p of [...escaped.sh, ...escaped.node])
    assert.equal(p.env.get('WEBSITE_INSTANCE_ID'), p.env.get('WEBSITE_SITE_NAME') === n.sh ? sh.id : node.id);
  const marker = markerOf(sh.pid!);
  assert.match(marker, /^[0-9a-f]{32}$/);
  assert.equal(markerOf(escaped.sh[0]!.pid), marker, 'the setsid child carries the marker of its start');
  const lookalikes = await decoys(t, n.sh, sh.id, marker);

  // A restart rolls the instance: the old one's escaped process goes with it; the new start has its own marker.
  await h.manager.restartSite(n.sh);
  assert.deepEqual(escaped.sh.filter(stillRunning), [], 'the old instance’s setsid child is gone');
  const next = instanceOf(n.sh);
  assert.notEqual(next.pid, sh.pid);
  await until(() => escapedFrom(n.sh, next.pid!).length === 1, 10_000, 'the new instance’s setsid child');
  const nextEscaped = escapedFrom(n.sh, next.pid!);
  assert.notEqual(markerOf(next.pid!), marker, 'every start has its own marker');

  // A stop returns only once they are gone, the one that ignores SIGTERM and the one without a marker included.
  await h.manager.stopSite(n.node);
  assert.deepEqual(escaped.node.filter(stillRunning), [], 'the detached children of the node app are gone');
  assert.deepEqual(escaped.bare.filter(stillRunning), [], 'the child without a marker went with its group');

  await h.close();
  closed = true;
  assert.deepEqual(nextEscaped.filter(stillRunning), [], 'stopping Berth’s sites stops them too');
  assert.equal(lookalikes.filter(stillRunning).length, 4, 'no look-alike was touched');

  const platform = h.sink.messages({ type: 'platform' });
  assert.ok(
    platform.some((m) =>
      new RegExp(`^Sent SIGTERM to 1 process of instance ${sh.id} outside its process group`).test(m),
    ),
    platform.join('\n'),
  );
  assert.ok(platform.some((m) => m.startsWith(`Sent SIGKILL to `) && m.includes(`instance ${node.id}`)));
  const everything = JSON.stringify(h.sink.lines);
  assert.ok(!everything.includes(marker), 'the marker’s value is never logged');
});

test('when the supervisor is killed with SIGKILL, the watcher stops the escaped processes too, and no look-alike', async (t) => {
  const n = names('escdie');
  sweepAfter(t, [n.sh, n.node], n.seconds);
  const dataDir = await mkdtemp(join(tmpdir(), 'berth-escaped-'));
  t.after(() => rm(dataDir, { recursive: true, force: true }));
  const { child, status } = await startSupervisor(t, dataDir, sitesOf(n));
  const instanceOf = (site: string) => status.find((s) => s.name === site)!.slots[0]!.instances[0]!;
  const sh = instanceOf(n.sh);
  const node = instanceOf(n.node);
  const escaped = await escapedOfBoth(n, sh.pid!, node.pid!);
  const lookalikes = await decoys(t, n.sh, sh.id, markerOf(sh.pid!));
  const all = [...escaped.sh, ...escaped.node, ...escaped.bare];
  const members = [n.sh, n.node]
    .flatMap((s) => processesWithEnv('WEBSITE_SITE_NAME', s))
    .filter((p) => !p.env.has('DECOY') && !all.some((e) => e.pid === p.pid));
  assert.ok(members.length >= 6, `per instance at least its shell, watcher and node: ${members.length}`);

  child.kill('SIGKILL');
  const killedAt = Date.now();
  await until(
    () => [...all, ...members].every((p) => !stillRunning(p)),
    5_000,
    `every instance process, escaped ones included, to end: ${[...all, ...members]
      .filter(stillRunning)
      .map((p) => p.pid)
      .join(', ')}`,
  );
  t.diagnostic(
    `${all.length} escaped and ${members.length} other processes ended ${Date.now() - killedAt} ms after SIGKILL`,
  );
  // Nothing but the watchers ran: SIGKILL runs no exit handler, and no Berth has started since.
  assert.equal(lookalikes.filter(stillRunning).length, 4, 'no look-alike was touched');
});

test('when Berth exits without stopping its sites, its exit handler stops the escaped processes too', async (t) => {
  const n = names('escexit');
  sweepAfter(t, [n.sh, n.node], n.seconds);
  const dataDir = await mkdtemp(join(tmpdir(), 'berth-escaped-'));
  t.after(() => rm(dataDir, { recursive: true, force: true }));
  const { child, status } = await startSupervisor(t, dataDir, sitesOf(n), 'exit');
  const instanceOf = (site: string) => status.find((s) => s.name === site)!.slots[0]!.instances[0]!;
  const escaped = await escapedOfBoth(n, instanceOf(n.sh).pid!, instanceOf(n.node).pid!);
  const all = [...escaped.sh, ...escaped.node, ...escaped.bare];
  const exited = new Promise((r) => child.once('exit', r));
  child.stdin!.end('exit\n');
  await exited;
  // The exit handler kills the groups first, watchers included, so only its own scan can have done this;
  // it is synchronous, so it is done when the process has exited.
  assert.deepEqual(
    all.filter(stillRunning).map((p) => p.pid),
    [],
    'no escaped process outlives the exit',
  );
});

test('on start, processes outside the group that carry a crashed run’s marker are stopped; other markers and bad records are not acted on', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'berth-reap-escaped-'));
  const records = join(dataDir, 'sites', 'processes');
  await mkdir(records, { recursive: true });
  const site = `reapesc-${randomBytes(3).toString('hex')}`;
  sweepAfter(t, [site]);
  t.after(() => rm(dataDir, { recursive: true, force: true }));
  const bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  // A group leader and a supervisor that have certainly exited.
  const exitedPid = async () => {
    const gone = spawn('true');
    await new Promise((r) => gone.once('exit', r));
    return gone.pid!;
  };
  const supervisor = { pid: await exitedPid(), startTime: 1 };
  const sleeper = async (instance: string, vars: Record<string, string>) => {
    const child = spawn('sleep', ['1000'], {
      detached: true,
      stdio: 'ignore',
      env: { PATH: process.env.PATH, WEBSITE_SITE_NAME: site, WEBSITE_INSTANCE_ID: instance, ...vars },
    });
    t.after(() => child.kill('SIGKILL'));
    await new Promise((r) => child.once('spawn', r));
    // By pid: another test file running beside this one may use the same instance id.
    const mine = () => processesWithEnv('WEBSITE_INSTANCE_ID', instance).find((p) => p.pid === child.pid);
    await until(() => mine() !== undefined, 5_000, instance);
    return mine()!;
  };
  const marker = randomBytes(16).toString('hex');
  const record = (instance: string, extra: Partial<ProcessRecord> & Record<string, unknown>) =>
    writeFile(
      join(records, `${instance}.json`),
      JSON.stringify({ instance, site, slot: 'production', bootId, supervisor, ...extra }),
    );
  // 1. The group is gone; a process that left it (in a session of its own) carries the marker.
  const escaped = await sleeper('aaaa0001', { [MARKER]: marker });
  await record('aaaa0001', { pgid: await exitedPid(), startTime: 1, marker });
  // 2. Another instance's marker, one digit apart: untouched.
  const other = await sleeper('bbbb0002', {
    [MARKER]: marker.slice(0, -1) + (marker.at(-1) === '0' ? '1' : '0'),
  });
  // 3. A record whose marker is not 32 hex digits is refused as a whole: an empty marker must not match.
  const empty = await sleeper('cccc0003', { [MARKER]: '' });
  await record('cccc0003', { pgid: await exitedPid(), startTime: 1, marker: '' });

  const h = await harness([], { dataDir });
  t.after(() => h.close());
  assert.equal(stillRunning(escaped), false, 'the escaped process of the crashed run is gone');
  assert.equal(stillRunning(other), true, 'another marker is not ours');
  assert.equal(stillRunning(empty), true, 'a record with a bad marker is not acted on');
  const warnings = h.sink.messages({ type: 'platform', site });
  assert.equal(warnings.length, 1, warnings.join('\n'));
  assert.match(
    warnings[0]!,
    new RegExp(
      `^Stopped 1 process \\(pids ${escaped.pid}\\) of instance aaaa0001 \\(1 of them outside its process group\\), left running by an earlier Berth process \\(pid ${supervisor.pid}\\)`,
    ),
  );
  assert.ok(!warnings[0]!.includes(marker), 'the marker’s value is never logged');
});
