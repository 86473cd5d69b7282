import type { IncomingMessage } from 'node:http';
import { FastRequest } from './fast-message.js';
import { equalsLower } from './http-chars.js';
import type { RequestHead } from './request-head.js';

/** The body framing of a client request, read once from the head the client sent. */
export interface RequestBody {
  /** Has a body to stream (Content-Length above 0, or chunked). */
  present: boolean;
  chunked: boolean;
  /** The Content-Length it is framed by; -1 when none (no body, or chunked). */
  length: number;
}

const NO_BODY: RequestBody = { present: false, chunked: false, length: -1 };
const EMPTY_BODY: RequestBody = { present: false, chunked: false, length: 0 };
const CHUNKED_BODY: RequestBody = { present: true, chunked: true, length: -1 };

/**
 * How the client framed the request body: what the parser that read it (the fast path's, or
 * llhttp) used, so what the proxy sends on is framed the same way whatever the headers say later
 * (a middleware may change `req.headers`; the bytes it streams are the ones the parser framed).
 */
export function requestBodyOf(req: RequestHead): RequestBody {
  // The fast path's parser read the framing already (never chunked there).
  if (req instanceof FastRequest) return lengthBody(req.contentLength);
  const raw = req.rawHeaders;
  let length: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    // llhttp refused every other Transfer-Encoding (and chunked with a Content-Length): this is chunked.
    if (name.length === 17 && equalsLower(name, 'transfer-encoding')) return CHUNKED_BODY;
    if (name.length === 14 && equalsLower(name, 'content-length')) length = raw[i + 1];
  }
  return lengthBody(length === undefined ? -1 : Number(length));
}

function lengthBody(length: number): RequestBody {
  if (length < 0) return NO_BODY;
  return length === 0 ? EMPTY_BODY : { present: true, chunked: false, length };
}

/** A request the front door refuses before routing it: the status and why. */
export interface Refusal {
  status: 400 | 501;
  detail: string;
}

/**
 * What RFC 9112 refuses and node:http's parser (llhttp) lets through, checked on the node:http path
 * (the fast path hands all of these to it): more than one Host (§3.2), Transfer-Encoding on an
 * HTTP/1.0 request (§6.1: the framing is faulty), and a transfer coding besides the final chunked,
 * which the proxy does not decode and would otherwise pass on unlabelled (§6.1: 501, as nginx).
 * llhttp itself refuses a Transfer-Encoding that does not end in chunked and one with a
 * Content-Length beside it.
 */
export function framingRefusal(req: IncomingMessage): Refusal | undefined {
  const raw = req.rawHeaders;
  let hosts = 0;
  let codings: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 4 && equalsLower(name, 'host')) hosts++;
    else if (name.length === 17 && equalsLower(name, 'transfer-encoding'))
      codings = codings === undefined ? raw[i + 1]! : `${codings}, ${raw[i + 1]!}`;
  }
  if (hosts > 1) return { status: 400, detail: 'the request has more than one Host header field' };
  if (codings === undefined) return undefined;
  if (req.httpVersionMajor === 1 && req.httpVersionMinor === 0)
    return { status: 400, detail: 'Transfer-Encoding is not allowed in an HTTP/1.0 request' };
  const list = codings
    .split(',')
    .map((c) => c.trim().toLowerCase())
    .filter(Boolean);
  if (list.length !== 1 || list[0] !== 'chunked') {
    if (list[list.length - 1] !== 'chunked' || list.indexOf('chunked') !== list.length - 1)
      return { status: 400, detail: 'Transfer-Encoding must end with a single chunked' };
    return {
      status: 501,
      detail: `transfer coding ${JSON.stringify(list[0])} is not supported; send the body chunked only`,
    };
  }
  return undefined;
}
