import type { ServerResponse } from 'node:http';

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
    this.res.writeHead(200, {
      ...this.headers,
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      // Reverse proxies such as nginx must not buffer the stream.
      'x-accel-buffering': 'no',
    });
    this.res.flushHeaders();
  }

  send(message: string): void {
    if (this.closed) return;
    this.stream();
    this.res.write(`event: message\ndata: ${message}\n\n`);
  }

  /** An SSE comment: keeps idle proxies from cutting a long-lived stream. */
  keepAlive(): void {
    if (this.streaming && !this.closed) this.res.write(': keep-alive\n\n');
  }

  /** Sends the final message: as the last SSE event, or as the whole JSON response. */
  finish(message: string, status = 200, headers?: Record<string, string>): void {
    if (this.closed) return;
    if (this.streaming) {
      this.res.end(`event: message\ndata: ${message}\n\n`);
      return;
    }
    const body = Buffer.from(message);
    this.res.writeHead(status, {
      ...this.headers,
      ...headers,
      'content-type': 'application/json',
      'content-length': body.length,
    });
    this.res.end(body);
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
