// buildah (no daemon) builds an image from scratch, pushes it to `berth registry serve`, pulls it
// back, and pushes a two-platform manifest list with `manifest push --all`.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, sha256, writeMultiArchLayout } from './helpers/registry-images.js';
import { missingTools, startBerth, type RunningRegistry } from './helpers/registry-servers.js';

const skip = missingTools('buildah', 'skopeo');

describe('buildah push and pull against berth registry serve', { skip }, () => {
  const id = `${process.pid}-${randomBytes(3).toString('hex')}`;
  const local = `localhost/berth-e2e-${id}:v1`;
  const list = `localhost/berth-e2e-list-${id}:v1`;
  let work: string;
  let berth: RunningRegistry;
  const cleanup: string[][] = [];

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'berth-e2e-buildah-'));
    berth = await startBerth(join(work, 'berth'));
    writeFileSync(join(work, 'hello.txt'), `hello from buildah ${id}\n`);
    const container = (await run('buildah', ['from', 'scratch'])).trim();
    await run('buildah', ['copy', container, join(work, 'hello.txt'), '/hello.txt']);
    await run('buildah', ['config', '--cmd', '["/hello.txt"]', '--label', `e2e=${id}`, container]);
    await run('buildah', ['commit', '-q', '--format', 'oci', container, local]);
    await run('buildah', ['rm', container]);
    cleanup.push(['rmi', '-f', local]);
  });
  after(async () => {
    for (const args of cleanup.reverse()) await run('buildah', args).catch(() => undefined);
    await berth?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  test('buildah manifest push --all sends a two-platform list', async () => {
    // Runs first: it needs the locally built image, which the push/pull test then removes.
    const arm = join(work, 'arm');
    writeMultiArchLayout(arm, 'v1', [{ os: 'linux', architecture: 'arm64' }]);
    await run('buildah', ['manifest', 'create', list]);
    cleanup.push(['manifest', 'rm', list]);
    await run('buildah', [
      'manifest',
      'add',
      '--arch',
      'amd64',
      '--os',
      'linux',
      list,
      `containers-storage:${local}`,
    ]);
    // The hand-written layout holds an index; buildah adds the arm64 image inside it.
    await run('buildah', ['manifest', 'add', '--arch', 'arm64', '--os', 'linux', list, `oci:${arm}:v1`]);
    const remote = `${berth.host}/buildah/multi:v1`;
    await run('buildah', [
      'manifest',
      'push',
      '-q',
      '--all',
      '--tls-verify=false',
      list,
      `docker://${remote}`,
    ]);
    const raw = await run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${remote}`]);
    const index = JSON.parse(raw) as {
      manifests: { digest: string; platform: { architecture: string; os: string } }[];
    };
    assert.deepEqual(index.manifests.map((m) => `${m.platform.os}/${m.platform.architecture}`).sort(), [
      'linux/amd64',
      'linux/arm64',
    ]);
    for (const m of index.manifests) {
      const child = await fetch(`${berth.url}/v2/buildah/multi/manifests/${m.digest}`, {
        headers: {
          accept:
            'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json',
        },
      });
      assert.equal(child.status, 200, `child manifest ${m.digest} is stored`);
      assert.equal(sha256(Buffer.from(await child.arrayBuffer())), m.digest);
    }
  });
  test('buildah push, then buildah pull gets the same manifest and image', async () => {
    const remote = `${berth.host}/buildah/hello:v1`;
    const imageId = (await run('buildah', ['images', '-q', '--no-trunc', local])).trim();
    await run('buildah', ['push', '-q', '--tls-verify=false', local, `docker://${remote}`]);
    const pushed = sha256(
      await run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${remote}`]),
    );

    // Remove the local image so the pull has to fetch everything from Berth.
    await run('buildah', ['rmi', '-f', local]);
    cleanup.push(['rmi', '-f', remote]);
    await run('buildah', ['pull', '-q', '--tls-verify=false', `docker://${remote}`]);
    const pulled = (await run('buildah', ['images', '--digests', '--format', '{{.Digest}}', remote])).trim();
    assert.equal(pulled, pushed, 'buildah stored the manifest digest the registry served');
    const pulledId = (await run('buildah', ['images', '-q', '--no-trunc', remote])).trim();
    assert.equal(pulledId, imageId, 'same config blob, so the same image ID');
  });
});
