import { randomUUID, type Hash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { hasherFor, type Algorithm, type Digest } from './digest.js';
import { OciError } from './errors.js';
import type { MetadataStore, UploadSession } from './meta/index.js';
import { SizeLimitError, type BlobStore } from './store/index.js';

interface RunningHash {
  algorithm: Algorithm;
  hash: Hash;
  /** Bytes hashed so far; the hash is only usable while this equals the upload's size. */
  offset: number;
  /** The session's write count this hash has seen: another process's write makes it stale. */
  generation: number;
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
 * Running hashes kept at most. An upload a client abandons would otherwise keep its entry until a
 * restart, so many abandoned uploads could grow memory without bound; the oldest entry goes first,
 * and an upload whose hash was dropped is re-read once to verify it.
 */
export const MAX_TRACKED_UPLOADS = 1024;

/**
 * How long a request holds an upload for writing without renewing. A process that dies mid-chunk
 * keeps the upload busy (416) for at most this long; a live one renews every UPLOAD_LEASE_RENEW_MS.
 */
export const UPLOAD_LEASE_MS = 10_000;
const UPLOAD_LEASE_RENEW_MS = 3_000;

/** Times a verified blob is placed again when gc removed the bytes between placing and recording. */
const PUBLISH_ATTEMPTS = 3;

/** Sets `key` as the newest entry, dropping the oldest past MAX_TRACKED_UPLOADS. */
function setBounded<V>(map: Map<string, V>, key: string, value: V): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > MAX_TRACKED_UPLOADS) map.delete(map.keys().next().value!);
}

/** What a write under the lease leaves behind. */
interface WriteOutcome<T> {
  value: T;
  /** The session's new short-chunk mark (unchanged when omitted). */
  shortChunk?: number;
  /** The session is gone (completed or cancelled): nothing to release. */
  ended?: boolean;
}

/**
 * Upload sessions: POST starts one, PATCH appends, PUT ?digest= verifies and publishes. Bytes go to
 * the store's private upload location; only a verified digest makes them visible as a blob.
 *
 * Everything several registry processes must agree on lives in the metadata store: the session, its
 * short-chunk mark and a write lease, so one request at a time (in any process) writes an upload and
 * its PATCHes may arrive at different processes. What stays in memory is an optimization: the running
 * hash of uploads this process wrote last, so a streamed push is hashed once as it arrives; when
 * another process wrote since (or after a restart) the upload is re-read to verify it.
 */
export class UploadService {
  private readonly hashes = new Map<string, RunningHash>();

  constructor(
    private readonly store: BlobStore,
    private readonly meta: MetadataStore,
    private readonly limits: { maxBlobBytes: number },
  ) {}

  async start(repository: string, algorithm: Algorithm = 'sha256'): Promise<string> {
    const id = randomUUID();
    await this.store.createUpload(id);
    await this.meta.createUpload(id, repository);
    setBounded(this.hashes, id, { algorithm, hash: hasherFor(algorithm), offset: 0, generation: 0 });
    return id;
  }

  /** The upload's size, after checking it belongs to `repository`. */
  async size(repository: string, id: string): Promise<number> {
    const session = await this.meta.getUpload(id);
    const size = session && session.repository === repository ? await this.store.uploadSize(id) : undefined;
    if (size === undefined) throw unknownUpload(repository, id);
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
    return this.leased(repository, id, async (session) => {
      const size = await this.storedSize(repository, id);
      checkStart(repository, id, size, range);
      refuseAfterShortChunk(repository, id, size, session, policy);
      const after = await this.write(id, session, size, data, range);
      const chunk = after - size;
      const short = policy.minLength > 0 && chunk > 0 && chunk < policy.minLength;
      return { value: after, ...(short ? { shortChunk: chunk } : {}) };
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
    return this.leased(repository, id, async (session, holder) => {
      let size = await this.storedSize(repository, id);
      checkStart(repository, id, size, range);
      if (data) {
        // The PUT's body is the last chunk (any length), but it cannot follow a short chunk.
        refuseAfterShortChunk(repository, id, size, session, policy);
        size = await this.write(id, session, size, data, range);
      }
      await this.verify(id, session, digest, size);
      await this.stillHeld(id, holder);
      await this.publish(repository, id, digest.value, size);
      return { value: size, ended: true };
    });
  }

  /**
   * POST ?digest=: the whole blob in one request. Its session is leased from the start, so gc (in any
   * process) sees the upload is being written; the bytes still go to a private upload file first,
   * verified, then published.
   */
  async monolithic(repository: string, digest: Digest, data: Readable): Promise<number> {
    const id = randomUUID();
    const holder = randomUUID();
    await this.store.createUpload(id);
    await this.meta.createUpload(id, repository, { holder, until: Date.now() + UPLOAD_LEASE_MS });
    const session: UploadSession = { id, repository, generation: 0, touchedAt: Date.now() };
    setBounded(this.hashes, id, {
      algorithm: digest.algorithm,
      hash: hasherFor(digest.algorithm),
      offset: 0,
      generation: 0,
    });
    const renewal = this.renewWhileWriting(id, holder);
    try {
      const size = await this.write(id, session, 0, data, undefined);
      await this.verify(id, session, digest, size);
      await this.stillHeld(id, holder);
      await this.publish(repository, id, digest.value, size);
      return size;
    } catch (error) {
      await this.cancelQuietly(id).catch(() => {});
      throw error;
    } finally {
      clearInterval(renewal);
      this.hashes.delete(id);
    }
  }

  async cancel(repository: string, id: string): Promise<void> {
    await this.size(repository, id);
    await this.cancelQuietly(id);
  }

  private async cancelQuietly(id: string): Promise<void> {
    this.hashes.delete(id);
    await this.meta.deleteUpload(id);
    await this.store.deleteUpload(id);
  }

  /**
   * Runs `fn` while holding the upload's write lease (renewed as long as it runs); another request,
   * in this process or another, gets 416 meanwhile. The lease is released with what `fn` left.
   */
  private async leased<T>(
    repository: string,
    id: string,
    fn: (session: UploadSession, holder: string) => Promise<WriteOutcome<T>>,
  ): Promise<T> {
    const holder = randomUUID();
    const session = await this.meta.leaseUpload(id, repository, {
      holder,
      until: Date.now() + UPLOAD_LEASE_MS,
    });
    if (session === undefined) throw unknownUpload(repository, id);
    if (session === 'busy') {
      throw new OciError('BLOB_UPLOAD_INVALID', `upload ${id} is being written by another request`, {
        status: 416,
        // A holder that died keeps the lease until it runs out; a live one finishes its chunk.
        headers: { 'Retry-After': String(Math.ceil(UPLOAD_LEASE_MS / 1000)) },
      });
    }
    const renewal = this.renewWhileWriting(id, holder);
    let outcome: WriteOutcome<T> | undefined;
    try {
      outcome = await fn(session, holder);
      return outcome.value;
    } finally {
      clearInterval(renewal);
      if (!outcome?.ended) await this.release(id, holder, outcome?.shortChunk ?? session.shortChunk);
    }
  }

  /**
   * Before verified bytes are published: the lease must still be this request's. Had it run out and
   * been taken (this process stalled past UPLOAD_LEASE_MS), another request may have written the
   * upload since it was verified, and nothing of it is published.
   */
  private async stillHeld(id: string, holder: string): Promise<void> {
    if (await this.meta.renewUploadLease(id, { holder, until: Date.now() + UPLOAD_LEASE_MS })) return;
    this.hashes.delete(id);
    throw new OciError(
      'BLOB_UPLOAD_INVALID',
      `upload ${id} was written by another request while this one completed it; nothing was published, push the blob again`,
      { status: 409 },
    );
  }

  private renewWhileWriting(id: string, holder: string): NodeJS.Timeout {
    const timer = setInterval(() => {
      this.meta.renewUploadLease(id, { holder, until: Date.now() + UPLOAD_LEASE_MS }).catch(() => {});
    }, UPLOAD_LEASE_RENEW_MS);
    timer.unref();
    return timer;
  }

  /** Frees the lease; this process's running hash follows the session's new write count. */
  private async release(id: string, holder: string, shortChunk: number | undefined): Promise<void> {
    const generation = await this.meta.releaseUpload(id, holder, shortChunk);
    const running = this.hashes.get(id);
    if (!running) return;
    // Lost the lease (this request stalled past it and another took over): the hash may not match.
    if (generation === undefined) this.hashes.delete(id);
    else running.generation = generation;
  }

  private async storedSize(repository: string, id: string): Promise<number> {
    const size = await this.store.uploadSize(id);
    if (size === undefined) throw unknownUpload(repository, id);
    return size;
  }

  private async write(
    id: string,
    session: UploadSession,
    offset: number,
    data: Readable,
    range: ChunkRange | undefined,
  ): Promise<number> {
    const running = this.hashes.get(id);
    const hashable =
      running && running.offset === offset && running.generation === session.generation ? running : undefined;
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
    if (hashable && hash) setBounded(this.hashes, id, { ...hashable, hash, offset: size });
    else this.hashes.delete(id);
    return size;
  }

  /** Checks the upload against the digest the client named; a mismatch cancels the session. */
  private async verify(id: string, session: UploadSession, digest: Digest, size: number): Promise<void> {
    const running = this.hashes.get(id);
    let actual: string;
    if (
      running &&
      running.algorithm === digest.algorithm &&
      running.offset === size &&
      running.generation === session.generation
    ) {
      actual = `${digest.algorithm}:${running.hash.digest('hex')}`;
    } else {
      const hash = hasherFor(digest.algorithm);
      for await (const chunk of await this.store.readUpload(id)) hash.update(chunk as Buffer);
      actual = `${digest.algorithm}:${hash.digest('hex')}`;
    }
    this.hashes.delete(id);
    if (actual === digest.value) return;
    // The bytes are not what the client meant: drop the session so nothing of it is kept.
    await this.cancelQuietly(id);
    throw new OciError('DIGEST_INVALID', `the uploaded content has digest ${actual}, not ${digest.value}`, {
      detail: { expected: digest.value, actual },
    });
  }

  /**
   * Makes a verified upload a blob: the bytes are placed under their digest first, outside any
   * metadata transaction (on Azure Blob a server-side copy), then recorded. A crash in between leaves
   * bytes without a row, which gc removes after its grace period; a gc that removed the bytes in
   * between is noticed by `commitBlob`, and the bytes are placed again from the upload, kept until
   * the blob is recorded.
   */
  private async publish(repository: string, id: string, digest: string, size: number): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      await this.store.placeUpload(id, digest);
      const recorded = await this.meta.commitBlob(
        { repository, digest, size, uploadId: id },
        async () => (await this.store.stat(digest)) !== undefined,
      );
      if (recorded) break;
      if (attempt >= PUBLISH_ATTEMPTS)
        throw new Error(
          `blob ${digest} was removed by garbage collection ${attempt} times while it was being published`,
        );
    }
    await this.store.deleteUpload(id);
  }
}

function unknownUpload(repository: string, id: string): OciError {
  return new OciError('BLOB_UPLOAD_UNKNOWN', `no upload ${id} in repository ${repository}`);
}

function checkStart(repository: string, id: string, size: number, range: ChunkRange | undefined): void {
  if (!range || range.start === size) return;
  throw new OciError(
    'BLOB_UPLOAD_INVALID',
    `chunk starts at ${range.start} but the upload has ${size} bytes: send the chunk that starts at ${size}`,
    {
      status: 416,
      headers: { Range: rangeHeader(size), Location: uploadLocation(repository, id) },
    },
  );
}

/**
 * OCI-Chunk-Min-Length: "each chunk, except for the final chunk, SHOULD be greater or equal to that
 * value", and a registry that cannot accept a chunk answers 416 with the upload's Range. A short
 * chunk is only known not to be the final one when another chunk follows it, so that next chunk is
 * the one refused; the bytes already accepted stay, and the upload can still be completed or cancelled.
 * The mark is in the shared session, so it holds whichever process the next chunk reaches.
 */
function refuseAfterShortChunk(
  repository: string,
  id: string,
  size: number,
  session: UploadSession,
  policy: ChunkPolicy,
): void {
  const short = session.shortChunk;
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

export function uploadLocation(repository: string, id: string): string {
  return `/v2/${repository}/blobs/uploads/${id}`;
}

/** The `Range` header of an upload: the inclusive range of bytes received (`0-0` when empty, as distribution does). */
export function rangeHeader(size: number): string {
  return `0-${Math.max(size - 1, 0)}`;
}
