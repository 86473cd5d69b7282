import type { ParsedManifest } from '../manifest.js';

export type MetadataDriver = 'sqlite' | 'postgres';

export interface ManifestRecord {
  digest: string;
  mediaType: string;
  size: number;
  content: Buffer;
}

export interface ReferrerRecord {
  digest: string;
  mediaType: string;
  size: number;
  artifactType: string | null;
  annotations: Record<string, string> | null;
}

/** The shared state of an upload session: every registry process on one database sees the same. */
export interface UploadSession {
  id: string;
  repository: string;
  /**
   * Length of the last chunk when it was shorter than `OCI-Chunk-Min-Length` (it may have been the
   * last one); any chunk after it is refused. Undefined when the last chunk was long enough.
   */
  shortChunk?: number;
  /** Counts completed writes; a process's running hash is only valid for the generation it saw. */
  generation: number;
  touchedAt: number;
  /** Unix ms until which a request holds the upload for writing (undefined: nobody does). */
  leasedUntil?: number;
}

/** A write lease on an upload: only its holder may append to it until `until` (Unix ms). */
export interface UploadLease {
  holder: string;
  until: number;
}

/** What one garbage collection's mark phase reads, all at once. */
export interface GcInventory {
  manifests: {
    repository: string;
    digest: string;
    subject: string | null;
    touchedAt: number;
    size: number;
  }[];
  tagged: { repository: string; digest: string }[];
  /** Edges from a manifest to what it needs: kind 'blob' (config, layers) or 'manifest' (index entries). */
  refs: { repository: string; parent: string; child: string; kind: 'blob' | 'manifest' }[];
  blobs: { digest: string; size: number; touchedAt: number }[];
  /** Digests linked to some repository at or after the cutoff. */
  recentlyLinked: string[];
}

/**
 * Every metadata read and write the registry makes: repositories, blobs and their links, upload
 * sessions, manifests, tags, referrers, and garbage collection's conditional deletes. Implemented
 * once per database (`SqliteMetadataStore`, `PostgresMetadataStore`); nothing outside an
 * implementation issues SQL. Each method that writes is one transaction, so a change and anything
 * recorded with it (an outbox, later) commit together.
 *
 * Safety against garbage collection rests on two rules the implementations keep:
 * - a blob row exists only while its bytes do: pushes place the bytes first and then record the row
 *   (`commitBlob`), and gc removes bytes inside the transaction that removes the row (or proves there
 *   is none), so a push of the same digest waits for gc and then sees the row gone;
 * - every write that starts relying on a blob or manifest touches it in its own transaction, and gc's
 *   deletes re-check "still old and unreferenced" in theirs: whichever commits first wins.
 */
export interface MetadataStore {
  readonly driver: MetadataDriver;
  close(): Promise<void>;

  // --- repositories
  repositoryExists(name: string): Promise<boolean>;
  listRepositories(limit: number | undefined, last: string | undefined): Promise<string[]>;

  // --- blobs
  /** The blob's size when it is linked to `repository` (blobs are served per repository). */
  blobInRepository(repository: string, digest: string): Promise<number | undefined>;
  /**
   * Records a blob whose bytes are already in the store and links it to `repository`; with
   * `uploadId`, the upload session is removed in the same transaction. When the row is new,
   * `bytesPresent` is asked inside the transaction (gc may have removed the bytes between placing and
   * recording): false means nothing was recorded, and the caller places the bytes again and retries.
   */
  commitBlob(
    blob: { repository: string; digest: string; size: number; uploadId?: string },
    bytesPresent: () => Promise<boolean>,
  ): Promise<boolean>;
  /** Cross-repository mount: links an existing blob; false when the blob is gone. */
  mountBlob(repository: string, digest: string): Promise<boolean>;
  unlinkBlob(repository: string, digest: string): Promise<boolean>;

  // --- uploads
  /** A new session; with `lease`, held for writing from the start (a monolithic upload). */
  createUpload(id: string, repository: string, lease?: UploadLease): Promise<void>;
  getUpload(id: string): Promise<UploadSession | undefined>;
  /**
   * Takes the write lease of a session of `repository` when nobody holds it (or its holder's lease
   * ran out). Undefined when there is no such session in that repository; 'busy' when another
   * request holds it.
   */
  leaseUpload(
    id: string,
    repository: string,
    lease: UploadLease,
  ): Promise<UploadSession | 'busy' | undefined>;
  /** Extends a lease its holder still has; false when it was lost. */
  renewUploadLease(id: string, lease: UploadLease): Promise<boolean>;
  /**
   * Ends a write: stores the short-chunk mark, counts the write and frees the lease. Returns the new
   * generation, or undefined when `holder` no longer held the lease (another request took it over).
   */
  releaseUpload(id: string, holder: string, shortChunk: number | undefined): Promise<number | undefined>;
  deleteUpload(id: string): Promise<void>;
  listUploads(): Promise<UploadSession[]>;
  /** gc: deletes the session if it is idle since before `idleBefore` and nobody holds it at `now`. */
  deleteUploadIfIdle(id: string, idleBefore: number, now: number): Promise<boolean>;

  // --- manifests and tags
  /**
   * Stores a manifest and points `tags` at it. Every blob in `parsed.blobs` and child manifest must
   * already be in the repository (else MANIFEST_BLOB_UNKNOWN and nothing is stored); they are touched
   * in the same transaction so gc keeps them. `parsed.foreignBlobs` are recorded but not required.
   */
  putManifest(
    repository: string,
    digest: string,
    parsed: ParsedManifest,
    content: Buffer,
    tags: string[],
  ): Promise<void>;
  manifestByDigest(repository: string, digest: string): Promise<ManifestRecord | undefined>;
  manifestByTag(repository: string, tag: string): Promise<ManifestRecord | undefined>;
  /**
   * Deletes a manifest, the tags pointing at it and its references. With `unusedBefore` (gc), only
   * when no tag points at it and it was not touched since then.
   */
  deleteManifest(repository: string, digest: string, unusedBefore?: number): Promise<boolean>;
  deleteTag(repository: string, tag: string): Promise<boolean>;
  listTags(repository: string, limit: number | undefined, last: string | undefined): Promise<string[]>;
  /** Manifests whose subject is `subject`, in digest order; `after` and `limit` select one page. */
  referrers(
    repository: string,
    subject: string,
    artifactType: string | undefined,
    page?: { after?: string; limit?: number },
  ): Promise<ReferrerRecord[]>;

  // --- garbage collection
  gcInventory(cutoff: number): Promise<GcInventory>;
  /**
   * Deletes the blob's row and links if it was not touched since `unusedBefore`, no manifest
   * references it and no repository linked it since then; `removeBytes` runs inside that transaction.
   */
  deleteBlobIfUnused(
    digest: string,
    unusedBefore: number,
    removeBytes: () => Promise<unknown>,
  ): Promise<boolean>;
  /** Runs `removeBytes` for stored bytes that have no row, while holding off any push of that digest. */
  deleteStrayBytes(digest: string, removeBytes: () => Promise<unknown>): Promise<boolean>;
  /** Drops links older than `before` to blobs no manifest of that repository references. */
  pruneBlobLinks(before: number): Promise<void>;
}
