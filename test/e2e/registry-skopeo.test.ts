// skopeo (containers/image) against `berth registry serve`: an offline umoci image in and back out
// byte for byte, a multi-architecture index, an artifact in the referrers list, delete then 404.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CommandError } from './helpers/registry-images.js';
import {
  layoutBlobDigests,
  layoutManifestDigest,
  run,
  sha256,
  umociImage,
  writeMultiArchLayout,
} from './helpers/registry-images.js';
import { missingTools, startBerth, type RunningRegistry } from './helpers/registry-servers.js';

const skip = missingTools('skopeo', 'umoci');

describe('skopeo against berth registry serve', { skip }, () => {
  let work: string;
  let berth: RunningRegistry;
  let layout: string;

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'berth-e2e-skopeo-'));
    [berth, layout] = await Promise.all([
      startBerth(join(work, 'berth')),
      umociImage(join(work, 'image'), 'v1'),
    ]);
  });
  after(async () => {
    await berth?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  test('an offline umoci image goes in and comes back out with identical digests', async () => {
    await run('skopeo', [
      'copy',
      '-q',
      '--dest-tls-verify=false',
      `oci:${layout}:v1`,
      `docker://${berth.host}/demo/hello:v1`,
    ]);
    const raw = await run('skopeo', [
      'inspect',
      '--raw',
      '--tls-verify=false',
      `docker://${berth.host}/demo/hello:v1`,
    ]);
    assert.equal(sha256(raw), layoutManifestDigest(layout, 'v1'), 'the manifest is stored byte for byte');
    const inspected = JSON.parse(
      await run('skopeo', ['inspect', '--tls-verify=false', `docker://${berth.host}/demo/hello:v1`]),
    ) as { Digest: string; Architecture: string };
    assert.equal(inspected.Digest, layoutManifestDigest(layout, 'v1'));
    assert.equal(inspected.Architecture, 'amd64');
    const tags = JSON.parse(
      await run('skopeo', ['list-tags', '--tls-verify=false', `docker://${berth.host}/demo/hello`]),
    ) as { Tags: string[] };
    assert.deepEqual(tags.Tags, ['v1']);

    const pulled = join(work, 'pulled');
    await run('skopeo', [
      'copy',
      '-q',
      '--src-tls-verify=false',
      `docker://${berth.host}/demo/hello:v1`,
      `oci:${pulled}:v1`,
    ]);
    assert.deepEqual(
      layoutBlobDigests(pulled),
      layoutBlobDigests(layout),
      'every blob comes back byte-identical',
    );
    assert.equal(layoutManifestDigest(pulled, 'v1'), layoutManifestDigest(layout, 'v1'));
  });

  test('a multi-architecture index is pushed with --all and read back per platform', async () => {
    const multi = join(work, 'multi');
    const { indexDigest, manifestDigests } = writeMultiArchLayout(multi, 'v1', [
      { os: 'linux', architecture: 'amd64' },
      { os: 'linux', architecture: 'arm64' },
    ]);
    await run('skopeo', [
      'copy',
      '-q',
      '--all',
      '--dest-tls-verify=false',
      `oci:${multi}:v1`,
      `docker://${berth.host}/demo/multi:v1`,
    ]);
    const raw = await run('skopeo', [
      'inspect',
      '--raw',
      '--tls-verify=false',
      `docker://${berth.host}/demo/multi:v1`,
    ]);
    assert.equal(sha256(raw), indexDigest);
    const index = JSON.parse(raw) as {
      mediaType: string;
      manifests: { digest: string; platform: { architecture: string } }[];
    };
    assert.equal(index.mediaType, 'application/vnd.oci.image.index.v1+json');
    assert.deepEqual(
      index.manifests.map((m) => m.platform.architecture),
      ['amd64', 'arm64'],
    );
    // skopeo resolves the index to the platform it is asked for.
    const arm = JSON.parse(
      await run('skopeo', [
        'inspect',
        '--override-arch',
        'arm64',
        '--tls-verify=false',
        `docker://${berth.host}/demo/multi:v1`,
      ]),
    ) as { Digest: string; Architecture: string };
    assert.equal(arm.Architecture, 'arm64');
    assert.equal(arm.Digest, indexDigest, 'skopeo reports the digest of what the tag names: the index');
    for (const digest of manifestDigests) {
      const child = await fetch(`${berth.url}/v2/demo/multi/manifests/${digest}`, {
        headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
      });
      assert.equal(child.status, 200);
      assert.equal(sha256(Buffer.from(await child.arrayBuffer())), digest);
    }

    const back = join(work, 'multi-back');
    await run('skopeo', [
      'copy',
      '-q',
      '--all',
      '--src-tls-verify=false',
      `docker://${berth.host}/demo/multi:v1`,
      `oci:${back}:v1`,
    ]);
    assert.equal(layoutManifestDigest(back, 'v1'), indexDigest);
    assert.deepEqual(layoutBlobDigests(back), layoutBlobDigests(multi));
  });

  test('an artifact with a subject shows up in the referrers list, filtered by artifactType', async () => {
    await run('skopeo', [
      'copy',
      '-q',
      '--dest-tls-verify=false',
      `oci:${layout}:v1`,
      `docker://${berth.host}/demo/signed:v1`,
    ]);
    const subject = layoutManifestDigest(layout, 'v1');
    const base = `${berth.url}/v2/demo/signed`;
    // No client in Debian 12 pushes artifacts (no oras), so the test writes one as the spec describes.
    const empty = Buffer.from('{}');
    const sbom = Buffer.from(JSON.stringify({ spdxVersion: 'SPDX-2.3', name: 'hello' }));
    for (const blob of [empty, sbom]) {
      const res = await fetch(`${base}/blobs/uploads/?digest=${sha256(blob)}`, {
        method: 'POST',
        headers: { 'content-type': 'application/octet-stream' },
        body: blob,
      });
      assert.equal(res.status, 201, await res.text());
    }
    const artifact = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        artifactType: 'application/spdx+json',
        config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256(empty), size: empty.length },
        layers: [{ mediaType: 'application/spdx+json', digest: sha256(sbom), size: sbom.length }],
        subject: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: subject, size: 0 },
        annotations: { 'org.example.kind': 'sbom' },
      }),
    );
    const put = await fetch(`${base}/manifests/${sha256(artifact)}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
      body: artifact,
    });
    assert.equal(put.status, 201, await put.text());
    assert.equal(put.headers.get('oci-subject'), subject);

    const referrers = await fetch(`${base}/referrers/${subject}`);
    assert.equal(referrers.status, 200);
    const list = (await referrers.json()) as {
      manifests: { digest: string; artifactType?: string; annotations?: Record<string, string> }[];
    };
    assert.deepEqual(
      list.manifests.map((m) => [m.digest, m.artifactType, m.annotations?.['org.example.kind']]),
      [[sha256(artifact), 'application/spdx+json', 'sbom']],
    );
    const filtered = await fetch(
      `${base}/referrers/${subject}?artifactType=application/vnd.example.signature`,
    );
    assert.equal(filtered.headers.get('oci-filters-applied'), 'artifactType');
    assert.deepEqual(((await filtered.json()) as { manifests: unknown[] }).manifests, []);
    // The artifact itself is a manifest skopeo can read back.
    const raw = await run('skopeo', [
      'inspect',
      '--raw',
      '--tls-verify=false',
      `docker://${berth.host}/demo/signed@${sha256(artifact)}`,
    ]);
    assert.equal(sha256(raw), sha256(artifact));
  });

  test('after skopeo delete, a pull gets 404 MANIFEST_UNKNOWN', async () => {
    await run('skopeo', [
      'copy',
      '-q',
      '--dest-tls-verify=false',
      `oci:${layout}:v1`,
      `docker://${berth.host}/demo/gone:v1`,
    ]);
    const digest = layoutManifestDigest(layout, 'v1');
    await run('skopeo', ['delete', '--tls-verify=false', `docker://${berth.host}/demo/gone:v1`]);
    const res = await fetch(`${berth.url}/v2/demo/gone/manifests/${digest}`, {
      headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
    });
    assert.equal(res.status, 404);
    const body = (await res.json()) as { errors: { code: string }[] };
    assert.equal(body.errors[0]?.code, 'MANIFEST_UNKNOWN');
    const byTag = await fetch(`${berth.url}/v2/demo/gone/manifests/v1`);
    assert.equal(byTag.status, 404);
    await assert.rejects(
      run('skopeo', [
        'copy',
        '-q',
        '--src-tls-verify=false',
        `docker://${berth.host}/demo/gone:v1`,
        `oci:${join(work, 'gone')}:v1`,
      ]),
      (error: CommandError) => /manifest unknown/i.test(error.stderr),
    );
    // Other repositories holding the same image are untouched.
    const still = await fetch(`${berth.url}/v2/demo/hello/manifests/v1`, {
      method: 'HEAD',
      headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
    });
    assert.equal(still.status, 200);
  });
});
