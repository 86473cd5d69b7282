import { request, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { FrontdoorConfig } from '../config/index.js';
import type { Instance } from '../sites/index.js';
import { describeUpstreamError, socketProblem } from './errors.js';
import type { Forward } from './forward.js';
import { upgradeHeaders } from './headers.js';
import type { SocketBudget } from './upstream.js';

/**
 * WebSocket and other HTTP/1.1 upgrades: the request goes to an instance with `http.request` (one
 * connection per upgrade, no pooling), and once the instance answers 101 the two sockets are piped
 * to each other as a tunnel. The same limits as plain requests: connect and response-head timeouts,
 * a socket from the budget, the instance's lease (least-connections) held exactly as long as the
 * upgrade lives, however it ends.
 */
export class Upgrades {
  private readonly tunnels = new Set<Tunnel>();
  private closing = false;

  constructor(
    private readonly config: FrontdoorConfig,
    private readonly budget: SocketBudget,
  ) {}

  get size(): number {
    return this.tunnels.size;
  }

  start(req: IncomingMessage, client: Duplex, head: Buffer, forward: Forward): void {
    const picked = forward.pick();
    if (!(picked as Instance).id) {
      socketProblem(client, 503, (picked as { unavailable: string }).unavailable, forward.requestId);
      return;
    }
    const instance = picked as Instance;
    if (this.closing || !this.budget.take()) {
      socketProblem(
        client,
        503,
        this.closing
          ? 'the front door is shutting down'
          : `the front door has all its ${this.budget.max} connections to instances in use (frontdoor.maxConnections)`,
        forward.requestId,
      );
      return;
    }
    const endLease = forward.lease(instance);
    const release = once(() => {
      endLease();
      this.budget.give();
    });
    client.on('error', () => client.destroy());
    const of = `instance ${instance.id} of site ${forward.site}`;
    const upstream = request({
      host: '127.0.0.1',
      port: instance.port,
      method: req.method,
      path: forward.path,
      headers: upgradeHeaders(req, forward.requestId),
      agent: false,
    });
    let answered = false;
    /** Before the instance's answer: refuses the upgrade with a problem and frees everything. */
    const refuse = (status: number, detail: string) => {
      if (answered) return;
      answered = true;
      clearTimeout(timer);
      upstream.destroy();
      release();
      socketProblem(client, status, detail, forward.requestId);
    };
    // As for requests: connectTimeout to connect, then responseTimeout for the answer's head.
    let timer = setTimeout(
      () => refuse(502, `could not connect to ${of} within ${this.config.connectTimeout / 1000} s`),
      this.config.connectTimeout,
    );
    upstream.once('socket', (socket: Socket) => {
      socket.once('connect', () => {
        clearTimeout(timer);
        timer = setTimeout(
          () =>
            refuse(504, `${of} did not answer the upgrade within ${this.config.responseTimeout / 1000} s`),
          this.config.responseTimeout,
        );
      });
    });
    // A client that gives up before the answer (closes, or half-closes: an upgrade has nothing to
    // wait for then) frees the instance's connection and lease at once.
    const gaveUp = () => {
      if (answered) return;
      answered = true;
      clearTimeout(timer);
      upstream.destroy();
      release();
      client.destroy();
    };
    client.once('close', gaveUp);
    client.once('end', gaveUp);
    upstream.on('upgrade', (upstreamRes, upstreamSocket, upstreamHead) => {
      if (answered) return upstreamSocket.destroy();
      answered = true;
      clearTimeout(timer);
      client.removeListener('close', gaveUp);
      client.removeListener('end', gaveUp);
      let head101 = `HTTP/1.1 ${upstreamRes.statusCode} ${upstreamRes.statusMessage}\r\n`;
      for (let i = 0; i < upstreamRes.rawHeaders.length; i += 2)
        head101 += `${upstreamRes.rawHeaders[i]}: ${upstreamRes.rawHeaders[i + 1]}\r\n`;
      head101 += `x-request-id: ${forward.requestId}\r\n\r\n`;
      client.write(head101, 'latin1');
      if (upstreamHead.length > 0) client.write(upstreamHead);
      if (head.length > 0) upstreamSocket.write(head);
      const tunnel = new Tunnel(client, upstreamSocket, () => {
        this.tunnels.delete(tunnel);
        release();
      });
      this.tunnels.add(tunnel);
      if (this.closing) tunnel.end();
    });
    upstream.on('response', (upstreamRes) => {
      // The instance said no to the upgrade: pass its answer on and close.
      if (answered) return upstreamRes.destroy();
      answered = true;
      clearTimeout(timer);
      let text = `HTTP/1.1 ${upstreamRes.statusCode} ${upstreamRes.statusMessage}\r\n`;
      for (let i = 0; i < upstreamRes.rawHeaders.length; i += 2) {
        const name = upstreamRes.rawHeaders[i]!.toLowerCase();
        if (name !== 'connection' && name !== 'transfer-encoding' && name !== 'content-length')
          text += `${upstreamRes.rawHeaders[i]}: ${upstreamRes.rawHeaders[i + 1]}\r\n`;
      }
      const chunks: Buffer[] = [];
      upstreamRes.on('data', (c: Buffer) => chunks.push(c));
      upstreamRes.on('error', () => client.destroy());
      upstreamRes.on('end', () => {
        const body = Buffer.concat(chunks);
        client.end(
          Buffer.concat([
            Buffer.from(`${text}content-length: ${body.length}\r\nconnection: close\r\n\r\n`, 'latin1'),
            body,
          ]),
        );
        upstream.destroy();
        release();
      });
    });
    upstream.on('error', (error: NodeJS.ErrnoException) => {
      refuse(502, `${of} failed the upgrade: ${describeUpstreamError(error.code ?? '', error.message)}`);
      release();
    });
    upstream.end();
  }

  /** Shutting down: tunnels are ended now (both sides get what is in flight, then a FIN); new upgrades are refused. */
  endAll(): void {
    this.closing = true;
    for (const tunnel of this.tunnels) tunnel.end();
  }

  destroyAll(): void {
    this.closing = true;
    for (const tunnel of this.tunnels) tunnel.destroy();
  }
}

/**
 * An upgraded connection: bytes piped both ways until either side ends. A FIN from one side ends
 * the tunnel as a whole (the other side gets what was in flight, then a FIN, and both sockets are
 * closed once written): an upgraded protocol has its own close handshake, and a peer that half-closes
 * and never closes the rest would otherwise hold both descriptors and the lease for good.
 */
class Tunnel {
  private done = false;

  constructor(
    private readonly client: Duplex,
    private readonly upstream: Duplex,
    private readonly closed: () => void,
  ) {
    upstream.pipe(client, { end: false });
    client.pipe(upstream, { end: false });
    client.on('end', () => this.end());
    upstream.on('end', () => this.end());
    client.on('close', () => this.destroy());
    upstream.on('close', () => this.destroy());
    upstream.on('error', () => this.destroy());
  }

  end(): void {
    for (const socket of [this.client, this.upstream])
      if (!socket.destroyed) socket.end(() => socket.destroy());
  }

  destroy(): void {
    this.client.destroy();
    this.upstream.destroy();
    if (!this.done) {
      this.done = true;
      this.closed();
    }
  }
}

function once(fn: () => void): () => void {
  let called = false;
  return () => {
    if (!called) {
      called = true;
      fn();
    }
  };
}
