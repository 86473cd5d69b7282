/**
 * Items 4 and 5 of issue 12 through all three official clients: a tool has an outputSchema only where
 * every answer conforms, an answer that does not fit is text (marked isError, saying why) instead of
 * invalid structured content, and invalid arguments are a result naming each field.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startMcpServer } from '../../src/mcp/index.js';
import { CLIENT_KINDS, connectClient, startRecorder } from './three-clients.js';

const ITEM = {
  type: 'object',
  properties: { id: { type: 'integer' }, name: { type: 'string' } },
  required: ['id'],
};
const json = (schema: object) => ({ description: 'd', content: { 'application/json': { schema } } });

const DOCUMENT = {
  openapi: '3.0.3',
  info: { title: 'results', version: '1' },
  paths: {
    '/items/{id}': {
      get: {
        operationId: 'getItem',
        parameters: [
          { name: 'id', in: 'path', required: true, schema: { type: 'integer', minimum: 1 } },
          { name: 'view', in: 'query', schema: { type: 'string', enum: ['full', 'short'] } },
        ],
        responses: { '200': json(ITEM) },
      },
      delete: {
        operationId: 'deleteItem',
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'integer' } }],
        responses: { '200': json(ITEM), '204': { description: 'deleted' } },
      },
    },
  },
};

test('answers that do not fit the outputSchema, and documented 204s, work in all three clients', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-results-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const spec = join(dir, 'openapi.json');
  writeFileSync(spec, JSON.stringify(DOCUMENT));
  const upstream = await startRecorder((request, res) => {
    if (request.method === 'DELETE') return void res.writeHead(204).end();
    const id = Number(/\/items\/(\d+)/.exec(request.url)![1]);
    // Item 2 answers as documented; item 3 answers with a string id, which the schema forbids.
    const body = id === 3 ? { id: 'three' } : { id, name: 'two' };
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  const server = await startMcpServer({ spec, upstream: upstream.url, watch: false });
  t.after(async () => {
    await server.close();
    await upstream.close();
  });
  for (const kind of CLIENT_KINDS) {
    const client = await connectClient(t, kind, server.urls[0]!);
    const { tools } = await client.listTools();
    const byName = Object.fromEntries(tools.map((tool) => [tool.name, tool]));
    assert.ok(byName.getItem!.outputSchema, `${kind}: getItem has an output schema`);
    assert.equal(byName.deleteItem!.outputSchema, undefined, `${kind}: a documented 204 means none`);

    const good = await client.callTool('getItem', { id: 2, view: null });
    assert.deepEqual(good.structuredContent, { id: 2, name: 'two' }, kind);
    assert.equal(upstream.requests.at(-1)!.url, '/items/2', `${kind}: null leaves "view" out`);

    const bad = await client.callTool('getItem', { id: 3 });
    assert.equal(bad.isError, true, kind);
    assert.equal(bad.structuredContent, undefined, kind);
    const badText = (bad.content as Array<{ text: string }>)[0]!.text;
    assert.match(badText, /does not match the documented response schema \(\/id must be integer\)/, kind);
    assert.match(badText, /\{"id":"three"\}/, kind);

    const deleted = await client.callTool('deleteItem', { id: 2 });
    assert.notEqual(deleted.isError, true, kind);
    assert.deepEqual(deleted.content, [{ type: 'text', text: 'HTTP 204 (no content)' }], kind);

    const invalid = await client.callTool('getItem', { id: 0, view: 'tiny', extra: 1 });
    assert.equal(invalid.isError, true, kind);
    const text = (invalid.content as Array<{ text: string }>)[0]!.text;
    assert.match(text, /unknown argument "extra"/, kind);
    assert.match(text, /"id" must be >= 1/, kind);
    assert.match(text, /"view" must be equal to one of the allowed values \("full", "short"\)/, kind);

    await assert.rejects(client.callTool('noSuchTool', {}), /Unknown tool|noSuchTool/, kind);
  }
  assert.equal(upstream.requests.filter((r) => r.url.startsWith('/items/0')).length, 0);
});
