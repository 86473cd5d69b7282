import type { Duplex } from 'node:stream';
import { PROBLEM_CONTENT_TYPE, problem } from '../lib/problem.js';
import type { ProxiedResponse } from './fast-message.js';

const TITLES: Record<number, string> = {
  404: 'Not Found',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/** A problem+json answer from the front door itself (no instance could answer). */
export function sendProblem(
  res: ProxiedResponse,
  status: number,
  detail: string,
  requestId: string,
  extra: Record<string, unknown> = {},
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify(problem(status, TITLES[status] ?? 'Error', detail, { requestId, ...extra }));
  const headers = ['content-type', PROBLEM_CONTENT_TYPE, 'content-length', String(Buffer.byteLength(body))];
  headers.push('x-request-id', requestId);
  if (status === 503) headers.push('retry-after', '5');
  res.writeHead(status, undefined, headers);
  res.end(body);
}

/** The same on a raw socket, for a refused WebSocket upgrade. */
export function socketProblem(socket: Duplex, status: number, detail: string, requestId: string): void {
  const body = JSON.stringify(problem(status, TITLES[status] ?? 'Error', detail, { requestId }));
  socket.end(
    `HTTP/1.1 ${status} ${TITLES[status] ?? 'Error'}\r\ncontent-type: ${PROBLEM_CONTENT_TYPE}\r\ncontent-length: ${Buffer.byteLength(body)}\r\nx-request-id: ${requestId}\r\nconnection: close\r\n\r\n${body}`,
  );
}
