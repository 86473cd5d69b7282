import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  BlobServiceClient,
  BlobSASPermissions,
  type BlockBlobClient,
  type ContainerClient,
} from '@azure/storage-blob';
import {
  SizeLimitError,
  type AppendOptions,
  type BlobBody,
  type BlobStore,
  type ByteRange,
  type StoredBlob,
  type StoredUpload,
} from './types.js';

/** Bytes per staged block: bounds memory per concurrent upload (a blob may have 50,000 blocks). */
const BLOCK_SIZE = 8 * 1024 * 1024;

export interface AzureBlobStoreOptions {
  connectionString: string;
  container: string;
  prefix?: string;
}

/**
 * Blobs in an Azure Blob Storage container (or Azurite). Blobs are `<prefix>blobs/<alg>/<hex>`;
 * an upload is a block blob `<prefix>uploads/<id>` whose committed block list grows chunk by chunk
 * (blocks of a failed chunk are never committed, so the chunk leaves nothing). Publishing copies
 * the verified upload to its digest name server-side; the upload is deleted once the blob is recorded.
 */
export class AzureBlobStore implements BlobStore {
  readonly driver = 'azure';
  private readonly container: ContainerClient;
  private readonly prefix: string;

  constructor(options: AzureBlobStoreOptions) {
    // Keep-alive is on by default in the SDK's pipeline; retries are the SDK's defaults.
    this.container = BlobServiceClient.fromConnectionString(options.connectionString).getContainerClient(
      options.container,
    );
    this.prefix = options.prefix ?? '';
  }

  async init(): Promise<this> {
    await this.container.createIfNotExists();
    return this;
  }

  private blob(digest: string): BlockBlobClient {
    const [algorithm, hex] = digest.split(':') as [string, string];
    return this.container.getBlockBlobClient(`${this.prefix}blobs/${algorithm}/${hex}`);
  }

  private upload(id: string): BlockBlobClient {
    return this.container.getBlockBlobClient(`${this.prefix}uploads/${id}`);
  }

  async stat(digest: string): Promise<{ size: number } | undefined> {
    try {
      const props = await this.blob(digest).getProperties();
      if (props.copyStatus && props.copyStatus !== 'success') return undefined;
      return { size: props.contentLength ?? 0 };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async open(digest: string, range?: ByteRange): Promise<BlobBody> {
    const offset = range?.start ?? 0;
    const count = range ? range.end - range.start + 1 : undefined;
    const body = (await this.blob(digest).download(offset, count)).readableStreamBody as Readable;
    return {
      sendTo: (sink) => pipeline(body, sink, { end: false }),
      close: async () => void body.destroy(),
    };
  }

  async delete(digest: string): Promise<boolean> {
    return (await this.blob(digest).deleteIfExists()).succeeded;
  }

  async *list(): AsyncIterable<StoredBlob> {
    const base = `${this.prefix}blobs/`;
    for await (const item of this.container.listBlobsFlat({ prefix: base })) {
      const [algorithm, hex] = item.name.slice(base.length).split('/');
      if (!algorithm || !hex) continue;
      yield {
        digest: `${algorithm}:${hex}`,
        size: item.properties.contentLength ?? 0,
        modifiedAt: item.properties.lastModified,
      };
    }
  }

  async createUpload(id: string): Promise<void> {
    await this.upload(id).commitBlockList([], { conditions: { ifNoneMatch: '*' } });
  }

  async uploadSize(id: string): Promise<number | undefined> {
    try {
      return (await this.upload(id).getProperties()).contentLength ?? 0;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async appendUpload(
    id: string,
    offset: number,
    data: Readable,
    options: AppendOptions = {},
  ): Promise<number> {
    const client = this.upload(id);
    const committed = (await client.getBlockList('committed')).committedBlocks?.map((b) => b.name) ?? [];
    const staged: string[] = [];
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    let total = offset;
    const flush = async () => {
      if (pendingBytes === 0) return;
      const block = Buffer.concat(pending, pendingBytes);
      pending = [];
      pendingBytes = 0;
      // Block ids must all have the same length within a blob; random ones never collide.
      const blockId = randomBytes(24).toString('base64');
      await client.stageBlock(blockId, block, block.length);
      staged.push(blockId);
    };
    // Leaving the loop early must not destroy `data` (the request: the error response goes out on it).
    for await (const chunk of data.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
      total += chunk.length;
      if (options.maxSize && total > options.maxSize) throw new SizeLimitError(options.maxSize);
      options.observe?.(chunk);
      pending.push(chunk);
      pendingBytes += chunk.length;
      if (pendingBytes >= BLOCK_SIZE) await flush();
    }
    await flush();
    // A stream cut short ends iteration with an error above; only a whole chunk gets here.
    if (staged.length > 0) await client.commitBlockList([...committed, ...staged]);
    return total;
  }

  async readUpload(id: string): Promise<Readable> {
    return (await this.upload(id).download()).readableStreamBody as Readable;
  }

  async placeUpload(id: string, digest: string): Promise<void> {
    // Content-addressed: a blob already under this name holds the same (verified) bytes.
    if (await this.stat(digest)) return;
    const source = this.upload(id);
    const target = this.blob(digest);
    const size = (await source.getProperties()).contentLength ?? 0;
    if (size === 0) {
      await target.commitBlockList([]);
      return;
    }
    // A short-lived read SAS lets the service copy server-side without the bytes passing through us.
    const sourceUrl = await source.generateSasUrl({
      permissions: BlobSASPermissions.parse('r'),
      expiresOn: new Date(Date.now() + 15 * 60_000),
    });
    try {
      const poller = await target.beginCopyFromURL(sourceUrl);
      await poller.pollUntilDone();
    } catch (error) {
      // 409: a copy of the same content (another push of this digest) is pending; wait for it.
      if ((error as { statusCode?: number }).statusCode !== 409) throw error;
      await this.waitForCopy(digest);
    }
  }

  private async waitForCopy(digest: string): Promise<void> {
    for (let attempt = 0; attempt < 600; attempt++) {
      if (await this.stat(digest)) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`the copy to blob ${digest} did not finish within a minute`);
  }

  async deleteUpload(id: string): Promise<void> {
    await this.upload(id).deleteIfExists();
  }

  async *listUploads(): AsyncIterable<StoredUpload> {
    const base = `${this.prefix}uploads/`;
    for await (const item of this.container.listBlobsFlat({ prefix: base })) {
      yield {
        id: item.name.slice(base.length),
        size: item.properties.contentLength ?? 0,
        modifiedAt: item.properties.lastModified,
      };
    }
  }

  async close(): Promise<void> {}
}

function isNotFound(error: unknown): boolean {
  return (error as { statusCode?: number }).statusCode === 404;
}
