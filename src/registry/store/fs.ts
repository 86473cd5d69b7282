import { createReadStream } from 'node:fs';
import { link, mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { appendStream } from './file-append.js';
import { SharedReads } from './shared-reads.js';
import {
  type AppendOptions,
  type BlobBody,
  type BlobStore,
  type ByteRange,
  type StoredBlob,
  type StoredUpload,
} from './types.js';

/** Suffix of an upload file whose verified bytes are being published (see placeUpload). */
const PLACING = '.placing';

/** Read size when an upload is re-read to verify it (after a restart). */
const READ_CHUNK = 1024 * 1024;

/**
 * Blobs on a local filesystem: `<root>/blobs/<alg>/<hex[0..2]>/<hex>` (content addressed) and
 * `<root>/uploads/<id>` (one file per upload session, linked into place once verified).
 */
export class FsBlobStore implements BlobStore {
  readonly driver = 'filesystem';
  private readonly blobsDir: string;
  private readonly uploadsDir: string;
  private readonly reads = new SharedReads();

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

  /** A verified upload being published: it takes no more chunks, and is the blob's source until recorded. */
  private placingPath(id: string): string {
    return join(this.uploadsDir, `${id}${PLACING}`);
  }

  async stat(digest: string): Promise<{ size: number } | undefined> {
    try {
      return { size: (await stat(this.blobPath(digest))).size };
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  }

  open(digest: string, range?: ByteRange): Promise<BlobBody> {
    return this.reads.open(this.blobPath(digest), range);
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
    const handle = await open(this.uploadPath(id), 'r+');
    try {
      return await appendStream(handle, offset, data, options);
    } catch (error) {
      // All or nothing: drop whatever part of this chunk reached the file.
      await handle.truncate(offset).catch(() => {});
      throw error;
    } finally {
      await handle.close();
    }
  }

  async readUpload(id: string): Promise<Readable> {
    return createReadStream(this.uploadPath(id), { highWaterMark: READ_CHUNK });
  }

  async placeUpload(id: string, digest: string): Promise<void> {
    const placing = this.placingPath(id);
    // Renamed first, so no later write to the upload can reach the bytes the blob will share (the
    // blob is a hard link to them); an earlier attempt may have done it already.
    try {
      await rename(this.uploadPath(id), placing);
    } catch (error) {
      if (!isMissing(error)) throw error;
    }
    // The bytes reach the disk before the name does: without this, a power loss after the link
    // could leave an empty or partial file under a verified digest (distribution fsyncs each upload
    // too). The new name becomes durable with the file system's next journal commit, as the metadata
    // row does with SQLite's (synchronous=NORMAL): a crash may lose a just-pushed blob as a whole,
    // never leave part of one. Not fsyncing the folder as well halves the fsyncs of a small push
    // (each is a journal commit, and concurrent pushes queue behind one another).
    await syncFile(placing);
    const target = this.blobPath(digest);
    await mkdir(dirname(target), { recursive: true });
    try {
      // A hard link is atomic: readers see either no blob or the whole verified blob, and the bytes
      // keep their upload-side name until the blob is recorded, to be placed again if gc removed them.
      await link(placing, target);
    } catch (error) {
      // Another upload of the same content (verified the same way) is already in place.
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }

  async deleteUpload(id: string): Promise<void> {
    await rm(this.uploadPath(id), { force: true });
    await rm(this.placingPath(id), { force: true });
  }

  async *listUploads(): AsyncIterable<StoredUpload> {
    for (const name of await readdirOrEmpty(this.uploadsDir)) {
      try {
        const info = await stat(join(this.uploadsDir, name));
        const id = name.endsWith(PLACING) ? name.slice(0, -PLACING.length) : name;
        yield { id, size: info.size, modifiedAt: info.mtime };
      } catch (error) {
        if (!isMissing(error)) throw error;
      }
    }
  }

  async close(): Promise<void> {}
}

/** fsync of a file by path. */
async function syncFile(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
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
