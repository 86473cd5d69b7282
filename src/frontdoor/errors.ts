import type { Duplex } from 'node:stream';
import { PROBLEM_CONTENT_TYPE, problem } from '../lib/problem.js';
import type { ProxiedResponse } from './fast-message.js';
import { prefersHtml, problemPage } from './html-problem.js';

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  408: 'Request Timeout',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/**
 * A problem+json answer from the front door itself (no instance could answer). `close`: the
 * connection ends after it (the rest of the request cannot be told from a next one).
 */
export function sendProblem(
  res: ProxiedResponse,
  status: number,
  detail: string,
  requestId: string,
  extra: Record<string, unknown> = {},
  close = false,
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify(problem(status, TITLES[status] ?? 'Error', detail, { requestId, ...extra }));
  answer(res, status, PROBLEM_CONTENT_TYPE, body, requestId, close);
}

/** Writes one of the front door's own answers: the body, its request id, Retry-After on a 503. */
function answer(
  res: ProxiedResponse,
  status: number,
  contentType: string,
  body: string,
  requestId: string,
  close: boolean,
  more: string[] = [],
): void {
  const headers = ['content-type', contentType, 'content-length', String(Buffer.byteLength(body))];
  headers.push('x-request-id', requestId, ...more);
  if (status === 503) headers.push('retry-after', '5');
  if (close) headers.push('connection', 'close');
  res.writeHead(status, undefined, headers);
  res.end(body);
}

/**
 * `sendProblem` for a request whose Accept header is known: a browser that prefers HTML gets an HTML
 * page with the same content (and status, request id, Retry-After), an API client problem+json.
 */
export function sendProblemFor(
  req: { rawHeaders: string[] },
  res: ProxiedResponse,
  status: number,
  detail: string,
  requestId: string,
  extra: Record<string, unknown> = {},
  close = false,
): void {
  if (!prefersHtml(req.rawHeaders) || res.headersSent) {
    sendProblem(res, status, detail, requestId, extra, close);
    return;
  }
  const body = problemPage(status, TITLES[status] ?? 'Error', detail, requestId);
  answer(res, status, 'text/html; charset=utf-8', body, requestId, close, [
    'cache-control',
    'no-store',
    'content-security-policy',
    "default-src 'none'; style-src 'unsafe-inline'",
  ]);
}

/** The same on a raw socket, for a refused WebSocket upgrade; the socket is closed once it is written. */
export function socketProblem(
  socket: Duplex,
  status: number,
  detail: string,
  requestId: string,
  headers: Record<string, string> = {},
): void {
  const body = JSON.stringify(problem(status, TITLES[status] ?? 'Error', detail, { requestId }));
  const extra = Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  endAndClose(
    socket,
    `HTTP/1.1 ${status} ${TITLES[status] ?? 'Error'}\r\ncontent-type: ${PROBLEM_CONTENT_TYPE}\r\ncontent-length: ${Buffer.byteLength(body)}\r\nx-request-id: ${requestId}\r\n${extra}connection: close\r\n\r\n${body}`,
  );
}

/**
 * Writes a last answer and closes the socket once it is written: ending alone would leave it to
 * the client to close its half (the server allows half-open connections), and one that never does
 * would hold the descriptor for good.
 */
export function endAndClose(socket: Duplex, text: string): void {
  if (socket.destroyed) return;
  socket.end(text, () => socket.destroy());
}

/** What went wrong on an upstream connection, in words. */
export function describeUpstreamError(code: string, message: string): string {
  if (code === 'ECONNREFUSED') return 'connection refused (the instance is not listening)';
  if (code === 'ECONNRESET') return 'connection reset by the instance';
  return message;
}
