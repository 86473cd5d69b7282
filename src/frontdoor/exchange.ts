import type { Instance } from '../sites/index.js';
import type { Deadline } from './deadlines.js';
import { FastResponse, type ProxiedRequest, type ProxiedResponse } from './fast-message.js';
import type { Forward } from './forward.js';
import type { RequestBody } from './framing.js';
import { downstreamHeaders, headerOf, upstreamHead } from './headers.js';
import { startsWithLower } from './http-chars.js';
import { ResponseParser, type ResponseHead } from './response-parser.js';
import type { ConnectionUser, UpstreamConnection, UpstreamPool } from './upstream.js';

/** What an exchange needs from the proxy that started it. */
export interface ExchangeHost {
  track(deadline: Deadline): void;
  untrack(deadline: Deadline): void;
  /** The request body's idle deadline (requestBodyTimeout): started, or moved on by a read. */
  watchBody(deadline: Deadline): void;
  unwatchBody(deadline: Deadline): void;
  /** The request failed before any answer reached the client: retry, or answer 502/504. */
  failed(exchange: Exchange, error: NodeJS.ErrnoException): void;
}

const error = (message: string, code: string): NodeJS.ErrnoException =>
  Object.assign(new Error(message), { code });

/** The idle deadline of a request body that is still arriving; its expiry fails the exchange. */
class BodyDeadline implements Deadline {
  deadlineAt = 0;
  deadlinePrev: Deadline | undefined;
  deadlineNext: Deadline | undefined;
  deadlineQueued = false;

  constructor(private readonly exchange: Exchange) {}

  expire(): void {
    this.exchange.bodyStalled();
  }
}

/**
 * One request and its response over one upstream connection: writes the request head (and streams
 * the body), parses the answer and streams it to the client with back-pressure both ways, then
 * hands the connection back to its pool when both messages ended cleanly. No per-request timers:
 * the response timeout is a place in the proxy's DeadlineQueue (and a body's idle timeout one in
 * another).
 */
export class Exchange implements ConnectionUser, Deadline {
  deadlineAt = 0;
  deadlinePrev: Deadline | undefined;
  deadlineNext: Deadline | undefined;
  deadlineQueued = false;

  /** Response headers went to the client (from then on a failure can only cut the response). */
  answered = false;
  /** Some bytes of the instance's answer arrived: the request reached it, and is never sent again. */
  responded = false;
  /** The connection had carried a request before (a failure on it may be the instance closing it just then). */
  reused = false;
  private settled = false;
  /** Reading the instance is paused for back-pressure. */
  private paused = false;
  private requestSent: boolean;
  private conn: UpstreamConnection | undefined;
  private readonly parser: ResponseParser;
  private bodyDeadline: BodyDeadline | undefined;
  /** Ends this request's count in flight on the instance. */
  private release: () => void = () => {};

  constructor(
    private readonly host: ExchangeHost,
    readonly req: ProxiedRequest,
    readonly res: ProxiedResponse,
    readonly forward: Forward,
    /** 1 for the first try; a retry counts up. */
    readonly attempt: number,
    readonly instance: Instance,
    private readonly pool: UpstreamPool,
    /** A new connection, not an idle one (a retry after an idle one failed). */
    private readonly fresh = false,
  ) {
    this.requestSent = !forward.body.present;
    this.parser = new ResponseParser(req.method === 'HEAD', this);
  }

  get body(): RequestBody {
    return this.forward.body;
  }

  start(): void {
    const body = this.forward.body;
    // The head first: it throws on a header a middleware broke, before anything is taken.
    const head = upstreamHead(this.forward.headers, {
      method: this.req.method ?? 'GET',
      path: this.forward.path,
      authority: `127.0.0.1:${this.instance.port}`,
      requestId: this.forward.requestId,
      remoteAddress: this.req.socket.remoteAddress ?? '',
      chunked: body.chunked,
      contentLength: body.length,
    });
    const conn = this.pool.acquire(this.instance.port, this.fresh);
    if (!conn) {
      this.settled = true;
      this.host.failed(this, error('no upstream socket left', 'BERTH_UPSTREAM_LIMIT'));
      return;
    }
    this.release = this.forward.lease(this.instance);
    conn.user = this;
    this.conn = conn;
    this.reused = conn.reused;
    this.host.track(this);
    this.res.on('close', () => this.clientClosed());
    conn.socket.write(head, 'latin1');
    if (body.present) this.streamRequestBody(conn);
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
    this.responded = true;
    try {
      this.parser.push(chunk);
    } catch (error) {
      this.fail(error as NodeJS.ErrnoException);
      return;
    }
    if (this.parser.done) this.complete();
  }

  onClose(closed: NodeJS.ErrnoException): void {
    this.conn = undefined;
    if (this.parser.close()) this.complete();
    else if (this.parser.headBytes > 0)
      // Bytes came, but not a whole head: that is what was wrong with the answer.
      this.fail(
        error(
          `the connection closed after ${this.parser.headBytes} bytes that are not a complete response head: ${this.parser.headPreview()}`,
          'BERTH_UPSTREAM_PROTOCOL',
        ),
      );
    else this.fail(closed);
  }

  // Deadline (the response timeout)

  expire(): void {
    this.fail(error('response timeout', 'BERTH_RESPONSE_TIMEOUT'));
  }

  /** The request body sent nothing for requestBodyTimeout. */
  bodyStalled(): void {
    this.bodyDeadline = undefined;
    this.fail(error('request body timeout', 'BERTH_REQUEST_BODY_TIMEOUT'));
  }

  private complete(): void {
    if (this.settled) return;
    this.settled = true;
    this.stopBodyWatch();
    const conn = this.conn;
    this.conn = undefined;
    this.release();
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
    this.stopBodyWatch();
    this.release();
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
    if (!this.settled && !this.res.writableFinished) this.fail(error('client closed', 'BERTH_CLIENT_CLOSED'));
  }

  private stopBodyWatch(): void {
    if (!this.bodyDeadline) return;
    this.host.unwatchBody(this.bodyDeadline);
    this.bodyDeadline = undefined;
  }

  private streamRequestBody(conn: UpstreamConnection): void {
    const socket = conn.socket;
    const chunked = this.forward.body.chunked;
    const deadline = (this.bodyDeadline = new BodyDeadline(this));
    this.host.watchBody(deadline);
    this.req.on('data', (chunk: Buffer) => {
      if (this.conn !== conn || chunk.length === 0) return;
      // A read moves the idle deadline on (to the queue's tail: all deadlines have one length).
      if (this.bodyDeadline === deadline) this.host.watchBody(deadline);
      let flushed: boolean;
      if (chunked) {
        socket.cork();
        socket.write(`${chunk.length.toString(16)}\r\n`);
        socket.write(chunk);
        flushed = socket.write('\r\n');
        socket.uncork();
      } else flushed = socket.write(chunk);
      if (!flushed) {
        // The instance reads slower than the client sends: that is not the client stalling.
        this.stopBodyWatch();
        this.req.pause();
        socket.once('drain', () => {
          if (this.conn !== conn) return;
          this.bodyDeadline = deadline;
          this.host.watchBody(deadline);
          this.req.resume();
        });
      }
    });
    this.req.on('end', () => {
      if (this.conn !== conn) return;
      this.stopBodyWatch();
      if (chunked) socket.write('0\r\n\r\n');
      this.requestSent = true;
    });
  }
}
