import { Agent, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FrontdoorConfig } from '../config/frontdoor.js';
import type { Logger } from '../lib/logger.js';
import type { Instance } from '../sites/index.js';
import { sendProblem, socketProblem } from './errors.js';
import { downstreamHeaders, upstreamHeaders } from './headers.js';

/** The instance to use, or the reason none can answer; `exclude` is one that just refused a connection. */
export type Picker = (exclude?: Instance) => Instance | { unavailable: string };

export interface Forward {
  requestId: string;
  site: string;
  pick: Picker;
  /** Path to send (after a router's strip-prefix). */
  path: string;
  /** Extra Set-Cookie headers (affinity, slot pin) for the instance chosen. */
  cookies: (instance: Instance) => string[];
}

/** Requests without a body can be sent again when an instance refused the connection (it never saw them). */
function canRetry(req: IncomingMessage): boolean {
  return req.headers['content-length'] === undefined && req.headers['transfer-encoding'] === undefined && req.method !== 'POST' && req.method !== 'PATCH';
}

const RETRYABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE']);

/**
 * The service end of the front door: streams a request to an instance and its response back, with
 * keep-alive sockets per instance, timeouts, and 502/503/504 answers that say what went wrong.
 */
export class Proxy {
  private readonly agents = new WeakMap<Instance, Agent>();
  private readonly allAgents = new Set<Agent>();

  constructor(
    private readonly config: FrontdoorConfig,
    private readonly logger: Logger,
  ) {}

  private agentFor(instance: Instance): Agent {
    let agent = this.agents.get(instance);
    if (!agent) {
      agent = new Agent({ keepAlive: true, noDelay: true, maxFreeSockets: this.config.maxIdleSockets, timeout: this.config.idleTimeout, scheduling: 'lifo' });
      this.agents.set(instance, agent);
      this.allAgents.add(agent);
    }
    return agent;
  }

  close(): void {
    for (const agent of this.allAgents) agent.destroy();
    this.allAgents.clear();
  }

  web(req: IncomingMessage, res: ServerResponse, forward: Forward, attempt = 1, exclude?: Instance): void {
    const picked = forward.pick(exclude);
    if (!(picked as Instance).id) {
      sendProblem(res, 503, (picked as { unavailable: string }).unavailable, forward.requestId, { site: forward.site });
      return;
    }
    const instance = picked as Instance;
    const release = lease(instance);
    let answered = false;
    const upstream = request({
      host: '127.0.0.1',
      port: instance.port,
      method: req.method,
      path: forward.path,
      headers: upstreamHeaders(req, forward.requestId),
      agent: this.agentFor(instance),
    });
    const responseTimer = setTimeout(() => upstream.destroy(Object.assign(new Error('response timeout'), { code: 'BERTH_RESPONSE_TIMEOUT' })), this.config.responseTimeout);
    upstream.once('socket', (socket) => {
      if (!socket.connecting) return;
      const connectTimer = setTimeout(() => upstream.destroy(Object.assign(new Error('connect timeout'), { code: 'BERTH_CONNECT_TIMEOUT' })), this.config.connectTimeout);
      socket.once('connect', () => clearTimeout(connectTimer));
      socket.once('close', () => clearTimeout(connectTimer));
    });
    upstream.on('response', (upstreamRes) => {
      answered = true;
      clearTimeout(responseTimer);
      const headers = downstreamHeaders(upstreamRes.headers);
      headers['x-request-id'] = forward.requestId;
      const cookies = forward.cookies(instance);
      if (cookies.length > 0) {
        const existing = headers['set-cookie'];
        headers['set-cookie'] = [...(Array.isArray(existing) ? existing : existing ? [String(existing)] : []), ...cookies];
      }
      res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.statusMessage, headers);
      // Server-sent events must reach the client as they are written, headers included.
      if (String(upstreamRes.headers['content-type'] ?? '').startsWith('text/event-stream')) res.flushHeaders();
      upstreamRes.pipe(res);
      upstreamRes.on('error', () => res.destroy());
      upstreamRes.on('end', release);
      upstreamRes.on('close', release);
    });
    upstream.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(responseTimer);
      release();
      if (answered || res.headersSent) {
        res.destroy();
        return;
      }
      const code = error.code ?? '';
      if (RETRYABLE.has(code) && canRetry(req) && attempt < 3 && !res.destroyed) {
        // The instance never saw the request (refused, or a kept-alive socket it had closed): try another.
        this.web(req, res, forward, attempt + 1, instance);
        return;
      }
      if (code === 'BERTH_RESPONSE_TIMEOUT') {
        sendProblem(res, 504, `instance ${instance.id} of site ${forward.site} did not answer within ${this.config.responseTimeout / 1000} s`, forward.requestId, { site: forward.site, instance: instance.id });
      } else if (code === 'BERTH_CONNECT_TIMEOUT') {
        sendProblem(res, 502, `could not connect to instance ${instance.id} of site ${forward.site} within ${this.config.connectTimeout / 1000} s`, forward.requestId, { site: forward.site, instance: instance.id });
      } else if (!res.destroyed) {
        this.logger.debug({ err: error, site: forward.site, instance: instance.id }, 'upstream error');
        sendProblem(res, 502, `instance ${instance.id} of site ${forward.site} failed to answer: ${describe(code, error.message)}`, forward.requestId, { site: forward.site, instance: instance.id });
      }
    });
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
      release();
    });
    // A request without a body is complete already (and may be a retry whose stream has ended).
    if (canRetry(req)) upstream.end();
    else req.pipe(upstream);
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
    const upstream = request({ host: '127.0.0.1', port: instance.port, method: req.method, path: forward.path, headers: upstreamHeaders(req, forward.requestId, true), agent: false });
    upstream.on('upgrade', (upstreamRes, upstreamSocket, upstreamHead) => {
      let head101 = `HTTP/1.1 ${upstreamRes.statusCode} ${upstreamRes.statusMessage}\r\n`;
      for (let i = 0; i < upstreamRes.rawHeaders.length; i += 2) head101 += `${upstreamRes.rawHeaders[i]}: ${upstreamRes.rawHeaders[i + 1]}\r\n`;
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
        if (name !== 'connection' && name !== 'transfer-encoding') text += `${upstreamRes.rawHeaders[i]}: ${upstreamRes.rawHeaders[i + 1]}\r\n`;
      }
      const chunks: Buffer[] = [];
      upstreamRes.on('data', (c: Buffer) => chunks.push(c));
      upstreamRes.on('end', () => {
        const body = Buffer.concat(chunks);
        socket.end(Buffer.concat([Buffer.from(`${text.replace(/content-length: \d+\r\n/i, '')}content-length: ${body.length}\r\nconnection: close\r\n\r\n`), body]));
        release();
      });
    });
    upstream.on('error', (error: NodeJS.ErrnoException) => {
      release();
      socketProblem(socket, 502, `instance ${instance.id} of site ${forward.site} failed the upgrade: ${describe(error.code ?? '', error.message)}`, forward.requestId);
    });
    upstream.end();
  }
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
