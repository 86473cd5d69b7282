import { parseDigest } from '../digest.js';
import { MEDIA_TYPES } from '../manifest.js';
import type { ReferrerRecord } from '../meta/index.js';
import { methodNotAllowed, authorize, type RegistryContext, type RouteRequest } from './context.js';
import { parseLimit, sendJson } from './http.js';

/** At most this many descriptors in one referrers response; `n` may ask for fewer. */
export const REFERRERS_PAGE = 500;
/**
 * And at most about this many bytes of descriptors: annotations are unbounded, and clients refuse
 * indexes past a few MiB (containers/image: 4 MiB), so a page also ends when it would grow past this.
 */
export const REFERRERS_PAGE_BYTES = 1024 * 1024;

/**
 * GET /v2/<name>/referrers/<digest>?artifactType=&n=&last= : an image index of the manifests whose
 * subject is <digest>, in digest order. A list longer than one page ends with a `Link: <...>;
 * rel="next"` header (OCI distribution-spec 1.1, "Listing Referrers"); the next URL keeps the filter.
 */
export async function referrersRoute(
  ctx: RegistryContext,
  { req, res, method, name, ref, url }: RouteRequest,
): Promise<void> {
  if (method !== 'GET') throw methodNotAllowed(method, ['GET']);
  await authorize(ctx, req, name, ['pull']);
  const subject = parseDigest(ref);
  const artifactType = url.searchParams.get('artifactType') ?? undefined;
  const last = url.searchParams.get('last') ?? undefined;
  if (last !== undefined) parseDigest(last);
  const limit = Math.min(parseLimit(url.searchParams.get('n')) ?? REFERRERS_PAGE, REFERRERS_PAGE);
  // One more than a page tells whether a next page exists.
  const rows =
    limit === 0
      ? []
      : await ctx.meta.referrers(name, subject.value, artifactType, { after: last, limit: limit + 1 });
  const manifests = fitPage(rows.slice(0, limit).map(descriptor));
  const headers: Record<string, string> = { 'Content-Type': MEDIA_TYPES.ociIndex };
  if (artifactType !== undefined) headers['OCI-Filters-Applied'] = 'artifactType';
  if (manifests.length < rows.length)
    headers.Link = nextLink(name, subject.value, limit, manifests, artifactType);
  sendJson(res, 200, { schemaVersion: 2, mediaType: MEDIA_TYPES.ociIndex, manifests }, headers);
}

type Descriptor = ReturnType<typeof descriptor>;

function descriptor(m: ReferrerRecord) {
  return {
    mediaType: m.mediaType,
    digest: m.digest,
    size: m.size,
    ...(m.artifactType ? { artifactType: m.artifactType } : {}),
    ...(m.annotations ? { annotations: m.annotations } : {}),
  };
}

/** The longest prefix within REFERRERS_PAGE_BYTES (never empty, so every page makes progress). */
function fitPage(descriptors: Descriptor[]): Descriptor[] {
  let bytes = 0;
  for (let i = 0; i < descriptors.length; i++) {
    bytes += Buffer.byteLength(JSON.stringify(descriptors[i])) + 1;
    if (bytes > REFERRERS_PAGE_BYTES && i > 0) return descriptors.slice(0, i);
  }
  return descriptors;
}

function nextLink(
  name: string,
  subject: string,
  limit: number,
  page: Descriptor[],
  artifactType: string | undefined,
): string {
  const query = new URLSearchParams({ n: String(limit), last: page[page.length - 1]!.digest });
  if (artifactType !== undefined) query.set('artifactType', artifactType);
  return `</v2/${name}/referrers/${subject}?${query}>; rel="next"`;
}
