import type { RouterConfig } from '../config/index.js';
import type { Site, SiteManager } from '../sites/index.js';
import { cookieValue } from './balancer.js';
import { cookieHeaderOf, headerOf } from './headers.js';
import type { RequestHead } from './request-head.js';
import { pinnedSlotOf } from './site-ports.js';

export interface Route {
  site: Site;
  slot: string;
  /** Prefix to remove from the path before the request goes on. */
  strip?: string;
  /** Set when the client chose a slot with `?x-ms-routing-name=`: the cookie that pins it. */
  pinCookie?: string;
}

/** The host without port, lower case; `[::1]:8080` → `::1`. */
export function hostOf(req: RequestHead): string {
  const host = headerOf(req.rawHeaders, 'host') ?? '';
  if (host.startsWith('[')) return host.slice(1, host.indexOf(']')).toLowerCase();
  const colon = host.indexOf(':');
  return (colon === -1 ? host : host.slice(0, colon)).toLowerCase();
}

function hostMatches(pattern: string, host: string): boolean {
  const p = pattern.toLowerCase();
  return p.startsWith('*.') ? host.endsWith(p.slice(1)) && host.length > p.length - 1 : p === host;
}

function pathMatches(prefix: string, path: string): boolean {
  if (!path.startsWith(prefix)) return false;
  return (
    prefix.endsWith('/') ||
    path.length === prefix.length ||
    path[prefix.length] === '/' ||
    path[prefix.length] === '?'
  );
}

/**
 * Routers in order of specificity: configured host+path, then host, then path (longest prefix
 * first), then the automatic ones (`<site>.localhost`, `<site>-<slot>.localhost`, site host names).
 */
export class Routers {
  private readonly ordered: RouterConfig[];

  constructor(
    routers: RouterConfig[],
    private readonly manager: SiteManager,
  ) {
    const score = (r: RouterConfig) =>
      (r.host ? (r.host.startsWith('*.') ? 1000 : 2000) : 0) + (r.pathPrefix?.length ?? 0);
    this.ordered = [...routers].sort((a, b) => score(b) - score(a));
  }

  match(req: RequestHead): Route | undefined {
    // On a slot's own port the slot is known from the connection, whatever the Host says.
    const pinned = pinnedSlotOf(req.socket);
    if (pinned) {
      const site = this.manager.sites.get(pinned.site);
      return site?.slots.has(pinned.slot) ? { site, slot: pinned.slot } : undefined;
    }
    const host = hostOf(req);
    const url = req.url ?? '/';
    let site: Site | undefined;
    let slot: string | undefined;
    let strip: string | undefined;
    for (const router of this.ordered) {
      if (router.host && !hostMatches(router.host, host)) continue;
      if (router.pathPrefix && !pathMatches(router.pathPrefix, url)) continue;
      site = this.manager.sites.get(router.site);
      if (!site) continue;
      slot = router.slot;
      if (router.stripPrefix && router.pathPrefix) strip = router.pathPrefix;
      break;
    }
    if (!site) {
      const match = this.manager.matchHost(host);
      if (!match) return undefined;
      site = match.site;
      slot = match.slot;
    }
    if (slot) return { site, slot, strip };
    return { site, ...chosenSlot(site, req), strip };
  }
}

const ROUTING = 'x-ms-routing-name';

/** App Service's traffic routing: `?x-ms-routing-name=<slot|self>` pins with a cookie; the cookie keeps it. */
function chosenSlot(site: Site, req: RequestHead): { slot: string; pinCookie?: string } {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  if (q !== -1 && url.includes(ROUTING, q)) {
    const value = new URLSearchParams(url.slice(q + 1)).get(ROUTING);
    if (value) {
      const slot = value === 'self' ? 'production' : value.toLowerCase();
      if (site.slots.has(slot))
        return { slot, pinCookie: `${ROUTING}=${value === 'self' ? 'self' : slot}; Path=/` };
    }
  }
  const cookie = cookieValue(cookieHeaderOf(req.rawHeaders), ROUTING);
  if (cookie && cookie !== 'self' && site.slots.has(cookie)) return { slot: cookie };
  return { slot: 'production' };
}
