import { randomUUID, type Hash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { hasherFor, type Algorithm, type Digest } from './digest.js';
import { OciError } from './errors.js';
import type { MetadataStore } from './meta/store.js';
import { SizeLimitError, type BlobStore } from './store/index.js';

interface RunningHash {
  algorithm: Algorithm;
  hash: Hash;
  /** Bytes hashed so far; the hash is only usable while this equals the upload's size. */
  offset: number;
}

export interface ChunkRange {
  start: number;
  end: number;
}

/** What the API layer enforces on a chunk (from the registry config). */
export interface ChunkPolicy {
  /** `OCI-Chunk-Min-Length`: every chunk but the last must be at least this long (0 = no minimum). */
  minLength: number;
}

/**
 * Upload sessions: POST starts one, PATCH appends, PUT ?digest= verifies and publishes. Bytes go to
 * the store's private upload location; only a verified digest makes them visible as a blob.
 * The running hash is kept in memory so a streamed push is hashed once, as it arrives; after a
 * restart (or for another algorithm) the upload is re-read to verify it.
 */
/**
 * Running hashes (and short-chunk marks) kept at most. An upload a client abandons would otherwise
 * keep its entry until a restart, so many abandoned uploads could grow memory without bound; the
 * oldest entry goes first, and an upload whose hash was dropped is re-read once to verify it.
 */
export const MAX_TRACKED_UPLOADS = 1024;

/** Sets `key` as the newest entry, dropping the oldest past MAX_TRACKED_UPLOADS. */
function setBounded<V>(map: Map<string, V>, key: string, value: V): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > MAX_TRACKED_UPLOADS) map.delete(map.keys().next().value!);
}

export class UploadService {
  private readonly hashes = new Map<string, RunningHash>();
  /** Upload ids with a PATCH or PUT in progress: a second concurrent writer gets 416. */
  private readonly busy = new Set<string>();
  /**
   * Uploads whose last chunk was shorter than the minimum, with that chunk's length. Such a chunk is
   * accepted because it may be the last one (the server cannot know); any chunk after it proves it
   * was not, and is refused. Kept in memory: after a restart the next chunk is accepted.
   */
  private readonly endedShort = new Map<string, number>();

  constructor(
    private readonly store: BlobStore,
    private readonly meta: MetadataStore,
    private readonly limits: { maxBlobBytes: number },
  ) {}

  async start(repository: string, algorithm: Algorithm = 'sha256'): Promise<string> {
    const id = randomUUID();
    await this.store.createUpload(id);
    await this.meta.createUpload(id, repository);
    setBounded(this.hashes, id, { algorithm, hash: hasherFor(algorithm), offset: 0 });
    return id;
  }

  /** The upload's size, after checking it belongs to `repository`. */
  async size(repository: string, id: string): Promise<number> {
    const session = await this.meta.getUpload(id);
    const size = session && session.repository === repository ? await this.store.uploadSize(id) : undefined;
    if (size === undefined)
      throw new OciError('BLOB_UPLOAD_UNKNOWN', `no upload ${id} in repository ${repository}`);
    return size;
  }

  /**
   * Appends one chunk. With `range`, it must start where the upload ends (else 416). With a minimum
   * chunk length, a chunk after a short one is refused with 416 and nothing of it is written.
   */
  async append(
    repository: string,
    id: string,
    data: Readable,
    range?: ChunkRange,
    policy: ChunkPolicy = { minLength: 0 },
  ): Promise<number> {
    return this.exclusive(id, async () => {
      const size = await this.size(repository, id);
      if (range && range.start !== size) {
        throw new OciError(
          'BLOB_UPLOAD_INVALID',
          `chunk starts at ${range.start} but the upload has ${size} bytes: send the chunk that starts at ${size}`,
          {
            status: 416,
            headers: { Range: rangeHeader(size), Location: uploadLocation(repository, id) },
          },
        );
      }
      this.refuseAfterShortChunk(repository, id, size, policy);
      const after = await this.write(id, size, data, range);
      this.noteChunkLength(id, after - size, policy);
      return after;
    });
  }

  /** PUT ?digest=: appends the last chunk (if any), verifies the digest and publishes the blob. */
  async complete(
    repository: string,
    id: string,
    digest: Digest,
    data?: Readable,
    range?: ChunkRange,
    policy: ChunkPolicy = { minLength: 0 },
  ): Promise<number> {
    return this.exclusive(id, async () => {
      let size = await this.size(repository, id);
      if (range && range.start !== size) {
        throw new OciError(
          'BLOB_UPLOAD_INVALID',
          `chunk starts at ${range.start} but the upload has ${size} bytes`,
          {
            status: 416,
            headers: { Range: rangeHeader(size), Location: uploadLocation(repository, id) },
          },
        );
      }
      if (data) {
        // The PUT's body is the last chunk (any length), but it cannot follow a short chunk.
        this.refuseAfterShortChunk(repository, id, size, policy);
        size = await this.write(id, size, data, range);
      }
      const actual = await this.digestOf(id, digest.algorithm, size);
      if (actual !== digest.value) {
        // The bytes are not what the client meant: drop the session so nothing of it is kept.
        await this.cancelQuietly(id);
        throw new OciError(
          'DIGEST_INVALID',
          `the uploaded content has digest ${actual}, not ${digest.value}`,
          { detail: { expected: digest.value, actual } },
        );
      }
      await this.meta.commitBlob(repository, digest.value, size, () =>
        this.store.commitUpload(id, digest.value),
      );
      await this.meta.deleteUpload(id);
      this.hashes.delete(id);
      this.endedShort.delete(id);
      return size;
    });
  }

  /**
   * POST ?digest=: the whole blob in one request. No session row is needed (nobody can resume it);
   * the bytes still go to a private upload file first, verified, then moved into place. If the
   * process dies midway, gc removes the stray upload file once it expires.
   */
  async monolithic(repository: string, digest: Digest, data: Readable): Promise<number> {
    const id = randomUUID();
    setBounded(this.hashes, id, {
      algorithm: digest.algorithm,
      hash: hasherFor(digest.algorithm),
      offset: 0,
    });
    try {
      await this.store.createUpload(id);
      const size = await this.write(id, 0, data, undefined, false);
      const actual = await this.digestOf(id, digest.algorithm, size);
      if (actual !== digest.value) {
        throw new OciError(
          'DIGEST_INVALID',
          `the uploaded content has digest ${actual}, not ${digest.value}`,
          {
            detail: { expected: digest.value, actual },
          },
        );
      }
      await this.meta.commitBlob(repository, digest.value, size, () =>
        this.store.commitUpload(id, digest.value),
      );
      return size;
    } catch (error) {
      await this.store.deleteUpload(id).catch(() => {});
      throw error;
    } finally {
      this.hashes.delete(id);
    }
  }

  async cancel(repository: string, id: string): Promise<void> {
    await this.size(repository, id);
    await this.cancelQuietly(id);
  }

  private async cancelQuietly(id: string): Promise<void> {
    this.hashes.delete(id);
    this.endedShort.delete(id);
    await this.store.deleteUpload(id);
    await this.meta.deleteUpload(id);
  }

  /**
   * OCI-Chunk-Min-Length: "each chunk, except for the final chunk, SHOULD be greater or equal to that
   * value", and a registry that cannot accept a chunk answers 416 with the upload's Range. A short
   * chunk is only known not to be the final one when another chunk follows it, so that next chunk is
   * the one refused; the bytes already accepted stay, and the upload can still be completed or cancelled.
   */
  private refuseAfterShortChunk(repository: string, id: string, size: number, policy: ChunkPolicy): void {
    const short = this.endedShort.get(id);
    if (policy.minLength <= 0 || short === undefined) return;
    throw new OciError(
      'BLOB_UPLOAD_INVALID',
      `the previous chunk was ${short} bytes, below OCI-Chunk-Min-Length ${policy.minLength}; only the last chunk may be shorter. ` +
        `The upload keeps its ${size} bytes: complete it with PUT ?digest= or start again with chunks of at least ${policy.minLength} bytes`,
      {
        status: 416,
        headers: { Range: rangeHeader(size), Location: uploadLocation(repository, id) },
        detail: { chunkMinLength: policy.minLength, previousChunk: short },
      },
    );
  }

  private noteChunkLength(id: string, length: number, policy: ChunkPolicy): void {
    if (policy.minLength > 0 && length > 0 && length < policy.minLength)
      setBounded(this.endedShort, id, length);
  }

  private async write(
    id: string,
    offset: number,
    data: Readable,
    range?: ChunkRange,
    session = true,
  ): Promise<number> {
    const running = this.hashes.get(id);
    const hashable = running && running.offset === offset ? running : undefined;
    // A hash that sees a chunk which then fails is no longer valid: copy it and commit on success.
    const hash = hashable ? hashable.hash.copy() : undefined;
    let size: number;
    try {
      // The store never destroys `data` (the request): the error response still goes out on it.
      size = await this.store.appendUpload(id, offset, data, {
        maxSize: this.limits.maxBlobBytes || undefined,
        observe: hash ? (chunk) => hash.update(chunk) : undefined,
      });
    } catch (error) {
      if (error instanceof SizeLimitError) {
        throw new OciError(
          'SIZE_INVALID',
          `blob is larger than the registry's limit of ${error.limit} bytes`,
          { status: 413 },
        );
      }
      throw error;
    }
    if (range && size - 1 !== range.end) {
      await this.cancelQuietly(id);
      throw new OciError(
        'SIZE_INVALID',
        `Content-Range said the chunk ends at ${range.end} but it ended at ${size - 1}; the upload was cancelled`,
      );
    }
    if (hashable && hash) setBounded(this.hashes, id, { algorithm: hashable.algorithm, hash, offset: size });
    else this.hashes.delete(id);
    if (session) await this.meta.touchUpload(id);
    return size;
  }

  private async digestOf(id: string, algorithm: Algorithm, size: number): Promise<string> {
    const running = this.hashes.get(id);
    if (running && running.algorithm === algorithm && running.offset === size)
      return `${algorithm}:${running.hash.digest('hex')}`;
    const hash = hasherFor(algorithm);
    for await (const chunk of await this.store.readUpload(id)) hash.update(chunk as Buffer);
    return `${algorithm}:${hash.digest('hex')}`;
  }

  private async exclusive<T>(id: string, fn: () => Promise<T>): Promise<T> {
    if (this.busy.has(id)) {
      throw new OciError('BLOB_UPLOAD_INVALID', `upload ${id} is being written by another request`, {
        status: 416,
      });
    }
    this.busy.add(id);
    try {
      return await fn();
    } finally {
      this.busy.delete(id);
    }
  }
}

export function uploadLocation(repository: string, id: string): string {
  return `/v2/${repository}/blobs/uploads/${id}`;
}

/** The `Range` header of an upload: the inclusive range of bytes received (`0-0` when empty, as distribution does). */
export function rangeHeader(size: number): string {
  return `0-${Math.max(size - 1, 0)}`;
}
