import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { randomBytes } from 'node:crypto';
import { equalsDashed, equalsLower, isFieldValue, isToken, startsWithDashed } from './http-chars.js';

/** What the proxy does with a field, by name (RFC 9110 §7.6.1 for the hop-by-hop ones). */
const enum Field {
  Other,
  Host,
  /** Hop-by-hop, and names more hop-by-hop fields. */
  Connection,
  /** Describes one connection, not the message: never forwarded. */
  HopByHop,
  XForwardedFor,
  /** Replaced by the front door's own value on the way to the instance (X-Forwarded-*, Expect). */
  Replaced,
  XRequestId,
  ContentLength,
  /**
   * A name the front door owns spelled with `_` for `-` (`X_Forwarded_For`, `Content_Length`):
   * servers that map both to one CGI variable (WSGI, Rack, CGI) could take it for ours. Dropped.
   */
  Lookalike,
}

/** The kind of a field name, in any case, without lower-casing it: this runs for every field. */
function fieldOf(name: string): Field {
  switch (name.length) {
    case 2:
      return equalsLower(name, 'te') ? Field.HopByHop : Field.Other;
    case 4:
      return equalsLower(name, 'host') ? Field.Host : Field.Other;
    case 6:
      return equalsLower(name, 'expect') ? Field.Replaced : Field.Other;
    case 7:
      return equalsLower(name, 'upgrade') || equalsLower(name, 'trailer') ? Field.HopByHop : Field.Other;
    case 10:
      if (equalsLower(name, 'connection')) return Field.Connection;
      if (equalsLower(name, 'keep-alive')) return Field.HopByHop;
      return lookalike(name, 'keep-alive');
    case 12:
      return equalsLower(name, 'x-request-id') ? Field.XRequestId : lookalike(name, 'x-request-id');
    case 14:
      return equalsLower(name, 'content-length') ? Field.ContentLength : lookalike(name, 'content-length');
    case 15:
      return equalsLower(name, 'x-forwarded-for') ? Field.XForwardedFor : lookalike(name, 'x-forwarded-for');
    case 16:
      if (equalsLower(name, 'proxy-connection')) return Field.HopByHop;
      if (equalsLower(name, 'x-forwarded-host')) return Field.Replaced;
      return lookalike(name, 'proxy-connection') === Field.Lookalike
        ? Field.Lookalike
        : lookalike(name, 'x-forwarded-host');
    case 17:
      if (equalsLower(name, 'transfer-encoding')) return Field.HopByHop;
      if (equalsLower(name, 'x-forwarded-proto')) return Field.Replaced;
      return lookalike(name, 'transfer-encoding') === Field.Lookalike
        ? Field.Lookalike
        : lookalike(name, 'x-forwarded-proto');
    case 18:
      return equalsLower(name, 'proxy-authenticate') ? Field.HopByHop : lookalike(name, 'proxy-authenticate');
    case 19:
      return equalsLower(name, 'proxy-authorization')
        ? Field.HopByHop
        : lookalike(name, 'proxy-authorization');
    default:
      return Field.Other;
  }
}

/** Lookalike when `name` is `owned` with `_` for `-` (it is not `owned` itself: fieldOf tested that first). */
function lookalike(name: string, owned: string): Field {
  return equalsDashed(name, owned) ? Field.Lookalike : Field.Other;
}

/**
 * Identity headers that only the front door's own authentication may set (App Service: "External
 * requests aren't allowed to set these headers"), in any case and with `_` or `-` between the
 * words: WSGI, Rack and CGI servers give an app `X_MS_CLIENT_PRINCIPAL_NAME` and
 * `X-MS-CLIENT-PRINCIPAL-NAME` under one name. A client's copies are removed at the edge, so neither
 * a middleware nor the app can be fooled into taking a caller for someone else.
 */
export function isIdentityHeader(name: string): boolean {
  return startsWithDashed(name, 'x-ms-client-principal') || startsWithDashed(name, 'x-ms-token-');
}

/**
 * The client's raw header list without identity headers, which are also deleted from `headers`
 * (node's `req.headers`, when there is one). The same array when there are none (the common case
 * costs one character test per header).
 */
export function withoutClientIdentity(raw: string[], headers?: IncomingHttpHeaders): string[] {
  let kept: string[] | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if ((name.charCodeAt(0) | 32) === 120 /* x */ && isIdentityHeader(name)) {
      kept ??= raw.slice(0, i);
      if (headers) delete headers[name.toLowerCase()];
    } else if (kept) kept.push(name, raw[i + 1]!);
  }
  return kept ?? raw;
}

const REQUEST_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

/**
 * Generated request ids: a random per-process prefix and a counter, in UUID form (8-4-4-4-12 hex).
 * Unique without asking the CSPRNG for every request; they are trace ids, not secrets. The counter's
 * upper 9 hex digits are formatted once per 4,096 ids and the last 3 come from a table: a number's
 * hex formatting is slow in V8 (a double-to-radix conversion), and this runs for every request.
 */
const idPrefix = (() => {
  const hex = randomBytes(10).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-`;
})();
const LOW_HEX = Array.from({ length: 0x1000 }, (_, i) => i.toString(16).padStart(3, '0'));
/** Counts 0 … 2^36 - 1 in the upper 9 digits (then wraps); the lower 3 digits count 0 … 0xfff. */
let idHigh = randomBytes(4).readUInt32BE(0);
let idLow = 0xfff;
let idBlock = '';

export function newRequestId(): string {
  if (++idLow === 0x1000) {
    idLow = 0;
    idHigh = (idHigh + 1) % 2 ** 36;
    idBlock = idPrefix + (2 ** 36 + idHigh).toString(16).slice(1);
  }
  return idBlock + LOW_HEX[idLow]!;
}

/** Keeps a well-formed incoming X-Request-Id (so a trace spans hops); otherwise makes one. */
export function requestIdOf(req: { rawHeaders: string[] }): string {
  const given = headerOf(req.rawHeaders, 'x-request-id');
  return given !== undefined && REQUEST_ID.test(given) ? given : newRequestId();
}

/** The first value of a header in a raw (flat name, value…) list, without building `req.headers`. */
export function headerOf(raw: string[], lowerName: string): string | undefined {
  const length = lowerName.length;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === length && equalsLower(name, lowerName)) return raw[i + 1];
  }
  return undefined;
}

/** All Cookie headers of a request as one (HTTP/2-style clients may send several). */
export function cookieHeaderOf(raw: string[]): string | undefined {
  let joined: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 6 && equalsLower(name, 'cookie'))
      joined = joined === undefined ? raw[i + 1] : `${joined}; ${raw[i + 1]}`;
  }
  return joined;
}

/**
 * The names a message's Connection fields list as hop-by-hop (besides keep-alive and close), from
 * every Connection field line. Never a name the front door frames, routes or vouches by (Host,
 * Content-Length, Transfer-Encoding, the identity headers): a client that lists Content-Length must
 * not make the proxy drop the length it frames the body by (request smuggling), nor one that lists
 * an identity header strip what authentication set.
 */
function connectionTokens(raw: string[], keepUpgrade: boolean): Set<string> | undefined {
  let names: Set<string> | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length !== 10 || !equalsLower(name, 'connection')) continue;
    const value = raw[i + 1]!;
    if (equalsLower(value, 'keep-alive') || equalsLower(value, 'close')) continue;
    for (const token of value.split(',')) {
      const option = token.trim().toLowerCase();
      if (!option || option === 'keep-alive' || option === 'close' || NEVER_OPTIONS.has(option)) continue;
      if (keepUpgrade && option === 'upgrade') continue;
      if (isIdentityHeader(option)) continue;
      (names ??= new Set()).add(option);
    }
  }
  return names;
}

const NEVER_OPTIONS = new Set(['host', 'content-length', 'transfer-encoding']);

export interface UpstreamTarget {
  method: string;
  path: string;
  /** `127.0.0.1:<port>` of the instance: the Host sent when the client sent none. */
  authority: string;
  requestId: string;
  remoteAddress: string;
  /** The request body is re-framed as chunked (the client sent it chunked). */
  chunked: boolean;
  /** The Content-Length the body is framed by, or -1 for none (no body, or chunked). */
  contentLength: number;
}

/**
 * The request head the instance receives, as one string: the client's headers minus hop-by-hop
 * ones, plus X-Forwarded-For (appended), X-Forwarded-Proto/Host and X-Request-Id, and the framing
 * the proxy itself uses for the body (`contentLength` or chunked), never the client's framing
 * fields. `headers` is either the raw list (fast: nothing touched it) or `req.headers` after a
 * middleware ran (which may have changed it).
 */
export function upstreamHead(headers: string[] | IncomingHttpHeaders, target: UpstreamTarget): string {
  const raw = Array.isArray(headers) ? headers : flatten(headers);
  const tokens = connectionTokens(raw, false);
  let head = `${target.method} ${target.path} HTTP/1.1\r\n`;
  let host: string | undefined;
  let forwardedFor: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const field = fieldOf(name);
    if (field === Field.Other) {
      if (tokens === undefined || !tokens.has(name.toLowerCase())) head += `${name}: ${raw[i + 1]}\r\n`;
    } else if (field === Field.Host) host ??= raw[i + 1];
    else if (field === Field.XForwardedFor) {
      const value = raw[i + 1]!;
      forwardedFor = forwardedFor === undefined ? value : `${forwardedFor}, ${value}`;
    }
    // Connection, hop-by-hop, framing, X-Request-Id, lookalikes and the replaced ones are not passed on.
  }
  if (host === undefined) host = target.authority;
  const remote = target.remoteAddress;
  head += `host: ${host}\r\nx-forwarded-for: ${forwardedFor === undefined ? remote : `${forwardedFor}, ${remote}`}\r\n`;
  head += `x-forwarded-proto: http\r\nx-forwarded-host: ${host}\r\nx-request-id: ${target.requestId}\r\n`;
  if (target.chunked) head += 'transfer-encoding: chunked\r\n';
  else if (target.contentLength >= 0) head += `content-length: ${target.contentLength}\r\n`;
  return `${head}\r\n`;
}

/** `req.headers` (as a middleware left it) as a flat list; throws on a field it must not write. */
function flatten(headers: IncomingHttpHeaders): string[] {
  const fault = headerFault(headers);
  if (fault) throw new Error(fault);
  const raw: string[] = [];
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const one of value) raw.push(name, one);
    else raw.push(name, String(value));
  }
  return raw;
}

/**
 * What is wrong with a header object a middleware may have changed, or undefined: a name that is
 * not a token, or a value with a control character (HTAB aside) or a character above U+00FF.
 * node:http's parser let none of these in from the client, so a fault is a middleware's.
 */
export function headerFault(headers: IncomingHttpHeaders): string | undefined {
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined) continue;
    if (!isToken(name, 0, name.length)) return `header name ${JSON.stringify(name)} is not a token`;
    for (const one of Array.isArray(value) ? value : [value]) {
      if (!isFieldValue(String(one)))
        return `header ${name} holds a control character or a character above U+00FF`;
    }
  }
  return undefined;
}

/**
 * What the client receives (flat name, value… for `res.writeHead`): the instance's headers minus
 * hop-by-hop ones and its X-Request-Id, plus ours and any Set-Cookie of the front door's own.
 */
export function downstreamHeaders(
  raw: string[],
  lengthUnknown: boolean,
  requestId: string,
  cookies: string[],
): string[] {
  let tokens: Set<string> | undefined;
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const field = fieldOf(name);
    if (field === Field.Connection) {
      tokens ??= connectionTokens(raw, false);
      continue;
    }
    if (field === Field.HopByHop || field === Field.XRequestId) continue;
    if (lengthUnknown && field === Field.ContentLength) continue;
    out.push(name, raw[i + 1]!);
  }
  if (tokens) {
    for (let i = out.length - 2; i >= 0; i -= 2) if (tokens.has(out[i]!.toLowerCase())) out.splice(i, 2);
  }
  out.push('x-request-id', requestId);
  for (const cookie of cookies) out.push('set-cookie', cookie);
  return out;
}

/**
 * Header object form for upgrades (node:http's client takes an object): hop-by-hop removed except
 * the upgrade pair, lookalikes of the front door's own fields dropped, forwarding headers set.
 */
export function upgradeHeaders(req: IncomingMessage, requestId: string): Record<string, string | string[]> {
  const tokens = connectionTokens(req.rawHeaders, true);
  const out: Record<string, string | string[]> = {};
  for (const name in req.headers) {
    const value = req.headers[name];
    if (value === undefined || tokens?.has(name)) continue;
    const field = fieldOf(name);
    if (field === Field.HopByHop && name !== 'upgrade') continue;
    // An upgrade has no body to frame (what follows the head goes through the tunnel after the
    // 101), so a client's Content-Length is not passed on either.
    if (
      field === Field.Replaced ||
      field === Field.XForwardedFor ||
      field === Field.XRequestId ||
      field === Field.Lookalike ||
      field === Field.ContentLength
    )
      continue;
    out[name] = value;
  }
  const remote = req.socket.remoteAddress ?? '';
  const prior = req.headers['x-forwarded-for'];
  out['x-forwarded-for'] = prior ? `${prior}, ${remote}` : remote;
  out['x-forwarded-proto'] = 'http';
  out['x-forwarded-host'] = req.headers.host ?? '';
  out['x-request-id'] = requestId;
  return out;
}
