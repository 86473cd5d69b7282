// The OCI Distribution API, end to end over HTTP, against every storage × metadata combination.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { forEachCombo } from './support/harness.js';
import {
  bin,
  blob,
  errorCode,
  imageManifest,
  OCI_EMPTY,
  OCI_INDEX,
  OCI_MANIFEST,
  pushBlob,
  putManifest,
  sha256,
  sha512,
} from './support/oci.js';

await forEachCombo(describe, (registry) => {
  test('GET /v2/ answers 200 with the API version header', async () => {
    const res = await fetch(`${registry().url}/v2/`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('docker-distribution-api-version'), 'registry/2.0');
  });

  test('monolithic push, then GET, HEAD and Range GET of the blob', async () => {
    const { url } = registry();
    const b = blob('hello, registry');
    const pushed = await pushBlob(url, 'lib/hello', b);
    assert.equal(pushed.status, 201);
    assert.equal(pushed.headers.get('location'), `/v2/lib/hello/blobs/${b.digest}`);
    assert.equal(pushed.headers.get('docker-content-digest'), b.digest);

    const got = await fetch(`${url}/v2/lib/hello/blobs/${b.digest}`);
    assert.equal(got.status, 200);
    assert.deepEqual(Buffer.from(await got.arrayBuffer()), b.bytes);
    assert.equal(got.headers.get('docker-content-digest'), b.digest);

    const head = await fetch(`${url}/v2/lib/hello/blobs/${b.digest}`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-length'), String(b.bytes.length));

    const part = await fetch(`${url}/v2/lib/hello/blobs/${b.digest}`, { headers: { Range: 'bytes=7-14' } });
    assert.equal(part.status, 206);
    assert.equal(part.headers.get('content-range'), `bytes 7-14/${b.bytes.length}`);
    assert.equal(await part.text(), 'registry');

    const suffix = await fetch(`${url}/v2/lib/hello/blobs/${b.digest}`, { headers: { Range: 'bytes=-3' } });
    assert.equal(await suffix.text(), 'try');

    const other = await fetch(`${url}/v2/lib/other/blobs/${b.digest}`);
    assert.equal(other.status, 404, 'a blob is served only from repositories it was pushed or mounted to');
    assert.equal(await errorCode(other), 'BLOB_UNKNOWN');
  });

  test('POST then PUT with the whole body, and an empty blob', async () => {
    const { url } = registry();
    const b = blob('post then put');
    const started = await fetch(`${url}/v2/lib/pp/blobs/uploads/`, { method: 'POST' });
    assert.equal(started.status, 202);
    const location = started.headers.get('location')!;
    assert.match(location, /^\/v2\/lib\/pp\/blobs\/uploads\/[0-9a-f-]{36}$/);
    const put = await fetch(`${url}${location}?digest=${b.digest}`, {
      method: 'PUT',
      body: bin(b.bytes),
      headers: { 'Content-Type': 'application/octet-stream' },
    });
    assert.equal(put.status, 201);
    assert.equal(await (await fetch(`${url}/v2/lib/pp/blobs/${b.digest}`)).text(), 'post then put');

    const empty = blob('');
    assert.equal((await pushBlob(url, 'lib/pp', empty)).status, 201);
    const got = await fetch(`${url}/v2/lib/pp/blobs/${empty.digest}`);
    assert.equal(got.status, 200);
    assert.equal((await got.arrayBuffer()).byteLength, 0);
  });

  test('chunked PATCH with Content-Range, status GET, out-of-order chunk 416, then PUT', async () => {
    const { url } = registry();
    const b = blob(Buffer.alloc(300_000, 7).fill(9, 100_000));
    const started = await fetch(`${url}/v2/lib/chunked/blobs/uploads/`, { method: 'POST' });
    const location = started.headers.get('location')!;
    const patch = (start: number, end: number) =>
      fetch(`${url}${location}`, {
        method: 'PATCH',
        body: bin(b.bytes.subarray(start, end + 1)),
        headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': `${start}-${end}` },
      });
    const first = await patch(0, 99_999);
    assert.equal(first.status, 202);
    assert.equal(first.headers.get('range'), '0-99999');
    const skipped = await patch(200_000, 299_999);
    assert.equal(skipped.status, 416);
    const status = await fetch(`${url}${location}`);
    assert.equal(status.status, 204);
    assert.equal(status.headers.get('range'), '0-99999');
    assert.equal((await patch(100_000, 199_999)).status, 202);
    assert.equal((await patch(200_000, 299_999)).status, 202);
    const done = await fetch(`${url}${location}?digest=${b.digest}`, { method: 'PUT' });
    assert.equal(done.status, 201);
    const back = Buffer.from(await (await fetch(`${url}/v2/lib/chunked/blobs/${b.digest}`)).arrayBuffer());
    assert.equal(sha256(back), b.digest);
  });

  test('streamed PATCH without Content-Range (what skopeo sends), and cancel with DELETE', async () => {
    const { url } = registry();
    const b = blob('streamed');
    const location = (await fetch(`${url}/v2/lib/streamed/blobs/uploads/`, { method: 'POST' })).headers.get(
      'location',
    )!;
    assert.equal((await fetch(`${url}${location}`, { method: 'PATCH', body: bin(b.bytes) })).status, 202);
    assert.equal((await fetch(`${url}${location}?digest=${b.digest}`, { method: 'PUT' })).status, 201);

    const cancelled = (await fetch(`${url}/v2/lib/streamed/blobs/uploads/`, { method: 'POST' })).headers.get(
      'location',
    )!;
    assert.equal((await fetch(`${url}${cancelled}`, { method: 'DELETE' })).status, 204);
    const after = await fetch(`${url}${cancelled}`);
    assert.equal(after.status, 404);
    assert.equal(await errorCode(after), 'BLOB_UPLOAD_UNKNOWN');
  });

  test('sha512 digests: monolithic upload and a manifest addressed by sha512', async () => {
    const { url } = registry();
    const bytes = Buffer.from('five hundred and twelve');
    const digest = sha512(bytes);
    const res = await fetch(`${url}/v2/lib/sha512/blobs/uploads/?digest=${digest}`, {
      method: 'POST',
      body: bin(bytes),
    });
    assert.equal(res.status, 201);
    assert.equal(
      await (await fetch(`${url}/v2/lib/sha512/blobs/${digest}`)).text(),
      'five hundred and twelve',
    );
    const viaSession = (
      await fetch(`${url}/v2/lib/sha512/blobs/uploads/?digest-algorithm=sha512`, { method: 'POST' })
    ).headers.get('location')!;
    const other = Buffer.from('another');
    assert.equal(
      (await fetch(`${url}${viaSession}?digest=${sha512(other)}`, { method: 'PUT', body: bin(other) }))
        .status,
      201,
    );

    const config = blob('{}');
    await pushBlob(url, 'lib/sha512', config);
    const manifest = imageManifest(config, []);
    const put = await putManifest(url, 'lib/sha512', sha512(manifest), manifest);
    assert.equal(put.status, 201);
    assert.equal(put.headers.get('docker-content-digest'), sha512(manifest));
    assert.equal((await fetch(`${url}/v2/lib/sha512/manifests/${sha512(manifest)}`)).status, 200);
  });

  test('manifests by tag and digest: PUT, GET, HEAD, content type and digest headers', async () => {
    const { url } = registry();
    const config = blob('{"architecture":"amd64","os":"linux"}');
    const layer = blob('layer bytes');
    await pushBlob(url, 'app/web', config);
    await pushBlob(url, 'app/web', layer);
    const manifest = imageManifest(config, [layer]);
    const put = await putManifest(url, 'app/web', 'v1', manifest);
    assert.equal(put.status, 201);
    assert.equal(put.headers.get('docker-content-digest'), sha256(manifest));
    assert.equal(put.headers.get('location'), `/v2/app/web/manifests/${sha256(manifest)}`);

    for (const ref of ['v1', sha256(manifest)]) {
      const got = await fetch(`${url}/v2/app/web/manifests/${ref}`, { headers: { Accept: OCI_MANIFEST } });
      assert.equal(got.status, 200);
      assert.equal(got.headers.get('content-type'), OCI_MANIFEST);
      assert.equal(got.headers.get('docker-content-digest'), sha256(manifest));
      assert.deepEqual(Buffer.from(await got.arrayBuffer()), manifest, 'bytes come back exactly as pushed');
      const head = await fetch(`${url}/v2/app/web/manifests/${ref}`, { method: 'HEAD' });
      assert.equal(head.status, 200);
      assert.equal(head.headers.get('content-length'), String(manifest.length));
    }
    const missing = await fetch(`${url}/v2/app/web/manifests/nope`);
    assert.equal(missing.status, 404);
    assert.equal(await errorCode(missing), 'MANIFEST_UNKNOWN');

    const byDigestWithTags = await fetch(`${url}/v2/app/web/manifests/${sha256(manifest)}?tag=a&tag=b`, {
      method: 'PUT',
      body: bin(manifest),
      headers: { 'Content-Type': OCI_MANIFEST },
    });
    assert.equal(byDigestWithTags.status, 201);
    const tags = (await (await fetch(`${url}/v2/app/web/tags/list`)).json()) as { tags: string[] };
    assert.deepEqual(tags.tags, ['a', 'b', 'v1']);
  });

  test('Docker schema 2 manifest and manifest list, OCI index referencing manifests', async () => {
    const { url } = registry();
    const config = blob('{"os":"linux"}');
    await pushBlob(url, 'multi/app', config);
    const docker = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
        config: {
          mediaType: 'application/vnd.docker.container.image.v1+json',
          digest: config.digest,
          size: config.bytes.length,
        },
        layers: [],
      }),
    );
    assert.equal(
      (
        await putManifest(
          url,
          'multi/app',
          'docker',
          docker,
          'application/vnd.docker.distribution.manifest.v2+json',
        )
      ).status,
      201,
    );
    const oci = imageManifest(config, []);
    assert.equal((await putManifest(url, 'multi/app', 'oci', oci)).status, 201);
    const entries = [
      {
        mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
        digest: sha256(docker),
        size: docker.length,
        platform: { os: 'linux', architecture: 'amd64' },
      },
      {
        mediaType: OCI_MANIFEST,
        digest: sha256(oci),
        size: oci.length,
        platform: { os: 'linux', architecture: 'arm64' },
      },
    ];
    const list = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.docker.distribution.manifest.list.v2+json',
        manifests: entries,
      }),
    );
    assert.equal(
      (
        await putManifest(
          url,
          'multi/app',
          'list',
          list,
          'application/vnd.docker.distribution.manifest.list.v2+json',
        )
      ).status,
      201,
    );
    const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: entries }));
    assert.equal((await putManifest(url, 'multi/app', 'index', index, OCI_INDEX)).status, 201);
    const got = await fetch(`${url}/v2/multi/app/manifests/list`);
    assert.equal(
      got.headers.get('content-type'),
      'application/vnd.docker.distribution.manifest.list.v2+json',
    );

    const dangling = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_INDEX,
        manifests: [{ ...entries[1], digest: sha256('not pushed') }],
      }),
    );
    const refused = await putManifest(url, 'multi/app', 'dangling', dangling, OCI_INDEX);
    assert.equal(refused.status, 400);
    assert.equal(await errorCode(refused), 'MANIFEST_BLOB_UNKNOWN');
  });

  test('subject: OCI-Subject on PUT, referrers with artifactType filtering', async () => {
    const { url } = registry();
    const config = blob('{"os":"linux"}');
    const empty = blob('{}');
    await pushBlob(url, 'ref/app', config);
    await pushBlob(url, 'ref/app', empty);
    const image = imageManifest(config, []);
    await putManifest(url, 'ref/app', 'v1', image);
    const subject = { mediaType: OCI_MANIFEST, digest: sha256(image), size: image.length };
    const artifact = (type: string, note: string) =>
      Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: OCI_MANIFEST,
          artifactType: type,
          config: { mediaType: OCI_EMPTY, digest: empty.digest, size: empty.bytes.length },
          layers: [{ mediaType: OCI_EMPTY, digest: empty.digest, size: empty.bytes.length }],
          subject,
          annotations: { note },
        }),
      );
    const sbom = artifact('application/vnd.example.sbom', 'sbom');
    const sig = artifact('application/vnd.example.signature', 'sig');
    for (const a of [sbom, sig]) {
      const put = await putManifest(url, 'ref/app', sha256(a), a);
      assert.equal(put.status, 201);
      assert.equal(put.headers.get('oci-subject'), sha256(image));
    }
    const all = await fetch(`${url}/v2/ref/app/referrers/${sha256(image)}`);
    assert.equal(all.status, 200);
    assert.equal(all.headers.get('content-type'), OCI_INDEX);
    const index = (await all.json()) as {
      mediaType: string;
      manifests: { digest: string; artifactType: string; annotations: Record<string, string> }[];
    };
    assert.equal(index.mediaType, OCI_INDEX);
    assert.deepEqual(index.manifests.map((m) => m.digest).sort(), [sha256(sbom), sha256(sig)].sort());
    assert.equal(index.manifests.find((m) => m.digest === sha256(sbom))?.annotations.note, 'sbom');

    const filtered = await fetch(
      `${url}/v2/ref/app/referrers/${sha256(image)}?artifactType=application/vnd.example.sbom`,
    );
    assert.equal(filtered.headers.get('oci-filters-applied'), 'artifactType');
    const only = (await filtered.json()) as { manifests: { digest: string; artifactType: string }[] };
    assert.deepEqual(
      only.manifests.map((m) => [m.digest, m.artifactType]),
      [[sha256(sbom), 'application/vnd.example.sbom']],
    );

    const none = (await (
      await fetch(`${url}/v2/ref/app/referrers/${sha256('nothing refers to this')}`)
    ).json()) as { manifests: unknown[] };
    assert.deepEqual(none.manifests, [], 'an unknown subject gives an empty index, not 404');

    // A subject that does not exist yet is accepted (spec), and shows up once referenced.
    const early = artifact('application/vnd.example.early', 'early');
    const earlyDoc = JSON.parse(early.toString()) as Record<string, unknown>;
    earlyDoc.subject = { mediaType: OCI_MANIFEST, digest: sha256('future'), size: 6 };
    const earlyBytes = Buffer.from(JSON.stringify(earlyDoc));
    assert.equal((await putManifest(url, 'ref/app', sha256(earlyBytes), earlyBytes)).status, 201);
  });

  test('tags list and catalog paginate with n, last and Link', async () => {
    const { url } = registry();
    const config = blob('{"tags":true}');
    await pushBlob(url, 'page/app', config);
    const manifest = imageManifest(config, []);
    for (const tag of ['b', 'a', 'c', 'A', 'd-1', 'd_2'])
      assert.equal((await putManifest(url, 'page/app', tag, manifest)).status, 201);
    const all = (await (await fetch(`${url}/v2/page/app/tags/list`)).json()) as {
      name: string;
      tags: string[];
    };
    assert.equal(all.name, 'page/app');
    assert.deepEqual(all.tags, ['A', 'a', 'b', 'c', 'd-1', 'd_2'], 'byte order');
    const first = await fetch(`${url}/v2/page/app/tags/list?n=2`);
    assert.deepEqual(((await first.json()) as { tags: string[] }).tags, ['A', 'a']);
    assert.equal(first.headers.get('link'), '</v2/page/app/tags/list?n=2&last=a>; rel="next"');
    const next = await fetch(`${url}/v2/page/app/tags/list?n=2&last=a`);
    assert.deepEqual(((await next.json()) as { tags: string[] }).tags, ['b', 'c']);
    const end = await fetch(`${url}/v2/page/app/tags/list?n=10&last=c`);
    assert.deepEqual(((await end.json()) as { tags: string[] }).tags, ['d-1', 'd_2']);
    assert.equal(end.headers.get('link'), null);
    const zero = await fetch(`${url}/v2/page/app/tags/list?n=0`);
    assert.deepEqual(((await zero.json()) as { tags: string[] }).tags, []);
    const unknown = await fetch(`${url}/v2/page/nothing/tags/list`);
    assert.equal(unknown.status, 404);
    assert.equal(await errorCode(unknown), 'NAME_UNKNOWN');

    const catalog = (await (await fetch(`${url}/v2/_catalog`)).json()) as { repositories: string[] };
    assert.ok(catalog.repositories.includes('page/app'));
    assert.deepEqual(
      [...catalog.repositories].sort((x, y) => (x < y ? -1 : 1)),
      catalog.repositories,
    );
    const page = await fetch(`${url}/v2/_catalog?n=1`);
    const firstRepo = ((await page.json()) as { repositories: string[] }).repositories;
    assert.equal(firstRepo.length, 1);
    assert.equal(
      page.headers.get('link'),
      `</v2/_catalog?n=1&last=${encodeURIComponent(firstRepo[0]!)}>; rel="next"`,
    );
  });

  test('delete a tag, a manifest and a blob; then 404 with the spec codes', async () => {
    const { url } = registry();
    const config = blob('{"delete":1}');
    const layer = blob('to delete');
    await pushBlob(url, 'del/app', config);
    await pushBlob(url, 'del/app', layer);
    const manifest = imageManifest(config, [layer]);
    await putManifest(url, 'del/app', 'keep', manifest);
    await putManifest(url, 'del/app', 'drop', manifest);
    assert.equal((await fetch(`${url}/v2/del/app/manifests/drop`, { method: 'DELETE' })).status, 202);
    assert.equal((await fetch(`${url}/v2/del/app/manifests/drop`)).status, 404);
    assert.equal(
      (await fetch(`${url}/v2/del/app/manifests/keep`)).status,
      200,
      'deleting a tag leaves the manifest and its other tags',
    );

    assert.equal(
      (await fetch(`${url}/v2/del/app/manifests/${sha256(manifest)}`, { method: 'DELETE' })).status,
      202,
    );
    const gone = await fetch(`${url}/v2/del/app/manifests/${sha256(manifest)}`);
    assert.equal(gone.status, 404);
    assert.equal(await errorCode(gone), 'MANIFEST_UNKNOWN');
    assert.equal(
      (await fetch(`${url}/v2/del/app/manifests/keep`)).status,
      404,
      'deleting by digest removes its tags',
    );

    assert.equal((await fetch(`${url}/v2/del/app/blobs/${layer.digest}`, { method: 'DELETE' })).status, 202);
    const blobGone = await fetch(`${url}/v2/del/app/blobs/${layer.digest}`);
    assert.equal(blobGone.status, 404);
    assert.equal(await errorCode(blobGone), 'BLOB_UNKNOWN');
    assert.equal((await fetch(`${url}/v2/del/app/blobs/${layer.digest}`, { method: 'DELETE' })).status, 404);
  });

  test('cross-repository mount: 201 from a repository that has the blob, 202 otherwise', async () => {
    const { url } = registry();
    const b = blob('mount me');
    await pushBlob(url, 'mount/src', b);
    const mounted = await fetch(`${url}/v2/mount/dst/blobs/uploads/?mount=${b.digest}&from=mount/src`, {
      method: 'POST',
    });
    assert.equal(mounted.status, 201);
    assert.equal(mounted.headers.get('location'), `/v2/mount/dst/blobs/${b.digest}`);
    assert.equal(await (await fetch(`${url}/v2/mount/dst/blobs/${b.digest}`)).text(), 'mount me');

    const fromNowhere = await fetch(
      `${url}/v2/mount/other/blobs/uploads/?mount=${b.digest}&from=mount/empty`,
      { method: 'POST' },
    );
    assert.equal(fromNowhere.status, 202, 'a failed mount falls back to an upload session');
    assert.match(fromNowhere.headers.get('location')!, /\/v2\/mount\/other\/blobs\/uploads\//);
    const noFrom = await fetch(`${url}/v2/mount/third/blobs/uploads/?mount=${b.digest}`, { method: 'POST' });
    assert.equal(noFrom.status, 202);
    const noFromOwn = await fetch(`${url}/v2/mount/dst/blobs/uploads/?mount=${b.digest}`, { method: 'POST' });
    assert.equal(noFromOwn.status, 201);
  });
});
