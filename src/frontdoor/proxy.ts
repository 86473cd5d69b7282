import type { FrontdoorConfig } from '../config/index.js';
import type { Logger } from '../lib/logger.js';
import type { Instance } from '../sites/index.js';
import { DeadlineQueue, type Deadline } from './deadlines.js';
import { describeUpstreamError, sendProblemFor } from './errors.js';
import { Exchange, type ExchangeHost } from './exchange.js';
import type { ProxiedRequest, ProxiedResponse } from './fast-message.js';
import type { Forward } from './forward.js';
import { Upgrades } from './upgrade.js';
import { SocketBudget, UpstreamPool } from './upstream.js';

/**
 * Methods whose request may be sent again when a kept-alive connection failed before any answer
 * (RFC 9110 §9.2.1 safe methods): replaying them changes nothing on the instance, whereas even an
 * idempotent DELETE or PUT that ran once may have had effects worth not repeating.
 */
const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);
const MAX_ATTEMPTS = 3;

/**
 * The service end of the front door: streams a request to an instance over its own kept-alive
 * connections (no http.Agent, no ClientRequest/IncomingMessage per request) and the response back,
 * with timeouts and 502/503/504 answers that say what went wrong.
 */
export class Proxy implements ExchangeHost {
  private readonly pools = new WeakMap<Instance, UpstreamPool>();
  private readonly livePools = new Set<UpstreamPool>();
  /** Every socket to an instance, pooled or upgraded, counts against frontdoor.maxConnections. */
  readonly budget: SocketBudget;
  readonly upgrades: Upgrades;
  private readonly responseDeadlines: DeadlineQueue;
  private readonly bodyDeadlines: DeadlineQueue;
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly config: FrontdoorConfig,
    private readonly logger: Logger,
    maxConnections: number,
  ) {
    this.budget = new SocketBudget(maxConnections, this.livePools);
    this.upgrades = new Upgrades(config, this.budget);
    this.responseDeadlines = new DeadlineQueue(config.responseTimeout);
    this.bodyDeadlines = new DeadlineQueue(config.requestBodyTimeout);
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
        this.budget,
      );
      this.pools.set(instance, pool);
    }
    return pool;
  }

  close(): void {
    clearInterval(this.sweeper);
    this.responseDeadlines.close();
    this.bodyDeadlines.close();
    for (const pool of this.livePools) pool.destroyAll();
    this.upgrades.destroyAll();
  }

  web(req: ProxiedRequest, res: ProxiedResponse, forward: Forward): void {
    const picked = forward.pick();
    if (!(picked as Instance).id) {
      sendProblemFor(req, res, 503, (picked as { unavailable: string }).unavailable, forward.requestId, {
        site: forward.site,
      });
      return;
    }
    this.send(req, res, forward, picked as Instance, 1, false);
  }

  private send(
    req: ProxiedRequest,
    res: ProxiedResponse,
    forward: Forward,
    instance: Instance,
    attempt: number,
    fresh: boolean,
  ): void {
    new Exchange(this, req, res, forward, attempt, instance, this.poolFor(instance), fresh).start();
  }

  track(deadline: Deadline): void {
    this.responseDeadlines.add(deadline);
  }

  untrack(deadline: Deadline): void {
    this.responseDeadlines.remove(deadline);
  }

  watchBody(deadline: Deadline): void {
    this.bodyDeadlines.remove(deadline);
    this.bodyDeadlines.add(deadline);
  }

  unwatchBody(deadline: Deadline): void {
    this.bodyDeadlines.remove(deadline);
  }

  failed(exchange: Exchange, error: NodeJS.ErrnoException): void {
    const { req, res, instance, forward, attempt } = exchange;
    if (res.destroyed) return;
    const code = error.code ?? '';
    const replay = attempt < MAX_ATTEMPTS ? replayable(exchange, code) : undefined;
    if (replay) {
      // Another instance if there is one (this one may be going away); after a kept-alive race this
      // one again will do, on a new connection.
      const other = forward.pick(instance);
      const next = (other as Instance).id ? (other as Instance) : replay === 'fresh' ? instance : undefined;
      // No instance to try: the answer is about this one's failure, not a 503 about the site.
      if (next) {
        this.send(req, res, forward, next, attempt + 1, replay === 'fresh');
        return;
      }
    }
    const where = { site: forward.site, instance: instance.id };
    const of = `instance ${instance.id} of site ${forward.site}`;
    if (code === 'BERTH_RESPONSE_TIMEOUT') {
      sendProblemFor(
        req,
        res,
        504,
        `${of} did not answer within ${this.config.responseTimeout / 1000} s`,
        forward.requestId,
        where,
      );
    } else if (code === 'BERTH_CONNECT_TIMEOUT') {
      sendProblemFor(
        req,
        res,
        502,
        `could not connect to ${of} within ${this.config.connectTimeout / 1000} s`,
        forward.requestId,
        where,
      );
    } else if (code === 'BERTH_REQUEST_BODY_TIMEOUT') {
      sendProblemFor(
        req,
        res,
        408,
        `the request body sent nothing for ${this.config.requestBodyTimeout / 1000} s (frontdoor.requestBodyTimeout)`,
        forward.requestId,
        where,
        true,
      );
    } else if (code === 'BERTH_UPSTREAM_LIMIT') {
      this.logger.warn({ sockets: this.budget.max }, 'front door out of sockets to instances');
      sendProblemFor(
        req,
        res,
        503,
        `the front door has all its ${this.budget.max} connections to instances in use (frontdoor.maxConnections)`,
        forward.requestId,
        where,
      );
    } else {
      // A malformed answer says what was malformed (the parser's message), as any other failure.
      if (code === 'BERTH_UPSTREAM_PROTOCOL')
        this.logger.warn({ err: error, ...where }, 'malformed response from an instance');
      else this.logger.debug({ err: error, ...where }, 'upstream error');
      sendProblemFor(
        req,
        res,
        502,
        `${of} failed to answer: ${describeUpstreamError(code, error.message)}`,
        forward.requestId,
        where,
      );
    }
  }
}

/**
 * Whether a failed request may be sent again, and where. Only when nothing of it can have been
 * acted on: the connection was refused (no byte left the front door; another instance), or a
 * kept-alive connection closed before any answer and the method is safe (the instance most likely
 * closed it as idle just as the request went out, the "keep-alive race"; a new connection, to another
 instance when there is one). Never a
 * request with a body (it streamed and is gone), and never after any byte of an answer.
 */
function replayable(exchange: Exchange, code: string): 'refused' | 'fresh' | undefined {
  if (exchange.body.present || exchange.responded) return undefined;
  if (code === 'ECONNREFUSED') return 'refused';
  if (exchange.reused && (code === 'ECONNRESET' || code === 'EPIPE') && SAFE.has(exchange.req.method ?? ''))
    return 'fresh';
  return undefined;
}
