import { request, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FrontdoorConfig } from '../config/index.js';
import type { Logger } from '../lib/logger.js';
import type { Instance } from '../sites/index.js';
import { DeadlineQueue, type Deadline } from './deadlines.js';
import { sendProblem, socketProblem } from './errors.js';
import { Exchange, requestBodyOf, type ExchangeHost } from './exchange.js';
import type { ProxiedRequest, ProxiedResponse } from './fast-message.js';
import type { Forward } from './forward.js';
import { upgradeHeaders } from './headers.js';
import { UpstreamPool } from './upstream.js';

const RETRYABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE']);

/**
 * The service end of the front door: streams a request to an instance over its own kept-alive
 * connections (no http.Agent, no ClientRequest/IncomingMessage per request) and the response back,
 * with timeouts and 502/503/504 answers that say what went wrong.
 */
export class Proxy implements ExchangeHost {
  private readonly pools = new WeakMap<Instance, UpstreamPool>();
  private readonly livePools = new Set<UpstreamPool>();
  private readonly responseDeadlines: DeadlineQueue;
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly config: FrontdoorConfig,
    private readonly logger: Logger,
  ) {
    this.responseDeadlines = new DeadlineQueue(config.responseTimeout);
    this.sweeper = setInterval(
      () => {
        const now = Date.now();
        for (const pool of this.livePools) pool.sweep(now);
      },
      Math.max(100, Math.min(config.idleTimeout / 2, 5_000)),
    );
    this.sweeper.unref();
  }

  private poolFor(instance: Instance): UpstreamPool {
    let pool = this.pools.get(instance);
    if (!pool) {
      pool = new UpstreamPool(
        {
          connectTimeout: this.config.connectTimeout,
          idleTimeout: this.config.idleTimeout,
          maxIdle: this.config.maxIdleSockets,
        },
        (p, live) => (live ? this.livePools.add(p) : this.livePools.delete(p)),
      );
      this.pools.set(instance, pool);
    }
    return pool;
  }

  close(): void {
    clearInterval(this.sweeper);
    this.responseDeadlines.close();
    for (const pool of this.livePools) pool.destroyAll();
  }

  web(req: ProxiedRequest, res: ProxiedResponse, forward: Forward, attempt = 1, exclude?: Instance): void {
    const picked = forward.pick(exclude);
    if (!(picked as Instance).id) {
      sendProblem(res, 503, (picked as { unavailable: string }).unavailable, forward.requestId, {
        site: forward.site,
      });
      return;
    }
    const instance = picked as Instance;
    new Exchange(
      this,
      req,
      res,
      forward,
      attempt,
      instance,
      this.poolFor(instance),
      requestBodyOf(req),
    ).start();
  }

  track(deadline: Deadline): void {
    this.responseDeadlines.add(deadline);
  }

  untrack(deadline: Deadline): void {
    this.responseDeadlines.remove(deadline);
  }

  failed(exchange: Exchange, error: NodeJS.ErrnoException): void {
    const { req, res, instance, forward, attempt: number } = exchange;
    if (res.destroyed) return;
    const code = error.code ?? '';
    // Requests without a body can go to another instance when this one never saw them (refused, or
    // a kept-alive connection it had closed).
    if (RETRYABLE.has(code) && canRetry(req) && number < 3) {
      this.web(req, res, forward, number + 1, instance);
      return;
    }
    const where = { site: forward.site, instance: instance.id };
    if (code === 'BERTH_RESPONSE_TIMEOUT') {
      sendProblem(
        res,
        504,
        `instance ${instance.id} of site ${forward.site} did not answer within ${this.config.responseTimeout / 1000} s`,
        forward.requestId,
        where,
      );
    } else if (code === 'BERTH_CONNECT_TIMEOUT') {
      sendProblem(
        res,
        502,
        `could not connect to instance ${instance.id} of site ${forward.site} within ${this.config.connectTimeout / 1000} s`,
        forward.requestId,
        where,
      );
    } else {
      this.logger.debug({ err: error, ...where }, 'upstream error');
      sendProblem(
        res,
        502,
        `instance ${instance.id} of site ${forward.site} failed to answer: ${describe(code, error.message)}`,
        forward.requestId,
        where,
      );
    }
  }

  /** WebSocket (and any HTTP/1.1 Upgrade): hands the two sockets to each other once the instance agrees. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, forward: Forward): void {
    const picked = forward.pick();
    if (!(picked as Instance).id) {
      socketProblem(socket, 503, (picked as { unavailable: string }).unavailable, forward.requestId);
      return;
    }
    const instance = picked as Instance;
    const release = lease(instance);
    socket.on('error', () => socket.destroy());
    const upstream = request({
      host: '127.0.0.1',
      port: instance.port,
      method: req.method,
      path: forward.path,
      headers: upgradeHeaders(req, forward.requestId),
      agent: false,
    });
    upstream.on('upgrade', (upstreamRes, upstreamSocket, upstreamHead) => {
      let head101 = `HTTP/1.1 ${upstreamRes.statusCode} ${upstreamRes.statusMessage}\r\n`;
      for (let i = 0; i < upstreamRes.rawHeaders.length; i += 2)
        head101 += `${upstreamRes.rawHeaders[i]}: ${upstreamRes.rawHeaders[i + 1]}\r\n`;
      head101 += `x-request-id: ${forward.requestId}\r\n\r\n`;
      socket.write(head101);
      if (upstreamHead.length > 0) socket.write(upstreamHead);
      if (head.length > 0) upstreamSocket.write(head);
      upstreamSocket.on('error', () => socket.destroy());
      socket.on('close', () => {
        upstreamSocket.destroy();
        release();
      });
      upstreamSocket.on('close', () => {
        socket.destroy();
        release();
      });
      upstreamSocket.pipe(socket).pipe(upstreamSocket);
    });
    upstream.on('response', (upstreamRes) => {
      // The instance said no to the upgrade: pass its answer on and close.
      let text = `HTTP/1.1 ${upstreamRes.statusCode} ${upstreamRes.statusMessage}\r\n`;
      for (let i = 0; i < upstreamRes.rawHeaders.length; i += 2) {
        const name = upstreamRes.rawHeaders[i]!.toLowerCase();
        if (name !== 'connection' && name !== 'transfer-encoding')
          text += `${upstreamRes.rawHeaders[i]}: ${upstreamRes.rawHeaders[i + 1]}\r\n`;
      }
      const chunks: Buffer[] = [];
      upstreamRes.on('data', (c: Buffer) => chunks.push(c));
      upstreamRes.on('end', () => {
        const body = Buffer.concat(chunks);
        socket.end(
          Buffer.concat([
            Buffer.from(
              `${text.replace(/content-length: \d+\r\n/i, '')}content-length: ${body.length}\r\nconnection: close\r\n\r\n`,
            ),
            body,
          ]),
        );
        release();
      });
    });
    upstream.on('error', (error: NodeJS.ErrnoException) => {
      release();
      socketProblem(
        socket,
        502,
        `instance ${instance.id} of site ${forward.site} failed the upgrade: ${describe(error.code ?? '', error.message)}`,
        forward.requestId,
      );
    });
    upstream.end();
  }
}

/** Requests without a body can be sent again (the instance never saw them). */
function canRetry(req: ProxiedRequest): boolean {
  return !requestBodyOf(req).present && req.method !== 'POST' && req.method !== 'PATCH';
}

function describe(code: string, message: string): string {
  if (code === 'ECONNREFUSED') return 'connection refused (the instance is not listening)';
  if (code === 'ECONNRESET') return 'connection reset by the instance';
  return message;
}

/** Counts a request against the instance (least-connections reads it); the returned release is idempotent. */
function lease(instance: Instance): () => void {
  instance.active++;
  let released = false;
  return () => {
    if (!released) {
      released = true;
      instance.active--;
    }
  };
}
