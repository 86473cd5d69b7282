import type { IncomingMessage, ServerResponse } from 'node:http';
import { OciError } from '../errors.js';
import { validateRepositoryName } from '../names.js';
import { blobRoute, startUploadRoute, uploadRoute } from './blobs.js';
import { authorize, type RegistryContext, type RouteRequest } from './context.js';
import { sendError, sendJson } from './http.js';
import { catalogRoute, tagsRoute } from './listing.js';
import { manifestRoute } from './manifests.js';
import { referrersRoute } from './referrers.js';

type Handler = (ctx: RegistryContext, r: RouteRequest) => Promise<void>;

/**
 * Repository names contain slashes, so routes are matched by the path's tail: the most specific
 * pattern first (uploads before blobs). The name is everything between /v2/ and the keyword.
 */
const ROUTES: [RegExp, Handler][] = [
  [/^\/v2\/(.+)\/blobs\/uploads\/?$/, startUploadRoute],
  [/^\/v2\/(.+)\/blobs\/uploads\/([^/]+)$/, uploadRoute],
  [/^\/v2\/(.+)\/blobs\/([^/]+)$/, blobRoute],
  [/^\/v2\/(.+)\/manifests\/([^/]+)$/, manifestRoute],
  [/^\/v2\/(.+)\/tags\/list$/, tagsRoute],
  [/^\/v2\/(.+)\/referrers\/([^/]+)$/, referrersRoute],
];

export async function handleRegistryRequest(
  ctx: RegistryContext,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const method = req.method ?? 'GET';
  try {
    const raw = req.url ?? '/';
    const url = new URL(raw, 'http://registry');
    // Match the path as sent: URL parsing would resolve "a/../b" to "b" and hide an invalid name.
    const query = raw.indexOf('?');
    const path = query === -1 ? raw : raw.slice(0, query);
    if (path === '/v2/' || path === '/v2') {
      await authorize(ctx, req, '', []);
      return sendJson(res, 200, {});
    }
    if (path === '/v2/_catalog') return await catalogRoute(ctx, { req, res, method, url, name: '', ref: '' });
    for (const [pattern, handler] of ROUTES) {
      const match = pattern.exec(path);
      if (!match) continue;
      const name = safeDecode(match[1]!);
      validateRepositoryName(name);
      return await handler(ctx, { req, res, method, url, name, ref: safeDecode(match[2] ?? '') });
    }
    throw new OciError('UNSUPPORTED', `no registry API at ${path}`, { status: 404 });
  } catch (error) {
    if (error instanceof OciError) return sendError(res, error, method === 'HEAD');
    if (isClientGone(error, req)) return void res.destroy();
    ctx.log.error({ err: error, method, url: req.url, traceId: traceId(req) }, 'registry request failed');
    if (res.headersSent) return void res.destroy();
    sendJson(res, 500, { errors: [{ code: 'UNKNOWN', message: 'internal error; see the registry log' }] });
  }
}

/** The W3C trace id of the request (from `traceparent`), so a failure can be found across services. */
function traceId(req: IncomingMessage): string | undefined {
  const header = req.headers.traceparent;
  return typeof header === 'string' ? /^[0-9a-f]{2}-([0-9a-f]{32})-/.exec(header)?.[1] : undefined;
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    throw new OciError('NAME_INVALID', `"${value}" is not valid percent-encoding`);
  }
}

function isClientGone(error: unknown, req: IncomingMessage): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return req.destroyed || code === 'ECONNRESET' || code === 'ERR_STREAM_PREMATURE_CLOSE';
}
