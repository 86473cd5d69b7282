import { connect } from 'node:net';

export interface RawResponse {
  status: number;
  /** The head as received (header names in the case they were sent). */
  head: string;
  /** Lower-case header names to values (repeated fields joined with ", "). */
  headers: Record<string, string>;
  body: string;
}

/**
 * Writes `bytes` to 127.0.0.1:`port` in one go (pipelined requests, if several) and reads until the
 * server closes the connection; the last request should say `Connection: close`. Closes after
 * `timeoutMs` in any case, so a server that keeps the connection open shows as fewer responses.
 */
export function exchangeRaw(port: number, bytes: string | Buffer, timeoutMs = 5_000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => socket.destroy(), timeoutMs);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks));
    });
    socket.write(bytes);
  });
}

/**
 * Splits a byte stream into HTTP/1.1 responses (Content-Length, chunked, or no body for HEAD,
 * 1xx, 204 and 304). `headRequests` marks which responses answer HEAD requests, by position.
 */
export function parseResponses(data: Buffer, headRequests: number[] = []): RawResponse[] {
  const out: RawResponse[] = [];
  let pos = 0;
  while (pos < data.length) {
    const end = data.indexOf('\r\n\r\n', pos);
    if (end === -1) throw new Error(`incomplete head: ${JSON.stringify(data.toString('latin1', pos))}`);
    const head = data.toString('latin1', pos, end);
    const lines = head.split('\r\n');
    const status = Number(lines[0]!.split(' ')[1]);
    const headers: Record<string, string> = {};
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      const name = line.slice(0, colon).toLowerCase();
      const value = line.slice(colon + 1).trim();
      headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
    }
    pos = end + 4;
    let body: Buffer = Buffer.alloc(0);
    const noBody = headRequests.includes(out.length) || status < 200 || status === 204 || status === 304;
    if (noBody) {
      // no body
    } else if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
      const parts: Buffer[] = [];
      for (;;) {
        const lineEnd = data.indexOf('\r\n', pos);
        const size = parseInt(data.toString('latin1', pos, lineEnd), 16);
        pos = lineEnd + 2;
        if (size === 0) {
          pos = data.indexOf('\r\n', pos) + 2; // no trailers expected: the empty line
          break;
        }
        parts.push(data.subarray(pos, pos + size));
        pos += size + 2;
      }
      body = Buffer.concat(parts);
    } else if (headers['content-length'] !== undefined) {
      const length = Number(headers['content-length']);
      body = data.subarray(pos, pos + length);
      pos += length;
    } else {
      body = data.subarray(pos);
      pos = data.length;
    }
    if (status >= 200) out.push({ status, head, headers, body: body.toString() });
  }
  return out;
}
