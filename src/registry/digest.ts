import { createHash, type Hash } from 'node:crypto';
import { OciError } from './errors.js';

/** The digest algorithms this registry verifies (OCI image-spec "Registered algorithms"). */
export const ALGORITHMS = { sha256: 64, sha512: 128 } as const;
export type Algorithm = keyof typeof ALGORITHMS;

export interface Digest {
  algorithm: Algorithm;
  hex: string;
  /** `algorithm:hex`, the canonical string. */
  value: string;
}

const DIGEST_GRAMMAR = /^([a-z0-9]+(?:[+._-][a-z0-9]+)*):([a-zA-Z0-9=_-]+)$/;

/** Parses a digest the registry can verify; anything else is DIGEST_INVALID (400). */
export function parseDigest(value: string): Digest {
  const match = DIGEST_GRAMMAR.exec(value);
  if (!match)
    throw new OciError(
      'DIGEST_INVALID',
      `"${truncate(value)}" is not a digest (expected algorithm:hex, e.g. sha256:<64 hex>)`,
    );
  const algorithm = match[1] as string;
  const hex = match[2] as string;
  if (!(algorithm in ALGORITHMS)) {
    throw new OciError(
      'DIGEST_INVALID',
      `digest algorithm "${algorithm}" is not supported (use sha256 or sha512)`,
      { detail: { digest: truncate(value) } },
    );
  }
  const length = ALGORITHMS[algorithm as Algorithm];
  if (hex.length !== length || !/^[a-f0-9]+$/.test(hex)) {
    throw new OciError('DIGEST_INVALID', `${algorithm} digests are ${length} lower-case hex characters`, {
      detail: { digest: truncate(value) },
    });
  }
  return { algorithm: algorithm as Algorithm, hex, value };
}

export function isDigest(value: string): boolean {
  return /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:/.test(value);
}

export function hasherFor(algorithm: Algorithm): Hash {
  return createHash(algorithm);
}

export function digestOf(bytes: Buffer | string, algorithm: Algorithm = 'sha256'): string {
  return `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`;
}

function truncate(value: string): string {
  return value.length > 200 ? `${value.slice(0, 200)}…` : value;
}
