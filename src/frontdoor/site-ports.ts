import { createServer, type Server, type Socket } from 'node:net';
import { urlFor } from '../lib/listen.js';
import type { Logger } from '../lib/logger.js';
import type { SiteManager } from '../sites/index.js';

/** The slot a connection came in for, when it came in on that slot's own port: the router reads it first. */
const pinned = new WeakMap<object, { site: string; slot: string }>();

/** The site and slot of a request's connection, if it arrived on a slot's own port. */
export function pinnedSlotOf(socket: object | undefined): { site: string; slot: string } | undefined {
  return socket ? pinned.get(socket) : undefined;
}

export interface SiteUrl {
  site: string;
  slot: string;
  url: string;
}

/**
 * One loopback listener per site and slot (`sites[].port`, `slots[].port`, or a free port): a URL that
 * any HTTP or MCP client can use as it is, where `<site>.localhost` needs a resolver that knows it
 * (browsers do; Node's and Python's do not). Each accepted socket is marked with its slot and handed
 * to the front door's own server, so it gets the same fast path, limits, middlewares and MCP.
 */
export class SitePorts {
  private readonly listeners = new Map<string, { site: string; slot: string; server: Server; url: string }>();

  constructor(
    private readonly host: string,
    private readonly manager: SiteManager,
    private readonly accept: (socket: Socket) => void,
    private readonly logger: Logger,
  ) {}

  /** Opens a listener for every slot that has none, closes those of slots that are gone. */
  async sync(): Promise<void> {
    const wanted = new Set<string>();
    for (const site of this.manager.sites.values())
      for (const slot of site.slots.keys()) {
        const key = `${site.name}/${slot}`;
        wanted.add(key);
        if (!this.listeners.has(key)) await this.open(site.name, slot, site.directPort(slot));
      }
    for (const [key, listener] of this.listeners)
      if (!wanted.has(key)) {
        this.listeners.delete(key);
        this.manager.setDirectUrl(listener.site, listener.slot, undefined);
        listener.server.close();
      }
  }

  urls(): SiteUrl[] {
    return [...this.listeners.values()].map(({ site, slot, url }) => ({ site, slot, url }));
  }

  async close(): Promise<void> {
    await Promise.all(
      [...this.listeners.values()].map(({ server }) => new Promise((done) => server.close(done))),
    );
    this.listeners.clear();
  }

  private async open(site: string, slot: string, port: number): Promise<void> {
    const server = createServer({ noDelay: true }, (socket) => {
      pinned.set(socket, { site, slot });
      this.accept(socket);
    });
    server.on('error', (error) => this.logger.warn({ err: error, site, slot }, 'site port error'));
    await new Promise<void>((resolve, reject) => {
      const failed = (error: NodeJS.ErrnoException) =>
        reject(
          new Error(
            `site ${site} (slot ${slot}): cannot listen on ${this.host}:${port}: ${error.code ?? error.message}`,
          ),
        );
      server.once('error', failed);
      server.listen(port, this.host, () => {
        server.removeListener('error', failed);
        resolve();
      });
    });
    const address = server.address();
    const url = urlFor({
      host: this.host,
      port: typeof address === 'object' && address ? address.port : port,
    });
    this.listeners.set(`${site}/${slot}`, { site, slot, server, url });
    this.manager.setDirectUrl(site, slot, url);
  }
}
