import { request } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { ResponseParser, type ResponseHead } from '../../../src/frontdoor/response-parser.js';
import type { ResponseCase } from './response-bytes.js';

/** What one reader made of an instance's bytes (then its close). */
export interface ResponseReading {
  accepted: boolean;
  status?: number;
  reason?: string;
  headers?: string[];
  body?: string;
  error?: string;
  /** Bytes came after the end of the message: where the message ended (the connection is not reused). */
  messageEnd?: number;
}

/** The front door's parser, fed the bytes in the case's pieces, then told the connection closed. */
export function ourReading({ bytes, head, splits }: ResponseCase): ResponseReading {
  let got: ResponseHead | undefined;
  let body = '';
  const parser = new ResponseParser(head, {
    head: (h) => (got = h),
    data: (chunk) => (body += chunk.toString('latin1')),
    end: () => {},
  });
  try {
    let from = 0;
    for (const to of [...splits, bytes.length]) {
      if (to > from) parser.push(bytes.subarray(from, to));
      from = Math.max(from, to);
    }
    const trailing = parser.trailingGarbage;
    const complete = parser.close();
    if (!got || !complete) return { accepted: false, error: got ? 'cut short' : 'no complete head' };
    const reading: ResponseReading = {
      accepted: true,
      status: got.status,
      reason: got.reason,
      headers: got.headers,
      body,
    };
    if (trailing) reading.messageEnd = messageEnd(bytes, head);
    return reading;
  } catch (error) {
    return { accepted: false, error: (error as Error).message };
  }
}

/** Where the message ends: the parser fed a byte at a time, until it is done. */
function messageEnd(bytes: Buffer, head: boolean): number {
  const parser = new ResponseParser(head, { head() {}, data() {}, end() {} });
  for (let i = 0; i < bytes.length; i++) {
    parser.push(bytes.subarray(i, i + 1));
    if (parser.done) return i + 1;
  }
  return bytes.length;
}

/**
 * Node's reading (llhttp, through http.request) of the same bytes from a raw socket server that
 * writes them and closes.
 */
export async function startNodeReader() {
  let next: Buffer = Buffer.alloc(0);
  const server = createServer((socket) => {
    socket.on('error', () => {});
    // Answer once the request head is in, as an instance would.
    socket.once('data', () => socket.end(next));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    read: (c: ResponseCase) =>
      new Promise<ResponseReading>((resolve) => {
        next = c.bytes;
        let settled = false;
        const done = (reading: ResponseReading) => {
          if (!settled) {
            settled = true;
            resolve(reading);
          }
        };
        const req = request(
          { host: '127.0.0.1', port, method: c.head ? 'HEAD' : 'GET', path: '/', agent: false },
          (res) => {
            let body = '';
            res.setEncoding('latin1');
            res.on('data', (chunk: string) => (body += chunk));
            res.on('end', () =>
              done(
                res.complete
                  ? {
                      accepted: true,
                      status: res.statusCode,
                      reason: res.statusMessage,
                      headers: res.rawHeaders,
                      body,
                    }
                  : { accepted: false, error: 'cut short' },
              ),
            );
            res.on('error', (error) => done({ accepted: false, error: error.message }));
            res.on('aborted', () => done({ accepted: false, error: 'aborted' }));
          },
        );
        req.on('error', (error: NodeJS.ErrnoException) =>
          done({ accepted: false, error: error.code ?? error.message }),
        );
        req.end();
      }),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * Refusals the front door makes on purpose where node's client reads on (docs/frontdoor.md): a
 * transfer coding besides chunked (the client would get it still encoded, unlabelled: nginx refuses
 * it too), a 101 nobody asked for, a status code below 100 (not a status code, RFC 9110 §15), and
 * control characters in the reason phrase or a field value (the front door writes both to the
 * client's head; node:http's writeHead refuses them too).
 */
const STRICTER = [
  /^unsupported Transfer-Encoding/,
  /^101 Switching Protocols without an upgrade request/,
  /^malformed status line "HTTP\/1\.[01] 0\d\d( |")/,
  // Control characters in the reason phrase or a field value would reach the client's head.
  /^status line holds a control character/,
  /^header .* holds a control character/,
];

/** Whether our parser read an instance's bytes as node's does (same message, or both refused). */
export function responseDivergence(ours: ResponseReading, node: ResponseReading): string | undefined {
  if (ours.accepted) {
    if (!node.accepted) return `we accepted what node refused (${node.error})`;
    for (const key of ['status', 'reason', 'headers', 'body'] as const)
      if (JSON.stringify(ours[key]) !== JSON.stringify(node[key]))
        return `${key} differs: ours ${JSON.stringify(ours[key])}, node ${JSON.stringify(node[key])}`;
    return undefined;
  }
  if (node.accepted && !STRICTER.some((re) => re.test(ours.error ?? '')))
    return `we refused (${ours.error}) what node accepted: ${JSON.stringify(node)}`;
  return undefined;
}
