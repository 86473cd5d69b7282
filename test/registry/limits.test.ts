// Configured upload limits: OCI-Chunk-Min-Length is announced and enforced (a chunk after a short one
// gets 416, nothing accepted is lost), blobs over maxBlobBytes are refused with 413 and leave nothing
// behind (checked on both blob store drivers).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { forEachCombo } from './support/harness.js';
import { bin, blob, errorCode, patchChunk as patch, sha256, startUpload } from './support/oci.js';

const MIN = 1024;

await forEachCombo(
  describe,
  (registry) => {
    test('POST announces OCI-Chunk-Min-Length', async () => {
      const res = await fetch(`${registry().url}/v2/limits/app/blobs/uploads/`, { method: 'POST' });
      assert.equal(res.status, 202);
      assert.equal(res.headers.get('oci-chunk-min-length'), '1024');
    });

    test('chunks of at least OCI-Chunk-Min-Length, then a short last chunk by PATCH or in the PUT: accepted', async () => {
      const { url } = registry();
      // What the OCI conformance suite sends when a minimum is announced: min, then min - 2 bytes.
      const b = blob(Buffer.alloc(2 * MIN - 2, 'conformance'));
      const location = await startUpload(url, 'limits/chunks');
      assert.equal((await patch(url, location, b.bytes.subarray(0, MIN), 0)).status, 202);
      const last = await patch(url, location, b.bytes.subarray(MIN), MIN);
      assert.equal(last.status, 202);
      assert.equal(last.headers.get('range'), `0-${2 * MIN - 3}`);
      assert.equal((await fetch(`${url}${location}?digest=${b.digest}`, { method: 'PUT' })).status, 201);
      const back = Buffer.from(
        await (await fetch(`${url}/v2/limits/chunks/blobs/${b.digest}`)).arrayBuffer(),
      );
      assert.equal(sha256(back), b.digest);

      const viaPut = blob(Buffer.alloc(MIN + 100, 'put-last'));
      const second = await startUpload(url, 'limits/chunks');
      assert.equal((await patch(url, second, viaPut.bytes.subarray(0, MIN), 0)).status, 202);
      const done = await fetch(`${url}${second}?digest=${viaPut.digest}`, {
        method: 'PUT',
        body: bin(viaPut.bytes.subarray(MIN)),
        headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': `${MIN}-${MIN + 99}` },
      });
      assert.equal(done.status, 201);
    });

    test('a chunk after one shorter than OCI-Chunk-Min-Length gets 416 and loses nothing', async () => {
      const { url } = registry();
      const first = Buffer.alloc(MIN, 'a');
      const short = Buffer.alloc(100, 'b');
      const refused = Buffer.alloc(MIN, 'c');
      const location = await startUpload(url, 'limits/short');
      const id = location.split('/').pop()!;
      assert.equal((await patch(url, location, first, 0)).status, 202);
      // The short chunk may be the last one, so it is taken.
      assert.equal((await patch(url, location, short, MIN)).status, 202);

      const tooLate = await patch(url, location, refused, MIN + 100);
      assert.equal(tooLate.status, 416);
      assert.equal(tooLate.headers.get('range'), `0-${MIN + 99}`);
      assert.equal(tooLate.headers.get('location'), location);
      const body = (await tooLate.json()) as { errors: { code: string; message: string }[] };
      assert.equal(body.errors[0]!.code, 'BLOB_UPLOAD_INVALID');
      assert.match(body.errors[0]!.message, /below OCI-Chunk-Min-Length 1024/);
      // The same chunk as the body of the closing PUT is refused too.
      const all = blob(Buffer.concat([first, short, refused]));
      const putWithBody = await fetch(`${url}${location}?digest=${all.digest}`, {
        method: 'PUT',
        body: bin(refused),
        headers: {
          'Content-Type': 'application/octet-stream',
          'Content-Range': `${MIN + 100}-${2 * MIN + 99}`,
        },
      });
      assert.equal(putWithBody.status, 416);

      // Nothing accepted was lost and nothing refused was written: the session still has both chunks.
      const status = await fetch(`${url}${location}`);
      assert.equal(status.status, 204);
      assert.equal(status.headers.get('range'), `0-${MIN + 99}`);
      assert.equal(await registry().storage.store.uploadSize(id), MIN + 100);
      const kept = blob(Buffer.concat([first, short]));
      assert.equal((await fetch(`${url}${location}?digest=${kept.digest}`, { method: 'PUT' })).status, 201);
      const back = Buffer.from(
        await (await fetch(`${url}/v2/limits/short/blobs/${kept.digest}`)).arrayBuffer(),
      );
      assert.ok(back.equals(kept.bytes), 'the blob is exactly the accepted chunks');
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
