import type { IncomingMessage, ServerResponse } from 'node:http';
import { OciError } from '../errors.js';

const API_VERSION = { 'Docker-Distribution-API-Version': 'registry/2.0' };

/** Writes a complete response on the raw Node response (the registry's hot paths bypass Fastify's reply). */
export function send(
  res: ServerResponse,
  status: number,
  headers: Record<string, string | number>,
  body?: Buffer | string,
): void {
  const payload = body === undefined ? undefined : typeof body === 'string' ? Buffer.from(body) : body;
  res.writeHead(status, {
    ...API_VERSION,
    ...(payload ? { 'Content-Length': payload.length } : {}),
    ...headers,
  });
  res.end(payload);
}

export function sendJson(
  res: ServerResponse,
  status: number,
  value: unknown,
  headers: Record<string, string | number> = {},
): void {
  send(res, status, { 'Content-Type': 'application/json', ...headers }, JSON.stringify(value));
}

/** HEAD: headers that describe the entity, no body. */
export function sendHead(
  res: ServerResponse,
  status: number,
  headers: Record<string, string | number>,
): void {
  res.writeHead(status, { ...API_VERSION, ...headers });
  res.end();
}

export function sendError(res: ServerResponse, error: OciError, head = false): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify(error.toJSON());
  if (head) return sendHead(res, error.status, { 'Content-Type': 'application/json', ...error.headers });
  send(res, error.status, { 'Content-Type': 'application/json', ...error.headers }, body);
}

/** Whether the request carries a body (a Content-Length above 0, or chunked transfer encoding). */
export function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  if (length !== undefined) return Number(length) > 0;
  return req.headers['transfer-encoding'] !== undefined;
}

/** Reads a body of at most `limit` bytes; a bigger one is refused with 413 before it is all read. */
export async function readBody(req: IncomingMessage, limit: number, tooBig: () => OciError): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (declared > limit) throw tooBig();
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > limit) throw tooBig();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, total);
}

/** `Content-Range: <start>-<end>` on PATCH (the spec's form, no "bytes " unit) or `bytes <start>-<end>/<size>`. */
export function parseContentRange(value: string | undefined): { start: number; end: number } | undefined {
  if (value === undefined) return undefined;
  const match = /^(?:bytes[ =])?(\d+)-(\d+)(?:\/(?:\d+|\*))?$/.exec(value.trim());
  if (!match)
    throw new OciError('BLOB_UPLOAD_INVALID', `Content-Range "${value}" is not <start>-<end>`, {
      status: 416,
    });
  const start = Number(match[1]);
  const end = Number(match[2]);
  if (end < start)
    throw new OciError('BLOB_UPLOAD_INVALID', `Content-Range "${value}" ends before it starts`, {
      status: 416,
    });
  return { start, end };
}

/**
 * `Range: bytes=a-b`, `bytes=a-`, `bytes=-n` against a blob of `size` bytes. Returns undefined for no
 * Range (or one we ignore, such as several ranges); throws 416 for a range past the end.
 */
export function parseRange(
  value: string | undefined,
  size: number,
): { start: number; end: number } | undefined {
  if (value === undefined) return undefined;
  const match = /^bytes=(\d*)-(\d*)$/.exec(value.trim());
  if (!match || (match[1] === '' && match[2] === '')) return undefined;
  let start: number;
  let end: number;
  if (match[1] === '') {
    const suffix = Number(match[2]);
    if (suffix === 0) throw unsatisfiable(size);
    start = Math.max(size - suffix, 0);
    end = size - 1;
  } else {
    start = Number(match[1]);
    end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
    if (match[2] !== '' && Number(match[2]) < start) return undefined;
  }
  if (start >= size) throw unsatisfiable(size);
  return { start, end };
}

function unsatisfiable(size: number): OciError {
  return new OciError('SIZE_INVALID', `the requested range is not within the blob's ${size} bytes`, {
    status: 416,
    headers: { 'Content-Range': `bytes */${size}` },
  });
}

/** Parses `n` for tag and catalog pagination. */
export function parseLimit(value: string | null): number | undefined {
  if (value === null) return undefined;
  if (!/^\d+$/.test(value))
    throw new OciError('UNSUPPORTED', `n must be a non-negative integer, got "${value}"`, { status: 400 });
  return Number(value);
}
