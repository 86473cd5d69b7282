// The registry's two store interfaces, driven directly: every MetadataStore (SQLite, PostgreSQL) and
// every BlobStore (filesystem, Azure Blob on Azurite) through the same tests. What the rest of the
// registry (uploads, gc, georep and multi-backend work later) relies on is stated here once.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, describe, test } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';
import pg from 'pg';
import {
  createBlobStore,
  openMetadataStore,
  type BlobStore,
  type MetadataStore,
} from '../../src/registry/index.js';
import { compileUrlPolicy, parseManifest } from '../../src/registry/manifest.js';
import { sharedAzurite, stopSharedServices } from './support/harness.js';
import { blob, imageManifest } from './support/oci.js';
import { dropSchema, postgresUnavailable, POSTGRES_URL, throwawaySchema } from './support/postgres.js';

const temp = mkdtempSync(join(tmpdir(), 'berth-stores-'));
const pgDown = await postgresUnavailable();
const schemas: string[] = [];
after(async () => {
  await stopSharedServices();
  for (const schema of schemas) await dropSchema(schema);
  rmSync(temp, { recursive: true, force: true });
});

const METADATA: { name: string; skip?: string; open(): Promise<MetadataStore> }[] = [
  {
    name: 'sqlite',
    open: () => openMetadataStore({ driver: 'sqlite', path: join(temp, `meta-${Math.random()}.sqlite`) }),
  },
  {
    name: 'postgres',
    skip: pgDown,
    open: () => {
      const schema = throwawaySchema();
      schemas.push(schema);
      return openMetadataStore({ driver: 'postgres', url: POSTGRES_URL, schema });
    },
  },
];

/**
 * Resolves once another PostgreSQL backend waits for a lock held by the test (so the test knows the
 * concurrent statement reached the database and is blocked, not merely late); on SQLite the store's
 * one connection is busy with the test's transaction, so the statement is queued behind it already.
 */
async function blockedBehindUs(meta: MetadataStore): Promise<void> {
  if (meta.driver === 'sqlite') {
    for (let i = 0; i < 5; i++) await tick();
    return;
  }
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    for (let i = 0; i < 500; i++) {
      const { rows } = await client.query<{ n: string }>(
        `select count(*) as n from pg_stat_activity where wait_event_type = 'Lock' and query ilike 'insert into "blobs"%'`,
      );
      if (Number(rows[0]!.n) > 0) return;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    throw new Error('the concurrent statement never waited for the lock');
  } finally {
    await client.end();
  }
}

const present = async () => true;

for (const driver of METADATA) {
  describe(`MetadataStore: ${driver.name}`, { skip: driver.skip }, () => {
    let meta: MetadataStore;
    after(async () => meta?.close());
    const open = async () => (meta ??= await driver.open());

    test('commitBlob records and links a blob; an existing row is touched without asking the store', async () => {
      const m = await open();
      const b = blob('committed');
      let asked = 0;
      const ask = async () => (asked++, true);
      assert.equal(await m.commitBlob({ repository: 'c/one', digest: b.digest, size: 9 }, ask), true);
      assert.equal(asked, 1, 'a new row asks whether the bytes are there');
      assert.equal(await m.blobInRepository('c/one', b.digest), 9);
      assert.equal(await m.blobInRepository('c/two', b.digest), undefined, 'linked per repository');
      assert.equal(await m.commitBlob({ repository: 'c/two', digest: b.digest, size: 9 }, ask), true);
      assert.equal(asked, 1, 'an existing row means the bytes are there');
      assert.equal(await m.blobInRepository('c/two', b.digest), 9);
      assert.deepEqual(await m.listRepositories(undefined, 'c/'), ['c/one', 'c/two']);
    });

    test('commitBlob records nothing when the bytes are gone, and removes the upload session when it does record', async () => {
      const m = await open();
      const b = blob('vanished');
      await m.createUpload('11111111-1111-1111-1111-111111111111', 'c/gone');
      const recorded = await m.commitBlob(
        { repository: 'c/gone', digest: b.digest, size: 8, uploadId: '11111111-1111-1111-1111-111111111111' },
        async () => false,
      );
      assert.equal(recorded, false);
      assert.equal(await m.blobInRepository('c/gone', b.digest), undefined);
      assert.equal(
        (await m.gcInventory(0)).blobs.some((x) => x.digest === b.digest),
        false,
        'no row left',
      );
      assert.ok(await m.getUpload('11111111-1111-1111-1111-111111111111'), 'the session stays for a retry');
      assert.equal(
        await m.commitBlob(
          {
            repository: 'c/gone',
            digest: b.digest,
            size: 8,
            uploadId: '11111111-1111-1111-1111-111111111111',
          },
          present,
        ),
        true,
      );
      assert.equal(await m.getUpload('11111111-1111-1111-1111-111111111111'), undefined);
    });

    test('upload leases: one writer at a time, shared short-chunk mark and write count, expiry and idle removal', async () => {
      const m = await open();
      const id = '22222222-2222-2222-2222-222222222222';
      const soon = () => Date.now() + 60_000;
      await m.createUpload(id, 'l/repo');
      assert.equal(await m.leaseUpload(id, 'l/other', { holder: 'a', until: soon() }), undefined);
      const first = await m.leaseUpload(id, 'l/repo', { holder: 'a', until: soon() });
      assert.ok(first && first !== 'busy');
      assert.equal(first.generation, 0);
      assert.equal(first.shortChunk, undefined);
      assert.equal(await m.leaseUpload(id, 'l/repo', { holder: 'b', until: soon() }), 'busy');
      assert.equal(await m.renewUploadLease(id, { holder: 'b', until: soon() }), false);
      assert.equal(await m.renewUploadLease(id, { holder: 'a', until: soon() }), true);
      assert.equal(await m.deleteUploadIfIdle(id, Date.now() + 1000, Date.now()), false, 'leased: kept');
      assert.equal(await m.releaseUpload(id, 'b', 100), undefined, 'only the holder releases');
      assert.equal(await m.releaseUpload(id, 'a', 100), 1);

      const second = await m.leaseUpload(id, 'l/repo', { holder: 'b', until: Date.now() - 1 });
      assert.ok(second && second !== 'busy');
      assert.deepEqual([second.generation, second.shortChunk], [1, 100]);
      // b's lease ran out (its holder died, say): c takes over, and b can no longer release.
      const third = await m.leaseUpload(id, 'l/repo', { holder: 'c', until: soon() });
      assert.ok(third && third !== 'busy');
      assert.equal(await m.releaseUpload(id, 'b', undefined), undefined);
      assert.equal(await m.releaseUpload(id, 'c', undefined), 2);
      assert.equal((await m.getUpload(id))?.shortChunk, undefined, 'the mark is what the last writer left');

      const listed = (await m.listUploads()).find((u) => u.id === id);
      assert.equal(listed?.leasedUntil, undefined);
      assert.equal(
        await m.deleteUploadIfIdle(id, listed!.touchedAt, Date.now()),
        false,
        'not idle long enough',
      );
      assert.equal(await m.deleteUploadIfIdle(id, listed!.touchedAt + 1, Date.now()), true);
      assert.equal(await m.getUpload(id), undefined);
    });

    test('putManifest needs its blobs in the repository, foreign layers excepted; deleteManifest for gc spares tagged ones', async () => {
      const m = await open();
      const config = blob('{"m":1}');
      const layer = blob('layer');
      const foreign = blob('foreign layer, never pushed');
      const body = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: config.digest, size: 7 },
          layers: [
            { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layer.digest, size: 5 },
            {
              mediaType: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
              digest: foreign.digest,
              size: 27,
              urls: ['https://mcr.microsoft.com/v2/x/blobs/' + foreign.digest],
            },
          ],
        }),
      );
      const parsed = parseManifest(
        body,
        undefined,
        compileUrlPolicy({ allow: ['^https://mcr\\.microsoft\\.com/'], deny: [] }),
      );
      assert.deepEqual(parsed.foreignBlobs, [foreign.digest]);
      const digest = blob(body).digest;
      await m.commitBlob({ repository: 'm/app', digest: config.digest, size: 7 }, present);
      await assert.rejects(
        m.putManifest('m/app', digest, parsed, body, ['v1']),
        /MANIFEST_BLOB_UNKNOWN|not in repository/,
      );
      assert.equal(await m.manifestByTag('m/app', 'v1'), undefined, 'nothing stored');
      await m.commitBlob({ repository: 'm/app', digest: layer.digest, size: 5 }, present);
      await m.putManifest('m/app', digest, parsed, body, ['v1']);
      assert.deepEqual((await m.manifestByTag('m/app', 'v1'))?.content, body);
      const refs = (await m.gcInventory(0)).refs.filter((r) => r.parent === digest).map((r) => r.child);
      assert.deepEqual(refs.sort(), [config.digest, layer.digest, foreign.digest].sort());

      assert.equal(await m.deleteManifest('m/app', digest, Date.now() + 1000), false, 'tagged: gc keeps it');
      assert.equal(await m.deleteTag('m/app', 'v1'), true);
      assert.equal(await m.deleteManifest('m/app', digest, 0), false, 'touched since the cutoff: kept');
      assert.equal(await m.deleteManifest('m/app', digest, Date.now() + 1000), true);
      assert.equal(await m.manifestByDigest('m/app', digest), undefined);

      const again = imageManifest(config, [layer]);
      await m.putManifest('m/app', blob(again).digest, parseManifest(again, undefined), again, ['v2', 'v3']);
      assert.equal(
        await m.deleteManifest('m/app', blob(again).digest),
        true,
        'a client DELETE removes it with its tags',
      );
      assert.deepEqual(await m.listTags('m/app', undefined, undefined), []);
    });

    test('deleteBlobIfUnused removes only an old, unreferenced, unlinked-lately blob, and its bytes inside the transaction', async () => {
      const m = await open();
      const old = blob('old garbage');
      await m.commitBlob({ repository: 'g/app', digest: old.digest, size: 11 }, present);
      let removed = 0;
      const remove = async () => removed++;
      assert.equal(await m.deleteBlobIfUnused(old.digest, Date.now() - 60_000, remove), false, 'young: kept');
      assert.equal(removed, 0);
      assert.equal(await m.deleteBlobIfUnused(old.digest, Date.now() + 1000, remove), true);
      assert.equal(removed, 1);
      assert.equal(await m.blobInRepository('g/app', old.digest), undefined, 'links go with it');
    });

    test('a push recording a digest while gc removes it waits for gc, then finds its bytes gone', async () => {
      const m = await open();
      const b = blob('raced by gc');
      await m.commitBlob({ repository: 'r/app', digest: b.digest, size: 11 }, present);
      const order: string[] = [];
      let push: Promise<boolean> | undefined;
      const removed = await m.deleteBlobIfUnused(b.digest, Date.now() + 1000, async () => {
        push = m.commitBlob({ repository: 'r/other', digest: b.digest, size: 11 }, async () => {
          order.push('push asked for the bytes');
          return false;
        });
        await blockedBehindUs(m);
        order.push('gc removed the bytes');
      });
      assert.equal(removed, true);
      assert.equal(await push, false, 'the push must place its bytes again');
      assert.deepEqual(order, ['gc removed the bytes', 'push asked for the bytes']);
    });

    test('deleteStrayBytes: only bytes without a row, and a push of that digest waits for it', async () => {
      const m = await open();
      const known = blob('has a row');
      await m.commitBlob({ repository: 's/app', digest: known.digest, size: 9 }, present);
      let calls = 0;
      assert.equal(await m.deleteStrayBytes(known.digest, async () => calls++), false);
      assert.equal(calls, 0, 'bytes with a row are not stray');

      const stray = blob('no row');
      const order: string[] = [];
      let push: Promise<boolean> | undefined;
      const removed = await m.deleteStrayBytes(stray.digest, async () => {
        push = m.commitBlob({ repository: 's/app', digest: stray.digest, size: 6 }, async () => {
          order.push('push asked for the bytes');
          return false;
        });
        await blockedBehindUs(m);
        order.push('gc removed the bytes');
      });
      assert.equal(removed, true);
      assert.equal(await push, false);
      assert.deepEqual(order, ['gc removed the bytes', 'push asked for the bytes']);
      assert.equal(
        (await m.gcInventory(0)).blobs.some((x) => x.digest === stray.digest),
        false,
        'no placeholder left',
      );
    });
  });
}

const BLOBS: { name: string; open(): Promise<BlobStore> }[] = [
  {
    name: 'filesystem',
    open: () =>
      createBlobStore(
        { driver: 'filesystem', path: join(temp, 'fs'), azure: { container: 'x', prefix: '' } },
        temp,
      ),
  },
  {
    name: 'azure',
    open: async () =>
      createBlobStore(
        {
          driver: 'azure',
          azure: {
            connectionString: (await sharedAzurite()).connectionString,
            container: 'stores-test',
            prefix: 'p/',
          },
        },
        temp,
      ),
  },
];

async function drain(store: BlobStore, digest: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  const sink = new (await import('node:stream')).Writable({
    write(chunk: Buffer, _encoding, callback) {
      parts.push(Buffer.from(chunk));
      callback();
    },
  });
  const size = (await store.stat(digest))!.size;
  const body = await store.open(digest, { start: 0, end: size - 1 });
  await body.sendTo(sink);
  return Buffer.concat(parts);
}

for (const driver of BLOBS) {
  describe(`BlobStore: ${driver.name}`, () => {
    let store: BlobStore;
    const open = async () => (store ??= await driver.open());
    after(async () => store?.close());

    test('an upload appended chunk by chunk; a chunk cut short leaves the upload where it was', async () => {
      const s = await open();
      await s.createUpload('up-1');
      assert.equal(await s.appendUpload('up-1', 0, Readable.from([Buffer.from('hello ')])), 6);
      const cut = new Readable({
        read() {
          this.push(Buffer.from('partial'));
          this.destroy(new Error('client went away'));
        },
      });
      await assert.rejects(s.appendUpload('up-1', 6, cut));
      assert.equal(await s.uploadSize('up-1'), 6);
      assert.equal(await s.appendUpload('up-1', 6, Readable.from([Buffer.from('world')])), 11);
      const read: Buffer[] = [];
      for await (const chunk of await s.readUpload('up-1')) read.push(chunk as Buffer);
      assert.equal(Buffer.concat(read).toString(), 'hello world');
      assert.ok([...(await list(s.listUploads()))].some((u) => u.id === 'up-1'));
      await s.deleteUpload('up-1');
      assert.equal(await s.uploadSize('up-1'), undefined);
      assert.ok(![...(await list(s.listUploads()))].some((u) => u.id === 'up-1'));
    });

    test('placeUpload publishes verified bytes, is idempotent, and can place them again until the upload is deleted', async () => {
      const s = await open();
      const b = blob(`placed on ${driver.name}`);
      await s.createUpload('up-2');
      await s.appendUpload('up-2', 0, Readable.from([b.bytes]));
      assert.equal(await s.stat(b.digest), undefined);
      await s.placeUpload('up-2', b.digest);
      await s.placeUpload('up-2', b.digest);
      assert.equal((await s.stat(b.digest))?.size, b.bytes.length);
      assert.deepEqual(await drain(s, b.digest), b.bytes);
      assert.ok((await list(s.list())).some((x) => x.digest === b.digest));
      // gc removed the blob before the metadata recorded it: the upload is still the source.
      assert.equal(await s.delete(b.digest), true);
      assert.equal(await s.stat(b.digest), undefined);
      await s.placeUpload('up-2', b.digest);
      assert.deepEqual(await drain(s, b.digest), b.bytes);
      await s.deleteUpload('up-2');
      assert.ok(!(await list(s.listUploads())).some((u) => u.id === 'up-2'));
      assert.deepEqual(await drain(s, b.digest), b.bytes, 'the blob outlives its upload');
      assert.equal(await s.delete(b.digest), true);
      assert.equal(await s.delete(b.digest), false);
    });

    test('a blob already in place is kept when the same content is placed again', async () => {
      const s = await open();
      const b = blob(`same content twice on ${driver.name}`);
      for (const id of ['up-3', 'up-4']) {
        await s.createUpload(id);
        await s.appendUpload(id, 0, Readable.from([b.bytes]));
        await s.placeUpload(id, b.digest);
        await s.deleteUpload(id);
      }
      assert.deepEqual(await drain(s, b.digest), b.bytes);
    });
  });
}

async function list<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}
