import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import { constants, gzip } from 'node:zlib';
import { SSE_HEADERS, sseComment, sseEvent } from '../../lib/sse.js';

/** Smaller answers are sent as they are: compressing them costs more than it saves. */
const COMPRESS_FROM_BYTES = 1024;

/**
 * The answer to one POSTed request. It starts as a plain JSON response and upgrades itself to a
 * per-request SSE stream the moment something must be sent before the result (progress, log
 * messages, a listen stream) — the SDK's "auto" response mode. Notifications for a request ride
 * on that request's own stream, so both eras are served without a server-side session.
 */
export class Reply {
  private streaming = false;

  constructor(
    private readonly res: ServerResponse,
    private readonly headers: Record<string, string> = {},
    /** The client accepts gzip (Accept-Encoding): large JSON answers are compressed. */
    private readonly gzipOk = false,
  ) {}

  /** True once the client has gone away: nothing more may be sent for this request. */
  get closed(): boolean {
    return this.res.destroyed || this.res.writableEnded;
  }

  get isStreaming(): boolean {
    return this.streaming;
  }

  /** Switches to SSE (idempotent); used directly by long-lived listen streams. */
  stream(): void {
    if (this.streaming || this.closed) return;
    this.streaming = true;
    this.res.writeHead(200, { ...this.headers, ...SSE_HEADERS });
    this.res.flushHeaders();
  }

  send(message: string): void {
    if (this.closed) return;
    this.stream();
    this.res.write(sseEvent({ event: 'message', data: message }));
  }

  /** An SSE comment: keeps idle proxies from cutting a long-lived stream. */
  keepAlive(): void {
    if (this.streaming && !this.closed) this.res.write(sseComment('keep-alive'));
  }

  /** Sends the final message: as the last SSE event, or as the whole JSON response. */
  finish(message: string, status = 200, headers?: Record<string, string>): void {
    if (this.closed) return;
    if (this.streaming) {
      this.res.end(sseEvent({ event: 'message', data: message }));
      return;
    }
    const body = Buffer.from(message);
    if (!this.gzipOk || body.length < COMPRESS_FROM_BYTES) {
      this.res.writeHead(status, {
        ...this.headers,
        ...headers,
        'content-type': 'application/json',
        'content-length': body.length,
        vary: 'accept-encoding',
      });
      this.res.end(body);
      return;
    }
    // Level 1: a tool list compresses about 10:1 even so, at a fraction of the default level's CPU.
    gzip(body, { level: constants.Z_BEST_SPEED }, (error, compressed) => {
      if (this.closed) return;
      if (error) {
        this.res.writeHead(500).end();
        return;
      }
      this.res.writeHead(status, {
        ...this.headers,
        ...headers,
        'content-type': 'application/json',
        'content-encoding': 'gzip',
        'content-length': compressed.length,
        vary: 'accept-encoding',
      });
      this.res.end(compressed);
    });
  }

  /** Ends a request that has no JSON-RPC answer (a notification or a cancelled request). */
  accepted(status = 202): void {
    if (this.closed) return;
    if (this.streaming) this.res.end();
    else this.res.writeHead(status, this.headers).end();
  }

  end(): void {
    if (!this.closed) this.res.end();
  }
}

/** Whether Accept-Encoding allows gzip (present, and not with q=0). */
export function acceptsGzip(headers: IncomingHttpHeaders): boolean {
  const value = headers['accept-encoding'];
  if (typeof value !== 'string') return false;
  return value.split(',').some((entry) => {
    const [coding, ...params] = entry.split(';').map((part) => part.trim().toLowerCase());
    if (coding !== 'gzip' && coding !== '*') return false;
    const q = params.find((p) => p.startsWith('q='));
    return q === undefined || Number(q.slice(2)) > 0;
  });
}
