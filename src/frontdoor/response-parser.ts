import {
  equalsLower,
  hasControl,
  isContentLength,
  isDigits,
  isToken,
  skipSpace,
  startsWithLower,
  trimSpaceEnd,
} from './http-chars.js';

/**
 * An HTTP/1.1 response parser for the proxy's own upstream connections (RFC 9112). It reads the
 * status line and header fields, then frames the body (Content-Length, chunked, or until the
 * instance closes), so a kept-alive connection can carry the next request. Bodies are handed on as
 * they arrive (chunked bodies decoded), never buffered. Anything malformed throws
 * `UpstreamProtocolError`: the caller answers 502 and drops the connection.
 */

export class UpstreamProtocolError extends Error {
  readonly code = 'BERTH_UPSTREAM_PROTOCOL';
}

export interface ResponseHead {
  status: number;
  reason: string;
  /** Header fields as sent, flattened: name, value, name, value… */
  headers: string[];
  /** The body is re-framed for the client (chunked or close-delimited): drop the instance's Content-Length. */
  lengthUnknown: boolean;
}

export interface ResponseEvents {
  head(head: ResponseHead): void;
  /**
   * `last`: the body ends with this chunk (`end` follows at once). `chunk` may be a view of the
   * connection's shared read buffer, valid only during the call.
   */
  data(chunk: Buffer, last: boolean): void;
  end(): void;
}

const MAX_HEAD = 64 * 1024;
const MAX_CHUNK_LINE = 4096;
const CLOSE_OPTION = /(?:^|,)\s*close\s*(?:,|$)/i;
const KEEP_ALIVE_TIMEOUT = /(?:^|[,\s])timeout=(\d{1,6})/i;
/**
 * A chunk-size line as llhttp reads it (RFC 9112 §7.1.1 without the optional whitespace, which
 * llhttp refuses): hex digits, then extensions `;name` or `;name=value` (a token or a quoted string).
 */
const CHUNK_LINE =
  /^([0-9A-Fa-f]{1,12})(?:;[!#$%&'*+.^_`|~0-9A-Za-z-]+(?:=(?:[!#$%&'*+.^_`|~0-9A-Za-z-]*|"(?:[\t !#-[\]-~\x80-\xff]|\\[\t -~\x80-\xff])*"))?)*$/;
const CRLF = Buffer.from('\r\n');
const HEAD_END = Buffer.from('\r\n\r\n');

const enum State {
  Head,
  Fixed,
  ChunkSize,
  ChunkData,
  ChunkDataEnd,
  Trailers,
  UntilClose,
  Done,
}

export class ResponseParser {
  private state = State.Head;
  /** Bytes of an unfinished head or chunk-size/trailer line. */
  private pending: Buffer | undefined;
  /** Body bytes still expected (Content-Length or the current chunk). */
  private remaining = 0;
  /** False once the instance says the connection ends with this response (or the framing demands it). */
  reusable = true;
  /** Bytes came after the end of the response: the connection cannot be trusted for another one. */
  trailingGarbage = false;
  /** How long the instance keeps the idle connection open (its `Keep-Alive: timeout=N`), if it said. */
  keepAliveMs: number | undefined;

  constructor(
    /** A HEAD request: the response has no body whatever its headers say. */
    private readonly headRequest: boolean,
    private readonly events: ResponseEvents,
  ) {}

  get done(): boolean {
    return this.state === State.Done;
  }

  /** True once the status line and headers of the final (non-1xx) response are in. */
  get headReceived(): boolean {
    return this.state !== State.Head;
  }

  /** Bytes of a response head received so far without its end (0 between messages). */
  get headBytes(): number {
    return this.state === State.Head ? (this.pending?.length ?? 0) : 0;
  }

  /** The start of an unfinished head, quoted, for an error message. */
  headPreview(): string {
    return JSON.stringify(
      (this.state === State.Head ? this.pending : undefined)?.toString('latin1', 0, 60) ?? '',
    );
  }

  push(chunk: Buffer): void {
    let data = chunk;
    while (data.length > 0) {
      switch (this.state) {
        case State.Head:
          data = this.readHead(data);
          break;
        case State.Fixed: {
          const take = Math.min(this.remaining, data.length);
          this.remaining -= take;
          const body = take === data.length ? data : data.subarray(0, take);
          data = take === data.length ? EMPTY : data.subarray(take);
          this.events.data(body, this.remaining === 0);
          if (this.remaining === 0) this.finish();
          break;
        }
        case State.ChunkSize:
          data = this.readLine(data, (line) => this.chunkSize(line));
          break;
        case State.ChunkData: {
          const take = Math.min(this.remaining, data.length);
          this.remaining -= take;
          const body = take === data.length ? data : data.subarray(0, take);
          data = take === data.length ? EMPTY : data.subarray(take);
          this.events.data(body, false);
          if (this.remaining === 0) this.state = State.ChunkDataEnd;
          break;
        }
        case State.ChunkDataEnd:
          data = this.readLine(data, (line) => {
            if (line.length !== 0) throw new UpstreamProtocolError('chunk data not followed by CRLF');
            this.state = State.ChunkSize;
          });
          break;
        case State.Trailers:
          // Trailer fields are dropped (the client gets a re-chunked body without them), but must
          // be fields: llhttp refuses the message otherwise, and so does this parser.
          data = this.readLine(data, (line) => {
            if (line.length === 0) return this.finish();
            const text = line.toString('latin1');
            const colon = text.indexOf(':');
            if (colon <= 0 || !isToken(text, 0, colon) || hasControl(text, colon + 1, text.length))
              throw new UpstreamProtocolError(`malformed trailer line ${JSON.stringify(text.slice(0, 80))}`);
          });
          break;
        case State.UntilClose:
          this.events.data(data, false);
          data = EMPTY;
          break;
        case State.Done:
          this.trailingGarbage = true;
          return;
      }
    }
  }

  /** The instance closed the connection: ends a close-delimited body; false if the response was cut short. */
  close(): boolean {
    if (this.state === State.UntilClose) {
      this.finish();
      return true;
    }
    return this.state === State.Done;
  }

  private finish(): void {
    this.state = State.Done;
    this.events.end();
  }

  private readHead(data: Buffer): Buffer {
    const buffer = this.pending ? Buffer.concat([this.pending, data]) : data;
    // Start the search a few bytes back so a CRLFCRLF split across reads is found.
    const from = this.pending ? Math.max(0, this.pending.length - 3) : 0;
    const end = buffer.indexOf(HEAD_END, from);
    if (end === -1) {
      if (buffer.length > MAX_HEAD)
        throw new UpstreamProtocolError(`response head larger than ${MAX_HEAD} bytes`);
      // Kept past this read: a copy (the chunk may be the connection's shared read buffer).
      this.pending = this.pending ? buffer : Buffer.from(buffer);
      return EMPTY;
    }
    this.pending = undefined;
    if (end > MAX_HEAD) throw new UpstreamProtocolError(`response head larger than ${MAX_HEAD} bytes`);
    this.parseHead(buffer.toString('latin1', 0, end));
    return buffer.subarray(end + 4);
  }

  private parseHead(text: string): void {
    let lineEnd = text.indexOf('\r\n');
    if (lineEnd === -1) lineEnd = text.length;
    const first = text.slice(0, lineEnd);
    if (!isStatusLine(first))
      throw new UpstreamProtocolError(`malformed status line ${JSON.stringify(first.slice(0, 80))}`);
    // The reason phrase is written to the client: a control character would corrupt its head.
    if (hasControl(first, 13, first.length))
      throw new UpstreamProtocolError(
        `status line holds a control character ${JSON.stringify(first.slice(0, 80))}`,
      );
    const status = Number(first.slice(9, 12));
    if (first.charCodeAt(7) === 48 /* HTTP/1.0 */) this.reusable = false;
    const headers: string[] = [];
    let contentLength = -1;
    let transferEncoding = false;
    // Field by field with indexOf and character tables: no split, no regular expression per field.
    for (let pos = lineEnd + 2; pos < text.length;) {
      let next = text.indexOf('\r\n', pos);
      if (next === -1) next = text.length;
      const colon = text.indexOf(':', pos);
      if (colon <= pos || colon > next)
        throw new UpstreamProtocolError(
          `malformed header line ${JSON.stringify(text.slice(pos, Math.min(next, pos + 80)))}`,
        );
      if (!isToken(text, pos, colon))
        throw new UpstreamProtocolError(
          `malformed header name ${JSON.stringify(text.slice(pos, Math.min(colon, pos + 80)))}`,
        );
      const name = text.slice(pos, colon);
      const from = skipSpace(text, colon + 1, next);
      const to = trimSpaceEnd(text, from, next);
      // A control character would split or corrupt the head the client receives (node:http refuses it too).
      if (hasControl(text, from, to))
        throw new UpstreamProtocolError(`header ${name} holds a control character`);
      const value = text.slice(from, to);
      headers.push(name, value);
      pos = next + 2;
      // Only the framing and connection fields matter here; compared by length first, no lower-cased copy.
      const length = name.length;
      if (length === 14 && equalsLower(name, 'content-length')) {
        // A second Content-Length, even an equal one, is refused, as llhttp does.
        if (!isContentLength(value) || contentLength !== -1)
          throw new UpstreamProtocolError(
            contentLength !== -1
              ? 'more than one Content-Length'
              : `invalid Content-Length ${JSON.stringify(value.slice(0, 40))}`,
          );
        contentLength = Number(value);
      } else if (length === 17 && equalsLower(name, 'transfer-encoding')) {
        // Transfer-Encoding is hop-by-hop: the client gets the body re-framed without it, so only
        // `chunked`, which is decoded here, can pass. Any other coding (gzip, chunked) would reach the
        // client still encoded and unlabelled; refuse it as nginx does ("unknown Transfer-Encoding").
        if (transferEncoding || !equalsLower(value, 'chunked'))
          throw new UpstreamProtocolError(
            `unsupported Transfer-Encoding ${JSON.stringify(value.slice(0, 40))}`,
          );
        transferEncoding = true;
      } else if (length === 10 && equalsLower(name, 'connection')) {
        if (!equalsLower(value, 'keep-alive') && CLOSE_OPTION.test(value)) this.reusable = false;
      } else if (length === 10 && equalsLower(name, 'keep-alive')) {
        this.keepAliveMs = keepAliveTimeoutMs(value) ?? this.keepAliveMs;
      }
    }
    // RFC 9112 §6.3 lets Transfer-Encoding win; llhttp and nginx refuse the pair (a sign of smuggling).
    if (transferEncoding && contentLength !== -1)
      throw new UpstreamProtocolError('both Content-Length and Transfer-Encoding');
    if (status < 200) {
      // 100 Continue, 102, 103 Early Hints: interim answers, the real one follows. 101 was not asked for.
      if (status === 101)
        throw new UpstreamProtocolError('101 Switching Protocols without an upgrade request');
      return;
    }
    const head: ResponseHead = { status, reason: first.slice(13), headers, lengthUnknown: false };
    if (this.headRequest || status === 204 || status === 304) {
      this.state = State.Done;
      this.events.head(head);
      this.events.end();
      return;
    }
    if (transferEncoding) {
      head.lengthUnknown = true;
      this.state = State.ChunkSize;
    } else if (contentLength !== -1) {
      this.remaining = contentLength;
      this.state = State.Fixed;
    } else {
      head.lengthUnknown = true;
      this.reusable = false;
      this.state = State.UntilClose;
    }
    this.events.head(head);
    if (this.state === State.Fixed && this.remaining === 0) this.finish();
  }

  private chunkSize(line: Buffer): void {
    const text = line.toString('latin1');
    const match = CHUNK_LINE.exec(text);
    if (!match) throw new UpstreamProtocolError(`invalid chunk size ${JSON.stringify(text.slice(0, 40))}`);
    this.remaining = parseInt(match[1]!, 16);
    this.state = this.remaining === 0 ? State.Trailers : State.ChunkData;
  }

  /** Collects one CRLF-terminated line (across reads) and hands it to `done` without the CRLF. */
  private readLine(data: Buffer, done: (line: Buffer) => void): Buffer {
    const buffer = this.pending ? Buffer.concat([this.pending, data]) : data;
    const from = this.pending ? Math.max(0, this.pending.length - 1) : 0;
    const end = buffer.indexOf(CRLF, from);
    if (end === -1) {
      if (buffer.length > MAX_CHUNK_LINE)
        throw new UpstreamProtocolError(`chunk line longer than ${MAX_CHUNK_LINE} bytes`);
      // Kept past this read: a copy (the chunk may be the connection's shared read buffer).
      this.pending = this.pending ? buffer : Buffer.from(buffer);
      return EMPTY;
    }
    this.pending = undefined;
    if (end > MAX_CHUNK_LINE)
      throw new UpstreamProtocolError(`chunk line longer than ${MAX_CHUNK_LINE} bytes`);
    done(buffer.subarray(0, end));
    return buffer.subarray(end + 2);
  }
}

const EMPTY = Buffer.alloc(0);

/** `HTTP/1.0` or `HTTP/1.1`, a status 100–999, then the end or a space and a reason phrase. */
function isStatusLine(line: string): boolean {
  const minor = line.charCodeAt(7);
  const first = line.charCodeAt(9);
  return (
    line.startsWith('HTTP/1.') &&
    (minor === 48 || minor === 49) &&
    line.charCodeAt(8) === 32 &&
    first >= 49 &&
    first <= 57 &&
    line.length >= 12 &&
    isDigits(line, 10, 12) &&
    (line.length === 12 || line.charCodeAt(12) === 32)
  );
}

/** The `timeout=N` of a Keep-Alive header in milliseconds; node:http sends exactly `timeout=5`. */
function keepAliveTimeoutMs(value: string): number | undefined {
  if (
    startsWithLower(value, 'timeout=') &&
    value.length <= 14 &&
    value.length > 8 &&
    isDigits(value, 8, value.length)
  )
    return Number(value.slice(8)) * 1000;
  const timeout = KEEP_ALIVE_TIMEOUT.exec(value);
  return timeout ? Number(timeout[1]) * 1000 : undefined;
}
