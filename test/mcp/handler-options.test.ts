/** createMcpHandler as other parts mount it: its own path, a catalog function, graceful shutdown. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { createMcpHandler, defineCatalog } from '../../src/mcp/index.js';
import { modernRequest } from './helpers.js';

const tool = (name: string) => ({
  tool: { name, inputSchema: { type: 'object' as const, properties: {} } },
  run: () => ({ content: [{ type: 'text' as const, text: name }] }),
});

test('mounted on a plain node:http server: path, catalog function, graceful close of listen streams', async (t) => {
  let current = defineCatalog([tool('first')]);
  const handler = createMcpHandler({ catalog: () => current, path: '/tools/mcp', keepAliveMs: 0 });
  const server = createServer((req, res) => void handler.handle(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });

  const elsewhere = await modernRequest(`${base}/mcp`, 'tools/list');
  assert.equal(elsewhere.status, 404);
  assert.match(elsewhere.json!.error!.message, /the MCP endpoint is \/tools\/mcp/);

  const url = `${base}/tools/mcp`;
  assert.deepEqual(
    ((await modernRequest(url, 'tools/list')).json?.result?.tools as Array<{ name: string }>).map(
      (x) => x.name,
    ),
    ['first'],
  );
  // A catalog function is asked on every request: a swap under it is served at once.
  current = defineCatalog([tool('second')]);
  assert.deepEqual(
    ((await modernRequest(url, 'tools/list')).json?.result?.tools as Array<{ name: string }>).map(
      (x) => x.name,
    ),
    ['second'],
  );

  const client = new Client(
    { name: 'c', version: '1' },
    { versionNegotiation: { mode: { pin: '2026-07-28' } } },
  );
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  t.after(() => client.close());
  const subscription = await client.listen({ toolsListChanged: true });
  assert.equal(handler.openStreams, 1);
  await handler.close();
  assert.equal(await subscription.closed, 'graceful', 'shutdown ends a listen stream with its result');
  assert.equal(handler.openStreams, 0);
  const refused = await modernRequest(url, 'tools/list');
  assert.equal(refused.status, 503);
});
