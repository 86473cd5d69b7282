/**
 * Item 6 of issue 12: tools/list in pages with opaque cursors (an invalid or stale cursor is an
 * error), followed by all three official clients, and large answers gzip-compressed for clients that
 * accept it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { defineCatalog } from '../../src/mcp/index.js';
import { CLIENT_KINDS, connectClient } from './three-clients.js';
import { modernRequest, startWithCatalog } from './helpers.js';

const catalogOf = (count: number, prefix = 'tool') =>
  defineCatalog(
    Array.from({ length: count }, (_, i) => ({
      tool: {
        name: `${prefix}${String(i).padStart(2, '0')}`,
        description: `Tool number ${i}. `.repeat(20),
        inputSchema: { type: 'object' as const, properties: {} },
      },
      run: () => ({ content: [{ type: 'text' as const, text: String(i) }] }),
    })),
  );

test('tools/list pages with cursors; all three clients follow them to the whole list', async (t) => {
  const server = await startWithCatalog(catalogOf(7), { handler: { pageSize: 3 } });
  t.after(() => server.close());
  const url = server.urls[0]!;
  const first = await modernRequest(url, 'tools/list');
  assert.equal((first.json!.result!.tools as unknown[]).length, 3);
  const cursor = first.json!.result!.nextCursor as string;
  assert.equal(typeof cursor, 'string');
  const second = await modernRequest(url, 'tools/list', { cursor });
  assert.deepEqual(
    (second.json!.result!.tools as Array<{ name: string }>).map((tool) => tool.name),
    ['tool03', 'tool04', 'tool05'],
  );
  for (const kind of CLIENT_KINDS) {
    const client = await connectClient(t, kind, url);
    const { tools } = await client.listTools();
    assert.deepEqual(
      tools.map((tool) => tool.name),
      ['tool00', 'tool01', 'tool02', 'tool03', 'tool04', 'tool05', 'tool06'],
      kind,
    );
  }

  for (const bad of ['garbage', Buffer.from('{"h":"x","o":-1}').toString('base64url'), 42]) {
    const answer = await modernRequest(url, 'tools/list', { cursor: bad });
    assert.equal(answer.json?.error?.code, -32602, String(bad));
    assert.match(answer.json!.error!.message, /Invalid cursor/);
  }
  // A cursor from before a reload belongs to another list.
  server.handler.setCatalog(catalogOf(7, 'renamed'));
  const stale = await modernRequest(url, 'tools/list', { cursor });
  assert.equal(stale.json?.error?.code, -32602);
  assert.match(stale.json!.error!.message, /the tool list changed/);
});

function rawPost(url: string, body: unknown, headers: Record<string, string>) {
  return new Promise<{ headers: Record<string, unknown>; body: Buffer }>((resolve, reject) => {
    const target = new URL(url);
    const req = request(
      { host: target.hostname, port: target.port, path: target.pathname, method: 'POST', headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

test('large answers are gzip-compressed when the client accepts it, and only then', async (t) => {
  const server = await startWithCatalog(catalogOf(40));
  t.after(() => server.close());
  const url = server.urls[0]!;
  const message = {
    jsonrpc: '2.0',
    id: 1,
    method: 'tools/list',
    params: {
      _meta: {
        'io.modelcontextprotocol/protocolVersion': '2026-07-28',
        'io.modelcontextprotocol/clientCapabilities': {},
      },
    },
  };
  const headers = {
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    'mcp-protocol-version': '2026-07-28',
    'mcp-method': 'tools/list',
  };
  const zipped = await rawPost(url, message, { ...headers, 'accept-encoding': 'br, gzip;q=0.8' });
  assert.equal(zipped.headers['content-encoding'], 'gzip');
  const text = gunzipSync(zipped.body).toString('utf8');
  assert.equal((JSON.parse(text) as { result: { tools: unknown[] } }).result.tools.length, 40);
  assert.ok(zipped.body.length < text.length / 3, `${zipped.body.length} of ${text.length} bytes`);

  for (const refusal of [undefined, 'gzip;q=0', 'identity']) {
    const plain = await rawPost(url, message, refusal ? { ...headers, 'accept-encoding': refusal } : headers);
    assert.equal(plain.headers['content-encoding'], undefined, String(refusal));
    assert.equal(plain.body.toString('utf8'), text);
  }
  // Small answers are not worth compressing.
  const ping = await rawPost(
    url,
    { ...message, method: 'server/discover' },
    { ...headers, 'mcp-method': 'server/discover', 'accept-encoding': 'gzip' },
  );
  assert.equal(ping.headers['content-encoding'], undefined);
  for (const kind of CLIENT_KINDS) {
    const client = await connectClient(t, kind, url);
    assert.equal((await client.listTools()).tools.length, 40, kind);
  }
});
