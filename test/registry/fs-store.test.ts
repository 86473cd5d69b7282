// The filesystem blob store's byte paths, driven directly: appending a request body (batched
// writes, size limit, a body cut short) and sending blobs through shared, pooled read buffers.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable, Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep, setImmediate as tick } from 'node:timers/promises';
import { FsBlobStore, SizeLimitError } from '../../src/registry/store/index.js';
import { CHUNK_SIZE, SharedReads } from '../../src/registry/store/shared-reads.js';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'berth-fs-store-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/**
 * A sink like a slow socket: it takes its copy of each chunk only when it calls back, a few ticks
 * later. A reader that reused a buffer before the write called back would show up as wrong bytes.
 */
function slowSink(ticks = 2, delayMs = 0): Writable & { bytes(): Buffer } {
  const parts: Buffer[] = [];
  const sink = new Writable({
    highWaterMark: 1,
    write(chunk: Buffer, _encoding, callback) {
      void (async () => {
        for (let i = 0; i < ticks; i++) await tick();
        if (delayMs) await sleep(delayMs);
        parts.push(Buffer.from(chunk));
        callback();
      })();
    },
  });
  return Object.assign(sink, { bytes: () => Buffer.concat(parts) });
}

function file(name: string, bytes: Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

describe('appendUpload', () => {
  test('a body in many small pieces is written in order and every byte is observed once, in order', async () => {
    const store = await new FsBlobStore(join(dir, 'append-order')).init();
    const bytes = randomBytes(3 * 1024 * 1024 + 17);
    const pieces = Array.from({ length: Math.ceil(bytes.length / 4096) }, (_, i) =>
      bytes.subarray(i * 4096, (i + 1) * 4096),
    );
    await store.createUpload('u1');
    const head = bytes.subarray(0, 1000);
    assert.equal(await store.appendUpload('u1', 0, Readable.from([head])), 1000);
    const hash = createHash('sha256').update(head);
    const rest = pieces.map((p, i) => (i === 0 ? p.subarray(1000) : p));
    const size = await store.appendUpload('u1', 1000, Readable.from(rest), {
      observe: (chunk) => hash.update(chunk),
    });
    assert.equal(size, bytes.length);
    assert.equal(hash.digest('hex'), createHash('sha256').update(bytes).digest('hex'));
    assert.ok(readFileSync(join(dir, 'append-order/uploads/u1')).equals(bytes));
  });

  test('a body past the background-sync threshold is whole on disk when the append resolves', async () => {
    const store = await new FsBlobStore(join(dir, 'append-big')).init();
    const bytes = randomBytes(40 * 1024 * 1024 + 5);
    await store.createUpload('big');
    const pieces = Array.from({ length: Math.ceil(bytes.length / 65536) }, (_, i) =>
      bytes.subarray(i * 65536, (i + 1) * 65536),
    );
    assert.equal(await store.appendUpload('big', 0, Readable.from(pieces)), bytes.length);
    assert.ok(readFileSync(join(dir, 'append-big/uploads/big')).equals(bytes));
    await store.deleteUpload('big');
  });

  test('over the size limit: SizeLimitError, the chunk is dropped, and the body is not destroyed', async () => {
    const store = await new FsBlobStore(join(dir, 'append-limit')).init();
    await store.createUpload('u2');
    await store.appendUpload('u2', 0, Readable.from([Buffer.alloc(500, 1)]));
    const body = new PassThrough();
    const appending = store.appendUpload('u2', 500, body, { maxSize: 64 * 1024 });
    for (let i = 0; i < 40; i++) body.write(Buffer.alloc(4096, 2));
    await assert.rejects(appending, SizeLimitError);
    assert.equal(body.destroyed, false, 'the request stays usable for the 413 response');
    assert.equal(await store.uploadSize('u2'), 500);
  });

  test('a body that closes before its end fails the append and leaves the upload as it was', async () => {
    const store = await new FsBlobStore(join(dir, 'append-cut')).init();
    await store.createUpload('u3');
    const body = new PassThrough();
    const appending = store.appendUpload('u3', 0, body);
    body.write(Buffer.alloc(3 * 1024 * 1024, 3));
    await tick();
    body.destroy();
    await assert.rejects(appending, /disconnected|premature|aborted/i);
    assert.equal(await store.uploadSize('u3'), 0);
  });
});

describe('SharedReads', () => {
  test('ranges inside, across and at the ends of read chunks come back byte for byte', async () => {
    const bytes = randomBytes(2 * CHUNK_SIZE + 12345);
    const path = file('ranges', bytes);
    const reads = new SharedReads();
    const ranges = [
      { start: 0, end: 0 },
      { start: 0, end: bytes.length - 1 },
      { start: CHUNK_SIZE - 1, end: CHUNK_SIZE },
      { start: 10, end: 2 * CHUNK_SIZE + 5 },
      { start: 2 * CHUNK_SIZE, end: bytes.length - 1 },
      { start: bytes.length - 1, end: bytes.length - 1 },
    ];
    for (const range of ranges) {
      const sink = slowSink(1);
      await (await reads.open(path, range)).sendTo(sink);
      assert.ok(sink.bytes().equals(bytes.subarray(range.start, range.end + 1)), JSON.stringify(range));
    }
    assert.equal(reads.stats().openFiles, 0, 'the file is closed once no download uses it');
  });

  test('concurrent downloads of one blob share its reads; of different blobs, never each other’s buffers', async () => {
    const a = randomBytes(12 * CHUNK_SIZE);
    const b = randomBytes(3 * CHUNK_SIZE + 1);
    const pathA = file('shared-a', a);
    const pathB = file('shared-b', b);
    const reads = new SharedReads();
    const sinksA = Array.from({ length: 10 }, () => slowSink());
    const sinksB = Array.from({ length: 3 }, () => slowSink(3));
    await Promise.all([
      ...sinksA.map(async (sink) => (await reads.open(pathA)).sendTo(sink)),
      ...sinksB.map(async (sink) => (await reads.open(pathB)).sendTo(sink)),
    ]);
    for (const sink of sinksA) assert.ok(sink.bytes().equals(a));
    for (const sink of sinksB) assert.ok(sink.bytes().equals(b));
    // 12 + 4 chunks (more than are kept idle, so buffers are reused meanwhile); unshared: 132 reads.
    assert.ok(reads.stats().reads <= 32, `reads: ${reads.stats().reads}`);
  });

  test('a buffer is not reused while a slow client’s write of it is pending', async () => {
    // The fast download runs far ahead, so chunks the slow one is still writing become the oldest
    // cached ones; evicting and refilling them before the slow write called back would corrupt it.
    const bytes = randomBytes(24 * CHUNK_SIZE);
    const path = file('slow-and-fast', bytes);
    const reads = new SharedReads();
    const slow = slowSink(0, 15);
    const fast = slowSink(0);
    await Promise.all([(await reads.open(path)).sendTo(slow), (await reads.open(path)).sendTo(fast)]);
    assert.ok(fast.bytes().equals(bytes));
    assert.ok(slow.bytes().equals(bytes));
  });

  test('a download whose client goes away fails alone; the others and later ones still get every byte', async () => {
    const bytes = randomBytes(5 * CHUNK_SIZE);
    const path = file('abort', bytes);
    const reads = new SharedReads();
    const leaving = slowSink();
    const staying = slowSink();
    const sending = (await reads.open(path)).sendTo(leaving);
    const other = (await reads.open(path)).sendTo(staying);
    await tick();
    leaving.destroy();
    await assert.rejects(sending, /went away|destroyed|premature/i);
    await other;
    assert.ok(staying.bytes().equals(bytes));
    const later = slowSink(0);
    await (await reads.open(path)).sendTo(later);
    assert.ok(later.bytes().equals(bytes));
    assert.equal(reads.stats().openFiles, 0);
  });

  test('a file shorter than the range asked for, or missing, is refused before anything is sent', async () => {
    const path = file('short', Buffer.alloc(100));
    const reads = new SharedReads();
    await assert.rejects(reads.open(path, { start: 0, end: 100 }), /has 100 bytes/);
    await assert.rejects(reads.open(join(dir, 'missing')), { code: 'ENOENT' });
    assert.equal(reads.stats().openFiles, 0);
  });
});
