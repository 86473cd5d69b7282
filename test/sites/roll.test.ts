import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cp, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeployFailed, type SiteManager } from '../../src/sites/index.js';
import { EXAMPLES, call, harness, loadTest, processesWithEnv, until } from './helpers.js';

const versionOf = (body: string) => (JSON.parse(body) as { version: string }).version;
const uniqueSite = (prefix: string) => `${prefix}-${randomBytes(3).toString('hex')}`;

/** The example API with a VERSION file; `serverPrelude` runs before the real server starts. */
async function appVersion(dir: string, version: string, serverPrelude?: string): Promise<string> {
  const folder = join(dir, version);
  await cp(join(EXAMPLES, 'api'), folder, { recursive: true });
  await writeFile(join(folder, 'VERSION'), version);
  if (serverPrelude) {
    await rename(join(folder, 'server.mjs'), join(folder, 'real-server.mjs'));
    await writeFile(join(folder, 'server.mjs'), `${serverPrelude}\nawait import('./real-server.mjs');\n`);
  }
  return folder;
}

interface Sample {
  /** Instances with a live process (distinct WEBSITE_INSTANCE_ID in /proc). */
  processes: number;
  /** Instances the site status API lists (in rotation, warming, draining). */
  listed: number;
  /** In the rotation the front door picks from, per version id. */
  rotation: Map<string, number>;
}

/**
 * Watches a site every ~15 ms through three independent views: the process list, the status API
 * and the rotation, until stopped.
 */
function watchSite(manager: SiteManager, site: string) {
  const samples: Sample[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const processes = new Set(
        processesWithEnv('WEBSITE_SITE_NAME', site).map((p) => p.env.get('WEBSITE_INSTANCE_ID')),
      ).size;
      const listed = manager.siteStatus(site).slots[0]!.instances.length;
      const rotation = new Map<string, number>();
      for (const i of manager.get(site).slot('production').routable())
        rotation.set(i.spec.version, (rotation.get(i.spec.version) ?? 0) + 1);
      samples.push({ processes, listed, rotation });
      await new Promise((r) => setTimeout(r, 15));
    }
  })();
  return {
    samples,
    async stop() {
      running = false;
      await loop;
      return samples;
    },
  };
}

/** The distinct successive (old, new) counts in rotation, e.g. [[3,0],[2,1],[1,2],[0,3]]. */
function rotationSteps(samples: Sample[], oldId: string, newId: string): Array<[number, number]> {
  const steps: Array<[number, number]> = [];
  for (const s of samples) {
    const pair: [number, number] = [s.rotation.get(oldId) ?? 0, s.rotation.get(newId) ?? 0];
    const last = steps.at(-1);
    if (!last || last[0] !== pair[0] || last[1] !== pair[1]) steps.push(pair);
  }
  return steps;
}

test('deploy and restart roll one instance at a time under load: 0 failed requests, at most count + 1 instances, never fewer than count in rotation, old and new versions answer side by side', async (t) => {
  const site = uniqueSite('roll');
  const count = 3;
  const work = await mkdtemp(join(tmpdir(), 'berth-roll-'));
  const h = await harness([
    { name: site, command: 'node server.mjs', root: 'api', instances: count, stopGracePeriod: '4s' },
  ]);
  t.after(async () => {
    await h.close();
    await rm(work, { recursive: true, force: true });
  });
  const port = h.frontdoor.port;
  const host = `${site}.localhost`;
  const answered: string[] = [];
  const load = loadTest(port, host, '/', 6, (body) => answered.push(versionOf(body)));
  const watch = watchSite(h.manager, site);
  await until(() => answered.length > 20, 10_000, 'the load test to get going');

  // A slow request in flight on an old instance must finish although its instance is rolled away.
  const slow = call(port, host, '/slow?ms=2500', { agent: new Agent() });
  const v2 = await appVersion(work, 'v2');
  execFileSync('zip', ['-qr', join(work, 'v2.zip'), '.'], { cwd: v2 });
  const deployed = await h.manager.deploy(site, { kind: 'archive', path: join(work, 'v2.zip') });
  assert.equal(deployed.instances.length, count);
  assert.equal((await slow).status, 200, 'the in-flight request finished during the drain');
  const afterDeploy = answered.length;
  const idsBefore = new Set(h.manager.siteStatus(site).slots[0]!.instances.map((i) => i.id));

  // A restart rolls the same way, with the same version.
  await h.manager.restartSite(site);
  await until(() => answered.length > afterDeploy + 20, 10_000, 'requests after the restart');
  const samples = await watch.stop();
  const stats = await load.stop();

  assert.equal(stats.failed, 0, `failed requests during the roll: ${stats.errors.join(' | ')}`);
  assert.ok(samples.length > 30, `took ${samples.length} samples`);
  const most = (key: 'processes' | 'listed') => Math.max(...samples.map((s) => s[key]));
  assert.equal(
    most('processes'),
    count + 1,
    'the process list never shows more than count + 1 instances (and the roll did start one extra)',
  );
  assert.ok(most('listed') <= count + 1, `the status API listed ${most('listed')} instances`);
  const fewest = Math.min(...samples.map((s) => [...s.rotation.values()].reduce((a, b) => a + b, 0)));
  assert.ok(fewest >= count, `only ${fewest} instances were in rotation at one moment`);

  // One instance at a time: the rotation went 3 old -> 2 old + 1 new -> ... -> 3 new.
  const steps = rotationSteps(samples, 'initial', deployed.version);
  const deploySteps = steps.slice(0, steps.findIndex(([, fresh]) => fresh === count) + 1);
  assert.deepEqual(deploySteps, [
    [3, 0],
    [2, 1],
    [1, 2],
    [0, 3],
  ]);
  // And clients saw it: after the first v2 answer, old answers still came for a while.
  const firstNew = answered.indexOf('v2');
  const lastOld = answered.lastIndexOf('dev');
  assert.ok(
    firstNew > 0 && lastOld > firstNew,
    `v2 first answered at ${firstNew}, dev last at ${lastOld}: the switch was not gradual`,
  );
  assert.ok(
    answered.slice(afterDeploy).every((v) => v === 'v2'),
    'only the new version answers after the deploy',
  );

  const after = h.manager.siteStatus(site).slots[0]!.instances;
  assert.equal(after.length, count);
  assert.ok(
    after.every((i) => i.state === 'running' && i.version === deployed.version && !idsBefore.has(i.id)),
    'the restart replaced every instance',
  );
});

test('a version whose second instance fails to start: the roll stops, the replaced instance is rolled back, the old version keeps serving with no failed request', async (t) => {
  const site = uniqueSite('rollback');
  const count = 2;
  const work = await mkdtemp(join(tmpdir(), 'berth-rollback-'));
  const h = await harness([
    { name: site, command: 'node server.mjs', root: 'api', instances: count, stopGracePeriod: '2s' },
  ]);
  t.after(async () => {
    await h.close();
    await rm(work, { recursive: true, force: true });
  });
  const port = h.frontdoor.port;
  const host = `${site}.localhost`;
  const answered: string[] = [];
  const load = loadTest(port, host, '/', 6, (body) => answered.push(versionOf(body)));
  const watch = watchSite(h.manager, site);
  await until(() => answered.length > 20, 10_000, 'the load test to get going');

  // This build starts once; every later start exits with code 5 (its folder keeps a marker).
  const flaky = await appVersion(
    work,
    'flaky',
    `import { existsSync, writeFileSync } from 'node:fs';
if (existsSync('started-once')) { console.error('this build refuses a second start'); process.exit(5); }
writeFileSync('started-once', '');`,
  );
  await assert.rejects(h.manager.deploy(site, { kind: 'directory', path: flaky }), (error: unknown) => {
    assert.ok(error instanceof DeployFailed);
    assert.equal(error.status, 422);
    assert.match(
      error.message,
      /the running version keeps serving: instance 2 of 2 of the new version did not start: the process exited \(exit code: 5\)/,
    );
    assert.match(error.message, /the 1 instance already replaced was rolled back/);
    assert.match(String(error.extra.startupLog), /_failure\.log$/);
    assert.match((error.extra.hints as string[]).join('\n'), /this build refuses a second start/);
    assert.equal(error.extra.rolledBack, true);
    return true;
  });
  await until(
    () => answered.length > answered.lastIndexOf('flaky') + 20,
    10_000,
    'requests after the rollback',
  );
  const samples = await watch.stop();
  const stats = await load.stop();

  assert.equal(stats.failed, 0, `failed requests during the failed roll: ${stats.errors.join(' | ')}`);
  assert.ok(
    Math.max(...samples.map((s) => s.processes)) <= count + 1,
    'at most count + 1 instances, rollback included',
  );
  assert.ok(
    Math.min(...samples.map((s) => [...s.rotation.values()].reduce((a, b) => a + b, 0))) >= count,
    'never fewer than count in rotation',
  );
  // The first new instance did serve before the second failed; then it was rolled back.
  assert.ok(answered.includes('flaky'), 'the first instance of the new version was in rotation');
  assert.ok(answered.slice(answered.lastIndexOf('flaky') + 1).every((v) => v === 'dev'));
  const instances = h.manager.siteStatus(site).slots[0]!.instances;
  assert.deepEqual(
    instances.map((i) => [i.state, i.version]),
    [
      ['running', 'initial'],
      ['running', 'initial'],
    ],
  );
  // The failed version's folder is gone; the persisted state still names the old version.
  assert.deepEqual(await readdir(join(h.dataDir, 'sites', site, 'deployments')), []);
  const state = JSON.parse(await readFile(join(h.dataDir, 'sites', 'state.json'), 'utf8'));
  assert.equal(state.sites[site].slots.production.version.id, 'initial');
});

test('a roll cut short by a shutdown: the deploy fails with 409, no process is left, and the next start runs the old version and drops unused deployment folders', async (t) => {
  const site = uniqueSite('cut');
  const work = await mkdtemp(join(tmpdir(), 'berth-cut-'));
  const dataDir = await mkdtemp(join(tmpdir(), 'berth-cut-data-'));
  t.after(async () => {
    await rm(work, { recursive: true, force: true });
    await rm(dataDir, { recursive: true, force: true });
  });
  const definition = {
    name: site,
    command: 'node server.mjs',
    root: 'api',
    instances: 2,
    stopGracePeriod: '2s',
  };
  const h = await harness([definition], { dataDir });
  // Slow to warm, so the shutdown meets the roll while its first new instance is still warming.
  const slow = await appVersion(work, 'slow', 'await new Promise((r) => setTimeout(r, 3000));');
  const deploying = h.manager.deploy(site, { kind: 'directory', path: slow });
  // It rejects while the harness closes, before assert.rejects below is listening.
  deploying.catch(() => undefined);
  await until(
    () => h.manager.siteStatus(site).slots[0]!.instances.length === 3,
    10_000,
    'the roll to start a new instance',
  );
  await h.close();
  await assert.rejects(
    deploying,
    (error: Error & { status?: number }) =>
      error.status === 409 &&
      /was stopped while rolling to version .*; it was not deployed/.test(error.message),
  );
  assert.deepEqual(
    processesWithEnv('WEBSITE_SITE_NAME', site),
    [],
    'no process of the site outlives the shutdown',
  );

  // As after a crash mid-roll: a deployment folder no slot uses. The next start removes it and runs the old version.
  const deployments = join(dataDir, 'sites', site, 'deployments');
  await cp(slow, join(deployments, '20260101T000000-abcdef'), { recursive: true });
  const again = await harness([definition], { dataDir });
  try {
    assert.equal(versionOf((await call(again.frontdoor.port, `${site}.localhost`, '/')).body), 'dev');
    assert.deepEqual(await readdir(deployments), []);
  } finally {
    await again.close();
  }
});

test('a rollback that fails too: the instances still on the new version keep serving, the answer says so, and the old version stays the saved one', async (t) => {
  const site = uniqueSite('rollfail');
  const count = 2;
  const work = await mkdtemp(join(tmpdir(), 'berth-rollfail-'));
  const h = await harness([
    { name: site, command: 'node server.mjs', root: 'api', instances: count, stopGracePeriod: '1s' },
  ]);
  t.after(async () => {
    await h.close();
    await rm(work, { recursive: true, force: true });
  });
  const port = h.frontdoor.port;
  const host = `${site}.localhost`;

  // v1 starts only while a file outside its folder exists: once it is gone, v1 can no longer start.
  const allow = join(work, 'v1-may-start');
  await writeFile(allow, '');
  const v1 = await appVersion(
    work,
    'v1',
    `import { existsSync } from 'node:fs';
if (!existsSync(${JSON.stringify(allow)})) { console.error('v1 may not start any more'); process.exit(6); }`,
  );
  const deployed = await h.manager.deploy(site, { kind: 'directory', path: v1 });
  await rm(allow);

  // v2 starts once; its second instance fails, and rolling the first one back to v1 fails too.
  const v2 = await appVersion(
    work,
    'v2',
    `import { existsSync, writeFileSync } from 'node:fs';
if (existsSync('started-once')) { console.error('this build refuses a second start'); process.exit(5); }
writeFileSync('started-once', '');`,
  );
  const answered: string[] = [];
  const load = loadTest(port, host, '/', 4, (body) => answered.push(versionOf(body)));
  await until(() => answered.length > 20, 10_000, 'the load test to get going');
  await assert.rejects(h.manager.deploy(site, { kind: 'directory', path: v2 }), (error: unknown) => {
    assert.ok(error instanceof DeployFailed);
    assert.equal(error.status, 422);
    assert.match(error.message, /failed, part of the slot runs the new version: instance 2 of 2/);
    assert.match(error.message, /rolling back failed too \(the process exited \(exit code: 6\)/);
    assert.match(error.message, /so 1 instance still runs the new version/);
    assert.equal(error.extra.rolledBack, false);
    return true;
  });
  const seenAt = answered.length;
  await until(() => answered.length > seenAt + 20, 10_000, 'requests after the failed rollback');
  const stats = await load.stop();
  assert.equal(stats.failed, 0, `failed requests: ${stats.errors.join(' | ')}`);

  // Still count instances serving: one on v2 (the rollback could not replace it), one on v1.
  const instances = h.manager.siteStatus(site).slots[0]!.instances;
  assert.deepEqual(
    instances.map((i) => i.state),
    ['running', 'running'],
  );
  assert.deepEqual(new Set(answered.slice(seenAt)), new Set(['v1', 'v2']));
  // The saved state names v1 (a restart runs it); v2's folder is kept because an instance runs it.
  const state = JSON.parse(await readFile(join(h.dataDir, 'sites', 'state.json'), 'utf8'));
  assert.equal(state.sites[site].slots.production.version.id, deployed.version);
  assert.equal((await readdir(join(h.dataDir, 'sites', site, 'deployments'))).length, 2);
});
