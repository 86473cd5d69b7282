/** Bad input (issue item 8): every refusal carries the spec's code, the right HTTP status and a message naming the problem. */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import {
  MODERN,
  modernMeta,
  modernRequest,
  post,
  startUpstream,
  startWithCatalog,
  upstreamCatalog,
} from './helpers.js';

async function setup(t: TestContext, maxBodyBytes?: number) {
  const upstream = await startUpstream();
  const server = await startWithCatalog(upstreamCatalog(upstream.url), { handler: { maxBodyBytes } });
  t.after(async () => {
    await server.close();
    await upstream.close();
  });
  return { upstream, url: server.urls[0]! };
}

test('malformed JSON is a -32700 parse error with HTTP 400', async (t) => {
  const { url } = await setup(t);
  const answer = await post(url, '{"jsonrpc":"2.0", "id": 1, "method": ');
  assert.equal(answer.status, 400);
  assert.equal(answer.json?.error?.code, -32700);
  assert.match(answer.json!.error!.message, /Parse error/);
});

test('batches are refused with -32600 and say why', async (t) => {
  const { url } = await setup(t);
  const answer = await post(url, [{ jsonrpc: '2.0', id: 1, method: 'ping' }]);
  assert.equal(answer.status, 400);
  assert.equal(answer.json?.error?.code, -32600);
  assert.match(answer.json!.error!.message, /batches are not supported/);
});

test('envelopes that are not JSON-RPC are -32600 naming the field', async (t) => {
  const { url } = await setup(t);
  for (const [body, field] of [
    [{ jsonrpc: '1.0', id: 1, method: 'x' }, '"jsonrpc"'],
    [{ jsonrpc: '2.0', id: 1 }, '"method"'],
    [{ jsonrpc: '2.0', id: { no: 1 }, method: 'tools/list' }, '"id"'],
    [{ jsonrpc: '2.0', id: 1, method: 'tools/list', params: [1] }, '"params"'],
    ['"just a string"', 'JSON-RPC object'],
  ] as const) {
    const answer = await post(url, body);
    assert.equal(answer.status, 400, JSON.stringify(body));
    assert.equal(answer.json?.error?.code, -32600);
    assert.ok(answer.json!.error!.message.includes(field), `${answer.json!.error!.message} names ${field}`);
  }
});

test('a wrong Content-Type is 415', async (t) => {
  const { url } = await setup(t);
  const answer = await post(url, 'x=1', { 'content-type': 'application/x-www-form-urlencoded' });
  assert.equal(answer.status, 415);
});

test('an oversized body is 413 before it is parsed, and the server keeps serving', async (t) => {
  const { url } = await setup(t, 1024);
  const big = JSON.stringify({
    jsonrpc: '2.0',
    id: 1,
    method: 'tools/list',
    params: { pad: 'x'.repeat(4096) },
  });
  const answer = await post(url, big);
  assert.equal(answer.status, 413);
  assert.match(answer.json!.error!.message, /1024-byte limit/);
  const ok = await modernRequest(url, 'tools/list');
  assert.equal(ok.status, 200);
});

test('unknown tool: -32602 naming the tool', async (t) => {
  const { url } = await setup(t);
  const answer = await modernRequest(url, 'tools/call', { name: 'nope', arguments: {} });
  assert.equal(answer.json?.error?.code, -32602);
  assert.match(answer.json!.error!.message, /Unknown tool: nope/);
});

test('arguments that fail the schema: an isError result naming every field, and nothing is sent upstream', async (t) => {
  const { url, upstream } = await setup(t);
  const text = (answer: Awaited<ReturnType<typeof modernRequest>>) => {
    assert.equal(answer.json?.error, undefined, 'a tool result, not a protocol error');
    assert.equal(answer.json?.result?.isError, true);
    return (answer.json!.result!.content as Array<{ text: string }>)[0]!.text;
  };
  const both = await modernRequest(url, 'tools/call', {
    name: 'getItem',
    arguments: { id: 'seven', evil: true },
  });
  assert.equal(
    text(both),
    'Invalid arguments for tool getItem:\n- unknown argument "evil"\n- "id" must be integer',
  );
  const missing = await modernRequest(url, 'tools/call', { name: 'getItem', arguments: {} });
  assert.match(text(missing), /missing required argument "id"/);
  const small = await modernRequest(url, 'tools/call', { name: 'getItem', arguments: { id: 0 } });
  assert.match(text(small), /"id" must be >= 1/);
  // A malformed request (arguments not an object) and an unknown tool stay protocol errors.
  const notObject = await modernRequest(url, 'tools/call', { name: 'getItem', arguments: [1] });
  assert.equal(notObject.json?.error?.code, -32602);
  assert.match(notObject.json!.error!.message, /must be an object/);
  const unknown = await modernRequest(url, 'tools/call', { name: 'nope', arguments: {} });
  assert.equal(unknown.json?.error?.code, -32602);
  assert.equal(upstream.seen.length, 0);
});

test('2026-07-28: missing _meta fields are -32602 with HTTP 400', async (t) => {
  const { url } = await setup(t);
  const noCapabilities = await post(
    url,
    {
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/list',
      params: { _meta: { 'io.modelcontextprotocol/protocolVersion': MODERN } },
    },
    { 'mcp-protocol-version': MODERN, 'mcp-method': 'tools/list' },
  );
  assert.equal(noCapabilities.status, 400);
  assert.equal(noCapabilities.json?.error?.code, -32602);
  assert.match(noCapabilities.json!.error!.message, /clientCapabilities/);
  const noMeta = await post(
    url,
    { jsonrpc: '2.0', id: 1, method: 'tools/list' },
    { 'mcp-protocol-version': MODERN, 'mcp-method': 'tools/list' },
  );
  assert.equal(noMeta.status, 400);
  assert.match(noMeta.json!.error!.message, /protocolVersion/);
});

test('2026-07-28: headers that disagree with the body are -32020 with HTTP 400', async (t) => {
  const { url, upstream } = await setup(t);
  const cases: Array<[Record<string, string | undefined>, RegExp]> = [
    [
      { 'mcp-method': 'tools/list' },
      /Mcp-Method header value 'tools\/list' does not match body value 'tools\/call'/,
    ],
    [{ 'mcp-name': 'slow' }, /Mcp-Name header value 'slow' does not match body value 'getItem'/],
    [{ 'mcp-name': undefined }, /Mcp-Name header is required/],
    [{ 'mcp-protocol-version': '2025-11-25' }, /MCP-Protocol-Version header value '2025-11-25'/],
  ];
  for (const [headers, message] of cases) {
    const answer = await modernRequest(url, 'tools/call', { name: 'getItem', arguments: { id: 1 } }, headers);
    assert.equal(answer.status, 400, JSON.stringify(headers));
    assert.equal(answer.json?.error?.code, -32020);
    assert.match(answer.json!.error!.message, message);
  }
  assert.equal(upstream.seen.length, 0, 'no mismatched request reached the upstream');
  // Whitespace around a value is tolerated, and a base64-sentinel Mcp-Name is decoded before comparing.
  const padded = await modernRequest(
    url,
    'tools/call',
    { name: 'getItem', arguments: { id: 1 } },
    { 'mcp-name': `=?base64?${Buffer.from('getItem').toString('base64')}?=` },
  );
  assert.equal(padded.status, 200);
  const spaced = await modernRequest(url, 'tools/list', {}, { 'mcp-method': '  tools/list ' });
  assert.equal(spaced.status, 200);
});

test('2026-07-28: an unsupported version is -32022 listing the supported ones', async (t) => {
  const { url } = await setup(t);
  const answer = await post(
    url,
    {
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/list',
      params: { _meta: { ...modernMeta(), 'io.modelcontextprotocol/protocolVersion': '2099-01-01' } },
    },
    { 'mcp-protocol-version': '2099-01-01', 'mcp-method': 'tools/list' },
  );
  assert.equal(answer.status, 400);
  assert.equal(answer.json?.error?.code, -32022);
  assert.deepEqual(answer.json?.error?.data, { supported: ['2026-07-28'], requested: '2099-01-01' });
});

test('2026-07-28: unknown and removed methods are -32601 with HTTP 404', async (t) => {
  const { url } = await setup(t);
  for (const method of ['nothing/here', 'ping', 'initialize', 'logging/setLevel']) {
    const answer = await modernRequest(url, method);
    assert.equal(answer.status, 404, method);
    assert.equal(answer.json?.error?.code, -32601);
  }
});

test('2026-07-28: results carry resultType, ttlMs, cacheScope and serverInfo', async (t) => {
  const { url } = await setup(t);
  const discover = await modernRequest(url, 'server/discover');
  assert.deepEqual(discover.json?.result?.supportedVersions, ['2026-07-28']);
  assert.equal(discover.json?.result?.resultType, 'complete');
  assert.equal(discover.json?.result?.ttlMs, 60000);
  assert.equal(discover.json?.result?.cacheScope, 'private');
  assert.deepEqual(
    (discover.json?.result?._meta as Record<string, unknown>)['io.modelcontextprotocol/serverInfo'],
    { name: 'berth-mcp', version: '0.1.0' },
  );
  const list = await modernRequest(url, 'tools/list');
  assert.equal(list.json?.result?.ttlMs, 60000);
  assert.equal(list.json?.result?.resultType, 'complete');
  const call = await modernRequest(url, 'tools/call', { name: 'getItem', arguments: { id: 2 } });
  assert.equal(call.json?.result?.resultType, 'complete');
  assert.equal(call.json?.result?.ttlMs, undefined, 'tool results are not cacheable');
  const read = await modernRequest(
    url,
    'resources/read',
    { uri: 'file:///etc/passwd' },
    { 'mcp-name': 'file:///etc/passwd' },
  );
  assert.equal(read.json?.error?.code, -32602);
  assert.deepEqual(read.json?.error?.data, { uri: 'file:///etc/passwd' });
});

test('2026-07-28: the caller trace continues upstream (same trace id, new span)', async (t) => {
  const { url } = await setup(t);
  const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
  const answer = await modernRequest(url, 'tools/call', {
    name: 'getItem',
    arguments: { id: 1 },
    _meta: { traceparent },
  });
  const seen = (answer.json?.result?.structuredContent as { traceparent: string }).traceparent;
  // The hand-made catalog forwards what the protocol layer hands it: the caller's context.
  assert.equal(seen, traceparent);
});

test('2025-11-25: no session is 400, a forged or expired one is 404 (-32001), a version mismatch is 400', async (t) => {
  const { url } = await setup(t);
  const call = { jsonrpc: '2.0', id: 1, method: 'tools/list' };
  const none = await post(url, call);
  assert.equal(none.status, 400);
  assert.match(none.json!.error!.message, /Mcp-Session-Id header is required/);
  const forged = await post(url, call, { 'mcp-session-id': 's1.eyJ2IjoiMjAyNS0xMS0yNSJ9.AAAA' });
  assert.equal(forged.status, 404);
  assert.equal(forged.json?.error?.code, -32001);
  const init = await post(url, {
    jsonrpc: '2.0',
    id: 0,
    method: 'initialize',
    params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '1' } },
  });
  assert.equal(init.json?.result?.protocolVersion, '2025-06-18');
  const session = init.headers.get('mcp-session-id')!;
  const wrongVersion = await post(url, call, {
    'mcp-session-id': session,
    'mcp-protocol-version': '2025-11-25',
  });
  assert.equal(wrongVersion.status, 400);
  assert.match(wrongVersion.json!.error!.message, /does not match the version negotiated/);
  const ok = await post(url, call, { 'mcp-session-id': session, 'mcp-protocol-version': '2025-06-18' });
  assert.equal(ok.status, 200);
  // Tampering with the payload (say, to extend expiry) breaks the MAC.
  const [scheme, payload, mac] = session.split('.');
  const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString()) as { exp: number };
  claims.exp += 3600;
  const tampered = `${scheme}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${mac}`;
  assert.equal((await post(url, call, { 'mcp-session-id': tampered })).status, 404);
});

test('a DNS-rebinding Host or a foreign Origin is 403 on a loopback server', async (t) => {
  const { url } = await setup(t);
  // fetch cannot set Host, so Origin is checked with fetch and Host with node:http below.
  const origin = await modernRequest(url, 'tools/list', {}, { origin: 'http://evil.example.com' });
  assert.equal(origin.status, 403);
  assert.match(origin.json!.error!.message, /Origin "http:\/\/evil.example.com" is not allowed/);
  const { request } = await import('node:http');
  const status = await new Promise<number>((resolve, reject) => {
    const req = request(
      url,
      { method: 'POST', headers: { host: 'evil.example.com', 'content-type': 'application/json' } },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', reject);
    req.end('{}');
  });
  assert.equal(status, 403);
  const local = await modernRequest(url, 'tools/list', {}, { origin: 'http://localhost:1234' });
  assert.equal(local.status, 200);
});

test('GET without a session and DELETE are 405; a client-posted notification is 202', async (t) => {
  const { url } = await setup(t);
  assert.equal((await fetch(url, { headers: { accept: 'text/event-stream' } })).status, 405);
  assert.equal((await fetch(url, { method: 'DELETE' })).status, 405);
  const note = await post(
    url,
    { jsonrpc: '2.0', method: 'notifications/whatever', params: { _meta: modernMeta() } },
    { 'mcp-protocol-version': MODERN, 'mcp-method': 'notifications/whatever' },
  );
  assert.equal(note.status, 202);
});
