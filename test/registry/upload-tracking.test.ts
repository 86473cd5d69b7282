// Abandoned chunked uploads must not pile up in the server's memory: the running hashes are bounded
// (MAX_TRACKED_UPLOADS), and an upload whose hash was dropped still completes, verified by re-reading
// what was stored.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_TRACKED_UPLOADS } from '../../src/registry/uploads.js';
import { COMBOS, startTestRegistry } from './support/harness.js';
import { blob, patchChunk, sha256, startUpload } from './support/oci.js';

/** PATCH a chunk that must be accepted. */
async function patch(url: string, location: string, bytes: Buffer, start: number): Promise<void> {
  const res = await patchChunk(url, location, bytes, start);
  assert.equal(res.status, 202, await res.text());
}

test('an upload pushed out by many abandoned ones still completes, its digest checked on what was stored', async (t) => {
  const registry = await startTestRegistry(COMBOS[0]!);
  t.after(() => registry.close());
  const { url } = registry;
  const kept = blob(Buffer.alloc(3000, 'kept'));
  const location = await startUpload(url, 'tracking/kept');
  await patch(url, location, kept.bytes.subarray(0, 1000), 0);

  // More uploads than are tracked start, send a chunk, and are never finished.
  const abandoned = MAX_TRACKED_UPLOADS + 16;
  for (let i = 0; i < abandoned; i += 64) {
    await Promise.all(
      Array.from({ length: Math.min(64, abandoned - i) }, async () =>
        patch(url, await startUpload(url, 'tracking/abandoned'), Buffer.from('x'), 0),
      ),
    );
  }

  await patch(url, location, kept.bytes.subarray(1000), 1000);
  const wrong = await fetch(`${url}${location}?digest=sha256:${'0'.repeat(64)}`, { method: 'PUT' });
  assert.equal(wrong.status, 400, 'a wrong digest is still refused');
  assert.equal(
    ((await wrong.json()) as { errors: Array<{ code: string }> }).errors[0]!.code,
    'DIGEST_INVALID',
  );

  const again = await startUpload(url, 'tracking/kept');
  await patch(url, again, kept.bytes, 0);
  for (let i = 0; i < abandoned; i += 64) {
    await Promise.all(
      Array.from({ length: Math.min(64, abandoned - i) }, async () =>
        patch(url, await startUpload(url, 'tracking/abandoned'), Buffer.from('y'), 0),
      ),
    );
  }
  const done = await fetch(`${url}${again}?digest=${kept.digest}`, { method: 'PUT' });
  assert.equal(done.status, 201, await done.text());
  const back = Buffer.from(await (await fetch(`${url}/v2/tracking/kept/blobs/${kept.digest}`)).arrayBuffer());
  assert.equal(sha256(back), kept.digest);
});
