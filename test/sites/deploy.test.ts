import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeployFailed } from '../../src/sites/index.js';
import { HttpError } from '../../src/lib/problem.js';
import { EXAMPLES, apiSite, call, harness, loadTest } from './helpers.js';

/** The example API with a VERSION file, as a folder. */
async function appVersion(dir: string, version: string, app = 'api'): Promise<string> {
  const folder = join(dir, version);
  await cp(join(EXAMPLES, app), folder, { recursive: true });
  await writeFile(join(folder, 'VERSION'), version);
  return folder;
}

const versionOf = (body: string) => (JSON.parse(body) as { version: string }).version;

test('deploys from a zip, a tarball and a folder with a rolling switch that fails no request; a broken package keeps the running version', async (t) => {
  const work = await mkdtemp(join(tmpdir(), 'berth-deploy-'));
  const h = await harness([apiSite({ instances: 2 })]);
  t.after(async () => {
    await h.close();
    await rm(work, { recursive: true, force: true });
  });
  const port = h.frontdoor.port;
  const load = loadTest(port, 'api.localhost');

  const v2 = await appVersion(work, 'v2');
  execFileSync('zip', ['-qr', join(work, 'v2.zip'), '.'], { cwd: v2 });
  const result = await h.manager.deploy('api', { kind: 'archive', path: join(work, 'v2.zip') });
  assert.equal(result.instances.length, 2);
  assert.ok(result.instances.every((i) => i.ok));
  assert.equal(versionOf((await call(port, 'api.localhost', '/')).body), 'v2');

  // A tarball holding one top-level folder runs from inside it.
  await appVersion(work, 'v3');
  execFileSync('tar', ['-czf', join(work, 'v3.tar.gz'), 'v3'], { cwd: work });
  await h.manager.deploy('api', { kind: 'archive', path: join(work, 'v3.tar.gz') });
  assert.equal(versionOf((await call(port, 'api.localhost', '/')).body), 'v3');

  // A package whose app crashes at start: the deploy fails with the startup log and hints, v3 keeps serving.
  const broken = await appVersion(work, 'broken', 'crash');
  await assert.rejects(h.manager.deploy('api', { kind: 'directory', path: broken }), (error: unknown) => {
    assert.ok(error instanceof DeployFailed);
    assert.equal(error.status, 422);
    assert.match(error.message, /the running version keeps serving/);
    assert.match(String(error.extra.startupLog), /^\d{4}_\d\d_\d\d_[0-9a-f]{8}_failure\.log$/);
    assert.match((error.extra.hints as string[]).join('\n'), /exited with code 3/);
    return true;
  });
  assert.equal(versionOf((await call(port, 'api.localhost', '/')).body), 'v3');

  // Not an archive, an archive escaping its folder, a missing path: 400 before anything starts.
  await writeFile(join(work, 'garbage.zip'), 'this is not a zip file at all');
  await assert.rejects(
    h.manager.deploy('api', { kind: 'archive', path: join(work, 'garbage.zip') }),
    (e: unknown) => e instanceof HttpError && e.status === 400 && /neither a zip nor a tar/.test(e.message),
  );
  execFileSync('python3', [
    '-c',
    `import zipfile; z = zipfile.ZipFile('${join(work, 'evil.zip')}', 'w'); z.writestr('../../evil.txt', 'x'); z.close()`,
  ]);
  await assert.rejects(
    h.manager.deploy('api', { kind: 'archive', path: join(work, 'evil.zip') }),
    (e: unknown) =>
      e instanceof HttpError &&
      e.status === 400 &&
      /outside its folder: \.\.\/\.\.\/evil\.txt/.test(e.message),
  );
  await assert.rejects(
    h.manager.deploy('api', { kind: 'directory', path: join(work, 'nope') }),
    (e: unknown) => e instanceof HttpError && e.status === 400,
  );

  const stats = await load.stop();
  assert.equal(stats.failed, 0, `failed requests during deploys: ${stats.errors.join(' | ')}`);
  assert.ok(stats.ok > 50, `load test made ${stats.ok} requests`);
  assert.equal(versionOf((await call(port, 'api.localhost', '/')).body), 'v3');
  const running = h.manager.siteStatus('api').slots[0]!.instances;
  assert.equal(running.length, 2);
  assert.ok(running.every((i) => i.state === 'running' && i.version === running[0]!.version));
});

test('scale out and in, stop and start, restart without dropping requests; state survives a manager restart', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'berth-scale-'));
  t.after(() => rm(dataDir, { recursive: true, force: true }));
  const h = await harness([apiSite({ instances: 1 })], { dataDir });
  const port = h.frontdoor.port;
  const load = loadTest(port, 'api.localhost');
  await h.manager.scale('api', 3);
  await h.manager.waitUntilReady();
  assert.equal(
    h.manager.siteStatus('api').slots[0]!.instances.filter((i) => i.state === 'running').length,
    3,
  );
  await h.manager.restartSite('api');
  await h.manager.scale('api', 2);
  const stats = await load.stop();
  assert.equal(stats.failed, 0, stats.errors.join(' | '));
  await assert.rejects(h.manager.scale('api', 0), /whole number from 1 to 64/);

  await h.manager.stopSite('api');
  const stopped = await call(port, 'api.localhost', '/');
  assert.equal(stopped.status, 503);
  assert.match(
    JSON.parse(stopped.body).detail,
    /site api \(slot production\) is stopped \(berth webapp start --name api\)$/,
  );
  await h.manager.startSite('api');
  await h.manager.waitUntilReady();
  assert.equal((await call(port, 'api.localhost', '/')).status, 200);
  await h.manager.createSite({
    name: 'extra',
    command: 'node server.mjs',
    root: join(EXAMPLES, 'api'),
    appSettings: { GREETING: 'kept' },
  });
  await h.close();

  // The count chosen at run time is kept across a restart of Berth.
  const again = await harness([apiSite({ instances: 1 })], { dataDir });
  t.after(() => again.close());
  assert.equal(again.manager.siteStatus('api').slots[0]!.instances.length, 2);
  // So is a site created at run time, with its settings.
  await again.manager.waitUntilReady(20_000, ['extra']);
  assert.equal(JSON.parse((await call(again.frontdoor.port, 'extra.localhost', '/')).body).greeting, 'kept');
});
