/**
 * The three official clients behind one small interface, so a test can run the same steps through
 * each: `@modelcontextprotocol/client` v2 pinned to 2026-07-28, the same client in the 2025-11-25 era,
 * and `@modelcontextprotocol/sdk` v1. Plus an upstream that records every request as it arrived.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestContext } from 'node:test';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as TransportV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

export interface AnyClient {
  label: string;
  listTools(): Promise<{ tools: Array<Record<string, unknown> & { name: string }> }>;
  callTool(name: string, args: Record<string, unknown>): Promise<Record<string, unknown>>;
}

export const CLIENT_KINDS = ['v2 2026-07-28', 'v2 2025-11-25', 'v1'] as const;

/** Connects one client of the given kind to `url`; it is closed when the test ends. */
export async function connectClient(
  t: TestContext,
  kind: (typeof CLIENT_KINDS)[number],
  url: string,
  headers: Record<string, string> = {},
): Promise<AnyClient> {
  const requestInit = { headers };
  if (kind === 'v1') {
    const client = new ClientV1({ name: 'berth-test-v1', version: '1' });
    await client.connect(new TransportV1(new URL(url), { requestInit }));
    t.after(() => client.close());
    return {
      label: kind,
      listTools: async () => {
        // The v1 client pages on its own only when asked: follow cursors like a host would.
        const tools: Array<Record<string, unknown> & { name: string }> = [];
        let cursor: string | undefined;
        do {
          const page = await client.listTools(cursor ? { cursor } : {});
          tools.push(...(page.tools as typeof tools));
          cursor = page.nextCursor;
        } while (cursor);
        return { tools };
      },
      callTool: async (name, args) =>
        (await client.callTool({ name, arguments: args })) as Record<string, unknown>,
    };
  }
  const client = new Client(
    { name: 'berth-test-v2', version: '1' },
    kind === 'v2 2026-07-28' ? { versionNegotiation: { mode: { pin: '2026-07-28' } } } : {},
  );
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit }));
  t.after(() => client.close());
  return {
    label: kind,
    listTools: async () => {
      const tools: Array<Record<string, unknown> & { name: string }> = [];
      let cursor: string | undefined;
      do {
        const page = await client.listTools(cursor ? { cursor } : {});
        tools.push(...(page.tools as unknown as typeof tools));
        cursor = page.nextCursor;
      } while (cursor);
      return { tools };
    },
    callTool: async (name, args) =>
      (await client.callTool({ name, arguments: args })) as unknown as Record<string, unknown>,
  };
}

export interface Recorded {
  method: string;
  /** The request target exactly as it arrived (path and query, still percent-encoded). */
  url: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

export interface RecordingUpstream {
  url: string;
  requests: Recorded[];
  close(): Promise<void>;
}

/**
 * A real HTTP server that records each request and answers with `respond` (default: 200 JSON `{}`).
 */
export async function startRecorder(
  respond: (request: Recorded, res: ServerResponse) => void = (_r, res) =>
    void res.writeHead(200, { 'content-type': 'application/json' }).end('{}'),
): Promise<RecordingUpstream> {
  const requests: Recorded[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const recorded = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks),
      };
      requests.push(recorded);
      respond(recorded, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
