/**
 * Real clients no one here wrote: the official SDK v2 client in both eras and the v1 SDK client
 * connect, list and call tools that reach a real local HTTP API; hot reload reaches both eras.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as TransportV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { startUpstream, startWithCatalog, upstreamCatalog } from './helpers.js';

async function setup(t: TestContext) {
  const upstream = await startUpstream();
  const server = await startWithCatalog(upstreamCatalog(upstream.url));
  t.after(async () => {
    await server.close();
    await upstream.close();
  });
  return { upstream, server, url: new URL(server.urls[0]!) };
}

test('SDK v2 client, 2026-07-28 (pinned): discover, list, call reaches the upstream', async (t) => {
  const { server, url } = await setup(t);
  const client = new Client(
    { name: 'v2-modern', version: '1' },
    { versionNegotiation: { mode: { pin: '2026-07-28' } } },
  );
  await client.connect(new StreamableHTTPClientTransport(url));
  t.after(() => client.close());
  assert.equal(client.getProtocolEra(), 'modern');
  assert.equal(client.getNegotiatedProtocolVersion(), '2026-07-28');
  const { tools } = await client.listTools();
  assert.deepEqual(
    tools.map((tool) => tool.name),
    ['getItem', 'slow'],
  );
  const result = await client.callTool({ name: 'getItem', arguments: { id: 42 } });
  assert.deepEqual(result.structuredContent, { id: '42', traceparent: null });
  assert.equal(result.isError, undefined);
  void server;
});

test('SDK v2 client, auto negotiation picks the modern era on this endpoint', async (t) => {
  const { url } = await setup(t);
  const client = new Client({ name: 'v2-auto', version: '1' }, { versionNegotiation: { mode: 'auto' } });
  await client.connect(new StreamableHTTPClientTransport(url));
  t.after(() => client.close());
  assert.equal(client.getProtocolEra(), 'modern');
  const result = await client.callTool({ name: 'getItem', arguments: { id: 7 } });
  assert.equal((result.structuredContent as { id: string }).id, '7');
});

test('SDK v2 client, legacy era (2025-11-25 initialize): list and call', async (t) => {
  const { url } = await setup(t);
  const client = new Client({ name: 'v2-legacy', version: '1' });
  const transport = new StreamableHTTPClientTransport(url);
  await client.connect(transport);
  t.after(() => client.close());
  assert.equal(client.getProtocolEra(), 'legacy');
  assert.equal(client.getNegotiatedProtocolVersion(), '2025-11-25');
  assert.match(transport.sessionId ?? '', /^s1\./, 'a signed session id was issued');
  const { tools } = await client.listTools();
  assert.equal(tools.length, 2);
  const result = await client.callTool({ name: 'getItem', arguments: { id: 3 } });
  assert.equal((result.structuredContent as { id: string }).id, '3');
});

test('SDK v1 client (@modelcontextprotocol/sdk): connect, list, call, ping', async (t) => {
  const { url } = await setup(t);
  const client = new ClientV1({ name: 'v1', version: '1' });
  await client.connect(new TransportV1(url));
  t.after(() => client.close());
  const { tools } = await client.listTools();
  assert.deepEqual(
    tools.map((tool) => tool.name),
    ['getItem', 'slow'],
  );
  assert.deepEqual(tools[0]!.annotations, { readOnlyHint: true, idempotentHint: true });
  const result = await client.callTool({ name: 'getItem', arguments: { id: 9 } });
  assert.equal((result.structuredContent as { id: string }).id, '9');
  await client.ping();
});

test('a session id from one instance is accepted by another sharing the secret, and refused without it', async (t) => {
  const upstream = await startUpstream();
  const secret = 'a-shared-secret-of-enough-length';
  const a = await startWithCatalog(upstreamCatalog(upstream.url), { handleSecret: secret });
  const b = await startWithCatalog(upstreamCatalog(upstream.url), { handleSecret: secret });
  const c = await startWithCatalog(upstreamCatalog(upstream.url), {
    handleSecret: 'another-secret-of-enough-length',
  });
  t.after(async () => {
    await Promise.all([a.close(), b.close(), c.close()]);
    await upstream.close();
  });
  const client = new ClientV1({ name: 'v1', version: '1' });
  const transport = new TransportV1(new URL(a.urls[0]!));
  await client.connect(transport);
  t.after(() => client.close());
  const session = transport.sessionId!;
  const call = (url: string) =>
    fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-session-id': session,
        'mcp-protocol-version': '2025-11-25',
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 5,
        method: 'tools/call',
        params: { name: 'getItem', arguments: { id: 5 } },
      }),
    });
  const onB = await call(b.urls[0]!);
  assert.equal(onB.status, 200);
  assert.equal(
    ((await onB.json()) as { result: { structuredContent: { id: string } } }).result.structuredContent.id,
    '5',
  );
  const onC = await call(c.urls[0]!);
  assert.equal(
    onC.status,
    404,
    'a session signed with another key is unknown: the client must re-initialize',
  );
  assert.equal(((await onC.json()) as { error: { code: number } }).error.code, -32001);
});

test('hot reload: list_changed reaches a v2 modern subscriber and a v1 legacy GET stream, only when the hash changes', async (t) => {
  const { upstream, server, url } = await setup(t);

  const modern = new Client(
    { name: 'modern', version: '1' },
    { versionNegotiation: { mode: { pin: '2026-07-28' } } },
  );
  await modern.connect(new StreamableHTTPClientTransport(url));
  t.after(() => modern.close());
  let modernChanges = 0;
  modern.setNotificationHandler('notifications/tools/list_changed', () => {
    modernChanges += 1;
  });
  const subscription = await modern.listen({ toolsListChanged: true });
  assert.deepEqual(subscription.honoredFilter, { toolsListChanged: true });

  const legacy = new ClientV1({ name: 'legacy', version: '1' });
  let legacyChanges = 0;
  legacy.setNotificationHandler(ToolListChangedNotificationSchema, () => {
    legacyChanges += 1;
  });
  await legacy.connect(new TransportV1(url));
  t.after(() => legacy.close());
  // The v1 client opens its GET stream in the background; wait until both streams are registered.
  for (let i = 0; i < 100 && server.handler.openStreams < 2; i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(server.handler.openStreams, 2);

  const both = async (count: number) => {
    for (let i = 0; i < 500 && (modernChanges < count || legacyChanges < count); i++)
      await new Promise((r) => setTimeout(r, 20));
  };
  server.handler.setCatalog(upstreamCatalog(upstream.url)); // same tools, same hash: no notification
  server.handler.setCatalog(upstreamCatalog(upstream.url, 'newTool'));
  await both(1);
  const { tools } = await legacy.listTools();
  assert.ok(tools.some((tool) => tool.name === 'newTool'));
  // A last change as a marker: each stream is ordered, so once its notification is in, any the
  // same-hash call had sent would have come before it. The counts are then final (no waiting on time).
  server.handler.setCatalog(upstreamCatalog(upstream.url));
  await both(2);
  assert.equal(modernChanges, 2, 'the same-hash catalog notified no one');
  assert.equal(legacyChanges, 2);
  await subscription.close();
});
