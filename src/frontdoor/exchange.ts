import type { Instance } from '../sites/index.js';
import type { Deadline } from './deadlines.js';
import { FastRequest, FastResponse, type ProxiedRequest, type ProxiedResponse } from './fast-message.js';
import type { Forward } from './forward.js';
import { downstreamHeaders, headerOf, upstreamHead } from './headers.js';
import { startsWithLower } from './http-chars.js';
import { ResponseParser, type ResponseHead } from './response-parser.js';
import type { ConnectionUser, UpstreamConnection, UpstreamPool } from './upstream.js';

/** What an exchange needs from the proxy that started it. */
export interface ExchangeHost {
  track(deadline: Deadline): void;
  untrack(deadline: Deadline): void;
  /** The request failed before any answer reached the client: retry, or answer 502/504. */
  failed(exchange: Exchange, error: NodeJS.ErrnoException): void;
}

/** The body framing of a client request, read from its raw headers. */
export interface RequestBody {
  /** Has a body to stream (Content-Length above 0, or chunked). */
  present: boolean;
  chunked: boolean;
}

const NO_BODY: RequestBody = { present: false, chunked: false };
const LENGTH_BODY: RequestBody = { present: true, chunked: false };

export function requestBodyOf(req: ProxiedRequest): RequestBody {
  // The fast path's parser read the framing already (never chunked there).
  if (req instanceof FastRequest) return req.contentLength > 0 ? LENGTH_BODY : NO_BODY;
  const chunked = headerOf(req.rawHeaders, 'transfer-encoding') !== undefined;
  const length = headerOf(req.rawHeaders, 'content-length');
  return { present: chunked || (length !== undefined && length !== '0'), chunked };
}

/**
 * One request and its response over one upstream connection: writes the request head (and streams
 * the body), parses the answer and streams it to the client with back-pressure both ways, then
 * hands the connection back to its pool when both messages ended cleanly. No per-request timers:
 * the response timeout is a place in the proxy's DeadlineQueue.
 */
export class Exchange implements ConnectionUser, Deadline {
  deadlineAt = 0;
  deadlinePrev: Deadline | undefined;
  deadlineNext: Deadline | undefined;
  deadlineQueued = false;

  /** Response headers went to the client (from then on a failure can only cut the response). */
  answered = false;
  private settled = false;
  /** Reading the instance is paused for back-pressure. */
  private paused = false;
  private requestSent: boolean;
  private conn: UpstreamConnection | undefined;
  private readonly parser: ResponseParser;

  constructor(
    private readonly host: ExchangeHost,
    readonly req: ProxiedRequest,
    readonly res: ProxiedResponse,
    readonly forward: Forward,
    /** 1 for the first try; a retry on another instance counts up. */
    readonly attempt: number,
    readonly instance: Instance,
    private readonly pool: UpstreamPool,
    private readonly body: RequestBody,
  ) {
    this.requestSent = !body.present;
    this.parser = new ResponseParser(req.method === 'HEAD', this);
  }

  start(): void {
    // The head first: it throws on a header a middleware broke, before anything is taken.
    const head = upstreamHead(this.forward.headers, {
      method: this.req.method ?? 'GET',
      path: this.forward.path,
      authority: `127.0.0.1:${this.instance.port}`,
      requestId: this.forward.requestId,
      remoteAddress: this.req.socket.remoteAddress ?? '',
      chunked: this.body.chunked,
    });
    this.instance.active++;
    const conn = this.pool.acquire(this.instance.port);
    conn.user = this;
    this.conn = conn;
    this.host.track(this);
    this.res.on('close', () => this.clientClosed());
    conn.socket.write(head, 'latin1');
    if (this.body.present) this.streamRequestBody(conn);
  }

  // ResponseEvents (from the parser)

  head(head: ResponseHead): void {
    this.host.untrack(this);
    const headers = downstreamHeaders(
      head.headers,
      head.lengthUnknown,
      this.forward.requestId,
      this.forward.cookies(this.instance),
    );
    // Throws on a header value node:http will not send (the parser's caller answers 502 then).
    this.res.writeHead(head.status, head.reason || undefined, headers);
    this.answered = true;
    // Server-sent events must reach the client as they are written, headers included.
    if (startsWithLower(headerOf(head.headers, 'content-type') ?? '', 'text/event-stream'))
      this.res.flushHeaders();
  }

  data(chunk: Buffer, last: boolean): void {
    // The chunk is a view of the shared read buffer: node:http may queue it, so it gets a copy
    // (FastResponse copies what it does not write at once itself).
    const body = this.res instanceof FastResponse ? chunk : Buffer.from(chunk);
    if (last) {
      // Head and last bytes in one write (and no separate empty write from end()).
      this.res.end(body);
      return;
    }
    const conn = this.conn;
    if (!this.res.write(body) && conn && !this.paused) {
      // The client reads slower than the instance writes: stop reading the instance until it drains.
      const socket = conn.socket;
      this.paused = true;
      socket.pause();
      this.res.once('drain', () => {
        this.paused = false;
        // Unless the exchange ended meanwhile (the connection may serve another request by now).
        if (this.conn === conn) socket.resume();
      });
    }
  }

  end(): void {
    if (!this.res.writableEnded) this.res.end();
  }

  // ConnectionUser (from the connection)

  onData(chunk: Buffer): void {
    try {
      this.parser.push(chunk);
    } catch (error) {
      this.fail(error as NodeJS.ErrnoException);
      return;
    }
    if (this.parser.done) this.complete();
  }

  onClose(error: NodeJS.ErrnoException): void {
    this.conn = undefined;
    if (this.parser.close()) this.complete();
    else this.fail(error);
  }

  // Deadline (the response timeout)

  expire(): void {
    this.fail(Object.assign(new Error('response timeout'), { code: 'BERTH_RESPONSE_TIMEOUT' }));
  }

  private complete(): void {
    if (this.settled) return;
    this.settled = true;
    const conn = this.conn;
    this.conn = undefined;
    this.instance.active--;
    if (!conn) return;
    if (this.parser.reusable && !this.parser.trailingGarbage && this.requestSent && !this.res.destroyed) {
      // The end may arrive in the same read as a chunk that paused it: the next user needs it flowing.
      if (this.paused) conn.socket.resume();
      this.pool.release(conn, this.parser.keepAliveMs);
    } else {
      conn.user = undefined;
      conn.destroy();
    }
  }

  private fail(error: NodeJS.ErrnoException): void {
    if (this.settled) return;
    this.settled = true;
    this.host.untrack(this);
    this.instance.active--;
    const conn = this.conn;
    this.conn = undefined;
    if (conn) {
      conn.user = undefined;
      conn.destroy();
    }
    if (this.answered || this.res.headersSent) this.res.destroy();
    else this.host.failed(this, error);
  }

  /** The client went away (or its response finished): a cut response cuts the upstream one too. */
  private clientClosed(): void {
    if (!this.settled && !this.res.writableFinished)
      this.fail(Object.assign(new Error('client closed'), { code: 'BERTH_CLIENT_CLOSED' }));
  }

  private streamRequestBody(conn: UpstreamConnection): void {
    const socket = conn.socket;
    const chunked = this.body.chunked;
    this.req.on('data', (chunk: Buffer) => {
      if (this.conn !== conn || chunk.length === 0) return;
      let flushed: boolean;
      if (chunked) {
        socket.cork();
        socket.write(`${chunk.length.toString(16)}\r\n`);
        socket.write(chunk);
        flushed = socket.write('\r\n');
        socket.uncork();
      } else flushed = socket.write(chunk);
      if (!flushed) {
        this.req.pause();
        socket.once('drain', () => this.req.resume());
      }
    });
    this.req.on('end', () => {
      if (this.conn !== conn) return;
      if (chunked) socket.write('0\r\n\r\n');
      this.requestSent = true;
    });
  }
}
