// A tiny HTTP balancer for tests: each request (not each connection) goes to the next backend in
// turn, so the requests of one upload alternate between registry processes. Records which backend
// served what.
import { Agent, createServer, request, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Served {
  method: string;
  path: string;
  backend: number;
  status?: number;
}

export interface Balancer {
  url: string;
  host: string;
  served: Served[];
  close(): Promise<void>;
}

export async function startRoundRobin(backends: string[]): Promise<Balancer> {
  const agent = new Agent({ keepAlive: true });
  const served: Served[] = [];
  let next = 0;
  const server = createServer((req, res) => {
    const backend = next++ % backends.length;
    const target = new URL(backends[backend]!);
    const entry: Served = { method: req.method ?? 'GET', path: req.url ?? '/', backend };
    served.push(entry);
    const upstream = request(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        // Host is passed on as the client sent it (the registry builds its token realm from it).
        headers: req.headers as IncomingHttpHeaders,
        agent,
      },
      (answer) => {
        entry.status = answer.statusCode;
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
        answer.on('error', () => res.destroy());
      },
    );
    upstream.on('error', () => {
      if (!res.headersSent) res.writeHead(502).end();
      else res.destroy();
    });
    req.pipe(upstream);
    req.on('error', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    served,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.destroy();
    },
  };
}
