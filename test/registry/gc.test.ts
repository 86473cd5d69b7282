// Garbage collection (item 6): what it removes, what it keeps, and safety while pushes go on.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { collectGarbage } from '../../src/registry/gc.js';
import { forEachCombo, type TestRegistry } from './support/harness.js';
import {
  bin,
  blob,
  imageManifest,
  OCI_INDEX,
  OCI_MANIFEST,
  pushBlob,
  putManifest,
  sha256,
  type Blob,
} from './support/oci.js';

const HOUR = 3_600_000;

async function stored(registry: TestRegistry, digest: string): Promise<boolean> {
  return (await registry.storage.store.stat(digest)) !== undefined;
}

async function pushImage(
  url: string,
  repository: string,
  reference: string,
  layers: Blob[],
  extra: Record<string, unknown> = {},
): Promise<Buffer> {
  const config = blob(`{"image":"${repository}:${reference}:${Math.random()}"}`);
  for (const b of [config, ...layers]) assert.equal((await pushBlob(url, repository, b)).status, 201);
  const manifest = imageManifest(config, layers, extra);
  const put = await putManifest(
    url,
    repository,
    reference === 'digest' ? sha256(manifest) : reference,
    manifest,
  );
  assert.equal(put.status, 201, `push ${repository}:${reference}: ${await put.text()}`);
  return manifest;
}

await forEachCombo(describe, (registry) => {
  test('dry run reports, then gc removes untagged manifests, unreferenced blobs and abandoned uploads only', async () => {
    const r = registry();
    const { url } = r;
    const kept = blob('layer of the tagged image');
    const image = await pushImage(url, 'gc/app', 'v1', [kept]);
    const dropped = blob('layer only the untagged image uses');
    const untagged = await pushImage(url, 'gc/app', 'digest', [dropped]);
    const orphan = blob('a blob no manifest references');
    await pushBlob(url, 'gc/app', orphan);
    // A referrer of the tagged image is kept; a referrer of the untagged one goes with it.
    const signOf = (subject: Buffer) => ({
      subject: { mediaType: OCI_MANIFEST, digest: sha256(subject), size: subject.length },
      artifactType: 'application/vnd.example.sig',
    });
    const keptSig = await pushImage(url, 'gc/app', 'digest', [], signOf(image));
    const droppedSig = await pushImage(url, 'gc/app', 'digest', [], signOf(untagged));
    // A tagged index keeps its untagged child.
    const child = await pushImage(url, 'gc/app', 'digest', [blob('child layer')]);
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_INDEX,
        manifests: [{ mediaType: OCI_MANIFEST, digest: sha256(child), size: child.length }],
      }),
    );
    assert.equal((await putManifest(url, 'gc/app', 'multi', index, OCI_INDEX)).status, 201);
    // An upload in progress, younger than the upload expiry.
    const location = (await fetch(`${url}/v2/gc/app/blobs/uploads/`, { method: 'POST' })).headers.get(
      'location',
    )!;
    const partial = blob('uploaded while gc ran');
    await fetch(`${url}${location}`, { method: 'PATCH', body: bin(partial.bytes) });

    const now = Date.now() + 1000; // everything above counts as older than a zero grace period
    const dry = await collectGarbage(r.storage.meta, r.storage.store, {
      gracePeriodMs: 0,
      uploadExpiryMs: HOUR,
      dryRun: true,
      now,
    });
    assert.equal(dry.dryRun, true);
    assert.deepEqual(
      dry.manifests.map((m) => m.digest).sort(),
      [sha256(untagged), sha256(droppedSig)].sort(),
    );
    const dryBlobs = new Set(dry.blobs.map((b) => b.digest));
    assert.ok(dryBlobs.has(dropped.digest) && dryBlobs.has(orphan.digest));
    assert.ok(!dryBlobs.has(kept.digest));
    assert.equal(
      (await fetch(`${url}/v2/gc/app/manifests/${sha256(untagged)}`)).status,
      200,
      'a dry run removes nothing',
    );
    assert.ok(await stored(r, orphan.digest));

    const report = await collectGarbage(r.storage.meta, r.storage.store, {
      gracePeriodMs: 0,
      uploadExpiryMs: HOUR,
      now,
    });
    assert.deepEqual(report.manifests.map((m) => m.digest).sort(), dry.manifests.map((m) => m.digest).sort());
    assert.deepEqual(new Set(report.blobs.map((b) => b.digest)), dryBlobs);
    assert.equal(report.bytesFreed, dry.bytesFreed);
    assert.ok(report.bytesFreed >= dropped.bytes.length + orphan.bytes.length + untagged.length);
    assert.deepEqual(report.uploads, []);

    assert.equal((await fetch(`${url}/v2/gc/app/manifests/${sha256(untagged)}`)).status, 404);
    assert.equal((await fetch(`${url}/v2/gc/app/manifests/${sha256(droppedSig)}`)).status, 404);
    assert.equal(await stored(r, dropped.digest), false);
    assert.equal(await stored(r, orphan.digest), false);
    assert.equal((await fetch(`${url}/v2/gc/app/blobs/${orphan.digest}`)).status, 404);
    for (const ref of ['v1', sha256(keptSig), 'multi', sha256(child)])
      assert.equal((await fetch(`${url}/v2/gc/app/manifests/${ref}`)).status, 200, ref);
    assert.equal(
      await (await fetch(`${url}/v2/gc/app/blobs/${kept.digest}`)).text(),
      'layer of the tagged image',
    );
    assert.equal(
      (await fetch(`${url}${location}?digest=${partial.digest}`, { method: 'PUT' })).status,
      201,
      'the upload in progress survived',
    );

    const again = await collectGarbage(r.storage.meta, r.storage.store, {
      gracePeriodMs: 0,
      uploadExpiryMs: HOUR,
      now: Date.now() + 1000,
    });
    assert.deepEqual(again.manifests, [], 'a second run finds no more manifests');
    assert.deepEqual(
      again.blobs.map((b) => b.digest),
      [partial.digest],
      'only the blob just completed (unreferenced) is new garbage',
    );
  });

  test('the grace period keeps recent blobs; expired uploads are removed', async () => {
    const r = registry();
    const fresh = blob('just pushed, not referenced yet');
    await pushBlob(r.url, 'gc/grace', fresh);
    const location = (await fetch(`${r.url}/v2/gc/grace/blobs/uploads/`, { method: 'POST' })).headers.get(
      'location',
    )!;
    await fetch(`${r.url}${location}`, { method: 'PATCH', body: 'abandoned' });
    const report = await collectGarbage(r.storage.meta, r.storage.store, {
      gracePeriodMs: HOUR,
      uploadExpiryMs: 0,
      now: Date.now() + 1000,
    });
    assert.ok(!report.blobs.some((b) => b.digest === fresh.digest));
    assert.ok(await stored(r, fresh.digest));
    assert.ok(
      report.uploads.some((u) => location.endsWith(u.id) && u.size === 9),
      'the idle upload is removed with its size',
    );
    assert.equal((await fetch(`${r.url}${location}`)).status, 404);
  });

  test('gc running while clients push never breaks a pushed image', async () => {
    const r = registry();
    const { url } = r;
    // Old garbage for gc to chew on while the pushes run: pushed now, then aged past the grace period
    // in the database (what waiting an hour would do).
    const garbage = Array.from({ length: 5 }, (_, i) => blob(`garbage ${i}`));
    for (const g of garbage) await pushBlob(url, 'gc/busy', g);
    for (const g of garbage) {
      await r.sql('update blobs set touched_at = 0 where digest = $1', [g.digest]);
      await r.sql('update repo_blobs set created_at = 0 where digest = $1', [g.digest]);
    }
    const grace = 30_000;
    let stop = false;
    let runs = 0;
    let removed = 0;
    const gcLoop = (async () => {
      while (!stop) {
        const report = await collectGarbage(r.storage.meta, r.storage.store, {
          gracePeriodMs: grace,
          uploadExpiryMs: HOUR,
        });
        removed += report.blobs.length;
        runs++;
        await sleep(20);
      }
    })();
    const pushed: string[] = [];
    const pushes = Promise.all(
      Array.from({ length: 3 }, async (_, worker) => {
        for (let i = 0; i < 2; i++) {
          const layer = blob(Buffer.alloc(64 * 1024, `worker ${worker} image ${i}`));
          // Re-push a shared layer every time: its blob row is touched, never deleted under the push.
          await pushImage(url, 'gc/busy', `w${worker}-${i}`, [layer, blob('shared layer')]);
          pushed.push(`w${worker}-${i}`);
        }
      }),
    );
    try {
      await pushes;
    } finally {
      stop = true;
      await gcLoop;
    }
    assert.ok(runs > 0);
    assert.ok(removed >= 5, `old garbage was collected while pushes ran (removed ${removed})`);
    for (const tag of pushed) {
      const manifest = (await (await fetch(`${url}/v2/gc/busy/manifests/${tag}`)).json()) as {
        config: { digest: string };
        layers: { digest: string }[];
      };
      for (const d of [manifest.config.digest, ...manifest.layers.map((l) => l.digest)]) {
        const res = await fetch(`${url}/v2/gc/busy/blobs/${d}`);
        assert.equal(res.status, 200, `${tag} ${d}`);
        assert.equal(sha256(Buffer.from(await res.arrayBuffer())), d);
      }
    }
  });
});
