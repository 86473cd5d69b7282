import { fdatasync, writev } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { SizeLimitError, type AppendOptions } from './types.js';

/**
 * Bytes gathered before a write is started (unless the body ended). Every write is a round trip to
 * the libuv thread pool (and, on an idle machine, a wake-up of a sleeping CPU): one per MiB instead
 * of one per 64 KiB socket read.
 */
const MIN_BATCH = 1024 * 1024;
/**
 * Bytes that may wait for the disk before the source is paused. Bounds memory per upload (this plus
 * the write in flight) while letting one writev take everything that arrived during the last one.
 */
const HIGH_WATER = 2 * MIN_BATCH;
/**
 * Written bytes after which a background fdatasync starts, so the disk works while the rest of the
 * body arrives and the fsync before the blob is published only waits for the tail. Its errors fail
 * the append: a failed write-back that one fsync reported is not reported again to a later one.
 */
const SYNC_EVERY = 32 * 1024 * 1024;

/**
 * Appends `data` to an open file at `offset` and resolves with the new end offset.
 *
 * One step per received chunk: check the size limit, let `observe` see it (the upload hash), queue
 * it. Queued chunks go out in one `writev` once there is MIN_BATCH of them (or the body ended), so
 * a 64 KiB socket read costs one callback instead of three stream hops (PassThrough → Transform →
 * WriteStream) and a write of its own, and the disk write of one batch overlaps with receiving and
 * hashing the next.
 *
 * `data` is never destroyed (it is usually the HTTP request, which must stay usable for the error
 * response); on failure the listeners are removed and it is left paused. The promise settles only
 * once no write is in flight, so the caller may truncate the file right away.
 */
export function appendStream(
  handle: FileHandle,
  offset: number,
  data: Readable,
  options: AppendOptions = {},
): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    let received = offset;
    let position = offset;
    let queue: Buffer[] = [];
    let queued = 0;
    let writing = false;
    let syncing = false;
    let unsynced = 0;
    let ended = false;
    let failure: Error | undefined;

    const settle = () => {
      if (writing || syncing) return; // runs again when the write or sync in flight completes
      detach();
      if (failure) reject(failure);
      else resolve(position);
    };
    const fail = (error: Error) => {
      failure ??= error;
      queue = [];
      queued = 0;
      data.pause();
      settle();
    };
    const flush = () => {
      if (writing || failure) return;
      if (queued === 0 || (queued < MIN_BATCH && !ended)) {
        if (ended) settle();
        return;
      }
      const batch = queue;
      const length = queued;
      queue = [];
      queued = 0;
      writing = true;
      writeAll(handle.fd, batch, length, position, (error) => {
        writing = false;
        if (error) return fail(error);
        position += length;
        unsynced += length;
        if (failure) return settle();
        if (unsynced >= SYNC_EVERY) syncInBackground();
        if (data.isPaused() && !ended) data.resume();
        flush();
      });
    };
    const syncInBackground = () => {
      if (syncing) return;
      syncing = true;
      unsynced = 0;
      fdatasync(handle.fd, (error) => {
        syncing = false;
        if (error) return fail(error);
        if (failure || (ended && queued === 0)) settle();
      });
    };

    const onData = (chunk: Buffer) => {
      if (failure) return;
      received += chunk.length;
      if (options.maxSize && received > options.maxSize) return fail(new SizeLimitError(options.maxSize));
      options.observe?.(chunk);
      queue.push(chunk);
      queued += chunk.length;
      flush();
      if (queued >= HIGH_WATER) data.pause();
    };
    const onEnd = () => {
      ended = true;
      flush();
    };
    const onError = (error: Error) => fail(error);
    const onClose = () => {
      if (!ended) fail(clientGone());
    };
    function detach() {
      data.off('data', onData);
      data.off('end', onEnd);
      data.off('error', onError);
      data.off('close', onClose);
    }

    // The client may have gone while the caller was still checking the session.
    if (data.destroyed) return fail(data.errored ?? clientGone());
    data.on('data', onData);
    data.once('end', onEnd);
    data.once('error', onError);
    data.once('close', onClose);
  });
}

function clientGone(): Error {
  return Object.assign(new Error('client disconnected mid-upload'), { code: 'ECONNRESET' });
}

/** writev until every byte of `buffers` is at `position` (a regular file may take less than all at once). */
function writeAll(
  fd: number,
  buffers: Buffer[],
  length: number,
  position: number,
  done: (error: Error | null) => void,
): void {
  writev(fd, buffers, position, (error, written) => {
    if (error) return done(error);
    if (written === length) return done(null);
    if (written === 0) return done(new Error(`short write: 0 of ${length} bytes at offset ${position}`));
    writeAll(fd, remainder(buffers, written), length - written, position + written, done);
  });
}

function remainder(buffers: Buffer[], skip: number): Buffer[] {
  const rest: Buffer[] = [];
  for (const buffer of buffers) {
    if (skip >= buffer.length) skip -= buffer.length;
    else {
      rest.push(skip > 0 ? buffer.subarray(skip) : buffer);
      skip = 0;
    }
  }
  return rest;
}
