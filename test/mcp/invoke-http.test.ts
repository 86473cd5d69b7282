// Request building and response handling against a raw node:http server that records exactly what
// arrived (req.url byte for byte, headers, body), so encoding and forwarding are observed on the wire.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildCatalog, type CatalogOptions } from '../../src/mcp/openapi/index.js';
import { InvalidToolCall, type CallContext } from '../../src/mcp/types.js';

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}
let server: Server;
let upstream: string;
let last: Seen | undefined;
/** Read through a function so TypeScript does not narrow `last` after a test resets it. */
const lastSeen = (): Seen | undefined => last;

before(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      last = {
        method: req.method!,
        url: req.url!,
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      const path = req.url!;
      if (path.startsWith('/slow')) return void setTimeout(() => res.end('{}'), 2000);
      if (path.startsWith('/big')) {
        res.setHeader('content-type', 'application/json');
        return void res.end(JSON.stringify({ data: 'x'.repeat(5000) }));
      }
      if (path.startsWith('/bytes')) {
        res.setHeader('content-type', 'application/pdf');
        return void res.end(Buffer.from([0x25, 0x50, 0x44, 0x46, 0x00, 0xff]));
      }
      if (path.startsWith('/list')) {
        res.setHeader('content-type', 'application/json');
        return void res.end('[1,2,3]');
      }
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ ok: true }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  upstream = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => new Promise<void>((resolve) => server.close(() => resolve())));

const ctx = (extra: Partial<CallContext> = {}): CallContext => ({
  signal: new AbortController().signal,
  ...extra,
});

function spec(paths: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return { openapi: '3.0.3', info: { title: 't', version: '1' }, paths, ...extra };
}
const json = {
  '200': { description: 'ok', content: { 'application/json': { schema: { type: 'object' } } } },
};
const catalogFor = (paths: Record<string, unknown>, options: Partial<CatalogOptions> = {}, extra = {}) =>
  buildCatalog(spec(paths, extra), { upstream, ...options });

test('path parameters cannot change the path: ../, %2F, ?, # and unicode stay inside the segment', async () => {
  const catalog = catalogFor({
    '/files/{name}/meta': {
      get: {
        operationId: 'meta',
        parameters: [{ name: 'name', in: 'path', required: true, schema: { type: 'string' } }],
        responses: json,
      },
    },
  });
  const cases: [string, string][] = [
    ['../../admin', '/files/%2E%2E%2F%2E%2E%2Fadmin/meta'],
    ['a%2Fb', '/files/a%252Fb/meta'],
    ['x?admin=1', '/files/x%3Fadmin%3D1/meta'],
    ['x#frag', '/files/x%23frag/meta'],
    ['a/b', '/files/a%2Fb/meta'],
    ['é ü', '/files/%C3%A9%20%C3%BC/meta'],
    ['{name}', '/files/%7Bname%7D/meta'],
  ];
  for (const [value, expected] of cases) {
    await catalog.call('meta', { name: value }, ctx());
    assert.equal(last?.url, expected, `value ${JSON.stringify(value)}`);
  }
  for (const value of ['..', '.', '']) {
    await assert.rejects(
      catalog.call('meta', { name: value }, ctx()),
      (e: Error) => e instanceof InvalidToolCall && /must not be empty, "\." or "\.\."/.test(e.message),
    );
  }
});

test('parameter styles: label, matrix, form, spaceDelimited, pipeDelimited, deepObject, cookies', async () => {
  const catalog = catalogFor({
    '/s/{label}/{matrix}': {
      get: {
        operationId: 'styles',
        parameters: [
          {
            name: 'label',
            in: 'path',
            required: true,
            style: 'label',
            explode: true,
            schema: { type: 'array', items: { type: 'string' } },
          },
          {
            name: 'matrix',
            in: 'path',
            required: true,
            style: 'matrix',
            schema: { type: 'array', items: { type: 'integer' } },
          },
          {
            name: 'ids',
            in: 'query',
            style: 'form',
            explode: false,
            schema: { type: 'array', items: { type: 'integer' } },
          },
          {
            name: 'words',
            in: 'query',
            style: 'spaceDelimited',
            schema: { type: 'array', items: { type: 'string' } },
          },
          {
            name: 'pipes',
            in: 'query',
            style: 'pipeDelimited',
            schema: { type: 'array', items: { type: 'string' } },
          },
          {
            name: 'filter',
            in: 'query',
            style: 'deepObject',
            explode: true,
            schema: { type: 'object', properties: { color: { type: 'string' }, size: { type: 'integer' } } },
          },
          {
            name: 'point',
            in: 'query',
            explode: true,
            schema: { type: 'object', properties: { x: { type: 'integer' }, y: { type: 'integer' } } },
          },
          { name: 'session', in: 'cookie', schema: { type: 'string' } },
          { name: 'theme', in: 'cookie', schema: { type: 'string' } },
          { name: 'X-Tags', in: 'header', schema: { type: 'array', items: { type: 'string' } } },
        ],
        responses: json,
      },
    },
  });
  await catalog.call(
    'styles',
    {
      label: ['a', 'b'],
      matrix: [1, 2],
      ids: [3, 4],
      words: ['hi there', 'x'],
      pipes: ['p', 'q'],
      filter: { color: 'red', size: 2 },
      point: { x: 1, y: 2 },
      session: 'abc 1',
      theme: 'dark',
      'X-Tags': ['t1', 't2'],
    },
    ctx(),
  );
  assert.equal(
    last?.url,
    '/s/.a.b/;matrix=1,2?ids=3,4&words=hi%20there%20x&pipes=p|q&filter[color]=red&filter[size]=2&x=1&y=2',
  );
  assert.equal(last?.headers.cookie, 'session=abc%201; theme=dark');
  assert.equal(last?.headers['x-tags'], 't1,t2');
});

test('name clashes between locations: first of path, query, header, cookie keeps the name; others get __location', async () => {
  const catalog = catalogFor({
    '/items/{id}': {
      post: {
        operationId: 'clash',
        parameters: [
          { name: 'id', in: 'query', schema: { type: 'string' } },
          { name: 'id', in: 'path', required: true, schema: { type: 'string' } },
          { name: 'id', in: 'header', schema: { type: 'string' } },
          { name: 'body', in: 'query', schema: { type: 'string' } },
        ],
        requestBody: { content: { 'application/json': { schema: { type: 'object' } } } },
        responses: json,
      },
    },
  });
  const tool = catalog.tools[0]!;
  assert.deepEqual(Object.keys(tool.inputSchema.properties as object), [
    'id',
    'id__query',
    'body',
    'id__header',
    'body__body',
  ]);
  await catalog.call(
    'clash',
    { id: 'P', id__query: 'Q', id__header: 'H', body: 'B', body__body: { a: 1 } },
    ctx(),
  );
  assert.equal(last?.url, '/items/P?id=Q&body=B');
  assert.equal(last?.headers.id, 'H');
  assert.equal(last?.body, '{"a":1}');
});

test('header values with CR/LF are refused, not sent', async () => {
  const catalog = catalogFor({
    '/h': {
      get: {
        operationId: 'h',
        parameters: [{ name: 'X-Note', in: 'header', schema: { type: 'string' } }],
        responses: json,
      },
    },
  });
  last = undefined;
  await assert.rejects(catalog.call('h', { 'X-Note': 'a\r\nX-Evil: 1' }, ctx()), InvalidToolCall);
  assert.equal(last, undefined);
});

test('trace context: the caller trace id continues with a new span id; tracestate passes through', async () => {
  const catalog = catalogFor({ '/t': { get: { operationId: 't', responses: json } } });
  const incoming = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
  await catalog.call('t', {}, ctx({ traceparent: incoming, tracestate: 'vendor=1' }));
  const sent = String(last?.headers.traceparent);
  assert.match(sent, /^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01$/);
  assert.notEqual(sent, incoming);
  assert.equal(last?.headers.tracestate, 'vendor=1');
  await catalog.call('t', {}, ctx());
  assert.match(String(last?.headers.traceparent), /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  assert.doesNotMatch(String(last?.headers.traceparent), /4bf92f35/);
});

test("the caller's Authorization reaches the upstream only when sameOrigin is set", async () => {
  const paths = { '/a': { get: { operationId: 'a', responses: json } } };
  await catalogFor(paths).call('a', {}, ctx({ callerAuthorization: 'Bearer caller-token' }));
  assert.equal(last?.headers.authorization, undefined);
  await catalogFor(paths, { sameOrigin: true }).call(
    'a',
    {},
    ctx({ callerAuthorization: 'Bearer caller-token' }),
  );
  assert.equal(last?.headers.authorization, 'Bearer caller-token');
});

test('upstream URL with a path replaces the spec server path; without one the server path is used', async () => {
  const paths = { '/pets': { get: { operationId: 'pets', responses: json } } };
  const servers = {
    servers: [{ url: 'https://api.example.com/{version}', variables: { version: { default: 'v3' } } }],
  };
  await catalogFor(paths, {}, servers).call('pets', {}, ctx());
  assert.equal(last?.url, '/v3/pets');
  await buildCatalog(spec(paths, servers), { upstream: `${upstream}/api/` }).call('pets', {}, ctx());
  assert.equal(last?.url, '/api/pets');
});

test('timeout, size cap and unreachable upstream are isError results; cancellation aborts the request', async () => {
  const paths = {
    '/slow': { get: { operationId: 'slow', responses: json } },
    '/big': { get: { operationId: 'big', responses: json } },
  };
  const slow = await catalogFor(paths, { timeoutMs: 200 }).call('slow', {}, ctx());
  assert.equal(slow.isError, true);
  assert.match((slow.content[0] as { text: string }).text, /did not answer within 200 ms/);

  const big = await catalogFor(paths, { maxResponseBytes: 1000 }).call('big', {}, ctx());
  assert.equal(big.isError, true);
  assert.match((big.content[0] as { text: string }).text, /1000-byte limit/);

  const controller = new AbortController();
  const started = Date.now();
  setTimeout(() => controller.abort(new Error('client cancelled')), 100);
  await assert.rejects(catalogFor(paths).call('slow', {}, { signal: controller.signal }), /client cancelled/);
  assert.ok(Date.now() - started < 1500, 'the call should stop when the signal fires');

  const down = await buildCatalog(spec(paths), { upstream: 'http://127.0.0.1:9' }).call('big', {}, ctx());
  assert.equal(down.isError, true);
  assert.match((down.content[0] as { text: string }).text, /ECONNREFUSED/);
});

test('binary responses become an embedded resource; JSON arrays are wrapped in structuredContent.result', async () => {
  const catalog = catalogFor({
    '/bytes': {
      get: {
        operationId: 'bytes',
        responses: { '200': { description: 'pdf', content: { 'application/pdf': {} } } },
      },
    },
    '/list': { get: { operationId: 'list', responses: json } },
  });
  const bytes = await catalog.call('bytes', {}, ctx());
  assert.deepEqual(bytes.content, [
    {
      type: 'resource',
      resource: {
        uri: `${upstream}/bytes`,
        mimeType: 'application/pdf',
        blob: Buffer.from([0x25, 0x50, 0x44, 0x46, 0x00, 0xff]).toString('base64'),
      },
    },
  ]);
  const list = await catalog.call('list', {}, ctx());
  assert.deepEqual(list.structuredContent, { result: [1, 2, 3] });
});

test('form bodies: nested objects and deepObject use brackets (as Stripe expects); arrays repeat', async () => {
  const catalog = catalogFor({
    '/v1/customers': {
      post: {
        operationId: 'PostCustomers',
        requestBody: {
          content: {
            'application/x-www-form-urlencoded': {
              schema: {
                type: 'object',
                properties: {
                  email: { type: 'string' },
                  metadata: { type: 'object', additionalProperties: { type: 'string' } },
                  expand: { type: 'array', items: { type: 'string' } },
                  tags: { type: 'array', items: { type: 'string' } },
                },
              },
              encoding: { expand: { style: 'deepObject', explode: true } },
            },
          },
        },
        responses: json,
      },
    },
  });
  await catalog.call(
    'PostCustomers',
    { body: { email: 'a+b@example.com', metadata: { plan: 'pro' }, expand: ['x', 'y'], tags: ['t1', 't2'] } },
    ctx(),
  );
  assert.equal(last?.headers['content-type'], 'application/x-www-form-urlencoded');
  assert.equal(
    last?.body,
    'email=a%2Bb%40example.com&metadata[plan]=pro&expand[0]=x&expand[1]=y&tags=t1&tags=t2',
  );
});

test('a bad base64 file is refused before anything is sent', async () => {
  const catalog = catalogFor({
    '/up': {
      post: {
        operationId: 'up',
        requestBody: {
          content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } },
        },
        responses: json,
      },
    },
  });
  last = undefined;
  await assert.rejects(catalog.call('up', { body: 'not base64!!' }, ctx()), /must be base64/);
  assert.equal(last, undefined);
  await catalog.call('up', { body: Buffer.from('hello').toString('base64') }, ctx());
  assert.equal(lastSeen()?.body, 'hello');
  assert.equal(lastSeen()?.headers['content-type'], 'application/octet-stream');
});
