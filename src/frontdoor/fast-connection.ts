import type { Socket } from 'node:net';
import { FastRequest, FastResponse, type ResponseOwner } from './fast-message.js';
import { MAX_HEAD_BYTES, parseRequestHead } from './request-head.js';

export interface FastPathHost {
  /** Takes the request (and answers it), or returns false, before writing anything, to leave it to node:http. */
  dispatch(request: FastRequest, response: FastResponse): boolean;
  /** Gives the connection, with the bytes not yet read put back, to node:http's server. */
  handOff(socket: Socket): void;
}

export interface FastPathTimeouts {
  /** A request head must be complete this long after its first byte (node:http's headersTimeout). */
  headersTimeout: number;
  /** An idle kept-alive connection is closed after this long (node:http's keepAliveTimeout). */
  keepAliveTimeout: number;
}

const HEAD_END = Buffer.from('\r\n\r\n');
const EMPTY = Buffer.alloc(0);
const TIMEOUT_408 = 'HTTP/1.1 408 Request Timeout\r\nconnection: close\r\ncontent-length: 0\r\n\r\n';
/** What node:http answers a head cut short by the client's FIN (llhttp: HPE_INVALID_EOF_STATE). */
const TRUNCATED_400 = 'HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n';
/**
 * After the front door ends a connection (FIN sent, everything written), how long it still reads
 * and drops what the client sends before it closes the socket: a client that never closes its side
 * must not hold the descriptor (nginx's lingering close, whose lingering_timeout is also 5 s).
 */
const LINGER_MS = 5_000;

/**
 * The client connections on the front door's fast path: requests are read off the socket with the
 * strict parser in request-head.ts and answered with FastResponse, one at a time (pipelined ones
 * wait in the buffer, and reading pauses once a head's worth is waiting). The first request the
 * fast path does not take hands the connection, with everything unread, to node:http for good.
 */
export class FastConnections {
  private readonly live = new Set<FastConnection>();
  private readonly sweeper: NodeJS.Timeout;
  private closing = false;

  constructor(
    private readonly host: FastPathHost,
    private readonly timeouts: FastPathTimeouts,
  ) {
    this.sweeper = setInterval(() => this.sweep(Date.now()), 1_000);
    this.sweeper.unref();
  }

  get size(): number {
    return this.live.size;
  }

  accept(socket: Socket): void {
    this.live.add(new FastConnection(socket, this.host, this));
  }

  forget(connection: FastConnection): void {
    this.live.delete(connection);
  }

  get isClosing(): boolean {
    return this.closing;
  }

  /** Closes idle connections now; busy ones close once their response is written. */
  closeIdle(): void {
    this.closing = true;
    clearInterval(this.sweeper);
    for (const connection of this.live) connection.closeIfIdle();
  }

  destroyAll(): void {
    for (const connection of this.live) connection.socket.destroy();
  }

  private sweep(now: number): void {
    const { headersTimeout, keepAliveTimeout } = this.timeouts;
    for (const connection of this.live) connection.checkTimeouts(now, headersTimeout, keepAliveTimeout);
  }
}

class FastConnection implements ResponseOwner {
  /** Bytes read and not yet parsed (a partial head, or pipelined requests). */
  private buffered: Buffer | undefined;
  /** The request whose body is still arriving (kept only while `bodyRemaining` is above 0). */
  private request: FastRequest | undefined;
  private response: FastResponse | undefined;
  /** Request body bytes still to come from the client. */
  private bodyRemaining = 0;
  private headStartedAt = 0;
  private idleSince = Date.now();
  private dispatching = false;
  /** The connection is ending: nothing more is read from it. */
  private ending = false;
  /** When the front door's side of an ending connection was written out (0: not yet). */
  private endedAt = 0;
  /** The client sent its FIN: what is buffered is all that will come. */
  private clientEnded = false;

  constructor(
    readonly socket: Socket,
    private readonly host: FastPathHost,
    private readonly owner: FastConnections,
  ) {
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('close', this.onClose);
    socket.on('error', ignore);
  }

  /**
   * The client's FIN (the server allows half-open connections, as node:http does, so a client may
   * half-close after its requests): answer what is buffered, then close our side too. Without this
   * a client that closes leaves the socket in CLOSE-WAIT until the keep-alive timeout.
   */
  private readonly onEnd = (): void => {
    this.clientEnded = true;
    if (this.ending) return;
    // A body that can no longer arrive whole: the request is cut (the proxy frees the instance).
    if (this.bodyRemaining > 0) return void this.socket.destroy();
    if (!this.response) this.next();
  };

  private readonly onData = (chunk: Buffer): void => {
    if (this.ending) return;
    const data = this.feedBody(chunk);
    if (data.length === 0) return;
    this.buffered = this.buffered ? Buffer.concat([this.buffered, data]) : data;
    if (!this.response) this.next();
    else if (this.buffered.length > MAX_HEAD_BYTES) this.socket.pause(); // pipelined requests wait
  };

  private readonly onClose = (): void => {
    this.owner.forget(this);
    this.ending = true;
    const response = this.response;
    this.response = undefined;
    if (response && !response.writableFinished) response.emitClose();
  };

  responseEnded(response: FastResponse): void {
    if (response !== this.response) return;
    this.response = undefined;
    if (this.dispatching) return; // next() carries on after dispatch returns
    if (this.afterResponse(response)) this.next();
  }

  /** After a response: false when the connection ends instead of reading the next request. */
  private afterResponse(response: FastResponse): boolean {
    // A body the client is still sending (the instance answered early) cannot be skipped safely.
    if (!response.keepAlive || this.bodyRemaining > 0 || (this.clientEnded && !this.buffered)) {
      this.end();
      return false;
    }
    this.idleSince = Date.now();
    if (this.socket.isPaused()) this.socket.resume();
    return true;
  }

  /** Reads and dispatches the buffered requests, one at a time. */
  private next(): void {
    while (this.buffered && !this.response && !this.ending) {
      const buffer = this.buffered;
      const end = buffer.indexOf(HEAD_END);
      if (end === -1) {
        // A bare CR or LF: node:http refuses it at once (400), not after headersTimeout.
        if (buffer.length > MAX_HEAD_BYTES || hasBareLineBreak(buffer)) return this.handOff();
        if (this.clientEnded) return this.endTruncated(buffer);
        this.headStartedAt ||= Date.now();
        return;
      }
      const head = end <= MAX_HEAD_BYTES ? parseRequestHead(buffer, end) : undefined;
      if (!head) return this.handOff();
      const request = new FastRequest(head, this.socket);
      const keepAlive = !head.close && !this.owner.isClosing;
      const response = new FastResponse(this, this.socket, head.method === 'HEAD', keepAlive);
      this.buffered = undefined;
      this.headStartedAt = 0;
      this.idleSince = 0;
      this.request = head.contentLength > 0 ? request : undefined;
      this.response = response;
      this.bodyRemaining = Math.max(0, head.contentLength);
      this.dispatching = true;
      let taken: boolean;
      try {
        taken = this.host.dispatch(request, response);
      } finally {
        this.dispatching = false;
      }
      if (!taken) {
        // Nothing was written: node:http reads this request again, from its first byte.
        this.request = this.response = undefined;
        this.bodyRemaining = 0;
        this.buffered = buffer;
        return this.handOff();
      }
      const rest = this.feedBody(buffer.subarray(end + 4));
      if (rest.length > 0) this.buffered = rest;
      // Answered during dispatch (the front door's own 503, say): go on with the next one, if any.
      if (!this.response && !this.afterResponse(response)) return;
    }
    if (this.clientEnded && !this.buffered && !this.response && !this.ending) this.end();
  }

  /** The client's FIN came in the middle of a head: 400 as node:http; empty lines between requests are no request. */
  private endTruncated(buffer: Buffer): void {
    for (const byte of buffer)
      if (byte !== 13 && byte !== 10) {
        this.ending = true;
        this.buffered = undefined;
        this.socket.end(TRUNCATED_400, () => (this.endedAt = Date.now()));
        return;
      }
    this.end();
  }

  /** Hands the request-body bytes at the start of `data` to the request; returns what follows them. */
  private feedBody(data: Buffer): Buffer {
    if (this.bodyRemaining === 0 || data.length === 0) return data;
    const take = Math.min(this.bodyRemaining, data.length);
    this.bodyRemaining -= take;
    const request = this.request;
    if (this.bodyRemaining === 0) this.request = undefined;
    request?.pushBody(take === data.length ? data : data.subarray(0, take), this.bodyRemaining === 0);
    return take === data.length ? EMPTY : data.subarray(take);
  }

  private handOff(): void {
    const socket = this.socket;
    socket.removeListener('data', this.onData);
    socket.removeListener('end', this.onEnd);
    socket.removeListener('close', this.onClose);
    socket.removeListener('error', ignore);
    this.owner.forget(this);
    this.ending = true;
    const buffered = this.buffered;
    this.buffered = undefined;
    if (!this.clientEnded) {
      if (buffered) socket.unshift(buffered);
      this.host.handOff(socket);
      if (socket.isPaused()) socket.resume();
      return;
    }
    // The client already sent its FIN, and a stream takes nothing back after its end: node:http
    // gets the bytes and the end as the events its listeners would have seen.
    this.host.handOff(socket);
    if (buffered) socket.emit('data', buffered);
    socket.emit('end');
  }

  private end(): void {
    this.ending = true;
    this.buffered = undefined;
    this.socket.end(() => (this.endedAt = Date.now()));
  }

  closeIfIdle(): void {
    if (!this.response) this.end();
  }

  checkTimeouts(now: number, headersTimeout: number, keepAliveTimeout: number): void {
    if (this.ending) {
      if (this.endedAt !== 0 && now - this.endedAt > LINGER_MS) this.socket.destroy();
      return;
    }
    if (this.response) return;
    if (this.headStartedAt !== 0) {
      if (now - this.headStartedAt > headersTimeout) {
        this.ending = true;
        this.socket.end(TIMEOUT_408, () => (this.endedAt = Date.now()));
      }
    } else if (this.idleSince !== 0 && now - this.idleSince > keepAliveTimeout) this.end();
  }
}

function ignore(): void {}

/** A CR not followed by LF or an LF not preceded by CR: a line break RFC 9112 does not allow in a head. */
function hasBareLineBreak(buffer: Buffer): boolean {
  for (let at = buffer.indexOf(10); at !== -1; at = buffer.indexOf(10, at + 1))
    if (at === 0 || buffer[at - 1] !== 13) return true;
  for (let at = buffer.indexOf(13); at !== -1; at = buffer.indexOf(13, at + 1))
    if (at + 1 < buffer.length && buffer[at + 1] !== 10) return true;
  return false;
}
