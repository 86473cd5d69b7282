// Publishing a verified upload: bytes first (outside any metadata transaction: on Azure Blob a
// server-side copy), then the metadata row. What a crash between the two steps leaves (bytes without
// a row) is never served and is collected by gc; a gc that removes the bytes between the two steps
// is noticed, and the bytes are placed again. Every storage × metadata combination.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { Readable } from 'node:stream';
import { after, describe, test } from 'node:test';
import { collectGarbage } from '../../src/registry/index.js';
import type { BlobStore, RegistryStorage } from '../../src/registry/index.js';
import {
  COMBOS,
  comboUnavailable,
  startTestRegistry,
  stopSharedServices,
  type TestRegistry,
} from './support/harness.js';
import { blob, pushBlob, startUpload } from './support/oci.js';

const HOUR = 3_600_000;
after(stopSharedServices);

/**
 * The registry's own blob store, with a hook that runs right after the bytes of `digest` were placed
 * and before the metadata records them: where a crash or a concurrent gc would strike.
 */
function hooked(
  storage: RegistryStorage,
  hook: { digest?: string; run?: () => Promise<void> },
): RegistryStorage {
  const real = storage.store;
  const store: BlobStore = Object.create(real) as BlobStore;
  store.placeUpload = async (id, digest) => {
    await real.placeUpload(id, digest);
    const run = digest === hook.digest ? hook.run : undefined;
    hook.run = undefined;
    await run?.();
  };
  return { ...storage, store };
}

for (const combo of COMBOS) {
  describe(combo.name, { skip: await comboUnavailable(combo) }, () => {
    test('bytes placed but never recorded (a crash between the steps) are not served, and gc removes them', async (t) => {
      const r = await startTestRegistry(combo);
      t.after(() => r.close());
      const b = blob(`crashed before the metadata on ${combo.name}`);
      // What a push that died after placing the bytes leaves: the blob's bytes, no row, no link.
      const { store } = r.storage;
      await store.createUpload('c0ffee00-0000-4000-8000-000000000001');
      await store.appendUpload('c0ffee00-0000-4000-8000-000000000001', 0, Readable.from([b.bytes]));
      await store.placeUpload('c0ffee00-0000-4000-8000-000000000001', b.digest);
      await store.deleteUpload('c0ffee00-0000-4000-8000-000000000001');
      assert.equal((await fetch(`${r.url}/v2/crash/app/blobs/${b.digest}`, { method: 'HEAD' })).status, 404);

      const young = await collectGarbage(r.storage.meta, store, {
        gracePeriodMs: HOUR,
        uploadExpiryMs: HOUR,
      });
      assert.deepEqual(
        young.blobs,
        [],
        'kept within the grace period (a push may be recording it right now)',
      );
      const later = await collectGarbage(r.storage.meta, store, {
        gracePeriodMs: HOUR,
        uploadExpiryMs: HOUR,
        now: Date.now() + 2 * HOUR,
      });
      assert.deepEqual(later.blobs, [{ digest: b.digest, size: b.bytes.length }]);
      assert.equal(await store.stat(b.digest), undefined);
      assert.equal((await pushBlob(r.url, 'crash/app', b)).status, 201, 'a new push works');
      assert.equal(await (await fetch(`${r.url}/v2/crash/app/blobs/${b.digest}`)).text(), b.bytes.toString());
    });

    test('gc removing the bytes between placing and recording: the push places them again and completes', async (t) => {
      const hook: { digest?: string; run?: () => Promise<void> } = {};
      const r: TestRegistry = await startTestRegistry(combo, {}, undefined, (storage) =>
        hooked(storage, hook),
      );
      t.after(() => r.close());
      const b = blob(`re-pushed while gc collects it on ${combo.name}`);
      // An old copy: pushed once, unlinked, aged past the grace period. gc will take its row and bytes.
      assert.equal((await pushBlob(r.url, 'race/old', b)).status, 201);
      assert.equal((await fetch(`${r.url}/v2/race/old/blobs/${b.digest}`, { method: 'DELETE' })).status, 202);
      await r.sql('update blobs set touched_at = 0 where digest = $1', [b.digest]);
      await r.sql('update repo_blobs set created_at = 0 where digest = $1', [b.digest]);

      let collected: boolean | undefined;
      hook.digest = b.digest;
      hook.run = async () => {
        // The new push has placed its bytes (on the filesystem: found the old file; on Azure: found
        // the old blob) and is about to record them; gc removes row and bytes right now.
        const { meta, store } = r.storage;
        collected = await meta.deleteBlobIfUnused(b.digest, Date.now() + 1000, () => store.delete(b.digest));
      };
      const location = await startUpload(r.url, 'race/new');
      const put = await fetch(`${r.url}${location}?digest=${b.digest}`, {
        method: 'PUT',
        body: new Uint8Array(b.bytes),
      });
      assert.equal(put.status, 201, await put.text());
      assert.equal(collected, true, 'gc really removed the blob in the middle of the push');
      const got = await fetch(`${r.url}/v2/race/new/blobs/${b.digest}`);
      assert.equal(got.status, 200);
      assert.equal(await got.text(), b.bytes.toString());
      assert.equal((await r.storage.store.stat(b.digest))?.size, b.bytes.length);
      assert.equal((await fetch(`${r.url}${location}`)).status, 404, 'the session is gone');
      const uploads: string[] = [];
      for await (const u of r.storage.store.listUploads()) uploads.push(u.id);
      assert.deepEqual(uploads, [], 'and so is its upload');
    });

    test('a completion whose write lease was taken over meanwhile publishes nothing', async (t) => {
      const r = await startTestRegistry(combo);
      t.after(() => r.close());
      const b = blob(Buffer.alloc(256 * 1024, `lease taken over on ${combo.name}`));
      const location = await startUpload(r.url, 'lease/lost');
      const id = location.split('/').pop()!;
      // The PUT carries the blob; while its body streams, the lease passes to another holder (what
      // happens when this process stalls past UPLOAD_LEASE_MS and another request takes the upload).
      const put = streamed(`${r.url}${location}?digest=${b.digest}`, 'PUT', b.bytes.length);
      put.req.write(b.bytes.subarray(0, 1024));
      await until(
        async () => (await r.sql('select lease_holder from uploads where id = $1', [id]))[0]?.lease_holder,
      );
      await r.sql("update uploads set lease_holder = 'another request' where id = $1", [id]);
      put.req.end(b.bytes.subarray(1024));
      const answer = await put.response;
      assert.equal(answer.status, 409);
      assert.match(
        answer.body,
        /written by another request while this one completed it; nothing was published/,
      );
      assert.equal((await fetch(`${r.url}/v2/lease/lost/blobs/${b.digest}`, { method: 'HEAD' })).status, 404);
      assert.equal(await r.storage.store.stat(b.digest), undefined, 'no bytes under the digest either');
    });
  });
}

/** A request whose body the test writes piece by piece. */
function streamed(url: string, method: string, length: number) {
  const req = request(url, { method, headers: { 'Content-Length': length } });
  const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
    req.on('response', (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
  });
  return { req, response };
}

/** Polls `check` until it returns something truthy (the state the test waits for), or fails. */
async function until(check: () => Promise<unknown>): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error('the awaited state never came');
}
