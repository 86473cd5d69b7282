import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { equalsLower } from './http-chars.js';
import type { ParsedHead } from './request-head.js';

/**
 * The request and response of the front door's fast path: the few members of node:http's
 * IncomingMessage and ServerResponse that the proxy uses, written straight to the client's socket.
 * They are what node:http would send for the same calls (status line, Date when the instance sent
 * none, chunked framing when the length is unknown, Connection/Keep-Alive), without its
 * per-message streams.
 */

/** What the proxy reads of a client request (node's IncomingMessage fits it too). */
export interface ProxiedRequest {
  readonly method?: string;
  readonly url?: string;
  readonly rawHeaders: string[];
  readonly socket: { readonly remoteAddress?: string };
  on(event: 'data', listener: (chunk: Buffer) => void): unknown;
  on(event: 'end', listener: () => void): unknown;
  pause(): unknown;
  resume(): unknown;
}

/** What the proxy does with a response (node's ServerResponse fits it too). */
export interface ProxiedResponse {
  readonly headersSent: boolean;
  readonly destroyed: boolean;
  readonly writableEnded: boolean;
  readonly writableFinished: boolean;
  /** `headers` as a flat list: name, value, name, value… */
  writeHead(status: number, reason: string | undefined, headers: string[]): unknown;
  write(chunk: Buffer): boolean;
  end(chunk?: Buffer | string): unknown;
  flushHeaders(): void;
  destroy(): unknown;
  on(event: 'close', listener: () => void): unknown;
  once(event: 'drain', listener: () => void): unknown;
}

export class FastRequest implements ProxiedRequest {
  readonly method: string;
  readonly url: string;
  readonly rawHeaders: string[];
  /** The Content-Length (-1 for none): the fast path only takes bodies framed by one. */
  readonly contentLength: number;
  private onData: ((chunk: Buffer) => void) | undefined;
  private onEnd: (() => void) | undefined;

  constructor(
    head: ParsedHead,
    readonly socket: Socket,
  ) {
    this.method = head.method;
    this.url = head.url;
    this.rawHeaders = head.rawHeaders;
    this.contentLength = head.contentLength;
  }

  on(event: 'data' | 'end', listener: ((chunk: Buffer) => void) | (() => void)): this {
    if (event === 'data') this.onData = listener as (chunk: Buffer) => void;
    else this.onEnd = listener as () => void;
    return this;
  }

  pause(): this {
    this.socket.pause();
    return this;
  }

  resume(): this {
    this.socket.resume();
    return this;
  }

  /** Body bytes from the connection; `last` when the Content-Length is reached. */
  pushBody(chunk: Buffer, last: boolean): void {
    this.onData?.(chunk);
    if (last) this.onEnd?.();
  }
}

/** Told when a response has been written whole. */
export interface ResponseOwner {
  responseEnded(response: FastResponse): void;
}

const KEEP_ALIVE = 'connection: keep-alive\r\nkeep-alive: timeout=65\r\n\r\n';
const CLOSE = 'connection: close\r\n\r\n';

export class FastResponse implements ProxiedResponse {
  headersSent = false;
  writableEnded = false;
  writableFinished = false;
  /** The head, until it goes out with the first body bytes (one write for small responses). */
  private head: string | undefined;
  private chunked = false;
  private hasBody = true;
  private closeListeners: (() => void)[] | undefined;

  constructor(
    private readonly owner: ResponseOwner,
    private readonly socket: Socket,
    private readonly headRequest: boolean,
    /** The connection stays open for another request (false: the client or the front door closes it). */
    public keepAlive: boolean,
  ) {}

  get destroyed(): boolean {
    return this.socket.destroyed;
  }

  writeHead(status: number, reason: string | undefined, headers: string[]): this {
    if (this.headersSent) throw new Error('the response head was already written');
    let head = `HTTP/1.1 ${status} ${reason ?? STATUS_CODES[status] ?? 'unknown'}\r\n`;
    let length = false;
    let date = false;
    for (let i = 0; i < headers.length; i += 2) {
      const name = headers[i]!;
      if (equalsLower(name, 'content-length')) length = true;
      else if (equalsLower(name, 'date')) date = true;
      else if (equalsLower(name, 'connection')) {
        // Only the front door's own answers say this (an instance's Connection is hop-by-hop).
        if (equalsLower(headers[i + 1]!, 'close')) this.keepAlive = false;
        continue;
      }
      head += `${name}: ${headers[i + 1]}\r\n`;
    }
    if (!date) head += `date: ${httpDate()}\r\n`;
    this.hasBody = !(this.headRequest || status === 204 || status === 304);
    if (this.hasBody && !length) {
      this.chunked = true;
      head += 'transfer-encoding: chunked\r\n';
    }
    this.head = head + (this.keepAlive ? KEEP_ALIVE : CLOSE);
    this.headersSent = true;
    return this;
  }

  flushHeaders(): void {
    if (this.head === undefined) return;
    this.socket.write(this.head, 'latin1');
    this.head = undefined;
  }

  write(chunk: Buffer): boolean {
    if (!this.headersSent) this.writeHead(200, undefined, []);
    if (!this.hasBody || chunk.length === 0) {
      this.flushHeaders();
      return !this.socket.writableNeedDrain;
    }
    return this.send(chunk, this.chunked ? '\r\n' : '');
  }

  end(chunk?: Buffer | string): this {
    if (this.writableEnded) return this;
    if (!this.headersSent) this.writeHead(200, undefined, []);
    this.writableEnded = true;
    const body = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    if (!this.hasBody) this.flushHeaders();
    else if (body && body.length > 0) this.send(body, this.chunked ? '\r\n0\r\n\r\n' : '');
    else if (this.chunked) this.socket.write(`${this.head ?? ''}0\r\n\r\n`, 'latin1');
    else this.flushHeaders();
    this.head = undefined;
    this.writableFinished = true;
    this.owner.responseEnded(this);
    return this;
  }

  destroy(): this {
    this.socket.destroy();
    return this;
  }

  on(_event: 'close', listener: () => void): this {
    (this.closeListeners ??= []).push(listener);
    return this;
  }

  once(_event: 'drain', listener: () => void): this {
    this.socket.once('drain', listener);
    return this;
  }

  /** The client's connection closed before this response was written whole. */
  emitClose(): void {
    for (const listener of this.closeListeners ?? []) listener();
  }

  /**
   * Pending head, chunk-size line, body and `suffix`, written together. `body` may be a view of a
   * shared read buffer: it is copied, into one new buffer with the rest when small.
   */
  private send(body: Buffer, suffix: string): boolean {
    const prefix = (this.head ?? '') + (this.chunked ? `${body.length.toString(16)}\r\n` : '');
    this.head = undefined;
    if (body.length > 16 * 1024) {
      // Large bodies: several writes (one writev), the body copied on its own.
      const socket = this.socket;
      socket.cork();
      if (prefix) socket.write(prefix, 'latin1');
      let ok = socket.write(Buffer.from(body));
      if (suffix) ok = socket.write(suffix, 'latin1');
      socket.uncork();
      return ok;
    }
    const out = Buffer.allocUnsafe(prefix.length + body.length + suffix.length);
    out.write(prefix, 0, 'latin1');
    body.copy(out, prefix.length);
    if (suffix) out.write(suffix, prefix.length + body.length, 'latin1');
    return this.socket.write(out);
  }
}

let dateText = '';
let dateUntil = 0;

/** The IMF-fixdate for a Date header, computed once a second. */
function httpDate(): string {
  const now = Date.now();
  if (now >= dateUntil) {
    dateText = new Date(now).toUTCString();
    dateUntil = now - (now % 1000) + 1000;
  }
  return dateText;
}
