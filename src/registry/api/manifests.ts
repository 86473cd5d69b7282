import { digestOf, isDigest, parseDigest } from '../digest.js';
import { OciError } from '../errors.js';
import { parseManifest } from '../manifest.js';
import { isValidTag } from '../names.js';
import type { ManifestRecord } from '../meta/index.js';
import {
  authorize,
  methodNotAllowed,
  pushScopes,
  type RegistryContext,
  type RouteRequest,
} from './context.js';
import { readBody, send, sendHead } from './http.js';

/** GET, HEAD, PUT and DELETE /v2/<name>/manifests/<reference>. */
export async function manifestRoute(ctx: RegistryContext, r: RouteRequest): Promise<void> {
  switch (r.method) {
    case 'GET':
    case 'HEAD':
      return getManifest(ctx, r);
    case 'PUT':
      return putManifest(ctx, r);
    case 'DELETE':
      return deleteManifest(ctx, r);
    default:
      throw methodNotAllowed(r.method, ['GET', 'HEAD', 'PUT', 'DELETE']);
  }
}

/**
 * The reference of a GET, HEAD or DELETE. A string that is not a valid tag cannot name a manifest
 * here, so it is unknown (404, as the OCI conformance suite expects for ".INVALID_MANIFEST_NAME"),
 * not a bad request; a malformed digest ("sha256:zz") stays a 400 DIGEST_INVALID.
 */
function lookupReference(name: string, ref: string): { digest?: string; tag?: string } {
  if (!isDigest(ref) && !isValidTag(ref)) throw manifestUnknown(name, ref);
  return reference(ref);
}

function manifestUnknown(name: string, ref: string): OciError {
  return new OciError('MANIFEST_UNKNOWN', `manifest ${ref} is not in repository ${name}`, {
    detail: { name, reference: ref },
  });
}

/** A reference is a digest or a tag; anything else is refused before any lookup. */
function reference(ref: string): { digest?: string; tag?: string } {
  if (isDigest(ref)) return { digest: parseDigest(ref).value };
  if (!isValidTag(ref))
    throw new OciError(
      'MANIFEST_INVALID',
      `"${ref}" is neither a digest nor a valid tag ([a-zA-Z0-9_][a-zA-Z0-9._-]{0,127})`,
      { detail: { reference: ref } },
    );
  return { tag: ref };
}

async function getManifest(
  ctx: RegistryContext,
  { req, res, method, name, ref }: RouteRequest,
): Promise<void> {
  await authorize(ctx, req, name, ['pull']);
  const { digest, tag } = lookupReference(name, ref);
  const manifest: ManifestRecord | undefined = digest
    ? await ctx.meta.manifestByDigest(name, digest)
    : await ctx.meta.manifestByTag(name, tag!);
  if (!manifest) throw manifestUnknown(name, ref);
  const headers = {
    'Content-Type': manifest.mediaType,
    'Docker-Content-Digest': manifest.digest,
    'Content-Length': manifest.size,
    ETag: `"${manifest.digest}"`,
  };
  if (method === 'HEAD') return sendHead(res, 200, headers);
  send(res, 200, headers, manifest.content);
}

async function putManifest(ctx: RegistryContext, { req, res, name, ref, url }: RouteRequest): Promise<void> {
  await authorize(ctx, req, name, ['push'], { challengeScopes: pushScopes(name) });
  const target = reference(ref);
  const extraTags = url.searchParams.getAll('tag');
  for (const tag of extraTags)
    if (!isValidTag(tag))
      throw new OciError('MANIFEST_INVALID', `"${tag}" is not a valid tag`, { detail: { tag } });
  const limit = ctx.config.maxManifestBytes;
  const body = await readBody(
    req,
    limit,
    () =>
      new OciError('SIZE_INVALID', `manifest is larger than the registry's limit of ${limit} bytes`, {
        status: 413,
        headers: { Connection: 'close' },
        detail: { limit },
      }),
  );
  const parsed = parseManifest(body, req.headers['content-type'], ctx.foreignUrls);
  let digest: string;
  if (target.digest) {
    const expected = parseDigest(target.digest);
    digest = digestOf(body, expected.algorithm);
    if (digest !== expected.value)
      throw new OciError(
        'DIGEST_INVALID',
        `the manifest's ${expected.algorithm} digest is ${digest}, not ${expected.value}`,
        { detail: { expected: expected.value, actual: digest } },
      );
  } else {
    digest = digestOf(body);
  }
  const tags = [...new Set([...(target.tag ? [target.tag] : []), ...extraTags])];
  await ctx.meta.putManifest(name, digest, parsed, body, tags);
  const headers: Record<string, string | number> = {
    Location: `/v2/${name}/manifests/${digest}`,
    'Docker-Content-Digest': digest,
    'Content-Length': 0,
  };
  // Spec: a registry that processed `subject` MUST say so, so clients skip the referrers tag fallback.
  if (parsed.subject) headers['OCI-Subject'] = parsed.subject;
  send(res, 201, headers);
}

async function deleteManifest(ctx: RegistryContext, { req, res, name, ref }: RouteRequest): Promise<void> {
  await authorize(ctx, req, name, ['delete']);
  if (!ctx.config.deleteEnabled)
    throw new OciError('UNSUPPORTED', 'deletion is disabled on this registry (registry.deleteEnabled)');
  const { digest, tag } = lookupReference(name, ref);
  const deleted = digest ? await ctx.meta.deleteManifest(name, digest) : await ctx.meta.deleteTag(name, tag!);
  if (!deleted) throw manifestUnknown(name, ref);
  send(res, 202, { 'Content-Length': 0 });
}
