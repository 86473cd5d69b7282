import { parseDigest } from '../digest.js';
import { OciError } from '../errors.js';
import { validateRepositoryName } from '../names.js';
import { rangeHeader, uploadLocation, type ChunkPolicy } from '../uploads.js';
import {
  authorize,
  decide,
  methodNotAllowed,
  pushScopes,
  refusal,
  type RegistryContext,
  type RouteRequest,
} from './context.js';
import { hasBody, parseContentRange, parseRange, send, sendHead } from './http.js';

/** Errors of a download whose client went away: nothing to log. */
const CLIENT_GONE = new Set(['ECONNRESET', 'EPIPE', 'ERR_STREAM_DESTROYED', 'ERR_STREAM_PREMATURE_CLOSE']);

/** GET, HEAD and DELETE /v2/<name>/blobs/<digest>. */
export async function blobRoute(ctx: RegistryContext, r: RouteRequest): Promise<void> {
  const { req, res, method, name } = r;
  if (method === 'DELETE') {
    await authorize(ctx, req, name, ['delete']);
    if (!ctx.config.deleteEnabled)
      throw new OciError('UNSUPPORTED', 'deletion is disabled on this registry (registry.deleteEnabled)');
    const digest = parseDigest(r.ref);
    // Unlinks the blob from this repository; gc frees the bytes once nothing else uses them.
    if (!(await ctx.meta.unlinkBlob(name, digest.value)))
      throw new OciError('BLOB_UNKNOWN', `blob ${digest.value} is not in repository ${name}`);
    return send(res, 202, { 'Docker-Content-Digest': digest.value, 'Content-Length': 0 });
  }
  if (method !== 'GET' && method !== 'HEAD') throw methodNotAllowed(method, ['GET', 'HEAD', 'DELETE']);
  await authorize(ctx, req, name, ['pull']);
  const digest = parseDigest(r.ref);
  const size = await ctx.meta.blobInRepository(name, digest.value);
  if (size === undefined)
    throw new OciError('BLOB_UNKNOWN', `blob ${digest.value} is not in repository ${name}`);
  const range = parseRange(req.headers.range, size);
  const headers: Record<string, string | number> = {
    'Content-Type': 'application/octet-stream',
    'Docker-Content-Digest': digest.value,
    'Accept-Ranges': 'bytes',
    ETag: `"${digest.value}"`,
    'Cache-Control': 'max-age=31536000',
  };
  const status = range ? 206 : 200;
  const length = range ? range.end - range.start + 1 : size;
  if (range) headers['Content-Range'] = `bytes ${range.start}-${range.end}/${size}`;
  headers['Content-Length'] = length;
  if (method === 'HEAD') return sendHead(res, status, headers);
  let body;
  try {
    // The range by the metadata's size: a store file shorter than that is refused here, not cut short later.
    body = size === 0 ? undefined : await ctx.store.open(digest.value, range ?? { start: 0, end: size - 1 });
  } catch (error) {
    ctx.log.error({ err: error, digest: digest.value }, 'blob listed in metadata is missing from the store');
    throw new OciError('BLOB_UNKNOWN', `blob ${digest.value} is missing from storage`);
  }
  res.writeHead(status, { 'Docker-Distribution-API-Version': 'registry/2.0', ...headers });
  if (!body) return void res.end();
  try {
    await body.sendTo(res);
  } catch (error) {
    // Usually the client went away mid-download. A read error cuts the response short (the client
    // sees fewer bytes than Content-Length), which is all that is left to do once headers are sent.
    if (!CLIENT_GONE.has((error as NodeJS.ErrnoException).code ?? ''))
      ctx.log.error({ err: error, digest: digest.value }, 'blob download failed');
    return void res.destroy();
  }
  res.end();
}

/** POST /v2/<name>/blobs/uploads/ : start an upload, upload in one go (?digest=) or mount (?mount=). */
export async function startUploadRoute(ctx: RegistryContext, r: RouteRequest): Promise<void> {
  const { req, res, method, name, url } = r;
  if (method !== 'POST') throw methodNotAllowed(method, ['POST']);
  const mount = url.searchParams.get('mount');
  const from = mount === null ? null : url.searchParams.get('from');
  if (from !== null) validateRepositoryName(from);
  // A challenge here asks for pull on the mount's source too, so a client that follows it gets a
  // token that lets it mount instead of uploading again (distribution asks the same).
  const scopes = [
    ...pushScopes(name),
    ...(from !== null ? [{ repository: from, actions: ['pull' as const] }] : []),
  ];
  await authorize(ctx, req, name, ['push'], { challengeScopes: scopes });
  if (mount !== null) {
    const digest = parseDigest(mount);
    if (from !== null) {
      const source = await decide(ctx, req, from, ['pull'], { challengeScopes: scopes });
      // 401: the token lacks pull on `from` but the caller holds it; it can fetch a token that has it.
      // Refused outright (403) the mount falls back to an upload, as if the blob were not there.
      if (!source.allowed && source.status === 401) throw refusal(source);
      if (
        source.allowed &&
        (await ctx.meta.blobInRepository(from, digest.value)) !== undefined &&
        (await ctx.meta.mountBlob(name, digest.value))
      ) {
        return send(res, 201, {
          Location: `/v2/${name}/blobs/${digest.value}`,
          'Docker-Content-Digest': digest.value,
          'Content-Length': 0,
        });
      }
    } else if ((await ctx.meta.blobInRepository(name, digest.value)) !== undefined) {
      // Without `from` we only "mount" what this repository already has: linking a blob from a
      // repository the caller was not shown would let anyone probe other repositories by digest.
      return send(res, 201, {
        Location: `/v2/${name}/blobs/${digest.value}`,
        'Docker-Content-Digest': digest.value,
        'Content-Length': 0,
      });
    }
    // Spec: when a mount cannot be done, fall back to an ordinary upload session (202).
  }
  const single = url.searchParams.get('digest');
  if (single !== null) {
    const digest = parseDigest(single);
    await ctx.uploads.monolithic(name, digest, req);
    return send(res, 201, {
      Location: `/v2/${name}/blobs/${digest.value}`,
      'Docker-Content-Digest': digest.value,
      'Content-Length': 0,
    });
  }
  const algorithm = url.searchParams.get('digest-algorithm') ?? 'sha256';
  if (algorithm !== 'sha256' && algorithm !== 'sha512')
    throw new OciError(
      'DIGEST_INVALID',
      `digest-algorithm "${algorithm}" is not supported (use sha256 or sha512)`,
    );
  const id = await ctx.uploads.start(name, algorithm);
  const headers: Record<string, string | number> = {
    Location: uploadLocation(name, id),
    Range: '0-0',
    'Docker-Upload-UUID': id,
    'Content-Length': 0,
  };
  if (ctx.config.uploads.chunkMinLength > 0)
    headers['OCI-Chunk-Min-Length'] = ctx.config.uploads.chunkMinLength;
  send(res, 202, headers);
}

/** GET (status), PATCH (chunk), PUT (complete) and DELETE (cancel) /v2/<name>/blobs/uploads/<id>. */
export async function uploadRoute(ctx: RegistryContext, r: RouteRequest): Promise<void> {
  const { req, res, method, name, url } = r;
  const id = r.ref;
  if (!['GET', 'PATCH', 'PUT', 'DELETE'].includes(method))
    throw methodNotAllowed(method, ['GET', 'PATCH', 'PUT', 'DELETE']);
  await authorize(ctx, req, name, ['push'], { challengeScopes: pushScopes(name) });
  if (!/^[0-9a-f-]{36}$/.test(id))
    throw new OciError('BLOB_UPLOAD_UNKNOWN', `no upload ${id} in repository ${name}`);
  const progress = (size: number) => ({
    Location: uploadLocation(name, id),
    Range: rangeHeader(size),
    'Docker-Upload-UUID': id,
    'Content-Length': 0,
  });
  switch (method) {
    case 'GET':
      return send(res, 204, progress(await ctx.uploads.size(name, id)));
    case 'DELETE':
      await ctx.uploads.cancel(name, id);
      return send(res, 204, { 'Content-Length': 0 });
    case 'PATCH': {
      const range = parseContentRange(req.headers['content-range']);
      checkLength(req.headers['content-length'], range);
      const size = await ctx.uploads.append(name, id, req, range, chunkPolicy(ctx));
      return send(res, 202, progress(size));
    }
    default: {
      const value = url.searchParams.get('digest');
      if (value === null)
        throw new OciError('DIGEST_INVALID', 'PUT must name the blob: ?digest=<algorithm:hex>');
      const digest = parseDigest(value);
      const range = parseContentRange(req.headers['content-range']);
      checkLength(req.headers['content-length'], range);
      await ctx.uploads.complete(name, id, digest, hasBody(req) ? req : undefined, range, chunkPolicy(ctx));
      return send(res, 201, {
        Location: `/v2/${name}/blobs/${digest.value}`,
        'Docker-Content-Digest': digest.value,
        'Content-Length': 0,
      });
    }
  }
}

function chunkPolicy(ctx: RegistryContext): ChunkPolicy {
  return { minLength: ctx.config.uploads.chunkMinLength };
}

function checkLength(header: string | undefined, range: { start: number; end: number } | undefined): void {
  if (!range || header === undefined) return;
  if (Number(header) !== range.end - range.start + 1) {
    throw new OciError(
      'SIZE_INVALID',
      `Content-Length ${header} does not match Content-Range ${range.start}-${range.end}`,
      { status: 416 },
    );
  }
}
