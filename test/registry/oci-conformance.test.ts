// What the OCI distribution-spec conformance suite (docs/registry-conformance.md) found, guarded here with
// plain HTTP so CI needs no Go; plus referrers pagination. Runs against every driver combination.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { REFERRERS_PAGE } from '../../src/registry/api/referrers.js';
import { forEachCombo } from './support/harness.js';
import {
  blob,
  errorCode,
  imageManifest,
  OCI_EMPTY,
  OCI_INDEX,
  OCI_MANIFEST,
  pushBlob,
  putManifest,
  sha256,
} from './support/oci.js';

interface Index {
  mediaType: string;
  manifests: { digest: string; artifactType?: string; annotations?: Record<string, string> }[];
}

/** Pushes an image and returns a factory of artifacts whose subject is that image. */
async function imageWithArtifacts(url: string, repository: string) {
  const config = blob(`{"os":"linux","repo":"${repository}"}`);
  const empty = blob('{}');
  await pushBlob(url, repository, config);
  await pushBlob(url, repository, empty);
  const image = imageManifest(config, []);
  assert.equal((await putManifest(url, repository, 'v1', image)).status, 201);
  const subject = { mediaType: OCI_MANIFEST, digest: sha256(image), size: image.length };
  const artifact = (artifactType: string, annotations: Record<string, string>) =>
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        artifactType,
        config: { mediaType: OCI_EMPTY, digest: empty.digest, size: empty.bytes.length },
        layers: [{ mediaType: OCI_EMPTY, digest: empty.digest, size: empty.bytes.length }],
        subject,
        annotations,
      }),
    );
  return { subject: subject.digest, artifact };
}

async function putAll(url: string, repository: string, docs: Buffer[]): Promise<void> {
  for (let i = 0; i < docs.length; i += 25) {
    const batch = docs.slice(i, i + 25);
    const statuses = await Promise.all(
      batch.map(async (d) => (await putManifest(url, repository, sha256(d), d)).status),
    );
    assert.deepEqual(
      statuses,
      batch.map(() => 201),
    );
  }
}

/** Follows rel="next" Links from `first`; returns every page's descriptors and Link headers. */
async function allPages(
  url: string,
  first: string,
): Promise<{ pages: Index['manifests'][]; links: string[] }> {
  const pages: Index['manifests'][] = [];
  const links: string[] = [];
  let next: string | undefined = first;
  while (next) {
    assert.ok(pages.length < 1000, 'pagination ends');
    const res: Response = await fetch(`${url}${next}`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), OCI_INDEX);
    const index = (await res.json()) as Index;
    assert.equal(index.mediaType, OCI_INDEX);
    pages.push(index.manifests);
    const link = res.headers.get('link');
    if (link) links.push(link);
    next = link ? /^<([^>]+)>; rel="next"$/.exec(link)?.[1] : undefined;
    if (link) assert.ok(next, `Link header is <url>; rel="next": ${link}`);
  }
  return { pages, links };
}

await forEachCombo(describe, (registry) => {
  test('GET/HEAD/DELETE of a reference that is no valid tag: 404 MANIFEST_UNKNOWN (suite: ".INVALID_MANIFEST_NAME")', async () => {
    const { url } = registry();
    const config = blob('{"conformance":"tags"}');
    await pushBlob(url, 'conf/tags', config);
    assert.equal((await putManifest(url, 'conf/tags', 'v1', imageManifest(config, []))).status, 201);
    for (const ref of ['.INVALID_MANIFEST_NAME', '-dash-first', 'x'.repeat(129)]) {
      const get = await fetch(`${url}/v2/conf/tags/manifests/${ref}`, { headers: { Accept: OCI_MANIFEST } });
      assert.equal(get.status, 404, `GET ${ref}`);
      assert.equal(await errorCode(get), 'MANIFEST_UNKNOWN', `GET ${ref}`);
      const head = await fetch(`${url}/v2/conf/tags/manifests/${ref}`, { method: 'HEAD' });
      assert.equal(head.status, 404, `HEAD ${ref}`);
      const del = await fetch(`${url}/v2/conf/tags/manifests/${ref}`, { method: 'DELETE' });
      assert.equal(del.status, 404, `DELETE ${ref}`);
      assert.equal(await errorCode(del), 'MANIFEST_UNKNOWN', `DELETE ${ref}`);
    }
    // Still refused as bad input where it is one: a malformed digest, and pushing under an invalid tag.
    const badDigest = await fetch(`${url}/v2/conf/tags/manifests/sha256:totallywrong`);
    assert.equal(badDigest.status, 400);
    assert.equal(await errorCode(badDigest), 'DIGEST_INVALID');
    const badPut = await putManifest(url, 'conf/tags', '.INVALID_MANIFEST_NAME', imageManifest(config, []));
    assert.equal(badPut.status, 400);
    assert.equal(await errorCode(badPut), 'MANIFEST_INVALID');
    assert.equal((await fetch(`${url}/v2/conf/tags/manifests/v1`)).status, 200, 'the real tag is untouched');
  });

  test('referrers: n pages through the list with Link rel="next", keeping the artifactType filter', async () => {
    const { url } = registry();
    const { subject, artifact } = await imageWithArtifacts(url, 'conf/refs-n');
    const sboms = Array.from({ length: 5 }, (_, i) =>
      artifact('application/vnd.example.sbom', { i: `${i}` }),
    );
    const sigs = Array.from({ length: 3 }, (_, i) => artifact('application/vnd.example.sig', { i: `${i}` }));
    await putAll(url, 'conf/refs-n', [...sboms, ...sigs]);

    const all = await allPages(url, `/v2/conf/refs-n/referrers/${subject}?n=3`);
    assert.deepEqual(
      all.pages.map((p) => p.length),
      [3, 3, 2],
    );
    const digests = all.pages.flat().map((m) => m.digest);
    assert.deepEqual(
      digests,
      [...sboms, ...sigs].map((d) => sha256(d)).sort(),
      'every referrer once, in order',
    );

    const filtered = await allPages(
      url,
      `/v2/conf/refs-n/referrers/${subject}?n=2&artifactType=${encodeURIComponent('application/vnd.example.sbom')}`,
    );
    assert.deepEqual(
      filtered.pages.map((p) => p.length),
      [2, 2, 1],
    );
    assert.ok(filtered.links.every((l) => l.includes('artifactType=application%2Fvnd.example.sbom')));
    assert.deepEqual(
      filtered.pages.flat().map((m) => m.digest),
      sboms.map((d) => sha256(d)).sort(),
    );
    assert.ok(filtered.pages.flat().every((m) => m.artifactType === 'application/vnd.example.sbom'));

    const one = await fetch(`${url}/v2/conf/refs-n/referrers/${subject}?n=8`);
    assert.equal(one.headers.get('link'), null, 'no Link when the list fits');
    const bad = await fetch(`${url}/v2/conf/refs-n/referrers/${subject}?last=notadigest`);
    assert.equal(bad.status, 400);
    assert.equal(await errorCode(bad), 'DIGEST_INVALID');
  });

  test(`referrers: more than ${REFERRERS_PAGE} referrers come in pages without n`, async () => {
    const { url } = registry();
    const { subject, artifact } = await imageWithArtifacts(url, 'conf/refs-many');
    const docs = Array.from({ length: REFERRERS_PAGE + 3 }, (_, i) =>
      artifact('application/vnd.example.sbom', { i: `${i}` }),
    );
    await putAll(url, 'conf/refs-many', docs);
    const { pages, links } = await allPages(url, `/v2/conf/refs-many/referrers/${subject}`);
    assert.deepEqual(
      pages.map((p) => p.length),
      [REFERRERS_PAGE, 3],
    );
    assert.equal(links.length, 1);
    assert.deepEqual(
      pages.flat().map((m) => m.digest),
      docs.map((d) => sha256(d)).sort(),
    );
  });

  test('referrers: a page also ends before 1 MiB of descriptors (large annotations)', async () => {
    const { url } = registry();
    const { subject, artifact } = await imageWithArtifacts(url, 'conf/refs-big');
    const docs = Array.from({ length: 14 }, (_, i) =>
      artifact('application/vnd.example.sbom', { i: `${i}`, padding: 'p'.repeat(100 * 1024) }),
    );
    await putAll(url, 'conf/refs-big', docs);
    const { pages } = await allPages(url, `/v2/conf/refs-big/referrers/${subject}`);
    assert.ok(pages.length >= 2, `14 × 100 KiB annotations need more than one page (got ${pages.length})`);
    for (const page of pages) assert.ok(Buffer.byteLength(JSON.stringify(page)) <= 1024 * 1024 + 1024);
    assert.deepEqual(
      pages.flat().map((m) => m.digest),
      docs.map((d) => sha256(d)).sort(),
    );
  });
});
