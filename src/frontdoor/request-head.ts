import { equalsLower, hasControl, isContentLength, isToken, skipSpace, trimSpaceEnd } from './http-chars.js';

/**
 * The request heads the front door's fast path takes (RFC 9112), read straight off the client's
 * socket. It accepts a strict subset of what node:http accepts, and reads that subset the same way:
 * anything outside it — a chunked or oddly framed body, an upgrade, `Expect`, HTTP/1.0, an
 * absolute or `*` target, obs-fold, a control character, a duplicate Host — is `undefined`, and
 * node:http's parser (llhttp) gets the connection and decides, including what is an error. So the
 * two paths can never disagree about where a request ends.
 */

/** What a middleware's `applies()` and the router read of a request: node's IncomingMessage has these too. */
export interface RequestHead {
  readonly method?: string;
  readonly url?: string;
  readonly rawHeaders: string[];
  /** The client connection (a slot's own port marks it, see site-ports.ts). */
  readonly socket?: object;
}

export interface ParsedHead extends RequestHead {
  readonly method: string;
  readonly url: string;
  /** The Content-Length: body bytes that follow the head; -1 when there is no such field (no body). */
  readonly contentLength: number;
  /** The client sent `Connection: close`. */
  readonly close: boolean;
}

/** node:http's default limit (--max-http-header-size): a longer head is node's to refuse (431). */
export const MAX_HEAD_BYTES = 16 * 1024;
const MAX_FIELDS = 100;

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
/** Origin-form only, visible ASCII: what every client sends for a proxied request. */
function isOriginForm(target: string): boolean {
  if (target.charCodeAt(0) !== 47 /* / */) return false;
  for (let i = 1; i < target.length; i++) {
    const c = target.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

/**
 * Parses the head in `buffer[0, end)` (`end` is where CRLFCRLF starts). Returns undefined when the
 * request is not one the fast path takes.
 */
export function parseRequestHead(buffer: Buffer, end: number): ParsedHead | undefined {
  const text = buffer.toString('latin1', 0, end);
  const lineEnd = text.indexOf('\r\n');
  const requestLine = lineEnd === -1 ? text : text.slice(0, lineEnd);
  const sp1 = requestLine.indexOf(' ');
  const sp2 = requestLine.indexOf(' ', sp1 + 1);
  // The version is the line's last 8 characters, right after the second space.
  if (sp1 === -1 || sp2 !== requestLine.length - 9 || !requestLine.startsWith('HTTP/1.1', sp2 + 1))
    return undefined;
  const method = requestLine.slice(0, sp1);
  const url = requestLine.slice(sp1 + 1, sp2);
  if (!METHODS.has(method) || !isOriginForm(url)) return undefined;

  const rawHeaders: string[] = [];
  let hosts = 0;
  let contentLength = -1;
  let close = false;
  let pos = lineEnd === -1 ? text.length : lineEnd + 2;
  while (pos < text.length) {
    let next = text.indexOf('\r\n', pos);
    if (next === -1) next = text.length;
    const colon = text.indexOf(':', pos);
    if (colon <= pos || colon > next || rawHeaders.length === MAX_FIELDS * 2) return undefined;
    if (!isToken(text, pos, colon)) return undefined;
    const name = text.slice(pos, colon);
    const from = skipSpace(text, colon + 1, next);
    const to = trimSpaceEnd(text, from, next);
    if (hasControl(text, from, to)) return undefined;
    const value = text.slice(from, to);
    rawHeaders.push(name, value);
    pos = next + 2;
    // Only the framing and connection fields matter here: told apart by length, then compared
    // without a lower-cased copy.
    const length = name.length;
    if (length === 4) {
      if (equalsLower(name, 'host')) hosts++;
    } else if (length === 14) {
      if (!equalsLower(name, 'content-length')) continue;
      if (contentLength !== -1 || !isContentLength(value)) return undefined;
      contentLength = Number(value);
    } else if (length === 10) {
      if (!equalsLower(name, 'connection') || equalsLower(value, 'keep-alive')) continue;
      for (const token of value.split(',')) {
        const option = token.trim().toLowerCase();
        if (option === 'close') close = true;
        else if (option === 'upgrade') return undefined;
      }
    } else if (
      (length === 17 && equalsLower(name, 'transfer-encoding')) ||
      (length === 7 && equalsLower(name, 'upgrade')) ||
      (length === 6 && equalsLower(name, 'expect'))
    )
      return undefined;
  }
  if (hosts !== 1) return undefined;
  return { method, url, rawHeaders, contentLength, close };
}
