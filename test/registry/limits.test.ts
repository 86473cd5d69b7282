// Configured upload limits: OCI-Chunk-Min-Length is announced, blobs over maxBlobBytes are refused
// with 413 and leave nothing behind (checked on both blob store drivers).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { forEachCombo } from './support/harness.js';
import { bin, blob, errorCode } from './support/oci.js';

await forEachCombo(
  describe,
  (registry) => {
    test('POST announces OCI-Chunk-Min-Length', async () => {
      const res = await fetch(`${registry().url}/v2/limits/app/blobs/uploads/`, { method: 'POST' });
      assert.equal(res.status, 202);
      assert.equal(res.headers.get('oci-chunk-min-length'), '1024');
    });

    test('a blob over maxBlobBytes gets 413 SIZE_INVALID and stores nothing', async () => {
      const { url } = registry();
      const big = blob(Buffer.alloc(64 * 1024 + 1, 1));
      const mono = await fetch(`${url}/v2/limits/app/blobs/uploads/?digest=${big.digest}`, {
        method: 'POST',
        body: bin(big.bytes),
      });
      assert.equal(mono.status, 413);
      assert.equal(await errorCode(mono), 'SIZE_INVALID');
      const location = (await fetch(`${url}/v2/limits/app/blobs/uploads/`, { method: 'POST' })).headers.get(
        'location',
      )!;
      assert.equal(
        (await fetch(`${url}${location}`, { method: 'PATCH', body: bin(big.bytes.subarray(0, 40_000)) }))
          .status,
        202,
      );
      const over = await fetch(`${url}${location}`, {
        method: 'PATCH',
        body: bin(big.bytes.subarray(40_000)),
      });
      assert.equal(over.status, 413);
      assert.equal(
        (await fetch(`${url}${location}`)).headers.get('range'),
        '0-39999',
        'the refused chunk was not kept',
      );
      assert.equal((await fetch(`${url}/v2/limits/app/blobs/${big.digest}`, { method: 'HEAD' })).status, 404);
      assert.equal(await registry().storage.store.stat(big.digest), undefined);
      const fits = blob(Buffer.alloc(64 * 1024, 2));
      assert.equal(
        (
          await fetch(`${url}/v2/limits/app/blobs/uploads/?digest=${fits.digest}`, {
            method: 'POST',
            body: bin(fits.bytes),
          })
        ).status,
        201,
      );
    });
  },
  { uploads: { chunkMinLength: '1KiB', maxBlobBytes: '64KiB' } },
);
