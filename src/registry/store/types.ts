import type { Readable, Writable } from 'node:stream';

/** Inclusive byte range, as in HTTP `Range: bytes=start-end`. */
export interface ByteRange {
  start: number;
  end: number;
}

export interface StoredBlob {
  digest: string;
  size: number;
  modifiedAt: Date;
}

export interface StoredUpload {
  id: string;
  size: number;
  modifiedAt: Date;
}

export interface AppendOptions {
  /** Sees every chunk as it is written (the upload service hashes with it). */
  observe?: (chunk: Buffer) => void;
  /** Fail with SizeLimitError once the upload would grow past this many bytes. */
  maxSize?: number;
}

/** An opened blob (or range of one), ready to be sent. */
export interface BlobBody {
  /**
   * Writes every byte to `sink` (without ending it) and resolves once all were accepted; rejects when
   * the sink closes first. Call it once; it releases the body either way.
   */
  sendTo(sink: Writable): Promise<void>;
  /** Releases a body that will not be sent. */
  close(): Promise<void>;
}

export class SizeLimitError extends Error {
  constructor(readonly limit: number) {
    super(`blob exceeds the limit of ${limit} bytes`);
    this.name = 'SizeLimitError';
  }
}

/**
 * Where blob bytes live: content-addressed, immutable blobs plus private upload files. Uploads are
 * written to their own location and only `placeUpload` (after the caller verified the digest) makes
 * bytes visible under a digest, so a killed upload never leaves a partial blob behind. Every method
 * may be called by several registry processes sharing the store at once.
 */
export interface BlobStore {
  readonly driver: string;
  stat(digest: string): Promise<{ size: number } | undefined>;
  /**
   * Opens the blob (or one range of it) for sending. Throws when the blob is missing, so the caller
   * can still answer with an error before any byte of the response is written.
   */
  open(digest: string, range?: ByteRange): Promise<BlobBody>;
  delete(digest: string): Promise<boolean>;
  /** Every stored blob, for garbage collection. */
  list(): AsyncIterable<StoredBlob>;

  createUpload(id: string): Promise<void>;
  /** Bytes received so far, or undefined when there is no such upload. */
  uploadSize(id: string): Promise<number | undefined>;
  /**
   * Appends `data` at `offset` (which must be the current size). All or nothing: when the stream
   * fails or is cut, the upload is left at `offset`. Returns the new size. Never destroys `data`
   * (it is the HTTP request, on which the error response still has to go out); a `data` that closes
   * before its end fails the append.
   */
  appendUpload(id: string, offset: number, data: Readable, options?: AppendOptions): Promise<number>;
  readUpload(id: string): Promise<Readable>;
  /**
   * Makes a verified upload's bytes the blob `digest` (a blob already there holds the same bytes and
   * is kept). Idempotent; the upload itself stays until `deleteUpload`, so the bytes can be placed
   * again if garbage collection removed them before the metadata recorded the blob.
   */
  placeUpload(id: string, digest: string): Promise<void>;
  deleteUpload(id: string): Promise<void>;
  listUploads(): AsyncIterable<StoredUpload>;
  close(): Promise<void>;
}
