import { createHash, randomBytes, randomFillSync } from 'node:crypto';
import { closeSync, openSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { BlobSource } from './client.js';

/**
 * Writes `size` random bytes to `<dir>/<hex digest>` (the name nginx serves it under) and returns the
 * blob. Random so no layer of the stack can compress or dedupe it; written in 4 MiB pieces.
 */
export function writeRandomBlob(dir: string, size: number): BlobSource & { file: string } {
  const hash = createHash('sha256');
  const tmp = join(dir, `tmp-${size}-${process.pid}`);
  const fd = openSync(tmp, 'w');
  const piece = Buffer.allocUnsafe(Math.min(size, 4 * 1024 * 1024));
  for (let written = 0; written < size;) {
    const n = Math.min(piece.length, size - written);
    randomFillSync(piece, 0, n);
    writeSync(fd, piece, 0, n);
    hash.update(piece.subarray(0, n));
    written += n;
  }
  closeSync(fd);
  const hex = hash.digest('hex');
  const file = join(dir, hex);
  // Rename so the file is only visible under its digest once complete.
  renameSync(tmp, file);
  return { digest: `sha256:${hex}`, size, file };
}

export function memoryBlob(size: number): BlobSource & { bytes: Buffer } {
  const bytes = randomBytes(size);
  return { bytes, size, digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}` };
}

export function jsonBlob(value: unknown): BlobSource & { bytes: Buffer } {
  const bytes = Buffer.from(JSON.stringify(value));
  return { bytes, size: bytes.length, digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}` };
}

/** An OCI image manifest for one config and one layer. */
export function imageManifest(config: BlobSource, layer: BlobSource): Buffer {
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: {
        mediaType: 'application/vnd.oci.image.config.v1+json',
        digest: config.digest,
        size: config.size,
      },
      layers: [
        { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layer.digest, size: layer.size },
      ],
    }),
  );
}

export const MiB = 1024 * 1024;

export function formatSize(bytes: number): string {
  if (bytes >= MiB) return `${bytes / MiB} MiB`;
  if (bytes >= 1024) return `${bytes / 1024} KiB`;
  return `${bytes} B`;
}
