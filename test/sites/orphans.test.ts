import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ProcessRecord } from '../../src/sites/process-records.js';
import { harness, startSupervisor, processesWithEnv, stillRunning, until } from './helpers.js';

const commOf = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
};

test('instances die with their supervisor: after SIGKILL every instance process, grandchildren included, is gone within seconds', async (t) => {
  const site = `orphan-${randomBytes(3).toString('hex')}`;
  const dataDir = await mkdtemp(join(tmpdir(), 'berth-orphans-'));
  t.after(async () => {
    // Should the test fail, leave nothing running behind it either.
    for (const p of processesWithEnv('WEBSITE_SITE_NAME', site))
      if (stillRunning(p)) process.kill(p.pid, 'SIGKILL');
    await rm(dataDir, { recursive: true, force: true });
  });
  // The shell starts a grandchild (sleep) next to the app: PR_SET_PDEATHSIG alone would miss it.
  const started = await startSupervisor(t, dataDir, [
    { name: site, command: 'sleep 3600 & node server.mjs', root: 'api', instances: 2 },
  ]);
  const supervisor = started.child;
  const instances = started.status[0]!.slots[0]!.instances;
  assert.equal(instances.length, 2);
  assert.ok(instances.every((i) => i.state === 'running'));

  const processes = processesWithEnv('WEBSITE_SITE_NAME', site);
  assert.deepEqual(
    new Set(processes.map((p) => p.env.get('WEBSITE_INSTANCE_ID'))),
    new Set(instances.map((i) => i.id)),
  );
  assert.equal(
    processes.filter((p) => commOf(p.pid) === 'sleep').length,
    2,
    `one sleep grandchild per instance: ${processes.map((p) => commOf(p.pid)).join(', ')}`,
  );
  assert.equal(processes.filter((p) => commOf(p.pid) === 'node').length, 2);
  // While they run, each instance's process group is on record for a later run.
  const records = join(dataDir, 'sites', 'processes');
  assert.deepEqual((await readdir(records)).sort(), instances.map((i) => `${i.id}.json`).sort());

  supervisor.kill('SIGKILL');
  const killedAt = Date.now();
  await until(
    () => processes.every((p) => !stillRunning(p)),
    5_000,
    `every instance process to end: ${processes
      .filter(stillRunning)
      .map((p) => `${p.pid} ${commOf(p.pid)}`)
      .join(', ')}`,
  );
  const took = Date.now() - killedAt;
  assert.deepEqual(processesWithEnv('WEBSITE_SITE_NAME', site), [], 'and no new one appeared');
  t.diagnostic(`all ${processes.length} instance processes ended ${took} ms after the supervisor was killed`);

  // The records of the dead run are still there; the next start finds their processes gone and drops them.
  assert.equal((await readdir(records)).length, 2);
  const next = await harness([{ name: site, command: 'node server.mjs', root: 'api', instances: 2 }], {
    dataDir,
  });
  try {
    const ids = next.manager.siteStatus(site).slots[0]!.instances.map((i) => `${i.id}.json`);
    assert.deepEqual(
      (await readdir(records)).sort(),
      ids.sort(),
      'only the records of the new instances are left',
    );
    assert.ok(
      !next.sink.messages({ type: 'platform' }).some((m) => /left running by an earlier Berth/.test(m)),
      'nothing was left to stop',
    );
  } finally {
    await next.close();
  }
  assert.deepEqual(await readdir(records), [], 'a clean stop leaves no record');
});

test('on start, instances a crashed run left behind are stopped, verified by start time or by their instance id; nothing else is touched', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'berth-reap-'));
  const records = join(dataDir, 'sites', 'processes');
  await mkdir(records, { recursive: true });
  const site = `reap-${randomBytes(3).toString('hex')}`;
  const groups: ChildProcess[] = [];
  t.after(async () => {
    for (const g of groups) {
      try {
        process.kill(-g.pid!, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    await rm(dataDir, { recursive: true, force: true });
  });
  const bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  const startTimeOf = (pid: number) => {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
  };
  /** This test's processes of an instance: another test file running beside it may use the same ids. */
  const ofThisSite = (instance: string) =>
    processesWithEnv('WEBSITE_INSTANCE_ID', instance).filter((p) => p.env.get('WEBSITE_SITE_NAME') === site);
  /** A process group like an instance's: a shell leader with a sleeping child, the instance id in the environment. */
  const group = async (instance: string, script = 'sleep 300 & sleep 300') => {
    const child = spawn('/bin/sh', ['-c', script], {
      detached: true,
      stdio: 'ignore',
      env: { PATH: process.env.PATH, WEBSITE_SITE_NAME: site, WEBSITE_INSTANCE_ID: instance },
    });
    groups.push(child);
    await new Promise((r) => child.once('spawn', r));
    // A leader that exits at once (group 4) may be gone before its start time can be read; any number does then.
    let leaderStart = 1;
    try {
      leaderStart = startTimeOf(child.pid!);
    } catch {
      /* exited already */
    }
    await until(
      () => ofThisSite(instance).length >= 2 || child.exitCode !== null,
      5_000,
      `group ${instance}`,
    );
    return { child, pgid: child.pid!, leaderStart };
  };
  // A supervisor that is certainly dead: a process that has exited.
  const gone = spawn('true');
  await new Promise((r) => gone.once('exit', r));
  const deadSupervisor = { pid: gone.pid!, startTime: 1 };
  const me = { pid: process.pid, startTime: startTimeOf(process.pid) };
  const write = (record: ProcessRecord) =>
    writeFile(join(records, `${record.instance}.json`), JSON.stringify(record));

  // 1. Left by a crashed run: the leader's start time matches, so its whole group goes.
  const left = await group('aaaa0001');
  await write({
    instance: 'aaaa0001',
    site,
    slot: 'production',
    pgid: left.pgid,
    startTime: left.leaderStart,
    bootId,
    supervisor: deadSupervisor,
  });
  // 2. Same pgid number, other start time: a reused pid, not ours. Untouched.
  const reused = await group('bbbb0002');
  await write({
    instance: 'bbbb0002',
    site,
    slot: 'production',
    pgid: reused.pgid,
    startTime: reused.leaderStart - 1,
    bootId,
    supervisor: deadSupervisor,
  });
  // 3. Supervised by a live process (another Berth on this data folder): untouched, record kept.
  const owned = await group('cccc0003');
  await write({
    instance: 'cccc0003',
    site,
    slot: 'production',
    pgid: owned.pgid,
    startTime: owned.leaderStart,
    bootId,
    supervisor: me,
  });
  // 4. The leader has exited; a grandchild lingers in the group, known by the instance id in its environment.
  const orphan = await group('dddd0004', 'sleep 300 & exit 0');
  await until(() => orphan.child.exitCode !== null, 5_000, 'the leader of group 4 to exit');
  const lingering = ofThisSite('dddd0004');
  assert.equal(lingering.length, 1);
  await write({
    instance: 'dddd0004',
    site,
    slot: 'production',
    pgid: orphan.pgid,
    startTime: orphan.leaderStart,
    bootId,
    supervisor: deadSupervisor,
  });
  // 5. From an earlier boot: its numbers mean nothing now. Dropped without a signal.
  const earlier = await group('eeee0005');
  await write({
    instance: 'eeee0005',
    site,
    slot: 'production',
    pgid: earlier.pgid,
    startTime: earlier.leaderStart,
    bootId: 'another-boot',
    supervisor: deadSupervisor,
  });
  await writeFile(join(records, 'garbage.json'), '{not json');

  const before = ofThisSite;
  const leftProcesses = before('aaaa0001');
  assert.equal(leftProcesses.length, 3, 'the shell and its two sleeps');
  const h = await harness([], { dataDir });
  t.after(() => h.close());

  assert.ok(
    leftProcesses.every((p) => !stillRunning(p)),
    'the crashed run’s group is gone',
  );
  assert.ok(
    lingering.every((p) => !stillRunning(p)),
    'the lingering grandchild is gone',
  );
  assert.equal(before('bbbb0002').length, 3, 'a reused pid is never killed');
  assert.equal(before('cccc0003').length, 3, 'a live supervisor’s instances are never killed');
  assert.equal(before('eeee0005').length, 3, 'a record from another boot is never acted on');
  assert.deepEqual(await readdir(records), ['cccc0003.json']);
  const warnings = h.sink.messages({ type: 'platform', site });
  assert.equal(warnings.length, 2, warnings.join('\n'));
  assert.match(
    warnings.find((m) => m.includes('aaaa0001'))!,
    new RegExp(
      `^Stopped 3 processes \\(pids [\\d, ]+\\) of instance aaaa0001, left running by an earlier Berth process \\(pid ${deadSupervisor.pid}\\)`,
    ),
  );
  assert.match(
    warnings.find((m) => m.includes('dddd0004'))!,
    new RegExp(`^Stopped 1 process \\(pids ${lingering[0]!.pid}\\) of instance dddd0004`),
  );
});
