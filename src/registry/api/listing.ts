import { OciError } from '../errors.js';
import { authorize, methodNotAllowed, type RegistryContext, type RouteRequest } from './context.js';
import { parseLimit, sendJson } from './http.js';

/** Without `n`, a catalog page holds at most this many names (a Link header points to the next). */
const CATALOG_PAGE = 1000;

/** GET /v2/<name>/tags/list?n=&last= */
export async function tagsRoute(
  ctx: RegistryContext,
  { req, res, method, name, url }: RouteRequest,
): Promise<void> {
  if (method !== 'GET' && method !== 'HEAD') throw methodNotAllowed(method, ['GET']);
  await authorize(ctx, req, name, ['pull']);
  const n = parseLimit(url.searchParams.get('n'));
  const last = url.searchParams.get('last') ?? undefined;
  if (!(await ctx.meta.repositoryExists(name)))
    throw new OciError('NAME_UNKNOWN', `repository ${name} is not known to this registry`, {
      detail: { name },
    });
  if (n === 0) return sendJson(res, 200, { name, tags: [] });
  // Ask for one more than a page to learn whether a next page exists.
  const tags = await ctx.meta.listTags(name, n === undefined ? undefined : n + 1, last);
  const headers: Record<string, string> = {};
  if (n !== undefined && tags.length > n) {
    tags.length = n;
    headers.Link = `</v2/${name}/tags/list?n=${n}&last=${encodeURIComponent(tags[n - 1]!)}>; rel="next"`;
  }
  sendJson(res, 200, { name, tags }, headers);
}

/** GET /v2/_catalog?n=&last= */
export async function catalogRoute(
  ctx: RegistryContext,
  { req, res, method, url }: RouteRequest,
): Promise<void> {
  if (method !== 'GET') throw methodNotAllowed(method, ['GET']);
  await authorize(ctx, req, '', ['pull'], { catalog: true });
  const n = parseLimit(url.searchParams.get('n'));
  const last = url.searchParams.get('last') ?? undefined;
  if (n === 0) return sendJson(res, 200, { repositories: [] });
  const page = Math.min(n ?? CATALOG_PAGE, CATALOG_PAGE);
  const names = await ctx.meta.listRepositories(page + 1, last);
  const headers: Record<string, string> = {};
  if (names.length > page) {
    names.length = page;
    headers.Link = `</v2/_catalog?n=${page}&last=${encodeURIComponent(names[page - 1]!)}>; rel="next"`;
  }
  sendJson(res, 200, { repositories: names }, headers);
}
