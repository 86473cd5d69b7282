// Berth and Debian's docker-registry (CNCF distribution 2.8.2) on loopback, skopeo copying between
// them in both directions: digests must survive every hop.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  layoutManifestDigest,
  run,
  sha256,
  umociImage,
  writeMultiArchLayout,
} from './helpers/registry-images.js';
import {
  missingTools,
  startBerth,
  startDistribution,
  type RunningRegistry,
} from './helpers/registry-servers.js';

const skip = missingTools('skopeo', 'umoci', 'docker-registry');
const TLS = ['--src-tls-verify=false', '--dest-tls-verify=false'];

async function rawDigest(registry: RunningRegistry, ref: string): Promise<string> {
  return sha256(
    await run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${registry.host}/${ref}`]),
  );
}

async function configDigest(registry: RunningRegistry, ref: string): Promise<string> {
  return sha256(
    await run('skopeo', [
      'inspect',
      '--config',
      '--raw',
      '--tls-verify=false',
      `docker://${registry.host}/${ref}`,
    ]),
  );
}

describe('Berth and docker-registry 2.8 side by side', { skip }, () => {
  let work: string;
  let berth: RunningRegistry;
  let dist: RunningRegistry;
  let layout: string;

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'berth-e2e-dist-'));
    [berth, dist, layout] = await Promise.all([
      startBerth(join(work, 'berth')),
      startDistribution(join(work, 'dist')),
      umociImage(join(work, 'image'), 'v1'),
    ]);
  });
  after(async () => {
    await Promise.all([berth?.stop(), dist?.stop()]);
    rmSync(work, { recursive: true, force: true });
  });

  test('Berth → distribution → Berth keeps the manifest and config digests', async () => {
    const expected = layoutManifestDigest(layout, 'v1');
    await run('skopeo', [
      'copy',
      '-q',
      '--dest-tls-verify=false',
      `oci:${layout}:v1`,
      `docker://${berth.host}/demo/app:v1`,
    ]);
    await run('skopeo', [
      'copy',
      '-q',
      ...TLS,
      `docker://${berth.host}/demo/app:v1`,
      `docker://${dist.host}/mirror/app:v1`,
    ]);
    assert.equal(await rawDigest(dist, 'mirror/app:v1'), expected);
    await run('skopeo', [
      'copy',
      '-q',
      ...TLS,
      `docker://${dist.host}/mirror/app:v1`,
      `docker://${berth.host}/back/app:v1`,
    ]);
    assert.equal(await rawDigest(berth, 'back/app:v1'), expected);
    assert.equal(await configDigest(berth, 'back/app:v1'), await configDigest(dist, 'mirror/app:v1'));
  });

  test('distribution → Berth with skopeo sync copies every tag of a repository', async () => {
    await run('skopeo', [
      'copy',
      '-q',
      '--dest-tls-verify=false',
      `oci:${layout}:v1`,
      `docker://${dist.host}/team/svc:v1`,
    ]);
    await run('skopeo', [
      'copy',
      '-q',
      '--dest-tls-verify=false',
      `oci:${layout}:v1`,
      `docker://${dist.host}/team/svc:v2`,
    ]);
    await run('skopeo', [
      'sync',
      '--src',
      'docker',
      '--dest',
      'docker',
      ...TLS,
      `${dist.host}/team/svc`,
      `${berth.host}/synced`,
    ]);
    const tags = JSON.parse(
      await run('skopeo', ['list-tags', '--tls-verify=false', `docker://${berth.host}/synced/svc`]),
    ) as { Tags: string[] };
    assert.deepEqual(tags.Tags.sort(), ['v1', 'v2']);
    for (const tag of ['v1', 'v2'])
      assert.equal(await rawDigest(berth, `synced/svc:${tag}`), await rawDigest(dist, `team/svc:${tag}`));
  });

  test('a multi-architecture index travels both ways with --all', async () => {
    const multi = join(work, 'multi');
    const { indexDigest, manifestDigests } = writeMultiArchLayout(multi, 'v1', [
      { os: 'linux', architecture: 'amd64' },
      { os: 'linux', architecture: 'arm64' },
      { os: 'linux', architecture: 's390x' },
    ]);
    await run('skopeo', [
      'copy',
      '-q',
      '--all',
      '--dest-tls-verify=false',
      `oci:${multi}:v1`,
      `docker://${dist.host}/multi/app:v1`,
    ]);
    await run('skopeo', [
      'copy',
      '-q',
      '--all',
      ...TLS,
      `docker://${dist.host}/multi/app:v1`,
      `docker://${berth.host}/multi/app:v1`,
    ]);
    assert.equal(await rawDigest(berth, 'multi/app:v1'), indexDigest);
    await run('skopeo', [
      'copy',
      '-q',
      '--all',
      ...TLS,
      `docker://${berth.host}/multi/app:v1`,
      `docker://${dist.host}/multi/again:v1`,
    ]);
    assert.equal(await rawDigest(dist, 'multi/again:v1'), indexDigest);
    for (const digest of manifestDigests) {
      assert.equal(await rawDigest(dist, `multi/again@${digest}`), digest);
      assert.equal(await rawDigest(berth, `multi/app@${digest}`), digest);
    }
  });
});
