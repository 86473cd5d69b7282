import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  SizeLimitError,
  type AppendOptions,
  type BlobStore,
  type ByteRange,
  type StoredBlob,
  type StoredUpload,
} from './types.js';

/** Default read size for blob downloads and upload re-reads (the api passes its own per request). */
const READ_CHUNK = 128 * 1024;

/**
 * Blobs on a local filesystem: `<root>/blobs/<alg>/<hex[0..2]>/<hex>` (content addressed) and
 * `<root>/uploads/<id>` (one file per upload session, renamed into place once verified).
 */
export class FsBlobStore implements BlobStore {
  readonly driver = 'filesystem';
  private readonly blobsDir: string;
  private readonly uploadsDir: string;

  constructor(readonly root: string) {
    this.blobsDir = join(root, 'blobs');
    this.uploadsDir = join(root, 'uploads');
  }

  async init(): Promise<this> {
    await mkdir(this.blobsDir, { recursive: true });
    await mkdir(this.uploadsDir, { recursive: true });
    return this;
  }

  blobPath(digest: string): string {
    const [algorithm, hex] = digest.split(':') as [string, string];
    return join(this.blobsDir, algorithm, hex.slice(0, 2), hex);
  }

  private uploadPath(id: string): string {
    return join(this.uploadsDir, id);
  }

  async stat(digest: string): Promise<{ size: number } | undefined> {
    try {
      return { size: (await stat(this.blobPath(digest))).size };
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  }

  async read(digest: string, range?: ByteRange, chunkSize = READ_CHUNK): Promise<Readable> {
    // Open first so a missing file is an error here, not on the response stream.
    const handle = await open(this.blobPath(digest), 'r');
    return handle.createReadStream({ highWaterMark: chunkSize, ...(range ?? {}) });
  }

  async delete(digest: string): Promise<boolean> {
    try {
      await rm(this.blobPath(digest));
      return true;
    } catch (error) {
      if (isMissing(error)) return false;
      throw error;
    }
  }

  async *list(): AsyncIterable<StoredBlob> {
    for (const algorithm of await readdirOrEmpty(this.blobsDir)) {
      for (const prefix of await readdirOrEmpty(join(this.blobsDir, algorithm))) {
        for (const hex of await readdirOrEmpty(join(this.blobsDir, algorithm, prefix))) {
          try {
            const info = await stat(join(this.blobsDir, algorithm, prefix, hex));
            yield { digest: `${algorithm}:${hex}`, size: info.size, modifiedAt: info.mtime };
          } catch (error) {
            if (!isMissing(error)) throw error;
          }
        }
      }
    }
  }

  async createUpload(id: string): Promise<void> {
    await (await open(this.uploadPath(id), 'wx')).close();
  }

  async uploadSize(id: string): Promise<number | undefined> {
    try {
      return (await stat(this.uploadPath(id))).size;
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  }

  async appendUpload(
    id: string,
    offset: number,
    data: Readable,
    options: AppendOptions = {},
  ): Promise<number> {
    let written = offset;
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        written += chunk.length;
        if (options.maxSize && written > options.maxSize)
          return callback(new SizeLimitError(options.maxSize));
        options.observe?.(chunk);
        callback(null, chunk);
      },
    });
    try {
      await pipeline(
        data,
        counter,
        createWriteStream(this.uploadPath(id), { flags: 'r+', start: offset, highWaterMark: READ_CHUNK }),
      );
      return written;
    } catch (error) {
      // All or nothing: drop whatever part of this chunk reached the file.
      await truncate(this.uploadPath(id), offset).catch(() => {});
      throw error;
    }
  }

  async readUpload(id: string): Promise<Readable> {
    return createReadStream(this.uploadPath(id), { highWaterMark: READ_CHUNK });
  }

  async commitUpload(id: string, digest: string): Promise<void> {
    const target = this.blobPath(digest);
    await mkdir(join(target, '..'), { recursive: true });
    // rename is atomic: readers see either no blob or the whole verified blob. If another upload
    // of the same content won the race, this replaces identical bytes, which readers cannot tell.
    try {
      await rename(this.uploadPath(id), target);
    } catch (error) {
      // Idempotent: a retried metadata transaction may place the same upload twice.
      if (!isMissing(error) || !(await this.stat(digest))) throw error;
    }
  }

  async deleteUpload(id: string): Promise<void> {
    await rm(this.uploadPath(id), { force: true });
  }

  async *listUploads(): AsyncIterable<StoredUpload> {
    for (const id of await readdirOrEmpty(this.uploadsDir)) {
      try {
        const info = await stat(this.uploadPath(id));
        yield { id, size: info.size, modifiedAt: info.mtime };
      } catch (error) {
        if (!isMissing(error)) throw error;
      }
    }
  }

  async close(): Promise<void> {}
}

function isMissing(error: unknown): boolean {
  return (error as NodeJS.ErrnoException).code === 'ENOENT';
}

async function readdirOrEmpty(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (error) {
    if (isMissing(error)) return [];
    throw error;
  }
}
