// Conversion rules and bad documents: names, annotations, schemas, cycles, filters, hash.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { buildCatalog, canonicalJson, SpecError, type CatalogOptions } from '../../src/mcp/openapi/index.js';

const UPSTREAM = 'http://127.0.0.1:9';
const ok = { '200': { description: 'ok' } };
const doc = (paths: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  openapi: '3.0.3',
  info: { title: 't', version: '1' },
  paths,
  ...extra,
});
const build = (document: object, options: Partial<CatalogOptions> = {}) =>
  buildCatalog(document, { upstream: UPSTREAM, ...options });
const compiles = (schema: object) => new Ajv2020({ strict: false, logger: false }).compile(schema);

test('names: operationId sanitized; {method}_{path} without one; long names cut with a hash; duplicates made unique', () => {
  const long = 'a'.repeat(80);
  const catalog = build(
    doc({
      '/orders/{id}': { get: { responses: ok }, delete: { operationId: 'orders/delete', responses: ok } },
      '/x': { get: { operationId: long, responses: ok }, post: { operationId: 'dup', responses: ok } },
      '/y': { post: { operationId: 'dup', responses: ok } },
      '/z': { put: { operationId: 'dup', responses: ok } },
    }),
  );
  const names = catalog.tools.map((t) => t.name);
  assert.ok(names.includes('get__orders__id_'), 'App Service fallback name');
  assert.ok(names.includes('orders_delete'));
  const cut = names.find((n) => n.startsWith('aaaa'))!;
  assert.equal(cut.length, 64);
  assert.match(cut, /^a{57}_[0-9a-f]{6}$/);
  const dups = names.filter((n) => n.startsWith('dup'));
  assert.equal(dups.length, 3);
  assert.ok(dups.includes('dup'), 'the first by (path, method) keeps the plain name');
  assert.equal(new Set(dups).size, 3);
  for (const name of names) assert.match(name, /^[A-Za-z0-9_-]{1,64}$/);
});

test('names and hash are stable across reloads and key order; the hash changes when a tool changes', () => {
  const paths = {
    '/a': { get: { operationId: 'same', summary: 'A', responses: ok } },
    '/b': { get: { operationId: 'same', summary: 'B', responses: ok } },
  };
  const first = build(doc(paths));
  const reordered = build(doc({ '/b': paths['/b'], '/a': paths['/a'] }));
  assert.deepEqual(
    reordered.tools.map((t) => t.name),
    first.tools.map((t) => t.name),
  );
  assert.equal(reordered.hash, first.hash);
  const changed = build(
    doc({ ...paths, '/b': { get: { operationId: 'same', summary: 'B changed', responses: ok } } }),
  );
  assert.notEqual(changed.hash, first.hash);
  const added = build(doc({ ...paths, '/c': { get: { operationId: 'other', responses: ok } } }));
  assert.deepEqual(
    added.tools.filter((t) => t.name !== 'other').map((t) => t.name),
    first.tools.map((t) => t.name),
    'adding an operation does not rename the others',
  );
});

test('annotations follow the method; description joins summary and description', () => {
  const catalog = build(
    doc({
      '/r': {
        get: { operationId: 'g', summary: 'Get it', description: 'Longer text.', responses: ok },
        head: { operationId: 'h', responses: ok },
        put: { operationId: 'pu', responses: ok },
        patch: { operationId: 'pa', responses: ok },
        delete: { operationId: 'd', responses: ok },
        post: { operationId: 'po', responses: ok },
      },
    }),
  );
  const by = Object.fromEntries(catalog.tools.map((t) => [t.name, t]));
  assert.deepEqual(by.g!.annotations, { readOnlyHint: true, destructiveHint: false, idempotentHint: true });
  assert.deepEqual(by.h!.annotations, { readOnlyHint: true, destructiveHint: false, idempotentHint: true });
  assert.deepEqual(by.pu!.annotations, { readOnlyHint: false, destructiveHint: false, idempotentHint: true });
  assert.deepEqual(by.pa!.annotations, { readOnlyHint: false, destructiveHint: false, idempotentHint: true });
  assert.deepEqual(by.d!.annotations, { readOnlyHint: false, destructiveHint: true, idempotentHint: true });
  assert.deepEqual(by.po!.annotations, {
    readOnlyHint: false,
    destructiveHint: false,
    idempotentHint: false,
  });
  assert.equal(by.g!.description, 'Get it\n\nLonger text.');
  assert.equal(by.g!.title, 'Get it');
});

test('circular schemas: self, mutual and through allOf stay finite and valid', () => {
  const catalog = build(
    doc(
      {
        '/tree': {
          post: {
            operationId: 'tree',
            requestBody: {
              required: true,
              content: { 'application/json': { schema: { $ref: '#/components/schemas/Node' } } },
            },
            responses: {
              '200': {
                description: 'ok',
                content: { 'application/json': { schema: { $ref: '#/components/schemas/A' } } },
              },
            },
          },
        },
      },
      {
        components: {
          schemas: {
            Node: {
              type: 'object',
              properties: {
                value: { type: 'string' },
                children: { type: 'array', items: { $ref: '#/components/schemas/Node' } },
              },
            },
            A: { type: 'object', properties: { b: { $ref: '#/components/schemas/B' } } },
            B: {
              allOf: [
                { $ref: '#/components/schemas/A' },
                { type: 'object', properties: { extra: { type: 'integer' } } },
              ],
            },
          },
        },
      },
    ),
  );
  const tool = catalog.tools[0]!;
  const text = JSON.stringify(tool);
  assert.ok(text.length < 5000, 'no infinite or exponential expansion');
  const validate = compiles(tool.inputSchema);
  assert.equal(validate({ body: { value: 'root', children: [{ value: 'leaf', children: [] }] } }), true);
  assert.equal(
    validate({ body: { value: 'root', children: [{ value: 7 }] } }),
    false,
    'recursion is still checked',
  );
  compiles(tool.outputSchema!);
});

test('a $ref loop on a parameter skips that operation with a reason; the rest converts', () => {
  const catalog = build(
    doc(
      {
        '/bad': {
          get: { operationId: 'bad', parameters: [{ $ref: '#/components/parameters/P' }], responses: ok },
        },
        '/good': { get: { operationId: 'good', responses: ok } },
      },
      {
        components: {
          parameters: { P: { $ref: '#/components/parameters/Q' }, Q: { $ref: '#/components/parameters/P' } },
        },
      },
    ),
  );
  assert.deepEqual(
    catalog.tools.map((t) => t.name),
    ['good'],
  );
  assert.equal(catalog.skipped.length, 1);
  assert.match(catalog.skipped[0]!.reason, /refers back to itself.*\/paths\/~1bad\/get\/parameters\/0/);
});

test('network $refs are never fetched: schemas become permissive with a warning, parameters skip the operation', async () => {
  let hits = 0;
  const server = createServer((_req, res) => {
    hits++;
    res.end('{"type":"string"}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/schema.json`;
  try {
    const catalog = build(
      doc({
        '/s': {
          post: {
            operationId: 'schemaRef',
            requestBody: { content: { 'application/json': { schema: { $ref: url } } } },
            responses: ok,
          },
        },
        '/p': { get: { operationId: 'paramRef', parameters: [{ $ref: `${url}#/p` }], responses: ok } },
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(hits, 0, 'nothing was fetched');
    assert.deepEqual(
      catalog.tools.map((t) => t.name),
      ['schemaRef'],
    );
    assert.match(JSON.stringify(catalog.tools[0]!.inputSchema), /Unresolved external reference/);
    assert.ok(catalog.warnings.some((w) => w.includes('never fetched')));
    assert.match(catalog.skipped[0]!.reason, /external \$ref .* never fetched/);
  } finally {
    server.close();
  }
});

test('allOf is merged into one object; nullable becomes a type union; exclusiveMinimum becomes 2020-12', () => {
  const catalog = build(
    doc(
      {
        '/m': {
          post: {
            operationId: 'm',
            requestBody: {
              content: {
                'application/json': {
                  schema: {
                    allOf: [
                      { $ref: '#/components/schemas/Base' },
                      {
                        type: 'object',
                        required: ['extra'],
                        properties: { extra: { type: 'number', minimum: 0, exclusiveMinimum: true } },
                      },
                    ],
                  },
                },
              },
            },
            responses: ok,
          },
        },
      },
      {
        components: {
          schemas: {
            Base: {
              type: 'object',
              required: ['id'],
              properties: { id: { type: 'string', nullable: true } },
            },
          },
        },
      },
    ),
  );
  const body = (catalog.tools[0]!.inputSchema.properties as Record<string, Record<string, unknown>>).body!;
  assert.equal(body.allOf, undefined);
  assert.equal(body.type, 'object');
  assert.deepEqual(body.required, ['id', 'extra']);
  assert.deepEqual((body.properties as Record<string, unknown>).id, { type: ['string', 'null'] });
  assert.deepEqual((body.properties as Record<string, unknown>).extra, {
    type: 'number',
    exclusiveMinimum: 0,
  });
});

test('outputSchema only when every documented success answer is JSON with the same object schema', () => {
  const object = { type: 'object', properties: { id: { type: 'integer' } } };
  const json = (schema: object) => ({ description: 'd', content: { 'application/json': { schema } } });
  const op = (operationId: string, responses: object) => ({ get: { operationId, responses } });
  const catalog = build(
    doc({
      '/o': op('objectOut', { '200': json(object), '404': json({ type: 'string' }) }),
      '/same': op('sameTwice', { '200': json(object), '201': json(object) }),
      '/m': op('mixed', { '200': json(object), '201': json({ type: 'string' }) }),
      '/n': op('withNoContent', { '200': json(object), '204': { description: 'none' } }),
      '/r': op('withRedirect', { '200': json(object), '302': { description: 'moved' } }),
      '/a': op('arrayOut', { '200': json({ type: 'array', items: object }) }),
      '/t': op('textOut', {
        '200': { description: 'ok', content: { 'text/plain': { schema: { type: 'string' } } } },
      }),
    }),
  );
  const by = Object.fromEntries(catalog.tools.map((t) => [t.name, t]));
  assert.deepEqual(by.objectOut!.outputSchema, object);
  assert.deepEqual(by.sameTwice!.outputSchema, object);
  for (const name of ['mixed', 'withNoContent', 'withRedirect', 'arrayOut', 'textOut'])
    assert.equal(by[name]!.outputSchema, undefined, name);
});

test('filters: ToolList ["*"], [], allow-list (unknown ids ignored); include/exclude by tag and operation id', () => {
  const document = doc({
    '/p': {
      get: { operationId: 'listPets', tags: ['pet'], responses: ok },
      post: { operationId: 'addPet', tags: ['pet', 'write'], responses: ok },
    },
    '/s': { get: { operationId: 'inventory', tags: ['store'], responses: ok } },
  });
  const names = (options: Partial<CatalogOptions>) => build(document, options).tools.map((t) => t.name);
  assert.deepEqual(names({ tools: ['*'] }), ['addPet', 'inventory', 'listPets']);
  assert.deepEqual(names({ tools: [] }), []);
  assert.deepEqual(names({ tools: ['inventory', 'doesNotExist'] }), ['inventory']);
  assert.deepEqual(names({ include: { tags: ['pet'] } }), ['addPet', 'listPets']);
  assert.deepEqual(names({ include: { tags: ['pet'] }, exclude: { tags: ['write'] } }), ['listPets']);
  assert.deepEqual(names({ include: { operationIds: ['inventory'] } }), ['inventory']);
  assert.deepEqual(names({ exclude: { operationIds: ['listPets'] } }), ['addPet', 'inventory']);
});

test('malformed documents throw SpecError naming the problem', () => {
  const cases: [unknown, RegExp][] = [
    [[], /must be a JSON or YAML object/],
    [{ info: {} }, /neither an "openapi" nor a "swagger" field/],
    [{ swagger: '1.2', paths: {} }, /unsupported Swagger version "1.2".*\/swagger/],
    [{ openapi: '4.0.0', paths: {} }, /unsupported OpenAPI version "4.0.0"/],
    [{ openapi: 3, paths: {} }, /"openapi" must be a version string/],
    [{ openapi: '3.0.0' }, /no "paths".*\/paths/],
    [{ openapi: '3.0.0', paths: [] }, /"paths" must be an object/],
  ];
  for (const [document, message] of cases) {
    assert.throws(
      () => build(document as object),
      (e: Error) => e instanceof SpecError && message.test(e.message),
      JSON.stringify(document),
    );
  }
  assert.throws(() => buildCatalog(doc({}), { upstream: 'ftp://x' }), /must be an http or https URL/);
  assert.throws(() => buildCatalog(doc({}), { upstream: 'not a url' }), /is not a URL/);
});

test('an operation with a broken parameter is skipped and reported, not silently dropped', () => {
  const catalog = build(
    doc({
      '/x': {
        get: { operationId: 'x', parameters: [{ in: 'query' }], responses: ok },
        post: { operationId: 'y', responses: ok },
      },
    }),
  );
  assert.deepEqual(
    catalog.tools.map((t) => t.name),
    ['y'],
  );
  assert.deepEqual(catalog.skipped, [
    { method: 'get', path: '/x', reason: 'parameter has no name (at /paths/~1x/get/parameters/0)' },
  ]);
});

test('Swagger 2.0: formData with a file becomes a multipart body; collectionFormat maps to styles', () => {
  const catalog = build({
    swagger: '2.0',
    info: { title: 't', version: '1' },
    basePath: '/v1',
    paths: {
      '/up': {
        post: {
          operationId: 'up',
          consumes: ['multipart/form-data'],
          parameters: [
            { name: 'file', in: 'formData', type: 'file', required: true },
            { name: 'note', in: 'formData', type: 'string' },
            {
              name: 'tags',
              in: 'query',
              type: 'array',
              items: { type: 'string' },
              collectionFormat: 'pipes',
            },
          ],
          responses: {
            '200': {
              description: 'ok',
              schema: { type: 'object', properties: { size: { type: 'integer' } } },
            },
          },
        },
      },
    },
  });
  const tool = catalog.tools[0]!;
  const body = (tool.inputSchema.properties as Record<string, Record<string, unknown>>).body!;
  assert.deepEqual(body.required, ['file']);
  assert.deepEqual((body.properties as Record<string, Record<string, unknown>>).file!.required, ['data']);
  assert.deepEqual(tool.outputSchema, { type: 'object', properties: { size: { type: 'integer' } } });
});

test('a path variable no parameter declares becomes a required string argument', async () => {
  const catalog = build(
    doc({
      '/users/{user}/repos/{repo}': {
        get: {
          operationId: 'repo',
          parameters: [{ name: 'user', in: 'path', required: true, schema: { type: 'string' } }],
          responses: ok,
        },
      },
    }),
  );
  const schema = catalog.tools[0]!.inputSchema;
  assert.deepEqual(schema.required, ['user', 'repo']);
  assert.equal((schema.properties as Record<string, { type: string }>).repo!.type, 'string');
});

test('canonical JSON sorts keys at every depth, keeps arrays in order and "__proto__" as data', () => {
  const shared = { b: 1, a: [{ d: 1, c: 2 }] };
  const value = JSON.parse('{"z":1,"__proto__":{"y":2,"x":1},"m":[3,1,2]}') as Record<string, unknown>;
  Object.assign(value, { s1: { $defs: { K: shared } }, s2: { $defs: { K: shared } } });
  assert.equal(
    canonicalJson(value),
    '{"__proto__":{"x":1,"y":2},"m":[3,1,2],"s1":{"$defs":{"K":{"a":[{"c":2,"d":1}],"b":1}}},"s2":{"$defs":{"K":{"a":[{"c":2,"d":1}],"b":1}}},"z":1}',
  );
});

test('outputSchemas: false leaves outputSchema out (for APIs whose responses stray from their document)', () => {
  const paths = {
    '/o': {
      get: {
        operationId: 'o',
        responses: {
          '200': { description: 'ok', content: { 'application/json': { schema: { type: 'object' } } } },
        },
      },
    },
  };
  assert.deepEqual(build(doc(paths)).tools[0]!.outputSchema, { type: 'object' });
  assert.equal(build(doc(paths), { outputSchemas: false }).tools[0]!.outputSchema, undefined);
});
