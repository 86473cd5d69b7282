import { parseDigest } from './digest.js';
import { OciError } from './errors.js';

export const MEDIA_TYPES = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
} as const;

const INDEX_TYPES = new Set<string>([MEDIA_TYPES.ociIndex, MEDIA_TYPES.dockerManifestList]);
const IMAGE_TYPES = new Set<string>([MEDIA_TYPES.ociManifest, MEDIA_TYPES.dockerManifest]);
export const MANIFEST_MEDIA_TYPES = new Set<string>([...INDEX_TYPES, ...IMAGE_TYPES]);

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
  urls?: unknown;
}

/**
 * Layers clients download from the descriptor's `urls` instead of the registry ("non-distributable",
 * e.g. the base layers of older Windows images): Docker's foreign layer and the OCI image-spec's
 * non-distributable types (deprecated in image-spec 1.1, still in images that exist).
 */
export const FOREIGN_LAYER_TYPES = new Set<string>([
  'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  'application/vnd.oci.image.layer.nondistributable.v1.tar',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd',
]);

/** A configured pattern, compiled, with its text as written (for error messages). */
export interface UrlPattern {
  text: string;
  re: RegExp;
}

/** Which foreign-layer URLs a manifest may name (`registry.validation.manifests.urls`). */
export interface ForeignUrlPolicy {
  allow: UrlPattern[];
  deny: UrlPattern[];
}

export function compileUrlPolicy(urls: { allow: string[]; deny: string[] }): ForeignUrlPolicy {
  const compile = (text: string) => ({ text, re: new RegExp(text) });
  return { allow: urls.allow.map(compile), deny: urls.deny.map(compile) };
}

/** A URL longer than this is refused before any pattern runs on it. */
const MAX_URL_LENGTH = 2048;

/** What the registry needs to know about a manifest it stores. */
export interface ParsedManifest {
  mediaType: string;
  /** Blobs it references (config, layers, blobs of an artifact). They must exist in the repository. */
  blobs: string[];
  /**
   * Foreign layers with allowed `urls`: clients fetch them from there, so they need not be pushed
   * (image-spec; distribution accepts them the same way). Kept by gc if they were pushed anyway.
   */
  foreignBlobs: string[];
  /** Manifests it references (entries of an index). They must exist in the repository. */
  manifests: string[];
  /** The `subject` digest: the manifest this one refers to (referrers API). May not exist yet. */
  subject?: string;
  /** `artifactType`, or for an image the config's media type (spec: referrers "artifactType"). */
  artifactType?: string;
  annotations?: Record<string, string>;
}

/**
 * Validates a manifest body for PUT and lists what it references. `contentType` is the request's
 * Content-Type; when the body also names a mediaType they must agree (spec: "MUST match"). A foreign
 * layer's URLs must pass `urls` (else MANIFEST_INVALID); a foreign layer without URLs must be pushed.
 */
export function parseManifest(
  body: Buffer,
  contentType: string | undefined,
  urls: ForeignUrlPolicy = { allow: [], deny: [] },
): ParsedManifest {
  let doc: unknown;
  try {
    doc = JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw new OciError('MANIFEST_INVALID', `manifest is not valid JSON: ${(error as Error).message}`);
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc))
    throw new OciError('MANIFEST_INVALID', 'manifest must be a JSON object');
  const m = doc as Record<string, unknown>;
  if (m.schemaVersion !== 2)
    throw new OciError(
      'MANIFEST_INVALID',
      'manifest schemaVersion must be 2 (schema 1 manifests are not supported)',
    );
  const declared = typeof m.mediaType === 'string' ? m.mediaType : undefined;
  const type = cleanContentType(contentType);
  if (declared && type && type !== declared && MANIFEST_MEDIA_TYPES.has(type)) {
    throw new OciError(
      'MANIFEST_INVALID',
      `Content-Type ${type} does not match the manifest's mediaType ${declared}`,
    );
  }
  const mediaType = declared ?? (type && MANIFEST_MEDIA_TYPES.has(type) ? type : guessMediaType(m));
  if (!MANIFEST_MEDIA_TYPES.has(mediaType))
    throw new OciError('MANIFEST_INVALID', `unsupported manifest media type "${mediaType}"`);

  const parsed: ParsedManifest = { mediaType, blobs: [], foreignBlobs: [], manifests: [] };
  if (INDEX_TYPES.has(mediaType)) {
    if (!Array.isArray(m.manifests))
      throw new OciError('MANIFEST_INVALID', 'an index must have a "manifests" array');
    parsed.manifests = m.manifests.map((d, i) => descriptor(d, `manifests[${i}]`).digest);
  } else {
    if (m.config === undefined)
      throw new OciError('MANIFEST_INVALID', 'an image manifest must have a "config" descriptor');
    const config = descriptor(m.config, 'config');
    if (!Array.isArray(m.layers))
      throw new OciError('MANIFEST_INVALID', 'an image manifest must have a "layers" array');
    const layers = m.layers.map((d, i) => descriptor(d, `layers[${i}]`));
    const foreign = layers.filter((l, i) => isForeign(l, `layers[${i}]`, urls));
    parsed.blobs = [config.digest, ...layers.filter((l) => !foreign.includes(l)).map((l) => l.digest)];
    parsed.foreignBlobs = foreign.map((l) => l.digest);
    parsed.artifactType = config.mediaType;
  }
  if (typeof m.artifactType === 'string') parsed.artifactType = m.artifactType;
  if (m.subject !== undefined) parsed.subject = descriptor(m.subject, 'subject').digest;
  if (m.annotations && typeof m.annotations === 'object')
    parsed.annotations = m.annotations as Record<string, string>;
  parsed.blobs = [...new Set(parsed.blobs)];
  parsed.foreignBlobs = [...new Set(parsed.foreignBlobs)].filter((d) => !parsed.blobs.includes(d));
  parsed.manifests = [...new Set(parsed.manifests)];
  return parsed;
}

function descriptor(value: unknown, where: string): Descriptor {
  if (!value || typeof value !== 'object')
    throw new OciError('MANIFEST_INVALID', `${where} must be a descriptor object`);
  const d = value as Record<string, unknown>;
  if (typeof d.mediaType !== 'string')
    throw new OciError('MANIFEST_INVALID', `${where}.mediaType must be a string`);
  if (typeof d.digest !== 'string')
    throw new OciError('MANIFEST_INVALID', `${where}.digest must be a string`);
  if (typeof d.size !== 'number' || !Number.isSafeInteger(d.size) || d.size < 0)
    throw new OciError('MANIFEST_INVALID', `${where}.size must be a non-negative integer`);
  try {
    parseDigest(d.digest);
  } catch (error) {
    throw new OciError('MANIFEST_INVALID', `${where}.digest: ${(error as Error).message}`);
  }
  return d as unknown as Descriptor;
}

/**
 * Whether a layer is one clients fetch from its URLs: a foreign type with a non-empty `urls` list,
 * every entry an http(s) URL without a fragment that matches an allow pattern and no deny pattern
 * (distribution's rules). A URL that fails is refused with MANIFEST_INVALID naming it and why.
 */
function isForeign(layer: Descriptor, where: string, policy: ForeignUrlPolicy): boolean {
  if (!FOREIGN_LAYER_TYPES.has(layer.mediaType) || layer.urls === undefined) return false;
  if (!Array.isArray(layer.urls) || layer.urls.some((u) => typeof u !== 'string'))
    throw new OciError('MANIFEST_INVALID', `${where}.urls must be an array of strings`);
  const list = layer.urls as string[];
  list.forEach((url, i) => checkForeignUrl(url, `${where}.urls[${i}]`, policy));
  return list.length > 0;
}

function checkForeignUrl(url: string, where: string, policy: ForeignUrlPolicy): void {
  const refuse = (why: string, detail: Record<string, unknown> = {}) =>
    new OciError('MANIFEST_INVALID', `${where}: foreign layer URL ${why}`, {
      detail: { url: url.slice(0, 200), ...detail },
    });
  if (url.length > MAX_URL_LENGTH) throw refuse(`is longer than ${MAX_URL_LENGTH} characters`);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw refuse('is not a URL');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw refuse('must be http or https');
  if (url.includes('#')) throw refuse('must not have a fragment');
  if (!policy.allow.some((p) => p.re.test(url)))
    throw refuse(
      `${url.slice(0, 200)} matches no pattern of registry.validation.manifests.urls.allow; push the layer itself, or allow its host`,
    );
  const denied = policy.deny.find((p) => p.re.test(url));
  if (denied)
    throw refuse(
      `${url.slice(0, 200)} is refused by registry.validation.manifests.urls.deny (${denied.text})`,
      {
        pattern: denied.text,
      },
    );
}

function guessMediaType(m: Record<string, unknown>): string {
  return Array.isArray(m.manifests) ? MEDIA_TYPES.ociIndex : MEDIA_TYPES.ociManifest;
}

export function cleanContentType(value: string | undefined): string | undefined {
  return value?.split(';')[0]?.trim().toLowerCase() || undefined;
}
