import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { harness, type Harness } from '../sites/helpers.js';

const FIXTURES = new URL('./fixtures/', import.meta.url).pathname;

/** One request as the recorder instance received it. */
export interface Arrival {
  instance: string;
  method: string;
  url: string;
  headers: Record<string, string>;
  upgrade?: boolean;
}

/**
 * A front door over the recorder site (test/security/fixtures/recorder.mjs), with the fast path on
 * or off. `arrivals()` lists every request the instances received, in order.
 */
export async function recorderHarness(
  t: TestContext,
  options: { fastPath?: boolean; instances?: number; frontdoor?: Record<string, unknown> } = {},
): Promise<Harness & { arrivals(): Arrival[]; host: string }> {
  const dataDir = await mkdtemp(join(tmpdir(), 'berth-security-'));
  const file = join(dataDir, 'arrivals.jsonl');
  const h = await harness(
    [
      {
        name: 'rec',
        command: 'node recorder.mjs',
        root: FIXTURES,
        instances: options.instances ?? 1,
        appSettings: { ARRIVALS: file },
        stopGracePeriod: '2s',
      },
    ],
    { frontdoor: { fastPath: options.fastPath ?? true, ...options.frontdoor }, dataDir },
  );
  t.after(async () => {
    await h.close();
    await rm(dataDir, { recursive: true, force: true });
  });
  return {
    ...h,
    host: 'rec.localhost',
    arrivals: () =>
      existsSync(file)
        ? readFileSync(file, 'utf8')
            .split('\n')
            .filter(Boolean)
            .map((line) => JSON.parse(line) as Arrival)
        : [],
  };
}

/**
 * Writes `bytes` on one connection, half-closes, and collects everything until the server closes
 * (or `timeoutMs`). `allowHalfOpen` so the server's answers after our FIN still arrive.
 */
export function sendAndHalfClose(port: number, bytes: string | Buffer, timeoutMs = 5_000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => socket.destroy(), timeoutMs);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('end', () => socket.end());
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks));
    });
    socket.end(bytes);
  });
}

/** What a request looked like to a node:http handler. */
export interface SeenRequest {
  method: string;
  url: string;
  httpVersion: string;
  rawHeaders: string[];
  body: string;
}

/**
 * Node's own reading of some bytes: a plain node:http server (llhttp, with the same timeouts as the
 * front door's) receives them on one connection and records each request it parses, with its body,
 * and the statuses it answered (200 from the handler; 400/431 from its own errors).
 */
export async function nodeReading(
  bytes: string | Buffer,
): Promise<{ requests: SeenRequest[]; statuses: number[] }> {
  const requests: SeenRequest[] = [];
  const server = createServer(
    { requestTimeout: 0, headersTimeout: 60_000, keepAliveTimeout: 65_000 },
    (req: IncomingMessage, res) => {
      let body = '';
      req.setEncoding('latin1');
      req.on('data', (c: string) => (body += c));
      req.on('end', () => {
        requests.push({
          method: req.method!,
          url: req.url!,
          httpVersion: req.httpVersion,
          rawHeaders: req.rawHeaders,
          body,
        });
        res.writeHead(200, { 'content-length': 2 }).end('ok');
      });
    },
  );
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
    if (socket.writable) socket.end(`HTTP/1.1 ${status} x\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
    else socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const data = await sendAndHalfClose((server.address() as AddressInfo).port, bytes);
    return { requests, statuses: statusesOf(data) };
  } finally {
    server.closeAllConnections();
    server.close();
  }
}

/** The status codes of the responses in a byte stream, in order (status lines only). */
export function statusesOf(data: Buffer): number[] {
  return [...data.toString('latin1').matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));
}

/** TCP states in /proc/net/tcp (hex codes). */
const STATES: Record<string, string> = {
  '01': 'ESTABLISHED',
  '08': 'CLOSE_WAIT',
  '06': 'TIME_WAIT',
  '04': 'FIN_WAIT1',
  '05': 'FIN_WAIT2',
  '09': 'LAST_ACK',
};

/** The machine's TCP sockets (IPv4 and IPv6) as /proc/net/tcp shows them: read independently of the code under test. */
export function tcpSockets(): { local: number; remote: number; state: string }[] {
  const sockets: { local: number; remote: number; state: string }[] = [];
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    if (!existsSync(file)) continue;
    for (const line of readFileSync(file, 'utf8').split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length < 4) continue;
      sockets.push({
        local: parseInt(fields[1]!.split(':').at(-1)!, 16),
        remote: parseInt(fields[2]!.split(':').at(-1)!, 16),
        state: STATES[fields[3]!] ?? fields[3]!,
      });
    }
  }
  return sockets;
}

/** Sockets in CLOSE_WAIT (the peer closed, we did not) whose local port is `port`. */
export function closeWaitCount(port: number): number {
  return tcpSockets().filter((s) => s.local === port && s.state === 'CLOSE_WAIT').length;
}

/** Connections to `port` still open from this machine's side (ESTABLISHED or CLOSE_WAIT towards it). */
export function openConnectionsTo(port: number): number {
  return tcpSockets().filter(
    (s) => s.remote === port && (s.state === 'ESTABLISHED' || s.state === 'CLOSE_WAIT'),
  ).length;
}
