import type { IncomingHttpHeaders } from 'node:http';
import type { Instance, Site } from '../sites/index.js';
import { cookieValue, type Balancer } from './balancer.js';
import { requestBodyOf, type RequestBody } from './framing.js';
import { cookieHeaderOf } from './headers.js';
import type { RequestContext } from './middleware.js';
import type { RequestHead } from './request-head.js';
import type { Route, Routers } from './router.js';

/** A routed request as the proxy sees it. */
export interface Forward {
  readonly requestId: string;
  readonly site: string;
  /** The instance to use, or the reason none can answer; `exclude` is one that just refused a connection. */
  pick(exclude?: Instance): Instance | { unavailable: string };
  /** Path to send (after a router's strip-prefix). */
  readonly path: string;
  /** How the client framed the body, read before any middleware ran: the proxy frames it the same way. */
  readonly body: RequestBody;
  /** Extra Set-Cookie headers (affinity, slot pin) for the instance chosen. */
  cookies(instance: Instance): string[];
  /** Counts this request as in flight on `instance` until the returned function is called. */
  lease(instance: Instance): () => void;
  /**
   * The headers to forward: `req.rawHeaders` when no middleware saw the request (no header object
   * is built), `req.headers` after one did (it may have changed them).
   */
  headers: string[] | IncomingHttpHeaders;
}

const AFFINITY = 'ARRAffinity';

/**
 * Where the instances of a site's slot come from (Caddy's upstream source): the site manager on one
 * machine; an orchestrator's endpoint list would be another (docs/scale-out.md). `group` keys the
 * balancer's round-robin cursor; undefined when the slot does not exist.
 */
export interface UpstreamSource {
  routable(site: Site, slot: string): { group: object | undefined; instances: Instance[] };
}

/** What every routed request shares (one per front door). */
export interface ServiceDeps {
  upstreams: UpstreamSource;
  balancer: Balancer;
  routers: Routers;
}

/**
 * A request routed to a site and slot: picks its instance (ARR affinity first, then the site's
 * strategy), says which cookies go back with the answer, and is the middlewares' context. One
 * object with methods instead of a handful of closures per request.
 */
export class RoutedRequest implements Forward, RequestContext {
  readonly site: string;
  readonly slot: string;
  readonly path: string;
  readonly body: RequestBody;
  headers: string[] | IncomingHttpHeaders;
  /** The ARRAffinity token the client sent (only read when the site has affinity on). */
  private readonly affinity: string | undefined;

  constructor(
    private readonly deps: ServiceDeps,
    private readonly route: Route,
    readonly requestId: string,
    req: RequestHead,
    headers: string[] | IncomingHttpHeaders,
  ) {
    this.site = route.site.name;
    this.slot = route.slot;
    this.path = pathFor(route, req.url ?? '/');
    this.body = requestBodyOf(req);
    this.headers = headers;
    this.affinity = route.site.definition.clientAffinityEnabled
      ? cookieValue(cookieHeaderOf(req.rawHeaders), AFFINITY)
      : undefined;
  }

  pick(exclude?: Instance): Instance | { unavailable: string } {
    const site = this.route.site;
    const { group, instances } = this.deps.upstreams.routable(site, this.slot);
    if (this.affinity && !exclude) {
      const pinned = this.deps.balancer.byAffinity(instances, this.affinity);
      if (pinned) return pinned;
    }
    const chosen = group
      ? this.deps.balancer.pick(group, instances, site.definition.loadBalancing, exclude)
      : undefined;
    return chosen ?? { unavailable: unavailableReason(site, this.slot) };
  }

  cookies(instance: Instance): string[] {
    const pin = this.route.pinCookie;
    if (!this.route.site.definition.clientAffinityEnabled) return pin ? [pin] : NONE;
    const list: string[] = pin ? [pin] : [];
    const token = this.deps.balancer.affinityToken(instance);
    if (token !== this.affinity)
      list.push(
        `${AFFINITY}=${token}; Path=/; HttpOnly`,
        `${AFFINITY}SameSite=${token}; Path=/; HttpOnly; SameSite=None; Secure`,
      );
    return list;
  }

  lease(instance: Instance): () => void {
    return this.deps.balancer.inFlight.begin(instance);
  }

  serviceUrl(): string | undefined {
    const chosen = this.pick();
    return (chosen as Instance).id ? `http://127.0.0.1:${(chosen as Instance).port}` : undefined;
  }

  routesHere(url: URL): boolean {
    const route = this.deps.routers.match({ url: url.pathname, rawHeaders: ['host', url.host] });
    return route?.site.name === this.site;
  }
}

const NONE: string[] = [];

function pathFor(route: Route, url: string): string {
  if (!route.strip) return url;
  const rest = url.slice(route.strip.length);
  return rest.startsWith('/') ? rest : `/${rest}`;
}

function unavailableReason(site: Site, slot: string): string {
  const group = site.slots.get(slot);
  if (!group) return `site ${site.name} has no slot "${slot}"`;
  if (group.stopped)
    return `site ${site.name} (slot ${slot}) is stopped (berth webapp start --name ${site.name}${slot === 'production' ? '' : ` --slot ${slot}`})`;
  const states = group.instances.map((i) => i.state);
  if (states.length === 0) return `site ${site.name} (slot ${slot}) has no instances`;
  const counts = new Map<string, number>();
  for (const state of states) counts.set(state, (counts.get(state) ?? 0) + 1);
  return `no instance of site ${site.name} (slot ${slot}) can take requests now: ${[...counts].map(([s, n]) => `${n} ${s}`).join(', ')}; see the startup logs (berth webapp log startup show --name ${site.name}${slot === 'production' ? '' : ` --slot ${slot}`})`;
}
