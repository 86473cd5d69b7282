import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { FastConnections } from '../../../src/frontdoor/fast-connection.js';
import type { FastRequest, FastResponse } from '../../../src/frontdoor/fast-message.js';

/** A request as a handler saw it, whoever parsed it. */
export interface Seen {
  method: string;
  url: string;
  rawHeaders: string[];
  body: string;
}

/** What one side made of a byte stream: the requests it took whole, the statuses it answered, node's error code if any. */
export interface Reading {
  requests: Seen[];
  statuses: number[];
  /** Requests the fast path read itself (the rest went to node:http). */
  fast: number;
  /** Requests whose head was read (their body may not have ended). */
  started: number;
  error?: string;
}

type Record = (seen: Seen | 'started') => void;
type Errors = (code: string) => void;

const answer = (res: ServerResponse) => res.writeHead(200, { 'content-length': 2 }).end('ok');

/** A node:http server as the front door sets it up (same timeouts, same clientError answers). */
function nodeServer(record: Record, errors: Errors) {
  const server = createHttpServer(
    { requestTimeout: 0, headersTimeout: 60_000, keepAliveTimeout: 65_000 },
    (req: IncomingMessage, res) => {
      record('started');
      let body = '';
      req.setEncoding('latin1');
      req.on('data', (c: string) => (body += c));
      req.on('end', () => {
        record({ method: req.method!, url: req.url!, rawHeaders: req.rawHeaders, body });
        answer(res);
      });
    },
  );
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    errors(error.code ?? 'error');
    const inFlight = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent;
    if (!socket.writable || inFlight) return socket.destroy();
    const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
    socket.end(`HTTP/1.1 ${status} x\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`, () =>
      socket.destroy(),
    );
  });
  return server;
}

/**
 * The two readers the fuzzing compares, on loopback: `node`, a plain node:http server (llhttp), and
 * `fast`, the front door's fast path (FastConnections with request-head.ts) in front of the same
 * kind of node:http server, wired as server.ts wires them, so that what the fast path does not take
 * node:http reads from its first byte.
 */
export async function startReaders() {
  let current: Reading = { requests: [], statuses: [], fast: 0, started: 0 };
  const record: Record = (seen) => (seen === 'started' ? current.started++ : current.requests.push(seen));
  const errors: Errors = (code) => (current.error = current.error ? `${current.error},${code}` : code);
  const plain = nodeServer(record, errors);
  const behind = nodeServer(record, errors);
  const nodeListener = behind.listeners('connection')[0] as (socket: Socket) => void;
  const fast = new FastConnections(
    {
      dispatch(request: FastRequest, response: FastResponse) {
        record('started');
        let body = '';
        request.on('data', (c: Buffer) => (body += c.toString('latin1')));
        const done = () => {
          current.fast++;
          record({ method: request.method, url: request.url, rawHeaders: request.rawHeaders, body });
          response.writeHead(200, undefined, ['content-length', '2']);
          response.end('ok');
        };
        if (request.contentLength > 0) request.on('end', done);
        else done();
        return true;
      },
      handOff: (socket) => nodeListener.call(behind, socket),
    },
    { headersTimeout: 60_000, keepAliveTimeout: 65_000 },
  );
  // The fast path's net server allows half-open connections, as node:http's does.
  const front = createServer({ allowHalfOpen: true }, (socket) => fast.accept(socket));
  await Promise.all(
    [plain, front].map((s) => new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))),
  );
  const portOf = (s: { address(): unknown }) => (s.address() as AddressInfo).port;

  const read = async (port: number, bytes: Buffer): Promise<Reading> => {
    current = { requests: [], statuses: [], fast: 0, started: 0 };
    const data = await sendAndHalfClose(port, bytes);
    const reading = current;
    reading.statuses = [...data.toString('latin1').matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));
    return reading;
  };
  return {
    node: (bytes: Buffer) => read(portOf(plain), bytes),
    fast: (bytes: Buffer) => read(portOf(front), bytes),
    close: async () => {
      fast.closeIdle();
      fast.destroyAll();
      plain.closeAllConnections();
      behind.closeAllConnections();
      await Promise.all([plain, front].map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    },
  };
}

function sendAndHalfClose(port: number, bytes: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    const chunks: Buffer[] = [];
    // Every stream ends with the client's FIN; a server that still holds the connection after
    // this long (it should not: the FIN answers everything) shows as fewer answers.
    const timer = setTimeout(() => socket.destroy(), 5_000);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', (error: NodeJS.ErrnoException) =>
      error.code === 'ECONNRESET' ? undefined : reject(error),
    );
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks));
    });
    socket.end(bytes);
  });
}

/**
 * Whether the fast path read the bytes as node:http does: the same requests (method, target,
 * header list, body: so the same message boundaries), and a refusal (a parse error, a 4xx) on both
 * sides or on neither. Which answers go out around a refusal is node:http's own doing once the
 * framing agreed (it cuts answers still in flight when a later pipelined message is malformed), so
 * the statuses themselves are not compared; nor is a refusal of what follows a `Connection: close`
 * request (HPE_CLOSED_CONNECTION: the fast path does not read it) or of a body cut short by the
 * client's FIN (node:http answers 400, the fast path drops it; neither can proxy it).
 */
export function divergence(node: Reading, fast: Reading): string | undefined {
  const json = (r: Reading) => JSON.stringify(r.requests);
  if (json(node) !== json(fast)) return `requests differ:\n  node ${json(node)}\n  fast ${json(fast)}`;
  const refused = (r: Reading) => r.error !== undefined || r.statuses.some((s) => s >= 400);
  const excused = node.started > node.requests.length || (node.error ?? '').endsWith('HPE_CLOSED_CONNECTION');
  if (!excused && refused(node) !== refused(fast))
    return `${refused(node) ? 'node:http refused, the fast path did not' : 'the fast path refused, node:http did not'}: node ${JSON.stringify(node.statuses)} (${node.error ?? 'no error'}), fast ${JSON.stringify(fast.statuses)} (${fast.error ?? 'no error'})`;
  return undefined;
}
