import { read as readFd } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import type { BlobBody, ByteRange } from './types.js';

/** Bytes per read. Chunks sit at multiples of this in the file, so downloads of one blob share them. */
export const CHUNK_SIZE = 1024 * 1024;
/** Chunks no download holds any more, kept for other downloads of the same blob (all blobs together). */
const IDLE_BUDGET = 8 * CHUNK_SIZE;
/** Buffers kept for reuse once evicted; more are allocated when needed and left to the GC. */
const POOL_LIMIT = 16;
/**
 * Chunks one download holds: the one being written and the next one being read. With many downloads
 * at once each holds one, so memory stays bounded when they are spread over a big blob.
 */
const FEW_DOWNLOADS = 8;

interface Chunk {
  file: OpenBlobFile;
  index: number;
  buffer?: Buffer;
  length: number;
  /** Downloads holding the chunk (reading it, or with a socket write of it in flight). */
  holders: number;
  ready: boolean;
  error?: Error;
  waiters: ((error?: Error) => void)[];
}

interface OpenBlobFile {
  path: string;
  /** Settles once the file is open (handle and size set) or could not be opened. */
  opened: Promise<void>;
  handle?: FileHandle;
  size: number;
  /** Downloads using the file; it closes when the last one ends and no read is in flight. */
  users: number;
  reading: number;
  released: boolean;
  chunks: Map<number, Chunk>;
}

/**
 * Blob downloads from local files, without sendfile (Node has none): each chunk of a blob is read
 * once into a pooled buffer and written to every socket that wants it while it is cached, and
 * buffers are reused instead of allocated per read (no page faults on fresh memory, no GC churn).
 * A buffer goes back to the pool only when no download holds its chunk, i.e. after every socket
 * write of it has called back: until then the kernel may still copy from it.
 */
export class SharedReads {
  private readonly files = new Map<string, OpenBlobFile>();
  /** Unheld chunks in least-recently-used order. */
  private readonly idle = new Set<Chunk>();
  private idleBytes = 0;
  private readonly pool: Buffer[] = [];
  private downloads = 0;
  private reads = 0;

  /** Counters for tests and diagnostics: reads issued so far, files open now, bytes of idle chunks. */
  stats(): { reads: number; openFiles: number; idleBytes: number } {
    return { reads: this.reads, openFiles: this.files.size, idleBytes: this.idleBytes };
  }

  /** Opens `path` for sending `range` (the whole file without one); throws when it is missing or too short. */
  async open(path: string, range?: ByteRange): Promise<BlobBody> {
    const file = await this.acquireFile(path);
    const start = range?.start ?? 0;
    const end = range?.end ?? file.size - 1;
    if (end >= file.size) {
      this.releaseFile(file);
      throw Object.assign(new Error(`${path} has ${file.size} bytes; byte ${end} was asked for`), {
        code: 'ENOENT',
      });
    }
    let sent = false;
    return {
      sendTo: (sink) => {
        if (sent) return Promise.reject(new Error('a blob body can be sent once'));
        sent = true;
        return this.send(file, start, end, sink).finally(() => this.releaseFile(file));
      },
      close: async () => {
        if (sent) return;
        sent = true;
        this.releaseFile(file);
      },
    };
  }

  private send(file: OpenBlobFile, start: number, end: number, sink: Writable): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.downloads++;
      const depth = this.downloads <= FEW_DOWNLOADS ? 2 : 1;
      const last = Math.floor(end / CHUNK_SIZE);
      let next = Math.floor(start / CHUNK_SIZE);
      let ahead = next;
      const held: Chunk[] = [];
      let done = false;
      const finish = (error?: Error) => {
        if (done) return;
        done = true;
        this.downloads--;
        sink.off('close', onClose);
        for (const chunk of held.splice(0)) this.releaseChunk(chunk);
        if (error) reject(error);
        else resolve();
      };
      const onClose = () => finish(Object.assign(new Error('client went away'), { code: 'ECONNRESET' }));
      sink.once('close', onClose);
      const step = () => {
        if (done) return;
        if (next > last) return finish();
        while (ahead <= last && held.length < depth) held.push(this.acquireChunk(file, ahead++));
        const chunk = held[0]!;
        whenReady(chunk, (error) => {
          if (done) return;
          if (error) return finish(error);
          const base = chunk.index * CHUNK_SIZE;
          const from = Math.max(start, base) - base;
          const to = Math.min(end + 1, base + chunk.length) - base;
          sink.write(chunk.buffer!.subarray(from, to), (writeError) => {
            if (done) return;
            held.shift();
            this.releaseChunk(chunk);
            next++;
            if (writeError) finish(writeError);
            else step();
          });
        });
      };
      step();
    });
  }

  private async acquireFile(path: string): Promise<OpenBlobFile> {
    let file = this.files.get(path);
    if (!file) {
      const created: OpenBlobFile = {
        path,
        opened: Promise.resolve(),
        size: 0,
        users: 0,
        reading: 0,
        released: false,
        chunks: new Map(),
      };
      created.opened = (async () => {
        created.handle = await open(path, 'r');
        created.size = (await created.handle.stat()).size;
      })();
      this.files.set(path, created);
      file = created;
    }
    // Counted before waiting, so a download ending meanwhile cannot close the file under this one.
    file.users++;
    try {
      await file.opened;
    } catch (error) {
      this.releaseFile(file);
      throw error;
    }
    return file;
  }

  private releaseFile(file: OpenBlobFile): void {
    if (--file.users > 0) return;
    // Every download of it has ended, so none holds a chunk: all are idle or still being read.
    for (const chunk of file.chunks.values()) this.evict(chunk);
    if (this.files.get(file.path) === file) this.files.delete(file.path);
    file.released = true;
    closeWhenIdle(file);
  }

  private acquireChunk(file: OpenBlobFile, index: number): Chunk {
    let chunk = file.chunks.get(index);
    if (chunk) {
      if (chunk.holders === 0 && this.idle.delete(chunk)) this.idleBytes -= chunk.length;
      chunk.holders++;
      return chunk;
    }
    const length = Math.min(CHUNK_SIZE, file.size - index * CHUNK_SIZE);
    chunk = { file, index, length, holders: 1, ready: false, waiters: [], buffer: this.buffer() };
    file.chunks.set(index, chunk);
    const target = chunk;
    file.reading++;
    this.reads++;
    readFully(file.handle!.fd, target.buffer!, length, index * CHUNK_SIZE, (error) => {
      file.reading--;
      closeWhenIdle(file);
      target.ready = true;
      if (error) {
        target.error = error;
        // A failed read is not cached: the next download of this chunk tries again.
        if (file.chunks.get(index) === target) file.chunks.delete(index);
      }
      for (const waiter of target.waiters.splice(0)) waiter(target.error);
      if (target.holders === 0) this.makeIdle(target);
    });
    return chunk;
  }

  private releaseChunk(chunk: Chunk): void {
    if (--chunk.holders > 0 || !chunk.ready) return; // a read in flight finishes first
    this.makeIdle(chunk);
  }

  private makeIdle(chunk: Chunk): void {
    if (chunk.error || chunk.file.chunks.get(chunk.index) !== chunk) return this.evict(chunk);
    this.idle.add(chunk);
    this.idleBytes += chunk.length;
    for (const oldest of this.idle) {
      if (this.idleBytes <= IDLE_BUDGET) break;
      this.evict(oldest);
    }
  }

  private evict(chunk: Chunk): void {
    if (this.idle.delete(chunk)) this.idleBytes -= chunk.length;
    if (chunk.file.chunks.get(chunk.index) === chunk) chunk.file.chunks.delete(chunk.index);
    if (chunk.buffer && chunk.holders === 0 && chunk.ready) {
      if (this.pool.length < POOL_LIMIT) this.pool.push(chunk.buffer);
      chunk.buffer = undefined;
    }
  }

  private buffer(): Buffer {
    return this.pool.pop() ?? Buffer.allocUnsafeSlow(CHUNK_SIZE);
  }
}

/** Closes a file no download uses once no read is in flight (closing under a read could reuse its fd). */
function closeWhenIdle(file: OpenBlobFile): void {
  if (!file.released || file.reading > 0 || !file.handle) return;
  const handle = file.handle;
  file.handle = undefined;
  void handle.close().catch(() => {});
}

function whenReady(chunk: Chunk, callback: (error?: Error) => void): void {
  if (chunk.ready) callback(chunk.error);
  else chunk.waiters.push(callback);
}

/** Reads exactly `length` bytes at `position`; a file that ends early is an error, not a short chunk. */
function readFully(
  fd: number,
  buffer: Buffer,
  length: number,
  position: number,
  done: (error?: Error) => void,
  offset = 0,
): void {
  readFd(fd, buffer, offset, length - offset, position + offset, (error, bytesRead) => {
    if (error) return done(error);
    if (bytesRead === 0) return done(new Error(`blob file ended at ${position + offset}, expected more`));
    if (offset + bytesRead < length) return readFully(fd, buffer, length, position, done, offset + bytesRead);
    done();
  });
}
