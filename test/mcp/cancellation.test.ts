/** Cancellation reaches the upstream HTTP request in both eras (issue item 4). */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { modernRequest, post, startUpstream, startWithCatalog, upstreamCatalog } from './helpers.js';

async function setup(t: TestContext) {
  const upstream = await startUpstream();
  const server = await startWithCatalog(upstreamCatalog(upstream.url));
  t.after(async () => {
    await server.close();
    await upstream.close();
  });
  return { upstream, url: server.urls[0]!, handler: server.handler };
}

const within = <T>(promise: Promise<T>, ms: number, what: string) =>
  Promise.race([
    promise,
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms),
    ),
  ]);

test('2026-07-28: closing the response stream aborts the upstream request', async (t) => {
  const { upstream, url } = await setup(t);
  const aborted = upstream.nextAbort();
  const controller = new AbortController();
  const pending = modernRequest(
    url,
    'tools/call',
    { name: 'slow', arguments: {} },
    {},
    controller.signal,
  ).catch((e: Error) => e);
  for (let i = 0; i < 100 && upstream.seen.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(upstream.seen.length, 1, 'the call reached the upstream');
  controller.abort();
  await within(aborted, 3000, 'the upstream abort');
  assert.equal(upstream.seen[0]!.aborted, true);
  assert.ok((await pending) instanceof Error);
});

test('2026-07-28: the SDK v2 client cancelling a call (AbortSignal) stops the upstream request', async (t) => {
  const { upstream, url } = await setup(t);
  const client = new Client(
    { name: 'c', version: '1' },
    { versionNegotiation: { mode: { pin: '2026-07-28' } } },
  );
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  t.after(() => client.close());
  const aborted = upstream.nextAbort();
  const controller = new AbortController();
  const pending = client
    .callTool({ name: 'slow', arguments: {} }, { signal: controller.signal })
    .catch((e: Error) => e);
  for (let i = 0; i < 100 && upstream.seen.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
  controller.abort();
  await within(aborted, 3000, 'the upstream abort');
  assert.ok((await pending) instanceof Error);
});

test('2025-11-25: notifications/cancelled aborts the upstream request of that call', async (t) => {
  const { upstream, url, handler } = await setup(t);
  const init = await post(url, {
    jsonrpc: '2.0',
    id: 0,
    method: 'initialize',
    params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'x', version: '1' } },
  });
  const session = init.headers.get('mcp-session-id')!;
  const headers = { 'mcp-session-id': session, 'mcp-protocol-version': '2025-11-25' };
  const aborted = upstream.nextAbort();
  const pending = post(
    url,
    { jsonrpc: '2.0', id: 'call-1', method: 'tools/call', params: { name: 'slow', arguments: {} } },
    headers,
  );
  for (let i = 0; i < 100 && upstream.seen.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
  // Another session cancelling the same request id must not touch this call.
  const other = await post(url, {
    jsonrpc: '2.0',
    id: 0,
    method: 'initialize',
    params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'y', version: '1' } },
  });
  const foreign = await post(
    url,
    { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'call-1' } },
    { 'mcp-session-id': other.headers.get('mcp-session-id')!, 'mcp-protocol-version': '2025-11-25' },
  );
  assert.equal(foreign.status, 202);
  // The handler acts on a cancel before it answers 202: a count, read at once, not a wait.
  assert.equal(handler.cancelledCalls, 0, 'a cancel from another session is ignored');
  assert.equal(upstream.seen[0]!.aborted, false);
  const cancel = await post(
    url,
    { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'call-1', reason: 'user' } },
    headers,
  );
  assert.equal(cancel.status, 202);
  assert.equal(handler.cancelledCalls, 1, 'the own session’s cancel aborted the call');
  await within(aborted, 3000, 'the upstream abort');
  // The spec says a cancelled request gets no response; the HTTP exchange just ends.
  const answer = await pending;
  assert.equal(answer.json, undefined);
});
