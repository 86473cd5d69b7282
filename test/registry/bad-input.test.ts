// Item 8 of issue 2: bad input gets the spec's error and stores nothing. Runs against every driver combination.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { forEachCombo, type TestRegistry } from './support/harness.js';
import {
  bin,
  blob,
  errorCode,
  imageManifest,
  OCI_INDEX,
  OCI_MANIFEST,
  pushBlob,
  putManifest,
  sha256,
} from './support/oci.js';

const MAX_MANIFEST = 16 * 1024;

async function storedDigests(registry: TestRegistry): Promise<Set<string>> {
  const digests = new Set<string>();
  for await (const b of registry.storage.store.list()) digests.add(b.digest);
  return digests;
}

function raw(
  url: string,
  method: string,
  path: string,
  body?: Buffer,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, { method, path }, (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function catalog(url: string): Promise<string[]> {
  return ((await (await fetch(`${url}/v2/_catalog`)).json()) as { repositories: string[] }).repositories;
}

await forEachCombo(
  describe,
  (registry) => {
    test('repository names with "..", upper case or over 255 characters: NAME_INVALID, nothing stored', async () => {
      const { url } = registry();
      const b = blob('named');
      for (const name of [
        'a/../b',
        'a/./b',
        'a..b',
        'Upper/case',
        'lib/UPPER',
        `${'a'.repeat(250)}/${'b'.repeat(10)}`,
        '-leading',
        'trailing-',
        'a//b',
      ]) {
        // node:http sends the path as written (fetch would resolve the "..").
        const res = await raw(url, 'POST', `/v2/${name}/blobs/uploads/?digest=${b.digest}`, b.bytes);
        assert.equal(res.status, 400, name);
        assert.equal(JSON.parse(res.body).errors[0].code, 'NAME_INVALID', name);
        assert.equal((await raw(url, 'GET', `/v2/${name}/manifests/latest`)).status, 400, name);
      }
      assert.equal((await storedDigests(registry())).has(b.digest), false);
      assert.deepEqual(await catalog(url), []);
    });

    test('malformed digests: DIGEST_INVALID on GET, POST ?digest= and PUT ?digest=', async () => {
      const { url } = registry();
      for (const digest of [
        'sha256:abc',
        'sha256:' + 'A'.repeat(64),
        'md5:d41d8cd98f00b204e9800998ecf8427e',
        'sha256',
        'sha512:' + 'a'.repeat(64),
      ]) {
        const get = await fetch(`${url}/v2/bad/digest/blobs/${digest}`);
        assert.equal(get.status, 400, digest);
        assert.equal(await errorCode(get), 'DIGEST_INVALID', digest);
        const post = await fetch(`${url}/v2/bad/digest/blobs/uploads/?digest=${digest}`, {
          method: 'POST',
          body: 'x',
        });
        assert.equal(post.status, 400, digest);
        assert.equal(await errorCode(post), 'DIGEST_INVALID', digest);
      }
      const location = (await fetch(`${url}/v2/bad/digest/blobs/uploads/`, { method: 'POST' })).headers.get(
        'location',
      )!;
      const noDigest = await fetch(`${url}${location}`, { method: 'PUT', body: 'x' });
      assert.equal(noDigest.status, 400);
      assert.equal(await errorCode(noDigest), 'DIGEST_INVALID');
      const referrers = await fetch(`${url}/v2/bad/digest/referrers/sha256:nothex`);
      assert.equal(referrers.status, 400);
      assert.equal(await errorCode(referrers), 'DIGEST_INVALID');
    });

    test('digest mismatch when an upload completes: DIGEST_INVALID, no blob, session gone', async () => {
      const { url } = registry();
      const claimed = blob('what the client says it sent');
      const before = await storedDigests(registry());
      const mono = await fetch(`${url}/v2/bad/mismatch/blobs/uploads/?digest=${claimed.digest}`, {
        method: 'POST',
        body: 'something else',
      });
      assert.equal(mono.status, 400);
      assert.equal(await errorCode(mono), 'DIGEST_INVALID');

      const location = (await fetch(`${url}/v2/bad/mismatch/blobs/uploads/`, { method: 'POST' })).headers.get(
        'location',
      )!;
      await fetch(`${url}${location}`, { method: 'PATCH', body: 'something else' });
      const put = await fetch(`${url}${location}?digest=${claimed.digest}`, { method: 'PUT' });
      assert.equal(put.status, 400);
      assert.equal(await errorCode(put), 'DIGEST_INVALID');
      assert.equal((await fetch(`${url}${location}`)).status, 404, 'the failed session is removed');
      assert.equal(
        (await fetch(`${url}/v2/bad/mismatch/blobs/${claimed.digest}`, { method: 'HEAD' })).status,
        404,
      );
      assert.equal(
        (await fetch(`${url}/v2/bad/mismatch/blobs/${sha256('something else')}`, { method: 'HEAD' })).status,
        404,
      );
      assert.deepEqual(await storedDigests(registry()), before);
      const uploads = [];
      for await (const u of registry().storage.store.listUploads()) uploads.push(u.id);
      assert.ok(!uploads.includes(location.split('/').pop()!), 'no upload bytes are left behind');
    });

    test('malformed manifests: MANIFEST_INVALID, no tag created', async () => {
      const { url } = registry();
      const config = blob('{"bad":"manifests"}');
      await pushBlob(url, 'bad/manifest', config);
      const good = JSON.parse(imageManifest(config, []).toString()) as Record<string, unknown>;
      const cases: [string, Buffer | string, string][] = [
        ['not json', '{"schemaVersion":2,', OCI_MANIFEST],
        ['array', '[]', OCI_MANIFEST],
        ['schema 1', JSON.stringify({ ...good, schemaVersion: 1 }), OCI_MANIFEST],
        ['no config', JSON.stringify({ ...good, config: undefined }), OCI_MANIFEST],
        ['layers not an array', JSON.stringify({ ...good, layers: {} }), OCI_MANIFEST],
        [
          'bad descriptor digest',
          JSON.stringify({ ...good, layers: [{ mediaType: 'x', digest: 'sha256:zz', size: 1 }] }),
          OCI_MANIFEST,
        ],
        [
          'negative size',
          JSON.stringify({ ...good, layers: [{ mediaType: 'x', digest: config.digest, size: -1 }] }),
          OCI_MANIFEST,
        ],
        ['Content-Type disagrees with mediaType', JSON.stringify(good), OCI_INDEX],
        ['index without manifests', JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX }), OCI_INDEX],
      ];
      for (const [label, body, type] of cases) {
        const res = await putManifest(url, 'bad/manifest', 'v1', Buffer.from(body), type);
        assert.equal(res.status, 400, label);
        assert.equal(await errorCode(res), 'MANIFEST_INVALID', label);
      }
      const badTag = await putManifest(url, 'bad/manifest', '-notatag', Buffer.from(JSON.stringify(good)));
      assert.equal(badTag.status, 400);
      assert.equal(await errorCode(badTag), 'MANIFEST_INVALID');
      const digestMismatch = await putManifest(
        url,
        'bad/manifest',
        sha256('other'),
        Buffer.from(JSON.stringify(good)),
      );
      assert.equal(digestMismatch.status, 400);
      assert.equal(await errorCode(digestMismatch), 'DIGEST_INVALID');
      assert.equal((await fetch(`${url}/v2/bad/manifest/manifests/v1`)).status, 404);
      assert.deepEqual(
        ((await (await fetch(`${url}/v2/bad/manifest/tags/list`)).json()) as { tags: string[] }).tags,
        [],
      );
    });

    test('oversized manifest: 413 SIZE_INVALID, nothing stored', async () => {
      const { url } = registry();
      const config = blob('{"big":true}');
      await pushBlob(url, 'bad/big', config);
      const big = imageManifest(config, [], { annotations: { padding: 'x'.repeat(MAX_MANIFEST) } });
      const res = await putManifest(url, 'bad/big', 'v1', big);
      assert.equal(res.status, 413);
      assert.equal(await errorCode(res), 'SIZE_INVALID');
      // Same again with chunked transfer encoding (no Content-Length to refuse up front).
      const chunked = await new Promise<number>((resolve, reject) => {
        const req = request(
          `${url}/v2/bad/big/manifests/v2`,
          { method: 'PUT', headers: { 'Content-Type': OCI_MANIFEST, 'Transfer-Encoding': 'chunked' } },
          (r) => {
            r.resume();
            resolve(r.statusCode!);
          },
        );
        req.on('error', reject);
        req.write(big.subarray(0, 1000));
        req.end(big.subarray(1000));
      });
      assert.equal(chunked, 413);
      assert.equal((await fetch(`${url}/v2/bad/big/manifests/v1`)).status, 404);
      assert.equal((await fetch(`${url}/v2/bad/big/manifests/v2`)).status, 404);
      assert.equal((await fetch(`${url}/v2/bad/big/manifests/${sha256(big)}`)).status, 404);
      const fits = imageManifest(config, [], { annotations: { padding: 'x'.repeat(MAX_MANIFEST - 400) } });
      assert.ok(fits.length <= MAX_MANIFEST);
      assert.equal(
        (await putManifest(url, 'bad/big', 'fits', fits)).status,
        201,
        'a manifest at the limit is accepted',
      );
    });

    test('a manifest referencing an unknown blob: MANIFEST_BLOB_UNKNOWN, nothing stored', async () => {
      const { url } = registry();
      const config = blob('{"unknown":"layer"}');
      await pushBlob(url, 'bad/unknown', config);
      const elsewhere = blob('only in another repository');
      await pushBlob(url, 'bad/elsewhere', elsewhere);
      for (const layer of [blob('never pushed'), elsewhere]) {
        const manifest = imageManifest(config, [layer]);
        const res = await putManifest(url, 'bad/unknown', 'v1', manifest);
        assert.equal(res.status, 400);
        assert.equal(await errorCode(res), 'MANIFEST_BLOB_UNKNOWN');
        assert.equal((await fetch(`${url}/v2/bad/unknown/manifests/${sha256(manifest)}`)).status, 404);
      }
      assert.equal((await fetch(`${url}/v2/bad/unknown/manifests/v1`)).status, 404);
    });

    test('Range past the end: 416 with Content-Range bytes */size', async () => {
      const { url } = registry();
      const b = blob('0123456789');
      await pushBlob(url, 'bad/range', b);
      for (const range of ['bytes=10-', 'bytes=50-60', 'bytes=-0']) {
        const res = await fetch(`${url}/v2/bad/range/blobs/${b.digest}`, { headers: { Range: range } });
        assert.equal(res.status, 416, range);
        assert.equal(res.headers.get('content-range'), 'bytes */10', range);
      }
      const clipped = await fetch(`${url}/v2/bad/range/blobs/${b.digest}`, {
        headers: { Range: 'bytes=8-100' },
      });
      assert.equal(clipped.status, 206);
      assert.equal(await clipped.text(), '89');
    });

    test('chunk errors: bad Content-Range, length mismatch, unknown upload', async () => {
      const { url } = registry();
      const location = (await fetch(`${url}/v2/bad/chunks/blobs/uploads/`, { method: 'POST' })).headers.get(
        'location',
      )!;
      const garbled = await fetch(`${url}${location}`, {
        method: 'PATCH',
        body: 'abc',
        headers: { 'Content-Range': 'nonsense' },
      });
      assert.equal(garbled.status, 416);
      const mismatch = await fetch(`${url}${location}`, {
        method: 'PATCH',
        body: 'abc',
        headers: { 'Content-Range': '0-9' },
      });
      assert.equal(mismatch.status, 416);
      assert.equal((await fetch(`${url}${location}`)).headers.get('range'), '0-0', 'nothing was appended');
      const unknown = await fetch(`${url}/v2/bad/chunks/blobs/uploads/00000000-0000-0000-0000-000000000000`, {
        method: 'PATCH',
        body: 'abc',
      });
      assert.equal(unknown.status, 404);
      assert.equal(await errorCode(unknown), 'BLOB_UPLOAD_UNKNOWN');
      const otherRepo = await fetch(`${url}${location.replace('/bad/chunks/', '/bad/other/')}`);
      assert.equal(otherRepo.status, 404, 'an upload belongs to the repository it was started in');
    });

    test('two clients pushing the same blob at once both succeed and the blob is intact', async () => {
      const { url } = registry();
      const b = blob(Buffer.alloc(2 * 1024 * 1024, 'concurrent'));
      const pushes = Array.from({ length: 4 }, async (_, i) => {
        const repository = `race/app${i % 2}`;
        const location = (
          await fetch(`${url}/v2/${repository}/blobs/uploads/`, { method: 'POST' })
        ).headers.get('location')!;
        const patch = await fetch(`${url}${location}`, { method: 'PATCH', body: bin(b.bytes) });
        assert.equal(patch.status, 202);
        return (await fetch(`${url}${location}?digest=${b.digest}`, { method: 'PUT' })).status;
      });
      assert.deepEqual(await Promise.all(pushes), [201, 201, 201, 201]);
      for (const repository of ['race/app0', 'race/app1']) {
        const back = Buffer.from(
          await (await fetch(`${url}/v2/${repository}/blobs/${b.digest}`)).arrayBuffer(),
        );
        assert.equal(sha256(back), b.digest);
      }
    });

    test('a client disconnecting mid-upload leaves nothing: the chunk is dropped, the session resumes cleanly', async () => {
      const { url } = registry();
      const b = blob(Buffer.alloc(4 * 1024 * 1024, 'disconnect'));
      const location = (await fetch(`${url}/v2/bad/cut/blobs/uploads/`, { method: 'POST' })).headers.get(
        'location',
      )!;
      await new Promise<void>((resolve) => {
        const req = request(`${url}${location}`, {
          method: 'PATCH',
          headers: { 'Content-Length': b.bytes.length, 'Content-Type': 'application/octet-stream' },
        });
        req.on('error', () => resolve());
        req.write(b.bytes.subarray(0, 1024 * 1024), () =>
          setTimeout(() => {
            req.destroy();
            resolve();
          }, 200),
        );
      });
      // The server notices the reset and drops the partial chunk; until then the session is busy (416).
      let status = 0;
      for (let i = 0; i < 50 && status !== 204; i++) {
        const res = await fetch(`${url}${location}`);
        status = res.status === 204 && res.headers.get('range') === '0-0' ? 204 : 0;
        if (status !== 204) await sleep(100);
      }
      assert.equal(status, 204, 'upload status is back to empty');
      assert.equal((await fetch(`${url}/v2/bad/cut/blobs/${b.digest}`, { method: 'HEAD' })).status, 404);
      assert.equal((await storedDigests(registry())).has(b.digest), false);
      // The dropped chunk's write lease is released just after the bytes are: a PATCH in between gets
      // 416 with Retry-After ("being written by another request"), which a client retries.
      let resumed = await fetch(`${url}${location}`, { method: 'PATCH', body: bin(b.bytes) });
      for (let i = 0; i < 50 && resumed.status === 416; i++) {
        assert.ok(resumed.headers.get('retry-after'), 'a busy upload says when to retry');
        await sleep(100);
        resumed = await fetch(`${url}${location}`, { method: 'PATCH', body: bin(b.bytes) });
      }
      assert.equal(resumed.status, 202);
      assert.equal(
        (await fetch(`${url}${location}?digest=${b.digest}`, { method: 'PUT' })).status,
        201,
        'the digest matches: no stray bytes from the cut chunk',
      );
    });

    test('unknown paths and methods get OCI errors', async () => {
      const { url } = registry();
      const res = await fetch(`${url}/v2/some/repo/nothing-here`);
      assert.equal(res.status, 404);
      assert.equal(await errorCode(res), 'UNSUPPORTED');
      const post = await fetch(`${url}/v2/some/repo/manifests/v1`, { method: 'POST' });
      assert.equal(post.status, 405);
      assert.equal(await errorCode(post), 'UNSUPPORTED');
    });
  },
  { maxManifestBytes: MAX_MANIFEST },
);
