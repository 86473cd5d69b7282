import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
export const OCI_LAYER = 'application/vnd.oci.image.layer.v1.tar';
export const OCI_EMPTY = 'application/vnd.oci.empty.v1+json';

export function sha256(bytes: Buffer | string): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

export function sha512(bytes: Buffer | string): string {
  return `sha512:${createHash('sha512').update(bytes).digest('hex')}`;
}

export interface Blob {
  bytes: Buffer;
  digest: string;
}

export function blob(content: Buffer | string): Blob {
  const bytes = Buffer.from(content);
  return { bytes, digest: sha256(bytes) };
}

/** An image manifest referencing `config` and `layers`, optionally an artifact with a subject. */
export function imageManifest(config: Blob, layers: Blob[], extra: Record<string, unknown> = {}): Buffer {
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: OCI_CONFIG, digest: config.digest, size: config.bytes.length },
      layers: layers.map((l) => ({ mediaType: OCI_LAYER, digest: l.digest, size: l.bytes.length })),
      ...extra,
    }),
  );
}

/** Monolithic push: POST ?digest= with the whole blob. */
export async function pushBlob(url: string, repository: string, b: Blob): Promise<Response> {
  return fetch(`${url}/v2/${repository}/blobs/uploads/?digest=${b.digest}`, {
    method: 'POST',
    body: bin(b.bytes),
    headers: { 'Content-Type': 'application/octet-stream' },
  });
}

/** POST to start an upload session; returns its Location. */
export async function startUpload(url: string, repository: string): Promise<string> {
  const res = await fetch(`${url}/v2/${repository}/blobs/uploads/`, { method: 'POST' });
  assert.equal(res.status, 202);
  return res.headers.get('location')!;
}

/** PATCH `bytes` as the chunk of an upload session that starts at `start`. */
export function patchChunk(url: string, location: string, bytes: Buffer, start: number): Promise<Response> {
  return fetch(`${url}${location}`, {
    method: 'PATCH',
    body: bin(bytes),
    headers: {
      'Content-Type': 'application/octet-stream',
      'Content-Range': `${start}-${start + bytes.length - 1}`,
    },
  });
}

export async function putManifest(
  url: string,
  repository: string,
  reference: string,
  body: Buffer,
  contentType = OCI_MANIFEST,
): Promise<Response> {
  return fetch(`${url}/v2/${repository}/manifests/${reference}`, {
    method: 'PUT',
    body: bin(body),
    headers: { 'Content-Type': contentType },
  });
}

/** The first error code of an OCI error body. */
export async function errorCode(response: Response): Promise<string | undefined> {
  const body = (await response.json()) as { errors?: { code: string }[] };
  return body.errors?.[0]?.code;
}

/** A request body from bytes (fetch's types want an ArrayBuffer-backed view). */
export function bin(bytes: Buffer): Uint8Array<ArrayBuffer> {
  return new Uint8Array(bytes);
}
