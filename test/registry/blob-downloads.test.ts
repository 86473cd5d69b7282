// Blob GETs over HTTP from the filesystem store: many clients at once (some leaving mid-download),
// and a store file that lost bytes is refused instead of sent cut short.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { truncateSync } from 'node:fs';
import { request } from 'node:http';
import { after, before, test } from 'node:test';
import type { FsBlobStore } from '../../src/registry/store/index.js';
import { startTestRegistry, type TestRegistry } from './support/harness.js';
import { blob, errorCode, pushBlob } from './support/oci.js';

let registry: TestRegistry;
before(async () => {
  registry = await startTestRegistry({
    name: 'filesystem+sqlite',
    storage: 'filesystem',
    metadata: 'sqlite',
  });
});
after(() => registry.close());

/** GETs `path`, reading at most `limit` bytes before hanging up. */
function download(path: string, limit = Infinity): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(`${registry.url}${path}`, (res) => {
      const parts: Buffer[] = [];
      let received = 0;
      res.on('data', (chunk: Buffer) => {
        parts.push(chunk);
        received += chunk.length;
        if (received >= limit) {
          req.destroy();
          resolve({ status: res.statusCode!, body: Buffer.concat(parts) });
        }
      });
      res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(parts) }));
      res.on('error', () => {});
    });
    // Our own hang-up resets the socket; any other error fails the test.
    req.on('error', (error) => (isReset(error) ? undefined : reject(error)));
    req.end();
  });
}
const isReset = (error: Error) => (error as NodeJS.ErrnoException).code === 'ECONNRESET';

test('20 clients pull one blob at once, 5 of them hang up midway: the others get every byte', async () => {
  const b = blob(randomBytes(3 * 1024 * 1024 + 999));
  assert.equal((await pushBlob(registry.url, 'dl/many', b)).status, 201);
  const path = `/v2/dl/many/blobs/${b.digest}`;
  const results = await Promise.all(
    Array.from({ length: 20 }, (_, i) => download(path, i % 4 === 0 ? 1024 * 1024 : Infinity)),
  );
  results.forEach((r, i) => {
    assert.equal(r.status, 200);
    if (i % 4 !== 0) assert.ok(r.body.equals(b.bytes), `client ${i} got the whole blob`);
  });
  const later = await download(path);
  assert.ok(later.body.equals(b.bytes), 'a download after the burst still gets every byte');
});

test('a blob file shorter than its metadata says: 404 BLOB_UNKNOWN, not a 200 cut short', async () => {
  const b = blob(randomBytes(2 * 1024 * 1024));
  assert.equal((await pushBlob(registry.url, 'dl/short', b)).status, 201);
  truncateSync((registry.storage.store as FsBlobStore).blobPath(b.digest), 1024 * 1024);
  const res = await fetch(`${registry.url}/v2/dl/short/blobs/${b.digest}`);
  assert.equal(res.status, 404);
  assert.equal(await errorCode(res), 'BLOB_UNKNOWN');
});
